/* sse: an incremental decoder of text/event-stream (the HTML Living Standard's "server-sent
 * events" parsing), for the responses of remote Streamable HTTP servers — untrusted bytes read
 * only through sb_reader, every buffer bounded. Lines end with CRLF, LF or CR (a CRLF split
 * across two pushes counts once); "data" lines accumulate, a blank line dispatches. */
#include <string.h>

#include "gateway.h"

void sb_gw_sse_init(sb_gw_sse *s, size_t max_data) {
    memset(s, 0, sizeof(*s));
    s->max_data = max_data ? max_data : SB_GW_SSE_DATA_MAX;
    if (s->max_data > SB_GW_SSE_DATA_MAX) s->max_data = SB_GW_SSE_DATA_MAX;
    sb_writer_init(&s->line, s->max_data + SB_GW_SSE_FIELD_MAX);
    sb_writer_init(&s->data, s->max_data);
}

void sb_gw_sse_free(sb_gw_sse *s) {
    sb_writer_free(&s->line);
    sb_writer_free(&s->data);
}

/* One complete line (without its end). */
static int sse_line(sb_gw_sse *s, sb_gw_sse_fn fn, void *ctx, sb_error *err) {
    size_t n = s->line.len;
    if (n == 0) {
        /* dispatch: an event without data is none (a priming event only sets the id) */
        int rc = 0;
        if (s->has_data) {
            const uint8_t *d = s->data.buf;
            size_t dl = s->data.len;
            if (dl > 0) dl--; /* the last data line's LF */
            rc = fn(ctx, s->event[0] ? s->event : "message", d ? d : (const uint8_t *)"", dl,
                    s->last_id);
            s->events++;
        }
        s->data.len = 0;
        s->has_data = false;
        s->event[0] = 0;
        return rc;
    }
    sb_reader r;
    sb_reader_init(&r, s->line.buf, n, "sse", err);
    uint8_t c = 0;
    TRY(sb_reader_u8(&r, &c, "line"));
    if (c == ':') return 0; /* a comment (keep-alives) */
    /* the field name runs to the first ':'; one space after it is dropped */
    size_t name_len = 1;
    bool colon = false;
    while (sb_reader_remaining(&r) > 0) {
        TRY(sb_reader_u8(&r, &c, "field"));
        if (c == ':') {
            colon = true;
            break;
        }
        name_len++;
    }
    if (colon && sb_reader_remaining(&r) > 0) {
        const uint8_t *sp = NULL;
        TRY(sb_reader_bytes(&r, 1, &sp, "value"));
        if (sp[0] != ' ') {
            sb_reader_init(&r, s->line.buf, n, "sse", err);
            TRY(sb_reader_skip(&r, name_len + 1, "field"));
        }
    }
    size_t vlen = sb_reader_remaining(&r);
    const uint8_t *v = NULL;
    TRY(sb_reader_bytes(&r, vlen, &v, "value"));
    const uint8_t *name = s->line.buf;
    if (name_len == 4 && memcmp(name, "data", 4) == 0) {
        if (s->data.len + vlen + 1 > s->max_data)
            BAIL(err, SB_E_LIMIT, "sse: event data at byte %llu: over %zu bytes",
                 (unsigned long long)s->offset, s->max_data);
        (void)sb_writer_bytes(&s->data, v, vlen);
        (void)sb_writer_u8(&s->data, '\n');
        if (sb_writer_status(&s->data) < 0) BAIL(err, SB_E_INTERNAL, "sse: out of memory");
        s->has_data = true;
    } else if (name_len == 5 && memcmp(name, "event", 5) == 0) {
        if (vlen > SB_GW_SSE_FIELD_MAX)
            BAIL(err, SB_E_LIMIT, "sse: event name at byte %llu: over %d bytes",
                 (unsigned long long)s->offset, SB_GW_SSE_FIELD_MAX);
        memcpy(s->event, v, vlen);
        s->event[vlen] = 0;
        if (strlen(s->event) != vlen) s->event[0] = 0; /* a NUL inside: not a name we know */
    } else if (name_len == 2 && memcmp(name, "id", 2) == 0) {
        /* an id with a NUL is ignored, as the standard says */
        if (memchr(v, 0, vlen) == NULL) {
            if (vlen > SB_GW_SSE_FIELD_MAX)
                BAIL(err, SB_E_LIMIT, "sse: id at byte %llu: over %d bytes",
                     (unsigned long long)s->offset, SB_GW_SSE_FIELD_MAX);
            memcpy(s->last_id, v, vlen);
            s->last_id[vlen] = 0;
        }
    } else if (name_len == 5 && memcmp(name, "retry", 5) == 0) {
        uint64_t ms = 0;
        bool digits = vlen > 0;
        for (size_t i = 0; i < vlen && digits; i++) {
            if (v[i] < '0' || v[i] > '9' || ms > 86400000ull)
                digits = false;
            else
                ms = ms * 10 + (uint64_t)(v[i] - '0');
        }
        if (digits) s->retry_ms = ms;
    }
    /* any other field is ignored */
    return 0;
}

int sb_gw_sse_push(sb_gw_sse *s, const uint8_t *p, size_t n, sb_gw_sse_fn fn, void *ctx,
                   sb_error *err) {
    sb_reader r;
    sb_reader_init(&r, p, n, "sse", err);
    while (sb_reader_remaining(&r) > 0) {
        /* the run of bytes up to the next line end is appended at once */
        size_t at = sb_reader_offset(&r), k = 0, rem = sb_reader_remaining(&r);
        while (k < rem && p[at + k] != '\n' && p[at + k] != '\r')
            k++;
        if (k > 0) {
            s->cr = false;
            if (s->line.len + k > s->line.max)
                BAIL(err, SB_E_LIMIT, "sse: line at byte %llu: over %zu bytes",
                     (unsigned long long)(s->offset + s->line.max - s->line.len + 1), s->line.max);
            const uint8_t *run = NULL;
            TRY(sb_reader_bytes(&r, k, &run, "line"));
            (void)sb_writer_bytes(&s->line, run, k);
            if (sb_writer_status(&s->line) < 0) BAIL(err, SB_E_INTERNAL, "sse: out of memory");
            s->offset += k;
            continue;
        }
        uint8_t c = 0;
        TRY(sb_reader_u8(&r, &c, "line end"));
        s->offset++;
        bool after_cr = s->cr;
        s->cr = c == '\r';
        if (c == '\n' && after_cr) continue; /* the LF of a CRLF */
        int rc = sse_line(s, fn, ctx, err);
        s->line.len = 0;
        if (rc != 0) return rc;
    }
    return 0;
}
