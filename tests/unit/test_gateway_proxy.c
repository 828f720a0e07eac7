/* test_gateway_proxy: the gateway's JSON-RPC codec (framing, the four shapes, every refusal),
 * the "servers" configuration (each error names its path), definition digests and the pin
 * decisions over a real store, and the engine's agent side with no servers behind it. */
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "gateway/gateway.h"
#include "harness.h"
#include "store/store.h"

/* ---- framing ------------------------------------------------------------------------------ */

struct lines {
    char got[16][256];
    int kind[16];
    int n;
};

static int collect(void *ctx, enum sb_rpc_frame_kind kind, const uint8_t *p, size_t n) {
    struct lines *l = ctx;
    if (l->n < 16) {
        snprintf(l->got[l->n], sizeof(l->got[0]), "%.*s", (int)n, (const char *)p);
        l->kind[l->n] = kind;
        l->n++;
    }
    return 0;
}

TEST(framer_splits_across_pushes_and_drops_cr_and_blank_lines) {
    sb_rpc_framer f;
    sb_rpc_framer_init(&f, 64);
    struct lines l = {0};
    const char *a = "{\"a\":1}\r\n\n{\"b\"", *b = ":2}\n{\"c\":3";
    CHECK_INT(sb_rpc_framer_push(&f, (const uint8_t *)a, strlen(a), collect, &l), 0);
    CHECK_INT(l.n, 1);
    CHECK_INT(sb_rpc_framer_push(&f, (const uint8_t *)b, strlen(b), collect, &l), 0);
    CHECK_INT(l.n, 2);
    CHECK_STR(l.got[0], "{\"a\":1}");
    CHECK_STR(l.got[1], "{\"b\":2}");
    CHECK_INT(f.len, 6); /* {"c":3 waits for its newline */
    sb_rpc_framer_free(&f);
}

TEST(framer_oversize_is_reported_once_and_the_next_line_is_intact) {
    sb_rpc_framer f;
    sb_rpc_framer_init(&f, 32);
    struct lines l = {0};
    char big[400];
    int n = snprintf(big, sizeof(big),
                     "{\"result\":{\"pad\":\"%0300d\"},\"jsonrpc\":\"2.0\",\"id\":42}\n"
                     "{\"ok\":1}\n",
                     0);
    /* in three uneven pushes */
    CHECK_INT(sb_rpc_framer_push(&f, (const uint8_t *)big, 10, collect, &l), 0);
    CHECK_INT(sb_rpc_framer_push(&f, (const uint8_t *)big + 10, 200, collect, &l), 0);
    CHECK_INT(sb_rpc_framer_push(&f, (const uint8_t *)big + 210, (size_t)n - 210, collect, &l), 0);
    CHECK_INT(l.n, 2);
    CHECK_INT(l.kind[0], SB_RPC_FRAME_OVERSIZE);
    CHECK_INT(l.kind[1], SB_RPC_FRAME_LINE);
    CHECK_STR(l.got[1], "{\"ok\":1}");
    /* the id of the dropped response is recovered from its tail */
    sb_rpc_framer_free(&f);
    sb_rpc_framer_init(&f, 32);
    l.n = 0;
    int64_t id = 0;
    n = snprintf(big, sizeof(big),
                 "{\"result\":{\"pad\":\"%0100d\"},\"jsonrpc\":\"2.0\",\"id\":42}\n", 0);
    CHECK_INT(sb_rpc_framer_push(&f, (const uint8_t *)big, (size_t)n, collect, &l), 0);
    CHECK(sb_rpc_framer_oversize_id(&f, &id));
    CHECK_INT(id, 42);
    /* ... or its head */
    n = snprintf(big, sizeof(big),
                 "{\"jsonrpc\":\"2.0\",\"id\":-7,\"result\":{\"p\":\"%0100d\"}}\n", 0);
    CHECK_INT(sb_rpc_framer_push(&f, (const uint8_t *)big, (size_t)n, collect, &l), 0);
    CHECK(sb_rpc_framer_oversize_id(&f, &id));
    CHECK_INT(id, -7);
    /* a nested "id" is not taken for the message's */
    n = snprintf(big, sizeof(big), "{\"result\":{\"id\":5,\"p\":\"%0100d\"},\"jsonrpc\":\"2.0\"}\n",
                 0);
    CHECK_INT(sb_rpc_framer_push(&f, (const uint8_t *)big, (size_t)n, collect, &l), 0);
    CHECK(!sb_rpc_framer_oversize_id(&f, &id));
    sb_rpc_framer_free(&f);
}

/* ---- message shapes ---------------------------------------------------------------------------
 */

static int parse(const char *s, sb_rpc_msg *m, int *code, sb_error *err) {
    json_t *rid = NULL;
    int rc = sb_rpc_parse((const uint8_t *)s, strlen(s), m, code, &rid, err);
    json_decref(rid);
    return rc;
}

TEST(rpc_accepts_the_four_shapes) {
    sb_rpc_msg m;
    int code = 0;
    sb_error err = {0};
    CHECK_OK(parse("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\"}", &m, &code, &err), &err);
    CHECK_INT(m.kind, SB_RPC_REQUEST);
    CHECK_STR(m.method, "ping");
    sb_rpc_msg_clear(&m);
    CHECK_OK(parse("{\"jsonrpc\":\"2.0\",\"id\":\"x\",\"method\":\"tools/call\",\"params\":{}}", &m,
                   &code, &err),
             &err);
    CHECK(json_is_string(m.id) && json_is_object(m.params));
    sb_rpc_msg_clear(&m);
    CHECK_OK(
        parse("{\"jsonrpc\":\"2.0\",\"method\":\"notifications/initialized\"}", &m, &code, &err),
        &err);
    CHECK_INT(m.kind, SB_RPC_NOTIFICATION);
    CHECK(m.id == NULL);
    sb_rpc_msg_clear(&m);
    CHECK_OK(parse("{\"jsonrpc\":\"2.0\",\"id\":3,\"result\":{}}", &m, &code, &err), &err);
    CHECK_INT(m.kind, SB_RPC_RESULT);
    sb_rpc_msg_clear(&m);
    CHECK_OK(
        parse("{\"jsonrpc\":\"2.0\",\"id\":null,\"error\":{\"code\":-32700,\"message\":\"x\"}}", &m,
              &code, &err),
        &err);
    CHECK_INT(m.kind, SB_RPC_ERROR);
    CHECK_INT(m.error_code, -32700);
    sb_rpc_msg_clear(&m);
}

TEST(rpc_refusals_name_the_field_and_the_code) {
    static const struct {
        const char *in;
        int code;
        const char *msg;
    } cases[] = {
        {"not json", SB_RPC_PARSE_ERROR, "not JSON"},
        {"{\"jsonrpc\":\"2.0\",\"id\":1,", SB_RPC_PARSE_ERROR, "not JSON"},
        {"42", SB_RPC_INVALID_REQUEST, "must be a JSON object"},
        {"[{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\"}]", SB_RPC_INVALID_REQUEST, "batches"},
        {"{\"id\":1,\"method\":\"ping\"}", SB_RPC_INVALID_REQUEST, "jsonrpc"},
        {"{\"jsonrpc\":\"1.0\",\"id\":1,\"method\":\"ping\"}", SB_RPC_INVALID_REQUEST, "jsonrpc"},
        {"{\"jsonrpc\":\"2.0\",\"id\":null,\"method\":\"ping\"}", SB_RPC_INVALID_REQUEST,
         "id: must not be null"},
        {"{\"jsonrpc\":\"2.0\",\"id\":1.5,\"method\":\"ping\"}", SB_RPC_INVALID_REQUEST, "id:"},
        {"{\"jsonrpc\":\"2.0\",\"id\":{},\"method\":\"ping\"}", SB_RPC_INVALID_REQUEST, "id:"},
        {"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":7}", SB_RPC_INVALID_REQUEST, "method:"},
        {"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"\"}", SB_RPC_INVALID_REQUEST, "method:"},
        {"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"p\",\"params\":[1]}", SB_RPC_INVALID_REQUEST,
         "params: must be an object"},
        {"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"p\",\"result\":{}}", SB_RPC_INVALID_REQUEST,
         "cannot carry result"},
        {"{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{},\"error\":{}}", SB_RPC_INVALID_REQUEST,
         "both result"},
        {"{\"jsonrpc\":\"2.0\",\"result\":{}}", SB_RPC_INVALID_REQUEST, "must carry an id"},
        {"{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":[]}", SB_RPC_INVALID_REQUEST,
         "result: must be an object"},
        {"{\"jsonrpc\":\"2.0\",\"id\":1,\"error\":{\"message\":\"x\"}}", SB_RPC_INVALID_REQUEST,
         "error.code"},
        {"{\"jsonrpc\":\"2.0\",\"id\":1,\"error\":{\"code\":1}}", SB_RPC_INVALID_REQUEST,
         "error.message"},
        {"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"p\",\"extra\":1}", SB_RPC_INVALID_REQUEST,
         "extra: not a JSON-RPC member"},
        {"{\"jsonrpc\":\"2.0\",\"id\":1,\"id\":2,\"method\":\"p\"}", SB_RPC_PARSE_ERROR,
         "duplicate"},
        {"{\"jsonrpc\":\"2.0\"}", SB_RPC_INVALID_REQUEST, "method: missing"},
    };
    for (size_t i = 0; i < SB_ARRAY_LEN(cases); i++) {
        sb_rpc_msg m;
        int code = 0;
        sb_error err = {0};
        int rc = parse(cases[i].in, &m, &code, &err);
        CHECK_MSG(rc < 0, "case %zu accepted: %s", i, cases[i].in);
        if (rc == 0) {
            sb_rpc_msg_clear(&m);
            continue;
        }
        CHECK_MSG(code == cases[i].code, "case %zu: code %d, wanted %d", i, code, cases[i].code);
        CHECK_CONTAINS(err.msg, cases[i].msg);
    }
}

TEST(rpc_limits_depth_id_and_method_length) {
    char buf[2048];
    sb_rpc_msg m;
    int code = 0;
    sb_error err = {0};
    size_t n = (size_t)snprintf(buf, sizeof(buf),
                                "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"p\","
                                "\"params\":");
    for (int i = 0; i < SB_RPC_DEPTH_MAX + 1; i++)
        n += (size_t)snprintf(buf + n, sizeof(buf) - n, "{\"a\":");
    n += (size_t)snprintf(buf + n, sizeof(buf) - n, "1");
    for (int i = 0; i < SB_RPC_DEPTH_MAX + 2; i++)
        n += (size_t)snprintf(buf + n, sizeof(buf) - n, "}");
    CHECK(parse(buf, &m, &code, &err) == SB_E_LIMIT);
    CHECK_CONTAINS(err.msg, "nested deeper");
    char id[SB_RPC_ID_STR_MAX + 2];
    memset(id, 'i', sizeof(id) - 1);
    id[sizeof(id) - 1] = 0;
    snprintf(buf, sizeof(buf), "{\"jsonrpc\":\"2.0\",\"id\":\"%s\",\"method\":\"p\"}", id);
    CHECK(parse(buf, &m, &code, &err) == SB_E_LIMIT);
    CHECK_CONTAINS(err.msg, "id:");
    char meth[SB_RPC_METHOD_MAX + 2];
    memset(meth, 'm', sizeof(meth) - 1);
    meth[sizeof(meth) - 1] = 0;
    snprintf(buf, sizeof(buf), "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"%s\"}", meth);
    CHECK(parse(buf, &m, &code, &err) == SB_E_LIMIT);
    CHECK_CONTAINS(err.msg, "method:");
}

TEST(rpc_dump_is_one_line_even_with_newlines_in_strings) {
    json_t *msg =
        sb_rpc_notification("notifications/message", json_pack("{ss}", "data", "line1\nline2\r\n"));
    char *s = NULL;
    size_t len = 0;
    sb_error err = {0};
    CHECK_OK(sb_rpc_dump(msg, 4096, &s, &len, &err), &err);
    CHECK(len > 0 && s[len - 1] == '\n' && memchr(s, '\n', len - 1) == NULL);
    free(s);
    CHECK(sb_rpc_dump(msg, 10, &s, &len, &err) == SB_E_LIMIT);
    json_decref(msg);
}

/* ---- configuration ------------------------------------------------------------------------------
 */

static int cfg(const char *text, sb_gw_config **out, sb_error *err) {
    json_error_t je;
    json_t *root = json_loads(text, 0, &je);
    CHECK_MSG(root != NULL, "test config does not parse: %s", je.text);
    int rc = sb_gw_config_parse(root, out, err);
    json_decref(root);
    return rc;
}

TEST(config_reads_a_full_server) {
    sb_gw_config *c = NULL;
    sb_error err = {0};
    CHECK_OK(cfg("{\"servers\":{\"fs\":{\"command\":\"node\",\"args\":[\"/m/x.js\",\"/data\"],"
                 "\"env\":{\"A\":\"1\"},\"mounts\":[{\"src\":\"/srv\",\"dst\":\"/data\","
                 "\"writable\":true},{\"src\":\"/m\",\"dst\":\"/m\"}],\"memory\":\"256M\","
                 "\"pids\":64,\"cpus\":0.5,\"timeout_ms\":5000,\"max_message_bytes\":\"1M\","
                 "\"pin\":\"tofu\",\"stderr\":\"discard\",\"network\":\"none\","
                 "\"workdir\":\"/data\"}}}",
                 &c, &err),
             &err);
    if (!c) return;
    CHECK_INT(c->n_servers, 1);
    const struct sb_gw_server_config *s = &c->servers[0];
    CHECK_STR(s->name, "fs");
    CHECK_STR(s->argv[0], "node");
    CHECK_STR(s->argv[2], "/data");
    CHECK(s->argv[3] == NULL);
    CHECK_STR(s->env[0], "A=1");
    CHECK_STR(s->env[1], "PATH=/usr/local/bin:/usr/bin:/bin");
    CHECK(s->env[2] == NULL);
    CHECK_INT(s->n_mounts, 2);
    CHECK(!s->mounts[0].ro && s->mounts[1].ro);
    CHECK_INT(s->memory_bytes, 256ull << 20);
    CHECK_INT(s->cpu_millis, 500);
    CHECK_INT(s->max_message_bytes, 1u << 20);
    CHECK_INT(s->pin, SB_GW_PIN_TOFU);
    CHECK(!s->stderr_inherit);
    CHECK(!s->net_host);
    sb_gw_config_free(c);
    c = NULL;
    /* "host": the host's network namespace for a server that must reach an API */
    CHECK_OK(cfg("{\"servers\":{\"api\":{\"command\":\"x\",\"network\":\"host\"}}}", &c, &err),
             &err);
    if (c) CHECK(c->servers[0].net_host);
    sb_gw_config_free(c);
}

TEST(config_errors_name_the_path) {
    static const struct {
        const char *in, *msg;
    } cases[] = {
        {"{}", "servers: missing"},
        {"{\"servers\":{\"a_b\":{\"command\":\"x\"}}}", "servers.a_b: a server name"},
        {"{\"servers\":{\"a\":{}}}", "servers.a.command: missing"},
        {"{\"servers\":{\"a\":{\"command\":\"\"}}}", "servers.a.command: must not be empty"},
        {"{\"servers\":{\"a\":{\"command\":\"x\",\"args\":[1]}}}", "servers.a.args[0]: must be"},
        {"{\"servers\":{\"a\":{\"command\":\"x\",\"env\":{\"1X\":\"v\"}}}}", "servers.a.env.1X"},
        {"{\"servers\":{\"a\":{\"command\":\"x\",\"mounts\":[{\"src\":\"rel\",\"dst\":\"/d\"}]}}}",
         "servers.a.mounts[0].src"},
        {"{\"servers\":{\"a\":{\"command\":\"x\",\"mounts\":[{\"src\":\"/s\",\"dst\":\"/d\","
         "\"ro\":true}]}}}",
         "servers.a.mounts[0].ro: unknown member"},
        {"{\"servers\":{\"a\":{\"command\":\"x\",\"network\":\"bridge\"}}}",
         "servers.a.network: must be \"none\" or \"host\""},
        {"{\"servers\":{\"a\":{\"command\":\"x\",\"sandbox\":\"vm\"}}}", "servers.a.sandbox"},
        {"{\"servers\":{\"a\":{\"command\":\"x\",\"memory\":\"12Q\"}}}", "servers.a.memory"},
        {"{\"servers\":{\"a\":{\"command\":\"x\",\"timeout_ms\":0}}}", "servers.a.timeout_ms"},
        {"{\"servers\":{\"a\":{\"command\":\"x\",\"max_message_bytes\":\"1G\"}}}",
         "servers.a.max_message_bytes"},
        {"{\"servers\":{\"a\":{\"command\":\"x\",\"pin\":\"always\"}}}", "servers.a.pin"},
        {"{\"servers\":{\"a\":{\"command\":\"x\",\"bogus\":1}}}", "servers.a.bogus: unknown"},
    };
    for (size_t i = 0; i < SB_ARRAY_LEN(cases); i++) {
        sb_gw_config *c = NULL;
        sb_error err = {0};
        int rc = cfg(cases[i].in, &c, &err);
        CHECK_MSG(rc < 0, "case %zu accepted", i);
        sb_gw_config_free(c);
        CHECK_CONTAINS(err.msg, cases[i].msg);
    }
}

/* ---- pins
 * ------------------------------------------------------------------------------------------ */

TEST(definition_digest_is_over_canonical_json) {
    json_t *a =
        json_loads("{\"name\":\"t\",\"inputSchema\":{\"type\":\"object\",\"b\":1}}", 0, NULL);
    json_t *b =
        json_loads("{ \"inputSchema\" : {\"b\":1,\"type\":\"object\"}, \"name\":\"t\" }", 0, NULL);
    json_t *c =
        json_loads("{\"name\":\"t\",\"inputSchema\":{\"type\":\"object\",\"b\":2}}", 0, NULL);
    char da[72], db[72], dc[72];
    sb_error err = {0};
    CHECK_OK(sb_gw_definition_digest(a, da, &err), &err);
    CHECK_OK(sb_gw_definition_digest(b, db, &err), &err);
    CHECK_OK(sb_gw_definition_digest(c, dc, &err), &err);
    CHECK_STR(da, db);
    CHECK(strcmp(da, dc) != 0);
    CHECK(strncmp(da, "sha256:", 7) == 0 && strlen(da) == 71);
    json_decref(a);
    json_decref(b);
    json_decref(c);
}

TEST(pin_check_pending_approve_drift_and_tofu) {
    char path[512];
    snprintf(path, sizeof(path), "%s/pins.db", sb_test_tmpdir());
    sb_store *s = NULL;
    sb_error err = {0};
    CHECK_OK(sb_store_open(path, &s, &err), &err);
    if (!s) return;
    json_t *v1 = json_pack("{ssss}", "name", "echo", "description", "Echoes");
    json_t *v2 = json_pack("{ssss}", "name", "echo", "description", "Echoes. Ignore previous");
    enum sb_gw_pin_state st;
    int64_t id1 = 0, id2 = 0, again = 0;
    /* never seen: recorded as pending, hidden */
    CHECK_OK(sb_gw_pin_check(s, "srv", "tool", "echo", v1, SB_GW_PIN_MANUAL, &st, &id1, &err),
             &err);
    CHECK_INT(st, SB_GW_PIN_UNPINNED);
    CHECK(id1 > 0);
    CHECK_OK(sb_gw_pin_check(s, "srv", "tool", "echo", v1, SB_GW_PIN_MANUAL, &st, &again, &err),
             &err);
    CHECK_INT(again, id1); /* the same row, not a new one */
    sb_pin_rec r;
    CHECK_OK(sb_store_pin_approve(s, id1, &r, &err), &err);
    CHECK_STR(r.name, "echo");
    CHECK_OK(sb_gw_pin_check(s, "srv", "tool", "echo", v1, SB_GW_PIN_MANUAL, &st, &again, &err),
             &err);
    CHECK_INT(st, SB_GW_PIN_APPROVED);
    /* a changed definition is drift, even under TOFU */
    CHECK_OK(sb_gw_pin_check(s, "srv", "tool", "echo", v2, SB_GW_PIN_TOFU, &st, &id2, &err), &err);
    CHECK_INT(st, SB_GW_PIN_CHANGED);
    CHECK(id2 != id1);
    /* approving the new one retires the old one */
    CHECK_OK(sb_store_pin_approve(s, id2, &r, &err), &err);
    CHECK_OK(sb_gw_pin_check(s, "srv", "tool", "echo", v2, SB_GW_PIN_MANUAL, &st, &again, &err),
             &err);
    CHECK_INT(st, SB_GW_PIN_APPROVED);
    CHECK_OK(sb_gw_pin_check(s, "srv", "tool", "echo", v1, SB_GW_PIN_MANUAL, &st, &again, &err),
             &err);
    CHECK_INT(st, SB_GW_PIN_CHANGED);
    /* TOFU: a name never seen is approved on sight; other servers are separate */
    CHECK_OK(sb_gw_pin_check(s, "other", "tool", "echo", v1, SB_GW_PIN_TOFU, &st, &again, &err),
             &err);
    CHECK_INT(st, SB_GW_PIN_APPROVED);
    sb_pin_rec *v = NULL;
    size_t n = 0;
    CHECK_OK(sb_store_pin_list(s, true, &v, &n, &err), &err);
    CHECK_INT(n, 1); /* v1 of srv, retired */
    free(v);
    CHECK(sb_store_pin_approve(s, 9999, &r, &err) == SB_E_NOTFOUND);
    json_decref(v1);
    json_decref(v2);
    sb_store_close(s);
}

/* ---- the engine's agent side ------------------------------------------------------------------
 */

struct out {
    json_t *msgs[32];
    int n;
};

static int capture(void *ctx, const char *line, size_t len) {
    struct out *o = ctx;
    if (o->n < 32) o->msgs[o->n++] = json_loadb(line, len, 0, NULL);
    return 0;
}

static void feed(sb_gw *gw, const char *s) {
    sb_error err = {0};
    CHECK_OK(sb_gw_agent_input(gw, (const uint8_t *)s, strlen(s), &err), &err);
}

TEST(engine_enforces_the_lifecycle_and_negotiates_versions) {
    sb_gw_config c = {0};
    struct out o = {0};
    struct sb_gw_opts opts = {
        .config = &c, .agent = "t", .stderr_fd = -1, .agent_out = capture, .agent_out_ctx = &o};
    sb_gw *gw = NULL;
    sb_error err = {0};
    CHECK_OK(sb_gw_new(&opts, &gw, &err), &err);
    if (!gw) return;
    feed(gw, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/list\"}\n");
    feed(gw, "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"ping\"}\n");
    feed(gw,
         "{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"initialize\",\"params\":{\"protocolVersion\":"
         "\"2025-03-26\",\"capabilities\":{},\"clientInfo\":{\"name\":\"t\"}}}\n");
    feed(gw, "{\"jsonrpc\":\"2.0\",\"id\":4,\"method\":\"tools/list\"}\n");
    feed(gw, "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/initialized\"}\n");
    feed(gw, "{\"jsonrpc\":\"2.0\",\"id\":5,\"method\":\"tools/list\"}\n");
    feed(gw,
         "{\"jsonrpc\":\"2.0\",\"id\":6,\"method\":\"initialize\",\"params\":{\"protocolVersion\":"
         "\"2025-11-25\",\"capabilities\":{},\"clientInfo\":{\"name\":\"t\"}}}\n");
    feed(gw,
         "{\"jsonrpc\":\"2.0\",\"id\":7,\"method\":\"tools/call\",\"params\":{\"name\":\"x__y\"}}"
         "\n");
    feed(gw, "{\"jsonrpc\":\"2.0\",\"id\":8,\"method\":\"tools/list\",\"params\":{\"cursor\":"
             "\"sbgw:0:1:100\"}}\n");
    feed(gw, "{\"jsonrpc\":\"2.0\",\"id\":9,\"method\":\"nope\"}\n");
    CHECK_INT(o.n, 9); /* every request answered; the notification not */
    if (o.n == 9) {
        CHECK_INT(json_integer_value(json_object_get(json_object_get(o.msgs[0], "error"), "code")),
                  SB_RPC_INVALID_REQUEST);
        CHECK(json_is_object(json_object_get(o.msgs[1], "result"))); /* ping is always allowed */
        json_t *r = json_object_get(o.msgs[2], "result");
        CHECK_STR(json_string_value(json_object_get(r, "protocolVersion")), "2025-03-26");
        CHECK_STR(json_string_value(json_object_get(json_object_get(r, "serverInfo"), "name")),
                  "sealbox-gateway");
        CHECK(json_object_get(o.msgs[3], "error") != NULL); /* before initialized */
        CHECK(json_is_array(json_object_get(json_object_get(o.msgs[4], "result"), "tools")));
        CHECK_CONTAINS(
            json_string_value(json_object_get(json_object_get(o.msgs[5], "error"), "message")),
            "already initialized");
        /* a tool the gateway refuses is an isError result the model can read */
        json_t *r6 = json_object_get(o.msgs[6], "result");
        CHECK(json_is_true(json_object_get(r6, "isError")));
        CHECK_CONTAINS(json_string_value(json_object_get(
                           json_array_get(json_object_get(r6, "content"), 0), "text")),
                       "unknown tool 'x__y'");
        CHECK_CONTAINS(
            json_string_value(json_object_get(json_object_get(o.msgs[7], "error"), "message")),
            "params.cursor");
        CHECK_INT(json_integer_value(json_object_get(json_object_get(o.msgs[8], "error"), "code")),
                  SB_RPC_METHOD_NOT_FOUND);
    }
    for (int i = 0; i < o.n; i++)
        json_decref(o.msgs[i]);
    sb_gw_free(gw);

    /* an unknown version is answered with our latest */
    o.n = 0;
    CHECK_OK(sb_gw_new(&opts, &gw, &err), &err);
    feed(gw,
         "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"initialize\",\"params\":{\"protocolVersion\":"
         "\"2024-01-01\",\"capabilities\":{},\"clientInfo\":{\"name\":\"t\"}}}\n");
    CHECK_INT(o.n, 1);
    if (o.n == 1)
        CHECK_STR(json_string_value(
                      json_object_get(json_object_get(o.msgs[0], "result"), "protocolVersion")),
                  SB_GW_PROTOCOL_LATEST);
    for (int i = 0; i < o.n; i++)
        json_decref(o.msgs[i]);
    sb_gw_free(gw);
}

/* ---- the audit queue ---------------------------------------------------------------------------
 */

TEST(audit_queue_writes_every_record_in_order_and_chained) {
    char path[512];
    snprintf(path, sizeof(path), "%s/auditq.db", sb_test_tmpdir());
    char kdir[512];
    snprintf(kdir, sizeof(kdir), "%s/auditq-key", sb_test_tmpdir());
    CHECK(mkdir(kdir, 0700) == 0);
    sb_audit_key *key = NULL;
    sb_audit_signer signer;
    sb_error err = {0};
    CHECK_OK(sb_audit_key_load(kdir, &key, &err), &err);
    if (!key) return;
    sb_audit_key_signer(key, &signer);
    sb_audit_cfg cfg = {.signer = &signer}; /* checkpoints in the database only */
    sb_audit_queue *q = NULL;
    CHECK_OK(sb_audit_queue_start(path, &cfg, &q, &err), &err);
    if (!q) return;
    for (int i = 0; i < 1000; i++)
        CHECK_INT(sb_audit_queue_push(q, json_pack("{sssi}", "type", "mcp", "i", i)), 0);
    uint64_t written = 0, dropped = 0;
    CHECK_OK(sb_audit_queue_stop(q, &written, &dropped, &err), &err);
    CHECK_INT(written, 1000);
    CHECK_INT(dropped, 0);
    sb_store *s = NULL;
    CHECK_OK(sb_store_open(path, &s, &err), &err);
    if (!s) return;
    sb_audit_row *rows = NULL;
    size_t n = 0;
    int64_t after = 0, seen = 0;
    bool ordered = true;
    do {
        CHECK_OK(sb_store_audit_list(s, after, SB_STORE_LIST_MAX, &rows, &n, &err), &err);
        for (size_t j = 0; j < n; j++) {
            json_t *r = json_loadb(rows[j].record, rows[j].record_len, 0, NULL);
            if (json_integer_value(json_object_get(r, "i")) != seen) ordered = false;
            json_decref(r);
            seen++;
            after = rows[j].seq;
        }
        sb_audit_rows_free(rows, n);
    } while (n > 0);
    CHECK_INT(seen, 1000);
    CHECK(ordered);
    sb_audit_report rep;
    CHECK_OK(sb_audit_verify(s, sb_audit_key_public(key), NULL, &rep, &err), &err);
    CHECK_INT(rep.records, 1000);
    CHECK_INT(rep.signed_seq, 1000); /* the stop signed the head */
    sb_store_close(s);
    sb_audit_key_free(key);
    CHECK(sb_audit_queue_push(NULL, json_object()) == SB_E_USAGE);
}
