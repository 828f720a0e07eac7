/* test_tpm: TPM 2.0 structure parsers and the tpm verifier on the real GCE, Shielded VM and
 * Trustee samples — signature, nonce, pcrDigest, event-log replay, AK certificate chain — with
 * every byte of a quote flipped, every truncation, tampered PCRs and logs, and a crafted
 * ECDSA quote signed here. */
#include <stdlib.h>

#include "harness.h"
#include "verify/verify.h"

#define P1 "tpm/go-attestation/windows_gcp_shielded_vm.json"
#define P2N "tpm/go-tpm-tools/gce-cos-85-nonce9009.pb"
#define P2 "tpm/go-tpm-tools/gce-cos-85-no-nonce.pb"
#define P4 "tpm/trustee/tpm_evidence.json"
#define GCE "tpm/go-tpm-tools/gce-ca-certs/"
#define AT_2022 1640995200 /* 2022-01-01: inside the GCE AK certificate (2021-08-31..2051) */

static json_t *run(const struct sb_verify_opts *o, const uint8_t *p, size_t n, int want,
                   sb_error *err) {
    struct sb_blob b = {.name = "t", .data = p, .len = n};
    json_t *claims = NULL;
    int rc = sb_verifier_tpm.verify(o, &b, 1, &claims, err);
    CHECK_MSG(rc == want, "verify: %d (%s), expected %d", rc, err->msg, want);
    if (rc < 0) return NULL;
    return claims;
}

static const char *claim_str(json_t *c, const char *section, const char *key) {
    json_t *s = section ? json_object_get(c, section) : c;
    return json_string_value(json_object_get(s, key));
}

static bool has_warning(json_t *c, const char *needle) {
    json_t *w = json_object_get(c, "warnings");
    for (size_t i = 0; i < json_array_size(w); i++)
        if (strstr(json_string_value(json_array_get(w, i)), needle)) return true;
    return false;
}

TEST(go_attestation_gcp_shielded_vm) {
    if (!sb_test_evidence_dir()) return;
    size_t n;
    uint8_t *p = sb_test_read_evidence(P1, &n);
    if (!p) return;
    sb_error err = {0};
    struct sb_verify_opts o = {.at = AT_2022};
    json_t *c = run(&o, p, n, 0, &err);
    if (c) {
        CHECK_STR(claim_str(c, NULL, "platform"), "tpm");
        CHECK_STR(claim_str(c, NULL, "format"), "go-attestation");
        CHECK_STR(claim_str(c, "measurements", "sha1:0"),
                  "51c323de0c0c694f4601cdd02beb58ff13629f74");
        CHECK_STR(claim_str(c, "measurements", "sha1:17"),
                  "ffffffffffffffffffffffffffffffffffffffff");
        CHECK_INT(json_object_size(json_object_get(c, "measurements")), 24);
        CHECK_STR(claim_str(c, NULL, "report_data"), "");
        json_t *pc = json_object_get(c, "platform_claims");
        CHECK(json_is_false(json_object_get(pc, "ak_certified")));
        CHECK(json_is_true(json_object_get(pc, "event_log_verified")));
        CHECK_STR(claim_str(c, "platform_claims", "ak_type"), "rsa-2048");
        CHECK(has_warning(c, "AK not certified"));
        CHECK(json_is_false(json_object_get(c, "insecure")));
    }
    json_decref(c);
    /* the quote's extraData is empty: any nonce fails */
    static const uint8_t nonce[] = {1, 2};
    o.nonce = nonce;
    o.nonce_len = sizeof(nonce);
    CHECK(run(&o, p, n, SB_E_SIGNATURE, &err) == NULL);
    CHECK_CONTAINS(err.msg, "nonce mismatch");
    free(p);
}

TEST(trustee_swtpm_fixture) {
    if (!sb_test_evidence_dir()) return;
    size_t n;
    uint8_t *p = sb_test_read_evidence(P4, &n);
    if (!p) return;
    sb_error err = {0};
    struct sb_verify_opts o = {.at = AT_2022};
    json_t *c = run(&o, p, n, 0, &err);
    if (c) {
        CHECK_STR(claim_str(c, NULL, "format"), "trustee-tpm");
        CHECK_STR(claim_str(c, "platform_claims", "firmware_version"), "2019102300163636");
        CHECK(json_is_true(json_object_get(c, "insecure")));
        CHECK(json_is_true(json_object_get(json_object_get(c, "platform_claims"), "software_tpm")));
        CHECK(has_warning(c, "swtpm"));
        CHECK(json_is_false(
            json_object_get(json_object_get(c, "platform_claims"), "event_log_verified")));
        CHECK_INT(strlen(claim_str(c, NULL, "report_data")), 128);
    }
    json_decref(c);
    free(p);
}

struct certs {
    uint8_t *data[2];
    struct sb_blob blob[2];
};

static bool load_certs(struct certs *cs, const char *a, const char *b) {
    const char *names[2] = {a, b};
    for (int i = 0; i < 2; i++) {
        size_t n;
        cs->data[i] = sb_test_read_evidence(names[i], &n);
        if (!cs->data[i]) return false;
        cs->blob[i] = (struct sb_blob){.name = names[i], .data = cs->data[i], .len = n};
    }
    return true;
}

TEST(go_tpm_tools_gce_with_ak_certificate) {
    if (!sb_test_evidence_dir()) return;
    struct certs cs = {0};
    size_t n, n2;
    uint8_t *p = sb_test_read_evidence(P2N, &n);
    uint8_t *p2 = sb_test_read_evidence(P2, &n2);
    if (!p || !p2 || !load_certs(&cs, GCE "tpm_ek_intermediate_2.crt", GCE "tpm_ek_root_1.cer"))
        goto out;
    sb_error err = {0};
    static const uint8_t nonce[] = {0x90, 0x09};
    struct sb_verify_opts o = {
        .at = AT_2022, .certs = cs.blob, .n_certs = 2, .nonce = nonce, .nonce_len = 2};
    json_t *c = run(&o, p, n, 0, &err);
    if (c) {
        CHECK_STR(claim_str(c, NULL, "report_data"), "9009");
        json_t *pc = json_object_get(c, "platform_claims");
        CHECK(json_is_true(json_object_get(pc, "ak_certified")));
        CHECK(json_is_true(json_object_get(pc, "event_log_verified")));
        CHECK_INT(json_array_size(json_object_get(pc, "quote_banks")), 3);
        CHECK_INT(json_array_size(json_object_get(pc, "event_log_banks")), 3);
        CHECK_INT(json_object_size(json_object_get(c, "measurements")), 72);
        CHECK(!has_warning(c, "AK not certified"));
        CHECK_INT(json_array_size(json_object_get(c, "collateral")), 2);
    }
    json_decref(c);
    /* wrong nonce */
    static const uint8_t wrong[] = {0x90, 0x08};
    o.nonce = wrong;
    CHECK(run(&o, p, n, SB_E_SIGNATURE, &err) == NULL);
    CHECK_CONTAINS(err.msg, "nonce mismatch");
    /* the no-nonce quote, without --nonce */
    o.nonce = NULL;
    o.nonce_len = 0;
    c = run(&o, p2, n2, 0, &err);
    if (c) CHECK_STR(claim_str(c, NULL, "report_data"), "");
    json_decref(c);
    /* empty roots fail, as upstream */
    o.n_certs = 0;
    CHECK(run(&o, p, n, SB_E_CHAIN, &err) == NULL);
    CHECK_CONTAINS(err.msg, "no trusted root");
    /* only the intermediate: no root */
    o.n_certs = 1;
    CHECK(run(&o, p, n, SB_E_CHAIN, &err) == NULL);
    /* before the AK certificate's notBefore */
    o.n_certs = 2;
    o.at = 1600000000;
    CHECK(run(&o, p, n, SB_E_CHAIN, &err) == NULL);
out:
    for (int i = 0; i < 2; i++)
        free(cs.data[i]);
    free(p);
    free(p2);
}

/* Verifies a private copy of p (freed at once, so a cache that kept pointers into the
 * evidence shows up under ASan) with ctx; the claims as JSON text, or NULL. */
static char *warm_run(sb_tpm_ctx *ctx, const struct sb_verify_opts *o, const uint8_t *p, size_t n,
                      int want, sb_error *err) {
    uint8_t *copy = malloc(n);
    memcpy(copy, p, n);
    struct sb_blob b = {.name = "t", .data = copy, .len = n};
    json_t *claims = NULL;
    int rc = sb_tpm_verify(ctx, o, &b, 1, &claims, err);
    free(copy);
    CHECK_MSG(rc == want, "warm verify: %d (%s), expected %d", rc, err->msg, want);
    char *text = claims ? json_dumps(claims, JSON_SORT_KEYS) : NULL;
    json_decref(claims);
    return text;
}

/* The warm context (AK, event log, AK chain cached) gives what a cold verification gives, hit
 * after hit, and never reuses a chain outside its window or a log for other bytes. */
TEST(warm_context_same_verdicts) {
    if (!sb_test_evidence_dir()) return;
    struct certs cs = {0};
    size_t n1, n2, n4;
    uint8_t *p1 = sb_test_read_evidence(P1, &n1), *p2 = sb_test_read_evidence(P2N, &n2);
    uint8_t *p4 = sb_test_read_evidence(P4, &n4);
    sb_tpm_ctx *ctx = NULL;
    sb_error err = {0};
    if (!p1 || !p2 || !p4 ||
        !load_certs(&cs, GCE "tpm_ek_intermediate_2.crt", GCE "tpm_ek_root_1.cer"))
        goto out;
    CHECK_OK(sb_tpm_ctx_new(&ctx, &err), &err);
    static const uint8_t nonce[] = {0x90, 0x09};
    struct sb_verify_opts o2 = {
        .at = AT_2022, .certs = cs.blob, .n_certs = 2, .nonce = nonce, .nonce_len = 2};
    struct sb_verify_opts o1 = {.at = AT_2022};
    char *cold1 = warm_run(NULL, &o1, p1, n1, 0, &err);
    char *cold2 = warm_run(NULL, &o2, p2, n2, 0, &err);
    char *cold4 = warm_run(NULL, &o1, p4, n4, 0, &err);
    for (int round = 0; round < 3; round++) {
        char *w1 = warm_run(ctx, &o1, p1, n1, 0, &err);
        char *w2 = warm_run(ctx, &o2, p2, n2, 0, &err);
        char *w4 = warm_run(ctx, &o1, p4, n4, 0, &err);
        CHECK(cold1 && w1 && strcmp(cold1, w1) == 0);
        CHECK(cold2 && w2 && strcmp(cold2, w2) == 0);
        CHECK(cold4 && w4 && strcmp(cold4, w4) == 0);
        free(w1);
        free(w2);
        free(w4);
    }
    /* the cached chain is not used before the AK certificate's notBefore */
    o2.at = 1600000000;
    CHECK(warm_run(ctx, &o2, p2, n2, SB_E_CHAIN, &err) == NULL);
    o2.at = AT_2022;
    /* a wrong nonce still fails with everything cached */
    static const uint8_t wrong[] = {0x90, 0x08};
    o2.nonce = wrong;
    CHECK(warm_run(ctx, &o2, p2, n2, SB_E_SIGNATURE, &err) == NULL);
    CHECK_CONTAINS(err.msg, "nonce mismatch");
    o2.nonce = nonce;
    /* without the root the chain is not taken from the cache */
    o2.n_certs = 1;
    CHECK(warm_run(ctx, &o2, p2, n2, SB_E_CHAIN, &err) == NULL);
    CHECK_CONTAINS(err.msg, "no trusted root");
    o2.n_certs = 2;
    /* P4 with a foreign event log after P4 and the log's own container were cached */
    char *w = warm_run(ctx, &o2, p2, n2, 0, &err);
    free(w);
    struct sb_tpm_evidence ev2;
    CHECK_OK(sb_tpm_gotpm_parse(p2, n2, &ev2, &err), &err);
    if (err.code == 0) {
        struct sb_blob two[2] = {{.name = "p4", .data = p4, .len = n4},
                                 {.name = "log", .data = ev2.event_log, .len = ev2.event_log_len}};
        json_t *c = NULL;
        CHECK_INT(sb_tpm_verify(ctx, &o1, two, 2, &c, &err), SB_E_SIGNATURE);
        CHECK_CONTAINS(err.msg, "does not replay");
        json_decref(c);
        sb_tpm_evidence_free(&ev2);
    }
    free(cold1);
    free(cold2);
    free(cold4);
out:
    sb_tpm_ctx_free(ctx);
    for (int i = 0; i < 2; i++)
        free(cs.data[i]);
    free(p1);
    free(p2);
    free(p4);
}

TEST(gce_ak_certificate_wrong_ca) {
    if (!sb_test_evidence_dir()) return;
    struct certs cs = {0};
    size_t n;
    uint8_t *p = sb_test_read_evidence(P2, &n);
    if (!p || !load_certs(&cs, GCE "gcp_ek_ak_ca_intermediate_v3.crt", GCE "gcp_ek_ak_ca_root.crt"))
        goto out;
    sb_error err = {0};
    struct sb_verify_opts o = {.at = AT_2022, .certs = cs.blob, .n_certs = 2};
    CHECK(run(&o, p, n, SB_E_CHAIN, &err) == NULL);
    CHECK_CONTAINS(err.msg, "AK certificate");
out:
    for (int i = 0; i < 2; i++)
        free(cs.data[i]);
    free(p);
}

/* ---- tampering with a parsed container -------------------------------------------------- */

static int verify_parsed(struct sb_tpm_evidence *ev, sb_error *err) {
    struct sb_verify_opts o = {.at = AT_2022};
    json_t *c = sb_claims_new("tpm", ev->format, o.at);
    int rc = sb_tpm_verify_parsed(&o, ev, NULL, c, err);
    json_decref(c);
    return rc;
}

TEST(every_quote_byte_flip_fails) {
    if (!sb_test_evidence_dir()) return;
    size_t n;
    uint8_t *p = sb_test_read_evidence(P1, &n);
    if (!p) return;
    sb_error err = {0};
    struct sb_tpm_evidence ev;
    CHECK_OK(sb_tpm_json_parse(p, n, &ev, &err), &err);
    if (err.code) goto out;
    CHECK_OK(verify_parsed(&ev, &err), &err);
    const uint8_t *orig = ev.quotes[0].attest;
    size_t len = ev.quotes[0].attest_len;
    uint8_t *copy = malloc(len);
    size_t sig_fail = 0;
    for (size_t i = 0; i < len; i++) {
        memcpy(copy, orig, len);
        copy[i] ^= 0x01;
        ev.quotes[0].attest = copy;
        int rc = verify_parsed(&ev, &err);
        CHECK_MSG(rc < 0, "flipping quote byte %zu still verifies", i);
        if (rc == SB_E_SIGNATURE) sig_fail++;
    }
    CHECK(sig_fail > len / 2);
    ev.quotes[0].attest = orig;
    /* the signature */
    const uint8_t *osig = ev.quotes[0].sig;
    size_t slen = ev.quotes[0].sig_len;
    uint8_t *scopy = malloc(slen);
    for (size_t i = 6; i < slen; i += 17) {
        memcpy(scopy, osig, slen);
        scopy[i] ^= 0x80;
        ev.quotes[0].sig = scopy;
        CHECK_INT(verify_parsed(&ev, &err), SB_E_SIGNATURE);
    }
    ev.quotes[0].sig = osig;
    free(scopy);
    free(copy);
out:
    sb_tpm_evidence_free(&ev);
    free(p);
}

TEST(changed_pcr_value_is_digest_mismatch) {
    if (!sb_test_evidence_dir()) return;
    size_t n;
    uint8_t *p = sb_test_read_evidence(P4, &n);
    if (!p) return;
    sb_error err = {0};
    struct sb_tpm_evidence ev;
    CHECK_OK(sb_tpm_json_parse(p, n, &ev, &err), &err);
    if (err.code) goto out;
    for (unsigned pcr = 0; pcr < 24; pcr++) {
        uint8_t v[32];
        const uint8_t *orig = ev.quotes[0].pcrs.value[pcr];
        memcpy(v, orig, 32);
        v[31] ^= 1;
        ev.quotes[0].pcrs.value[pcr] = v;
        CHECK_INT(verify_parsed(&ev, &err), SB_E_SIGNATURE);
        CHECK_CONTAINS(err.msg, "pcrDigest mismatch");
        ev.quotes[0].pcrs.value[pcr] = orig;
    }
    /* a missing PCR value */
    ev.quotes[0].pcrs.present &= ~(1u << 9);
    CHECK_INT(verify_parsed(&ev, &err), SB_E_MALFORMED);
    CHECK_CONTAINS(err.msg, "PCR 9");
out:
    sb_tpm_evidence_free(&ev);
    free(p);
}

TEST(event_log_that_does_not_replay) {
    if (!sb_test_evidence_dir()) return;
    size_t n;
    uint8_t *p = sb_test_read_evidence(P1, &n);
    if (!p) return;
    sb_error err = {0};
    struct sb_tpm_evidence ev;
    CHECK_OK(sb_tpm_json_parse(p, n, &ev, &err), &err);
    if (err.code) goto out;
    struct sb_eventlog log;
    CHECK_OK(sb_eventlog_parse(ev.event_log, ev.event_log_len, 0, &log, &err), &err);
    if (err.code) goto out;
    uint8_t *copy = malloc(ev.event_log_len);
    memcpy(copy, ev.event_log, ev.event_log_len);
    const uint8_t *orig = ev.event_log;
    /* flip one digest byte of the first extended event of PCR 7 */
    size_t at = SIZE_MAX;
    for (size_t i = 1; i < log.n_events && at == SIZE_MAX; i++)
        if (log.events[i].index == 7 && log.events[i].type != SB_EV_NO_ACTION)
            at = (size_t)(log.events[i].digests[0].p - orig);
    sb_eventlog_free(&log);
    CHECK(at != SIZE_MAX);
    if (at != SIZE_MAX) {
        copy[at] ^= 0x40;
        ev.event_log = copy;
        CHECK_INT(verify_parsed(&ev, &err), SB_E_SIGNATURE);
        CHECK_CONTAINS(err.msg, "does not replay");
        CHECK_CONTAINS(err.msg, "PCR 7");
        /* a truncated log is a format error */
        ev.event_log = orig;
        ev.event_log_len -= 3;
        CHECK_INT(verify_parsed(&ev, &err), SB_E_TRUNCATED);
        ev.event_log_len += 3;
    }
    free(copy);
out:
    sb_tpm_evidence_free(&ev);
    free(p);
}

/* ---- truncation everywhere ------------------------------------------------------------- */

TEST(truncated_structures) {
    if (!sb_test_evidence_dir()) return;
    size_t n;
    uint8_t *p = sb_test_read_evidence(P2N, &n);
    if (!p) return;
    sb_error err = {0};
    struct sb_tpm_evidence ev;
    CHECK_OK(sb_tpm_gotpm_parse(p, n, &ev, &err), &err);
    if (err.code) goto out;
    struct sb_tpm_attest a;
    struct sb_tpm_signature s;
    struct sb_tpm_public k;
    for (size_t cut = 0; cut < ev.quotes[0].attest_len; cut++) {
        uint8_t *q = malloc(cut + 1);
        memcpy(q, ev.quotes[0].attest, cut);
        CHECK_MSG(sb_tpm_attest_parse(q, cut, &a, &err) == SB_E_TRUNCATED, "attest cut %zu: %s",
                  cut, err.msg);
        free(q);
    }
    for (size_t cut = 0; cut < ev.quotes[0].sig_len; cut++)
        CHECK_INT(sb_tpm_signature_parse(ev.quotes[0].sig, cut, &s, &err), SB_E_TRUNCATED);
    for (size_t cut = 0; cut < ev.ak_len; cut++)
        CHECK_INT(sb_tpm_public_parse(ev.ak, cut, &k, &err), SB_E_TRUNCATED);
    /* one byte too many is named */
    uint8_t *longer = malloc(ev.quotes[0].attest_len + 1);
    memcpy(longer, ev.quotes[0].attest, ev.quotes[0].attest_len);
    longer[ev.quotes[0].attest_len] = 0;
    CHECK_INT(sb_tpm_attest_parse(longer, ev.quotes[0].attest_len + 1, &a, &err), SB_E_MALFORMED);
    CHECK_CONTAINS(err.msg, "trailing");
    free(longer);
    /* the protobuf container: every cut fails, never crashes or passes */
    size_t truncated = 0;
    for (size_t cut = 0; cut < n; cut += 7) {
        struct sb_tpm_evidence t;
        int rc = sb_tpm_gotpm_parse(p, cut, &t, &err);
        if (rc == 0) {
            /* a cut at a field boundary may still parse; the quotes then cannot all verify */
            sb_tpm_evidence_free(&t);
            continue;
        }
        if (rc == SB_E_TRUNCATED) truncated++;
    }
    CHECK(truncated > n / 7 / 2);
    sb_tpm_evidence_free(&ev);
out:
    free(p);
}

TEST(parser_bounds) {
    sb_error err = {0};
    struct sb_tpm_attest a;
    /* wrong magic, wrong type, oversized TPM2B, too many banks, safe = 2 */
    uint8_t q[64] = {0xff, 0x54, 0x43, 0x48};
    CHECK_INT(sb_tpm_attest_parse(q, sizeof(q), &a, &err), SB_E_MALFORMED);
    CHECK_CONTAINS(err.msg, "TPM_GENERATED_VALUE");
    q[3] = 0x47;
    q[4] = 0x80;
    q[5] = 0x17;
    CHECK_INT(sb_tpm_attest_parse(q, sizeof(q), &a, &err), SB_E_UNSUPPORTED);
    q[5] = 0x18;
    q[6] = 0x00;
    q[7] = 69; /* qualifiedSigner size 69 > 68 */
    CHECK_INT(sb_tpm_attest_parse(q, sizeof(q), &a, &err), SB_E_LIMIT);
    CHECK_CONTAINS(err.msg, "qualifiedSigner");
    sb_writer w;
    sb_writer_init(&w, 1024);
    sb_writer_u32be(&w, SB_TPM_GENERATED_VALUE);
    sb_writer_u16be(&w, SB_TPM_ST_ATTEST_QUOTE);
    sb_writer_u16be(&w, 0);
    sb_writer_u16be(&w, 0);
    sb_writer_u64be(&w, 1);
    sb_writer_u32be(&w, 0);
    sb_writer_u32be(&w, 0);
    sb_writer_u8(&w, 2); /* safe */
    sb_writer_u64be(&w, 0);
    sb_writer_u32be(&w, 17); /* selection count */
    size_t len;
    uint8_t *b = sb_writer_steal(&w, &len);
    CHECK_INT(sb_tpm_attest_parse(b, len, &a, &err), SB_E_MALFORMED);
    CHECK_CONTAINS(err.msg, "safe");
    b[len - 4 - 8 - 1] = 1;
    CHECK_INT(sb_tpm_attest_parse(b, len, &a, &err), SB_E_LIMIT);
    CHECK_CONTAINS(err.msg, "pcrSelect.count");
    free(b);
    /* signature: unknown scheme, oversize RSA, empty ECDSA r */
    struct sb_tpm_signature s;
    const uint8_t hmac[] = {0x00, 0x05, 0x00, 0x0b, 0x00, 0x00};
    CHECK_INT(sb_tpm_signature_parse(hmac, sizeof(hmac), &s, &err), SB_E_UNSUPPORTED);
    const uint8_t big[] = {0x00, 0x14, 0x00, 0x0b, 0x02, 0x01};
    CHECK_INT(sb_tpm_signature_parse(big, sizeof(big), &s, &err), SB_E_LIMIT);
    const uint8_t badhash[] = {0x00, 0x14, 0x00, 0x99, 0x00, 0x01, 0xaa};
    CHECK_INT(sb_tpm_signature_parse(badhash, sizeof(badhash), &s, &err), SB_E_MALFORMED);
    const uint8_t empty_r[] = {0x00, 0x18, 0x00, 0x0b, 0x00, 0x00, 0x00, 0x01, 0x01};
    CHECK_INT(sb_tpm_signature_parse(empty_r, sizeof(empty_r), &s, &err), SB_E_MALFORMED);
}

/* ---- a crafted ECDSA P-256 AK: build TPMT_PUBLIC, TPMS_ATTEST, TPMT_SIGNATURE here ---------- */

static uint8_t *build_public(const sb_pubkey *pk, uint32_t attrs, size_t *len) {
    uint8_t *spki = NULL;
    size_t spki_len = 0;
    sb_error err = {0};
    if (sb_pubkey_to_spki_der(pk, &spki, &spki_len, &err) < 0) return NULL;
    /* P-256 SPKI ends with 04 || x || y */
    const uint8_t *xy = spki + spki_len - 64;
    sb_writer w;
    sb_writer_init(&w, 1024);
    sb_writer_u16be(&w, SB_TPM_ALG_ECC);
    sb_writer_u16be(&w, SB_TPM_ALG_SHA256);
    sb_writer_u32be(&w, attrs);
    sb_writer_u16be(&w, 0);
    sb_writer_u16be(&w, SB_TPM_ALG_NULL);
    sb_writer_u16be(&w, SB_TPM_ALG_ECDSA);
    sb_writer_u16be(&w, SB_TPM_ALG_SHA256);
    sb_writer_u16be(&w, SB_TPM_ECC_NIST_P256);
    sb_writer_u16be(&w, SB_TPM_ALG_NULL);
    sb_writer_u16be(&w, 32);
    sb_writer_bytes(&w, xy, 32);
    sb_writer_u16be(&w, 32);
    sb_writer_bytes(&w, xy + 32, 32);
    free(spki);
    return sb_writer_steal(&w, len);
}

static uint8_t *build_attest(const uint8_t *pcrs, size_t *len) {
    uint8_t d[32];
    sb_error err = {0};
    if (sb_hash(SB_HASH_SHA256, pcrs, 3 * 32, d, &err) < 0) return NULL;
    sb_writer w;
    sb_writer_init(&w, 1024);
    sb_writer_u32be(&w, SB_TPM_GENERATED_VALUE);
    sb_writer_u16be(&w, SB_TPM_ST_ATTEST_QUOTE);
    sb_writer_u16be(&w, 4);
    sb_writer_bytes(&w, "\x00\x0b\x12\x34", 4);
    sb_writer_u16be(&w, 5);
    sb_writer_bytes(&w, "hello", 5);
    sb_writer_u64be(&w, 5000);
    sb_writer_u32be(&w, 2);
    sb_writer_u32be(&w, 1);
    sb_writer_u8(&w, 1);
    sb_writer_u64be(&w, 0x0001000200030004ull);
    sb_writer_u32be(&w, 1);
    sb_writer_u16be(&w, SB_TPM_ALG_SHA256);
    sb_writer_u8(&w, 3);
    sb_writer_bytes(&w, "\x01\x00\x81", 3); /* PCR 0, 16, 23 */
    sb_writer_u16be(&w, 32);
    sb_writer_bytes(&w, d, 32);
    return sb_writer_steal(&w, len);
}

TEST(crafted_ecdsa_quote) {
    sb_error err = {0};
    sb_privkey *key = NULL;
    sb_pubkey *pk = NULL;
    CHECK_OK(sb_privkey_generate_ec(SB_CURVE_P256, &key, &err), &err);
    CHECK_OK(sb_privkey_public(key, &pk, &err), &err);
    if (err.code) return;
    uint8_t pcrs[3 * 32];
    for (size_t i = 0; i < sizeof(pcrs); i++)
        pcrs[i] = (uint8_t)(i * 7);
    size_t pub_len, att_len, raw_len;
    uint8_t *pub =
        build_public(pk, SB_TPMA_SIGN | SB_TPMA_RESTRICTED | SB_TPMA_FIXED_TPM, &pub_len);
    uint8_t *att = build_attest(pcrs, &att_len);
    uint8_t *raw = NULL;
    CHECK_OK(sb_sign(key, SB_HASH_SHA256, att, att_len, SB_ECDSA_RAW_BE, &raw, &raw_len, &err),
             &err);
    /* TPMT_SIGNATURE: ECDSA, SHA-256, r and s as TPM2B (r with a leading zero: allowed) */
    sb_writer w;
    sb_writer_init(&w, 512);
    sb_writer_u16be(&w, SB_TPM_ALG_ECDSA);
    sb_writer_u16be(&w, SB_TPM_ALG_SHA256);
    sb_writer_u16be(&w, 33);
    sb_writer_u8(&w, 0);
    sb_writer_bytes(&w, raw, 32);
    sb_writer_u16be(&w, 32);
    sb_writer_bytes(&w, raw + 32, 32);
    size_t sig_len;
    uint8_t *sig = sb_writer_steal(&w, &sig_len);

    struct sb_tpm_evidence ev = {.format = "crafted",
                                 .ak_kind = SB_TPM_AK_TPMT_PUBLIC,
                                 .ak = pub,
                                 .ak_len = pub_len,
                                 .n_quotes = 1};
    ev.quotes[0] = (struct sb_tpm_quote_ev){
        .attest = att, .attest_len = att_len, .sig = sig, .sig_len = sig_len};
    ev.quotes[0].pcrs.alg = SB_TPM_ALG_SHA256;
    const unsigned idx[3] = {0, 16, 23};
    for (int i = 0; i < 3; i++) {
        ev.quotes[0].pcrs.present |= 1u << idx[i];
        ev.quotes[0].pcrs.value[idx[i]] = pcrs + 32 * i;
        ev.quotes[0].pcrs.len[idx[i]] = 32;
    }
    struct sb_verify_opts o = {.at = 1, .nonce = (const uint8_t *)"hello", .nonce_len = 5};
    json_t *c = sb_claims_new("tpm", "crafted", 1);
    CHECK_OK(sb_tpm_verify_parsed(&o, &ev, NULL, c, &err), &err);
    CHECK_STR(claim_str(c, NULL, "report_data"), "68656c6c6f");
    CHECK_STR(claim_str(c, "platform_claims", "ak_type"), "ecc-256");
    CHECK_STR(claim_str(c, "platform_claims", "firmware_version"), "0001000200030004");
    CHECK_INT(json_object_size(json_object_get(c, "measurements")), 3);
    CHECK(claim_str(c, "measurements", "sha256:16") != NULL);
    json_decref(c);

    /* the same quote under an AK that is not a restricted signing key is refused */
    uint8_t *pub2 = build_public(pk, SB_TPMA_SIGN | SB_TPMA_FIXED_TPM, &pub_len);
    ev.ak = pub2;
    c = sb_claims_new("tpm", "crafted", 1);
    CHECK_INT(sb_tpm_verify_parsed(&o, &ev, NULL, c, &err), SB_E_SIGNATURE);
    CHECK_CONTAINS(err.msg, "not a restricted signing key");
    json_decref(c);
    ev.ak = pub;
    /* an RSASSA-labelled signature with the EC AK */
    sig[1] = 0x14;
    c = sb_claims_new("tpm", "crafted", 1);
    CHECK(sb_tpm_verify_parsed(&o, &ev, NULL, c, &err) < 0);
    json_decref(c);
    sig[1] = 0x18;
    /* s flipped */
    sig[sig_len - 1] ^= 1;
    c = sb_claims_new("tpm", "crafted", 1);
    CHECK_INT(sb_tpm_verify_parsed(&o, &ev, NULL, c, &err), SB_E_SIGNATURE);
    json_decref(c);

    free(pub);
    free(pub2);
    free(att);
    free(raw);
    free(sig);
    sb_pubkey_free(pk);
    sb_privkey_free(key);
}

TEST(sniff_and_usage) {
    if (!sb_test_evidence_dir()) return;
    const char *yes[] = {P1, P2, P2N, P4};
    for (size_t i = 0; i < SB_ARRAY_LEN(yes); i++) {
        size_t n;
        uint8_t *p = sb_test_read_evidence(yes[i], &n);
        if (!p) continue;
        struct sb_blob b = {.name = yes[i], .data = p, .len = n};
        CHECK_MSG(sb_verifier_tpm.sniff(&b, 1) > 0, "%s not sniffed", yes[i]);
        free(p);
    }
    const uint8_t junk[] = "{\"a\": 1}";
    struct sb_blob j = {.name = "j", .data = junk, .len = sizeof(junk) - 1};
    CHECK_INT(sb_verifier_tpm.sniff(&j, 1), 0);
    /* an Azure quote alone has no AK */
    size_t n;
    uint8_t *p = sb_test_read_evidence("azure-vtpm/trustee-az-snp-vtpm/tpm-quote-v1.json", &n);
    if (!p) return;
    struct sb_blob b = {.name = "q", .data = p, .len = n};
    CHECK_INT(sb_verifier_tpm.sniff(&b, 1), 0);
    sb_error err = {0};
    struct sb_verify_opts o = {.at = AT_2022};
    CHECK(run(&o, p, n, SB_E_USAGE, &err) == NULL);
    CHECK_CONTAINS(err.msg, "no attestation key");
    free(p);
}
