/* bench_tpm_attester: the TPM attester against a real swtpm started for the run — quotes per
 * second (AK re-creation, PCR reads, TPM2_Quote) and the verifier's cost for that evidence
 * (parse, signature, pcrDigest, claims, enrollment lookup) — each printed as a ratio to the
 * crypto floor measured in the same run: one OpenSSL ECDSA P-256/SHA-256 verification of the
 * quote's TPMS_ATTEST (what a quote verification cannot avoid). */
#include <ftw.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../tests/swtpm_fixture.h"
#include "bench_util.h"
#include "attester/attester.h"
#include "crypto/crypto.h"
#include "verify/verify.h"

#define MIN_NS 300000000ull /* each measurement runs for at least 0.3 s */
#define ROUNDS 5            /* alternating rounds; the median is reported */

static int rm_entry(const char *p, const struct stat *st, int flag, struct FTW *f) {
    (void)st;
    (void)flag;
    (void)f;
    return remove(p);
}

typedef int (*job_fn)(void *arg);

/* Runs fn for at least MIN_NS; ns per call. */
static double per_call_ns(job_fn fn, void *arg) {
    uint64_t t0 = sb_mono_ns(), n = 0;
    while (sb_mono_ns() - t0 < MIN_NS) {
        if (fn(arg) < 0) return -1;
        n++;
    }
    return (double)(sb_mono_ns() - t0) / (double)n;
}

struct floor_job {
    sb_pubkey *pk;
    uint8_t msg[160];
    uint8_t sig[64];
};
static int floor_once(void *arg) {
    struct floor_job *j = arg;
    return sb_ecdsa_verify(j->pk, SB_HASH_SHA256, j->msg, sizeof(j->msg), j->sig, 64,
                           SB_ECDSA_RAW_BE, NULL);
}

struct quote_job {
    sb_tpm *t;
    uint8_t qd[48];
};
static int quote_once(void *arg) {
    struct quote_job *j = arg;
    json_t *ev = NULL;
    sb_error err = {0};
    int rc = sb_tpm_quote(j->t, j->qd, sizeof(j->qd), &ev, &err);
    if (rc < 0) fprintf(stderr, "bench_tpm_attester: quote: %s\n", err.msg);
    json_decref(ev);
    return rc;
}

struct verify_job {
    struct sb_blob blob;
    const char *enrolled;
    const uint8_t *qd;
};
static int verify_once(void *arg) {
    struct verify_job *j = arg;
    struct sb_verify_opts o = {.at = sb_time_now(), .nonce = j->qd, .nonce_len = 48};
    json_t *claims = NULL;
    sb_error err = {0};
    int rc = sb_verify(&o, "tpm", &j->blob, 1, NULL, &claims, &err);
    if (rc == 0) rc = sb_tpm_claims_apply_enrollment(j->enrolled, claims, &err);
    if (rc == 0 &&
        !json_is_true(json_object_get(json_object_get(claims, "platform_claims"), "ak_enrolled")))
        rc = sb_error_set(&err, SB_E_INTERNAL, "the AK is not enrolled");
    if (rc < 0) fprintf(stderr, "bench_tpm_attester: verify: %s\n", err.msg);
    json_decref(claims);
    return rc;
}

int main(void) {
    char base[] = "/tmp/sb-bench-tpm.XXXXXX";
    if (!mkdtemp(base)) return 1;
    struct swtpm s;
    int code = 0;
    if (!swtpm_start(&s, base)) {
        printf("bench_tpm_attester: skipped: %s\n", s.why);
        (void)nftw(base, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
        return 0;
    }
    sb_error err = {0};
    struct sb_tpm_config cfg = {.tcti = s.tcti, .bank = SB_TPM_ALG_SHA256, .pcrs = 0x10081};
    sb_tpm *t = NULL;
    struct floor_job fj = {0};
    sb_privkey *k = NULL;
    json_t *req = NULL, *ev = NULL;
    char *text = NULL;
    struct sb_tpm_ek_trust tr = {0};
    struct sb_tpm_enrollment e = {0};
    uint8_t *pem = NULL, cred[SB_TPM_MAX_CREDENTIAL];
    size_t pemn = 0, credn = 0;
    char enrolled[600];
    (void)snprintf(enrolled, sizeof(enrolled), "%s/tpm-enrolled", base);
    struct quote_job qj = {0};
    memset(qj.qd, 0x5a, sizeof(qj.qd));
    if (sb_tpm_open(&cfg, &t, &err) < 0 || sb_read_file(s.ca_bundle, 1 << 20, &pem, &pemn, &err) ||
        sb_tpm_ek_trust_load(pem, pemn, sb_time_now(), &tr, &err) < 0 ||
        sb_tpm_enroll_request(t, &req, &err) < 0 || sb_tpm_enroll_begin(&tr, req, &e, &err) < 0 ||
        sb_tpm_enroll_activate(t, e.challenge, cred, &credn, &err) < 0 ||
        sb_tpm_enroll_finish(enrolled, &e, cred, credn, sb_time_now(), &err) < 0 ||
        sb_tpm_quote(t, qj.qd, sizeof(qj.qd), &ev, &err) < 0 ||
        sb_privkey_generate_ec(SB_CURVE_P256, &k, &err) < 0 ||
        sb_privkey_public(k, &fj.pk, &err) < 0) {
        fprintf(stderr, "bench_tpm_attester: setup: %s\n", err.msg);
        code = 1;
        goto out;
    }
    uint8_t *sig = NULL;
    size_t sign = 0;
    memset(fj.msg, 0xa5, sizeof(fj.msg));
    if (sb_sign(k, SB_HASH_SHA256, fj.msg, sizeof(fj.msg), SB_ECDSA_RAW_BE, &sig, &sign, &err) <
            0 ||
        sign != 64) {
        fprintf(stderr, "bench_tpm_attester: sign: %s\n", err.msg);
        free(sig);
        code = 1;
        goto out;
    }
    memcpy(fj.sig, sig, 64);
    free(sig);
    text = json_dumps(ev, JSON_COMPACT);
    qj.t = t;
    struct verify_job vj = {.blob = {.name = "quote.json",
                                     .data = (const uint8_t *)text,
                                     .len = text ? strlen(text) : 0},
                            .enrolled = enrolled,
                            .qd = qj.qd};
    double fl[ROUNDS], qu[ROUNDS], ve[ROUNDS], rq[ROUNDS], rv[ROUNDS];
    for (int r = 0; r < ROUNDS; r++) {
        fl[r] = per_call_ns(floor_once, &fj);
        qu[r] = per_call_ns(quote_once, &qj);
        ve[r] = per_call_ns(verify_once, &vj);
        if (fl[r] < 0 || qu[r] < 0 || ve[r] < 0) {
            code = 1;
            goto out;
        }
        rq[r] = qu[r] / fl[r];
        rv[r] = fl[r] / ve[r];
    }
    printf("crypto floor (ECDSA P-256 verify of a quote): %.0f/s\n",
           1e9 / bench_median(fl, ROUNDS));
    printf("swtpm quotes (AK re-created, PCRs read, TPM2_Quote): %.0f/s = %.0f crypto floors "
           "per quote (median of %d)\n",
           1e9 / bench_median(qu, ROUNDS), bench_median(rq, ROUNDS), ROUNDS);
    printf("verification (parse, signature, pcrDigest, claims, enrollment lookup): %.0f/s, "
           "ratio to the crypto floor %.2f (median of %d; 1.0 = nothing but the signature)\n",
           1e9 / bench_median(ve, ROUNDS), bench_median(rv, ROUNDS), ROUNDS);
out:
    free(text);
    json_decref(ev);
    json_decref(req);
    sb_tpm_enrollment_clear(&e);
    sb_tpm_ek_trust_clear(&tr);
    free(pem);
    sb_pubkey_free(fj.pk);
    sb_privkey_free(k);
    sb_tpm_close(t);
    swtpm_fixture_kill();
    (void)nftw(base, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    return code;
}
