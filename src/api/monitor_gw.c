/* monitor_gw: the monitor's side of the MCP gateway hosted in sealboxd. It reads the gateway
 * configuration once, launches each server a front's session asks for (in its own jail
 * sandbox, through the gateway's holder, with the environment only the monitor knows) and hands
 * the pipes over, keeps pins and approvals in the store, and appends the engines' audit records
 * to its chain. The front's control channel is a socketpair of its own, answered at once. */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "monitor_int.h"

#define GW_LAUNCH_MAX 256 /* servers running for the front at once */
#define GW_SEND_TIMEOUT_MS 5000

struct launch {
    sb_gw_launch *l;
    uint64_t handle;
    char server[SB_GW_SERVER_NAME_MAX + 1];
    bool stopping;
};

struct sb_monitor_gw {
    sb_gw_config *cfg;
    sb_gw_policy *policy;
    char *redacted; /* the configuration the front gets */
    size_t redacted_len;
    char init_path[4096];
    struct launch v[GW_LAUNCH_MAX];
    size_t n;
    uint64_t next_handle;
    uint64_t launched, launch_failed, audit_records;
};

int sb_monitor_gw_init(sb_monitor *m, sb_error *err) {
    m->gw_ipc = -1;
    if (!m->cfg.gateway_config) return 0;
    ENSURE(m->cfg.spawn_gw, err, SB_E_USAGE, "gateway: no way to start the front with it");
    struct sb_monitor_gw *g = calloc(1, sizeof(*g));
    ENSURE(g, err, SB_E_INTERNAL, "out of memory");
    m->gw = g;
    g->next_handle = 1;
    TRY(sb_gw_config_load(m->cfg.gateway_config, &g->cfg, err));
    json_t *agents = json_object_get(g->cfg->root, "agents");
    ENSURE(agents, err, SB_E_MALFORMED,
           "%s: agents: missing (the per-agent policy; docs/gateway.md)", m->cfg.gateway_config);
    TRY(sb_gw_policy_load(agents, &g->policy, err));
    sb_gw_tokens *t = NULL;
    int rc = sb_gw_tokens_load(g->cfg->root, g->policy, &t, err);
    sb_gw_tokens_free(t);
    if (rc < 0) return sb_error_prefix(err, "%s", m->cfg.gateway_config);
    json_t *red = sb_gw_config_redacted(g->cfg->root);
    g->redacted = red ? json_dumps(red, JSON_COMPACT) : NULL;
    json_decref(red);
    ENSURE(g->redacted, err, SB_E_INTERNAL, "out of memory");
    g->redacted_len = strlen(g->redacted);
    ENSURE(g->redacted_len <= SB_IPC_BODY_MAX, err, SB_E_LIMIT,
           "%s: over %u bytes (the front gets it in one message)", m->cfg.gateway_config,
           SB_IPC_BODY_MAX);
    if (m->cfg.init_path) {
        (void)snprintf(g->init_path, sizeof(g->init_path), "%s", m->cfg.init_path);
    } else {
        ssize_t k = readlink("/proc/self/exe", g->init_path, sizeof(g->init_path) - 32);
        if (k > 0) {
            g->init_path[k] = '\0';
            char *slash = strrchr(g->init_path, '/');
            if (slash) memcpy(slash + 1, "sealbox-init", sizeof("sealbox-init"));
        }
    }
    for (size_t i = 0; i < g->cfg->n_servers; i++)
        if (g->cfg->servers[i].sandbox == SB_GW_SANDBOX_NONE && !g->cfg->servers[i].url)
            sb_logf(m->cfg.log, SB_LOG_WARN,
                    "gateway: server %s runs WITHOUT a sandbox (sandbox: none), as root",
                    g->cfg->servers[i].name);
    sb_logf(m->cfg.log, SB_LOG_INFO, "gateway: %zu servers from %s", g->cfg->n_servers,
            m->cfg.gateway_config);
    return 0;
}

void sb_monitor_gw_fini(sb_monitor *m) {
    struct sb_monitor_gw *g = m->gw;
    if (!g) return;
    for (size_t i = 0; i < g->n; i++)
        sb_gw_launch_free(g->v[i].l);
    free(g->redacted);
    sb_gw_policy_free(g->policy);
    sb_gw_config_free(g->cfg);
    free(g);
    m->gw = NULL;
}

bool sb_monitor_gw_enabled(const sb_monitor *m) { return m->gw != NULL; }

/* Every server of a front that is gone ends (their pipes closed with it). */
void sb_monitor_gw_front_gone(sb_monitor *m) {
    struct sb_monitor_gw *g = m->gw;
    if (!g) return;
    for (size_t i = 0; i < g->n; i++) {
        g->v[i].stopping = true;
        sb_gw_launch_stop(g->v[i].l);
    }
}

void sb_monitor_gw_tick(sb_monitor *m) {
    struct sb_monitor_gw *g = m->gw;
    if (!g) return;
    for (size_t i = 0; i < g->n;) {
        char report[256];
        bool gone = sb_gw_launch_poll(g->v[i].l, report, sizeof(report));
        if (strncmp(report, "err ", 4) == 0)
            sb_logf(m->cfg.log, SB_LOG_ERROR, "gateway: server %s cannot start: %s", g->v[i].server,
                    report + 4);
        if (!gone) {
            i++;
            continue;
        }
        sb_logf(m->cfg.log, SB_LOG_DEBUG, "gateway: server %s (handle %llu) ended", g->v[i].server,
                (unsigned long long)g->v[i].handle);
        sb_gw_launch_free(g->v[i].l);
        g->v[i] = g->v[--g->n];
    }
}

size_t sb_monitor_gw_running(const sb_monitor *m) { return m->gw ? m->gw->n : 0; }

void sb_monitor_gw_metrics(sb_monitor *m, sb_writer *w) {
    struct sb_monitor_gw *g = m->gw;
    if (!g) return;
    char buf[512];
    int k = snprintf(buf, sizeof(buf),
                     "# TYPE sealbox_gateway_servers gauge\nsealbox_gateway_servers %zu\n"
                     "# TYPE sealbox_gateway_launches_total counter\n"
                     "sealbox_gateway_launches_total{result=\"ok\"} %llu\n"
                     "sealbox_gateway_launches_total{result=\"failed\"} %llu\n"
                     "# TYPE sealbox_gateway_audit_records_total counter\n"
                     "sealbox_gateway_audit_records_total %llu\n",
                     g->n, (unsigned long long)g->launched, (unsigned long long)g->launch_failed,
                     (unsigned long long)g->audit_records);
    if (k > 0) (void)sb_writer_bytes(w, buf, (size_t)k);
}

/* ---- the control channel ----------------------------------------------------------------------
 */

/* Sends one reply (with descriptors when fds is not NULL). False when the front does not take
 * it in time: it is then killed by the caller. */
static bool send_reply(sb_monitor *m, uint32_t id, int code, uint64_t a, uint64_t b,
                       const void *body, size_t blen, const int *fds, size_t nfds) {
    sb_writer w;
    sb_writer_init(&w, SB_IPC_MSG_MAX);
    sb_error err = {0};
    sb_ipc_val v[4] = {sb_ipc_u((uint64_t)(uint32_t)(-code)), sb_ipc_u(a), sb_ipc_u(b),
                       sb_ipc_b(body, blen)};
    bool ok = sb_ipc_encode(&w, SB_IPC_GW_REPLY, id, v, 4, &err) == 0;
    if (!ok) sb_logf(m->cfg.log, SB_LOG_ERROR, "gateway: cannot encode a reply: %s", err.msg);
    union {
        char buf[CMSG_SPACE(2 * sizeof(int))];
        struct cmsghdr align;
    } cm;
    uint64_t deadline = sb_mono_ns() + (uint64_t)GW_SEND_TIMEOUT_MS * 1000000u;
    while (ok) {
        struct iovec iov = {w.buf, w.len};
        struct msghdr mh;
        memset(&mh, 0, sizeof(mh));
        mh.msg_iov = &iov;
        mh.msg_iovlen = 1;
        if (fds && nfds) {
            memset(&cm, 0, sizeof(cm));
            mh.msg_control = cm.buf;
            mh.msg_controllen = CMSG_SPACE(nfds * sizeof(int));
            struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
            c->cmsg_level = SOL_SOCKET;
            c->cmsg_type = SCM_RIGHTS;
            c->cmsg_len = CMSG_LEN(nfds * sizeof(int));
            memcpy(CMSG_DATA(c), fds, nfds * sizeof(int));
        }
        ssize_t k = sendmsg(m->gw_ipc, &mh, MSG_DONTWAIT | MSG_NOSIGNAL);
        if (k == (ssize_t)w.len) break;
        if (k < 0 && errno == EINTR) continue;
        uint64_t now = sb_mono_ns();
        if (k < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) && now < deadline) {
            struct pollfd p = {m->gw_ipc, POLLOUT, 0};
            (void)poll(&p, 1, (int)((deadline - now) / 1000000u) + 1);
            continue;
        }
        ok = false;
    }
    sb_writer_free(&w);
    return ok;
}

/* Every reply carries the request's id: the front drops one that comes after it gave up. */
static bool send_error(sb_monitor *m, int code, const sb_error *e) {
    return send_reply(m, m->msg.id, code < 0 ? code : SB_E_INTERNAL, 0, 0, e->msg, strlen(e->msg),
                      NULL, 0);
}

static const struct sb_gw_server_config *server_of(struct sb_monitor_gw *g, const sb_ipc_str *s) {
    for (size_t i = 0; i < g->cfg->n_servers; i++)
        if (strlen(g->cfg->servers[i].name) == s->len &&
            memcmp(g->cfg->servers[i].name, s->p, s->len) == 0)
            return &g->cfg->servers[i];
    return NULL;
}

static bool kind_ok(const sb_ipc_str *s) {
    static const char *const KINDS[] = {"tool", "prompt", "resource-template", "instructions",
                                        "call"};
    for (size_t i = 0; i < SB_ARRAY_LEN(KINDS); i++)
        if (strlen(KINDS[i]) == s->len && memcmp(KINDS[i], s->p, s->len) == 0) return true;
    return false;
}

/* May a definition of this server be approved on first sight? Only when its pin mode says
 * tofu or some agent's policy auto-pins it — and never a call (sb_gw_pin_check's rule; the
 * front is not trusted to apply it). */
static bool tofu_allowed(struct sb_monitor_gw *g, const struct sb_gw_server_config *sc,
                         const char *kind) {
    if (strcmp(kind, "call") == 0) return false;
    if (sc->pin == SB_GW_PIN_TOFU) return true;
    const char *agent;
    json_t *v;
    json_object_foreach(json_object_get(g->cfg->root, "agents"), agent, v) {
        (void)v;
        if (sb_gw_policy_auto_pin(g->policy, agent, sc->name)) return true;
    }
    return false;
}

static int h_spawn(sb_monitor *m, const sb_ipc_msg *msg, bool *sent, sb_error *err) {
    struct sb_monitor_gw *g = m->gw;
    const struct sb_gw_server_config *sc = server_of(g, &msg->f[0].s);
    ENSURE(sc, err, SB_E_NOTFOUND, "gateway: no server of that name");
    if (g->n >= GW_LAUNCH_MAX) {
        g->launch_failed++;
        BAIL(err, SB_E_LIMIT, "gateway: %d servers run already", GW_LAUNCH_MAX);
    }
    struct sb_gw_opts o = {.config = g->cfg,
                           .state_dir = m->cfg.state_dir,
                           .init_path = g->init_path,
                           .cgroup_root = getenv("SEALBOX_CGROUP_ROOT"),
                           .cgroup_parent = getenv("SEALBOX_CGROUP_PARENT"),
                           .stderr_fd = m->cfg.log ? m->cfg.log->fd : -1};
    sb_gw_launch *l = NULL;
    int fds[2] = {-1, -1};
    if (sb_gw_launch_start(sc, &o, &l, &fds[0], &fds[1], err) < 0) {
        g->launch_failed++;
        return err->code;
    }
    struct launch *x = &g->v[g->n++];
    *x = (struct launch){.l = l, .handle = g->next_handle++};
    (void)snprintf(x->server, sizeof(x->server), "%s", sc->name);
    g->launched++;
    sb_logf(m->cfg.log, SB_LOG_INFO, "gateway: server %s launched (holder %d, handle %llu)",
            sc->name, (int)sb_gw_launch_pid(l), (unsigned long long)x->handle);
    *sent = true;
    bool ok = send_reply(m, msg->id, 0, x->handle, 0, NULL, 0, fds, 2);
    (void)close(fds[0]);
    (void)close(fds[1]);
    if (!ok) {
        x->stopping = true;
        sb_gw_launch_stop(l);
        return sb_error_set(err, SB_E_IO, "gateway: the front does not take its server's pipes");
    }
    return 0;
}

static int str_arg(const sb_ipc_msg *msg, size_t i, char *buf, size_t cap, const char *what,
                   sb_error *err) {
    return sb_ipc_str_copy(&msg->f[i].s, buf, cap, err, what);
}

static int h_pin(sb_monitor *m, const sb_ipc_msg *msg, bool *sent, sb_error *err) {
    struct sb_monitor_gw *g = m->gw;
    const struct sb_gw_server_config *sc = server_of(g, &msg->f[0].s);
    /* the front has the same configuration: another server or kind is a front gone wrong */
    ENSURE(sc, err, SB_E_MALFORMED, "%s: no server of that name", sb_ipc_type_name(msg->type));
    ENSURE(kind_ok(&msg->f[1].s), err, SB_E_MALFORMED, "%s: no such kind",
           sb_ipc_type_name(msg->type));
    char kind[32], name[SB_PIN_FIELD_MAX + 1], digest[SB_PIN_FIELD_MAX + 1] = "";
    TRY(str_arg(msg, 1, kind, sizeof(kind), "kind", err));
    TRY(str_arg(msg, 2, name, sizeof(name), "name", err));
    if (msg->type != SB_IPC_GW_PIN_NAME)
        TRY(str_arg(msg, 3, digest, sizeof(digest), "digest", err));
    int64_t id = 0;
    bool flag = false;
    int rc;
    sb_error e = {0};
    if (msg->type == SB_IPC_GW_PIN_GET) {
        rc = sb_store_pin_get(m->store, sc->name, kind, name, digest, &id, &flag, &e);
    } else if (msg->type == SB_IPC_GW_PIN_NAME) {
        rc = sb_store_pin_name_approved(m->store, sc->name, kind, name, &flag, &e);
    } else {
        bool approve = msg->f[5].u != 0;
        if (approve) {
            bool any = false;
            ENSURE(tofu_allowed(g, sc, kind), err, SB_E_MALFORMED,
                   "gw_pin_insert: approval on first sight is not allowed for %s %s of %s", kind,
                   name, sc->name);
            rc = sb_store_pin_name_approved(m->store, sc->name, kind, name, &any, &e);
            ENSURE(rc < 0 || !any, err, SB_E_MALFORMED,
                   "gw_pin_insert: %s %s of %s was approved before: a change needs an operator",
                   kind, name, sc->name);
        }
        /* the canonical JSON is kept for `gateway pins` to show; its text is not checked */
        char *canon = malloc(msg->f[4].s.len + 1);
        ENSURE(canon, err, SB_E_INTERNAL, "out of memory");
        memcpy(canon, msg->f[4].s.p, msg->f[4].s.len);
        canon[msg->f[4].s.len] = 0;
        if (strlen(canon) != msg->f[4].s.len) canon[0] = 0;
        rc = sb_store_pin_insert(m->store, sc->name, kind, name, digest, canon, approve, &id, &e);
        free(canon);
        flag = approve;
    }
    *sent = true;
    bool ok = rc == 0 ? send_reply(m, msg->id, 0, (uint64_t)id, flag, NULL, 0, NULL, 0)
                      : send_error(m, rc, &e);
    return ok ? 0 : sb_error_set(err, SB_E_IO, "gateway: the front does not take its replies");
}

static int h_audit(sb_monitor *m, const sb_ipc_msg *msg, sb_error *err) {
    json_error_t je;
    json_t *r =
        json_loadb((const char *)msg->f[0].s.p, msg->f[0].s.len, JSON_REJECT_DUPLICATES, &je);
    if (!json_is_object(r)) {
        json_decref(r);
        BAIL(err, SB_E_MALFORMED, "gw_audit: not a JSON object");
    }
    /* what the monitor knows, not what the front says */
    (void)json_object_set_new(r, "source", json_string("gateway"));
    m->gw->audit_records++;
    sb_monitor_audit(m, r);
    return 0;
}

/* Handles one datagram: 0, or SB_E_MALFORMED / SB_E_LIMIT / SB_E_IO when the front must go. */
static int gw_handle(sb_monitor *m, const uint8_t *buf, size_t n, sb_error *err) {
    sb_ipc_msg *msg = &m->msg;
    TRY(sb_ipc_decode(buf, n, msg, err));
    bool sent = false;
    int rc = 0;
    switch (msg->type) {
    case SB_IPC_GW_CONFIG:
        sent = true;
        if (!send_reply(m, msg->id, 0, 0, 0, m->gw->redacted, m->gw->redacted_len, NULL, 0))
            rc = sb_error_set(err, SB_E_IO, "gateway: the front does not take its replies");
        break;
    case SB_IPC_GW_SPAWN: rc = h_spawn(m, msg, &sent, err); break;
    case SB_IPC_GW_STOP:
        for (size_t i = 0; i < m->gw->n; i++)
            if (m->gw->v[i].handle == msg->f[0].u && !m->gw->v[i].stopping) {
                m->gw->v[i].stopping = true;
                sb_gw_launch_stop(m->gw->v[i].l);
            }
        sent = true; /* not answered */
        break;
    case SB_IPC_GW_PIN_GET:
    case SB_IPC_GW_PIN_NAME:
    case SB_IPC_GW_PIN_INSERT: rc = h_pin(m, msg, &sent, err); break;
    case SB_IPC_GW_AUDIT:
        rc = h_audit(m, msg, err);
        sent = true;
        break;
    default:
        BAIL(err, SB_E_MALFORMED, "message type %s is not one of the gateway's",
             sb_ipc_type_name(msg->type) ? sb_ipc_type_name(msg->type) : "?");
    }
    if (rc == SB_E_MALFORMED || rc == SB_E_LIMIT || rc == SB_E_IO) {
        if (rc == SB_E_LIMIT && !sent && send_error(m, rc, err)) return 0; /* too many servers */
        return rc;
    }
    if (!sent && rc < 0 && !send_error(m, rc, err))
        return sb_error_set(err, SB_E_IO, "gateway: the front does not take its replies");
    m->stats.messages++;
    return 0;
}

bool sb_monitor_gw_read(sb_monitor *m, char *why, size_t whylen) {
    while (m->gw_ipc >= 0) {
        struct iovec iov = {m->rbuf, SB_IPC_MSG_MAX + 1};
        struct msghdr mh;
        memset(&mh, 0, sizeof(mh));
        mh.msg_iov = &iov;
        mh.msg_iovlen = 1;
        ssize_t k = recvmsg(m->gw_ipc, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
        if (k < 0 && errno == EINTR) continue;
        if (k <= 0) return true; /* EAGAIN, or the front is going (its pidfd says so) */
        if (mh.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) {
            (void)snprintf(why, whylen, "gateway: %s",
                           mh.msg_flags & MSG_TRUNC ? "message over the size limit"
                                                    : "it tried to pass file descriptors");
            return false;
        }
        sb_error err = {0};
        if (gw_handle(m, m->rbuf, (size_t)k, &err) < 0) {
            (void)snprintf(why, whylen, "gateway: %s", err.msg);
            return false;
        }
    }
    return true;
}
