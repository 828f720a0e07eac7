/* fuzz_tpm_container: the JSON TPM containers (go-attestation, Trustee, Azure) and Azure's
 * bincode quote.bin, then the TPM structures of whatever they accepted. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

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

static bool same_bytes(const uint8_t *a, size_t an, const uint8_t *b, size_t bn) {
    return an == bn && (an == 0 || memcmp(a, b, an) == 0);
}

/* The memoized parse must give what the plain one gives: the same verdict and error, the same
 * fields. */
static void same(int rc, const sb_error *e, const struct sb_tpm_evidence *a, int rc2,
                 const sb_error *e2, const struct sb_tpm_evidence *b) {
    if (rc != rc2 || strcmp(e->msg, e2->msg) != 0) __builtin_trap();
    if (rc < 0) return;
    if (strcmp(a->format, b->format) != 0 || a->ak_kind != b->ak_kind ||
        !same_bytes(a->ak, a->ak_len, b->ak, b->ak_len) || a->n_quotes != b->n_quotes ||
        !same_bytes(a->event_log, a->event_log_len, b->event_log, b->event_log_len) ||
        !same_bytes(a->nonce, a->nonce_len, b->nonce, b->nonce_len))
        __builtin_trap();
    for (size_t i = 0; i < a->n_quotes; i++)
        if (!same_bytes(a->quotes[i].attest, a->quotes[i].attest_len, b->quotes[i].attest,
                        b->quotes[i].attest_len) ||
            !same_bytes(a->quotes[i].sig, a->quotes[i].sig_len, b->quotes[i].sig,
                        b->quotes[i].sig_len) ||
            a->quotes[i].pcrs.present != b->quotes[i].pcrs.present)
            __builtin_trap();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    sb_error err = {0};
    struct sb_tpm_evidence ev;
    int rc = sb_tpm_json_parse(data, size, &ev, &err);
    if (rc == 0) {
        inner(&ev);
    } else if (err.msg[0] == '\0') {
        __builtin_trap();
    }
    /* twice through one memo: the first fills it, the second may use it */
    struct sb_tpm_json_memo memo = {0};
    for (int k = 0; k < 2; k++) {
        struct sb_tpm_evidence ev2;
        sb_error e2 = {0};
        int rc2 = sb_tpm_json_parse_memo(data, size, &memo, &ev2, &e2);
        same(rc, &err, &ev, rc2, &e2, &ev2);
        if (rc2 == 0) sb_tpm_evidence_free(&ev2);
    }
    sb_tpm_json_memo_clear(&memo);
    if (rc == 0) sb_tpm_evidence_free(&ev);
    if (sb_tpm_bincode_quote_parse(data, size, &ev, &err) == 0) {
        inner(&ev);
        sb_tpm_evidence_free(&ev);
    }
    return 0;
}
