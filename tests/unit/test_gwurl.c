/* test_gwurl: the gateway's WHATWG URL host parse and path canonicalization, each with a table
 * of bypass attempts and the verdict a url_host / path_prefix rule must reach. */
#include <jansson.h>

#include "gateway/gateway.h"
#include "harness.h"

/* ---- URL parse: input -> canonical host (NULL: refused) ---- */
static const struct {
    const char *url;
    const char *host; /* NULL: parse must fail */
    bool userinfo;
} URLS[] = {
    {"http://ok.com/", "ok.com", false},
    {"HTTP://Ok.COM", "ok.com", false},
    {"http://ok.com@evil.com/", "evil.com", true},
    {"http://ok.com:80@evil.com/", "evil.com", true},
    {"http://ok.com%2f@evil.com/", "evil.com", true},
    {"http://a@b@evil.com/", "evil.com", true},
    {"http://evil.com#@ok.com", "evil.com", false},
    {"http://evil.com?@ok.com", "evil.com", false},
    {"http://evil.com\\@ok.com/", "evil.com", false},
    {"http://evil.com\\.ok.com/", "evil.com", false},
    {"http:ok.com", "ok.com", false},
    {"http:\\\\ok.com\\x", "ok.com", false},
    {"http:///ok.com", "ok.com", false},
    {"http://2130706433/", "127.0.0.1", false},
    {"http://0x7f.1/", "127.0.0.1", false},
    {"http://0x7F000001/", "127.0.0.1", false},
    {"http://0177.0.0.1/", "127.0.0.1", false},
    {"http://0177.0.0.01/", "127.0.0.1", false},
    {"http://127.1/", "127.0.0.1", false},
    {"http://127.0.0.1./", "127.0.0.1", false},
    {"http://1.256/", "1.0.1.0", false},
    {"http://4294967295/", "255.255.255.255", false},
    {"http://0/", "0.0.0.0", false},
    {"http://0x/", "0.0.0.0", false},
    {"http://%31%32%37.0.0.1/", "127.0.0.1", false},
    {"http://4294967296/", NULL, false},
    {"http://0x100000000/", NULL, false},
    {"http://256.0.0.1/", NULL, false},
    {"http://1.2.3.4.5/", NULL, false},
    {"http://09.1/", NULL, false},
    {"http://foo.0x/", NULL, false},
    {"http://foo.123/", NULL, false},
    {"http://OK.COM./", "ok.com", false},
    {"http://ok.com../", NULL, false},
    {"http://ok..com/", NULL, false},
    {"http://.ok.com/", NULL, false},
    {"http://%6f%6b.com/", "ok.com", false},
    {"http://ok%2ecom/", "ok.com", false},
    {"http://ok%252ecom/", NULL, false},
    {"http://ok%00.com/", NULL, false},
    {"http://ok%zz.com/", NULL, false},
    {"http://b\xc3\xbc"
     "cher.de/",
     "xn--bcher-kva.de", false},
    {"http://B\xc3\x9c"
     "CHER.de/",
     "xn--bcher-kva.de", false},
    {"http://xn--bcher-kva.de/", "xn--bcher-kva.de", false},
    {"http://\xef\xbd\x8f\xef\xbd\x8b.com/", "ok.com", false}, /* fullwidth "ok" */
    {"http://ok\xe3\x80\x82"
     "com/",
     "ok.com", false},                               /* ideographic full stop */
    {"http://ok.com\xe2\x80\x8b/", "ok.com", false}, /* ZWSP: UTS 46 deletes it */
    {"http://xn--/", NULL, false},
    {"http://[::1]/", "[::1]", false},
    {"http://[0:0:0:0:0:0:0:1]:8080/", "[::1]", false},
    {"http://[::ffff:127.0.0.1]/", "[::ffff:7f00:1]", false},
    {"http://[::1.2.3.4]/", "[::102:304]", false},
    {"http://[2001:DB8:0:0:1:0:0:1]/", "[2001:db8::1:0:0:1]", false},
    {"http://[1:0:0:2::3]/", "[1:0:0:2::3]", false},
    {"http://[1:0:0:2:0:0:3:4]/", "[1::2:0:0:3:4]", false},
    {"http://[::1/", NULL, false},
    {"http://[1:2:3:4:5:6:7:8:9]/", NULL, false},
    {"http://[1::2::3]/", NULL, false},
    {"http://[::1.2.3]/", NULL, false},
    {"http://[::01.2.3.4]/", NULL, false},
    {"http://[g::1]/", NULL, false},
    {"http://ok.com:99999/", NULL, false},
    {"http://ok.com:8x/", NULL, false},
    {"http://ok.com:1:2/", NULL, false},
    {"http://a b.com/", NULL, false},
    {"http://ok.com\t.evil/", NULL, false},
    {"http://ok.com\n/", NULL, false},
    {" http://ok.com/", NULL, false},
    {"http://ok.com/ ", NULL, false},
    {"http://ok<.com/", NULL, false},
    {"http://ok^.com/", NULL, false},
    {"http://ok|.com/", NULL, false},
    {"http://", NULL, false},
    {"http://user@/", NULL, false},
    {"http://:80/", NULL, false},
    {"//ok.com/", NULL, false},
    {"ok.com", NULL, false},
    {"javascript:alert(1)", NULL, false},
    {"file:///etc/passwd", NULL, false},
    {"data:text/html,x", NULL, false},
    {"wss://Ok.Com:443/x", "ok.com", false},
    {"ftp://ok.com/", "ok.com", false},
};

TEST(url_table) {
    for (size_t i = 0; i < SB_ARRAY_LEN(URLS); i++) {
        sb_gw_url u;
        sb_error err = {0};
        int rc = sb_gw_url_parse(URLS[i].url, strlen(URLS[i].url), &u, &err);
        if (URLS[i].host == NULL) {
            CHECK_MSG(rc < 0, "[%zu] %s parsed to host %s, expected refusal", i, URLS[i].url,
                      rc == 0 ? u.host : "?");
            if (rc < 0) CHECK_MSG(err.msg[0] != '\0', "[%zu] refusal without reason", i);
        } else {
            CHECK_MSG(rc == 0, "[%zu] %s refused: %s", i, URLS[i].url, err.msg);
            if (rc == 0) {
                CHECK_MSG(strcmp(u.host, URLS[i].host) == 0, "[%zu] %s: host %s, expected %s", i,
                          URLS[i].url, u.host, URLS[i].host);
                CHECK_MSG(u.has_userinfo == URLS[i].userinfo, "[%zu] %s: userinfo flag", i,
                          URLS[i].url);
            }
        }
    }
}

TEST(url_ports_and_kinds) {
    sb_gw_url u;
    sb_error err = {0};
    CHECK_OK(sb_gw_url_parse("https://ok.com:443/", 19, &u, &err), &err);
    CHECK_INT(u.port, 443);
    CHECK(!u.explicit_port);
    CHECK_OK(sb_gw_url_parse("http://ok.com:0443/", 19, &u, &err), &err);
    CHECK_INT(u.port, 443);
    CHECK(u.explicit_port);
    CHECK_INT(u.host_kind, SB_GW_HOST_DOMAIN);
    CHECK_OK(sb_gw_url_parse("http://10.1/", 12, &u, &err), &err);
    CHECK_INT(u.host_kind, SB_GW_HOST_IPV4);
    CHECK_STR(u.host, "10.0.0.1");
    CHECK_OK(sb_gw_url_parse("http://ok.com./", 15, &u, &err), &err);
    CHECK(u.had_trailing_dot);
    /* embedded NUL: the length is what counts */
    CHECK(sb_gw_url_parse("http://ok.com\0.evil/", 20, &u, &err) < 0);
    /* over the limit */
    char *big = malloc(SB_GW_URL_MAX + 2);
    memset(big, 'a', SB_GW_URL_MAX + 1);
    memcpy(big, "http://", 7);
    big[SB_GW_URL_MAX + 1] = '\0';
    CHECK(sb_gw_url_parse(big, SB_GW_URL_MAX + 1, &u, &err) < 0);
    /* a 64-byte label is over DNS's 63 */
    memcpy(big + 7 + 64, ".com", 5);
    CHECK(sb_gw_url_parse(big, 7 + 64 + 4, &u, &err) < 0);
    CHECK(sb_gw_url_parse(big, 7 + 63, &u, &err) == 0);
    free(big);
}

TEST(host_canon_patterns) {
    char out[300];
    sb_error err = {0};
    CHECK_OK(sb_gw_host_canon("Example.COM.", out, sizeof(out), &err), &err);
    CHECK_STR(out, "example.com");
    CHECK_OK(sb_gw_host_canon("*.B\xc3\xbc"
                              "cher.de",
                              out, sizeof(out), &err),
             &err);
    CHECK_STR(out, "*.xn--bcher-kva.de");
    CHECK_OK(sb_gw_host_canon("0x7f.1", out, sizeof(out), &err), &err);
    CHECK_STR(out, "127.0.0.1");
    CHECK_OK(sb_gw_host_canon("[0::1]", out, sizeof(out), &err), &err);
    CHECK_STR(out, "[::1]");
    CHECK(sb_gw_host_canon("*.10.0.0.1", out, sizeof(out), &err) < 0);
    CHECK(sb_gw_host_canon("a/b", out, sizeof(out), &err) < 0);
    CHECK(sb_gw_host_canon("", out, sizeof(out), &err) < 0);
}

/* ---- paths: input -> canonical (NULL: refused) ---- */
static const struct {
    const char *in;
    const char *base;
    const char *canon;
} PATHS[] = {
    {"/data/x", NULL, "/data/x"},
    {"/data", NULL, "/data"},
    {"/data/", NULL, "/data"},
    {"/data//x", NULL, "/data/x"},
    {"//data/x", NULL, "/data/x"},
    {"/data/./x/.", NULL, "/data/x"},
    {"/data/../etc/passwd", NULL, "/etc/passwd"},
    {"/data/x/../../etc", NULL, "/etc"},
    {"/../../data/x", NULL, "/data/x"},
    {"/data/..", NULL, "/"},
    {"/", NULL, "/"},
    {"/data/...", NULL, "/data/..."},
    {"/data/..x/y", NULL, "/data/..x/y"},
    {"x/y", "/data", "/data/x/y"},
    {"./x", "/data/", "/data/x"},
    {"../etc", "/data", "/etc"},
    {"x/../../..", "/data/sub", "/"},
    {"data/x", NULL, NULL},
    {"", NULL, NULL},
    {"~/x", NULL, NULL},
    {"~root/x", "/data", NULL},
    {"/data/%2e%2e/etc", NULL, NULL},
    {"/data/%2F", NULL, NULL},
    {"/data\\..\\etc", NULL, NULL},
    {"/data/\x01x", NULL, NULL},
    {"/data/x\x7f", NULL, NULL},
    {"/data/x\n", NULL, NULL},
};

TEST(path_table) {
    for (size_t i = 0; i < SB_ARRAY_LEN(PATHS); i++) {
        char out[SB_GW_PATH_MAX + 1];
        sb_error err = {0};
        int rc = sb_gw_path_canon(PATHS[i].in, strlen(PATHS[i].in), PATHS[i].base, out, sizeof(out),
                                  &err);
        if (!PATHS[i].canon) {
            CHECK_MSG(rc < 0, "[%zu] %s canonicalized to %s, expected refusal", i, PATHS[i].in,
                      rc == 0 ? out : "?");
        } else {
            CHECK_MSG(rc == 0, "[%zu] %s refused: %s", i, PATHS[i].in, err.msg);
            if (rc == 0) CHECK_STR(out, PATHS[i].canon);
        }
    }
}

TEST(path_nul_and_limits) {
    char out[SB_GW_PATH_MAX + 1];
    sb_error err = {0};
    CHECK(sb_gw_path_canon("/data/x\0/../../etc", 18, NULL, out, sizeof(out), &err) < 0);
    CHECK_CONTAINS(err.msg, "NUL");
    char *big = malloc(SB_GW_PATH_MAX + 2);
    memset(big, 'a', SB_GW_PATH_MAX + 1);
    big[0] = '/';
    CHECK(sb_gw_path_canon(big, SB_GW_PATH_MAX + 1, NULL, out, sizeof(out), &err) < 0);
    /* a component of 256 bytes is over NAME_MAX */
    CHECK(sb_gw_path_canon(big, 257, NULL, out, sizeof(out), &err) < 0);
    CHECK(sb_gw_path_canon(big, 256, NULL, out, sizeof(out), &err) == 0);
    /* too many components */
    for (size_t i = 0; i < SB_GW_PATH_MAX; i += 2) {
        big[i] = '/';
        big[i + 1] = 'a';
    }
    CHECK(sb_gw_path_canon(big, SB_GW_PATH_MAX, NULL, out, sizeof(out), &err) < 0);
    CHECK_CONTAINS(err.msg, "components");
    free(big);
}

TEST(path_under) {
    CHECK(sb_gw_path_under("/data", "/data"));
    CHECK(sb_gw_path_under("/data/x", "/data"));
    CHECK(!sb_gw_path_under("/data2", "/data"));
    CHECK(!sb_gw_path_under("/data2/x", "/data"));
    CHECK(!sb_gw_path_under("/dat", "/data"));
    CHECK(sb_gw_path_under("/anything", "/"));
    CHECK(!sb_gw_path_under("/DATA/x", "/data"));
}

/* ---- the same attacks through a policy: verdicts and the rule named ---- */
static sb_gw_policy *load(const char *text) {
    json_error_t je;
    json_t *j = json_loads(text, 0, &je);
    CHECK_MSG(j != NULL, "bad test JSON: %s", je.text);
    sb_gw_policy *p = NULL;
    sb_error err = {0};
    CHECK_OK(sb_gw_policy_load(j, &p, &err), &err);
    json_decref(j);
    return p;
}

static sb_gw_verdict call1(sb_gw_policy *p, const char *tool, const char *key, const char *val,
                           char *reason, size_t rlen) {
    json_t *args = json_pack("{ss}", key, val);
    sb_gw_verdict v = sb_gw_policy_check_call(p, "alice", "web", tool, args, 0, reason, rlen);
    json_decref(args);
    return v;
}

static const char *URL_POLICY =
    "{\"alice\": {\"servers\": {\"allow\": [\"web\"]},"
    " \"tools\": {\"allow\": [\"web.*\"],"
    "  \"web.fetch\": {\"arguments\": {\"properties\": {\"url\": {\"type\": \"string\","
    "     \"url_host\": [\"ok.com\", \"*.ok.org\", \"[::1]\", \"B\xc3\xbc"
    "cher.de\"]}}}},"
    "  \"web.fetch_any\": {\"arguments\": {\"properties\": {\"url\": {"
    "     \"url_host\": [\"ok.com\"], \"url_schemes\": [\"https\", \"wss\"],"
    "     \"url_userinfo\": true}}}},"
    "  \"web.read\": {\"arguments\": {\"properties\": {\"path\": {"
    "     \"path_prefix\": [\"/data/\", \"/srv/pub\"]}}}},"
    "  \"web.read_rel\": {\"arguments\": {\"properties\": {\"path\": {"
    "     \"path_prefix\": [\"/data\"], \"path_base\": \"/data/home\"}}}}}}}";

static const struct {
    const char *tool, *val;
    sb_gw_verdict want;
} BYPASS[] = {
    {"fetch", "https://ok.com/x", SB_GW_ALLOW},
    {"fetch", "http://OK.com./x", SB_GW_ALLOW},
    {"fetch", "https://a.b.ok.org/", SB_GW_ALLOW},
    {"fetch", "https://ok.org/", SB_GW_DENY},
    {"fetch", "https://evilok.org/", SB_GW_DENY},
    {"fetch", "https://ok.org.evil.com/", SB_GW_DENY},
    {"fetch", "https://ok.com@evil.com/", SB_GW_DENY},
    {"fetch", "https://evil.com@ok.com/", SB_GW_DENY}, /* userinfo refused by default */
    {"fetch", "https://evil.com#@ok.com", SB_GW_DENY},
    {"fetch", "https://evil.com?@ok.com", SB_GW_DENY},
    {"fetch", "https://evil.com\\@ok.com", SB_GW_DENY},
    {"fetch", "https://ok.com.evil.com/", SB_GW_DENY},
    {"fetch", "https://ok.com%2eevil.com/", SB_GW_DENY},
    {"fetch", "http://2130706433/", SB_GW_DENY},
    {"fetch", "http://0x7f.1/", SB_GW_DENY},
    {"fetch", "http://[::1]:8080/", SB_GW_ALLOW},
    {"fetch", "http://[0:0::1]/", SB_GW_ALLOW},
    {"fetch", "http://[::ffff:7f00:1]/", SB_GW_DENY},
    {"fetch", "https://xn--bcher-kva.de/", SB_GW_ALLOW},
    {"fetch",
     "https://b\xc3\xbc"
     "cher.de/",
     SB_GW_ALLOW},
    {"fetch", "https://bucher.de/", SB_GW_DENY},
    {"fetch", "https://\xef\xbd\x8f\xef\xbd\x8b.com/", SB_GW_ALLOW}, /* same host as ok.com */
    {"fetch", "https://ok.com\t/", SB_GW_DENY},
    {"fetch", "file:///etc/passwd", SB_GW_DENY},
    {"fetch", "ftp://ok.com/", SB_GW_DENY}, /* schemes default to http, https */
    {"fetch", "//ok.com/", SB_GW_DENY},
    {"fetch_any", "https://u:p@ok.com/", SB_GW_ALLOW},
    {"fetch_any", "http://ok.com/", SB_GW_DENY},
    {"fetch_any", "wss://ok.com/", SB_GW_ALLOW},
    {"read", "/data/x", SB_GW_ALLOW},
    {"read", "/data", SB_GW_ALLOW},
    {"read", "/srv/pub/a", SB_GW_ALLOW},
    {"read", "/srv/public", SB_GW_DENY},
    {"read", "/data2/x", SB_GW_DENY},
    {"read", "/data/../etc/passwd", SB_GW_DENY},
    {"read", "/data/./../etc", SB_GW_DENY},
    {"read", "/data/%2e%2e/etc", SB_GW_DENY},
    {"read", "/data\\..\\etc", SB_GW_DENY},
    {"read", "data/x", SB_GW_DENY},
    {"read", "~/data/x", SB_GW_DENY},
    {"read", "//data//x/", SB_GW_ALLOW},
    {"read_rel", "notes.txt", SB_GW_ALLOW},
    {"read_rel", "../x", SB_GW_ALLOW},
    {"read_rel", "../../etc/passwd", SB_GW_DENY},
    {"read_rel", "/data/x", SB_GW_ALLOW},
};

TEST(policy_bypass_table) {
    sb_gw_policy *p = load(URL_POLICY);
    for (size_t i = 0; i < SB_ARRAY_LEN(BYPASS); i++) {
        char reason[SB_GW_REASON_MAX];
        const char *key = !strncmp(BYPASS[i].tool, "read", 4) ? "path" : "url";
        sb_gw_verdict v = call1(p, BYPASS[i].tool, key, BYPASS[i].val, reason, sizeof(reason));
        CHECK_MSG(v == BYPASS[i].want, "[%zu] %s %s: %s (%s), expected %s", i, BYPASS[i].tool,
                  BYPASS[i].val, sb_gw_verdict_name(v), reason, sb_gw_verdict_name(BYPASS[i].want));
        if (v == SB_GW_DENY) {
            char rule[128];
            snprintf(rule, sizeof(rule), "agents.alice.tools.web.%s.arguments.%s", BYPASS[i].tool,
                     key);
            CHECK_CONTAINS(reason, rule);
        }
    }
    sb_gw_policy_free(p);
}

TEST(policy_reason_names_rule) {
    sb_gw_policy *p = load(URL_POLICY);
    char reason[SB_GW_REASON_MAX];
    CHECK_INT(call1(p, "read", "path", "/etc/passwd", reason, sizeof(reason)), SB_GW_DENY);
    CHECK_STR(reason,
              "agents.alice.tools.web.read.arguments.path: \"/etc/passwd\" not under /data/, "
              "/srv/pub");
    CHECK_INT(call1(p, "read", "path", "/data/../etc/passwd", reason, sizeof(reason)), SB_GW_DENY);
    CHECK_CONTAINS(reason, "(canonical /etc/passwd) not under /data/");
    CHECK_INT(call1(p, "fetch", "url", "http://0x7f.1/", reason, sizeof(reason)), SB_GW_DENY);
    CHECK_CONTAINS(reason, "has host 127.0.0.1, not in url_host");
    sb_gw_policy_free(p);
}
