/* tpm2: the primitives of TPM 2.0 credential protection (TPM 2.0 Library Part 1 §11.4, §24):
 * KDFa (SP 800-108 counter mode with HMAC), AES in CFB mode, and RSA-OAEP with a label. */
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/kdf.h>
#include <openssl/rsa.h>
#include <string.h>

#include "internal.h"

#define SB_KDFA_OUT_MAX 1024u   /* bytes derived per call (a TPM asks for a key or an HMAC key) */
#define SB_KDFA_IN_MAX 1024u    /* key, label, context bytes */
#define SB_CFB_MAX (1u << 20)   /* bytes per CFB call */
#define SB_OAEP_LABEL_MAX 256u  /* OAEP label bytes */
#define SB_OAEP_INPUT_MAX 1024u /* RSA-8192 ciphertexts */

int sb_kdfa(enum sb_hash h, const uint8_t *key, size_t keylen, const char *label,
            const uint8_t *ctx_u, size_t ulen, const uint8_t *ctx_v, size_t vlen, uint8_t *out,
            size_t outlen, sb_error *err) {
    ENSURE(sb_evp_md(h), err, SB_E_USAGE, "kdfa: unknown hash %d", (int)h);
    ENSURE(key && keylen > 0 && keylen <= SB_KDFA_IN_MAX, err, SB_E_USAGE, "kdfa: key of %zu bytes",
           keylen);
    ENSURE(label && strlen(label) < SB_KDFA_IN_MAX, err, SB_E_USAGE, "kdfa: label missing");
    ENSURE((ctx_u || ulen == 0) && (ctx_v || vlen == 0) && ulen + vlen <= SB_KDFA_IN_MAX, err,
           SB_E_USAGE, "kdfa: context of %zu + %zu bytes", ulen, vlen);
    ENSURE(out && outlen > 0 && outlen <= SB_KDFA_OUT_MAX, err, SB_E_USAGE,
           "kdfa: output of %zu bytes", outlen);
    /* KDFa(key, label, U, V, bits) = the first bits of HMAC(key, [i]32 || label || 0x00 ||
     * U || V || [bits]32) for i = 1, 2, ...: OpenSSL's KBKDF in counter mode with its
     * defaults (32-bit counter, the zero separator after the label, L appended in bits). */
    uint8_t ctx[SB_KDFA_IN_MAX];
    if (ulen) memcpy(ctx, ctx_u, ulen);
    if (vlen) memcpy(ctx + ulen, ctx_v, vlen);
    static uint8_t empty[1];
    OSSL_PARAM params[7];
    size_t i = 0;
    params[i++] = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_MODE, "counter", 0);
    params[i++] = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_MAC, "HMAC", 0);
    params[i++] =
        OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, (char *)sb_hash_name(h), 0);
    params[i++] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, (void *)key, keylen);
    params[i++] = OSSL_PARAM_construct_octet_string(
        OSSL_KDF_PARAM_SALT, strlen(label) ? (void *)label : empty, strlen(label));
    params[i++] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, ulen + vlen ? ctx : empty,
                                                    ulen + vlen);
    params[i] = OSSL_PARAM_construct_end();
    EVP_KDF *kdf = EVP_KDF_fetch(NULL, "KBKDF", NULL);
    EVP_KDF_CTX *kc = kdf ? EVP_KDF_CTX_new(kdf) : NULL;
    int ok = kc && EVP_KDF_derive(kc, out, outlen, params) == 1;
    EVP_KDF_CTX_free(kc);
    EVP_KDF_free(kdf);
    sb_wipe(ctx, sizeof(ctx));
    if (!ok) return sb_ossl_err(err, SB_E_INTERNAL, "kdfa-%s: derivation failed", sb_hash_name(h));
    return 0;
}

int sb_aes_cfb(bool enc, const uint8_t *key, size_t keylen, const uint8_t iv[16], const uint8_t *in,
               size_t n, uint8_t *out, sb_error *err) {
    const EVP_CIPHER *c = keylen == 16   ? EVP_aes_128_cfb128()
                          : keylen == 24 ? EVP_aes_192_cfb128()
                          : keylen == 32 ? EVP_aes_256_cfb128()
                                         : NULL;
    ENSURE(c && key && iv, err, SB_E_USAGE, "aes-cfb: key of %zu bytes (16, 24 or 32)", keylen);
    ENSURE((in && out) || n == 0, err, SB_E_USAGE, "aes-cfb: NULL buffer");
    ENSURE(n <= SB_CFB_MAX, err, SB_E_LIMIT, "aes-cfb: %zu bytes over the limit of %u", n,
           SB_CFB_MAX);
    if (n == 0) return 0;
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    int outl = 0, fl = 0;
    uint8_t fin[16];
    int ok = ctx && EVP_CipherInit_ex(ctx, c, NULL, key, iv, enc) == 1 &&
             EVP_CipherUpdate(ctx, out, &outl, in, (int)n) == 1 &&
             EVP_CipherFinal_ex(ctx, fin, &fl) == 1 && (size_t)outl == n && fl == 0;
    EVP_CIPHER_CTX_free(ctx);
    if (!ok) return sb_ossl_err(err, SB_E_INTERNAL, "aes-cfb: cipher failed");
    return 0;
}

static EVP_PKEY_CTX *oaep_label_ctx(EVP_PKEY *pk, bool enc, enum sb_hash h, const void *label,
                                    size_t labellen) {
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_pkey(NULL, pk, NULL);
    unsigned char *l = labellen ? OPENSSL_memdup(label, labellen) : NULL;
    if (ctx && (labellen == 0 || l) &&
        (enc ? EVP_PKEY_encrypt_init(ctx) : EVP_PKEY_decrypt_init(ctx)) == 1 &&
        EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_OAEP_PADDING) > 0 &&
        EVP_PKEY_CTX_set_rsa_oaep_md(ctx, sb_evp_md(h)) > 0 &&
        EVP_PKEY_CTX_set_rsa_mgf1_md(ctx, sb_evp_md(h)) > 0 &&
        (labellen == 0 || EVP_PKEY_CTX_set0_rsa_oaep_label(ctx, l, (int)labellen) > 0))
        return ctx; /* the context owns the label now */
    OPENSSL_free(l);
    EVP_PKEY_CTX_free(ctx);
    return NULL;
}

/* The checks both directions make of their key, hash and label. */
static int oaep_args(const EVP_PKEY *pk, enum sb_hash h, const void *label, size_t labellen,
                     sb_error *err) {
    ENSURE(pk && sb_evp_key_type(pk) == SB_KEY_RSA, err, SB_E_USAGE,
           "rsa-oaep: key is not an RSA key");
    ENSURE(sb_evp_md(h), err, SB_E_USAGE, "rsa-oaep: unknown hash %d", (int)h);
    ENSURE((label || labellen == 0) && labellen <= SB_OAEP_LABEL_MAX, err, SB_E_USAGE,
           "rsa-oaep: label of %zu bytes", labellen);
    return 0;
}

int sb_rsa_oaep_encrypt(const sb_pubkey *k, enum sb_hash h, const void *label, size_t labellen,
                        const uint8_t *in, size_t inlen, uint8_t **out, size_t *outlen,
                        sb_error *err) {
    TRY(oaep_args(k ? k->pk : NULL, h, label, labellen, err));
    size_t modlen = (size_t)EVP_PKEY_get_size(k->pk);
    ENSURE(in && inlen > 0 && inlen + 2 * sb_hash_len(h) + 2 <= modlen, err, SB_E_USAGE,
           "rsa-oaep: %zu bytes do not fit a %zu-byte modulus with %s", inlen, modlen,
           sb_hash_name(h));
    EVP_PKEY_CTX *ctx = oaep_label_ctx(k->pk, true, h, label, labellen);
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

int sb_rsa_oaep_decrypt(const sb_privkey *k, enum sb_hash h, const void *label, size_t labellen,
                        const uint8_t *in, size_t inlen, uint8_t **out, size_t *outlen,
                        sb_error *err) {
    TRY(oaep_args(k ? k->pk : NULL, h, label, labellen, err));
    size_t modlen = (size_t)EVP_PKEY_get_size(k->pk);
    ENSURE(in && inlen == modlen && inlen <= SB_OAEP_INPUT_MAX, err, SB_E_MALFORMED,
           "rsa-oaep: ciphertext of %zu bytes for a %zu-byte modulus", inlen, modlen);
    EVP_PKEY_CTX *ctx = oaep_label_ctx(k->pk, false, h, label, labellen);
    size_t len = modlen;
    uint8_t *buf = malloc(modlen);
    int ok = ctx && buf && EVP_PKEY_decrypt(ctx, buf, &len, in, inlen) == 1;
    EVP_PKEY_CTX_free(ctx);
    if (!ok) {
        if (buf) sb_wipe(buf, modlen);
        free(buf);
        ERR_clear_error();
        BAIL(err, SB_E_SIGNATURE, "rsa-oaep: decryption failed");
    }
    *out = buf;
    *outlen = len;
    return 0;
}
