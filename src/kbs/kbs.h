/* kbs: the key broker — Trustee's KBS protocol 0.4.0 (request parsing, sessions, the binding
 * check), the resource policy, the master key and sealed resources, the broker steps the
 * daemon's monitor runs (token issue, resource release), and the client. */
#ifndef SB_KBS_H
#define SB_KBS_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "attester/attester.h"
#include "policy/policy.h"
#include "sandbox/sandbox.h"
#include "store/store.h"
#include "token/token.h"
#include "util/util.h"

#define SB_KBS_PROTOCOL_VERSION "0.4.0" /* the one client version Trustee accepts */
#define SB_KBS_NONCE_LEN 32             /* random bytes in a challenge nonce */
#define SB_KBS_SESSION_ID_LEN 40        /* hex characters of a session id */
#define SB_KBS_COOKIE "kbs-session-id"
#define SB_KBS_ERROR_PREFIX "https://github.com/confidential-containers/kbs/errors/"
#define SB_KBS_AUTH_MAX 4096u            /* bytes of an auth request */
#define SB_KBS_ATTEST_MAX (512u * 1024)  /* bytes of an attest request */
#define SB_KBS_RESOURCE_MAX (64u * 1024) /* bytes of one resource value */
#define SB_KBS_TEE_MAX 31
#define SB_KBS_COOKIE_MAX 8192u
#define SB_KBS_CLAIMS_MAX (96u * 1024)  /* normalized claims sent to the monitor */
#define SB_KBS_RUNTIME_MAX (16u * 1024) /* the runtime-data object */
#define SB_KBS_TOKEN_MAX (128u * 1024)  /* an EAR token the broker reads back */
#define SB_KBS_SESSION_TTL_DEFAULT 300  /* seconds, as Trustee */
#define SB_KBS_TOKEN_TTL_DEFAULT 300
#define SB_KBS_MASTER_KEY_FILE "kbs-master.key"
#define SB_KBS_TOKEN_KEY_FILE "kbs-token.pem"

/* ---- protocol messages (untrusted; parsed by the daemon's front) ------------------------- */

/* POST /kbs/v0/auth: {"version": "0.4.0", "tee": "...", "extra-params": ...}. The version must
 * be exactly 0.4.0 as a semantic version (build metadata is ignored, as semver does). */
struct sb_kbs_auth {
    char tee[SB_KBS_TEE_MAX + 1];
};
int sb_kbs_parse_auth(const uint8_t *p, size_t n, struct sb_kbs_auth *out, sb_error *err) SB_WUR;
/* The verifier platform for a KBS tee name ("snp" → "snp", "az-snp-vtpm" → "azure-snp-vtpm",
 * "sealbox-software" → "software", ...); NULL for a tee sealbox has no verifier for. */
const char *sb_kbs_tee_platform(const char *tee);
/* Whether name is a tee value the protocol defines (or sealbox adds). */
bool sb_kbs_tee_known(const char *tee);

/* POST /kbs/v0/attest: {"runtime-data": {"nonce", "tee-pubkey"[, "sealbox-log"]},
 * "tee-evidence": {"primary_evidence": any, "additional_evidence": string[, "sealbox_log":
 * exported measurement log]}, "init-data"?: {"format", "body"}}. */
struct sb_kbs_attest {
    json_t *root;             /* the parsed body (owned) */
    const char *nonce;        /* base64 */
    const json_t *tee_pubkey; /* checked with sb_jwe_check_pubkey */
    const json_t *primary;    /* primary_evidence */
    const char *additional;   /* additional_evidence ("" when absent) */
    const char *log_digest;   /* runtime-data sealbox-log, NULL when absent */
    const json_t *log;        /* tee-evidence sealbox_log, NULL when absent */
    json_t *runtime_data;     /* the binding object (owned) */
};
int sb_kbs_parse_attest(const uint8_t *p, size_t n, struct sb_kbs_attest *out,
                        sb_error *err) SB_WUR;
void sb_kbs_attest_clear(struct sb_kbs_attest *a);
/* The primary evidence as the bytes a verifier reads: a JSON string is taken as it is (after
 * base64 decoding when it is base64 of a binary report), anything else is its compact JSON. */
int sb_kbs_evidence_bytes(const json_t *primary, uint8_t **out, size_t *n, sb_error *err) SB_WUR;
/* Checks that claims.report_data starts with the binding digest of runtime_data and that the
 * rest is zero (the platform's padding). */
int sb_kbs_check_binding(const json_t *claims, const json_t *runtime_data, sb_error *err) SB_WUR;

/* "kbs-session-id=<id>" out of a Cookie header (other cookies are skipped). */
int sb_kbs_cookie_session(const char *cookie_header, char id[SB_KBS_SESSION_ID_LEN + 1],
                          sb_error *err) SB_WUR;

/* ---- sessions (the front's memory) ------------------------------------------------------ */

/* A fixed table: a session id names its slot, so lookups are constant time; when the table is
 * full the oldest session is dropped. */
typedef struct sb_kbs_sessions sb_kbs_sessions;
enum sb_kbs_session_state { SB_KBS_S_AUTHED, SB_KBS_S_ATTESTING, SB_KBS_S_ATTESTED };
struct sb_kbs_session {
    char id[SB_KBS_SESSION_ID_LEN + 1];
    char tee[SB_KBS_TEE_MAX + 1];
    char nonce[48];      /* base64 of SB_KBS_NONCE_LEN bytes */
    uint64_t expires_ns; /* monotonic */
    enum sb_kbs_session_state state;
    char *token; /* after attestation */
    bool used;
};
int sb_kbs_sessions_new(size_t capacity, sb_kbs_sessions **out, sb_error *err) SB_WUR;
void sb_kbs_sessions_free(sb_kbs_sessions *t);
/* A new session with a fresh nonce, valid for ttl_s seconds from now_ns. */
int sb_kbs_session_create(sb_kbs_sessions *t, const char *tee, unsigned ttl_s, uint64_t now_ns,
                          struct sb_kbs_session **out, sb_error *err) SB_WUR;
/* The live session with this id; SB_E_NOTFOUND (unknown) or SB_E_POLICY (expired, then
 * dropped), with the reason. */
int sb_kbs_session_find(sb_kbs_sessions *t, const char *id, uint64_t now_ns,
                        struct sb_kbs_session **out, sb_error *err) SB_WUR;
void sb_kbs_session_drop(sb_kbs_sessions *t, struct sb_kbs_session *s);
size_t sb_kbs_sessions_live(const sb_kbs_sessions *t);

/* ---- the resource policy (docs/secrets.md) --------------------------------------------- */

typedef struct sb_kbs_rpolicy sb_kbs_rpolicy;
int sb_kbs_rpolicy_parse(const char *json, size_t len, sb_kbs_rpolicy **out, sb_error *err) SB_WUR;
/* The default: every resource needs an affirming, secure, untainted result. */
int sb_kbs_rpolicy_default(sb_kbs_rpolicy **out, sb_error *err) SB_WUR;
void sb_kbs_rpolicy_free(sb_kbs_rpolicy *p);
/* Evaluates the verified EAR claims-set for a resource path. 0 when released; SB_E_POLICY with
 * the failed requirement in err ("resource default/key/a, rule 0 (default/ * /a): image digest
 * sha256:… is not in the allowed set"); other codes for internal errors. */
int sb_kbs_rpolicy_eval(const sb_kbs_rpolicy *p, const char *path, const json_t *ear,
                        sb_error *err) SB_WUR;

/* ---- the master key and sealed resources ------------------------------------------------ */

#define SB_KBS_MASTER_LEN 32
typedef struct sb_kbs_master {
    uint8_t *key; /* sb_secret_alloc, SB_KBS_MASTER_LEN */
    char id[17];  /* hex of the first 8 bytes of HMAC(key, "sealbox kbs master key id") */
} sb_kbs_master;

/* Where the master key lives when a TPM is configured: <state_dir>/kbs-master.sealed, the key
 * sealed to that TPM under PolicyPCR (sb_tpm_seal: the blob names its bank and PCRs). */
#define SB_KBS_MASTER_SEALED_FILE "kbs-master.sealed"
#define SB_KBS_MASTER_TPM_PCRS_DEFAULT (1u << 7) /* sha256:7, the Secure Boot state */
struct sb_kbs_master_tpm {
    const char *tcti; /* as sb_tpm_config.tcti; NULL: device:/dev/tpmrm0 */
    uint16_t bank;    /* for a new seal (SB_TPM_ALG_*); 0: SHA-256 */
    uint32_t pcrs;    /* for a new seal (bit i = PCR i); 0: SB_KBS_MASTER_TPM_PCRS_DEFAULT */
};

/* Loads <state_dir>/kbs-master.key, creating it (0600, O_EXCL) from the CSPRNG when absent;
 * refuses one of the wrong size or readable by group or others. A key file left by an
 * interrupted rotation (kbs-master.key.new) is finished or discarded first. Refuses
 * (SB_E_POLICY) when the key is sealed to a TPM (kbs-master.sealed exists). */
int sb_kbs_master_load(const char *state_dir, sb_store *st, sb_kbs_master *out,
                       sb_error *err) SB_WUR;
/* The same with tpm: the key is kbs-master.sealed, unsealed by that TPM (SB_E_POLICY naming the
 * PCRs when one of them changed since sealing); a first start seals a fresh key; a key file
 * from before the TPM was configured is sealed and then removed (a leftover file holding the
 * same key is removed, one holding another is refused). tpm NULL: sb_kbs_master_load. */
int sb_kbs_master_load_at(const char *state_dir, const struct sb_kbs_master_tpm *tpm, sb_store *st,
                          sb_kbs_master *out, sb_error *err) SB_WUR;
void sb_kbs_master_clear(sb_kbs_master *m);
/* Seals value for path (AES-256-GCM, random 96-bit IV, AAD binds path and key id) and stores it. */
int sb_kbs_resource_put(sb_store *st, const sb_kbs_master *m, const char *path,
                        const uint8_t *value, size_t n, sb_error *err) SB_WUR;
/* Opens the resource; *value is sb_secret_alloc memory of *n (+1, NUL) bytes: free with
 * sb_secret_free(*value, *n + 1). SB_E_NOTFOUND, or SB_E_USAGE when another master key
 * sealed it (the caller may reload the key file and retry). */
int sb_kbs_resource_get(sb_store *st, const sb_kbs_master *m, const char *path, uint8_t **value,
                        size_t *n, sb_error *err) SB_WUR;
/* Re-seals every resource under a new master key, in one transaction, and replaces the key
 * file (the new key is written beside it first, so a crash leaves something to finish). */
int sb_kbs_rotate_master_key(const char *state_dir, sb_store *st, size_t *count,
                             sb_error *err) SB_WUR;
/* The same for a TPM-sealed key: the new key is sealed (kbs-master.sealed.new, then renamed)
 * under tpm's bank and PCRs. */
int sb_kbs_rotate_master_key_at(const char *state_dir, const struct sb_kbs_master_tpm *tpm,
                                sb_store *st, size_t *count, sb_error *err) SB_WUR;

/* ---- the broker (the daemon's monitor) ------------------------------------------------- */

typedef struct sb_kbs_broker sb_kbs_broker;
struct sb_kbs_broker_cfg {
    const char *state_dir;
    sb_store *store; /* not owned */
    bool local;      /* the KBS runs beside the sandboxes it judges: tokens say so */
    unsigned token_ttl_s;
    const struct sb_kbs_master_tpm *master_tpm; /* the master key sealed to a TPM; NULL: file */
};
int sb_kbs_broker_new(const struct sb_kbs_broker_cfg *cfg, sb_kbs_broker **out,
                      sb_error *err) SB_WUR;
void sb_kbs_broker_free(sb_kbs_broker *b);
/* The public JWKS of the token key. */
int sb_kbs_broker_jwks(const sb_kbs_broker *b, json_t **out, sb_error *err) SB_WUR;

/* A result with an HTTP status and, on failure, Trustee's error type and a detail. */
struct sb_kbs_result {
    int status;
    const char *type; /* "AttestationError", "PolicyDeny", ... (NULL on success) */
    char detail[SB_ERRMSG_MAX + 64];
    json_t *body; /* on success */
};
void sb_kbs_result_clear(struct sb_kbs_result *r);
/* The RFC 7807 body of a failed result: {"type": prefix + type, "detail"}. */
json_t *sb_kbs_problem_json(const char *type, const char *detail);

/* Issues a token for verified claims: re-checks the binding, appraises the claims with the
 * attestation policy, and signs an EAR token that carries the runtime data (tee-pubkey) and
 * says local/remote. body = {"token": "..."}. */
int sb_kbs_broker_attest(sb_kbs_broker *b, const char *tee, const json_t *claims,
                         const json_t *runtime_data, int64_t now, struct sb_kbs_result *res,
                         sb_error *err) SB_WUR;
/* Releases a resource: verifies the token with the broker's own key (signature, expiry),
 * evaluates the resource policy on its claims, opens the resource and encrypts it as a JWE to
 * the tee-pubkey inside the token. body = the flattened JWE. */
int sb_kbs_broker_resource(sb_kbs_broker *b, const char *token, const char *path, int64_t now,
                           struct sb_kbs_result *res, sb_error *err) SB_WUR;

/* Admin operations. */
enum sb_kbs_admin_op {
    SB_KBS_ADM_RESOURCE_PUT,
    SB_KBS_ADM_RESOURCE_DELETE,
    SB_KBS_ADM_RESOURCE_LIST,
    SB_KBS_ADM_RPOLICY_SET,
    SB_KBS_ADM_RPOLICY_GET,
    SB_KBS_ADM_RPOLICY_DELETE,
    SB_KBS_ADM_APOLICY_SET,
    SB_KBS_ADM_APOLICY_GET,
    SB_KBS_ADM_APOLICY_DELETE,
    SB_KBS_ADM_MAX
};
/* An authenticated admin's request (the daemon's monitor checks the admin key first). */
int sb_kbs_broker_admin(sb_kbs_broker *b, enum sb_kbs_admin_op op, const char *path,
                        const uint8_t *body, size_t n, struct sb_kbs_result *res,
                        sb_error *err) SB_WUR;

/* ---- the client ------------------------------------------------------------------------- */

/* Produces evidence binding runtime_data (an sb_attester does: see src/attester). */
typedef int (*sb_kbs_evidence_fn)(void *arg, const json_t *runtime_data, json_t **evidence,
                                  sb_error *err);
struct sb_kbs_client_opts {
    const char *url;         /* "http://host:port" or "https://…" (the /kbs/v0 is added) */
    const char *unix_socket; /* optional: HTTP over this unix socket (url names the host) */
    const char *ca_file;     /* optional: trust anchors for https */
    const char *tee;         /* the attester's KBS tee name ("snp", "sealbox-software", …) */
    sb_kbs_evidence_fn evidence;
    void *evidence_arg;
    const char *log_json; /* optional: the exported measurement log to present */
    size_t log_len;
    long timeout_s; /* per request (default 30) */
};
/* The client's transport: one HTTP request to <KBS URL>/kbs/v0/<route> (method "GET" or
 * "POST", body NULL for GET); *status and the response body (in resp, whose limit the caller
 * set) are filled for any HTTP status. It keeps the session cookie between the requests of one
 * handshake. */
#define SB_KBS_RESPONSE_MAX (1u << 20)
struct sb_kbs_transport {
    int (*request)(void *arg, const char *method, const char *route, const char *body,
                   size_t body_len, long *status, sb_writer *resp, sb_error *err);
    void *arg;
};
/* The handshake of sb_kbs_client_get over any transport (sealbox-init uses its relay to the
 * host; o->url, unix_socket, ca_file and timeout_s are the transport's business). */
int sb_kbs_client_run(const struct sb_kbs_client_opts *o, const struct sb_kbs_transport *t,
                      const char *path, uint8_t **value, size_t *n, sb_error *err) SB_WUR;
/* The libcurl transport (client_curl.c): o->url, unix_socket, ca_file, timeout_s. */
typedef struct sb_kbs_http sb_kbs_http;
int sb_kbs_http_new(const struct sb_kbs_client_opts *o, sb_kbs_http **out, sb_error *err) SB_WUR;
void sb_kbs_http_free(sb_kbs_http *h);
void sb_kbs_http_transport(sb_kbs_http *h, struct sb_kbs_transport *out);

/* The whole handshake: auth → attest (a fresh P-256 TEE key; evidence bound to the nonce, the
 * key and the log digest) → resource → JWE decrypted with the ephemeral key, which is then
 * destroyed. *value is malloc'ed (NUL one past *n). A refusal carries the KBS's status, error
 * type and detail (SB_E_POLICY for 403, SB_E_NOTFOUND for 404, SB_E_SIGNATURE for 401). */
int sb_kbs_client_get(const struct sb_kbs_client_opts *o, const char *path, uint8_t **value,
                      size_t *n, sb_error *err) SB_WUR;

/* ---- the relay: the host side of sealbox-init's handshake (docs/secrets.md) ---------------
 * A sandbox has no network, so the process that owns it (sealbox run, the daemon's monitor)
 * relays sealbox-init's KBS requests: only to the one configured KBS URL and only Trustee's
 * three routes (POST auth, POST attest, GET resource/<repo>/<type>/<tag>). Evidence is made by
 * the host's attester, over init's runtime data checked member by member: the nonce must be
 * the one the KBS just gave (single use), and sealbox-log the digest of the host's own
 * measurement log — never a digest init chose. */
#define SB_KBS_RELAY_MAX_BODY (120u * 1024) /* bytes relayed either way (one init frame) */
struct sb_kbs_relay_cfg {
    const char *url, *unix_socket, *ca_file; /* the KBS (as sb_kbs_client_opts) */
    long timeout_s;
    sb_attester *attester; /* not owned */
    const sb_mlog *log;    /* the sandbox's log (not owned; it may grow while relayed); NULL
                              for a relay answered with sb_kbs_relay_answer_log only */
};
typedef struct sb_kbs_relay sb_kbs_relay;
int sb_kbs_relay_new(const struct sb_kbs_relay_cfg *cfg, sb_kbs_relay **out, sb_error *err) SB_WUR;
void sb_kbs_relay_free(sb_kbs_relay *r);
/* An sb_sandbox_relay_fn (arg: the relay): one reply frame for one request frame. A request
 * that is refused is answered with the refusal (never dropped), so init can report it. */
int sb_kbs_relay_answer(void *relay, const struct sb_msg *req, sb_writer *reply);
/* The same with a snapshot of the sandbox's log that the caller took when the request arrived
 * (the daemon's monitor answers on a worker thread while its loop may add events): its export
 * (JSON, len) and digest ("sha384:…"). Requests of one relay must not run at once. */
struct sb_kbs_relay_log {
    const char *json;
    size_t len;
    const char *digest;
};
int sb_kbs_relay_answer_log(sb_kbs_relay *r, const struct sb_msg *req,
                            const struct sb_kbs_relay_log *log, sb_writer *reply);
/* The checks, exposed for tests and the fuzz target: a route init may ask for, and the
 * runtime data init asks the host to attest (*out: the parsed object). */
int sb_kbs_relay_check_route(int method, const char *route, sb_error *err) SB_WUR;
int sb_kbs_relay_check_runtime(const uint8_t *p, size_t n, const char *nonce,
                               const char *log_digest, json_t **out, sb_error *err) SB_WUR;

#endif
