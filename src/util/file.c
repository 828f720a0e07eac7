/* file: whole-file reads with a size limit and atomic replace-by-rename writes. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "util.h"

int sb_read_file(const char *path, size_t max, uint8_t **out, size_t *len, sb_error *err) {
    _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    if (fd < 0) BAIL(err, SB_E_IO, "%s: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) < 0) BAIL(err, SB_E_IO, "%s: %s", path, strerror(errno));
    if (S_ISDIR(st.st_mode)) BAIL(err, SB_E_IO, "%s: is a directory", path);
    sb_writer w;
    sb_writer_init(&w, max);
    uint8_t buf[65536];
    for (;;) {
        ssize_t n = read(fd, buf, sizeof(buf));
        if (n < 0) {
            if (errno == EINTR) continue;
            int e = errno;
            sb_writer_free(&w);
            BAIL(err, SB_E_IO, "%s: %s", path, strerror(e));
        }
        if (n == 0) break;
        if (sb_writer_bytes(&w, buf, (size_t)n) < 0) {
            int st2 = w.status;
            sb_writer_free(&w);
            if (st2 == SB_E_LIMIT) BAIL(err, SB_E_LIMIT, "%s: larger than %zu bytes", path, max);
            BAIL(err, SB_E_INTERNAL, "%s: out of memory", path);
        }
    }
    size_t l;
    uint8_t *b = sb_writer_steal(&w, &l);
    if (!b) BAIL(err, SB_E_INTERNAL, "%s: out of memory", path);
    *out = b;
    *len = l;
    return 0;
}

int sb_write_file_atomic(const char *path, const void *p, size_t n, unsigned mode, sb_error *err) {
    char tmp[4096];
    int k = snprintf(tmp, sizeof(tmp), "%s.tmp.%d", path, (int)getpid());
    if (k < 0 || (size_t)k >= sizeof(tmp)) BAIL(err, SB_E_USAGE, "%s: path too long", path);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, (mode_t)mode);
    if (fd < 0) BAIL(err, SB_E_IO, "%s: %s", tmp, strerror(errno));
    const uint8_t *b = p;
    size_t off = 0;
    while (off < n) {
        ssize_t w = write(fd, b + off, n - off);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) {
            int e = errno;
            (void)close(fd);
            (void)unlink(tmp);
            BAIL(err, SB_E_IO, "%s: %s", tmp, strerror(e));
        }
        off += (size_t)w;
    }
    if (fsync(fd) < 0 || close(fd) < 0) {
        int e = errno;
        (void)unlink(tmp);
        BAIL(err, SB_E_IO, "%s: %s", tmp, strerror(e));
    }
    if (rename(tmp, path) < 0) {
        int e = errno;
        (void)unlink(tmp);
        BAIL(err, SB_E_IO, "%s: %s", path, strerror(e));
    }
    return 0;
}
