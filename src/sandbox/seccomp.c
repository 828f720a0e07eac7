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

#include "sandbox.h"

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

static int load_arg_filter(sb_error *err) {
    struct sock_filter f[] = {
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
    struct sock_fprog prog = {.len = (unsigned short)SB_ARRAY_LEN(f), .filter = f};
    if (syscall(__NR_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog) != 0)
        return sb_error_set(err, SB_E_IO, "seccomp: loading the argument filter: %s",
                            strerror(errno));
    return 0;
}

/* The compiled allowlist, built once per process: compiling it with libseccomp costs about
 * 2 ms, more than the rest of a sandbox's setup. It is written once (pthread_once) and only
 * read afterwards, so it is a cache of a pure function rather than mutable state. */
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

int sb_seccomp_prepare(sb_error *err) {
    pthread_once(&compiled_once, compile_once);
    if (!compiled) return sb_error_set(err, SB_E_INTERNAL, "%s", compiled_msg);
    return 0;
}

int sb_seccomp_load(sb_error *err) {
    TRY(sb_seccomp_prepare(err));
    /* no_new_privs first: loading a filter needs it, and it is part of the policy anyway. */
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
        return sb_error_set(err, SB_E_IO, "seccomp: PR_SET_NO_NEW_PRIVS: %s", strerror(errno));
    TRY(load_arg_filter(err));
    struct sock_fprog prog = {.len = (unsigned short)compiled_len, .filter = compiled};
    if (syscall(__NR_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog) != 0)
        return sb_error_set(err, SB_E_IO, "seccomp: loading the filter: %s", strerror(errno));
    return 0;
}
