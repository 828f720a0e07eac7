/* keys: public and private key objects — construction from SPKI/PEM/raw EC points/RSA
 * modulus+exponent/Ed25519 bytes, generation, PEM export — via EVP_PKEY and OSSL_PARAM. */
#include <openssl/bio.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <pthread.h>
#include <string.h>

#include "internal.h"

static const struct {
    const char *group; /* OpenSSL group name */
    size_t coord;
} CURVES[SB_CURVE_MAX] = {
    [SB_CURVE_P256] = {"P-256", 32},
    [SB_CURVE_P384] = {"P-384", 48},
    [SB_CURVE_P521] = {"P-521", 66},
};

size_t sb_curve_coord_len(enum sb_curve c) {
    return (unsigned)c < SB_CURVE_MAX ? CURVES[c].coord : 0;
}

const char *sb_curve_group(enum sb_curve c) {
    return (unsigned)c < SB_CURVE_MAX ? CURVES[c].group : NULL;
}

int sb_evp_curve(const EVP_PKEY *pk) {
    if (!pk || EVP_PKEY_get_base_id(pk) != EVP_PKEY_EC) return -1;
    char name[64];
    size_t len = 0;
    if (EVP_PKEY_get_utf8_string_param(pk, OSSL_PKEY_PARAM_GROUP_NAME, name, sizeof(name), &len) !=
        1) {
        ERR_clear_error();
        return -1;
    }
    /* OpenSSL reports the SEC names; accept NIST aliases too. */
    if (strcmp(name, "prime256v1") == 0 || strcmp(name, "P-256") == 0) return SB_CURVE_P256;
    if (strcmp(name, "secp384r1") == 0 || strcmp(name, "P-384") == 0) return SB_CURVE_P384;
    if (strcmp(name, "secp521r1") == 0 || strcmp(name, "P-521") == 0) return SB_CURVE_P521;
    return -1;
}

enum sb_key_type sb_evp_key_type(const EVP_PKEY *pk) {
    switch (EVP_PKEY_get_base_id(pk)) {
    case EVP_PKEY_EC: return SB_KEY_EC;
    case EVP_PKEY_RSA:
    case EVP_PKEY_RSA_PSS: return SB_KEY_RSA;
    case EVP_PKEY_ED25519: return SB_KEY_ED25519;
    default: return SB_KEY_TYPE_MAX;
    }
}

/* Accepts only the key kinds the rest of sealbox can use: EC on P-256/384/521, RSA of
 * SB_RSA_MIN_BITS..SB_RSA_MAX_BITS, Ed25519. */
static int check_supported(const EVP_PKEY *pk, const char *what, sb_error *err) {
    switch (sb_evp_key_type(pk)) {
    case SB_KEY_EC:
        ENSURE(sb_evp_curve(pk) >= 0, err, SB_E_UNSUPPORTED,
               "%s: EC key on a curve other than P-256/P-384/P-521", what);
        return 0;
    case SB_KEY_RSA: {
        int bits = EVP_PKEY_get_bits(pk);
        ENSURE(bits >= SB_RSA_MIN_BITS && bits <= SB_RSA_MAX_BITS, err, SB_E_UNSUPPORTED,
               "%s: RSA key of %d bits (supported: %d..%d)", what, bits, SB_RSA_MIN_BITS,
               SB_RSA_MAX_BITS);
        return 0;
    }
    case SB_KEY_ED25519: return 0;
    default:
        BAIL(err, SB_E_UNSUPPORTED, "%s: unsupported key type %s", what,
             OBJ_nid2sn(EVP_PKEY_get_base_id(pk)));
    }
}

int sb_pubkey_wrap(EVP_PKEY *pk, sb_pubkey **out, sb_error *err) {
    int r = check_supported(pk, "pubkey", err);
    if (r < 0) {
        EVP_PKEY_free(pk);
        return r;
    }
    sb_pubkey *k = calloc(1, sizeof(*k));
    if (!k) {
        EVP_PKEY_free(pk);
        BAIL(err, SB_E_INTERNAL, "pubkey: out of memory");
    }
    k->pk = pk;
    *out = k;
    return 0;
}

int sb_pubkey_from_spki_der(const uint8_t *p, size_t n, sb_pubkey **out, sb_error *err) {
    ENSURE(p && n > 0, err, SB_E_MALFORMED, "spki: empty input");
    ENSURE(n <= SB_KEY_DER_MAX, err, SB_E_LIMIT, "spki: %zu bytes is over the limit of %u", n,
           SB_KEY_DER_MAX);
    const unsigned char *q = p;
    EVP_PKEY *pk = d2i_PUBKEY(NULL, &q, (long)n);
    if (!pk) return sb_ossl_err(err, SB_E_MALFORMED, "spki: not a DER SubjectPublicKeyInfo");
    if ((size_t)(q - p) != n) {
        EVP_PKEY_free(pk);
        BAIL(err, SB_E_MALFORMED, "spki: %zu trailing bytes after the SubjectPublicKeyInfo",
             n - (size_t)(q - p));
    }
    return sb_pubkey_wrap(pk, out, err);
}

int sb_pubkey_from_pem(const uint8_t *p, size_t n, sb_pubkey **out, sb_error *err) {
    ENSURE(p && n > 0, err, SB_E_MALFORMED, "pem: empty input");
    ENSURE(n <= SB_X509_PEM_MAX, err, SB_E_LIMIT, "pem: %zu bytes is over the limit of %u", n,
           SB_X509_PEM_MAX);
    BIO *b = BIO_new_mem_buf(p, (int)n);
    if (!b) return sb_ossl_err(err, SB_E_INTERNAL, "pem: out of memory");
    EVP_PKEY *pk = PEM_read_bio_PUBKEY(b, NULL, NULL, NULL);
    BIO_free(b);
    if (!pk) return sb_ossl_err(err, SB_E_MALFORMED, "pem: no PUBLIC KEY block that parses");
    return sb_pubkey_wrap(pk, out, err);
}

/* Builds an EVP_PKEY of `type` from params; `selection` says public or key pair. */
static EVP_PKEY *from_params(const char *type, int selection, OSSL_PARAM *params) {
    EVP_PKEY *pk = NULL;
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, type, NULL);
    if (ctx && EVP_PKEY_fromdata_init(ctx) == 1)
        (void)EVP_PKEY_fromdata(ctx, &pk, selection, params);
    EVP_PKEY_CTX_free(ctx);
    return pk;
}

/* One domain-parameters-only key per curve, made once per process: new EC keys copy their
 * group from it. Building a group from its name (what EVP_PKEY_fromdata and EVP_PKEY_Q_keygen
 * do for every key) costs OpenSSL 3.0 several times the point arithmetic that follows; copying
 * one is cheap. The templates hold no key material and are only read after they are made. */
static EVP_PKEY *curve_templates[SB_CURVE_MAX];
static pthread_once_t curve_templates_once = PTHREAD_ONCE_INIT;

static void make_curve_templates(void) {
    for (int c = 0; c < SB_CURVE_MAX; c++) {
        OSSL_PARAM params[] = {
            OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, (char *)CURVES[c].group,
                                             0),
            OSSL_PARAM_construct_end(),
        };
        curve_templates[c] = from_params("EC", EVP_PKEY_KEY_PARAMETERS, params);
    }
    ERR_clear_error();
}

/* The template of c, or NULL (then callers build the group from its name as before). */
static EVP_PKEY *curve_template(enum sb_curve c) {
    (void)pthread_once(&curve_templates_once, make_curve_templates);
    return (unsigned)c < SB_CURVE_MAX ? curve_templates[c] : NULL;
}

/* A public EC key from an uncompressed point 04||x||y of curve c. EC_POINT_oct2point (under
 * EVP_PKEY_set1_encoded_public_key and EVP_PKEY_fromdata alike) refuses coordinates outside
 * the field and points off the curve; the uncompressed form cannot encode the point at
 * infinity; and P-256, P-384 and P-521 have cofactor 1, so any other point on the curve has the
 * group's prime order. The result is therefore what the full public-key check would accept. */
static EVP_PKEY *ec_public_from_point(enum sb_curve c, const uint8_t *pt, size_t n) {
    if (n != 1 + 2 * CURVES[c].coord || pt[0] != 0x04) return NULL;
    EVP_PKEY *tpl = curve_template(c);
    if (!tpl) {
        OSSL_PARAM params[] = {
            OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, (char *)CURVES[c].group,
                                             0),
            OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY, (void *)pt, n),
            OSSL_PARAM_construct_end(),
        };
        return from_params("EC", EVP_PKEY_PUBLIC_KEY, params);
    }
    EVP_PKEY *pk = EVP_PKEY_new();
    if (!pk || EVP_PKEY_copy_parameters(pk, tpl) != 1 ||
        EVP_PKEY_set1_encoded_public_key(pk, pt, n) != 1) {
        EVP_PKEY_free(pk);
        return NULL;
    }
    return pk;
}

int sb_pubkey_from_ec_point(enum sb_curve c, const uint8_t *p, size_t n, sb_pubkey **out,
                            sb_error *err) {
    ENSURE((unsigned)c < SB_CURVE_MAX, err, SB_E_USAGE, "ec: unknown curve %d", (int)c);
    size_t cl = CURVES[c].coord;
    uint8_t pt[1 + 2 * 66];
    if (p && n == 2 * cl) {
        pt[0] = 0x04;
        memcpy(pt + 1, p, n);
    } else if (p && n == 2 * cl + 1 && p[0] == 0x04) {
        memcpy(pt, p, n);
    } else {
        BAIL(err, SB_E_MALFORMED,
             "ec: %s point of %zu bytes (expected %zu for x||y or %zu for 04||x||y)",
             CURVES[c].group, n, 2 * cl, 2 * cl + 1);
    }
    /* On the curve, coordinates in the field, not infinity, prime order: see
     * ec_public_from_point. */
    EVP_PKEY *pk = ec_public_from_point(c, pt, 2 * cl + 1);
    if (!pk)
        return sb_ossl_err(err, SB_E_MALFORMED, "ec: %s point is not on the curve",
                           CURVES[c].group);
    return sb_pubkey_wrap(pk, out, err);
}

int sb_pubkey_from_rsa(const uint8_t *n, size_t nlen, const uint8_t *e, size_t elen,
                       sb_pubkey **out, sb_error *err) {
    /* Leading zero bytes carry no value (JWK and TPM encodings sometimes add one). */
    while (nlen > 0 && n[0] == 0)
        n++, nlen--;
    while (elen > 0 && e[0] == 0)
        e++, elen--;
    ENSURE(nlen * 8 <= SB_RSA_MAX_BITS && nlen * 8 >= SB_RSA_MIN_BITS, err, SB_E_UNSUPPORTED,
           "rsa: modulus of %zu bytes (supported: %d..%d bits)", nlen, SB_RSA_MIN_BITS,
           SB_RSA_MAX_BITS);
    ENSURE(elen >= 1 && elen <= 8, err, SB_E_MALFORMED, "rsa: exponent of %zu bytes", elen);
    ENSURE(e[elen - 1] & 1, err, SB_E_MALFORMED, "rsa: exponent is even");
    ENSURE(n[nlen - 1] & 1, err, SB_E_MALFORMED, "rsa: modulus is even");
    int rc = SB_E_INTERNAL;
    BIGNUM *bn = BN_bin2bn(n, (int)nlen, NULL), *be = BN_bin2bn(e, (int)elen, NULL);
    OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
    OSSL_PARAM *params = NULL;
    EVP_PKEY *pk = NULL;
    if (!bn || !be || !bld || !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, bn) ||
        !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, be) ||
        !(params = OSSL_PARAM_BLD_to_param(bld))) {
        rc = sb_ossl_err(err, SB_E_INTERNAL, "rsa: out of memory");
        goto out;
    }
    pk = from_params("RSA", EVP_PKEY_PUBLIC_KEY, params);
    if (!pk) {
        rc = sb_ossl_err(err, SB_E_MALFORMED, "rsa: modulus/exponent rejected");
        goto out;
    }
    rc = sb_pubkey_wrap(TAKE_PTR(pk), out, err);
out:
    OSSL_PARAM_free(params);
    OSSL_PARAM_BLD_free(bld);
    BN_free(bn);
    BN_free(be);
    return rc;
}

int sb_pubkey_from_ed25519(const uint8_t raw[32], sb_pubkey **out, sb_error *err) {
    ENSURE(raw, err, SB_E_USAGE, "ed25519: NULL key");
    EVP_PKEY *pk = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, raw, 32);
    if (!pk) return sb_ossl_err(err, SB_E_MALFORMED, "ed25519: public key rejected");
    return sb_pubkey_wrap(pk, out, err);
}

int sb_pubkey_to_spki_der(const sb_pubkey *k, uint8_t **out, size_t *n, sb_error *err) {
    ENSURE(k && k->pk, err, SB_E_USAGE, "spki: NULL key");
    unsigned char *der = NULL;
    int len = i2d_PUBKEY(k->pk, &der);
    if (len <= 0) return sb_ossl_err(err, SB_E_INTERNAL, "spki: encoding failed");
    /* Hand out libc-owned memory so callers free() it like everything else. */
    uint8_t *copy = malloc((size_t)len);
    if (!copy) {
        OPENSSL_free(der);
        BAIL(err, SB_E_INTERNAL, "spki: out of memory");
    }
    memcpy(copy, der, (size_t)len);
    OPENSSL_free(der);
    *out = copy;
    *n = (size_t)len;
    return 0;
}

enum sb_key_type sb_pubkey_type(const sb_pubkey *k) {
    return k && k->pk ? sb_evp_key_type(k->pk) : SB_KEY_TYPE_MAX;
}
int sb_pubkey_curve(const sb_pubkey *k) { return k ? sb_evp_curve(k->pk) : -1; }
size_t sb_pubkey_bits(const sb_pubkey *k) {
    int b = k && k->pk ? EVP_PKEY_get_bits(k->pk) : 0;
    return b > 0 ? (size_t)b : 0;
}
bool sb_pubkey_equal(const sb_pubkey *a, const sb_pubkey *b) {
    if (!a || !b || !a->pk || !b->pk) return false;
    bool eq = EVP_PKEY_eq(a->pk, b->pk) == 1;
    ERR_clear_error(); /* comparing keys of different types leaves an error behind */
    return eq;
}
void sb_pubkey_free(sb_pubkey *k) {
    if (!k) return;
    EVP_PKEY_free(k->pk);
    free(k);
}

/* ---- private keys ------------------------------------------------------------------------ */

static int priv_wrap(EVP_PKEY *pk, sb_privkey **out, sb_error *err) {
    int r = check_supported(pk, "privkey", err);
    if (r < 0) {
        EVP_PKEY_free(pk);
        return r;
    }
    sb_privkey *k = calloc(1, sizeof(*k));
    if (!k) {
        EVP_PKEY_free(pk);
        BAIL(err, SB_E_INTERNAL, "privkey: out of memory");
    }
    k->pk = pk;
    *out = k;
    return 0;
}

int sb_privkey_generate_ec(enum sb_curve c, sb_privkey **out, sb_error *err) {
    ENSURE((unsigned)c < SB_CURVE_MAX, err, SB_E_USAGE, "ec: unknown curve %d", (int)c);
    EVP_PKEY *pk = NULL, *tpl = curve_template(c);
    if (tpl) {
        EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_pkey(NULL, tpl, NULL);
        if (ctx && EVP_PKEY_keygen_init(ctx) == 1) (void)EVP_PKEY_keygen(ctx, &pk);
        EVP_PKEY_CTX_free(ctx);
    } else {
        pk = EVP_PKEY_Q_keygen(NULL, NULL, "EC", CURVES[c].group);
    }
    if (!pk)
        return sb_ossl_err(err, SB_E_INTERNAL, "ec: %s key generation failed", CURVES[c].group);
    return priv_wrap(pk, out, err);
}

int sb_privkey_generate_rsa(unsigned bits, sb_privkey **out, sb_error *err) {
    ENSURE(bits >= SB_RSA_MIN_BITS && bits <= SB_RSA_MAX_BITS && bits % 8 == 0, err, SB_E_USAGE,
           "rsa: cannot generate a %u-bit key (supported: %d..%d, multiple of 8)", bits,
           SB_RSA_MIN_BITS, SB_RSA_MAX_BITS);
    EVP_PKEY *pk = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)bits);
    if (!pk) return sb_ossl_err(err, SB_E_INTERNAL, "rsa: key generation failed");
    return priv_wrap(pk, out, err);
}

int sb_privkey_generate_ed25519(sb_privkey **out, sb_error *err) {
    EVP_PKEY *pk = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
    if (!pk) return sb_ossl_err(err, SB_E_INTERNAL, "ed25519: key generation failed");
    return priv_wrap(pk, out, err);
}

int sb_privkey_from_pem(const uint8_t *p, size_t n, sb_privkey **out, sb_error *err) {
    ENSURE(p && n > 0, err, SB_E_MALFORMED, "privkey: empty input");
    ENSURE(n <= SB_KEY_DER_MAX * 2, err, SB_E_LIMIT, "privkey: %zu bytes is over the limit of %u",
           n, SB_KEY_DER_MAX * 2);
    BIO *b = BIO_new_mem_buf(p, (int)n);
    if (!b) return sb_ossl_err(err, SB_E_INTERNAL, "privkey: out of memory");
    /* No password callback data: an encrypted key fails instead of prompting. */
    EVP_PKEY *pk = PEM_read_bio_PrivateKey(b, NULL, NULL, (void *)"");
    BIO_free(b);
    if (!pk) return sb_ossl_err(err, SB_E_MALFORMED, "privkey: no unencrypted private key PEM");
    return priv_wrap(pk, out, err);
}

int sb_privkey_to_pem(const sb_privkey *k, char **out, sb_error *err) {
    ENSURE(k && k->pk, err, SB_E_USAGE, "privkey: NULL key");
    BIO *b = BIO_new(BIO_s_secmem());
    if (!b) return sb_ossl_err(err, SB_E_INTERNAL, "privkey: out of memory");
    int rc = 0;
    if (PEM_write_bio_PKCS8PrivateKey(b, k->pk, NULL, NULL, 0, NULL, NULL) != 1) {
        rc = sb_ossl_err(err, SB_E_INTERNAL, "privkey: PEM encoding failed");
    } else {
        char *data = NULL;
        long len = BIO_get_mem_data(b, &data);
        char *s = len > 0 ? malloc((size_t)len + 1) : NULL;
        if (!s) {
            rc = sb_error_set(err, SB_E_INTERNAL, "privkey: out of memory");
        } else {
            memcpy(s, data, (size_t)len);
            s[len] = '\0';
            *out = s;
        }
    }
    BIO_free(b); /* a secmem BIO wipes its buffer */
    return rc;
}

int sb_privkey_public(const sb_privkey *k, sb_pubkey **out, sb_error *err) {
    ENSURE(k && k->pk, err, SB_E_USAGE, "privkey: NULL key");
    /* EC: the group and the public point into a new key (no private material), without the
     * SPKI encoder and decoder, which OpenSSL 3.0 sets up anew for every call at many times
     * the cost of the point itself. */
    int curve = sb_evp_curve(k->pk);
    if (curve >= 0) {
        uint8_t pt[1 + 2 * 66];
        size_t pl = 0;
        if (EVP_PKEY_get_octet_string_param(k->pk, OSSL_PKEY_PARAM_PUB_KEY, pt, sizeof(pt), &pl) !=
            1)
            return sb_ossl_err(err, SB_E_INTERNAL, "privkey: public point not readable");
        EVP_PKEY *pk = ec_public_from_point((enum sb_curve)curve, pt, pl);
        if (pk) return sb_pubkey_wrap(pk, out, err);
        ERR_clear_error(); /* a compressed point, say: the SPKI round trip below */
    }
    /* Others: round-trip through SPKI so the result holds no private material at all. */
    unsigned char *der = NULL;
    int len = i2d_PUBKEY(k->pk, &der);
    if (len <= 0) return sb_ossl_err(err, SB_E_INTERNAL, "privkey: public part not encodable");
    const unsigned char *q = der;
    EVP_PKEY *pk = d2i_PUBKEY(NULL, &q, len);
    OPENSSL_free(der);
    if (!pk) return sb_ossl_err(err, SB_E_INTERNAL, "privkey: public part not decodable");
    return sb_pubkey_wrap(pk, out, err);
}

enum sb_key_type sb_privkey_type(const sb_privkey *k) {
    return k && k->pk ? sb_evp_key_type(k->pk) : SB_KEY_TYPE_MAX;
}

void sb_privkey_free(sb_privkey *k) {
    if (!k) return;
    EVP_PKEY_free(k->pk);
    free(k);
}
