/* probe_fs: file-system escapes — fds leaked from the caller, read-only mounts, /proc/self/root
 * and .. walks, writing to sealbox-init's binary. arg: a path under a read-only mount. */
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>

#include "probe.h"

/* every fd other than 0-2 is closed before the workload starts (the harness opens fd 7) */
static int count_fds(void) {
    DIR *d = opendir("/proc/self/fd");
    if (!d) return -1;
    int n = 0;
    struct dirent *de;
    while ((de = readdir(d)))
        if (de->d_name[0] != '.') n++;
    closedir(d);
    return n - 1; /* the directory's own fd */
}
static int fds_in(const char *a) {
    (void)a;
    int n = count_fds();
    if (n == 3) return PROBE_OK;
    fprintf(stderr, "%d open fds (wanted 0, 1, 2 only)\n", n);
    return PROBE_FAIL;
}
static int fds_host(const char *a) {
    (void)a;
    return count_fds() > 3 ? PROBE_OK : PROBE_NO_CONTROL; /* the harness leaks fd 7 to us */
}

static int ro_in(const char *a) {
    char p[512];
    snprintf(p, sizeof(p), "%s/sbprobe-write", a ? a : "/probes");
    return want_errno("create a file in a read-only mount", open(p, O_WRONLY | O_CREAT, 0600),
                      EROFS);
}
static int ro_host(const char *a) {
    char p[512];
    snprintf(p, sizeof(p), "%s/sbprobe-write", a ? a : "/tmp");
    int r = want_ok("create a file (same directory, host side)", open(p, O_WRONLY | O_CREAT, 0600));
    unlink(p);
    return r;
}

/* .. from / and /proc/self/root lead back to the sandbox's own root */
static int dotdot_in(const char *a) {
    (void)a;
    struct stat r, up, self;
    if (stat("/", &r) || stat("/../../..", &up) || stat("/proc/self/root/../..", &self))
        return PROBE_FAIL;
    if (r.st_ino == up.st_ino && r.st_dev == up.st_dev && r.st_ino == self.st_ino &&
        r.st_dev == self.st_dev && access("/proc/self/root/work", F_OK) != 0 &&
        access("/proc/self/root/etc/shadow", F_OK) != 0)
        return PROBE_OK;
    fprintf(stderr, "'..' or /proc/self/root reaches another tree\n");
    return PROBE_FAIL;
}

/* runc CVE-2019-5736: overwrite the runtime binary through /proc/<pid>/exe */
static int exe_write_in(const char *a) {
    (void)a;
    return want_errno("open /proc/1/exe for writing", open("/proc/1/exe", O_WRONLY), EACCES);
}

/* a hard link to a file outside the writable layer's tree cannot be made (EXDEV) */
static int hardlink_in(const char *a) {
    (void)a;
    return want_errno("link /proc/self/exe into /tmp", link("/proc/self/exe", "/tmp/sbprobe-exe"),
                      EXDEV);
}

static const struct probe PROBES[] = {
    {"leaked_fds", fds_in, fds_host},    {"ro_mount", ro_in, ro_host},
    {"dotdot_root", dotdot_in, NULL},    {"proc1_exe_write", exe_write_in, NULL},
    {"hardlink_out", hardlink_in, NULL},
};

PROBES_MAIN(PROBES)
