/* gw_url: the WHATWG URL Standard's parse of a special URL's scheme, userinfo, host and port,
 * in C, for url_host rules — so the gateway reads the host a browser or Node would connect to. */
#include <idn2.h>
#include <stdio.h>
#include <string.h>

#include "gateway/gateway.h"

/* The one bounds check of this file: the byte at i, or -1 past the end. */
static int ch(const char *s, size_t n, size_t i) { return i < n ? (unsigned char)s[i] : -1; }

static bool is_alpha(int c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
static bool is_digit(int c) { return c >= '0' && c <= '9'; }
static int hexval(int c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}
static int lower(int c) { return (c >= 'A' && c <= 'Z') ? c + 32 : c; }

static const struct {
    const char *name;
    uint16_t port;
} SPECIAL[] = {{"http", 80}, {"https", 443}, {"ws", 80}, {"wss", 443}, {"ftp", 21}};

/* WHATWG "forbidden domain code point" (ASCII part; non-ASCII is IDNA's business). */
static bool forbidden_domain(int c) {
    if (c <= 0x20 || c == 0x7f) return true;
    return strchr("#%/:<>?@[\\]^|", c) != NULL;
}

/* ---- IPv6 (URL Standard §3.5 "IPv6 parser") ----------------------------------------------- */

static int ipv6_parse(const char *s, size_t n, uint16_t addr[8]) {
    memset(addr, 0, 8 * sizeof(uint16_t));
    size_t i = 0;
    int piece = 0, compress = -1;
    if (ch(s, n, 0) == ':') {
        if (ch(s, n, 1) != ':') return -1;
        i = 2;
        compress = ++piece;
    }
    while (ch(s, n, i) != -1) {
        if (piece == 8) return -1;
        if (ch(s, n, i) == ':') {
            if (compress != -1) return -1;
            i++;
            compress = ++piece;
            continue;
        }
        unsigned value = 0, length = 0;
        while (length < 4 && hexval(ch(s, n, i)) >= 0) {
            value = value * 16 + (unsigned)hexval(ch(s, n, i));
            i++;
            length++;
        }
        if (ch(s, n, i) == '.') {
            if (length == 0) return -1;
            i -= length;
            if (piece > 6) return -1;
            int seen = 0;
            while (ch(s, n, i) != -1) {
                int v4 = -1;
                if (seen > 0) {
                    if (ch(s, n, i) == '.' && seen < 4)
                        i++;
                    else
                        return -1;
                }
                if (!is_digit(ch(s, n, i))) return -1;
                while (is_digit(ch(s, n, i))) {
                    int d = ch(s, n, i) - '0';
                    if (v4 == -1)
                        v4 = d;
                    else if (v4 == 0)
                        return -1;
                    else
                        v4 = v4 * 10 + d;
                    if (v4 > 255) return -1;
                    i++;
                }
                addr[piece] = (uint16_t)(addr[piece] * 0x100 + v4);
                seen++;
                if (seen == 2 || seen == 4) piece++;
            }
            if (seen != 4) return -1;
            break;
        } else if (ch(s, n, i) == ':') {
            i++;
            if (ch(s, n, i) == -1) return -1;
        } else if (ch(s, n, i) != -1) {
            return -1;
        }
        addr[piece++] = (uint16_t)value;
    }
    if (compress != -1) {
        int swaps = piece - compress;
        piece = 7;
        while (piece != 0 && swaps > 0) {
            uint16_t t = addr[piece];
            addr[piece] = addr[compress + swaps - 1];
            addr[compress + swaps - 1] = t;
            piece--;
            swaps--;
        }
    } else if (piece != 8) {
        return -1;
    }
    return 0;
}

/* "[" RFC 5952 text "]": the longest run (first on ties) of two or more zero pieces is "::". */
static void ipv6_serialize(const uint16_t a[8], char *out, size_t out_len) {
    int best = -1, best_len = 1;
    for (int i = 0; i < 8;) {
        if (a[i] != 0) {
            i++;
            continue;
        }
        int j = i;
        while (j < 8 && a[j] == 0)
            j++;
        if (j - i > best_len) {
            best = i;
            best_len = j - i;
        }
        i = j;
    }
    size_t o = 0;
    int k = snprintf(out, out_len, "[");
    o = (size_t)k;
    bool ignore0 = false;
    for (int i = 0; i < 8 && o < out_len; i++) {
        if (ignore0 && a[i] == 0) continue;
        ignore0 = false;
        if (i == best) {
            k = snprintf(out + o, out_len - o, i == 0 ? "::" : ":");
            o += (size_t)k;
            ignore0 = true;
            continue;
        }
        k = snprintf(out + o, out_len - o, "%x%s", a[i], i == 7 ? "" : ":");
        o += (size_t)k;
    }
    if (o < out_len) snprintf(out + o, out_len - o, "]");
}

/* ---- IPv4 (URL Standard §3.5 "IPv4 parser", "ends in a number") ---------------------------- */

/* One part: "0x" hex, leading-"0" octal, else decimal; empty after the prefix is 0. */
static int ipv4_number(const char *s, size_t n, uint64_t *out) {
    if (n == 0) return -1;
    unsigned radix = 10;
    size_t i = 0;
    if (n >= 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
        radix = 16;
        i = 2;
    } else if (n >= 2 && s[0] == '0') {
        radix = 8;
        i = 1;
    }
    uint64_t v = 0;
    for (; i < n; i++) {
        int d = hexval(ch(s, n, i));
        if (d < 0 || (unsigned)d >= radix) return -1;
        v = v * radix + (unsigned)d;
        if (v > 0xffffffffull) v = 0x100000000ull; /* saturate: any such part fails below */
    }
    *out = v;
    return 0;
}

static bool ends_in_number(const char *s, size_t n) {
    /* last label, ignoring one trailing dot */
    if (n > 0 && s[n - 1] == '.') {
        if (n == 1) return false;
        n--;
    }
    size_t start = n;
    while (start > 0 && s[start - 1] != '.')
        start--;
    const char *last = s + start;
    size_t ln = n - start;
    if (ln == 0) return false;
    bool digits = true;
    for (size_t i = 0; i < ln; i++)
        if (!is_digit(ch(last, ln, i))) digits = false;
    if (digits) return true;
    uint64_t v;
    return ln >= 2 && last[0] == '0' && (last[1] == 'x' || last[1] == 'X') &&
           ipv4_number(last, ln, &v) == 0;
}

static int ipv4_parse(const char *s, size_t n, uint32_t *out, sb_error *err) {
    uint64_t parts[4];
    size_t np = 0, start = 0;
    if (n > 0 && s[n - 1] == '.') n--; /* one trailing dot is allowed */
    for (size_t i = 0; i <= n; i++) {
        if (i < n && s[i] != '.') continue;
        if (np == 4) BAIL(err, SB_E_POLICY, "IPv4 host has more than 4 parts");
        if (ipv4_number(s + start, i - start, &parts[np]) < 0)
            BAIL(err, SB_E_POLICY, "IPv4 host part %zu is not a number", np + 1);
        np++;
        start = i + 1;
    }
    for (size_t i = 0; i + 1 < np; i++)
        if (parts[i] > 255) BAIL(err, SB_E_POLICY, "IPv4 host part %zu over 255", i + 1);
    uint64_t limit = 1ull << (8 * (5 - np));
    if (parts[np - 1] >= limit) BAIL(err, SB_E_POLICY, "IPv4 host last part out of range");
    uint64_t v = parts[np - 1];
    for (size_t i = 0; i + 1 < np; i++)
        v += parts[i] << (8 * (3 - i));
    *out = (uint32_t)v;
    return 0;
}

/* ---- hosts ------------------------------------------------------------------------------- */

/* The host parser for special URLs over already percent-decoded bytes. */
static int host_parse(const char *h, size_t n, char *out, size_t out_len,
                      enum sb_gw_host_kind *kind, bool *trailing_dot, sb_error *err) {
    *trailing_dot = false;
    if (n == 0) BAIL(err, SB_E_POLICY, "empty host");
    if (h[0] == '[') {
        if (h[n - 1] != ']') BAIL(err, SB_E_POLICY, "IPv6 host without closing \"]\"");
        uint16_t a[8];
        if (ipv6_parse(h + 1, n - 2, a) < 0) BAIL(err, SB_E_POLICY, "invalid IPv6 host");
        ipv6_serialize(a, out, out_len);
        *kind = SB_GW_HOST_IPV6;
        return 0;
    }
    bool ascii = true;
    for (size_t i = 0; i < n; i++) {
        int c = ch(h, n, i);
        if (c == 0) BAIL(err, SB_E_POLICY, "NUL byte in host");
        if (c >= 0x80) ascii = false;
    }
    char dom[SB_GW_HOST_MAX * 4 + 8];
    size_t dl = 0;
    bool punycode_label = false;
    if (ascii) {
        if (n >= sizeof(dom)) BAIL(err, SB_E_POLICY, "host over %d bytes", SB_GW_HOST_MAX);
        for (size_t i = 0; i < n; i++)
            dom[dl++] = (char)lower(ch(h, n, i));
        dom[dl] = '\0';
        for (size_t i = 0; i + 4 <= dl; i++)
            if ((i == 0 || dom[i - 1] == '.') && strncmp(dom + i, "xn--", 4) == 0)
                punycode_label = true;
    }
    if (!ascii || punycode_label) {
        /* UTS 46 non-transitional, as the URL Standard's "domain to ASCII" */
        char in[SB_GW_HOST_MAX * 4 + 8];
        if (n >= sizeof(in)) BAIL(err, SB_E_POLICY, "host over %zu bytes", sizeof(in) - 1);
        memcpy(in, h, n);
        in[n] = '\0';
        char *a = NULL;
        int rc = idn2_to_ascii_8z(in, &a, IDN2_NONTRANSITIONAL | IDN2_NFC_INPUT);
        if (rc != IDN2_OK) {
            BAIL(err, SB_E_POLICY, "host is not a valid internationalized domain name (%s)",
                 idn2_strerror(rc));
        }
        size_t al = strlen(a);
        if (al >= sizeof(dom)) {
            idn2_free(a);
            BAIL(err, SB_E_POLICY, "host over %d bytes", SB_GW_HOST_MAX);
        }
        for (size_t i = 0; i < al; i++)
            dom[i] = (char)lower(ch(a, al, i));
        dom[al] = '\0';
        dl = al;
        idn2_free(a);
    }
    for (size_t i = 0; i < dl; i++) {
        int c = ch(dom, dl, i);
        if (forbidden_domain(c) || c >= 0x80)
            BAIL(err, SB_E_POLICY, "forbidden character 0x%02x in host", (unsigned)c);
    }
    if (ends_in_number(dom, dl)) {
        uint32_t v = 0;
        TRY(ipv4_parse(dom, dl, &v, err));
        snprintf(out, out_len, "%u.%u.%u.%u", v >> 24, (v >> 16) & 255, (v >> 8) & 255, v & 255);
        *kind = SB_GW_HOST_IPV4;
        *trailing_dot = dl > 0 && dom[dl - 1] == '.';
        return 0;
    }
    if (dl > 0 && dom[dl - 1] == '.') {
        *trailing_dot = true;
        dom[--dl] = '\0';
    }
    if (dl == 0) BAIL(err, SB_E_POLICY, "empty host");
    if (dl > SB_GW_HOST_MAX) BAIL(err, SB_E_POLICY, "host over %d bytes", SB_GW_HOST_MAX);
    size_t label = 0;
    for (size_t i = 0; i <= dl; i++) {
        if (i < dl && dom[i] != '.') {
            if (++label > 63) BAIL(err, SB_E_POLICY, "host label over 63 bytes");
            continue;
        }
        if (label == 0) BAIL(err, SB_E_POLICY, "empty label in host");
        label = 0;
    }
    if (dl + 1 > out_len) BAIL(err, SB_E_POLICY, "host over %d bytes", SB_GW_HOST_MAX);
    memcpy(out, dom, dl + 1);
    *kind = SB_GW_HOST_DOMAIN;
    return 0;
}

/* Percent-decodes a host (URL Standard: "%" not followed by two hex digits stays as is and
 * is then a forbidden code point). */
static int pct_decode(const char *s, size_t n, char *out, size_t out_len, size_t *olen,
                      sb_error *err) {
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        int c = ch(s, n, i);
        if (c == '%' && hexval(ch(s, n, i + 1)) >= 0 && hexval(ch(s, n, i + 2)) >= 0) {
            c = hexval(ch(s, n, i + 1)) * 16 + hexval(ch(s, n, i + 2));
            i += 2;
        }
        if (o + 1 >= out_len) BAIL(err, SB_E_POLICY, "host too long");
        out[o++] = (char)c;
    }
    out[o] = '\0';
    *olen = o;
    return 0;
}

int sb_gw_host_canon(const char *host, char *out, size_t out_len, sb_error *err) {
    if (!host || !out) BAIL(err, SB_E_USAGE, "host: no input");
    size_t n = strlen(host);
    size_t off = 0;
    if (n >= 2 && host[0] == '*' && host[1] == '.') off = 2;
    char tmp[SB_GW_HOST_MAX + 3];
    enum sb_gw_host_kind kind;
    bool dot;
    TRY(host_parse(host + off, n - off, tmp, sizeof(tmp), &kind, &dot, err));
    if (off && kind != SB_GW_HOST_DOMAIN)
        BAIL(err, SB_E_MALFORMED, "a \"*.\" pattern needs a domain name, not an address");
    int k = snprintf(out, out_len, "%s%s", off ? "*." : "", tmp);
    if (k < 0 || (size_t)k >= out_len) BAIL(err, SB_E_LIMIT, "host: output buffer too small");
    return 0;
}

int sb_gw_url_parse(const char *s, size_t len, sb_gw_url *out, sb_error *err) {
    if (!s || !out) BAIL(err, SB_E_USAGE, "url: no input");
    if (len > SB_GW_URL_MAX) BAIL(err, SB_E_POLICY, "URL over %d bytes", SB_GW_URL_MAX);
    for (size_t i = 0; i < len; i++) {
        int c = ch(s, len, i);
        if (c == '\t' || c == '\n' || c == '\r')
            BAIL(err, SB_E_POLICY, "tab or newline at offset %zu (browsers remove them)", i);
        if (c < 0x20 || c == 0x7f)
            BAIL(err, SB_E_POLICY, "control byte 0x%02x at offset %zu", (unsigned)c, i);
    }
    if (len == 0 || ch(s, len, 0) == ' ' || ch(s, len, len - 1) == ' ')
        BAIL(err, SB_E_POLICY, "empty URL or leading/trailing space");

    sb_gw_url u;
    memset(&u, 0, sizeof(u));
    /* scheme: ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ) ":" */
    size_t i = 0;
    if (!is_alpha(ch(s, len, 0))) BAIL(err, SB_E_POLICY, "no scheme (relative URL)");
    while (i < len && (is_alpha(ch(s, len, i)) || is_digit(ch(s, len, i)) ||
                       strchr("+-.", ch(s, len, i)) != NULL)) {
        if (i + 1 >= sizeof(u.scheme)) BAIL(err, SB_E_POLICY, "scheme too long");
        u.scheme[i] = (char)lower(ch(s, len, i));
        i++;
    }
    if (ch(s, len, i) != ':') BAIL(err, SB_E_POLICY, "no scheme (relative URL)");
    i++;
    bool special = false;
    for (size_t k = 0; k < SB_ARRAY_LEN(SPECIAL); k++) {
        if (strcmp(u.scheme, SPECIAL[k].name) == 0) {
            special = true;
            u.port = SPECIAL[k].port;
        }
    }
    if (!special)
        BAIL(err, SB_E_POLICY, "scheme \"%s\" is not a network scheme with a host", u.scheme);

    /* special authority: any run of "/" and "\" (even none: "http:evil.com") */
    while (ch(s, len, i) == '/' || ch(s, len, i) == '\\')
        i++;
    size_t a0 = i;
    while (i < len && strchr("/\\?#", ch(s, len, i)) == NULL)
        i++;
    size_t a1 = i;
    /* the last "@" ends the userinfo */
    size_t h0 = a0;
    for (size_t k = a0; k < a1; k++)
        if (ch(s, len, k) == '@') h0 = k + 1;
    if (h0 != a0) u.has_userinfo = true;
    /* host ends at the first ":" outside brackets */
    size_t k = h0;
    bool in_br = false;
    while (k < a1) {
        int c = ch(s, len, k);
        if (c == '[') in_br = true;
        if (c == ']') in_br = false;
        if (c == ':' && !in_br) break;
        k++;
    }
    size_t h1 = k;
    if (k < a1) {
        size_t p0 = k + 1;
        if (p0 < a1) {
            uint32_t port = 0;
            for (size_t q = p0; q < a1; q++) {
                int c = ch(s, len, q);
                if (!is_digit(c)) BAIL(err, SB_E_POLICY, "port is not a number");
                port = port * 10 + (uint32_t)(c - '0');
                if (port > 65535) BAIL(err, SB_E_POLICY, "port over 65535");
            }
            if (port != u.port) u.explicit_port = true;
            u.port = (uint16_t)port;
        }
    }
    if (h1 == h0) BAIL(err, SB_E_POLICY, "empty host");
    char dec[SB_GW_HOST_MAX * 4 + 8];
    size_t dn = 0;
    if (ch(s, len, h0) == '[') {
        if (h1 - h0 >= sizeof(dec)) BAIL(err, SB_E_POLICY, "host too long");
        memcpy(dec, s + h0, h1 - h0);
        dn = h1 - h0;
        dec[dn] = '\0';
    } else {
        TRY(pct_decode(s + h0, h1 - h0, dec, sizeof(dec), &dn, err));
    }
    TRY(host_parse(dec, dn, u.host, sizeof(u.host), &u.host_kind, &u.had_trailing_dot, err));
    *out = u;
    return 0;
}
