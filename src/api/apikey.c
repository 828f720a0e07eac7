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

static const struct sb_keyfile_rules SECRET_RULES = {
    SB_APIKEY_SECRET_LEN, SB_APIKEY_SECRET_LEN, "the API key secret",
    "chmod 600 it (and consider rotating every key)", 0};

int sb_apikey_secret_load(const char *state_dir, uint8_t **out, sb_error *err) {
    char path[4096];
    int k = snprintf(path, sizeof(path), "%s/%s", state_dir, SB_APIKEY_SECRET_FILE);
    ENSURE(k > 0 && (size_t)k < sizeof(path), err, SB_E_USAGE, "state dir path too long");
    uint8_t *sec = NULL;
    size_t n = 0;
    int r = sb_keyfile_read(path, &SECRET_RULES, &sec, &n, err);
    if (r != SB_E_NOTFOUND) {
        if (r == 0) *out = sec;
        return r;
    }
    /* First start: make one; a racing start may make it first, and then both use that one. */
    uint8_t *fresh = sb_secret_alloc(SB_APIKEY_SECRET_LEN);
    ENSURE(fresh, err, SB_E_INTERNAL, "apikey: cannot allocate secret memory");
    bool existed = false;
    r = sb_random(fresh, SB_APIKEY_SECRET_LEN, err);
    if (r == 0) r = sb_keyfile_create(path, fresh, SB_APIKEY_SECRET_LEN, &existed, err);
    sb_secret_free(fresh, SB_APIKEY_SECRET_LEN);
    TRY(r);
    TRY(sb_keyfile_read(path, &SECRET_RULES, &sec, &n, err));
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
