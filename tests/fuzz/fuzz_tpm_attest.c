/* fuzz_tpm_attest: runs every TPM 2.0 structure parser (TPMS_ATTEST, TPMT_SIGNATURE,
 * TPMT_PUBLIC, TPM2B_PUBLIC) over the input and checks what they accept stays in bounds. */
#include <stddef.h>
#include <stdint.h>

#include "evidence/evidence.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void in_bounds(const uint8_t *p, size_t n, const uint8_t *data, size_t size) {
    if (n && (p < data || p + n > data + size)) __builtin_trap();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    sb_error err = {0};
    struct sb_tpm_attest a;
    if (sb_tpm_attest_parse(data, size, &a, &err) == 0) {
        if (a.magic != SB_TPM_GENERATED_VALUE || a.n_selections > SB_TPM_MAX_PCR_SELECTIONS)
            __builtin_trap();
        in_bounds(a.extra_data, a.extra_data_len, data, size);
        in_bounds(a.pcr_digest, a.pcr_digest_len, data, size);
        for (unsigned i = 0; i < 40; i++)
            (void)sb_tpm_pcr_selected(&a.selections[0], i);
    } else if (err.msg[0] == '\0') {
        __builtin_trap();
    }
    struct sb_tpm_signature s;
    if (sb_tpm_signature_parse(data, size, &s, &err) == 0) {
        in_bounds(s.sig, s.sig_len, data, size);
        in_bounds(s.r, s.r_len, data, size);
        in_bounds(s.s, s.s_len, data, size);
    }
    struct sb_tpm_public k;
    if (sb_tpm_public_parse(data, size, &k, &err) == 0) {
        if (k.encoded != data || k.encoded_len != size) __builtin_trap();
        in_bounds(k.unique, k.unique_len, data, size);
    }
    if (sb_tpm2b_public_parse(data, size, &k, &err) == 0) in_bounds(k.y, k.y_len, data, size);
    return 0;
}
