/* test_crl_info: the CRL issuer accessor, on Intel's real root-CA and PCK CRLs (known
 * answers from `openssl crl -issuer -nameopt RFC2253`). */
#include "crypto/crypto.h"
#include "harness.h"

TEST(crl_issuer_known_answers) {
    static const struct {
        const char *file, *issuer;
        int64_t this_update;
    } kat[] = {
        {"tdx/dcap-rs/intel_root_ca_crl.der",
         "C=US,ST=CA,L=Santa Clara,O=Intel Corporation,CN=Intel SGX Root CA", 1710962370},
        {"tdx/dcap-rs/pck_platform_crl.der",
         "C=US,ST=CA,L=Santa Clara,O=Intel Corporation,CN=Intel SGX PCK Platform CA", 0},
    };
    if (!sb_test_evidence_dir()) return;
    for (size_t i = 0; i < SB_ARRAY_LEN(kat); i++) {
        size_t n = 0;
        uint8_t *der = sb_test_read_evidence(kat[i].file, &n);
        if (!der) return;
        sb_crl *crl = NULL;
        sb_error err = {0};
        CHECK_OK(sb_crl_load(der, n, &crl, &err), &err);
        char *iss = sb_crl_issuer(crl);
        CHECK_STR(iss, kat[i].issuer);
        if (kat[i].this_update) CHECK_INT(sb_crl_this_update(crl), kat[i].this_update);
        free(iss);
        sb_crl_free(crl);
        free(der);
    }
    CHECK(sb_crl_issuer(NULL) == NULL);
}
