/* test_gwremote: what the bridge to remote Streamable HTTP servers parses and checks — the
 * text/event-stream decoder (line ends, fields, comments, multi-line data, limits, pushes split
 * anywhere), the URL rule (https, or http to loopback; the host libcurl sees is the one
 * checked) and the header rule — and the "url" form of a server in the configuration. */
#include <jansson.h>

#include "gateway/gateway.h"
#include "harness.h"

struct evs {
    int n;
    char event[4][32];
    char data[4][256];
    char id[4][32];
};

static int collect(void *ctx, const char *event, const uint8_t *d, size_t n, const char *id) {
    struct evs *e = ctx;
    if (e->n < 4) {
        snprintf(e->event[e->n], sizeof(e->event[0]), "%s", event);
        snprintf(e->data[e->n], sizeof(e->data[0]), "%.*s", (int)n, (const char *)d);
        snprintf(e->id[e->n], sizeof(e->id[0]), "%s", id);
    }
    e->n++;
    return 0;
}

/* Decodes s pushed in pieces of `step` bytes. */
static int decode(const char *s, size_t step, size_t max, struct evs *e, sb_error *err) {
    sb_gw_sse d;
    sb_gw_sse_init(&d, max);
    memset(e, 0, sizeof(*e));
    size_t n = strlen(s);
    int rc = 0;
    for (size_t off = 0; off < n && rc == 0; off += step)
        rc = sb_gw_sse_push(&d, (const uint8_t *)s + off, off + step > n ? n - off : step, collect,
                            e, err);
    sb_gw_sse_free(&d);
    return rc;
}

TEST(sse_events_whatever_the_reads) {
    const char *s = "id: 7\ndata:\n\n: keepalive\r\nevent: message\r\ndata: {\"a\":\r\n"
                    "data:1}\r\n\r\nretry: 500\rdata: x\r\revent: other\ndata: y\n\n";
    for (size_t step = 1; step <= strlen(s); step++) {
        struct evs e;
        sb_error err = {0};
        CHECK_OK(decode(s, step, 1024, &e, &err), &err);
        CHECK_INT(e.n, 4);
        if (e.n != 4) continue;
        /* the priming event: an empty data line makes an event with empty data (the bridge
         * passes nothing on for it) */
        CHECK_STR(e.data[0], "");
        CHECK_STR(e.id[0], "7");
        CHECK_STR(e.event[1], "message");
        CHECK_STR(e.data[1], "{\"a\":\n1}"); /* data lines joined by LF */
        CHECK_STR(e.id[1], "7");             /* the last id seen stays */
        CHECK_STR(e.data[2], "x");           /* CR alone ends lines */
        CHECK_STR(e.event[3], "other");
        CHECK_STR(e.data[3], "y");
    }
}

TEST(sse_fields_as_the_standard_reads_them) {
    struct evs e;
    sb_error err = {0};
    CHECK_OK(decode("data:no-space\ndata:  two\n\n", 5, 1024, &e, &err), &err);
    CHECK_INT(e.n, 1);
    CHECK_STR(e.data[0], "no-space\n two"); /* one space dropped, not two */
    CHECK_OK(decode("data\n\n", 3, 1024, &e, &err), &err);
    CHECK_INT(e.n, 1); /* a field without a colon has an empty value */
    CHECK_STR(e.data[0], "");
    CHECK_OK(decode("unknown: v\nid: a\ndata: z\n\nid\ndata: w\n\n", 4, 1024, &e, &err), &err);
    CHECK_INT(e.n, 2);
    CHECK_STR(e.id[0], "a");
    CHECK_STR(e.id[1], ""); /* an empty id resets it */
    CHECK_OK(decode("data: incomplete", 4, 1024, &e, &err), &err);
    CHECK_INT(e.n, 0); /* no blank line: not dispatched */
}

TEST(sse_limits_name_the_offset) {
    struct evs e;
    sb_error err = {0};
    char big[900];
    memset(big, 'x', sizeof(big) - 1);
    big[sizeof(big) - 1] = 0;
    char s[1000];
    snprintf(s, sizeof(s), ": %s\n\n", big); /* even a comment is bounded */
    CHECK_INT(decode(s, 64, 512, &e, &err), SB_E_LIMIT);
    CHECK_CONTAINS(err.msg, "sse: line at byte");
    snprintf(s, sizeof(s), "event: %.300s\n\n", big);
    CHECK_INT(decode(s, 64, 512, &e, &err), SB_E_LIMIT);
    CHECK_CONTAINS(err.msg, "event name at byte");
    snprintf(s, sizeof(s), "data: %.300s\ndata: %.300s\n\n", big, big);
    CHECK_INT(decode(s, 64, 512, &e, &err), SB_E_LIMIT);
    CHECK_CONTAINS(err.msg, "event data at byte");
    CHECK_CONTAINS(err.msg, "over 512 bytes");
    snprintf(s, sizeof(s), "data: %.300s\n\n", big);
    CHECK_OK(decode(s, 64, 512, &e, &err), &err);
    CHECK_INT(e.n, 1);
}

TEST(remote_urls) {
    static const struct {
        const char *url, *why; /* why == NULL: accepted */
    } U[] = {
        {"https://mcp.example.com/mcp", NULL},
        {"https://mcp.example.com:8443/v1/mcp?x=1", NULL},
        {"http://127.0.0.1:3901/mcp", NULL},
        {"http://localhost:3901/mcp", NULL},
        {"http://[::1]:3901/mcp", NULL},
        {"http://127.9.9.9/mcp", NULL},
        {"http://example.com/mcp", "only to a loopback host"},
        {"http://127.0.0.1.example.com/mcp", "only to a loopback host"},
        {"http://localhost.evil.com/mcp", "only to a loopback host"},
        {"https://user:pass@example.com/mcp", "credentials in the URL"},
        {"https://example.com@evil.com/mcp", "credentials in the URL"},
        {"ftp://127.0.0.1/mcp", "is not https"},
        {"https://example.com/mcp#frag", "a fragment"},
        {"https://example.com\\@evil.com/", "a backslash"},
        {"https://exa mple.com/", "not visible ASCII"},
        {"https://b\xc3\xbc"
         "cher.de/",
         "not visible ASCII"},
        {"", "1-2048 bytes"},
        {"mcp.example.com", NULL /* any refusal */},
    };
    for (size_t i = 0; i < sizeof(U) / sizeof(U[0]); i++) {
        sb_error err = {0};
        int rc = sb_gw_remote_url_check(U[i].url, &err);
        if (i + 1 == sizeof(U) / sizeof(U[0])) {
            CHECK_MSG(rc < 0, "%s accepted", U[i].url);
            continue;
        }
        if (!U[i].why) {
            CHECK_MSG(rc == 0, "%s: %s", U[i].url, err.msg);
        } else {
            CHECK_MSG(rc < 0, "%s accepted", U[i].url);
            CHECK_CONTAINS(err.msg, U[i].why);
        }
    }
}

TEST(remote_headers) {
    sb_error err = {0};
    CHECK_OK(sb_gw_remote_header_check("Authorization", "Bearer abc", &err), &err);
    CHECK_OK(sb_gw_remote_header_check("X-Api-Key", "k\tv w", &err), &err);
    CHECK(sb_gw_remote_header_check("Mcp-Session-Id", "x", &err) == SB_E_POLICY);
    CHECK_CONTAINS(err.msg, "set by the gateway itself");
    CHECK(sb_gw_remote_header_check("accept", "x", &err) == SB_E_POLICY);
    CHECK(sb_gw_remote_header_check("X Key", "x", &err) == SB_E_MALFORMED);
    CHECK(sb_gw_remote_header_check("X-Key", "a\r\nInjected: 1", &err) == SB_E_MALFORMED);
    CHECK_CONTAINS(err.msg, "byte 1 of the value");
    CHECK(sb_gw_remote_header_check("", "x", &err) == SB_E_MALFORMED);
}

static int parse(const char *json, sb_gw_config **c, sb_error *err) {
    json_t *root = json_loads(json, 0, NULL);
    int rc = root ? sb_gw_config_parse(root, c, err) : SB_E_MALFORMED;
    json_decref(root);
    return rc;
}

TEST(config_of_a_remote_server) {
    sb_gw_config *c = NULL;
    sb_error err = {0};
    CHECK_OK(parse("{\"servers\":{\"r\":{\"url\":\"https://mcp.example.com/mcp\",\"headers\":"
                   "{\"Authorization\":\"Bearer s3cret\"},\"timeout_ms\":5000,\"pin\":\"tofu\"}}}",
                   &c, &err),
             &err);
    if (c) {
        CHECK_STR(c->servers[0].url, "https://mcp.example.com/mcp");
        CHECK_STR(c->servers[0].headers[0], "Authorization: Bearer s3cret");
        CHECK(c->servers[0].headers[1] == NULL);
        CHECK_INT((int)c->servers[0].timeout_ms, 5000);
    }
    sb_gw_config_free(c);
    c = NULL;
    static const struct {
        const char *json, *why;
    } BAD[] = {
        {"{\"servers\":{\"r\":{\"url\":\"https://a.com/\",\"command\":\"x\"}}}",
         "servers.r.command: not with \"url\""},
        {"{\"servers\":{\"r\":{\"url\":\"https://a.com/\",\"mounts\":[]}}}",
         "servers.r.mounts: not with \"url\""},
        {"{\"servers\":{\"r\":{\"url\":\"http://a.com/\"}}}", "servers.r.url: http is allowed"},
        {"{\"servers\":{\"r\":{\"command\":\"x\",\"headers\":{}}}}",
         "servers.r.headers: only with \"url\""},
        {"{\"servers\":{\"r\":{\"url\":\"https://a.com/\",\"headers\":{\"Host\":\"b\"}}}}",
         "servers.r.headers.Host: Host is set by the gateway itself"},
        {"{\"servers\":{\"r\":{\"url\":\"https://a.com/"
         "\",\"headers\":{\"K\":{\"file\":\"rel\"}}}}}",
         "servers.r.headers.K: must be a string or"},
        {"{\"servers\":{\"r\":{\"url\":\"https://a.com/\",\"headers\":{\"K\":{\"file\":"
         "\"/nonexistent/sealbox-secret\"}}}}}",
         "servers.r.headers.K"},
        {"{\"servers\":{\"r\":{\"url\":\"https://a.com/\",\"ca_file\":\"rel.pem\"}}}",
         "servers.r.ca_file: must be an absolute path"},
        {"{\"servers\":{\"r\":{}}}", "servers.r.command: missing (or \"url\""},
    };
    for (size_t i = 0; i < sizeof(BAD) / sizeof(BAD[0]); i++) {
        sb_error e = {0};
        CHECK_MSG(parse(BAD[i].json, &c, &e) < 0, "accepted: %s", BAD[i].json);
        CHECK_CONTAINS(e.msg, BAD[i].why);
        sb_gw_config_free(c);
        c = NULL;
    }
}
