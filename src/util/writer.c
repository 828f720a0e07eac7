/* writer: a growable output buffer with a hard limit; the first failure latches. */
#include <stdio.h>
#include <string.h>

#include "util.h"

void sb_writer_init(sb_writer *w, size_t max) {
    w->buf = NULL;
    w->len = w->cap = 0;
    w->max = max;
    w->status = 0;
}

void sb_writer_free(sb_writer *w) {
    free(w->buf);
    sb_writer_init(w, w->max);
}

int sb_writer_status(const sb_writer *w) { return w->status; }

static int reserve(sb_writer *w, size_t n) {
    if (w->status) return w->status;
    size_t want;
    /* +1 keeps room for the NUL that sb_writer_steal promises. */
    if (sb_add_overflow_size(w->len, n, &want) || want > w->max || want == SIZE_MAX)
        return w->status = SB_E_LIMIT;
    if (want + 1 <= w->cap) return 0;
    size_t cap = w->cap ? w->cap : 64;
    while (cap < want + 1) {
        if (cap > SIZE_MAX / 2) return w->status = SB_E_LIMIT;
        cap *= 2;
    }
    uint8_t *nb = realloc(w->buf, cap);
    if (!nb) return w->status = SB_E_INTERNAL;
    w->buf = nb;
    w->cap = cap;
    return 0;
}

int sb_writer_bytes(sb_writer *w, const void *p, size_t n) {
    TRY(reserve(w, n));
    if (n) memcpy(w->buf + w->len, p, n);
    w->len += n;
    w->buf[w->len] = 0;
    return 0;
}

static int put_uint(sb_writer *w, uint64_t v, size_t n, bool big) {
    uint8_t b[8];
    for (size_t i = 0; i < n; i++) {
        size_t shift = 8 * (big ? n - 1 - i : i);
        b[i] = (uint8_t)(v >> shift);
    }
    return sb_writer_bytes(w, b, n);
}

int sb_writer_u8(sb_writer *w, uint8_t v) { return put_uint(w, v, 1, false); }
int sb_writer_u16le(sb_writer *w, uint16_t v) { return put_uint(w, v, 2, false); }
int sb_writer_u32le(sb_writer *w, uint32_t v) { return put_uint(w, v, 4, false); }
int sb_writer_u64le(sb_writer *w, uint64_t v) { return put_uint(w, v, 8, false); }
int sb_writer_u16be(sb_writer *w, uint16_t v) { return put_uint(w, v, 2, true); }
int sb_writer_u32be(sb_writer *w, uint32_t v) { return put_uint(w, v, 4, true); }
int sb_writer_u64be(sb_writer *w, uint64_t v) { return put_uint(w, v, 8, true); }
int sb_writer_str(sb_writer *w, const char *s) { return sb_writer_bytes(w, s, strlen(s)); }

int sb_writer_printf(sb_writer *w, const char *fmt, ...) {
    va_list ap, ap2;
    va_start(ap, fmt);
    va_copy(ap2, ap);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0) {
        va_end(ap2);
        return w->status = SB_E_INTERNAL;
    }
    int rc = reserve(w, (size_t)n);
    if (rc < 0) {
        va_end(ap2);
        return rc;
    }
    (void)vsnprintf((char *)w->buf + w->len, (size_t)n + 1, fmt, ap2);
    va_end(ap2);
    w->len += (size_t)n;
    return 0;
}

uint8_t *sb_writer_steal(sb_writer *w, size_t *len) {
    if (w->status) return NULL;
    if (!w->buf && reserve(w, 0) < 0) return NULL;
    if (!w->buf) {
        w->buf = calloc(1, 1);
        if (!w->buf) return NULL;
    }
    uint8_t *b = w->buf;
    if (len) *len = w->len;
    w->buf = NULL;
    w->len = w->cap = 0;
    return b;
}
