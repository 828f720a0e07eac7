/* keyfile: private key and secret files — read through one descriptor that is checked before a
 * byte is read (kind, owner, mode, size) into secret memory, and created whole or not at all. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "util.h"

static const char *kind_of(mode_t m) {
    if (S_ISDIR(m)) return "a directory";
    if (S_ISFIFO(m)) return "a FIFO";
    if (S_ISSOCK(m)) return "a socket";
    if (S_ISCHR(m)) return "a character device";
    if (S_ISBLK(m)) return "a block device";
    return "not a regular file";
}

/* The checks on the open descriptor, in the order a user would fix them. */
static int check(const char *path, const struct stat *st, const struct sb_keyfile_rules *ru,
                 sb_error *err) {
    int refuse = ru->refuse_code ? ru->refuse_code : SB_E_POLICY;
    int kind = ru->refuse_code ? ru->refuse_code : SB_E_IO;
    if (!S_ISREG(st->st_mode))
        BAIL(err, kind, "%s: not a regular file (%s)", path, kind_of(st->st_mode));
    if (st->st_mode & 077)
        BAIL(err, refuse, "%s: mode %03o: group or others can read %s; %s", path,
             (unsigned)(st->st_mode & 0777), ru->what, ru->hint);
    if (st->st_uid != geteuid())
        BAIL(err, refuse, "%s: owned by uid %u, not by us (uid %u)", path, (unsigned)st->st_uid,
             (unsigned)geteuid());
    if (st->st_size < 0 || (uint64_t)st->st_size < ru->min || (uint64_t)st->st_size > ru->max) {
        if (ru->min == ru->max)
            BAIL(err, SB_E_MALFORMED, "%s: %lld bytes, %s has %zu", path, (long long)st->st_size,
                 ru->what, ru->max);
        BAIL(err, SB_E_LIMIT, "%s: %lld bytes (%zu-%zu expected)", path, (long long)st->st_size,
             ru->min, ru->max);
    }
    return 0;
}

int sb_keyfile_read(const char *path, const struct sb_keyfile_rules *ru, uint8_t **out, size_t *len,
                    sb_error *err) {
    ENSURE(ru && ru->min <= ru->max && ru->max < SIZE_MAX && ru->what && ru->hint, err, SB_E_USAGE,
           "keyfile: bad rules for %s", path);
    /* O_NOFOLLOW: the file itself, never where a link points; O_NONBLOCK: a FIFO planted in
     * its place is refused by the checks below instead of blocking the open. */
    _cleanup_close_ int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    if (fd < 0) {
        int e = errno;
        if (e == ENOENT) BAIL(err, SB_E_NOTFOUND, "%s: %s", path, strerror(e));
        if (e == ELOOP)
            BAIL(err, ru->refuse_code ? ru->refuse_code : SB_E_IO,
                 "%s: is a symbolic link; %s must be the file itself", path, ru->what);
        BAIL(err, SB_E_IO, "%s: %s", path, strerror(e));
    }
    struct stat st;
    if (fstat(fd, &st) < 0) BAIL(err, SB_E_IO, "%s: %s", path, strerror(errno));
    TRY(check(path, &st, ru, err));
    size_t n = (size_t)st.st_size;
    uint8_t *b = sb_secret_alloc(n + 1);
    ENSURE(b, err, SB_E_INTERNAL, "%s: cannot allocate secret memory", path);
    size_t got = 0;
    int r = 0;
    while (r == 0 && got < n) {
        ssize_t k = read(fd, b + got, n - got);
        if (k < 0 && errno == EINTR) continue;
        if (k < 0)
            r = sb_error_set(err, SB_E_IO, "%s: %s", path, strerror(errno));
        else if (k == 0)
            r = sb_error_set(err, SB_E_IO, "%s: truncated while being read (%zu of %zu bytes)",
                             path, got, n);
        else
            got += (size_t)k;
    }
    uint8_t extra;
    ssize_t k = 0;
    while (r == 0 && (k = read(fd, &extra, 1)) < 0 && errno == EINTR) {
    }
    if (r == 0 && k != 0)
        r = sb_error_set(err, SB_E_IO, "%s: %s", path,
                         k > 0 ? "grew while being read" : strerror(errno));
    if (r < 0) {
        sb_secret_free(b, n + 1);
        return r;
    }
    b[n] = 0;
    *out = b;
    *len = n;
    return 0;
}

int sb_keyfile_create(const char *path, const void *p, size_t n, bool *existed, sb_error *err) {
    char tmp[4096];
    int k = snprintf(tmp, sizeof(tmp), "%s.tmp.XXXXXX", path);
    ENSURE(k > 0 && (size_t)k < sizeof(tmp), err, SB_E_USAGE, "%s: path too long", path);
    /* mkostemp creates the temporary 0600 and O_EXCL. */
    int fd = mkostemp(tmp, O_CLOEXEC);
    if (fd < 0) BAIL(err, SB_E_IO, "%s: cannot create a temporary file: %s", path, strerror(errno));
    const uint8_t *b = p;
    size_t off = 0;
    int e = 0;
    while (e == 0 && off < n) {
        ssize_t w = write(fd, b + off, n - off);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0)
            e = w < 0 ? errno : EIO;
        else
            off += (size_t)w;
    }
    if (e == 0 && fsync(fd) < 0) e = errno;
    if (close(fd) < 0 && e == 0) e = errno;
    if (e != 0) {
        (void)unlink(tmp);
        BAIL(err, SB_E_IO, "%s: cannot write: %s", path, strerror(e));
    }
    /* link, not rename: it fails on an existing file, so a key another process made meanwhile
     * is never replaced, and path only ever names a complete file. */
    int lr = link(tmp, path);
    e = errno;
    (void)unlink(tmp);
    if (existed) *existed = lr < 0 && e == EEXIST;
    if (lr < 0 && e == EEXIST && existed) return 0;
    if (lr < 0)
        BAIL(err, e == EEXIST ? SB_E_POLICY : SB_E_IO, "%s: %s", path,
             e == EEXIST ? "already exists (never replaced)" : strerror(e));
    return 0;
}
