/* fuzz_gw_sse: the text/event-stream decoder (src/gateway/sse.c) that reads the answers of remote
 * Streamable HTTP servers, over untrusted bytes pushed in two pieces (the first byte says where
 * to split, so CRLF and fields split across reads are covered). Every event it dispatches must
 * respect the data limit, and the decoder must report every over-limit input. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "gateway/gateway.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_DATA 4096

static int on_event(void *ctx, const char *event, const uint8_t *d, size_t n, const char *id) {
    size_t *count = ctx;
    if (n > MAX_DATA || strlen(event) > SB_GW_SSE_FIELD_MAX || strlen(id) > SB_GW_SSE_FIELD_MAX ||
        (n > 0 && !d))
        abort();
    (*count)++;
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1 || size > (1u << 16)) return 0;
    size_t split = data[0] % size;
    sb_gw_sse s;
    sb_gw_sse_init(&s, MAX_DATA);
    sb_error err = {0};
    size_t count = 0;
    int rc = sb_gw_sse_push(&s, data + 1, split, on_event, &count, &err);
    if (rc == 0)
        rc = sb_gw_sse_push(&s, data + 1 + split, size - 1 - split, on_event, &count, &err);
    if (rc < 0 && (rc != SB_E_LIMIT || !err.msg[0])) abort();
    if (rc == 0 && s.events != count) abort();
    sb_gw_sse_free(&s);
    return 0;
}
