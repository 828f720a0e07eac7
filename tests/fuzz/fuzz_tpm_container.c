/* fuzz_tpm_container: the JSON TPM containers (go-attestation, Trustee, Azure) and Azure's
 * bincode quote.bin, then the TPM structures of whatever they accepted. */
#include <stddef.h>
#include <stdint.h>

#include "evidence/evidence.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void ignore(int rc) { (void)rc; }

static void inner(const struct sb_tpm_evidence *ev) {
    sb_error err = {0};
    for (size_t i = 0; i < ev->n_quotes; i++) {
        struct sb_tpm_attest a;
        struct sb_tpm_signature s;
        ignore(sb_tpm_attest_parse(ev->quotes[i].attest, ev->quotes[i].attest_len, &a, &err));
        if (!ev->quotes[i].sig_raw)
            ignore(sb_tpm_signature_parse(ev->quotes[i].sig, ev->quotes[i].sig_len, &s, &err));
    }
    if (ev->event_log) {
        struct sb_eventlog log;
        if (sb_eventlog_parse(ev->event_log, ev->event_log_len, 0, &log, &err) == 0)
            sb_eventlog_free(&log);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    sb_error err = {0};
    struct sb_tpm_evidence ev;
    if (sb_tpm_json_parse(data, size, &ev, &err) == 0) {
        inner(&ev);
        sb_tpm_evidence_free(&ev);
    } else if (err.msg[0] == '\0') {
        __builtin_trap();
    }
    if (sb_tpm_bincode_quote_parse(data, size, &ev, &err) == 0) {
        inner(&ev);
        sb_tpm_evidence_free(&ev);
    }
    return 0;
}
