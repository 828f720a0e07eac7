/* error: the project's one error record — a code from enum sb_errcode and a message that
 * names the field that was wrong. */
#include <stdio.h>
#include <string.h>

#include "util.h"

int sb_error_setv(sb_error *err, int code, const char *fmt, va_list ap) {
    if (err) {
        err->code = code;
        (void)vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
    }
    return code;
}

int sb_error_set(sb_error *err, int code, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    int r = sb_error_setv(err, code, fmt, ap);
    va_end(ap);
    return r;
}

int sb_error_prefix(sb_error *err, const char *fmt, ...) {
    if (!err) return SB_E_INTERNAL;
    char pre[SB_ERRMSG_MAX], old[SB_ERRMSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    (void)vsnprintf(pre, sizeof(pre), fmt, ap);
    va_end(ap);
    (void)snprintf(old, sizeof(old), "%s", err->msg);
    /* Truncation is acceptable here: a long message keeps its prefix. */
    sb_writer w;
    sb_writer_init(&w, sizeof(err->msg) - 1);
    (void)sb_writer_str(&w, pre);
    (void)sb_writer_str(&w, ": ");
    (void)sb_writer_str(&w, old);
    size_t n = 0;
    uint8_t *b = sb_writer_steal(&w, &n);
    if (b) {
        memcpy(err->msg, b, n + 1);
        free(b);
    } else {
        sb_writer_free(&w);
        (void)snprintf(err->msg, sizeof(err->msg), "%.200s: %.300s", pre, old);
    }
    return err->code ? err->code : SB_E_INTERNAL;
}

void sb_error_clear(sb_error *err) {
    if (!err) return;
    err->code = 0;
    err->msg[0] = '\0';
}

const char *sb_strerror(int code) {
    switch (code) {
    case SB_OK: return "ok";
    case SB_E_TRUNCATED: return "truncated";
    case SB_E_MALFORMED: return "malformed";
    case SB_E_LIMIT: return "limit exceeded";
    case SB_E_SIGNATURE: return "signature";
    case SB_E_CHAIN: return "certificate chain";
    case SB_E_POLICY: return "policy";
    case SB_E_IO: return "i/o";
    case SB_E_INTERNAL: return "internal";
    case SB_E_USAGE: return "usage";
    case SB_E_UNSUPPORTED: return "unsupported";
    case SB_E_NOTFOUND: return "not found";
    default: return "unknown error";
    }
}
