/* pins: definition digests (SHA-256 of RFC 8785 canonical JSON) and the pin decision for one
 * definition — approved, changed since approval (drift), or never approved — over the store. */
#include <string.h>

#include "crypto/crypto.h"
#include "gateway.h"
#include "store/store.h"

int sb_gw_definition_digest(const json_t *def, char out[72], sb_error *err) {
    uint8_t h[32];
    TRY(sb_gw_pin_digest(def, h, err));
    memcpy(out, "sha256:", 7);
    sb_hex_encode(h, sizeof(h), out + 7);
    return 0;
}

static int st_get(void *ctx, const char *server, const char *kind, const char *name,
                  const char *digest, int64_t *id, bool *approved, sb_error *err) {
    return sb_store_pin_get(ctx, server, kind, name, digest, id, approved, err);
}
static int st_name(void *ctx, const char *server, const char *kind, const char *name, bool *any,
                   sb_error *err) {
    return sb_store_pin_name_approved(ctx, server, kind, name, any, err);
}
static int st_insert(void *ctx, const char *server, const char *kind, const char *name,
                     const char *digest, const char *canon, bool approved, int64_t *id,
                     sb_error *err) {
    return sb_store_pin_insert(ctx, server, kind, name, digest, canon, approved, id, err);
}

void sb_gw_host_from_store(sb_store *st, struct sb_gw_host *out) {
    memset(out, 0, sizeof(*out));
    if (!st) return;
    out->ctx = st;
    out->pin_get = st_get;
    out->pin_name_approved = st_name;
    out->pin_insert = st_insert;
}

int sb_gw_pin_check(sb_store *s, const char *server, const char *kind, const char *name,
                    const json_t *def, enum sb_gw_pin_mode mode, enum sb_gw_pin_state *state,
                    int64_t *id, sb_error *err) {
    struct sb_gw_host h;
    sb_gw_host_from_store(s, &h);
    return sb_gw_pin_check_host(&h, server, kind, name, def, mode, state, id, err);
}

int sb_gw_pin_check_host(const struct sb_gw_host *h, const char *server, const char *kind,
                         const char *name, const json_t *def, enum sb_gw_pin_mode mode,
                         enum sb_gw_pin_state *state, int64_t *id, sb_error *err) {
    *id = 0;
    if (mode == SB_GW_PIN_OFF) {
        *state = SB_GW_PIN_APPROVED;
        return 0;
    }
    if (!h || !h->pin_get) {
        *state = SB_GW_PIN_UNPINNED;
        return 0;
    }
    char digest[72];
    TRY(sb_gw_definition_digest(def, digest, err));
    bool approved = false;
    int rc = h->pin_get(h->ctx, server, kind, name, digest, id, &approved, err);
    if (rc == 0 && approved) {
        *state = SB_GW_PIN_APPROVED;
        return 0;
    }
    if (rc < 0 && rc != SB_E_NOTFOUND) return rc;
    bool any = false;
    TRY(h->pin_name_approved(h->ctx, server, kind, name, &any, err));
    if (rc == SB_E_NOTFOUND) {
        char *canon = NULL;
        size_t len = 0;
        TRY(sb_json_canonical(def, &canon, &len, err));
        bool tofu = mode == SB_GW_PIN_TOFU && !any;
        if (len > SB_PIN_DEF_MAX) canon[0] = 0; /* the digest still pins it */
        rc = h->pin_insert(h->ctx, server, kind, name, digest, canon, tofu, id, err);
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
