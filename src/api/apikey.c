/* apikey: API keys (shape, generation, keyed hash) and the monitor's HMAC secret file, plus the
 * state directory they live in. */
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "../crypto/crypto.h"
#include "api.h"

#define PREFIX "sbk_"
#define PREFIX_LEN 4
#define HEXID_LEN 12
#define B64_LEN 43 /* 32 bytes, base64url without padding */

static bool is_hex_lower(char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); }
static bool is_b64url(char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '_';
}

bool sb_apikey_well_formed(const char *s, size_t n) {
    _Static_assert(PREFIX_LEN + HEXID_LEN + 1 + B64_LEN == SB_APIKEY_LEN, "key layout");
    _Static_assert(PREFIX_LEN + HEXID_LEN == SB_APIKEY_ID_LEN, "id layout");
    if (!s || n != SB_APIKEY_LEN) return false;
    if (memcmp(s, PREFIX, PREFIX_LEN) != 0) return false;
    for (size_t i = PREFIX_LEN; i < SB_APIKEY_ID_LEN; i++)
        if (!is_hex_lower(s[i])) return false;
    if (s[SB_APIKEY_ID_LEN] != '_') return false;
    for (size_t i = SB_APIKEY_ID_LEN + 1; i < SB_APIKEY_LEN; i++)
        if (!is_b64url(s[i])) return false;
    /* 43 characters carry 258 bits; the last one may only use the 4 bits a 32-byte value
     * leaves, so every key has exactly one spelling. */
    return strchr("AEIMQUYcgkosw048", s[SB_APIKEY_LEN - 1]) != NULL;
}

int sb_apikey_generate(char out[SB_APIKEY_LEN + 1], char id[SB_APIKEY_ID_LEN + 1], sb_error *err) {
    uint8_t idb[HEXID_LEN / 2], sec[32];
    TRY(sb_random(idb, sizeof(idb), err));
    int r = sb_random(sec, sizeof(sec), err);
    if (r < 0) return r;
    char hex[HEXID_LEN + 1];
    sb_hex_encode(idb, sizeof(idb), hex);
    char *b64 = sb_base64url_encode(sec, sizeof(sec));
    sb_wipe(sec, sizeof(sec));
    ENSURE(b64, err, SB_E_INTERNAL, "apikey: out of memory");
    if (strlen(b64) != B64_LEN) {
        sb_wipe(b64, strlen(b64));
        free(b64);
        BAIL(err, SB_E_INTERNAL, "apikey: unexpected encoding length");
    }
    (void)snprintf(out, SB_APIKEY_LEN + 1, PREFIX "%s_%s", hex, b64);
    (void)snprintf(id, SB_APIKEY_ID_LEN + 1, PREFIX "%s", hex);
    sb_wipe(b64, B64_LEN);
    free(b64);
    return 0;
}

int sb_apikey_hash(const uint8_t *secret, const char *key, size_t n, uint8_t out[32],
                   sb_error *err) {
    return sb_hmac(SB_HASH_SHA256, secret, SB_APIKEY_SECRET_LEN, key, n, out, err);
}

int sb_apikey_secret_load(const char *state_dir, uint8_t **out, sb_error *err) {
    char path[4096];
    int k = snprintf(path, sizeof(path), "%s/%s", state_dir, SB_APIKEY_SECRET_FILE);
    ENSURE(k > 0 && (size_t)k < sizeof(path), err, SB_E_USAGE, "state dir path too long");
    uint8_t *sec = sb_secret_alloc(SB_APIKEY_SECRET_LEN);
    ENSURE(sec, err, SB_E_INTERNAL, "apikey: cannot allocate secret memory");
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0 && errno == ENOENT) {
        /* First start: make one. O_EXCL so two racing starts cannot both write. */
        int r = sb_random(sec, SB_APIKEY_SECRET_LEN, err);
        if (r < 0) {
            sb_secret_free(sec, SB_APIKEY_SECRET_LEN);
            return r;
        }
        int wfd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
        if (wfd >= 0) {
            ssize_t w = write(wfd, sec, SB_APIKEY_SECRET_LEN);
            int ok = w == (ssize_t)SB_APIKEY_SECRET_LEN && fsync(wfd) == 0;
            int e = errno;
            (void)close(wfd);
            if (!ok) {
                (void)unlink(path);
                sb_secret_free(sec, SB_APIKEY_SECRET_LEN);
                BAIL(err, SB_E_IO, "%s: cannot write: %s", path, strerror(e));
            }
            *out = sec;
            return 0;
        }
        if (errno != EEXIST) {
            int e = errno;
            sb_secret_free(sec, SB_APIKEY_SECRET_LEN);
            BAIL(err, SB_E_IO, "%s: %s", path, strerror(e));
        }
        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    }
    if (fd < 0) {
        int e = errno;
        sb_secret_free(sec, SB_APIKEY_SECRET_LEN);
        BAIL(err, SB_E_IO, "%s: %s", path, strerror(e));
    }
    struct stat st;
    int r = 0;
    if (fstat(fd, &st) < 0)
        r = sb_error_set(err, SB_E_IO, "%s: %s", path, strerror(errno));
    else if (!S_ISREG(st.st_mode))
        r = sb_error_set(err, SB_E_IO, "%s: not a regular file", path);
    else if (st.st_mode & 077)
        r = sb_error_set(err, SB_E_POLICY,
                         "%s: mode %03o: group or others can read it; "
                         "chmod 600 it (and consider rotating every key)",
                         path, (unsigned)(st.st_mode & 0777));
    else if (st.st_uid != geteuid())
        r = sb_error_set(err, SB_E_POLICY, "%s: owned by uid %u, not by us", path,
                         (unsigned)st.st_uid);
    else if (st.st_size != SB_APIKEY_SECRET_LEN)
        r = sb_error_set(err, SB_E_MALFORMED, "%s: %lld bytes, expected %d", path,
                         (long long)st.st_size, SB_APIKEY_SECRET_LEN);
    if (r == 0) {
        size_t got = 0;
        while (got < SB_APIKEY_SECRET_LEN) {
            ssize_t n = read(fd, sec + got, SB_APIKEY_SECRET_LEN - got);
            if (n < 0 && errno == EINTR) continue;
            if (n <= 0) break;
            got += (size_t)n;
        }
        if (got != SB_APIKEY_SECRET_LEN) r = sb_error_set(err, SB_E_IO, "%s: short read", path);
    }
    (void)close(fd);
    if (r < 0) {
        sb_secret_free(sec, SB_APIKEY_SECRET_LEN);
        return r;
    }
    *out = sec;
    return 0;
}

int sb_default_state_dir(char *buf, size_t cap, sb_error *err) {
    int k;
    if (geteuid() == 0) {
        k = snprintf(buf, cap, "/var/lib/sealbox");
    } else {
        const char *x = getenv("XDG_STATE_HOME");
        if (x && x[0] == '/') {
            k = snprintf(buf, cap, "%s/sealbox", x);
        } else {
            const char *home = getenv("HOME");
            if (!home || home[0] != '/') {
                struct passwd *pw = getpwuid(geteuid());
                home = pw ? pw->pw_dir : NULL;
            }
            ENSURE(home, err, SB_E_USAGE, "no home directory: pass --state-dir");
            k = snprintf(buf, cap, "%s/.local/state/sealbox", home);
        }
    }
    ENSURE(k > 0 && (size_t)k < cap, err, SB_E_USAGE, "state dir path too long");
    return 0;
}

static int mkdir_p(const char *dir, mode_t mode, sb_error *err) {
    char tmp[4096];
    int k = snprintf(tmp, sizeof(tmp), "%s", dir);
    ENSURE(k > 0 && (size_t)k < sizeof(tmp), err, SB_E_USAGE, "path too long");
    for (char *p = tmp + 1; *p; p++) {
        if (*p != '/') continue;
        *p = '\0';
        if (mkdir(tmp, 0755) < 0 && errno != EEXIST)
            BAIL(err, SB_E_IO, "%s: %s", tmp, strerror(errno));
        *p = '/';
    }
    if (mkdir(tmp, mode) < 0 && errno != EEXIST) BAIL(err, SB_E_IO, "%s: %s", tmp, strerror(errno));
    return 0;
}

int sb_state_dir_prepare(const char *dir, sb_error *err) {
    ENSURE(dir && dir[0], err, SB_E_USAGE, "no state directory");
    TRY(mkdir_p(dir, 0711, err));
    struct stat st;
    if (lstat(dir, &st) < 0) BAIL(err, SB_E_IO, "%s: %s", dir, strerror(errno));
    ENSURE(S_ISDIR(st.st_mode), err, SB_E_IO, "%s: not a directory", dir);
    ENSURE(st.st_uid == geteuid(), err, SB_E_POLICY, "%s: owned by uid %u, not by us", dir,
           (unsigned)st.st_uid);
    ENSURE(!(st.st_mode & 022), err, SB_E_POLICY,
           "%s: mode %03o lets others write into it; chmod 711 it", dir,
           (unsigned)(st.st_mode & 0777));
    return 0;
}
