/* test_audit: the audit chain — appends, checkpoints, the key and head files — and one test per
 * kind of tampering an attacker with write access to the database (and the head file) can do. */
#include <sqlite3.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "gateway/gateway.h"
#include "harness.h"

#define HEX64 "0011223344556677889900112233445566778899001122334455667788990011"

struct fx {
    char dir[512], db[600], head[600];
    sb_store *st;
    sb_audit_key *key;
    sb_audit_signer sg;
    sb_audit *a;
};

static void fx_open_audit(struct fx *f, unsigned every) {
    sb_error err = {0};
    sb_audit_cfg cfg = {.signer = &f->sg, .head_file = f->head, .checkpoint_every = every};
    CHECK_OK(sb_audit_open(f->st, &cfg, &f->a, &err), &err);
}

static void fx_open(struct fx *f, const char *name, unsigned every) {
    memset(f, 0, sizeof(*f));
    (void)snprintf(f->dir, sizeof(f->dir), "%s/%s", sb_test_tmpdir(), name);
    CHECK_INT(mkdir(f->dir, 0700), 0);
    (void)snprintf(f->db, sizeof(f->db), "%s/sealbox.db", f->dir);
    (void)snprintf(f->head, sizeof(f->head), "%s/%s", f->dir, SB_AUDIT_HEAD_FILE);
    sb_error err = {0};
    CHECK_OK(sb_store_open(f->db, &f->st, &err), &err);
    CHECK_OK(sb_audit_key_load(f->dir, &f->key, &err), &err);
    sb_audit_key_signer(f->key, &f->sg);
    fx_open_audit(f, every);
}

static void fx_fill(struct fx *f, int n) {
    for (int i = 0; i < n; i++) {
        json_t *r = json_pack("{s:s, s:s, s:s, s:s, s:s, s:b, s:i}", "agent", "claude", "server",
                              "fs", "method", "tools/call", "tool", "read_file", "decision",
                              i % 3 ? "allow" : "deny", "is_error", i % 2, "n", i);
        sb_error err = {0};
        uint64_t seq = 0;
        CHECK_OK(sb_audit_append(f->a, r, &seq, &err), &err);
        json_decref(r);
    }
}

static void fx_close(struct fx *f) {
    sb_audit_close(f->a);
    f->a = NULL;
    sb_store_close(f->st);
    f->st = NULL;
}

static void fx_free(struct fx *f) {
    fx_close(f);
    sb_audit_key_free(f->key);
}

/* Verifies with a fresh connection, as `sealbox audit verify` would. */
static int fx_verify(struct fx *f, sb_audit_report *rep, sb_error *err) {
    sb_store *st = NULL;
    sb_error e = {0};
    CHECK_OK(sb_store_open(f->db, &st, &e), &e);
    if (!st) return SB_E_IO;
    int r = sb_audit_verify(st, sb_audit_key_public(f->key), f->head, rep, err);
    sb_store_close(st);
    return r;
}

/* SQL behind sealbox's back, after dropping the append-only triggers as an attacker would. */
static void tamper(const char *db, const char *sql) {
    sqlite3 *h = NULL;
    CHECK_INT(sqlite3_open(db, &h), SQLITE_OK);
    char *msg = NULL;
    int rc = sqlite3_exec(h,
                          "DROP TRIGGER IF EXISTS audit_log_no_update;"
                          "DROP TRIGGER IF EXISTS audit_log_no_delete;"
                          "DROP TRIGGER IF EXISTS audit_checkpoints_no_update;"
                          "DROP TRIGGER IF EXISTS audit_checkpoints_no_delete;",
                          NULL, NULL, &msg);
    if (rc == SQLITE_OK) rc = sqlite3_exec(h, sql, NULL, NULL, &msg);
    CHECK_MSG(rc == SQLITE_OK, "tamper: %s", msg ? msg : "?");
    sqlite3_free(msg);
    sqlite3_close(h);
}

/* Recomputes every prev/hash from the records: the rewrite a plain hash chain cannot catch. */
static void rechain(const char *db) {
    tamper(db, "SELECT 1");
    sqlite3 *h = NULL;
    CHECK_INT(sqlite3_open(db, &h), SQLITE_OK);
    sqlite3_stmt *q = NULL, *u = NULL;
    CHECK_INT(sqlite3_prepare_v2(h, "SELECT seq, record FROM audit_log ORDER BY seq", -1, &q, NULL),
              SQLITE_OK);
    CHECK_INT(sqlite3_prepare_v2(h, "UPDATE audit_log SET prev = ?1, hash = ?2 WHERE seq = ?3", -1,
                                 &u, NULL),
              SQLITE_OK);
    uint8_t prev[32] = {0}, hash[32];
    sb_error err = {0};
    CHECK_INT(sqlite3_exec(h, "BEGIN", NULL, NULL, NULL), SQLITE_OK);
    while (sqlite3_step(q) == SQLITE_ROW) {
        int64_t seq = sqlite3_column_int64(q, 0);
        const char *rec = (const char *)sqlite3_column_text(q, 1);
        size_t n = (size_t)sqlite3_column_bytes(q, 1);
        CHECK_OK(sb_audit_row_hash(prev, rec, n, (uint64_t)seq, hash, &err), &err);
        sqlite3_bind_blob(u, 1, prev, 32, SQLITE_TRANSIENT);
        sqlite3_bind_blob(u, 2, hash, 32, SQLITE_TRANSIENT);
        sqlite3_bind_int64(u, 3, seq);
        CHECK_INT(sqlite3_step(u), SQLITE_DONE);
        sqlite3_reset(u);
        memcpy(prev, hash, 32);
    }
    CHECK_INT(sqlite3_exec(h, "COMMIT", NULL, NULL, NULL), SQLITE_OK);
    sqlite3_finalize(q);
    sqlite3_finalize(u);
    sqlite3_close(h);
}

/* Builds a 10-record log with checkpoints at 4 and 8, closes it, and returns the fixture. */
static void fx_ten(struct fx *f, const char *name) {
    fx_open(f, name, 4);
    fx_fill(f, 10);
    fx_close(f);
}

static void expect_finding(struct fx *f, enum sb_audit_finding want, uint64_t seq,
                           const char *needle) {
    sb_audit_report rep;
    memset(&rep, 0, sizeof(rep));
    sb_error err = {0};
    int r = fx_verify(f, &rep, &err);
    CHECK_INT(r, SB_E_SIGNATURE);
    CHECK_STR(sb_audit_finding_name(rep.finding), sb_audit_finding_name(want));
    CHECK_INT(rep.first_bad_seq, seq);
    CHECK_CONTAINS(err.msg, sb_audit_finding_name(want));
    char at[48];
    (void)snprintf(at, sizeof(at), "at seq %llu", (unsigned long long)seq);
    CHECK_CONTAINS(err.msg, at);
    if (needle) CHECK_CONTAINS(rep.detail, needle);
}

/* ---- the chain ---------------------------------------------------------------------------- */

TEST(audit_append_chains_and_verifies) {
    struct fx f;
    fx_open(&f, "chain", 4);
    fx_fill(&f, 10);
    CHECK_INT(sb_audit_unsigned(f.a), 2); /* checkpoints at 4 and 8 */
    /* Row 1's hash is SHA-256(32 zero bytes || canonical record || u64be(1)). */
    sb_audit_row *v = NULL;
    size_t n = 0;
    sb_error err = {0};
    CHECK_OK(sb_store_audit_list(f.st, 0, 2, &v, &n, &err), &err);
    CHECK_INT(n, 2);
    if (n == 2) {
        uint8_t zero[32] = {0}, h[32], buf[SB_AUDIT_RECORD_MAX + 64];
        CHECK_MEM(v[0].prev, zero, 32);
        memcpy(buf, zero, 32);
        memcpy(buf + 32, v[0].record, v[0].record_len);
        memcpy(buf + 32 + v[0].record_len, "\0\0\0\0\0\0\0\1", 8);
        CHECK_OK(sb_hash(SB_HASH_SHA256, buf, 40 + v[0].record_len, h, &err), &err);
        CHECK_MEM(v[0].hash, h, 32);
        CHECK_MEM(v[1].prev, v[0].hash, 32);
        CHECK_CONTAINS(v[0].record, "\"agent\":\"claude\"");
        CHECK_CONTAINS(v[0].record, "\"ts\":");
        CHECK(v[0].ts > 0);
    }
    sb_audit_rows_free(v, n);
    sb_audit_report rep;
    CHECK_OK(fx_verify(&f, &rep, &err), &err);
    CHECK_INT(rep.finding, SB_AUDIT_INTACT);
    CHECK_INT(rep.records, 10);
    CHECK_INT(rep.head_seq, 10);
    CHECK_INT(rep.checkpoints, 2);
    CHECK_INT(rep.signed_seq, 8);
    CHECK_INT(rep.head_file_seq, 8);
    CHECK_INT(rep.unsigned_tail, 2);
    /* A clean shutdown signs the tail. */
    CHECK_OK(sb_audit_checkpoint(f.a, &err), &err);
    CHECK_INT(sb_audit_unsigned(f.a), 0);
    CHECK_OK(sb_audit_checkpoint(f.a, &err), &err); /* nothing new: no second checkpoint */
    CHECK_OK(fx_verify(&f, &rep, &err), &err);
    CHECK_INT(rep.checkpoints, 3);
    CHECK_INT(rep.signed_seq, 10);
    CHECK_INT(rep.unsigned_tail, 0);
    CHECK_INT(rep.head_file_seq, 10);
    fx_free(&f);
}

TEST(audit_reopen_continues_the_chain) {
    struct fx f;
    fx_open(&f, "reopen", 100);
    fx_fill(&f, 3);
    sb_audit_close(f.a);
    fx_open_audit(&f, 100);
    CHECK_INT(sb_audit_unsigned(f.a), 3);
    fx_fill(&f, 2);
    sb_error err = {0};
    CHECK_OK(sb_audit_checkpoint(f.a, &err), &err);
    sb_audit_report rep;
    CHECK_OK(fx_verify(&f, &rep, &err), &err);
    CHECK_INT(rep.records, 5);
    CHECK_INT(rep.signed_seq, 5);
    fx_free(&f);
}

TEST(audit_record_rules_name_the_field) {
    struct fx f;
    fx_open(&f, "rules", 100);
    sb_error err = {0};
    json_t *arr = json_array();
    CHECK_INT(sb_audit_append(f.a, arr, NULL, &err), SB_E_USAGE);
    json_decref(arr);
    json_t *r = json_pack("{s:s}", "ts", "yesterday");
    CHECK_INT(sb_audit_append(f.a, r, NULL, &err), SB_E_MALFORMED);
    CHECK_CONTAINS(err.msg, "'ts'");
    json_decref(r);
    char *big = malloc(SB_AUDIT_RECORD_MAX + 1);
    memset(big, 'x', SB_AUDIT_RECORD_MAX);
    big[SB_AUDIT_RECORD_MAX] = '\0';
    r = json_pack("{s:s}", "args", big);
    CHECK_INT(sb_audit_append(f.a, r, NULL, &err), SB_E_LIMIT);
    json_decref(r);
    free(big);
    /* A caller-supplied ts is kept. */
    r = json_pack("{s:I}", "ts", (json_int_t)1700000000123);
    uint64_t seq = 0;
    CHECK_OK(sb_audit_append(f.a, r, &seq, &err), &err);
    json_decref(r);
    CHECK_INT(seq, 1);
    sb_audit_row *v = NULL;
    size_t n = 0;
    CHECK_OK(sb_store_audit_list(f.st, 0, 10, &v, &n, &err), &err);
    CHECK_INT(n, 1);
    if (n == 1) CHECK_INT(v[0].ts, 1700000000123);
    sb_audit_rows_free(v, n);
    fx_free(&f);
}

TEST(audit_append_joins_the_callers_transaction) {
    struct fx f;
    fx_open(&f, "tx", 2);
    sb_error err = {0};
    CHECK_OK(sb_store_begin(f.st, &err), &err);
    fx_fill(&f, 3); /* no checkpoint inside the caller's transaction */
    CHECK_INT(sb_audit_checkpoint(f.a, &err), SB_E_USAGE);
    sb_store_rollback(f.st);
    sb_audit_row last;
    bool found = true;
    CHECK_OK(sb_store_audit_last(f.st, &last, &found, &err), &err);
    CHECK(!found);
    struct stat st;
    CHECK(stat(f.head, &st) < 0);
    fx_free(&f);
}

TEST(audit_sql_cannot_update_or_delete) {
    struct fx f;
    fx_open(&f, "triggers", 100);
    fx_fill(&f, 2);
    fx_close(&f);
    sqlite3 *h = NULL;
    CHECK_INT(sqlite3_open(f.db, &h), SQLITE_OK);
    char *msg = NULL;
    CHECK(sqlite3_exec(h, "UPDATE audit_log SET record = '{}' WHERE seq = 1", NULL, NULL, &msg) !=
          SQLITE_OK);
    CHECK_CONTAINS(msg, "append-only");
    sqlite3_free(msg);
    msg = NULL;
    CHECK(sqlite3_exec(h, "DELETE FROM audit_log", NULL, NULL, &msg) != SQLITE_OK);
    sqlite3_free(msg);
    sqlite3_close(h);
    sb_audit_key_free(f.key);
}

/* ---- the key ------------------------------------------------------------------------------- */

TEST(audit_key_is_private_and_stable) {
    char dir[512], path[600], pub[600];
    (void)snprintf(dir, sizeof(dir), "%s/key", sb_test_tmpdir());
    CHECK_INT(mkdir(dir, 0700), 0);
    sb_error err = {0};
    sb_audit_key *k1 = NULL, *k2 = NULL;
    CHECK_OK(sb_audit_key_load(dir, &k1, &err), &err);
    (void)snprintf(path, sizeof(path), "%s/%s", dir, SB_AUDIT_KEY_FILE);
    (void)snprintf(pub, sizeof(pub), "%s/%s", dir, SB_AUDIT_PUB_FILE);
    struct stat st;
    CHECK_INT(stat(path, &st), 0);
    CHECK_INT(st.st_mode & 0777, 0600);
    CHECK_OK(sb_audit_key_load(dir, &k2, &err), &err);
    sb_audit_signer s1, s2;
    if (k1 && k2) {
        sb_audit_key_signer(k1, &s1);
        sb_audit_key_signer(k2, &s2);
        CHECK_STR(s1.kid, s2.kid);
    }
    sb_pubkey *p = NULL;
    CHECK_OK(sb_audit_pubkey_load(pub, &p, &err), &err);
    if (p && k1) CHECK(sb_pubkey_equal(p, sb_audit_key_public(k1)));
    sb_pubkey_free(p);
    sb_audit_key_free(k2);
    k2 = NULL;
    CHECK_INT(chmod(path, 0640), 0);
    CHECK_INT(sb_audit_key_load(dir, &k2, &err), SB_E_POLICY);
    CHECK_CONTAINS(err.msg, "mode 640");
    sb_audit_key_free(k1);
}

/* ---- the head file ------------------------------------------------------------------------- */

static const char GOOD_HEAD[] =
    "{\"format\":\"sealbox-audit-head\",\"hash\":"
    "\"00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff\","
    "\"kid\":\"abc_-9\",\"seq\":42,\"sig\":\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
    "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\",\"ts\":1700000000000,\"version\":1}\n";

static int parse_str(const char *s, sb_audit_head *h, sb_error *err) {
    return sb_audit_head_parse((const uint8_t *)s, strlen(s), h, err);
}

/* GOOD_HEAD with the first `from` replaced by `to`. */
static int parse_edit(const char *from, const char *to, sb_error *err) {
    char buf[2048];
    const char *at = strstr(GOOD_HEAD, from);
    CHECK(at != NULL);
    if (!at) return 0;
    (void)snprintf(buf, sizeof(buf), "%.*s%s%s", (int)(at - GOOD_HEAD), GOOD_HEAD, to,
                   at + strlen(from));
    sb_audit_head h;
    return parse_str(buf, &h, err);
}

TEST(audit_head_parse_accepts_the_format) {
    sb_audit_head h;
    sb_error err = {0};
    CHECK_OK(parse_str(GOOD_HEAD, &h, &err), &err);
    CHECK_INT(h.seq, 42);
    CHECK_INT(h.ts, 1700000000000);
    CHECK_STR(h.kid, "abc_-9");
    CHECK_INT(h.hash[1], 0x11);
    CHECK_INT(h.counter, 0);
    /* version 2 carries the monotonic counter */
    char v2[2048];
    const char *at = strstr(GOOD_HEAD, "\"version\":1}");
    CHECK(at != NULL);
    (void)snprintf(v2, sizeof(v2), "%.*s\"version\":2,\"counter\":9007199254740991}\n",
                   (int)(at - GOOD_HEAD), GOOD_HEAD);
    CHECK_OK(parse_str(v2, &h, &err), &err);
    CHECK_INT(h.counter, 9007199254740991ll);
}

TEST(audit_head_parse_rejects_each_field) {
    sb_error err = {0};
    struct {
        const char *from, *to, *needle;
        int code;
    } cases[] = {
        {"\"format\":\"sealbox-audit-head\"", "\"format\":\"other\"", "'format'", SB_E_MALFORMED},
        {"\"version\":1", "\"version\":3", "version 3", SB_E_UNSUPPORTED},
        {"\"version\":1", "\"version\":2", "'counter'", SB_E_MALFORMED},
        {"\"version\":1}", "\"version\":1,\"counter\":5}", "version 1", SB_E_MALFORMED},
        {"\"version\":1}", "\"version\":2,\"counter\":0}", "'counter' is 0", SB_E_MALFORMED},
        {"\"version\":1}", "\"version\":2,\"counter\":-3}", "'counter'", SB_E_MALFORMED},
        {"\"version\":1}", "\"version\":2,\"counter\":\"7\"}", "'counter'", SB_E_MALFORMED},
        {"\"version\":1", "\"version\":\"1\"", "'version'", SB_E_MALFORMED},
        {"\"seq\":42", "\"seq\":0", "'seq'", SB_E_MALFORMED},
        {"\"seq\":42", "\"seq\":-1", "'seq'", SB_E_MALFORMED},
        {"\"seq\":42", "\"seq\":9007199254740992", "'seq'", SB_E_MALFORMED},
        {"\"seq\":42", "\"seq\":4.2", "'seq'", SB_E_MALFORMED},
        {"\"ts\":1700000000000", "\"ts\":null", "'ts'", SB_E_MALFORMED},
        {"\"hash\":\"00", "\"hash\":\"0", "'hash'", SB_E_MALFORMED},
        {"\"hash\":\"00", "\"hash\":\"0G", "'hash'", SB_E_MALFORMED},
        {"\"hash\":\"00", "\"hash\":\"0A", "'hash'", SB_E_MALFORMED},
        {"\"kid\":\"abc_-9\"", "\"kid\":\"\"", "'kid'", SB_E_MALFORMED},
        {"\"kid\":\"abc_-9\"", "\"kid\":\"a/b\"", "'kid'", SB_E_MALFORMED},
        {"\"sig\":\"AAAA", "\"sig\":\"AAA", "'sig'", SB_E_MALFORMED},
        {"\"sig\":\"AAAA", "\"sig\":\"A+AA", "'sig'", SB_E_MALFORMED},
        {"\"version\":1}", "\"version\":1,\"extra\":0}", "'extra'", SB_E_MALFORMED},
        {"\"version\":1}", "\"version\":1,\"seq\":43}", "duplicate", SB_E_MALFORMED},
        {"{\"format\"", "[{\"format\"", "JSON", SB_E_MALFORMED},
    };
    for (size_t i = 0; i < SB_ARRAY_LEN(cases); i++) {
        memset(&err, 0, sizeof(err));
        int r = parse_edit(cases[i].from, cases[i].to, &err);
        CHECK_MSG(r == cases[i].code, "case %zu: %d (%s)", i, r, err.msg);
        CHECK_CONTAINS(err.msg, cases[i].needle);
    }
    /* Missing members, one at a time. */
    const char *members[] = {"format", "version", "seq", "ts", "hash", "kid", "sig"};
    for (size_t i = 0; i < SB_ARRAY_LEN(members); i++) {
        json_t *o = json_loads(GOOD_HEAD, 0, NULL);
        CHECK(o != NULL);
        (void)json_object_del(o, members[i]);
        char *s = json_dumps(o, JSON_COMPACT);
        json_decref(o);
        sb_audit_head h;
        CHECK_INT(parse_str(s, &h, &err), SB_E_MALFORMED);
        CHECK_CONTAINS(err.msg, members[i]);
        free(s);
    }
    /* Truncated at every length. */
    size_t n = strlen(GOOD_HEAD) - 1;
    for (size_t k = 0; k < n; k++) {
        sb_audit_head h;
        CHECK(sb_audit_head_parse((const uint8_t *)GOOD_HEAD, k, &h, &err) < 0);
    }
    /* Oversized. */
    uint8_t *big = calloc(1, SB_AUDIT_HEAD_FILE_MAX + 1);
    memset(big, ' ', SB_AUDIT_HEAD_FILE_MAX + 1);
    sb_audit_head h;
    CHECK_INT(sb_audit_head_parse(big, SB_AUDIT_HEAD_FILE_MAX + 1, &h, &err), SB_E_LIMIT);
    free(big);
}

/* ---- tampering, one test per kind ------------------------------------------------------------ */

TEST(audit_detects_an_edited_record) {
    struct fx f;
    fx_ten(&f, "edit");
    tamper(f.db, "UPDATE audit_log SET record = replace(record, 'deny', 'allow') WHERE seq = 7");
    expect_finding(&f, SB_AUDIT_EDITED, 7, "does not match its hash");
    sb_audit_key_free(f.key);
}

TEST(audit_detects_an_edit_whose_hash_was_recomputed) {
    struct fx f;
    fx_ten(&f, "edit_rehash");
    /* The attacker fixes row 6's own hash but not the links after it. */
    tamper(f.db,
           "UPDATE audit_log SET record = replace(record, '\"n\":5', '\"n\":55') WHERE seq = 6");
    sqlite3 *h = NULL;
    CHECK_INT(sqlite3_open(f.db, &h), SQLITE_OK);
    sqlite3_stmt *q = NULL;
    CHECK_INT(
        sqlite3_prepare_v2(h, "SELECT prev, record FROM audit_log WHERE seq = 6", -1, &q, NULL),
        SQLITE_OK);
    CHECK_INT(sqlite3_step(q), SQLITE_ROW);
    uint8_t hash[32];
    sb_error err = {0};
    CHECK_OK(sb_audit_row_hash(sqlite3_column_blob(q, 0), (const char *)sqlite3_column_text(q, 1),
                               (size_t)sqlite3_column_bytes(q, 1), 6, hash, &err),
             &err);
    sqlite3_finalize(q);
    sqlite3_close(h);
    char sql[200], hex[65];
    sb_hex_encode(hash, 32, hex);
    (void)snprintf(sql, sizeof(sql), "UPDATE audit_log SET hash = x'%s' WHERE seq = 6", hex);
    tamper(f.db, sql);
    expect_finding(&f, SB_AUDIT_EDITED, 6, "no longer links");
    sb_audit_key_free(f.key);
}

TEST(audit_detects_a_deleted_row) {
    struct fx f;
    fx_ten(&f, "delete");
    tamper(f.db, "DELETE FROM audit_log WHERE seq = 5");
    expect_finding(&f, SB_AUDIT_DELETED, 5, "rows 5-5 are missing");
    sb_audit_key_free(f.key);
}

TEST(audit_detects_a_deletion_hidden_by_renumbering) {
    struct fx f;
    fx_ten(&f, "delete_renumber");
    tamper(f.db, "DELETE FROM audit_log WHERE seq IN (5, 6);"
                 "UPDATE audit_log SET seq = -(seq - 2) WHERE seq > 6;"
                 "UPDATE audit_log SET seq = -seq WHERE seq < 0;");
    expect_finding(&f, SB_AUDIT_DELETED, 5, "rows 5-6 were deleted");
    sb_audit_key_free(f.key);
}

TEST(audit_detects_reordered_rows) {
    struct fx f;
    fx_ten(&f, "reorder");
    tamper(f.db, "UPDATE audit_log SET seq = -seq WHERE seq IN (3, 4);"
                 "UPDATE audit_log SET seq = 7 + seq WHERE seq < 0;");
    expect_finding(&f, SB_AUDIT_REORDERED, 3, "written as seq 4");
    sb_audit_key_free(f.key);
}

TEST(audit_detects_reordered_records) {
    struct fx f;
    fx_ten(&f, "reorder_records");
    tamper(f.db, "CREATE TEMP TABLE t AS SELECT seq, record FROM audit_log WHERE seq IN (2, 9);"
                 "UPDATE audit_log SET record = (SELECT record FROM t WHERE t.seq = 11 - "
                 "audit_log.seq) WHERE seq IN (2, 9);");
    expect_finding(&f, SB_AUDIT_REORDERED, 2, "record written as seq 9");
    sb_audit_key_free(f.key);
}

TEST(audit_detects_a_rewrite_by_the_signed_checkpoint) {
    struct fx f;
    fx_ten(&f, "rewrite");
    tamper(f.db, "UPDATE audit_log SET record = replace(record, 'deny', 'allow') WHERE seq = 4");
    rechain(f.db);
    /* The chain itself holds; the checkpoint at 4 (signed) disagrees. */
    expect_finding(&f, SB_AUDIT_REWRITTEN, 1, "rows 1-4 were rewritten");
    sb_audit_key_free(f.key);
}

TEST(audit_detects_a_rewrite_by_the_head_file) {
    struct fx f;
    fx_ten(&f, "rewrite_head");
    /* The attacker also removes every checkpoint from the database; the exported head remains. */
    tamper(f.db, "UPDATE audit_log SET record = replace(record, 'deny', 'allow') WHERE seq = 7;"
                 "DELETE FROM audit_checkpoints;");
    rechain(f.db);
    expect_finding(&f, SB_AUDIT_REWRITTEN, 1, "the head file signed a different hash at seq 8");
    /* Without the head file too, verification says it cannot rule a rewrite out. */
    CHECK_INT(unlink(f.head), 0);
    expect_finding(&f, SB_AUDIT_HEAD_MISSING, 1, "is missing");
    sb_audit_key_free(f.key);
}

TEST(audit_detects_a_truncated_tail_by_the_head_file) {
    struct fx f;
    fx_ten(&f, "truncate");
    /* Cut rows 6-10 and the checkpoint at 8: only the exported head (seq 8) is ahead. */
    tamper(f.db,
           "DELETE FROM audit_log WHERE seq > 5; DELETE FROM audit_checkpoints WHERE seq > 5");
    expect_finding(&f, SB_AUDIT_TRUNCATED, 6, "rows 6-8 were cut off");
    /* And the daemon refuses to extend such a log. */
    sb_error err = {0};
    CHECK_OK(sb_store_open(f.db, &f.st, &err), &err);
    sb_audit_cfg cfg = {.signer = &f.sg, .head_file = f.head};
    CHECK_INT(sb_audit_open(f.st, &cfg, &f.a, &err), SB_E_POLICY);
    CHECK_CONTAINS(err.msg, "truncated");
    sb_store_close(f.st);
    sb_audit_key_free(f.key);
}

TEST(audit_detects_a_truncated_tail_by_a_checkpoint) {
    struct fx f;
    fx_ten(&f, "truncate_ckpt");
    tamper(f.db, "DELETE FROM audit_log WHERE seq > 6");
    CHECK_INT(unlink(f.head), 0);
    sb_audit_report rep;
    sb_error err = {0};
    sb_store *st = NULL;
    CHECK_OK(sb_store_open(f.db, &st, &err), &err);
    CHECK_INT(sb_audit_verify(st, sb_audit_key_public(f.key), NULL, &rep, &err), SB_E_SIGNATURE);
    CHECK_INT(rep.finding, SB_AUDIT_TRUNCATED);
    CHECK_INT(rep.first_bad_seq, 7);
    CHECK_CONTAINS(err.msg, "rows 7-8 were cut off");
    sb_store_close(st);
    sb_audit_key_free(f.key);
}

TEST(audit_detects_a_forged_checkpoint) {
    struct fx f;
    fx_ten(&f, "forge");
    /* A rewrite that also edits the checkpoint's hash: its signature no longer holds. */
    tamper(f.db, "UPDATE audit_log SET record = replace(record, 'deny', 'allow') WHERE seq = 1");
    rechain(f.db);
    tamper(f.db, "UPDATE audit_checkpoints SET hash = (SELECT hash FROM audit_log WHERE seq = 4)"
                 " WHERE seq = 4");
    expect_finding(&f, SB_AUDIT_FORGED, 4, "does not hold");
    sb_audit_key_free(f.key);
}

TEST(audit_detects_a_head_file_from_another_key) {
    struct fx f;
    fx_ten(&f, "otherkey");
    /* The attacker signs a head with a key of their own. */
    char dir[600];
    (void)snprintf(dir, sizeof(dir), "%s/evil", f.dir);
    CHECK_INT(mkdir(dir, 0700), 0);
    sb_error err = {0};
    sb_audit_key *evil = NULL;
    CHECK_OK(sb_audit_key_load(dir, &evil, &err), &err);
    sb_audit_signer es;
    sb_audit_key_signer(evil, &es);
    CHECK_OK(sb_store_open(f.db, &f.st, &err), &err);
    tamper(f.db, "DELETE FROM audit_checkpoints");
    CHECK_INT(unlink(f.head), 0);
    sb_audit_cfg cfg = {.signer = &es, .head_file = f.head};
    CHECK_OK(sb_audit_open(f.st, &cfg, &f.a, &err), &err);
    CHECK_OK(sb_audit_checkpoint(f.a, &err), &err);
    fx_close(&f);
    expect_finding(&f, SB_AUDIT_FORGED, 10, "not by the given key");
    sb_audit_key_free(evil);
    sb_audit_key_free(f.key);
}

TEST(audit_checkpoint_refuses_to_sign_a_damaged_chain) {
    struct fx f;
    fx_open(&f, "nosign", 100);
    fx_fill(&f, 5);
    sb_audit_close(f.a);
    sb_store_close(f.st);
    tamper(f.db, "UPDATE audit_log SET record = '{\"forged\":true}' WHERE seq = 2");
    sb_error err = {0};
    CHECK_OK(sb_store_open(f.db, &f.st, &err), &err);
    fx_open_audit(&f, 100);
    CHECK_INT(sb_audit_checkpoint(f.a, &err), SB_E_POLICY);
    CHECK_CONTAINS(err.msg, "seq 2");
    struct stat st;
    CHECK(stat(f.head, &st) < 0);
    fx_free(&f);
}

/* ---- the JSONL export read back ------------------------------------------------------------- */

/* The export of f's log as one buffer (what `sealbox audit export --jsonl` prints). */
static char *export_of(const char *db, size_t *len) {
    sb_store *st = NULL;
    sb_error err = {0};
    CHECK_OK(sb_store_open(db, &st, &err), &err);
    sb_writer w;
    sb_writer_init(&w, 1u << 24);
    sb_audit_row *v = NULL;
    size_t n = 0;
    CHECK_OK(sb_store_audit_list(st, 0, SB_STORE_LIST_MAX, &v, &n, &err), &err);
    for (size_t i = 0; i < n; i++) {
        char *l = sb_audit_line_format(&v[i]);
        CHECK(l != NULL);
        if (l) (void)sb_writer_str(&w, l);
        free(l);
    }
    sb_audit_rows_free(v, n);
    sb_store_close(st);
    return (char *)sb_writer_steal(&w, len);
}

/* Imports text into a fresh scratch store and verifies it against f's key and head file. */
static int verify_text(struct fx *f, const char *name, const char *text, sb_audit_report *rep,
                       sb_error *err) {
    char db[700];
    (void)snprintf(db, sizeof(db), "%s/%s.db", f->dir, name);
    sb_store *st = NULL;
    sb_error e = {0};
    CHECK_OK(sb_store_open(db, &st, &e), &e);
    uint64_t rows = 0;
    int r = sb_audit_import_jsonl(st, (const uint8_t *)text, strlen(text), &rows, err);
    if (r == 0) r = sb_audit_verify(st, sb_audit_key_public(f->key), f->head, rep, err);
    sb_store_close(st);
    return r;
}

TEST(audit_export_reads_back_and_verifies_offline) {
    struct fx f;
    fx_ten(&f, "export");
    size_t n = 0;
    char *text = export_of(f.db, &n);
    sb_audit_report rep;
    sb_error err = {0};
    CHECK_OK(verify_text(&f, "copy", text, &rep, &err), &err);
    CHECK_INT(rep.records, 10);
    CHECK_INT(rep.signed_seq, 8); /* by the head file: an export carries no checkpoints */
    /* An edited record in the export. */
    char *ed = strdup(text);
    char *deny = strstr(ed, "\"deny\"");
    CHECK(deny != NULL);
    if (deny) memcpy(deny, "\"DENY\"", 6);
    CHECK_INT(verify_text(&f, "edited", ed, &rep, &err), SB_E_SIGNATURE);
    CHECK_INT(rep.finding, SB_AUDIT_EDITED);
    CHECK_INT(rep.first_bad_seq, 1);
    free(ed);
    /* A line removed from the middle: the gap. */
    char *del = strdup(text);
    char *l3 = strstr(del, "{\"seq\":3,"), *l4 = strstr(del, "{\"seq\":4,");
    CHECK(l3 && l4);
    if (l3 && l4) memmove(l3, l4, strlen(l4) + 1);
    CHECK_INT(verify_text(&f, "deleted", del, &rep, &err), SB_E_SIGNATURE);
    CHECK_INT(rep.finding, SB_AUDIT_DELETED);
    CHECK_INT(rep.first_bad_seq, 3);
    free(del);
    /* The tail cut off below the head file. */
    char *cut = strdup(text);
    char *l7 = strstr(cut, "{\"seq\":7,");
    if (l7) *l7 = '\0';
    CHECK_INT(verify_text(&f, "cut", cut, &rep, &err), SB_E_SIGNATURE);
    CHECK_INT(rep.finding, SB_AUDIT_TRUNCATED);
    CHECK_INT(rep.first_bad_seq, 7);
    free(cut);
    /* A line twice is refused on import, naming the line. */
    char *twice = malloc(2 * n + 1);
    (void)snprintf(twice, 2 * n + 1, "%s%s", text, text);
    CHECK_INT(verify_text(&f, "twice", twice, &rep, &err), SB_E_MALFORMED);
    CHECK_CONTAINS(err.msg, "line 11");
    CHECK_CONTAINS(err.msg, "seq 1 appears twice");
    free(twice);
    free(text);
    sb_audit_key_free(f.key);
}

TEST(audit_line_parse_rejects_each_field) {
    static const char GOOD[] = "{\"seq\":3,\"ts\":5,\"prev\":\"" HEX64 "\",\"hash\":\"" HEX64
                               "\",\"record\":{\"b\":1,\"a\":2}}";
    sb_audit_row row;
    sb_error err = {0};
    CHECK_OK(sb_audit_line_parse((const uint8_t *)GOOD, strlen(GOOD), &row, &err), &err);
    CHECK_STR(row.record, "{\"a\":2,\"b\":1}"); /* canonical again */
    CHECK_INT(row.seq, 3);
    free(row.record);
    struct {
        const char *from, *to, *needle;
    } cases[] = {
        {"\"seq\":3", "\"seq\":0", "'seq'"},
        {"\"seq\":3", "\"seq\":\"3\"", "'seq'"},
        {"\"ts\":5", "\"ts\":-5", "'ts'"},
        {"\"prev\":\"00", "\"prev\":\"0", "'prev'"},
        {"\"hash\":\"00", "\"hash\":\"zz", "'hash'"},
        {"\"record\":{\"b\":1,\"a\":2}", "\"record\":[1]", "'record'"},
        {"\"record\":{\"b\":1,\"a\":2}", "\"record\":{},\"record_damaged\":\"x\"", "exactly one"},
        {"\"record\":{\"b\":1,\"a\":2}", "\"record_damaged\":5", "'record_damaged'"},
        {"\"seq\":3", "\"seq\":3,\"x\":1", "'x'"},
        {"\"seq\":3", "\"seq\":3,\"seq\":4", "duplicate"},
    };
    for (size_t i = 0; i < SB_ARRAY_LEN(cases); i++) {
        char buf[1024];
        const char *at = strstr(GOOD, cases[i].from);
        CHECK(at != NULL);
        if (!at) continue;
        (void)snprintf(buf, sizeof(buf), "%.*s%s%s", (int)(at - GOOD), GOOD, cases[i].to,
                       at + strlen(cases[i].from));
        int r = sb_audit_line_parse((const uint8_t *)buf, strlen(buf), &row, &err);
        CHECK_MSG(r == SB_E_MALFORMED, "case %zu: %d (%s)", i, r, err.msg);
        CHECK_CONTAINS(err.msg, cases[i].needle);
    }
    for (size_t k = 0; k < strlen(GOOD); k++)
        CHECK(sb_audit_line_parse((const uint8_t *)GOOD, k, &row, &err) < 0);
}

static int count_line(void *arg, uint64_t line, const uint8_t *p, size_t n, sb_error *err) {
    (void)p;
    (void)err;
    uint64_t *c = arg;
    *c = *c * 10 + line;
    return n > 0 ? 0 : SB_E_INTERNAL;
}

TEST(audit_jsonl_lines_framing) {
    uint64_t c = 0;
    sb_error err = {0};
    const char *t = "a\n\nb\nc"; /* a blank line, no final newline */
    CHECK_OK(sb_audit_jsonl_each((const uint8_t *)t, strlen(t), count_line, &c, &err), &err);
    CHECK_INT(c, 134);
    char *big = malloc(SB_AUDIT_LINE_MAX + 2);
    memset(big, 'x', SB_AUDIT_LINE_MAX + 1);
    big[SB_AUDIT_LINE_MAX + 1] = '\n';
    CHECK_INT(
        sb_audit_jsonl_each((const uint8_t *)big, SB_AUDIT_LINE_MAX + 2, count_line, &c, &err),
        SB_E_LIMIT);
    CHECK_CONTAINS(err.msg, "line 1");
    free(big);
}

TEST(audit_verify_reads_one_snapshot_without_the_write_lock) {
    struct fx f;
    fx_open(&f, "snapshot", 4);
    fx_fill(&f, 6);
    /* Another connection holds the write lock (a daemon mid-append): verify still reads. */
    sb_store *other = NULL;
    sb_error err = {0};
    CHECK_OK(sb_store_open(f.db, &other, &err), &err);
    CHECK_OK(sb_store_begin(other, &err), &err);
    sb_audit_report rep;
    CHECK_OK(sb_audit_verify(f.st, sb_audit_key_public(f.key), f.head, &rep, &err), &err);
    CHECK_INT(rep.records, 6);
    CHECK(!sb_store_in_transaction(f.st));
    sb_store_rollback(other);
    sb_store_close(other);
    /* And refuses to run inside the caller's transaction (it would not be one snapshot). */
    CHECK_OK(sb_store_begin(f.st, &err), &err);
    CHECK_INT(sb_audit_verify(f.st, sb_audit_key_public(f.key), f.head, &rep, &err), SB_E_USAGE);
    sb_store_rollback(f.st);
    fx_free(&f);
}

TEST(audit_json_digest_ignores_key_order_and_spacing) {
    json_t *a = json_loads("{\"path\": \"/data/x\", \"n\": 1}", 0, NULL);
    json_t *b = json_loads("{\"n\":1,\"path\":\"/data/x\"}", 0, NULL);
    json_t *c = json_loads("{\"n\":2,\"path\":\"/data/x\"}", 0, NULL);
    char da[SB_AUDIT_DIGEST_LEN + 1], db[SB_AUDIT_DIGEST_LEN + 1], dc[SB_AUDIT_DIGEST_LEN + 1];
    sb_error err = {0};
    CHECK_OK(sb_audit_json_digest(a, da, &err), &err);
    CHECK_OK(sb_audit_json_digest(b, db, &err), &err);
    CHECK_OK(sb_audit_json_digest(c, dc, &err), &err);
    CHECK_STR(da, db);
    CHECK(strcmp(da, dc) != 0);
    /* sha256 of the canonical text {"n":1,"path":"/data/x"} */
    uint8_t h[32];
    const char *canon = "{\"n\":1,\"path\":\"/data/x\"}";
    CHECK_OK(sb_hash(SB_HASH_SHA256, canon, strlen(canon), h, &err), &err);
    char hex[65];
    sb_hex_encode(h, 32, hex);
    CHECK(strncmp(da, "sha256:", 7) == 0);
    CHECK_STR(da + 7, hex);
    json_decref(a);
    json_decref(b);
    json_decref(c);
}
