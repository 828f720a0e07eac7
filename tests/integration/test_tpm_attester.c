/* test_tpm_attester: the TPM attester against a real swtpm (provisioned with EK certificates
 * from its own swtpm_localca CA) — AK enrollment by credential activation, quotes bound to the
 * runtime data through the real verifier and policy, the refusals (changed PCR, wrong binding,
 * unenrolled AK, wrong EK CA, tampered challenge, a well-formed quote signed by a software
 * key), sealing under a PCR policy, and the qualifyingData size the TPM takes. */
#include <stdlib.h>
#include <sys/stat.h>

#include "attester/attester.h"
#include "crypto/crypto.h"
#include "harness.h"
#include "kbs/kbs.h"
#include "policy/policy.h"
#include "swtpm_fixture.h"
#include "verify/verify.h"

#define BANK SB_TPM_ALG_SHA256
#define QUOTED ((1u << 0) | (1u << 7) | (1u << 16)) /* sha256:0,7,16 */

static struct swtpm tpmd;
static bool tpm_up, tpm_tried;
static char enrolled_dir[600];

/* The swtpm of this process, or a skip (a failure under CI=true). */
static bool have_tpm(void) {
    if (!tpm_tried) {
        tpm_tried = true;
        tpm_up = swtpm_start(&tpmd, sb_test_tmpdir());
        (void)snprintf(enrolled_dir, sizeof(enrolled_dir), "%s/tpm-enrolled", sb_test_tmpdir());
    }
    if (!tpm_up) sb_test_skip(true, "no swtpm: %s", tpmd.why);
    return tpm_up;
}

static sb_tpm *open_tpm(void) {
    struct sb_tpm_config cfg = {.tcti = tpmd.tcti, .bank = BANK, .pcrs = QUOTED};
    sb_tpm *t = NULL;
    sb_error err = {0};
    CHECK_OK(sb_tpm_open(&cfg, &t, &err), &err);
    return t;
}

static json_t *runtime_data(const char *nonce) {
    sb_privkey *k = NULL;
    sb_pubkey *pub = NULL;
    json_t *jwk = NULL;
    sb_error err = {0};
    CHECK_OK(sb_privkey_generate_ec(SB_CURVE_P256, &k, &err), &err);
    CHECK_OK(sb_privkey_public(k, &pub, &err), &err);
    CHECK_OK(sb_pubkey_to_jwk(pub, &jwk, &err), &err);
    sb_pubkey_free(pub);
    sb_privkey_free(k);
    return json_pack("{s:o, s:s}", "tee-pubkey", jwk, "nonce", nonce);
}

static struct sb_tpm_ek_trust load_trust(const char *bundle) {
    struct sb_tpm_ek_trust tr = {0};
    uint8_t *pem = NULL;
    size_t n = 0;
    sb_error err = {0};
    CHECK_OK(sb_read_file(bundle, 1 << 20, &pem, &n, &err), &err);
    if (pem) CHECK_OK(sb_tpm_ek_trust_load(pem, n, sb_time_now(), &tr, &err), &err);
    free(pem);
    return tr;
}

/* The whole enrollment: request → verifier challenge → ActivateCredential → finish. */
static int enroll(sb_tpm *t, const char *bundle, const char *dir, sb_error *err) {
    struct sb_tpm_ek_trust tr = load_trust(bundle);
    json_t *req = NULL;
    struct sb_tpm_enrollment e = {0};
    uint8_t cred[SB_TPM_MAX_CREDENTIAL];
    size_t credn = 0;
    int rc = sb_tpm_enroll_request(t, &req, err);
    if (rc == 0) rc = sb_tpm_enroll_begin(&tr, req, &e, err);
    if (rc == 0) rc = sb_tpm_enroll_activate(t, e.challenge, cred, &credn, err);
    if (rc == 0) rc = sb_tpm_enroll_finish(dir, &e, cred, credn, sb_time_now(), err);
    sb_tpm_enrollment_clear(&e);
    json_decref(req);
    sb_tpm_ek_trust_clear(&tr);
    return rc;
}

static void ensure_enrolled(sb_tpm *t) {
    static bool done;
    sb_error err = {0};
    if (!done) CHECK_OK(enroll(t, tpmd.ca_bundle, enrolled_dir, &err), &err);
    done = true;
}

/* Verifies evidence JSON with the real verifier (format detected), applies the enrollment
 * registry, appraises with policy_json; returns the status and fills reasons text. */
static enum sb_tier appraise(const json_t *evidence, const char *policy_json, const char *dir,
                             char *reasons, size_t cap, json_t **claims_out) {
    char *text = json_dumps(evidence, JSON_COMPACT);
    struct sb_blob b = {
        .name = "evidence.json", .data = (const uint8_t *)text, .len = text ? strlen(text) : 0};
    struct sb_verify_opts o = {.at = sb_time_now()};
    const struct sb_verifier *used = NULL;
    json_t *claims = NULL;
    sb_error err = {0};
    enum sb_tier tier = SB_TIER_NONE;
    CHECK_OK(sb_verify(&o, NULL, &b, 1, &used, &claims, &err), &err);
    free(text);
    if (!claims) return tier;
    CHECK_STR(used->name, "tpm");
    CHECK_OK(sb_tpm_claims_apply_enrollment(dir, claims, &err), &err);
    sb_policy *p = NULL;
    CHECK_OK(sb_policy_parse(policy_json, strlen(policy_json), "test", &p, &err), &err);
    struct sb_appraise_ctx ctx = {.at = sb_time_now()};
    struct sb_appraisal a = {0};
    if (p) {
        CHECK_OK(sb_policy_appraise(p, claims, &ctx, &a, &err), &err);
        tier = a.status;
        char *r = json_dumps(a.reasons, JSON_COMPACT);
        (void)snprintf(reasons, cap, "%s", r ? r : "");
        free(r);
        sb_appraisal_clear(&a);
        sb_policy_free(p);
    }
    if (claims_out)
        *claims_out = claims;
    else
        json_decref(claims);
    return tier;
}

static char *pcr_hex(const json_t *evidence, const char *idx) {
    const json_t *q = json_array_get(json_object_get(evidence, "quotes"), 0);
    const char *s = json_string_value(json_object_get(json_object_get(q, "pcrs"), idx));
    return s ? strdup(s) : NULL;
}

static char *policy_for(const json_t *evidence, const uint8_t binding[48]) {
    char *p16 = pcr_hex(evidence, "16"), bh[97];
    sb_hex_encode(binding, 48, bh);
    char *out = malloc(1024);
    if (out)
        (void)snprintf(out, 1024,
                       "{\"platforms\": [\"tpm\"], \"allow_insecure\": true, "
                       "\"pcrs\": {\"sha256:16\": [\"%s\"]}, \"report_data\": \"%s\"}",
                       p16 ? p16 : "", bh);
    free(p16);
    return out;
}

TEST(quote_round_trip_affirming_then_changed_pcr) {
    if (!have_tpm()) return;
    sb_tpm *t = open_tpm();
    if (!t) return;
    ensure_enrolled(t);
    sb_error err = {0};
    CHECK_INT(sb_tpm_max_qualifying_data(t), 64);
    CHECK_INT(sb_tpm_binding_len(t), 48);
    sb_attester *a = NULL;
    struct sb_tpm_config cfg = {.tcti = tpmd.tcti, .bank = BANK, .pcrs = QUOTED};
    CHECK_OK(sb_attester_open_tpm(&cfg, &a, &err), &err);
    json_t *rd = runtime_data("bm9uY2UtMQ");
    json_t *ev = NULL;
    uint8_t binding[48];
    CHECK_OK(sb_policy_binding_digest(rd, binding, &err), &err);
    if (a) {
        CHECK_STR(sb_attester_tee(a), "tpm");
        CHECK_OK(sb_attester_evidence(a, rd, &ev, &err), &err);
    }
    if (ev) {
        char *pol = policy_for(ev, binding), reasons[2048] = "";
        json_t *claims = NULL;
        CHECK_INT(appraise(ev, pol, enrolled_dir, reasons, sizeof(reasons), &claims),
                  SB_TIER_AFFIRMING);
        CHECK_MSG(strcmp(reasons, "[]") == 0, "reasons: %s", reasons);
        json_t *pc = json_object_get(claims, "platform_claims");
        CHECK(json_is_true(json_object_get(pc, "ak_enrolled")));
        CHECK(json_is_true(json_object_get(pc, "ak_certified")));
        char bh[97];
        sb_hex_encode(binding, 48, bh);
        CHECK_STR(json_string_value(json_object_get(claims, "report_data")), bh);
        json_decref(claims);

        /* PCR 16 moves: the next quote is authentic but no longer what the policy pins */
        uint8_t d[32] = {0x5b};
        CHECK_OK(sb_tpm_pcr_extend(t, BANK, 16, d, sizeof(d), &err), &err);
        json_t *ev2 = NULL;
        CHECK_OK(sb_attester_evidence(a, rd, &ev2, &err), &err);
        if (ev2) {
            CHECK(appraise(ev2, pol, enrolled_dir, reasons, sizeof(reasons), NULL) !=
                  SB_TIER_AFFIRMING);
            CHECK_CONTAINS(reasons, "sha256:16");
        }
        json_decref(ev2);

        /* PCR values edited in the evidence: the quote's pcrDigest no longer holds */
        json_t *q = json_array_get(json_object_get(ev, "quotes"), 0);
        json_object_set_new(json_object_get(q, "pcrs"), "16",
                            json_string("ffffffffffffffffffffffffffffffffffffffffffffffffffffffffff"
                                        "ffffff"));
        char *text = json_dumps(ev, JSON_COMPACT);
        struct sb_blob b = {.name = "e", .data = (const uint8_t *)text, .len = strlen(text)};
        struct sb_verify_opts o = {.at = sb_time_now()};
        json_t *c = NULL;
        CHECK_INT(sb_verify(&o, "tpm", &b, 1, NULL, &c, &err), SB_E_SIGNATURE);
        CHECK_CONTAINS(err.msg, "pcrDigest mismatch");
        free(text);
        free(pol);
    }
    json_decref(ev);
    json_decref(rd);
    sb_attester_free(a);
    sb_tpm_close(t);
}

TEST(wrong_binding_refused) {
    if (!have_tpm()) return;
    sb_tpm *t = open_tpm();
    if (!t) return;
    ensure_enrolled(t);
    sb_error err = {0};
    json_t *rd = runtime_data("bm9uY2UtMg"), *other = runtime_data("bm9uY2UtMw");
    uint8_t b1[48], b2[48];
    CHECK_OK(sb_policy_binding_digest(rd, b1, &err), &err);
    CHECK_OK(sb_policy_binding_digest(other, b2, &err), &err);
    json_t *ev = NULL;
    CHECK_OK(sb_tpm_quote(t, b1, 48, &ev, &err), &err);
    if (ev) {
        /* the verifier, told which binding to expect */
        char *text = json_dumps(ev, JSON_COMPACT);
        struct sb_blob b = {.name = "e", .data = (const uint8_t *)text, .len = strlen(text)};
        struct sb_verify_opts o = {.at = sb_time_now(), .nonce = b2, .nonce_len = 48};
        json_t *c = NULL;
        CHECK_INT(sb_verify(&o, "tpm", &b, 1, NULL, &c, &err), SB_E_SIGNATURE);
        CHECK_CONTAINS(err.msg, "nonce mismatch");
        o.nonce = b1;
        CHECK_OK(sb_verify(&o, "tpm", &b, 1, NULL, &c, &err), &err);
        json_decref(c);
        free(text);
        /* the policy, pinning the other binding */
        char *pol = policy_for(ev, b2), reasons[2048] = "";
        CHECK_INT(appraise(ev, pol, enrolled_dir, reasons, sizeof(reasons), NULL),
                  SB_TIER_CONTRAINDICATED);
        CHECK_CONTAINS(reasons, "report_data");
        free(pol);
    }
    json_decref(ev);
    json_decref(rd);
    json_decref(other);
    sb_tpm_close(t);
}

TEST(unenrolled_ak_refused_naming_it) {
    if (!have_tpm()) return;
    sb_tpm *t = open_tpm();
    if (!t) return;
    sb_error err = {0};
    uint8_t qd[48] = {1, 2, 3}, name[66];
    uint8_t *pub = NULL;
    size_t publen = 0, namelen = 0;
    CHECK_OK(sb_tpm_ak_public(t, &pub, &publen, name, &namelen, &err), &err);
    free(pub);
    char namehex[133];
    sb_hex_encode(name, namelen, namehex);
    json_t *ev = NULL;
    CHECK_OK(sb_tpm_quote(t, qd, sizeof(qd), &ev, &err), &err);
    char empty_dir[700];
    (void)snprintf(empty_dir, sizeof(empty_dir), "%s/nobody-enrolled", sb_test_tmpdir());
    if (ev) {
        char *pol = policy_for(ev, qd), reasons[2048] = "";
        json_t *claims = NULL;
        CHECK_INT(appraise(ev, pol, empty_dir, reasons, sizeof(reasons), &claims), SB_TIER_WARNING);
        CHECK_CONTAINS(reasons, "ak_certified");
        CHECK_CONTAINS(reasons, namehex);
        CHECK(json_is_false(
            json_object_get(json_object_get(claims, "platform_claims"), "ak_enrolled")));
        json_decref(claims);
        free(pol);
    }
    json_decref(ev);
    sb_tpm_close(t);
}

TEST(enrollment_with_wrong_ek_refused) {
    if (!have_tpm()) return;
    sb_tpm *t = open_tpm();
    if (!t) return;
    sb_error err = {0};
    char dir[700];
    (void)snprintf(dir, sizeof(dir), "%s/wrong-ek", sb_test_tmpdir());
    /* 1. an EK CA that did not issue this EK certificate */
    char other_ca[700], key[700];
    (void)snprintf(other_ca, sizeof(other_ca), "%s/other-ca.pem", sb_test_tmpdir());
    (void)snprintf(key, sizeof(key), "%s/other-ca.key", sb_test_tmpdir());
    char *argv[] = {"openssl",
                    "req",
                    "-x509",
                    "-newkey",
                    "ec",
                    "-pkeyopt",
                    "ec_paramgen_curve:P-256",
                    "-nodes",
                    "-subj",
                    "/CN=not the EK CA",
                    "-days",
                    "2",
                    "-keyout",
                    key,
                    "-out",
                    other_ca,
                    NULL};
    char log[700];
    (void)snprintf(log, sizeof(log), "%s/openssl.log", sb_test_tmpdir());
    CHECK(swtpm_fixture_run(argv, log));
    CHECK_INT(enroll(t, other_ca, dir, &err), SB_E_CHAIN);
    CHECK_CONTAINS(err.msg, "EK certificate does not chain");

    /* 2. the right CA, but the request claims another EK public key than the certificate */
    struct sb_tpm_ek_trust tr = load_trust(tpmd.ca_bundle);
    json_t *req = NULL;
    CHECK_OK(sb_tpm_enroll_request(t, &req, &err), &err);
    if (req) {
        json_t *bad = json_deep_copy(req);
        /* the AK's public area is no EK at all */
        json_object_set(bad, "ek-public", json_object_get(req, "ak"));
        struct sb_tpm_enrollment e = {0};
        CHECK(sb_tpm_enroll_begin(&tr, bad, &e, &err) < 0);
        CHECK_CONTAINS(err.msg, "ek-public");
        json_decref(bad);

        /* 3. a challenge tampered with in transit: the TPM refuses to activate it */
        CHECK_OK(sb_tpm_enroll_begin(&tr, req, &e, &err), &err);
        uint8_t cred[SB_TPM_MAX_CREDENTIAL];
        size_t credn = 0;
        if (e.challenge) {
            json_t *ch = json_deep_copy(e.challenge);
            const char *s = json_string_value(json_object_get(ch, "credential"));
            char *mut = strdup(s);
            mut[10] = mut[10] == 'A' ? 'B' : 'A';
            json_object_set_new(ch, "credential", json_string(mut));
            free(mut);
            CHECK(sb_tpm_enroll_activate(t, ch, cred, &credn, &err) < 0);
            CHECK_CONTAINS(err.msg, "ActivateCredential");
            json_decref(ch);
            /* 4. a wrong answer is not an enrollment */
            uint8_t wrong[32] = {0};
            CHECK_INT(sb_tpm_enroll_finish(dir, &e, wrong, sizeof(wrong), 0, &err), SB_E_SIGNATURE);
            CHECK_CONTAINS(err.msg, e.name_hex);
            struct stat st;
            CHECK(stat(dir, &st) < 0);
        }
        sb_tpm_enrollment_clear(&e);
    }
    json_decref(req);
    sb_tpm_ek_trust_clear(&tr);
    sb_tpm_close(t);
}

/* ---- a software key forging a well-formed quote ---- */

/* The key broker takes a TPM quote's AK as certified only when it was enrolled in the KBS's
 * own registry (<state>/tpm-enrolled): before enrollment the token says so and the resource is
 * refused; after it, the same handshake gets the resource. */
static int broker_round(sb_kbs_broker *b, sb_attester *a, char *detail, size_t cap) {
    sb_error err = {0};
    sb_privkey *tk = NULL;
    json_t *pub = NULL, *ev = NULL, *claims = NULL;
    CHECK_OK(sb_privkey_generate_ec(SB_CURVE_P256, &tk, &err), &err);
    CHECK_OK(sb_jwe_tee_pubkey(tk, &pub, &err), &err);
    json_t *rd = json_pack("{s:O, s:s, s:s}", "tee-pubkey", pub, "nonce", "bm9uY2UtMg",
                           "additional-evidence", "");
    CHECK_OK(sb_attester_evidence(a, rd, &ev, &err), &err);
    char *text = ev ? json_dumps(ev, JSON_COMPACT) : NULL;
    struct sb_blob blob = {
        .name = "primary_evidence", .data = (const uint8_t *)text, .len = text ? strlen(text) : 0};
    struct sb_verify_opts o = {.at = sb_time_now()};
    if (text) CHECK_OK(sb_verify(&o, "tpm", &blob, 1, NULL, &claims, &err), &err);
    int status = -1;
    struct sb_kbs_result res = {0};
    if (claims) {
        CHECK_OK(sb_kbs_broker_attest(b, "tpm", claims, rd, sb_time_now(), &res, &err), &err);
        CHECK_INT(res.status, 200);
        const char *tok = json_string_value(json_object_get(res.body, "token"));
        char *token = tok ? strdup(tok) : NULL;
        sb_kbs_result_clear(&res);
        if (token) {
            CHECK_OK(sb_kbs_broker_resource(b, token, "tpm/key/one", sb_time_now(), &res, &err),
                     &err);
            status = res.status;
            (void)snprintf(detail, cap, "%s", res.detail);
            if (status == 200) {
                uint8_t *v = NULL;
                size_t n = 0;
                CHECK_OK(sb_jwe_decrypt(tk, res.body, &v, &n, &err), &err);
                CHECK(n == 5 && v && memcmp(v, "tpm-v", 5) == 0);
                free(v);
            }
            sb_kbs_result_clear(&res);
        }
        free(token);
    }
    free(text);
    json_decref(claims);
    json_decref(ev);
    json_decref(rd);
    json_decref(pub);
    sb_privkey_free(tk);
    return status;
}

TEST(kbs_broker_needs_the_ak_enrolled_with_it) {
    if (!have_tpm()) return;
    char dir[4096], db[4200], reg[4200];
    snprintf(dir, sizeof(dir), "%s/kbs-tpm", sb_test_tmpdir());
    snprintf(db, sizeof(db), "%s/sealbox.db", dir);
    snprintf(reg, sizeof(reg), "%s/tpm-enrolled", dir);
    CHECK(mkdir(dir, 0700) == 0);
    sb_error err = {0};
    sb_store *st = NULL;
    CHECK_OK(sb_store_open(db, &st, &err), &err);
    if (!st) return;
    CHECK_OK(sb_store_kbs_policy_put(st, "attestation",
                                     "{\"platforms\":[\"tpm\"],\"allow_insecure\":true}", &err),
             &err);
    CHECK_OK(sb_store_kbs_policy_put(
                 st, "resource",
                 "{\"rules\":[{\"resources\":[\"tpm/*/*\"],\"allow_insecure\":true}]}", &err),
             &err);
    sb_kbs_broker *b = NULL;
    struct sb_kbs_broker_cfg cfg = {.state_dir = dir, .store = st, .token_ttl_s = 60};
    CHECK_OK(sb_kbs_broker_new(&cfg, &b, &err), &err);
    struct sb_kbs_result res = {0};
    if (b)
        CHECK_OK(sb_kbs_broker_admin(b, SB_KBS_ADM_RESOURCE_PUT, "tpm/key/one",
                                     (const uint8_t *)"tpm-v", 5, &res, &err),
                 &err);
    sb_kbs_result_clear(&res);
    sb_attester *a = NULL;
    struct sb_tpm_config tc = {.tcti = tpmd.tcti, .bank = BANK, .pcrs = QUOTED};
    CHECK_OK(sb_attester_open_tpm(&tc, &a, &err), &err);
    char detail[1024] = "";
    if (a && b) {
        CHECK_INT(broker_round(b, a, detail, sizeof(detail)), 403);
        CHECK_CONTAINS(detail, "affirming");
        sb_tpm *t = open_tpm();
        if (t) CHECK_OK(enroll(t, tpmd.ca_bundle, reg, &err), &err);
        sb_tpm_close(t);
        CHECK_INT(broker_round(b, a, detail, sizeof(detail)), 200);
    }
    sb_attester_free(a);
    sb_kbs_broker_free(b);
    sb_store_close(st);
}

static void put_tpm2b(sb_writer *w, const uint8_t *p, size_t n) {
    (void)sb_writer_u16be(w, (uint16_t)n);
    (void)sb_writer_bytes(w, p, n);
}

static char *b64(const uint8_t *p, size_t n) { return sb_base64_encode(p, n); }

TEST(non_tpm_key_signed_quote_refused) {
    if (!have_tpm()) return;
    sb_tpm *t = open_tpm();
    if (!t) return;
    ensure_enrolled(t);
    sb_error err = {0};
    sb_privkey *k = NULL;
    sb_pubkey *pk = NULL;
    uint8_t *spki = NULL;
    size_t spkin = 0;
    CHECK_OK(sb_privkey_generate_ec(SB_CURVE_P256, &k, &err), &err);
    CHECK_OK(sb_privkey_public(k, &pk, &err), &err);
    CHECK_OK(sb_pubkey_to_spki_der(pk, &spki, &spkin, &err), &err);
    if (!spki || spkin < 65) goto out;
    /* TPMT_PUBLIC claiming every attribute of a TPM-resident AK */
    sb_writer pw;
    sb_writer_init(&pw, 1024);
    (void)sb_writer_u16be(&pw, SB_TPM_ALG_ECC);
    (void)sb_writer_u16be(&pw, SB_TPM_ALG_SHA256);
    (void)sb_writer_u32be(&pw, SB_TPMA_FIXED_TPM | SB_TPMA_FIXED_PARENT |
                                   SB_TPMA_SENSITIVE_DATA_ORIGIN | SB_TPMA_USER_WITH_AUTH |
                                   SB_TPMA_RESTRICTED | SB_TPMA_SIGN);
    put_tpm2b(&pw, NULL, 0);
    (void)sb_writer_u16be(&pw, SB_TPM_ALG_NULL);
    (void)sb_writer_u16be(&pw, SB_TPM_ALG_ECDSA);
    (void)sb_writer_u16be(&pw, SB_TPM_ALG_SHA256);
    (void)sb_writer_u16be(&pw, SB_TPM_ECC_NIST_P256);
    (void)sb_writer_u16be(&pw, SB_TPM_ALG_NULL);
    put_tpm2b(&pw, spki + spkin - 64, 32);
    put_tpm2b(&pw, spki + spkin - 32, 32);
    size_t publen = 0;
    uint8_t *pub = sb_writer_steal(&pw, &publen);
    struct sb_tpm_public parsed;
    uint8_t name[66];
    size_t namelen = 0;
    CHECK_OK(sb_tpm_public_parse(pub, publen, &parsed, &err), &err);
    CHECK_OK(sb_tpm_public_name(&parsed, name, &namelen, &err), &err);
    char namehex[133];
    sb_hex_encode(name, namelen, namehex);

    /* the real PCR 16 value and the right binding: only the signer is fake */
    uint8_t qd[48], pcrs[24][64];
    CHECK_OK(sb_random(qd, sizeof(qd), &err), &err);
    json_t *real = NULL;
    CHECK_OK(sb_tpm_quote(t, qd, sizeof(qd), &real, &err), &err);
    char *p16 = real ? pcr_hex(real, "16") : NULL;
    uint8_t *p16b = NULL;
    size_t p16n = 0;
    if (p16) CHECK_OK(sb_hex_decode(p16, strlen(p16), &p16b, &p16n, &err), &err);
    (void)pcrs;
    uint8_t digest[32];
    if (p16b) CHECK_OK(sb_hash(SB_HASH_SHA256, p16b, p16n, digest, &err), &err);
    sb_writer aw;
    sb_writer_init(&aw, 1024);
    (void)sb_writer_u32be(&aw, SB_TPM_GENERATED_VALUE);
    (void)sb_writer_u16be(&aw, SB_TPM_ST_ATTEST_QUOTE);
    put_tpm2b(&aw, name, namelen);
    put_tpm2b(&aw, qd, sizeof(qd));
    (void)sb_writer_u64be(&aw, 123456);
    (void)sb_writer_u32be(&aw, 1);
    (void)sb_writer_u32be(&aw, 0);
    (void)sb_writer_u8(&aw, 1);
    (void)sb_writer_u64be(&aw, 0x0001000200030004ull); /* not libtpms: claims to be hardware */
    (void)sb_writer_u32be(&aw, 1);
    (void)sb_writer_u16be(&aw, SB_TPM_ALG_SHA256);
    (void)sb_writer_u8(&aw, 3);
    (void)sb_writer_u8(&aw, 0);
    (void)sb_writer_u8(&aw, 0);
    (void)sb_writer_u8(&aw, 1); /* PCR 16 */
    put_tpm2b(&aw, digest, 32);
    size_t attn = 0;
    uint8_t *att = sb_writer_steal(&aw, &attn);
    uint8_t *sig = NULL;
    size_t sign = 0;
    CHECK_OK(sb_sign(k, SB_HASH_SHA256, att, attn, SB_ECDSA_RAW_BE, &sig, &sign, &err), &err);
    if (!sig || sign != 64 || !p16) goto out2;
    sb_writer sw;
    sb_writer_init(&sw, 256);
    (void)sb_writer_u16be(&sw, SB_TPM_ALG_ECDSA);
    (void)sb_writer_u16be(&sw, SB_TPM_ALG_SHA256);
    put_tpm2b(&sw, sig, 32);
    put_tpm2b(&sw, sig + 32, 32);
    size_t tsign = 0;
    uint8_t *tsig = sb_writer_steal(&sw, &tsign);
    char *a64 = b64(pub, publen), *q64 = b64(att, attn), *s64 = b64(tsig, tsign);
    json_t *forged =
        json_pack("{s:i, s:s, s:[{s:s, s:s, s:s, s:{s:s}}]}", "sealbox-tpm", 1, "ak", a64, "quotes",
                  "bank", "sha256", "attest", q64, "signature", s64, "pcrs", "16", p16);
    free(a64);
    free(q64);
    free(s64);
    free(tsig);
    if (forged) {
        char pol[1024], reasons[2048] = "", bh[97];
        sb_hex_encode(qd, 48, bh);
        (void)snprintf(pol, sizeof(pol),
                       "{\"platforms\": [\"tpm\"], \"pcrs\": {\"sha256:16\": [\"%s\"]}, "
                       "\"report_data\": \"%s\"}",
                       p16, bh);
        json_t *claims = NULL;
        /* well-formed: the verifier authenticates the signature with the key it was handed */
        CHECK_INT(appraise(forged, pol, enrolled_dir, reasons, sizeof(reasons), &claims),
                  SB_TIER_WARNING);
        CHECK_CONTAINS(reasons, "ak_certified");
        CHECK_CONTAINS(reasons, namehex);
        json_decref(claims);
        /* and it cannot be enrolled: the TPM holds no key of that name */
        struct sb_tpm_ek_trust tr = load_trust(tpmd.ca_bundle);
        json_t *req = NULL;
        CHECK_OK(sb_tpm_enroll_request(t, &req, &err), &err);
        if (req) {
            char *fake = b64(pub, publen);
            json_object_set_new(req, "ak", json_string(fake));
            free(fake);
            struct sb_tpm_enrollment e = {0};
            CHECK_OK(sb_tpm_enroll_begin(&tr, req, &e, &err), &err);
            uint8_t cred[SB_TPM_MAX_CREDENTIAL];
            size_t credn = 0;
            if (e.challenge) {
                CHECK(sb_tpm_enroll_activate(t, e.challenge, cred, &credn, &err) < 0);
                CHECK_CONTAINS(err.msg, "ActivateCredential");
            }
            sb_tpm_enrollment_clear(&e);
        }
        json_decref(req);
        sb_tpm_ek_trust_clear(&tr);
    }
    json_decref(forged);
out2:
    free(sig);
    free(att);
    free(p16b);
    free(p16);
    json_decref(real);
    free(pub);
out:
    free(spki);
    sb_pubkey_free(pk);
    sb_privkey_free(k);
    sb_tpm_close(t);
}

TEST(seal_unseal_and_pcr_change) {
    if (!have_tpm()) return;
    sb_tpm *t = open_tpm();
    if (!t) return;
    sb_error err = {0};
    uint8_t key[32], back[32] = {0};
    CHECK_OK(sb_random(key, sizeof(key), &err), &err);
    uint8_t *blob = NULL;
    size_t n = 0;
    CHECK_OK(sb_tpm_seal(t, key, BANK, (1u << 23) | (1u << 7), &blob, &n, &err), &err);
    if (!blob) goto out;
    struct sb_tpm_sealed s;
    CHECK_OK(sb_tpm_sealed_parse(blob, n, &s, &err), &err);
    CHECK_INT(s.pcrs, (1u << 23) | (1u << 7));
    /* the key is not in the blob */
    CHECK(memmem(blob, n, key, sizeof(key)) == NULL);
    CHECK_OK(sb_tpm_unseal(t, blob, n, back, &err), &err);
    CHECK_MEM(back, key, 32);
    /* a second TPM session (as after a restart) unseals too */
    sb_tpm *t2 = open_tpm();
    memset(back, 0, sizeof(back));
    if (t2) CHECK_OK(sb_tpm_unseal(t2, blob, n, back, &err), &err);
    CHECK_MEM(back, key, 32);
    sb_tpm_close(t2);
    /* PCR 23 moves: the policy no longer holds */
    uint8_t d[32] = {0x23};
    CHECK_OK(sb_tpm_pcr_extend(t, BANK, 23, d, sizeof(d), &err), &err);
    memset(back, 0, sizeof(back));
    CHECK_INT(sb_tpm_unseal(t, blob, n, back, &err), SB_E_POLICY);
    CHECK_CONTAINS(err.msg, "PCRs 7,23");
    static const uint8_t zero[32];
    CHECK_MEM(back, zero, 32);
    /* a blob cut short or with a wrong magic is refused by the parser */
    CHECK_INT(sb_tpm_unseal(t, blob, n - 1, back, &err), SB_E_TRUNCATED);
    blob[0] ^= 1;
    CHECK_INT(sb_tpm_unseal(t, blob, n, back, &err), SB_E_MALFORMED);
    CHECK_CONTAINS(err.msg, "magic");
    free(blob);
out:
    sb_tpm_close(t);
}

TEST(qualifying_data_sizes) {
    if (!have_tpm()) return;
    sb_tpm *t = open_tpm();
    if (!t) return;
    sb_error err = {0};
    uint8_t qd[80] = {0};
    /* swtpm takes sizeof(TPMT_HA) = 66 bytes, the tss2 ESAPI 64: 64 go through, 65 are
     * refused up front */
    size_t max = sb_tpm_max_qualifying_data(t);
    json_t *ev = NULL;
    CHECK_OK(sb_tpm_quote(t, qd, max, &ev, &err), &err);
    json_decref(ev);
    ev = NULL;
    CHECK_INT(sb_tpm_quote(t, qd, max + 1, &ev, &err), SB_E_USAGE);
    CHECK_CONTAINS(err.msg, "qualifyingData");
    sb_tpm_close(t);
}

TEST(pcr_spec) {
    uint16_t bank = 0;
    uint32_t m = 0;
    sb_error err = {0};
    CHECK_OK(sb_tpm_pcr_spec_parse("sha256:0,7,16", &bank, &m, &err), &err);
    CHECK_INT(bank, SB_TPM_ALG_SHA256);
    CHECK_INT(m, (1u << 0) | (1u << 7) | (1u << 16));
    CHECK_OK(sb_tpm_pcr_spec_parse("sha384", &bank, &m, &err), &err);
    CHECK_INT(m, 0xff);
    CHECK_INT(sb_tpm_pcr_spec_parse("md5:1", &bank, &m, &err), SB_E_USAGE);
    CHECK_INT(sb_tpm_pcr_spec_parse("sha256:24", &bank, &m, &err), SB_E_USAGE);
    CHECK_INT(sb_tpm_pcr_spec_parse("sha256:1,", &bank, &m, &err), SB_E_USAGE);
}

/* ---- fuzz seeds: SB_GEN_CORPUS=tests/fuzz/corpus writes this TPM's real structures ---- */

static void seed(const char *corpus, const char *parser, const char *name, const void *p,
                 size_t n) {
    char dir[700], path[800];
    (void)snprintf(dir, sizeof(dir), "%s/%s", corpus, parser);
    (void)mkdir(dir, 0755);
    (void)snprintf(path, sizeof(path), "%s/%s", dir, name);
    sb_error err = {0};
    CHECK_OK(sb_write_file_atomic(path, p, n, 0644, &err), &err);
}

static void seed_b64(const char *corpus, const char *parser, const char *name, const json_t *o,
                     const char *key) {
    const json_t *v = json_object_get(o, key);
    uint8_t *b = NULL;
    size_t n = 0;
    sb_error err = {0};
    CHECK_OK(sb_base64_decode(json_string_value(v), json_string_length(v), false, &b, &n, &err),
             &err);
    if (b) seed(corpus, parser, name, b, n);
    free(b);
}

TEST(generate_fuzz_seeds) {
    const char *corpus = getenv("SB_GEN_CORPUS");
    if (!corpus) return; /* only when asked */
    if (!have_tpm()) return;
    sb_tpm *t = open_tpm();
    if (!t) return;
    sb_error err = {0};
    uint8_t key[32] = {0x42}, *blob = NULL;
    size_t n = 0;
    CHECK_OK(sb_tpm_seal(t, key, BANK, 1u << 23, &blob, &n, &err), &err);
    if (blob) {
        seed(corpus, "tpm_sealed", "sealed-sha256-pcr23.bin", blob, n);
        seed(corpus, "tpm_sealed", "truncated.bin", blob, n / 2);
        blob[4] = 2; /* version */
        seed(corpus, "tpm_sealed", "version2.bin", blob, n);
    }
    free(blob);
    struct sb_tpm_ek_trust tr = load_trust(tpmd.ca_bundle);
    json_t *req = NULL;
    struct sb_tpm_enrollment e = {0};
    CHECK_OK(sb_tpm_enroll_request(t, &req, &err), &err);
    if (req) {
        seed_b64(corpus, "tpm_credential", "ak-public.bin", req, "ak");
        seed_b64(corpus, "tpm_credential", "ek-public.bin", req, "ek-public");
        CHECK_OK(sb_tpm_enroll_begin(&tr, req, &e, &err), &err);
        if (e.challenge)
            seed_b64(corpus, "tpm_credential", "id-object.bin", e.challenge, "credential");
    }
    sb_tpm_enrollment_clear(&e);
    json_decref(req);
    sb_tpm_ek_trust_clear(&tr);
    uint8_t qd[48] = {7};
    json_t *ev = NULL;
    CHECK_OK(sb_tpm_quote(t, qd, sizeof(qd), &ev, &err), &err);
    char *text = ev ? json_dumps(ev, JSON_INDENT(1)) : NULL;
    if (text) seed(corpus, "tpm_container", "sealbox-tpm.json", text, strlen(text));
    free(text);
    json_decref(ev);
    sb_tpm_close(t);
}

/* ---- the CLI: sealbox tpm enroll / quote, then sealbox verify --tpm-enrolled ---- */

TEST(cli_enroll_quote_verify) {
    if (!have_tpm()) return;
    const char *build = getenv("SEALBOX_BUILD_DIR");
    if (!build) {
        sb_test_skip(true, "SEALBOX_BUILD_DIR is not set (run through ctest)");
        return;
    }
    char bin[700], state[700], out[700], enrolled[800], pol[700];
    (void)snprintf(bin, sizeof(bin), "%s/sealbox", build);
    (void)snprintf(state, sizeof(state), "%s/cli-state", sb_test_tmpdir());
    (void)snprintf(out, sizeof(out), "%s/cli.out", sb_test_tmpdir());
    (void)snprintf(enrolled, sizeof(enrolled), "%s/tpm-enrolled", state);
    (void)snprintf(pol, sizeof(pol), "%s/cli-policy.json", sb_test_tmpdir());
    CHECK(mkdir(state, 0700) == 0);
    char *enroll[] = {bin,   "tpm",    "--tcti",  tpmd.tcti,      "--state-dir",
                      state, "enroll", "--ek-ca", tpmd.ca_bundle, NULL};
    CHECK_INT(sb_test_run(enroll, out, false), 0);
    uint8_t *text = NULL;
    size_t n = 0;
    sb_error err = {0};
    CHECK_OK(sb_read_file(out, 1 << 16, &text, &n, &err), &err);
    CHECK_CONTAINS((const char *)text, "enrolled AK 000b");
    free(text);
    /* an EK CA file that holds no certificate: a usage error, exit 2 */
    char *bad[] = {bin,   "tpm",    "--tcti",  tpmd.tcti, "--state-dir",
                   state, "enroll", "--ek-ca", bin,       NULL};
    CHECK_INT(sb_test_run(bad, out, false), 2);

    static const char nonce[] = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";
    char *quote[] = {bin,          "tpm",   "--tcti",  tpmd.tcti,     "--pcrs",
                     "sha256:0,7", "quote", "--nonce", (char *)nonce, NULL};
    char qfile[800];
    (void)snprintf(qfile, sizeof(qfile), "%s/quote.json", sb_test_tmpdir());
    CHECK_INT(sb_test_run(quote, qfile, false), 0);
    CHECK(swtpm_fixture_write(pol, "{\"platforms\": [\"tpm\"], \"allow_insecure\": true}"));
    char *verify[] = {bin,      "verify",   "--nonce", (char *)nonce, "--tpm-enrolled",
                      enrolled, "--policy", pol,       qfile,         NULL};
    CHECK_INT(sb_test_run(verify, out, false), 0);
    /* without the registry, the AK is not proven: warning, exit 1 */
    char *verify2[] = {bin, "verify", "--nonce", (char *)nonce, "--policy", pol, qfile, NULL};
    CHECK_INT(sb_test_run(verify2, out, false), 1);
    CHECK_OK(sb_read_file(out, 1 << 20, &text, &n, &err), &err);
    CHECK_CONTAINS((const char *)text, "ak_certified");
    free(text);
}
