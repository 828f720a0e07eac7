/* probe_priv: privileges of the workload — no capabilities, no_new_privs and seccomp on, no uid
 * or group changes, no device nodes, only the minimal /dev. On the host root has all of it. */
#include <fcntl.h>
#include <grp.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "probe.h"

static int status_field(const char *key, char *out, size_t cap) {
    FILE *f = fopen("/proc/self/status", "r");
    if (!f) return -1;
    char line[256];
    size_t kl = strlen(key);
    int rc = -1;
    while (fgets(line, sizeof(line), f))
        if (strncmp(line, key, kl) == 0 && line[kl] == ':') {
            const char *v = line + kl + 1;
            while (*v == ' ' || *v == '\t')
                v++;
            snprintf(out, cap, "%.*s", (int)strcspn(v, "\n"), v);
            rc = 0;
        }
    fclose(f);
    return rc;
}

static int caps_in(const char *a) {
    (void)a;
    static const char *const zero[] = {"CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb"};
    char v[64];
    for (size_t i = 0; i < sizeof(zero) / sizeof(zero[0]); i++)
        if (status_field(zero[i], v, sizeof(v)) != 0 || strcmp(v, "0000000000000000") != 0) {
            fprintf(stderr, "%s = %s\n", zero[i], v);
            return PROBE_FAIL;
        }
    if (status_field("NoNewPrivs", v, sizeof(v)) != 0 || strcmp(v, "1") != 0) return PROBE_FAIL;
    if (status_field("Seccomp", v, sizeof(v)) != 0 || strcmp(v, "2") != 0) return PROBE_FAIL;
    return PROBE_OK;
}
static int caps_host(const char *a) {
    (void)a;
    char v[64];
    return status_field("CapEff", v, sizeof(v)) == 0 && strcmp(v, "0000000000000000") != 0
               ? PROBE_OK
               : PROBE_FAIL;
}

static int setuid_in(const char *a) {
    (void)a;
    return want_errno("setresuid(1000)", setresuid(1000, 1000, 1000), EPERM);
}
static int setuid_c(const char *a) {
    (void)a;
    return want_ok("setresuid(1000)", setresuid(1000, 1000, 1000));
}
static int setuid_host(const char *a) { return in_child(setuid_c, a); }

static int setgroups_in(const char *a) {
    (void)a;
    return want_errno("setgroups(0)", setgroups(0, NULL), EPERM);
}
static int setgroups_c(const char *a) {
    (void)a;
    return want_ok("setgroups(0)", setgroups(0, NULL));
}
static int setgroups_host(const char *a) { return in_child(setgroups_c, a); }

static int mknod_in(const char *a) {
    (void)a;
    return want_errno("mknod /tmp/mem (1,1)",
                      mknod("/tmp/sbprobe-mem", S_IFCHR | 0600, makedev(1, 1)), EPERM);
}
static int mknod_host(const char *a) {
    (void)a;
    char p[64];
    snprintf(p, sizeof(p), "/tmp/sbprobe-null-%d", (int)getpid());
    int r = want_ok("mknod (1,3)", mknod(p, S_IFCHR | 0600, makedev(1, 3)));
    unlink(p);
    return r;
}

/* /dev holds only null zero full random urandom tty ptmx pts shm and the fd links */
static int dev_in(const char *a) {
    (void)a;
    static const char *const absent[] = {"/dev/kvm",     "/dev/mem",     "/dev/kmem", "/dev/port",
                                         "/dev/kmsg",    "/dev/net/tun", "/dev/vda",  "/dev/sda",
                                         "/dev/console", "/dev/fuse",    "/dev/vsock"};
    struct stat st;
    for (size_t i = 0; i < sizeof(absent) / sizeof(absent[0]); i++)
        if (stat(absent[i], &st) == 0 || errno != ENOENT) {
            fprintf(stderr, "%s exists in the sandbox\n", absent[i]);
            return PROBE_FAIL;
        }
    return PROBE_OK;
}
static int dev_host(const char *a) {
    (void)a;
    struct stat st;
    return stat("/dev/kmsg", &st) == 0 ? PROBE_OK : PROBE_NO_CONTROL;
}

/* open_by_handle_at: the "shocker" escape (a file handle names any inode of the file system) */
static long by_handle(void) {
    struct {
        struct file_handle h;
        unsigned char buf[128];
    } fh;
    fh.h.handle_bytes = 128;
    int mnt = 0;
    if (name_to_handle_at(AT_FDCWD, "/etc/hostname", &fh.h, &mnt, 0) != 0) return -1;
    int mfd = open("/", O_RDONLY | O_DIRECTORY);
    return open_by_handle_at(mfd, &fh.h, O_RDONLY);
}
static int handle_in(const char *a) {
    (void)a;
    return want_errno("name_to_handle_at/open_by_handle_at", by_handle(), EPERM);
}
static int handle_host(const char *a) {
    (void)a;
    return want_ok("open_by_handle_at", by_handle());
}

static const struct probe PROBES[] = {
    {"caps_empty", caps_in, caps_host},          {"setresuid", setuid_in, setuid_host},
    {"setgroups", setgroups_in, setgroups_host}, {"mknod_device", mknod_in, mknod_host},
    {"dev_minimal", dev_in, dev_host},           {"open_by_handle_at", handle_in, handle_host},
};

PROBES_MAIN(PROBES)
