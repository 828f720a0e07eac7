/* monitor_int: the monitor's state and handler contract, shared by the files of the monitor
 * (not part of the public api.h). */
#ifndef SB_MONITOR_INT_H
#define SB_MONITOR_INT_H

#include <jansson.h>

#include "../gateway/gateway.h"
#include "../store/store.h"
#include "api.h"

/* What a handler answers: an HTTP status, a content type and a body. */
typedef struct sb_reply {
    int status;
    enum sb_ipc_ctype ctype;
    sb_writer body;
} sb_reply;

void sb_reply_init(sb_reply *r);
void sb_reply_free(sb_reply *r);
/* Takes ownership of j. */
int sb_reply_json(sb_reply *r, int status, json_t *j);
/* An RFC 7807 problem: type "urn:sealbox:problem:<slug>". */
int sb_reply_problem(sb_reply *r, int status, const char *slug, const char *title,
                     const char *detail);

/* A handler answers through rep and returns 0. It returns SB_E_MALFORMED or SB_E_LIMIT when
 * the message breaks a rule the front must already have enforced: the front is then killed.
 * Any other negative code becomes a 500. t is the authenticated tenant (auth handlers). */
typedef int (*sb_handler_fn)(sb_monitor *m, const sb_ipc_msg *msg, const sb_tenant *t,
                             sb_reply *rep, sb_error *err);

/* Checks what the front must already have checked (shapes, ranges), before authentication, so a
 * front that lets bad input through is caught whatever the credential. */
typedef int (*sb_check_fn)(const sb_ipc_msg *msg, sb_error *err);

typedef struct sb_handler {
    uint16_t type;
    bool auth; /* field 0 is the bearer credential, checked before the handler runs */
    sb_check_fn check;
    sb_handler_fn fn;
} sb_handler;

struct sb_monitor_sbx;
struct sb_kbs_broker;

struct sb_monitor {
    sb_monitor_cfg cfg;
    sb_log front_log;
    sb_store *store;
    uint8_t *secret; /* sb_secret_alloc: the API-key HMAC secret */
    int ipc, front_pidfd, sigfd;
    pid_t front_pid;
    uint64_t front_started_ns;
    unsigned backoff_ms;
    uint64_t next_spawn_ns;
    bool stopping;
    uint64_t stop_deadline_ns;
    int64_t started;
    uint64_t auth_failures;
    sb_monitor_stats stats;
    uint8_t *rbuf;
    sb_ipc_msg msg;
    struct sb_monitor_sbx *sbx; /* the sandboxes (monitor_sbx.c) */
    /* The audit log: appended and checkpointed here only. The checkpoint key never leaves this
     * process (the front is a fresh exec and holds no key). */
    sb_audit_key *audit_key;
    sb_audit_signer audit_signer;
    sb_audit *audit;
    uint64_t audit_ckpt_ns;    /* when the last checkpoint was made */
    struct sb_kbs_broker *kbs; /* the key broker (monitor_kbs.c), when cfg.kbs */
    uint64_t kbs_counts[4];    /* tokens issued, resources released, refused, admin ops */
};

/* monitor_audit.c: API actions and daemon events into the audit log. */
int sb_monitor_audit_open(sb_monitor *m, sb_error *err) SB_WUR;
void sb_monitor_audit_close(sb_monitor *m);
/* Appends one record; a failure is logged, never fatal (the action already happened). */
void sb_monitor_audit(sb_monitor *m, json_t *record);
/* The record of one handled API message (mutating types only). */
void sb_monitor_audit_msg(sb_monitor *m, const sb_ipc_msg *msg, const sb_tenant *t, bool authed,
                          const sb_reply *rep, uint64_t latency_us);
/* Signs the head now (clean shutdown), or when records have waited long enough (tick). */
void sb_monitor_audit_checkpoint(sb_monitor *m, bool force);

/* monitor_sbx.c: sandbox handlers and the loop's hooks. A handler that leaves rep->status 0
 * answers later itself (an exec answers when its command ends). */
int sb_monitor_sbx_init(sb_monitor *m, sb_error *err) SB_WUR;
void sb_monitor_sbx_fini(sb_monitor *m);
const sb_handler *sb_monitor_sbx_handler(uint16_t type);
struct pollfd;
size_t sb_monitor_sbx_pollfds(sb_monitor *m, struct pollfd *p, size_t max);
void sb_monitor_sbx_events(sb_monitor *m, const struct pollfd *p, size_t n);
void sb_monitor_sbx_tick(sb_monitor *m);
/* True while the warm pool wants refilling: the loop then polls without waiting. */
bool sb_monitor_sbx_pending(sb_monitor *m);
void sb_monitor_sbx_metrics(sb_monitor *m, sb_writer *w);

/* monitor_kbs.c: the key broker's handlers (the broker holds the master and token keys). */
int sb_monitor_kbs_init(sb_monitor *m, sb_error *err) SB_WUR;
void sb_monitor_kbs_fini(sb_monitor *m);
const sb_handler *sb_monitor_kbs_handler(uint16_t type);
void sb_monitor_kbs_metrics(sb_monitor *m, sb_writer *w);

int sb_monitor_send(sb_monitor *m, uint16_t type, uint32_t id, const sb_ipc_val *vals, size_t n);
json_t *sb_monitor_sandbox_json(const sb_sandbox_rec *r);
sb_store *sb_monitor_store(sb_monitor *m);
const sb_log *sb_monitor_log(sb_monitor *m);

#endif
