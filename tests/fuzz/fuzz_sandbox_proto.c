/* fuzz_sandbox_proto: every frame sealbox-init or the host can receive goes through
 * sb_msg_parse (the secrets and relay frames too); a parsed EXEC or SECRETS frame is re-encoded
 * and must parse to the same fields. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "sandbox/sandbox.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    struct sb_msg m;
    sb_error err = {0};
    if (sb_msg_parse(data, size, &m, &err) < 0) return 0;
    if (m.type == SB_MSG_EXEC) {
        sb_writer w;
        sb_writer_init(&w, SB_PROTO_MAX_FRAME);
        if (sb_msg_encode_exec(&w, m.exec_id, &m.exec) == 0) {
            struct sb_msg again;
            if (sb_msg_parse(w.buf, w.len, &again, &err) != 0) __builtin_trap();
            if (again.exec.argc != m.exec.argc || again.exec.envc != m.exec.envc ||
                strcmp(again.exec.workdir, m.exec.workdir) != 0)
                __builtin_trap();
            sb_msg_free(&again);
        }
        sb_writer_free(&w);
    }
    if (m.type == SB_MSG_SECRETS) {
        sb_writer w;
        sb_writer_init(&w, SB_PROTO_MAX_FRAME);
        if (sb_msg_encode_secrets(&w, m.exec_id, m.secrets.v, m.secrets.count) != 0)
            __builtin_trap(); /* what parsed must encode */
        struct sb_msg again;
        if (sb_msg_parse(w.buf, w.len, &again, &err) != 0) __builtin_trap();
        if (again.secrets.count != m.secrets.count) __builtin_trap();
        for (size_t i = 0; i < m.secrets.count; i++)
            if (strcmp(again.secrets.v[i].path, m.secrets.v[i].path) != 0 ||
                strcmp(again.secrets.v[i].target, m.secrets.v[i].target) != 0 ||
                again.secrets.v[i].kind != m.secrets.v[i].kind)
                __builtin_trap();
        sb_msg_free(&again);
        sb_writer_free(&w);
    }
    sb_msg_free(&m);
    return 0;
}
