/* upstream: launching an MCP server — inside a sealbox jail sandbox through a small holder
 * process (the default), or directly (sandbox "none") — and stopping it again. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>

#include "internal.h"
#include "sandbox/sandbox.h"

extern char **environ;

static void close_from(int lowfd) {
#ifdef SYS_close_range
    if (syscall(SYS_close_range, (unsigned)lowfd, ~0u, 0u) == 0) return;
#endif
    for (int fd = lowfd; fd < 4096; fd++)
        (void)close(fd);
}

static void put_status(int fd, const char *kind, const char *msg) {
    char line[SB_ERRMSG_MAX + 64];
    int n = snprintf(line, sizeof(line), "%s %s\n", kind, msg);
    if (n > 0) (void)!write(fd, line, (size_t)n < sizeof(line) ? (size_t)n : sizeof(line) - 1);
}

/* The holder (a fresh image, see sb_gw_holder_main): fds 0/1/2 are the server's stdio, 3 the
 * status pipe. */
static _Noreturn void holder_main(const struct sb_gw_server_config *sc,
                                  const struct sb_gw_opts *o) {
    sigset_t fwd;
    sigemptyset(&fwd);
    sigaddset(&fwd, SIGTERM);
    sigaddset(&fwd, SIGINT);
    sigaddset(&fwd, SIGHUP);
    sigprocmask(SIG_BLOCK, &fwd, NULL);
    signal(SIGPIPE, SIG_IGN);
    int sfd = signalfd(-1, &fwd, SFD_CLOEXEC);
    struct sb_mount_spec mounts[SB_SANDBOX_MAX_MOUNTS];
    size_t nm = sc->n_mounts < SB_SANDBOX_MAX_MOUNTS ? sc->n_mounts : SB_SANDBOX_MAX_MOUNTS;
    for (size_t i = 0; i < nm; i++)
        mounts[i] = (struct sb_mount_spec){sc->mounts[i].src, sc->mounts[i].dst, sc->mounts[i].ro};
    char host[SB_SANDBOX_HOSTNAME_MAX];
    snprintf(host, sizeof(host), "mcp-%s", sc->name);
    struct sb_sandbox_config cfg = {.state_dir = o->state_dir,
                                    .init_path = o->init_path,
                                    .mounts = mounts,
                                    .n_mounts = nm,
                                    .hostname = host,
                                    .memory_bytes = sc->memory_bytes,
                                    .pids = sc->pids,
                                    .cpu_millis = sc->cpu_millis,
                                    .net_none = !sc->net_host,
                                    .net_host = sc->net_host,
                                    .cgroup_root = o->cgroup_root,
                                    .cgroup_parent = o->cgroup_parent};
    sb_error err = {0};
    sb_sandbox *sb = NULL;
    if (sb_jail_backend.create(&cfg, &sb, &err) < 0) {
        put_status(3, "err", err.msg);
        _exit(125);
    }
    char ok[128];
    snprintf(ok, sizeof(ok), "%d %s", (int)sb_sandbox_init_pid(sb), sb_sandbox_id(sb));
    put_status(3, "ok", ok);
    close(3);
    struct sb_exec_req req = {.argv = sc->argv,
                              .env = sc->env,
                              .workdir = sc->workdir,
                              .stdin_fd = 0,
                              .stdout_fd = 1,
                              .stderr_fd = 2,
                              .signal_fd = sfd};
    struct sb_exit ex = {SB_EXIT_SANDBOX_GONE, 0};
    int rc = sb_jail_backend.exec(sb, &req, &ex, &err);
    sb_jail_backend.destroy(sb);
    _exit(rc < 0 ? 125 : (sb_exit_status(&ex) & 0xff));
}

/* ---- the holder's command line (built before fork, read by the fresh image) ------------------
 *
 * The holder used to run in the forked child itself. The gateway is multi-threaded (the audit
 * writer, remote bridges; the monitor's relay workers), and a lock another thread held at fork
 * (malloc's, stdio's, OpenSSL's, sqlite's) stays held forever in the child: a holder that
 * created its sandbox there could hang. Now the child does only async-signal-safe work (dup2,
 * prctl, sigprocmask) and execs at once: the holder is a fresh, single-threaded image of the
 * host program, started with SB_GW_HOLDER_ARG and everything it needs on its command line —
 * except the server's environment, which may hold secrets and goes in the holder's environment
 * instead (SB_GW_ENV_<i>=K=V: names no loader or libc acts on): /proc/PID/cmdline is readable
 * by every local user, /proc/PID/environ only by the holder's owner. */

/* exe, SB_GW_HOLDER_ARG, version, name, 4 paths, workdir, 4 numbers, 3 counts, a command */
#define HOLDER_MIN_ARGC 17
_Static_assert(GW_HOLDER_MOUNTS_MAX == SB_SANDBOX_MAX_MOUNTS, "the holder's mounts");

static char *opt_str(const char *s) { return strdup(s ? s : ""); }

static char *num_str(uint64_t v) {
    char b[24];
    (void)snprintf(b, sizeof(b), "%llu", (unsigned long long)v);
    return strdup(b);
}

void gw_holder_argv_free(char **v) {
    if (!v) return;
    for (char **p = v; *p; p++)
        free(*p);
    free(v);
}

char **gw_holder_argv(const struct sb_gw_server_config *sc, const struct sb_gw_opts *o,
                      const char *exe, sb_error *err) {
    size_t na = 0, ne = 0;
    while (sc->argv && sc->argv[na])
        na++;
    while (sc->env && sc->env[ne])
        ne++;
    if (sc->n_mounts > SB_SANDBOX_MAX_MOUNTS || na == 0 || na > SB_GW_HOLDER_ARGS_MAX ||
        ne > SB_GW_HOLDER_ARGS_MAX) {
        sb_error_set(err, SB_E_LIMIT, "server %s: too many mounts, arguments or variables",
                     sc->name);
        return NULL;
    }
    size_t n = 16 + 3 * sc->n_mounts + na, k = 0;
    char **v = calloc(n + 1, sizeof(*v));
    if (!v) goto oom;
    v[k++] = strdup(exe);
    v[k++] = strdup(SB_GW_HOLDER_ARG);
    v[k++] = strdup("1");
    v[k++] = strdup(sc->name);
    v[k++] = opt_str(o->state_dir);
    v[k++] = opt_str(o->init_path);
    v[k++] = opt_str(o->cgroup_root);
    v[k++] = opt_str(o->cgroup_parent);
    v[k++] = opt_str(sc->workdir);
    v[k++] = num_str(sc->memory_bytes);
    v[k++] = num_str(sc->pids);
    v[k++] = num_str(sc->cpu_millis);
    v[k++] = strdup(sc->net_host ? "1" : "0");
    v[k++] = num_str(sc->n_mounts);
    for (size_t i = 0; i < sc->n_mounts; i++) {
        v[k++] = strdup(sc->mounts[i].src);
        v[k++] = strdup(sc->mounts[i].dst);
        v[k++] = strdup(sc->mounts[i].ro ? "1" : "0");
    }
    v[k++] = num_str(na);
    for (size_t i = 0; i < na; i++)
        v[k++] = strdup(sc->argv[i]);
    v[k++] = num_str(ne);
    for (size_t i = 0; i < k; i++)
        if (!v[i]) goto oom;
    return v;
oom:
    gw_holder_argv_free(v);
    sb_error_set(err, SB_E_INTERNAL, "out of memory");
    return NULL;
}

char **gw_holder_envp(const struct sb_gw_server_config *sc, sb_error *err) {
    size_t ne = 0, nh = 0;
    while (sc->env && sc->env[ne])
        ne++;
    while (environ && environ[nh])
        nh++;
    char **v = calloc(nh + ne + 1, sizeof(*v));
    size_t k = 0;
    if (!v) goto oom;
    for (size_t i = 0; i < nh; i++)
        if (strncmp(environ[i], GW_HOLDER_ENV, strlen(GW_HOLDER_ENV)) != 0)
            if (!(v[k++] = strdup(environ[i]))) goto oom;
    for (size_t i = 0; i < ne; i++)
        if (asprintf(&v[k++], "%s%zu=%s", GW_HOLDER_ENV, i, sc->env[i]) < 0) {
            v[k - 1] = NULL;
            goto oom;
        }
    return v;
oom:
    gw_holder_argv_free(v);
    sb_error_set(err, SB_E_INTERNAL, "out of memory");
    return NULL;
}

/* A number of the holder's command line (at index i). */
static int holder_num(char **argv, int i, uint64_t max, uint64_t *out, const char *what,
                      sb_error *err) {
    if (sb_parse_u64(argv[i], max, out, err, what) == 0) return 0;
    char m[SB_ERRMSG_MAX];
    (void)snprintf(m, sizeof(m), "%s", err->msg);
    return sb_error_set(err, SB_E_MALFORMED, "holder: argument %d: %s", i, m);
}

/* One count of the holder's command line, checked against what is left of it. */
static int holder_count(char **argv, int argc, int *i, uint64_t max, size_t per, uint64_t *out,
                        const char *what, sb_error *err) {
    ENSURE(*i < argc, err, SB_E_MALFORMED, "holder: argument %d (%s): missing", *i, what);
    TRY(holder_num(argv, *i, max, out, what, err));
    (*i)++;
    ENSURE(*out * per <= (uint64_t)(argc - *i), err, SB_E_MALFORMED,
           "holder: argument %d (%s): %llu entries, %d arguments left", *i - 1, what,
           (unsigned long long)*out, argc - *i);
    return 0;
}

static char *none_if_empty(char *s) { return s[0] ? s : NULL; }

int gw_holder_parse(int argc, char **argv, char **envp, struct gw_holder_spec *h, sb_error *err) {
    memset(h, 0, sizeof(*h));
    ENSURE(argc >= HOLDER_MIN_ARGC && strcmp(argv[1], SB_GW_HOLDER_ARG) == 0, err, SB_E_MALFORMED,
           "holder: %d arguments, at least %d expected", argc, HOLDER_MIN_ARGC);
    ENSURE(strcmp(argv[2], "1") == 0, err, SB_E_MALFORMED,
           "holder: argument 2 (version): '%s', not 1 (a holder of another build)", argv[2]);
    ENSURE(strlen(argv[3]) - 1 < SB_GW_SERVER_NAME_MAX, err, SB_E_MALFORMED,
           "holder: argument 3 (name): empty or longer than %d", SB_GW_SERVER_NAME_MAX);
    struct sb_gw_server_config *sc = &h->sc;
    (void)snprintf(sc->name, sizeof(sc->name), "%s", argv[3]);
    sc->sandbox = SB_GW_SANDBOX_JAIL;
    h->o.state_dir = none_if_empty(argv[4]);
    h->o.init_path = none_if_empty(argv[5]);
    h->o.cgroup_root = none_if_empty(argv[6]);
    h->o.cgroup_parent = none_if_empty(argv[7]);
    sc->workdir = none_if_empty(argv[8]);
    TRY(holder_num(argv, 9, UINT64_MAX, &sc->memory_bytes, "memory", err));
    TRY(holder_num(argv, 10, UINT64_MAX, &sc->pids, "pids", err));
    TRY(holder_num(argv, 11, UINT64_MAX, &sc->cpu_millis, "cpu", err));
    uint64_t flag = 0;
    TRY(holder_num(argv, 12, 1, &flag, "network", err));
    sc->net_host = flag == 1;
    int i = 13;
    uint64_t nm = 0, na = 0, ne = 0;
    TRY(holder_count(argv, argc, &i, SB_SANDBOX_MAX_MOUNTS, 3, &nm, "mounts", err));
    sc->mounts = h->mounts;
    sc->n_mounts = (size_t)nm;
    for (size_t m = 0; m < nm; m++, i += 3) {
        TRY(holder_num(argv, i + 2, 1, &flag, "mount ro", err));
        h->mounts[m] = (struct sb_gw_mount){argv[i], argv[i + 1], flag == 1};
    }
    TRY(holder_count(argv, argc, &i, SB_GW_HOLDER_ARGS_MAX, 1, &na, "argv", err));
    ENSURE(na > 0, err, SB_E_MALFORMED, "holder: argument %d (argv): no command", i - 1);
    sc->argv = &argv[i];
    i += (int)na;
    TRY(holder_count(argv, argc, &i, SB_GW_HOLDER_ARGS_MAX, 0, &ne, "env", err));
    ENSURE(i == argc, err, SB_E_MALFORMED,
           "holder: %d arguments after the environment's count (the server's environment comes "
           "in the holder's)",
           argc - i);
    argv[i - 1] = NULL; /* the environment's count ends the command's list */
    /* SB_GW_ENV_0 .. SB_GW_ENV_<ne-1>, in order */
    size_t plen = strlen(GW_HOLDER_ENV);
    for (size_t j = 0; j < ne; j++) {
        char name[32];
        int nl = snprintf(name, sizeof(name), "%s%zu=", GW_HOLDER_ENV, j);
        h->env[j] = NULL;
        for (char **e = envp; e && *e && !h->env[j]; e++)
            if (strncmp(*e, name, (size_t)nl) == 0) h->env[j] = *e + nl;
        ENSURE(h->env[j], err, SB_E_MALFORMED, "holder: environment: %.*s%zu missing of %llu",
               (int)plen, GW_HOLDER_ENV, j, (unsigned long long)ne);
    }
    h->env[ne] = NULL;
    sc->env = h->env;
    return 0;
}

_Noreturn void sb_gw_holder_main(int argc, char **argv) {
    /* fds 0/1/2 are the server's stdio, 3 the status pipe (the launcher set them up) */
    static struct gw_holder_spec h;
    sb_error err = {0};
    if (gw_holder_parse(argc, argv, environ, &h, &err) < 0) {
        put_status(3, "err", err.msg);
        _exit(125);
    }
    holder_main(&h.sc, &h.o);
}

/* The parent side of a direct (sandbox "none") server's exec: its path is resolved
 * here, before fork, in the server's own PATH (so the child needs no execvp). NULL: as given. */
static char *resolve_command(const struct sb_gw_server_config *sc) {
    const char *cmd = sc->argv[0];
    if (!cmd || strchr(cmd, '/')) return NULL;
    const char *path = "/usr/local/bin:/usr/bin:/bin";
    for (char **e = sc->env; e && *e; e++)
        if (strncmp(*e, "PATH=", 5) == 0) path = *e + 5;
    for (const char *p = path;;) {
        const char *end = strchr(p, ':');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        char *full = NULL;
        if (len && asprintf(&full, "%.*s/%s", (int)len, p, cmd) > 0 && access(full, X_OK) == 0)
            return full;
        free(full);
        if (!end) return NULL;
        p = end + 1;
    }
}

int gw_proc_spawn(const struct sb_gw_server_config *sc, const struct sb_gw_opts *o,
                  struct gw_proc *p, sb_error *err) {
    /* a remote server's bridge runs here, or — under sealboxd — in the monitor, which holds
     * its headers: the front (seccomp, no credentials) gets the two pipes as for any server */
    if (sc->url && !o->host) return gw_remote_start(sc, p, err);
    memset(p, 0, sizeof(*p));
    p->in_fd = p->out_fd = p->status_fd = -1;
    if (o->host) {
        ENSURE(o->host->spawn, err, SB_E_USAGE, "server %s: the host launches no servers",
               sc->name);
        p->pid = -1;
        TRY(o->host->spawn(o->host->ctx, sc->name, &p->in_fd, &p->out_fd, &p->handle, err));
        p->host = o->host;
        (void)fcntl(p->in_fd, F_SETFL, O_NONBLOCK);
        (void)fcntl(p->out_fd, F_SETFL, O_NONBLOCK);
        return 0;
    }
    bool jail = sc->sandbox == SB_GW_SANDBOX_JAIL;
    /* everything the child needs is made now: after fork it only moves descriptors and execs */
    char **hargv = NULL, **henv = NULL, *direct = NULL;
    if (jail) {
        hargv = gw_holder_argv(sc, o, o->holder_exe ? o->holder_exe : "/proc/self/exe", err);
        henv = hargv ? gw_holder_envp(sc, err) : NULL;
        if (!henv) {
            gw_holder_argv_free(hargv);
            return err->code;
        }
    } else {
        direct = resolve_command(sc);
    }
    int in[2] = {-1, -1}, out[2] = {-1, -1}, st[2] = {-1, -1};
    if (pipe2(in, O_CLOEXEC) != 0 || pipe2(out, O_CLOEXEC) != 0 ||
        (jail && pipe2(st, O_CLOEXEC) != 0)) {
        int e = errno;
        for (int i = 0; i < 2; i++) {
            if (in[i] >= 0) close(in[i]);
            if (out[i] >= 0) close(out[i]);
            if (st[i] >= 0) close(st[i]);
        }
        gw_holder_argv_free(hargv);
        gw_holder_argv_free(henv);
        free(direct);
        BAIL(err, SB_E_IO, "server %s: pipe: %s", sc->name, strerror(e));
    }
    int errfd = (sc->stderr_inherit && o->stderr_fd >= 0) ? o->stderr_fd : -1;
    sigset_t fwd, none;
    sigemptyset(&fwd);
    sigaddset(&fwd, SIGTERM);
    sigaddset(&fwd, SIGINT);
    sigaddset(&fwd, SIGHUP);
    sigemptyset(&none);
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid < 0) {
        int e = errno;
        close(in[0]), close(in[1]), close(out[0]), close(out[1]);
        if (jail) close(st[0]), close(st[1]);
        gw_holder_argv_free(hargv);
        gw_holder_argv_free(henv);
        free(direct);
        BAIL(err, SB_E_IO, "server %s: fork: %s", sc->name, strerror(e));
    }
    if (pid == 0) {
        /* async-signal-safe calls only from here to the exec */
        (void)sigprocmask(SIG_SETMASK, jail ? &fwd : &none, NULL);
        /* the holder ends with the gateway; it then tears the sandbox down */
        if (jail) (void)prctl(PR_SET_PDEATHSIG, SIGTERM, 0, 0, 0);
        if (getppid() != parent) _exit(125);
        (void)signal(SIGPIPE, jail ? SIG_IGN : SIG_DFL);
        int null = open("/dev/null", O_RDWR);
        int e2 = errfd >= 0 ? fcntl(errfd, F_DUPFD, 10) : null;
        int s3 = jail ? fcntl(st[1], F_DUPFD, 10) : -1;
        int i0 = fcntl(in[0], F_DUPFD, 10), o1 = fcntl(out[1], F_DUPFD, 10);
        if (dup2(i0, 0) < 0 || dup2(o1, 1) < 0 || dup2(e2 >= 0 ? e2 : null, 2) < 0) _exit(125);
        if (jail && dup2(s3, 3) < 0) _exit(125);
        close_from(jail ? 4 : 3);
        if (jail) {
            execve(hargv[0], hargv, henv);
            static const char msg[] = "err cannot start the holder (exec failed)\n";
            (void)!write(3, msg, sizeof(msg) - 1);
            _exit(125);
        }
        if (sc->workdir && chdir(sc->workdir) != 0) _exit(126);
        execve(direct ? direct : sc->argv[0], sc->argv, sc->env);
        _exit(errno == ENOENT ? 127 : 126);
    }
    gw_holder_argv_free(hargv);
    gw_holder_argv_free(henv);
    free(direct);
    close(in[0]);
    close(out[1]);
    if (jail) close(st[1]);
    (void)fcntl(in[1], F_SETFL, O_NONBLOCK);
    (void)fcntl(out[0], F_SETFL, O_NONBLOCK);
    if (jail) (void)fcntl(st[0], F_SETFL, O_NONBLOCK);
    p->pid = pid;
    p->in_fd = in[1];
    p->out_fd = out[0];
    p->status_fd = jail ? st[0] : -1;
    return 0;
}

void gw_proc_term(struct gw_proc *p) {
    if (p->exited) return;
    if (p->host) {
        p->host->stop(p->host->ctx, p->handle);
        p->exited = true;
    } else if (p->pid > 0)
        kill(p->pid, SIGTERM);
}

bool gw_proc_read_status(struct gw_proc *p) {
    if (p->remote) return gw_remote_status(p);
    if (p->status_fd < 0) return true;
    for (;;) {
        size_t room = sizeof(p->status) - 1 - p->status_len;
        if (room == 0) break;
        ssize_t n = read(p->status_fd, p->status + p->status_len, room);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && errno == EAGAIN) return false;
        if (n <= 0) break;
        p->status_len += (size_t)n;
    }
    p->status[p->status_len] = 0;
    close(p->status_fd);
    p->status_fd = -1;
    char *nl = strchr(p->status, '\n');
    if (nl) *nl = 0;
    if (strncmp(p->status, "ok ", 3) == 0) {
        int ipid = 0;
        char id[40] = "";
        if (sscanf(p->status + 3, "%d %39s", &ipid, id) == 2) {
            p->init_pid = ipid;
            snprintf(p->sandbox_id, sizeof(p->sandbox_id), "%s", id);
        }
    }
    return true;
}

static void sleep_ms(unsigned ms) {
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

static bool reap(struct gw_proc *p) {
    if (p->remote) return gw_remote_reap(p, false);
    if (p->exited || p->pid <= 0) return true;
    pid_t r = waitpid(p->pid, &p->wait_status, WNOHANG);
    if (r == p->pid || (r < 0 && errno == ECHILD)) p->exited = true;
    return p->exited;
}

/* Waits until every process has exited or ms have passed. */
static bool wait_all(struct gw_proc **v, size_t n, uint64_t ms) {
    uint64_t end = sb_mono_ns() + ms * 1000000ull;
    for (;;) {
        bool all = true;
        for (size_t i = 0; i < n; i++)
            if (v[i] && !reap(v[i])) all = false;
        if (all) return true;
        if (sb_mono_ns() >= end) return false;
        sleep_ms(5);
    }
}

void gw_procs_stop(struct gw_proc **v, size_t n, uint64_t grace_ms) {
    for (size_t i = 0; i < n; i++) {
        if (!v[i]) continue;
        if (v[i]->in_fd >= 0) close(v[i]->in_fd);
        v[i]->in_fd = -1;
        if (v[i]->status_fd >= 0) (void)gw_proc_read_status(v[i]);
        if (v[i]->host) { /* its host waits for it, and escalates */
            if (v[i]->out_fd >= 0) close(v[i]->out_fd);
            v[i]->out_fd = -1;
            gw_proc_term(v[i]);
            v[i] = NULL;
        }
    }
    if (wait_all(v, n, grace_ms)) goto done;
    for (size_t i = 0; i < n; i++)
        if (v[i] && !v[i]->exited && v[i]->pid > 0) kill(v[i]->pid, SIGTERM);
    if (wait_all(v, n, grace_ms)) goto done;
    /* a server that ignores SIGTERM: killing the sandbox's init ends the exec and lets the
     * holder remove the sandbox */
    for (size_t i = 0; i < n; i++)
        if (v[i] && !v[i]->exited && v[i]->init_pid > 0) kill(v[i]->init_pid, SIGKILL);
    if (wait_all(v, n, 2000)) goto done;
    for (size_t i = 0; i < n; i++)
        if (v[i] && !v[i]->exited && v[i]->pid > 0) kill(v[i]->pid, SIGKILL);
    (void)wait_all(v, n, 2000);
done:
    for (size_t i = 0; i < n; i++) {
        if (!v[i]) continue;
        if (v[i]->remote) (void)gw_remote_reap(v[i], true);
        if (v[i]->out_fd >= 0) close(v[i]->out_fd);
        v[i]->out_fd = -1;
        if (v[i]->status_fd >= 0) close(v[i]->status_fd);
        v[i]->status_fd = -1;
    }
}

/* ---- servers launched for another process (a daemon's monitor, for its front) ---------------- */

struct sb_gw_launch {
    struct gw_proc p;
    char name[SB_GW_SERVER_NAME_MAX + 1];
    uint64_t stop_ns; /* when the stop began; 0: running */
    unsigned step;    /* escalation steps taken */
    bool reported;
};

int sb_gw_launch_start(const struct sb_gw_server_config *sc, const struct sb_gw_opts *o,
                       sb_gw_launch **out, int *in_fd, int *out_fd, sb_error *err) {
    ENSURE(!o->host, err, SB_E_USAGE, "launch: the launcher has no host");
    sb_gw_launch *l = calloc(1, sizeof(*l));
    ENSURE(l, err, SB_E_INTERNAL, "out of memory");
    int rc = gw_proc_spawn(sc, o, &l->p, err);
    if (rc < 0) {
        free(l);
        return rc;
    }
    snprintf(l->name, sizeof(l->name), "%s", sc->name);
    /* the caller hands the pipes on; it keeps only the status report and the pid */
    *in_fd = l->p.in_fd;
    *out_fd = l->p.out_fd;
    l->p.in_fd = l->p.out_fd = -1;
    *out = l;
    return 0;
}

pid_t sb_gw_launch_pid(const sb_gw_launch *l) { return l->p.pid; }

void sb_gw_launch_stop(sb_gw_launch *l) {
    if (!l->stop_ns) l->stop_ns = sb_mono_ns() | 1;
    gw_remote_stop(&l->p); /* a remote's bridge: ends at once (a DELETE of its session) */
}

bool sb_gw_launch_poll(sb_gw_launch *l, char *report, size_t cap) {
    if (report && cap) report[0] = 0;
    if ((l->p.status_fd >= 0 || (l->p.remote && l->p.status[0] == 0)) &&
        gw_proc_read_status(&l->p) && l->p.status[0] && !l->reported && report && cap) {
        l->reported = true;
        snprintf(report, cap, "%s", l->p.status);
    }
    if (reap(&l->p)) return true;
    if (!l->stop_ns) return false;
    /* stdin is closed by whoever held it; then SIGTERM, then the sandbox's init, then the holder */
    uint64_t ms = (sb_mono_ns() - l->stop_ns) / 1000000u;
    if (l->step == 0 && ms >= 2000) {
        if (l->p.pid > 0) kill(l->p.pid, SIGTERM);
        l->step = 1;
    } else if (l->step == 1 && ms >= 4000) {
        if (l->p.init_pid > 0) kill(l->p.init_pid, SIGKILL);
        l->step = 2;
    } else if (l->step == 2 && ms >= 6000) {
        if (l->p.pid > 0) kill(l->p.pid, SIGKILL);
        l->step = 3;
    }
    return reap(&l->p);
}

void sb_gw_launch_free(sb_gw_launch *l) {
    if (!l) return;
    if (!l->p.exited) {
        gw_remote_stop(&l->p);
        struct gw_proc *v[1] = {&l->p};
        gw_procs_stop(v, 1, 2000);
    }
    if (l->p.status_fd >= 0) close(l->p.status_fd);
    free(l);
}
