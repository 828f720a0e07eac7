/* sealbox-init: PID 1 of every jail sandbox. Reaps orphans, runs the commands the host sends
 * on fd 3 (typed frames parsed with sb_reader), streams their stdio and reports how they ended.
 * It runs as uid 65533 inside the sandbox, non-dumpable, so workloads (uid 0, no capabilities)
 * can neither ptrace it, read its memory, signal it nor take over its socket. Built without
 * ASan (docs/development.md: it runs under the sandbox's seccomp filter). */
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include "init_secrets.h"
#include "sandbox/sandbox.h"

#define CTL 3
#define MAX_JOBS 64

extern char **environ;

struct job {
    bool used;
    uint32_t id;
    pid_t pid;
    bool tty;
    int in, out, err; /* host-side ends; with a tty, in == out == the pty master */
    int fail_kind;    /* -1, or the sb_exit_kind of a failed exec */
    int fail_errno;
    uint8_t *pend; /* its stdin_buf row */
    size_t pend_len, pend_off;
    bool close_in_after; /* EOF queued behind pending data */
};

static struct job jobs[MAX_JOBS];
/* Kept apart from jobs[], which the main loop scans: inline, the buffers put each job on pages
 * of its own (64 page faults to scan the table in every new sandbox, 8 more to clear a job). */
static uint8_t stdin_buf[MAX_JOBS][SB_PROTO_MAX_DATA];

static void send_frame(sb_writer *w) {
    if (sb_writer_status(w) < 0) return;
    ssize_t n;
    do
        n = send(CTL, w->buf, w->len, MSG_NOSIGNAL);
    while (n < 0 && errno == EINTR);
    if (n < 0 && (errno == EPIPE || errno == ECONNRESET)) _exit(0); /* the host is gone */
}

static void send_simple(enum sb_msg_type t, uint32_t id, uint32_t v) {
    sb_writer w;
    sb_writer_init(&w, 64);
    if (sb_msg_encode_simple(&w, t, id, v) == 0) send_frame(&w);
    sb_writer_free(&w);
}

static void send_data(enum sb_msg_type t, uint32_t id, const void *p, size_t n) {
    sb_writer w;
    sb_writer_init(&w, SB_PROTO_MAX_FRAME);
    if (sb_msg_encode_data(&w, t, id, p, n) == 0) send_frame(&w);
    sb_writer_free(&w);
}

static void send_error(uint32_t id, const char *fmt, ...) SB_PRINTF(2, 3);
static void send_error(uint32_t id, const char *fmt, ...) {
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    if (n < 0) return;
    send_data(SB_MSG_ERROR, id, buf, (size_t)n < sizeof(buf) ? (size_t)n : sizeof(buf) - 1);
}

static void send_exit(uint32_t id, int kind, int code) {
    sb_writer w;
    sb_writer_init(&w, 64);
    if (sb_msg_encode_exit(&w, id, (uint8_t)kind, code) == 0) send_frame(&w);
    sb_writer_free(&w);
}

static void close_fd(int *fd) {
    if (*fd >= 0) close(*fd);
    *fd = -1;
}

static struct job *find(uint32_t id) {
    for (int i = 0; i < MAX_JOBS; i++)
        if (jobs[i].used && jobs[i].id == id) return &jobs[i];
    return NULL;
}

/* Forwards what one output fd holds now; false at EOF or error. */
static bool pump_out(struct job *j, int fd, enum sb_msg_type t) {
    uint8_t buf[SB_PROTO_MAX_DATA];
    ssize_t n = read(fd, buf, sizeof(buf));
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) return true;
    if (n <= 0) return false; /* EOF, or EIO on a pty whose slave side is closed */
    send_data(t, j->id, buf, (size_t)n);
    return true;
}

static void drain(struct job *j, int *fd, enum sb_msg_type t) {
    if (*fd < 0) return;
    for (int i = 0; i < 1024; i++) { /* bounded: a writer that keeps going is cut off */
        uint8_t buf[SB_PROTO_MAX_DATA];
        ssize_t n = read(*fd, buf, sizeof(buf));
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        send_data(t, j->id, buf, (size_t)n);
    }
}

static void finish(struct job *j, int status) {
    drain(j, &j->out, SB_MSG_STDOUT);
    if (!j->tty) drain(j, &j->err, SB_MSG_STDERR);
    if (j->fail_kind >= 0)
        send_exit(j->id, j->fail_kind, j->fail_errno);
    else if (WIFSIGNALED(status))
        send_exit(j->id, SB_EXIT_SIGNALED, WTERMSIG(status));
    else
        send_exit(j->id, SB_EXIT_EXITED, WEXITSTATUS(status));
    if (!j->tty) close_fd(&j->in);
    close_fd(&j->out);
    close_fd(&j->err);
    j->in = -1;
    j->used = false;
}

static void reap(void) {
    for (;;) {
        int status;
        pid_t p = waitpid(-1, &status, WNOHANG);
        if (p <= 0) return;
        for (int i = 0; i < MAX_JOBS; i++)
            if (jobs[i].used && jobs[i].pid == p) finish(&jobs[i], status);
    }
}

/* The workload is started posix_spawn-style: clone(CLONE_VM | CLONE_VFORK) runs the child on a
 * stack of its own in init's address space, which is therefore neither copied (page tables of a
 * 4.8 MB binary with libcrypto, then copy-on-write faults) nor torn down again by the child's
 * exec; init is suspended until the child has exec'd or exited, as it waited on the exec anyway.
 * The child shares init's memory (not its fds, signal handlers, credentials or capabilities: no
 * CLONE_FILES, CLONE_SIGHAND or CLONE_THREAD), so it writes only to its own stack and to
 * spawn_rep, and makes its system calls without glibc's set*id wrappers (which may act on every
 * thread of the process they believe they are in). */
#define SPAWN_STACK (256u << 10) /* execvp's PATH search and script fallback use the stack */

struct spawn_arg {
    const struct sb_msg_exec *e;
    int in, out, err;
    const char *pts;
};

/* Where the exec failed (0: it did not), written by the child before it exits. */
static volatile int spawn_rep[2];

/* From init's credentials to the workload's (uid 0, no capabilities at all). */
static int drop_to_workload(void) {
    for (int cap = 0; cap <= 63; cap++)
        if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0 && errno != EINVAL) return -1;
    if (syscall(SYS_setresgid, 0, 0, 0) != 0 || syscall(SYS_setresuid, 0, 0, 0) != 0) return -1;
    if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) != 0) return -1;
    struct __user_cap_header_struct h = {.version = _LINUX_CAPABILITY_VERSION_3, .pid = 0};
    struct __user_cap_data_struct d[2];
    memset(d, 0, sizeof(d));
    return (int)syscall(SYS_capset, &h, d);
}

__attribute__((noreturn)) static void child_fail(int where, int code) {
    spawn_rep[1] = errno;
    spawn_rep[0] = where;
    _exit(code);
}

static int child(void *arg) {
    const struct spawn_arg *a = arg;
    const struct sb_msg_exec *e = a->e;
    int in = a->in, out = a->out, err = a->err;
    /* default dispositions: an ignored SIGINT (a caller started in the background by a
     * non-interactive shell) survives every exec and would make the workload deaf to it */
    for (int s = 1; s < NSIG; s++)
        if (s != SIGKILL && s != SIGSTOP) (void)signal(s, SIG_DFL);
    sigset_t all;
    sigemptyset(&all);
    sigprocmask(SIG_SETMASK, &all, NULL);
    setsid();
    if (a->pts) {
        int s = open(a->pts, O_RDWR);
        if (s < 0 || ioctl(s, TIOCSCTTY, 0) != 0) _exit(125);
        in = out = err = s;
    }
    if (dup2(in, 0) < 0 || dup2(out, 1) < 0 || dup2(err, 2) < 0) _exit(125);
    /* nothing of init's reaches the workload: not the control socket, not other jobs' pipes */
    (void)syscall(SYS_close_range, 3u, ~0u, 0u);
    if (drop_to_workload() != 0) child_fail(3, 125);
    /* the OOM killer takes the workload, never init (raising needs no privilege; as init's
     * non-dumpable child our /proc files belong to the sandbox's root, which we now are) */
    int oom = open("/proc/self/oom_score_adj", O_WRONLY | O_CLOEXEC);
    if (oom >= 0) {
        (void)!write(oom, "1000", 4);
        close(oom);
    }
    if (chdir(e->workdir) != 0) child_fail(1, 126);
    environ = e->env; /* init puts its own back once the child is gone from its memory */
    execvp(e->argv[0], e->argv);
    child_fail(2, 127);
}

/* The child's stack: mapped once, with a guard page below it. */
static void *spawn_stack(void) {
    static char *top;
    if (!top) {
        size_t guard = (size_t)sysconf(_SC_PAGESIZE);
        char *p = mmap(NULL, SPAWN_STACK + guard, PROT_READ | PROT_WRITE,
                       MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
        if (p == MAP_FAILED) return NULL;
        if (mprotect(p, guard, PROT_NONE) != 0) {
            munmap(p, SPAWN_STACK + guard);
            return NULL;
        }
        top = p + guard + SPAWN_STACK;
    }
    return top;
}

/* Returns the child's pid (its exec has either happened or failed, see spawn_rep), or -1. */
static pid_t spawn(const struct spawn_arg *a) {
    void *stack = spawn_stack();
    if (!stack) return -1;
    spawn_rep[0] = spawn_rep[1] = 0;
    char **env = environ;
    pid_t pid = clone(child, stack, CLONE_VM | CLONE_VFORK | SIGCHLD, (void *)a);
    environ = env;
    return pid;
}

static void start(uint32_t id, const struct sb_msg_exec *e) {
    if (find(id)) {
        send_error(id, "exec id %u is already running", id);
        send_exit(id, SB_EXIT_NOEXEC, EEXIST);
        return;
    }
    struct job *j = NULL;
    for (int i = 0; i < MAX_JOBS && !j; i++)
        if (!jobs[i].used) j = &jobs[i];
    if (!j) {
        send_error(id, "too many concurrent commands (at most %d)", MAX_JOBS);
        send_exit(id, SB_EXIT_NOEXEC, EAGAIN);
        return;
    }
    int pin[2] = {-1, -1}, pout[2] = {-1, -1}, perr[2] = {-1, -1};
    int master = -1;
    char pts[64] = "";
    bool ok = true;
    if (e->tty) {
        master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
        ok = master >= 0 && grantpt(master) == 0 && unlockpt(master) == 0 &&
             ptsname_r(master, pts, sizeof(pts)) == 0;
        if (ok && e->rows && e->cols) {
            struct winsize ws = {.ws_row = e->rows, .ws_col = e->cols};
            (void)ioctl(master, TIOCSWINSZ, &ws);
        }
    } else {
        ok = pipe2(pin, O_CLOEXEC) == 0 && pipe2(pout, O_CLOEXEC) == 0 &&
             pipe2(perr, O_CLOEXEC) == 0;
    }
    /* secrets released into the environment go to this exec (the entrypoint) only, replacing
     * variables of the same name */
    size_t ns = 0;
    char *const *sec = init_secrets_env(&ns);
    struct sb_msg_exec with = *e;
    char **env = NULL;
    if (ok && ns) {
        env = calloc(e->envc + ns + 1, sizeof(char *));
        ok = env != NULL;
        size_t k = 0;
        for (size_t i = 0; ok && i < ns; i++)
            env[k++] = sec[i];
        for (size_t i = 0; ok && i < e->envc; i++) {
            bool dup = false;
            for (size_t s = 0; s < ns && !dup; s++) {
                size_t nl = (size_t)(strchr(sec[s], '=') - sec[s]);
                dup = strncmp(e->env[i], sec[s], nl) == 0 && e->env[i][nl] == '=';
            }
            if (!dup) env[k++] = e->env[i];
        }
        with.env = env;
        with.envc = k;
    }
    struct spawn_arg sa = {&with, pin[0], pout[1], perr[1], e->tty ? pts : NULL};
    errno = 0;
    pid_t pid = ok ? spawn(&sa) : -1;
    int saved = errno ? errno : ENOMEM;
    free(env);
    if (ns) init_secrets_env_done();
    close_fd(&pin[0]);
    close_fd(&pout[1]);
    close_fd(&perr[1]);
    if (pid < 0) {
        send_error(id, "cannot start the command: %s", strerror(saved));
        send_exit(id, SB_EXIT_NOEXEC, saved);
        close_fd(&pin[1]);
        close_fd(&pout[0]);
        close_fd(&perr[0]);
        close_fd(&master);
        return;
    }
    memset(j, 0, sizeof(*j));
    j->pend = stdin_buf[j - jobs];
    j->used = true;
    j->id = id;
    j->pid = pid;
    j->tty = e->tty;
    j->fail_kind = -1;
    if (e->tty) {
        j->in = j->out = master;
        j->err = -1;
    } else {
        j->in = pin[1];
        j->out = pout[0];
        j->err = perr[0];
    }
    (void)fcntl(j->out, F_SETFL, O_NONBLOCK);
    if (j->err >= 0) (void)fcntl(j->err, F_SETFL, O_NONBLOCK);
    if (!e->tty) (void)fcntl(j->in, F_SETFL, O_NONBLOCK);
    /* the exec either succeeded or the child said where it failed before exiting */
    int rep[2] = {spawn_rep[0], spawn_rep[1]};
    if (rep[0] != 0) {
        j->fail_errno = rep[1];
        if (rep[0] == 1) {
            send_error(id, "cannot change directory to %s: %s", e->workdir, strerror(rep[1]));
            j->fail_kind = SB_EXIT_NOEXEC;
        } else if (rep[0] == 2) {
            j->fail_kind =
                rep[1] == ENOENT || rep[1] == ENOTDIR ? SB_EXIT_NOTFOUND : SB_EXIT_NOEXEC;
            send_error(id, "%s: %s", e->argv[0], strerror(rep[1]));
        } else {
            send_error(id, "cannot drop privileges: %s", strerror(rep[1]));
            j->fail_kind = SB_EXIT_NOEXEC;
        }
    } else {
        send_simple(SB_MSG_STARTED, id, (uint32_t)pid);
    }
}

static void flush_stdin(struct job *j) {
    while (j->pend_off < j->pend_len) {
        ssize_t n = write(j->in, j->pend + j->pend_off, j->pend_len - j->pend_off);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && errno == EAGAIN) return;
        if (n <= 0) { /* the reader is gone: drop what is left */
            j->pend_off = j->pend_len;
            break;
        }
        j->pend_off += (size_t)n;
    }
    j->pend_len = j->pend_off = 0;
    if (j->close_in_after && !j->tty) close_fd(&j->in);
}

static void handle(const uint8_t *frame, size_t len) {
    struct sb_msg m;
    sb_error err = {0};
    if (sb_msg_parse(frame, len, &m, &err) < 0) {
        send_error(0, "refused a message: %s", err.msg);
        return;
    }
    struct job *j = find(m.exec_id);
    switch (m.type) {
    case SB_MSG_EXEC: start(m.exec_id, &m.exec); break;
    case SB_MSG_STDIN:
        if (!j || j->in < 0) break;
        if (m.data_len == 0) {
            j->close_in_after = true;
        } else {
            for (size_t i = 0; i < m.data_len; i++)
                j->pend[i] = m.data[i];
            j->pend_len = m.data_len;
            j->pend_off = 0;
        }
        flush_stdin(j);
        break;
    case SB_MSG_SIGNAL:
        for (int i = 0; i < MAX_JOBS; i++)
            if (jobs[i].used && (m.exec_id == 0 || jobs[i].id == m.exec_id))
                (void)kill(-jobs[i].pid, (int)m.u32);
        break;
    case SB_MSG_SECRETS:
        if (init_secrets_busy()) {
            static const char why[] = "secrets: a handshake is already running";
            sb_writer w;
            sb_writer_init(&w, 256);
            if (sb_msg_encode_reply(&w, SB_MSG_SECRETS_DONE, m.exec_id, 0, "", why,
                                    sizeof(why) - 1) == 0)
                send_frame(&w);
            sb_writer_free(&w);
        } else {
            init_secrets_release(m.exec_id, &m.secrets);
        }
        break;
    case SB_MSG_CONTEXT:
    case SB_MSG_KBS_RESP:
    case SB_MSG_EVIDENCE: break; /* an answer nobody waits for any more */
    case SB_MSG_RESIZE:
        if (j && j->tty) {
            struct winsize ws = {.ws_row = m.rows, .ws_col = m.cols};
            (void)ioctl(j->out, TIOCSWINSZ, &ws);
        }
        break;
    default: send_error(m.exec_id, "message type %u is not for sealbox-init", m.type); break;
    }
    sb_msg_free(&m);
}

int main(void) {
    /* nothing in the sandbox may ptrace init or read its memory */
    if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0) return 125;
    (void)prctl(PR_SET_NAME, "sealbox-init", 0, 0, 0); /* exec'd from a memfd */
    signal(SIGPIPE, SIG_IGN);
    sigset_t chld;
    sigemptyset(&chld);
    sigaddset(&chld, SIGCHLD);
    sigprocmask(SIG_BLOCK, &chld, NULL);
    int sfd = signalfd(-1, &chld, SFD_CLOEXEC | SFD_NONBLOCK);
    if (sfd < 0) return 125;
    (void)fcntl(CTL, F_SETFD, FD_CLOEXEC);
    init_secrets_setup(CTL, handle);
    /* bound before any workload runs, so no workload can take the name */
    int lfd = init_cdh_listen();
    send_simple(SB_MSG_READY, 0, SB_PROTO_VERSION);

    static uint8_t frame[SB_PROTO_MAX_FRAME];
    for (;;) {
        struct pollfd p[3 + 3 * MAX_JOBS];
        struct job *owner[3 + 3 * MAX_JOBS];
        int np = 0;
        bool pending = false;
        for (int i = 0; i < MAX_JOBS; i++)
            if (jobs[i].used && jobs[i].pend_len) pending = true;
        /* while a command's stdin is backed up, stop reading the host (back-pressure) */
        p[np] = (struct pollfd){.fd = pending ? -1 : CTL, .events = POLLIN};
        owner[np++] = NULL;
        p[np] = (struct pollfd){.fd = sfd, .events = POLLIN};
        owner[np++] = NULL;
        p[np] = (struct pollfd){.fd = lfd, .events = POLLIN};
        owner[np++] = NULL;
        for (int i = 0; i < MAX_JOBS; i++) {
            struct job *j = &jobs[i];
            if (!j->used) continue;
            if (j->out >= 0) {
                p[np] = (struct pollfd){.fd = j->out, .events = POLLIN};
                owner[np++] = j;
            }
            if (j->err >= 0) {
                p[np] = (struct pollfd){.fd = j->err, .events = POLLIN};
                owner[np++] = j;
            }
            if (j->pend_len) {
                p[np] = (struct pollfd){.fd = j->in, .events = POLLOUT};
                owner[np++] = j;
            }
        }
        if (poll(p, (nfds_t)np, -1) < 0) {
            if (errno == EINTR) continue;
            return 125;
        }
        if (p[1].revents) {
            struct signalfd_siginfo si;
            while (read(sfd, &si, sizeof(si)) > 0) {
            }
            reap();
            continue; /* job fds may have been closed */
        }
        if (p[2].revents & POLLIN) {
            /* the handshake may have consumed host frames and job events: what this poll
             * reported is stale now, so poll again */
            init_cdh_serve(lfd);
            continue;
        }
        for (int k = 3; k < np; k++) {
            struct job *j = owner[k];
            if (!p[k].revents || !j->used) continue;
            if (p[k].events & POLLOUT) {
                flush_stdin(j);
            } else if (p[k].fd == j->out) {
                if (!pump_out(j, j->out, SB_MSG_STDOUT)) {
                    if (j->tty) j->in = -1;
                    close_fd(&j->out);
                }
            } else if (p[k].fd == j->err) {
                if (!pump_out(j, j->err, SB_MSG_STDERR)) close_fd(&j->err);
            }
        }
        if (p[0].revents & POLLIN) {
            ssize_t n = recv(CTL, frame, sizeof(frame), MSG_TRUNC | MSG_DONTWAIT);
            if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
            if (n == 0) return 0; /* the host closed: the sandbox ends with init */
            if (n < 0) return 125;
            if ((size_t)n > sizeof(frame)) {
                send_error(0, "refused a frame of %zd bytes (limit %u)", n, SB_PROTO_MAX_FRAME);
                continue;
            }
            handle(frame, (size_t)n);
        } else if (p[0].revents & (POLLHUP | POLLERR)) {
            return 0;
        }
    }
}
