/* pke: ECDH key agreement and RSAES-OAEP (SHA-256, MGF1-SHA-256) through EVP_PKEY. */
#include <openssl/err.h>
#include <openssl/rsa.h>
#include <string.h>

#include "internal.h"

#define SB_OAEP_IN_MAX 1024

int sb_ecdh(const sb_privkey *priv, const sb_pubkey *peer, uint8_t **out, size_t *outlen,
            sb_error *err) {
    ENSURE(priv && peer && priv->pk && peer->pk, err, SB_E_USAGE, "ecdh: NULL key");
    ENSURE(sb_evp_key_type(priv->pk) == SB_KEY_EC && sb_evp_key_type(peer->pk) == SB_KEY_EC, err,
           SB_E_USAGE, "ecdh: both keys must be EC keys");
    int c1 = sb_evp_curve(priv->pk), c2 = sb_evp_curve(peer->pk);
    ENSURE(c1 == c2, err, SB_E_USAGE, "ecdh: keys on different curves (%s, %s)",
           sb_curve_group((enum sb_curve)c1), sb_curve_group((enum sb_curve)c2));
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_pkey(NULL, priv->pk, NULL);
    size_t len = 0;
    uint8_t *z = NULL;
    int ok = ctx && EVP_PKEY_derive_init(ctx) == 1 &&
             EVP_PKEY_derive_set_peer(ctx, peer->pk) == 1 &&
             EVP_PKEY_derive(ctx, NULL, &len) == 1 && len > 0 && (z = malloc(len)) != NULL &&
             EVP_PKEY_derive(ctx, z, &len) == 1;
    EVP_PKEY_CTX_free(ctx);
    if (!ok) {
        if (z) sb_wipe(z, len);
        free(z);
        return sb_ossl_err(err, SB_E_INTERNAL, "ecdh: derivation failed");
    }
    *out = z;
    *outlen = len;
    return 0;
}

static EVP_PKEY_CTX *oaep_ctx(EVP_PKEY *pk, bool enc) {
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_pkey(NULL, pk, NULL);
    if (ctx && (enc ? EVP_PKEY_encrypt_init(ctx) : EVP_PKEY_decrypt_init(ctx)) == 1 &&
        EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_OAEP_PADDING) > 0 &&
        EVP_PKEY_CTX_set_rsa_oaep_md(ctx, EVP_sha256()) > 0 &&
        EVP_PKEY_CTX_set_rsa_mgf1_md(ctx, EVP_sha256()) > 0)
        return ctx;
    EVP_PKEY_CTX_free(ctx);
    return NULL;
}

int sb_rsa_oaep256_encrypt(const sb_pubkey *k, const uint8_t *in, size_t inlen, uint8_t **out,
                           size_t *outlen, sb_error *err) {
    ENSURE(k && k->pk && sb_evp_key_type(k->pk) == SB_KEY_RSA, err, SB_E_USAGE,
           "rsa-oaep: key is not an RSA key");
    size_t modlen = (size_t)EVP_PKEY_get_size(k->pk);
    /* RFC 8017 §7.1.1: mLen <= k - 2hLen - 2 */
    ENSURE(in && inlen > 0 && inlen + 2 * 32 + 2 <= modlen, err, SB_E_USAGE,
           "rsa-oaep: %zu bytes do not fit a %zu-byte modulus", inlen, modlen);
    EVP_PKEY_CTX *ctx = oaep_ctx(k->pk, true);
    size_t len = modlen;
    uint8_t *buf = malloc(modlen);
    int ok = ctx && buf && EVP_PKEY_encrypt(ctx, buf, &len, in, inlen) == 1;
    EVP_PKEY_CTX_free(ctx);
    if (!ok) {
        free(buf);
        return sb_ossl_err(err, SB_E_INTERNAL, "rsa-oaep: encryption failed");
    }
    *out = buf;
    *outlen = len;
    return 0;
}

int sb_rsa_oaep256_decrypt(const sb_privkey *k, const uint8_t *in, size_t inlen, uint8_t **out,
                           size_t *outlen, sb_error *err) {
    ENSURE(k && k->pk && sb_evp_key_type(k->pk) == SB_KEY_RSA, err, SB_E_USAGE,
           "rsa-oaep: key is not an RSA key");
    size_t modlen = (size_t)EVP_PKEY_get_size(k->pk);
    ENSURE(in && inlen == modlen && inlen <= SB_OAEP_IN_MAX, err, SB_E_MALFORMED,
           "rsa-oaep: ciphertext of %zu bytes for a %zu-byte modulus", inlen, modlen);
    EVP_PKEY_CTX *ctx = oaep_ctx(k->pk, false);
    size_t len = modlen;
    uint8_t *buf = malloc(modlen);
    int ok = ctx && buf && EVP_PKEY_decrypt(ctx, buf, &len, in, inlen) == 1;
    EVP_PKEY_CTX_free(ctx);
    if (!ok) {
        if (buf) sb_wipe(buf, modlen);
        free(buf);
        /* One message for every failure: no padding-oracle detail leaves this function. */
        ERR_clear_error();
        BAIL(err, SB_E_SIGNATURE, "rsa-oaep: decryption failed");
    }
    *out = buf;
    *outlen = len;
    return 0;
}
