/* fuzz_gw_http: the Streamable HTTP transport's header parsers (Accept, Authorization: Bearer,
 * Mcp-Session-Id, MCP-Protocol-Version, Origin, Host, Last-Event-ID) over untrusted bytes. The
 * first byte picks the header; what a parser accepts must hold its own invariants. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gateway/gateway.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1 || size > SB_GW_HTTP_HEADER_MAX + 64) return 0;
    uint8_t which = data[0];
    /* header values reach the parsers as C strings (evhttp): no NUL inside */
    char *v = malloc(size);
    if (!v) return 0;
    memcpy(v, data + 1, size - 1);
    v[size - 1] = '\0';
    size_t n = strlen(v);
    sb_error err = {0};
    switch (which % 7) {
    case 0: {
        unsigned acc = 0;
        if (sb_gw_http_accept(v, n, &acc, &err) == 0 &&
            (acc & ~(unsigned)(SB_GW_ACCEPT_JSON | SB_GW_ACCEPT_SSE)))
            abort();
        break;
    }
    case 1: {
        size_t off = 0, len = 0;
        if (sb_gw_http_bearer(v, n, &off, &len, &err) == 0 &&
            (len == 0 || len > SB_GW_HTTP_TOKEN_MAX || off > n || len > n - off))
            abort();
        break;
    }
    case 2:
        if (sb_gw_http_session_id(v, n, &err) == 0 && n != SB_GW_SESSION_ID_LEN) abort();
        break;
    case 3: {
        const char *ver = NULL;
        if (sb_gw_http_version(v, n, &ver, &err) == 0 && (strlen(ver) != n || memcmp(ver, v, n)))
            abort();
        break;
    }
    case 4: {
        char out[SB_GW_ORIGIN_MAX], again[SB_GW_ORIGIN_MAX];
        /* a canonical origin is a fixed point */
        if (sb_gw_http_origin(v, n, out, sizeof(out), &err) == 0 &&
            (sb_gw_http_origin(out, strlen(out), again, sizeof(again), &err) != 0 ||
             strcmp(out, again) != 0))
            abort();
        break;
    }
    case 6: {
        uint32_t st = 0;
        uint64_t seq = 0;
        char again[48];
        /* an accepted event id is canonical: printed back, it is the same bytes */
        if (sb_gw_http_event_id(v, n, &st, &seq, &err) == 0 &&
            ((size_t)snprintf(again, sizeof(again), "%u-%llu", st, (unsigned long long)seq) != n ||
             memcmp(again, v, n) != 0))
            abort();
        break;
    }
    default: {
        bool lo = false;
        /* a Host the parser accepts holds no byte that ends an authority */
        if (sb_gw_http_host_loopback(v, n, &lo, &err) == 0 && strpbrk(v, "/@?#\\ ") != NULL)
            abort();
        break;
    }
    }
    free(v);
    return 0;
}
