/* test_crypto_sym: known-answer tests for AES-256-GCM (McGrew–Viega cases 13–18), RFC 3394
 * key wrap, RFC 5869 HKDF, the RFC 7518 Appendix C Concat KDF and ECDH, RSA-OAEP-256
 * parameters, JWK conversion and RFC 7638 / RFC 8037 thumbprints. */
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <stdlib.h>

#include "crypto/crypto.h"
#include "harness.h"

static uint8_t *hx(const char *s, size_t *n) {
    uint8_t *b = NULL;
    size_t len = 0;
    sb_error err = {0};
    if (sb_hex_decode(s, strlen(s), &b, &len, &err) < 0) {
        sb_test_fail(__FILE__, __LINE__, "bad hex literal: %s", err.msg);
        return calloc(1, 1);
    }
    if (n) *n = len;
    return b;
}

static bool hex_eq(const uint8_t *p, size_t n, const char *want) {
    char *h = sb_hex_dup(p, n);
    bool eq = h && strcmp(h, want) == 0;
    if (!eq) fprintf(stderr, "    got  %s\n    want %s\n", h ? h : "(null)", want);
    free(h);
    return eq;
}

/* ---- AES-256-GCM: "The Galois/Counter Mode of Operation", test cases 13-18 --------------- */

#define GCM_K "feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308"
#define GCM_P60                                                                                    \
    "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a721c3c0c95956809532fcf0e2449a6" \
    "b525b16aedf5aa0de657ba637b39"

static const struct {
    const char *key, *iv, *aad, *pt, *ct, *tag;
} GCM[] = {
    /* 13 */ {"0000000000000000000000000000000000000000000000000000000000000000",
              "000000000000000000000000", "", "", "", "530f8afbc74536b9a963b4f1c4cb738b"},
    /* 14 */
    {"0000000000000000000000000000000000000000000000000000000000000000", "000000000000000000000000",
     "", "00000000000000000000000000000000", "cea7403d4d606b6e074ec5d3baf39d18",
     "d0d1c8a799996bf0265b98b5d48ab919"},
    /* 15 */
    {GCM_K, "cafebabefacedbaddecaf888", "", GCM_P60 "1aafd255",
     "522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa8cb08e48590dbb3da7b08b1056"
     "828838c5f61e6393ba7a0abcc9f662898015ad",
     "b094dac5d93471bdec1a502270e3cc6c"},
    /* 16 */
    {GCM_K, "cafebabefacedbaddecaf888", "feedfacedeadbeeffeedfacedeadbeefabaddad2", GCM_P60,
     "522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa8cb08e48590dbb3da7b08b1056"
     "828838c5f61e6393ba7a0abcc9f662",
     "76fc6ece0f4e1768cddf8853bb2d551b"},
    /* 17: 64-bit IV */
    {GCM_K, "cafebabefacedbad", "feedfacedeadbeeffeedfacedeadbeefabaddad2", GCM_P60,
     "c3762df1ca787d32ae47c13bf19844cbaf1ae14d0b976afac52ff7d79bba9de0feb582d33934a4f0954cc2363b"
     "c73f7862ac430e64abe499f47c9b1f",
     "3a337dbf46a792c45e454913fe2ea8f2"},
    /* 18: 480-bit IV */
    {GCM_K,
     "9313225df88406e555909c5aff5269aa6a7a9538534f7da1e4c303d2a318a728c3c0c95156809539fcf0e2429a"
     "6b525416aedbf5a0de6a57a637b39b",
     "feedfacedeadbeeffeedfacedeadbeefabaddad2", GCM_P60,
     "5a8def2f0c9e53f1f75d7853659e2a20eeb2b22aafde6419a058ab4f6f746bf40fc0c3b780f244452da3ebf1c5"
     "d82cdea2418997200ef82e44ae7e3f",
     "a44a8266ee1c8eb0c8b5d4cf5ae9f19a"},
};

TEST(aes256gcm_mcgrew_viega_13_to_18) {
    sb_error err = {0};
    for (size_t i = 0; i < SB_ARRAY_LEN(GCM); i++) {
        size_t kn, ivn, an, pn, cn, tn;
        uint8_t *k = hx(GCM[i].key, &kn), *iv = hx(GCM[i].iv, &ivn), *a = hx(GCM[i].aad, &an),
                *p = hx(GCM[i].pt, &pn), *c = hx(GCM[i].ct, &cn), *t = hx(GCM[i].tag, &tn);
        uint8_t out[64] = {0}, tag[16], back[64] = {0};
        CHECK_OK(sb_aes256gcm_seal(k, iv, ivn, a, an, p, pn, out, tag, &err), &err);
        CHECK_MSG(hex_eq(out, pn, GCM[i].ct), "ciphertext of case %zu", i + 13);
        CHECK_MSG(hex_eq(tag, 16, GCM[i].tag), "tag of case %zu", i + 13);
        CHECK_OK(sb_aes256gcm_open(k, iv, ivn, a, an, c, cn, t, back, &err), &err);
        CHECK_MEM(back, p, pn);
        /* a flipped tag bit, a flipped AAD bit or ciphertext bit: no plaintext */
        t[0] ^= 1;
        CHECK_INT(sb_aes256gcm_open(k, iv, ivn, a, an, c, cn, t, back, &err), SB_E_SIGNATURE);
        CHECK_CONTAINS(err.msg, "tag does not match");
        uint8_t zero[64] = {0};
        CHECK_MEM(back, zero, pn); /* wiped */
        t[0] ^= 1;
        if (an) {
            a[an - 1] ^= 0x80;
            CHECK_INT(sb_aes256gcm_open(k, iv, ivn, a, an, c, cn, t, back, &err), SB_E_SIGNATURE);
        }
        if (cn) {
            c[0] ^= 1;
            CHECK_INT(sb_aes256gcm_open(k, iv, ivn, NULL, 0, c, cn, t, back, &err), SB_E_SIGNATURE);
        }
        free(k), free(iv), free(a), free(p), free(c), free(t);
    }
    uint8_t key[32] = {0}, tag[16];
    CHECK_INT(sb_aes256gcm_seal(key, key, 0, NULL, 0, NULL, 0, NULL, tag, &err), SB_E_USAGE);
}

/* ---- RFC 3394 §4 --------------------------------------------------------------------------- */

TEST(aes_kw_rfc3394) {
    static const struct {
        size_t keklen;
        const char *data, *wrapped;
    } V[] = {
        {16, "00112233445566778899aabbccddeeff",
         "1fa68b0a8112b447aef34bd8fb5a7b829d3e862371d2cfe5"},
        {24, "00112233445566778899aabbccddeeff",
         "96778b25ae6ca435f92b5b97c050aed2468ab8a17ad84e5d"},
        {32, "00112233445566778899aabbccddeeff",
         "64e8c3f9ce0f5ba263e9777905818a2a93c8191e7d6e8ae7"},
        {24, "00112233445566778899aabbccddeeff0001020304050607",
         "031d33264e15d33268f24ec260743edce1c6c7ddee725a936ba814915c6762d2"},
        {32, "00112233445566778899aabbccddeeff0001020304050607",
         "a8f9bc1612c68b3ff6e6f4fbe30e71e4769c8b80a32cb8958cd5d17d6b254da1"},
        {32, "00112233445566778899aabbccddeeff000102030405060708090a0b0c0d0e0f",
         "28c9f404c4b810f4cbccb35cfb87f8263f5786e2d80ed326cbc7f0e71a99f43bfb988b9b7a02dd21"},
    };
    uint8_t kek[32];
    for (int i = 0; i < 32; i++)
        kek[i] = (uint8_t)i;
    sb_error err = {0};
    for (size_t i = 0; i < SB_ARRAY_LEN(V); i++) {
        size_t dn, wn;
        uint8_t *d = hx(V[i].data, &dn), *w = hx(V[i].wrapped, &wn);
        uint8_t out[64], back[64];
        CHECK_OK(sb_aes_kw_wrap(kek, V[i].keklen, d, dn, out, &err), &err);
        CHECK_MSG(hex_eq(out, dn + 8, V[i].wrapped), "RFC 3394 vector %zu", i + 1);
        CHECK_OK(sb_aes_kw_unwrap(kek, V[i].keklen, w, wn, back, &err), &err);
        CHECK_MEM(back, d, dn);
        w[wn - 1] ^= 1;
        CHECK_INT(sb_aes_kw_unwrap(kek, V[i].keklen, w, wn, back, &err), SB_E_SIGNATURE);
        w[wn - 1] ^= 1;
        /* the wrong KEK size for the vector */
        size_t other = V[i].keklen == 32 ? 16 : 32;
        CHECK_INT(sb_aes_kw_unwrap(kek, other, w, wn, back, &err), SB_E_SIGNATURE);
        free(d);
        free(w);
    }
    uint8_t in[24] = {0}, out[40];
    CHECK_INT(sb_aes_kw_wrap(kek, 20, in, 16, out, &err), SB_E_USAGE);
    CHECK_INT(sb_aes_kw_wrap(kek, 16, in, 12, out, &err), SB_E_MALFORMED);
    CHECK_INT(sb_aes_kw_unwrap(kek, 16, in, 16, out, &err), SB_E_MALFORMED);
}

/* ---- RFC 5869 -------------------------------------------------------------------------------- */

TEST(hkdf_rfc5869) {
    sb_error err = {0};
    uint8_t ikm[80], salt[80], info[80], out[82];
    memset(ikm, 0x0b, 22);
    for (int i = 0; i < 13; i++)
        salt[i] = (uint8_t)i;
    for (int i = 0; i < 10; i++)
        info[i] = (uint8_t)(0xf0 + i);
    /* test case 1 */
    CHECK_OK(sb_hkdf(SB_HASH_SHA256, salt, 13, ikm, 22, info, 10, out, 42, &err), &err);
    CHECK(hex_eq(out, 42,
                 "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b88718"
                 "5865"));
    /* test case 3: no salt, no info */
    CHECK_OK(sb_hkdf(SB_HASH_SHA256, NULL, 0, ikm, 22, NULL, 0, out, 42, &err), &err);
    CHECK(hex_eq(out, 42,
                 "8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d9d201395faa4b61a"
                 "96c8"));
    /* test case 4: SHA-1 */
    CHECK_OK(sb_hkdf(SB_HASH_SHA1, salt, 13, ikm, 11, info, 10, out, 42, &err), &err);
    CHECK(hex_eq(out, 42,
                 "085a01ea1b10f36933068b56efa5ad81a4f14b822f5b091568a9cdd4f155fda2c22e422478d305f3"
                 "f896"));
    /* test case 2: 80-byte inputs */
    for (int i = 0; i < 80; i++) {
        ikm[i] = (uint8_t)i;
        salt[i] = (uint8_t)(0x60 + i);
        info[i] = (uint8_t)(0xb0 + i);
    }
    CHECK_OK(sb_hkdf(SB_HASH_SHA256, salt, 80, ikm, 80, info, 80, out, 82, &err), &err);
    CHECK(hex_eq(out, 82,
                 "b11e398dc80327a1c8e7f78c596a49344f012eda2d4efad8a050cc4c19afa97c59045a99cac78272"
                 "71cb41c65e590e09da3275600c2f09b8367793a9aca3db71cc30c58179ec3e87c14c01d5c1f3434f"
                 "1d87"));
    CHECK_INT(sb_hkdf(SB_HASH_SHA256, NULL, 0, ikm, 22, NULL, 0, out, 255 * 32 + 1, &err),
              SB_E_USAGE);
}

/* ---- RFC 7518 Appendix C: ECDH-ES key agreement and Concat KDF -------------------------- */

static const char ALICE_X[] = "gI0GAILBdu7T53akrFmMyGcsF3n5dO7MmwNBHKW5SV0";
static const char ALICE_Y[] = "SLW_xSffzlPWrHEVI30DHM_4egVwt3NQqeUD7nMFpps";
static const char ALICE_D[] = "0_NxaRPUMQoAJt50Gz8YiTr8gRTwyEaCumd-MToTmIo";
static const char BOB_X[] = "weNJy2HscCSM6AEDTDg04biOvhFhyyWvOHQfeF_PxMQ";
static const char BOB_Y[] = "e8lnCO-AlStT-NJVX-crhB7QRYhiix03illJOVAOyck";
static const char BOB_D[] = "VEmDZpDXXK8p8N0Cndsxs924q6nS1RXFASRl6BfUqdw";
static const uint8_t APPC_Z[32] = {158, 86,  217, 29,  129, 113, 53,  211, 114, 131, 66,
                                   131, 191, 132, 38,  156, 251, 49,  110, 163, 218, 128,
                                   106, 72,  246, 218, 167, 121, 140, 254, 144, 196};

static sb_pubkey *ec_jwk(const char *x, const char *y) {
    json_t *j = json_pack("{s:s,s:s,s:s,s:s}", "kty", "EC", "crv", "P-256", "x", x, "y", y);
    sb_pubkey *k = NULL;
    sb_error err = {0};
    CHECK_OK(sb_pubkey_from_jwk(j, &k, &err), &err);
    json_decref(j);
    return k;
}

/* A P-256 private key from JWK d/x/y, built with OpenSSL here and handed over as PEM. */
static sb_privkey *ec_priv(const char *d, const char *x, const char *y) {
    uint8_t *db = NULL, *xb = NULL, *yb = NULL, pt[65];
    size_t dn, xn, yn;
    sb_error err = {0};
    CHECK_OK(sb_base64url_decode(d, strlen(d), &db, &dn, &err), &err);
    CHECK_OK(sb_base64url_decode(x, strlen(x), &xb, &xn, &err), &err);
    CHECK_OK(sb_base64url_decode(y, strlen(y), &yb, &yn, &err), &err);
    pt[0] = 4;
    memcpy(pt + 1, xb, 32);
    memcpy(pt + 33, yb, 32);
    BIGNUM *priv = BN_bin2bn(db, (int)dn, NULL);
    OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
    OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, "P-256", 0);
    OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_PRIV_KEY, priv);
    OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, pt, sizeof(pt));
    OSSL_PARAM *params = OSSL_PARAM_BLD_to_param(bld);
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
    EVP_PKEY *pk = NULL;
    CHECK(EVP_PKEY_fromdata_init(ctx) == 1 &&
          EVP_PKEY_fromdata(ctx, &pk, EVP_PKEY_KEYPAIR, params) == 1);
    BIO *b = BIO_new(BIO_s_mem());
    CHECK(PEM_write_bio_PrivateKey(b, pk, NULL, NULL, 0, NULL, NULL) == 1);
    char *data = NULL;
    long len = BIO_get_mem_data(b, &data);
    sb_privkey *k = NULL;
    CHECK_OK(sb_privkey_from_pem((const uint8_t *)data, (size_t)len, &k, &err), &err);
    BIO_free(b);
    EVP_PKEY_free(pk);
    EVP_PKEY_CTX_free(ctx);
    OSSL_PARAM_free(params);
    OSSL_PARAM_BLD_free(bld);
    BN_free(priv);
    free(db), free(xb), free(yb);
    return k;
}

TEST(ecdh_and_concat_kdf_rfc7518_appendix_c) {
    sb_error err = {0};
    sb_privkey *alice = ec_priv(ALICE_D, ALICE_X, ALICE_Y), *bob = ec_priv(BOB_D, BOB_X, BOB_Y);
    sb_pubkey *alice_pub = ec_jwk(ALICE_X, ALICE_Y), *bob_pub = ec_jwk(BOB_X, BOB_Y);
    uint8_t *z1 = NULL, *z2 = NULL;
    size_t n1 = 0, n2 = 0;
    CHECK_OK(sb_ecdh(alice, bob_pub, &z1, &n1, &err), &err);
    CHECK_OK(sb_ecdh(bob, alice_pub, &z2, &n2, &err), &err);
    CHECK_INT(n1, 32);
    CHECK_INT(n2, 32);
    if (z1 && z2 && n1 == 32 && n2 == 32) {
        CHECK_MEM(z1, APPC_Z, 32);
        CHECK_MEM(z2, APPC_Z, 32);
    }
    /* OtherInfo = AlgorithmID || PartyUInfo || PartyVInfo || SuppPubInfo (keydatalen = 128) */
    const uint8_t oi[] = {0,   0,   0,   7,   'A', '1', '2', '8', 'G', 'C', 'M', 0, 0, 0, 5,  'A',
                          'l', 'i', 'c', 'e', 0,   0,   0,   3,   'B', 'o', 'b', 0, 0, 0, 128};
    uint8_t cek[16];
    CHECK_OK(sb_concat_kdf(SB_HASH_SHA256, APPC_Z, 32, oi, sizeof(oi), cek, 16, &err), &err);
    char *b64 = sb_base64url_encode(cek, 16);
    CHECK_STR(b64, "VqqN6vgjbSBcIijNcacQGg");
    free(b64);
    /* a different hash or OtherInfo gives a different key */
    uint8_t other[16];
    CHECK_OK(sb_concat_kdf(SB_HASH_SHA384, APPC_Z, 32, oi, sizeof(oi), other, 16, &err), &err);
    CHECK(memcmp(other, cek, 16) != 0);
    /* longer outputs span several hash blocks: the first block is the 16-byte key's prefix */
    uint8_t longer[80];
    CHECK_OK(sb_concat_kdf(SB_HASH_SHA256, APPC_Z, 32, oi, sizeof(oi), longer, 80, &err), &err);
    CHECK_MEM(longer, cek, 16);
    /* mismatched curves */
    sb_privkey *p384 = NULL;
    CHECK_OK(sb_privkey_generate_ec(SB_CURVE_P384, &p384, &err), &err);
    uint8_t *z3 = NULL;
    size_t n3 = 0;
    CHECK_INT(sb_ecdh(p384, bob_pub, &z3, &n3, &err), SB_E_USAGE);
    CHECK_CONTAINS(err.msg, "different curves");
    sb_privkey_free(p384);
    free(z1), free(z2);
    sb_privkey_free(alice), sb_privkey_free(bob);
    sb_pubkey_free(alice_pub), sb_pubkey_free(bob_pub);
}

/* ---- RSA-OAEP-256 ------------------------------------------------------------------------------
 */

static EVP_PKEY *oaep_key;
__attribute__((destructor)) static void free_oaep_key(void) { EVP_PKEY_free(oaep_key); }

static sb_privkey *oaep_priv(void) {
    if (!oaep_key) oaep_key = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
    BIO *b = BIO_new(BIO_s_mem());
    CHECK(PEM_write_bio_PrivateKey(b, oaep_key, NULL, NULL, 0, NULL, NULL) == 1);
    char *data = NULL;
    long len = BIO_get_mem_data(b, &data);
    sb_privkey *k = NULL;
    sb_error err = {0};
    CHECK_OK(sb_privkey_from_pem((const uint8_t *)data, (size_t)len, &k, &err), &err);
    BIO_free(b);
    return k;
}

/* Encrypts with OpenSSL directly under the given OAEP digest (MGF1 on the same digest). */
static size_t ossl_oaep(const EVP_MD *md, const uint8_t *in, size_t inlen, uint8_t *out) {
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_pkey(NULL, oaep_key, NULL);
    size_t len = 256;
    CHECK(EVP_PKEY_encrypt_init(ctx) == 1 &&
          EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_OAEP_PADDING) == 1 &&
          EVP_PKEY_CTX_set_rsa_oaep_md(ctx, md) == 1 &&
          EVP_PKEY_CTX_set_rsa_mgf1_md(ctx, md) == 1 &&
          EVP_PKEY_encrypt(ctx, out, &len, in, inlen) == 1);
    EVP_PKEY_CTX_free(ctx);
    return len;
}

TEST(rsa_oaep256_parameters) {
    sb_error err = {0};
    sb_privkey *priv = oaep_priv();
    sb_pubkey *pub = NULL;
    CHECK_OK(sb_privkey_public(priv, &pub, &err), &err);
    const uint8_t cek[32] = {1, 2, 3, 4, 5};
    uint8_t *ct = NULL, *pt = NULL;
    size_t ctn = 0, ptn = 0;
    CHECK_OK(sb_rsa_oaep256_encrypt(pub, cek, 32, &ct, &ctn, &err), &err);
    CHECK_INT(ctn, 256);
    CHECK_OK(sb_rsa_oaep256_decrypt(priv, ct, ctn, &pt, &ptn, &err), &err);
    CHECK_INT(ptn, 32);
    if (pt) CHECK_MEM(pt, cek, 32);
    free(pt);
    pt = NULL;
    ct[5] ^= 1;
    CHECK_INT(sb_rsa_oaep256_decrypt(priv, ct, ctn, &pt, &ptn, &err), SB_E_SIGNATURE);
    free(ct);
    /* OpenSSL's own OAEP-SHA-256 decrypts with ours; OAEP-SHA-1 (JWA "RSA-OAEP") must not */
    uint8_t buf[256];
    size_t n = ossl_oaep(EVP_sha256(), cek, 32, buf);
    CHECK_OK(sb_rsa_oaep256_decrypt(priv, buf, n, &pt, &ptn, &err), &err);
    free(pt);
    pt = NULL;
    n = ossl_oaep(EVP_sha1(), cek, 32, buf);
    CHECK_INT(sb_rsa_oaep256_decrypt(priv, buf, n, &pt, &ptn, &err), SB_E_SIGNATURE);
    uint8_t big[200] = {0};
    CHECK_INT(sb_rsa_oaep256_encrypt(pub, big, sizeof(big), &ct, &ctn, &err), SB_E_USAGE);
    sb_pubkey_free(pub);
    sb_privkey_free(priv);
}

/* ---- JWK ----------------------------------------------------------------------------------- */

static const char RFC7638_N[] =
    "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECP"
    "ebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY"
    "368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0f"
    "M4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw";

TEST(jwk_thumbprint_rfc7638_rsa) {
    sb_error err = {0};
    json_t *j =
        json_pack("{s:s,s:s,s:s,s:s}", "kty", "RSA", "n", RFC7638_N, "e", "AQAB", "alg", "RS256");
    sb_pubkey *k = NULL;
    CHECK_OK(sb_pubkey_from_jwk(j, &k, &err), &err);
    CHECK_INT(sb_pubkey_bits(k), 2048);
    char *tp = NULL;
    CHECK_OK(sb_jwk_thumbprint(k, &tp, &err), &err);
    CHECK_STR(tp, "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs");
    free(tp);
    json_t *back = NULL;
    CHECK_OK(sb_pubkey_to_jwk(k, &back, &err), &err);
    CHECK_STR(json_string_value(json_object_get(back, "n")), RFC7638_N);
    CHECK_STR(json_string_value(json_object_get(back, "e")), "AQAB");
    CHECK_STR(json_string_value(json_object_get(back, "kty")), "RSA");
    json_decref(back);
    sb_pubkey_free(k);
    json_decref(j);
}

TEST(jwk_thumbprint_rfc8037_ed25519) {
    /* RFC 8037 A.3: the RFC 8032 test 1 key */
    sb_error err = {0};
    json_t *j = json_pack("{s:s,s:s,s:s}", "kty", "OKP", "crv", "Ed25519", "x",
                          "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo");
    sb_pubkey *k = NULL;
    CHECK_OK(sb_pubkey_from_jwk(j, &k, &err), &err);
    CHECK_INT(sb_pubkey_type(k), SB_KEY_ED25519);
    char *tp = NULL;
    CHECK_OK(sb_jwk_thumbprint(k, &tp, &err), &err);
    CHECK_STR(tp, "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k");
    free(tp);
    json_t *back = NULL;
    CHECK_OK(sb_pubkey_to_jwk(k, &back, &err), &err);
    CHECK(json_equal(back, j));
    json_decref(back);
    sb_pubkey_free(k);
    json_decref(j);
}

TEST(jwk_ec_roundtrip_and_rejections) {
    sb_error err = {0};
    sb_pubkey *k = ec_jwk(BOB_X, BOB_Y);
    json_t *back = NULL;
    CHECK_OK(sb_pubkey_to_jwk(k, &back, &err), &err);
    CHECK_STR(json_string_value(json_object_get(back, "crv")), "P-256");
    CHECK_STR(json_string_value(json_object_get(back, "x")), BOB_X);
    CHECK_STR(json_string_value(json_object_get(back, "y")), BOB_Y);
    char *tp = NULL;
    CHECK_OK(sb_jwk_thumbprint(k, &tp, &err), &err);
    /* the thumbprint is SHA-256 over the RFC 7638 member string: recompute it here */
    char input[300];
    snprintf(input, sizeof(input), "{\"crv\":\"P-256\",\"kty\":\"EC\",\"x\":\"%s\",\"y\":\"%s\"}",
             BOB_X, BOB_Y);
    uint8_t d[32];
    CHECK_OK(sb_hash(SB_HASH_SHA256, input, strlen(input), d, &err), &err);
    char *want = sb_base64url_encode(d, 32);
    CHECK_STR(tp, want);
    free(want);
    free(tp);
    json_decref(back);
    sb_pubkey_free(k);

    sb_pubkey *bad = NULL;
    json_t *j = json_pack("{s:s,s:s,s:s}", "kty", "EC", "crv", "P-256", "x", BOB_X);
    CHECK_INT(sb_pubkey_from_jwk(j, &bad, &err), SB_E_MALFORMED);
    CHECK_CONTAINS(err.msg, "'y' is missing");
    json_decref(j);
    j = json_pack("{s:s,s:s,s:s,s:s}", "kty", "EC", "crv", "P-384", "x", BOB_X, "y", BOB_Y);
    CHECK_INT(sb_pubkey_from_jwk(j, &bad, &err), SB_E_MALFORMED);
    CHECK_CONTAINS(err.msg, "decodes to 32 bytes");
    json_decref(j);
    j = json_pack("{s:s,s:s,s:s,s:s,s:s}", "kty", "EC", "crv", "P-256", "x", BOB_X, "y", BOB_Y, "d",
                  BOB_D);
    CHECK_INT(sb_pubkey_from_jwk(j, &bad, &err), SB_E_USAGE);
    CHECK_CONTAINS(err.msg, "private member 'd'");
    json_decref(j);
    /* y of another point: not on the curve */
    j = json_pack("{s:s,s:s,s:s,s:s}", "kty", "EC", "crv", "P-256", "x", BOB_X, "y", ALICE_Y);
    CHECK_INT(sb_pubkey_from_jwk(j, &bad, &err), SB_E_MALFORMED);
    json_decref(j);
    j = json_pack("{s:s,s:i}", "kty", "EC", "crv", 7);
    CHECK_INT(sb_pubkey_from_jwk(j, &bad, &err), SB_E_UNSUPPORTED);
    json_decref(j);
    j = json_pack("{s:s,s:s}", "kty", "oct", "k", "AAAA");
    CHECK_INT(sb_pubkey_from_jwk(j, &bad, &err), SB_E_USAGE);
    json_decref(j);
    j = json_pack("{s:s}", "kty", "DSA");
    CHECK_INT(sb_pubkey_from_jwk(j, &bad, &err), SB_E_UNSUPPORTED);
    json_decref(j);
    j = json_pack("{s:s,s:s,s:s,s:s}", "kty", "EC", "crv", "P-256", "x", "!!", "y", BOB_Y);
    CHECK_INT(sb_pubkey_from_jwk(j, &bad, &err), SB_E_MALFORMED);
    CHECK_CONTAINS(err.msg, "member 'x'");
    json_decref(j);
    CHECK(bad == NULL);
}
