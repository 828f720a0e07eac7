/* fuzz_spdm: the NVIDIA SPDM measurement report parser on raw bytes and on hex text, then the
 * whole NVIDIA verifier on the input as one evidence file (JSON containers go all the way to
 * signature and chain checks). */
#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "evidence/evidence.h"
#include "verify/verify.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(const uint8_t *p, size_t n) {
    sb_error err = {0};
    sb_spdm_report *r = calloc(1, sizeof(*r));
    if (!r) __builtin_trap();
    if (sb_spdm_parse(p, n, 96, &err, r) == 0) {
        if (r->signed_len + r->sig_len + r->trailing != n) __builtin_trap();
        if (r->signed_part != p || r->n_blocks > SB_SPDM_MAX_BLOCKS) __builtin_trap();
        if (r->n_fields > SB_SPDM_MAX_OPAQUE_FIELDS || r->opaque_len > SB_SPDM_MAX_OPAQUE)
            __builtin_trap();
        for (size_t i = 0; i < r->n_blocks; i++)
            if (r->blocks[i].index == 0 || r->blocks[i].value_len > n) __builtin_trap();
        for (size_t i = 0; i < r->n_fields; i++)
            if (sb_spdm_field(r, r->fields[i].type) != &r->fields[i]) __builtin_trap();
    } else if (err.msg[0] == '\0') {
        __builtin_trap();
    }
    free(r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    check(data, size);
    uint8_t *bin = NULL;
    size_t n = 0;
    sb_error err = {0};
    if (sb_spdm_from_hex(data, size, &bin, &n, &err) == 0) {
        check(bin, n);
        free(bin);
    }
    struct sb_blob b = {"fuzz", data, size};
    struct sb_verify_opts o = {.at = 1764000000};
    json_t *claims = NULL;
    int rc = sb_verifier_nvidia.verify(&o, &b, 1, &claims, &err);
    if ((rc == 0) != (claims != NULL)) __builtin_trap();
    json_decref(claims);
    (void)sb_verifier_nvidia.sniff(&b, 1);
    return 0;
}
