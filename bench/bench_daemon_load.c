/* bench_daemon_load: sealboxd under load over its unix socket — C concurrent clients share
 * N mixed operations (create, exec, upload, download, delete; issue 5: 100 clients x 2000
 * operations), each client a keep-alive libcurl connection in its own thread. Prints the errors
 * (the goal is none), p50/p99 per operation, the throughput, and the anchor measured in the same
 * run: `sealbox run -- /bin/true` alone, to which exec and create are compared as ratios.
 * usage: bench_daemon_load [CLIENTS [OPERATIONS]]   (BENCH_POOL: warm pool size, default 8)
 * Needs root for jail sandboxes; skips otherwise. Warm-pool create on an idle daemon and
 * API create+exec next to `sealbox run` are bench_daemon.sh's figures. */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "api/api.h"
#include "bench_util.h"
#include "client/client.h"
#include "store/store.h"

#define CLIENTS_MAX 512
#define OPS_MAX 200000
#define FILE_BYTES 4096 /* each upload */

enum op { OP_CREATE, OP_EXEC, OP_PUT, OP_GET, OP_DELETE, OP_N };
static const char *const OP_NAMES[OP_N] = {"create", "exec", "upload", "download", "delete"};
/* One cycle per sandbox: create, exec, upload, download, delete. */
static const enum op CYCLE[] = {OP_CREATE, OP_EXEC, OP_PUT, OP_GET, OP_DELETE};

static char sock_path[PATH_MAX], key[SB_APIKEY_LEN + 1];
static uint8_t file_body[FILE_BYTES];

struct worker {
    pthread_t th;
    sb_client *c;
    unsigned ops; /* operations this client does */
    uint64_t *lat[OP_N];
    size_t nlat[OP_N];
    unsigned errors;
    char first_error[256];
};

static atomic_uint go;

static void note_error(struct worker *w, const char *what, const sb_client_resp *rs,
                       const sb_error *e) {
    if (w->errors++ == 0) {
        char d[160] = "";
        if (rs && rs->status) sb_client_problem(rs, d, sizeof(d));
        (void)snprintf(w->first_error, sizeof(w->first_error), "%.40s: %ld %.160s", what,
                       rs ? rs->status : 0, rs && rs->status ? d : (e ? e->msg : ""));
    }
}

/* One request; its latency goes to op when the status is the expected one. */
static bool call(struct worker *w, enum op op, const sb_client_req *rq, long want,
                 sb_client_resp *rs) {
    sb_error e = {0};
    memset(rs, 0, sizeof(*rs));
    uint64_t t0 = sb_mono_ns();
    int rc = sb_client_do(w->c, rq, rs, &e);
    uint64_t dt = sb_mono_ns() - t0;
    if (rc < 0 || rs->status != want) {
        note_error(w, OP_NAMES[op], rc < 0 ? NULL : rs, &e);
        return false;
    }
    w->lat[op][w->nlat[op]++] = dt;
    return true;
}

static void *work(void *arg) {
    struct worker *w = arg;
    while (!atomic_load(&go))
        sched_yield();
    char id[SB_IPC_ID_MAX + 1] = "", path[160];
    for (unsigned i = 0; i < w->ops; i++) {
        enum op op = CYCLE[i % SB_ARRAY_LEN(CYCLE)];
        if (op != OP_CREATE && !id[0]) continue; /* its create failed: counted already */
        sb_client_resp rs;
        sb_client_req rq = {0};
        bool ok = false;
        switch (op) {
        case OP_CREATE:
            rq = (sb_client_req){.method = "POST", .path = "/v1/sandboxes"};
            ok = call(w, op, &rq, 201, &rs);
            id[0] = '\0';
            if (ok) {
                json_t *j = json_loadb((const char *)rs.body.buf, rs.body.len, 0, NULL);
                const char *s = json_string_value(json_object_get(j, "id"));
                if (s && strlen(s) < sizeof(id)) memcpy(id, s, strlen(s) + 1);
                json_decref(j);
            }
            break;
        case OP_EXEC: {
            static const char body[] = "{\"cmd\":\"sh\",\"args\":[\"-c\",\"echo ok\"]}";
            (void)snprintf(path, sizeof(path), "/v1/sandboxes/%s/exec", id);
            rq = (sb_client_req){.method = "POST",
                                 .path = path,
                                 .ctype = "application/json",
                                 .body = body,
                                 .body_len = sizeof(body) - 1};
            ok = call(w, op, &rq, 200, &rs);
            if (ok && !strstr((const char *)rs.body.buf, "\"exit_code\":0"))
                note_error(w, "exec (exit status)", &rs, NULL);
            break;
        }
        case OP_PUT:
            (void)snprintf(path, sizeof(path), "/v1/sandboxes/%s/files?path=/tmp/bench", id);
            rq = (sb_client_req){.method = "PUT",
                                 .path = path,
                                 .ctype = "application/octet-stream",
                                 .body = file_body,
                                 .body_len = sizeof(file_body)};
            ok = call(w, op, &rq, 201, &rs);
            break;
        case OP_GET:
            (void)snprintf(path, sizeof(path), "/v1/sandboxes/%s/files?path=/tmp/bench", id);
            rq = (sb_client_req){.method = "GET", .path = path, .accept = "*/*"};
            ok = call(w, op, &rq, 200, &rs);
            if (ok && (rs.body.len != sizeof(file_body) ||
                       memcmp(rs.body.buf, file_body, sizeof(file_body)) != 0))
                note_error(w, "download (content)", &rs, NULL);
            break;
        case OP_DELETE:
            (void)snprintf(path, sizeof(path), "/v1/sandboxes/%s", id);
            rq = (sb_client_req){.method = "DELETE", .path = path};
            ok = call(w, op, &rq, 204, &rs);
            id[0] = '\0';
            break;
        default: break;
        }
        sb_client_resp_free(&rs);
    }
    if (id[0]) { /* the last cycle was cut short: leave nothing behind */
        (void)snprintf(path, sizeof(path), "/v1/sandboxes/%s", id);
        sb_client_req rq = {.method = "DELETE", .path = path};
        sb_client_resp rs;
        (void)call(w, OP_DELETE, &rq, 204, &rs);
        sb_client_resp_free(&rs);
    }
    return NULL;
}

static double ms(uint64_t ns) { return (double)ns / 1e6; }

/* p50 of `sealbox run -- /bin/true`, n times (ns). */
static uint64_t run_anchor(const char *sealbox, unsigned n) {
    uint64_t v[BENCH_ROUNDS_MAX];
    if (n > BENCH_ROUNDS_MAX) n = BENCH_ROUNDS_MAX;
    for (unsigned i = 0; i < n; i++) {
        uint64_t t0 = sb_mono_ns();
        pid_t p = fork();
        if (p == 0) {
            int fd = open("/dev/null", O_WRONLY);
            if (fd >= 0) dup2(fd, 1);
            execl(sealbox, "sealbox", "run", "--", "/bin/true", (char *)NULL);
            _exit(127);
        }
        int ws = 0;
        if (p < 0 || waitpid(p, &ws, 0) != p || !WIFEXITED(ws) || WEXITSTATUS(ws) != 0) return 0;
        v[i] = sb_mono_ns() - t0;
    }
    return bench_pct_u64(v, n, 50);
}

static bool make_tenant(const char *state) {
    sb_error err = {0};
    char db[PATH_MAX + 16];
    (void)snprintf(db, sizeof(db), "%s/%s", state, SB_DB_FILE);
    sb_store *s = NULL;
    sb_tenant t;
    uint8_t *secret = NULL;
    sb_apikey k = {0};
    bool ok = sb_state_dir_prepare(state, &err) == 0 && sb_store_open(db, &s, &err) == 0 &&
              sb_store_tenant_create(s, "bench", 0, 0, &t, &err) == 0 &&
              sb_apikey_secret_load(state, &secret, &err) == 0 && secret &&
              sb_apikey_generate(key, k.id, &err) == 0;
    if (ok) {
        k.tenant_id = t.id;
        ok = sb_apikey_hash(secret, key, SB_APIKEY_LEN, k.hash, &err) == 0 &&
             sb_store_key_insert(s, &k, &err) == 0;
    }
    if (secret) sb_secret_free(secret, SB_APIKEY_SECRET_LEN);
    if (s) sb_store_close(s);
    if (!ok) fprintf(stderr, "bench_daemon_load: %s\n", err.msg);
    return ok;
}

/* Waits until /v1/health answers 200 and the warm pool holds pool sandboxes. */
static bool wait_ready(sb_client *c, unsigned pool) {
    char want[64];
    (void)snprintf(want, sizeof(want), "sealbox_warm_pool{kind=\"ready\"} %u\n", pool);
    for (int i = 0; i < 1200; i++) {
        sb_client_req rq = {.method = "GET", .path = "/metrics", .accept = "*/*"};
        sb_client_resp rs = {0};
        sb_error e = {0};
        bool ok = sb_client_do(c, &rq, &rs, &e) == 0 && rs.status == 200 && rs.body.buf &&
                  strstr((const char *)rs.body.buf, want);
        sb_client_resp_free(&rs);
        if (ok) return true;
        struct timespec ts = {0, 50 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    return false;
}

int main(int argc, char **argv) {
    unsigned nclients = argc > 1 ? (unsigned)strtoul(argv[1], NULL, 10) : 100;
    unsigned nops = argc > 2 ? (unsigned)strtoul(argv[2], NULL, 10) : 2000;
    const char *pe = getenv("BENCH_POOL");
    unsigned pool = pe ? (unsigned)strtoul(pe, NULL, 10) : 8;
    if (!nclients || nclients > CLIENTS_MAX || nops < nclients || nops > OPS_MAX || pool > 64) {
        fprintf(stderr, "usage: bench_daemon_load [CLIENTS (1-%u) [OPERATIONS (CLIENTS-%u)]]\n",
                CLIENTS_MAX, OPS_MAX);
        return 2;
    }
    char self[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
    if (n <= 0) return 1;
    self[n] = 0;
    *strrchr(self, '/') = 0;
    char sealbox[PATH_MAX + 16], sealboxd[PATH_MAX + 16];
    (void)snprintf(sealbox, sizeof(sealbox), "%s/sealbox", self);
    (void)snprintf(sealboxd, sizeof(sealboxd), "%s/sealboxd", self);
    signal(SIGPIPE, SIG_IGN);
    uint64_t anchor = geteuid() == 0 ? run_anchor(sealbox, 5) : 0;
    if (!anchor) {
        printf("bench_daemon_load: skipped (jail sandboxes need root)\n");
        return 0;
    }
    char tmpl[] = "/tmp/sealbox-benchload.XXXXXX";
    char *dir = mkdtemp(tmpl);
    if (!dir || !make_tenant(dir)) return 1;
    (void)snprintf(sock_path, sizeof(sock_path), "%s/%s", dir, SB_SOCKET_FILE);
    char logf[PATH_MAX], pools[16];
    (void)snprintf(logf, sizeof(logf), "%s/log", dir);
    (void)snprintf(pools, sizeof(pools), "%u", pool);
    pid_t d = fork();
    if (d == 0) {
        execl(sealboxd, "sealboxd", "--state-dir", dir, "--log-file", logf, "--warm-pool", pools,
              (char *)NULL);
        _exit(127);
    }
    if (d < 0) return 1;
    for (size_t i = 0; i < sizeof(file_body); i++)
        file_body[i] = (uint8_t)(i * 131 + 7);
    static struct worker w[CLIENTS_MAX];
    sb_error err = {0};
    sb_client_cfg cc = {.socket_path = sock_path, .key = key};
    int rc = 0;
    for (unsigned i = 0; i < nclients && rc == 0; i++) {
        w[i].ops = nops / nclients + (i < nops % nclients);
        rc = sb_client_new(&cc, &w[i].c, &err);
        for (int o = 0; o < OP_N && rc == 0; o++)
            if (!(w[i].lat[o] = calloc(w[i].ops + 1, sizeof(uint64_t)))) rc = -1;
    }
    if (rc == 0 && !wait_ready(w[0].c, pool)) {
        fprintf(stderr, "bench_daemon_load: sealboxd did not come up with its warm pool\n");
        rc = -1;
    }
    uint64_t t0 = 0, wall = 0;
    if (rc == 0) {
        for (unsigned i = 0; i < nclients; i++)
            if (pthread_create(&w[i].th, NULL, work, &w[i]) != 0) {
                fprintf(stderr, "bench_daemon_load: cannot start client %u\n", i);
                exit(1);
            }
        t0 = sb_mono_ns();
        atomic_store(&go, 1);
        for (unsigned i = 0; i < nclients; i++)
            pthread_join(w[i].th, NULL);
        wall = sb_mono_ns() - t0;
    }
    kill(d, SIGTERM);
    int ws = 0;
    (void)waitpid(d, &ws, 0);
    if (rc != 0) return 1;
    unsigned errors = 0, done = 0;
    const char *first = NULL;
    for (unsigned i = 0; i < nclients; i++) {
        errors += w[i].errors;
        if (w[i].errors && !first) first = w[i].first_error;
        for (int o = 0; o < OP_N; o++)
            done += (unsigned)w[i].nlat[o];
    }
    printf("sealboxd, %u concurrent clients x %u mixed operations over the unix socket "
           "(warm pool %u):\n",
           nclients, nops, pool);
    printf("  errors: %u%s%s\n", errors, first ? "; first: " : " (goal: 0)", first ? first : "");
    double p50[OP_N] = {0};
    for (int o = 0; o < OP_N; o++) {
        size_t tot = 0;
        for (unsigned i = 0; i < nclients; i++)
            tot += w[i].nlat[o];
        if (!tot) continue;
        uint64_t *all = malloc(tot * sizeof(uint64_t));
        if (!all) return 1;
        size_t k = 0;
        for (unsigned i = 0; i < nclients; i++) {
            memcpy(all + k, w[i].lat[o], w[i].nlat[o] * sizeof(uint64_t));
            k += w[i].nlat[o];
        }
        uint64_t a = bench_pct_u64(all, tot, 50), b = bench_pct_u64(all, tot, 99);
        p50[o] = ms(a);
        printf("  %-9s n=%-5zu p50 %8.2f ms   p99 %8.2f ms\n", OP_NAMES[o], tot, ms(a), ms(b));
        free(all);
    }
    printf("  throughput: %.0f operations/s (%u in %.2f s)\n", (double)done * 1e9 / (double)wall,
           done, (double)wall / 1e9);
    printf("  anchor, same run: sealbox run -- /bin/true alone, p50 %.2f ms; under load: "
           "create p50 / run %.2f, exec p50 / run %.2f\n",
           ms(anchor), p50[OP_CREATE] / ms(anchor), p50[OP_EXEC] / ms(anchor));
    for (unsigned i = 0; i < nclients; i++) {
        sb_client_free(w[i].c);
        for (int o = 0; o < OP_N; o++)
            free(w[i].lat[o]);
    }
    char cmd[PATH_MAX + 16];
    (void)snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    if (system(cmd) != 0) return 1;
    return errors ? 1 : 0;
}
