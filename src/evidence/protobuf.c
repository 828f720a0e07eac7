/* protobuf: the Protocol Buffers wire format read through sb_reader — varints, fixed32/64 and
 * length-delimited payloads, each bounded by the bytes that remain. No schema, no allocation. */
#include "evidence.h"

int sb_pb_varint(sb_reader *r, uint64_t *out, const char *field) {
    size_t save = r->off, at = sb_reader_offset(r);
    uint64_t v = 0;
    for (unsigned i = 0; i < SB_PB_MAX_VARINT_BYTES; i++) {
        uint8_t b;
        int rc = sb_reader_u8(r, &b, field);
        if (rc < 0) {
            r->off = save;
            return rc;
        }
        if (i == SB_PB_MAX_VARINT_BYTES - 1 && b > 1) {
            r->off = save;
            BAIL(r->err, SB_E_MALFORMED, "%s: varint %s at offset 0x%zx overflows 64 bits", r->what,
                 field, at);
        }
        v |= (uint64_t)(b & 0x7f) << (7 * i);
        if (!(b & 0x80)) {
            *out = v;
            return 0;
        }
    }
    r->off = save;
    BAIL(r->err, SB_E_MALFORMED, "%s: varint %s at offset 0x%zx is longer than %u bytes", r->what,
         field, at, SB_PB_MAX_VARINT_BYTES);
}

int sb_pb_next(sb_reader *r, struct sb_pb_field *f) {
    size_t at = sb_reader_offset(r);
    uint64_t key;
    TRY(sb_pb_varint(r, &key, "field key"));
    uint64_t number = key >> 3;
    unsigned wire = (unsigned)(key & 7);
    if (number == 0 || number > 0x1fffffff)
        BAIL(r->err, SB_E_MALFORMED, "%s: field number %llu at offset 0x%zx is out of range",
             r->what, (unsigned long long)number, at);
    struct sb_pb_field out = {.number = (uint32_t)number, .wire = (enum sb_pb_wire)wire};
    switch (wire) {
    case SB_PB_VARINT: TRY(sb_pb_varint(r, &out.value, "varint value")); break;
    case SB_PB_I64: TRY(sb_reader_u64le(r, &out.value, "fixed64 value")); break;
    case SB_PB_I32: {
        uint32_t v;
        TRY(sb_reader_u32le(r, &v, "fixed32 value"));
        out.value = v;
        break;
    }
    case SB_PB_LEN: {
        uint64_t len;
        TRY(sb_pb_varint(r, &len, "length"));
        if (len > sb_reader_remaining(r))
            BAIL(r->err, SB_E_TRUNCATED,
                 "%s: truncated at field %llu (offset 0x%zx): length %llu, %zu bytes left", r->what,
                 (unsigned long long)number, at, (unsigned long long)len, sb_reader_remaining(r));
        TRY(sb_reader_sub(r, (size_t)len, &out.body, "length-delimited field"));
        break;
    }
    default:
        BAIL(r->err, SB_E_UNSUPPORTED,
             "%s: field %llu at offset 0x%zx has wire type %u (groups and reserved types are not "
             "supported)",
             r->what, (unsigned long long)number, at, wire);
    }
    *f = out;
    return 0;
}

int sb_pb_expect(const sb_reader *r, const struct sb_pb_field *f, enum sb_pb_wire w,
                 const char *name) {
    if (f->wire != w)
        BAIL(r->err, SB_E_MALFORMED, "%s: field %s (%u) has wire type %u, expected %u", r->what,
             name, f->number, (unsigned)f->wire, (unsigned)w);
    return 0;
}
