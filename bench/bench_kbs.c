/* bench_kbs: full KBS handshakes per second (auth + attest + resource, then the JWE opened)
 * against a real `sealboxd --kbs-only` over HTTP on its unix socket, with the software attester,
 * in the same run as the anchors they are compared with:
 *
 *  - the crypto floor: the public-key, key-agreement and AEAD operations one handshake cannot
 *    avoid (listed in the output and in docs/secrets.md), run back to back through the same
 *    src/crypto wrappers on one core, with no HTTP, JSON, IPC or SQLite — for the client's side
 *    and the server's side separately;
 *  - a no-op request of the same server: GET /v1/health over the same kind of connection, which
 *    crosses the front, the IPC to the monitor and back, and does nothing else.
 *
 * Twice: with the five processes free to run on both cores, and with the server (front and
 * monitor) pinned to core 0 and the client threads to core 1, so that each side has one core of
 * its own. It also reports the CPU time each process spent per handshake (client threads,
 * front, monitor), which the load of other processes on the machine does not inflate, and runs
 * once with a new client connection per handshake (what sb_kbs_client_get does) and once with a
 * P-384 attester key (ES384 evidence, key files made before ES256). Goal: >= 1000 handshakes/s. */
#include <curl/curl.h>
#include <dirent.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "attester/attester.h"
#include "bench_util.h"
#include "crypto/crypto.h"
#include "kbs/kbs.h"
#include "store/store.h"

#define SECONDS 2.0
#define NOOP_SECONDS 1.0
#define ROUNDS 3
#define THREADS 4
#define CORES 2
#define FLOOR_NS 500000000ull /* each side of the floor runs for at least 0.5 s */
#define RESOURCE "bench/key/one"

static char SOCK[4300];
static volatile int stop;

static double now_s(void) { return (double)sb_mono_ns() / 1e9; }

static uint64_t thread_cpu_ns(void) {
    struct timespec t;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return (uint64_t)t.tv_sec * 1000000000ull + (uint64_t)t.tv_nsec;
}

static void pin_thread(int cpu) {
    if (cpu < 0) return;
    cpu_set_t s;
    CPU_ZERO(&s);
    CPU_SET(cpu, &s);
    (void)pthread_setaffinity_np(pthread_self(), sizeof(s), &s);
}

/* ---- the crypto floor ------------------------------------------------------------------------ */

/* What one handshake must compute, whatever the implementation: */
static const char *const FLOOR_CLIENT[] = {
    "P-256 key generation (the TEE key)",
    "evidence signature (ES256 with a P-256 attester key, ES384 with P-384)",
    "JWE open: ECDH P-256, Concat KDF (SHA-256), AES-256-KW unwrap, AES-256-GCM open",
};
static const char *const FLOOR_SERVER[] = {
    "evidence signature verification, SHA-384 of the binding (front)",
    "EAR token signature ES256 (monitor, attest)",
    "AES-256-GCM open of the stored resource (monitor)",
    "JWE seal: P-256 ephemeral key generation, ECDH, Concat KDF, AES-256-KW wrap, AES-256-GCM "
    "seal (monitor)",
};

struct floor_keys {
    enum sb_hash ev_hash;
    sb_privkey *ev, *tok, *tee;
    sb_pubkey *ev_pub, *tok_pub, *tee_pub;
    uint8_t master[32];
};

static int jwe_half(const sb_privkey *priv, const sb_pubkey *peer, bool seal, sb_error *err) {
    static const uint8_t OTHER[] = "\0\0\0\x0e"
                                   "ECDH-ES+A256KW\0\0\0\0\0\0\0\0\0\0\x01\0";
    uint8_t *z = NULL, kek[32], cek[32] = {7}, wrapped[40], iv[12] = {0}, tag[16], buf[32];
    size_t zn = 0;
    int r = sb_ecdh(priv, peer, &z, &zn, err);
    if (r == 0) r = sb_concat_kdf(SB_HASH_SHA256, z, zn, OTHER, sizeof(OTHER) - 1, kek, 32, err);
    if (r == 0) r = sb_aes_kw_wrap(kek, 32, cek, 32, wrapped, err);
    if (r == 0 && !seal) r = sb_aes_kw_unwrap(kek, 32, wrapped, 40, cek, err);
    if (r == 0) r = sb_aes256gcm_seal(cek, iv, 12, iv, 12, cek, 32, buf, tag, err);
    if (r == 0 && !seal) r = sb_aes256gcm_open(cek, iv, 12, iv, 12, buf, 32, tag, buf, err);
    free(z);
    return r;
}

static int floor_client(struct floor_keys *k, sb_error *err) {
    uint8_t d[48] = {1}, *sig = NULL;
    size_t sl = 0;
    sb_privkey *tee = NULL;
    int r = sb_privkey_generate_ec(SB_CURVE_P256, &tee, err);
    if (r == 0) r = sb_sign(k->ev, k->ev_hash, d, sizeof(d), SB_ECDSA_RAW_BE, &sig, &sl, err);
    if (r == 0) r = jwe_half(tee, k->tok_pub, false, err); /* any P-256 peer: the same work */
    free(sig);
    sb_privkey_free(tee);
    return r;
}

static int floor_server(struct floor_keys *k, const uint8_t *evsig, size_t evsl, sb_error *err) {
    uint8_t d[48], *sig = NULL, blob[32], tag[16], iv[12] = {0}, out[32];
    size_t sl = 0;
    sb_privkey *eph = NULL;
    int r = sb_hash(SB_HASH_SHA384, "binding", 7, d, err);
    if (r == 0)
        r = sb_ecdsa_verify(k->ev_pub, k->ev_hash, "x", 1, evsig, evsl, SB_ECDSA_RAW_BE, err);
    if (r == 0) r = sb_sign(k->tok, SB_HASH_SHA256, d, sizeof(d), SB_ECDSA_RAW_BE, &sig, &sl, err);
    if (r == 0) r = sb_aes256gcm_seal(k->master, iv, 12, iv, 12, d, 32, blob, tag, err);
    if (r == 0) r = sb_aes256gcm_open(k->master, iv, 12, iv, 12, blob, 32, tag, out, err);
    if (r == 0) r = sb_privkey_generate_ec(SB_CURVE_P256, &eph, err);
    if (r == 0) r = jwe_half(eph, k->tee_pub, true, err);
    free(sig);
    sb_privkey_free(eph);
    return r;
}

struct floor_result {
    double client, server;       /* floor handshakes per second of one side on one core (wall) */
    double client_us, server_us; /* CPU microseconds per handshake of each side */
};

/* Each side back to back for FLOOR_NS on this thread (pinned to cpu_client / cpu_server). */
static int crypto_floor(enum sb_curve curve, int cpu_client, int cpu_server,
                        struct floor_result *fr, sb_error *err) {
    struct floor_keys k = {.ev_hash = curve == SB_CURVE_P256 ? SB_HASH_SHA256 : SB_HASH_SHA384};
    uint8_t *evsig = NULL;
    size_t evsl = 0;
    int r = sb_privkey_generate_ec(curve, &k.ev, err);
    if (r == 0) r = sb_privkey_generate_ec(SB_CURVE_P256, &k.tok, err);
    if (r == 0) r = sb_privkey_generate_ec(SB_CURVE_P256, &k.tee, err);
    if (r == 0) r = sb_privkey_public(k.ev, &k.ev_pub, err);
    if (r == 0) r = sb_privkey_public(k.tok, &k.tok_pub, err);
    if (r == 0) r = sb_privkey_public(k.tee, &k.tee_pub, err);
    if (r == 0) r = sb_random(k.master, sizeof(k.master), err);
    if (r == 0) r = sb_sign(k.ev, k.ev_hash, "x", 1, SB_ECDSA_RAW_BE, &evsig, &evsl, err);
    for (int side = 0; side < 2 && r == 0; side++) {
        pin_thread(side == 0 ? cpu_client : cpu_server);
        unsigned long n = 0;
        uint64_t c0 = thread_cpu_ns(), t0 = sb_mono_ns();
        while (r == 0 && sb_mono_ns() - t0 < FLOOR_NS) {
            r = side == 0 ? floor_client(&k, err) : floor_server(&k, evsig, evsl, err);
            n++;
        }
        double wall = (double)(sb_mono_ns() - t0) / 1e9;
        double cpu_us = (double)(thread_cpu_ns() - c0) / 1e3 / (double)n;
        if (side == 0) {
            fr->client = (double)n / wall;
            fr->client_us = cpu_us;
        } else {
            fr->server = (double)n / wall;
            fr->server_us = cpu_us;
        }
    }
    cpu_set_t all;
    CPU_ZERO(&all);
    for (int i = 0; i < CPU_SETSIZE; i++)
        CPU_SET(i, &all);
    (void)pthread_setaffinity_np(pthread_self(), sizeof(all), &all);
    free(evsig);
    sb_privkey_free(k.ev);
    sb_privkey_free(k.tok);
    sb_privkey_free(k.tee);
    sb_pubkey_free(k.ev_pub);
    sb_pubkey_free(k.tok_pub);
    sb_pubkey_free(k.tee_pub);
    return r;
}

/* ---- the server --------------------------------------------------------------------------- */

struct server {
    pid_t pid;   /* sealboxd: the monitor */
    pid_t front; /* its child */
};

/* The first child of pid (the front), from /proc. */
static pid_t child_of(pid_t pid) {
    DIR *d = opendir("/proc");
    struct dirent *e;
    pid_t found = -1;
    while (d && found < 0 && (e = readdir(d))) {
        char *end = NULL;
        long p = strtol(e->d_name, &end, 10);
        if (!end || *end || p <= 0) continue;
        char path[300], buf[512];
        (void)snprintf(path, sizeof(path), "/proc/%ld/stat", p);
        FILE *f = fopen(path, "r");
        if (!f) continue;
        size_t n = fread(buf, 1, sizeof(buf) - 1, f);
        fclose(f);
        buf[n] = 0;
        const char *rp = strrchr(buf, ')');
        char state;
        long ppid = 0;
        if (rp && sscanf(rp + 1, " %c %ld", &state, &ppid) == 2 && ppid == pid) found = (pid_t)p;
    }
    if (d) closedir(d);
    return found;
}

/* utime + stime of a process, in ns. */
static uint64_t proc_cpu_ns(pid_t pid) {
    char path[64], buf[1024];
    (void)snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
    FILE *f = fopen(path, "r");
    if (!f) return 0;
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = 0;
    const char *rp = strrchr(buf, ')');
    unsigned long long ut = 0, st = 0;
    /* after the comm: state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime
     * stime */
    if (!rp ||
        sscanf(rp + 1, " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &st) != 2)
        return 0;
    return (ut + st) * (1000000000ull / (unsigned long long)sysconf(_SC_CLK_TCK));
}

static uint64_t self_cpu_ns(void) {
    struct rusage ru;
    (void)getrusage(RUSAGE_SELF, &ru);
    return (uint64_t)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000000ull +
           (uint64_t)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) * 1000ull;
}

static void pin_process(pid_t pid, int cpu) {
    cpu_set_t s;
    CPU_ZERO(&s);
    if (cpu < 0)
        for (int i = 0; i < CORES; i++)
            CPU_SET(i, &s);
    else
        CPU_SET(cpu, &s);
    (void)sched_setaffinity(pid, sizeof(s), &s);
}

static int setup(const char *dir, sb_error *err) {
    char path[4300];
    snprintf(path, sizeof(path), "%s/sealbox.db", dir);
    sb_store *st = NULL;
    TRY(sb_store_open(path, &st, err));
    sb_kbs_master m = {0};
    uint8_t value[32];
    int r = sb_kbs_master_load(dir, st, &m, err);
    if (r == 0) r = sb_random(value, sizeof(value), err);
    if (r == 0) r = sb_kbs_resource_put(st, &m, RESOURCE, value, sizeof(value), err);
    if (r == 0)
        r = sb_store_kbs_policy_put(st, "attestation",
                                    "{\"platforms\":[\"software\"],\"allow_insecure\":true}", err);
    if (r == 0)
        r = sb_store_kbs_policy_put(
            st, "resource", "{\"rules\":[{\"resources\":[\"bench/*/*\"],\"allow_insecure\":true}]}",
            err);
    sb_kbs_master_clear(&m);
    sb_store_close(st);
    return r;
}

/* The software attester's key file of that curve (a P-384 one as a key made before was). */
static int write_key(const char *path, enum sb_curve curve, sb_error *err) {
    sb_privkey *k = NULL;
    char *pem = NULL;
    TRY(sb_privkey_generate_ec(curve, &k, err));
    int r = sb_privkey_to_pem(k, &pem, err);
    if (r == 0) r = sb_write_file_atomic(path, pem, strlen(pem), 0600, err);
    free(pem);
    sb_privkey_free(k);
    return r;
}

/* ---- the clients ----------------------------------------------------------------------------- */

enum mode {
    M_HANDSHAKE,       /* one connection per client thread, kept alive across handshakes */
    M_HANDSHAKE_FRESH, /* sb_kbs_client_get: a new connection per handshake */
    M_NOOP,            /* GET /v1/health on a kept-alive connection */
};

struct worker {
    pthread_t t;
    sb_attester *att;
    enum mode mode;
    int cpu;
    unsigned long done, failed;
    char why[SB_ERRMSG_MAX];
};

static int evidence(void *arg, const json_t *rd, json_t **ev, sb_error *err) {
    return sb_attester_evidence(arg, rd, ev, err);
}

static size_t discard(char *p, size_t size, size_t nmemb, void *arg) {
    (void)p;
    (void)arg;
    return size * nmemb;
}

static void noop_loop(struct worker *w) {
    CURL *c = curl_easy_init();
    if (!c) {
        w->failed++;
        snprintf(w->why, sizeof(w->why), "curl_easy_init failed");
        return;
    }
    (void)curl_easy_setopt(c, CURLOPT_URL, "http://kbs/v1/health");
    (void)curl_easy_setopt(c, CURLOPT_UNIX_SOCKET_PATH, SOCK);
    (void)curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard);
    (void)curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    while (!stop) {
        long status = 0;
        CURLcode rc = curl_easy_perform(c);
        (void)curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
        if (rc == CURLE_OK && status == 200) {
            w->done++;
        } else {
            w->failed++;
            snprintf(w->why, sizeof(w->why), "GET /v1/health: %s, status %ld",
                     curl_easy_strerror(rc), status);
        }
    }
    curl_easy_cleanup(c);
}

static void *run(void *arg) {
    struct worker *w = arg;
    pin_thread(w->cpu);
    if (w->mode == M_NOOP) {
        noop_loop(w);
        return NULL;
    }
    struct sb_kbs_client_opts o = {.url = "http://kbs",
                                   .unix_socket = SOCK,
                                   .tee = sb_attester_tee(w->att),
                                   .evidence = evidence,
                                   .evidence_arg = w->att};
    sb_kbs_http *h = NULL;
    struct sb_kbs_transport tr;
    sb_error e0 = {0};
    if (w->mode == M_HANDSHAKE) {
        if (sb_kbs_http_new(&o, &h, &e0) < 0) {
            w->failed++;
            snprintf(w->why, sizeof(w->why), "%s", e0.msg);
            return NULL;
        }
        sb_kbs_http_transport(h, &tr);
    }
    while (!stop) {
        uint8_t *v = NULL;
        size_t n = 0;
        sb_error err = {0};
        int r = w->mode == M_HANDSHAKE ? sb_kbs_client_run(&o, &tr, RESOURCE, &v, &n, &err)
                                       : sb_kbs_client_get(&o, RESOURCE, &v, &n, &err);
        if (r == 0 && n == 32) {
            w->done++;
        } else {
            w->failed++;
            snprintf(w->why, sizeof(w->why), "%s", err.msg);
        }
        free(v);
    }
    sb_kbs_http_free(h);
    return NULL;
}

struct phase {
    double rate;         /* per second */
    unsigned long total; /* done */
    double seconds;      /* elapsed */
    double us_client;    /* CPU microseconds per operation: the client threads */
    double us_front;     /* the front */
    double us_monitor;   /* the monitor */
};

/* THREADS clients in mode for secs (pinned to client_cpu when >= 0). */
static int run_phase(const char *dir, const struct server *srv, enum sb_curve curve, enum mode mode,
                     int client_cpu, double secs, struct phase *ph, sb_error *err) {
    struct worker w[THREADS];
    memset(w, 0, sizeof(w));
    int rc = 0;
    for (int i = 0; i < THREADS && rc == 0; i++) {
        w[i].mode = mode;
        w[i].cpu = client_cpu;
        if (mode == M_NOOP) continue;
        char kp[4400];
        snprintf(kp, sizeof(kp), "%s/attester-%s-%d.pem", dir,
                 curve == SB_CURVE_P256 ? "p256" : "p384", i);
        struct stat st;
        if (stat(kp, &st) < 0) rc = write_key(kp, curve, err);
        if (rc == 0) rc = sb_attester_open_software(kp, &w[i].att, err);
    }
    stop = 0;
    uint64_t c_self = self_cpu_ns(), c_front = proc_cpu_ns(srv->front),
             c_mon = proc_cpu_ns(srv->pid);
    double t0 = now_s();
    int started = 0;
    for (int i = 0; i < THREADS && rc == 0; i++, started++)
        pthread_create(&w[i].t, NULL, run, &w[i]);
    if (rc == 0) usleep((useconds_t)(secs * 1e6));
    stop = 1;
    unsigned long done = 0, failed = 0;
    const char *why = "";
    for (int i = 0; i < THREADS; i++) {
        if (i < started) pthread_join(w[i].t, NULL);
        done += w[i].done;
        failed += w[i].failed;
        if (w[i].why[0]) why = w[i].why;
    }
    double el = now_s() - t0;
    uint64_t d_self = self_cpu_ns() - c_self, d_front = proc_cpu_ns(srv->front) - c_front,
             d_mon = proc_cpu_ns(srv->pid) - c_mon;
    for (int i = 0; i < THREADS; i++)
        sb_attester_free(w[i].att);
    if (rc < 0) return -1;
    if (failed || !done) {
        (void)sb_error_set(err, SB_E_IO, "%lu of %lu requests failed: %s", failed, failed + done,
                           why);
        return -1;
    }
    ph->total = done;
    ph->seconds = el;
    ph->rate = (double)done / el;
    ph->us_client = (double)d_self / 1e3 / (double)done;
    ph->us_front = (double)d_front / 1e3 / (double)done;
    ph->us_monitor = (double)d_mon / 1e3 / (double)done;
    return 0;
}

static int start_server(const char *bin, const char *dir, struct server *srv) {
    char sbd[4200], log[4300];
    snprintf(sbd, sizeof(sbd), "%s/sealboxd", bin);
    snprintf(log, sizeof(log), "%s/log", dir);
    pid_t pid = fork();
    if (pid < 0) return -1;
    if (pid == 0) {
        execl(sbd, "sealboxd", "--kbs-only", "--state-dir", dir, "--log-file", log, "--log-level",
              "warn", (char *)NULL);
        _exit(127);
    }
    srv->pid = pid;
    struct stat st;
    for (int i = 0; i < 200 && stat(SOCK, &st) < 0; i++)
        usleep(50000);
    srv->front = -1;
    for (int i = 0; i < 200 && (srv->front = child_of(pid)) < 0; i++)
        usleep(50000);
    return srv->front > 0 ? 0 : -1;
}

/* One round of a configuration: the floor, then the handshakes, then the no-op requests, next
 * to each other so that all three see the same load. */
struct round {
    struct floor_result fl;
    struct phase hs, noop, fresh; /* fresh: a new connection per handshake (free rounds) */
    double floor;                 /* handshakes/s the floor allows in this configuration */
    double ratio;                 /* hs.rate / floor */
    double noop_ratio;            /* hs.rate / noop.rate */
};

static int run_round(const char *dir, const struct server *srv, enum sb_curve curve, bool pinned,
                     bool with_noop, struct round *r, sb_error *err) {
    memset(r, 0, sizeof(*r));
    TRY(crypto_floor(curve, pinned ? 1 : -1, pinned ? 0 : -1, &r->fl, err));
    /* Free: both sides share the two cores. Pinned: each side has one core of its own, and the
     * slower side bounds. */
    r->floor = pinned ? (r->fl.client < r->fl.server ? r->fl.client : r->fl.server)
                      : CORES / (1.0 / r->fl.client + 1.0 / r->fl.server);
    TRY(run_phase(dir, srv, curve, M_HANDSHAKE, pinned ? 1 : -1, SECONDS, &r->hs, err));
    if (with_noop)
        TRY(run_phase(dir, srv, curve, M_NOOP, pinned ? 1 : -1, NOOP_SECONDS, &r->noop, err));
    if (with_noop && !pinned)
        TRY(run_phase(dir, srv, curve, M_HANDSHAKE_FRESH, -1, NOOP_SECONDS, &r->fresh, err));
    r->ratio = r->hs.rate / r->floor;
    r->noop_ratio = with_noop ? r->hs.rate / r->noop.rate : 0;
    return 0;
}

#define PICK(rs, n, field, out)             \
    do {                                    \
        for (size_t i_ = 0; i_ < (n); i_++) \
            (out)[i_] = (rs)[i_].field;     \
    } while (0)

static void report(const char *title, const struct round *rs, size_t n, bool with_noop,
                   bool pinned) {
    double v[BENCH_ROUNDS_MAX], a[BENCH_ROUNDS_MAX], c[BENCH_ROUNDS_MAX], f[BENCH_ROUNDS_MAX],
        m[BENCH_ROUNDS_MAX];
    printf("%s (%zu alternating rounds; median, min-max):\n", title, n);
    PICK(rs, n, floor, v);
    PICK(rs, n, fl.client, a);
    PICK(rs, n, fl.server, c);
    printf("  crypto floor:      %.0f handshakes/s (%.0f-%.0f); client side %.0f/s, server side "
           "%.0f/s on one core\n",
           bench_median(v, n), bench_min(v, n), bench_max(v, n), bench_median(a, n),
           bench_median(c, n));
    PICK(rs, n, hs.rate, v);
    printf("  full handshakes:   %.0f/s (%.0f-%.0f; goal >= 1000)\n", bench_median(v, n),
           bench_min(v, n), bench_max(v, n));
    PICK(rs, n, ratio, v);
    printf("  ratio to the floor: %.2f (%.2f-%.2f)\n", bench_median(v, n), bench_min(v, n),
           bench_max(v, n));
    if (with_noop) {
        PICK(rs, n, noop.rate, v);
        PICK(rs, n, noop_ratio, a);
        printf("  no-op requests:    %.0f/s (%.0f-%.0f); handshakes per no-op request %.3f "
               "(%.3f-%.3f; a handshake makes 3 requests)\n",
               bench_median(v, n), bench_min(v, n), bench_max(v, n), bench_median(a, n),
               bench_min(a, n), bench_max(a, n));
    }
    PICK(rs, n, fl.client_us, a);
    PICK(rs, n, fl.server_us, c);
    printf("  CPU per handshake, floor: client %.0f us, server %.0f us\n", bench_median(a, n),
           bench_median(c, n));
    PICK(rs, n, hs.us_client, a);
    PICK(rs, n, hs.us_front, f);
    PICK(rs, n, hs.us_monitor, m);
    for (size_t i = 0; i < n; i++)
        v[i] = a[i] + f[i] + m[i];
    printf("  CPU per handshake, measured: client %.0f us, front %.0f us, monitor %.0f us (total "
           "%.0f us)\n",
           bench_median(a, n), bench_median(f, n), bench_median(m, n), bench_median(v, n));
    if (with_noop && !pinned) {
        PICK(rs, n, fresh.rate, v);
        printf("  a new connection per handshake (sb_kbs_client_get): %.0f/s (%.0f-%.0f)\n",
               bench_median(v, n), bench_min(v, n), bench_max(v, n));
    }
    double uc = bench_median(a, n), uf = bench_median(f, n), um = bench_median(m, n);
    if (pinned) {
        double server = 1e6 / (uf + um), client = 1e6 / uc;
        printf("  CPU-bound estimate for an idle machine (not a measurement): %.0f handshakes/s "
               "(server side on core 0 %.0f/s, client side on core 1 %.0f/s)\n",
               server < client ? server : client, server, client);
    } else {
        printf("  CPU-bound estimate for an idle machine (not a measurement): %.0f handshakes/s "
               "with the clients on the same %d cores; %.0f/s for the server alone (front and "
               "monitor are one thread each)\n",
               CORES * 1e6 / (uc + uf + um), CORES, 1e6 / (uf > um ? uf : um));
    }
    if (with_noop) {
        PICK(rs, n, noop.us_client, a);
        PICK(rs, n, noop.us_front, f);
        PICK(rs, n, noop.us_monitor, m);
        printf("  CPU per no-op request: client %.0f us, front %.0f us, monitor %.0f us\n",
               bench_median(a, n), bench_median(f, n), bench_median(m, n));
    }
}

int main(int argc, char **argv) {
    (void)argc;
    char bin[4096], dir[] = "/tmp/sealbox-bench-kbs.XXXXXX";
    snprintf(bin, sizeof(bin), "%s", argv[0]);
    char *slash = strrchr(bin, '/');
    if (slash)
        *slash = 0;
    else
        snprintf(bin, sizeof(bin), ".");
    if (!mkdtemp(dir)) return 1;
    snprintf(SOCK, sizeof(SOCK), "%s/sealboxd.sock", dir);
    sb_error err = {0};
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != 0 || setup(dir, &err) < 0) {
        fprintf(stderr, "bench_kbs: %s\n", err.msg[0] ? err.msg : "curl_global_init failed");
        return 1;
    }
    struct server srv = {0};
    int rc = start_server(bin, dir, &srv) < 0 ? 1 : 0;
    if (rc) (void)sb_error_set(&err, SB_E_IO, "sealboxd did not start");
    struct round free_r[ROUNDS], pin_r[ROUNDS], p384[1];
    /* free and pinned rounds alternate, so that both see the same stretch of load */
    for (int i = 0; i < ROUNDS && rc == 0; i++) {
        pin_process(srv.pid, -1);
        pin_process(srv.front, -1);
        if (run_round(dir, &srv, SB_CURVE_P256, false, true, &free_r[i], &err) < 0) rc = 1;
        pin_process(srv.pid, 0);
        pin_process(srv.front, 0);
        if (rc == 0 && run_round(dir, &srv, SB_CURVE_P256, true, true, &pin_r[i], &err) < 0) rc = 1;
    }
    if (rc == 0) {
        pin_process(srv.pid, -1);
        pin_process(srv.front, -1);
        if (run_round(dir, &srv, SB_CURVE_P384, false, false, &p384[0], &err) < 0) rc = 1;
    }
    if (srv.pid > 0) {
        kill(srv.pid, SIGTERM);
        waitpid(srv.pid, NULL, 0);
    }
    char rm[4200];
    snprintf(rm, sizeof(rm), "rm -rf '%s'", dir);
    if (system(rm) != 0) rc = 1;
    curl_global_cleanup();
    if (rc != 0) {
        fprintf(stderr, "bench_kbs: %s\n", err.msg);
        return 1;
    }
    printf("the crypto floor of one handshake (src/crypto wrappers, no HTTP/JSON/IPC/SQLite):\n");
    printf("  client side:\n");
    for (size_t i = 0; i < SB_ARRAY_LEN(FLOOR_CLIENT); i++)
        printf("    - %s\n", FLOOR_CLIENT[i]);
    printf("  server side:\n");
    for (size_t i = 0; i < SB_ARRAY_LEN(FLOOR_SERVER); i++)
        printf("    - %s\n", FLOOR_SERVER[i]);
    printf("  not in it: the token's signature check at resource time (the monitor remembers "
           "the tokens it signed; a token it does not remember costs one ES256 verification "
           "more)\n");
    printf("the no-op request: GET /v1/health (HTTP parsed by the front, one IPC round trip to the "
           "monitor, which counts sandboxes in SQLite)\n");
    printf("%d client threads, one kept-alive HTTP/1.1 connection each, over the unix socket\n",
           THREADS);
    report("software evidence, P-256 attester key (ES256); all processes on both cores", free_r,
           ROUNDS, true, false);
    report("the same with the server (front + monitor) pinned to core 0, the clients to core 1",
           pin_r, ROUNDS, true, true);
    report("software evidence, P-384 attester key (ES384, key files made before); both cores", p384,
           1, false, false);
    return 0;
}
