/* fuzz_eventlog: parses a TCG event log strictly and with CCEL padding allowed, checks every
 * accepted event lies inside the input, and replays each bank the header declares. */
#include <stddef.h>
#include <stdint.h>

#include "verify/verify.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(const struct sb_eventlog *log, const uint8_t *data, size_t size) {
    if (log->n_events == 0 || log->n_algs == 0 || log->n_algs > SB_EVENTLOG_MAX_ALGS)
        __builtin_trap();
    for (size_t i = 0; i < log->n_events; i++) {
        const struct sb_eventlog_event *e = &log->events[i];
        if (e->offset >= size || e->n_digests > SB_EVENTLOG_MAX_ALGS) __builtin_trap();
        if (e->data_len && (e->data < data || e->data + e->data_len > data + size))
            __builtin_trap();
        for (uint8_t d = 0; d < e->n_digests; d++)
            if (e->digests[d].p < data || e->digests[d].p + e->digests[d].len > data + size)
                __builtin_trap();
    }
    static const enum sb_hash banks[] = {SB_HASH_SHA1, SB_HASH_SHA256, SB_HASH_SHA384,
                                         SB_HASH_SHA512};
    for (size_t b = 0; b < SB_ARRAY_LEN(banks); b++) {
        struct sb_mr_bank bank;
        sb_error err = {0};
        if (sb_eventlog_replay(log, banks[b], &bank, &err) < 0 && err.msg[0] == '\0')
            __builtin_trap();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    for (unsigned flags = 0; flags <= SB_EVENTLOG_ALLOW_PADDING; flags++) {
        struct sb_eventlog log;
        sb_error err = {0};
        int rc = sb_eventlog_parse(data, size, flags, &log, &err);
        if (rc < 0) {
            if (err.msg[0] == '\0') __builtin_trap();
            continue;
        }
        check(&log, data, size);
        sb_eventlog_free(&log);
    }
    return 0;
}
