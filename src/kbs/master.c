/* master: the KBS master key (a 0600 file in the state directory, held only by the daemon's
 * monitor) and the resources sealed under it — AES-256-GCM with a random IV, the AAD binding
 * each blob to its path and key id so blobs cannot be swapped — and master-key rotation. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "crypto/crypto.h"
#include "kbs.h"

#define IV_LEN 12
#define AAD_MAX (SB_KBS_PATH_MAX + SB_KBS_KEY_ID_MAX + 32)

static int key_path(const char *dir, const char *suffix, char *out, size_t cap, sb_error *err) {
    int k = snprintf(out, cap, "%s/%s%s", dir, SB_KBS_MASTER_KEY_FILE, suffix);
    ENSURE(k > 0 && (size_t)k < cap, err, SB_E_USAGE, "kbs: state dir path too long");
    return 0;
}

static int key_id(const uint8_t *key, char id[17], sb_error *err) {
    static const char LABEL[] = "sealbox kbs master key id";
    uint8_t mac[32];
    TRY(sb_hmac(SB_HASH_SHA256, key, SB_KBS_MASTER_LEN, LABEL, sizeof(LABEL) - 1, mac, err));
    sb_hex_encode(mac, 8, id);
    return 0;
}

void sb_kbs_master_clear(sb_kbs_master *m) {
    if (!m) return;
    if (m->key) sb_secret_free(m->key, SB_KBS_MASTER_LEN);
    memset(m, 0, sizeof(*m));
}

static const struct sb_keyfile_rules MASTER_RULES = {
    SB_KBS_MASTER_LEN, SB_KBS_MASTER_LEN, "the KBS master key",
    "chmod 600 it and rotate it (sealbox kbs rotate-master-key)", 0};

/* Reads a key file: a regular file of exactly 32 bytes, owned by us, mode 0600 or stricter. */
static int read_key(const char *path, sb_kbs_master *out, sb_error *err) {
    size_t n = 0;
    sb_kbs_master m = {0};
    TRY(sb_keyfile_read(path, &MASTER_RULES, &m.key, &n, err));
    int r = key_id(m.key, m.id, err);
    if (r < 0) {
        sb_kbs_master_clear(&m);
        return r;
    }
    *out = m;
    return 0;
}

/* Writes a fresh random key to path, never replacing one (SB_E_POLICY if there is one). */
static int create_key(const char *path, sb_kbs_master *out, sb_error *err) {
    sb_kbs_master m = {.key = sb_secret_alloc(SB_KBS_MASTER_LEN)};
    ENSURE(m.key, err, SB_E_INTERNAL, "out of memory");
    int r = sb_random(m.key, SB_KBS_MASTER_LEN, err);
    if (r == 0) r = key_id(m.key, m.id, err);
    if (r == 0) r = sb_keyfile_create(path, m.key, SB_KBS_MASTER_LEN, NULL, err);
    if (r < 0) {
        sb_kbs_master_clear(&m);
        return r;
    }
    *out = m;
    return 0;
}

/* True when some stored resource was sealed under key id. */
static int any_sealed_with(sb_store *st, const char *id, bool *out, sb_error *err) {
    sb_kbs_resource_rec *v = NULL;
    size_t n = 0;
    TRY(sb_store_kbs_resource_list(st, &v, &n, err));
    *out = false;
    for (size_t i = 0; i < n; i++)
        if (strcmp(v[i].key_id, id) == 0) *out = true;
    sb_kbs_recs_free(v, n);
    return 0;
}

int sb_kbs_master_load(const char *dir, sb_store *st, sb_kbs_master *out, sb_error *err) {
    char path[4096], npath[4096];
    TRY(key_path(dir, "", path, sizeof(path), err));
    TRY(key_path(dir, ".new", npath, sizeof(npath), err));
    /* An interrupted rotation: the new key is the real one only if resources use it. */
    sb_kbs_master nk;
    int r = read_key(npath, &nk, err);
    if (r == 0) {
        bool used = false;
        r = any_sealed_with(st, nk.id, &used, err);
        sb_kbs_master_clear(&nk);
        if (r < 0) return r;
        if (used && rename(npath, path) < 0)
            BAIL(err, SB_E_IO, "%s: cannot finish the rotation: %s", npath, strerror(errno));
        if (!used) (void)unlink(npath);
    } else if (r != SB_E_NOTFOUND) {
        return r;
    }
    sb_error_clear(err);
    r = read_key(path, out, err);
    if (r != SB_E_NOTFOUND) return r;
    /* First start. A database that already holds sealed resources without the key that sealed
     * them is not silently given a new one. */
    sb_kbs_resource_rec *v = NULL;
    size_t n = 0;
    TRY(sb_store_kbs_resource_list(st, &v, &n, err));
    sb_kbs_recs_free(v, n);
    ENSURE(n == 0, err, SB_E_NOTFOUND,
           "%s is missing but the database holds %zu sealed resource(s): restore the key file",
           path, n);
    sb_error_clear(err);
    r = create_key(path, out, err);
    if (r == SB_E_POLICY) return read_key(path, out, err); /* a concurrent start made it */
    return r;
}

static size_t make_aad(const char *path, const char *id, char aad[AAD_MAX]) {
    int k = snprintf(aad, AAD_MAX, "sealbox-kbs-resource-v1|%s|%s", path, id);
    return k > 0 && k < AAD_MAX ? (size_t)k : 0;
}

static int seal(const sb_kbs_master *m, const char *path, const uint8_t *value, size_t n,
                uint8_t **blob, size_t *blen, sb_error *err) {
    ENSURE(n <= SB_KBS_RESOURCE_MAX, err, SB_E_LIMIT, "kbs: resource of %zu bytes (max %u)", n,
           SB_KBS_RESOURCE_MAX);
    char aad[AAD_MAX];
    size_t alen = make_aad(path, m->id, aad);
    ENSURE(alen, err, SB_E_USAGE, "kbs: path too long");
    size_t len = IV_LEN + n + SB_GCM_TAG_LEN;
    uint8_t *b = malloc(len);
    ENSURE(b, err, SB_E_INTERNAL, "out of memory");
    int r = sb_random(b, IV_LEN, err);
    if (r == 0)
        r = sb_aes256gcm_seal(m->key, b, IV_LEN, (const uint8_t *)aad, alen, value, n, b + IV_LEN,
                              b + IV_LEN + n, err);
    if (r < 0) {
        free(b);
        return r;
    }
    *blob = b;
    *blen = len;
    return 0;
}

int sb_kbs_resource_put(sb_store *st, const sb_kbs_master *m, const char *path,
                        const uint8_t *value, size_t n, sb_error *err) {
    ENSURE(sb_store_kbs_path_valid(path), err, SB_E_MALFORMED,
           "kbs: resource path '%.200s' is not repo/type/tag", path);
    uint8_t *blob = NULL;
    size_t blen = 0;
    TRY(seal(m, path, value, n, &blob, &blen, err));
    int r = sb_store_kbs_resource_put(st, path, m->id, blob, blen, n, err);
    free(blob);
    return r;
}

static int open_rec(const sb_kbs_master *m, const sb_kbs_resource_rec *rec, uint8_t **value,
                    size_t *n, sb_error *err) {
    ENSURE(strcmp(rec->key_id, m->id) == 0, err, SB_E_USAGE,
           "kbs: resource %s was sealed by master key %s, not by the loaded key %s", rec->path,
           rec->key_id, m->id);
    ENSURE(rec->blob_len >= IV_LEN + SB_GCM_TAG_LEN &&
               rec->blob_len - IV_LEN - SB_GCM_TAG_LEN == rec->size,
           err, SB_E_MALFORMED, "kbs: resource %s: sealed blob of %zu bytes for %zu", rec->path,
           rec->blob_len, rec->size);
    char aad[AAD_MAX];
    size_t alen = make_aad(rec->path, rec->key_id, aad);
    uint8_t *out = sb_secret_alloc(rec->size + 1);
    ENSURE(out, err, SB_E_INTERNAL, "out of memory");
    int r =
        sb_aes256gcm_open(m->key, rec->blob, IV_LEN, (const uint8_t *)aad, alen, rec->blob + IV_LEN,
                          rec->size, rec->blob + IV_LEN + rec->size, out, err);
    if (r < 0) {
        sb_secret_free(out, rec->size + 1);
        return sb_error_prefix(err, "kbs: resource %s does not open under the master key",
                               rec->path);
    }
    out[rec->size] = 0;
    *value = out;
    *n = rec->size;
    return 0;
}

int sb_kbs_resource_get(sb_store *st, const sb_kbs_master *m, const char *path, uint8_t **value,
                        size_t *n, sb_error *err) {
    sb_kbs_resource_rec rec;
    TRY(sb_store_kbs_resource_get(st, path, &rec, err));
    int r = open_rec(m, &rec, value, n, err);
    sb_kbs_rec_clear(&rec);
    return r;
}

int sb_kbs_rotate_master_key(const char *dir, sb_store *st, size_t *count, sb_error *err) {
    sb_kbs_master old = {0}, nk = {0};
    TRY(sb_kbs_master_load(dir, st, &old, err));
    char path[4096], npath[4096];
    int r = key_path(dir, "", path, sizeof(path), err);
    if (r == 0) r = key_path(dir, ".new", npath, sizeof(npath), err);
    if (r == 0) r = create_key(npath, &nk, err);
    sb_kbs_resource_rec *v = NULL;
    size_t n = 0;
    bool txn = false;
    if (r == 0) r = sb_store_begin(st, err);
    if (r == 0) txn = true;
    if (r == 0) r = sb_store_kbs_resource_list(st, &v, &n, err);
    for (size_t i = 0; r == 0 && i < n; i++) {
        uint8_t *val = NULL;
        size_t len = 0;
        r = open_rec(&old, &v[i], &val, &len, err);
        if (r == 0) r = sb_kbs_resource_put(st, &nk, v[i].path, val, len, err);
        if (val) sb_secret_free(val, len + 1);
    }
    if (r == 0) r = sb_store_commit(st, err);
    if (r < 0 && txn) sb_store_rollback(st);
    if (r < 0 && nk.key) (void)unlink(npath);
    /* Committed: the new key is the only one that opens the resources now. */
    if (r == 0 && rename(npath, path) < 0)
        r = sb_error_set(err, SB_E_IO,
                         "%s: cannot replace the old key (%s); the next start finishes it", path,
                         strerror(errno));
    sb_kbs_recs_free(v, n);
    sb_kbs_master_clear(&old);
    sb_kbs_master_clear(&nk);
    if (r == 0) *count = n;
    return r;
}
