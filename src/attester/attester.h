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

#endif
