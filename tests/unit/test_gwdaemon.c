/* test_gwdaemon: what hosting the gateway in sealboxd adds to the gateway module — the hello
 * line (accepted at its bounds, refused naming the member), the agents' token table (constant
 * time over all entries, refusals naming the field) and the redacted configuration the front
 * gets. */
#include <jansson.h>

#include "gateway/gateway.h"
#include "harness.h"

#define TOK "sbgw_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"

static int parse(const char *s, struct sb_gw_hello *h, sb_error *err) {
    return sb_gw_hello_parse((const uint8_t *)s, strlen(s), h, err);
}

TEST(hello_round_trip) {
    char *line = NULL;
    sb_error err = {0};
    CHECK_OK(sb_gw_hello_format("desktop", TOK, &line, &err), &err);
    size_t n = strlen(line);
    CHECK(n > 0 && line[n - 1] == '\n');
    struct sb_gw_hello h;
    CHECK_OK(sb_gw_hello_parse((const uint8_t *)line, n - 1, &h, &err), &err);
    CHECK_STR(h.agent, "desktop");
    CHECK_STR(h.token, TOK);
    free(line);
    /* members in any order, JSON whitespace, non-ASCII agent names */
    CHECK_OK(parse(" {\"token\": \"" TOK "\", \"agent\": \"\xc3\xa9l\xc3\xa8ve\", "
                   "\"sealbox_gateway\": 1} ",
                   &h, &err),
             &err);
    CHECK_STR(h.agent, "\xc3\xa9l\xc3\xa8ve");
}

TEST(hello_bounds) {
    struct sb_gw_hello h;
    sb_error err = {0};
    char buf[4096], name[SB_GW_MAX_NAME + 2], tok[SB_GW_HTTP_TOKEN_MAX + 2];
    memset(name, 'a', sizeof(name) - 1);
    name[SB_GW_MAX_NAME] = 0; /* exactly the limit */
    snprintf(buf, sizeof(buf), "{\"sealbox_gateway\":1,\"agent\":\"%s\",\"token\":\"t\"}", name);
    CHECK_OK(parse(buf, &h, &err), &err);
    name[SB_GW_MAX_NAME] = 'a';
    name[SB_GW_MAX_NAME + 1] = 0; /* one over */
    snprintf(buf, sizeof(buf), "{\"sealbox_gateway\":1,\"agent\":\"%s\",\"token\":\"t\"}", name);
    CHECK(parse(buf, &h, &err) == SB_E_LIMIT);
    CHECK_CONTAINS(err.msg, "hello.agent");
    memset(tok, 'x', sizeof(tok) - 1);
    tok[SB_GW_HTTP_TOKEN_MAX] = 0;
    snprintf(buf, sizeof(buf), "{\"sealbox_gateway\":1,\"agent\":\"a\",\"token\":\"%s\"}", tok);
    CHECK_OK(parse(buf, &h, &err), &err);
    tok[SB_GW_HTTP_TOKEN_MAX] = 'x';
    tok[SB_GW_HTTP_TOKEN_MAX + 1] = 0;
    snprintf(buf, sizeof(buf), "{\"sealbox_gateway\":1,\"agent\":\"a\",\"token\":\"%s\"}", tok);
    CHECK(parse(buf, &h, &err) == SB_E_LIMIT);
    CHECK_CONTAINS(err.msg, "hello.token");
    /* the whole line */
    char big[SB_GW_HELLO_MAX + 2];
    memset(big, ' ', sizeof(big));
    CHECK(sb_gw_hello_parse((const uint8_t *)big, SB_GW_HELLO_MAX + 1, &h, &err) == SB_E_LIMIT);
}

TEST(hello_refusals) {
    static const struct {
        const char *v, *why;
    } T[] = {
        {"GET / HTTP/1.1", "hello: not JSON"},
        {"[1]", "not a JSON object"},
        {"{\"sealbox_gateway\":2,\"agent\":\"a\",\"token\":\"t\"}", "hello.sealbox_gateway"},
        {"{\"sealbox_gateway\":\"1\",\"agent\":\"a\",\"token\":\"t\"}", "hello.sealbox_gateway"},
        {"{\"sealbox_gateway\":1,\"token\":\"t\"}", "hello.agent: missing"},
        {"{\"sealbox_gateway\":1,\"agent\":\"a\"}", "hello.token: missing"},
        {"{\"sealbox_gateway\":1,\"agent\":\"\",\"token\":\"t\"}", "hello.agent"},
        {"{\"sealbox_gateway\":1,\"agent\":\"a\\nb\",\"token\":\"t\"}", "hello.agent: byte 1"},
        {"{\"sealbox_gateway\":1,\"agent\":\"a\\u0000b\",\"token\":\"t\"}", "hello: not JSON"},
        {"{\"sealbox_gateway\":1,\"agent\":\"a\",\"token\":\"a=b\"}", "hello.token: byte 1"},
        {"{\"sealbox_gateway\":1,\"agent\":\"a\",\"token\":\"t\",\"x\":1}", "hello.x: unknown"},
        {"{\"sealbox_gateway\":1,\"agent\":\"a\",\"agent\":\"b\",\"token\":\"t\"}", "not JSON"},
    };
    for (size_t i = 0; i < SB_ARRAY_LEN(T); i++) {
        struct sb_gw_hello h;
        sb_error err = {0};
        CHECK_MSG(parse(T[i].v, &h, &err) < 0, "hello '%s' accepted", T[i].v);
        CHECK_CONTAINS(err.msg, T[i].why);
        CHECK(h.token[0] == 0); /* nothing of a refused hello is kept */
    }
}

static json_t *config(const char *tokens) {
    char buf[1024];
    snprintf(buf, sizeof(buf),
             "{\"agents\": {\"a\": {}, \"b\": {}}, \"servers\": {\"s\": {\"command\": \"x\", "
             "\"env\": {\"SECRET\": \"v1\", \"OTHER\": \"v2\"}}}, \"http\": {\"tokens\": %s}}",
             tokens);
    return json_loads(buf, 0, NULL);
}

TEST(tokens) {
    char *ta = NULL, *tb = NULL, ha[72], hb[72];
    sb_error err = {0};
    CHECK_OK(sb_gw_http_token_new(&ta, ha, &err), &err);
    CHECK_OK(sb_gw_http_token_new(&tb, hb, &err), &err);
    char tk[512];
    snprintf(tk, sizeof(tk), "{\"a\": \"%s\", \"b\": \"%s\"}", ha, hb);
    json_t *root = config(tk);
    sb_gw_policy *pol = NULL;
    CHECK_OK(sb_gw_policy_load(json_object_get(root, "agents"), &pol, &err), &err);
    sb_gw_tokens *t = NULL;
    CHECK_OK(sb_gw_tokens_load(root, pol, &t, &err), &err);
    CHECK_STR(sb_gw_tokens_agent(t, ta, strlen(ta)), "a");
    CHECK_STR(sb_gw_tokens_agent(t, tb, strlen(tb)), "b");
    CHECK(sb_gw_tokens_agent(t, ta, strlen(ta) - 1) == NULL);
    CHECK(sb_gw_tokens_agent(t, "sbgw_x", 6) == NULL);
    sb_gw_tokens_free(t);
    json_decref(root);

    static const struct {
        const char *tokens, *why;
    } BAD[] = {
        {"{}", "http.tokens: missing"},
        {"{\"ghost\": \"sha256:0000000000000000000000000000000000000000000000000000000000000000\"}",
         "http.tokens.ghost: no such agent"},
        {"{\"a\": \"sha256:00\"}", "http.tokens.a: must be"},
        {"{\"a\": \"md5:0000000000000000000000000000000000000000000000000000000000000000\"}",
         "http.tokens.a: must be"},
        {"{\"a\": \"sha256:zz00000000000000000000000000000000000000000000000000000000000000\"}",
         "http.tokens.a: must be"},
        {"{\"a\": 7}", "http.tokens.a: must be"},
        {"{\"a\": \"sha256:1111111111111111111111111111111111111111111111111111111111111111\", "
         "\"b\": \"sha256:1111111111111111111111111111111111111111111111111111111111111111\"}",
         "the same token as agent a"},
    };
    for (size_t i = 0; i < SB_ARRAY_LEN(BAD); i++) {
        root = config(BAD[i].tokens);
        CHECK(root != NULL);
        t = NULL;
        CHECK_MSG(sb_gw_tokens_load(root, pol, &t, &err) < 0, "tokens %s accepted", BAD[i].tokens);
        CHECK_CONTAINS(err.msg, BAD[i].why);
        sb_gw_tokens_free(t);
        json_decref(root);
    }
    sb_gw_policy_free(pol);
    free(ta);
    free(tb);
}

TEST(redacted) {
    json_t *root = config("{}");
    json_t *r = sb_gw_config_redacted(root);
    char *s = json_dumps(r, JSON_COMPACT | JSON_SORT_KEYS);
    CHECK(s && !strstr(s, "v1") && !strstr(s, "v2"));
    CHECK_CONTAINS(s, "\"env\":{\"OTHER\":\"\",\"SECRET\":\"\"}");
    CHECK_CONTAINS(s, "\"command\":\"x\"");
    /* the original is untouched */
    CHECK_STR(json_string_value(json_object_get(
                  json_object_get(json_object_get(json_object_get(root, "servers"), "s"), "env"),
                  "SECRET")),
              "v1");
    free(s);
    json_decref(r);
    json_decref(root);
}
