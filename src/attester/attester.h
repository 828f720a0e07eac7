/* attester: evidence producers — the software attester (a key in the state directory), the
 * Linux configfs-tsm interface of SEV-SNP/TDX guests, and (in its own section) the TPM. Each
 * binds the KBS runtime data (docs/architecture.md, "The binding") into its report_data. */
#ifndef SB_ATTESTER_H
#define SB_ATTESTER_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "util/util.h"

typedef struct sb_attester sb_attester;

/* The KBS protocol "tee" value of this attester ("sealbox-software", "snp", "tdx", ...). */
const char *sb_attester_tee(const sb_attester *a);
/* runtime_data is the binding object (tee-pubkey, nonce, additional-evidence[, sealbox-log]);
 * the attester computes report_data with sb_policy_binding_digest and returns the evidence
 * JSON that goes into the KBS attest request's tee-evidence. */
int sb_attester_evidence(sb_attester *a, const json_t *runtime_data, json_t **evidence,
                         sb_error *err) SB_WUR;
void sb_attester_free(sb_attester *a);

/* ==== software ============================================================================
 * A P-384 key in key_path (PKCS#8 PEM, mode 0600, created with O_EXCL on first use; a file
 * that group or others can read is refused) signs the evidence (docs/secrets.md, "Software
 * evidence"). Proves nothing against anyone who can read the key: every result says insecure. */
#define SB_SOFTWARE_KEY_FILE "attester-software.pem" /* in the state directory */
int sb_attester_open_software(const char *key_path, sb_attester **out, sb_error *err) SB_WUR;

/* ==== configfs-tsm (SEV-SNP / TDX guests, Linux >= 6.7) ===================================
 * configfs_dir is the tsm report directory (normally /sys/kernel/config/tsm/report). Each
 * request makes its own entry (mkdir), writes the 64-byte inblob, reads outblob, auxblob and
 * provider, and checks that generation moved by exactly its own write; a report another
 * writer raced is retried, and refused after SB_TSM_RETRIES attempts. */
#define SB_TSM_DEFAULT_DIR "/sys/kernel/config/tsm/report"
#define SB_TSM_INBLOB_LEN 64
#define SB_TSM_OUTBLOB_MAX (32u * 1024u) /* the kernel's own bound (reads fail with EFBIG) */
#define SB_TSM_AUXBLOB_MAX (32u * 1024u)
#define SB_TSM_RETRIES 3
int sb_attester_open_tsm(const char *configfs_dir, sb_attester **out, sb_error *err) SB_WUR;

struct sb_tsm_report {
    uint8_t *outblob, *auxblob; /* malloc'ed; auxblob may be NULL (empty) */
    size_t outblob_len, auxblob_len;
    char provider[64]; /* "sev_guest", "tdx_guest", ... (newline stripped) */
    uint64_t generation;
    unsigned attempts; /* 1 unless a race forced a retry */
};
/* One report for exactly these 64 inblob bytes (the lower layer of sb_attester_evidence). */
int sb_tsm_report_get(const char *configfs_dir, const uint8_t inblob[SB_TSM_INBLOB_LEN],
                      struct sb_tsm_report *out, sb_error *err) SB_WUR;
void sb_tsm_report_clear(struct sb_tsm_report *r);
/* The evidence JSON of a report, in the Veraison tsm-report JSON form the SNP verifier reads:
 * {"provider", "outblob", "auxblob"} with base64url (unpadded) blobs. */
int sb_tsm_report_json(const struct sb_tsm_report *r, json_t **out, sb_error *err) SB_WUR;

/* ==== TPM 2.0 (src/attester/tpm*.c, docs/secrets.md "TPM attester") ==== */

/* Which TPM and what to quote. */
struct sb_tpm_config {
    const char *tcti;      /* tctildr string: "swtpm:host=127.0.0.1,port=2321", "mssim:…",
                              "device:/dev/tpmrm0"; NULL: "device:/dev/tpmrm0" */
    uint16_t bank;         /* SB_TPM_ALG_SHA256 (0x000b), _SHA384, _SHA1; 0: SHA-256 */
    uint32_t pcrs;         /* bit i quotes PCR i; 0: PCRs 0-7 */
    const char *event_log; /* a TCG event log to include (e.g.
                              /sys/kernel/security/tpm0/binary_bios_measurements); NULL: none */
};

/* "sha256:0,1,7" → bank and PCR mask (a bank alone means PCRs 0-7). */
int sb_tpm_pcr_spec_parse(const char *spec, uint16_t *bank, uint32_t *pcrs, sb_error *err) SB_WUR;

/* One open TPM. Every command flushes the transient objects and sessions it made, so it works
 * without a resource manager (swtpm, /dev/tpm0). Not thread-safe. */
typedef struct sb_tpm sb_tpm;
int sb_tpm_open(const struct sb_tpm_config *cfg, sb_tpm **out, sb_error *err) SB_WUR;
void sb_tpm_close(sb_tpm *t);

/* The attester over an opened TPM (it takes ownership of t; tee "tpm"). Evidence is the
 * "sealbox-tpm" JSON of docs/secrets.md, its quote's qualifyingData = the binding digest. */
int sb_attester_open_tpm(const struct sb_tpm_config *cfg, sb_attester **out, sb_error *err) SB_WUR;

/* The largest qualifyingData a quote can carry: the TPM takes sizeof(TPMT_HA) =
 * 2 + TPM_PT_MAX_DIGEST bytes, the tss2 ESAPI at most sizeof(TPMU_HA) = 64; the smaller. */
size_t sb_tpm_max_qualifying_data(const sb_tpm *t);
/* How many bytes of the 48-byte binding digest the quote carries on this TPM: 48 when
 * qualifyingData can hold it, else 32 (SHA-256-only TPMs). */
size_t sb_tpm_binding_len(const sb_tpm *t);
/* A quote with this qualifyingData over the configured PCRs, as sealbox-tpm evidence JSON. */
int sb_tpm_quote(sb_tpm *t, const uint8_t *qualifying, size_t n, json_t **evidence,
                 sb_error *err) SB_WUR;
/* Extends PCR pcr of bank (SB_TPM_ALG_*) with a digest of that bank's size. */
int sb_tpm_pcr_extend(sb_tpm *t, uint16_t bank, unsigned pcr, const uint8_t *digest, size_t n,
                      sb_error *err) SB_WUR;
/* The AK's TPMT_PUBLIC (malloc'ed) and name (nameAlg || H(TPMT_PUBLIC), up to 66 bytes). */
int sb_tpm_ak_public(sb_tpm *t, uint8_t **pub, size_t *pub_len, uint8_t name[66], size_t *name_len,
                     sb_error *err) SB_WUR;

/* Enrollment, attester side. The request {"ek-cert", "ek-public", "ak"} (base64 DER
 * certificate from NV 0x01c00002, TPMT_PUBLIC of the RSA EK and of the AK) goes to the
 * verifier (sb_tpm_enroll_begin in verify.h), whose challenge {"credential", "secret"}
 * (TPM2B_ID_OBJECT and TPM2B_ENCRYPTED_SECRET contents, base64) comes back to
 * sb_tpm_enroll_activate: TPM2_ActivateCredential with the EK (PolicySecret(endorsement))
 * releases the credential only if the AK named in it lives in this TPM. */
int sb_tpm_enroll_request(sb_tpm *t, json_t **request, sb_error *err) SB_WUR;
#define SB_TPM_MAX_CREDENTIAL 64u
int sb_tpm_enroll_activate(sb_tpm *t, const json_t *challenge, uint8_t *credential,
                           size_t *credential_len, sb_error *err) SB_WUR;

/* Sealing a 32-byte key (the KBS master key) to the TPM under PolicyPCR over the given PCRs
 * of bank, at their current values: the blob (format in docs/secrets.md) holds the sealed
 * object's TPM2B_PUBLIC and TPM2B_PRIVATE under the owner hierarchy's ECC P-256 storage
 * primary (re-created from its template, never persisted). sb_tpm_unseal fails with
 * SB_E_POLICY when one of those PCRs has changed since. */
#define SB_TPM_SEALED_KEY_LEN 32u
#define SB_TPM_MAX_SEALED_BLOB 2048u
int sb_tpm_seal(sb_tpm *t, const uint8_t key[32], uint16_t bank, uint32_t pcrs, uint8_t **blob,
                size_t *blob_len, sb_error *err) SB_WUR;
int sb_tpm_unseal(sb_tpm *t, const uint8_t *blob, size_t blob_len, uint8_t key[32],
                  sb_error *err) SB_WUR;

/* A monotonic TPM NV counter (TPM2_NT_COUNTER, 8 bytes, authValue empty for reads and
 * increments, no dictionary-attack lockout) at an owner-range NV index — the anchor the audit
 * log's signed head is compared with (docs/gateway.md "TPM NV counter"). A counter can only go
 * up: NV_Increment is its only write, and a counter defined anew starts no lower than the
 * highest count any counter of the TPM ever held. sb_tpm_counter_read fails with SB_E_POLICY
 * when the index exists but is not such a counter (something else squats the index); with
 * create it defines and initializes a missing one (owner hierarchy, empty owner auth), else a
 * missing counter is SB_E_NOTFOUND. */
#define SB_TPM_NV_COUNTER_DEFAULT 0x01380001u /* in the owner range 0x01000000-0x013fffff */
int sb_tpm_nv_index_parse(const char *s, uint32_t *index, sb_error *err) SB_WUR;
int sb_tpm_counter_read(sb_tpm *t, uint32_t index, bool create, uint64_t *value,
                        sb_error *err) SB_WUR;
/* Increments the counter and reads its new value back. */
int sb_tpm_counter_increment(sb_tpm *t, uint32_t index, uint64_t *value, sb_error *err) SB_WUR;

/* The sealed blob, parsed (views into the input): "SBTS", version 1, bank u16, PCR mask u32,
 * TPM2B_PUBLIC, TPM2B_PRIVATE, big-endian, nothing after. */
struct sb_tpm_sealed {
    uint16_t bank;
    uint32_t pcrs;
    const uint8_t *pub, *priv; /* the TPM2B contents, without their size */
    size_t pub_len, priv_len;
};
#define SB_TPM_MAX_PRIVATE 1024u
int sb_tpm_sealed_parse(const uint8_t *p, size_t n, struct sb_tpm_sealed *out,
                        sb_error *err) SB_WUR;

#endif
