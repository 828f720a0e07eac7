/* fuzz_tpm_sealed: the TPM sealed-key blob ("SBTS": bank, PCR mask, TPM2B_PUBLIC,
 * TPM2B_PRIVATE) that the KBS keeps on disk. */
#include <stddef.h>
#include <stdint.h>

#include "attester/attester.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    sb_error err = {0};
    struct sb_tpm_sealed s;
    if (sb_tpm_sealed_parse(data, size, &s, &err) == 0) {
        /* the views stay inside the input */
        volatile uint8_t sink = 0;
        for (size_t i = 0; i < s.pub_len; i++)
            sink ^= s.pub[i];
        for (size_t i = 0; i < s.priv_len; i++)
            sink ^= s.priv[i];
        (void)sink;
    }
    return 0;
}
