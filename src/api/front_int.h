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
struct sb_front_kbs;

enum route {
    R_HEALTH,
    R_METRICS,
    R_TENANT,
    R_SBX_COLLECTION,
    R_SBX_ITEM,
    R_SBX_EXEC,
    R_SBX_STANDBY,
    R_SBX_RESUME,
    R_KBS_AUTH,
    R_KBS_ATTEST,
    R_KBS_RESOURCE,
    R_KBS_ADMIN,
    R_PROCS,
    R_PROC,
    R_PROC_SIGNAL,
    R_PROC_STDIN,
    R_PROC_OUTPUT,
    R_FILES,
    R_DIRS,
    R_OPENAPI,
    R_SBX_LOG,
    R_NONE,
    R_MAX
};

/* Sends a message to the monitor; its reply completes req (session: the KBS session a kbs
 * attest reply belongs to, or NULL). */
void sb_front_forward(struct front *f, struct evhttp_request *req, enum route r, uint64_t start,
                      uint16_t type, const sb_ipc_val *v, size_t n, const char *session);
/* Answers req now (and counts it in the metrics). */
void sb_front_send(struct front *f, struct evhttp_request *req, enum route r, uint64_t start,
                   int status, const char *ctype, const void *p, size_t n);
struct sb_front_kbs *sb_front_kbs_of(struct front *f);

/* front_kbs.c: the KBS routes (/kbs/v0/...), sessions and evidence verification. */
int sb_front_kbs_new(const sb_front_cfg *cfg, struct sb_front_kbs **out, sb_error *err) SB_WUR;
void sb_front_kbs_free(struct sb_front_kbs *k);
void sb_front_kbs_request(struct front *f, struct evhttp_request *req, const char *path,
                          uint64_t start);
/* The monitor answered an attest: record the token in the session (or drop the session) and
 * set the cookie; returns the status to send. */
int sb_front_kbs_attested(struct front *f, struct evhttp_request *req, const char *session,
                          int status, const uint8_t *body, size_t n);

/* front_gw.c: the MCP gateway's stdio sessions (with sealboxd --gateway). The configuration
 * comes from the monitor over cfg->gw_fd before the front gives up its privileges. */
struct sb_front_gw;
struct event_base;
struct evbuffer;
int sb_front_gw_new(struct front *f, const sb_front_cfg *cfg, struct event_base *base,
                    struct sb_front_gw **out, sb_error *err) SB_WUR;
void sb_front_gw_drain(struct sb_front_gw *g);
void sb_front_gw_free(struct sb_front_gw *g);
void sb_front_gw_metrics(const struct sb_front_gw *g, struct evbuffer *b);
/* A request for /mcp (MCP's Streamable HTTP, the gateway's own bearer tokens). */
void sb_front_gw_http(struct sb_front_gw *g, struct evhttp_request *req);

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
