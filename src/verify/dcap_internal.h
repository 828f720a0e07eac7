/* dcap_internal: what the DCAP quote verifier (dcap.c) and the collateral store
 * (dcap_collateral.c) share: parsed TCB info / QE identity, CRLs, the chain cache. */
#ifndef SB_DCAP_INTERNAL_H
#define SB_DCAP_INTERNAL_H

#include "crypto/crypto.h"
#include "evidence/evidence.h"
#include "verify.h"

#define DCAP_MAX_LEVELS 128
#define DCAP_MAX_MODULES 16
#define DCAP_MAX_ADVISORIES 64
#define DCAP_MAX_ITEMS 64 /* signed JSON items, CRLs, certificates: each */
#define DCAP_DIR_MAX_FILES 256
#define DCAP_CHAIN_CERTS_MAX 8
#define DCAP_CHAIN_CACHE 8
#define DCAP_MAX_SIGNERS 4

enum dcap_status {
    ST_UP_TO_DATE,
    ST_SW_HARDENING_NEEDED,
    ST_CONFIGURATION_NEEDED,
    ST_CONFIGURATION_AND_SW_HARDENING_NEEDED,
    ST_OUT_OF_DATE,
    ST_OUT_OF_DATE_CONFIGURATION_NEEDED,
    ST_REVOKED,
    ST_MAX
};
const char *dcap_status_name(enum dcap_status s);

struct dcap_level {
    uint8_t sgx[16];
    uint16_t pcesvn;
    uint8_t tdx[16];
    bool has_tdx;
    uint16_t isvsvn; /* QE identity and TDX module levels */
    enum dcap_status status;
    int64_t date;
    json_t *advisories; /* array of strings (owned) */
};

struct dcap_module {
    char id[16];
    uint8_t mrsigner[48], attributes[8], mask[8];
    struct dcap_level *levels;
    size_t n_levels;
};

/* A signed JSON item as found (body copied), then verified and parsed on first use. */
struct dcap_signed {
    char *source;
    bool identity; /* enclaveIdentity (else tcbInfo) */
    uint8_t *body;
    size_t body_len;
    uint8_t sig[64];
    sb_cert **chain; /* issuer chain that came with it (bundle), may be empty */
    size_t n_chain;
    bool checked;                       /* signature verified and parsed */
    sb_cert *signers[DCAP_MAX_SIGNERS]; /* TCB signing certificates whose key verifies it */
    size_t n_signers;
    int64_t chain_at; /* time at which the signer chain was last verified, or INT64_MIN */
    char *signer_subject, *signer_issuer;
    int64_t signer_nb, signer_na;
    /* parsed */
    int version;
    char id[16]; /* "SGX"/"TDX" (tcbInfo), "QE"/"TD_QE"/"QVE" (identity) */
    int64_t issue, next, eval;
    uint8_t fmspc[6], pceid[2];
    bool has_module;
    uint8_t mod_mrsigner[48], mod_attr[8], mod_mask[8];
    struct dcap_module *modules;
    size_t n_modules;
    uint32_t miscselect, miscmask;
    uint8_t attributes[16], attrmask[16], mrsigner[32];
    uint16_t isvprodid;
    struct dcap_level *levels;
    size_t n_levels;
};

struct dcap_crl {
    sb_crl *crl;
    uint8_t *der;
    size_t der_len;
    const uint8_t *issuer; /* view into der */
    sb_cert *verified_by;  /* the issuer certificate its signature was checked with */
    size_t issuer_len;
    char *source;
};

struct dcap_chain_entry {
    uint8_t *cert_data; /* the certification data this entry verified (the cache key) */
    size_t cert_data_len;
    int64_t at;
    sb_pubkey *pck_key;
    sb_sig_verifier *pck_ver; /* ECDSA P-256/SHA-256 by pck_key, prepared once */
    struct sb_pck_ext ext;
    sb_cert *leaf, *ca;                                        /* for claims and the PCK CRL */
    size_t nul_tail;                                           /* NUL bytes after the PEM text */
    char *leaf_subject, *leaf_issuer, *ca_subject, *ca_issuer; /* for claims */
    struct dcap_crl *root_crl, *pck_crl;                       /* signature-checked, or NULL */
    bool used;
};

struct sb_dcap_collateral {
    sb_cert *root;
    sb_cert *certs[DCAP_MAX_ITEMS];
    size_t n_certs;
    struct dcap_signed items[DCAP_MAX_ITEMS];
    size_t n_items;
    struct dcap_crl crls[DCAP_MAX_ITEMS];
    size_t n_crls;
    json_t *notes; /* warnings about skipped files (array of strings) */
    struct dcap_chain_entry cache[DCAP_CHAIN_CACHE]; /* emptied whenever an item is added */
    size_t cache_next;
    struct {
        int64_t t;
        bool set;
        char s[32];
    } tcache[16];            /* formatted times (claims) */
    sb_pubkey *ak;           /* the last attestation key seen, and its raw point */
    sb_sig_verifier *ak_ver; /* ECDSA P-256/SHA-256 by ak, prepared once */
    uint8_t ak_raw[64];
};

/* One regular file of a --collateral directory, read whole. */
struct dcap_file {
    char *path; /* DIR/NAME: the name collateral from it carries in claims */
    uint8_t *data;
    size_t len;
};
/* The regular files of dir (not recursive), sorted by name, each at most
 * SB_DCAP_COLLATERAL_MAX bytes (larger or unreadable files are skipped, as are names starting
 * with '.'); more than DCAP_DIR_MAX_FILES names is an error. Free with dcap_files_free. */
int dcap_dir_read(const char *dir, struct dcap_file **out, size_t *n, sb_error *err) SB_WUR;
void dcap_files_free(struct dcap_file *f, size_t n);

/* Verifies an item's signature over its exact bytes with the TCB signing certificates at hand
 * (time-independent, once) and only then parses it. */
int dcap_signed_authenticate(sb_dcap_collateral *c, struct dcap_signed *s, sb_error *err) SB_WUR;
/* Checks that one of the item's signers chains to the pinned root at `at` and is not on the
 * root CA CRL (cached per time). */
int dcap_signed_signer_at(sb_dcap_collateral *c, struct dcap_signed *s, int64_t at,
                          sb_error *err) SB_WUR;
/* Parses s->body (already authenticated) into s; on failure s keeps no parsed state. */
int dcap_signed_parse(struct dcap_signed *s, sb_error *err) SB_WUR;
void dcap_signed_clear(struct dcap_signed *s);
/* The CRL issued by the CA whose certificate is `ca` to use at `at` (NULL if none): every CRL
 * naming that issuer must verify with it; the one valid at `at` is preferred. */
int dcap_crl_for(sb_dcap_collateral *c, const sb_cert *ca, int64_t at, struct dcap_crl **out,
                 sb_error *err) SB_WUR;
int dcap_hex_fixed(const char *s, uint8_t *out, size_t n);
/* Frees what one cached PCK chain owns and zeroes it (its CRLs belong to the store). */
void dcap_chain_entry_clear(struct dcap_chain_entry *e);
/* Forgets every cached PCK chain (their CRL lookups depend on the store's content). */
void dcap_chain_cache_clear(sb_dcap_collateral *c);

/* The outcome of TCB level matching (Intel QVL rules). */
struct dcap_eval {
    const char *status; /* NULL when not evaluated; a non-Intel name when evaluation failed */
    char reason[200];   /* why not, e.g. "no matching TCB level found" */
    int64_t date;
    json_t *advisories;
    const char *platform_status, *module_status, *qe_status;
    struct dcap_signed *tcb, *qe;
};
/* Matches the platform (PCK SGX components, PCESVN, TEE_TCB_SVN with the TDX module rules), the
 * QE (ISVSVN) and the TDX module against ev->tcb / ev->qe and converges the statuses as Intel's
 * QVL does; ev->advisories must be an array. */
void dcap_evaluate(const struct sb_dcap_quote *q, const struct sb_pck_ext *ext,
                   struct dcap_eval *ev);
/* MISCSELECT / attributes under their masks, MRSIGNER and ISVPRODID of the QE report. */
int dcap_check_qe_identity(const struct dcap_signed *id, const struct sb_sgx_report *qe,
                           sb_error *err) SB_WUR;

#endif
