/* front_kbs: the KBS routes of the unprivileged front — Trustee's protocol 0.4.0 (auth, attest,
 * resource) and the admin routes. The front keeps the handshake sessions, parses every body,
 * verifies the evidence and checks its binding; it holds no key, so it asks the monitor to
 * sign the token (kbs_attest), to release a resource (kbs_resource) and to run admin
 * operations (kbs_admin). */
#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "../crypto/crypto.h"
#include "../kbs/kbs.h"
#include "../sandbox/sandbox.h"
#include "../verify/verify.h"
#include "front_int.h"

#define SESSIONS_CAP 65536u

struct sb_front_kbs {
    sb_kbs_sessions *sessions;
    sb_verify_ctx *vctx;
    unsigned ttl;
};

/* OpenSSL loads its providers and algorithms on first use, which may open files: do one of
 * each operation the front needs before seccomp closes the file system. */
static int warm_up(sb_error *err) {
    sb_privkey *k = NULL, *e = NULL;
    sb_pubkey *pub = NULL;
    uint8_t *sig = NULL, d[64];
    size_t siglen = 0;
    json_t *jwk = NULL, *jwe = NULL;
    int r = sb_privkey_generate_ec(SB_CURVE_P384, &k, err);
    if (r == 0) r = sb_sign(k, SB_HASH_SHA384, "x", 1, SB_ECDSA_RAW_BE, &sig, &siglen, err);
    if (r == 0) r = sb_privkey_public(k, &pub, err);
    if (r == 0) r = sb_ecdsa_verify(pub, SB_HASH_SHA384, "x", 1, sig, siglen, SB_ECDSA_RAW_BE, err);
    if (r == 0) r = sb_hash(SB_HASH_SHA512, "x", 1, d, err);
    if (r == 0) r = sb_privkey_generate_ec(SB_CURVE_P256, &e, err);
    if (r == 0) r = sb_jwe_tee_pubkey(e, &jwk, err);
    if (r == 0) r = sb_jwe_check_pubkey(jwk, err);
    if (r == 0) r = sb_jwe_encrypt(jwk, (const uint8_t *)"x", 1, &jwe, err);
    json_decref(jwe);
    json_decref(jwk);
    free(sig);
    sb_pubkey_free(pub);
    sb_privkey_free(k);
    sb_privkey_free(e);
    return r;
}

int sb_front_kbs_new(const sb_front_cfg *cfg, struct sb_front_kbs **out, sb_error *err) {
    struct sb_front_kbs *k = calloc(1, sizeof(*k));
    ENSURE(k, err, SB_E_INTERNAL, "front: out of memory");
    k->ttl = cfg->kbs_session_ttl ? cfg->kbs_session_ttl : SB_KBS_SESSION_TTL_DEFAULT;
    int r = sb_kbs_sessions_new(SESSIONS_CAP, &k->sessions, err);
    if (r == 0) r = sb_verify_ctx_new(&k->vctx, err);
    if (r == 0) r = warm_up(err);
    if (r < 0) {
        sb_front_kbs_free(k);
        return sb_error_prefix(err, "front kbs");
    }
    *out = k;
    return 0;
}

void sb_front_kbs_free(struct sb_front_kbs *k) {
    if (!k) return;
    sb_kbs_sessions_free(k->sessions);
    sb_verify_ctx_free(k->vctx);
    free(k);
}

/* ---- answers ------------------------------------------------------------------------------ */

/* Trustee's RFC 7807 error: its type, its status (401 unless a path or policy says else). */
static void kbs_problem(struct front *f, struct evhttp_request *req, enum route r, uint64_t start,
                        const char *type, const char *fmt, ...) SB_PRINTF(6, 7);
static void kbs_problem(struct front *f, struct evhttp_request *req, enum route r, uint64_t start,
                        const char *type, const char *fmt, ...) {
    char detail[SB_ERRMSG_MAX + 128];
    va_list ap;
    va_start(ap, fmt);
    (void)vsnprintf(detail, sizeof(detail), fmt, ap);
    va_end(ap);
    int status = !strcmp(type, "InvalidRequestPath") || !strcmp(type, "PluginNotFound") ? 404
                 : !strcmp(type, "PolicyDeny")                                          ? 403
                 : !strcmp(type, "PayloadTooLarge")                                     ? 413
                                                                                        : 401;
    json_t *j = sb_kbs_problem_json(type, detail);
    char *s = j ? json_dumps(j, JSON_COMPACT) : NULL;
    json_decref(j);
    const char *body = s ? s : "{}";
    sb_front_send(f, req, r, start, status, "application/problem+json", body, strlen(body));
    free(s);
}

static void set_cookie(struct evhttp_request *req, const char *id, unsigned ttl) {
    char c[160];
    (void)snprintf(c, sizeof(c), SB_KBS_COOKIE "=%s; Max-Age=%u; HttpOnly", id, ttl);
    (void)evhttp_add_header(evhttp_request_get_output_headers(req), "Set-Cookie", c);
}

/* The request body, at most max bytes (NULL with *n > max when it is longer). */
static const uint8_t *body_of(struct evhttp_request *req, size_t max, size_t *n) {
    struct evbuffer *in = evhttp_request_get_input_buffer(req);
    *n = evbuffer_get_length(in);
    if (*n > max) return NULL;
    if (*n == 0) return (const uint8_t *)"";
    return evbuffer_pullup(in, (ev_ssize_t)*n);
}

/* ---- the protocol --------------------------------------------------------------------------- */

static void do_auth(struct front *f, struct evhttp_request *req, uint64_t start) {
    struct sb_front_kbs *k = sb_front_kbs_of(f);
    size_t n = 0;
    const uint8_t *p = body_of(req, SB_KBS_AUTH_MAX, &n);
    struct sb_kbs_auth a;
    sb_error err = {0};
    if (!p || sb_kbs_parse_auth(p, n, &a, &err) < 0) {
        kbs_problem(f, req, R_KBS_AUTH, start, "AttestationError",
                    "Attestation error: RCAR handshake Auth failed: %s",
                    p ? err.msg : "body too large");
        return;
    }
    struct sb_kbs_session *s = NULL;
    if (sb_kbs_session_create(k->sessions, a.tee, k->ttl, sb_mono_ns(), &s, &err) < 0) {
        kbs_problem(f, req, R_KBS_AUTH, start, "AttestationError", "Attestation error: %s",
                    err.msg);
        return;
    }
    /* Trustee's Challenge: extra-params is an empty string. */
    char body[160];
    int len = snprintf(body, sizeof(body), "{\"nonce\":\"%s\",\"extra-params\":\"\"}", s->nonce);
    set_cookie(req, s->id, k->ttl);
    sb_front_send(f, req, R_KBS_AUTH, start, 200, "application/json", body, (size_t)len);
}

static bool session_of(struct front *f, struct evhttp_request *req, enum route r, uint64_t start,
                       struct sb_kbs_session **out, const char *missing_type) {
    struct sb_front_kbs *k = sb_front_kbs_of(f);
    const char *h = evhttp_find_header(evhttp_request_get_input_headers(req), "Cookie");
    char id[SB_KBS_SESSION_ID_LEN + 1];
    sb_error err = {0};
    if (sb_kbs_cookie_session(h, id, &err) < 0 ||
        sb_kbs_session_find(k->sessions, id, sb_mono_ns(), out, &err) < 0) {
        kbs_problem(f, req, r, start, missing_type, "%s: %s",
                    r == R_KBS_ATTEST ? "Attestation error" : "Attestation Token not found",
                    err.msg);
        return false;
    }
    return true;
}

/* The sandbox measurement log presented with the evidence: replayed (never trusted), its digest
 * must be the one the evidence bound (runtime-data sealbox-log), and its summary (image, config,
 * entrypoint, taint) joins the claims as "sealbox_log" for the resource policy. */
static int replay_log(const struct sb_kbs_attest *a, json_t *claims, sb_error *err) {
    char *lj = json_dumps(a->log, JSON_COMPACT);
    ENSURE(lj, err, SB_E_INTERNAL, "out of memory");
    size_t n = strlen(lj);
    struct sb_mlog_replay rp;
    memset(&rp, 0, sizeof(rp));
    int r = n > SB_MLOG_MAX_JSON
                ? sb_error_set(err, SB_E_LIMIT, "tee-evidence.sealbox_log: %zu bytes (max %u)", n,
                               (unsigned)SB_MLOG_MAX_JSON)
                : sb_mlog_replay((const uint8_t *)lj, n, &rp, err);
    free(lj);
    if (r < 0) return sb_error_prefix(err, "tee-evidence.sealbox_log");
    char d[104];
    sb_mlog_digest_str(rp.digest, d);
    if (strcmp(d, a->log_digest) != 0)
        r = sb_error_set(err, SB_E_POLICY,
                         "runtime-data.sealbox-log %.40s… is not the digest of the presented log "
                         "(%.40s…)",
                         a->log_digest, d);
    if (r == 0 && json_object_set(claims, "sealbox_log", rp.summary) < 0)
        r = sb_error_set(err, SB_E_INTERNAL, "out of memory");
    sb_mlog_replay_clear(&rp);
    return r;
}

/* Verifies the evidence of a parsed attest request into claims: the platform's verifier at the
 * current time, then the binding of runtime-data (nonce, key, log digest) into report_data. */
static int verify_attest(struct sb_front_kbs *k, const char *tee, const struct sb_kbs_attest *a,
                         json_t **claims, sb_error *err) {
    const char *platform = sb_kbs_tee_platform(tee);
    ENSURE(platform, err, SB_E_UNSUPPORTED, "tee %s: sealbox has no verifier for it", tee);
    uint8_t *ev = NULL;
    size_t evn = 0;
    TRY(sb_kbs_evidence_bytes(a->primary, &ev, &evn, err));
    struct sb_blob blob = {.name = "primary_evidence", .data = ev, .len = evn};
    struct sb_verify_opts o = {.at = sb_time_now()};
    json_t *c = NULL;
    int r = sb_verify_with(k->vctx, &o, platform, &blob, 1, NULL, &c, err);
    free(ev);
    if (r < 0) return sb_error_prefix(err, "verify TEE evidence failed");
    r = sb_kbs_check_binding(c, a->runtime_data, err);
    if (r == 0 && a->log) r = replay_log(a, c, err);
    if (r < 0) {
        json_decref(c);
        return r;
    }
    *claims = c;
    return 0;
}

static void do_attest(struct front *f, struct evhttp_request *req, uint64_t start) {
    struct sb_front_kbs *k = sb_front_kbs_of(f);
    struct sb_kbs_session *s = NULL;
    if (!session_of(f, req, R_KBS_ATTEST, start, &s, "AttestationError")) return;
    if (s->state != SB_KBS_S_AUTHED) {
        kbs_problem(f, req, R_KBS_ATTEST, start, "AttestationError",
                    "Attestation error: the nonce of this session was already used (a nonce is "
                    "good once: start again with auth)");
        return;
    }
    /* From here the nonce is spent, whatever the outcome. */
    s->state = SB_KBS_S_ATTESTING;
    char sid[SB_KBS_SESSION_ID_LEN + 1], tee[SB_KBS_TEE_MAX + 1];
    memcpy(sid, s->id, sizeof(sid));
    memcpy(tee, s->tee, sizeof(tee));
    size_t n = 0;
    const uint8_t *p = body_of(req, SB_KBS_ATTEST_MAX, &n);
    struct sb_kbs_attest a;
    memset(&a, 0, sizeof(a));
    json_t *claims = NULL;
    char *cj = NULL, *rj = NULL;
    sb_error err = {0};
    int r = p ? sb_kbs_parse_attest(p, n, &a, &err)
              : sb_error_set(&err, SB_E_LIMIT, "body over %u bytes", SB_KBS_ATTEST_MAX);
    if (r == 0 &&
        (strlen(a.nonce) != strlen(s->nonce) || !sb_ct_equal(a.nonce, s->nonce, strlen(s->nonce))))
        r = sb_error_set(&err, SB_E_POLICY,
                         "the nonce in the handshake session is different from the client side "
                         "in KBS protocol's Attestation message");
    if (r == 0) r = verify_attest(k, tee, &a, &claims, &err);
    if (r == 0) {
        cj = json_dumps(claims, JSON_COMPACT);
        rj = json_dumps(a.runtime_data, JSON_COMPACT);
        if (!cj || !rj)
            r = sb_error_set(&err, SB_E_INTERNAL, "out of memory");
        else if (strlen(cj) > SB_IPC_KBS_CLAIMS_MAX || strlen(rj) > SB_IPC_KBS_RUNTIME_MAX)
            r = sb_error_set(&err, SB_E_LIMIT, "claims of %zu bytes over the limit (%u)",
                             strlen(cj), SB_IPC_KBS_CLAIMS_MAX);
    }
    if (r < 0) {
        sb_kbs_session_drop(k->sessions, s);
        kbs_problem(f, req, R_KBS_ATTEST, start, "AttestationError",
                    "Attestation error: RCAR handshake Attest failed: %s", err.msg);
    } else {
        sb_ipc_val v[3] = {sb_ipc_s(tee), sb_ipc_b(cj, strlen(cj)), sb_ipc_b(rj, strlen(rj))};
        sb_front_forward(f, req, R_KBS_ATTEST, start, SB_IPC_KBS_ATTEST, v, 3, sid);
    }
    free(cj);
    free(rj);
    json_decref(claims);
    sb_kbs_attest_clear(&a);
}

int sb_front_kbs_attested(struct front *f, struct evhttp_request *req, const char *session,
                          int status, const uint8_t *body, size_t n) {
    struct sb_front_kbs *k = sb_front_kbs_of(f);
    struct sb_kbs_session *s = NULL;
    sb_error err = {0};
    if (sb_kbs_session_find(k->sessions, session, sb_mono_ns(), &s, &err) < 0) return status;
    if (status != 200) {
        sb_kbs_session_drop(k->sessions, s);
        return status;
    }
    json_t *j = json_loadb((const char *)body, n, 0, NULL);
    const char *tok = json_string_value(json_object_get(j, "token"));
    free(s->token);
    s->token = tok ? strdup(tok) : NULL;
    json_decref(j);
    if (!s->token) {
        sb_kbs_session_drop(k->sessions, s);
        return 500;
    }
    s->state = SB_KBS_S_ATTESTED;
    set_cookie(req, s->id, k->ttl);
    return status;
}

/* The bearer value of Authorization, or NULL. */
static const char *bearer(struct evhttp_request *req) {
    const char *h = evhttp_find_header(evhttp_request_get_input_headers(req), "Authorization");
    if (!h || strncasecmp(h, "Bearer ", 7) != 0) return NULL;
    h += 7;
    while (*h == ' ')
        h++;
    return h;
}

static bool jwt_shaped(const char *t) {
    size_t n = strnlen(t, SB_IPC_KBS_TOKEN_MAX + 1), dots = 0;
    if (n == 0 || n > SB_IPC_KBS_TOKEN_MAX) return false;
    for (size_t i = 0; i < n; i++) {
        char c = t[i];
        if (c == '.')
            dots++;
        else if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                   c == '-' || c == '_'))
            return false;
    }
    return dots == 2;
}

static void do_resource(struct front *f, struct evhttp_request *req, uint64_t start,
                        const char *path) {
    struct sb_kbs_session *s = NULL;
    const char *tok = bearer(req);
    if (tok) {
        if (!jwt_shaped(tok)) {
            kbs_problem(f, req, R_KBS_RESOURCE, start, "TokenVerifierError",
                        "Token Verifier error: the bearer token is not a compact JWS");
            return;
        }
    } else {
        if (!session_of(f, req, R_KBS_RESOURCE, start, &s, "TokenNotFound")) return;
        if (s->state != SB_KBS_S_ATTESTED || !s->token) {
            kbs_problem(f, req, R_KBS_RESOURCE, start, "TokenNotFound",
                        "Attestation Token not found: the session is not attested");
            return;
        }
        tok = s->token;
    }
    sb_ipc_val v[2] = {sb_ipc_s(tok), sb_ipc_s(path)};
    sb_front_forward(f, req, R_KBS_RESOURCE, start, SB_IPC_KBS_RESOURCE, v, 2, NULL);
}

static void do_admin(struct front *f, struct evhttp_request *req, uint64_t start,
                     enum sb_kbs_admin_op op, const char *path, const char *what) {
    const char *key = bearer(req);
    if (!key || !sb_apikey_well_formed(key, strlen(key))) {
        kbs_problem(f, req, R_KBS_ADMIN, start, "AdminAuthAccess",
                    "admin access denied for endpoint %s: %s", what,
                    key ? "invalid admin key" : "missing Authorization: Bearer <admin key>");
        return;
    }
    size_t n = 0;
    const uint8_t *p = body_of(req, SB_IPC_KBS_BODY_MAX, &n);
    if (!p) {
        kbs_problem(f, req, R_KBS_ADMIN, start, "PayloadTooLarge", "body over %u bytes",
                    SB_IPC_KBS_BODY_MAX);
        return;
    }
    bool wants_body = op == SB_KBS_ADM_RESOURCE_PUT || op == SB_KBS_ADM_RPOLICY_SET ||
                      op == SB_KBS_ADM_APOLICY_SET;
    if (!wants_body && n) {
        kbs_problem(f, req, R_KBS_ADMIN, start, "InvalidRequestPath", "%s takes no body", what);
        return;
    }
    sb_ipc_val v[4] = {sb_ipc_s(key), sb_ipc_u((uint64_t)op), sb_ipc_s(path ? path : ""),
                       sb_ipc_b(p, n)};
    sb_front_forward(f, req, R_KBS_ADMIN, start, SB_IPC_KBS_ADMIN, v, 4, NULL);
}

/* Routes /kbs/v0/...: auth, attest, resource/<repo>/<type>/<tag>, and the admin routes
 * resources, resource-policy, attestation-policy. */
void sb_front_kbs_request(struct front *f, struct evhttp_request *req, const char *path,
                          uint64_t start) {
    enum evhttp_cmd_type m = evhttp_request_get_command(req);
    const char *rest = path + strlen("/kbs/v0/");
    size_t plugin_len = strcspn(rest, "/");
    char plugin[40];
    if (plugin_len == 0 || plugin_len >= sizeof(plugin)) {
        kbs_problem(f, req, R_KBS_RESOURCE, start, "InvalidRequestPath",
                    "Request path %.100s is invalid", path);
        return;
    }
    memcpy(plugin, rest, plugin_len);
    plugin[plugin_len] = 0;
    const char *sub = rest[plugin_len] == '/' ? rest + plugin_len + 1 : NULL;
    bool post = m == EVHTTP_REQ_POST, get = m == EVHTTP_REQ_GET, del = m == EVHTTP_REQ_DELETE;
    if (strcmp(plugin, "resource") == 0) {
        if (!sub || !sb_store_kbs_path_valid(sub)) {
            kbs_problem(f, req, R_KBS_RESOURCE, start, "InvalidRequestPath",
                        "Request path %.200s is invalid (resource/<repository>/<type>/<tag>)",
                        path);
        } else if (get) {
            do_resource(f, req, start, sub);
        } else if (post || m == EVHTTP_REQ_PUT) {
            do_admin(f, req, start, SB_KBS_ADM_RESOURCE_PUT, sub, "resource put");
        } else if (del) {
            do_admin(f, req, start, SB_KBS_ADM_RESOURCE_DELETE, sub, "resource delete");
        } else {
            kbs_problem(f, req, R_KBS_RESOURCE, start, "InvalidRequestPath",
                        "method not allowed on %.200s", path);
        }
        return;
    }
    if (sub) {
        kbs_problem(f, req, R_KBS_RESOURCE, start, "PluginNotFound", "Plugin %s not found", plugin);
        return;
    }
    static const struct {
        const char *name;
        enum sb_kbs_admin_op set, get, del;
    } POLICIES[] = {
        {"resource-policy", SB_KBS_ADM_RPOLICY_SET, SB_KBS_ADM_RPOLICY_GET,
         SB_KBS_ADM_RPOLICY_DELETE},
        {"attestation-policy", SB_KBS_ADM_APOLICY_SET, SB_KBS_ADM_APOLICY_GET,
         SB_KBS_ADM_APOLICY_DELETE},
    };
    if (strcmp(plugin, "auth") == 0 && post) {
        do_auth(f, req, start);
        return;
    }
    if (strcmp(plugin, "attest") == 0 && post) {
        do_attest(f, req, start);
        return;
    }
    if (strcmp(plugin, "resources") == 0 && get) {
        do_admin(f, req, start, SB_KBS_ADM_RESOURCE_LIST, NULL, "resources");
        return;
    }
    for (size_t i = 0; i < SB_ARRAY_LEN(POLICIES); i++) {
        if (strcmp(plugin, POLICIES[i].name) != 0 || !(post || get || del)) continue;
        do_admin(f, req, start,
                 post  ? POLICIES[i].set
                 : get ? POLICIES[i].get
                       : POLICIES[i].del,
                 NULL, POLICIES[i].name);
        return;
    }
    if (!strcmp(plugin, "auth") || !strcmp(plugin, "attest") || !strcmp(plugin, "resources") ||
        !strcmp(plugin, "resource-policy") || !strcmp(plugin, "attestation-policy"))
        kbs_problem(f, req, R_KBS_RESOURCE, start, "InvalidRequestPath",
                    "method not allowed on %.100s", path);
    else
        kbs_problem(f, req, R_KBS_RESOURCE, start, "PluginNotFound", "Plugin %s not found", plugin);
}
