/* monitor_files: the files API — upload, download, list, mkdir, delete — run by the monitor on
 * the sandbox's root directory (/proc/<init>/root). Every path is resolved by the kernel with
 * openat2(RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS): "/" and ".." stop at the sandbox's root and
 * absolute symlinks planted by the sandbox's code resolve inside it, atomically, so no swap can
 * make a walk leave the sandbox. The last component is then only ever touched relative to the
 * directory fd it was resolved in (no second lookup from the root). Pseudo file systems
 * (procfs, sysfs, ...) are refused: the monitor is host root there. docs/api.md says why the
 * monitor does this rather than sealbox-init. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <linux/magic.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/fsuid.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "../crypto/crypto.h"
#include "../sandbox/sandbox.h"
#include "monitor_int.h"

#define FILES_LIST_MAX 1000u    /* entries of one listing */
#define FILES_UPLOADS_MAX 16u   /* uploads in flight */
#define FILES_DOWNLOADS_MAX 64u /* downloads in flight */
#define FILES_READ_CHUNK SB_IPC_CHUNK_MAX
#define FILES_MKDIR_DEPTH 64u

struct upload {
    struct upload *next;
    uint32_t req_id;
    struct sbx *sbx;
    int dirfd, fd;
    char tmp[48];
    char name[256];
    char path[SB_IPC_PATH_MAX + 1];
    uint64_t size, got; /* size: SB_FILES_SIZE_UNKNOWN for a chunked body */
};

struct download {
    struct download *next;
    uint32_t stream_id;
    struct sbx *sbx;
    int fd;
    uint64_t size, sent, unacked;
};

struct sb_mfiles {
    struct upload *ups;
    struct download *downs;
    unsigned nups, ndowns;
    uint8_t *buf;
    uint64_t uploads, downloads, bytes_in, bytes_out;
};

/* ---- resolution ------------------------------------------------------------------------------ */

static int open_in_root(int root, const char *path, uint64_t flags, int *out) {
    struct open_how how = {.flags = flags | O_CLOEXEC,
                           .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS};
    const char *p = path;
    while (*p == '/')
        p++;
    if (!*p) p = ".";
    for (int tries = 0; tries < 8; tries++) {
        long fd = syscall(SYS_openat2, root, p, &how, sizeof(how));
        if (fd >= 0) {
            *out = (int)fd;
            return 0;
        }
        if (errno != EAGAIN && errno != EINTR) return -errno;
        /* EAGAIN: a rename raced with the walk; the kernel asks us to try again */
    }
    return -EAGAIN;
}

/* The file operations run with the file-system identity of the sandbox's root (its host uid
 * and gid; setfsuid to non-zero also drops the monitor's file capabilities): what they create
 * belongs to the sandbox, and they may touch only what the sandbox's root could. as_monitor()
 * restores uid 0 (and with it the file capabilities). The monitor is single-threaded. */
static void as_sandbox(const struct sbx *s) {
    uint32_t id = sb_sandbox_host_root(s->h);
    (void)setfsgid(id);
    (void)setfsuid(id);
}

static void as_monitor(void) {
    (void)setfsuid(0);
    (void)setfsgid(0);
}

static int sbx_root(const struct sbx *s, int *out) {
    pid_t init = s->h ? sb_sandbox_init_pid(s->h) : -1;
    if (init <= 0) return -ESRCH;
    char p[64];
    (void)snprintf(p, sizeof(p), "/proc/%d/root", (int)init);
    int fd = open(p, O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return -errno;
    *out = fd;
    as_sandbox(s); /* everything after opening the root is done as the sandbox's root */
    return 0;
}

/* Pseudo file systems the host's root may read more of than the sandbox could. */
static bool fs_refused(int fd) {
    struct statfs f;
    if (fstatfs(fd, &f) != 0) return true;
    static const long DENY[] = {
        PROC_SUPER_MAGIC, SYSFS_MAGIC,    CGROUP_SUPER_MAGIC, CGROUP2_SUPER_MAGIC, DEBUGFS_MAGIC,
        SECURITYFS_MAGIC, TRACEFS_MAGIC,  BPF_FS_MAGIC,       DEVPTS_SUPER_MAGIC,  NSFS_MAGIC,
        EFIVARFS_MAGIC,   PSTOREFS_MAGIC, BINFMTFS_MAGIC,     SELINUX_MAGIC,       SMACK_MAGIC};
    for (size_t i = 0; i < SB_ARRAY_LEN(DENY); i++)
        if ((long)f.f_type == DENY[i]) return true;
    return false;
}

/* How each errno of a file operation is answered; the detail is "<what>: <path>". */
static const struct {
    int e, status;
    const char *slug, *title, *what;
} ERRNO_REPLIES[] = {
    {ENOENT, 404, "file-not-found", "Not found", "no such file or directory"},
    {ENOTDIR, 404, "file-not-found", "Not found", "no such file or directory"},
    {EEXIST, 409, "file-exists", "Conflict", "already exists"},
    {EISDIR, 409, "is-a-directory", "Conflict", "is a directory"},
    {ENOTEMPTY, 409, "directory-not-empty", "Conflict", "directory not empty"},
    {ELOOP, 400, "path-refused", "Path refused", "symlink loop, magic link or escape"},
    {EXDEV, 400, "path-refused", "Path refused", "symlink loop, magic link or escape"},
    {EACCES, 403, "forbidden", "Forbidden", "not permitted"},
    {EPERM, 403, "forbidden", "Forbidden", "not permitted"},
    {EROFS, 403, "forbidden", "Forbidden", "read-only file system"},
    {ENOSPC, 507, "no-space", "Insufficient storage", "no space left in the sandbox"},
    {EDQUOT, 507, "no-space", "Insufficient storage", "no space left in the sandbox"},
    {ENAMETOOLONG, 400, "path-refused", "Path refused", "name too long"},
    {EAGAIN, 409, "conflict", "Conflict", "the path kept changing while it was resolved"},
};

/* An errno as a problem reply naming the path. */
static int errno_reply(sb_monitor *m, sb_reply *rep, int e, const char *path) {
    char d[SB_IPC_PATH_MAX + 96];
    for (size_t i = 0; i < SB_ARRAY_LEN(ERRNO_REPLIES); i++) {
        if (ERRNO_REPLIES[i].e != e) continue;
        (void)snprintf(d, sizeof(d), "%s: %s", ERRNO_REPLIES[i].what, path);
        return sb_reply_problem(rep, ERRNO_REPLIES[i].status, ERRNO_REPLIES[i].slug,
                                ERRNO_REPLIES[i].title, d);
    }
    sb_error e2 = {0};
    (void)sb_error_set(&e2, SB_E_IO, "%s: %s", path, strerror(e));
    return sb_monitor_internal(m, rep, "files", &e2);
}

static int path_arg(const sb_ipc_msg *msg, char out[SB_IPC_PATH_MAX + 1], sb_error *err) {
    TRY(sb_ipc_str_copy(&msg->f[2].s, out, SB_IPC_PATH_MAX + 1, err, "path"));
    ENSURE(out[0], err, SB_E_MALFORMED, "empty path");
    return 0;
}

/* Splits "a/b/c" into the parent "a/b" and the name "c". False for a path without a usable last
 * component ("/", "x/", "..", "."). */
static bool split(const char *path, char *parent, size_t pcap, char name[256]) {
    size_t n = strlen(path);
    if (n == 0 || path[n - 1] == '/') return false;
    const char *slash = strrchr(path, '/');
    const char *base = slash ? slash + 1 : path;
    size_t bl = strlen(base);
    if (bl == 0 || bl > 255 || strcmp(base, ".") == 0 || strcmp(base, "..") == 0) return false;
    memcpy(name, base, bl + 1);
    size_t pl = slash ? (size_t)(slash - path) : 0;
    if (pl + 1 > pcap) return false;
    if (pl) memcpy(parent, path, pl);
    parent[pl] = '\0';
    if (!parent[0]) (void)snprintf(parent, pcap, "/");
    return true;
}

static int bad_path(sb_reply *rep, const char *path) {
    char d[SB_IPC_PATH_MAX + 64];
    (void)snprintf(d, sizeof(d), "path: '%s' does not name a file (it ends in /, . or ..)", path);
    return sb_reply_problem(rep, 400, "invalid-params", "Invalid parameters", d);
}

/* ---- upload ---------------------------------------------------------------------------------- */

static void upload_free(sb_monitor *m, struct upload *u, bool keep_file) {
    for (struct upload **pp = &m->files->ups; *pp; pp = &(*pp)->next)
        if (*pp == u) {
            *pp = u->next;
            break;
        }
    m->files->nups--;
    if (u->fd >= 0) close(u->fd);
    if (!keep_file && u->dirfd >= 0) (void)unlinkat(u->dirfd, u->tmp, 0);
    if (u->dirfd >= 0) close(u->dirfd);
    free(u);
}

static int c_put(const sb_ipc_msg *msg, sb_error *err) {
    TRY(sb_monitor_check_sbx_id(msg, 1, err));
    ENSURE(msg->f[3].u <= SB_FILES_UPLOAD_LIMIT || msg->f[3].u == SB_FILES_SIZE_UNKNOWN, err,
           SB_E_MALFORMED, "upload size %llu", (unsigned long long)msg->f[3].u);
    return 0;
}

/* The most one upload may hold (sealboxd --upload-max). */
static uint64_t upload_max(sb_monitor *m) {
    return m->cfg.upload_max ? m->cfg.upload_max : SB_FILES_UPLOAD_DEFAULT;
}

static int too_large(sb_monitor *m, sb_reply *rep) {
    char d[96];
    (void)snprintf(d, sizeof(d), "an upload is at most %llu bytes",
                   (unsigned long long)upload_max(m));
    return sb_reply_problem(rep, 413, "too-large", "Payload too large", d);
}

static int h_put_as(sb_monitor *m, const sb_ipc_msg *msg, const sb_tenant *t, sb_reply *rep,
                    sb_error *err) {
    char path[SB_IPC_PATH_MAX + 1], parent[SB_IPC_PATH_MAX + 1], name[256];
    TRY(path_arg(msg, path, err));
    for (struct upload *u = m->files->ups; u; u = u->next)
        ENSURE(u->req_id != msg->id, err, SB_E_MALFORMED, "upload id %u is in use", msg->id);
    struct sbx *s = sb_monitor_sbx_owned(m, msg, t, rep);
    if (!s) return 0;
    if (!split(path, parent, sizeof(parent), name)) return bad_path(rep, path);
    if (msg->f[3].u != SB_FILES_SIZE_UNKNOWN && msg->f[3].u > upload_max(m))
        return too_large(m, rep);
    if (m->files->nups >= FILES_UPLOADS_MAX)
        return sb_reply_problem(rep, 503, "busy", "Service busy", "too many uploads in progress");
    int root = -1, dir = -1;
    int e = sbx_root(s, &root);
    if (e == 0) e = open_in_root(root, parent, O_PATH | O_DIRECTORY, &dir);
    if (root >= 0) close(root);
    if (e < 0) return errno_reply(m, rep, -e, parent);
    if (fs_refused(dir)) {
        close(dir);
        return errno_reply(m, rep, EACCES, parent);
    }
    struct upload *u = calloc(1, sizeof(*u));
    uint8_t rnd[8];
    sb_error e2 = {0};
    if (!u || sb_random(rnd, sizeof(rnd), &e2) < 0) {
        free(u);
        close(dir);
        return sb_reply_problem(rep, 503, "busy", "Service busy", "out of memory");
    }
    char hex[17];
    sb_hex_encode(rnd, sizeof(rnd), hex);
    (void)snprintf(u->tmp, sizeof(u->tmp), ".sealbox-upload-%s", hex);
    /* O_EXCL never follows a symlink: the temporary file is new, in this very directory */
    u->fd = openat(dir, u->tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
    if (u->fd < 0) {
        int en = errno;
        close(dir);
        free(u);
        return errno_reply(m, rep, en, path);
    }
    u->dirfd = dir;
    u->req_id = msg->id;
    u->sbx = s;
    u->size = msg->f[3].u;
    memcpy(u->name, name, sizeof(u->name));
    memcpy(u->path, path, sizeof(u->path));
    u->next = m->files->ups;
    m->files->ups = u;
    m->files->nups++;
    rep->status = 0; /* answered by the last FILE_DATA */
    return 0;
}

static int c_data(const sb_ipc_msg *msg, sb_error *err) {
    TRY(sb_monitor_check_sbx_id(msg, 1, err));
    ENSURE(msg->f[3].u <= SB_FILE_ABORT, err, SB_E_MALFORMED, "last flag %llu",
           (unsigned long long)msg->f[3].u);
    return 0;
}

static int h_data_as(sb_monitor *m, const sb_ipc_msg *msg, const sb_tenant *t, sb_reply *rep,
                     sb_error *err) {
    rep->status = 0;
    struct upload *u = m->files->ups;
    while (u && u->req_id != msg->id)
        u = u->next;
    if (!u) return 0; /* the upload was already answered (it failed): the rest is dropped */
    /* the tenant and the sandbox are checked again on every piece */
    char id[SB_SANDBOX_ID_MAX + 1];
    TRY(sb_ipc_str_copy(&msg->f[1].s, id, sizeof(id), err, "sandbox id"));
    ENSURE(u->sbx->tenant_id == t->id && strcmp(u->sbx->id, id) == 0, err, SB_E_MALFORMED,
           "upload %u: data for another tenant or sandbox", msg->id);
    if (msg->f[3].u == SB_FILE_ABORT) { /* the front gave it up: no half file stays behind */
        upload_free(m, u, false);
        return 0;
    }
    const sb_ipc_str *d = &msg->f[2].s;
    /* The front enforces the limit as bytes arrive; past it, the front is not to be trusted. */
    uint64_t cap = u->size == SB_FILES_SIZE_UNKNOWN ? upload_max(m) : u->size;
    ENSURE(d->len <= cap - u->got, err, SB_E_MALFORMED, "upload %u: more bytes than %s", msg->id,
           u->size == SB_FILES_SIZE_UNKNOWN ? "the limit" : "announced");
    for (size_t off = 0; off < d->len;) {
        ssize_t k = write(u->fd, d->p + off, d->len - off);
        if (k < 0 && errno == EINTR) continue;
        if (k <= 0) {
            int en = k < 0 ? errno : EIO;
            (void)errno_reply(m, rep, en, u->path);
            upload_free(m, u, false);
            return 0;
        }
        off += (size_t)k;
    }
    u->got += d->len;
    m->files->bytes_in += d->len;
    if (msg->f[3].u != SB_FILE_LAST) return 0;
    if (u->size == SB_FILES_SIZE_UNKNOWN) u->size = u->got;
    ENSURE(u->got == u->size, err, SB_E_MALFORMED, "upload %u: %llu of %llu bytes", msg->id,
           (unsigned long long)u->got, (unsigned long long)u->size);
    as_sandbox(u->sbx);
    int en = fsync(u->fd) == 0 ? 0 : errno;
    if (en == 0 && close(u->fd) != 0) en = errno;
    u->fd = -1;
    /* renameat replaces the last component itself: a symlink there is replaced, not followed */
    if (en == 0 && renameat(u->dirfd, u->tmp, u->dirfd, u->name) != 0) en = errno;
    if (en) {
        (void)errno_reply(m, rep, en, u->path);
        upload_free(m, u, false);
        return 0;
    }
    m->files->uploads++;
    (void)sb_reply_json(rep, 201,
                        json_pack("{s:s, s:I}", "path", u->path, "size", (json_int_t)u->got));
    upload_free(m, u, true);
    return 0;
}

/* ---- download -------------------------------------------------------------------------------- */

static void download_free(sb_monitor *m, struct download *d, bool end) {
    if (end) (void)sb_monitor_send(m, SB_IPC_STREAM_END, d->stream_id, NULL, 0);
    for (struct download **pp = &m->files->downs; *pp; pp = &(*pp)->next)
        if (*pp == d) {
            *pp = d->next;
            break;
        }
    m->files->ndowns--;
    if (d->fd >= 0) close(d->fd);
    free(d);
}

/* Sends what the window allows; ends the stream at the size the file had when opened. */
static void download_pump(sb_monitor *m, struct download *d) {
    bool done = false;
    while (!done && d->unacked < SB_STREAM_WINDOW) {
        if (d->sent >= d->size) {
            done = true;
            break;
        }
        uint64_t want = d->size - d->sent;
        size_t n = want < FILES_READ_CHUNK ? (size_t)want : FILES_READ_CHUNK;
        ssize_t k = pread(d->fd, m->files->buf, n, (off_t)d->sent);
        if (k < 0 && errno == EINTR) continue;
        if (k <= 0) {
            done = true; /* it shrank (or failed): the stream ends short */
            break;
        }
        sb_ipc_val v[2] = {sb_ipc_u(SB_EV_DATA), sb_ipc_b(m->files->buf, (size_t)k)};
        if (sb_monitor_send(m, SB_IPC_STREAM_EVENT, d->stream_id, v, 2) < 0) done = true;
        d->sent += (uint64_t)k;
        d->unacked += (uint64_t)k;
        m->files->bytes_out += (uint64_t)k;
    }
    if (done || d->sent >= d->size) {
        m->files->downloads++;
        download_free(m, d, true);
    }
}

static int c_path(const sb_ipc_msg *msg, sb_error *err) {
    return sb_monitor_check_sbx_id(msg, 1, err);
}

static int h_get_as(sb_monitor *m, const sb_ipc_msg *msg, const sb_tenant *t, sb_reply *rep,
                    sb_error *err) {
    char path[SB_IPC_PATH_MAX + 1];
    TRY(path_arg(msg, path, err));
    struct sbx *s = sb_monitor_sbx_owned(m, msg, t, rep);
    if (!s) return 0;
    if (m->files->ndowns >= FILES_DOWNLOADS_MAX)
        return sb_reply_problem(rep, 503, "busy", "Service busy", "too many downloads in progress");
    int root = -1, pfd = -1, fd = -1;
    int e = sbx_root(s, &root);
    if (e == 0) e = open_in_root(root, path, O_PATH, &pfd);
    struct stat st1, st2;
    char d[SB_IPC_PATH_MAX + 64];
    if (e == 0 && fstat(pfd, &st1) != 0) e = -errno;
    if (e == 0 && S_ISDIR(st1.st_mode)) {
        (void)snprintf(d, sizeof(d), "path: '%s' is a directory (list it with GET .../dirs)", path);
        close(root);
        close(pfd);
        return sb_reply_problem(rep, 400, "not-a-file", "Not a regular file", d);
    }
    if (e == 0 && (!S_ISREG(st1.st_mode) || fs_refused(pfd))) {
        (void)snprintf(d, sizeof(d), "path: '%s' is not a regular file of the sandbox", path);
        close(root);
        close(pfd);
        return sb_reply_problem(rep, 400, "not-a-file", "Not a regular file", d);
    }
    /* Open it for reading (O_NONBLOCK: never wait on a FIFO swapped in meanwhile) and make sure
     * it is still the regular file that was checked. */
    if (e == 0) e = open_in_root(root, path, O_RDONLY | O_NONBLOCK | O_NOCTTY, &fd);
    if (e == 0 && fstat(fd, &st2) != 0) e = -errno;
    if (root >= 0) close(root);
    if (pfd >= 0) close(pfd);
    if (e == 0 && (st1.st_dev != st2.st_dev || st1.st_ino != st2.st_ino)) e = -EAGAIN;
    if (e < 0) {
        if (fd >= 0) close(fd);
        return errno_reply(m, rep, -e, path);
    }
    struct download *dl = calloc(1, sizeof(*dl));
    if (!dl) {
        close(fd);
        return sb_reply_problem(rep, 503, "busy", "Service busy", "out of memory");
    }
    dl->fd = fd;
    dl->stream_id = msg->id;
    dl->sbx = s;
    dl->size = (uint64_t)st2.st_size;
    dl->next = m->files->downs;
    m->files->downs = dl;
    m->files->ndowns++;
    sb_ipc_val v[3] = {sb_ipc_u(200), sb_ipc_u(SB_STREAM_BYTES), sb_ipc_u(dl->size)};
    (void)sb_monitor_send(m, SB_IPC_STREAM_START, msg->id, v, 3);
    rep->status = 0;
    download_pump(m, dl);
    return 0;
}

bool sb_files_stream_ack(sb_monitor *m, uint32_t id, uint32_t bytes) {
    if (!m->files) return false;
    for (struct download *d = m->files->downs; d; d = d->next)
        if (d->stream_id == id) {
            d->unacked = bytes < d->unacked ? d->unacked - bytes : 0;
            download_pump(m, d);
            return true;
        }
    return false;
}

bool sb_files_stream_close(sb_monitor *m, uint32_t id) {
    if (!m->files) return false;
    for (struct download *d = m->files->downs; d; d = d->next)
        if (d->stream_id == id) {
            download_free(m, d, false);
            return true;
        }
    return false;
}

/* ---- list, mkdir, delete ----------------------------------------------------------------------
 */

static const char *type_name(mode_t mode) {
    if (S_ISREG(mode)) return "file";
    if (S_ISDIR(mode)) return "dir";
    if (S_ISLNK(mode)) return "symlink";
    if (S_ISFIFO(mode)) return "fifo";
    if (S_ISSOCK(mode)) return "socket";
    if (S_ISCHR(mode) || S_ISBLK(mode)) return "device";
    return "other";
}

static int cmp_entry(const void *a, const void *b) {
    const char *x = json_string_value(json_object_get(*(json_t *const *)a, "name"));
    const char *y = json_string_value(json_object_get(*(json_t *const *)b, "name"));
    return strcmp(x ? x : "", y ? y : "");
}

static int h_list_as(sb_monitor *m, const sb_ipc_msg *msg, const sb_tenant *t, sb_reply *rep,
                     sb_error *err) {
    char path[SB_IPC_PATH_MAX + 1];
    TRY(path_arg(msg, path, err));
    struct sbx *s = sb_monitor_sbx_owned(m, msg, t, rep);
    if (!s) return 0;
    int root = -1, fd = -1;
    int e = sbx_root(s, &root);
    if (e == 0) e = open_in_root(root, path, O_RDONLY | O_DIRECTORY, &fd);
    if (root >= 0) close(root);
    if (e < 0) return errno_reply(m, rep, -e, path);
    if (fs_refused(fd)) {
        close(fd);
        return errno_reply(m, rep, EACCES, path);
    }
    DIR *dir = fdopendir(fd);
    if (!dir) {
        int en = errno;
        close(fd);
        return errno_reply(m, rep, en, path);
    }
    json_t **v = calloc(FILES_LIST_MAX, sizeof(*v));
    size_t n = 0;
    bool truncated = false;
    struct dirent *de;
    while (v && (de = readdir(dir)) != NULL) {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0) continue;
        if (n == FILES_LIST_MAX) {
            truncated = true;
            break;
        }
        struct stat st;
        if (fstatat(dirfd(dir), de->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0) continue;
        char mtime[32];
        sb_time_format((int64_t)st.st_mtime, mtime);
        json_t *j = json_pack("{s:s, s:s, s:I, s:i, s:s}", "name", de->d_name, "type",
                              type_name(st.st_mode), "size", (json_int_t)st.st_size, "mode",
                              (int)(st.st_mode & 07777), "modified_at", mtime);
        if (!j) continue; /* a name that is not UTF-8 cannot be shown in JSON */
        if (S_ISLNK(st.st_mode)) {
            char target[SB_IPC_PATH_MAX + 1];
            ssize_t k = readlinkat(dirfd(dir), de->d_name, target, sizeof(target) - 1);
            if (k >= 0) {
                target[k] = '\0';
                json_t *tj = json_string(target);
                if (tj) (void)json_object_set_new(j, "target", tj);
            }
        }
        v[n++] = j;
    }
    closedir(dir);
    if (!v) return sb_reply_problem(rep, 503, "busy", "Service busy", "out of memory");
    qsort(v, n, sizeof(*v), cmp_entry);
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++)
        (void)json_array_append_new(arr, v[i]);
    free(v);
    return sb_reply_json(
        rep, 200,
        json_pack("{s:s, s:o, s:b}", "path", path, "entries", arr, "truncated", truncated));
}

/* (created as the sandbox's root: see as_sandbox) */
static int make_dir(int parent, const char *name) {
    return mkdirat(parent, name, 0755) == 0 ? 0 : -errno;
}

static int c_mkdir(const sb_ipc_msg *msg, sb_error *err) {
    TRY(sb_monitor_check_sbx_id(msg, 1, err));
    ENSURE(msg->f[3].u <= 1, err, SB_E_MALFORMED, "parents flag %llu",
           (unsigned long long)msg->f[3].u);
    return 0;
}

static int h_mkdir_as(sb_monitor *m, const sb_ipc_msg *msg, const sb_tenant *t, sb_reply *rep,
                      sb_error *err) {
    char path[SB_IPC_PATH_MAX + 1], parent[SB_IPC_PATH_MAX + 1], name[256];
    TRY(path_arg(msg, path, err));
    struct sbx *s = sb_monitor_sbx_owned(m, msg, t, rep);
    if (!s) return 0;
    if (!split(path, parent, sizeof(parent), name)) return bad_path(rep, path);
    int root = -1;
    int e = sbx_root(s, &root);
    if (e < 0) return errno_reply(m, rep, -e, path);
    bool created = false;
    if (msg->f[3].u == 1) {
        /* every missing ancestor, each resolved from the root again */
        char prefix[SB_IPC_PATH_MAX + 1];
        size_t len = strlen(path);
        unsigned depth = 0;
        for (size_t i = 1; i <= len && e == 0; i++) {
            if (i < len && path[i] != '/') continue;
            if (path[i - 1] == '/') continue;
            if (++depth > FILES_MKDIR_DEPTH) {
                e = -ENAMETOOLONG;
                break;
            }
            memcpy(prefix, path, i);
            prefix[i] = '\0';
            int fd = -1;
            e = open_in_root(root, prefix, O_PATH | O_DIRECTORY, &fd);
            if (e == 0) {
                close(fd);
                continue;
            }
            if (e != -ENOENT) break;
            char pp[SB_IPC_PATH_MAX + 1], nm[256];
            if (!split(prefix, pp, sizeof(pp), nm)) {
                e = -EINVAL;
                break;
            }
            int pfd = -1;
            e = open_in_root(root, pp, O_PATH | O_DIRECTORY, &pfd);
            if (e == 0) e = fs_refused(pfd) ? -EACCES : make_dir(pfd, nm);
            if (e == -EEXIST) e = 0;
            if (pfd >= 0) close(pfd);
            if (e == 0 && i == len) created = true;
        }
    } else {
        int pfd = -1;
        e = open_in_root(root, parent, O_PATH | O_DIRECTORY, &pfd);
        if (e == 0) e = fs_refused(pfd) ? -EACCES : make_dir(pfd, name);
        if (pfd >= 0) close(pfd);
        created = e == 0;
    }
    close(root);
    if (e == -EINVAL) return bad_path(rep, path);
    if (e < 0) return errno_reply(m, rep, -e, path);
    return sb_reply_json(rep, created ? 201 : 200,
                         json_pack("{s:s, s:b}", "path", path, "created", created));
}

static int h_delete_as(sb_monitor *m, const sb_ipc_msg *msg, const sb_tenant *t, sb_reply *rep,
                       sb_error *err) {
    char path[SB_IPC_PATH_MAX + 1], parent[SB_IPC_PATH_MAX + 1], name[256];
    TRY(path_arg(msg, path, err));
    struct sbx *s = sb_monitor_sbx_owned(m, msg, t, rep);
    if (!s) return 0;
    if (!split(path, parent, sizeof(parent), name)) return bad_path(rep, path);
    int root = -1, pfd = -1;
    int e = sbx_root(s, &root);
    if (e == 0) e = open_in_root(root, parent, O_PATH | O_DIRECTORY, &pfd);
    if (root >= 0) close(root);
    if (e == 0 && fs_refused(pfd)) e = -EACCES;
    /* unlinkat removes the name itself: a symlink goes, never what it points at */
    if (e == 0 && unlinkat(pfd, name, 0) != 0) {
        e = -errno;
        if (e == -EISDIR) e = unlinkat(pfd, name, AT_REMOVEDIR) == 0 ? 0 : -errno;
    }
    if (pfd >= 0) close(pfd);
    if (e < 0) return errno_reply(m, rep, -e, path);
    rep->status = 204;
    rep->ctype = SB_CT_JSON;
    return 0;
}

/* ---- life -------------------------------------------------------------------------------------
 */

void sb_files_sandbox_gone(sb_monitor *m, struct sbx *s) {
    if (!m->files) return;
    struct upload *u = m->files->ups;
    while (u) {
        struct upload *next = u->next;
        if (u->sbx == s) {
            sb_ipc_val v[3] = {sb_ipc_u(409), sb_ipc_u(SB_CT_PROBLEM),
                               sb_ipc_s("{\"type\":\"urn:sealbox:problem:gone\",\"title\":\"Gone\","
                                        "\"status\":409,\"detail\":\"the sandbox was removed "
                                        "during the upload\"}")};
            (void)sb_monitor_send(m, SB_IPC_REPLY, u->req_id, v, 3);
            upload_free(m, u, false);
        }
        u = next;
    }
    struct download *d = m->files->downs;
    while (d) {
        struct download *next = d->next;
        if (d->sbx == s) download_free(m, d, true);
        d = next;
    }
}

void sb_files_front_gone(sb_monitor *m) {
    if (!m->files) return;
    while (m->files->ups)
        upload_free(m, m->files->ups, false);
    while (m->files->downs)
        download_free(m, m->files->downs, false);
}

/* Each handler runs as the sandbox's root (sbx_root switches) and returns as the monitor. */
#define AS_MONITOR_AFTER(name)                                                               \
    static int name(sb_monitor *m, const sb_ipc_msg *msg, const sb_tenant *t, sb_reply *rep, \
                    sb_error *err) {                                                         \
        int r = name##_as(m, msg, t, rep, err);                                              \
        as_monitor();                                                                        \
        return r;                                                                            \
    }
AS_MONITOR_AFTER(h_put)
AS_MONITOR_AFTER(h_data)
AS_MONITOR_AFTER(h_get)
AS_MONITOR_AFTER(h_list)
AS_MONITOR_AFTER(h_mkdir)
AS_MONITOR_AFTER(h_delete)

static const sb_handler FILE_HANDLERS[] = {
    {SB_IPC_FILE_PUT, true, c_put, h_put},       {SB_IPC_FILE_DATA, true, c_data, h_data},
    {SB_IPC_FILE_GET, true, c_path, h_get},      {SB_IPC_FILE_LIST, true, c_path, h_list},
    {SB_IPC_FILE_MKDIR, true, c_mkdir, h_mkdir}, {SB_IPC_FILE_DELETE, true, c_path, h_delete},
};

const sb_handler *sb_files_handler(uint16_t type) {
    for (size_t i = 0; i < SB_ARRAY_LEN(FILE_HANDLERS); i++)
        if (FILE_HANDLERS[i].type == type) return &FILE_HANDLERS[i];
    return NULL;
}

int sb_files_init(sb_monitor *m, sb_error *err) {
    m->files = calloc(1, sizeof(*m->files));
    ENSURE(m->files, err, SB_E_INTERNAL, "out of memory");
    m->files->buf = malloc(FILES_READ_CHUNK);
    if (!m->files->buf) {
        free(m->files);
        m->files = NULL;
        BAIL(err, SB_E_INTERNAL, "out of memory");
    }
    return 0;
}

void sb_files_fini(sb_monitor *m) {
    if (!m->files) return;
    sb_files_front_gone(m);
    free(m->files->buf);
    free(m->files);
    m->files = NULL;
}
