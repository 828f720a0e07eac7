/* dcap_pck: the Intel SGX extension of PCK certificates (OID 1.2.840.113741.1.13.1) — PPID,
 * TCB components, PCESVN, CPUSVN, PCE-ID, FMSPC, SGX type, platform instance and configuration —
 * read with a small bounded DER reader (definite lengths only, depth-limited). */
#include "evidence.h"

enum {
    DER_BOOLEAN = 0x01,
    DER_INTEGER = 0x02,
    DER_OCTET_STRING = 0x04,
    DER_OID = 0x06,
    DER_ENUMERATED = 0x0a,
    DER_SEQUENCE = 0x30,
};

/* 1.2.840.113741.1.13.1 */
static const uint8_t SGX_EXT_OID[] = {0x2a, 0x86, 0x48, 0x86, 0xf8, 0x4d, 0x01, 0x0d, 0x01};

/* One TLV: tag (low-tag-number form), definite length (short or long form, minimal), value. */
static int der_tlv(sb_reader *r, uint8_t *tag, sb_reader *val, const char *field) {
    size_t at = sb_reader_offset(r);
    size_t save = r->off;
    uint8_t t, l0;
    TRY(sb_reader_u8(r, &t, field));
    if ((t & 0x1f) == 0x1f) {
        r->off = save;
        return sb_error_set(r->err, SB_E_UNSUPPORTED,
                            "%s: %s uses a high tag number (offset 0x%zx)", r->what, field, at);
    }
    int rc = sb_reader_u8(r, &l0, field);
    if (rc < 0) {
        r->off = save;
        return rc;
    }
    size_t len = l0;
    if (l0 & 0x80) {
        unsigned nb = l0 & 0x7f;
        if (nb == 0 || nb > 3) {
            r->off = save;
            return sb_error_set(r->err, SB_E_MALFORMED,
                                "%s: %s has an unsupported DER length form 0x%02x (offset 0x%zx)",
                                r->what, field, l0, at);
        }
        len = 0;
        for (unsigned i = 0; i < nb; i++) {
            uint8_t b;
            if ((rc = sb_reader_u8(r, &b, field)) < 0) {
                r->off = save;
                return rc;
            }
            len = (len << 8) | b;
        }
        if (len < 0x80 || (nb > 1 && len < (1u << (8 * (nb - 1))))) {
            r->off = save;
            return sb_error_set(r->err, SB_E_MALFORMED,
                                "%s: %s has a non-minimal DER length (offset 0x%zx)", r->what,
                                field, at);
        }
    }
    if ((rc = sb_reader_sub(r, len, val, field)) < 0) {
        r->off = save;
        return rc;
    }
    *tag = t;
    return 0;
}

static int der_expect(sb_reader *r, uint8_t want, sb_reader *val, const char *field) {
    uint8_t tag;
    size_t at = sb_reader_offset(r);
    size_t save = r->off;
    TRY(der_tlv(r, &tag, val, field));
    if (tag != want) {
        r->off = save;
        return sb_error_set(r->err, SB_E_MALFORMED,
                            "%s: %s has DER tag 0x%02x, expected 0x%02x (offset 0x%zx)", r->what,
                            field, tag, want, at);
    }
    return 0;
}

/* A non-negative DER INTEGER (or ENUMERATED) no larger than max. */
static int der_uint(sb_reader *r, uint8_t tag, uint32_t max, uint32_t *out, const char *field) {
    sb_reader v;
    size_t at = sb_reader_offset(r);
    TRY(der_expect(r, tag, &v, field));
    if (v.len == 0 || v.len > 5)
        return sb_error_set(r->err, SB_E_MALFORMED, "%s: %s has a bad integer length %zu (0x%zx)",
                            r->what, field, v.len, at);
    uint64_t x = 0;
    for (size_t i = 0; i < v.len; i++) {
        uint8_t b;
        TRY(sb_reader_u8(&v, &b, field));
        if (i == 0 && (b & 0x80))
            return sb_error_set(r->err, SB_E_MALFORMED, "%s: %s is negative (offset 0x%zx)",
                                r->what, field, at);
        x = (x << 8) | b;
    }
    if (x > max)
        return sb_error_set(r->err, SB_E_MALFORMED, "%s: %s = %llu is over %u (offset 0x%zx)",
                            r->what, field, (unsigned long long)x, max, at);
    *out = (uint32_t)x;
    return 0;
}

static int der_octets(sb_reader *r, uint8_t *dst, size_t n, const char *field) {
    sb_reader v;
    size_t at = sb_reader_offset(r);
    TRY(der_expect(r, DER_OCTET_STRING, &v, field));
    if (v.len != n)
        return sb_error_set(r->err, SB_E_MALFORMED,
                            "%s: %s is %zu bytes, expected %zu (offset 0x%zx)", r->what, field,
                            v.len, n, at);
    return sb_reader_copy(&v, dst, n, field);
}

static int der_bool(sb_reader *r, int *out, const char *field) {
    sb_reader v;
    size_t at = sb_reader_offset(r);
    TRY(der_expect(r, DER_BOOLEAN, &v, field));
    uint8_t b;
    if (v.len != 1 || sb_reader_u8(&v, &b, field) < 0 || (b != 0 && b != 0xff))
        return sb_error_set(r->err, SB_E_MALFORMED, "%s: %s is not a DER BOOLEAN (offset 0x%zx)",
                            r->what, field, at);
    *out = b ? 1 : 0;
    return 0;
}

/* Reads the OID of an item and returns the arc after the SGX prefix (sub1) and, for two more
 * arcs, sub2 (else -1). Unknown prefixes give sub1 = -1. */
static int item_oid(sb_reader *r, int *sub1, int *sub2) {
    sb_reader v;
    TRY(der_expect(r, DER_OID, &v, "OID"));
    *sub1 = *sub2 = -1;
    if (v.len < sizeof(SGX_EXT_OID) + 1 || v.len > sizeof(SGX_EXT_OID) + 2) return 0;
    for (size_t i = 0; i < sizeof(SGX_EXT_OID); i++) {
        uint8_t b;
        TRY(sb_reader_u8(&v, &b, "OID"));
        if (b != SGX_EXT_OID[i]) return 0;
    }
    uint8_t a, b;
    TRY(sb_reader_u8(&v, &a, "OID"));
    if (a & 0x80) return 0;
    *sub1 = a;
    if (sb_reader_remaining(&v)) {
        TRY(sb_reader_u8(&v, &b, "OID"));
        if (b & 0x80) {
            *sub1 = -1;
            return 0;
        }
        *sub2 = b;
    }
    return 0;
}

static int parse_tcb(sb_reader *r, struct sb_pck_ext *o) {
    sb_reader seq;
    TRY(der_expect(r, DER_SEQUENCE, &seq, "TCB"));
    uint32_t seen = 0;
    while (sb_reader_remaining(&seq)) {
        sb_reader item;
        int a, b;
        size_t at = sb_reader_offset(&seq);
        TRY(der_expect(&seq, DER_SEQUENCE, &item, "TCB item"));
        TRY(item_oid(&item, &a, &b));
        if (a != 2 || b < 1 || b > 18) {
            /* Unknown TCB item: skip its value. */
            uint8_t tag;
            sb_reader skip;
            TRY(der_tlv(&item, &tag, &skip, "TCB item value"));
        } else {
            if (seen & (1u << b))
                return sb_error_set(r->err, SB_E_MALFORMED,
                                    "%s: duplicate TCB item %d (offset 0x%zx)", r->what, b, at);
            seen |= 1u << b;
            uint32_t v;
            if (b <= 16) {
                TRY(der_uint(&item, DER_INTEGER, 255, &v, "TCB component SVN"));
                o->comp_svn[b - 1] = (uint8_t)v;
            } else if (b == 17) {
                TRY(der_uint(&item, DER_INTEGER, 65535, &v, "PCESVN"));
                o->pcesvn = (uint16_t)v;
            } else {
                TRY(der_octets(&item, o->cpusvn, 16, "CPUSVN"));
            }
        }
        TRY(sb_reader_end(&item, "TCB item"));
    }
    if (seen != 0x7fffeu)
        return sb_error_set(r->err, SB_E_MALFORMED,
                            "%s: TCB is missing components (have mask 0x%x)", r->what, seen);
    return 0;
}

static int parse_config(sb_reader *r, struct sb_pck_ext *o) {
    sb_reader seq;
    TRY(der_expect(r, DER_SEQUENCE, &seq, "Configuration"));
    while (sb_reader_remaining(&seq)) {
        sb_reader item;
        int a, b;
        TRY(der_expect(&seq, DER_SEQUENCE, &item, "Configuration item"));
        TRY(item_oid(&item, &a, &b));
        int *dst = NULL;
        if (a == 7 && b == 1) dst = &o->dynamic_platform;
        if (a == 7 && b == 2) dst = &o->cached_keys;
        if (a == 7 && b == 3) dst = &o->smt_enabled;
        if (dst) {
            if (*dst != -1)
                return sb_error_set(r->err, SB_E_MALFORMED, "%s: duplicate configuration item",
                                    r->what);
            TRY(der_bool(&item, dst, "Configuration flag"));
        } else {
            uint8_t tag;
            sb_reader skip;
            TRY(der_tlv(&item, &tag, &skip, "Configuration value"));
        }
        TRY(sb_reader_end(&item, "Configuration item"));
    }
    return 0;
}

int sb_pck_ext_parse(const uint8_t *der, size_t n, struct sb_pck_ext *out, sb_error *err) {
    if (n > SB_PCK_EXT_MAX)
        BAIL(err, SB_E_LIMIT, "pck-ext: extension of %zu bytes is over the limit of %u", n,
             SB_PCK_EXT_MAX);
    struct sb_pck_ext o = {0};
    o.sgx_type = -1;
    o.dynamic_platform = o.cached_keys = o.smt_enabled = -1;
    sb_reader r, seq;
    sb_reader_init(&r, der, n, "pck-ext", err);
    TRY(der_expect(&r, DER_SEQUENCE, &seq, "SGX extension"));
    TRY(sb_reader_end(&r, "SGX extension"));
    uint32_t seen = 0;
    while (sb_reader_remaining(&seq)) {
        sb_reader item;
        int a, b;
        size_t at = sb_reader_offset(&seq);
        TRY(der_expect(&seq, DER_SEQUENCE, &item, "SGX extension item"));
        TRY(item_oid(&item, &a, &b));
        if (a >= 1 && a <= 7 && b == -1) {
            if (seen & (1u << a))
                BAIL(err, SB_E_MALFORMED,
                     "pck-ext: duplicate item 1.2.840.113741.1.13.1.%d "
                     "(offset 0x%zx)",
                     a, at);
            seen |= 1u << a;
        }
        uint32_t v;
        switch (b == -1 ? a : -1) {
        case 1: TRY(der_octets(&item, o.ppid, 16, "PPID")); break;
        case 2: TRY(parse_tcb(&item, &o)); break;
        case 3: TRY(der_octets(&item, o.pceid, 2, "PCE-ID")); break;
        case 4: TRY(der_octets(&item, o.fmspc, 6, "FMSPC")); break;
        case 5:
            TRY(der_uint(&item, DER_ENUMERATED, 255, &v, "SGX type"));
            o.sgx_type = (int)v;
            break;
        case 6:
            TRY(der_octets(&item, o.platform_instance_id, 16, "platform instance ID"));
            o.has_platform_instance_id = true;
            break;
        case 7: TRY(parse_config(&item, &o)); break;
        default: {
            uint8_t tag;
            sb_reader skip;
            TRY(der_tlv(&item, &tag, &skip, "SGX extension value"));
            break;
        }
        }
        TRY(sb_reader_end(&item, "SGX extension item"));
    }
    static const char *const names[6] = {"", "PPID", "TCB", "PCE-ID", "FMSPC", "SGX type"};
    for (int i = 1; i <= 5; i++)
        if (!(seen & (1u << i)))
            BAIL(err, SB_E_MALFORMED, "pck-ext: the SGX extension has no %s", names[i]);
    *out = o;
    return 0;
}

/* The whole TLV at r (tag, length and value) as a view. */
static int der_span(sb_reader *r, uint8_t want, const uint8_t **span, size_t *len,
                    const char *field) {
    size_t start = r->off;
    sb_reader v;
    TRY(der_expect(r, want, &v, field));
    size_t end = r->off;
    r->off = start;
    TRY(sb_reader_bytes(r, end - start, span, field));
    *len = end - start;
    return 0;
}

int sb_der_x509_name(const uint8_t *der, size_t n, bool crl, const uint8_t **name, size_t *name_len,
                     sb_error *err) {
    sb_reader r, outer, tbs, skip;
    uint8_t tag;
    sb_reader_init(&r, der, n, crl ? "crl" : "certificate", err);
    TRY(der_expect(&r, DER_SEQUENCE, &outer, "outer SEQUENCE"));
    TRY(der_expect(&outer, DER_SEQUENCE, &tbs, "tbs SEQUENCE"));
    uint8_t first;
    {
        size_t save = tbs.off;
        TRY(sb_reader_u8(&tbs, &first, "tbs"));
        tbs.off = save;
    }
    if (crl) {
        if (first == DER_INTEGER) TRY(der_tlv(&tbs, &tag, &skip, "version"));
    } else {
        if (first == 0xa0) TRY(der_tlv(&tbs, &tag, &skip, "version"));
        TRY(der_expect(&tbs, DER_INTEGER, &skip, "serialNumber"));
    }
    TRY(der_expect(&tbs, DER_SEQUENCE, &skip, "signature algorithm"));
    const uint8_t *issuer;
    size_t issuer_len;
    TRY(der_span(&tbs, DER_SEQUENCE, &issuer, &issuer_len, "issuer"));
    if (crl) {
        *name = issuer;
        *name_len = issuer_len;
        return 0;
    }
    TRY(der_expect(&tbs, DER_SEQUENCE, &skip, "validity"));
    return der_span(&tbs, DER_SEQUENCE, name, name_len, "subject");
}
