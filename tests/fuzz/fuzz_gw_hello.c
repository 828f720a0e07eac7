/* fuzz_gw_hello: the hello line a stdio client of sealboxd's gateway opens with (untrusted bytes
 * from any local user). What the parser accepts must hold its invariants and survive a round trip
 * through the client's own formatter. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "gateway/gateway.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    struct sb_gw_hello h, again;
    sb_error err = {0};
    if (sb_gw_hello_parse(data, size, &h, &err) < 0) {
        if (err.msg[0] == '\0') abort(); /* every refusal says why */
        return 0;
    }
    size_t an = strlen(h.agent), tn = strlen(h.token);
    if (size > SB_GW_HELLO_MAX || an == 0 || an > SB_GW_MAX_NAME || tn == 0 ||
        tn > SB_GW_HTTP_TOKEN_MAX)
        abort();
    for (size_t i = 0; i < an; i++)
        if ((uint8_t)h.agent[i] < 0x20 || h.agent[i] == 0x7f) abort();
    if (strspn(h.token, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_") != tn)
        abort();
    char *line = NULL;
    if (sb_gw_hello_format(h.agent, h.token, &line, &err) < 0) abort();
    size_t ln = strlen(line);
    if (ln == 0 || line[ln - 1] != '\n') abort();
    if (sb_gw_hello_parse((const uint8_t *)line, ln - 1, &again, &err) < 0) abort();
    if (strcmp(h.agent, again.agent) != 0 || strcmp(h.token, again.token) != 0) abort();
    free(line);
    return 0;
}
