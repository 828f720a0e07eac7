/* fuzz_gw_url: the gateway's WHATWG URL host parser and host-pattern canonicalizer over
 * untrusted bytes; a parsed host must be a fixed point of the canonicalizer. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "gateway/gateway.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size > SB_GW_URL_MAX + 16) return 0;
    sb_gw_url u;
    sb_error err = {0};
    if (sb_gw_url_parse((const char *)data, size, &u, &err) == 0) {
        char again[SB_GW_HOST_MAX + 8];
        if (sb_gw_host_canon(u.host, again, sizeof(again), &err) != 0) abort();
        if (strcmp(again, u.host) != 0) abort();
        if (u.host[0] == '\0' || strlen(u.scheme) == 0) abort();
    }
    /* the same bytes as a url_host pattern (NUL-terminated copy) */
    if (size < 1024) {
        char *s = malloc(size + 1);
        if (!s) return 0;
        memcpy(s, data, size);
        s[size] = '\0';
        char out[SB_GW_HOST_MAX + 8];
        if (sb_gw_host_canon(s, out, sizeof(out), &err) == 0 && out[0] == '\0') abort();
        free(s);
    }
    return 0;
}
