/* test_eventlog: the TCG event-log parser and replay on real logs (GCE, Shielded VM, CCEL),
 * against PCR values computed independently by tpm2-tools' tpm2_eventlog and RTMRs taken from
 * the TD quotes, plus crafted logs for every bound and truncation. */
#include <stdlib.h>

#include "harness.h"
#include "verify/verify.h"

static void hex_to(const char *hex, uint8_t *out, size_t n) {
    uint8_t *b = NULL;
    size_t len = 0;
    sb_error err = {0};
    if (sb_hex_decode(hex, strlen(hex), &b, &len, &err) < 0 || len != n) abort();
    memcpy(out, b, n);
    free(b);
}

static void check_pcr(const struct sb_mr_bank *b, unsigned idx, const char *hex) {
    size_t n = strlen(hex) / 2;
    uint8_t want[SB_HASH_MAX_LEN];
    hex_to(hex, want, n);
    CHECK_INT(n, sb_hash_len(b->hash));
    if (memcmp(b->value[idx], want, n) != 0) {
        char got[2 * SB_HASH_MAX_LEN + 1];
        sb_hex_encode(b->value[idx], n, got);
        sb_test_fail(__FILE__, __LINE__, "%s PCR %u = %s, expected %s", sb_hash_name(b->hash), idx,
                     got, hex);
    }
}

/* Expected values from `tpm2_eventlog <log>` (tpm2-tools 5.x), an independent implementation. */
struct pcr_expect {
    const char *log;
    enum sb_hash bank;
    unsigned idx;
    const char *hex;
};
static const struct pcr_expect EXPECT[] = {
    {"tpm/go-attestation/eventlogs/coreos_36_shielded_vm_no_secure_boot_eventlog", SB_HASH_SHA1, 0,
     "c032c3b51dbb6f96b047421512fd4b4dfde496f3"},
    {"tpm/go-attestation/eventlogs/coreos_36_shielded_vm_no_secure_boot_eventlog", SB_HASH_SHA256,
     7, "9340551428472c4820d41f51368427f5d1620b3e7d2081cf8859e7e220554bcd"},
    {"tpm/go-attestation/eventlogs/coreos_36_shielded_vm_no_secure_boot_eventlog", SB_HASH_SHA384,
     14,
     "013fce8c628a1dafb77bafafac1c30b7e0d5b5973d276cf70b7e765462ab325046d70a590f6b933035275af98b3b"
     "cc47"},
    {"tpm/go-attestation/eventlogs/crypto_agile_eventlog", SB_HASH_SHA256, 0,
     "1536de221b2187a421602cd81f43aa04496b0bd5a424d3b25b637a942080d0fa"},
    {"tpm/go-attestation/eventlogs/crypto_agile_eventlog", SB_HASH_SHA256, 4,
     "b0af298ea2ca63fe39d0f9887948f8c9ccedd1cca90b6ed20f0aa1f9cbd8504e"},
    {"tpm/go-attestation/eventlogs/crypto_agile_eventlog", SB_HASH_SHA256, 7,
     "3d6207f9a2c3fa1db729f06e71b09d2e7ca7c0c198f6c1410c2186bbe2cc1826"},
    {"tpm/go-attestation/eventlogs/ebs_event_missing_eventlog", SB_HASH_SHA1, 0,
     "b4766c154feaacaefd61b48c661fc1c294762f4c"},
    {"tpm/go-attestation/eventlogs/ebs_event_missing_eventlog", SB_HASH_SHA1, 7,
     "c6b89634b1d11a0083298c17acec8fd9ab266db6"},
    {"tpm/go-attestation/eventlogs/ubuntu_2104_shielded_vm_no_secure_boot_eventlog", SB_HASH_SHA256,
     9, "adb87be3efd96cc3a2f66b8aa7564f9727563ef494a95d571a3f38ff4afb25dd"},
    /* (not PCR 0 of this log: tpm2_eventlog also extends its two SP800-155 EV_NO_ACTION events,
     * which the PC Client spec forbids; crafted_startup_locality covers EV_NO_ACTION) */
    {"tpm/go-tpm-tools/eventlogs/confidential-gke-debug-251000_eventlog.bin", SB_HASH_SHA256, 4,
     "18314f0c33adea45e461155e190199716256ca532cd89e9aa3b7d2f6407fa4c8"},
    {"tpm/go-tpm-tools/eventlogs/confidential-gke-debug-251000_eventlog.bin", SB_HASH_SHA1, 14,
     "68cdd38d74c5f61a0dc1bd4718d88f63d2d83f74"},
    {"tpm/go-tpm-tools/eventlogs/cos-85-amd-sev.bin", SB_HASH_SHA256, 8,
     "9e9b6511ae6ad443aae4c7bf998ffffbcd271c874f1efab9d692f129eb6e6c18"},
    {"tpm/go-tpm-tools/eventlogs/ubuntu-2404-amd-sevsnp.bin", SB_HASH_SHA256, 0,
     "50597a27846e91d025eef597abbc89f72bff9af849094db97b0684d8bc4c515e"},
    {"tpm/go-tpm-tools/eventlogs/ubuntu-2404-amd-sevsnp.bin", SB_HASH_SHA384, 4,
     "49eedb642cab80ea07518840eb497c5e296f6eee07721ff347b61572647ccd5534f0a1d054516e2c928daddf1fa9"
     "b863"},
};

TEST(real_logs_replay_to_tpm2_tools_values) {
    if (!sb_test_evidence_dir()) return;
    for (size_t i = 0; i < SB_ARRAY_LEN(EXPECT); i++) {
        size_t n;
        uint8_t *p = sb_test_read_evidence(EXPECT[i].log, &n);
        if (!p) return;
        sb_error err = {0};
        struct sb_mr_bank bank;
        CHECK_OK(sb_eventlog_replay_bytes(p, n, 0, EXPECT[i].bank, &bank, &err), &err);
        if (err.code == 0) check_pcr(&bank, EXPECT[i].idx, EXPECT[i].hex);
        free(p);
    }
}

TEST(real_log_structure) {
    if (!sb_test_evidence_dir()) return;
    size_t n;
    uint8_t *p = sb_test_read_evidence("tpm/go-tpm-tools/eventlogs/cos-85-amd-sev.bin", &n);
    if (!p) return;
    sb_error err = {0};
    struct sb_eventlog log;
    CHECK_OK(sb_eventlog_parse(p, n, 0, &log, &err), &err);
    CHECK(log.crypto_agile);
    CHECK_INT(log.n_algs, 3);
    CHECK_INT(log.algs[0].alg, SB_TPM_ALG_SHA1);
    CHECK_INT(log.algs[1].alg, SB_TPM_ALG_SHA256);
    CHECK_INT(log.algs[2].size, 48);
    CHECK_INT(log.spec_major, 2);
    CHECK_INT(log.uintn_size, 2);
    CHECK_INT(log.n_events, 46);
    CHECK_INT(log.events[0].type, SB_EV_NO_ACTION);
    const struct sb_eventlog_event *last = &log.events[log.n_events - 1];
    CHECK_INT(last->offset + 4 + 4 + 4 + 3 * 2 + 20 + 32 + 48 + 4 + last->data_len, n);
    CHECK(sb_eventlog_event_digest(last, SB_TPM_ALG_SHA384) != NULL);
    CHECK(sb_eventlog_event_digest(last, SB_TPM_ALG_SHA512) == NULL);
    sb_eventlog_free(&log);
    sb_eventlog_free(&log); /* idempotent */
    /* the log has no SHA-512 bank */
    struct sb_mr_bank bank;
    CHECK_INT(sb_eventlog_replay_bytes(p, n, 0, SB_HASH_SHA512, &bank, &err), SB_E_NOTFOUND);
    CHECK_CONTAINS(err.msg, "no sha512 bank");
    free(p);
}

TEST(legacy_sha1_log) {
    if (!sb_test_evidence_dir()) return;
    size_t n;
    uint8_t *p =
        sb_test_read_evidence("tpm/go-attestation/eventlogs/ebs_event_missing_eventlog", &n);
    if (!p) return;
    sb_error err = {0};
    struct sb_eventlog log;
    CHECK_OK(sb_eventlog_parse(p, n, 0, &log, &err), &err);
    CHECK(!log.crypto_agile);
    CHECK_INT(log.n_algs, 1);
    CHECK_INT(log.algs[0].alg, SB_TPM_ALG_SHA1);
    sb_eventlog_free(&log);
    struct sb_mr_bank bank;
    CHECK_INT(sb_eventlog_replay_bytes(p, n, 0, SB_HASH_SHA256, &bank, &err), SB_E_NOTFOUND);
    free(p);
}

/* Every prefix that cuts a record is a truncation, never a pass or a crash. */
TEST(real_log_every_truncation) {
    if (!sb_test_evidence_dir()) return;
    size_t n;
    uint8_t *p = sb_test_read_evidence("tpm/go-attestation/eventlogs/crypto_agile_eventlog", &n);
    if (!p) return;
    sb_error err = {0};
    struct sb_eventlog log;
    CHECK_OK(sb_eventlog_parse(p, n, 0, &log, &err), &err);
    size_t n_ev = log.n_events;
    /* record boundaries: a cut exactly there is a shorter, valid log */
    bool *boundary = calloc(n + 1, 1);
    for (size_t i = 0; i < log.n_events; i++)
        boundary[log.events[i].offset] = true;
    boundary[n] = true;
    sb_eventlog_free(&log);
    size_t truncated = 0, shorter = 0;
    for (size_t cut = 0; cut < n; cut++) {
        uint8_t *q = malloc(cut ? cut : 1);
        memcpy(q, p, cut);
        int rc = sb_eventlog_parse(q, cut, 0, &log, &err);
        if (boundary[cut] && cut > 0) {
            CHECK_MSG(rc == 0, "cut at record boundary %zu: %d %s", cut, rc, err.msg);
            if (rc == 0) {
                CHECK(log.n_events < n_ev);
                sb_eventlog_free(&log);
            }
            shorter++;
        } else {
            CHECK_MSG(rc == SB_E_TRUNCATED, "cut at %zu: %d %s", cut, rc, err.msg);
            if (rc == 0) sb_eventlog_free(&log);
            truncated++;
        }
        free(q);
    }
    CHECK(truncated > n / 2);
    CHECK_INT(shorter, n_ev - 1);
    free(boundary);
    free(p);
}

/* ---- crafted logs ---- */

static void put_spec_header(sb_writer *w, const uint16_t *algs, const uint16_t *sizes, uint32_t n) {
    sb_writer_u32le(w, 0);
    sb_writer_u32le(w, SB_EV_NO_ACTION);
    for (int i = 0; i < 20; i++)
        sb_writer_u8(w, 0);
    sb_writer_u32le(w, 16 + 4 + 4 + 4 + 4 * n + 1);
    sb_writer_bytes(w, "Spec ID Event03", 16);
    sb_writer_u32le(w, 0);
    sb_writer_u8(w, 0);
    sb_writer_u8(w, 2);
    sb_writer_u8(w, 0);
    sb_writer_u8(w, 2);
    sb_writer_u32le(w, n);
    for (uint32_t i = 0; i < n; i++) {
        sb_writer_u16le(w, algs[i]);
        sb_writer_u16le(w, sizes[i]);
    }
    sb_writer_u8(w, 0);
}

static void put_event2(sb_writer *w, uint32_t pcr, uint32_t type, uint16_t alg, uint8_t fill,
                       size_t dlen, const char *data) {
    sb_writer_u32le(w, pcr);
    sb_writer_u32le(w, type);
    sb_writer_u32le(w, 1);
    sb_writer_u16le(w, alg);
    for (size_t i = 0; i < dlen; i++)
        sb_writer_u8(w, fill);
    sb_writer_u32le(w, (uint32_t)strlen(data));
    sb_writer_str(w, data);
}

static uint8_t *crafted(size_t *n, uint32_t pcr, bool locality) {
    static const uint16_t algs[] = {SB_TPM_ALG_SHA256};
    static const uint16_t sizes[] = {32};
    sb_writer w;
    sb_writer_init(&w, 4096);
    put_spec_header(&w, algs, sizes, 1);
    if (locality) {
        sb_writer_u32le(&w, 0);
        sb_writer_u32le(&w, SB_EV_NO_ACTION);
        sb_writer_u32le(&w, 1);
        sb_writer_u16le(&w, SB_TPM_ALG_SHA256);
        for (int i = 0; i < 32; i++)
            sb_writer_u8(&w, 0);
        sb_writer_u32le(&w, 17);
        sb_writer_bytes(&w, "StartupLocality", 16);
        sb_writer_u8(&w, 3);
    }
    put_event2(&w, pcr, 0x80000008, SB_TPM_ALG_SHA256, 0xab, 32, "one");
    put_event2(&w, pcr, SB_EV_SEPARATOR, SB_TPM_ALG_SHA256, 0xcd, 32, "two");
    return sb_writer_steal(&w, n);
}

TEST(crafted_replay_matches_hand_computation) {
    size_t n;
    uint8_t *p = crafted(&n, 5, false);
    sb_error err = {0};
    struct sb_mr_bank bank;
    CHECK_OK(sb_eventlog_replay_bytes(p, n, 0, SB_HASH_SHA256, &bank, &err), &err);
    uint8_t buf[64], v[32] = {0};
    memset(buf, 0, 32);
    memset(buf + 32, 0xab, 32);
    CHECK_OK(sb_hash(SB_HASH_SHA256, buf, 64, v, &err), &err);
    memcpy(buf, v, 32);
    memset(buf + 32, 0xcd, 32);
    CHECK_OK(sb_hash(SB_HASH_SHA256, buf, 64, v, &err), &err);
    CHECK_MEM(bank.value[5], v, 32);
    CHECK_INT(bank.events[5], 2);
    CHECK_INT(bank.events[0], 0);
    uint8_t zero[32] = {0};
    CHECK_MEM(bank.value[0], zero, 32);
    free(p);
}

TEST(crafted_startup_locality) {
    size_t n;
    uint8_t *p = crafted(&n, 0, true);
    sb_error err = {0};
    struct sb_eventlog log;
    CHECK_OK(sb_eventlog_parse(p, n, 0, &log, &err), &err);
    CHECK_INT(log.startup_locality, 3);
    struct sb_mr_bank bank;
    CHECK_OK(sb_eventlog_replay(&log, SB_HASH_SHA256, &bank, &err), &err);
    uint8_t buf[64], v[32];
    memset(buf, 0, 32);
    buf[31] = 3;
    memset(buf + 32, 0xab, 32);
    CHECK_OK(sb_hash(SB_HASH_SHA256, buf, 64, v, &err), &err);
    memcpy(buf, v, 32);
    memset(buf + 32, 0xcd, 32);
    CHECK_OK(sb_hash(SB_HASH_SHA256, buf, 64, v, &err), &err);
    CHECK_MEM(bank.value[0], v, 32);
    CHECK_INT(bank.events[0], 2); /* the EV_NO_ACTION locality event is not extended */
    sb_eventlog_free(&log);
    free(p);
}

TEST(crafted_index_out_of_range) {
    size_t n;
    uint8_t *p = crafted(&n, SB_MR_MAX_INDEX, false);
    sb_error err = {0};
    struct sb_mr_bank bank;
    CHECK_INT(sb_eventlog_replay_bytes(p, n, 0, SB_HASH_SHA256, &bank, &err), SB_E_MALFORMED);
    CHECK_CONTAINS(err.msg, "extends index 32");
    free(p);
}

TEST(crafted_padding_rule) {
    size_t n;
    uint8_t *p = crafted(&n, 1, false);
    size_t padded_len = n + 100;
    for (int fill = 0; fill < 2; fill++) {
        uint8_t *q = malloc(padded_len);
        memcpy(q, p, n);
        memset(q + n, fill ? 0xff : 0x00, 100);
        sb_error err = {0};
        struct sb_eventlog log;
        /* strict by default: a tail is a record that does not parse */
        CHECK(sb_eventlog_parse(q, padded_len, 0, &log, &err) < 0);
        CHECK_OK(sb_eventlog_parse(q, padded_len, SB_EVENTLOG_ALLOW_PADDING, &log, &err), &err);
        CHECK_INT(log.padding, 100);
        CHECK_INT(log.n_events, 3);
        sb_eventlog_free(&log);
        /* a mixed tail is not padding */
        q[padded_len - 1] = 0x5a;
        CHECK(sb_eventlog_parse(q, padded_len, SB_EVENTLOG_ALLOW_PADDING, &log, &err) < 0);
        free(q);
    }
    free(p);
}

static int parse_crafted_header(const uint16_t *algs, const uint16_t *sizes, uint32_t n_algs,
                                sb_error *err) {
    sb_writer w;
    sb_writer_init(&w, 4096);
    put_spec_header(&w, algs, sizes, n_algs);
    size_t n;
    uint8_t *p = sb_writer_steal(&w, &n);
    struct sb_eventlog log;
    int rc = sb_eventlog_parse(p, n, 0, &log, err);
    if (rc == 0) sb_eventlog_free(&log);
    free(p);
    return rc;
}

TEST(crafted_header_bounds) {
    sb_error err = {0};
    uint16_t algs[10] = {SB_TPM_ALG_SHA1, SB_TPM_ALG_SHA256};
    uint16_t sizes[10] = {20, 32};
    CHECK_OK(parse_crafted_header(algs, sizes, 2, &err), &err);
    CHECK_INT(parse_crafted_header(algs, sizes, 0, &err), SB_E_MALFORMED);
    CHECK_CONTAINS(err.msg, "numberOfAlgorithms 0");
    for (int i = 0; i < 10; i++) {
        algs[i] = (uint16_t)(0x100 + i);
        sizes[i] = 32;
    }
    CHECK_INT(parse_crafted_header(algs, sizes, 9, &err), SB_E_LIMIT);
    algs[0] = SB_TPM_ALG_SHA256;
    sizes[0] = 20; /* SHA-256 declared with 20-byte digests */
    CHECK_INT(parse_crafted_header(algs, sizes, 1, &err), SB_E_MALFORMED);
    CHECK_CONTAINS(err.msg, "20-byte digests");
    sizes[0] = 65;
    algs[0] = 0x7777;
    CHECK_INT(parse_crafted_header(algs, sizes, 1, &err), SB_E_LIMIT);
    algs[0] = algs[1] = SB_TPM_ALG_SHA256;
    sizes[0] = sizes[1] = 32;
    CHECK_INT(parse_crafted_header(algs, sizes, 2, &err), SB_E_MALFORMED);
    CHECK_CONTAINS(err.msg, "twice");
}

TEST(crafted_event_digest_not_in_header) {
    static const uint16_t algs[] = {SB_TPM_ALG_SHA256};
    static const uint16_t sizes[] = {32};
    sb_writer w;
    sb_writer_init(&w, 4096);
    put_spec_header(&w, algs, sizes, 1);
    put_event2(&w, 0, 1, SB_TPM_ALG_SHA384, 0, 48, "x");
    size_t n;
    uint8_t *p = sb_writer_steal(&w, &n);
    sb_error err = {0};
    struct sb_eventlog log;
    CHECK_INT(sb_eventlog_parse(p, n, 0, &log, &err), SB_E_MALFORMED);
    CHECK_CONTAINS(err.msg, "0x000c");
    CHECK_CONTAINS(err.msg, "not declared");
    free(p);
}

TEST(crafted_event_size_over_limit) {
    static const uint16_t algs[] = {SB_TPM_ALG_SHA256};
    static const uint16_t sizes[] = {32};
    sb_writer w;
    sb_writer_init(&w, 4096);
    put_spec_header(&w, algs, sizes, 1);
    sb_writer_u32le(&w, 0);
    sb_writer_u32le(&w, 1);
    sb_writer_u32le(&w, 1);
    sb_writer_u16le(&w, SB_TPM_ALG_SHA256);
    for (int i = 0; i < 32; i++)
        sb_writer_u8(&w, 0);
    sb_writer_u32le(&w, 0xfffffff0u);
    size_t n;
    uint8_t *p = sb_writer_steal(&w, &n);
    sb_error err = {0};
    struct sb_eventlog log;
    CHECK_INT(sb_eventlog_parse(p, n, 0, &log, &err), SB_E_LIMIT);
    CHECK_CONTAINS(err.msg, "eventSize");
    free(p);
}

/* The TDX CCEL: SHA-384, MR index = RTMR index + 1, the area padded after the last event. The
 * quote's RTMRs (TD report body at 48 + 328) are the reference. */
static void check_ccel(const char *quote_path, const char *ccel_path) {
    size_t qn, cn;
    uint8_t *q = sb_test_read_evidence(quote_path, &qn);
    uint8_t *c = sb_test_read_evidence(ccel_path, &cn);
    if (!q || !c) {
        free(q);
        free(c);
        return;
    }
    sb_error err = {0};
    struct sb_mr_bank bank;
    CHECK_INT(sb_eventlog_replay_bytes(c, cn, 0, SB_HASH_SHA384, &bank, &err) < 0, 1);
    CHECK_OK(
        sb_eventlog_replay_bytes(c, cn, SB_EVENTLOG_ALLOW_PADDING, SB_HASH_SHA384, &bank, &err),
        &err);
    CHECK(qn >= 48 + 328 + 4 * 48);
    for (unsigned i = 0; i < 4 && qn >= 48 + 328 + 4 * 48; i++)
        CHECK_MSG(memcmp(bank.value[i + 1], q + 48 + 328 + 48 * i, 48) == 0, "%s: RTMR%u",
                  ccel_path, i);
    CHECK_INT(bank.events[0], 0); /* MRTD is not extended from the log */
    free(q);
    free(c);
}

TEST(ccel_replays_to_quote_rtmrs) {
    if (!sb_test_evidence_dir()) return;
    check_ccel("tdx/go-tdx-guest/cos-113-tdx-quote.dat", "tdx/go-tdx-guest/ccel_data.dat");
}

/* Trustee's CCEL fixture is not the log of its quote (Trustee only parses it): check the events
 * its golden claims file lists (MR index 1, 1, 2, 2, 2 after the header) and the zero fill. */
TEST(ccel_trustee_structure) {
    if (!sb_test_evidence_dir()) return;
    size_t n;
    uint8_t *p = sb_test_read_evidence("tdx/trustee/CCEL_data", &n);
    if (!p) return;
    sb_error err = {0};
    struct sb_eventlog log;
    CHECK_OK(sb_eventlog_parse(p, n, SB_EVENTLOG_ALLOW_PADDING, &log, &err), &err);
    CHECK_INT(log.n_events, 6);
    CHECK_INT(log.algs[0].alg, SB_TPM_ALG_SHA384);
    static const uint32_t idx[] = {1, 1, 2, 2, 2};
    for (size_t i = 0; i < 5 && log.n_events == 6; i++)
        CHECK_INT(log.events[i + 1].index, idx[i]);
    CHECK_INT(log.events[2].type, SB_EV_SEPARATOR);
    CHECK(log.padding > 1000000);
    CHECK_INT(log.events[log.n_events - 1].offset + 4 + 4 + 4 + 2 + 48 + 4 +
                  log.events[log.n_events - 1].data_len + log.padding,
              n);
    sb_eventlog_free(&log);
    free(p);
}
