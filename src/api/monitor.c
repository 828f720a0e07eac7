/* monitor: the privileged half of sealboxd. It owns the store and the API-key secret, starts the
 * front, answers its typed messages through one dispatch table — authenticating the credential
 * and re-checking tenant ownership on every message — and kills and respawns a front that
 * sends anything malformed. */
#include <errno.h>
#include <jansson.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "../crypto/crypto.h"
#include "../store/store.h"
#include "api.h"
#include "monitor_int.h"

#define RESPAWN_MIN_MS 100
#define RESPAWN_MAX_MS 5000
#define SEND_TIMEOUT_MS 5000 /* a front that does not read its replies is misbehaving */

/* ---- replies ------------------------------------------------------------------------------ */

void sb_reply_init(sb_reply *r) {
    memset(r, 0, sizeof(*r));
    sb_writer_init(&r->body, SB_IPC_BODY_MAX);
}

void sb_reply_free(sb_reply *r) { sb_writer_free(&r->body); }

static void reply_reset(sb_reply *r) {
    sb_writer_free(&r->body);
    sb_writer_init(&r->body, SB_IPC_BODY_MAX);
}

int sb_reply_json(sb_reply *r, int status, json_t *j) {
    reply_reset(r);
    char *s = j ? json_dumps(j, JSON_COMPACT) : NULL;
    json_decref(j);
    if (!s) return sb_reply_problem(r, 500, "internal", "Internal error", "cannot encode reply");
    (void)sb_writer_str(&r->body, s);
    free(s);
    if (sb_writer_status(&r->body) < 0)
        return sb_reply_problem(r, 500, "internal", "Internal error", "reply too large");
    r->status = status;
    r->ctype = SB_CT_JSON;
    return 0;
}

int sb_reply_problem(sb_reply *r, int status, const char *slug, const char *title,
                     const char *detail) {
    reply_reset(r);
    json_t *j = json_pack("{s:s, s:s, s:i, s:s}", "type", "", "title", title, "status", status,
                          "detail", detail ? detail : title);
    char type[96];
    (void)snprintf(type, sizeof(type), "urn:sealbox:problem:%s", slug);
    if (j) (void)json_object_set_new(j, "type", json_string(type));
    char *s = j ? json_dumps(j, JSON_COMPACT) : NULL;
    json_decref(j);
    (void)sb_writer_str(&r->body, s ? s : "{\"title\":\"Internal error\",\"status\":500}");
    free(s);
    r->status = s ? status : 500;
    r->ctype = SB_CT_PROBLEM;
    return 0;
}

/* ---- authentication ------------------------------------------------------------------------- */

/* Resolves field 0 (the bearer credential) to a tenant. A credential that is not even shaped
 * like a key means the front skipped its own check: that is the front misbehaving. */
static int authenticate(sb_monitor *m, const sb_ipc_msg *msg, sb_tenant *t, sb_reply *rep, bool *ok,
                        sb_error *err) {
    *ok = false;
    const sb_ipc_str *c = &msg->f[0].s;
    if (!sb_apikey_well_formed((const char *)c->p, c->len))
        BAIL(err, SB_E_MALFORMED, "credential is not shaped like an API key");
    char key[SB_APIKEY_LEN + 1];
    TRY(sb_ipc_str_copy(c, key, sizeof(key), err, "credential"));
    char id[SB_APIKEY_ID_LEN + 1];
    memcpy(id, key, SB_APIKEY_ID_LEN);
    id[SB_APIKEY_ID_LEN] = '\0';
    uint8_t h[32];
    sb_error e2 = {0};
    /* The hash is computed before the lookup so that an unknown id costs the same. */
    int r = sb_apikey_hash(m->secret, key, SB_APIKEY_LEN, h, &e2);
    sb_wipe(key, sizeof(key));
    if (r < 0) {
        sb_logf(m->cfg.log, SB_LOG_ERROR, "auth: %s", e2.msg);
        return sb_reply_problem(rep, 500, "internal", "Internal error", "authentication failed");
    }
    sb_apikey k;
    r = sb_store_key_get(m->store, id, &k, &e2);
    const char *why = NULL;
    if (r == SB_E_NOTFOUND) {
        why = "invalid API key";
    } else if (r < 0) {
        sb_logf(m->cfg.log, SB_LOG_ERROR, "auth: %s", e2.msg);
        return sb_reply_problem(rep, 500, "internal", "Internal error", "key store unavailable");
    } else if (!sb_ct_equal(h, k.hash, sizeof(h))) {
        why = "invalid API key";
    } else if (k.revoked) {
        why = "API key revoked";
    } else if (k.expires && sb_time_now() >= k.expires) {
        why = "API key expired";
    }
    sb_wipe(h, sizeof(h));
    if (!why) {
        r = sb_store_tenant_get_by_id(m->store, k.tenant_id, t, &e2);
        if (r == SB_E_NOTFOUND)
            why = "invalid API key";
        else if (r < 0) {
            sb_logf(m->cfg.log, SB_LOG_ERROR, "auth: %s", e2.msg);
            return sb_reply_problem(rep, 500, "internal", "Internal error", "tenant lookup");
        }
    }
    if (why) {
        m->auth_failures++;
        sb_logf(m->cfg.log, SB_LOG_INFO, "auth: key %s refused: %s", id, why);
        return sb_reply_problem(rep, 401, "unauthorized", "Unauthorized", why);
    }
    *ok = true;
    return 0;
}

/* ---- handlers ------------------------------------------------------------------------------- */

static int h_log(sb_monitor *m, const sb_ipc_msg *msg, const sb_tenant *t, sb_reply *rep,
                 sb_error *err) {
    (void)t;
    (void)rep;
    char text[SB_IPC_LOG_MAX + 1];
    TRY(sb_ipc_str_copy(&msg->f[1].s, text, sizeof(text), err, "log text"));
    sb_logf(&m->front_log, (enum sb_log_level)msg->f[0].u, "%s", text);
    return 0;
}

static int h_health(sb_monitor *m, const sb_ipc_msg *msg, const sb_tenant *t, sb_reply *rep,
                    sb_error *err) {
    (void)msg;
    (void)t;
    (void)err;
    int64_t by[SB_SBX_STATE_MAX];
    sb_error e2 = {0};
    if (sb_store_sandbox_count_by_state(m->store, by, &e2) < 0) {
        sb_logf(m->cfg.log, SB_LOG_ERROR, "health: %s", e2.msg);
        return sb_reply_problem(rep, 503, "unavailable", "Service unavailable",
                                "the state database does not answer");
    }
    return sb_reply_json(rep, 200,
                         json_pack("{s:s, s:s, s:I}", "status", "ok", "version", SB_VERSION,
                                   "uptime_s", (json_int_t)(sb_time_now() - m->started)));
}

static int h_metrics(sb_monitor *m, const sb_ipc_msg *msg, const sb_tenant *t, sb_reply *rep,
                     sb_error *err) {
    (void)msg;
    (void)t;
    (void)err;
    int64_t by[SB_SBX_STATE_MAX];
    sb_error e2 = {0};
    if (sb_store_sandbox_count_by_state(m->store, by, &e2) < 0) {
        sb_logf(m->cfg.log, SB_LOG_ERROR, "metrics: %s", e2.msg);
        return sb_reply_problem(rep, 503, "unavailable", "Service unavailable", "store");
    }
    reply_reset(rep);
    sb_writer *w = &rep->body;
    (void)sb_writer_str(w, "# HELP sealbox_sandboxes Sandboxes known to the daemon, by state.\n"
                           "# TYPE sealbox_sandboxes gauge\n");
    for (int s = 0; s < SB_SBX_STATE_MAX; s++)
        (void)sb_writer_printf(w, "sealbox_sandboxes{state=\"%s\"} %lld\n",
                               sb_sbx_state_name((enum sb_sbx_state)s), (long long)by[s]);
    (void)sb_writer_printf(
        w,
        "# HELP sealbox_front_starts_total Front processes started.\n"
        "# TYPE sealbox_front_starts_total counter\nsealbox_front_starts_total %u\n"
        "# HELP sealbox_front_kills_total Fronts killed for sending malformed messages.\n"
        "# TYPE sealbox_front_kills_total counter\nsealbox_front_kills_total %u\n"
        "# HELP sealbox_auth_failures_total Requests refused for a missing, invalid, revoked or "
        "expired key (as seen by the monitor).\n"
        "# TYPE sealbox_auth_failures_total counter\nsealbox_auth_failures_total %llu\n"
        "# HELP sealbox_monitor_messages_total Messages the monitor handled.\n"
        "# TYPE sealbox_monitor_messages_total counter\nsealbox_monitor_messages_total %llu\n",
        m->stats.front_spawns, m->stats.front_kills, (unsigned long long)m->auth_failures,
        (unsigned long long)m->stats.messages);
    if (m->sbx) sb_monitor_sbx_metrics(m, w);
    sb_monitor_kbs_metrics(m, w);
    sb_monitor_gw_metrics(m, w);
    if (sb_writer_status(w) < 0)
        return sb_reply_problem(rep, 500, "internal", "Internal error", "metrics too large");
    rep->status = 200;
    rep->ctype = SB_CT_TEXT;
    return 0;
}

static int h_tenant(sb_monitor *m, const sb_ipc_msg *msg, const sb_tenant *t, sb_reply *rep,
                    sb_error *err) {
    (void)msg;
    (void)err;
    int64_t count = 0, mem = 0;
    sb_error e2 = {0};
    if (sb_store_sandbox_usage(m->store, t->id, &count, &mem, &e2) < 0) {
        sb_logf(m->cfg.log, SB_LOG_ERROR, "tenant: %s", e2.msg);
        return sb_reply_problem(rep, 500, "internal", "Internal error", "store");
    }
    return sb_reply_json(rep, 200,
                         json_pack("{s:s, s:{s:I, s:I}, s:{s:I, s:I}}", "name", t->name, "quotas",
                                   "max_sandboxes", (json_int_t)t->max_sandboxes, "max_memory_mb",
                                   (json_int_t)t->max_memory_mb, "usage", "sandboxes",
                                   (json_int_t)count, "memory_mb", (json_int_t)mem));
}

/* The public form of a sandbox record. */
json_t *sb_monitor_sandbox_json(const sb_sandbox_rec *r) {
    char created[32], updated[32];
    sb_time_format(r->created, created);
    sb_time_format(r->updated, updated);
    json_t *cfg = r->config_json ? json_loads(r->config_json, 0, NULL) : NULL;
    json_t *j = json_pack("{s:s, s:s, s:s, s:I, s:s, s:s}", "id", r->id, "state",
                          sb_sbx_state_name(r->state), "image_digest", r->image_digest, "memory_mb",
                          (json_int_t)r->memory_mb, "created_at", created, "updated_at", updated);
    if (j && json_is_object(cfg)) {
        const char *keys[] = {"image",          "cpu_millis", "timeout_s",
                              "idle_standby_s", "metadata",   "env_keys"};
        for (size_t i = 0; i < SB_ARRAY_LEN(keys); i++) {
            json_t *v = json_object_get(cfg, keys[i]);
            if (v) (void)json_object_set(j, keys[i], v);
        }
    }
    json_decref(cfg);
    return j;
}

/* Sandbox ids arrive already checked by the front; one that is not even well-formed means the
 * front is not doing its job. */
static int sandbox_id(const sb_ipc_msg *msg, size_t i, char out[SB_SANDBOX_ID_MAX + 1],
                      sb_error *err) {
    TRY(sb_ipc_str_copy(&msg->f[i].s, out, SB_SANDBOX_ID_MAX + 1, err, "sandbox id"));
    ENSURE(sb_store_sandbox_id_valid(out), err, SB_E_MALFORMED, "sandbox id has bad characters");
    return 0;
}

static bool metadata_match(const sb_sandbox_rec *r, const sb_ipc_val *filter) {
    if (filter->count == 0) return true;
    json_t *cfg = r->config_json ? json_loads(r->config_json, 0, NULL) : NULL;
    json_t *md = json_object_get(cfg, "metadata");
    bool ok = json_is_object(md);
    for (size_t i = 0; ok && i < filter->count; i++) {
        const sb_ipc_str *kv = &filter->list[i];
        const uint8_t *eq = memchr(kv->p, '=', kv->len);
        if (!eq) {
            ok = false;
            break;
        }
        size_t klen = (size_t)(eq - kv->p);
        char key[SB_IPC_KV_MAX + 1];
        memcpy(key, kv->p, klen);
        key[klen] = '\0';
        const char *v = json_string_value(json_object_get(md, key));
        size_t vlen = kv->len - klen - 1;
        ok = v && strlen(v) == vlen && memcmp(v, eq + 1, vlen) == 0;
    }
    json_decref(cfg);
    return ok;
}

static int c_log(const sb_ipc_msg *msg, sb_error *err) {
    ENSURE(msg->f[0].u < SB_LOG_MAX, err, SB_E_MALFORMED, "log level %llu",
           (unsigned long long)msg->f[0].u);
    return 0;
}

static int c_sandbox_id(const sb_ipc_msg *msg, sb_error *err) {
    char id[SB_SANDBOX_ID_MAX + 1];
    return sandbox_id(msg, 1, id, err);
}

static int c_sbx_list(const sb_ipc_msg *msg, sb_error *err) {
    char after[SB_SANDBOX_ID_MAX + 1] = "";
    if (msg->f[1].s.len) TRY(sandbox_id(msg, 1, after, err));
    uint64_t limit = msg->f[2].u;
    ENSURE(limit >= 1 && limit <= SB_STORE_LIST_MAX, err, SB_E_MALFORMED, "list limit %llu",
           (unsigned long long)limit);
    ENSURE(msg->f[3].u <= 1, err, SB_E_MALFORMED, "list all flag %llu",
           (unsigned long long)msg->f[3].u);
    const sb_ipc_val *filter = &msg->f[4];
    for (size_t i = 0; i < filter->count; i++)
        ENSURE(filter->list[i].len > 1 && filter->list[i].p[0] != '=' &&
                   memchr(filter->list[i].p, '=', filter->list[i].len),
               err, SB_E_MALFORMED, "metadata filter is not KEY=VALUE");
    return 0;
}

static int h_sbx_list(sb_monitor *m, const sb_ipc_msg *msg, const sb_tenant *t, sb_reply *rep,
                      sb_error *err) {
    char after[SB_SANDBOX_ID_MAX + 1] = "";
    if (msg->f[1].s.len) TRY(sandbox_id(msg, 1, after, err));
    uint64_t limit = msg->f[2].u;
    const sb_ipc_val *filter = &msg->f[4];
    json_t *arr = json_array();
    char cursor[SB_SANDBOX_ID_MAX + 1];
    memcpy(cursor, after, sizeof(cursor));
    bool more = true;
    size_t got = 0;
    /* Pages through the tenant's rows until the page is full (filters may skip rows). */
    while (more && got < limit) {
        sb_sandbox_rec *v = NULL;
        size_t n = 0;
        sb_error e2 = {0};
        if (sb_store_sandbox_list(m->store, t->id, cursor, 200, msg->f[3].u == 1, &v, &n, &e2) <
            0) {
            json_decref(arr);
            sb_logf(m->cfg.log, SB_LOG_ERROR, "list: %s", e2.msg);
            return sb_reply_problem(rep, 500, "internal", "Internal error", "store");
        }
        more = n == 200;
        for (size_t i = 0; i < n; i++) {
            memcpy(cursor, v[i].id, sizeof(cursor));
            if (!metadata_match(&v[i], filter)) continue;
            (void)json_array_append_new(arr, sb_monitor_sandbox_json(&v[i]));
            if (++got == limit) {
                more = more || i + 1 < n;
                break;
            }
        }
        sb_sandbox_recs_free(v, n);
    }
    return sb_reply_json(rep, 200,
                         json_pack("{s:o, s:o}", "sandboxes", arr, "next",
                                   more && got == limit ? json_string(cursor) : json_null()));
}

static int h_sbx_get(sb_monitor *m, const sb_ipc_msg *msg, const sb_tenant *t, sb_reply *rep,
                     sb_error *err) {
    char id[SB_SANDBOX_ID_MAX + 1];
    TRY(sandbox_id(msg, 1, id, err));
    sb_sandbox_rec r;
    sb_error e2 = {0};
    /* Tenant-scoped lookup: another tenant's sandbox is indistinguishable from none. */
    int rc = sb_store_sandbox_get(m->store, t->id, id, &r, &e2);
    if (rc == SB_E_NOTFOUND)
        return sb_reply_problem(rep, 404, "not-found", "Not found", "no such sandbox");
    if (rc < 0) {
        sb_logf(m->cfg.log, SB_LOG_ERROR, "get: %s", e2.msg);
        return sb_reply_problem(rep, 500, "internal", "Internal error", "store");
    }
    json_t *j = sb_monitor_sandbox_json(&r);
    sb_sandbox_rec_clear(&r);
    return sb_reply_json(rep, 200, j);
}

/* The dispatch table: every type the front may send, whether it carries a credential, and its
 * handler. A type not listed here, or one the monitor sends, kills the front. */
static const sb_handler BASE_HANDLERS[] = {
    {SB_IPC_LOG, false, c_log, h_log},
    {SB_IPC_HEALTH, false, NULL, h_health},
    {SB_IPC_METRICS, true, NULL, h_metrics},
    {SB_IPC_TENANT, true, NULL, h_tenant},
    {SB_IPC_SBX_LIST, true, c_sbx_list, h_sbx_list},
    {SB_IPC_SBX_GET, true, c_sandbox_id, h_sbx_get},
};

const struct sb_monitor_cfg *sb_monitor_cfg_of(sb_monitor *m) { return &m->cfg; }

static const sb_handler *find_handler(const sb_monitor *m, uint16_t type) {
    for (size_t i = 0; i < SB_ARRAY_LEN(BASE_HANDLERS); i++)
        if (BASE_HANDLERS[i].type == type) return &BASE_HANDLERS[i];
    /* Each half answers only when it runs: a KBS-only daemon has no sandbox state, a daemon
     * without --kbs no broker. */
    const sb_handler *h = m->sbx ? sb_monitor_sbx_handler(type) : NULL;
    return h ? h : m->kbs ? sb_monitor_kbs_handler(type) : NULL;
}

/* ---- the front's lifecycle --------------------------------------------------------------------
 */

static int pidfd_open_(pid_t pid) { return (int)syscall(SYS_pidfd_open, pid, 0); }

static void front_reap(sb_monitor *m, bool killed) {
    int status = 0;
    while (waitpid(m->front_pid, &status, 0) < 0 && errno == EINTR) {
    }
    m->stats.last_front_status = status;
    if (killed)
        m->stats.front_kills++;
    else
        m->stats.front_exits++;
    if (!killed) {
        const char *then = m->stopping ? "" : "; restarting";
        if (WIFSIGNALED(status))
            sb_logf(m->cfg.log, SB_LOG_ERROR, "front %d died of signal %d%s", (int)m->front_pid,
                    WTERMSIG(status), then);
        else
            sb_logf(m->cfg.log, WEXITSTATUS(status) || !m->stopping ? SB_LOG_WARN : SB_LOG_INFO,
                    "front %d exited with status %d%s", (int)m->front_pid, WEXITSTATUS(status),
                    then);
    }
    sb_error e = {0};
    char detail[96];
    (void)snprintf(detail, sizeof(detail), "{\"pid\":%d,\"status\":%d,\"killed\":%s}",
                   (int)m->front_pid, status, killed ? "true" : "false");
    if (sb_store_event_add(m->store, 0, NULL, killed ? "front.killed" : "front.exit", detail, NULL,
                           &e) < 0)
        sb_logf(m->cfg.log, SB_LOG_WARN, "event: %s", e.msg);
    (void)close(m->ipc);
    (void)close(m->front_pidfd);
    m->ipc = m->front_pidfd = -1;
    if (m->gw_ipc >= 0) (void)close(m->gw_ipc);
    m->gw_ipc = -1;
    sb_monitor_gw_front_gone(m);
    /* Its streams and uploads are settled at the top of the next loop turn, not here: this can
     * run from inside a send of the process or transfer that would be freed. */
    m->front_gone_pending = true;
    m->front_pid = 0;
    /* A front that dies young is restarted with growing delays, so a crash loop cannot spin. */
    uint64_t lived_ms = (sb_mono_ns() - m->front_started_ns) / 1000000u;
    if (lived_ms < 1000)
        m->backoff_ms = m->backoff_ms ? m->backoff_ms * 2 : RESPAWN_MIN_MS;
    else
        m->backoff_ms = RESPAWN_MIN_MS;
    if (m->backoff_ms > RESPAWN_MAX_MS) m->backoff_ms = RESPAWN_MAX_MS;
    m->next_spawn_ns = sb_mono_ns() + (uint64_t)m->backoff_ms * 1000000u;
}

static void front_kill(sb_monitor *m, const char *why) {
    if (!m->front_pid) return;
    sb_logf(m->cfg.log, SB_LOG_ERROR, "killing front %d: %s", (int)m->front_pid, why);
    sb_monitor_audit(m, json_pack("{s:s, s:i, s:s}", "kind", "daemon.front_killed", "pid",
                                  (int)m->front_pid, "reason", why));
    (void)syscall(SYS_pidfd_send_signal, m->front_pidfd, SIGKILL, NULL, 0);
    front_reap(m, true);
}

static int front_spawn(sb_monitor *m, sb_error *err) {
    int sv[2], gv[2] = {-1, -1};
    if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
        BAIL(err, SB_E_IO, "socketpair: %s", strerror(errno));
    if (m->gw && socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, gv) < 0) {
        int e = errno;
        (void)close(sv[0]);
        (void)close(sv[1]);
        BAIL(err, SB_E_IO, "socketpair: %s", strerror(e));
    }
    int sz = (int)(4 * SB_IPC_MSG_MAX);
    for (int i = 0; i < 2; i++) {
        (void)setsockopt(sv[i], SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz));
        (void)setsockopt(sv[i], SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz));
        if (gv[i] >= 0) {
            (void)setsockopt(gv[i], SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz));
            (void)setsockopt(gv[i], SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz));
        }
    }
    pid_t pid = 0;
    int r = m->gw ? m->cfg.spawn_gw(m->cfg.spawn_arg, sv[1], gv[1], &pid, err)
                  : m->cfg.spawn(m->cfg.spawn_arg, sv[1], &pid, err);
    (void)close(sv[1]);
    if (gv[1] >= 0) (void)close(gv[1]);
    if (r < 0) {
        (void)close(sv[0]);
        if (gv[0] >= 0) (void)close(gv[0]);
        return r;
    }
    int pfd = pidfd_open_(pid);
    if (pfd < 0) {
        int e = errno;
        (void)kill(pid, SIGKILL);
        (void)waitpid(pid, NULL, 0);
        (void)close(sv[0]);
        if (gv[0] >= 0) (void)close(gv[0]);
        BAIL(err, SB_E_IO, "pidfd_open: %s", strerror(e));
    }
    m->ipc = sv[0];
    m->gw_ipc = gv[0];
    m->front_pid = pid;
    m->front_pidfd = pfd;
    m->front_started_ns = sb_mono_ns();
    m->stats.front_spawns++;
    sb_logf(m->cfg.log, SB_LOG_INFO, "front %d started", (int)pid);
    if (m->stopping) (void)sb_monitor_send(m, SB_IPC_SHUTDOWN, 0, NULL, 0);
    return 0;
}

/* Sends one message to the front; a front that does not take it within SEND_TIMEOUT_MS is
 * stuck or hostile and is killed. Returns 0, or -1 when the front is gone. */
int sb_monitor_send(sb_monitor *m, uint16_t type, uint32_t id, const sb_ipc_val *vals, size_t n) {
    if (m->ipc < 0) return -1;
    sb_writer w;
    sb_writer_init(&w, SB_IPC_MSG_MAX);
    sb_error err = {0};
    if (sb_ipc_encode(&w, type, id, vals, n, &err) < 0) {
        sb_logf(m->cfg.log, SB_LOG_ERROR, "cannot encode %s: %s", sb_ipc_type_name(type), err.msg);
        sb_writer_free(&w);
        return -1;
    }
    uint64_t deadline = sb_mono_ns() + (uint64_t)SEND_TIMEOUT_MS * 1000000u;
    int rc = -1;
    for (;;) {
        ssize_t k = send(m->ipc, w.buf, w.len, MSG_DONTWAIT | MSG_NOSIGNAL);
        if (k == (ssize_t)w.len) {
            rc = 0;
            break;
        }
        if (k < 0 && errno == EINTR) continue;
        if (k < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            uint64_t now = sb_mono_ns();
            if (now >= deadline) {
                front_kill(m, "it does not read its replies");
                break;
            }
            struct pollfd p = {m->ipc, POLLOUT, 0};
            (void)poll(&p, 1, (int)((deadline - now) / 1000000u) + 1);
            continue;
        }
        break; /* the front is gone; its pidfd reports it */
    }
    sb_writer_free(&w);
    return rc;
}

/* Handles one datagram. Returns false when the front must be killed (why says for what). */
static bool handle(sb_monitor *m, const uint8_t *buf, size_t n, char *why, size_t whylen) {
    sb_error err = {0};
    sb_ipc_msg *msg = &m->msg;
    if (sb_ipc_decode(buf, n, msg, &err) < 0) {
        (void)snprintf(why, whylen, "malformed message: %s", err.msg);
        return false;
    }
    const sb_handler *h = sb_ipc_from_front(msg->type) ? find_handler(m, msg->type) : NULL;
    if (!h) {
        (void)snprintf(why, whylen, "message type %s is not one the front may send",
                       sb_ipc_type_name(msg->type));
        return false;
    }
    uint64_t t0 = sb_mono_ns();
    sb_reply rep;
    sb_reply_init(&rep);
    sb_tenant t;
    memset(&t, 0, sizeof(t));
    bool authed = true;
    int rc = 0;
    if (h->auth && !sb_apikey_well_formed((const char *)msg->f[0].s.p, msg->f[0].s.len))
        rc = sb_error_set(&err, SB_E_MALFORMED, "credential is not shaped like an API key");
    if (rc == 0 && h->check) rc = h->check(msg, &err);
    if (rc == 0 && h->auth) rc = authenticate(m, msg, &t, &rep, &authed, &err);
    if (rc == 0 && authed) rc = h->fn(m, msg, h->auth ? &t : NULL, &rep, &err);
    if (rc == SB_E_MALFORMED || rc == SB_E_LIMIT) {
        (void)snprintf(why, whylen, "%s: %s", sb_ipc_type_name(msg->type), err.msg);
        sb_reply_free(&rep);
        return false;
    }
    if (rc < 0) {
        sb_logf(m->cfg.log, SB_LOG_ERROR, "%s: %s", sb_ipc_type_name(msg->type), err.msg);
        (void)sb_reply_problem(&rep, 500, "internal", "Internal error", NULL);
    }
    m->stats.messages++;
    if (msg->type != SB_IPC_LOG && rep.status != 0) {
        sb_ipc_val v[3] = {sb_ipc_u((uint64_t)rep.status), sb_ipc_u((uint64_t)rep.ctype),
                           sb_ipc_b(rep.body.buf, rep.body.len)};
        (void)sb_monitor_send(m, SB_IPC_REPLY, msg->id, v, 3);
    }
    sb_monitor_audit_msg(m, msg, h->auth ? &t : NULL, authed && rc == 0, &rep,
                         (sb_mono_ns() - t0) / 1000u);
    /* A handler that answered before its commit reached the disk (sb_store_commit_nosync):
     * the audit record's commit has synced it, or this does. */
    if (sb_store_sync(m->store, &err) < 0) sb_logf(m->cfg.log, SB_LOG_ERROR, "store: %s", err.msg);
    sb_reply_free(&rep);
    return true;
}

/* Reads every datagram waiting on the ipc socket. */
static void read_front(sb_monitor *m) {
    while (m->ipc >= 0) {
        struct iovec iov = {m->rbuf, SB_IPC_MSG_MAX + 1};
        struct msghdr mh;
        memset(&mh, 0, sizeof(mh));
        mh.msg_iov = &iov;
        mh.msg_iovlen = 1;
        /* No control buffer: any descriptor the front tries to pass is dropped by the kernel
         * and flagged with MSG_CTRUNC. */
        ssize_t k = recvmsg(m->ipc, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
        if (k < 0 && errno == EINTR) continue;
        if (k < 0) return;  /* EAGAIN, or the front is gone (its pidfd says so) */
        if (k == 0) return; /* the front closed its end; it is exiting */
        if (mh.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) {
            front_kill(m, mh.msg_flags & MSG_TRUNC ? "message over the size limit"
                                                   : "it tried to pass file descriptors");
            return;
        }
        char why[SB_ERRMSG_MAX + 128];
        if (!handle(m, m->rbuf, (size_t)k, why, sizeof(why))) {
            front_kill(m, why);
            return;
        }
    }
}

/* ---- life of the monitor --------------------------------------------------------------------- */

int sb_monitor_new(const sb_monitor_cfg *cfg, sb_monitor **out, sb_error *err) {
    ENSURE(cfg && cfg->state_dir && cfg->log && cfg->spawn, err, SB_E_USAGE,
           "monitor: incomplete configuration");
    sb_monitor *m = calloc(1, sizeof(*m));
    ENSURE(m, err, SB_E_INTERNAL, "monitor: out of memory");
    m->cfg = *cfg;
    if (!m->cfg.drain_seconds) m->cfg.drain_seconds = 10;
    m->ipc = m->front_pidfd = m->sigfd = m->gw_ipc = -1;
    m->front_log = *cfg->log;
    m->front_log.component = "sealboxd-front";
    m->started = sb_time_now();
    m->rbuf = malloc(SB_IPC_MSG_MAX + 1);
    int r = m->rbuf ? 0 : sb_error_set(err, SB_E_INTERNAL, "monitor: out of memory");
    char path[4096];
    if (r == 0 &&
        snprintf(path, sizeof(path), "%s/%s", cfg->state_dir, SB_DB_FILE) >= (int)sizeof(path))
        r = sb_error_set(err, SB_E_USAGE, "state dir path too long");
    if (r == 0) r = sb_store_open(path, &m->store, err);
    if (r == 0) r = sb_apikey_secret_load(cfg->state_dir, &m->secret, err);
    if (r == 0) r = sb_monitor_audit_open(m, err);
    /* A KBS-only daemon runs no sandboxes (and needs no privileges for them). */
    if (r == 0 && cfg->kbs != 2) r = sb_monitor_sbx_init(m, err);
    if (r == 0) r = sb_proc_init(m, err);
    if (r == 0) r = sb_files_init(m, err);
    if (r == 0) r = sb_monitor_kbs_init(m, err);
    if (r == 0) r = sb_monitor_gw_init(m, err);
    if (r < 0) {
        sb_monitor_free(m);
        return r;
    }
    *out = m;
    return 0;
}

void sb_monitor_free(sb_monitor *m) {
    if (!m) return;
    sb_monitor_kbs_fini(m);
    if (m->front_pid) front_kill(m, "monitor shutting down");
    sb_monitor_gw_fini(m);
    sb_monitor_sbx_fini(m);
    sb_proc_fini(m);
    sb_files_fini(m);
    if (m->front_pid) front_kill(m, "monitor shutting down");
    sb_monitor_audit_close(m);
    if (m->sigfd >= 0) (void)close(m->sigfd);
    if (m->secret) sb_secret_free(m->secret, SB_APIKEY_SECRET_LEN);
    sb_store_close(m->store);
    free(m->rbuf);
    free(m);
}

void sb_monitor_get_stats(const sb_monitor *m, sb_monitor_stats *out) { *out = m->stats; }

sb_store *sb_monitor_store(sb_monitor *m) { return m->store; }
const sb_log *sb_monitor_log(sb_monitor *m) { return m->cfg.log; }

static void begin_stop(sb_monitor *m) {
    if (m->stopping) return;
    m->stopping = true;
    m->stop_deadline_ns = sb_mono_ns() + (uint64_t)m->cfg.drain_seconds * 1000000000u;
    sb_logf(m->cfg.log, SB_LOG_INFO, "stopping: draining the front (up to %us)",
            m->cfg.drain_seconds);
    if (m->front_pid) (void)sb_monitor_send(m, SB_IPC_SHUTDOWN, 0, NULL, 0);
}

static void read_signals(sb_monitor *m) {
    struct signalfd_siginfo si;
    while (read(m->sigfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
        switch (si.ssi_signo) {
        case SIGTERM:
        case SIGINT: begin_stop(m); break;
        case SIGHUP:
            if (m->cfg.reopen_log) (void)m->cfg.reopen_log(m->cfg.reopen_arg);
            sb_logf(m->cfg.log, SB_LOG_INFO, "SIGHUP: logs reopened");
            break;
        default: break;
        }
    }
}

static void daemon_event(sb_monitor *m, const char *kind) {
    sb_error e = {0};
    if (sb_store_event_add(m->store, 0, NULL, kind, NULL, NULL, &e) < 0)
        sb_logf(m->cfg.log, SB_LOG_WARN, "event %s: %s", kind, e.msg);
}

int sb_monitor_run(sb_monitor *m, sb_error *err) {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGHUP);
    if (sigprocmask(SIG_BLOCK, &set, NULL) < 0) BAIL(err, SB_E_IO, "sigprocmask");
    m->sigfd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
    if (m->sigfd < 0) BAIL(err, SB_E_IO, "signalfd: %s", strerror(errno));
    /* A front that dies while the monitor writes to it must not kill the monitor. */
    (void)signal(SIGPIPE, SIG_IGN);
    sb_logf(m->cfg.log, SB_LOG_INFO, "monitor %d: sealbox %s, state in %s", (int)getpid(),
            SB_VERSION, m->cfg.state_dir);
    daemon_event(m, "daemon.start");
    sb_monitor_audit(m, json_pack("{s:s, s:i, s:s}", "kind", "daemon.start", "pid", (int)getpid(),
                                  "version", SB_VERSION));
    sb_monitor_audit_checkpoint(m, true); /* also signs whatever a crash left unsigned */
    TRY(front_spawn(m, err));
    for (;;) {
        uint64_t now = sb_mono_ns();
        if (!m->front_pid && m->stopping) break;
        if (m->front_gone_pending) { /* before a new front can reuse request ids */
            m->front_gone_pending = false;
            sb_proc_front_gone(m);
            sb_files_front_gone(m);
        }
        if (!m->front_pid && now >= m->next_spawn_ns) {
            sb_error e2 = {0};
            if (front_spawn(m, &e2) < 0) {
                sb_logf(m->cfg.log, SB_LOG_ERROR, "cannot start the front: %s", e2.msg);
                m->backoff_ms = RESPAWN_MAX_MS;
                m->next_spawn_ns = now + (uint64_t)RESPAWN_MAX_MS * 1000000u;
            }
        }
        if (m->stopping && m->front_pid && now >= m->stop_deadline_ns)
            front_kill(m, "drain deadline passed");
        if (m->sbx) sb_monitor_sbx_tick(m);
        sb_monitor_gw_tick(m);
        sb_monitor_audit_checkpoint(m, false);
        /* Fixed slots first (signals, front ipc, front pidfd, gateway channel), then the exec
         * workers. */
        struct pollfd p[4 + 512];
        p[0] = (struct pollfd){m->sigfd, POLLIN, 0};
        p[1] = (struct pollfd){m->front_pid ? m->ipc : -1, POLLIN, 0};
        p[2] = (struct pollfd){m->front_pid ? m->front_pidfd : -1, POLLIN, 0};
        p[3] = (struct pollfd){m->front_pid ? m->gw_ipc : -1, POLLIN, 0};
        size_t nw = m->sbx ? sb_proc_pollfds(m, p + 4, SB_ARRAY_LEN(p) - 4) : 0;
        int timeout = 1000;
        uint64_t wake = m->front_pid ? (m->stopping ? m->stop_deadline_ns : 0) : m->next_spawn_ns;
        if (wake) timeout = wake > now ? (int)((wake - now) / 1000000u) + 1 : 0;
        if (timeout > 1000) timeout = 1000;
        if (sb_proc_running(m) && timeout > 200) timeout = 200;       /* exec deadlines' grain */
        if (sb_monitor_gw_running(m) && timeout > 200) timeout = 200; /* servers' stops */
        if (m->sbx && sb_monitor_sbx_pending(m)) timeout = 0;
        int nready = poll(p, 4 + nw, timeout);
        if (nready < 0 && errno != EINTR) BAIL(err, SB_E_IO, "poll: %s", strerror(errno));
        if (nw) sb_proc_events(m);
        if (nready <= 0) continue;
        if (p[0].revents) read_signals(m);
        if (m->front_pid && (p[1].revents & (POLLIN | POLLHUP | POLLERR))) read_front(m);
        if (m->front_pid && (p[3].revents & (POLLIN | POLLHUP | POLLERR))) {
            char why[SB_ERRMSG_MAX + 128];
            if (!sb_monitor_gw_read(m, why, sizeof(why))) front_kill(m, why);
        }
        if (m->front_pid && (p[2].revents & POLLIN)) {
            read_front(m); /* whatever it sent before it died */
            if (m->front_pid) front_reap(m, false);
        }
    }
    daemon_event(m, "daemon.stop");
    sb_monitor_audit(m, json_pack("{s:s, s:i}", "kind", "daemon.stop", "pid", (int)getpid()));
    sb_monitor_audit_checkpoint(m, true);
    sb_logf(m->cfg.log, SB_LOG_INFO, "stopped");
    return 0;
}
