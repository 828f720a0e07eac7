/* test_nitro: COSE_Sign1 and the AWS Nitro verifier — the pinned root, the real documents of
 * the evidence corpus (N1-N8) at and away from their times, byte flips, every truncation, the
 * warm chain cache, nonce checks and structural negatives built with the CBOR writer. */
#include "crypto/crypto.h"
#include "evidence/evidence.h"
#include "harness.h"
#include "verify/verify.h"

#define N1 "nitro/blocky-nitrite/nitro_attestation.b64"
#define N2 "nitro/blocky-nitrite/nitro_attestation_debug.b64"
#define N3 "nitro/blocky-nitrite/selfsigned_attestation.b64"
#define N3_CERT "nitro/blocky-nitrite/selfsigned_cert.der"
#define N5 "nitro/evervault/beta_debug-mode-attestation-doc-bytes"
#define N8 "nitro/evervault/valid-attestation-doc-base64"
#define N8_CERT "nitro/evervault/valid-certificate.der"

#define T_N1 1725719859 /* 2024-09-07T14:37:39.545Z */
#define T_N2 1725719886 /* 2024-09-07T14:38:06.508Z */
#define T_N3 1713379906 /* stated in seconds */
#define T_N5 1665582606 /* 2022-10-12T13:50:06.081Z */
#define T_N8 1695049410 /* 2023-09-18T15:03:30.860Z */
#define YEAR_10000 253402300800ll

static void ctx_freep(sb_nitro_ctx **c) { sb_nitro_ctx_free(*c); }

/* Reads an evidence file and returns the raw CBOR document (base64 decoded when needed). */
static uint8_t *raw_doc(const char *rel, size_t *n) {
    size_t len;
    uint8_t *file = sb_test_read_evidence(rel, &len);
    if (!file) return NULL;
    uint8_t *owned = NULL;
    const uint8_t *doc;
    sb_error err = {0};
    if (sb_nitro_unwrap(file, len, &owned, &doc, n, &err) < 0) {
        sb_test_fail(__FILE__, __LINE__, "%s: %s", rel, err.msg);
        free(file);
        return NULL;
    }
    if (owned) {
        free(file);
        return owned;
    }
    return file;
}

static int verify_at(sb_nitro_ctx *c, const uint8_t *p, size_t n, int64_t at, json_t **claims,
                     sb_error *err) {
    struct sb_verify_opts o = {.at = at};
    return sb_nitro_verify(c, &o, p, n, claims, err);
}

static const char *claim_str(const json_t *cl, const char *section, const char *key) {
    const json_t *s = section ? json_object_get(cl, section) : cl;
    return json_string_value(json_object_get(s, key));
}

static bool has_warning(const json_t *cl, const char *needle) {
    size_t i;
    json_t *w;
    json_array_foreach(json_object_get(cl, "warnings"), i, w) {
        if (strstr(json_string_value(w), needle)) return true;
    }
    return false;
}

TEST(pinned_root_fingerprint) {
    static const char *const want =
        "641a0321a3e244efe456463195d606317ed7cdcc3c1756e09893f3c68f79bb5b";
    char hex[65];
    sb_hex_encode(sb_nitro_root_g1_sha256, 32, hex);
    CHECK_STR(hex, want);
    sb_error err = {0};
    sb_cert *root = NULL;
    CHECK_OK(sb_cert_from_pem((const uint8_t *)sb_nitro_root_g1_pem, strlen(sb_nitro_root_g1_pem),
                              &root, &err),
             &err);
    uint8_t fp[32];
    CHECK_OK(sb_cert_fingerprint(root, SB_HASH_SHA256, fp, &err), &err);
    CHECK_MEM(fp, sb_nitro_root_g1_sha256, 32);
    char *subject = sb_cert_subject(root);
    CHECK_CONTAINS(subject, "CN=aws.nitro-enclaves");
    free(subject);
    sb_cert_free(root);
}

TEST(pinned_root_is_the_published_one) {
    if (!sb_test_evidence_dir()) return;
    sb_error err = {0};
    sb_cert *root = NULL, *theirs = NULL;
    CHECK_OK(sb_cert_from_pem((const uint8_t *)sb_nitro_root_g1_pem, strlen(sb_nitro_root_g1_pem),
                              &root, &err),
             &err);
    size_t n;
    uint8_t *pem = sb_test_read_evidence("nitro/aws-root/root.pem", &n);
    CHECK_OK(sb_cert_from_pem(pem, n, &theirs, &err), &err);
    CHECK(sb_cert_equal(root, theirs));
    sb_cert_free(theirs);
    sb_cert_free(root);
    free(pem);
}

TEST(cose_sig_structure_matches_rfc9052_example) {
    /* RFC 9052 C.2.1 (cose-wg Examples sign1-pass-01): protected {1: -7}, payload
     * "This is the content."; ToBeSigned as published there. */
    static const char *const tbs_hex = "846a5369676e61747572653143a101264054546869732069732074"
                                       "686520636f6e74656e742e";
    uint8_t sig[64] = {0};
    sb_writer w;
    sb_writer_init(&w, 1024);
    uint8_t prot[] = {0xa1, 0x01, 0x26};
    (void)sb_cbor_put_tag(&w, 18);
    (void)sb_cbor_put_array(&w, 4);
    (void)sb_cbor_put_bytes(&w, prot, sizeof(prot));
    (void)sb_cbor_put_map(&w, 1);
    (void)sb_cbor_put_uint(&w, 4);
    (void)sb_cbor_put_bytes(&w, "11", 2);
    (void)sb_cbor_put_bytes(&w, "This is the content.", 20);
    (void)sb_cbor_put_bytes(&w, sig, sizeof(sig));
    CHECK_INT(sb_writer_status(&w), 0);
    sb_error err = {0};
    sb_cose_sign1 c;
    CHECK_OK(sb_cose_sign1_parse(w.buf, w.len, "cose", &err, &c), &err);
    CHECK(c.tagged);
    CHECK_INT(c.alg, SB_COSE_ES256);
    CHECK_INT(c.payload_len, 20);
    sb_writer t;
    sb_writer_init(&t, 1024);
    CHECK_OK(sb_cose_sign1_tbs(&c, NULL, 0, &t), &err);
    char *hex = sb_hex_dup(t.buf, t.len);
    CHECK_STR(hex, tbs_hex);
    free(hex);
    sb_writer_free(&t);
    sb_writer_free(&w);
}

/* A COSE_Sign1 built from parts, for the structural negatives. */
static uint8_t *build_cose(int64_t alg, bool alg_protected, bool crit, size_t sig_len,
                           bool nil_payload, size_t elems, size_t *n) {
    sb_writer ph, w;
    sb_writer_init(&ph, 256);
    (void)sb_cbor_put_map(&ph, (alg_protected ? 1 : 0) + (crit ? 1 : 0));
    if (alg_protected) {
        (void)sb_cbor_put_uint(&ph, 1);
        (void)sb_cbor_put_int(&ph, alg);
    }
    if (crit) {
        (void)sb_cbor_put_uint(&ph, 2);
        (void)sb_cbor_put_array(&ph, 1);
        (void)sb_cbor_put_uint(&ph, 99);
    }
    sb_writer_init(&w, 4096);
    (void)sb_cbor_put_array(&w, elems);
    (void)sb_cbor_put_bytes(&w, ph.buf, ph.len);
    (void)sb_cbor_put_map(&w, alg_protected ? 0 : 1);
    if (!alg_protected) {
        (void)sb_cbor_put_uint(&w, 1);
        (void)sb_cbor_put_int(&w, alg);
    }
    if (nil_payload)
        (void)sb_cbor_put_simple(&w, 22);
    else
        (void)sb_cbor_put_bytes(&w, "x", 1);
    uint8_t sig[200] = {0};
    (void)sb_cbor_put_bytes(&w, sig, sig_len);
    for (size_t i = 4; i < elems; i++)
        (void)sb_cbor_put_uint(&w, 0);
    sb_writer_free(&ph);
    if (sb_writer_status(&w) != 0) return NULL;
    return sb_writer_steal(&w, n);
}

TEST(cose_structural_negatives) {
    static const struct {
        int64_t alg;
        bool prot, crit;
        size_t sig, elems;
        bool nil;
        int code;
        const char *msg;
    } C[] = {
        {-35, true, false, 96, 4, false, 0, NULL},
        {-7, true, false, 64, 4, false, 0, NULL},
        {-36, true, false, 132, 4, false, 0, NULL},
        {-35, true, false, 95, 4, false, SB_E_MALFORMED, "is 95 bytes, alg -35 needs 96"},
        {-7, true, false, 96, 4, false, SB_E_MALFORMED, "alg -7 needs 64"},
        {-8, true, false, 64, 4, false, SB_E_UNSUPPORTED, "alg -8 is not supported"},
        {-35, false, false, 96, 4, false, SB_E_MALFORMED, "no algorithm"},
        {-35, true, true, 96, 4, false, SB_E_UNSUPPORTED, "critical headers"},
        {-35, true, false, 96, 4, true, SB_E_UNSUPPORTED, "detached"},
        {-35, true, false, 96, 5, false, SB_E_MALFORMED, "array of 4 elements"},
        {-35, true, false, 96, 3, false, SB_E_MALFORMED, "array of 4 elements"},
    };
    for (size_t i = 0; i < SB_ARRAY_LEN(C); i++) {
        size_t n = 0;
        uint8_t *p = build_cose(C[i].alg, C[i].prot, C[i].crit, C[i].sig, C[i].nil, C[i].elems, &n);
        if (C[i].elems == 3) n -= 1 + C[i].sig + 1; /* drop the signature: the array says 3 */
        sb_error err = {0};
        sb_cose_sign1 c;
        int rc = sb_cose_sign1_parse(p, n, "cose", &err, &c);
        CHECK_MSG(rc == C[i].code, "case %zu: rc %d (%s)", i, rc, err.msg);
        if (C[i].msg) CHECK_CONTAINS(err.msg, C[i].msg);
        free(p);
    }
    /* tags other than 18, and a protected header that is not a map */
    const uint8_t wrong_tag[] = {0xd1, 0x84, 0x40, 0xa0, 0x40, 0x40};
    sb_error err = {0};
    sb_cose_sign1 c;
    CHECK_INT(sb_cose_sign1_parse(wrong_tag, sizeof(wrong_tag), "cose", &err, &c), SB_E_MALFORMED);
    CHECK_CONTAINS(err.msg, "tag 17 is not COSE_Sign1");
    const uint8_t not_map[] = {0x84, 0x41, 0x01, 0xa0, 0x40, 0x40};
    CHECK_INT(sb_cose_sign1_parse(not_map, sizeof(not_map), "cose", &err, &c), SB_E_MALFORMED);
    CHECK_CONTAINS(err.msg, "protected header (offset 0x2) is a unsigned integer, not a map");
}

/* A Nitro payload built field by field; `skip` omits one field, `bad` corrupts one. */
static uint8_t *build_nitro(const char *skip, const char *bad, size_t *n) {
    sb_writer pl, w;
    sb_writer_init(&pl, 1u << 16);
    uint8_t buf[64] = {0}, der[100];
    memset(der, 0x30, sizeof(der));
    bool b = false;
    static const char *const keys[] = {"module_id",  "digest",      "timestamp",
                                       "pcrs",       "certificate", "cabundle",
                                       "public_key", "user_data",   "nonce"};
    size_t count = 0;
    for (size_t i = 0; i < SB_ARRAY_LEN(keys); i++)
        count += !(skip && strcmp(skip, keys[i]) == 0);
    if (bad && strcmp(bad, "extra_key") == 0) count++;
    (void)sb_cbor_put_map(&pl, count);
    for (size_t i = 0; i < SB_ARRAY_LEN(keys); i++) {
        const char *k = keys[i];
        if (skip && strcmp(skip, k) == 0) continue;
        b = bad && strcmp(bad, k) == 0;
        (void)sb_cbor_put_text(&pl, k);
        if (strcmp(k, "module_id") == 0) {
            (void)sb_cbor_put_text(&pl, b ? "" : "i-0123-enc0123");
        } else if (strcmp(k, "digest") == 0) {
            (void)sb_cbor_put_text(&pl, b ? "SHA256" : "SHA384");
        } else if (strcmp(k, "timestamp") == 0) {
            if (b)
                (void)sb_cbor_put_int(&pl, -5);
            else
                (void)sb_cbor_put_uint(&pl, 1700000000000ull);
        } else if (strcmp(k, "pcrs") == 0) {
            (void)sb_cbor_put_map(&pl, 3);
            for (unsigned j = 0; j < 3; j++) {
                (void)sb_cbor_put_uint(&pl, b && j == 2 ? 32 : j);
                (void)sb_cbor_put_bytes(&pl, buf, b && j == 1 ? 47 : 48);
            }
        } else if (strcmp(k, "certificate") == 0) {
            (void)sb_cbor_put_bytes(&pl, der, b ? 0 : sizeof(der));
        } else if (strcmp(k, "cabundle") == 0) {
            size_t nc = b ? SB_NITRO_MAX_CABUNDLE + 1 : 2;
            (void)sb_cbor_put_array(&pl, nc);
            for (size_t j = 0; j < nc; j++)
                (void)sb_cbor_put_bytes(&pl, der, sizeof(der));
        } else if (b) {
            (void)sb_cbor_put_uint(&pl, 7); /* public_key, user_data, nonce: bytes or null */
        } else if (strcmp(k, "nonce") == 0) {
            (void)sb_cbor_put_simple(&pl, 22);
        } else {
            (void)sb_cbor_put_bytes(&pl, buf, 16);
        }
    }
    if (bad && strcmp(bad, "extra_key") == 0) {
        (void)sb_cbor_put_text(&pl, "future_field");
        (void)sb_cbor_put_uint(&pl, 1);
    }
    sb_writer_init(&w, 1u << 16);
    const uint8_t prot[] = {0xa1, 0x01, 0x38, 0x22};
    uint8_t sig[96] = {0};
    (void)sb_cbor_put_array(&w, 4);
    (void)sb_cbor_put_bytes(&w, prot, sizeof(prot));
    (void)sb_cbor_put_map(&w, 0);
    (void)sb_cbor_put_bytes(&w, pl.buf, pl.len);
    (void)sb_cbor_put_bytes(&w, sig, sizeof(sig));
    sb_writer_free(&pl);
    return sb_writer_steal(&w, n);
}

TEST(nitro_payload_structure) {
    size_t n;
    sb_error err = {0};
    sb_nitro_doc d;
    uint8_t *p = build_nitro(NULL, NULL, &n);
    CHECK_OK(sb_nitro_parse(p, n, &err, &d), &err);
    CHECK_INT(d.n_pcrs, 3);
    CHECK_INT(d.n_cabundle, 2);
    CHECK(d.has_public_key && d.has_user_data && !d.has_nonce);
    CHECK(d.timestamp == 1700000000000ull);
    CHECK_INT(d.n_unknown_keys, 0);
    CHECK(sb_nitro_sniff(p, n));
    free(p);
    static const struct {
        const char *skip, *bad;
        int code;
        const char *msg;
    } C[] = {
        {"module_id", NULL, SB_E_MALFORMED, "payload has no \"module_id\""},
        {"digest", NULL, SB_E_MALFORMED, "payload has no \"digest\""},
        {"timestamp", NULL, SB_E_MALFORMED, "payload has no \"timestamp\""},
        {"pcrs", NULL, SB_E_MALFORMED, "payload has no \"pcrs\""},
        {"certificate", NULL, SB_E_MALFORMED, "payload has no \"certificate\""},
        {"cabundle", NULL, SB_E_MALFORMED, "payload has no \"cabundle\""},
        {NULL, "module_id", SB_E_MALFORMED, "module_id (offset"},
        {NULL, "digest", SB_E_UNSUPPORTED, "digest \"SHA256\""},
        {NULL, "timestamp", SB_E_MALFORMED, "timestamp"},
        {NULL, "pcrs", SB_E_MALFORMED, "pcr1 (offset"},
        {NULL, "certificate", SB_E_MALFORMED, "certificate (offset"},
        {NULL, "cabundle", SB_E_LIMIT, "cabundle (offset"},
        {NULL, "public_key", SB_E_MALFORMED, "public_key"},
        {NULL, "user_data", SB_E_MALFORMED, "user_data"},
        {NULL, "nonce", SB_E_MALFORMED, "nonce"},
    };
    for (size_t i = 0; i < SB_ARRAY_LEN(C); i++) {
        p = build_nitro(C[i].skip, C[i].bad, &n);
        int rc = sb_nitro_parse(p, n, &err, &d);
        CHECK_MSG(rc == C[i].code, "case %zu (%s/%s): rc %d (%s)", i, C[i].skip, C[i].bad, rc,
                  err.msg);
        CHECK_MSG(strstr(err.msg, C[i].msg), "case %zu: \"%s\" lacks \"%s\"", i, err.msg, C[i].msg);
        free(p);
    }
    /* optional public_key/user_data/nonce may be absent; unknown keys are counted */
    p = build_nitro("nonce", "extra_key", &n);
    CHECK_OK(sb_nitro_parse(p, n, &err, &d), &err);
    CHECK(!d.has_nonce);
    CHECK_INT(d.n_unknown_keys, 1);
    free(p);
}

TEST(nitro_unwrap_sniffs_both_encodings) {
    size_t n;
    uint8_t *p = build_nitro(NULL, NULL, &n);
    char *b64 = sb_base64_encode(p, n);
    size_t bl = strlen(b64);
    uint8_t *owned = NULL;
    const uint8_t *doc;
    size_t dl;
    sb_error err = {0};
    CHECK_OK(sb_nitro_unwrap((const uint8_t *)b64, bl, &owned, &doc, &dl, &err), &err);
    CHECK(owned != NULL);
    CHECK_INT(dl, n);
    CHECK_MEM(doc, p, n);
    CHECK(sb_nitro_sniff((const uint8_t *)b64, bl));
    free(owned);
    CHECK_OK(sb_nitro_unwrap(p, n, &owned, &doc, &dl, &err), &err);
    CHECK(owned == NULL && doc == p && dl == n);
    CHECK_INT(sb_nitro_unwrap(p, 0, &owned, &doc, &dl, &err), SB_E_TRUNCATED);
    const char *junk = "hello world";
    CHECK(!sb_nitro_sniff((const uint8_t *)junk, strlen(junk)));
    CHECK_INT(sb_nitro_unwrap((const uint8_t *)junk, strlen(junk), &owned, &doc, &dl, &err),
              SB_E_MALFORMED);
    CHECK_CONTAINS(err.msg, "not an attestation document");
    free(b64);
    free(p);
}

TEST(n1_production_document) {
    if (!sb_test_evidence_dir()) return;
    size_t n;
    uint8_t *p = raw_doc(N1, &n);
    _cleanup_(ctx_freep) sb_nitro_ctx *c = NULL;
    sb_error err = {0};
    CHECK_OK(sb_nitro_ctx_new(NULL, 0, &c, &err), &err);
    json_t *cl = NULL;
    CHECK_OK(verify_at(c, p, n, T_N1, &cl, &err), &err);
    CHECK_STR(claim_str(cl, NULL, "platform"), "nitro");
    CHECK(json_is_false(json_object_get(cl, "debug")));
    CHECK_CONTAINS(claim_str(cl, "measurements", "pcr0"), "e72a46ca");
    CHECK_CONTAINS(claim_str(cl, "measurements", "pcr1"), "0343b056");
    CHECK_CONTAINS(claim_str(cl, "measurements", "pcr2"), "d5dcbdea");
    CHECK_INT(strlen(claim_str(cl, "measurements", "pcr15")), 96);
    CHECK_STR(claim_str(cl, "platform_identity", "module_id"),
              "i-0a22e5c5f24d22174-enc0191cceb4289903f");
    CHECK_STR(claim_str(cl, "platform_claims", "timestamp"), "2024-09-07T14:37:39Z");
    CHECK_INT(
        json_integer_value(json_object_get(json_object_get(cl, "platform_claims"), "timestamp_ms")),
        1725719859545ll);
    CHECK_INT(strlen(claim_str(cl, "platform_claims", "nonce")), 2048);
    CHECK_INT(strlen(claim_str(cl, NULL, "report_data")), 2048);
    CHECK_INT(json_array_size(json_object_get(cl, "collateral")), 5);
    CHECK_INT(json_array_size(json_object_get(cl, "warnings")), 0);
    json_decref(cl);
    /* the base64 file verifies as it is */
    size_t bl;
    uint8_t *b64 = sb_test_read_evidence(N1, &bl);
    CHECK_OK(verify_at(c, b64, bl, T_N1, &cl, &err), &err);
    json_decref(cl);
    free(b64);
    /* so does the same document under COSE tag 18 (the tag is not signed) */
    uint8_t *tagged = malloc(n + 1);
    tagged[0] = 0xd2;
    memcpy(tagged + 1, p, n);
    CHECK_OK(verify_at(c, tagged, n + 1, T_N1, &cl, &err), &err);
    json_decref(cl);
    free(tagged);
    free(p);
}

TEST(n1_outside_its_time) {
    if (!sb_test_evidence_dir()) return;
    size_t n;
    uint8_t *p = raw_doc(N1, &n);
    _cleanup_(ctx_freep) sb_nitro_ctx *c = NULL;
    sb_error err = {0};
    CHECK_OK(sb_nitro_ctx_new(NULL, 0, &c, &err), &err);
    json_t *cl = NULL;
    CHECK_INT(verify_at(c, p, n, YEAR_10000, &cl, &err), SB_E_CHAIN);
    CHECK_CONTAINS(err.msg, "certificate has expired");
    CHECK_INT(verify_at(c, p, n, 86400, &cl, &err), SB_E_CHAIN);
    CHECK_CONTAINS(err.msg, "certificate is not yet valid");
    /* warm the cache, then go past the leaf's 3-hour life while the bundle is still valid:
     * the cached path must still refuse the expired leaf */
    CHECK_OK(verify_at(c, p, n, T_N1, &cl, &err), &err);
    json_decref(cl);
    cl = NULL;
    CHECK_INT(verify_at(c, p, n, T_N1 + 4 * 3600, &cl, &err), SB_E_CHAIN);
    CHECK_CONTAINS(err.msg, "certificate has expired");
    CHECK_INT(verify_at(c, p, n, T_N1 - 3600, &cl, &err), SB_E_CHAIN);
    CHECK_CONTAINS(err.msg, "not yet valid");
    CHECK(cl == NULL);
    free(p);
}

TEST(n2_debug_document) {
    if (!sb_test_evidence_dir()) return;
    size_t n;
    uint8_t *p = raw_doc(N2, &n);
    _cleanup_(ctx_freep) sb_nitro_ctx *c = NULL;
    sb_error err = {0};
    CHECK_OK(sb_nitro_ctx_new(NULL, 0, &c, &err), &err);
    json_t *cl = NULL;
    CHECK_OK(verify_at(c, p, n, T_N2, &cl, &err), &err);
    CHECK(json_is_true(json_object_get(cl, "debug")));
    CHECK(has_warning(cl, "debug enclave"));
    CHECK_STR(claim_str(cl, "measurements", "pcr0"),
              "000000000000000000000000000000000000000000000000000000000000000000000000000000000"
              "000000000000000");
    json_decref(cl);
    free(p);
}

TEST(n3_self_signed_is_not_aws_rooted) {
    if (!sb_test_evidence_dir()) return;
    size_t n, cn;
    uint8_t *p = raw_doc(N3, &n);
    uint8_t *der = sb_test_read_evidence(N3_CERT, &cn);
    sb_error err = {0};
    json_t *cl = NULL;
    _cleanup_(ctx_freep) sb_nitro_ctx *aws = NULL;
    CHECK_OK(sb_nitro_ctx_new(NULL, 0, &aws, &err), &err);
    CHECK_INT(verify_at(aws, p, n, T_N3, &cl, &err), SB_E_CHAIN);
    CHECK_CONTAINS(err.msg, "not AWS-rooted");
    /* --certs never makes a root: the self-signed certificate given as a certificate changes
     * nothing */
    struct sb_blob cert = {"selfsigned_cert.der", der, cn};
    struct sb_verify_opts o = {.at = T_N3, .certs = &cert, .n_certs = 1};
    CHECK_INT(sb_verifier_nitro.verify(&o, &(struct sb_blob){"n3", p, n}, 1, &cl, &err),
              SB_E_CHAIN);
    CHECK_CONTAINS(err.msg, "not AWS-rooted");
    /* trusted explicitly (a test or private deployment), it verifies, seconds and all */
    sb_cert *self = NULL;
    CHECK_OK(sb_cert_from_der(der, cn, &self, &err), &err);
    _cleanup_(ctx_freep) sb_nitro_ctx *own = NULL;
    CHECK_OK(sb_nitro_ctx_new(&self, 1, &own, &err), &err);
    CHECK_OK(verify_at(own, p, n, T_N3, &cl, &err), &err);
    CHECK(has_warning(cl, "in seconds, not milliseconds"));
    CHECK_STR(claim_str(cl, "platform_claims", "timestamp"), "2024-04-17T18:51:46Z");
    CHECK_STR(claim_str(cl, "platform_claims", "nonce"), "");
    CHECK(json_is_false(json_object_get(cl, "debug"))); /* PCRs are ASCII '0', not zero */
    json_decref(cl);
    sb_cert_free(self);
    free(der);
    free(p);
}

TEST(n5_expired_today_valid_at_its_time) {
    if (!sb_test_evidence_dir()) return;
    size_t n;
    uint8_t *p = raw_doc(N5, &n);
    _cleanup_(ctx_freep) sb_nitro_ctx *c = NULL;
    sb_error err = {0};
    CHECK_OK(sb_nitro_ctx_new(NULL, 0, &c, &err), &err);
    json_t *cl = NULL;
    CHECK_INT(verify_at(c, p, n, sb_time_now(), &cl, &err), SB_E_CHAIN);
    CHECK_CONTAINS(err.msg, "certificate has expired");
    CHECK_OK(verify_at(c, p, n, T_N5, &cl, &err), &err);
    CHECK(json_is_true(json_object_get(cl, "debug")));
    CHECK_STR(claim_str(cl, "platform_claims", "user_data"), "68656c6c6f2c20776f726c6421");
    CHECK(json_is_null(json_object_get(json_object_get(cl, "platform_claims"), "nonce")));
    json_decref(cl);
    /* a nonce was expected, the document has none */
    struct sb_verify_opts o = {.at = T_N5, .nonce = (const uint8_t *)"\x01", .nonce_len = 1};
    CHECK_INT(sb_nitro_verify(c, &o, p, n, &cl, &err), SB_E_POLICY);
    CHECK_CONTAINS(err.msg, "carries none");
    free(p);
}

TEST(n8_user_data_binds_certificate) {
    if (!sb_test_evidence_dir()) return;
    size_t n, cn;
    uint8_t *p = raw_doc(N8, &n);
    uint8_t *der = sb_test_read_evidence(N8_CERT, &cn);
    struct sb_blob cert = {N8_CERT, der, cn};
    struct sb_verify_opts o = {.at = T_N8, .certs = &cert, .n_certs = 1};
    sb_error err = {0};
    json_t *cl = NULL;
    CHECK_OK(sb_verifier_nitro.verify(&o, &(struct sb_blob){"n8", p, n}, 1, &cl, &err), &err);
    CHECK_INT(strlen(claim_str(cl, "platform_claims", "user_data")), 182);
    CHECK_CONTAINS(claim_str(cl, "platform_claims", "user_data"), "3059301306072a8648ce3d0201");
    CHECK_CONTAINS(claim_str(cl, "platform_claims", "user_data_certificate"),
                   "CN=staging-synthetic-cage");
    CHECK(json_is_null(json_object_get(json_object_get(cl, "platform_claims"), "public_key")));
    json_decref(cl);
    /* another certificate does not match, and says so */
    size_t an;
    uint8_t *other = sb_test_read_evidence(N3_CERT, &an);
    struct sb_blob wrong = {"other.der", other, an};
    o.certs = &wrong;
    CHECK_OK(sb_verifier_nitro.verify(&o, &(struct sb_blob){"n8", p, n}, 1, &cl, &err), &err);
    CHECK(has_warning(cl, "user_data is not the public key of --certs other.der"));
    CHECK(json_object_get(json_object_get(cl, "platform_claims"), "user_data_certificate") == NULL);
    json_decref(cl);
    free(other);
    free(der);
    free(p);
}

TEST(nonce_check) {
    if (!sb_test_evidence_dir()) return;
    size_t n;
    uint8_t *p = raw_doc(N1, &n);
    _cleanup_(ctx_freep) sb_nitro_ctx *c = NULL;
    sb_error err = {0};
    CHECK_OK(sb_nitro_ctx_new(NULL, 0, &c, &err), &err);
    uint8_t nonce[1024];
    memset(nonce, 1, sizeof(nonce));
    struct sb_verify_opts o = {.at = T_N1, .nonce = nonce, .nonce_len = sizeof(nonce)};
    json_t *cl = NULL;
    CHECK_OK(sb_nitro_verify(c, &o, p, n, &cl, &err), &err);
    json_decref(cl);
    cl = NULL;
    nonce[1023] = 2;
    CHECK_INT(sb_nitro_verify(c, &o, p, n, &cl, &err), SB_E_POLICY);
    CHECK_CONTAINS(err.msg, "nonce mismatch");
    o.nonce_len = 32;
    CHECK_INT(sb_nitro_verify(c, &o, p, n, &cl, &err), SB_E_POLICY);
    CHECK(cl == NULL);
    free(p);
}

/* Offset of the unprotected header (not signed) in a document: after the array head and the
 * protected bstr. */
static void unprotected_span(const uint8_t *p, size_t n, size_t *off, size_t *len) {
    sb_cose_sign1 c;
    sb_error err = {0};
    CHECK_OK(sb_cose_sign1_parse(p, n, "t", &err, &c), &err);
    *off = c.unprotected.offset;
    *len = c.unprotected.raw_len;
}

TEST(byte_flips_fail) {
    if (!sb_test_evidence_dir()) return;
    size_t n;
    uint8_t *p = raw_doc(N1, &n);
    _cleanup_(ctx_freep) sb_nitro_ctx *c = NULL;
    sb_error err = {0};
    CHECK_OK(sb_nitro_ctx_new(NULL, 0, &c, &err), &err);
    size_t uoff, ulen;
    unprotected_span(p, n, &uoff, &ulen);
    sb_cose_sign1 cose;
    CHECK_OK(sb_cose_sign1_parse(p, n, "t", &err, &cose), &err);
    size_t sig_off = n - cose.signature_len;
    size_t tried = 0, sig_fail = 0;
    for (size_t i = 0; i < n; i++) {
        if (i >= uoff && i < uoff + ulen) continue;
        /* every byte of the headers, the payload's first 400 bytes (module_id, digest,
         * timestamp, the first PCRs) and the signature; a stride of 11 through the rest */
        if (i > 400 && i < sig_off && i % 11 != 0) continue;
        p[i] ^= 0x01;
        json_t *cl = NULL;
        int rc = verify_at(c, p, n, T_N1, &cl, &err);
        CHECK_MSG(rc < 0, "flip at offset %zu verified", i);
        if (i >= sig_off) sig_fail += rc == SB_E_SIGNATURE;
        json_decref(cl);
        p[i] ^= 0x01;
        tried++;
    }
    CHECK_INT(sig_fail, cose.signature_len);
    CHECK(tried > 1000);
    json_t *cl = NULL;
    CHECK_OK(verify_at(c, p, n, T_N1, &cl, &err), &err); /* restored */
    json_decref(cl);
    free(p);
}

TEST(every_truncation_is_truncated) {
    if (!sb_test_evidence_dir()) return;
    size_t n;
    uint8_t *p = raw_doc(N5, &n);
    _cleanup_(ctx_freep) sb_nitro_ctx *c = NULL;
    sb_error err = {0};
    CHECK_OK(sb_nitro_ctx_new(NULL, 0, &c, &err), &err);
    size_t bad = 0;
    for (size_t k = 0; k < n; k++) {
        uint8_t *cut = malloc(k ? k : 1);
        memcpy(cut, p, k);
        json_t *cl = NULL;
        int rc = verify_at(c, cut, k, T_N5, &cl, &err);
        if (rc != SB_E_TRUNCATED) {
            if (bad++ < 5)
                sb_test_fail(__FILE__, __LINE__, "cut at %zu: rc %d (%s)", k, rc, err.msg);
        }
        json_decref(cl);
        free(cut);
    }
    CHECK_INT(bad, 0);
    /* trailing bytes after the document are refused, not ignored */
    uint8_t *more = malloc(n + 1);
    memcpy(more, p, n);
    more[n] = 0;
    json_t *cl = NULL;
    CHECK_INT(verify_at(c, more, n + 1, T_N5, &cl, &err), SB_E_MALFORMED);
    CHECK_CONTAINS(err.msg, "trailing");
    free(more);
    free(p);
}

TEST(detected_through_the_verifier_table) {
    if (!sb_test_evidence_dir()) return;
    const char *files[] = {N1, N2, N3, N5, N8};
    for (size_t i = 0; i < SB_ARRAY_LEN(files); i++) {
        size_t n;
        uint8_t *p = sb_test_read_evidence(files[i], &n);
        struct sb_blob b = {files[i], p, n};
        const struct sb_verifier *v = NULL;
        sb_error err = {0};
        CHECK_OK(sb_verify_detect(&b, 1, &v, &err), &err);
        CHECK(v == &sb_verifier_nitro);
        free(p);
    }
}
