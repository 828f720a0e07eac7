/* fuzz_x509: the crypto module's parsers of untrusted bytes — certificates (DER, PEM,
 * bundles), CRLs, SubjectPublicKeyInfo and public-key PEM — each fed the whole input, and
 * every accessor and check run on whatever parses. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/crypto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static volatile size_t sink;

static void touch_cert(const sb_cert *c) {
    sb_error err = {0};
    char *s = sb_cert_subject(c), *i = sb_cert_issuer(c), *sn = sb_cert_serial_hex(c);
    sink = (s ? strlen(s) : 0) + (i ? strlen(i) : 0) + (sn ? strlen(sn) : 0);
    free(s);
    free(i);
    free(sn);
    sink += (size_t)(sb_cert_not_before(c) ^ sb_cert_not_after(c));
    static const char *OIDS[] = {"1.3.6.1.4.1.3704.1.3.1", "1.3.6.1.4.1.3704.1.4",
                                 "1.2.840.113741.1.13.1", "2.5.29.19", "2.23.133.5.4.1"};
    for (size_t k = 0; k < sizeof(OIDS) / sizeof(OIDS[0]); k++) {
        const uint8_t *p;
        size_t n;
        if (sb_cert_ext(c, OIDS[k], &p, &n, &err) == 0 && n) sink += p[0] + p[n - 1];
    }
    uint8_t fp[SB_HASH_MAX_LEN];
    if (sb_cert_fingerprint(c, SB_HASH_SHA384, fp, &err) == 0) sink += fp[0];
    sb_pubkey *k = NULL;
    if (sb_cert_pubkey(c, &k, &err) == 0) {
        sink += sb_pubkey_bits(k);
        json_t *j = NULL;
        if (sb_pubkey_to_jwk(k, &j, &err) == 0) json_decref(j);
        sb_pubkey_free(k);
    }
    /* self-signature and a one-certificate chain at a fixed time */
    sink += (size_t)(sb_cert_check_signed_by(c, c, &err) + 100);
    sb_cert *const roots[1] = {(sb_cert *)c};
    sink +=
        (size_t)(sb_x509_verify_chain(c, NULL, 0, roots, 1, NULL, 0, 1748736000, 0, &err) + 100);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    sb_error err = {0};
    sb_cert *c = NULL;
    if (sb_cert_load(data, size, &c, &err) == 0) {
        touch_cert(c);
        sb_cert_free(c);
    }
    sb_cert **v = NULL;
    size_t cnt = 0;
    if (sb_certs_from_pem(data, size, 8, &v, &cnt, &err) == 0) {
        for (size_t i = 0; i < cnt; i++)
            touch_cert(v[i]);
        if (cnt > 1) {
            sb_error e2 = {0};
            sink += (size_t)(sb_x509_verify_chain(v[0], v + 1, cnt - 1, v + cnt - 1, 1, NULL, 0,
                                                  1748736000, SB_X509_PARTIAL_CHAIN, &e2) +
                             100);
        }
        sb_certs_free(v, cnt);
    }
    sb_crl *crl = NULL;
    if (sb_crl_load(data, size, &crl, &err) == 0) {
        sink += (size_t)(sb_crl_this_update(crl) ^ sb_crl_next_update(crl));
        sb_crl_free(crl);
    }
    sb_pubkey *k = NULL;
    if (sb_pubkey_from_spki_der(data, size, &k, &err) == 0) {
        char *tp = NULL;
        if (sb_jwk_thumbprint(k, &tp, &err) == 0) free(tp);
        sb_pubkey_free(k);
    }
    if (sb_pubkey_from_pem(data, size, &k, &err) == 0) sb_pubkey_free(k);
    return 0;
}
