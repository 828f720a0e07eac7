/* internal: what every attester implementation shares — the dispatch table behind the opaque
 * sb_attester. Not part of the module's public interface. */
#ifndef SB_ATTESTER_INTERNAL_H
#define SB_ATTESTER_INTERNAL_H

#include "attester.h"

#define SB_REPORT_DATA_LEN 64

struct sb_attester_ops {
    /* report_data: the binding digest (48 bytes, SHA-384) zero-padded to 64; a platform that
     * takes fewer bytes uses the first 48. runtime_data is passed for attesters that embed it. */
    int (*evidence)(sb_attester *a, const uint8_t report_data[SB_REPORT_DATA_LEN],
                    const json_t *runtime_data, json_t **evidence, sb_error *err);
    void (*free)(sb_attester *a);
};

struct sb_attester {
    const struct sb_attester_ops *ops;
    char tee[32];
    void *state; /* the implementation's own */
};

/* A new attester with its ops and tee; state is the implementation's (freed by ops->free). */
int sb_attester_make(const struct sb_attester_ops *ops, const char *tee, void *state,
                     sb_attester **out, sb_error *err) SB_WUR;

#endif
