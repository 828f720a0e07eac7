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
struct sb_proc;
struct sb_mfiles;
typedef struct sb_sandbox sb_sandbox;
typedef struct sb_mlog sb_mlog;
struct sb_sandbox_config;
struct sb_secret_spec;

/* A live sandbox of the monitor (monitor_sbx.c); its processes live in monitor_proc.c. */
struct sbx {
    char id[SB_SANDBOX_ID_MAX + 1];
    int64_t tenant_id;
    int64_t memory_mb;
    sb_sandbox *h;
    enum sb_sbx_state state;
    uint64_t deadline_ns; /* timeout_s: destroyed then */
    uint64_t idle_ns;     /* idle_standby_s: frozen after this long without an exec */
    uint64_t last_active_ns;
    char **env;            /* KEY=VALUE from create, for every exec (kept in memory only: values
                              may be secrets and are never written to disk) */
    struct sb_proc *procs; /* its processes, running and (background ones) ended */
    unsigned nprocs;
    sb_mlog *mlog;    /* the measurement log (monitor_mlog.c): only the monitor writes it */
    bool mlog_broken; /* an event could not be stored: no command may run any more */
    /* Secrets of the create, released once, before the first command (the entrypoint) starts:
     * the entrypoint waits in pend while sealbox-init runs the handshakes (monitor_proc.c). */
    struct sb_secret_spec *secrets;
    size_t nsecrets;
    struct sb_pend *pend;
    struct sb_srelay *relay; /* its KBS session, while relayed (monitor_relay.c) */
    struct sbx *next;
};

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
    bool front_gone_pending; /* the front died: its streams are settled next loop turn */
    uint64_t stop_deadline_ns;
    int64_t started;
    uint64_t auth_failures;
    sb_monitor_stats stats;
    uint8_t *rbuf;
    sb_ipc_msg msg;
    struct sb_monitor_sbx *sbx;  /* the sandboxes (monitor_sbx.c) */
    struct sb_proc_table *procs; /* processes and their streams (monitor_proc.c) */
    struct sb_mfiles *files;     /* uploads and downloads in progress (monitor_files.c) */
    /* The audit log: appended and checkpointed here only. The checkpoint key never leaves this
     * process (the front is a fresh exec and holds no key). */
    sb_audit_key *audit_key;
    sb_audit_signer audit_signer;
    struct sb_monitor_counter {
        const char *tcti;
        uint32_t index;
    } audit_tpm;
    sb_audit_counter audit_counter;
    sb_audit *audit;
    uint64_t audit_ckpt_ns;    /* when the last checkpoint was made */
    struct sb_mrelay *relay;   /* sealbox-init's KBS requests, off the loop (cfg.kbs_url) */
    struct sb_kbs_broker *kbs; /* the key broker (monitor_kbs.c), when cfg.kbs */
    struct sb_monitor_gw *gw;  /* the MCP gateway (monitor_gw.c), when cfg.gateway_config */
    int gw_ipc;                /* its control channel to the front; -1: none */
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
void sb_monitor_sbx_tick(sb_monitor *m);
/* True while the warm pool wants refilling: the loop then polls without waiting. */
bool sb_monitor_sbx_pending(sb_monitor *m);
void sb_monitor_sbx_metrics(sb_monitor *m, sb_writer *w);

/* monitor_gw.c: the MCP gateway's servers, pins and audit for the front's engines. */
struct sb_monitor_gw;
int sb_monitor_gw_init(sb_monitor *m, sb_error *err) SB_WUR;
void sb_monitor_gw_fini(sb_monitor *m);
bool sb_monitor_gw_enabled(const sb_monitor *m);
/* Reads every message waiting on the control channel; false (why says) when the front must go. */
bool sb_monitor_gw_read(sb_monitor *m, char *why, size_t whylen);
void sb_monitor_gw_front_gone(sb_monitor *m);
void sb_monitor_gw_tick(sb_monitor *m);
size_t sb_monitor_gw_running(const sb_monitor *m);
void sb_monitor_gw_metrics(sb_monitor *m, sb_writer *w);

/* monitor_kbs.c: the key broker's handlers (the broker holds the master and token keys). */
int sb_monitor_kbs_init(sb_monitor *m, sb_error *err) SB_WUR;
void sb_monitor_kbs_fini(sb_monitor *m);
const sb_handler *sb_monitor_kbs_handler(uint16_t type);
void sb_monitor_kbs_metrics(sb_monitor *m, sb_writer *w);
/* The live sandbox a message names (field 1), owned by the authenticated tenant; otherwise NULL
 * with a 404 (no such sandbox for this tenant) or 409 (it has ended) in rep. */
struct sbx *sb_monitor_sbx_owned(sb_monitor *m, const sb_ipc_msg *msg, const sb_tenant *t,
                                 sb_reply *rep);
/* Thaws a sandbox in standby (an exec resumes it). */
int sb_monitor_sbx_wake(sb_monitor *m, struct sbx *s, sb_error *err) SB_WUR;
/* Destroys a sandbox whose init died and records it lost. */
void sb_monitor_sbx_lost(sb_monitor *m, struct sbx *s);
/* Checks field i is a well-formed sandbox id (what the front must already have checked). */
int sb_monitor_check_sbx_id(const sb_ipc_msg *msg, size_t i, sb_error *err) SB_WUR;
/* The first live sandbox, to walk the list. */
struct sbx *sb_monitor_sbx_first(sb_monitor *m);
const struct sb_monitor_cfg *sb_monitor_cfg_of(sb_monitor *m);
/* The environment of one exec: a default PATH, the sandbox's env, then the exec's own. */
char **sb_monitor_exec_env(char *const *base, const sb_ipc_val *v);
char **sb_monitor_str_vec(const sb_ipc_val *v);
void sb_monitor_strv_free(char **v);
int sb_monitor_internal(sb_monitor *m, sb_reply *rep, const char *what, const sb_error *e);

/* monitor_proc.c: processes (sync, streamed and background execs) on each sandbox's command
 * channel, their output rings and the streams that carry them to the front. */
int sb_proc_init(sb_monitor *m, sb_error *err) SB_WUR;
void sb_proc_fini(sb_monitor *m);
const sb_handler *sb_proc_handler(uint16_t type);
size_t sb_proc_pollfds(sb_monitor *m, struct pollfd *p, size_t max);
void sb_proc_events(sb_monitor *m);
void sb_proc_tick(sb_monitor *m);
/* The sandbox is going (deleted, timed out, lost): every process of it ends, its waiting
 * requests and streams are answered. */
void sb_proc_sandbox_gone(sb_monitor *m, struct sbx *s);
/* The front died: its requests and streams with it (foreground streamed commands are killed). */
void sb_proc_front_gone(sb_monitor *m);
unsigned sb_proc_running(sb_monitor *m);
bool sb_proc_sbx_busy(const struct sbx *s); /* a process of it runs */
void sb_proc_metrics(sb_monitor *m, sb_writer *w);

/* monitor_relay.c: sealbox-init's KBS requests (docs/secrets.md, "In the daemon"), answered by
 * worker threads — a KBS round trip never blocks the loop — with evidence from the daemon's
 * attester over a snapshot of the sandbox's log taken when the request arrived. */
int sb_monitor_relay_init(sb_monitor *m, sb_error *err) SB_WUR;
void sb_monitor_relay_fini(sb_monitor *m);
int sb_monitor_relay_fd(sb_monitor *m); /* POLLIN: answers are ready; -1 without a KBS */
void sb_monitor_relay_events(sb_monitor *m);
/* One relay request frame of s's sealbox-init (answered later, or refused at once). */
void sb_monitor_relay_request(sb_monitor *m, struct sbx *s, int type, const uint8_t *frame,
                              size_t n);
void sb_monitor_relay_sandbox_gone(sb_monitor *m, struct sbx *s);
void sb_monitor_relay_metrics(sb_monitor *m, sb_writer *w);

/* monitor_mlog.c: the measurement logs. A new sandbox's log (image and config events) from the
 * config it was built with and the create's env (field 6 of sbx_create). */
int sb_monitor_mlog_new(const struct sb_sandbox_config *sc, const sb_ipc_val *env,
                        const struct sb_secret_spec *secrets, size_t nsecrets,
                        const char *image_digest, sb_mlog **out, sb_error *err) SB_WUR;
/* Stores every event of a new log (inside the transaction that writes the sandbox's row). */
int sb_monitor_mlog_store(sb_monitor *m, int64_t tenant_id, const char *id, const sb_mlog *l,
                          sb_error *err) SB_WUR;
/* Measures and records a command before it starts; -1 with rep set when it must not run. */
int sb_monitor_mlog_exec(sb_monitor *m, struct sbx *s, char **argv, char **envp, const char *cwd,
                         sb_reply *rep) SB_WUR;
const sb_handler *sb_monitor_mlog_handler(uint16_t type);

/* monitor_files.c: the files API (openat2 RESOLVE_IN_ROOT on the sandbox's root). */
int sb_files_init(sb_monitor *m, sb_error *err) SB_WUR;
void sb_files_fini(sb_monitor *m);
const sb_handler *sb_files_handler(uint16_t type);
void sb_files_sandbox_gone(sb_monitor *m, struct sbx *s);
/* Stream acks and closes that are not a process's: a download's. True when it was one. */
bool sb_files_stream_ack(sb_monitor *m, uint32_t id, uint32_t bytes);
bool sb_files_stream_close(sb_monitor *m, uint32_t id);
void sb_files_front_gone(sb_monitor *m);

int sb_monitor_send(sb_monitor *m, uint16_t type, uint32_t id, const sb_ipc_val *vals, size_t n);
json_t *sb_monitor_sandbox_json(const sb_sandbox_rec *r);
sb_store *sb_monitor_store(sb_monitor *m);
const sb_log *sb_monitor_log(sb_monitor *m);

#endif
