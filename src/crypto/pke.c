/* pke: ECDH key agreement and RSAES-OAEP (SHA-256, MGF1-SHA-256) through EVP_PKEY. */
#include <openssl/err.h>
#include <openssl/rsa.h>
#include <string.h>

#include "internal.h"

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
    /* The peer is not validated again here (EVP_PKEY_derive_set_peer would run the full public
     * check, a scalar multiplication by the order, on every derivation): every sb_pubkey EC
     * key was decoded onto its curve when it was made (sb_pubkey_from_ec_point checks it, the
     * SPKI decoder rejects points off the curve), the curves have cofactor 1, and a result at
     * infinity fails the derivation. */
    int ok = ctx && EVP_PKEY_derive_init(ctx) == 1 &&
             EVP_PKEY_derive_set_peer_ex(ctx, peer->pk, 0) == 1 &&
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

/* RSA-OAEP-256 of JWA is RSAES-OAEP with SHA-256, MGF1-SHA-256 and no label (src/crypto/tpm2.c
 * has the general form). */
int sb_rsa_oaep256_encrypt(const sb_pubkey *k, const uint8_t *in, size_t inlen, uint8_t **out,
                           size_t *outlen, sb_error *err) {
    return sb_rsa_oaep_encrypt(k, SB_HASH_SHA256, NULL, 0, in, inlen, out, outlen, err);
}

int sb_rsa_oaep256_decrypt(const sb_privkey *k, const uint8_t *in, size_t inlen, uint8_t **out,
                           size_t *outlen, sb_error *err) {
    return sb_rsa_oaep_decrypt(k, SB_HASH_SHA256, NULL, 0, in, inlen, out, outlen, err);
}
