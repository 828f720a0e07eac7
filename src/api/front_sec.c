/* front_sec: how the front gives up what it does not need before it reads its first request —
 * the root identity (to the sealbox user, or nobody), every capability, new privileges, files,
 * children, and every system call outside a short allowlist. */
#include <errno.h>
#include <jansson.h>
#include <grp.h>
#include <pwd.h>
#include <seccomp.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <time.h>

#include "front_int.h"

int sb_front_drop_privileges(sb_error *err) {
    if (geteuid() != 0) return 0; /* started unprivileged: nothing to give up */
    uid_t uid = 65534;
    gid_t gid = 65534;
    struct passwd *pw = getpwnam("sealbox");
    if (!pw) pw = getpwnam("nobody");
    if (pw) {
        uid = pw->pw_uid;
        gid = pw->pw_gid;
    }
    ENSURE(uid != 0 && gid != 0, err, SB_E_POLICY, "front: refusing to run as uid/gid 0");
    if (setgroups(0, NULL) < 0) BAIL(err, SB_E_IO, "setgroups: %s", strerror(errno));
    if (setresgid(gid, gid, gid) < 0) BAIL(err, SB_E_IO, "setresgid: %s", strerror(errno));
    if (setresuid(uid, uid, uid) < 0) BAIL(err, SB_E_IO, "setresuid: %s", strerror(errno));
    /* Paranoia: the way back must be closed. */
    ENSURE(setuid(0) < 0 && geteuid() == uid, err, SB_E_INTERNAL, "front: could regain root");
    return 0;
}

/* The calls an evhttp server makes once set up: socket I/O, epoll, memory, time, exit. */
static const int ALLOW[] = {
    SCMP_SYS(read),
    SCMP_SYS(write),
    SCMP_SYS(readv),
    SCMP_SYS(writev),
    SCMP_SYS(recvfrom),
    SCMP_SYS(recvmsg),
    SCMP_SYS(sendto),
    SCMP_SYS(sendmsg),
    SCMP_SYS(close),
    SCMP_SYS(accept),
    SCMP_SYS(accept4),
    SCMP_SYS(shutdown),
    SCMP_SYS(setsockopt),
    SCMP_SYS(getsockopt),
    SCMP_SYS(getsockname),
    SCMP_SYS(getpeername),
    SCMP_SYS(fcntl),
    SCMP_SYS(epoll_wait),
    SCMP_SYS(epoll_pwait),
    SCMP_SYS(epoll_ctl),
    SCMP_SYS(poll),
    SCMP_SYS(ppoll),
    SCMP_SYS(brk),
    SCMP_SYS(munmap),
    SCMP_SYS(mremap),
    SCMP_SYS(madvise),
    SCMP_SYS(clock_gettime),
    SCMP_SYS(gettimeofday),
    SCMP_SYS(clock_nanosleep),
    SCMP_SYS(nanosleep),
    SCMP_SYS(getrandom),
    SCMP_SYS(futex),
    SCMP_SYS(getpid),
    SCMP_SYS(gettid),
    SCMP_SYS(getuid),
    SCMP_SYS(geteuid),
    SCMP_SYS(rt_sigreturn),
    SCMP_SYS(rt_sigprocmask),
    SCMP_SYS(restart_syscall),
    SCMP_SYS(exit),
    SCMP_SYS(exit_group),
    /* libevent restores the default SIGTERM/SIGINT handlers when the event base is freed at
     * the end of a drain. */
    SCMP_SYS(rt_sigaction),
#if defined(__SANITIZE_ADDRESS__)
    /* AddressSanitizer's runtime: reports, stack traces and shadow memory bookkeeping. */
    SCMP_SYS(openat),
    SCMP_SYS(newfstatat),
    SCMP_SYS(fstat),
    SCMP_SYS(readlink),
    SCMP_SYS(lseek),
    SCMP_SYS(sched_yield),
    SCMP_SYS(sigaltstack),
    SCMP_SYS(prctl),
    SCMP_SYS(mincore),
    SCMP_SYS(prlimit64),
    SCMP_SYS(getrlimit),
    SCMP_SYS(tgkill),
    SCMP_SYS(uname),
#endif
};

int sb_front_seccomp(sb_error *err) {
    /* No files and no children, even before seccomp would refuse them. (Sanitizer builds keep
     * the file limit so that a report can still reach a log file on stderr.) */
    struct rlimit zero = {0, 0};
#if !defined(__SANITIZE_ADDRESS__)
    (void)setrlimit(RLIMIT_FSIZE, &zero);
#endif
    (void)setrlimit(RLIMIT_NPROC, &zero);
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
        BAIL(err, SB_E_IO, "no_new_privs: %s", strerror(errno));
    /* jansson seeds its hash tables from /dev/urandom on first use; do it now, while open()
     * is still allowed (release builds have no openat in the filter below). */
    json_object_seed(0);
    /* glibc reads /etc/localtime on the first gmtime_r/localtime_r (evhttp's Date header, our
     * log timestamps); load it now so that no request path ever needs to open a file. */
    tzset();
    scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_KILL_PROCESS);
    ENSURE(ctx, err, SB_E_INTERNAL, "seccomp_init failed");
    int rc = 0;
    for (size_t i = 0; i < SB_ARRAY_LEN(ALLOW) && rc == 0; i++)
        rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, ALLOW[i], 0);
    /* Memory may be mapped and protected, never made executable. */
    if (rc == 0)
        rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(mmap), 1,
                              SCMP_A2(SCMP_CMP_MASKED_EQ, PROT_EXEC, 0));
    if (rc == 0)
        rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(mprotect), 1,
                              SCMP_A2(SCMP_CMP_MASKED_EQ, PROT_EXEC, 0));
    /* evbuffer asks how much a socket holds; that is the only ioctl. */
    if (rc == 0)
        rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(ioctl), 1,
                              SCMP_A1(SCMP_CMP_EQ, FIONREAD, 0));
    if (rc == 0) rc = seccomp_load(ctx);
    seccomp_release(ctx);
    if (rc < 0) BAIL(err, SB_E_IO, "seccomp: %s", strerror(-rc));
    return 0;
}
