/* nitro: the AWS Nitro Enclaves attestation document — a COSE_Sign1 whose payload is a CBOR map
 * (module_id, digest, timestamp, pcrs, certificate, cabundle, public_key, user_data, nonce) —
 * parsed into views, plus the base64 container some tools store it in. */
#include <string.h>

#include "evidence.h"

#define W "nitro"

static int get_view(const sb_cbor_item *v, size_t min, size_t max, const char *field,
                    sb_nitro_view *out) {
    const uint8_t *p;
    size_t n;
    TRY(sb_cbor_get_bytes(v, &p, &n, field));
    if (n < min || n > max)
        return sb_error_set(v->err, n > max ? SB_E_LIMIT : SB_E_MALFORMED,
                            W ": %s (offset 0x%zx) is %zu bytes, expected %zu..%zu", field,
                            v->offset, n, min, max);
    *out = (sb_nitro_view){p, n};
    return 0;
}

/* public_key, user_data, nonce: absent, null, or a byte string. */
static int get_optional(const sb_cbor_item *v, const char *field, bool *has, sb_nitro_view *out) {
    if (sb_cbor_is_null(v)) {
        *has = false;
        return 0;
    }
    TRY(get_view(v, 0, SB_NITRO_MAX_FIELD_LEN, field, out));
    *has = true;
    return 0;
}

static int parse_pcrs(const sb_cbor_item *m, sb_nitro_doc *d, sb_error *err) {
    if (m->type != SB_CBOR_MAP)
        BAIL(err, SB_E_MALFORMED, W ": pcrs (offset 0x%zx) is a %s, not a map", m->offset,
             sb_cbor_type_name(m->type));
    if (m->val == 0 || m->val > SB_NITRO_MAX_PCRS)
        BAIL(err, m->val ? SB_E_LIMIT : SB_E_MALFORMED,
             W ": pcrs (offset 0x%zx) has %llu entries, expected 1..%d", m->offset,
             (unsigned long long)m->val, SB_NITRO_MAX_PCRS);
    sb_cbor_iter it;
    TRY(sb_cbor_iter_init(m, &it, "pcrs"));
    sb_cbor_item k, v;
    int rc;
    while ((rc = sb_cbor_iter_next(&it, &k, &v)) > 0) {
        uint64_t idx;
        TRY(sb_cbor_get_uint(&k, &idx, "pcrs index"));
        if (idx >= SB_NITRO_MAX_PCRS)
            BAIL(err, SB_E_MALFORMED, W ": pcrs index %llu (offset 0x%zx) is not 0..%d",
                 (unsigned long long)idx, k.offset, SB_NITRO_MAX_PCRS - 1);
        const uint8_t *p;
        size_t n;
        TRY(sb_cbor_get_bytes(&v, &p, &n, "pcr value"));
        if (n != 32 && n != 48 && n != 64)
            BAIL(err, SB_E_MALFORMED,
                 W ": pcr%llu (offset 0x%zx) is %zu bytes, expected 32, 48 or 64",
                 (unsigned long long)idx, v.offset, n);
        if (d->n_pcrs > 0 && n != d->pcrs[0].n)
            BAIL(err, SB_E_MALFORMED, W ": pcr%llu is %zu bytes but pcr%u is %zu",
                 (unsigned long long)idx, n, d->pcrs[0].index, d->pcrs[0].n);
        if (d->n_pcrs >= SB_NITRO_MAX_PCRS) BAIL(err, SB_E_INTERNAL, W ": pcrs overflow");
        d->pcrs[d->n_pcrs].index = (unsigned)idx;
        d->pcrs[d->n_pcrs].p = p;
        d->pcrs[d->n_pcrs].n = n;
        d->n_pcrs++;
    }
    return rc;
}

static int parse_cabundle(const sb_cbor_item *a, sb_nitro_doc *d, sb_error *err) {
    if (sb_cbor_is_null(a)) return 0;
    if (a->type != SB_CBOR_ARRAY)
        BAIL(err, SB_E_MALFORMED, W ": cabundle (offset 0x%zx) is a %s, not an array", a->offset,
             sb_cbor_type_name(a->type));
    if (a->val > SB_NITRO_MAX_CABUNDLE)
        BAIL(err, SB_E_LIMIT, W ": cabundle (offset 0x%zx) has %llu certificates, at most %d",
             a->offset, (unsigned long long)a->val, SB_NITRO_MAX_CABUNDLE);
    sb_cbor_iter it;
    TRY(sb_cbor_iter_init(a, &it, "cabundle"));
    sb_cbor_item e;
    int rc;
    while ((rc = sb_cbor_iter_next(&it, &e, NULL)) > 0) {
        if (d->n_cabundle >= SB_NITRO_MAX_CABUNDLE)
            BAIL(err, SB_E_INTERNAL, W ": cabundle overflow");
        TRY(get_view(&e, 1, SB_NITRO_MAX_CERT_LEN, "cabundle certificate",
                     &d->cabundle[d->n_cabundle]));
        d->n_cabundle++;
    }
    return rc;
}

enum { K_MODULE_ID, K_DIGEST, K_TIMESTAMP, K_PCRS, K_CERT, K_CABUNDLE, K_MAX };
static const char *const REQUIRED[K_MAX] = {"module_id", "digest",      "timestamp",
                                            "pcrs",      "certificate", "cabundle"};

int sb_nitro_parse(const uint8_t *p, size_t n, sb_error *err, sb_nitro_doc *out) {
    if (n > SB_NITRO_MAX_DOC_LEN)
        BAIL(err, SB_E_LIMIT, W ": document of %zu bytes is over the limit of %u", n,
             SB_NITRO_MAX_DOC_LEN);
    sb_nitro_doc *d = calloc(1, sizeof(*d));
    if (!d) BAIL(err, SB_E_INTERNAL, W ": out of memory");
    int rc = sb_cose_sign1_parse(p, n, W, err, &d->cose);
    if (rc < 0) goto out;
    sb_cbor_item pl;
    sb_reader r;
    sb_reader_init(&r, d->cose.payload, d->cose.payload_len, W, err);
    r.base = d->cose.payload_offset;
    if ((rc = sb_cbor_read(&r, &pl, "payload")) < 0) goto out;
    if ((rc = sb_reader_end(&r, "payload")) < 0) goto out;
    if (pl.type != SB_CBOR_MAP) {
        rc = sb_error_set(err, SB_E_MALFORMED, W ": payload (offset 0x%zx) is a %s, not a map",
                          pl.offset, sb_cbor_type_name(pl.type));
        goto out;
    }
    bool seen[K_MAX] = {0};
    sb_cbor_iter it;
    if ((rc = sb_cbor_iter_init(&pl, &it, "payload")) < 0) goto out;
    sb_cbor_item k, v;
    while ((rc = sb_cbor_iter_next(&it, &k, &v)) > 0) {
        if (k.type != SB_CBOR_TEXT) {
            rc = sb_error_set(err, SB_E_MALFORMED,
                              W ": payload key at offset 0x%zx is a %s, not a text string",
                              k.offset, sb_cbor_type_name(k.type));
            goto out;
        }
        if (sb_cbor_text_eq(&k, "module_id")) {
            const char *s;
            size_t sl;
            if ((rc = sb_cbor_get_text(&v, &s, &sl, "module_id")) < 0) goto out;
            if (sl == 0 || sl > SB_NITRO_MAX_MODULE_ID_LEN) {
                rc = sb_error_set(err, SB_E_MALFORMED,
                                  W ": module_id (offset 0x%zx) is %zu bytes, expected 1..%d",
                                  v.offset, sl, SB_NITRO_MAX_MODULE_ID_LEN);
                goto out;
            }
            d->module_id = s;
            d->module_id_len = sl;
            seen[K_MODULE_ID] = true;
        } else if (sb_cbor_text_eq(&k, "digest")) {
            const char *s;
            size_t sl;
            if ((rc = sb_cbor_get_text(&v, &s, &sl, "digest")) < 0) goto out;
            if (!sb_cbor_text_eq(&v, "SHA384")) {
                rc = sb_error_set(err, SB_E_UNSUPPORTED,
                                  W ": digest \"%.*s\" (offset 0x%zx) is not SHA384",
                                  (int)(sl > 32 ? 32 : sl), s, v.offset);
                goto out;
            }
            seen[K_DIGEST] = true;
        } else if (sb_cbor_text_eq(&k, "timestamp")) {
            if ((rc = sb_cbor_get_uint(&v, &d->timestamp, "timestamp")) < 0) goto out;
            if (d->timestamp == 0) {
                rc = sb_error_set(err, SB_E_MALFORMED, W ": timestamp (offset 0x%zx) is zero",
                                  v.offset);
                goto out;
            }
            seen[K_TIMESTAMP] = true;
        } else if (sb_cbor_text_eq(&k, "pcrs")) {
            if ((rc = parse_pcrs(&v, d, err)) < 0) goto out;
            seen[K_PCRS] = true;
        } else if (sb_cbor_text_eq(&k, "certificate")) {
            if ((rc = get_view(&v, 1, SB_NITRO_MAX_CERT_LEN, "certificate", &d->certificate)) < 0)
                goto out;
            seen[K_CERT] = true;
        } else if (sb_cbor_text_eq(&k, "cabundle")) {
            if ((rc = parse_cabundle(&v, d, err)) < 0) goto out;
            seen[K_CABUNDLE] = true;
        } else if (sb_cbor_text_eq(&k, "public_key")) {
            if ((rc = get_optional(&v, "public_key", &d->has_public_key, &d->public_key)) < 0)
                goto out;
        } else if (sb_cbor_text_eq(&k, "user_data")) {
            if ((rc = get_optional(&v, "user_data", &d->has_user_data, &d->user_data)) < 0)
                goto out;
        } else if (sb_cbor_text_eq(&k, "nonce")) {
            if ((rc = get_optional(&v, "nonce", &d->has_nonce, &d->nonce)) < 0) goto out;
        } else {
            d->n_unknown_keys++;
        }
    }
    if (rc < 0) goto out;
    for (size_t i = 0; i < K_MAX; i++) {
        if (!seen[i]) {
            rc = sb_error_set(err, SB_E_MALFORMED, W ": payload has no \"%s\"", REQUIRED[i]);
            goto out;
        }
    }
    *out = *d;
    rc = 0;
out:
    free(d);
    return rc;
}

static bool is_b64(uint8_t c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' ||
           c == '/' || c == '=';
}
static bool is_ws(uint8_t c) { return c == ' ' || c == '\n' || c == '\r' || c == '\t'; }

/* A raw document begins with an array of 4 (0x84) or tag 18 then that array (0xd2 0x84). */
static bool raw_start(const uint8_t *p, size_t n) {
    if (n >= 1 && p[0] == 0x84) return true;
    return n >= 2 && p[0] == 0xd2 && p[1] == 0x84;
}

/* Base64 text that is all alphabet and whitespace: "hE" (0x84) or "0oQ" (0xd2 0x84) first. */
static bool b64_start(const uint8_t *p, size_t n) {
    size_t i = 0;
    while (i < n && is_ws(p[i]))
        i++;
    if (n - i < 4) return false;
    bool prefix =
        (p[i] == 'h' && p[i + 1] == 'E') || (p[i] == '0' && p[i + 1] == 'o' && p[i + 2] == 'Q');
    if (!prefix) return false;
    for (; i < n; i++)
        if (!is_b64(p[i]) && !is_ws(p[i])) return false;
    return true;
}

bool sb_nitro_sniff(const uint8_t *p, size_t n) {
    if (!p || n > SB_NITRO_MAX_DOC_LEN) return false;
    if (raw_start(p, n)) {
        /* an array of 4 whose first element is a byte string holding a map with alg */
        sb_cose_sign1 c;
        return sb_cose_sign1_parse(p, n, W, NULL, &c) == 0;
    }
    return b64_start(p, n);
}

int sb_nitro_unwrap(const uint8_t *p, size_t n, uint8_t **owned, const uint8_t **doc,
                    size_t *doclen, sb_error *err) {
    *owned = NULL;
    if (n == 0) BAIL(err, SB_E_TRUNCATED, W ": empty input");
    if (n > SB_NITRO_MAX_DOC_LEN)
        BAIL(err, SB_E_LIMIT, W ": input of %zu bytes is over the limit of %u", n,
             SB_NITRO_MAX_DOC_LEN);
    if (raw_start(p, n)) {
        *doc = p;
        *doclen = n;
        return 0;
    }
    if (!b64_start(p, n))
        BAIL(err, SB_E_MALFORMED,
             W ": not an attestation document (neither CBOR COSE_Sign1 nor its base64)");
    uint8_t *raw = NULL;
    size_t rawlen = 0;
    TRY(sb_base64_decode((const char *)p, n, true, &raw, &rawlen, err));
    if (!raw_start(raw, rawlen)) {
        free(raw);
        BAIL(err, SB_E_MALFORMED, W ": base64 input does not decode to a COSE_Sign1 array");
    }
    *owned = raw;
    *doc = raw;
    *doclen = rawlen;
    return 0;
}
