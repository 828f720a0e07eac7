/* front_int: what the front's files share (not part of the public api.h). */
#ifndef SB_FRONT_INT_H
#define SB_FRONT_INT_H

#include <event2/http.h>
#include <jansson.h>

#include "api.h"

#define SB_FRONT_JSON_MAX (64u << 10) /* JSON request bodies */
#define SB_FRONT_DEF_MEMORY_MB 512
#define SB_FRONT_DEF_TIMEOUT_S 300 /* a sandbox lives this long unless told otherwise */
#define SB_FRONT_DEF_EXEC_TIMEOUT_S 60

/* A checked request body as ipc values (v[0] is left for the credential, v[1] for the id).
 * Strings point into the parsed JSON (keep it alive) or into kv. */
struct sb_front_body {
    sb_ipc_val v[SB_IPC_FIELDS_MAX];
    size_t n;
    sb_ipc_str lists[3 * SB_IPC_LIST_MAX];
    size_t nlists;
    char kv[2 * SB_IPC_LIST_MAX * SB_IPC_KV_MAX];
    size_t kvlen;
    char why[320];  /* "field: reason" */
    char field[96]; /* the field at fault */
};

/* The body as a JSON object (an empty body is {}); NULL with a reason otherwise. */
json_t *sb_front_parse_body(const void *p, size_t n, char *why, size_t whylen);
/* POST /v1/sandboxes and POST /v1/sandboxes/{id}/exec: 0, or -1 with b->why. */
int sb_front_create_body(json_t *j, struct sb_front_body *b);
int sb_front_exec_body(json_t *j, struct sb_front_body *b);

struct front;

/* docs/api/openapi.yaml, compiled in (openapi_doc.c). */
extern const char sb_front_openapi_yaml[];
size_t sb_front_openapi_yaml_size(void);

/* Sends a log line to the monitor, which writes it with component "sealboxd-front". */
void sb_front_log(struct front *f, enum sb_log_level lvl, const char *fmt, ...) SB_PRINTF(3, 4);
/* Loads the certificate chain and key and makes every accepted connection a TLS one. */
int sb_front_tls_setup(struct evhttp *http, const char *cert, const char *key, void **tls,
                       sb_error *err) SB_WUR;
void sb_front_tls_free(void *tls);
/* As root: become the "sealbox" user if it exists, else nobody; no groups, no capabilities. */
int sb_front_drop_privileges(sb_error *err) SB_WUR;
/* no_new_privs, then the front's syscall allowlist; anything else kills the process. */
int sb_front_seccomp(sb_error *err) SB_WUR;

#endif
