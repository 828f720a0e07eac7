/* pins: definition digests (SHA-256 of RFC 8785 canonical JSON) and the pin decision for one
 * definition — approved, changed since approval (drift), or never approved — over the store. */
#include <string.h>

#include "crypto/crypto.h"
#include "gateway.h"
#include "store/store.h"

int sb_gw_definition_digest(const json_t *def, char out[72], sb_error *err) {
    char *canon = NULL;
    size_t len = 0;
    TRY(sb_json_canonical(def, &canon, &len, err));
    uint8_t h[32];
    int rc = sb_hash(SB_HASH_SHA256, canon, len, h, err);
    free(canon);
    TRY(rc);
    memcpy(out, "sha256:", 7);
    sb_hex_encode(h, sizeof(h), out + 7);
    return 0;
}

int sb_gw_pin_check(sb_store *s, const char *server, const char *kind, const char *name,
                    const json_t *def, enum sb_gw_pin_mode mode, enum sb_gw_pin_state *state,
                    int64_t *id, sb_error *err) {
    *id = 0;
    if (mode == SB_GW_PIN_OFF) {
        *state = SB_GW_PIN_APPROVED;
        return 0;
    }
    if (!s) {
        *state = SB_GW_PIN_UNPINNED;
        return 0;
    }
    char digest[72];
    TRY(sb_gw_definition_digest(def, digest, err));
    bool approved = false;
    int rc = sb_store_pin_get(s, server, kind, name, digest, id, &approved, err);
    if (rc == 0 && approved) {
        *state = SB_GW_PIN_APPROVED;
        return 0;
    }
    if (rc < 0 && rc != SB_E_NOTFOUND) return rc;
    bool any = false;
    TRY(sb_store_pin_name_approved(s, server, kind, name, &any, err));
    if (rc == SB_E_NOTFOUND) {
        char *canon = NULL;
        size_t len = 0;
        TRY(sb_json_canonical(def, &canon, &len, err));
        bool tofu = mode == SB_GW_PIN_TOFU && !any;
        if (len > SB_PIN_DEF_MAX) canon[0] = 0; /* the digest still pins it */
        rc = sb_store_pin_insert(s, server, kind, name, digest, canon, tofu, id, err);
        free(canon);
        TRY(rc);
        if (tofu) {
            *state = SB_GW_PIN_APPROVED;
            return 0;
        }
    }
    *state = any ? SB_GW_PIN_CHANGED : SB_GW_PIN_UNPINNED;
    return 0;
}
