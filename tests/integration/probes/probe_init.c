/* probe_init: the workload against sealbox-init (pid 1, another uid, non-dumpable) and the
 * terminal — ptrace, cross-process memory, /proc/1 magic links, signals, TIOCSTI. On the host
 * the same attacks work against a child of the probe. */
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <sys/ioctl.h>
#include <sys/ptrace.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>

#include "probe.h"

static pid_t victim(void) {
    pid_t p = fork();
    if (p == 0) {
        pause();
        _exit(0);
    }
    usleep(20000);
    return p;
}
static void reap(pid_t p) {
    kill(p, SIGKILL);
    waitpid(p, NULL, 0);
}

static int ptrace_in(const char *a) {
    (void)a;
    return want_errno("ptrace(ATTACH, 1)", ptrace(PTRACE_ATTACH, 1, 0, 0), EPERM);
}
static int ptrace_host(const char *a) {
    (void)a;
    pid_t v = victim();
    int r = want_ok("ptrace(ATTACH, child)", ptrace(PTRACE_ATTACH, v, 0, 0));
    reap(v);
    return r;
}

static long vm_read(pid_t pid) {
    static char src[8] = "secret", dst[8];
    struct iovec l = {dst, sizeof(dst)}, r = {src, sizeof(src)};
    return process_vm_readv(pid, &l, 1, &r, 1, 0);
}
static int vmread_in(const char *a) {
    (void)a;
    return want_errno("process_vm_readv(1)", vm_read(1), EPERM);
}
static int vmread_host(const char *a) {
    (void)a;
    pid_t v = victim();
    int r = want_ok("process_vm_readv(child)", vm_read(v));
    reap(v);
    return r;
}

static int open_proc(pid_t pid, const char *what, int flags) {
    char p[64];
    snprintf(p, sizeof(p), "/proc/%d/%s", (int)pid, what);
    return open(p, flags);
}
static int mem_in(const char *a) {
    (void)a;
    return want_errno("open /proc/1/mem", open_proc(1, "mem", O_RDONLY), EACCES);
}
static int mem_host(const char *a) {
    (void)a;
    pid_t v = victim();
    int r = want_ok("open /proc/child/mem", open_proc(v, "mem", O_RDONLY));
    reap(v);
    return r;
}
static int environ_in(const char *a) {
    (void)a;
    return want_errno("open /proc/1/environ", open_proc(1, "environ", O_RDONLY), EACCES);
}
static int environ_host(const char *a) {
    (void)a;
    pid_t v = victim();
    int r = want_ok("open /proc/child/environ", open_proc(v, "environ", O_RDONLY));
    reap(v);
    return r;
}

/* /proc/1/root and /proc/1/cwd: a way into init's mount view (runc CVE-2019-5736 family) */
static int root_in(const char *a) {
    (void)a;
    struct stat st;
    return want_errno("stat /proc/1/root/", stat("/proc/1/root/", &st), EACCES);
}
static int root_host(const char *a) {
    (void)a;
    pid_t v = victim();
    char p[64];
    struct stat st;
    snprintf(p, sizeof(p), "/proc/%d/root/", (int)v);
    int r = want_ok("stat /proc/child/root/", stat(p, &st));
    reap(v);
    return r;
}
/* /proc/1/exe: sealbox-init's binary (a sealed memfd copy; the host binary is never reachable) */
static int exe_in(const char *a) {
    (void)a;
    return want_errno("open /proc/1/exe", open_proc(1, "exe", O_RDONLY), EACCES);
}
static int exe_host(const char *a) {
    (void)a;
    pid_t v = victim();
    int r = want_ok("open /proc/child/exe", open_proc(v, "exe", O_RDONLY));
    reap(v);
    return r;
}
static int fd_in(const char *a) {
    (void)a;
    return want_errno("open /proc/1/fd/3 (init's control socket)", open_proc(1, "fd/3", O_RDWR),
                      EACCES);
}
static int fd_host(const char *a) {
    (void)a;
    pid_t v = victim();
    int r = want_ok("open /proc/child/fd/1", open_proc(v, "fd/1", O_WRONLY));
    reap(v);
    return r;
}

static int kill_term_in(const char *a) {
    (void)a;
    return want_errno("kill(1, SIGTERM)", kill(1, SIGTERM), EPERM);
}
static int kill_term_host(const char *a) {
    (void)a;
    pid_t v = victim();
    int r = want_ok("kill(child, SIGTERM)", kill(v, SIGTERM));
    reap(v);
    return r;
}
static int kill_kill_in(const char *a) {
    (void)a; /* SIGKILL from inside a pid namespace never reaches its init */
    if (kill(1, SIGKILL) == 0 || errno != EPERM) {
        /* whichever answer, init must still be there */
    }
    usleep(100000);
    char comm[64] = "";
    int fd = open("/proc/1/comm", O_RDONLY);
    ssize_t n = fd >= 0 ? read(fd, comm, sizeof(comm) - 1) : -1;
    if (n > 0 && strncmp(comm, "sealbox-init", 12) == 0) return PROBE_OK;
    fprintf(stderr, "init is gone after kill(1, SIGKILL)\n");
    return PROBE_FAIL;
}
static int kill_kill_host(const char *a) {
    (void)a;
    pid_t v = victim();
    kill(v, SIGKILL);
    int st;
    waitpid(v, &st, 0);
    return WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL ? PROBE_OK : PROBE_FAIL;
}

static int pty_slave(void) {
    int m = posix_openpt(O_RDWR | O_NOCTTY);
    if (m < 0 || grantpt(m) != 0 || unlockpt(m) != 0) return -1;
    return open(ptsname(m), O_RDWR | O_NOCTTY);
}
static int tiocsti_in(const char *a) {
    (void)a;
    int s = pty_slave();
    char c = 'x';
    return want_errno("ioctl(TIOCSTI)", ioctl(s, TIOCSTI, &c), EPERM);
}
static int tiocsti_host(const char *a) {
    (void)a;
    int s = pty_slave();
    char c = 'x';
    return want_ok("ioctl(TIOCSTI)", ioctl(s, TIOCSTI, &c));
}
static int tiocsti_hi_in(const char *a) {
    (void)a;
    int s = pty_slave();
    char c = 'x';
    return want_errno("ioctl(TIOCSTI | 1<<32)", syscall(__NR_ioctl, s, (1UL << 32) | TIOCSTI, &c),
                      EPERM);
}
static int tiocsti_hi_host(const char *a) {
    (void)a;
    int s = pty_slave();
    char c = 'x';
    return want_ok("ioctl(TIOCSTI | 1<<32)", syscall(__NR_ioctl, s, (1UL << 32) | TIOCSTI, &c));
}

static const struct probe PROBES[] = {
    {"ptrace_init", ptrace_in, ptrace_host},
    {"process_vm_readv_init", vmread_in, vmread_host},
    {"proc1_mem", mem_in, mem_host},
    {"proc1_environ", environ_in, environ_host},
    {"proc1_root", root_in, root_host},
    {"proc1_exe", exe_in, exe_host},
    {"proc1_ctl_fd", fd_in, fd_host},
    {"signal_init", kill_term_in, kill_term_host},
    {"sigkill_init", kill_kill_in, kill_kill_host},
    {"tiocsti", tiocsti_in, tiocsti_host},
    {"tiocsti_high_bits", tiocsti_hi_in, tiocsti_hi_host},
};

PROBES_MAIN(PROBES)
