/* bench_tpm: TPM quote verifications per second with a warm sb_tpm_ctx (AK, event log and AK
 * chain cached) next to the crypto floor measured in the same run — the container's own quote
 * signatures verified with raw OpenSSL calls (one per quote) — for each real container of the
 * corpus, as the median ratio of alternating rounds (goal >= 0.8); with the cold path and the
 * container parse alone, to show where the rest goes. */
#include <jansson.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "evidence/evidence.h"
#include "verify/verify.h"

#define MIN_NS 60000000ull
#define ROUNDS 9
#define AT 1640995200 /* 2022-01-01T00:00:00Z: the AK certificates' window (tpm.tsv) */

static const struct sample {
    const char *id, *file, *certs[2], *nonce;
} SAMPLES[] = {
    {"P1 go-attestation JSON (GCP Shielded VM)",
     "tpm/go-attestation/windows_gcp_shielded_vm.json",
     {NULL, NULL},
     NULL},
    {"P2 go-tpm-tools protobuf (GCE COS-85)",
     "tpm/go-tpm-tools/gce-cos-85-nonce9009.pb",
     {"tpm/go-tpm-tools/gce-ca-certs/tpm_ek_intermediate_2.crt",
      "tpm/go-tpm-tools/gce-ca-certs/tpm_ek_root_1.cer"},
     "9009"},
    {"P4 Trustee JSON (swtpm)", "tpm/trustee/tpm_evidence.json", {NULL, NULL}, NULL},
};

static const char *evidence_dir(void) {
    const char *env = getenv("SEALBOX_EVIDENCE_DIR");
    static const char *const guesses[] = {"../shared/evidence", "../../shared/evidence",
                                          "../../../shared/evidence"};
    struct stat st;
    if (env && stat(env, &st) == 0) return env;
    for (size_t i = 0; i < SB_ARRAY_LEN(guesses); i++)
        if (stat(guesses[i], &st) == 0) return guesses[i];
    return NULL;
}

static int parse_container(const struct sb_blob *b, struct sb_tpm_evidence *t, sb_error *err) {
    if (b->len && b->data[0] == '{') return sb_tpm_json_parse(b->data, b->len, t, err);
    return sb_tpm_gotpm_parse(b->data, b->len, t, err);
}

/* ---- the floor: each quote's own signature, raw OpenSSL ------------------------------- */

struct floor_sig {
    const EVP_MD *md;
    const uint8_t *msg, *sig;
    size_t msg_len, sig_len;
};
struct job {
    struct sb_blob ev, certs[2];
    size_t n_certs;
    struct sb_verify_opts o;
    uint8_t *nonce;
    sb_tpm_ctx *ctx;
    struct sb_tpm_json_memo memo;  /* parse_once's */
    struct sb_tpm_evidence parsed; /* for the floor: points into ev */
    EVP_PKEY *ak;
    struct floor_sig sig[SB_TPM_MAX_QUOTES];
    size_t n_sig;
};

static EVP_PKEY *rsa_key(const struct sb_tpm_public *pub) {
    uint32_t e = pub->exponent ? pub->exponent : 65537u;
    OSSL_PARAM_BLD *b = OSSL_PARAM_BLD_new();
    BIGNUM *n = BN_bin2bn(pub->unique, pub->unique_len, NULL), *bn_e = BN_new();
    EVP_PKEY *k = NULL;
    OSSL_PARAM *p = NULL;
    EVP_PKEY_CTX *c = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL);
    if (b && n && bn_e && c && BN_set_word(bn_e, e) &&
        OSSL_PARAM_BLD_push_BN(b, OSSL_PKEY_PARAM_RSA_N, n) &&
        OSSL_PARAM_BLD_push_BN(b, OSSL_PKEY_PARAM_RSA_E, bn_e) &&
        (p = OSSL_PARAM_BLD_to_param(b)) && EVP_PKEY_fromdata_init(c) == 1)
        (void)EVP_PKEY_fromdata(c, &k, EVP_PKEY_PUBLIC_KEY, p);
    OSSL_PARAM_free(p);
    OSSL_PARAM_BLD_free(b);
    BN_free(n);
    BN_free(bn_e);
    EVP_PKEY_CTX_free(c);
    return k;
}

static const EVP_MD *md_of(uint16_t alg) {
    switch (alg) {
    case SB_TPM_ALG_SHA1: return EVP_sha1();
    case SB_TPM_ALG_SHA256: return EVP_sha256();
    case SB_TPM_ALG_SHA384: return EVP_sha384();
    default: return NULL;
    }
}

/* The floor needs the AK as an RSA TPMT_PUBLIC and RSASSA quotes (every corpus sample). */
static int floor_setup(struct job *j, sb_error *err) {
    TRY(parse_container(&j->ev, &j->parsed, err));
    struct sb_tpm_public pub;
    if (j->parsed.ak_kind == SB_TPM_AK_TPMT_PUBLIC) {
        TRY(sb_tpm_public_parse(j->parsed.ak, j->parsed.ak_len, &pub, err));
        j->ak = rsa_key(&pub);
    } else {
        const unsigned char *p = j->parsed.ak;
        j->ak = d2i_PUBKEY(NULL, &p, (long)j->parsed.ak_len);
    }
    if (!j->ak) BAIL(err, SB_E_UNSUPPORTED, "floor: the AK is not an RSA key OpenSSL reads");
    for (size_t i = 0; i < j->parsed.n_quotes; i++) {
        struct sb_tpm_signature s;
        TRY(sb_tpm_signature_parse(j->parsed.quotes[i].sig, j->parsed.quotes[i].sig_len, &s, err));
        struct floor_sig *f = &j->sig[j->n_sig++];
        f->md = md_of(s.hash_alg);
        if (s.sig_alg != SB_TPM_ALG_RSASSA || !f->md)
            BAIL(err, SB_E_UNSUPPORTED, "floor: quote %zu is not RSASSA", i);
        f->msg = j->parsed.quotes[i].attest;
        f->msg_len = j->parsed.quotes[i].attest_len;
        f->sig = s.sig;
        f->sig_len = s.sig_len;
    }
    return 0;
}

static int floor_once(struct job *j) {
    int rc = 0;
    for (size_t i = 0; i < j->n_sig; i++) {
        EVP_MD_CTX *c = EVP_MD_CTX_new();
        if (!c || EVP_DigestVerifyInit(c, NULL, j->sig[i].md, NULL, j->ak) != 1 ||
            EVP_DigestVerify(c, j->sig[i].sig, j->sig[i].sig_len, j->sig[i].msg,
                             j->sig[i].msg_len) != 1)
            rc = -1;
        EVP_MD_CTX_free(c);
    }
    return rc;
}

static int verify_with(struct job *j, sb_tpm_ctx *ctx) {
    json_t *claims = NULL;
    sb_error err = {0};
    int rc = sb_tpm_verify(ctx, &j->o, &j->ev, 1, &claims, &err);
    if (rc != 0) fprintf(stderr, "bench_tpm: %s\n", err.msg);
    json_decref(claims);
    return rc;
}
static int warm_once(struct job *j) { return verify_with(j, j->ctx); }
static int cold_once(struct job *j) { return verify_with(j, NULL); }
/* The container parse as a warm verification does it (JSON: with the event-log memo). */
static int parse_once(struct job *j) {
    struct sb_tpm_evidence t;
    sb_error err = {0};
    int rc = j->ev.len && j->ev.data[0] == '{'
                 ? sb_tpm_json_parse_memo(j->ev.data, j->ev.len, &j->memo, &t, &err)
                 : parse_container(&j->ev, &t, &err);
    if (rc == 0) sb_tpm_evidence_free(&t);
    return rc;
}

static double rate(int (*fn)(struct job *), struct job *j) {
    uint64_t t0 = sb_mono_ns(), n = 0, dt;
    do {
        if (fn(j) != 0) exit(1);
        n++;
        dt = sb_mono_ns() - t0;
    } while (dt < MIN_NS);
    return (double)n * 1e9 / (double)dt;
}

static double median(double *v, int n) {
    for (int i = 1; i < n; i++)
        for (int k = i; k > 0 && v[k - 1] > v[k]; k--) {
            double t = v[k];
            v[k] = v[k - 1];
            v[k - 1] = t;
        }
    return v[n / 2];
}

static void bench_one(const char *dir, const struct sample *s) {
    struct job j = {0};
    sb_error err = {0};
    char path[4096];
    char *paths[2];
    (void)snprintf(path, sizeof(path), "%s/%s", dir, s->file);
    struct sb_blob *ev = NULL, *certs = NULL;
    char cpath[2][4096];
    for (size_t i = 0; i < 2 && s->certs[i]; i++) {
        (void)snprintf(cpath[i], sizeof(cpath[i]), "%s/%s", dir, s->certs[i]);
        paths[i] = cpath[i];
        j.n_certs++;
    }
    char *evp[1] = {path};
    if (sb_blobs_load(evp, 1, &ev, &err) < 0 || sb_blobs_load(paths, j.n_certs, &certs, &err) < 0) {
        printf("  %-42s skipped: %s\n", s->id, err.msg);
        sb_blobs_free(ev, 1);
        return;
    }
    j.ev = ev[0];
    j.o.at = AT;
    j.o.certs = certs;
    j.o.n_certs = j.n_certs;
    if (s->nonce && sb_hex_decode(s->nonce, strlen(s->nonce), &j.nonce, &j.o.nonce_len, &err) == 0)
        j.o.nonce = j.nonce;
    if (floor_setup(&j, &err) < 0 || sb_tpm_ctx_new(&j.ctx, &err) < 0 || warm_once(&j) != 0) {
        printf("  %-42s skipped: %s\n", s->id, err.msg);
        goto out;
    }
    double fr[ROUNDS], wr[ROUNDS], cr[ROUNDS], pr[ROUNDS], ratio[ROUNDS], cratio[ROUNDS];
    for (int r = 0; r < ROUNDS; r++) {
        fr[r] = rate(floor_once, &j);
        wr[r] = rate(warm_once, &j);
        cr[r] = rate(cold_once, &j);
        pr[r] = rate(parse_once, &j);
        ratio[r] = wr[r] / fr[r];
        cratio[r] = cr[r] / fr[r];
    }
    double rat = median(ratio, ROUNDS), crat = median(cratio, ROUNDS);
    double f = median(fr, ROUNDS), w = median(wr, ROUNDS), p = median(pr, ROUNDS);
    printf("  %-42s %6zu B, %zu quote(s)%s\n", s->id, j.ev.len, j.n_sig,
           j.parsed.event_log ? ", event log" : "");
    printf("    floor %7.0f/s  warm %7.0f/s (%.3f ms)  ratio warm %.2f, cold %.2f%s; container "
           "parse alone (warm) %7.0f/s = %.0f%% of a warm verification\n",
           f, w, 1e3 / w, rat, crat, rat >= 0.8 ? "" : " (goal 0.8 not met)", p, 100.0 * w / p);
out:
    sb_tpm_evidence_free(&j.parsed);
    EVP_PKEY_free(j.ak);
    sb_tpm_ctx_free(j.ctx);
    sb_tpm_json_memo_clear(&j.memo);
    free(j.nonce);
    sb_blobs_free(ev, 1);
    sb_blobs_free(certs, j.n_certs);
}

int main(void) {
    const char *dir = evidence_dir();
    if (!dir) {
        printf("bench_tpm: skipped (evidence corpus not found; set SEALBOX_EVIDENCE_DIR)\n");
        return 0;
    }
    printf("bench_tpm: sb_tpm_verify with a warm sb_tpm_ctx vs the crypto floor (each quote's "
           "RSA signature, raw OpenSSL), %d alternating rounds, medians; goal ratio >= 0.8\n",
           ROUNDS);
    for (size_t i = 0; i < SB_ARRAY_LEN(SAMPLES); i++)
        bench_one(dir, &SAMPLES[i]);
    return 0;
}
