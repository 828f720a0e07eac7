/* seccomp: the jail's syscall policy — an allowlist by syscall number whose default answer is
 * ENOSYS, the architecture checked first, and explicit EPERM for the escape checklist's calls. */
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <sys/mman.h>
#include <unistd.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <sys/prctl.h>
#include <linux/sched.h>
#include <seccomp.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>

#include <linux/netlink.h>

#include "internal.h"

/* Allowed without conditions. Anything absent (including every syscall newer than this list:
 * statmount, listmount, mseal, ...) gets ENOSYS, so libc falls back or fails cleanly. */
static const int ALLOW[] = {
    __NR_read,
    __NR_write,
    __NR_open,
    __NR_close,
    __NR_stat,
    __NR_fstat,
    __NR_lstat,
    __NR_poll,
    __NR_lseek,
    __NR_mmap,
    __NR_mprotect,
    __NR_munmap,
    __NR_brk,
    __NR_rt_sigaction,
    __NR_rt_sigprocmask,
    __NR_rt_sigreturn,
    __NR_pread64,
    __NR_pwrite64,
    __NR_readv,
    __NR_writev,
    __NR_access,
    __NR_pipe,
    __NR_select,
    __NR_sched_yield,
    __NR_mremap,
    __NR_msync,
    __NR_mincore,
    __NR_madvise,
    __NR_shmget,
    __NR_shmat,
    __NR_shmctl,
    __NR_dup,
    __NR_dup2,
    __NR_pause,
    __NR_nanosleep,
    __NR_getitimer,
    __NR_alarm,
    __NR_setitimer,
    __NR_getpid,
    __NR_sendfile,
    __NR_connect,
    __NR_accept,
    __NR_sendto,
    __NR_recvfrom,
    __NR_sendmsg,
    __NR_recvmsg,
    __NR_shutdown,
    __NR_bind,
    __NR_listen,
    __NR_getsockname,
    __NR_getpeername,
    __NR_socketpair,
    __NR_setsockopt,
    __NR_getsockopt,
    __NR_fork,
    __NR_vfork,
    __NR_execve,
    __NR_exit,
    __NR_wait4,
    __NR_kill,
    __NR_uname,
    __NR_semget,
    __NR_semop,
    __NR_semctl,
    __NR_shmdt,
    __NR_msgget,
    __NR_msgsnd,
    __NR_msgrcv,
    __NR_msgctl,
    __NR_fcntl,
    __NR_flock,
    __NR_fsync,
    __NR_fdatasync,
    __NR_truncate,
    __NR_ftruncate,
    __NR_getdents,
    __NR_getcwd,
    __NR_chdir,
    __NR_fchdir,
    __NR_rename,
    __NR_mkdir,
    __NR_rmdir,
    __NR_creat,
    __NR_link,
    __NR_unlink,
    __NR_symlink,
    __NR_readlink,
    __NR_chmod,
    __NR_fchmod,
    __NR_chown,
    __NR_fchown,
    __NR_lchown,
    __NR_umask,
    __NR_gettimeofday,
    __NR_getrlimit,
    __NR_getrusage,
    __NR_sysinfo,
    __NR_times,
    __NR_getuid,
    __NR_getgid,
    __NR_setuid,
    __NR_setgid,
    __NR_geteuid,
    __NR_getegid,
    __NR_setpgid,
    __NR_getppid,
    __NR_getpgrp,
    __NR_setsid,
    __NR_setreuid,
    __NR_setregid,
    __NR_getgroups,
    __NR_setgroups,
    __NR_setresuid,
    __NR_getresuid,
    __NR_setresgid,
    __NR_getresgid,
    __NR_getpgid,
    __NR_setfsuid,
    __NR_setfsgid,
    __NR_getsid,
    __NR_capget,
    __NR_capset,
    __NR_rt_sigpending,
    __NR_rt_sigtimedwait,
    __NR_rt_sigqueueinfo,
    __NR_rt_sigsuspend,
    __NR_sigaltstack,
    __NR_utime,
    __NR_mknod,
    __NR_statfs,
    __NR_fstatfs,
    __NR_getpriority,
    __NR_setpriority,
    __NR_sched_setparam,
    __NR_sched_getparam,
    __NR_sched_setscheduler,
    __NR_sched_getscheduler,
    __NR_sched_get_priority_max,
    __NR_sched_get_priority_min,
    __NR_sched_rr_get_interval,
    __NR_mlock,
    __NR_munlock,
    __NR_mlockall,
    __NR_munlockall,
    __NR_prctl,
    __NR_arch_prctl,
    __NR_setrlimit,
    __NR_sync,
    __NR_gettid,
    __NR_readahead,
    __NR_setxattr,
    __NR_lsetxattr,
    __NR_fsetxattr,
    __NR_getxattr,
    __NR_lgetxattr,
    __NR_fgetxattr,
    __NR_listxattr,
    __NR_llistxattr,
    __NR_flistxattr,
    __NR_removexattr,
    __NR_lremovexattr,
    __NR_fremovexattr,
    __NR_tkill,
    __NR_time,
    __NR_futex,
    __NR_sched_setaffinity,
    __NR_sched_getaffinity,
    __NR_io_setup,
    __NR_io_destroy,
    __NR_io_getevents,
    __NR_io_submit,
    __NR_io_cancel,
    __NR_epoll_create,
    __NR_remap_file_pages,
    __NR_getdents64,
    __NR_set_tid_address,
    __NR_restart_syscall,
    __NR_semtimedop,
    __NR_fadvise64,
    __NR_timer_create,
    __NR_timer_settime,
    __NR_timer_gettime,
    __NR_timer_getoverrun,
    __NR_timer_delete,
    __NR_clock_gettime,
    __NR_clock_getres,
    __NR_clock_nanosleep,
    __NR_exit_group,
    __NR_epoll_wait,
    __NR_epoll_ctl,
    __NR_tgkill,
    __NR_utimes,
    __NR_mq_open,
    __NR_mq_unlink,
    __NR_mq_timedsend,
    __NR_mq_timedreceive,
    __NR_mq_notify,
    __NR_mq_getsetattr,
    __NR_waitid,
    __NR_ioprio_set,
    __NR_ioprio_get,
    __NR_inotify_init,
    __NR_inotify_add_watch,
    __NR_inotify_rm_watch,
    __NR_openat,
    __NR_mkdirat,
    __NR_mknodat,
    __NR_fchownat,
    __NR_futimesat,
    __NR_newfstatat,
    __NR_unlinkat,
    __NR_renameat,
    __NR_linkat,
    __NR_symlinkat,
    __NR_readlinkat,
    __NR_fchmodat,
    __NR_faccessat,
    __NR_pselect6,
    __NR_ppoll,
    __NR_set_robust_list,
    __NR_get_robust_list,
    __NR_splice,
    __NR_tee,
    __NR_sync_file_range,
    __NR_vmsplice,
    __NR_utimensat,
    __NR_epoll_pwait,
    __NR_signalfd,
    __NR_timerfd_create,
    __NR_eventfd,
    __NR_fallocate,
    __NR_timerfd_settime,
    __NR_timerfd_gettime,
    __NR_accept4,
    __NR_signalfd4,
    __NR_eventfd2,
    __NR_epoll_create1,
    __NR_dup3,
    __NR_pipe2,
    __NR_inotify_init1,
    __NR_preadv,
    __NR_pwritev,
    __NR_rt_tgsigqueueinfo,
    __NR_recvmmsg,
    __NR_prlimit64,
    __NR_syncfs,
    __NR_sendmmsg,
    __NR_getcpu,
    __NR_sched_setattr,
    __NR_sched_getattr,
    __NR_renameat2,
    __NR_seccomp,
    __NR_getrandom,
    __NR_memfd_create,
    __NR_execveat,
    __NR_membarrier,
    __NR_mlock2,
    __NR_copy_file_range,
    __NR_preadv2,
    __NR_pwritev2,
    __NR_pkey_mprotect,
    __NR_pkey_alloc,
    __NR_pkey_free,
    __NR_statx,
    __NR_rseq,
    __NR_pidfd_send_signal,
    __NR_pidfd_open,
    __NR_close_range,
    __NR_openat2,
    __NR_faccessat2,
    __NR_epoll_pwait2,
    __NR_landlock_create_ruleset,
    __NR_landlock_add_rule,
    __NR_landlock_restrict_self,
    __NR_futex_waitv,
    __NR_get_mempolicy,
};

/* Refused with EPERM: the escape checklist (namespaces, both mount APIs, modules, kexec, keys,
 * kernel attack surface, cross-process memory, host clock and system state). */
static const int DENY[] = {
    __NR_setns,
    __NR_mount,
    __NR_umount2,
    __NR_pivot_root,
    __NR_chroot,
    __NR_fsopen,
    __NR_fsconfig,
    __NR_fsmount,
    __NR_fspick,
    __NR_open_tree,
    __NR_move_mount,
    __NR_mount_setattr,
    __NR_open_by_handle_at,
    __NR_name_to_handle_at,
    __NR_init_module,
    __NR_finit_module,
    __NR_delete_module,
    __NR_kexec_load,
    __NR_kexec_file_load,
    __NR_keyctl,
    __NR_add_key,
    __NR_request_key,
    __NR_bpf,
    __NR_perf_event_open,
    __NR_userfaultfd,
    __NR_io_uring_setup,
    __NR_io_uring_enter,
    __NR_io_uring_register,
    __NR_ptrace,
    __NR_process_vm_readv,
    __NR_process_vm_writev,
    __NR_kcmp,
    __NR_pidfd_getfd,
    __NR_process_madvise,
    __NR_settimeofday,
    __NR_clock_settime,
    __NR_clock_adjtime,
    __NR_adjtimex,
    __NR_reboot,
    __NR_swapon,
    __NR_swapoff,
    __NR_acct,
    __NR_quotactl,
    __NR_quotactl_fd,
    __NR_iopl,
    __NR_ioperm,
    __NR_lookup_dcookie,
    __NR_mbind,
    __NR_move_pages,
    __NR_set_mempolicy,
    __NR_migrate_pages,
    __NR_syslog,
    __NR_vhangup,
    __NR_modify_ldt,
    __NR_uselib,
    __NR_ustat,
    __NR_sysfs,
    __NR__sysctl,
    __NR_fanotify_init,
    __NR_sethostname,
    __NR_setdomainname,
    __NR_nfsservctl,
};

static void sb_fmt_msg(char *out, const char *fmt, ...) SB_PRINTF(2, 3);
static void sb_fmt_msg(char *out, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    (void)vsnprintf(out, SB_ERRMSG_MAX, fmt, ap);
    va_end(ap);
}

/* Namespace flags: refused in clone() and unshare(). clone() keeps its exit signal in the low
 * byte, where CLONE_NEWTIME (0x80) would sit, so time namespaces can only be asked for through
 * unshare() and clone3(), both refused. */
#define NS_FLAGS                                                                              \
    ((uint64_t)(CLONE_NEWNS | CLONE_NEWCGROUP | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWUSER | \
                CLONE_NEWPID | CLONE_NEWNET))
#define SB_CLONE_NEWTIME 0x00000080ull

/* personality(): only the values glibc and common tools use; READ_IMPLIES_EXEC and
 * ADDR_NO_RANDOMIZE are refused. */
static const uint64_t PERSONALITY_OK[] = {0x0, 0x8, 0x20000, 0x20008, 0xffffffff};

size_t sb_seccomp_allowlist_len(void) {
    /* unconditional + the argument-checked ones: clone, unshare, ioctl, socket, personality */
    return SB_ARRAY_LEN(ALLOW) + 5;
}

static int add(scmp_filter_ctx ctx, uint32_t action, int nr, unsigned n,
               const struct scmp_arg_cmp *a, sb_error *err) {
    int rc = seccomp_rule_add_exact_array(ctx, action, nr, n, a);
    if (rc < 0)
        return sb_error_set(err, SB_E_INTERNAL, "seccomp: rule for syscall %d: %s", nr,
                            strerror(-rc));
    return 0;
}

static int build(scmp_filter_ctx ctx, sb_error *err) {
    for (size_t i = 0; i < SB_ARRAY_LEN(ALLOW); i++)
        TRY(add(ctx, SCMP_ACT_ALLOW, ALLOW[i], 0, NULL, err));
    for (size_t i = 0; i < SB_ARRAY_LEN(DENY); i++)
        TRY(add(ctx, SCMP_ACT_ERRNO(EPERM), DENY[i], 0, NULL, err));
    /* clone3 passes its flags in memory that seccomp cannot read: it is left to the default
     * answer, ENOSYS, which makes libc fall back to clone(), whose flags are checked below. */

    struct scmp_arg_cmp c;
    c = SCMP_A0(SCMP_CMP_MASKED_EQ, NS_FLAGS, 0);
    TRY(add(ctx, SCMP_ACT_ALLOW, __NR_clone, 1, &c, err));
    /* Any namespace bit set: EPERM (one rule per bit, since rules are AND-ed conditions). */
    for (int bit = 0; bit < 64; bit++) {
        uint64_t f = 1ull << bit;
        if (!(NS_FLAGS & f)) continue;
        c = SCMP_A0(SCMP_CMP_MASKED_EQ, f, f);
        TRY(add(ctx, SCMP_ACT_ERRNO(EPERM), __NR_clone, 1, &c, err));
    }
    uint64_t unshare_ns = NS_FLAGS | SB_CLONE_NEWTIME;
    c = SCMP_A0(SCMP_CMP_MASKED_EQ, unshare_ns, 0);
    TRY(add(ctx, SCMP_ACT_ALLOW, __NR_unshare, 1, &c, err));
    for (int bit = 0; bit < 64; bit++) {
        uint64_t f = 1ull << bit;
        if (!(unshare_ns & f)) continue;
        c = SCMP_A0(SCMP_CMP_MASKED_EQ, f, f);
        TRY(add(ctx, SCMP_ACT_ERRNO(EPERM), __NR_unshare, 1, &c, err));
    }

    /* ioctl and socket are decided by the argument filter (arg_filter below). */
    TRY(add(ctx, SCMP_ACT_ALLOW, __NR_ioctl, 0, NULL, err));
    TRY(add(ctx, SCMP_ACT_ALLOW, __NR_socket, 0, NULL, err));

    for (size_t i = 0; i < SB_ARRAY_LEN(PERSONALITY_OK); i++) {
        c = SCMP_A0(SCMP_CMP_EQ, PERSONALITY_OK[i], 0);
        TRY(add(ctx, SCMP_ACT_ALLOW, __NR_personality, 1, &c, err));
    }
    return 0;
}

/* A second, hand-written filter for what libseccomp cannot say: "every value except these".
 * The kernel reads ioctl's request and socket's arguments as 32-bit ints, so only the low
 * words are compared (CVE-2019-10063 hid TIOCSTI in the high bits). Stacked filters take the
 * most restrictive answer, so this one only needs to refuse; the main filter allows both. */
#define LD_W(off) BPF_STMT(BPF_LD | BPF_W | BPF_ABS, (off))
#define JEQ(k, t, f) BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (k), (t), (f))
#define RET(v) BPF_STMT(BPF_RET | BPF_K, (v))
#define ARG_LO(n) (offsetof(struct seccomp_data, args) + 8 * (n))

static const struct sock_filter ARG_FILTER[] = {
    /* 0 */ LD_W(offsetof(struct seccomp_data, arch)),
    /* 1 */ JEQ(AUDIT_ARCH_X86_64, 0, 18), /* other ABIs: the main filter kills them */
    /* 2 */ LD_W(offsetof(struct seccomp_data, nr)),
    /* 3 */ JEQ(__NR_ioctl, 2, 0),
    /* 4 */ JEQ(__NR_socket, 6, 0),
    /* 5 */ RET(SECCOMP_RET_ALLOW),
    /* 6 ioctl */ LD_W(ARG_LO(1)),
    /* 7 */ JEQ(TIOCSTI, 2, 0),
    /* 8 */ JEQ(TIOCLINUX, 1, 0),
    /* 9 */ RET(SECCOMP_RET_ALLOW),
    /* 10 */ RET(SECCOMP_RET_ERRNO | EPERM),
    /* 11 socket */ LD_W(ARG_LO(0)),
    /* 12 */ JEQ(AF_UNIX, 7, 0),
    /* 13 */ JEQ(AF_INET, 6, 0),
    /* 14 */ JEQ(AF_INET6, 5, 0),
    /* 15 */ JEQ(AF_NETLINK, 1, 0),
    /* 16 */ RET(SECCOMP_RET_ERRNO | EAFNOSUPPORT),
    /* 17 */ LD_W(ARG_LO(2)),
    /* 18 */ JEQ(NETLINK_ROUTE, 1, 0),
    /* 19 */ RET(SECCOMP_RET_ERRNO | EAFNOSUPPORT),
    /* 20 */ RET(SECCOMP_RET_ALLOW),
};

void sb_seccomp_reference_arg(const struct sock_filter **f, size_t *n) {
    *f = ARG_FILTER;
    *n = SB_ARRAY_LEN(ARG_FILTER);
}

/* The reference: the policy compiled by libseccomp (rules above) and stacked under ARG_FILTER,
 * as it was loaded until the compact program below replaced both. Tests check, instruction by
 * instruction through a BPF interpreter, that the two give the same answer for every syscall
 * number, architecture and the argument values that matter. */
static pthread_once_t compiled_once = PTHREAD_ONCE_INIT;
static struct sock_filter *compiled;
static size_t compiled_len;
static char compiled_msg[SB_ERRMSG_MAX];

static void compile_once(void) {
    sb_error err = {0};
    scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ERRNO(ENOSYS));
    int mfd = -1;
    if (!ctx) {
        sb_fmt_msg(compiled_msg, "seccomp: seccomp_init failed");
        return;
    }
    /* The native architecture only: 32-bit (int 0x80) and x32 entries kill the process. */
    if (seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_KILL_PROCESS) < 0) {
        sb_fmt_msg(compiled_msg, "seccomp: cannot set filter attributes");
        goto out;
    }
    (void)seccomp_attr_set(ctx, SCMP_FLTATR_CTL_OPTIMIZE, 2); /* binary tree when supported */
    if (build(ctx, &err) < 0) {
        sb_fmt_msg(compiled_msg, "%s", err.msg);
        goto out;
    }
    mfd = memfd_create("sealbox-seccomp", MFD_CLOEXEC);
    int rc = mfd < 0 ? -errno : seccomp_export_bpf(ctx, mfd);
    off_t len = rc == 0 ? lseek(mfd, 0, SEEK_END) : -1;
    if (len <= 0 || len % (off_t)sizeof(struct sock_filter) != 0 || len > 65536) {
        sb_fmt_msg(compiled_msg, "seccomp: exporting the filter failed (%d)", rc);
        goto out;
    }
    struct sock_filter *f = malloc((size_t)len);
    if (!f || pread(mfd, f, (size_t)len, 0) != len) {
        free(f);
        sb_fmt_msg(compiled_msg, "seccomp: reading the exported filter failed");
        goto out;
    }
    compiled = f;
    compiled_len = (size_t)len / sizeof(struct sock_filter);
out:
    if (mfd >= 0) close(mfd);
    seccomp_release(ctx);
}

int sb_seccomp_reference(const struct sock_filter **f, size_t *n, sb_error *err) {
    pthread_once(&compiled_once, compile_once);
    if (!compiled) return sb_error_set(err, SB_E_INTERNAL, "%s", compiled_msg);
    *f = compiled;
    *n = compiled_len;
    return 0;
}

/* ---- the compact program ----------------------------------------------------------------------
 * One filter instead of two (libseccomp's 508 instructions and ARG_FILTER's 21): the kernel
 * checks, converts and JIT-compiles every instruction of every filter on each load, which cost
 * about 0.35 ms of CPU per sandbox, and libseccomp needed 2 ms per process to compile. The
 * policy is the same tables: each syscall number gets one action (allow, EPERM, default ENOSYS,
 * or one of the argument checks below); consecutive numbers with the same action form a range,
 * and a binary search over the ranges' first numbers (jge) reaches the right one in at most
 * ceil(log2(ranges)) jumps. */

enum act { A_ENOSYS, A_ALLOW, A_EPERM, A_CLONE, A_UNSHARE, A_PERSONALITY, A_IOCTL, A_SOCKET };
#define NR_SPAN 1024 /* syscall numbers with an action of their own lie below this */
#define MAX_RANGES 256
#define MAX_PROG 1024
#define ARG_HI(n) (ARG_LO(n) + 4)
#define JGE(k, t, f) BPF_JUMP(BPF_JMP | BPF_JGE | BPF_K, (k), (t), (f))
#define JSET(k, t, f) BPF_JUMP(BPF_JMP | BPF_JSET | BPF_K, (k), (t), (f))
#define JA(k) BPF_JUMP(BPF_JMP | BPF_JA, (k), 0, 0)
#define X32_SYSCALL_BIT 0x40000000u

/* BPF_STMT/BPF_JUMP are initialisers: a compound literal makes them an argument */
#define EMIT(p, ins) emit((p), (struct sock_filter)ins)

struct prog {
    struct sock_filter *f;
    size_t n;
    bool overflow;
};

static void emit(struct prog *p, struct sock_filter ins) {
    if (p->n >= MAX_PROG) {
        p->overflow = true;
        return;
    }
    p->f[p->n++] = ins;
}

struct range {
    uint32_t lo;
    enum act act;
};

/* Instructions of the search over ranges a..b (one leaf per range). */
static size_t tree_len(size_t a, size_t b) {
    if (a == b) return 1;
    size_t mid = a + (b - a + 1) / 2;
    return 1 + tree_len(a, mid - 1) + tree_len(mid, b);
}

/* Leaves return at once or jump to their argument check, whose start is special[act]. */
static void emit_tree(struct prog *p, const struct range *r, size_t a, size_t b, size_t *fixups,
                      size_t *nfix) {
    if (a == b) {
        switch (r[a].act) {
        case A_ALLOW: EMIT(p, RET(SECCOMP_RET_ALLOW)); break;
        case A_EPERM: EMIT(p, RET(SECCOMP_RET_ERRNO | EPERM)); break;
        case A_ENOSYS: EMIT(p, RET(SECCOMP_RET_ERRNO | ENOSYS)); break;
        default: /* target known once the tree is laid out: JA offsets are patched */
            fixups[(*nfix)++] = p->n;
            EMIT(p, JA((uint32_t)r[a].act));
            break;
        }
        return;
    }
    size_t mid = a + (b - a + 1) / 2;
    size_t left = tree_len(a, mid - 1);
    if (left > 255) p->overflow = true; /* a conditional jump reaches 255 instructions */
    EMIT(p, JGE(r[mid].lo, (uint8_t)left, 0));
    emit_tree(p, r, a, mid - 1, fixups, nfix);
    emit_tree(p, r, mid, b, fixups, nfix);
}

static int compact_build(struct prog *p, sb_error *err) {
    static enum act act[NR_SPAN];
    memset(act, 0, sizeof(act));
    for (size_t i = 0; i < SB_ARRAY_LEN(ALLOW); i++)
        act[ALLOW[i]] = A_ALLOW;
    for (size_t i = 0; i < SB_ARRAY_LEN(DENY); i++)
        act[DENY[i]] = A_EPERM;
    act[__NR_clone] = A_CLONE;
    act[__NR_unshare] = A_UNSHARE;
    act[__NR_personality] = A_PERSONALITY;
    act[__NR_ioctl] = A_IOCTL;
    act[__NR_socket] = A_SOCKET;
    static struct range r[MAX_RANGES];
    size_t nr = 0;
    for (uint32_t i = 0; i < NR_SPAN; i++) {
        if (nr > 0 && r[nr - 1].act == act[i]) continue;
        if (nr == MAX_RANGES) return sb_error_set(err, SB_E_LIMIT, "seccomp: too many ranges");
        r[nr++] = (struct range){i, act[i]};
    }
    /* numbers up to the x32 bit that no table names: the default */
    if (r[nr - 1].act != A_ENOSYS) {
        if (nr == MAX_RANGES) return sb_error_set(err, SB_E_LIMIT, "seccomp: too many ranges");
        r[nr++] = (struct range){NR_SPAN, A_ENOSYS};
    }

    /* the native architecture only: x32 numbers (same audit arch, X32_SYSCALL_BIT set) and
     * every other ABI kill the process */
    EMIT(p, LD_W(offsetof(struct seccomp_data, arch)));
    EMIT(p, JEQ(AUDIT_ARCH_X86_64, 1, 0));
    EMIT(p, RET(SECCOMP_RET_KILL_PROCESS));
    EMIT(p, LD_W(offsetof(struct seccomp_data, nr)));
    /* -1 is no syscall (a tracer's way to skip one): the default answer, as libseccomp gave */
    EMIT(p, JEQ(0xffffffffu, 0, 1));
    EMIT(p, RET(SECCOMP_RET_ERRNO | ENOSYS));
    EMIT(p, JGE(X32_SYSCALL_BIT, 0, 1));
    EMIT(p, RET(SECCOMP_RET_KILL_PROCESS));

    static size_t fixups[MAX_RANGES];
    size_t nfix = 0;
    size_t special[A_SOCKET + 1] = {0};
    emit_tree(p, r, 0, nr - 1, fixups, &nfix);

    /* clone and unshare: no namespace flag (clone's low byte is its exit signal, where
     * CLONE_NEWTIME would sit; unshare has no such byte). The kernel takes the flags as an
     * unsigned long, but every namespace flag is in the low word. */
    special[A_CLONE] = p->n;
    EMIT(p, LD_W(ARG_LO(0)));
    EMIT(p, JSET((uint32_t)NS_FLAGS, 0, 1));
    EMIT(p, RET(SECCOMP_RET_ERRNO | EPERM));
    EMIT(p, RET(SECCOMP_RET_ALLOW));
    special[A_UNSHARE] = p->n;
    EMIT(p, LD_W(ARG_LO(0)));
    EMIT(p, JSET((uint32_t)(NS_FLAGS | SB_CLONE_NEWTIME), 0, 1));
    EMIT(p, RET(SECCOMP_RET_ERRNO | EPERM));
    EMIT(p, RET(SECCOMP_RET_ALLOW));
    /* personality: one of PERSONALITY_OK, compared on all 64 bits as libseccomp did */
    special[A_PERSONALITY] = p->n;
    size_t np = SB_ARRAY_LEN(PERSONALITY_OK);
    EMIT(p, LD_W(ARG_HI(0)));
    EMIT(p, JEQ(0, 0, (uint8_t)(np + 1)));
    EMIT(p, LD_W(ARG_LO(0)));
    for (size_t i = 0; i < np; i++)
        EMIT(p, JEQ((uint32_t)PERSONALITY_OK[i], (uint8_t)(np - i), 0));
    EMIT(p, RET(SECCOMP_RET_ERRNO | ENOSYS));
    EMIT(p, RET(SECCOMP_RET_ALLOW));
    /* ioctl: TIOCSTI and TIOCLINUX refused, on the low word as the kernel reads the request */
    special[A_IOCTL] = p->n;
    EMIT(p, LD_W(ARG_LO(1)));
    EMIT(p, JEQ(TIOCSTI, 2, 0));
    EMIT(p, JEQ(TIOCLINUX, 1, 0));
    EMIT(p, RET(SECCOMP_RET_ALLOW));
    EMIT(p, RET(SECCOMP_RET_ERRNO | EPERM));
    /* socket: unix, inet, inet6, and netlink only for NETLINK_ROUTE */
    special[A_SOCKET] = p->n;
    EMIT(p, LD_W(ARG_LO(0)));
    EMIT(p, JEQ(AF_UNIX, 7, 0));
    EMIT(p, JEQ(AF_INET, 6, 0));
    EMIT(p, JEQ(AF_INET6, 5, 0));
    EMIT(p, JEQ(AF_NETLINK, 1, 0));
    EMIT(p, RET(SECCOMP_RET_ERRNO | EAFNOSUPPORT));
    EMIT(p, LD_W(ARG_LO(2)));
    EMIT(p, JEQ(NETLINK_ROUTE, 1, 0));
    EMIT(p, RET(SECCOMP_RET_ERRNO | EAFNOSUPPORT));
    EMIT(p, RET(SECCOMP_RET_ALLOW));

    if (p->overflow) return sb_error_set(err, SB_E_LIMIT, "seccomp: the program is too long");
    for (size_t i = 0; i < nfix; i++) {
        size_t at = fixups[i];
        enum act a = (enum act)p->f[at].k;
        p->f[at].k = (uint32_t)(special[a] - (at + 1));
    }
    return 0;
}

/* Built once per process (microseconds; pthread_once): a pure function of the tables. */
static pthread_once_t compact_once = PTHREAD_ONCE_INIT;
static struct sock_filter compact[MAX_PROG];
static size_t compact_len;
static char compact_msg[SB_ERRMSG_MAX];

static void compact_once_fn(void) {
    sb_error err = {0};
    struct prog p = {.f = compact};
    if (compact_build(&p, &err) < 0) {
        sb_fmt_msg(compact_msg, "%s", err.msg);
        return;
    }
    compact_len = p.n;
}

int sb_seccomp_program(const struct sock_filter **f, size_t *n, sb_error *err) {
    pthread_once(&compact_once, compact_once_fn);
    if (!compact_len) return sb_error_set(err, SB_E_INTERNAL, "%s", compact_msg);
    *f = compact;
    *n = compact_len;
    return 0;
}

int sb_seccomp_prepare(sb_error *err) {
    const struct sock_filter *f;
    size_t n;
    return sb_seccomp_program(&f, &n, err);
}

int sb_seccomp_load(sb_error *err) {
    const struct sock_filter *f;
    size_t n;
    TRY(sb_seccomp_program(&f, &n, err));
    /* no_new_privs first: loading a filter needs it, and it is part of the policy anyway. */
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
        return sb_error_set(err, SB_E_IO, "seccomp: PR_SET_NO_NEW_PRIVS: %s", strerror(errno));
    struct sock_fprog prog = {.len = (unsigned short)n, .filter = (struct sock_filter *)f};
    if (syscall(__NR_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog) != 0)
        return sb_error_set(err, SB_E_IO, "seccomp: loading the filter: %s", strerror(errno));
    return 0;
}
