/* software: the development attester — a P-384 key in the state directory signs the binding
 * (docs/secrets.md, "Software evidence"). Anyone who can read the key can forge evidence, so
 * the verifier marks every result insecure and policies refuse it unless allow_insecure. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "crypto/crypto.h"
#include "internal.h"

#define KEY_PEM_MAX 8192

struct sw {
    sb_privkey *key;
    json_t *jwk;
};

static int sw_evidence(sb_attester *a, const uint8_t rd[SB_REPORT_DATA_LEN], const json_t *rt,
                       json_t **evidence, sb_error *err) {
    (void)rt;
    struct sw *s = a->state;
    char hex[2 * SB_REPORT_DATA_LEN + 1];
    sb_hex_encode(rd, SB_REPORT_DATA_LEN, hex);
    json_t *ev = json_pack("{s:i, s:s, s:O}", "sealbox-software-evidence", 1, "report_data", hex,
                           "key", s->jwk);
    ENSURE(ev, err, SB_E_INTERNAL, "software attester: out of memory");
    char *tbs = NULL;
    size_t tbs_len = 0;
    uint8_t *sig = NULL;
    size_t sig_len = 0;
    int rc = sb_json_canonical(ev, &tbs, &tbs_len, err);
    if (rc == 0)
        rc = sb_sign(s->key, SB_HASH_SHA384, tbs, tbs_len, SB_ECDSA_RAW_BE, &sig, &sig_len, err);
    char *b64 = rc == 0 ? sb_base64url_encode(sig, sig_len) : NULL;
    if (rc == 0 && (!b64 || json_object_set_new(ev, "signature", json_string(b64)) < 0))
        rc = sb_error_set(err, SB_E_INTERNAL, "software attester: out of memory");
    free(tbs);
    free(sig);
    free(b64);
    if (rc < 0) {
        json_decref(ev);
        return rc;
    }
    *evidence = ev;
    return 0;
}

static void sw_free(sb_attester *a) {
    struct sw *s = a->state;
    if (!s) return;
    sb_privkey_free(s->key);
    json_decref(s->jwk);
    free(s);
}

static const struct sb_attester_ops SW_OPS = {sw_evidence, sw_free};

/* Creates the key file (O_EXCL: never replaces one that appeared meanwhile). */
static int create_key(const char *path, sb_error *err) {
    sb_privkey *k = NULL;
    TRY(sb_privkey_generate_ec(SB_CURVE_P384, &k, err));
    char *pem = NULL;
    int rc = sb_privkey_to_pem(k, &pem, err);
    sb_privkey_free(k);
    TRY(rc);
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0) {
        rc = errno == EEXIST ? 0
                             : sb_error_set(err, SB_E_IO, "software attester: create %s: %s", path,
                                            strerror(errno));
    } else {
        size_t n = strlen(pem);
        ssize_t w = write(fd, pem, n);
        if (w != (ssize_t)n || fsync(fd) != 0)
            rc = sb_error_set(err, SB_E_IO, "software attester: write %s: %s", path,
                              strerror(errno));
        close(fd);
        if (rc < 0) (void)unlink(path);
    }
    sb_wipe(pem, strlen(pem));
    free(pem);
    return rc;
}

int sb_attester_open_software(const char *key_path, sb_attester **out, sb_error *err) {
    ENSURE(key_path && *key_path, err, SB_E_USAGE, "software attester: no key path");
    struct stat st;
    if (lstat(key_path, &st) != 0) {
        if (errno != ENOENT)
            BAIL(err, SB_E_IO, "software attester: %s: %s", key_path, strerror(errno));
        TRY(create_key(key_path, err));
        if (lstat(key_path, &st) != 0)
            BAIL(err, SB_E_IO, "software attester: %s: %s", key_path, strerror(errno));
    }
    ENSURE(S_ISREG(st.st_mode), err, SB_E_USAGE, "software attester: %s is not a regular file",
           key_path);
    ENSURE((st.st_mode & 077) == 0, err, SB_E_USAGE,
           "software attester: %s is readable by group or others (mode %03o; want 0600)", key_path,
           (unsigned)(st.st_mode & 0777));
    uint8_t *pem = NULL;
    size_t n = 0;
    TRY(sb_read_file(key_path, KEY_PEM_MAX, &pem, &n, err));
    struct sw *s = calloc(1, sizeof(*s));
    int rc = s ? sb_privkey_from_pem(pem, n, &s->key, err)
               : sb_error_set(err, SB_E_INTERNAL, "software attester: out of memory");
    sb_wipe(pem, n);
    free(pem);
    if (rc == 0 && sb_privkey_type(s->key) != SB_KEY_EC)
        rc =
            sb_error_set(err, SB_E_UNSUPPORTED, "software attester: %s is not an EC key", key_path);
    sb_pubkey *pub = NULL;
    if (rc == 0) rc = sb_privkey_public(s->key, &pub, err);
    if (rc == 0 && sb_pubkey_curve(pub) != SB_CURVE_P384)
        rc = sb_error_set(err, SB_E_UNSUPPORTED, "software attester: %s is not a P-384 key",
                          key_path);
    if (rc == 0) rc = sb_pubkey_to_jwk(pub, &s->jwk, err);
    sb_pubkey_free(pub);
    if (rc == 0) rc = sb_attester_make(&SW_OPS, "sealbox-software", s, out, err);
    if (rc < 0 && s) {
        sb_privkey_free(s->key);
        json_decref(s->jwk);
        free(s);
    }
    return rc;
}
