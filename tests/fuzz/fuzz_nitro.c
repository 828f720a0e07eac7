/* fuzz_nitro: the whole Nitro path on untrusted bytes — base64/raw sniffing, COSE_Sign1, the
 * payload map, then signature and chain verification against the pinned AWS root at a fixed
 * time (so a real document replayed from the evidence corpus goes all the way through). */
#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "evidence/evidence.h"
#include "verify/verify.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_AT 1725719859 /* 2024-09-07T14:37:39Z */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    sb_error err = {0};
    uint8_t *owned = NULL;
    const uint8_t *doc;
    size_t n;
    (void)sb_nitro_sniff(data, size);
    if (sb_nitro_unwrap(data, size, &owned, &doc, &n, &err) < 0) return 0;
    sb_nitro_doc *d = calloc(1, sizeof(*d));
    if (!d) __builtin_trap();
    if (sb_nitro_parse(doc, n, &err, d) == 0) {
        if (d->n_pcrs == 0 || d->n_pcrs > SB_NITRO_MAX_PCRS) __builtin_trap();
        if (d->n_cabundle > SB_NITRO_MAX_CABUNDLE) __builtin_trap();
        for (size_t i = 0; i < d->n_pcrs; i++)
            if (d->pcrs[i].n != d->pcrs[0].n || d->pcrs[i].index >= SB_NITRO_MAX_PCRS)
                __builtin_trap();
    } else if (err.msg[0] == '\0') {
        __builtin_trap();
    }
    free(d);
    sb_nitro_ctx *c = NULL;
    if (sb_nitro_ctx_new(NULL, 0, &c, &err) != 0) __builtin_trap();
    struct sb_verify_opts o = {.at = FUZZ_AT};
    json_t *claims = NULL;
    int rc = sb_nitro_verify(c, &o, data, size, &claims, &err);
    if ((rc == 0) != (claims != NULL)) __builtin_trap();
    json_decref(claims);
    sb_nitro_ctx_free(c);
    free(owned);
    return 0;
}
