/* test_nvidia: the SPDM parser and the NVIDIA verifier — the pinned root, the corpus samples
 * (G1-G6) in their hex, PEM and JSON containers, Trustee's expected claims, the trailing-byte
 * rule, nonces, byte flips, every truncation and structural negatives. */
#include "crypto/crypto.h"
#include "evidence/evidence.h"
#include "harness.h"
#include "verify/verify.h"

#define G1 "nvidia/nvtrust/hopperAttestationReport.txt"
#define G1_CHAIN "nvidia/nvtrust/hopperCertChain.txt"
#define G1_CLAIMS "nvidia/trustee/hopperAttestationReport-claims.txt"
#define G2 "nvidia/trustee/hopper_coco_report1.txt"
#define G2_CHAIN "nvidia/trustee/hopper_coco_certs1.txt"
#define G3 "nvidia/attestation-sdk/hopper_evidence.json"
#define G3B "nvidia/attestation-sdk/evidence_hopper_590_12.json"
#define G4 "nvidia/attestation-sdk/multi_gpu_hopper.json"
#define G5 "nvidia/attestation-sdk/hopper_evidence_cert_hold.json"
#define AT 1764000000 /* 2025-11-24: inside every device certificate's window */

static const char *const G1_NONCE =
    "931d8dd0add203ac3d8b4fbde75e115278eefcdceac5b87671a748f32364dfcb";

struct files {
    uint8_t *p[3];
    struct sb_blob b[3];
    size_t n;
};

static void files_load(struct files *f, const char *a, const char *b) {
    memset(f, 0, sizeof(*f));
    const char *names[2] = {a, b};
    for (size_t i = 0; i < 2 && names[i]; i++) {
        size_t len = 0;
        f->p[i] = sb_test_read_evidence(names[i], &len);
        f->b[i] = (struct sb_blob){names[i], f->p[i], len};
        f->n++;
    }
}

static void files_free(struct files *f) {
    for (size_t i = 0; i < 3; i++)
        free(f->p[i]);
}

static int run(const struct files *f, int64_t at, const uint8_t *nonce, size_t nonce_len,
               json_t **claims, sb_error *err) {
    struct sb_verify_opts o = {.at = at, .nonce = nonce, .nonce_len = nonce_len};
    return sb_verifier_nvidia.verify(&o, f->b, f->n, claims, err);
}

static uint8_t *binary_report(const char *rel, size_t *n) {
    size_t len;
    uint8_t *hex = sb_test_read_evidence(rel, &len);
    uint8_t *out = NULL;
    sb_error err = {0};
    CHECK_OK(sb_spdm_from_hex(hex, len, &out, n, &err), &err);
    free(hex);
    return out;
}

static const char *pc_str(const json_t *cl, const char *key) {
    return json_string_value(json_object_get(json_object_get(cl, "platform_claims"), key));
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
    char hex[65];
    sb_hex_encode(sb_nvidia_root_sha256, 32, hex);
    CHECK_STR(hex, "102bf659d5419614c9d8e6aecebc80454eb26b1df6a769ac720b9a690b167b48");
    sb_error err = {0};
    sb_cert *root = NULL;
    CHECK_OK(sb_cert_from_pem((const uint8_t *)sb_nvidia_root_pem, strlen(sb_nvidia_root_pem),
                              &root, &err),
             &err);
    uint8_t fp[32];
    CHECK_OK(sb_cert_fingerprint(root, SB_HASH_SHA256, fp, &err), &err);
    CHECK_MEM(fp, sb_nvidia_root_sha256, 32);
    char *s = sb_cert_subject(root);
    CHECK_CONTAINS(s, "CN=NVIDIA Device Identity CA");
    free(s);
    sb_cert_free(root);
}

TEST(pinned_root_is_the_published_one) {
    if (!sb_test_evidence_dir()) return;
    static const char *const copies[] = {"nvidia/roots/nvtrust_verifier_device_root.pem",
                                         "nvidia/roots/trustee_nvidia_device_root.pem"};
    sb_error err = {0};
    sb_cert *root = NULL;
    CHECK_OK(sb_cert_from_pem((const uint8_t *)sb_nvidia_root_pem, strlen(sb_nvidia_root_pem),
                              &root, &err),
             &err);
    for (size_t i = 0; i < SB_ARRAY_LEN(copies); i++) {
        size_t n;
        uint8_t *pem = sb_test_read_evidence(copies[i], &n);
        sb_cert *c = NULL;
        CHECK_OK(sb_cert_from_pem(pem, n, &c, &err), &err);
        CHECK(sb_cert_equal(root, c));
        sb_cert_free(c);
        free(pem);
    }
    sb_cert_free(root);
}

TEST(spdm_parse_g1_and_g2) {
    if (!sb_test_evidence_dir()) return;
    size_t n;
    uint8_t *p = binary_report(G1, &n);
    sb_error err = {0};
    sb_spdm_report *r = calloc(1, sizeof(*r));
    CHECK_INT(n, 4117);
    CHECK_OK(sb_spdm_parse(p, n, 96, &err, r), &err);
    CHECK_INT(r->version, 0x11);
    CHECK_INT(r->n_blocks, 64);
    CHECK_INT(r->blocks[0].index, 1);
    CHECK_INT(r->blocks[63].index, 64);
    CHECK_INT(r->blocks[9].value_len, 48);
    CHECK_INT(r->opaque_len, 422);
    CHECK_INT(r->n_fields, 14);
    CHECK_INT(r->signed_len, 4117 - 96);
    CHECK_INT(r->trailing, 0);
    char nonce[65];
    sb_hex_encode(r->nonce, 32, nonce);
    CHECK_STR(nonce, G1_NONCE);
    const sb_spdm_opaque_field *f = sb_spdm_field(r, 3);
    CHECK(f && f->n == 10 && memcmp(f->p, "550.90.07", 10) == 0);
    CHECK(sb_spdm_field(r, 999) == NULL);
    free(p);
    /* G2: one byte after the signature. The signature is where the structure puts it, not the
     * last 96 bytes. */
    p = binary_report(G2, &n);
    CHECK_INT(n, 4130);
    CHECK_OK(sb_spdm_parse(p, n, 96, &err, r), &err);
    CHECK_INT(r->trailing, 1);
    CHECK_INT(r->signed_len, 4129 - 96);
    CHECK(r->signature == p + 4033);
    free(p);
    free(r);
}

TEST(g1_claims_equal_trustee_claims) {
    if (!sb_test_evidence_dir()) return;
    struct files f;
    files_load(&f, G1, G1_CHAIN);
    sb_error err = {0};
    json_t *cl = NULL;
    CHECK_OK(run(&f, AT, NULL, 0, &cl, &err), &err);
    size_t n;
    uint8_t *want_txt = sb_test_read_evidence(G1_CLAIMS, &n);
    json_t *want = json_loadb((const char *)want_txt, n, 0, NULL);
    CHECK(want != NULL);
    const char *k;
    json_t *v;
    size_t blocks = 0, config = 0;
    json_object_foreach(json_object_get(want, "measurements"), k, v) {
        char name[32];
        (void)snprintf(name, sizeof(name), "block%s", k);
        CHECK_STR(json_string_value(json_object_get(json_object_get(cl, "measurements"), name)),
                  json_string_value(v));
        blocks++;
    }
    json_t *pc = json_object_get(cl, "platform_claims");
    json_object_foreach(json_object_get(want, "config"), k, v) {
        CHECK_MSG(json_equal(json_object_get(pc, k), v), "config.%s differs", k);
        config++;
    }
    CHECK_INT(blocks, 64);
    CHECK_INT(config, 14);
    CHECK_STR(json_string_value(json_object_get(cl, "product")), "Hopper");
    CHECK_STR(json_string_value(json_object_get(cl, "report_data")), G1_NONCE);
    CHECK_STR(pc_str(cl, "nonce"), G1_NONCE);
    CHECK_STR(pc_str(cl, "ocsp"), "unchecked");
    CHECK_STR(pc_str(cl, "rim"), "unchecked");
    CHECK_STR(json_string_value(json_object_get(json_object_get(cl, "platform_identity"), "fwid")),
              "f5c384aebb579217a2c66b17ed0f28e6a9b8d639041acd7b4721cec004f7275494ba94bb5cdfdb3055ee"
              "051762b1f75d");
    CHECK(has_warning(cl, "(OCSP) was not checked"));
    CHECK(has_warning(cl, "RIMs"));
    CHECK_INT(json_array_size(json_object_get(cl, "collateral")), 5);
    json_decref(cl);
    json_decref(want);
    free(want_txt);
    files_free(&f);
}

TEST(g1_chain_through_certs_and_nonce) {
    if (!sb_test_evidence_dir()) return;
    struct files f;
    files_load(&f, G1, NULL);
    size_t cn;
    uint8_t *chain = sb_test_read_evidence("nvidia/trustee/hopper_cert_chain_case1.txt", &cn);
    struct sb_blob cert = {"case1", chain, cn};
    uint8_t *nonce = NULL;
    size_t nl;
    sb_error err = {0};
    CHECK_OK(sb_hex_decode(G1_NONCE, 64, &nonce, &nl, &err), &err);
    struct sb_verify_opts o = {
        .at = AT, .certs = &cert, .n_certs = 1, .nonce = nonce, .nonce_len = nl};
    json_t *cl = NULL;
    CHECK_OK(sb_verifier_nvidia.verify(&o, f.b, 1, &cl, &err), &err);
    json_decref(cl);
    cl = NULL;
    nonce[31] ^= 1;
    CHECK_INT(sb_verifier_nvidia.verify(&o, f.b, 1, &cl, &err), SB_E_POLICY);
    CHECK_CONTAINS(err.msg, "nonce mismatch");
    o.nonce_len = 16;
    CHECK_INT(sb_verifier_nvidia.verify(&o, f.b, 1, &cl, &err), SB_E_POLICY);
    CHECK(cl == NULL);
    /* without any chain: a usage error naming what is missing */
    o.n_certs = 0;
    o.nonce = NULL;
    CHECK_INT(sb_verifier_nvidia.verify(&o, f.b, 1, &cl, &err), SB_E_USAGE);
    CHECK_CONTAINS(err.msg, "needs its certificate chain");
    free(nonce);
    free(chain);
    files_free(&f);
}

TEST(g2_trailing_byte_is_a_warning) {
    if (!sb_test_evidence_dir()) return;
    struct files f;
    files_load(&f, G2, G2_CHAIN);
    sb_error err = {0};
    json_t *cl = NULL;
    CHECK_OK(run(&f, AT, NULL, 0, &cl, &err), &err);
    CHECK(has_warning(cl, "1 byte after the SPDM signature"));
    CHECK_INT(json_integer_value(
                  json_object_get(json_object_get(cl, "platform_claims"), "trailing_bytes")),
              1);
    CHECK_STR(pc_str(cl, "nonce"),
              "87d8e24ab336adafe228d49e83d745f6dba4ae505372b6a5704820856b343fec");
    CHECK_STR(pc_str(cl, "driver_version"), "580.95.05");
    json_decref(cl);
    /* the report with another GPU's chain: the FWID binding fails */
    files_free(&f);
    files_load(&f, G2, G1_CHAIN);
    CHECK_INT(run(&f, AT, NULL, 0, &cl, &err), SB_E_CHAIN);
    CHECK_CONTAINS(err.msg, "FWID does not match");
    files_free(&f);
}

TEST(g3_g4_g5_json_containers) {
    if (!sb_test_evidence_dir()) return;
    struct files f;
    sb_error err = {0};
    json_t *cl = NULL;
    files_load(&f, G3, NULL);
    CHECK_OK(run(&f, AT, NULL, 0, &cl, &err), &err);
    CHECK_STR(json_string_value(json_object_get(cl, "format")), "nvidia-attestation-sdk");
    CHECK_STR(pc_str(cl, "arch"), "HOPPER");
    CHECK_STR(json_string_value(json_object_get(cl, "product")), "Hopper");
    CHECK_STR(pc_str(cl, "driver_version"), "590.12");
    json_decref(cl);
    files_free(&f);
    files_load(&f, G3B, NULL);
    CHECK_OK(run(&f, AT, NULL, 0, &cl, &err), &err);
    json_decref(cl);
    files_free(&f);

    files_load(&f, G4, NULL);
    CHECK_OK(run(&f, AT, NULL, 0, &cl, &err), &err);
    json_t *pc = json_object_get(cl, "platform_claims");
    CHECK_INT(json_integer_value(json_object_get(pc, "devices")), 4);
    CHECK_INT(json_array_size(json_object_get(pc, "gpus")), 4);
    json_t *m = json_object_get(cl, "measurements");
    CHECK(json_object_get(m, "gpu0.block1") && json_object_get(m, "gpu3.block64"));
    CHECK(json_object_get(m, "block1") == NULL);
    CHECK_INT(json_object_size(m), 4 * 64);
    CHECK_INT(json_array_size(json_object_get(cl, "collateral")), 4 * 5);
    json_decref(cl);
    files_free(&f);

    /* G5: the driver RIM certificate is on hold upstream (OCSP). Offline, the report
     * authenticates and the claims say revocation was not checked. */
    files_load(&f, G5, NULL);
    CHECK_OK(run(&f, AT, NULL, 0, &cl, &err), &err);
    CHECK_STR(pc_str(cl, "ocsp"), "unchecked");
    CHECK(has_warning(cl, "(OCSP) was not checked"));
    json_decref(cl);
    files_free(&f);
}

TEST(g6_broken_chains) {
    if (!sb_test_evidence_dir()) return;
    static const struct {
        const char *chain, *msg;
    } C[] = {
        {"nvidia/trustee/hopper_cert_chain_case2.txt", "holds only the root CA"},
        {"nvidia/trustee/hopper_cert_chain_case3.txt", "unable to get local issuer"},
        {"nvidia/trustee/hopper_cert_chain_case4.txt", "FWID extension (OID 2.23.133.5.4.1) not"},
    };
    for (size_t i = 0; i < SB_ARRAY_LEN(C); i++) {
        struct files f;
        files_load(&f, G1, C[i].chain);
        sb_error err = {0};
        json_t *cl = NULL;
        CHECK_INT(run(&f, AT, NULL, 0, &cl, &err), SB_E_CHAIN);
        CHECK_CONTAINS(err.msg, C[i].msg);
        files_free(&f);
    }
}

/* The verifier's signature step on its own (one ECDSA verification per case). */
static int sig_check(const uint8_t *p, size_t n, const sb_pubkey *k, sb_error *err) {
    sb_spdm_report *r = calloc(1, sizeof(*r));
    int rc = sb_spdm_parse(p, n, 96, err, r);
    if (rc == 0)
        rc = sb_ecdsa_verify(k, SB_HASH_SHA384, r->signed_part, r->signed_len, r->signature,
                             r->sig_len, SB_ECDSA_RAW_BE, err);
    free(r);
    return rc;
}

TEST(byte_flips_fail) {
    if (!sb_test_evidence_dir()) return;
    size_t n, cn;
    uint8_t *p = binary_report(G1, &n);
    uint8_t *pem = sb_test_read_evidence(G1_CHAIN, &cn);
    sb_error err = {0};
    sb_cert *leaf = NULL;
    sb_pubkey *k = NULL;
    CHECK_OK(sb_cert_from_pem(pem, cn, &leaf, &err), &err);
    CHECK_OK(sb_cert_pubkey(leaf, &k, &err), &err);
    CHECK_OK(sig_check(p, n, k, &err), &err);
    size_t tried = 0;
    for (size_t i = 0; i < n; i++) {
        /* every byte outside the measurement record; a stride of 5 through the record */
        bool record = i >= 45 && i < 45 + 3520;
        if (record && i % 5 != 0) continue;
        p[i] ^= 0x01;
        int rc = sig_check(p, n, k, &err);
        CHECK_MSG(rc < 0, "flip at offset %zu verified", i);
        p[i] ^= 0x01;
        tried++;
    }
    CHECK(tried > 1200);
    /* a few through the whole verifier (hex container), including signature bytes */
    static const size_t offs[] = {0, 5, 40, 50, 2000, 4000, 4030, 4116};
    for (size_t j = 0; j < SB_ARRAY_LEN(offs); j++) {
        p[offs[j]] ^= 0x80;
        char *hex = sb_hex_dup(p, n);
        struct sb_blob b[2] = {{"flipped", (const uint8_t *)hex, strlen(hex)}, {"chain", pem, cn}};
        struct sb_verify_opts o = {.at = AT};
        json_t *cl = NULL;
        CHECK_MSG(sb_verifier_nvidia.verify(&o, b, 2, &cl, &err) < 0, "flip at %zu verified",
                  offs[j]);
        free(hex);
        p[offs[j]] ^= 0x80;
    }
    sb_pubkey_free(k);
    sb_cert_free(leaf);
    free(pem);
    free(p);
}

TEST(every_truncation_is_truncated) {
    if (!sb_test_evidence_dir()) return;
    size_t n;
    uint8_t *p = binary_report(G1, &n);
    sb_spdm_report *r = calloc(1, sizeof(*r));
    size_t bad = 0;
    for (size_t k = 0; k < n; k++) {
        uint8_t *cut = malloc(k ? k : 1);
        memcpy(cut, p, k);
        sb_error err = {0};
        int rc = sb_spdm_parse(cut, k, 96, &err, r);
        if (rc != SB_E_TRUNCATED && bad++ < 5)
            sb_test_fail(__FILE__, __LINE__, "cut at %zu: rc %d (%s)", k, rc, err.msg);
        free(cut);
    }
    CHECK_INT(bad, 0);
    free(r);
    /* through the verifier too, as hex text cut at whole bytes */
    size_t cn;
    uint8_t *pem = sb_test_read_evidence(G1_CHAIN, &cn);
    char *hex = sb_hex_dup(p, n);
    static const size_t cuts[] = {1, 36, 37, 38, 45, 100, 3565, 3600, 4021, 4116};
    for (size_t j = 0; j < SB_ARRAY_LEN(cuts); j++) {
        struct sb_blob b[2] = {{"cut", (const uint8_t *)hex, 2 * cuts[j]}, {"chain", pem, cn}};
        struct sb_verify_opts o = {.at = AT};
        sb_error err = {0};
        json_t *cl = NULL;
        int rc = sb_verifier_nvidia.verify(&o, b, 2, &cl, &err);
        CHECK_MSG(rc == SB_E_TRUNCATED || (cuts[j] < 2 && rc == SB_E_MALFORMED),
                  "cut at %zu: rc %d (%s)", cuts[j], rc, err.msg);
    }
    free(hex);
    free(pem);
    free(p);
}

/* Structural negatives: one byte (or field) of G1 changed, parsed again. */
TEST(structural_negatives) {
    if (!sb_test_evidence_dir()) return;
    size_t n;
    uint8_t *orig = binary_report(G1, &n);
    static const struct {
        size_t off;
        uint8_t val;
        int code;
        const char *msg;
    } C[] = {
        {0, 0x12, SB_E_UNSUPPORTED, "SPDM version 0x12 is not supported"},
        {1, 0xe1, SB_E_MALFORMED, "is not GET_MEASUREMENTS"},
        {2, 0x00, SB_E_MALFORMED, "did not ask for a signature"},
        {37, 0x10, SB_E_MALFORMED, "differs from the request's"},
        {38, 0x61, SB_E_MALFORMED, "is not MEASUREMENTS"},
        {41, 0xff, SB_E_TRUNCATED, "measurement block index"},
        {41, 0x3f, SB_E_MALFORMED, "trailing bytes after the measurement blocks"},
        {45 + 55, 0x01, SB_E_MALFORMED, "index 1 appears twice"},
        {45, 0x00, SB_E_MALFORMED, "has index 0"},
        {45 + 5, 0x31, SB_E_TRUNCATED, "DMTFSpecMeasurementValueSize (offset 0x34)"},
    };
    sb_spdm_report *r = calloc(1, sizeof(*r));
    uint8_t *p = malloc(n);
    for (size_t i = 0; i < SB_ARRAY_LEN(C); i++) {
        memcpy(p, orig, n);
        p[C[i].off] = C[i].val;
        sb_error err = {0};
        int rc = sb_spdm_parse(p, n, 96, &err, r);
        CHECK_MSG(rc == C[i].code, "case %zu: rc %d (%s)", i, rc, err.msg);
        CHECK_MSG(strstr(err.msg, C[i].msg), "case %zu: \"%s\" lacks \"%s\"", i, err.msg, C[i].msg);
    }
    /* a record too small for the blocks it is said to hold */
    memcpy(p, orig, n);
    p[42] = 0x10;
    p[43] = 0x00;
    sb_error e2 = {0};
    CHECK_INT(sb_spdm_parse(p, n, 96, &e2, r), SB_E_MALFORMED);
    CHECK_CONTAINS(e2.msg, "64 measurement blocks cannot fit a record of 16 bytes");
    /* OpaqueLength over the SPDM limit */
    size_t olen_at = 37 + 8 + 3520 + 32;
    memcpy(p, orig, n);
    p[olen_at] = 0x01;
    p[olen_at + 1] = 0x04; /* 1025 */
    sb_error err = {0};
    CHECK_INT(sb_spdm_parse(p, n, 96, &err, r), SB_E_LIMIT);
    CHECK_CONTAINS(err.msg, "OpaqueLength 1025");
    /* trailing bytes beyond the tolerated few are refused by the verifier */
    uint8_t *longer = calloc(1, n + 65);
    memcpy(longer, orig, n);
    CHECK_OK(sb_spdm_parse(longer, n + 65, 96, &err, r), &err);
    CHECK_INT(r->trailing, 65);
    size_t cn;
    uint8_t *pem = sb_test_read_evidence(G1_CHAIN, &cn);
    struct sb_blob b[2] = {{"long", longer, n + 65}, {"chain", pem, cn}};
    struct sb_verify_opts o = {.at = AT};
    json_t *cl = NULL;
    CHECK_INT(sb_verifier_nvidia.verify(&o, b, 2, &cl, &err), SB_E_MALFORMED);
    CHECK_CONTAINS(err.msg, "65 bytes after the signature");
    /* the binary report is accepted as well as its hex */
    b[1].len = cn;
    b[0].len = n;
    CHECK_OK(sb_verifier_nvidia.verify(&o, b, 2, &cl, &err), &err);
    json_decref(cl);
    free(pem);
    free(longer);
    free(p);
    free(r);
    free(orig);
}

TEST(json_container_negatives) {
    if (!sb_test_evidence_dir()) return;
    size_t n;
    uint8_t *txt = sb_test_read_evidence(G3, &n);
    json_t *good = json_loadb((const char *)txt, n, 0, NULL);
    CHECK(good != NULL);
    struct {
        const char *what;
        json_t *doc;
        int code;
        const char *msg;
    } C[4];
    C[0].what = "nonce";
    C[0].doc = json_deep_copy(good);
    json_object_set_new(json_array_get(C[0].doc, 0), "nonce",
                        json_string("00000000000000000000000000000000000000000000000000000000"
                                    "00000000"));
    C[0].code = SB_E_MALFORMED;
    C[0].msg = "container's nonce is not the one in the signed request";
    C[1].what = "no evidence";
    C[1].doc = json_deep_copy(good);
    json_object_del(json_array_get(C[1].doc, 0), "evidence");
    C[1].code = SB_E_MALFORMED;
    C[1].msg = "has no \"evidence\" string";
    C[2].what = "empty";
    C[2].doc = json_array();
    C[2].code = SB_E_MALFORMED;
    C[2].msg = "expected an array of evidence entries";
    C[3].what = "object";
    C[3].doc = json_incref(json_array_get(good, 0));
    C[3].code = 0;
    C[3].msg = NULL;
    for (size_t i = 0; i < SB_ARRAY_LEN(C); i++) {
        char *s = json_dumps(C[i].doc, 0);
        struct sb_blob b = {C[i].what, (const uint8_t *)s, strlen(s)};
        struct sb_verify_opts o = {.at = AT};
        sb_error err = {0};
        json_t *cl = NULL;
        int rc = sb_verifier_nvidia.verify(&o, &b, 1, &cl, &err);
        CHECK_MSG(rc == C[i].code, "%s: rc %d (%s)", C[i].what, rc, err.msg);
        if (C[i].msg) CHECK_CONTAINS(err.msg, C[i].msg);
        json_decref(cl);
        free(s);
        json_decref(C[i].doc);
    }
    /* duplicate keys are refused by the JSON reader */
    const char *dup = "[{\"evidence\": \"EeAB\", \"evidence\": \"EeAB\", \"certificate\": \"\"}]";
    struct sb_blob b = {"dup", (const uint8_t *)dup, strlen(dup)};
    struct sb_verify_opts o = {.at = AT};
    sb_error err = {0};
    json_t *cl = NULL;
    CHECK_INT(sb_verifier_nvidia.verify(&o, &b, 1, &cl, &err), SB_E_MALFORMED);
    CHECK_CONTAINS(err.msg, "duplicate");
    json_decref(good);
    free(txt);
}

TEST(detected_through_the_verifier_table) {
    if (!sb_test_evidence_dir()) return;
    static const char *const files[] = {G1, G2, G3, G4, G5};
    for (size_t i = 0; i < SB_ARRAY_LEN(files); i++) {
        struct files f;
        files_load(&f, files[i], NULL);
        const struct sb_verifier *v = NULL;
        sb_error err = {0};
        CHECK_OK(sb_verify_detect(f.b, 1, &v, &err), &err);
        CHECK(v == &sb_verifier_nvidia);
        files_free(&f);
    }
    struct files f;
    files_load(&f, G1_CHAIN, NULL);
    CHECK(sb_verifier_nvidia.sniff(f.b, 1) == 0);
    files_free(&f);
}

TEST(warm_context_keeps_every_per_report_check) {
    if (!sb_test_evidence_dir()) return;
    sb_nvidia_ctx *c = NULL;
    sb_error err = {0};
    CHECK_OK(sb_nvidia_ctx_new(&c, &err), &err);
    struct files f;
    files_load(&f, G1, G1_CHAIN);
    struct sb_verify_opts o = {.at = AT};
    json_t *cl = NULL;
    for (int i = 0; i < 3; i++) { /* cold, then warm */
        CHECK_OK(sb_nvidia_verify(c, &o, f.b, f.n, &cl, &err), &err);
        CHECK_INT(json_array_size(json_object_get(cl, "collateral")), 5);
        CHECK_STR(json_string_value(json_object_get(cl, "product")), "Hopper");
        json_decref(cl);
        cl = NULL;
    }
    /* the same (cached) chain with another device's report: the FWID binding still fails */
    struct files g;
    files_load(&g, G2, G1_CHAIN);
    CHECK_INT(sb_nvidia_verify(c, &o, g.b, g.n, &cl, &err), SB_E_CHAIN);
    CHECK_CONTAINS(err.msg, "FWID does not match");
    files_free(&g);
    /* a time before the certificates: the cached chain is not used, the full check refuses */
    o.at = 1577836800; /* 2020-01-01 */
    CHECK_INT(sb_nvidia_verify(c, &o, f.b, f.n, &cl, &err), SB_E_CHAIN);
    CHECK_CONTAINS(err.msg, "not yet valid");
    o.at = AT;
    /* a flipped signature byte on the warm path */
    size_t n;
    uint8_t *p = binary_report(G1, &n);
    p[n - 1] ^= 1;
    struct sb_blob b[2] = {{"flipped", p, n}, f.b[1]};
    CHECK_INT(sb_nvidia_verify(c, &o, b, 2, &cl, &err), SB_E_SIGNATURE);
    free(p);
    /* other chain bytes are verified on their own */
    files_load(&g, G1, "nvidia/trustee/hopper_cert_chain_case4.txt");
    CHECK_INT(sb_nvidia_verify(c, &o, g.b, g.n, &cl, &err), SB_E_CHAIN);
    CHECK_CONTAINS(err.msg, "FWID extension");
    files_free(&g);
    /* many devices through one context, twice */
    files_load(&g, G4, NULL);
    for (int i = 0; i < 2; i++) {
        CHECK_OK(sb_nvidia_verify(c, &o, g.b, g.n, &cl, &err), &err);
        CHECK_INT(json_array_size(json_object_get(cl, "collateral")), 20);
        json_decref(cl);
        cl = NULL;
    }
    files_free(&g);
    files_free(&f);
    sb_nvidia_ctx_free(c);
}
