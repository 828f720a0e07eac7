/* software: the development attester — an EC key in the state directory (P-256, signing ES256;
 * a P-384 key file from before signs ES384) signs the binding (docs/secrets.md, "Software
 * evidence"). Anyone who can read the key can forge evidence, so
 * the verifier marks every result insecure and policies refuse it unless allow_insecure. */
#include <stdio.h>
#include <string.h>

#include "crypto/crypto.h"
#include "internal.h"

#define KEY_PEM_MAX 8192

struct sw {
    sb_privkey *key;
    json_t *jwk;
    enum sb_hash hash; /* SHA-256 for a P-256 key, SHA-384 for P-384 */
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
    if (rc == 0) rc = sb_sign(s->key, s->hash, tbs, tbs_len, SB_ECDSA_RAW_BE, &sig, &sig_len, err);
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

/* Creates the key file (never replacing one that appeared meanwhile): P-256, whose signature
 * costs a tenth of P-384's (a handshake's floor; the evidence proves nothing either way). */
static int create_key(const char *path, sb_error *err) {
    sb_privkey *k = NULL;
    TRY(sb_privkey_generate_ec(SB_CURVE_P256, &k, err));
    char *pem = NULL;
    int rc = sb_privkey_to_pem(k, &pem, err);
    sb_privkey_free(k);
    TRY(rc);
    bool existed = false;
    rc = sb_keyfile_create(path, pem, strlen(pem), &existed, err);
    sb_wipe(pem, strlen(pem));
    free(pem);
    if (rc < 0) return sb_error_prefix(err, "software attester");
    return 0;
}

/* A refused key file is the caller's mistake (SB_E_USAGE), as it always was here. */
static const struct sb_keyfile_rules KEY_RULES = {1, KEY_PEM_MAX, "the software attester key",
                                                  "want 0600", SB_E_USAGE};

int sb_attester_open_software(const char *key_path, sb_attester **out, sb_error *err) {
    ENSURE(key_path && *key_path, err, SB_E_USAGE, "software attester: no key path");
    uint8_t *pem = NULL;
    size_t n = 0;
    int rc = sb_keyfile_read(key_path, &KEY_RULES, &pem, &n, err);
    if (rc == SB_E_NOTFOUND) {
        TRY(create_key(key_path, err));
        rc = sb_keyfile_read(key_path, &KEY_RULES, &pem, &n, err);
    }
    if (rc < 0) return sb_error_prefix(err, "software attester");
    struct sw *s = calloc(1, sizeof(*s));
    rc = s ? sb_privkey_from_pem(pem, n, &s->key, err)
           : sb_error_set(err, SB_E_INTERNAL, "software attester: out of memory");
    sb_secret_free(pem, n + 1);
    if (rc == 0 && sb_privkey_type(s->key) != SB_KEY_EC)
        rc =
            sb_error_set(err, SB_E_UNSUPPORTED, "software attester: %s is not an EC key", key_path);
    sb_pubkey *pub = NULL;
    if (rc == 0) rc = sb_privkey_public(s->key, &pub, err);
    if (rc == 0 && sb_pubkey_curve(pub) != SB_CURVE_P256 && sb_pubkey_curve(pub) != SB_CURVE_P384)
        rc = sb_error_set(err, SB_E_UNSUPPORTED,
                          "software attester: %s is not a P-256 or P-384 key", key_path);
    if (rc == 0) s->hash = sb_pubkey_curve(pub) == SB_CURVE_P256 ? SB_HASH_SHA256 : SB_HASH_SHA384;
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
