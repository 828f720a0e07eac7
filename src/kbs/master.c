/* master: the KBS master key — sealed to the TPM under a PCR policy when one is configured
 * (kbs-master.sealed), else a 0600 file (kbs-master.key) — held only by the daemon's monitor,
 * the resources sealed under it (AES-256-GCM with a random IV, the AAD binding each blob to its
 * path and key id so blobs cannot be swapped), and master-key rotation. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "attester/attester.h"
#include "crypto/crypto.h"
#include "evidence/evidence.h"
#include "kbs.h"

#define IV_LEN 12
#define AAD_MAX (SB_KBS_PATH_MAX + SB_KBS_KEY_ID_MAX + 32)

static int key_path(const char *dir, const char *name, const char *suffix, char *out, size_t cap,
                    sb_error *err) {
    int k = snprintf(out, cap, "%s/%s%s", dir, name, suffix);
    ENSURE(k > 0 && (size_t)k < cap, err, SB_E_USAGE, "kbs: state dir path too long");
    return 0;
}

static const char *key_name(const struct sb_kbs_master_tpm *tpm) {
    return tpm ? SB_KBS_MASTER_SEALED_FILE : SB_KBS_MASTER_KEY_FILE;
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

static bool exists(const char *path) {
    struct stat st;
    return lstat(path, &st) == 0;
}

/* Reads a file that must be private (sb_keyfile_read: regular, owned by us, mode 0600 or
 * stricter, of min..max bytes; what names it in errors) into buf. */
static int read_private(const char *path, const char *what, size_t min, size_t max, uint8_t *buf,
                        size_t *n, sb_error *err) {
    const struct sb_keyfile_rules rules = {
        min, max, what, "chmod 600 it and rotate it (sealbox kbs rotate-master-key)", 0};
    uint8_t *p = NULL;
    size_t len = 0;
    TRY(sb_keyfile_read(path, &rules, &p, &len, err));
    memcpy(buf, p, len);
    sb_secret_free(p, len + 1);
    *n = len;
    return 0;
}

/* Writes a new private file, whole or not at all, never replacing one (SB_E_POLICY). */
static int write_excl(const char *path, const uint8_t *p, size_t n, sb_error *err) {
    return sb_keyfile_create(path, p, n, NULL, err);
}

static int tpm_open(const struct sb_kbs_master_tpm *tpm, sb_tpm **t, sb_error *err) {
    struct sb_tpm_config c = {.tcti = tpm->tcti};
    int r = sb_tpm_open(&c, t, err);
    return r < 0 ? sb_error_prefix(err, "master key: TPM") : 0;
}

/* Reads the key at path: the raw key file, or (tpm) the sealed blob, unsealed by the TPM. */
static int read_key(const char *path, const struct sb_kbs_master_tpm *tpm, sb_kbs_master *out,
                    sb_error *err) {
    sb_kbs_master m = {.key = sb_secret_alloc(SB_KBS_MASTER_LEN)};
    ENSURE(m.key, err, SB_E_INTERNAL, "out of memory");
    size_t n = 0;
    int r;
    if (!tpm) {
        r = read_private(path, "the KBS master key", SB_KBS_MASTER_LEN, SB_KBS_MASTER_LEN, m.key,
                         &n, err);
    } else {
        uint8_t blob[SB_TPM_MAX_SEALED_BLOB];
        sb_tpm *t = NULL;
        r = read_private(path, "the sealed KBS master key", 1, sizeof(blob), blob, &n, err);
        if (r == 0) r = tpm_open(tpm, &t, err);
        if (r == 0 && (r = sb_tpm_unseal(t, blob, n, m.key, err)) < 0)
            r = sb_error_prefix(err, "master key %s", path);
        sb_tpm_close(t);
    }
    if (r == 0) r = key_id(m.key, m.id, err);
    if (r < 0) {
        sb_kbs_master_clear(&m);
        return r;
    }
    *out = m;
    return 0;
}

/* Writes key to path (never over a file): the raw 32 bytes, or (tpm) sealed under PolicyPCR. */
static int write_key(const char *path, const struct sb_kbs_master_tpm *tpm, const uint8_t *key,
                     sb_error *err) {
    if (!tpm) return write_excl(path, key, SB_KBS_MASTER_LEN, err);
    sb_tpm *t = NULL;
    uint8_t *blob = NULL;
    size_t n = 0;
    int r = tpm_open(tpm, &t, err);
    if (r == 0 && (r = sb_tpm_seal(t, key, tpm->bank ? tpm->bank : SB_TPM_ALG_SHA256,
                                   tpm->pcrs ? tpm->pcrs : SB_KBS_MASTER_TPM_PCRS_DEFAULT, &blob,
                                   &n, err)) < 0)
        r = sb_error_prefix(err, "master key %s", path);
    sb_tpm_close(t);
    if (r == 0) r = write_excl(path, blob, n, err);
    free(blob);
    return r;
}

/* A fresh random key, written to path (never over a file). */
static int create_key(const char *path, const struct sb_kbs_master_tpm *tpm, sb_kbs_master *out,
                      sb_error *err) {
    sb_kbs_master m = {.key = sb_secret_alloc(SB_KBS_MASTER_LEN)};
    ENSURE(m.key, err, SB_E_INTERNAL, "out of memory");
    int r = sb_random(m.key, SB_KBS_MASTER_LEN, err);
    if (r == 0) r = key_id(m.key, m.id, err);
    if (r == 0) r = write_key(path, tpm, m.key, err);
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

/* An interrupted rotation: <key>.new is the real key only if resources use it. */
static int finish_rotation(const char *dir, const struct sb_kbs_master_tpm *tpm, sb_store *st,
                           sb_error *err) {
    char path[4096], npath[4096];
    TRY(key_path(dir, key_name(tpm), "", path, sizeof(path), err));
    TRY(key_path(dir, key_name(tpm), ".new", npath, sizeof(npath), err));
    sb_kbs_master nk = {0};
    int r = read_key(npath, tpm, &nk, err);
    if (r == SB_E_NOTFOUND) {
        sb_error_clear(err);
        return 0;
    }
    TRY(r);
    bool used = false;
    r = any_sealed_with(st, nk.id, &used, err);
    sb_kbs_master_clear(&nk);
    TRY(r);
    if (used && rename(npath, path) < 0)
        BAIL(err, SB_E_IO, "%s: cannot finish the rotation: %s", npath, strerror(errno));
    if (!used) (void)unlink(npath);
    return 0;
}

/* The key file a migration to the TPM left behind: removed when it holds the sealed key,
 * refused when it holds another. */
static int drop_plain(const char *plain, const sb_kbs_master *sealed, sb_error *err) {
    sb_kbs_master fk = {0};
    int r = read_key(plain, NULL, &fk, err);
    if (r == SB_E_NOTFOUND) {
        sb_error_clear(err);
        return 0;
    }
    TRY(r);
    bool same = sb_ct_equal(fk.key, sealed->key, SB_KBS_MASTER_LEN);
    sb_kbs_master_clear(&fk);
    ENSURE(same, err, SB_E_POLICY,
           "%s holds another key than the TPM-sealed one (id %s): move away the one that does not "
           "open the resources",
           plain, sealed->id);
    if (unlink(plain) < 0)
        BAIL(err, SB_E_IO, "%s: cannot remove the key file now sealed to the TPM: %s", plain,
             strerror(errno));
    return 0;
}

int sb_kbs_master_load_at(const char *dir, const struct sb_kbs_master_tpm *tpm, sb_store *st,
                          sb_kbs_master *out, sb_error *err) {
    char plain[4096], sealed[4096];
    TRY(key_path(dir, SB_KBS_MASTER_KEY_FILE, "", plain, sizeof(plain), err));
    TRY(key_path(dir, SB_KBS_MASTER_SEALED_FILE, "", sealed, sizeof(sealed), err));
    /* Never a new key file beside a sealed key (whatever the database holds). */
    ENSURE(tpm || !exists(sealed), err, SB_E_POLICY,
           "%s: the KBS master key is sealed to a TPM: name it (sealboxd --kbs-master-tpm TCTI, "
           "sealbox kbs rotate-master-key --tpm TCTI)",
           sealed);
    /* A rotation of the key file (also one from before the TPM was configured), then one of
     * the sealed key. */
    TRY(finish_rotation(dir, NULL, st, err));
    if (tpm) TRY(finish_rotation(dir, tpm, st, err));
    const char *path = tpm ? sealed : plain;
    int r = read_key(path, tpm, out, err);
    if (r == 0 && tpm && (r = drop_plain(plain, out, err)) < 0) sb_kbs_master_clear(out);
    if (r != SB_E_NOTFOUND) return r;
    sb_error_clear(err);
    if (tpm) {
        /* A key file from before the TPM was configured: sealed, then the file goes. */
        sb_kbs_master fk = {0};
        r = read_key(plain, NULL, &fk, err);
        if (r == 0) {
            r = write_key(sealed, tpm, fk.key, err);
            if (r == 0) r = drop_plain(plain, &fk, err);
            if (r < 0) {
                sb_kbs_master_clear(&fk);
                return r;
            }
            *out = fk;
            return 0;
        }
        if (r != SB_E_NOTFOUND) return r;
        sb_error_clear(err);
    }
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
    r = create_key(path, tpm, out, err);
    if (r == SB_E_POLICY) return read_key(path, tpm, out, err); /* a concurrent start made it */
    return r;
}

int sb_kbs_master_load(const char *dir, sb_store *st, sb_kbs_master *out, sb_error *err) {
    return sb_kbs_master_load_at(dir, NULL, st, out, err);
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

int sb_kbs_rotate_master_key_at(const char *dir, const struct sb_kbs_master_tpm *tpm, sb_store *st,
                                size_t *count, sb_error *err) {
    sb_kbs_master old = {0}, nk = {0};
    TRY(sb_kbs_master_load_at(dir, tpm, st, &old, err));
    char path[4096], npath[4096];
    int r = key_path(dir, key_name(tpm), "", path, sizeof(path), err);
    if (r == 0) r = key_path(dir, key_name(tpm), ".new", npath, sizeof(npath), err);
    if (r == 0) r = create_key(npath, tpm, &nk, err);
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

int sb_kbs_rotate_master_key(const char *dir, sb_store *st, size_t *count, sb_error *err) {
    return sb_kbs_rotate_master_key_at(dir, NULL, st, count, err);
}
