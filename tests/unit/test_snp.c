/* test_snp: the SEV-SNP report parser and its wrappers (raw, hex, configfs-tsm JSON, Trustee
 * JSON) on the real samples of the evidence corpus and on synthetic edge cases. */
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <stdlib.h>
#include <errno.h>
#include <sys/stat.h>

#include "crypto/crypto.h"
#include "evidence/evidence.h"
#include "harness.h"
#include "verify/snp_internal.h"
#include "verify/verify.h"

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

TEST(parse_tsm_cbor_and_ratsd) {
    size_t nc, nr, nb;
    _cleanup_free_ uint8_t *c =
        sb_test_read_evidence("snp/veraison-tsm/sevsnp-tsm-report.cbor", &nc);
    _cleanup_free_ uint8_t *r = sb_test_read_evidence("snp/veraison-tsm/sevsnp-ratsd-token", &nr);
    _cleanup_free_ uint8_t *b = sb_test_read_evidence(EV_S8_BIN, &nb);
    if (!c || !r || !b) return;
    sb_error err = {0};
    struct sb_snp_evidence e;
    CHECK_INT(sb_snp_sniff(c, nc), SB_SNP_FMT_TSM_CBOR);
    CHECK_OK(sb_snp_evidence_parse(c, nc, &e, &err), &err);
    CHECK_INT(e.format, SB_SNP_FMT_TSM_CBOR);
    CHECK_MEM(e.report.raw, b, SB_SNP_REPORT_LEN);
    CHECK_INT(e.n_certs, 3);
    if (e.n_certs == 3) CHECK_INT(e.certs[2].kind, SB_SNP_CERT_VCEK);
    sb_snp_evidence_free(&e);
    CHECK_INT(sb_snp_sniff(r, nr), SB_SNP_FMT_RATSD);
    CHECK_OK(sb_snp_evidence_parse(r, nr, &e, &err), &err);
    CHECK_INT(e.format, SB_SNP_FMT_RATSD);
    CHECK_MEM(e.report.raw, b, SB_SNP_REPORT_LEN);
    CHECK_INT(e.n_certs, 3);
    sb_snp_evidence_free(&e);
    /* an eat_nonce that is not the report's report_data */
    char *t = malloc(nr + 1);
    memcpy(t, r, nr);
    t[nr] = 0;
    char *k = strstr(t, "\"eat_nonce\":\"");
    CHECK(k != NULL);
    if (k) {
        k += strlen("\"eat_nonce\":\"");
        k[0] = k[0] == 'A' ? 'B' : 'A';
        CHECK_INT(sb_snp_ratsd_parse((uint8_t *)t, nr, &e, &err), SB_E_MALFORMED);
        CHECK_CONTAINS(err.msg, "eat_nonce does not match");
    }
    free(t);
    /* the CBOR map truncated anywhere: an error, never a crash */
    for (size_t len = 0; len < nc; len += 97) {
        uint8_t *x = malloc(len ? len : 1);
        memcpy(x, c, len);
        CHECK(sb_snp_tsm_cbor_parse(x, len, &e, &err) < 0);
        free(x);
    }
}

TEST(tsm_cbor_bad) {
    sb_error err = {0};
    struct sb_snp_evidence e;
    /* {"outblob": "x"} (text, not bytes); [] ; {"provider": h''} ; a byte string claiming 4 GiB */
    const uint8_t text_outblob[] = {0xa2, 0x67, 'o', 'u', 't', 'b', 'l', 'o', 'b', 0x61, 'x',
                                    0x68, 'p',  'r', 'o', 'v', 'i', 'd', 'e', 'r', 0x40};
    const uint8_t arr[] = {0x80};
    const uint8_t no_out[] = {0xa1, 0x68, 'p', 'r', 'o', 'v', 'i', 'd', 'e', 'r', 0x40};
    const uint8_t huge[] = {0xa1, 0x67, 'o',  'u',  't',  'b',  'l',
                            'o',  'b',  0x5a, 0xff, 0xff, 0xff, 0xff};
    CHECK(sb_snp_tsm_cbor_parse(text_outblob, sizeof(text_outblob), &e, &err) < 0);
    CHECK_CONTAINS(err.msg, "outblob");
    CHECK_INT(sb_snp_tsm_cbor_parse(arr, sizeof(arr), &e, &err), SB_E_MALFORMED);
    CHECK_INT(sb_snp_tsm_cbor_parse(no_out, sizeof(no_out), &e, &err), SB_E_MALFORMED);
    CHECK_CONTAINS(err.msg, "missing outblob");
    CHECK(sb_snp_tsm_cbor_parse(huge, sizeof(huge), &e, &err) < 0);
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

/* ==== verification ==================================================================== */

#define T_2025 "2025-06-01T00:00:00Z"

static int64_t at_of(const char *s) {
    int64_t t = 0;
    sb_error err = {0};
    if (sb_time_parse(s, &t, &err) < 0) sb_test_fail(__FILE__, __LINE__, "time %s", s);
    return t;
}

/* Reads the evidence and certificate files (relative to the corpus), verifies at `at`. */
static int verify_files(sb_snp_verifier *v, const char *ev, const char *const *certs, size_t nc,
                        const char *at, json_t **claims, sb_error *err) {
    struct sb_blob b[8] = {0};
    size_t n = 0;
    int rc = SB_E_IO;
    b[n].name = ev;
    b[n].data = sb_test_read_evidence(ev, &b[n].len);
    if (!b[n++].data) goto out;
    for (size_t i = 0; i < nc; i++) {
        b[n].name = certs[i];
        b[n].data = sb_test_read_evidence(certs[i], &b[n].len);
        if (!b[n++].data) goto out;
    }
    struct sb_verify_opts o = {.at = at_of(at), .certs = b + 1, .n_certs = n - 1};
    json_t *c = NULL;
    rc = sb_snp_verify_evidence(v, &o, b, 1, &c, err);
    if (claims)
        *claims = c;
    else
        json_decref(c);
out:
    for (size_t i = 0; i < n; i++)
        free((void *)(uintptr_t)b[i].data);
    return rc;
}

static const char *jget(json_t *c, const char *sec, const char *key) {
    json_t *o = sec ? json_object_get(c, sec) : c;
    return json_string_value(json_object_get(o, key));
}

static json_int_t jint(json_t *c, const char *sec, const char *key) {
    json_t *o = sec ? json_object_get(c, sec) : c;
    return json_integer_value(json_object_get(o, key));
}

TEST(anchor_fingerprints_pinned) {
    /* The same values as amd_roots.c, written independently here: a changed PEM or pin fails. */
    static const char *const want[][2] = {
        {"ARK-Milan", "69d063b45344d26a2e94e1f4210de49ef555308287d4c174445c95639a540bcd"},
        {"SEV-Milan", "67d303bd3905fd38db8b20e0793699870e7fa612eaad5dec358293fd8c0bac1b"},
        {"SEV-VLEK-Milan", "c5e081f59b7efab1fe2f8b505e159704e72f29cab7ef7cf628a05a42439082f5"},
        {"ARK-Genoa", "4c6598d19c18719c5dfd4a7d335f674e5bfe1d8f800cea2cf270c10d103db2f1"},
        {"SEV-Genoa", "5464738c1546aed5f2cecf1dc98c5c960a92e8913238a61711bc90ec6e828521"},
        {"SEV-VLEK-Genoa", "197e610743a917d6b9bb982a5a9226ccc0a15b611be0619e626aca9151457372"},
        {"ARK-Turin", "1f084161a44bb6d93778a904877d4819cafa5d05ef4193b2ded9dd9c73dd3f6a"},
        {"SEV-Turin", "5b77ef5fe7a7a004fd9032668fba9d0fda22f88c4442069a479636a6ae3b3185"},
        {"SEV-VLEK-Turin", "104e10a8bd060a3c20a434261a57d0588fd65a88915b4f65b08bdecaf8df1a3c"},
    };
    CHECK_INT(sb_snp_n_anchors, SB_ARRAY_LEN(want));
    for (size_t i = 0; i < SB_ARRAY_LEN(want); i++) {
        const struct sb_snp_anchor *a = NULL;
        for (size_t k = 0; k < sb_snp_n_anchors; k++)
            if (strcmp(sb_snp_anchors[k].cn, want[i][0]) == 0) a = &sb_snp_anchors[k];
        CHECK_MSG(a != NULL, "no anchor %s", want[i][0]);
        if (!a) continue;
        sb_error err = {0};
        sb_cert *c = NULL;
        CHECK_OK(sb_cert_from_pem((const uint8_t *)a->pem, a->pem_len, &c, &err), &err);
        if (!c) continue;
        uint8_t fp[32];
        char hex[65];
        CHECK_OK(sb_cert_fingerprint(c, SB_HASH_SHA256, fp, &err), &err);
        sb_hex_encode(fp, 32, hex);
        CHECK_STR(hex, want[i][1]);
        CHECK_STR(a->sha256, want[i][1]);
        char *subj = sb_cert_subject(c);
        CHECK_CONTAINS(subj, want[i][0]);
        free(subj);
        /* every pinned certificate chains to its product's ARK (roots self-signed) */
        const struct sb_snp_anchor *ark = NULL;
        for (size_t k = 0; k < sb_snp_n_anchors; k++)
            if (sb_snp_anchors[k].product == a->product &&
                sb_snp_anchors[k].kind == SB_SNP_ANCHOR_ARK)
                ark = &sb_snp_anchors[k];
        sb_cert *root = NULL;
        CHECK_OK(sb_cert_from_pem((const uint8_t *)ark->pem, ark->pem_len, &root, &err), &err);
        if (root) CHECK_OK(sb_cert_check_signed_by(c, root, &err), &err);
        sb_cert_free(root);
        sb_cert_free(c);
    }
    sb_snp_verifier *v = NULL;
    sb_error err = {0};
    CHECK_OK(sb_snp_verifier_new(&v, &err), &err);
    sb_snp_verifier_free(v);
}

/* ---- the positive samples of MANIFEST §1, each at a time inside its validity windows ---- */

TEST(verify_s1_trustee_vcek) {
    if (!sb_test_evidence_dir()) return;
    const char *certs[] = {"snp/trustee/test-vcek.der"};
    json_t *c = NULL;
    sb_error err = {0};
    CHECK_OK(verify_files(NULL, EV_S1, certs, 1, T_2025, &c, &err), &err);
    if (!c) return;
    CHECK_STR(jget(c, NULL, "platform"), "snp");
    CHECK_STR(jget(c, NULL, "format"), "snp-report");
    CHECK_STR(jget(c, NULL, "product"), "Milan");
    CHECK_INT(jint(c, NULL, "version"), 2);
    CHECK(json_is_false(json_object_get(c, "debug")));
    json_t *comp = json_object_get(json_object_get(c, "tcb"), "components");
    CHECK_INT(jint(comp, NULL, "bootloader"), 3);
    CHECK_INT(jint(comp, NULL, "tee"), 0);
    CHECK_INT(jint(comp, NULL, "snp"), 8);
    CHECK_INT(jint(comp, NULL, "microcode"), 115);
    CHECK(json_object_get(comp, "fmc") == NULL);
    CHECK_INT(jint(c, "platform_claims", "policy"), 0x3001f);
    CHECK_INT(jint(c, "platform_claims", "vmpl"), 0);
    CHECK_STR(jget(c, "platform_identity", "signing_key"), "vcek");
    CHECK_CONTAINS(jget(c, "platform_identity", "chip_id"), "c38427a30d4c7af9");
    json_t *coll = json_object_get(c, "collateral");
    CHECK_INT(json_array_size(coll), 3);
    CHECK_STR(jget(json_array_get(coll, 0), NULL, "kind"), "vcek");
    CHECK_STR(jget(json_array_get(coll, 0), NULL, "not_before"), "2023-01-24T17:58:26Z");
    CHECK_STR(jget(json_array_get(coll, 0), NULL, "not_after"), "2030-01-24T17:58:26Z");
    CHECK_STR(jget(json_array_get(coll, 1), NULL, "kind"), "ask");
    CHECK_STR(jget(json_array_get(coll, 1), NULL, "source"), "pinned");
    CHECK_STR(jget(json_array_get(coll, 2), NULL, "kind"), "ark");
    /* no CRL given: revocation is reported unchecked, never assumed good */
    CHECK_INT(json_array_size(json_object_get(c, "warnings")), 1);
    CHECK_CONTAINS(json_string_value(json_array_get(json_object_get(c, "warnings"), 0)),
                   "revocation unchecked: no ARK-Milan CRL");
    CHECK_STR(jget(c, "platform_claims", "revocation"), "unchecked");
    json_decref(c);
}

TEST(verify_s2_vlek) {
    if (!sb_test_evidence_dir()) return;
    const char *certs[] = {"snp/trustee/test-vlek.der"};
    json_t *c = NULL;
    sb_error err = {0};
    CHECK_OK(verify_files(NULL, EV_S2, certs, 1, T_2025, &c, &err), &err);
    if (!c) return;
    CHECK_STR(jget(c, "platform_identity", "signing_key"), "vlek");
    CHECK_STR(jget(c, "platform_identity", "csp_id"), "CN=cc-us-east-2.amazonaws.com");
    CHECK_INT(jint(c, "platform_claims", "vmpl"), 1);
    CHECK_STR(jget(json_array_get(json_object_get(c, "collateral"), 1), NULL, "kind"), "asvk");
    json_decref(c);
    /* with the ASVK chain supplied explicitly (third cert of Trustee's bundle) */
    const char *certs2[] = {"snp/trustee/test-vlek.der",
                            "snp/amd-chains/trustee_milan_ask_ark_asvk.pem"};
    CHECK_OK(verify_files(NULL, EV_S2, certs2, 2, T_2025, NULL, &err), &err);
    const char *certs3[] = {"snp/trustee/test-vlek.der", "snp/go-sev-guest/milanvlek.testcer"};
    CHECK_OK(verify_files(NULL, EV_S2, certs3, 2, T_2025, NULL, &err), &err);
}

TEST(verify_s3_trustee_json_embedded_vcek) {
    if (!sb_test_evidence_dir()) return;
    json_t *c = NULL;
    sb_error err = {0};
    CHECK_OK(verify_files(NULL, EV_S3, NULL, 0, T_2025, &c, &err), &err);
    if (!c) return;
    CHECK_STR(jget(c, NULL, "format"), "trustee-snp-evidence");
    CHECK_STR(jget(c, NULL, "product"), "Genoa");
    CHECK_STR(jget(json_array_get(json_object_get(c, "collateral"), 0), NULL, "source"),
              "cert_chain vcek");
    json_decref(c);
    /* the rebuilt binary with the extracted VCEK: the same verdict */
    const char *certs[] = {EV_S3_VCEK};
    CHECK_OK(verify_files(NULL, EV_S3_BIN, certs, 1, T_2025, NULL, &err), &err);
}

TEST(verify_s4_gosevguest_debug_claim) {
    if (!sb_test_evidence_dir()) return;
    const char *certs[] = {"snp/go-sev-guest/vcek.testcer", "snp/go-sev-guest/milan.testcer"};
    json_t *c = NULL;
    sb_error err = {0};
    CHECK_OK(verify_files(NULL, EV_S4, certs, 2, "2022-09-24T01:00:00Z", &c, &err), &err);
    if (!c) return;
    CHECK(json_is_true(json_object_get(c, "debug"))); /* policy bit 19: appraisal says no */
    CHECK(json_is_true(json_object_get(json_object_get(c, "platform_claims"), "policy_debug")));
    CHECK_CONTAINS(jget(c, NULL, "report_data"), "0102030405000000");
    CHECK_CONTAINS(jget(c, "measurements", "measurement"), "b07af962");
    CHECK_CONTAINS(jget(c, "platform_identity", "chip_id"), "3ac3fe21");
    CHECK_STR(jget(json_array_get(json_object_get(c, "collateral"), 1), NULL, "source"),
              "snp/go-sev-guest/milan.testcer");
    json_decref(c);
}

TEST(verify_s5_virtee_hex_and_bin) {
    if (!sb_test_evidence_dir()) return;
    const char *certs[] = {"snp/virtee-sev/vcek_milan.der", "snp/virtee-sev/cert_chain_milan.pem"};
    sb_error err = {0};
    json_t *c = NULL;
    CHECK_OK(verify_files(NULL, EV_S5_HEX, certs, 2, T_2025, &c, &err), &err);
    if (c) CHECK_STR(jget(c, NULL, "format"), "snp-report-hex");
    json_decref(c);
    CHECK_OK(verify_files(NULL, EV_S5, certs, 1, T_2025, NULL, &err), &err);
}

TEST(verify_s8_configfs_tsm_auxblob) {
    if (!sb_test_evidence_dir()) return;
    json_t *c = NULL;
    sb_error err = {0};
    CHECK_OK(verify_files(NULL, EV_S8, NULL, 0, T_2025, &c, &err), &err);
    if (!c) return;
    CHECK_STR(jget(c, NULL, "format"), "configfs-tsm");
    CHECK_STR(jget(c, NULL, "product"), "Genoa");
    CHECK_INT(jint(c, "platform_claims", "cpuid_mod_id"), 0x11);
    /* the auxblob's ASK was used, and the auxblob's ARK had to be the pinned one */
    CHECK_STR(jget(json_array_get(json_object_get(c, "collateral"), 1), NULL, "source"),
              "auxblob ask");
    json_decref(c);
}

TEST(verify_s8_cbor_and_ratsd) {
    if (!sb_test_evidence_dir()) return;
    const char *forms[][2] = {{"snp/veraison-tsm/sevsnp-tsm-report.cbor", "configfs-tsm-cbor"},
                              {"snp/veraison-tsm/sevsnp-ratsd-token", "ratsd-cmw"}};
    for (size_t i = 0; i < 2; i++) {
        json_t *c = NULL;
        sb_error err = {0};
        CHECK_OK(verify_files(NULL, forms[i][0], NULL, 0, T_2025, &c, &err), &err);
        if (!c) continue;
        CHECK_STR(jget(c, NULL, "format"), forms[i][1]);
        CHECK_CONTAINS(jget(c, NULL, "report_data"), "4d4944424e4832"); /* "MIDBNH2" */
        json_decref(c);
    }
}

TEST(verify_s10_azure_hcl_report) {
    if (!sb_test_evidence_dir()) return;
    const char *certs[] = {"azure-vtpm/trustee-az-snp-vtpm/vcek.pem"};
    sb_error err = {0};
    CHECK_OK(verify_files(NULL, "azure-vtpm/trustee-az-snp-vtpm/DERIVED_snp_report_from_hcl.bin",
                          certs, 1, T_2025, NULL, &err),
             &err);
}

/* ---- negatives ---- */

struct neg {
    const char *ev;
    const char *certs[3];
    const char *at;
    int rc;
    const char *msg;
};

static void run_negs(const struct neg *t, size_t n) {
    for (size_t i = 0; i < n; i++) {
        size_t nc = 0;
        while (nc < 3 && t[i].certs[nc])
            nc++;
        sb_error err = {0};
        json_t *c = NULL;
        int rc = verify_files(NULL, t[i].ev, t[i].certs, nc, t[i].at, &c, &err);
        json_decref(c);
        CHECK_MSG(rc == t[i].rc, "%s: rc %d, want %d (%s)", t[i].ev, rc, t[i].rc, err.msg);
        CHECK_CONTAINS(err.msg, t[i].msg);
    }
}

TEST(verify_negatives_derived) {
    if (!sb_test_evidence_dir()) return;
    const struct neg t[] = {
        {"snp/derived-negative/trustee_report_b42plus1_badsig.bin",
         {"snp/trustee/test-vcek.der"},
         T_2025,
         SB_E_SIGNATURE,
         "report signature"},
        {"snp/derived-negative/trustee_report_b384plus1_tcbmismatch.bin",
         {"snp/trustee/test-vcek.der"},
         T_2025,
         SB_E_SIGNATURE,
         "snp: REPORTED_TCB bootloader 4 != VCEK bootloader 3"},
        {"snp/derived-negative/trustee_vlek_report_b42plus1_badsig.bin",
         {"snp/trustee/test-vlek.der"},
         T_2025,
         SB_E_SIGNATURE,
         "report signature"},
        {"snp/derived-negative/trustee_vlek_report_b384plus1_tcbmismatch.bin",
         {"snp/trustee/test-vlek.der"},
         T_2025,
         SB_E_SIGNATURE,
         "snp: REPORTED_TCB bootloader 5 != VLEK bootloader 4"},
        {EV_S1,
         {"snp/derived-negative/trustee_vcek_b42plus1_badchain.der"},
         T_2025,
         SB_E_CHAIN,
         "VCEK chain to ARK-Milan"},
        {"snp/derived-negative/virtee_report_milan_b21xor80_badsig.bin",
         {"snp/virtee-sev/vcek_milan.der"},
         T_2025,
         SB_E_SIGNATURE,
         "report signature"},
        {EV_S5,
         {"snp/derived-negative/virtee_vcek_milan_b40xorff_badchain.der"},
         T_2025,
         SB_E_CHAIN,
         "snp"},
    };
    run_negs(t, SB_ARRAY_LEN(t));
}

TEST(verify_negatives_pairings) {
    if (!sb_test_evidence_dir()) return;
    const struct neg t[] = {
        /* S9: chain and TCB fine, the signature does not verify (MANIFEST) */
        {EV_S9_HEX,
         {"snp/constellation-vlek/vlek.pem", "snp/constellation-vlek/vlekcertchain.pem"},
         "2024-01-01T00:00:00Z",
         SB_E_SIGNATURE,
         "report signature"},
        {EV_S9,
         {"snp/constellation-vlek/vlek.pem"},
         "2024-01-01T00:00:00Z",
         SB_E_SIGNATURE,
         "report signature"},
        /* S1 against the Genoa chain: wrong product */
        {EV_S1,
         {"snp/trustee/test-vcek.der", "snp/amd-chains/trustee_genoa_ask_ark_asvk.pem"},
         T_2025,
         SB_E_CHAIN,
         "the supplied chain is for Genoa"},
        /* S2 against the VCEK ASK instead of the ASVK */
        {EV_S2,
         {"snp/trustee/test-vlek.der", "snp/go-sev-guest/milan.testcer"},
         T_2025,
         SB_E_CHAIN,
         "supplied chain has no SEV-VLEK-Milan"},
        /* no certificate at all, or the wrong kind */
        {EV_S1, {NULL}, T_2025, SB_E_CHAIN, "no VCEK certificate was given"},
        {EV_S2, {"snp/trustee/test-vcek.der"}, T_2025, SB_E_CHAIN, "no VLEK certificate"},
        /* S1 with another chip's VCEK (S5's): TCB equal, hwID differs */
        {EV_S1,
         {"snp/virtee-sev/vcek_milan.der"},
         T_2025,
         SB_E_SIGNATURE,
         "CHIP_ID c38427a30d4c7af9... != VCEK hwID d49554ec717f4e5b..."},
        /* Trustee's invalid test VCEKs (not issued by AMD) */
        {EV_S1, {"snp/trustee/test-vcek-invalid-legacy.der"}, T_2025, SB_E_CHAIN, "chain"},
        {EV_S1, {"snp/trustee/test-vcek-invalid-new.der"}, T_2025, SB_E_CHAIN, "chain"},
        /* S3's report is Genoa; the Milan VCEK of S1 is the wrong product */
        {EV_S3_BIN,
         {"snp/trustee/test-vcek.der"},
         T_2025,
         SB_E_CHAIN,
         "is Genoa but the VCEK is for Milan"},
    };
    run_negs(t, SB_ARRAY_LEN(t));
}

TEST(verify_outside_validity) {
    if (!sb_test_evidence_dir()) return;
    const struct neg t[] = {
        {EV_S2, {"snp/trustee/test-vlek.der"}, "2026-01-01T00:00:00Z", SB_E_CHAIN, "expired"},
        {EV_S1, {"snp/trustee/test-vcek.der"}, "2020-01-01T00:00:00Z", SB_E_CHAIN, "not yet valid"},
        {EV_S9_HEX, {"snp/constellation-vlek/vlek.pem"}, T_2025, SB_E_CHAIN, "expired"},
    };
    run_negs(t, SB_ARRAY_LEN(t));
}

/* ---- structure: every signed byte, every length, trailing bytes ---- */

static int verify_mem(sb_snp_verifier *v, const uint8_t *rep, size_t n, const struct sb_blob *cert,
                      const char *at, json_t **claims, sb_error *err) {
    struct sb_verify_opts o = {.at = at_of(at)};
    json_t *c = sb_claims_new("snp", "snp-report", o.at);
    int rc = sb_snp_verify_report(v, &o, rep, n, cert, 1, c, err);
    if (claims && rc == 0)
        *claims = c;
    else
        json_decref(c);
    return rc;
}

TEST(byte_flip_every_signed_byte) {
    size_t n, nv;
    _cleanup_free_ uint8_t *b = sb_test_read_evidence(EV_S1, &n);
    _cleanup_free_ uint8_t *vc = sb_test_read_evidence("snp/trustee/test-vcek.der", &nv);
    if (!b || !vc) return;
    struct sb_blob cert = {"test-vcek.der", vc, nv};
    sb_snp_verifier *v = NULL;
    sb_error err = {0};
    CHECK_OK(sb_snp_verifier_new(&v, &err), &err);
    if (!v) return;
    CHECK_OK(verify_mem(v, b, n, &cert, T_2025, NULL, &err), &err); /* warms the chain cache */
    size_t fails = 0;
    for (size_t i = 0; i < SB_SNP_SIGNED_LEN; i++) {
        b[i] ^= 0x01;
        int rc = verify_mem(v, b, n, &cert, T_2025, NULL, &err);
        b[i] ^= 0x01;
        if (rc == 0) CHECK_MSG(false, "flipping byte 0x%zx still verifies", i);
        if (rc == SB_E_POLICY) CHECK_MSG(false, "byte 0x%zx: policy code from the verifier", i);
        fails += rc < 0;
    }
    CHECK_INT(fails, SB_SNP_SIGNED_LEN);
    /* and the signature bytes themselves, r and s */
    for (size_t i = SB_SNP_SIG_OFFSET; i < SB_SNP_SIG_OFFSET + 144; i += 7) {
        b[i] ^= 0x80;
        CHECK_MSG(verify_mem(v, b, n, &cert, T_2025, NULL, &err) < 0, "sig byte 0x%zx", i);
        b[i] ^= 0x80;
    }
    CHECK_OK(verify_mem(v, b, n, &cert, T_2025, NULL, &err), &err); /* restored */
    sb_snp_verifier_free(v);
}

TEST(verify_truncated_every_length) {
    size_t n, nv;
    _cleanup_free_ uint8_t *b = sb_test_read_evidence(EV_S1, &n);
    _cleanup_free_ uint8_t *vc = sb_test_read_evidence("snp/trustee/test-vcek.der", &nv);
    if (!b || !vc) return;
    struct sb_blob cert = {"test-vcek.der", vc, nv};
    sb_snp_verifier *v = NULL;
    sb_error err = {0};
    CHECK_OK(sb_snp_verifier_new(&v, &err), &err);
    if (!v) return;
    for (size_t len = 0; len < SB_SNP_REPORT_LEN; len++) {
        uint8_t *c = malloc(len ? len : 1);
        memcpy(c, b, len);
        int rc = verify_mem(v, c, len, &cert, T_2025, NULL, &err);
        free(c);
        CHECK_MSG(rc == SB_E_TRUNCATED, "length %zu: %d", len, rc);
    }
    sb_snp_verifier_free(v);
}

/* The trailing-bytes rule, end to end: extra bytes after a valid report are ignored and named
 * in a warning claim; more than SB_SNP_TRAILING_MAX is an error. */
TEST(verify_trailing_bytes_warning) {
    size_t n, nv;
    _cleanup_free_ uint8_t *b = sb_test_read_evidence(EV_S1, &n);
    _cleanup_free_ uint8_t *vc = sb_test_read_evidence("snp/trustee/test-vcek.der", &nv);
    if (!b || !vc) return;
    struct sb_blob cert = {"test-vcek.der", vc, nv};
    uint8_t *big = calloc(1, SB_SNP_REPORT_LEN + SB_SNP_TRAILING_MAX + 1);
    memcpy(big, b, SB_SNP_REPORT_LEN);
    sb_error err = {0};
    json_t *c = NULL;
    CHECK_OK(verify_mem(NULL, big, SB_SNP_REPORT_LEN + 39, &cert, T_2025, &c, &err), &err);
    if (c) {
        const char *w = json_string_value(json_array_get(json_object_get(c, "warnings"), 0));
        CHECK_STR(w, "snp: 39 trailing bytes after the 1184-byte report ignored");
        json_decref(c);
    }
    CHECK_INT(verify_mem(NULL, big, SB_SNP_REPORT_LEN + SB_SNP_TRAILING_MAX + 1, &cert, T_2025,
                         NULL, &err),
              SB_E_LIMIT);
    free(big);
}

TEST(verify_unsigned_reports_refused) {
    size_t n, nv;
    _cleanup_free_ uint8_t *b = sb_test_read_evidence(EV_S1, &n);
    _cleanup_free_ uint8_t *vc = sb_test_read_evidence("snp/trustee/test-vcek.der", &nv);
    if (!b || !vc) return;
    struct sb_blob cert = {"test-vcek.der", vc, nv};
    sb_error err = {0};
    b[0x48] = 0x1c; /* signing_key 7 */
    CHECK_INT(verify_mem(NULL, b, n, &cert, T_2025, NULL, &err), SB_E_SIGNATURE);
    CHECK_CONTAINS(err.msg, "not signed");
    b[0x48] = 0x02; /* MASK_CHIP_KEY */
    CHECK_INT(verify_mem(NULL, b, n, &cert, T_2025, NULL, &err), SB_E_SIGNATURE);
    CHECK_CONTAINS(err.msg, "MASK_CHIP_KEY");
    b[0x48] = 0;
    b[0x34] = 2; /* sig_algo */
    CHECK_INT(verify_mem(NULL, b, n, &cert, T_2025, NULL, &err), SB_E_UNSUPPORTED);
    CHECK_CONTAINS(err.msg, "signature algorithm 2");
}

TEST(warm_cache_respects_time) {
    size_t n, nv;
    _cleanup_free_ uint8_t *b = sb_test_read_evidence(EV_S2, &n);
    _cleanup_free_ uint8_t *vc = sb_test_read_evidence("snp/trustee/test-vlek.der", &nv);
    if (!b || !vc) return;
    struct sb_blob cert = {"test-vlek.der", vc, nv};
    sb_snp_verifier *v = NULL;
    sb_error err = {0};
    CHECK_OK(sb_snp_verifier_new(&v, &err), &err);
    if (!v) return;
    CHECK_OK(verify_mem(v, b, n, &cert, T_2025, NULL, &err), &err);
    CHECK_OK(verify_mem(v, b, n, &cert, T_2025, NULL, &err), &err);
    /* the cached chain must not outlive the VLEK */
    CHECK_INT(verify_mem(v, b, n, &cert, "2026-01-01T00:00:00Z", NULL, &err), SB_E_CHAIN);
    CHECK_CONTAINS(err.msg, "expired");
    sb_snp_verifier_free(v);
}

TEST(turin_chain_and_extensions) {
    size_t nv, nc;
    _cleanup_free_ uint8_t *vc = sb_test_read_evidence("snp/virtee-sev/vcek_turin.der", &nv);
    _cleanup_free_ uint8_t *ch = sb_test_read_evidence("snp/virtee-sev/cert_chain_turin.pem", &nc);
    if (!vc || !ch) return;
    struct sb_blob certs[] = {{"vcek_turin.der", vc, nv}, {"cert_chain_turin.pem", ch, nc}};
    enum sb_snp_product p;
    struct sb_snp_tcb t;
    uint8_t hwid[64];
    size_t hl = 0;
    sb_error err = {0};
    for (size_t k = 1; k <= 2; k++) {
        CHECK_OK(
            sb_snp_chain_inspect(certs, k, SB_SNP_KEY_VCEK, at_of(T_2025), &p, &t, hwid, &hl, &err),
            &err);
        CHECK_INT(p, SB_SNP_PRODUCT_TURIN);
        CHECK(t.has_fmc);
        CHECK_INT(hl, 8);
        CHECK_INT(hwid[0], 0x1e);
        CHECK_INT(hwid[7], 0x4d);
    }
    CHECK_INT(sb_snp_chain_inspect(certs, 1, SB_SNP_KEY_VCEK, at_of("2024-01-01T00:00:00Z"), &p, &t,
                                   hwid, &hl, &err),
              SB_E_CHAIN);
    CHECK_CONTAINS(err.msg, "not yet valid");
}

/* ---- revocation (AMD CRLs) and the VCEK from the collateral cache ------------------------ */

/* The evidence corpus has no AMD CRL: test CRLs are made here by a test CA that signs like AMD
 * (RSASSA-PSS, SHA-384, salt 48). */
static int pss_sign_x509(X509 *x, X509_CRL *crl, EVP_PKEY *key) {
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    EVP_PKEY_CTX *pctx = NULL;
    int ok = md && EVP_DigestSignInit(md, &pctx, EVP_sha384(), NULL, key) == 1 &&
             EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) > 0 &&
             EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, 48) > 0 &&
             EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, EVP_sha384()) > 0 &&
             (x ? X509_sign_ctx(x, md) > 0 : X509_CRL_sign_ctx(crl, md) > 0);
    EVP_MD_CTX_free(md);
    return ok ? 0 : -1;
}

static X509_NAME *cn_name(const char *cn) {
    X509_NAME *n = X509_NAME_new();
    X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1, 0);
    X509_NAME_add_entry_by_txt(n, "O", MBSTRING_ASC, (const unsigned char *)"sealbox test", -1, -1,
                               0);
    return n;
}

static X509 *make_cert(const X509_NAME *subject, const X509_NAME *issuer, EVP_PKEY *pub,
                       EVP_PKEY *signer, long serial) {
    X509 *x = X509_new();
    X509_set_version(x, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(x), serial);
    X509_set_subject_name(x, subject);
    X509_set_issuer_name(x, issuer);
    ASN1_TIME_set(X509_getm_notBefore(x), 1700000000);
    ASN1_TIME_set(X509_getm_notAfter(x), 1900000000);
    X509_set_pubkey(x, pub);
    if (pss_sign_x509(x, NULL, signer) < 0) {
        X509_free(x);
        return NULL;
    }
    return x;
}

/* A DER CRL by issuer name, signed by key, thisUpdate tu, nextUpdate tu + 30 days, revoking
 * serial (0: none). */
static uint8_t *make_crl(const X509_NAME *issuer, EVP_PKEY *key, time_t tu, long serial,
                         size_t *len) {
    X509_CRL *crl = X509_CRL_new();
    X509_CRL_set_version(crl, 1);
    X509_CRL_set_issuer_name(crl, issuer);
    ASN1_TIME *t = ASN1_TIME_set(NULL, tu), *nu = ASN1_TIME_set(NULL, tu + 30 * 86400);
    X509_CRL_set1_lastUpdate(crl, t);
    X509_CRL_set1_nextUpdate(crl, nu);
    if (serial) {
        X509_REVOKED *r = X509_REVOKED_new();
        ASN1_INTEGER *sn = ASN1_INTEGER_new();
        ASN1_INTEGER_set(sn, serial);
        X509_REVOKED_set_serialNumber(r, sn);
        X509_REVOKED_set_revocationDate(r, t);
        X509_CRL_add0_revoked(crl, r);
        ASN1_INTEGER_free(sn);
    }
    X509_CRL_sort(crl);
    uint8_t *der = NULL;
    int n = pss_sign_x509(NULL, crl, key) == 0 ? i2d_X509_CRL(crl, &der) : -1;
    ASN1_TIME_free(t);
    ASN1_TIME_free(nu);
    X509_CRL_free(crl);
    if (n <= 0) return NULL;
    *len = (size_t)n;
    return der;
}

static sb_cert *to_sb(X509 *x) {
    uint8_t *der = NULL;
    int n = i2d_X509(x, &der);
    sb_cert *c = NULL;
    sb_error err = {0};
    if (n > 0 && sb_cert_from_der(der, (size_t)n, &c, &err) < 0) c = NULL;
    OPENSSL_free(der);
    return c;
}

static bool any_warning(json_t *c, const char *needle) {
    json_t *w = json_object_get(c, "warnings");
    for (size_t i = 0; i < json_array_size(w); i++)
        if (strstr(json_string_value(json_array_get(w, i)), needle)) return true;
    return false;
}

TEST(crl_check_generated_ca) {
    EVP_PKEY *ca_key = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
    EVP_PKEY *ask_key = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
    EVP_PKEY *evil = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
    CHECK(ca_key && ask_key && evil);
    X509_NAME *ca_n = cn_name("ARK-Test"), *ask_n = cn_name("SEV-Test");
    X509 *ca = make_cert(ca_n, ca_n, ca_key, ca_key, 1);
    X509 *ask = make_cert(ask_n, ca_n, ask_key, ca_key, 0x1234);
    CHECK(ca && ask);
    sb_cert *sca = to_sb(ca), *sask = to_sb(ask);
    CHECK(sca && sask);
    const time_t t0 = 1750000000;
    size_t n_ok = 0, n_rev = 0, n_evil = 0, n_other = 0;
    uint8_t *ok = make_crl(ca_n, ca_key, t0, 0x99, &n_ok);
    uint8_t *rev = make_crl(ca_n, ca_key, t0, 0x1234, &n_rev);
    uint8_t *forged = make_crl(ca_n, evil, t0, 0, &n_evil);
    uint8_t *other = make_crl(ask_n, ask_key, t0, 0x1234, &n_other); /* another issuer's */
    CHECK(ok && rev && forged && other);
    sb_error err = {0};
    bool checked = true;
    json_t *c = sb_claims_new("snp", "test", t0);
    /* none of the blobs is a CRL of this issuer: nothing checked, no error */
    struct sb_blob none[2] = {{.name = "other", .data = other, .len = n_other},
                              {.name = "junk", .data = (const uint8_t *)"junk", .len = 4}};
    CHECK_OK(sb_snp_crl_check(sca, sask, "ASK", none, 2, t0 + 60, c, &checked, &err), &err);
    CHECK(!checked);
    /* a CRL that does not list the ASK: checked, a "crl" collateral record with its window */
    struct sb_blob b_ok = {.name = "ok.crl", .data = ok, .len = n_ok};
    CHECK_OK(sb_snp_crl_check(sca, sask, "ASK", &b_ok, 1, t0 + 60, c, &checked, &err), &err);
    CHECK(checked);
    json_t *rec = json_array_get(json_object_get(c, "collateral"), 0);
    CHECK_STR(jget(rec, NULL, "kind"), "crl");
    CHECK_STR(jget(rec, NULL, "subject"), "ARK-Test CRL");
    CHECK_STR(jget(rec, NULL, "source"), "ok.crl");
    CHECK_STR(jget(rec, NULL, "not_before"), "2025-06-15T15:06:40Z");
    CHECK_STR(jget(rec, NULL, "not_after"), "2025-07-15T15:06:40Z");
    /* the same in PEM */
    X509_CRL *xc = NULL;
    const unsigned char *q = ok;
    xc = d2i_X509_CRL(NULL, &q, (long)n_ok);
    BIO *bio = BIO_new(BIO_s_mem());
    PEM_write_bio_X509_CRL(bio, xc);
    char *pem = NULL;
    long pl = BIO_get_mem_data(bio, &pem);
    struct sb_blob b_pem = {.name = "ok.pem", .data = (const uint8_t *)pem, .len = (size_t)pl};
    CHECK_OK(sb_snp_crl_check(sca, sask, "ASK", &b_pem, 1, t0 + 60, c, &checked, &err), &err);
    CHECK(checked);
    /* listed: exit-2 class error naming the serial */
    struct sb_blob b_rev = {.name = "rev.crl", .data = rev, .len = n_rev};
    CHECK_INT(sb_snp_crl_check(sca, sask, "ASK", &b_rev, 1, t0 + 60, c, &checked, &err),
              SB_E_CHAIN);
    CHECK_CONTAINS(err.msg,
                   "the ASK SEV-Test (serial 1234) is revoked by the ARK-Test CRL rev.crl");
    /* the newest CRL in its window wins; an older one that still lists it does not matter */
    uint8_t *old_rev = make_crl(ca_n, ca_key, t0 - 40 * 86400, 0x1234, &n_rev);
    struct sb_blob two[2] = {{.name = "old.crl", .data = old_rev, .len = n_rev}, b_ok};
    CHECK_OK(sb_snp_crl_check(sca, sask, "ASK", two, 2, t0 + 60, c, &checked, &err), &err);
    /* forged: same issuer name, other key — an error, never skipped */
    struct sb_blob b_forged = {.name = "forged.crl", .data = forged, .len = n_evil};
    struct sb_blob mix[2] = {b_ok, b_forged};
    CHECK_INT(sb_snp_crl_check(sca, sask, "ASK", mix, 2, t0 + 60, c, &checked, &err), SB_E_CHAIN);
    CHECK_CONTAINS(err.msg, "the CRL forged.crl (issuer ARK-Test) does not verify");
    /* outside its window: still used, with a warning (policy judges the collateral window) */
    json_t *c2 = sb_claims_new("snp", "test", t0);
    CHECK_OK(sb_snp_crl_check(sca, sask, "ASK", &b_ok, 1, t0 + 40 * 86400, c2, &checked, &err),
             &err);
    CHECK(checked && any_warning(c2, "ARK-Test CRL ok.crl has expired"));
    CHECK_OK(sb_snp_crl_check(sca, sask, "ASK", &b_ok, 1, t0 - 60, c2, &checked, &err), &err);
    CHECK(any_warning(c2, "is not yet valid"));
    json_decref(c2);
    json_decref(c);
    BIO_free(bio);
    X509_CRL_free(xc);
    OPENSSL_free(ok);
    OPENSSL_free(rev);
    OPENSSL_free(old_rev);
    OPENSSL_free(forged);
    OPENSSL_free(other);
    sb_cert_free(sca);
    sb_cert_free(sask);
    X509_free(ca);
    X509_free(ask);
    X509_NAME_free(ca_n);
    X509_NAME_free(ask_n);
    EVP_PKEY_free(ca_key);
    EVP_PKEY_free(ask_key);
    EVP_PKEY_free(evil);
}

static int write_file(const char *path, const uint8_t *p, size_t n) {
    FILE *f = fopen(path, "wb");
    if (!f) return -1;
    size_t w = fwrite(p, 1, n, f);
    return fclose(f) == 0 && w == n ? 0 : -1;
}

/* A CRL under the real ARK-Milan's name (its exact subject) that AMD did not sign is refused,
 * from --certs and from the --collateral directory alike. */
TEST(verify_s1_forged_ark_crl) {
    if (!sb_test_evidence_dir()) return;
    sb_error err = {0};
    sb_cert *ark = NULL;
    for (size_t i = 0; i < sb_snp_n_anchors; i++)
        if (sb_snp_anchors[i].product == SB_SNP_PRODUCT_MILAN &&
            sb_snp_anchors[i].kind == SB_SNP_ANCHOR_ARK)
            CHECK_OK(sb_cert_from_pem((const uint8_t *)sb_snp_anchors[i].pem,
                                      sb_snp_anchors[i].pem_len, &ark, &err),
                     &err);
    const uint8_t *ader = NULL;
    size_t alen = 0;
    CHECK_OK(sb_cert_der(ark, &ader, &alen, &err), &err);
    const unsigned char *q = ader;
    X509 *xark = d2i_X509(NULL, &q, (long)alen);
    EVP_PKEY *evil = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
    size_t cn = 0;
    uint8_t *crl =
        xark && evil ? make_crl(X509_get_subject_name(xark), evil, 1748000000, 0, &cn) : NULL;
    CHECK(crl != NULL);
    size_t n = 0;
    uint8_t *rep = sb_test_read_evidence(EV_S1, &n);
    struct sb_blob certs[2] = {{.name = "vcek", .data = NULL, .len = 0},
                               {.name = "forged.crl", .data = crl, .len = cn}};
    certs[0].data = sb_test_read_evidence("snp/trustee/test-vcek.der", &certs[0].len);
    char dir[512], path[600];
    (void)snprintf(dir, sizeof(dir), "%s/snp-crl-dir", sb_test_tmpdir());
    (void)snprintf(path, sizeof(path), "%s/ark-milan.crl", dir);
    if (rep && crl && certs[0].data && (mkdir(dir, 0700) == 0 || errno == EEXIST) &&
        write_file(path, crl, cn) == 0) {
        struct sb_blob b = {.name = EV_S1, .data = rep, .len = n};
        json_t *c = NULL;
        struct sb_verify_opts o = {.at = at_of(T_2025), .certs = certs, .n_certs = 2};
        CHECK_INT(sb_snp_verify_evidence(NULL, &o, &b, 1, &c, &err), SB_E_CHAIN);
        CHECK_CONTAINS(err.msg, "forged.crl (issuer ARK-Milan) does not verify with the "
                                "ARK-Milan pinned in sealbox");
        CHECK_INT(sb_verify_exit_code(err.code), 2);
        struct sb_verify_opts o2 = {
            .at = at_of(T_2025), .certs = certs, .n_certs = 1, .collateral_dir = dir};
        CHECK_INT(sb_snp_verify_evidence(NULL, &o2, &b, 1, &c, &err), SB_E_CHAIN);
        CHECK_CONTAINS(err.msg, "ark-milan.crl (issuer ARK-Milan) does not verify");
        /* without it: unchecked */
        o2.collateral_dir = NULL;
        CHECK_OK(sb_snp_verify_evidence(NULL, &o2, &b, 1, &c, &err), &err);
        if (c) CHECK_STR(jget(c, "platform_claims", "revocation"), "unchecked");
        json_decref(c);
    }
    free((void *)(uintptr_t)certs[0].data);
    free(rep);
    OPENSSL_free(crl);
    EVP_PKEY_free(evil);
    X509_free(xark);
    sb_cert_free(ark);
}

/* S1's report alone, its VCEK imported into a collateral cache first; a CRL under the real
 * ARK-Milan's name that AMD did not sign is refused. */
TEST(verify_s1_vcek_from_cache_and_forged_crl) {
    if (!sb_test_evidence_dir()) return;
    char dir[512], vcek_path[1024];
    (void)snprintf(dir, sizeof(dir), "%s/snp-cache", sb_test_tmpdir());
    (void)snprintf(vcek_path, sizeof(vcek_path), "%s/snp/trustee/test-vcek.der",
                   sb_test_evidence_dir());
    sb_error err = {0};
    struct sb_collateral_item it;
    CHECK_OK(sb_collateral_import(dir, vcek_path, &it, &err), &err);
    CHECK_STR(it.kind, "vcek");
    CHECK_CONTAINS(it.file, "-c38427a30d4c7af9-bl3-tee0-snp8-uc115.der");
    size_t n = 0;
    uint8_t *rep = sb_test_read_evidence(EV_S1, &n);
    if (!rep) return;
    struct sb_blob b = {.name = EV_S1, .data = rep, .len = n};
    struct sb_verify_opts o = {.at = at_of(T_2025), .collateral_dir = dir};
    json_t *c = NULL;
    CHECK_OK(sb_snp_verify_evidence(NULL, &o, &b, 1, &c, &err), &err);
    if (c) {
        json_t *vc = json_array_get(json_object_get(c, "collateral"), 0);
        CHECK_STR(jget(vc, NULL, "kind"), "vcek");
        CHECK_CONTAINS(jget(vc, NULL, "source"), "collateral cache vcek-");
        CHECK_STR(jget(c, "platform_claims", "revocation"), "unchecked");
    }
    json_decref(c);
    c = NULL;
    /* without the cache: no VCEK */
    struct sb_verify_opts o0 = {.at = at_of(T_2025)};
    CHECK_INT(sb_snp_verify_evidence(NULL, &o0, &b, 1, &c, &err), SB_E_CHAIN);
    CHECK_CONTAINS(err.msg, "no VCEK certificate was given");
    /* another REPORTED_TCB (the derived b384+1 report: bootloader 4): not in the cache */
    size_t n2 = 0;
    uint8_t *rep2 =
        sb_test_read_evidence("snp/derived-negative/trustee_report_b384plus1_tcbmismatch.bin", &n2);
    if (rep2) {
        struct sb_blob b2 = {.name = "tcbmismatch", .data = rep2, .len = n2};
        CHECK_INT(sb_snp_verify_evidence(NULL, &o, &b2, 1, &c, &err), SB_E_CHAIN);
        CHECK_CONTAINS(err.msg, "none in the collateral cache either "
                                "(vcek-milan*-c38427a30d4c7af9-bl4-tee0-snp8-uc115.{der,pem})");
    }
    free(rep2);
    /* a CRL named for ARK-Milan (its exact subject) but signed by another key, imported into
     * the same cache as 'sealbox collateral import' would */
    sb_cert *ark = NULL;
    for (size_t i = 0; i < sb_snp_n_anchors; i++)
        if (sb_snp_anchors[i].product == SB_SNP_PRODUCT_MILAN &&
            sb_snp_anchors[i].kind == SB_SNP_ANCHOR_ARK)
            CHECK_OK(sb_cert_from_pem((const uint8_t *)sb_snp_anchors[i].pem,
                                      sb_snp_anchors[i].pem_len, &ark, &err),
                     &err);
    const uint8_t *ader = NULL;
    size_t alen = 0;
    CHECK_OK(sb_cert_der(ark, &ader, &alen, &err), &err);
    const unsigned char *q = ader;
    X509 *xark = d2i_X509(NULL, &q, (long)alen);
    EVP_PKEY *evil = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
    size_t cn = 0;
    uint8_t *crl =
        xark && evil ? make_crl(X509_get_subject_name(xark), evil, 1748000000, 0, &cn) : NULL;
    CHECK(crl != NULL);
    char crl_path[1024];
    (void)snprintf(crl_path, sizeof(crl_path), "%s/forged-ark-milan.crl", sb_test_tmpdir());
    if (crl && write_file(crl_path, crl, cn) == 0) {
        CHECK_OK(sb_collateral_import(dir, crl_path, &it, &err), &err);
        CHECK_STR(it.file, "crl-ark-milan.der");
        CHECK_INT(sb_snp_verify_evidence(NULL, &o, &b, 1, &c, &err), SB_E_CHAIN);
        CHECK_CONTAINS(err.msg, "crl-ark-milan.der (issuer ARK-Milan) does not verify with the "
                                "ARK-Milan pinned in sealbox");
        CHECK_INT(sb_verify_exit_code(err.code), 2);
        /* the same CRL given with --certs next to the VCEK */
        struct sb_blob certs[2] = {{.name = "vcek", .data = NULL, .len = 0},
                                   {.name = "forged.crl", .data = crl, .len = cn}};
        certs[0].data = sb_test_read_evidence("snp/trustee/test-vcek.der", &certs[0].len);
        struct sb_verify_opts o2 = {.at = at_of(T_2025), .certs = certs, .n_certs = 2};
        CHECK_INT(sb_snp_verify_evidence(NULL, &o2, &b, 1, &c, &err), SB_E_CHAIN);
        CHECK_CONTAINS(err.msg, "forged.crl (issuer ARK-Milan) does not verify");
        free((void *)(uintptr_t)certs[0].data);
    }
    OPENSSL_free(crl);
    EVP_PKEY_free(evil);
    X509_free(xark);
    sb_cert_free(ark);
    free(rep);
}
