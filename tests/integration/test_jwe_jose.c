/* test_jwe_jose: sealbox's JWEs decrypt with an independent implementation (the npm jose
 * package, pinned in tests/kbs/package-lock.json and installed with npm ci), and JWEs jose
 * makes decrypt with sealbox — for ECDH-ES+A256KW on P-256 and P-521 and RSA-OAEP-256. */
#include <stdio.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "crypto/crypto.h"
#include "harness.h"

static int run(const char *cmd) {
    int rc = system(cmd);
    return WIFEXITED(rc) ? WEXITSTATUS(rc) : 128;
}

static void write_file(const char *dir, const char *name, const char *ext, const void *p,
                       size_t n) {
    char path[4096];
    snprintf(path, sizeof(path), "%s/%s%s", dir, name, ext);
    FILE *f = fopen(path, "wb");
    CHECK(f != NULL);
    if (!f) return;
    CHECK_INT(fwrite(p, 1, n, f), n);
    fclose(f);
}

TEST(jose_interop) {
    const char *src = getenv("SEALBOX_SOURCE_DIR");
    if (!src) {
        sb_test_fail(__FILE__, __LINE__, "SEALBOX_SOURCE_DIR is not set");
        return;
    }
    char cmd[8192];
    snprintf(cmd, sizeof(cmd),
             "cd '%s/tests/kbs' && { [ -d node_modules/jose ] || npm ci --no-audit --no-fund "
             "--silent; }",
             src);
    CHECK_MSG(run(cmd) == 0, "npm ci in tests/kbs failed (is node installed? scripts/deps.sh)");
    const char *dir = sb_test_tmpdir();
    static const char *const NAMES[] = {"ec-p256", "ec-p521", "rsa-2048"};
    sb_privkey *keys[3] = {0};
    char msg[3][96];
    sb_error err = {0};
    for (int i = 0; i < 3; i++) {
        if (i == 0) CHECK_OK(sb_privkey_generate_ec(SB_CURVE_P256, &keys[i], &err), &err);
        if (i == 1) CHECK_OK(sb_privkey_generate_ec(SB_CURVE_P521, &keys[i], &err), &err);
        if (i == 2) CHECK_OK(sb_privkey_generate_rsa(2048, &keys[i], &err), &err);
        if (!keys[i]) return;
        char *pem = NULL;
        json_t *pub = NULL, *jwe = NULL;
        CHECK_OK(sb_privkey_to_pem(keys[i], &pem, &err), &err);
        CHECK_OK(sb_jwe_tee_pubkey(keys[i], &pub, &err), &err);
        snprintf(msg[i], sizeof(msg[i]), "secret for %s: %d", NAMES[i], rand());
        CHECK_OK(sb_jwe_encrypt(pub, (const uint8_t *)msg[i], strlen(msg[i]), &jwe, &err), &err);
        char *s = json_dumps(jwe, JSON_COMPACT);
        write_file(dir, NAMES[i], ".pem", pem, strlen(pem));
        write_file(dir, NAMES[i], ".jwe", s, strlen(s));
        write_file(dir, NAMES[i], ".txt", msg[i], strlen(msg[i]));
        free(s);
        free(pem);
        json_decref(pub);
        json_decref(jwe);
    }
    snprintf(cmd, sizeof(cmd), "node '%s/tests/kbs/jwe_interop.mjs' '%s'", src, dir);
    CHECK_MSG(run(cmd) == 0, "jose could not decrypt sealbox's JWEs");
    for (int i = 0; i < 3; i++) {
        char path[4096];
        snprintf(path, sizeof(path), "%s/%s.jose.jwe", dir, NAMES[i]);
        json_error_t je;
        json_t *jwe = json_load_file(path, 0, &je);
        CHECK_MSG(jwe != NULL, "%s: %s", path, je.text);
        uint8_t *pt = NULL;
        size_t n = 0;
        if (jwe) CHECK_OK(sb_jwe_decrypt(keys[i], jwe, &pt, &n, &err), &err);
        CHECK_INT(n, strlen(msg[i]));
        if (pt) CHECK_MEM(pt, msg[i], n);
        free(pt);
        json_decref(jwe);
        sb_privkey_free(keys[i]);
    }
}
