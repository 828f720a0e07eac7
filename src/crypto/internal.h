/* crypto internal: the wrapper structs around OpenSSL objects and the helpers every
 * crypto source file shares (OpenSSL error text, digest lookup, size limits). */
#ifndef SB_CRYPTO_INTERNAL_H
#define SB_CRYPTO_INTERNAL_H

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "crypto.h"

struct sb_pubkey {
    EVP_PKEY *pk;
};
struct sb_privkey {
    EVP_PKEY *pk;
};
struct sb_cert {
    X509 *x;
    uint8_t *der; /* the certificate's DER encoding, owned */
    size_t derlen;
};
struct sb_crl {
    X509_CRL *c;
};

/* Limits on what we hand to OpenSSL's parsers. */
#define SB_X509_DER_MAX (256u * 1024u)       /* one certificate or CRL (DER) */
#define SB_X509_PEM_MAX (4u * 1024u * 1024u) /* a PEM bundle or CRL */
#define SB_KEY_DER_MAX (16u * 1024u)         /* an SPKI or private key */
#define SB_RSA_MIN_BITS 2048
#define SB_RSA_MAX_BITS 8192
#define SB_ECDSA_FIELD_MAX 128 /* one raw r or s field (AMD uses 72 for P-384) */

/* Records code and "msg (openssl: <reason>)" in err, then clears OpenSSL's error queue so
 * no stale error leaks into the next call. Returns code. */
int sb_ossl_err(sb_error *err, int code, const char *fmt, ...) SB_PRINTF(3, 4);
/* The EVP_MD for h, or NULL for an out-of-range value. */
const EVP_MD *sb_evp_md(enum sb_hash h);
/* Wraps pk (taking ownership) after checking it is a type/curve we support. */
int sb_pubkey_wrap(EVP_PKEY *pk, sb_pubkey **out, sb_error *err);
/* The sb_curve of an EC key, or -1. */
int sb_evp_curve(const EVP_PKEY *pk);
/* The OpenSSL group name of c ("P-256", ...), NULL when out of range. */
const char *sb_curve_group(enum sb_curve c);
enum sb_key_type sb_evp_key_type(const EVP_PKEY *pk);

#endif
