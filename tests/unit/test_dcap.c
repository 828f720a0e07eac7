/* test_dcap: Intel DCAP quotes (TDX v4/v5, SGX v3) and collateral — parsing against the real
 * samples, every truncation, the derived negatives, the PCK extension and the signed JSON
 * span locator. */
#include <stdlib.h>
#include <string.h>

#include "evidence/evidence.h"
#include "harness.h"

#define T1 "tdx/go-tdx-guest/tdx_prod_quote_SPR_E4.dat"
#define T2 "tdx/go-tdx-guest/quote_v5_sample.dat"
#define T3 "tdx/go-tdx-guest/cos-113-tdx-quote.dat"
#define T4 "tdx/trustee/tdx_quote_4.dat"
#define T5 "tdx/trustee/tdx_quote_5.dat"
#define T7 "tdx/dcap-rs/quote_tdx_00806f050000.dat"
#define T8 "tdx/dcap-qvl/tdx_quote"
#define T9 "tdx/dcap-qvl/tdx_quote_outdated"
#define X1 "sgx/dcap-qvl/sgx_quote"
#define X3BIN "sgx/derived/dcap-rs_quote_v3.bin"

static uint8_t *load(const char *rel, size_t *n) {
    if (!sb_test_evidence_dir()) return NULL;
    return sb_test_read_evidence(rel, n);
}

struct sample {
    const char *path;
    int version;
    enum sb_dcap_body body;
    size_t quote_len, trailing;
    bool trailing_zero;
};

static const struct sample SAMPLES[] = {
    {T1, 4, SB_DCAP_BODY_TD10, 4935, 39, false},
    {T2, 5, SB_DCAP_BODY_TD15, 5006, 0, true},
    {T3, 4, SB_DCAP_BODY_TD10, 4935, 3065, true},
    {T4, 4, SB_DCAP_BODY_TD10, 4936, 0, true},
    {T5, 5, SB_DCAP_BODY_TD15, 5006, 0, true},
    {T7, 4, SB_DCAP_BODY_TD10, 4935, 3065, true},
    {T8, 4, SB_DCAP_BODY_TD10, 4936, 70, true},
    {T9, 5, SB_DCAP_BODY_TD15, 5006, 0, true},
    {X1, 3, SB_DCAP_BODY_SGX, 4600, 0, true},
    {X3BIN, 3, SB_DCAP_BODY_SGX, 4734, 0, true},
};

TEST(dcap_parse_every_sample) {
    for (size_t i = 0; i < SB_ARRAY_LEN(SAMPLES); i++) {
        size_t n;
        _cleanup_free_ uint8_t *b = load(SAMPLES[i].path, &n);
        if (!b) return;
        struct sb_dcap_quote q;
        sb_error err = {0};
        CHECK_OK(sb_dcap_quote_parse(b, n, &q, &err), &err);
        if (sb_test_failed()) return;
        CHECK_INT(q.version, SAMPLES[i].version);
        CHECK_INT(q.body_type, SAMPLES[i].body);
        CHECK_INT(q.quote_len, SAMPLES[i].quote_len);
        CHECK_INT(q.trailing_len, SAMPLES[i].trailing);
        CHECK_INT(q.trailing_zero, SAMPLES[i].trailing_zero);
        CHECK_INT(q.cert_type, SB_DCAP_CERT_PCK_CHAIN);
        CHECK(q.cert_data_len > 2000);
        CHECK_INT(q.qe_auth_len, 32);
        bool tdx = false;
        CHECK(sb_dcap_quote_sniff(b, n, &tdx));
        CHECK_INT(tdx, q.body_type != SB_DCAP_BODY_SGX);
        size_t want_signed = q.body_type == SB_DCAP_BODY_SGX    ? 48 + 384
                             : q.body_type == SB_DCAP_BODY_TD10 ? 48 + 584
                                                                : 54 + 648;
        CHECK_INT(q.signed_len, want_signed);
    }
}

TEST(dcap_t1_fields) {
    size_t n;
    _cleanup_free_ uint8_t *b = load(T1, &n);
    if (!b) return;
    struct sb_dcap_quote q;
    sb_error err = {0};
    CHECK_OK(sb_dcap_quote_parse(b, n, &q, &err), &err);
    CHECK_INT(q.tee_type, SB_DCAP_TEE_TDX);
    static const uint8_t svn[4] = {3, 0, 4, 0};
    CHECK_MEM(q.td.tee_tcb_svn, svn, 4);
    CHECK_INT(q.qe_report.isvsvn, 4);
    CHECK_INT(q.td.td_attributes & 1, 0);
    CHECK(!q.td.v15);
}

TEST(dcap_v5_td15_fields) {
    size_t n;
    _cleanup_free_ uint8_t *b = load(T2, &n);
    if (!b) return;
    struct sb_dcap_quote q;
    sb_error err = {0};
    CHECK_OK(sb_dcap_quote_parse(b, n, &q, &err), &err);
    CHECK(q.td.v15);
    /* the body starts at 54 in v5: report_data is the last 64 bytes before tee_tcb_svn2 */
    CHECK_MEM(q.td.report_data, b + 54 + 520, 64);
    CHECK_MEM(q.td.mrservicetd, b + 54 + 600, 48);
}

TEST(dcap_sgx_fields) {
    size_t n;
    _cleanup_free_ uint8_t *b = load(X1, &n);
    if (!b) return;
    struct sb_dcap_quote q;
    sb_error err = {0};
    CHECK_OK(sb_dcap_quote_parse(b, n, &q, &err), &err);
    CHECK_MEM(q.sgx.mrenclave, b + 48 + 64, 32);
    CHECK_MEM(q.sgx.mrsigner, b + 48 + 128, 32);
    CHECK_INT(q.qe_report.isvsvn, 10);
}

/* Every prefix of the declared structure is a truncation, never a crash and never a pass. */
TEST(dcap_truncation_everywhere) {
    static const char *const paths[] = {T1, T2, X1};
    for (size_t k = 0; k < SB_ARRAY_LEN(paths); k++) {
        size_t n;
        _cleanup_free_ uint8_t *b = load(paths[k], &n);
        if (!b) return;
        struct sb_dcap_quote q;
        sb_error err = {0};
        CHECK_OK(sb_dcap_quote_parse(b, n, &q, &err), &err);
        size_t end = q.quote_len;
        for (size_t len = 0; len < end; len++) {
            /* an exact-size copy so that ASan sees any over-read */
            uint8_t *c = malloc(len ? len : 1);
            if (len) memcpy(c, b, len);
            int rc = sb_dcap_quote_parse(c, len, &q, &err);
            free(c);
            if (rc != SB_E_TRUNCATED) {
                CHECK_MSG(0, "%s cut at %zu: rc %d (%s)", paths[k], len, rc, err.msg);
                break;
            }
        }
    }
}

TEST(dcap_truncation_message_names_field) {
    size_t n;
    _cleanup_free_ uint8_t *b = load(T1, &n);
    if (!b) return;
    struct sb_dcap_quote q;
    sb_error err = {0};
    CHECK_INT(sb_dcap_quote_parse(b, 100, &q, &err), SB_E_TRUNCATED);
    CHECK_CONTAINS(err.msg, "body");
    CHECK_INT(sb_dcap_quote_parse(b, 700, &q, &err), SB_E_TRUNCATED);
    CHECK_CONTAINS(err.msg, "signature data");
}

struct negative {
    const char *path;
    int code; /* expected parse result (0: parses, fails later in verification) */
    const char *msg;
};

static const struct negative PARSE_NEGATIVES[] = {
    {"tdx/derived-negative/spr_e4_version_0x0_eq_0x3.dat", SB_E_UNSUPPORTED,
     "quote format not supported"},
    {"tdx/derived-negative/spr_e4_signed_data_size_0x278_eq_0x10.dat", SB_E_MALFORMED,
     "size of certification data is 0x1045 but the enclosing structure leaves 0xf8a"},
    {"tdx/derived-negative/spr_e4_header_0x1e_eq_0x32.dat", 0, NULL},
    {"tdx/derived-negative/spr_e4_td_quote_body_0x3c_eq_0x32.dat", 0, NULL},
    {"tdx/derived-negative/spr_e4_pck_cert_0xb77_eq_0x32.dat", 0, NULL},
};

TEST(dcap_derived_negatives_parse) {
    for (size_t i = 0; i < SB_ARRAY_LEN(PARSE_NEGATIVES); i++) {
        size_t n;
        _cleanup_free_ uint8_t *b = load(PARSE_NEGATIVES[i].path, &n);
        if (!b) return;
        struct sb_dcap_quote q;
        sb_error err = {0};
        int rc = sb_dcap_quote_parse(b, n, &q, &err);
        CHECK_MSG(rc == PARSE_NEGATIVES[i].code, "%s: rc %d, want %d (%s)",
                  PARSE_NEGATIVES[i].path, rc, PARSE_NEGATIVES[i].code, err.msg);
        if (PARSE_NEGATIVES[i].msg) CHECK_CONTAINS(err.msg, PARSE_NEGATIVES[i].msg);
    }
}

/* Builds a minimal well-formed v4 TDX quote around a given certification payload. */
static size_t build_quote(uint8_t *out, size_t cap, uint16_t version, uint32_t tee,
                          uint32_t sig_len_delta, uint32_t inner_size_delta) {
    sb_writer w;
    sb_writer_init(&w, cap);
    (void)sb_writer_u16le(&w, version);
    (void)sb_writer_u16le(&w, 2);
    (void)sb_writer_u32le(&w, tee);
    (void)sb_writer_u32le(&w, 0);
    static const uint8_t vendor[16] = {0x93, 0x9a, 0x72, 0x33, 0xf7, 0x9c, 0x4c, 0xa9,
                                       0x94, 0x0a, 0x0d, 0xb3, 0x95, 0x7f, 0x06, 0x07};
    (void)sb_writer_bytes(&w, vendor, 16);
    uint8_t zero[648] = {0};
    (void)sb_writer_bytes(&w, zero, 20);
    size_t body = tee ? 584 : 384;
    if (version == 5) {
        (void)sb_writer_u16le(&w, tee ? 2 : 1);
        (void)sb_writer_u32le(&w, (uint32_t)body);
    }
    (void)sb_writer_bytes(&w, zero, body);
    const char pem[] = "PEM";
    uint32_t inner = sizeof(pem) - 1;
    uint32_t qecd = 384 + 64 + 2 + 0 + 6 + inner;
    uint32_t sig_len = 128 + (version == 3 ? qecd : 6 + qecd);
    (void)sb_writer_u32le(&w, sig_len + sig_len_delta);
    (void)sb_writer_bytes(&w, zero, 128);
    if (version != 3) {
        (void)sb_writer_u16le(&w, 6);
        (void)sb_writer_u32le(&w, qecd);
    }
    (void)sb_writer_bytes(&w, zero, 384 + 64);
    (void)sb_writer_u16le(&w, 0);
    (void)sb_writer_u16le(&w, 5);
    (void)sb_writer_u32le(&w, inner + inner_size_delta);
    (void)sb_writer_bytes(&w, pem, inner);
    size_t n = 0;
    uint8_t *b = sb_writer_steal(&w, &n);
    if (!b || n > cap) {
        free(b);
        return 0;
    }
    memcpy(out, b, n);
    free(b);
    return n;
}

TEST(dcap_synthetic_versions_and_sizes) {
    uint8_t buf[2048];
    struct sb_dcap_quote q;
    sb_error err = {0};
    size_t n = build_quote(buf, sizeof(buf), 4, 0x81, 0, 0);
    CHECK_OK(sb_dcap_quote_parse(buf, n, &q, &err), &err);
    CHECK_INT(q.cert_data_len, 3);
    n = build_quote(buf, sizeof(buf), 5, 0x81, 0, 0);
    CHECK_OK(sb_dcap_quote_parse(buf, n, &q, &err), &err);
    n = build_quote(buf, sizeof(buf), 4, 0, 0, 0);
    CHECK_OK(sb_dcap_quote_parse(buf, n, &q, &err), &err);
    CHECK_INT(q.body_type, SB_DCAP_BODY_SGX);
    n = build_quote(buf, sizeof(buf), 3, 0, 0, 0);
    CHECK_OK(sb_dcap_quote_parse(buf, n, &q, &err), &err);
    n = build_quote(buf, sizeof(buf), 5, 0, 0, 0);
    CHECK_OK(sb_dcap_quote_parse(buf, n, &q, &err), &err);
    /* v3 with a TDX TEE type, unknown version, wrong inner size, oversized sig_len */
    n = build_quote(buf, sizeof(buf), 3, 0x81, 0, 0);
    CHECK_INT(sb_dcap_quote_parse(buf, n, &q, &err), SB_E_UNSUPPORTED);
    n = build_quote(buf, sizeof(buf), 6, 0x81, 0, 0);
    CHECK_INT(sb_dcap_quote_parse(buf, n, &q, &err), SB_E_UNSUPPORTED);
    n = build_quote(buf, sizeof(buf), 4, 0x81, 0, 1);
    CHECK_INT(sb_dcap_quote_parse(buf, n, &q, &err), SB_E_MALFORMED);
    CHECK_CONTAINS(err.msg, "size of certification data");
    n = build_quote(buf, sizeof(buf), 4, 0x81, 0x100000, 0);
    CHECK_INT(sb_dcap_quote_parse(buf, n, &q, &err), SB_E_LIMIT);
    /* v5 body size that does not match its type */
    n = build_quote(buf, sizeof(buf), 5, 0x81, 0, 0);
    buf[50] ^= 1;
    CHECK_INT(sb_dcap_quote_parse(buf, n, &q, &err), SB_E_MALFORMED);
    CHECK_CONTAINS(err.msg, "v5 body size");
}

TEST(dcap_oversized_input_is_limit) {
    size_t n = SB_DCAP_QUOTE_MAX + 1;
    uint8_t *b = calloc(1, n);
    struct sb_dcap_quote q;
    sb_error err = {0};
    CHECK_INT(sb_dcap_quote_parse(b, n, &q, &err), SB_E_LIMIT);
    free(b);
}

/* ---- PCK extension DER ---------------------------------------------------------------- */

static void der_put(sb_writer *w, uint8_t tag, const uint8_t *v, size_t n) {
    (void)sb_writer_u8(w, tag);
    if (n < 0x80) {
        (void)sb_writer_u8(w, (uint8_t)n);
    } else if (n < 0x100) {
        (void)sb_writer_u8(w, 0x81);
        (void)sb_writer_u8(w, (uint8_t)n);
    } else {
        (void)sb_writer_u8(w, 0x82);
        (void)sb_writer_u16be(w, (uint16_t)n);
    }
    (void)sb_writer_bytes(w, v, n);
}

static const uint8_t OIDP[] = {0x2a, 0x86, 0x48, 0x86, 0xf8, 0x4d, 0x01, 0x0d, 0x01};

/* SEQUENCE { OID prefix.a[.b], value } */
static void der_item(sb_writer *w, int a, int b, const uint8_t *val, size_t vn) {
    sb_writer in;
    sb_writer_init(&in, 4096);
    uint8_t oid[16];
    memcpy(oid, OIDP, sizeof(OIDP));
    size_t on = sizeof(OIDP);
    oid[on++] = (uint8_t)a;
    if (b >= 0) oid[on++] = (uint8_t)b;
    der_put(&in, 0x06, oid, on);
    (void)sb_writer_bytes(&in, val, vn);
    der_put(w, 0x30, in.buf, in.len);
    sb_writer_free(&in);
}

/* A complete synthetic SGX extension; `drop` omits one top-level item (0: none). */
static uint8_t *make_pck_ext(int drop, size_t *len) {
    sb_writer items, tcb, tmp;
    sb_writer_init(&items, 8192);
    sb_writer_init(&tcb, 4096);
    for (int k = 1; k <= 18; k++) {
        sb_writer_init(&tmp, 64);
        if (k <= 16) {
            uint8_t v[2] = {0x00, (uint8_t)(k == 5 ? 255 : k)};
            if (v[1] & 0x80) der_put(&tmp, 0x02, v, 2);
            else
                der_put(&tmp, 0x02, v + 1, 1);
        } else if (k == 17) {
            uint8_t v[1] = {13};
            der_put(&tmp, 0x02, v, 1);
        } else {
            uint8_t v[16] = {1, 2, 3};
            der_put(&tmp, 0x04, v, 16);
        }
        der_item(&tcb, 2, k, tmp.buf, tmp.len);
        sb_writer_free(&tmp);
    }
    uint8_t ppid[16] = {0xaa};
    sb_writer_init(&tmp, 64);
    der_put(&tmp, 0x04, ppid, 16);
    if (drop != 1) der_item(&items, 1, -1, tmp.buf, tmp.len);
    sb_writer_free(&tmp);
    sb_writer_init(&tmp, 4096);
    der_put(&tmp, 0x30, tcb.buf, tcb.len);
    if (drop != 2) der_item(&items, 2, -1, tmp.buf, tmp.len);
    sb_writer_free(&tmp);
    sb_writer_free(&tcb);
    uint8_t pceid[2] = {0, 0};
    sb_writer_init(&tmp, 64);
    der_put(&tmp, 0x04, pceid, 2);
    if (drop != 3) der_item(&items, 3, -1, tmp.buf, tmp.len);
    sb_writer_free(&tmp);
    uint8_t fmspc[6] = {0x50, 0x80, 0x6f, 0, 0, 0};
    sb_writer_init(&tmp, 64);
    der_put(&tmp, 0x04, fmspc, 6);
    if (drop != 4) der_item(&items, 4, -1, tmp.buf, tmp.len);
    sb_writer_free(&tmp);
    uint8_t type[1] = {1};
    sb_writer_init(&tmp, 64);
    der_put(&tmp, 0x0a, type, 1);
    if (drop != 5) der_item(&items, 5, -1, tmp.buf, tmp.len);
    sb_writer_free(&tmp);
    sb_writer out;
    sb_writer_init(&out, 16384);
    der_put(&out, 0x30, items.buf, items.len);
    sb_writer_free(&items);
    return sb_writer_steal(&out, len);
}

TEST(pck_ext_synthetic) {
    size_t n;
    _cleanup_free_ uint8_t *d = make_pck_ext(0, &n);
    struct sb_pck_ext e;
    sb_error err = {0};
    CHECK_OK(sb_pck_ext_parse(d, n, &e, &err), &err);
    CHECK_INT(e.comp_svn[0], 1);
    CHECK_INT(e.comp_svn[4], 255);
    CHECK_INT(e.comp_svn[15], 16);
    CHECK_INT(e.pcesvn, 13);
    CHECK_INT(e.fmspc[0], 0x50);
    CHECK_INT(e.sgx_type, 1);
    CHECK_INT(e.dynamic_platform, -1);
    for (size_t len = 0; len < n; len++) {
        uint8_t *c = malloc(len ? len : 1);
        if (len) memcpy(c, d, len);
        int rc = sb_pck_ext_parse(c, len, &e, &err);
        free(c);
        CHECK_MSG(rc < 0, "prefix %zu parsed", len);
    }
    for (int drop = 1; drop <= 5; drop++) {
        _cleanup_free_ uint8_t *x = make_pck_ext(drop, &n);
        CHECK_INT(sb_pck_ext_parse(x, n, &e, &err), SB_E_MALFORMED);
        CHECK_CONTAINS(err.msg, "has no");
    }
}

/* ---- collateral signed span ------------------------------------------------------------ */

TEST(collateral_span_real_tcbinfo) {
    size_t n;
    _cleanup_free_ uint8_t *b = load("tdx/go-tdx-guest/sample_tcbInfo_response", &n);
    if (!b) return;
    struct sb_dcap_signed_json s;
    sb_error err = {0};
    CHECK_OK(sb_dcap_signed_json_locate(b, n, &s, &err), &err);
    CHECK_STR(s.member, "tcbInfo");
    CHECK_INT(s.body_off, 11);
    CHECK(s.body[0] == '{' && s.body[s.body_len - 1] == '}');
    CHECK_INT(s.sig_hex_len, 128);
    CHECK(memcmp(s.body, "{\"id\":\"TDX\"", 11) == 0);
}

TEST(collateral_span_real_qeidentity) {
    size_t n;
    _cleanup_free_ uint8_t *b = load("tdx/dcap-rs/qeidentityv2_apiv4.json", &n);
    if (!b) return;
    struct sb_dcap_signed_json s;
    sb_error err = {0};
    CHECK_OK(sb_dcap_signed_json_locate(b, n, &s, &err), &err);
    CHECK_STR(s.member, "enclaveIdentity");
    CHECK_INT(s.body_off, strlen("{\"enclaveIdentity\":"));
}

static int locate_str(const char *js, sb_error *err) {
    struct sb_dcap_signed_json s;
    return sb_dcap_signed_json_locate((const uint8_t *)js, strlen(js), &s, err);
}

TEST(collateral_span_rejects) {
    sb_error err = {0};
    CHECK_OK(locate_str(" {\"tcbInfo\": {\"a\":[1,-2.5e3,\"x\\u0041\",true,null]},\n"
                        "\"signature\":\"00ff\"} ",
                        &err),
             &err);
    CHECK_INT(locate_str("{\"tcbInfo\":{},\"tcbInfo\":{},\"signature\":\"00\"}", &err),
              SB_E_MALFORMED);
    CHECK_CONTAINS(err.msg, "duplicate");
    CHECK_INT(locate_str("{\"tcb\\u0049nfo\":{},\"signature\":\"00\"}", &err), SB_E_MALFORMED);
    CHECK_INT(locate_str("{\"tcbInfo\":{},\"signature\":\"zz\"}", &err), SB_E_MALFORMED);
    CHECK_INT(locate_str("{\"tcbInfo\":{}}", &err), SB_E_MALFORMED);
    CHECK_INT(locate_str("{\"tcbInfo\":[],\"signature\":\"00\"}", &err), SB_E_MALFORMED);
    CHECK_INT(locate_str("{\"other\":1}", &err), SB_E_NOTFOUND);
    CHECK_INT(locate_str("{\"tcbInfo\":{},\"signature\":\"00\"} x", &err), SB_E_MALFORMED);
    CHECK_INT(locate_str("{\"tcbInfo\":{,},\"signature\":\"00\"}", &err), SB_E_MALFORMED);
    CHECK_INT(locate_str("{\"tcbInfo\":{\"a\":1,},\"signature\":\"00\"}", &err), SB_E_MALFORMED);
    CHECK_INT(locate_str("{\"tcbInfo\":{\"a\":\"\x01\"},\"signature\":\"00\"}", &err),
              SB_E_MALFORMED);
    CHECK_INT(locate_str("{\"tcbInfo\":{\"a\":tru},\"signature\":\"00\"}", &err), SB_E_MALFORMED);
    CHECK_INT(locate_str("{\"tcbInfo\":{\"a\":1", &err), SB_E_TRUNCATED);
    char deep[256] = "{\"tcbInfo\":";
    size_t k = strlen(deep);
    for (int i = 0; i < 40; i++)
        deep[k++] = '[';
    deep[k] = 0;
    CHECK_INT(locate_str(deep, &err), SB_E_LIMIT);
}
