/* binding: the runtime-data binding of docs/architecture.md — SHA-384 over the JCS-canonical
 * JSON of {"tee-pubkey", "nonce", "additional-evidence"[, "sealbox-log"]}, Trustee's KBS
 * construction byte for byte. */
#include <string.h>

#include "crypto/crypto.h"
#include "policy.h"

int sb_policy_binding_digest(const json_t *rd, uint8_t out[48], sb_error *err) {
    ENSURE(json_is_object(rd), err, SB_E_MALFORMED, "binding: expected an object");
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)rd, k, v) {
        if (strcmp(k, "tee-pubkey") == 0)
            ENSURE(json_is_object(v), err, SB_E_MALFORMED, "binding: tee-pubkey: expected a JWK");
        else if (!strcmp(k, "nonce") || !strcmp(k, "additional-evidence") ||
                 !strcmp(k, "sealbox-log"))
            ENSURE(json_is_string(v), err, SB_E_MALFORMED, "binding: %s: expected a string", k);
        else
            BAIL(err, SB_E_MALFORMED,
                 "binding: unknown key '%s' (tee-pubkey, nonce, additional-evidence, sealbox-log)",
                 k);
    }
    ENSURE(json_object_get(rd, "tee-pubkey") && json_object_get(rd, "nonce"), err, SB_E_MALFORMED,
           "binding: tee-pubkey and nonce are required");
    /* Trustee always hashes the three fields, "" when there is no additional evidence. */
    json_t *obj = json_deep_copy(rd);
    if (!obj) BAIL(err, SB_E_INTERNAL, "out of memory");
    if (!json_object_get(obj, "additional-evidence") &&
        json_object_set_new(obj, "additional-evidence", json_string("")) < 0) {
        json_decref(obj);
        BAIL(err, SB_E_INTERNAL, "out of memory");
    }
    char *canon = NULL;
    size_t n = 0;
    int rc = sb_json_canonical(obj, &canon, &n, err);
    json_decref(obj);
    if (rc < 0) return rc;
    rc = sb_hash(SB_HASH_SHA384, canon, n, out, err);
    free(canon);
    return rc;
}
