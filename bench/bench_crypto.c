/* bench_crypto: the "crypto floor" — raw OpenSSL EVP verification rates for the signatures
 * attestation evidence uses (ECDSA P-256, ECDSA P-384, RSA-4096 PSS), and the same through
 * sealbox's wrappers. The verifier benchmark compares its rates against these figures. */
#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/crypto.h"

#define MIN_NS 300000000ull /* run each measurement for at least 0.3 s */

struct job {
    const char *name;
    EVP_PKEY *key;
    const EVP_MD *md;
    bool pss;
    uint8_t sig[1024];
    size_t siglen;
    sb_pubkey *wrapped;
};

static const uint8_t MSG[1184] = {1}; /* the size of an SNP report */

static int raw_verify(struct job *j) {
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    EVP_PKEY_CTX *pctx = NULL;
    int r = EVP_DigestVerifyInit(ctx, &pctx, j->md, NULL, j->key);
    if (r == 1 && j->pss) {
        r = EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) == 1 &&
            EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST) == 1;
    }
    if (r == 1) r = EVP_DigestVerify(ctx, j->sig, j->siglen, MSG, sizeof(MSG));
    EVP_MD_CTX_free(ctx);
    return r == 1 ? 0 : -1;
}

static int wrapped_verify(struct job *j) {
    if (j->pss)
        return sb_rsa_pss_verify(j->wrapped, SB_HASH_SHA384, -1, MSG, sizeof(MSG), j->sig,
                                 j->siglen, NULL);
    return sb_ecdsa_verify(j->wrapped, j->md == EVP_sha256() ? SB_HASH_SHA256 : SB_HASH_SHA384, MSG,
                           sizeof(MSG), j->sig, j->siglen, SB_ECDSA_DER, NULL);
}

static double rate(struct job *j, int (*fn)(struct job *)) {
    uint64_t t0 = sb_mono_ns(), n = 0, dt;
    do {
        for (int i = 0; i < 16; i++) {
            if (fn(j) != 0) {
                fprintf(stderr, "bench_crypto: %s did not verify\n", j->name);
                exit(1);
            }
        }
        n += 16;
        dt = sb_mono_ns() - t0;
    } while (dt < MIN_NS);
    return (double)n * 1e9 / (double)dt;
}

static int setup(struct job *j) {
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    EVP_PKEY_CTX *pctx = NULL;
    j->siglen = sizeof(j->sig);
    int ok = EVP_DigestSignInit(ctx, &pctx, j->md, NULL, j->key) == 1 &&
             (!j->pss || (EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) == 1 &&
                          EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST) == 1)) &&
             EVP_DigestSign(ctx, j->sig, &j->siglen, MSG, sizeof(MSG)) == 1;
    EVP_MD_CTX_free(ctx);
    unsigned char *der = NULL;
    int dn = ok ? i2d_PUBKEY(j->key, &der) : -1;
    ok = ok && dn > 0 && sb_pubkey_from_spki_der(der, (size_t)dn, &j->wrapped, NULL) == 0;
    OPENSSL_free(der);
    return ok ? 0 : -1;
}

int main(void) {
    struct job jobs[] = {
        {.name = "ecdsa-p256-sha256",
         .key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256"),
         .md = EVP_sha256()},
        {.name = "ecdsa-p384-sha384",
         .key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384"),
         .md = EVP_sha384()},
        {.name = "rsa4096-pss-sha384",
         .key = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)4096),
         .md = EVP_sha384(),
         .pss = true},
    };
    printf("crypto floor: verifications per second over a %zu-byte message\n", sizeof(MSG));
    printf("%-20s %14s %14s %10s\n", "algorithm", "openssl/s", "sealbox/s", "wrapper");
    double anchor = 0;
    for (size_t i = 0; i < sizeof(jobs) / sizeof(jobs[0]); i++) {
        struct job *j = &jobs[i];
        if (!j->key || setup(j) != 0) {
            fprintf(stderr, "bench_crypto: cannot set up %s\n", j->name);
            return 1;
        }
        double raw = rate(j, raw_verify), wr = rate(j, wrapped_verify);
        if (i == 0) anchor = raw;
        printf("%-20s %14.0f %14.0f %9.2fx   (%.3f of P-256 raw)\n", j->name, raw, wr, wr / raw,
               raw / anchor);
        sb_pubkey_free(j->wrapped);
        EVP_PKEY_free(j->key);
    }
    return 0;
}
