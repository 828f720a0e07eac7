/* test_x509: certificate parsing and accessors, raw extensions by OID, chain verification at
 * explicit times on real vendor chains (AMD RSA-PSS, Intel ECDSA with CRLs, AWS Nitro), CRL
 * signatures and revocation on a CA this test creates itself. */
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <stdlib.h>

#include "crypto/crypto.h"
#include "harness.h"

static int64_t T(const char *rfc3339) {
    int64_t t = 0;
    sb_error err = {0};
    CHECK_OK(sb_time_parse(rfc3339, &t, &err), &err);
    return t;
}

static sb_cert *ev_cert(const char *rel) {
    size_t n = 0;
    uint8_t *b = sb_test_read_evidence(rel, &n);
    if (!b) return NULL;
    sb_cert *c = NULL;
    sb_error err = {0};
    CHECK_OK(sb_cert_load(b, n, &c, &err), &err);
    free(b);
    return c;
}

static sb_crl *ev_crl(const char *rel) {
    size_t n = 0;
    uint8_t *b = sb_test_read_evidence(rel, &n);
    if (!b) return NULL;
    sb_crl *c = NULL;
    sb_error err = {0};
    CHECK_OK(sb_crl_load(b, n, &c, &err), &err);
    free(b);
    return c;
}

static sb_cert **ev_bundle(const char *rel, size_t *count) {
    size_t n = 0;
    uint8_t *b = sb_test_read_evidence(rel, &n);
    if (!b) return NULL;
    sb_cert **v = NULL;
    sb_error err = {0};
    CHECK_OK(sb_certs_from_pem(b, n, 8, &v, count, &err), &err);
    free(b);
    return v;
}

/* ---- AMD SEV-SNP: VCEK (serial 0) <- ASK <- ARK, all RSASSA-PSS SHA-384 ------------------- */

TEST(amd_vcek_accessors_and_extensions) {
    if (!sb_test_evidence_dir()) return;
    sb_cert *v = ev_cert("snp/trustee/test-vcek.der");
    if (!v) return;
    sb_error err = {0};
    char *s = sb_cert_serial_hex(v);
    CHECK_STR(s, "00");
    free(s);
    s = sb_cert_subject(v);
    CHECK_CONTAINS(s, "CN=SEV-VCEK");
    CHECK_CONTAINS(s, "O=Advanced Micro Devices");
    free(s);
    s = sb_cert_issuer(v);
    CHECK_CONTAINS(s, "CN=SEV-Milan");
    free(s);
    CHECK_INT(sb_cert_not_before(v), T("2023-01-24T17:58:26Z"));
    CHECK_INT(sb_cert_not_after(v), T("2030-01-24T17:58:26Z"));
    const uint8_t *p;
    size_t n;
    /* OIDs OpenSSL has no name for: the values are the raw DER inside the OCTET STRING */
    CHECK_OK(sb_cert_ext(v, "1.3.6.1.4.1.3704.1.3.1", &p, &n, &err), &err); /* bl SPL = 3 */
    CHECK_INT(n, 3);
    CHECK(n == 3 && p[0] == 0x02 && p[1] == 1 && p[2] == 3);
    CHECK_OK(sb_cert_ext(v, "1.3.6.1.4.1.3704.1.3.8", &p, &n, &err), &err); /* ucode = 115 */
    CHECK(n == 3 && p[2] == 115);
    CHECK_OK(sb_cert_ext(v, "1.3.6.1.4.1.3704.1.2", &p, &n, &err), &err);
    CHECK(n == 10 && p[0] == 0x16 && memcmp(p + 2, "Milan-B0", 8) == 0);
    /* hwID (the 64 raw bytes, no inner DER) equals the report's CHIP_ID at 0x1A0 */
    CHECK_OK(sb_cert_ext(v, "1.3.6.1.4.1.3704.1.4", &p, &n, &err), &err);
    size_t rn = 0;
    uint8_t *rep = sb_test_read_evidence("snp/trustee/test-report.bin", &rn);
    CHECK(rep && rn >= 0x1A0 + 64 && n == 64);
    if (rep && rn >= 0x1A0 + 64 && n == 64) CHECK_MEM(p, rep + 0x1A0, 64);
    free(rep);
    CHECK_INT(sb_cert_ext(v, "1.3.6.1.4.1.3704.1.3.9", &p, &n, &err), SB_E_NOTFOUND);
    CHECK_INT(sb_cert_ext(v, "1.3.6..1", &p, &n, &err), SB_E_USAGE);
    CHECK_INT(sb_cert_ext(v, "commonName", &p, &n, &err), SB_E_USAGE);
    /* the key is the P-384 VCEK */
    sb_pubkey *k = NULL;
    CHECK_OK(sb_cert_pubkey(v, &k, &err), &err);
    CHECK_INT(sb_pubkey_curve(k), SB_CURVE_P384);
    sb_pubkey_free(k);
    sb_cert_free(v);
}

TEST(amd_snp_report_signature_raw_le) {
    /* MANIFEST S1: ECDSA P-384/SHA-384 over [0,0x2A0), r||s as two 72-byte LE fields. */
    if (!sb_test_evidence_dir()) return;
    sb_cert *v = ev_cert("snp/trustee/test-vcek.der");
    size_t n = 0, bn = 0;
    uint8_t *rep = sb_test_read_evidence("snp/trustee/test-report.bin", &n);
    uint8_t *bad =
        sb_test_read_evidence("snp/derived-negative/trustee_report_b42plus1_badsig.bin", &bn);
    if (!v || !rep || !bad || n < 0x2A0 + 144 || bn < 0x2A0 + 144) {
        CHECK(false);
        goto out;
    }
    sb_error err = {0};
    sb_pubkey *k = NULL;
    CHECK_OK(sb_cert_pubkey(v, &k, &err), &err);
    CHECK_OK(
        sb_ecdsa_verify(k, SB_HASH_SHA384, rep, 0x2A0, rep + 0x2A0, 144, SB_ECDSA_RAW_LE, &err),
        &err);
    CHECK_INT(
        sb_ecdsa_verify(k, SB_HASH_SHA384, bad, 0x2A0, bad + 0x2A0, 144, SB_ECDSA_RAW_LE, &err),
        SB_E_SIGNATURE);
    sb_pubkey_free(k);
out:
    free(rep);
    free(bad);
    sb_cert_free(v);
}

TEST(amd_milan_chain_at_explicit_times) {
    if (!sb_test_evidence_dir()) return;
    size_t cnt = 0;
    sb_cert **ch = ev_bundle("snp/amd-chains/trustee_milan_ask_ark_asvk.pem", &cnt);
    sb_cert *vcek = ev_cert("snp/trustee/test-vcek.der");
    size_t gcnt = 0;
    sb_cert **genoa = ev_bundle("snp/amd-chains/trustee_genoa_ask_ark_asvk.pem", &gcnt);
    sb_cert *badv = ev_cert("snp/derived-negative/trustee_vcek_b42plus1_badchain.der");
    if (!ch || cnt != 3 || !vcek || !genoa || gcnt != 3 || !badv) {
        CHECK(false);
        goto out;
    }
    sb_error err = {0};
    sb_cert *ask = ch[0], *ark = ch[1];
    char *s = sb_cert_subject(ark);
    CHECK_CONTAINS(s, "CN=ARK-Milan");
    free(s);
    int64_t inside = T("2025-06-01T00:00:00Z");
    CHECK_OK(sb_x509_verify_chain(vcek, &ask, 1, &ark, 1, NULL, 0, inside, 0, &err), &err);
    /* after the VCEK expired (2030-01-24) */
    CHECK_INT(
        sb_x509_verify_chain(vcek, &ask, 1, &ark, 1, NULL, 0, T("2031-01-01T00:00:00Z"), 0, &err),
        SB_E_CHAIN);
    CHECK_CONTAINS(err.msg, "expired");
    CHECK_CONTAINS(err.msg, "CN=SEV-VCEK");
    CHECK_CONTAINS(err.msg, "2031-01-01T00:00:00Z");
    /* before it was issued */
    CHECK_INT(
        sb_x509_verify_chain(vcek, &ask, 1, &ark, 1, NULL, 0, T("2022-01-01T00:00:00Z"), 0, &err),
        SB_E_CHAIN);
    CHECK_CONTAINS(err.msg, "not yet valid");
    /* the wrong product's root */
    CHECK_INT(sb_x509_verify_chain(vcek, &ask, 1, &genoa[1], 1, NULL, 0, inside, 0, &err),
              SB_E_CHAIN);
    CHECK_CONTAINS(err.msg, "issuer");
    /* the ASK as anchor: only with PARTIAL_CHAIN */
    CHECK_INT(sb_x509_verify_chain(vcek, NULL, 0, &ask, 1, NULL, 0, inside, 0, &err), SB_E_CHAIN);
    CHECK_OK(
        sb_x509_verify_chain(vcek, NULL, 0, &ask, 1, NULL, 0, inside, SB_X509_PARTIAL_CHAIN, &err),
        &err);
    /* without the intermediate */
    CHECK_INT(sb_x509_verify_chain(vcek, NULL, 0, &ark, 1, NULL, 0, inside, 0, &err), SB_E_CHAIN);
    /* a VCEK with one byte changed (MANIFEST: ASK->VCEK signature fails) */
    CHECK_INT(sb_x509_verify_chain(badv, &ask, 1, &ark, 1, NULL, 0, inside, 0, &err), SB_E_CHAIN);
    CHECK_CONTAINS(err.msg, "signature");
    /* signature-only checks, RSA-PSS parameters read from the certificate */
    CHECK_OK(sb_cert_check_signed_by(vcek, ask, &err), &err);
    CHECK_OK(sb_cert_check_signed_by(ask, ark, &err), &err);
    CHECK_OK(sb_cert_check_signed_by(ark, ark, &err), &err);
    CHECK_INT(sb_cert_check_signed_by(vcek, ark, &err), SB_E_SIGNATURE);
    CHECK_CONTAINS(err.msg, "SEV-VCEK");
    CHECK_INT(sb_cert_check_signed_by(badv, ask, &err), SB_E_SIGNATURE);
    CHECK_INT(sb_cert_check_signed_by(ask, genoa[1], &err), SB_E_SIGNATURE);
    /* the ASVK (3rd cert) is signed by the same ARK */
    CHECK_OK(sb_cert_check_signed_by(ch[2], ark, &err), &err);
out:
    sb_certs_free(ch, cnt);
    sb_certs_free(genoa, gcnt);
    sb_cert_free(vcek);
    sb_cert_free(badv);
}

TEST(amd_vlek_chain_through_asvk) {
    /* MANIFEST S2: the VLEK chains to the ASVK (not the ASK), valid 2024-12-10..2025-12-10 */
    if (!sb_test_evidence_dir()) return;
    size_t cnt = 0;
    sb_cert **ch = ev_bundle("snp/amd-chains/trustee_milan_ask_ark_asvk.pem", &cnt);
    sb_cert *vlek = ev_cert("snp/trustee/test-vlek.der");
    if (!ch || cnt != 3 || !vlek) {
        CHECK(false);
        goto out;
    }
    sb_error err = {0};
    int64_t at = T("2025-06-01T00:00:00Z");
    CHECK_OK(sb_x509_verify_chain(vlek, &ch[2], 1, &ch[1], 1, NULL, 0, at, 0, &err), &err);
    CHECK_INT(sb_x509_verify_chain(vlek, &ch[0], 1, &ch[1], 1, NULL, 0, at, 0, &err), SB_E_CHAIN);
    /* giving both intermediates lets OpenSSL pick the right one */
    CHECK_OK(sb_x509_verify_chain(vlek, ch, 3, &ch[1], 1, NULL, 0, at, 0, &err), &err);
    CHECK_INT(sb_x509_verify_chain(vlek, &ch[2], 1, &ch[1], 1, NULL, 0, T("2026-01-01T00:00:00Z"),
                                   0, &err),
              SB_E_CHAIN);
    CHECK_CONTAINS(err.msg, "expired");
out:
    sb_certs_free(ch, cnt);
    sb_cert_free(vlek);
}

/* ---- Intel: PCK <- Platform CA <- SGX Root CA (ECDSA P-256), with Intel's CRLs ----------- */

TEST(intel_pck_chain_with_crls) {
    if (!sb_test_evidence_dir()) return;
    size_t cnt = 0;
    sb_cert **ch = ev_bundle("tdx/dcap-rs/pck_certchain.pem", &cnt);
    sb_crl *pck_crl = ev_crl("tdx/dcap-rs/pck_platform_crl.der");
    sb_crl *root_crl = ev_crl("tdx/dcap-rs/intel_root_ca_crl.der");
    sb_cert *pinned = ev_cert("tdx/intel-roots/dcap-qvl_TrustedRootCA.der");
    if (!ch || cnt != 3 || !pck_crl || !root_crl || !pinned) {
        CHECK(false);
        goto out;
    }
    sb_error err = {0};
    sb_cert *leaf = ch[0], *pca = ch[1], *root = ch[2];
    CHECK(sb_cert_equal(root, pinned));
    CHECK(!sb_cert_equal(root, pca));
    /* FMSPC/PCEID live in the SGX extension, unknown to OpenSSL */
    const uint8_t *p;
    size_t n;
    CHECK_OK(sb_cert_ext(leaf, "1.2.840.113741.1.13.1", &p, &n, &err), &err);
    CHECK(n > 2 && p[0] == 0x30);
    sb_crl *both[2] = {pck_crl, root_crl};
    /* MANIFEST T7 pinned time: both CRLs current (platform CRL 2025-02-13..03-15) */
    int64_t at = T("2025-02-13T04:00:32Z");
    CHECK_INT(sb_crl_this_update(pck_crl), T("2025-02-13T03:40:28Z"));
    CHECK_INT(sb_crl_next_update(pck_crl), T("2025-03-15T03:40:28Z"));
    CHECK_OK(sb_x509_verify_chain(leaf, &pca, 1, &pinned, 1, both, 2, at, SB_X509_CRL_ALL, &err),
             &err);
    CHECK_OK(sb_x509_verify_chain(leaf, &pca, 1, &pinned, 1, both, 2, at, SB_X509_CRL_LEAF, &err),
             &err);
    CHECK_OK(
        sb_x509_verify_chain(leaf, &pca, 1, &pinned, 1, &pck_crl, 1, at, SB_X509_CRL_LEAF, &err),
        &err);
    /* CRL_ALL needs the root CA's CRL for the Platform CA too */
    CHECK_INT(
        sb_x509_verify_chain(leaf, &pca, 1, &pinned, 1, &pck_crl, 1, at, SB_X509_CRL_ALL, &err),
        SB_E_CHAIN);
    CHECK_CONTAINS(err.msg, "unable to get certificate CRL");
    /* after the platform CRL's nextUpdate */
    CHECK_INT(sb_x509_verify_chain(leaf, &pca, 1, &pinned, 1, both, 2, T("2025-03-20T00:00:00Z"),
                                   SB_X509_CRL_ALL, &err),
              SB_E_CHAIN);
    CHECK_CONTAINS(err.msg, "CRL has expired");
    /* before the CRL was issued */
    CHECK_INT(sb_x509_verify_chain(leaf, &pca, 1, &pinned, 1, both, 2, T("2024-06-01T00:00:00Z"),
                                   SB_X509_CRL_LEAF, &err),
              SB_E_CHAIN);
    CHECK_CONTAINS(err.msg, "CRL is not yet valid");
    /* without CRL flags the same time verifies */
    CHECK_OK(sb_x509_verify_chain(leaf, &pca, 1, &pinned, 1, NULL, 0, T("2024-06-01T00:00:00Z"), 0,
                                  &err),
             &err);
    CHECK_INT(sb_x509_verify_chain(leaf, &pca, 1, &pinned, 1, NULL, 0, at, SB_X509_CRL_LEAF, &err),
              SB_E_USAGE);
    /* CRL signatures */
    CHECK_OK(sb_crl_check_signed_by(pck_crl, pca, &err), &err);
    CHECK_OK(sb_crl_check_signed_by(root_crl, root, &err), &err);
    CHECK_INT(sb_crl_check_signed_by(pck_crl, root, &err), SB_E_SIGNATURE);
    CHECK(!sb_crl_revokes(pck_crl, leaf));
    CHECK(!sb_crl_revokes(root_crl, pca));
    CHECK_OK(sb_cert_check_signed_by(leaf, pca, &err), &err);
    CHECK_INT(sb_cert_check_signed_by(leaf, root, &err), SB_E_SIGNATURE);
out:
    sb_certs_free(ch, cnt);
    sb_crl_free(pck_crl);
    sb_crl_free(root_crl);
    sb_cert_free(pinned);
}

/* ---- AWS Nitro root ------------------------------------------------------------------------ */

TEST(nitro_root_fingerprint_and_validity) {
    if (!sb_test_evidence_dir()) return;
    sb_cert *r = ev_cert("nitro/aws-root/root.pem");
    if (!r) return;
    sb_error err = {0};
    uint8_t fp[32];
    CHECK_OK(sb_cert_fingerprint(r, SB_HASH_SHA256, fp, &err), &err);
    char *h = sb_hex_dup(fp, 32);
    CHECK_STR(h, "641a0321a3e244efe456463195d606317ed7cdcc3c1756e09893f3c68f79bb5b");
    free(h);
    CHECK_OK(sb_x509_verify_chain(r, NULL, 0, &r, 1, NULL, 0, T("2024-09-07T14:37:39Z"), 0, &err),
             &err);
    CHECK_INT(sb_x509_verify_chain(r, NULL, 0, &r, 1, NULL, 0, T("2050-01-01T00:00:00Z"), 0, &err),
              SB_E_CHAIN);
    CHECK_CONTAINS(err.msg, "expired");
    CHECK_INT(sb_x509_verify_chain(r, NULL, 0, &r, 1, NULL, 0, T("2019-01-01T00:00:00Z"), 0, &err),
              SB_E_CHAIN);
    CHECK_CONTAINS(err.msg, "not yet valid");
    sb_cert *d = sb_cert_dup(r);
    CHECK(sb_cert_equal(r, d));
    const uint8_t *p1, *p2;
    size_t n1, n2;
    CHECK_OK(sb_cert_der(r, &p1, &n1, &err), &err);
    CHECK_OK(sb_cert_der(d, &p2, &n2, &err), &err);
    CHECK_INT(n1, n2);
    sb_cert *fromder = NULL;
    CHECK_OK(sb_cert_from_der(p1, n1, &fromder, &err), &err);
    CHECK(sb_cert_equal(fromder, r));
    sb_cert_free(fromder);
    sb_cert_free(d);
    sb_cert_free(r);
}

/* ---- malformed input ------------------------------------------------------------------------ */

TEST(x509_garbage_is_malformed_with_message) {
    sb_error err = {0};
    sb_cert *c = NULL;
    const uint8_t junk[] = {0x30, 0x82, 0x01, 0x00, 0x02, 0x01, 0x00};
    CHECK_INT(sb_cert_from_der(junk, sizeof(junk), &c, &err), SB_E_MALFORMED);
    CHECK_CONTAINS(err.msg, "x509: DER certificate does not parse");
    CHECK(c == NULL);
    CHECK_INT(sb_cert_load(junk, sizeof(junk), &c, &err), SB_E_MALFORMED);
    CHECK_INT(sb_cert_from_der(junk, 0, &c, &err), SB_E_MALFORMED);
    const char *pem = "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n";
    CHECK_INT(sb_cert_from_pem((const uint8_t *)pem, strlen(pem), &c, &err), SB_E_MALFORMED);
    CHECK_CONTAINS(err.msg, "x509:");
    sb_cert **v = NULL;
    size_t cnt = 0;
    CHECK_INT(sb_certs_from_pem((const uint8_t *)"hello", 5, 4, &v, &cnt, &err), SB_E_MALFORMED);
    CHECK_CONTAINS(err.msg, "no CERTIFICATE");
    sb_crl *crl = NULL;
    CHECK_INT(sb_crl_from_der(junk, sizeof(junk), &crl, &err), SB_E_MALFORMED);
    CHECK_CONTAINS(err.msg, "crl:");
}

TEST(x509_bundle_limit_and_trailing_bytes) {
    if (!sb_test_evidence_dir()) return;
    size_t n = 0;
    uint8_t *b = sb_test_read_evidence("snp/amd-chains/trustee_milan_ask_ark_asvk.pem", &n);
    if (!b) return;
    sb_error err = {0};
    sb_cert **v = NULL;
    size_t cnt = 0;
    CHECK_INT(sb_certs_from_pem(b, n, 2, &v, &cnt, &err), SB_E_LIMIT);
    CHECK_CONTAINS(err.msg, "more than 2");
    CHECK_OK(sb_certs_from_pem(b, n, 3, &v, &cnt, &err), &err);
    CHECK_INT(cnt, 3);
    /* a DER certificate followed by one extra byte */
    const uint8_t *p;
    size_t dn;
    CHECK_OK(sb_cert_der(v[0], &p, &dn, &err), &err);
    uint8_t *x = malloc(dn + 1);
    memcpy(x, p, dn);
    x[dn] = 0;
    sb_cert *c = NULL;
    CHECK_INT(sb_cert_from_der(x, dn + 1, &c, &err), SB_E_MALFORMED);
    CHECK_CONTAINS(err.msg, "1 trailing bytes");
    free(x);
    sb_certs_free(v, cnt);
    free(b);
}

/* ---- revocation on a CA made here (no evidence needed) ---------------------------------- */

struct mini_pki {
    EVP_PKEY *ca_key, *leaf_key;
    X509 *ca, *leaf;
    X509_CRL *crl;
};

static X509 *mk_cert(X509 *issuer, EVP_PKEY *issuer_key, EVP_PKEY *key, const char *cn, long serial,
                     bool ca, int64_t nb, int64_t na) {
    X509 *x = X509_new();
    X509_set_version(x, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(x), serial);
    X509_NAME *nm = X509_get_subject_name(x);
    X509_NAME_add_entry_by_txt(nm, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1, 0);
    X509_set_issuer_name(x, issuer ? X509_get_subject_name(issuer) : nm);
    ASN1_TIME_set(X509_getm_notBefore(x), (time_t)nb);
    ASN1_TIME_set(X509_getm_notAfter(x), (time_t)na);
    X509_set_pubkey(x, key);
    X509V3_CTX v3;
    X509V3_set_ctx(&v3, issuer ? issuer : x, x, NULL, NULL, 0);
    X509_EXTENSION *e =
        X509V3_EXT_conf_nid(NULL, &v3, NID_basic_constraints, ca ? "critical,CA:TRUE" : "CA:FALSE");
    X509_add_ext(x, e, -1);
    X509_EXTENSION_free(e);
    if (ca) {
        e = X509V3_EXT_conf_nid(NULL, &v3, NID_key_usage, "critical,keyCertSign,cRLSign");
        X509_add_ext(x, e, -1);
        X509_EXTENSION_free(e);
    }
    X509_sign(x, issuer_key, EVP_sha256());
    return x;
}

static void mini_pki_make(struct mini_pki *m, long revoked_serial) {
    int64_t t0 = T("2024-01-01T00:00:00Z"), t1 = T("2030-01-01T00:00:00Z");
    m->ca_key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    m->leaf_key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    m->ca = mk_cert(NULL, m->ca_key, m->ca_key, "sealbox test CA", 1, true, t0, t1);
    m->leaf = mk_cert(m->ca, m->ca_key, m->leaf_key, "sealbox test leaf", 0x1234, false, t0, t1);
    m->crl = X509_CRL_new();
    X509_CRL_set_version(m->crl, 1);
    X509_CRL_set_issuer_name(m->crl, X509_get_subject_name(m->ca));
    ASN1_TIME *tu = ASN1_TIME_set(NULL, (time_t)T("2025-01-01T00:00:00Z"));
    ASN1_TIME *nu = ASN1_TIME_set(NULL, (time_t)T("2025-02-01T00:00:00Z"));
    X509_CRL_set1_lastUpdate(m->crl, tu);
    X509_CRL_set1_nextUpdate(m->crl, nu);
    X509_REVOKED *r = X509_REVOKED_new();
    ASN1_INTEGER *sn = ASN1_INTEGER_new();
    ASN1_INTEGER_set(sn, revoked_serial);
    X509_REVOKED_set_serialNumber(r, sn);
    X509_REVOKED_set_revocationDate(r, tu);
    X509_CRL_add0_revoked(m->crl, r);
    X509_CRL_sort(m->crl);
    X509_CRL_sign(m->crl, m->ca_key, EVP_sha256());
    ASN1_INTEGER_free(sn);
    ASN1_TIME_free(tu);
    ASN1_TIME_free(nu);
}

static void mini_pki_free(struct mini_pki *m) {
    X509_CRL_free(m->crl);
    X509_free(m->leaf);
    X509_free(m->ca);
    EVP_PKEY_free(m->leaf_key);
    EVP_PKEY_free(m->ca_key);
}

/* Hands an OpenSSL object to the wrappers the way a caller would: through its DER. */
static sb_cert *wrap_x509(X509 *x) {
    unsigned char *der = NULL;
    int n = i2d_X509(x, &der);
    sb_cert *c = NULL;
    sb_error err = {0};
    CHECK_OK(sb_cert_from_der(der, (size_t)n, &c, &err), &err);
    OPENSSL_free(der);
    return c;
}
static sb_crl *wrap_crl(X509_CRL *x) {
    unsigned char *der = NULL;
    int n = i2d_X509_CRL(x, &der);
    sb_crl *c = NULL;
    sb_error err = {0};
    CHECK_OK(sb_crl_from_der(der, (size_t)n, &c, &err), &err);
    OPENSSL_free(der);
    return c;
}

TEST(crl_revokes_leaf) {
    struct mini_pki m, other;
    mini_pki_make(&m, 0x1234);
    mini_pki_make(&other, 0x9999);
    sb_cert *ca = wrap_x509(m.ca), *leaf = wrap_x509(m.leaf);
    sb_crl *crl = wrap_crl(m.crl), *crl_other_serial = wrap_crl(other.crl);
    sb_crl *crl_other_ca = crl_other_serial;
    sb_cert *other_ca = wrap_x509(other.ca);
    sb_error err = {0};
    int64_t at = T("2025-01-15T00:00:00Z");
    CHECK_OK(sb_x509_verify_chain(leaf, NULL, 0, &ca, 1, NULL, 0, at, 0, &err), &err);
    CHECK(sb_crl_revokes(crl, leaf));
    CHECK_OK(sb_crl_check_signed_by(crl, ca, &err), &err);
    CHECK_INT(sb_crl_check_signed_by(crl, other_ca, &err), SB_E_SIGNATURE);
    CHECK_INT(sb_x509_verify_chain(leaf, NULL, 0, &ca, 1, &crl, 1, at, SB_X509_CRL_LEAF, &err),
              SB_E_CHAIN);
    CHECK_CONTAINS(err.msg, "certificate revoked");
    CHECK_CONTAINS(err.msg, "CN=sealbox test leaf");
    /* a CRL from another CA (same subject name, other key) is not accepted as this CA's */
    CHECK(!sb_crl_revokes(crl_other_ca, leaf));
    CHECK_INT(
        sb_x509_verify_chain(leaf, NULL, 0, &ca, 1, &crl_other_ca, 1, at, SB_X509_CRL_LEAF, &err),
        SB_E_CHAIN);
    /* after the CRL's nextUpdate */
    CHECK_INT(sb_x509_verify_chain(leaf, NULL, 0, &ca, 1, &crl, 1, T("2025-03-01T00:00:00Z"),
                                   SB_X509_CRL_LEAF, &err),
              SB_E_CHAIN);
    CHECK_CONTAINS(err.msg, "CRL has expired");
    sb_cert_free(ca);
    sb_cert_free(leaf);
    sb_cert_free(other_ca);
    sb_crl_free(crl);
    sb_crl_free(crl_other_serial);
    mini_pki_free(&m);
    mini_pki_free(&other);
}

TEST(amd_vcek_chains_every_product) {
    /* Each VCEK of the corpus against its product's ASK/ARK (ASK first in every bundle), at a
     * time inside its validity and one after it ends; and against another product's root. */
    static const struct {
        const char *vcek, *chain, *inside, *after;
    } V[] = {
        {"snp/virtee-sev/vcek_milan.der", "snp/virtee-sev/cert_chain_milan.pem",
         "2025-06-01T00:00:00Z", "2030-04-04T00:00:00Z"},
        {"snp/virtee-sev/vcek_turin.der", "snp/virtee-sev/cert_chain_turin.pem",
         "2025-06-01T00:00:00Z", "2031-11-07T00:00:00Z"},
        {"snp/derived/trustee_e2e_evidence_vcek.der",
         "snp/amd-chains/trustee_genoa_ask_ark_asvk.pem", "2025-06-01T00:00:00Z",
         "2032-05-28T00:00:00Z"},
        {"snp/go-sev-guest/vcek.testcer", "snp/go-sev-guest/milan.testcer", "2022-09-24T01:00:00Z",
         "2029-09-25T00:00:00Z"},
    };
    if (!sb_test_evidence_dir()) return;
    sb_error err = {0};
    size_t tc = 0;
    sb_cert **turin = ev_bundle("snp/virtee-sev/cert_chain_turin.pem", &tc);
    for (size_t i = 0; i < SB_ARRAY_LEN(V); i++) {
        size_t cnt = 0;
        sb_cert **ch = ev_bundle(V[i].chain, &cnt);
        sb_cert *v = ev_cert(V[i].vcek);
        if (!ch || cnt < 2 || !v || !turin || tc < 2) {
            CHECK_MSG(false, "cannot load %s", V[i].vcek);
        } else {
            CHECK_OK(
                sb_x509_verify_chain(v, &ch[0], 1, &ch[1], 1, NULL, 0, T(V[i].inside), 0, &err),
                &err);
            CHECK_INT(
                sb_x509_verify_chain(v, &ch[0], 1, &ch[1], 1, NULL, 0, T(V[i].after), 0, &err),
                SB_E_CHAIN);
            CHECK_CONTAINS(err.msg, "expired");
            if (i != 1)
                CHECK_INT(sb_x509_verify_chain(v, &ch[0], 1, &turin[1], 1, NULL, 0, T(V[i].inside),
                                               0, &err),
                          SB_E_CHAIN);
            char *s = sb_cert_serial_hex(v);
            CHECK_STR(s, "00");
            free(s);
        }
        sb_certs_free(ch, cnt);
        sb_cert_free(v);
    }
    sb_certs_free(turin, tc);
}
