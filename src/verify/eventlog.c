/* eventlog replay: folds a parsed TCG event log into measurement-register values of one bank,
 * for TPM PCRs and for the TDX CCEL (RTMRs) alike. */
#include <string.h>

#include "verify.h"

int sb_tpm_alg_of_hash(enum sb_hash h) {
    switch (h) {
    case SB_HASH_SHA1: return SB_TPM_ALG_SHA1;
    case SB_HASH_SHA256: return SB_TPM_ALG_SHA256;
    case SB_HASH_SHA384: return SB_TPM_ALG_SHA384;
    case SB_HASH_SHA512: return SB_TPM_ALG_SHA512;
    default: return -1;
    }
}

int sb_tpm_hash_of_alg(uint16_t alg, enum sb_hash *out) {
    switch (alg) {
    case SB_TPM_ALG_SHA1: *out = SB_HASH_SHA1; return 0;
    case SB_TPM_ALG_SHA256: *out = SB_HASH_SHA256; return 0;
    case SB_TPM_ALG_SHA384: *out = SB_HASH_SHA384; return 0;
    case SB_TPM_ALG_SHA512: *out = SB_HASH_SHA512; return 0;
    default: return SB_E_UNSUPPORTED;
    }
}

int sb_eventlog_replay(const struct sb_eventlog *log, enum sb_hash h, struct sb_mr_bank *out,
                       sb_error *err) {
    int alg = sb_tpm_alg_of_hash(h);
    if (alg < 0) BAIL(err, SB_E_USAGE, "eventlog: no TPM algorithm for hash %d", (int)h);
    size_t hl = sb_hash_len(h);
    bool declared = false;
    for (uint8_t i = 0; i < log->n_algs && i < SB_EVENTLOG_MAX_ALGS; i++)
        if (log->algs[i].alg == alg) declared = true;
    if (!declared) BAIL(err, SB_E_NOTFOUND, "eventlog: the log has no %s bank", sb_hash_name(h));

    struct sb_mr_bank bank;
    memset(&bank, 0, sizeof(bank));
    bank.hash = h;
    if (log->startup_locality >= 0) bank.value[0][hl - 1] = (uint8_t)log->startup_locality;

    uint8_t buf[2 * SB_HASH_MAX_LEN];
    for (size_t i = 0; i < log->n_events; i++) {
        const struct sb_eventlog_event *ev = &log->events[i];
        if (ev->type == SB_EV_NO_ACTION) continue;
        if (ev->index >= SB_MR_MAX_INDEX)
            BAIL(err, SB_E_MALFORMED,
                 "eventlog: event %zu (offset 0x%zx) extends index %u (max %u)", i, ev->offset,
                 ev->index, SB_MR_MAX_INDEX - 1);
        const struct sb_eventlog_digest *d = sb_eventlog_event_digest(ev, (uint16_t)alg);
        if (!d || d->len != hl)
            BAIL(err, SB_E_MALFORMED, "eventlog: event %zu (offset 0x%zx) has no %s digest", i,
                 ev->offset, sb_hash_name(h));
        memcpy(buf, bank.value[ev->index], hl);
        memcpy(buf + hl, d->p, hl);
        TRY(sb_hash(h, buf, 2 * hl, bank.value[ev->index], err));
        bank.events[ev->index]++;
    }
    *out = bank;
    return 0;
}

int sb_eventlog_replay_bytes(const uint8_t *p, size_t n, unsigned flags, enum sb_hash h,
                             struct sb_mr_bank *out, sb_error *err) {
    struct sb_eventlog log;
    TRY(sb_eventlog_parse(p, n, flags, &log, err));
    int rc = sb_eventlog_replay(&log, h, out, err);
    sb_eventlog_free(&log);
    return rc;
}
