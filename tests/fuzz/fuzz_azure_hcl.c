/* fuzz_azure_hcl: the Azure HCL report parser and Trustee's az-snp-vtpm evidence JSON, then the
 * HCL inside whatever JSON was accepted. */
#include <stddef.h>
#include <stdint.h>

#include "evidence/evidence.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void hcl(const uint8_t *p, size_t n) {
    sb_error err = {0};
    struct sb_azure_hcl h;
    if (sb_azure_hcl_parse(p, n, &h, &err) == 0) {
        if (h.report_size > n || h.var_data < p || h.var_data + h.var_len > p + n ||
            h.report_size + h.padding != n)
            __builtin_trap();
    } else if (err.msg[0] == '\0') {
        __builtin_trap();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    hcl(data, size);
    sb_error err = {0};
    struct sb_azure_evidence az;
    if (sb_azure_evidence_json_parse(data, size, &az, &err) == 0) {
        if (az.quote.n_quotes != 1) __builtin_trap();
        hcl(az.hcl, az.hcl_len);
        sb_azure_evidence_free(&az);
    }
    return 0;
}
