/* test_secrets: the frames of attestation-gated secrets between the host and sealbox-init
 * (round trips, every truncation, each field corrupted, limits), the secret target checks, and
 * the relay's checks of what init asks the host to forward and to attest. */
#include <string.h>

#include "crypto/crypto.h"
#include "harness.h"
#include "kbs/kbs.h"
#include "sandbox/sandbox.h"

static uint8_t *encode_secrets(size_t *len) {
    struct sb_secret_spec v[2] = {
        {.path = (char *)"app/db/password", .kind = SB_SECRET_FILE, .target = (char *)"/run/pw"},
        {.path = (char *)"app/db/user", .kind = SB_SECRET_ENV, .target = (char *)"DB_USER"}};
    sb_writer w;
    sb_writer_init(&w, SB_PROTO_MAX_FRAME);
    CHECK_INT(sb_msg_encode_secrets(&w, 9, v, 2), 0);
    return sb_writer_steal(&w, len);
}

TEST(secrets_frame_round_trip_and_truncations) {
    size_t len;
    uint8_t *f = encode_secrets(&len);
    struct sb_msg m;
    sb_error err = {0};
    CHECK_OK(sb_msg_parse(f, len, &m, &err), &err);
    CHECK_INT(m.type, SB_MSG_SECRETS);
    CHECK_INT(m.exec_id, 9);
    CHECK_INT(m.secrets.count, 2);
    CHECK_STR(m.secrets.v[0].path, "app/db/password");
    CHECK_INT(m.secrets.v[0].kind, SB_SECRET_FILE);
    CHECK_STR(m.secrets.v[0].target, "/run/pw");
    CHECK_STR(m.secrets.v[1].target, "DB_USER");
    CHECK_INT(m.secrets.v[1].kind, SB_SECRET_ENV);
    sb_msg_free(&m);
    for (size_t n = 0; n < len; n++) {
        int rc = sb_msg_parse(f, n, &m, &err);
        CHECK_MSG(rc < 0, "a frame cut at %zu bytes parsed", n);
        if (rc == 0) sb_msg_free(&m);
    }
    /* trailing byte */
    uint8_t *g = malloc(len + 1);
    memcpy(g, f, len);
    g[len] = 0;
    CHECK_INT(sb_msg_parse(g, len + 1, &m, &err), SB_E_MALFORMED);
    /* count 0 and over the limit */
    memcpy(g, f, len);
    g[8] = 0;
    g[9] = 0;
    CHECK_INT(sb_msg_parse(g, len, &m, &err), SB_E_LIMIT);
    CHECK_CONTAINS(err.msg, "secrets.count");
    g[8] = SB_PROTO_MAX_SECRETS + 1;
    CHECK_INT(sb_msg_parse(g, len, &m, &err), SB_E_LIMIT);
    /* the first path corrupted ('/' -> '!'), then the kind */
    memcpy(g, f, len);
    g[10 + 4 + 3] = '!';
    CHECK_INT(sb_msg_parse(g, len, &m, &err), SB_E_MALFORMED);
    CHECK_CONTAINS(err.msg, "secrets[0]");
    CHECK_CONTAINS(err.msg, "repo/type/tag");
    memcpy(g, f, len);
    g[10 + 4 + strlen("app/db/password")] = 7;
    CHECK_INT(sb_msg_parse(g, len, &m, &err), SB_E_MALFORMED);
    CHECK_CONTAINS(err.msg, "kind 7");
    free(g);
    free(f);
}

TEST(secret_targets_are_checked_by_name) {
    sb_error err = {0};
    struct sb_secret_spec s = {.path = (char *)"a/b/c", .kind = SB_SECRET_FILE};
    const char *good_files[] = {"/run/secrets/a", "/x", "/etc/app/pw.txt"};
    for (size_t i = 0; i < SB_ARRAY_LEN(good_files); i++) {
        s.target = (char *)good_files[i];
        CHECK_OK(sb_secret_spec_check(&s, &err), &err);
    }
    const char *bad_files[] = {"relative", "/", "/a/../b", "/a/./b", "/a//b", "/a/", ""};
    for (size_t i = 0; i < SB_ARRAY_LEN(bad_files); i++) {
        s.target = (char *)bad_files[i];
        CHECK_MSG(sb_secret_spec_check(&s, &err) < 0, "file '%s' accepted", bad_files[i]);
        CHECK_CONTAINS(err.msg, "secret a/b/c: file");
    }
    s.kind = SB_SECRET_ENV;
    s.target = (char *)"DB_1";
    CHECK_OK(sb_secret_spec_check(&s, &err), &err);
    const char *bad_env[] = {"1X", "A-B", "A=B", ""};
    for (size_t i = 0; i < SB_ARRAY_LEN(bad_env); i++) {
        s.target = (char *)bad_env[i];
        CHECK_MSG(sb_secret_spec_check(&s, &err) < 0, "env '%s' accepted", bad_env[i]);
    }
    const char *bad_paths[] = {"a/b", "a/b/c/d", "a/../c", "a/b/.", "a b/c/d", "", "/a/b/c"};
    s.target = (char *)"X";
    for (size_t i = 0; i < SB_ARRAY_LEN(bad_paths); i++) {
        s.path = (char *)bad_paths[i];
        CHECK_MSG(sb_secret_spec_check(&s, &err) < 0, "path '%s' accepted", bad_paths[i]);
        CHECK_CONTAINS(err.msg, "is not repo/type/tag");
    }
}

TEST(secret_specs_parse) {
    struct {
        const char *in;
        int kind;
        const char *path, *target;
    } ok[] = {
        {"app/db/pw", SB_SECRET_FILE, "app/db/pw", "/run/secrets/app/db/pw"},
        {"app/db/pw:env=DB_PW", SB_SECRET_ENV, "app/db/pw", "DB_PW"},
        {"app/db/pw:file=/etc/a:b", SB_SECRET_FILE, "app/db/pw", "/etc/a:b"},
    };
    sb_error err = {0};
    for (size_t i = 0; i < SB_ARRAY_LEN(ok); i++) {
        struct sb_secret_spec sp;
        CHECK_OK(sb_secret_spec_parse((const uint8_t *)ok[i].in, strlen(ok[i].in), &sp, &err),
                 &err);
        CHECK_INT(sp.kind, ok[i].kind);
        CHECK_STR(sp.path, ok[i].path);
        CHECK_STR(sp.target, ok[i].target);
        sb_secret_spec_clear(&sp);
    }
    struct {
        const char *in;
        size_t n;
        const char *why;
    } bad[] = {
        {"app/db/pw:", 10, "offset 9"},
        {"app/db/pw:fil=/x", 16, "offset 9"},
        {"app/db/pw:env", 13, "offset 9"},
        {"app/db/pw:env=", 14, "not a variable name"},
        {"app/db/pw:file=", 15, "not an absolute"},
        {"app/db:env=X", 12, "is not repo/type/tag"},
        {"app/db/pw:env=A\0B", 17, "NUL byte at offset 15"},
        {"a\0b/c/d", 7, "NUL byte at offset 1"},
        {"", 0, "is not repo/type/tag"},
    };
    for (size_t i = 0; i < SB_ARRAY_LEN(bad); i++) {
        struct sb_secret_spec sp;
        CHECK_MSG(sb_secret_spec_parse((const uint8_t *)bad[i].in, bad[i].n, &sp, &err) < 0,
                  "'%s' accepted", bad[i].in);
        CHECK_MSG(strstr(err.msg, bad[i].why) != NULL, "'%s': '%s' lacks '%s'", bad[i].in, err.msg,
                  bad[i].why);
        CHECK(sp.path == NULL && sp.target == NULL);
    }
    /* a path over the limit is refused before anything is copied */
    char longp[SB_PROTO_MAX_SECRET_PATH + 8];
    memset(longp, 'a', sizeof(longp));
    CHECK_INT(sb_secret_spec_parse((const uint8_t *)longp, sizeof(longp),
                                   &(struct sb_secret_spec){0}, &err),
              SB_E_LIMIT);
}

TEST(relay_frames_round_trip) {
    sb_error err = {0};
    struct sb_msg m;
    sb_writer w;
    sb_writer_init(&w, SB_PROTO_MAX_FRAME);
    CHECK_INT(sb_msg_encode_kbs_req(&w, 5, SB_KBS_POST, "auth", "{}", 2), 0);
    CHECK_OK(sb_msg_parse(w.buf, w.len, &m, &err), &err);
    CHECK_INT(m.type, SB_MSG_KBS_REQ);
    CHECK_INT(m.u32, SB_KBS_POST);
    CHECK_STR(m.str, "auth");
    CHECK_INT(m.data_len, 2);
    sb_msg_free(&m);
    /* method 3 */
    w.buf[8] = 3;
    CHECK_INT(sb_msg_parse(w.buf, w.len, &m, &err), SB_E_MALFORMED);
    CHECK_CONTAINS(err.msg, "kbs.method");
    sb_writer_free(&w);
    sb_writer_init(&w, SB_PROTO_MAX_FRAME);
    CHECK_INT(sb_msg_encode_reply(&w, SB_MSG_CONTEXT, 6, 1, "sealbox-software", "{\"a\":1}", 7), 0);
    CHECK_OK(sb_msg_parse(w.buf, w.len, &m, &err), &err);
    CHECK_INT(m.u32, 1);
    CHECK_STR(m.str, "sealbox-software");
    CHECK_INT(m.data_len, 7);
    sb_msg_free(&m);
    for (size_t n = 0; n < 8 + 1 + 4 + 16; n++)
        CHECK(sb_msg_parse(w.buf, n, &m, &err) < 0);
    w.buf[8] = 2; /* ok must be 0 or 1 */
    CHECK_INT(sb_msg_parse(w.buf, w.len, &m, &err), SB_E_MALFORMED);
    CHECK_CONTAINS(err.msg, "ok is 2");
    sb_writer_free(&w);
    /* a tee name over the limit */
    sb_writer_init(&w, SB_PROTO_MAX_FRAME);
    CHECK_INT(sb_msg_encode_reply(&w, SB_MSG_CONTEXT, 6, 1, "0123456789012345678901234567890123",
                                  NULL, 0),
              0);
    CHECK_INT(sb_msg_parse(w.buf, w.len, &m, &err), SB_E_LIMIT);
    CHECK_CONTAINS(err.msg, "context.tee");
    sb_writer_free(&w);
    /* an HTTP status that is not one */
    sb_writer_init(&w, SB_PROTO_MAX_FRAME);
    CHECK_INT(sb_msg_encode_reply(&w, SB_MSG_KBS_RESP, 6, 700, NULL, "x", 1), 0);
    CHECK_INT(sb_msg_parse(w.buf, w.len, &m, &err), SB_E_MALFORMED);
    CHECK_CONTAINS(err.msg, "kbs.status");
    sb_writer_free(&w);
}

TEST(relay_routes) {
    sb_error err = {0};
    CHECK_OK(sb_kbs_relay_check_route(SB_KBS_POST, "auth", &err), &err);
    CHECK_OK(sb_kbs_relay_check_route(SB_KBS_POST, "attest", &err), &err);
    CHECK_OK(sb_kbs_relay_check_route(SB_KBS_GET, "resource/a/b/c", &err), &err);
    CHECK_INT(sb_kbs_relay_check_route(SB_KBS_GET, "auth", &err), SB_E_USAGE);
    CHECK_INT(sb_kbs_relay_check_route(SB_KBS_POST, "resource/a/b/c", &err), SB_E_USAGE);
    CHECK_INT(sb_kbs_relay_check_route(SB_KBS_POST, "resource-policy", &err), SB_E_USAGE);
    CHECK_CONTAINS(err.msg, "is not relayed");
    CHECK_INT(sb_kbs_relay_check_route(SB_KBS_GET, "resources", &err), SB_E_USAGE);
    CHECK_INT(sb_kbs_relay_check_route(SB_KBS_GET, "resource/a/../c", &err), SB_E_MALFORMED);
    CHECK_INT(sb_kbs_relay_check_route(SB_KBS_GET, "resource/a/b/c?x=1", &err), SB_E_MALFORMED);
    CHECK_INT(sb_kbs_relay_check_route(SB_KBS_GET, "../admin", &err), SB_E_USAGE);
}

static char *runtime(const char *pub, const char *nonce, const char *add, const char *log,
                     const char *extra) {
    char *s = malloc(4096);
    snprintf(s, 4096,
             "{\"tee-pubkey\": %s, \"nonce\": \"%s\", \"additional-evidence\": \"%s\"%s%s%s%s}",
             pub, nonce, add, log ? ", \"sealbox-log\": \"" : "", log ? log : "", log ? "\"" : "",
             extra ? extra : "");
    return s;
}

TEST(relay_runtime_data_is_checked_member_by_member) {
    sb_error err = {0};
    sb_privkey *k = NULL;
    CHECK_OK(sb_privkey_generate_ec(SB_CURVE_P256, &k, &err), &err);
    json_t *jwk = NULL;
    CHECK_OK(sb_jwe_tee_pubkey(k, &jwk, &err), &err);
    char *pub = json_dumps(jwk, JSON_COMPACT);
    const char *D = "sha384:0000";
    json_t *out = NULL;
    char *s = runtime(pub, "n1", "", D, NULL);
    CHECK_OK(sb_kbs_relay_check_runtime((uint8_t *)s, strlen(s), "n1", D, &out, &err), &err);
    CHECK(json_is_object(out));
    json_decref(out);
    out = NULL;
    /* another nonce, no pending challenge */
    CHECK_INT(sb_kbs_relay_check_runtime((uint8_t *)s, strlen(s), "n2", D, &out, &err),
              SB_E_POLICY);
    CHECK_CONTAINS(err.msg, "nonce");
    CHECK_INT(sb_kbs_relay_check_runtime((uint8_t *)s, strlen(s), "", D, &out, &err), SB_E_POLICY);
    CHECK_CONTAINS(err.msg, "no KBS challenge");
    /* a log digest init chose */
    CHECK_INT(sb_kbs_relay_check_runtime((uint8_t *)s, strlen(s), "n1", "sha384:1111", &out, &err),
              SB_E_POLICY);
    CHECK_CONTAINS(err.msg, "sealbox-log");
    free(s);
    s = runtime(pub, "n1", "", NULL, NULL);
    CHECK_INT(sb_kbs_relay_check_runtime((uint8_t *)s, strlen(s), "n1", D, &out, &err),
              SB_E_POLICY);
    free(s);
    s = runtime(pub, "n1", "extra", D, NULL);
    CHECK_INT(sb_kbs_relay_check_runtime((uint8_t *)s, strlen(s), "n1", D, &out, &err),
              SB_E_MALFORMED);
    CHECK_CONTAINS(err.msg, "additional-evidence");
    free(s);
    s = runtime(pub, "n1", "", D, ", \"more\": 1");
    CHECK_INT(sb_kbs_relay_check_runtime((uint8_t *)s, strlen(s), "n1", D, &out, &err),
              SB_E_MALFORMED);
    CHECK_CONTAINS(err.msg, "unknown member 'more'");
    free(s);
    s = runtime("{\"kty\": \"oct\"}", "n1", "", D, NULL);
    CHECK(sb_kbs_relay_check_runtime((uint8_t *)s, strlen(s), "n1", D, &out, &err) < 0);
    free(s);
    s = runtime(pub, "n1", "", D, ", \"nonce\": \"n1\"");
    CHECK_INT(sb_kbs_relay_check_runtime((uint8_t *)s, strlen(s), "n1", D, &out, &err),
              SB_E_MALFORMED);
    free(s);
    CHECK_INT(sb_kbs_relay_check_runtime((const uint8_t *)"[1]", 3, "n1", D, &out, &err),
              SB_E_MALFORMED);
    uint8_t big[SB_KBS_RUNTIME_MAX + 1];
    memset(big, ' ', sizeof(big));
    CHECK_INT(sb_kbs_relay_check_runtime(big, sizeof(big), "n1", D, &out, &err), SB_E_LIMIT);
    CHECK(out == NULL);
    free(pub);
    json_decref(jwk);
    sb_privkey_free(k);
}

/* ---- the workload's socket ------------------------------------------------------------------ */

TEST(cdh_requests) {
    sb_error err = {0};
    char path[SB_PROTO_MAX_SECRET_PATH + 1];
    static const char ok[] = "GET /cdh/resource/app/db/password HTTP/1.1\r\nHost: x\r\n"
                             "Content-Length: 0\r\n\r\n";
    CHECK_OK(sb_cdh_parse_request((const uint8_t *)ok, strlen(ok), path, &err), &err);
    CHECK_STR(path, "app/db/password");
    /* every prefix is incomplete, never accepted or refused for the wrong reason */
    for (size_t n = 0; n < strlen(ok); n++)
        CHECK_INT(sb_cdh_parse_request((const uint8_t *)ok, n, path, &err), SB_E_TRUNCATED);
    struct {
        const char *req;
        int rc;
        const char *why;
    } bad[] = {
        {"POST /cdh/resource/a/b/c HTTP/1.1\r\n\r\n", SB_E_UNSUPPORTED, "only GET"},
        {"GET /aa/token HTTP/1.1\r\n\r\n", SB_E_NOTFOUND, "only /cdh/resource"},
        {"GET /cdh/resource/a/../c HTTP/1.1\r\n\r\n", SB_E_MALFORMED, "is not <repo>"},
        {"GET /cdh/resource/a/b HTTP/1.1\r\n\r\n", SB_E_MALFORMED, "is not <repo>"},
        {"GET /cdh/resource/a/b/c HTTP/2\r\n\r\n", SB_E_MALFORMED, "version"},
        {"GET /cdh/resource/a/b/c HTTP/1.1\nHost: x\r\n\r\n", SB_E_MALFORMED, "byte 0x0a"},
        {"GET /cdh/resource/a/b/c HTTP/1.1\r\nHost: x\rY\r\n\r\n", SB_E_MALFORMED, "CR without LF"},
        {"GET /cdh/resource/a/b/c HTTP/1.1\r\nno colon\r\n\r\n", SB_E_MALFORMED, "Name: value"},
        {"GET /cdh/resource/a/b/c HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc", SB_E_MALFORMED,
         "no body"},
        {"GET /cdh/resource/a/b/c HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n", SB_E_MALFORMED,
         "Transfer-Encoding"},
        {"GET /cdh/resource/a/b/c HTTP/1.1\r\n\r\nX", SB_E_MALFORMED, "nothing may follow"},
    };
    for (size_t i = 0; i < SB_ARRAY_LEN(bad); i++) {
        CHECK_INT(sb_cdh_parse_request((const uint8_t *)bad[i].req, strlen(bad[i].req), path, &err),
                  bad[i].rc);
        CHECK_CONTAINS(err.msg, bad[i].why);
    }
    /* limits: a long line, many headers, a request over the size */
    char *big = malloc(SB_CDH_MAX_REQUEST + 2);
    int k = snprintf(big, SB_CDH_MAX_REQUEST, "GET /cdh/resource/a/b/c HTTP/1.1\r\nX: ");
    memset(big + k, 'a', SB_CDH_MAX_LINE + 8);
    CHECK_INT(sb_cdh_parse_request((uint8_t *)big, (size_t)k + SB_CDH_MAX_LINE + 8, path, &err),
              SB_E_LIMIT);
    size_t n = (size_t)snprintf(big, SB_CDH_MAX_REQUEST, "GET /cdh/resource/a/b/c HTTP/1.1\r\n");
    for (unsigned h = 0; h <= SB_CDH_MAX_HEADERS; h++)
        n += (size_t)snprintf(big + n, SB_CDH_MAX_REQUEST - n, "H%u: v\r\n", h);
    n += (size_t)snprintf(big + n, SB_CDH_MAX_REQUEST - n, "\r\n");
    CHECK_INT(sb_cdh_parse_request((uint8_t *)big, n, path, &err), SB_E_LIMIT);
    CHECK_CONTAINS(err.msg, "headers");
    CHECK_INT(sb_cdh_parse_request((uint8_t *)big, SB_CDH_MAX_REQUEST + 1, path, &err), SB_E_LIMIT);
    free(big);
}

TEST(cdh_responses) {
    sb_error err = {0};
    struct sb_cdh_response r;
    static const char ok[] = "HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\n"
                             "Content-Length: 5\r\nConnection: close\r\n\r\nvalue";
    CHECK_OK(sb_cdh_parse_response((const uint8_t *)ok, strlen(ok), &r, &err), &err);
    CHECK_INT(r.status, 200);
    CHECK_INT(r.body_len, 5);
    CHECK_MEM(r.body, "value", 5);
    for (size_t n = 0; n < strlen(ok); n++)
        CHECK_INT(sb_cdh_parse_response((const uint8_t *)ok, n, &r, &err), SB_E_TRUNCATED);
    const char *bad[] = {
        "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\nx",
        "HTTP/1.1 200 OK\r\n\r\n",
        "HTTP/1.1 200 OK\r\nContent-Length: 1x\r\n\r\nx",
        "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nxy",
        "HTTP/1.1 2000 OK\r\nContent-Length: 0\r\n\r\n",
        "HTTP/3 200 OK\r\nContent-Length: 0\r\n\r\n",
        "HTTP/1.1 600 OK\r\nContent-Length: 0\r\n\r\n",
    };
    for (size_t i = 0; i < SB_ARRAY_LEN(bad); i++)
        CHECK_MSG(sb_cdh_parse_response((const uint8_t *)bad[i], strlen(bad[i]), &r, &err) < 0 &&
                      err.code != SB_E_TRUNCATED,
                  "response %zu accepted or incomplete", i);
    char big[64];
    snprintf(big, sizeof(big), "HTTP/1.1 200 OK\r\nContent-Length: %u\r\n\r\n",
             SB_CDH_MAX_BODY + 1);
    CHECK_INT(sb_cdh_parse_response((uint8_t *)big, strlen(big), &r, &err), SB_E_LIMIT);
}
