/* probe_proc: /proc and /sys as escape routes — core_pattern and modprobe (helpers that run on
 * the host), sysrq, uevent_helper, cgroup release_agent (CVE-2022-0492), kallsyms, other
 * pid namespaces, firmware. On the host root can open each of them for writing. */
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/stat.h>

#include "probe.h"

static int wr_in(const char *path, int want) {
    char what[256];
    snprintf(what, sizeof(what), "open %s for writing", path);
    if (want == EROFS) return want_errno3(what, open(path, O_WRONLY), EROFS, EACCES, ENOENT);
    return want_errno(what, open(path, O_WRONLY), want);
}
static int wr_host(const char *path) {
    int fd = open(path, O_WRONLY); /* opened, never written */
    if (fd < 0 && errno == ENOENT) return PROBE_NO_CONTROL;
    char what[256];
    snprintf(what, sizeof(what), "open %s for writing", path);
    return want_ok(what, fd);
}

static int core_in(const char *a) {
    (void)a;
    return wr_in("/proc/sys/kernel/core_pattern", EROFS);
}
static int core_host(const char *a) {
    (void)a;
    return wr_host("/proc/sys/kernel/core_pattern");
}
static int modprobe_in(const char *a) {
    (void)a;
    return wr_in("/proc/sys/kernel/modprobe", EROFS);
}
static int modprobe_host(const char *a) {
    (void)a;
    return wr_host("/proc/sys/kernel/modprobe");
}
static int sysrq_in(const char *a) {
    (void)a;
    return wr_in("/proc/sys/kernel/sysrq", EROFS);
}
static int sysrq_host(const char *a) {
    (void)a;
    return wr_host("/proc/sys/kernel/sysrq");
}
static int uevent_in(const char *a) {
    (void)a;
    return wr_in("/sys/kernel/uevent_helper", ENOENT);
}
static int uevent_host(const char *a) {
    (void)a;
    return wr_host("/sys/kernel/uevent_helper");
}

/* CVE-2022-0492: mount a cgroup v1 hierarchy and write its release_agent */
static int release_in(const char *a) {
    (void)a;
    mkdir("/tmp/cg", 0700);
    return want_errno("mount cgroup v1",
                      mount("cgroup", "/tmp/cg", "cgroup", 0, "none,name=sbprobe"), EPERM);
}
static int release_c(const char *a) {
    (void)a;
    if (unshare(CLONE_NEWNS) != 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0)
        return PROBE_FAIL;
    char d[64];
    snprintf(d, sizeof(d), "/tmp/sbprobe-cg-%d", (int)getpid());
    mkdir(d, 0700);
    int r = want_ok("mount cgroup v1", mount("cgroup", d, "cgroup", 0, "none,name=sbprobe"));
    if (r == PROBE_OK) {
        char ra[128];
        snprintf(ra, sizeof(ra), "%s/release_agent", d);
        r = want_ok("open release_agent", open(ra, O_WRONLY));
        umount2(d, MNT_DETACH);
    }
    rmdir(d);
    return r;
}
static int release_host(const char *a) { return in_child(release_c, a); }

/* kallsyms must not give kernel addresses away */
static int first_addr(void) {
    FILE *f = fopen("/proc/kallsyms", "r");
    if (!f) return 0;
    unsigned long long v = 0;
    int n = fscanf(f, "%llx", &v);
    fclose(f);
    return n == 1 && v != 0;
}
static int kallsyms_in(const char *a) {
    (void)a;
    if (!first_addr()) return PROBE_OK;
    fprintf(stderr, "/proc/kallsyms shows kernel addresses\n");
    return PROBE_FAIL;
}
static int kallsyms_host(const char *a) {
    (void)a;
    return first_addr() ? PROBE_OK : PROBE_NO_CONTROL;
}

/* the host's processes: not visible, not signalable (arg: a host pid) */
static int hostpid_in(const char *a) {
    pid_t p = a ? (pid_t)strtol(a, NULL, 10) : 1;
    return want_errno("kill(host pid, 0)", kill(p, 0), ESRCH);
}
static int hostpid_host(const char *a) {
    pid_t p = a ? (pid_t)strtol(a, NULL, 10) : 1;
    return want_ok("kill(host pid, 0)", kill(p, 0));
}

static int firmware_in(const char *a) {
    (void)a;
    struct stat st;
    return want_errno("stat /sys/firmware", stat("/sys/firmware", &st), ENOENT);
}
static int firmware_host(const char *a) {
    (void)a;
    struct stat st;
    return want_ok("stat /sys/firmware", stat("/sys/firmware", &st));
}

static int proc_ns_in(const char *a) {
    (void)a; /* the sandbox's /proc is its own: pid 1 is sealbox-init, not the host's init */
    char comm[64] = "";
    int fd = open("/proc/1/comm", O_RDONLY);
    ssize_t n = fd >= 0 ? read(fd, comm, sizeof(comm) - 1) : -1;
    if (n > 0 && strncmp(comm, "sealbox-init", 12) == 0) return PROBE_OK;
    fprintf(stderr, "/proc/1 is '%s'\n", comm);
    return PROBE_FAIL;
}

static const struct probe PROBES[] = {
    {"core_pattern", core_in, core_host},
    {"modprobe_path", modprobe_in, modprobe_host},
    {"sysrq", sysrq_in, sysrq_host},
    {"uevent_helper", uevent_in, uevent_host},
    {"cgroup_release_agent", release_in, release_host},
    {"kallsyms", kallsyms_in, kallsyms_host},
    {"host_pid", hostpid_in, hostpid_host},
    {"sys_firmware", firmware_in, firmware_host},
    {"own_proc", proc_ns_in, NULL},
};

PROBES_MAIN(PROBES)
