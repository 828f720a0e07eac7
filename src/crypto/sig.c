/* sig: ECDSA (DER, raw big-endian and AMD's raw little-endian encodings), RSA-PSS,
 * RSA PKCS#1 v1.5 and Ed25519 verification, and signing, via EVP_DigestVerify/EVP_PKEY. */
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/rsa.h>
#include <string.h>

#include "internal.h"

static const char *ENC_NAMES[SB_ECDSA_ENC_MAX] = {"DER", "raw big-endian", "raw little-endian"};

/* Converts a raw r||s signature (each half a fixed-width field in the given byte order) to
 * the DER ECDSA-Sig-Value OpenSSL verifies. Each half may be wider than the curve (AMD's
 * 72-byte fields for P-384) as long as the extra bytes are zero. */
static int raw_to_der(int curve, const uint8_t *sig, size_t siglen, bool le, uint8_t **der,
                      size_t *derlen, sb_error *err) {
    size_t cl = sb_curve_coord_len((enum sb_curve)curve);
    ENSURE(siglen > 0 && siglen % 2 == 0, err, SB_E_MALFORMED,
           "ecdsa: raw signature of %zu bytes (must be two equal halves)", siglen);
    size_t w = siglen / 2;
    ENSURE(w <= SB_ECDSA_FIELD_MAX, err, SB_E_LIMIT,
           "ecdsa: raw signature field of %zu bytes is over the limit of %u", w,
           SB_ECDSA_FIELD_MAX);
    BIGNUM *bn[2] = {NULL, NULL};
    sb_reader rd;
    sb_reader_init(&rd, sig, siglen, "ecdsa", err);
    for (int i = 0; i < 2; i++) {
        const uint8_t *f = NULL;
        int rc = sb_reader_bytes(&rd, w, &f, i == 0 ? "r" : "s");
        if (rc < 0) {
            BN_free(bn[0]);
            return rc; /* cannot happen (siglen == 2 * w), but the reader decides */
        }
        /* significant length: strip the most significant zero bytes in field order */
        size_t sig_len = w;
        if (le)
            while (sig_len > 0 && f[sig_len - 1] == 0)
                sig_len--;
        else
            while (sig_len > 0 && f[w - sig_len] == 0)
                sig_len--;
        if (sig_len > cl) {
            BN_free(bn[0]);
            BAIL(err, SB_E_MALFORMED,
                 "ecdsa: %s of the raw signature has %zu significant bytes (curve allows %zu)",
                 i == 0 ? "r" : "s", sig_len, cl);
        }
        bn[i] = le ? BN_lebin2bn(f, (int)w, NULL) : BN_bin2bn(f, (int)w, NULL);
        if (!bn[i]) {
            BN_free(bn[0]);
            return sb_ossl_err(err, SB_E_INTERNAL, "ecdsa: out of memory");
        }
    }
    ECDSA_SIG *es = ECDSA_SIG_new();
    if (!es || ECDSA_SIG_set0(es, bn[0], bn[1]) != 1) {
        ECDSA_SIG_free(es);
        BN_free(bn[0]);
        BN_free(bn[1]);
        return sb_ossl_err(err, SB_E_INTERNAL, "ecdsa: out of memory");
    }
    unsigned char *d = NULL;
    int dl = i2d_ECDSA_SIG(es, &d);
    ECDSA_SIG_free(es);
    if (dl <= 0) return sb_ossl_err(err, SB_E_INTERNAL, "ecdsa: DER encoding failed");
    *der = d;
    *derlen = (size_t)dl;
    return 0;
}

/* Checks a DER ECDSA-Sig-Value is well-formed and canonical; OpenSSL would reject it later
 * anyway, but a caller deserves MALFORMED (not SIGNATURE) for unusable bytes. */
static int check_der(const uint8_t *sig, size_t siglen, sb_error *err) {
    ENSURE(siglen > 0 && siglen <= 2 * SB_ECDSA_FIELD_MAX + 16, err, SB_E_MALFORMED,
           "ecdsa: DER signature of %zu bytes", siglen);
    const unsigned char *q = sig;
    ECDSA_SIG *es = d2i_ECDSA_SIG(NULL, &q, (long)siglen);
    if (!es) return sb_ossl_err(err, SB_E_MALFORMED, "ecdsa: signature is not DER ECDSA-Sig-Value");
    size_t used = (size_t)(q - sig);
    unsigned char *re = NULL;
    int rl = i2d_ECDSA_SIG(es, &re);
    ECDSA_SIG_free(es);
    bool canon = rl > 0 && (size_t)rl == siglen && used == siglen && memcmp(re, sig, siglen) == 0;
    OPENSSL_free(re);
    ENSURE(canon, err, SB_E_MALFORMED, "ecdsa: DER signature is not canonical (%zu bytes)", siglen);
    return 0;
}

/* The signature as DER (borrowed or freshly allocated in *owned). */
static int ecdsa_sig_der(const sb_pubkey *k, const uint8_t *sig, size_t siglen,
                         enum sb_ecdsa_enc enc, const uint8_t **der, size_t *derlen,
                         uint8_t **owned, sb_error *err) {
    ENSURE(k && k->pk && sb_evp_key_type(k->pk) == SB_KEY_EC, err, SB_E_USAGE,
           "ecdsa: key is not an EC key");
    ENSURE(sig || siglen == 0, err, SB_E_USAGE, "ecdsa: NULL signature");
    *owned = NULL;
    switch (enc) {
    case SB_ECDSA_DER:
        TRY(check_der(sig, siglen, err));
        *der = sig;
        *derlen = siglen;
        return 0;
    case SB_ECDSA_RAW_BE:
    case SB_ECDSA_RAW_LE:
        TRY(raw_to_der(sb_evp_curve(k->pk), sig, siglen, enc == SB_ECDSA_RAW_LE, owned, derlen,
                       err));
        *der = *owned;
        return 0;
    default: BAIL(err, SB_E_USAGE, "ecdsa: unknown signature encoding %d", (int)enc);
    }
}

/* Maps an EVP verify result: 1 holds, 0 (or a negative after well-formed inputs) does not. */
static int verdict(int r, const char *what, sb_error *err) {
    if (r == 1) {
        ERR_clear_error();
        return 0;
    }
    return sb_ossl_err(err, SB_E_SIGNATURE, "%s: signature does not verify", what);
}

int sb_ecdsa_verify(const sb_pubkey *k, enum sb_hash h, const void *msg, size_t msglen,
                    const uint8_t *sig, size_t siglen, enum sb_ecdsa_enc enc, sb_error *err) {
    const EVP_MD *md = sb_evp_md(h);
    ENSURE(md, err, SB_E_USAGE, "ecdsa: unknown hash %d", (int)h);
    ENSURE(msg || msglen == 0, err, SB_E_USAGE, "ecdsa: NULL message");
    const uint8_t *der;
    size_t derlen;
    uint8_t *owned = NULL;
    TRY(ecdsa_sig_der(k, sig, siglen, enc, &der, &derlen, &owned, err));
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    int r = -1;
    if (ctx && EVP_DigestVerifyInit(ctx, NULL, md, NULL, k->pk) == 1)
        r = EVP_DigestVerify(ctx, der, derlen, msglen ? msg : (const void *)"", msglen);
    EVP_MD_CTX_free(ctx);
    OPENSSL_free(owned);
    char what[64];
    (void)snprintf(what, sizeof(what), "ecdsa-%s (%s)", sb_hash_name(h), ENC_NAMES[enc]);
    return verdict(r, what, err);
}

int sb_ecdsa_verify_digest(const sb_pubkey *k, const uint8_t *dgst, size_t dlen, const uint8_t *sig,
                           size_t siglen, enum sb_ecdsa_enc enc, sb_error *err) {
    ENSURE(dgst && dlen > 0 && dlen <= SB_HASH_MAX_LEN, err, SB_E_USAGE,
           "ecdsa: digest of %zu bytes", dlen);
    const uint8_t *der;
    size_t derlen;
    uint8_t *owned = NULL;
    TRY(ecdsa_sig_der(k, sig, siglen, enc, &der, &derlen, &owned, err));
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_pkey(NULL, k->pk, NULL);
    int r = -1;
    if (ctx && EVP_PKEY_verify_init(ctx) == 1) r = EVP_PKEY_verify(ctx, der, derlen, dgst, dlen);
    EVP_PKEY_CTX_free(ctx);
    OPENSSL_free(owned);
    return verdict(r, "ecdsa (digest)", err);
}

static int rsa_verify(const sb_pubkey *k, enum sb_hash h, int pad, int salt_len, const void *msg,
                      size_t msglen, const uint8_t *sig, size_t siglen, const char *what,
                      sb_error *err) {
    const EVP_MD *md = sb_evp_md(h);
    ENSURE(md, err, SB_E_USAGE, "%s: unknown hash %d", what, (int)h);
    ENSURE(k && k->pk && sb_evp_key_type(k->pk) == SB_KEY_RSA, err, SB_E_USAGE,
           "%s: key is not an RSA key", what);
    ENSURE(msg || msglen == 0, err, SB_E_USAGE, "%s: NULL message", what);
    ENSURE(sig && siglen > 0, err, SB_E_SIGNATURE, "%s: empty signature", what);
    size_t modlen = (size_t)EVP_PKEY_get_size(k->pk);
    ENSURE(siglen == modlen, err, SB_E_SIGNATURE,
           "%s: signature of %zu bytes for a %zu-byte modulus", what, siglen, modlen);
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    EVP_PKEY_CTX *pctx = NULL;
    int r = -1;
    if (!ctx || EVP_DigestVerifyInit(ctx, &pctx, md, NULL, k->pk) != 1 ||
        EVP_PKEY_CTX_set_rsa_padding(pctx, pad) <= 0 ||
        (pad == RSA_PKCS1_PSS_PADDING &&
         (EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx,
                                           salt_len < 0 ? RSA_PSS_SALTLEN_DIGEST : salt_len) <= 0 ||
          EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, md) <= 0))) {
        EVP_MD_CTX_free(ctx);
        return sb_ossl_err(err, SB_E_USAGE, "%s: cannot set up %s verification", what,
                           sb_hash_name(h));
    }
    r = EVP_DigestVerify(ctx, sig, siglen, msglen ? msg : (const void *)"", msglen);
    EVP_MD_CTX_free(ctx);
    return verdict(r, what, err);
}

int sb_rsa_pss_verify(const sb_pubkey *k, enum sb_hash h, int salt_len, const void *msg,
                      size_t msglen, const uint8_t *sig, size_t siglen, sb_error *err) {
    ENSURE(salt_len >= -1 && salt_len <= 1024, err, SB_E_USAGE, "rsa-pss: salt length %d",
           salt_len);
    return rsa_verify(k, h, RSA_PKCS1_PSS_PADDING, salt_len, msg, msglen, sig, siglen, "rsa-pss",
                      err);
}

int sb_rsa_pkcs1_verify(const sb_pubkey *k, enum sb_hash h, const void *msg, size_t msglen,
                        const uint8_t *sig, size_t siglen, sb_error *err) {
    return rsa_verify(k, h, RSA_PKCS1_PADDING, 0, msg, msglen, sig, siglen, "rsa-pkcs1", err);
}

/* ---- a verifier prepared once per key --------------------------------------------------- */

struct sb_sig_verifier {
    enum sb_sig_scheme scheme;
    enum sb_hash h;
    EVP_PKEY *pk;       /* our own reference */
    EVP_MD *md;         /* fetched once */
    EVP_MD_CTX *mdctx;  /* re-initialized per message with the fetched md */
    EVP_PKEY_CTX *pctx; /* verify-initialized once (padding and digest set for RSA) */
    size_t modlen;      /* RSA */
    int curve;          /* ECDSA: looked up once (it costs a parameter query) */
};

void sb_sig_verifier_free(sb_sig_verifier *v) {
    if (!v) return;
    EVP_PKEY_CTX_free(v->pctx);
    EVP_MD_CTX_free(v->mdctx);
    EVP_MD_free(v->md);
    EVP_PKEY_free(v->pk);
    free(v);
}

int sb_sig_verifier_new(const sb_pubkey *k, enum sb_hash h, enum sb_sig_scheme scheme,
                        sb_sig_verifier **out, sb_error *err) {
    const EVP_MD *named = sb_evp_md(h);
    ENSURE(named, err, SB_E_USAGE, "verifier: unknown hash %d", (int)h);
    ENSURE(k && k->pk, err, SB_E_USAGE, "verifier: no key");
    enum sb_key_type kt = sb_evp_key_type(k->pk);
    ENSURE((scheme == SB_SIG_RSA_PKCS1 && kt == SB_KEY_RSA) ||
               (scheme == SB_SIG_ECDSA && kt == SB_KEY_EC),
           err, SB_E_USAGE, "verifier: scheme %d does not fit the key", (int)scheme);
    sb_sig_verifier *v = calloc(1, sizeof(*v));
    if (!v) BAIL(err, SB_E_INTERNAL, "verifier: out of memory");
    v->scheme = scheme;
    v->h = h;
    v->pk = k->pk;
    if (EVP_PKEY_up_ref(v->pk) != 1) {
        v->pk = NULL;
        sb_sig_verifier_free(v);
        return sb_ossl_err(err, SB_E_INTERNAL, "verifier: key reference");
    }
    v->md = EVP_MD_fetch(NULL, EVP_MD_get0_name(named), NULL);
    v->mdctx = EVP_MD_CTX_new();
    v->pctx = EVP_PKEY_CTX_new_from_pkey(NULL, v->pk, NULL);
    bool ok = v->md && v->mdctx && v->pctx && EVP_PKEY_verify_init(v->pctx) == 1;
    if (ok && scheme == SB_SIG_RSA_PKCS1)
        ok = EVP_PKEY_CTX_set_rsa_padding(v->pctx, RSA_PKCS1_PADDING) > 0 &&
             EVP_PKEY_CTX_set_signature_md(v->pctx, v->md) > 0;
    if (!ok) {
        sb_sig_verifier_free(v);
        return sb_ossl_err(err, SB_E_INTERNAL, "verifier: cannot set up %s verification",
                           sb_hash_name(h));
    }
    v->modlen = (size_t)EVP_PKEY_get_size(v->pk);
    if (scheme == SB_SIG_ECDSA) v->curve = sb_evp_curve(v->pk);
    *out = v;
    return 0;
}

int sb_sig_verifier_verify(sb_sig_verifier *v, const void *msg, size_t msglen, const uint8_t *sig,
                           size_t siglen, enum sb_ecdsa_enc enc, sb_error *err) {
    ENSURE(v, err, SB_E_USAGE, "verifier: none");
    ENSURE(msg || msglen == 0, err, SB_E_USAGE, "verifier: NULL message");
    const uint8_t *s = sig;
    size_t sl = siglen;
    uint8_t *owned = NULL;
    const char *what = v->scheme == SB_SIG_RSA_PKCS1 ? "rsa-pkcs1" : "ecdsa";
    if (v->scheme == SB_SIG_RSA_PKCS1) {
        ENSURE(sig && siglen > 0, err, SB_E_SIGNATURE, "%s: empty signature", what);
        ENSURE(siglen == v->modlen, err, SB_E_SIGNATURE,
               "%s: signature of %zu bytes for a %zu-byte modulus", what, siglen, v->modlen);
    } else if (enc == SB_ECDSA_RAW_BE || enc == SB_ECDSA_RAW_LE) {
        ENSURE(sig, err, SB_E_USAGE, "ecdsa: NULL signature");
        TRY(raw_to_der(v->curve, sig, siglen, enc == SB_ECDSA_RAW_LE, &owned, &sl, err));
        s = owned;
    } else {
        sb_pubkey k = {.pk = v->pk};
        TRY(ecdsa_sig_der(&k, sig, siglen, enc, &s, &sl, &owned, err));
    }
    uint8_t d[EVP_MAX_MD_SIZE];
    unsigned int dl = 0;
    int r = -1;
    if (EVP_DigestInit_ex2(v->mdctx, v->md, NULL) == 1 &&
        EVP_DigestUpdate(v->mdctx, msglen ? msg : (const void *)"", msglen) == 1 &&
        EVP_DigestFinal_ex(v->mdctx, d, &dl) == 1)
        r = EVP_PKEY_verify(v->pctx, s, sl, d, dl);
    OPENSSL_free(owned);
    return verdict(r, what, err);
}

int sb_ed25519_verify(const sb_pubkey *k, const void *msg, size_t msglen, const uint8_t *sig,
                      size_t siglen, sb_error *err) {
    ENSURE(k && k->pk && sb_evp_key_type(k->pk) == SB_KEY_ED25519, err, SB_E_USAGE,
           "ed25519: key is not an Ed25519 key");
    ENSURE(msg || msglen == 0, err, SB_E_USAGE, "ed25519: NULL message");
    ENSURE(sig && siglen == 64, err, SB_E_SIGNATURE, "ed25519: signature of %zu bytes (need 64)",
           siglen);
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    int r = -1;
    if (ctx && EVP_DigestVerifyInit(ctx, NULL, NULL, NULL, k->pk) == 1)
        r = EVP_DigestVerify(ctx, sig, siglen, msglen ? msg : (const void *)"", msglen);
    EVP_MD_CTX_free(ctx);
    return verdict(r, "ed25519", err);
}

/* DER ECDSA-Sig-Value to fixed-width r||s, each field coord bytes in the given order. */
static int der_to_raw(const uint8_t *der, size_t derlen, size_t coord, bool le, uint8_t **out,
                      size_t *outlen, sb_error *err) {
    const unsigned char *q = der;
    ECDSA_SIG *es = d2i_ECDSA_SIG(NULL, &q, (long)derlen);
    if (!es) return sb_ossl_err(err, SB_E_INTERNAL, "sign: cannot decode own signature");
    const BIGNUM *r = NULL, *s = NULL;
    ECDSA_SIG_get0(es, &r, &s);
    uint8_t *raw = malloc(2 * coord);
    int ok = raw != NULL;
    if (ok && le)
        ok = BN_bn2lebinpad(r, raw, (int)coord) == (int)coord &&
             BN_bn2lebinpad(s, raw + coord, (int)coord) == (int)coord;
    else if (ok)
        ok = BN_bn2binpad(r, raw, (int)coord) == (int)coord &&
             BN_bn2binpad(s, raw + coord, (int)coord) == (int)coord;
    ECDSA_SIG_free(es);
    if (!ok) {
        free(raw);
        return sb_ossl_err(err, SB_E_INTERNAL, "sign: raw encoding failed");
    }
    *out = raw;
    *outlen = 2 * coord;
    return 0;
}

int sb_sign(const sb_privkey *k, enum sb_hash h, const void *msg, size_t msglen,
            enum sb_ecdsa_enc enc, uint8_t **sig, size_t *siglen, sb_error *err) {
    ENSURE(k && k->pk, err, SB_E_USAGE, "sign: NULL key");
    ENSURE(msg || msglen == 0, err, SB_E_USAGE, "sign: NULL message");
    enum sb_key_type t = sb_evp_key_type(k->pk);
    const EVP_MD *md = NULL;
    if (t != SB_KEY_ED25519) {
        md = sb_evp_md(h);
        ENSURE(md, err, SB_E_USAGE, "sign: unknown hash %d", (int)h);
    }
    if (t == SB_KEY_EC)
        ENSURE((unsigned)enc < SB_ECDSA_ENC_MAX, err, SB_E_USAGE, "sign: unknown encoding %d",
               (int)enc);
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    EVP_PKEY_CTX *pctx = NULL;
    size_t len = 0;
    uint8_t *buf = NULL;
    int rc = 0;
    const void *m = msglen ? msg : (const void *)"";
    if (!ctx || EVP_DigestSignInit(ctx, &pctx, md, NULL, k->pk) != 1 ||
        (t == SB_KEY_RSA && EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PADDING) <= 0) ||
        EVP_DigestSign(ctx, NULL, &len, m, msglen) != 1 || !(buf = malloc(len)) ||
        EVP_DigestSign(ctx, buf, &len, m, msglen) != 1) {
        rc = sb_ossl_err(err, SB_E_INTERNAL, "sign: %s signature failed",
                         t == SB_KEY_EC    ? "ECDSA"
                         : t == SB_KEY_RSA ? "RSA"
                                           : "Ed25519");
        free(buf);
        buf = NULL;
    }
    EVP_MD_CTX_free(ctx);
    if (rc < 0) return rc;
    if (t == SB_KEY_EC && enc != SB_ECDSA_DER) {
        uint8_t *raw = NULL;
        size_t rawlen = 0;
        rc = der_to_raw(buf, len, sb_curve_coord_len((enum sb_curve)sb_evp_curve(k->pk)),
                        enc == SB_ECDSA_RAW_LE, &raw, &rawlen, err);
        free(buf);
        if (rc < 0) return rc;
        buf = raw;
        len = rawlen;
    }
    *sig = buf;
    *siglen = len;
    return 0;
}
