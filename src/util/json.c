/* json: RFC 8785 JSON Canonicalization Scheme (JCS) for jansson values — members sorted by
 * UTF-16 code units, ECMAScript number and string serialization, no whitespace. */
#include <jansson.h>
#include <locale.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "util.h"

#define SB_JSON_DEPTH_MAX 64                /* nesting accepted by the canonicalizer */
#define SB_JSON_CANON_MAX (16u << 20)       /* bytes of canonical output */
#define SB_JSON_MEMBERS_MAX (1u << 20)      /* members of one object */
#define SB_JSON_SAFE_INT 9007199254740992LL /* 2^53: integers a double holds exactly */

/* Decodes one UTF-8 code point of s[0..n) at *i, strictly (no overlongs, no surrogates,
 * nothing above U+10FFFF); -1 when the bytes are not UTF-8. */
static int32_t utf8_next(const uint8_t *s, size_t n, size_t *i) {
    uint8_t c = s[*i];
    int32_t cp, min;
    size_t len;
    if (c < 0x80) {
        (*i)++;
        return c;
    } else if ((c & 0xe0) == 0xc0) {
        cp = c & 0x1f, len = 2, min = 0x80;
    } else if ((c & 0xf0) == 0xe0) {
        cp = c & 0x0f, len = 3, min = 0x800;
    } else if ((c & 0xf8) == 0xf0) {
        cp = c & 0x07, len = 4, min = 0x10000;
    } else {
        return -1;
    }
    if (len > n - *i) return -1;
    for (size_t k = 1; k < len; k++) {
        uint8_t cc = s[*i + k];
        if ((cc & 0xc0) != 0x80) return -1;
        cp = (cp << 6) | (cc & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return -1;
    *i += len;
    return cp;
}

static bool utf8_valid(const uint8_t *s, size_t n) {
    size_t i = 0;
    while (i < n)
        if (utf8_next(s, n, &i) < 0) return false;
    return true;
}

/* Yields the UTF-16 code units of a valid UTF-8 string one at a time. */
struct u16_iter {
    const uint8_t *s;
    size_t n, i;
    int32_t pending; /* low surrogate still to deliver, or -1 */
};

static int32_t u16_next(struct u16_iter *it) {
    if (it->pending >= 0) {
        int32_t u = it->pending;
        it->pending = -1;
        return u;
    }
    if (it->i >= it->n) return -1;
    int32_t cp = utf8_next(it->s, it->n, &it->i);
    if (cp < 0x10000) return cp; /* validated beforehand, so never -1 here */
    cp -= 0x10000;
    it->pending = 0xdc00 + (cp & 0x3ff);
    return 0xd800 + (cp >> 10);
}

struct member {
    const char *key;
    size_t keylen;
    json_t *value;
};

static int member_cmp(const void *a, const void *b) {
    const struct member *x = a, *y = b;
    struct u16_iter ix = {(const uint8_t *)x->key, x->keylen, 0, -1};
    struct u16_iter iy = {(const uint8_t *)y->key, y->keylen, 0, -1};
    for (;;) {
        int32_t ux = u16_next(&ix), uy = u16_next(&iy);
        if (ux != uy) return ux < uy ? -1 : 1; /* end (-1) sorts before any unit */
        if (ux < 0) return 0;
    }
}

static int put_string(sb_writer *w, const char *s, size_t n, const char *what, sb_error *err) {
    ENSURE(utf8_valid((const uint8_t *)s, n), err, SB_E_MALFORMED, "json: %s is not valid UTF-8",
           what);
    (void)sb_writer_u8(w, '"');
    for (size_t i = 0; i < n; i++) {
        uint8_t c = (uint8_t)s[i];
        switch (c) {
        case '"': (void)sb_writer_str(w, "\\\""); break;
        case '\\': (void)sb_writer_str(w, "\\\\"); break;
        case '\b': (void)sb_writer_str(w, "\\b"); break;
        case '\t': (void)sb_writer_str(w, "\\t"); break;
        case '\n': (void)sb_writer_str(w, "\\n"); break;
        case '\f': (void)sb_writer_str(w, "\\f"); break;
        case '\r': (void)sb_writer_str(w, "\\r"); break;
        default:
            if (c < 0x20)
                (void)sb_writer_printf(w, "\\u%04x", c);
            else
                (void)sb_writer_u8(w, c);
        }
    }
    (void)sb_writer_u8(w, '"');
    return 0;
}

/* ECMAScript Number::toString for a finite double (RFC 8785 §3.2.2.3): the shortest digit
 * string that reads back as the same double, laid out by the ES rules. */
static int put_double(sb_writer *w, double d, sb_error *err) {
    ENSURE(isfinite(d), err, SB_E_MALFORMED, "json: NaN or Infinity has no JSON form");
    if (d == 0) return sb_writer_u8(w, '0'); /* also -0 */
    if (d < 0) {
        (void)sb_writer_u8(w, '-');
        d = -d;
    }
    char buf[40];
    int p;
    for (p = 1; p <= 17; p++) {
        (void)snprintf(buf, sizeof(buf), "%.*e", p - 1, d);
        if (strtod(buf, NULL) == d) break;
    }
    /* buf is "D[.DDD]e[+-]XX": collect the digits and the decimal exponent */
    char digits[32]; /* at most 17 significant digits; sized so every branch stays in bounds */
    size_t k = 0;
    const char *q = buf;
    for (; *q && *q != 'e'; q++)
        if (*q >= '0' && *q <= '9' && k < sizeof(digits) - 1) digits[k++] = *q;
    while (k > 1 && digits[k - 1] == '0')
        k--;
    digits[k] = '\0';
    int64_t e10 = 0;
    ENSURE(*q == 'e' && sb_parse_i64(q + 1 + (q[1] == '+'), -400, 400, &e10, err, "exponent") == 0,
           err, SB_E_INTERNAL, "json: cannot format %g", d);
    long n = (long)e10 + 1; /* position of the decimal point relative to the digits */
    long kk = (long)k;
    if (kk <= n && n <= 21) {
        (void)sb_writer_bytes(w, digits, k);
        for (long i = 0; i < n - kk; i++)
            (void)sb_writer_u8(w, '0');
    } else if (0 < n && n <= 21) {
        (void)sb_writer_bytes(w, digits, (size_t)n);
        (void)sb_writer_u8(w, '.');
        (void)sb_writer_bytes(w, digits + n, k - (size_t)n);
    } else if (-6 < n && n <= 0) {
        (void)sb_writer_str(w, "0.");
        for (long i = 0; i < -n; i++)
            (void)sb_writer_u8(w, '0');
        (void)sb_writer_bytes(w, digits, k);
    } else {
        (void)sb_writer_u8(w, (uint8_t)digits[0]);
        if (k > 1) {
            (void)sb_writer_u8(w, '.');
            (void)sb_writer_bytes(w, digits + 1, k - 1);
        }
        (void)sb_writer_printf(w, "e%c%ld", n - 1 < 0 ? '-' : '+', labs(n - 1));
    }
    return 0;
}

static int put_value(sb_writer *w, const json_t *v, int depth, sb_error *err) {
    ENSURE(depth <= SB_JSON_DEPTH_MAX, err, SB_E_LIMIT, "json: nesting deeper than %d",
           SB_JSON_DEPTH_MAX);
    ENSURE(v, err, SB_E_USAGE, "json: NULL value");
    switch (json_typeof(v)) {
    case JSON_NULL: return sb_writer_str(w, "null");
    case JSON_TRUE: return sb_writer_str(w, "true");
    case JSON_FALSE: return sb_writer_str(w, "false");
    case JSON_INTEGER: {
        json_int_t i = json_integer_value(v);
        /* JCS numbers are IEEE doubles; a larger integer would silently change value. */
        ENSURE(i >= -SB_JSON_SAFE_INT && i <= SB_JSON_SAFE_INT, err, SB_E_UNSUPPORTED,
               "json: integer %lld is not exactly representable in JCS (|n| > 2^53)", (long long)i);
        return sb_writer_printf(w, "%lld", (long long)i);
    }
    case JSON_REAL: return put_double(w, json_real_value(v), err);
    case JSON_STRING:
        return put_string(w, json_string_value(v), json_string_length(v), "a string", err);
    case JSON_ARRAY: {
        (void)sb_writer_u8(w, '[');
        for (size_t i = 0; i < json_array_size(v); i++) {
            if (i) (void)sb_writer_u8(w, ',');
            TRY(put_value(w, json_array_get(v, i), depth + 1, err));
        }
        return sb_writer_u8(w, ']');
    }
    case JSON_OBJECT: {
        size_t n = json_object_size(v);
        ENSURE(n <= SB_JSON_MEMBERS_MAX, err, SB_E_LIMIT, "json: object with %zu members", n);
        struct member *m = calloc(n ? n : 1, sizeof(*m));
        ENSURE(m, err, SB_E_INTERNAL, "json: out of memory");
        size_t k = 0;
        /* jansson's iterator API takes a non-const object; nothing is modified. */
        for (void *it = json_object_iter((json_t *)v); it && k < n;
             it = json_object_iter_next((json_t *)v, it), k++) {
            m[k].key = json_object_iter_key(it);
            m[k].keylen = json_object_iter_key_len(it);
            m[k].value = json_object_iter_value(it);
            if (!utf8_valid((const uint8_t *)m[k].key, m[k].keylen)) {
                free(m);
                BAIL(err, SB_E_MALFORMED, "json: a member name is not valid UTF-8");
            }
        }
        qsort(m, k, sizeof(*m), member_cmp);
        (void)sb_writer_u8(w, '{');
        int rc = 0;
        for (size_t i = 0; i < k && rc == 0; i++) {
            if (i) (void)sb_writer_u8(w, ',');
            rc = put_string(w, m[i].key, m[i].keylen, "a member name", err);
            if (rc == 0) (void)sb_writer_u8(w, ':');
            if (rc == 0) rc = put_value(w, m[i].value, depth + 1, err);
        }
        free(m);
        TRY(rc);
        return sb_writer_u8(w, '}');
    }
    default: BAIL(err, SB_E_USAGE, "json: unknown value type");
    }
}

int sb_json_canonical(const json_t *v, char **out, size_t *len, sb_error *err) {
    /* Number formatting uses snprintf/strtod, whose decimal point follows LC_NUMERIC: pin the
     * C locale for this thread while serializing, whatever the program set. */
    locale_t c_loc = newlocale(LC_NUMERIC_MASK, "C", (locale_t)0);
    ENSURE(c_loc != (locale_t)0, err, SB_E_INTERNAL, "json: cannot create the C locale");
    locale_t prev = uselocale(c_loc);
    sb_writer w;
    sb_writer_init(&w, SB_JSON_CANON_MAX);
    int rc = put_value(&w, v, 0, err);
    (void)uselocale(prev);
    freelocale(c_loc);
    if (rc == 0 && sb_writer_status(&w) < 0)
        rc = sb_error_set(err, sb_writer_status(&w), "json: canonical form over %u bytes",
                          SB_JSON_CANON_MAX);
    if (rc < 0) {
        sb_writer_free(&w);
        return rc;
    }
    size_t n = 0;
    uint8_t *b = sb_writer_steal(&w, &n);
    if (!b) {
        /* An empty writer has no buffer yet; every value produces at least one byte. */
        BAIL(err, SB_E_INTERNAL, "json: out of memory");
    }
    *out = (char *)b;
    if (len) *len = n;
    return 0;
}

static bool json_ws(uint8_t c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

bool sb_json_text_has_member(const uint8_t *p, size_t n, const char *key, const char *vprefix) {
    size_t k = strlen(key);
    if (!p || k == 0 || k > n) return false;
    /* memmem finds each candidate "key quickly: detection runs on every input, often tens of
     * KB of JSON, for every verifier. */
    for (size_t i = 0; i + k + 2 <= n;) {
        const uint8_t *hit = memmem(p + i, n - i, key, k);
        if (!hit) return false;
        size_t at = (size_t)(hit - p);
        i = at + 1;
        if (at == 0 || p[at - 1] != '"' || at + k >= n || p[at + k] != '"') continue;
        size_t j = at + k + 1;
        while (j < n && json_ws(p[j]))
            j++;
        if (j >= n || p[j] != ':') continue;
        if (!vprefix) return true;
        j++;
        while (j < n && json_ws(p[j]))
            j++;
        size_t v = strlen(vprefix);
        if (j < n && p[j] == '"' && n - j - 1 >= v && memcmp(p + j + 1, vprefix, v) == 0)
            return true;
    }
    return false;
}
