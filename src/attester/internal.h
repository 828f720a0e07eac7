/* attester internals: every attester is an sb_attester whose first member is its operations
 * table; sb_attester_tee/evidence/free dispatch through it (src/attester/attester.c). */
#ifndef SB_ATTESTER_INTERNAL_H
#define SB_ATTESTER_INTERNAL_H

#include "attester.h"

struct sb_attester_ops {
    const char *tee; /* KBS "tee" value: "tpm", "snp", "tdx", "sample" … */
    int (*evidence)(sb_attester *a, const json_t *runtime_data, json_t **evidence, sb_error *err);
    void (*free)(sb_attester *a);
};

struct sb_attester {
    const struct sb_attester_ops *ops;
};

#endif
