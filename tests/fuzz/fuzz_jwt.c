/* fuzz_jwt: compact-JWS parsing and verification of untrusted tokens (part splitting,
 * base64url, header/payload JSON, kid lookup, signature sizes) against a fixed JWKS. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "token/token.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A throw-away public key (its private half was discarded); kid "k1" for the seeds. */
static const char JWKS[] =
    "{\"keys\": [{\"kty\": \"EC\", \"crv\": \"P-256\", \"kid\": \"k1\", \"alg\": \"ES256\", "
    "\"x\": \"dpHzwuwUAjLsn1dMpgWD8DEuDi83SoUDl6gRnPwohRI\", "
    "\"y\": \"ohxlQWyerrM9uBDYkMON0Ky6phv3BrcH0KRMlTaSGf8\"}]}";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static json_t *jwks;
    if (!jwks) jwks = json_loads(JWKS, 0, NULL);
    if (size > 65536) return 0;
    char *s = malloc(size + 1);
    if (!s) return 0;
    memcpy(s, data, size);
    s[size] = 0;
    json_t *p = NULL, *h = NULL;
    sb_error err = {0};
    if (sb_jwt_verify(s, jwks, &p, &h, &err) == 0) {
        if (sb_ear_check(p, &err) == 0 && !json_is_object(p)) __builtin_trap();
        json_decref(p);
        json_decref(h);
    }
    free(s);
    return 0;
}
