/* dcap_json: finds the exact signed byte span of "tcbInfo" / "enclaveIdentity" and the
 * "signature" string in Intel collateral JSON, with a bounded scanner over sb_reader — before
 * any JSON parser sees the bytes (the signature covers those bytes, not a re-serialization). */
#include <string.h>

#include "evidence.h"

#define KEY_MAX 64
#define TOP_KEYS_MAX 16

static int peek(sb_reader *r, uint8_t *c, const char *field) {
    size_t save = r->off;
    TRY(sb_reader_u8(r, c, field));
    r->off = save;
    return 0;
}

static int bad(sb_reader *r, const char *what) {
    return sb_error_set(r->err, SB_E_MALFORMED, "%s: %s (offset 0x%zx)", r->what, what,
                        sb_reader_offset(r));
}

static void skip_ws(sb_reader *r) {
    uint8_t c;
    while (sb_reader_remaining(r) && peek(r, &c, "ws") == 0 &&
           (c == ' ' || c == '\t' || c == '\n' || c == '\r'))
        r->off++;
}

static int expect(sb_reader *r, uint8_t want, const char *field) {
    uint8_t c;
    TRY(sb_reader_u8(r, &c, field));
    if (c != want) {
        r->off--;
        return bad(r, field);
    }
    return 0;
}

static int is_hex(uint8_t c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

/* After the opening quote: up to and including the closing quote. *escaped says whether a
 * backslash occurred. */
static int skip_string(sb_reader *r, bool *escaped) {
    *escaped = false;
    for (;;) {
        uint8_t c;
        TRY(sb_reader_u8(r, &c, "string"));
        if (c == '"') return 0;
        if (c < 0x20) return bad(r, "control character in a string");
        if (c == '\\') {
            *escaped = true;
            TRY(sb_reader_u8(r, &c, "string escape"));
            if (c == 'u') {
                for (int i = 0; i < 4; i++) {
                    TRY(sb_reader_u8(r, &c, "\\u escape"));
                    if (!is_hex(c)) return bad(r, "bad \\u escape");
                }
            } else if (!strchr("\"\\/bfnrt", c) || c == 0) {
                return bad(r, "bad string escape");
            }
        }
    }
}

static int skip_digits(sb_reader *r, bool need_one) {
    uint8_t c;
    size_t n = 0;
    while (sb_reader_remaining(r) && peek(r, &c, "number") == 0 && c >= '0' && c <= '9') {
        r->off++;
        n++;
    }
    if (need_one && n == 0) return bad(r, "digit expected in a number");
    return 0;
}

static int skip_value(sb_reader *r, int depth);

static int skip_container(sb_reader *r, int depth, uint8_t close, bool object) {
    if (depth >= SB_DCAP_JSON_DEPTH)
        return sb_error_set(r->err, SB_E_LIMIT, "%s: JSON nested deeper than %d (offset 0x%zx)",
                            r->what, SB_DCAP_JSON_DEPTH, sb_reader_offset(r));
    uint8_t c;
    skip_ws(r);
    TRY(peek(r, &c, "container"));
    if (c == close) {
        r->off++;
        return 0;
    }
    for (;;) {
        skip_ws(r);
        if (object) {
            bool esc;
            TRY(expect(r, '"', "object key"));
            TRY(skip_string(r, &esc));
            skip_ws(r);
            TRY(expect(r, ':', "':' after a key"));
            skip_ws(r);
        }
        TRY(skip_value(r, depth + 1));
        skip_ws(r);
        TRY(sb_reader_u8(r, &c, "',' or end of container"));
        if (c == close) return 0;
        if (c != ',') {
            r->off--;
            return bad(r, "',' or end of container expected");
        }
    }
}

static int skip_literal(sb_reader *r, const char *lit) {
    for (size_t i = 0; lit[i]; i++)
        TRY(expect(r, (uint8_t)lit[i], "literal"));
    return 0;
}

static int skip_value(sb_reader *r, int depth) {
    uint8_t c;
    TRY(sb_reader_u8(r, &c, "value"));
    bool esc;
    switch (c) {
    case '{': return skip_container(r, depth, '}', true);
    case '[': return skip_container(r, depth, ']', false);
    case '"': return skip_string(r, &esc);
    case 't': return skip_literal(r, "rue");
    case 'f': return skip_literal(r, "alse");
    case 'n': return skip_literal(r, "ull");
    default:
        if (c != '-' && (c < '0' || c > '9')) {
            r->off--;
            return bad(r, "JSON value expected");
        }
        if (c == '-')
            TRY(skip_digits(r, true));
        else
            TRY(skip_digits(r, false));
        if (sb_reader_remaining(r) && peek(r, &c, "number") == 0 && c == '.') {
            r->off++;
            TRY(skip_digits(r, true));
        }
        if (sb_reader_remaining(r) && peek(r, &c, "number") == 0 && (c == 'e' || c == 'E')) {
            r->off++;
            if (sb_reader_remaining(r) && peek(r, &c, "number") == 0 && (c == '+' || c == '-'))
                r->off++;
            TRY(skip_digits(r, true));
        }
        return 0;
    }
}

int sb_dcap_signed_json_locate(const uint8_t *p, size_t n, struct sb_dcap_signed_json *out,
                               sb_error *err) {
    if (n > SB_DCAP_COLLATERAL_MAX)
        BAIL(err, SB_E_LIMIT, "collateral: JSON of %zu bytes is over the limit of %u", n,
             SB_DCAP_COLLATERAL_MAX);
    sb_reader r;
    sb_reader_init(&r, p, n, "collateral", err);
    struct sb_dcap_signed_json o = {0};
    const uint8_t *keys[TOP_KEYS_MAX];
    size_t key_lens[TOP_KEYS_MAX], nkeys = 0;
    bool have_sig = false;

    skip_ws(&r);
    TRY(expect(&r, '{', "'{' at the top level"));
    skip_ws(&r);
    uint8_t c;
    TRY(peek(&r, &c, "top-level object"));
    if (c == '}') BAIL(err, SB_E_NOTFOUND, "collateral: empty JSON object");
    for (;;) {
        skip_ws(&r);
        TRY(expect(&r, '"', "top-level key"));
        size_t kstart = r.off;
        bool esc;
        TRY(skip_string(&r, &esc));
        size_t klen = r.off - kstart - 1;
        if (esc) return bad(&r, "escaped top-level key");
        if (klen > KEY_MAX) return bad(&r, "top-level key too long");
        const uint8_t *key;
        {
            size_t save = r.off;
            r.off = kstart;
            TRY(sb_reader_bytes(&r, klen, &key, "key"));
            r.off = save;
        }
        for (size_t i = 0; i < nkeys; i++)
            if (key_lens[i] == klen && memcmp(keys[i], key, klen) == 0)
                return bad(&r, "duplicate top-level key");
        if (nkeys == TOP_KEYS_MAX)
            return sb_error_set(err, SB_E_LIMIT, "collateral: more than %d top-level keys",
                                TOP_KEYS_MAX);
        keys[nkeys] = key;
        key_lens[nkeys++] = klen;
        skip_ws(&r);
        TRY(expect(&r, ':', "':' after a top-level key"));
        skip_ws(&r);
        size_t vstart = r.off, vabs = sb_reader_offset(&r);
        TRY(skip_value(&r, 1));
        size_t vlen = r.off - vstart;
        const char *member = NULL;
        if (klen == 7 && memcmp(key, "tcbInfo", 7) == 0) member = "tcbInfo";
        if (klen == 15 && memcmp(key, "enclaveIdentity", 15) == 0) member = "enclaveIdentity";
        bool is_sig = klen == 9 && memcmp(key, "signature", 9) == 0;
        if (member || is_sig) {
            size_t save = r.off;
            r.off = vstart;
            const uint8_t *v;
            TRY(sb_reader_bytes(&r, vlen, &v, "value"));
            r.off = save;
            if (member) {
                if (o.member) return bad(&r, "both tcbInfo and enclaveIdentity present");
                if (v[0] != '{') return bad(&r, "tcbInfo/enclaveIdentity is not an object");
                o.member = member;
                o.body = v;
                o.body_len = vlen;
                o.body_off = vabs;
            } else {
                if (v[0] != '"' || vlen < 2) return bad(&r, "signature is not a string");
                for (size_t i = 1; i + 1 < vlen; i++)
                    if (!is_hex(v[i])) return bad(&r, "signature is not hex");
                sb_reader sr;
                sb_reader_init(&sr, v, vlen, "collateral", err);
                TRY(sb_reader_skip(&sr, 1, "signature"));
                const uint8_t *hex;
                TRY(sb_reader_bytes(&sr, vlen - 2, &hex, "signature"));
                o.sig_hex = (const char *)hex;
                o.sig_hex_len = vlen - 2;
                have_sig = true;
            }
        }
        skip_ws(&r);
        TRY(sb_reader_u8(&r, &c, "',' or '}'"));
        if (c == '}') break;
        if (c != ',') {
            r.off--;
            return bad(&r, "',' or '}' expected at the top level");
        }
    }
    skip_ws(&r);
    TRY(sb_reader_end(&r, "the JSON object"));
    if (!o.member) BAIL(err, SB_E_NOTFOUND, "collateral: no tcbInfo or enclaveIdentity member");
    if (!have_sig) BAIL(err, SB_E_MALFORMED, "collateral: %s has no signature member", o.member);
    *out = o;
    return 0;
}
