/* gw_daemon: what hosting the gateway in sealboxd adds to the engine — the hello line a stdio
 * client opens with, the agents' token table, and the configuration copy the front may hold. */
#include <string.h>

#include "crypto/crypto.h"
#include "gateway.h"

#define HELLO_VERSION 1

static bool token_char(uint8_t c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '_';
}

/* A string member: 1..max bytes, every byte allowed by ok (NULL: printable, no control). */
static int hello_str(json_t *o, const char *key, size_t max, bool (*ok)(uint8_t), char *out,
                     size_t cap, sb_error *err) {
    json_t *v = json_object_get(o, key);
    ENSURE(json_is_string(v), err, SB_E_MALFORMED, "hello.%s: missing or not a string", key);
    size_t n = json_string_length(v);
    ENSURE(n >= 1 && n <= max && n < cap, err, SB_E_LIMIT, "hello.%s: must be 1 to %zu bytes", key,
           max);
    sb_reader r;
    sb_reader_init(&r, json_string_value(v), n, key, err);
    for (size_t i = 0; i < n; i++) {
        uint8_t c = 0;
        TRY(sb_reader_u8(&r, &c, key));
        bool good = ok ? ok(c) : (c >= 0x20 && c != 0x7f);
        ENSURE(good, err, SB_E_MALFORMED, "hello.%s: byte %zu (0x%02x) is not allowed", key, i,
               (unsigned)c);
        out[i] = (char)c;
    }
    out[n] = 0;
    return 0;
}

int sb_gw_hello_parse(const uint8_t *p, size_t n, struct sb_gw_hello *out, sb_error *err) {
    memset(out, 0, sizeof(*out));
    ENSURE(n <= SB_GW_HELLO_MAX, err, SB_E_LIMIT, "hello: over %u bytes", SB_GW_HELLO_MAX);
    json_error_t je;
    json_t *o = json_loadb((const char *)p, n, JSON_REJECT_DUPLICATES, &je);
    ENSURE(o, err, SB_E_MALFORMED, "hello: not JSON (byte %d: %s)", je.position, je.text);
    int rc = 0;
    const char *k;
    json_t *v;
    if (!json_is_object(o))
        rc = sb_error_set(err, SB_E_MALFORMED, "hello: not a JSON object");
    else
        json_object_foreach(o, k, v) {
            if (strcmp(k, "sealbox_gateway") && strcmp(k, "agent") && strcmp(k, "token")) {
                rc = sb_error_set(err, SB_E_MALFORMED, "hello.%.64s: unknown member", k);
                break;
            }
        }
    json_t *ver = json_object_get(o, "sealbox_gateway");
    if (rc == 0 && !(json_is_integer(ver) && json_integer_value(ver) == HELLO_VERSION))
        rc = sb_error_set(err, SB_E_MALFORMED, "hello.sealbox_gateway: must be %d", HELLO_VERSION);
    if (rc == 0)
        rc = hello_str(o, "agent", SB_GW_MAX_NAME, NULL, out->agent, sizeof(out->agent), err);
    if (rc == 0)
        rc = hello_str(o, "token", SB_GW_HTTP_TOKEN_MAX, token_char, out->token, sizeof(out->token),
                       err);
    json_decref(o);
    if (rc < 0) explicit_bzero(out, sizeof(*out));
    return rc;
}

int sb_gw_hello_format(const char *agent, const char *token, char **out, sb_error *err) {
    json_t *o =
        json_pack("{sissss}", "sealbox_gateway", HELLO_VERSION, "agent", agent, "token", token);
    ENSURE(o, err, SB_E_USAGE, "hello: agent and token must be UTF-8 text");
    char *s = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    ENSURE(s, err, SB_E_INTERNAL, "out of memory");
    size_t n = strlen(s);
    char *line = malloc(n + 2);
    if (!line) {
        explicit_bzero(s, n);
        free(s);
        BAIL(err, SB_E_INTERNAL, "out of memory");
    }
    memcpy(line, s, n);
    line[n] = '\n';
    line[n + 1] = 0;
    explicit_bzero(s, n);
    free(s);
    *out = line;
    return 0;
}

/* ---- tokens -------------------------------------------------------------------------------- */

struct sb_gw_tokens {
    size_t n;
    struct {
        char agent[SB_GW_MAX_NAME + 1];
        uint8_t hash[32];
    } t[];
};

int sb_gw_tokens_load(const json_t *root, const sb_gw_policy *policy, sb_gw_tokens **out,
                      sb_error *err) {
    json_t *tokens = json_object_get(json_object_get(root, "http"), "tokens");
    ENSURE(json_is_object(tokens) && json_object_size(tokens) > 0, err, SB_E_MALFORMED,
           "http.tokens: missing (agent name -> \"sha256:...\" of its token: sealbox gateway "
           "token)");
    ENSURE(json_object_size(tokens) <= SB_GW_MAX_AGENTS, err, SB_E_LIMIT,
           "http.tokens: over %d agents", SB_GW_MAX_AGENTS);
    sb_gw_tokens *t = calloc(1, sizeof(*t) + json_object_size(tokens) * sizeof(t->t[0]));
    ENSURE(t, err, SB_E_INTERNAL, "out of memory");
    const char *k;
    json_t *v;
    int rc = 0;
    json_object_foreach(tokens, k, v) {
        const char *h = json_string_value(v);
        uint8_t *raw = NULL;
        size_t rawn = 0;
        if (strlen(k) > SB_GW_MAX_NAME)
            rc = sb_error_set(err, SB_E_LIMIT, "http.tokens: an agent name is over %d bytes",
                              SB_GW_MAX_NAME);
        else if (!sb_gw_policy_has_agent(policy, k))
            rc = sb_error_set(err, SB_E_MALFORMED, "http.tokens.%.64s: no such agent in \"agents\"",
                              k);
        else if (!h || strncmp(h, "sha256:", 7) != 0 || strlen(h) != 7 + 64 ||
                 sb_hex_decode(h + 7, 64, &raw, &rawn, err) < 0 || rawn != 32)
            rc = sb_error_set(err, SB_E_MALFORMED,
                              "http.tokens.%.64s: must be \"sha256:\" + 64 hex digits (sealbox "
                              "gateway token)",
                              k);
        if (rc == 0) {
            memcpy(t->t[t->n].hash, raw, 32);
            for (size_t i = 0; i < t->n && rc == 0; i++)
                if (sb_ct_equal(t->t[i].hash, raw, 32))
                    rc = sb_error_set(err, SB_E_MALFORMED,
                                      "http.tokens.%.64s: the same token as agent %.64s", k,
                                      t->t[i].agent);
            snprintf(t->t[t->n].agent, sizeof(t->t[0].agent), "%s", k);
            t->n++;
        }
        free(raw);
        if (rc < 0) break;
    }
    if (rc < 0) {
        free(t);
        return rc;
    }
    *out = t;
    return 0;
}

const char *sb_gw_tokens_agent(const sb_gw_tokens *t, const char *token, size_t n) {
    uint8_t d[32];
    sb_error e = {0};
    if (!t || sb_hash(SB_HASH_SHA256, token, n, d, &e) < 0) return NULL;
    const char *found = NULL;
    for (size_t i = 0; i < t->n; i++) /* every entry, whatever matched */
        if (sb_ct_equal(t->t[i].hash, d, 32) && !found) found = t->t[i].agent;
    return found;
}

void sb_gw_tokens_free(sb_gw_tokens *t) { free(t); }

json_t *sb_gw_config_redacted(const json_t *root) {
    json_t *c = json_deep_copy(root);
    if (!c) return NULL;
    const char *name;
    json_t *srv;
    json_object_foreach(json_object_get(c, "servers"), name, srv) {
        const char *k;
        json_t *v;
        json_t *env = json_object_get(srv, "env");
        if (json_is_object(env)) json_object_foreach(env, k, v) {
                if (json_is_string(v)) (void)json_object_set_new(env, k, json_string(""));
            }
    }
    return c;
}
