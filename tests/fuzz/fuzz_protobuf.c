/* fuzz_protobuf: walks the input as nested protobuf messages with the bounded wire reader (every
 * length-delimited field is tried as a sub-message, to a depth limit), then parses it as a
 * go-tpm-tools Attestation. */
#include <stddef.h>
#include <stdint.h>

#include "evidence/evidence.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void ignore(int rc) { (void)rc; }

#define MAX_DEPTH 8

static void walk(sb_reader *r, int depth) {
    for (int n = 0; n < 4096 && sb_reader_remaining(r) > 0; n++) {
        struct sb_pb_field f;
        if (sb_pb_next(r, &f) < 0) return;
        if (r->off > r->len) __builtin_trap();
        if (f.wire == SB_PB_LEN && depth < MAX_DEPTH) walk(&f.body, depth + 1);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    sb_error err = {0};
    sb_reader r;
    sb_reader_init(&r, data, size, "fuzz", &err);
    walk(&r, 0);
    struct sb_tpm_evidence ev;
    if (sb_tpm_gotpm_parse(data, size, &ev, &err) == 0) {
        if (ev.n_quotes == 0 || ev.n_quotes > SB_TPM_MAX_QUOTES) __builtin_trap();
        for (size_t i = 0; i < ev.n_quotes; i++) {
            struct sb_tpm_attest a;
            ignore(sb_tpm_attest_parse(ev.quotes[i].attest, ev.quotes[i].attest_len, &a, &err));
        }
        sb_tpm_evidence_free(&ev);
    } else if (err.msg[0] == '\0') {
        __builtin_trap();
    }
    return 0;
}
