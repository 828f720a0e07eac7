/* store: sealboxd's persistent state in one SQLite database (WAL mode) — tenants, API keys (as
 * keyed hashes), sandboxes and events — with versioned migrations and prepared statements only. */
#ifndef SB_STORE_H
#define SB_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../util/util.h"

/* The schema this binary writes. A database whose schema_version is higher was written by a
 * newer sealbox and is refused (SB_E_UNSUPPORTED) rather than misread. */
#define SB_STORE_SCHEMA_VERSION 6
/* SQLite busy timeout: how long a writer waits for another connection's lock. */
#define SB_STORE_BUSY_MS 5000

/* Field limits, enforced on every write (SB_E_LIMIT / SB_E_MALFORMED name the field). */
#define SB_TENANT_NAME_MAX 63       /* [a-z0-9][a-z0-9_-]* */
#define SB_KEY_ID_MAX 31            /* public id of an API key, [A-Za-z0-9_] */
#define SB_KEY_LABEL_MAX 127        /* free text, printable ASCII */
#define SB_KEY_HASH_LEN 32          /* HMAC-SHA-256 */
#define SB_SANDBOX_ID_MAX 47        /* [A-Za-z0-9_-] */
#define SB_IMAGE_DIGEST_MAX 95      /* "sha256:" + 64 hex, or empty */
#define SB_SANDBOX_CONFIG_MAX 65536 /* bytes of config JSON */
#define SB_EVENT_KIND_MAX 31        /* [a-z_.] */
#define SB_EVENT_DETAIL_MAX 4096    /* bytes of detail JSON */
#define SB_STORE_LIST_MAX 1000      /* most rows one list call returns */

typedef struct sb_store sb_store;

/* Opens (creating if absent, mode 0600) the database at path, sets WAL mode, synchronous=FULL,
 * foreign keys and the busy timeout, then applies every missing migration, each in its own
 * transaction. Refuses a file that is not a SQLite database, is corrupt, belongs to another
 * application, or has a newer schema than SB_STORE_SCHEMA_VERSION. */
int sb_store_open(const char *path, sb_store **out, sb_error *err) SB_WUR;
void sb_store_close(sb_store *s);
/* The schema version now in the database. */
int sb_store_schema_version(sb_store *s, int *out, sb_error *err) SB_WUR;
/* PRAGMA integrity_check: 0 when "ok", SB_E_MALFORMED with SQLite's first complaint otherwise. */
int sb_store_check(sb_store *s, sb_error *err) SB_WUR;

/* Explicit transactions for multi-step operations (a quota check and the insert it guards).
 * begin takes the write lock at once (BEGIN IMMEDIATE). */
int sb_store_begin(sb_store *s, sb_error *err) SB_WUR;
int sb_store_commit(sb_store *s, sb_error *err) SB_WUR;
/* Begins a transaction whose commit does not wait for the disk (synchronous=NORMAL until its
 * commit or rollback): the transaction is in the WAL file, so it survives the process dying
 * (kill -9) at once, and a power loss or kernel crash once the WAL is synced — by the next
 * ordinary commit on this connection, a checkpoint, or sb_store_sync(). For an answer that must
 * not wait for an fsync (sealboxd's create from the warm pool); the caller syncs right after
 * answering. */
int sb_store_begin_nosync(sb_store *s, sb_error *err) SB_WUR;
/* Makes the commits of sb_store_begin_nosync transactions durable (fdatasync of the WAL) unless a
 * synced commit has done so since. 1 when it synced, 0 when nothing was pending. */
int sb_store_sync(sb_store *s, sb_error *err) SB_WUR;
void sb_store_rollback(sb_store *s);
/* A read transaction: every read until sb_store_rollback sees one snapshot (WAL: writers in other
 * connections go on meanwhile). */
int sb_store_begin_read(sb_store *s, sb_error *err) SB_WUR;
/* True while an explicit transaction is open on this connection. */
bool sb_store_in_transaction(sb_store *s);

/* ---- tenants ---------------------------------------------------------------------------- */

typedef struct sb_tenant {
    int64_t id;
    char name[SB_TENANT_NAME_MAX + 1];
    int64_t created;       /* Unix seconds */
    int64_t max_sandboxes; /* 0 = no limit */
    int64_t max_memory_mb; /* sum of live sandboxes' memory limits; 0 = no limit */
} sb_tenant;

bool sb_store_tenant_name_valid(const char *name);
/* SB_E_POLICY when the name is taken. */
int sb_store_tenant_create(sb_store *s, const char *name, int64_t max_sandboxes,
                           int64_t max_memory_mb, sb_tenant *out, sb_error *err) SB_WUR;
int sb_store_tenant_get(sb_store *s, const char *name, sb_tenant *out, sb_error *err) SB_WUR;
int sb_store_tenant_get_by_id(sb_store *s, int64_t id, sb_tenant *out, sb_error *err) SB_WUR;
/* Every tenant by name; *out is malloc'ed (NULL when *n is 0). */
int sb_store_tenant_list(sb_store *s, sb_tenant **out, size_t *n, sb_error *err) SB_WUR;
/* Removes a tenant and its keys. SB_E_POLICY while it still has sandboxes that are not
 * destroyed or lost; its sandbox history and events go with it. */
int sb_store_tenant_delete(sb_store *s, const char *name, sb_error *err) SB_WUR;

/* ---- API keys ---------------------------------------------------------------------------- */

typedef struct sb_apikey {
    char id[SB_KEY_ID_MAX + 1]; /* public, shown in listings and logs */
    int64_t tenant_id;
    uint8_t hash[SB_KEY_HASH_LEN]; /* HMAC-SHA-256 of the secret part under the server secret */
    char label[SB_KEY_LABEL_MAX + 1];
    int64_t created;
    int64_t expires; /* Unix seconds; 0 = never */
    bool revoked;
} sb_apikey;

bool sb_store_key_id_valid(const char *id);
/* SB_E_POLICY when the id exists; SB_E_NOTFOUND when the tenant does not. */
int sb_store_key_insert(sb_store *s, const sb_apikey *k, sb_error *err) SB_WUR;
int sb_store_key_get(sb_store *s, const char *id, sb_apikey *out, sb_error *err) SB_WUR;
/* SB_E_NOTFOUND when absent; revoking twice is fine. */
int sb_store_key_revoke(sb_store *s, const char *id, sb_error *err) SB_WUR;
/* Keys of one tenant (tenant_id > 0) or of all (0), ordered by id. */
int sb_store_key_list(sb_store *s, int64_t tenant_id, sb_apikey **out, size_t *n,
                      sb_error *err) SB_WUR;

/* ---- sandboxes ---------------------------------------------------------------------------- */

enum sb_sbx_state {
    SB_SBX_CREATING,
    SB_SBX_RUNNING,
    SB_SBX_STANDBY,
    SB_SBX_DESTROYED,
    SB_SBX_LOST, /* found after a crash with nothing to re-adopt; torn down */
    SB_SBX_STATE_MAX
};
const char *sb_sbx_state_name(enum sb_sbx_state st);
int sb_sbx_state_parse(const char *s, enum sb_sbx_state *out);
/* True for states that count against quotas and hold host resources. */
bool sb_sbx_state_live(enum sb_sbx_state st);

typedef struct sb_sandbox_rec {
    char id[SB_SANDBOX_ID_MAX + 1];
    int64_t tenant_id;
    enum sb_sbx_state state;
    char image_digest[SB_IMAGE_DIGEST_MAX + 1];
    char *config_json; /* malloc'ed, owned by the record */
    int64_t memory_mb; /* the memory limit, for quotas */
    int64_t created, updated;
} sb_sandbox_rec;

bool sb_store_sandbox_id_valid(const char *id);
void sb_sandbox_rec_clear(sb_sandbox_rec *r);
void sb_sandbox_recs_free(sb_sandbox_rec *v, size_t n);
int sb_store_sandbox_insert(sb_store *s, const sb_sandbox_rec *r, sb_error *err) SB_WUR;
/* Tenant-scoped: a sandbox of another tenant is SB_E_NOTFOUND, exactly like a missing one. */
int sb_store_sandbox_get(sb_store *s, int64_t tenant_id, const char *id, sb_sandbox_rec *out,
                         sb_error *err) SB_WUR;
/* Records what creation learned: the image digest and the final config (tenant-scoped). */
int sb_store_sandbox_update_created(sb_store *s, int64_t tenant_id, const char *id,
                                    const char *image_digest, const char *config_json,
                                    sb_error *err) SB_WUR;
/* Changes state (tenant-scoped as above) and bumps updated. */
int sb_store_sandbox_set_state(sb_store *s, int64_t tenant_id, const char *id, enum sb_sbx_state st,
                               sb_error *err) SB_WUR;
/* A tenant's sandboxes (tenant_id 0: every tenant's) ordered by id, strictly after `after`
 * (NULL or "" from the start), at most limit (≤ SB_STORE_LIST_MAX); live ones only unless
 * all is set. */
int sb_store_sandbox_list(sb_store *s, int64_t tenant_id, const char *after, size_t limit, bool all,
                          sb_sandbox_rec **out, size_t *n, sb_error *err) SB_WUR;
/* Live sandboxes of a tenant and the sum of their memory limits (for quotas). */
int sb_store_sandbox_usage(sb_store *s, int64_t tenant_id, int64_t *count, int64_t *memory_mb,
                           sb_error *err) SB_WUR;
/* Live sandboxes by state, over every tenant (for metrics); counts[SB_SBX_STATE_MAX]. */
int sb_store_sandbox_count_by_state(sb_store *s, int64_t counts[SB_SBX_STATE_MAX],
                                    sb_error *err) SB_WUR;

/* ---- events -------------------------------------------------------------------------------- */

typedef struct sb_event {
    int64_t seq;
    int64_t time;
    int64_t tenant_id;                      /* 0 for daemon-wide events */
    char sandbox_id[SB_SANDBOX_ID_MAX + 1]; /* "" when not about a sandbox */
    char kind[SB_EVENT_KIND_MAX + 1];
    char *detail_json; /* malloc'ed, may be NULL */
} sb_event;

void sb_events_free(sb_event *v, size_t n);
/* Appends an event; detail_json may be NULL. *seq (optional) receives its sequence number. */
int sb_store_event_add(sb_store *s, int64_t tenant_id, const char *sandbox_id, const char *kind,
                       const char *detail_json, int64_t *seq, sb_error *err) SB_WUR;
/* Events with seq > after, oldest first, at most limit; of one sandbox when sandbox_id is
 * non-NULL (and then of tenant_id only). */
int sb_store_event_list(sb_store *s, int64_t tenant_id, const char *sandbox_id, int64_t after,
                        size_t limit, sb_event **out, size_t *n, sb_error *err) SB_WUR;

/* ---- audit chain ----------------------------------------------------------------------------
 * Plain rows for src/gateway/audit.c, which owns their meaning (hashing, signing, verifying).
 * Both tables refuse UPDATE and DELETE through SQL (triggers). */

#define SB_AUDIT_HASH_LEN 32
#define SB_AUDIT_RECORD_MAX 65536 /* bytes of one canonical JSON record */
#define SB_AUDIT_SIG_MAX 128      /* bytes of one checkpoint signature */
#define SB_AUDIT_KID_MAX 63       /* a key id (RFC 7638 thumbprint, base64url) */

typedef struct sb_audit_row {
    int64_t seq, ts; /* ts: Unix milliseconds */
    char *record;    /* malloc'ed canonical JSON; NULL from sb_store_audit_last */
    size_t record_len;
    uint8_t prev[SB_AUDIT_HASH_LEN], hash[SB_AUDIT_HASH_LEN];
    bool malformed; /* read back: a column had the wrong type or size (the row was edited) */
} sb_audit_row;

typedef struct sb_audit_ckpt {
    int64_t seq, ts;
    uint8_t hash[SB_AUDIT_HASH_LEN];
    char kid[SB_AUDIT_KID_MAX + 1];
    uint8_t sig[SB_AUDIT_SIG_MAX];
    size_t siglen;
    uint64_t counter; /* the TPM NV counter value it signed; 0: none (a version-1 head) */
    bool malformed;
} sb_audit_ckpt;

void sb_audit_rows_free(sb_audit_row *v, size_t n);
/* The row with the highest seq (without its record); *found false on an empty log. */
int sb_store_audit_last(sb_store *s, sb_audit_row *out, bool *found, sb_error *err) SB_WUR;
/* SB_E_POLICY when the seq exists. */
int sb_store_audit_insert(sb_store *s, const sb_audit_row *r, sb_error *err) SB_WUR;
/* Rows with seq > after in seq order, at most limit (<= SB_STORE_LIST_MAX). */
int sb_store_audit_list(sb_store *s, int64_t after, size_t limit, sb_audit_row **out, size_t *n,
                        sb_error *err) SB_WUR;
int sb_store_audit_ckpt_insert(sb_store *s, const sb_audit_ckpt *c, sb_error *err) SB_WUR;
int sb_store_audit_ckpt_last(sb_store *s, sb_audit_ckpt *out, bool *found, sb_error *err) SB_WUR;
/* Checkpoints with seq > after in seq order; *out malloc'ed (plain data: free()). */
int sb_store_audit_ckpt_list(sb_store *s, int64_t after, size_t limit, sb_audit_ckpt **out,
                             size_t *n, sb_error *err) SB_WUR;
/* ---- the key broker (src/kbs) -------------------------------------------------------------
 * Resources are stored only as AES-256-GCM blobs made by src/kbs (the store never sees a
 * plaintext), with the id of the master key that sealed them. */

#define SB_KBS_PATH_MAX 192          /* "repo/type/tag" */
#define SB_KBS_KEY_ID_MAX 32         /* hex id of the master key */
#define SB_KBS_BLOB_MAX (80u * 1024) /* one sealed resource */
#define SB_KBS_POLICY_MAX (256u * 1024)
#define SB_KBS_RESOURCES_MAX 10000 /* most resources one list returns */

typedef struct sb_kbs_resource_rec {
    char path[SB_KBS_PATH_MAX + 1];
    char key_id[SB_KBS_KEY_ID_MAX + 1];
    uint8_t *blob; /* malloc'ed, sealed */
    size_t blob_len;
    size_t size; /* plaintext bytes */
    int64_t created, updated;
} sb_kbs_resource_rec;

/* repo/type/tag: three non-empty segments of [A-Za-z0-9._-], none "." or "..". */
bool sb_store_kbs_path_valid(const char *path);
void sb_kbs_rec_clear(sb_kbs_resource_rec *r);
void sb_kbs_recs_free(sb_kbs_resource_rec *v, size_t n);
/* Inserts or replaces. */
int sb_store_kbs_resource_put(sb_store *s, const char *path, const char *key_id,
                              const uint8_t *blob, size_t len, size_t size, sb_error *err) SB_WUR;
int sb_store_kbs_resource_get(sb_store *s, const char *path, sb_kbs_resource_rec *out,
                              sb_error *err) SB_WUR;
int sb_store_kbs_resource_delete(sb_store *s, const char *path, sb_error *err) SB_WUR;
/* Every resource by path (with blobs: rotation re-seals them). */
int sb_store_kbs_resource_list(sb_store *s, sb_kbs_resource_rec **out, size_t *n,
                               sb_error *err) SB_WUR;
/* Named policy documents ("attestation", "resource"); get is SB_E_NOTFOUND when unset. */
int sb_store_kbs_policy_put(sb_store *s, const char *name, const char *body, sb_error *err) SB_WUR;
int sb_store_kbs_policy_get(sb_store *s, const char *name, char **body, sb_error *err) SB_WUR;
int sb_store_kbs_policy_delete(sb_store *s, const char *name, sb_error *err) SB_WUR;
/* Admin keys: id and HMAC-SHA-256 of the whole key, as for API keys (src/api). */
int sb_store_kbs_admin_key_insert(sb_store *s, const char *id, const uint8_t hash[32],
                                  const char *label, sb_error *err) SB_WUR;
int sb_store_kbs_admin_key_get(sb_store *s, const char *id, uint8_t hash[32], bool *revoked,
                               sb_error *err) SB_WUR;

/* ---- gateway pins ----------------------------------------------------------------------------
 * The MCP gateway's pinned definitions (src/gateway): per server, kind ("tool", "prompt",
 * "resource-template", "instructions") and name, the digests seen and the one approved. */

#define SB_PIN_FIELD_MAX 255     /* bytes of server, kind, name, digest */
#define SB_PIN_DEF_MAX (1 << 20) /* bytes of the stored canonical definition */

typedef struct sb_pin_rec {
    int64_t id;
    char server[SB_PIN_FIELD_MAX + 1];
    char kind[32];
    char name[SB_PIN_FIELD_MAX + 1];
    char digest[80];
    bool approved;
    int64_t created, updated;
} sb_pin_rec;

/* SB_E_NOTFOUND (without touching err) when this exact digest was never recorded. */
int sb_store_pin_get(sb_store *s, const char *server, const char *kind, const char *name,
                     const char *digest, int64_t *id, bool *approved, sb_error *err) SB_WUR;
/* Whether some digest of this name is approved. */
int sb_store_pin_name_approved(sb_store *s, const char *server, const char *kind, const char *name,
                               bool *any, sb_error *err) SB_WUR;
/* Records a digest (approved: it replaces whatever was approved for the name). */
int sb_store_pin_insert(sb_store *s, const char *server, const char *kind, const char *name,
                        const char *digest, const char *definition, bool approved, int64_t *id,
                        sb_error *err) SB_WUR;
/* Approves row id: it becomes the only approved digest of its name. */
int sb_store_pin_approve(sb_store *s, int64_t id, sb_pin_rec *out, sb_error *err) SB_WUR;
int sb_store_pin_list(sb_store *s, bool pending_only, sb_pin_rec **out, size_t *n,
                      sb_error *err) SB_WUR;

/* ---- measurement logs ---------------------------------------------------------------------- */

#define SB_MLOG_EVENT_MAX (256u * 1024u) /* bytes of one stored event */

/* Appends one canonical event of a sandbox's measurement log (written by the monitor only). */
int sb_store_mlog_append(sb_store *s, int64_t tenant_id, const char *sandbox_id, int64_t seq,
                         const char *event_json, sb_error *err) SB_WUR;
/* The events of a sandbox in order (tenant-scoped), at most max; *events is an array of
 * malloc'ed strings (free each, then the array). No rows: *n = 0. */
int sb_store_mlog_get(sb_store *s, int64_t tenant_id, const char *sandbox_id, size_t max,
                      char ***events, size_t *n, sb_error *err) SB_WUR;

#endif
