/* test_nvidia_rim: NVIDIA reference integrity manifests — the pinned CoRIM root, NVIDIA's own
 * RIMs from the corpus (a driver and a VBIOS RIM whose signatures hold, one edited after
 * signing, expired signers), their comparison with a real report's measurement blocks, RIMs
 * this test signs itself (canonical XML written by hand, a generated P-384 chain) for the
 * matching and mismatching cases, and the parser's refusals (DOCTYPE, algorithms, shapes). */
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "crypto/crypto.h"
#include "evidence/evidence.h"
#include "harness.h"
#include "verify/verify.h"

#define RIMS "nvidia/attestation-sdk/rims/"
#define DRV550 RIMS "NV_GPU_DRIVER_GH100_550.144.03.xml"
#define DRV535_EDITED RIMS "NV_GPU_DRIVER_GH100_535.86.09_measurement_mismatch.xml"
#define DRV570_EXPIRED RIMS "NV_GPU_DRIVER_GH100_570.124.03_expired.xml"
#define VBIOS RIMS "NV_GPU_VBIOS_1010_0200_882_96005E0001_measurement_mismatch.xml"
#define G1 "nvidia/nvtrust/hopperAttestationReport.txt" /* driver 550.90.07 */
#define G1_CHAIN "nvidia/nvtrust/hopperCertChain.txt"

#define NS_SWID "http://standards.iso.org/iso/19770/-2/2015/schema.xsd"
#define NS_DSIG "http://www.w3.org/2000/09/xmldsig#"
#define NS_H384 "http://www.w3.org/2001/04/xmlenc#sha384"

static int64_t T(const char *s) {
    int64_t t = 0;
    sb_error err = {0};
    CHECK_OK(sb_time_parse(s, &t, &err), &err);
    return t;
}

static sb_cert *rim_root(void) {
    sb_cert *c = NULL;
    sb_error err = {0};
    CHECK_OK(sb_cert_from_pem((const uint8_t *)sb_nvidia_rim_root_pem,
                              strlen(sb_nvidia_rim_root_pem), &c, &err),
             &err);
    return c;
}

static int load(const char *rel, int64_t at, sb_nv_rim **out, sb_error *err) {
    size_t n = 0;
    uint8_t *p = sb_test_read_evidence(rel, &n);
    sb_cert *root = rim_root();
    int rc = sb_nv_rim_load(p, n, &root, 1, at, out, err);
    sb_cert_free(root);
    free(p);
    return rc;
}

static sb_spdm_report *g1_report(uint8_t **bytes) {
    size_t len = 0, n = 0;
    uint8_t *hex = sb_test_read_evidence(G1, &len);
    sb_error err = {0};
    CHECK_OK(sb_spdm_from_hex(hex, len, bytes, &n, &err), &err);
    free(hex);
    sb_spdm_report *r = calloc(1, sizeof(*r));
    CHECK_OK(sb_spdm_parse(*bytes, n, 96, &err, r), &err);
    return r;
}

TEST(rim_root_is_pinned) {
    sb_cert *c = rim_root();
    uint8_t fp[32];
    sb_error err = {0};
    CHECK_OK(sb_cert_fingerprint(c, SB_HASH_SHA256, fp, &err), &err);
    CHECK_MEM(fp, sb_nvidia_rim_root_sha256, 32);
    char *s = sb_cert_subject(c);
    CHECK_CONTAINS(s, "NVIDIA CoRIM signing Root CA");
    free(s);
    sb_cert_free(c);
}

TEST(nvidia_driver_rim_verifies) {
    if (!sb_test_evidence_dir()) return;
    sb_nv_rim *r = NULL;
    sb_error err = {0};
    CHECK_OK(load(DRV550, T("2025-06-01T00:00:00Z"), &r, &err), &err);
    CHECK_STR(sb_nv_rim_version(r), "550.144.03");
    CHECK_STR(sb_nv_rim_product(r), "GH100");
    CHECK_CONTAINS(sb_nv_rim_signer(r), "HCC RIM L4 Signer");
    CHECK_INT(sb_nv_rim_measurements(r), 21); /* index 7 and 21..40 are active */
    int64_t nb = 0, na = 0;
    sb_nv_rim_window(r, &nb, &na);
    CHECK(nb == T("2024-12-30T16:56:50Z") && na == T("2026-12-30T16:56:50Z"));
    sb_nv_rim_free(r);
    /* the signer expires at the end of 2026: later, the chain fails */
    CHECK_INT(load(DRV550, T("2027-01-01T00:00:00Z"), &r, &err), SB_E_CHAIN);
    CHECK_CONTAINS(err.msg, "expired");
}

TEST(nvidia_vbios_rim_verifies_inside_its_window) {
    if (!sb_test_evidence_dir()) return;
    sb_nv_rim *r = NULL;
    sb_error err = {0};
    CHECK_OK(load(VBIOS, T("2024-06-01T00:00:00Z"), &r, &err), &err);
    CHECK_STR(sb_nv_rim_version(r), "96.00.5E.00.01");
    CHECK_INT(sb_nv_rim_measurements(r), 12);
    sb_nv_rim_free(r);
    CHECK_INT(load(VBIOS, T("2026-01-01T00:00:00Z"), &r, &err), SB_E_CHAIN);
}

TEST(nvidia_negative_rims) {
    if (!sb_test_evidence_dir()) return;
    sb_nv_rim *r = NULL;
    sb_error err = {0};
    /* measurements edited after signing: the reference digest no longer holds */
    CHECK_INT(load(DRV535_EDITED, T("2025-06-01T00:00:00Z"), &r, &err), SB_E_SIGNATURE);
    CHECK_CONTAINS(err.msg, "changed after signing");
    /* a signer valid for one day in January 2025 */
    CHECK_INT(load(DRV570_EXPIRED, T("2025-06-01T00:00:00Z"), &r, &err), SB_E_CHAIN);
    CHECK_CONTAINS(err.msg, "expired");
}

/* NVIDIA's 550.144.03 driver RIM against a real 550.90.07 report: 16 of its 21 active
 * references equal the report's block index+1 (what did not change between the releases);
 * blocks 8, 23, 32, 40 and 41 do not. A shifted index mapping would match almost none. */
TEST(nvidia_rim_compare_with_a_real_report) {
    if (!sb_test_evidence_dir()) return;
    sb_nv_rim *r = NULL;
    sb_error err = {0};
    CHECK_OK(load(DRV550, T("2025-06-01T00:00:00Z"), &r, &err), &err);
    uint8_t *bytes = NULL;
    sb_spdm_report *rep = g1_report(&bytes);
    char why[256];
    size_t bad = 0;
    CHECK_INT(sb_nv_rim_compare(r, rep, why, sizeof(why), &bad), SB_E_POLICY);
    CHECK_INT(bad, 5);
    CHECK_STR(why, "block8 matches no reference value, block23 matches no reference value, "
                   "block32 matches no reference value, block40 matches no reference value, …");
    free(rep);
    free(bytes);
    sb_nv_rim_free(r);
}

/* ---- RIMs signed here --------------------------------------------------------------------- */

static X509 *mk_cert(X509 *issuer, EVP_PKEY *issuer_key, EVP_PKEY *key, const char *cn, bool ca) {
    X509 *x = X509_new();
    X509_set_version(x, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(x), ca ? 1 : 2);
    X509_NAME *nm = X509_get_subject_name(x);
    X509_NAME_add_entry_by_txt(nm, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1, 0);
    X509_set_issuer_name(x, issuer ? X509_get_subject_name(issuer) : nm);
    ASN1_TIME_set(X509_getm_notBefore(x), (time_t)T("2024-01-01T00:00:00Z"));
    ASN1_TIME_set(X509_getm_notAfter(x), (time_t)T("2030-01-01T00:00:00Z"));
    X509_set_pubkey(x, key);
    X509V3_CTX v3;
    X509V3_set_ctx(&v3, issuer ? issuer : x, x, NULL, NULL, 0);
    X509_EXTENSION *e =
        X509V3_EXT_conf_nid(NULL, &v3, NID_basic_constraints, ca ? "critical,CA:TRUE" : "CA:FALSE");
    X509_add_ext(x, e, -1);
    X509_EXTENSION_free(e);
    X509_sign(x, issuer_key, EVP_sha384());
    return x;
}

struct pki {
    EVP_PKEY *ca_key, *leaf_key;
    X509 *ca, *leaf;
    sb_cert *root;
    sb_privkey *signer;
    char *leaf_b64;
};

static void pki_make(struct pki *k) {
    k->ca_key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384");
    k->leaf_key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384");
    k->ca = mk_cert(NULL, k->ca_key, k->ca_key, "sealbox test RIM root", true);
    k->leaf = mk_cert(k->ca, k->ca_key, k->leaf_key, "sealbox test RIM signer", false);
    unsigned char *der = NULL;
    int n = i2d_X509(k->ca, &der);
    sb_error err = {0};
    CHECK_OK(sb_cert_from_der(der, (size_t)n, &k->root, &err), &err);
    OPENSSL_free(der);
    der = NULL;
    n = i2d_X509(k->leaf, &der);
    k->leaf_b64 = sb_base64_encode(der, (size_t)n);
    OPENSSL_free(der);
    BIO *b = BIO_new(BIO_s_mem());
    PEM_write_bio_PrivateKey(b, k->leaf_key, NULL, NULL, 0, NULL, NULL);
    char *pem = NULL;
    long pl = BIO_get_mem_data(b, &pem);
    CHECK_OK(sb_privkey_from_pem((const uint8_t *)pem, (size_t)pl, &k->signer, &err), &err);
    BIO_free(b);
}

static void pki_free(struct pki *k) {
    X509_free(k->ca);
    X509_free(k->leaf);
    EVP_PKEY_free(k->ca_key);
    EVP_PKEY_free(k->leaf_key);
    sb_cert_free(k->root);
    sb_privkey_free(k->signer);
    free(k->leaf_b64);
}

/* A small buffer of text. */
struct sbuf {
    char *p;
    size_t n;
};
static void put(struct sbuf *b, const char *s) {
    size_t l = strlen(s);
    b->p = realloc(b->p, b->n + l + 1);
    memcpy(b->p + b->n, s, l + 1);
    b->n += l;
}

/* The signed RIM: the body is written in its C14N 1.1 form already (namespace declarations
 * first, attributes sorted, no empty-element tags), so the digest is over exactly these bytes
 * without the Signature; SignedInfo's canonical form carries the namespaces in scope. `edit`
 * (when set) replaces the first byte of the payload's first hash after signing. */
static char *signed_rim(struct pki *k, const char *version, const sb_spdm_report *rep, size_t first,
                        size_t n_blocks, bool edit, const char *doctype) {
    struct sbuf body = {0};
    put(&body, "<SoftwareIdentity xmlns=\"" NS_SWID "\" xmlns:ns2=\"" NS_H384
               "\" name=\"GH100\" tagId=\"sealbox-test\" version=\"1.0\"><Meta "
               "colloquialVersion=\"");
    put(&body, version);
    put(&body, "\" product=\"GH100\"></Meta><Payload>");
    for (size_t i = first; i < first + n_blocks; i++) {
        const sb_spdm_block *b = &rep->blocks[i];
        char *hex = malloc(b->value_len * 2 + 1), head[200];
        sb_hex_encode(b->value, b->value_len, hex);
        /* two alternatives: a decoy first, the real value second */
        snprintf(head, sizeof(head),
                 "<Resource active=\"True\" alternatives=\"2\" index=\"%u\" size=\"%zu\" "
                 "type=\"Measurement\" ns2:Hash0=\"",
                 b->index - 1, b->value_len);
        put(&body, head);
        for (size_t j = 0; j < b->value_len * 2; j++)
            put(&body, "a");
        put(&body, "\" ns2:Hash1=\"");
        put(&body, hex);
        put(&body, "\"></Resource>");
        free(hex);
    }
    put(&body, "<Resource active=\"False\" alternatives=\"1\" index=\"200\" size=\"48\" "
               "type=\"Measurement\"></Resource></Payload>");
    struct sbuf whole = {0};
    put(&whole, body.p);
    put(&whole, "</SoftwareIdentity>");
    uint8_t md[48];
    sb_error err = {0};
    CHECK_OK(sb_hash(SB_HASH_SHA384, whole.p, whole.n, md, &err), &err);
    char *md64 = sb_base64_encode(md, 48);
    struct sbuf si = {0};
    put(&si,
        "<ds:SignedInfo><ds:CanonicalizationMethod "
        "Algorithm=\"http://www.w3.org/2006/12/xml-c14n11\"></ds:CanonicalizationMethod>"
        "<ds:SignatureMethod Algorithm=\"http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha384\">"
        "</ds:SignatureMethod><ds:Reference URI=\"\"><ds:Transforms><ds:Transform "
        "Algorithm=\"http://www.w3.org/2000/09/xmldsig#enveloped-signature\"></ds:Transform>"
        "<ds:Transform Algorithm=\"http://www.w3.org/2006/12/xml-c14n11\"></ds:Transform>"
        "</ds:Transforms><ds:DigestMethod "
        "Algorithm=\"http://www.w3.org/2001/04/xmldsig-more#sha384\"></ds:DigestMethod>"
        "<ds:DigestValue>");
    put(&si, md64);
    put(&si, "</ds:DigestValue></ds:Reference></ds:SignedInfo>");
    /* what is signed: SignedInfo with every namespace in scope declared on it */
    struct sbuf canon = {0};
    put(&canon,
        "<ds:SignedInfo xmlns=\"" NS_SWID "\" xmlns:ds=\"" NS_DSIG "\" xmlns:ns2=\"" NS_H384 "\">");
    put(&canon, si.p + strlen("<ds:SignedInfo>"));
    uint8_t *sig = NULL;
    size_t sl = 0;
    CHECK_OK(sb_sign(k->signer, SB_HASH_SHA384, canon.p, canon.n, SB_ECDSA_RAW_BE, &sig, &sl, &err),
             &err);
    char *sig64 = sb_base64_encode(sig, sl);
    struct sbuf out = {0};
    if (doctype) put(&out, doctype);
    put(&out, body.p);
    put(&out, "<ds:Signature xmlns:ds=\"" NS_DSIG "\">");
    put(&out, si.p);
    put(&out, "<ds:SignatureValue>");
    put(&out, sig64);
    put(&out, "</ds:SignatureValue><ds:KeyInfo><ds:X509Data><ds:X509Certificate>");
    put(&out, k->leaf_b64);
    put(&out, "</ds:X509Certificate></ds:X509Data></ds:KeyInfo></ds:Signature></SoftwareIdentity>");
    if (edit) {
        char *h = strstr(out.p, "ns2:Hash1=\"");
        h[strlen("ns2:Hash1=\"")] ^= 1; /* a hex digit becomes another one */
    }
    free(body.p);
    free(whole.p);
    free(md64);
    free(si.p);
    free(canon.p);
    free(sig);
    free(sig64);
    return out.p;
}

static int load_text(struct pki *k, const char *xml, sb_nv_rim **r, sb_error *err) {
    return sb_nv_rim_load((const uint8_t *)xml, strlen(xml), &k->root, 1, T("2025-06-01T00:00:00Z"),
                          r, err);
}

TEST(rim_signed_here_matches_the_report) {
    if (!sb_test_evidence_dir()) return;
    struct pki k = {0};
    pki_make(&k);
    uint8_t *bytes = NULL;
    sb_spdm_report *rep = g1_report(&bytes);
    char *xml = signed_rim(&k, "550.90.07", rep, 0, rep->n_blocks, false, NULL);
    sb_nv_rim *r = NULL;
    sb_error err = {0};
    CHECK_OK(load_text(&k, xml, &r, &err), &err);
    CHECK_INT(sb_nv_rim_measurements(r), rep->n_blocks); /* the inactive one is not counted */
    char why[256];
    size_t bad = 99;
    CHECK_INT(sb_nv_rim_compare(r, rep, why, sizeof(why), &bad), 0);
    CHECK_INT(bad, 0);
    /* one block of the report changed: exactly that one is named */
    uint8_t *v = (uint8_t *)rep->blocks[5].value;
    v[0] ^= 0xff;
    CHECK_INT(sb_nv_rim_compare(r, rep, why, sizeof(why), &bad), SB_E_POLICY);
    CHECK_INT(bad, 1);
    char want[64];
    snprintf(want, sizeof(want), "block%u matches no reference value", rep->blocks[5].index);
    CHECK_STR(why, want);
    v[0] ^= 0xff;
    /* a block the RIM names is missing from the report */
    rep->n_blocks--;
    CHECK_INT(sb_nv_rim_compare(r, rep, why, sizeof(why), &bad), SB_E_POLICY);
    CHECK_CONTAINS(why, "is missing");
    rep->n_blocks++;
    sb_nv_rim_free(r);
    /* the same manifest is not trusted under NVIDIA's pinned root */
    sb_cert *nv = rim_root();
    CHECK_INT(sb_nv_rim_load((const uint8_t *)xml, strlen(xml), &nv, 1, T("2025-06-01T00:00:00Z"),
                             &r, &err),
              SB_E_CHAIN);
    sb_cert_free(nv);
    free(xml);
    /* edited after signing */
    xml = signed_rim(&k, "550.90.07", rep, 0, rep->n_blocks, true, NULL);
    CHECK_INT(load_text(&k, xml, &r, &err), SB_E_SIGNATURE);
    CHECK_CONTAINS(err.msg, "changed after signing");
    free(xml);
    /* a DOCTYPE (entities) is refused before anything else */
    xml = signed_rim(&k, "550.90.07", rep, 0, 2, false,
                     "<!DOCTYPE SoftwareIdentity [<!ENTITY x \"y\">]>");
    CHECK_INT(load_text(&k, xml, &r, &err), SB_E_UNSUPPORTED);
    CHECK_CONTAINS(err.msg, "DOCTYPE");
    free(xml);
    free(rep);
    free(bytes);
    pki_free(&k);
}

/* The whole path through the verifier: the report, its chain and a RIM signed here are
 * refused under the pinned root (exit 2); NVIDIA's own RIM of another driver release is a
 * policy refusal naming the version. */
TEST(verifier_with_rims) {
    if (!sb_test_evidence_dir()) return;
    size_t n0 = 0, n1 = 0, n2 = 0;
    uint8_t *rep = sb_test_read_evidence(G1, &n0), *chain = sb_test_read_evidence(G1_CHAIN, &n1),
            *rim = sb_test_read_evidence(DRV550, &n2);
    struct sb_blob ev[3] = {{"report", rep, n0}, {"chain", chain, n1}, {"rim", rim, n2}};
    struct sb_verify_opts o = {.at = T("2025-06-01T00:00:00Z")};
    json_t *claims = NULL;
    sb_error err = {0};
    CHECK_INT(sb_verifier_nvidia.verify(&o, ev, 3, &claims, &err), SB_E_POLICY);
    CHECK_CONTAINS(err.msg, "version 550.144.03");
    CHECK_CONTAINS(err.msg, "neither the driver nor the VBIOS");
    /* without the RIM: authenticated, the RIMs unchecked and said so */
    CHECK_OK(sb_verifier_nvidia.verify(&o, ev, 2, &claims, &err), &err);
    CHECK_STR(json_string_value(json_object_get(json_object_get(claims, "platform_claims"), "rim")),
              "unchecked");
    json_decref(claims);
    /* an edited RIM cannot be authenticated: the whole verification fails */
    size_t n3 = 0;
    uint8_t *bad = sb_test_read_evidence(DRV535_EDITED, &n3);
    ev[2] = (struct sb_blob){"rim", bad, n3};
    CHECK_INT(sb_verifier_nvidia.verify(&o, ev, 3, &claims, &err), SB_E_SIGNATURE);
    free(bad);
    free(rep);
    free(chain);
    free(rim);
}

TEST(rim_malformed_inputs) {
    struct pki k = {0};
    pki_make(&k);
    sb_nv_rim *r = NULL;
    sb_error err = {0};
    CHECK_INT(load_text(&k, "", &r, &err), SB_E_TRUNCATED);
    CHECK_INT(load_text(&k, "<SoftwareIdentity", &r, &err), SB_E_MALFORMED);
    CHECK_CONTAINS(err.msg, "not well-formed XML");
    CHECK_INT(load_text(&k, "<x xmlns=\"" NS_SWID "\"></x>", &r, &err), SB_E_MALFORMED);
    CHECK_CONTAINS(err.msg, "SoftwareIdentity");
    CHECK_INT(
        load_text(&k, "<SoftwareIdentity xmlns=\"" NS_SWID "\"></SoftwareIdentity>", &r, &err),
        SB_E_MALFORMED);
    CHECK_CONTAINS(err.msg, "no Signature element");
    /* an algorithm we do not check is refused by name */
    CHECK_INT(load_text(&k,
                        "<SoftwareIdentity xmlns=\"" NS_SWID "\"><ds:Signature xmlns:ds=\"" NS_DSIG
                        "\"><ds:SignedInfo><ds:CanonicalizationMethod "
                        "Algorithm=\"http://www.w3.org/2001/10/xml-exc-c14n#\"/></ds:SignedInfo>"
                        "</ds:Signature></SoftwareIdentity>",
                        &r, &err),
              SB_E_UNSUPPORTED);
    CHECK_CONTAINS(err.msg, "xml-exc-c14n");
    /* too deep */
    struct sbuf deep = {0};
    put(&deep, "<SoftwareIdentity xmlns=\"" NS_SWID "\">");
    for (int i = 0; i < 40; i++)
        put(&deep, "<a>");
    for (int i = 0; i < 40; i++)
        put(&deep, "</a>");
    put(&deep, "</SoftwareIdentity>");
    CHECK_INT(load_text(&k, deep.p, &r, &err), SB_E_LIMIT);
    free(deep.p);
    pki_free(&k);
}

/* The claims of a verification with RIMs that chain to a root set on the context: a driver RIM
 * alone is "partial" (and says which kind is missing), a driver and a VBIOS RIM together are
 * "matched" with both recorded as collateral, and a RIM whose reference differs from one block
 * is a policy refusal naming the RIM, the count and the block. */
TEST(verifier_claims_with_matching_rims) {
    if (!sb_test_evidence_dir()) return;
    struct pki k = {0};
    pki_make(&k);
    uint8_t *bytes = NULL;
    sb_spdm_report *rep = g1_report(&bytes);
    size_t half = rep->n_blocks / 2;
    char *drv = signed_rim(&k, "550.90.07", rep, 0, half, false, NULL);
    char *vb = signed_rim(&k, "96.00.9F.00.01", rep, half, rep->n_blocks - half, false, NULL);
    uint8_t *v = (uint8_t *)rep->blocks[3].value;
    v[7] ^= 0x10;
    char *wrong = signed_rim(&k, "550.90.07", rep, 0, half, false, NULL);
    v[7] ^= 0x10;
    size_t n0 = 0, n1 = 0;
    uint8_t *hex = sb_test_read_evidence(G1, &n0), *chain = sb_test_read_evidence(G1_CHAIN, &n1);
    struct sb_blob ev[4] = {{"report", hex, n0},
                            {"chain", chain, n1},
                            {"driver.xml", (const uint8_t *)drv, strlen(drv)},
                            {"vbios.xml", (const uint8_t *)vb, strlen(vb)}};
    struct sb_verify_opts o = {.at = T("2025-06-01T00:00:00Z")};
    sb_nvidia_ctx *c = NULL;
    sb_error err = {0};
    CHECK_OK(sb_nvidia_ctx_new(&c, &err), &err);
    CHECK_OK(sb_nvidia_ctx_set_rim_root(c, k.root, &err), &err);
    json_t *cl = NULL;
    CHECK_OK(sb_nvidia_verify(c, &o, ev, 3, &cl, &err), &err);
    json_t *pc = json_object_get(cl, "platform_claims");
    CHECK_STR(json_string_value(json_object_get(pc, "rim")), "partial");
    CHECK_STR(json_string_value(json_object_get(pc, "rim_driver")), "550.90.07");
    char *dump = json_dumps(json_object_get(cl, "warnings"), 0);
    CHECK_CONTAINS(dump, "no VBIOS RIM was given");
    free(dump);
    json_decref(cl);
    CHECK_OK(sb_nvidia_verify(c, &o, ev, 4, &cl, &err), &err);
    pc = json_object_get(cl, "platform_claims");
    CHECK_STR(json_string_value(json_object_get(pc, "rim")), "matched");
    CHECK_STR(json_string_value(json_object_get(pc, "rim_vbios")), "96.00.9F.00.01");
    dump = json_dumps(json_object_get(cl, "warnings"), 0);
    CHECK(!strstr(dump, "RIM"));
    CHECK_CONTAINS(dump, "OCSP"); /* still unchecked offline */
    free(dump);
    dump = json_dumps(json_object_get(cl, "collateral"), 0);
    CHECK_CONTAINS(dump, "RIM GH100 550.90.07");
    CHECK_CONTAINS(dump, "RIM GH100 96.00.9F.00.01");
    free(dump);
    json_decref(cl);
    ev[2].data = (const uint8_t *)wrong;
    ev[2].len = strlen(wrong);
    CHECK_INT(sb_nvidia_verify(c, &o, ev, 4, &cl, &err), SB_E_POLICY);
    char want[160];
    snprintf(want, sizeof(want),
             "1 of the %zu reference measurements of the driver RIM 550.90.07 differ: block%u "
             "matches no reference value",
             half, rep->blocks[3].index);
    CHECK_CONTAINS(err.msg, want);
    sb_nvidia_ctx_free(c);
    free(hex);
    free(chain);
    free(drv);
    free(vb);
    free(wrong);
    free(rep);
    free(bytes);
    pki_free(&k);
}
