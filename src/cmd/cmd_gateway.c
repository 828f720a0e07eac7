/* cmd_gateway: `sealbox gateway stdio|http|pin|pins|approve|token` — the MCP gateway as a
 * standalone stdio or Streamable HTTP server that owns its servers' sandboxes, and the pinning
 * workflow over the state directory. */
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/signalfd.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include "api/api.h"
#include "cmd.h"
#include "gateway/gateway.h"
#include "run_opts.h"
#include "store/store.h"

static int gw_usage(FILE *o) {
    fprintf(o,
            "usage: sealbox gateway COMMAND [OPTIONS]\n\n"
            "  stdio --agent NAME [--socket PATH] [--token-file FILE]\n"
            "                                     relay one MCP agent on stdin/stdout to the\n"
            "                                     gateway hosted by sealboxd --gateway (its\n"
            "                                     socket: DIR/gateway.sock, DIR defaulting to\n"
            "                                     /var/lib/sealbox); the agent's token from\n"
            "                                     FILE or $SEALBOX_GATEWAY_TOKEN. No privileges\n"
            "                                     needed\n"
            "  stdio --config FILE --agent NAME   standalone: serve one MCP agent on stdin/\n"
            "                                     stdout; every server of FILE runs in its own\n"
            "                                     sandbox of this process\n"
            "  http --config FILE [--listen HOST:PORT] [--sse]\n"
            "                                     serve agents over Streamable HTTP at /mcp\n"
            "                                     (default 127.0.0.1:8931); each agent has a\n"
            "                                     bearer token (the config's \"http\" section);\n"
            "                                     each session runs its own server sandboxes.\n"
            "                                     A non-loopback HOST needs --allow-remote and\n"
            "                                     --tls-cert FILE --tls-key FILE\n"
            "  token                              print a new bearer token and its config hash\n"
            "  pin --config FILE [--server NAME]  start the servers and approve every definition\n"
            "                                     (tools, prompts, templates, instructions) they\n"
            "                                     present now\n"
            "  pins [--pending]                   list pinned definitions\n"
            "  approve ID                         approve one pending definition\n\n"
            "options: --state-dir DIR (default $SEALBOX_STATE_DIR, else /var/lib/sealbox as\n"
            "root), --log-level debug|info|warn|error (stderr; default warn).\n"
            "Configuration and workflow: docs/gateway.md. Exit status: 0 done, 1 failed,\n"
            "2 usage.\n");
    return o == stdout ? 0 : SB_EXIT_USAGE;
}

struct gw_cli {
    const char *config, *agent, *server, *state;
    const char *listen, *tls_cert, *tls_key;
    const char *socket, *token_file;
    bool allow_remote, sse;
    sb_audit_key *audit_key;
    sb_audit_queue *audit;
    bool pending;
    enum sb_log_level level;
    char statebuf[4096];
    char *init_path;
    sb_log log;
    sb_store *store;
    sb_error err;
};

static int fail(struct gw_cli *c) {
    fprintf(stderr, "sealbox gateway: %s\n", c->err.msg);
    return 1;
}

static void audit_cb(void *ctx, json_t *record) {
    struct gw_cli *c = ctx;
    int rc = sb_audit_queue_push(c->audit, record);
    if (rc < 0) sb_logf(&c->log, SB_LOG_ERROR, "audit: a record was dropped (%s)", sb_strerror(rc));
}

/* The audit log in the state directory, signed with its checkpoint key. Standalone, this
 * process holds the key; under sealboxd the monitor does. */
static int open_audit(struct gw_cli *c) {
    sb_audit_signer signer;
    char db[4200], head[4200];
    if (sb_audit_key_load(c->state, &c->audit_key, &c->err) < 0) return -1;
    sb_audit_key_signer(c->audit_key, &signer);
    (void)snprintf(db, sizeof(db), "%s/%s", c->state, SB_DB_FILE);
    (void)snprintf(head, sizeof(head), "%s/%s", c->state, SB_AUDIT_HEAD_FILE);
    sb_audit_cfg cfg = {.signer = &signer, .head_file = head};
    return sb_audit_queue_start(db, &cfg, &c->audit, &c->err);
}

static void log_cb(void *ctx, enum sb_log_level lvl, const char *msg) {
    struct gw_cli *c = ctx;
    sb_logf(&c->log, lvl, "%s", msg);
}

static int open_store(struct gw_cli *c) {
    if (!c->state) {
        const char *env = getenv("SEALBOX_STATE_DIR");
        if (env && *env)
            c->state = env;
        else if (sb_default_state_dir(c->statebuf, sizeof(c->statebuf), &c->err) < 0)
            return -1;
        else
            c->state = c->statebuf;
    }
    if (sb_state_dir_prepare(c->state, &c->err) < 0) return -1;
    char path[4200];
    (void)snprintf(path, sizeof(path), "%s/%s", c->state, SB_DB_FILE);
    return sb_store_open(path, &c->store, &c->err);
}

/* Loads the configuration and builds an engine over the store (with audit for a session). */
static int make_engine(struct gw_cli *c, sb_gw_config **cfg, sb_gw **gw, bool audit) {
    if (!c->config) {
        sb_error_set(&c->err, SB_E_USAGE, "--config FILE is required");
        return -1;
    }
    if (sb_gw_config_load(c->config, cfg, &c->err) < 0) return -1;
    if (open_store(c) < 0) return -1;
    if (audit && open_audit(c) < 0) return -1;
    c->init_path = sb_sibling_init();
    struct sb_gw_opts o = {.config = *cfg,
                           .agent = c->agent,
                           .store = c->store,
                           .state_dir = c->state,
                           .init_path = c->init_path,
                           .cgroup_root = getenv("SEALBOX_CGROUP_ROOT"),
                           .cgroup_parent = getenv("SEALBOX_CGROUP_PARENT"),
                           .log = log_cb,
                           .log_ctx = c,
                           .stderr_fd = 2,
                           .audit = c->audit ? audit_cb : NULL,
                           .audit_ctx = c};
    if (sb_gw_new(&o, gw, &c->err) < 0) return -1;
    return sb_gw_start(*gw, &c->err);
}

static int cmd_stdio(struct gw_cli *c) {
    if (!c->agent) {
        sb_error_set(&c->err, SB_E_USAGE, "--agent NAME is required");
        return fail(c);
    }
    sigset_t stop;
    sigemptyset(&stop);
    sigaddset(&stop, SIGTERM);
    sigaddset(&stop, SIGINT);
    sigaddset(&stop, SIGHUP);
    sigprocmask(SIG_BLOCK, &stop, NULL);
    int sfd = signalfd(-1, &stop, SFD_CLOEXEC);
    sb_gw_config *cfg = NULL;
    sb_gw *gw = NULL;
    int rc = make_engine(c, &cfg, &gw, true);
    if (rc == 0) rc = sb_gw_serve_stdio(gw, 0, 1, sfd, &c->err);
    if (gw) {
        struct sb_gw_stats st;
        sb_gw_get_stats(gw, &st);
        sb_logf(&c->log, SB_LOG_INFO,
                "session end: %llu agent messages (%llu refused), %llu tool calls, %llu server "
                "messages (%llu malformed, %llu oversized), %llu timeouts, %llu notifications "
                "dropped, %llu server requests relayed (%llu refused), %llu answers for no "
                "relayed request",
                (unsigned long long)st.agent_msgs, (unsigned long long)st.agent_rejected,
                (unsigned long long)st.calls, (unsigned long long)st.server_msgs,
                (unsigned long long)st.server_malformed, (unsigned long long)st.server_oversize,
                (unsigned long long)st.timeouts, (unsigned long long)st.notifications_dropped,
                (unsigned long long)st.relayed, (unsigned long long)st.relay_refused,
                (unsigned long long)st.relay_unknown_answers);
    }
    sb_gw_free(gw);
    sb_gw_config_free(cfg);
    if (sfd >= 0) close(sfd);
    if (c->audit) {
        uint64_t written = 0, dropped = 0;
        sb_error aerr = {0};
        if (sb_audit_queue_stop(c->audit, &written, &dropped, &aerr) < 0)
            sb_logf(&c->log, SB_LOG_ERROR, "audit: %s", aerr.msg);
        c->audit = NULL;
        sb_logf(&c->log, dropped ? SB_LOG_ERROR : SB_LOG_INFO,
                "audit: %llu records written, %llu dropped", (unsigned long long)written,
                (unsigned long long)dropped);
    }
    return rc < 0 ? fail(c) : 0;
}

/* ---- the thin client of sealboxd --gateway ------------------------------------------------------
 */

static int read_token(struct gw_cli *c, char *tok, size_t cap) {
    if (c->token_file) {
        uint8_t *buf = NULL;
        size_t n = 0;
        if (sb_read_file(c->token_file, SB_GW_HTTP_TOKEN_MAX + 64, &buf, &n, &c->err) < 0)
            return -1;
        while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r' || buf[n - 1] == ' '))
            n--;
        int rc = 0;
        if (n == 0 || n >= cap)
            rc = sb_error_set(&c->err, SB_E_USAGE, "%s: no token in it", c->token_file);
        else {
            memcpy(tok, buf, n);
            tok[n] = 0;
        }
        explicit_bzero(buf, n);
        free(buf);
        return rc;
    }
    const char *e = getenv(SB_GW_TOKEN_ENV);
    if (!e || !*e || strlen(e) >= cap)
        return sb_error_set(&c->err, SB_E_USAGE,
                            "the agent's token: --token-file FILE or $%s (sealbox gateway token)",
                            SB_GW_TOKEN_ENV);
    (void)snprintf(tok, cap, "%s", e);
    return 0;
}

static bool write_full(int fd, const char *p, size_t n) {
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) return false;
        p += w;
        n -= (size_t)w;
    }
    return true;
}

/* Connects, says hello and reads the answer line; the socket (blocking) or -1. */
static int daemon_connect(struct gw_cli *c) {
    char path[4200];
    if (c->socket)
        (void)snprintf(path, sizeof(path), "%s", c->socket);
    else {
        const char *dir = c->state ? c->state : getenv("SEALBOX_STATE_DIR");
        (void)snprintf(path, sizeof(path), "%s/%s", dir && *dir ? dir : "/var/lib/sealbox",
                       SB_GW_SOCKET_FILE);
    }
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    if (strlen(path) >= sizeof(sa.sun_path)) {
        sb_error_set(&c->err, SB_E_USAGE, "%s: path too long for a unix socket", path);
        return -1;
    }
    memcpy(sa.sun_path, path, strlen(path) + 1);
    char tok[SB_GW_HTTP_TOKEN_MAX + 2];
    if (read_token(c, tok, sizeof(tok)) < 0) return -1;
    char *hello = NULL;
    int rc = sb_gw_hello_format(c->agent, tok, &hello, &c->err);
    explicit_bzero(tok, sizeof(tok));
    if (rc < 0) return -1;
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
        sb_error_set(&c->err, SB_E_IO, "%s: %s (is sealboxd running with --gateway?)", path,
                     strerror(errno));
        if (fd >= 0) close(fd);
        explicit_bzero(hello, strlen(hello));
        free(hello);
        return -1;
    }
    bool sent = write_full(fd, hello, strlen(hello));
    explicit_bzero(hello, strlen(hello));
    free(hello);
    char line[4096];
    size_t n = 0;
    while (sent && n + 1 < sizeof(line)) { /* byte by byte: what follows is the agent's */
        ssize_t k = read(fd, line + n, 1);
        if (k < 0 && errno == EINTR) continue;
        if (k <= 0 || line[n] == '\n') break;
        n++;
    }
    line[n] = 0;
    json_t *ans = json_loadb(line, n, 0, NULL);
    if (json_is_true(json_object_get(ans, "ok"))) {
        json_decref(ans);
        return fd;
    }
    const char *why = json_string_value(json_object_get(ans, "error"));
    sb_error_set(&c->err, SB_E_POLICY, "the daemon refused the session: %s",
                 why    ? why
                 : sent ? "no answer"
                        : "cannot send");
    json_decref(ans);
    close(fd);
    return -1;
}

/* Relays stdin to the socket and the socket to stdout until the daemon ends the session; stdin's
 * end ends it (as an MCP client closing a stdio server's input does). */
static int relay(struct gw_cli *c, int fd) {
    static char up[65536], down[65536];
    size_t ul = 0, dl = 0;
    bool in_eof = false, sock_eof = false, wr_shut = false;
    (void)fcntl(fd, F_SETFL, O_NONBLOCK);
    while (!(sock_eof && dl == 0)) {
        struct pollfd p[3] = {
            {in_eof || ul ? -1 : 0, POLLIN, 0},
            {fd, (short)((ul ? POLLOUT : 0) | (!sock_eof && !dl ? POLLIN : 0)), 0},
            {dl ? 1 : -1, POLLOUT, 0}};
        if (in_eof && !ul && !wr_shut) {
            (void)shutdown(fd, SHUT_WR);
            wr_shut = true;
        }
        if (poll(p, 3, -1) < 0) {
            if (errno == EINTR) continue;
            sb_error_set(&c->err, SB_E_IO, "poll: %s", strerror(errno));
            return -1;
        }
        if (p[0].revents) {
            ssize_t k = read(0, up, sizeof(up));
            if (k > 0)
                ul = (size_t)k;
            else if (k == 0 || errno != EINTR)
                in_eof = true;
        }
        if (ul && (p[1].revents & (POLLOUT | POLLERR | POLLHUP))) {
            ssize_t k = write(fd, up, ul);
            if (k > 0) {
                memmove(up, up + k, ul - (size_t)k);
                ul -= (size_t)k;
            } else if (k < 0 && errno != EAGAIN && errno != EINTR) {
                ul = 0;
                in_eof = true;
            }
        }
        if (!dl && (p[1].revents & (POLLIN | POLLHUP | POLLERR))) {
            ssize_t k = read(fd, down, sizeof(down));
            if (k > 0)
                dl = (size_t)k;
            else if (k == 0 || (errno != EAGAIN && errno != EINTR))
                sock_eof = true;
        }
        if (dl && (p[2].revents & (POLLOUT | POLLERR | POLLHUP))) {
            if (!write_full(1, down, dl)) return 0; /* the agent is gone */
            dl = 0;
        }
    }
    if (!in_eof) {
        sb_error_set(&c->err, SB_E_IO, "the daemon ended the session");
        return -1;
    }
    return 0;
}

static int cmd_stdio_daemon(struct gw_cli *c) {
    if (!c->agent) {
        sb_error_set(&c->err, SB_E_USAGE, "--agent NAME is required");
        return fail(c);
    }
    signal(SIGPIPE, SIG_IGN);
    int fd = daemon_connect(c);
    if (fd < 0) return fail(c);
    int rc = relay(c, fd);
    close(fd);
    return rc < 0 ? fail(c) : 0;
}

static int cmd_token(struct gw_cli *c) {
    char *tok = NULL, hash[72];
    if (sb_gw_http_token_new(&tok, hash, &c->err) < 0) return fail(c);
    printf("token:  %s\nconfig: \"%s\"  (under \"http\": {\"tokens\": {\"AGENT\": ...}})\n", tok,
           hash);
    explicit_bzero(tok, strlen(tok));
    free(tok);
    return 0;
}

/* "HOST:PORT" or "[V6]:PORT" -> a listening TCP socket; the address it got. */
static int open_listener(struct gw_cli *c, int *fd, bool *loopback, char *shown, size_t cap) {
    char spec[300];
    (void)snprintf(spec, sizeof(spec), "tcp:%s", c->listen ? c->listen : "127.0.0.1:8931");
    sb_listen_spec sp;
    if (sb_listen_parse(spec, &sp, &c->err) < 0) return -1;
    *loopback = sb_listen_is_loopback(&sp);
    if (!*loopback && !c->allow_remote) {
        sb_error_set(&c->err, SB_E_USAGE,
                     "--listen %s is not a loopback address: agents elsewhere need "
                     "--allow-remote and TLS (--tls-cert, --tls-key)",
                     sp.host);
        return -1;
    }
    if (!*loopback && !(c->tls_cert && c->tls_key)) {
        sb_error_set(&c->err, SB_E_USAGE,
                     "--listen %s: a non-loopback listener needs --tls-cert and --tls-key "
                     "(bearer tokens must not cross a network in clear)",
                     sp.host);
        return -1;
    }
    if (sb_listen_open(&sp, fd, &c->err) < 0) return -1;
    struct sockaddr_storage ss;
    socklen_t sl = sizeof(ss);
    char addr[INET6_ADDRSTRLEN] = "?";
    unsigned port = 0;
    if (getsockname(*fd, (struct sockaddr *)&ss, &sl) == 0) {
        if (ss.ss_family == AF_INET6) {
            struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;
            (void)inet_ntop(AF_INET6, &a->sin6_addr, addr, sizeof(addr));
            port = ntohs(a->sin6_port);
        } else {
            struct sockaddr_in *a = (struct sockaddr_in *)&ss;
            (void)inet_ntop(AF_INET, &a->sin_addr, addr, sizeof(addr));
            port = ntohs(a->sin_port);
        }
    }
    (void)snprintf(shown, cap, "%s://%s%s%s:%u/mcp", c->tls_cert ? "https" : "http",
                   ss.ss_family == AF_INET6 ? "[" : "", addr, ss.ss_family == AF_INET6 ? "]" : "",
                   port);
    return 0;
}

static int cmd_http(struct gw_cli *c) {
    if (c->agent) {
        sb_error_set(&c->err, SB_E_USAGE,
                     "--agent is for stdio: over HTTP the bearer token names the agent");
        return fail(c);
    }
    if (!c->config) {
        sb_error_set(&c->err, SB_E_USAGE, "--config FILE is required");
        return fail(c);
    }
    sigset_t stop;
    sigemptyset(&stop);
    sigaddset(&stop, SIGTERM);
    sigaddset(&stop, SIGINT);
    sigaddset(&stop, SIGHUP);
    sigprocmask(SIG_BLOCK, &stop, NULL);
    int sfd = signalfd(-1, &stop, SFD_CLOEXEC);
    sb_gw_config *cfg = NULL;
    sb_gw_http *h = NULL;
    int lfd = -1;
    bool loopback = false;
    char shown[400];
    int rc = sb_gw_config_load(c->config, &cfg, &c->err);
    if (rc == 0) rc = open_store(c);
    if (rc == 0) rc = open_audit(c);
    if (rc == 0) rc = open_listener(c, &lfd, &loopback, shown, sizeof(shown));
    if (rc == 0) {
        c->init_path = sb_sibling_init();
        struct sb_gw_http_opts o = {.engine = {.config = cfg,
                                               .store = c->store,
                                               .state_dir = c->state,
                                               .init_path = c->init_path,
                                               .cgroup_root = getenv("SEALBOX_CGROUP_ROOT"),
                                               .cgroup_parent = getenv("SEALBOX_CGROUP_PARENT"),
                                               .log = log_cb,
                                               .log_ctx = c,
                                               .stderr_fd = 2,
                                               .audit = audit_cb,
                                               .audit_ctx = c},
                                    .listen_fd = lfd,
                                    .loopback = loopback,
                                    .tls_cert = c->tls_cert,
                                    .tls_key = c->tls_key,
                                    .prefer_sse = c->sse};
        rc = sb_gw_http_new(&o, &h, &c->err);
    }
    if (rc == 0) {
        printf("listening on %s\n", shown);
        fflush(stdout);
        rc = sb_gw_http_run(h, sfd, &c->err);
    }
    if (h) {
        struct sb_gw_http_stats st;
        sb_gw_http_get_stats(h, &st);
        sb_logf(&c->log, SB_LOG_INFO,
                "http: %llu requests, %llu sessions opened, %llu refused (authentication), %llu "
                "refused (origin/host), %llu unknown session, %llu notifications dropped, %llu "
                "streams resumed (%llu events lost), %llu CORS preflights",
                (unsigned long long)st.requests, (unsigned long long)st.sessions_opened,
                (unsigned long long)st.refused_auth, (unsigned long long)st.refused_origin,
                (unsigned long long)st.unknown_session,
                (unsigned long long)st.notifications_dropped,
                (unsigned long long)st.streams_resumed, (unsigned long long)st.events_lost,
                (unsigned long long)st.preflights);
    }
    sb_gw_http_free(h); /* closes the listening socket with its evhttp */
    if (!h && lfd >= 0) close(lfd);
    sb_gw_config_free(cfg);
    if (sfd >= 0) close(sfd);
    if (c->audit) {
        uint64_t written = 0, dropped = 0;
        sb_error aerr = {0};
        if (sb_audit_queue_stop(c->audit, &written, &dropped, &aerr) < 0)
            sb_logf(&c->log, SB_LOG_ERROR, "audit: %s", aerr.msg);
        c->audit = NULL;
        sb_logf(&c->log, dropped ? SB_LOG_ERROR : SB_LOG_INFO,
                "audit: %llu records written, %llu dropped", (unsigned long long)written,
                (unsigned long long)dropped);
    }
    return rc < 0 ? fail(c) : 0;
}

static int cmd_pin(struct gw_cli *c) {
    sb_gw_config *cfg = NULL;
    sb_gw *gw = NULL;
    size_t n = 0;
    int rc = make_engine(c, &cfg, &gw, false);
    if (rc == 0) rc = sb_gw_wait_ready(gw, 60000, &c->err);
    if (rc == 0) rc = sb_gw_pin_current(gw, c->server, &n, &c->err);
    sb_gw_free(gw);
    sb_gw_config_free(cfg);
    if (rc < 0) return fail(c);
    printf("approved %zu new definition%s\n", n, n == 1 ? "" : "s");
    return 0;
}

static int cmd_pins(struct gw_cli *c) {
    if (open_store(c) < 0) return fail(c);
    sb_pin_rec *v = NULL;
    size_t n = 0;
    if (sb_store_pin_list(c->store, c->pending, &v, &n, &c->err) < 0) return fail(c);
    printf("%-6s %-9s %-16s %-18s %-28s %s\n", "ID", "STATE", "SERVER", "KIND", "NAME", "DIGEST");
    for (size_t i = 0; i < n; i++)
        printf("%-6lld %-9s %-16s %-18s %-28s %.23s\n", (long long)v[i].id,
               v[i].approved ? "approved" : "pending", v[i].server, v[i].kind,
               v[i].name[0] ? v[i].name : "-", v[i].digest);
    free(v);
    return 0;
}

static int cmd_approve(struct gw_cli *c, const char *id) {
    int64_t v = 0;
    if (!id || sb_parse_i64(id, 1, INT64_MAX, &v, &c->err, "ID") < 0) {
        fprintf(stderr, "sealbox gateway approve: ID is the number 'sealbox gateway pins' shows\n");
        return SB_EXIT_USAGE;
    }
    if (open_store(c) < 0) return fail(c);
    sb_pin_rec r;
    if (sb_store_pin_approve(c->store, v, &r, &c->err) < 0) return fail(c);
    printf("approved %s %s%s%s of server %s (%s)\n", r.kind, r.name[0] ? "'" : "", r.name,
           r.name[0] ? "'" : "", r.server, r.digest);
    return 0;
}

int sb_cmd_gateway(int argc, char **argv) {
    struct gw_cli c = {.level = SB_LOG_WARN};
    const char *rest[4];
    int nrest = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        bool has = i + 1 < argc;
        if (strcmp(a, "--config") == 0 && has)
            c.config = argv[++i];
        else if (strcmp(a, "--agent") == 0 && has)
            c.agent = argv[++i];
        else if (strcmp(a, "--server") == 0 && has)
            c.server = argv[++i];
        else if (strcmp(a, "--state-dir") == 0 && has)
            c.state = argv[++i];
        else if (strcmp(a, "--log-level") == 0 && has) {
            if (sb_log_level_parse(argv[++i], &c.level) < 0) return gw_usage(stderr);
        } else if (strcmp(a, "--listen") == 0 && has)
            c.listen = argv[++i];
        else if (strcmp(a, "--socket") == 0 && has)
            c.socket = argv[++i];
        else if (strcmp(a, "--token-file") == 0 && has)
            c.token_file = argv[++i];
        else if (strcmp(a, "--tls-cert") == 0 && has)
            c.tls_cert = argv[++i];
        else if (strcmp(a, "--tls-key") == 0 && has)
            c.tls_key = argv[++i];
        else if (strcmp(a, "--allow-remote") == 0)
            c.allow_remote = true;
        else if (strcmp(a, "--sse") == 0)
            c.sse = true;
        else if (strcmp(a, "--pending") == 0)
            c.pending = true;
        else if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0)
            return gw_usage(stdout);
        else if (a[0] == '-') {
            fprintf(stderr, "sealbox gateway: unknown option %s\n", a);
            return gw_usage(stderr);
        } else if (nrest < (int)SB_ARRAY_LEN(rest))
            rest[nrest++] = a;
        else
            return gw_usage(stderr);
    }
    if (nrest < 1) return gw_usage(stderr);
    sb_log_init(&c.log, 2, c.level, false, "gateway");
    int rc;
    if (strcmp(rest[0], "stdio") == 0 && nrest == 1)
        rc = c.config ? cmd_stdio(&c) : cmd_stdio_daemon(&c);
    else if (strcmp(rest[0], "http") == 0 && nrest == 1)
        rc = cmd_http(&c);
    else if (strcmp(rest[0], "token") == 0 && nrest == 1)
        rc = cmd_token(&c);
    else if (strcmp(rest[0], "pin") == 0 && nrest == 1)
        rc = cmd_pin(&c);
    else if (strcmp(rest[0], "pins") == 0 && nrest == 1)
        rc = cmd_pins(&c);
    else if (strcmp(rest[0], "approve") == 0 && nrest == 2)
        rc = cmd_approve(&c, rest[1]);
    else
        rc = gw_usage(stderr);
    sb_store_close(c.store);
    sb_audit_key_free(c.audit_key);
    free(c.init_path);
    return rc;
}
