/* store: the SQLite database behind sealboxd. Every query is a constant SQL text prepared once
 * and bound with parameters; migrations are numbered, each applied in its own transaction. */
#include <errno.h>
#include <fcntl.h>
#include <sqlite3.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store.h"

/* 'SBOX': marks the file as ours so a foreign SQLite database is never migrated by mistake. */
#define SB_STORE_APP_ID 0x53424f58

/* ---- migrations ------------------------------------------------------------------------- */

/* MIGRATIONS[v-1] takes the schema from v-1 to v. Never edit a released entry: append. */
static const char *const MIGRATIONS[] = {
    /* 1: the first schema */
    "CREATE TABLE schema_version (version INTEGER PRIMARY KEY, applied INTEGER NOT NULL) STRICT;"
    "CREATE TABLE tenants (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE,"
    " created INTEGER NOT NULL, max_sandboxes INTEGER NOT NULL DEFAULT 0,"
    " max_memory_mb INTEGER NOT NULL DEFAULT 0) STRICT;"
    "CREATE TABLE api_keys (id TEXT PRIMARY KEY,"
    " tenant_id INTEGER NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,"
    " hash BLOB NOT NULL CHECK (length(hash) = 32), label TEXT NOT NULL DEFAULT '',"
    " created INTEGER NOT NULL, expires INTEGER NOT NULL DEFAULT 0,"
    " revoked INTEGER NOT NULL DEFAULT 0) STRICT;"
    "CREATE INDEX api_keys_tenant ON api_keys (tenant_id, id);"
    "CREATE TABLE sandboxes (id TEXT PRIMARY KEY,"
    " tenant_id INTEGER NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,"
    " state TEXT NOT NULL, image_digest TEXT NOT NULL DEFAULT '', config TEXT NOT NULL,"
    " memory_mb INTEGER NOT NULL DEFAULT 0, created INTEGER NOT NULL,"
    " updated INTEGER NOT NULL) STRICT;"
    "CREATE INDEX sandboxes_tenant ON sandboxes (tenant_id, id);"
    "CREATE TABLE events (seq INTEGER PRIMARY KEY AUTOINCREMENT, time INTEGER NOT NULL,"
    " tenant_id INTEGER REFERENCES tenants(id) ON DELETE CASCADE, sandbox_id TEXT,"
    " kind TEXT NOT NULL, detail TEXT) STRICT;"
    "CREATE INDEX events_sandbox ON events (sandbox_id, seq);",
    /* 2: the audit chain (src/gateway/audit.c). Rows and checkpoints are append-only: the
     * triggers stop any UPDATE or DELETE through SQL. Someone with write access to the file
     * can drop them; what catches that is the chain and its signed heads, not SQLite. */
    "CREATE TABLE audit_log (seq INTEGER PRIMARY KEY, ts INTEGER NOT NULL, record TEXT NOT NULL,"
    " prev BLOB NOT NULL CHECK (length(prev) = 32),"
    " hash BLOB NOT NULL CHECK (length(hash) = 32)) STRICT;"
    "CREATE TABLE audit_checkpoints (seq INTEGER PRIMARY KEY, ts INTEGER NOT NULL,"
    " hash BLOB NOT NULL CHECK (length(hash) = 32), kid TEXT NOT NULL, sig BLOB NOT NULL) STRICT;"
    "CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log"
    " BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;"
    "CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log"
    " BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;"
    "CREATE TRIGGER audit_checkpoints_no_update BEFORE UPDATE ON audit_checkpoints"
    " BEGIN SELECT RAISE(ABORT, 'audit_checkpoints is append-only'); END;"
    "CREATE TRIGGER audit_checkpoints_no_delete BEFORE DELETE ON audit_checkpoints"
    " BEGIN SELECT RAISE(ABORT, 'audit_checkpoints is append-only'); END;",
    /* 3: the key broker (src/kbs): encrypted resources, policies, admin keys (keyed hashes) */
    "CREATE TABLE kbs_resources (path TEXT PRIMARY KEY, key_id TEXT NOT NULL,"
    " blob BLOB NOT NULL, size INTEGER NOT NULL, created INTEGER NOT NULL,"
    " updated INTEGER NOT NULL) STRICT;"
    "CREATE TABLE kbs_policies (name TEXT PRIMARY KEY, body TEXT NOT NULL,"
    " updated INTEGER NOT NULL) STRICT;"
    "CREATE TABLE kbs_admin_keys (id TEXT PRIMARY KEY,"
    " hash BLOB NOT NULL CHECK (length(hash) = 32), label TEXT NOT NULL DEFAULT '',"
    " created INTEGER NOT NULL, revoked INTEGER NOT NULL DEFAULT 0) STRICT;",
    /* 4: pinned MCP definitions of the gateway (one approved digest per server/kind/name) */
    "CREATE TABLE gw_pins (id INTEGER PRIMARY KEY, server TEXT NOT NULL, kind TEXT NOT NULL,"
    " name TEXT NOT NULL, digest TEXT NOT NULL, definition TEXT NOT NULL,"
    " approved INTEGER NOT NULL DEFAULT 0, created INTEGER NOT NULL, updated INTEGER NOT NULL,"
    " UNIQUE (server, kind, name, digest)) STRICT;",
    /* 5: every sandbox's measurement log (docs/secrets.md), one canonical event per row */
    "CREATE TABLE sandbox_log (sandbox_id TEXT NOT NULL,"
    " tenant_id INTEGER NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,"
    " seq INTEGER NOT NULL, event TEXT NOT NULL, PRIMARY KEY (sandbox_id, seq)) STRICT;",
    /* 6: the TPM NV counter value a checkpoint signed (0: none; docs/gateway.md) */
    "ALTER TABLE audit_checkpoints ADD COLUMN counter INTEGER NOT NULL DEFAULT 0"
    " CHECK (counter >= 0);",
};
_Static_assert(SB_ARRAY_LEN(MIGRATIONS) == SB_STORE_SCHEMA_VERSION,
               "one migration per schema version");

/* ---- the statement cache -------------------------------------------------------------------- */

enum q {
    Q_BEGIN,
    Q_COMMIT,
    Q_ROLLBACK,
    Q_VERSION,
    Q_VERSION_INSERT,
    Q_TENANT_INSERT,
    Q_TENANT_BY_NAME,
    Q_TENANT_BY_ID,
    Q_TENANT_LIST,
    Q_TENANT_LIVE,
    Q_TENANT_DELETE,
    Q_KEY_INSERT,
    Q_KEY_GET,
    Q_KEY_REVOKE,
    Q_KEY_LIST_ALL,
    Q_KEY_LIST_TENANT,
    Q_SBX_INSERT,
    Q_SBX_GET,
    Q_SBX_SET_STATE,
    Q_SBX_UPDATE_CREATED,
    Q_SBX_LIST,
    Q_SBX_USAGE,
    Q_SBX_BY_STATE,
    Q_EVENT_INSERT,
    Q_EVENT_LIST_ALL,
    Q_EVENT_LIST_TENANT,
    Q_EVENT_LIST_SBX,
    Q_AUDIT_LAST,
    Q_BEGIN_READ,
    Q_AUDIT_INSERT,
    Q_AUDIT_LIST,
    Q_AUDIT_CKPT_INSERT,
    Q_AUDIT_CKPT_LAST,
    Q_AUDIT_CKPT_LIST,
    Q_KBS_RES_PUT,
    Q_KBS_RES_GET,
    Q_KBS_RES_DELETE,
    Q_KBS_RES_LIST,
    Q_KBS_POL_PUT,
    Q_KBS_POL_GET,
    Q_KBS_POL_DELETE,
    Q_KBS_ADMIN_INSERT,
    Q_KBS_ADMIN_GET,
    Q_PIN_GET,
    Q_PIN_NAME_APPROVED,
    Q_PIN_INSERT,
    Q_PIN_GET_ID,
    Q_PIN_UNAPPROVE_NAME,
    Q_PIN_APPROVE,
    Q_PIN_LIST,
    Q_MLOG_INSERT,
    Q_MLOG_LIST,
    Q_MAX
};

static const char *const SQL[Q_MAX] = {
    [Q_BEGIN] = "BEGIN IMMEDIATE",
    [Q_COMMIT] = "COMMIT",
    [Q_ROLLBACK] = "ROLLBACK",
    [Q_VERSION] = "SELECT coalesce(max(version), 0) FROM schema_version",
    [Q_VERSION_INSERT] = "INSERT INTO schema_version (version, applied) VALUES (?1, ?2)",
    [Q_TENANT_INSERT] = "INSERT INTO tenants (name, created, max_sandboxes, max_memory_mb)"
                        " VALUES (?1, ?2, ?3, ?4)",
    [Q_TENANT_BY_NAME] = "SELECT id, name, created, max_sandboxes, max_memory_mb FROM tenants"
                         " WHERE name = ?1",
    [Q_TENANT_BY_ID] = "SELECT id, name, created, max_sandboxes, max_memory_mb FROM tenants"
                       " WHERE id = ?1",
    [Q_TENANT_LIST] = "SELECT id, name, created, max_sandboxes, max_memory_mb FROM tenants"
                      " ORDER BY name LIMIT ?1",
    [Q_TENANT_LIVE] = "SELECT count(*) FROM sandboxes WHERE tenant_id = ?1"
                      " AND state NOT IN ('destroyed', 'lost')",
    [Q_TENANT_DELETE] = "DELETE FROM tenants WHERE id = ?1",
    [Q_KEY_INSERT] = "INSERT INTO api_keys (id, tenant_id, hash, label, created, expires, revoked)"
                     " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    [Q_KEY_GET] = "SELECT id, tenant_id, hash, label, created, expires, revoked FROM api_keys"
                  " WHERE id = ?1",
    [Q_KEY_REVOKE] = "UPDATE api_keys SET revoked = 1 WHERE id = ?1",
    [Q_KEY_LIST_ALL] = "SELECT id, tenant_id, hash, label, created, expires, revoked"
                       " FROM api_keys ORDER BY id LIMIT ?1",
    [Q_KEY_LIST_TENANT] = "SELECT id, tenant_id, hash, label, created, expires, revoked"
                          " FROM api_keys WHERE tenant_id = ?2 ORDER BY id LIMIT ?1",
    [Q_SBX_INSERT] = "INSERT INTO sandboxes (id, tenant_id, state, image_digest, config, memory_mb,"
                     " created, updated) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    [Q_SBX_GET] = "SELECT id, tenant_id, state, image_digest, config, memory_mb, created, updated"
                  " FROM sandboxes WHERE id = ?1 AND tenant_id = ?2",
    [Q_SBX_SET_STATE] = "UPDATE sandboxes SET state = ?3, updated = ?4"
                        " WHERE id = ?1 AND tenant_id = ?2",
    [Q_SBX_UPDATE_CREATED] = "UPDATE sandboxes SET image_digest = ?3, config = ?4, updated = ?5"
                             " WHERE id = ?1 AND tenant_id = ?2",
    /* ?2 = 0 selects every tenant; ?5 = 1 includes finished sandboxes. */
    [Q_SBX_LIST] = "SELECT id, tenant_id, state, image_digest, config, memory_mb, created, updated"
                   " FROM sandboxes WHERE (?2 = 0 OR tenant_id = ?2) AND id > ?3"
                   " AND (?5 = 1 OR state NOT IN ('destroyed', 'lost')) ORDER BY id LIMIT ?4",
    [Q_SBX_USAGE] = "SELECT count(*), coalesce(sum(memory_mb), 0) FROM sandboxes"
                    " WHERE tenant_id = ?1 AND state NOT IN ('destroyed', 'lost')",
    [Q_SBX_BY_STATE] = "SELECT state, count(*) FROM sandboxes GROUP BY state",
    [Q_EVENT_INSERT] = "INSERT INTO events (time, tenant_id, sandbox_id, kind, detail)"
                       " VALUES (?1, ?2, ?3, ?4, ?5)",
    [Q_EVENT_LIST_ALL] = "SELECT seq, time, tenant_id, sandbox_id, kind, detail FROM events"
                         " WHERE seq > ?1 ORDER BY seq LIMIT ?2",
    [Q_EVENT_LIST_TENANT] = "SELECT seq, time, tenant_id, sandbox_id, kind, detail FROM events"
                            " WHERE seq > ?1 AND tenant_id = ?3 ORDER BY seq LIMIT ?2",
    [Q_EVENT_LIST_SBX] = "SELECT seq, time, tenant_id, sandbox_id, kind, detail FROM events"
                         " WHERE seq > ?1 AND tenant_id = ?3 AND sandbox_id = ?4"
                         " ORDER BY seq LIMIT ?2",
    [Q_BEGIN_READ] = "BEGIN DEFERRED",
    [Q_AUDIT_LAST] = "SELECT seq, ts, NULL, prev, hash FROM audit_log ORDER BY seq DESC LIMIT 1",
    [Q_AUDIT_INSERT] =
        "INSERT INTO audit_log (seq, ts, record, prev, hash) VALUES (?1, ?2, ?3, ?4, ?5)",
    [Q_AUDIT_LIST] = "SELECT seq, ts, record, prev, hash FROM audit_log WHERE seq > ?1"
                     " ORDER BY seq LIMIT ?2",
    [Q_AUDIT_CKPT_INSERT] = "INSERT INTO audit_checkpoints (seq, ts, hash, kid, sig, counter)"
                            " VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    [Q_AUDIT_CKPT_LAST] = "SELECT seq, ts, hash, kid, sig, counter FROM audit_checkpoints"
                          " ORDER BY seq DESC LIMIT 1",
    [Q_AUDIT_CKPT_LIST] = "SELECT seq, ts, hash, kid, sig, counter FROM audit_checkpoints"
                          " WHERE seq > ?1"
                          " ORDER BY seq LIMIT ?2",
    [Q_KBS_RES_PUT] = "INSERT INTO kbs_resources (path, key_id, blob, size, created, updated)"
                      " VALUES (?1, ?2, ?3, ?4, ?5, ?5) ON CONFLICT (path) DO UPDATE SET"
                      " key_id = ?2, blob = ?3, size = ?4, updated = ?5",
    [Q_KBS_RES_GET] = "SELECT path, key_id, blob, size, created, updated FROM kbs_resources"
                      " WHERE path = ?1",
    [Q_KBS_RES_DELETE] = "DELETE FROM kbs_resources WHERE path = ?1",
    [Q_KBS_RES_LIST] = "SELECT path, key_id, blob, size, created, updated FROM kbs_resources"
                       " ORDER BY path LIMIT ?1",
    [Q_KBS_POL_PUT] = "INSERT INTO kbs_policies (name, body, updated) VALUES (?1, ?2, ?3)"
                      " ON CONFLICT (name) DO UPDATE SET body = ?2, updated = ?3",
    [Q_KBS_POL_GET] = "SELECT body FROM kbs_policies WHERE name = ?1",
    [Q_KBS_POL_DELETE] = "DELETE FROM kbs_policies WHERE name = ?1",
    [Q_KBS_ADMIN_INSERT] = "INSERT INTO kbs_admin_keys (id, hash, label, created)"
                           " VALUES (?1, ?2, ?3, ?4)",
    [Q_KBS_ADMIN_GET] = "SELECT hash, revoked FROM kbs_admin_keys WHERE id = ?1",
    [Q_PIN_GET] = "SELECT id, approved FROM gw_pins WHERE server = ?1 AND kind = ?2 AND name = ?3"
                  " AND digest = ?4",
    [Q_PIN_NAME_APPROVED] = "SELECT count(*) FROM gw_pins WHERE server = ?1 AND kind = ?2"
                            " AND name = ?3 AND approved = 1",
    [Q_PIN_INSERT] = "INSERT INTO gw_pins (server, kind, name, digest, definition, approved,"
                     " created, updated) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?7)",
    [Q_PIN_GET_ID] = "SELECT id, server, kind, name, digest, approved, created, updated"
                     " FROM gw_pins WHERE id = ?1",
    [Q_PIN_UNAPPROVE_NAME] = "UPDATE gw_pins SET approved = 0, updated = ?4 WHERE server = ?1"
                             " AND kind = ?2 AND name = ?3 AND approved = 1",
    [Q_PIN_APPROVE] = "UPDATE gw_pins SET approved = 1, updated = ?2 WHERE id = ?1",
    /* ?2 = 1: pending rows only */
    [Q_PIN_LIST] = "SELECT id, server, kind, name, digest, approved, created, updated"
                   " FROM gw_pins WHERE (?2 = 0 OR approved = 0) ORDER BY id LIMIT ?1",
    [Q_MLOG_INSERT] = "INSERT INTO sandbox_log (sandbox_id, tenant_id, seq, event)"
                      " VALUES (?1, ?2, ?3, ?4)",
    [Q_MLOG_LIST] = "SELECT event FROM sandbox_log WHERE sandbox_id = ?1 AND tenant_id = ?2"
                    " ORDER BY seq LIMIT ?3",
};

struct sb_store {
    sqlite3 *db;
    sqlite3_stmt *st[Q_MAX];
    char *path;
    bool nosync;   /* sb_store_commit_nosync is committing */
    bool unsynced; /* a commit since the last synced one did not fsync the WAL */
};

/* Every commit on the connection, explicit or not, passes here just before it is written. An
 * ordinary commit (synchronous=FULL) syncs the WAL, and with it every frame written before. */
static int on_commit(void *arg) {
    sb_store *s = arg;
    s->unsynced = s->nosync;
    return 0;
}

/* Maps SQLite's result to our codes, naming what we were doing. */
static int db_fail(sb_store *s, int rc, sb_error *err, const char *what) {
    int ext = s && s->db ? sqlite3_extended_errcode(s->db) : rc;
    const char *msg = s && s->db ? sqlite3_errmsg(s->db) : sqlite3_errstr(rc);
    int code;
    switch (rc & 0xff) {
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB: code = SB_E_MALFORMED; break;
    case SQLITE_CONSTRAINT:
        code = ext == SQLITE_CONSTRAINT_FOREIGNKEY ? SB_E_NOTFOUND : SB_E_POLICY;
        break;
    case SQLITE_NOMEM: code = SB_E_INTERNAL; break;
    case SQLITE_MISUSE:
    case SQLITE_RANGE: code = SB_E_INTERNAL; break;
    default: code = SB_E_IO; break;
    }
    return sb_error_set(err, code, "store: %s: %s", what, msg);
}

static void stmt_resetp(sqlite3_stmt **st) {
    if (*st) {
        (void)sqlite3_reset(*st);
        (void)sqlite3_clear_bindings(*st);
    }
}
#define _cleanup_stmt_ _cleanup_(stmt_resetp)

static int stmt(sb_store *s, enum q q, sqlite3_stmt **out, sb_error *err) {
    if (!s->st[q]) {
        int rc = sqlite3_prepare_v3(s->db, SQL[q], -1, SQLITE_PREPARE_PERSISTENT, &s->st[q], NULL);
        if (rc != SQLITE_OK) return db_fail(s, rc, err, "prepare");
    }
    *out = s->st[q];
    return 0;
}

/* Binding helpers: SQLite copies the text (SQLITE_TRANSIENT) so callers keep ownership. */
static int bind_text(sb_store *s, sqlite3_stmt *st, int i, const char *v, sb_error *err) {
    int rc = v ? sqlite3_bind_text(st, i, v, -1, SQLITE_TRANSIENT) : sqlite3_bind_null(st, i);
    return rc == SQLITE_OK ? 0 : db_fail(s, rc, err, "bind");
}
static int bind_i64(sb_store *s, sqlite3_stmt *st, int i, int64_t v, sb_error *err) {
    int rc = sqlite3_bind_int64(st, i, v);
    return rc == SQLITE_OK ? 0 : db_fail(s, rc, err, "bind");
}
static int bind_blob(sb_store *s, sqlite3_stmt *st, int i, const void *p, size_t n, sb_error *err) {
    int rc = sqlite3_bind_blob(st, i, p, (int)n, SQLITE_TRANSIENT);
    return rc == SQLITE_OK ? 0 : db_fail(s, rc, err, "bind");
}

/* Steps a statement that returns no rows. */
static int run_done(sb_store *s, sqlite3_stmt *st, sb_error *err, const char *what) {
    int rc = sqlite3_step(st);
    if (rc != SQLITE_DONE) return db_fail(s, rc, err, what);
    return 0;
}

/* One step of a query: 1 for a row, 0 at the end, negative on error. */
static int step_row(sb_store *s, sqlite3_stmt *st, sb_error *err, const char *what) {
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) return 1;
    if (rc == SQLITE_DONE) return 0;
    return db_fail(s, rc, err, what);
}

/* Copies a text column into a fixed buffer; a value that does not fit means the file was
 * written by something other than this code, and is refused. */
static int col_text(sqlite3_stmt *st, int i, char *dst, size_t cap, sb_error *err,
                    const char *field) {
    const unsigned char *t = sqlite3_column_text(st, i);
    size_t n = (size_t)sqlite3_column_bytes(st, i);
    if (!t) n = 0;
    if (n >= cap) BAIL(err, SB_E_MALFORMED, "store: %s is %zu bytes (max %zu)", field, n, cap - 1);
    if (n) memcpy(dst, t, n);
    dst[n] = '\0';
    return 0;
}

static int col_dup(sqlite3_stmt *st, int i, size_t max, char **out, sb_error *err,
                   const char *field) {
    const unsigned char *t = sqlite3_column_text(st, i);
    if (!t) {
        *out = NULL;
        return 0;
    }
    size_t n = (size_t)sqlite3_column_bytes(st, i);
    if (n > max) BAIL(err, SB_E_MALFORMED, "store: %s is %zu bytes (max %zu)", field, n, max);
    char *d = malloc(n + 1);
    if (!d) BAIL(err, SB_E_INTERNAL, "store: out of memory");
    memcpy(d, t, n);
    d[n] = '\0';
    *out = d;
    return 0;
}

/* ---- validation ---------------------------------------------------------------------------- */

static bool charset_ok(const char *s, size_t max, const char *extra, bool first_alnum) {
    if (!s) return false;
    size_t n = strnlen(s, max + 1);
    if (n == 0 || n > max) return false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                  (extra && c != '\0' && strchr(extra, c) != NULL);
        if (i == 0 && first_alnum) ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
        if (!ok) return false;
    }
    return true;
}

bool sb_store_tenant_name_valid(const char *name) {
    return charset_ok(name, SB_TENANT_NAME_MAX, "_-", true);
}

static const char UPPER[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ";

bool sb_store_key_id_valid(const char *id) {
    char extra[64];
    (void)snprintf(extra, sizeof(extra), "_%s", UPPER);
    return charset_ok(id, SB_KEY_ID_MAX, extra, false);
}

bool sb_store_sandbox_id_valid(const char *id) {
    char extra[64];
    (void)snprintf(extra, sizeof(extra), "_-%s", UPPER);
    return charset_ok(id, SB_SANDBOX_ID_MAX, extra, false);
}

static bool printable(const char *s, size_t max) {
    size_t n = strnlen(s, max + 1);
    if (n > max) return false;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] > 0x7e) return false;
    return true;
}

static bool digest_ok(const char *d) {
    size_t n = strnlen(d, SB_IMAGE_DIGEST_MAX + 1);
    if (n == 0) return true;
    if (n > SB_IMAGE_DIGEST_MAX) return false;
    return charset_ok(d, SB_IMAGE_DIGEST_MAX, ":-._", false);
}

/* ---- open, migrate, close ----------------------------------------------------------------- */

static int exec_script(sb_store *s, const char *sql, sb_error *err) {
    const char *p = sql;
    while (p && *p) {
        sqlite3_stmt *st = NULL;
        const char *tail = NULL;
        int rc = sqlite3_prepare_v2(s->db, p, -1, &st, &tail);
        if (rc != SQLITE_OK) return db_fail(s, rc, err, "migration");
        if (!st) break; /* only whitespace or comments left */
        rc = sqlite3_step(st);
        while (rc == SQLITE_ROW)
            rc = sqlite3_step(st);
        if (rc != SQLITE_DONE) {
            int r = db_fail(s, rc, err, "migration");
            (void)sqlite3_finalize(st);
            return r;
        }
        (void)sqlite3_finalize(st);
        p = tail;
    }
    return 0;
}

/* A pragma whose one result row is an integer. */
static int pragma_int(sb_store *s, const char *sql, int64_t *out, sb_error *err) {
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(s->db, sql, -1, &st, NULL);
    if (rc != SQLITE_OK) return db_fail(s, rc, err, sql);
    rc = sqlite3_step(st);
    if (rc != SQLITE_ROW) {
        int r = db_fail(s, rc, err, sql);
        (void)sqlite3_finalize(st);
        return r;
    }
    *out = sqlite3_column_int64(st, 0);
    (void)sqlite3_finalize(st);
    return 0;
}

static int table_exists(sb_store *s, const char *name, bool *out, sb_error *err) {
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(s->db,
                                "SELECT count(*) FROM sqlite_schema WHERE type = 'table'"
                                " AND name = ?1",
                                -1, &st, NULL);
    if (rc != SQLITE_OK) return db_fail(s, rc, err, "schema");
    (void)sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
    rc = sqlite3_step(st);
    if (rc != SQLITE_ROW) {
        int r = db_fail(s, rc, err, "schema");
        (void)sqlite3_finalize(st);
        return r;
    }
    *out = sqlite3_column_int64(st, 0) > 0;
    (void)sqlite3_finalize(st);
    return 0;
}

static int current_version(sb_store *s, int *out, sb_error *err) {
    bool has = false;
    TRY(table_exists(s, "schema_version", &has, err));
    if (!has) {
        int64_t tables = 0;
        TRY(pragma_int(s, "SELECT count(*) FROM sqlite_schema", &tables, err));
        if (tables > 0)
            BAIL(err, SB_E_UNSUPPORTED,
                 "store: %s has tables but no schema_version: not a sealbox database", s->path);
        *out = 0;
        return 0;
    }
    _cleanup_stmt_ sqlite3_stmt *st = NULL;
    TRY(stmt(s, Q_VERSION, &st, err));
    int r = step_row(s, st, err, "schema_version");
    if (r < 0) return r;
    if (r == 0) BAIL(err, SB_E_MALFORMED, "store: schema_version: no row");
    int64_t v = sqlite3_column_int64(st, 0);
    if (v < 0 || v > INT32_MAX)
        BAIL(err, SB_E_MALFORMED, "store: schema_version %lld", (long long)v);
    *out = (int)v;
    return 0;
}

static int migrate(sb_store *s, sb_error *err) {
    for (;;) {
        /* Read the version under the write lock, so two processes never apply a step twice. */
        TRY(sb_store_begin(s, err));
        int v = 0;
        int r = current_version(s, &v, err);
        if (r < 0) {
            sb_store_rollback(s);
            return r;
        }
        if (v > SB_STORE_SCHEMA_VERSION) {
            sb_store_rollback(s);
            BAIL(err, SB_E_UNSUPPORTED,
                 "store: %s has schema version %d, newer than this sealbox (%d): refusing to "
                 "touch it; run a newer sealboxd",
                 s->path, v, SB_STORE_SCHEMA_VERSION);
        }
        if (v == SB_STORE_SCHEMA_VERSION) {
            sb_store_rollback(s);
            return 0;
        }
        r = exec_script(s, MIGRATIONS[v], err);
        if (r == 0 && v == 0)
            r = exec_script(s, "PRAGMA application_id = 1396854616", err); /* SB_STORE_APP_ID */
        if (r == 0) {
            _cleanup_stmt_ sqlite3_stmt *st = NULL;
            r = stmt(s, Q_VERSION_INSERT, &st, err);
            if (r == 0) r = bind_i64(s, st, 1, v + 1, err);
            if (r == 0) r = bind_i64(s, st, 2, sb_time_now(), err);
            if (r == 0) r = run_done(s, st, err, "schema_version");
        }
        if (r == 0) r = sb_store_commit(s, err);
        if (r < 0) {
            sb_store_rollback(s);
            return sb_error_prefix(err, "migration to version %d", v + 1);
        }
    }
}
_Static_assert(SB_STORE_APP_ID == 1396854616, "the pragma literal above must match");

int sb_store_open(const char *path, sb_store **out, sb_error *err) {
    if (!path || !*path) BAIL(err, SB_E_USAGE, "store: no database path");
    /* Create it 0600 ourselves: SQLite would honour the umask, and the -wal/-shm files copy the
     * main file's mode. */
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0) BAIL(err, SB_E_IO, "store: %s: %s", path, strerror(errno));
    struct stat stt;
    int fr = fstat(fd, &stt);
    (void)close(fd);
    if (fr < 0) BAIL(err, SB_E_IO, "store: %s: %s", path, strerror(errno));
    if (!S_ISREG(stt.st_mode)) BAIL(err, SB_E_IO, "store: %s: not a regular file", path);

    sb_store *s = calloc(1, sizeof(*s));
    if (!s) BAIL(err, SB_E_INTERNAL, "store: out of memory");
    s->path = strdup(path);
    int rc = s->path ? sqlite3_open_v2(path, &s->db,
                                       SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOFOLLOW |
                                           SQLITE_OPEN_FULLMUTEX | SQLITE_OPEN_EXRESCODE,
                                       NULL)
                     : SQLITE_NOMEM;
    int r = 0;
    if (rc != SQLITE_OK) r = db_fail(s, rc, err, "open");
    if (r == 0) {
        (void)sqlite3_busy_timeout(s->db, SB_STORE_BUSY_MS);
        (void)sqlite3_commit_hook(s->db, on_commit, s);
        (void)sqlite3_extended_result_codes(s->db, 1);
        /* No ATTACH, no extension loading, no trusted schema: the file cannot run our SQL. */
        (void)sqlite3_limit(s->db, SQLITE_LIMIT_ATTACHED, 0);
        (void)sqlite3_db_config(s->db, SQLITE_DBCONFIG_TRUSTED_SCHEMA, 0, NULL);
        (void)sqlite3_db_config(s->db, SQLITE_DBCONFIG_DEFENSIVE, 1, NULL);
        (void)sqlite3_db_config(s->db, SQLITE_DBCONFIG_ENABLE_LOAD_EXTENSION, 0, NULL);
    }
    int64_t app = 0;
    if (r == 0) r = pragma_int(s, "PRAGMA application_id", &app, err);
    if (r == 0 && app != 0 && app != SB_STORE_APP_ID)
        r = sb_error_set(err, SB_E_UNSUPPORTED,
                         "store: %s belongs to another application (application_id 0x%llx)", path,
                         (unsigned long long)app);
    if (r == 0) {
        sqlite3_stmt *st = NULL;
        rc = sqlite3_prepare_v2(s->db, "PRAGMA journal_mode = WAL", -1, &st, NULL);
        if (rc == SQLITE_OK) rc = sqlite3_step(st);
        if (rc != SQLITE_ROW)
            r = db_fail(s, rc, err, "journal_mode");
        else if (strcmp((const char *)sqlite3_column_text(st, 0), "wal") != 0)
            r = sb_error_set(err, SB_E_IO, "store: %s: cannot use WAL mode (%s)", path,
                             (const char *)sqlite3_column_text(st, 0));
        (void)sqlite3_finalize(st);
    }
    if (r == 0) r = exec_script(s, "PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON", err);
    if (r == 0) r = migrate(s, err);
    if (r < 0) {
        sb_store_close(s);
        return r;
    }
    *out = s;
    return 0;
}

void sb_store_close(sb_store *s) {
    if (!s) return;
    for (int i = 0; i < Q_MAX; i++)
        (void)sqlite3_finalize(s->st[i]);
    if (s->db) (void)sqlite3_close(s->db);
    free(s->path);
    free(s);
}

int sb_store_schema_version(sb_store *s, int *out, sb_error *err) {
    return current_version(s, out, err);
}

int sb_store_check(sb_store *s, sb_error *err) {
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(s->db, "PRAGMA integrity_check(1)", -1, &st, NULL);
    if (rc == SQLITE_OK) rc = sqlite3_step(st);
    int r = 0;
    if (rc != SQLITE_ROW)
        r = db_fail(s, rc, err, "integrity_check");
    else if (strcmp((const char *)sqlite3_column_text(st, 0), "ok") != 0)
        r = sb_error_set(err, SB_E_MALFORMED, "store: integrity_check: %.200s",
                         (const char *)sqlite3_column_text(st, 0));
    (void)sqlite3_finalize(st);
    return r;
}

/* Back to synchronous=FULL after a sb_store_begin_nosync transaction ended. */
static void end_nosync(sb_store *s) {
    if (!s->nosync) return;
    s->nosync = false;
    sb_error e = {0};
    (void)exec_script(s, "PRAGMA synchronous = FULL", &e);
}

int sb_store_begin(sb_store *s, sb_error *err) {
    _cleanup_stmt_ sqlite3_stmt *st = NULL;
    TRY(stmt(s, Q_BEGIN, &st, err));
    return run_done(s, st, err, "begin");
}

int sb_store_begin_nosync(sb_store *s, sb_error *err) {
    /* SQLite changes the safety level only outside a transaction */
    TRY(exec_script(s, "PRAGMA synchronous = NORMAL", err));
    s->nosync = true;
    int r = sb_store_begin(s, err);
    if (r < 0) end_nosync(s);
    return r;
}

int sb_store_begin_read(sb_store *s, sb_error *err) {
    _cleanup_stmt_ sqlite3_stmt *st = NULL;
    TRY(stmt(s, Q_BEGIN_READ, &st, err));
    return run_done(s, st, err, "begin");
}

int sb_store_commit(sb_store *s, sb_error *err) {
    _cleanup_stmt_ sqlite3_stmt *st = NULL;
    int r = stmt(s, Q_COMMIT, &st, err);
    if (r == 0) r = run_done(s, st, err, "commit");
    if (r == 0 || sqlite3_get_autocommit(s->db)) end_nosync(s);
    return r;
}

int sb_store_sync(sb_store *s, sb_error *err) {
    if (!s->unsynced) return 0;
    char wal[4096];
    int k = snprintf(wal, sizeof(wal), "%s-wal", s->path);
    ENSURE(k > 0 && (size_t)k < sizeof(wal), err, SB_E_USAGE, "store: path too long");
    int fd = open(wal, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    /* no WAL file: it was checkpointed into the database, and checkpoints sync */
    if (fd < 0 && errno == ENOENT) {
        s->unsynced = false;
        return 0;
    }
    if (fd < 0) BAIL(err, SB_E_IO, "store: %s: %s", wal, strerror(errno));
    int r = fdatasync(fd) == 0
                ? 1
                : sb_error_set(err, SB_E_IO, "store: fdatasync %s: %s", wal, strerror(errno));
    close(fd);
    if (r == 1) s->unsynced = false;
    return r;
}

void sb_store_rollback(sb_store *s) {
    if (sqlite3_get_autocommit(s->db)) { /* no transaction open */
        end_nosync(s);
        return;
    }
    sqlite3_stmt *st = NULL;
    if (stmt(s, Q_ROLLBACK, &st, NULL) == 0) {
        (void)sqlite3_step(st);
        (void)sqlite3_reset(st);
    }
    end_nosync(s);
}

/* ---- tenants ------------------------------------------------------------------------------ */

static int read_tenant(sqlite3_stmt *st, sb_tenant *t, sb_error *err) {
    memset(t, 0, sizeof(*t));
    t->id = sqlite3_column_int64(st, 0);
    TRY(col_text(st, 1, t->name, sizeof(t->name), err, "tenant name"));
    t->created = sqlite3_column_int64(st, 2);
    t->max_sandboxes = sqlite3_column_int64(st, 3);
    t->max_memory_mb = sqlite3_column_int64(st, 4);
    return 0;
}

int sb_store_tenant_create(sb_store *s, const char *name, int64_t max_sandboxes,
                           int64_t max_memory_mb, sb_tenant *out, sb_error *err) {
    ENSURE(sb_store_tenant_name_valid(name), err, SB_E_MALFORMED,
           "tenant: name must be 1-%d characters of [a-z0-9_-], starting with a letter or digit",
           SB_TENANT_NAME_MAX);
    ENSURE(max_sandboxes >= 0 && max_memory_mb >= 0, err, SB_E_MALFORMED,
           "tenant: quotas must not be negative");
    _cleanup_stmt_ sqlite3_stmt *st = NULL;
    TRY(stmt(s, Q_TENANT_INSERT, &st, err));
    TRY(bind_text(s, st, 1, name, err));
    TRY(bind_i64(s, st, 2, sb_time_now(), err));
    TRY(bind_i64(s, st, 3, max_sandboxes, err));
    TRY(bind_i64(s, st, 4, max_memory_mb, err));
    int r = run_done(s, st, err, "tenant insert");
    if (r == SB_E_POLICY) BAIL(err, SB_E_POLICY, "tenant '%s' exists", name);
    TRY(r);
    if (out) return sb_store_tenant_get_by_id(s, sqlite3_last_insert_rowid(s->db), out, err);
    return 0;
}

static int tenant_one(sb_store *s, enum q q, const char *name, int64_t id, sb_tenant *out,
                      sb_error *err) {
    _cleanup_stmt_ sqlite3_stmt *st = NULL;
    TRY(stmt(s, q, &st, err));
    if (name)
        TRY(bind_text(s, st, 1, name, err));
    else
        TRY(bind_i64(s, st, 1, id, err));
    int r = step_row(s, st, err, "tenant");
    if (r < 0) return r;
    if (r == 0) {
        if (name) BAIL(err, SB_E_NOTFOUND, "no tenant '%.64s'", name);
        BAIL(err, SB_E_NOTFOUND, "no tenant with id %lld", (long long)id);
    }
    sb_tenant t;
    TRY(read_tenant(st, &t, err));
    *out = t;
    return 0;
}

int sb_store_tenant_get(sb_store *s, const char *name, sb_tenant *out, sb_error *err) {
    ENSURE(name, err, SB_E_USAGE, "tenant: no name");
    return tenant_one(s, Q_TENANT_BY_NAME, name, 0, out, err);
}

int sb_store_tenant_get_by_id(sb_store *s, int64_t id, sb_tenant *out, sb_error *err) {
    return tenant_one(s, Q_TENANT_BY_ID, NULL, id, out, err);
}

/* Collects rows into a growing array of `size`-byte elements with a reader callback. */
typedef int (*row_reader)(sqlite3_stmt *st, void *dst, sb_error *err);

static int collect(sb_store *s, sqlite3_stmt *st, size_t size, size_t max, row_reader rd,
                   void (*clear)(void *), void **out, size_t *n, sb_error *err) {
    uint8_t *v = NULL;
    size_t count = 0, cap = 0;
    int r;
    while ((r = step_row(s, st, err, "list")) == 1) {
        if (count == max) break;
        if (count == cap) {
            size_t ncap = cap ? cap * 2 : 16, bytes;
            if (ncap > max) ncap = max;
            uint8_t *nv = NULL;
            if (!sb_mul_overflow_size(ncap, size, &bytes)) nv = realloc(v, bytes);
            if (!nv) {
                r = sb_error_set(err, SB_E_INTERNAL, "store: out of memory");
                break;
            }
            v = nv;
            cap = ncap;
        }
        memset(v + count * size, 0, size);
        r = rd(st, v + count * size, err);
        if (r < 0) break;
        count++;
    }
    if (r < 0) {
        if (clear)
            for (size_t i = 0; i < count; i++)
                clear(v + i * size);
        free(v);
        return r;
    }
    *out = count ? v : NULL;
    if (!count) free(v);
    *n = count;
    return 0;
}

static int rd_tenant(sqlite3_stmt *st, void *dst, sb_error *err) {
    return read_tenant(st, dst, err);
}

int sb_store_tenant_list(sb_store *s, sb_tenant **out, size_t *n, sb_error *err) {
    _cleanup_stmt_ sqlite3_stmt *st = NULL;
    TRY(stmt(s, Q_TENANT_LIST, &st, err));
    TRY(bind_i64(s, st, 1, SB_STORE_LIST_MAX, err));
    void *v = NULL;
    TRY(collect(s, st, sizeof(sb_tenant), SB_STORE_LIST_MAX, rd_tenant, NULL, &v, n, err));
    *out = v;
    return 0;
}

int sb_store_tenant_delete(sb_store *s, const char *name, sb_error *err) {
    sb_tenant t;
    TRY(sb_store_begin(s, err));
    int r = sb_store_tenant_get(s, name, &t, err);
    int64_t live = 0;
    if (r == 0) {
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        r = stmt(s, Q_TENANT_LIVE, &st, err);
        if (r == 0) r = bind_i64(s, st, 1, t.id, err);
        if (r == 0) r = step_row(s, st, err, "tenant sandboxes");
        if (r == 1) {
            live = sqlite3_column_int64(st, 0);
            r = 0;
        } else if (r == 0) {
            r = sb_error_set(err, SB_E_INTERNAL, "store: count returned no row");
        }
    }
    if (r == 0 && live > 0)
        r = sb_error_set(err, SB_E_POLICY, "tenant '%s' still has %lld live sandboxes", name,
                         (long long)live);
    if (r == 0) {
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        r = stmt(s, Q_TENANT_DELETE, &st, err);
        if (r == 0) r = bind_i64(s, st, 1, t.id, err);
        if (r == 0) r = run_done(s, st, err, "tenant delete");
    }
    if (r == 0) r = sb_store_commit(s, err);
    if (r < 0) sb_store_rollback(s);
    return r;
}

/* ---- API keys ------------------------------------------------------------------------------ */

static int read_key(sqlite3_stmt *st, void *dst, sb_error *err) {
    sb_apikey *k = dst;
    memset(k, 0, sizeof(*k));
    TRY(col_text(st, 0, k->id, sizeof(k->id), err, "key id"));
    k->tenant_id = sqlite3_column_int64(st, 1);
    const void *h = sqlite3_column_blob(st, 2);
    if (!h || sqlite3_column_bytes(st, 2) != SB_KEY_HASH_LEN)
        BAIL(err, SB_E_MALFORMED, "store: key %s: hash is not %d bytes", k->id, SB_KEY_HASH_LEN);
    memcpy(k->hash, h, SB_KEY_HASH_LEN);
    TRY(col_text(st, 3, k->label, sizeof(k->label), err, "key label"));
    k->created = sqlite3_column_int64(st, 4);
    k->expires = sqlite3_column_int64(st, 5);
    k->revoked = sqlite3_column_int64(st, 6) != 0;
    return 0;
}

int sb_store_key_insert(sb_store *s, const sb_apikey *k, sb_error *err) {
    ENSURE(sb_store_key_id_valid(k->id), err, SB_E_MALFORMED,
           "key: id must be 1-%d characters of [A-Za-z0-9_]", SB_KEY_ID_MAX);
    ENSURE(printable(k->label, SB_KEY_LABEL_MAX), err, SB_E_MALFORMED,
           "key: label must be at most %d printable ASCII characters", SB_KEY_LABEL_MAX);
    ENSURE(k->expires >= 0, err, SB_E_MALFORMED, "key: expiry must not be negative");
    _cleanup_stmt_ sqlite3_stmt *st = NULL;
    TRY(stmt(s, Q_KEY_INSERT, &st, err));
    TRY(bind_text(s, st, 1, k->id, err));
    TRY(bind_i64(s, st, 2, k->tenant_id, err));
    TRY(bind_blob(s, st, 3, k->hash, SB_KEY_HASH_LEN, err));
    TRY(bind_text(s, st, 4, k->label, err));
    TRY(bind_i64(s, st, 5, k->created ? k->created : sb_time_now(), err));
    TRY(bind_i64(s, st, 6, k->expires, err));
    TRY(bind_i64(s, st, 7, k->revoked ? 1 : 0, err));
    int r = run_done(s, st, err, "key insert");
    if (r == SB_E_POLICY) BAIL(err, SB_E_POLICY, "key '%s' exists", k->id);
    if (r == SB_E_NOTFOUND)
        BAIL(err, SB_E_NOTFOUND, "no tenant with id %lld", (long long)k->tenant_id);
    return r;
}

int sb_store_key_get(sb_store *s, const char *id, sb_apikey *out, sb_error *err) {
    ENSURE(id, err, SB_E_USAGE, "key: no id");
    _cleanup_stmt_ sqlite3_stmt *st = NULL;
    TRY(stmt(s, Q_KEY_GET, &st, err));
    TRY(bind_text(s, st, 1, id, err));
    int r = step_row(s, st, err, "key");
    if (r < 0) return r;
    if (r == 0) BAIL(err, SB_E_NOTFOUND, "no key '%.32s'", id);
    sb_apikey k;
    TRY(read_key(st, &k, err));
    *out = k;
    sb_wipe(&k, sizeof(k));
    return 0;
}

int sb_store_key_revoke(sb_store *s, const char *id, sb_error *err) {
    ENSURE(id, err, SB_E_USAGE, "key: no id");
    _cleanup_stmt_ sqlite3_stmt *st = NULL;
    TRY(stmt(s, Q_KEY_REVOKE, &st, err));
    TRY(bind_text(s, st, 1, id, err));
    TRY(run_done(s, st, err, "key revoke"));
    if (sqlite3_changes(s->db) == 0) BAIL(err, SB_E_NOTFOUND, "no key '%.32s'", id);
    return 0;
}

int sb_store_key_list(sb_store *s, int64_t tenant_id, sb_apikey **out, size_t *n, sb_error *err) {
    _cleanup_stmt_ sqlite3_stmt *st = NULL;
    TRY(stmt(s, tenant_id > 0 ? Q_KEY_LIST_TENANT : Q_KEY_LIST_ALL, &st, err));
    TRY(bind_i64(s, st, 1, SB_STORE_LIST_MAX, err));
    if (tenant_id > 0) TRY(bind_i64(s, st, 2, tenant_id, err));
    void *v = NULL;
    TRY(collect(s, st, sizeof(sb_apikey), SB_STORE_LIST_MAX, read_key, NULL, &v, n, err));
    *out = v;
    return 0;
}

/* ---- sandboxes ------------------------------------------------------------------------------ */

static const char *const STATE_NAMES[SB_SBX_STATE_MAX] = {"creating", "running", "standby",
                                                          "destroyed", "lost"};

const char *sb_sbx_state_name(enum sb_sbx_state st) {
    return (unsigned)st < SB_SBX_STATE_MAX ? STATE_NAMES[st] : "unknown";
}

int sb_sbx_state_parse(const char *s, enum sb_sbx_state *out) {
    for (int i = 0; i < SB_SBX_STATE_MAX; i++)
        if (s && strcmp(s, STATE_NAMES[i]) == 0) {
            *out = (enum sb_sbx_state)i;
            return 0;
        }
    return SB_E_MALFORMED;
}

bool sb_sbx_state_live(enum sb_sbx_state st) {
    return st == SB_SBX_CREATING || st == SB_SBX_RUNNING || st == SB_SBX_STANDBY;
}

void sb_sandbox_rec_clear(sb_sandbox_rec *r) {
    if (!r) return;
    free(r->config_json);
    memset(r, 0, sizeof(*r));
}

void sb_sandbox_recs_free(sb_sandbox_rec *v, size_t n) {
    if (!v) return;
    for (size_t i = 0; i < n; i++)
        sb_sandbox_rec_clear(&v[i]);
    free(v);
}

static int read_sbx(sqlite3_stmt *st, void *dst, sb_error *err) {
    sb_sandbox_rec *r = dst;
    memset(r, 0, sizeof(*r));
    TRY(col_text(st, 0, r->id, sizeof(r->id), err, "sandbox id"));
    r->tenant_id = sqlite3_column_int64(st, 1);
    char state[16];
    TRY(col_text(st, 2, state, sizeof(state), err, "sandbox state"));
    if (sb_sbx_state_parse(state, &r->state) < 0)
        BAIL(err, SB_E_MALFORMED, "store: sandbox %s: unknown state '%s'", r->id, state);
    TRY(col_text(st, 3, r->image_digest, sizeof(r->image_digest), err, "image digest"));
    TRY(col_dup(st, 4, SB_SANDBOX_CONFIG_MAX, &r->config_json, err, "sandbox config"));
    r->memory_mb = sqlite3_column_int64(st, 5);
    r->created = sqlite3_column_int64(st, 6);
    r->updated = sqlite3_column_int64(st, 7);
    return 0;
}

static void clear_sbx(void *p) { sb_sandbox_rec_clear(p); }

int sb_store_sandbox_insert(sb_store *s, const sb_sandbox_rec *r, sb_error *err) {
    ENSURE(sb_store_sandbox_id_valid(r->id), err, SB_E_MALFORMED,
           "sandbox: id must be 1-%d characters of [A-Za-z0-9_-]", SB_SANDBOX_ID_MAX);
    ENSURE((unsigned)r->state < SB_SBX_STATE_MAX, err, SB_E_USAGE, "sandbox: bad state");
    ENSURE(digest_ok(r->image_digest), err, SB_E_MALFORMED,
           "sandbox: image digest must be empty or algorithm:hex");
    ENSURE(r->config_json, err, SB_E_USAGE, "sandbox: no config");
    ENSURE(strnlen(r->config_json, SB_SANDBOX_CONFIG_MAX + 1) <= SB_SANDBOX_CONFIG_MAX, err,
           SB_E_LIMIT, "sandbox: config over %d bytes", SB_SANDBOX_CONFIG_MAX);
    ENSURE(r->memory_mb >= 0, err, SB_E_MALFORMED, "sandbox: memory must not be negative");
    int64_t now = sb_time_now();
    _cleanup_stmt_ sqlite3_stmt *st = NULL;
    TRY(stmt(s, Q_SBX_INSERT, &st, err));
    TRY(bind_text(s, st, 1, r->id, err));
    TRY(bind_i64(s, st, 2, r->tenant_id, err));
    TRY(bind_text(s, st, 3, sb_sbx_state_name(r->state), err));
    TRY(bind_text(s, st, 4, r->image_digest, err));
    TRY(bind_text(s, st, 5, r->config_json, err));
    TRY(bind_i64(s, st, 6, r->memory_mb, err));
    TRY(bind_i64(s, st, 7, r->created ? r->created : now, err));
    TRY(bind_i64(s, st, 8, r->updated ? r->updated : now, err));
    int rc = run_done(s, st, err, "sandbox insert");
    if (rc == SB_E_POLICY) BAIL(err, SB_E_POLICY, "sandbox '%s' exists", r->id);
    if (rc == SB_E_NOTFOUND)
        BAIL(err, SB_E_NOTFOUND, "no tenant with id %lld", (long long)r->tenant_id);
    return rc;
}

int sb_store_sandbox_get(sb_store *s, int64_t tenant_id, const char *id, sb_sandbox_rec *out,
                         sb_error *err) {
    ENSURE(id, err, SB_E_USAGE, "sandbox: no id");
    _cleanup_stmt_ sqlite3_stmt *st = NULL;
    TRY(stmt(s, Q_SBX_GET, &st, err));
    TRY(bind_text(s, st, 1, id, err));
    TRY(bind_i64(s, st, 2, tenant_id, err));
    int r = step_row(s, st, err, "sandbox");
    if (r < 0) return r;
    if (r == 0) BAIL(err, SB_E_NOTFOUND, "no sandbox '%.48s'", id);
    return read_sbx(st, out, err);
}

int sb_store_sandbox_set_state(sb_store *s, int64_t tenant_id, const char *id,
                               enum sb_sbx_state stt, sb_error *err) {
    ENSURE(id, err, SB_E_USAGE, "sandbox: no id");
    ENSURE((unsigned)stt < SB_SBX_STATE_MAX, err, SB_E_USAGE, "sandbox: bad state");
    _cleanup_stmt_ sqlite3_stmt *st = NULL;
    TRY(stmt(s, Q_SBX_SET_STATE, &st, err));
    TRY(bind_text(s, st, 1, id, err));
    TRY(bind_i64(s, st, 2, tenant_id, err));
    TRY(bind_text(s, st, 3, sb_sbx_state_name(stt), err));
    TRY(bind_i64(s, st, 4, sb_time_now(), err));
    TRY(run_done(s, st, err, "sandbox state"));
    if (sqlite3_changes(s->db) == 0) BAIL(err, SB_E_NOTFOUND, "no sandbox '%.48s'", id);
    return 0;
}

int sb_store_sandbox_update_created(sb_store *s, int64_t tenant_id, const char *id,
                                    const char *image_digest, const char *config_json,
                                    sb_error *err) {
    ENSURE(id && image_digest && config_json, err, SB_E_USAGE, "sandbox: missing field");
    ENSURE(digest_ok(image_digest), err, SB_E_MALFORMED,
           "sandbox: image digest must be empty or algorithm:hex");
    ENSURE(strnlen(config_json, SB_SANDBOX_CONFIG_MAX + 1) <= SB_SANDBOX_CONFIG_MAX, err,
           SB_E_LIMIT, "sandbox: config over %d bytes", SB_SANDBOX_CONFIG_MAX);
    _cleanup_stmt_ sqlite3_stmt *st = NULL;
    TRY(stmt(s, Q_SBX_UPDATE_CREATED, &st, err));
    TRY(bind_text(s, st, 1, id, err));
    TRY(bind_i64(s, st, 2, tenant_id, err));
    TRY(bind_text(s, st, 3, image_digest, err));
    TRY(bind_text(s, st, 4, config_json, err));
    TRY(bind_i64(s, st, 5, sb_time_now(), err));
    TRY(run_done(s, st, err, "sandbox update"));
    if (sqlite3_changes(s->db) == 0) BAIL(err, SB_E_NOTFOUND, "no sandbox '%.48s'", id);
    return 0;
}

int sb_store_sandbox_list(sb_store *s, int64_t tenant_id, const char *after, size_t limit, bool all,
                          sb_sandbox_rec **out, size_t *n, sb_error *err) {
    ENSURE(limit > 0 && limit <= SB_STORE_LIST_MAX, err, SB_E_LIMIT,
           "sandbox list: limit must be 1-%d", SB_STORE_LIST_MAX);
    _cleanup_stmt_ sqlite3_stmt *st = NULL;
    TRY(stmt(s, Q_SBX_LIST, &st, err));
    TRY(bind_i64(s, st, 2, tenant_id, err));
    TRY(bind_text(s, st, 3, after ? after : "", err));
    TRY(bind_i64(s, st, 4, (int64_t)limit, err));
    TRY(bind_i64(s, st, 5, all ? 1 : 0, err));
    void *v = NULL;
    TRY(collect(s, st, sizeof(sb_sandbox_rec), limit, read_sbx, clear_sbx, &v, n, err));
    *out = v;
    return 0;
}

int sb_store_sandbox_usage(sb_store *s, int64_t tenant_id, int64_t *count, int64_t *memory_mb,
                           sb_error *err) {
    _cleanup_stmt_ sqlite3_stmt *st = NULL;
    TRY(stmt(s, Q_SBX_USAGE, &st, err));
    TRY(bind_i64(s, st, 1, tenant_id, err));
    int r = step_row(s, st, err, "sandbox usage");
    if (r < 0) return r;
    if (r == 0) BAIL(err, SB_E_INTERNAL, "store: usage returned no row");
    *count = sqlite3_column_int64(st, 0);
    *memory_mb = sqlite3_column_int64(st, 1);
    return 0;
}

int sb_store_sandbox_count_by_state(sb_store *s, int64_t counts[SB_SBX_STATE_MAX], sb_error *err) {
    _cleanup_stmt_ sqlite3_stmt *st = NULL;
    TRY(stmt(s, Q_SBX_BY_STATE, &st, err));
    int64_t c[SB_SBX_STATE_MAX] = {0};
    int r;
    while ((r = step_row(s, st, err, "sandbox states")) == 1) {
        enum sb_sbx_state stt;
        if (sb_sbx_state_parse((const char *)sqlite3_column_text(st, 0), &stt) == 0)
            c[stt] = sqlite3_column_int64(st, 1);
    }
    if (r < 0) return r;
    memcpy(counts, c, sizeof(c));
    return 0;
}

/* ---- events ------------------------------------------------------------------------------- */

void sb_events_free(sb_event *v, size_t n) {
    if (!v) return;
    for (size_t i = 0; i < n; i++)
        free(v[i].detail_json);
    free(v);
}

static bool kind_ok(const char *k) { return charset_ok(k, SB_EVENT_KIND_MAX, "_.", true); }

int sb_store_event_add(sb_store *s, int64_t tenant_id, const char *sandbox_id, const char *kind,
                       const char *detail_json, int64_t *seq, sb_error *err) {
    ENSURE(kind_ok(kind), err, SB_E_MALFORMED, "event: kind must be 1-%d characters of [a-z0-9_.]",
           SB_EVENT_KIND_MAX);
    ENSURE(!sandbox_id || sb_store_sandbox_id_valid(sandbox_id), err, SB_E_MALFORMED,
           "event: bad sandbox id");
    ENSURE(!detail_json || strnlen(detail_json, SB_EVENT_DETAIL_MAX + 1) <= SB_EVENT_DETAIL_MAX,
           err, SB_E_LIMIT, "event: detail over %d bytes", SB_EVENT_DETAIL_MAX);
    _cleanup_stmt_ sqlite3_stmt *st = NULL;
    TRY(stmt(s, Q_EVENT_INSERT, &st, err));
    TRY(bind_i64(s, st, 1, sb_time_now(), err));
    if (tenant_id > 0) {
        TRY(bind_i64(s, st, 2, tenant_id, err));
    } else {
        int rc = sqlite3_bind_null(st, 2);
        if (rc != SQLITE_OK) return db_fail(s, rc, err, "bind");
    }
    TRY(bind_text(s, st, 3, sandbox_id, err));
    TRY(bind_text(s, st, 4, kind, err));
    TRY(bind_text(s, st, 5, detail_json, err));
    int r = run_done(s, st, err, "event insert");
    if (r == SB_E_NOTFOUND)
        BAIL(err, SB_E_NOTFOUND, "no tenant with id %lld", (long long)tenant_id);
    TRY(r);
    if (seq) *seq = sqlite3_last_insert_rowid(s->db);
    return 0;
}

static int read_event(sqlite3_stmt *st, void *dst, sb_error *err) {
    sb_event *e = dst;
    memset(e, 0, sizeof(*e));
    e->seq = sqlite3_column_int64(st, 0);
    e->time = sqlite3_column_int64(st, 1);
    e->tenant_id = sqlite3_column_int64(st, 2);
    TRY(col_text(st, 3, e->sandbox_id, sizeof(e->sandbox_id), err, "event sandbox"));
    TRY(col_text(st, 4, e->kind, sizeof(e->kind), err, "event kind"));
    return col_dup(st, 5, SB_EVENT_DETAIL_MAX, &e->detail_json, err, "event detail");
}

static void clear_event(void *p) {
    sb_event *e = p;
    free(e->detail_json);
    e->detail_json = NULL;
}

int sb_store_event_list(sb_store *s, int64_t tenant_id, const char *sandbox_id, int64_t after,
                        size_t limit, sb_event **out, size_t *n, sb_error *err) {
    ENSURE(limit > 0 && limit <= SB_STORE_LIST_MAX, err, SB_E_LIMIT,
           "event list: limit must be 1-%d", SB_STORE_LIST_MAX);
    enum q q = sandbox_id      ? Q_EVENT_LIST_SBX
               : tenant_id > 0 ? Q_EVENT_LIST_TENANT
                               : Q_EVENT_LIST_ALL;
    _cleanup_stmt_ sqlite3_stmt *st = NULL;
    TRY(stmt(s, q, &st, err));
    TRY(bind_i64(s, st, 1, after, err));
    TRY(bind_i64(s, st, 2, (int64_t)limit, err));
    if (q != Q_EVENT_LIST_ALL) TRY(bind_i64(s, st, 3, tenant_id, err));
    if (q == Q_EVENT_LIST_SBX) TRY(bind_text(s, st, 4, sandbox_id, err));
    void *v = NULL;
    TRY(collect(s, st, sizeof(sb_event), limit, read_event, clear_event, &v, n, err));
    *out = v;
    return 0;
}

/* ---- audit chain ---------------------------------------------------------------------------- */

bool sb_store_in_transaction(sb_store *s) { return sqlite3_get_autocommit(s->db) == 0; }

void sb_audit_rows_free(sb_audit_row *v, size_t n) {
    if (!v) return;
    for (size_t i = 0; i < n; i++)
        free(v[i].record);
    free(v);
}

/* A 32-byte blob column; anything else marks the row malformed rather than failing the read, so
 * a verifier can say which row was damaged. */
static bool col_hash(sqlite3_stmt *st, int i, uint8_t out[SB_AUDIT_HASH_LEN]) {
    const void *b = sqlite3_column_blob(st, i);
    if (!b || sqlite3_column_bytes(st, i) != SB_AUDIT_HASH_LEN) {
        memset(out, 0, SB_AUDIT_HASH_LEN);
        return false;
    }
    memcpy(out, b, SB_AUDIT_HASH_LEN);
    return true;
}

static int read_audit(sqlite3_stmt *st, void *dst, sb_error *err) {
    (void)err;
    sb_audit_row *r = dst;
    memset(r, 0, sizeof(*r));
    r->seq = sqlite3_column_int64(st, 0);
    r->ts = sqlite3_column_int64(st, 1);
    bool ok = col_hash(st, 3, r->prev);
    ok = col_hash(st, 4, r->hash) && ok;
    if (sqlite3_column_type(st, 2) == SQLITE_TEXT) {
        const unsigned char *t = sqlite3_column_text(st, 2);
        size_t n = (size_t)sqlite3_column_bytes(st, 2);
        if (t && n <= SB_AUDIT_RECORD_MAX) {
            r->record = malloc(n + 1);
            if (!r->record) BAIL(err, SB_E_INTERNAL, "store: out of memory");
            memcpy(r->record, t, n);
            r->record[n] = '\0';
            r->record_len = n;
        } else {
            ok = false;
        }
    } else if (sqlite3_column_type(st, 2) != SQLITE_NULL) {
        ok = false;
    }
    r->malformed = !ok;
    return 0;
}

static void clear_audit(void *p) {
    sb_audit_row *r = p;
    free(r->record);
    r->record = NULL;
}

int sb_store_audit_last(sb_store *s, sb_audit_row *out, bool *found, sb_error *err) {
    _cleanup_stmt_ sqlite3_stmt *st = NULL;
    TRY(stmt(s, Q_AUDIT_LAST, &st, err));
    int r = step_row(s, st, err, "audit head");
    if (r < 0) return r;
    *found = r == 1;
    if (r == 0) return 0;
    sb_audit_row a;
    TRY(read_audit(st, &a, err));
    *out = a;
    return 0;
}

int sb_store_audit_insert(sb_store *s, const sb_audit_row *r, sb_error *err) {
    ENSURE(r->seq > 0, err, SB_E_USAGE, "audit: seq must be positive");
    ENSURE(r->record && r->record_len <= SB_AUDIT_RECORD_MAX, err, SB_E_LIMIT,
           "audit: record over %d bytes", SB_AUDIT_RECORD_MAX);
    _cleanup_stmt_ sqlite3_stmt *st = NULL;
    TRY(stmt(s, Q_AUDIT_INSERT, &st, err));
    TRY(bind_i64(s, st, 1, r->seq, err));
    TRY(bind_i64(s, st, 2, r->ts, err));
    int rc = sqlite3_bind_text(st, 3, r->record, (int)r->record_len, SQLITE_TRANSIENT);
    if (rc != SQLITE_OK) return db_fail(s, rc, err, "bind");
    TRY(bind_blob(s, st, 4, r->prev, SB_AUDIT_HASH_LEN, err));
    TRY(bind_blob(s, st, 5, r->hash, SB_AUDIT_HASH_LEN, err));
    int x = run_done(s, st, err, "audit insert");
    if (x == SB_E_POLICY) BAIL(err, SB_E_POLICY, "audit: seq %lld exists", (long long)r->seq);
    return x;
}

int sb_store_audit_list(sb_store *s, int64_t after, size_t limit, sb_audit_row **out, size_t *n,
                        sb_error *err) {
    ENSURE(limit > 0 && limit <= SB_STORE_LIST_MAX, err, SB_E_LIMIT,
           "audit list: limit must be 1-%d", SB_STORE_LIST_MAX);
    _cleanup_stmt_ sqlite3_stmt *st = NULL;
    TRY(stmt(s, Q_AUDIT_LIST, &st, err));
    TRY(bind_i64(s, st, 1, after, err));
    TRY(bind_i64(s, st, 2, (int64_t)limit, err));
    void *v = NULL;
    TRY(collect(s, st, sizeof(sb_audit_row), limit, read_audit, clear_audit, &v, n, err));
    *out = v;
    return 0;
}

static int read_ckpt(sqlite3_stmt *st, void *dst, sb_error *err) {
    (void)err;
    sb_audit_ckpt *c = dst;
    memset(c, 0, sizeof(*c));
    c->seq = sqlite3_column_int64(st, 0);
    c->ts = sqlite3_column_int64(st, 1);
    bool ok = col_hash(st, 2, c->hash);
    const unsigned char *kid = sqlite3_column_text(st, 3);
    size_t kn = (size_t)sqlite3_column_bytes(st, 3);
    if (kid && kn < sizeof(c->kid)) {
        memcpy(c->kid, kid, kn);
        c->kid[kn] = '\0';
    } else {
        ok = false;
    }
    const void *sig = sqlite3_column_blob(st, 4);
    size_t sn = (size_t)sqlite3_column_bytes(st, 4);
    if (sig && sn <= sizeof(c->sig)) {
        memcpy(c->sig, sig, sn);
        c->siglen = sn;
    } else {
        ok = false;
    }
    if (sqlite3_column_type(st, 5) != SQLITE_INTEGER || sqlite3_column_int64(st, 5) < 0)
        ok = false;
    else
        c->counter = (uint64_t)sqlite3_column_int64(st, 5);
    c->malformed = !ok;
    return 0;
}

int sb_store_audit_ckpt_insert(sb_store *s, const sb_audit_ckpt *c, sb_error *err) {
    ENSURE(c->seq > 0, err, SB_E_USAGE, "audit checkpoint: seq must be positive");
    ENSURE(c->siglen > 0 && c->siglen <= SB_AUDIT_SIG_MAX, err, SB_E_USAGE,
           "audit checkpoint: signature length %zu", c->siglen);
    ENSURE(strnlen(c->kid, sizeof(c->kid)) < sizeof(c->kid), err, SB_E_USAGE,
           "audit checkpoint: kid too long");
    ENSURE(c->counter <= (uint64_t)INT64_MAX, err, SB_E_USAGE, "audit checkpoint: counter too big");
    _cleanup_stmt_ sqlite3_stmt *st = NULL;
    TRY(stmt(s, Q_AUDIT_CKPT_INSERT, &st, err));
    TRY(bind_i64(s, st, 1, c->seq, err));
    TRY(bind_i64(s, st, 2, c->ts, err));
    TRY(bind_blob(s, st, 3, c->hash, SB_AUDIT_HASH_LEN, err));
    TRY(bind_text(s, st, 4, c->kid, err));
    TRY(bind_blob(s, st, 5, c->sig, c->siglen, err));
    TRY(bind_i64(s, st, 6, (int64_t)c->counter, err));
    int x = run_done(s, st, err, "audit checkpoint insert");
    if (x == SB_E_POLICY)
        BAIL(err, SB_E_POLICY, "audit: a checkpoint at seq %lld exists", (long long)c->seq);
    return x;
}

int sb_store_audit_ckpt_last(sb_store *s, sb_audit_ckpt *out, bool *found, sb_error *err) {
    _cleanup_stmt_ sqlite3_stmt *st = NULL;
    TRY(stmt(s, Q_AUDIT_CKPT_LAST, &st, err));
    int r = step_row(s, st, err, "audit checkpoint");
    if (r < 0) return r;
    *found = r == 1;
    if (r == 1) TRY(read_ckpt(st, out, err));
    return 0;
}

int sb_store_audit_ckpt_list(sb_store *s, int64_t after, size_t limit, sb_audit_ckpt **out,
                             size_t *n, sb_error *err) {
    ENSURE(limit > 0 && limit <= SB_STORE_LIST_MAX, err, SB_E_LIMIT,
           "audit checkpoint list: limit must be 1-%d", SB_STORE_LIST_MAX);
    _cleanup_stmt_ sqlite3_stmt *st = NULL;
    TRY(stmt(s, Q_AUDIT_CKPT_LIST, &st, err));
    TRY(bind_i64(s, st, 1, after, err));
    TRY(bind_i64(s, st, 2, (int64_t)limit, err));
    void *v = NULL;
    TRY(collect(s, st, sizeof(sb_audit_ckpt), limit, read_ckpt, NULL, &v, n, err));
    *out = v;
    return 0;
}

/* ---- the key broker ------------------------------------------------------------------------ */

bool sb_store_kbs_path_valid(const char *path) {
    /* repo/type/tag: three non-empty segments of [A-Za-z0-9._-], none "." or "..". */
    if (!path) return false;
    size_t n = strnlen(path, SB_KBS_PATH_MAX + 1), segs = 1, seglen = 0;
    if (n == 0 || n > SB_KBS_PATH_MAX) return false;
    for (size_t i = 0; i <= n; i++) {
        char c = path[i];
        if (c == '/' || c == '\0') {
            if (seglen == 0) return false;
            if ((seglen == 1 && path[i - 1] == '.') ||
                (seglen == 2 && path[i - 1] == '.' && path[i - 2] == '.'))
                return false;
            if (c == '/') segs++;
            seglen = 0;
            continue;
        }
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '.' || c == '_' || c == '-';
        if (!ok) return false;
        seglen++;
    }
    return segs == 3;
}

void sb_kbs_rec_clear(sb_kbs_resource_rec *r) {
    if (!r) return;
    if (r->blob) sb_wipe(r->blob, r->blob_len);
    free(r->blob);
    memset(r, 0, sizeof(*r));
}

void sb_kbs_recs_free(sb_kbs_resource_rec *v, size_t n) {
    for (size_t i = 0; v && i < n; i++)
        sb_kbs_rec_clear(&v[i]);
    free(v);
}

int sb_store_kbs_resource_put(sb_store *s, const char *path, const char *key_id,
                              const uint8_t *blob, size_t len, size_t size, sb_error *err) {
    ENSURE(sb_store_kbs_path_valid(path), err, SB_E_MALFORMED,
           "kbs resource: path must be repo/type/tag of [A-Za-z0-9._-] (at most %d bytes)",
           SB_KBS_PATH_MAX);
    ENSURE(key_id && strlen(key_id) <= SB_KBS_KEY_ID_MAX, err, SB_E_MALFORMED,
           "kbs resource: bad key id");
    ENSURE(len <= SB_KBS_BLOB_MAX, err, SB_E_LIMIT, "kbs resource: %zu bytes (max %u)", len,
           SB_KBS_BLOB_MAX);
    _cleanup_stmt_ sqlite3_stmt *st = NULL;
    TRY(stmt(s, Q_KBS_RES_PUT, &st, err));
    TRY(bind_text(s, st, 1, path, err));
    TRY(bind_text(s, st, 2, key_id, err));
    TRY(bind_blob(s, st, 3, blob, len, err));
    TRY(bind_i64(s, st, 4, (int64_t)size, err));
    TRY(bind_i64(s, st, 5, sb_time_now(), err));
    return run_done(s, st, err, "kbs resource put");
}

static int read_kbs_rec(sb_store *s, sqlite3_stmt *st, sb_kbs_resource_rec *out, sb_error *err) {
    (void)s;
    sb_kbs_resource_rec r;
    memset(&r, 0, sizeof(r));
    TRY(col_text(st, 0, r.path, sizeof(r.path), err, "kbs resource path"));
    TRY(col_text(st, 1, r.key_id, sizeof(r.key_id), err, "kbs resource key id"));
    const void *b = sqlite3_column_blob(st, 2);
    size_t n = (size_t)sqlite3_column_bytes(st, 2);
    if (n > SB_KBS_BLOB_MAX) BAIL(err, SB_E_MALFORMED, "store: kbs resource blob of %zu bytes", n);
    r.blob = malloc(n ? n : 1);
    if (!r.blob) BAIL(err, SB_E_INTERNAL, "store: out of memory");
    if (n) memcpy(r.blob, b, n);
    r.blob_len = n;
    r.size = (size_t)sqlite3_column_int64(st, 3);
    r.created = sqlite3_column_int64(st, 4);
    r.updated = sqlite3_column_int64(st, 5);
    *out = r;
    return 0;
}

int sb_store_kbs_resource_get(sb_store *s, const char *path, sb_kbs_resource_rec *out,
                              sb_error *err) {
    ENSURE(path, err, SB_E_USAGE, "kbs resource: no path");
    _cleanup_stmt_ sqlite3_stmt *st = NULL;
    TRY(stmt(s, Q_KBS_RES_GET, &st, err));
    TRY(bind_text(s, st, 1, path, err));
    int r = step_row(s, st, err, "kbs resource");
    if (r < 0) return r;
    if (r == 0) BAIL(err, SB_E_NOTFOUND, "no resource '%.200s'", path);
    return read_kbs_rec(s, st, out, err);
}

int sb_store_kbs_resource_delete(sb_store *s, const char *path, sb_error *err) {
    ENSURE(path, err, SB_E_USAGE, "kbs resource: no path");
    _cleanup_stmt_ sqlite3_stmt *st = NULL;
    TRY(stmt(s, Q_KBS_RES_DELETE, &st, err));
    TRY(bind_text(s, st, 1, path, err));
    TRY(run_done(s, st, err, "kbs resource delete"));
    if (sqlite3_changes(s->db) == 0) BAIL(err, SB_E_NOTFOUND, "no resource '%.200s'", path);
    return 0;
}

int sb_store_kbs_resource_list(sb_store *s, sb_kbs_resource_rec **out, size_t *n, sb_error *err) {
    _cleanup_stmt_ sqlite3_stmt *st = NULL;
    TRY(stmt(s, Q_KBS_RES_LIST, &st, err));
    TRY(bind_i64(s, st, 1, SB_KBS_RESOURCES_MAX, err));
    sb_kbs_resource_rec *v = NULL;
    size_t cnt = 0, cap = 0;
    int r;
    while ((r = step_row(s, st, err, "kbs resource list")) > 0) {
        if (cnt == cap) {
            cap = cap ? 2 * cap : 16;
            sb_kbs_resource_rec *nv = realloc(v, cap * sizeof(*v));
            if (!nv) {
                r = sb_error_set(err, SB_E_INTERNAL, "store: out of memory");
                break;
            }
            v = nv;
        }
        r = read_kbs_rec(s, st, &v[cnt], err);
        if (r < 0) break;
        cnt++;
    }
    if (r < 0) {
        sb_kbs_recs_free(v, cnt);
        return r;
    }
    *out = v;
    *n = cnt;
    return 0;
}

int sb_store_kbs_policy_put(sb_store *s, const char *name, const char *body, sb_error *err) {
    ENSURE(name && body, err, SB_E_USAGE, "kbs policy: no name or body");
    ENSURE(strlen(body) <= SB_KBS_POLICY_MAX, err, SB_E_LIMIT, "kbs policy: over %u bytes",
           SB_KBS_POLICY_MAX);
    _cleanup_stmt_ sqlite3_stmt *st = NULL;
    TRY(stmt(s, Q_KBS_POL_PUT, &st, err));
    TRY(bind_text(s, st, 1, name, err));
    TRY(bind_text(s, st, 2, body, err));
    TRY(bind_i64(s, st, 3, sb_time_now(), err));
    return run_done(s, st, err, "kbs policy put");
}

int sb_store_kbs_policy_get(sb_store *s, const char *name, char **body, sb_error *err) {
    ENSURE(name, err, SB_E_USAGE, "kbs policy: no name");
    _cleanup_stmt_ sqlite3_stmt *st = NULL;
    TRY(stmt(s, Q_KBS_POL_GET, &st, err));
    TRY(bind_text(s, st, 1, name, err));
    int r = step_row(s, st, err, "kbs policy");
    if (r < 0) return r;
    if (r == 0) BAIL(err, SB_E_NOTFOUND, "no %s policy", name);
    return col_dup(st, 0, SB_KBS_POLICY_MAX, body, err, "kbs policy");
}

int sb_store_kbs_policy_delete(sb_store *s, const char *name, sb_error *err) {
    ENSURE(name, err, SB_E_USAGE, "kbs policy: no name");
    _cleanup_stmt_ sqlite3_stmt *st = NULL;
    TRY(stmt(s, Q_KBS_POL_DELETE, &st, err));
    TRY(bind_text(s, st, 1, name, err));
    return run_done(s, st, err, "kbs policy delete");
}

int sb_store_kbs_admin_key_insert(sb_store *s, const char *id, const uint8_t hash[32],
                                  const char *label, sb_error *err) {
    ENSURE(sb_store_key_id_valid(id), err, SB_E_MALFORMED, "kbs admin key: bad id");
    ENSURE(label && printable(label, SB_KEY_LABEL_MAX), err, SB_E_MALFORMED,
           "kbs admin key: label must be at most %d printable ASCII characters", SB_KEY_LABEL_MAX);
    _cleanup_stmt_ sqlite3_stmt *st = NULL;
    TRY(stmt(s, Q_KBS_ADMIN_INSERT, &st, err));
    TRY(bind_text(s, st, 1, id, err));
    TRY(bind_blob(s, st, 2, hash, 32, err));
    TRY(bind_text(s, st, 3, label, err));
    TRY(bind_i64(s, st, 4, sb_time_now(), err));
    int r = run_done(s, st, err, "kbs admin key insert");
    if (r == SB_E_POLICY) BAIL(err, SB_E_POLICY, "kbs admin key '%s' exists", id);
    return r;
}

int sb_store_kbs_admin_key_get(sb_store *s, const char *id, uint8_t hash[32], bool *revoked,
                               sb_error *err) {
    ENSURE(id, err, SB_E_USAGE, "kbs admin key: no id");
    _cleanup_stmt_ sqlite3_stmt *st = NULL;
    TRY(stmt(s, Q_KBS_ADMIN_GET, &st, err));
    TRY(bind_text(s, st, 1, id, err));
    int r = step_row(s, st, err, "kbs admin key");
    if (r < 0) return r;
    if (r == 0) BAIL(err, SB_E_NOTFOUND, "no kbs admin key '%.32s'", id);
    ENSURE(sqlite3_column_bytes(st, 0) == 32, err, SB_E_MALFORMED, "store: admin key hash size");
    memcpy(hash, sqlite3_column_blob(st, 0), 32);
    *revoked = sqlite3_column_int64(st, 1) != 0;
    return 0;
}

/* ---- gateway pins -------------------------------------------------------------------------- */

static int pin_args_ok(const char *server, const char *kind, const char *name, sb_error *err) {
    ENSURE(server && kind && name, err, SB_E_USAGE, "pin: server, kind and name are required");
    ENSURE(strlen(server) <= SB_PIN_FIELD_MAX && strlen(kind) <= SB_PIN_FIELD_MAX &&
               strlen(name) <= SB_PIN_FIELD_MAX,
           err, SB_E_LIMIT, "pin: a field is over %d bytes", SB_PIN_FIELD_MAX);
    return 0;
}

int sb_store_pin_get(sb_store *s, const char *server, const char *kind, const char *name,
                     const char *digest, int64_t *id, bool *approved, sb_error *err) {
    TRY(pin_args_ok(server, kind, name, err));
    _cleanup_stmt_ sqlite3_stmt *st = NULL;
    TRY(stmt(s, Q_PIN_GET, &st, err));
    TRY(bind_text(s, st, 1, server, err));
    TRY(bind_text(s, st, 2, kind, err));
    TRY(bind_text(s, st, 3, name, err));
    TRY(bind_text(s, st, 4, digest, err));
    int r = step_row(s, st, err, "pin get");
    if (r < 0) return r;
    if (r == 0) return SB_E_NOTFOUND;
    *id = sqlite3_column_int64(st, 0);
    *approved = sqlite3_column_int64(st, 1) != 0;
    return 0;
}

int sb_store_pin_name_approved(sb_store *s, const char *server, const char *kind, const char *name,
                               bool *any, sb_error *err) {
    TRY(pin_args_ok(server, kind, name, err));
    _cleanup_stmt_ sqlite3_stmt *st = NULL;
    TRY(stmt(s, Q_PIN_NAME_APPROVED, &st, err));
    TRY(bind_text(s, st, 1, server, err));
    TRY(bind_text(s, st, 2, kind, err));
    TRY(bind_text(s, st, 3, name, err));
    int r = step_row(s, st, err, "pin lookup");
    if (r < 0) return r;
    *any = r == 1 && sqlite3_column_int64(st, 0) > 0;
    return 0;
}

static int pin_insert_rows(sb_store *s, const char *server, const char *kind, const char *name,
                           const char *digest, const char *definition, bool approved, int64_t *id,
                           sb_error *err) {
    if (approved) {
        _cleanup_stmt_ sqlite3_stmt *un = NULL;
        TRY(stmt(s, Q_PIN_UNAPPROVE_NAME, &un, err));
        TRY(bind_text(s, un, 1, server, err));
        TRY(bind_text(s, un, 2, kind, err));
        TRY(bind_text(s, un, 3, name, err));
        TRY(bind_i64(s, un, 4, sb_time_now(), err));
        TRY(run_done(s, un, err, "pin unapprove"));
    }
    _cleanup_stmt_ sqlite3_stmt *st = NULL;
    TRY(stmt(s, Q_PIN_INSERT, &st, err));
    TRY(bind_text(s, st, 1, server, err));
    TRY(bind_text(s, st, 2, kind, err));
    TRY(bind_text(s, st, 3, name, err));
    TRY(bind_text(s, st, 4, digest, err));
    TRY(bind_text(s, st, 5, definition ? definition : "", err));
    TRY(bind_i64(s, st, 6, approved ? 1 : 0, err));
    TRY(bind_i64(s, st, 7, sb_time_now(), err));
    TRY(run_done(s, st, err, "pin insert"));
    *id = sqlite3_last_insert_rowid(s->db);
    return 0;
}

int sb_store_pin_insert(sb_store *s, const char *server, const char *kind, const char *name,
                        const char *digest, const char *definition, bool approved, int64_t *id,
                        sb_error *err) {
    TRY(pin_args_ok(server, kind, name, err));
    ENSURE(digest && strlen(digest) <= SB_PIN_FIELD_MAX, err, SB_E_USAGE, "pin: bad digest");
    ENSURE(!definition || strlen(definition) <= SB_PIN_DEF_MAX, err, SB_E_LIMIT,
           "pin: definition over %d bytes", SB_PIN_DEF_MAX);
    /* approving replaces the approved digest of the name: both steps or neither */
    if (approved) TRY(sb_store_begin(s, err));
    int rc = pin_insert_rows(s, server, kind, name, digest, definition, approved, id, err);
    if (!approved) return rc;
    if (rc < 0) {
        sb_store_rollback(s);
        return rc;
    }
    return sb_store_commit(s, err);
}

static int read_pin(sqlite3_stmt *st, void *dst, sb_error *err) {
    sb_pin_rec *p = dst;
    p->id = sqlite3_column_int64(st, 0);
    TRY(col_text(st, 1, p->server, sizeof(p->server), err, "pin server"));
    TRY(col_text(st, 2, p->kind, sizeof(p->kind), err, "pin kind"));
    TRY(col_text(st, 3, p->name, sizeof(p->name), err, "pin name"));
    TRY(col_text(st, 4, p->digest, sizeof(p->digest), err, "pin digest"));
    p->approved = sqlite3_column_int64(st, 5) != 0;
    p->created = sqlite3_column_int64(st, 6);
    p->updated = sqlite3_column_int64(st, 7);
    return 0;
}

int sb_store_pin_approve(sb_store *s, int64_t id, sb_pin_rec *out, sb_error *err) {
    sb_pin_rec p;
    TRY(sb_store_begin(s, err));
    int rc;
    {
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        if ((rc = stmt(s, Q_PIN_GET_ID, &st, err)) < 0 || (rc = bind_i64(s, st, 1, id, err)) < 0)
            goto fail;
        rc = step_row(s, st, err, "pin get");
        if (rc == 0)
            rc = sb_error_set(err, SB_E_NOTFOUND, "no pinned definition %lld", (long long)id);
        if (rc < 0 || (rc = read_pin(st, &p, err)) < 0) goto fail;
    }
    {
        _cleanup_stmt_ sqlite3_stmt *un = NULL;
        if ((rc = stmt(s, Q_PIN_UNAPPROVE_NAME, &un, err)) < 0 ||
            (rc = bind_text(s, un, 1, p.server, err)) < 0 ||
            (rc = bind_text(s, un, 2, p.kind, err)) < 0 ||
            (rc = bind_text(s, un, 3, p.name, err)) < 0 ||
            (rc = bind_i64(s, un, 4, sb_time_now(), err)) < 0 ||
            (rc = run_done(s, un, err, "pin unapprove")) < 0)
            goto fail;
    }
    {
        _cleanup_stmt_ sqlite3_stmt *ap = NULL;
        if ((rc = stmt(s, Q_PIN_APPROVE, &ap, err)) < 0 || (rc = bind_i64(s, ap, 1, id, err)) < 0 ||
            (rc = bind_i64(s, ap, 2, sb_time_now(), err)) < 0 ||
            (rc = run_done(s, ap, err, "pin approve")) < 0)
            goto fail;
    }
    TRY(sb_store_commit(s, err));
    p.approved = true;
    if (out) *out = p;
    return 0;
fail:
    sb_store_rollback(s);
    return rc;
}

int sb_store_pin_list(sb_store *s, bool pending_only, sb_pin_rec **out, size_t *n, sb_error *err) {
    _cleanup_stmt_ sqlite3_stmt *st = NULL;
    TRY(stmt(s, Q_PIN_LIST, &st, err));
    TRY(bind_i64(s, st, 1, SB_STORE_LIST_MAX, err));
    TRY(bind_i64(s, st, 2, pending_only ? 1 : 0, err));
    void *v = NULL;
    TRY(collect(s, st, sizeof(sb_pin_rec), SB_STORE_LIST_MAX, read_pin, NULL, &v, n, err));
    *out = v;
    return 0;
}

/* ---- measurement logs ------------------------------------------------------------------------ */

int sb_store_mlog_append(sb_store *s, int64_t tenant_id, const char *sandbox_id, int64_t seq,
                         const char *event_json, sb_error *err) {
    ENSURE(sb_store_sandbox_id_valid(sandbox_id), err, SB_E_MALFORMED, "mlog: bad sandbox id");
    ENSURE(event_json && strnlen(event_json, SB_MLOG_EVENT_MAX + 1) <= SB_MLOG_EVENT_MAX, err,
           SB_E_LIMIT, "mlog: event over %d bytes", SB_MLOG_EVENT_MAX);
    _cleanup_stmt_ sqlite3_stmt *st = NULL;
    TRY(stmt(s, Q_MLOG_INSERT, &st, err));
    TRY(bind_text(s, st, 1, sandbox_id, err));
    TRY(bind_i64(s, st, 2, tenant_id, err));
    TRY(bind_i64(s, st, 3, seq, err));
    TRY(bind_text(s, st, 4, event_json, err));
    return run_done(s, st, err, "mlog insert");
}

static int rd_mlog(sqlite3_stmt *st, void *dst, sb_error *err) {
    return col_dup(st, 0, SB_MLOG_EVENT_MAX, (char **)dst, err, "mlog event");
}

static void clear_mlog(void *p) { free(*(char **)p); }

int sb_store_mlog_get(sb_store *s, int64_t tenant_id, const char *sandbox_id, size_t max,
                      char ***events, size_t *n, sb_error *err) {
    ENSURE(max > 0, err, SB_E_USAGE, "mlog: max must be positive");
    _cleanup_stmt_ sqlite3_stmt *st = NULL;
    TRY(stmt(s, Q_MLOG_LIST, &st, err));
    TRY(bind_text(s, st, 1, sandbox_id, err));
    TRY(bind_i64(s, st, 2, tenant_id, err));
    TRY(bind_i64(s, st, 3, (int64_t)max, err));
    void *v = NULL;
    TRY(collect(s, st, sizeof(char *), max, rd_mlog, clear_mlog, &v, n, err));
    *events = v;
    return 0;
}
