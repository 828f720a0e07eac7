/* fuzz_kbs_relay: what sealbox-init asks the host relay for — the first byte picks the check:
 * even, a route (method = byte & 2 ? POST : GET) through sb_kbs_relay_check_route; odd, the
 * runtime data to attest through sb_kbs_relay_check_runtime against a fixed nonce and log. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "kbs/kbs.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1) return 0;
    sb_error err = {0};
    if (data[0] & 1) {
        json_t *out = NULL;
        if (sb_kbs_relay_check_runtime(data + 1, size - 1,
                                       "bm9uY2U=", "sha384:" /* any digest string will do */, &out,
                                       &err) == 0) {
            if (!json_is_object(out)) __builtin_trap();
            json_decref(out);
        }
        return 0;
    }
    char route[SB_PROTO_MAX_ROUTE + 1];
    size_t n = size - 1 < SB_PROTO_MAX_ROUTE ? size - 1 : SB_PROTO_MAX_ROUTE;
    for (size_t i = 0; i < n; i++)
        route[i] = (char)data[1 + i];
    route[n] = 0;
    int method = (data[0] & 2) ? SB_KBS_POST : SB_KBS_GET;
    if (sb_kbs_relay_check_route(method, route, &err) == 0 && strlen(route) < 4) __builtin_trap();
    return 0;
}
