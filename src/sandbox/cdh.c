/* cdh: the workload's door to its secrets inside the sandbox — sealbox-init's small HTTP API on
 * a unix socket (GET /cdh/resource/<repo>/<type>/<tag>, in the spirit of CoCo's confidential
 * data hub) — the request parser init runs and the response parser of `sealbox-secret`. Both
 * read the bytes through sb_reader, line by line, against named limits. */
#include <string.h>

#include "sandbox.h"

/* One line up to CRLF (a bare CR or LF, a NUL or a control byte is malformed): *line is a view
 * of n bytes. SB_E_TRUNCATED when the CRLF has not arrived yet. */
static int read_line(sb_reader *r, size_t max, const uint8_t **line, size_t *n, const char *field) {
    size_t start = sb_reader_offset(r);
    for (size_t i = 0;; i++) {
        if (i > max)
            return sb_error_set(r->err, SB_E_LIMIT, "%s: %s is over %zu bytes (offset 0x%zx)",
                                r->what, field, max, start);
        uint8_t c;
        if (sb_reader_remaining(r) == 0)
            return sb_error_set(r->err, SB_E_TRUNCATED, "%s: %s is incomplete", r->what, field);
        TRY(sb_reader_u8(r, &c, field));
        if (c == '\r') {
            uint8_t lf;
            if (sb_reader_remaining(r) == 0)
                return sb_error_set(r->err, SB_E_TRUNCATED, "%s: %s is incomplete", r->what, field);
            TRY(sb_reader_u8(r, &lf, field));
            if (lf != '\n')
                return sb_error_set(r->err, SB_E_MALFORMED,
                                    "%s: %s has a CR without LF (offset 0x%zx)", r->what, field,
                                    sb_reader_offset(r) - 1);
            sb_reader back;
            sb_reader_init(&back, r->p, r->len, r->what, r->err);
            TRY(sb_reader_skip(&back, start, field));
            TRY(sb_reader_bytes(&back, i, line, field));
            *n = i;
            return 0;
        }
        if (c < 0x20 && c != '\t')
            return sb_error_set(r->err, SB_E_MALFORMED, "%s: %s holds byte 0x%02x (offset 0x%zx)",
                                r->what, field, c, sb_reader_offset(r) - 1);
        if (c == 0x7f)
            return sb_error_set(r->err, SB_E_MALFORMED, "%s: %s holds byte 0x7f (offset 0x%zx)",
                                r->what, field, sb_reader_offset(r) - 1);
    }
}

static bool prefix(const uint8_t *p, size_t n, const char *s) {
    size_t k = strlen(s);
    if (n < k) return false;
    for (size_t i = 0; i < k; i++)
        if (p[i] != (uint8_t)s[i]) return false;
    return true;
}

/* A header name compared without case. */
static bool header_is(const uint8_t *p, size_t n, const char *name) {
    size_t k = strlen(name);
    if (n <= k || p[k] != ':') return false;
    for (size_t i = 0; i < k; i++) {
        uint8_t a = p[i], b = (uint8_t)name[i];
        if (a >= 'A' && a <= 'Z') a = (uint8_t)(a - 'A' + 'a');
        if (b >= 'A' && b <= 'Z') b = (uint8_t)(b - 'A' + 'a');
        if (a != b) return false;
    }
    return true;
}

/* Headers until the empty line; each checked by fn (may be NULL). */
static int read_headers(sb_reader *r, int (*fn)(void *, const uint8_t *, size_t, sb_reader *),
                        void *arg) {
    for (size_t h = 0;; h++) {
        const uint8_t *line;
        size_t n;
        TRY(read_line(r, SB_CDH_MAX_LINE, &line, &n, "header"));
        if (n == 0) return 0;
        if (h >= SB_CDH_MAX_HEADERS)
            return sb_error_set(r->err, SB_E_LIMIT, "%s: more than %u headers", r->what,
                                SB_CDH_MAX_HEADERS);
        bool colon = false;
        for (size_t i = 0; i < n && !colon; i++)
            colon = line[i] == ':';
        if (!colon || line[0] == ' ' || line[0] == '\t' || line[0] == ':')
            return sb_error_set(r->err, SB_E_MALFORMED, "%s: header %zu is not 'Name: value'",
                                r->what, h);
        if (fn) TRY(fn(arg, line, n, r));
    }
}

static int request_header(void *arg, const uint8_t *line, size_t n, sb_reader *r) {
    (void)arg;
    if (header_is(line, n, "transfer-encoding"))
        return sb_error_set(r->err, SB_E_MALFORMED, "%s: a GET takes no Transfer-Encoding",
                            r->what);
    if (header_is(line, n, "content-length")) {
        size_t i = strlen("content-length:");
        while (i < n && (line[i] == ' ' || line[i] == '\t'))
            i++;
        if (i + 1 != n || line[i] != '0')
            return sb_error_set(r->err, SB_E_MALFORMED, "%s: a GET takes no body (Content-Length)",
                                r->what);
    }
    return 0;
}

int sb_cdh_parse_request(const uint8_t *p, size_t n, char path[SB_PROTO_MAX_SECRET_PATH + 1],
                         sb_error *err) {
    if (n > SB_CDH_MAX_REQUEST)
        return sb_error_set(err, SB_E_LIMIT, "cdh request: %zu bytes are over the limit %u", n,
                            SB_CDH_MAX_REQUEST);
    sb_reader r;
    sb_reader_init(&r, p, n, "cdh request", err);
    const uint8_t *line;
    size_t len;
    TRY(read_line(&r, SB_CDH_MAX_LINE, &line, &len, "request line"));
    static const char get[] = "GET ", pre[] = "/cdh/resource/";
    if (!prefix(line, len, get))
        return sb_error_set(err, SB_E_UNSUPPORTED, "cdh request: method: only GET is served");
    size_t off = sizeof(get) - 1;
    if (!prefix(line + off, len - off, pre))
        return sb_error_set(
            err, SB_E_NOTFOUND,
            "cdh request: target: only /cdh/resource/<repo>/<type>/<tag> is served");
    off += sizeof(pre) - 1;
    size_t k = 0;
    while (off + k < len && line[off + k] != ' ')
        k++;
    if (k > SB_PROTO_MAX_SECRET_PATH)
        return sb_error_set(err, SB_E_LIMIT, "cdh request: target: path over %u bytes",
                            SB_PROTO_MAX_SECRET_PATH);
    char tmp[SB_PROTO_MAX_SECRET_PATH + 1];
    for (size_t i = 0; i < k; i++)
        tmp[i] = (char)line[off + i];
    tmp[k] = 0;
    if (!sb_secret_path_valid(tmp))
        return sb_error_set(err, SB_E_MALFORMED,
                            "cdh request: target: '%.80s' is not <repo>/<type>/<tag>", tmp);
    off += k;
    const uint8_t *ver = line + off;
    size_t vl = len - off;
    if (!(vl == 9 && (prefix(ver, vl, " HTTP/1.1") || prefix(ver, vl, " HTTP/1.0"))))
        return sb_error_set(err, SB_E_MALFORMED, "cdh request: version: not HTTP/1.0 or HTTP/1.1");
    TRY(read_headers(&r, request_header, NULL));
    TRY(sb_reader_end(&r, "request (nothing may follow the headers)"));
    for (size_t i = 0; i <= k; i++)
        path[i] = tmp[i];
    return 0;
}

struct resp_state {
    bool have_length;
    size_t length;
};

static int response_header(void *arg, const uint8_t *line, size_t n, sb_reader *r) {
    struct resp_state *st = arg;
    if (!header_is(line, n, "content-length")) return 0;
    if (st->have_length)
        return sb_error_set(r->err, SB_E_MALFORMED, "%s: Content-Length given twice", r->what);
    size_t i = strlen("content-length:"), v = 0, digits = 0;
    while (i < n && (line[i] == ' ' || line[i] == '\t'))
        i++;
    for (; i < n && line[i] >= '0' && line[i] <= '9'; i++, digits++) {
        v = v * 10 + (size_t)(line[i] - '0');
        if (v > SB_CDH_MAX_BODY)
            return sb_error_set(r->err, SB_E_LIMIT, "%s: Content-Length is over %u", r->what,
                                SB_CDH_MAX_BODY);
    }
    if (digits == 0 || i != n)
        return sb_error_set(r->err, SB_E_MALFORMED, "%s: Content-Length is not a number", r->what);
    st->have_length = true;
    st->length = v;
    return 0;
}

int sb_cdh_parse_response(const uint8_t *p, size_t n, struct sb_cdh_response *out, sb_error *err) {
    if (n > SB_CDH_MAX_RESPONSE)
        return sb_error_set(err, SB_E_LIMIT, "cdh response: %zu bytes are over the limit %u", n,
                            SB_CDH_MAX_RESPONSE);
    sb_reader r;
    sb_reader_init(&r, p, n, "cdh response", err);
    const uint8_t *line;
    size_t len;
    TRY(read_line(&r, SB_CDH_MAX_LINE, &line, &len, "status line"));
    if (len < 12 || !(prefix(line, len, "HTTP/1.1 ") || prefix(line, len, "HTTP/1.0 ")) ||
        line[9] < '1' || line[9] > '5' || line[10] < '0' || line[10] > '9' || line[11] < '0' ||
        line[11] > '9' || (len > 12 && line[12] != ' '))
        return sb_error_set(err, SB_E_MALFORMED, "cdh response: status line is not HTTP/1.x NNN");
    int status = (line[9] - '0') * 100 + (line[10] - '0') * 10 + (line[11] - '0');
    struct resp_state st = {0};
    TRY(read_headers(&r, response_header, &st));
    if (!st.have_length)
        return sb_error_set(err, SB_E_MALFORMED, "cdh response: no Content-Length");
    if (sb_reader_remaining(&r) < st.length)
        return sb_error_set(err, SB_E_TRUNCATED, "cdh response: body: %zu of %zu bytes",
                            sb_reader_remaining(&r), st.length);
    const uint8_t *body;
    TRY(sb_reader_bytes(&r, st.length, &body, "body"));
    TRY(sb_reader_end(&r, "response (nothing may follow the body)"));
    out->status = status;
    out->body = body;
    out->body_len = st.length;
    return 0;
}
