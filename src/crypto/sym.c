/* sym: AES-256-GCM sealing/opening and RFC 3394 AES key wrap, through EVP_CIPHER. */
#include <openssl/err.h>
#include <string.h>

#include "internal.h"

#define SB_GCM_IV_MAX 256       /* IV bytes accepted (96-bit IVs are the norm) */
#define SB_AEAD_MAX (1u << 30)  /* plaintext / AAD bytes per call */
#define SB_KW_MAX (64u * 1024u) /* key data wrapped per call */

static int gcm(bool enc, const uint8_t key[32], const uint8_t *iv, size_t ivlen, const uint8_t *aad,
               size_t aadlen, const uint8_t *in, size_t inlen, uint8_t *out, uint8_t tag[16],
               sb_error *err) {
    const char *what = enc ? "aes-gcm seal" : "aes-gcm open";
    ENSURE(key && tag, err, SB_E_USAGE, "%s: NULL key or tag", what);
    ENSURE(iv && ivlen > 0 && ivlen <= SB_GCM_IV_MAX, err, SB_E_USAGE, "%s: IV of %zu bytes", what,
           ivlen);
    ENSURE((aad || aadlen == 0) && (in || inlen == 0) && (out || inlen == 0), err, SB_E_USAGE,
           "%s: NULL buffer", what);
    ENSURE(aadlen <= SB_AEAD_MAX && inlen <= SB_AEAD_MAX, err, SB_E_LIMIT,
           "%s: input over the limit of %u bytes", what, SB_AEAD_MAX);
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    int outl = 0, ok = ctx != NULL;
    ok = ok && EVP_CipherInit_ex(ctx, EVP_aes_256_gcm(), NULL, NULL, NULL, enc) == 1;
    ok = ok && EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_IVLEN, (int)ivlen, NULL) == 1;
    ok = ok && EVP_CipherInit_ex(ctx, NULL, NULL, key, iv, enc) == 1;
    if (ok && aadlen) ok = EVP_CipherUpdate(ctx, NULL, &outl, aad, (int)aadlen) == 1;
    if (ok && inlen) ok = EVP_CipherUpdate(ctx, out, &outl, in, (int)inlen) == 1;
    if (ok && !enc) ok = EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, 16, (void *)tag) == 1;
    if (!ok) {
        EVP_CIPHER_CTX_free(ctx);
        return sb_ossl_err(err, SB_E_INTERNAL, "%s: cipher setup failed", what);
    }
    uint8_t fin[16];
    int fl = 0;
    int fr = EVP_CipherFinal_ex(ctx, fin, &fl);
    if (enc && fr == 1) fr = EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, 16, tag);
    EVP_CIPHER_CTX_free(ctx);
    if (fr != 1) {
        if (enc) return sb_ossl_err(err, SB_E_INTERNAL, "%s: failed", what);
        /* Never hand out plaintext that did not authenticate. */
        if (inlen) sb_wipe(out, inlen);
        ERR_clear_error();
        BAIL(err, SB_E_SIGNATURE, "aes-gcm open: authentication tag does not match");
    }
    return 0;
}

int sb_aes256gcm_seal(const uint8_t key[32], const uint8_t *iv, size_t ivlen, const uint8_t *aad,
                      size_t aadlen, const uint8_t *pt, size_t ptlen, uint8_t *ct, uint8_t tag[16],
                      sb_error *err) {
    return gcm(true, key, iv, ivlen, aad, aadlen, pt, ptlen, ct, tag, err);
}

int sb_aes256gcm_open(const uint8_t key[32], const uint8_t *iv, size_t ivlen, const uint8_t *aad,
                      size_t aadlen, const uint8_t *ct, size_t ctlen, const uint8_t tag[16],
                      uint8_t *pt, sb_error *err) {
    uint8_t t[16];
    ENSURE(tag, err, SB_E_USAGE, "aes-gcm open: NULL tag");
    memcpy(t, tag, 16);
    return gcm(false, key, iv, ivlen, aad, aadlen, ct, ctlen, pt, t, err);
}

static const EVP_CIPHER *kw_cipher(size_t keklen) {
    switch (keklen) {
    case 16: return EVP_aes_128_wrap();
    case 24: return EVP_aes_192_wrap();
    case 32: return EVP_aes_256_wrap();
    default: return NULL;
    }
}

static int kw(bool enc, const uint8_t *kek, size_t keklen, const uint8_t *in, size_t inlen,
              uint8_t *out, sb_error *err) {
    const char *what = enc ? "aes-kw wrap" : "aes-kw unwrap";
    const EVP_CIPHER *c = kw_cipher(keklen);
    ENSURE(c && kek, err, SB_E_USAGE, "%s: KEK of %zu bytes (16, 24 or 32)", what, keklen);
    ENSURE(in && out, err, SB_E_USAGE, "%s: NULL buffer", what);
    ENSURE(inlen <= SB_KW_MAX, err, SB_E_LIMIT, "%s: %zu bytes is over the limit of %u", what,
           inlen, SB_KW_MAX);
    /* RFC 3394 §2: at least two 64-bit blocks of key data; the wrapped form adds one. */
    ENSURE(inlen % 8 == 0 && inlen >= (enc ? 16u : 24u), err, SB_E_MALFORMED,
           "%s: input of %zu bytes (a multiple of 8, at least %u)", what, inlen, enc ? 16u : 24u);
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    int outl = 0, fl = 0;
    if (!ctx) return sb_ossl_err(err, SB_E_INTERNAL, "%s: out of memory", what);
    /* Wrap modes must be allowed explicitly (they ignore the streaming contract). A NULL IV
     * selects RFC 3394's default A6A6A6A6A6A6A6A6 and unwrap checks it. */
    EVP_CIPHER_CTX_set_flags(ctx, EVP_CIPHER_CTX_FLAG_WRAP_ALLOW);
    int ok = EVP_CipherInit_ex(ctx, c, NULL, kek, NULL, enc) == 1 &&
             EVP_CipherUpdate(ctx, out, &outl, in, (int)inlen) == 1 &&
             EVP_CipherFinal_ex(ctx, out + outl, &fl) == 1;
    EVP_CIPHER_CTX_free(ctx);
    size_t want = enc ? inlen + 8 : inlen - 8;
    if (!ok || (size_t)(outl + fl) != want) {
        if (enc) return sb_ossl_err(err, SB_E_INTERNAL, "%s: failed", what);
        sb_wipe(out, want);
        ERR_clear_error();
        BAIL(err, SB_E_SIGNATURE, "aes-kw unwrap: integrity check failed (wrong KEK or data)");
    }
    return 0;
}

int sb_aes_kw_wrap(const uint8_t *kek, size_t keklen, const uint8_t *in, size_t inlen, uint8_t *out,
                   sb_error *err) {
    return kw(true, kek, keklen, in, inlen, out, err);
}

int sb_aes_kw_unwrap(const uint8_t *kek, size_t keklen, const uint8_t *in, size_t inlen,
                     uint8_t *out, sb_error *err) {
    return kw(false, kek, keklen, in, inlen, out, err);
}
