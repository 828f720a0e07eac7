/* test_gw_holder: jail servers launched from a multi-threaded process. The gateway's launcher
 * forks a holder for each jail server while other threads of the gateway (the audit writer,
 * remote bridges; sealboxd's relay workers) allocate, hash and write: a lock one of them held at
 * fork stays held in the child forever. A holder that did its work in the forked child (as it
 * once did) could hang (test_gateway_mcp timed out 2 runs in 7 under load); the child now only
 * moves descriptors and execs a fresh holder.
 *  - a lock held at fork, deterministically: under ASan, malloc/free hooks make every
 *    allocation of a forked child take a mutex another thread of the test holds throughout the
 *    launches (what an allocator, stdio or OpenSSL lock held at that instant does to a child).
 *    The old holder hung on its first allocation; the new child allocates nothing before exec.
 *  - a stress: threads hammer the allocator, stdio, OpenSSL and the locale while servers start
 *    one after another; each must report "ok", echo a line and end.
 * Needs root. */
#include <errno.h>
#include <fcntl.h>
#include <locale.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "crypto/crypto.h"
#include "gateway/gateway.h"
#include "harness.h"

#define LAUNCHES 20     /* the stress */
#define HELD_LAUNCHES 5 /* with the lock held */
#define HAMMERS 4
#define HANG_MS 60000 /* not a speed bound: only a holder that never answers fails */

static atomic_bool stop;

static void *hammer(void *arg) {
    unsigned seed = (unsigned)(uintptr_t)arg;
    FILE *f = fopen("/dev/null", "w");
    void *keep[64] = {0};
    uint64_t n = 0;
    while (!atomic_load(&stop)) {
        /* the allocator: mostly large blocks, whose allocation and release (and, under ASan,
         * the quarantine's recycling) take process-wide locks */
        for (int i = 0; i < 32; i++) {
            size_t k = rand_r(&seed) % 64;
            free(keep[k]);
            keep[k] =
                malloc(rand_r(&seed) % 4 ? (size_t)1 << 20 : 1 + (size_t)(rand_r(&seed) % 256));
            if (keep[k]) memset(keep[k], (int)k, 1);
        }
        /* stdio: the stream's lock held across many writes */
        if (f && n % 8 == 0) {
            flockfile(f);
            for (int i = 0; i < 64; i++)
                fprintf(f, "%llu %s\n", (unsigned long long)n, "padding padding padding");
            funlockfile(f);
        }
        /* OpenSSL: digests fetch their implementation under its store's locks */
        uint8_t d[SB_HASH_MAX_LEN];
        sb_error e = {0};
        (void)!sb_hash((enum sb_hash)(n % SB_HASH_MAX), keep, sizeof(keep), d, &e);
        /* the locale and strerror's message catalogue */
        if (n % 16 == 0) (void)!strerror((int)(n % 120));
        char tbuf[64];
        time_t t = (time_t)n;
        struct tm tm;
        if (localtime_r(&t, &tm)) (void)strftime(tbuf, sizeof(tbuf), "%Y-%m-%d %H:%M:%S", &tm);
        n++;
    }
    for (size_t i = 0; i < 64; i++)
        free(keep[i]);
    if (f) fclose(f);
    return NULL;
}

static bool read_line(int fd, char *buf, size_t cap, int ms) {
    size_t len = 0;
    uint64_t end = sb_mono_ns() + (uint64_t)ms * 1000000u;
    while (len + 1 < cap && sb_mono_ns() < end) {
        struct pollfd p = {fd, POLLIN, 0};
        if (poll(&p, 1, 100) <= 0) continue;
        ssize_t k = read(fd, buf + len, cap - 1 - len);
        if (k < 0 && (errno == EAGAIN || errno == EINTR)) continue;
        if (k <= 0) break;
        len += (size_t)k;
        if (memchr(buf, '\n', len)) {
            buf[len] = 0;
            return true;
        }
    }
    buf[len] = 0;
    return false;
}

/* ASan's hooks (sanitizer/allocator_interface.h): called on every allocation and release. */
int __sanitizer_install_malloc_and_free_hooks(void (*m)(const volatile void *, size_t),
                                              void (*f)(const volatile void *))
    __attribute__((weak));

static pid_t test_pid;
static pthread_mutex_t held = PTHREAD_MUTEX_INITIALIZER;

/* In a forked child only: take the lock another thread held when the child was forked. */
static void take_held(void) {
    if (getpid() == test_pid) return;
    pthread_mutex_lock(&held);
    pthread_mutex_unlock(&held);
}
static void on_malloc(const volatile void *p, size_t n) {
    (void)p, (void)n;
    take_held();
}
static void on_free(const volatile void *p) {
    (void)p;
    take_held();
}

static atomic_bool release;
static void *holder_of_the_lock(void *arg) {
    (void)arg;
    pthread_mutex_lock(&held);
    while (!atomic_load(&release)) {
        struct timespec ts = {0, 10 * 1000000L};
        nanosleep(&ts, NULL);
    }
    pthread_mutex_unlock(&held);
    return NULL;
}

struct env {
    char init[1024], exe[1024], state[1024], parent[64];
    char *argv[2], *envp[3];
    struct sb_gw_server_config sc;
    struct sb_gw_opts o;
};

static bool setup(struct env *e, const char *tag) {
    if (geteuid() != 0) {
        sb_test_skip(true, "needs root");
        return false;
    }
    const char *build = getenv("SEALBOX_BUILD_DIR");
    snprintf(e->init, sizeof(e->init), "%s/sealbox-init", build ? build : ".");
    snprintf(e->exe, sizeof(e->exe), "%s/sealbox", build ? build : ".");
    snprintf(e->state, sizeof(e->state), "%s/state-%s", sb_test_tmpdir(), tag);
    snprintf(e->parent, sizeof(e->parent), "sealbox-gwholder-%d", (int)getpid());
    e->argv[0] = (char *)"/bin/cat";
    e->argv[1] = NULL;
    e->envp[0] = (char *)"PATH=/usr/bin:/bin";
    e->envp[1] = (char *)"API_KEY=sb-secret-value-1234";
    e->envp[2] = NULL;
    e->sc = (struct sb_gw_server_config){.name = "echo",
                                         .argv = e->argv,
                                         .env = e->envp,
                                         .sandbox = SB_GW_SANDBOX_JAIL,
                                         .memory_bytes = 64ull << 20,
                                         .pids = 16};
    /* this test program is not a host: the holder is the sealbox binary */
    e->o = (struct sb_gw_opts){.state_dir = e->state,
                               .init_path = e->init,
                               .cgroup_parent = e->parent,
                               .stderr_fd = 2,
                               .holder_exe = e->exe};
    return true;
}

static void teardown(struct env *e) {
    char cmd[512];
    snprintf(cmd, sizeof(cmd),
             "find /sys/fs/cgroup -maxdepth 8 -type d -name '%s' | xargs -r rmdir", e->parent);
    (void)!system(cmd);
}

/* Launches n servers one after another: each reports "ok", echoes a line and ends. */
static int launch_many(struct env *e, int n) {
    int ok = 0;
    for (int i = 0; i < n && !sb_test_failed(); i++) {
        sb_gw_launch *l = NULL;
        int in = -1, out = -1;
        sb_error err = {0};
        CHECK_OK(sb_gw_launch_start(&e->sc, &e->o, &l, &in, &out, &err), &err);
        if (!l) break;
        char report[256] = "";
        uint64_t end = sb_mono_ns() + (uint64_t)HANG_MS * 1000000u;
        bool exited = false;
        while (!report[0] && !exited && sb_mono_ns() < end) {
            exited = sb_gw_launch_poll(l, report, sizeof(report));
            if (!report[0]) {
                struct timespec ts = {0, 5 * 1000000L};
                nanosleep(&ts, NULL);
            }
        }
        CHECK_MSG(strncmp(report, "ok ", 3) == 0, "launch %d: holder %d reported '%s'%s", i,
                  (int)sb_gw_launch_pid(l), report,
                  report[0] || exited ? "" : " (hung: no report in 60 s)");
        if (strncmp(report, "ok ", 3) == 0) {
            /* the server's environment is not on the holder's command line (any user reads it) */
            char path[64], cmdline[8192];
            snprintf(path, sizeof(path), "/proc/%d/cmdline", (int)sb_gw_launch_pid(l));
            FILE *cf = fopen(path, "r");
            size_t cn = cf ? fread(cmdline, 1, sizeof(cmdline) - 1, cf) : 0;
            if (cf) fclose(cf);
            CHECK(cn > 0 && memmem(cmdline, cn, "__gw-holder", 11) &&
                  !memmem(cmdline, cn, "sb-secret-value", 15));
            char line[64], back[64];
            int k = snprintf(line, sizeof(line), "ping %d\n", i);
            (void)fcntl(out, F_SETFL, O_NONBLOCK);
            CHECK_INT(write(in, line, (size_t)k), k);
            CHECK_MSG(read_line(out, back, sizeof(back), HANG_MS) && strcmp(back, line) == 0,
                      "launch %d: the server echoed '%s'", i, back);
        }
        close(in);
        sb_gw_launch_stop(l);
        end = sb_mono_ns() + (uint64_t)HANG_MS * 1000000u;
        while (!sb_gw_launch_poll(l, NULL, 0) && sb_mono_ns() < end) {
            struct timespec ts = {0, 5 * 1000000L};
            nanosleep(&ts, NULL);
        }
        close(out);
        sb_gw_launch_free(l);
        if (!sb_test_failed()) ok++;
    }
    return ok;
}

TEST(a_lock_held_at_fork_does_not_hang_the_holder) {
    struct env e;
    if (!setup(&e, "held")) return;
    if (!__sanitizer_install_malloc_and_free_hooks) {
        sb_test_skip(false, "no ASan allocator hooks in this build");
        return;
    }
    test_pid = getpid();
    CHECK(__sanitizer_install_malloc_and_free_hooks(on_malloc, on_free) != 0);
    pthread_t th;
    atomic_store(&release, false);
    CHECK_INT(pthread_create(&th, NULL, holder_of_the_lock, NULL), 0);
    /* the lock is held before the first fork */
    for (int i = 0; i < 1000 && pthread_mutex_trylock(&held) == 0; i++) {
        pthread_mutex_unlock(&held);
        struct timespec ts = {0, 1000000L};
        nanosleep(&ts, NULL);
    }
    CHECK_INT(launch_many(&e, HELD_LAUNCHES), HELD_LAUNCHES);
    atomic_store(&release, true);
    pthread_join(th, NULL);
    teardown(&e);
}

TEST(jail_servers_launch_while_other_threads_hammer_locks) {
    struct env e;
    if (!setup(&e, "stress")) return;
    pthread_t th[HAMMERS];
    atomic_store(&stop, false);
    for (uintptr_t i = 0; i < HAMMERS; i++)
        CHECK_INT(pthread_create(&th[i], NULL, hammer, (void *)(i + 1)), 0);
    int ok = launch_many(&e, LAUNCHES);
    atomic_store(&stop, true);
    for (size_t i = 0; i < HAMMERS; i++)
        pthread_join(th[i], NULL);
    CHECK_INT(ok, LAUNCHES);
    teardown(&e);
}
