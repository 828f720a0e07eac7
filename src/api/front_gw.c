/* front_gw: the MCP gateway hosted in sealboxd, the front's side. Stdio clients (`sealbox gateway
 * stdio --agent NAME`) connect to the gateway socket, present their agent's token in a hello
 * line, then speak newline-delimited JSON-RPC; each connection is one engine (sb_gw) whose
 * servers the monitor launches and whose pins, approvals and audit records the monitor keeps,
 * over a control channel of their own (monitor_gw.c). Everything the agents and the servers send
 * is parsed here, unprivileged and under seccomp. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "../gateway/gateway.h"
#include "front_int.h"

#define GW_SESSIONS_MAX 64       /* stdio sessions at once (each runs its own servers) */
#define GW_SESSIONS_PER_AGENT 16 /* of one agent */
#define GW_OUT_MAX (64u << 20)   /* bytes waiting for a client that does not read */
#define GW_CTL_TIMEOUT_S 10      /* a control call the monitor does not answer fails */
#define GW_HELLO_TIMEOUT_S 10    /* a client that says nothing is dropped */

struct gsess {
    struct sb_front_gw *g;
    struct gsess *next;
    struct bufferevent *bev;
    bool authed, dead;
    char agent[SB_GW_MAX_NAME + 1];
    unsigned peer_uid;
    int peer_pid;
    char tag[17];
    sb_gw *gw;
    struct sb_gw_evset ev; /* the engine's descriptors and deadline on g->base */
};

struct sb_front_gw {
    struct front *f;
    struct event_base *base;
    int ctl;
    bool ctl_broken;
    uint32_t seq; /* the id of the last call */
    uint8_t *rbuf;
    sb_ipc_msg msg;
    sb_gw_config *cfg;
    sb_gw_policy *policy;
    sb_gw_tokens *tokens;
    struct sb_gw_host host;
    struct evconnlistener *lst;
    struct event *reaper;
    struct gsess *sessions, *dead;
    size_t n_sessions;
    uint64_t opened, refused;
    sb_gw_http *http; /* Streamable HTTP at /mcp on the daemon's own listener */
};

/* ---- the control channel (synchronous: the monitor answers at once) ------------------------- */

static int ctl_recv(struct sb_front_gw *g, int *fds, size_t nfds, sb_error *err);

/* Sends one message; with a reply, waits for it (and its descriptors, when fds is not NULL).
 * The reply's code becomes the return value, its body the error message. */
static int ctl_call(struct sb_front_gw *g, uint16_t type, const sb_ipc_val *v, size_t n, bool reply,
                    int *fds, size_t nfds, sb_error *err) {
    ENSURE(!g->ctl_broken, err, SB_E_IO, "the monitor's gateway channel is broken");
    sb_writer w;
    sb_writer_init(&w, SB_IPC_MSG_MAX);
    uint32_t id = ++g->seq ? g->seq : ++g->seq;
    int rc = sb_ipc_encode(&w, type, id, v, n, err);
    if (rc == 0) {
        ssize_t k;
        do
            k = send(g->ctl, w.buf, w.len, MSG_NOSIGNAL);
        while (k < 0 && errno == EINTR);
        if (k != (ssize_t)w.len)
            rc = sb_error_set(err, SB_E_IO, "gateway channel: send: %s",
                              k < 0 ? strerror(errno) : "short");
    }
    sb_writer_free(&w);
    if (rc < 0 || !reply) {
        if (rc == SB_E_IO) g->ctl_broken = true;
        return rc;
    }
    for (;;) { /* a reply to a call that timed out before is dropped */
        rc = ctl_recv(g, fds, nfds, err);
        if (rc != 1 || g->msg.id == id) break;
        sb_front_log(g->f, SB_LOG_WARN, "gateway channel: a late reply (%u) dropped", g->msg.id);
    }
    return rc;
}

/* Reads one reply: 1 when it is one (its code then becomes the return value of the call, see
 * ctl_call), else an error; descriptors are kept only for a successful reply of the call. */
static int ctl_recv(struct sb_front_gw *g, int *fds, size_t nfds, sb_error *err) {
    int rc = 0;
    union {
        char buf[CMSG_SPACE(4 * sizeof(int))];
        struct cmsghdr align;
    } cm;
    struct iovec iov = {g->rbuf, SB_IPC_MSG_MAX + 1};
    struct msghdr mh;
    memset(&mh, 0, sizeof(mh));
    mh.msg_iov = &iov;
    mh.msg_iovlen = 1;
    mh.msg_control = cm.buf;
    mh.msg_controllen = sizeof(cm.buf);
    ssize_t k;
    do
        k = recvmsg(g->ctl, &mh, MSG_CMSG_CLOEXEC);
    while (k < 0 && errno == EINTR);
    int kerr = k < 0 ? errno : 0;
    /* descriptors first, so none leaks whatever else is wrong */
    int got[4];
    size_t ngot = 0;
    for (struct cmsghdr *c = k > 0 ? CMSG_FIRSTHDR(&mh) : NULL; c; c = CMSG_NXTHDR(&mh, c)) {
        if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) continue;
        size_t cnt = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
        for (size_t i = 0; i < cnt && ngot < SB_ARRAY_LEN(got); i++)
            memcpy(&got[ngot++], CMSG_DATA(c) + i * sizeof(int), sizeof(int));
    }
    if (k <= 0 || (mh.msg_flags & (MSG_TRUNC | MSG_CTRUNC)))
        rc = sb_error_set(err, SB_E_IO, "gateway channel: %s",
                          k < 0    ? strerror(errno)
                          : k == 0 ? "the monitor closed it"
                                   : "truncated");
    if (rc == 0 &&
        (sb_ipc_decode(g->rbuf, (size_t)k, &g->msg, err) < 0 || g->msg.type != SB_IPC_GW_REPLY))
        rc = sb_error_set(err, SB_E_IO, "gateway channel: not a reply");
    if (rc < 0) {
        /* a timeout leaves the channel usable: the late reply is recognised by its id */
        if (kerr != EAGAIN && kerr != EWOULDBLOCK) g->ctl_broken = true;
        for (size_t i = 0; i < ngot; i++)
            (void)close(got[i]);
        return rc;
    }
    if (g->msg.id != g->seq) {
        for (size_t i = 0; i < ngot; i++)
            (void)close(got[i]);
        return 1;
    }
    uint64_t code = g->msg.f[0].u;
    if (code) {
        for (size_t i = 0; i < ngot; i++)
            (void)close(got[i]);
        int c = code < 1000 ? -(int)code : SB_E_INTERNAL;
        return sb_error_set(err, c, "%.*s", (int)g->msg.f[3].s.len, (const char *)g->msg.f[3].s.p);
    }
    if (ngot != nfds) {
        for (size_t i = 0; i < ngot; i++)
            (void)close(got[i]);
        BAIL(err, SB_E_IO, "gateway channel: %zu descriptors where %zu were expected", ngot, nfds);
    }
    for (size_t i = 0; i < ngot; i++)
        fds[i] = got[i];
    return 0;
}

static int h_spawn(void *ctx, const char *server, int *in_fd, int *out_fd, uint64_t *handle,
                   sb_error *err) {
    struct sb_front_gw *g = ctx;
    sb_ipc_val v[1] = {sb_ipc_s(server)};
    int fds[2] = {-1, -1};
    TRY(ctl_call(g, SB_IPC_GW_SPAWN, v, 1, true, fds, 2, err));
    *in_fd = fds[0];
    *out_fd = fds[1];
    *handle = g->msg.f[1].u;
    return 0;
}

static void h_stop(void *ctx, uint64_t handle) {
    struct sb_front_gw *g = ctx;
    sb_ipc_val v[1] = {sb_ipc_u(handle)};
    sb_error e = {0};
    (void)ctl_call(g, SB_IPC_GW_STOP, v, 1, false, NULL, 0, &e);
}

static int h_pin_get(void *ctx, const char *server, const char *kind, const char *name,
                     const char *digest, int64_t *id, bool *approved, sb_error *err) {
    struct sb_front_gw *g = ctx;
    sb_ipc_val v[4] = {sb_ipc_s(server), sb_ipc_s(kind), sb_ipc_s(name), sb_ipc_s(digest)};
    TRY(ctl_call(g, SB_IPC_GW_PIN_GET, v, 4, true, NULL, 0, err));
    *id = (int64_t)g->msg.f[1].u;
    *approved = g->msg.f[2].u != 0;
    return 0;
}

static int h_pin_name(void *ctx, const char *server, const char *kind, const char *name, bool *any,
                      sb_error *err) {
    struct sb_front_gw *g = ctx;
    sb_ipc_val v[3] = {sb_ipc_s(server), sb_ipc_s(kind), sb_ipc_s(name)};
    TRY(ctl_call(g, SB_IPC_GW_PIN_NAME, v, 3, true, NULL, 0, err));
    *any = g->msg.f[2].u != 0;
    return 0;
}

static int h_pin_insert(void *ctx, const char *server, const char *kind, const char *name,
                        const char *digest, const char *canon, bool approved, int64_t *id,
                        sb_error *err) {
    struct sb_front_gw *g = ctx;
    size_t cl = strlen(canon);
    if (cl > SB_IPC_GW_CANON_MAX) cl = 0; /* the digest still pins it */
    sb_ipc_val v[6] = {sb_ipc_s(server), sb_ipc_s(kind),      sb_ipc_s(name),
                       sb_ipc_s(digest), sb_ipc_b(canon, cl), sb_ipc_u(approved)};
    TRY(ctl_call(g, SB_IPC_GW_PIN_INSERT, v, 6, true, NULL, 0, err));
    *id = (int64_t)g->msg.f[1].u;
    return 0;
}

/* ---- sessions ---------------------------------------------------------------------------------
 */

static void sess_kill(struct gsess *s);

static void glog(void *ctx, enum sb_log_level lvl, const char *msg) {
    struct gsess *s = ctx;
    sb_front_log(s->g->f, lvl, "gateway %s (%s): %s", s->tag, s->agent, msg);
}

static void audit_cb(void *ctx, json_t *record) {
    struct gsess *s = ctx;
    (void)json_object_set_new(record, "transport", json_string("daemon-stdio"));
    (void)json_object_set_new(record, "session", json_string(s->tag));
    (void)json_object_set_new(record, "peer_uid", json_integer(s->peer_uid));
    char *txt = json_dumps(record, JSON_COMPACT);
    json_decref(record);
    if (!txt) return;
    size_t n = strlen(txt);
    sb_error e = {0};
    if (n > SB_IPC_GW_RECORD_MAX)
        sb_front_log(s->g->f, SB_LOG_ERROR, "gateway %s: an audit record of %zu bytes is dropped",
                     s->tag, n);
    else {
        sb_ipc_val v[1] = {sb_ipc_b(txt, n)};
        if (ctl_call(s->g, SB_IPC_GW_AUDIT, v, 1, false, NULL, 0, &e) < 0)
            sb_front_log(s->g->f, SB_LOG_ERROR, "gateway %s: audit: %s", s->tag, e.msg);
    }
    free(txt);
}

static int agent_out(void *ctx, const char *line, size_t len) {
    struct gsess *s = ctx;
    if (s->dead) return -1;
    struct evbuffer *out = bufferevent_get_output(s->bev);
    if (evbuffer_get_length(out) + len > GW_OUT_MAX) {
        sb_front_log(s->g->f, SB_LOG_WARN, "gateway %s: the client reads nothing (%u MiB waiting)",
                     s->tag, GW_OUT_MAX >> 20);
        sess_kill(s);
        return -1;
    }
    return bufferevent_write(s->bev, line, len) == 0 ? 0 : -1;
}

static void sess_free(struct gsess *s) {
    sb_gw_evset_clear(&s->ev);
    sb_gw_free(s->gw); /* its servers: pipes closed, the monitor ends them */
    if (s->ev.timer) event_free(s->ev.timer);
    if (s->bev) bufferevent_free(s->bev);
    free(s);
}

static void on_reap(evutil_socket_t fd, short what, void *arg) {
    (void)fd, (void)what;
    struct sb_front_gw *g = arg;
    while (g->dead) {
        struct gsess *s = g->dead;
        g->dead = s->next;
        sess_free(s);
    }
}

/* Ends a session from anywhere (even inside the engine's callbacks): freed from the loop. */
static void sess_kill(struct gsess *s) {
    if (s->dead) return;
    s->dead = true;
    for (struct gsess **pp = &s->g->sessions; *pp; pp = &(*pp)->next)
        if (*pp == s) {
            *pp = s->next;
            break;
        }
    s->g->n_sessions--;
    sb_gw_evset_clear(&s->ev);
    if (s->ev.timer) (void)evtimer_del(s->ev.timer);
    bufferevent_disable(s->bev, EV_READ | EV_WRITE);
    s->next = s->g->dead;
    s->g->dead = s;
    event_active(s->g->reaper, EV_TIMEOUT, 0);
}

static void sess_sync(struct gsess *s);

static void sess_pump(struct gsess *s) {
    if (s->dead) return;
    sb_error err = {0};
    if (sb_gw_pump(s->gw, &err) < 0) {
        sb_front_log(s->g->f, SB_LOG_INFO, "gateway %s: %s", s->tag, err.msg);
        sess_kill(s);
        return;
    }
    sess_sync(s);
}

static void on_fd(evutil_socket_t fd, short what, void *arg) {
    (void)fd, (void)what;
    sess_pump(arg);
}

static void on_timer(evutil_socket_t fd, short what, void *arg) {
    (void)fd, (void)what;
    struct gsess *s = arg;
    if (!s->authed) { /* the hello never came */
        sess_kill(s);
        return;
    }
    sess_pump(s);
}

/* Registers exactly the descriptors (and the deadline) the engine waits on (http.c's helper,
 * the one its own sessions use). */
static void sess_sync(struct gsess *s) {
    if (s->dead) return;
    sb_gw_evset_sync(&s->ev, s->gw, s->g->base, on_fd, s);
}

/* Refuses the hello: one error line, then the connection ends once it is written. */
static void on_refused_written(struct bufferevent *bev, void *arg) {
    (void)bev;
    sess_kill(arg);
}

static void refuse(struct gsess *s, const char *why) {
    s->g->refused++;
    sb_front_log(s->g->f, SB_LOG_WARN, "gateway: refused a client (uid %u): %s", s->peer_uid, why);
    json_t *o = json_pack("{ss}", "error", why);
    char *t = o ? json_dumps(o, JSON_COMPACT) : NULL;
    json_decref(o);
    bufferevent_disable(s->bev, EV_READ);
    if (t && bufferevent_write(s->bev, t, strlen(t)) == 0 &&
        bufferevent_write(s->bev, "\n", 1) == 0)
        bufferevent_setcb(s->bev, NULL, on_refused_written, NULL, s);
    else
        sess_kill(s);
    free(t);
}

static void audit_refusal(struct gsess *s, const char *agent, const char *why) {
    json_t *r = json_pack("{sssssssssssssi}", "type", "mcp", "transport", "daemon-stdio", "method",
                          "(hello)", "decision", "deny", "outcome", "refused", "reason", why,
                          "peer_uid", (json_int_t)s->peer_uid);
    if (!r) return;
    if (agent) (void)json_object_set_new(r, "agent", json_string(agent));
    char *txt = json_dumps(r, JSON_COMPACT);
    json_decref(r);
    if (!txt) return;
    sb_ipc_val v[1] = {sb_ipc_b(txt, strlen(txt))};
    sb_error e = {0};
    (void)ctl_call(s->g, SB_IPC_GW_AUDIT, v, 1, false, NULL, 0, &e);
    free(txt);
}

static int sess_start(struct gsess *s, sb_error *err) {
    struct sb_front_gw *g = s->g;
    size_t mine = 0;
    for (struct gsess *o = g->sessions; o; o = o->next)
        if (o->authed && strcmp(o->agent, s->agent) == 0) mine++;
    ENSURE(mine < GW_SESSIONS_PER_AGENT, err, SB_E_LIMIT,
           "agent %.64s has %d sessions open (the most)", s->agent, GW_SESSIONS_PER_AGENT);
    uint8_t raw[8];
    TRY(sb_random(raw, sizeof(raw), err));
    sb_hex_encode(raw, sizeof(raw), s->tag);
    struct sb_gw_opts o = {.config = g->cfg,
                           .agent = s->agent,
                           .log = glog,
                           .log_ctx = s,
                           .stderr_fd = -1,
                           .agent_out = agent_out,
                           .agent_out_ctx = s,
                           .audit = audit_cb,
                           .audit_ctx = s,
                           .policy = g->policy,
                           .host = &g->host};
    TRY(sb_gw_new(&o, &s->gw, err));
    TRY(sb_gw_start(s->gw, err));
    s->authed = true;
    g->opened++;
    return 0;
}

static void feed(struct gsess *s, struct evbuffer *in) {
    uint8_t buf[65536];
    while (!s->dead && evbuffer_get_length(in) > 0) {
        int k = evbuffer_remove(in, buf, sizeof(buf));
        if (k <= 0) break;
        sb_error err = {0};
        if (sb_gw_agent_input(s->gw, buf, (size_t)k, &err) < 0) {
            sb_front_log(s->g->f, SB_LOG_INFO, "gateway %s: %s", s->tag, err.msg);
            sess_kill(s);
            return;
        }
    }
    sess_sync(s);
}

static void on_hello(struct gsess *s, struct evbuffer *in) {
    struct evbuffer_ptr eol = evbuffer_search_eol(in, NULL, NULL, EVBUFFER_EOL_LF);
    if (eol.pos < 0) {
        if (evbuffer_get_length(in) > SB_GW_HELLO_MAX) refuse(s, "hello: over 2048 bytes");
        return;
    }
    if ((size_t)eol.pos > SB_GW_HELLO_MAX) {
        refuse(s, "hello: over 2048 bytes");
        return;
    }
    uint8_t line[SB_GW_HELLO_MAX + 1];
    size_t n = (size_t)eol.pos;
    if (evbuffer_remove(in, line, n + 1) != (int)(n + 1)) {
        sess_kill(s);
        return;
    }
    struct sb_gw_hello h;
    sb_error err = {0};
    if (sb_gw_hello_parse(line, n, &h, &err) < 0) {
        explicit_bzero(line, sizeof(line));
        audit_refusal(s, NULL, err.msg);
        refuse(s, err.msg);
        return;
    }
    explicit_bzero(line, sizeof(line));
    const char *agent = sb_gw_tokens_agent(s->g->tokens, h.token, strlen(h.token));
    explicit_bzero(h.token, sizeof(h.token));
    if (!agent || strcmp(agent, h.agent) != 0) {
        /* an unknown token and another agent's token read the same */
        audit_refusal(s, NULL, "token: not the token of this agent");
        refuse(s, "token: not the token of this agent (http.tokens of the daemon's gateway "
                  "configuration)");
        return;
    }
    (void)snprintf(s->agent, sizeof(s->agent), "%s", agent);
    if (sess_start(s, &err) < 0) {
        refuse(s, err.msg);
        return;
    }
    (void)evtimer_del(s->ev.timer);
    json_t *ok = json_pack("{sbss}", "ok", 1, "agent", s->agent);
    char *t = ok ? json_dumps(ok, JSON_COMPACT) : NULL;
    json_decref(ok);
    if (!t || agent_out(s, t, strlen(t)) < 0 || agent_out(s, "\n", 1) < 0) {
        free(t);
        sess_kill(s);
        return;
    }
    free(t);
    sb_front_log(s->g->f, SB_LOG_INFO, "gateway %s: agent %s connected (uid %u, pid %d)", s->tag,
                 s->agent, s->peer_uid, s->peer_pid);
    feed(s, in);
}

static void on_read(struct bufferevent *bev, void *arg) {
    struct gsess *s = arg;
    if (s->dead) return;
    if (!s->authed)
        on_hello(s, bufferevent_get_input(bev));
    else
        feed(s, bufferevent_get_input(bev));
}

static void on_event(struct bufferevent *bev, short what, void *arg) {
    (void)bev;
    struct gsess *s = arg;
    if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR)) {
        if (s->authed)
            sb_front_log(s->g->f, SB_LOG_INFO, "gateway %s: agent %s disconnected", s->tag,
                         s->agent);
        sess_kill(s);
    }
}

static void on_accept(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa, int len,
                      void *arg) {
    (void)l, (void)sa, (void)len;
    struct sb_front_gw *g = arg;
    if (g->n_sessions >= GW_SESSIONS_MAX) {
        g->refused++;
        static const char busy[] = "{\"error\":\"the gateway has its most sessions open\"}\n";
        (void)!send(fd, busy, sizeof(busy) - 1, MSG_DONTWAIT | MSG_NOSIGNAL);
        (void)close(fd);
        return;
    }
    struct gsess *s = calloc(1, sizeof(*s));
    struct ucred cr;
    socklen_t cl = sizeof(cr);
    if (s && getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &cl) == 0) {
        s->peer_uid = cr.uid;
        s->peer_pid = cr.pid;
    }
    if (s) {
        s->g = g;
        (void)snprintf(s->tag, sizeof(s->tag), "-");
        s->bev = bufferevent_socket_new(g->base, fd, BEV_OPT_CLOSE_ON_FREE);
        s->ev.timer = evtimer_new(g->base, on_timer, s);
    }
    if (!s || !s->bev || !s->ev.timer) {
        if (s && s->bev)
            bufferevent_free(s->bev);
        else
            (void)close(fd);
        if (s && s->ev.timer) event_free(s->ev.timer);
        free(s);
        return;
    }
    struct timeval tv = {GW_HELLO_TIMEOUT_S, 0};
    (void)evtimer_add(s->ev.timer, &tv);
    bufferevent_setcb(s->bev, on_read, NULL, on_event, s);
    (void)bufferevent_enable(s->bev, EV_READ | EV_WRITE);
    s->next = g->sessions;
    g->sessions = s;
    g->n_sessions++;
}

/* ---- Streamable HTTP on the daemon's listener (src/gateway/http.c, hosted) ---------------------
 */

static void http_log(void *ctx, enum sb_log_level lvl, const char *msg) {
    struct sb_front_gw *g = ctx;
    sb_front_log(g->f, lvl, "gateway http: %s", msg);
}

/* http.c has added the transport and the session tag. */
static void http_audit(void *ctx, json_t *record) {
    struct sb_front_gw *g = ctx;
    char *txt = json_dumps(record, JSON_COMPACT);
    json_decref(record);
    if (!txt) return;
    size_t n = strlen(txt);
    sb_error e = {0};
    sb_ipc_val v[1] = {sb_ipc_b(txt, n)};
    if (n > SB_IPC_GW_RECORD_MAX || ctl_call(g, SB_IPC_GW_AUDIT, v, 1, false, NULL, 0, &e) < 0)
        sb_front_log(g->f, SB_LOG_ERROR, "gateway http: an audit record is lost (%zu bytes%s%s)", n,
                     e.msg[0] ? ": " : "", e.msg);
    free(txt);
}

/* A TCP listener on a loopback address: Host must then name loopback too (DNS rebinding). A
 * unix socket has no Host a browser could rebind. */
static bool listener_loopback(int fd) {
    struct sockaddr_storage ss;
    socklen_t sl = sizeof(ss);
    if (getsockname(fd, (struct sockaddr *)&ss, &sl) < 0) return false;
    if (ss.ss_family == AF_INET)
        return (ntohl(((struct sockaddr_in *)&ss)->sin_addr.s_addr) >> 24) == 127;
    if (ss.ss_family == AF_INET6) {
        const struct in6_addr *a = &((struct sockaddr_in6 *)&ss)->sin6_addr;
        return IN6_IS_ADDR_LOOPBACK(a) || (IN6_IS_ADDR_V4MAPPED(a) && a->s6_addr[12] == 127);
    }
    return false;
}

void sb_front_gw_http(struct sb_front_gw *g, struct evhttp_request *req) {
    sb_gw_http_request(g->http, req);
}

/* ---- setup ------------------------------------------------------------------------------------
 */

int sb_front_gw_new(struct front *f, const sb_front_cfg *cfg, struct event_base *base,
                    struct sb_front_gw **out, sb_error *err) {
    struct sb_front_gw *g = calloc(1, sizeof(*g));
    ENSURE(g, err, SB_E_INTERNAL, "out of memory");
    *out = g;
    g->f = f;
    g->base = base;
    g->ctl = cfg->gw_fd;
    g->host = (struct sb_gw_host){.ctx = g,
                                  .spawn = h_spawn,
                                  .stop = h_stop,
                                  .pin_get = h_pin_get,
                                  .pin_name_approved = h_pin_name,
                                  .pin_insert = h_pin_insert};
    g->rbuf = malloc(SB_IPC_MSG_MAX + 1);
    ENSURE(g->rbuf, err, SB_E_INTERNAL, "out of memory");
    /* the channel is used synchronously: a monitor that does not answer fails the call */
    struct timeval to = {GW_CTL_TIMEOUT_S, 0};
    (void)setsockopt(g->ctl, SOL_SOCKET, SO_RCVTIMEO, &to, sizeof(to));
    (void)setsockopt(g->ctl, SOL_SOCKET, SO_SNDTIMEO, &to, sizeof(to));
    TRY(ctl_call(g, SB_IPC_GW_CONFIG, NULL, 0, true, NULL, 0, err));
    json_error_t je;
    json_t *root = json_loadb((const char *)g->msg.f[3].s.p, g->msg.f[3].s.len, 0, &je);
    ENSURE(root, err, SB_E_MALFORMED, "gateway configuration from the monitor: %s", je.text);
    int rc = sb_gw_config_parse(root, &g->cfg, err);
    json_decref(root);
    json_t *agents = rc == 0 ? json_object_get(g->cfg->root, "agents") : NULL;
    if (rc == 0 && !agents) rc = sb_error_set(err, SB_E_MALFORMED, "gateway: no \"agents\"");
    if (rc == 0) rc = sb_gw_policy_load(agents, &g->policy, err);
    if (rc == 0) rc = sb_gw_tokens_load(g->cfg->root, g->policy, &g->tokens, err);
    TRY(rc);
    g->reaper = event_new(base, -1, 0, on_reap, g);
    ENSURE(g->reaper, err, SB_E_INTERNAL, "out of memory");
    struct sb_gw_http_opts ho = {.engine = {.config = g->cfg,
                                            .log = http_log,
                                            .log_ctx = g,
                                            .stderr_fd = -1,
                                            .audit = http_audit,
                                            .audit_ctx = g,
                                            .policy = g->policy,
                                            .host = &g->host},
                                 .listen_fd = -1,
                                 .loopback = listener_loopback(cfg->listen_fd),
                                 .base = base};
    TRY(sb_gw_http_new(&ho, &g->http, err));
    g->lst = evconnlistener_new(base, on_accept, g, LEV_OPT_CLOSE_ON_FREE, -1, cfg->gw_listen_fd);
    ENSURE(g->lst, err, SB_E_INTERNAL, "gateway: cannot listen");
    (void)evutil_make_socket_nonblocking(cfg->gw_listen_fd);
    return 0;
}

/* Stops accepting and ends every session (their clients see the end of the stream). */
void sb_front_gw_drain(struct sb_front_gw *g) {
    if (!g) return;
    if (g->lst) evconnlistener_disable(g->lst);
    while (g->sessions)
        sess_kill(g->sessions);
}

void sb_front_gw_free(struct sb_front_gw *g) {
    if (!g) return;
    sb_front_gw_drain(g);
    while (g->dead) {
        struct gsess *s = g->dead;
        g->dead = s->next;
        sess_free(s);
    }
    sb_gw_http_free(g->http);
    if (g->lst) evconnlistener_free(g->lst);
    if (g->reaper) event_free(g->reaper);
    sb_gw_tokens_free(g->tokens);
    sb_gw_policy_free(g->policy);
    sb_gw_config_free(g->cfg);
    free(g->rbuf);
    free(g);
}

void sb_front_gw_metrics(const struct sb_front_gw *g, struct evbuffer *b) {
    if (!g) return;
    evbuffer_add_printf(b,
                        "# TYPE sealbox_gateway_sessions gauge\nsealbox_gateway_sessions %zu\n"
                        "# TYPE sealbox_gateway_sessions_total counter\n"
                        "sealbox_gateway_sessions_total{result=\"opened\"} %llu\n"
                        "sealbox_gateway_sessions_total{result=\"refused\"} %llu\n",
                        g->n_sessions, (unsigned long long)g->opened,
                        (unsigned long long)g->refused);
    if (!g->http) return;
    struct sb_gw_http_stats st;
    sb_gw_http_get_stats(g->http, &st);
    evbuffer_add_printf(b,
                        "# TYPE sealbox_gateway_http_requests_total counter\n"
                        "sealbox_gateway_http_requests_total %llu\n"
                        "# TYPE sealbox_gateway_http_sessions_total counter\n"
                        "sealbox_gateway_http_sessions_total{event=\"opened\"} %llu\n"
                        "sealbox_gateway_http_sessions_total{event=\"closed\"} %llu\n"
                        "# TYPE sealbox_gateway_http_refused_total counter\n"
                        "sealbox_gateway_http_refused_total{why=\"auth\"} %llu\n"
                        "sealbox_gateway_http_refused_total{why=\"origin\"} %llu\n",
                        (unsigned long long)st.requests, (unsigned long long)st.sessions_opened,
                        (unsigned long long)st.sessions_closed, (unsigned long long)st.refused_auth,
                        (unsigned long long)st.refused_origin);
}
