/* fuzz_mcp_rpc: the gateway's JSON-RPC framing and message validation, and the engine's agent
 * side (lifecycle, list cursors, namespaced names) with no servers behind it — every line the
 * engine answers with must itself be a valid JSON-RPC response. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "gateway/gateway.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_MAX (256u * 1024u)

static int codec_line(void *ctx, enum sb_rpc_frame_kind kind, const uint8_t *p, size_t n) {
    sb_rpc_framer *f = ctx;
    if (kind == SB_RPC_FRAME_OVERSIZE) {
        int64_t id;
        (void)sb_rpc_framer_oversize_id(f, &id);
        return 0;
    }
    sb_rpc_msg m;
    int code = 0;
    json_t *rid = NULL;
    sb_error err = {0};
    if (sb_rpc_parse(p, n, &m, &code, &rid, &err) < 0) {
        if (code != SB_RPC_PARSE_ERROR && code != SB_RPC_INVALID_REQUEST) __builtin_trap();
        json_decref(rid);
        return 0;
    }
    json_decref(rid);
    /* what we accept, we can write and read back the same way */
    char *s = NULL;
    size_t len = 0;
    if (sb_rpc_dump(m.root, FUZZ_MAX * 8, &s, &len, &err) == 0) {
        if (len == 0 || s[len - 1] != '\n' || memchr(s, '\n', len - 1)) __builtin_trap();
        sb_rpc_msg again;
        if (sb_rpc_parse((const uint8_t *)s, len - 1, &again, &code, &rid, &err) < 0)
            __builtin_trap();
        if (again.kind != m.kind) __builtin_trap();
        sb_rpc_msg_clear(&again);
        json_decref(rid);
        free(s);
    }
    sb_rpc_msg_clear(&m);
    return 0;
}

static int check_out(void *ctx, const char *line, size_t len) {
    (void)ctx;
    if (len == 0 || line[len - 1] != '\n') __builtin_trap();
    sb_rpc_msg m;
    int code = 0;
    json_t *rid = NULL;
    sb_error err = {0};
    if (sb_rpc_parse((const uint8_t *)line, len - 1, &m, &code, &rid, &err) < 0) __builtin_trap();
    if (m.kind != SB_RPC_RESULT && m.kind != SB_RPC_ERROR && m.kind != SB_RPC_NOTIFICATION)
        __builtin_trap();
    sb_rpc_msg_clear(&m);
    json_decref(rid);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size > FUZZ_MAX) return 0;
    sb_rpc_framer f;
    sb_rpc_framer_init(&f, 4096);
    /* split the input in two pushes to exercise partial lines */
    size_t half = size / 2;
    (void)sb_rpc_framer_push(&f, data, half, codec_line, &f);
    (void)sb_rpc_framer_push(&f, data + half, size - half, codec_line, &f);
    sb_rpc_framer_free(&f);

    sb_gw_config cfg = {0};
    struct sb_gw_opts o = {
        .config = &cfg, .agent = "fuzz", .stderr_fd = -1, .agent_out = check_out};
    sb_gw *gw = NULL;
    sb_error err = {0};
    if (sb_gw_new(&o, &gw, &err) < 0) return 0;
    if (sb_gw_agent_input(gw, data, size, &err) < 0) __builtin_trap();
    static const uint8_t nl = '\n';
    if (sb_gw_agent_input(gw, &nl, 1, &err) < 0) __builtin_trap();
    sb_gw_free(gw);
    return 0;
}
