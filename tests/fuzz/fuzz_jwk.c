/* fuzz_jwk: JSON Web Keys from untrusted JSON (sb_pubkey_from_jwk), their re-export and
 * thumbprints, and the JCS canonicalizer over whatever JSON parses. */
#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/crypto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_JSON_MAX (64u * 1024u)

static volatile size_t sink;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size > FUZZ_JSON_MAX) return 0;
    json_error_t je;
    json_t *v = json_loadb((const char *)data, size,
                           JSON_DECODE_ANY | JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, &je);
    if (!v) return 0;
    sb_error err = {0};
    char *canon = NULL;
    size_t len = 0;
    if (sb_json_canonical(v, &canon, &len, &err) == 0) {
        /* canonical output must parse back and be a fixed point */
        /* canonical output read back canonicalizes to itself (when jansson can hold it: an
         * integral real beyond 2^63 prints as digits jansson cannot read as an integer) */
        json_t *again = json_loadb(canon, len, JSON_DECODE_ANY | JSON_ALLOW_NUL, &je);
        char *canon2 = NULL;
        size_t len2 = 0;
        if (again && sb_json_canonical(again, &canon2, &len2, &err) == 0 &&
            (len2 != len || memcmp(canon, canon2, len) != 0))
            __builtin_trap();
        free(canon2);
        json_decref(again);
        free(canon);
    }
    sb_error_clear(&err);
    sb_pubkey *k = NULL;
    if (sb_pubkey_from_jwk(v, &k, &err) == 0) {
        json_t *back = NULL;
        if (sb_pubkey_to_jwk(k, &back, &err) == 0) {
            sb_pubkey *k2 = NULL;
            /* a key exported and read back is the same key */
            if (sb_pubkey_from_jwk(back, &k2, &err) != 0 || !sb_pubkey_equal(k, k2))
                __builtin_trap();
            sb_pubkey_free(k2);
            json_decref(back);
        }
        char *tp = NULL;
        if (sb_jwk_thumbprint(k, &tp, &err) == 0) {
            sink += strlen(tp);
            free(tp);
        }
        sb_pubkey_free(k);
    } else if (err.msg[0] == '\0') {
        __builtin_trap(); /* every failure names its reason */
    }
    json_decref(v);
    return 0;
}
