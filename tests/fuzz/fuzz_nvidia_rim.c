/* fuzz_nvidia_rim: NVIDIA RIM loading (libxml2 with the network off and no DTD, the enveloped
 * XML signature, the signer chain to the pinned CoRIM root) on arbitrary bytes, then the
 * comparison of whatever loaded with an empty report, and the verifier given the input as a
 * RIM next to no evidence. */
#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "evidence/evidence.h"
#include "verify/verify.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static sb_cert *root;
    sb_error err = {0};
    if (!root && sb_cert_from_pem((const uint8_t *)sb_nvidia_rim_root_pem,
                                  strlen(sb_nvidia_rim_root_pem), &root, &err) < 0)
        __builtin_trap();
    sb_nv_rim *r = NULL;
    int rc = sb_nv_rim_load(data, size, &root, 1, 1748736000 /* 2025-06-01 */, &r, &err);
    if (rc == 0) {
        if (!r || !sb_nv_rim_version(r) || sb_nv_rim_measurements(r) == 0 ||
            sb_nv_rim_measurements(r) > SB_NV_RIM_MAX_MEASUREMENTS)
            __builtin_trap();
        sb_spdm_report *empty = calloc(1, sizeof(*empty));
        char why[128];
        size_t bad = 0;
        if (!empty || sb_nv_rim_compare(r, empty, why, sizeof(why), &bad) != SB_E_POLICY ||
            bad != sb_nv_rim_measurements(r))
            __builtin_trap();
        free(empty);
        sb_nv_rim_free(r);
    } else if (r || err.msg[0] == '\0') {
        __builtin_trap();
    }
    if (size > 0 && data[0] == '<') {
        struct sb_blob b = {"fuzz.xml", data, size};
        struct sb_verify_opts o = {.at = 1748736000};
        json_t *claims = NULL;
        if (sb_verifier_nvidia.verify(&o, &b, 1, &claims, &err) == 0 || claims) __builtin_trap();
    }
    return 0;
}
