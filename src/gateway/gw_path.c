/* gw_path: lexical canonicalization of path arguments for path_prefix rules, refusing every
 * spelling that a server could read differently from the gateway (NUL, %XX, "~", "\"). */
#include <string.h>

#include "gateway/gateway.h"

#define NAME_MAX_BYTES 255

static bool is_hex(uint8_t c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

/* Splits r into components and applies them to out (a canonical absolute path of olen bytes,
 * "/" when empty); starts[] remembers where each kept component begins, for "..". */
static int apply_components(sb_reader *r, char *out, size_t out_len, size_t *olen, size_t *starts,
                            size_t *depth, sb_error *err) {
    char comp[NAME_MAX_BYTES + 1];
    size_t clen = 0;
    for (;;) {
        uint8_t c = '/';
        bool at_end = sb_reader_remaining(r) == 0;
        if (!at_end && sb_reader_u8(r, &c, "path") < 0) return SB_E_INTERNAL;
        if (!at_end && c != '/') {
            if (clen == NAME_MAX_BYTES)
                BAIL(err, SB_E_POLICY, "path component over %d bytes at offset %zu", NAME_MAX_BYTES,
                     sb_reader_offset(r) - 1);
            comp[clen++] = (char)c;
            continue;
        }
        comp[clen] = '\0';
        if (clen == 0 || (clen == 1 && comp[0] == '.')) {
            /* empty ("//", trailing "/") and "." components name the same directory */
        } else if (clen == 2 && comp[0] == '.' && comp[1] == '.') {
            if (*depth > 0) {
                (*depth)--;
                *olen = starts[*depth];
                out[*olen] = '\0';
            }
        } else {
            if (*depth >= SB_GW_PATH_MAX_SEGMENTS)
                BAIL(err, SB_E_POLICY, "path has over %d components", SB_GW_PATH_MAX_SEGMENTS);
            size_t need = *olen + 1 + clen + 1;
            if (need > out_len || need > SB_GW_PATH_MAX + 1)
                BAIL(err, SB_E_POLICY, "canonical path over %d bytes", SB_GW_PATH_MAX);
            starts[(*depth)++] = *olen;
            out[(*olen)++] = '/';
            memcpy(out + *olen, comp, clen);
            *olen += clen;
            out[*olen] = '\0';
        }
        clen = 0;
        if (at_end) return 0;
    }
}

/* Refuses bytes and spellings a server may interpret differently from a lexical reading. */
static int check_bytes(const char *path, size_t len, sb_error *err) {
    sb_reader r;
    sb_reader_init(&r, path, len, "path", err);
    uint8_t prev2 = 0, prev1 = 0;
    size_t pct_at = 0;
    bool pct = false;
    while (sb_reader_remaining(&r) > 0) {
        uint8_t c;
        size_t off = sb_reader_offset(&r);
        TRY(sb_reader_u8(&r, &c, "path"));
        if (c == 0) BAIL(err, SB_E_POLICY, "NUL byte at offset %zu", off);
        if (c < 0x20 || c == 0x7f)
            BAIL(err, SB_E_POLICY, "control byte 0x%02x at offset %zu", c, off);
        if (c == '\\')
            BAIL(err, SB_E_POLICY, "backslash at offset %zu (ambiguous path separator)", off);
        if (prev2 == '%' && is_hex(prev1) && is_hex(c)) {
            pct = true;
            pct_at = off - 2;
            break;
        }
        prev2 = prev1;
        prev1 = c;
    }
    if (pct) BAIL(err, SB_E_POLICY, "percent-encoded byte at offset %zu", pct_at);
    return 0;
}

int sb_gw_path_canon(const char *path, size_t len, const char *base, char *out, size_t out_len,
                     sb_error *err) {
    if (!path || !out || out_len < 2) BAIL(err, SB_E_USAGE, "path: no input or output");
    if (len == 0) BAIL(err, SB_E_POLICY, "empty path");
    if (len > SB_GW_PATH_MAX) BAIL(err, SB_E_POLICY, "path over %d bytes", SB_GW_PATH_MAX);
    TRY(check_bytes(path, len, err));
    if (path[0] == '~') BAIL(err, SB_E_POLICY, "path starts with \"~\" (home expansion)");

    char buf[SB_GW_PATH_MAX + 1];
    size_t starts[SB_GW_PATH_MAX_SEGMENTS];
    size_t olen = 0, depth = 0;
    buf[0] = '\0';
    sb_reader r;
    if (path[0] != '/') {
        if (!base) BAIL(err, SB_E_POLICY, "relative path (no base directory configured)");
        size_t blen = strlen(base);
        if (blen == 0 || base[0] != '/') BAIL(err, SB_E_USAGE, "path base is not absolute");
        TRY(check_bytes(base, blen, err));
        sb_reader_init(&r, base, blen, "path base", err);
        TRY(apply_components(&r, buf, sizeof(buf), &olen, starts, &depth, err));
    }
    sb_reader_init(&r, path, len, "path", err);
    TRY(apply_components(&r, buf, sizeof(buf), &olen, starts, &depth, err));
    if (olen == 0) {
        buf[0] = '/';
        buf[1] = '\0';
        olen = 1;
    }
    if (olen + 1 > out_len) BAIL(err, SB_E_LIMIT, "path: output buffer too small");
    memcpy(out, buf, olen + 1);
    return 0;
}

bool sb_gw_path_under(const char *canon_path, const char *canon_prefix) {
    if (!canon_path || !canon_prefix) return false;
    size_t pl = strlen(canon_prefix);
    if (pl == 1 && canon_prefix[0] == '/') return canon_path[0] == '/';
    if (strncmp(canon_path, canon_prefix, pl) != 0) return false;
    return canon_path[pl] == '\0' || canon_path[pl] == '/';
}
