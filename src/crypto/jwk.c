/* jwk: public keys as RFC 7517 JSON Web Keys (EC P-256/384/521, RSA, OKP Ed25519) in both
 * directions, and RFC 7638 thumbprints. */
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <string.h>

#include "internal.h"

#define SB_JWK_MEMBER_MAX 2048 /* base64url chars of one member (RSA-8192 n is 1366) */

static const char *JWK_CRV[SB_CURVE_MAX] = {"P-256", "P-384", "P-521"};

/* Big-endian bytes of a BIGNUM parameter, left-padded to width (0 = minimal). */
static int bn_param(const EVP_PKEY *pk, const char *name, size_t width, uint8_t **out, size_t *len,
                    sb_error *err) {
    BIGNUM *bn = NULL;
    if (EVP_PKEY_get_bn_param(pk, name, &bn) != 1)
        return sb_ossl_err(err, SB_E_INTERNAL, "jwk: key has no '%s'", name);
    size_t n = width ? width : (size_t)BN_num_bytes(bn);
    if (n == 0) n = 1;
    uint8_t *b = malloc(n);
    if (!b || BN_bn2binpad(bn, b, (int)n) != (int)n) {
        free(b);
        BN_free(bn);
        return sb_ossl_err(err, SB_E_INTERNAL, "jwk: cannot encode '%s'", name);
    }
    BN_free(bn);
    *out = b;
    *len = n;
    return 0;
}

/* The JWK members of k as base64url strings (malloc'ed): EC crv/x/y, RSA n/e, OKP crv/x. */
struct jwk_parts {
    enum sb_key_type type;
    const char *crv;
    char *a, *b; /* EC: x, y; RSA: n, e; OKP: x */
};

static void parts_free(struct jwk_parts *p) {
    free(p->a);
    free(p->b);
}

static int b64_member(const EVP_PKEY *pk, const char *name, size_t width, char **out,
                      sb_error *err) {
    uint8_t *b = NULL;
    size_t n = 0;
    TRY(bn_param(pk, name, width, &b, &n, err));
    *out = sb_base64url_encode(b, n);
    free(b);
    ENSURE(*out, err, SB_E_INTERNAL, "jwk: out of memory");
    return 0;
}

static int get_parts(const sb_pubkey *k, struct jwk_parts *p, sb_error *err) {
    memset(p, 0, sizeof(*p));
    ENSURE(k && k->pk, err, SB_E_USAGE, "jwk: NULL key");
    p->type = sb_evp_key_type(k->pk);
    int rc = 0;
    switch (p->type) {
    case SB_KEY_EC: {
        int c = sb_evp_curve(k->pk);
        ENSURE(c >= 0, err, SB_E_UNSUPPORTED, "jwk: unsupported curve");
        p->crv = JWK_CRV[c];
        size_t cl = sb_curve_coord_len((enum sb_curve)c);
        /* RFC 7518 §6.2.1.2: coordinates are the full curve width, zero-padded — which is how
         * the uncompressed point 04||x||y holds them (one parameter read instead of two
         * BIGNUM exports); a key kept in compressed form goes through the BIGNUMs. */
        uint8_t pt[1 + 2 * 66];
        size_t pl = 0;
        if (EVP_PKEY_get_octet_string_param(k->pk, OSSL_PKEY_PARAM_PUB_KEY, pt, sizeof(pt), &pl) ==
                1 &&
            pl == 1 + 2 * cl && pt[0] == 0x04) {
            p->a = sb_base64url_encode(pt + 1, cl);
            p->b = sb_base64url_encode(pt + 1 + cl, cl);
            if (!p->a || !p->b) rc = sb_error_set(err, SB_E_INTERNAL, "jwk: out of memory");
            break;
        }
        ERR_clear_error();
        rc = b64_member(k->pk, OSSL_PKEY_PARAM_EC_PUB_X, cl, &p->a, err);
        if (rc == 0) rc = b64_member(k->pk, OSSL_PKEY_PARAM_EC_PUB_Y, cl, &p->b, err);
        break;
    }
    case SB_KEY_RSA:
        rc = b64_member(k->pk, OSSL_PKEY_PARAM_RSA_N, 0, &p->a, err);
        if (rc == 0) rc = b64_member(k->pk, OSSL_PKEY_PARAM_RSA_E, 0, &p->b, err);
        break;
    case SB_KEY_ED25519: {
        uint8_t raw[32];
        size_t n = sizeof(raw);
        p->crv = "Ed25519";
        if (EVP_PKEY_get_raw_public_key(k->pk, raw, &n) != 1 || n != 32) {
            rc = sb_ossl_err(err, SB_E_INTERNAL, "jwk: cannot read the Ed25519 key");
            break;
        }
        p->a = sb_base64url_encode(raw, 32);
        if (!p->a) rc = sb_error_set(err, SB_E_INTERNAL, "jwk: out of memory");
        break;
    }
    default: rc = sb_error_set(err, SB_E_UNSUPPORTED, "jwk: unsupported key type");
    }
    if (rc < 0) parts_free(p);
    return rc;
}

int sb_pubkey_to_jwk(const sb_pubkey *k, json_t **out, sb_error *err) {
    struct jwk_parts p;
    TRY(get_parts(k, &p, err));
    json_t *o = json_object();
    int rc = o ? 0 : sb_error_set(err, SB_E_INTERNAL, "jwk: out of memory");
    const char *kty = p.type == SB_KEY_EC ? "EC" : p.type == SB_KEY_RSA ? "RSA" : "OKP";
    if (rc == 0 && json_object_set_new(o, "kty", json_string(kty)) != 0)
        rc = sb_error_set(err, SB_E_INTERNAL, "jwk: out of memory");
    if (rc == 0 && p.crv && json_object_set_new(o, "crv", json_string(p.crv)) != 0)
        rc = sb_error_set(err, SB_E_INTERNAL, "jwk: out of memory");
    const char *ka = p.type == SB_KEY_RSA ? "n" : "x", *kb = p.type == SB_KEY_RSA ? "e" : "y";
    if (rc == 0 && json_object_set_new(o, ka, json_string(p.a)) != 0)
        rc = sb_error_set(err, SB_E_INTERNAL, "jwk: out of memory");
    if (rc == 0 && p.b && json_object_set_new(o, kb, json_string(p.b)) != 0)
        rc = sb_error_set(err, SB_E_INTERNAL, "jwk: out of memory");
    parts_free(&p);
    if (rc < 0) {
        json_decref(o);
        return rc;
    }
    *out = o;
    return 0;
}

/* A required base64url member, decoded; its length checked against [minlen, maxlen]. */
static int get_b64(const json_t *jwk, const char *name, size_t minlen, size_t maxlen, uint8_t **out,
                   size_t *len, sb_error *err) {
    const json_t *v = json_object_get(jwk, name);
    ENSURE(v, err, SB_E_MALFORMED, "jwk: member '%s' is missing", name);
    ENSURE(json_is_string(v), err, SB_E_MALFORMED, "jwk: member '%s' is not a string", name);
    size_t sl = json_string_length(v);
    ENSURE(sl <= SB_JWK_MEMBER_MAX, err, SB_E_LIMIT,
           "jwk: member '%s' of %zu characters is over the limit of %d", name, sl,
           SB_JWK_MEMBER_MAX);
    uint8_t *b = NULL;
    size_t n = 0;
    int rc = sb_base64url_decode(json_string_value(v), sl, &b, &n, err);
    if (rc < 0) return sb_error_prefix(err, "jwk: member '%s'", name);
    if (n < minlen || n > maxlen) {
        free(b);
        BAIL(err, SB_E_MALFORMED, "jwk: member '%s' decodes to %zu bytes (expected %zu..%zu)", name,
             n, minlen, maxlen);
    }
    *out = b;
    *len = n;
    return 0;
}

static const char *get_str(const json_t *jwk, const char *name) {
    return json_string_value(json_object_get(jwk, name));
}

int sb_pubkey_from_jwk(const json_t *jwk, sb_pubkey **out, sb_error *err) {
    ENSURE(json_is_object(jwk), err, SB_E_MALFORMED, "jwk: not a JSON object");
    const char *kty = get_str(jwk, "kty");
    ENSURE(kty, err, SB_E_MALFORMED, "jwk: member 'kty' is missing or not a string");
    /* A public-key slot given private material is a caller or peer error worth refusing:
     * it means a private key is travelling where it should not. */
    static const char *PRIVATE[] = {"d", "p", "q", "dp", "dq", "qi", "oth", "k"};
    for (size_t i = 0; i < SB_ARRAY_LEN(PRIVATE); i++)
        ENSURE(!json_object_get(jwk, PRIVATE[i]), err, SB_E_USAGE,
               "jwk: private member '%s' present where a public key is expected", PRIVATE[i]);
    uint8_t *a = NULL, *b = NULL;
    size_t an = 0, bn = 0;
    int rc;
    if (strcmp(kty, "EC") == 0) {
        const char *crv = get_str(jwk, "crv");
        int c = -1;
        for (int i = 0; crv && i < SB_CURVE_MAX; i++)
            if (strcmp(crv, JWK_CRV[i]) == 0) c = i;
        ENSURE(c >= 0, err, SB_E_UNSUPPORTED, "jwk: EC curve '%s' (P-256, P-384, P-521)",
               crv ? crv : "(missing)");
        size_t cl = sb_curve_coord_len((enum sb_curve)c);
        rc = get_b64(jwk, "x", cl, cl, &a, &an, err);
        if (rc == 0) rc = get_b64(jwk, "y", cl, cl, &b, &bn, err);
        if (rc == 0) {
            uint8_t pt[2 * 66];
            memcpy(pt, a, cl);
            memcpy(pt + cl, b, cl);
            rc = sb_pubkey_from_ec_point((enum sb_curve)c, pt, 2 * cl, out, err);
        }
    } else if (strcmp(kty, "RSA") == 0) {
        rc = get_b64(jwk, "n", SB_RSA_MIN_BITS / 8, SB_RSA_MAX_BITS / 8 + 1, &a, &an, err);
        if (rc == 0) rc = get_b64(jwk, "e", 1, 8, &b, &bn, err);
        if (rc == 0) rc = sb_pubkey_from_rsa(a, an, b, bn, out, err);
    } else if (strcmp(kty, "OKP") == 0) {
        const char *crv = get_str(jwk, "crv");
        ENSURE(crv && strcmp(crv, "Ed25519") == 0, err, SB_E_UNSUPPORTED,
               "jwk: OKP curve '%s' (Ed25519)", crv ? crv : "(missing)");
        rc = get_b64(jwk, "x", 32, 32, &a, &an, err);
        if (rc == 0) rc = sb_pubkey_from_ed25519(a, out, err);
    } else {
        BAIL(err, SB_E_UNSUPPORTED, "jwk: key type '%s' (EC, RSA, OKP)", kty);
    }
    free(a);
    free(b);
    return rc;
}

int sb_jwk_thumbprint(const sb_pubkey *k, char **out, sb_error *err) {
    struct jwk_parts p;
    TRY(get_parts(k, &p, err));
    /* RFC 7638 §3.2: the required members only, lexicographic order, no whitespace. Every
     * value is base64url or a fixed curve name, so no JSON escaping can arise. */
    sb_writer w;
    sb_writer_init(&w, 4096);
    switch (p.type) {
    case SB_KEY_EC:
        (void)sb_writer_printf(&w, "{\"crv\":\"%s\",\"kty\":\"EC\",\"x\":\"%s\",\"y\":\"%s\"}",
                               p.crv, p.a, p.b);
        break;
    case SB_KEY_RSA:
        (void)sb_writer_printf(&w, "{\"e\":\"%s\",\"kty\":\"RSA\",\"n\":\"%s\"}", p.b, p.a);
        break;
    default:
        (void)sb_writer_printf(&w, "{\"crv\":\"%s\",\"kty\":\"OKP\",\"x\":\"%s\"}", p.crv, p.a);
        break;
    }
    parts_free(&p);
    int rc = sb_writer_status(&w);
    if (rc < 0) {
        sb_writer_free(&w);
        BAIL(err, SB_E_INTERNAL, "jwk: thumbprint input too long");
    }
    uint8_t d[32];
    rc = sb_hash(SB_HASH_SHA256, w.buf, w.len, d, err);
    sb_writer_free(&w);
    TRY(rc);
    *out = sb_base64url_encode(d, sizeof(d));
    ENSURE(*out, err, SB_E_INTERNAL, "jwk: out of memory");
    return 0;
}
