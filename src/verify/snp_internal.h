/* snp_internal: what src/verify/snp.c shares with the embedded AMD trust anchors
 * (amd_roots.c) and with its unit test (fingerprint pins). Not part of the public API. */
#ifndef SB_VERIFY_SNP_INTERNAL_H
#define SB_VERIFY_SNP_INTERNAL_H

#include <stddef.h>

#include "evidence/evidence.h"
#include "verify/verify.h"

enum sb_snp_anchor_kind { SB_SNP_ANCHOR_ARK, SB_SNP_ANCHOR_ASK, SB_SNP_ANCHOR_ASVK };

/* One pinned AMD certificate: the product it belongs to, its role, its subject CN, its PEM and
 * the SHA-256 of its DER encoding (lower-case hex), checked every time the anchors are loaded. */
struct sb_snp_anchor {
    enum sb_snp_product product;
    enum sb_snp_anchor_kind kind;
    const char *cn;
    const char *pem;
    size_t pem_len;
    const char *sha256;
};

extern const struct sb_snp_anchor sb_snp_anchors[];
extern const size_t sb_snp_n_anchors;

/* What a VCEK/VLEK certificate set yields once its chain to the pinned ARK holds at `at`
 * (the same path the report verification takes): product, TCB extensions, hwID. For tests of
 * chains that have no report in the corpus (Turin). */
int sb_snp_chain_inspect(const struct sb_blob *certs, size_t n_certs, enum sb_snp_signing_key key,
                         int64_t at, enum sb_snp_product *product, struct sb_snp_tcb *tcb,
                         uint8_t hwid[64], size_t *hwid_len, sb_error *err) SB_WUR;

/* Checks subject (issued by issuer) against the CRLs among crls (blobs of any kind; those that
 * are not CRLs naming issuer are skipped): every CRL issued by issuer must verify with its key
 * (else SB_E_CHAIN); the best one at `at` (window holding `at`, newest) is used — subject's
 * serial listed is SB_E_CHAIN naming `what`, the serial and the CRL. *checked says whether a CRL
 * was used; it is then a "crl" collateral record of claims (and a warning when `at` is outside
 * its thisUpdate..nextUpdate). */
int sb_snp_crl_check(const sb_cert *issuer, const sb_cert *subject, const char *what,
                     const struct sb_blob *crls, size_t n_crls, int64_t at, json_t *claims,
                     bool *checked, sb_error *err) SB_WUR;

#endif
