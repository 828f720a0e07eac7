/* monitor_kbs: the key broker's half in the monitor. The front parses and verifies; the
 * monitor holds the token key and the master key, re-checks the binding of the claims it is
 * asked to sign, re-verifies every token it is shown (it must be one it signed, unexpired)
 * before the resource policy sees its claims, and authenticates admins with their own keys. */
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "../crypto/crypto.h"
#include "../kbs/kbs.h"
#include "monitor_int.h"

enum { KC_TOKENS, KC_RELEASED, KC_REFUSED, KC_ADMIN };

int sb_monitor_kbs_init(sb_monitor *m, sb_error *err) {
    if (!m->cfg.kbs) return 0;
    struct sb_kbs_master_tpm tpm = {.tcti = m->cfg.kbs_master_tcti,
                                    .bank = m->cfg.kbs_master_bank,
                                    .pcrs = m->cfg.kbs_master_pcrs};
    struct sb_kbs_broker_cfg bc = {.state_dir = m->cfg.state_dir,
                                   .store = m->store,
                                   .local = m->cfg.kbs == 1,
                                   .token_ttl_s = m->cfg.kbs_token_ttl,
                                   .master_tpm = m->cfg.kbs_master_tcti ? &tpm : NULL};
    int r = sb_kbs_broker_new(&bc, &m->kbs, err);
    if (r < 0) return sb_error_prefix(err, "kbs");
    if (m->cfg.kbs_master_tcti)
        sb_logf(m->cfg.log, SB_LOG_INFO, "kbs: master key unsealed by the TPM at %s",
                m->cfg.kbs_master_tcti);
    sb_logf(m->cfg.log, SB_LOG_INFO, "kbs: broker ready (%s, tokens valid %us)",
            m->cfg.kbs == 1 ? "local: beside the sandboxes" : "standalone",
            m->cfg.kbs_token_ttl ? m->cfg.kbs_token_ttl : SB_KBS_TOKEN_TTL_DEFAULT);
    return 0;
}

void sb_monitor_kbs_fini(sb_monitor *m) {
    sb_kbs_broker_free(m->kbs);
    m->kbs = NULL;
}

/* Answers a broker result: its JSON body, or Trustee's RFC 7807 problem. */
static int answer(sb_monitor *m, struct sb_kbs_result *res, sb_reply *rep, const char *what) {
    int r;
    if (res->status == 200) {
        r = sb_reply_json(rep, 200, res->body);
        res->body = NULL;
    } else {
        m->kbs_counts[KC_REFUSED]++;
        sb_logf(m->cfg.log, SB_LOG_INFO, "kbs %s refused (%d %s): %s", what, res->status, res->type,
                res->detail);
        r = sb_reply_json(rep, res->status, sb_kbs_problem_json(res->type, res->detail));
        rep->ctype = SB_CT_PROBLEM;
    }
    sb_kbs_result_clear(res);
    return r;
}

static int copy_str(const sb_ipc_str *s, size_t max, char **out, sb_error *err, const char *f) {
    ENSURE(s->len <= max, err, SB_E_LIMIT, "kbs: %s of %zu bytes", f, s->len);
    char *b = malloc(s->len + 1);
    ENSURE(b, err, SB_E_INTERNAL, "out of memory");
    sb_error e2 = {0};
    int r = sb_ipc_str_copy(s, b, s->len + 1, &e2, f);
    if (r < 0) {
        free(b);
        return sb_error_set(err, r, "%s", e2.msg);
    }
    *out = b;
    return 0;
}

/* Checks what the front must have made sure of: a known tee, JSON objects within limits. */
static int c_attest(const sb_ipc_msg *msg, sb_error *err) {
    char tee[SB_IPC_KBS_TEE_MAX + 1];
    TRY(sb_ipc_str_copy(&msg->f[0].s, tee, sizeof(tee), err, "tee"));
    ENSURE(sb_kbs_tee_known(tee), err, SB_E_MALFORMED, "kbs_attest: unknown tee");
    return 0;
}

static json_t *load_json(const sb_ipc_str *s) {
    return json_loadb((const char *)s->p, s->len, JSON_REJECT_DUPLICATES, NULL);
}

static int h_attest(sb_monitor *m, const sb_ipc_msg *msg, const sb_tenant *t, sb_reply *rep,
                    sb_error *err) {
    (void)t;
    char tee[SB_IPC_KBS_TEE_MAX + 1];
    TRY(sb_ipc_str_copy(&msg->f[0].s, tee, sizeof(tee), err, "tee"));
    json_t *claims = load_json(&msg->f[1].s), *rd = load_json(&msg->f[2].s);
    int r = 0;
    if (!json_is_object(claims) || !json_is_object(rd))
        r = sb_error_set(err, SB_E_MALFORMED,
                         "kbs_attest: claims or runtime data is not a JSON "
                         "object");
    struct sb_kbs_result res;
    memset(&res, 0, sizeof(res));
    if (r == 0) r = sb_kbs_broker_attest(m->kbs, tee, claims, rd, sb_time_now(), &res, err);
    if (r == 0 && res.status == 200) m->kbs_counts[KC_TOKENS]++;
    if (r == 0) r = answer(m, &res, rep, "attest");
    sb_kbs_result_clear(&res);
    json_decref(claims);
    json_decref(rd);
    return r;
}

static int c_resource(const sb_ipc_msg *msg, sb_error *err) {
    ENSURE(msg->f[0].s.len > 0, err, SB_E_MALFORMED, "kbs_resource: empty token");
    char path[SB_IPC_KBS_PATH_MAX + 1];
    TRY(sb_ipc_str_copy(&msg->f[1].s, path, sizeof(path), err, "path"));
    ENSURE(sb_store_kbs_path_valid(path), err, SB_E_MALFORMED, "kbs_resource: bad path");
    return 0;
}

static int h_resource(sb_monitor *m, const sb_ipc_msg *msg, const sb_tenant *t, sb_reply *rep,
                      sb_error *err) {
    (void)t;
    char *token = NULL;
    char path[SB_IPC_KBS_PATH_MAX + 1];
    TRY(sb_ipc_str_copy(&msg->f[1].s, path, sizeof(path), err, "path"));
    TRY(copy_str(&msg->f[0].s, SB_IPC_KBS_TOKEN_MAX, &token, err, "token"));
    struct sb_kbs_result res;
    int r = sb_kbs_broker_resource(m->kbs, token, path, sb_time_now(), &res, err);
    free(token);
    if (r == 0 && res.status == 200) {
        m->kbs_counts[KC_RELEASED]++;
        sb_logf(m->cfg.log, SB_LOG_INFO, "kbs: released %s", path);
    }
    if (r == 0) r = answer(m, &res, rep, path);
    sb_kbs_result_clear(&res);
    return r;
}

static int c_admin(const sb_ipc_msg *msg, sb_error *err) {
    ENSURE(sb_apikey_well_formed((const char *)msg->f[0].s.p, msg->f[0].s.len), err, SB_E_MALFORMED,
           "kbs_admin: credential is not shaped like a key");
    ENSURE(msg->f[1].u < SB_KBS_ADM_MAX, err, SB_E_MALFORMED, "kbs_admin: op %llu",
           (unsigned long long)msg->f[1].u);
    return 0;
}

/* An admin key is checked like an API key, against the KBS's own admin-key table. */
static bool admin_ok(sb_monitor *m, const sb_ipc_str *cred) {
    char key[SB_APIKEY_LEN + 1], id[SB_APIKEY_ID_LEN + 1];
    sb_error e = {0};
    if (sb_ipc_str_copy(cred, key, sizeof(key), &e, "credential") < 0) return false;
    memcpy(id, key, SB_APIKEY_ID_LEN);
    id[SB_APIKEY_ID_LEN] = 0;
    uint8_t h[32], want[32];
    bool revoked = true;
    int r = sb_apikey_hash(m->secret, key, SB_APIKEY_LEN, h, &e);
    sb_wipe(key, sizeof(key));
    /* The hash is computed first so that an unknown id costs the same. */
    int g = r == 0 ? sb_store_kbs_admin_key_get(m->store, id, want, &revoked, &e) : r;
    bool good = r == 0 && g == 0 && !revoked && sb_ct_equal(h, want, sizeof(h));
    sb_wipe(h, sizeof(h));
    if (!good) sb_logf(m->cfg.log, SB_LOG_INFO, "kbs admin: key %s refused", id);
    return good;
}

static int h_admin(sb_monitor *m, const sb_ipc_msg *msg, const sb_tenant *t, sb_reply *rep,
                   sb_error *err) {
    (void)t;
    static const char *const OPS[SB_KBS_ADM_MAX] = {
        "resource put",           "resource delete",        "resource list",
        "resource-policy set",    "resource-policy get",    "resource-policy delete",
        "attestation-policy set", "attestation-policy get", "attestation-policy delete"};
    enum sb_kbs_admin_op op = (enum sb_kbs_admin_op)msg->f[1].u;
    if (!admin_ok(m, &msg->f[0].s)) {
        m->auth_failures++;
        char d[160];
        (void)snprintf(d, sizeof(d), "admin access denied for endpoint %s: invalid admin key",
                       OPS[op]);
        int r = sb_reply_json(rep, 401, sb_kbs_problem_json("AdminAuthAccess", d));
        rep->ctype = SB_CT_PROBLEM;
        return r;
    }
    char path[SB_IPC_KBS_PATH_MAX + 1];
    TRY(sb_ipc_str_copy(&msg->f[2].s, path, sizeof(path), err, "path"));
    struct sb_kbs_result res;
    int r = sb_kbs_broker_admin(m->kbs, op, path, msg->f[3].s.p, msg->f[3].s.len, &res, err);
    if (r == 0 && res.status == 200) {
        m->kbs_counts[KC_ADMIN]++;
        sb_logf(m->cfg.log, SB_LOG_INFO, "kbs admin: %s%s%s", OPS[op], path[0] ? " " : "", path);
    }
    if (r == 0) r = answer(m, &res, rep, OPS[op]);
    sb_kbs_result_clear(&res);
    return r;
}

static const sb_handler KBS_HANDLERS[] = {
    {SB_IPC_KBS_ATTEST, false, c_attest, h_attest},
    {SB_IPC_KBS_RESOURCE, false, c_resource, h_resource},
    {SB_IPC_KBS_ADMIN, false, c_admin, h_admin},
};

const sb_handler *sb_monitor_kbs_handler(uint16_t type) {
    for (size_t i = 0; i < SB_ARRAY_LEN(KBS_HANDLERS); i++)
        if (KBS_HANDLERS[i].type == type) return &KBS_HANDLERS[i];
    return NULL;
}

void sb_monitor_kbs_metrics(sb_monitor *m, sb_writer *w) {
    if (!m->kbs) return;
    (void)sb_writer_printf(
        w,
        "# HELP sealbox_kbs_tokens_total Attestation tokens the KBS issued.\n"
        "# TYPE sealbox_kbs_tokens_total counter\nsealbox_kbs_tokens_total %llu\n"
        "# HELP sealbox_kbs_released_total Resources the KBS released.\n"
        "# TYPE sealbox_kbs_released_total counter\nsealbox_kbs_released_total %llu\n"
        "# HELP sealbox_kbs_refused_total KBS requests refused by the monitor.\n"
        "# TYPE sealbox_kbs_refused_total counter\nsealbox_kbs_refused_total %llu\n",
        (unsigned long long)m->kbs_counts[KC_TOKENS],
        (unsigned long long)m->kbs_counts[KC_RELEASED],
        (unsigned long long)m->kbs_counts[KC_REFUSED]);
}
