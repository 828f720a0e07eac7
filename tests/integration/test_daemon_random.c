/* test_daemon_random: thousands of random, malformed and hostile HTTP requests against the real
 * sealboxd over its unix socket. Each must get a well-formed answer that is never a server error
 * (or a closed connection, for bytes that are not HTTP); every PROBE_EVERY requests a well-formed
 * request with a known answer (200 or a precise 4xx) must get exactly that answer; afterwards
 * the daemon still answers, its front was never restarted, and nothing was reported by the
 * sanitizers. Each run replays the seeds in REGRESSION_SEEDS, then a new one (SB_TEST_SEED runs
 * that seed alone).
 * Sanitizer exception: the front runs under seccomp, so this run uses detect_leaks=0 (the
 * unconfined leak run is in test_daemon.sh). */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>

#include "api/api.h"
#include "harness.h"
#include "store/store.h"

#define N_REQUESTS 3000
#define PROBE_EVERY 25

/* Seeds that once failed. 4767198991174385568: the random requests held no well-formed 2xx
 * request at all (about 1 in 30 seeds did), and the test asserted that some 2xx came back;
 * the probes now make that check deterministic. */
static const uint64_t REGRESSION_SEEDS[] = {4767198991174385568u};

static char sock_path[600], key[SB_APIKEY_LEN + 1], state[512];
static pid_t daemon_pid;
static uint64_t rng;

static uint64_t rnd(void) {
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}
static size_t pick(size_t n) { return (size_t)(rnd() % n); }

/* Sends req, reads the whole answer (the server closes or we time out). */
static size_t exchange(const void *req, size_t n, char *out, size_t cap) {
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return 0;
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    memcpy(sa.sun_path, sock_path, strlen(sock_path) + 1);
    struct timeval tv = {5, 0};
    (void)setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    (void)setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    size_t got = 0;
    if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0) {
        size_t off = 0;
        const char *p = req;
        while (off < n) {
            ssize_t k = send(fd, p + off, n - off, MSG_NOSIGNAL);
            if (k <= 0) break;
            off += (size_t)k;
        }
        (void)shutdown(fd, SHUT_WR);
        for (;;) {
            ssize_t k = recv(fd, out + got, cap - 1 - got, 0);
            if (k <= 0) break;
            got += (size_t)k;
            if (got == cap - 1) break;
        }
    }
    out[got] = '\0';
    close(fd);
    return got;
}

static int status_of(const char *resp, size_t n) {
    /* evhttp answers in the version the client spoke: HTTP/<digit>.<digit> */
    if (n < 12 || strncmp(resp, "HTTP/", 5) != 0 || resp[6] != '.' || resp[8] != ' ' ||
        resp[5] < '0' || resp[5] > '9' || resp[7] < '0' || resp[7] > '9')
        return -1;
    int s = 0;
    for (int i = 9; i < 12; i++) {
        if (resp[i] < '0' || resp[i] > '9') return -1;
        s = s * 10 + (resp[i] - '0');
    }
    return s;
}

static const char *const METHODS[] = {"GET",     "POST",  "DELETE",  "PUT", "HEAD",  "PATCH",
                                      "OPTIONS", "TRACE", "CONNECT", "get", "G\tET", "X"};
static const char *const PATHS[] = {"/v1/health",
                                    "/metrics",
                                    "/v1/tenant",
                                    "/v1/sandboxes",
                                    "/v1/sandboxes/sbx_r1",
                                    "/v1/sandboxes/sbx_r1/exec",
                                    "/v1/sandboxes/sbx_r1/standby",
                                    "/v1/sandboxes/a/b/c/d/e",
                                    "/v1/sandboxes?limit=",
                                    "/v1/sandboxes?after=",
                                    "/v1/sandboxes?metadata=",
                                    "/v1/../etc",
                                    "/v1/sandboxes/%2e%2e",
                                    "//v1//tenant",
                                    "/v1/sandboxes/\x01",
                                    "*",
                                    "http://x/v1/tenant",
                                    "",
                                    "/v1/sandboxes?state=all&limit=1000",
                                    "/v1/sandboxes?limit=1001",
                                    "/v1/tenant#frag"};
static const char *const VERSIONS[] = {"HTTP/1.1",  "HTTP/1.0", "HTTP/2.0",
                                       "HTTP/1.1x", "",         "HTTP/0.9"};

static void rand_bytes(sb_writer *w, size_t n, bool printable) {
    for (size_t i = 0; i < n; i++) {
        uint8_t c = (uint8_t)rnd();
        if (printable) c = (uint8_t)(0x21 + c % 94);
        (void)sb_writer_u8(w, c);
    }
}

static void build_request(sb_writer *w) {
    if (pick(10) == 0) { /* not HTTP at all */
        rand_bytes(w, pick(4096), pick(2));
        return;
    }
    (void)sb_writer_printf(w, "%s ", METHODS[pick(SB_ARRAY_LEN(METHODS))]);
    (void)sb_writer_str(w, PATHS[pick(SB_ARRAY_LEN(PATHS))]);
    if (pick(4) == 0) rand_bytes(w, pick(80), true);
    if (pick(50) == 0) rand_bytes(w, 20000, true); /* an over-long URI */
    (void)sb_writer_printf(w, " %s\r\nHost: sealbox\r\n", VERSIONS[pick(SB_ARRAY_LEN(VERSIONS))]);
    switch (pick(6)) {
    case 0: (void)sb_writer_printf(w, "Authorization: Bearer %s\r\n", key); break;
    case 1:
        (void)sb_writer_printf(w, "Authorization: Bearer %.17s", key);
        rand_bytes(w, 43, true);
        (void)sb_writer_str(w, "\r\n");
        break;
    case 2: (void)sb_writer_str(w, "Authorization: Basic eDp5\r\n"); break;
    case 3: (void)sb_writer_str(w, "Authorization: Bearer\r\n"); break;
    case 4:
        (void)sb_writer_str(w, "Authorization: ");
        rand_bytes(w, pick(300), pick(2));
        (void)sb_writer_str(w, "\r\n");
        break;
    default: break;
    }
    for (size_t h = pick(4); h > 0; h--) {
        rand_bytes(w, 1 + pick(20), true);
        (void)sb_writer_str(w, ": ");
        rand_bytes(w, pick(100), pick(4) != 0);
        (void)sb_writer_str(w, "\r\n");
    }
    size_t blen = pick(3) == 0 ? pick(2000) : 0;
    switch (pick(5)) {
    case 0: (void)sb_writer_printf(w, "Content-Length: %zu\r\n\r\n", blen); break;
    case 1: (void)sb_writer_printf(w, "Content-Length: %zu\r\n\r\n", blen + pick(100)); break;
    case 2: (void)sb_writer_str(w, "Content-Length: -1\r\n\r\n"); break;
    case 3:
        (void)sb_writer_str(w, "Transfer-Encoding: chunked\r\n\r\n");
        (void)sb_writer_printf(w, "%zx\r\n", blen);
        break;
    default: (void)sb_writer_str(w, "\r\n"); break;
    }
    if (pick(2) && blen) {
        (void)sb_writer_str(w, "{\"image\":");
        blen = blen > 9 ? blen - 9 : 0;
    }
    rand_bytes(w, blen, pick(3) != 0);
}

static bool wait_health(void) {
    char buf[4096];
    const char *req = "GET /v1/health HTTP/1.0\r\n\r\n";
    for (int i = 0; i < 200; i++) {
        size_t n = exchange(req, strlen(req), buf, sizeof(buf));
        if (status_of(buf, n) == 200) return true;
        struct timespec ts = {0, 50 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    return false;
}

static bool setup(void) {
    (void)snprintf(state, sizeof(state), "%s/state", sb_test_tmpdir());
    (void)snprintf(sock_path, sizeof(sock_path), "%s/%s", state, SB_SOCKET_FILE);
    sb_error err = {0};
    CHECK_OK(sb_state_dir_prepare(state, &err), &err);
    char db[600];
    (void)snprintf(db, sizeof(db), "%s/%s", state, SB_DB_FILE);
    sb_store *s = NULL;
    CHECK_OK(sb_store_open(db, &s, &err), &err);
    if (!s) return false;
    sb_tenant t;
    CHECK_OK(sb_store_tenant_create(s, "rand", 0, 0, &t, &err), &err);
    uint8_t *secret = NULL;
    CHECK_OK(sb_apikey_secret_load(state, &secret, &err), &err);
    sb_apikey k = {.tenant_id = t.id};
    CHECK_OK(sb_apikey_generate(key, k.id, &err), &err);
    if (secret) CHECK_OK(sb_apikey_hash(secret, key, SB_APIKEY_LEN, k.hash, &err), &err);
    sb_secret_free(secret, SB_APIKEY_SECRET_LEN);
    CHECK_OK(sb_store_key_insert(s, &k, &err), &err);
    sb_sandbox_rec r = {.tenant_id = t.id, .state = SB_SBX_RUNNING, .config_json = (char *)"{}"};
    (void)snprintf(r.id, sizeof(r.id), "sbx_r1");
    CHECK_OK(sb_store_sandbox_insert(s, &r, &err), &err);
    sb_store_close(s);
    const char *build = getenv("SEALBOX_BUILD_DIR");
    char bin[600], logf[600], errf[600];
    (void)snprintf(bin, sizeof(bin), "%s/sealboxd", build ? build : ".");
    (void)snprintf(logf, sizeof(logf), "%s/log", state);
    (void)snprintf(errf, sizeof(errf), "%s/stderr", sb_test_tmpdir());
    daemon_pid = fork();
    if (daemon_pid == 0) {
        int fd = open(errf, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        if (fd >= 0) dup2(fd, 2);
        const char *a = getenv("ASAN_OPTIONS");
        char opts[1024];
        (void)snprintf(opts, sizeof(opts), "%s:detect_leaks=0", a ? a : "");
        setenv("ASAN_OPTIONS", opts, 1);
        execl(bin, "sealboxd", "--state-dir", state, "--log-file", logf, (char *)NULL);
        _exit(127);
    }
    return daemon_pid > 0 && wait_health();
}

/* Well-formed requests with one right answer, sent between the random ones: the daemon must
 * still route, authenticate and answer correctly while it is fed garbage. */
static const struct {
    const char *line; /* request line */
    bool auth;        /* with the tenant's key */
    const char *rest; /* further headers, the blank line and the body */
    int status;
} PROBES[] = {
    {"GET /v1/health HTTP/1.1", false, "Host: sealbox\r\nConnection: close\r\n\r\n", 200},
    {"GET /v1/tenant HTTP/1.0", true, "\r\n", 200},
    {"GET /v1/sandboxes?limit=5 HTTP/1.0", true, "\r\n", 200},
    {"GET /v1/sandboxes/sbx_r1 HTTP/1.0", true, "\r\n", 200},
    {"GET /v1/sandboxes/sbx_nope HTTP/1.0", true, "\r\n", 404},
    {"GET /v1/tenant HTTP/1.0", false, "\r\n", 401},
    {"PATCH /v1/tenant HTTP/1.0", true, "\r\n", 405},
    {"POST /v1/sandboxes HTTP/1.0", true,
     "Content-Type: application/json\r\nContent-Length: 9\r\n\r\n{\"image\":", 400},
};

static void probe(size_t k, int after) {
    char req[512], resp[4096];
    int n = snprintf(req, sizeof(req), "%s\r\n%s%s%s%s", PROBES[k].line,
                     PROBES[k].auth ? "Authorization: Bearer " : "", PROBES[k].auth ? key : "",
                     PROBES[k].auth ? "\r\n" : "", PROBES[k].rest);
    size_t got = exchange(req, (size_t)n, resp, sizeof(resp));
    CHECK_MSG(status_of(resp, got) == PROBES[k].status,
              "probe after request %d: expected %d for:\n%s\ngot:\n%.300s", after, PROBES[k].status,
              req, resp);
}

/* N_REQUESTS random requests from seed, with a probe every PROBE_EVERY. */
static void run_seed(uint64_t seed) {
    rng = seed;
    printf("seed %llu (SB_TEST_SEED to replay)\n", (unsigned long long)rng);
    static char resp[1 << 16];
    unsigned by_class[6] = {0}, closed = 0, probes = 0;
    for (int i = 0; i < N_REQUESTS && !sb_test_failed(); i++) {
        if (i % PROBE_EVERY == 0) probe(probes++ % SB_ARRAY_LEN(PROBES), i - 1);
        sb_writer w;
        sb_writer_init(&w, 1 << 20);
        build_request(&w);
        size_t n = exchange(w.buf ? (const void *)w.buf : "", w.len, resp, sizeof(resp));
        int st = status_of(resp, n);
        if (n == 0) {
            closed++;
        } else {
            CHECK_MSG(st >= 100, "request %d: answer is not HTTP: %.60s", i, resp);
            if (st >= 100) by_class[st / 100]++;
            /* 501 is the right answer to a method token HTTP does not define (RFC 9110 9.1);
             * for the methods it defines, the router answers 405 itself. */
            bool known = false;
            for (size_t k = 0; k < 9 && w.buf; k++) {
                size_t ml = strlen(METHODS[k]);
                if (w.len > ml && memcmp(w.buf, METHODS[k], ml) == 0 && w.buf[ml] == ' ')
                    known = true;
            }
            CHECK_MSG(st < 500 || st == 503 || (st == 501 && !known),
                      "request %d: server error %d for:\n%.300s", i, st,
                      w.buf ? (const char *)w.buf : "");
        }
        sb_writer_free(&w);
        CHECK_MSG(kill(daemon_pid, 0) == 0, "the daemon died at request %d", i);
    }
    printf("answers: 2xx %u, 4xx %u, 5xx %u, closed without answer %u; %u probes answered "
           "right\n",
           by_class[2], by_class[4], by_class[5], closed, probes);
}

TEST(random_requests_never_break_the_daemon) {
    if (!setup()) {
        CHECK_MSG(false, "sealboxd did not start");
        if (daemon_pid > 0) kill(daemon_pid, SIGKILL);
        return;
    }
    const char *seed = getenv("SB_TEST_SEED");
    if (seed) {
        run_seed(strtoull(seed, NULL, 0));
    } else {
        for (size_t i = 0; i < SB_ARRAY_LEN(REGRESSION_SEEDS) && !sb_test_failed(); i++)
            run_seed(REGRESSION_SEEDS[i]);
        if (!sb_test_failed()) run_seed((uint64_t)time(NULL) * 2654435761u + 1);
    }
    /* Still healthy, and the front was never restarted. */
    CHECK(wait_health());
    char req[256], buf[1 << 16];
    (void)snprintf(req, sizeof(req), "GET /metrics HTTP/1.0\r\nAuthorization: Bearer %s\r\n\r\n",
                   key);
    size_t n = exchange(req, strlen(req), buf, sizeof(buf));
    CHECK_INT(status_of(buf, n), 200);
    CHECK_CONTAINS(buf, "sealbox_front_starts_total 1\n");
    CHECK_CONTAINS(buf, "sealbox_front_kills_total 0\n");
    kill(daemon_pid, SIGTERM);
    int ws = 0;
    CHECK_INT(waitpid(daemon_pid, &ws, 0), daemon_pid);
    CHECK(WIFEXITED(ws) && WEXITSTATUS(ws) == 0);
    char errf[600];
    (void)snprintf(errf, sizeof(errf), "%s/stderr", sb_test_tmpdir());
    uint8_t *e = NULL;
    size_t el = 0;
    sb_error err = {0};
    if (sb_read_file(errf, 1 << 20, &e, &el, &err) == 0) {
        CHECK_MSG(!memmem(e, el, "Sanitizer", 9), "sanitizer report:\n%.*s", (int)el, (char *)e);
        free(e);
    }
}
