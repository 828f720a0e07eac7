/* test_audit_tpm: the audit log's signed head anchored in a real TPM NV counter (swtpm) — the
 * counter itself (defined on first use, monotonic, a squatting ordinary index refused), a log
 * rolled back together with its head file caught by verification and refused by open, a crash
 * between the signed head and the increment pushed forward at the next open, and sealboxd
 * --audit-tpm with `sealbox audit verify --tpm` end to end. */
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "api/api.h"
#include "attester/attester.h"
#include "gateway/gateway.h"
#include "harness.h"
#include "store/store.h"
#include "swtpm_fixture.h"

#define IDX_LIB 0x01380010u    /* the library tests' counter */
#define IDX_SQUAT 0x01380011u  /* an ordinary index where a counter is expected */
#define IDX_DAEMON 0x01380012u /* the daemon test's counter */

static struct swtpm tpmd;
static bool tpm_up, tpm_tried;

static bool have_tpm(void) {
    if (!tpm_tried) {
        tpm_tried = true;
        tpm_up = swtpm_start(&tpmd, sb_test_tmpdir());
    }
    if (!tpm_up) sb_test_skip(true, "no swtpm: %s", tpmd.why);
    return tpm_up;
}

static sb_tpm *open_tpm(void) {
    struct sb_tpm_config tc = {.tcti = tpmd.tcti};
    sb_tpm *t = NULL;
    sb_error err = {0};
    CHECK_OK(sb_tpm_open(&tc, &t, &err), &err);
    return t;
}

/* ---- the counter -------------------------------------------------------------------------- */

TEST(tpm_nv_index_parse_bounds) {
    uint32_t i = 0;
    sb_error err = {0};
    CHECK_OK(sb_tpm_nv_index_parse("0x01380001", &i, &err), &err);
    CHECK_INT(i, SB_TPM_NV_COUNTER_DEFAULT);
    CHECK_OK(sb_tpm_nv_index_parse("0x013fffff", &i, &err), &err);
    CHECK_INT(sb_tpm_nv_index_parse("0x01400000", &i, &err), SB_E_USAGE); /* platform range */
    CHECK_CONTAINS(err.msg, "owner range");
    CHECK_INT(sb_tpm_nv_index_parse("0x01c00002", &i, &err), SB_E_USAGE); /* the EK cert */
    CHECK_INT(sb_tpm_nv_index_parse("0x00ffffff", &i, &err), SB_E_USAGE);
    CHECK_INT(sb_tpm_nv_index_parse("", &i, &err), SB_E_USAGE);
    CHECK_INT(sb_tpm_nv_index_parse("0x0138000g", &i, &err), SB_E_USAGE);
    CHECK_INT(sb_tpm_nv_index_parse("99999999999999999999999", &i, &err), SB_E_USAGE);
}

TEST(tpm_counter_is_defined_once_and_only_goes_up) {
    if (!have_tpm()) return;
    sb_tpm *t = open_tpm();
    if (!t) return;
    sb_error err = {0};
    uint64_t v0 = 0, v1 = 0, v2 = 0, again = 0;
    CHECK_INT(sb_tpm_counter_read(t, IDX_LIB, false, &v0, &err), SB_E_NOTFOUND);
    CHECK_CONTAINS(err.msg, "0x01380010");
    CHECK_OK(sb_tpm_counter_read(t, IDX_LIB, true, &v0, &err), &err);
    CHECK(v0 >= 1);
    CHECK_OK(sb_tpm_counter_read(t, IDX_LIB, false, &again, &err), &err);
    CHECK_INT(again, v0);
    CHECK_OK(sb_tpm_counter_increment(t, IDX_LIB, &v1, &err), &err);
    CHECK_INT(v1, v0 + 1);
    CHECK_OK(sb_tpm_counter_increment(t, IDX_LIB, &v2, &err), &err);
    CHECK_INT(v2, v0 + 2);
    sb_tpm_close(t);
    /* a new connection sees the same value */
    t = open_tpm();
    if (!t) return;
    CHECK_OK(sb_tpm_counter_read(t, IDX_LIB, true, &again, &err), &err);
    CHECK_INT(again, v2);
    sb_tpm_close(t);
}

static int run_tool(char *const argv[]) {
    pid_t p = fork();
    if (p < 0) return -1;
    if (p == 0) {
        int fd = open("/dev/null", O_WRONLY);
        if (fd >= 0) {
            (void)dup2(fd, 1);
            (void)dup2(fd, 2);
        }
        (void)setenv("TPM2TOOLS_TCTI", tpmd.tcti, 1);
        execvp(argv[0], argv);
        _exit(127);
    }
    int st = 0;
    if (waitpid(p, &st, 0) < 0 || !WIFEXITED(st)) return -1;
    return WEXITSTATUS(st);
}

TEST(tpm_counter_refuses_an_ordinary_index_in_its_place) {
    if (!have_tpm()) return;
    /* an ordinary 8-byte index anyone can write: it could be written back to an older value */
    char idx[16];
    (void)snprintf(idx, sizeof(idx), "0x%08x", IDX_SQUAT);
    char *def[] = {
        "tpm2_nvdefine", "-C", "o", "-s", "8", "-a", "authread|authwrite|no_da", idx, NULL};
    int rc = run_tool(def);
    if (rc == 127) {
        sb_test_skip(true, "tpm2_nvdefine (tpm2-tools, scripts/packages.txt) is not installed");
        return;
    }
    CHECK_INT(rc, 0);
    sb_tpm *t = open_tpm();
    if (!t) return;
    sb_error err = {0};
    uint64_t v = 0;
    CHECK_INT(sb_tpm_counter_read(t, IDX_SQUAT, true, &v, &err), SB_E_POLICY);
    CHECK_CONTAINS(err.msg, "is not a counter");
    CHECK_INT(sb_tpm_counter_increment(t, IDX_SQUAT, &v, &err), SB_E_POLICY);
    sb_tpm_close(t);
}

/* ---- the audit log over the counter --------------------------------------------------------- */

struct tcounter {
    uint32_t index;
    int fail_increments; /* > 0: the next increments fail (a crash before the increment) */
};

static int tc_op(struct tcounter *c, bool inc, uint64_t *v, sb_error *err) {
    if (inc && c->fail_increments > 0) {
        c->fail_increments--;
        BAIL(err, SB_E_IO, "test: the process died before the increment");
    }
    sb_tpm *t = open_tpm();
    if (!t) BAIL(err, SB_E_IO, "test: no TPM");
    int r = inc ? sb_tpm_counter_increment(t, c->index, v, err)
                : sb_tpm_counter_read(t, c->index, true, v, err);
    sb_tpm_close(t);
    return r;
}
static int tc_read(void *arg, uint64_t *v, sb_error *err) { return tc_op(arg, false, v, err); }
static int tc_inc(void *arg, uint64_t *v, sb_error *err) { return tc_op(arg, true, v, err); }

struct fx {
    char dir[512], db[600], head[600];
    sb_store *st;
    sb_audit_key *key;
    sb_audit_signer sg;
    struct tcounter tc;
    sb_audit_counter counter;
    sb_audit *a;
};

static int fx_open_audit(struct fx *f, sb_error *err) {
    sb_audit_cfg cfg = {
        .signer = &f->sg, .counter = &f->counter, .head_file = f->head, .checkpoint_every = 1000};
    if (!f->st) CHECK_OK(sb_store_open(f->db, &f->st, err), err);
    return sb_audit_open(f->st, &cfg, &f->a, err);
}

static void fx_close(struct fx *f) {
    sb_audit_close(f->a);
    f->a = NULL;
    sb_store_close(f->st);
    f->st = NULL;
}

static void fx_init(struct fx *f, const char *name, uint32_t index) {
    memset(f, 0, sizeof(*f));
    (void)snprintf(f->dir, sizeof(f->dir), "%s/%s", sb_test_tmpdir(), name);
    CHECK_INT(mkdir(f->dir, 0700), 0);
    (void)snprintf(f->db, sizeof(f->db), "%s/sealbox.db", f->dir);
    (void)snprintf(f->head, sizeof(f->head), "%s/%s", f->dir, SB_AUDIT_HEAD_FILE);
    sb_error err = {0};
    CHECK_OK(sb_audit_key_load(f->dir, &f->key, &err), &err);
    sb_audit_key_signer(f->key, &f->sg);
    f->tc.index = index;
    f->counter = (sb_audit_counter){.read = tc_read, .increment = tc_inc, .arg = &f->tc};
    (void)snprintf(f->counter.name, sizeof(f->counter.name), "TPM NV counter 0x%08x", index);
    CHECK_OK(fx_open_audit(f, &err), &err);
}

static void fx_fill(struct fx *f, int n) {
    for (int i = 0; i < n; i++) {
        json_t *r = json_pack("{s:s, s:i}", "kind", "test", "n", i);
        sb_error err = {0};
        CHECK_OK(sb_audit_append(f->a, r, NULL, &err), &err);
        json_decref(r);
    }
}

static uint64_t counter_now(uint32_t index) {
    sb_tpm *t = open_tpm();
    uint64_t v = 0;
    sb_error err = {0};
    if (t) CHECK_OK(sb_tpm_counter_read(t, index, false, &v, &err), &err);
    sb_tpm_close(t);
    return v;
}

/* sb_audit_verify, then the counter, as `sealbox audit verify --tpm` does. */
static int verify_with_counter(struct fx *f, sb_audit_report *rep, sb_error *err) {
    sb_store *st = NULL;
    sb_error e = {0};
    CHECK_OK(sb_store_open(f->db, &st, &e), &e);
    if (!st) return SB_E_IO;
    int r = sb_audit_verify(st, sb_audit_key_public(f->key), f->head, rep, err);
    sb_store_close(st);
    if (r == 0) r = sb_audit_verify_counter(rep, counter_now(f->tc.index), err);
    return r;
}

static void copy_file(const char *from, const char *to) {
    uint8_t *b = NULL;
    size_t n = 0;
    sb_error err = {0};
    CHECK_OK(sb_read_file(from, 64u << 20, &b, &n, &err), &err);
    CHECK_OK(sb_write_file_atomic(to, b, n, 0600, &err), &err);
    free(b);
}

TEST(audit_head_carries_the_counter_and_a_rollback_is_caught) {
    if (!have_tpm()) return;
    struct fx f;
    fx_init(&f, "rollback", SB_TPM_NV_COUNTER_DEFAULT);
    sb_error err = {0};
    fx_fill(&f, 5);
    CHECK_OK(sb_audit_checkpoint(f.a, &err), &err);
    uint64_t c1 = counter_now(f.tc.index);
    /* the head file is version 2 and names the counter the TPM now holds */
    uint8_t *hb = NULL;
    size_t hn = 0;
    CHECK_OK(sb_read_file(f.head, SB_AUDIT_HEAD_FILE_MAX, &hb, &hn, &err), &err);
    sb_audit_head h;
    CHECK_OK(sb_audit_head_parse(hb, hn, &h, &err), &err);
    free(hb);
    CHECK_INT(h.counter, c1);
    CHECK_INT(h.seq, 5);
    CHECK_OK(sb_audit_head_check(&h, sb_audit_key_public(f.key), &err), &err);
    sb_audit_report rep;
    CHECK_OK(verify_with_counter(&f, &rep, &err), &err);
    CHECK_INT(rep.signed_counter, c1);
    CHECK(rep.counter_checked);

    /* the attacker's copy of this state: database and head file */
    fx_close(&f);
    char old_db[700], old_head[700];
    (void)snprintf(old_db, sizeof(old_db), "%s.old", f.db);
    (void)snprintf(old_head, sizeof(old_head), "%s.old", f.head);
    copy_file(f.db, old_db);
    copy_file(f.head, old_head);

    /* the log goes on: the records the attacker wants gone */
    CHECK_OK(fx_open_audit(&f, &err), &err);
    fx_fill(&f, 7);
    CHECK_OK(sb_audit_checkpoint(f.a, &err), &err);
    CHECK_INT(counter_now(f.tc.index), c1 + 1);
    CHECK_OK(verify_with_counter(&f, &rep, &err), &err);
    fx_close(&f);

    /* put back the old database and head file: signatures and chain are all genuine */
    copy_file(old_db, f.db);
    copy_file(old_head, f.head);
    sb_store *st = NULL;
    CHECK_OK(sb_store_open(f.db, &st, &err), &err);
    CHECK_OK(sb_audit_verify(st, sb_audit_key_public(f.key), f.head, &rep, &err), &err);
    sb_store_close(st);
    /* ... only the counter tells */
    CHECK_INT(verify_with_counter(&f, &rep, &err), SB_E_SIGNATURE);
    CHECK_INT(rep.finding, SB_AUDIT_ROLLED_BACK);
    CHECK_STR(sb_audit_finding_name(rep.finding), "rolled-back");
    CHECK_INT(rep.first_bad_seq, 6);
    CHECK_CONTAINS(err.msg, "rolled-back");
    /* and the log is not extended */
    CHECK_INT(fx_open_audit(&f, &err), SB_E_POLICY);
    CHECK_CONTAINS(err.msg, "rolled back");
    fx_close(&f);
    sb_audit_key_free(f.key);
}

TEST(audit_crash_before_the_increment_is_pushed_forward) {
    if (!have_tpm()) return;
    struct fx f;
    fx_init(&f, "crash", IDX_LIB);
    sb_error err = {0};
    uint64_t before = counter_now(IDX_LIB);
    fx_fill(&f, 3);
    f.tc.fail_increments = 1;
    /* signed, stored and exported; the process "dies" before the increment */
    CHECK(sb_audit_checkpoint(f.a, &err) < 0);
    CHECK_CONTAINS(err.msg, "before the increment");
    CHECK_INT(counter_now(IDX_LIB), before);
    sb_audit_report rep;
    /* the signed head is ahead of the counter: nothing was rolled back */
    CHECK_OK(verify_with_counter(&f, &rep, &err), &err);
    CHECK_INT(rep.signed_counter, before + 1);
    fx_close(&f);
    /* the next open meets the counter with the head */
    CHECK_OK(fx_open_audit(&f, &err), &err);
    CHECK_INT(counter_now(IDX_LIB), before + 1);
    fx_fill(&f, 2);
    CHECK_OK(sb_audit_checkpoint(f.a, &err), &err);
    CHECK_INT(counter_now(IDX_LIB), before + 2);
    CHECK_OK(verify_with_counter(&f, &rep, &err), &err);
    CHECK_INT(rep.checkpoints, 2);
    fx_close(&f);
    /* a counter moved far ahead of the newest head by someone else: a rollback, refused */
    sb_tpm *t = open_tpm();
    uint64_t v = 0;
    if (t) CHECK_OK(sb_tpm_counter_increment(t, IDX_LIB, &v, &err), &err);
    sb_tpm_close(t);
    CHECK_INT(fx_open_audit(&f, &err), SB_E_POLICY);
    CHECK_CONTAINS(err.msg, "put back to an older state");
    fx_close(&f);
    sb_audit_key_free(f.key);
}

/* ---- sealboxd --audit-tpm and `sealbox audit verify --tpm` ---------------------------------- */

/* Starts sealboxd --kbs-only --audit-tpm, waits for its socket to answer, stops it (SIGTERM
 * checkpoints). */
static void daemon_round(const char *sbd, const char *dir, const char *idx, const char *log,
                         const char *out) {
    char sock[700];
    (void)snprintf(sock, sizeof(sock), "%s/sealboxd.sock", dir);
    pid_t d = fork();
    if (d == 0) {
        char *av[] = {(char *)sbd,        "--kbs-only", "--state-dir", (char *)dir,
                      "--log-file",       (char *)log,  "--audit-tpm", tpmd.tcti,
                      "--audit-nv-index", (char *)idx,  NULL};
        execv(sbd, av);
        _exit(127);
    }
    bool up = false;
    char *curl[] = {"/usr/bin/curl", "-sf", "--unix-socket", sock, "http://s/v1/health", NULL};
    for (int i = 0; i < 300 && !up; i++) {
        up = sb_test_run(curl, out, true) == 0;
        if (!up) (void)usleep(100000);
    }
    CHECK_MSG(up, "sealboxd --audit-tpm did not come up");
    if (d > 0) {
        (void)kill(d, SIGTERM);
        int st = 0;
        (void)waitpid(d, &st, 0);
        CHECK_MSG(WIFEXITED(st) && WEXITSTATUS(st) == 0, "sealboxd exit status 0x%x", st);
    }
}

TEST(daemon_audit_tpm_and_verify_cli) {
    if (!have_tpm()) return;
    const char *build = getenv("SEALBOX_BUILD_DIR");
    if (!build) {
        sb_test_skip(true, "SEALBOX_BUILD_DIR is not set (run through ctest)");
        return;
    }
    char bin[700], sbd[700], dir[600], out[700], log[700], idx[16], dbp[700], hp[700];
    (void)snprintf(bin, sizeof(bin), "%s/sealbox", build);
    (void)snprintf(sbd, sizeof(sbd), "%s/sealboxd", build);
    (void)snprintf(dir, sizeof(dir), "%s/daemon", sb_test_tmpdir());
    CHECK_INT(mkdir(dir, 0700), 0);
    (void)snprintf(out, sizeof(out), "%s/cli.out", sb_test_tmpdir());
    (void)snprintf(log, sizeof(log), "%s/daemon.log", sb_test_tmpdir());
    (void)snprintf(idx, sizeof(idx), "0x%08x", IDX_DAEMON);
    (void)snprintf(dbp, sizeof(dbp), "%s/%s", dir, SB_DB_FILE);
    (void)snprintf(hp, sizeof(hp), "%s/%s", dir, SB_AUDIT_HEAD_FILE);

    daemon_round(sbd, dir, idx, log, out);
    char *verify[] = {bin,     "audit",   "verify",     "--state-dir", dir,
                      "--tpm", tpmd.tcti, "--nv-index", idx,           NULL};
    CHECK_INT(sb_test_run(verify, out, true), 0);
    char *o = sb_test_slurp(out);
    CHECK_CONTAINS(o, "audit: intact");
    CHECK_CONTAINS(o, "not rolled back");
    free(o);
    /* an index where no counter was ever defined: verification cannot be done (3) */
    char *verify_none[] = {bin,     "audit",   "verify",     "--state-dir", dir,
                           "--tpm", tpmd.tcti, "--nv-index", "0x01380013",  NULL};
    CHECK_INT(sb_test_run(verify_none, out, true), 3);
    o = sb_test_slurp(out);
    CHECK_CONTAINS(o, "no NV counter");
    free(o);

    /* keep this state, run the daemon again (more signed heads), then put the state back */
    char old_db[800], old_head[800];
    (void)snprintf(old_db, sizeof(old_db), "%s/old.db", sb_test_tmpdir());
    (void)snprintf(old_head, sizeof(old_head), "%s/old.head", sb_test_tmpdir());
    copy_file(dbp, old_db);
    copy_file(hp, old_head);
    daemon_round(sbd, dir, idx, log, out);
    CHECK_INT(sb_test_run(verify, out, true), 0);
    char wal[800], shm[800];
    (void)snprintf(wal, sizeof(wal), "%s-wal", dbp);
    (void)snprintf(shm, sizeof(shm), "%s-shm", dbp);
    (void)unlink(wal);
    (void)unlink(shm);
    copy_file(old_db, dbp);
    copy_file(old_head, hp);

    char *verify_json[] = {bin,       "audit",      "verify", "--state-dir", dir, "--tpm",
                           tpmd.tcti, "--nv-index", idx,      "--json",      NULL};
    CHECK_INT(sb_test_run(verify_json, out, true), 1);
    o = sb_test_slurp(out);
    CHECK_CONTAINS(o, "\"finding\":\"rolled-back\"");
    CHECK_CONTAINS(o, "\"tpm_counter\"");
    free(o);
    /* without --tpm the rolled-back log looks intact: that is what the counter adds */
    char *verify_plain[] = {bin, "audit", "verify", "--state-dir", dir, NULL};
    CHECK_INT(sb_test_run(verify_plain, out, true), 0);
    /* and the daemon refuses to extend it */
    char *av[] = {sbd,           "--kbs-only", "--state-dir",      dir, "--log-file", log,
                  "--audit-tpm", tpmd.tcti,    "--audit-nv-index", idx, NULL};
    CHECK_INT(sb_test_run(av, out, true), 1);
    o = sb_test_slurp(log);
    CHECK_CONTAINS(o, "rolled back");
    free(o);
}
