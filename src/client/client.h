/* client: a small client of sealboxd's HTTP API for the CLI, over libcurl — the daemon's unix
 * socket or an https/http URL, the bearer key, in-memory or file bodies, and replies collected
 * or streamed to a callback. It parses no HTTP itself and never prints. */
#ifndef SB_CLIENT_H
#define SB_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "../util/util.h"

#define SB_CLIENT_BODY_MAX (4u << 20) /* a collected reply body */

typedef struct sb_client sb_client;

typedef struct sb_client_cfg {
    const char *socket_path; /* unix socket (ignored when url is set) */
    const char *url;         /* "https://host:8443" or "http://127.0.0.1:8080"; NULL: socket */
    const char *key;         /* the API key (Bearer) */
    const char *ca_file;     /* optional CA bundle for https */
} sb_client_cfg;

/* A reply body sink: return false to abort the transfer. */
typedef bool (*sb_client_sink)(const uint8_t *p, size_t n, void *arg);

/* Transfer progress, called by libcurl during a request: bytes so far and expected (0:
 * unknown) each way; a download's expected size comes from X-Sealbox-File-Size. Return false to
 * abort the transfer. */
typedef bool (*sb_client_progress)(uint64_t up_now, uint64_t up_total, uint64_t down_now,
                                   uint64_t down_total, void *arg);

typedef struct sb_client_req {
    const char *method; /* "GET", "POST", "PUT", "DELETE" */
    const char *path;   /* "/v1/..." with its query, already escaped (sb_client_escape) */
    const char *accept; /* NULL: application/json */
    const char *ctype;  /* the body's Content-Type, when there is a body */
    const void *body;   /* in memory ... */
    size_t body_len;
    FILE *body_file; /* ... or read from a file (uploads) */
    uint64_t body_file_len;
    sb_client_sink sink; /* NULL: collect the body into the response (SB_CLIENT_BODY_MAX) */
    void *sink_arg;
    sb_client_progress progress; /* optional */
    void *progress_arg;
} sb_client_req;

typedef struct sb_client_resp {
    long status;
    char ctype[128];
    sb_writer body; /* collected body (when no sink), NUL-terminated */
} sb_client_resp;

int sb_client_new(const sb_client_cfg *cfg, sb_client **out, sb_error *err) SB_WUR;
void sb_client_free(sb_client *c);
/* One request. 0 when an HTTP answer came (whatever its status); < 0 when none did. */
int sb_client_do(sb_client *c, const sb_client_req *rq, sb_client_resp *rs, sb_error *err) SB_WUR;
void sb_client_resp_free(sb_client_resp *rs);
/* Percent-encodes s for a query value (malloc'ed; NULL when out of memory). */
char *sb_client_escape(sb_client *c, const char *s);
/* The detail of a problem reply ("detail", else "title"), or a short description of a body
 * that is not one, into buf. */
void sb_client_problem(const sb_client_resp *rs, char *buf, size_t cap);

#endif
