/* crl_info: descriptive accessors for CRLs (the issuer name), used to key collateral caches. */
#include <openssl/bio.h>
#include <openssl/x509.h>
#include <string.h>

#include "internal.h"

char *sb_crl_issuer(const sb_crl *c) {
    if (!c) return NULL;
    const X509_NAME *nm = X509_CRL_get_issuer(c->c);
    BIO *b = BIO_new(BIO_s_mem());
    if (!b) return NULL;
    char *out = NULL;
    if (X509_NAME_print_ex(b, nm, 0, XN_FLAG_RFC2253) >= 0) {
        char *p = NULL;
        long n = BIO_get_mem_data(b, &p);
        if (n >= 0 && (out = malloc((size_t)n + 1))) {
            memcpy(out, p, (size_t)n);
            out[n] = 0;
        }
    }
    BIO_free(b);
    return out;
}
