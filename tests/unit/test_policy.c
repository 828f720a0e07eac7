/* test_policy: every policy rule on both sides of its bound (a table in the style of
 * go-sev-guest's check_test.go), the secure defaults, the reasons' wording, and the AR4SI
 * trustworthiness vector claim by claim — all over synthetic claims objects. */
#include <dirent.h>
#include <stdio.h>

#include "harness.h"
#include "policy/policy.h"
#include "verify/verify.h"

#define AT 1748736000 /* 2025-06-01T00:00:00Z */
#define MEAS_A                                                                                     \
    "b07af962000000000000000000000000000000000000000000000000000000000000000000000000000000000000" \
    "2b01"
#define MEAS_B                                                                                     \
    "cd340000000000000000000000000000000000000000000000000000000000000000000000000000000000000000" \
    "00ff"

/* A clean, authenticated SNP-like claims object that the default policy affirms. */
static json_t *base_claims(const char *platform) {
    json_t *c = sb_claims_new(platform, "test", AT);
    uint8_t m[48] = {0xb0, 0x7a, 0xf9, 0x62};
    m[46] = 0x2b;
    m[47] = 0x01;
    uint8_t rd[64] = {1, 2, 3, 4, 5};
    if (!c || sb_claims_set_hex(c, "measurements", "measurement", m, sizeof(m)) < 0 ||
        sb_claims_set_hex(c, NULL, "report_data", rd, sizeof(rd)) < 0 ||
        sb_claims_set_int(c, "tcb", "components", 0) < 0)
        return NULL;
    json_t *comps =
        json_pack("{s:i, s:i, s:i, s:i}", "bootloader", 3, "tee", 0, "snp", 8, "microcode", 115);
    json_object_set_new(json_object_get(c, "tcb"), "components", comps);
    if (sb_claims_set_int(c, "platform_claims", "vmpl", 0) < 0 ||
        sb_claims_set_str(c, "signer", "id_key_digest", "aa11") < 0 ||
        sb_claims_set_int(c, "signer", "isvprodid", 7) < 0 ||
        sb_claims_set_str(c, "platform_identity", "chip_id", "3ac3fe21") < 0 ||
        sb_claims_set_str(c, NULL, "product", "Milan") < 0 ||
        sb_claims_set_str(c, NULL, "init_data", "8505e4e2") < 0)
        return NULL;
    return c;
}

static sb_policy *pol(const char *json) {
    sb_policy *p = NULL;
    sb_error err = {0};
    if (json)
        CHECK_OK(sb_policy_parse(json, strlen(json), "test", &p, &err), &err);
    else
        CHECK_OK(sb_policy_default(&p, &err), &err);
    return p;
}

/* Appraises and returns the status; *reasons gets the joined messages (static buffer). */
static enum sb_tier appraise(const char *policy, json_t *claims, const char **reasons,
                             struct sb_appraisal *keep) {
    static char buf[8192];
    sb_policy *p = pol(policy);
    struct sb_appraisal a = {0};
    struct sb_appraise_ctx ctx = {.at = AT};
    sb_error err = {0};
    buf[0] = 0;
    if (!p) return SB_TIER_MAX;
    CHECK_OK(sb_policy_appraise(p, claims, &ctx, &a, &err), &err);
    size_t i, used = 0;
    json_t *r;
    json_array_foreach(a.reasons, i, r) {
        int k = snprintf(buf + used, sizeof(buf) - used, "%s\n",
                         json_string_value(json_object_get(r, "message")));
        if (k > 0 && (size_t)k < sizeof(buf) - used) used += (size_t)k;
    }
    if (reasons) *reasons = buf;
    enum sb_tier t = a.status;
    if (keep)
        *keep = a;
    else
        sb_appraisal_clear(&a);
    sb_policy_free(p);
    return t;
}

TEST(default_policy_affirms_clean_hardware_evidence) {
    json_t *c = base_claims("snp");
    const char *r;
    CHECK_INT(appraise(NULL, c, &r, NULL), SB_TIER_AFFIRMING);
    CHECK_STR(r, "");
    json_decref(c);
}

/* One row: a policy, an edit of the base claims, the expected tier, and a substring of the
 * reasons (NULL: none expected). */
struct row {
    const char *name;
    const char *policy; /* NULL: the default policy */
    const char *edit;   /* JSON merged into the claims (objects merged one level deep) */
    enum sb_tier want;
    const char *reason;
};

static const struct row ROWS[] = {
    /* measurements: allowed set */
    {"meas-in-set", "{\"measurements\": {\"measurement\": [\"" MEAS_B "\", \"" MEAS_A "\"]}}", NULL,
     SB_TIER_AFFIRMING, NULL},
    {"meas-not-in-set", "{\"measurements\": {\"measurement\": \"" MEAS_B "\"}}", NULL,
     SB_TIER_WARNING, "measurements.measurement = " MEAS_A " not in allowed set [" MEAS_B "]"},
    {"meas-case-insensitive", "{\"measurements\": {\"measurement\": \"B07AF962" MEAS_A "\"}}", NULL,
     SB_TIER_WARNING, "not in allowed set"},
    {"meas-absent", "{\"measurements\": {\"rtmr0\": \"00\"}}", NULL, SB_TIER_WARNING,
     "measurements.rtmr0 is absent from the evidence; the policy expects one of [00]"},
    {"pcr-match", "{\"pcrs\": {\"sha256:7\": \"ab\"}}",
     "{\"measurements\": {\"sha256:7\": \"ab\"}}", SB_TIER_AFFIRMING, NULL},
    {"pcr-mismatch", "{\"pcrs\": {\"sha256:7\": \"ab\"}}",
     "{\"measurements\": {\"sha256:7\": \"ac\"}}", SB_TIER_WARNING,
     "measurements.sha256:7 = ac not in allowed set [ab]"},
    /* signer IDs */
    {"signer-ok", "{\"signer\": {\"id_key_digest\": \"AA11\", \"isvprodid\": [1, 7]}}", NULL,
     SB_TIER_AFFIRMING, NULL},
    {"signer-bad", "{\"signer\": {\"id_key_digest\": \"bb22\"}}", NULL, SB_TIER_WARNING,
     "signer.id_key_digest = aa11 not in allowed set [bb22]"},
    {"signer-int-bad", "{\"signer\": {\"isvprodid\": 8}}", NULL, SB_TIER_WARNING,
     "signer.isvprodid = 7 not in allowed set [8]"},
    /* init data, product, platform identity */
    {"init-ok", "{\"init_data\": [\"8505e4e2\"]}", NULL, SB_TIER_AFFIRMING, NULL},
    {"init-bad", "{\"init_data\": \"00\"}", NULL, SB_TIER_CONTRAINDICATED,
     "init_data = 8505e4e2 not in allowed set [00]"},
    {"product-ok", "{\"product\": [\"Milan\", \"Genoa\"]}", NULL, SB_TIER_AFFIRMING, NULL},
    {"product-bad", "{\"product\": \"Genoa\"}", NULL, SB_TIER_CONTRAINDICATED,
     "product = Milan not in allowed set [Genoa]"},
    {"chip-ok", "{\"platform_identity\": {\"chip_id\": \"3ac3fe21\"}}", NULL, SB_TIER_AFFIRMING,
     NULL},
    {"chip-bad", "{\"platform_identity\": {\"chip_id\": \"00\"}}", NULL, SB_TIER_CONTRAINDICATED,
     "platform_identity.chip_id = 3ac3fe21 not in allowed set [00]"},
    /* minimum TCB per component: equal passes, one below fails, absent fails */
    {"tcb-min-equal", "{\"min_tcb\": {\"snp\": 8, \"microcode\": 115}}", NULL, SB_TIER_AFFIRMING,
     NULL},
    {"tcb-min-above", "{\"min_tcb\": {\"snp\": 7}}", NULL, SB_TIER_AFFIRMING, NULL},
    {"tcb-min-below", "{\"min_tcb\": {\"snp\": 9}}", NULL, SB_TIER_WARNING,
     "tcb.components.snp = 8 below minimum 9"},
    {"tcb-min-absent", "{\"min_tcb\": {\"fmc\": 1}}", NULL, SB_TIER_WARNING,
     "tcb.components.fmc is absent from the evidence; the policy requires >= 1"},
    /* TCB status: defaults */
    {"status-uptodate", NULL, "{\"tcb\": {\"status\": \"UpToDate\"}}", SB_TIER_AFFIRMING, NULL},
    {"status-null-default", NULL, "{\"tcb\": {\"status\": null}}", SB_TIER_AFFIRMING, NULL},
    {"status-null-required", "{\"require_tcb_status\": true}", NULL, SB_TIER_WARNING,
     "tcb.status = null"},
    {"status-outofdate-default", NULL, "{\"tcb\": {\"status\": \"OutOfDate\"}}", SB_TIER_WARNING,
     "tcb.status = OutOfDate not in allowed statuses [UpToDate]"},
    {"status-swh-default", NULL, "{\"tcb\": {\"status\": \"SWHardeningNeeded\"}}", SB_TIER_WARNING,
     "tcb.status = SWHardeningNeeded not in allowed statuses"},
    {"status-confswh-default", NULL,
     "{\"tcb\": {\"status\": \"ConfigurationAndSWHardeningNeeded\"}}", SB_TIER_WARNING,
     "tcb.status = ConfigurationAndSWHardeningNeeded"},
    {"status-revoked-default", NULL, "{\"tcb\": {\"status\": \"Revoked\"}}",
     SB_TIER_CONTRAINDICATED,
     "tcb.status = Revoked not in allowed statuses [UpToDate] (the "
     "platform's TCB is revoked)"},
    {"status-nomatch-default", NULL, "{\"tcb\": {\"status\": \"NoMatchingTcbLevel\"}}",
     SB_TIER_CONTRAINDICATED, "no acceptable TCB level matched"},
    {"status-allowed", "{\"tcb_status\": [\"UpToDate\", \"SWHardeningNeeded\"]}",
     "{\"tcb\": {\"status\": \"SWHardeningNeeded\"}}", SB_TIER_AFFIRMING, NULL},
    {"status-revoked-allowed", "{\"tcb_status\": [\"Revoked\"]}",
     "{\"tcb\": {\"status\": \"Revoked\"}}", SB_TIER_AFFIRMING, NULL},
    {"status-uptodate-not-listed", "{\"tcb_status\": [\"OutOfDate\"]}",
     "{\"tcb\": {\"status\": \"UpToDate\"}}", SB_TIER_CONTRAINDICATED,
     "tcb.status = UpToDate not in allowed statuses [OutOfDate]"},
    /* grace period: tcb_date 10 days before AT; grace 10 d passes, 10 d - 1 s fails */
    {"grace-inside", "{\"tcb_grace_period\": 864000}",
     "{\"tcb\": {\"status\": \"OutOfDate\", \"tcb_date\": \"2025-05-22T00:00:00Z\"}}",
     SB_TIER_AFFIRMING, NULL},
    {"grace-outside", "{\"tcb_grace_period\": 863999}",
     "{\"tcb\": {\"status\": \"OutOfDate\", \"tcb_date\": \"2025-05-22T00:00:00Z\"}}",
     SB_TIER_WARNING, "outside the grace period of 863999 s"},
    {"grace-string", "{\"tcb_grace_period\": \"10d\"}",
     "{\"tcb\": {\"status\": \"OutOfDateConfigurationNeeded\", \"tcb_date\": "
     "\"2025-05-22T00:00:00Z\"}}",
     SB_TIER_AFFIRMING, NULL},
    {"grace-not-for-revoked", "{\"tcb_grace_period\": \"1000d\"}",
     "{\"tcb\": {\"status\": \"Revoked\", \"tcb_date\": \"2025-05-22T00:00:00Z\"}}",
     SB_TIER_CONTRAINDICATED, "Revoked"},
    /* advisories */
    {"advisory-default", "{\"tcb_status\": [\"SWHardeningNeeded\"]}",
     "{\"tcb\": {\"status\": \"SWHardeningNeeded\", \"advisories\": [\"INTEL-SA-00615\"]}}",
     SB_TIER_WARNING, "tcb.advisories contains INTEL-SA-00615, not in the allowed advisories []"},
    {"advisory-allowed",
     "{\"tcb_status\": [\"SWHardeningNeeded\"], \"advisories\": [\"INTEL-SA-00615\"]}",
     "{\"tcb\": {\"status\": \"SWHardeningNeeded\", \"advisories\": [\"INTEL-SA-00615\"]}}",
     SB_TIER_AFFIRMING, NULL},
    {"advisory-one-of-two",
     "{\"tcb_status\": [\"SWHardeningNeeded\"], \"advisories\": [\"INTEL-SA-00615\"]}",
     "{\"tcb\": {\"status\": \"SWHardeningNeeded\", \"advisories\": [\"INTEL-SA-00289\", "
     "\"INTEL-SA-00615\"]}}",
     SB_TIER_WARNING, "contains INTEL-SA-00289"},
    /* VMPL */
    {"vmpl-ok", "{\"vmpl\": 0}", NULL, SB_TIER_AFFIRMING, NULL},
    {"vmpl-bad", "{\"vmpl\": [1]}", NULL, SB_TIER_CONTRAINDICATED,
     "platform_claims.vmpl = 0 not in allowed set [1]"},
    {"vmpl-absent", "{\"vmpl\": 0}", "{\"platform_claims\": {\"vmpl\": null}}",
     SB_TIER_CONTRAINDICATED, "platform_claims.vmpl is absent"},
    /* debug */
    {"debug-default", NULL, "{\"debug\": true}", SB_TIER_CONTRAINDICATED,
     "debug = true not allowed (policy allow_debug = false)"},
    {"debug-allowed", "{\"allow_debug\": true}", "{\"debug\": true}", SB_TIER_AFFIRMING, NULL},
    {"debug-false-allowed", "{\"allow_debug\": true}", NULL, SB_TIER_AFFIRMING, NULL},
    /* TPM attestation keys without a certificate chain */
    {"ak-uncertified-default", NULL, "{\"platform_claims\": {\"ak_certified\": false}}",
     SB_TIER_WARNING, "platform_claims.ak_certified = false"},
    {"ak-uncertified-allowed", "{\"allow_uncertified_ak\": true}",
     "{\"platform_claims\": {\"ak_certified\": false}}", SB_TIER_AFFIRMING, NULL},
    {"ak-certified", NULL, "{\"platform_claims\": {\"ak_certified\": true}}", SB_TIER_AFFIRMING,
     NULL},
    /* insecure (software) evidence */
    {"insecure-default", NULL, "{\"insecure\": true, \"platform\": \"software\"}",
     SB_TIER_CONTRAINDICATED, "insecure = true (software evidence proves nothing)"},
    {"insecure-allowed", "{\"allow_insecure\": true}",
     "{\"insecure\": true, \"platform\": \"software\"}", SB_TIER_AFFIRMING, NULL},
    /* platforms */
    {"platform-unknown-default", NULL, "{\"platform\": \"cca\"}", SB_TIER_CONTRAINDICATED,
     "platform = cca is not a known hardware platform"},
    {"platform-listed", "{\"platforms\": [\"cca\"]}", "{\"platform\": \"cca\"}", SB_TIER_AFFIRMING,
     NULL},
    {"platform-not-listed", "{\"platforms\": [\"tdx\", \"nitro\"]}", NULL, SB_TIER_CONTRAINDICATED,
     "platform = snp not in allowed platforms [tdx, nitro]"},
    /* report_data exact (zero-padded) */
    {"rd-exact-padded", "{\"report_data\": \"0102030405\"}", NULL, SB_TIER_AFFIRMING, NULL},
    {"rd-exact-object", "{\"report_data\": {\"exact\": \"01020304050000\"}}", NULL,
     SB_TIER_AFFIRMING, NULL},
    {"rd-exact-bad", "{\"report_data\": \"0102030406\"}", NULL, SB_TIER_CONTRAINDICATED,
     "report_data = 0102030405"},
    {"rd-exact-nonzero-tail", "{\"report_data\": \"01020304\"}", NULL, SB_TIER_CONTRAINDICATED,
     "does not equal the policy's exact value 01020304 (zero-padded)"},
    {"rd-absent", "{\"report_data\": \"01\"}", "{\"report_data\": null}", SB_TIER_CONTRAINDICATED,
     "report_data = null"},
    /* collateral validity and age: not_after exactly AT passes, one second before fails */
    {"coll-valid", NULL,
     "{\"collateral\": [{\"kind\": \"tcb-info\", \"not_before\": \"2025-05-01T00:00:00Z\", "
     "\"not_after\": \"2025-06-01T00:00:00Z\"}]}",
     SB_TIER_AFFIRMING, NULL},
    {"coll-expired", NULL,
     "{\"collateral\": [{\"kind\": \"tcb-info\", \"subject\": \"fmspc 50806f000000\", "
     "\"not_before\": \"2025-05-01T00:00:00Z\", \"not_after\": \"2025-05-31T23:59:59Z\"}]}",
     SB_TIER_CONTRAINDICATED,
     "collateral[0] (tcb-info fmspc 50806f000000) expired: not_after 2025-05-31T23:59:59Z is "
     "before the verification time 2025-06-01T00:00:00Z"},
    {"coll-not-yet", NULL,
     "{\"collateral\": [{\"kind\": \"crl\", \"not_before\": \"2025-06-01T00:00:01Z\"}]}",
     SB_TIER_CONTRAINDICATED, "not yet valid"},
    {"coll-age-ok", "{\"max_collateral_age\": \"31d\"}",
     "{\"collateral\": [{\"kind\": \"pck-crl\", \"not_before\": \"2025-05-01T00:00:00Z\"}]}",
     SB_TIER_AFFIRMING, NULL},
    {"coll-age-old", "{\"max_collateral_age\": 2678399}",
     "{\"collateral\": [{\"kind\": \"pck-crl\", \"not_before\": \"2025-05-01T00:00:00Z\"}]}",
     SB_TIER_WARNING, "collateral[0] (pck-crl) is 2678400 s old"},
    {"coll-age-ignores-certs", "{\"max_collateral_age\": 1}",
     "{\"collateral\": [{\"kind\": \"vcek\", \"not_before\": \"2020-05-01T00:00:00Z\"}]}",
     SB_TIER_AFFIRMING, NULL},
    /* evidence warnings: noted by default, reasons on request */
    {"warnings-noted", NULL, "{\"warnings\": [\"39 trailing bytes\"]}", SB_TIER_AFFIRMING, NULL},
    {"warnings-rejected", "{\"reject_evidence_warnings\": true}",
     "{\"warnings\": [\"39 trailing bytes\"]}", SB_TIER_WARNING, "warnings[0] = 39 trailing bytes"},
};

static void apply_edit(json_t *c, const char *edit) {
    if (!edit) return;
    json_error_t je;
    json_t *e = json_loads(edit, 0, &je);
    CHECK_MSG(e != NULL, "edit does not parse: %s", je.text);
    const char *k;
    json_t *v;
    json_object_foreach(e, k, v) {
        json_t *cur = json_object_get(c, k);
        if (json_is_object(cur) && json_is_object(v))
            json_object_update(cur, v);
        else
            json_object_set(c, k, v);
    }
    json_decref(e);
}

TEST(policy_table) {
    for (size_t i = 0; i < SB_ARRAY_LEN(ROWS); i++) {
        const struct row *r = &ROWS[i];
        json_t *c = base_claims("snp");
        apply_edit(c, r->edit);
        const char *reasons;
        enum sb_tier t = appraise(r->policy, c, &reasons, NULL);
        CHECK_MSG(t == r->want, "row %s: %s, expected %s; reasons: %s", r->name, sb_tier_name(t),
                  sb_tier_name(r->want), reasons);
        if (r->reason)
            CHECK_MSG(strstr(reasons, r->reason) != NULL, "row %s: reasons lack '%s': %s", r->name,
                      r->reason, reasons);
        else
            CHECK_MSG(reasons[0] == 0, "row %s: unexpected reasons: %s", r->name, reasons);
        json_decref(c);
    }
}

TEST(nonce_rule) {
    sb_policy *p = pol(NULL);
    sb_error err = {0};
    const uint8_t good[] = {1, 2, 3}, bad[] = {1, 2, 4};
    struct sb_appraisal a = {0};
    json_t *c = base_claims("snp");
    struct sb_appraise_ctx ctx = {.at = AT, .nonce = good, .nonce_len = 3};
    CHECK_OK(sb_policy_appraise(p, c, &ctx, &a, &err), &err);
    CHECK_INT(a.status, SB_TIER_AFFIRMING);
    sb_appraisal_clear(&a);
    ctx.nonce = bad;
    CHECK_OK(sb_policy_appraise(p, c, &ctx, &a, &err), &err);
    CHECK_INT(a.status, SB_TIER_CONTRAINDICATED);
    CHECK_CONTAINS(json_string_value(json_object_get(json_array_get(a.reasons, 0), "message")),
                   "does not begin with --nonce 010204");
    sb_appraisal_clear(&a);
    /* A platform nonce claim (Nitro) is compared whole instead. */
    CHECK_INT(sb_claims_set_str(c, "platform_claims", "nonce", "010204"), 0);
    CHECK_OK(sb_policy_appraise(p, c, &ctx, &a, &err), &err);
    CHECK_INT(a.status, SB_TIER_AFFIRMING);
    sb_appraisal_clear(&a);
    ctx.nonce = good;
    CHECK_OK(sb_policy_appraise(p, c, &ctx, &a, &err), &err);
    CHECK_INT(a.status, SB_TIER_CONTRAINDICATED);
    CHECK_CONTAINS(json_string_value(json_object_get(json_array_get(a.reasons, 0), "message")),
                   "platform_claims.nonce = 010204 does not equal --nonce 010203");
    sb_appraisal_clear(&a);
    json_decref(c);
    sb_policy_free(p);
}

/* The AR4SI vector, claim by claim: each input moves its own trustworthiness claim. */
static int vec_of(const char *policy, const char *platform, const char *edit,
                  enum sb_trust_claim tc) {
    json_t *c = base_claims(platform);
    apply_edit(c, edit);
    struct sb_appraisal a = {0};
    int v = -1000;
    if (appraise(policy, c, NULL, &a) != SB_TIER_MAX) {
        v = a.vector[tc];
        sb_appraisal_clear(&a);
    }
    json_decref(c);
    return v;
}

TEST(vector_instance_identity) {
    CHECK_INT(vec_of(NULL, "snp", NULL, SB_TC_INSTANCE_IDENTITY), 2);
    CHECK_INT(vec_of("{\"report_data\": \"ff\"}", "snp", NULL, SB_TC_INSTANCE_IDENTITY), 96);
    CHECK_INT(vec_of("{\"platform_identity\": {\"chip_id\": \"00\"}}", "snp", NULL,
                     SB_TC_INSTANCE_IDENTITY),
              96);
    CHECK_INT(vec_of(NULL, "software", "{\"insecure\": true}", SB_TC_INSTANCE_IDENTITY), 97);
    CHECK_INT(vec_of("{\"allow_insecure\": true}", "software", "{\"insecure\": true}",
                     SB_TC_INSTANCE_IDENTITY),
              0);
    /* not moved by the others */
    CHECK_INT(vec_of(NULL, "snp", "{\"debug\": true}", SB_TC_INSTANCE_IDENTITY), 2);
    CHECK_INT(vec_of(NULL, "snp", "{\"tcb\": {\"status\": \"Revoked\"}}", SB_TC_INSTANCE_IDENTITY),
              2);
}

TEST(vector_configuration) {
    CHECK_INT(vec_of(NULL, "snp", NULL, SB_TC_CONFIGURATION), 2);
    CHECK_INT(vec_of(NULL, "snp", "{\"debug\": true}", SB_TC_CONFIGURATION), 96);
    CHECK_INT(vec_of("{\"allow_debug\": true}", "snp", "{\"debug\": true}", SB_TC_CONFIGURATION),
              2);
    CHECK_INT(vec_of("{\"vmpl\": 1}", "snp", NULL, SB_TC_CONFIGURATION), 96);
    CHECK_INT(vec_of("{\"init_data\": \"00\"}", "snp", NULL, SB_TC_CONFIGURATION), 96);
    CHECK_INT(vec_of("{\"reject_evidence_warnings\": true}", "snp", "{\"warnings\": [\"w\"]}",
                     SB_TC_CONFIGURATION),
              32);
    CHECK_INT(vec_of(NULL, "snp", "{\"tcb\": {\"status\": \"OutOfDate\"}}", SB_TC_CONFIGURATION),
              2);
}

TEST(vector_executables) {
    CHECK_INT(vec_of(NULL, "snp", NULL, SB_TC_EXECUTABLES), 0); /* no reference values */
    CHECK_INT(vec_of("{\"measurements\": {\"measurement\": \"" MEAS_A "\"}}", "snp", NULL,
                     SB_TC_EXECUTABLES),
              2);
    CHECK_INT(vec_of("{\"measurements\": {\"measurement\": \"" MEAS_B "\"}}", "snp", NULL,
                     SB_TC_EXECUTABLES),
              33);
    CHECK_INT(vec_of("{\"signer\": {\"id_key_digest\": \"aa11\"}}", "snp", NULL, SB_TC_EXECUTABLES),
              2);
    CHECK_INT(vec_of("{\"signer\": {\"id_key_digest\": \"ff\"}}", "snp", NULL, SB_TC_EXECUTABLES),
              33);
    CHECK_INT(vec_of(NULL, "snp", "{\"debug\": true}", SB_TC_EXECUTABLES), 0);
}

TEST(vector_hardware) {
    CHECK_INT(vec_of(NULL, "snp", NULL, SB_TC_HARDWARE), 2);
    CHECK_INT(vec_of(NULL, "tdx", "{\"tcb\": {\"status\": \"UpToDate\"}}", SB_TC_HARDWARE), 2);
    CHECK_INT(vec_of(NULL, "tdx", "{\"tcb\": {\"status\": \"OutOfDate\"}}", SB_TC_HARDWARE), 32);
    CHECK_INT(vec_of(NULL, "tdx", "{\"tcb\": {\"status\": \"Revoked\"}}", SB_TC_HARDWARE), 96);
    CHECK_INT(vec_of("{\"min_tcb\": {\"snp\": 9}}", "snp", NULL, SB_TC_HARDWARE), 32);
    CHECK_INT(vec_of(NULL, "cca", NULL, SB_TC_HARDWARE), 97);
    CHECK_INT(vec_of("{\"product\": \"Turin\"}", "snp", NULL, SB_TC_HARDWARE), 97);
    CHECK_INT(
        vec_of(NULL, "snp",
               "{\"collateral\": [{\"kind\": \"crl\", \"not_after\": \"2020-01-01T00:00:00Z\"}]}",
               SB_TC_HARDWARE),
        96);
    CHECK_INT(vec_of(NULL, "software", "{\"insecure\": true}", SB_TC_HARDWARE), 0);
}

TEST(vector_runtime_opaque) {
    CHECK_INT(vec_of(NULL, "snp", NULL, SB_TC_RUNTIME_OPAQUE), 2);
    CHECK_INT(vec_of(NULL, "tdx", NULL, SB_TC_RUNTIME_OPAQUE), 2);
    CHECK_INT(vec_of(NULL, "sgx", NULL, SB_TC_RUNTIME_OPAQUE), 2);
    CHECK_INT(vec_of(NULL, "nitro", NULL, SB_TC_RUNTIME_OPAQUE), 0); /* isolated, not encrypted */
    CHECK_INT(vec_of(NULL, "tpm", NULL, SB_TC_RUNTIME_OPAQUE), 0);   /* boot state only */
    CHECK_INT(vec_of(NULL, "snp", "{\"debug\": true}", SB_TC_RUNTIME_OPAQUE), 96);
    CHECK_INT(vec_of("{\"allow_debug\": true}", "snp", "{\"debug\": true}", SB_TC_RUNTIME_OPAQUE),
              0);
    CHECK_INT(vec_of("{\"allow_insecure\": true}", "software", "{\"insecure\": true}",
                     SB_TC_RUNTIME_OPAQUE),
              0);
}

TEST(vector_unclaimed_stay_zero) {
    /* sealbox makes no file-system, storage or sourced-data assertions from TEE evidence. */
    const enum sb_trust_claim none[] = {SB_TC_FILE_SYSTEM, SB_TC_STORAGE_OPAQUE,
                                        SB_TC_SOURCED_DATA};
    for (size_t i = 0; i < SB_ARRAY_LEN(none); i++) {
        CHECK_INT(vec_of(NULL, "snp", NULL, none[i]), 0);
        CHECK_INT(vec_of(NULL, "snp", "{\"debug\": true}", none[i]), 0);
    }
}

TEST(status_is_worst_tier_of_vector) {
    CHECK_INT(sb_ar4si_tier(0), SB_TIER_NONE);
    CHECK_INT(sb_ar4si_tier(1), SB_TIER_NONE);
    CHECK_INT(sb_ar4si_tier(2), SB_TIER_AFFIRMING);
    CHECK_INT(sb_ar4si_tier(31), SB_TIER_AFFIRMING);
    CHECK_INT(sb_ar4si_tier(32), SB_TIER_WARNING);
    CHECK_INT(sb_ar4si_tier(95), SB_TIER_WARNING);
    CHECK_INT(sb_ar4si_tier(96), SB_TIER_CONTRAINDICATED);
    CHECK_INT(sb_ar4si_tier(127), SB_TIER_CONTRAINDICATED);
    CHECK_INT(sb_ar4si_tier(-1), SB_TIER_NONE);
    json_t *c = base_claims("tdx");
    apply_edit(c, "{\"debug\": true, \"tcb\": {\"status\": \"OutOfDate\"}}");
    struct sb_appraisal a = {0};
    CHECK_INT(appraise(NULL, c, NULL, &a), SB_TIER_CONTRAINDICATED);
    CHECK_INT(json_array_size(a.reasons), 2);
    json_t *j = sb_appraisal_json(&a);
    CHECK_STR(json_string_value(json_object_get(j, "status")), "contraindicated");
    CHECK_STR(json_string_value(json_object_get(j, "policy_id")), "sealbox-default");
    CHECK_INT(json_integer_value(
                  json_object_get(json_object_get(j, "trustworthiness_vector"), "hardware")),
              32);
    json_decref(j);
    sb_appraisal_clear(&a);
    json_decref(c);
}

TEST(parse_errors_name_the_key) {
    static const struct {
        const char *json, *msg;
    } bad[] = {
        {"[]", "expected a JSON object"},
        {"{\"allow_debug\": 1}", "allow_debug: expected true or false"},
        {"{\"measurements\": {\"measurement\": \"xyz\"}}",
         "measurements.measurement[0]: 'xyz' is not an even-length hex string"},
        {"{\"measurements\": [\"00\"]}", "measurements: expected an object"},
        {"{\"min_tcb\": {\"snp\": -1}}", "min_tcb.snp: expected a non-negative integer"},
        {"{\"tcb_grace_period\": \"10 weeks\"}", "tcb_grace_period: expected seconds"},
        {"{\"vmpl\": 4}", "vmpl[0]: expected an integer 0..3"},
        {"{\"report_data\": \"0g\"}", "report_data: expected a hex string"},
        {"{\"frobnicate\": true}", "unknown key 'frobnicate'"},
        {"{\"id\": \"a\", \"id\": \"b\"}", "duplicate"},
        {"{\"platforms\": [1]}", "platforms[0]: expected a string"},
    };
    for (size_t i = 0; i < SB_ARRAY_LEN(bad); i++) {
        sb_policy *p = NULL;
        sb_error err = {0};
        int rc = sb_policy_parse(bad[i].json, strlen(bad[i].json), "t", &p, &err);
        CHECK_MSG(rc == SB_E_MALFORMED, "%s: rc %d", bad[i].json, rc);
        CHECK_CONTAINS(err.msg, bad[i].msg);
        CHECK(p == NULL);
    }
}

TEST(policy_id_from_file_name_or_doc) {
    const char *dir = sb_test_tmpdir();
    char path[512];
    snprintf(path, sizeof(path), "%s/prod-snp.json", dir);
    sb_error err = {0};
    CHECK_OK(sb_write_file_atomic(path, "{}", 2, 0600, &err), &err);
    sb_policy *p = NULL;
    CHECK_OK(sb_policy_load(path, &p, &err), &err);
    CHECK_STR(sb_policy_id(p), "prod-snp");
    sb_policy_free(p);
    const char *doc = "{\"id\": \"x1\"}";
    CHECK_OK(sb_write_file_atomic(path, doc, strlen(doc), 0600, &err), &err);
    p = NULL;
    CHECK_OK(sb_policy_load(path, &p, &err), &err);
    CHECK_STR(sb_policy_id(p), "x1");
    sb_policy_free(p);
}

TEST(committed_policies_parse) {
    /* Every committed policy in tests/policies (the examples docs/policy.md shows) is a valid
     * policy. */
    const char *src = getenv("SEALBOX_SOURCE_DIR");
    char dir[1024];
    snprintf(dir, sizeof(dir), "%s/tests/policies", src ? src : "..");
    DIR *d = opendir(dir);
    CHECK_MSG(d != NULL, "cannot open %s", dir);
    if (!d) return;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        size_t l = strlen(e->d_name);
        if (l < 6 || strcmp(e->d_name + l - 5, ".json") != 0) continue;
        char path[2048];
        snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
        sb_policy *p = NULL;
        sb_error err = {0};
        CHECK_OK(sb_policy_load(path, &p, &err), &err);
        sb_policy_free(p);
        n++;
    }
    closedir(d);
    CHECK(n > 0);
}

/* The runtime-data binding, known answers: the expected digests are `openssl dgst -sha384` of
 * the JCS-canonical texts written out by hand (sorted keys, no whitespace, JSON escapes only
 * where JCS requires them). */
TEST(binding_known_answers) {
    static const struct {
        const char *input, *sha384;
    } kat[] = {
        /* additional-evidence absent → "" (Trustee hashes the three fields) */
        {"{\"tee-pubkey\": {\"y\": \"def\", \"x\": \"abc\", \"kty\": \"EC\", \"crv\": \"P-256\", "
         "\"alg\": \"ES256\"}, \"nonce\": \"bm9uY2U=\"}",
         "36dd76f9f58ceb72ae275f7b1081b43ac8900268c2b3203ecbc93663399ee4c4b42208d8bef8a22f9699d79cb"
         "270408c"},
        /* the fourth sealbox field, a quote, a non-ASCII character and a newline */
        {"{\"nonce\": \"MTIz\", \"tee-pubkey\": {\"n\": \"xyz\", \"kty\": \"RSA\", \"e\": "
         "\"AQAB\"}, \"sealbox-log\": \"ff00\", \"additional-evidence\": \"a\\\"b\\u00e9\\n\"}",
         "f3e670271a4b3469f016259f5fbc262ae7062c57e4242aa1bc26dfd3a9b4ebd2bf51ee5c4fea858e2f413de50"
         "ac4eccd"},
    };
    for (size_t i = 0; i < SB_ARRAY_LEN(kat); i++) {
        json_error_t je;
        json_t *in = json_loads(kat[i].input, 0, &je);
        CHECK_MSG(in != NULL, "kat %zu: %s", i, je.text);
        uint8_t d[48];
        sb_error err = {0};
        CHECK_OK(sb_policy_binding_digest(in, d, &err), &err);
        char hex[97];
        sb_hex_encode(d, 48, hex);
        CHECK_STR(hex, kat[i].sha384);
        json_decref(in);
    }
}

TEST(binding_policy_rule_both_sides) {
    /* report_data = the KAT digest zero-padded to 64 bytes affirms; one bit off does not. */
    const char *pol_json =
        "{\"report_data\": {\"binding\": {\"tee-pubkey\": {\"kty\": \"EC\", \"crv\": \"P-256\", "
        "\"alg\": \"ES256\", \"x\": \"abc\", \"y\": \"def\"}, \"nonce\": \"bm9uY2U=\"}}}";
    uint8_t rd[64] = {0};
    size_t n = 0;
    uint8_t *d = NULL;
    sb_error err = {0};
    CHECK_OK(sb_hex_decode("36dd76f9f58ceb72ae275f7b1081b43ac8900268c2b3203ecbc93663399ee4c4b42208"
                           "d8bef8a22f9699d79cb270408c",
                           96, &d, &n, &err),
             &err);
    memcpy(rd, d, 48);
    free(d);
    json_t *c = base_claims("snp");
    CHECK_INT(sb_claims_set_hex(c, NULL, "report_data", rd, 64), 0);
    const char *r;
    CHECK_INT(appraise(pol_json, c, &r, NULL), SB_TIER_AFFIRMING);
    rd[47] ^= 1;
    CHECK_INT(sb_claims_set_hex(c, NULL, "report_data", rd, 64), 0);
    CHECK_INT(appraise(pol_json, c, &r, NULL), SB_TIER_CONTRAINDICATED);
    CHECK_CONTAINS(r, "does not equal the runtime-data binding 36dd76f9");
    rd[47] ^= 1;
    rd[63] = 1; /* non-zero padding */
    CHECK_INT(sb_claims_set_hex(c, NULL, "report_data", rd, 64), 0);
    CHECK_INT(appraise(pol_json, c, &r, NULL), SB_TIER_CONTRAINDICATED);
    json_decref(c);
    static const char *const bad[] = {
        "{\"report_data\": {\"binding\": {\"nonce\": \"x\"}}}",
        "{\"report_data\": {\"binding\": {\"tee-pubkey\": \"k\", \"nonce\": \"x\"}}}",
        "{\"report_data\": {\"binding\": {\"tee-pubkey\": {}, \"nonce\": \"x\", \"extra\": \"\"}}}",
        "{\"report_data\": {\"exact\": \"00\", \"binding\": {}}}",
    };
    for (size_t i = 0; i < SB_ARRAY_LEN(bad); i++) {
        sb_policy *p = NULL;
        CHECK(sb_policy_parse(bad[i], strlen(bad[i]), "t", &p, &err) == SB_E_MALFORMED);
        CHECK(p == NULL);
    }
}
