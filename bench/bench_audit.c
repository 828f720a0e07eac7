/* bench_audit: audit appends per second — without checkpoints, with signed checkpoints every
 * 256 and every 16 records, and batched in the caller's transaction — as ratios to a plain
 * SQLite INSERT of the same bytes with the same settings (WAL, synchronous=FULL), measured in
 * the same run on the same file system. */
#include <ftw.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "gateway/gateway.h"

#define MIN_NS 1000000000ull /* each measurement runs at least 1 s */
#define BATCH 100

static int rm_one(const char *p, const struct stat *st, int flag, struct FTW *f) {
    (void)st;
    (void)flag;
    (void)f;
    return remove(p);
}

static json_t *typical_record(void) {
    return json_pack("{s:s, s:s, s:s, s:s, s:s, s:{s:s}, s:s, s:s, s:s, s:b, s:i, s:i, s:i}",
                     "agent", "claude-desktop", "server", "fs", "method", "tools/call", "tool",
                     "read_file", "args_digest",
                     "sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
                     "args", "path", "/data/report.txt", "decision", "allow", "reason",
                     "agents.claude-desktop.servers.fs.tools.read_file", "status", "ok", "is_error",
                     0, "req_bytes", 123, "resp_bytes", 4567, "latency_us", 850);
}

struct anchor {
    sqlite3 *db;
    sqlite3_stmt *ins;
    const char *rec;
    int64_t seq;
};

static int anchor_open(const char *path, struct anchor *a) {
    if (sqlite3_open(path, &a->db) != SQLITE_OK) return -1;
    if (sqlite3_exec(a->db,
                     "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL;"
                     "CREATE TABLE t (seq INTEGER PRIMARY KEY, ts INTEGER NOT NULL,"
                     " record TEXT NOT NULL, prev BLOB NOT NULL, hash BLOB NOT NULL) STRICT",
                     NULL, NULL, NULL) != SQLITE_OK)
        return -1;
    return sqlite3_prepare_v2(a->db, "INSERT INTO t VALUES (?1, ?2, ?3, ?4, ?5)", -1, &a->ins,
                              NULL) == SQLITE_OK
               ? 0
               : -1;
}

static int anchor_insert(struct anchor *a) {
    static const uint8_t h[32] = {1};
    sqlite3_bind_int64(a->ins, 1, ++a->seq);
    sqlite3_bind_int64(a->ins, 2, sb_time_now() * 1000);
    sqlite3_bind_text(a->ins, 3, a->rec, -1, SQLITE_STATIC);
    sqlite3_bind_blob(a->ins, 4, h, 32, SQLITE_STATIC);
    sqlite3_bind_blob(a->ins, 5, h, 32, SQLITE_STATIC);
    int rc = sqlite3_step(a->ins);
    sqlite3_reset(a->ins);
    return rc == SQLITE_DONE ? 0 : -1;
}

static double anchor_rate(struct anchor *a, bool batched) {
    uint64_t t0 = sb_mono_ns(), n = 0, dt;
    do {
        if (batched) (void)sqlite3_exec(a->db, "BEGIN IMMEDIATE", NULL, NULL, NULL);
        for (int i = 0; i < (batched ? BATCH : 1); i++, n++)
            if (anchor_insert(a) < 0) return -1;
        if (batched) (void)sqlite3_exec(a->db, "COMMIT", NULL, NULL, NULL);
        dt = sb_mono_ns() - t0;
    } while (dt < MIN_NS);
    return (double)n * 1e9 / (double)dt;
}

static double audit_rate(sb_store *st, sb_audit *a, const json_t *rec, bool batched) {
    uint64_t t0 = sb_mono_ns(), n = 0, dt;
    sb_error err = {0};
    do {
        if (batched && sb_store_begin(st, &err) < 0) return -1;
        for (int i = 0; i < (batched ? BATCH : 1); i++, n++)
            if (sb_audit_append(a, rec, NULL, &err) < 0) {
                fprintf(stderr, "bench_audit: %s\n", err.msg);
                return -1;
            }
        if (batched && sb_store_commit(st, &err) < 0) return -1;
        if (batched && sb_audit_unsigned(a) >= 256 && sb_audit_checkpoint(a, &err) < 0) return -1;
        dt = sb_mono_ns() - t0;
    } while (dt < MIN_NS);
    return (double)n * 1e9 / (double)dt;
}

static double run_audit(const char *dir, const char *name, const sb_audit_signer *sg,
                        unsigned every, const json_t *rec, bool batched) {
    char path[4200], head[4200];
    (void)snprintf(path, sizeof(path), "%s/%s.db", dir, name);
    (void)snprintf(head, sizeof(head), "%s/%s.head", dir, name);
    sb_error err = {0};
    sb_store *st = NULL;
    sb_audit *a = NULL;
    if (sb_store_open(path, &st, &err) < 0) {
        fprintf(stderr, "bench_audit: %s\n", err.msg);
        return -1;
    }
    sb_audit_cfg cfg = {.signer = sg, .head_file = sg ? head : NULL, .checkpoint_every = every};
    double r = -1;
    if (sb_audit_open(st, &cfg, &a, &err) == 0) r = audit_rate(st, a, rec, batched);
    sb_audit_close(a);
    sb_store_close(st);
    return r;
}

/* Rows per second a full verification walks (repeated until MIN_NS), on the db of `name`. */
static double verify_rate(const char *dir, const char *name, const sb_pubkey *key) {
    char path[4200], head[4200];
    (void)snprintf(path, sizeof(path), "%s/%s.db", dir, name);
    (void)snprintf(head, sizeof(head), "%s/%s.head", dir, name);
    sb_store *st = NULL;
    sb_error err = {0};
    if (sb_store_open(path, &st, &err) < 0) return -1;
    uint64_t t0 = sb_mono_ns(), n = 0, dt;
    do {
        sb_audit_report rep;
        if (sb_audit_verify(st, key, head, &rep, &err) < 0) {
            fprintf(stderr, "bench_audit: verify: %s\n", err.msg);
            sb_store_close(st);
            return -1;
        }
        n += rep.records;
        dt = sb_mono_ns() - t0;
    } while (dt < MIN_NS);
    sb_store_close(st);
    return (double)n * 1e9 / (double)dt;
}

/* The anchor for verification: reading the same rows with a plain SELECT. */
static double scan_rate(struct anchor *a) {
    sqlite3_stmt *q = NULL;
    if (sqlite3_prepare_v2(a->db, "SELECT seq, ts, record, prev, hash FROM t ORDER BY seq", -1, &q,
                           NULL) != SQLITE_OK)
        return -1;
    uint64_t t0 = sb_mono_ns(), n = 0, dt;
    volatile size_t sink = 0;
    do {
        while (sqlite3_step(q) == SQLITE_ROW) {
            sink += (size_t)sqlite3_column_bytes(q, 2);
            n++;
        }
        sqlite3_reset(q);
        dt = sb_mono_ns() - t0;
    } while (dt < MIN_NS);
    sqlite3_finalize(q);
    return (double)n * 1e9 / (double)dt;
}

int main(void) {
    const char *tmp = getenv("TMPDIR");
    char dir[4096];
    (void)snprintf(dir, sizeof(dir), "%s/sealbox-bench-audit.XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return 1;
    }
    json_t *rec = typical_record();
    char *canon = NULL;
    size_t len = 0;
    sb_error err = {0};
    sb_audit_key *key = NULL;
    if (!rec || sb_json_canonical(rec, &canon, &len, &err) < 0 ||
        sb_audit_key_load(dir, &key, &err) < 0) {
        fprintf(stderr, "bench_audit: %s\n", err.msg);
        return 1;
    }
    sb_audit_signer sg;
    sb_audit_key_signer(key, &sg);
    char apath[4200];
    (void)snprintf(apath, sizeof(apath), "%s/anchor.db", dir);
    struct anchor an = {.rec = canon};
    if (anchor_open(apath, &an) < 0) {
        fprintf(stderr, "bench_audit: anchor: %s\n", sqlite3_errmsg(an.db));
        return 1;
    }
    printf("audit appends of a %zu-byte record under %s (WAL, synchronous=FULL)\n", len, dir);
    double anchor1 = anchor_rate(&an, false);
    double plain = run_audit(dir, "plain", NULL, 0, rec, false);
    double ck256 = run_audit(dir, "ck256", &sg, 256, rec, false);
    double ck16 = run_audit(dir, "ck16", &sg, 16, rec, false);
    double anchorb = anchor_rate(&an, true);
    double batched = run_audit(dir, "batch", &sg, 256, rec, true);
    double scan = scan_rate(&an);
    double walk = verify_rate(dir, "batch", sb_audit_key_public(key));
    if (anchor1 <= 0 || anchorb <= 0 || plain <= 0 || ck256 <= 0 || ck16 <= 0 || batched <= 0 ||
        scan <= 0 || walk <= 0) {
        fprintf(stderr, "bench_audit: a measurement failed\n");
        return 1;
    }
    printf("  anchor: plain INSERT, one per transaction  %10.0f /s  1.00\n", anchor1);
    printf("  audit append, no checkpoints               %10.0f /s  %.2f x anchor\n", plain,
           plain / anchor1);
    printf("  audit append, signed checkpoint every 256  %10.0f /s  %.2f x anchor\n", ck256,
           ck256 / anchor1);
    printf("  audit append, signed checkpoint every 16   %10.0f /s  %.2f x anchor\n", ck16,
           ck16 / anchor1);
    printf("  anchor: plain INSERT, %d per transaction  %10.0f /s  1.00\n", BATCH, anchorb);
    printf("  audit append, %d per transaction (+ckpt)  %10.0f /s  %.2f x batched anchor\n", BATCH,
           batched, batched / anchorb);
    printf("  anchor: plain SELECT of the rows            %10.0f rows/s  1.00\n", scan);
    printf("  sb_audit_verify (hash, link, signatures)   %10.0f rows/s  %.2f x scan\n", walk,
           walk / scan);
    sqlite3_finalize(an.ins);
    sqlite3_close(an.db);
    free(canon);
    json_decref(rec);
    sb_audit_key_free(key);
    return nftw(dir, rm_one, 8, FTW_DEPTH | FTW_PHYS) == 0 ? 0 : 1;
}
