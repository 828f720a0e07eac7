/* test_verify_ctx: the long-lived verification context (sb_verify_with) never changes a
 * verdict — warm and cold give identical claims, a chain cached at one time is not reused
 * outside its validity window, a different certificate (same subject, other bytes) is not a
 * cache hit, and tampered evidence still fails with a warm cache. */
#include "harness.h"
#include "verify/verify.h"

#define SNP_REPORT "snp/trustee/test-report.bin"
#define SNP_VCEK "snp/trustee/test-vcek.der"
#define SNP_VCEK_BAD "snp/trustee/test-vcek-invalid-new.der"
#define NITRO_DOC "nitro/blocky-nitrite/nitro_attestation.b64"
#define NV_REPORT "nvidia/nvtrust/hopperAttestationReport.txt"
#define NV_CHAIN "nvidia/nvtrust/hopperCertChain.txt"

static void vctx_freep(sb_verify_ctx **c) { sb_verify_ctx_free(*c); }

static int64_t at_of(const char *s) {
    int64_t t = 0;
    sb_error err = {0};
    CHECK_OK(sb_time_parse(s, &t, &err), &err);
    return t;
}

/* One sample: evidence files, --certs files and a time at which it verifies. */
struct sample {
    const char *ev[2], *certs[1];
    size_t n_ev, n_certs;
    const char *at;
    struct sb_blob ev_b[2], cert_b[1];
    bool loaded;
};

static bool load(struct sample *s) {
    if (!sb_test_evidence_dir()) return false;
    for (size_t i = 0; i < s->n_ev; i++) {
        s->ev_b[i].name = s->ev[i];
        s->ev_b[i].data = sb_test_read_evidence(s->ev[i], &s->ev_b[i].len);
        if (!s->ev_b[i].data) return false;
    }
    for (size_t i = 0; i < s->n_certs; i++) {
        s->cert_b[i].name = s->certs[i];
        s->cert_b[i].data = sb_test_read_evidence(s->certs[i], &s->cert_b[i].len);
        if (!s->cert_b[i].data) return false;
    }
    s->loaded = true;
    return true;
}

static void unload(struct sample *s) {
    for (size_t i = 0; i < s->n_ev; i++)
        free((void *)(uintptr_t)s->ev_b[i].data);
    for (size_t i = 0; i < s->n_certs; i++)
        free((void *)(uintptr_t)s->cert_b[i].data);
}

static int run(sb_verify_ctx *c, struct sample *s, int64_t at, json_t **claims, sb_error *err) {
    struct sb_verify_opts o = {.at = at, .certs = s->cert_b, .n_certs = s->n_certs};
    return sb_verify_with(c, &o, NULL, s->ev_b, s->n_ev, NULL, claims, err);
}

static struct sample SAMPLES[] = {
    {.ev = {SNP_REPORT},
     .n_ev = 1,
     .certs = {SNP_VCEK},
     .n_certs = 1,
     .at = "2025-06-01T00:00:00Z"},
    {.ev = {NITRO_DOC}, .n_ev = 1, .at = "2024-09-07T14:37:39Z"},
    {.ev = {NV_REPORT, NV_CHAIN}, .n_ev = 2, .at = "2025-11-24T00:00:00Z"},
};

TEST(verify_ctx_warm_equals_cold) {
    for (size_t k = 0; k < SB_ARRAY_LEN(SAMPLES); k++) {
        struct sample s = SAMPLES[k];
        if (!load(&s)) {
            unload(&s);
            sb_test_skip(true, "evidence corpus absent");
            return;
        }
        int64_t at = at_of(s.at);
        sb_error err = {0};
        json_t *cold = NULL, *warm1 = NULL, *warm2 = NULL;
        _cleanup_(vctx_freep) sb_verify_ctx *c = NULL;
        CHECK_OK(sb_verify_ctx_new(&c, &err), &err);
        CHECK_OK(run(NULL, &s, at, &cold, &err), &err);
        CHECK_OK(run(c, &s, at, &warm1, &err), &err); /* fills the caches */
        CHECK_OK(run(c, &s, at, &warm2, &err), &err); /* uses them */
        CHECK_MSG(cold && warm1 && json_equal(cold, warm1), "%s: first warm claims differ",
                  s.ev[0]);
        CHECK_MSG(cold && warm2 && json_equal(cold, warm2), "%s: cached claims differ", s.ev[0]);
        json_decref(cold);
        json_decref(warm1);
        json_decref(warm2);
        unload(&s);
    }
}

/* A chain cached at a good time is not reused before or after its certificates' windows. */
TEST(verify_ctx_time_window) {
    /* 2020-01-01 (before every window) and the year 10000 (after every window) */
    static const int64_t bad_at[] = {1577836800ll, 253402300800ll};
    for (size_t k = 0; k < SB_ARRAY_LEN(SAMPLES); k++) {
        struct sample s = SAMPLES[k];
        if (!load(&s)) {
            unload(&s);
            sb_test_skip(true, "evidence corpus absent");
            return;
        }
        sb_error err = {0};
        _cleanup_(vctx_freep) sb_verify_ctx *c = NULL;
        CHECK_OK(sb_verify_ctx_new(&c, &err), &err);
        json_t *claims = NULL;
        CHECK_OK(run(c, &s, at_of(s.at), &claims, &err), &err);
        json_decref(claims);
        for (size_t t = 0; t < SB_ARRAY_LEN(bad_at); t++) {
            claims = NULL;
            sb_error e2 = {0}, e3 = {0};
            int warm = run(c, &s, bad_at[t], &claims, &e2);
            CHECK_MSG(warm < 0, "%s at %lld: verified with a warm cache", s.ev[0],
                      (long long)bad_at[t]);
            json_decref(claims);
            claims = NULL;
            int cold = run(NULL, &s, bad_at[t], &claims, &e3);
            json_decref(claims);
            CHECK_INT(warm, cold);
            CHECK_STR(e2.msg, e3.msg);
        }
        /* and the good time still verifies after the failures */
        claims = NULL;
        CHECK_OK(run(c, &s, at_of(s.at), &claims, &err), &err);
        json_decref(claims);
        unload(&s);
    }
}

/* A VCEK with the same subject and issuer but other bytes (its signature altered) is not the
 * cached one: the chain is checked again and fails; so does another VCEK of the corpus. */
TEST(verify_ctx_same_subject_other_cert) {
    struct sample s = SAMPLES[0];
    if (!load(&s)) {
        unload(&s);
        sb_test_skip(true, "evidence corpus absent");
        return;
    }
    int64_t at = at_of(s.at);
    sb_error err = {0};
    _cleanup_(vctx_freep) sb_verify_ctx *c = NULL;
    CHECK_OK(sb_verify_ctx_new(&c, &err), &err);
    json_t *claims = NULL;
    CHECK_OK(run(c, &s, at, &claims, &err), &err);
    json_decref(claims);

    uint8_t *forged = malloc(s.cert_b[0].len);
    if (!forged) {
        unload(&s);
        return;
    }
    memcpy(forged, s.cert_b[0].data, s.cert_b[0].len);
    forged[s.cert_b[0].len - 1] ^= 0x01; /* last byte of the signature value */
    const uint8_t *orig = s.cert_b[0].data;
    s.cert_b[0].data = forged;
    claims = NULL;
    err = (sb_error){0};
    int rc = run(c, &s, at, &claims, &err);
    CHECK_MSG(rc < 0, "a VCEK with an altered signature verified with a warm cache");
    json_decref(claims);
    s.cert_b[0].data = orig;
    free(forged);

    size_t n = 0;
    uint8_t *other = sb_test_read_evidence(SNP_VCEK_BAD, &n);
    if (other) {
        s.cert_b[0].data = other;
        s.cert_b[0].len = n;
        claims = NULL;
        rc = run(c, &s, at, &claims, &err);
        CHECK_MSG(rc < 0, "%s verified with a warm cache", SNP_VCEK_BAD);
        json_decref(claims);
        s.cert_b[0].data = orig;
        free(other);
    }
    unload(&s);
}

/* A tampered report fails with a warm cache, with the cold verdict. */
TEST(verify_ctx_tampered_report) {
    struct sample all[] = {SAMPLES[0], SAMPLES[2]};
    for (size_t k = 0; k < SB_ARRAY_LEN(all); k++) {
        struct sample s = all[k];
        if (!load(&s)) {
            unload(&s);
            sb_test_skip(true, "evidence corpus absent");
            return;
        }
        int64_t at = at_of(s.at);
        sb_error err = {0};
        _cleanup_(vctx_freep) sb_verify_ctx *c = NULL;
        CHECK_OK(sb_verify_ctx_new(&c, &err), &err);
        json_t *claims = NULL;
        CHECK_OK(run(c, &s, at, &claims, &err), &err);
        json_decref(claims);
        size_t len = s.ev_b[0].len;
        uint8_t *t = malloc(len);
        if (!t) {
            unload(&s);
            return;
        }
        memcpy(t, s.ev_b[0].data, len);
        if (k == 0) {
            t[0x90] ^= 0x01; /* SNP: a byte of MEASUREMENT */
        } else {
            size_t i = len / 2; /* NVIDIA hex report: a digit in the middle, still hex */
            while (i < len && !((t[i] >= '0' && t[i] <= '9') || (t[i] >= 'a' && t[i] <= 'f')))
                i++;
            CHECK(i < len);
            if (i < len) t[i] = t[i] == '0' ? '1' : '0';
        }
        const uint8_t *orig = s.ev_b[0].data;
        s.ev_b[0].data = t;
        sb_error e2 = {0}, e3 = {0};
        claims = NULL;
        int warm = run(c, &s, at, &claims, &e2);
        json_decref(claims);
        claims = NULL;
        int cold = run(NULL, &s, at, &claims, &e3);
        json_decref(claims);
        CHECK_MSG(warm < 0, "%s: tampered evidence verified with a warm cache", s.ev[0]);
        CHECK_INT(warm, cold);
        CHECK_STR(e2.msg, e3.msg);
        s.ev_b[0].data = orig;
        free(t);
        unload(&s);
    }
}
