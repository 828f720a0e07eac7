/* test_jwe: Trustee-shaped JWE — a known answer produced by an independent implementation (the
 * npm jose package), round trips for ECDH-ES+A256KW (P-256, P-521) and RSA-OAEP-256, the
 * exact header shape (epk protected), tampering of every member, and the refused algorithms. */
#include <stdio.h>

#include "crypto/crypto.h"
#include "harness.h"

/* Made once with jose 6 (FlattenedEncrypt, ECDH-ES+A256KW / A256GCM) to the key below. */
static const char KAT_KEY[] = "-----BEGIN PRIVATE KEY-----\n"
                              "MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgayRpt1oFyN4IkElj\n"
                              "Ctea2m5Gt+JKPBWyU1YEdsFWqs6hRANCAAQqZx+eTR95+XstToNsyENTAbg1xPft\n"
                              "RxmIs+xATe7Eg4ty7Pyis4cr7WKmjzfpih9XBGI0nA2nTUyt842IULeT\n"
                              "-----END PRIVATE KEY-----\n";
static const char KAT_JWE[] =
    "{\"ciphertext\":\"X0E6Thr7XYYWSgbu6uh2fiscbJDqh0l1bZBALErGLLXAPJ9m9D-lBlA\",\"iv\":"
    "\"Y2fmKTee9lJqhMnH\",\"tag\":\"mRCG0S1rzRwSxlTdcWZ6QQ\",\"encrypted_key\":"
    "\"BDNbd_bk_S17u_e7OAAC9vD5Nh26zp3DOhCnC9z8hD-qXceXNcmTag\",\"protected\":"
    "\"eyJhbGciOiJFQ0RILUVTK0EyNTZLVyIsImVuYyI6IkEyNTZHQ00iLCJlcGsiOnsieCI6IlZxY1o2QTd0WWczb0Jn"
    "ekVDUHVfYXhlTXNKaTNfMXpFUk9xekZQM2dfZm8iLCJjcnYiOiJQLTI1NiIsImt0eSI6IkVDIiwieSI6InNNZHBMSk"
    "dvZlpTc2s3dWlVMWF3Qm1hQm1XSllBT1BvNU50OXZZd0ZGaHMifX0\"}";
static const char KAT_PT[] = "sealbox known answer: jose encrypted this";

TEST(known_answer_from_jose) {
    sb_error err = {0};
    sb_privkey *k = NULL;
    CHECK_OK(sb_privkey_from_pem((const uint8_t *)KAT_KEY, strlen(KAT_KEY), &k, &err), &err);
    json_t *jwe = json_loads(KAT_JWE, 0, NULL);
    uint8_t *pt = NULL;
    size_t n = 0;
    CHECK_OK(sb_jwe_decrypt(k, jwe, &pt, &n, &err), &err);
    CHECK_INT(n, strlen(KAT_PT));
    if (pt) CHECK_MEM(pt, KAT_PT, strlen(KAT_PT));
    free(pt);
    /* One flipped ciphertext character: the tag must fail. */
    char *bad = strdup(KAT_JWE);
    bad[16] = bad[16] == 'A' ? 'B' : 'A';
    json_t *j2 = json_loads(bad, 0, NULL);
    CHECK_INT(sb_jwe_decrypt(k, j2, &pt, &n, &err), SB_E_SIGNATURE);
    json_decref(j2);
    free(bad);
    json_decref(jwe);
    sb_privkey_free(k);
}

static sb_privkey *gen(int kind) {
    sb_privkey *k = NULL;
    sb_error err = {0};
    if (kind == 0) CHECK_OK(sb_privkey_generate_ec(SB_CURVE_P256, &k, &err), &err);
    if (kind == 1) CHECK_OK(sb_privkey_generate_ec(SB_CURVE_P521, &k, &err), &err);
    if (kind == 2) CHECK_OK(sb_privkey_generate_rsa(2048, &k, &err), &err);
    return k;
}

static json_t *header_of(const json_t *jwe) {
    const char *p = json_string_value(json_object_get(jwe, "protected"));
    uint8_t *raw = NULL;
    size_t n = 0;
    sb_error err = {0};
    if (!p || sb_base64url_decode(p, strlen(p), &raw, &n, &err) < 0) return NULL;
    json_t *h = json_loadb((const char *)raw, n, 0, NULL);
    free(raw);
    return h;
}

TEST(round_trip_and_shape) {
    static const char *const ALGS[] = {"ECDH-ES+A256KW", "ECDH-ES+A256KW", "RSA-OAEP-256"};
    const uint8_t secret[] = "the resource: 0123456789abcdef";
    for (int kind = 0; kind < 3; kind++) {
        sb_error err = {0};
        sb_privkey *k = gen(kind);
        json_t *pub = NULL, *jwe = NULL;
        CHECK_OK(sb_jwe_tee_pubkey(k, &pub, &err), &err);
        CHECK_STR(json_string_value(json_object_get(pub, "alg")), ALGS[kind]);
        CHECK_OK(sb_jwe_check_pubkey(pub, &err), &err);
        CHECK_OK(sb_jwe_encrypt(pub, secret, sizeof(secret), &jwe, &err), &err);
        /* Exactly Trustee's members, no unprotected header, no aad. */
        CHECK_INT(json_object_size(jwe), 5);
        CHECK(!json_object_get(jwe, "header") && !json_object_get(jwe, "unprotected"));
        json_t *h = header_of(jwe);
        CHECK_STR(json_string_value(json_object_get(h, "alg")), ALGS[kind]);
        CHECK_STR(json_string_value(json_object_get(h, "enc")), "A256GCM");
        json_t *epk = json_object_get(h, "epk");
        if (kind < 2) {
            CHECK(json_is_object(epk));
            CHECK_STR(json_string_value(json_object_get(epk, "kty")), "EC");
            CHECK_STR(json_string_value(json_object_get(epk, "crv")), kind ? "P-521" : "P-256");
            CHECK(!json_object_get(epk, "d"));
        } else {
            CHECK(!epk);
        }
        json_decref(h);
        uint8_t *pt = NULL;
        size_t n = 0;
        CHECK_OK(sb_jwe_decrypt(k, jwe, &pt, &n, &err), &err);
        CHECK_INT(n, sizeof(secret));
        if (pt) CHECK_MEM(pt, secret, sizeof(secret));
        free(pt);
        /* Every member matters: change one character of each and decryption fails. */
        static const char *const M[] = {"protected", "encrypted_key", "iv", "ciphertext", "tag"};
        for (size_t i = 0; i < SB_ARRAY_LEN(M); i++) {
            json_t *c = json_deep_copy(jwe);
            char *v = strdup(json_string_value(json_object_get(c, M[i])));
            size_t at = strlen(v) / 2;
            v[at] = v[at] == 'A' ? 'Q' : 'A';
            json_object_set_new(c, M[i], json_string(v));
            free(v);
            pt = NULL;
            CHECK_MSG(sb_jwe_decrypt(k, c, &pt, &n, &err) < 0, "tampered %s accepted (key %d)",
                      M[i], kind);
            free(pt);
            json_decref(c);
        }
        /* A different key of the same kind cannot open it. */
        sb_privkey *other = gen(kind);
        pt = NULL;
        CHECK(sb_jwe_decrypt(other, jwe, &pt, &n, &err) < 0);
        free(pt);
        sb_privkey_free(other);
        json_decref(jwe);
        json_decref(pub);
        sb_privkey_free(k);
    }
}

TEST(empty_plaintext) {
    sb_error err = {0};
    sb_privkey *k = gen(0);
    json_t *pub = NULL, *jwe = NULL;
    CHECK_OK(sb_jwe_tee_pubkey(k, &pub, &err), &err);
    CHECK_OK(sb_jwe_encrypt(pub, NULL, 0, &jwe, &err), &err);
    uint8_t *pt = NULL;
    size_t n = 7;
    CHECK_OK(sb_jwe_decrypt(k, jwe, &pt, &n, &err), &err);
    CHECK_INT(n, 0);
    free(pt);
    json_decref(jwe);
    json_decref(pub);
    sb_privkey_free(k);
}

TEST(refused_keys) {
    sb_error err = {0};
    sb_privkey *k = gen(2);
    json_t *pub = NULL, *jwe = NULL;
    CHECK_OK(sb_jwe_tee_pubkey(k, &pub, &err), &err);
    json_object_set_new(pub, "alg", json_string("RSA1_5"));
    CHECK_INT(sb_jwe_encrypt(pub, (const uint8_t *)"x", 1, &jwe, &err), SB_E_UNSUPPORTED);
    CHECK_CONTAINS(err.msg, "RSA1_5 is refused");
    CHECK_INT(sb_jwe_check_pubkey(pub, &err), SB_E_UNSUPPORTED);
    json_object_del(pub, "alg");
    CHECK_INT(sb_jwe_check_pubkey(pub, &err), SB_E_MALFORMED);
    CHECK_CONTAINS(err.msg, "'alg'");
    json_decref(pub);
    sb_privkey_free(k);

    sb_privkey *e384 = NULL;
    CHECK_OK(sb_privkey_generate_ec(SB_CURVE_P384, &e384, &err), &err);
    CHECK_INT(sb_jwe_tee_pubkey(e384, &pub, &err), SB_E_UNSUPPORTED);
    sb_pubkey *p384 = NULL;
    CHECK_OK(sb_privkey_public(e384, &p384, &err), &err);
    CHECK_OK(sb_pubkey_to_jwk(p384, &pub, &err), &err);
    json_object_set_new(pub, "alg", json_string("ECDH-ES+A256KW"));
    CHECK_INT(sb_jwe_check_pubkey(pub, &err), SB_E_UNSUPPORTED);
    CHECK_CONTAINS(err.msg, "crv 'P-384'");
    json_object_set_new(pub, "crv", json_string("P-256"));
    CHECK(sb_jwe_check_pubkey(pub, &err) < 0); /* coordinates of the wrong size */
    json_object_set_new(pub, "alg", json_string("ECDH-ES"));
    CHECK_INT(sb_jwe_check_pubkey(pub, &err), SB_E_UNSUPPORTED);
    json_decref(pub);
    sb_pubkey_free(p384);
    sb_privkey_free(e384);
    CHECK_INT(sb_jwe_check_pubkey(NULL, &err), SB_E_MALFORMED);
}

TEST(refused_jwes) {
    sb_error err = {0};
    sb_privkey *k = gen(0);
    json_t *pub = NULL, *jwe = NULL;
    CHECK_OK(sb_jwe_tee_pubkey(k, &pub, &err), &err);
    CHECK_OK(sb_jwe_encrypt(pub, (const uint8_t *)"abc", 3, &jwe, &err), &err);
    uint8_t *pt = NULL;
    size_t n = 0;
    /* An unprotected header is not Trustee's shape. */
    json_t *c = json_deep_copy(jwe);
    json_object_set_new(c, "unprotected", json_object());
    CHECK_INT(sb_jwe_decrypt(k, c, &pt, &n, &err), SB_E_UNSUPPORTED);
    CHECK_CONTAINS(err.msg, "'unprotected'");
    json_decref(c);
    /* A protected header with another enc, or with epk removed. */
    static const char *const HDRS[] = {
        "{\"alg\":\"ECDH-ES+A256KW\",\"enc\":\"A128GCM\"}",
        "{\"alg\":\"ECDH-ES+A256KW\",\"enc\":\"A256GCM\"}",
        "{\"alg\":\"RSA1_5\",\"enc\":\"A256GCM\"}",
        "{\"alg\":\"ECDH-ES+A256KW\",\"enc\":\"A256GCM\",\"zip\":\"DEF\"}",
        "[1]",
    };
    static const char *const WHY[] = {"enc 'A128GCM'", "'epk' is missing", "alg 'RSA1_5'", "'zip'",
                                      "not a JSON object"};
    for (size_t i = 0; i < SB_ARRAY_LEN(HDRS); i++) {
        c = json_deep_copy(jwe);
        char *b = sb_base64url_encode((const uint8_t *)HDRS[i], strlen(HDRS[i]));
        json_object_set_new(c, "protected", json_string(b));
        free(b);
        CHECK(sb_jwe_decrypt(k, c, &pt, &n, &err) < 0);
        CHECK_CONTAINS(err.msg, WHY[i]);
        json_decref(c);
    }
    /* Wrong member sizes are named. */
    c = json_deep_copy(jwe);
    json_object_set_new(c, "iv", json_string("AAAA"));
    CHECK_INT(sb_jwe_decrypt(k, c, &pt, &n, &err), SB_E_MALFORMED);
    CHECK_CONTAINS(err.msg, "'iv'");
    json_object_del(c, "tag");
    CHECK_INT(sb_jwe_decrypt(k, c, &pt, &n, &err), SB_E_MALFORMED);
    json_decref(c);
    /* An RSA key cannot open an ECDH JWE. */
    sb_privkey *r = gen(2);
    CHECK_INT(sb_jwe_decrypt(r, jwe, &pt, &n, &err), SB_E_USAGE);
    sb_privkey_free(r);
    json_decref(jwe);
    json_decref(pub);
    sb_privkey_free(k);
}
