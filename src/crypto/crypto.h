/* crypto: the only door to OpenSSL 3. Thin EVP wrappers for digests, signatures, X.509 chains
 * at an explicit time, AEAD, key wrap, KDFs, ECDH, RSA-OAEP, randomness and JWK conversion. */
#ifndef SB_CRYPTO_H
#define SB_CRYPTO_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../util/util.h"

/* ---- digests and MACs ----------------------------------------------------------------- */

enum sb_hash { SB_HASH_SHA1, SB_HASH_SHA256, SB_HASH_SHA384, SB_HASH_SHA512, SB_HASH_MAX };
#define SB_HASH_MAX_LEN 64

size_t sb_hash_len(enum sb_hash h);
const char *sb_hash_name(enum sb_hash h);                   /* "sha256", ... */
int sb_hash_from_name(const char *name, enum sb_hash *out); /* sha1/sha256/sha384/sha512 */
/* out must hold sb_hash_len(h) bytes. */
int sb_hash(enum sb_hash h, const void *p, size_t n, uint8_t *out, sb_error *err) SB_WUR;

typedef struct sb_hash_ctx sb_hash_ctx;
int sb_hash_ctx_new(enum sb_hash h, sb_hash_ctx **out, sb_error *err) SB_WUR;
int sb_hash_ctx_update(sb_hash_ctx *c, const void *p, size_t n, sb_error *err) SB_WUR;
int sb_hash_ctx_final(sb_hash_ctx *c, uint8_t *out, sb_error *err) SB_WUR;
void sb_hash_ctx_free(sb_hash_ctx *c);

int sb_hmac(enum sb_hash h, const void *key, size_t keylen, const void *p, size_t n, uint8_t *out,
            sb_error *err) SB_WUR;

/* ---- keys ------------------------------------------------------------------------------ */

enum sb_curve { SB_CURVE_P256, SB_CURVE_P384, SB_CURVE_P521, SB_CURVE_MAX };
enum sb_key_type { SB_KEY_EC, SB_KEY_RSA, SB_KEY_ED25519, SB_KEY_TYPE_MAX };

typedef struct sb_pubkey sb_pubkey;   /* wraps an EVP_PKEY holding a public key */
typedef struct sb_privkey sb_privkey; /* wraps an EVP_PKEY holding a private key */

size_t sb_curve_coord_len(enum sb_curve c); /* 32, 48, 66 */
int sb_pubkey_from_spki_der(const uint8_t *p, size_t n, sb_pubkey **out, sb_error *err) SB_WUR;
int sb_pubkey_from_pem(const uint8_t *p, size_t n, sb_pubkey **out, sb_error *err) SB_WUR;
/* Raw EC point: either x||y (2*coord bytes) or 0x04||x||y; big-endian coordinates. */
int sb_pubkey_from_ec_point(enum sb_curve c, const uint8_t *p, size_t n, sb_pubkey **out,
                            sb_error *err) SB_WUR;
/* RSA from big-endian modulus and exponent. */
int sb_pubkey_from_rsa(const uint8_t *n, size_t nlen, const uint8_t *e, size_t elen,
                       sb_pubkey **out, sb_error *err) SB_WUR;
int sb_pubkey_from_ed25519(const uint8_t raw[32], sb_pubkey **out, sb_error *err) SB_WUR;
int sb_pubkey_to_spki_der(const sb_pubkey *k, uint8_t **out, size_t *n, sb_error *err) SB_WUR;
enum sb_key_type sb_pubkey_type(const sb_pubkey *k);
/* For EC keys: the curve; -1 otherwise. */
int sb_pubkey_curve(const sb_pubkey *k);
size_t sb_pubkey_bits(const sb_pubkey *k);
bool sb_pubkey_equal(const sb_pubkey *a, const sb_pubkey *b);
void sb_pubkey_free(sb_pubkey *k);

int sb_privkey_generate_ec(enum sb_curve c, sb_privkey **out, sb_error *err) SB_WUR;
int sb_privkey_generate_rsa(unsigned bits, sb_privkey **out, sb_error *err) SB_WUR;
int sb_privkey_generate_ed25519(sb_privkey **out, sb_error *err) SB_WUR;
/* PKCS#8 or traditional PEM, unencrypted. */
int sb_privkey_from_pem(const uint8_t *p, size_t n, sb_privkey **out, sb_error *err) SB_WUR;
/* PKCS#8 PEM in a NUL-terminated malloc'ed buffer. */
int sb_privkey_to_pem(const sb_privkey *k, char **out, sb_error *err) SB_WUR;
int sb_privkey_public(const sb_privkey *k, sb_pubkey **out, sb_error *err) SB_WUR;
enum sb_key_type sb_privkey_type(const sb_privkey *k);
void sb_privkey_free(sb_privkey *k);

/* ---- signatures ------------------------------------------------------------------------- */

/* Signature encodings for ECDSA. RAW_LE is AMD's: r and s each stored little-endian in
 * a fixed-width field (SNP uses 72-byte fields for P-384); siglen must be even and each half
 * must fit the curve after stripping leading zero bytes (in the field's byte order). */
enum sb_ecdsa_enc { SB_ECDSA_DER, SB_ECDSA_RAW_BE, SB_ECDSA_RAW_LE, SB_ECDSA_ENC_MAX };

/* Every verify returns 0 when the signature holds, SB_E_SIGNATURE when it does not, and
 * another code when the inputs are unusable. The message is hashed inside with h. */
int sb_ecdsa_verify(const sb_pubkey *k, enum sb_hash h, const void *msg, size_t msglen,
                    const uint8_t *sig, size_t siglen, enum sb_ecdsa_enc enc, sb_error *err) SB_WUR;
/* As above, over a digest computed by the caller. */
int sb_ecdsa_verify_digest(const sb_pubkey *k, const uint8_t *dgst, size_t dlen, const uint8_t *sig,
                           size_t siglen, enum sb_ecdsa_enc enc, sb_error *err) SB_WUR;
/* salt_len: bytes, or -1 for "as long as the digest". */
int sb_rsa_pss_verify(const sb_pubkey *k, enum sb_hash h, int salt_len, const void *msg,
                      size_t msglen, const uint8_t *sig, size_t siglen, sb_error *err) SB_WUR;
int sb_rsa_pkcs1_verify(const sb_pubkey *k, enum sb_hash h, const void *msg, size_t msglen,
                        const uint8_t *sig, size_t siglen, sb_error *err) SB_WUR;
int sb_ed25519_verify(const sb_pubkey *k, const void *msg, size_t msglen, const uint8_t *sig,
                      size_t siglen, sb_error *err) SB_WUR;

/* A verifier bound once to a public key, a hash and a scheme (RSASSA-PKCS1-v1_5 or ECDSA), for
 * hot paths that check many signatures by the same key (a TPM AK, a DCAP attestation key): the
 * OpenSSL contexts are prepared once, so each verification is the hash and the public-key
 * operation. Verdicts are those of sb_rsa_pkcs1_verify / sb_ecdsa_verify. Keeps its own
 * reference to the key; not thread-safe. */
typedef struct sb_sig_verifier sb_sig_verifier;
enum sb_sig_scheme { SB_SIG_RSA_PKCS1, SB_SIG_ECDSA, SB_SIG_SCHEME_MAX };
int sb_sig_verifier_new(const sb_pubkey *k, enum sb_hash h, enum sb_sig_scheme scheme,
                        sb_sig_verifier **out, sb_error *err) SB_WUR;
/* enc is used for ECDSA only. */
int sb_sig_verifier_verify(sb_sig_verifier *v, const void *msg, size_t msglen, const uint8_t *sig,
                           size_t siglen, enum sb_ecdsa_enc enc, sb_error *err) SB_WUR;
void sb_sig_verifier_free(sb_sig_verifier *v);

/* Signs msg: ECDSA (enc selects DER or raw big-endian r||s as JWS wants), RSA-PSS is not
 * offered for signing; RSA keys sign PKCS#1 v1.5; Ed25519 ignores h and enc. */
int sb_sign(const sb_privkey *k, enum sb_hash h, const void *msg, size_t msglen,
            enum sb_ecdsa_enc enc, uint8_t **sig, size_t *siglen, sb_error *err) SB_WUR;

/* ---- X.509 ------------------------------------------------------------------------------- */

typedef struct sb_cert sb_cert;
typedef struct sb_crl sb_crl;

int sb_cert_from_der(const uint8_t *p, size_t n, sb_cert **out, sb_error *err) SB_WUR;
/* One certificate from PEM (the first one). */
int sb_cert_from_pem(const uint8_t *p, size_t n, sb_cert **out, sb_error *err) SB_WUR;
/* DER or PEM, sniffed. */
int sb_cert_load(const uint8_t *p, size_t n, sb_cert **out, sb_error *err) SB_WUR;
/* Every certificate of a PEM bundle, in order; at most max. Free with sb_certs_free. */
int sb_certs_from_pem(const uint8_t *p, size_t n, size_t max, sb_cert ***out, size_t *count,
                      sb_error *err) SB_WUR;
void sb_certs_free(sb_cert **v, size_t count);
sb_cert *sb_cert_dup(const sb_cert *c);
void sb_cert_free(sb_cert *c);

int sb_cert_pubkey(const sb_cert *c, sb_pubkey **out, sb_error *err) SB_WUR;
int64_t sb_cert_not_before(const sb_cert *c);
int64_t sb_cert_not_after(const sb_cert *c);
/* One-line RFC 2253 subject / issuer, malloc'ed. */
char *sb_cert_subject(const sb_cert *c);
char *sb_cert_issuer(const sb_cert *c);
/* Serial as lower-case hex, malloc'ed. */
char *sb_cert_serial_hex(const sb_cert *c);
/* The DER encoding (view valid while c lives). */
int sb_cert_der(const sb_cert *c, const uint8_t **p, size_t *n, sb_error *err) SB_WUR;
int sb_cert_fingerprint(const sb_cert *c, enum sb_hash h, uint8_t *out, sb_error *err) SB_WUR;
bool sb_cert_equal(const sb_cert *a, const sb_cert *b);
/* The extnValue contents (the bytes inside the OCTET STRING) of the extension with this dotted
 * OID; SB_E_NOTFOUND when absent. The view lives as long as c. */
int sb_cert_ext(const sb_cert *c, const char *oid, const uint8_t **p, size_t *n,
                sb_error *err) SB_WUR;

int sb_crl_from_der(const uint8_t *p, size_t n, sb_crl **out, sb_error *err) SB_WUR;
int sb_crl_from_pem(const uint8_t *p, size_t n, sb_crl **out, sb_error *err) SB_WUR;
int sb_crl_load(const uint8_t *p, size_t n, sb_crl **out, sb_error *err) SB_WUR;
int64_t sb_crl_this_update(const sb_crl *c);
int64_t sb_crl_next_update(const sb_crl *c); /* 0 when absent */
/* One-line RFC 2253 issuer name, malloc'ed (NULL on allocation failure). */
char *sb_crl_issuer(const sb_crl *c);
void sb_crl_free(sb_crl *c);

enum {
    /* A trust anchor may be an intermediate (no self-signed root required). */
    SB_X509_PARTIAL_CHAIN = 1u << 0,
    /* Every certificate in the chain must be covered by a CRL in crls (not just the leaf). */
    SB_X509_CRL_ALL = 1u << 1,
    /* Check the leaf against crls (implied by SB_X509_CRL_ALL). */
    SB_X509_CRL_LEAF = 1u << 2,
};

/* Verifies leaf up to one of roots, using intermediates, at Unix time `at` (never the clock).
 * Signatures (RSA-PKCS1, RSA-PSS, ECDSA), validity windows, CA flags and, when asked, CRLs
 * (whose own signature and window are checked at `at`). A chain failure is SB_E_CHAIN with
 * OpenSSL's reason and the subject at fault in the message. */
int sb_x509_verify_chain(const sb_cert *leaf, sb_cert *const *intermediates, size_t n_inter,
                         sb_cert *const *roots, size_t n_roots, sb_crl *const *crls, size_t n_crls,
                         int64_t at, unsigned flags, sb_error *err) SB_WUR;
/* Checks that issuer signed cert (signature only; no time, no flags). */
int sb_cert_check_signed_by(const sb_cert *cert, const sb_cert *issuer, sb_error *err) SB_WUR;
/* Checks a CRL's signature against its issuer certificate. */
int sb_crl_check_signed_by(const sb_crl *crl, const sb_cert *issuer, sb_error *err) SB_WUR;
/* True if cert's serial is listed in crl (no signature check: call the one above first). */
bool sb_crl_revokes(const sb_crl *crl, const sb_cert *cert);

/* ---- symmetric ---------------------------------------------------------------------------- */

#define SB_AES256_KEY_LEN 32
#define SB_GCM_TAG_LEN 16

/* ct has ptlen bytes; tag 16 bytes. */
int sb_aes256gcm_seal(const uint8_t key[32], const uint8_t *iv, size_t ivlen, const uint8_t *aad,
                      size_t aadlen, const uint8_t *pt, size_t ptlen, uint8_t *ct, uint8_t tag[16],
                      sb_error *err) SB_WUR;
/* SB_E_SIGNATURE when the tag does not match (pt is then wiped). */
int sb_aes256gcm_open(const uint8_t key[32], const uint8_t *iv, size_t ivlen, const uint8_t *aad,
                      size_t aadlen, const uint8_t *ct, size_t ctlen, const uint8_t tag[16],
                      uint8_t *pt, sb_error *err) SB_WUR;
/* RFC 3394 AES key wrap with 128/192/256-bit KEKs; out holds inlen+8 (wrap) or inlen-8. */
int sb_aes_kw_wrap(const uint8_t *kek, size_t keklen, const uint8_t *in, size_t inlen, uint8_t *out,
                   sb_error *err) SB_WUR;
int sb_aes_kw_unwrap(const uint8_t *kek, size_t keklen, const uint8_t *in, size_t inlen,
                     uint8_t *out, sb_error *err) SB_WUR;

/* RFC 5869. */
int sb_hkdf(enum sb_hash h, const uint8_t *salt, size_t saltlen, const uint8_t *ikm, size_t ikmlen,
            const uint8_t *info, size_t infolen, uint8_t *out, size_t outlen, sb_error *err) SB_WUR;
/* NIST SP 800-56A single-step KDF with a hash (the "Concat KDF" of JWA ECDH-ES). */
int sb_concat_kdf(enum sb_hash h, const uint8_t *z, size_t zlen, const uint8_t *otherinfo,
                  size_t oilen, uint8_t *out, size_t outlen, sb_error *err) SB_WUR;

/* Shared secret of an EC private key and an EC public key on the same curve; *out malloc'ed. */
int sb_ecdh(const sb_privkey *priv, const sb_pubkey *peer, uint8_t **out, size_t *outlen,
            sb_error *err) SB_WUR;
/* RSAES-OAEP with SHA-256 and MGF1-SHA-256 (JWA RSA-OAEP-256). */
int sb_rsa_oaep256_encrypt(const sb_pubkey *k, const uint8_t *in, size_t inlen, uint8_t **out,
                           size_t *outlen, sb_error *err) SB_WUR;
int sb_rsa_oaep256_decrypt(const sb_privkey *k, const uint8_t *in, size_t inlen, uint8_t **out,
                           size_t *outlen, sb_error *err) SB_WUR;

/* ---- TPM 2.0 credential primitives (src/crypto/tpm2.c) ---------------------------------- */

/* KDFa of TPM 2.0 Part 1 §11.4.10.2 (SP 800-108 counter mode, HMAC-h): outlen bytes derived
 * from key, label (a C string; the terminating zero is part of the input, as the TPM wants)
 * and the context U || V. */
int sb_kdfa(enum sb_hash h, const uint8_t *key, size_t keylen, const char *label,
            const uint8_t *ctx_u, size_t ulen, const uint8_t *ctx_v, size_t vlen, uint8_t *out,
            size_t outlen, sb_error *err) SB_WUR;
/* AES (16/24/32-byte key) in CFB-128 mode over n bytes (no padding); enc false decrypts. */
int sb_aes_cfb(bool enc, const uint8_t *key, size_t keylen, const uint8_t iv[16], const uint8_t *in,
               size_t n, uint8_t *out, sb_error *err) SB_WUR;
/* RSAES-OAEP with hash h for both OAEP and MGF1 and an explicit label (TPM: "IDENTITY\0",
 * "DUPLICATE\0", "SECRET\0", counted with their zero byte). */
int sb_rsa_oaep_encrypt(const sb_pubkey *k, enum sb_hash h, const void *label, size_t labellen,
                        const uint8_t *in, size_t inlen, uint8_t **out, size_t *outlen,
                        sb_error *err) SB_WUR;
int sb_rsa_oaep_decrypt(const sb_privkey *k, enum sb_hash h, const void *label, size_t labellen,
                        const uint8_t *in, size_t inlen, uint8_t **out, size_t *outlen,
                        sb_error *err) SB_WUR;

/* ---- misc -------------------------------------------------------------------------------- */

int sb_random(void *buf, size_t n, sb_error *err) SB_WUR;
/* Constant-time equality of two n-byte buffers. */
bool sb_ct_equal(const void *a, const void *b, size_t n);

/* JWK (RFC 7517) for EC (P-256/384/521), RSA and OKP Ed25519 public keys. */
int sb_pubkey_to_jwk(const sb_pubkey *k, json_t **out, sb_error *err) SB_WUR;
int sb_pubkey_from_jwk(const json_t *jwk, sb_pubkey **out, sb_error *err) SB_WUR;
/* RFC 7638 thumbprint (SHA-256), base64url. */
int sb_jwk_thumbprint(const sb_pubkey *k, char **out, sb_error *err) SB_WUR;

/* ---- JWE (src/crypto/jwe.c) --------------------------------------------------------------
 * RFC 7516 flattened JSON serialization in the shape of Trustee's KBS resource responses:
 * {"protected", "encrypted_key", "iv", "ciphertext", "tag"}, content encrypted with A256GCM
 * under a fresh CEK, AAD = the protected header's base64url text. The CEK is wrapped for the
 * TEE key: ECDH-ES+A256KW (P-256 or P-521, Concat KDF, "epk" inside the protected header) or
 * RSA-OAEP-256. RSA1_5 is refused. */

#define SB_JWE_PLAINTEXT_MAX (1u << 20) /* one resource */
#define SB_JWE_HEADER_MAX 4096u         /* bytes of decoded protected header */

/* Checks a TEE public key JWK (Trustee's TeePubKey: kty, alg, and crv/x/y or n/e) without
 * encrypting: SB_E_UNSUPPORTED names a refused alg, kty or curve. */
int sb_jwe_check_pubkey(const json_t *jwk, sb_error *err) SB_WUR;
/* Encrypts pt to the TEE key; *out is the flattened JWE object. */
int sb_jwe_encrypt(const json_t *tee_pubkey, const uint8_t *pt, size_t n, json_t **out,
                   sb_error *err) SB_WUR;
/* Decrypts a flattened JWE with the TEE private key (which must match the protected alg);
 * *pt is malloc'ed and NUL-terminated one past *ptlen. SB_E_SIGNATURE when a tag fails. */
int sb_jwe_decrypt(const sb_privkey *k, const json_t *jwe, uint8_t **pt, size_t *ptlen,
                   sb_error *err) SB_WUR;
/* The public JWK of a TEE key with the "alg" Trustee expects (ECDH-ES+A256KW for EC
 * P-256/P-521, RSA-OAEP-256 for RSA). */
int sb_jwe_tee_pubkey(const sb_privkey *k, json_t **out, sb_error *err) SB_WUR;

/* ---- TLS server contexts (sealboxd) ------------------------------------------------------- */

/* A server-side TLS configuration: the PEM certificate chain and private key (checked to
 * match), TLS 1.2 minimum, no renegotiation, OpenSSL's default cipher suites. */
typedef struct sb_tls_server sb_tls_server;
int sb_tls_server_new(const char *cert_chain_file, const char *key_file, sb_tls_server **out,
                      sb_error *err) SB_WUR;
/* A fresh server session for one connection: an OpenSSL SSL *, typed void * so callers (the
 * libevent glue) need no OpenSSL headers. NULL on allocation failure. */
void *sb_tls_server_session(sb_tls_server *s);
/* Frees a session that was never handed to libevent (which otherwise owns and frees it). */
void sb_tls_session_free(void *ssl);
void sb_tls_server_free(sb_tls_server *s);

#endif
