/* test_snp: the SEV-SNP report parser and its wrappers (raw, hex, configfs-tsm JSON, Trustee
 * JSON) on the real samples of the evidence corpus and on synthetic edge cases. */
#include <stdlib.h>

#include "evidence/evidence.h"
#include "harness.h"

#define EV_S1 "snp/trustee/test-report.bin"
#define EV_S2 "snp/trustee/test-vlek-report.bin"
#define EV_S3 "snp/trustee/e2e-evidence.json"
#define EV_S3_BIN "snp/derived/trustee_e2e_evidence_report_rebuilt.bin"
#define EV_S3_VCEK "snp/derived/trustee_e2e_evidence_vcek.der"
#define EV_S4 "snp/go-sev-guest/attestation.bin"
#define EV_S5_HEX "snp/virtee-sev/report_milan.hex"
#define EV_S5 "snp/derived/virtee_report_milan.bin"
#define EV_S8 "snp/veraison-tsm/sevsnp-tsm-report.json"
#define EV_S8_BIN "snp/veraison-tsm/DERIVED_outblob_report.bin"
#define EV_S9_HEX "snp/constellation-vlek/report-vlek.hex"
#define EV_S9 "snp/derived/constellation_vlek_report.bin"

/* A synthetic, well-formed (unsigned) report of the given version. */
static void synth(uint8_t rep[SB_SNP_REPORT_LEN], uint32_t version, uint32_t sig_algo) {
    memset(rep, 0, SB_SNP_REPORT_LEN);
    rep[0] = (uint8_t)version;
    rep[1] = (uint8_t)(version >> 8);
    rep[0x34] = (uint8_t)sig_algo;
    rep[0x08] = 0x00;
    rep[0x0a] = 0x03; /* policy 0x30000 */
    rep[0x180] = 3;   /* reported_tcb bl 3 */
    rep[0x187] = 115; /* ucode */
    rep[0x188] = 0x19;
    rep[0x189] = 0x11;
    rep[0x18a] = 0x01;
    rep[0x1f8] = 0x55; /* launch_mit_vector low byte (v5) */
    for (int i = 0; i < 48; i++)
        rep[0x90 + i] = (uint8_t)i;
}

TEST(parse_s1_fields) {
    size_t n;
    _cleanup_free_ uint8_t *b = sb_test_read_evidence(EV_S1, &n);
    if (!b) return;
    sb_error err = {0};
    struct sb_snp_report r;
    CHECK_OK(sb_snp_report_parse(b, n, &r, &err), &err);
    CHECK_INT(r.version, 2);
    CHECK(r.known_version);
    CHECK_INT(r.policy, 0x3001f);
    CHECK_INT(r.vmpl, 0);
    CHECK_INT(r.sig_algo, 1);
    CHECK_INT(r.signing_key, SB_SNP_KEY_VCEK);
    CHECK_INT(r.trailing, 0);
    struct sb_snp_tcb t;
    sb_snp_tcb_decode(r.reported_tcb, SB_SNP_PRODUCT_MILAN, &t);
    CHECK_INT(t.bootloader, 3);
    CHECK_INT(t.tee, 0);
    CHECK_INT(t.snp, 8);
    CHECK_INT(t.microcode, 115);
    CHECK(!t.has_fmc);
    CHECK_INT(sb_snp_tcb_encode(&t), r.reported_tcb);
    CHECK_INT(sb_snp_product_from_cpuid(&r), SB_SNP_PRODUCT_UNKNOWN); /* v2: no CPUID */
    CHECK_MEM(r.raw, b, SB_SNP_REPORT_LEN);
    CHECK_INT(r.chip_id[0], 0xc3);
    CHECK_INT(r.current_major, 1);
    CHECK_INT(r.current_minor, 0x34);
    CHECK_INT(r.current_build, 4);
}

TEST(parse_s2_vlek_v3) {
    size_t n;
    _cleanup_free_ uint8_t *b = sb_test_read_evidence(EV_S2, &n);
    if (!b) return;
    sb_error err = {0};
    struct sb_snp_report r;
    CHECK_OK(sb_snp_report_parse(b, n, &r, &err), &err);
    CHECK_INT(r.version, 3);
    CHECK_INT(r.vmpl, 1);
    CHECK_INT(r.signing_key, SB_SNP_KEY_VLEK);
    CHECK_INT(r.cpuid_fam_id, 0x19);
    CHECK_INT(sb_snp_product_from_cpuid(&r), SB_SNP_PRODUCT_MILAN);
    struct sb_snp_tcb t;
    sb_snp_tcb_decode(r.reported_tcb, SB_SNP_PRODUCT_MILAN, &t);
    CHECK_INT(t.bootloader, 4);
    CHECK_INT(t.snp, 24);
    CHECK_INT(t.microcode, 217);
}

TEST(parse_s4_gosevguest_values) {
    size_t n;
    _cleanup_free_ uint8_t *b = sb_test_read_evidence(EV_S4, &n);
    if (!b) return;
    sb_error err = {0};
    struct sb_snp_report r;
    CHECK_OK(sb_snp_report_parse(b, n, &r, &err), &err);
    CHECK_INT(r.policy, 0xb0000);
    CHECK(r.policy & (1u << 19)); /* DEBUG */
    CHECK(r.reported_tcb == 4901323769462652930ull);
    static const uint8_t rd[8] = {1, 2, 3, 4, 5, 0, 0, 0};
    CHECK_MEM(r.report_data, rd, 8);
    CHECK_INT(r.measurement[0], 0xb0);
    CHECK_INT(r.measurement[47], 0x01);
    CHECK_INT(r.chip_id[0], 0x3a);
}

TEST(parse_hex_forms_equal_binary) {
    const char *pairs[][2] = {{EV_S5_HEX, EV_S5}, {EV_S9_HEX, EV_S9}};
    for (size_t i = 0; i < SB_ARRAY_LEN(pairs); i++) {
        size_t nh, nb;
        _cleanup_free_ uint8_t *h = sb_test_read_evidence(pairs[i][0], &nh);
        _cleanup_free_ uint8_t *b = sb_test_read_evidence(pairs[i][1], &nb);
        if (!h || !b) return;
        CHECK_INT(sb_snp_sniff(h, nh), SB_SNP_FMT_HEX);
        sb_error err = {0};
        struct sb_snp_evidence e;
        CHECK_OK(sb_snp_evidence_parse(h, nh, &e, &err), &err);
        CHECK_INT(e.format, SB_SNP_FMT_HEX);
        CHECK_INT(nb, SB_SNP_REPORT_LEN);
        CHECK_MEM(e.report.raw, b, SB_SNP_REPORT_LEN);
        sb_snp_evidence_free(&e);
    }
}

TEST(parse_trustee_json_rebuilds_binary) {
    size_t nj, nb, nv;
    _cleanup_free_ uint8_t *j = sb_test_read_evidence(EV_S3, &nj);
    _cleanup_free_ uint8_t *b = sb_test_read_evidence(EV_S3_BIN, &nb);
    _cleanup_free_ uint8_t *v = sb_test_read_evidence(EV_S3_VCEK, &nv);
    if (!j || !b || !v) return;
    CHECK_INT(sb_snp_sniff(j, nj), SB_SNP_FMT_TRUSTEE);
    sb_error err = {0};
    struct sb_snp_evidence e;
    CHECK_OK(sb_snp_evidence_parse(j, nj, &e, &err), &err);
    CHECK_INT(e.format, SB_SNP_FMT_TRUSTEE);
    /* Byte for byte what an independent rebuild produced (the signature test proves it too). */
    CHECK_MEM(e.report.raw, b, SB_SNP_REPORT_LEN);
    CHECK_INT(e.n_certs, 1);
    CHECK_INT(e.certs[0].kind, SB_SNP_CERT_VCEK);
    CHECK_INT(e.certs[0].len, nv);
    if (e.certs[0].len == nv) CHECK_MEM(e.certs[0].data, v, nv);
    CHECK_INT(sb_snp_product_from_cpuid(&e.report), SB_SNP_PRODUCT_GENOA);
    sb_snp_evidence_free(&e);
}

TEST(parse_tsm_json_outblob_and_auxblob) {
    size_t nj, nb;
    _cleanup_free_ uint8_t *j = sb_test_read_evidence(EV_S8, &nj);
    _cleanup_free_ uint8_t *b = sb_test_read_evidence(EV_S8_BIN, &nb);
    if (!j || !b) return;
    CHECK_INT(sb_snp_sniff(j, nj), SB_SNP_FMT_TSM_JSON);
    sb_error err = {0};
    struct sb_snp_evidence e;
    CHECK_OK(sb_snp_evidence_parse(j, nj, &e, &err), &err);
    CHECK_MEM(e.report.raw, b, SB_SNP_REPORT_LEN);
    CHECK_INT(e.n_certs, 3);
    const char *names[] = {"snp/veraison-tsm/DERIVED_auxblob_ark.pem",
                           "snp/veraison-tsm/DERIVED_auxblob_ask.pem",
                           "snp/veraison-tsm/DERIVED_auxblob_vcek.pem"};
    enum sb_snp_cert_kind kinds[] = {SB_SNP_CERT_ARK, SB_SNP_CERT_ASK, SB_SNP_CERT_VCEK};
    for (size_t i = 0; i < 3 && i < e.n_certs; i++) {
        size_t np;
        _cleanup_free_ uint8_t *pem = sb_test_read_evidence(names[i], &np);
        if (!pem) break;
        CHECK_INT(e.certs[i].kind, kinds[i]);
        CHECK_INT(e.certs[i].len, np);
        if (e.certs[i].len == np) CHECK_MEM(e.certs[i].data, pem, np);
    }
    CHECK_INT(sb_snp_product_from_cpuid(&e.report), SB_SNP_PRODUCT_GENOA);
    sb_snp_evidence_free(&e);
}

TEST(truncation_every_length) {
    size_t n;
    _cleanup_free_ uint8_t *b = sb_test_read_evidence(EV_S1, &n);
    if (!b) return;
    for (size_t len = 0; len < SB_SNP_REPORT_LEN; len++) {
        /* exact-size heap copy so ASan sees any over-read */
        uint8_t *c = malloc(len ? len : 1);
        memcpy(c, b, len);
        sb_error err = {0};
        struct sb_snp_report r;
        int rc = sb_snp_report_parse(c, len, &r, &err);
        free(c);
        CHECK_MSG(rc == SB_E_TRUNCATED, "length %zu: rc %d (%s)", len, rc, err.msg);
    }
}

TEST(version_rules) {
    uint8_t rep[SB_SNP_REPORT_LEN];
    sb_error err = {0};
    struct sb_snp_report r;
    for (uint32_t v = 0; v < 2; v++) {
        synth(rep, v, 1);
        CHECK_INT(sb_snp_report_parse(rep, sizeof(rep), &r, &err), SB_E_UNSUPPORTED);
        char want[64];
        snprintf(want, sizeof(want), "report version %u is not supported", v);
        CHECK_CONTAINS(err.msg, want);
    }
    synth(rep, 5, 1);
    CHECK_OK(sb_snp_report_parse(rep, sizeof(rep), &r, &err), &err);
    CHECK(r.known_version);
    CHECK_INT(r.launch_mit_vector, 0x55);
    synth(rep, 3, 1);
    CHECK_OK(sb_snp_report_parse(rep, sizeof(rep), &r, &err), &err);
    CHECK_INT(r.launch_mit_vector, 0); /* reserved before v5 */
    CHECK_INT(r.cpuid_fam_id, 0x19);
    synth(rep, 2, 1);
    CHECK_OK(sb_snp_report_parse(rep, sizeof(rep), &r, &err), &err);
    CHECK_INT(r.cpuid_fam_id, 0); /* reserved in v2 */
    /* unknown (4, future) versions: v5 layout when the signature algorithm is the known one */
    synth(rep, 7, 1);
    CHECK_OK(sb_snp_report_parse(rep, sizeof(rep), &r, &err), &err);
    CHECK(!r.known_version);
    CHECK_INT(r.launch_mit_vector, 0x55);
    synth(rep, 4, 1);
    CHECK_OK(sb_snp_report_parse(rep, sizeof(rep), &r, &err), &err);
    CHECK(!r.known_version);
    synth(rep, 7, 2);
    CHECK_INT(sb_snp_report_parse(rep, sizeof(rep), &r, &err), SB_E_UNSUPPORTED);
    CHECK_CONTAINS(err.msg, "version 7 with signature algorithm 2");
    synth(rep, 32, 1);
    CHECK_INT(sb_snp_report_parse(rep, sizeof(rep), &r, &err), SB_E_MALFORMED);
    CHECK_CONTAINS(err.msg, "version 32");
}

TEST(key_info_selection) {
    uint8_t rep[SB_SNP_REPORT_LEN];
    sb_error err = {0};
    struct sb_snp_report r;
    const struct {
        uint32_t ki;
        int rc;
        int key;
    } cases[] = {{0x0, 0, SB_SNP_KEY_VCEK}, {0x4, 0, SB_SNP_KEY_VLEK}, {0x1c, 0, SB_SNP_KEY_NONE},
                 {0x1, 0, SB_SNP_KEY_VCEK}, {0x8, SB_E_MALFORMED, 0},  {0x10, SB_E_MALFORMED, 0}};
    for (size_t i = 0; i < SB_ARRAY_LEN(cases); i++) {
        synth(rep, 3, 1);
        rep[0x48] = (uint8_t)cases[i].ki;
        int rc = sb_snp_report_parse(rep, sizeof(rep), &r, &err);
        CHECK_INT(rc, cases[i].rc);
        if (rc == 0)
            CHECK_INT(r.signing_key, cases[i].key);
        else
            CHECK_CONTAINS(err.msg, "signing_key");
    }
    synth(rep, 3, 1);
    rep[0x48] = 0x3;
    CHECK_OK(sb_snp_report_parse(rep, sizeof(rep), &r, &err), &err);
    CHECK(r.author_key_en);
    CHECK(r.mask_chip_key);
}

/* Trailing-bytes rule (evidence.h): up to SB_SNP_TRAILING_MAX extra bytes parse and are counted
 * (the verifier turns them into a warning claim); more is a limit error. */
TEST(trailing_bytes_rule) {
    static uint8_t buf[SB_SNP_REPORT_LEN + SB_SNP_TRAILING_MAX + 1];
    synth(buf, 3, 1);
    sb_error err = {0};
    struct sb_snp_report r;
    CHECK_OK(sb_snp_report_parse(buf, SB_SNP_REPORT_LEN + 39, &r, &err), &err);
    CHECK_INT(r.trailing, 39);
    CHECK_OK(sb_snp_report_parse(buf, SB_SNP_REPORT_LEN + SB_SNP_TRAILING_MAX, &r, &err), &err);
    CHECK_INT(sb_snp_report_parse(buf, sizeof(buf), &r, &err), SB_E_LIMIT);
}

TEST(unsigned_signature_tail_must_be_zero) {
    uint8_t rep[SB_SNP_REPORT_LEN];
    sb_error err = {0};
    struct sb_snp_report r;
    synth(rep, 2, 1);
    rep[0x400] = 1;
    CHECK_INT(sb_snp_report_parse(rep, sizeof(rep), &r, &err), SB_E_MALFORMED);
    CHECK_CONTAINS(err.msg, "offset 0x400");
}

/* ---- the GHCB certificate table ---- */

static void put_entry(uint8_t *t, size_t i, const uint8_t guid[16], uint32_t off, uint32_t len) {
    uint8_t *e = t + 24 * i;
    memcpy(e, guid, 16);
    for (int k = 0; k < 4; k++) {
        e[16 + k] = (uint8_t)(off >> (8 * k));
        e[20 + k] = (uint8_t)(len >> (8 * k));
    }
}

static const uint8_t G_VCEK[16] = {0x63, 0xda, 0x75, 0x8d, 0xe6, 0x64, 0x45, 0x64,
                                   0xad, 0xc5, 0xf4, 0xb9, 0x3b, 0xe8, 0xac, 0xcd};
static const uint8_t G_VCEK_EFI[16] = {0x8d, 0x75, 0xda, 0x63, 0x64, 0xe6, 0x64, 0x45,
                                       0xad, 0xc5, 0xf4, 0xb9, 0x3b, 0xe8, 0xac, 0xcd};
static const uint8_t G_ARK[16] = {0xc0, 0xb4, 0x06, 0xa4, 0xa8, 0x03, 0x49, 0x52,
                                  0x97, 0x43, 0x3f, 0xb6, 0x01, 0x4c, 0xd0, 0xae};
static const uint8_t G_ZERO[16] = {0};

TEST(cert_table_good_and_efi_order) {
    uint8_t t[24 * 3 + 10];
    memset(t, 0, sizeof(t));
    put_entry(t, 0, G_VCEK_EFI, 72, 4);
    put_entry(t, 1, G_ARK, 76, 6);
    put_entry(t, 2, G_ZERO, 0, 0);
    memcpy(t + 72, "AAAABBBBBB", 10);
    struct sb_snp_cert c[SB_SNP_CERTS_MAX];
    size_t nc = 0;
    sb_error err = {0};
    CHECK_OK(sb_snp_cert_table_parse(t, sizeof(t), c, &nc, &err), &err);
    CHECK_INT(nc, 2);
    CHECK_INT(c[0].kind, SB_SNP_CERT_VCEK);
    CHECK_MEM(c[0].guid, G_VCEK, 16); /* stored in textual order */
    CHECK_INT(c[0].len, 4);
    CHECK_INT(c[1].kind, SB_SNP_CERT_ARK);
    CHECK_MEM(c[1].data, "BBBBBB", 6);
    for (size_t i = 0; i < nc; i++)
        free(c[i].data);
}

TEST(cert_table_bad) {
    uint8_t t[24 * 12];
    struct sb_snp_cert c[SB_SNP_CERTS_MAX];
    size_t nc = 0;
    sb_error err = {0};
    /* no terminator */
    memset(t, 0, sizeof(t));
    put_entry(t, 0, G_VCEK, 48, 4);
    CHECK_INT(sb_snp_cert_table_parse(t, 24, c, &nc, &err), SB_E_TRUNCATED);
    /* offset pointing into the entry array */
    put_entry(t, 1, G_ZERO, 0, 0);
    put_entry(t, 0, G_VCEK, 8, 4);
    CHECK_INT(sb_snp_cert_table_parse(t, 96, c, &nc, &err), SB_E_MALFORMED);
    CHECK_CONTAINS(err.msg, "points into the entry array");
    /* length past the end */
    put_entry(t, 0, G_VCEK, 48, 4000);
    CHECK_INT(sb_snp_cert_table_parse(t, 96, c, &nc, &err), SB_E_TRUNCATED);
    /* offset overflow-ish */
    put_entry(t, 0, G_VCEK, 0xffffffffu, 0xffffffffu);
    CHECK_INT(sb_snp_cert_table_parse(t, 96, c, &nc, &err), SB_E_TRUNCATED);
    /* terminator with a length */
    put_entry(t, 0, G_VCEK, 48, 4);
    put_entry(t, 1, G_ZERO, 0, 5);
    CHECK_INT(sb_snp_cert_table_parse(t, 96, c, &nc, &err), SB_E_MALFORMED);
    /* too many entries */
    for (size_t i = 0; i < 11; i++)
        put_entry(t, i, G_ARK, 24 * 12 - 4, 4);
    put_entry(t, 11, G_ZERO, 0, 0);
    CHECK_INT(sb_snp_cert_table_parse(t, sizeof(t), c, &nc, &err), SB_E_LIMIT);
    CHECK_INT(nc, 0);
}

TEST(trustee_json_bad_fields) {
    size_t nj;
    _cleanup_free_ uint8_t *j = sb_test_read_evidence(EV_S3, &nj);
    if (!j) return;
    sb_error err = {0};
    struct sb_snp_evidence e;
    /* duplicate key */
    const char dup[] = "{\"attestation_report\":{},\"attestation_report\":{}}";
    CHECK_INT(sb_snp_trustee_parse((const uint8_t *)dup, strlen(dup), &e, &err), SB_E_MALFORMED);
    /* rename one field: unknown field named */
    char *s = malloc(nj + 1);
    memcpy(s, j, nj);
    s[nj] = 0;
    char *k = strstr(s, "\"guest_svn\"");
    CHECK(k != NULL);
    if (k) {
        memcpy(k + 1, "guest_svx", 9);
        CHECK_INT(sb_snp_trustee_parse((uint8_t *)s, nj, &e, &err), SB_E_MALFORMED);
        CHECK_CONTAINS(err.msg, "guest_svx");
        memcpy(k + 1, "guest_svn", 9);
    }
    /* a byte out of range */
    k = strstr(s, "\"report_data\":[");
    CHECK(k != NULL);
    if (k) {
        char *d = k + strlen("\"report_data\":[");
        memcpy(d, "999", 3); /* the first value is 126: three digits */
        CHECK_INT(sb_snp_trustee_parse((uint8_t *)s, nj, &e, &err), SB_E_MALFORMED);
        CHECK_CONTAINS(err.msg, "report_data[0]");
    }
    free(s);
}

TEST(tsm_json_bad) {
    sb_error err = {0};
    struct sb_snp_evidence e;
    const char *cases[][2] = {
        {"{\"provider\":\"tdx_guest\\n\",\"outblob\":\"AAAA\"}", "not sev_guest"},
        {"{\"provider\":\"sev_guest\\n\"}", "missing outblob"},
        {"{\"provider\":\"sev_guest\\n\",\"outblob\":\"A!!A\"}", "not base64"},
        {"{\"provider\":\"sev_guest\\n\",\"outblob\":\"AAAA\"}", "truncated"},
        {"[1]", "not an object"},
    };
    for (size_t i = 0; i < SB_ARRAY_LEN(cases); i++) {
        int rc = sb_snp_tsm_json_parse((const uint8_t *)cases[i][0], strlen(cases[i][0]), &e, &err);
        CHECK_MSG(rc < 0, "case %zu passed", i);
        CHECK_CONTAINS(err.msg, cases[i][1]);
    }
}

TEST(sniff_garbage) {
    static const uint8_t z[2000];
    CHECK_INT(sb_snp_sniff(z, sizeof(z)), -1);
    CHECK_INT(sb_snp_sniff(NULL, 0), -1);
    CHECK_INT(sb_snp_sniff((const uint8_t *)"{}", 2), -1);
    uint8_t rep[SB_SNP_REPORT_LEN];
    synth(rep, 2, 1);
    CHECK_INT(sb_snp_sniff(rep, sizeof(rep)), SB_SNP_FMT_RAW);
    CHECK_INT(sb_snp_sniff(rep, sizeof(rep) - 1), -1);
}

TEST(product_names) {
    CHECK_INT(sb_snp_product_from_name("Milan-B0", 8), SB_SNP_PRODUCT_MILAN);
    CHECK_INT(sb_snp_product_from_name("Genoa", 5), SB_SNP_PRODUCT_GENOA);
    CHECK_INT(sb_snp_product_from_name("Turin", 5), SB_SNP_PRODUCT_TURIN);
    CHECK_INT(sb_snp_product_from_name("Milano", 6), SB_SNP_PRODUCT_UNKNOWN);
    CHECK_INT(sb_snp_product_from_name("Mil", 3), SB_SNP_PRODUCT_UNKNOWN);
    struct sb_snp_tcb t;
    sb_snp_tcb_decode(0xdb00000000040302ull, SB_SNP_PRODUCT_TURIN, &t);
    CHECK(t.has_fmc);
    CHECK_INT(t.fmc, 2);
    CHECK_INT(t.bootloader, 3);
    CHECK_INT(t.tee, 4);
    CHECK_INT(t.snp, 0);
    CHECK_INT(t.microcode, 0xdb);
    CHECK(sb_snp_tcb_encode(&t) == 0xdb00000000040302ull);
}

/* The generated fuzz seeds must reach deep: each parses (except the deliberately old version). */
TEST(fuzz_seeds_parse) {
    const char *src = getenv("SEALBOX_SOURCE_DIR");
    if (!src) {
        sb_test_skip(false, "SEALBOX_SOURCE_DIR not set");
        return;
    }
    const char *seeds[] = {
        "report_v2.bin",       "report_v3.bin",    "report_v5.bin",    "report_v7.bin",
        "report_vlek.bin",     "report_nokey.bin", "report_turin.bin", "report_trailing.bin",
        "report.hex",          "tsm.json",         "tsm_noaux.json",   "trustee.json",
        "trustee_nochain.json"};
    for (size_t i = 0; i < SB_ARRAY_LEN(seeds); i++) {
        char path[4096];
        snprintf(path, sizeof(path), "%s/tests/fuzz/corpus/snp/%s", src, seeds[i]);
        uint8_t *b = NULL;
        size_t n = 0;
        sb_error err = {0};
        CHECK_OK(sb_read_file(path, 1u << 20, &b, &n, &err), &err);
        struct sb_snp_evidence e;
        int rc = sb_snp_evidence_parse(b, n, &e, &err);
        CHECK_MSG(rc == 0, "%s: %s", seeds[i], err.msg);
        if (rc == 0) sb_snp_evidence_free(&e);
        free(b);
    }
}
