/* fuzz_mlog: the measurement-log replay (sb_mlog_replay) over untrusted JSON; a log that
 * replays must report a summary that agrees with the replayed digest and taint. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "sandbox/sandbox.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    struct sb_mlog_replay r;
    sb_error err = {0};
    if (sb_mlog_replay(data, size, &r, &err) != 0) {
        if (err.msg[0] == '\0') __builtin_trap(); /* every failure names its reason */
        return 0;
    }
    char ds[104];
    sb_mlog_digest_str(r.digest, ds);
    const char *sd = json_string_value(json_object_get(r.summary, "digest"));
    if (!sd || strcmp(sd, ds) != 0 || r.tainted != (r.execs > 0) || r.events < 2) __builtin_trap();
    sb_mlog_replay_clear(&r);
    return 0;
}
