/* gateway: the least-privilege MCP gateway — the MCP proxy, per-agent tool policy and pinning,
 * and the tamper-evident audit log every request and response is written to. */
#ifndef SB_GATEWAY_H
#define SB_GATEWAY_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "crypto/crypto.h"
#include "store/store.h"
#include "util/util.h"

/* ==== audit ================================================================================
 * An append-only, hash-chained log in the store (table audit_log). Row n holds the canonical
 * JSON (RFC 8785) of one record and
 *     hash_n = SHA-256(hash_{n-1} || canonical record || u64be(n)),   hash_0 = 32 zero bytes.
 * Anyone who can write the database can recompute such a chain, so at checkpoints the head
 * (seq, hash, ts) is signed with an Ed25519 key that only the signer holds (in sealboxd: the
 * monitor), stored in audit_checkpoints AND exported to a head file outside the database.
 * sb_audit_verify() finds edits, deletions, reorderings, rewrites and truncations
 * (docs/gateway.md, "Audit"). */

#define SB_AUDIT_SIG_LEN 64             /* Ed25519 */
#define SB_AUDIT_CHECKPOINT_EVERY 256   /* default records between automatic checkpoints */
#define SB_AUDIT_HEAD_FILE_MAX 4096     /* bytes of a head file */
#define SB_AUDIT_KEY_FILE_MAX 16384     /* bytes of a PEM key file */
#define SB_AUDIT_KEY_FILE "audit.key"   /* in the state directory, 0600, monitor only */
#define SB_AUDIT_PUB_FILE "audit.pub"   /* its public half (SPKI PEM) for verifiers */
#define SB_AUDIT_HEAD_FILE "audit.head" /* the latest signed head (JSON) */
#define SB_AUDIT_HEAD_FORMAT "sealbox-audit-head"
#define SB_AUDIT_SEQ_MAX 9007199254740991ull /* 2^53 - 1: seq and ts stay exact in JSON */

/* Signs msg (the head message) with Ed25519 into sig. The key stays with whoever implements it:
 * in sealboxd the monitor; a keyholder process could answer this over a socket instead. */
typedef int (*sb_audit_sign_fn)(void *arg, const uint8_t *msg, size_t len,
                                uint8_t sig[SB_AUDIT_SIG_LEN], sb_error *err);

typedef struct sb_audit_signer {
    sb_audit_sign_fn sign;
    void *arg;
    char kid[SB_AUDIT_KID_MAX + 1]; /* RFC 7638 thumbprint of the public key */
} sb_audit_signer;

typedef struct sb_audit_cfg {
    const sb_audit_signer *signer; /* NULL: appends only, no checkpoints */
    const char *head_file;         /* where checkpoints export the signed head; NULL: nowhere */
    unsigned checkpoint_every;     /* records between automatic checkpoints; 0: the default */
} sb_audit_cfg;

typedef struct sb_audit sb_audit;

/* Opens the log in st (which must outlive it). When a head file exists it must agree with the
 * database — a head ahead of the last row (a truncated log) or naming another hash at its seq
 * (a rewritten one) is SB_E_POLICY, so a damaged log is never silently extended. */
int sb_audit_open(sb_store *st, const sb_audit_cfg *cfg, sb_audit **out, sb_error *err) SB_WUR;
/* Appends one record (a JSON object: agent, server, method, tool, args_digest, redacted args,
 * decision, reason, status, is_error, sizes, latency_us, ...; its fields are the caller's). An
 * integer "ts" (Unix milliseconds) is added when absent. Its own transaction (synchronous=FULL:
 * durable when this returns), or the caller's when one is open. Every checkpoint_every records
 * it checkpoints (outside a caller's transaction only); a failed checkpoint is reported as the
 * error after the record was stored (*seq_out is still set). */
int sb_audit_append(sb_audit *a, const json_t *record, uint64_t *seq_out, sb_error *err) SB_WUR;
/* Signs the current head, stores the checkpoint and rewrites the head file (temp file, fsync,
 * rename, fsync of the directory) — after checking that the rows since the previous checkpoint
 * still chain, so a damaged chain is never signed. No-op when the head is already signed
 * (the head file is rewritten if absent). SB_E_USAGE without a signer or inside a transaction. */
int sb_audit_checkpoint(sb_audit *a, sb_error *err) SB_WUR;
/* Records appended since the last checkpoint, as this handle knows it. */
uint64_t sb_audit_unsigned(const sb_audit *a);
/* Does not checkpoint: on a clean shutdown call sb_audit_checkpoint() first. */
void sb_audit_close(sb_audit *a);

/* "sha256:" + hex of SHA-256 over the canonical JSON of v: the args_digest of a record, the same
 * for every writer whatever key order or spacing the arguments arrived in. */
#define SB_AUDIT_DIGEST_LEN (7 + 64)
int sb_audit_json_digest(const json_t *v, char out[SB_AUDIT_DIGEST_LEN + 1], sb_error *err) SB_WUR;
/* The chain's hash of one row (see the top of this section). */
int sb_audit_row_hash(const uint8_t prev[SB_AUDIT_HASH_LEN], const char *record, size_t len,
                      uint64_t seq, uint8_t out[SB_AUDIT_HASH_LEN], sb_error *err) SB_WUR;

/* ---- the checkpoint key ---------------------------------------------------------------------- */

typedef struct sb_audit_key sb_audit_key;
/* Loads <state_dir>/audit.key (PKCS#8 PEM, Ed25519), creating it (0600, O_EXCL) when absent;
 * refuses a file others can read or that we do not own. Writes its public half to
 * <state_dir>/audit.pub (0644) for verifiers. */
int sb_audit_key_load(const char *state_dir, sb_audit_key **out, sb_error *err) SB_WUR;
/* A signer backed by k (which must outlive it). */
void sb_audit_key_signer(sb_audit_key *k, sb_audit_signer *out);
const sb_pubkey *sb_audit_key_public(const sb_audit_key *k);
void sb_audit_key_free(sb_audit_key *k);
/* An Ed25519 public key from a PEM (SPKI) file, for verifiers. */
int sb_audit_pubkey_load(const char *path, sb_pubkey **out, sb_error *err) SB_WUR;

/* ---- the head file -----------------------------------------------------------------------------
 */

typedef struct sb_audit_head {
    uint64_t seq;
    int64_t ts; /* Unix milliseconds of the checkpoint */
    uint8_t hash[SB_AUDIT_HASH_LEN];
    char kid[SB_AUDIT_KID_MAX + 1];
    uint8_t sig[SB_AUDIT_SIG_LEN];
} sb_audit_head;

/* Parses a head file (untrusted bytes, at most SB_AUDIT_HEAD_FILE_MAX): one JSON object with
 * exactly format, version (1), seq, ts, hash (64 hex), kid and sig (base64url of 64 bytes).
 * The signature is not checked here (sb_audit_head_check does). */
int sb_audit_head_parse(const uint8_t *p, size_t n, sb_audit_head *out, sb_error *err) SB_WUR;
/* Checks a head's signature with key: SB_E_SIGNATURE when it does not hold or the kid is not
 * the key's. */
int sb_audit_head_check(const sb_audit_head *h, const sb_pubkey *key, sb_error *err) SB_WUR;

/* ---- the JSONL export, read back ---------------------------------------------------------------
 * `sealbox audit export --jsonl` writes one object per row: {"seq", "ts", "prev", "hash",
 * "record"} ("record_damaged": a string, for a row whose record is not JSON any more). Reading
 * one back lets an export be verified away from the host that wrote it. */

#define SB_AUDIT_LINE_MAX (SB_AUDIT_RECORD_MAX + 1024) /* bytes of one exported line */
#define SB_AUDIT_JSONL_MAX (256u << 20)                /* bytes of an export read back */

/* One line (without its newline): exactly the members above. The record is re-serialized in
 * canonical form (the bytes that were hashed, for an untouched row); out->record is malloc'ed. */
int sb_audit_line_parse(const uint8_t *p, size_t n, sb_audit_row *out, sb_error *err) SB_WUR;
/* Calls fn on every non-blank line of an export (newline-separated; the last newline may be
 * missing), each at most SB_AUDIT_LINE_MAX bytes; fn's error is prefixed with the line number. */
typedef int (*sb_audit_line_fn)(void *arg, uint64_t line, const uint8_t *p, size_t n,
                                sb_error *err);
int sb_audit_jsonl_each(const uint8_t *p, size_t n, sb_audit_line_fn fn, void *arg,
                        sb_error *err) SB_WUR;
/* One exported line of a row, newline included (malloc'ed; NULL on allocation failure). */
char *sb_audit_line_format(const sb_audit_row *r);
/* Every line of an export into st (an empty store), in one transaction; *rows counts them.
 * Errors name the line. Duplicate seqs are refused. */
int sb_audit_import_jsonl(sb_store *st, const uint8_t *p, size_t n, uint64_t *rows,
                          sb_error *err) SB_WUR;

/* ---- verification ---------------------------------------------------------------------------- */

enum sb_audit_finding {
    SB_AUDIT_INTACT,
    SB_AUDIT_EDITED,       /* a record (or its hash) was changed */
    SB_AUDIT_DELETED,      /* rows are missing (a gap, or later rows renumbered) */
    SB_AUDIT_REORDERED,    /* rows or records moved to other positions */
    SB_AUDIT_REWRITTEN,    /* the chain holds together but disagrees with a signed head */
    SB_AUDIT_TRUNCATED,    /* a signed head is ahead of the last row */
    SB_AUDIT_FORGED,       /* a checkpoint or head file whose signature does not hold */
    SB_AUDIT_HEAD_MISSING, /* records exist but the exported head file does not */
    SB_AUDIT_FINDING_MAX
};
const char *sb_audit_finding_name(enum sb_audit_finding f); /* "edited", ... */

typedef struct sb_audit_report {
    enum sb_audit_finding finding;
    uint64_t first_bad_seq; /* 0 when intact */
    char detail[256];       /* what was found, naming seqs */
    uint64_t records;       /* rows that chained correctly */
    uint64_t head_seq;      /* the last row */
    uint8_t head_hash[SB_AUDIT_HASH_LEN];
    uint64_t checkpoints; /* signed checkpoints in the database that verified */
    uint64_t signed_seq;  /* the highest seq a verified signature covers */
    bool head_file_checked;
    uint64_t head_file_seq;
    uint64_t unsigned_tail; /* rows after signed_seq: chained, but not yet signed */
} sb_audit_report;

/* Walks the whole chain and every checkpoint, and compares the head file (NULL: skipped).
 * 0 when intact; SB_E_SIGNATURE when tampering was found, with err naming the first bad seq and
 * the kind; other codes when it cannot read. *rep is filled in both of the first two cases. */
int sb_audit_verify(sb_store *st, const sb_pubkey *key, const char *head_file, sb_audit_report *rep,
                    sb_error *err) SB_WUR;

#endif
