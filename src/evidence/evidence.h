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

/* Limits for DCAP quotes (v3 SGX, v4/v5 TDX and SGX). A real quote is about 5 KiB. */
#define SB_DCAP_QUOTE_MAX (256u * 1024u)    /* whole input handed to the parser */
#define SB_DCAP_SIG_DATA_MAX (64u * 1024u)  /* the u32 signature-data length */
#define SB_DCAP_CERT_DATA_MAX (48u * 1024u) /* one certification-data payload */
#define SB_DCAP_AUTH_DATA_MAX 4096u         /* QE authentication data (u16 length) */
#define SB_DCAP_HEADER_LEN 48u
#define SB_DCAP_SGX_BODY_LEN 384u
#define SB_DCAP_TD10_BODY_LEN 584u
#define SB_DCAP_TD15_BODY_LEN 648u
#define SB_DCAP_TEE_SGX 0x00000000u
#define SB_DCAP_TEE_TDX 0x00000081u
#define SB_DCAP_ATT_KEY_ECDSA_P256 2u
#define SB_DCAP_CERT_PCK_CHAIN 5u /* concatenated PEM: PCK, PCK CA, root */
#define SB_DCAP_CERT_QE_REPORT 6u /* QE report certification data wrapping another type */

/* v5 body types; v3/v4 quotes imply SGX (tee 0) or TD 1.0 (tee 0x81). */
enum sb_dcap_body { SB_DCAP_BODY_SGX = 1, SB_DCAP_BODY_TD10 = 2, SB_DCAP_BODY_TD15 = 3 };

/* SGX enclave report body (384 bytes): the quoted enclave of an SGX quote and the QE report. */
struct sb_sgx_report {
    uint8_t cpusvn[16];
    uint32_t miscselect;
    uint8_t isvextprodid[16];
    uint8_t attributes[16]; /* flags (u64 LE, bit 1 = DEBUG) then xfrm */
    uint8_t mrenclave[32];
    uint8_t mrsigner[32];
    uint8_t configid[64];
    uint16_t isvprodid, isvsvn, configsvn;
    uint8_t isvfamilyid[16];
    uint8_t report_data[64];
};

/* TD report body: TDX 1.0 (584 bytes) and the TDX 1.5 extension (648 bytes). */
struct sb_td_report {
    uint8_t tee_tcb_svn[16];
    uint8_t mrseam[48], mrsignerseam[48];
    uint64_t seam_attributes, td_attributes, xfam;
    uint8_t mrtd[48], mrconfigid[48], mrowner[48], mrownerconfig[48];
    uint8_t rtmr[4][48];
    uint8_t report_data[64];
    bool v15; /* the two fields below are present */
    uint8_t tee_tcb_svn2[16];
    uint8_t mrservicetd[48];
};

/* A parsed quote. Pointers are views into the input, valid while it lives. */
struct sb_dcap_quote {
    uint16_t version, att_key_type;
    uint32_t tee_type;
    uint16_t qe_svn, pce_svn; /* header fields (reserved in some versions) */
    uint8_t qe_vendor_id[16];
    uint8_t user_data[20];
    enum sb_dcap_body body_type;
    struct sb_sgx_report sgx;   /* body_type SGX */
    struct sb_td_report td;     /* body_type TD10 / TD15 */
    const uint8_t *signed_data; /* header || [v5 type||size] || body: what the quote key signs */
    size_t signed_len;
    uint8_t sig[64];              /* ECDSA P-256 r||s, big-endian */
    uint8_t attest_key[64];       /* P-256 point x||y */
    const uint8_t *qe_report_raw; /* 384 bytes signed by the PCK key */
    struct sb_sgx_report qe_report;
    uint8_t qe_report_sig[64];
    const uint8_t *qe_auth;
    size_t qe_auth_len;
    uint16_t cert_type; /* the innermost certification data type (5 for a PCK chain) */
    const uint8_t *cert_data;
    size_t cert_data_len;
    size_t quote_len;    /* bytes of the declared structure (header .. end of sig data) */
    size_t trailing_len; /* input bytes after it (see sb_dcap_quote_parse) */
    bool trailing_zero;  /* every trailing byte is 0x00 */
};

/* Parses a DCAP quote: v3 (SGX), v4 (SGX or TDX 1.0), v5 (body type 1/2/3). Every size field is
 * checked against the bytes it must describe exactly: the signature data must be filled exactly
 * by its parts, certification data type 6 exactly by QE report, signature, auth data and the
 * nested certification data. Trailing-bytes rule: bytes after the end of the signature data are
 * covered by no signature and are not part of the quote; they are accepted and reported in
 * trailing_len / trailing_zero so that the verifier states them as a warning claim. Inputs
 * over SB_DCAP_QUOTE_MAX are SB_E_LIMIT. */
int sb_dcap_quote_parse(const uint8_t *p, size_t n, struct sb_dcap_quote *q, sb_error *err) SB_WUR;
/* Parses one 384-byte SGX report body. */
int sb_sgx_report_parse(const uint8_t *p, size_t n, struct sb_sgx_report *out,
                        sb_error *err) SB_WUR;
/* Cheap recognizer: version/key type/tee type/vendor id of a DCAP quote header; never fails. */
bool sb_dcap_quote_sniff(const uint8_t *p, size_t n, bool *is_tdx);

/* The Intel SGX extension of a PCK certificate (OID 1.2.840.113741.1.13.1), parsed from the
 * extension's DER value by our own bounded DER reader. */
#define SB_PCK_EXT_MAX 4096u
struct sb_pck_ext {
    uint8_t ppid[16];
    uint8_t comp_svn[16]; /* SGX TCB components 1..16 */
    uint16_t pcesvn;
    uint8_t cpusvn[16];
    uint8_t pceid[2];
    uint8_t fmspc[6];
    int sgx_type;                  /* 0 standard, 1 scalable, 2 scalable with integrity */
    bool has_platform_instance_id; /* Platform CA certificates only */
    uint8_t platform_instance_id[16];
    int dynamic_platform, cached_keys, smt_enabled; /* -1 when absent */
};
int sb_pck_ext_parse(const uint8_t *der, size_t n, struct sb_pck_ext *out, sb_error *err) SB_WUR;
/* The DER Name of an X.509 structure: a certificate's subject, or a CRL's issuer (crl = true).
 * Used to pair CRLs with the CA that must have signed them. *name is a view into der. */
int sb_der_x509_name(const uint8_t *der, size_t n, bool crl, const uint8_t **name, size_t *name_len,
                     sb_error *err) SB_WUR;

/* Intel collateral JSON (PCS responses: {"tcbInfo": {...}, "signature": "<hex>"} and
 * {"enclaveIdentity": {...}, "signature": "<hex>"}). The signature covers the exact bytes of
 * the inner object, so they are located with the reader before any JSON parser sees them: the
 * top level must be one object whose keys are plain strings (no escapes), with no duplicate
 * key, nesting at most SB_DCAP_JSON_DEPTH deep, SB_DCAP_COLLATERAL_MAX bytes at most. */
#define SB_DCAP_COLLATERAL_MAX (1024u * 1024u)
#define SB_DCAP_JSON_DEPTH 16
struct sb_dcap_signed_json {
    const char *member;  /* "tcbInfo" or "enclaveIdentity" */
    const uint8_t *body; /* the exact signed bytes of that member's object value */
    size_t body_len;
    size_t body_off;
    const char *sig_hex; /* the "signature" string's characters (no quotes) */
    size_t sig_hex_len;
};
/* Locates "tcbInfo" or "enclaveIdentity" (whichever is present; SB_E_NOTFOUND if neither). */
int sb_dcap_signed_json_locate(const uint8_t *p, size_t n, struct sb_dcap_signed_json *out,
                               sb_error *err) SB_WUR;

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

/* ==== NVIDIA SPDM ========================================================================= */

/* ==== TPM 2.0 and TCG event logs ========================================================== */

#endif
