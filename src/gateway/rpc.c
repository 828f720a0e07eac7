/* rpc: the JSON-RPC 2.0 codec of the gateway — newline framing with a size limit, validation of
 * the four message shapes MCP allows (no batches, no null request ids), and the builders. */
#include <string.h>

#include "gateway.h"

const char *const sb_gw_protocol_versions[] = {"2025-11-25", "2025-06-18", "2025-03-26", NULL};

/* ---- framing --------------------------------------------------------------------------------- */

void sb_rpc_framer_init(sb_rpc_framer *f, size_t max) {
    memset(f, 0, sizeof(*f));
    f->max = max;
}

void sb_rpc_framer_free(sb_rpc_framer *f) {
    free(f->buf);
    memset(f, 0, sizeof(*f));
}

static int framer_append(sb_rpc_framer *f, const uint8_t *p, size_t n) {
    if (n == 0) return 0;
    if (f->len + n > f->cap) {
        size_t cap = f->cap ? f->cap : 4096;
        while (cap < f->len + n)
            cap *= 2;
        if (cap > f->max + 1) cap = f->max + 1;
        uint8_t *nb = realloc(f->buf, cap);
        if (!nb) return SB_E_INTERNAL;
        f->buf = nb;
        f->cap = cap;
    }
    memcpy(f->buf + f->len, p, n);
    f->len += n;
    return 0;
}

/* Keeps the first bytes of a discarded line and a ring of its last bytes. */
static void framer_discard(sb_rpc_framer *f, const uint8_t *p, size_t n) {
    for (size_t i = 0; i < n; i++) {
        if (f->head_len < sizeof(f->head)) f->head[f->head_len++] = p[i];
        f->tail[f->tail_pos % sizeof(f->tail)] = p[i];
        f->tail_pos++;
    }
    f->discarded += n;
}

int sb_rpc_framer_push(sb_rpc_framer *f, const uint8_t *p, size_t n, sb_rpc_line_fn fn, void *ctx) {
    sb_reader r;
    sb_reader_init(&r, p, n, "rpc", NULL);
    while (sb_reader_remaining(&r) > 0) {
        const uint8_t *rest = NULL;
        size_t avail = sb_reader_remaining(&r);
        sb_reader peek = r; /* a view of what is left, without consuming it */
        if (sb_reader_bytes(&peek, avail, &rest, "line") < 0) return SB_E_INTERNAL;
        const uint8_t *nl = memchr(rest, '\n', avail);
        size_t take = nl ? (size_t)(nl - rest) : avail;
        const uint8_t *chunk = NULL;
        if (sb_reader_bytes(&r, take, &chunk, "line") < 0) return SB_E_INTERNAL;
        if (nl && sb_reader_skip(&r, 1, "newline") < 0) return SB_E_INTERNAL;
        if (f->discarding) {
            framer_discard(f, chunk, take);
        } else if (f->len + take > f->max) {
            /* over the limit: keep what we had as the head, drop the rest of the line */
            f->discarding = true;
            f->discarded = 0;
            f->head_len = 0;
            f->tail_pos = 0;
            framer_discard(f, f->buf, f->len);
            framer_discard(f, chunk, take);
            f->len = 0;
        } else if (framer_append(f, chunk, take) < 0) {
            return SB_E_INTERNAL;
        }
        if (!nl) break;
        int rc;
        if (f->discarding) {
            f->discarding = false;
            rc = fn(ctx, SB_RPC_FRAME_OVERSIZE, f->head, f->head_len);
        } else {
            size_t len = f->len;
            if (len > 0 && f->buf[len - 1] == '\r') len--;
            f->len = 0;
            if (len == 0) continue; /* blank lines between messages are tolerated */
            rc = fn(ctx, SB_RPC_FRAME_LINE, f->buf, len);
        }
        if (rc != 0) return rc;
    }
    return 0;
}

/* Reads an integer at s[0..n): digits (optionally after '-') and stops at the first non-digit. */
static bool scan_int(const uint8_t *s, size_t n, int64_t *out) {
    size_t i = 0;
    bool neg = false;
    if (i < n && s[i] == '-') {
        neg = true;
        i++;
    }
    size_t start = i;
    int64_t v = 0;
    while (i < n && s[i] >= '0' && s[i] <= '9' && i - start < 18) {
        v = v * 10 + (s[i] - '0');
        i++;
    }
    if (i == start) return false;
    *out = neg ? -v : v;
    return true;
}

bool sb_rpc_scan_id(const uint8_t *p, size_t n, int64_t *id) {
    static const char key[] = "\"id\":";
    size_t kl = sizeof(key) - 1;
    /* the first "id": key that precedes any nested object */
    for (size_t i = 0; i + kl < n; i++) {
        if (p[i] == '{' && i > 0) break;
        if (memcmp(p + i, key, kl) == 0) return scan_int(p + i + kl, n - i - kl, id);
    }
    return false;
}

bool sb_rpc_framer_oversize_id(const sb_rpc_framer *f, int64_t *id) {
    static const char key[] = "\"id\":";
    size_t kl = sizeof(key) - 1;
    if (sb_rpc_scan_id(f->head, f->head_len, id)) return true;
    /* tail: ,"id":N} at the very end of the line */
    size_t tl = f->tail_pos < sizeof(f->tail) ? f->tail_pos : sizeof(f->tail);
    uint8_t t[sizeof(f->tail)] = {0};
    for (size_t i = 0; i < tl; i++)
        t[i] = f->tail[(f->tail_pos - tl + i) % sizeof(f->tail)];
    size_t end = tl;
    while (end > 0 && (t[end - 1] == '\r' || t[end - 1] == ' '))
        end--;
    if (end == 0 || t[end - 1] != '}') return false;
    size_t d = end - 1;
    while (d > 0 && ((t[d - 1] >= '0' && t[d - 1] <= '9') || t[d - 1] == '-'))
        d--;
    if (d < kl + 1 || d == end - 1) return false;
    if (memcmp(t + d - kl, key, kl) != 0 || t[d - kl - 1] != ',') return false;
    return scan_int(t + d, end - 1 - d, id);
}

/* ---- parsing -----------------------------------------------------------------------------------
 */

static int depth_of(const json_t *v, int limit) {
    if (limit < 0) return 1;
    int max = 0;
    if (json_is_object(v)) {
        const char *k;
        json_t *c;
        json_object_foreach((json_t *)v, k, c) {
            int d = depth_of(c, limit - 1);
            if (d > max) max = d;
            if (max > limit) break;
        }
        return max + 1;
    }
    if (json_is_array(v)) {
        size_t i;
        json_t *c;
        json_array_foreach(v, i, c) {
            int d = depth_of(c, limit - 1);
            if (d > max) max = d;
            if (max > limit) break;
        }
        return max + 1;
    }
    return 0;
}

static bool id_valid(const json_t *id, sb_error *err) {
    if (json_is_integer(id)) return true;
    if (json_is_string(id)) {
        if (json_string_length(id) > SB_RPC_ID_STR_MAX) {
            sb_error_set(err, SB_E_LIMIT, "id: a string id of %zu bytes is over %u",
                         json_string_length(id), SB_RPC_ID_STR_MAX);
            return false;
        }
        return true;
    }
    if (json_is_null(id))
        sb_error_set(err, SB_E_MALFORMED, "id: must not be null");
    else
        sb_error_set(err, SB_E_MALFORMED, "id: must be a string or an integer");
    return false;
}

void sb_rpc_msg_clear(sb_rpc_msg *m) {
    json_decref(m->root);
    memset(m, 0, sizeof(*m));
}

int sb_rpc_parse(const uint8_t *line, size_t len, sb_rpc_msg *out, int *rpc_code, json_t **reply_id,
                 sb_error *err) {
    *rpc_code = SB_RPC_PARSE_ERROR;
    *reply_id = NULL;
    if (len > SB_RPC_MSG_MAX && len > SB_GW_RESPONSE_HARD)
        BAIL(err, SB_E_LIMIT, "message: %zu bytes is over the limit", len);
    json_error_t je;
    json_t *root = json_loadb((const char *)line, len, JSON_REJECT_DUPLICATES, &je);
    if (!root) {
        /* a single JSON value that is not an object/array (jansson refuses those without
         * JSON_DECODE_ANY) is an invalid request, not a parse error */
        json_error_t je2;
        json_t *any =
            json_loadb((const char *)line, len, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, &je2);
        if (any) {
            json_decref(any);
            *rpc_code = SB_RPC_INVALID_REQUEST;
            BAIL(err, SB_E_MALFORMED, "message: must be a JSON object");
        }
        BAIL(err, SB_E_MALFORMED, "message: not JSON (offset %d: %s)", je.position, je.text);
    }
    *rpc_code = SB_RPC_INVALID_REQUEST;
    if (json_is_array(root)) {
        json_decref(root);
        BAIL(err, SB_E_UNSUPPORTED, "message: batches are not supported (MCP 2025-06-18)");
    }
    if (!json_is_object(root)) {
        json_decref(root);
        BAIL(err, SB_E_MALFORMED, "message: must be a JSON object");
    }
    if (depth_of(root, SB_RPC_DEPTH_MAX) > SB_RPC_DEPTH_MAX) {
        json_decref(root);
        BAIL(err, SB_E_LIMIT, "message: nested deeper than %d", SB_RPC_DEPTH_MAX);
    }
    sb_rpc_msg m = {.root = root};
    json_t *id = json_object_get(root, "id");
    json_t *method = json_object_get(root, "method");
    json_t *params = json_object_get(root, "params");
    json_t *result = json_object_get(root, "result");
    json_t *error = json_object_get(root, "error");
    /* the id to answer to, when it is readable at all */
    if (id && (json_is_integer(id) ||
               (json_is_string(id) && json_string_length(id) <= SB_RPC_ID_STR_MAX)))
        *reply_id = json_incref(id);
    int rc = 0;
    json_t *ver = json_object_get(root, "jsonrpc");
    if (!json_is_string(ver) || strcmp(json_string_value(ver), "2.0") != 0) {
        rc = sb_error_set(err, SB_E_MALFORMED, "jsonrpc: must be \"2.0\"");
        goto fail;
    }
    const char *k;
    json_t *v;
    json_object_foreach(root, k, v) {
        if (strcmp(k, "jsonrpc") && strcmp(k, "id") && strcmp(k, "method") && strcmp(k, "params") &&
            strcmp(k, "result") && strcmp(k, "error")) {
            rc = sb_error_set(err, SB_E_MALFORMED, "%.64s: not a JSON-RPC member", k);
            goto fail;
        }
    }
    if (method) {
        if (result || error) {
            rc = sb_error_set(err, SB_E_MALFORMED, "method: a request cannot carry %s",
                              result ? "result" : "error");
            goto fail;
        }
        if (!json_is_string(method) || json_string_length(method) == 0) {
            rc = sb_error_set(err, SB_E_MALFORMED, "method: must be a non-empty string");
            goto fail;
        }
        if (json_string_length(method) > SB_RPC_METHOD_MAX) {
            rc = sb_error_set(err, SB_E_LIMIT, "method: over %u bytes", SB_RPC_METHOD_MAX);
            goto fail;
        }
        if (strlen(json_string_value(method)) != json_string_length(method)) {
            rc = sb_error_set(err, SB_E_MALFORMED, "method: contains NUL");
            goto fail;
        }
        if (params && !json_is_object(params)) {
            rc = sb_error_set(err, SB_E_MALFORMED, "params: must be an object");
            goto fail;
        }
        m.method = json_string_value(method);
        m.params = params;
        if (id) {
            if (!id_valid(id, err)) {
                rc = err ? err->code : SB_E_MALFORMED;
                goto fail;
            }
            m.kind = SB_RPC_REQUEST;
            m.id = id;
        } else {
            m.kind = SB_RPC_NOTIFICATION;
        }
    } else if (result || error) {
        if (result && error) {
            rc = sb_error_set(err, SB_E_MALFORMED,
                              "result: a response cannot carry both result "
                              "and error");
            goto fail;
        }
        if (params) {
            rc = sb_error_set(err, SB_E_MALFORMED, "params: a response cannot carry params");
            goto fail;
        }
        if (!id) {
            rc = sb_error_set(err, SB_E_MALFORMED, "id: a response must carry an id");
            goto fail;
        }
        if (result) {
            if (!id_valid(id, err)) {
                rc = err ? err->code : SB_E_MALFORMED;
                goto fail;
            }
            if (!json_is_object(result)) {
                rc = sb_error_set(err, SB_E_MALFORMED, "result: must be an object");
                goto fail;
            }
            m.kind = SB_RPC_RESULT;
            m.result = result;
        } else {
            if (!json_is_null(id) && !id_valid(id, err)) {
                rc = err ? err->code : SB_E_MALFORMED;
                goto fail;
            }
            json_t *code = json_object_get(error, "code");
            json_t *msg = json_object_get(error, "message");
            if (!json_is_object(error)) {
                rc = sb_error_set(err, SB_E_MALFORMED, "error: must be an object");
                goto fail;
            }
            if (!json_is_integer(code)) {
                rc = sb_error_set(err, SB_E_MALFORMED, "error.code: must be an integer");
                goto fail;
            }
            if (!json_is_string(msg)) {
                rc = sb_error_set(err, SB_E_MALFORMED, "error.message: must be a string");
                goto fail;
            }
            m.kind = SB_RPC_ERROR;
            m.error = error;
            m.error_code = json_integer_value(code);
        }
        m.id = id;
    } else {
        rc = sb_error_set(err, SB_E_MALFORMED, "method: missing (and no result or error)");
        goto fail;
    }
    *out = m;
    return 0;
fail:
    json_decref(root);
    return rc;
}

/* ---- building ----------------------------------------------------------------------------------
 */

json_t *sb_rpc_result(json_t *id, json_t *result_stolen) {
    json_t *o = json_object();
    if (!o || !result_stolen) {
        json_decref(o);
        json_decref(result_stolen);
        return NULL;
    }
    json_object_set_new(o, "jsonrpc", json_string("2.0"));
    json_object_set(o, "id", id ? id : json_null());
    json_object_set_new(o, "result", result_stolen);
    return o;
}

json_t *sb_rpc_error(json_t *id, int code, const char *message, json_t *data_stolen) {
    json_t *o = json_object(), *e = json_object();
    if (!o || !e) {
        json_decref(o);
        json_decref(e);
        json_decref(data_stolen);
        return NULL;
    }
    json_object_set_new(e, "code", json_integer(code));
    json_object_set_new(e, "message", json_string(message ? message : "error"));
    if (!json_object_get(e, "message")) /* not UTF-8: keep the code */
        json_object_set_new(e, "message", json_string("error"));
    if (data_stolen) json_object_set_new(e, "data", data_stolen);
    json_object_set_new(o, "jsonrpc", json_string("2.0"));
    json_object_set(o, "id", id ? id : json_null());
    json_object_set_new(o, "error", e);
    return o;
}

json_t *sb_rpc_request(json_t *id, const char *method, json_t *params_stolen) {
    json_t *o = json_object();
    if (!o) {
        json_decref(params_stolen);
        return NULL;
    }
    json_object_set_new(o, "jsonrpc", json_string("2.0"));
    json_object_set(o, "id", id);
    json_object_set_new(o, "method", json_string(method));
    if (params_stolen) json_object_set_new(o, "params", params_stolen);
    return o;
}

json_t *sb_rpc_notification(const char *method, json_t *params_stolen) {
    json_t *o = json_object();
    if (!o) {
        json_decref(params_stolen);
        return NULL;
    }
    json_object_set_new(o, "jsonrpc", json_string("2.0"));
    json_object_set_new(o, "method", json_string(method));
    if (params_stolen) json_object_set_new(o, "params", params_stolen);
    return o;
}

int sb_rpc_dump(const json_t *msg, size_t max, char **out, size_t *len, sb_error *err) {
    char *s = json_dumps(msg, JSON_COMPACT | JSON_ENCODE_ANY);
    if (!s) BAIL(err, SB_E_INTERNAL, "rpc: cannot serialize a message");
    size_t n = strlen(s);
    if (n + 1 > max) {
        free(s);
        BAIL(err, SB_E_LIMIT, "rpc: message of %zu bytes is over %zu", n, max);
    }
    char *r = realloc(s, n + 2);
    if (!r) {
        free(s);
        BAIL(err, SB_E_INTERNAL, "out of memory");
    }
    r[n] = '\n';
    r[n + 1] = 0;
    *out = r;
    *len = n + 1;
    return 0;
}
