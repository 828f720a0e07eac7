/* bench_sandbox: the jail backend against its anchors, measured in the same run —
 * (1) create -> exec /bin/true -> destroy, p50/p99, against `bwrap --unshare-all` (goal: p50 at
 * most 0.5x bwrap's); (2) resume latency of a frozen sandbox, from the thaw request until a
 * process inside answers on a pipe (goal <= 1 ms); (3) memory per idle sandbox, the drop of
 * MemAvailable with 200 idle sandboxes alive / 200 (goal <= 2 MiB); (4) how a new process joins
 * its cgroup: moving itself (v1 `tasks` "0", what create does) against being moved by pid
 * (`cgroup.procs`, the fallback), p50 of each and their ratio. Needs root. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bench_util.h"
#include "sandbox/internal.h" /* the cgroup join, for figure 4 */
#include "sandbox/sandbox.h"

#define N_RUN 200
#define N_RESUME 200
#define N_IDLE 200
#define N_JOIN 60

static char init_path[PATH_MAX], state[256];

static void base_cfg(struct sb_sandbox_config *c) {
    memset(c, 0, sizeof(*c));
    c->state_dir = state;
    c->init_path = init_path;
    c->memory_bytes = 128ull << 20;
    c->pids = 64;
    c->disk_bytes = 16ull << 20;
    c->cgroup_parent = "sealbox-bench";
    c->net_none = true;
}

static uint64_t ph_create[N_RUN + 16], ph_exec[N_RUN + 16], ph_destroy[N_RUN + 16];
static int ph_n;

static int run_true_traced(int null, struct sb_sandbox_trace *tr) {
    struct sb_sandbox_config c;
    base_cfg(&c);
    c.trace = tr;
    sb_sandbox *sb = NULL;
    sb_error err = {0};
    uint64_t t0 = sb_mono_ns();
    if (sb_jail_backend.create(&c, &sb, &err) != 0) {
        fprintf(stderr, "create: %s\n", err.msg);
        return -1;
    }
    char *argv[] = {(char *)"/bin/true", NULL};
    char *env[] = {(char *)"PATH=/usr/bin:/bin", NULL};
    struct sb_exec_req req = {.argv = argv,
                              .env = env,
                              .stdin_fd = -1,
                              .stdout_fd = null,
                              .stderr_fd = null,
                              .signal_fd = -1};
    struct sb_exit ex;
    uint64_t t1 = sb_mono_ns();
    int rc = sb_jail_backend.exec(sb, &req, &ex, &err);
    uint64_t t2 = sb_mono_ns();
    sb_jail_backend.destroy(sb);
    if (ph_n < N_RUN + 16) {
        ph_create[ph_n] = t1 - t0;
        ph_exec[ph_n] = t2 - t1;
        ph_destroy[ph_n++] = sb_mono_ns() - t2;
    }
    return rc == 0 && sb_exit_status(&ex) == 0 ? 0 : -1;
}

static int run_true(int null) { return run_true_traced(null, NULL); }

/* Figure 1b: where the time goes. Each step's share is the time since the previous step of
 * either half (the sandbox half runs in parallel with the host half), p50 over N_TRACE runs;
 * printed in the order of the first run. */
#define N_TRACE 100
static void bench_phases(void) {
    int null = open("/dev/null", O_WRONLY | O_CLOEXEC);
    static struct sb_sandbox_trace tr[N_TRACE];
    for (int i = 0; i < N_TRACE; i++)
        if (run_true_traced(null, &tr[i]) != 0) {
            printf("phases: sandbox run failed\n");
            close(null);
            return;
        }
    close(null);
    printf("  per step, p50 of %d runs (time since the previous step of either half):\n", N_TRACE);
    static uint64_t v[N_TRACE];
    uint64_t sum = 0;
    for (uint32_t k = 1; k < tr[0].n && k < SB_TRACE_MAX; k++) {
        const char *name = tr[0].ev[k].step;
        size_t nv = 0;
        for (int i = 0; i < N_TRACE; i++)
            for (uint32_t j = 1; j < tr[i].n && j < SB_TRACE_MAX; j++)
                if (strcmp(tr[i].ev[j].step, name) == 0) {
                    v[nv++] = tr[i].ev[j].ns - tr[i].ev[j - 1].ns;
                    break;
                }
        uint64_t p = nv ? bench_pct_u64(v, nv, 50) : 0;
        sum += p;
        printf("    %-40s %7.3f ms\n", name, p / 1e6);
    }
    printf("    %-40s %7.3f ms\n", "(sum of the p50s)", sum / 1e6);
}

static int run_bwrap(void) {
    pid_t p = fork();
    if (p == 0) {
        int null = open("/dev/null", O_RDWR);
        dup2(null, 1);
        dup2(null, 2);
        execlp("bwrap", "bwrap", "--unshare-all", "--ro-bind", "/usr", "/usr", "--symlink",
               "usr/bin", "/bin", "--symlink", "usr/lib", "/lib", "--symlink", "usr/lib64",
               "/lib64", "--proc", "/proc", "--dev", "/dev", "/bin/true", (char *)NULL);
        _exit(127);
    }
    int st;
    waitpid(p, &st, 0);
    return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : -1;
}

/* CPU time (user + system) of this process and its reaped children: the work a round costs,
 * which the load of other processes on the machine does not inflate as it does wall time. */
static uint64_t cpu_ns(int who) {
    struct rusage ru;
    if (getrusage(who, &ru) != 0) return 0;
    return (uint64_t)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000000ull +
           (uint64_t)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) * 1000ull;
}
static uint64_t cpu_all(void) { return cpu_ns(RUSAGE_SELF) + cpu_ns(RUSAGE_CHILDREN); }

static void bench_run(void) {
    int null = open("/dev/null", O_WRONLY | O_CLOEXEC);
    static uint64_t ours[N_RUN], bw[N_RUN];
    uint64_t cpu_ours = 0, cpu_bw = 0;
    int bwrap_ok = run_bwrap() == 0;
    for (int i = 0; i < 10; i++) { /* warm up both */
        (void)run_true(null);
        if (bwrap_ok) (void)run_bwrap();
    }
    for (int i = 0; i < N_RUN; i++) { /* interleaved, so both see the same machine */
        uint64_t c0 = cpu_all(), t = sb_mono_ns();
        if (run_true(null) != 0) {
            printf("sandbox run failed\n");
            return;
        }
        ours[i] = sb_mono_ns() - t;
        cpu_ours += cpu_all() - c0;
        if (bwrap_ok) {
            c0 = cpu_all();
            t = sb_mono_ns();
            (void)run_bwrap();
            bw[i] = sb_mono_ns() - t;
            cpu_bw += cpu_all() - c0;
        }
    }
    uint64_t p50 = bench_pct_u64(ours, N_RUN, 50), p99 = bench_pct_u64(ours, N_RUN, 99);
    printf("  phases p50: create %.2f ms, exec %.2f ms, destroy %.2f ms\n",
           bench_pct_u64(ph_create, (size_t)ph_n, 50) / 1e6,
           bench_pct_u64(ph_exec, (size_t)ph_n, 50) / 1e6,
           bench_pct_u64(ph_destroy, (size_t)ph_n, 50) / 1e6);
    printf("create+exec(/bin/true)+destroy  sealbox jail: p50 %.2f ms  p99 %.2f ms  (n=%d)\n",
           p50 / 1e6, p99 / 1e6, N_RUN);
    if (bwrap_ok) {
        uint64_t b50 = bench_pct_u64(bw, N_RUN, 50), b99 = bench_pct_u64(bw, N_RUN, 99);
        printf("bwrap --unshare-all ... /bin/true (anchor): p50 %.2f ms  p99 %.2f ms\n", b50 / 1e6,
               b99 / 1e6);
        printf("ratio sealbox/bwrap: p50 %.2fx  p99 %.2fx  (goal: p50 <= 0.5x) %s\n",
               (double)p50 / (double)b50, (double)p99 / (double)b99,
               p50 * 2 <= b50 ? "MET" : "NOT MET");
        printf("CPU time per round (user+sys, this process and its children): sealbox %.2f ms, "
               "bwrap %.2f ms, ratio %.2fx\n",
               cpu_ours / 1e6 / N_RUN, cpu_bw / 1e6 / N_RUN,
               cpu_bw ? (double)cpu_ours / (double)cpu_bw : 0.0);
    } else {
        printf("bwrap: not runnable here, no anchor\n");
    }
    printf("firejail: %s\n", access("/usr/bin/firejail", X_OK) == 0 ? "installed (not measured)"
                                                                    : "not installed, skipped");
    close(null);
}

/* A responder inside answers each byte on req with a byte on resp (two FIFOs on a mount). */
static void bench_resume(void) {
    char dir[PATH_MAX], req[PATH_MAX + 8], resp[PATH_MAX + 8];
    snprintf(dir, sizeof(dir), "%s/fifos", state);
    mkdir(dir, 0777);
    snprintf(req, sizeof(req), "%s/req", dir);
    snprintf(resp, sizeof(resp), "%s/resp", dir);
    if (mkfifo(req, 0666) != 0 || mkfifo(resp, 0666) != 0) {
        printf("resume: cannot make fifos: %s\n", strerror(errno));
        return;
    }
    struct sb_sandbox_config c;
    base_cfg(&c);
    struct sb_mount_spec m = {.src = dir, .dst = "/f", .ro = false};
    c.mounts = &m;
    c.n_mounts = 1;
    sb_sandbox *sb = NULL;
    sb_error err = {0};
    if (sb_jail_backend.create(&c, &sb, &err) != 0) {
        printf("resume: create: %s\n", err.msg);
        return;
    }
    pid_t runner = fork();
    if (runner == 0) {
        char *argv[] = {(char *)"python3", (char *)"-c",
                        (char *)"import os\n"
                                "r = os.open('/f/req', os.O_RDONLY)\n"
                                "w = os.open('/f/resp', os.O_WRONLY)\n"
                                "while os.read(r, 1):\n"
                                "    os.write(w, b'.')\n",
                        NULL};
        char *env[] = {(char *)"PATH=/usr/bin:/bin", NULL};
        struct sb_exec_req rq = {.argv = argv,
                                 .env = env,
                                 .stdin_fd = -1,
                                 .stdout_fd = 2,
                                 .stderr_fd = 2,
                                 .signal_fd = -1};
        struct sb_exit ex;
        (void)sb_jail_backend.exec(sb, &rq, &ex, &err);
        _exit(0);
    }
    int w = open(req, O_WRONLY), r = open(resp, O_RDONLY);
    static uint64_t lat[N_RESUME];
    char b = 'x';
    int ok = 0;
    for (int i = 0; i < N_RESUME + 10; i++) {
        if (sb_jail_backend.freeze(sb, &err) != 0) {
            printf("resume: freeze: %s\n", err.msg);
            break;
        }
        if (write(w, &b, 1) != 1) break; /* waits in the pipe: the responder is frozen */
        uint64_t t = sb_mono_ns();
        if (sb_jail_backend.thaw(sb, &err) != 0 || read(r, &b, 1) != 1) break;
        if (i >= 10) lat[ok++] = sb_mono_ns() - t;
    }
    close(w);
    close(r);
    if (ok == N_RESUME) {
        uint64_t p50 = bench_pct_u64(lat, N_RESUME, 50), p99 = bench_pct_u64(lat, N_RESUME, 99);
        printf("resume (thaw request -> answer on a pipe, cgroup %s freezer): p50 %.3f ms  p99 "
               "%.3f ms  (goal <= 1 ms) %s\n",
               sb_sandbox_cgroup_mode(sb), p50 / 1e6, p99 / 1e6,
               p50 <= 1000000 ? "MET" : "NOT MET");
    } else {
        printf("resume: only %d samples\n", ok);
    }
    sb_jail_backend.destroy(sb);
    waitpid(runner, NULL, 0);
    unlink(req);
    unlink(resp);
    rmdir(dir);
}

static long mem_available_kb(void) {
    FILE *f = fopen("/proc/meminfo", "r");
    char line[256];
    long v = -1;
    while (f && fgets(line, sizeof(line), f))
        if (sscanf(line, "MemAvailable: %ld kB", &v) == 1) break;
    if (f) fclose(f);
    return v;
}

static long median3(void) {
    long a = mem_available_kb();
    usleep(100000);
    long b = mem_available_kb();
    usleep(100000);
    long c = mem_available_kb();
    long lo = a < b ? a : b, hi = a < b ? b : a;
    return c < lo ? lo : c > hi ? hi : c;
}

static void bench_idle(void) {
    static sb_sandbox *sbs[N_IDLE];
    sync();
    long before = median3();
    int n = 0;
    for (; n < N_IDLE; n++) {
        struct sb_sandbox_config c;
        base_cfg(&c);
        sb_error err = {0};
        if (sb_jail_backend.create(&c, &sbs[n], &err) != 0) {
            printf("idle: create %d: %s\n", n, err.msg);
            break;
        }
    }
    usleep(500000);
    long after = median3();
    for (int i = 0; i < n; i++)
        sb_jail_backend.destroy(sbs[i]);
    if (n == 0) return;
    double per = (double)(before - after) / n / 1024.0;
    printf("memory per idle sandbox (MemAvailable drop with %d alive / %d): %.2f MiB  (goal <= 2 "
           "MiB) %s\n",
           n, n, per, per <= 2.0 ? "MET" : "NOT MET");
}

/* One round of figure 4: a fresh cgroup, a child that joins it one way or the other; the time
 * of the join alone (the write), measured where it happens. */
static int join_once(int round, bool self, uint64_t *ns) {
    char id[32];
    snprintf(id, sizeof(id), "join%d%c", round, self ? 's' : 'p');
    struct sb_cg_limits lim = {128ull << 20, 64, 0};
    struct sb_cgroup *cg = NULL;
    sb_error err = {0};
    if (sb_cgroup_create(NULL, "sealbox-bench", id, &lim, &cg, &err) < 0) {
        fprintf(stderr, "cgroup: %s\n", err.msg);
        return -1;
    }
    struct sb_cg_join j = {.n = 0, .dir_fd = -1};
    int rc = self ? sb_cgroup_join_prepare(cg, &j, &err) : 0;
    int go[2], back[2];
    if (rc < 0 || pipe(go) != 0 || pipe(back) != 0) {
        sb_cgroup_join_close(&j);
        (void)sb_cgroup_destroy(cg, NULL);
        return -1;
    }
    pid_t p = fork();
    if (p == 0) {
        uint64_t t = 0;
        if (self) {
            uint64_t t0 = sb_mono_ns();
            sb_error e2 = {0};
            if (sb_cgroup_join_self(&j, &e2) < 0) _exit(1);
            t = sb_mono_ns() - t0;
        }
        if (write(back[1], &t, sizeof(t)) != sizeof(t)) _exit(1);
        char c;
        (void)!read(go[0], &c, 1);
        _exit(0);
    }
    sb_cgroup_join_close(&j);
    uint64_t t = 0;
    if (p > 0 && read(back[0], &t, sizeof(t)) == sizeof(t) && !self) {
        uint64_t t0 = sb_mono_ns();
        rc = sb_cgroup_attach(cg, p, &err);
        t = sb_mono_ns() - t0;
    }
    *ns = t;
    (void)!write(go[1], "x", 1);
    if (p > 0) waitpid(p, NULL, 0);
    close(go[0]);
    close(go[1]);
    close(back[0]);
    close(back[1]);
    (void)sb_cgroup_destroy(cg, NULL);
    return p > 0 && rc == 0 ? 0 : -1;
}

static void bench_join(void) {
    enum sb_cg_mode mode;
    sb_error err = {0};
    if (sb_cgroup_detect(NULL, &mode, &err) < 0 || mode != SB_CG_V1) {
        printf("cgroup join: not a v1 host (v2 clones into the cgroup), skipped\n");
        return;
    }
    static uint64_t self_ns[N_JOIN], pid_ns[N_JOIN];
    for (int i = 0; i < N_JOIN; i++) /* interleaved */
        if (join_once(i, true, &self_ns[i]) < 0 || join_once(i, false, &pid_ns[i]) < 0) {
            printf("cgroup join: failed\n");
            return;
        }
    uint64_t s50 = bench_pct_u64(self_ns, N_JOIN, 50), p50 = bench_pct_u64(pid_ns, N_JOIN, 50);
    printf("cgroup join (v1, memory+pids+freezer+cpuacct): moving itself p50 %.3f ms, moved by "
           "pid (anchor) p50 %.3f ms, ratio %.3fx\n",
           s50 / 1e6, p50 / 1e6, p50 ? (double)s50 / (double)p50 : 0.0);
}

/* No argument: every figure. Otherwise only the named ones (run phases resume idle join). */
static bool want(int argc, char **argv, const char *name) {
    if (argc < 2) return true;
    for (int i = 1; i < argc; i++)
        if (strcmp(argv[i], name) == 0) return true;
    return false;
}

int main(int argc, char **argv) {
    if (geteuid() != 0) {
        printf("bench_sandbox: needs root, skipped\n");
        return 0;
    }
    ssize_t n = readlink("/proc/self/exe", init_path, sizeof(init_path) - 1);
    if (n <= 0) return 1;
    init_path[n] = 0;
    *strrchr(init_path, '/') = 0;
    strncat(init_path, "/sealbox-init", sizeof(init_path) - strlen(init_path) - 1);
    snprintf(state, sizeof(state), "/tmp/sealbox-bench-%d", (int)getpid());
    mkdir(state, 0711);
    if (want(argc, argv, "run")) bench_run();
    if (want(argc, argv, "phases")) bench_phases();
    if (want(argc, argv, "resume")) bench_resume();
    if (want(argc, argv, "idle")) bench_idle();
    if (want(argc, argv, "join")) bench_join();
    char cmd[PATH_MAX + 32];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", state);
    if (system(cmd) != 0) return 1;
    return 0;
}
