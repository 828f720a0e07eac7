/* cose: COSE_Sign1 (RFC 9052) on top of the bounded CBOR reader — structure, protected-header
 * algorithm, and the Sig_structure that the signature covers. No cryptography here. */
#include <string.h>

#include "evidence.h"

#define COSE_TAG_SIGN1 18
#define COSE_HDR_ALG 1
#define COSE_HDR_CRIT 2

size_t sb_cose_sig_len(int64_t alg) {
    switch (alg) {
    case SB_COSE_ES256: return 64;
    case SB_COSE_ES384: return 96;
    case SB_COSE_ES512: return 132;
    default: return 0;
    }
}

static int parse_protected(const uint8_t *p, size_t n, size_t base, const char *what, sb_error *err,
                           const sb_cbor_item *unprot, int64_t *alg) {
    if (n == 0)
        BAIL(err, SB_E_MALFORMED,
             "%s: protected header is empty; the algorithm must be a protected header", what);
    sb_cbor_item hdr, v;
    sb_reader r;
    sb_reader_init(&r, p, n, what, err);
    r.base = base;
    TRY(sb_cbor_read(&r, &hdr, "protected header"));
    TRY(sb_reader_end(&r, "protected header"));
    if (hdr.type != SB_CBOR_MAP)
        BAIL(err, SB_E_MALFORMED, "%s: protected header (offset 0x%zx) is a %s, not a map", what,
             hdr.offset, sb_cbor_type_name(hdr.type));
    int rc = sb_cbor_map_get_int(&hdr, COSE_HDR_CRIT, &v);
    if (rc == 0)
        BAIL(err, SB_E_UNSUPPORTED,
             "%s: protected header lists critical headers (crit, offset 0x%zx); none is "
             "understood",
             what, v.offset);
    if (rc != SB_E_NOTFOUND) return rc;
    rc = sb_cbor_map_get_int(&hdr, COSE_HDR_ALG, &v);
    if (rc == SB_E_NOTFOUND)
        BAIL(err, SB_E_MALFORMED, "%s: protected header has no algorithm (label 1)", what);
    TRY(rc);
    int64_t a;
    TRY(sb_cbor_get_int(&v, &a, "protected header alg"));
    if (sb_cose_sig_len(a) == 0)
        BAIL(err, SB_E_UNSUPPORTED,
             "%s: protected header alg %lld is not supported (ES256 -7, ES384 -35, ES512 -36)",
             what, (long long)a);
    /* RFC 9052 §3: a label must not appear in both buckets. */
    if (unprot->type == SB_CBOR_MAP) {
        rc = sb_cbor_map_get_int(unprot, COSE_HDR_ALG, &v);
        if (rc == 0)
            BAIL(err, SB_E_MALFORMED,
                 "%s: algorithm label 1 appears in both the protected and unprotected header",
                 what);
        if (rc != SB_E_NOTFOUND) return rc;
    }
    *alg = a;
    return 0;
}

int sb_cose_sign1_parse(const uint8_t *p, size_t n, const char *what, sb_error *err,
                        sb_cose_sign1 *out) {
    sb_cbor_item top, arr, prot, unprot, payload, sig;
    TRY(sb_cbor_decode(p, n, what, err, &top));
    sb_cose_sign1 c = {0};
    arr = top;
    if (top.type == SB_CBOR_TAG) {
        if (top.val != COSE_TAG_SIGN1)
            BAIL(err, SB_E_MALFORMED, "%s: tag %llu is not COSE_Sign1 (18)", what,
                 (unsigned long long)top.val);
        TRY(sb_cbor_untag(&top, COSE_TAG_SIGN1, &arr, "COSE_Sign1"));
        c.tagged = true;
    }
    if (arr.type != SB_CBOR_ARRAY || arr.val != 4)
        BAIL(err, SB_E_MALFORMED,
             "%s: COSE_Sign1 (offset 0x%zx) must be an array of 4 elements, got %s of %llu", what,
             arr.offset, sb_cbor_type_name(arr.type), (unsigned long long)arr.val);
    sb_cbor_iter it;
    TRY(sb_cbor_iter_init(&arr, &it, "COSE_Sign1"));
    sb_cbor_item *slots[4] = {&prot, &unprot, &payload, &sig};
    for (size_t i = 0; i < 4; i++) {
        int rc = sb_cbor_iter_next(&it, slots[i], NULL);
        if (rc <= 0) return rc < 0 ? rc : SB_E_INTERNAL;
    }
    TRY(sb_cbor_get_bytes(&prot, &c.prot, &c.prot_len, "COSE_Sign1 protected header"));
    if (unprot.type != SB_CBOR_MAP && !sb_cbor_is_null(&unprot))
        BAIL(err, SB_E_MALFORMED,
             "%s: COSE_Sign1 unprotected header (offset 0x%zx) is a %s, not a map", what,
             unprot.offset, sb_cbor_type_name(unprot.type));
    c.unprotected = unprot;
    if (sb_cbor_is_null(&payload))
        BAIL(err, SB_E_UNSUPPORTED, "%s: COSE_Sign1 payload is detached (nil): not supported",
             what);
    TRY(sb_cbor_get_bytes(&payload, &c.payload, &c.payload_len, "COSE_Sign1 payload"));
    c.payload_offset = payload.data_offset;
    TRY(sb_cbor_get_bytes(&sig, &c.signature, &c.signature_len, "COSE_Sign1 signature"));
    TRY(parse_protected(c.prot, c.prot_len, prot.data_offset, what, err, &unprot, &c.alg));
    size_t want = sb_cose_sig_len(c.alg);
    if (c.signature_len != want)
        BAIL(err, SB_E_MALFORMED,
             "%s: COSE_Sign1 signature (offset 0x%zx) is %zu bytes, alg %lld needs %zu", what,
             sig.data_offset, c.signature_len, (long long)c.alg, want);
    *out = c;
    return 0;
}

int sb_cose_sign1_tbs(const sb_cose_sign1 *c, const uint8_t *aad, size_t aad_len, sb_writer *w) {
    (void)sb_cbor_put_array(w, 4);
    (void)sb_cbor_put_text(w, "Signature1");
    (void)sb_cbor_put_bytes(w, c->prot, c->prot_len);
    (void)sb_cbor_put_bytes(w, aad, aad_len);
    (void)sb_cbor_put_bytes(w, c->payload, c->payload_len);
    return sb_writer_status(w);
}
