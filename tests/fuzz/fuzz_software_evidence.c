/* fuzz_software_evidence: the sealbox software evidence parser and its verifier over untrusted
 * bytes; a parsed evidence re-canonicalizes to its signed bytes. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "verify/verify.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    struct sb_software_evidence e;
    sb_error err = {0};
    if (sb_software_evidence_parse(data, size, &e, &err) != 0) {
        if (err.msg[0] == '\0') __builtin_trap(); /* every failure names its reason */
    } else {
        if (e.version != 1 || !e.tbs || !json_is_object(e.key)) __builtin_trap();
        sb_software_evidence_clear(&e);
    }
    struct sb_blob b = {.name = "fuzz", .data = data, .len = size};
    if (sb_verifier_software.sniff(&b, 1) > 0) {
        struct sb_verify_opts o = {.at = 1780000000};
        json_t *claims = NULL;
        sb_error e2 = {0};
        if (sb_verifier_software.verify(&o, &b, 1, &claims, &e2) == 0) {
            if (!json_is_true(json_object_get(claims, "insecure"))) __builtin_trap();
            json_decref(claims);
        } else if (e2.msg[0] == '\0') {
            __builtin_trap();
        }
    }
    return 0;
}
