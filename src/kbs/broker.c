/* broker: the KBS steps that need keys, run by the daemon's monitor — issuing an EAR token for
 * claims the front verified (after re-checking the binding and appraising them), releasing a
 * resource against a token the broker signed itself (signature, expiry, resource policy, JWE
 * to the key inside the token), and the admin operations on resources and policies. */
#include <stdio.h>
#include <string.h>

#include "crypto/crypto.h"
#include "kbs.h"
#include "verify/verify.h"

#define POLICY_ATTESTATION "attestation"
#define POLICY_RESOURCE "resource"

/* The tokens this broker signed, most recent last: the SHA-256 of the compact JWS and the
 * payload it signed. A token presented at a resource request whose bytes hash to an entry is
 * one this broker made, so its signature holds by construction and the signature check and
 * payload parse are skipped; its expiry and the resource policy are still checked every time.
 * Tokens not found (older ones, ones from before a restart) are verified in full. */
#define ISSUED_MAX 512u
struct issued {
    uint8_t hash[32];
    json_t *payload; /* NULL: an empty slot */
};

struct sb_kbs_broker {
    struct sb_kbs_broker_cfg cfg;
    struct issued issued[ISSUED_MAX];
    size_t issued_next;
    char *state_dir;
    struct sb_kbs_master_tpm tpm; /* cfg.master_tpm points here (tcti owned) */
    sb_token_key *tkey;
    json_t *jwks;
    sb_kbs_master master;
    sb_policy *apolicy;
    sb_kbs_rpolicy *rpolicy;
};

void sb_kbs_result_clear(struct sb_kbs_result *r) {
    if (!r) return;
    json_decref(r->body);
    memset(r, 0, sizeof(*r));
}

json_t *sb_kbs_problem_json(const char *type, const char *detail) {
    char t[160];
    (void)snprintf(t, sizeof(t), "%s%s", SB_KBS_ERROR_PREFIX, type);
    return json_pack("{s:s, s:s}", "type", t, "detail", detail);
}

/* Records a refusal: Trustee's status for the type (404 for a path, 403 for policy, 400 for a
 * malformed admin body, 401 for everything else). */
static int refuse(struct sb_kbs_result *res, const char *type, const char *fmt, ...)
    SB_PRINTF(3, 4);
static int refuse(struct sb_kbs_result *res, const char *type, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    (void)vsnprintf(res->detail, sizeof(res->detail), fmt, ap);
    va_end(ap);
    res->type = type;
    res->status = !strcmp(type, "InvalidRequestPath") || !strcmp(type, "PluginNotFound") ? 404
                  : !strcmp(type, "PolicyDeny")                                          ? 403
                  : !strcmp(type, "InvalidAdminRequest")                                 ? 400
                                                                                         : 401;
    return 0;
}

static int ok(struct sb_kbs_result *res, json_t *body, sb_error *err) {
    ENSURE(body, err, SB_E_INTERNAL, "kbs: out of memory");
    res->status = 200;
    res->body = body;
    return 0;
}

/* ---- setup -------------------------------------------------------------------------------- */

static const struct sb_keyfile_rules TOKEN_KEY_RULES = {1, 64 * 1024, "the KBS token key",
                                                        "chmod 600 it", 0};

/* The token key: <state>/kbs-token.pem, an EC P-256 key made on first start (0600). */
static int load_token_key(const char *dir, sb_token_key **out, sb_error *err) {
    char path[4096];
    int k = snprintf(path, sizeof(path), "%s/%s", dir, SB_KBS_TOKEN_KEY_FILE);
    ENSURE(k > 0 && (size_t)k < sizeof(path), err, SB_E_USAGE, "kbs: state dir path too long");
    uint8_t *pem = NULL;
    size_t n = 0;
    int r = sb_keyfile_read(path, &TOKEN_KEY_RULES, &pem, &n, err);
    if (r == SB_E_NOTFOUND) {
        sb_privkey *pk = NULL;
        char *fresh = NULL;
        TRY(sb_privkey_generate_ec(SB_CURVE_P256, &pk, err));
        r = sb_privkey_to_pem(pk, &fresh, err);
        sb_privkey_free(pk);
        TRY(r);
        bool existed = false; /* a racing start made it: use that one */
        r = sb_keyfile_create(path, fresh, strlen(fresh), &existed, err);
        sb_wipe(fresh, strlen(fresh));
        free(fresh);
        TRY(r);
        r = sb_keyfile_read(path, &TOKEN_KEY_RULES, &pem, &n, err);
    }
    TRY(r);
    r = sb_token_key_from_pem(pem, n, out, err);
    sb_secret_free(pem, n + 1);
    if (r < 0) return sb_error_prefix(err, "%s", path);
    return 0;
}

/* The stored policies, or the defaults. */
static int load_policies(sb_kbs_broker *b, sb_error *err) {
    char *body = NULL;
    int r = sb_store_kbs_policy_get(b->cfg.store, POLICY_ATTESTATION, &body, err);
    sb_policy *ap = NULL;
    if (r == SB_E_NOTFOUND)
        r = sb_policy_default(&ap, err);
    else if (r == 0)
        r = sb_policy_parse(body, strlen(body), "kbs-attestation", &ap, err);
    free(body);
    body = NULL;
    if (r < 0) return sb_error_prefix(err, "kbs: attestation policy");
    sb_kbs_rpolicy *rp = NULL;
    r = sb_store_kbs_policy_get(b->cfg.store, POLICY_RESOURCE, &body, err);
    if (r == SB_E_NOTFOUND)
        r = sb_kbs_rpolicy_default(&rp, err);
    else if (r == 0)
        r = sb_kbs_rpolicy_parse(body, strlen(body), &rp, err);
    free(body);
    if (r < 0) {
        sb_policy_free(ap);
        return sb_error_prefix(err, "kbs: resource policy");
    }
    sb_policy_free(b->apolicy);
    sb_kbs_rpolicy_free(b->rpolicy);
    b->apolicy = ap;
    b->rpolicy = rp;
    return 0;
}

void sb_kbs_broker_free(sb_kbs_broker *b) {
    if (!b) return;
    for (size_t i = 0; i < ISSUED_MAX; i++)
        json_decref(b->issued[i].payload);
    sb_token_key_free(b->tkey);
    json_decref(b->jwks);
    sb_kbs_master_clear(&b->master);
    sb_policy_free(b->apolicy);
    sb_kbs_rpolicy_free(b->rpolicy);
    free(b->state_dir);
    free((char *)b->tpm.tcti);
    free(b);
}

int sb_kbs_broker_new(const struct sb_kbs_broker_cfg *cfg, sb_kbs_broker **out, sb_error *err) {
    ENSURE(cfg && cfg->state_dir && cfg->store, err, SB_E_USAGE, "kbs: incomplete configuration");
    sb_kbs_broker *b = calloc(1, sizeof(*b));
    ENSURE(b, err, SB_E_INTERNAL, "out of memory");
    b->cfg = *cfg;
    if (!b->cfg.token_ttl_s) b->cfg.token_ttl_s = SB_KBS_TOKEN_TTL_DEFAULT;
    b->state_dir = strdup(cfg->state_dir);
    int r = b->state_dir ? 0 : sb_error_set(err, SB_E_INTERNAL, "out of memory");
    if (r == 0 && cfg->master_tpm) {
        b->tpm = *cfg->master_tpm;
        b->tpm.tcti = cfg->master_tpm->tcti ? strdup(cfg->master_tpm->tcti) : NULL;
        if (cfg->master_tpm->tcti && !b->tpm.tcti)
            r = sb_error_set(err, SB_E_INTERNAL, "out of memory");
        b->cfg.master_tpm = &b->tpm;
    }
    if (r == 0) r = load_token_key(cfg->state_dir, &b->tkey, err);
    json_t *jwk = NULL;
    if (r == 0) r = sb_token_key_jwk(b->tkey, &jwk, err);
    if (r == 0 && !(b->jwks = json_pack("{s:[o]}", "keys", jwk)))
        r = sb_error_set(err, SB_E_INTERNAL, "out of memory");
    if (r == 0)
        r = sb_kbs_master_load_at(cfg->state_dir, b->cfg.master_tpm, cfg->store, &b->master, err);
    if (r == 0) r = load_policies(b, err);
    if (r < 0) {
        sb_kbs_broker_free(b);
        return r;
    }
    *out = b;
    return 0;
}

int sb_kbs_broker_jwks(const sb_kbs_broker *b, json_t **out, sb_error *err) {
    *out = json_deep_copy(b->jwks);
    ENSURE(*out, err, SB_E_INTERNAL, "out of memory");
    return 0;
}

/* ---- attest ------------------------------------------------------------------------------ */

int sb_kbs_broker_attest(sb_kbs_broker *b, const char *tee, const json_t *claims,
                         const json_t *runtime_data, int64_t now, struct sb_kbs_result *res,
                         sb_error *err) {
    memset(res, 0, sizeof(*res));
    sb_error e2 = {0};
    if (sb_kbs_check_binding(claims, runtime_data, &e2) < 0)
        return refuse(res, "AttestationError", "Attestation error: %s", e2.msg);
    const char *platform = json_string_value(json_object_get(claims, "platform"));
    if (!platform) return refuse(res, "AttestationError", "Attestation error: claims: no platform");
    json_t *annotated = json_deep_copy(claims), *payload = NULL;
    ENSURE(annotated, err, SB_E_INTERNAL, "out of memory");
    /* A TPM quote's AK counts as certified only when it was enrolled with this KBS (credential
     * activation against the pinned EK CA: `sealbox tpm enroll --state-dir` of this KBS). */
    if (strcmp(platform, "tpm") == 0 &&
        json_object_get(json_object_get(annotated, "platform_claims"), "ak_name")) {
        char dir[4096];
        int k = snprintf(dir, sizeof(dir), "%s/tpm-enrolled", b->state_dir);
        int r0 = k > 0 && (size_t)k < sizeof(dir)
                     ? sb_tpm_claims_apply_enrollment(dir, annotated, err)
                     : sb_error_set(err, SB_E_USAGE, "kbs: state dir path too long");
        if (r0 < 0) {
            json_decref(annotated);
            return r0;
        }
    }
    struct sb_appraise_ctx ctx = {.at = now};
    struct sb_appraisal ap;
    memset(&ap, 0, sizeof(ap));
    int r = sb_policy_appraise(b->apolicy, annotated, &ctx, &ap, err);
    if (r < 0) {
        json_decref(annotated);
        return r;
    }
    uint8_t *nonce = NULL;
    size_t nlen = 0;
    const char *n64 = json_string_value(json_object_get(runtime_data, "nonce"));
    if (r == 0 && json_object_set(annotated, "runtime_data_claims", (json_t *)runtime_data) < 0)
        r = sb_error_set(err, SB_E_INTERNAL, "out of memory");
    if (r == 0 && n64 && sb_base64_decode(n64, strlen(n64), false, &nonce, &nlen, &e2) < 0) {
        nonce = NULL;
        nlen = 0;
    }
    struct sb_ear_input in = {.submod = platform,
                              .claims = annotated,
                              .appraisal = &ap,
                              .iat = now,
                              .nonce = nonce,
                              .nonce_len = nlen};
    if (r == 0) r = sb_ear_build(&in, &payload, err);
    json_t *sub = r == 0 ? json_object_get(json_object_get(payload, "submods"), platform) : NULL;
    if (r == 0 &&
        (!sub || json_object_set_new(payload, "exp", json_integer(now + b->cfg.token_ttl_s)) < 0 ||
         json_object_set_new(sub, "ear.sealbox.local", json_boolean(b->cfg.local)) < 0 ||
         json_object_set_new(sub, "ear.sealbox.tee", json_string(tee)) < 0))
        r = sb_error_set(err, SB_E_INTERNAL, "out of memory");
    char *jwt = NULL;
    if (r == 0) r = sb_jwt_sign(b->tkey, payload, &jwt, err);
    if (r == 0) {
        struct issued *slot = &b->issued[b->issued_next];
        json_decref(slot->payload);
        slot->payload = NULL;
        if (sb_hash(SB_HASH_SHA256, jwt, strlen(jwt), slot->hash, err) == 0) {
            slot->payload = json_incref(payload);
            b->issued_next = (b->issued_next + 1) % ISSUED_MAX;
        }
    }
    if (r == 0) r = ok(res, json_pack("{s:s}", "token", jwt), err);
    free(jwt);
    free(nonce);
    json_decref(payload);
    json_decref(annotated);
    sb_appraisal_clear(&ap);
    return r;
}

/* ---- resource ---------------------------------------------------------------------------- */

/* The TEE key the token was issued for: submods.<one>.annotated-evidence.runtime_data_claims. */
static const json_t *token_tee_pubkey(const json_t *payload) {
    const json_t *subs = json_object_get(payload, "submods");
    if (json_object_size(subs) != 1) return NULL;
    const char *k;
    json_t *sm;
    json_object_foreach((json_t *)subs, k, sm) {
        return json_object_get(
            json_object_get(json_object_get(sm, "ear.veraison.annotated-evidence"),
                            "runtime_data_claims"),
            "tee-pubkey");
    }
    return NULL;
}

/* Opens a resource; a blob sealed under a newer master key (rotated while we ran) makes us
 * reload the key file once. */
static int open_resource(sb_kbs_broker *b, const char *path, uint8_t **v, size_t *n,
                         sb_error *err) {
    int r = sb_kbs_resource_get(b->cfg.store, &b->master, path, v, n, err);
    if (r != SB_E_USAGE) return r;
    sb_kbs_master fresh;
    TRY(sb_kbs_master_load_at(b->state_dir, b->cfg.master_tpm, b->cfg.store, &fresh, err));
    sb_kbs_master_clear(&b->master);
    b->master = fresh;
    return sb_kbs_resource_get(b->cfg.store, &b->master, path, v, n, err);
}

int sb_kbs_broker_resource(sb_kbs_broker *b, const char *token, const char *path, int64_t now,
                           struct sb_kbs_result *res, sb_error *err) {
    memset(res, 0, sizeof(*res));
    if (!sb_store_kbs_path_valid(path))
        return refuse(res, "InvalidRequestPath", "Request path resource/%.200s is invalid", path);
    json_t *payload = NULL;
    sb_error e2 = {0};
    uint8_t h[32];
    TRY(sb_hash(SB_HASH_SHA256, token, strlen(token), h, err));
    for (size_t i = 0; i < ISSUED_MAX && !payload; i++)
        if (b->issued[i].payload && memcmp(b->issued[i].hash, h, sizeof(h)) == 0)
            payload = json_incref(b->issued[i].payload);
    if (!payload && sb_jwt_verify(token, b->jwks, &payload, NULL, &e2) < 0)
        return refuse(res, "TokenVerifierError", "Token Verifier error: %s", e2.msg);
    int r = 0;
    const json_t *exp = json_object_get(payload, "exp");
    const json_t *pub = token_tee_pubkey(payload);
    if (sb_ear_check(payload, &e2) < 0)
        r = refuse(res, "TokenVerifierError", "Token Verifier error: %s", e2.msg);
    else if (!json_is_integer(exp) || json_integer_value(exp) <= now)
        r = refuse(res, "TokenVerifierError", "Token Verifier error: the token has expired");
    else if (!pub)
        r = refuse(res, "TokenVerifierError",
                   "Token Verifier error: the token carries no "
                   "tee-pubkey");
    else if (sb_kbs_rpolicy_eval(b->rpolicy, path, payload, &e2) < 0)
        r = e2.code == SB_E_POLICY
                ? refuse(res, "PolicyDeny", "Access denied by policy: %s", e2.msg)
                : sb_error_set(err, e2.code, "%s", e2.msg);
    if (r < 0 || res->status) {
        json_decref(payload);
        return r;
    }
    uint8_t *v = NULL;
    size_t n = 0;
    r = open_resource(b, path, &v, &n, &e2);
    if (r == SB_E_NOTFOUND) {
        r = refuse(res, "InvalidRequestPath",
                   "Request path resource/%s is invalid: no such "
                   "resource",
                   path);
    } else if (r < 0) {
        r = sb_error_set(err, r, "%s", e2.msg);
    } else {
        json_t *jwe = NULL;
        r = sb_jwe_encrypt(pub, v, n, &jwe, err);
        sb_secret_free(v, n + 1);
        if (r == 0) r = ok(res, jwe, err);
    }
    json_decref(payload);
    return r;
}

/* ---- admin ------------------------------------------------------------------------------- */

/* A policy document from a Trustee-shaped admin body: {"policy": base64(JSON)} (base64url or
 * standard alphabet), plus for attestation policies an optional "type" and "policy_id". */
static int policy_body(const uint8_t *p, size_t n, bool attestation, char **doc, size_t *len,
                       char *why, size_t whylen) {
    json_error_t je;
    json_t *j = json_loadb((const char *)p, n, JSON_REJECT_DUPLICATES, &je);
    const char *pol = json_string_value(json_object_get(j, "policy"));
    const char *type = json_string_value(json_object_get(j, "type"));
    int r = -1;
    if (!j || !json_is_object(j))
        (void)snprintf(why, whylen, "body: expected {\"policy\": \"<base64 of the policy>\"}");
    else if (!pol)
        (void)snprintf(why, whylen, "body.policy: missing or not a string");
    else if (attestation && type && strcmp(type, "sealbox") != 0)
        (void)snprintf(why, whylen,
                       "body.type: '%.40s' policies are not supported: sealbox "
                       "attestation policies are JSON (docs/policy.md), type \"sealbox\"",
                       type);
    else
        r = 0;
    uint8_t *raw = NULL;
    size_t rn = 0;
    sb_error e2 = {0};
    if (r == 0 && sb_base64url_decode(pol, strlen(pol), &raw, &rn, &e2) < 0 &&
        sb_base64_decode(pol, strlen(pol), false, &raw, &rn, &e2) < 0) {
        (void)snprintf(why, whylen, "body.policy: not base64: %.160s", e2.msg);
        r = -1;
    }
    json_decref(j);
    if (r < 0) return -1;
    char *d = malloc(rn + 1);
    if (!d || memchr(raw, 0, rn)) {
        (void)snprintf(why, whylen, "body.policy: %s", d ? "a NUL byte in the policy" : "memory");
        free(d);
        free(raw);
        return -1;
    }
    memcpy(d, raw, rn);
    d[rn] = 0;
    free(raw);
    *doc = d;
    *len = rn;
    return 0;
}

static int admin_policy_set(sb_kbs_broker *b, bool attestation, const uint8_t *body, size_t n,
                            struct sb_kbs_result *res, sb_error *err) {
    char why[256];
    char *doc = NULL;
    size_t len = 0;
    if (policy_body(body, n, attestation, &doc, &len, why, sizeof(why)) < 0)
        return refuse(res, "InvalidAdminRequest", "%s", why);
    sb_error e2 = {0};
    int r;
    if (attestation) {
        sb_policy *p = NULL;
        r = sb_policy_parse(doc, len, "kbs-attestation", &p, &e2);
        sb_policy_free(p);
    } else {
        sb_kbs_rpolicy *p = NULL;
        r = sb_kbs_rpolicy_parse(doc, len, &p, &e2);
        sb_kbs_rpolicy_free(p);
    }
    if (r < 0) {
        free(doc);
        return refuse(res, "InvalidAdminRequest", "Failed to parse policy: %s", e2.msg);
    }
    r = sb_store_kbs_policy_put(b->cfg.store, attestation ? POLICY_ATTESTATION : POLICY_RESOURCE,
                                doc, err);
    free(doc);
    if (r == 0) r = load_policies(b, err);
    if (r == 0) r = ok(res, json_object(), err);
    return r;
}

static int admin_policy_get(sb_kbs_broker *b, bool attestation, struct sb_kbs_result *res,
                            sb_error *err) {
    char *body = NULL;
    int r = sb_store_kbs_policy_get(b->cfg.store,
                                    attestation ? POLICY_ATTESTATION : POLICY_RESOURCE, &body, err);
    if (r == SB_E_NOTFOUND) {
        sb_error_clear(err);
        return ok(res, json_pack("{s:b, s:n}", "default", 1, "policy"), err);
    }
    TRY(r);
    json_t *j = json_loads(body, 0, NULL);
    free(body);
    return ok(res, j ? json_pack("{s:b, s:o}", "default", 0, "policy", j) : NULL, err);
}

static int admin_list(sb_kbs_broker *b, struct sb_kbs_result *res, sb_error *err) {
    sb_kbs_resource_rec *v = NULL;
    size_t n = 0;
    TRY(sb_store_kbs_resource_list(b->cfg.store, &v, &n, err));
    json_t *arr = json_array();
    for (size_t i = 0; arr && i < n; i++) {
        char c[32], u[32];
        sb_time_format(v[i].created, c);
        sb_time_format(v[i].updated, u);
        (void)json_array_append_new(arr, json_pack("{s:s, s:I, s:s, s:s}", "path", v[i].path,
                                                   "size", (json_int_t)v[i].size, "created_at", c,
                                                   "updated_at", u));
    }
    sb_kbs_recs_free(v, n);
    return ok(res, arr ? json_pack("{s:o}", "resources", arr) : NULL, err);
}

int sb_kbs_broker_admin(sb_kbs_broker *b, enum sb_kbs_admin_op op, const char *path,
                        const uint8_t *body, size_t n, struct sb_kbs_result *res, sb_error *err) {
    memset(res, 0, sizeof(*res));
    bool needs_path = op == SB_KBS_ADM_RESOURCE_PUT || op == SB_KBS_ADM_RESOURCE_DELETE;
    if (needs_path && !sb_store_kbs_path_valid(path))
        return refuse(res, "InvalidRequestPath", "Request path resource/%.200s is invalid",
                      path ? path : "");
    sb_error e2 = {0};
    int r;
    switch (op) {
    case SB_KBS_ADM_RESOURCE_PUT:
        if (n > SB_KBS_RESOURCE_MAX)
            return refuse(res, "InvalidAdminRequest", "resource of %zu bytes (max %u)", n,
                          SB_KBS_RESOURCE_MAX);
        TRY(sb_kbs_resource_put(b->cfg.store, &b->master, path, body, n, err));
        return ok(res, json_pack("{s:s, s:I}", "path", path, "size", (json_int_t)n), err);
    case SB_KBS_ADM_RESOURCE_DELETE:
        r = sb_store_kbs_resource_delete(b->cfg.store, path, &e2);
        if (r == SB_E_NOTFOUND)
            return refuse(res, "InvalidRequestPath",
                          "Request path resource/%s is invalid: no "
                          "such resource",
                          path);
        if (r < 0) return sb_error_set(err, r, "%s", e2.msg);
        return ok(res, json_object(), err);
    case SB_KBS_ADM_RESOURCE_LIST: return admin_list(b, res, err);
    case SB_KBS_ADM_RPOLICY_SET: return admin_policy_set(b, false, body, n, res, err);
    case SB_KBS_ADM_APOLICY_SET: return admin_policy_set(b, true, body, n, res, err);
    case SB_KBS_ADM_RPOLICY_GET: return admin_policy_get(b, false, res, err);
    case SB_KBS_ADM_APOLICY_GET: return admin_policy_get(b, true, res, err);
    case SB_KBS_ADM_RPOLICY_DELETE:
    case SB_KBS_ADM_APOLICY_DELETE:
        TRY(sb_store_kbs_policy_delete(
            b->cfg.store, op == SB_KBS_ADM_APOLICY_DELETE ? POLICY_ATTESTATION : POLICY_RESOURCE,
            err));
        TRY(load_policies(b, err));
        return ok(res, json_object(), err);
    default: BAIL(err, SB_E_USAGE, "kbs: unknown admin operation %d", (int)op);
    }
}
