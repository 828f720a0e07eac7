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

/* Limits for the SNP report and its wrappers (evidence is unauthenticated input). */
#define SB_SNP_REPORT_LEN 1184u           /* 0x4A0 */
#define SB_SNP_SIGNED_LEN 0x2A0u          /* the signature covers [0, 0x2A0) */
#define SB_SNP_SIG_OFFSET 0x2A0u          /* r[72] || s[72], little-endian, then 368 reserved */
#define SB_SNP_SIG_COMPONENT_LEN 72u      /* each of r and s */
#define SB_SNP_TRAILING_MAX 4096u         /* extra bytes tolerated after a raw report */
#define SB_SNP_VERSION_MIN 2u             /* versions 0/1 predate the published layout */
#define SB_SNP_VERSION_LATEST 5u          /* newest layout we know (mitigation vectors) */
#define SB_SNP_VERSION_MAX 31u            /* above this a "version" is garbage, not the future */
#define SB_SNP_WRAPPER_MAX (512u * 1024u) /* JSON/CBOR wrappers: whole input */
#define SB_SNP_CERT_MAX 16384u            /* one certificate (DER or PEM) or CRL */
#define SB_SNP_CERTS_MAX 8u               /* certificate-table entries / cert_chain items */

enum sb_snp_signing_key { SB_SNP_KEY_VCEK = 0, SB_SNP_KEY_VLEK = 1, SB_SNP_KEY_NONE = 7 };

enum sb_snp_product {
    SB_SNP_PRODUCT_UNKNOWN,
    SB_SNP_PRODUCT_MILAN,
    SB_SNP_PRODUCT_GENOA,
    SB_SNP_PRODUCT_TURIN,
    SB_SNP_PRODUCT_MAX
};

/* One TCB_VERSION decoded for a product. Milan/Genoa: byte 0 BL, 1 TEE, 6 SNP, 7 ucode.
 * Turin: byte 0 FMC, 1 BL, 2 TEE, 3 SNP, 7 ucode (has_fmc). */
struct sb_snp_tcb {
    uint8_t fmc, bootloader, tee, snp, microcode;
    bool has_fmc;
};

/* The report, field by field (ABI spec 56860 table 23), plus the raw bytes the signature
 * covers. Fields a version lacks are zero (cpuid before v3, mitigation vectors before v5). */
struct sb_snp_report {
    uint32_t version, guest_svn;
    uint64_t policy;
    uint8_t family_id[16], image_id[16];
    uint32_t vmpl, sig_algo;
    uint64_t current_tcb, platform_info;
    uint32_t key_info; /* bit 0 AUTHOR_KEY_EN, bit 1 MASK_CHIP_KEY, bits 4:2 SIGNING_KEY */
    bool author_key_en, mask_chip_key;
    enum sb_snp_signing_key signing_key;
    uint8_t report_data[64], measurement[48], host_data[32];
    uint8_t id_key_digest[48], author_key_digest[48], report_id[32], report_id_ma[32];
    uint64_t reported_tcb;
    uint8_t cpuid_fam_id, cpuid_mod_id, cpuid_step; /* v3+ */
    uint8_t chip_id[64];
    uint64_t committed_tcb;
    uint8_t current_build, current_minor, current_major;
    uint8_t committed_build, committed_minor, committed_major;
    uint64_t launch_tcb;
    uint64_t launch_mit_vector, current_mit_vector; /* v5 */
    uint8_t sig_r[72], sig_s[72];                   /* little-endian, as stored */
    uint8_t raw[SB_SNP_REPORT_LEN];                 /* the report as received */
    bool known_version; /* 2, 3 or 5; others (4, 6..31) were read with the v5 layout */
    size_t trailing;    /* bytes after the 1184-byte report (see sb_snp_report_parse) */
};

/* Parses a raw report. Trailing-bytes rule (one rule for every SNP input): a report followed by
 * up to SB_SNP_TRAILING_MAX extra bytes parses, with out->trailing set; the verifier reports
 * them as the warning "snp: N trailing bytes after the 1184-byte report ignored" (they are not
 * signed, so they carry no meaning). More is SB_E_LIMIT; fewer than 1184 bytes SB_E_TRUNCATED.
 * Versions below 2 are SB_E_UNSUPPORTED; unknown versions up to 31 parse with the v5 layout only
 * when sig_algo is 1 (ECDSA P-384 with SHA-384: the signature region layout we know). */
int sb_snp_report_parse(const uint8_t *p, size_t n, struct sb_snp_report *out,
                        sb_error *err) SB_WUR;
void sb_snp_tcb_decode(uint64_t raw, enum sb_snp_product prod, struct sb_snp_tcb *out);
uint64_t sb_snp_tcb_encode(const struct sb_snp_tcb *t);
/* From the report's CPUID fields (v3+); UNKNOWN for v2 reports or unknown models. */
enum sb_snp_product sb_snp_product_from_cpuid(const struct sb_snp_report *r);
const char *sb_snp_product_name(enum sb_snp_product p); /* "Milan", ...; "unknown" */
/* Matches "Milan", "Milan-B0", "Genoa", ... (case-sensitive, as AMD writes them). */
enum sb_snp_product sb_snp_product_from_name(const char *s, size_t n);

/* Certificates carried with a report (GHCB certificate table, Trustee cert_chain). */
enum sb_snp_cert_kind {
    SB_SNP_CERT_VCEK,
    SB_SNP_CERT_VLEK,
    SB_SNP_CERT_ASK,
    SB_SNP_CERT_ARK,
    SB_SNP_CERT_CRL,
    SB_SNP_CERT_OTHER,
    SB_SNP_CERT_KIND_MAX
};
const char *sb_snp_cert_kind_name(enum sb_snp_cert_kind k); /* "vcek", ... */

struct sb_snp_cert {
    enum sb_snp_cert_kind kind;
    uint8_t guid[16]; /* textual byte order; zero when the source has no GUID */
    uint8_t *data;    /* owned copy, DER or PEM as found */
    size_t len;
};

/* The GHCB extended-report certificate table (SNP_GET_EXT_REPORT / configfs-tsm auxblob):
 * entries of GUID[16] || offset u32le || length u32le, ended by an all-zero entry; offsets are
 * from the start of the table and must point past the entry array. GUIDs are matched in
 * textual byte order (what hosts write) and in the mixed-endian EFI order. Appends to certs. */
int sb_snp_cert_table_parse(const uint8_t *p, size_t n, struct sb_snp_cert *certs, size_t *n_certs,
                            sb_error *err) SB_WUR;

/* Every SNP evidence form we read, with what it carried. */
enum sb_snp_format {
    SB_SNP_FMT_RAW,      /* the 1184-byte report (plus tolerated trailing bytes) */
    SB_SNP_FMT_HEX,      /* the same, hex-encoded text (virtee, Constellation samples) */
    SB_SNP_FMT_TSM_JSON, /* Veraison tsm-report JSON: outblob/auxblob/provider */
    SB_SNP_FMT_TSM_CBOR, /* Veraison tsm-report CBOR: the same map, byte strings */
    SB_SNP_FMT_TRUSTEE,  /* Trustee SnpEvidence JSON (virtee/sev serde field arrays) */
    SB_SNP_FMT_RATSD,    /* Veraison ratsd EAT: {"eat_nonce", "cmw": CMW collection with a
                            tsm-report+json/+cbor record}; eat_nonce must equal report_data */
    SB_SNP_FMT_MAX
};
const char *sb_snp_format_name(enum sb_snp_format f); /* "snp-report", "configfs-tsm", ... */

#define SB_SNP_WARNINGS_MAX 8
struct sb_snp_evidence {
    enum sb_snp_format format;
    struct sb_snp_report report;
    struct sb_snp_cert certs[SB_SNP_CERTS_MAX];
    size_t n_certs;
    char warnings[SB_SNP_WARNINGS_MAX][160];
    size_t n_warnings;
};
void sb_snp_evidence_free(struct sb_snp_evidence *e); /* frees the certs; e itself is caller's */

/* Which SNP form these bytes are (by structure, never by file name); -1 if none. */
int sb_snp_sniff(const uint8_t *p, size_t n);
/* Parses any of the forms above (sniffed) into out (zeroed first). */
int sb_snp_evidence_parse(const uint8_t *p, size_t n, struct sb_snp_evidence *out,
                          sb_error *err) SB_WUR;
/* The individual forms. */
int sb_snp_hex_parse(const uint8_t *p, size_t n, struct sb_snp_evidence *out, sb_error *err) SB_WUR;
int sb_snp_tsm_json_parse(const uint8_t *p, size_t n, struct sb_snp_evidence *out,
                          sb_error *err) SB_WUR;
int sb_snp_tsm_cbor_parse(const uint8_t *p, size_t n, struct sb_snp_evidence *out,
                          sb_error *err) SB_WUR;
int sb_snp_ratsd_parse(const uint8_t *p, size_t n, struct sb_snp_evidence *out,
                       sb_error *err) SB_WUR;
/* Rebuilds the binary report from the serde fields (the signature then proves the field map). */
int sb_snp_trustee_parse(const uint8_t *p, size_t n, struct sb_snp_evidence *out,
                         sb_error *err) SB_WUR;

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

/* An NVIDIA GPU/NVSwitch attestation report: the SPDM 1.1 GET_MEASUREMENTS request (37 bytes)
 * followed by the signed MEASUREMENTS response, parsed field by field. The signature is found
 * where the structure puts it; bytes after it are counted in `trailing` (the caller decides
 * what to do with them: the verifier accepts up to SB_SPDM_MAX_TRAILING with a warning). */
#define SB_SPDM_REQUEST_LEN 37
#define SB_SPDM_NONCE_LEN 32
#define SB_SPDM_MAX_BLOCKS 255        /* NumberOfBlocks is one byte */
#define SB_SPDM_MAX_RECORD (1u << 20) /* measurement record (3-byte length) */
#define SB_SPDM_MAX_OPAQUE 1024       /* SPDM 1.1: OpaqueLength <= 1024 */
#define SB_SPDM_MAX_OPAQUE_FIELDS 64
#define SB_SPDM_MAX_TRAILING 64
#define SB_SPDM_MAX_REPORT (64u << 10)

typedef struct sb_spdm_block {
    uint8_t index;     /* 1..254 */
    uint8_t spec;      /* MeasurementSpecification (bit 0: DMTF) */
    uint8_t dmtf_type; /* DMTFSpecMeasurementValueType (DMTF blocks only) */
    const uint8_t *value;
    size_t value_len;
} sb_spdm_block;

typedef struct sb_spdm_opaque_field {
    uint16_t type; /* NVIDIA opaque data: u16 type, u16 length, value (little-endian) */
    const uint8_t *p;
    size_t n;
} sb_spdm_opaque_field;

typedef struct sb_spdm_report {
    uint8_t version;      /* 0x11 */
    uint8_t req_param1;   /* bit 0: signature requested */
    uint8_t req_param2;   /* 0xff: all measurements */
    uint8_t slot;         /* SlotIDParam of the request */
    const uint8_t *nonce; /* the requester's nonce (32 bytes) */
    uint8_t resp_param1, resp_param2;
    size_t n_blocks;
    sb_spdm_block blocks[SB_SPDM_MAX_BLOCKS];
    const uint8_t *resp_nonce; /* 32 bytes */
    const uint8_t *opaque;
    size_t opaque_len;
    size_t n_fields; /* opaque data as NVIDIA TLV fields */
    sb_spdm_opaque_field fields[SB_SPDM_MAX_OPAQUE_FIELDS];
    const uint8_t *signed_part; /* request || response up to the signature */
    size_t signed_len;
    const uint8_t *signature;
    size_t sig_len;
    size_t trailing; /* bytes after the signature */
} sb_spdm_report;

/* Parses request || response with a signature of sig_len bytes (96 for ECDSA P-384). */
int sb_spdm_parse(const uint8_t *p, size_t n, size_t sig_len, sb_error *err,
                  sb_spdm_report *out) SB_WUR;
/* The opaque field of a type, or NULL. */
const sb_spdm_opaque_field *sb_spdm_field(const sb_spdm_report *r, uint16_t type);
/* A report stored as hex text (surrounding whitespace allowed); *out is malloc'ed. */
int sb_spdm_from_hex(const uint8_t *p, size_t n, uint8_t **out, size_t *outlen,
                     sb_error *err) SB_WUR;

/* ==== Protocol Buffers wire format (bounded reader; used by the go-tpm-tools container) ==== */

#define SB_PB_MAX_VARINT_BYTES 10u

enum sb_pb_wire { SB_PB_VARINT = 0, SB_PB_I64 = 1, SB_PB_LEN = 2, SB_PB_I32 = 5, SB_PB_WIRE_MAX };

/* One field of a message. For SB_PB_LEN, body is a reader over the payload (a view of the
 * parent); for the numeric wire types, value holds it (I32/I64 little-endian). */
struct sb_pb_field {
    uint32_t number; /* 1 .. 2^29-1 */
    enum sb_pb_wire wire;
    uint64_t value;
    sb_reader body;
};

/* A base-128 varint of at most 10 bytes whose value fits in 64 bits. */
int sb_pb_varint(sb_reader *r, uint64_t *out, const char *field) SB_WUR;
/* Reads the next field of the message r (call while sb_reader_remaining(r) > 0). Groups
 * (wire types 3 and 4) and the reserved types are SB_E_UNSUPPORTED; field number 0 is
 * SB_E_MALFORMED. A LEN payload larger than the bytes left is SB_E_TRUNCATED. */
int sb_pb_next(sb_reader *r, struct sb_pb_field *f) SB_WUR;
/* Checks that f has wire type w, naming the field otherwise. */
int sb_pb_expect(const sb_reader *r, const struct sb_pb_field *f, enum sb_pb_wire w,
                 const char *name) SB_WUR;

/* ==== TPM 2.0 and TCG event logs ========================================================== */

/* TPM 2.0 algorithm identifiers (TCG Algorithm Registry) used by quotes and event logs. */
enum {
    SB_TPM_ALG_RSA = 0x0001,
    SB_TPM_ALG_SHA1 = 0x0004,
    SB_TPM_ALG_SHA256 = 0x000b,
    SB_TPM_ALG_SHA384 = 0x000c,
    SB_TPM_ALG_SHA512 = 0x000d,
    SB_TPM_ALG_NULL = 0x0010,
    SB_TPM_ALG_SM3_256 = 0x0012,
    SB_TPM_ALG_RSASSA = 0x0014,
    SB_TPM_ALG_RSAPSS = 0x0016,
    SB_TPM_ALG_ECDSA = 0x0018,
    SB_TPM_ALG_ECC = 0x0023,
};

/* ---- TPM 2.0 structures (TPM 2.0 Library Part 2), big-endian ---- */

#define SB_TPM_GENERATED_VALUE 0xff544347u
#define SB_TPM_ST_ATTEST_QUOTE 0x8018u
#define SB_TPM_MAX_NAME 68u           /* TPM2B_NAME: sizeof(TPMU_NAME) = 2 + 64 (+ slack 2) */
#define SB_TPM_MAX_DATA 66u           /* TPM2B_DATA: sizeof(TPMT_HA) */
#define SB_TPM_MAX_DIGEST 64u         /* TPM2B_DIGEST */
#define SB_TPM_MAX_PCR_SELECTIONS 16u /* TPML_PCR_SELECTION count (banks) */
#define SB_TPM_MAX_PCR_SELECT 4u      /* sizeofSelect: PCRs 0..31 */
#define SB_TPM_MAX_RSA_BYTES 512u     /* TPM2B_PUBLIC_KEY_RSA: RSA-4096 */
#define SB_TPM_MAX_ECC_BYTES 66u      /* TPM2B_ECC_PARAMETER: P-521 */
#define SB_TPM_MAX_PUBLIC 1024u       /* a whole TPMT_PUBLIC */

struct sb_tpm_pcr_selection {
    uint16_t hash; /* SB_TPM_ALG_* of the bank */
    uint8_t size_of_select;
    uint8_t select[SB_TPM_MAX_PCR_SELECT]; /* bit i of byte j selects PCR 8j+i */
};

/* TPMS_ATTEST of a quote. Views point into the parsed buffer. */
struct sb_tpm_attest {
    uint32_t magic;
    uint16_t type;
    uint16_t qualified_signer_len, extra_data_len, pcr_digest_len;
    const uint8_t *qualified_signer, *extra_data, *pcr_digest;
    uint64_t clock;
    uint32_t reset_count, restart_count;
    uint8_t safe;
    uint64_t firmware_version;
    uint32_t n_selections;
    struct sb_tpm_pcr_selection selections[SB_TPM_MAX_PCR_SELECTIONS];
};

/* TPMT_SIGNATURE: RSASSA / RSAPSS (sig) or ECDSA (r, s). */
struct sb_tpm_signature {
    uint16_t sig_alg;  /* SB_TPM_ALG_RSASSA, _RSAPSS, _ECDSA */
    uint16_t hash_alg; /* SB_TPM_ALG_SHA* */
    uint16_t sig_len, r_len, s_len;
    const uint8_t *sig, *r, *s;
};

/* TPMT_PUBLIC of an RSA or ECC key. */
struct sb_tpm_public {
    uint16_t type;     /* SB_TPM_ALG_RSA or SB_TPM_ALG_ECC */
    uint16_t name_alg; /* SB_TPM_ALG_SHA* */
    uint32_t attributes;
    uint16_t auth_policy_len;
    const uint8_t *auth_policy;
    uint16_t symmetric; /* SB_TPM_ALG_NULL for signing keys, 0x0006 AES */
    uint16_t sym_bits;  /* the storage key's cipher: key bits and mode (0x0043 CFB) */
    uint16_t sym_mode;
    uint16_t scheme;            /* SB_TPM_ALG_RSASSA/_RSAPSS/_ECDSA or _NULL */
    uint16_t scheme_hash;       /* the scheme's hash, or SB_TPM_ALG_NULL */
    uint16_t key_bits;          /* RSA */
    uint32_t exponent;          /* RSA, 0 means 65537 */
    uint16_t curve;             /* ECC: TPM_ECC_NIST_P256 = 3, P384 = 4, P521 = 5 */
    uint16_t kdf;               /* ECC */
    uint16_t unique_len, y_len; /* RSA modulus, or ECC x and y */
    const uint8_t *unique, *y;
    size_t encoded_len; /* bytes of the TPMT_PUBLIC (for the object name) */
    const uint8_t *encoded;
};

#define SB_TPM_ECC_NIST_P256 0x0003u
#define SB_TPM_ECC_NIST_P384 0x0004u
#define SB_TPM_ECC_NIST_P521 0x0005u
/* TPMA_OBJECT bits that matter for an attestation key. */
#define SB_TPMA_FIXED_TPM (1u << 1)
#define SB_TPMA_FIXED_PARENT (1u << 4)
#define SB_TPMA_USER_WITH_AUTH (1u << 6)
#define SB_TPMA_ADMIN_WITH_POLICY (1u << 7)
#define SB_TPMA_SENSITIVE_DATA_ORIGIN (1u << 5)
#define SB_TPMA_RESTRICTED (1u << 16)
#define SB_TPMA_DECRYPT (1u << 17)
#define SB_TPMA_SIGN (1u << 18)

/* Each parser consumes exactly the structure: trailing bytes are SB_E_MALFORMED. */
int sb_tpm_attest_parse(const uint8_t *p, size_t n, struct sb_tpm_attest *out,
                        sb_error *err) SB_WUR;
int sb_tpm_signature_parse(const uint8_t *p, size_t n, struct sb_tpm_signature *out,
                           sb_error *err) SB_WUR;
int sb_tpm_public_parse(const uint8_t *p, size_t n, struct sb_tpm_public *out,
                        sb_error *err) SB_WUR;
/* A TPM2B_PUBLIC (u16 size, then TPMT_PUBLIC). */
int sb_tpm2b_public_parse(const uint8_t *p, size_t n, struct sb_tpm_public *out,
                          sb_error *err) SB_WUR;
/* Credential activation (MakeCredential's output): the TPM2B_ID_OBJECT contents — the
 * integrity HMAC as a TPM2B_DIGEST, then encIdentity (a CFB-encrypted TPM2B_DIGEST) — and the
 * encrypted seed. The check reads the first through the reader against these limits. */
#define SB_TPM_MAX_ID_OBJECT 132u /* sizeof(TPMS_ID_OBJECT): 2 + 64 + 2 + 64 */
#define SB_TPM_MAX_SECRET 512u    /* sizeof(TPMU_ENCRYPTED_SECRET): an RSA-4096 block */
int sb_tpm_id_object_check(const uint8_t *p, size_t n, sb_error *err) SB_WUR;
/* True when the selection picks PCR idx in the bank. */
bool sb_tpm_pcr_selected(const struct sb_tpm_pcr_selection *s, unsigned idx);

/* ---- TPM evidence containers: go-tpm-tools attest.Attestation (protobuf), go-attestation's
 * JSON dump, Trustee's tpm_evidence.json, Azure's tpm-quote JSON and bincode quote.bin ---- */

#define SB_TPM_MAX_QUOTES 4u             /* one per PCR bank */
#define SB_TPM_MAX_PCRS 32u              /* PCR indexes 0..31 (SB_TPM_MAX_PCR_SELECT bytes) */
#define SB_TPM_MAX_CERTS 8u              /* intermediates carried with an AK certificate */
#define SB_TPM_MAX_CONTAINER (32u << 20) /* a whole container, event log included */

/* PCR values that come with a quote (unauthenticated until the quote's pcrDigest holds). */
struct sb_tpm_pcr_values {
    uint16_t alg;     /* SB_TPM_ALG_* of the bank; SB_TPM_ALG_NULL: the bank the quote selects */
    uint32_t present; /* bit i: value[i] is given */
    uint16_t len[SB_TPM_MAX_PCRS];
    const uint8_t *value[SB_TPM_MAX_PCRS];
};

struct sb_tpm_quote_ev {
    const uint8_t *attest; /* TPMS_ATTEST */
    size_t attest_len;
    const uint8_t *sig; /* TPMT_SIGNATURE, or the bare RSA signature when sig_raw */
    size_t sig_len;
    bool sig_raw; /* Azure: RSASSA-PKCS1-v1_5 with SHA-256, no TPMT_SIGNATURE header */
    struct sb_tpm_pcr_values pcrs;
};

enum sb_tpm_ak_kind {
    SB_TPM_AK_NONE,        /* the container carries no AK (Azure: it is in the HCL report) */
    SB_TPM_AK_TPMT_PUBLIC, /* TPMT_PUBLIC area */
    SB_TPM_AK_SPKI_DER,    /* SubjectPublicKeyInfo */
    SB_TPM_AK_KIND_MAX
};

struct sb_tpm_owned;

/* A TPM attestation as carried by one container; the verifier does not care which. Views point
 * into the input or into copies the struct owns (decoded base64/hex). */
struct sb_tpm_evidence {
    const char *format; /* "go-tpm-tools", "go-attestation", "trustee-tpm", "azure-tpm-quote" */
    enum sb_tpm_ak_kind ak_kind;
    const uint8_t *ak;
    size_t ak_len;
    size_t n_quotes;
    struct sb_tpm_quote_ev quotes[SB_TPM_MAX_QUOTES];
    const uint8_t *event_log; /* NULL when none */
    size_t event_log_len;
    const uint8_t *ak_cert; /* DER, NULL when none */
    size_t ak_cert_len;
    size_t n_intermediates;
    const uint8_t *intermediates[SB_TPM_MAX_CERTS];
    size_t intermediate_len[SB_TPM_MAX_CERTS];
    const uint8_t *nonce; /* a nonce the container itself states (go-attestation), or NULL */
    size_t nonce_len;
    bool has_tee_attestation; /* go-tpm-tools carries an SNP/TDX attestation (not read here) */
    struct sb_tpm_owned *owned;
};

/* go-tpm-tools attest.Attestation (proto/attest.proto): ak_pub = 1, quotes = 2 (tpm.Quote:
 * quote = 1, raw_sig = 2, pcrs = 3 {hash = 1, map<uint32, bytes> pcrs = 2}), event_log = 3,
 * ak_cert = 6, intermediate_certs = 7, sev_snp_attestation = 8, tdx_attestation = 9. Unknown
 * fields are skipped within their bounds. */
int sb_tpm_gotpm_parse(const uint8_t *p, size_t n, struct sb_tpm_evidence *out,
                       sb_error *err) SB_WUR;
/* The JSON containers, told apart by their keys: go-attestation ("AK", "Quote", "Log"),
 * Trustee ("ak_public", "tpm_quote"), Azure ("message", "signature", "pcrs"). */
int sb_tpm_json_parse(const uint8_t *p, size_t n, struct sb_tpm_evidence *out,
                      sb_error *err) SB_WUR;
/* A memo of the last event log a JSON container carried (go-attestation "Log.Raw",
 * Trustee/sealbox-tpm "eventlog": tens of KB of base64 that stay the same for a boot while
 * every quote is new). With it, sb_tpm_json_parse_memo locates that member's string with a
 * bounded structural scan; when its text is byte-identical to the memo's, the document is
 * parsed with that string emptied and the event log is the memo's decoded copy (which a full
 * parse of the same text produced). Anything else, or a substituted document that does not
 * parse, is parsed whole, so results and errors are those of sb_tpm_json_parse. out->event_log
 * may then point into the memo: use it before the next call with the same memo. */
#define SB_TPM_JSON_MEMO_MIN 4096u /* shorter event-log strings are simply parsed */
struct sb_tpm_json_memo {
    int member; /* which member the text was (0: empty) */
    uint8_t *text, *decoded;
    size_t text_len, decoded_len;
};
int sb_tpm_json_parse_memo(const uint8_t *p, size_t n, struct sb_tpm_json_memo *memo,
                           struct sb_tpm_evidence *out, sb_error *err) SB_WUR;
void sb_tpm_json_memo_clear(struct sb_tpm_json_memo *m);
/* Azure's quote.bin: bincode of {signature: Vec<u8>, message: Vec<u8>, pcrs: Vec<[u8; 32]>}
 * (u64le lengths). */
int sb_tpm_bincode_quote_parse(const uint8_t *p, size_t n, struct sb_tpm_evidence *out,
                               sb_error *err) SB_WUR;
void sb_tpm_evidence_free(struct sb_tpm_evidence *ev);

/* ---- Azure confidential VMs: the HCL report (vTPM NV index 0x01400001) ---- */

#define SB_HCL_MAGIC 0x414c4348u    /* "HCLA" little-endian */
#define SB_HCL_HEADER_LEN 0x20u     /* signature, version, report_size, request_type, ... */
#define SB_HCL_HW_REPORT_LEN 0x4a0u /* the SNP report (1184) or TDREPORT (1024) area */
#define SB_HCL_IGVM_OFFSET 0x4c0u   /* IGVM request data: 5 u32 then variable data */
#define SB_HCL_VAR_OFFSET 0x4d4u
#define SB_HCL_MAX_VAR_DATA (16u << 10) /* the JSON runtime data (about 1.1 KiB in practice) */
#define SB_HCL_MAX_LEN (64u << 10)      /* the NV index is 2600 bytes */
#define SB_HCL_REPORT_SNP 2u
#define SB_HCL_REPORT_TDX 4u

struct sb_azure_hcl {
    uint32_t version, report_size, request_type, status;
    const uint8_t *hw_report; /* SB_HCL_HW_REPORT_LEN bytes */
    uint32_t data_size, igvm_version, report_type, hash_type, var_len;
    const uint8_t *var_data; /* the runtime-data JSON, var_len bytes */
    size_t padding;          /* zero bytes after report_size (the NV index is fixed-size) */
};

/* Parses an HCL report: magic, version 1 or 2, report_size covering header + hardware report +
 * IGVM data + variable data exactly, data_size = 20 + var_len, a hash type 1..3 (SHA-256/384/
 * 512), and only zero bytes after report_size. */
int sb_azure_hcl_parse(const uint8_t *p, size_t n, struct sb_azure_hcl *out, sb_error *err) SB_WUR;

/* Trustee's az-snp-vtpm evidence JSON: v0 {quote: byte arrays, report: bytes, vcek: PEM},
 * v1/v2 {version, tpm_quote: hex, hcl_report: base64url, vcek: base64url DER}. */
struct sb_azure_evidence {
    uint32_t version; /* 0, 1 or 2 (v2 puts report_data in the var data's user-data) */
    const uint8_t *hcl;
    size_t hcl_len;
    const uint8_t *vcek; /* PEM or DER */
    size_t vcek_len;
    struct sb_tpm_evidence quote; /* owns every decoded buffer, hcl and vcek included */
};
int sb_azure_evidence_json_parse(const uint8_t *p, size_t n, struct sb_azure_evidence *out,
                                 sb_error *err) SB_WUR;
void sb_azure_evidence_free(struct sb_azure_evidence *ev);

/* ---- TCG PC Client event logs (TPM PCRs, and the TDX CCEL whose indexes are MR indexes:
 * 0 = MRTD, 1..4 = RTMR0..3) ---- */

#define SB_EVENTLOG_MAX_LEN (16u << 20)       /* whole log (a CCEL area is 64 KiB..1 MiB) */
#define SB_EVENTLOG_MAX_EVENTS 20000u         /* real UEFI logs hold a few hundred */
#define SB_EVENTLOG_MAX_EVENT_DATA (1u << 20) /* one event's data */
#define SB_EVENTLOG_MAX_ALGS 8u               /* banks in the Spec ID event (the registry has 5) */
#define SB_EVENTLOG_MAX_DIGEST 64u            /* bytes of one digest */
#define SB_EVENTLOG_MAX_VENDOR 255u           /* vendorInfoSize is a u8 */

#define SB_EV_NO_ACTION 0x00000003u
#define SB_EV_SEPARATOR 0x00000004u
#define SB_EV_EFI_EXIT_BOOT_SERVICES_INVOCATION_TEXT "Exit Boot Services Invocation"

enum {
    /* Accept a tail of 0xff or 0x00 bytes after the last event (a CCEL area is pre-filled);
     * its length is reported in sb_eventlog.padding. Without the flag a tail is an error. */
    SB_EVENTLOG_ALLOW_PADDING = 1u << 0,
};

struct sb_eventlog_digest {
    uint16_t alg; /* SB_TPM_ALG_* */
    uint16_t len;
    const uint8_t *p; /* view into the log */
};

struct sb_eventlog_event {
    uint32_t index; /* PCR index (CCEL: MR index) */
    uint32_t type;  /* EV_* */
    size_t offset;  /* of the record within the log */
    uint8_t n_digests;
    struct sb_eventlog_digest digests[SB_EVENTLOG_MAX_ALGS];
    uint32_t data_len;
    const uint8_t *data; /* view into the log */
};

/* A parsed log. Views point into the caller's buffer, which must outlive it. events[0] is the
 * first record (for a crypto-agile log, the SHA-1-format Spec ID event). */
struct sb_eventlog {
    bool crypto_agile; /* "Spec ID Event03" header: TCG_PCR_EVENT2 records follow */
    uint32_t platform_class;
    uint8_t spec_major, spec_minor, spec_errata, uintn_size;
    uint8_t n_algs;
    struct {
        uint16_t alg, size;
    } algs[SB_EVENTLOG_MAX_ALGS]; /* legacy SHA-1 logs: one entry, SHA-1/20 */
    int startup_locality;         /* from a StartupLocality EV_NO_ACTION event, or -1 */
    size_t padding;               /* trailing fill bytes accepted under ALLOW_PADDING */
    size_t n_events;
    struct sb_eventlog_event *events;
};

/* Parses a TCG PC Client event log: the crypto-agile format (a SHA-1-format header event whose
 * data is the Spec ID Event03 structure giving the digest sizes, then TCG_PCR_EVENT2 records),
 * or a legacy SHA-1 log (TCG_PCClientPCREvent records throughout). Every digest algorithm of an
 * event must be one the header declares, with its declared size. */
int sb_eventlog_parse(const uint8_t *p, size_t n, unsigned flags, struct sb_eventlog *out,
                      sb_error *err) SB_WUR;
void sb_eventlog_free(struct sb_eventlog *log);
/* The digest of alg in ev, or NULL. */
const struct sb_eventlog_digest *sb_eventlog_event_digest(const struct sb_eventlog_event *ev,
                                                          uint16_t alg);

/* ==== sealbox software evidence (docs/secrets.md, "Software evidence") ===================== */

#define SB_SOFTWARE_EVIDENCE_MAX 16384u /* bytes of one evidence JSON */
#define SB_SOFTWARE_SIG_LEN 96u         /* ES384 r||s */
#define SB_SOFTWARE_MARKER "sealbox-software-evidence"

/* {"sealbox-software-evidence": 1, "report_data": "<128 hex>", "key": <P-384 JWK>,
 *  "signature": "<base64url r||s>"}; the signature covers the JCS-canonical JSON of the
 * object without "signature" (tbs). */
struct sb_software_evidence {
    uint32_t version;
    uint8_t report_data[64];
    json_t *key; /* the JWK as found (not yet checked to be a key) */
    uint8_t sig[SB_SOFTWARE_SIG_LEN];
    char *tbs; /* malloc'ed canonical bytes the signature covers */
    size_t tbs_len;
};
/* Unknown members, wrong types, bad hex/base64 and wrong lengths are SB_E_MALFORMED naming the
 * member; an unknown version SB_E_UNSUPPORTED. */
int sb_software_evidence_parse(const uint8_t *p, size_t n, struct sb_software_evidence *out,
                               sb_error *err) SB_WUR;
void sb_software_evidence_clear(struct sb_software_evidence *e);

#endif
