/* fuzz_gw_config: the gateway policy loader over untrusted JSON, then the decisions it makes.
 * Input: {"agents": {...}, "calls": [{"agent","server","tool","args","sreq"}...]} or a bare
 * agents object ("sreq": the kind of a server->agent request, 0..3). */
#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "gateway/gateway.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_JSON_MAX (64u * 1024u)
#define FUZZ_CALLS_MAX 64

static const char *str(const json_t *o, const char *k, const char *dflt) {
    const json_t *v = json_object_get(o, k);
    return json_is_string(v) ? json_string_value(v) : dflt;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size > FUZZ_JSON_MAX) return 0;
    json_error_t je;
    json_t *doc =
        json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, &je);
    if (!doc) return 0;
    const json_t *agents = json_object_get(doc, "agents");
    if (!agents) agents = doc;
    sb_gw_policy *p = NULL;
    sb_error err = {0};
    if (sb_gw_policy_load(agents, &p, &err) == 0) {
        const json_t *calls = json_object_get(doc, "calls");
        size_t n = json_array_size(calls);
        for (size_t i = 0; i < n && i < FUZZ_CALLS_MAX; i++) {
            const json_t *c = json_array_get(calls, i);
            const char *agent = str(c, "agent", "a"), *server = str(c, "server", "s");
            const char *tool = str(c, "tool", "t");
            char reason[SB_GW_REASON_MAX];
            (void)sb_gw_policy_visible(p, agent, server, str(c, "kind", "tool"), tool);
            (void)sb_gw_policy_check_call(p, agent, server, tool, json_object_get(c, "args"),
                                          (uint64_t)i * 250, reason, sizeof(reason));
            sb_gw_limits l;
            if (sb_gw_policy_limits(p, agent, server, tool, &l) == 0 &&
                (l.timeout_ms == 0 || l.server_request_timeout_ms == 0))
                abort();
            /* server->agent requests: a refusal always names its rule */
            json_int_t k = json_integer_value(json_object_get(c, "sreq"));
            reason[0] = '\0';
            if (!sb_gw_policy_server_request(p, agent, server, (enum sb_gw_sreq)(k & 3), reason,
                                             sizeof(reason)) &&
                reason[0] == '\0')
                abort();
        }
        sb_gw_policy_free(p);
    } else if (err.msg[0] == '\0') {
        abort(); /* every refusal names its field */
    }
    json_decref(doc);
    return 0;
}
