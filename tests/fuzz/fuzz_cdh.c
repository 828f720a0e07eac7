/* fuzz_cdh: the workload's secret socket — the first byte picks the parser: even, the request
 * sealbox-init reads (sb_cdh_parse_request); odd, the response sealbox-secret reads
 * (sb_cdh_parse_response). What parses must hold together. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "sandbox/sandbox.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1) return 0;
    sb_error err = {0};
    if (data[0] & 1) {
        struct sb_cdh_response r;
        if (sb_cdh_parse_response(data + 1, size - 1, &r, &err) == 0 &&
            (r.status < 100 || r.status > 599 || r.body_len > SB_CDH_MAX_BODY ||
             r.body + r.body_len != data + size))
            __builtin_trap();
        return 0;
    }
    char path[SB_PROTO_MAX_SECRET_PATH + 1];
    if (sb_cdh_parse_request(data + 1, size - 1, path, &err) == 0 && !sb_secret_path_valid(path))
        __builtin_trap();
    return 0;
}
