/* test_verify_core: the verify front door — exit-code contract, file loading limits,
 * forcing and detection errors, and that every registered verifier is well-formed. */
#include <dirent.h>
#include <stdio.h>
#include <sys/stat.h>

#include "harness.h"
#include "verify/verify.h"

TEST(exit_code_contract) {
    CHECK_INT(sb_verify_exit_code(0), 0);
    CHECK_INT(sb_verify_exit_code(SB_E_POLICY), 1);
    const int two[] = {SB_E_TRUNCATED, SB_E_MALFORMED, SB_E_LIMIT, SB_E_SIGNATURE,   SB_E_CHAIN,
                       SB_E_IO,        SB_E_INTERNAL,  SB_E_USAGE, SB_E_UNSUPPORTED, SB_E_NOTFOUND};
    for (size_t i = 0; i < SB_ARRAY_LEN(two); i++)
        CHECK_INT(sb_verify_exit_code(two[i]), 2);
}

TEST(registered_verifiers_are_complete_and_unique) {
    const struct sb_verifier *const *v = sb_verifiers();
    for (size_t i = 0; v[i]; i++) {
        CHECK(v[i]->name && v[i]->name[0]);
        CHECK(v[i]->sniff != NULL);
        CHECK(v[i]->verify != NULL);
        CHECK(sb_verifier_find(v[i]->name) == v[i]);
        for (size_t j = 0; j < i; j++)
            CHECK(strcmp(v[i]->name, v[j]->name) != 0);
    }
    CHECK(sb_verifier_find("no-such-tee") == NULL);
    CHECK(sb_verifier_find(NULL) == NULL);
}

TEST(sniffers_never_claim_garbage) {
    /* Empty, tiny and text inputs are nobody's evidence: no verifier may claim them. */
    static const uint8_t zeros[2048];
    const char *text = "hello, this is not evidence\n";
    struct sb_blob cases[] = {
        {"empty", zeros, 0},
        {"one", zeros, 1},
        {"zeros", zeros, sizeof(zeros)},
        {"text", (const uint8_t *)text, strlen(text)},
    };
    for (size_t i = 0; i < SB_ARRAY_LEN(cases); i++) {
        const struct sb_verifier *pick = NULL;
        sb_error err = {0};
        int rc = sb_verify_detect(&cases[i], 1, &pick, &err);
        CHECK_INT(rc, SB_E_UNSUPPORTED);
        CHECK_CONTAINS(err.msg, cases[i].name);
    }
}

TEST(forced_unknown_platform_is_usage_error) {
    static const uint8_t b[4] = {1, 2, 3, 4};
    struct sb_blob ev = {"x.bin", b, sizeof(b)};
    struct sb_verify_opts o = {.at = 1748736000};
    json_t *claims = NULL;
    sb_error err = {0};
    CHECK_INT(sb_verify(&o, "no-such-tee", &ev, 1, NULL, &claims, &err), SB_E_USAGE);
    CHECK_CONTAINS(err.msg, "--platform no-such-tee: no such verifier");
    CHECK(claims == NULL);
    CHECK_INT(sb_verify(&o, "auto", &ev, 0, NULL, &claims, &err), SB_E_USAGE);
    CHECK_INT(sb_verify(&o, NULL, &ev, 1, NULL, &claims, &err), SB_E_UNSUPPORTED);
    CHECK_CONTAINS(err.msg, "x.bin: unrecognized evidence format");
}

TEST(blobs_load_names_files_and_limits) {
    const char *dir = sb_test_tmpdir();
    char p1[512], p2[512];
    snprintf(p1, sizeof(p1), "%s/a.bin", dir);
    snprintf(p2, sizeof(p2), "%s/missing.bin", dir);
    sb_error err = {0};
    CHECK_OK(sb_write_file_atomic(p1, "abc", 3, 0600, &err), &err);
    char *ok[] = {p1, p1};
    struct sb_blob *v = NULL;
    CHECK_OK(sb_blobs_load(ok, 2, &v, &err), &err);
    CHECK_INT(v[1].len, 3);
    CHECK_STR(v[0].name, p1);
    CHECK_MEM(v[0].data, "abc", 3);
    sb_blobs_free(v, 2);
    char *bad[] = {p1, p2};
    v = NULL;
    CHECK_INT(sb_blobs_load(bad, 2, &v, &err), SB_E_IO);
    CHECK_CONTAINS(err.msg, "missing.bin");
    CHECK(v == NULL);
    char *many[SB_VERIFY_MAX_FILES + 1];
    for (size_t i = 0; i < SB_ARRAY_LEN(many); i++)
        many[i] = p1;
    CHECK_INT(sb_blobs_load(many, SB_ARRAY_LEN(many), &v, &err), SB_E_LIMIT);
}

/* Detection logic over a table of synthetic sniffers: the sniff score is the first byte of
 * the evidence for "a" and the second for "b", so each case states its own scores. */
static int sniff_a(const struct sb_blob *ev, size_t n) {
    return n && ev[0].len > 0 ? ev[0].data[0] : 0;
}
static int sniff_b(const struct sb_blob *ev, size_t n) {
    return n && ev[0].len > 1 ? ev[0].data[1] : 0;
}
static int no_verify(const struct sb_verify_opts *o, const struct sb_blob *ev, size_t n,
                     json_t **claims, sb_error *err) {
    (void)o, (void)ev, (void)n, (void)claims;
    return sb_error_set(err, SB_E_UNSUPPORTED, "not used");
}
static const struct sb_verifier VA = {"alpha", sniff_a, no_verify};
static const struct sb_verifier VB = {"beta", sniff_b, no_verify};

TEST(detection_highest_wins_ties_name_candidates) {
    const struct sb_verifier *const table[] = {&VA, &VB, NULL};
    static const struct {
        uint8_t a, b;
        const char *pick, *msg;
    } cases[] = {
        {0, 0, NULL, "x.bin: unrecognized evidence format"},
        {5, 0, "alpha", NULL},
        {0, 5, "beta", NULL},
        {5, 4, "alpha", NULL},
        {4, 5, "beta", NULL},
        {5, 5, NULL, "x.bin: ambiguous evidence format: it could be alpha, beta"},
    };
    for (size_t i = 0; i < SB_ARRAY_LEN(cases); i++) {
        uint8_t b[2] = {cases[i].a, cases[i].b};
        struct sb_blob ev = {"x.bin", b, 2};
        const struct sb_verifier *pick = NULL;
        sb_error err = {0};
        int rc = sb_verify_detect_in(table, &ev, 1, &pick, &err);
        if (cases[i].pick) {
            CHECK_INT(rc, 0);
            CHECK(pick && strcmp(pick->name, cases[i].pick) == 0);
        } else {
            CHECK_INT(rc, SB_E_UNSUPPORTED);
            CHECK_CONTAINS(err.msg, cases[i].msg);
        }
    }
}

static void detect_tree(const char *dir, int depth, size_t *files, size_t *claimed) {
    DIR *d = opendir(dir);
    if (!d || depth > 6) {
        if (d) closedir(d);
        return;
    }
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.') continue;
        char path[4096];
        snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
        struct stat st;
        if (stat(path, &st) < 0) continue;
        if (S_ISDIR(st.st_mode)) {
            detect_tree(path, depth + 1, files, claimed);
            continue;
        }
        uint8_t *b = NULL;
        size_t n = 0;
        sb_error err = {0};
        if (!S_ISREG(st.st_mode) || sb_read_file(path, SB_VERIFY_MAX_FILE_SIZE, &b, &n, &err) < 0)
            continue;
        struct sb_blob ev = {path, b, n};
        const struct sb_verifier *pick = NULL;
        int rc = sb_verify_detect(&ev, 1, &pick, &err);
        CHECK_MSG(rc == 0 || strstr(err.msg, "unrecognized evidence format"),
                  "%s: detection must be unambiguous: %s", path, err.msg);
        (*files)++;
        if (rc == 0) (*claimed)++;
        free(b);
    }
    closedir(d);
}

TEST(every_corpus_file_detects_unambiguously) {
    /* No real evidence file may be claimed by two verifiers at the same top score. */
    const char *dir = sb_test_evidence_dir();
    if (!dir) return;
    size_t files = 0, claimed = 0;
    detect_tree(dir, 0, &files, &claimed);
    CHECK(files > 0);
    if (sb_verifiers()[0]) CHECK(claimed > 0);
}
