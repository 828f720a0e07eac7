/* http_hdr: the header values the Streamable HTTP transport acts on — Accept, Authorization:
 * Bearer, Mcp-Session-Id, MCP-Protocol-Version, Origin and Host — read from untrusted bytes. */
#include <string.h>

#include "gateway.h"

static bool is_tchar(uint8_t c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           (c != 0 && strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

static uint8_t lower(uint8_t c) { return c >= 'A' && c <= 'Z' ? (uint8_t)(c + 32) : c; }

/* The next byte without consuming it; false at the end. */
static bool peek(const sb_reader *r, uint8_t *c) {
    if (sb_reader_remaining(r) == 0) return false;
    sb_reader t = *r;
    return sb_reader_u8(&t, c, "peek") == 0;
}

/* Consumes the byte peek() just saw (it is there, so this cannot fail). */
static void advance(sb_reader *r) {
    if (sb_reader_skip(r, 1, "byte") < 0) r->off = r->len;
}

static void skip_ows(sb_reader *r) {
    uint8_t c;
    while (peek(r, &c) && (c == ' ' || c == '\t'))
        advance(r);
}

/* A token (RFC 9110 tchar+), lower-cased into out (at most cap-1 bytes kept, the rest read). */
static int read_token(sb_reader *r, char *out, size_t cap, const char *field, sb_error *err) {
    size_t n = 0;
    uint8_t c;
    while (peek(r, &c) && is_tchar(c)) {
        TRY(sb_reader_u8(r, &c, field));
        if (n + 1 < cap) out[n++] = (char)lower(c);
    }
    if (cap) out[n] = 0;
    ENSURE(n > 0, err, SB_E_MALFORMED, "%s: a token was expected at byte %zu", field,
           sb_reader_offset(r));
    return 0;
}

/* A qvalue: "0" ["." 0*3DIGIT] / "1" ["." 0*3("0")]; *zero when it is 0. */
static int read_qvalue(sb_reader *r, bool *zero, sb_error *err) {
    uint8_t c;
    size_t at = sb_reader_offset(r);
    TRY(sb_reader_u8(r, &c, "Accept q"));
    ENSURE(c == '0' || c == '1', err, SB_E_MALFORMED, "Accept: q must be 0..1 at byte %zu", at);
    bool nonzero = c == '1';
    if (peek(r, &c) && c == '.') {
        advance(r);
        for (int i = 0; i < 3 && peek(r, &c) && c >= '0' && c <= '9'; i++) {
            advance(r);
            ENSURE(!(nonzero && c != '0'), err, SB_E_MALFORMED, "Accept: q over 1 at byte %zu", at);
            if (c != '0') nonzero = true;
        }
    }
    *zero = !nonzero;
    return 0;
}

/* A quoted-string parameter value (skipped). */
static int skip_quoted(sb_reader *r, sb_error *err) {
    uint8_t c;
    TRY(sb_reader_u8(r, &c, "Accept parameter"));
    for (;;) {
        ENSURE(sb_reader_remaining(r) > 0, err, SB_E_MALFORMED,
               "Accept: unterminated quoted string at byte %zu", sb_reader_offset(r));
        TRY(sb_reader_u8(r, &c, "Accept parameter"));
        if (c == '"') return 0;
        if (c == '\\') TRY(sb_reader_u8(r, &c, "Accept parameter"));
        ENSURE(c == '\t' || (c >= 0x20 && c != 0x7f), err, SB_E_MALFORMED,
               "Accept: control byte in a quoted string at byte %zu", sb_reader_offset(r));
    }
}

int sb_gw_http_accept(const char *v, size_t n, unsigned *out, sb_error *err) {
    ENSURE(n <= SB_GW_HTTP_HEADER_MAX, err, SB_E_LIMIT, "Accept: over %u bytes",
           SB_GW_HTTP_HEADER_MAX);
    sb_reader r;
    sb_reader_init(&r, v, n, "Accept", err);
    unsigned acc = 0;
    size_t ranges = 0;
    uint8_t c;
    for (;;) {
        skip_ows(&r);
        while (peek(&r, &c) && c == ',') { /* empty list elements are allowed */
            advance(&r);
            skip_ows(&r);
        }
        if (sb_reader_remaining(&r) == 0) break;
        ENSURE(++ranges <= SB_GW_HTTP_ACCEPT_RANGES, err, SB_E_LIMIT,
               "Accept: over %d media ranges", SB_GW_HTTP_ACCEPT_RANGES);
        char type[32], sub[48];
        TRY(read_token(&r, type, sizeof(type), "Accept type", err));
        TRY(sb_reader_u8(&r, &c, "Accept '/'"));
        ENSURE(c == '/', err, SB_E_MALFORMED, "Accept: '/' expected at byte %zu",
               sb_reader_offset(&r) - 1);
        TRY(read_token(&r, sub, sizeof(sub), "Accept subtype", err));
        bool zero = false;
        for (;;) {
            skip_ows(&r);
            if (!peek(&r, &c) || c != ';') break;
            advance(&r);
            skip_ows(&r);
            char name[16];
            TRY(read_token(&r, name, sizeof(name), "Accept parameter", err));
            TRY(sb_reader_u8(&r, &c, "Accept '='"));
            ENSURE(c == '=', err, SB_E_MALFORMED, "Accept: '=' expected at byte %zu",
                   sb_reader_offset(&r) - 1);
            if (strcmp(name, "q") == 0) {
                TRY(read_qvalue(&r, &zero, err));
            } else if (peek(&r, &c) && c == '"') {
                TRY(skip_quoted(&r, err));
            } else {
                char val[64];
                TRY(read_token(&r, val, sizeof(val), "Accept parameter value", err));
            }
        }
        if (sb_reader_remaining(&r) > 0) {
            TRY(sb_reader_u8(&r, &c, "Accept ','"));
            ENSURE(c == ',', err, SB_E_MALFORMED, "Accept: ',' expected at byte %zu",
                   sb_reader_offset(&r) - 1);
        }
        if (zero) continue;
        bool any = strcmp(type, "*") == 0 && strcmp(sub, "*") == 0;
        if (any || (strcmp(type, "application") == 0 &&
                    (strcmp(sub, "json") == 0 || strcmp(sub, "*") == 0)))
            acc |= SB_GW_ACCEPT_JSON;
        if (any || (strcmp(type, "text") == 0 &&
                    (strcmp(sub, "event-stream") == 0 || strcmp(sub, "*") == 0)))
            acc |= SB_GW_ACCEPT_SSE;
    }
    *out = acc;
    return 0;
}

int sb_gw_http_bearer(const char *v, size_t n, size_t *tok_off, size_t *tok_len, sb_error *err) {
    ENSURE(n <= SB_GW_HTTP_HEADER_MAX, err, SB_E_LIMIT, "Authorization: over %u bytes",
           SB_GW_HTTP_HEADER_MAX);
    sb_reader r;
    sb_reader_init(&r, v, n, "Authorization", err);
    char scheme[16];
    TRY(read_token(&r, scheme, sizeof(scheme), "Authorization scheme", err));
    ENSURE(strcmp(scheme, "bearer") == 0, err, SB_E_POLICY,
           "Authorization: the scheme must be Bearer");
    uint8_t c;
    size_t spaces = 0;
    while (peek(&r, &c) && c == ' ') {
        advance(&r);
        spaces++;
    }
    ENSURE(spaces > 0, err, SB_E_MALFORMED, "Authorization: a space must follow Bearer");
    size_t off = sb_reader_offset(&r), len = 0;
    bool pad = false;
    while (peek(&r, &c) && c != ' ' && c != '\t') {
        TRY(sb_reader_u8(&r, &c, "Authorization token"));
        bool t68 = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                   c == '-' || c == '.' || c == '_' || c == '~' || c == '+' || c == '/';
        ENSURE(c == '=' || (t68 && !pad), err, SB_E_MALFORMED,
               "Authorization: byte %zu is not a token68 character", sb_reader_offset(&r) - 1);
        if (c == '=') pad = true;
        len++;
    }
    skip_ows(&r);
    TRY(sb_reader_end(&r, "Authorization"));
    ENSURE(len > 0, err, SB_E_MALFORMED, "Authorization: the bearer token is empty");
    ENSURE(len <= SB_GW_HTTP_TOKEN_MAX, err, SB_E_LIMIT, "Authorization: token over %d bytes",
           SB_GW_HTTP_TOKEN_MAX);
    *tok_off = off;
    *tok_len = len;
    return 0;
}

int sb_gw_http_session_id(const char *v, size_t n, sb_error *err) {
    ENSURE(n == SB_GW_SESSION_ID_LEN, err, SB_E_MALFORMED,
           "Mcp-Session-Id: %zu bytes, not the %d of a session id of this gateway", n,
           SB_GW_SESSION_ID_LEN);
    sb_reader r;
    sb_reader_init(&r, v, n, "Mcp-Session-Id", err);
    while (sb_reader_remaining(&r) > 0) {
        uint8_t c;
        TRY(sb_reader_u8(&r, &c, "Mcp-Session-Id"));
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '-' || c == '_';
        ENSURE(ok, err, SB_E_MALFORMED, "Mcp-Session-Id: byte %zu is not base64url",
               sb_reader_offset(&r) - 1);
    }
    return 0;
}

int sb_gw_http_version(const char *v, size_t n, const char **out, sb_error *err) {
    ENSURE(n <= 32, err, SB_E_MALFORMED, "MCP-Protocol-Version: over 32 bytes");
    sb_reader r;
    sb_reader_init(&r, v, n, "MCP-Protocol-Version", err);
    const uint8_t *b = NULL;
    TRY(sb_reader_bytes(&r, n, &b, "MCP-Protocol-Version"));
    for (size_t i = 0; sb_gw_protocol_versions[i]; i++) {
        const char *s = sb_gw_protocol_versions[i];
        if (strlen(s) == n && memcmp(s, b, n) == 0) {
            *out = s;
            return 0;
        }
    }
    char shown[40];
    size_t k = 0;
    for (size_t i = 0; i < n && k + 1 < sizeof(shown); i++)
        shown[k++] = b[i] >= 0x20 && b[i] < 0x7f ? (char)b[i] : '?';
    shown[k] = 0;
    BAIL(err, SB_E_UNSUPPORTED, "MCP-Protocol-Version: '%s' is not supported (%s, %s, %s)", shown,
         sb_gw_protocol_versions[0], sb_gw_protocol_versions[1], sb_gw_protocol_versions[2]);
}

/* Copies a header value made only of visible ASCII into buf as a C string, refusing bytes that
 * would make the URL parser see more than scheme and authority. */
static int authority_only(const char *v, size_t n, const char *field, bool scheme, char *buf,
                          size_t cap, sb_error *err) {
    ENSURE(n > 0, err, SB_E_MALFORMED, "%s: empty", field);
    ENSURE(n < cap, err, SB_E_LIMIT, "%s: over %zu bytes", field, cap - 1);
    sb_reader r;
    sb_reader_init(&r, v, n, field, err);
    size_t slashes = 0;
    for (size_t i = 0; i < n; i++) {
        uint8_t c;
        TRY(sb_reader_u8(&r, &c, field));
        ENSURE(c > 0x20 && c < 0x7f, err, SB_E_MALFORMED, "%s: byte %zu is not visible ASCII",
               field, i);
        ENSURE(c != '@' && c != '\\' && c != '?' && c != '#' && c != '%', err, SB_E_MALFORMED,
               "%s: '%c' at byte %zu (only scheme://host[:port] is allowed)", field, c, i);
        if (c == '/') slashes++;
        buf[i] = (char)c;
    }
    buf[n] = 0;
    ENSURE(slashes == (scheme ? 2u : 0u), err, SB_E_MALFORMED, "%s: only %shost[:port] is allowed",
           field, scheme ? "scheme://" : "");
    return 0;
}

int sb_gw_http_origin(const char *v, size_t n, char *out, size_t out_len, sb_error *err) {
    char buf[SB_GW_ORIGIN_MAX];
    if (n == 4 && memcmp(v, "null", 4) == 0)
        BAIL(err, SB_E_POLICY, "Origin: 'null' (an opaque origin) is never allowed");
    TRY(authority_only(v, n, "Origin", true, buf, sizeof(buf), err));
    ENSURE(strstr(buf, "://") != NULL, err, SB_E_MALFORMED, "Origin: scheme://host expected");
    sb_gw_url u;
    sb_error e = {0};
    if (sb_gw_url_parse(buf, n, &u, &e) < 0) BAIL(err, SB_E_MALFORMED, "Origin: %s", e.msg);
    ENSURE(strcmp(u.scheme, "http") == 0 || strcmp(u.scheme, "https") == 0, err, SB_E_MALFORMED,
           "Origin: scheme '%s' is not http or https", u.scheme);
    int w = u.explicit_port ? snprintf(out, out_len, "%s://%s:%u", u.scheme, u.host, u.port)
                            : snprintf(out, out_len, "%s://%s", u.scheme, u.host);
    ENSURE(w > 0 && (size_t)w < out_len, err, SB_E_LIMIT, "Origin: over %zu bytes", out_len - 1);
    return 0;
}

int sb_gw_http_host_loopback(const char *v, size_t n, bool *loopback, sb_error *err) {
    char host[SB_GW_ORIGIN_MAX], url[SB_GW_ORIGIN_MAX + 16];
    TRY(authority_only(v, n, "Host", false, host, sizeof(host), err));
    int w = snprintf(url, sizeof(url), "http://%s/", host);
    ENSURE(w > 0 && (size_t)w < sizeof(url), err, SB_E_LIMIT, "Host: too long");
    sb_gw_url u;
    sb_error e = {0};
    if (sb_gw_url_parse(url, (size_t)w, &u, &e) < 0) BAIL(err, SB_E_MALFORMED, "Host: %s", e.msg);
    *loopback = (u.host_kind == SB_GW_HOST_IPV4 && strncmp(u.host, "127.", 4) == 0) ||
                (u.host_kind == SB_GW_HOST_IPV6 && strcmp(u.host, "[::1]") == 0) ||
                (u.host_kind == SB_GW_HOST_DOMAIN && strcmp(u.host, "localhost") == 0);
    return 0;
}

/* A decimal number without leading zeros, at most max. */
static int read_decimal(sb_reader *r, uint64_t max, uint64_t *out, const char *field,
                        sb_error *err) {
    size_t at = sb_reader_offset(r), digits = 0;
    uint64_t v = 0;
    uint8_t c;
    while (peek(r, &c) && c >= '0' && c <= '9') {
        advance(r);
        uint64_t d = (uint64_t)(c - '0');
        ENSURE(!(digits == 1 && v == 0), err, SB_E_MALFORMED, "%s: a leading zero at byte %zu",
               field, at);
        ENSURE(v <= (max - d) / 10, err, SB_E_MALFORMED, "%s: over %llu at byte %zu", field,
               (unsigned long long)max, at);
        v = v * 10 + d;
        digits++;
    }
    ENSURE(digits > 0, err, SB_E_MALFORMED, "%s: a number was expected at byte %zu", field, at);
    *out = v;
    return 0;
}

int sb_gw_http_event_id(const char *v, size_t n, uint32_t *stream, uint64_t *seq, sb_error *err) {
    ENSURE(n <= SB_GW_EVENT_ID_MAX, err, SB_E_MALFORMED,
           "Last-Event-ID: %zu bytes, over the %d of an event id of this gateway", n,
           SB_GW_EVENT_ID_MAX);
    sb_reader r;
    sb_reader_init(&r, v, n, "Last-Event-ID", err);
    uint64_t a = 0, b = 0;
    uint8_t c;
    TRY(read_decimal(&r, UINT32_MAX, &a, "Last-Event-ID (stream)", err));
    size_t at = sb_reader_offset(&r);
    ENSURE(peek(&r, &c) && c == '-', err, SB_E_MALFORMED,
           "Last-Event-ID: '-' expected at byte %zu (STREAM-EVENT)", at);
    advance(&r);
    TRY(read_decimal(&r, UINT64_MAX, &b, "Last-Event-ID (event)", err));
    ENSURE(sb_reader_remaining(&r) == 0, err, SB_E_MALFORMED,
           "Last-Event-ID: unexpected byte at %zu", sb_reader_offset(&r));
    *stream = (uint32_t)a;
    *seq = b;
    return 0;
}
