/* gateway: the least-privilege MCP gateway — the MCP proxy, per-agent tool policy and pinning,
 * and the tamper-evident audit log every request and response is written to. */
#ifndef SB_GATEWAY_H
#define SB_GATEWAY_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

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

/* A monotonic counter outside the database and the file system the log lives on — in sealboxd
 * a TPM NV counter (sb_tpm_counter_*). Each checkpoint signs the value the counter will have
 * once that checkpoint is durable, then increments it; so the newest genuine signed head always
 * carries a value >= the counter, and an older head file put back with a log cut to match it
 * carries a smaller one (docs/gateway.md "TPM NV counter"). */
typedef struct sb_audit_counter {
    int (*read)(void *arg, uint64_t *value, sb_error *err);
    int (*increment)(void *arg, uint64_t *value, sb_error *err); /* *value: the new value */
    void *arg;
    char name[64]; /* for messages: "TPM NV counter 0x01380001" */
} sb_audit_counter;

/* How far a crash can leave the counter behind the newest signed head (one checkpoint) — and a
 * little more for operators who restart while a TPM is unreachable; beyond this, opening the
 * log refuses rather than pushing the counter forward. */
#define SB_AUDIT_COUNTER_CATCHUP_MAX 16u

typedef struct sb_audit_cfg {
    const sb_audit_signer *signer;   /* NULL: appends only, no checkpoints */
    const sb_audit_counter *counter; /* NULL: none; needs a signer */
    const char *head_file;           /* where checkpoints export the signed head; NULL: nowhere */
    unsigned checkpoint_every;       /* records between automatic checkpoints; 0: the default */
} sb_audit_cfg;

typedef struct sb_audit sb_audit;

/* Opens the log in st (which must outlive it). When a head file exists it must agree with the
 * database — a head ahead of the last row (a truncated log) or naming another hash at its seq
 * (a rewritten one) is SB_E_POLICY, so a damaged log is never silently extended. With a
 * counter, the newest signed head (database or head file) must carry a value >= the counter's
 * (else SB_E_POLICY: rolled back); a counter behind it by at most SB_AUDIT_COUNTER_CATCHUP_MAX
 * (a crash before the increment) is incremented to meet it. */
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
    uint64_t counter; /* version 2: the monotonic counter value signed with it; 0 in version 1 */
} sb_audit_head;

/* Parses a head file (untrusted bytes, at most SB_AUDIT_HEAD_FILE_MAX): one JSON object with
 * exactly format, version (1 or 2), seq, ts, hash (64 hex), kid, sig (base64url of 64 bytes)
 * and, in version 2 only, counter (1 .. 2^53-1).
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
    SB_AUDIT_ROLLED_BACK,  /* every signed head is older than the monotonic counter */
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
    uint64_t unsigned_tail;  /* rows after signed_seq: chained, but not yet signed */
    uint64_t signed_counter; /* the highest counter value a verified signature covers; 0: none */
    bool counter_checked;
    uint64_t counter; /* the counter's value, when checked */
} sb_audit_report;

/* Walks the whole chain and every checkpoint, and compares the head file (NULL: skipped).
 * 0 when intact; SB_E_SIGNATURE when tampering was found, with err naming the first bad seq and
 * the kind; other codes when it cannot read. *rep is filled in both of the first two cases. */
int sb_audit_verify(sb_store *st, const sb_pubkey *key, const char *head_file, sb_audit_report *rep,
                    sb_error *err) SB_WUR;
/* After an intact sb_audit_verify: compares the monotonic counter's current value (read by the
 * caller, e.g. from the TPM) with the newest signed head. A counter ahead of every signed head
 * means the log and its head file were put back to an older state: SB_E_SIGNATURE with the
 * finding "rolled-back" in *rep. */
int sb_audit_verify_counter(sb_audit_report *rep, uint64_t counter, sb_error *err) SB_WUR;

/* ==== proxy ================================================================================
 * JSON-RPC 2.0 over newline-delimited stdio (MCP 2025-11-25, negotiated down to 2025-06-18 and
 * 2025-03-26), the "servers" section of the configuration, and the engine that multiplexes
 * several MCP servers — each launched inside a sealbox sandbox — behind one agent session. */

/* ---- limits ------------------------------------------------------------------------------ */

#define SB_RPC_MSG_MAX (4u << 20)       /* bytes of one agent message (one line) */
#define SB_RPC_DEPTH_MAX 64             /* JSON nesting of one message */
#define SB_RPC_METHOD_MAX 128           /* bytes of a method name */
#define SB_RPC_ID_STR_MAX 256           /* bytes of a string id */
#define SB_GW_SERVERS_MAX 32            /* servers in one configuration */
#define SB_GW_SERVER_NAME_MAX 32        /* [A-Za-z0-9-], no '_' so "__" splits unambiguously */
#define SB_GW_NAME_MAX 128              /* a namespaced tool/prompt name (the spec's SHOULD) */
#define SB_GW_RESPONSE_MAX (4u << 20)   /* default bytes of one server message */
#define SB_GW_RESPONSE_HARD (64u << 20) /* the most a config may allow */
#define SB_GW_TIMEOUT_MS 30000u         /* default per-request timeout */
#define SB_GW_INIT_TIMEOUT_MS 60000u    /* a server's start + initialize */
#define SB_GW_INFLIGHT_MAX 256          /* outstanding requests per server */
#define SB_GW_LIST_ITEMS_MAX 4096       /* items of one server's list (all pages) */
#define SB_GW_LIST_PAGES_MAX 64         /* pages followed per list refresh */
#define SB_GW_PAGE_SIZE 100             /* items per page the gateway presents */
#define SB_GW_OUTBUF_MAX (16u << 20)    /* bytes queued toward one server */
#define SB_GW_NOTIFY_RATE 200           /* notifications/s forwarded per server (burst = 2x) */
#define SB_GW_SEP "__"                  /* server + SB_GW_SEP + tool */
#define SB_GW_RELAY_MAX 64              /* server->agent requests in flight per session */
#define SB_GW_RELAY_PER_SERVER 16       /* ... of one server */
#define SB_GW_RELAY_RATE 20             /* server->agent requests/s per server (burst = 2x) */

/* The protocol versions the gateway speaks, newest first. */
extern const char *const sb_gw_protocol_versions[];
#define SB_GW_PROTOCOL_LATEST "2025-11-25"

/* JSON-RPC / MCP error codes the gateway emits. */
enum {
    SB_RPC_PARSE_ERROR = -32700,
    SB_RPC_INVALID_REQUEST = -32600,
    SB_RPC_METHOD_NOT_FOUND = -32601,
    SB_RPC_INVALID_PARAMS = -32602,
    SB_RPC_INTERNAL = -32603,
    SB_RPC_SERVER_GONE = -32000, /* the server behind a name exited or never started */
    SB_RPC_TIMEOUT = -32001,     /* the server did not answer in time */
    SB_RPC_RESOURCE_NOT_FOUND = -32002,
};

/* ---- the codec ------------------------------------------------------------------------------ */

/* A framer splits a byte stream into lines of at most max bytes (without the '\n'; a trailing
 * '\r' is dropped). A longer line is discarded up to its newline and reported once with its
 * first and last bytes kept (so the caller can still find the id of an oversized response). */
typedef struct sb_rpc_framer {
    uint8_t *buf;
    size_t len, cap, max;
    bool discarding;
    size_t discarded;  /* bytes of the line being discarded */
    uint8_t head[128]; /* the first bytes of that line */
    size_t head_len;
    uint8_t tail[128]; /* the last bytes seen, as a ring */
    size_t tail_pos;
} sb_rpc_framer;

enum sb_rpc_frame_kind { SB_RPC_FRAME_LINE, SB_RPC_FRAME_OVERSIZE, SB_RPC_FRAME_KIND_MAX };
/* Called per line; for OVERSIZE, p/n are the kept head bytes of the discarded line (use
 * sb_rpc_framer_oversize_id() to look for its id). A non-zero return stops the push. */
typedef int (*sb_rpc_line_fn)(void *ctx, enum sb_rpc_frame_kind kind, const uint8_t *p, size_t n);

void sb_rpc_framer_init(sb_rpc_framer *f, size_t max);
void sb_rpc_framer_free(sb_rpc_framer *f);
/* Feeds n bytes; calls fn for every complete line. Returns fn's non-zero value, or 0. */
int sb_rpc_framer_push(sb_rpc_framer *f, const uint8_t *p, size_t n, sb_rpc_line_fn fn, void *ctx);
/* After an OVERSIZE report: the integer id found at the head ({"jsonrpc":"2.0","id":N) or at
 * the tail (,"id":N}) of the discarded line; false when neither holds one. */
bool sb_rpc_framer_oversize_id(const sb_rpc_framer *f, int64_t *id);
/* The integer id of a message that does not parse, read from its first member(s) the way
 * {"jsonrpc":"2.0","id":N,... starts; false when the head holds none. */
bool sb_rpc_scan_id(const uint8_t *p, size_t n, int64_t *id);

enum sb_rpc_kind {
    SB_RPC_REQUEST,      /* method + id */
    SB_RPC_NOTIFICATION, /* method, no id */
    SB_RPC_RESULT,       /* id + result (an object) */
    SB_RPC_ERROR,        /* id (maybe null) + error{code, message, data?} */
    SB_RPC_KIND_MAX
};

/* One validated message. root owns everything; the other pointers borrow from it. */
typedef struct sb_rpc_msg {
    enum sb_rpc_kind kind;
    json_t *root;
    json_t *id;         /* string or integer; NULL for notifications (json null for errors
                           whose id the peer could not read) */
    const char *method; /* requests and notifications */
    json_t *params;     /* object or NULL (arrays are refused: MCP params are objects) */
    json_t *result;     /* SB_RPC_RESULT */
    json_t *error;      /* SB_RPC_ERROR */
    int64_t error_code;
} sb_rpc_msg;

/* Parses and validates one line: UTF-8 JSON, one object (batches are refused), "jsonrpc":"2.0",
 * exactly one shape of the four, ids string (≤ SB_RPC_ID_STR_MAX) or integer and never null on
 * requests, methods ≤ SB_RPC_METHOD_MAX, nesting ≤ SB_RPC_DEPTH_MAX. On failure *rpc_code is
 * the JSON-RPC code to answer with and *reply_id (when non-NULL on return) the id to answer
 * to (a new reference); err names the field. */
int sb_rpc_parse(const uint8_t *line, size_t len, sb_rpc_msg *out, int *rpc_code, json_t **reply_id,
                 sb_error *err) SB_WUR;
void sb_rpc_msg_clear(sb_rpc_msg *m);

/* Builders return a new object (NULL only when out of memory). id is borrowed (copied). */
json_t *sb_rpc_result(json_t *id, json_t *result_stolen);
json_t *sb_rpc_error(json_t *id, int code, const char *message, json_t *data_stolen);
json_t *sb_rpc_request(json_t *id, const char *method, json_t *params_stolen);
json_t *sb_rpc_notification(const char *method, json_t *params_stolen);
/* Compact one-line serialization plus '\n' (no raw newline can appear: JSON escapes it).
 * *out is malloc'ed. SB_E_LIMIT beyond max bytes. */
int sb_rpc_dump(const json_t *msg, size_t max, char **out, size_t *len, sb_error *err) SB_WUR;

/* ---- configuration: the "servers" object ---------------------------------------------------- */

enum sb_gw_sandbox_kind {
    SB_GW_SANDBOX_JAIL, /* the default: a sealbox jail sandbox per server */
    SB_GW_SANDBOX_NONE, /* no isolation at all (development only; logged as a warning) */
    SB_GW_SANDBOX_KIND_MAX
};
enum sb_gw_pin_mode {
    SB_GW_PIN_MANUAL, /* definitions never pinned are hidden until approved (the default) */
    SB_GW_PIN_TOFU,   /* first sight pins (trust on first use); changes still need approval */
    SB_GW_PIN_OFF,    /* no pinning for this server (documented as unsafe) */
    SB_GW_PIN_MODE_MAX
};

struct sb_gw_mount {
    char *src, *dst;
    bool ro;
};

struct sb_gw_server_config {
    char name[SB_GW_SERVER_NAME_MAX + 1];
    char **argv; /* NULL-terminated */
    char **env;  /* NULL-terminated "K=V", exactly the server's environment (+PATH default) */
    struct sb_gw_mount *mounts;
    size_t n_mounts;
    char *workdir;
    enum sb_gw_sandbox_kind sandbox;
    enum sb_gw_pin_mode pin;
    uint64_t memory_bytes, pids, cpu_millis;
    uint64_t timeout_ms;        /* per request */
    uint64_t max_message_bytes; /* per server message */
    bool stderr_inherit;        /* server stderr to the gateway's (default) or discarded */
    bool net_host;              /* "network": "host": the host's network namespace (weaker) */
    /* a remote Streamable HTTP server ("url"): no process, no sandbox (argv and env unused) */
    char *url;      /* checked by sb_gw_remote_url_check */
    char **headers; /* NULL-terminated "Name: value", sent with every request to it */
    char *ca_file;  /* PEM CA bundle for https (NULL: the system's) */
};

typedef struct sb_gw_config {
    struct sb_gw_server_config *servers;
    size_t n_servers;
    json_t *root; /* the whole document (the policy section reads its own part) */
} sb_gw_config;

/* Reads the "servers" object of a configuration; every error names the JSON path
 * ("servers.fs.mounts[1].dst: must be an absolute path"). */
int sb_gw_config_parse(json_t *root, sb_gw_config **out, sb_error *err) SB_WUR;
int sb_gw_config_load(const char *path, sb_gw_config **out, sb_error *err) SB_WUR;
void sb_gw_config_free(sb_gw_config *c);

/* ---- the engine ------------------------------------------------------------------------------ */

typedef struct sb_gw sb_gw;
typedef struct sb_store sb_store;

typedef void (*sb_gw_log_fn)(void *ctx, enum sb_log_level lvl, const char *msg);

/* What an engine that may not launch processes or open the store itself asks its host for: a
 * daemon's front (no privileges, seccomp, no database) asks its monitor (docs/gateway.md,
 * "Hosted by sealboxd"). Every function answers at once. */
struct sb_gw_host {
    void *ctx;
    /* Launches the configured server named server; the engine gets its stdin (to write) and
     * stdout (to read), and a handle for stop. */
    int (*spawn)(void *ctx, const char *server, int *in_fd, int *out_fd, uint64_t *handle,
                 sb_error *err);
    /* The server's pipes are closed: its host ends it (SIGTERM, then SIGKILL after a grace). */
    void (*stop)(void *ctx, uint64_t handle);
    /* The store's pin rows (sb_store_pin_get, _name_approved, _insert). */
    int (*pin_get)(void *ctx, const char *server, const char *kind, const char *name,
                   const char *digest, int64_t *id, bool *approved, sb_error *err);
    int (*pin_name_approved)(void *ctx, const char *server, const char *kind, const char *name,
                             bool *any, sb_error *err);
    int (*pin_insert)(void *ctx, const char *server, const char *kind, const char *name,
                      const char *digest, const char *canon, bool approved, int64_t *id,
                      sb_error *err);
};

struct sb_gw_opts {
    const sb_gw_config *config; /* borrowed; must outlive the engine */
    const char *agent;          /* the agent's name (policy and audit) */
    sb_store *store;            /* pins; NULL: nothing is pinned (every pinned server hidden) */
    /* sandbox parameters (jail servers) */
    const char *state_dir, *init_path, *cgroup_root, *cgroup_parent;
    sb_gw_log_fn log; /* NULL: silent */
    void *log_ctx;
    int stderr_fd; /* where servers with stderr "inherit" write (-1: discarded) */
    /* Transport toward the agent: NULL writes each message line to the serve call's out_fd;
     * otherwise called with one complete line ('\n' included). Negative: the agent is gone;
     * positive: this message could not be delivered (a relayed server request is then refused
     * to its server at once). */
    int (*agent_out)(void *ctx, const char *line, size_t len);
    void *agent_out_ctx;
    /* Audit: called with one record per finished exchange (stolen); NULL: none. */
    void (*audit)(void *ctx, json_t *record);
    void *audit_ctx;
    /* The compiled "agents" policy, borrowed and shared (rate-limit state included) by every
     * engine of one front, so a new session resets nothing; NULL: the engine loads its own. */
    struct sb_gw_policy *policy;
    /* NULL: this process launches the servers and uses store; else the host does both. */
    const struct sb_gw_host *host;
    /* The program a jail server's holder runs as (NULL: /proc/self/exe, this program): it must
     * call sb_gw_holder_main first thing in main when argv[1] is SB_GW_HOLDER_ARG. */
    const char *holder_exe;
};

/* A jail server's holder creates its sandbox, runs the server in it and removes it afterwards.
 * It is a fresh image of the host program (fork, then exec at once: a child of a
 * multi-threaded gateway must not take locks), started as `PROGRAM __gw-holder ...`; hosts
 * (sealbox, sealboxd) hand such a command line to sb_gw_holder_main, which never returns. */
#define SB_GW_HOLDER_ARG "__gw-holder"
#define SB_GW_HOLDER_ARGS_MAX 1024 /* entries of a server's argv or env on that command line */
_Noreturn void sb_gw_holder_main(int argc, char **argv);

int sb_gw_new(const struct sb_gw_opts *o, sb_gw **out, sb_error *err) SB_WUR;
/* Stops every server (stdin closed, SIGTERM, then SIGKILL) and frees; accepts NULL. */
void sb_gw_free(sb_gw *gw);

/* Starts every server and initializes it. Non-blocking: servers come up inside the loop. */
int sb_gw_start(sb_gw *gw, sb_error *err) SB_WUR;
/* Serves one agent session: messages from in_fd, replies to out_fd, until in_fd reaches EOF or
 * stop_fd (if >= 0) is readable. Returns 0 or an I/O error toward the agent. */
int sb_gw_serve_stdio(sb_gw *gw, int in_fd, int out_fd, int stop_fd, sb_error *err) SB_WUR;

/* Runs the servers without an agent until each is initialized and its lists are fetched. */
int sb_gw_wait_ready(sb_gw *gw, uint64_t timeout_ms, sb_error *err) SB_WUR;
/* Approves every definition the servers present now (server NULL: all); *n counts new ones. */
int sb_gw_pin_current(sb_gw *gw, const char *server, size_t *n, sb_error *err) SB_WUR;

/* Feeds bytes the agent sent (any split) to the engine, which answers through agent_out (or
 * out_fd) — the transport-neutral entry a daemon front uses instead of sb_gw_serve_stdio. Work
 * toward servers then happens in sb_gw_serve_stdio/sb_gw_wait_ready's loop. */
int sb_gw_agent_input(sb_gw *gw, const uint8_t *p, size_t n, sb_error *err) SB_WUR;

/* Handles exactly one whole message from the agent (an HTTP body: no framing, any JSON
 * whitespace), answering through agent_out like sb_gw_agent_input. */
int sb_gw_agent_message(sb_gw *gw, const uint8_t *p, size_t n, sb_error *err) SB_WUR;
/* The same for a message the front already parsed with sb_rpc_parse (n: its size in bytes), so
 * what the front checked is exactly what the engine handles, and it is parsed once. */
int sb_gw_agent_rpc(sb_gw *gw, sb_rpc_msg *m, size_t n, sb_error *err) SB_WUR;

/* For a front with an event loop of its own: the descriptors the engine waits on (at most
 * max; 2 per server is always enough) and how long it may wait (ms, -1: no deadline) ... */
struct pollfd;
size_t sb_gw_poll_fds(const sb_gw *gw, struct pollfd *pf, size_t max, int *timeout_ms);
/* ... and one non-blocking round once any of them is ready or the deadline passed: reads what
 * the servers sent, writes what is queued, expires requests. Answers go through agent_out. */
int sb_gw_pump(sb_gw *gw, sb_error *err) SB_WUR;
/* Agent requests waiting for a server (a session with none may be ended without loss). */
size_t sb_gw_in_flight(const sb_gw *gw);

struct sb_gw_stats {
    uint64_t agent_msgs, agent_rejected, server_msgs, server_malformed, server_oversize;
    uint64_t notifications_dropped, timeouts, calls;
    /* server->agent requests: relayed, refused (policy, capability, limits), answers from the
     * agent for no request the gateway sent */
    uint64_t relayed, relay_refused, relay_unknown_answers;
};
void sb_gw_get_stats(const sb_gw *gw, struct sb_gw_stats *out);

/* ---- pins ------------------------------------------------------------------------------------
 * Definitions the model reads (tools, prompts, resource templates, a server's instructions) are
 * pinned by the SHA-256 of their canonical JSON (RFC 8785) in the store's gw_pins table. */

enum sb_gw_pin_state {
    SB_GW_PIN_APPROVED, /* this exact definition is approved */
    SB_GW_PIN_CHANGED,  /* another definition of the same name was approved: drift */
    SB_GW_PIN_UNPINNED, /* never approved */
    SB_GW_PIN_STATE_MAX
};

/* Digest ("sha256:<hex>") of a definition: canonical JSON of the whole object. */
int sb_gw_definition_digest(const json_t *def, char out[72], sb_error *err) SB_WUR;
/* The pin functions of a host backed by a store (spawn and stop left NULL). */
void sb_gw_host_from_store(sb_store *st, struct sb_gw_host *out);
/* sb_gw_pin_check over a host's pin functions (pin_get NULL: nothing is pinned). */
int sb_gw_pin_check_host(const struct sb_gw_host *h, const char *server, const char *kind,
                         const char *name, const json_t *def, enum sb_gw_pin_mode mode,
                         enum sb_gw_pin_state *state, int64_t *id, sb_error *err) SB_WUR;
/* Looks the definition up; records it as pending (or approves it under TOFU when the name was
 * never seen) and returns its row id in *id. */
int sb_gw_pin_check(sb_store *s, const char *server, const char *kind, const char *name,
                    const json_t *def, enum sb_gw_pin_mode mode, enum sb_gw_pin_state *state,
                    int64_t *id, sb_error *err) SB_WUR;

/* ---- audit from the engine ----------------------------------------------------------------------
 * The engine hands each finished exchange to opts.audit as one record (see docs/gateway.md,
 * "Audit records of the proxy"). A queue appends them from a thread of its own, so no request
 * waits for an fsync; records reach the disk in batches, and a crash loses at most the batch in
 * flight (their answers may already have reached the agent). */

#define SB_AUDIT_QUEUE_MAX 65536 /* records waiting; beyond, records are dropped and counted */

typedef struct sb_audit_queue sb_audit_queue;
/* Opens its own store connection to db_path and the log (sb_audit_open) with cfg. */
int sb_audit_queue_start(const char *db_path, const sb_audit_cfg *cfg, sb_audit_queue **out,
                         sb_error *err) SB_WUR;
/* Queues one record (stolen). SB_E_LIMIT when full; the writer's error once it failed. */
int sb_audit_queue_push(sb_audit_queue *q, json_t *record);
/* Writes what is queued, signs the head (with a signer), stops; the writer's first error. */
int sb_audit_queue_stop(sb_audit_queue *q, uint64_t *written, uint64_t *dropped,
                        sb_error *err) SB_WUR;

/* ==== end proxy ========================================================================= */

/* ==== policy ============================================================================== */
/* The "agents" object of the gateway configuration (docs/gateway.md, "Policy language"):
 * who may see and call which server, tool, resource and prompt, with which arguments, how
 * often, and what needs a human's approval. Every refusal reason names the rule that refused. */

#define SB_GW_MAX_AGENTS 256        /* agents in one configuration */
#define SB_GW_MAX_LIST 1024         /* entries in one allow/deny/approval list */
#define SB_GW_MAX_NAME 256          /* bytes of an agent, server, tool or pattern name */
#define SB_GW_MAX_TOOL_RULES 1024   /* tool rules of one agent */
#define SB_GW_MAX_SCHEMA_DEPTH 16   /* nesting of properties/items in one argument schema */
#define SB_GW_MAX_SCHEMA_NODES 4096 /* schema nodes of one agent */
#define SB_GW_MAX_PATTERN 512       /* bytes of one "pattern" regular expression */
#define SB_GW_MAX_ARGS_DEPTH 32     /* nesting of call arguments that are checked */
#define SB_GW_PATH_MAX 4096         /* bytes of a path argument */
#define SB_GW_PATH_MAX_SEGMENTS 512 /* components of a path argument */
#define SB_GW_URL_MAX 8192          /* bytes of a URL argument */
#define SB_GW_HOST_MAX 253          /* bytes of a canonical host name (DNS limit) */
#define SB_GW_REASON_MAX 512        /* a reason buffer this big never truncates the rule */

typedef struct sb_gw_policy sb_gw_policy;

/* Parses and compiles the "agents" object; unknown keys, wrong types, bad globs, patterns
 * and prefixes are SB_E_MALFORMED (or SB_E_LIMIT) naming the field
 * ("agents.alice.tools.fs.read_file.arguments.properties.path.pattern: ..."). */
int sb_gw_policy_load(const json_t *agents_config, sb_gw_policy **out, sb_error *err) SB_WUR;
void sb_gw_policy_free(sb_gw_policy *p);

typedef enum { SB_GW_ALLOW, SB_GW_DENY, SB_GW_NEEDS_APPROVAL, SB_GW_VERDICT_MAX } sb_gw_verdict;
const char *sb_gw_verdict_name(sb_gw_verdict v); /* "allow", "deny", "needs-approval" */

/* kind: "tool" | "resource" | "prompt" | "server"; name un-namespaced (the tool's own name,
 * the resource URI, the prompt name; ignored for "server"). Deny beats allow; an agent that
 * is not configured sees nothing; absent allow lists allow nothing. */
bool sb_gw_policy_visible(const sb_gw_policy *p, const char *agent, const char *server,
                          const char *kind, const char *name);
/* As sb_gw_policy_visible, with the refusing rule written to reason when not visible. */
bool sb_gw_policy_visible_why(const sb_gw_policy *p, const char *agent, const char *server,
                              const char *kind, const char *name, char *reason, size_t reason_len);

/* The decision on one tools/call, in this order: visibility (invisible == uncallable), the
 * argument rules, approval, then the agent's and the tool's rate limits (a call that is
 * refused or waits for approval consumes no token). args NULL means no arguments ({}).
 * now_ms is any monotonic millisecond clock (injected so tests are deterministic); a clock
 * that goes backwards refills nothing. On DENY / NEEDS_APPROVAL reason names the rule.
 * Mutates rate-limit state: one caller at a time. */
sb_gw_verdict sb_gw_policy_check_call(sb_gw_policy *p, const char *agent, const char *server,
                                      const char *tool, const json_t *args, uint64_t now_ms,
                                      char *reason, size_t reason_len);
/* Flags for sb_gw_policy_check_call_ex. */
enum {
    /* The call was approved out of band: approval rules pass, rate limits still apply. */
    SB_GW_CALL_APPROVED = 1u << 0,
    /* Check only; consume no rate-limit token (a dry run, e.g. for `sealbox gateway explain`). */
    SB_GW_CALL_DRY_RUN = 1u << 1,
};
sb_gw_verdict sb_gw_policy_check_call_ex(sb_gw_policy *p, const char *agent, const char *server,
                                         const char *tool, const json_t *args, uint64_t now_ms,
                                         unsigned flags, char *reason, size_t reason_len);

/* Limits carried for the proxy to enforce. A tool rule's timeout_ms overrides the agent's. */
typedef struct sb_gw_limits {
    uint64_t max_request_bytes;         /* one JSON-RPC message from the agent */
    uint64_t max_response_bytes;        /* one JSON-RPC message from a server */
    uint64_t timeout_ms;                /* per request, hard maximum */
    uint64_t server_request_timeout_ms; /* a relayed server->agent request (sampling, ...) */
} sb_gw_limits;
#define SB_GW_DEFAULT_SERVER_REQUEST_TIMEOUT_MS 60000u
#define SB_GW_DEFAULT_MAX_REQUEST (1u << 20)
#define SB_GW_DEFAULT_MAX_RESPONSE (4u << 20)
#define SB_GW_DEFAULT_TIMEOUT_MS 30000u
/* server/tool may be NULL for the agent's own limits; SB_E_NOTFOUND for an unknown agent. */
int sb_gw_policy_limits(const sb_gw_policy *p, const char *agent, const char *server,
                        const char *tool, sb_gw_limits *out) SB_WUR;
/* Whether definitions first seen from this server are pinned without approval. */
bool sb_gw_policy_auto_pin(const sb_gw_policy *p, const char *agent, const char *server);
/* Whether an injection finding in a definition hides it (true, the default) or only flags it. */
bool sb_gw_policy_injection_denies(const sb_gw_policy *p, const char *agent);
bool sb_gw_policy_has_agent(const sb_gw_policy *p, const char *agent);

/* Requests a server sends toward the agent, relayed only when the agent's policy says so:
 * "sampling", "elicitation", "roots": "allow", "deny" (the default) or an array of server globs
 * (allowed for those servers only). */
enum sb_gw_sreq { SB_GW_SREQ_SAMPLING, SB_GW_SREQ_ELICITATION, SB_GW_SREQ_ROOTS, SB_GW_SREQ_MAX };
/* The policy key ("sampling", ...) and the method ("sampling/createMessage", ...) of a kind. */
const char *sb_gw_sreq_key(enum sb_gw_sreq k);
const char *sb_gw_sreq_method(enum sb_gw_sreq k);
/* The kind of a server request method; false for any other method. */
bool sb_gw_sreq_of(const char *method, enum sb_gw_sreq *out);
/* May server relay requests of this kind to agent? On false, reason names the rule. */
bool sb_gw_policy_server_request(const sb_gw_policy *p, const char *agent, const char *server,
                                 enum sb_gw_sreq kind, char *reason, size_t reason_len);

/* ---- paths: lexical canonical form ---- */
/* Canonicalizes an absolute path (or, when base is an absolute path, a relative one joined to
 * it): "." and empty components dropped, ".." resolved lexically (never above "/"), no
 * trailing slash. Refused (SB_E_POLICY, message says why): NUL, control bytes, backslash,
 * percent-encoded bytes, a leading "~", a relative path without base, over the limits. out
 * receives a NUL-terminated string of at most SB_GW_PATH_MAX bytes. */
int sb_gw_path_canon(const char *path, size_t len, const char *base, char *out, size_t out_len,
                     sb_error *err) SB_WUR;
/* True when canonical path equals canonical prefix or lies below it ("/data2" is not under
 * "/data"). */
bool sb_gw_path_under(const char *canon_path, const char *canon_prefix);

/* ---- URLs: the WHATWG URL Standard's parse of scheme, authority and host ---- */
enum sb_gw_host_kind { SB_GW_HOST_DOMAIN, SB_GW_HOST_IPV4, SB_GW_HOST_IPV6, SB_GW_HOST_KIND_MAX };
typedef struct sb_gw_url {
    char scheme[32];               /* lower case */
    char host[SB_GW_HOST_MAX + 3]; /* ASCII (IDN as punycode), lower case, no trailing dot;
                                      dotted-quad IPv4; "[v6]" in RFC 5952 form */
    enum sb_gw_host_kind host_kind;
    bool has_userinfo;     /* "user:pass@" was present */
    bool had_trailing_dot; /* "example.com." (stripped in host) */
    uint16_t port;         /* the explicit port, or the scheme's default */
    bool explicit_port;    /* a non-default port was given */
} sb_gw_url;
/* Parses an absolute URL of a special scheme (http, https, ws, wss, ftp) the way browsers and
 * Node's URL do: backslashes as slashes, the last "@" ends userinfo, "?" and "#" end the
 * authority, percent-decoded hosts, IPv4 in decimal/octal/hex and 1–4 parts, IPv6 literals,
 * IDNA (UTS 46, non-transitional) through libidn2. Stricter than WHATWG: ASCII tab/CR/LF and
 * leading/trailing spaces/controls are refused instead of removed. Errors are SB_E_POLICY
 * with the reason. */
int sb_gw_url_parse(const char *s, size_t len, sb_gw_url *out, sb_error *err) SB_WUR;
/* Canonical form of a host pattern of a url_host allowlist ("Example.COM.", "*.b.org",
 * "0x7f.1", "[::1]"), as the URL parser would produce it. */
int sb_gw_host_canon(const char *host, char *out, size_t out_len, sb_error *err) SB_WUR;

/* ---- pinning and injection scanning ---- */
/* SHA-256 of the RFC 8785 canonical JSON of the WHOLE definition: a tool (name, title,
 * description, inputSchema, outputSchema, annotations, icons, _meta...), a prompt, a resource
 * or resource template, or the server's instructions (a JSON string). */
int sb_gw_pin_digest(const json_t *definition, uint8_t out[32], sb_error *err) SB_WUR;
/* The kind-checked form: kind is "tool", "prompt", "resource", "resource_template" or
 * "instructions"; the definition must have the kind's identifying member(s) (name / uri /
 * uriTemplate, or be a string) so a wrong object is never pinned under a name. */
int sb_gw_pin_digest_kind(const char *kind, const json_t *definition, uint8_t out[32],
                          sb_error *err) SB_WUR;
/* Returns 1 when text has a hidden-instruction pattern (zero-width, bidi or tag characters,
 * "ignore previous instructions"-style phrases, <IMPORTANT>/<system>-style tags, chat
 * template tokens, invalid UTF-8) and writes what and where to finding; 0 otherwise. */
int sb_gw_scan_injection(const char *text, char *finding, size_t finding_len);
/* Scans every string (and member name) of a definition, depth-limited; the finding is
 * prefixed with the JSON path ("inputSchema.properties.x.description: ..."). */
int sb_gw_scan_definition(const json_t *definition, char *finding, size_t finding_len);

/* ==== end policy ========================================================================== */

/* ==== http ==================================================================================
 * The Streamable HTTP transport toward agents (MCP 2025-11-25, basic/transports): one endpoint
 * (/mcp) taking POST, GET and DELETE, JSON or SSE responses, Mcp-Session-Id issued at
 * initialize, MCP-Protocol-Version checked, Origin checked, a bearer token per agent. Each
 * session is one engine (sb_gw) answering through agent_out; the policy, pins, approvals and
 * audit are the stdio path's own (docs/gateway.md, "Streamable HTTP"). */

#define SB_GW_HTTP_HEADER_MAX 4096u            /* bytes of one header value that is parsed */
#define SB_GW_HTTP_ACCEPT_RANGES 64            /* media ranges of one Accept header */
#define SB_GW_HTTP_TOKEN_MAX 512               /* bytes of a bearer token */
#define SB_GW_SESSION_ID_LEN 43                /* base64url of 32 random bytes */
#define SB_GW_ORIGIN_MAX (SB_GW_HOST_MAX + 48) /* bytes of an Origin or Host value */
#define SB_GW_HTTP_SESSIONS_MAX 1024           /* the most "max_sessions" may say */
#define SB_GW_HTTP_ORIGINS_MAX 64              /* entries of "allowed_origins" */

enum { SB_GW_ACCEPT_JSON = 1u << 0, SB_GW_ACCEPT_SSE = 1u << 1 };

/* Header parsers (untrusted bytes; errors name the header and the byte). */
/* Accept (RFC 9110 media ranges with parameters and q): which of application/json and
 * text/event-stream it allows (wildcards count; q=0 excludes). */
int sb_gw_http_accept(const char *v, size_t n, unsigned *out, sb_error *err) SB_WUR;
/* Authorization: "Bearer" 1*SP token68 -> the token's offset and length within v. */
int sb_gw_http_bearer(const char *v, size_t n, size_t *tok_off, size_t *tok_len,
                      sb_error *err) SB_WUR;
/* Mcp-Session-Id: the shape of the ids this gateway issues (43 base64url characters). */
int sb_gw_http_session_id(const char *v, size_t n, sb_error *err) SB_WUR;
/* MCP-Protocol-Version: one of sb_gw_protocol_versions exactly (*out points into it). */
int sb_gw_http_version(const char *v, size_t n, const char **out, sb_error *err) SB_WUR;
/* Origin: scheme://host[:port] of http or https, canonicalized as the URL parser does
 * ("http://LOCALHOST:80" -> "http://localhost"); "null" is SB_E_POLICY. */
int sb_gw_http_origin(const char *v, size_t n, char *out, size_t out_len, sb_error *err) SB_WUR;
/* Host: host[:port]; whether the host is a loopback name or address. */
int sb_gw_http_host_loopback(const char *v, size_t n, bool *loopback, sb_error *err) SB_WUR;
/* Last-Event-ID: "STREAM-EVENT", the ids this gateway gives SSE events (decimal, no leading
 * zeros, STREAM < 2^32, EVENT < 2^64). */
#define SB_GW_EVENT_ID_MAX 31
int sb_gw_http_event_id(const char *v, size_t n, uint32_t *stream, uint64_t *seq,
                        sb_error *err) SB_WUR;

typedef struct sb_gw_http sb_gw_http;

struct sb_gw_http_opts {
    /* The template of every session's engine: config (its "http" and "agents" sections are
     * read here), store, sandbox parameters, log, audit. agent, agent_out and policy are set
     * per session. */
    struct sb_gw_opts engine;
    int listen_fd; /* a listening TCP socket (taken over) */
    bool loopback; /* it is bound to a loopback address: Host must name loopback too */
    const char *tls_cert, *tls_key; /* both or neither */
    bool prefer_sse; /* answer every request as an SSE stream when the client accepts one */
    /* Hosted (sealboxd's front): requests come from the host's own evhttp through
     * sb_gw_http_request, on this event base (borrowed); listen_fd and TLS are unused. An
     * engine.policy given is shared (not freed), so every transport of the host counts the
     * same rate-limit buckets. */
    struct event_base *base;
};

/* An engine's descriptors and deadline registered on a libevent base: what every host of an
 * engine with its own event loop keeps per session (http.c's sessions, sealboxd's stdio
 * sessions). timer is the host's (evtimer_new with its own callback); reg is managed here. */
struct event;
struct event_base;
struct sb_gw_evset {
    struct sb_gw_evreg {
        int fd;
        short what;
        struct event *ev;
    } reg[2 * SB_GW_SERVERS_MAX];
    size_t n_reg;
    struct event *timer;
};
/* Registers exactly what sb_gw_poll_fds asks for now (events persist and call cb(fd, what, arg)),
 * frees what it no longer asks for, and arms or disarms the timer for its deadline. */
void sb_gw_evset_sync(struct sb_gw_evset *es, const sb_gw *gw, struct event_base *base,
                      void (*cb)(int, short, void *), void *arg);
/* Frees every registered event (not the timer). */
void sb_gw_evset_clear(struct sb_gw_evset *es);

/* Reads the configuration's "http" section and the policy; SB_E_MALFORMED naming the field. */
int sb_gw_http_new(const struct sb_gw_http_opts *o, sb_gw_http **out, sb_error *err) SB_WUR;
/* Hosted: handles one request of the host's evhttp (any path; only /mcp is served). */
struct evhttp_request;
void sb_gw_http_request(sb_gw_http *h, struct evhttp_request *req);
/* Serves until stop_fd (if >= 0) is readable. */
int sb_gw_http_run(sb_gw_http *h, int stop_fd, sb_error *err) SB_WUR;
/* Ends every session (their servers stop) and frees; accepts NULL. */
void sb_gw_http_free(sb_gw_http *h);

struct sb_gw_http_stats {
    uint64_t requests, sessions_opened, sessions_closed, refused_auth, refused_origin,
        unknown_session, notifications_dropped;
    uint64_t streams_resumed, events_lost; /* GETs with Last-Event-ID; events they could not get */
    uint64_t preflights;                   /* CORS preflights answered */
};
void sb_gw_http_get_stats(const sb_gw_http *h, struct sb_gw_http_stats *out);

/* A new bearer token ("sbgw_" + base64url of 32 random bytes, malloc'ed) and the
 * "sha256:<hex>" the configuration stores for it. */
int sb_gw_http_token_new(char **token, char hash[72], sb_error *err) SB_WUR;

/* ==== end http ============================================================================== */

/* ==== daemon =========================================================================
 * Hosting the gateway in sealboxd (docs/gateway.md, "Hosted by sealboxd"): the monitor launches
 * the servers (sb_gw_launch_*) and keeps pins, approvals and the audit log; the front runs the
 * engines; `sealbox gateway stdio --agent NAME` without --config is a thin client of the
 * front's gateway socket. A client opens with one hello line, then speaks newline-delimited
 * JSON-RPC both ways:
 *     {"sealbox_gateway": 1, "agent": "NAME", "token": "sbgw_..."}\n
 * answered by {"ok": true, "agent": "NAME"}\n or {"error": "..."}\n (then the end). */

#define SB_GW_HELLO_MAX 2048u            /* bytes of the hello line */
#define SB_GW_SOCKET_FILE "gateway.sock" /* in the state directory */
#define SB_GW_TOKEN_ENV "SEALBOX_GATEWAY_TOKEN"

struct sb_gw_hello {
    char agent[SB_GW_MAX_NAME + 1];
    char token[SB_GW_HTTP_TOKEN_MAX + 1];
};
/* Parses a hello line (untrusted, without its newline): one JSON object of exactly the three
 * members, version 1, an agent name of 1..SB_GW_MAX_NAME printable bytes, a token of
 * 1..SB_GW_HTTP_TOKEN_MAX base64url/"_" characters. Errors name the member. */
int sb_gw_hello_parse(const uint8_t *p, size_t n, struct sb_gw_hello *out, sb_error *err) SB_WUR;
/* The hello line, newline included (malloc'ed). */
int sb_gw_hello_format(const char *agent, const char *token, char **out, sb_error *err) SB_WUR;

/* The agents' bearer tokens: the configuration's "http.tokens" (agent -> "sha256:<hex>"), which
 * authenticate stdio clients of the daemon as well as HTTP requests. */
typedef struct sb_gw_tokens sb_gw_tokens;
/* Every agent named must be in the policy; two agents cannot share a token. */
int sb_gw_tokens_load(const json_t *root, const sb_gw_policy *policy, sb_gw_tokens **out,
                      sb_error *err) SB_WUR;
/* The agent whose token this is (compared in constant time with every entry), or NULL. */
const char *sb_gw_tokens_agent(const sb_gw_tokens *t, const char *token, size_t n);
void sb_gw_tokens_free(sb_gw_tokens *t);

/* A copy of the configuration the front may hold: every server's "env" values replaced by ""
 * (they may be secrets; the servers' environment is the monitor's business). */
json_t *sb_gw_config_redacted(const json_t *root);

/* A server launched on behalf of another process: the monitor launches it (jail sandbox through
 * a holder, as standalone), hands the pipes to the front and keeps the holder. */
typedef struct sb_gw_launch sb_gw_launch;
/* *in_fd and *out_fd are the caller's (it passes them on and closes them). o gives the sandbox
 * parameters and stderr_fd; o->host must be NULL. */
int sb_gw_launch_start(const struct sb_gw_server_config *sc, const struct sb_gw_opts *o,
                       sb_gw_launch **out, int *in_fd, int *out_fd, sb_error *err) SB_WUR;
pid_t sb_gw_launch_pid(const sb_gw_launch *l);
/* Begins the end (its stdin is already closed by the holder of the pipe): after 2 s SIGTERM,
 * after 4 s the sandbox's init is killed, after 6 s the holder. */
void sb_gw_launch_stop(sb_gw_launch *l);
/* Non-blocking upkeep: copies the holder's one report ("ok PID ID" / "err MESSAGE") into report
 * the first time it is complete (else ""); true once the holder has exited (then free it). */
bool sb_gw_launch_poll(sb_gw_launch *l, char *report, size_t cap);
/* Stops it if needed (blocking, up to ~10 s) and frees; accepts NULL. */
void sb_gw_launch_free(sb_gw_launch *l);

/* ==== end daemon ============================================================================ */

/* ==== remote (src/gateway/sse.c, remote.c) ==================================================
 * Remote Streamable HTTP servers: a server entry with "url" is reached over HTTP(S) by a bridge
 * thread that speaks the engine's newline-delimited JSON-RPC on one side and MCP's Streamable
 * HTTP (POST per message, JSON or SSE answers, Mcp-Session-Id, the GET stream) on the other. */

/* bytes of one event's data (and at most the server's max_message_bytes) */
#define SB_GW_SSE_DATA_MAX (64u << 20)
#define SB_GW_SSE_FIELD_MAX 256      /* bytes of an event name or id */
#define SB_GW_REMOTE_HEADERS_MAX 16  /* "headers" of a remote server */
#define SB_GW_REMOTE_HEADER_MAX 4096 /* bytes of one header value */

/* The text/event-stream decoder. */
typedef struct sb_gw_sse {
    sb_writer line, data;
    size_t max_data;
    char event[SB_GW_SSE_FIELD_MAX + 1];
    char last_id[SB_GW_SSE_FIELD_MAX + 1];
    uint64_t retry_ms; /* the last "retry" field; 0: none */
    uint64_t offset;   /* bytes pushed so far (for messages) */
    uint64_t events;
    bool has_data, cr;
} sb_gw_sse;

/* Called per dispatched event: its type ("message" unless named), its data (the data lines
 * joined by LF, without the last LF), the last event id seen ("" if none). Non-zero stops. */
typedef int (*sb_gw_sse_fn)(void *ctx, const char *event, const uint8_t *data, size_t n,
                            const char *id);
void sb_gw_sse_init(sb_gw_sse *s, size_t max_data);
void sb_gw_sse_free(sb_gw_sse *s);
/* Feeds n bytes; SB_E_LIMIT (naming the byte offset) for a line or an event over the limits,
 * after which the stream must be dropped; fn's non-zero value stops and is returned. */
int sb_gw_sse_push(sb_gw_sse *s, const uint8_t *p, size_t n, sb_gw_sse_fn fn, void *ctx,
                   sb_error *err) SB_WUR;

/* A remote server's URL: https, or http to a loopback host (127.0.0.0/8, [::1], localhost); no
 * userinfo, fragment, whitespace or backslash; the host libcurl would connect to must be the one
 * the WHATWG parse (sb_gw_url_parse) sees. SB_E_POLICY / SB_E_MALFORMED with the reason. */
int sb_gw_remote_url_check(const char *url, sb_error *err) SB_WUR;
/* A header of a remote server: a token name other than those the bridge sets itself
 * (Content-Type, Accept, Mcp-Session-Id, MCP-Protocol-Version, Last-Event-ID, Host,
 * Content-Length, Transfer-Encoding, Connection); a value of visible ASCII, spaces and tabs. */
int sb_gw_remote_header_check(const char *name, const char *value, sb_error *err) SB_WUR;

/* ==== end remote ============================================================================ */

#endif
