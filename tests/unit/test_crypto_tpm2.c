/* test_crypto_tpm2: known answers for the TPM 2.0 credential primitives — KDFa (vectors from an
 * independent HMAC-based implementation of SP 800-108 counter mode), AES-128-CFB (SP 800-38A
 * F.3.13) and RSA-OAEP with a label (round trip, wrong label and wrong hash refused). */
#include <stdlib.h>

#include "crypto/crypto.h"
#include "harness.h"

static bool hex_eq(const uint8_t *p, size_t n, const char *want) {
    char *h = sb_hex_dup(p, n);
    bool eq = h && strcmp(h, want) == 0;
    if (!eq) fprintf(stderr, "    got  %s\n    want %s\n", h ? h : "(null)", want);
    free(h);
    return eq;
}

TEST(kdfa_known_answers) {
    sb_error err = {0};
    uint8_t key[32], u[34], out[80];
    for (int i = 0; i < 32; i++)
        key[i] = (uint8_t)i;
    u[0] = 0x00;
    u[1] = 0x0b;
    for (int i = 0; i < 32; i++)
        u[2 + i] = (uint8_t)(0x40 + i);
    /* the credential's symmetric key: label "STORAGE", context = the AK name */
    CHECK_OK(sb_kdfa(SB_HASH_SHA256, key, 32, "STORAGE", u, sizeof(u), NULL, 0, out, 16, &err),
             &err);
    CHECK(hex_eq(out, 16, "7a58c2079bee13e00ed160d657aecaef"));
    /* the integrity key: no context */
    CHECK_OK(sb_kdfa(SB_HASH_SHA256, key, 32, "INTEGRITY", NULL, 0, NULL, 0, out, 32, &err), &err);
    CHECK(hex_eq(out, 32, "bacf689f634ece301e1f1b15b072d9c87db6a69585db42b1a0cb8f73ebe2692e"));
    /* several blocks, both context halves, SHA-384 */
    static const uint8_t cu[] = {1, 2}, cv[] = {3};
    CHECK_OK(sb_kdfa(SB_HASH_SHA384, key, 32, "TEST", cu, 2, cv, 1, out, 80, &err), &err);
    CHECK(
        hex_eq(out, 80,
               "528f275e767e817f48451642633fd3aa9ee2f2564c31cd4344f4f1c54f9a3d9ce7c177081f79455e"
               "1322d61a2fef9bd12beff76d80431652ef38c4a4bd30162621e8a60a90826d96edc828d4a1256ecb"));
    CHECK_INT(sb_kdfa(SB_HASH_SHA256, key, 0, "X", NULL, 0, NULL, 0, out, 16, &err), SB_E_USAGE);
    CHECK_INT(sb_kdfa(SB_HASH_SHA256, key, 32, "X", NULL, 0, NULL, 0, out, 0, &err), SB_E_USAGE);
}

TEST(aes128_cfb_sp800_38a) {
    sb_error err = {0};
    static const uint8_t k[16] = {0x2b, 0x7e, 0x15, 0x16, 0x28, 0xae, 0xd2, 0xa6,
                                  0xab, 0xf7, 0x15, 0x88, 0x09, 0xcf, 0x4f, 0x3c};
    static const uint8_t iv[16] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15};
    static const uint8_t pt[32] = {0x6b, 0xc1, 0xbe, 0xe2, 0x2e, 0x40, 0x9f, 0x96, 0xe9, 0x3d, 0x7e,
                                   0x11, 0x73, 0x93, 0x17, 0x2a, 0xae, 0x2d, 0x8a, 0x57, 0x1e, 0x03,
                                   0xac, 0x9c, 0x9e, 0xb7, 0x6f, 0xac, 0x45, 0xaf, 0x8e, 0x51};
    uint8_t ct[32], back[32];
    CHECK_OK(sb_aes_cfb(true, k, 16, iv, pt, 32, ct, &err), &err);
    CHECK(hex_eq(ct, 32, "3b3fd92eb72dad20333449f8e83cfb4ac8a64537a0b3a93fcde3cdad9f1ce58b"));
    CHECK_OK(sb_aes_cfb(false, k, 16, iv, ct, 32, back, &err), &err);
    CHECK_MEM(back, pt, 32);
    /* CFB needs no padding: a partial block */
    CHECK_OK(sb_aes_cfb(true, k, 16, iv, pt, 5, ct, &err), &err);
    CHECK(hex_eq(ct, 5, "3b3fd92eb7"));
    CHECK_INT(sb_aes_cfb(true, k, 15, iv, pt, 5, ct, &err), SB_E_USAGE);
}

TEST(rsa_oaep_with_label) {
    sb_error err = {0};
    sb_privkey *k = NULL;
    sb_pubkey *pub = NULL;
    CHECK_OK(sb_privkey_generate_rsa(2048, &k, &err), &err);
    CHECK_OK(sb_privkey_public(k, &pub, &err), &err);
    if (!k || !pub) goto out;
    static const char label[] = "IDENTITY"; /* sizeof counts the zero byte, as the TPM does */
    uint8_t seed[32];
    CHECK_OK(sb_random(seed, sizeof(seed), &err), &err);
    uint8_t *ct = NULL, *pt = NULL;
    size_t ctn = 0, ptn = 0;
    CHECK_OK(
        sb_rsa_oaep_encrypt(pub, SB_HASH_SHA256, label, sizeof(label), seed, 32, &ct, &ctn, &err),
        &err);
    CHECK_INT(ctn, 256);
    CHECK_OK(sb_rsa_oaep_decrypt(k, SB_HASH_SHA256, label, sizeof(label), ct, ctn, &pt, &ptn, &err),
             &err);
    CHECK_INT(ptn, 32);
    if (pt) CHECK_MEM(pt, seed, 32);
    free(pt);
    pt = NULL;
    /* the label without its zero byte, no label, another hash: all refused */
    CHECK_INT(
        sb_rsa_oaep_decrypt(k, SB_HASH_SHA256, label, strlen(label), ct, ctn, &pt, &ptn, &err),
        SB_E_SIGNATURE);
    CHECK_INT(sb_rsa_oaep_decrypt(k, SB_HASH_SHA256, NULL, 0, ct, ctn, &pt, &ptn, &err),
              SB_E_SIGNATURE);
    CHECK_INT(
        sb_rsa_oaep_decrypt(k, SB_HASH_SHA384, label, sizeof(label), ct, ctn, &pt, &ptn, &err),
        SB_E_SIGNATURE);
    /* the SHA-256 label-less variant is the JWA one */
    uint8_t *ct2 = NULL;
    size_t ct2n = 0;
    CHECK_OK(sb_rsa_oaep256_encrypt(pub, seed, 32, &ct2, &ct2n, &err), &err);
    CHECK_OK(sb_rsa_oaep_decrypt(k, SB_HASH_SHA256, NULL, 0, ct2, ct2n, &pt, &ptn, &err), &err);
    if (pt) CHECK_MEM(pt, seed, 32);
    free(pt);
    free(ct2);
    free(ct);
out:
    sb_pubkey_free(pub);
    sb_privkey_free(k);
}
