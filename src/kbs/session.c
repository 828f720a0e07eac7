/* session: the KBS handshake sessions, kept in the daemon's front. A fixed ring of slots: a
 * session id is its slot (8 hex) and 128 random bits (32 hex), so a lookup is one slot and a
 * constant-time compare; a new session takes the next slot of the ring, which holds the oldest
 * session, so a flood of auth requests costs bounded memory. */
#include <string.h>

#include "crypto/crypto.h"
#include "kbs.h"

#define SESSIONS_MAX (1u << 20)

struct sb_kbs_sessions {
    struct sb_kbs_session *v;
    size_t cap, next, live;
};

int sb_kbs_sessions_new(size_t capacity, sb_kbs_sessions **out, sb_error *err) {
    ENSURE(capacity > 0 && capacity <= SESSIONS_MAX, err, SB_E_USAGE,
           "kbs sessions: capacity %zu (1..%u)", capacity, SESSIONS_MAX);
    sb_kbs_sessions *t = calloc(1, sizeof(*t));
    if (t) t->v = calloc(capacity, sizeof(*t->v));
    if (!t || !t->v) {
        free(t);
        BAIL(err, SB_E_INTERNAL, "kbs sessions: out of memory");
    }
    t->cap = capacity;
    *out = t;
    return 0;
}

static void slot_clear(sb_kbs_sessions *t, struct sb_kbs_session *s) {
    if (s->used) t->live--;
    free(s->token);
    memset(s, 0, sizeof(*s));
}

void sb_kbs_sessions_free(sb_kbs_sessions *t) {
    if (!t) return;
    for (size_t i = 0; i < t->cap; i++)
        slot_clear(t, &t->v[i]);
    free(t->v);
    free(t);
}

size_t sb_kbs_sessions_live(const sb_kbs_sessions *t) { return t->live; }

void sb_kbs_session_drop(sb_kbs_sessions *t, struct sb_kbs_session *s) {
    if (s) slot_clear(t, s);
}

int sb_kbs_session_create(sb_kbs_sessions *t, const char *tee, unsigned ttl_s, uint64_t now_ns,
                          struct sb_kbs_session **out, sb_error *err) {
    ENSURE(tee && strlen(tee) <= SB_KBS_TEE_MAX, err, SB_E_USAGE, "kbs session: bad tee");
    uint8_t rnd[16 + SB_KBS_NONCE_LEN];
    TRY(sb_random(rnd, sizeof(rnd), err));
    size_t slot = t->next;
    t->next = (t->next + 1) % t->cap;
    struct sb_kbs_session *s = &t->v[slot];
    slot_clear(t, s);
    char hex[33];
    sb_hex_encode(rnd, 16, hex);
    (void)snprintf(s->id, sizeof(s->id), "%08zx%s", slot, hex);
    char *nonce = sb_base64_encode(rnd + 16, SB_KBS_NONCE_LEN);
    sb_wipe(rnd, sizeof(rnd));
    ENSURE(nonce && strlen(nonce) < sizeof(s->nonce), err, SB_E_INTERNAL, "out of memory");
    memcpy(s->nonce, nonce, strlen(nonce) + 1);
    free(nonce);
    memcpy(s->tee, tee, strlen(tee) + 1);
    s->expires_ns = now_ns + (uint64_t)ttl_s * 1000000000u;
    s->state = SB_KBS_S_AUTHED;
    s->used = true;
    t->live++;
    *out = s;
    return 0;
}

int sb_kbs_session_find(sb_kbs_sessions *t, const char *id, uint64_t now_ns,
                        struct sb_kbs_session **out, sb_error *err) {
    ENSURE(id && strlen(id) == SB_KBS_SESSION_ID_LEN, err, SB_E_NOTFOUND, "unknown session");
    size_t slot = 0;
    for (int i = 0; i < 8; i++) {
        char c = id[i];
        int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
        ENSURE(d >= 0, err, SB_E_NOTFOUND, "unknown session");
        slot = slot * 16 + (size_t)d;
    }
    ENSURE(slot < t->cap, err, SB_E_NOTFOUND, "unknown session");
    struct sb_kbs_session *s = &t->v[slot];
    ENSURE(s->used && sb_ct_equal(s->id, id, SB_KBS_SESSION_ID_LEN), err, SB_E_NOTFOUND,
           "unknown session (never opened, or dropped: finished, replaced or expired)");
    if (now_ns >= s->expires_ns) {
        slot_clear(t, s);
        BAIL(err, SB_E_POLICY, "session expired");
    }
    *out = s;
    return 0;
}
