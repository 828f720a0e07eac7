/* fuzz_tpm_credential: what credential activation reads from the verifier — the
 * TPM2B_ID_OBJECT contents of a challenge — and the public areas an enrollment request
 * carries (EK and AK TPMT_PUBLIC, and their TPM names). */
#include <stddef.h>
#include <stdint.h>

#include "evidence/evidence.h"
#include "verify/verify.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void ignore(int rc) { (void)rc; }

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    sb_error err = {0};
    ignore(sb_tpm_id_object_check(data, size, &err));
    struct sb_tpm_public pub;
    if (sb_tpm_public_parse(data, size, &pub, &err) == 0) {
        uint8_t name[2 + SB_HASH_MAX_LEN];
        size_t n = 0;
        ignore(sb_tpm_public_name(&pub, name, &n, &err));
    }
    return 0;
}
