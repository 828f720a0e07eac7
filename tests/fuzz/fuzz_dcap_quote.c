/* fuzz_dcap_quote: DCAP quotes (v3/v4/v5, SGX and TDX bodies) with their signature and
 * certification data, the SGX report body and the PCK certificate SGX extension (DER). */
#include <stddef.h>
#include <stdint.h>

#include "evidence/evidence.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    sb_error err = {0};
    struct sb_dcap_quote q;
    bool tdx;
    (void)sb_dcap_quote_sniff(data, size, &tdx);
    if (sb_dcap_quote_parse(data, size, &q, &err) == 0) {
        /* Every view must lie inside the input and the parts must add up. */
        if (q.quote_len + q.trailing_len != size) __builtin_trap();
        if (q.signed_len > q.quote_len || q.cert_data_len > size || q.qe_auth_len > size)
            __builtin_trap();
        volatile uint8_t sink = 0;
        if (q.cert_data_len) sink ^= q.cert_data[q.cert_data_len - 1];
        if (q.qe_auth_len) sink ^= q.qe_auth[q.qe_auth_len - 1];
        sink ^= q.qe_report_raw[383];
        sink ^= q.signed_data[q.signed_len - 1];
        (void)sink;
    } else if (err.msg[0] == '\0') {
        __builtin_trap();
    }
    struct sb_sgx_report rep;
    if (sb_sgx_report_parse(data, size, &rep, &err) == 0 && size != 384) __builtin_trap();
    struct sb_pck_ext ext;
    if (sb_pck_ext_parse(data, size, &ext, &err) < 0 && err.msg[0] == '\0') __builtin_trap();
    return 0;
}
