/* test_store: migrations from an empty file, reopen, refusal of corrupt, foreign and newer
 * databases, and every table's operations including tenant scoping and limits. */
#include <fcntl.h>
#include <sqlite3.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "harness.h"
#include "store/store.h"

static char *db_path(const char *name) {
    static char buf[8][512];
    static int next;
    char *p = buf[next++ % 8];
    (void)snprintf(p, 512, "%s/%s", sb_test_tmpdir(), name);
    return p;
}

static sb_store *open_ok(const char *path) {
    sb_error err = {0};
    sb_store *s = NULL;
    CHECK_OK(sb_store_open(path, &s, &err), &err);
    return s;
}

/* Runs SQL on the file behind the store's back, as an attacker or an old binary would. */
static void raw_sql(const char *path, const char *sql) {
    sqlite3 *db = NULL;
    CHECK_INT(sqlite3_open(path, &db), SQLITE_OK);
    char *msg = NULL;
    int rc = sqlite3_exec(db, sql, NULL, NULL, &msg);
    CHECK_MSG(rc == SQLITE_OK, "raw sql: %s", msg ? msg : "?");
    sqlite3_free(msg);
    sqlite3_close(db);
}

TEST(store_fresh_file_migrates_to_current) {
    const char *p = db_path("fresh.db");
    sb_store *s = open_ok(p);
    sb_error err = {0};
    int v = -1;
    CHECK_OK(sb_store_schema_version(s, &v, &err), &err);
    CHECK_INT(v, SB_STORE_SCHEMA_VERSION);
    CHECK_OK(sb_store_check(s, &err), &err);
    struct stat st;
    CHECK_INT(stat(p, &st), 0);
    CHECK_INT(st.st_mode & 0777, 0600);
    /* WAL mode leaves its log beside the database while a connection is open. */
    char wal[600];
    (void)snprintf(wal, sizeof(wal), "%s-wal", p);
    CHECK_INT(stat(wal, &st), 0);
    CHECK_INT(st.st_mode & 0777, 0600);
    sb_store_close(s);
}

TEST(store_existing_empty_file_migrates) {
    const char *p = db_path("empty.db");
    int fd = open(p, O_CREAT | O_WRONLY, 0600);
    CHECK(fd >= 0);
    close(fd);
    sb_store *s = open_ok(p);
    sb_error err = {0};
    int v = 0;
    CHECK_OK(sb_store_schema_version(s, &v, &err), &err);
    CHECK_INT(v, SB_STORE_SCHEMA_VERSION);
    sb_store_close(s);
}

TEST(store_reopen_keeps_data_and_does_not_remigrate) {
    const char *p = db_path("reopen.db");
    sb_error err = {0};
    sb_store *s = open_ok(p);
    sb_tenant t;
    CHECK_OK(sb_store_tenant_create(s, "acme", 5, 4096, &t, &err), &err);
    sb_store_close(s);
    s = open_ok(p);
    sb_tenant u;
    CHECK_OK(sb_store_tenant_get(s, "acme", &u, &err), &err);
    CHECK_INT(u.id, t.id);
    CHECK_INT(u.max_sandboxes, 5);
    CHECK_INT(u.max_memory_mb, 4096);
    sb_store_close(s);
    /* One row per applied version, not one per open. */
    sqlite3 *db = NULL;
    CHECK_INT(sqlite3_open(p, &db), SQLITE_OK);
    sqlite3_stmt *st = NULL;
    CHECK_INT(sqlite3_prepare_v2(db, "SELECT count(*) FROM schema_version", -1, &st, NULL),
              SQLITE_OK);
    CHECK_INT(sqlite3_step(st), SQLITE_ROW);
    CHECK_INT(sqlite3_column_int(st, 0), SB_STORE_SCHEMA_VERSION);
    sqlite3_finalize(st);
    sqlite3_close(db);
}

TEST(store_refuses_newer_schema) {
    const char *p = db_path("newer.db");
    sb_store_close(open_ok(p));
    raw_sql(p, "INSERT INTO schema_version (version, applied) VALUES (99, 0)");
    sb_error err = {0};
    sb_store *s = NULL;
    CHECK_INT(sb_store_open(p, &s, &err), SB_E_UNSUPPORTED);
    CHECK(s == NULL);
    CHECK_CONTAINS(err.msg, "schema version 99");
    CHECK_CONTAINS(err.msg, "newer");
}

TEST(store_refuses_garbage_file) {
    const char *p = db_path("garbage.db");
    uint8_t junk[8192];
    for (size_t i = 0; i < sizeof(junk); i++)
        junk[i] = (uint8_t)(i * 37 + 11);
    sb_error err = {0};
    CHECK_OK(sb_write_file_atomic(p, junk, sizeof(junk), 0600, &err), &err);
    sb_store *s = NULL;
    CHECK_INT(sb_store_open(p, &s, &err), SB_E_MALFORMED);
    CHECK(s == NULL);
    CHECK_CONTAINS(err.msg, "not a database");
}

TEST(store_refuses_corrupted_pages) {
    const char *p = db_path("corrupt.db");
    sb_error err = {0};
    sb_store *s = open_ok(p);
    sb_tenant t;
    for (int i = 0; i < 50; i++) {
        char name[32];
        (void)snprintf(name, sizeof(name), "tenant-%d", i);
        CHECK_OK(sb_store_tenant_create(s, name, 0, 0, &t, &err), &err);
    }
    sb_store_close(s); /* the last close checkpoints the WAL into the main file */
    uint8_t *b = NULL;
    size_t n = 0;
    CHECK_OK(sb_read_file(p, 1 << 20, &b, &n, &err), &err);
    CHECK(n >= 4096);
    /* Smash every page after the first (schema) page: b-tree headers become nonsense. */
    for (size_t i = 4096; i < n; i++)
        b[i] = 0xa5;
    CHECK_OK(sb_write_file_atomic(p, b, n, 0600, &err), &err);
    free(b);
    s = NULL;
    int rc = sb_store_open(p, &s, &err);
    if (rc == 0) {
        /* Opening only reads the schema page; a check or a read must then fail, not crash. */
        int c = sb_store_check(s, &err);
        CHECK_INT(c, SB_E_MALFORMED);
        sb_tenant u;
        CHECK(sb_store_tenant_get(s, "tenant-3", &u, &err) < 0);
        sb_store_close(s);
    } else {
        CHECK_INT(rc, SB_E_MALFORMED);
    }
}

TEST(store_refuses_foreign_database) {
    const char *p = db_path("foreign.db");
    raw_sql(p, "CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT)");
    sb_error err = {0};
    sb_store *s = NULL;
    CHECK_INT(sb_store_open(p, &s, &err), SB_E_UNSUPPORTED);
    CHECK_CONTAINS(err.msg, "not a sealbox database");
    const char *q = db_path("otherapp.db");
    raw_sql(q, "PRAGMA application_id = 42");
    CHECK_INT(sb_store_open(q, &s, &err), SB_E_UNSUPPORTED);
    CHECK_CONTAINS(err.msg, "another application");
}

TEST(store_failed_migration_rolls_back_whole_step) {
    /* A schema_version table (so: version 0) plus a table that collides with a later CREATE in
     * migration 1: the step must fail and leave nothing of itself behind. */
    const char *p = db_path("halfway.db");
    raw_sql(p, "CREATE TABLE schema_version (version INTEGER PRIMARY KEY, applied INTEGER);"
               "CREATE TABLE sandboxes (x)");
    sb_error err = {0};
    sb_store *s = NULL;
    CHECK(sb_store_open(p, &s, &err) < 0);
    CHECK_CONTAINS(err.msg, "migration to version 1");
    sqlite3 *db = NULL;
    CHECK_INT(sqlite3_open(p, &db), SQLITE_OK);
    sqlite3_stmt *st = NULL;
    CHECK_INT(sqlite3_prepare_v2(db,
                                 "SELECT count(*) FROM sqlite_schema WHERE name IN"
                                 " ('tenants', 'api_keys', 'events')",
                                 -1, &st, NULL),
              SQLITE_OK);
    CHECK_INT(sqlite3_step(st), SQLITE_ROW);
    CHECK_INT(sqlite3_column_int(st, 0), 0);
    sqlite3_finalize(st);
    sqlite3_close(db);
}

TEST(store_refuses_symlink_and_directory) {
    const char *d = db_path("dir.db");
    CHECK_INT(mkdir(d, 0700), 0);
    sb_error err = {0};
    sb_store *s = NULL;
    CHECK_INT(sb_store_open(d, &s, &err), SB_E_IO);
    const char *l = db_path("link.db");
    CHECK_INT(symlink(db_path("target.db"), l), 0);
    CHECK_INT(sb_store_open(l, &s, &err), SB_E_IO);
}

TEST(store_tenants) {
    sb_store *s = open_ok(db_path("tenants.db"));
    sb_error err = {0};
    sb_tenant a, b;
    CHECK_OK(sb_store_tenant_create(s, "alpha", 0, 0, &a, &err), &err);
    CHECK_OK(sb_store_tenant_create(s, "beta-2_x", 3, 512, &b, &err), &err);
    CHECK(a.id != b.id);
    CHECK_STR(b.name, "beta-2_x");
    CHECK_INT(sb_store_tenant_create(s, "alpha", 0, 0, NULL, &err), SB_E_POLICY);
    CHECK_CONTAINS(err.msg, "exists");
    const char *bad[] = {"",
                         "Upper",
                         "-dash",
                         "sp ace",
                         "semi;colon",
                         "x'--",
                         "0123456789012345678901234567890123456789012345678901234567890123"};
    for (size_t i = 0; i < SB_ARRAY_LEN(bad); i++)
        CHECK_MSG(sb_store_tenant_create(s, bad[i], 0, 0, NULL, &err) == SB_E_MALFORMED,
                  "name '%s' accepted", bad[i]);
    CHECK_INT(sb_store_tenant_create(s, "neg", -1, 0, NULL, &err), SB_E_MALFORMED);
    sb_tenant *v = NULL;
    size_t n = 0;
    CHECK_OK(sb_store_tenant_list(s, &v, &n, &err), &err);
    CHECK_INT(n, 2);
    CHECK_STR(v[0].name, "alpha");
    CHECK_STR(v[1].name, "beta-2_x");
    free(v);
    sb_tenant g;
    CHECK_OK(sb_store_tenant_get_by_id(s, b.id, &g, &err), &err);
    CHECK_STR(g.name, "beta-2_x");
    CHECK_INT(sb_store_tenant_get(s, "gamma", &g, &err), SB_E_NOTFOUND);
    CHECK_INT(sb_store_tenant_delete(s, "gamma", &err), SB_E_NOTFOUND);
    CHECK_OK(sb_store_tenant_delete(s, "alpha", &err), &err);
    CHECK_INT(sb_store_tenant_get(s, "alpha", &g, &err), SB_E_NOTFOUND);
    sb_store_close(s);
}

static sb_apikey mkkey(const char *id, int64_t tenant, uint8_t fill) {
    sb_apikey k;
    memset(&k, 0, sizeof(k));
    (void)snprintf(k.id, sizeof(k.id), "%s", id);
    k.tenant_id = tenant;
    memset(k.hash, fill, sizeof(k.hash));
    (void)snprintf(k.label, sizeof(k.label), "ci key");
    return k;
}

TEST(store_keys) {
    sb_store *s = open_ok(db_path("keys.db"));
    sb_error err = {0};
    sb_tenant a, b;
    CHECK_OK(sb_store_tenant_create(s, "a", 0, 0, &a, &err), &err);
    CHECK_OK(sb_store_tenant_create(s, "b", 0, 0, &b, &err), &err);
    sb_apikey k1 = mkkey("sbk_AAAA1111", a.id, 1), k2 = mkkey("sbk_BBBB2222", b.id, 2);
    k2.expires = 2000000000;
    CHECK_OK(sb_store_key_insert(s, &k1, &err), &err);
    CHECK_OK(sb_store_key_insert(s, &k2, &err), &err);
    CHECK_INT(sb_store_key_insert(s, &k1, &err), SB_E_POLICY);
    sb_apikey orphan = mkkey("sbk_CCCC", 9999, 3);
    CHECK_INT(sb_store_key_insert(s, &orphan, &err), SB_E_NOTFOUND);
    sb_apikey badid = mkkey("sbk-with-dash", a.id, 3);
    CHECK_INT(sb_store_key_insert(s, &badid, &err), SB_E_MALFORMED);
    sb_apikey badlabel = mkkey("sbk_DDDD", a.id, 3);
    badlabel.label[0] = '\n';
    CHECK_INT(sb_store_key_insert(s, &badlabel, &err), SB_E_MALFORMED);

    sb_apikey g;
    CHECK_OK(sb_store_key_get(s, "sbk_BBBB2222", &g, &err), &err);
    CHECK_INT(g.tenant_id, b.id);
    CHECK_INT(g.expires, 2000000000);
    CHECK(!g.revoked);
    CHECK_MEM(g.hash, k2.hash, SB_KEY_HASH_LEN);
    CHECK(g.created > 0);
    CHECK_OK(sb_store_key_revoke(s, "sbk_BBBB2222", &err), &err);
    CHECK_OK(sb_store_key_revoke(s, "sbk_BBBB2222", &err), &err);
    CHECK_OK(sb_store_key_get(s, "sbk_BBBB2222", &g, &err), &err);
    CHECK(g.revoked);
    CHECK_INT(sb_store_key_revoke(s, "sbk_nope", &err), SB_E_NOTFOUND);
    CHECK_INT(sb_store_key_get(s, "sbk_nope", &g, &err), SB_E_NOTFOUND);

    sb_apikey *v = NULL;
    size_t n = 0;
    CHECK_OK(sb_store_key_list(s, 0, &v, &n, &err), &err);
    CHECK_INT(n, 2);
    free(v);
    CHECK_OK(sb_store_key_list(s, a.id, &v, &n, &err), &err);
    CHECK_INT(n, 1);
    CHECK_STR(v[0].id, "sbk_AAAA1111");
    free(v);
    /* Removing a tenant removes its keys. */
    CHECK_OK(sb_store_tenant_delete(s, "a", &err), &err);
    CHECK_INT(sb_store_key_get(s, "sbk_AAAA1111", &g, &err), SB_E_NOTFOUND);
    sb_store_close(s);
}

static sb_sandbox_rec mksbx(const char *id, int64_t tenant, int64_t mem) {
    sb_sandbox_rec r;
    memset(&r, 0, sizeof(r));
    (void)snprintf(r.id, sizeof(r.id), "%s", id);
    r.tenant_id = tenant;
    r.state = SB_SBX_RUNNING;
    (void)snprintf(r.image_digest, sizeof(r.image_digest), "sha256:%064d", 7);
    r.config_json = (char *)"{\"image\":\"default\"}";
    r.memory_mb = mem;
    return r;
}

TEST(store_sandboxes_scoped_by_tenant) {
    sb_store *s = open_ok(db_path("sbx.db"));
    sb_error err = {0};
    sb_tenant a, b;
    CHECK_OK(sb_store_tenant_create(s, "a", 0, 0, &a, &err), &err);
    CHECK_OK(sb_store_tenant_create(s, "b", 0, 0, &b, &err), &err);
    for (int i = 0; i < 5; i++) {
        char id[32];
        (void)snprintf(id, sizeof(id), "sbx_a%d", i);
        sb_sandbox_rec r = mksbx(id, a.id, 256);
        CHECK_OK(sb_store_sandbox_insert(s, &r, &err), &err);
    }
    sb_sandbox_rec rb = mksbx("sbx_b0", b.id, 1024);
    CHECK_OK(sb_store_sandbox_insert(s, &rb, &err), &err);
    CHECK_INT(sb_store_sandbox_insert(s, &rb, &err), SB_E_POLICY);
    sb_sandbox_rec bad = mksbx("../etc", a.id, 1);
    CHECK_INT(sb_store_sandbox_insert(s, &bad, &err), SB_E_MALFORMED);
    bad = mksbx("sbx_ok", a.id, 1);
    (void)snprintf(bad.image_digest, sizeof(bad.image_digest), "sha256:ab cd");
    CHECK_INT(sb_store_sandbox_insert(s, &bad, &err), SB_E_MALFORMED);

    sb_sandbox_rec g;
    CHECK_OK(sb_store_sandbox_get(s, a.id, "sbx_a3", &g, &err), &err);
    CHECK_STR(g.config_json, "{\"image\":\"default\"}");
    CHECK_INT(g.state, SB_SBX_RUNNING);
    CHECK_INT(g.memory_mb, 256);
    sb_sandbox_rec_clear(&g);
    /* Another tenant's id looks exactly like a missing one. */
    CHECK_INT(sb_store_sandbox_get(s, b.id, "sbx_a3", &g, &err), SB_E_NOTFOUND);
    CHECK_INT(sb_store_sandbox_set_state(s, b.id, "sbx_a3", SB_SBX_DESTROYED, &err), SB_E_NOTFOUND);
    CHECK_OK(sb_store_sandbox_set_state(s, a.id, "sbx_a3", SB_SBX_STANDBY, &err), &err);
    CHECK_OK(sb_store_sandbox_update_created(s, a.id, "sbx_a2", "mutable:host", "{\"x\":1}", &err),
             &err);
    CHECK_INT(sb_store_sandbox_update_created(s, b.id, "sbx_a2", "", "{}", &err), SB_E_NOTFOUND);
    CHECK_INT(sb_store_sandbox_update_created(s, a.id, "sbx_a2", "bad digest", "{}", &err),
              SB_E_MALFORMED);
    CHECK_OK(sb_store_sandbox_get(s, a.id, "sbx_a2", &g, &err), &err);
    CHECK_STR(g.image_digest, "mutable:host");
    CHECK_STR(g.config_json, "{\"x\":1}");
    sb_sandbox_rec_clear(&g);
    CHECK_OK(sb_store_sandbox_set_state(s, a.id, "sbx_a4", SB_SBX_DESTROYED, &err), &err);

    int64_t count = 0, mem = 0;
    CHECK_OK(sb_store_sandbox_usage(s, a.id, &count, &mem, &err), &err);
    CHECK_INT(count, 4);
    CHECK_INT(mem, 1024);
    int64_t by[SB_SBX_STATE_MAX];
    CHECK_OK(sb_store_sandbox_count_by_state(s, by, &err), &err);
    CHECK_INT(by[SB_SBX_RUNNING], 4);
    CHECK_INT(by[SB_SBX_STANDBY], 1);
    CHECK_INT(by[SB_SBX_DESTROYED], 1);

    /* Pagination: two pages of two, then one, then none; the destroyed one is hidden. */
    sb_sandbox_rec *v = NULL;
    size_t n = 0;
    CHECK_OK(sb_store_sandbox_list(s, a.id, NULL, 2, false, &v, &n, &err), &err);
    CHECK_INT(n, 2);
    CHECK_STR(v[0].id, "sbx_a0");
    CHECK_STR(v[1].id, "sbx_a1");
    char cursor[64];
    (void)snprintf(cursor, sizeof(cursor), "%s", v[1].id);
    sb_sandbox_recs_free(v, n);
    CHECK_OK(sb_store_sandbox_list(s, a.id, cursor, 2, false, &v, &n, &err), &err);
    CHECK_INT(n, 2);
    CHECK_STR(v[1].id, "sbx_a3");
    sb_sandbox_recs_free(v, n);
    CHECK_OK(sb_store_sandbox_list(s, a.id, "sbx_a3", 2, false, &v, &n, &err), &err);
    CHECK_INT(n, 0);
    CHECK(v == NULL);
    CHECK_OK(sb_store_sandbox_list(s, a.id, "sbx_a3", 2, true, &v, &n, &err), &err);
    CHECK_INT(n, 1);
    sb_sandbox_recs_free(v, n);
    CHECK_OK(sb_store_sandbox_list(s, 0, NULL, 100, true, &v, &n, &err), &err);
    CHECK_INT(n, 6);
    sb_sandbox_recs_free(v, n);
    CHECK_INT(sb_store_sandbox_list(s, a.id, NULL, 0, false, &v, &n, &err), SB_E_LIMIT);
    CHECK_INT(sb_store_sandbox_list(s, a.id, NULL, SB_STORE_LIST_MAX + 1, false, &v, &n, &err),
              SB_E_LIMIT);

    /* A tenant with live sandboxes cannot be removed. */
    CHECK_INT(sb_store_tenant_delete(s, "a", &err), SB_E_POLICY);
    CHECK_CONTAINS(err.msg, "4 live sandboxes");
    sb_store_close(s);
}

TEST(store_transaction_rollback) {
    sb_store *s = open_ok(db_path("tx.db"));
    sb_error err = {0};
    CHECK_OK(sb_store_begin(s, &err), &err);
    CHECK_OK(sb_store_tenant_create(s, "temp", 0, 0, NULL, &err), &err);
    sb_store_rollback(s);
    sb_tenant t;
    CHECK_INT(sb_store_tenant_get(s, "temp", &t, &err), SB_E_NOTFOUND);
    CHECK_OK(sb_store_begin(s, &err), &err);
    CHECK_OK(sb_store_tenant_create(s, "kept", 0, 0, NULL, &err), &err);
    CHECK_OK(sb_store_commit(s, &err), &err);
    CHECK_OK(sb_store_tenant_get(s, "kept", &t, &err), &err);
    sb_store_rollback(s); /* without a transaction: harmless */
    sb_store_close(s);
}

/* A nosync transaction commits like any other (another connection sees it at once); it leaves
 * the WAL to sync, which sb_store_sync does once, or the next ordinary commit does. */
TEST(store_nosync_commit_then_sync) {
    const char *p = db_path("nosync.db");
    sb_store *s = open_ok(p), *other = open_ok(p);
    sb_error err = {0};
    sb_tenant t;
    CHECK_INT(sb_store_sync(s, &err), 0); /* nothing pending */
    CHECK_OK(sb_store_begin_nosync(s, &err), &err);
    CHECK_OK(sb_store_tenant_create(s, "fast", 0, 0, NULL, &err), &err);
    CHECK_OK(sb_store_commit(s, &err), &err);
    CHECK_OK(sb_store_tenant_get(other, "fast", &t, &err), &err);
    CHECK_INT(sb_store_sync(s, &err), 1);
    CHECK_INT(sb_store_sync(s, &err), 0);
    /* an ordinary commit after it syncs the WAL, and so what came before */
    CHECK_OK(sb_store_begin_nosync(s, &err), &err);
    CHECK_OK(sb_store_tenant_create(s, "fast2", 0, 0, NULL, &err), &err);
    CHECK_OK(sb_store_commit(s, &err), &err);
    CHECK_OK(sb_store_tenant_create(s, "slow", 0, 0, NULL, &err), &err);
    CHECK_INT(sb_store_sync(s, &err), 0);
    /* rolled back: nothing written, nothing to sync, and the next transactions work */
    CHECK_OK(sb_store_begin_nosync(s, &err), &err);
    CHECK_OK(sb_store_tenant_create(s, "gone", 0, 0, NULL, &err), &err);
    sb_store_rollback(s);
    CHECK_INT(sb_store_tenant_get(s, "gone", &t, &err), SB_E_NOTFOUND);
    CHECK_INT(sb_store_sync(s, &err), 0);
    /* inside an open transaction SQLite keeps its safety level: refused, and the transaction
     * goes on */
    CHECK_OK(sb_store_begin(s, &err), &err);
    CHECK(sb_store_begin_nosync(s, &err) < 0);
    CHECK(sb_store_in_transaction(s));
    CHECK_OK(sb_store_tenant_create(s, "kept", 0, 0, NULL, &err), &err);
    CHECK_OK(sb_store_commit(s, &err), &err);
    CHECK_OK(sb_store_tenant_get(other, "kept", &t, &err), &err);
    CHECK_INT(sb_store_sync(s, &err), 0);
    sb_store_close(s);
    sb_store_close(other);
}

TEST(store_events) {
    sb_store *s = open_ok(db_path("events.db"));
    sb_error err = {0};
    sb_tenant a, b;
    CHECK_OK(sb_store_tenant_create(s, "a", 0, 0, &a, &err), &err);
    CHECK_OK(sb_store_tenant_create(s, "b", 0, 0, &b, &err), &err);
    int64_t seq1 = 0, seq2 = 0;
    CHECK_OK(sb_store_event_add(s, 0, NULL, "daemon.start", NULL, &seq1, &err), &err);
    CHECK_OK(sb_store_event_add(s, a.id, "sbx_1", "sandbox.create", "{\"ms\":3}", &seq2, &err),
             &err);
    CHECK(seq2 > seq1);
    CHECK_OK(sb_store_event_add(s, b.id, "sbx_1", "sandbox.create", NULL, NULL, &err), &err);
    CHECK_INT(sb_store_event_add(s, a.id, NULL, "Bad Kind", NULL, NULL, &err), SB_E_MALFORMED);
    CHECK_INT(sb_store_event_add(s, 777, NULL, "x", NULL, NULL, &err), SB_E_NOTFOUND);
    static char big[SB_EVENT_DETAIL_MAX + 2];
    memset(big, 'x', sizeof(big) - 1);
    CHECK_INT(sb_store_event_add(s, a.id, NULL, "x", big, NULL, &err), SB_E_LIMIT);

    sb_event *v = NULL;
    size_t n = 0;
    CHECK_OK(sb_store_event_list(s, 0, NULL, 0, 100, &v, &n, &err), &err);
    CHECK_INT(n, 3);
    CHECK_STR(v[0].kind, "daemon.start");
    CHECK(v[0].detail_json == NULL);
    CHECK_STR(v[1].detail_json, "{\"ms\":3}");
    sb_events_free(v, n);
    CHECK_OK(sb_store_event_list(s, a.id, "sbx_1", 0, 100, &v, &n, &err), &err);
    CHECK_INT(n, 1);
    CHECK_INT(v[0].tenant_id, a.id);
    sb_events_free(v, n);
    CHECK_OK(sb_store_event_list(s, b.id, NULL, 0, 100, &v, &n, &err), &err);
    CHECK_INT(n, 1);
    sb_events_free(v, n);
    CHECK_OK(sb_store_event_list(s, 0, NULL, seq2, 100, &v, &n, &err), &err);
    CHECK_INT(n, 1);
    sb_events_free(v, n);
    sb_store_close(s);
}

TEST(store_tampered_row_is_refused_not_trusted) {
    const char *p = db_path("tamper.db");
    sb_store *s = open_ok(p);
    sb_error err = {0};
    sb_tenant a;
    CHECK_OK(sb_store_tenant_create(s, "a", 0, 0, &a, &err), &err);
    sb_sandbox_rec r = mksbx("sbx_t", a.id, 1);
    CHECK_OK(sb_store_sandbox_insert(s, &r, &err), &err);
    sb_store_close(s);
    raw_sql(p, "UPDATE sandboxes SET state = 'exploded'");
    s = open_ok(p);
    sb_sandbox_rec g;
    CHECK_INT(sb_store_sandbox_get(s, a.id, "sbx_t", &g, &err), SB_E_MALFORMED);
    CHECK_CONTAINS(err.msg, "unknown state");
    sb_store_close(s);
}

TEST(store_concurrent_connections_share_wal) {
    const char *p = db_path("two.db");
    sb_store *s1 = open_ok(p), *s2 = open_ok(p);
    sb_error err = {0};
    CHECK_OK(sb_store_tenant_create(s1, "one", 0, 0, NULL, &err), &err);
    sb_tenant t;
    CHECK_OK(sb_store_tenant_get(s2, "one", &t, &err), &err);
    sb_store_close(s1);
    sb_store_close(s2);
}
