/* token: builds EAR attestation results, signs them as JWTs with ES256/ES384 keys named by
 * their RFC 7638 thumbprint, publishes JWKS and verifies tokens against a JWKS. */
#include <stdio.h>
#include <string.h>

#include "crypto/crypto.h"
#include "token.h"

struct sb_token_key {
    sb_privkey *priv;
    sb_pubkey *pub;
    enum sb_hash hash;
    const char *alg;
    char *kid;
};

void sb_token_key_free(sb_token_key *k) {
    if (!k) return;
    sb_privkey_free(k->priv);
    sb_pubkey_free(k->pub);
    free(k->kid);
    free(k);
}

const char *sb_token_key_kid(const sb_token_key *k) { return k->kid; }
const char *sb_token_key_alg(const sb_token_key *k) { return k->alg; }

/* ES256 for P-256, ES384 for P-384; anything else is not a token key. */
static int alg_of(const sb_pubkey *pub, const char **alg, enum sb_hash *h, sb_error *err) {
    if (sb_pubkey_type(pub) == SB_KEY_EC) {
        int c = sb_pubkey_curve(pub);
        if (c == SB_CURVE_P256) {
            *alg = "ES256";
            *h = SB_HASH_SHA256;
            return 0;
        }
        if (c == SB_CURVE_P384) {
            *alg = "ES384";
            *h = SB_HASH_SHA384;
            return 0;
        }
    }
    BAIL(err, SB_E_UNSUPPORTED,
         "token key: only EC P-256 (ES256) and P-384 (ES384) keys sign "
         "tokens");
}

int sb_token_key_from_pem(const uint8_t *pem, size_t n, sb_token_key **out, sb_error *err) {
    sb_token_key *k = calloc(1, sizeof(*k));
    if (!k) BAIL(err, SB_E_INTERNAL, "out of memory");
    int rc = sb_privkey_from_pem(pem, n, &k->priv, err);
    if (rc == 0) rc = sb_privkey_public(k->priv, &k->pub, err);
    if (rc == 0) rc = alg_of(k->pub, &k->alg, &k->hash, err);
    if (rc == 0) rc = sb_jwk_thumbprint(k->pub, &k->kid, err);
    if (rc < 0) {
        sb_token_key_free(k);
        return rc;
    }
    *out = k;
    return 0;
}

int sb_token_key_load(const char *path, sb_token_key **out, sb_error *err) {
    uint8_t *buf = NULL;
    size_t n = 0;
    TRY(sb_read_file(path, 64 * 1024, &buf, &n, err));
    int rc = sb_token_key_from_pem(buf, n, out, err);
    sb_wipe(buf, n);
    free(buf);
    if (rc < 0) return sb_error_prefix(err, "%s", path);
    return 0;
}

static int jwk_with_meta(const sb_pubkey *pub, json_t **out, sb_error *err) {
    const char *alg = NULL;
    enum sb_hash h = SB_HASH_SHA256;
    TRY(alg_of(pub, &alg, &h, err));
    json_t *jwk = NULL;
    TRY(sb_pubkey_to_jwk(pub, &jwk, err));
    char *kid = NULL;
    int rc = sb_jwk_thumbprint(pub, &kid, err);
    if (rc < 0) {
        json_decref(jwk);
        return rc;
    }
    if (json_object_set_new(jwk, "kid", json_string(kid)) < 0 ||
        json_object_set_new(jwk, "alg", json_string(alg)) < 0 ||
        json_object_set_new(jwk, "use", json_string("sig")) < 0) {
        free(kid);
        json_decref(jwk);
        BAIL(err, SB_E_INTERNAL, "out of memory");
    }
    free(kid);
    *out = jwk;
    return 0;
}

int sb_token_key_jwk(const sb_token_key *k, json_t **out, sb_error *err) {
    return jwk_with_meta(k->pub, out, err);
}

int sb_jwk_from_pem_file(const char *path, json_t **out, sb_error *err) {
    uint8_t *buf = NULL;
    size_t n = 0;
    TRY(sb_read_file(path, 64 * 1024, &buf, &n, err));
    sb_pubkey *pub = NULL;
    sb_error e1 = {0};
    int rc;
    if (memmem(buf, n, "PRIVATE KEY", 11)) {
        sb_token_key *k = NULL;
        rc = sb_token_key_from_pem(buf, n, &k, err);
        if (rc == 0) rc = sb_token_key_jwk(k, out, err);
        sb_token_key_free(k);
    } else {
        rc = sb_pubkey_from_pem(buf, n, &pub, &e1);
        if (rc < 0) rc = sb_error_set(err, rc, "not a PEM EC public or private key: %s", e1.msg);
        if (rc == 0) rc = jwk_with_meta(pub, out, err);
        sb_pubkey_free(pub);
    }
    sb_wipe(buf, n);
    free(buf);
    if (rc < 0) return sb_error_prefix(err, "%s", path);
    return 0;
}

/* ---- EAR ---------------------------------------------------------------------------------- */

int sb_ear_build(const struct sb_ear_input *in, json_t **out, sb_error *err) {
    ENSURE(in->submod && json_is_object(in->claims) && in->appraisal, err, SB_E_USAGE,
           "ear: submod, claims and appraisal are required");
    json_t *vec = json_object();
    json_t *reasons = json_array();
    int bad = !vec || !reasons;
    for (int t = 0; !bad && t < SB_TC_MAX; t++) {
        int v = in->appraisal->vector[t];
        if (v != 0)
            bad |= json_object_set_new(vec, sb_trust_claim_name((enum sb_trust_claim)t),
                                       json_integer(v)) < 0;
    }
    size_t i;
    json_t *r;
    json_array_foreach(in->appraisal->reasons, i, r) {
        if (!bad) bad |= json_array_append(reasons, json_object_get(r, "message")) < 0;
    }
    if (bad) {
        json_decref(vec);
        json_decref(reasons);
        BAIL(err, SB_E_INTERNAL, "out of memory");
    }
    json_t *sub = json_pack(
        "{s:s, s:o, s:s, s:O, s:o}", "ear.status", sb_tier_name(in->appraisal->status),
        "ear.trustworthiness-vector", vec, "ear.appraisal-policy-id", in->appraisal->policy_id,
        "ear.veraison.annotated-evidence", in->claims, "ear.sealbox.reasons", reasons);
    /* Evidence that proves nothing (software attester, swtpm) is marked in the token itself, so
     * a relying party that reads only the status still sees it. */
    if (sub && json_is_true(json_object_get(in->claims, "insecure")) &&
        json_object_set_new(sub, "ear.sealbox.insecure", json_true()) < 0) {
        json_decref(sub);
        sub = NULL;
    }
    json_t *p = sub ? json_pack("{s:s, s:I, s:{s:s, s:s}, s:{s:o}}", "eat_profile", SB_EAR_PROFILE,
                                "iat", (json_int_t)in->iat, "ear.verifier-id", "developer",
                                "https://github.com/sealbox/sealbox", "build",
                                "sealbox " SB_VERSION, "submods", in->submod, sub)
                    : NULL;
    if (!p) BAIL(err, SB_E_INTERNAL, "out of memory");
    if (in->nonce) {
        char *n = sb_base64url_encode(in->nonce, in->nonce_len);
        if (!n || json_object_set_new(p, "eat_nonce", json_string(n)) < 0) {
            free(n);
            json_decref(p);
            BAIL(err, SB_E_INTERNAL, "out of memory");
        }
        free(n);
    }
    *out = p;
    return 0;
}

/* ---- JWS compact serialization --------------------------------------------------------- */

static char *b64u_json(const json_t *v) {
    char *s = json_dumps(v, JSON_COMPACT | JSON_SORT_KEYS);
    if (!s) return NULL;
    char *b = sb_base64url_encode((const uint8_t *)s, strlen(s));
    free(s);
    return b;
}

int sb_jwt_sign(const sb_token_key *k, const json_t *payload, char **jwt, sb_error *err) {
    json_t *hdr = json_pack("{s:s, s:s, s:s}", "alg", k->alg, "typ", "JWT", "kid", k->kid);
    _cleanup_free_ char *h = hdr ? b64u_json(hdr) : NULL;
    json_decref(hdr);
    _cleanup_free_ char *p = b64u_json(payload);
    if (!h || !p) BAIL(err, SB_E_INTERNAL, "out of memory");
    sb_writer w;
    sb_writer_init(&w, SB_JWT_MAX_LEN);
    (void)sb_writer_printf(&w, "%s.%s", h, p);
    TRY(sb_writer_status(&w));
    size_t siglen = 0, inlen = w.len;
    _cleanup_free_ uint8_t *sig = NULL;
    int rc = sb_sign(k->priv, k->hash, w.buf, inlen, SB_ECDSA_RAW_BE, &sig, &siglen, err);
    if (rc < 0) {
        sb_writer_free(&w);
        return rc;
    }
    _cleanup_free_ char *s = sb_base64url_encode(sig, siglen);
    if (!s) {
        sb_writer_free(&w);
        BAIL(err, SB_E_INTERNAL, "out of memory");
    }
    (void)sb_writer_printf(&w, ".%s", s);
    if (sb_writer_status(&w) < 0) {
        sb_writer_free(&w);
        BAIL(err, SB_E_LIMIT, "jwt: larger than %u bytes", SB_JWT_MAX_LEN);
    }
    size_t len;
    *jwt = (char *)sb_writer_steal(&w, &len);
    return 0;
}

static int b64u_part_json(const char *s, size_t n, const char *what, json_t **out, sb_error *err) {
    uint8_t *raw = NULL;
    size_t rl = 0;
    int rc = sb_base64url_decode(s, n, &raw, &rl, err);
    if (rc < 0) return sb_error_prefix(err, "jwt %s", what);
    json_error_t je;
    json_t *v = json_loadb((const char *)raw, rl, JSON_REJECT_DUPLICATES, &je);
    free(raw);
    if (!json_is_object(v)) {
        json_decref(v);
        BAIL(err, SB_E_MALFORMED, "jwt %s: not a JSON object (%s)", what, v ? "" : je.text);
    }
    *out = v;
    return 0;
}

int sb_jwt_verify(const char *jwt, const json_t *jwks, json_t **payload, json_t **header,
                  sb_error *err) {
    size_t len = strnlen(jwt, SB_JWT_MAX_LEN + 1);
    ENSURE(len <= SB_JWT_MAX_LEN, err, SB_E_LIMIT, "jwt: larger than %u bytes", SB_JWT_MAX_LEN);
    /* The two separators, by index: header = [0,i1), payload = (i1,i2), signature = (i2,len). */
    size_t i1 = len, i2 = len, dots = 0;
    for (size_t i = 0; i < len; i++) {
        if (jwt[i] != '.') continue;
        if (dots == 0) i1 = i;
        if (dots == 1) i2 = i;
        dots++;
    }
    ENSURE(dots == 2, err, SB_E_MALFORMED,
           "jwt: expected three dot-separated parts (compact JWS), found %zu", dots + 1);
    json_t *hdr = NULL, *pl = NULL;
    TRY(b64u_part_json(jwt, i1, "header", &hdr, err));
    int rc = 0;
    sb_pubkey *pub = NULL;
    uint8_t *sig = NULL;
    size_t siglen = 0;
    const char *alg = json_string_value(json_object_get(hdr, "alg"));
    const char *kid = json_string_value(json_object_get(hdr, "kid"));
    if (!alg || (strcmp(alg, "ES256") != 0 && strcmp(alg, "ES384") != 0)) {
        rc = sb_error_set(err, SB_E_UNSUPPORTED, "jwt header: alg %s is not ES256 or ES384",
                          alg ? alg : "(missing)");
        goto out;
    }
    if (!kid) {
        rc = sb_error_set(err, SB_E_MALFORMED, "jwt header: no kid");
        goto out;
    }
    const json_t *jwk = NULL;
    size_t i;
    json_t *e;
    json_array_foreach(json_object_get(jwks, "keys"), i, e) {
        if (i >= SB_JWKS_MAX_KEYS) break;
        const char *k2 = json_string_value(json_object_get(e, "kid"));
        if (k2 && strcmp(k2, kid) == 0) jwk = e;
    }
    if (!jwk) {
        rc = sb_error_set(err, SB_E_NOTFOUND, "jwt: no key with kid %s in the JWKS", kid);
        goto out;
    }
    rc = sb_pubkey_from_jwk(jwk, &pub, err);
    const char *kalg = NULL;
    enum sb_hash kh = SB_HASH_SHA256;
    if (rc == 0) rc = alg_of(pub, &kalg, &kh, err);
    if (rc == 0 && strcmp(kalg, alg) != 0)
        rc = sb_error_set(err, SB_E_SIGNATURE, "jwt: alg %s does not match the %s key %s", alg,
                          kalg, kid);
    if (rc == 0) rc = sb_base64url_decode(jwt + i2 + 1, len - i2 - 1, &sig, &siglen, err);
    size_t want = 2 * sb_curve_coord_len(kh == SB_HASH_SHA256 ? SB_CURVE_P256 : SB_CURVE_P384);
    if (rc == 0 && siglen != want)
        rc = sb_error_set(err, SB_E_SIGNATURE, "jwt: signature is %zu bytes, %s needs %zu", siglen,
                          alg, want);
    if (rc == 0) rc = sb_ecdsa_verify(pub, kh, jwt, i2, sig, siglen, SB_ECDSA_RAW_BE, err);
    if (rc < 0) goto out;
    rc = b64u_part_json(jwt + i1 + 1, i2 - i1 - 1, "payload", &pl, err);
    if (rc < 0) goto out;
    *payload = pl;
    if (header) {
        *header = hdr;
        hdr = NULL;
    }
out:
    free(sig);
    sb_pubkey_free(pub);
    json_decref(hdr);
    return rc;
}

int sb_ear_check(const json_t *p, sb_error *err) {
    const char *prof = json_string_value(json_object_get(p, "eat_profile"));
    ENSURE(prof && strcmp(prof, SB_EAR_PROFILE) == 0, err, SB_E_MALFORMED,
           "ear: eat_profile is not %s", SB_EAR_PROFILE);
    ENSURE(json_is_integer(json_object_get(p, "iat")), err, SB_E_MALFORMED, "ear: iat missing");
    ENSURE(json_is_object(json_object_get(p, "ear.verifier-id")), err, SB_E_MALFORMED,
           "ear: ear.verifier-id missing");
    const json_t *subs = json_object_get(p, "submods");
    ENSURE(json_is_object(subs) && json_object_size(subs) > 0, err, SB_E_MALFORMED,
           "ear: submods missing or empty");
    const char *name;
    json_t *s;
    json_object_foreach((json_t *)subs, name, s) {
        const char *st = json_string_value(json_object_get(s, "ear.status"));
        ENSURE(st && (!strcmp(st, "affirming") || !strcmp(st, "warning") ||
                      !strcmp(st, "contraindicated") || !strcmp(st, "none")),
               err, SB_E_MALFORMED, "ear: submods.%s.ear.status missing or unknown", name);
        const json_t *vec = json_object_get(s, "ear.trustworthiness-vector");
        ENSURE(json_is_object(vec), err, SB_E_MALFORMED,
               "ear: submods.%s.ear.trustworthiness-vector missing", name);
        const char *k;
        json_t *v;
        json_object_foreach((json_t *)vec, k, v) {
            bool known = false;
            for (int t = 0; t < SB_TC_MAX; t++)
                if (!strcmp(k, sb_trust_claim_name((enum sb_trust_claim)t))) known = true;
            ENSURE(known && json_is_integer(v) && json_integer_value(v) >= -128 &&
                       json_integer_value(v) <= 127,
                   err, SB_E_MALFORMED, "ear: submods.%s vector entry %s is not an AR4SI claim",
                   name, k);
        }
    }
    return 0;
}
