/* fuzz_gw_path: the gateway's lexical path canonicalizer over untrusted bytes; its output is
 * absolute, free of ".", ".." and empty components, and a fixed point. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "gateway/gateway.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(const char *c) {
    if (c[0] != '/') abort();
    if (strstr(c, "//") || strstr(c, "/./") || strstr(c, "/../")) abort();
    size_t n = strlen(c);
    if (n > 1 && c[n - 1] == '/') abort();
    if ((n >= 2 && strcmp(c + n - 2, "/.") == 0) || (n >= 3 && strcmp(c + n - 3, "/..") == 0))
        abort();
    char again[SB_GW_PATH_MAX + 1];
    sb_error err = {0};
    if (sb_gw_path_canon(c, n, NULL, again, sizeof(again), &err) != 0) abort();
    if (strcmp(again, c) != 0) abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size > SB_GW_PATH_MAX + 16) return 0;
    char out[SB_GW_PATH_MAX + 1];
    sb_error err = {0};
    if (sb_gw_path_canon((const char *)data, size, NULL, out, sizeof(out), &err) == 0) check(out);
    if (sb_gw_path_canon((const char *)data, size, "/srv/base/dir", out, sizeof(out), &err) == 0) {
        check(out);
        (void)sb_gw_path_under(out, "/srv/base");
    }
    return 0;
}
