/* bench_nvidia: NVIDIA SPDM report verifications per second with a warm context (the device
 * chain cached) next to the crypto floor measured in the same run — one raw OpenSSL P-384
 * verification of the SPDM signature — as the median ratio of alternating rounds (goal >= 0.8). */
#include <jansson.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_util.h"
#include "evidence/evidence.h"
#include "verify/verify.h"

#define MIN_NS 250000000ull
#define ROUNDS 7
#define REPORT "nvidia/nvtrust/hopperAttestationReport.txt"
#define CHAIN "nvidia/nvtrust/hopperCertChain.txt"
#define AT 1764000000

struct floor_job {
    EVP_PKEY *key;
    const uint8_t *msg;
    size_t len;
    uint8_t der[128];
    size_t der_len;
};

static int floor_once(struct floor_job *j) {
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    int ok = ctx && EVP_DigestVerifyInit(ctx, NULL, EVP_sha384(), NULL, j->key) == 1 &&
             EVP_DigestVerify(ctx, j->der, j->der_len, j->msg, j->len) == 1;
    EVP_MD_CTX_free(ctx);
    return ok ? 0 : -1;
}

struct ours_job {
    sb_nvidia_ctx *c;
    struct sb_blob b[2];
};

static int ours_once(struct ours_job *j) {
    struct sb_verify_opts o = {.at = AT};
    json_t *claims = NULL;
    sb_error err = {0};
    int rc = sb_nvidia_verify(j->c, &o, j->b, 2, &claims, &err);
    if (rc != 0) fprintf(stderr, "bench_nvidia: %s\n", err.msg);
    json_decref(claims);
    return rc;
}

#define RATE(fn, job) BENCH_RATE("bench_nvidia", fn, job, MIN_NS)

static uint8_t *load(const char *dir, const char *rel, size_t *n) {
    char path[4096];
    (void)snprintf(path, sizeof(path), "%s/%s", dir, rel);
    uint8_t *p = NULL;
    sb_error err = {0};
    if (sb_read_file(path, 1u << 20, &p, n, &err) < 0) {
        fprintf(stderr, "bench_nvidia: %s\n", err.msg);
        exit(1);
    }
    return p;
}

int main(void) {
    const char *dir = bench_evidence_dir();
    if (!dir) {
        printf("bench_nvidia: skipped (evidence corpus not found; set SEALBOX_EVIDENCE_DIR)\n");
        return 0;
    }
    size_t rn, cn, bn;
    uint8_t *hex = load(dir, REPORT, &rn), *chain = load(dir, CHAIN, &cn), *bin = NULL;
    sb_error err = {0};
    static sb_spdm_report r;
    if (sb_spdm_from_hex(hex, rn, &bin, &bn, &err) < 0 ||
        sb_spdm_parse(bin, bn, 96, &err, &r) < 0) {
        fprintf(stderr, "bench_nvidia: %s\n", err.msg);
        return 1;
    }
    /* the floor: the leaf's key, the signed bytes, the signature as DER (converted once) */
    struct floor_job f = {.msg = r.signed_part, .len = r.signed_len};
    BIO *bio = BIO_new_mem_buf(chain, (int)cn);
    X509 *leaf = bio ? PEM_read_bio_X509(bio, NULL, NULL, NULL) : NULL;
    f.key = leaf ? X509_get_pubkey(leaf) : NULL;
    ECDSA_SIG *sig = ECDSA_SIG_new();
    BIGNUM *br = BN_bin2bn(r.signature, 48, NULL), *bs = BN_bin2bn(r.signature + 48, 48, NULL);
    unsigned char *out = f.der;
    int dl = sig && br && bs && ECDSA_SIG_set0(sig, br, bs) == 1 ? i2d_ECDSA_SIG(sig, &out) : -1;
    if (!f.key || dl <= 0) {
        fprintf(stderr, "bench_nvidia: cannot set up the crypto floor\n");
        return 1;
    }
    f.der_len = (size_t)dl;
    struct ours_job o = {.b = {{REPORT, hex, rn}, {CHAIN, chain, cn}}};
    if (sb_nvidia_ctx_new(&o.c, &err) < 0) {
        fprintf(stderr, "bench_nvidia: %s\n", err.msg);
        return 1;
    }
    (void)ours_once(&o); /* warm the chain cache */
    double ratios[ROUNDS], fl_sum = 0, ours_sum = 0;
    for (int i = 0; i < ROUNDS; i++) {
        double fl = RATE(floor_once, &f);
        double ours = RATE(ours_once, &o);
        ratios[i] = ours / fl;
        fl_sum += fl;
        ours_sum += ours;
    }
    printf("nvidia: H100 SPDM report (G1, hex) + PEM chain, warm device-chain cache\n");
    printf("  crypto floor (SPDM P-384 signature, raw OpenSSL): %8.0f /s (mean of %d)\n",
           fl_sum / ROUNDS, ROUNDS);
    printf("  sealbox verify (hex, parse, FWID, signature, claims): %6.0f /s\n", ours_sum / ROUNDS);
    bench_print_ratios(ratios, ROUNDS, 0.80);
    sb_nvidia_ctx_free(o.c);
    ECDSA_SIG_free(sig);
    EVP_PKEY_free(f.key);
    X509_free(leaf);
    BIO_free(bio);
    free(bin);
    free(hex);
    free(chain);
    return 0;
}
