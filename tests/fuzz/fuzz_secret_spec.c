/* fuzz_secret_spec: a secret as `sealbox run --secret` and the daemon's create message carry it,
 * "repo/type/tag[:file=PATH|:env=NAME]" (sb_secret_spec_parse). What parses must pass the target
 * checks again and hold no NUL. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "sandbox/sandbox.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    struct sb_secret_spec sp;
    sb_error err = {0};
    if (sb_secret_spec_parse(data, size, &sp, &err) < 0) {
        if (sp.path || sp.target) __builtin_trap(); /* a refusal leaves nothing behind */
        return 0;
    }
    sb_error e2 = {0};
    if (sb_secret_spec_check(&sp, &e2) < 0 || strlen(sp.path) > SB_PROTO_MAX_SECRET_PATH ||
        sp.kind >= SB_SECRET_KIND_MAX)
        __builtin_trap();
    sb_secret_spec_clear(&sp);
    return 0;
}
