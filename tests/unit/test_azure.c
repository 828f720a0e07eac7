/* test_azure: the Azure HCL report parser and the azure-snp-vtpm verifier on Trustee's real
 * Milan and Genoa samples — AK from the runtime data, quote, var-data binding, SNP report —
 * with every byte of the report flipped, every truncation, and the v2 user-data rule. */
#include <stdlib.h>

#include "harness.h"
#include "verify/verify.h"

#define DIR "azure-vtpm/trustee-az-snp-vtpm/"
#define AT_A1 1735689600   /* 2025-01-01, inside vcek.pem */
#define AT_JSON 1748736000 /* 2025-06-01, inside the VCEKs embedded in evidence-*.json */

struct files {
    uint8_t *data[4];
    struct sb_blob blob[4];
    size_t n;
};

static bool load(struct files *f, const char *const *names, size_t n) {
    f->n = 0;
    for (size_t i = 0; i < n; i++) {
        size_t len;
        f->data[i] = sb_test_read_evidence(names[i], &len);
        if (!f->data[i]) return false;
        f->blob[i] = (struct sb_blob){.name = names[i], .data = f->data[i], .len = len};
        f->n++;
    }
    return true;
}

static void unload(struct files *f) {
    for (size_t i = 0; i < f->n; i++)
        free(f->data[i]);
}

static int verify(const struct sb_verify_opts *o, const struct sb_blob *b, size_t n, json_t **c,
                  sb_error *err) {
    json_t *claims = NULL;
    int rc = sb_verifier_azure_snp_vtpm.verify(o, b, n, &claims, err);
    if (c)
        *c = claims;
    else
        json_decref(claims);
    return rc;
}

static const char *str(json_t *c, const char *section, const char *key) {
    json_t *s = section ? json_object_get(c, section) : c;
    return json_string_value(json_object_get(s, key));
}

TEST(a1_hcl_report_with_quote) {
    if (!sb_test_evidence_dir()) return;
    static const char *const names[] = {DIR "hcl-report.bin", DIR "quote.bin", DIR "vcek.pem"};
    struct files f;
    if (!load(&f, names, 3)) goto out;
    sb_error err = {0};
    struct sb_verify_opts o = {.at = AT_A1, .nonce = (const uint8_t *)"challenge", .nonce_len = 9};
    json_t *c = NULL;
    CHECK_OK(verify(&o, f.blob, 3, &c, &err), &err);
    if (c) {
        CHECK_STR(str(c, NULL, "platform"), "snp");
        CHECK_STR(str(c, NULL, "format"), "azure-hcl");
        CHECK_STR(str(c, NULL, "report_data"), "6368616c6c656e6765");
        CHECK_STR(str(c, "platform_claims", "ak_bound_to"), "snp-report");
        CHECK(str(c, "measurements", "measurement") != NULL);
        CHECK_INT(json_object_size(json_object_get(c, "measurements")), 25);
        json_t *cfg =
            json_object_get(json_object_get(c, "platform_claims"), "azure_vm_configuration");
        CHECK(json_is_true(json_object_get(cfg, "secure-boot")));
        /* the SNP report_data is SHA-256(runtime data), zero-padded */
        const char *srd = str(c, "platform_claims", "snp_report_data");
        CHECK(srd && strlen(srd) == 128 &&
              strcmp(srd + 64, "0000000000000000000000000000000000"
                               "000000000000000000000000000000") == 0);
        /* no ak_certified=false claim: the AK is bound by the SNP report */
        CHECK(json_object_get(json_object_get(c, "platform_claims"), "ak_certified") == NULL);
    }
    json_decref(c);
    /* reversed nonce */
    o.nonce = (const uint8_t *)"egnellahc";
    CHECK_INT(verify(&o, f.blob, 3, NULL, &err), SB_E_SIGNATURE);
    CHECK_CONTAINS(err.msg, "nonce mismatch");
    /* no VCEK */
    o.nonce = NULL;
    CHECK_INT(verify(&o, f.blob, 2, NULL, &err), SB_E_CHAIN);
out:
    unload(&f);
}

/* Every byte from the hardware report to the end of the padding is signed, hashed into the
 * SNP report_data, or checked as format; the header's request_type (0x0c) is the one unsigned
 * field, and a change there is reported in no claim. */
TEST(a1_every_hcl_byte_flip_fails) {
    if (!sb_test_evidence_dir()) return;
    static const char *const names[] = {DIR "hcl-report.bin", DIR "quote.bin", DIR "vcek.pem"};
    struct files f;
    if (!load(&f, names, 3)) goto out;
    sb_error err = {0};
    struct sb_verify_opts o = {.at = AT_A1};
    size_t n = f.blob[0].len;
    uint8_t *copy = malloc(n);
    struct sb_blob b[3] = {f.blob[0], f.blob[1], f.blob[2]};
    b[0].data = copy;
    size_t checked = 0;
    for (size_t i = 0; i < n; i++) {
        if (i >= 0x0c && i < 0x10) continue; /* request_type */
        /* a dense sample of the SNP report body (the snp tests flip every byte of it) */
        if (i >= 0x20 + 0x50 && i < 0x20 + 0x2a0 && i % 5 != 0) continue;
        memcpy(copy, f.blob[0].data, n);
        copy[i] ^= 0x20;
        int rc = verify(&o, b, 3, NULL, &err);
        CHECK_MSG(rc < 0, "flipping HCL byte 0x%zx still verifies", i);
        checked++;
    }
    CHECK(checked > 1500);
    free(copy);
out:
    unload(&f);
}

TEST(hcl_parse_truncation_and_bounds) {
    if (!sb_test_evidence_dir()) return;
    size_t n;
    uint8_t *p = sb_test_read_evidence(DIR "hcl-report.bin", &n);
    if (!p) return;
    sb_error err = {0};
    struct sb_azure_hcl h;
    CHECK_OK(sb_azure_hcl_parse(p, n, &h, &err), &err);
    CHECK_INT(h.report_size, 2346);
    CHECK_INT(h.var_len, 1110);
    CHECK_INT(h.padding, 254);
    CHECK_INT(h.report_type, SB_HCL_REPORT_SNP);
    for (size_t cut = 0; cut < h.report_size; cut++) {
        uint8_t *q = malloc(cut + 1);
        memcpy(q, p, cut);
        CHECK_MSG(sb_azure_hcl_parse(q, cut, &h, &err) == SB_E_TRUNCATED, "cut %zu: %s", cut,
                  err.msg);
        free(q);
    }
    /* the padding may be shorter (the rule: zero bytes after report_size, any number) */
    CHECK_OK(sb_azure_hcl_parse(p, 2346, &h, &err), &err);
    CHECK_INT(h.padding, 0);
    uint8_t *q = malloc(n);
    memcpy(q, p, n);
    q[n - 1] = 1;
    CHECK_INT(sb_azure_hcl_parse(q, n, &h, &err), SB_E_MALFORMED);
    CHECK_CONTAINS(err.msg, "non-zero byte");
    memcpy(q, p, n);
    q[0x4c0] ^= 1; /* data_size */
    CHECK_INT(sb_azure_hcl_parse(q, n, &h, &err), SB_E_MALFORMED);
    CHECK_CONTAINS(err.msg, "data_size");
    memcpy(q, p, n);
    q[0x4d2] = 0x10; /* variable_data_size over the limit */
    CHECK_INT(sb_azure_hcl_parse(q, n, &h, &err), SB_E_LIMIT);
    memcpy(q, p, n);
    q[0x4c8] = 3; /* report_type */
    CHECK_INT(sb_azure_hcl_parse(q, n, &h, &err), SB_E_UNSUPPORTED);
    memcpy(q, p, n);
    q[4] = 3; /* version */
    CHECK_INT(sb_azure_hcl_parse(q, n, &h, &err), SB_E_UNSUPPORTED);
    free(q);
    free(p);
}

TEST(trustee_evidence_json_versions) {
    if (!sb_test_evidence_dir()) return;
    static const struct {
        const char *file, *pcr0;
    } cases[] = {
        {DIR "evidence-v0.json",
         "e15c44796beabf46abcec7c57e590942041e47497e4ec27571c8b7664f48dced"},
        {DIR "evidence-v1.json",
         "e15c44796beabf46abcec7c57e590942041e47497e4ec27571c8b7664f48dced"},
        {DIR "evidence-v2.json",
         "84275b2f4312cd4fc6cbe6b152ad3c3683e513d9f1e23c34fca160c8cca7a6a7"},
        {DIR "evidence-genoa.json",
         "afd689d0bb1c5f36f023fbaf574135f555a28a10c1f6b938d2a25e70c7783338"},
    };
    for (size_t i = 0; i < SB_ARRAY_LEN(cases); i++) {
        struct files f;
        if (!load(&f, &cases[i].file, 1)) {
            unload(&f);
            return;
        }
        struct sb_blob *b = &f.blob[0];
        CHECK(sb_verifier_azure_snp_vtpm.sniff(b, 1) > 0);
        CHECK_INT(sb_verifier_tpm.sniff(b, 1), 0);
        sb_error err = {0};
        struct sb_verify_opts o = {.at = AT_JSON};
        json_t *c = NULL;
        CHECK_OK(verify(&o, b, 1, &c, &err), &err);
        if (c) CHECK_STR(str(c, "measurements", "sha256:0"), cases[i].pcr0);
        json_decref(c);
        unload(&f);
    }
}

/* v2: the runtime data's user-data must be the quote's extraData. Rebuild evidence-v2.json with
 * one user-data digit changed: the user-data check fails before the (now also broken) binding. */
TEST(v2_user_data_must_match_report_data) {
    if (!sb_test_evidence_dir()) return;
    size_t n;
    uint8_t *p = sb_test_read_evidence(DIR "evidence-v2.json", &n);
    if (!p) return;
    json_t *root = json_loadb((const char *)p, n, 0, NULL);
    const char *b64 = json_string_value(json_object_get(root, "hcl_report"));
    uint8_t *hcl = NULL;
    size_t hl = 0;
    sb_error err = {0};
    CHECK_OK(sb_base64url_decode(b64, strlen(b64), &hcl, &hl, &err), &err);
    const char needle[] = "\"user-data\":\"982F";
    uint8_t *at = memmem(hcl, hl, needle, sizeof(needle) - 1);
    CHECK(at != NULL);
    if (at) {
        at[sizeof(needle) - 2] = 'E'; /* 982F -> 982E */
        char *enc = sb_base64url_encode(hcl, hl);
        json_object_set_new(root, "hcl_report", json_string(enc));
        free(enc);
        char *txt = json_dumps(root, 0);
        struct sb_blob b = {.name = "v2-edited", .data = (const uint8_t *)txt, .len = strlen(txt)};
        struct sb_verify_opts o = {.at = AT_JSON};
        CHECK_INT(verify(&o, &b, 1, NULL, &err), SB_E_SIGNATURE);
        CHECK_CONTAINS(err.msg, "user-data in the HCL variable data does not match report_data");
        free(txt);
    }
    free(hcl);
    json_decref(root);
    free(p);
}

TEST(usage_errors) {
    if (!sb_test_evidence_dir()) return;
    static const char *const names[] = {DIR "quote.bin", DIR "vcek.pem", DIR "hcl-report.bin",
                                        DIR "hcl-report.bin"};
    struct files f;
    if (!load(&f, names, 4)) goto out;
    sb_error err = {0};
    struct sb_verify_opts o = {.at = AT_A1};
    CHECK_INT(verify(&o, f.blob, 2, NULL, &err), SB_E_USAGE);
    CHECK_CONTAINS(err.msg, "no HCL report");
    CHECK_INT(verify(&o, f.blob, 4, NULL, &err), SB_E_USAGE);
    CHECK_CONTAINS(err.msg, "two HCL reports");
out:
    unload(&f);
}
