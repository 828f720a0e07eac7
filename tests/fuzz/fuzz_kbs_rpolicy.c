/* fuzz_kbs_rpolicy: KBS resource policies from an admin (sb_kbs_rpolicy_parse), each one that
 * parses evaluated against a fixed EAR claims-set for a few paths. */
#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "kbs/kbs.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char EAR[] =
    "{\"submods\":{\"snp\":{\"ear.status\":\"affirming\",\"ear.sealbox.local\":true,"
    "\"ear.veraison.annotated-evidence\":{\"platform\":\"snp\",\"insecure\":false,"
    "\"measurements\":{\"measurement\":\"aa\"},\"sealbox_log\":{\"digest\":\"sha384:11\","
    "\"image\":\"sha256:22\",\"tainted\":false}}}}}";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static json_t *ear;
    if (!ear && !(ear = json_loads(EAR, 0, NULL))) __builtin_trap();
    sb_error err = {0};
    sb_kbs_rpolicy *p = NULL;
    if (sb_kbs_rpolicy_parse((const char *)data, size, &p, &err) < 0) {
        if (!err.msg[0]) __builtin_trap();
        return 0;
    }
    static const char *const PATHS[] = {"default/key/a", "img/x/y", "a/b/c"};
    for (size_t i = 0; i < 3; i++) {
        int r = sb_kbs_rpolicy_eval(p, PATHS[i], ear, &err);
        if (r != 0 && r != SB_E_POLICY) __builtin_trap();
        if (r == SB_E_POLICY && !err.msg[0]) __builtin_trap();
    }
    sb_kbs_rpolicy_free(p);
    return 0;
}
