/* test_token: EAR tokens — the claims-set shape, the trustworthiness vector carried claim by
 * claim, ES256/ES384 signatures that verify against a JWKS by kid, and every way a token must
 * be refused (tampering, wrong key, alg none/mismatch, malformed parts). */
#include <stdio.h>

#include "crypto/crypto.h"
#include "harness.h"
#include "policy/policy.h"
#include "token/token.h"
#include "verify/verify.h"

#define AT 1748736000

static sb_token_key *new_key(enum sb_curve c) {
    sb_privkey *pk = NULL;
    char *pem = NULL;
    sb_token_key *k = NULL;
    sb_error err = {0};
    CHECK_OK(sb_privkey_generate_ec(c, &pk, &err), &err);
    CHECK_OK(sb_privkey_to_pem(pk, &pem, &err), &err);
    if (pem) CHECK_OK(sb_token_key_from_pem((const uint8_t *)pem, strlen(pem), &k, &err), &err);
    free(pem);
    sb_privkey_free(pk);
    return k;
}

static json_t *jwks_of(sb_token_key *const *keys, size_t n) {
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++) {
        json_t *jwk = NULL;
        sb_error err = {0};
        CHECK_OK(sb_token_key_jwk(keys[i], &jwk, &err), &err);
        json_array_append_new(arr, jwk);
    }
    return json_pack("{s:o}", "keys", arr);
}

/* An appraisal whose vector is exactly `vec` (so each claim can be traced). */
static struct sb_appraisal appraisal_with(const int vec[SB_TC_MAX], enum sb_tier st) {
    struct sb_appraisal a = {0};
    a.status = st;
    memcpy(a.vector, vec, sizeof(a.vector));
    a.reasons = json_pack("[{s:s}]", "message", "tcb.status = OutOfDate not in allowed statuses");
    a.notes = json_array();
    snprintf(a.policy_id, sizeof(a.policy_id), "unit-policy");
    return a;
}

TEST(ear_shape) {
    json_t *claims = sb_claims_new("snp", "snp-report", AT);
    int vec[SB_TC_MAX] = {2, 2, 0, 0, 32, 2, 0, 0};
    struct sb_appraisal a = appraisal_with(vec, SB_TIER_WARNING);
    const uint8_t nonce[3] = {0xfb, 0xff, 0x00};
    struct sb_ear_input in = {.submod = "snp",
                              .claims = claims,
                              .appraisal = &a,
                              .iat = AT + 5,
                              .nonce = nonce,
                              .nonce_len = 3};
    json_t *p = NULL;
    sb_error err = {0};
    CHECK_OK(sb_ear_build(&in, &p, &err), &err);
    CHECK_STR(json_string_value(json_object_get(p, "eat_profile")),
              "tag:github.com,2023:veraison/ear");
    CHECK_INT(json_integer_value(json_object_get(p, "iat")), AT + 5);
    CHECK_STR(json_string_value(json_object_get(p, "eat_nonce")), "-_8A");
    CHECK(json_is_string(json_object_get(json_object_get(p, "ear.verifier-id"), "build")));
    json_t *sub = json_object_get(json_object_get(p, "submods"), "snp");
    CHECK_STR(json_string_value(json_object_get(sub, "ear.status")), "warning");
    CHECK_STR(json_string_value(json_object_get(sub, "ear.appraisal-policy-id")), "unit-policy");
    CHECK(json_object_get(sub, "ear.veraison.annotated-evidence") == claims);
    CHECK_CONTAINS(
        json_string_value(json_array_get(json_object_get(sub, "ear.sealbox.reasons"), 0)),
        "OutOfDate");
    CHECK_OK(sb_ear_check(p, &err), &err);
    json_decref(p);
    sb_appraisal_clear(&a);
    json_decref(claims);
}

TEST(ear_vector_claim_by_claim) {
    /* Each trust claim set alone, to a value of its own, must appear under its own name and
     * nowhere else; zero claims are omitted. A constant or shuffled vector fails here. */
    static const char *const names[SB_TC_MAX] = {
        "instance-identity", "configuration",  "executables",    "file-system",
        "hardware",          "runtime-opaque", "storage-opaque", "sourced-data"};
    json_t *claims = sb_claims_new("tdx", "tdx-quote-v4", AT);
    for (int t = 0; t < SB_TC_MAX; t++) {
        int vec[SB_TC_MAX] = {0};
        vec[t] = 32 + t;
        struct sb_appraisal a = appraisal_with(vec, SB_TIER_WARNING);
        struct sb_ear_input in = {.submod = "tdx", .claims = claims, .appraisal = &a, .iat = AT};
        json_t *p = NULL;
        sb_error err = {0};
        CHECK_OK(sb_ear_build(&in, &p, &err), &err);
        json_t *v = json_object_get(json_object_get(json_object_get(p, "submods"), "tdx"),
                                    "ear.trustworthiness-vector");
        CHECK_INT(json_object_size(v), 1);
        CHECK_INT(json_integer_value(json_object_get(v, names[t])), 32 + t);
        CHECK_STR(sb_trust_claim_name((enum sb_trust_claim)t), names[t]);
        json_decref(p);
        sb_appraisal_clear(&a);
    }
    json_decref(claims);
}

TEST(ear_vector_from_real_appraisal) {
    /* End to end: debug evidence under the default policy → configuration 96 and
     * runtime-opaque 96 in the token, hardware/instance-identity 2, executables absent. */
    json_t *claims = sb_claims_new("snp", "snp-report", AT);
    CHECK_INT(sb_claims_set_bool(claims, NULL, "debug", true), 0);
    sb_policy *pol = NULL;
    sb_error err = {0};
    CHECK_OK(sb_policy_default(&pol, &err), &err);
    struct sb_appraisal a = {0};
    struct sb_appraise_ctx ctx = {.at = AT};
    CHECK_OK(sb_policy_appraise(pol, claims, &ctx, &a, &err), &err);
    struct sb_ear_input in = {.submod = "snp", .claims = claims, .appraisal = &a, .iat = AT};
    json_t *p = NULL;
    CHECK_OK(sb_ear_build(&in, &p, &err), &err);
    json_t *sub = json_object_get(json_object_get(p, "submods"), "snp");
    json_t *v = json_object_get(sub, "ear.trustworthiness-vector");
    CHECK_STR(json_string_value(json_object_get(sub, "ear.status")), "contraindicated");
    CHECK_INT(json_integer_value(json_object_get(v, "configuration")), 96);
    CHECK_INT(json_integer_value(json_object_get(v, "runtime-opaque")), 96);
    CHECK_INT(json_integer_value(json_object_get(v, "hardware")), 2);
    CHECK_INT(json_integer_value(json_object_get(v, "instance-identity")), 2);
    CHECK(json_object_get(v, "executables") == NULL);
    json_decref(p);
    sb_appraisal_clear(&a);
    sb_policy_free(pol);
    json_decref(claims);
}

static char *sign_sample(sb_token_key *k, json_t **payload_out) {
    json_t *claims = sb_claims_new("nitro", "nitro-cose", AT);
    int vec[SB_TC_MAX] = {2, 2, 0, 0, 2, 0, 0, 0};
    struct sb_appraisal a = appraisal_with(vec, SB_TIER_AFFIRMING);
    struct sb_ear_input in = {.submod = "nitro", .claims = claims, .appraisal = &a, .iat = AT};
    json_t *p = NULL;
    char *jwt = NULL;
    sb_error err = {0};
    CHECK_OK(sb_ear_build(&in, &p, &err), &err);
    if (p) CHECK_OK(sb_jwt_sign(k, p, &jwt, &err), &err);
    sb_appraisal_clear(&a);
    json_decref(claims);
    if (payload_out)
        *payload_out = p;
    else
        json_decref(p);
    return jwt;
}

TEST(sign_and_verify_es256_es384_with_rotation) {
    sb_token_key *k256 = new_key(SB_CURVE_P256), *k384 = new_key(SB_CURVE_P384);
    if (!k256 || !k384) return;
    CHECK_STR(sb_token_key_alg(k256), "ES256");
    CHECK_STR(sb_token_key_alg(k384), "ES384");
    CHECK(strcmp(sb_token_key_kid(k256), sb_token_key_kid(k384)) != 0);
    sb_token_key *both[2] = {k256, k384};
    json_t *jwks = jwks_of(both, 2); /* old and new key published side by side */
    for (int i = 0; i < 2; i++) {
        json_t *sent = NULL;
        char *jwt = sign_sample(both[i], &sent);
        json_t *got = NULL, *hdr = NULL;
        sb_error err = {0};
        CHECK_OK(sb_jwt_verify(jwt, jwks, &got, &hdr, &err), &err);
        CHECK(json_equal(got, sent));
        CHECK_STR(json_string_value(json_object_get(hdr, "kid")), sb_token_key_kid(both[i]));
        CHECK_STR(json_string_value(json_object_get(hdr, "alg")), sb_token_key_alg(both[i]));
        CHECK_OK(sb_ear_check(got, &err), &err);
        /* kid is the RFC 7638 thumbprint of the public key */
        json_t *jwk = json_array_get(json_object_get(jwks, "keys"), (size_t)i);
        sb_pubkey *pub = NULL;
        char *tp = NULL;
        CHECK_OK(sb_pubkey_from_jwk(jwk, &pub, &err), &err);
        CHECK_OK(sb_jwk_thumbprint(pub, &tp, &err), &err);
        CHECK_STR(tp, sb_token_key_kid(both[i]));
        free(tp);
        sb_pubkey_free(pub);
        json_decref(got);
        json_decref(hdr);
        json_decref(sent);
        free(jwt);
    }
    json_decref(jwks);
    sb_token_key_free(k256);
    sb_token_key_free(k384);
}

TEST(refusals) {
    sb_token_key *k = new_key(SB_CURVE_P256), *other = new_key(SB_CURVE_P256);
    if (!k || !other) return;
    json_t *jwks = jwks_of(&k, 1), *jwks_other = jwks_of(&other, 1);
    char *jwt = sign_sample(k, NULL);
    json_t *p = NULL;
    sb_error err = {0};
    /* the right JWKS accepts; another key's JWKS does not know the kid */
    CHECK_OK(sb_jwt_verify(jwt, jwks, &p, NULL, &err), &err);
    json_decref(p);
    p = NULL;
    CHECK_INT(sb_jwt_verify(jwt, jwks_other, &p, NULL, &err), SB_E_NOTFOUND);
    CHECK_CONTAINS(err.msg, "no key with kid");
    /* flipping any character of the header or payload, or of the signature, fails */
    size_t n = strlen(jwt);
    const char *dot2 = strrchr(jwt, '.');
    size_t sig_at = (size_t)(dot2 - jwt) + 1;
    size_t probes[] = {0, 5, strchr(jwt, '.') - jwt + 3, sig_at - 5, sig_at + 2, n - 2};
    for (size_t i = 0; i < SB_ARRAY_LEN(probes); i++) {
        char *t = strdup(jwt);
        t[probes[i]] = t[probes[i]] == 'A' ? 'B' : 'A';
        p = NULL;
        int rc = sb_jwt_verify(t, jwks, &p, NULL, &err);
        CHECK_MSG(rc < 0, "tampered at %zu accepted", probes[i]);
        CHECK(p == NULL);
        free(t);
    }
    /* alg none / alg not matching the key / malformed shapes */
    static const char *const bad[] = {
        "eyJhbGciOiJub25lIiwia2lkIjoieCJ9.e30.",       /* {"alg":"none","kid":"x"} */
        "eyJhbGciOiJFUzM4NCIsImtpZCI6IngifQ.e30.AAAA", /* ES384, unknown kid */
        "abc",
        "a.b",
        "a.b.c.d",
        "..",
        "!!!.e30.AAAA",
    };
    for (size_t i = 0; i < SB_ARRAY_LEN(bad); i++) {
        p = NULL;
        CHECK_MSG(sb_jwt_verify(bad[i], jwks, &p, NULL, &err) < 0, "accepted %s", bad[i]);
        CHECK(p == NULL);
    }
    /* an ES384 header on an ES256 key is refused before any signature math */
    {
        char h[256];
        char *hb;
        snprintf(h, sizeof(h), "{\"alg\":\"ES384\",\"kid\":\"%s\"}", sb_token_key_kid(k));
        hb = sb_base64url_encode((const uint8_t *)h, strlen(h));
        char t[2048];
        snprintf(t, sizeof(t), "%s%s", hb, strchr(jwt, '.'));
        p = NULL;
        CHECK_INT(sb_jwt_verify(t, jwks, &p, NULL, &err), SB_E_SIGNATURE);
        CHECK_CONTAINS(err.msg, "does not match the ES256 key");
        free(hb);
    }
    free(jwt);
    json_decref(jwks);
    json_decref(jwks_other);
    sb_token_key_free(k);
    sb_token_key_free(other);
}

TEST(ear_check_refuses_non_ear) {
    static const char *const bad[] = {
        "{}",
        "{\"eat_profile\": \"other\", \"iat\": 1}",
        "{\"eat_profile\": \"tag:github.com,2023:veraison/ear\", \"iat\": 1, \"ear.verifier-id\": "
        "{}, \"submods\": {}}",
        "{\"eat_profile\": \"tag:github.com,2023:veraison/ear\", \"iat\": 1, \"ear.verifier-id\": "
        "{}, \"submods\": {\"x\": {\"ear.status\": \"great\", \"ear.trustworthiness-vector\": "
        "{}}}}",
        "{\"eat_profile\": \"tag:github.com,2023:veraison/ear\", \"iat\": 1, \"ear.verifier-id\": "
        "{}, \"submods\": {\"x\": {\"ear.status\": \"affirming\", \"ear.trustworthiness-vector\": "
        "{\"hardware\": 500}}}}",
    };
    for (size_t i = 0; i < SB_ARRAY_LEN(bad); i++) {
        json_t *p = json_loads(bad[i], 0, NULL);
        sb_error err = {0};
        CHECK_MSG(sb_ear_check(p, &err) == SB_E_MALFORMED, "accepted %s", bad[i]);
        json_decref(p);
    }
}

TEST(non_ec_keys_are_refused) {
    sb_privkey *pk = NULL;
    char *pem = NULL;
    sb_error err = {0};
    CHECK_OK(sb_privkey_generate_ed25519(&pk, &err), &err);
    CHECK_OK(sb_privkey_to_pem(pk, &pem, &err), &err);
    sb_token_key *k = NULL;
    if (pem)
        CHECK_INT(sb_token_key_from_pem((const uint8_t *)pem, strlen(pem), &k, &err),
                  SB_E_UNSUPPORTED);
    CHECK(k == NULL);
    free(pem);
    sb_privkey_free(pk);
}
