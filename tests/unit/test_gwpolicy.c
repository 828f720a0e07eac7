/* test_gwpolicy: the per-agent policy — loader errors name the field, deny beats allow,
 * invisible == uncallable, every argument rule at its bounds, token buckets under injected
 * time, approval verdicts, and the limits carried for the proxy. */
#include <jansson.h>

#include "gateway/gateway.h"
#include "harness.h"

static json_t *parse(const char *s) {
    json_error_t je;
    json_t *j = json_loads(s, 0, &je);
    CHECK_MSG(j != NULL, "bad test JSON: %s (%s)", je.text, s);
    return j;
}

static sb_gw_policy *load(const char *text) {
    json_t *j = parse(text);
    sb_gw_policy *p = NULL;
    sb_error err = {0};
    CHECK_OK(sb_gw_policy_load(j, &p, &err), &err);
    json_decref(j);
    return p;
}

static const char *POLICY =
    "{\"alice\": {"
    "  \"servers\": {\"allow\": [\"fs\", \"web*\", \"admin\"], \"deny\": [\"admin\"]},"
    "  \"tools\": {\"allow\": [\"fs.*\", \"web1.fetch\"], \"deny\": [\"fs.write_*\"],"
    "    \"fs.read_file\": {\"arguments\": {\"type\": \"object\", \"required\": [\"path\"],"
    "       \"additionalProperties\": false,"
    "       \"properties\": {\"path\": {\"type\": \"string\", \"path_prefix\": [\"/data/\"]},"
    "                      \"lines\": {\"type\": \"integer\", \"minimum\": 1, \"maximum\": 100},"
    "                      \"ratio\": {\"type\": \"number\", \"exclusiveMinimum\": 0,"
    "                                 \"exclusiveMaximum\": 1},"
    "                      \"mode\": {\"enum\": [\"text\", \"base64\"]},"
    "                      \"name\": {\"type\": \"string\", \"maxLength\": 5, \"minLength\": 2,"
    "                                \"pattern\": \"^[a-z\\\\d]+$\"},"
    "                      \"tags\": {\"type\": \"array\", \"maxItems\": 2, \"items\":"
    "                                {\"type\": \"string\", \"enum\": [\"a\", \"b\"]}},"
    "                      \"opts\": {\"type\": \"object\", \"properties\": {\"deep\": {"
    "                                \"type\": \"boolean\"}}, \"additionalProperties\": false}"
    "       }},"
    "       \"rate\": {\"per_minute\": 2}, \"timeout_ms\": 5000},"
    "    \"fs.delete\": {\"approval\": true}"
    "  },"
    "  \"resources\": {\"allow\": [\"fs.file:///data/*\"], \"deny\": "
    "[\"fs.file:///data/secret*\"]},"
    "  \"prompts\": {\"allow\": [\"*\"], \"deny\": [\"web1.*\"]},"
    "  \"approval\": [\"fs.move_*\"],"
    "  \"rate\": {\"per_second\": 5, \"burst\": 3},"
    "  \"limits\": {\"max_request_bytes\": 65536, \"timeout_ms\": 10000},"
    "  \"auto_pin\": [\"fs\"], \"injection\": \"flag\""
    "}, \"bob\": {\"servers\": {\"allow\": [\"*\"]}, \"tools\": {\"allow\": [\"*\"]}}}";

TEST(visibility_and_deny_beats_allow) {
    sb_gw_policy *p = load(POLICY);
    char why[SB_GW_REASON_MAX];
    CHECK(sb_gw_policy_visible(p, "alice", "fs", "server", NULL));
    CHECK(sb_gw_policy_visible(p, "alice", "web1", "server", NULL));
    CHECK(!sb_gw_policy_visible_why(p, "alice", "admin", "server", NULL, why, sizeof(why)));
    CHECK_STR(why, "agents.alice.servers.deny: server \"admin\" matches \"admin\"");
    CHECK(!sb_gw_policy_visible_why(p, "alice", "mail", "server", NULL, why, sizeof(why)));
    CHECK_STR(why, "agents.alice.servers.allow: server \"mail\" matches no entry");
    CHECK(sb_gw_policy_visible(p, "alice", "fs", "tool", "read_file"));
    CHECK(!sb_gw_policy_visible_why(p, "alice", "fs", "tool", "write_file", why, sizeof(why)));
    CHECK_STR(why, "agents.alice.tools.deny: tool \"fs.write_file\" matches \"fs.write_*\"");
    CHECK(sb_gw_policy_visible(p, "alice", "web1", "tool", "fetch"));
    CHECK(!sb_gw_policy_visible_why(p, "alice", "web1", "tool", "post", why, sizeof(why)));
    CHECK_STR(why, "agents.alice.tools.allow: tool \"web1.post\" matches no entry");
    /* a denied server hides its tools even if a tool pattern would allow them */
    CHECK(!sb_gw_policy_visible(p, "bob", "x", "tool", "y") == false);
    CHECK(!sb_gw_policy_visible(p, "alice", "admin", "tool", "fetch"));
    /* resources: glob, deny, and dot segments need an exact entry */
    CHECK(sb_gw_policy_visible(p, "alice", "fs", "resource", "file:///data/a.txt"));
    CHECK(!sb_gw_policy_visible(p, "alice", "fs", "resource", "file:///data/secret.txt"));
    CHECK(!sb_gw_policy_visible_why(p, "alice", "fs", "resource", "file:///data/../etc/passwd", why,
                                    sizeof(why)));
    CHECK_CONTAINS(why, "needs an exact entry");
    CHECK(!sb_gw_policy_visible(p, "alice", "fs", "resource", "file:///data/%2e%2e/etc"));
    CHECK(!sb_gw_policy_visible(p, "alice", "fs", "resource", "file:///data/.."));
    CHECK(!sb_gw_policy_visible(p, "alice", "fs", "resource", "file:///etc/passwd"));
    CHECK(sb_gw_policy_visible(p, "alice", "fs", "resource", "file:///data/..x"));
    /* prompts */
    CHECK(sb_gw_policy_visible(p, "alice", "fs", "prompt", "summarize"));
    CHECK(!sb_gw_policy_visible(p, "alice", "web1", "prompt", "summarize"));
    /* unknown agent, unknown kind, absent lists allow nothing */
    CHECK(!sb_gw_policy_visible_why(p, "mallory", "fs", "tool", "read_file", why, sizeof(why)));
    CHECK_STR(why, "agents: no agent \"mallory\"");
    CHECK(!sb_gw_policy_visible(p, "alice", "fs", "widget", "x"));
    CHECK(!sb_gw_policy_visible(p, "bob", "fs", "resource", "file:///x"));
    CHECK(!sb_gw_policy_visible(p, NULL, "fs", "tool", "x"));
    sb_gw_policy_free(p);
}

/* resource URIs against the allow entry fs.file:///data/STAR */
static const struct {
    const char *uri;
    bool visible;
} RESOURCES[] = {
    {"file:///data/a", true},
    {"file:///data/...x", true},
    {"file:///data/a..b", true},
    {"file:///data/sub/file.txt", true},
    {"file:///data/%2e%2e/etc/passwd", false},
    {"file:///data/..%2fetc/passwd", false},
    {"file:///data/.%2E/etc", false},
    {"file:///data/%252e%252e/etc", false},
    {"file:///data/x/../../etc", false},
    {"file:///data/./x", false},
    {"file:///data/..", false},
    {"file:///data/.", false},
    {"file:///data\\..\\etc", false},
    {"file:///data/..?x", false},
    {"file:///data", false},
    {"file:///DATA/x", false},
    {"file:///etc/passwd", false},
    {"file:///data/secret.txt", false},
};

TEST(resource_bypass_table) {
    sb_gw_policy *p = load(POLICY);
    for (size_t i = 0; i < SB_ARRAY_LEN(RESOURCES); i++) {
        char why[SB_GW_REASON_MAX];
        bool v = sb_gw_policy_visible_why(p, "alice", "fs", "resource", RESOURCES[i].uri, why,
                                          sizeof(why));
        CHECK_MSG(v == RESOURCES[i].visible, "[%zu] %s: %s (%s)", i, RESOURCES[i].uri,
                  v ? "visible" : "hidden", why);
        if (!v) CHECK_MSG(strncmp(why, "agents.alice.resources.", 23) == 0, "[%zu] %s", i, why);
    }
    sb_gw_policy_free(p);
}

TEST(invisible_is_uncallable) {
    sb_gw_policy *p = load(POLICY);
    const char *cases[][2] = {
        {"fs", "write_file"}, {"admin", "x"}, {"web1", "post"}, {"mail", "send"}};
    for (size_t i = 0; i < SB_ARRAY_LEN(cases); i++) {
        char why_v[SB_GW_REASON_MAX], why_c[SB_GW_REASON_MAX];
        CHECK(!sb_gw_policy_visible_why(p, "alice", cases[i][0], "tool", cases[i][1], why_v,
                                        sizeof(why_v)));
        CHECK_INT(sb_gw_policy_check_call(p, "alice", cases[i][0], cases[i][1], NULL, 0, why_c,
                                          sizeof(why_c)),
                  SB_GW_DENY);
        CHECK_STR(why_c, why_v);
    }
    /* and the converse for bob: everything listed is callable */
    CHECK_INT(sb_gw_policy_check_call(p, "bob", "any", "tool", NULL, 0, NULL, 0), SB_GW_ALLOW);
    sb_gw_policy_free(p);
}

/* One argument set against fs.read_file; each at 10 s apart so no rate limit interferes. */
static sb_gw_verdict rf(sb_gw_policy *p, const char *args, char *why) {
    static uint64_t t = 1000000;
    t += 60000;
    json_t *a = parse(args);
    sb_gw_verdict v = sb_gw_policy_check_call_ex(p, "alice", "fs", "read_file", a, t,
                                                 SB_GW_CALL_DRY_RUN, why, SB_GW_REASON_MAX);
    json_decref(a);
    return v;
}

static const struct {
    const char *args;
    bool ok;
    const char *why; /* substring of the reason on deny */
} ARGS[] = {
    {"{\"path\":\"/data/a\"}", true, NULL},
    {"{}", false, "arguments: {} lacks required property \"path\""},
    {"{\"path\":\"/data/a\",\"extra\":1}", false,
     "arguments.extra: 1 is not allowed (not in properties"},
    {"{\"path\":5}", false, "arguments.path: 5 is not of type string"},
    {"{\"path\":\"/etc/passwd\"}", false,
     "agents.alice.tools.fs.read_file.arguments.path: \"/etc/passwd\" not under /data/"},
    /* integer minimum/maximum at the bounds */
    {"{\"path\":\"/data/a\",\"lines\":1}", true, NULL},
    {"{\"path\":\"/data/a\",\"lines\":0}", false, "arguments.lines: 0 is under minimum 1"},
    {"{\"path\":\"/data/a\",\"lines\":100}", true, NULL},
    {"{\"path\":\"/data/a\",\"lines\":101}", false, "arguments.lines: 101 is over maximum 100"},
    {"{\"path\":\"/data/a\",\"lines\":100.0}", true, NULL},
    {"{\"path\":\"/data/a\",\"lines\":1.5}", false, "is not of type integer"},
    {"{\"path\":\"/data/a\",\"lines\":\"7\"}", false, "is not of type integer"},
    {"{\"path\":\"/data/a\",\"lines\":-9223372036854775807}", false, "under minimum"},
    /* exclusive bounds */
    {"{\"path\":\"/data/a\",\"ratio\":0.5}", true, NULL},
    {"{\"path\":\"/data/a\",\"ratio\":0}", false, "not over exclusiveMinimum 0"},
    {"{\"path\":\"/data/a\",\"ratio\":1}", false, "not under exclusiveMaximum 1"},
    {"{\"path\":\"/data/a\",\"ratio\":1e-300}", true, NULL},
    /* enum */
    {"{\"path\":\"/data/a\",\"mode\":\"text\"}", true, NULL},
    {"{\"path\":\"/data/a\",\"mode\":\"TEXT\"}", false, "is not one of enum [\"text\",\"base64\"]"},
    {"{\"path\":\"/data/a\",\"mode\":null}", false, "is not one of enum"},
    /* maxLength/minLength count characters, pattern */
    {"{\"path\":\"/data/a\",\"name\":\"ab\"}", true, NULL},
    {"{\"path\":\"/data/a\",\"name\":\"a\"}", false, "is 1 characters, under minLength 2"},
    {"{\"path\":\"/data/a\",\"name\":\"abcde\"}", true, NULL},
    {"{\"path\":\"/data/a\",\"name\":\"abcdef\"}", false, "is 6 characters, over maxLength 5"},
    {"{\"path\":\"/data/a\",\"name\":\"ab9\"}", true, NULL},
    {"{\"path\":\"/data/a\",\"name\":\"aB\"}", false, "does not match pattern ^[a-z\\d]+$"},
    {"{\"path\":\"/data/a\",\"name\":\"\\u00e9\\u00e9\"}", false, "does not match pattern"},
    {"{\"path\":\"/data/a\",\"name\":\"ab\\n\"}", false, "does not match pattern"},
    /* arrays: items and maxItems */
    {"{\"path\":\"/data/a\",\"tags\":[\"a\",\"b\"]}", true, NULL},
    {"{\"path\":\"/data/a\",\"tags\":[\"a\",\"b\",\"a\"]}", false, "has 3 items, over maxItems 2"},
    {"{\"path\":\"/data/a\",\"tags\":[\"a\",\"c\"]}", false, "arguments.tags[1]: \"c\" is not one"},
    {"{\"path\":\"/data/a\",\"tags\":\"a\"}", false, "is not of type array"},
    /* nested objects */
    {"{\"path\":\"/data/a\",\"opts\":{\"deep\":true}}", true, NULL},
    {"{\"path\":\"/data/a\",\"opts\":{\"deep\":1}}", false,
     "arguments.opts.deep: 1 is not of type boolean"},
    {"{\"path\":\"/data/a\",\"opts\":{\"x\":1}}", false, "arguments.opts.x: 1 is not allowed"},
};

TEST(argument_rules_at_bounds) {
    sb_gw_policy *p = load(POLICY);
    for (size_t i = 0; i < SB_ARRAY_LEN(ARGS); i++) {
        char why[SB_GW_REASON_MAX];
        sb_gw_verdict v = rf(p, ARGS[i].args, why);
        CHECK_MSG(v == (ARGS[i].ok ? SB_GW_ALLOW : SB_GW_DENY), "[%zu] %s: %s (%s)", i,
                  ARGS[i].args, sb_gw_verdict_name(v), why);
        if (!ARGS[i].ok && v == SB_GW_DENY) {
            CHECK_MSG(strstr(why, ARGS[i].why) != NULL, "[%zu] reason \"%s\" lacks \"%s\"", i, why,
                      ARGS[i].why);
            CHECK_MSG(strncmp(why, "agents.alice.tools.fs.read_file.arguments", 41) == 0,
                      "[%zu] reason does not name the rule: %s", i, why);
        }
    }
    /* arguments that are not an object */
    char why[SB_GW_REASON_MAX];
    json_t *arr = json_array();
    CHECK_INT(sb_gw_policy_check_call_ex(p, "alice", "fs", "read_file", arr, 0, SB_GW_CALL_DRY_RUN,
                                         why, sizeof(why)),
              SB_GW_DENY);
    CHECK_STR(why, "agents.alice.tools.fs.read_file.arguments: not an object");
    json_decref(arr);
    sb_gw_policy_free(p);
}

TEST(catastrophic_pattern_fails_closed) {
    sb_gw_policy *p = load("{\"a\":{\"servers\":{\"allow\":[\"s\"]},\"tools\":{\"allow\":"
                           "[\"s.t\"],\"s.t\":{\"arguments\":{\"properties\":{\"x\":"
                           "{\"pattern\":\"^(a+)+$\"},\"y\":{\"pattern\":\"^(a|a)*b$\"}}}}}}}");
    char why[SB_GW_REASON_MAX];
    char in[64];
    memset(in, 'a', 40);
    snprintf(in + 40, sizeof(in) - 40, "!");
    json_t *args = json_pack("{ss}", "x", in);
    CHECK_INT(sb_gw_policy_check_call(p, "a", "s", "t", args, 0, why, sizeof(why)), SB_GW_DENY);
    CHECK_CONTAINS(why, "could not be matched against pattern ^(a+)+$");
    json_decref(args);
    args = json_pack("{ss}", "y", in);
    CHECK_INT(sb_gw_policy_check_call(p, "a", "s", "t", args, 0, why, sizeof(why)), SB_GW_DENY);
    CHECK_CONTAINS(why, "arguments.y");
    json_decref(args);
    args = json_pack("{ss}", "x", "aaaa");
    CHECK_INT(sb_gw_policy_check_call(p, "a", "s", "t", args, 0, why, sizeof(why)), SB_GW_ALLOW);
    json_decref(args);
    sb_gw_policy_free(p);

    /* the limits leave room for ordinary patterns over long inputs */
    p = load("{\"a\":{\"servers\":{\"allow\":[\"s\"]},\"tools\":{\"allow\":[\"s.t\"],"
             "\"s.t\":{\"arguments\":{\"properties\":{\"w\":{\"pattern\":\"^[a-z]+$\"},"
             "\"p\":{\"pattern\":\"^(?:[a-z0-9_.-]+/)*[a-z0-9_.-]+$\"},"
             "\"e\":{\"pattern\":\"^[a-z0-9._%+-]+@[a-z0-9.-]+\\\\.[a-z]{2,}$\"}}}}}}}");
    char *word = malloc(4097), *path = malloc(4097);
    memset(word, 'q', 4096);
    word[4096] = '\0';
    for (size_t i = 0; i < 4096; i++)
        path[i] = (i % 8 == 7) ? '/' : 'd';
    path[4095] = 'x';
    path[4096] = '\0';
    args = json_pack("{ssssss}", "w", word, "p", path, "e", "first.last+tag@mail.sub.example.com");
    CHECK_INT(sb_gw_policy_check_call(p, "a", "s", "t", args, 0, why, sizeof(why)), SB_GW_ALLOW);
    CHECK_MSG(why[0] == '\0', "%s", why);
    json_decref(args);
    free(word);
    free(path);
    sb_gw_policy_free(p);
}

TEST(rate_limits_hold_with_injected_time) {
    /* agent: 5 per second, burst 3; fs.read_file: 2 per minute (burst 2) */
    sb_gw_policy *p = load(POLICY);
    char why[SB_GW_REASON_MAX];
    uint64_t t = 1000;
    for (int i = 0; i < 3; i++)
        CHECK_INT(sb_gw_policy_check_call(p, "alice", "fs", "list", NULL, t, why, sizeof(why)),
                  SB_GW_ALLOW);
    CHECK_INT(sb_gw_policy_check_call(p, "alice", "fs", "list", NULL, t, why, sizeof(why)),
              SB_GW_DENY);
    CHECK_STR(why, "agents.alice.rate: 5 calls per 1000 ms (burst 3) used up");
    /* 199 ms later: 0.995 tokens, still none; at 200 ms one token */
    CHECK_INT(sb_gw_policy_check_call(p, "alice", "fs", "list", NULL, t + 199, why, sizeof(why)),
              SB_GW_DENY);
    CHECK_INT(sb_gw_policy_check_call(p, "alice", "fs", "list", NULL, t + 200, why, sizeof(why)),
              SB_GW_ALLOW);
    CHECK_INT(sb_gw_policy_check_call(p, "alice", "fs", "list", NULL, t + 200, why, sizeof(why)),
              SB_GW_DENY);
    /* a clock that goes backwards refills nothing */
    CHECK_INT(sb_gw_policy_check_call(p, "alice", "fs", "list", NULL, 0, why, sizeof(why)),
              SB_GW_DENY);
    /* a long pause refills to the burst, not beyond */
    t += 3600000;
    for (int i = 0; i < 3; i++)
        CHECK_INT(sb_gw_policy_check_call(p, "alice", "fs", "list", NULL, t, why, sizeof(why)),
                  SB_GW_ALLOW);
    CHECK_INT(sb_gw_policy_check_call(p, "alice", "fs", "list", NULL, t, why, sizeof(why)),
              SB_GW_DENY);

    /* the tool's own bucket: 2 per minute */
    json_t *ok = parse("{\"path\":\"/data/x\"}");
    json_t *bad = parse("{\"path\":\"/etc/x\"}");
    t += 10000;
    CHECK_INT(sb_gw_policy_check_call(p, "alice", "fs", "read_file", ok, t, why, sizeof(why)),
              SB_GW_ALLOW);
    /* refused calls consume nothing */
    for (int i = 0; i < 5; i++)
        CHECK_INT(
            sb_gw_policy_check_call(p, "alice", "fs", "read_file", bad, t + 1000, why, sizeof(why)),
            SB_GW_DENY);
    CHECK_INT(
        sb_gw_policy_check_call(p, "alice", "fs", "read_file", ok, t + 1000, why, sizeof(why)),
        SB_GW_ALLOW);
    CHECK_INT(
        sb_gw_policy_check_call(p, "alice", "fs", "read_file", ok, t + 2000, why, sizeof(why)),
        SB_GW_DENY);
    CHECK_STR(why, "agents.alice.tools.fs.read_file.rate: 2 calls per 60000 ms (burst 2) used up");
    /* the tool's refusal did not take the agent's token: another tool still runs */
    CHECK_INT(sb_gw_policy_check_call(p, "alice", "fs", "list", NULL, t + 2000, why, sizeof(why)),
              SB_GW_ALLOW);
    /* 30 s after the first call: one token back */
    CHECK_INT(
        sb_gw_policy_check_call(p, "alice", "fs", "read_file", ok, t + 29999, why, sizeof(why)),
        SB_GW_DENY);
    CHECK_INT(
        sb_gw_policy_check_call(p, "alice", "fs", "read_file", ok, t + 31000, why, sizeof(why)),
        SB_GW_ALLOW);
    /* dry runs never consume */
    for (int i = 0; i < 10; i++)
        CHECK_INT(sb_gw_policy_check_call_ex(p, "alice", "fs", "list", NULL, t + 90000,
                                             SB_GW_CALL_DRY_RUN, why, sizeof(why)),
                  SB_GW_ALLOW);
    json_decref(ok);
    json_decref(bad);
    sb_gw_policy_free(p);
}

TEST(rate_limits_are_per_agent) {
    sb_gw_policy *p = load("{\"a\":{\"servers\":{\"allow\":[\"s\"]},\"tools\":{\"allow\":[\"*\"]},"
                           "\"rate\":{\"per_hour\":1}},\"b\":{\"servers\":{\"allow\":[\"s\"]},"
                           "\"tools\":{\"allow\":[\"*\"]},\"rate\":{\"per_hour\":1}}}");
    CHECK_INT(sb_gw_policy_check_call(p, "a", "s", "t", NULL, 5, NULL, 0), SB_GW_ALLOW);
    CHECK_INT(sb_gw_policy_check_call(p, "a", "s", "t", NULL, 5, NULL, 0), SB_GW_DENY);
    CHECK_INT(sb_gw_policy_check_call(p, "b", "s", "t", NULL, 5, NULL, 0), SB_GW_ALLOW);
    CHECK_INT(sb_gw_policy_check_call(p, "a", "s", "t", NULL, 5 + 3599999, NULL, 0), SB_GW_DENY);
    CHECK_INT(sb_gw_policy_check_call(p, "a", "s", "t", NULL, 5 + 3600000, NULL, 0), SB_GW_ALLOW);
    /* the far future does not overflow the bucket */
    CHECK_INT(sb_gw_policy_check_call(p, "a", "s", "t", NULL, UINT64_MAX, NULL, 0), SB_GW_ALLOW);
    CHECK_INT(sb_gw_policy_check_call(p, "a", "s", "t", NULL, UINT64_MAX, NULL, 0), SB_GW_DENY);
    sb_gw_policy_free(p);
}

TEST(approval_verdicts) {
    sb_gw_policy *p = load(POLICY);
    char why[SB_GW_REASON_MAX];
    CHECK_INT(sb_gw_policy_check_call(p, "alice", "fs", "delete", NULL, 1, why, sizeof(why)),
              SB_GW_NEEDS_APPROVAL);
    CHECK_STR(why, "agents.alice.tools.fs.delete.approval: true");
    CHECK_INT(sb_gw_policy_check_call(p, "alice", "fs", "move_file", NULL, 1, why, sizeof(why)),
              SB_GW_NEEDS_APPROVAL);
    CHECK_STR(why, "agents.alice.approval: tool \"fs.move_file\" matches \"fs.move_*\"");
    /* pending approvals take no token: the burst of 3 is still there afterwards */
    for (int i = 0; i < 5; i++)
        CHECK_INT(sb_gw_policy_check_call(p, "alice", "fs", "delete", NULL, 1, NULL, 0),
                  SB_GW_NEEDS_APPROVAL);
    /* approved out of band: goes through, and is rate-limited like any call */
    for (int i = 0; i < 3; i++)
        CHECK_INT(sb_gw_policy_check_call_ex(p, "alice", "fs", "delete", NULL, 1,
                                             SB_GW_CALL_APPROVED, why, sizeof(why)),
                  SB_GW_ALLOW);
    CHECK_INT(sb_gw_policy_check_call_ex(p, "alice", "fs", "delete", NULL, 1, SB_GW_CALL_APPROVED,
                                         why, sizeof(why)),
              SB_GW_DENY);
    /* approval never lifts a deny: a denied tool stays denied, bad arguments stay bad */
    CHECK_INT(sb_gw_policy_check_call_ex(p, "alice", "fs", "write_file", NULL, 10000,
                                         SB_GW_CALL_APPROVED, why, sizeof(why)),
              SB_GW_DENY);
    json_t *bad = parse("{\"path\":\"/etc/shadow\"}");
    CHECK_INT(sb_gw_policy_check_call_ex(p, "alice", "fs", "read_file", bad, 10000,
                                         SB_GW_CALL_APPROVED, why, sizeof(why)),
              SB_GW_DENY);
    json_decref(bad);
    sb_gw_policy_free(p);
}

TEST(limits_pins_injection_getters) {
    sb_gw_policy *p = load(POLICY);
    sb_gw_limits l;
    CHECK_OK(sb_gw_policy_limits(p, "alice", NULL, NULL, &l), NULL);
    CHECK_INT(l.max_request_bytes, 65536);
    CHECK_INT(l.max_response_bytes, SB_GW_DEFAULT_MAX_RESPONSE);
    CHECK_INT(l.timeout_ms, 10000);
    CHECK_OK(sb_gw_policy_limits(p, "alice", "fs", "read_file", &l), NULL);
    CHECK_INT(l.timeout_ms, 5000);
    CHECK_OK(sb_gw_policy_limits(p, "bob", "fs", "read_file", &l), NULL);
    CHECK_INT(l.max_request_bytes, SB_GW_DEFAULT_MAX_REQUEST);
    CHECK_INT(l.timeout_ms, SB_GW_DEFAULT_TIMEOUT_MS);
    CHECK_INT(sb_gw_policy_limits(p, "mallory", NULL, NULL, &l), SB_E_NOTFOUND);
    CHECK(sb_gw_policy_auto_pin(p, "alice", "fs"));
    CHECK(!sb_gw_policy_auto_pin(p, "alice", "web1"));
    CHECK(!sb_gw_policy_auto_pin(p, "bob", "fs"));
    CHECK(!sb_gw_policy_injection_denies(p, "alice"));
    CHECK(sb_gw_policy_injection_denies(p, "bob"));
    CHECK(sb_gw_policy_injection_denies(p, "mallory"));
    CHECK(sb_gw_policy_has_agent(p, "bob"));
    CHECK(!sb_gw_policy_has_agent(p, "mallory"));
    CHECK_STR(sb_gw_verdict_name(SB_GW_NEEDS_APPROVAL), "needs-approval");
    sb_gw_policy_free(p);
}

static const struct {
    const char *json;
    int code;
    const char *msg;
} BAD[] = {
    {"[]", SB_E_MALFORMED, "agents: not an object"},
    {"{\"a\":1}", SB_E_MALFORMED, "agents.a: not an object"},
    {"{\"a.b\":{}}", SB_E_MALFORMED, "agents.a.b: an agent name"},
    {"{\"a\":{\"tool\":{}}}", SB_E_MALFORMED, "agents.a.tool: unknown key"},
    {"{\"a\":{\"servers\":{\"allow\":\"fs\"}}}", SB_E_MALFORMED,
     "agents.a.servers.allow: not an array"},
    {"{\"a\":{\"servers\":{\"allow\":[\"f s\"]}}}", SB_E_MALFORMED, "agents.a.servers.allow[0]"},
    {"{\"a\":{\"servers\":{\"fs.x\":{}}}}", SB_E_MALFORMED, "agents.a.servers: only"},
    {"{\"a\":{\"tools\":{\"allow\":[\"read_file\"]}}}", SB_E_MALFORMED,
     "agents.a.tools.allow[0]: \"read_file\" is not \"server.name\""},
    {"{\"a\":{\"tools\":{\"fs.*\":{}}}}", SB_E_MALFORMED, "agents.a.tools.fs.*: a tool rule"},
    {"{\"a\":{\"tools\":{\"fs.r\":{\"argument\":{}}}}}", SB_E_MALFORMED,
     "agents.a.tools.fs.r.argument: unknown key"},
    {"{\"a\":{\"tools\":{\"fs.r\":{\"arguments\":{\"properties\":{\"p\":{\"maxlength\":3}}}}}}}",
     SB_E_UNSUPPORTED,
     "agents.a.tools.fs.r.arguments.properties.p.maxlength: keyword not "
     "supported"},
    {"{\"a\":{\"tools\":{\"fs.r\":{\"arguments\":{\"properties\":{\"p\":{\"pattern\":\"(\"}}}}}}}",
     SB_E_MALFORMED, "agents.a.tools.fs.r.arguments.properties.p.pattern: missing closing"},
    {"{\"a\":{\"tools\":{\"fs.r\":{\"arguments\":{\"type\":\"str\"}}}}}", SB_E_MALFORMED,
     "arguments.type: unknown type \"str\""},
    {"{\"a\":{\"tools\":{\"fs.r\":{\"arguments\":{\"maxLength\":-1}}}}}", SB_E_MALFORMED,
     "arguments.maxLength: not an integer"},
    {"{\"a\":{\"tools\":{\"fs.r\":{\"arguments\":{\"path_prefix\":[\"data\"]}}}}}", SB_E_MALFORMED,
     "arguments.path_prefix[0]: not absolute"},
    {"{\"a\":{\"tools\":{\"fs.r\":{\"arguments\":{\"path_prefix\":[\"/d/%2e\"]}}}}}",
     SB_E_MALFORMED, "arguments.path_prefix[0]: percent-encoded"},
    {"{\"a\":{\"tools\":{\"fs.r\":{\"arguments\":{\"url_host\":[\"a b\"]}}}}}", SB_E_MALFORMED,
     "arguments.url_host[0]: forbidden character"},
    {"{\"a\":{\"tools\":{\"fs.r\":{\"arguments\":{\"url_schemes\":[\"https\"]}}}}}", SB_E_MALFORMED,
     "arguments.url_schemes: needs url_host"},
    {"{\"a\":{\"tools\":{\"fs.r\":{\"arguments\":{\"path_base\":\"/x\"}}}}}", SB_E_MALFORMED,
     "arguments.path_base: needs path_prefix"},
    {"{\"a\":{\"tools\":{\"fs.r\":{\"arguments\":{\"additionalProperties\":{}}}}}}",
     SB_E_UNSUPPORTED, "arguments.additionalProperties: only true or false"},
    {"{\"a\":{\"rate\":{\"per_minute\":0}}}", SB_E_MALFORMED,
     "agents.a.rate.per_minute: not an integer in [1, 1000000]"},
    {"{\"a\":{\"rate\":{\"burst\":3}}}", SB_E_MALFORMED, "agents.a.rate: needs per_second"},
    {"{\"a\":{\"rate\":{\"per_minute\":1,\"per_hour\":1}}}", SB_E_MALFORMED,
     "agents.a.rate: more than one"},
    {"{\"a\":{\"limits\":{\"timeout\":1}}}", SB_E_MALFORMED, "agents.a.limits.timeout: unknown"},
    {"{\"a\":{\"limits\":{\"max_request_bytes\":0}}}", SB_E_MALFORMED,
     "agents.a.limits.max_request_bytes: not an integer"},
    {"{\"a\":{\"injection\":\"warn\"}}", SB_E_MALFORMED, "agents.a.injection: \"deny\" or"},
    {"{\"a\":{\"approval\":[\"x\"]}}", SB_E_MALFORMED, "agents.a.approval[0]"},
    {"{\"a\":{\"sampling\":true}}", SB_E_MALFORMED,
     "agents.a.sampling: \"allow\", \"deny\" or an array"},
    {"{\"a\":{\"roots\":[\"x y\"]}}", SB_E_MALFORMED, "agents.a.roots[0]: not a name"},
    {"{\"a\":{\"elicitation\":\"ask\"}}", SB_E_MALFORMED, "agents.a.elicitation: \"allow\""},
    {"{\"a\":{\"limits\":{\"server_request_timeout_ms\":0}}}", SB_E_MALFORMED,
     "agents.a.limits.server_request_timeout_ms: not an integer"},
};

TEST(server_requests_default_deny_and_name_the_rule) {
    sb_gw_policy *p =
        load("{\"a\": {\"sampling\": \"allow\", \"elicitation\": [\"fs\", \"web*\"],"
             "        \"roots\": \"deny\", \"limits\": {\"server_request_timeout_ms\": 5}},"
             " \"b\": {}}");
    char why[SB_GW_REASON_MAX];
    CHECK(sb_gw_policy_server_request(p, "a", "fs", SB_GW_SREQ_SAMPLING, why, sizeof(why)));
    CHECK_STR(why, "agents.a.sampling: \"allow\"");
    CHECK(sb_gw_policy_server_request(p, "a", "web2", SB_GW_SREQ_ELICITATION, why, sizeof(why)));
    CHECK_STR(why, "agents.a.elicitation: server \"web2\" matches \"web*\"");
    CHECK(!sb_gw_policy_server_request(p, "a", "mail", SB_GW_SREQ_ELICITATION, why, sizeof(why)));
    CHECK_STR(why, "agents.a.elicitation: server \"mail\" matches no entry");
    CHECK(!sb_gw_policy_server_request(p, "a", "fs", SB_GW_SREQ_ROOTS, why, sizeof(why)));
    CHECK_STR(why, "agents.a.roots: \"deny\"");
    for (int k = 0; k < SB_GW_SREQ_MAX; k++) {
        CHECK(!sb_gw_policy_server_request(p, "b", "fs", (enum sb_gw_sreq)k, why, sizeof(why)));
        CHECK_CONTAINS(why, "(the default)");
    }
    CHECK(!sb_gw_policy_server_request(p, "ghost", "fs", SB_GW_SREQ_SAMPLING, why, sizeof(why)));
    CHECK_CONTAINS(why, "no agent");
    CHECK(!sb_gw_policy_server_request(p, "a", "fs", SB_GW_SREQ_MAX, NULL, 0));
    sb_gw_limits lim;
    CHECK_INT(sb_gw_policy_limits(p, "a", NULL, NULL, &lim), 0);
    CHECK_INT(lim.server_request_timeout_ms, 5);
    CHECK_INT(sb_gw_policy_limits(p, "b", NULL, NULL, &lim), 0);
    CHECK_INT(lim.server_request_timeout_ms, SB_GW_DEFAULT_SERVER_REQUEST_TIMEOUT_MS);
    enum sb_gw_sreq k;
    CHECK(sb_gw_sreq_of("elicitation/create", &k) && k == SB_GW_SREQ_ELICITATION);
    CHECK(sb_gw_sreq_of("roots/list", &k) && k == SB_GW_SREQ_ROOTS);
    CHECK(!sb_gw_sreq_of("tools/call", &k));
    CHECK_STR(sb_gw_sreq_method(SB_GW_SREQ_SAMPLING), "sampling/createMessage");
    sb_gw_policy_free(p);
}

TEST(loader_errors_name_the_field) {
    for (size_t i = 0; i < SB_ARRAY_LEN(BAD); i++) {
        json_error_t je;
        json_t *j = json_loads(BAD[i].json, JSON_DECODE_ANY, &je);
        CHECK_MSG(j != NULL, "[%zu] bad test JSON", i);
        sb_gw_policy *p = NULL;
        sb_error err = {0};
        int rc = sb_gw_policy_load(j, &p, &err);
        CHECK_MSG(rc == BAD[i].code, "[%zu] %s: rc %d (%s), expected %d", i, BAD[i].json, rc,
                  err.msg, BAD[i].code);
        CHECK_MSG(strstr(err.msg, BAD[i].msg) != NULL, "[%zu] \"%s\" lacks \"%s\"", i, err.msg,
                  BAD[i].msg);
        CHECK(p == NULL);
        sb_gw_policy_free(p);
        json_decref(j);
    }
}

TEST(loader_limits) {
    /* schema nesting deeper than the limit */
    char buf[4096];
    size_t o = 0;
    o += (size_t)snprintf(buf + o, sizeof(buf) - o, "{\"a\":{\"tools\":{\"s.t\":{\"arguments\":");
    for (int i = 0; i < SB_GW_MAX_SCHEMA_DEPTH + 2; i++)
        o += (size_t)snprintf(buf + o, sizeof(buf) - o, "{\"items\":");
    o += (size_t)snprintf(buf + o, sizeof(buf) - o, "{}");
    for (int i = 0; i < SB_GW_MAX_SCHEMA_DEPTH + 2; i++)
        o += (size_t)snprintf(buf + o, sizeof(buf) - o, "}");
    snprintf(buf + o, sizeof(buf) - o, "}}}}");
    json_t *j = parse(buf);
    sb_gw_policy *p = NULL;
    sb_error err = {0};
    CHECK_INT(sb_gw_policy_load(j, &p, &err), SB_E_LIMIT);
    CHECK_CONTAINS(err.msg, "nested deeper than");
    json_decref(j);
    /* a pattern over the byte limit */
    json_t *big = parse("{\"a\":{\"tools\":{\"s.t\":{\"arguments\":{\"properties\":"
                        "{\"x\":{}}}}}}}");
    json_t *x = json_object_get(
        json_object_get(
            json_object_get(
                json_object_get(json_object_get(json_object_get(big, "a"), "tools"), "s.t"),
                "arguments"),
            "properties"),
        "x");
    char *pat = malloc(SB_GW_MAX_PATTERN + 2);
    memset(pat, 'a', SB_GW_MAX_PATTERN + 1);
    pat[SB_GW_MAX_PATTERN + 1] = '\0';
    json_object_set_new(x, "pattern", json_string(pat));
    free(pat);
    CHECK_INT(sb_gw_policy_load(big, &p, &err), SB_E_LIMIT);
    CHECK_CONTAINS(err.msg, "properties.x.pattern: over");
    json_decref(big);
    /* an empty agents object is valid and allows nothing */
    json_t *empty = json_object();
    CHECK_OK(sb_gw_policy_load(empty, &p, &err), &err);
    CHECK(!sb_gw_policy_visible(p, "a", "s", "server", NULL));
    sb_gw_policy_free(p);
    json_decref(empty);
}
