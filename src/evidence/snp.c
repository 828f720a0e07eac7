/* snp: the AMD SEV-SNP attestation report (1184 bytes, ABI spec 56860 table 23) and the forms
 * it travels in: raw, hex, the configfs-tsm capture (Veraison tsm-report JSON) and Trustee's
 * SnpEvidence JSON. Parsing only; src/verify/snp.c authenticates. */
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "evidence.h"

/* ---- small helpers ----------------------------------------------------------------------- */

static void add_warning(struct sb_snp_evidence *e, const char *fmt, ...) SB_PRINTF(2, 3);
static void add_warning(struct sb_snp_evidence *e, const char *fmt, ...) {
    if (e->n_warnings >= SB_SNP_WARNINGS_MAX) return;
    va_list ap;
    va_start(ap, fmt);
    (void)vsnprintf(e->warnings[e->n_warnings], sizeof(e->warnings[0]), fmt, ap);
    va_end(ap);
    e->n_warnings++;
}

static bool all_zero(const uint8_t *p, size_t n) {
    uint8_t acc = 0;
    for (size_t i = 0; i < n; i++)
        acc |= p[i];
    return acc == 0;
}

const char *sb_snp_product_name(enum sb_snp_product p) {
    switch (p) {
    case SB_SNP_PRODUCT_MILAN: return "Milan";
    case SB_SNP_PRODUCT_GENOA: return "Genoa";
    case SB_SNP_PRODUCT_TURIN: return "Turin";
    default: return "unknown";
    }
}

enum sb_snp_product sb_snp_product_from_name(const char *s, size_t n) {
    /* AMD writes "Milan", "Milan-B0", "Genoa", "Turin": a name, optionally "-" and stepping. */
    for (int p = SB_SNP_PRODUCT_MILAN; p < SB_SNP_PRODUCT_MAX; p++) {
        const char *name = sb_snp_product_name((enum sb_snp_product)p);
        size_t k = strlen(name);
        if (n >= k && memcmp(s, name, k) == 0 && (n == k || s[k] == '-'))
            return (enum sb_snp_product)p;
    }
    return SB_SNP_PRODUCT_UNKNOWN;
}

enum sb_snp_product sb_snp_product_from_cpuid(const struct sb_snp_report *r) {
    if (r->version < 3) return SB_SNP_PRODUCT_UNKNOWN;
    uint8_t fam = r->cpuid_fam_id, mod = r->cpuid_mod_id;
    if (fam == 0x19) {
        if (mod <= 0x0f) return SB_SNP_PRODUCT_MILAN;
        /* Zen 4 (Genoa, and Bergamo/Siena which AMD KDS serves under Genoa). */
        if ((mod >= 0x10 && mod <= 0x1f) || (mod >= 0xa0 && mod <= 0xaf))
            return SB_SNP_PRODUCT_GENOA;
    } else if (fam == 0x1a) {
        if (mod <= 0x11) return SB_SNP_PRODUCT_TURIN;
    }
    return SB_SNP_PRODUCT_UNKNOWN;
}

void sb_snp_tcb_decode(uint64_t raw, enum sb_snp_product prod, struct sb_snp_tcb *out) {
    uint8_t b[8];
    for (int i = 0; i < 8; i++)
        b[i] = (uint8_t)(raw >> (8 * i));
    memset(out, 0, sizeof(*out));
    if (prod == SB_SNP_PRODUCT_TURIN) {
        out->has_fmc = true;
        out->fmc = b[0];
        out->bootloader = b[1];
        out->tee = b[2];
        out->snp = b[3];
    } else {
        out->bootloader = b[0];
        out->tee = b[1];
        out->snp = b[6];
    }
    out->microcode = b[7];
}

uint64_t sb_snp_tcb_encode(const struct sb_snp_tcb *t) {
    uint8_t b[8] = {0};
    if (t->has_fmc) {
        b[0] = t->fmc;
        b[1] = t->bootloader;
        b[2] = t->tee;
        b[3] = t->snp;
    } else {
        b[0] = t->bootloader;
        b[1] = t->tee;
        b[6] = t->snp;
    }
    b[7] = t->microcode;
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = (v << 8) | b[i];
    return v;
}

const char *sb_snp_cert_kind_name(enum sb_snp_cert_kind k) {
    switch (k) {
    case SB_SNP_CERT_VCEK: return "vcek";
    case SB_SNP_CERT_VLEK: return "vlek";
    case SB_SNP_CERT_ASK: return "ask";
    case SB_SNP_CERT_ARK: return "ark";
    case SB_SNP_CERT_CRL: return "crl";
    default: return "other";
    }
}

const char *sb_snp_format_name(enum sb_snp_format f) {
    switch (f) {
    case SB_SNP_FMT_RAW: return "snp-report";
    case SB_SNP_FMT_HEX: return "snp-report-hex";
    case SB_SNP_FMT_TSM_JSON: return "configfs-tsm";
    case SB_SNP_FMT_TSM_CBOR: return "configfs-tsm-cbor";
    case SB_SNP_FMT_TRUSTEE: return "trustee-snp-evidence";
    case SB_SNP_FMT_RATSD: return "ratsd-cmw";
    default: return "unknown";
    }
}

void sb_snp_evidence_free(struct sb_snp_evidence *e) {
    if (!e) return;
    for (size_t i = 0; i < e->n_certs; i++)
        free(e->certs[i].data);
    e->n_certs = 0;
}

/* ---- the report ----------------------------------------------------------------------------- */

int sb_snp_report_parse(const uint8_t *p, size_t n, struct sb_snp_report *out, sb_error *err) {
    if (n > SB_SNP_REPORT_LEN + SB_SNP_TRAILING_MAX)
        BAIL(err, SB_E_LIMIT, "snp: input is %zu bytes; a report is %u (at most %u trailing bytes)",
             n, SB_SNP_REPORT_LEN, SB_SNP_TRAILING_MAX);
    sb_reader whole, r;
    sb_reader_init(&whole, p, n, "snp", err);
    TRY(sb_reader_sub(&whole, SB_SNP_REPORT_LEN, &r, "report (1184 bytes)"));

    struct sb_snp_report rep;
    memset(&rep, 0, sizeof(rep));
    sb_reader all = r;
    TRY(sb_reader_copy(&all, rep.raw, SB_SNP_REPORT_LEN, "report"));

    TRY(sb_reader_u32le(&r, &rep.version, "version"));
    if (rep.version < SB_SNP_VERSION_MIN)
        BAIL(err, SB_E_UNSUPPORTED,
             "snp: report version %u is not supported (versions 2 and later; 2, 3 and 5 are known)",
             rep.version);
    if (rep.version > SB_SNP_VERSION_MAX)
        BAIL(err, SB_E_MALFORMED, "snp: report version %u at offset 0x0 is not plausible (max %u)",
             rep.version, SB_SNP_VERSION_MAX);
    rep.known_version = rep.version == 2 || rep.version == 3 || rep.version == 5;
    TRY(sb_reader_u32le(&r, &rep.guest_svn, "guest_svn"));
    TRY(sb_reader_u64le(&r, &rep.policy, "policy"));
    TRY(sb_reader_copy(&r, rep.family_id, 16, "family_id"));
    TRY(sb_reader_copy(&r, rep.image_id, 16, "image_id"));
    TRY(sb_reader_u32le(&r, &rep.vmpl, "vmpl"));
    TRY(sb_reader_u32le(&r, &rep.sig_algo, "sig_algo"));
    /* An unknown version is read with the v5 layout only if its signature region is the one we
     * know (algorithm 1: ECDSA P-384/SHA-384, r and s at 0x2A0); otherwise we would be guessing
     * which bytes are signed. */
    if (!rep.known_version && rep.sig_algo != 1)
        BAIL(err, SB_E_UNSUPPORTED,
             "snp: report version %u with signature algorithm %u is not supported (known "
             "versions 2, 3, 5; signature algorithm 1)",
             rep.version, rep.sig_algo);
    TRY(sb_reader_u64le(&r, &rep.current_tcb, "current_tcb"));
    TRY(sb_reader_u64le(&r, &rep.platform_info, "platform_info"));
    TRY(sb_reader_u32le(&r, &rep.key_info, "key_info"));
    rep.author_key_en = rep.key_info & 1u;
    rep.mask_chip_key = (rep.key_info >> 1) & 1u;
    uint32_t sk = (rep.key_info >> 2) & 7u;
    if (sk != SB_SNP_KEY_VCEK && sk != SB_SNP_KEY_VLEK && sk != SB_SNP_KEY_NONE)
        BAIL(err, SB_E_MALFORMED,
             "snp: key_info (offset 0x48) signing_key %u is reserved (0 VCEK, 1 VLEK, 7 none)", sk);
    rep.signing_key = (enum sb_snp_signing_key)sk;
    TRY(sb_reader_skip(&r, 4, "reserved (0x4C)"));
    TRY(sb_reader_copy(&r, rep.report_data, 64, "report_data"));
    TRY(sb_reader_copy(&r, rep.measurement, 48, "measurement"));
    TRY(sb_reader_copy(&r, rep.host_data, 32, "host_data"));
    TRY(sb_reader_copy(&r, rep.id_key_digest, 48, "id_key_digest"));
    TRY(sb_reader_copy(&r, rep.author_key_digest, 48, "author_key_digest"));
    TRY(sb_reader_copy(&r, rep.report_id, 32, "report_id"));
    TRY(sb_reader_copy(&r, rep.report_id_ma, 32, "report_id_ma"));
    TRY(sb_reader_u64le(&r, &rep.reported_tcb, "reported_tcb"));
    uint8_t fam, mod, step;
    TRY(sb_reader_u8(&r, &fam, "cpuid_fam_id"));
    TRY(sb_reader_u8(&r, &mod, "cpuid_mod_id"));
    TRY(sb_reader_u8(&r, &step, "cpuid_step"));
    if (rep.version >= 3) { /* reserved in v2 */
        rep.cpuid_fam_id = fam;
        rep.cpuid_mod_id = mod;
        rep.cpuid_step = step;
    }
    TRY(sb_reader_skip(&r, 21, "reserved (0x18B)"));
    TRY(sb_reader_copy(&r, rep.chip_id, 64, "chip_id"));
    TRY(sb_reader_u64le(&r, &rep.committed_tcb, "committed_tcb"));
    TRY(sb_reader_u8(&r, &rep.current_build, "current_build"));
    TRY(sb_reader_u8(&r, &rep.current_minor, "current_minor"));
    TRY(sb_reader_u8(&r, &rep.current_major, "current_major"));
    TRY(sb_reader_skip(&r, 1, "reserved (0x1EB)"));
    TRY(sb_reader_u8(&r, &rep.committed_build, "committed_build"));
    TRY(sb_reader_u8(&r, &rep.committed_minor, "committed_minor"));
    TRY(sb_reader_u8(&r, &rep.committed_major, "committed_major"));
    TRY(sb_reader_skip(&r, 1, "reserved (0x1EF)"));
    TRY(sb_reader_u64le(&r, &rep.launch_tcb, "launch_tcb"));
    uint64_t lmv, cmv;
    TRY(sb_reader_u64le(&r, &lmv, "launch_mit_vector"));
    TRY(sb_reader_u64le(&r, &cmv, "current_mit_vector"));
    if (rep.version >= 5) { /* reserved before v5 */
        rep.launch_mit_vector = lmv;
        rep.current_mit_vector = cmv;
    }
    TRY(sb_reader_skip(&r, SB_SNP_SIG_OFFSET - 0x208, "reserved (0x208)"));
    TRY(sb_reader_copy(&r, rep.sig_r, SB_SNP_SIG_COMPONENT_LEN, "signature r"));
    TRY(sb_reader_copy(&r, rep.sig_s, SB_SNP_SIG_COMPONENT_LEN, "signature s"));
    /* The rest of the signature field is outside the signed region: bytes there could be
     * changed by anyone, so a report that carries any is refused rather than half-trusted. */
    const uint8_t *tail;
    size_t tail_off = sb_reader_offset(&r);
    TRY(sb_reader_bytes(&r, SB_SNP_REPORT_LEN - 0x330, &tail, "signature reserved (0x330)"));
    for (size_t i = 0; i < SB_SNP_REPORT_LEN - 0x330; i++)
        if (tail[i])
            BAIL(err, SB_E_MALFORMED,
                 "snp: unsigned reserved byte at offset 0x%zx is 0x%02x (must be zero)",
                 tail_off + i, tail[i]);
    TRY(sb_reader_end(&r, "report"));
    rep.trailing = sb_reader_remaining(&whole);
    *out = rep;
    return 0;
}

/* ---- the GHCB certificate table -------------------------------------------------------------- */

static const struct {
    enum sb_snp_cert_kind kind;
    uint8_t guid[16]; /* textual byte order */
} GUIDS[] = {
    /* 63da758d-e664-4564-adc5-f4b93be8accd */
    {SB_SNP_CERT_VCEK,
     {0x63, 0xda, 0x75, 0x8d, 0xe6, 0x64, 0x45, 0x64, 0xad, 0xc5, 0xf4, 0xb9, 0x3b, 0xe8, 0xac,
      0xcd}},
    /* a8074bc2-a25a-483e-aae6-39c045a0b8a1 */
    {SB_SNP_CERT_VLEK,
     {0xa8, 0x07, 0x4b, 0xc2, 0xa2, 0x5a, 0x48, 0x3e, 0xaa, 0xe6, 0x39, 0xc0, 0x45, 0xa0, 0xb8,
      0xa1}},
    /* 4ab7b379-bbac-4fe4-a02f-05aef327c782 */
    {SB_SNP_CERT_ASK,
     {0x4a, 0xb7, 0xb3, 0x79, 0xbb, 0xac, 0x4f, 0xe4, 0xa0, 0x2f, 0x05, 0xae, 0xf3, 0x27, 0xc7,
      0x82}},
    /* c0b406a4-a803-4952-9743-3fb6014cd0ae */
    {SB_SNP_CERT_ARK,
     {0xc0, 0xb4, 0x06, 0xa4, 0xa8, 0x03, 0x49, 0x52, 0x97, 0x43, 0x3f, 0xb6, 0x01, 0x4c, 0xd0,
      0xae}},
    /* 92f81bc3-5811-4d3d-97ff-d19f88dc67ea */
    {SB_SNP_CERT_CRL,
     {0x92, 0xf8, 0x1b, 0xc3, 0x58, 0x11, 0x4d, 0x3d, 0x97, 0xff, 0xd1, 0x9f, 0x88, 0xdc, 0x67,
      0xea}},
};

/* The EFI/Microsoft encoding stores the first three groups little-endian. */
static void guid_swap(const uint8_t in[16], uint8_t out[16]) {
    static const uint8_t order[16] = {3, 2, 1, 0, 5, 4, 7, 6, 8, 9, 10, 11, 12, 13, 14, 15};
    for (int i = 0; i < 16; i++)
        out[i] = in[order[i]];
}

static enum sb_snp_cert_kind guid_kind(const uint8_t g[16], bool *swapped) {
    uint8_t alt[16];
    guid_swap(g, alt);
    for (size_t i = 0; i < SB_ARRAY_LEN(GUIDS); i++) {
        if (memcmp(g, GUIDS[i].guid, 16) == 0) {
            *swapped = false;
            return GUIDS[i].kind;
        }
        if (memcmp(alt, GUIDS[i].guid, 16) == 0) {
            *swapped = true;
            return GUIDS[i].kind;
        }
    }
    *swapped = false;
    return SB_SNP_CERT_OTHER;
}

static int cert_append(struct sb_snp_cert *certs, size_t *n_certs, enum sb_snp_cert_kind kind,
                       const uint8_t guid[16], sb_reader *body, const char *what, sb_error *err) {
    size_t len = sb_reader_remaining(body);
    if (*n_certs >= SB_SNP_CERTS_MAX)
        BAIL(err, SB_E_LIMIT, "%s: more than %u certificates", what, SB_SNP_CERTS_MAX);
    if (len == 0)
        BAIL(err, SB_E_MALFORMED, "%s: empty %s entry", what, sb_snp_cert_kind_name(kind));
    if (len > SB_SNP_CERT_MAX)
        BAIL(err, SB_E_LIMIT, "%s: %s entry is %zu bytes (max %u)", what,
             sb_snp_cert_kind_name(kind), len, SB_SNP_CERT_MAX);
    uint8_t *d = malloc(len);
    if (!d) BAIL(err, SB_E_INTERNAL, "%s: out of memory", what);
    if (sb_reader_copy(body, d, len, "certificate") < 0) {
        free(d);
        return SB_E_INTERNAL;
    }
    struct sb_snp_cert *c = &certs[(*n_certs)++];
    memset(c, 0, sizeof(*c));
    c->kind = kind;
    if (guid)
        for (int i = 0; i < 16; i++)
            c->guid[i] = guid[i];
    c->data = d;
    c->len = len;
    return 0;
}

int sb_snp_cert_table_parse(const uint8_t *p, size_t n, struct sb_snp_cert *certs, size_t *n_certs,
                            sb_error *err) {
    sb_reader r;
    sb_reader_init(&r, p, n, "snp cert table", err);
    /* First pass: the entry array up to the zero terminator, bounded by the slot count. */
    size_t entries = 0;
    for (;; entries++) {
        if (entries > SB_SNP_CERTS_MAX)
            BAIL(err, SB_E_LIMIT, "snp cert table: more than %u entries", SB_SNP_CERTS_MAX);
        uint8_t guid[16];
        uint32_t off, len;
        TRY(sb_reader_copy(&r, guid, 16, "entry guid"));
        TRY(sb_reader_u32le(&r, &off, "entry offset"));
        TRY(sb_reader_u32le(&r, &len, "entry length"));
        if (all_zero(guid, 16)) {
            if (off || len)
                BAIL(err, SB_E_MALFORMED,
                     "snp cert table: terminator entry %zu has offset %u length %u (must be 0)",
                     entries, off, len);
            break;
        }
    }
    size_t header = sb_reader_offset(&r);
    size_t start = *n_certs;
    sb_reader_init(&r, p, n, "snp cert table", err);
    for (size_t i = 0; i < entries; i++) {
        uint8_t guid[16];
        uint32_t off, len;
        TRY(sb_reader_copy(&r, guid, 16, "entry guid"));
        TRY(sb_reader_u32le(&r, &off, "entry offset"));
        TRY(sb_reader_u32le(&r, &len, "entry length"));
        if (off < header) {
            for (size_t k = start; k < *n_certs; k++)
                free(certs[k].data);
            *n_certs = start;
            BAIL(err, SB_E_MALFORMED,
                 "snp cert table: entry %zu offset 0x%x points into the entry array (ends 0x%zx)",
                 i, off, header);
        }
        sb_reader at, body;
        sb_reader_init(&at, p, n, "snp cert table", err);
        bool swapped;
        enum sb_snp_cert_kind kind = guid_kind(guid, &swapped);
        int rc = sb_reader_skip(&at, off, "entry offset");
        if (rc == 0) rc = sb_reader_sub(&at, len, &body, "certificate");
        if (rc == 0) rc = cert_append(certs, n_certs, kind, guid, &body, "snp cert table", err);
        if (rc < 0) {
            for (size_t k = start; k < *n_certs; k++)
                free(certs[k].data);
            *n_certs = start;
            return rc;
        }
        if (swapped) guid_swap(guid, certs[*n_certs - 1].guid); /* store textual order */
    }
    return 0;
}

/* ---- hex ------------------------------------------------------------------------------------- */

static bool is_hexdigit(uint8_t c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}
static bool is_space(uint8_t c) { return c == ' ' || c == '\n' || c == '\r' || c == '\t'; }

/* Length of the hex text once trailing whitespace is dropped, or 0 if p is not hex text. */
static size_t hex_text_len(const uint8_t *p, size_t n) {
    while (n > 0 && is_space(p[n - 1]))
        n--;
    for (size_t i = 0; i < n; i++)
        if (!is_hexdigit(p[i])) return 0;
    return n;
}

int sb_snp_hex_parse(const uint8_t *p, size_t n, struct sb_snp_evidence *out, sb_error *err) {
    memset(out, 0, sizeof(*out));
    out->format = SB_SNP_FMT_HEX;
    if (n > 2 * ((size_t)SB_SNP_REPORT_LEN + SB_SNP_TRAILING_MAX) + 16)
        BAIL(err, SB_E_LIMIT, "snp: hex input is %zu bytes", n);
    size_t k = hex_text_len(p, n);
    if (k == 0) BAIL(err, SB_E_MALFORMED, "snp: input is not hex text");
    uint8_t *bin = NULL;
    size_t blen = 0;
    TRY(sb_hex_decode((const char *)p, k, &bin, &blen, err));
    int rc = sb_snp_report_parse(bin, blen, &out->report, err);
    free(bin);
    return rc;
}

/* ---- JSON helpers -------------------------------------------------------------------------------
 */

static int json_load_bounded(const uint8_t *p, size_t n, const char *what, json_t **out,
                             sb_error *err) {
    if (n > SB_SNP_WRAPPER_MAX)
        BAIL(err, SB_E_LIMIT, "%s: input is %zu bytes (max %u)", what, n, SB_SNP_WRAPPER_MAX);
    json_error_t je;
    json_t *j = json_loadb((const char *)p, n, JSON_REJECT_DUPLICATES, &je);
    if (!j)
        BAIL(err, SB_E_MALFORMED, "%s: invalid JSON at line %d column %d: %s", what, je.line,
             je.column, je.text);
    if (!json_is_object(j)) {
        json_decref(j);
        BAIL(err, SB_E_MALFORMED, "%s: top level is not an object", what);
    }
    *out = j;
    return 0;
}

/* Base64 as configfs-tsm captures carry it: Veraison writes the URL alphabet without padding;
 * the standard alphabet is accepted too. */
static int b64_field(const json_t *s, const char *what, const char *field, uint8_t **out, size_t *n,
                     sb_error *err) {
    if (!json_is_string(s)) BAIL(err, SB_E_MALFORMED, "%s: %s is not a string", what, field);
    const char *v = json_string_value(s);
    size_t len = json_string_length(s);
    if (sb_base64url_decode(v, len, out, n, NULL) == 0) return 0;
    if (sb_base64_decode(v, len, false, out, n, NULL) == 0) return 0;
    BAIL(err, SB_E_MALFORMED, "%s: %s is not base64", what, field);
}

/* ---- configfs-tsm (Veraison tsm-report JSON) ----------------------------------------------------
 */

static int tsm_finish(struct sb_snp_evidence *out, const char *what, const uint8_t *prov,
                      size_t prov_len, const uint8_t *outblob, size_t outlen, const uint8_t *aux,
                      size_t auxlen, sb_error *err) {
    /* The kernel's provider attribute ends in a newline ("sev_guest\n"). */
    size_t pl = prov_len;
    if (pl > 0 && prov[pl - 1] == '\n') pl--;
    if (pl != 9 || memcmp(prov, "sev_guest", 9) != 0)
        BAIL(err, SB_E_UNSUPPORTED, "%s: provider '%.*s' is not sev_guest", what,
             (int)(pl > 32 ? 32 : pl), (const char *)prov);
    int rc = sb_snp_report_parse(outblob, outlen, &out->report, err);
    if (rc < 0) {
        (void)sb_error_prefix(err, "%s outblob", what);
        return rc;
    }
    if (aux && auxlen) {
        rc = sb_snp_cert_table_parse(aux, auxlen, out->certs, &out->n_certs, err);
        if (rc < 0) {
            (void)sb_error_prefix(err, "%s auxblob", what);
            return rc;
        }
    } else {
        add_warning(out, "%s: no auxblob (the VCEK/VLEK must be supplied with --certs)", what);
    }
    return 0;
}

int sb_snp_tsm_json_parse(const uint8_t *p, size_t n, struct sb_snp_evidence *out, sb_error *err) {
    static const char what[] = "configfs-tsm";
    memset(out, 0, sizeof(*out));
    out->format = SB_SNP_FMT_TSM_JSON;
    json_auto_t *j = NULL;
    TRY(json_load_bounded(p, n, what, &j, err));
    const json_t *jo = json_object_get(j, "outblob"), *jp = json_object_get(j, "provider"),
                 *ja = json_object_get(j, "auxblob");
    if (!jo) BAIL(err, SB_E_MALFORMED, "%s: missing outblob", what);
    if (!json_is_string(jp)) BAIL(err, SB_E_MALFORMED, "%s: missing provider", what);
    const char *key;
    json_t *val;
    json_object_foreach(j, key, val) {
        if (strcmp(key, "outblob") && strcmp(key, "provider") && strcmp(key, "auxblob") &&
            strcmp(key, "manifestblob") && strcmp(key, "service_provider") &&
            strcmp(key, "privlevel") && strcmp(key, "generation"))
            add_warning(out, "%s: unknown member '%.40s' ignored", what, key);
    }
    _cleanup_free_ uint8_t *ob = NULL, *ab = NULL;
    size_t olen = 0, alen = 0;
    TRY(b64_field(jo, what, "outblob", &ob, &olen, err));
    if (ja && !json_is_null(ja)) TRY(b64_field(ja, what, "auxblob", &ab, &alen, err));
    int rc = tsm_finish(out, what, (const uint8_t *)json_string_value(jp), json_string_length(jp),
                        ob, olen, ab, alen, err);
    if (rc < 0) sb_snp_evidence_free(out);
    return rc;
}

/* ---- configfs-tsm (Veraison tsm-report CBOR) ----------------------------------------------------
 */

static bool tsm_known_key(const char *k, size_t n) {
    static const char *const keys[] = {"outblob",          "provider",  "auxblob",   "manifestblob",
                                       "service_provider", "privlevel", "generation"};
    for (size_t i = 0; i < SB_ARRAY_LEN(keys); i++)
        if (strlen(keys[i]) == n && memcmp(keys[i], k, n) == 0) return true;
    return false;
}

int sb_snp_tsm_cbor_parse(const uint8_t *p, size_t n, struct sb_snp_evidence *out, sb_error *err) {
    static const char what[] = "configfs-tsm cbor";
    memset(out, 0, sizeof(*out));
    out->format = SB_SNP_FMT_TSM_CBOR;
    if (n > SB_SNP_WRAPPER_MAX)
        BAIL(err, SB_E_LIMIT, "%s: input is %zu bytes (max %u)", what, n, SB_SNP_WRAPPER_MAX);
    sb_cbor_item top, it;
    TRY(sb_cbor_decode(p, n, what, err, &top));
    if (top.type != SB_CBOR_MAP) BAIL(err, SB_E_MALFORMED, "%s: top level is not a map", what);
    const uint8_t *ob = NULL, *ab = NULL, *prov = NULL;
    size_t olen = 0, alen = 0, plen = 0;
    sb_cbor_iter iter;
    TRY(sb_cbor_iter_init(&top, &iter, "tsm-report"));
    sb_cbor_item key, val;
    int more;
    while ((more = sb_cbor_iter_next(&iter, &key, &val)) > 0) {
        const char *k;
        size_t kl;
        TRY(sb_cbor_get_text(&key, &k, &kl, "tsm-report key"));
        if (!tsm_known_key(k, kl))
            add_warning(out, "%s: unknown member '%.*s' ignored", what, (int)(kl > 40 ? 40 : kl),
                        k);
    }
    TRY(more);
    if (sb_cbor_map_get_text(&top, "outblob", &it) < 0)
        BAIL(err, SB_E_MALFORMED, "%s: missing outblob", what);
    TRY(sb_cbor_get_bytes(&it, &ob, &olen, "outblob"));
    if (sb_cbor_map_get_text(&top, "provider", &it) < 0)
        BAIL(err, SB_E_MALFORMED, "%s: missing provider", what);
    /* Veraison writes the provider as text; the raw configfs attribute is bytes. */
    if (it.type == SB_CBOR_TEXT) {
        const char *t;
        TRY(sb_cbor_get_text(&it, &t, &plen, "provider"));
        prov = (const uint8_t *)t;
    } else {
        TRY(sb_cbor_get_bytes(&it, &prov, &plen, "provider"));
    }
    if (sb_cbor_map_get_text(&top, "auxblob", &it) == 0 && !sb_cbor_is_null(&it))
        TRY(sb_cbor_get_bytes(&it, &ab, &alen, "auxblob"));
    int rc = tsm_finish(out, what, prov, plen, ob, olen, ab, alen, err);
    if (rc < 0) sb_snp_evidence_free(out);
    return rc;
}

/* ---- Veraison ratsd EAT with a CMW collection
 * ---------------------------------------------------- */

int sb_snp_ratsd_parse(const uint8_t *p, size_t n, struct sb_snp_evidence *out, sb_error *err) {
    static const char what[] = "ratsd";
    memset(out, 0, sizeof(*out));
    json_auto_t *j = NULL;
    TRY(json_load_bounded(p, n, what, &j, err));
    _cleanup_free_ uint8_t *cmw = NULL, *nonce = NULL;
    size_t cmwlen = 0, noncelen = 0;
    TRY(b64_field(json_object_get(j, "cmw"), what, "cmw", &cmw, &cmwlen, err));
    const json_t *jn = json_object_get(j, "eat_nonce");
    if (jn) TRY(b64_field(jn, what, "eat_nonce", &nonce, &noncelen, err));
    ENSURE(noncelen <= 64, err, SB_E_MALFORMED, "%s: eat_nonce is %zu bytes (max 64)", what,
           noncelen);
    /* The CMW collection: {"__cmwc_t": type, label: [media-type, base64url(value)], ...}. */
    json_auto_t *c = NULL;
    TRY(json_load_bounded(cmw, cmwlen, "ratsd cmw", &c, err));
    const json_t *rec = json_object_get(c, "tsm-report");
    ENSURE(json_is_array(rec) && json_array_size(rec) >= 2 && json_array_size(rec) <= 3, err,
           SB_E_MALFORMED, "%s: the CMW collection has no tsm-report record [type, value]", what);
    const char *mt = json_string_value(json_array_get(rec, 0));
    ENSURE(mt, err, SB_E_MALFORMED, "%s: tsm-report media type is not a string", what);
    _cleanup_free_ uint8_t *inner = NULL;
    size_t ilen = 0;
    TRY(b64_field(json_array_get(rec, 1), what, "tsm-report value", &inner, &ilen, err));
    int rc;
    if (strcmp(mt, "application/vnd.veraison.tsm-report+json") == 0)
        rc = sb_snp_tsm_json_parse(inner, ilen, out, err);
    else if (strcmp(mt, "application/vnd.veraison.tsm-report+cbor") == 0)
        rc = sb_snp_tsm_cbor_parse(inner, ilen, out, err);
    else
        BAIL(err, SB_E_UNSUPPORTED, "%s: tsm-report media type '%.80s' is not supported", what, mt);
    if (rc < 0) {
        (void)sb_error_prefix(err, "%s", what);
        return rc;
    }
    out->format = SB_SNP_FMT_RATSD;
    const char *key;
    json_t *val;
    json_object_foreach(c, key, val) {
        if (strcmp(key, "__cmwc_t") && strcmp(key, "tsm-report"))
            add_warning(out, "%s: CMW record '%.40s' ignored", what, key);
    }
    if (!nonce) {
        add_warning(out, "%s: no eat_nonce", what);
        return 0;
    }
    /* eat_nonce is not signed; it is only meaningful if it is what the report carries. */
    for (size_t i = 0; i < 64; i++) {
        uint8_t want = i < noncelen ? nonce[i] : 0;
        if (out->report.report_data[i] != want) {
            sb_snp_evidence_free(out);
            BAIL(err, SB_E_MALFORMED,
                 "%s: eat_nonce does not match the report's report_data (byte %zu)", what, i);
        }
    }
    return 0;
}

/* ---- Trustee SnpEvidence (virtee/sev serde) -----------------------------------------------------
 */

struct tjson {
    const char *what;
    sb_error *err;
};

static int t_uint(struct tjson *t, const json_t *obj, const char *key, uint64_t max, bool optional,
                  uint64_t *out) {
    const json_t *v = json_object_get(obj, key);
    if (!v || json_is_null(v)) {
        if (optional) {
            *out = 0;
            return 0;
        }
        BAIL(t->err, SB_E_MALFORMED, "%s: missing %s", t->what, key);
    }
    if (!json_is_integer(v) || json_integer_value(v) < 0 || (uint64_t)json_integer_value(v) > max)
        BAIL(t->err, SB_E_MALFORMED, "%s: %s is not an integer in [0, %llu]", t->what, key,
             (unsigned long long)max);
    *out = (uint64_t)json_integer_value(v);
    return 0;
}

/* A fixed-size byte array written as a JSON array of numbers. */
static int t_bytes(struct tjson *t, const json_t *obj, const char *key, size_t len, uint8_t *out) {
    const json_t *a = json_object_get(obj, key);
    if (!json_is_array(a)) BAIL(t->err, SB_E_MALFORMED, "%s: %s is not an array", t->what, key);
    if (json_array_size(a) != len)
        BAIL(t->err, SB_E_MALFORMED, "%s: %s has %zu bytes, expected %zu", t->what, key,
             json_array_size(a), len);
    for (size_t i = 0; i < len; i++) {
        const json_t *b = json_array_get(a, i);
        if (!json_is_integer(b) || json_integer_value(b) < 0 || json_integer_value(b) > 255)
            BAIL(t->err, SB_E_MALFORMED, "%s: %s[%zu] is not a byte", t->what, key, i);
        out[i] = (uint8_t)json_integer_value(b);
    }
    return 0;
}

static int t_tcb(struct tjson *t, const json_t *obj, const char *key, uint64_t *out) {
    const json_t *o = json_object_get(obj, key);
    if (!json_is_object(o)) BAIL(t->err, SB_E_MALFORMED, "%s: %s is not an object", t->what, key);
    uint64_t bl, tee, snp, uc, fmc;
    TRY(t_uint(t, o, "bootloader", 255, false, &bl));
    TRY(t_uint(t, o, "tee", 255, false, &tee));
    TRY(t_uint(t, o, "snp", 255, false, &snp));
    TRY(t_uint(t, o, "microcode", 255, false, &uc));
    const json_t *f = json_object_get(o, "fmc");
    struct sb_snp_tcb tcb = {.bootloader = (uint8_t)bl,
                             .tee = (uint8_t)tee,
                             .snp = (uint8_t)snp,
                             .microcode = (uint8_t)uc};
    if (f && !json_is_null(f)) { /* Turin layout */
        TRY(t_uint(t, o, "fmc", 255, false, &fmc));
        tcb.has_fmc = true;
        tcb.fmc = (uint8_t)fmc;
    }
    *out = sb_snp_tcb_encode(&tcb);
    return 0;
}

static int t_version(struct tjson *t, const json_t *obj, const char *key, uint8_t *build,
                     uint8_t *minor, uint8_t *major) {
    const json_t *o = json_object_get(obj, key);
    if (!json_is_object(o)) BAIL(t->err, SB_E_MALFORMED, "%s: %s is not an object", t->what, key);
    uint64_t b, mi, ma;
    TRY(t_uint(t, o, "build", 255, false, &b));
    TRY(t_uint(t, o, "minor", 255, false, &mi));
    TRY(t_uint(t, o, "major", 255, false, &ma));
    *build = (uint8_t)b;
    *minor = (uint8_t)mi;
    *major = (uint8_t)ma;
    return 0;
}

static const char *const TRUSTEE_FIELDS[] = {
    "version",           "guest_svn",         "policy",
    "family_id",         "image_id",          "vmpl",
    "sig_algo",          "current_tcb",       "plat_info",
    "key_info",          "report_data",       "measurement",
    "host_data",         "id_key_digest",     "author_key_digest",
    "report_id",         "report_id_ma",      "reported_tcb",
    "cpuid_fam_id",      "cpuid_mod_id",      "cpuid_step",
    "chip_id",           "committed_tcb",     "current",
    "committed",         "launch_tcb",        "signature",
    "launch_mit_vector", "current_mit_vector"};

/* Writes the report back into its 1184-byte binary layout, field by field. */
static int trustee_report(struct tjson *t, const json_t *ar, uint8_t *raw) {
    const char *key;
    json_t *val;
    json_object_foreach((json_t *)ar, key, val) {
        bool known = false;
        for (size_t i = 0; i < SB_ARRAY_LEN(TRUSTEE_FIELDS) && !known; i++)
            known = strcmp(key, TRUSTEE_FIELDS[i]) == 0;
        if (!known)
            BAIL(t->err, SB_E_MALFORMED, "%s: unknown attestation_report field '%.40s'", t->what,
                 key);
    }
    struct sb_snp_report r;
    memset(&r, 0, sizeof(r));
    uint64_t v;
    TRY(t_uint(t, ar, "version", UINT32_MAX, false, &v));
    r.version = (uint32_t)v;
    TRY(t_uint(t, ar, "guest_svn", UINT32_MAX, false, &v));
    r.guest_svn = (uint32_t)v;
    TRY(t_uint(t, ar, "policy", UINT64_MAX, false, &r.policy));
    TRY(t_bytes(t, ar, "family_id", 16, r.family_id));
    TRY(t_bytes(t, ar, "image_id", 16, r.image_id));
    TRY(t_uint(t, ar, "vmpl", UINT32_MAX, false, &v));
    r.vmpl = (uint32_t)v;
    TRY(t_uint(t, ar, "sig_algo", UINT32_MAX, false, &v));
    r.sig_algo = (uint32_t)v;
    TRY(t_tcb(t, ar, "current_tcb", &r.current_tcb));
    TRY(t_uint(t, ar, "plat_info", UINT64_MAX, false, &r.platform_info));
    TRY(t_uint(t, ar, "key_info", UINT32_MAX, false, &v));
    r.key_info = (uint32_t)v;
    TRY(t_bytes(t, ar, "report_data", 64, r.report_data));
    TRY(t_bytes(t, ar, "measurement", 48, r.measurement));
    TRY(t_bytes(t, ar, "host_data", 32, r.host_data));
    TRY(t_bytes(t, ar, "id_key_digest", 48, r.id_key_digest));
    TRY(t_bytes(t, ar, "author_key_digest", 48, r.author_key_digest));
    TRY(t_bytes(t, ar, "report_id", 32, r.report_id));
    TRY(t_bytes(t, ar, "report_id_ma", 32, r.report_id_ma));
    TRY(t_tcb(t, ar, "reported_tcb", &r.reported_tcb));
    TRY(t_uint(t, ar, "cpuid_fam_id", 255, true, &v));
    r.cpuid_fam_id = (uint8_t)v;
    TRY(t_uint(t, ar, "cpuid_mod_id", 255, true, &v));
    r.cpuid_mod_id = (uint8_t)v;
    TRY(t_uint(t, ar, "cpuid_step", 255, true, &v));
    r.cpuid_step = (uint8_t)v;
    TRY(t_bytes(t, ar, "chip_id", 64, r.chip_id));
    TRY(t_tcb(t, ar, "committed_tcb", &r.committed_tcb));
    TRY(t_version(t, ar, "current", &r.current_build, &r.current_minor, &r.current_major));
    TRY(t_version(t, ar, "committed", &r.committed_build, &r.committed_minor, &r.committed_major));
    TRY(t_tcb(t, ar, "launch_tcb", &r.launch_tcb));
    TRY(t_uint(t, ar, "launch_mit_vector", UINT64_MAX, true, &r.launch_mit_vector));
    TRY(t_uint(t, ar, "current_mit_vector", UINT64_MAX, true, &r.current_mit_vector));
    const json_t *sig = json_object_get(ar, "signature");
    if (!json_is_object(sig))
        BAIL(t->err, SB_E_MALFORMED, "%s: signature is not an object", t->what);
    TRY(t_bytes(t, sig, "r", 72, r.sig_r));
    TRY(t_bytes(t, sig, "s", 72, r.sig_s));

    sb_writer w;
    sb_writer_init(&w, SB_SNP_REPORT_LEN);
    static const uint8_t zero[368] = {0};
    sb_writer_u32le(&w, r.version);
    sb_writer_u32le(&w, r.guest_svn);
    sb_writer_u64le(&w, r.policy);
    sb_writer_bytes(&w, r.family_id, 16);
    sb_writer_bytes(&w, r.image_id, 16);
    sb_writer_u32le(&w, r.vmpl);
    sb_writer_u32le(&w, r.sig_algo);
    sb_writer_u64le(&w, r.current_tcb);
    sb_writer_u64le(&w, r.platform_info);
    sb_writer_u32le(&w, r.key_info);
    sb_writer_u32le(&w, 0);
    sb_writer_bytes(&w, r.report_data, 64);
    sb_writer_bytes(&w, r.measurement, 48);
    sb_writer_bytes(&w, r.host_data, 32);
    sb_writer_bytes(&w, r.id_key_digest, 48);
    sb_writer_bytes(&w, r.author_key_digest, 48);
    sb_writer_bytes(&w, r.report_id, 32);
    sb_writer_bytes(&w, r.report_id_ma, 32);
    sb_writer_u64le(&w, r.reported_tcb);
    sb_writer_u8(&w, r.cpuid_fam_id);
    sb_writer_u8(&w, r.cpuid_mod_id);
    sb_writer_u8(&w, r.cpuid_step);
    sb_writer_bytes(&w, zero, 21);
    sb_writer_bytes(&w, r.chip_id, 64);
    sb_writer_u64le(&w, r.committed_tcb);
    sb_writer_u8(&w, r.current_build);
    sb_writer_u8(&w, r.current_minor);
    sb_writer_u8(&w, r.current_major);
    sb_writer_u8(&w, 0);
    sb_writer_u8(&w, r.committed_build);
    sb_writer_u8(&w, r.committed_minor);
    sb_writer_u8(&w, r.committed_major);
    sb_writer_u8(&w, 0);
    sb_writer_u64le(&w, r.launch_tcb);
    sb_writer_u64le(&w, r.launch_mit_vector);
    sb_writer_u64le(&w, r.current_mit_vector);
    sb_writer_bytes(&w, zero, SB_SNP_SIG_OFFSET - 0x208);
    sb_writer_bytes(&w, r.sig_r, 72);
    sb_writer_bytes(&w, r.sig_s, 72);
    sb_writer_bytes(&w, zero, SB_SNP_REPORT_LEN - 0x330);
    int rc = sb_writer_status(&w);
    if (rc < 0 || w.len != SB_SNP_REPORT_LEN) {
        sb_writer_free(&w);
        BAIL(t->err, SB_E_INTERNAL, "%s: could not rebuild the report", t->what);
    }
    sb_reader rd;
    sb_reader_init(&rd, w.buf, w.len, t->what, t->err);
    rc = sb_reader_copy(&rd, raw, SB_SNP_REPORT_LEN, "report");
    sb_writer_free(&w);
    return rc;
}

static enum sb_snp_cert_kind trustee_cert_kind(const char *s) {
    if (strcmp(s, "VCEK") == 0) return SB_SNP_CERT_VCEK;
    if (strcmp(s, "VLEK") == 0) return SB_SNP_CERT_VLEK;
    if (strcmp(s, "ASK") == 0) return SB_SNP_CERT_ASK;
    if (strcmp(s, "ARK") == 0) return SB_SNP_CERT_ARK;
    if (strcmp(s, "CRL") == 0) return SB_SNP_CERT_CRL;
    return SB_SNP_CERT_OTHER;
}

int sb_snp_trustee_parse(const uint8_t *p, size_t n, struct sb_snp_evidence *out, sb_error *err) {
    struct tjson t = {"trustee-snp", err};
    memset(out, 0, sizeof(*out));
    out->format = SB_SNP_FMT_TRUSTEE;
    json_auto_t *j = NULL;
    TRY(json_load_bounded(p, n, t.what, &j, err));
    const json_t *ar = json_object_get(j, "attestation_report");
    if (!json_is_object(ar)) BAIL(err, SB_E_MALFORMED, "%s: missing attestation_report", t.what);
    uint8_t raw[SB_SNP_REPORT_LEN];
    TRY(trustee_report(&t, ar, raw));
    int rc = sb_snp_report_parse(raw, sizeof(raw), &out->report, err);
    if (rc < 0) {
        (void)sb_error_prefix(err, "%s", t.what);
        return rc;
    }

    const json_t *chain = json_object_get(j, "cert_chain");
    if (!chain || json_is_null(chain)) {
        add_warning(out, "%s: no cert_chain (the VCEK/VLEK must be supplied with --certs)", t.what);
        return 0;
    }
    if (!json_is_array(chain)) BAIL(err, SB_E_MALFORMED, "%s: cert_chain is not an array", t.what);
    if (json_array_size(chain) > SB_SNP_CERTS_MAX)
        BAIL(err, SB_E_LIMIT, "%s: cert_chain has %zu entries (max %u)", t.what,
             json_array_size(chain), SB_SNP_CERTS_MAX);
    for (size_t i = 0; i < json_array_size(chain); i++) {
        const json_t *e = json_array_get(chain, i);
        const json_t *ty = json_object_get(e, "cert_type"), *data = json_object_get(e, "data");
        rc = SB_E_MALFORMED;
        if (!json_is_object(e) || !json_is_string(ty) || !json_is_array(data)) {
            sb_error_set(err, rc, "%s: cert_chain[%zu] needs cert_type and data", t.what, i);
            goto fail;
        }
        size_t len = json_array_size(data);
        if (len == 0 || len > SB_SNP_CERT_MAX) {
            rc = sb_error_set(err, len ? SB_E_LIMIT : SB_E_MALFORMED,
                              "%s: cert_chain[%zu] data is %zu bytes (1..%u)", t.what, i, len,
                              SB_SNP_CERT_MAX);
            goto fail;
        }
        uint8_t *buf = malloc(len);
        if (!buf) {
            rc = sb_error_set(err, SB_E_INTERNAL, "%s: out of memory", t.what);
            goto fail;
        }
        rc = t_bytes(&t, e, "data", len, buf);
        if (rc == 0) {
            sb_reader body;
            sb_reader_init(&body, buf, len, t.what, err);
            rc = cert_append(out->certs, &out->n_certs, trustee_cert_kind(json_string_value(ty)),
                             NULL, &body, t.what, err);
        }
        free(buf);
        if (rc < 0) goto fail;
    }
    return 0;
fail:
    sb_snp_evidence_free(out);
    return rc;
}

/* ---- sniffing and dispatch
 * ----------------------------------------------------------------------- */

static bool has(const uint8_t *p, size_t n, const char *needle) {
    return memmem(p, n, needle, strlen(needle)) != NULL;
}

int sb_snp_sniff(const uint8_t *p, size_t n) {
    if (!p) return -1;
    size_t i = 0;
    while (i < n && is_space(p[i]))
        i++;
    if (i < n && p[i] == '{') {
        if (has(p, n, "\"attestation_report\"")) return SB_SNP_FMT_TRUSTEE;
        if (has(p, n, "\"cmw\"") && has(p, n, "\"eat_profile\"")) return SB_SNP_FMT_RATSD;
        if (has(p, n, "\"outblob\"") && has(p, n, "\"provider\"")) return SB_SNP_FMT_TSM_JSON;
        return -1;
    }
    /* a CBOR map (major type 5) naming outblob and provider as text keys */
    if (n > 0 && (p[0] >> 5) == 5 && has(p, n, "\x67outblob") && has(p, n, "\x68provider"))
        return SB_SNP_FMT_TSM_CBOR;
    size_t k = hex_text_len(p, n);
    if (k >= 2 * (size_t)SB_SNP_REPORT_LEN && k % 2 == 0) return SB_SNP_FMT_HEX;
    if (n >= SB_SNP_REPORT_LEN) {
        /* version (2..31, little-endian u32) and sig_algo 1 at 0x34: cheap and specific. */
        if (p[0] >= SB_SNP_VERSION_MIN && p[0] <= SB_SNP_VERSION_MAX && !p[1] && !p[2] && !p[3] &&
            p[0x34] == 1 && !p[0x35] && !p[0x36] && !p[0x37])
            return SB_SNP_FMT_RAW;
    }
    return -1;
}

int sb_snp_evidence_parse(const uint8_t *p, size_t n, struct sb_snp_evidence *out, sb_error *err) {
    int f = sb_snp_sniff(p, n);
    switch (f) {
    case SB_SNP_FMT_TRUSTEE: return sb_snp_trustee_parse(p, n, out, err);
    case SB_SNP_FMT_TSM_JSON: return sb_snp_tsm_json_parse(p, n, out, err);
    case SB_SNP_FMT_TSM_CBOR: return sb_snp_tsm_cbor_parse(p, n, out, err);
    case SB_SNP_FMT_RATSD: return sb_snp_ratsd_parse(p, n, out, err);
    case SB_SNP_FMT_HEX: return sb_snp_hex_parse(p, n, out, err);
    default:
        memset(out, 0, sizeof(*out));
        out->format = SB_SNP_FMT_RAW;
        return sb_snp_report_parse(p, n, &out->report, err);
    }
}
