/* cmd_run: `sealbox run [options] -- CMD [ARGS...]` — create a jail sandbox, run CMD with its
 * stdio streamed, destroy the sandbox. Exit status: CMD's own (128+N for signal N), 124
 * timeout, 137 out of memory, 125 sealbox failed, 126 cannot execute, 127 not found. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <termios.h>

#include "cmd.h"
#include "run_opts.h"
#include "sandbox/sandbox.h"

#define EXIT_SB_FAIL 125

static void usage(FILE *f) {
    fprintf(
        f,
        "usage: sealbox run [OPTIONS] -- CMD [ARGS...]\n\n"
        "Runs CMD in a new jail sandbox (namespaces, seccomp, Landlock, cgroups) and removes\n"
        "the sandbox afterwards. Needs root.\n\n"
        "options:\n"
        "  --image NAME          image ('host': the host's /usr, the default; or an imported\n"
        "                        image's digest or name)\n"
        "  --mount SRC:DST[:ro]  bind a host path into the sandbox (repeatable)\n"
        "  --env K=V             set an environment variable (repeatable); the environment is\n"
        "                        exactly these, plus PATH when not given\n"
        "  --workdir DIR         working directory inside (default /)\n"
        "  --memory SIZE         memory limit incl. the writable layer (default 512M)\n"
        "  --pids N              process limit (default 512)\n"
        "  --cpus N              CPU limit, e.g. 0.5 or 2 (default: none)\n"
        "  --disk SIZE           size of the writable layer, a tmpfs (default 256M)\n"
        "  --timeout DURATION    kill the sandbox after e.g. 30, 30s, 500ms, 5m\n"
        "  --net none            loopback only (the default and only mode)\n"
        "  --hostname NAME       uts hostname (default 'sandbox')\n"
        "  --tty                 give CMD a pseudo-terminal\n"
        "  --detach              keep the sandbox after CMD (optional) and print its id; use\n"
        "                        'sealbox exec|freeze|thaw|rm ID' and 'sealbox ps'\n"
        "  --log FILE            write the sandbox's measurement log (docs/secrets.md) to FILE\n"
        "                        once CMD is recorded; with --detach it is rewritten as each\n"
        "                        command is added (default <state>/sandboxes/<id>/mlog.json)\n"
        "  --state-dir DIR       state directory (default $SEALBOX_STATE_DIR or %s)\n\n"
        "exit status: CMD's own; 128+N if it died of signal N; 124 timeout; 137 out of\n"
        "memory; 125 sealbox failed; 126 CMD cannot be executed; 127 CMD not found.\n",
        SB_SANDBOX_STATE_DIR);
}

static int fail(const char *what, const char *msg) {
    fprintf(stderr, "sealbox run: %s%s%s\n", what, msg && *msg ? ": " : "", msg ? msg : "");
    return EXIT_SB_FAIL;
}

/* The measurement log of a sandbox this process owns: image and config now, every command as
 * it is started (only this process writes it). */
static int new_log(const struct sb_run_opts *o, const sb_sandbox *sb, sb_mlog **out,
                   sb_error *err) {
    json_t *c = NULL;
    TRY(sb_mlog_config(&o->cfg, o->env, &c, err));
    int rc = sb_mlog_new(sb_sandbox_image_digest(sb), c, out, err);
    json_decref(c);
    return rc;
}

/* --detach: a holder process (a child that leaves our session) creates the sandbox, runs CMD
 * (if any) with its output in <dir>/main.log, and serves <dir>/control.sock for `sealbox exec`
 * until `sealbox rm`. We print the id once the sandbox is up. */
static int run_detached(struct sb_run_opts *o, int cargc, char **cargv, int sfd) {
    int pfd[2];
    if (pipe2(pfd, O_CLOEXEC) != 0) return fail("pipe", strerror(errno));
    pid_t pid = fork();
    if (pid < 0) return fail("fork", strerror(errno));
    if (pid == 0) {
        close(pfd[0]);
        (void)setsid();
        sb_error err = {0};
        sb_sandbox *sb = NULL;
        int listen_fd = -1, log_fd = -1;
        if (sb_jail_backend.create(&o->cfg, &sb, &err) < 0) goto report;
        char p[4096];
        sb_mlog *log = NULL;
        if (new_log(o, sb, &log, &err) < 0) goto report;
        if (o->log_path)
            snprintf(p, sizeof(p), "%s", o->log_path);
        else
            snprintf(p, sizeof(p), "%s/mlog.json", sb_sandbox_dir(sb));
        sb_jail_set_mlog(sb, log, p);
        if (sb_mlog_write(log, p, &err) < 0) goto report;
        snprintf(p, sizeof(p), "%s/main.log", sb_sandbox_dir(sb));
        log_fd = open(p, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
        struct sockaddr_un a = {.sun_family = AF_UNIX};
        if ((size_t)snprintf(a.sun_path, sizeof(a.sun_path), "%s/control.sock",
                             sb_sandbox_dir(sb)) >= sizeof(a.sun_path)) {
            sb_error_set(&err, SB_E_USAGE, "state directory path too long for a socket");
            goto report;
        }
        listen_fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
        if (listen_fd < 0 || bind(listen_fd, (struct sockaddr *)&a, sizeof(a)) != 0 ||
            chmod(a.sun_path, 0600) != 0 || listen(listen_fd, 16) != 0) {
            sb_error_set(&err, SB_E_IO, "control socket %s: %s", a.sun_path, strerror(errno));
            goto report;
        }
        char pidtxt[32];
        int pn = snprintf(pidtxt, sizeof(pidtxt), "%d\n", (int)getpid());
        snprintf(p, sizeof(p), "%s/holder.pid", sb_sandbox_dir(sb));
        if (sb_write_file_atomic(p, pidtxt, (size_t)pn, 0600, &err) < 0) goto report;
        dprintf(pfd[1], "ok %s\n", sb_sandbox_id(sb));
        close(pfd[1]);
        pfd[1] = -1;
        int null = open("/dev/null", O_RDWR | O_CLOEXEC);
        if (null >= 0) {
            dup2(null, 0);
            dup2(null, 1);
            dup2(null, 2);
            close(null);
        }
        int rc = sb_jail_serve(sb, listen_fd, sfd, cargc > 0 ? cargv : NULL, o->env, o->workdir,
                               log_fd, &err);
        close(listen_fd);
        if (log_fd >= 0) close(log_fd);
        sb_jail_backend.destroy(sb);
        sb_run_opts_free(o);
        _exit(rc < 0 ? 1 : 0);
    report:
        if (listen_fd >= 0) close(listen_fd);
        if (log_fd >= 0) close(log_fd);
        if (sb) sb_jail_backend.destroy(sb);
        dprintf(pfd[1], "err %s\n", err.msg);
        sb_run_opts_free(o);
        _exit(1);
    }
    close(pfd[1]);
    char buf[SB_ERRMSG_MAX + 16];
    ssize_t n = read(pfd[0], buf, sizeof(buf) - 1);
    close(pfd[0]);
    if (n <= 3) return fail("cannot create the sandbox", "the holder process died");
    buf[n] = 0;
    char *nl = strchr(buf, '\n');
    if (nl) *nl = 0;
    if (strncmp(buf, "ok ", 3) != 0) {
        int st;
        waitpid(pid, &st, 0);
        return fail("cannot create the sandbox", buf + 4);
    }
    printf("%s\n", buf + 3);
    return 0;
}

int sb_cmd_run(int argc, char **argv) {
    struct sb_run_opts o;
    sb_error err = {0};
    int first = 0;
    int rc = sb_run_opts_parse(&o, argc, argv, &first, &err);
    if (rc == SB_RUN_OPTS_HELP) {
        usage(stdout);
        sb_run_opts_free(&o);
        return 0;
    }
    if (rc < 0) {
        fprintf(stderr, "sealbox run: %s (see 'sealbox run --help')\n", err.msg);
        sb_run_opts_free(&o);
        return EXIT_SB_FAIL;
    }
    if (first >= argc && !o.detach) {
        sb_run_opts_free(&o);
        return fail("no command given", "usage: sealbox run [OPTIONS] -- CMD [ARGS...]");
    }
    if (o.tty) {
        const char *term = getenv("TERM");
        if (term && sb_run_opts_add_env(&o, "TERM", term, &err) < 0) {
            sb_run_opts_free(&o);
            return fail("environment", err.msg);
        }
    }

    /* block the signals we forward; the library reads them from a signalfd */
    sigset_t fwd, old;
    sigemptyset(&fwd);
    int sigs[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGWINCH};
    for (size_t i = 0; i < SB_ARRAY_LEN(sigs); i++)
        sigaddset(&fwd, sigs[i]);
    sigprocmask(SIG_BLOCK, &fwd, &old);
    signal(SIGPIPE, SIG_IGN);
    int sfd = signalfd(-1, &fwd, SFD_CLOEXEC);

    if (o.detach) {
        rc = run_detached(&o, argc - first, argv + first, sfd);
        sb_run_opts_free(&o);
        return rc;
    }
    sb_sandbox *sb = NULL;
    rc = sb_jail_backend.create(&o.cfg, &sb, &err);
    if (rc < 0) {
        if (sfd >= 0) close(sfd);
        sb_run_opts_free(&o);
        return fail("cannot create the sandbox", err.msg);
    }
    sb_mlog *log = NULL;
    rc = new_log(&o, sb, &log, &err);
    if (rc == 0) rc = sb_mlog_record(log, sb, argv + first, o.env, o.workdir, &err);
    if (rc == 0 && o.log_path) rc = sb_mlog_write(log, o.log_path, &err);
    sb_mlog_free(log);
    if (rc < 0) {
        sb_jail_backend.destroy(sb);
        if (sfd >= 0) close(sfd);
        sb_run_opts_free(&o);
        return fail("measurement log", err.msg);
    }

    struct termios saved;
    bool raw = false;
    struct sb_exec_req req = {.argv = argv + first,
                              .env = o.env,
                              .workdir = o.workdir,
                              .tty = o.tty,
                              .stdin_fd = 0,
                              .stdout_fd = 1,
                              .stderr_fd = 2,
                              .timeout_ms = o.timeout_ms,
                              .signal_fd = sfd};
    if (o.tty && isatty(0) && tcgetattr(0, &saved) == 0) {
        struct termios t = saved;
        cfmakeraw(&t);
        raw = tcsetattr(0, TCSANOW, &t) == 0;
        struct winsize ws;
        if (ioctl(0, TIOCGWINSZ, &ws) == 0) {
            req.rows = ws.ws_row;
            req.cols = ws.ws_col;
        }
    }
    struct sb_exit ex = {SB_EXIT_SANDBOX_GONE, 0};
    rc = sb_jail_backend.exec(sb, &req, &ex, &err);
    if (raw) (void)tcsetattr(0, TCSANOW, &saved);
    sb_jail_backend.destroy(sb);
    if (sfd >= 0) close(sfd);
    sigprocmask(SIG_SETMASK, &old, NULL);
    sb_run_opts_free(&o);
    if (rc < 0) return fail("exec", err.msg);
    switch (ex.kind) {
    case SB_EXIT_TIMEOUT: fprintf(stderr, "killed: timeout\n"); break;
    case SB_EXIT_OOM: fprintf(stderr, "killed: out of memory\n"); break;
    case SB_EXIT_SANDBOX_GONE:
        fprintf(stderr, "sealbox run: the sandbox ended unexpectedly\n");
        break;
    default: break;
    }
    return sb_exit_status(&ex);
}
