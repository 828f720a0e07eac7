/* encoding: hex and base64/base64url, strict decoders that say which character was wrong. */
#include <string.h>

#include "util.h"

static const char HEX[] = "0123456789abcdef";

void sb_hex_encode(const uint8_t *p, size_t n, char *out) {
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = HEX[p[i] >> 4];
        out[2 * i + 1] = HEX[p[i] & 15];
    }
    out[2 * n] = '\0';
}

char *sb_hex_dup(const uint8_t *p, size_t n) {
    size_t sz;
    if (sb_mul_overflow_size(n, 2, &sz) || sb_add_overflow_size(sz, 1, &sz)) return NULL;
    char *s = malloc(sz);
    if (s) sb_hex_encode(p, n, s);
    return s;
}

static int hexval(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

int sb_hex_decode(const char *s, size_t slen, uint8_t **out, size_t *outlen, sb_error *err) {
    if (slen % 2) BAIL(err, SB_E_MALFORMED, "hex: odd number of digits (%zu)", slen);
    uint8_t *b = malloc(slen / 2 + 1);
    if (!b) BAIL(err, SB_E_INTERNAL, "hex: out of memory");
    for (size_t i = 0; i < slen; i += 2) {
        int hi = hexval(s[i]), lo = hexval(s[i + 1]);
        if (hi < 0 || lo < 0) {
            free(b);
            BAIL(err, SB_E_MALFORMED, "hex: invalid digit at position %zu", hi < 0 ? i : i + 1);
        }
        b[i / 2] = (uint8_t)(hi << 4 | lo);
    }
    *out = b;
    *outlen = slen / 2;
    return 0;
}

static const char B64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
static const char B64URL[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

static char *b64enc(const uint8_t *p, size_t n, const char *alpha, bool pad) {
    size_t groups = n / 3 + (n % 3 != 0), sz;
    if (sb_mul_overflow_size(groups, 4, &sz) || sb_add_overflow_size(sz, 1, &sz)) return NULL;
    char *o = malloc(sz);
    if (!o) return NULL;
    size_t j = 0;
    for (size_t i = 0; i < n; i += 3) {
        uint32_t v = (uint32_t)p[i] << 16;
        size_t rem = n - i;
        if (rem > 1) v |= (uint32_t)p[i + 1] << 8;
        if (rem > 2) v |= p[i + 2];
        o[j++] = alpha[v >> 18 & 63];
        o[j++] = alpha[v >> 12 & 63];
        if (rem > 1)
            o[j++] = alpha[v >> 6 & 63];
        else if (pad)
            o[j++] = '=';
        if (rem > 2)
            o[j++] = alpha[v & 63];
        else if (pad)
            o[j++] = '=';
    }
    o[j] = '\0';
    return o;
}

char *sb_base64_encode(const uint8_t *p, size_t n) { return b64enc(p, n, B64, true); }
char *sb_base64url_encode(const uint8_t *p, size_t n) { return b64enc(p, n, B64URL, false); }

/* The value of one alphabet character, or -1 (arithmetic, not a search per character). */
static int b64val(char c, const char *alpha) {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == alpha[62]) return 62;
    if (c == alpha[63]) return 63;
    return -1;
}

static int b64dec(const char *s, size_t slen, const char *alpha, bool skip_ws, uint8_t **out,
                  size_t *outlen, sb_error *err, const char *name) {
    uint8_t *b = malloc(slen / 4 * 3 + 3);
    if (!b) BAIL(err, SB_E_INTERNAL, "%s: out of memory", name);
    uint32_t acc = 0;
    size_t nbits = 0, o = 0, npad = 0;
    for (size_t i = 0; i < slen; i++) {
        char c = s[i];
        if (skip_ws && (c == ' ' || c == '\n' || c == '\r' || c == '\t')) continue;
        if (c == '=') {
            npad++;
            continue;
        }
        int v = b64val(c, alpha);
        if (v < 0 || npad) {
            free(b);
            BAIL(err, SB_E_MALFORMED, "%s: invalid character 0x%02x at position %zu", name,
                 (unsigned char)c, i);
        }
        acc = (acc << 6) | (uint32_t)v;
        nbits += 6;
        if (nbits >= 8) {
            nbits -= 8;
            b[o++] = (uint8_t)(acc >> nbits);
            acc &= (1u << nbits) - 1;
        }
    }
    /* 6 leftover bits can never form a byte; leftover bits must be zero (canonical form). */
    if (nbits >= 6 || acc != 0 || npad > 2) {
        free(b);
        BAIL(err, SB_E_MALFORMED, "%s: invalid length or non-canonical trailing bits", name);
    }
    *out = b;
    *outlen = o;
    return 0;
}

int sb_base64_decode(const char *s, size_t slen, bool skip_ws, uint8_t **out, size_t *outlen,
                     sb_error *err) {
    return b64dec(s, slen, B64, skip_ws, out, outlen, err, "base64");
}

int sb_base64url_decode(const char *s, size_t slen, uint8_t **out, size_t *outlen, sb_error *err) {
    return b64dec(s, slen, B64URL, false, out, outlen, err, "base64url");
}
