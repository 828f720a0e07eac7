/* probe_syscalls: namespace, mount, module, key, BPF and other kernel-surface system calls the
 * seccomp policy refuses; on the host each one reaches the kernel and works for root. */
#include <fcntl.h>
#include <linux/bpf.h>
#include <linux/perf_event.h>
#include <linux/sched.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <sys/mount.h>
#include <sys/personality.h>
#include <sys/syscall.h>
#include <sys/timex.h>

#include "probe.h"

static long sys6(long nr, long a, long b, long c, long d, long e) {
    return syscall(nr, a, b, c, d, e);
}

/* ---- namespaces ---- */
static int unshare_user_in(const char *a) {
    (void)a;
    return want_errno("unshare(CLONE_NEWUSER)", unshare(CLONE_NEWUSER), EPERM);
}
static int unshare_user_c(const char *a) {
    (void)a;
    return want_ok("unshare(CLONE_NEWUSER)", unshare(CLONE_NEWUSER));
}
static int unshare_user_host(const char *a) { return in_child(unshare_user_c, a); }

static int unshare_mnt_in(const char *a) {
    (void)a;
    return want_errno("unshare(CLONE_NEWNS)", unshare(CLONE_NEWNS), EPERM);
}
static int unshare_mnt_c(const char *a) {
    (void)a;
    return want_ok("unshare(CLONE_NEWNS)", unshare(CLONE_NEWNS));
}
static int unshare_mnt_host(const char *a) { return in_child(unshare_mnt_c, a); }

static long raw_clone(unsigned long flags) { return syscall(__NR_clone, flags, 0, 0, 0, 0); }
static int clone_pid_in(const char *a) {
    (void)a;
    return want_errno("clone(CLONE_NEWPID)", raw_clone(CLONE_NEWPID | SIGCHLD), EPERM);
}
static int clone_pid_host(const char *a) {
    (void)a;
    long p = raw_clone(CLONE_NEWPID | SIGCHLD);
    if (p == 0) _exit(getpid() == 1 ? 0 : 1);
    if (p < 0) return want_ok("clone(CLONE_NEWPID)", p);
    int st;
    waitpid((pid_t)p, &st, 0);
    return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? PROBE_OK : PROBE_FAIL;
}

static int clone3_in(const char *a) {
    (void)a;
    struct clone_args ca = {.flags = CLONE_NEWUSER, .exit_signal = SIGCHLD};
    return want_errno("clone3(CLONE_NEWUSER)", syscall(__NR_clone3, &ca, sizeof(ca)), ENOSYS);
}
static int clone3_host(const char *a) {
    (void)a;
    struct clone_args ca = {.flags = CLONE_NEWUSER, .exit_signal = SIGCHLD};
    long p = syscall(__NR_clone3, &ca, sizeof(ca));
    if (p == 0) _exit(0);
    if (p < 0) return want_ok("clone3", p);
    waitpid((pid_t)p, NULL, 0);
    return PROBE_OK;
}

static int setns_in(const char *a) {
    (void)a;
    int fd = open("/proc/self/ns/net", O_RDONLY);
    return want_errno("setns(net)", setns(fd, CLONE_NEWNET), EPERM);
}
static int setns_c(const char *a) {
    (void)a;
    int fd = open("/proc/self/ns/net", O_RDONLY);
    return want_ok("setns(/proc/self/ns/net)", setns(fd, CLONE_NEWNET));
}
static int setns_host(const char *a) { return in_child(setns_c, a); }

/* ---- mounts, both APIs ---- */
static int mount_in(const char *a) {
    (void)a;
    return want_errno("mount(tmpfs)", mount("x", "/tmp", "tmpfs", 0, NULL), EPERM);
}
static int mount_c(const char *a) {
    (void)a;
    if (unshare(CLONE_NEWNS) != 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0)
        return PROBE_FAIL;
    return want_ok("mount(tmpfs) in a private namespace", mount("x", "/tmp", "tmpfs", 0, NULL));
}
static int mount_host(const char *a) { return in_child(mount_c, a); }

static int umount_in(const char *a) {
    (void)a;
    return want_errno("umount2(/proc)", umount2("/proc", MNT_DETACH), EPERM);
}
static int umount_c(const char *a) {
    (void)a;
    if (unshare(CLONE_NEWNS) != 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0)
        return PROBE_FAIL;
    return want_ok("umount2(/proc) in a private namespace", umount2("/proc", MNT_DETACH));
}
static int umount_host(const char *a) { return in_child(umount_c, a); }

static int fsopen_in(const char *a) {
    (void)a;
    return want_errno("fsopen(tmpfs)", syscall(__NR_fsopen, "tmpfs", 0), EPERM);
}
static int fsopen_host(const char *a) {
    (void)a;
    return want_ok("fsopen(tmpfs)", syscall(__NR_fsopen, "tmpfs", 0));
}

static int open_tree_in(const char *a) {
    (void)a;
    return want_errno("open_tree(/)", syscall(__NR_open_tree, AT_FDCWD, "/", 1 /* CLONE */), EPERM);
}
static int open_tree_host(const char *a) {
    (void)a;
    return want_ok("open_tree(/)", syscall(__NR_open_tree, AT_FDCWD, "/", 1));
}

static int chroot_in(const char *a) {
    (void)a;
    return want_errno("chroot(/tmp)", chroot("/tmp"), EPERM);
}
static int chroot_c(const char *a) {
    (void)a;
    return want_ok("chroot(/tmp)", chroot("/tmp"));
}
static int chroot_host(const char *a) { return in_child(chroot_c, a); }

static int pivot_in(const char *a) {
    (void)a;
    return want_errno("pivot_root", syscall(__NR_pivot_root, ".", "."), EPERM);
}

/* ---- modules, kexec, keys ---- */
static int finit_in(const char *a) {
    (void)a;
    int fd = open("/dev/null", O_RDONLY);
    return want_errno("finit_module", syscall(__NR_finit_module, fd, "", 0), EPERM);
}
static int finit_host(const char *a) {
    (void)a;
    int fd = open("/dev/null", O_RDONLY);
    long rc = syscall(__NR_finit_module, fd, "", 0);
    /* reaches the module loader, which rejects an empty image (not a permission error) */
    if (rc == -1 && errno != EPERM) return PROBE_OK;
    fprintf(stderr, "finit_module on the host: rc %ld errno %s\n", rc, strerror(errno));
    return PROBE_FAIL;
}
static int kexec_in(const char *a) {
    (void)a;
    return want_errno("kexec_load", sys6(__NR_kexec_load, 0, 0, 0, 0, 0), EPERM);
}

static int keyctl_in(const char *a) {
    (void)a;
    return want_errno("keyctl", syscall(__NR_keyctl, 0 /* GET_KEYRING_ID */, -3 /* session */, 0),
                      EPERM);
}
static int keyctl_host(const char *a) {
    (void)a;
    return want_ok("keyctl", syscall(__NR_keyctl, 0, -3, 0));
}
static int add_key_in(const char *a) {
    (void)a;
    return want_errno("add_key", syscall(__NR_add_key, "user", "sbprobe", "x", 1, -2), EPERM);
}
static int add_key_host(const char *a) {
    (void)a;
    return want_ok("add_key", syscall(__NR_add_key, "user", "sbprobe", "x", 1, -2 /* process */));
}

/* ---- exploit primitives ---- */
static long bpf_map(void) {
    union bpf_attr at;
    memset(&at, 0, sizeof(at));
    at.map_type = BPF_MAP_TYPE_ARRAY;
    at.key_size = 4;
    at.value_size = 4;
    at.max_entries = 1;
    return syscall(__NR_bpf, BPF_MAP_CREATE, &at, sizeof(at));
}
static int bpf_in(const char *a) {
    (void)a;
    return want_errno("bpf(MAP_CREATE)", bpf_map(), EPERM);
}
static int bpf_host(const char *a) {
    (void)a;
    return want_ok("bpf(MAP_CREATE)", bpf_map());
}

static long perf_open(void) {
    struct perf_event_attr pe;
    memset(&pe, 0, sizeof(pe));
    pe.type = PERF_TYPE_SOFTWARE;
    pe.size = sizeof(pe);
    pe.config = PERF_COUNT_SW_TASK_CLOCK;
    pe.disabled = 1;
    return syscall(__NR_perf_event_open, &pe, 0, -1, -1, 0);
}
static int perf_in(const char *a) {
    (void)a;
    return want_errno("perf_event_open", perf_open(), EPERM);
}
static int perf_host(const char *a) {
    (void)a;
    return want_ok("perf_event_open", perf_open());
}

static int uffd_in(const char *a) {
    (void)a;
    return want_errno("userfaultfd", syscall(__NR_userfaultfd, 0), EPERM);
}
static int uffd_host(const char *a) {
    (void)a;
    return want_ok("userfaultfd", syscall(__NR_userfaultfd, 0));
}

static int uring_in(const char *a) {
    (void)a;
    char params[120];
    memset(params, 0, sizeof(params));
    return want_errno("io_uring_setup", syscall(__NR_io_uring_setup, 4, params), EPERM);
}
static int uring_host(const char *a) {
    (void)a;
    char params[120];
    memset(params, 0, sizeof(params));
    long rc = syscall(__NR_io_uring_setup, 4, params);
    if (rc < 0 && (errno == ENOSYS || errno == EPERM)) return PROBE_NO_CONTROL; /* disabled here */
    return want_ok("io_uring_setup", rc);
}

static int personality_in(const char *a) {
    (void)a;
    return want_errno("personality(ADDR_NO_RANDOMIZE)", personality(ADDR_NO_RANDOMIZE), ENOSYS);
}
static int personality_host(const char *a) {
    (void)a;
    return want_ok("personality(ADDR_NO_RANDOMIZE)", personality(ADDR_NO_RANDOMIZE));
}

static int adjtimex_in(const char *a) {
    (void)a;
    struct timex t = {.modes = 0};
    return want_errno("adjtimex (even a query)", syscall(__NR_adjtimex, &t), EPERM);
}
static int adjtimex_host(const char *a) {
    (void)a;
    struct timex t = {.modes = 0}; /* a pure read on the host */
    return want_ok("adjtimex query", syscall(__NR_adjtimex, &t));
}

static int reboot_in(const char *a) {
    (void)a;
    return want_errno("reboot", syscall(__NR_reboot, 0, 0, 0, 0), EPERM);
}
static int reboot_host(const char *a) {
    (void)a; /* wrong magic numbers: the kernel answers EINVAL and does nothing */
    return want_errno("reboot with bad magic reaches the kernel", syscall(__NR_reboot, 0, 0, 0, 0),
                      EINVAL);
}
static int swapon_in(const char *a) {
    (void)a;
    return want_errno("swapon", syscall(__NR_swapon, "/nonexistent", 0), EPERM);
}
static int swapon_host(const char *a) {
    (void)a;
    return want_errno("swapon reaches the kernel", syscall(__NR_swapon, "/nonexistent", 0), ENOENT);
}

/* ---- foreign ABIs: the filter must kill, not just refuse ---- */
static int x32_c(const char *a) {
    (void)a;
    syscall(0x40000000L | __NR_getpid);
    return 0;
}
static int x32_in(const char *a) {
    int r = in_child(x32_c, a);
    if (r == 100 + SIGSYS) return PROBE_OK;
    fprintf(stderr, "x32 getpid: child ended with %d, wanted SIGSYS\n", r);
    return PROBE_FAIL;
}
static int x32_host(const char *a) { return in_child(x32_c, a) == 0 ? PROBE_OK : PROBE_FAIL; }
static int int80_c(const char *a) {
    (void)a;
    long r = 20; /* i386 getpid */
    __asm__ volatile("int $0x80" : "+a"(r)::"memory");
    return r > 0 ? 0 : 1;
}
static int int80_in(const char *a) {
    int r = in_child(int80_c, a);
    if (r == 100 + SIGSYS) return PROBE_OK;
    fprintf(stderr, "int 0x80 getpid: child ended with %d, wanted SIGSYS\n", r);
    return PROBE_FAIL;
}
static int int80_host(const char *a) {
    int r = in_child(int80_c, a);
    if (r == 100 + SIGSEGV) return PROBE_NO_CONTROL; /* kernel without ia32 emulation */
    return r == 0 ? PROBE_OK : PROBE_FAIL;
}

static const struct probe PROBES[] = {
    {"unshare_user", unshare_user_in, unshare_user_host},
    {"unshare_mnt", unshare_mnt_in, unshare_mnt_host},
    {"clone_newpid", clone_pid_in, clone_pid_host},
    {"clone3", clone3_in, clone3_host},
    {"setns", setns_in, setns_host},
    {"mount", mount_in, mount_host},
    {"umount", umount_in, umount_host},
    {"fsopen", fsopen_in, fsopen_host},
    {"open_tree", open_tree_in, open_tree_host},
    {"chroot", chroot_in, chroot_host},
    {"pivot_root", pivot_in, NULL},
    {"finit_module", finit_in, finit_host},
    {"kexec_load", kexec_in, NULL},
    {"keyctl", keyctl_in, keyctl_host},
    {"add_key", add_key_in, add_key_host},
    {"bpf", bpf_in, bpf_host},
    {"perf_event_open", perf_in, perf_host},
    {"userfaultfd", uffd_in, uffd_host},
    {"io_uring", uring_in, uring_host},
    {"personality", personality_in, personality_host},
    {"adjtimex", adjtimex_in, adjtimex_host},
    {"reboot", reboot_in, reboot_host},
    {"swapon", swapon_in, swapon_host},
    {"x32", x32_in, x32_host},
    {"int80", int80_in, int80_host},
};

PROBES_MAIN(PROBES)
