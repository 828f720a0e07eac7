/* x509: certificates and CRLs (DER, PEM, bundles), their accessors, raw extension lookup by
 * dotted OID, and chain verification at an explicit time with optional CRLs. */
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <string.h>
#include <time.h>

#include "internal.h"

#define SB_X509_CHAIN_MAX 16 /* intermediates, roots and CRLs accepted per verification */
#define SB_X509_DEPTH_MAX 10 /* longest chain we build (vendor chains have 3..5 links) */

static int cert_wrap(X509 *x, sb_cert **out, sb_error *err) {
    sb_cert *c = calloc(1, sizeof(*c));
    unsigned char *der = NULL;
    int len = i2d_X509(x, &der);
    if (!c || len <= 0 || !(c->der = malloc((size_t)len))) {
        free(c);
        OPENSSL_free(der);
        X509_free(x);
        return sb_ossl_err(err, SB_E_INTERNAL, "x509: out of memory");
    }
    memcpy(c->der, der, (size_t)len);
    OPENSSL_free(der);
    c->derlen = (size_t)len;
    c->x = x;
    *out = c;
    return 0;
}

/* Index of the first byte that is not ASCII whitespace. */
static size_t skip_ws(const uint8_t *p, size_t n) {
    size_t i = 0;
    while (i < n && (p[i] == ' ' || p[i] == '\t' || p[i] == '\r' || p[i] == '\n'))
        i++;
    return i;
}

int sb_cert_from_der(const uint8_t *p, size_t n, sb_cert **out, sb_error *err) {
    ENSURE(p && n > 0, err, SB_E_MALFORMED, "x509: empty certificate");
    ENSURE(n <= SB_X509_DER_MAX, err, SB_E_LIMIT,
           "x509: certificate of %zu bytes is over the limit of %u", n, SB_X509_DER_MAX);
    const unsigned char *q = p;
    X509 *x = d2i_X509(NULL, &q, (long)n);
    if (!x) return sb_ossl_err(err, SB_E_MALFORMED, "x509: DER certificate does not parse");
    if ((size_t)(q - p) != n) {
        X509_free(x);
        BAIL(err, SB_E_MALFORMED, "x509: %zu trailing bytes after the DER certificate",
             n - (size_t)(q - p));
    }
    return cert_wrap(x, out, err);
}

static BIO *pem_bio(const uint8_t *p, size_t n, const char *what, sb_error *err) {
    if (!p || n == 0) {
        (void)sb_error_set(err, SB_E_MALFORMED, "%s: empty PEM input", what);
        return NULL;
    }
    if (n > SB_X509_PEM_MAX) {
        (void)sb_error_set(err, SB_E_LIMIT, "%s: PEM input of %zu bytes is over the limit of %u",
                           what, n, SB_X509_PEM_MAX);
        return NULL;
    }
    BIO *b = BIO_new_mem_buf(p, (int)n);
    if (!b) (void)sb_ossl_err(err, SB_E_INTERNAL, "%s: out of memory", what);
    return b;
}

int sb_cert_from_pem(const uint8_t *p, size_t n, sb_cert **out, sb_error *err) {
    BIO *b = pem_bio(p, n, "x509", err);
    if (!b) return err ? err->code : SB_E_MALFORMED;
    X509 *x = PEM_read_bio_X509(b, NULL, NULL, NULL);
    BIO_free(b);
    if (!x) return sb_ossl_err(err, SB_E_MALFORMED, "x509: no CERTIFICATE PEM block that parses");
    return cert_wrap(x, out, err);
}

int sb_cert_load(const uint8_t *p, size_t n, sb_cert **out, sb_error *err) {
    ENSURE(p && n > 0, err, SB_E_MALFORMED, "x509: empty certificate");
    size_t i = skip_ws(p, n);
    if (i < n && p[i] == 0x30) return sb_cert_from_der(p, n, out, err);
    return sb_cert_from_pem(p, n, out, err);
}

void sb_certs_free(sb_cert **v, size_t count) {
    if (!v) return;
    for (size_t i = 0; i < count; i++)
        sb_cert_free(v[i]);
    free(v);
}

int sb_certs_from_pem(const uint8_t *p, size_t n, size_t max, sb_cert ***out, size_t *count,
                      sb_error *err) {
    BIO *b = pem_bio(p, n, "x509", err);
    if (!b) return err ? err->code : SB_E_MALFORMED;
    sb_cert **v = NULL;
    size_t cnt = 0;
    int rc = 0;
    ERR_clear_error();
    for (;;) {
        X509 *x = PEM_read_bio_X509(b, NULL, NULL, NULL);
        if (!x) {
            /* The only clean end is "no start line" after the last block. */
            unsigned long e = ERR_peek_last_error();
            if (ERR_GET_LIB(e) == ERR_LIB_PEM && ERR_GET_REASON(e) == PEM_R_NO_START_LINE) {
                ERR_clear_error();
                break;
            }
            rc = sb_ossl_err(err, SB_E_MALFORMED,
                             "x509: certificate %zu of the PEM bundle does not parse", cnt);
            break;
        }
        if (cnt >= max) {
            X509_free(x);
            rc = sb_error_set(err, SB_E_LIMIT, "x509: PEM bundle holds more than %zu certificates",
                              max);
            break;
        }
        sb_cert **nv = realloc(v, (cnt + 1) * sizeof(*v));
        if (!nv) {
            X509_free(x);
            rc = sb_error_set(err, SB_E_INTERNAL, "x509: out of memory");
            break;
        }
        v = nv;
        rc = cert_wrap(x, &v[cnt], err);
        if (rc < 0) break;
        cnt++;
    }
    BIO_free(b);
    if (rc == 0 && cnt == 0)
        rc = sb_error_set(err, SB_E_MALFORMED, "x509: no CERTIFICATE block in the PEM input");
    if (rc < 0) {
        sb_certs_free(v, cnt);
        return rc;
    }
    *out = v;
    *count = cnt;
    return 0;
}

sb_cert *sb_cert_dup(const sb_cert *c) {
    if (!c) return NULL;
    sb_cert *d = calloc(1, sizeof(*d));
    if (!d || !(d->der = malloc(c->derlen)) || X509_up_ref(c->x) != 1) {
        if (d) free(d->der);
        free(d);
        return NULL;
    }
    memcpy(d->der, c->der, c->derlen);
    d->derlen = c->derlen;
    d->x = c->x; /* certificates are never modified after parsing: sharing is safe */
    return d;
}

void sb_cert_free(sb_cert *c) {
    if (!c) return;
    X509_free(c->x);
    free(c->der);
    free(c);
}

int sb_cert_pubkey(const sb_cert *c, sb_pubkey **out, sb_error *err) {
    ENSURE(c && c->x, err, SB_E_USAGE, "x509: NULL certificate");
    EVP_PKEY *pk = X509_get0_pubkey(c->x);
    if (!pk) return sb_ossl_err(err, SB_E_MALFORMED, "x509: subject public key does not parse");
    if (EVP_PKEY_up_ref(pk) != 1) return sb_ossl_err(err, SB_E_INTERNAL, "x509: up_ref failed");
    return sb_pubkey_wrap(pk, out, err);
}

/* ASN1_TIME to Unix seconds; 0 when it cannot be converted. */
static int64_t asn1_time_unix(const ASN1_TIME *t) {
    struct tm tm;
    memset(&tm, 0, sizeof(tm));
    if (!t || ASN1_TIME_to_tm(t, &tm) != 1) {
        ERR_clear_error();
        return 0;
    }
    return (int64_t)timegm(&tm);
}

int64_t sb_cert_not_before(const sb_cert *c) {
    return c ? asn1_time_unix(X509_get0_notBefore(c->x)) : 0;
}
int64_t sb_cert_not_after(const sb_cert *c) {
    return c ? asn1_time_unix(X509_get0_notAfter(c->x)) : 0;
}

static char *name_str(const X509_NAME *nm) {
    BIO *b = BIO_new(BIO_s_mem());
    if (!b) return NULL;
    char *s = NULL;
    /* RFC 2253 flags escape control characters, so the result holds no NUL. */
    if (X509_NAME_print_ex(b, nm, 0, XN_FLAG_RFC2253) >= 0) {
        char *data = NULL;
        long len = BIO_get_mem_data(b, &data);
        if (len >= 0 && (s = malloc((size_t)len + 1))) {
            if (len) memcpy(s, data, (size_t)len);
            s[len] = '\0';
        }
    }
    BIO_free(b);
    ERR_clear_error();
    return s;
}

char *sb_cert_subject(const sb_cert *c) { return c ? name_str(X509_get_subject_name(c->x)) : NULL; }
char *sb_cert_issuer(const sb_cert *c) { return c ? name_str(X509_get_issuer_name(c->x)) : NULL; }

char *sb_cert_serial_hex(const sb_cert *c) {
    if (!c) return NULL;
    BIGNUM *bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(c->x), NULL);
    if (!bn) {
        ERR_clear_error();
        return NULL;
    }
    /* Minimal whole bytes, lower-case, with a '-' for the (invalid but seen) negative ones;
     * zero (every AMD VCEK) is "00". */
    int nb = BN_num_bytes(bn);
    uint8_t buf[64];
    char *s = NULL;
    if (nb <= (int)sizeof(buf)) {
        bool neg = BN_is_negative(bn);
        size_t len = nb ? (size_t)nb : 1;
        buf[0] = 0;
        if (nb) (void)BN_bn2bin(bn, buf);
        s = malloc(2 * len + 2);
        if (s) {
            s[0] = '-';
            sb_hex_encode(buf, len, s + (neg ? 1 : 0));
        }
    }
    BN_free(bn);
    return s;
}

int sb_cert_der(const sb_cert *c, const uint8_t **p, size_t *n, sb_error *err) {
    ENSURE(c && c->der, err, SB_E_USAGE, "x509: NULL certificate");
    *p = c->der;
    *n = c->derlen;
    return 0;
}

int sb_cert_fingerprint(const sb_cert *c, enum sb_hash h, uint8_t *out, sb_error *err) {
    ENSURE(c && c->der, err, SB_E_USAGE, "x509: NULL certificate");
    return sb_hash(h, c->der, c->derlen, out, err);
}

bool sb_cert_equal(const sb_cert *a, const sb_cert *b) {
    return a && b && a->derlen == b->derlen && memcmp(a->der, b->der, a->derlen) == 0;
}

/* Parses a dotted OID strictly (digits and dots only: no names, no empty arcs). */
static ASN1_OBJECT *oid_obj(const char *oid, sb_error *err) {
    size_t len = oid ? strlen(oid) : 0;
    bool ok = len > 0 && len < 128 && oid[0] != '.' && oid[len - 1] != '.';
    for (size_t i = 0; ok && i < len; i++)
        ok = (oid[i] >= '0' && oid[i] <= '9') || (oid[i] == '.' && oid[i + 1] != '.');
    ASN1_OBJECT *o = ok ? OBJ_txt2obj(oid, 1) : NULL;
    if (!o) (void)sb_ossl_err(err, SB_E_USAGE, "x509: '%s' is not a dotted OID", oid ? oid : "");
    return o;
}

int sb_cert_ext(const sb_cert *c, const char *oid, const uint8_t **p, size_t *n, sb_error *err) {
    ENSURE(c && c->x, err, SB_E_USAGE, "x509: NULL certificate");
    ASN1_OBJECT *o = oid_obj(oid, err);
    if (!o) return SB_E_USAGE;
    int idx = X509_get_ext_by_OBJ(c->x, o, -1);
    int again = idx >= 0 ? X509_get_ext_by_OBJ(c->x, o, idx) : -1;
    ASN1_OBJECT_free(o);
    ENSURE(idx >= 0, err, SB_E_NOTFOUND, "x509: no extension %s", oid);
    /* RFC 5280 §4.2: an extension appears at most once; two would be ambiguous. */
    ENSURE(again < 0, err, SB_E_MALFORMED, "x509: extension %s appears more than once", oid);
    X509_EXTENSION *ext = X509_get_ext(c->x, idx);
    const ASN1_OCTET_STRING *v = ext ? X509_EXTENSION_get_data(ext) : NULL;
    ENSURE(v, err, SB_E_MALFORMED, "x509: extension %s has no value", oid);
    *p = ASN1_STRING_get0_data(v);
    *n = (size_t)ASN1_STRING_length(v);
    return 0;
}

/* ---- CRLs -------------------------------------------------------------------------------- */

static int crl_wrap(X509_CRL *x, sb_crl **out, sb_error *err) {
    sb_crl *c = calloc(1, sizeof(*c));
    if (!c) {
        X509_CRL_free(x);
        BAIL(err, SB_E_INTERNAL, "crl: out of memory");
    }
    c->c = x;
    *out = c;
    return 0;
}

int sb_crl_from_der(const uint8_t *p, size_t n, sb_crl **out, sb_error *err) {
    ENSURE(p && n > 0, err, SB_E_MALFORMED, "crl: empty input");
    ENSURE(n <= SB_X509_PEM_MAX, err, SB_E_LIMIT, "crl: %zu bytes is over the limit of %u", n,
           SB_X509_PEM_MAX);
    const unsigned char *q = p;
    X509_CRL *x = d2i_X509_CRL(NULL, &q, (long)n);
    if (!x) return sb_ossl_err(err, SB_E_MALFORMED, "crl: DER CRL does not parse");
    if ((size_t)(q - p) != n) {
        X509_CRL_free(x);
        BAIL(err, SB_E_MALFORMED, "crl: %zu trailing bytes after the DER CRL", n - (size_t)(q - p));
    }
    return crl_wrap(x, out, err);
}

int sb_crl_from_pem(const uint8_t *p, size_t n, sb_crl **out, sb_error *err) {
    BIO *b = pem_bio(p, n, "crl", err);
    if (!b) return err ? err->code : SB_E_MALFORMED;
    X509_CRL *x = PEM_read_bio_X509_CRL(b, NULL, NULL, NULL);
    BIO_free(b);
    if (!x) return sb_ossl_err(err, SB_E_MALFORMED, "crl: no X509 CRL PEM block that parses");
    return crl_wrap(x, out, err);
}

int sb_crl_load(const uint8_t *p, size_t n, sb_crl **out, sb_error *err) {
    ENSURE(p && n > 0, err, SB_E_MALFORMED, "crl: empty input");
    size_t i = skip_ws(p, n);
    if (i < n && p[i] == 0x30) return sb_crl_from_der(p, n, out, err);
    return sb_crl_from_pem(p, n, out, err);
}

int64_t sb_crl_this_update(const sb_crl *c) {
    return c ? asn1_time_unix(X509_CRL_get0_lastUpdate(c->c)) : 0;
}
int64_t sb_crl_next_update(const sb_crl *c) {
    const ASN1_TIME *t = c ? X509_CRL_get0_nextUpdate(c->c) : NULL;
    return t ? asn1_time_unix(t) : 0;
}

void sb_crl_free(sb_crl *c) {
    if (!c) return;
    X509_CRL_free(c->c);
    free(c);
}

/* ---- signatures and chains ----------------------------------------------------------------- */

int sb_cert_check_signed_by(const sb_cert *cert, const sb_cert *issuer, sb_error *err) {
    ENSURE(cert && issuer, err, SB_E_USAGE, "x509: NULL certificate");
    EVP_PKEY *pk = X509_get0_pubkey(issuer->x);
    if (!pk) return sb_ossl_err(err, SB_E_MALFORMED, "x509: issuer public key does not parse");
    /* X509_verify reads the algorithm (including RSA-PSS parameters) from the certificate. */
    if (X509_verify(cert->x, pk) != 1) {
        char *s = sb_cert_subject(cert), *i = sb_cert_subject(issuer);
        int rc =
            sb_ossl_err(err, SB_E_SIGNATURE, "x509: signature of '%s' does not verify under '%s'",
                        s ? s : "?", i ? i : "?");
        free(s);
        free(i);
        return rc;
    }
    return 0;
}

int sb_crl_check_signed_by(const sb_crl *crl, const sb_cert *issuer, sb_error *err) {
    ENSURE(crl && issuer, err, SB_E_USAGE, "crl: NULL argument");
    EVP_PKEY *pk = X509_get0_pubkey(issuer->x);
    if (!pk) return sb_ossl_err(err, SB_E_MALFORMED, "crl: issuer public key does not parse");
    if (X509_CRL_verify(crl->c, pk) != 1) {
        char *i = sb_cert_subject(issuer);
        int rc = sb_ossl_err(err, SB_E_SIGNATURE, "crl: signature does not verify under '%s'",
                             i ? i : "?");
        free(i);
        return rc;
    }
    return 0;
}

bool sb_crl_revokes(const sb_crl *crl, const sb_cert *cert) {
    if (!crl || !cert) return false;
    X509_REVOKED *rev = NULL;
    /* get0_by_cert matches the serial and the issuer name (a serial is unique only per
     * issuer); 1 = listed, 2 = listed as removeFromCRL (a delta CRL un-revoking it). */
    int r = X509_CRL_get0_by_cert(crl->c, &rev, cert->x);
    ERR_clear_error();
    return r == 1;
}

static const char *depth_name(int depth) {
    switch (depth) {
    case 0: return "leaf";
    case 1: return "issuer";
    default: return "chain";
    }
}

int sb_x509_verify_chain(const sb_cert *leaf, sb_cert *const *intermediates, size_t n_inter,
                         sb_cert *const *roots, size_t n_roots, sb_crl *const *crls, size_t n_crls,
                         int64_t at, unsigned flags, sb_error *err) {
    ENSURE(leaf && leaf->x, err, SB_E_USAGE, "x509: NULL leaf");
    ENSURE(n_roots > 0 && roots, err, SB_E_USAGE, "x509: no trust anchor given");
    ENSURE(n_inter <= SB_X509_CHAIN_MAX && n_roots <= SB_X509_CHAIN_MAX &&
               n_crls <= SB_X509_CHAIN_MAX,
           err, SB_E_LIMIT, "x509: more than %d intermediates, roots or CRLs", SB_X509_CHAIN_MAX);
    ENSURE(n_inter == 0 || intermediates, err, SB_E_USAGE, "x509: NULL intermediates");
    ENSURE(n_crls == 0 || crls, err, SB_E_USAGE, "x509: NULL CRLs");
    ENSURE((flags & (SB_X509_CRL_ALL | SB_X509_CRL_LEAF)) == 0 || n_crls > 0, err, SB_E_USAGE,
           "x509: CRL checking asked for without any CRL");
    ENSURE(at > 0 && (int64_t)(time_t)at == at, err, SB_E_USAGE, "x509: verification time %lld",
           (long long)at);

    int rc = SB_E_INTERNAL;
    X509_STORE *store = X509_STORE_new();
    STACK_OF(X509) *untrusted = sk_X509_new_null();
    X509_STORE_CTX *ctx = X509_STORE_CTX_new();
    if (!store || !untrusted || !ctx) {
        rc = sb_ossl_err(err, SB_E_INTERNAL, "x509: out of memory");
        goto out;
    }
    for (size_t i = 0; i < n_roots; i++) {
        if (!roots[i] || X509_STORE_add_cert(store, roots[i]->x) != 1) {
            rc = sb_ossl_err(err, SB_E_USAGE, "x509: trust anchor %zu not usable", i);
            goto out;
        }
    }
    for (size_t i = 0; i < n_crls; i++) {
        if (!crls[i] || X509_STORE_add_crl(store, crls[i]->c) != 1) {
            rc = sb_ossl_err(err, SB_E_USAGE, "x509: CRL %zu not usable", i);
            goto out;
        }
    }
    for (size_t i = 0; i < n_inter; i++) {
        /* sk_X509_push does not take a reference; the caller's objects outlive the stack. */
        if (!intermediates[i] || !sk_X509_push(untrusted, intermediates[i]->x)) {
            rc = sb_ossl_err(err, SB_E_INTERNAL, "x509: intermediate %zu not usable", i);
            goto out;
        }
    }
    if (X509_STORE_CTX_init(ctx, store, leaf->x, untrusted) != 1) {
        rc = sb_ossl_err(err, SB_E_INTERNAL, "x509: cannot set up verification");
        goto out;
    }
    /* Everything is explicit: the time (never the clock), the chain depth and the CRL scope.
     * No purpose or trust setting is applied: vendor chains (AMD VCEK/VLEK, Intel PCK, Nitro)
     * carry no EKU, and the caller decides what a leaf may be used for. AMD's RSASSA-PSS
     * signatures and its serial-0 VCEKs verify with OpenSSL's defaults; X509_V_FLAG_X509_STRICT
     * is not set because it is not needed for them and its extra checks are not ours to add. */
    X509_VERIFY_PARAM *param = X509_STORE_CTX_get0_param(ctx);
    unsigned long vflags = 0;
    if (flags & SB_X509_PARTIAL_CHAIN) vflags |= X509_V_FLAG_PARTIAL_CHAIN;
    if (flags & (SB_X509_CRL_LEAF | SB_X509_CRL_ALL)) vflags |= X509_V_FLAG_CRL_CHECK;
    if (flags & SB_X509_CRL_ALL) vflags |= X509_V_FLAG_CRL_CHECK_ALL;
    X509_VERIFY_PARAM_set_time(param, (time_t)at);
    X509_VERIFY_PARAM_set_depth(param, SB_X509_DEPTH_MAX);
    if (vflags && X509_VERIFY_PARAM_set_flags(param, vflags) != 1) {
        rc = sb_ossl_err(err, SB_E_INTERNAL, "x509: cannot set verification flags");
        goto out;
    }
    int ok = X509_verify_cert(ctx);
    if (ok == 1) {
        ERR_clear_error();
        rc = 0;
        goto out;
    }
    int verr = X509_STORE_CTX_get_error(ctx);
    int depth = X509_STORE_CTX_get_error_depth(ctx);
    X509 *bad = X509_STORE_CTX_get_current_cert(ctx);
    char *subj = bad ? name_str(X509_get_subject_name(bad)) : NULL;
    char when[32];
    sb_time_format(at, when);
    ERR_clear_error();
    rc = sb_error_set(err, verr == X509_V_OK ? SB_E_INTERNAL : SB_E_CHAIN,
                      "x509: chain does not verify at %s: %s (depth %d, %s '%s')", when,
                      verr == X509_V_OK ? "internal error" : X509_verify_cert_error_string(verr),
                      depth, depth_name(depth), subj ? subj : "?");
    free(subj);
out:
    X509_STORE_CTX_free(ctx);
    sk_X509_free(untrusted);
    X509_STORE_free(store);
    return rc;
}
