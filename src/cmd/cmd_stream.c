/* cmd_stream: what `sealbox run` and `sealbox exec` share once a sandbox is at hand — the
 * forwarded signals, the caller's stdio streamed (a raw terminal with --tty), and the report of
 * how CMD ended. */
#include <signal.h>
#include <stdio.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <termios.h>

#include "run_opts.h"

int sb_run_signals_begin(const int *sigs, size_t n, sigset_t *old) {
    sigset_t fwd;
    sigemptyset(&fwd);
    for (size_t i = 0; i < n; i++)
        sigaddset(&fwd, sigs[i]);
    sigprocmask(SIG_BLOCK, &fwd, old);
    signal(SIGPIPE, SIG_IGN);
    return signalfd(-1, &fwd, SFD_CLOEXEC);
}

void sb_run_signals_end(int sfd, const sigset_t *old) {
    if (sfd >= 0) close(sfd);
    sigprocmask(SIG_SETMASK, old, NULL);
}

int sb_run_stream(sb_sandbox *sb, const struct sb_run_opts *o, char *const *argv, int sfd,
                  struct sb_exit *ex, sb_error *err) {
    struct sb_exec_req req = {.argv = argv,
                              .env = o->env,
                              .workdir = o->workdir,
                              .tty = o->tty,
                              .stdin_fd = 0,
                              .stdout_fd = 1,
                              .stderr_fd = 2,
                              .timeout_ms = o->timeout_ms,
                              .kill_grace_ms = o->kill_grace_ms,
                              .signal_fd = sfd};
    struct termios saved;
    bool raw = false;
    if (o->tty && isatty(0) && tcgetattr(0, &saved) == 0) {
        struct termios t = saved;
        cfmakeraw(&t);
        raw = tcsetattr(0, TCSANOW, &t) == 0;
        struct winsize ws;
        if (ioctl(0, TIOCGWINSZ, &ws) == 0) {
            req.rows = ws.ws_row;
            req.cols = ws.ws_col;
        }
    }
    *ex = (struct sb_exit){SB_EXIT_SANDBOX_GONE, 0};
    int rc = sb_jail_backend.exec(sb, &req, ex, err);
    if (raw) (void)tcsetattr(0, TCSANOW, &saved);
    return rc;
}

int sb_run_report(const struct sb_exit *ex, const char *gone) {
    switch (ex->kind) {
    case SB_EXIT_TIMEOUT: fprintf(stderr, "killed: timeout\n"); break;
    case SB_EXIT_OOM: fprintf(stderr, "killed: out of memory\n"); break;
    case SB_EXIT_SANDBOX_GONE: fprintf(stderr, "%s\n", gone); break;
    default: break;
    }
    return sb_exit_status(ex);
}
