/* cmd_jwks: `sealbox jwks KEY...` — prints the JWKS relying parties use to verify sealbox
 * tokens; several keys let a signing key rotate without breaking them. */
#include <stdio.h>
#include <string.h>

#include "cmd.h"
#include "token/token.h"

int sb_cmd_jwks(int argc, char **argv) {
    if (argc > 1 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
        printf("usage: sealbox jwks KEY...\n\n"
               "Prints {\"keys\": [...]} with the public JWK (kid = RFC 7638 thumbprint, alg\n"
               "ES256/ES384, use sig) of each PEM EC key (private or public). List the current\n"
               "and the next signing key to rotate without breaking relying parties.\n");
        return 0;
    }
    if (argc < 2) {
        fprintf(stderr, "sealbox jwks: no KEY given (usage: sealbox jwks KEY...)\n");
        return SB_EXIT_USAGE;
    }
    if ((size_t)(argc - 1) > SB_JWKS_MAX_KEYS) {
        fprintf(stderr, "sealbox jwks: at most %u keys\n", SB_JWKS_MAX_KEYS);
        return SB_EXIT_USAGE;
    }
    json_t *keys = json_array();
    if (!keys) return SB_EXIT_USAGE;
    for (int i = 1; i < argc; i++) {
        if (argv[i][0] == '-') {
            fprintf(stderr, "sealbox jwks: unknown option '%s'\n", argv[i]);
            json_decref(keys);
            return SB_EXIT_USAGE;
        }
        json_t *jwk = NULL;
        sb_error err = {0};
        if (sb_jwk_from_pem_file(argv[i], &jwk, &err) < 0) {
            fprintf(stderr, "sealbox jwks: %s\n", err.msg);
            json_decref(keys);
            return SB_EXIT_USAGE;
        }
        const char *kid = json_string_value(json_object_get(jwk, "kid"));
        size_t j;
        json_t *prev;
        bool dup = false;
        json_array_foreach(keys, j, prev) {
            if (kid && !strcmp(kid, json_string_value(json_object_get(prev, "kid")))) dup = true;
        }
        if (dup)
            json_decref(jwk); /* the same key given twice (e.g. private and public PEM) */
        else
            json_array_append_new(keys, jwk);
    }
    json_t *out = json_pack("{s:o}", "keys", keys);
    char *s = out ? json_dumps(out, JSON_INDENT(2)) : NULL;
    json_decref(out);
    if (!s) return SB_EXIT_USAGE;
    printf("%s\n", s);
    free(s);
    return 0;
}
