/* image: what a sandbox's root is made of. The default image is the host's read-only /usr
 * (plus the merged-/usr symlinks): it changes whenever the host is upgraded, so it is recorded
 * as "mutable:host-usr" and is never eligible for attestation. Imported images are immutable
 * copies in <state>/images/<sha256 hex>/rootfs, named by the digest of their canonical
 * manifest (docs/sandbox.md, "Images"). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "crypto/crypto.h"
#include "internal.h"

#define SB_IMAGE_HOST_DIGEST "mutable:host-usr"
#define IMAGE_MAX_ENTRIES 1000000u
#define IMAGE_MAX_DEPTH 128
#define IMAGE_MAX_DIR_ENTRIES 200000u

struct walk {
    sb_hash_ctx *manifest_hash;
    sb_writer manifest; /* the canonical manifest, kept beside the image */
    size_t entries;
    sb_error *err;
};

static int emit(struct walk *w, const char *line, size_t n) {
    TRY(sb_hash_ctx_update(w->manifest_hash, line, n, w->err));
    if (sb_writer_bytes(&w->manifest, line, n) < 0)
        BAIL(w->err, SB_E_LIMIT, "image: the manifest is over its size limit");
    return 0;
}

static int cmp_names(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Copies one regular file, hashing its content; *hex receives the SHA-256. */
static int copy_file(int sfd, int dfd, char hex[65], sb_error *err) {
    sb_hash_ctx *h = NULL;
    TRY(sb_hash_ctx_new(SB_HASH_SHA256, &h, err));
    uint8_t buf[65536];
    int rc = 0;
    for (;;) {
        ssize_t n = read(sfd, buf, sizeof(buf));
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) {
            rc = sb_error_set(err, SB_E_IO, "image: read: %s", strerror(errno));
            break;
        }
        if (n == 0) break;
        rc = sb_hash_ctx_update(h, buf, (size_t)n, err);
        if (rc < 0) break;
        for (ssize_t off = 0; off < n;) {
            ssize_t wr = write(dfd, buf + off, (size_t)(n - off));
            if (wr < 0 && errno == EINTR) continue;
            if (wr <= 0) {
                rc = sb_error_set(err, SB_E_IO, "image: write: %s", strerror(errno));
                break;
            }
            off += wr;
        }
        if (rc < 0) break;
    }
    uint8_t d[32];
    if (rc == 0) rc = sb_hash_ctx_final(h, d, err);
    sb_hash_ctx_free(h);
    if (rc == 0) sb_hex_encode(d, sizeof(d), hex);
    return rc;
}

/* Depth first, children in byte-wise name order: the canonical order of the manifest. */
static int walk_dir(struct walk *w, int sdir, int ddir, const char *rel, int depth) {
    if (depth > IMAGE_MAX_DEPTH)
        BAIL(w->err, SB_E_LIMIT, "image: %s is nested deeper than %d", rel, IMAGE_MAX_DEPTH);
    int dup = fcntl(sdir, F_DUPFD_CLOEXEC, 0);
    DIR *d = dup >= 0 ? fdopendir(dup) : NULL;
    if (!d) {
        if (dup >= 0) close(dup);
        BAIL(w->err, SB_E_IO, "image: cannot list %s: %s", rel, strerror(errno));
    }
    char **names = NULL;
    size_t n = 0, cap = 0;
    int rc = 0;
    struct dirent *de;
    while ((de = readdir(d))) {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0) continue;
        if (n >= IMAGE_MAX_DIR_ENTRIES) {
            rc = sb_error_set(w->err, SB_E_LIMIT, "image: %s has more than %u entries", rel,
                              IMAGE_MAX_DIR_ENTRIES);
            break;
        }
        if (n == cap) {
            cap = cap ? cap * 2 : 64;
            char **nn = realloc(names, cap * sizeof(char *));
            if (!nn) {
                rc = sb_error_set(w->err, SB_E_INTERNAL, "out of memory");
                break;
            }
            names = nn;
        }
        names[n] = strdup(de->d_name);
        if (!names[n]) {
            rc = sb_error_set(w->err, SB_E_INTERNAL, "out of memory");
            break;
        }
        n++;
    }
    closedir(d);
    if (rc == 0 && n) qsort(names, n, sizeof(char *), cmp_names);
    for (size_t i = 0; rc == 0 && i < n; i++) {
        if (++w->entries > IMAGE_MAX_ENTRIES) {
            rc = sb_error_set(w->err, SB_E_LIMIT, "image: more than %u entries", IMAGE_MAX_ENTRIES);
            break;
        }
        char path[4096];
        if (sb_fmt(path, sizeof(path), "%s/%s", rel, names[i]) >= (int)sizeof(path)) {
            rc = sb_error_set(w->err, SB_E_LIMIT, "image: a path under %s is too long", rel);
            break;
        }
        struct stat st;
        if (fstatat(sdir, names[i], &st, AT_SYMLINK_NOFOLLOW) != 0) {
            rc = sb_error_set(w->err, SB_E_IO, "image: stat %s: %s", path, strerror(errno));
            break;
        }
        unsigned mode = st.st_mode & 07777;
        char line[4096 + 256 + 128];
        int ln;
        if (S_ISDIR(st.st_mode)) {
            ln = sb_fmt(line, sizeof(line), "d %04o %u %u %zu:%s\n", mode, st.st_uid, st.st_gid,
                        strlen(path), path);
            rc = emit(w, line, (size_t)ln);
            if (rc < 0) break;
            if (mkdirat(ddir, names[i], 0700) != 0) {
                rc = sb_error_set(w->err, SB_E_IO, "image: mkdir %s: %s", path, strerror(errno));
                break;
            }
            int s2 = openat(sdir, names[i], O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
            int d2 = openat(ddir, names[i], O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
            if (s2 < 0 || d2 < 0)
                rc = sb_error_set(w->err, SB_E_IO, "image: open %s: %s", path, strerror(errno));
            else
                rc = walk_dir(w, s2, d2, path, depth + 1);
            if (rc == 0 && (fchown(d2, st.st_uid, st.st_gid) != 0 || fchmod(d2, mode) != 0))
                rc = sb_error_set(w->err, SB_E_IO, "image: owner/mode of %s: %s", path,
                                  strerror(errno));
            if (s2 >= 0) close(s2);
            if (d2 >= 0) close(d2);
        } else if (S_ISREG(st.st_mode)) {
            int s2 = openat(sdir, names[i], O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
            int d2 =
                openat(ddir, names[i], O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
            char hex[65];
            if (s2 < 0 || d2 < 0)
                rc = sb_error_set(w->err, SB_E_IO, "image: open %s: %s", path, strerror(errno));
            else
                rc = copy_file(s2, d2, hex, w->err);
            if (rc == 0 && (fchown(d2, st.st_uid, st.st_gid) != 0 || fchmod(d2, mode) != 0))
                rc = sb_error_set(w->err, SB_E_IO, "image: owner/mode of %s: %s", path,
                                  strerror(errno));
            if (s2 >= 0) close(s2);
            if (d2 >= 0) close(d2);
            if (rc == 0) {
                ln = sb_fmt(line, sizeof(line), "f %04o %u %u %zu:%s %s\n", mode, st.st_uid,
                            st.st_gid, strlen(path), path, hex);
                rc = emit(w, line, (size_t)ln);
            }
        } else if (S_ISLNK(st.st_mode)) {
            char target[4096];
            ssize_t tl = readlinkat(sdir, names[i], target, sizeof(target) - 1);
            if (tl < 0) {
                rc = sb_error_set(w->err, SB_E_IO, "image: readlink %s: %s", path, strerror(errno));
                break;
            }
            target[tl] = 0;
            if (symlinkat(target, ddir, names[i]) != 0 ||
                fchownat(ddir, names[i], st.st_uid, st.st_gid, AT_SYMLINK_NOFOLLOW) != 0) {
                rc = sb_error_set(w->err, SB_E_IO, "image: symlink %s: %s", path, strerror(errno));
                break;
            }
            ln = sb_fmt(line, sizeof(line), "l %04o %u %u %zu:%s %zd:", 0777u, st.st_uid, st.st_gid,
                        strlen(path), path, tl);
            rc = emit(w, line, (size_t)ln);
            if (rc == 0) rc = emit(w, target, (size_t)tl);
            if (rc == 0) rc = emit(w, "\n", 1);
        } else {
            rc =
                sb_error_set(w->err, SB_E_UNSUPPORTED,
                             "image: %s is a device, fifo or socket (not allowed in images)", path);
        }
    }
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
    return rc;
}

static int rm_rf_at(int dfd, const char *name) {
    int fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) return unlinkat(dfd, name, 0);
    DIR *d = fdopendir(fd);
    if (!d) {
        close(fd);
        return -1;
    }
    struct dirent *de;
    while ((de = readdir(d)))
        if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
            (void)rm_rf_at(dirfd(d), de->d_name);
    closedir(d);
    return unlinkat(dfd, name, AT_REMOVEDIR);
}

int sb_image_import(const char *state_dir, const char *src, char **digest, sb_error *err) {
    if (!state_dir) state_dir = SB_SANDBOX_STATE_DIR;
    int sfd = open(src, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (sfd < 0)
        BAIL(err, SB_E_NOTFOUND, "image: cannot open directory %s: %s", src, strerror(errno));
    char images[4096], tmpname[64], tmp[4096 + 64];
    sb_fmt(images, sizeof(images), "%s/images", state_dir);
    int rc = sb_mkdir_p(images, 0711, err);
    if (rc < 0) {
        close(sfd);
        return rc;
    }
    uint8_t rnd[8];
    if (getentropy(rnd, sizeof(rnd)) != 0) {
        close(sfd);
        BAIL(err, SB_E_IO, "getentropy: %s", strerror(errno));
    }
    char rh[17];
    sb_hex_encode(rnd, sizeof(rnd), rh);
    sb_fmt(tmpname, sizeof(tmpname), ".import-%s", rh);
    sb_fmt(tmp, sizeof(tmp), "%s/%s", images, tmpname);
    struct walk w = {.err = err};
    sb_writer_init(&w.manifest, 256u << 20);
    int ifd = -1, rfd = -1;
    if (mkdir(tmp, 0711) != 0 || (ifd = open(tmp, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0 ||
        mkdirat(ifd, "rootfs", 0755) != 0 ||
        (rfd = openat(ifd, "rootfs", O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0) {
        rc = sb_error_set(err, SB_E_IO, "image: cannot create %s: %s", tmp, strerror(errno));
        goto out;
    }
    rc = sb_hash_ctx_new(SB_HASH_SHA256, &w.manifest_hash, err);
    if (rc < 0) goto out;
    /* the root directory's own owner and mode are part of the digest too */
    struct stat st;
    if (fstat(sfd, &st) != 0) {
        rc = sb_error_set(err, SB_E_IO, "image: stat %s: %s", src, strerror(errno));
        goto out;
    }
    char line[128];
    int ln = sb_fmt(line, sizeof(line), "sealbox-image-manifest v1\nd %04o %u %u 1:.\n",
                    st.st_mode & 07777, st.st_uid, st.st_gid);
    rc = emit(&w, line, (size_t)ln);
    if (rc == 0) rc = walk_dir(&w, sfd, rfd, ".", 0);
    if (rc == 0 && (fchown(rfd, st.st_uid, st.st_gid) != 0 || fchmod(rfd, st.st_mode & 07777) != 0))
        rc = sb_error_set(err, SB_E_IO, "image: owner/mode of the root: %s", strerror(errno));
    uint8_t d[32];
    if (rc == 0) rc = sb_hash_ctx_final(w.manifest_hash, d, err);
    if (rc < 0) goto out;
    char hex[65], final[4096 + 128], mpath[4096 + 128];
    sb_hex_encode(d, sizeof(d), hex);
    sb_fmt(mpath, sizeof(mpath), "%s/manifest", tmp);
    rc = sb_write_file_atomic(mpath, w.manifest.buf, w.manifest.len, 0644, err);
    if (rc < 0) goto out;
    sb_fmt(final, sizeof(final), "%s/%s", images, hex);
    if (rename(tmp, final) != 0) {
        if (errno != EEXIST && errno != ENOTEMPTY) {
            rc = sb_error_set(err, SB_E_IO, "image: rename to %s: %s", final, strerror(errno));
            goto out;
        }
        /* the same content was imported before: keep the existing copy */
    }
    size_t dl = strlen("sha256:") + 64 + 1;
    *digest = malloc(dl);
    if (!*digest) {
        rc = sb_error_set(err, SB_E_INTERNAL, "out of memory");
        goto out;
    }
    sb_fmt(*digest, dl, "sha256:%s", hex);
out:
    if (w.manifest_hash) sb_hash_ctx_free(w.manifest_hash);
    sb_writer_free(&w.manifest);
    if (rfd >= 0) close(rfd);
    if (ifd >= 0) close(ifd);
    close(sfd);
    int ifd2 = open(images, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (ifd2 >= 0) {
        (void)rm_rf_at(ifd2, tmpname); /* gone after a rename; the leftovers of a failure */
        close(ifd2);
    }
    return rc;
}

int sb_image_resolve(const char *state_dir, const char *image, char **lower, char **digest,
                     bool *host, sb_error *err) {
    if (!image || strcmp(image, "host") == 0) {
        struct stat st;
        if (stat("/usr", &st) != 0 || !S_ISDIR(st.st_mode))
            BAIL(err, SB_E_NOTFOUND, "image: the host has no /usr directory");
        *lower = strdup("/usr");
        *digest = strdup(SB_IMAGE_HOST_DIGEST);
        if (!*lower || !*digest) {
            free(*lower);
            free(*digest);
            BAIL(err, SB_E_INTERNAL, "out of memory");
        }
        *host = true;
        return 0;
    }
    /* "sha256:<hex>" or a unique hex prefix of at least 12 digits */
    const char *hex = strncmp(image, "sha256:", 7) == 0 ? image + 7 : image;
    size_t hl = strlen(hex);
    if (hl < 12 || hl > 64 || strspn(hex, "0123456789abcdef") != hl)
        BAIL(err, SB_E_NOTFOUND,
             "image: '%s' not found (use 'host', or sha256:<digest> from 'sealbox image import')",
             image);
    char images[4096];
    sb_fmt(images, sizeof(images), "%s/images", state_dir);
    DIR *d = opendir(images);
    char found[65] = "";
    int matches = 0;
    struct dirent *de;
    while (d && (de = readdir(d)))
        if (strlen(de->d_name) == 64 && strncmp(de->d_name, hex, hl) == 0) {
            sb_fmt(found, sizeof(found), "%s", de->d_name);
            matches++;
        }
    if (d) closedir(d);
    if (matches == 0) BAIL(err, SB_E_NOTFOUND, "image: '%s' not found in %s", image, images);
    if (matches > 1) BAIL(err, SB_E_USAGE, "image: '%s' is ambiguous; give more digits", image);
    char p[4096 + 128];
    sb_fmt(p, sizeof(p), "%s/%s/rootfs", images, found);
    *lower = strdup(p);
    size_t dl = strlen("sha256:") + 65;
    *digest = malloc(dl);
    if (!*lower || !*digest) {
        free(*lower);
        free(*digest);
        BAIL(err, SB_E_INTERNAL, "out of memory");
    }
    sb_fmt(*digest, dl, "sha256:%s", found);
    *host = false;
    return 0;
}
