/* evidence: one parser per attestation format, from untrusted bytes to plain structs, using
 * only the bounds-checked reader. No cryptography here: src/verify/ authenticates. */
#ifndef SB_EVIDENCE_H
#define SB_EVIDENCE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/util.h"

/* Each platform keeps its declarations in its own section below (one owner per section). */

/* ==== AMD SEV-SNP ======================================================================= */

/* ==== Intel TDX / SGX DCAP quotes and collateral ========================================= */

/* ==== CBOR / COSE / AWS Nitro ============================================================= */

/* A bounded CBOR (RFC 8949) reader. Reading an item validates it completely — every nested
 * item, every declared count and length against the bytes that remain (before any loop),
 * nesting depth, UTF-8 of text strings, duplicate map keys, preferred (shortest) encoding of
 * integers, lengths and counts — and yields views into the input, never copies. Indefinite
 * lengths are rejected. Use sb_cbor_iter_* / sb_cbor_map_get_* to walk containers. */
#define SB_CBOR_MAX_DEPTH 16       /* nesting of arrays, maps and tags */
#define SB_CBOR_MAX_MAP_PAIRS 1024 /* pairs per map (duplicate-key checking is pairwise) */

enum sb_cbor_type {
    SB_CBOR_UINT,   /* major 0 */
    SB_CBOR_NEGINT, /* major 1: the value is -1 - val */
    SB_CBOR_BYTES,  /* major 2 */
    SB_CBOR_TEXT,   /* major 3, valid UTF-8 */
    SB_CBOR_ARRAY,  /* major 4 */
    SB_CBOR_MAP,    /* major 5 */
    SB_CBOR_TAG,    /* major 6: val = tag number, one enclosed item */
    SB_CBOR_SIMPLE, /* major 7 simple values: 20 false, 21 true, 22 null, 23 undefined, ... */
    SB_CBOR_FLOAT,  /* major 7 half/single/double: data views the 2/4/8 big-endian bytes */
    SB_CBOR_TYPE_MAX
};

typedef struct sb_cbor_item {
    enum sb_cbor_type type;
    uint64_t val;        /* UINT/NEGINT argument, ARRAY/MAP count (pairs), TAG number, SIMPLE
                            value; unused for BYTES/TEXT/FLOAT */
    const uint8_t *data; /* BYTES/TEXT/FLOAT content; ARRAY/MAP/TAG: the enclosed items */
    size_t len;          /* length of data */
    size_t data_offset;  /* absolute offset of data within the outermost input */
    const uint8_t *raw;  /* the whole encoded item, head included */
    size_t raw_len;
    size_t offset;  /* absolute offset of raw within the outermost input */
    unsigned depth; /* 0 for a top-level item */
    const char *what;
    sb_error *err;
} sb_cbor_item;

/* Reads exactly one complete, valid item from r (advancing past it). */
int sb_cbor_read(sb_reader *r, sb_cbor_item *out, const char *field) SB_WUR;
/* The whole of p[0..n) must be exactly one item (trailing bytes are SB_E_MALFORMED). */
int sb_cbor_decode(const uint8_t *p, size_t n, const char *what, sb_error *err,
                   sb_cbor_item *out) SB_WUR;
const char *sb_cbor_type_name(enum sb_cbor_type t);

/* Walks the elements of an array (key NULL is fine for arrays and yields the element in
 * *elem) or the pairs of a map (*elem is the key, *val the value). Returns 1 with an item,
 * 0 at the end, < 0 on error. */
typedef struct sb_cbor_iter {
    sb_reader r;
    uint64_t left;
    unsigned depth;
    bool map;
} sb_cbor_iter;
int sb_cbor_iter_init(const sb_cbor_item *container, sb_cbor_iter *it, const char *field) SB_WUR;
int sb_cbor_iter_next(sb_cbor_iter *it, sb_cbor_item *elem, sb_cbor_item *val) SB_WUR;

/* Map lookups; SB_E_NOTFOUND (with a message naming the key) when absent. */
int sb_cbor_map_get_text(const sb_cbor_item *map, const char *key, sb_cbor_item *out) SB_WUR;
int sb_cbor_map_get_int(const sb_cbor_item *map, int64_t key, sb_cbor_item *out) SB_WUR;
/* Element idx of an array; SB_E_NOTFOUND past the end. */
int sb_cbor_array_get(const sb_cbor_item *arr, size_t idx, sb_cbor_item *out) SB_WUR;

/* Typed accessors: SB_E_MALFORMED naming field when the item has another type or range. */
int sb_cbor_get_uint(const sb_cbor_item *it, uint64_t *out, const char *field) SB_WUR;
int sb_cbor_get_int(const sb_cbor_item *it, int64_t *out, const char *field) SB_WUR;
int sb_cbor_get_bytes(const sb_cbor_item *it, const uint8_t **p, size_t *n,
                      const char *field) SB_WUR;
/* Text content (not NUL-terminated). */
int sb_cbor_get_text(const sb_cbor_item *it, const char **p, size_t *n, const char *field) SB_WUR;
int sb_cbor_get_bool(const sb_cbor_item *it, bool *out, const char *field) SB_WUR;
int sb_cbor_get_double(const sb_cbor_item *it, double *out, const char *field) SB_WUR;
bool sb_cbor_is_null(const sb_cbor_item *it);
bool sb_cbor_text_eq(const sb_cbor_item *it, const char *s);
/* The item enclosed by a tag; SB_E_MALFORMED unless it is tag `tag`. */
int sb_cbor_untag(const sb_cbor_item *it, uint64_t tag, sb_cbor_item *out,
                  const char *field) SB_WUR;

/* Encoding (preferred serialization) into an sb_writer; errors latch in the writer. */
int sb_cbor_put_head(sb_writer *w, unsigned major, uint64_t arg);
int sb_cbor_put_uint(sb_writer *w, uint64_t v);
int sb_cbor_put_int(sb_writer *w, int64_t v);
int sb_cbor_put_bytes(sb_writer *w, const void *p, size_t n);
int sb_cbor_put_text(sb_writer *w, const char *s);
int sb_cbor_put_array(sb_writer *w, uint64_t count);
int sb_cbor_put_map(sb_writer *w, uint64_t pairs);
int sb_cbor_put_tag(sb_writer *w, uint64_t tag);
int sb_cbor_put_simple(sb_writer *w, uint8_t v); /* 20 false, 21 true, 22 null */

/* COSE_Sign1 (RFC 9052 §4.2), untagged or under tag 18. The protected header must be a
 * serialized map carrying the algorithm (label 1); an unprotected header of null is accepted as
 * an empty map (some attesters emit it; it is not signed either way). Detached payloads and
 * critical headers ("crit") are refused. */
enum sb_cose_alg { SB_COSE_ES256 = -7, SB_COSE_ES384 = -35, SB_COSE_ES512 = -36 };

typedef struct sb_cose_sign1 {
    bool tagged;
    int64_t alg;         /* one of enum sb_cose_alg */
    const uint8_t *prot; /* the protected bstr's content, exactly as received */
    size_t prot_len;
    sb_cbor_item unprotected; /* a map, or null */
    const uint8_t *payload;
    size_t payload_len, payload_offset;
    const uint8_t *signature; /* raw r||s of the algorithm's width */
    size_t signature_len;
} sb_cose_sign1;

int sb_cose_sign1_parse(const uint8_t *p, size_t n, const char *what, sb_error *err,
                        sb_cose_sign1 *out) SB_WUR;
/* Appends the ToBeSigned bytes ["Signature1", protected, external_aad, payload] (canonical
 * CBOR; the protected bytes as received) to w. */
int sb_cose_sign1_tbs(const sb_cose_sign1 *c, const uint8_t *aad, size_t aad_len,
                      sb_writer *w) SB_WUR;
/* The raw-signature width of an algorithm (64, 96, 132), 0 if unknown. */
size_t sb_cose_sig_len(int64_t alg);

/* AWS Nitro Enclaves attestation document: COSE_Sign1 whose payload is the map of
 * module_id, digest, timestamp, pcrs, certificate, cabundle, public_key, user_data, nonce. */
#define SB_NITRO_MAX_PCRS 32        /* PCR indexes 0..31 */
#define SB_NITRO_MAX_CABUNDLE 8     /* intermediates plus root */
#define SB_NITRO_MAX_CERT_LEN 4096  /* one DER certificate */
#define SB_NITRO_MAX_FIELD_LEN 4096 /* public_key, user_data, nonce (NSM allows 1024) */
#define SB_NITRO_MAX_MODULE_ID_LEN 256
#define SB_NITRO_MAX_DOC_LEN (1u << 20) /* one document, raw or base64 */

typedef struct sb_nitro_view {
    const uint8_t *p;
    size_t n;
} sb_nitro_view;

typedef struct sb_nitro_doc {
    sb_cose_sign1 cose;
    const char *module_id; /* not NUL-terminated */
    size_t module_id_len;
    uint64_t timestamp; /* as stated: milliseconds since the epoch for NSM documents */
    size_t n_pcrs;
    struct {
        unsigned index;
        const uint8_t *p;
        size_t n; /* 32, 48 or 64, the same for every PCR */
    } pcrs[SB_NITRO_MAX_PCRS];
    sb_nitro_view certificate;                     /* the signing (leaf) certificate, DER */
    size_t n_cabundle;                             /* 0 when cabundle is null or empty */
    sb_nitro_view cabundle[SB_NITRO_MAX_CABUNDLE]; /* [root, ..., issuer of the leaf] */
    bool has_public_key, has_user_data, has_nonce; /* absent or null: false */
    sb_nitro_view public_key, user_data, nonce;
    size_t n_unknown_keys; /* payload keys this parser does not know (reported, not used) */
} sb_nitro_doc;

/* Parses a raw CBOR document; every view points into p. */
int sb_nitro_parse(const uint8_t *p, size_t n, sb_error *err, sb_nitro_doc *out) SB_WUR;
/* The two encodings found in the wild: raw CBOR (starts with 0x84 or tag 18) or base64 text of
 * it (surrounding whitespace allowed). *doc and *doclen point into p, or into *owned (malloc'ed,
 * caller frees) when base64 was decoded. */
int sb_nitro_unwrap(const uint8_t *p, size_t n, uint8_t **owned, const uint8_t **doc,
                    size_t *doclen, sb_error *err) SB_WUR;
/* True when p looks like a Nitro document in either encoding (cheap; never fails). */
bool sb_nitro_sniff(const uint8_t *p, size_t n);

/* ==== NVIDIA SPDM ========================================================================= */

/* ==== TPM 2.0 and TCG event logs ========================================================== */

#endif
