/* kdf: HKDF (RFC 5869) and the NIST SP 800-56A single-step "Concat KDF" of JWA ECDH-ES,
 * both through EVP_KDF ("HKDF" and "SSKDF"). */
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/kdf.h>

#include "internal.h"

#define SB_KDF_OUT_MAX (64u * 1024u)
#define SB_KDF_IN_MAX (1u << 20)

static int run_kdf(const char *alg, enum sb_hash h, OSSL_PARAM *params, uint8_t *out, size_t outlen,
                   sb_error *err) {
    EVP_KDF *kdf = EVP_KDF_fetch(NULL, alg, NULL);
    EVP_KDF_CTX *ctx = kdf ? EVP_KDF_CTX_new(kdf) : NULL;
    int ok = ctx && EVP_KDF_derive(ctx, out, outlen, params) == 1;
    EVP_KDF_CTX_free(ctx);
    EVP_KDF_free(kdf);
    if (!ok)
        return sb_ossl_err(err, SB_E_INTERNAL, "%s-%s: derivation failed", alg, sb_hash_name(h));
    return 0;
}

int sb_hkdf(enum sb_hash h, const uint8_t *salt, size_t saltlen, const uint8_t *ikm, size_t ikmlen,
            const uint8_t *info, size_t infolen, uint8_t *out, size_t outlen, sb_error *err) {
    ENSURE(sb_evp_md(h), err, SB_E_USAGE, "hkdf: unknown hash %d", (int)h);
    ENSURE(out && outlen > 0 && outlen <= 255 * sb_hash_len(h), err, SB_E_USAGE,
           "hkdf: output of %zu bytes (1..%zu for %s)", outlen, 255 * sb_hash_len(h),
           sb_hash_name(h));
    ENSURE((salt || saltlen == 0) && (ikm || ikmlen == 0) && (info || infolen == 0), err,
           SB_E_USAGE, "hkdf: NULL input");
    ENSURE(saltlen <= SB_KDF_IN_MAX && ikmlen <= SB_KDF_IN_MAX && infolen <= 1024, err, SB_E_LIMIT,
           "hkdf: input over the limit");
    static uint8_t empty[1];
    OSSL_PARAM params[5];
    size_t i = 0;
    params[i++] =
        OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, (char *)sb_hash_name(h), 0);
    params[i++] =
        OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, ikmlen ? (void *)ikm : empty, ikmlen);
    /* No salt is the same as HashLen zero bytes (RFC 5869 §2.2); OpenSSL does that itself. */
    if (saltlen)
        params[i++] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, (void *)salt, saltlen);
    if (infolen)
        params[i++] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, (void *)info, infolen);
    params[i] = OSSL_PARAM_construct_end();
    return run_kdf("HKDF", h, params, out, outlen, err);
}

int sb_concat_kdf(enum sb_hash h, const uint8_t *z, size_t zlen, const uint8_t *otherinfo,
                  size_t oilen, uint8_t *out, size_t outlen, sb_error *err) {
    ENSURE(sb_evp_md(h), err, SB_E_USAGE, "concat-kdf: unknown hash %d", (int)h);
    ENSURE(z && zlen > 0 && zlen <= SB_KDF_IN_MAX, err, SB_E_USAGE,
           "concat-kdf: shared secret of %zu bytes", zlen);
    ENSURE((otherinfo || oilen == 0) && oilen <= SB_KDF_IN_MAX, err, SB_E_USAGE,
           "concat-kdf: OtherInfo of %zu bytes", oilen);
    ENSURE(out && outlen > 0 && outlen <= SB_KDF_OUT_MAX, err, SB_E_USAGE,
           "concat-kdf: output of %zu bytes", outlen);
    /* SSKDF with a digest and no MAC is SP 800-56A §5.8.1: H(counter || Z || OtherInfo) with
     * a 32-bit big-endian counter from 1, blocks concatenated and truncated to outlen, which is
     * exactly JWA ECDH-ES (RFC 7518 §4.6.2). */
    OSSL_PARAM params[4];
    size_t i = 0;
    params[i++] =
        OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, (char *)sb_hash_name(h), 0);
    params[i++] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, (void *)z, zlen);
    if (oilen)
        params[i++] =
            OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, (void *)otherinfo, oilen);
    params[i] = OSSL_PARAM_construct_end();
    return run_kdf("SSKDF", h, params, out, outlen, err);
}
