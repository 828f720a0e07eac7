/* test_gwhttp: the Streamable HTTP transport's header parsers — Accept, Authorization: Bearer,
 * Mcp-Session-Id, MCP-Protocol-Version, Origin and Host — each accepted at its bounds and
 * refused with the header named; and the token generator. */
#include <jansson.h>

#include "crypto/crypto.h"
#include "gateway/gateway.h"
#include "harness.h"

static int accept_of(const char *v, unsigned *acc, sb_error *err) {
    return sb_gw_http_accept(v, strlen(v), acc, err);
}

TEST(accept_ranges) {
    static const struct {
        const char *v;
        int acc; /* -1: refused */
    } T[] = {
        {"application/json, text/event-stream", SB_GW_ACCEPT_JSON | SB_GW_ACCEPT_SSE},
        {"text/event-stream", SB_GW_ACCEPT_SSE},
        {"application/json", SB_GW_ACCEPT_JSON},
        {"*/*", SB_GW_ACCEPT_JSON | SB_GW_ACCEPT_SSE},
        {"application/*;q=0.5, text/*;q=0", SB_GW_ACCEPT_JSON},
        {"APPLICATION/JSON;charset=\"utf-8\";q=1.000", SB_GW_ACCEPT_JSON},
        {"text/event-stream;q=0.000", 0},
        {"text/event-stream; q=0.001", SB_GW_ACCEPT_SSE},
        {"text/html, image/png", 0},
        {"", 0},
        {" , ,application/json,", SB_GW_ACCEPT_JSON},
        {"application/json-seq", 0},
        {"text/event-stream;q=1.5", -1},
        {"text/event-stream;q=2", -1},
        {"application", -1},
        {"application/", -1},
        {"a/b;x", -1},
        {"a/b;x=\"unterminated", -1},
        {"a/b c/d", -1},
        {"a/b;q=0.1234", -1},
    };
    for (size_t i = 0; i < SB_ARRAY_LEN(T); i++) {
        unsigned acc = 99;
        sb_error err = {0};
        int rc = accept_of(T[i].v, &acc, &err);
        if (T[i].acc < 0) {
            CHECK_MSG(rc < 0, "Accept '%s' accepted", T[i].v);
            CHECK_CONTAINS(err.msg, "Accept");
        } else {
            CHECK_MSG(rc == 0 && acc == (unsigned)T[i].acc, "Accept '%s': rc %d acc %u (%s)",
                      T[i].v, rc, acc, err.msg);
        }
    }
    /* the range count limit */
    char big[4096] = "";
    size_t n = 0;
    for (int i = 0; i < 64; i++)
        n += (size_t)snprintf(big + n, sizeof(big) - n, "a/b,");
    unsigned acc = 0;
    sb_error err = {0};
    CHECK(sb_gw_http_accept(big, n, &acc, &err) == 0);
    n += (size_t)snprintf(big + n, sizeof(big) - n, "a/b");
    CHECK(sb_gw_http_accept(big, n, &acc, &err) == SB_E_LIMIT);
    CHECK_CONTAINS(err.msg, "over 64 media ranges");
}

TEST(bearer) {
    size_t off = 0, len = 0;
    sb_error err = {0};
    const char *v = "Bearer sbgw_abc-DEF_123";
    CHECK(sb_gw_http_bearer(v, strlen(v), &off, &len, &err) == 0);
    CHECK_INT(off, 7);
    CHECK_INT(len, 16);
    v = "bearer   tok== ";
    CHECK(sb_gw_http_bearer(v, strlen(v), &off, &len, &err) == 0);
    CHECK_INT(len, 5);
    static const char *const BAD[] = {"Basic dXNlcg==", "Bearer",     "Bearer ",     "Bearertok",
                                      "Bearer a=b",     "Bearer a b", "Bearer a\"b", "Bearer a,b"};
    for (size_t i = 0; i < SB_ARRAY_LEN(BAD); i++) {
        CHECK_MSG(sb_gw_http_bearer(BAD[i], strlen(BAD[i]), &off, &len, &err) < 0, "'%s' accepted",
                  BAD[i]);
        CHECK_CONTAINS(err.msg, "Authorization");
    }
    char tok[600] = "Bearer ";
    memset(tok + 7, 'x', SB_GW_HTTP_TOKEN_MAX);
    tok[7 + SB_GW_HTTP_TOKEN_MAX] = 0;
    CHECK(sb_gw_http_bearer(tok, strlen(tok), &off, &len, &err) == 0);
    tok[7 + SB_GW_HTTP_TOKEN_MAX] = 'x';
    tok[8 + SB_GW_HTTP_TOKEN_MAX] = 0;
    CHECK(sb_gw_http_bearer(tok, strlen(tok), &off, &len, &err) == SB_E_LIMIT);
}

TEST(session_id_and_version) {
    sb_error err = {0};
    char id[64];
    memset(id, 'A', sizeof(id));
    CHECK(sb_gw_http_session_id(id, SB_GW_SESSION_ID_LEN, &err) == 0);
    CHECK(sb_gw_http_session_id(id, SB_GW_SESSION_ID_LEN - 1, &err) < 0);
    CHECK_CONTAINS(err.msg, "Mcp-Session-Id");
    CHECK(sb_gw_http_session_id(id, SB_GW_SESSION_ID_LEN + 1, &err) < 0);
    id[10] = '+';
    CHECK(sb_gw_http_session_id(id, SB_GW_SESSION_ID_LEN, &err) < 0);
    CHECK_CONTAINS(err.msg, "byte 10");
    const char *v = NULL;
    for (size_t i = 0; sb_gw_protocol_versions[i]; i++) {
        const char *s = sb_gw_protocol_versions[i];
        CHECK(sb_gw_http_version(s, strlen(s), &v, &err) == 0 && v == s);
    }
    CHECK(sb_gw_http_version("2024-11-05", 10, &v, &err) == SB_E_UNSUPPORTED);
    CHECK_CONTAINS(err.msg, "MCP-Protocol-Version: '2024-11-05' is not supported");
    CHECK(sb_gw_http_version("2025-11-25 ", 11, &v, &err) < 0);
    CHECK(sb_gw_http_version("", 0, &v, &err) < 0);
}

TEST(last_event_id) {
    sb_error err = {0};
    uint32_t st = 7;
    uint64_t seq = 7;
    CHECK_OK(sb_gw_http_event_id("0-0", 3, &st, &seq, &err), &err);
    CHECK(st == 0 && seq == 0);
    CHECK_OK(sb_gw_http_event_id("3-17", 4, &st, &seq, &err), &err);
    CHECK(st == 3 && seq == 17);
    const char *max = "4294967295-18446744073709551615";
    CHECK_OK(sb_gw_http_event_id(max, strlen(max), &st, &seq, &err), &err);
    CHECK(st == UINT32_MAX && seq == UINT64_MAX);
    static const struct {
        const char *v, *want;
    } bad[] = {
        {"4294967296-1", "over 4294967295"},
        {"1-18446744073709551616", "over"},
        {"01-2", "leading zero"},
        {"1-02", "leading zero"},
        {"-1", "a number was expected at byte 0"},
        {"1-", "a number was expected at byte 2"},
        {"12", "'-' expected at byte 2"},
        {"1-2 ", "unexpected byte at 3"},
        {" 1-2", "byte 0"},
        {"1-2-3", "unexpected byte at 3"},
        {"", "a number was expected"},
        {"99999999999999999999999999999999", "bytes, over"},
    };
    for (size_t i = 0; i < SB_ARRAY_LEN(bad); i++) {
        CHECK_MSG(sb_gw_http_event_id(bad[i].v, strlen(bad[i].v), &st, &seq, &err) ==
                      SB_E_MALFORMED,
                  "'%s' accepted", bad[i].v);
        CHECK_MSG(strstr(err.msg, bad[i].want) && strstr(err.msg, "Last-Event-ID"),
                  "'%s': '%s' lacks '%s'", bad[i].v, err.msg, bad[i].want);
    }
}

TEST(origin) {
    static const struct {
        const char *in, *out; /* out NULL: refused */
    } T[] = {
        {"http://localhost:6274", "http://localhost:6274"},
        {"HTTPS://Example.COM:443", "https://example.com"},
        {"http://0x7f.1:8080", "http://127.0.0.1:8080"},
        {"http://[::1]:3000", "http://[::1]:3000"},
        {"http://XN--BCHER-KVA.de", "http://xn--bcher-kva.de"},
        {"http://b\xc3\xbc"
         "cher.de",
         NULL}, /* browsers send the ASCII serialization */
        {"null", NULL},
        {"http://evil.com/path", NULL},
        {"http://user@evil.com", NULL},
        {"ftp://x.com", NULL},
        {"localhost:80", NULL},
        {"http://a.com?x", NULL},
        {"http://%41.com", NULL},
        {"http://a.com\\", NULL},
        {"http://a .com", NULL},
        {"", NULL},
    };
    for (size_t i = 0; i < SB_ARRAY_LEN(T); i++) {
        char out[SB_GW_ORIGIN_MAX];
        sb_error err = {0};
        int rc = sb_gw_http_origin(T[i].in, strlen(T[i].in), out, sizeof(out), &err);
        if (!T[i].out) {
            CHECK_MSG(rc < 0, "Origin '%s' accepted as %s", T[i].in, out);
            CHECK_CONTAINS(err.msg, "Origin");
        } else {
            CHECK_MSG(rc == 0, "Origin '%s': %s", T[i].in, err.msg);
            if (rc == 0) CHECK_STR(out, T[i].out);
        }
    }
}

TEST(host_loopback) {
    static const struct {
        const char *in;
        int lo; /* -1: refused */
    } T[] = {
        {"127.0.0.1:8931", 1}, {"localhost", 1},  {"LOCALHOST.:1", 1},     {"[::1]:80", 1},
        {"127.1", 1},          {"2130706433", 1}, {"0x7f.0.0.1:1", 1},     {"evil.com:8931", 0},
        {"10.0.0.1", 0},       {"[::2]", 0},      {"localhost.evil", 0},   {"a/b", -1},
        {"a@127.0.0.1", -1},   {"", -1},          {"127.0.0.1:99999", -1},
    };
    for (size_t i = 0; i < SB_ARRAY_LEN(T); i++) {
        bool lo = false;
        sb_error err = {0};
        int rc = sb_gw_http_host_loopback(T[i].in, strlen(T[i].in), &lo, &err);
        if (T[i].lo < 0) {
            CHECK_MSG(rc < 0, "Host '%s' accepted", T[i].in);
            CHECK_CONTAINS(err.msg, "Host");
        } else {
            CHECK_MSG(rc == 0 && lo == (T[i].lo == 1), "Host '%s': rc %d lo %d (%s)", T[i].in, rc,
                      lo, err.msg);
        }
    }
}

TEST(token_new) {
    char *a = NULL, *b = NULL, ha[72], hb[72];
    sb_error err = {0};
    CHECK(sb_gw_http_token_new(&a, ha, &err) == 0);
    CHECK(sb_gw_http_token_new(&b, hb, &err) == 0);
    if (!a || !b) return;
    CHECK_INT(strlen(a), 5 + 43);
    CHECK(strncmp(a, "sbgw_", 5) == 0);
    CHECK(strcmp(a, b) != 0 && strcmp(ha, hb) != 0);
    /* the hash is SHA-256 of the token text, which the bearer parser takes whole */
    uint8_t d[32];
    char hex[65];
    CHECK(sb_hash(SB_HASH_SHA256, a, strlen(a), d, &err) == 0);
    sb_hex_encode(d, 32, hex);
    CHECK(strncmp(ha, "sha256:", 7) == 0 && strcmp(ha + 7, hex) == 0);
    char hdr[80];
    snprintf(hdr, sizeof(hdr), "Bearer %s", a);
    size_t off = 0, len = 0;
    CHECK(sb_gw_http_bearer(hdr, strlen(hdr), &off, &len, &err) == 0 && len == strlen(a));
    free(a);
    free(b);
}
