/* client: the KBS client — Trustee's handshake (auth, attest, resource) over a pluggable
 * transport (libcurl in client_curl.c; sealbox-init's relay to the host), with a TEE key made for
 * one request whose private half never leaves this process, and the JWE opened with it. This
 * file links into sealbox-init: no libcurl, no store, nothing but crypto, util and jansson. */
#include <stdio.h>
#include <string.h>

#include "crypto/crypto.h"
#include "kbs.h"

struct http {
    const struct sb_kbs_transport *t;
    sb_writer body;
    long status;
};

/* One request; the response body lands in h->body. Any HTTP status is a success here. */
static int request(struct http *h, const char *method, const char *route, const char *json,
                   sb_error *err) {
    sb_writer_free(&h->body);
    sb_writer_init(&h->body, SB_KBS_RESPONSE_MAX);
    h->status = 0;
    return h->t->request(h->t->arg, method, route, json, json ? strlen(json) : 0, &h->status,
                         &h->body, err);
}

/* The response as JSON (NULL if it is not). */
static json_t *response_json(struct http *h) {
    return json_loadb((const char *)h->body.buf, h->body.len, 0, NULL);
}

/* A non-200 answer as an error naming the KBS's type and detail. */
static int refused(struct http *h, const char *step, sb_error *err) {
    json_t *j = response_json(h);
    const char *type = json_string_value(json_object_get(j, "type"));
    const char *detail = json_string_value(json_object_get(j, "detail"));
    const char *slash = type ? strrchr(type, '/') : NULL;
    int code = h->status == 403 ? SB_E_POLICY : h->status == 404 ? SB_E_NOTFOUND : SB_E_SIGNATURE;
    if (h->status >= 500 || (h->status != 401 && h->status != 403 && h->status != 404))
        code = SB_E_IO;
    (void)sb_error_set(err, code, "kbs %s refused (%ld %s): %s", step, h->status,
                       slash  ? slash + 1
                       : type ? type
                              : "",
                       detail ? detail : "(no detail)");
    json_decref(j);
    return code;
}

static int do_handshake(struct http *h, const struct sb_kbs_client_opts *o, const char *path,
                        uint8_t **value, size_t *n, sb_error *err) {
    /* 1. auth → the nonce (the cookie engine keeps the session). */
    json_t *req = json_pack("{s:s, s:s, s:s}", "version", SB_KBS_PROTOCOL_VERSION, "tee", o->tee,
                            "extra-params", "");
    char *s = req ? json_dumps(req, JSON_COMPACT) : NULL;
    json_decref(req);
    ENSURE(s, err, SB_E_INTERNAL, "out of memory");
    int r = request(h, "POST", "auth", s, err);
    free(s);
    TRY(r);
    if (h->status != 200) return refused(h, "auth", err);
    json_t *ch = response_json(h);
    const char *nonce = json_string_value(json_object_get(ch, "nonce"));
    if (!nonce || strlen(nonce) > 128) {
        json_decref(ch);
        BAIL(err, SB_E_MALFORMED, "kbs client: auth answer without a nonce");
    }
    /* 2. a TEE key for this request, the evidence, attest → token. */
    sb_privkey *tk = NULL;
    json_t *pub = NULL, *rd = NULL, *ev = NULL, *body = NULL, *log = NULL;
    r = sb_privkey_generate_ec(SB_CURVE_P256, &tk, err);
    if (r == 0) r = sb_jwe_tee_pubkey(tk, &pub, err);
    if (r == 0 && o->log_json) {
        json_error_t je;
        log = json_loadb(o->log_json, o->log_len, JSON_REJECT_DUPLICATES, &je);
        if (!json_is_string(json_object_get(log, "digest")))
            r = sb_error_set(err, SB_E_MALFORMED, "kbs client: the measurement log has no digest");
    }
    if (r == 0) {
        rd = json_pack("{s:O, s:s, s:s}", "tee-pubkey", pub, "nonce", nonce, "additional-evidence",
                       "");
        if (!rd || (log && json_object_set(rd, "sealbox-log", json_object_get(log, "digest")) < 0))
            r = sb_error_set(err, SB_E_INTERNAL, "out of memory");
    }
    if (r == 0) r = o->evidence(o->evidence_arg, rd, &ev, err);
    if (r == 0) {
        json_t *wire_rd = json_deep_copy(rd);
        json_object_del(wire_rd, "additional-evidence");
        body = json_pack("{s:o, s:{s:O, s:s}}", "runtime-data", wire_rd, "tee-evidence",
                         "primary_evidence", ev, "additional_evidence", "");
        if (!body ||
            (log && json_object_set(json_object_get(body, "tee-evidence"), "sealbox_log", log) < 0))
            r = sb_error_set(err, SB_E_INTERNAL, "out of memory");
    }
    s = r == 0 ? json_dumps(body, JSON_COMPACT) : NULL;
    if (r == 0 && !s) r = sb_error_set(err, SB_E_INTERNAL, "out of memory");
    if (r == 0) r = request(h, "POST", "attest", s, err);
    free(s);
    json_decref(ch);
    json_decref(pub);
    json_decref(rd);
    json_decref(ev);
    json_decref(body);
    json_decref(log);
    if (r == 0 && h->status != 200) r = refused(h, "attest", err);
    /* 3. the resource, as a JWE to our key. */
    char route[SB_KBS_PATH_MAX + 16];
    (void)snprintf(route, sizeof(route), "resource/%s", path);
    if (r == 0) r = request(h, "GET", route, NULL, err);
    if (r == 0 && h->status != 200) r = refused(h, "resource", err);
    json_t *jwe = r == 0 ? response_json(h) : NULL;
    if (r == 0 && !jwe) r = sb_error_set(err, SB_E_MALFORMED, "kbs client: resource is not JSON");
    if (r == 0) r = sb_jwe_decrypt(tk, jwe, value, n, err);
    json_decref(jwe);
    sb_privkey_free(tk);
    return r;
}

int sb_kbs_client_run(const struct sb_kbs_client_opts *o, const struct sb_kbs_transport *t,
                      const char *path, uint8_t **value, size_t *n, sb_error *err) {
    ENSURE(o && o->tee && o->evidence && path && t && t->request, err, SB_E_USAGE,
           "kbs client: tee, evidence, transport and path are required");
    ENSURE(strlen(path) <= SB_KBS_PATH_MAX && !strstr(path, ".."), err, SB_E_USAGE,
           "kbs client: '%.200s' is not repo/type/tag", path);
    struct http h = {.t = t};
    sb_writer_init(&h.body, SB_KBS_RESPONSE_MAX);
    int r = do_handshake(&h, o, path, value, n, err);
    sb_writer_free(&h.body);
    return r;
}
