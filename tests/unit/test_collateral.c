/* test_collateral: the collateral cache keys real AMD/Intel collateral by what identifies it,
 * keeps validity windows, replaces by key, lists unknown files and prunes expired items. */
#include <stdio.h>
#include <sys/stat.h>

#include "harness.h"
#include "verify/verify.h"

static void identify(const char *rel, const char *kind, const char *file, int64_t nb, int64_t na) {
    size_t n = 0;
    uint8_t *b = sb_test_read_evidence(rel, &n);
    if (!b) return;
    struct sb_collateral_item it;
    sb_error err = {0};
    CHECK_OK(sb_collateral_identify(b, n, &it, &err), &err);
    CHECK_STR(it.kind, kind);
    CHECK_STR(it.file, file);
    if (nb) CHECK_INT(it.not_before, nb);
    if (na) CHECK_INT(it.not_after, na);
    free(b);
}

TEST(keys_of_real_collateral) {
    if (!sb_test_evidence_dir()) return;
    /* VCEK: product, CHIP_ID prefix, TCB (S1: bl3/tee0/snp8/uc115) */
    identify("snp/trustee/test-vcek.der", "vcek",
             "vcek-milan-b0-c38427a30d4c7af9-bl3-tee0-snp8-uc115.der", 0, 0);
    /* S4's VCEK matches its report's CHIP_ID 3ac3fe21… and TCB bl2/snp5/uc68 */
    identify("snp/go-sev-guest/vcek.testcer", "vcek",
             "vcek-milan-b0-3ac3fe21e13fb099-bl2-tee0-snp5-uc68.der", 0, 0);
    /* VLEK (S2): valid 2024-12-10..2025-12-10 */
    identify("snp/trustee/test-vlek.der", "vlek",
             "vlek-milan-cn-cc-us-east-2.amazonaws.com-bl4-tee0-snp24-uc217.der", 0, 0);
    /* TCB info by id and FMSPC, window issueDate..nextUpdate (T1: 2023-06-18..07-18) */
    identify("tdx/go-tdx-guest/sample_tcbInfo_response", "tcb-info",
             "tcb-info-tdx-50806f000000.json", 1687077778, 1689669778);
    identify("sgx/dcap-rs/tcbinfov2.json", "tcb-info", "tcb-info-sgx-00606a000000.json", 0, 0);
    identify("tdx/dcap-rs/qeidentityv2_apiv4.json", "qe-identity", "qe-identity-td_qe-v2.json", 0,
             0);
    /* CRLs by issuer, window thisUpdate..nextUpdate */
    identify("tdx/dcap-rs/intel_root_ca_crl.der", "crl", "crl-intel-sgx-root-ca.der", 1710962370,
             1743707970);
    identify("tdx/go-tdx-guest/pckcrl", "crl", "crl-intel-sgx-pck-platform-ca.der", 0, 0);
    /* PCK by FMSPC from Intel's SGX extension */
    identify("tdx/dcap-rs/pck_certchain.pem", "pck", "pck-00606a000000-e57afde095006ee1.pem", 0, 0);
    identify("tdx/dcap-qvl/tdx_quote_collateral.json", "bundle", "bundle-tdx-b0c06f000000.json", 0,
             0);
}

TEST(rejects_what_is_not_collateral) {
    static const char *const bad[] = {
        "",
        "hello",
        "{\"x\": 1}",
        "{\"tcbInfo\": {\"fmspc\": 1}}",
        "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
        "\x30\x82\x01\x00"};
    for (size_t i = 0; i < SB_ARRAY_LEN(bad); i++) {
        struct sb_collateral_item it;
        sb_error err = {0};
        CHECK(sb_collateral_identify((const uint8_t *)bad[i], strlen(bad[i]), &it, &err) < 0);
        CHECK(err.msg[0] != 0);
    }
}

static void write_file(const char *path, const char *s) {
    sb_error err = {0};
    CHECK_OK(sb_write_file_atomic(path, s, strlen(s), 0600, &err), &err);
}

TEST(import_list_replace_prune) {
    const char *tmp = sb_test_tmpdir();
    char dir[512], a[512], b[512], junk[1024];
    snprintf(dir, sizeof(dir), "%s/state/collateral", tmp);
    snprintf(a, sizeof(a), "%s/a.json", tmp);
    snprintf(b, sizeof(b), "%s/b.json", tmp);
    write_file(a,
               "{\"tcbInfo\":{\"id\":\"TDX\",\"version\":3,\"fmspc\":\"00906ed50000\","
               "\"issueDate\":\"2025-01-01T00:00:00Z\",\"nextUpdate\":\"2025-02-01T00:00:00Z\"}}");
    write_file(b,
               "{\"enclaveIdentity\":{\"id\":\"QE\",\"version\":2,"
               "\"issueDate\":\"2025-01-01T00:00:00Z\",\"nextUpdate\":\"2025-03-01T00:00:00Z\"}}");
    sb_error err = {0};
    struct sb_collateral_item it;
    CHECK_OK(sb_collateral_import(dir, a, &it, &err), &err);
    CHECK_STR(it.file, "tcb-info-tdx-00906ed50000.json");
    CHECK_OK(sb_collateral_import(dir, b, &it, &err), &err);
    /* A newer TCB info for the same FMSPC replaces the old one (same key). */
    write_file(a,
               "{\"tcbInfo\":{\"id\":\"TDX\",\"version\":3,\"fmspc\":\"00906ed50000\","
               "\"issueDate\":\"2025-02-01T00:00:00Z\",\"nextUpdate\":\"2025-03-15T00:00:00Z\"}}");
    CHECK_OK(sb_collateral_import(dir, a, &it, &err), &err);
    snprintf(junk, sizeof(junk), "%s/notes.txt", dir);
    write_file(junk, "not collateral");
    struct sb_collateral_item *v = NULL;
    size_t n = 0;
    CHECK_OK(sb_collateral_list(dir, &v, &n, &err), &err);
    CHECK_INT(n, 3);
    if (n == 3) {
        CHECK_STR(v[0].kind, "unknown");
        CHECK_STR(v[1].file, "qe-identity-qe-v2.json");
        CHECK_STR(v[2].file, "tcb-info-tdx-00906ed50000.json");
        CHECK_INT(v[2].not_after, 1741996800); /* the replacement's nextUpdate */
    }
    free(v);
    /* Prune at 2025-03-10: the QE identity (to 03-01) goes, the TCB info (to 03-15) stays;
     * both bounds: an item expiring exactly at `at` stays. */
    size_t removed = 99;
    CHECK_OK(sb_collateral_prune(dir, 1740787200, &removed, &err), &err); /* 2025-03-01 */
    CHECK_INT(removed, 0);
    CHECK_OK(sb_collateral_prune(dir, 1741564800, &removed, &err), &err);
    CHECK_INT(removed, 1);
    CHECK_OK(sb_collateral_list(dir, &v, &n, &err), &err);
    CHECK_INT(n, 2);
    free(v);
    /* A missing cache is empty, not an error. */
    snprintf(junk, sizeof(junk), "%s/none", tmp);
    CHECK_OK(sb_collateral_list(junk, &v, &n, &err), &err);
    CHECK_INT(n, 0);
    CHECK_INT(sb_collateral_import(dir, junk, &it, &err), SB_E_IO);
}
