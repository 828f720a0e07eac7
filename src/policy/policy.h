/* policy: reference values and appraisal rules over normalized claims (src/verify/verify.h)
 * → affirming / warning / contraindicated, an AR4SI trustworthiness vector, and reasons. */
#ifndef SB_POLICY_H
#define SB_POLICY_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/util.h"

#define SB_POLICY_MAX_SIZE (1u << 20) /* bytes of policy JSON */
#define SB_POLICY_MAX_VALUES 1024     /* entries in one allowed set */

/* Appraisal tiers, worst last (draft-ietf-rats-ar4si §2.3.3). */
enum sb_tier {
    SB_TIER_NONE,
    SB_TIER_AFFIRMING,
    SB_TIER_WARNING,
    SB_TIER_CONTRAINDICATED,
    SB_TIER_MAX
};

/* The eight AR4SI trustworthiness claims, in the draft's order. */
enum sb_trust_claim {
    SB_TC_INSTANCE_IDENTITY,
    SB_TC_CONFIGURATION,
    SB_TC_EXECUTABLES,
    SB_TC_FILE_SYSTEM,
    SB_TC_HARDWARE,
    SB_TC_RUNTIME_OPAQUE,
    SB_TC_STORAGE_OPAQUE,
    SB_TC_SOURCED_DATA,
    SB_TC_MAX
};

/* AR4SI codes used by sealbox (values from the draft; 0 is "no claim"). */
enum {
    SB_AR_NONE = 0,
    SB_AR_AFFIRMING = 2,          /* every claim: recognized/approved/genuine */
    SB_AR_WARN_UNSAFE = 32,       /* config/hardware with known vulnerabilities;
                                     runtime-opaque: isolated but not encrypted */
    SB_AR_WARN_UNRECOGNIZED = 33, /* executables: not recognized (not in the allowed set) */
    SB_AR_CONTRAINDICATED = 96,   /* config unsupportable, hardware contraindicated,
                                     instance untrustworthy, memory visible */
    SB_AR_UNRECOGNIZED_HW = 97,   /* hardware/instance not recognized though it should be */
};

const char *sb_tier_name(enum sb_tier t);               /* "affirming", ... ("none") */
const char *sb_trust_claim_name(enum sb_trust_claim c); /* "instance-identity", ... */
/* The tier an AR4SI code falls in: 2..31 affirming, 32..95 warning, 96..127 contraindicated,
 * anything else (0, 1, negative) none. */
enum sb_tier sb_ar4si_tier(int code);

typedef struct sb_policy sb_policy;

/* Parses and validates a policy (docs/policy.md); unknown keys, wrong types and bad hex are
 * SB_E_MALFORMED naming the key. default_id names it when it has no "id". */
int sb_policy_parse(const char *json, size_t len, const char *default_id, sb_policy **out,
                    sb_error *err) SB_WUR;
int sb_policy_load(const char *path, sb_policy **out, sb_error *err) SB_WUR;
/* The secure defaults used when no policy is given (id "sealbox-default"). */
int sb_policy_default(sb_policy **out, sb_error *err) SB_WUR;
const char *sb_policy_id(const sb_policy *p);
void sb_policy_free(sb_policy *p);

/* What the caller knows beyond the claims. */
struct sb_appraise_ctx {
    int64_t at;           /* verification time, Unix seconds */
    const uint8_t *nonce; /* --nonce (NULL: none) */
    size_t nonce_len;
};

struct sb_appraisal {
    enum sb_tier status;
    int vector[SB_TC_MAX]; /* AR4SI codes */
    /* [{"claim": "measurements.measurement", "trust_claim": "executables", "code": 33,
     *   "tier": "warning", "message": "measurements.measurement = ab.. not in allowed set [..]"}]
     */
    json_t *reasons;
    json_t *notes; /* ["debug allowed by policy", ...]: accepted deviations, for the record */
    char policy_id[128];
};

/* Appraises authenticated claims. Fails only on internal errors; anything the claims lack or
 * contradict becomes a reason. */
int sb_policy_appraise(const sb_policy *p, const json_t *claims, const struct sb_appraise_ctx *ctx,
                       struct sb_appraisal *out, sb_error *err) SB_WUR;
void sb_appraisal_clear(struct sb_appraisal *a);
/* {"status", "policy_id", "trustworthiness_vector": {name: code}, "reasons", "notes"} */
json_t *sb_appraisal_json(const struct sb_appraisal *a);

/* The runtime-data binding of docs/architecture.md: SHA-384 over the JCS-canonical JSON of
 * {"tee-pubkey": JWK, "nonce": string, "additional-evidence": string[, "sealbox-log": string]}
 * (Trustee's construction; a missing additional-evidence is ""). */
int sb_policy_binding_digest(const json_t *runtime_data, uint8_t out[48], sb_error *err) SB_WUR;

#endif
