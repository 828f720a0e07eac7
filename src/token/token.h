/* token: attestation results as signed EAR tokens (draft-ietf-rats-ear, JWT with ES256/ES384),
 * the signing keys with their RFC 7638 key ids, JWKS publication and token verification. */
#ifndef SB_TOKEN_H
#define SB_TOKEN_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "policy/policy.h"
#include "util/util.h"

#define SB_EAR_PROFILE "tag:github.com,2023:veraison/ear"
#define SB_JWT_MAX_LEN (4u << 20) /* one compact JWS we are willing to verify */
#define SB_JWKS_MAX_KEYS 64u

/* A token signing key: an EC P-256 (ES256) or P-384 (ES384) private key and its kid. */
typedef struct sb_token_key sb_token_key;

/* Loads a PEM EC private key (PKCS#8 or SEC1). Other key types are SB_E_UNSUPPORTED. */
int sb_token_key_load(const char *path, sb_token_key **out, sb_error *err) SB_WUR;
/* From PEM bytes. */
int sb_token_key_from_pem(const uint8_t *pem, size_t n, sb_token_key **out, sb_error *err) SB_WUR;
const char *sb_token_key_kid(const sb_token_key *k); /* RFC 7638 SHA-256 thumbprint */
const char *sb_token_key_alg(const sb_token_key *k); /* "ES256" or "ES384" */
void sb_token_key_free(sb_token_key *k);

/* The public JWK of a signing key or of a PEM public/private key file, with "kid", "alg" and
 * "use": "sig". */
int sb_token_key_jwk(const sb_token_key *k, json_t **out, sb_error *err) SB_WUR;
int sb_jwk_from_pem_file(const char *path, json_t **out, sb_error *err) SB_WUR;

struct sb_ear_input {
    const char *submod;   /* the platform: "snp", "tdx", ... */
    const json_t *claims; /* normalized claims → ear.veraison.annotated-evidence */
    const struct sb_appraisal *appraisal;
    int64_t iat;          /* issuance time, Unix seconds */
    const uint8_t *nonce; /* → eat_nonce (base64url), NULL for none */
    size_t nonce_len;
};

/* The EAR claims-set: eat_profile, iat, ear.verifier-id, optional eat_nonce, and
 * submods{<submod>: {ear.status, ear.trustworthiness-vector (non-zero claims only),
 * ear.appraisal-policy-id, ear.veraison.annotated-evidence, ear.sealbox.reasons, and
 * ear.sealbox.insecure: true when the claims say insecure}}. */
int sb_ear_build(const struct sb_ear_input *in, json_t **out, sb_error *err) SB_WUR;
/* Compact JWS: base64url(header).base64url(payload).base64url(r||s). */
int sb_jwt_sign(const sb_token_key *k, const json_t *payload, char **jwt, sb_error *err) SB_WUR;
/* Verifies a compact JWS against a JWKS ({"keys": [...]}) by its header's kid and alg (ES256 /
 * ES384 only; "none" and mismatches are refused). On success *payload (and *header if
 * non-NULL) are set. SB_E_SIGNATURE when the signature does not hold. */
int sb_jwt_verify(const char *jwt, const json_t *jwks, json_t **payload, json_t **header,
                  sb_error *err) SB_WUR;
/* Checks that a verified payload is an EAR sealbox can read (profile, iat, submods with a
 * status and a vector of AR4SI integers). */
int sb_ear_check(const json_t *payload, sb_error *err) SB_WUR;

#endif
