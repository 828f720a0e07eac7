/* spdm: NVIDIA attestation reports — the SPDM 1.1 GET_MEASUREMENTS request and MEASUREMENTS
 * response read field by field (measurement blocks, nonce, opaque TLVs, signature) with the
 * bounded reader, and the hex text they are usually stored as. No cryptography here. */
#include <string.h>

#include "evidence.h"

#define W "spdm"
#define SPDM_V11 0x11
#define SPDM_GET_MEASUREMENTS 0xe0
#define SPDM_MEASUREMENTS 0x60

static int u24le(sb_reader *r, uint32_t *out, const char *field) {
    uint8_t b[3];
    TRY(sb_reader_copy(r, b, 3, field));
    *out = (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16;
    return 0;
}

static int parse_request(sb_reader *r, sb_spdm_report *s, sb_error *err) {
    sb_reader q;
    TRY(sb_reader_sub(r, SB_SPDM_REQUEST_LEN, &q, "GET_MEASUREMENTS request"));
    uint8_t code;
    TRY(sb_reader_u8(&q, &s->version, "request SPDMVersion"));
    if (s->version != SPDM_V11)
        BAIL(err, SB_E_UNSUPPORTED, W ": request SPDM version 0x%02x is not supported (1.1, 0x11)",
             s->version);
    TRY(sb_reader_u8(&q, &code, "request code"));
    if (code != SPDM_GET_MEASUREMENTS)
        BAIL(err, SB_E_MALFORMED,
             W ": request code 0x%02x (offset 0x1) is not GET_MEASUREMENTS (0xe0)", code);
    TRY(sb_reader_u8(&q, &s->req_param1, "request param1"));
    TRY(sb_reader_u8(&q, &s->req_param2, "request param2"));
    if (!(s->req_param1 & 1))
        BAIL(err, SB_E_MALFORMED,
             W ": request param1 0x%02x (offset 0x2) did not ask for a signature", s->req_param1);
    TRY(sb_reader_bytes(&q, SB_SPDM_NONCE_LEN, &s->nonce, "request nonce"));
    TRY(sb_reader_u8(&q, &s->slot, "request SlotIDParam"));
    return sb_reader_end(&q, "request");
}

static int parse_block(sb_reader *rec, sb_spdm_report *s, sb_error *err) {
    sb_spdm_block b = {0};
    size_t at = sb_reader_offset(rec);
    sb_reader m;
    TRY(sb_reader_u8(rec, &b.index, "measurement block index"));
    TRY(sb_reader_u8(rec, &b.spec, "MeasurementSpecification"));
    TRY(sb_reader_sub_u16le(rec, SB_SPDM_MAX_RECORD, &m, "MeasurementSize"));
    if (b.index == 0 || b.index == 0xff)
        BAIL(err, SB_E_MALFORMED, W ": measurement block at offset 0x%zx has index %u", at,
             b.index);
    for (size_t i = 0; i < s->n_blocks; i++)
        if (s->blocks[i].index == b.index)
            BAIL(err, SB_E_MALFORMED, W ": measurement block index %u appears twice (offset 0x%zx)",
                 b.index, at);
    if (b.spec & 1) {
        sb_reader v;
        TRY(sb_reader_u8(&m, &b.dmtf_type, "DMTFSpecMeasurementValueType"));
        TRY(sb_reader_sub_u16le(&m, SB_SPDM_MAX_RECORD, &v, "DMTFSpecMeasurementValueSize"));
        TRY(sb_reader_end(&m, "DMTF measurement value"));
        b.value_len = sb_reader_remaining(&v);
        TRY(sb_reader_bytes(&v, b.value_len, &b.value, "DMTF measurement value"));
    } else {
        b.value_len = sb_reader_remaining(&m);
        TRY(sb_reader_bytes(&m, b.value_len, &b.value, "measurement"));
    }
    if (s->n_blocks >= SB_SPDM_MAX_BLOCKS) BAIL(err, SB_E_INTERNAL, W ": block overflow");
    s->blocks[s->n_blocks++] = b;
    return 0;
}

static int parse_opaque(sb_spdm_report *s, size_t base, sb_error *err) {
    sb_reader o;
    sb_reader_init(&o, s->opaque, s->opaque_len, W, err);
    o.base = base;
    while (sb_reader_remaining(&o) > 0) {
        if (s->n_fields >= SB_SPDM_MAX_OPAQUE_FIELDS)
            BAIL(err, SB_E_LIMIT, W ": opaque data has more than %d fields (offset 0x%zx)",
                 SB_SPDM_MAX_OPAQUE_FIELDS, sb_reader_offset(&o));
        sb_spdm_opaque_field *f = &s->fields[s->n_fields];
        sb_reader v;
        TRY(sb_reader_u16le(&o, &f->type, "opaque field type"));
        TRY(sb_reader_sub_u16le(&o, SB_SPDM_MAX_OPAQUE, &v, "opaque field length"));
        f->n = sb_reader_remaining(&v);
        TRY(sb_reader_bytes(&v, f->n, &f->p, "opaque field value"));
        for (size_t i = 0; i < s->n_fields; i++)
            if (s->fields[i].type == f->type)
                BAIL(err, SB_E_MALFORMED, W ": opaque field type %u appears twice", f->type);
        s->n_fields++;
    }
    return 0;
}

int sb_spdm_parse(const uint8_t *p, size_t n, size_t sig_len, sb_error *err, sb_spdm_report *out) {
    if (n > SB_SPDM_MAX_REPORT)
        BAIL(err, SB_E_LIMIT, W ": report of %zu bytes is over the limit of %u", n,
             SB_SPDM_MAX_REPORT);
    sb_spdm_report *s = calloc(1, sizeof(*s));
    if (!s) BAIL(err, SB_E_INTERNAL, W ": out of memory");
    sb_reader r;
    sb_reader_init(&r, p, n, W, err);
    uint8_t version, code, nblocks;
    uint32_t reclen;
    uint16_t olen;
    sb_reader rec;
    size_t opaque_at;
    int rc = parse_request(&r, s, err);
    if (rc < 0) goto out;
    if ((rc = sb_reader_u8(&r, &version, "response SPDMVersion")) < 0) goto out;
    if (version != s->version) {
        rc = sb_error_set(err, SB_E_MALFORMED,
                          W ": response version 0x%02x (offset 0x25) differs from the request's "
                            "0x%02x",
                          version, s->version);
        goto out;
    }
    if ((rc = sb_reader_u8(&r, &code, "response code")) < 0) goto out;
    if (code != SPDM_MEASUREMENTS) {
        rc =
            sb_error_set(err, SB_E_MALFORMED,
                         W ": response code 0x%02x (offset 0x26) is not MEASUREMENTS (0x60)", code);
        goto out;
    }
    if ((rc = sb_reader_u8(&r, &s->resp_param1, "response param1")) < 0 ||
        (rc = sb_reader_u8(&r, &s->resp_param2, "response param2")) < 0 ||
        (rc = sb_reader_u8(&r, &nblocks, "NumberOfBlocks")) < 0 ||
        (rc = u24le(&r, &reclen, "MeasurementRecordLength")) < 0)
        goto out;
    /* every block takes at least 4 bytes: the count is checked against the record first */
    if ((size_t)nblocks * 4 > reclen) {
        rc = sb_error_set(err, SB_E_MALFORMED,
                          W ": %u measurement blocks cannot fit a record of %u bytes", nblocks,
                          reclen);
        goto out;
    }
    if ((rc = sb_reader_sub(&r, reclen, &rec, "MeasurementRecord")) < 0) goto out;
    for (unsigned i = 0; i < nblocks; i++)
        if ((rc = parse_block(&rec, s, err)) < 0) goto out;
    if ((rc = sb_reader_end(&rec, "the measurement blocks")) < 0) goto out;
    if ((rc = sb_reader_bytes(&r, SB_SPDM_NONCE_LEN, &s->resp_nonce, "response nonce")) < 0 ||
        (rc = sb_reader_u16le(&r, &olen, "OpaqueLength")) < 0)
        goto out;
    if (olen > SB_SPDM_MAX_OPAQUE) {
        rc = sb_error_set(err, SB_E_LIMIT, W ": OpaqueLength %u is over the SPDM limit of %d", olen,
                          SB_SPDM_MAX_OPAQUE);
        goto out;
    }
    opaque_at = sb_reader_offset(&r);
    s->opaque_len = olen;
    if ((rc = sb_reader_bytes(&r, olen, &s->opaque, "OpaqueData")) < 0) goto out;
    s->signed_len = sb_reader_offset(&r);
    s->sig_len = sig_len;
    if ((rc = sb_reader_bytes(&r, sig_len, &s->signature, "Signature")) < 0) goto out;
    s->trailing = sb_reader_remaining(&r);
    if ((rc = parse_opaque(s, opaque_at, err)) < 0) goto out;
    /* the signed span is the first signed_len bytes: a view from the reader's start */
    sb_reader all;
    sb_reader_init(&all, p, n, W, err);
    if ((rc = sb_reader_bytes(&all, s->signed_len, &s->signed_part, "signed part")) < 0) goto out;
    *out = *s;
    rc = 0;
out:
    free(s);
    return rc;
}

const sb_spdm_opaque_field *sb_spdm_field(const sb_spdm_report *r, uint16_t type) {
    for (size_t i = 0; i < r->n_fields; i++)
        if (r->fields[i].type == type) return &r->fields[i];
    return NULL;
}

static bool is_space(uint8_t c) { return c == ' ' || c == '\n' || c == '\r' || c == '\t'; }

int sb_spdm_from_hex(const uint8_t *p, size_t n, uint8_t **out, size_t *outlen, sb_error *err) {
    size_t a = 0, b = n;
    while (a < b && is_space(p[a]))
        a++;
    while (b > a && is_space(p[b - 1]))
        b--;
    if (a == b) BAIL(err, SB_E_TRUNCATED, W ": empty hex report");
    if (b - a > 2 * SB_SPDM_MAX_REPORT)
        BAIL(err, SB_E_LIMIT, W ": hex report of %zu characters is over the limit", b - a);
    sb_reader r;
    sb_reader_init(&r, p, n, W, err);
    const uint8_t *hex;
    TRY(sb_reader_skip(&r, a, "leading whitespace"));
    TRY(sb_reader_bytes(&r, b - a, &hex, "hex report"));
    int rc = sb_hex_decode((const char *)hex, b - a, out, outlen, err);
    if (rc < 0) return sb_error_prefix(err, W ": hex report");
    return 0;
}
