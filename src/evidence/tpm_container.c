/* tpm_container: the wrappers real TPM attestations travel in — go-tpm-tools' protobuf,
 * go-attestation's JSON dump, Trustee's and Azure's JSON, Azure's bincode quote — read into one
 * sb_tpm_evidence. Nothing here is authenticated; src/verify/tpm.c does that. */
#include <jansson.h>
#include <string.h>

#include "evidence.h"

#define JSON_MAX_PCR_ENTRIES 128u /* go-attestation lists every bank's PCRs */

struct sb_tpm_owned {
    struct sb_tpm_owned *next;
    uint8_t *p;
};

void sb_tpm_evidence_free(struct sb_tpm_evidence *ev) {
    if (!ev) return;
    struct sb_tpm_owned *o = ev->owned;
    while (o) {
        struct sb_tpm_owned *next = o->next;
        free(o->p);
        free(o);
        o = next;
    }
    ev->owned = NULL;
}

static int own(struct sb_tpm_evidence *ev, uint8_t *p, sb_error *err) {
    struct sb_tpm_owned *o = malloc(sizeof(*o));
    if (!o) {
        free(p);
        BAIL(err, SB_E_INTERNAL, "tpm: out of memory");
    }
    o->p = p;
    o->next = ev->owned;
    ev->owned = o;
    return 0;
}

/* ---- go-tpm-tools protobuf ------------------------------------------------------------ */

static int bytes_of(const sb_reader *r, struct sb_pb_field *f, const char *name, const uint8_t **p,
                    size_t *n) {
    TRY(sb_pb_expect(r, f, SB_PB_LEN, name));
    *n = sb_reader_remaining(&f->body);
    return sb_reader_bytes(&f->body, *n, p, name);
}

static int once(const sb_reader *r, const void *seen, const char *name) {
    if (seen)
        BAIL(r->err, SB_E_MALFORMED, "%s: field %s appears twice (offset 0x%zx)", r->what, name,
             sb_reader_offset(r));
    return 0;
}

/* tpm.PCRs { HashAlgo hash = 1; map<uint32, bytes> pcrs = 2; } */
static int gotpm_pcrs(sb_reader *r, struct sb_tpm_pcr_values *v) {
    bool hash_seen = false;
    while (sb_reader_remaining(r) > 0) {
        struct sb_pb_field f;
        TRY(sb_pb_next(r, &f));
        if (f.number == 1) {
            TRY(sb_pb_expect(r, &f, SB_PB_VARINT, "pcrs.hash"));
            TRY(once(r, hash_seen ? r : NULL, "pcrs.hash"));
            if (f.value == 0 || f.value > 0xffff)
                BAIL(r->err, SB_E_MALFORMED, "tpm: pcrs.hash %llu is not a TPM algorithm",
                     (unsigned long long)f.value);
            v->alg = (uint16_t)f.value;
            hash_seen = true;
        } else if (f.number == 2) {
            TRY(sb_pb_expect(r, &f, SB_PB_LEN, "pcrs.pcrs"));
            uint64_t key = 0;
            const uint8_t *val = NULL;
            size_t vlen = 0;
            bool key_seen = false, val_seen = false;
            while (sb_reader_remaining(&f.body) > 0) {
                struct sb_pb_field e;
                TRY(sb_pb_next(&f.body, &e));
                if (e.number == 1) {
                    TRY(sb_pb_expect(r, &e, SB_PB_VARINT, "pcrs.key"));
                    TRY(once(r, key_seen ? r : NULL, "pcrs.key"));
                    key = e.value;
                    key_seen = true;
                } else if (e.number == 2) {
                    TRY(once(r, val_seen ? r : NULL, "pcrs.value"));
                    TRY(bytes_of(r, &e, "pcrs.value", &val, &vlen));
                    val_seen = true;
                }
            }
            if (key >= SB_TPM_MAX_PCRS)
                BAIL(r->err, SB_E_LIMIT, "tpm: PCR index %llu is over the limit of %u",
                     (unsigned long long)key, SB_TPM_MAX_PCRS - 1);
            if (vlen == 0 || vlen > SB_TPM_MAX_DIGEST)
                BAIL(r->err, SB_E_MALFORMED, "tpm: PCR %llu value has %zu bytes",
                     (unsigned long long)key, vlen);
            if (v->present & (1u << key))
                BAIL(r->err, SB_E_MALFORMED, "tpm: PCR %llu is given twice",
                     (unsigned long long)key);
            v->present |= 1u << key;
            v->value[key] = val;
            v->len[key] = (uint16_t)vlen;
        }
    }
    if (!hash_seen) BAIL(r->err, SB_E_MALFORMED, "tpm: quote pcrs without a hash algorithm");
    return 0;
}

/* tpm.Quote { bytes quote = 1; bytes raw_sig = 2; PCRs pcrs = 3; } */
static int gotpm_quote(sb_reader *r, struct sb_tpm_quote_ev *q) {
    bool pcrs_seen = false;
    while (sb_reader_remaining(r) > 0) {
        struct sb_pb_field f;
        TRY(sb_pb_next(r, &f));
        switch (f.number) {
        case 1:
            TRY(once(r, q->attest, "quote.quote"));
            TRY(bytes_of(r, &f, "quote.quote", &q->attest, &q->attest_len));
            break;
        case 2:
            TRY(once(r, q->sig, "quote.raw_sig"));
            TRY(bytes_of(r, &f, "quote.raw_sig", &q->sig, &q->sig_len));
            break;
        case 3:
            TRY(sb_pb_expect(r, &f, SB_PB_LEN, "quote.pcrs"));
            TRY(once(r, pcrs_seen ? r : NULL, "quote.pcrs"));
            TRY(gotpm_pcrs(&f.body, &q->pcrs));
            pcrs_seen = true;
            break;
        default: break;
        }
    }
    if (!q->attest || !q->sig)
        BAIL(r->err, SB_E_MALFORMED, "tpm: a quote lacks its %s", q->attest ? "raw_sig" : "quote");
    return 0;
}

int sb_tpm_gotpm_parse(const uint8_t *p, size_t n, struct sb_tpm_evidence *out, sb_error *err) {
    if (n > SB_TPM_MAX_CONTAINER)
        BAIL(err, SB_E_LIMIT, "go-tpm-tools: %zu bytes is over the limit of %u", n,
             SB_TPM_MAX_CONTAINER);
    struct sb_tpm_evidence ev = {.format = "go-tpm-tools"};
    sb_reader r;
    sb_reader_init(&r, p, n, "go-tpm-tools", err);
    while (sb_reader_remaining(&r) > 0) {
        struct sb_pb_field f;
        TRY(sb_pb_next(&r, &f));
        switch (f.number) {
        case 1:
            TRY(once(&r, ev.ak, "ak_pub"));
            TRY(bytes_of(&r, &f, "ak_pub", &ev.ak, &ev.ak_len));
            ev.ak_kind = SB_TPM_AK_TPMT_PUBLIC;
            break;
        case 2:
            TRY(sb_pb_expect(&r, &f, SB_PB_LEN, "quotes"));
            if (ev.n_quotes >= SB_TPM_MAX_QUOTES)
                BAIL(err, SB_E_LIMIT, "go-tpm-tools: more than %u quotes", SB_TPM_MAX_QUOTES);
            TRY(gotpm_quote(&f.body, &ev.quotes[ev.n_quotes]));
            ev.n_quotes++;
            break;
        case 3:
            TRY(once(&r, ev.event_log, "event_log"));
            TRY(bytes_of(&r, &f, "event_log", &ev.event_log, &ev.event_log_len));
            break;
        case 6:
            TRY(once(&r, ev.ak_cert, "ak_cert"));
            TRY(bytes_of(&r, &f, "ak_cert", &ev.ak_cert, &ev.ak_cert_len));
            break;
        case 7:
            if (ev.n_intermediates >= SB_TPM_MAX_CERTS)
                BAIL(err, SB_E_LIMIT, "go-tpm-tools: more than %u intermediate certificates",
                     SB_TPM_MAX_CERTS);
            TRY(bytes_of(&r, &f, "intermediate_certs", &ev.intermediates[ev.n_intermediates],
                         &ev.intermediate_len[ev.n_intermediates]));
            ev.n_intermediates++;
            break;
        case 8:
        case 9:
            TRY(sb_pb_expect(&r, &f, SB_PB_LEN, "tee_attestation"));
            ev.has_tee_attestation = true;
            break;
        default: break; /* instance_info, canonical_event_log, later additions */
        }
    }
    if (!ev.ak) BAIL(err, SB_E_MALFORMED, "go-tpm-tools: no ak_pub");
    if (ev.n_quotes == 0) BAIL(err, SB_E_MALFORMED, "go-tpm-tools: no quotes");
    *out = ev;
    return 0;
}

/* ---- JSON containers ------------------------------------------------------------------ */

enum enc { ENC_B64, ENC_B64URL, ENC_HEX, ENC_ARRAY, ENC_STRING };

/* Decodes v (a string in enc, or an array of byte values) into an owned buffer. */
static int json_bytes(struct sb_tpm_evidence *ev, const json_t *v, enum enc enc, size_t max,
                      const char *name, const uint8_t **p, size_t *n, sb_error *err) {
    uint8_t *buf = NULL;
    size_t len = 0;
    if (enc == ENC_ARRAY) {
        if (!json_is_array(v)) BAIL(err, SB_E_MALFORMED, "tpm: %s is not a byte array", name);
        len = json_array_size(v);
        if (len > max) BAIL(err, SB_E_LIMIT, "tpm: %s has %zu bytes (max %zu)", name, len, max);
        buf = malloc(len ? len : 1);
        if (!buf) BAIL(err, SB_E_INTERNAL, "tpm: out of memory");
        for (size_t i = 0; i < len; i++) {
            const json_t *b = json_array_get(v, i);
            json_int_t x = json_is_integer(b) ? json_integer_value(b) : -1;
            if (x < 0 || x > 255) {
                free(buf);
                BAIL(err, SB_E_MALFORMED, "tpm: %s[%zu] is not a byte", name, i);
            }
            buf[i] = (uint8_t)x;
        }
    } else {
        if (!json_is_string(v)) BAIL(err, SB_E_MALFORMED, "tpm: %s is not a string", name);
        const char *s = json_string_value(v);
        size_t sl = json_string_length(v);
        if (sl / 2 > max + 2) BAIL(err, SB_E_LIMIT, "tpm: %s is over %zu bytes", name, max);
        int rc = 0;
        if (enc == ENC_STRING) {
            if (sl > max) BAIL(err, SB_E_LIMIT, "tpm: %s is over %zu bytes", name, max);
            buf = malloc(sl + 1);
            if (!buf) BAIL(err, SB_E_INTERNAL, "tpm: out of memory");
            for (size_t i = 0; i < sl; i++)
                buf[i] = (uint8_t)s[i];
            len = sl;
        } else if (enc == ENC_HEX) {
            rc = sb_hex_decode(s, sl, &buf, &len, err);
        } else if (enc == ENC_B64URL) {
            rc = sb_base64url_decode(s, sl, &buf, &len, err);
        } else {
            rc = sb_base64_decode(s, sl, false, &buf, &len, err);
        }
        if (rc < 0) return sb_error_prefix(err, "tpm: %s", name);
        if (len > max) {
            free(buf);
            BAIL(err, SB_E_LIMIT, "tpm: %s has %zu bytes (max %zu)", name, len, max);
        }
    }
    TRY(own(ev, buf, err));
    *p = buf;
    *n = len;
    return 0;
}

static const json_t *member(const json_t *o, const char *key, const char *ctx, sb_error *err) {
    const json_t *v = json_is_object(o) ? json_object_get(o, key) : NULL;
    if (!v) (void)sb_error_set(err, SB_E_MALFORMED, "tpm: %s has no \"%s\"", ctx, key);
    return v;
}

/* A list of PCR values, the list position being the PCR index. */
static int pcr_list(struct sb_tpm_evidence *ev, const json_t *arr, enum enc enc,
                    struct sb_tpm_pcr_values *v, sb_error *err) {
    if (!json_is_array(arr)) BAIL(err, SB_E_MALFORMED, "tpm: pcrs is not a list");
    size_t n = json_array_size(arr);
    if (n > SB_TPM_MAX_PCRS)
        BAIL(err, SB_E_LIMIT, "tpm: %zu PCR values (max %u)", n, SB_TPM_MAX_PCRS);
    v->alg = SB_TPM_ALG_NULL;
    for (size_t i = 0; i < n; i++) {
        const uint8_t *p;
        size_t len;
        TRY(json_bytes(ev, json_array_get(arr, i), enc, SB_TPM_MAX_DIGEST, "pcrs[]", &p, &len,
                       err));
        if (len == 0) BAIL(err, SB_E_MALFORMED, "tpm: pcrs[%zu] is empty", i);
        v->present |= 1u << i;
        v->value[i] = p;
        v->len[i] = (uint16_t)len;
    }
    return 0;
}

/* Go's crypto.Hash numbering, as go-attestation serializes PCR.DigestAlg. */
static uint16_t go_crypto_hash_alg(json_int_t h) {
    switch (h) {
    case 3: return SB_TPM_ALG_SHA1;
    case 5: return SB_TPM_ALG_SHA256;
    case 6: return SB_TPM_ALG_SHA384;
    case 7: return SB_TPM_ALG_SHA512;
    default: return 0;
    }
}

/* The event log decoded earlier from the same text (sb_tpm_json_parse_memo): the member's
 * string was emptied in the document parsed, and these bytes stand for it. */
struct log_override {
    int member; /* MEMO_LOG_RAW or MEMO_EVENTLOG; 0: none */
    const uint8_t *p;
    size_t n;
};
#define MEMO_LOG_RAW 1  /* go-attestation Log.Raw */
#define MEMO_EVENTLOG 2 /* Trustee / sealbox-tpm top-level "eventlog" */

/* The event log member's value: decoded, or the override (then the value must be the emptied
 * string it stands for). */
static int event_log_of(struct sb_tpm_evidence *ev, const json_t *v, const struct log_override *ov,
                        int member, const char *name, sb_error *err) {
    if (ov && ov->member == member) {
        if (!json_is_string(v) || json_string_length(v) != 0)
            BAIL(err, SB_E_INTERNAL, "tpm: %s: the memoized event log does not match", name);
        ev->event_log = ov->p;
        ev->event_log_len = ov->n;
        return 0;
    }
    return json_bytes(ev, v, ENC_B64, SB_EVENTLOG_MAX_LEN, name, &ev->event_log, &ev->event_log_len,
                      err);
}

static int go_attestation(struct sb_tpm_evidence *ev, const json_t *root,
                          const struct log_override *ov, sb_error *err) {
    ev->format = "go-attestation";
    const json_t *ak = member(root, "AK", "go-attestation", err);
    const json_t *quote = member(root, "Quote", "go-attestation", err);
    const json_t *log = member(root, "Log", "go-attestation", err);
    if (!ak || !quote || !log) return SB_E_MALFORMED;
    const json_t *pub = member(ak, "Public", "AK", err);
    if (!pub) return SB_E_MALFORMED;
    TRY(json_bytes(ev, pub, ENC_B64, SB_TPM_MAX_PUBLIC, "AK.Public", &ev->ak, &ev->ak_len, err));
    ev->ak_kind = SB_TPM_AK_TPMT_PUBLIC;
    struct sb_tpm_quote_ev *q = &ev->quotes[0];
    const json_t *qq = member(quote, "Quote", "Quote", err);
    const json_t *qs = member(quote, "Signature", "Quote", err);
    if (!qq || !qs) return SB_E_MALFORMED;
    TRY(json_bytes(ev, qq, ENC_B64, 4096, "Quote.Quote", &q->attest, &q->attest_len, err));
    TRY(json_bytes(ev, qs, ENC_B64, 4096, "Quote.Signature", &q->sig, &q->sig_len, err));
    const json_t *nonce = json_object_get(quote, "Nonce");
    if (nonce && !json_is_null(nonce))
        TRY(json_bytes(ev, nonce, ENC_B64, SB_TPM_MAX_DATA, "Quote.Nonce", &ev->nonce,
                       &ev->nonce_len, err));
    ev->n_quotes = 1;

    /* The quote says which bank it covers; keep the listed PCRs of that bank. */
    struct sb_tpm_attest a;
    TRY(sb_tpm_attest_parse(q->attest, q->attest_len, &a, err));
    if (a.n_selections != 1)
        BAIL(err, SB_E_UNSUPPORTED, "go-attestation: the quote selects %u banks (expected 1)",
             a.n_selections);
    q->pcrs.alg = a.selections[0].hash;
    const json_t *pcrs = member(log, "PCRs", "Log", err);
    if (!pcrs) return SB_E_MALFORMED;
    if (!json_is_array(pcrs) || json_array_size(pcrs) > JSON_MAX_PCR_ENTRIES)
        BAIL(err, SB_E_LIMIT, "go-attestation: Log.PCRs is not a list of at most %u entries",
             JSON_MAX_PCR_ENTRIES);
    for (size_t i = 0; i < json_array_size(pcrs); i++) {
        const json_t *e = json_array_get(pcrs, i);
        const json_t *idx = json_object_get(e, "Index"), *alg = json_object_get(e, "DigestAlg");
        const json_t *dig = json_object_get(e, "Digest");
        if (!json_is_integer(idx) || !json_is_integer(alg) || !dig)
            BAIL(err, SB_E_MALFORMED, "go-attestation: Log.PCRs[%zu] lacks Index/DigestAlg/Digest",
                 i);
        if (go_crypto_hash_alg(json_integer_value(alg)) != q->pcrs.alg) continue;
        json_int_t k = json_integer_value(idx);
        if (k < 0 || k >= (json_int_t)SB_TPM_MAX_PCRS)
            BAIL(err, SB_E_LIMIT, "go-attestation: Log.PCRs[%zu].Index %lld is out of range", i,
                 (long long)k);
        if (q->pcrs.present & (1u << k))
            BAIL(err, SB_E_MALFORMED, "go-attestation: PCR %lld is listed twice", (long long)k);
        const uint8_t *p;
        size_t len;
        TRY(json_bytes(ev, dig, ENC_B64, SB_TPM_MAX_DIGEST, "Log.PCRs[].Digest", &p, &len, err));
        q->pcrs.present |= 1u << k;
        q->pcrs.value[k] = p;
        q->pcrs.len[k] = (uint16_t)len;
    }
    const json_t *raw = json_object_get(log, "Raw");
    if (raw && !json_is_null(raw)) TRY(event_log_of(ev, raw, ov, MEMO_LOG_RAW, "Log.Raw", err));
    return 0;
}

static int trustee_tpm(struct sb_tpm_evidence *ev, const json_t *root,
                       const struct log_override *ov, sb_error *err) {
    ev->format = "trustee-tpm";
    const json_t *ak = member(root, "ak_public", "tpm_evidence", err);
    const json_t *tq = member(root, "tpm_quote", "tpm_evidence", err);
    if (!ak || !tq) return SB_E_MALFORMED;
    TRY(json_bytes(ev, ak, ENC_B64, 4096, "ak_public", &ev->ak, &ev->ak_len, err));
    ev->ak_kind = SB_TPM_AK_SPKI_DER;
    struct sb_tpm_quote_ev *q = &ev->quotes[0];
    const json_t *m = member(tq, "message", "tpm_quote", err);
    const json_t *s = member(tq, "signature", "tpm_quote", err);
    const json_t *pcrs = member(tq, "pcrs", "tpm_quote", err);
    if (!m || !s || !pcrs) return SB_E_MALFORMED;
    TRY(json_bytes(ev, m, ENC_B64, 4096, "tpm_quote.message", &q->attest, &q->attest_len, err));
    TRY(json_bytes(ev, s, ENC_B64, 4096, "tpm_quote.signature", &q->sig, &q->sig_len, err));
    TRY(pcr_list(ev, pcrs, ENC_HEX, &q->pcrs, err));
    ev->n_quotes = 1;
    const json_t *log = json_object_get(root, "eventlog");
    if (log && !json_is_null(log)) TRY(event_log_of(ev, log, ov, MEMO_EVENTLOG, "eventlog", err));
    return 0;
}

/* sealbox's own TPM evidence (docs/secrets.md "TPM attester"): {"sealbox-tpm": 1, "ak":
 * base64 TPMT_PUBLIC, "quotes": [{"bank", "attest", "signature", "pcrs": {"<index>": hex}}],
 * "eventlog"?: base64}. */
static int sealbox_tpm(struct sb_tpm_evidence *ev, const json_t *root,
                       const struct log_override *ov, sb_error *err) {
    ev->format = "sealbox-tpm";
    const json_t *ver = json_object_get(root, "sealbox-tpm");
    if (!json_is_integer(ver) || json_integer_value(ver) != 1)
        BAIL(err, SB_E_UNSUPPORTED, "sealbox-tpm: version is not 1");
    const json_t *k;
    const char *key;
    json_object_foreach((json_t *)root, key, k) {
        if (strcmp(key, "sealbox-tpm") && strcmp(key, "ak") && strcmp(key, "quotes") &&
            strcmp(key, "eventlog"))
            BAIL(err, SB_E_MALFORMED, "sealbox-tpm: unknown member \"%s\"", key);
    }
    const json_t *ak = member(root, "ak", "sealbox-tpm", err);
    const json_t *quotes = member(root, "quotes", "sealbox-tpm", err);
    if (!ak || !quotes) return SB_E_MALFORMED;
    TRY(json_bytes(ev, ak, ENC_B64, SB_TPM_MAX_PUBLIC, "ak", &ev->ak, &ev->ak_len, err));
    ev->ak_kind = SB_TPM_AK_TPMT_PUBLIC;
    if (!json_is_array(quotes) || json_array_size(quotes) == 0 ||
        json_array_size(quotes) > SB_TPM_MAX_QUOTES)
        BAIL(err, SB_E_LIMIT, "sealbox-tpm: quotes is not a list of 1..%u quotes",
             SB_TPM_MAX_QUOTES);
    for (size_t i = 0; i < json_array_size(quotes); i++) {
        const json_t *jq = json_array_get(quotes, i);
        struct sb_tpm_quote_ev *q = &ev->quotes[i];
        const json_t *bank = member(jq, "bank", "sealbox-tpm quote", err);
        const json_t *m = member(jq, "attest", "sealbox-tpm quote", err);
        const json_t *sg = member(jq, "signature", "sealbox-tpm quote", err);
        const json_t *pcrs = member(jq, "pcrs", "sealbox-tpm quote", err);
        if (!bank || !m || !sg || !pcrs) return SB_E_MALFORMED;
        const char *b = json_string_value(bank);
        q->pcrs.alg = !b                     ? 0
                      : !strcmp(b, "sha1")   ? SB_TPM_ALG_SHA1
                      : !strcmp(b, "sha256") ? SB_TPM_ALG_SHA256
                      : !strcmp(b, "sha384") ? SB_TPM_ALG_SHA384
                      : !strcmp(b, "sha512") ? SB_TPM_ALG_SHA512
                                             : 0;
        if (!q->pcrs.alg)
            BAIL(err, SB_E_MALFORMED,
                 "sealbox-tpm: quotes[%zu].bank is not sha1, sha256, sha384 "
                 "or sha512",
                 i);
        TRY(json_bytes(ev, m, ENC_B64, 4096, "quotes[].attest", &q->attest, &q->attest_len, err));
        TRY(json_bytes(ev, sg, ENC_B64, 4096, "quotes[].signature", &q->sig, &q->sig_len, err));
        if (!json_is_object(pcrs) || json_object_size(pcrs) > SB_TPM_MAX_PCRS)
            BAIL(err, SB_E_LIMIT,
                 "sealbox-tpm: quotes[%zu].pcrs is not an object of at most %u "
                 "PCRs",
                 i, SB_TPM_MAX_PCRS);
        const char *idx;
        const json_t *val;
        json_object_foreach((json_t *)pcrs, idx, val) {
            uint64_t pi;
            TRY(sb_parse_u64(idx, SB_TPM_MAX_PCRS - 1, &pi, err, "sealbox-tpm: PCR index"));
            const uint8_t *vp;
            size_t vl;
            TRY(json_bytes(ev, val, ENC_HEX, SB_TPM_MAX_DIGEST, "quotes[].pcrs[]", &vp, &vl, err));
            if (vl == 0) BAIL(err, SB_E_MALFORMED, "sealbox-tpm: PCR %s is empty", idx);
            q->pcrs.present |= 1u << pi;
            q->pcrs.value[pi] = vp;
            q->pcrs.len[pi] = (uint16_t)vl;
        }
    }
    ev->n_quotes = json_array_size(quotes);
    const json_t *log = json_object_get(root, "eventlog");
    if (log && !json_is_null(log)) TRY(event_log_of(ev, log, ov, MEMO_EVENTLOG, "eventlog", err));
    return 0;
}

static int azure_quote(struct sb_tpm_evidence *ev, const json_t *root, sb_error *err) {
    ev->format = "azure-tpm-quote";
    ev->ak_kind = SB_TPM_AK_NONE;
    struct sb_tpm_quote_ev *q = &ev->quotes[0];
    const json_t *m = member(root, "message", "tpm quote", err);
    const json_t *s = member(root, "signature", "tpm quote", err);
    const json_t *pcrs = member(root, "pcrs", "tpm quote", err);
    if (!m || !s || !pcrs) return SB_E_MALFORMED;
    enum enc enc = json_is_array(m) ? ENC_ARRAY : ENC_HEX; /* Trustee v0 wrote byte arrays */
    TRY(json_bytes(ev, m, enc, 4096, "message", &q->attest, &q->attest_len, err));
    TRY(json_bytes(ev, s, enc, SB_TPM_MAX_RSA_BYTES, "signature", &q->sig, &q->sig_len, err));
    TRY(pcr_list(ev, pcrs, enc, &q->pcrs, err));
    q->sig_raw = true;
    ev->n_quotes = 1;
    return 0;
}

static int json_parse_with(const uint8_t *p, size_t n, const struct log_override *ov,
                           struct sb_tpm_evidence *out, sb_error *err) {
    if (n > SB_TPM_MAX_CONTAINER)
        BAIL(err, SB_E_LIMIT, "tpm: %zu bytes of JSON is over the limit of %u", n,
             SB_TPM_MAX_CONTAINER);
    json_error_t je;
    json_t *root = json_loadb((const char *)p, n, JSON_REJECT_DUPLICATES, &je);
    if (!root)
        BAIL(err, SB_E_MALFORMED, "tpm: JSON: %s (line %d, column %d)", je.text, je.line,
             je.column);
    struct sb_tpm_evidence ev = {0};
    int rc;
    if (json_object_get(root, "sealbox-tpm"))
        rc = sealbox_tpm(&ev, root, ov, err);
    else if (json_object_get(root, "AK") && json_object_get(root, "Quote"))
        rc = go_attestation(&ev, root, ov, err);
    else if (json_object_get(root, "ak_public") && json_object_get(root, "tpm_quote"))
        rc = trustee_tpm(&ev, root, ov, err);
    else if (json_object_get(root, "message") && json_object_get(root, "signature"))
        rc = azure_quote(&ev, root, err);
    else
        rc = sb_error_set(err, SB_E_UNSUPPORTED, "tpm: JSON is not a known TPM container");
    json_decref(root);
    if (rc < 0) {
        sb_tpm_evidence_free(&ev);
        return rc;
    }
    *out = ev;
    return 0;
}

int sb_tpm_json_parse(const uint8_t *p, size_t n, struct sb_tpm_evidence *out, sb_error *err) {
    return json_parse_with(p, n, NULL, out, err);
}

/* ---- the event-log memo: locating one member's string without parsing ------------------ */

#define SCAN_DEPTH 32 /* containers nested deeper: not located (the full parse decides) */

static int sc_peek(sb_reader *r, uint8_t *c) {
    size_t save = r->off;
    TRY(sb_reader_u8(r, c, "JSON"));
    r->off = save;
    return 0;
}

static void sc_ws(sb_reader *r) {
    uint8_t c;
    while (sc_peek(r, &c) == 0 && (c == ' ' || c == '\t' || c == '\n' || c == '\r'))
        r->off++;
}

static int sc_expect(sb_reader *r, uint8_t want) {
    uint8_t c;
    TRY(sb_reader_u8(r, &c, "JSON"));
    return c == want ? 0 : SB_E_MALFORMED;
}

/* After the opening quote, up to and including the closing one. Only the token's extent is
 * found (escapes skipped); whether it is a valid string is jansson's to say. */
static int sc_string(sb_reader *r) {
    for (;;) {
        TRY(sb_reader_skip(r, sb_reader_span_to(r, '"', '\\'), "JSON string"));
        uint8_t c;
        TRY(sb_reader_u8(r, &c, "JSON string"));
        if (c == '"') return 0;
        TRY(sb_reader_u8(r, &c, "JSON escape"));
    }
}

static int sc_value(sb_reader *r, int depth);

static bool sc_lit(uint8_t c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '-' ||
           c == '+' || c == '.';
}

/* After '{' or '[': the members up to and including the closing bracket. */
static int sc_container(sb_reader *r, int depth, bool object) {
    if (depth >= SCAN_DEPTH) return SB_E_LIMIT;
    uint8_t close = object ? '}' : ']', c;
    sc_ws(r);
    TRY(sc_peek(r, &c));
    if (c == close) return sb_reader_skip(r, 1, "JSON");
    for (;;) {
        sc_ws(r);
        if (object) {
            TRY(sc_expect(r, '"'));
            TRY(sc_string(r));
            sc_ws(r);
            TRY(sc_expect(r, ':'));
            sc_ws(r);
        }
        TRY(sc_value(r, depth + 1));
        sc_ws(r);
        TRY(sb_reader_u8(r, &c, "JSON"));
        if (c == close) return 0;
        if (c != ',') return SB_E_MALFORMED;
    }
}

static int sc_value(sb_reader *r, int depth) {
    uint8_t c;
    TRY(sb_reader_u8(r, &c, "JSON"));
    if (c == '"') return sc_string(r);
    if (c == '{' || c == '[') return sc_container(r, depth, c == '{');
    /* numbers and literals: a run of the characters they are made of */
    if (!sc_lit(c)) return SB_E_MALFORMED;
    while (sc_peek(r, &c) == 0 && sc_lit(c))
        r->off++;
    return 0;
}

/* In the object at r (after its '{'), the value of member key: its reader position. */
static int sc_member(sb_reader *r, const char *key, int depth) {
    size_t kl = strlen(key);
    uint8_t c;
    sc_ws(r);
    TRY(sc_peek(r, &c));
    if (c == '}') return SB_E_NOTFOUND;
    for (;;) {
        sc_ws(r);
        TRY(sc_expect(r, '"'));
        size_t k0 = r->off;
        TRY(sc_string(r));
        size_t k1 = r->off - 1;
        sc_ws(r);
        TRY(sc_expect(r, ':'));
        sc_ws(r);
        if (k1 - k0 == kl) {
            sb_reader kr = *r;
            const uint8_t *kb;
            kr.off = k0;
            TRY(sb_reader_bytes(&kr, kl, &kb, "JSON key"));
            if (memcmp(kb, key, kl) == 0) return 0;
        }
        TRY(sc_value(r, depth + 1));
        sc_ws(r);
        TRY(sb_reader_u8(r, &c, "JSON"));
        if (c == '}') return SB_E_NOTFOUND;
        if (c != ',') return SB_E_MALFORMED;
    }
}

/* The extent of the string that is the value of member path[0].path[1]... (depth members from
 * the top-level object): *open is the offset of its opening quote, *close of its closing one. */
static int sc_locate(const uint8_t *p, size_t n, const char *const *path, size_t depth,
                     size_t *open, size_t *close) {
    sb_reader r;
    sb_reader_init(&r, p, n, "tpm JSON", NULL);
    sc_ws(&r);
    TRY(sc_expect(&r, '{'));
    for (size_t i = 0; i < depth; i++) {
        TRY(sc_member(&r, path[i], (int)i));
        if (i + 1 < depth) TRY(sc_expect(&r, '{'));
    }
    *open = r.off;
    TRY(sc_expect(&r, '"'));
    TRY(sc_string(&r));
    *close = r.off - 1;
    return 0;
}

void sb_tpm_json_memo_clear(struct sb_tpm_json_memo *m) {
    if (!m) return;
    free(m->text);
    free(m->decoded);
    memset(m, 0, sizeof(*m));
}

static void memo_store(struct sb_tpm_json_memo *m, int member, const uint8_t *text, size_t tn,
                       const uint8_t *dec, size_t dn) {
    sb_tpm_json_memo_clear(m);
    uint8_t *t = malloc(tn ? tn : 1), *d = malloc(dn ? dn : 1);
    if (!t || !d) {
        free(t);
        free(d);
        return; /* out of memory: no memo, nothing else changes */
    }
    sb_reader r;
    sb_reader_init(&r, text, tn, "memo", NULL);
    sb_reader dr;
    sb_reader_init(&dr, dec, dn, "memo", NULL);
    if (sb_reader_copy(&r, t, tn, "text") < 0 || sb_reader_copy(&dr, d, dn, "log") < 0) {
        free(t);
        free(d);
        return;
    }
    m->member = member;
    m->text = t;
    m->text_len = tn;
    m->decoded = d;
    m->decoded_len = dn;
}

int sb_tpm_json_parse_memo(const uint8_t *p, size_t n, struct sb_tpm_json_memo *memo,
                           struct sb_tpm_evidence *out, sb_error *err) {
    if (!memo || n > SB_TPM_MAX_CONTAINER || n < SB_TPM_JSON_MEMO_MIN)
        return json_parse_with(p, n, NULL, out, err);
    static const char *const log_raw[2] = {"Log", "Raw"}, *const eventlog[1] = {"eventlog"};
    size_t open = 0, close = 0;
    int member = 0;
    if (sc_locate(p, n, log_raw, 2, &open, &close) == 0)
        member = MEMO_LOG_RAW;
    else if (sc_locate(p, n, eventlog, 1, &open, &close) == 0)
        member = MEMO_EVENTLOG;
    size_t tn = member ? close - open - 1 : 0;
    if (!member || tn < SB_TPM_JSON_MEMO_MIN) return json_parse_with(p, n, NULL, out, err);
    sb_reader r;
    sb_reader_init(&r, p, n, "tpm JSON", err);
    const uint8_t *head, *text, *tail;
    TRY(sb_reader_bytes(&r, open + 1, &head, "JSON"));
    TRY(sb_reader_bytes(&r, tn, &text, "JSON string"));
    TRY(sb_reader_bytes(&r, n - close, &tail, "JSON"));
    if (memo->member == member && memo->text_len == tn && memcmp(memo->text, text, tn) == 0) {
        /* the same text as before: parse the document with that string emptied */
        sb_writer w;
        sb_writer_init(&w, n);
        (void)sb_writer_bytes(&w, head, open + 1);
        (void)sb_writer_bytes(&w, tail, n - close);
        if (sb_writer_status(&w) == 0) {
            struct log_override ov = {member, memo->decoded, memo->decoded_len};
            sb_error e2 = {0};
            /* (every value of out is a decoded copy: nothing points into w) */
            int rc = json_parse_with(w.buf, w.len, &ov, out, &e2);
            sb_writer_free(&w);
            if (rc == 0) return 0;
            /* not parsed: the whole document is, for its exact error */
        } else {
            sb_writer_free(&w);
        }
    }
    TRY(json_parse_with(p, n, NULL, out, err));
    bool used = (member == MEMO_LOG_RAW && !strcmp(out->format, "go-attestation")) ||
                (member == MEMO_EVENTLOG &&
                 (!strcmp(out->format, "trustee-tpm") || !strcmp(out->format, "sealbox-tpm")));
    if (used && out->event_log)
        memo_store(memo, member, text, tn, out->event_log, out->event_log_len);
    return 0;
}

/* ---- Azure quote.bin (bincode) --------------------------------------------------------- */

static int bincode_vec(sb_reader *r, size_t max, sb_reader *sub, const char *field) {
    size_t at = sb_reader_offset(r);
    uint64_t len;
    TRY(sb_reader_u64le(r, &len, field));
    if (len > max)
        BAIL(r->err, SB_E_LIMIT, "%s: %s length %llu at offset 0x%zx is over the limit of %zu",
             r->what, field, (unsigned long long)len, at, max);
    return sb_reader_sub(r, (size_t)len, sub, field);
}

int sb_tpm_bincode_quote_parse(const uint8_t *p, size_t n, struct sb_tpm_evidence *out,
                               sb_error *err) {
    struct sb_tpm_evidence ev = {.format = "azure-tpm-quote", .ak_kind = SB_TPM_AK_NONE};
    struct sb_tpm_quote_ev *q = &ev.quotes[0];
    sb_reader r, sig, msg;
    sb_reader_init(&r, p, n, "azure quote.bin", err);
    TRY(bincode_vec(&r, SB_TPM_MAX_RSA_BYTES, &sig, "signature"));
    q->sig_len = sb_reader_remaining(&sig);
    TRY(sb_reader_bytes(&sig, q->sig_len, &q->sig, "signature"));
    TRY(bincode_vec(&r, 4096, &msg, "message"));
    q->attest_len = sb_reader_remaining(&msg);
    TRY(sb_reader_bytes(&msg, q->attest_len, &q->attest, "message"));
    size_t at = sb_reader_offset(&r);
    uint64_t count;
    TRY(sb_reader_u64le(&r, &count, "pcrs"));
    if (count > SB_TPM_MAX_PCRS)
        BAIL(err, SB_E_LIMIT, "azure quote.bin: %llu PCRs at offset 0x%zx (max %u)",
             (unsigned long long)count, at, SB_TPM_MAX_PCRS);
    q->pcrs.alg = SB_TPM_ALG_SHA256;
    for (uint64_t i = 0; i < count; i++) {
        TRY(sb_reader_bytes(&r, 32, &q->pcrs.value[i], "pcrs[]"));
        q->pcrs.len[i] = 32;
        q->pcrs.present |= 1u << i;
    }
    TRY(sb_reader_end(&r, "quote"));
    q->sig_raw = true;
    ev.n_quotes = 1;
    *out = ev;
    return 0;
}

/* ---- Trustee az-snp-vtpm evidence JSON -------------------------------------------------- */

void sb_azure_evidence_free(struct sb_azure_evidence *ev) {
    if (ev) sb_tpm_evidence_free(&ev->quote);
}

static int azure_evidence(struct sb_azure_evidence *az, const json_t *root, sb_error *err) {
    struct sb_tpm_evidence *ev = &az->quote;
    const json_t *version = json_object_get(root, "version");
    if (!version) {
        /* v0: {quote: {signature, message, pcrs as byte arrays}, report: bytes, vcek: PEM} */
        const json_t *q = member(root, "quote", "azure evidence", err);
        const json_t *rep = member(root, "report", "azure evidence", err);
        const json_t *vcek = member(root, "vcek", "azure evidence", err);
        if (!q || !rep || !vcek) return SB_E_MALFORMED;
        TRY(azure_quote(ev, q, err));
        TRY(json_bytes(ev, rep, ENC_ARRAY, SB_HCL_MAX_LEN, "report", &az->hcl, &az->hcl_len, err));
        TRY(json_bytes(ev, vcek, ENC_STRING, 65536, "vcek", &az->vcek, &az->vcek_len, err));
        az->version = 0;
        return 0;
    }
    json_int_t v = json_is_integer(version) ? json_integer_value(version) : -1;
    if (v != 1 && v != 2)
        BAIL(err, SB_E_UNSUPPORTED, "azure evidence: version %lld is not 0, 1 or 2", (long long)v);
    const json_t *q = member(root, "tpm_quote", "azure evidence", err);
    const json_t *hcl = member(root, "hcl_report", "azure evidence", err);
    const json_t *vcek = member(root, "vcek", "azure evidence", err);
    if (!q || !hcl || !vcek) return SB_E_MALFORMED;
    TRY(azure_quote(ev, q, err));
    TRY(json_bytes(ev, hcl, ENC_B64URL, SB_HCL_MAX_LEN, "hcl_report", &az->hcl, &az->hcl_len, err));
    TRY(json_bytes(ev, vcek, ENC_B64URL, 65536, "vcek", &az->vcek, &az->vcek_len, err));
    az->version = (uint32_t)v;
    return 0;
}

int sb_azure_evidence_json_parse(const uint8_t *p, size_t n, struct sb_azure_evidence *out,
                                 sb_error *err) {
    if (n > SB_TPM_MAX_CONTAINER)
        BAIL(err, SB_E_LIMIT, "azure evidence: %zu bytes of JSON is over the limit of %u", n,
             SB_TPM_MAX_CONTAINER);
    json_error_t je;
    json_t *root = json_loadb((const char *)p, n, JSON_REJECT_DUPLICATES, &je);
    if (!root)
        BAIL(err, SB_E_MALFORMED, "azure evidence: JSON: %s (line %d, column %d)", je.text, je.line,
             je.column);
    struct sb_azure_evidence az = {0};
    int rc = json_is_object(root)
                 ? azure_evidence(&az, root, err)
                 : sb_error_set(err, SB_E_MALFORMED, "azure evidence: not a JSON object");
    json_decref(root);
    if (rc < 0) {
        sb_azure_evidence_free(&az);
        return rc;
    }
    *out = az;
    return 0;
}
