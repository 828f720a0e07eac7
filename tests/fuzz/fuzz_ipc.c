/* fuzz_ipc: the front<->monitor message decoder. Whatever decodes must re-encode to exactly the
 * same bytes (one spelling per message), and nothing may read outside the datagram. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "api/api.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static sb_ipc_msg msg;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    sb_error err = {0};
    if (sb_ipc_decode(data, size, &msg, &err) < 0) {
        if (err.msg[0] == '\0') __builtin_trap(); /* every refusal says why */
        return 0;
    }
    sb_writer w;
    sb_writer_init(&w, SB_IPC_MSG_MAX);
    if (sb_ipc_encode(&w, msg.type, msg.id, msg.f, msg.nfields, &err) < 0) __builtin_trap();
    if (w.len != size || memcmp(w.buf, data, size) != 0) __builtin_trap();
    sb_writer_free(&w);
    return 0;
}
