/* tpm attester internals shared by tpm.c (quotes), tpm_enroll.c (credential activation) and
 * tpm_seal.c (sealing). */
#ifndef SB_ATTESTER_TPM_INT_H
#define SB_ATTESTER_TPM_INT_H

#include <tss2/tss2_esys.h>

#include "attester.h"

struct sb_tpm {
    ESYS_CONTEXT *esys;
    TSS2_TCTI_CONTEXT *tcti;
    uint16_t bank;
    uint32_t pcrs;
    char *event_log;
    size_t max_digest; /* TPM_PT_MAX_DIGEST */
};

/* A TSS return code as an sb_error (SB_E_POLICY for a policy failure, SB_E_IO otherwise). */
int sb_tpm_rc(sb_error *err, TSS2_RC rc, const char *what);
const char *sb_tpm_bank_name(uint16_t alg); /* NULL when not a PCR bank */
size_t sb_tpm_bank_len(uint16_t alg);       /* 0 when not a PCR bank */
/* Flushes a transient object or session and sets *h to ESYS_TR_NONE. */
void sb_tpm_flush(sb_tpm *t, ESYS_TR *h);
/* TPM2_CreatePrimary of tmpl in hierarchy (ESYS_TR_RH_*) with empty auth; *pub may be NULL. */
int sb_tpm_create_primary(sb_tpm *t, ESYS_TR hierarchy, const TPM2B_PUBLIC *tmpl, ESYS_TR *out,
                          TPM2B_PUBLIC **pub, const char *what, sb_error *err) SB_WUR;
/* Creates the AK (transient: flush it). *pub is Esys_Free'd by the caller. */
int sb_tpm_ak_load(sb_tpm *t, ESYS_TR *ak, TPM2B_PUBLIC **pub, sb_error *err) SB_WUR;
int sb_tpm_pcr_read(sb_tpm *t, uint16_t bank, uint32_t mask, uint8_t values[24][64],
                    uint32_t *counter, sb_error *err) SB_WUR;

#endif
