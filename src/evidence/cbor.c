/* cbor: a bounded RFC 8949 reader over sb_reader — every count is checked against the bytes that
 * remain before it drives a loop, nesting is depth-limited, only definite lengths — and a small
 * writer producing preferred (shortest) serialization. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "evidence.h"

struct head {
    uint8_t major, ai;
    uint64_t arg;
};

SB_PRINTF(5, 6)
static int cbor_fail(const sb_reader *r, int code, const char *field, size_t off, const char *fmt,
                     ...) {
    char detail[256];
    va_list ap;
    va_start(ap, fmt);
    (void)vsnprintf(detail, sizeof(detail), fmt, ap);
    va_end(ap);
    return sb_error_set(r->err, code, "%s: %s (offset 0x%zx): %s", r->what, field, off, detail);
}

const char *sb_cbor_type_name(enum sb_cbor_type t) {
    switch (t) {
    case SB_CBOR_UINT: return "unsigned integer";
    case SB_CBOR_NEGINT: return "negative integer";
    case SB_CBOR_BYTES: return "byte string";
    case SB_CBOR_TEXT: return "text string";
    case SB_CBOR_ARRAY: return "array";
    case SB_CBOR_MAP: return "map";
    case SB_CBOR_TAG: return "tag";
    case SB_CBOR_SIMPLE: return "simple value";
    case SB_CBOR_FLOAT: return "float";
    default: return "unknown";
    }
}

static const char *const major_names[8] = {
    "unsigned integer", "negative integer", "byte string", "text string", "array", "map", "tag",
    "simple/float"};

static int read_head(sb_reader *r, const char *field, struct head *h) {
    size_t off = sb_reader_offset(r);
    uint8_t ib;
    TRY(sb_reader_u8(r, &ib, field));
    h->major = (uint8_t)(ib >> 5);
    h->ai = (uint8_t)(ib & 31);
    if (h->ai < 24) {
        h->arg = h->ai;
        return 0;
    }
    if (h->ai == 24) {
        uint8_t v;
        TRY(sb_reader_u8(r, &v, field));
        h->arg = v;
    } else if (h->ai == 25) {
        uint16_t v;
        TRY(sb_reader_u16be(r, &v, field));
        h->arg = v;
    } else if (h->ai == 26) {
        uint32_t v;
        TRY(sb_reader_u32be(r, &v, field));
        h->arg = v;
    } else if (h->ai == 27) {
        TRY(sb_reader_u64be(r, &h->arg, field));
    } else if (h->ai < 31) {
        return cbor_fail(r, SB_E_MALFORMED, field, off, "reserved additional information %u",
                         h->ai);
    } else if (h->major == 7) {
        return cbor_fail(r, SB_E_MALFORMED, field, off, "unexpected break (0xff)");
    } else if (h->major >= 2 && h->major <= 5) {
        return cbor_fail(r, SB_E_UNSUPPORTED, field, off,
                         "indefinite-length %s is not supported (definite lengths only)",
                         major_names[h->major]);
    } else {
        return cbor_fail(r, SB_E_MALFORMED, field, off, "indefinite length is invalid for a %s",
                         major_names[h->major]);
    }
    if (h->major == 7) {
        if (h->ai == 24 && h->arg < 32)
            return cbor_fail(r, SB_E_MALFORMED, field, off,
                             "simple value %u must be encoded in one byte", (unsigned)h->arg);
        return 0; /* floats carry bits, not a length */
    }
    static const uint64_t floor_of[4] = {24, 0x100, 0x10000, 0x100000000ull};
    if (h->arg < floor_of[h->ai - 24])
        return cbor_fail(r, SB_E_MALFORMED, field, off,
                         "non-preferred encoding: %s argument %llu in %u bytes",
                         major_names[h->major], (unsigned long long)h->arg, 1u << (h->ai - 24));
    return 0;
}

/* Strict UTF-8 (RFC 3629): no overlong forms, no surrogates, nothing above U+10FFFF. Returns the
 * index of the first bad byte, or n when the whole string is valid. */
static size_t utf8_check(const uint8_t *s, size_t n) {
    size_t i = 0;
    while (i < n) {
        uint8_t c = s[i];
        size_t more;
        uint8_t lo = 0x80, hi = 0xbf;
        if (c < 0x80) {
            i++;
            continue;
        } else if (c >= 0xc2 && c <= 0xdf) {
            more = 1;
        } else if (c == 0xe0) {
            more = 2, lo = 0xa0;
        } else if ((c >= 0xe1 && c <= 0xec) || c == 0xee || c == 0xef) {
            more = 2;
        } else if (c == 0xed) {
            more = 2, hi = 0x9f;
        } else if (c == 0xf0) {
            more = 3, lo = 0x90;
        } else if (c >= 0xf1 && c <= 0xf3) {
            more = 3;
        } else if (c == 0xf4) {
            more = 3, hi = 0x8f;
        } else {
            return i;
        }
        if (more > n - i - 1) return i;
        if (s[i + 1] < lo || s[i + 1] > hi) return i;
        for (size_t k = 2; k <= more; k++)
            if (s[i + k] < 0x80 || s[i + k] > 0xbf) return i;
        i += more + 1;
    }
    return n;
}

struct span {
    const uint8_t *p;
    size_t n;
    size_t off;
};

static int parse_item(sb_reader *r, unsigned depth, const char *field, sb_cbor_item *out);

static int parse_map(sb_reader *r, unsigned depth, const char *field, size_t off, uint64_t pairs) {
    if (pairs > SB_CBOR_MAX_MAP_PAIRS)
        return cbor_fail(r, SB_E_LIMIT, field, off, "map of %llu pairs is over the limit of %d",
                         (unsigned long long)pairs, SB_CBOR_MAX_MAP_PAIRS);
    if (pairs == 0) return 0;
    struct span *keys = calloc((size_t)pairs, sizeof(*keys));
    if (!keys) return sb_error_set(r->err, SB_E_INTERNAL, "%s: out of memory", r->what);
    int rc = 0;
    for (size_t i = 0; i < pairs && rc == 0; i++) {
        sb_cbor_item k, v;
        if ((rc = parse_item(r, depth + 1, "map key", &k)) < 0) break;
        for (size_t j = 0; j < i; j++) {
            if (keys[j].n == k.raw_len && memcmp(keys[j].p, k.raw, k.raw_len) == 0) {
                if (k.type == SB_CBOR_TEXT && k.len <= 64)
                    rc = cbor_fail(r, SB_E_MALFORMED, field, k.offset,
                                   "duplicate map key \"%.*s\" (first at offset 0x%zx)", (int)k.len,
                                   (const char *)k.data, keys[j].off);
                else if (k.type == SB_CBOR_UINT || k.type == SB_CBOR_NEGINT)
                    rc = cbor_fail(r, SB_E_MALFORMED, field, k.offset,
                                   "duplicate map key %s%llu (first at offset 0x%zx)",
                                   k.type == SB_CBOR_NEGINT ? "-1-" : "", (unsigned long long)k.val,
                                   keys[j].off);
                else
                    rc = cbor_fail(r, SB_E_MALFORMED, field, k.offset,
                                   "duplicate map key (%s, first at offset 0x%zx)",
                                   sb_cbor_type_name(k.type), keys[j].off);
                break;
            }
        }
        if (rc < 0) break;
        keys[i] = (struct span){k.raw, k.raw_len, k.offset};
        rc = parse_item(r, depth + 1, "map value", &v);
    }
    free(keys);
    return rc;
}

static int parse_item(sb_reader *r, unsigned depth, const char *field, sb_cbor_item *out) {
    sb_reader start = *r;
    size_t off = sb_reader_offset(r);
    struct head h;
    TRY(read_head(r, field, &h));
    sb_reader body = *r;
    sb_cbor_item it = {.val = h.arg, .offset = off, .depth = depth, .what = r->what, .err = r->err};
    size_t left = sb_reader_remaining(r);
    if ((h.major == 4 || h.major == 5 || h.major == 6) && depth >= SB_CBOR_MAX_DEPTH)
        return cbor_fail(r, SB_E_LIMIT, field, off, "%s nested deeper than %d levels",
                         major_names[h.major], SB_CBOR_MAX_DEPTH);
    switch (h.major) {
    case 0: it.type = SB_CBOR_UINT; break;
    case 1: it.type = SB_CBOR_NEGINT; break;
    case 2:
    case 3:
        it.type = h.major == 2 ? SB_CBOR_BYTES : SB_CBOR_TEXT;
        if (h.arg > left)
            return cbor_fail(r, SB_E_TRUNCATED, field, off, "%s of %llu bytes, only %zu left",
                             major_names[h.major], (unsigned long long)h.arg, left);
        it.val = 0;
        break;
    case 4:
        it.type = SB_CBOR_ARRAY;
        if (h.arg > left)
            return cbor_fail(r, SB_E_TRUNCATED, field, off,
                             "array declares %llu elements, only %zu bytes left",
                             (unsigned long long)h.arg, left);
        for (uint64_t i = 0; i < h.arg; i++) {
            sb_cbor_item e;
            TRY(parse_item(r, depth + 1, "array element", &e));
        }
        break;
    case 5:
        it.type = SB_CBOR_MAP;
        if (h.arg > left / 2)
            return cbor_fail(r, SB_E_TRUNCATED, field, off,
                             "map declares %llu pairs, only %zu bytes left",
                             (unsigned long long)h.arg, left);
        TRY(parse_map(r, depth, field, off, h.arg));
        break;
    case 6: {
        it.type = SB_CBOR_TAG;
        sb_cbor_item e;
        TRY(parse_item(r, depth + 1, "tag content", &e));
        break;
    }
    default:
        if (h.ai >= 25) {
            it.type = SB_CBOR_FLOAT;
            it.val = 0;
            /* The float's bytes are the head's argument bytes: take them as the content view. */
            body = start;
            TRY(sb_reader_skip(&body, 1, field));
            h.arg = (uint64_t)1 << (h.ai - 24);
        } else {
            it.type = SB_CBOR_SIMPLE;
        }
        break;
    }
    size_t content = 0;
    if (it.type == SB_CBOR_BYTES || it.type == SB_CBOR_TEXT || it.type == SB_CBOR_FLOAT)
        content = (size_t)h.arg;
    else if (it.type == SB_CBOR_ARRAY || it.type == SB_CBOR_MAP || it.type == SB_CBOR_TAG)
        content = r->off - body.off;
    it.data_offset = sb_reader_offset(&body);
    TRY(sb_reader_bytes(&body, content, &it.data, field));
    it.len = content;
    if (it.type == SB_CBOR_BYTES || it.type == SB_CBOR_TEXT) *r = body;
    if (it.type == SB_CBOR_TEXT) {
        size_t bad = utf8_check(it.data, it.len);
        if (bad != it.len)
            return cbor_fail(r, SB_E_MALFORMED, field, it.data_offset + bad,
                             "text string is not valid UTF-8");
    }
    size_t raw_n = r->off - start.off;
    TRY(sb_reader_bytes(&start, raw_n, &it.raw, field));
    it.raw_len = raw_n;
    *out = it;
    return 0;
}

int sb_cbor_read(sb_reader *r, sb_cbor_item *out, const char *field) {
    size_t save = r->off;
    int rc = parse_item(r, 0, field, out);
    if (rc < 0) r->off = save;
    return rc;
}

int sb_cbor_decode(const uint8_t *p, size_t n, const char *what, sb_error *err, sb_cbor_item *out) {
    sb_reader r;
    sb_reader_init(&r, p, n, what, err);
    sb_cbor_item it;
    TRY(sb_cbor_read(&r, &it, "item"));
    TRY(sb_reader_end(&r, "the CBOR item"));
    *out = it;
    return 0;
}

/* ---- walking ------------------------------------------------------------------------------ */

int sb_cbor_iter_init(const sb_cbor_item *c, sb_cbor_iter *it, const char *field) {
    if (c->type != SB_CBOR_ARRAY && c->type != SB_CBOR_MAP)
        return sb_error_set(c->err, SB_E_MALFORMED, "%s: %s (offset 0x%zx): expected %s, got %s",
                            c->what, field, c->offset, "array or map", sb_cbor_type_name(c->type));
    sb_reader_init(&it->r, c->data, c->len, c->what, c->err);
    it->r.base = c->data_offset;
    it->left = c->val;
    it->depth = c->depth + 1;
    it->map = c->type == SB_CBOR_MAP;
    return 0;
}

int sb_cbor_iter_next(sb_cbor_iter *it, sb_cbor_item *elem, sb_cbor_item *val) {
    if (it->left == 0) {
        TRY(sb_reader_end(&it->r, "the last element"));
        return 0;
    }
    sb_cbor_item k, v;
    TRY(parse_item(&it->r, it->depth, it->map ? "map key" : "array element", &k));
    if (it->map) {
        TRY(parse_item(&it->r, it->depth, "map value", &v));
        if (val) *val = v;
    }
    it->left--;
    if (elem) *elem = k;
    return 1;
}

static int map_find(const sb_cbor_item *map, bool (*match)(const sb_cbor_item *, const void *),
                    const void *key, sb_cbor_item *out) {
    sb_cbor_iter it;
    if (map->type != SB_CBOR_MAP)
        return sb_error_set(map->err, SB_E_MALFORMED, "%s: offset 0x%zx: expected a map, got %s",
                            map->what, map->offset, sb_cbor_type_name(map->type));
    TRY(sb_cbor_iter_init(map, &it, "map"));
    sb_cbor_item k, v;
    int rc;
    while ((rc = sb_cbor_iter_next(&it, &k, &v)) > 0) {
        if (match(&k, key)) {
            *out = v;
            return 0;
        }
    }
    return rc < 0 ? rc : SB_E_NOTFOUND;
}

static bool match_text(const sb_cbor_item *k, const void *key) { return sb_cbor_text_eq(k, key); }

static bool match_int(const sb_cbor_item *k, const void *key) {
    int64_t want = *(const int64_t *)key;
    if (want >= 0) return k->type == SB_CBOR_UINT && k->val == (uint64_t)want;
    return k->type == SB_CBOR_NEGINT && k->val == (uint64_t)(-1 - want);
}

int sb_cbor_map_get_text(const sb_cbor_item *map, const char *key, sb_cbor_item *out) {
    int rc = map_find(map, match_text, key, out);
    if (rc == SB_E_NOTFOUND)
        return sb_error_set(map->err, SB_E_NOTFOUND, "%s: map at offset 0x%zx has no key \"%s\"",
                            map->what, map->offset, key);
    return rc;
}

int sb_cbor_map_get_int(const sb_cbor_item *map, int64_t key, sb_cbor_item *out) {
    int rc = map_find(map, match_int, &key, out);
    if (rc == SB_E_NOTFOUND)
        return sb_error_set(map->err, SB_E_NOTFOUND, "%s: map at offset 0x%zx has no key %lld",
                            map->what, map->offset, (long long)key);
    return rc;
}

int sb_cbor_array_get(const sb_cbor_item *arr, size_t idx, sb_cbor_item *out) {
    if (arr->type != SB_CBOR_ARRAY)
        return sb_error_set(arr->err, SB_E_MALFORMED, "%s: offset 0x%zx: expected an array, got %s",
                            arr->what, arr->offset, sb_cbor_type_name(arr->type));
    if (idx >= arr->val)
        return sb_error_set(arr->err, SB_E_NOTFOUND,
                            "%s: array at offset 0x%zx has %llu elements, no index %zu", arr->what,
                            arr->offset, (unsigned long long)arr->val, idx);
    sb_cbor_iter it;
    TRY(sb_cbor_iter_init(arr, &it, "array"));
    sb_cbor_item e;
    for (size_t i = 0; i <= idx; i++) {
        int rc = sb_cbor_iter_next(&it, &e, NULL);
        if (rc <= 0) return rc < 0 ? rc : SB_E_INTERNAL;
    }
    *out = e;
    return 0;
}

/* ---- typed accessors ---------------------------------------------------------------------- */

static int want_type(const sb_cbor_item *it, enum sb_cbor_type t, const char *field) {
    if (it->type != t)
        return sb_error_set(it->err, SB_E_MALFORMED, "%s: %s (offset 0x%zx): expected %s, got %s",
                            it->what, field, it->offset, sb_cbor_type_name(t),
                            sb_cbor_type_name(it->type));
    return 0;
}

int sb_cbor_get_uint(const sb_cbor_item *it, uint64_t *out, const char *field) {
    TRY(want_type(it, SB_CBOR_UINT, field));
    *out = it->val;
    return 0;
}

int sb_cbor_get_int(const sb_cbor_item *it, int64_t *out, const char *field) {
    if (it->type != SB_CBOR_UINT && it->type != SB_CBOR_NEGINT)
        return want_type(it, SB_CBOR_UINT, field);
    if (it->val > (uint64_t)INT64_MAX)
        return sb_error_set(it->err, SB_E_MALFORMED,
                            "%s: %s (offset 0x%zx): integer does not fit in 64 signed bits",
                            it->what, field, it->offset);
    *out = it->type == SB_CBOR_UINT ? (int64_t)it->val : -1 - (int64_t)it->val;
    return 0;
}

int sb_cbor_get_bytes(const sb_cbor_item *it, const uint8_t **p, size_t *n, const char *field) {
    TRY(want_type(it, SB_CBOR_BYTES, field));
    *p = it->data;
    *n = it->len;
    return 0;
}

int sb_cbor_get_text(const sb_cbor_item *it, const char **p, size_t *n, const char *field) {
    TRY(want_type(it, SB_CBOR_TEXT, field));
    *p = (const char *)it->data;
    *n = it->len;
    return 0;
}

int sb_cbor_get_bool(const sb_cbor_item *it, bool *out, const char *field) {
    if (it->type != SB_CBOR_SIMPLE || (it->val != 20 && it->val != 21))
        return sb_error_set(it->err, SB_E_MALFORMED,
                            "%s: %s (offset 0x%zx): expected true or false, got %s", it->what,
                            field, it->offset, sb_cbor_type_name(it->type));
    *out = it->val == 21;
    return 0;
}

static double half_to_double(uint16_t h) {
    int exp = (h >> 10) & 0x1f;
    int mant = h & 0x3ff;
    double v;
    if (exp == 0)
        v = ldexp(mant, -24);
    else if (exp != 31)
        v = ldexp(mant + 1024, exp - 25);
    else
        v = mant == 0 ? INFINITY : NAN;
    return (h & 0x8000) ? -v : v;
}

int sb_cbor_get_double(const sb_cbor_item *it, double *out, const char *field) {
    TRY(want_type(it, SB_CBOR_FLOAT, field));
    sb_reader r;
    sb_reader_init(&r, it->data, it->len, it->what, it->err);
    if (it->len == 2) {
        uint16_t h;
        TRY(sb_reader_u16be(&r, &h, field));
        *out = half_to_double(h);
    } else if (it->len == 4) {
        union {
            uint32_t u;
            float f;
        } x;
        TRY(sb_reader_u32be(&r, &x.u, field));
        *out = (double)x.f;
    } else {
        union {
            uint64_t u;
            double d;
        } x;
        TRY(sb_reader_u64be(&r, &x.u, field));
        *out = x.d;
    }
    return 0;
}

bool sb_cbor_is_null(const sb_cbor_item *it) { return it->type == SB_CBOR_SIMPLE && it->val == 22; }

bool sb_cbor_text_eq(const sb_cbor_item *it, const char *s) {
    size_t n = strlen(s);
    return it->type == SB_CBOR_TEXT && it->len == n && memcmp(it->data, s, n) == 0;
}

int sb_cbor_untag(const sb_cbor_item *it, uint64_t tag, sb_cbor_item *out, const char *field) {
    if (it->type != SB_CBOR_TAG || it->val != tag)
        return sb_error_set(it->err, SB_E_MALFORMED,
                            "%s: %s (offset 0x%zx): expected tag %llu, got %s", it->what, field,
                            it->offset, (unsigned long long)tag, sb_cbor_type_name(it->type));
    sb_reader r;
    sb_reader_init(&r, it->data, it->len, it->what, it->err);
    r.base = it->data_offset;
    sb_cbor_item e;
    TRY(parse_item(&r, it->depth + 1, field, &e));
    TRY(sb_reader_end(&r, field));
    *out = e;
    return 0;
}

/* ---- encoding ------------------------------------------------------------------------------ */

int sb_cbor_put_head(sb_writer *w, unsigned major, uint64_t arg) {
    uint8_t ib = (uint8_t)((major & 7) << 5);
    if (arg < 24) {
        (void)sb_writer_u8(w, (uint8_t)(ib | arg));
    } else if (arg <= 0xff) {
        (void)sb_writer_u8(w, ib | 24);
        (void)sb_writer_u8(w, (uint8_t)arg);
    } else if (arg <= 0xffff) {
        (void)sb_writer_u8(w, ib | 25);
        (void)sb_writer_u16be(w, (uint16_t)arg);
    } else if (arg <= 0xffffffffu) {
        (void)sb_writer_u8(w, ib | 26);
        (void)sb_writer_u32be(w, (uint32_t)arg);
    } else {
        (void)sb_writer_u8(w, ib | 27);
        (void)sb_writer_u64be(w, arg);
    }
    return sb_writer_status(w);
}

int sb_cbor_put_uint(sb_writer *w, uint64_t v) { return sb_cbor_put_head(w, 0, v); }

int sb_cbor_put_int(sb_writer *w, int64_t v) {
    if (v >= 0) return sb_cbor_put_head(w, 0, (uint64_t)v);
    return sb_cbor_put_head(w, 1, (uint64_t)(-1 - v));
}

int sb_cbor_put_bytes(sb_writer *w, const void *p, size_t n) {
    (void)sb_cbor_put_head(w, 2, n);
    (void)sb_writer_bytes(w, p, n);
    return sb_writer_status(w);
}

int sb_cbor_put_text(sb_writer *w, const char *s) {
    size_t n = strlen(s);
    (void)sb_cbor_put_head(w, 3, n);
    (void)sb_writer_bytes(w, s, n);
    return sb_writer_status(w);
}

int sb_cbor_put_array(sb_writer *w, uint64_t count) { return sb_cbor_put_head(w, 4, count); }
int sb_cbor_put_map(sb_writer *w, uint64_t pairs) { return sb_cbor_put_head(w, 5, pairs); }
int sb_cbor_put_tag(sb_writer *w, uint64_t tag) { return sb_cbor_put_head(w, 6, tag); }
int sb_cbor_put_simple(sb_writer *w, uint8_t v) {
    if (v < 24) return sb_cbor_put_head(w, 7, v);
    (void)sb_writer_u8(w, 0xf8);
    (void)sb_writer_u8(w, v);
    return sb_writer_status(w);
}
