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
