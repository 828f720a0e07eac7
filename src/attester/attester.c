/* attester: the common front of every attester — computes report_data from the KBS runtime
 * data (sb_policy_binding_digest) and dispatches to the implementation. */
#include <stdio.h>
#include <string.h>

#include "internal.h"
#include "policy/policy.h"

int sb_attester_make(const struct sb_attester_ops *ops, const char *tee, void *state,
                     sb_attester **out, sb_error *err) {
    sb_attester *a = calloc(1, sizeof(*a));
    ENSURE(a, err, SB_E_INTERNAL, "attester: out of memory");
    a->ops = ops;
    a->state = state;
    (void)snprintf(a->tee, sizeof(a->tee), "%s", tee);
    *out = a;
    return 0;
}

const char *sb_attester_tee(const sb_attester *a) { return a->tee; }

int sb_attester_evidence(sb_attester *a, const json_t *runtime_data, json_t **evidence,
                         sb_error *err) {
    uint8_t rd[SB_REPORT_DATA_LEN] = {0};
    TRY(sb_policy_binding_digest(runtime_data, rd, err));
    return a->ops->evidence(a, rd, runtime_data, evidence, err);
}

void sb_attester_free(sb_attester *a) {
    if (!a) return;
    if (a->ops && a->ops->free) a->ops->free(a);
    free(a);
}
