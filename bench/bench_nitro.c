/* bench_nitro: Nitro document verifications per second (warm chain cache) next to the crypto
 * floor measured in the same run — one raw OpenSSL P-384 verification of the COSE signature
 * plus one of the leaf certificate's signature — printed as a ratio (goal >= 0.8). */
#include <jansson.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_util.h"
#include "evidence/evidence.h"
#include "verify/verify.h"

#define MIN_NS 250000000ull /* each measurement runs for at least 0.25 s */
#define ROUNDS 7            /* alternating floor/ours rounds; the median ratio is reported */
#define DOC "nitro/blocky-nitrite/nitro_attestation.b64"
#define DOC_AT 1725719859

struct floor_job {
    EVP_PKEY *leaf_key;
    uint8_t *tbs;
    size_t tbs_len;
    uint8_t der_sig[128];
    size_t der_len;
    X509 *leaf;
    EVP_PKEY *issuer_key;
};

static int floor_once(struct floor_job *j) {
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    int ok = ctx && EVP_DigestVerifyInit(ctx, NULL, EVP_sha384(), NULL, j->leaf_key) == 1 &&
             EVP_DigestVerify(ctx, j->der_sig, j->der_len, j->tbs, j->tbs_len) == 1;
    EVP_MD_CTX_free(ctx);
    return ok && X509_verify(j->leaf, j->issuer_key) == 1 ? 0 : -1;
}

struct ours_job {
    sb_nitro_ctx *c;
    const uint8_t *doc;
    size_t len;
};

static int ours_once(struct ours_job *j) {
    struct sb_verify_opts o = {.at = DOC_AT};
    json_t *claims = NULL;
    sb_error err = {0};
    int rc = sb_nitro_verify(j->c, &o, j->doc, j->len, &claims, &err);
    if (rc != 0) fprintf(stderr, "bench_nitro: %s\n", err.msg);
    json_decref(claims);
    return rc;
}

#define RATE(fn, job) BENCH_RATE("bench_nitro", fn, job, MIN_NS)

static int setup_floor(struct floor_job *j, const sb_nitro_doc *d) {
    sb_writer w;
    sb_writer_init(&w, 1u << 20);
    if (sb_cose_sign1_tbs(&d->cose, NULL, 0, &w) != 0) return -1;
    j->tbs = sb_writer_steal(&w, &j->tbs_len);
    const unsigned char *p = d->certificate.p;
    j->leaf = d2i_X509(NULL, &p, (long)d->certificate.n);
    p = d->cabundle[d->n_cabundle - 1].p;
    X509 *issuer = d2i_X509(NULL, &p, (long)d->cabundle[d->n_cabundle - 1].n);
    if (!j->leaf || !issuer) return -1;
    j->leaf_key = X509_get_pubkey(j->leaf);
    j->issuer_key = X509_get_pubkey(issuer);
    X509_free(issuer);
    /* raw r||s to DER once, outside the timing */
    ECDSA_SIG *sig = ECDSA_SIG_new();
    BIGNUM *r = BN_bin2bn(d->cose.signature, 48, NULL),
           *s = BN_bin2bn(d->cose.signature + 48, 48, NULL);
    if (!sig || !r || !s || ECDSA_SIG_set0(sig, r, s) != 1) return -1;
    unsigned char *out = j->der_sig;
    int n = i2d_ECDSA_SIG(sig, &out);
    ECDSA_SIG_free(sig);
    if (n <= 0) return -1;
    j->der_len = (size_t)n;
    return j->leaf_key && j->issuer_key ? 0 : -1;
}

int main(void) {
    const char *dir = bench_evidence_dir();
    if (!dir) {
        printf("bench_nitro: skipped (evidence corpus not found; set SEALBOX_EVIDENCE_DIR)\n");
        return 0;
    }
    char path[4096];
    (void)snprintf(path, sizeof(path), "%s/%s", dir, DOC);
    uint8_t *file = NULL, *owned = NULL;
    size_t flen, n;
    const uint8_t *doc;
    sb_error err = {0};
    static sb_nitro_doc d;
    if (sb_read_file(path, 1u << 20, &file, &flen, &err) < 0 ||
        sb_nitro_unwrap(file, flen, &owned, &doc, &n, &err) < 0 ||
        sb_nitro_parse(doc, n, &err, &d) < 0) {
        fprintf(stderr, "bench_nitro: %s\n", err.msg);
        return 1;
    }
    struct floor_job f = {0};
    if (setup_floor(&f, &d) != 0) {
        fprintf(stderr, "bench_nitro: cannot set up the crypto floor\n");
        return 1;
    }
    struct ours_job o = {.doc = doc, .len = n};
    if (sb_nitro_ctx_new(NULL, 0, &o.c, &err) < 0) {
        fprintf(stderr, "bench_nitro: %s\n", err.msg);
        return 1;
    }
    (void)ours_once(&o); /* warm the chain cache */
    /* The machine is shared and noisy: alternate short rounds of the floor and of sealbox and
     * report the median of the per-round ratios. */
    double ratios[ROUNDS], fl_sum = 0, ours_sum = 0;
    for (int i = 0; i < ROUNDS; i++) {
        double fl = RATE(floor_once, &f);
        double ours = RATE(ours_once, &o);
        ratios[i] = ours / fl;
        fl_sum += fl;
        ours_sum += ours;
    }
    printf("nitro: %zu-byte document (N1), warm chain cache, verification time pinned\n", n);
    printf("  crypto floor (COSE P-384 + leaf cert P-384, raw OpenSSL): %8.0f /s (mean of %d)\n",
           fl_sum / ROUNDS, ROUNDS);
    printf("  sealbox verify (parse, COSE, leaf chain, claims):         %8.0f /s\n",
           ours_sum / ROUNDS);
    bench_print_ratios(ratios, ROUNDS, 0.80);
    sb_nitro_ctx_free(o.c);
    EVP_PKEY_free(f.leaf_key);
    EVP_PKEY_free(f.issuer_key);
    X509_free(f.leaf);
    free(f.tbs);
    free(owned);
    free(file);
    return 0;
}
