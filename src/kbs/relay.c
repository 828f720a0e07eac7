/* relay: the host side of sealbox-init's KBS handshake — its HTTP requests forwarded over
 * libcurl to the one configured KBS (three routes only), and evidence from the host's attester
 * over runtime data whose nonce and measurement-log digest the host checks itself. */
#include <stdio.h>
#include <string.h>

#include "crypto/crypto.h"
#include "kbs.h"

struct sb_kbs_relay {
    struct sb_kbs_relay_cfg cfg;
    sb_kbs_http *http;
    char nonce[160]; /* the last auth answer's nonce, until evidence is made for it */
};

int sb_kbs_relay_new(const struct sb_kbs_relay_cfg *cfg, sb_kbs_relay **out, sb_error *err) {
    ENSURE(cfg && cfg->url && cfg->attester, err, SB_E_USAGE,
           "relay: a KBS URL and an attester are required");
    sb_kbs_relay *r = calloc(1, sizeof(*r));
    ENSURE(r, err, SB_E_INTERNAL, "out of memory");
    r->cfg = *cfg;
    struct sb_kbs_client_opts o = {.url = cfg->url,
                                   .unix_socket = cfg->unix_socket,
                                   .ca_file = cfg->ca_file,
                                   .timeout_s = cfg->timeout_s};
    int rc = sb_kbs_http_new(&o, &r->http, err);
    if (rc < 0) {
        free(r);
        return rc;
    }
    *out = r;
    return 0;
}

void sb_kbs_relay_free(sb_kbs_relay *r) {
    if (!r) return;
    sb_kbs_http_free(r->http);
    free(r);
}

int sb_kbs_relay_check_route(int method, const char *route, sb_error *err) {
    ENSURE(route, err, SB_E_MALFORMED, "relay: no route");
    if (strcmp(route, "auth") == 0 || strcmp(route, "attest") == 0) {
        ENSURE(method == SB_KBS_POST, err, SB_E_USAGE, "relay: %s must be a POST", route);
        return 0;
    }
    ENSURE(strncmp(route, "resource/", 9) == 0, err, SB_E_USAGE,
           "relay: route '%.80s' is not relayed (auth, attest, resource/<repo>/<type>/<tag>)",
           route);
    ENSURE(method == SB_KBS_GET, err, SB_E_USAGE, "relay: a resource must be a GET");
    ENSURE(sb_store_kbs_path_valid(route + 9), err, SB_E_MALFORMED,
           "relay: resource path '%.80s' is not repo/type/tag", route + 9);
    return 0;
}

int sb_kbs_relay_check_runtime(const uint8_t *p, size_t n, const char *nonce,
                               const char *log_digest, json_t **out, sb_error *err) {
    ENSURE(n <= SB_KBS_RUNTIME_MAX, err, SB_E_LIMIT,
           "relay: runtime data of %zu bytes is over the limit %u", n, SB_KBS_RUNTIME_MAX);
    json_error_t je;
    json_t *rd = json_loadb((const char *)p, n, JSON_REJECT_DUPLICATES, &je);
    if (!json_is_object(rd)) {
        json_decref(rd);
        BAIL(err, SB_E_MALFORMED, "relay: runtime data is not a JSON object");
    }
    int rc = 0;
    const char *k;
    json_t *v;
    json_object_foreach(rd, k, v) {
        if (strcmp(k, "tee-pubkey") && strcmp(k, "nonce") && strcmp(k, "additional-evidence") &&
            strcmp(k, "sealbox-log")) {
            rc = sb_error_set(err, SB_E_MALFORMED,
                              "relay: runtime data: unknown member '%.40s' (tee-pubkey, nonce, "
                              "additional-evidence, sealbox-log)",
                              k);
            break;
        }
    }
    const char *got_nonce = json_string_value(json_object_get(rd, "nonce"));
    const char *add = json_string_value(json_object_get(rd, "additional-evidence"));
    const char *log = json_string_value(json_object_get(rd, "sealbox-log"));
    if (rc == 0) rc = sb_jwe_check_pubkey(json_object_get(rd, "tee-pubkey"), err);
    if (rc == 0 && (!nonce || !*nonce))
        rc = sb_error_set(err, SB_E_POLICY, "relay: runtime data: no KBS challenge is pending");
    if (rc == 0 && (!got_nonce || strcmp(got_nonce, nonce) != 0))
        rc = sb_error_set(err, SB_E_POLICY,
                          "relay: runtime data: nonce is not the one the KBS just gave");
    if (rc == 0 && (!add || *add))
        rc = sb_error_set(err, SB_E_MALFORMED,
                          "relay: runtime data: additional-evidence must be \"\"");
    if (rc == 0 && (!log || !log_digest || strcmp(log, log_digest) != 0))
        rc = sb_error_set(err, SB_E_POLICY,
                          "relay: runtime data: sealbox-log is not this sandbox's log digest "
                          "(%.104s)",
                          log_digest ? log_digest : "none");
    if (rc < 0) {
        json_decref(rd);
        return rc;
    }
    *out = rd;
    return 0;
}

static void reply_refusal(sb_writer *w, enum sb_msg_type t, uint32_t id, const char *why) {
    (void)sb_msg_encode_reply(w, t, id, 0, "", why, strlen(why));
}

/* POST auth: the nonce of the answer is what the next evidence must bind. */
static void remember_nonce(sb_kbs_relay *r, const sb_writer *body) {
    r->nonce[0] = 0;
    json_t *j = json_loadb((const char *)body->buf, body->len, 0, NULL);
    const char *n = json_string_value(json_object_get(j, "nonce"));
    if (n && strlen(n) < sizeof(r->nonce)) memcpy(r->nonce, n, strlen(n) + 1);
    json_decref(j);
}

static int answer_kbs(sb_kbs_relay *r, const struct sb_msg *m, sb_writer *w) {
    sb_error err = {0};
    if (sb_kbs_relay_check_route((int)m->u32, m->str, &err) < 0 ||
        (m->u32 == SB_KBS_GET && m->data_len) ||
        (m->u32 == SB_KBS_POST && strcmp(m->str, "auth") == 0 &&
         sb_kbs_parse_auth(m->data, m->data_len, &(struct sb_kbs_auth){0}, &err) < 0)) {
        if (!err.msg[0]) (void)sb_error_set(&err, SB_E_MALFORMED, "relay: a GET has no body");
        reply_refusal(w, SB_MSG_KBS_RESP, m->exec_id, err.msg);
        return 0;
    }
    /* the body as a NUL-terminated string for libcurl */
    char *body = NULL;
    if (m->u32 == SB_KBS_POST) {
        body = malloc(m->data_len + 1);
        if (!body) return SB_E_INTERNAL;
        for (size_t i = 0; i < m->data_len; i++)
            body[i] = (char)m->data[i];
        body[m->data_len] = 0;
    }
    sb_writer resp;
    sb_writer_init(&resp, SB_KBS_RELAY_MAX_BODY);
    long status = 0;
    struct sb_kbs_transport t;
    sb_kbs_http_transport(r->http, &t);
    int rc = t.request(t.arg, m->u32 == SB_KBS_POST ? "POST" : "GET", m->str, body,
                       body ? m->data_len : 0, &status, &resp, &err);
    free(body);
    if (rc < 0 || sb_writer_status(&resp) < 0) {
        if (rc == 0)
            (void)sb_error_set(&err, SB_E_LIMIT, "relay: the KBS answer is over %u bytes",
                               SB_KBS_RELAY_MAX_BODY);
        reply_refusal(w, SB_MSG_KBS_RESP, m->exec_id, err.msg);
    } else {
        if (strcmp(m->str, "auth") == 0) {
            if (status == 200)
                remember_nonce(r, &resp);
            else
                r->nonce[0] = 0;
        }
        (void)sb_msg_encode_reply(w, SB_MSG_KBS_RESP, m->exec_id,
                                  status > 0 && status <= 599 ? (uint32_t)status : 0, "", resp.buf,
                                  resp.len);
    }
    sb_writer_free(&resp);
    return 0;
}

static int answer_evidence(sb_kbs_relay *r, const struct sb_msg *m,
                           const struct sb_kbs_relay_log *log, sb_writer *w) {
    sb_error err = {0};
    json_t *rd = NULL, *ev = NULL;
    int rc = sb_kbs_relay_check_runtime(m->data, m->data_len, r->nonce, log->digest, &rd, &err);
    r->nonce[0] = 0; /* one piece of evidence per challenge, whatever happens */
    if (rc == 0) rc = sb_attester_evidence(r->cfg.attester, rd, &ev, &err);
    char *s = rc == 0 ? json_dumps(ev, JSON_COMPACT) : NULL;
    if (rc == 0 && !s) rc = sb_error_set(&err, SB_E_INTERNAL, "out of memory");
    if (rc == 0 && strlen(s) > SB_KBS_RELAY_MAX_BODY)
        rc = sb_error_set(&err, SB_E_LIMIT, "relay: evidence of %zu bytes is over %u", strlen(s),
                          SB_KBS_RELAY_MAX_BODY);
    if (rc == 0)
        (void)sb_msg_encode_reply(w, SB_MSG_EVIDENCE, m->exec_id, 1, "", s, strlen(s));
    else
        reply_refusal(w, SB_MSG_EVIDENCE, m->exec_id, err.msg);
    free(s);
    json_decref(rd);
    json_decref(ev);
    return 0;
}

static int answer_context(sb_kbs_relay *r, const struct sb_msg *m,
                          const struct sb_kbs_relay_log *log, sb_writer *w) {
    if (log->len > SB_KBS_RELAY_MAX_BODY) {
        sb_error err = {0};
        (void)sb_error_set(&err, SB_E_LIMIT,
                           "relay: the measurement log (%zu bytes) is over the relay limit %u",
                           log->len, SB_KBS_RELAY_MAX_BODY);
        reply_refusal(w, SB_MSG_CONTEXT, m->exec_id, err.msg);
    } else {
        (void)sb_msg_encode_reply(w, SB_MSG_CONTEXT, m->exec_id, 1,
                                  sb_attester_tee(r->cfg.attester), log->json, log->len);
    }
    return 0;
}

int sb_kbs_relay_answer_log(sb_kbs_relay *r, const struct sb_msg *req,
                            const struct sb_kbs_relay_log *log, sb_writer *reply) {
    switch (req->type) {
    case SB_MSG_CONTEXT_REQ: return answer_context(r, req, log, reply);
    case SB_MSG_KBS_REQ: return answer_kbs(r, req, reply);
    case SB_MSG_EVIDENCE_REQ: return answer_evidence(r, req, log, reply);
    default: return SB_E_USAGE;
    }
}

int sb_kbs_relay_answer(void *relay, const struct sb_msg *req, sb_writer *reply) {
    sb_kbs_relay *r = relay;
    if (req->type == SB_MSG_KBS_REQ) return answer_kbs(r, req, reply);
    if (!r->cfg.log) return SB_E_USAGE; /* a relay made for sb_kbs_relay_answer_log */
    /* the log as it is now: its export and digest */
    sb_error err = {0};
    char *json = NULL;
    size_t n = 0;
    uint8_t d[SB_MLOG_DIGEST_LEN];
    char digest[104];
    sb_mlog_digest(r->cfg.log, d);
    sb_mlog_digest_str(d, digest);
    if (req->type == SB_MSG_CONTEXT_REQ && sb_mlog_export(r->cfg.log, &json, &n, &err) < 0) {
        reply_refusal(reply, SB_MSG_CONTEXT, req->exec_id, err.msg);
        return 0;
    }
    struct sb_kbs_relay_log log = {.json = json ? json : "", .len = n, .digest = digest};
    int rc = sb_kbs_relay_answer_log(r, req, &log, reply);
    free(json);
    return rc;
}
