/* fuzz_kbs_request: the KBS protocol's untrusted inputs as the daemon's front sees them — auth
 * and attest bodies, the Cookie header, and the binding check over whatever claims parse. */
#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "kbs/kbs.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size > SB_KBS_ATTEST_MAX) return 0;
    sb_error err = {0};
    struct sb_kbs_auth au;
    if (sb_kbs_parse_auth(data, size, &au, &err) == 0) {
        if (!sb_kbs_tee_known(au.tee)) __builtin_trap();
    } else if (!err.msg[0]) {
        __builtin_trap(); /* every refusal names its reason */
    }
    sb_error_clear(&err);
    struct sb_kbs_attest at;
    if (sb_kbs_parse_attest(data, size, &at, &err) == 0) {
        uint8_t *ev = NULL;
        size_t n = 0;
        if (!at.nonce || !at.runtime_data || !at.additional) __builtin_trap();
        if (sb_kbs_evidence_bytes(at.primary, &ev, &n, &err) == 0) free(ev);
        /* the attest body doubles as claims: the binding check must fail cleanly */
        if (sb_kbs_check_binding(at.root, at.runtime_data, &err) == 0) __builtin_trap();
        sb_kbs_attest_clear(&at);
    } else if (!err.msg[0]) {
        __builtin_trap();
    }
    /* The same bytes as a Cookie header. */
    char *h = malloc(size + 1);
    if (!h) return 0;
    memcpy(h, data, size);
    h[size] = 0;
    char id[SB_KBS_SESSION_ID_LEN + 1];
    if (sb_kbs_cookie_session(h, id, &err) == 0 && strlen(id) != SB_KBS_SESSION_ID_LEN)
        __builtin_trap();
    free(h);
    return 0;
}
