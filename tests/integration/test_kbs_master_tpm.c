/* test_kbs_master_tpm: the KBS master key sealed to a real swtpm under PolicyPCR — first start
 * seals a fresh key (no key file, the key not in the blob), a restart unseals it, resources
 * survive rotation under the TPM, a key file from before the TPM is migrated, a sealed key is
 * never bypassed by a new key file, unsealing fails once a sealed PCR changes (library, the
 * `sealbox kbs rotate-master-key --tpm` CLI and sealboxd --kbs-master-tpm refuse to start). */
#include <stdlib.h>
#include <sys/stat.h>

#include "api/api.h"
#include "attester/attester.h"
#include "crypto/crypto.h"
#include "evidence/evidence.h"
#include "harness.h"
#include "kbs/kbs.h"
#include "store/store.h"
#include "swtpm_fixture.h"

#define PCR_LIB 23    /* extended by the library test */
#define PCR_DAEMON 16 /* extended by the daemon test */

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

static void make_dir(char *out, size_t cap, const char *name) {
    (void)snprintf(out, cap, "%s/%s", sb_test_tmpdir(), name);
    CHECK(mkdir(out, 0700) == 0);
}

static sb_store *open_store(const char *dir) {
    char path[4200];
    (void)snprintf(path, sizeof(path), "%s/%s", dir, SB_DB_FILE);
    sb_store *st = NULL;
    sb_error err = {0};
    CHECK_OK(sb_store_open(path, &st, &err), &err);
    return st;
}

static bool file_exists(const char *dir, const char *name) {
    char p[4200];
    (void)snprintf(p, sizeof(p), "%s/%s", dir, name);
    return access(p, F_OK) == 0;
}

static bool file_has(const char *path, const void *needle, size_t n) {
    uint8_t *b = NULL;
    size_t len = 0;
    sb_error err = {0};
    if (sb_read_file(path, 64u << 20, &b, &len, &err) < 0) return false;
    bool hit = memmem(b, len, needle, n) != NULL;
    free(b);
    return hit;
}

static void extend(unsigned pcr) {
    struct sb_tpm_config c = {.tcti = tpmd.tcti};
    sb_tpm *t = NULL;
    sb_error err = {0};
    CHECK_OK(sb_tpm_open(&c, &t, &err), &err);
    uint8_t d[32] = {(uint8_t)pcr, 0x5a};
    if (t) CHECK_OK(sb_tpm_pcr_extend(t, SB_TPM_ALG_SHA256, pcr, d, sizeof(d), &err), &err);
    sb_tpm_close(t);
}

static void check_value(sb_store *st, const sb_kbs_master *m, const char *path, const char *want) {
    uint8_t *v = NULL;
    size_t n = 0;
    sb_error err = {0};
    CHECK_OK(sb_kbs_resource_get(st, m, path, &v, &n, &err), &err);
    CHECK_INT(n, strlen(want));
    if (v && n == strlen(want)) CHECK_MEM(v, want, n);
    if (v) sb_secret_free(v, n + 1);
}

TEST(sealed_first_start_restart_rotation_pcr_change) {
    if (!have_tpm()) return;
    char dir[600];
    make_dir(dir, sizeof(dir), "sealed");
    sb_store *st = open_store(dir);
    if (!st) return;
    struct sb_kbs_master_tpm tpm = {.tcti = tpmd.tcti, .pcrs = (1u << 7) | (1u << PCR_LIB)};
    sb_error err = {0};
    sb_kbs_master m = {0}, m2 = {0}, m3 = {0}, m4 = {0};
    CHECK_OK(sb_kbs_master_load_at(dir, &tpm, st, &m, &err), &err);
    CHECK(file_exists(dir, SB_KBS_MASTER_SEALED_FILE));
    CHECK(!file_exists(dir, SB_KBS_MASTER_KEY_FILE));
    char sp[700];
    (void)snprintf(sp, sizeof(sp), "%s/%s", dir, SB_KBS_MASTER_SEALED_FILE);
    struct stat sst;
    CHECK(stat(sp, &sst) == 0 && (sst.st_mode & 0777) == 0600);
    if (m.key) CHECK(!file_has(sp, m.key, SB_KBS_MASTER_LEN)); /* only the TPM opens it */
    uint8_t *blob = NULL;
    size_t bn = 0;
    struct sb_tpm_sealed sealed;
    CHECK_OK(sb_read_file(sp, SB_TPM_MAX_SEALED_BLOB, &blob, &bn, &err), &err);
    if (blob) CHECK_OK(sb_tpm_sealed_parse(blob, bn, &sealed, &err), &err);
    if (blob) CHECK_INT(sealed.pcrs, (1u << 7) | (1u << PCR_LIB));
    free(blob);
    CHECK_OK(sb_kbs_resource_put(st, &m, "r/t/a", (const uint8_t *)"value-a", 7, &err), &err);

    /* a restart (a new TPM connection) unseals the same key */
    CHECK_OK(sb_kbs_master_load_at(dir, &tpm, st, &m2, &err), &err);
    CHECK_STR(m2.id, m.id);
    check_value(st, &m2, "r/t/a", "value-a");
    /* without the TPM named, the daemon does not make itself a new key file */
    CHECK_INT(sb_kbs_master_load(dir, st, &m3, &err), SB_E_POLICY);
    CHECK_CONTAINS(err.msg, "sealed to a TPM");
    CHECK(!file_exists(dir, SB_KBS_MASTER_KEY_FILE));

    /* rotation under the TPM: a new sealed key, the resources follow it */
    size_t count = 0;
    CHECK_OK(sb_kbs_rotate_master_key_at(dir, &tpm, st, &count, &err), &err);
    CHECK_INT(count, 1);
    CHECK(!file_exists(dir, SB_KBS_MASTER_SEALED_FILE ".new"));
    CHECK_OK(sb_kbs_master_load_at(dir, &tpm, st, &m3, &err), &err);
    CHECK(strcmp(m3.id, m.id) != 0);
    check_value(st, &m3, "r/t/a", "value-a");

    /* the sealed PCR changes: the key does not unseal, and the error says why */
    extend(PCR_LIB);
    CHECK_INT(sb_kbs_master_load_at(dir, &tpm, st, &m4, &err), SB_E_POLICY);
    CHECK_CONTAINS(err.msg, "PCRs 7,23");
    CHECK_CONTAINS(err.msg, SB_KBS_MASTER_SEALED_FILE);
    CHECK(m4.key == NULL);
    sb_kbs_master_clear(&m);
    sb_kbs_master_clear(&m2);
    sb_kbs_master_clear(&m3);
    sb_store_close(st);
}

TEST(key_file_migrated_to_the_tpm) {
    if (!have_tpm()) return;
    char dir[600];
    make_dir(dir, sizeof(dir), "migrate");
    sb_store *st = open_store(dir);
    if (!st) return;
    sb_error err = {0};
    sb_kbs_master f = {0}, m = {0}, m2 = {0};
    CHECK_OK(sb_kbs_master_load(dir, st, &f, &err), &err);
    CHECK(file_exists(dir, SB_KBS_MASTER_KEY_FILE));
    CHECK_OK(sb_kbs_resource_put(st, &f, "r/t/b", (const uint8_t *)"value-b", 7, &err), &err);
    struct sb_kbs_master_tpm tpm = {.tcti = tpmd.tcti, .pcrs = 1u << 7};
    CHECK_OK(sb_kbs_master_load_at(dir, &tpm, st, &m, &err), &err);
    CHECK_STR(m.id, f.id);
    CHECK(file_exists(dir, SB_KBS_MASTER_SEALED_FILE));
    CHECK(!file_exists(dir, SB_KBS_MASTER_KEY_FILE));
    check_value(st, &m, "r/t/b", "value-b");
    /* a key file that reappears with another key is refused, not silently used or removed */
    char kp[700];
    (void)snprintf(kp, sizeof(kp), "%s/%s", dir, SB_KBS_MASTER_KEY_FILE);
    FILE *fp = fopen(kp, "w");
    CHECK(fp && fwrite("0123456789abcdef0123456789abcdef", 1, 32, fp) == 32);
    if (fp) fclose(fp);
    CHECK(chmod(kp, 0600) == 0);
    CHECK_INT(sb_kbs_master_load_at(dir, &tpm, st, &m2, &err), SB_E_POLICY);
    CHECK_CONTAINS(err.msg, "another key");
    CHECK(file_exists(dir, SB_KBS_MASTER_KEY_FILE));
    sb_kbs_master_clear(&f);
    sb_kbs_master_clear(&m);
    sb_store_close(st);
}

/* ---- the CLI and the daemon ---------------------------------------------------------------- */

static bool health(const char *sock, const char *out) {
    char *curl[] = {"/usr/bin/curl",      "-sf", "--unix-socket", (char *)sock,
                    "http://s/v1/health", NULL};
    return sb_test_run(curl, out, true) == 0;
}

TEST(cli_rotate_and_daemon_under_the_tpm) {
    if (!have_tpm()) return;
    const char *build = getenv("SEALBOX_BUILD_DIR");
    if (!build) {
        sb_test_skip(true, "SEALBOX_BUILD_DIR is not set (run through ctest)");
        return;
    }
    char bin[700], sbd[700], dir[600], out[700], sock[700], log[700];
    (void)snprintf(bin, sizeof(bin), "%s/sealbox", build);
    (void)snprintf(sbd, sizeof(sbd), "%s/sealboxd", build);
    make_dir(dir, sizeof(dir), "daemon");
    (void)snprintf(out, sizeof(out), "%s/cli.out", sb_test_tmpdir());
    (void)snprintf(sock, sizeof(sock), "%s/sealboxd.sock", dir);
    (void)snprintf(log, sizeof(log), "%s/daemon.log", sb_test_tmpdir());
    char pcrs[32];
    (void)snprintf(pcrs, sizeof(pcrs), "sha256:7,%d", PCR_DAEMON);
    /* a resource stored under the TPM-sealed key (as the admin API would) */
    {
        sb_store *st = open_store(dir);
        struct sb_kbs_master_tpm tpm = {.tcti = tpmd.tcti, .pcrs = (1u << 7) | (1u << PCR_DAEMON)};
        sb_kbs_master m = {0};
        sb_error err = {0};
        if (st) CHECK_OK(sb_kbs_master_load_at(dir, &tpm, st, &m, &err), &err);
        if (m.key)
            CHECK_OK(sb_kbs_resource_put(st, &m, "r/t/c", (const uint8_t *)"value-c", 7, &err),
                     &err);
        sb_kbs_master_clear(&m);
        sb_store_close(st);
    }
    /* the CLI: without --tpm the sealed key is named and nothing is touched; with it, rotated */
    char *rot_plain[] = {bin, "kbs", "rotate-master-key", "--state-dir", dir, NULL};
    CHECK_INT(sb_test_run(rot_plain, out, true), 1);
    char *o = sb_test_slurp(out);
    CHECK_CONTAINS(o, "--tpm");
    free(o);
    char *rot[] = {bin,  "kbs",   "rotate-master-key", "--state-dir",
                   dir,  "--tpm", tpmd.tcti,           "--pcrs",
                   pcrs, NULL};
    CHECK_INT(sb_test_run(rot, out, true), 0);
    o = sb_test_slurp(out);
    CHECK_CONTAINS(o, "re-sealed 1 resource");
    free(o);
    CHECK(!file_exists(dir, SB_KBS_MASTER_KEY_FILE));

    /* the daemon starts with the sealed key ... */
    pid_t d = fork();
    if (d == 0) {
        char *av[] = {sbd, "--kbs-only",       "--state-dir", dir, "--log-file",
                      log, "--kbs-master-tpm", tpmd.tcti,     NULL};
        execv(sbd, av);
        _exit(127);
    }
    bool up = false;
    for (int i = 0; i < 300 && !up; i++) {
        up = health(sock, out);
        if (!up) (void)usleep(100000);
    }
    CHECK_MSG(up, "sealboxd --kbs-only --kbs-master-tpm did not come up");
    if (d > 0) {
        (void)kill(d, SIGTERM);
        (void)waitpid(d, NULL, 0);
    }
    /* ... and refuses to, naming the PCRs, once one of them changed */
    extend(PCR_DAEMON);
    char *av[] = {sbd, "--kbs-only",       "--state-dir", dir, "--log-file",
                  log, "--kbs-master-tpm", tpmd.tcti,     NULL};
    CHECK_INT(sb_test_run(av, out, true), 1);
    o = sb_test_slurp(log);
    CHECK_CONTAINS(o, "PCR policy does not hold");
    free(o);
    /* so does the rotation */
    CHECK_INT(sb_test_run(rot, out, true), 1);
    o = sb_test_slurp(out);
    CHECK_CONTAINS(o, "PCRs 7,16");
    free(o);
}
