/* fuzz_dcap_collateral: Intel collateral — the signed-span locator of TCB info / QE identity
 * JSON, the parse of the located object (as it runs once its signature holds), and the store's
 * classification of any file (PCS JSON, dcap-qvl bundles, PEM chains, DER CRLs). */
#include <stdlib.h>
#include <string.h>

#include "verify/dcap_internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    sb_error err = {0};
    struct sb_dcap_signed_json sj;
    if (sb_dcap_signed_json_locate(data, size, &sj, &err) == 0) {
        if (sj.body_off + sj.body_len > size || sj.sig_hex_len > size) __builtin_trap();
        struct dcap_signed s = {0};
        s.source = strdup("fuzz");
        s.identity = strcmp(sj.member, "enclaveIdentity") == 0;
        s.body = malloc(sj.body_len ? sj.body_len : 1);
        if (s.body && s.source) {
            memcpy(s.body, sj.body, sj.body_len);
            s.body_len = sj.body_len;
            if (dcap_signed_parse(&s, &err) < 0 && err.msg[0] == '\0') __builtin_trap();
            /* the body alone, parsed as the other kind too */
            s.identity = !s.identity;
            if (s.n_levels == 0 && dcap_signed_parse(&s, &err) < 0 && err.msg[0] == '\0')
                __builtin_trap();
        }
        dcap_signed_clear(&s);
    } else if (err.msg[0] == '\0') {
        __builtin_trap();
    }
    sb_dcap_collateral *c = NULL;
    if (sb_dcap_collateral_new(&c, &err) == 0) {
        bool used;
        (void)!sb_dcap_collateral_add(c, "fuzz", data, size, false, &used, &err);
        (void)!sb_dcap_collateral_add(c, "fuzz", data, size, true, &used, &err);
        sb_dcap_collateral_free(c);
    }
    return 0;
}
