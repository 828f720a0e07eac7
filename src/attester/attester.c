/* attester: the common front of the evidence producers — dispatch to the attester's own
 * operations (src/attester/internal.h). */
#include "internal.h"

const char *sb_attester_tee(const sb_attester *a) { return a ? a->ops->tee : NULL; }

int sb_attester_evidence(sb_attester *a, const json_t *runtime_data, json_t **evidence,
                         sb_error *err) {
    ENSURE(a && runtime_data && evidence, err, SB_E_USAGE, "attester: NULL argument");
    return a->ops->evidence(a, runtime_data, evidence, err);
}

void sb_attester_free(sb_attester *a) {
    if (a) a->ops->free(a);
}
