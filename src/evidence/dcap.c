/* dcap: Intel DCAP quotes — v3 (SGX), v4 (SGX / TDX 1.0) and v5 (typed body: SGX, TDX 1.0,
 * TDX 1.5) — with their signature and certification data, read field by field with sb_reader. */
#include "evidence.h"

static const uint8_t INTEL_QE_VENDOR[16] = {0x93, 0x9a, 0x72, 0x33, 0xf7, 0x9c, 0x4c, 0xa9,
                                            0x94, 0x0a, 0x0d, 0xb3, 0x95, 0x7f, 0x06, 0x07};

static int read_sgx_report(sb_reader *r, struct sb_sgx_report *o) {
    struct sb_sgx_report t;
    TRY(sb_reader_copy(r, t.cpusvn, 16, "report.cpusvn"));
    TRY(sb_reader_u32le(r, &t.miscselect, "report.miscselect"));
    TRY(sb_reader_skip(r, 12, "report.reserved1"));
    TRY(sb_reader_copy(r, t.isvextprodid, 16, "report.isvextprodid"));
    TRY(sb_reader_copy(r, t.attributes, 16, "report.attributes"));
    TRY(sb_reader_copy(r, t.mrenclave, 32, "report.mrenclave"));
    TRY(sb_reader_skip(r, 32, "report.reserved2"));
    TRY(sb_reader_copy(r, t.mrsigner, 32, "report.mrsigner"));
    TRY(sb_reader_skip(r, 32, "report.reserved3"));
    TRY(sb_reader_copy(r, t.configid, 64, "report.configid"));
    TRY(sb_reader_u16le(r, &t.isvprodid, "report.isvprodid"));
    TRY(sb_reader_u16le(r, &t.isvsvn, "report.isvsvn"));
    TRY(sb_reader_u16le(r, &t.configsvn, "report.configsvn"));
    TRY(sb_reader_skip(r, 42, "report.reserved4"));
    TRY(sb_reader_copy(r, t.isvfamilyid, 16, "report.isvfamilyid"));
    TRY(sb_reader_copy(r, t.report_data, 64, "report.report_data"));
    *o = t;
    return 0;
}

int sb_sgx_report_parse(const uint8_t *p, size_t n, struct sb_sgx_report *out, sb_error *err) {
    sb_reader r;
    sb_reader_init(&r, p, n, "sgx-report", err);
    struct sb_sgx_report t;
    TRY(read_sgx_report(&r, &t));
    TRY(sb_reader_end(&r, "report body"));
    *out = t;
    return 0;
}

static int read_td_report(sb_reader *r, bool v15, struct sb_td_report *o) {
    /* The struct is large; callers hand in their own storage and we fill it in place only
     * after the caller's reader succeeded, so partial writes never escape a failed parse
     * (sb_dcap_quote_parse copies the whole quote out only on success). */
    TRY(sb_reader_copy(r, o->tee_tcb_svn, 16, "td.tee_tcb_svn"));
    TRY(sb_reader_copy(r, o->mrseam, 48, "td.mrseam"));
    TRY(sb_reader_copy(r, o->mrsignerseam, 48, "td.mrsignerseam"));
    TRY(sb_reader_u64le(r, &o->seam_attributes, "td.seam_attributes"));
    TRY(sb_reader_u64le(r, &o->td_attributes, "td.td_attributes"));
    TRY(sb_reader_u64le(r, &o->xfam, "td.xfam"));
    TRY(sb_reader_copy(r, o->mrtd, 48, "td.mrtd"));
    TRY(sb_reader_copy(r, o->mrconfigid, 48, "td.mrconfigid"));
    TRY(sb_reader_copy(r, o->mrowner, 48, "td.mrowner"));
    TRY(sb_reader_copy(r, o->mrownerconfig, 48, "td.mrownerconfig"));
    static const char *const rtmr_names[4] = {"td.rtmr0", "td.rtmr1", "td.rtmr2", "td.rtmr3"};
    for (int i = 0; i < 4; i++)
        TRY(sb_reader_copy(r, o->rtmr[i], 48, rtmr_names[i]));
    TRY(sb_reader_copy(r, o->report_data, 64, "td.report_data"));
    o->v15 = v15;
    if (v15) {
        TRY(sb_reader_copy(r, o->tee_tcb_svn2, 16, "td.tee_tcb_svn2"));
        TRY(sb_reader_copy(r, o->mrservicetd, 48, "td.mrservicetd"));
    }
    return 0;
}

/* A u16 type and u32 size, then exactly `size` bytes which must be all that remains of r. */
static int read_cert_data_hdr(sb_reader *r, const char *what, uint16_t *type, sb_reader *body) {
    size_t at = sb_reader_offset(r);
    uint32_t size;
    TRY(sb_reader_u16le(r, type, what));
    TRY(sb_reader_u32le(r, &size, what));
    if (size > SB_DCAP_CERT_DATA_MAX)
        return sb_error_set(r->err, SB_E_LIMIT,
                            "%s: %s size 0x%x at offset 0x%zx is over the limit of 0x%x", r->what,
                            what, size, at, SB_DCAP_CERT_DATA_MAX);
    if (size != sb_reader_remaining(r)) {
        return sb_error_set(r->err, SB_E_MALFORMED,
                            "%s: size of %s is 0x%x but the enclosing structure leaves 0x%zx "
                            "bytes (offset 0x%zx)",
                            r->what, what, size, sb_reader_remaining(r), at);
    }
    return sb_reader_sub(r, size, body, what);
}

/* QE report certification data (type 6): QE report, its PCK signature, QE auth data and the
 * nested certification data, which must fill the rest exactly. */
static int read_qe_report_cert(sb_reader *r, struct sb_dcap_quote *q) {
    TRY(sb_reader_bytes(r, SB_DCAP_SGX_BODY_LEN, &q->qe_report_raw, "qe_report"));
    sb_reader qr;
    sb_reader_init(&qr, q->qe_report_raw, SB_DCAP_SGX_BODY_LEN, r->what, r->err);
    qr.base = sb_reader_offset(r) - SB_DCAP_SGX_BODY_LEN;
    TRY(read_sgx_report(&qr, &q->qe_report));
    TRY(sb_reader_copy(r, q->qe_report_sig, 64, "qe_report_signature"));
    sb_reader auth;
    TRY(sb_reader_sub_u16le(r, SB_DCAP_AUTH_DATA_MAX, &auth, "qe_auth_data"));
    TRY(sb_reader_bytes(&auth, auth.len, &q->qe_auth, "qe_auth_data"));
    q->qe_auth_len = auth.len;
    sb_reader inner;
    TRY(read_cert_data_hdr(r, "certification data", &q->cert_type, &inner));
    if (q->cert_type == SB_DCAP_CERT_QE_REPORT)
        return sb_error_set(r->err, SB_E_MALFORMED,
                            "%s: nested certification data of type 6 inside type 6 (offset 0x%zx)",
                            r->what, sb_reader_offset(&inner));
    TRY(sb_reader_bytes(&inner, inner.len, &q->cert_data, "certification data"));
    q->cert_data_len = inner.len;
    return sb_reader_end(r, "QE report certification data");
}

bool sb_dcap_quote_sniff(const uint8_t *p, size_t n, bool *is_tdx) {
    sb_reader r;
    sb_reader_init(&r, p, n, "dcap", NULL);
    uint16_t ver, akt;
    uint32_t tee;
    const uint8_t *vendor;
    if (sb_reader_u16le(&r, &ver, "version") < 0 || sb_reader_u16le(&r, &akt, "key") < 0 ||
        sb_reader_u32le(&r, &tee, "tee") < 0 || sb_reader_skip(&r, 4, "svn") < 0 ||
        sb_reader_bytes(&r, 16, &vendor, "vendor") < 0)
        return false;
    if (ver < 3 || ver > 5 || akt != SB_DCAP_ATT_KEY_ECDSA_P256) return false;
    if (tee != SB_DCAP_TEE_SGX && tee != SB_DCAP_TEE_TDX) return false;
    if (ver == 3 && tee != SB_DCAP_TEE_SGX) return false;
    for (size_t i = 0; i < 16; i++)
        if (vendor[i] != INTEL_QE_VENDOR[i]) return false;
    if (is_tdx) *is_tdx = tee == SB_DCAP_TEE_TDX;
    return true;
}

int sb_dcap_quote_parse(const uint8_t *p, size_t n, struct sb_dcap_quote *out, sb_error *err) {
    if (n > SB_DCAP_QUOTE_MAX)
        BAIL(err, SB_E_LIMIT, "dcap: quote of %zu bytes is over the limit of %u", n,
             SB_DCAP_QUOTE_MAX);
    struct sb_dcap_quote *q = calloc(1, sizeof(*q));
    if (!q) BAIL(err, SB_E_INTERNAL, "dcap: out of memory");
    sb_reader r;
    sb_reader_init(&r, p, n, "dcap", err);
    int rc;
#define STEP(x)               \
    do {                      \
        if ((rc = (x)) < 0) { \
            free(q);          \
            return rc;        \
        }                     \
    } while (0)
#define FAIL(code, ...)                            \
    do {                                           \
        rc = sb_error_set(err, code, __VA_ARGS__); \
        free(q);                                   \
        return rc;                                 \
    } while (0)

    STEP(sb_reader_u16le(&r, &q->version, "header.version"));
    STEP(sb_reader_u16le(&r, &q->att_key_type, "header.att_key_type"));
    STEP(sb_reader_u32le(&r, &q->tee_type, "header.tee_type"));
    STEP(sb_reader_u16le(&r, &q->qe_svn, "header.qe_svn"));
    STEP(sb_reader_u16le(&r, &q->pce_svn, "header.pce_svn"));
    STEP(sb_reader_copy(&r, q->qe_vendor_id, 16, "header.qe_vendor_id"));
    STEP(sb_reader_copy(&r, q->user_data, 20, "header.user_data"));
    if (q->version < 3 || q->version > 5)
        FAIL(SB_E_UNSUPPORTED, "dcap: quote format not supported: version %u (3, 4, 5)",
             q->version);
    if (q->att_key_type != SB_DCAP_ATT_KEY_ECDSA_P256)
        FAIL(SB_E_UNSUPPORTED,
             "dcap: quote format not supported: attestation key type %u (2 = ECDSA P-256)",
             q->att_key_type);
    if (q->tee_type != SB_DCAP_TEE_SGX && q->tee_type != SB_DCAP_TEE_TDX)
        FAIL(SB_E_UNSUPPORTED, "dcap: quote format not supported: TEE type 0x%x (0 SGX, 0x81 TDX)",
             q->tee_type);
    if (q->version == 3 && q->tee_type != SB_DCAP_TEE_SGX)
        FAIL(SB_E_UNSUPPORTED,
             "dcap: quote format not supported: version 3 with TEE type 0x%x (v3 is SGX only)",
             q->tee_type);

    size_t body_len = 0;
    if (q->version == 5) {
        uint16_t bt;
        uint32_t bs;
        size_t at = sb_reader_offset(&r);
        STEP(sb_reader_u16le(&r, &bt, "body.type"));
        STEP(sb_reader_u32le(&r, &bs, "body.size"));
        if (bt == SB_DCAP_BODY_SGX && q->tee_type == SB_DCAP_TEE_SGX)
            body_len = SB_DCAP_SGX_BODY_LEN;
        else if (bt == SB_DCAP_BODY_TD10 && q->tee_type == SB_DCAP_TEE_TDX)
            body_len = SB_DCAP_TD10_BODY_LEN;
        else if (bt == SB_DCAP_BODY_TD15 && q->tee_type == SB_DCAP_TEE_TDX)
            body_len = SB_DCAP_TD15_BODY_LEN;
        else
            FAIL(SB_E_UNSUPPORTED,
                 "dcap: quote format not supported: v5 body type %u with TEE type 0x%x "
                 "(offset 0x%zx)",
                 bt, q->tee_type, at);
        if (bs != body_len)
            FAIL(SB_E_MALFORMED, "dcap: v5 body size %u does not match body type %u (%zu bytes)",
                 bs, bt, body_len);
        q->body_type = (enum sb_dcap_body)bt;
    } else if (q->tee_type == SB_DCAP_TEE_TDX) {
        q->body_type = SB_DCAP_BODY_TD10;
        body_len = SB_DCAP_TD10_BODY_LEN;
    } else {
        q->body_type = SB_DCAP_BODY_SGX;
        body_len = SB_DCAP_SGX_BODY_LEN;
    }
    sb_reader body;
    STEP(sb_reader_sub(&r, body_len, &body, "body"));
    if (q->body_type == SB_DCAP_BODY_SGX)
        STEP(read_sgx_report(&body, &q->sgx));
    else
        STEP(read_td_report(&body, q->body_type == SB_DCAP_BODY_TD15, &q->td));
    STEP(sb_reader_end(&body, "body"));
    q->signed_len = sb_reader_offset(&r);
    {
        sb_reader whole;
        sb_reader_init(&whole, p, n, "dcap", err);
        STEP(sb_reader_bytes(&whole, q->signed_len, &q->signed_data, "signed data"));
    }

    sb_reader sig;
    STEP(sb_reader_sub_u32le(&r, SB_DCAP_SIG_DATA_MAX, &sig, "signature data"));
    STEP(sb_reader_copy(&sig, q->sig, 64, "quote signature"));
    STEP(sb_reader_copy(&sig, q->attest_key, 64, "attestation key"));
    if (q->version == 3) {
        STEP(read_qe_report_cert(&sig, q));
    } else {
        uint16_t type;
        sb_reader cd;
        STEP(read_cert_data_hdr(&sig, "certification data", &type, &cd));
        if (type != SB_DCAP_CERT_QE_REPORT)
            FAIL(SB_E_UNSUPPORTED,
                 "dcap: certification data type %u is not supported (v4/v5 quotes carry type 6)",
                 type);
        STEP(read_qe_report_cert(&cd, q));
    }
    STEP(sb_reader_end(&sig, "signature data"));
    q->quote_len = sb_reader_offset(&r);
    q->trailing_len = sb_reader_remaining(&r);
    q->trailing_zero = true;
    {
        const uint8_t *t;
        STEP(sb_reader_bytes(&r, q->trailing_len, &t, "trailing bytes"));
        for (size_t i = 0; i < q->trailing_len; i++)
            if (t[i]) q->trailing_zero = false;
    }
#undef STEP
#undef FAIL
    *out = *q;
    free(q);
    return 0;
}
