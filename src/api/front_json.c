/* front_json: the JSON request bodies of the sandbox endpoints, checked field by field in the
 * front (types, ranges, lengths, character sets, unknown fields) and turned into the typed
 * values of one ipc message. Every refusal names the field. */
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "../sandbox/sandbox.h"
#include "front_int.h"

/* Copies the body out of evhttp's buffer and parses it; NULL (with a reason) when it is not a
 * JSON object. Duplicate keys are refused: two meanings for one field is an attack surface. */
json_t *sb_front_parse_body(const void *p, size_t n, char *why, size_t whylen) {
    if (n == 0) return json_object();
    if (n > SB_FRONT_JSON_MAX) {
        (void)snprintf(why, whylen, "body over %u bytes", SB_FRONT_JSON_MAX);
        return NULL;
    }
    json_error_t e;
    json_t *j = json_loadb(p, n, JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, &e);
    if (!j) {
        (void)snprintf(why, whylen, "invalid JSON at line %d, column %d: %.120s", e.line, e.column,
                       e.text);
        return NULL;
    }
    if (!json_is_object(j)) {
        json_decref(j);
        (void)snprintf(why, whylen, "the body must be a JSON object");
        return NULL;
    }
    return j;
}

static bool text_ok(const char *s, size_t n) {
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f) return false;
    return true;
}

static int fail(struct sb_front_body *b, const char *field, const char *fmt, ...) SB_PRINTF(3, 4);
static int fail(struct sb_front_body *b, const char *field, const char *fmt, ...) {
    char msg[256];
    va_list ap;
    va_start(ap, fmt);
    (void)vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    (void)snprintf(b->why, sizeof(b->why), "%s: %s", field, msg);
    (void)snprintf(b->field, sizeof(b->field), "%s", field);
    return -1;
}

static int only_fields(struct sb_front_body *b, json_t *obj, const char *const *allowed, size_t n,
                       const char *where) {
    const char *k;
    json_t *v;
    json_object_foreach(obj, k, v) {
        bool ok = false;
        for (size_t i = 0; i < n; i++)
            ok = ok || strcmp(k, allowed[i]) == 0;
        if (!ok) {
            char f[96];
            (void)snprintf(f, sizeof(f), "%s%.64s", where, k);
            return fail(b, f, "unknown field");
        }
    }
    return 0;
}

static int get_int(struct sb_front_body *b, json_t *obj, const char *name, const char *field,
                   int64_t min, int64_t max, int64_t def, uint64_t *out) {
    json_t *v = json_object_get(obj, name);
    if (!v || json_is_null(v)) {
        *out = (uint64_t)def;
        return 0;
    }
    if (!json_is_integer(v)) return fail(b, field, "must be an integer");
    json_int_t x = json_integer_value(v);
    if (x < min || x > max)
        return fail(b, field, "must be from %lld to %lld", (long long)min, (long long)max);
    *out = (uint64_t)x;
    return 0;
}

static int get_str(struct sb_front_body *b, json_t *obj, const char *name, const char *field,
                   size_t max, const char *def, const char **out) {
    json_t *v = json_object_get(obj, name);
    if (!v || json_is_null(v)) {
        *out = def;
        return 0;
    }
    if (!json_is_string(v)) return fail(b, field, "must be a string");
    size_t n = json_string_length(v);
    const char *s = json_string_value(v);
    if (n > max) return fail(b, field, "longer than %zu bytes", max);
    if (strlen(s) != n || !text_ok(s, n)) return fail(b, field, "contains control characters");
    *out = s;
    return 0;
}

static bool env_name_ok(const char *k) {
    if (!k[0] || (k[0] >= '0' && k[0] <= '9')) return false;
    for (const char *p = k; *p; p++)
        if (!((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
              *p == '_'))
            return false;
    return true;
}

static bool meta_key_ok(const char *k) {
    if (!k[0]) return false;
    for (const char *p = k; *p; p++)
        if (!((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
              *p == '_' || *p == '-' || *p == '.'))
            return false;
    return true;
}

/* A {"KEY": "VALUE"} object into "KEY=VALUE" strings kept in b->kv storage. */
static int get_kv(struct sb_front_body *b, json_t *obj, const char *name, size_t max_count,
                  size_t key_max, size_t val_max, bool env, sb_ipc_val *out) {
    *out = (sb_ipc_val){.count = 0, .list = NULL};
    json_t *m = json_object_get(obj, name);
    if (!m || json_is_null(m)) return 0;
    if (!json_is_object(m)) return fail(b, name, "must be an object of strings");
    if (json_object_size(m) > max_count) return fail(b, name, "more than %zu entries", max_count);
    sb_ipc_str *list = &b->lists[b->nlists * SB_IPC_LIST_MAX];
    b->nlists++;
    size_t i = 0;
    const char *k;
    json_t *v;
    json_object_foreach(m, k, v) {
        char field[160];
        (void)snprintf(field, sizeof(field), "%s.%.64s", name, k);
        size_t kl = strlen(k);
        if (kl > key_max) return fail(b, field, "name longer than %zu bytes", key_max);
        if (env ? !env_name_ok(k) : !meta_key_ok(k))
            return fail(b, field,
                        env ? "names are [A-Za-z_][A-Za-z0-9_]*" : "keys are [A-Za-z0-9_.-]+");
        if (!json_is_string(v)) return fail(b, field, "must be a string");
        size_t vl = json_string_length(v);
        if (vl > val_max) return fail(b, field, "longer than %zu bytes", val_max);
        const char *s = json_string_value(v);
        if (strlen(s) != vl || !text_ok(s, vl))
            return fail(b, field, "contains control characters");
        size_t need = kl + 1 + vl;
        if (b->kvlen + need > sizeof(b->kv)) return fail(b, name, "too large");
        char *dst = b->kv + b->kvlen;
        memcpy(dst, k, kl);
        dst[kl] = '=';
        memcpy(dst + kl + 1, s, vl);
        list[i++] = (sb_ipc_str){(const uint8_t *)dst, need};
        b->kvlen += need;
    }
    out->count = i;
    out->list = list;
    return 0;
}

static bool image_ok(const char *s) {
    if (!s[0]) return false;
    for (const char *p = s; *p; p++)
        if (!((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
              strchr("._:/@-", *p)))
            return false;
    return true;
}

/* "secrets": [{"path": "repo/type/tag", "file": "/abs/path" | "env": "NAME"}] (no target: the
 * file /run/secrets/<path>) → "path:file=PATH" / "path:env=NAME" strings, each checked as
 * `sealbox run --secret` checks it; two secrets may not share a target, and an env target may
 * not also be in "env". */
static int get_secrets(struct sb_front_body *b, json_t *j, sb_ipc_val *out) {
    static const char *const SEC[] = {"path", "file", "env"};
    *out = (sb_ipc_val){.count = 0, .list = NULL};
    json_t *a = json_object_get(j, "secrets");
    if (!a || json_is_null(a)) return 0;
    if (!json_is_array(a)) return fail(b, "secrets", "must be an array of objects");
    if (json_array_size(a) > SB_PROTO_MAX_SECRETS)
        return fail(b, "secrets", "more than %u secrets", SB_PROTO_MAX_SECRETS);
    sb_ipc_str *list = &b->lists[b->nlists * SB_IPC_LIST_MAX];
    b->nlists++;
    json_t *env = json_object_get(j, "env");
    size_t i;
    json_t *e;
    json_array_foreach(a, i, e) {
        char f[48];
        (void)snprintf(f, sizeof(f), "secrets[%zu]", i);
        if (!json_is_object(e)) return fail(b, f, "must be an object");
        char where[56];
        (void)snprintf(where, sizeof(where), "%s.", f);
        if (only_fields(b, e, SEC, SB_ARRAY_LEN(SEC), where) < 0) return -1;
        const char *path = NULL, *file = NULL, *name = NULL;
        char pf[64], ff[64], ef[64];
        (void)snprintf(pf, sizeof(pf), "%s.path", f);
        (void)snprintf(ff, sizeof(ff), "%s.file", f);
        (void)snprintf(ef, sizeof(ef), "%s.env", f);
        if (get_str(b, e, "path", pf, SB_PROTO_MAX_SECRET_PATH, NULL, &path) < 0 ||
            get_str(b, e, "file", ff, SB_PROTO_MAX_TARGET, NULL, &file) < 0 ||
            get_str(b, e, "env", ef, 128, NULL, &name) < 0)
            return -1;
        if (!path) return fail(b, pf, "is required (repo/type/tag)");
        if (file && name) return fail(b, f, "give file or env, not both");
        char def[SB_PROTO_MAX_SECRET_PATH + 16];
        if (!file && !name) {
            (void)snprintf(def, sizeof(def), "/run/secrets/%s", path);
            file = def;
        }
        struct sb_secret_spec sp = {.path = (char *)path,
                                    .kind = name ? SB_SECRET_ENV : SB_SECRET_FILE,
                                    .target = (char *)(name ? name : file)};
        sb_error err = {0};
        if (sb_secret_spec_check(&sp, &err) < 0) return fail(b, f, "%s", err.msg);
        if (name && json_object_get(env, name)) return fail(b, ef, "%s is also set in env", name);
        for (size_t k = 0; k < i; k++) {
            const char *o = (const char *)list[k].p;
            const char *c = memchr(o, ':', list[k].len);
            bool o_env = c && strncmp(c + 1, "env=", 4) == 0;
            size_t tl = list[k].len - (size_t)(c + (o_env ? 5 : 6) - o);
            const char *t = c + (o_env ? 5 : 6);
            if (o_env == (name != NULL) && tl == strlen(sp.target) && memcmp(t, sp.target, tl) == 0)
                return fail(b, f, "secrets[%zu] goes to the same %s", k, name ? "env" : "file");
        }
        size_t need = strlen(path) + (name ? 5 : 6) + strlen(sp.target);
        if (b->kvlen + need > sizeof(b->kv)) return fail(b, "secrets", "too large");
        char *dst = b->kv + b->kvlen;
        int k = snprintf(dst, sizeof(b->kv) - b->kvlen, "%s:%s=%s", path, name ? "env" : "file",
                         sp.target);
        if (k < 0 || (size_t)k != need) return fail(b, "secrets", "too large");
        list[i] = (sb_ipc_str){(const uint8_t *)dst, need};
        b->kvlen += need;
    }
    out->count = json_array_size(a);
    out->list = list;
    return 0;
}

int sb_front_create_body(json_t *j, struct sb_front_body *b) {
    static const char *const TOP[] = {"image",     "limits",         "env",    "metadata",
                                      "timeout_s", "idle_standby_s", "secrets"};
    static const char *const LIM[] = {"memory_mb", "cpu_millis"};
    if (only_fields(b, j, TOP, SB_ARRAY_LEN(TOP), "") < 0) return -1;
    const char *image = NULL;
    if (get_str(b, j, "image", "image", SB_IPC_IMAGE_MAX, "default", &image) < 0) return -1;
    if (!image_ok(image)) return fail(b, "image", "names are [A-Za-z0-9._:/@-]+");
    json_t *lim = json_object_get(j, "limits");
    uint64_t mem = SB_FRONT_DEF_MEMORY_MB, cpu = 0, timeout = 0, idle = 0;
    if (lim && !json_is_null(lim)) {
        if (!json_is_object(lim)) return fail(b, "limits", "must be an object");
        if (only_fields(b, lim, LIM, SB_ARRAY_LEN(LIM), "limits.") < 0) return -1;
        if (get_int(b, lim, "memory_mb", "limits.memory_mb", 16, 65536, SB_FRONT_DEF_MEMORY_MB,
                    &mem) < 0 ||
            get_int(b, lim, "cpu_millis", "limits.cpu_millis", 0, 256000, 0, &cpu) < 0)
            return -1;
    }
    if (get_int(b, j, "timeout_s", "timeout_s", 1, 86400, SB_FRONT_DEF_TIMEOUT_S, &timeout) < 0 ||
        get_int(b, j, "idle_standby_s", "idle_standby_s", 0, 86400, 0, &idle) < 0)
        return -1;
    b->v[1] = sb_ipc_s(image);
    b->v[2] = sb_ipc_u(mem);
    b->v[3] = sb_ipc_u(cpu);
    b->v[4] = sb_ipc_u(timeout);
    b->v[5] = sb_ipc_u(idle);
    if (get_kv(b, j, "env", SB_IPC_LIST_MAX, 128, 4096, true, &b->v[6]) < 0 ||
        get_kv(b, j, "metadata", 32, 64, 512, false, &b->v[7]) < 0 ||
        get_secrets(b, j, &b->v[8]) < 0)
        return -1;
    b->n = 9;
    return 0;
}

int sb_front_exec_body(json_t *j, struct sb_front_body *b) {
    static const char *const TOP[] = {"cmd",   "args",      "env",       "cwd",
                                      "stdin", "timeout_s", "background"};
    if (only_fields(b, j, TOP, SB_ARRAY_LEN(TOP), "") < 0) return -1;
    json_t *cmd = json_object_get(j, "cmd");
    if (!cmd) return fail(b, "cmd", "is required");
    const char *c = NULL;
    if (get_str(b, j, "cmd", "cmd", SB_IPC_ARG_MAX, NULL, &c) < 0) return -1;
    if (!c || !c[0]) return fail(b, "cmd", "must not be empty");
    json_t *bg = json_object_get(j, "background");
    if (bg && !json_is_boolean(bg)) return fail(b, "background", "must be a boolean");
    sb_ipc_str *argv = &b->lists[b->nlists * SB_IPC_LIST_MAX];
    b->nlists++;
    size_t argc = 0;
    argv[argc++] = (sb_ipc_str){(const uint8_t *)c, strlen(c)};
    json_t *args = json_object_get(j, "args");
    if (args && !json_is_null(args)) {
        if (!json_is_array(args)) return fail(b, "args", "must be an array of strings");
        if (json_array_size(args) > SB_IPC_LIST_MAX - 1)
            return fail(b, "args", "more than %d arguments", SB_IPC_LIST_MAX - 1);
        size_t i;
        json_t *a;
        json_array_foreach(args, i, a) {
            char field[32];
            (void)snprintf(field, sizeof(field), "args[%zu]", i);
            if (!json_is_string(a)) return fail(b, field, "must be a string");
            size_t n = json_string_length(a);
            const char *s = json_string_value(a);
            if (n > SB_IPC_ARG_MAX) return fail(b, field, "longer than %u bytes", SB_IPC_ARG_MAX);
            if (strlen(s) != n || !text_ok(s, n))
                return fail(b, field, "contains control characters");
            argv[argc++] = (sb_ipc_str){(const uint8_t *)s, n};
        }
    }
    const char *cwd = NULL, *in = NULL;
    uint64_t timeout = 0;
    if (get_str(b, j, "cwd", "cwd", SB_IPC_PATH_MAX, "", &cwd) < 0) return -1;
    if (cwd[0] && cwd[0] != '/') return fail(b, "cwd", "must be an absolute path");
    json_t *sin = json_object_get(j, "stdin");
    if (sin && !json_is_null(sin) && !json_is_string(sin))
        return fail(b, "stdin", "must be a string");
    in = sin && json_is_string(sin) ? json_string_value(sin) : "";
    size_t inlen = sin && json_is_string(sin) ? json_string_length(sin) : 0;
    if (inlen > SB_IPC_STDIN_MAX) return fail(b, "stdin", "longer than %u bytes", SB_IPC_STDIN_MAX);
    if (get_int(b, j, "timeout_s", "timeout_s", 1, 3600, SB_FRONT_DEF_EXEC_TIMEOUT_S, &timeout) < 0)
        return -1;
    b->v[2] = (sb_ipc_val){.count = argc, .list = argv};
    if (get_kv(b, j, "env", SB_IPC_LIST_MAX, 128, 4096, true, &b->v[3]) < 0) return -1;
    b->v[4] = sb_ipc_s(cwd);
    b->v[5] = sb_ipc_b(in, inlen);
    /* a background process has no deadline unless it asks for one */
    if (json_is_true(bg) && !json_object_get(j, "timeout_s")) timeout = 0;
    b->v[6] = sb_ipc_u(timeout);
    b->v[7] = sb_ipc_u(json_is_true(bg) ? SB_EXEC_BACKGROUND : SB_EXEC_SYNC);
    b->n = 8;
    return 0;
}
