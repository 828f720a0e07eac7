/* test_front_json: the front's checks of sandbox request bodies — defaults, every limit, wrong
 * types, unknown fields, control characters — each refusal naming the field; and what passes
 * encodes into an ipc message the monitor's codec accepts. */
#include <string.h>

#include "api/front_int.h"
#include "sandbox/sandbox.h"
#include "harness.h"

static struct sb_front_body body;

static int create(const char *json) {
    memset(&body, 0, sizeof(body));
    char why[256];
    json_t *j = sb_front_parse_body(json, strlen(json), why, sizeof(why));
    if (!j) {
        (void)snprintf(body.why, sizeof(body.why), "parse: %s", why);
        return -2;
    }
    int r = sb_front_create_body(j, &body);
    if (r == 0) {
        /* What passes must encode: the codec is the monitor's last word on it. */
        body.v[0] = sb_ipc_s("cred");
        sb_writer w;
        sb_writer_init(&w, SB_IPC_MSG_MAX);
        sb_error err = {0};
        CHECK_OK(sb_ipc_encode(&w, SB_IPC_SBX_CREATE, 1, body.v, body.n, &err), &err);
        sb_ipc_msg m;
        CHECK_OK(sb_ipc_decode(w.buf, w.len, &m, &err), &err);
        sb_writer_free(&w);
    }
    json_decref(j);
    return r;
}

static int exec_(const char *json) {
    memset(&body, 0, sizeof(body));
    char why[256];
    json_t *j = sb_front_parse_body(json, strlen(json), why, sizeof(why));
    if (!j) return -2;
    int r = sb_front_exec_body(j, &body);
    if (r == 0) {
        body.v[0] = sb_ipc_s("cred");
        body.v[1] = sb_ipc_s("sbx_1");
        sb_writer w;
        sb_writer_init(&w, SB_IPC_MSG_MAX);
        sb_error err = {0};
        CHECK_OK(sb_ipc_encode(&w, SB_IPC_SBX_EXEC, 1, body.v, body.n, &err), &err);
        sb_writer_free(&w);
    }
    json_decref(j);
    return r;
}

TEST(create_defaults_and_values) {
    CHECK_INT(create(""), 0);
    CHECK_INT(body.n, 9);
    CHECK_INT(body.v[8].count, 0);
    CHECK_INT(body.v[2].u, SB_FRONT_DEF_MEMORY_MB);
    CHECK_INT(body.v[4].u, SB_FRONT_DEF_TIMEOUT_S);
    CHECK_INT(body.v[1].s.len, 7); /* "default" */
    CHECK_INT(
        create("{\"image\":\"python:3.12\",\"limits\":{\"memory_mb\":1024,\"cpu_millis\":500},"
               "\"env\":{\"A\":\"1\",\"_B2\":\"x y\"},\"metadata\":{\"team.name\":\"s-1\"},"
               "\"timeout_s\":60,\"idle_standby_s\":30}"),
        0);
    CHECK_INT(body.v[2].u, 1024);
    CHECK_INT(body.v[3].u, 500);
    CHECK_INT(body.v[5].u, 30);
    CHECK_INT(body.v[6].count, 2);
    CHECK_INT(body.v[6].list[1].len, 7);
    CHECK_MEM(body.v[6].list[1].p, "_B2=x y", 7);
    CHECK_INT(body.v[7].count, 1);
}

TEST(create_refusals_name_the_field) {
    struct {
        const char *json, *field;
    } cases[] = {
        {"{\"imag\":\"x\"}", "imag"},
        {"{\"image\":3}", "image"},
        {"{\"image\":\"a b\"}", "image"},
        {"{\"image\":\"\"}", "image"},
        {"{\"limits\":[]}", "limits"},
        {"{\"limits\":{\"memory_mb\":8}}", "limits.memory_mb"},
        {"{\"limits\":{\"memory_mb\":\"512\"}}", "limits.memory_mb"},
        {"{\"limits\":{\"memory_mb\":1.5}}", "limits.memory_mb"},
        {"{\"limits\":{\"disk\":1}}", "limits.disk"},
        {"{\"timeout_s\":0}", "timeout_s"},
        {"{\"timeout_s\":86401}", "timeout_s"},
        {"{\"timeout_s\":true}", "timeout_s"},
        {"{\"idle_standby_s\":-1}", "idle_standby_s"},
        {"{\"env\":[]}", "env"},
        {"{\"env\":{\"1A\":\"x\"}}", "env.1A"},
        {"{\"env\":{\"A-B\":\"x\"}}", "env.A-B"},
        {"{\"env\":{\"A\":1}}", "env.A"},
        {"{\"env\":{\"A\":\"x\\ny\"}}", "env.A"},
        {"{\"env\":{\"A\":\"x\\u0000y\"}}", "env.A"},
        {"{\"metadata\":{\"a b\":\"x\"}}", "metadata.a b"},
        {"{\"metadata\":{\"k\":\"\\u0007\"}}", "metadata.k"},
    };
    for (size_t i = 0; i < SB_ARRAY_LEN(cases); i++) {
        int r = create(cases[i].json);
        CHECK_MSG(r == -1, "%s: accepted (%d)", cases[i].json, r);
        CHECK_MSG(strcmp(body.field, cases[i].field) == 0, "%s: field '%s', expected '%s'",
                  cases[i].json, body.field, cases[i].field);
    }
}

TEST(create_secrets) {
    CHECK_INT(create("{\"env\":{\"A\":\"1\"},\"secrets\":[{\"path\":\"app/db/pw\"},"
                     "{\"path\":\"app/db/pw\",\"env\":\"DB_PW\"},"
                     "{\"path\":\"app/tls/key\",\"file\":\"/etc/tls/key\"}]}"),
              0);
    CHECK_MSG(body.v[8].count == 3, "why: %s", body.why);
    const char *want[] = {"app/db/pw:file=/run/secrets/app/db/pw", "app/db/pw:env=DB_PW",
                          "app/tls/key:file=/etc/tls/key"};
    for (size_t i = 0; i < 3; i++) {
        CHECK_INT(body.v[8].list[i].len, strlen(want[i]));
        CHECK_MEM(body.v[8].list[i].p, want[i], strlen(want[i]));
        /* what the monitor parses back is what the front meant */
        struct sb_secret_spec sp;
        sb_error err = {0};
        CHECK_OK(sb_secret_spec_parse(body.v[8].list[i].p, body.v[8].list[i].len, &sp, &err), &err);
        CHECK_INT(sp.kind, i == 1 ? SB_SECRET_ENV : SB_SECRET_FILE);
        sb_secret_spec_clear(&sp);
    }
    struct {
        const char *json, *field, *why;
    } cases[] = {
        {"{\"secrets\":{}}", "secrets", "array"},
        {"{\"secrets\":[1]}", "secrets[0]", "object"},
        {"{\"secrets\":[{}]}", "secrets[0].path", "required"},
        {"{\"secrets\":[{\"path\":\"a/b\"}]}", "secrets[0]", "repo/type/tag"},
        {"{\"secrets\":[{\"path\":\"a/../c\"}]}", "secrets[0]", "repo/type/tag"},
        {"{\"secrets\":[{\"path\":\"a/b/c\",\"env\":\"1X\"}]}", "secrets[0]", "variable name"},
        {"{\"secrets\":[{\"path\":\"a/b/c\",\"file\":\"rel\"}]}", "secrets[0]", "absolute"},
        {"{\"secrets\":[{\"path\":\"a/b/c\",\"file\":\"/x/../y\"}]}", "secrets[0]", "'..'"},
        {"{\"secrets\":[{\"path\":\"a/b/c\",\"file\":\"/x\",\"env\":\"X\"}]}", "secrets[0]",
         "not both"},
        {"{\"secrets\":[{\"path\":\"a/b/c\",\"mode\":1}]}", "secrets[0].mode", "unknown"},
        {"{\"env\":{\"X\":\"1\"},\"secrets\":[{\"path\":\"a/b/c\",\"env\":\"X\"}]}",
         "secrets[0].env", "also set in env"},
        {"{\"secrets\":[{\"path\":\"a/b/c\",\"env\":\"X\"},{\"path\":\"a/b/d\","
         "\"env\":\"X\"}]}",
         "secrets[1]", "same env"},
        {"{\"secrets\":[{\"path\":\"a/b/c\"},{\"path\":\"x/y/z\",\"file\":"
         "\"/run/secrets/a/b/c\"}]}",
         "secrets[1]", "same file"},
    };
    for (size_t i = 0; i < SB_ARRAY_LEN(cases); i++) {
        int r = create(cases[i].json);
        CHECK_MSG(r == -1, "%s: accepted (%d)", cases[i].json, r);
        CHECK_MSG(strcmp(body.field, cases[i].field) == 0, "%s: field '%s', expected '%s'",
                  cases[i].json, body.field, cases[i].field);
        CHECK_MSG(strstr(body.why, cases[i].why) != NULL, "%s: '%s' lacks '%s'", cases[i].json,
                  body.why, cases[i].why);
    }
    /* 33 secrets: one more than sealbox-init takes */
    sb_writer w;
    sb_writer_init(&w, 8192);
    (void)sb_writer_str(&w, "{\"secrets\":[");
    for (int i = 0; i < 33; i++)
        (void)sb_writer_printf(&w, "%s{\"path\":\"a/b/t%d\"}", i ? "," : "", i);
    (void)sb_writer_str(&w, "]}");
    (void)sb_writer_u8(&w, 0);
    CHECK_INT(create((const char *)w.buf), -1);
    sb_writer_free(&w);
    CHECK_CONTAINS(body.why, "more than 32 secrets");
}

TEST(create_size_limits) {
    /* 65 env entries, one more than the message may carry. */
    sb_writer w;
    sb_writer_init(&w, 8192);
    (void)sb_writer_str(&w, "{\"env\":{");
    for (int i = 0; i < 65; i++)
        (void)sb_writer_printf(&w, "%s\"V%d\":\"x\"", i ? "," : "", i);
    (void)sb_writer_str(&w, "}}");
    (void)sb_writer_u8(&w, 0);
    CHECK_INT(create((const char *)w.buf), -1);
    sb_writer_free(&w);
    CHECK_CONTAINS(body.why, "more than 64 entries");
    /* A value over 4096 bytes. */
    static char val[5000 + 32];
    memset(val, 0, sizeof(val));
    memcpy(val, "{\"env\":{\"A\":\"", 13);
    memset(val + 13, 'x', 4097);
    memcpy(val + 13 + 4097, "\"}}", 3);
    CHECK_INT(create(val), -1);
    CHECK_CONTAINS(body.why, "longer than 4096");
}

TEST(body_parse_errors) {
    char why[256];
    CHECK(sb_front_parse_body("{", 1, why, sizeof(why)) == NULL);
    CHECK_CONTAINS(why, "invalid JSON at line 1");
    CHECK(sb_front_parse_body("[1]", 3, why, sizeof(why)) == NULL);
    CHECK_CONTAINS(why, "JSON object");
    CHECK(sb_front_parse_body("{\"a\":1,\"a\":2}", 13, why, sizeof(why)) == NULL);
    CHECK_CONTAINS(why, "duplicate");
    CHECK(sb_front_parse_body("{} x", 4, why, sizeof(why)) == NULL);
    json_t *j = sb_front_parse_body("", 0, why, sizeof(why));
    CHECK(json_is_object(j));
    json_decref(j);
}

TEST(exec_bodies) {
    CHECK_INT(exec_("{\"cmd\":\"sh\",\"args\":[\"-c\",\"echo hi\"],\"env\":{\"X\":\"1\"},"
                    "\"cwd\":\"/tmp\",\"stdin\":\"in\",\"timeout_s\":5}"),
              0);
    CHECK_INT(body.v[2].count, 3);
    CHECK_INT(body.v[6].u, 5);
    CHECK_INT(body.v[5].s.len, 2);
    CHECK_INT(exec_("{\"cmd\":\"true\"}"), 0);
    CHECK_INT(body.v[6].u, SB_FRONT_DEF_EXEC_TIMEOUT_S);
    CHECK_INT(body.v[7].u, SB_EXEC_SYNC);
    /* a background process: no deadline unless it asks for one */
    CHECK_INT(exec_("{\"cmd\":\"sleep\",\"background\":true}"), 0);
    CHECK_INT(body.v[7].u, SB_EXEC_BACKGROUND);
    CHECK_INT(body.v[6].u, 0);
    CHECK_INT(exec_("{\"cmd\":\"sleep\",\"background\":true,\"timeout_s\":9}"), 0);
    CHECK_INT(body.v[6].u, 9);
    const char *bad[] = {"{}",
                         "{\"cmd\":\"\"}",
                         "{\"cmd\":[\"ls\"]}",
                         "{\"cmd\":\"ls\",\"args\":\"-l\"}",
                         "{\"cmd\":\"ls\",\"args\":[1]}",
                         "{\"cmd\":\"ls\",\"cwd\":\"relative\"}",
                         "{\"cmd\":\"ls\",\"timeout_s\":0}",
                         "{\"cmd\":\"ls\",\"timeout_s\":3601}",
                         "{\"cmd\":\"ls\",\"background\":\"no\"}",
                         "{\"cmd\":\"ls\",\"stdin\":5}",
                         "{\"cmd\":\"ls\",\"shell\":true}",
                         "{\"cmd\":\"l\\ns\"}"};
    for (size_t i = 0; i < SB_ARRAY_LEN(bad); i++)
        CHECK_MSG(exec_(bad[i]) == -1, "%s accepted", bad[i]);
    /* stdin may hold any text, including control characters: it is bytes, not a name. */
    CHECK_INT(exec_("{\"cmd\":\"cat\",\"stdin\":\"a\\nb\\u0001\"}"), 0);
}
