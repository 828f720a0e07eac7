/* gw_internal: what the policy loader and the argument-schema compiler share inside
 * src/gateway/ (not part of the public header). */
#ifndef SB_GW_INTERNAL_H
#define SB_GW_INTERNAL_H

#include "gateway/gateway.h"

typedef struct gw_schema gw_schema;

/* Compiles a JSON Schema subset (+ path_prefix, url_host) found at `where`; *budget counts
 * down the nodes allowed for this agent. */
int gw_schema_compile(const json_t *j, const char *where, int depth, size_t *budget,
                      gw_schema **out, sb_error *err) SB_WUR;
void gw_schema_free(gw_schema *s);
/* 0 when v satisfies s; 1 with reason "<where><argpath>: <why>" otherwise. */
int gw_schema_check(const gw_schema *s, const json_t *v, const char *where, char *reason,
                    size_t reason_len);

/* '*' matches any run of bytes, '?' one byte; everything else is literal. */
bool gw_glob(const char *pat, const char *s);

/* Writes `"value"` (JSON, compact, at most ~80 bytes with "...") into buf. */
void gw_render(const json_t *v, char *buf, size_t len);

#endif
