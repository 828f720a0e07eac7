/* test_dcap: Intel DCAP quotes (TDX v4/v5, SGX v3) and collateral — parsing against the real
 * samples, every truncation, the derived negatives, the PCK extension and the signed JSON
 * span locator. */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "crypto/crypto.h"
#include "evidence/evidence.h"
#include "harness.h"
#include "verify/dcap_internal.h"
#include "verify/verify.h"

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
    {T1, 4, SB_DCAP_BODY_TD10, 4935, 39, false},  {T2, 5, SB_DCAP_BODY_TD15, 5006, 0, true},
    {T3, 4, SB_DCAP_BODY_TD10, 4935, 3065, true}, {T4, 4, SB_DCAP_BODY_TD10, 4936, 0, true},
    {T5, 5, SB_DCAP_BODY_TD15, 5006, 0, true},    {T7, 4, SB_DCAP_BODY_TD10, 4935, 3065, true},
    {T8, 4, SB_DCAP_BODY_TD10, 4936, 70, true},   {T9, 5, SB_DCAP_BODY_TD15, 5006, 0, true},
    {X1, 3, SB_DCAP_BODY_SGX, 4600, 0, true},     {X3BIN, 3, SB_DCAP_BODY_SGX, 4734, 0, true},
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
        CHECK_MSG(rc == PARSE_NEGATIVES[i].code, "%s: rc %d, want %d (%s)", PARSE_NEGATIVES[i].path,
                  rc, PARSE_NEGATIVES[i].code, err.msg);
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
            if (v[1] & 0x80)
                der_put(&tmp, 0x02, v, 2);
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

/* ---- verification ---------------------------------------------------------------------- */

TEST(intel_root_pinned_fingerprint) {
    sb_error err = {0};
    sb_cert *root = NULL;
    CHECK_OK(sb_cert_from_pem((const uint8_t *)SB_INTEL_SGX_ROOT_PEM, strlen(SB_INTEL_SGX_ROOT_PEM),
                              &root, &err),
             &err);
    if (!root) return;
    uint8_t fp[32];
    char hex[65];
    CHECK_OK(sb_cert_fingerprint(root, SB_HASH_SHA256, fp, &err), &err);
    sb_hex_encode(fp, 32, hex);
    /* the published fingerprint of the Intel SGX Root CA, written out independently here */
    CHECK_STR(hex, "44a0196b2b99f889b8e149e95b807a350e7424964399e885a7cbb8ccfab674d3");
    CHECK_STR(hex, SB_INTEL_SGX_ROOT_SHA256);
    _cleanup_free_ char *subj = sb_cert_subject(root);
    CHECK_CONTAINS(subj, "CN=Intel SGX Root CA");
    size_t n;
    _cleanup_free_ uint8_t *der = load("tdx/intel-roots/dcap-qvl_TrustedRootCA.der", &n);
    if (der) {
        sb_cert *ref = NULL;
        CHECK_OK(sb_cert_from_der(der, n, &ref, &err), &err);
        if (ref) CHECK(sb_cert_equal(ref, root));
        sb_cert_free(ref);
    }
    sb_cert_free(root);
}

struct run {
    const char *files[4];
    const char *certs[2];
    const char *dir;
    int64_t at;
};

/* Runs a verifier the way `sealbox verify` does: evidence blobs, --certs blobs, --collateral. */
static int run_verify(const struct sb_verifier *v, const struct run *r, json_t **claims,
                      sb_error *err) {
    struct sb_blob ev[4] = {{0}}, certs[2] = {{0}};
    size_t ne = 0, nc = 0;
    int rc = -1;
    for (; ne < 4 && r->files[ne]; ne++) {
        size_t n;
        ev[ne].name = r->files[ne];
        ev[ne].data = load(r->files[ne], &n);
        ev[ne].len = n;
        if (!ev[ne].data) goto out;
    }
    for (; nc < 2 && r->certs[nc]; nc++) {
        size_t n;
        certs[nc].name = r->certs[nc];
        certs[nc].data = load(r->certs[nc], &n);
        certs[nc].len = n;
        if (!certs[nc].data) goto out;
    }
    char dir[4096];
    if (r->dir) (void)snprintf(dir, sizeof(dir), "%s/%s", sb_test_evidence_dir(), r->dir);
    struct sb_verify_opts o = {
        .at = r->at, .certs = certs, .n_certs = nc, .collateral_dir = r->dir ? dir : NULL};
    *claims = NULL;
    rc = v->verify(&o, ev, ne, claims, err);
out:
    for (size_t i = 0; i < 4; i++)
        free((void *)ev[i].data);
    for (size_t i = 0; i < 2; i++)
        free((void *)certs[i].data);
    return rc;
}

static const char *jpath(json_t *c, const char *a, const char *b) {
    json_t *v = json_object_get(c, a);
    if (b) v = json_object_get(v, b);
    return json_string_value(v);
}

static bool warned(json_t *c, const char *needle) {
    size_t i;
    json_t *w;
    json_array_foreach(json_object_get(c, "warnings"), i, w) {
        if (strstr(json_string_value(w), needle)) return true;
    }
    return false;
}

#define AT_2023_07_01 1688173200 /* 2023-07-01T01:00:00Z */
#define AT_2026_02_03 1770080400 /* 2026-02-03T01:00:00Z */
#define AT_DCAP_RS 1739419232
#define TCB_SIGNING "tdx/dcap-rs/tcb_signing_cert.pem"

TEST(verify_t1_without_collateral) {
    if (!sb_test_evidence_dir()) return;
    struct run r = {.files = {T1}, .at = AT_2023_07_01};
    json_t *c = NULL;
    sb_error err = {0};
    CHECK_OK(run_verify(&sb_verifier_tdx, &r, &c, &err), &err);
    if (!c) return;
    CHECK_STR(jpath(c, "platform", NULL), "tdx");
    CHECK_STR(jpath(c, "format", NULL), "tdx-quote-v4");
    CHECK(json_is_null(json_object_get(json_object_get(c, "tcb"), "status")));
    CHECK(json_is_false(json_object_get(c, "debug")));
    CHECK_STR(jpath(c, "platform_identity", "fmspc"), "50806f000000");
    CHECK_STR(jpath(c, "platform_identity", "pck_ca"), "platform");
    CHECK(warned(c, "39 trailing bytes after the quote (not zero)"));
    CHECK(warned(c, "no tcbInfo collateral"));
    CHECK_INT(json_integer_value(json_object_get(
                  json_object_get(json_object_get(c, "tcb"), "components"), "qe_svn")),
              4);
    json_decref(c);
}

TEST(verify_t1_expired_in_2053) {
    if (!sb_test_evidence_dir()) return;
    struct run r = {.files = {T1}, .at = 2619302400 /* 2053-01-01 */};
    json_t *c = NULL;
    sb_error err = {0};
    CHECK_INT(run_verify(&sb_verifier_tdx, &r, &c, &err), SB_E_CHAIN);
    CHECK_CONTAINS(err.msg, "expired");
    CHECK(c == NULL);
}

TEST(verify_t1_with_collateral_no_matching_level) {
    if (!sb_test_evidence_dir()) return;
    struct run r = {
        .files = {T1}, .certs = {TCB_SIGNING}, .dir = "tdx/go-tdx-guest", .at = AT_2023_07_01};
    json_t *c = NULL;
    sb_error err = {0};
    CHECK_OK(run_verify(&sb_verifier_tdx, &r, &c, &err), &err);
    if (!c) return;
    CHECK_STR(jpath(c, "tcb", "status"), "NoMatchingTcbLevel");
    CHECK_STR(jpath(c, "tcb", "status_reason"), "no matching TCB level found");
    CHECK_STR(jpath(c, "tcb", "qe_status"), "UpToDate");
    CHECK(warned(c, "no matching TCB level found"));
    CHECK(!warned(c, "has expired"));
    CHECK_INT(json_array_size(json_object_get(c, "collateral")), 6);
    json_decref(c);
    /* the same collateral after its nextUpdate: still evaluated, and said to be expired */
    r.at = AT_2023_07_01 + 20 * 86400;
    CHECK_OK(run_verify(&sb_verifier_tdx, &r, &c, &err), &err);
    if (!c) return;
    CHECK(warned(c, "tcbInfo has expired"));
    CHECK(warned(c, "PCK CRL has expired"));
    json_decref(c);
}

TEST(verify_t1_collateral_needs_signer) {
    if (!sb_test_evidence_dir()) return;
    struct run r = {.files = {T1}, .dir = "tdx/go-tdx-guest", .at = AT_2023_07_01};
    json_t *c = NULL;
    sb_error err = {0};
    CHECK_INT(run_verify(&sb_verifier_tdx, &r, &c, &err), SB_E_CHAIN);
    CHECK_CONTAINS(err.msg, "no Intel SGX TCB Signing certificate");
}

struct positive {
    const char *name;
    const struct sb_verifier *v;
    struct run r;
    const char *format;
    const char *status;     /* NULL: not evaluated */
    const char *advisories; /* comma-joined, "" for none, NULL: not checked */
};

static const struct positive POSITIVES[] = {
    {"T2", &sb_verifier_tdx, {.files = {T2}, .at = AT_2026_02_03}, "tdx-quote-v5", NULL, NULL},
    {"T3",
     &sb_verifier_tdx,
     {.files = {T3}, .dir = "tdx/dcap-rs", .at = AT_DCAP_RS},
     "tdx-quote-v4",
     "UpToDate",
     ""},
    {"T4",
     &sb_verifier_tdx,
     {.files = {T4}, .certs = {TCB_SIGNING}, .dir = "tdx/go-tdx-guest", .at = AT_2023_07_01},
     "tdx-quote-v4",
     "UpToDate",
     ""},
    {"T5",
     &sb_verifier_tdx,
     {.files = {T5}, .dir = "tdx/dcap-rs", .at = AT_DCAP_RS},
     "tdx-quote-v5",
     "NoMatchingTcbLevel",
     NULL},
    {"T7",
     &sb_verifier_tdx,
     {.files = {T7}, .dir = "tdx/dcap-rs", .at = AT_DCAP_RS},
     "tdx-quote-v4",
     "OutOfDate",
     NULL},
    {"T8",
     &sb_verifier_tdx,
     {.files = {T8, "tdx/dcap-qvl/tdx_quote_collateral.json"}, .at = 1752919234},
     "tdx-quote-v4",
     "UpToDate",
     ""},
    /* MANIFEST says OutOfDate; by Intel's matching rules (and dcap-qvl's, whose own test must
     * insert a permissive level to get a status) no level matches: PCK SGX component 8 is 3
     * and every level asks for 5. */
    {"T9",
     &sb_verifier_tdx,
     {.files = {T9, "tdx/dcap-qvl/tdx_quote_outdated_collateral.json"}, .at = 1774003274},
     "tdx-quote-v5",
     "NoMatchingTcbLevel",
     NULL},
    {"X1",
     &sb_verifier_sgx,
     {.files = {X1, "sgx/dcap-qvl/sgx_quote_collateral.json"}, .at = 1752919277},
     "sgx-quote-v3",
     "ConfigurationAndSWHardeningNeeded",
     "INTEL-SA-00289,INTEL-SA-00615"},
    {"X3",
     &sb_verifier_sgx,
     {.files = {"sgx/dcap-rs/quote_v3_from_lib_rs.hex"}, .dir = "sgx/dcap-rs", .at = AT_DCAP_RS},
     "sgx-quote-v3",
     "OutOfDate",
     NULL},
};

TEST(verify_positives) {
    if (!sb_test_evidence_dir()) return;
    for (size_t i = 0; i < SB_ARRAY_LEN(POSITIVES); i++) {
        const struct positive *p = &POSITIVES[i];
        json_t *c = NULL;
        sb_error err = {0};
        int rc = run_verify(p->v, &p->r, &c, &err);
        CHECK_MSG(rc == 0, "%s: rc %d (%s)", p->name, rc, err.msg);
        if (!c) continue;
        CHECK_STR(jpath(c, "format", NULL), p->format);
        const char *st = jpath(c, "tcb", "status");
        if (p->status)
            CHECK_MSG(st && strcmp(st, p->status) == 0, "%s: status %s, want %s", p->name,
                      st ? st : "null", p->status);
        else
            CHECK_MSG(!st, "%s: status %s, want null", p->name, st);
        if (p->advisories) {
            char joined[512] = "";
            size_t k;
            json_t *a;
            json_array_foreach(json_object_get(json_object_get(c, "tcb"), "advisories"), k, a) {
                if (k) strncat(joined, ",", sizeof(joined) - strlen(joined) - 1);
                strncat(joined, json_string_value(a), sizeof(joined) - strlen(joined) - 1);
            }
            CHECK_MSG(strcmp(joined, p->advisories) == 0, "%s: advisories [%s], want [%s]", p->name,
                      joined, p->advisories);
        }
        json_decref(c);
    }
}

TEST(verify_x1_claims) {
    if (!sb_test_evidence_dir()) return;
    struct run r = {.files = {X1, "sgx/dcap-qvl/sgx_quote_collateral.json"}, .at = 1752919277};
    json_t *c = NULL;
    sb_error err = {0};
    CHECK_OK(run_verify(&sb_verifier_sgx, &r, &c, &err), &err);
    if (!c) return;
    CHECK_STR(jpath(c, "platform", NULL), "sgx");
    CHECK_STR(jpath(c, "platform_identity", "pck_ca"), "processor");
    CHECK_STR(jpath(c, "platform_identity", "fmspc"), "00a067110000");
    CHECK(jpath(c, "measurements", "mrenclave") != NULL);
    CHECK(json_integer_value(json_object_get(json_object_get(c, "signer"), "isvprodid")) >= 0);
    CHECK_INT(json_integer_value(json_object_get(
                  json_object_get(json_object_get(c, "tcb"), "components"), "qe_svn")),
              10);
    CHECK(warned(c, "1 NUL byte(s) after the last certificate of the PCK chain data"));
    /* the SGX verifier refuses a TDX quote and the other way round */
    json_decref(c);
    struct run t = {.files = {T8}, .at = 1752919234};
    CHECK_INT(run_verify(&sb_verifier_sgx, &t, &c, &err), SB_E_UNSUPPORTED);
    CHECK_INT(run_verify(&sb_verifier_tdx, &r, &c, &err), SB_E_UNSUPPORTED);
}

TEST(verify_t8_collateral_expired_and_early) {
    if (!sb_test_evidence_dir()) return;
    struct run r = {.files = {T8, "tdx/dcap-qvl/tdx_quote_collateral.json"},
                    .at = 1752919234 + 86400};
    json_t *c = NULL;
    sb_error err = {0};
    CHECK_OK(run_verify(&sb_verifier_tdx, &r, &c, &err), &err);
    if (!c) return;
    CHECK(warned(c, "tcbInfo has expired"));
    json_decref(c);
}

struct neg {
    const char *file;
    int code;
    const char *msg;
};

static const struct neg DERIVED[] = {
    {"spr_e4_version_0x0_eq_0x3.dat", SB_E_UNSUPPORTED, "quote format not supported"},
    {"spr_e4_signed_data_size_0x278_eq_0x10.dat", SB_E_MALFORMED,
     "size of certification data is 0x1045"},
    {"spr_e4_cert_chain_0x1343_eq_0x32.dat", SB_E_MALFORMED, "PCK certificate chain"},
    {"spr_e4_root_cert_0x1329_eq_0x32.dat", SB_E_CHAIN, "unable to validate root cert"},
    {"spr_e4_intermediate_cert_0xf5f_eq_0x32.dat", SB_E_CHAIN, "certificate signature failure"},
    {"spr_e4_pck_cert_0xb77_eq_0x32.dat", SB_E_CHAIN, "leaf"},
    {"spr_e4_header_0x1e_eq_0x32.dat", SB_E_SIGNATURE, "unable to verify the quote signature"},
    {"spr_e4_td_quote_body_0x3c_eq_0x32.dat", SB_E_SIGNATURE,
     "unable to verify the quote signature"},
};

TEST(verify_derived_negatives) {
    if (!sb_test_evidence_dir()) return;
    sb_dcap_collateral *c = NULL;
    sb_error err = {0};
    CHECK_OK(sb_dcap_collateral_new(&c, &err), &err);
    for (size_t i = 0; i < SB_ARRAY_LEN(DERIVED); i++) {
        char rel[256];
        (void)snprintf(rel, sizeof(rel), "tdx/derived-negative/%s", DERIVED[i].file);
        size_t n;
        _cleanup_free_ uint8_t *b = load(rel, &n);
        if (!b) break;
        json_t *cl = NULL;
        int rc = sb_dcap_verify(c, b, n, AT_2023_07_01, "tdx", &cl, &err);
        CHECK_MSG(rc == DERIVED[i].code, "%s: rc %d, want %d (%s)", DERIVED[i].file, rc,
                  DERIVED[i].code, err.msg);
        CHECK_CONTAINS(err.msg, DERIVED[i].msg);
        json_decref(cl);
    }
    sb_dcap_collateral_free(c);
}

/* Every byte of header||body and of the signature, attestation key, QE report, QE signature
 * and QE auth data is authenticated; the PCK chain text is sampled densely (every 11th byte). */
static void flips_fail(const char *path, int64_t at, const char *platform) {
    size_t n;
    _cleanup_free_ uint8_t *b = load(path, &n);
    if (!b) return;
    sb_dcap_collateral *c = NULL;
    sb_error err = {0};
    CHECK_OK(sb_dcap_collateral_new(&c, &err), &err);
    struct sb_dcap_quote q;
    CHECK_OK(sb_dcap_quote_parse(b, n, &q, &err), &err);
    json_t *cl = NULL;
    CHECK_OK(sb_dcap_verify(c, b, n, at, platform, &cl, &err), &err);
    json_decref(cl);
    size_t pem_start = q.quote_len - q.cert_data_len;
    size_t tried = 0, passed = 0;
    uint8_t *m = malloc(n);
    for (size_t i = 0; i < q.quote_len && passed <= 5; i++) {
        if (i >= pem_start && (i - pem_start) % 11 != 0) continue;
        memcpy(m, b, n);
        m[i] ^= 0x01;
        cl = NULL;
        int rc = sb_dcap_verify(c, m, n, at, platform, &cl, &err);
        tried++;
        if (rc == 0) {
            passed++;
            CHECK_MSG(0, "%s: flip at 0x%zx still verifies", path, i);
        }
        json_decref(cl);
    }
    free(m);
    CHECK(tried > q.signed_len + 128 + 384 + 64 + 32);
    sb_dcap_collateral_free(c);
}

TEST(verify_byte_flips_fail) {
    flips_fail(T1, AT_2023_07_01, "tdx");
    flips_fail(T2, AT_2026_02_03, "tdx");
    flips_fail(X1, 1752919277, "sgx");
}

/* ---- mutated collateral ---------------------------------------------------------------- */

static int verify_with_blobs(const char *quote, const struct sb_blob *extra, size_t n_extra,
                             int64_t at, json_t **cl, sb_error *err) {
    size_t n;
    _cleanup_free_ uint8_t *b = load(quote, &n);
    if (!b) return -100;
    sb_dcap_collateral *c = NULL;
    TRY(sb_dcap_collateral_new(&c, err));
    int rc = 0;
    for (size_t i = 0; i < n_extra && rc == 0; i++) {
        bool used;
        rc =
            sb_dcap_collateral_add(c, extra[i].name, extra[i].data, extra[i].len, true, &used, err);
    }
    if (rc == 0) rc = sb_dcap_verify(c, b, n, at, NULL, cl, err);
    sb_dcap_collateral_free(c);
    return rc;
}

TEST(collateral_fmspc_mismatch) {
    size_t n;
    _cleanup_free_ uint8_t *other = load("tdx/dcap-qvl/tdx_quote_outdated_collateral.json", &n);
    if (!other) return;
    /* T8's quote (FMSPC b0c06f000000) with T9's genuine collateral (90c06f000000) */
    struct sb_blob x = {"outdated_collateral.json", other, n};
    json_t *cl = NULL;
    sb_error err = {0};
    CHECK_INT(verify_with_blobs(T8, &x, 1, 1774003274, &cl, &err), SB_E_MALFORMED);
    CHECK_CONTAINS(err.msg, "FMSPC 90c06f000000 does not match the PCK certificate's FMSPC "
                            "b0c06f000000");
}

static uint8_t *replace_once(const uint8_t *b, size_t n, const char *from, const char *to) {
    size_t fl = strlen(from);
    for (size_t i = 0; i + fl <= n; i++)
        if (memcmp(b + i, from, fl) == 0) {
            uint8_t *m = malloc(n + 1);
            memcpy(m, b, n);
            memcpy(m + i, to, fl); /* same length */
            return m;
        }
    return NULL;
}

TEST(collateral_signature_broken) {
    size_t n, sn;
    _cleanup_free_ uint8_t *tcb = load("tdx/go-tdx-guest/sample_tcbInfo_response", &n);
    _cleanup_free_ uint8_t *signer = load(TCB_SIGNING, &sn);
    if (!tcb || !signer) return;
    sb_error err = {0};
    json_t *cl = NULL;
    /* one status changed inside the signed object */
    _cleanup_free_ uint8_t *m1 = replace_once(tcb, n, "\"OutOfDate\"", "\"UpToDate \"");
    CHECK(m1 != NULL);
    struct sb_blob x[2] = {{"tcbinfo-mutated", m1, n}, {"signer", signer, sn}};
    CHECK_INT(verify_with_blobs(T1, x, 2, AT_2023_07_01, &cl, &err), SB_E_SIGNATURE);
    CHECK_CONTAINS(err.msg, "tcbInfo signature does not verify");
    /* the signature itself changed */
    _cleanup_free_ uint8_t *m2 = replace_once(tcb, n, "\"signature\":\"", "\"signature\":\"");
    CHECK(m2 != NULL);
    if (m2) {
        for (size_t i = 0; i + 13 < n; i++)
            if (memcmp(m2 + i, "\"signature\":\"", 13) == 0) {
                m2[i + 13] = m2[i + 13] == '0' ? '1' : '0';
                break;
            }
        x[0].data = m2;
        CHECK_INT(verify_with_blobs(T1, x, 2, AT_2023_07_01, &cl, &err), SB_E_SIGNATURE);
    }
    /* the unmodified file verifies */
    x[0].data = tcb;
    CHECK_OK(verify_with_blobs(T1, x, 2, AT_2023_07_01, &cl, &err), &err);
    json_decref(cl);
}

TEST(collateral_bundle_signature_broken) {
    size_t n;
    _cleanup_free_ uint8_t *b = load("tdx/dcap-qvl/tdx_quote_collateral.json", &n);
    if (!b) return;
    sb_error err = {0};
    json_t *cl = NULL;
    _cleanup_free_ uint8_t *m = malloc(n);
    memcpy(m, b, n);
    for (size_t i = 0; i + 17 < n; i++)
        if (memcmp(m + i, "\"qe_identity\": \"{", 17) == 0) {
            /* change one character inside the QE identity's signed JSON text */
            for (size_t k = i + 17; k < n; k++)
                if (m[k] == '2') {
                    m[k] = '3';
                    break;
                }
            break;
        }
    CHECK(memcmp(m, b, n) != 0);
    struct sb_blob x = {"bundle-mutated", m, n};
    CHECK_INT(verify_with_blobs(T8, &x, 1, 1752919234, &cl, &err), SB_E_SIGNATURE);
    json_decref(cl);
    CHECK_CONTAINS(err.msg, "enclaveIdentity signature does not verify");
}

TEST(collateral_crl_signature_broken) {
    size_t n, tn, sn;
    _cleanup_free_ uint8_t *crl = load("tdx/go-tdx-guest/rootcrl.der", &n);
    _cleanup_free_ uint8_t *tcb = load("tdx/go-tdx-guest/sample_tcbInfo_response", &tn);
    _cleanup_free_ uint8_t *signer = load(TCB_SIGNING, &sn);
    if (!crl || !tcb || !signer) return;
    crl[n - 5] ^= 0x01; /* inside the signature value */
    struct sb_blob x[3] = {{"rootcrl-mutated", crl, n}, {"tcb", tcb, tn}, {"signer", signer, sn}};
    sb_error err = {0};
    json_t *cl = NULL;
    int rc = verify_with_blobs(T1, x, 3, AT_2023_07_01, &cl, &err);
    CHECK_MSG(rc == SB_E_SIGNATURE || rc == SB_E_CHAIN, "rc %d (%s)", rc, err.msg);
    CHECK_CONTAINS(err.msg, "CRL");
}

/* ---- TCB evaluation rules on synthetic levels ------------------------------------------- */

static struct dcap_level lvl(uint8_t sgx, uint16_t pce, uint8_t tdx, enum dcap_status st) {
    struct dcap_level l = {0};
    memset(l.sgx, sgx, 16);
    l.pcesvn = pce;
    memset(l.tdx, 0, 16);
    l.tdx[2] = tdx;
    l.has_tdx = true;
    l.status = st;
    l.date = 1000;
    l.advisories = json_array();
    return l;
}

TEST(tcb_rules_synthetic) {
    struct sb_dcap_quote q = {0};
    q.body_type = SB_DCAP_BODY_TD10;
    q.td.tee_tcb_svn[2] = 5;
    q.qe_report.isvsvn = 4;
    struct sb_pck_ext ext = {0};
    memset(ext.comp_svn, 3, 16);
    ext.pcesvn = 11;
    struct dcap_level levels[3] = {lvl(4, 11, 5, ST_UP_TO_DATE),
                                   lvl(3, 11, 6, ST_SW_HARDENING_NEEDED),
                                   lvl(3, 10, 5, ST_OUT_OF_DATE)};
    json_array_append_new(levels[2].advisories, json_string("INTEL-SA-1"));
    struct dcap_signed tcb = {0}, qe = {0};
    snprintf(tcb.id, sizeof(tcb.id), "TDX");
    tcb.levels = levels;
    tcb.n_levels = 3;
    struct dcap_level ql[2] = {lvl(0, 0, 0, ST_UP_TO_DATE), lvl(0, 0, 0, ST_OUT_OF_DATE)};
    ql[0].isvsvn = 8;
    ql[1].isvsvn = 2;
    qe.levels = ql;
    qe.n_levels = 2;
    struct dcap_eval ev = {.tcb = &tcb, .qe = &qe, .advisories = json_array()};
    dcap_evaluate(&q, &ext, &ev);
    /* level 0 needs SGX 4 (have 3); level 1 needs TDX 6 (have 5); level 2 matches; the QE is
     * out of date too (ISVSVN 4 < 8) */
    CHECK_STR(ev.status, "OutOfDate");
    CHECK_STR(ev.platform_status, "OutOfDate");
    CHECK_STR(ev.qe_status, "OutOfDate");
    CHECK_INT(json_array_size(ev.advisories), 1);
    json_decref(ev.advisories);
    /* an up-to-date platform with an out-of-date QE converges to OutOfDate */
    ext.pcesvn = 11;
    memset(ext.comp_svn, 4, 16);
    struct dcap_eval e2 = {.tcb = &tcb, .qe = &qe, .advisories = json_array()};
    dcap_evaluate(&q, &ext, &e2);
    CHECK_STR(e2.platform_status, "UpToDate");
    CHECK_STR(e2.status, "OutOfDate");
    json_decref(e2.advisories);
    /* configuration-needed + out-of-date QE -> OutOfDateConfigurationNeeded */
    levels[0].status = ST_CONFIGURATION_NEEDED;
    struct dcap_eval e3 = {.tcb = &tcb, .qe = &qe, .advisories = json_array()};
    dcap_evaluate(&q, &ext, &e3);
    CHECK_STR(e3.status, "OutOfDateConfigurationNeeded");
    json_decref(e3.advisories);
    /* QE below every level */
    q.qe_report.isvsvn = 1;
    struct dcap_eval e4 = {.tcb = &tcb, .qe = &qe, .advisories = json_array()};
    dcap_evaluate(&q, &ext, &e4);
    CHECK_STR(e4.status, "NoMatchingQeTcbLevel");
    CHECK_STR(e4.reason, "no matching QE TCB level found");
    json_decref(e4.advisories);
    /* TDX module identity rules: version 1 needs TDX_01, SVN from tee_tcb_svn[0] */
    q.qe_report.isvsvn = 9;
    levels[0].status = ST_UP_TO_DATE;
    q.td.tee_tcb_svn[1] = 1;
    q.td.tee_tcb_svn[0] = 3;
    struct dcap_eval e5 = {.tcb = &tcb, .qe = NULL, .advisories = json_array()};
    dcap_evaluate(&q, &ext, &e5);
    CHECK_STR(e5.status, "TdxModuleMismatch");
    json_decref(e5.advisories);
    struct dcap_level ml[2] = {lvl(0, 0, 0, ST_UP_TO_DATE), lvl(0, 0, 0, ST_OUT_OF_DATE)};
    ml[0].isvsvn = 4;
    ml[1].isvsvn = 2;
    struct dcap_module mod = {.levels = ml, .n_levels = 2};
    snprintf(mod.id, sizeof(mod.id), "TDX_01");
    tcb.modules = &mod;
    tcb.n_modules = 1;
    struct dcap_eval e6 = {.tcb = &tcb, .qe = NULL, .advisories = json_array()};
    dcap_evaluate(&q, &ext, &e6);
    CHECK_STR(e6.status, "OutOfDate");
    CHECK_STR(e6.module_status, "OutOfDate");
    json_decref(e6.advisories);
    q.td.tee_tcb_svn[0] = 1;
    struct dcap_eval e7 = {.tcb = &tcb, .qe = NULL, .advisories = json_array()};
    dcap_evaluate(&q, &ext, &e7);
    CHECK_STR(e7.status, "NoMatchingTdxModuleTcbLevel");
    json_decref(e7.advisories);
    /* a TDX module signer that is not the identity's */
    q.td.tee_tcb_svn[0] = 4;
    q.td.mrsignerseam[0] = 1;
    struct dcap_eval e8 = {.tcb = &tcb, .qe = NULL, .advisories = json_array()};
    dcap_evaluate(&q, &ext, &e8);
    CHECK_STR(e8.status, "TdxModuleMismatch");
    json_decref(e8.advisories);
    for (int i = 0; i < 3; i++)
        json_decref(levels[i].advisories);
    for (int i = 0; i < 2; i++) {
        json_decref(ql[i].advisories);
        json_decref(ml[i].advisories);
    }
}

TEST(qe_identity_checks) {
    struct dcap_signed id = {0};
    struct sb_sgx_report qe = {0};
    id.miscmask = 0xffffffffu;
    memset(id.attrmask, 0xff, 8);
    id.attributes[0] = 0x11;
    qe.attributes[0] = 0x11;
    id.isvprodid = 2;
    qe.isvprodid = 2;
    sb_error err = {0};
    CHECK_OK(dcap_check_qe_identity(&id, &qe, &err), &err);
    qe.miscselect = 1;
    CHECK_INT(dcap_check_qe_identity(&id, &qe, &err), SB_E_CHAIN);
    CHECK_CONTAINS(err.msg, "MISCSELECT");
    qe.miscselect = 0;
    qe.attributes[0] = 0x13;
    CHECK_INT(dcap_check_qe_identity(&id, &qe, &err), SB_E_CHAIN);
    CHECK_CONTAINS(err.msg, "attributes");
    qe.attributes[0] = 0x11;
    qe.attributes[9] = 0xff; /* outside the mask: ignored */
    CHECK_OK(dcap_check_qe_identity(&id, &qe, &err), &err);
    qe.mrsigner[3] = 1;
    CHECK_INT(dcap_check_qe_identity(&id, &qe, &err), SB_E_CHAIN);
    CHECK_CONTAINS(err.msg, "MRSIGNER");
    qe.mrsigner[3] = 0;
    qe.isvprodid = 1;
    CHECK_INT(dcap_check_qe_identity(&id, &qe, &err), SB_E_CHAIN);
    CHECK_CONTAINS(err.msg, "ISVPRODID");
}

/* ---- CCEL replay ----------------------------------------------------------------------- */

TEST(verify_t3_ccel_replays) {
    if (!sb_test_evidence_dir()) return;
    struct run r = {
        .files = {T3, "tdx/go-tdx-guest/ccel_data.dat"}, .dir = "tdx/dcap-rs", .at = AT_DCAP_RS};
    json_t *c = NULL;
    sb_error err = {0};
    CHECK_OK(run_verify(&sb_verifier_tdx, &r, &c, &err), &err);
    if (!c) return;
    json_t *el = json_object_get(json_object_get(c, "platform_claims"), "event_log");
    CHECK_STR(json_string_value(json_object_get(el, "kind")), "ccel");
    CHECK_INT(json_integer_value(json_object_get(el, "events")), 44);
    CHECK_INT(json_array_size(json_object_get(el, "replayed")), 3);
    CHECK(!warned(c, "input not used"));
    json_decref(c);
}

TEST(verify_t4_foreign_ccel_is_mismatch) {
    if (!sb_test_evidence_dir()) return;
    struct run r = {.files = {T4, "tdx/trustee/CCEL_data"}, .at = AT_2023_07_01};
    json_t *c = NULL;
    sb_error err = {0};
    CHECK_INT(run_verify(&sb_verifier_tdx, &r, &c, &err), SB_E_MALFORMED);
    CHECK_CONTAINS(err.msg, "the event log does not belong to this TD");
    CHECK(c == NULL);
    /* the same log next to an SGX quote is just not used */
    struct run s = {.files = {X1, "tdx/go-tdx-guest/ccel_data.dat"}, .at = 1752919277};
    CHECK_OK(run_verify(&sb_verifier_sgx, &s, &c, &err), &err);
    if (c) CHECK(warned(c, "input not used"));
    json_decref(c);
}

/* A store reused across verifications: adding a CRL after a verification must take effect
 * (the PCK chain cache is emptied), and a second verification at the same time is cached. */
TEST(collateral_store_reuse) {
    size_t n, cn;
    _cleanup_free_ uint8_t *q = load(T1, &n);
    _cleanup_free_ uint8_t *crl = load("tdx/go-tdx-guest/pckcrl", &cn);
    if (!q || !crl) return;
    sb_dcap_collateral *c = NULL;
    sb_error err = {0};
    CHECK_OK(sb_dcap_collateral_new(&c, &err), &err);
    json_t *cl = NULL;
    CHECK_OK(sb_dcap_verify(c, q, n, AT_2023_07_01, "tdx", &cl, &err), &err);
    CHECK(warned(cl, "no PCK CRL given"));
    json_decref(cl);
    bool used = false;
    CHECK_OK(sb_dcap_collateral_add(c, "pckcrl", crl, cn, true, &used, &err), &err);
    CHECK(used);
    CHECK_OK(sb_dcap_verify(c, q, n, AT_2023_07_01, "tdx", &cl, &err), &err);
    if (cl) CHECK(!warned(cl, "no PCK CRL given"));
    json_decref(cl);
    /* a different time re-verifies the chain: past the PCK's validity it fails */
    CHECK_INT(sb_dcap_verify(c, q, n, 2619302400, "tdx", &cl, &err), SB_E_CHAIN);
    sb_dcap_collateral_free(c);
}

/* One directory holding collateral of several platforms and years (as `sealbox collateral`
 * keeps it): each quote picks the items for its FMSPC, valid at its time, whose signer chains
 * then; the others must still be genuine. */
TEST(collateral_mixed_directory) {
    if (!sb_test_evidence_dir()) return;
    static const char *const files[] = {
        "tdx/dcap-qvl/tdx_quote_collateral.json",
        "tdx/dcap-qvl/tdx_quote_outdated_collateral.json",
        "sgx/dcap-qvl/sgx_quote_collateral.json",
        "tdx/go-tdx-guest/sample_tcbInfo_response",
        "tdx/go-tdx-guest/sample_qeIdentity_response",
        "tdx/go-tdx-guest/pckcrl",
        "tdx/go-tdx-guest/rootcrl.der",
        TCB_SIGNING,
        "tdx/dcap-rs/tcbinfov3_00806f050000.json",
        "tdx/dcap-rs/qeidentityv2_apiv4.json",
    };
    char dir[4096];
    (void)snprintf(dir, sizeof(dir), "%s/mixed", sb_test_tmpdir());
    CHECK(mkdir(dir, 0700) == 0);
    for (size_t i = 0; i < SB_ARRAY_LEN(files); i++) {
        size_t n;
        _cleanup_free_ uint8_t *b = load(files[i], &n);
        if (!b) return;
        char path[4200];
        (void)snprintf(path, sizeof(path), "%s/%02zu", dir, i);
        sb_error err = {0};
        CHECK_OK(sb_write_file_atomic(path, b, n, 0600, &err), &err);
    }
    struct {
        const char *quote;
        int64_t at;
        const char *status;
    } cases[] = {
        {T1, AT_2023_07_01, "NoMatchingTcbLevel"},
        {T8, 1752919234, "UpToDate"},
        {T9, 1774003274, "NoMatchingTcbLevel"},
        {T7, AT_DCAP_RS, "OutOfDate"},
    };
    for (size_t i = 0; i < SB_ARRAY_LEN(cases); i++) {
        size_t n;
        _cleanup_free_ uint8_t *q = load(cases[i].quote, &n);
        if (!q) return;
        sb_dcap_collateral *c = NULL;
        sb_error err = {0};
        CHECK_OK(sb_dcap_collateral_new(&c, &err), &err);
        CHECK_OK(sb_dcap_collateral_add_dir(c, dir, &err), &err);
        json_t *cl = NULL;
        int rc = sb_dcap_verify(c, q, n, cases[i].at, "tdx", &cl, &err);
        CHECK_MSG(rc == 0, "%s: rc %d (%s)", cases[i].quote, rc, err.msg);
        if (cl) {
            const char *st = jpath(cl, "tcb", "status");
            CHECK_MSG(st && strcmp(st, cases[i].status) == 0, "%s: status %s, want %s",
                      cases[i].quote, st ? st : "null", cases[i].status);
            /* (the CRLs in this directory do not cover 2025-02: T7 is told so, rightly) */
            CHECK_MSG(!warned(cl, "tcbInfo has expired") && !warned(cl, "tcbInfo is not yet") &&
                          !warned(cl, "QE identity has expired") &&
                          !warned(cl, "QE identity is not yet"),
                      "%s: stale collateral chosen", cases[i].quote);
        }
        json_decref(cl);
        sb_dcap_collateral_free(c);
    }
}
