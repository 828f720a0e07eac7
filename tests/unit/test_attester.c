/* test_attester: the software attester end to end through the real verifier, policy and EAR
 * builder (refused by default, affirming-but-insecure under allow_insecure, tampered evidence
 * and a wrong report_data refused), its key file handling, and the software evidence parser's
 * refusals. */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "attester/attester.h"
#include "crypto/crypto.h"
#include "harness.h"
#include "policy/policy.h"
#include "token/token.h"
#include "verify/verify.h"

#define AT 1780000000

static json_t *runtime_data(const char *nonce) {
    return json_pack("{s:{s:s, s:s, s:s, s:s}, s:s, s:s}", "tee-pubkey", "kty", "EC", "crv",
                     "P-256", "x", "WKn-ZIGevcwGIyyrzFoZNBdaq9_TsqzGl96oc0CWuis", "y",
                     "y77t-RvAHRKTsSGdIYUfweuOvwrvDD-Q3Hv5J0fSKbE", "nonce", nonce, "sealbox-log",
                     "sha384:00");
}

static sb_attester *open_sw(const char *name) {
    char p[4096];
    snprintf(p, sizeof(p), "%s/%s", sb_test_tmpdir(), name);
    sb_attester *a = NULL;
    sb_error err = {0};
    CHECK_OK(sb_attester_open_software(p, &a, &err), &err);
    return a;
}

static char *evidence_text(sb_attester *a, const char *nonce) {
    json_t *rd = runtime_data(nonce);
    json_t *ev = NULL;
    sb_error err = {0};
    CHECK_OK(sb_attester_evidence(a, rd, &ev, &err), &err);
    json_decref(rd);
    char *s = ev ? json_dumps(ev, JSON_COMPACT) : NULL;
    json_decref(ev);
    return s;
}

static int verify_text(const char *s, json_t **claims, sb_error *err) {
    struct sb_blob b = {.name = "ev.json", .data = (const uint8_t *)s, .len = strlen(s)};
    struct sb_verify_opts o = {.at = AT};
    const struct sb_verifier *used = NULL;
    int rc = sb_verify(&o, NULL, &b, 1, &used, claims, err);
    if (rc == 0) CHECK_STR(used->name, "sealbox-software");
    return rc;
}

static sb_policy *policy(const char *json) {
    sb_policy *p = NULL;
    sb_error err = {0};
    if (json)
        CHECK_OK(sb_policy_parse(json, strlen(json), "t", &p, &err), &err);
    else
        CHECK_OK(sb_policy_default(&p, &err), &err);
    return p;
}

TEST(software_attester_round_trip_through_verifier_and_policy) {
    sb_attester *a = open_sw("sw1.pem");
    CHECK_STR(sb_attester_tee(a), "sealbox-software");
    char *s = evidence_text(a, "bm9uY2U");
    json_t *claims = NULL;
    sb_error err = {0};
    CHECK_OK(verify_text(s, &claims, &err), &err);
    CHECK_STR(json_string_value(json_object_get(claims, "platform")), "software");
    CHECK(json_is_true(json_object_get(claims, "insecure")));
    /* report_data is the binding digest of the runtime data, zero-padded */
    json_t *rd = runtime_data("bm9uY2U");
    uint8_t d[48];
    CHECK_OK(sb_policy_binding_digest(rd, d, &err), &err);
    char hex[129];
    uint8_t padded[64] = {0};
    memcpy(padded, d, 48);
    sb_hex_encode(padded, 64, hex);
    CHECK_STR(json_string_value(json_object_get(claims, "report_data")), hex);

    struct sb_appraise_ctx ctx = {.at = AT};
    struct sb_appraisal ap;
    /* the default policy refuses it, naming insecure */
    sb_policy *def = policy(NULL);
    CHECK_OK(sb_policy_appraise(def, claims, &ctx, &ap, &err), &err);
    CHECK_INT(ap.status, SB_TIER_CONTRAINDICATED);
    char *reasons = json_dumps(ap.reasons, 0);
    CHECK_CONTAINS(reasons, "insecure");
    free(reasons);
    sb_appraisal_clear(&ap);
    /* allow_insecure (and the platform listed) accepts it; the token says insecure */
    char pj[512];
    snprintf(pj, sizeof(pj),
             "{\"allow_insecure\": true, \"platforms\": [\"software\"], \"report_data\": \"%s\"}",
             hex);
    sb_policy *ok = policy(pj);
    CHECK_OK(sb_policy_appraise(ok, claims, &ctx, &ap, &err), &err);
    CHECK_INT(ap.status, SB_TIER_AFFIRMING);
    char *notes = json_dumps(ap.notes, 0);
    CHECK_CONTAINS(notes, "allow_insecure");
    free(notes);
    struct sb_ear_input in = {.submod = "software", .claims = claims, .appraisal = &ap, .iat = AT};
    json_t *ear = NULL;
    CHECK_OK(sb_ear_build(&in, &ear, &err), &err);
    json_t *sub = json_object_get(json_object_get(ear, "submods"), "software");
    CHECK(json_is_true(json_object_get(sub, "ear.sealbox.insecure")));
    CHECK_STR(json_string_value(json_object_get(sub, "ear.status")), "affirming");
    json_decref(ear);
    sb_appraisal_clear(&ap);
    /* a policy expecting another binding (another nonce) refuses it */
    json_t *rd2 = runtime_data("b3RoZXI");
    uint8_t d2[48];
    CHECK_OK(sb_policy_binding_digest(rd2, d2, &err), &err);
    char hex2[97];
    sb_hex_encode(d2, 48, hex2);
    snprintf(pj, sizeof(pj),
             "{\"allow_insecure\": true, \"platforms\": [\"software\"], \"report_data\": \"%s\"}",
             hex2);
    sb_policy *wrong = policy(pj);
    CHECK_OK(sb_policy_appraise(wrong, claims, &ctx, &ap, &err), &err);
    CHECK_INT(ap.status, SB_TIER_CONTRAINDICATED);
    reasons = json_dumps(ap.reasons, 0);
    CHECK_CONTAINS(reasons, "report_data");
    free(reasons);
    sb_appraisal_clear(&ap);
    sb_policy_free(def);
    sb_policy_free(ok);
    sb_policy_free(wrong);
    json_decref(rd);
    json_decref(rd2);
    json_decref(claims);
    free(s);
    sb_attester_free(a);
}

TEST(software_evidence_tampering_is_refused) {
    sb_attester *a = open_sw("sw2.pem");
    char *s = evidence_text(a, "bm9uY2U");
    json_t *ev = json_loads(s, 0, NULL);
    sb_error err = {0};
    json_t *claims = NULL;
    /* a changed report_data: the signature no longer holds */
    json_t *t = json_deep_copy(ev);
    const char *rd = json_string_value(json_object_get(t, "report_data"));
    char flipped[129];
    snprintf(flipped, sizeof(flipped), "%s", rd);
    flipped[0] = flipped[0] == '0' ? '1' : '0';
    json_object_set_new(t, "report_data", json_string(flipped));
    char *ts = json_dumps(t, JSON_COMPACT);
    CHECK_INT(verify_text(ts, &claims, &err), SB_E_SIGNATURE);
    CHECK_CONTAINS(err.msg, "signature");
    free(ts);
    json_decref(t);
    /* another key's signature over the same bytes */
    sb_attester *b = open_sw("sw3.pem");
    char *s2 = evidence_text(b, "bm9uY2U");
    json_t *ev2 = json_loads(s2, 0, NULL);
    t = json_deep_copy(ev);
    json_object_set(t, "key", json_object_get(ev2, "key"));
    ts = json_dumps(t, JSON_COMPACT);
    CHECK_INT(verify_text(ts, &claims, &err), SB_E_SIGNATURE);
    free(ts);
    json_decref(t);
    /* a corrupted signature byte */
    t = json_deep_copy(ev);
    char sig[200];
    snprintf(sig, sizeof(sig), "%s", json_string_value(json_object_get(t, "signature")));
    sig[10] = sig[10] == 'A' ? 'B' : 'A';
    json_object_set_new(t, "signature", json_string(sig));
    ts = json_dumps(t, JSON_COMPACT);
    CHECK_INT(verify_text(ts, &claims, &err), SB_E_SIGNATURE);
    free(ts);
    json_decref(t);
    json_decref(ev2);
    free(s2);
    sb_attester_free(b);
    json_decref(ev);
    free(s);
    sb_attester_free(a);
}

TEST(software_key_curves_p256_default_p384_still_signs) {
    sb_error err = {0};
    json_t *claims = NULL;
    /* a new key is P-256 and signs ES256 (64 bytes) */
    sb_attester *a = open_sw("sw7.pem");
    char *s = evidence_text(a, "bm9uY2U");
    json_t *ev = json_loads(s, 0, NULL);
    CHECK_STR(json_string_value(json_object_get(json_object_get(ev, "key"), "crv")), "P-256");
    CHECK_INT(strlen(json_string_value(json_object_get(ev, "signature"))), 86);
    CHECK_OK(verify_text(s, &claims, &err), &err);
    json_decref(claims);
    /* a P-384 key file (from before) signs ES384 (96 bytes), and verifies */
    char p[4096];
    snprintf(p, sizeof(p), "%s/sw8.pem", sb_test_tmpdir());
    sb_privkey *k = NULL;
    CHECK_OK(sb_privkey_generate_ec(SB_CURVE_P384, &k, &err), &err);
    char *pem = NULL;
    CHECK_OK(sb_privkey_to_pem(k, &pem, &err), &err);
    CHECK_OK(sb_write_file_atomic(p, pem, strlen(pem), 0600, &err), &err);
    free(pem);
    sb_privkey_free(k);
    sb_attester *b = NULL;
    CHECK_OK(sb_attester_open_software(p, &b, &err), &err);
    char *s2 = evidence_text(b, "bm9uY2U");
    json_t *ev2 = json_loads(s2, 0, NULL);
    CHECK_STR(json_string_value(json_object_get(json_object_get(ev2, "key"), "crv")), "P-384");
    CHECK_INT(strlen(json_string_value(json_object_get(ev2, "signature"))), 128);
    CHECK_OK(verify_text(s2, &claims, &err), &err);
    json_decref(claims);
    /* a signature of the other length for the key is refused by name */
    json_t *t = json_deep_copy(ev2);
    json_object_set(t, "key", json_object_get(ev, "key"));
    char *ts = json_dumps(t, JSON_COMPACT);
    CHECK_INT(verify_text(ts, &claims, &err), SB_E_MALFORMED);
    CHECK_CONTAINS(err.msg, "96 bytes, but a P-256 key signs 64");
    free(ts);
    json_decref(t);
    t = json_deep_copy(ev);
    json_object_set(t, "key", json_object_get(ev2, "key"));
    ts = json_dumps(t, JSON_COMPACT);
    CHECK_INT(verify_text(ts, &claims, &err), SB_E_MALFORMED);
    CHECK_CONTAINS(err.msg, "64 bytes, but a P-384 key signs 96");
    free(ts);
    json_decref(t);
    json_decref(ev);
    json_decref(ev2);
    free(s);
    free(s2);
    sb_attester_free(a);
    sb_attester_free(b);
}

static void parse_refused(const char *json, int code, const char *needle) {
    struct sb_software_evidence e;
    sb_error err = {0};
    int rc = sb_software_evidence_parse((const uint8_t *)json, strlen(json), &e, &err);
    CHECK_MSG(rc == code, "%s: %d (%s), expected %d", json, rc, err.msg, code);
    CHECK_CONTAINS(err.msg, needle);
    if (rc == 0) sb_software_evidence_clear(&e);
}

#define RD128                                                                                      \
    "00000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000" \
    "000000000000000000000000000000000000"
#define SIG128                                                                                     \
    "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA" \
    "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"

TEST(software_evidence_parser_refusals_name_the_member) {
    parse_refused("{\"sealbox-software-evidence\":1,\"report_data\":\"" RD128
                  "\",\"key\":{},\"signature\":\"" SIG128 "\"}",
                  0, "");
    parse_refused("[1]", SB_E_MALFORMED, "object");
    parse_refused("{\"sealbox-software-evidence\":2}", SB_E_UNSUPPORTED, "version 2");
    parse_refused("{\"sealbox-software-evidence\":\"1\"}", SB_E_MALFORMED,
                  "sealbox-software-evidence");
    parse_refused("{\"sealbox-software-evidence\":1,\"x\":1}", SB_E_MALFORMED,
                  "unknown member 'x'");
    parse_refused("{\"sealbox-software-evidence\":1,\"report_data\":\"00\"}", SB_E_MALFORMED,
                  "report_data");
    parse_refused("{\"sealbox-software-evidence\":1,\"report_data\":\"" RD128 "\",\"key\":1}",
                  SB_E_MALFORMED, "key");
    parse_refused("{\"sealbox-software-evidence\":1,\"report_data\":\"" RD128
                  "\",\"key\":{},\"signature\":\"AAAA\"}",
                  SB_E_MALFORMED, "signature");
    parse_refused("{\"sealbox-software-evidence\":1,\"sealbox-software-evidence\":1}",
                  SB_E_MALFORMED, "invalid JSON");
    size_t n = SB_SOFTWARE_EVIDENCE_MAX + 1;
    char *big = malloc(n + 1);
    memset(big, ' ', n);
    big[n] = 0;
    parse_refused(big, SB_E_LIMIT, "bytes");
    free(big);
}

TEST(software_key_file_is_private_and_stable) {
    char p[4096];
    snprintf(p, sizeof(p), "%s/sw4.pem", sb_test_tmpdir());
    sb_attester *a = NULL, *b = NULL;
    sb_error err = {0};
    CHECK_OK(sb_attester_open_software(p, &a, &err), &err);
    struct stat st;
    CHECK(stat(p, &st) == 0);
    CHECK_INT(st.st_mode & 0777, 0600);
    /* reopening uses the same key */
    CHECK_OK(sb_attester_open_software(p, &b, &err), &err);
    char *s1 = evidence_text(a, "bm9uY2U"), *s2 = evidence_text(b, "bm9uY2U");
    json_t *j1 = json_loads(s1, 0, NULL), *j2 = json_loads(s2, 0, NULL);
    CHECK(json_equal(json_object_get(j1, "key"), json_object_get(j2, "key")));
    json_decref(j1);
    json_decref(j2);
    free(s1);
    free(s2);
    sb_attester_free(a);
    sb_attester_free(b);
    /* a key others can read is refused */
    CHECK(chmod(p, 0644) == 0);
    CHECK_INT(sb_attester_open_software(p, &a, &err), SB_E_USAGE);
    CHECK_CONTAINS(err.msg, "0600");
    /* a key of the wrong kind is refused */
    snprintf(p, sizeof(p), "%s/sw5.pem", sb_test_tmpdir());
    sb_privkey *k = NULL;
    CHECK_OK(sb_privkey_generate_ec(SB_CURVE_P521, &k, &err), &err);
    char *pem = NULL;
    CHECK_OK(sb_privkey_to_pem(k, &pem, &err), &err);
    CHECK_OK(sb_write_file_atomic(p, pem, strlen(pem), 0600, &err), &err);
    CHECK_INT(sb_attester_open_software(p, &a, &err), SB_E_UNSUPPORTED);
    CHECK_CONTAINS(err.msg, "not a P-256 or P-384 key");
    free(pem);
    sb_privkey_free(k);
    /* the runtime data must be a binding object */
    a = open_sw("sw6.pem");
    json_t *bad = json_pack("{s:s}", "nonce", "x");
    json_t *ev = NULL;
    CHECK_INT(sb_attester_evidence(a, bad, &ev, &err), SB_E_MALFORMED);
    CHECK_CONTAINS(err.msg, "tee-pubkey");
    json_decref(bad);
    sb_attester_free(a);
}
