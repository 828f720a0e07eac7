/* reader: the single bounds-checked cursor over untrusted bytes. Every check has the form
 * `n > len - off`, which cannot overflow because off <= len always holds. */
#include <string.h>

#include "util.h"

void sb_reader_init(sb_reader *r, const void *p, size_t len, const char *what, sb_error *err) {
    r->p = p;
    r->len = p ? len : 0;
    r->off = 0;
    r->base = 0;
    r->what = what ? what : "input";
    r->err = err;
}

size_t sb_reader_remaining(const sb_reader *r) { return r->len - r->off; }
size_t sb_reader_offset(const sb_reader *r) { return r->base + r->off; }
const uint8_t *sb_reader_start(const sb_reader *r) { return r->p; }

size_t sb_reader_span_to(const sb_reader *r, uint8_t a, uint8_t b) {
    size_t n = r->len - r->off;
    if (n == 0) return 0;
    const uint8_t *p = r->p + r->off;
    const uint8_t *x = memchr(p, a, n);
    size_t k = x ? (size_t)(x - p) : n;
    const uint8_t *y = k ? memchr(p, b, k) : NULL;
    return y ? (size_t)(y - p) : k;
}

static int need(sb_reader *r, size_t n, const char *field) {
    if (n > r->len - r->off)
        return sb_error_set(r->err, SB_E_TRUNCATED,
                            "%s: truncated at %s (offset 0x%zx): need %zu bytes, %zu left", r->what,
                            field, sb_reader_offset(r), n, r->len - r->off);
    return 0;
}

int sb_reader_bytes(sb_reader *r, size_t n, const uint8_t **out, const char *field) {
    TRY(need(r, n, field));
    *out = r->p + r->off;
    r->off += n;
    return 0;
}

int sb_reader_copy(sb_reader *r, void *dst, size_t n, const char *field) {
    const uint8_t *v;
    TRY(sb_reader_bytes(r, n, &v, field));
    uint8_t *d = dst;
    for (size_t i = 0; i < n; i++)
        d[i] = v[i];
    return 0;
}

int sb_reader_skip(sb_reader *r, size_t n, const char *field) {
    const uint8_t *v;
    return sb_reader_bytes(r, n, &v, field);
}

static int read_uint(sb_reader *r, size_t n, bool big, uint64_t *out, const char *field) {
    const uint8_t *v;
    TRY(sb_reader_bytes(r, n, &v, field));
    uint64_t x = 0;
    for (size_t i = 0; i < n; i++) {
        size_t idx = big ? i : n - 1 - i;
        x = (x << 8) | v[idx];
    }
    *out = x;
    return 0;
}

int sb_reader_u8(sb_reader *r, uint8_t *out, const char *field) {
    uint64_t x;
    TRY(read_uint(r, 1, false, &x, field));
    *out = (uint8_t)x;
    return 0;
}
#define SB_READ_INT(name, type, n, big)                    \
    int name(sb_reader *r, type *out, const char *field) { \
        uint64_t x;                                        \
        TRY(read_uint(r, n, big, &x, field));              \
        *out = (type)x;                                    \
        return 0;                                          \
    }
SB_READ_INT(sb_reader_u16le, uint16_t, 2, false)
SB_READ_INT(sb_reader_u32le, uint32_t, 4, false)
SB_READ_INT(sb_reader_u64le, uint64_t, 8, false)
SB_READ_INT(sb_reader_u16be, uint16_t, 2, true)
SB_READ_INT(sb_reader_u32be, uint32_t, 4, true)
SB_READ_INT(sb_reader_u64be, uint64_t, 8, true)

int sb_reader_sub(sb_reader *r, size_t n, sb_reader *sub, const char *field) {
    size_t at = sb_reader_offset(r);
    const uint8_t *v;
    TRY(sb_reader_bytes(r, n, &v, field));
    sb_reader_init(sub, v, n, r->what, r->err);
    sub->base = at;
    return 0;
}

static int sub_prefixed(sb_reader *r, size_t width, bool big, size_t max, sb_reader *sub,
                        const char *field) {
    size_t save = r->off;
    uint64_t n;
    TRY(read_uint(r, width, big, &n, field));
    if (n > max) {
        r->off = save;
        return sb_error_set(r->err, SB_E_LIMIT,
                            "%s: %s length %llu at offset 0x%zx is over the limit of %zu", r->what,
                            field, (unsigned long long)n, sb_reader_offset(r), max);
    }
    int rc = sb_reader_sub(r, (size_t)n, sub, field);
    if (rc < 0) r->off = save;
    return rc;
}

int sb_reader_sub_u8(sb_reader *r, size_t max, sb_reader *sub, const char *field) {
    return sub_prefixed(r, 1, false, max, sub, field);
}
int sb_reader_sub_u16le(sb_reader *r, size_t max, sb_reader *sub, const char *field) {
    return sub_prefixed(r, 2, false, max, sub, field);
}
int sb_reader_sub_u32le(sb_reader *r, size_t max, sb_reader *sub, const char *field) {
    return sub_prefixed(r, 4, false, max, sub, field);
}
int sb_reader_sub_u16be(sb_reader *r, size_t max, sb_reader *sub, const char *field) {
    return sub_prefixed(r, 2, true, max, sub, field);
}
int sb_reader_sub_u32be(sb_reader *r, size_t max, sb_reader *sub, const char *field) {
    return sub_prefixed(r, 4, true, max, sub, field);
}

int sb_reader_end(const sb_reader *r, const char *field) {
    if (r->off != r->len)
        return sb_error_set(r->err, SB_E_MALFORMED,
                            "%s: %zu unexpected trailing bytes after %s (offset 0x%zx)", r->what,
                            r->len - r->off, field, sb_reader_offset(r));
    return 0;
}
