/* fuzz_jwe: flattened JWEs from an untrusted KBS (sb_jwe_decrypt with a fixed P-256 key, so
 * seeds encrypted to it reach the key unwrap and content decryption) and TEE public keys from
 * an untrusted attester (sb_jwe_check_pubkey). */
#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/crypto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_JSON_MAX (256u * 1024u)

/* The key of tests/unit/test_jwe.c's known answer; gen_jwe_corpus.mjs encrypts seeds to it. */
static const char KEY[] = "-----BEGIN PRIVATE KEY-----\n"
                          "MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgayRpt1oFyN4IkElj\n"
                          "Ctea2m5Gt+JKPBWyU1YEdsFWqs6hRANCAAQqZx+eTR95+XstToNsyENTAbg1xPft\n"
                          "RxmIs+xATe7Eg4ty7Pyis4cr7WKmjzfpih9XBGI0nA2nTUyt842IULeT\n"
                          "-----END PRIVATE KEY-----\n";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static sb_privkey *k;
    sb_error err = {0};
    if (!k && sb_privkey_from_pem((const uint8_t *)KEY, strlen(KEY), &k, &err) < 0)
        __builtin_trap();
    if (size > FUZZ_JSON_MAX) return 0;
    json_error_t je;
    json_t *v = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, &je);
    if (!v) return 0;
    uint8_t *pt = NULL;
    size_t n = 0;
    int rc = sb_jwe_decrypt(k, v, &pt, &n, &err);
    if (rc == 0) {
        if (pt[n] != 0) __builtin_trap(); /* NUL-terminated one past the end */
        free(pt);
    } else if (err.msg[0] == '\0') {
        __builtin_trap(); /* every failure names its reason */
    }
    sb_error_clear(&err);
    if (sb_jwe_check_pubkey(v, &err) == 0) {
        /* an accepted key can be encrypted to */
        json_t *jwe = NULL;
        if (sb_jwe_encrypt(v, (const uint8_t *)"x", 1, &jwe, &err) < 0) __builtin_trap();
        json_decref(jwe);
    } else if (err.msg[0] == '\0') {
        __builtin_trap();
    }
    json_decref(v);
    return 0;
}
