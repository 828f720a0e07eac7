/* test_crypto: known-answer tests for digests, HMAC, key constructors and every signature
 * wrapper (ECDSA in DER / raw BE / raw LE, RSA-PSS, RSA PKCS#1 v1.5, Ed25519, signing). */
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <stdlib.h>

#include "crypto/crypto.h"
#include "harness.h"

/* Decodes a hex literal into a fresh buffer (test helper; aborts the case on error). */
static uint8_t *hx(const char *s, size_t *n) {
    uint8_t *b = NULL;
    size_t len = 0;
    sb_error err = {0};
    if (sb_hex_decode(s, strlen(s), &b, &len, &err) < 0) {
        sb_test_fail(__FILE__, __LINE__, "bad hex literal: %s", err.msg);
        return NULL;
    }
    if (n) *n = len;
    return b;
}

static bool hex_eq(const uint8_t *p, size_t n, const char *want) {
    char *h = sb_hex_dup(p, n);
    bool eq = h && strcmp(h, want) == 0;
    if (!eq) fprintf(stderr, "    got %s\n    want %s\n", h ? h : "(null)", want);
    free(h);
    return eq;
}

/* ---- digests: FIPS 180 examples ---------------------------------------------------------- */

static const char M448[] = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
static const char M896[] = "abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmn"
                           "hijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu";

static const struct {
    enum sb_hash h;
    const char *msg, *want;
} SHA_KAT[] = {
    {SB_HASH_SHA1, "abc", "a9993e364706816aba3e25717850c26c9cd0d89d"},
    {SB_HASH_SHA1, M448, "84983e441c3bd26ebaae4aa1f95129e5e54670f1"},
    {SB_HASH_SHA256, "abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"},
    {SB_HASH_SHA256, M448, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"},
    {SB_HASH_SHA384, "abc",
     "cb00753f45a35e8bb5a03d699ac65007272c32ab0eded1631a8b605a43ff5bed8086072ba1e7cc2358baeca134c"
     "825a7"},
    {SB_HASH_SHA384, M896,
     "09330c33f71147e83d192fc782cd1b4753111b173b3b05d22fa08086e3b0f712fcc7c71a557e2db966c3e9fa917"
     "46039"},
    {SB_HASH_SHA512, "abc",
     "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a2192992a274fc1a836ba3c23a3f"
     "eebbd454d4423643ce80e2a9ac94fa54ca49f"},
    {SB_HASH_SHA512, M896,
     "8e959b75dae313da8cf4f72814fc143f8f7779c6eb9f7fa17299aeadb6889018501d289e4900f7e4331b99dec4b"
     "5433ac7d329eeb6dd26545e96e55b874be909"},
};

TEST(sha_fips180_examples) {
    sb_error err = {0};
    for (size_t i = 0; i < SB_ARRAY_LEN(SHA_KAT); i++) {
        uint8_t out[SB_HASH_MAX_LEN];
        size_t n = sb_hash_len(SHA_KAT[i].h);
        CHECK_OK(sb_hash(SHA_KAT[i].h, SHA_KAT[i].msg, strlen(SHA_KAT[i].msg), out, &err), &err);
        CHECK_MSG(hex_eq(out, n, SHA_KAT[i].want), "%s of vector %zu", sb_hash_name(SHA_KAT[i].h),
                  i);
        /* streaming, split at every third byte, must give the same digest */
        sb_hash_ctx *c = NULL;
        CHECK_OK(sb_hash_ctx_new(SHA_KAT[i].h, &c, &err), &err);
        const char *m = SHA_KAT[i].msg;
        for (size_t off = 0; off < strlen(m); off += 3) {
            size_t k = strlen(m) - off < 3 ? strlen(m) - off : 3;
            CHECK_OK(sb_hash_ctx_update(c, m + off, k, &err), &err);
        }
        uint8_t out2[SB_HASH_MAX_LEN];
        CHECK_OK(sb_hash_ctx_final(c, out2, &err), &err);
        CHECK_MEM(out, out2, n);
        sb_hash_ctx_free(c);
    }
}

TEST(sha_million_a_streamed) {
    /* FIPS 180 third example: one million 'a', fed in 1000-byte chunks. */
    sb_error err = {0};
    char chunk[1000];
    memset(chunk, 'a', sizeof(chunk));
    sb_hash_ctx *c = NULL;
    CHECK_OK(sb_hash_ctx_new(SB_HASH_SHA256, &c, &err), &err);
    for (int i = 0; i < 1000; i++)
        CHECK_OK(sb_hash_ctx_update(c, chunk, sizeof(chunk), &err), &err);
    uint8_t out[32];
    CHECK_OK(sb_hash_ctx_final(c, out, &err), &err);
    sb_hash_ctx_free(c);
    CHECK(hex_eq(out, 32, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0"));
}

TEST(hash_names_and_lengths) {
    enum sb_hash h;
    CHECK_INT(sb_hash_from_name("sha384", &h), 0);
    CHECK_INT(h, SB_HASH_SHA384);
    CHECK_INT(sb_hash_from_name("md5", &h), SB_E_UNSUPPORTED);
    CHECK_INT(sb_hash_len(SB_HASH_SHA1), 20);
    CHECK_INT(sb_hash_len(SB_HASH_SHA512), 64);
    CHECK_STR(sb_hash_name(SB_HASH_SHA256), "sha256");
    uint8_t out[64];
    sb_error err = {0};
    CHECK_INT(sb_hash(SB_HASH_MAX, "x", 1, out, &err), SB_E_USAGE);
    /* the empty message is legal */
    CHECK_OK(sb_hash(SB_HASH_SHA256, NULL, 0, out, &err), &err);
    CHECK(hex_eq(out, 32, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"));
}

/* ---- HMAC: RFC 4231 (SHA-2) and RFC 2202 (SHA-1) ----------------------------------------- */

TEST(hmac_rfc4231) {
    sb_error err = {0};
    uint8_t k1[20], out[64];
    memset(k1, 0x0b, sizeof(k1));
    /* test case 1 */
    CHECK_OK(sb_hmac(SB_HASH_SHA256, k1, 20, "Hi There", 8, out, &err), &err);
    CHECK(hex_eq(out, 32, "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"));
    CHECK_OK(sb_hmac(SB_HASH_SHA384, k1, 20, "Hi There", 8, out, &err), &err);
    CHECK(hex_eq(out, 48,
                 "afd03944d84895626b0825f4ab46907f15f9dadbe4101ec682aa034c7cebc59cfaea9ea9076ede7f"
                 "4af152e8b2fa9cb6"));
    CHECK_OK(sb_hmac(SB_HASH_SHA512, k1, 20, "Hi There", 8, out, &err), &err);
    CHECK(hex_eq(out, 64,
                 "87aa7cdea5ef619d4ff0b4241a1d6cb02379f4e2ce4ec2787ad0b30545e17cdedaa833b7d6b8a702"
                 "038b274eaea3f4e4be9d914eeb61f1702e696c203a126854"));
    /* test case 2: a key shorter than the block */
    const char *m2 = "what do ya want for nothing?";
    CHECK_OK(sb_hmac(SB_HASH_SHA256, "Jefe", 4, m2, strlen(m2), out, &err), &err);
    CHECK(hex_eq(out, 32, "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"));
    /* test case 6: a key longer than the block is hashed first */
    uint8_t k6[131];
    memset(k6, 0xaa, sizeof(k6));
    const char *m6 = "Test Using Larger Than Block-Size Key - Hash Key First";
    CHECK_OK(sb_hmac(SB_HASH_SHA256, k6, sizeof(k6), m6, strlen(m6), out, &err), &err);
    CHECK(hex_eq(out, 32, "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"));
    /* RFC 2202 test case 1 for SHA-1 */
    CHECK_OK(sb_hmac(SB_HASH_SHA1, k1, 20, "Hi There", 8, out, &err), &err);
    CHECK(hex_eq(out, 20, "b617318655057264e28bc0b6fb378c8ef146be00"));
}

TEST(random_and_ct_equal) {
    sb_error err = {0};
    uint8_t a[32] = {0}, b[32] = {0};
    CHECK_OK(sb_random(a, sizeof(a), &err), &err);
    CHECK_OK(sb_random(b, sizeof(b), &err), &err);
    CHECK(!sb_ct_equal(a, b, sizeof(a))); /* 2^-256 chance of a false failure */
    uint8_t zero[32] = {0};
    CHECK(!sb_ct_equal(a, zero, sizeof(a)));
    memcpy(b, a, sizeof(a));
    CHECK(sb_ct_equal(a, b, sizeof(a)));
    b[31] ^= 1;
    CHECK(!sb_ct_equal(a, b, sizeof(a)));
    CHECK(sb_ct_equal(a, b, 31));
}

/* ---- ECDSA: RFC 6979 A.2.5 (P-256) and A.2.6 (P-384) signatures ------------------------- */

static const char P256_QX[] = "60fed4ba255a9d31c961eb74c6356d68c049b8923b61fa6ce669622e60f29fb6";
static const char P256_QY[] = "7903fe1008b8bc99a41ae9e95628bc64f2f1b20c2d7e9f5177a3c294d4462299";
/* SHA-256, message "sample" */
static const char P256_R[] = "efd48b2aacb6a8fd1140dd9cd45e81d69d2c877b56aaf991c34d0ea84eaf3716";
static const char P256_S[] = "f7cb1c942d657c41d436c7a1b6e29f65f3e900dbb9aff4064dc4ab2f843acda8";
/* SHA-256, message "test" (s has a leading zero byte: exercises the stripping rules) */
static const char P256_TR[] = "f1abb023518351cd71d881567b1ea663ed3efcf6c5132b354f28d3b0b7d38367";
static const char P256_TS[] = "019f4113742a2b14bd25926b49c649155f267e60d3814b4c0cc84250e46f0083";

static const char P384_QX[] = "ec3a4e415b4e19a4568618029f427fa5da9a8bc4ae92e02e06aae5286b300c64"
                              "def8f0ea9055866064a254515480bc13";
static const char P384_QY[] = "8015d9b72d7d57244ea8ef9ac0c621896708a59367f9dfb9f54ca84b3f1c9db1"
                              "288b231c3ae0d4fe7344fd2533264720";
/* SHA-384, message "sample" */
static const char P384_R[] = "94edbb92a5ecb8aad4736e56c691916b3f88140666ce9fa73d64c4ea95ad133c"
                             "81a648152e44acf96e36dd1e80fabe46";
static const char P384_S[] = "99ef4aeb15f178cea1fe40db2603138f130e740a19624526203b6351d0a3a94f"
                             "a329c145786e679e7b82c71a38628ac8";

static sb_pubkey *ec_key(enum sb_curve c, const char *qx, const char *qy) {
    char both[300];
    snprintf(both, sizeof(both), "%s%s", qx, qy);
    size_t n = 0;
    uint8_t *pt = hx(both, &n);
    sb_pubkey *k = NULL;
    sb_error err = {0};
    CHECK_OK(sb_pubkey_from_ec_point(c, pt, n, &k, &err), &err);
    free(pt);
    return k;
}

/* Builds raw r||s with each half `w` bytes wide, in big- or little-endian order. */
static uint8_t *raw_sig(const char *r, const char *s, size_t w, bool le, size_t *len) {
    size_t rn, sn;
    uint8_t *rb = hx(r, &rn), *sbb = hx(s, &sn);
    uint8_t *out = calloc(1, 2 * w);
    const uint8_t *src[2] = {rb, sbb};
    size_t n[2] = {rn, sn};
    for (int h = 0; h < 2; h++)
        for (size_t i = 0; i < n[h]; i++) {
            /* big-endian value right-aligned in BE, byte-reversed from the start in LE */
            size_t pos = le ? n[h] - 1 - i : w - n[h] + i;
            out[(size_t)h * w + pos] = src[h][i];
        }
    free(rb);
    free(sbb);
    *len = 2 * w;
    return out;
}

/* DER ECDSA-Sig-Value from hex r and s (short-form lengths suffice for P-256/P-384). */
static uint8_t *der_sig(const char *r, const char *s, size_t *len) {
    size_t rn, sn;
    uint8_t *rb = hx(r, &rn), *sbb = hx(s, &sn);
    uint8_t *out = calloc(1, 8 + rn + sn + 2);
    size_t o = 2;
    const uint8_t *src[2] = {rb, sbb};
    size_t n[2] = {rn, sn};
    for (int h = 0; h < 2; h++) {
        const uint8_t *v = src[h];
        size_t vn = n[h];
        while (vn > 1 && v[0] == 0 && !(v[1] & 0x80))
            v++, vn--; /* minimal INTEGER */
        bool pad = v[0] & 0x80;
        out[o++] = 0x02;
        out[o++] = (uint8_t)(vn + pad);
        if (pad) out[o++] = 0;
        memcpy(out + o, v, vn);
        o += vn;
    }
    out[0] = 0x30;
    out[1] = (uint8_t)(o - 2);
    free(rb);
    free(sbb);
    *len = o;
    return out;
}

TEST(ecdsa_p256_rfc6979_all_encodings) {
    sb_error err = {0};
    sb_pubkey *k = ec_key(SB_CURVE_P256, P256_QX, P256_QY);
    CHECK_INT(sb_pubkey_type(k), SB_KEY_EC);
    CHECK_INT(sb_pubkey_curve(k), SB_CURVE_P256);
    CHECK_INT(sb_pubkey_bits(k), 256);
    size_t n;
    uint8_t *s;
    s = der_sig(P256_R, P256_S, &n);
    CHECK_OK(sb_ecdsa_verify(k, SB_HASH_SHA256, "sample", 6, s, n, SB_ECDSA_DER, &err), &err);
    /* the wrong hash, the wrong message, the wrong encoding must all fail */
    CHECK_INT(sb_ecdsa_verify(k, SB_HASH_SHA384, "sample", 6, s, n, SB_ECDSA_DER, &err),
              SB_E_SIGNATURE);
    CHECK_INT(sb_ecdsa_verify(k, SB_HASH_SHA256, "samplf", 6, s, n, SB_ECDSA_DER, &err),
              SB_E_SIGNATURE);
    CHECK_CONTAINS(err.msg, "does not verify");
    /* DER bytes read as raw halves hold values wider than the curve */
    CHECK_INT(sb_ecdsa_verify(k, SB_HASH_SHA256, "sample", 6, s, n, SB_ECDSA_RAW_BE, &err),
              SB_E_MALFORMED);
    free(s);
    s = raw_sig(P256_R, P256_S, 32, false, &n);
    CHECK_OK(sb_ecdsa_verify(k, SB_HASH_SHA256, "sample", 6, s, n, SB_ECDSA_RAW_BE, &err), &err);
    /* swapped endianness must fail */
    CHECK_INT(sb_ecdsa_verify(k, SB_HASH_SHA256, "sample", 6, s, n, SB_ECDSA_RAW_LE, &err),
              SB_E_SIGNATURE);
    /* r and s swapped must fail */
    uint8_t sw[64];
    memcpy(sw, s + 32, 32);
    memcpy(sw + 32, s, 32);
    CHECK_INT(sb_ecdsa_verify(k, SB_HASH_SHA256, "sample", 6, sw, 64, SB_ECDSA_RAW_BE, &err),
              SB_E_SIGNATURE);
    /* verify over a caller-computed digest */
    uint8_t d[32];
    CHECK_OK(sb_hash(SB_HASH_SHA256, "sample", 6, d, &err), &err);
    CHECK_OK(sb_ecdsa_verify_digest(k, d, 32, s, n, SB_ECDSA_RAW_BE, &err), &err);
    d[0] ^= 1;
    CHECK_INT(sb_ecdsa_verify_digest(k, d, 32, s, n, SB_ECDSA_RAW_BE, &err), SB_E_SIGNATURE);
    free(s);
    s = raw_sig(P256_R, P256_S, 32, true, &n);
    CHECK_OK(sb_ecdsa_verify(k, SB_HASH_SHA256, "sample", 6, s, n, SB_ECDSA_RAW_LE, &err), &err);
    CHECK_INT(sb_ecdsa_verify(k, SB_HASH_SHA256, "sample", 6, s, n, SB_ECDSA_RAW_BE, &err),
              SB_E_SIGNATURE);
    free(s);
    /* the "test" vector: s starts with 0x01 */
    s = raw_sig(P256_TR, P256_TS, 32, false, &n);
    CHECK_OK(sb_ecdsa_verify(k, SB_HASH_SHA256, "test", 4, s, n, SB_ECDSA_RAW_BE, &err), &err);
    free(s);
    s = der_sig(P256_TR, P256_TS, &n);
    CHECK_OK(sb_ecdsa_verify(k, SB_HASH_SHA256, "test", 4, s, n, SB_ECDSA_DER, &err), &err);
    free(s);
    sb_pubkey_free(k);
}

TEST(ecdsa_p384_rfc6979_and_amd_wide_le_fields) {
    sb_error err = {0};
    sb_pubkey *k = ec_key(SB_CURVE_P384, P384_QX, P384_QY);
    size_t n;
    uint8_t *s = der_sig(P384_R, P384_S, &n);
    CHECK_OK(sb_ecdsa_verify(k, SB_HASH_SHA384, "sample", 6, s, n, SB_ECDSA_DER, &err), &err);
    CHECK_INT(sb_ecdsa_verify(k, SB_HASH_SHA256, "sample", 6, s, n, SB_ECDSA_DER, &err),
              SB_E_SIGNATURE);
    free(s);
    s = raw_sig(P384_R, P384_S, 48, false, &n);
    CHECK_OK(sb_ecdsa_verify(k, SB_HASH_SHA384, "sample", 6, s, n, SB_ECDSA_RAW_BE, &err), &err);
    free(s);
    /* AMD SNP layout: r and s each in a 72-byte little-endian field */
    s = raw_sig(P384_R, P384_S, 72, true, &n);
    CHECK_INT(n, 144);
    CHECK_OK(sb_ecdsa_verify(k, SB_HASH_SHA384, "sample", 6, s, n, SB_ECDSA_RAW_LE, &err), &err);
    CHECK_INT(sb_ecdsa_verify(k, SB_HASH_SHA384, "sample", 6, s, n, SB_ECDSA_RAW_BE, &err),
              SB_E_MALFORMED); /* read big-endian, the value no longer fits the curve */
    /* a non-zero byte in the field's padding makes the value too wide for the curve */
    s[71] = 1;
    CHECK_INT(sb_ecdsa_verify(k, SB_HASH_SHA384, "sample", 6, s, n, SB_ECDSA_RAW_LE, &err),
              SB_E_MALFORMED);
    CHECK_CONTAINS(err.msg, "r of the raw signature has 72 significant bytes");
    free(s);
    /* wide big-endian fields work too */
    s = raw_sig(P384_R, P384_S, 72, false, &n);
    CHECK_OK(sb_ecdsa_verify(k, SB_HASH_SHA384, "sample", 6, s, n, SB_ECDSA_RAW_BE, &err), &err);
    /* odd length */
    CHECK_INT(sb_ecdsa_verify(k, SB_HASH_SHA384, "sample", 6, s, n - 1, SB_ECDSA_RAW_BE, &err),
              SB_E_MALFORMED);
    free(s);
    /* garbage DER */
    const uint8_t junk[] = {0x30, 0x05, 0x02, 0x01, 0x01, 0x02, 0x05};
    CHECK_INT(
        sb_ecdsa_verify(k, SB_HASH_SHA384, "sample", 6, junk, sizeof(junk), SB_ECDSA_DER, &err),
        SB_E_MALFORMED);
    CHECK_CONTAINS(err.msg, "ecdsa");
    sb_pubkey_free(k);
}

TEST(ec_point_constructor_rejects_bad_points) {
    sb_error err = {0};
    size_t n;
    char both[300];
    snprintf(both, sizeof(both), "04%s%s", P256_QX, P256_QY);
    uint8_t *pt = hx(both, &n);
    sb_pubkey *k = NULL;
    CHECK_OK(sb_pubkey_from_ec_point(SB_CURVE_P256, pt, n, &k, &err), &err);
    sb_pubkey *k2 = ec_key(SB_CURVE_P256, P256_QX, P256_QY);
    CHECK(sb_pubkey_equal(k, k2));
    sb_pubkey_free(k2);
    /* SPKI round trip */
    uint8_t *der = NULL;
    size_t dn = 0;
    CHECK_OK(sb_pubkey_to_spki_der(k, &der, &dn, &err), &err);
    CHECK_OK(sb_pubkey_from_spki_der(der, dn, &k2, &err), &err);
    CHECK(sb_pubkey_equal(k, k2));
    sb_pubkey_free(k2);
    k2 = NULL;
    uint8_t *longer = malloc(dn + 1);
    memcpy(longer, der, dn);
    longer[dn] = 0;
    CHECK_INT(sb_pubkey_from_spki_der(longer, dn + 1, &k2, &err), SB_E_MALFORMED);
    CHECK_CONTAINS(err.msg, "trailing");
    CHECK_INT(sb_pubkey_from_spki_der(der, dn - 1, &k2, &err), SB_E_MALFORMED);
    CHECK(k2 == NULL);
    free(longer);
    free(der);
    sb_pubkey_free(k);
    /* off the curve: flip the last bit of y */
    pt[n - 1] ^= 1;
    CHECK_INT(sb_pubkey_from_ec_point(SB_CURVE_P256, pt, n, &k, &err), SB_E_MALFORMED);
    CHECK_CONTAINS(err.msg, "P-256");
    /* wrong length for the curve */
    CHECK_INT(sb_pubkey_from_ec_point(SB_CURVE_P384, pt, n, &k, &err), SB_E_MALFORMED);
    free(pt);
}

/* ---- Ed25519: RFC 8032 §7.1 ---------------------------------------------------------------- */

static sb_privkey *ed25519_from_seed(const char *seed_hex) {
    /* PKCS#8 for Ed25519 is a fixed 16-byte prefix followed by the 32-byte seed (RFC 8410). */
    char buf[200];
    snprintf(buf, sizeof(buf), "302e020100300506032b657004220420%s", seed_hex);
    size_t n;
    uint8_t *der = hx(buf, &n);
    char *b64 = sb_base64_encode(der, n);
    char pem[300];
    snprintf(pem, sizeof(pem), "-----BEGIN PRIVATE KEY-----\n%s\n-----END PRIVATE KEY-----\n", b64);
    sb_privkey *k = NULL;
    sb_error err = {0};
    CHECK_OK(sb_privkey_from_pem((const uint8_t *)pem, strlen(pem), &k, &err), &err);
    free(der);
    free(b64);
    return k;
}

TEST(ed25519_rfc8032) {
    static const struct {
        const char *seed, *pub, *msg, *sig;
    } V[] = {
        {"9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
         "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a", "",
         "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e3970"
         "1cf9b46bd25bf5f0595bbe24655141438e7a100b"},
        {"4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb",
         "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c", "72",
         "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613"
         "d0f11d8c387b2eaeb4302aeeb00d291612bb0c00"},
    };
    sb_error err = {0};
    for (size_t i = 0; i < SB_ARRAY_LEN(V); i++) {
        size_t pn, mn, sn;
        uint8_t *pub = hx(V[i].pub, &pn), *msg = hx(V[i].msg, &mn), *sig = hx(V[i].sig, &sn);
        sb_pubkey *k = NULL;
        CHECK_OK(sb_pubkey_from_ed25519(pub, &k, &err), &err);
        CHECK_INT(sb_pubkey_type(k), SB_KEY_ED25519);
        CHECK_OK(sb_ed25519_verify(k, msg, mn, sig, sn, &err), &err);
        sig[10] ^= 0x20;
        CHECK_INT(sb_ed25519_verify(k, msg, mn, sig, sn, &err), SB_E_SIGNATURE);
        sig[10] ^= 0x20;
        CHECK_INT(sb_ed25519_verify(k, "x", 1, sig, sn, &err), SB_E_SIGNATURE);
        CHECK_INT(sb_ed25519_verify(k, msg, mn, sig, 63, &err), SB_E_SIGNATURE);
        /* signing is deterministic: the private key reproduces the published signature */
        sb_privkey *pk = ed25519_from_seed(V[i].seed);
        uint8_t *s2 = NULL;
        size_t s2n = 0;
        CHECK_OK(sb_sign(pk, SB_HASH_SHA256, msg, mn, SB_ECDSA_DER, &s2, &s2n, &err), &err);
        CHECK_INT(s2n, 64);
        if (s2) CHECK(hex_eq(s2, s2n, V[i].sig));
        sb_pubkey *derived = NULL;
        CHECK_OK(sb_privkey_public(pk, &derived, &err), &err);
        CHECK(sb_pubkey_equal(derived, k));
        free(s2);
        sb_pubkey_free(derived);
        sb_privkey_free(pk);
        sb_pubkey_free(k);
        free(pub);
        free(msg);
        free(sig);
    }
}

/* ---- RSA ------------------------------------------------------------------------------------ */

/* The test's own RSA key, made with OpenSSL directly so PSS signatures (which sb_sign does
 * not offer) can be produced with chosen salt lengths. */
static EVP_PKEY *rsa_key;
static EVP_PKEY *test_rsa(void) {
    if (!rsa_key) rsa_key = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
    return rsa_key;
}

static uint8_t *pss_sign(const EVP_MD *md, int salt, const char *msg, size_t *len) {
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    EVP_PKEY_CTX *pctx = NULL;
    uint8_t *sig = malloc(512);
    *len = 512;
    if (EVP_DigestSignInit(ctx, &pctx, md, NULL, test_rsa()) != 1 ||
        EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) != 1 ||
        EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, salt) != 1 ||
        EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, md) != 1 ||
        EVP_DigestSign(ctx, sig, len, (const uint8_t *)msg, strlen(msg)) != 1)
        sb_test_fail(__FILE__, __LINE__, "test PSS signing failed");
    EVP_MD_CTX_free(ctx);
    return sig;
}

static sb_privkey *test_rsa_priv(void) {
    BIO *b = BIO_new(BIO_s_mem());
    CHECK(PEM_write_bio_PrivateKey(b, test_rsa(), NULL, NULL, 0, NULL, NULL) == 1);
    char *data = NULL;
    long len = BIO_get_mem_data(b, &data);
    sb_privkey *k = NULL;
    sb_error err = {0};
    CHECK_OK(sb_privkey_from_pem((const uint8_t *)data, (size_t)len, &k, &err), &err);
    BIO_free(b);
    return k;
}

TEST(rsa_pss_salt_and_hash_are_enforced) {
    sb_error err = {0};
    sb_privkey *priv = test_rsa_priv();
    sb_pubkey *k = NULL;
    CHECK_OK(sb_privkey_public(priv, &k, &err), &err);
    CHECK_INT(sb_pubkey_type(k), SB_KEY_RSA);
    CHECK_INT(sb_pubkey_bits(k), 2048);
    const char *m = "attested message";
    size_t n;
    uint8_t *s = pss_sign(EVP_sha384(), 48, m, &n);
    CHECK_OK(sb_rsa_pss_verify(k, SB_HASH_SHA384, 48, m, strlen(m), s, n, &err), &err);
    CHECK_OK(sb_rsa_pss_verify(k, SB_HASH_SHA384, -1, m, strlen(m), s, n, &err), &err);
    CHECK_INT(sb_rsa_pss_verify(k, SB_HASH_SHA384, 32, m, strlen(m), s, n, &err), SB_E_SIGNATURE);
    CHECK_INT(sb_rsa_pss_verify(k, SB_HASH_SHA256, 48, m, strlen(m), s, n, &err), SB_E_SIGNATURE);
    CHECK_INT(sb_rsa_pkcs1_verify(k, SB_HASH_SHA384, m, strlen(m), s, n, &err), SB_E_SIGNATURE);
    CHECK_INT(sb_rsa_pss_verify(k, SB_HASH_SHA384, 48, "attested messagf", strlen(m), s, n, &err),
              SB_E_SIGNATURE);
    CHECK_INT(sb_rsa_pss_verify(k, SB_HASH_SHA384, 48, m, strlen(m), s, n - 1, &err),
              SB_E_SIGNATURE);
    free(s);
    /* salt 32 with SHA-256: "-1" means digest length, so it verifies; 0 does not */
    s = pss_sign(EVP_sha256(), 32, m, &n);
    CHECK_OK(sb_rsa_pss_verify(k, SB_HASH_SHA256, -1, m, strlen(m), s, n, &err), &err);
    CHECK_INT(sb_rsa_pss_verify(k, SB_HASH_SHA256, 0, m, strlen(m), s, n, &err), SB_E_SIGNATURE);
    free(s);
    /* a non-RSA key is a usage error, not a signature failure */
    sb_pubkey *ec = ec_key(SB_CURVE_P256, P256_QX, P256_QY);
    uint8_t dummy[256] = {0};
    CHECK_INT(sb_rsa_pss_verify(ec, SB_HASH_SHA256, -1, m, strlen(m), dummy, 256, &err),
              SB_E_USAGE);
    sb_pubkey_free(ec);
    sb_pubkey_free(k);
    sb_privkey_free(priv);
}

TEST(rsa_pkcs1_sign_verify_roundtrip) {
    sb_error err = {0};
    sb_privkey *priv = test_rsa_priv();
    sb_pubkey *k = NULL;
    CHECK_OK(sb_privkey_public(priv, &k, &err), &err);
    const char *m = "quote";
    uint8_t *s = NULL;
    size_t n = 0;
    CHECK_OK(sb_sign(priv, SB_HASH_SHA256, m, 5, SB_ECDSA_DER, &s, &n, &err), &err);
    CHECK_INT(n, 256);
    CHECK_OK(sb_rsa_pkcs1_verify(k, SB_HASH_SHA256, m, 5, s, n, &err), &err);
    CHECK_INT(sb_rsa_pkcs1_verify(k, SB_HASH_SHA384, m, 5, s, n, &err), SB_E_SIGNATURE);
    CHECK_INT(sb_rsa_pkcs1_verify(k, SB_HASH_SHA256, "quotf", 5, s, n, &err), SB_E_SIGNATURE);
    CHECK_INT(sb_rsa_pss_verify(k, SB_HASH_SHA256, -1, m, 5, s, n, &err), SB_E_SIGNATURE);
    /* same modulus and exponent through the raw constructor */
    BIGNUM *bn_n = NULL, *bn_e = NULL;
    CHECK(EVP_PKEY_get_bn_param(test_rsa(), "n", &bn_n) == 1);
    CHECK(EVP_PKEY_get_bn_param(test_rsa(), "e", &bn_e) == 1);
    uint8_t nb[257], eb[8];
    nb[0] = 0; /* a leading zero byte, as JWK/TPM encodings sometimes carry, is accepted */
    int nl = BN_bn2bin(bn_n, nb + 1), el = BN_bn2bin(bn_e, eb);
    sb_pubkey *k2 = NULL;
    CHECK_OK(sb_pubkey_from_rsa(nb, (size_t)nl + 1, eb, (size_t)el, &k2, &err), &err);
    CHECK(sb_pubkey_equal(k, k2));
    CHECK_OK(sb_rsa_pkcs1_verify(k2, SB_HASH_SHA256, m, 5, s, n, &err), &err);
    sb_pubkey_free(k2);
    k2 = NULL;
    CHECK_INT(sb_pubkey_from_rsa(nb, 128, eb, (size_t)el, &k2, &err), SB_E_UNSUPPORTED);
    BN_free(bn_n);
    BN_free(bn_e);
    free(s);
    sb_pubkey_free(k);
    sb_privkey_free(priv);
}

/* The prepared verifier: the RFC 6979 P-256 vector and an RSA PKCS#1 signature, each checked
 * again and again on the same contexts, with failures in between that must not stick. */
TEST(sig_verifier_prepared_once) {
    sb_error err = {0};
    sb_pubkey *k = ec_key(SB_CURVE_P256, P256_QX, P256_QY);
    sb_sig_verifier *v = NULL;
    CHECK_OK(sb_sig_verifier_new(k, SB_HASH_SHA256, SB_SIG_ECDSA, &v, &err), &err);
    size_t n;
    uint8_t *s = raw_sig(P256_R, P256_S, 32, false, &n);
    uint8_t *t = raw_sig(P256_TR, P256_TS, 32, false, &n);
    for (int i = 0; i < 3; i++) {
        CHECK_OK(sb_sig_verifier_verify(v, "sample", 6, s, n, SB_ECDSA_RAW_BE, &err), &err);
        CHECK_INT(sb_sig_verifier_verify(v, "samplf", 6, s, n, SB_ECDSA_RAW_BE, &err),
                  SB_E_SIGNATURE);
        CHECK_INT(sb_sig_verifier_verify(v, "sample", 6, s, n, SB_ECDSA_RAW_LE, &err),
                  SB_E_SIGNATURE);
        CHECK_OK(sb_sig_verifier_verify(v, "test", 4, t, n, SB_ECDSA_RAW_BE, &err), &err);
        CHECK_INT(sb_sig_verifier_verify(v, "sample", 6, s, 63, SB_ECDSA_RAW_BE, &err),
                  SB_E_MALFORMED);
    }
    sb_sig_verifier_free(v);
    v = NULL;
    /* the hash is part of the verifier */
    CHECK_OK(sb_sig_verifier_new(k, SB_HASH_SHA384, SB_SIG_ECDSA, &v, &err), &err);
    CHECK_INT(sb_sig_verifier_verify(v, "sample", 6, s, n, SB_ECDSA_RAW_BE, &err), SB_E_SIGNATURE);
    sb_sig_verifier_free(v);
    v = NULL;
    /* a scheme that does not fit the key */
    CHECK_INT(sb_sig_verifier_new(k, SB_HASH_SHA256, SB_SIG_RSA_PKCS1, &v, &err), SB_E_USAGE);
    free(s);
    free(t);
    sb_pubkey_free(k);

    sb_privkey *priv = test_rsa_priv();
    sb_pubkey *rk = NULL;
    CHECK_OK(sb_privkey_public(priv, &rk, &err), &err);
    uint8_t *rs = NULL;
    size_t rn = 0;
    CHECK_OK(sb_sign(priv, SB_HASH_SHA1, "quote", 5, SB_ECDSA_DER, &rs, &rn, &err), &err);
    CHECK_OK(sb_sig_verifier_new(rk, SB_HASH_SHA1, SB_SIG_RSA_PKCS1, &v, &err), &err);
    for (int i = 0; i < 3; i++) {
        CHECK_OK(sb_sig_verifier_verify(v, "quote", 5, rs, rn, SB_ECDSA_DER, &err), &err);
        rs[rn - 1] ^= 1;
        CHECK_INT(sb_sig_verifier_verify(v, "quote", 5, rs, rn, SB_ECDSA_DER, &err),
                  SB_E_SIGNATURE);
        rs[rn - 1] ^= 1;
        CHECK_INT(sb_sig_verifier_verify(v, "quote", 5, rs, rn - 1, SB_ECDSA_DER, &err),
                  SB_E_SIGNATURE);
        CHECK_CONTAINS(err.msg, "modulus");
        /* the one-shot function agrees */
        CHECK_OK(sb_rsa_pkcs1_verify(rk, SB_HASH_SHA1, "quote", 5, rs, rn, &err), &err);
    }
    sb_sig_verifier_free(v);
    v = NULL;
    CHECK_OK(sb_sig_verifier_new(rk, SB_HASH_SHA256, SB_SIG_RSA_PKCS1, &v, &err), &err);
    CHECK_INT(sb_sig_verifier_verify(v, "quote", 5, rs, rn, SB_ECDSA_DER, &err), SB_E_SIGNATURE);
    sb_sig_verifier_free(v);
    sb_sig_verifier_free(NULL);
    free(rs);
    sb_pubkey_free(rk);
    sb_privkey_free(priv);
}

TEST(ecdsa_sign_encodings_roundtrip) {
    sb_error err = {0};
    for (int c = 0; c < SB_CURVE_MAX; c++) {
        sb_privkey *priv = NULL;
        CHECK_OK(sb_privkey_generate_ec((enum sb_curve)c, &priv, &err), &err);
        CHECK_INT(sb_privkey_type(priv), SB_KEY_EC);
        sb_pubkey *k = NULL;
        CHECK_OK(sb_privkey_public(priv, &k, &err), &err);
        CHECK_INT(sb_pubkey_curve(k), c);
        for (int e = 0; e < SB_ECDSA_ENC_MAX; e++) {
            uint8_t *s = NULL;
            size_t n = 0;
            CHECK_OK(sb_sign(priv, SB_HASH_SHA384, "m", 1, (enum sb_ecdsa_enc)e, &s, &n, &err),
                     &err);
            if (e != SB_ECDSA_DER) CHECK_INT(n, 2 * sb_curve_coord_len((enum sb_curve)c));
            CHECK_OK(sb_ecdsa_verify(k, SB_HASH_SHA384, "m", 1, s, n, (enum sb_ecdsa_enc)e, &err),
                     &err);
            CHECK_INT(sb_ecdsa_verify(k, SB_HASH_SHA384, "n", 1, s, n, (enum sb_ecdsa_enc)e, &err),
                      SB_E_SIGNATURE);
            free(s);
        }
        /* PEM round trip of the private key */
        char *pem = NULL;
        CHECK_OK(sb_privkey_to_pem(priv, &pem, &err), &err);
        CHECK_CONTAINS(pem, "-----BEGIN PRIVATE KEY-----");
        sb_privkey *back = NULL;
        CHECK_OK(sb_privkey_from_pem((const uint8_t *)pem, strlen(pem), &back, &err), &err);
        sb_pubkey *k2 = NULL;
        CHECK_OK(sb_privkey_public(back, &k2, &err), &err);
        CHECK(sb_pubkey_equal(k, k2));
        sb_wipe(pem, strlen(pem));
        free(pem);
        sb_pubkey_free(k2);
        sb_privkey_free(back);
        sb_pubkey_free(k);
        sb_privkey_free(priv);
    }
}

TEST(pubkey_pem_and_garbage) {
    sb_error err = {0};
    sb_pubkey *k = ec_key(SB_CURVE_P384, P384_QX, P384_QY);
    uint8_t *der = NULL;
    size_t dn = 0;
    CHECK_OK(sb_pubkey_to_spki_der(k, &der, &dn, &err), &err);
    char *b64 = sb_base64_encode(der, dn);
    char pem[400];
    snprintf(pem, sizeof(pem), "-----BEGIN PUBLIC KEY-----\n%s\n-----END PUBLIC KEY-----\n", b64);
    sb_pubkey *k2 = NULL;
    CHECK_OK(sb_pubkey_from_pem((const uint8_t *)pem, strlen(pem), &k2, &err), &err);
    CHECK(sb_pubkey_equal(k, k2));
    sb_pubkey_free(k2);
    k2 = NULL;
    CHECK_INT(sb_pubkey_from_pem((const uint8_t *)"junk", 4, &k2, &err), SB_E_MALFORMED);
    CHECK_CONTAINS(err.msg, "pem:");
    const uint8_t garbage[] = {0x30, 0x82, 0xff, 0xff, 0x01};
    CHECK_INT(sb_pubkey_from_spki_der(garbage, sizeof(garbage), &k2, &err), SB_E_MALFORMED);
    CHECK_CONTAINS(err.msg, "spki: not a DER SubjectPublicKeyInfo");
    free(b64);
    free(der);
    sb_pubkey_free(k);
}

/* Frees the process-wide test key so LeakSanitizer stays quiet. */
__attribute__((destructor)) static void free_test_rsa(void) { EVP_PKEY_free(rsa_key); }

TEST(generated_rsa_and_ed25519_keys_sign_and_verify) {
    sb_error err = {0};
    sb_privkey *rsa = NULL, *ed = NULL, *ed2 = NULL;
    CHECK_OK(sb_privkey_generate_rsa(2048, &rsa, &err), &err);
    CHECK_INT(sb_privkey_type(rsa), SB_KEY_RSA);
    CHECK_INT(sb_privkey_generate_rsa(1024, &ed, &err), SB_E_USAGE);
    CHECK_OK(sb_privkey_generate_ed25519(&ed, &err), &err);
    CHECK_OK(sb_privkey_generate_ed25519(&ed2, &err), &err);
    CHECK_INT(sb_privkey_type(ed), SB_KEY_ED25519);
    sb_pubkey *rp = NULL, *ep = NULL, *ep2 = NULL;
    CHECK_OK(sb_privkey_public(rsa, &rp, &err), &err);
    CHECK_OK(sb_privkey_public(ed, &ep, &err), &err);
    CHECK_OK(sb_privkey_public(ed2, &ep2, &err), &err);
    CHECK_INT(sb_pubkey_bits(rp), 2048);
    CHECK(!sb_pubkey_equal(ep, ep2));
    CHECK(!sb_pubkey_equal(ep, rp)); /* different types compare unequal, no error left over */
    uint8_t *s = NULL;
    size_t n = 0;
    CHECK_OK(sb_sign(rsa, SB_HASH_SHA512, "m", 1, SB_ECDSA_DER, &s, &n, &err), &err);
    CHECK_OK(sb_rsa_pkcs1_verify(rp, SB_HASH_SHA512, "m", 1, s, n, &err), &err);
    CHECK_INT(sb_rsa_pkcs1_verify(rp, SB_HASH_SHA256, "m", 1, s, n, &err), SB_E_SIGNATURE);
    free(s);
    CHECK_OK(sb_sign(ed, SB_HASH_SHA256, "m", 1, SB_ECDSA_DER, &s, &n, &err), &err);
    CHECK_OK(sb_ed25519_verify(ep, "m", 1, s, n, &err), &err);
    CHECK_INT(sb_ed25519_verify(ep2, "m", 1, s, n, &err), SB_E_SIGNATURE);
    /* an Ed25519 signature handed to the ECDSA verifier is a usage error */
    CHECK_INT(sb_ecdsa_verify(ep, SB_HASH_SHA256, "m", 1, s, n, SB_ECDSA_RAW_BE, &err), SB_E_USAGE);
    free(s);
    char *pem = NULL;
    CHECK_OK(sb_privkey_to_pem(ed, &pem, &err), &err);
    sb_privkey *back = NULL;
    CHECK_OK(sb_privkey_from_pem((const uint8_t *)pem, strlen(pem), &back, &err), &err);
    sb_pubkey *bp = NULL;
    CHECK_OK(sb_privkey_public(back, &bp, &err), &err);
    CHECK(sb_pubkey_equal(bp, ep));
    free(pem);
    sb_pubkey_free(bp);
    sb_privkey_free(back);
    sb_pubkey_free(rp);
    sb_pubkey_free(ep);
    sb_pubkey_free(ep2);
    sb_privkey_free(rsa);
    sb_privkey_free(ed);
    sb_privkey_free(ed2);
}
