/* test_verify_core: the verify front door — exit-code contract, file loading limits,
 * forcing and detection errors, and that every registered verifier is well-formed. */
#include <stdio.h>

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
