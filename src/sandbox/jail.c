/* jail: the namespaces + seccomp + Landlock + cgroups backend. create() is one ordered
 * pipeline of named steps, deny by default: the host half prepares what needs host privilege
 * (cgroup, uid map, idmapped image mounts), the child half builds the sandbox and becomes
 * sealbox-init. Everything it makes dies with the sandbox's last process or is removed by
 * destroy(): mounts live only in the sandbox's mount namespace. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <linux/securebits.h>
#include <net/if.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/sendfile.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <time.h>
#include <sys/wait.h>

#include "internal.h"

#define READY_TIMEOUT_MS 10000

/* clone3 (Linux 5.3; CLONE_INTO_CGROUP 5.7): Debian 12's libc has no wrapper */
#define SB_CLONE_INTO_CGROUP 0x200000000ull
struct clone3_args {
    uint64_t flags, pidfd, child_tid, parent_tid, exit_signal, stack, stack_size, tls, set_tid,
        set_tid_size, cgroup;
};
#ifndef SYS_clone3
#define SYS_clone3 435
#endif

struct sb_sandbox {
    const struct sb_backend_ops *ops;
    char id[SB_SANDBOX_ID_LEN + 1];
    char *state_dir;
    char *dir;       /* <state>/sandboxes/<id> */
    char *slot_path; /* <state>/slots/<n> */
    unsigned slot;
    char *image_digest;
    struct sb_cgroup *cg;
    pid_t init_pid;
    int pidfd;
    int ctl; /* SOCK_SEQPACKET to sealbox-init */
    uint32_t next_exec;
    uint64_t oom_base;
    uint32_t host_root; /* host uid/gid of the sandbox's uid/gid 0 */
    bool attached;      /* a handle on a detached sandbox held by another process */
    sb_mlog *mlog;      /* sb_jail_serve records every command here (sb_jail_set_mlog) */
    char *mlog_path;
    struct sb_sandbox_trace *trace; /* the caller's (cfg->trace), for destroy's steps */
    sb_sandbox_relay_fn relay;      /* answers sealbox-init's KBS requests (sb_sandbox_set_relay) */
    void *relay_arg;
    bool relay_async;    /* sb_sandbox_chan_read hands relay requests to its caller */
    uint32_t serve_main; /* the main command sb_jail_serve_main started (its exec id) */
};

void sb_sandbox_set_relay(sb_sandbox *sb, sb_sandbox_relay_fn fn, void *arg) {
    sb->relay = fn;
    sb->relay_arg = arg;
}

void sb_sandbox_set_relay_async(sb_sandbox *sb, bool on) { sb->relay_async = on; }

/* One step's timestamp. During create both halves write to a shared page (the child's steps
 * interleave with the host's); the index is taken atomically. NULL: not tracing. */
static void trace_mark(struct sb_sandbox_trace *t, const char *step) {
    if (!t) return;
    uint32_t i = __atomic_fetch_add(&t->n, 1, __ATOMIC_RELAXED);
    if (i >= SB_TRACE_MAX) return;
    t->ev[i].step = step;
    t->ev[i].ns = sb_mono_ns();
}

/* The shared page's events, in time order, into the caller's trace. */
static void trace_collect(struct sb_sandbox_trace *shared, struct sb_sandbox_trace *out) {
    if (!shared || !out) return;
    uint32_t n = __atomic_load_n(&shared->n, __ATOMIC_RELAXED);
    if (n > SB_TRACE_MAX) n = SB_TRACE_MAX;
    out->n = 0;
    for (uint32_t i = 0; i < n; i++) {
        uint32_t j = out->n++;
        while (j > 0 && out->ev[j - 1].ns > shared->ev[i].ns) {
            out->ev[j] = out->ev[j - 1];
            j--;
        }
        out->ev[j].step = shared->ev[i].step;
        out->ev[j].ns = shared->ev[i].ns;
    }
}

void sb_jail_set_mlog(sb_sandbox *sb, sb_mlog *log, const char *path) {
    sb_mlog_free(sb->mlog);
    free(sb->mlog_path);
    sb->mlog = log;
    sb->mlog_path = path ? strdup(path) : NULL;
}

/* Records a command in the sandbox's log (if it has one) before it may run. */
static int serve_record(sb_sandbox *sb, char *const *argv, char *const *env, const char *workdir,
                        sb_error *err) {
    if (!sb->mlog) return 0;
    TRY(sb_mlog_record(sb->mlog, sb, argv, env, workdir, err));
    return sb->mlog_path ? sb_mlog_write(sb->mlog, sb->mlog_path, err) : 0;
}

const char *sb_sandbox_id(const sb_sandbox *sb) { return sb->id; }
const char *sb_sandbox_dir(const sb_sandbox *sb) { return sb->dir; }
const char *sb_sandbox_image_digest(const sb_sandbox *sb) { return sb->image_digest; }
pid_t sb_sandbox_init_pid(const sb_sandbox *sb) { return sb->init_pid; }
uint32_t sb_sandbox_host_root(const sb_sandbox *sb) { return sb->host_root; }
const char *sb_sandbox_cgroup_mode(const sb_sandbox *sb) {
    return sb->cg && sb->cg->mode == SB_CG_V2 ? "v2" : "v1";
}

/* ---- exit statuses ------------------------------------------------------------------------ */

int sb_exit_status(const struct sb_exit *e) {
    switch (e->kind) {
    case SB_EXIT_EXITED: return e->code & 0xff;
    case SB_EXIT_SIGNALED: return 128 + (e->code & 0x7f);
    case SB_EXIT_NOTFOUND: return 127;
    case SB_EXIT_NOEXEC: return 126;
    case SB_EXIT_TIMEOUT: return 124;
    case SB_EXIT_OOM: return 137;
    case SB_EXIT_SANDBOX_GONE: return 125;
    default: return 125;
    }
}

const char *sb_exit_kind_name(enum sb_exit_kind k) {
    static const char *const n[SB_EXIT_KIND_MAX] = {"exited",         "signaled", "not found",
                                                    "cannot execute", "timeout",  "out of memory",
                                                    "sandbox gone"};
    return (unsigned)k < SB_EXIT_KIND_MAX ? n[k] : "unknown";
}

/* ---- preflight ----------------------------------------------------------------------------- */

int sb_jail_preflight(sb_error *err) {
    if (geteuid() != 0)
        BAIL(err, SB_E_POLICY,
             "sandbox: the jail needs root (uid 0 on the host); rootless operation is not "
             "supported yet");
    if (access("/proc/self/ns/user", F_OK) != 0)
        BAIL(err, SB_E_UNSUPPORTED, "sandbox: this kernel has no user namespaces");
    return 0;
}

/* ---- the child half: runs in the new namespaces, ends by exec'ing sealbox-init ------------- */

struct child {
    const struct sb_sandbox_config *cfg;
    const char *dir; /* <state>/sandboxes/<id> */
    const char *id;
    bool host_image;
    int sync;     /* reports a failed step to the parent; CLOEXEC, so EOF means exec */
    int ctl;      /* becomes fd 3 of sealbox-init */
    int init_fd;  /* sealed memfd holding sealbox-init */
    int image_fd; /* detached, idmapped, read-only image mount (from the parent) */
    int mount_fds[SB_SANDBOX_MAX_MOUNTS];
    struct sb_cg_join *join; /* v1: the cgroup leaves' tasks files, written by the child */
    int root_fd;
    struct sb_sandbox_trace *trace; /* shared with the host half, or NULL */
    mode_t umask;                   /* the caller's, restored for sealbox-init */
    int mnt_fd;      /* O_PATH of <dir>, the writable layer's mount point (sandbox's namespace) */
    char mnt[4096];  /* the tmpfs holding every writable byte of the sandbox */
    char root[4096]; /* mnt/root: becomes / */
    char old[128];   /* where the host root sits during setup: /.sb-old-<id> */
};

static int errno_fail(sb_error *err, const char *what) {
    return sb_error_set(err, SB_E_IO, "%s: %s", what, strerror(errno));
}

static int recv_fds(struct child *c, sb_error *err) {
    size_t want = 1 + c->cfg->n_mounts;
    char data[8];
    union {
        char buf[CMSG_SPACE(sizeof(int) * (SB_SANDBOX_MAX_MOUNTS + 1))];
        struct cmsghdr align;
    } u;
    struct iovec iov = {.iov_base = data, .iov_len = sizeof(data)};
    struct msghdr m = {.msg_iov = &iov,
                       .msg_iovlen = 1,
                       .msg_control = u.buf,
                       .msg_controllen = CMSG_SPACE(sizeof(int) * want)};
    ssize_t r;
    do
        r = recvmsg(c->sync, &m, MSG_CMSG_CLOEXEC);
    while (r < 0 && errno == EINTR);
    if (r <= 0) return sb_error_set(err, SB_E_IO, "the parent went away before 'go'");
    struct cmsghdr *cm = CMSG_FIRSTHDR(&m);
    if (!cm || cm->cmsg_type != SCM_RIGHTS || cm->cmsg_len != CMSG_LEN(sizeof(int) * want))
        return sb_error_set(err, SB_E_IO, "'go' carried the wrong file descriptors");
    int fds[SB_SANDBOX_MAX_MOUNTS + 1];
    memcpy(fds, CMSG_DATA(cm), sizeof(int) * want);
    c->image_fd = fds[0];
    for (size_t i = 0; i < c->cfg->n_mounts; i++)
        c->mount_fds[i] = fds[1 + i];
    return 0;
}

static int st_wait_parent(struct child *c, sb_error *err) { return recv_fds(c, err); }

/* First of all, so every page the setup touches is charged to the sandbox: v1 moves itself into
 * its cgroups (cheap for a thread moving itself; on v2 clone3 already put us there). */
static int st_join_cgroup(struct child *c, sb_error *err) {
    return c->join->n ? sb_cgroup_join_self(c->join, err) : 0;
}

/* Still the host's uid 0 (unmapped): owner permission on the root-owned state directory lets
 * us reach the mount point without any capability over it. The mount point is the sandbox's
 * own directory: in the sandbox's mount namespace only, so the host keeps seeing its records. */
static int st_open_mount_point(struct child *c, sb_error *err) {
    c->mnt_fd = open(c->dir, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (c->mnt_fd < 0) return errno_fail(err, "open the sandbox mount point");
    return 0;
}

static int st_become_root(struct child *c, sb_error *err) {
    /* setup creates everything with the exact modes it names (no chmod after each mkdir); the
     * caller's umask comes back before sealbox-init starts */
    c->umask = umask(0);
    if (setresgid(0, 0, 0) != 0) return errno_fail(err, "setresgid(0)");
    if (setresuid(0, 0, 0) != 0) return errno_fail(err, "setresuid(0)");
    return 0;
}

/* We are in the sandbox's cgroup by now (st_join_cgroup, clone3 into it, or, as a fallback, the
 * host half moved us while we built the file system); the host half's 'c' says so, and only then
 * is the cgroup namespace made, so that its root is the sandbox's own cgroup. */
static int st_cgroup_ns(struct child *c, sb_error *err) {
    /* compile the seccomp filter meanwhile if this process has not yet (the CLI's case) */
    TRY(sb_seccomp_prepare(err));
    char b = 0;
    ssize_t n;
    do
        n = read(c->sync, &b, 1);
    while (n < 0 && errno == EINTR);
    if (n != 1 || b != 'c')
        return sb_error_set(err, SB_E_IO, "the host half did not join the cgroup");
    if (unshare(CLONE_NEWCGROUP) != 0) return errno_fail(err, "unshare(CLONE_NEWCGROUP)");
    return 0;
}

static int st_private_mounts(struct child *c, sb_error *err) {
    (void)c;
    if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0)
        return errno_fail(err, "make / private");
    return 0;
}

static int mkdir_at(const char *base, const char *rel, unsigned mode, sb_error *err) {
    char p[4096];
    sb_fmt(p, sizeof(p), "%s/%s", base, rel);
    if (mkdir(p, mode) != 0) return sb_error_set(err, SB_E_IO, "mkdir %s: %s", p, strerror(errno));
    return 0;
}

/* The tmpfs holding every writable byte. Made with the new mount API and attached through the
 * mount point's fd (opened before the uid change), so the sandbox's root needs no search
 * permission on the state directory; from here on setup works relative to the tmpfs (cwd). */
static int st_writable_layer(struct child *c, sb_error *err) {
    char v[32];
    int fs = fsopen("tmpfs", FSOPEN_CLOEXEC);
    if (fs < 0) return errno_fail(err, "fsopen tmpfs");
    int rc = 0;
    sb_fmt(v, sizeof(v), "%llu", (unsigned long long)c->cfg->disk_bytes);
    if (fsconfig(fs, FSCONFIG_SET_STRING, "size", v, 0) != 0) rc = errno_fail(err, "tmpfs size");
    /* inodes bounded too (one per 4 KiB), so inode exhaustion stays inside */
    sb_fmt(v, sizeof(v), "%llu", (unsigned long long)(c->cfg->disk_bytes / 4096 + 1024));
    if (rc == 0 && fsconfig(fs, FSCONFIG_SET_STRING, "nr_inodes", v, 0) != 0)
        rc = errno_fail(err, "tmpfs nr_inodes");
    if (rc == 0 && fsconfig(fs, FSCONFIG_SET_STRING, "mode", "0755", 0) != 0)
        rc = errno_fail(err, "tmpfs mode");
    if (rc == 0 && fsconfig(fs, FSCONFIG_CMD_CREATE, NULL, NULL, 0) != 0)
        rc = errno_fail(err, "create the writable layer (tmpfs)");
    int m = rc == 0 ? fsmount(fs, FSMOUNT_CLOEXEC, MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV) : -1;
    close(fs);
    if (rc < 0) return rc;
    if (m < 0) return errno_fail(err, "fsmount the writable layer");
    if (move_mount(m, "", c->mnt_fd, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) != 0)
        rc = errno_fail(err, "attach the writable layer");
    else if (fchdir(m) != 0)
        rc = errno_fail(err, "enter the writable layer");
    close(m);
    close(c->mnt_fd);
    c->mnt_fd = -1;
    TRY(rc);
    sb_fmt(c->mnt, sizeof(c->mnt), ".");
    sb_fmt(c->root, sizeof(c->root), "root");
    TRY(mkdir_at(c->mnt, "root", 0755, err));
    TRY(mkdir_at(c->mnt, "lower", 0755, err));
    TRY(mkdir_at(c->mnt, "upper", 0755, err));
    TRY(mkdir_at(c->mnt, "work", 0755, err));
    return 0;
}

static int write_file(const char *dir, const char *name, const char *text, sb_error *err) {
    char p[4096];
    sb_fmt(p, sizeof(p), "%s/%s", dir, name);
    int fd = open(p, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
    if (fd < 0) return sb_error_set(err, SB_E_IO, "create %s: %s", p, strerror(errno));
    size_t n = strlen(text);
    ssize_t w = write(fd, text, n);
    close(fd);
    if (w != (ssize_t)n) return sb_error_set(err, SB_E_IO, "write %s", p);
    return 0;
}

/* The host image: a skeleton root in the writable layer (merged-/usr symlinks, a minimal /etc)
 * and the host's /usr as an overlay (idmapped read-only lower, writes go to the tmpfs). */
static int build_host_root(struct child *c, sb_error *err) {
    static const char *const dirs[] = {"usr", "etc", "proc",    "dev", "tmp", "root", "home",
                                       "run", "var", "var/tmp", "mnt", "opt", "srv"};
    for (size_t i = 0; i < SB_ARRAY_LEN(dirs); i++) {
        unsigned mode = strcmp(dirs[i], "tmp") == 0 || strcmp(dirs[i], "var/tmp") == 0 ? 01777
                        : strcmp(dirs[i], "root") == 0                                 ? 0700
                                                                                       : 0755;
        TRY(mkdir_at(c->root, dirs[i], mode, err));
    }
    static const char *const links[] = {"bin", "sbin", "lib", "lib32", "lib64", "libx32"};
    for (size_t i = 0; i < SB_ARRAY_LEN(links); i++) {
        char host[64], target[256], at[4096];
        sb_fmt(host, sizeof(host), "/%s", links[i]);
        ssize_t n = readlink(host, target, sizeof(target) - 1);
        if (n <= 0) continue;
        target[n] = 0;
        if (strncmp(target, "usr/", 4) != 0 && strncmp(target, "/usr/", 5) != 0) continue;
        sb_fmt(at, sizeof(at), "%s/%s", c->root, links[i]);
        if (symlink(target, at) != 0) return errno_fail(err, "symlink");
    }
    char etc[4096], hosts[256];
    sb_fmt(etc, sizeof(etc), "%s/etc", c->root);
    TRY(write_file(etc, "passwd",
                   "root:x:0:0:root:/root:/bin/sh\n"
                   "sealbox-init:x:65533:65533:sealbox-init:/nonexistent:/usr/sbin/nologin\n"
                   "nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n",
                   err));
    TRY(write_file(etc, "group", "root:x:0:\ntty:x:5:\nsealbox-init:x:65533:\nnogroup:x:65534:\n",
                   err));
    TRY(write_file(etc, "nsswitch.conf", "passwd: files\ngroup: files\nhosts: files\n", err));
    sb_fmt(hosts, sizeof(hosts), "127.0.0.1\tlocalhost %s\n::1\tlocalhost\n", c->cfg->hostname);
    TRY(write_file(etc, "hosts", hosts, err));
    sb_fmt(hosts, sizeof(hosts), "%s\n", c->cfg->hostname);
    TRY(write_file(etc, "hostname", hosts, err));
    TRY(write_file(etc, "resolv.conf", "", err));
    /* the host's loader cache matches its /usr: without it every exec searches the library
     * path directory by directory */
    {
        char dst[4096 + 16];
        sb_fmt(dst, sizeof(dst), "%s/ld.so.cache", etc);
        int in = open("/etc/ld.so.cache", O_RDONLY | O_CLOEXEC);
        int outf = in >= 0 ? open(dst, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644) : -1;
        struct stat st;
        if (in >= 0 && outf >= 0 && fstat(in, &st) == 0 && st.st_size < (16 << 20))
            (void)!sendfile(outf, in, NULL, (size_t)st.st_size);
        if (in >= 0) close(in);
        if (outf >= 0) close(outf);
    }
    /* pivot_root needs the new root to be a mount point */
    if (mount(c->root, c->root, NULL, MS_BIND, NULL) != 0) return errno_fail(err, "bind the root");
    char lower[4096], usr[4096], opts[8192 + 128];
    sb_fmt(lower, sizeof(lower), "%s/lower", c->mnt);
    if (move_mount(c->image_fd, "", AT_FDCWD, lower, MOVE_MOUNT_F_EMPTY_PATH) != 0)
        return errno_fail(err, "attach the image (/usr)");
    sb_fmt(usr, sizeof(usr), "%s/usr", c->root);
    sb_fmt(opts, sizeof(opts), "lowerdir=%s/lower,upperdir=%s/upper,workdir=%s/work,userxattr",
           c->mnt, c->mnt, c->mnt);
    if (mount("sealbox-usr", usr, "overlay", MS_NOSUID | MS_NODEV, opts) != 0)
        return errno_fail(err, "mount the /usr overlay");
    return 0;
}

/* An imported image: one overlay, the idmapped image read-only below the tmpfs layer. */
static int build_image_root(struct child *c, sb_error *err) {
    char lower[4096], opts[8192 + 128];
    sb_fmt(lower, sizeof(lower), "%s/lower", c->mnt);
    if (move_mount(c->image_fd, "", AT_FDCWD, lower, MOVE_MOUNT_F_EMPTY_PATH) != 0)
        return errno_fail(err, "attach the image");
    sb_fmt(opts, sizeof(opts), "lowerdir=%s/lower,upperdir=%s/upper,workdir=%s/work,userxattr",
           c->mnt, c->mnt, c->mnt);
    if (mount("sealbox-root", c->root, "overlay", MS_NOSUID | MS_NODEV, opts) != 0)
        return errno_fail(err, "mount the root overlay");
    return 0;
}

static int st_rootfs(struct child *c, sb_error *err) {
    TRY(c->host_image ? build_host_root(c, err) : build_image_root(c, err));
    close(c->image_fd);
    c->image_fd = -1;
    return 0;
}

static int st_pivot_root(struct child *c, sb_error *err) {
    sb_fmt(c->old, sizeof(c->old), "/.sb-old-%s", c->id);
    if (chdir(c->root) != 0) return errno_fail(err, "chdir to the new root");
    /* mkdir does not follow a final symlink; an existing name (the id is random) fails */
    if (mkdir(c->old + 1, 0700) != 0) return errno_fail(err, "mkdir the old-root mount point");
    if (syscall(SYS_pivot_root, ".", c->old + 1) != 0) return errno_fail(err, "pivot_root");
    if (chdir("/") != 0) return errno_fail(err, "chdir /");
    return 0;
}

/* Creates every missing directory of an absolute in-sandbox path, refusing symlinks, so a
 * hostile image cannot point a mount target anywhere (the old root is still attached). */
static int safe_mkdirs(const char *path, sb_error *err) {
    if (path[0] != '/') return sb_error_set(err, SB_E_USAGE, "%s is not absolute", path);
    int dfd = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0) return errno_fail(err, "open /");
    char comp[256];
    const char *p = path;
    int rc = 0;
    while (*p) {
        while (*p == '/')
            p++;
        if (!*p) break;
        size_t n = strcspn(p, "/");
        if (n >= sizeof(comp) || (n == 2 && p[0] == '.' && p[1] == '.') ||
            (n == 1 && p[0] == '.')) {
            rc = sb_error_set(err, SB_E_USAGE, "%s: bad path component", path);
            break;
        }
        memcpy(comp, p, n);
        comp[n] = 0;
        p += n;
        if (mkdirat(dfd, comp, 0755) != 0 && errno != EEXIST) {
            rc = sb_error_set(err, SB_E_IO, "mkdir %s in %s: %s", comp, path, strerror(errno));
            break;
        }
        int nfd = openat(dfd, comp, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (nfd < 0) {
            rc = sb_error_set(err, SB_E_IO, "%s: component %s is not a directory (%s)", path, comp,
                              strerror(errno));
            break;
        }
        close(dfd);
        dfd = nfd;
    }
    close(dfd);
    return rc;
}

/* The file a single-file mount goes on: created empty in the writable layer (with missing
 * parents) unless the image has a regular file there, which the mount then covers. A symbolic
 * link, directory, fifo or device at the target is refused (O_NOFOLLOW; opened read-only and
 * non-blocking, so neither a fifo nor an overlay copy-up happens on the way). */
static int safe_mkfile(const char *path, sb_error *err) {
    char parent[4096];
    sb_fmt(parent, sizeof(parent), "%s", path);
    char *slash = strrchr(parent, '/');
    if (!slash) return sb_error_set(err, SB_E_USAGE, "%s is not absolute", path);
    *slash = 0;
    if (parent[0]) TRY(safe_mkdirs(parent, err));
    int fd = open(path, O_RDONLY | O_CREAT | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC, 0644);
    if (fd < 0) return sb_error_set(err, SB_E_IO, "create %s: %s", path, strerror(errno));
    struct stat st;
    int rc = fstat(fd, &st) == 0 && S_ISREG(st.st_mode)
                 ? 0
                 : sb_error_set(err, SB_E_USAGE, "%s exists and is not a regular file", path);
    close(fd);
    return rc;
}

static int bind_path(const char *src, const char *dst, unsigned long extra, sb_error *err) {
    if (mount(src, dst, NULL, MS_BIND, NULL) != 0)
        return sb_error_set(err, SB_E_IO, "bind %s on %s: %s", src, dst, strerror(errno));
    if (extra && mount(NULL, dst, NULL, MS_BIND | MS_REMOUNT | extra, NULL) != 0)
        return sb_error_set(err, SB_E_IO, "remount %s: %s", dst, strerror(errno));
    return 0;
}

static int st_proc(struct child *c, sb_error *err) {
    (void)c;
    TRY(safe_mkdirs("/proc", err));
    if (mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) != 0)
        return errno_fail(err, "mount /proc");
    return 0;
}

static int st_dev(struct child *c, sb_error *err) {
    TRY(safe_mkdirs("/dev", err));
    if (mount("sealbox-dev", "/dev", "tmpfs", MS_NOSUID | MS_NOEXEC, "size=64k,mode=0755") != 0)
        return errno_fail(err, "mount /dev");
    /* a fresh tmpfs of our own: nothing in it can be a planted symlink, so plain *at calls */
    int dfd = open("/dev", O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (dfd < 0) return errno_fail(err, "open /dev");
    int rc = 0;
    static const char *const nodes[] = {"null", "zero", "full", "random", "urandom", "tty"};
    for (size_t i = 0; i < SB_ARRAY_LEN(nodes) && rc == 0; i++) {
        char src[256], dst[64];
        sb_fmt(src, sizeof(src), "%s/dev/%s", c->old, nodes[i]);
        sb_fmt(dst, sizeof(dst), "/dev/%s", nodes[i]);
        int fd = openat(dfd, nodes[i], O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
        if (fd < 0) {
            rc = sb_error_set(err, SB_E_IO, "create %s: %s", dst, strerror(errno));
            break;
        }
        close(fd);
        if (mount(src, dst, NULL, MS_BIND, NULL) != 0)
            rc = sb_error_set(err, SB_E_IO, "bind %s on %s: %s", src, dst, strerror(errno));
    }
    char shm[64];
    sb_fmt(shm, sizeof(shm), "size=%llu,mode=1777", (unsigned long long)c->cfg->disk_bytes);
    if (rc == 0 && (mkdirat(dfd, "pts", 0755) != 0 || mkdirat(dfd, "shm", 0755) != 0))
        rc = errno_fail(err, "mkdir in /dev");
    if (rc == 0 && mount("devpts", "/dev/pts", "devpts", MS_NOSUID | MS_NOEXEC,
                         "newinstance,ptmxmode=0666,mode=0620,gid=5") != 0)
        rc = errno_fail(err, "mount /dev/pts");
    if (rc == 0 &&
        mount("sealbox-shm", "/dev/shm", "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, shm) != 0)
        rc = errno_fail(err, "mount /dev/shm");
    static const char *const links[][2] = {{"pts/ptmx", "ptmx"},
                                           {"/proc/self/fd", "fd"},
                                           {"/proc/self/fd/0", "stdin"},
                                           {"/proc/self/fd/1", "stdout"},
                                           {"/proc/self/fd/2", "stderr"}};
    for (size_t i = 0; i < SB_ARRAY_LEN(links) && rc == 0; i++)
        if (symlinkat(links[i][0], dfd, links[i][1]) != 0) rc = errno_fail(err, "symlink in /dev");
    /* one call where each node's bind used to be remounted: no set-uid and no exec anywhere
     * below /dev (the nodes' binds, pts and shm; the tmpfs itself already had both) */
    struct mount_attr a = {.attr_set = MOUNT_ATTR_NOSUID | MOUNT_ATTR_NOEXEC};
    if (rc == 0 && mount_setattr(dfd, "", AT_EMPTY_PATH | AT_RECURSIVE, &a, sizeof(a)) != 0)
        rc = errno_fail(err, "nosuid,noexec below /dev");
    close(dfd);
    return rc;
}

/* /proc entries that expose or change host state: masked (files with /dev/null, directories
 * with an empty read-only tmpfs) or made read-only. */
static int st_proc_masks(struct child *c, sb_error *err) {
    (void)c;
    static const char *const mask_files[] = {
        "/proc/kcore",         "/proc/keys",     "/proc/timer_list", "/proc/sched_debug",
        "/proc/latency_stats", "/proc/kallsyms", "/proc/kmsg",       "/proc/vmallocinfo",
        "/proc/sysrq-trigger", "/proc/config.gz"};
    static const char *const mask_dirs[] = {"/proc/acpi", "/proc/scsi", "/proc/asound",
                                            "/proc/driver", "/proc/tty/driver"};
    static const char *const ro[] = {"/proc/sys", "/proc/bus", "/proc/fs", "/proc/irq"};
    struct stat st;
    for (size_t i = 0; i < SB_ARRAY_LEN(mask_files); i++)
        if (lstat(mask_files[i], &st) == 0) TRY(bind_path("/dev/null", mask_files[i], 0, err));
    /* one empty read-only tmpfs for every masked directory: the first gets it, the others a
     * bind of it (which keeps its read-only, nosuid, nodev, noexec flags) */
    const char *first = NULL;
    for (size_t i = 0; i < SB_ARRAY_LEN(mask_dirs); i++) {
        if (lstat(mask_dirs[i], &st) != 0 || !S_ISDIR(st.st_mode)) continue;
        int r = first ? mount(first, mask_dirs[i], NULL, MS_BIND, NULL)
                      : mount("sealbox-mask", mask_dirs[i], "tmpfs",
                              MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, "size=0,mode=0555");
        if (r != 0) return errno_fail(err, "mask a /proc directory");
        if (!first) first = mask_dirs[i];
    }
    for (size_t i = 0; i < SB_ARRAY_LEN(ro); i++)
        if (lstat(ro[i], &st) == 0)
            TRY(bind_path(ro[i], ro[i], MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, err));
    return 0;
}

static int st_user_mounts(struct child *c, sb_error *err) {
    for (size_t i = 0; i < c->cfg->n_mounts; i++) {
        const struct sb_mount_spec *m = &c->cfg->mounts[i];
        struct stat st;
        if (fstat(c->mount_fds[i], &st) != 0) return errno_fail(err, "stat a mount source");
        TRY(S_ISDIR(st.st_mode) ? safe_mkdirs(m->dst, err) : safe_mkfile(m->dst, err));
        if (move_mount(c->mount_fds[i], "", AT_FDCWD, m->dst, MOVE_MOUNT_F_EMPTY_PATH) != 0)
            return sb_error_set(err, SB_E_IO, "mount %s on %s: %s", m->src, m->dst,
                                strerror(errno));
        close(c->mount_fds[i]);
        c->mount_fds[i] = -1;
    }
    return 0;
}

static int st_drop_old_root(struct child *c, sb_error *err) {
    if (umount2(c->old, MNT_DETACH) != 0) return errno_fail(err, "detach the host root");
    if (rmdir(c->old) != 0) return errno_fail(err, "remove the old-root mount point");
    return 0;
}

static int st_hostname(struct child *c, sb_error *err) {
    if (sethostname(c->cfg->hostname, strlen(c->cfg->hostname)) != 0)
        return errno_fail(err, "sethostname");
    return 0;
}

static int st_loopback(struct child *c, sb_error *err) {
    if (c->cfg->net_host) return 0; /* the host's interfaces, as the host set them up */
    int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (s < 0) return errno_fail(err, "socket for lo");
    struct ifreq ifr;
    memset(&ifr, 0, sizeof(ifr));
    memcpy(ifr.ifr_name, "lo", 3);
    int rc = 0;
    if (ioctl(s, SIOCGIFFLAGS, &ifr) != 0) {
        rc = errno_fail(err, "SIOCGIFFLAGS lo");
    } else {
        ifr.ifr_flags |= IFF_UP | IFF_RUNNING;
        if (ioctl(s, SIOCSIFFLAGS, &ifr) != 0) rc = errno_fail(err, "bring lo up");
    }
    close(s);
    return rc;
}

static int set_rlimit(int res, rlim_t v, sb_error *err) {
    struct rlimit cur;
    if (getrlimit(res, &cur) != 0) return errno_fail(err, "getrlimit");
    struct rlimit rl = {.rlim_cur = v, .rlim_max = v};
    if (cur.rlim_max != RLIM_INFINITY && rl.rlim_max > cur.rlim_max) rl.rlim_max = cur.rlim_max;
    if (rl.rlim_cur > rl.rlim_max) rl.rlim_cur = rl.rlim_max;
    if (setrlimit(res, &rl) != 0) return errno_fail(err, "setrlimit");
    return 0;
}

static int st_rlimits(struct child *c, sb_error *err) {
    TRY(set_rlimit(RLIMIT_CORE, 0, err));
    TRY(set_rlimit(RLIMIT_NOFILE, SB_SANDBOX_NOFILE, err));
    /* counted per host uid, and each sandbox has its own: pids.max is the real bound */
    TRY(set_rlimit(RLIMIT_NPROC, (rlim_t)c->cfg->pids, err));
    TRY(set_rlimit(RLIMIT_FSIZE, (rlim_t)c->cfg->disk_bytes, err));
    TRY(set_rlimit(RLIMIT_MEMLOCK, 64 * 1024, err));
    TRY(set_rlimit(RLIMIT_MSGQUEUE, 800 * 1024, err));
    return 0;
}

/* fds 0-2 -> /dev/null (the host's stdio never enters), 3 = control socket, 4 = sealbox-init
 * (CLOEXEC), 5 = sync (CLOEXEC); everything else closed. */
static int st_fds(struct child *c, sb_error *err) {
    int null = open("/dev/null", O_RDWR | O_CLOEXEC);
    if (null < 0) return errno_fail(err, "open /dev/null");
    int ctl = fcntl(c->ctl, F_DUPFD_CLOEXEC, 10);
    int ini = fcntl(c->init_fd, F_DUPFD_CLOEXEC, 10);
    int syn = fcntl(c->sync, F_DUPFD_CLOEXEC, 10);
    if (ctl < 0 || ini < 0 || syn < 0) return errno_fail(err, "dup");
    if (dup2(null, 0) < 0 || dup2(null, 1) < 0 || dup2(null, 2) < 0 || dup2(ctl, 3) < 0 ||
        dup3(ini, 4, O_CLOEXEC) < 0 || dup3(syn, 5, O_CLOEXEC) < 0)
        return errno_fail(err, "dup2");
    c->ctl = 3;
    c->init_fd = 4;
    c->sync = 5;
    if (syscall(SYS_close_range, 6u, ~0u, 0u) != 0) return errno_fail(err, "close_range");
    return 0;
}

static int capset_to(uint64_t caps, sb_error *err) {
    struct __user_cap_header_struct h = {.version = _LINUX_CAPABILITY_VERSION_3, .pid = 0};
    struct __user_cap_data_struct d[2];
    memset(d, 0, sizeof(d));
    d[0].effective = d[0].permitted = d[0].inheritable = (uint32_t)caps;
    d[1].effective = d[1].permitted = d[1].inheritable = (uint32_t)(caps >> 32);
    if (syscall(SYS_capset, &h, d) != 0) return errno_fail(err, "capset");
    return 0;
}

/* sealbox-init keeps exactly CAP_SETUID, CAP_SETGID and CAP_SETPCAP (to start workloads as uid
 * 0 with nothing) and CAP_KILL (to deliver forwarded signals and timeouts to workloads, which run
 * under another uid), all in the sandbox's user namespace only, as ambient capabilities: none of
 * them reaches a process outside the sandbox, and the workload (uid 0, no capabilities) still
 * cannot signal init (uid 65533). Securebits stop uid 0 from ever regaining capabilities through
 * exec. */
static int st_credentials(struct child *c, sb_error *err) {
    (void)c;
    unsigned bits = SECBIT_NOROOT | SECBIT_NOROOT_LOCKED | SECBIT_NO_SETUID_FIXUP |
                    SECBIT_NO_SETUID_FIXUP_LOCKED | SECBIT_KEEP_CAPS_LOCKED;
    if (prctl(PR_SET_SECUREBITS, bits, 0, 0, 0) != 0) return errno_fail(err, "securebits");
    uint64_t keep =
        (1ull << CAP_SETUID) | (1ull << CAP_SETGID) | (1ull << CAP_SETPCAP) | (1ull << CAP_KILL);
    for (int cap = 0; cap <= 63; cap++) {
        if (keep & (1ull << cap)) continue;
        if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0 && errno != EINVAL)
            return errno_fail(err, "drop bounding capability");
    }
    if (setresgid(SB_SANDBOX_INIT_UID, SB_SANDBOX_INIT_UID, SB_SANDBOX_INIT_UID) != 0)
        return errno_fail(err, "setresgid(init)");
    if (setresuid(SB_SANDBOX_INIT_UID, SB_SANDBOX_INIT_UID, SB_SANDBOX_INIT_UID) != 0)
        return errno_fail(err, "setresuid(init)");
    TRY(capset_to(keep, err));
    for (int cap = 0; cap <= 63; cap++)
        if ((keep & (1ull << cap)) && prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, cap, 0, 0) != 0)
            return errno_fail(err, "raise ambient capability");
    /* the sandbox dies with its creator (cleared on uid change, hence here) */
    if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) != 0) return errno_fail(err, "pdeathsig");
    if (getppid() == 0) {
        /* parent already gone (pid namespace: our parent is outside, so ppid reads 0) */
    }
    return 0;
}

static int st_landlock(struct child *c, sb_error *err) {
    c->root_fd = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (c->root_fd < 0) return errno_fail(err, "open / for landlock");
    int abi = sb_landlock_apply(c->root_fd, err);
    close(c->root_fd);
    c->root_fd = -1;
    return abi < 0 ? abi : 0;
}

static int st_seccomp(struct child *c, sb_error *err) {
    (void)c;
    return sb_seccomp_load(err);
}

static int st_exec_init(struct child *c, sb_error *err) {
    umask(c->umask);
    char *const argv[] = {(char *)"sealbox-init", NULL};
    char *const envp[] = {NULL};
    syscall(SYS_execveat, c->init_fd, "", argv, envp, AT_EMPTY_PATH);
    return errno_fail(err, "exec sealbox-init");
}

struct step {
    const char *name;
    int (*run)(struct child *c, sb_error *err);
};

/* The order matters: everything needing the host tree happens before the old root is
 * detached; credentials, Landlock and seccomp come last so setup keeps its privileges. */
static const struct step CHILD_STEPS[] = {
    {"join the cgroup", st_join_cgroup},
    {"wait for the host half", st_wait_parent},
    {"open the mount point", st_open_mount_point},
    {"become root in the user namespace", st_become_root},
    {"private mount propagation", st_private_mounts},
    {"writable layer", st_writable_layer},
    {"root file system", st_rootfs},
    {"pivot_root", st_pivot_root},
    {"/proc", st_proc},
    {"/dev", st_dev},
    {"/proc masks", st_proc_masks},
    {"user mounts", st_user_mounts},
    {"detach the host root", st_drop_old_root},
    {"cgroup namespace", st_cgroup_ns},
    {"hostname", st_hostname},
    {"loopback", st_loopback},
    {"rlimits", st_rlimits},
    {"file descriptors", st_fds},
    {"credentials and capabilities", st_credentials},
    {"landlock", st_landlock},
    {"seccomp", st_seccomp},
    {"exec sealbox-init", st_exec_init},
};

static void child_report(int fd, const char *step, const sb_error *e) {
    char buf[SB_ERRMSG_MAX + 128];
    int n = sb_fmt(buf, sizeof(buf), "%s: %s", step, e->msg);
    if (n > 0) (void)!write(fd, buf, (size_t)n < sizeof(buf) ? (size_t)n : sizeof(buf) - 1);
}

__attribute__((noreturn)) static void child_main(struct child *c) {
    for (size_t i = 0; i < SB_ARRAY_LEN(CHILD_STEPS); i++) {
        sb_error e = {0};
        if (CHILD_STEPS[i].run(c, &e) < 0) {
            child_report(c->sync, CHILD_STEPS[i].name, &e);
            _exit(1);
        }
        trace_mark(c->trace, CHILD_STEPS[i].name);
    }
    _exit(1); /* not reached: the last step execs */
}

/* ---- the host half -------------------------------------------------------------------------- */

static int send_fds(int sock, const int *fds, size_t n, sb_error *err) {
    char data[1] = {'g'};
    union {
        char buf[CMSG_SPACE(sizeof(int) * (SB_SANDBOX_MAX_MOUNTS + 1))];
        struct cmsghdr align;
    } u;
    memset(&u, 0, sizeof(u));
    struct iovec iov = {.iov_base = data, .iov_len = 1};
    struct msghdr m = {.msg_iov = &iov,
                       .msg_iovlen = 1,
                       .msg_control = u.buf,
                       .msg_controllen = CMSG_SPACE(sizeof(int) * n)};
    struct cmsghdr *cm = CMSG_FIRSTHDR(&m);
    cm->cmsg_level = SOL_SOCKET;
    cm->cmsg_type = SCM_RIGHTS;
    cm->cmsg_len = CMSG_LEN(sizeof(int) * n);
    memcpy(CMSG_DATA(cm), fds, sizeof(int) * n);
    if (sendmsg(sock, &m, MSG_NOSIGNAL) != 1) return errno_fail(err, "send mounts to the sandbox");
    return 0;
}

static int write_map(pid_t pid, const char *file, const char *text, sb_error *err) {
    char p[64];
    sb_fmt(p, sizeof(p), "/proc/%d/%s", (int)pid, file);
    return sb_write_str(p, text, err);
}

/* A detached clone of a host tree (a directory or a single file), idmapped into the sandbox's
 * user namespace so its root-owned files belong to the sandbox's root. Falls back to a plain
 * clone (files owned by host users then show as nobody) when the file system cannot be idmapped;
 * *idmapped says which. user: a --mount source, whose last component must not be a symbolic
 * link (validate() refused one; this catches one swapped in since, on the clone itself). */
static int clone_tree(const char *path, int userns, bool ro, bool user, bool *idmapped, int *out,
                      sb_error *err) {
    int fd = open_tree(AT_FDCWD, path,
                       OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | (user ? AT_SYMLINK_NOFOLLOW : 0));
    if (fd < 0) return sb_error_set(err, SB_E_IO, "open_tree %s: %s", path, strerror(errno));
    struct stat st;
    if (user && (fstat(fd, &st) != 0 || !(S_ISDIR(st.st_mode) || S_ISREG(st.st_mode)))) {
        close(fd);
        return sb_error_set(err, SB_E_USAGE,
                            "sandbox: mount source %s is no longer a directory or regular file",
                            path);
    }
    struct mount_attr a = {.attr_set = MOUNT_ATTR_IDMAP | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV |
                                       (ro ? MOUNT_ATTR_RDONLY : 0),
                           .userns_fd = (uint64_t)userns};
    *idmapped = true;
    if (mount_setattr(fd, "", AT_EMPTY_PATH, &a, sizeof(a)) != 0) {
        int e = errno;
        if (e != EINVAL && e != EPERM && e != ENOTSUP && e != EOPNOTSUPP) {
            close(fd);
            return sb_error_set(err, SB_E_IO, "idmap %s: %s", path, strerror(e));
        }
        *idmapped = false;
        a.attr_set &= ~(uint64_t)MOUNT_ATTR_IDMAP;
        a.userns_fd = 0;
        if (mount_setattr(fd, "", AT_EMPTY_PATH, &a, sizeof(a)) != 0) {
            e = errno;
            close(fd);
            return sb_error_set(err, SB_E_IO, "mount attributes of %s: %s", path, strerror(e));
        }
    }
    *out = fd;
    return 0;
}

static int copy_init_memfd(const char *path, int *out, sb_error *err) {
    int src = open(path, O_RDONLY | O_CLOEXEC);
    if (src < 0)
        return sb_error_set(err, SB_E_NOTFOUND, "sealbox-init (%s): %s", path, strerror(errno));
    struct stat st;
    int fd = -1, rc = 0;
    if (fstat(src, &st) != 0 || !S_ISREG(st.st_mode)) {
        rc = sb_error_set(err, SB_E_IO, "sealbox-init (%s) is not a regular file", path);
        goto out;
    }
    /* A sealed copy: the sandbox can never reach the host's binary through /proc/1/exe. */
    fd = memfd_create("sealbox-init", MFD_CLOEXEC | MFD_ALLOW_SEALING);
    if (fd < 0) {
        rc = errno_fail(err, "memfd_create");
        goto out;
    }
    off_t left = st.st_size;
    while (left > 0) {
        ssize_t n = sendfile(fd, src, NULL, (size_t)left);
        if (n <= 0) {
            rc = errno_fail(err, "copy sealbox-init");
            goto out;
        }
        left -= n;
    }
    /* F_SEAL_WRITE answers EBUSY while the freshly written pages still carry transient
     * references (per-CPU LRU batches after a migration under load): retry with a backoff. */
    for (int tries = 0;; tries++) {
        if (fcntl(fd, F_ADD_SEALS, F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE) == 0)
            break;
        if (errno != EBUSY || tries == 50) {
            rc = errno_fail(err, "seal sealbox-init");
            break;
        }
        struct timespec ts = {0, 2000000L * (tries < 10 ? tries + 1 : 10)};
        nanosleep(&ts, NULL);
    }
out:
    close(src);
    if (rc < 0) {
        if (fd >= 0) close(fd);
        return rc;
    }
    *out = fd;
    return 0;
}

/* The sealed copy of sealbox-init is made once per process and binary (path, device, inode,
 * size, modification time) and shared by every sandbox it creates: it is immutable, and copying
 * it cost a share of every create. Like the compiled seccomp filter, a cache of a pure function
 * of the file, not state: a changed binary gets a new copy. */
static pthread_mutex_t init_cache_lock = PTHREAD_MUTEX_INITIALIZER;
static struct {
    char path[4096];
    dev_t dev;
    ino_t ino;
    off_t size;
    struct timespec mtime;
    int fd;
} init_cache = {.fd = -1};

/* *out: a descriptor of its own (O_CLOEXEC) for the caller to close. */
static int make_init_memfd(const char *path, int *out, sb_error *err) {
    struct stat st;
    if (stat(path, &st) != 0)
        return sb_error_set(err, SB_E_NOTFOUND, "sealbox-init (%s): %s", path, strerror(errno));
    pthread_mutex_lock(&init_cache_lock);
    int rc = 0;
    if (init_cache.fd < 0 || strcmp(init_cache.path, path) != 0 || init_cache.dev != st.st_dev ||
        init_cache.ino != st.st_ino || init_cache.size != st.st_size ||
        init_cache.mtime.tv_sec != st.st_mtim.tv_sec ||
        init_cache.mtime.tv_nsec != st.st_mtim.tv_nsec) {
        int fd = -1;
        rc = copy_init_memfd(path, &fd, err);
        if (rc == 0) {
            if (init_cache.fd >= 0) close(init_cache.fd);
            init_cache.fd = fd;
            sb_fmt(init_cache.path, sizeof(init_cache.path), "%s", path);
            init_cache.dev = st.st_dev;
            init_cache.ino = st.st_ino;
            init_cache.size = st.st_size;
            init_cache.mtime = st.st_mtim;
        }
    }
    if (rc == 0) {
        *out = fcntl(init_cache.fd, F_DUPFD_CLOEXEC, 0);
        if (*out < 0) rc = errno_fail(err, "dup the sealbox-init copy");
    }
    pthread_mutex_unlock(&init_cache_lock);
    return rc;
}

static int random_id(char out[SB_SANDBOX_ID_LEN + 1], sb_error *err) {
    uint8_t b[SB_SANDBOX_ID_LEN / 2];
    if (getrandom(b, sizeof(b), 0) != (ssize_t)sizeof(b)) return errno_fail(err, "getrandom");
    sb_hex_encode(b, sizeof(b), out);
    return 0;
}

/* <state>/spare/<slot>: the emptied directory of the last sandbox that had this uid slot, kept
 * for the next one. Removing a directory costs 3-4 ms on this host's ext4 (renaming it 0.03 ms),
 * and the spares are bounded by the slots ever in use at once. */
static void spare_path(const sb_sandbox *sb, char *out, size_t cap) {
    sb_fmt(out, cap, "%s/spare/%u", sb->state_dir, sb->slot);
}

static int state_unwritable(const sb_sandbox *sb, int e, sb_error *err) {
    return sb_error_set(err, SB_E_IO, "sandbox: state directory %s is not writable: %s",
                        sb->state_dir, strerror(e));
}

/* <state>/sandboxes/<id>, 0711 so the sandbox's (unmapped) setup process can reach its mount
 * point (every record inside is 0600/0700): the slot's spare if there is one, otherwise a new
 * one. Made while the slot table is locked: a slot whose directory is missing is reclaimed. */
/* Made as <state>/sandboxes/.new-<id> (a name no listing takes for a sandbox): the record is
 * written into it, and only then is it renamed to its id (publish_dir), so that a crash at any
 * point leaves either a directory with a record, or a .new- one that sb_jail_sweep removes. */
#define NEW_DIR_PREFIX ".new-"
static int make_dir(sb_sandbox *sb, sb_error *err) {
    char p[4096], sp[4096];
    sb_fmt(p, sizeof(p), "%s/sandboxes/" NEW_DIR_PREFIX "%s", sb->state_dir, sb->id);
    spare_path(sb, sp, sizeof(sp));
    int e = rename(sp, p) == 0 || mkdir(p, 0711) == 0 ? 0 : errno;
    if (e == ENOENT) { /* the first sandbox of this state directory */
        char sd[4096];
        sb_fmt(sd, sizeof(sd), "%s/sandboxes", sb->state_dir);
        e = sb_mkdir_p(sd, 0711, NULL) < 0 || mkdir(p, 0711) != 0 ? errno : 0;
    }
    if (e == EACCES || e == EPERM || e == EROFS || e == ENOENT || e == ENOTDIR)
        return state_unwritable(sb, e, err);
    if (e) return sb_error_set(err, SB_E_IO, "mkdir %s: %s", p, strerror(e));
    sb->dir = strdup(p);
    return sb->dir ? 0 : sb_error_set(err, SB_E_INTERNAL, "out of memory");
}

/* A uid/gid slot: <state>/slots/<n> holds the id of the sandbox owning host ids
 * SB_SANDBOX_HOST_ID_BASE + n * SB_SANDBOX_ID_RANGE ... (+ SB_SANDBOX_ID_RANGE); the sandbox's
 * directory is made with it. */
static int alloc_slot(sb_sandbox *sb, unsigned *slot, sb_error *err) {
    char dir[4096], lockp[4096];
    sb_fmt(dir, sizeof(dir), "%s/slots", sb->state_dir);
    sb_fmt(lockp, sizeof(lockp), "%s/.lock", dir);
    int lk = open(lockp, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (lk < 0 && errno == ENOENT) { /* the first sandbox of this state directory */
        /* 0711: the sandbox's setup process (host uid 0 without capabilities) must reach its
         * directory below */
        if (sb_mkdir_p(sb->state_dir, 0711, NULL) < 0 || sb_mkdir_p(dir, 0700, NULL) < 0)
            return state_unwritable(sb, errno, err);
        lk = open(lockp, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    }
    if (lk < 0) return state_unwritable(sb, errno, err);
    if (flock(lk, LOCK_EX) != 0) {
        close(lk);
        return errno_fail(err, "lock the slot table");
    }
    int rc =
        sb_error_set(err, SB_E_LIMIT, "sandbox: all %u uid slots are in use", SB_SANDBOX_SLOTS);
    for (unsigned i = 0; i < SB_SANDBOX_SLOTS; i++) {
        char p[4096];
        sb_fmt(p, sizeof(p), "%s/%u", dir, i);
        int fd = open(p, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        if (fd < 0 && errno == EEXIST) {
            /* a slot whose sandbox directory is gone was left by a crash: reclaim it */
            char owner[64], sd[4096], nd[4096];
            if (sb_read_small(p, owner, sizeof(owner), NULL) <= 0) continue;
            sb_fmt(sd, sizeof(sd), "%s/sandboxes/%s", sb->state_dir, owner);
            sb_fmt(nd, sizeof(nd), "%s/sandboxes/" NEW_DIR_PREFIX "%s", sb->state_dir, owner);
            if (access(sd, F_OK) == 0 || access(nd, F_OK) == 0) continue;
            if (unlink(p) != 0) continue;
            fd = open(p, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        }
        if (fd < 0) continue;
        ssize_t w = write(fd, sb->id, SB_SANDBOX_ID_LEN);
        close(fd);
        if (w != SB_SANDBOX_ID_LEN) {
            unlink(p);
            rc = errno_fail(err, "write the uid slot");
            break;
        }
        sb->slot_path = strdup(p);
        sb->slot = i;
        *slot = i;
        rc = sb->slot_path ? make_dir(sb, err) : sb_error_set(err, SB_E_INTERNAL, "out of memory");
        break;
    }
    close(lk);
    return rc;
}

/* The per-sandbox directory holds only small record files (and mnt/, the mount point of
 * sandboxes made by earlier versions). */
static void rm_records(const char *dir) {
    char p[4096];
    static const char *const names[] = {"record",   "holder.pid", "control.sock",
                                        "main.log", "main.exit",  "mlog.json"};
    for (size_t i = 0; i < SB_ARRAY_LEN(names); i++) {
        sb_fmt(p, sizeof(p), "%s/%s", dir, names[i]);
        (void)unlink(p);
    }
}

static void rm_tree_small(const char *dir) {
    rm_records(dir);
    char p[4096];
    sb_fmt(p, sizeof(p), "%s/mnt", dir);
    (void)rmdir(p);
    (void)rmdir(dir);
}

/* The sandbox's directory, emptied of its records, becomes its slot's spare. */
static bool park_dir(sb_sandbox *sb) {
    if (!sb->slot_path) return false;
    rm_records(sb->dir);
    char sp[4096];
    spare_path(sb, sp, sizeof(sp));
    if (rename(sb->dir, sp) == 0) return true;
    if (errno != ENOENT) return false;
    char p[4096];
    sb_fmt(p, sizeof(p), "%s/spare", sb->state_dir);
    return mkdir(p, 0700) == 0 && rename(sb->dir, sp) == 0;
}

static void jail_destroy(sb_sandbox *sb) {
    if (!sb) return;
    sb_jail_set_mlog(sb, NULL, NULL);
    if (sb->attached) {
        if (sb->ctl >= 0) close(sb->ctl);
        if (sb->cg) sb_cgroup_free(sb->cg);
        free(sb->dir);
        free(sb->state_dir);
        free(sb->image_digest);
        free(sb);
        return;
    }
    struct sb_sandbox_trace *t = sb->trace;
    trace_mark(t, "destroy: start");
    if (sb->init_pid > 0) {
        /* v1: a frozen task acts on SIGKILL only once thawed */
        if (sb->cg && sb_cgroup_freeze(sb->cg, false, NULL) < 0) {
        }
        trace_mark(t, "destroy: thaw");
        if (sb->pidfd >= 0)
            (void)syscall(SYS_pidfd_send_signal, sb->pidfd, SIGKILL, NULL, 0);
        else
            (void)kill(sb->init_pid, SIGKILL);
        trace_mark(t, "destroy: SIGKILL");
        /* the record files meanwhile (the directory goes last: `sealbox rm` waits for it) */
        if (sb->dir) rm_records(sb->dir);
        trace_mark(t, "destroy: record files removed");
        /* init's exit tears down the pid namespace (every process in it) and, with the last
         * process, the mount namespace and every mount of the sandbox */
        while (waitpid(sb->init_pid, NULL, 0) < 0 && errno == EINTR) {
        }
        trace_mark(t, "destroy: init reaped");
    }
    if (sb->ctl >= 0) close(sb->ctl);
    if (sb->pidfd >= 0) close(sb->pidfd);
    if (sb->cg) (void)sb_cgroup_destroy(sb->cg, NULL);
    trace_mark(t, "destroy: cgroup removed");
    if (sb->dir && !park_dir(sb)) rm_tree_small(sb->dir);
    if (sb->slot_path) (void)unlink(sb->slot_path);
    trace_mark(t, "destroy: records removed");
    free(sb->slot_path);
    free(sb->dir);
    free(sb->state_dir);
    free(sb->image_digest);
    free(sb);
}

static int check_path_chars(const char *what, const char *p, sb_error *err) {
    /* overlay options are comma/colon separated */
    if (strpbrk(p, ",:\\\n"))
        BAIL(err, SB_E_USAGE, "sandbox: %s '%s' must not contain ',', ':', '\\' or newlines", what,
             p);
    return 0;
}

static int validate(const struct sb_sandbox_config *cfg, sb_error *err) {
    ENSURE(cfg->init_path, err, SB_E_USAGE, "sandbox: no sealbox-init path");
    ENSURE(cfg->memory_bytes >= SB_SANDBOX_MIN_MEMORY, err, SB_E_USAGE,
           "sandbox: memory limit %llu is below the minimum %llu bytes",
           (unsigned long long)cfg->memory_bytes, (unsigned long long)SB_SANDBOX_MIN_MEMORY);
    ENSURE(cfg->disk_bytes >= SB_SANDBOX_MIN_DISK, err, SB_E_USAGE,
           "sandbox: disk size %llu is below the minimum %llu bytes",
           (unsigned long long)cfg->disk_bytes, (unsigned long long)SB_SANDBOX_MIN_DISK);
    ENSURE(cfg->pids >= 2 && cfg->pids <= SB_SANDBOX_MAX_PIDS, err, SB_E_USAGE,
           "sandbox: pids limit %llu is outside 2..%u", (unsigned long long)cfg->pids,
           SB_SANDBOX_MAX_PIDS);
    ENSURE(!(cfg->net_none && cfg->net_host), err, SB_E_USAGE,
           "sandbox: the network is either none (loopback only) or host, not both");
    ENSURE(cfg->n_mounts <= SB_SANDBOX_MAX_MOUNTS, err, SB_E_LIMIT,
           "sandbox: %zu mounts (at most %d)", cfg->n_mounts, SB_SANDBOX_MAX_MOUNTS);
    size_t hl = strlen(cfg->hostname);
    ENSURE(hl > 0 && hl <= SB_SANDBOX_HOSTNAME_MAX, err, SB_E_USAGE,
           "sandbox: hostname must have 1..%d characters", SB_SANDBOX_HOSTNAME_MAX);
    for (size_t i = 0; i < hl; i++) {
        char ch = cfg->hostname[i];
        bool ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
                  (ch >= '0' && ch <= '9') || ch == '-' || ch == '.';
        ENSURE(ok, err, SB_E_USAGE,
               "sandbox: hostname '%s' has a character other than "
               "letters, digits, '-' and '.'",
               cfg->hostname);
    }
    ENSURE(cfg->state_dir[0] == '/', err, SB_E_USAGE,
           "sandbox: state directory '%s' is not absolute", cfg->state_dir);
    ENSURE(strlen(cfg->state_dir) <= SB_STATE_DIR_MAX, err, SB_E_USAGE,
           "sandbox: state directory path is longer than %d bytes", SB_STATE_DIR_MAX);
    TRY(check_path_chars("state directory", cfg->state_dir, err));
    for (size_t i = 0; i < cfg->n_mounts; i++) {
        const struct sb_mount_spec *m = &cfg->mounts[i];
        ENSURE(m->src && m->src[0] == '/', err, SB_E_USAGE,
               "sandbox: mount source '%s' is not an absolute path", m->src ? m->src : "");
        ENSURE(m->dst && m->dst[0] == '/' && strlen(m->dst) < 1024, err, SB_E_USAGE,
               "sandbox: mount destination '%s' is not an absolute path", m->dst ? m->dst : "");
        ENSURE(!strstr(m->dst, "/../") && !strstr(m->dst, "/./") &&
                   (strlen(m->dst) < 3 || strcmp(m->dst + strlen(m->dst) - 3, "/..") != 0),
               err, SB_E_USAGE, "sandbox: mount destination '%s' has '.' or '..'", m->dst);
        ENSURE(strcmp(m->dst, "/") != 0, err, SB_E_USAGE, "sandbox: cannot mount over /");
        /* A symbolic link as the source is refused rather than followed: what gets mounted is
         * then exactly the object named, not one whoever controls the link picks (or swaps in
         * between this check and the mount: clone_tree checks the clone again). */
        struct stat st;
        if (lstat(m->src, &st) != 0)
            BAIL(err, SB_E_NOTFOUND, "sandbox: mount source %s: %s", m->src, strerror(errno));
        ENSURE(!S_ISLNK(st.st_mode), err, SB_E_USAGE,
               "sandbox: mount source %s is a symbolic link (name its target)", m->src);
        ENSURE(S_ISDIR(st.st_mode) || S_ISREG(st.st_mode), err, SB_E_USAGE,
               "sandbox: mount source %s is neither a directory nor a regular file", m->src);
    }
    return 0;
}

/* The first thing the sandbox half does: close every descriptor above stdio it did not come
 * for. A create in another thread of the same process (sealboxd's builders) may have had its
 * own sockets open at our clone; copies of them held here would hide from that sandbox's
 * halves the EOF that tells one the other died or exec'd (after a kill -9 of the daemon, two
 * such orphans waited for each other forever, cgroups and all). System calls only: this runs in
 * the clone of a possibly multi-threaded process. */
static void close_all_but(int *keep, size_t n) {
    for (size_t i = 1; i < n; i++) /* insertion sort: a handful of numbers */
        for (size_t j = i; j > 0 && keep[j - 1] > keep[j]; j--) {
            int t = keep[j];
            keep[j] = keep[j - 1];
            keep[j - 1] = t;
        }
    unsigned from = 3;
    for (size_t i = 0; i < n; i++) {
        if (keep[i] < 0 || (unsigned)keep[i] < from) continue;
        if ((unsigned)keep[i] > from)
            (void)syscall(SYS_close_range, from, (unsigned)keep[i] - 1, 0u);
        from = (unsigned)keep[i] + 1;
    }
    (void)syscall(SYS_close_range, from, ~0u, 0u);
}

/* <dir>/record: written once the directory exists (init_pid 0, creator_pid: this process), so
 * that a crash in the middle of a create leaves a sandbox sb_jail_sweep can find and remove,
 * then again once sealbox-init runs. Runtime state, gone with the sandbox: no fsync. */
static int write_record(const sb_sandbox *sb, const struct sb_sandbox_config *cfg, sb_error *err) {
    char rec[8192], p[4096];
    int n = sb_fmt(rec, sizeof(rec),
                   "id=%s\nimage=%s\ncgroup_root=%s\ncgroup_parent=%s\ncreated=%lld\ninit_pid=%d\n"
                   "creator_pid=%d\n",
                   sb->id, sb->image_digest ? sb->image_digest : "",
                   cfg->cgroup_root ? cfg->cgroup_root : "",
                   cfg->cgroup_parent ? cfg->cgroup_parent : "", (long long)sb_time_now(),
                   sb->init_pid > 0 ? (int)sb->init_pid : 0, (int)getpid());
    sb_fmt(p, sizeof(p), "%s/record", sb->dir);
    int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    bool ok = fd >= 0 && n > 0 && write(fd, rec, (size_t)n) == n;
    if (fd >= 0) close(fd);
    if (!ok) return sb_error_set(err, SB_E_IO, "sandbox: cannot write %s", p);
    return 0;
}

/* The directory under its id, record and all (see make_dir). */
static int publish_dir(sb_sandbox *sb, sb_error *err) {
    char p[4096];
    sb_fmt(p, sizeof(p), "%s/sandboxes/%s", sb->state_dir, sb->id);
    char *d = strdup(p);
    if (!d) return sb_error_set(err, SB_E_INTERNAL, "out of memory");
    if (rename(sb->dir, p) != 0) {
        int e = errno;
        free(d);
        return sb_error_set(err, SB_E_IO, "rename %s: %s", sb->dir, strerror(e));
    }
    free(sb->dir);
    sb->dir = d;
    return 0;
}

static int jail_create(const struct sb_sandbox_config *in, sb_sandbox **out, sb_error *err) {
    struct sb_sandbox_config cfg = *in;
    if (!cfg.state_dir) cfg.state_dir = SB_SANDBOX_STATE_DIR;
    if (!cfg.hostname) cfg.hostname = "sandbox";
    if (!cfg.memory_bytes) cfg.memory_bytes = SB_SANDBOX_DEF_MEMORY;
    if (!cfg.pids) cfg.pids = SB_SANDBOX_DEF_PIDS;
    if (!cfg.disk_bytes) cfg.disk_bytes = SB_SANDBOX_DEF_DISK;
    TRY(sb_jail_preflight(err));
    TRY(validate(&cfg, err));

    sb_sandbox *sb = calloc(1, sizeof(*sb));
    if (!sb) BAIL(err, SB_E_INTERNAL, "out of memory");
    sb->ops = &sb_jail_backend;
    sb->pidfd = sb->ctl = -1;
    sb->init_pid = -1;
    int rc = 0, init_fd = -1, userns = -1, sync_sp[2] = {-1, -1}, ctl_sp[2] = {-1, -1};
    struct sb_cg_join join = {.n = 0, .dir_fd = -1};
    int fds[SB_SANDBOX_MAX_MOUNTS + 1];
    size_t nfds = 0;
    char *lower = NULL;
    bool host_image = false;
    struct sb_sandbox_trace *tr = NULL; /* shared with the sandbox half while tracing */
    if (cfg.trace) {
        void *pg =
            mmap(NULL, sizeof(*tr), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
        if (pg != MAP_FAILED) tr = pg;
        trace_mark(tr, "create: start");
    }

#define STEP(expr)             \
    do {                       \
        rc = (expr);           \
        if (rc < 0) goto fail; \
    } while (0)

    sb->state_dir = strdup(cfg.state_dir);
    if (!sb->state_dir) STEP(sb_error_set(err, SB_E_INTERNAL, "out of memory"));
    STEP(random_id(sb->id, err));
    trace_mark(tr, "create: validate, id");
    unsigned slot = 0;
    STEP(alloc_slot(sb, &slot, err));
    STEP(write_record(sb, &cfg, err));
    STEP(publish_dir(sb, err));
    trace_mark(tr, "create: uid slot, directory");
    STEP(sb_image_resolve(cfg.state_dir, cfg.image, &lower, &sb->image_digest, &host_image, err));
    trace_mark(tr, "create: image resolved");
    STEP(make_init_memfd(cfg.init_path, &init_fd, err));
    trace_mark(tr, "create: init memfd");
    struct sb_cg_limits lim = {cfg.memory_bytes, cfg.pids, cfg.cpu_millis};
    STEP(sb_cgroup_create(cfg.cgroup_root, cfg.cgroup_parent, sb->id, &lim, &sb->cg, err));
    trace_mark(tr, "create: cgroup made");
    if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sync_sp) != 0 ||
        socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, ctl_sp) != 0)
        STEP(errno_fail(err, "socketpair"));

    STEP(sb_cgroup_join_prepare(sb->cg, &join, err));
    trace_mark(tr, "create: sockets, join fds");
    int pidfd = -1;
    bool joined = join.n > 0; /* v1: the child moves itself */
    /* --net host: the host's network namespace, every other one new (docs/sandbox.md) */
    uint64_t ns = CLONE_NEWUSER | CLONE_NEWPID | CLONE_NEWNS | CLONE_NEWIPC | CLONE_NEWUTS |
                  (cfg.net_host ? 0 : CLONE_NEWNET);
    long pid = -1;
    if (join.dir_fd >= 0) { /* v2: born in its cgroup, no migration at all */
        struct clone3_args a = {.flags = ns | CLONE_PIDFD | SB_CLONE_INTO_CGROUP,
                                .pidfd = (uint64_t)(uintptr_t)&pidfd,
                                .exit_signal = SIGCHLD,
                                .cgroup = (uint64_t)join.dir_fd};
        pid = syscall(SYS_clone3, &a, sizeof(a));
        joined = pid >= 0;
        /* only a missing clone3 falls back (ENOSYS: before 5.3, or a filter): any other error
         * is reported, so the v2 test (scripts/test-v2.sh) shows this path works */
        if (pid < 0 && errno != ENOSYS)
            STEP(errno_fail(err, "clone the sandbox into its cgroup (clone3)"));
    }
    if (pid < 0) /* v1, or no clone3 */
        pid = syscall(SYS_clone, ns | CLONE_PIDFD | SIGCHLD, NULL, &pidfd, NULL, 0);
    if (pid < 0) STEP(errno_fail(err, "clone the sandbox's namespaces"));
    if (pid == 0) {
        struct child c;
        memset(&c, 0, sizeof(c));
        c.cfg = &cfg;
        c.dir = sb->dir;
        c.id = sb->id;
        c.host_image = host_image;
        c.sync = sync_sp[1];
        c.ctl = ctl_sp[1];
        c.init_fd = init_fd;
        c.image_fd = c.root_fd = c.mnt_fd = -1;
        c.join = &join;
        c.trace = tr;
        trace_mark(tr, "child: cloned");
        if (join.dir_fd >= 0) close(join.dir_fd);
        join.dir_fd = -1;
        close(sync_sp[0]);
        close(ctl_sp[0]);
        int keep[4 + SB_CG_CTRL_MAX] = {c.sync, c.ctl, c.init_fd};
        size_t nkeep = 3;
        for (size_t i = 0; i < join.n; i++)
            keep[nkeep++] = join.fds[i];
        close_all_but(keep, nkeep);
        child_main(&c);
    }
    trace_mark(tr, "create: clone returned");
    sb->init_pid = (pid_t)pid;
    sb->pidfd = pidfd;
    sb_cgroup_join_close(&join);
    close(sync_sp[1]);
    sync_sp[1] = -1;
    close(ctl_sp[1]);
    ctl_sp[1] = -1;
    sb->ctl = TAKE_FD(ctl_sp[0]);
    close(init_fd);
    init_fd = -1;

    /* host half: uid/gid map (setgroups denied), cgroup membership, idmapped mounts */
    {
        char map[64];
        uint64_t base = SB_SANDBOX_HOST_ID_BASE + (uint64_t)slot * SB_SANDBOX_ID_RANGE;
        sb->host_root = (uint32_t)base;
        sb_fmt(map, sizeof(map), "0 %llu %u\n", (unsigned long long)base, SB_SANDBOX_ID_RANGE);
        STEP(write_map(sb->init_pid, "setgroups", "deny", err));
        STEP(write_map(sb->init_pid, "uid_map", map, err));
        STEP(write_map(sb->init_pid, "gid_map", map, err));
        trace_mark(tr, "create: uid/gid maps");
        char nsp[64];
        sb_fmt(nsp, sizeof(nsp), "/proc/%d/ns/user", (int)sb->init_pid);
        userns = open(nsp, O_RDONLY | O_CLOEXEC);
        if (userns < 0) STEP(errno_fail(err, "open the sandbox's user namespace"));
        bool idm;
        STEP(clone_tree(lower, userns, true, false, &idm, &fds[nfds], err));
        nfds++;
        trace_mark(tr, "create: idmapped image clone");
        for (size_t i = 0; i < cfg.n_mounts; i++) {
            STEP(clone_tree(cfg.mounts[i].src, userns, cfg.mounts[i].ro, true, &idm, &fds[nfds],
                            err));
            nfds++;
        }
        STEP(send_fds(sync_sp[0], fds, nfds, err));
        trace_mark(tr, "create: mounts sent");
        /* the fallback, while the sandbox half builds its file system */
        if (!joined) STEP(sb_cgroup_attach(sb->cg, sb->init_pid, err));
        sb->oom_base = sb_cgroup_oom_kills(sb->cg);
        if (write(sync_sp[0], "c", 1) != 1) STEP(errno_fail(err, "tell the sandbox half"));
        trace_mark(tr, "create: cgroup joined");
        /* compiled once per process, for the next sandboxes (this one compiles its own copy
         * in parallel when the cache was still empty) */
        STEP(sb_seccomp_prepare(err));
        for (size_t i = 0; i < nfds; i++)
            close(fds[i]);
        nfds = 0;
        close(userns);
        userns = -1;
    }
    /* the child reports a failed step, or the sync socket closes when it execs */
    {
        char msg[SB_ERRMSG_MAX + 128];
        ssize_t n;
        do
            n = read(sync_sp[0], msg, sizeof(msg) - 1);
        while (n < 0 && errno == EINTR);
        if (n > 0) {
            msg[n] = 0;
            STEP(sb_error_set(err, SB_E_IO, "sandbox: setup step %s", msg));
        }
        trace_mark(tr, "create: sandbox half exec'd init");
        struct pollfd p = {.fd = sb->ctl, .events = POLLIN};
        int pr;
        do
            pr = poll(&p, 1, READY_TIMEOUT_MS);
        while (pr < 0 && errno == EINTR);
        uint8_t frame[64];
        ssize_t fl = pr > 0 ? recv(sb->ctl, frame, sizeof(frame), 0) : -1;
        struct sb_msg m;
        sb_error perr = {0};
        if (fl <= 0 || sb_msg_parse(frame, (size_t)fl, &m, &perr) < 0 || m.type != SB_MSG_READY ||
            m.u32 != SB_PROTO_VERSION)
            STEP(sb_error_set(err, SB_E_IO, "sandbox: sealbox-init did not report ready%s%s",
                              perr.msg[0] ? ": " : "", perr.msg));
        trace_mark(tr, "create: init ready");
    }
    close(sync_sp[0]);
    free(lower);
    {
        /* the record other commands find the sandbox by (detached sandboxes, sb_jail_list) */
        if (write_record(sb, &cfg, err) < 0) {
            if (tr) munmap(tr, sizeof(*tr));
            jail_destroy(sb);
            return SB_E_IO;
        }
    }
    trace_mark(tr, "create: record written");
    if (tr) {
        trace_collect(tr, cfg.trace);
        munmap(tr, sizeof(*tr));
        sb->trace = cfg.trace;
    }
    *out = sb;
    return 0;

fail:
    sb_cgroup_join_close(&join);
    for (size_t i = 0; i < nfds; i++)
        close(fds[i]);
    if (userns >= 0) close(userns);
    if (init_fd >= 0) close(init_fd);
    for (int i = 0; i < 2; i++) {
        if (sync_sp[i] >= 0) close(sync_sp[i]);
        if (ctl_sp[i] >= 0) close(ctl_sp[i]);
    }
    free(lower);
    if (tr) munmap(tr, sizeof(*tr));
    jail_destroy(sb);
    return rc;
#undef STEP
}

/* ---- exec: one request to sealbox-init, its I/O pumped until it exits ----------------------- */

static int send_frame(int fd, sb_writer *w, sb_error *err) {
    TRY(sb_writer_status(w));
    ssize_t n;
    do
        n = send(fd, w->buf, w->len, MSG_NOSIGNAL);
    while (n < 0 && errno == EINTR);
    if (n != (ssize_t)w->len) return errno_fail(err, "send to sealbox-init");
    return 0;
}

static bool is_relay_request(uint16_t t) {
    return t == SB_MSG_CONTEXT_REQ || t == SB_MSG_KBS_REQ || t == SB_MSG_EVIDENCE_REQ;
}

/* Answers one of sealbox-init's KBS requests through the relay (or says there is none). */
static int relay_answer(sb_sandbox *sb, const struct sb_msg *m, sb_error *err) {
    sb_writer w;
    sb_writer_init(&w, SB_PROTO_MAX_FRAME);
    int rc = sb->relay ? sb->relay(sb->relay_arg, m, &w) : -1;
    if (rc < 0 || sb_writer_status(&w) < 0 || w.len == 0) {
        static const char why[] =
            "this sandbox has no KBS configured (sealbox run --kbs-url, sealboxd --kbs-url)";
        sb_writer_free(&w);
        sb_writer_init(&w, SB_PROTO_MAX_FRAME);
        enum sb_msg_type t = m->type == SB_MSG_KBS_REQ       ? SB_MSG_KBS_RESP
                             : m->type == SB_MSG_CONTEXT_REQ ? SB_MSG_CONTEXT
                                                             : SB_MSG_EVIDENCE;
        (void)sb_msg_encode_reply(&w, t, m->exec_id, 0, "", why, sizeof(why) - 1);
    }
    rc = send_frame(sb->ctl, &w, err);
    sb_writer_free(&w);
    return rc;
}

int sb_sandbox_secrets(sb_sandbox *sb, const struct sb_secret_spec *v, size_t n, sb_error *err) {
    ENSURE(sb->ctl >= 0 && !sb->attached, err, SB_E_USAGE,
           "secrets: only the process that created the sandbox releases secrets into it");
    for (size_t i = 0; i < n; i++)
        TRY(sb_secret_spec_check(&v[i], err));
    sb_writer w;
    sb_writer_init(&w, SB_PROTO_MAX_FRAME);
    uint32_t id = ++sb->next_exec;
    int rc = sb_msg_encode_secrets(&w, id, v, n);
    if (rc < 0) {
        sb_writer_free(&w);
        BAIL(err, SB_E_LIMIT, "secrets: %zu secrets are over the protocol limit (%u, %u KiB)", n,
             SB_PROTO_MAX_SECRETS, SB_PROTO_MAX_FRAME / 1024);
    }
    rc = send_frame(sb->ctl, &w, err);
    sb_writer_free(&w);
    TRY(rc);
    uint8_t *frame = malloc(SB_PROTO_MAX_FRAME);
    ENSURE(frame, err, SB_E_INTERNAL, "out of memory");
    for (;;) {
        struct pollfd p[2] = {{.fd = sb->ctl, .events = POLLIN},
                              {.fd = sb->pidfd, .events = POLLIN}};
        /* bounded by the relay's own KBS timeouts: each request is answered before the next */
        int pr = poll(p, 2, 10 * 60 * 1000);
        if (pr < 0 && errno == EINTR) continue;
        if (pr <= 0) {
            rc = pr < 0 ? errno_fail(err, "poll")
                        : sb_error_set(err, SB_E_IO, "secrets: sealbox-init did not answer");
            break;
        }
        ssize_t fl = (p[0].revents & POLLIN) ? recv(sb->ctl, frame, SB_PROTO_MAX_FRAME, 0) : 0;
        if (fl < 0 && errno == EINTR) continue;
        if (fl <= 0) {
            rc = sb_error_set(err, SB_E_IO, "secrets: sealbox-init is gone");
            break;
        }
        struct sb_msg m;
        sb_error perr = {0};
        if (sb_msg_parse(frame, (size_t)fl, &m, &perr) < 0) {
            rc = sb_error_set(err, SB_E_MALFORMED, "secrets: from sealbox-init: %s", perr.msg);
            break;
        }
        if (is_relay_request(m.type)) {
            rc = relay_answer(sb, &m, err);
            sb_msg_free(&m);
            if (rc < 0) break;
            continue;
        }
        bool done = m.type == SB_MSG_SECRETS_DONE && m.exec_id == id;
        if (done && !m.u32)
            rc = sb_error_set(err, SB_E_POLICY, "%.*s", (int)(m.data_len < 900 ? m.data_len : 900),
                              (const char *)m.data);
        else if (m.type == SB_MSG_ERROR && m.exec_id == id)
            rc = sb_error_set(err, SB_E_IO, "secrets: sealbox-init: %.*s",
                              (int)(m.data_len < 900 ? m.data_len : 900), (const char *)m.data);
        sb_msg_free(&m);
        if (done || rc < 0) break;
    }
    free(frame);
    return rc;
}

static bool write_all(int fd, const uint8_t *p, size_t n) {
    while (n) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) return false;
        p += w;
        n -= (size_t)w;
    }
    return true;
}

static void kill_sandbox(sb_sandbox *sb, uint32_t id) {
    if (sb->attached) {
        /* not ours to kill: end the command through the holder */
        sb_writer w;
        sb_writer_init(&w, 64);
        if (sb_msg_encode_simple(&w, SB_MSG_SIGNAL, id, SIGKILL) == 0)
            (void)!send(sb->ctl, w.buf, w.len, MSG_NOSIGNAL);
        sb_writer_free(&w);
        return;
    }
    if (sb->init_pid <= 0) return;
    if (sb->cg && sb_cgroup_freeze(sb->cg, false, NULL) < 0) {
    }
    (void)syscall(SYS_pidfd_send_signal, sb->pidfd, SIGKILL, NULL, 0);
}

/* After the workload died of SIGKILL or init vanished: was it the memory limit? */
static bool oom_happened(sb_sandbox *sb) {
    return sb->cg && sb_cgroup_oom_kills(sb->cg) > sb->oom_base;
}

static int jail_exec(sb_sandbox *sb, const struct sb_exec_req *req, struct sb_exit *out,
                     sb_error *err) {
    size_t argc = 0, envc = 0;
    while (req->argv && req->argv[argc])
        argc++;
    while (req->env && req->env[envc])
        envc++;
    ENSURE(argc > 0, err, SB_E_USAGE, "exec: no command");
    ENSURE(sb->ctl >= 0, err, SB_E_USAGE, "exec: the sandbox is gone");
    uint32_t id = ++sb->next_exec;
    struct sb_msg_exec e = {.tty = req->tty,
                            .rows = req->rows,
                            .cols = req->cols,
                            .workdir = req->workdir ? req->workdir : "/",
                            .argc = argc,
                            .envc = envc,
                            .argv = (char **)req->argv,
                            .env = (char **)req->env};
    sb_writer w;
    sb_writer_init(&w, SB_PROTO_MAX_FRAME);
    int rc = sb_msg_encode_exec(&w, id, &e);
    if (rc < 0) {
        sb_writer_free(&w);
        BAIL(err, SB_E_LIMIT, "exec: the command line or environment is over the protocol limit");
    }
    rc = send_frame(sb->ctl, &w, err);
    sb_writer_free(&w);
    TRY(rc);
    trace_mark(sb->trace, "exec: request sent");

    uint64_t deadline = req->timeout_ms ? sb_mono_ns() + req->timeout_ms * 1000000ull : 0;
    uint64_t grace_ms = req->kill_grace_ms ? req->kill_grace_ms : SB_SANDBOX_DEF_KILL_GRACE_MS;
    bool timed_out = false; /* SIGTERM sent; deadline is now the end of the grace period */
    int in_fd = req->stdin_fd;
    bool in_open = in_fd >= 0, out_ok = true, err_ok = true;
    if (!in_open) {
        /* no stdin: tell init at once so the workload sees EOF */
        sb_writer_init(&w, SB_PROTO_MAX_FRAME);
        (void)sb_msg_encode_data(&w, SB_MSG_STDIN, id, NULL, 0);
        rc = send_frame(sb->ctl, &w, err);
        sb_writer_free(&w);
        TRY(rc);
    }
    uint8_t *frame = malloc(SB_PROTO_MAX_FRAME);
    if (!frame) BAIL(err, SB_E_INTERNAL, "out of memory");
    rc = 0;
    for (;;) {
        struct pollfd p[4] = {{.fd = sb->ctl, .events = POLLIN},
                              {.fd = sb->pidfd, .events = POLLIN},
                              {.fd = in_open ? in_fd : -1, .events = POLLIN},
                              {.fd = req->signal_fd, .events = POLLIN}};
        int timeout = -1;
        if (deadline) {
            uint64_t now = sb_mono_ns();
            if (now >= deadline && !timed_out) {
                /* first SIGTERM to the command's process group, so it can clean up */
                timed_out = true;
                deadline = now + grace_ms * 1000000ull;
                sb_writer_init(&w, 64);
                sb_error ignored = {0}; /* init already gone: poll sees it at once */
                if (sb_msg_encode_simple(&w, SB_MSG_SIGNAL, id, SIGTERM) == 0 &&
                    send_frame(sb->ctl, &w, &ignored) < 0) {
                }
                sb_writer_free(&w);
            } else if (now >= deadline) {
                /* the grace period is over: SIGKILL (the whole sandbox when it is ours) */
                kill_sandbox(sb, id);
                *out = (struct sb_exit){SB_EXIT_TIMEOUT, 0};
                break;
            }
            timeout = (int)((deadline - now + 999999) / 1000000);
        }
        int pr = poll(p, 4, timeout);
        if (pr < 0 && errno == EINTR) continue;
        if (pr < 0) {
            rc = errno_fail(err, "poll");
            break;
        }
        if (p[0].revents & POLLIN) {
            ssize_t n = recv(sb->ctl, frame, SB_PROTO_MAX_FRAME, 0);
            if (n < 0 && errno == EINTR) continue;
            if (n > 0) {
                struct sb_msg m;
                sb_error perr = {0};
                if (sb_msg_parse(frame, (size_t)n, &m, &perr) < 0) {
                    rc = sb_error_set(err, SB_E_MALFORMED, "exec: from sealbox-init: %s", perr.msg);
                    break;
                }
                if (is_relay_request(m.type)) { /* the workload asked init for a secret */
                    rc = relay_answer(sb, &m, err);
                    sb_msg_free(&m);
                    if (rc < 0) break;
                    continue;
                }
                if (m.exec_id != id) {
                    sb_msg_free(&m);
                    continue;
                }
                bool done = false;
                switch (m.type) {
                case SB_MSG_STARTED: trace_mark(sb->trace, "exec: started"); break;
                case SB_MSG_STDOUT:
                    if (out_ok && req->stdout_fd >= 0)
                        out_ok = write_all(req->stdout_fd, m.data, m.data_len);
                    break;
                case SB_MSG_STDERR:
                    if (err_ok && req->stderr_fd >= 0)
                        err_ok = write_all(req->stderr_fd, m.data, m.data_len);
                    break;
                case SB_MSG_EXIT:
                    trace_mark(sb->trace, "exec: exit reported");
                    out->kind = (enum sb_exit_kind)m.exit_kind;
                    out->code = m.exit_code;
                    if (out->kind == SB_EXIT_SIGNALED && out->code == SIGKILL && oom_happened(sb))
                        *out = (struct sb_exit){SB_EXIT_OOM, SIGKILL};
                    else if (timed_out) /* it ended within the grace period */
                        *out = (struct sb_exit){SB_EXIT_TIMEOUT, 0};
                    done = true;
                    break;
                case SB_MSG_ERROR:
                    if (req->stderr_fd >= 0) {
                        char line[SB_PROTO_MAX_DATA + 32];
                        int ln = sb_fmt(line, sizeof(line), "sealbox-init: %.*s\n", (int)m.data_len,
                                        (const char *)m.data);
                        if (ln > 0)
                            (void)write_all(req->stderr_fd, (const uint8_t *)line, (size_t)ln);
                    }
                    break;
                default: break;
                }
                sb_msg_free(&m);
                if (done) break;
                continue;
            }
            /* n == 0: init is gone */
        }
        if ((p[0].revents & (POLLHUP | POLLERR)) || (p[1].revents & POLLIN) ||
            (p[0].revents & POLLIN)) {
            *out = (struct sb_exit){oom_happened(sb) ? SB_EXIT_OOM
                                    : timed_out      ? SB_EXIT_TIMEOUT
                                                     : SB_EXIT_SANDBOX_GONE,
                                    0};
            break;
        }
        if (req->signal_fd >= 0 && (p[3].revents & POLLIN)) {
            struct signalfd_siginfo si;
            if (read(req->signal_fd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
                sb_writer_init(&w, 64);
                if (si.ssi_signo == SIGWINCH && req->tty) {
                    struct winsize ws;
                    if (ioctl(req->stdin_fd >= 0 ? req->stdin_fd : 0, TIOCGWINSZ, &ws) == 0)
                        (void)sb_msg_encode_resize(&w, id, ws.ws_row, ws.ws_col);
                } else if (si.ssi_signo != SIGWINCH) {
                    (void)sb_msg_encode_simple(&w, SB_MSG_SIGNAL, id, si.ssi_signo);
                }
                if (w.len) rc = send_frame(sb->ctl, &w, err);
                sb_writer_free(&w);
                if (rc < 0) break;
            }
        }
        if (in_open && (p[2].revents & (POLLIN | POLLHUP | POLLERR))) {
            uint8_t buf[SB_PROTO_MAX_DATA];
            ssize_t n = read(in_fd, buf, sizeof(buf));
            if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
            if (n <= 0) in_open = false;
            sb_writer_init(&w, SB_PROTO_MAX_FRAME);
            (void)sb_msg_encode_data(&w, SB_MSG_STDIN, id, buf, n > 0 ? (size_t)n : 0);
            rc = send_frame(sb->ctl, &w, err);
            sb_writer_free(&w);
            if (rc < 0) break;
        }
    }
    free(frame);
    return rc;
}

/* ---- the command channel: several commands at once, driven by the caller's event loop ------ */

int sb_sandbox_chan_fd(const sb_sandbox *sb) { return sb->ctl; }

/* One frame, without blocking: SB_E_LIMIT when the channel is full for now. */
static int chan_send(sb_sandbox *sb, sb_writer *w, sb_error *err) {
    TRY(sb_writer_status(w));
    ENSURE(sb->ctl >= 0, err, SB_E_IO, "channel: the sandbox is gone");
    ssize_t n;
    do
        n = send(sb->ctl, w->buf, w->len, MSG_NOSIGNAL | MSG_DONTWAIT);
    while (n < 0 && errno == EINTR);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
        BAIL(err, SB_E_LIMIT, "channel: sealbox-init is not taking messages now");
    if (n != (ssize_t)w->len) return errno_fail(err, "send to sealbox-init");
    return 0;
}

int sb_sandbox_chan_start(sb_sandbox *sb, char *const *argv, char *const *env, const char *workdir,
                          uint32_t *id, sb_error *err) {
    size_t argc = 0, envc = 0;
    while (argv && argv[argc])
        argc++;
    while (env && env[envc])
        envc++;
    ENSURE(argc > 0, err, SB_E_USAGE, "channel: no command");
    uint32_t eid = sb->next_exec + 1;
    if (eid == 0) eid = 1;
    struct sb_msg_exec e = {.workdir = workdir && workdir[0] ? workdir : "/",
                            .argc = argc,
                            .envc = envc,
                            .argv = (char **)argv,
                            .env = (char **)env};
    sb_writer w;
    sb_writer_init(&w, SB_PROTO_MAX_FRAME);
    int rc = sb_msg_encode_exec(&w, eid, &e);
    if (rc < 0)
        rc = sb_error_set(err, SB_E_LIMIT,
                          "channel: the command line or environment is over the protocol limit");
    else
        rc = chan_send(sb, &w, err);
    sb_writer_free(&w);
    TRY(rc);
    sb->next_exec = eid;
    *id = eid;
    return 0;
}

int sb_sandbox_chan_secrets(sb_sandbox *sb, const struct sb_secret_spec *v, size_t n, uint32_t *id,
                            sb_error *err) {
    ENSURE(n > 0, err, SB_E_USAGE, "channel: no secrets");
    for (size_t i = 0; i < n; i++)
        TRY(sb_secret_spec_check(&v[i], err));
    uint32_t sid = sb->next_exec + 1;
    if (sid == 0) sid = 1;
    sb_writer w;
    sb_writer_init(&w, SB_PROTO_MAX_FRAME);
    int rc = sb_msg_encode_secrets(&w, sid, v, n);
    if (rc < 0)
        rc = sb_error_set(err, SB_E_LIMIT, "secrets: %zu secrets are over the protocol limit (%u)",
                          n, SB_PROTO_MAX_SECRETS);
    else
        rc = chan_send(sb, &w, err);
    sb_writer_free(&w);
    TRY(rc);
    sb->next_exec = sid;
    *id = sid;
    return 0;
}

int sb_sandbox_chan_reply(sb_sandbox *sb, const uint8_t *frame, size_t n, sb_error *err) {
    struct sb_msg m;
    TRY(sb_msg_parse(frame, n, &m, err));
    bool reply = m.type == SB_MSG_CONTEXT || m.type == SB_MSG_KBS_RESP || m.type == SB_MSG_EVIDENCE;
    sb_msg_free(&m);
    ENSURE(reply, err, SB_E_USAGE, "channel: frame type %u is not a relay reply", m.type);
    sb_writer w;
    sb_writer_init(&w, SB_PROTO_MAX_FRAME);
    int rc = sb_writer_bytes(&w, frame, n);
    if (rc == 0) rc = chan_send(sb, &w, err);
    sb_writer_free(&w);
    return rc;
}

int sb_sandbox_chan_stdin(sb_sandbox *sb, uint32_t id, const void *p, size_t n, sb_error *err) {
    ENSURE(n <= SB_PROTO_MAX_DATA, err, SB_E_USAGE, "channel: stdin chunk of %zu bytes", n);
    sb_writer w;
    sb_writer_init(&w, SB_PROTO_MAX_FRAME);
    (void)sb_msg_encode_data(&w, SB_MSG_STDIN, id, p, n);
    int rc = chan_send(sb, &w, err);
    sb_writer_free(&w);
    return rc;
}

int sb_sandbox_chan_signal(sb_sandbox *sb, uint32_t id, int sig, sb_error *err) {
    ENSURE(id != 0 && sig > 0 && sig < 65, err, SB_E_USAGE, "channel: bad signal %d for %u", sig,
           id);
    sb_writer w;
    sb_writer_init(&w, 64);
    (void)sb_msg_encode_simple(&w, SB_MSG_SIGNAL, id, (uint32_t)sig);
    int rc = chan_send(sb, &w, err);
    sb_writer_free(&w);
    return rc;
}

int sb_sandbox_chan_read(sb_sandbox *sb, uint8_t *buf, struct sb_chan_event *ev, sb_error *err) {
    ENSURE(sb->ctl >= 0, err, SB_E_IO, "channel: the sandbox is gone");
    for (;;) {
        ssize_t n;
        do
            n = recv(sb->ctl, buf, SB_PROTO_MAX_FRAME, MSG_DONTWAIT);
        while (n < 0 && errno == EINTR);
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return 0;
        if (n <= 0) BAIL(err, SB_E_IO, "channel: sealbox-init is gone");
        struct sb_msg m;
        TRY(sb_msg_parse(buf, (size_t)n, &m, err));
        if (is_relay_request(m.type) && !sb->relay_async) { /* answered here */
            int rc = relay_answer(sb, &m, err);
            sb_msg_free(&m);
            TRY(rc);
            continue;
        }
        memset(ev, 0, sizeof(*ev));
        ev->type = (enum sb_msg_type)m.type;
        ev->id = m.exec_id;
        switch (m.type) {
        case SB_MSG_CONTEXT_REQ:
        case SB_MSG_KBS_REQ:
        case SB_MSG_EVIDENCE_REQ: /* the caller answers (sb_sandbox_chan_reply) */
            ev->data = buf;
            ev->len = (size_t)n;
            break;
        case SB_MSG_SECRETS_DONE:
            ev->ok = m.u32 != 0;
            ev->data = m.data;
            ev->len = m.data_len;
            break;
        case SB_MSG_STARTED: ev->pid = m.u32; break;
        case SB_MSG_STDOUT:
        case SB_MSG_STDERR:
        case SB_MSG_ERROR:
            ev->data = m.data;
            ev->len = m.data_len;
            break;
        case SB_MSG_EXIT:
            ev->exit = (struct sb_exit){(enum sb_exit_kind)m.exit_kind, m.exit_code};
            if (ev->exit.kind == SB_EXIT_SIGNALED && ev->exit.code == SIGKILL && oom_happened(sb))
                ev->exit = (struct sb_exit){SB_EXIT_OOM, SIGKILL};
            break;
        default: sb_msg_free(&m); continue; /* READY and the like: nothing for the caller */
        }
        sb_msg_free(&m);
        return 1;
    }
}

static int jail_signal(sb_sandbox *sb, int sig, sb_error *err) {
    ENSURE(sig > 0 && sig < 65, err, SB_E_USAGE, "signal: %d is not a signal", sig);
    /* every exec's process group, through init (which the workload cannot signal itself) */
    sb_writer w;
    sb_writer_init(&w, 64);
    (void)sb_msg_encode_simple(&w, SB_MSG_SIGNAL, 0, (uint32_t)sig);
    int rc = send_frame(sb->ctl, &w, err);
    sb_writer_free(&w);
    return rc;
}

static int jail_freeze(sb_sandbox *sb, sb_error *err) {
    return sb_cgroup_freeze(sb->cg, true, err);
}
static int jail_thaw(sb_sandbox *sb, sb_error *err) { return sb_cgroup_freeze(sb->cg, false, err); }
static int jail_stats(sb_sandbox *sb, struct sb_sandbox_stats *out, sb_error *err) {
    return sb_cgroup_stats(sb->cg, out, err);
}

const struct sb_backend_ops sb_jail_backend = {
    .name = "jail",
    .create = jail_create,
    .exec = jail_exec,
    .signal = jail_signal,
    .freeze = jail_freeze,
    .thaw = jail_thaw,
    .stats = jail_stats,
    .destroy = jail_destroy,
};

/* ---- detached sandboxes ------------------------------------------------------------------------
 */

#define SERVE_MAX_CONNS 32

struct conn {
    int fd;
    uint32_t cid, gid; /* the client's exec id, and ours on the sandbox's channel */
    bool busy;
};

static void set_frame_id(uint8_t *frame, uint32_t id) {
    /* the header was validated by sb_msg_parse: bytes 4..7 are the exec id */
    frame[4] = (uint8_t)id;
    frame[5] = (uint8_t)(id >> 8);
    frame[6] = (uint8_t)(id >> 16);
    frame[7] = (uint8_t)(id >> 24);
}

static void write_main_exit(sb_sandbox *sb, const struct sb_msg *m) {
    char p[4096], v[64];
    struct sb_exit e = {(enum sb_exit_kind)m->exit_kind, m->exit_code};
    if (e.kind == SB_EXIT_SIGNALED && e.code == SIGKILL && oom_happened(sb))
        e = (struct sb_exit){SB_EXIT_OOM, SIGKILL};
    int n = sb_fmt(v, sizeof(v), "%d %s\n", sb_exit_status(&e), sb_exit_kind_name(e.kind));
    sb_fmt(p, sizeof(p), "%s/main.exit", sb->dir);
    if (n > 0 && sb_write_file_atomic(p, v, (size_t)n, 0600, NULL) < 0) {
    }
}

static void drop_conn(sb_sandbox *sb, struct conn *c) {
    if (c->busy) { /* the client went away mid-command: the command goes too */
        sb_writer w;
        sb_writer_init(&w, 64);
        if (sb_msg_encode_simple(&w, SB_MSG_SIGNAL, c->gid, SIGKILL) == 0)
            (void)!send(sb->ctl, w.buf, w.len, MSG_NOSIGNAL);
        sb_writer_free(&w);
    }
    close(c->fd);
    c->fd = -1;
    c->busy = false;
}

int sb_jail_serve_main(sb_sandbox *sb, char *const *argv, char *const *env, const char *workdir,
                       sb_error *err) {
    ENSURE(!sb->attached && sb->ctl >= 0, err, SB_E_USAGE,
           "serve: only the sandbox's creator can start its main command");
    ENSURE(!sb->serve_main, err, SB_E_USAGE, "serve: the main command has started already");
    size_t argc = 0, envc = 0;
    while (argv && argv[argc])
        argc++;
    while (env && env[envc])
        envc++;
    ENSURE(argc > 0, err, SB_E_USAGE, "serve: no main command");
    uint32_t id = ++sb->next_exec;
    struct sb_msg_exec e = {.workdir = workdir ? workdir : "/",
                            .argc = argc,
                            .envc = envc,
                            .argv = (char **)argv,
                            .env = (char **)env};
    sb_writer w;
    sb_writer_init(&w, SB_PROTO_MAX_FRAME);
    int rc = sb_msg_encode_exec(&w, id, &e);
    if (rc == 0) rc = send_frame(sb->ctl, &w, err);
    sb_writer_free(&w);
    sb_writer_init(&w, 64);
    if (rc == 0) rc = sb_msg_encode_data(&w, SB_MSG_STDIN, id, NULL, 0);
    if (rc == 0) rc = send_frame(sb->ctl, &w, err);
    sb_writer_free(&w);
    TRY(rc);
    sb->serve_main = id;
    return 0;
}

int sb_jail_serve(sb_sandbox *sb, int listen_fd, int stop_fd, char *const *main_argv,
                  char *const *main_env, const char *main_workdir, int main_log_fd, sb_error *err) {
    ENSURE(!sb->attached, err, SB_E_USAGE, "serve: only the sandbox's creator can serve it");
    struct conn conns[SERVE_MAX_CONNS];
    for (int i = 0; i < SERVE_MAX_CONNS; i++)
        conns[i] = (struct conn){.fd = -1};
    uint32_t main_id = sb->serve_main;
    sb_writer w;
    if (!main_id && main_argv && main_argv[0]) {
        size_t argc = 0, envc = 0;
        while (main_argv[argc])
            argc++;
        while (main_env && main_env[envc])
            envc++;
        main_id = ++sb->next_exec;
        struct sb_msg_exec e = {.workdir = main_workdir ? main_workdir : "/",
                                .argc = argc,
                                .envc = envc,
                                .argv = (char **)main_argv,
                                .env = (char **)main_env};
        sb_writer_init(&w, SB_PROTO_MAX_FRAME);
        int rc = serve_record(sb, main_argv, main_env, e.workdir, err);
        if (rc == 0) rc = sb_msg_encode_exec(&w, main_id, &e);
        if (rc == 0) rc = send_frame(sb->ctl, &w, err);
        sb_writer_free(&w);
        sb_writer_init(&w, 64);
        if (rc == 0) rc = sb_msg_encode_data(&w, SB_MSG_STDIN, main_id, NULL, 0);
        if (rc == 0) rc = send_frame(sb->ctl, &w, err);
        sb_writer_free(&w);
        if (rc < 0) return rc;
    }
    uint8_t *frame = malloc(SB_PROTO_MAX_FRAME);
    if (!frame) BAIL(err, SB_E_INTERNAL, "out of memory");
    int rc = 0;
    for (;;) {
        struct pollfd p[4 + SERVE_MAX_CONNS];
        p[0] = (struct pollfd){.fd = listen_fd, .events = POLLIN};
        p[1] = (struct pollfd){.fd = stop_fd, .events = POLLIN};
        p[2] = (struct pollfd){.fd = sb->ctl, .events = POLLIN};
        p[3] = (struct pollfd){.fd = sb->pidfd, .events = POLLIN};
        for (int i = 0; i < SERVE_MAX_CONNS; i++)
            p[4 + i] = (struct pollfd){.fd = conns[i].fd, .events = POLLIN};
        if (poll(p, 4 + SERVE_MAX_CONNS, -1) < 0) {
            if (errno == EINTR) continue;
            rc = errno_fail(err, "poll");
            break;
        }
        if (p[1].revents || p[3].revents) break; /* asked to stop, or init died */
        if (p[0].revents & POLLIN) {
            int c = accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC);
            int slot = -1;
            for (int i = 0; i < SERVE_MAX_CONNS && c >= 0 && slot < 0; i++)
                if (conns[i].fd < 0) slot = i;
            if (slot >= 0)
                conns[slot] = (struct conn){.fd = c};
            else if (c >= 0)
                close(c);
        }
        if (p[2].revents) {
            ssize_t n = recv(sb->ctl, frame, SB_PROTO_MAX_FRAME, 0);
            if (n <= 0) break; /* init is gone */
            struct sb_msg m;
            sb_error perr = {0};
            if (sb_msg_parse(frame, (size_t)n, &m, &perr) < 0) continue;
            if (is_relay_request(m.type)) { /* a workload asked init for a secret */
                sb_error ignored = {0};
                (void)relay_answer(sb, &m, &ignored);
                sb_msg_free(&m);
                continue;
            }
            if (main_id && m.exec_id == main_id) {
                if ((m.type == SB_MSG_STDOUT || m.type == SB_MSG_STDERR ||
                     m.type == SB_MSG_ERROR) &&
                    main_log_fd >= 0)
                    (void)write_all(main_log_fd, m.data, m.data_len);
                if (m.type == SB_MSG_EXIT) write_main_exit(sb, &m);
            } else {
                for (int i = 0; i < SERVE_MAX_CONNS; i++) {
                    struct conn *c = &conns[i];
                    if (c->fd < 0 || !c->busy || c->gid != m.exec_id) continue;
                    set_frame_id(frame, c->cid);
                    if (send(c->fd, frame, (size_t)n, MSG_NOSIGNAL) != n) {
                        drop_conn(sb, c);
                    } else if (m.type == SB_MSG_EXIT) {
                        c->busy = false;
                    }
                }
            }
            sb_msg_free(&m);
        }
        for (int i = 0; i < SERVE_MAX_CONNS; i++) {
            struct conn *c = &conns[i];
            if (c->fd < 0 || !p[4 + i].revents) continue;
            ssize_t n = recv(c->fd, frame, SB_PROTO_MAX_FRAME, 0);
            if (n <= 0) {
                drop_conn(sb, c);
                continue;
            }
            struct sb_msg m;
            sb_error perr = {0};
            if (sb_msg_parse(frame, (size_t)n, &m, &perr) < 0) {
                drop_conn(sb, c);
                continue;
            }
            bool forward = false;
            if (m.type == SB_MSG_EXEC && !c->busy) {
                sb_error lerr = {0};
                if (serve_record(sb, m.exec.argv, m.exec.env, m.exec.workdir, &lerr) < 0) {
                    /* not measured, not run */
                    sb_msg_free(&m);
                    drop_conn(sb, c);
                    continue;
                }
                c->busy = true;
                c->cid = m.exec_id;
                c->gid = ++sb->next_exec;
                forward = true;
            } else if ((m.type == SB_MSG_STDIN || m.type == SB_MSG_SIGNAL ||
                        m.type == SB_MSG_RESIZE) &&
                       c->busy) {
                forward = true; /* a client only ever reaches its own command */
            }
            sb_msg_free(&m);
            if (!forward) continue;
            set_frame_id(frame, c->gid);
            if (send(sb->ctl, frame, (size_t)n, MSG_NOSIGNAL) != n) {
                rc = errno_fail(err, "send to sealbox-init");
                break;
            }
        }
        if (rc < 0) break;
    }
    for (int i = 0; i < SERVE_MAX_CONNS; i++)
        if (conns[i].fd >= 0) close(conns[i].fd);
    free(frame);
    return rc;
}

/* key=value lines of <dir>/record; *val points into buf */
static const char *record_get(char *buf, const char *key, char *out, size_t cap) {
    size_t kl = strlen(key);
    for (const char *p = buf; p && *p;) {
        const char *nl = strchr(p, '\n');
        size_t ll = nl ? (size_t)(nl - p) : strlen(p);
        if (ll > kl && strncmp(p, key, kl) == 0 && p[kl] == '=') {
            size_t vl = ll - kl - 1;
            if (vl >= cap) vl = cap - 1;
            memcpy(out, p + kl + 1, vl);
            out[vl] = 0;
            return out;
        }
        p = nl ? nl + 1 : NULL;
    }
    out[0] = 0;
    return NULL;
}

static int check_id(const char *id, sb_error *err) {
    ENSURE(id && strlen(id) == SB_SANDBOX_ID_LEN &&
               strspn(id, "0123456789abcdef") == SB_SANDBOX_ID_LEN,
           err, SB_E_USAGE, "sandbox: '%s' is not a sandbox id (%d hex digits)", id ? id : "",
           SB_SANDBOX_ID_LEN);
    return 0;
}

struct record {
    char image[96], root[1024], parent[160];
    int64_t created;
    pid_t init_pid;    /* -1 while it is being created */
    pid_t creator_pid; /* the process that created it (or is creating it) */
};

static int read_record(const char *state_dir, const char *id, struct record *r, sb_error *err) {
    TRY(check_id(id, err));
    char p[4096], buf[8192], v[64];
    sb_fmt(p, sizeof(p), "%s/sandboxes/%s/record", state_dir, id);
    if (sb_read_small(p, buf, sizeof(buf), NULL) < 0)
        BAIL(err, SB_E_NOTFOUND, "sandbox %s not found in %s", id, state_dir);
    record_get(buf, "image", r->image, sizeof(r->image));
    record_get(buf, "cgroup_root", r->root, sizeof(r->root));
    record_get(buf, "cgroup_parent", r->parent, sizeof(r->parent));
    record_get(buf, "created", v, sizeof(v));
    r->created = strtoll(v, NULL, 10);
    record_get(buf, "init_pid", v, sizeof(v));
    long ip = strtol(v, NULL, 10);
    r->init_pid = ip > 1 && ip < INT32_MAX ? (pid_t)ip : -1;
    record_get(buf, "creator_pid", v, sizeof(v));
    ip = strtol(v, NULL, 10);
    r->creator_pid = ip > 1 && ip < INT32_MAX ? (pid_t)ip : -1;
    return 0;
}

int sb_jail_attach(const char *state_dir, const char *id, sb_sandbox **out, sb_error *err) {
    if (!state_dir) state_dir = SB_SANDBOX_STATE_DIR;
    struct record r;
    TRY(read_record(state_dir, id, &r, err));
    sb_sandbox *sb = calloc(1, sizeof(*sb));
    if (!sb) BAIL(err, SB_E_INTERNAL, "out of memory");
    sb->ops = &sb_jail_backend;
    sb->attached = true;
    sb->pidfd = sb->ctl = -1;
    sb->init_pid = -1;
    sb_fmt(sb->id, sizeof(sb->id), "%s", id);
    char p[4096];
    sb_fmt(p, sizeof(p), "%s/sandboxes/%s", state_dir, id);
    sb->dir = strdup(p);
    sb->state_dir = strdup(state_dir);
    sb->image_digest = strdup(r.image);
    int rc = 0;
    if (!sb->dir || !sb->state_dir || !sb->image_digest)
        rc = sb_error_set(err, SB_E_INTERNAL, "out of memory");
    if (rc == 0)
        rc = sb_cgroup_open(r.root[0] ? r.root : NULL, r.parent[0] ? r.parent : NULL, id, &sb->cg,
                            err);
    if (rc == 0) {
        sb->oom_base = sb_cgroup_oom_kills(sb->cg);
        struct sockaddr_un a = {.sun_family = AF_UNIX};
        if (sb_fmt(a.sun_path, sizeof(a.sun_path), "%s/control.sock", sb->dir) >=
            (int)sizeof(a.sun_path))
            rc = sb_error_set(err, SB_E_USAGE,
                              "sandbox: state directory path too long for a socket");
        sb->ctl = rc == 0 ? socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0) : -1;
        if (rc == 0 && (sb->ctl < 0 || connect(sb->ctl, (struct sockaddr *)&a, sizeof(a)) != 0))
            rc = sb_error_set(err, SB_E_IO,
                              "sandbox %s: its holder does not answer (%s); 'sealbox rm' cleans up",
                              id, strerror(errno));
    }
    if (rc < 0) {
        jail_destroy(sb);
        return rc;
    }
    *out = sb;
    return 0;
}

static pid_t read_holder(const char *dir) {
    char p[4096], v[32];
    sb_fmt(p, sizeof(p), "%s/holder.pid", dir);
    if (sb_read_small(p, v, sizeof(v), NULL) <= 0) return -1;
    long pid = strtol(v, NULL, 10);
    return pid > 1 ? (pid_t)pid : -1;
}

int sb_jail_remove(const char *state_dir, const char *id, sb_error *err) {
    if (!state_dir) state_dir = SB_SANDBOX_STATE_DIR;
    struct record r;
    TRY(read_record(state_dir, id, &r, err));
    char dir[4096];
    sb_fmt(dir, sizeof(dir), "%s/sandboxes/%s", state_dir, id);
    pid_t holder = read_holder(dir);
    if (holder > 0 && kill(holder, SIGTERM) == 0) {
        for (int i = 0; i < 2000 && access(dir, F_OK) == 0; i++) {
            struct timespec ts = {0, 5000000};
            nanosleep(&ts, NULL);
        }
        if (access(dir, F_OK) != 0) return 0;
    }
    /* no holder (it crashed): kill what is left through the cgroup, then clean up */
    struct sb_cgroup *cg = NULL;
    if (sb_cgroup_open(r.root[0] ? r.root : NULL, r.parent[0] ? r.parent : NULL, id, &cg, NULL) ==
        0)
        TRY(sb_cgroup_destroy(cg, err));
    char slots[4096];
    sb_fmt(slots, sizeof(slots), "%s/slots", state_dir);
    for (unsigned i = 0; i < SB_SANDBOX_SLOTS; i++) {
        char p[4096], owner[64];
        sb_fmt(p, sizeof(p), "%s/%u", slots, i);
        if (sb_read_small(p, owner, sizeof(owner), NULL) == SB_SANDBOX_ID_LEN &&
            strcmp(owner, id) == 0) {
            (void)unlink(p);
            break;
        }
    }
    rm_tree_small(dir);
    ENSURE(access(dir, F_OK) != 0, err, SB_E_IO, "sandbox %s: cannot remove %s", id, dir);
    return 0;
}

/* True while pid is a process that has not exited (a zombie has). */
static bool pid_running(pid_t pid) {
    if (pid <= 1) return false;
    char p[64], buf[512];
    sb_fmt(p, sizeof(p), "/proc/%d/stat", (int)pid);
    if (sb_read_small(p, buf, sizeof(buf), NULL) < 0) return false;
    const char *rp = strrchr(buf, ')');
    return rp && rp[1] == ' ' && rp[2] != 'Z' && rp[2] != 'X';
}

/* A sandbox whose holder is gone and whose sealbox-init has exited is a leftover of a crash
 * (kill -9 of its daemon or holder): what still runs in its cgroup is killed, and its cgroup,
 * slot and directory are removed. Sandboxes whose init still runs are left alone, whoever runs
 * them; a reused pid errs on that side too. */
int sb_jail_sweep(const char *state_dir, unsigned *removed, sb_error *err) {
    if (!state_dir) state_dir = SB_SANDBOX_STATE_DIR;
    *removed = 0;
    struct sb_sandbox_info *v = NULL;
    size_t n = 0;
    TRY(sb_jail_list(state_dir, &v, &n, err));
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        struct record r;
        if (v[i].holder_alive || read_record(state_dir, v[i].id, &r, NULL) < 0 ||
            pid_running(r.init_pid))
            continue;
        /* half made: left alone while the process making it lives (another one's create) */
        if (r.init_pid < 0 && pid_running(r.creator_pid)) continue;
        rc = sb_jail_remove(state_dir, v[i].id, err);
        if (rc == 0) (*removed)++;
    }
    free(v);
    /* directories a crash left before their create published them (make_dir): nothing ran in
     * them yet, and their uid slot is reclaimed by the next create */
    char sd[4096];
    sb_fmt(sd, sizeof(sd), "%s/sandboxes", state_dir);
    DIR *d = rc == 0 ? opendir(sd) : NULL;
    struct dirent *de;
    while (d && (de = readdir(d))) {
        const char *id = de->d_name + strlen(NEW_DIR_PREFIX);
        if (strncmp(de->d_name, NEW_DIR_PREFIX, strlen(NEW_DIR_PREFIX)) != 0 ||
            check_id(id, NULL) < 0)
            continue;
        char dir[4096], rp[4096], buf[8192], v2[64];
        sb_fmt(dir, sizeof(dir), "%s/%s", sd, de->d_name);
        sb_fmt(rp, sizeof(rp), "%s/record", dir);
        pid_t creator = -1;
        if (sb_read_small(rp, buf, sizeof(buf), NULL) >= 0) {
            record_get(buf, "creator_pid", v2, sizeof(v2));
            long ip = strtol(v2, NULL, 10);
            creator = ip > 1 && ip < INT32_MAX ? (pid_t)ip : -1;
        }
        if (pid_running(creator)) continue; /* still being made */
        rm_tree_small(dir);
        (*removed)++;
    }
    if (d) closedir(d);
    return rc;
}

int sb_jail_list(const char *state_dir, struct sb_sandbox_info **out, size_t *n, sb_error *err) {
    if (!state_dir) state_dir = SB_SANDBOX_STATE_DIR;
    char p[4096];
    sb_fmt(p, sizeof(p), "%s/sandboxes", state_dir);
    *out = NULL;
    *n = 0;
    DIR *d = opendir(p);
    if (!d) return errno == ENOENT ? 0 : errno_fail(err, "open the sandbox directory");
    struct sb_sandbox_info *v = NULL;
    size_t cnt = 0;
    struct dirent *de;
    while ((de = readdir(d))) {
        struct record r;
        if (check_id(de->d_name, NULL) < 0 || read_record(state_dir, de->d_name, &r, NULL) < 0)
            continue;
        if (cnt >= SB_SANDBOX_SLOTS) break;
        struct sb_sandbox_info *nv = realloc(v, (cnt + 1) * sizeof(*v));
        if (!nv) break;
        v = nv;
        struct sb_sandbox_info *e = &v[cnt++];
        memset(e, 0, sizeof(*e));
        sb_fmt(e->id, sizeof(e->id), "%s", de->d_name);
        sb_fmt(e->image, sizeof(e->image), "%s", r.image);
        e->created = r.created;
        char dir[4096];
        sb_fmt(dir, sizeof(dir), "%s/%s", p, de->d_name);
        pid_t h = read_holder(dir);
        e->holder_alive = h > 0 && kill(h, 0) == 0;
        struct sb_cgroup *cg = NULL;
        struct sb_sandbox_stats st;
        if (sb_cgroup_open(r.root[0] ? r.root : NULL, r.parent[0] ? r.parent : NULL, e->id, &cg,
                           NULL) == 0) {
            if (sb_cgroup_stats(cg, &st, NULL) == 0) e->frozen = st.frozen;
            sb_cgroup_free(cg);
        }
    }
    closedir(d);
    *out = v;
    *n = cnt;
    return 0;
}
