/* bench_gateway: latency a tools/call gains by going through `sealbox gateway stdio` instead of
 * straight to the same MCP server over stdio (tests/mcp/mcp_testserver, echo), p50/p99 and
 * calls/s, measured in one run with the paths interleaved. The gateway path runs the server
 * unsandboxed (so the figure is the gateway's own cost) and, as root, also in a jail sandbox
 * (the gateway plus the sandbox's stdio relay). A fourth path is `sealbox gateway http`
 * (Streamable HTTP, JSON responses, one keep-alive connection) in front of the same unsandboxed
 * server. Goal: <= 100 us added at p50 over stdio. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench_util.h"
#include "gateway/gateway.h"
#include "util/util.h"

#define CALLS 2000 /* per path per round */
#define ROUNDS 3   /* the paths alternate this many times */
#define WARMUP 200
/* the policy every configuration carries: the bench agent may call every tool */
#define AGENTS \
    "\"agents\":{\"bench\":{\"servers\":{\"allow\":[\"*\"]},\"tools\":{\"allow\":[\"*\"]}}},"

struct peer {
    pid_t pid;
    int in, out;
    char buf[1 << 16];
    size_t len;
};

static int spawn(struct peer *p, char *const argv[]) {
    int in[2], out[2];
    if (pipe(in) || pipe(out)) return -1;
    p->pid = fork();
    if (p->pid < 0) return -1;
    if (p->pid == 0) {
        dup2(in[0], 0);
        dup2(out[1], 1);
        int null = open("/dev/null", O_WRONLY);
        if (null >= 0) dup2(null, 2);
        close(in[0]), close(in[1]), close(out[0]), close(out[1]);
        execv(argv[0], argv);
        _exit(127);
    }
    close(in[0]);
    close(out[1]);
    p->in = in[1];
    p->out = out[0];
    p->len = 0;
    return 0;
}

static int send_line(struct peer *p, const char *s) {
    size_t n = strlen(s);
    while (n) {
        ssize_t w = write(p->in, s, n);
        if (w <= 0) return -1;
        s += w;
        n -= (size_t)w;
    }
    return 0;
}

/* Reads until a line containing "\"id\":<id>" (skipping notifications). */
static int wait_reply(struct peer *p, int id) {
    char key[32];
    snprintf(key, sizeof(key), "\"id\":%d", id);
    for (;;) {
        char *nl;
        while ((nl = memchr(p->buf, '\n', p->len))) {
            size_t ll = (size_t)(nl - p->buf) + 1;
            *nl = 0;
            bool hit = strstr(p->buf, key) != NULL;
            memmove(p->buf, p->buf + ll, p->len - ll);
            p->len -= ll;
            if (hit) return 0;
        }
        if (p->len == sizeof(p->buf)) return -1;
        ssize_t r = read(p->out, p->buf + p->len, sizeof(p->buf) - p->len);
        if (r <= 0) return -1;
        p->len += (size_t)r;
    }
}

static int handshake(struct peer *p) {
    if (send_line(p, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"initialize\",\"params\":{"
                     "\"protocolVersion\":\"2025-11-25\",\"capabilities\":{},\"clientInfo\":{"
                     "\"name\":\"bench\",\"version\":\"1\"}}}\n") < 0 ||
        wait_reply(p, 1) < 0)
        return -1;
    return send_line(p, "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/initialized\"}\n");
}

static void stop(struct peer *p) {
    close(p->in);
    close(p->out);
    int st;
    for (int i = 0; i < 200; i++) {
        if (waitpid(p->pid, &st, WNOHANG) == p->pid) return;
        usleep(10000);
    }
    kill(p->pid, SIGKILL);
    waitpid(p->pid, &st, 0);
}

/* Runs n echo calls; appends each latency (ns) to lat. */
static int calls(struct peer *p, const char *tool, int n, int *next_id, uint64_t *lat) {
    char line[256];
    for (int i = 0; i < n; i++) {
        int id = (*next_id)++;
        snprintf(line, sizeof(line),
                 "{\"jsonrpc\":\"2.0\",\"id\":%d,\"method\":\"tools/call\",\"params\":{\"name\":"
                 "\"%s\",\"arguments\":{\"message\":\"hello\"}}}\n",
                 id, tool);
        uint64_t t0 = sb_mono_ns();
        if (send_line(p, line) < 0 || wait_reply(p, id) < 0) return -1;
        if (lat) lat[i] = sb_mono_ns() - t0;
    }
    return 0;
}

/* ---- a minimal keep-alive HTTP/1.1 client for the gateway's own answers ---- */

struct hconn {
    int fd;
    unsigned port;
    char token[80], sid[64];
    char buf[1 << 16];
    size_t len;
};

static int http_connect(struct hconn *c) {
    c->fd = socket(AF_INET, SOCK_STREAM, 0);
    if (c->fd < 0) return -1;
    int one = 1;
    (void)setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)c->port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    return connect(c->fd, (struct sockaddr *)&sa, sizeof(sa));
}

/* mcp-proxy answers with a chunked SSE stream that ends after the response: when the headers
 * say chunked, the body runs to the terminating zero-size chunk (its length goes to *cl). */
static int chunked_body(struct hconn *c, size_t hl, size_t *cl) {
    if (!strcasestr(c->buf, "\r\ntransfer-encoding: chunked")) return 0;
    for (;;) {
        char *t =
            c->len > hl - 2 ? memmem(c->buf + hl - 2, c->len - (hl - 2), "\r\n0\r\n\r\n", 7) : NULL;
        if (t) {
            *cl = (size_t)(t - c->buf) + 7 - hl;
            return 0;
        }
        if (c->len == sizeof(c->buf)) return -1;
        ssize_t r = read(c->fd, c->buf + c->len, sizeof(c->buf) - c->len);
        if (r <= 0) return -1;
        c->len += (size_t)r;
    }
}

/* POSTs body; waits for the whole response (Content-Length or chunked); 0 with its status. */
static int http_post(struct hconn *c, const char *body, int *status) {
    char req[1024];
    int n = snprintf(req, sizeof(req),
                     "POST /mcp HTTP/1.1\r\nHost: 127.0.0.1:%u\r\nAuthorization: Bearer %s\r\n"
                     "Content-Type: application/json\r\nAccept: application/json, "
                     "text/event-stream\r\n%s%s%s%sContent-Length: %zu\r\n\r\n%s",
                     c->port, c->token, c->sid[0] ? "Mcp-Session-Id: " : "", c->sid,
                     c->sid[0] ? "\r\n" : "",
                     c->sid[0] ? "MCP-Protocol-Version: 2025-11-25\r\n" : "", strlen(body), body);
    if (n < 0 || (size_t)n >= sizeof(req)) return -1;
    for (int off = 0; off < n;) {
        ssize_t w = write(c->fd, req + off, (size_t)(n - off));
        if (w <= 0) return -1;
        off += (int)w;
    }
    for (;;) {
        char *end = c->len ? memmem(c->buf, c->len, "\r\n\r\n", 4) : NULL;
        if (end) {
            *end = 0;
            size_t hl = (size_t)(end - c->buf) + 4, cl = 0;
            if (sscanf(c->buf, "HTTP/1.1 %d", status) != 1) return -1;
            for (char *l = strstr(c->buf, "\r\n"); l; l = strstr(l + 2, "\r\n")) {
                if (strncasecmp(l + 2, "content-length:", 15) == 0)
                    cl = strtoul(l + 17, NULL, 10);
                else if (strncasecmp(l + 2, "mcp-session-id:", 15) == 0)
                    (void)sscanf(l + 17, " %63[A-Za-z0-9_-]", c->sid);
            }
            if (chunked_body(c, hl, &cl) < 0) return -1;
            if (hl + cl > sizeof(c->buf)) return -1;
            while (c->len < hl + cl) {
                ssize_t r = read(c->fd, c->buf + c->len, sizeof(c->buf) - c->len);
                if (r <= 0) return -1;
                c->len += (size_t)r;
            }
            memmove(c->buf, c->buf + hl + cl, c->len - hl - cl);
            c->len -= hl + cl;
            return 0;
        }
        if (c->len == sizeof(c->buf)) return -1;
        ssize_t r = read(c->fd, c->buf + c->len, sizeof(c->buf) - c->len);
        if (r <= 0) return -1;
        c->len += (size_t)r;
    }
}

struct path {
    const char *name, *tool;
    bool http, proxy;
    struct hconn hc;
    struct peer peer;
    uint64_t *lat;
    size_t n;
    int next_id;
    uint64_t total_ns;
};

static int http_calls(struct hconn *c, const char *tool, int n, int *next_id, uint64_t *lat) {
    char body[256];
    for (int i = 0; i < n; i++) {
        int id = (*next_id)++, status = 0;
        snprintf(body, sizeof(body),
                 "{\"jsonrpc\":\"2.0\",\"id\":%d,\"method\":\"tools/call\",\"params\":{\"name\":"
                 "\"%s\",\"arguments\":{\"message\":\"hello\"}}}",
                 id, tool);
        uint64_t t0 = sb_mono_ns();
        if (http_post(c, body, &status) < 0 || status != 200) return -1;
        if (lat) lat[i] = sb_mono_ns() - t0;
    }
    return 0;
}

static int http_session(struct path *p);

/* Starts `sealbox gateway http` on a free loopback port and opens a session over it. */
static int http_start(struct path *p, char *const argv[]) {
    if (spawn(&p->peer, argv) < 0) return -1;
    /* its stdout says "listening on http://127.0.0.1:PORT/mcp" */
    char line[256];
    size_t n = 0;
    while (n + 1 < sizeof(line)) {
        ssize_t r = read(p->peer.out, line + n, 1);
        if (r <= 0) return -1;
        if (line[n++] == '\n') break;
    }
    line[n] = 0;
    if (sscanf(line, "listening on http://127.0.0.1:%u/mcp", &p->hc.port) != 1) return -1;
    if (http_connect(&p->hc) < 0) return -1;
    return http_session(p);
}

/* mcp-proxy (npm) on the given port: waits until it accepts, then opens a session. */
static int proxy_start(struct path *p, char *const argv[]) {
    if (spawn(&p->peer, argv) < 0) return -1;
    for (int i = 0; i < 300; i++) {
        if (http_connect(&p->hc) == 0) return http_session(p);
        close(p->hc.fd);
        p->hc.fd = -1;
        usleep(50000);
    }
    return -1;
}

static int http_session(struct path *p) {
    int status = 0;
    if (http_post(&p->hc,
                  "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"initialize\",\"params\":{"
                  "\"protocolVersion\":\"2025-11-25\",\"capabilities\":{},\"clientInfo\":{"
                  "\"name\":\"bench\",\"version\":\"1\"}}}",
                  &status) < 0 ||
        status != 200 || !p->hc.sid[0])
        return -1;
    if (http_post(&p->hc, "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/initialized\"}",
                  &status) < 0 ||
        status != 202)
        return -1;
    return 0;
}

static void report(struct path *p, const struct path *anchor) {
    qsort(p->lat, p->n, sizeof(uint64_t), bench_cmp_u64);
    double p50 = (double)p->lat[p->n / 2] / 1000.0, p99 = (double)p->lat[p->n * 99 / 100] / 1000.0;
    double rate = (double)p->n / ((double)p->total_ns / 1e9);
    printf("  %-28s p50 %8.1f us  p99 %8.1f us  %8.0f calls/s", p->name, p50, p99, rate);
    if (anchor) {
        double a50 = (double)anchor->lat[anchor->n / 2] / 1000.0;
        double a99 = (double)anchor->lat[anchor->n * 99 / 100] / 1000.0;
        double arate = (double)anchor->n / ((double)anchor->total_ns / 1e9);
        printf("  added p50 %+7.1f us (x%.2f)  p99 %+7.1f us  rate x%.2f", p50 - a50, p50 / a50,
               p99 - a99, rate / arate);
    }
    printf("\n");
}

/* A loopback port nobody listens on right now (for mcp-proxy, which takes a port number). */
static int free_port(char *out, size_t cap) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) return -1;
    struct sockaddr_in sa = {.sin_family = AF_INET};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t sl = sizeof(sa);
    int rc = bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0 &&
                     getsockname(fd, (struct sockaddr *)&sa, &sl) == 0
                 ? 0
                 : -1;
    close(fd);
    if (rc == 0) snprintf(out, cap, "%u", ntohs(sa.sin_port));
    return rc;
}

int main(void) {
    char self[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
    if (n <= 0) return 1;
    self[n] = 0;
    *strrchr(self, '/') = 0;
    char sealbox[PATH_MAX + 16], server[PATH_MAX + 16], tmpl[] = "/tmp/sealbox-benchgw.XXXXXX";
    snprintf(sealbox, sizeof(sealbox), "%s/sealbox", self);
    snprintf(server, sizeof(server), "%s/mcp_testserver", self);
    if (access(sealbox, X_OK) || access(server, X_OK)) {
        printf("bench_gateway: skipped (needs sealbox and mcp_testserver in %s)\n", self);
        return 0;
    }
    signal(SIGPIPE, SIG_IGN);
    char *dir = mkdtemp(tmpl);
    if (!dir) return 1;
    bool root = geteuid() == 0;
    char cfg_none[64], cfg_jail[64], state[64], bindir[64];
    snprintf(cfg_none, sizeof(cfg_none), "%s/none.json", dir);
    snprintf(cfg_jail, sizeof(cfg_jail), "%s/jail.json", dir);
    snprintf(state, sizeof(state), "%s/state", dir);
    snprintf(bindir, sizeof(bindir), "%s/bin", dir);
    FILE *f = fopen(cfg_none, "w");
    if (!f) return 1;
    fprintf(f,
            "{%s\"servers\":{\"b\":{\"command\":\"%s\",\"sandbox\":\"none\",\"pin\":\"off\"}}}\n",
            AGENTS, server);
    fclose(f);
    if (root) {
        char cmd[4 * PATH_MAX + 64];
        snprintf(cmd, sizeof(cmd), "mkdir -p '%s' && cp '%s' '%s/'", bindir, server, bindir);
        if (system(cmd) != 0) root = false;
        f = fopen(cfg_jail, "w");
        if (!f) return 1;
        fprintf(f,
                "{%s\"servers\":{\"b\":{\"command\":\"/opt/mcp/mcp_testserver\",\"pin\":\"off\","
                "\"mounts\":[{\"src\":\"%s\",\"dst\":\"/opt/mcp\"}]}}}\n",
                AGENTS, bindir);
        fclose(f);
    }
    char cfg_http[64], hash[72], *token = NULL;
    sb_error terr = {0};
    snprintf(cfg_http, sizeof(cfg_http), "%s/http.json", dir);
    if (sb_gw_http_token_new(&token, hash, &terr) < 0) return 1;
    f = fopen(cfg_http, "w");
    if (!f) return 1;
    fprintf(f,
            "{\"http\":{\"tokens\":{\"bench\":\"%s\"}},%s\"servers\":{\"b\":{\"command\":"
            "\"%s\",\"sandbox\":\"none\",\"pin\":\"off\"}}}\n",
            hash, AGENTS, server);
    fclose(f);
    char *http_argv[] = {sealbox,       "gateway",     "http", "--config",    cfg_http, "--listen",
                         "127.0.0.1:0", "--state-dir", state,  "--log-level", "error",  NULL};
    char *direct_argv[] = {server, NULL};
    char *gw_argv[] = {sealbox, "gateway",     "stdio", "--config",    cfg_none, "--agent",
                       "bench", "--state-dir", state,   "--log-level", "error",  NULL};
    char *jail_argv[] = {sealbox, "gateway",     "stdio", "--config",    cfg_jail, "--agent",
                         "bench", "--state-dir", state,   "--log-level", "error",  NULL};
    /* mcp-proxy from tests/mcp (npm ci there), on a port the kernel picks for us now */
    char proxy[PATH_MAX + 64], port[16] = "0";
    snprintf(proxy, sizeof(proxy),
             "%s/../../tests/mcp/node_modules/mcp-proxy/dist/bin/mcp-proxy.mjs", self);
    bool have_proxy = access(proxy, R_OK) == 0 && free_port(port, sizeof(port)) == 0;
    char *proxy_argv[] = {"/usr/bin/node", proxy,    "--host", "127.0.0.1", "--port", port,
                          "--server",      "stream", "--",     server,      NULL};
    struct path paths[5] = {
        {.name = "direct (stdio)", .tool = "echo"},
        {.name = "gateway, server unsandboxed", .tool = "b__echo"},
        {.name = "gateway over HTTP, unsandboxed", .tool = "b__echo", .http = true},
        {.name = "mcp-proxy (npm) over HTTP", .tool = "echo", .http = true, .proxy = true},
        {.name = "gateway, server in a jail", .tool = "b__echo"}};
    char *const *argvs[5] = {direct_argv, gw_argv, http_argv, proxy_argv, jail_argv};
    snprintf(paths[2].hc.token, sizeof(paths[2].hc.token), "%s", token);
    free(token);
    paths[2].hc.fd = paths[3].hc.fd = -1;
    paths[3].hc.port = (unsigned)strtoul(port, NULL, 10);
    snprintf(paths[3].hc.token, sizeof(paths[3].hc.token), "unused");
    if (!have_proxy) { /* drop it: the jail path moves up */
        paths[3] = paths[4];
        argvs[3] = argvs[4];
    }
    size_t np = 3 + (have_proxy ? 1 : 0) + (root ? 1 : 0);
    int rc = 0;
    for (size_t i = 0; i < np; i++) {
        paths[i].lat = calloc(CALLS * ROUNDS, sizeof(uint64_t));
        paths[i].next_id = 2;
        bool up =
            paths[i].lat &&
            (paths[i].http
                 ? (paths[i].proxy ? proxy_start(&paths[i], argvs[i])
                                   : http_start(&paths[i], argvs[i])) == 0 &&
                       http_calls(&paths[i].hc, paths[i].tool, WARMUP, &paths[i].next_id, NULL) == 0
                 : spawn(&paths[i].peer, argvs[i]) == 0 && handshake(&paths[i].peer) == 0 &&
                       calls(&paths[i].peer, paths[i].tool, WARMUP, &paths[i].next_id, NULL) == 0);
        if (!up) {
            fprintf(stderr, "bench_gateway: %s did not start\n", paths[i].name);
            rc = 1;
            np = i + (paths[i].peer.pid > 0);
            goto out;
        }
    }
    for (int r = 0; r < ROUNDS; r++)
        for (size_t i = 0; i < np; i++) {
            struct path *p = &paths[i];
            uint64_t t0 = sb_mono_ns();
            if ((p->http ? http_calls(&p->hc, p->tool, CALLS, &p->next_id, p->lat + p->n)
                         : calls(&p->peer, p->tool, CALLS, &p->next_id, p->lat + p->n)) < 0) {
                fprintf(stderr, "bench_gateway: %s failed\n", p->name);
                rc = 1;
                goto out;
            }
            p->total_ns += sb_mono_ns() - t0;
            p->n += CALLS;
        }
    printf("tools/call echo, %d sequential calls per path in %d interleaved rounds:\n",
           CALLS * ROUNDS, ROUNDS);
    for (size_t i = 0; i < np; i++)
        report(&paths[i], i ? &paths[0] : NULL);
    printf("  (HTTP vs the stdio gateway: p50 x%.2f)\n",
           (double)paths[2].lat[paths[2].n / 2] / (double)paths[1].lat[paths[1].n / 2]);
    if (have_proxy) {
        double d = (double)paths[0].lat[paths[0].n / 2];
        double g = (double)paths[2].lat[paths[2].n / 2] - d;
        double m = (double)paths[3].lat[paths[3].n / 2] - d;
        printf("  (added p50 over HTTP: the gateway %.0f us, mcp-proxy %.0f us: x%.2f of "
               "mcp-proxy's; goal <= x0.33)\n",
               g / 1000.0, m / 1000.0, g / m);
    } else {
        printf("  (mcp-proxy path skipped: npm ci in tests/mcp)\n");
    }
    if (!root) printf("  (the jail path needs root)\n");
out:
    for (size_t i = 0; i < np; i++) {
        if (paths[i].http && paths[i].hc.fd >= 0) close(paths[i].hc.fd);
        if (paths[i].http && paths[i].peer.pid > 0) kill(paths[i].peer.pid, SIGTERM);
        if (paths[i].peer.pid > 0) stop(&paths[i].peer);
        free(paths[i].lat);
    }
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    if (system(cmd) != 0) rc = 1;
    return rc;
}
