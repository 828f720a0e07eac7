/* fuzz_collateral: collateral identification (certificate extension DER walks, CRLs, TCB
 * info / QE identity JSON) must reject or key any input without crashing or over-reading. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "verify/verify.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    struct sb_collateral_item it;
    sb_error err = {0};
    if (sb_collateral_identify(data, size, &it, &err) == 0) {
        /* A keyed item always has a file-name-safe key and a file name. */
        if (!it.file[0] || strchr(it.key, '/') || strchr(it.file, '/')) __builtin_trap();
    }
    return 0;
}
