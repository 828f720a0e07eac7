/* verify: authenticates evidence from each TEE platform (signatures, vendor chains, TCB,
 * collateral) and turns it into one normalized claims object shared by every platform. */
#ifndef SB_VERIFY_H
#define SB_VERIFY_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "crypto/crypto.h"
#include "evidence/evidence.h"
#include "util/util.h"

/* One input file: its name (for messages and sniffing) and its bytes. */
struct sb_blob {
    const char *name;
    const uint8_t *data;
    size_t len;
};

struct sb_verify_opts {
    int64_t at;                  /* verification time, Unix seconds: never the clock */
    const struct sb_blob *certs; /* --certs: extra certificates (VCEK/VLEK, chains, AK) */
    size_t n_certs;
    const char *collateral_dir; /* --collateral: offline collateral (NULL: none) */
    const uint8_t *nonce;       /* --nonce: expected freshness value (NULL: none) */
    size_t nonce_len;
};

/* A platform verifier. sniff() returns > 0 when the evidence is unambiguously its format
 * (higher is surer), 0 otherwise; it must never fail on garbage. verify() returns 0 when the
 * evidence is authenticated (claims set), or a negative code: SB_E_TRUNCATED / MALFORMED /
 * LIMIT / UNSUPPORTED when it cannot be read, SB_E_SIGNATURE / SB_E_CHAIN when it cannot be
 * authenticated. Appraisal (is this *acceptable*?) is policy's job, not the verifier's; a
 * verifier records what it saw (debug bit, TCB status, …) as claims and warnings. */
struct sb_verifier {
    const char *name; /* "snp", "tdx", "sgx", "nitro", "tpm", "nvidia", "azure-snp-vtpm", … */
    int (*sniff)(const struct sb_blob *ev, size_t n_ev);
    int (*verify)(const struct sb_verify_opts *o, const struct sb_blob *ev, size_t n_ev,
                  json_t **claims, sb_error *err);
};

/* ---- the platform verifiers (each platform owns its line) -------------------------------- */

/* ==== AMD SEV-SNP ==== */
/* Raw reports, hex, configfs-tsm JSON captures and Trustee SnpEvidence JSON (src/verify/snp.c;
 * docs/verify-snp.md). Certificates come from the evidence (auxblob, cert_chain), from further
 * EVIDENCE files and from --certs; the AMD ARK/ASK/ASVK of Milan, Genoa and Turin are pinned. */
extern const struct sb_verifier sb_verifier_snp;

/* Long-lived SNP verification state: the pinned anchors parsed once and a small cache of
 * verified VCEK/VLEK chains (keyed by the exact certificate bytes offered; a cached chain is
 * reused only at times inside every certificate's validity window). Not thread-safe. */
typedef struct sb_snp_verifier sb_snp_verifier;
int sb_snp_verifier_new(sb_snp_verifier **out, sb_error *err) SB_WUR;
void sb_snp_verifier_free(sb_snp_verifier *v);

/* Verifies one raw SNP report (e.g. taken out of an Azure HCL report) with certificate blobs
 * (DER or PEM, bundles allowed: VCEK/VLEK and optionally ASK/ASVK/ARK) plus o->certs, and
 * fills the SNP claims into claims (made by the caller with sb_claims_new). v may be NULL (a
 * temporary state is used). Errors: SB_E_TRUNCATED/MALFORMED/LIMIT/UNSUPPORTED (unreadable),
 * SB_E_CHAIN (certificates: missing, wrong product, not chaining to the pinned ARK, outside
 * their validity at o->at), SB_E_SIGNATURE (report signature, REPORTED_TCB or CHIP_ID not
 * matching the VCEK/VLEK). */
int sb_snp_verify_report(sb_snp_verifier *v, const struct sb_verify_opts *o, const uint8_t *report,
                         size_t len, const struct sb_blob *certs, size_t n_certs, json_t *claims,
                         sb_error *err) SB_WUR;
/* Any SNP evidence form in ev[0]; ev[1..] are further certificate files. *claims is new. */
int sb_snp_verify_evidence(sb_snp_verifier *v, const struct sb_verify_opts *o,
                           const struct sb_blob *ev, size_t n_ev, json_t **claims,
                           sb_error *err) SB_WUR;
/* ==== Intel TDX / SGX ==== */
/* DCAP quotes: TDX v4/v5 ("tdx") and SGX v3/v4/v5 ("sgx"); docs/verify-dcap.md. Collateral
 * (TCB info, QE identity, CRLs, TCB-signing chains, dcap-qvl bundles) is taken by content from
 * every extra evidence file, every --certs file and every file of --collateral DIR. */
extern const struct sb_verifier sb_verifier_tdx;
extern const struct sb_verifier sb_verifier_sgx;
/* The pinned Intel SGX Root CA (PEM) and its SHA-256 fingerprint (lower-case hex). */
extern const char SB_INTEL_SGX_ROOT_PEM[];
extern const char SB_INTEL_SGX_ROOT_SHA256[];
/* A collateral store: reusable across verifications (it caches verified signatures of the
 * collateral and verified PCK chains per verification time), never shared between threads. */
typedef struct sb_dcap_collateral sb_dcap_collateral;
int sb_dcap_collateral_new(sb_dcap_collateral **out, sb_error *err) SB_WUR;
/* Adds one file by content. *used says whether it was collateral; a file that looks like
 * collateral but is malformed is an error when strict, else noted and skipped. */
int sb_dcap_collateral_add(sb_dcap_collateral *c, const char *name, const uint8_t *p, size_t n,
                           bool strict, bool *used, sb_error *err) SB_WUR;
/* Adds every regular file of dir (not recursive; files over 1 MiB are skipped). */
int sb_dcap_collateral_add_dir(sb_dcap_collateral *c, const char *dir, sb_error *err) SB_WUR;
void sb_dcap_collateral_free(sb_dcap_collateral *c);
/* Verifies one quote (raw bytes) at `at` with the collateral in c (which may hold none) and
 * builds its claims. platform "tdx" or "sgx" requires that kind of quote (NULL: either). */
int sb_dcap_verify(sb_dcap_collateral *c, const uint8_t *quote, size_t n, int64_t at,
                   const char *platform, json_t **claims, sb_error *err) SB_WUR;
/* The generic path with warm state (sb_verify_ctx): ev holds the quote and, as further files,
 * collateral or a CCEL; collateral also comes from o->certs and every file of
 * o->collateral_dir (read again on every call). The collateral store (its verified signatures,
 * PCK chains per verification time, prepared verifiers) is reused only when every one of those
 * inputs is byte-identical, in the same order and under the same name, to the ones it was built
 * from; otherwise a new store is built. w NULL: a store for this call only (the stateless
 * "tdx"/"sgx" verifiers). platform "tdx" or "sgx" as for sb_dcap_verify. Not thread-safe. */
typedef struct sb_dcap_warm sb_dcap_warm;
int sb_dcap_warm_new(sb_dcap_warm **out, sb_error *err) SB_WUR;
void sb_dcap_warm_free(sb_dcap_warm *w);
int sb_dcap_verify_evidence(sb_dcap_warm *w, const struct sb_verify_opts *o,
                            const struct sb_blob *ev, size_t n_ev, const char *platform,
                            json_t **claims, sb_error *err) SB_WUR;
/* ==== AWS Nitro ==== */
/* Nitro Enclaves attestation documents (raw CBOR or base64): COSE_Sign1 ES384 signature by the
 * leaf certificate, chain leaf <- cabundle[n-1] <- ... <- cabundle[0] == the pinned AWS Nitro
 * Enclaves Root G1, all at o->at; PCRs, debug (PCR0..2 all zero), nonce (checked against
 * o->nonce when given), user_data, public_key as claims (docs/verify-nitro.md). */
extern const struct sb_verifier sb_verifier_nitro;
extern const char sb_nitro_root_g1_pem[];
extern const uint8_t sb_nitro_root_g1_sha256[32];
struct sb_cert;
/* A verification context: the trust anchors (roots NULL: the pinned AWS root; others are for
 * tests and private deployments) and a small cache of CA bundles already verified, so a warm
 * verification checks only the COSE signature and the leaf against its cached issuer. */
typedef struct sb_nitro_ctx sb_nitro_ctx;
int sb_nitro_ctx_new(struct sb_cert *const *roots, size_t n_roots, sb_nitro_ctx **out,
                     sb_error *err) SB_WUR;
void sb_nitro_ctx_free(sb_nitro_ctx *c);
/* Verifies one document (raw or base64) at o->at; *claims as for every verifier. */
int sb_nitro_verify(sb_nitro_ctx *c, const struct sb_verify_opts *o, const uint8_t *doc, size_t n,
                    json_t **claims, sb_error *err) SB_WUR;
/* ==== NVIDIA ==== */
/* NVIDIA GPU / NVSwitch SPDM 1.1 measurement reports: a hex (or binary) report with its PEM
 * chain (a second evidence file or --certs), or the attestation SDK's JSON evidence list (one
 * entry per device). P-384 signature by the device leaf, chain to the pinned NVIDIA Device
 * Identity CA at o->at, FWID binding, nonce (o->nonce, 32 bytes); measurements "block<N>"
 * ("gpu<i>.block<N>" for several devices). OCSP and RIMs are reported as unchecked
 * (docs/verify-nvidia.md). */
extern const struct sb_verifier sb_verifier_nvidia;
extern const char sb_nvidia_root_pem[];
extern const uint8_t sb_nvidia_root_sha256[32];
/* A verification context: the pinned root parsed once and a cache of verified device chains
 * (keyed by the exact chain bytes offered, used only at times inside every certificate's
 * window), so a warm verification checks the SPDM signature and the FWID binding only. Not
 * thread-safe. The verifier-table entry uses a fresh context per call. */
typedef struct sb_nvidia_ctx sb_nvidia_ctx;
int sb_nvidia_ctx_new(sb_nvidia_ctx **out, sb_error *err) SB_WUR;
void sb_nvidia_ctx_free(sb_nvidia_ctx *c);
/* Verifies one piece of NVIDIA evidence (as the verifier-table entry does) with state c. */
int sb_nvidia_verify(sb_nvidia_ctx *c, const struct sb_verify_opts *o, const struct sb_blob *ev,
                     size_t n_ev, json_t **claims, sb_error *err) SB_WUR;
/* ==== TPM 2.0 / Azure vTPM ==== */

/* TPM 2.0 quotes in go-tpm-tools, go-attestation, Trustee and Azure containers (src/verify/tpm.c,
 * docs/verify-tpm.md); ev[1] may be a raw event log. Roots for an AK certificate come from
 * --certs (self-signed ones are roots, the others intermediates). */
extern const struct sb_verifier sb_verifier_tpm;
/* Azure SEV-SNP confidential VMs (src/verify/azure.c): the HCL report (SNP report + runtime
 * data with the vTPM AK, bound by report_data) with its vTPM quote, as separate files or as
 * Trustee's az-snp-vtpm evidence JSON; the VCEK from --certs, a file, or the JSON. */
extern const struct sb_verifier sb_verifier_azure_snp_vtpm;
/* Verifies the quotes of a parsed container into claims (made by the caller): with ak given
 * (Azure: the HCL report's AK) the container's own AK and AK certificate are not used. */
int sb_tpm_verify_parsed(const struct sb_verify_opts *o, const struct sb_tpm_evidence *ev,
                         const sb_pubkey *ak, json_t *claims, sb_error *err) SB_WUR;
/* Warm TPM state: the AKs (parsed TPMT_PUBLIC / SPKI and their EVP keys), event logs (parsed,
 * and the banks replayed so far) and verified AK certificate chains seen last, each keyed by
 * the exact bytes it came from (4 of each; a chain is reused only at times inside every
 * certificate's validity window). Only the quote and its signature are then checked anew.
 * Not thread-safe. */
typedef struct sb_tpm_ctx sb_tpm_ctx;
int sb_tpm_ctx_new(sb_tpm_ctx **out, sb_error *err) SB_WUR;
void sb_tpm_ctx_free(sb_tpm_ctx *c);
/* sb_tpm_verify_parsed with the warm state of c (NULL: none). */
int sb_tpm_verify_parsed_with(sb_tpm_ctx *c, const struct sb_verify_opts *o,
                              const struct sb_tpm_evidence *ev, const sb_pubkey *ak, json_t *claims,
                              sb_error *err) SB_WUR;
/* What the "tpm" verifier does (ev[0] a container, ev[1] an optional raw event log), with c. */
int sb_tpm_verify(sb_tpm_ctx *c, const struct sb_verify_opts *o, const struct sb_blob *ev,
                  size_t n_ev, json_t **claims, sb_error *err) SB_WUR;
/* The TPM name of a public area: nameAlg (u16, big-endian) || H_nameAlg(TPMT_PUBLIC); out holds
 * 2 + SB_HASH_MAX_LEN bytes. The tpm verifier reports it as platform_claims.ak_name (hex). */
int sb_tpm_public_name(const struct sb_tpm_public *pub, uint8_t *out, size_t *len,
                       sb_error *err) SB_WUR;

/* AK enrollment (src/verify/tpm_enroll.c, docs/secrets.md "TPM attester"): the verifier side
 * of credential activation. The registry is a directory (the KBS uses
 * <state dir>/tpm-enrolled/) holding one JSON record per enrolled AK, named by the AK's name
 * in hex. */
#define SB_TPM_CREDENTIAL_LEN 32u
#define SB_TPM_MAX_EK_CERT 4096u
/* The EK CAs: self-signed certificates are roots, the others intermediates. */
struct sb_tpm_ek_trust {
    sb_cert **roots, **inter;
    size_t n_roots, n_inter;
    int64_t at; /* verification time of the EK certificate chain */
};
/* From a PEM bundle (at most SB_VERIFY_MAX_FILES certificates). */
int sb_tpm_ek_trust_load(const uint8_t *pem, size_t n, int64_t at, struct sb_tpm_ek_trust *out,
                         sb_error *err) SB_WUR;
void sb_tpm_ek_trust_clear(struct sb_tpm_ek_trust *t);
/* One pending enrollment: what goes to the attester (challenge JSON {"credential",
 * "secret"}), and what the verifier keeps (the credential, the record to store). */
struct sb_tpm_enrollment {
    json_t *challenge;
    uint8_t credential[SB_TPM_CREDENTIAL_LEN];
    json_t *record; /* {"ak_name", "ak", "ek_cert_sha256", "ek_subject", "ek_issuer"} */
    char name_hex[2 * (2 + SB_HASH_MAX_LEN) + 1];
};
/* Checks the request ({"ek-cert", "ek-public", "ak"} of sb_tpm_enroll_request): the EK
 * certificate chains to trust at trust->at and certifies the RSA EK public area given; the
 * AK is a restricted, fixedTPM, TPM-generated signing key whose admin role needs its
 * authValue. Then MakeCredential: a fresh seed RSA-OAEP-encrypted to the EK (label
 * "IDENTITY"), a fresh 32-byte credential encrypted under KDFa(seed, "STORAGE", AK name) with
 * AES-CFB and sealed by HMAC(KDFa(seed, "INTEGRITY"), encIdentity || AK name). */
int sb_tpm_enroll_begin(const struct sb_tpm_ek_trust *trust, const json_t *request,
                        struct sb_tpm_enrollment *out, sb_error *err) SB_WUR;
/* The attester's answer must be the credential (constant-time): then the record is written
 * to dir (created 0700 if missing) and the AK is enrolled. */
int sb_tpm_enroll_finish(const char *dir, struct sb_tpm_enrollment *e, const uint8_t *answer,
                         size_t n, int64_t now, sb_error *err) SB_WUR;
void sb_tpm_enrollment_clear(struct sb_tpm_enrollment *e);
/* For claims of the tpm verifier: when platform_claims.ak_name is enrolled in dir, sets
 * platform_claims.ak_certified = true and ak_enrolled = true (and drops the "AK not
 * certified" warning); otherwise ak_enrolled = false and a warning naming the AK. Policy
 * then refuses an unenrolled AK unless allow_uncertified_ak. */
int sb_tpm_claims_apply_enrollment(const char *dir, json_t *claims, sb_error *err) SB_WUR;

/* Event-log replay (TPM PCR banks, TDX CCEL → RTMRs). Indexes are the log's own: for the CCEL,
 * index 0 is MRTD and RTMR[i] = value[i + 1]. */
#define SB_MR_MAX_INDEX 32u
struct sb_mr_bank {
    enum sb_hash hash;                               /* the bank replayed */
    uint32_t events[SB_MR_MAX_INDEX];                /* events extended into each index */
    uint8_t value[SB_MR_MAX_INDEX][SB_HASH_MAX_LEN]; /* first sb_hash_len(hash) bytes used */
};
/* The TPM algorithm id of a hash (SB_TPM_ALG_*), and back; -1 / SB_E_UNSUPPORTED when none. */
int sb_tpm_alg_of_hash(enum sb_hash h);
int sb_tpm_hash_of_alg(uint16_t alg, enum sb_hash *out) SB_WUR;
/* Replays every event of log except EV_NO_ACTION into a bank of hash h: each index starts at
 * zero (PCR 0 at the StartupLocality value when the log has that event), then
 * value = H(value || digest) per event. An event that lacks an h digest, or names an index
 * >= SB_MR_MAX_INDEX, fails the replay. */
int sb_eventlog_replay(const struct sb_eventlog *log, enum sb_hash h, struct sb_mr_bank *out,
                       sb_error *err) SB_WUR;
/* Parse (with flags, SB_EVENTLOG_*) and replay in one call. */
int sb_eventlog_replay_bytes(const uint8_t *p, size_t n, unsigned flags, enum sb_hash h,
                             struct sb_mr_bank *out, sb_error *err) SB_WUR;

/* ==== sealbox software evidence ==== */
/* The development attester's signed JSON (src/attester/software.c, docs/secrets.md): ES384 by
 * the P-384 key the evidence carries. Claims: platform "software", insecure = true. */
extern const struct sb_verifier sb_verifier_software;

/* ---- dispatch: the verifier table, format detection, loading (src/verify/verify.c) ------ */

#define SB_VERIFY_MAX_FILES 32u             /* EVIDENCE files plus --certs files, each */
#define SB_VERIFY_MAX_FILE_SIZE (64u << 20) /* one evidence, certificate or event-log file */

/* The registered verifiers, NULL-terminated, in table order. */
const struct sb_verifier *const *sb_verifiers(void);
/* The verifier named name, or NULL. */
const struct sb_verifier *sb_verifier_find(const char *name);
/* Picks the verifier whose sniff() scores highest; none, or a tie at the top, is
 * SB_E_UNSUPPORTED with a message naming the candidates. */
int sb_verify_detect(const struct sb_blob *ev, size_t n_ev, const struct sb_verifier **out,
                     sb_error *err) SB_WUR;
/* The same over another NULL-terminated table (tests, embedders with their own verifiers). */
int sb_verify_detect_in(const struct sb_verifier *const *table, const struct sb_blob *ev,
                        size_t n_ev, const struct sb_verifier **out, sb_error *err) SB_WUR;
/* Detects (platform NULL or "auto") or forces the verifier, then runs it. On success *claims
 * holds the normalized claims and *used (if non-NULL) the verifier that produced them. */
int sb_verify(const struct sb_verify_opts *o, const char *platform, const struct sb_blob *ev,
              size_t n_ev, const struct sb_verifier **used, json_t **claims, sb_error *err) SB_WUR;
/* A long-lived verification context: the per-platform warm states (SNP verifier with its chain
 * cache, Nitro and NVIDIA contexts with their verified-chain caches), made on first use. Each
 * cache is keyed by the exact certificate bytes and reused only at times inside every
 * certificate's validity window, so a warm verification gives the verdict a cold one gives.
 * TPM keeps its AKs, event logs and AK chains (sb_tpm_ctx); TDX and SGX keep collateral stores
 * keyed by the exact bytes of every collateral input (sb_dcap_warm). Not thread-safe: one
 * context per thread. */
typedef struct sb_verify_ctx sb_verify_ctx;
int sb_verify_ctx_new(sb_verify_ctx **out, sb_error *err) SB_WUR;
void sb_verify_ctx_free(sb_verify_ctx *c);
/* sb_verify with the warm state of c (c NULL: the stateless sb_verify). */
int sb_verify_with(sb_verify_ctx *c, const struct sb_verify_opts *o, const char *platform,
                   const struct sb_blob *ev, size_t n_ev, const struct sb_verifier **used,
                   json_t **claims, sb_error *err) SB_WUR;
/* Reads files into blobs (name = path), each at most SB_VERIFY_MAX_FILE_SIZE. */
int sb_blobs_load(char *const *paths, size_t n, struct sb_blob **out, sb_error *err) SB_WUR;
void sb_blobs_free(struct sb_blob *v, size_t n);
/* The exit-code contract of `sealbox verify` for an error code (0 for 0): SB_E_POLICY is 1
 * (authenticated, not acceptable); everything else, unreadable or unauthenticated evidence
 * and usage errors alike, is 2. */
int sb_verify_exit_code(int rc);

/* ---- the offline collateral cache (src/verify/collateral.c) ------------------------------
 * One flat directory (`sealbox collateral`: <state dir>/collateral) of files named
 * "<kind>-<key>.<ext>", each keyed by what identifies it: vcek by product, chip and TCB
 * (milan-b0-<chip_id[0..8]>-bl3-tee0-snp8-uc115), vlek by product, CSP and TCB, pck by FMSPC
 * and fingerprint, tcb-info by id and FMSPC (tdx-50806f000000), qe-identity by id and
 * version, crl by issuer (one current CRL per issuer), other certificates by CN and
 * fingerprint. `verify --collateral DIR` reads such a directory. */

#define SB_COLLATERAL_MAX_FILE (4u << 20) /* one collateral file */
#define SB_COLLATERAL_MAX_ITEMS 4096u     /* files in one cache directory */

struct sb_collateral_item {
    char kind[24];  /* vcek, vlek, pck, cert, crl, tcb-info, qe-identity, bundle, unknown */
    char key[200];  /* file-name-safe identifying key */
    char file[256]; /* file name inside the cache */
    char desc[256]; /* subject / issuer / FMSPC, for people */
    int64_t not_before, not_after; /* validity window, Unix seconds (0: unknown) */
};

/* Identifies one collateral file (certificate or CRL, DER or PEM; TCB info / QE identity
 * JSON; dcap-qvl collateral bundles). SB_E_UNSUPPORTED for anything else. */
int sb_collateral_identify(const uint8_t *p, size_t n, struct sb_collateral_item *out,
                           sb_error *err) SB_WUR;
/* Copies path into dir (created if missing) under its keyed name, replacing an older copy. */
int sb_collateral_import(const char *dir, const char *path, struct sb_collateral_item *out,
                         sb_error *err) SB_WUR;
/* Every file of dir, identified, sorted by name (unidentifiable files as kind "unknown");
 * a missing dir is an empty list. Free *items with free(). */
int sb_collateral_list(const char *dir, struct sb_collateral_item **items, size_t *n,
                       sb_error *err) SB_WUR;
/* Removes the items whose not_after is before at. */
int sb_collateral_prune(const char *dir, int64_t at, size_t *removed, sb_error *err) SB_WUR;

/* ---- normalized claims ------------------------------------------------------------------
 * One JSON schema for every platform (docs/verify.md is the reference):
 * {
 *   "platform": "snp",                 snp|tdx|sgx|nitro|tpm|nvidia|software
 *   "format": "snp-report",            the container that was parsed (e.g. "tdx-quote-v5",
 *                                      "configfs-tsm", "trustee-snp-evidence", "azure-hcl")
 *   "version": 3,                      format version, where the format has one
 *   "measurements": {"measurement": "<hex>", ...}   names per platform: snp measurement;
 *                                      tdx mrtd, rtmr0..3, mrseam, mrsignerseam, mrconfigid,
 *                                      mrowner, mrownerconfig; sgx mrenclave, mrsigner;
 *                                      nitro pcr0..pcrN; tpm "<bank>:<index>" e.g. "sha256:7";
 *                                      nvidia "block<N>"
 *   "report_data": "<hex>",            the bytes the attester bound (TPM: qualifyingData,
 *                                      Nitro: nonce||user_data is split below)
 *   "tcb": {"components": {"<name>": <int>, ...}, "status": "UpToDate"|null,
 *           "advisories": [..], "tcb_date": "<RFC3339>"|null,
 *           "evaluation_data_number": <int>|null},
 *   "debug": false,
 *   "signer": {...},                   platform ids: snp id_key_digest/author_key_digest,
 *                                      sgx mrsigner/isvprodid/isvsvn, tdx mrsignerseam, ...
 *   "product": "Milan"|null,           processor product / GPU architecture where known
 *   "init_data": "<hex>"|null,         snp host_data, tdx mrconfigid (init-data digest)
 *   "platform_identity": {...},        snp chip_id, tdx/sgx fmspc+pceid, nitro module_id, ...
 *   "platform_claims": {...},          everything else the format states (snp policy, vmpl,
 *                                      platform_info; nitro user_data/public_key/nonce; ...)
 *   "collateral": [{"kind": "vcek", "subject": "...", "issuer": "...",
 *                   "not_before": "<RFC3339>", "not_after": "<RFC3339>", "source": "..."}],
 *   "verified_at": "<RFC3339>",
 *   "insecure": false,                 true for evidence that proves nothing (software)
 *   "warnings": ["..."]
 * } */

/* A claims object with platform/format set and empty containers for the rest. */
json_t *sb_claims_new(const char *platform, const char *format, int64_t at);
/* claims[section][key] = hex(p[0..n)); section NULL sets a top-level key. 0 or SB_E_INTERNAL */
int sb_claims_set_hex(json_t *claims, const char *section, const char *key, const uint8_t *p,
                      size_t n) SB_WUR;
int sb_claims_set_int(json_t *claims, const char *section, const char *key, int64_t v) SB_WUR;
int sb_claims_set_str(json_t *claims, const char *section, const char *key, const char *v) SB_WUR;
int sb_claims_set_bool(json_t *claims, const char *section, const char *key, bool v) SB_WUR;
/* Appends a warning string. */
int sb_claims_warn(json_t *claims, const char *fmt, ...) SB_PRINTF(2, 3);
/* Appends a collateral record (times as Unix seconds; 0 means unknown). */
int sb_claims_add_collateral(json_t *claims, const char *kind, const char *subject,
                             const char *issuer, int64_t not_before, int64_t not_after,
                             const char *source) SB_WUR;

#endif
