/* tls: server-side TLS configuration for sealboxd's HTTP listener — certificate chain and key
 * from PEM files, TLS 1.2 or later, no renegotiation. The record layer is OpenSSL's own. */
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "internal.h"

struct sb_tls_server {
    SSL_CTX *ctx;
};

int sb_tls_server_new(const char *cert_chain_file, const char *key_file, sb_tls_server **out,
                      sb_error *err) {
    ENSURE(cert_chain_file && key_file, err, SB_E_USAGE, "tls: a certificate and a key are needed");
    SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
    if (!ctx) return sb_ossl_err(err, SB_E_INTERNAL, "tls: cannot create a context");
    int r = 0;
    if (SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) != 1)
        r = sb_ossl_err(err, SB_E_INTERNAL, "tls: cannot set the minimum version");
    if (r == 0) {
        (void)SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE |
                                           SSL_OP_NO_COMPRESSION);
        (void)SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
    }
    if (r == 0 && SSL_CTX_use_certificate_chain_file(ctx, cert_chain_file) != 1)
        r = sb_ossl_err(err, SB_E_IO, "tls: %s: cannot load the certificate chain",
                        cert_chain_file);
    if (r == 0 && SSL_CTX_use_PrivateKey_file(ctx, key_file, SSL_FILETYPE_PEM) != 1) {
        /* OpenSSL compares the key with the certificate while loading it. */
        if (ERR_GET_REASON(ERR_peek_last_error()) == X509_R_KEY_VALUES_MISMATCH)
            r = sb_ossl_err(err, SB_E_POLICY, "tls: %s does not match the certificate in %s",
                            key_file, cert_chain_file);
        else
            r = sb_ossl_err(err, SB_E_IO, "tls: %s: cannot load the private key", key_file);
    }
    if (r == 0 && SSL_CTX_check_private_key(ctx) != 1)
        r = sb_ossl_err(err, SB_E_POLICY, "tls: %s does not match the certificate in %s", key_file,
                        cert_chain_file);
    sb_tls_server *s = r == 0 ? calloc(1, sizeof(*s)) : NULL;
    if (r == 0 && !s) r = sb_error_set(err, SB_E_INTERNAL, "tls: out of memory");
    if (r < 0) {
        SSL_CTX_free(ctx);
        return r;
    }
    s->ctx = ctx;
    *out = s;
    return 0;
}

void *sb_tls_server_session(sb_tls_server *s) { return s ? SSL_new(s->ctx) : NULL; }

void sb_tls_session_free(void *ssl) { SSL_free(ssl); }

void sb_tls_server_free(sb_tls_server *s) {
    if (!s) return;
    SSL_CTX_free(s->ctx);
    free(s);
}
