/* config: the "servers" object of a gateway configuration — how each MCP server is launched
 * (command, args, env, mounts, sandbox limits) and how the gateway treats it (timeouts, size
 * limits, pinning). Strict: unknown members and bad values are errors naming their JSON path. */
#include <string.h>

#include "gateway.h"

#define CFG_FILE_MAX (1u << 20)
#define CFG_ARGS_MAX 256
#define CFG_ENV_MAX 256
#define CFG_MOUNTS_MAX 16
#define CFG_STR_MAX 4096

static void server_free(struct sb_gw_server_config *s) {
    if (s->argv)
        for (char **p = s->argv; *p; p++)
            free(*p);
    free(s->argv);
    if (s->env)
        for (char **p = s->env; *p; p++)
            free(*p);
    free(s->env);
    for (size_t i = 0; i < s->n_mounts; i++) {
        free(s->mounts[i].src);
        free(s->mounts[i].dst);
    }
    free(s->mounts);
    free(s->workdir);
    if (s->headers)
        for (char **p = s->headers; *p; p++)
            free(*p);
    free(s->headers);
    free(s->url);
    free(s->ca_file);
}

void sb_gw_config_free(sb_gw_config *c) {
    if (!c) return;
    for (size_t i = 0; i < c->n_servers; i++)
        server_free(&c->servers[i]);
    free(c->servers);
    json_decref(c->root);
    free(c);
}

static bool name_valid(const char *n) {
    size_t len = strlen(n);
    if (len == 0 || len > SB_GW_SERVER_NAME_MAX) return false;
    for (size_t i = 0; i < len; i++) {
        char c = n[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '-'))
            return false;
    }
    return true;
}

static bool env_key_valid(const char *k) {
    if (!*k || (*k >= '0' && *k <= '9')) return false;
    for (; *k; k++)
        if (!((*k >= 'a' && *k <= 'z') || (*k >= 'A' && *k <= 'Z') || (*k >= '0' && *k <= '9') ||
              *k == '_'))
            return false;
    return true;
}

static int get_str(json_t *v, const char *path, const char *field, char **out, sb_error *err) {
    if (!json_is_string(v)) BAIL(err, SB_E_MALFORMED, "%s.%s: must be a string", path, field);
    size_t n = json_string_length(v);
    if (n > CFG_STR_MAX) BAIL(err, SB_E_LIMIT, "%s.%s: over %u bytes", path, field, CFG_STR_MAX);
    if (strlen(json_string_value(v)) != n)
        BAIL(err, SB_E_MALFORMED, "%s.%s: contains NUL", path, field);
    *out = strdup(json_string_value(v));
    if (!*out) BAIL(err, SB_E_INTERNAL, "out of memory");
    return 0;
}

/* "512M", "1G", "65536", or a JSON integer of bytes. */
static int get_size(json_t *v, const char *path, const char *field, uint64_t *out, sb_error *err) {
    if (json_is_integer(v) && json_integer_value(v) > 0) {
        *out = (uint64_t)json_integer_value(v);
        return 0;
    }
    if (!json_is_string(v))
        BAIL(err, SB_E_MALFORMED, "%s.%s: must be a size such as \"512M\"", path, field);
    const char *s = json_string_value(v);
    uint64_t n = 0;
    size_t i = 0;
    for (; s[i] >= '0' && s[i] <= '9'; i++) {
        if (n > (UINT64_MAX - 9) / 10) BAIL(err, SB_E_LIMIT, "%s.%s: too large", path, field);
        n = n * 10 + (uint64_t)(s[i] - '0');
    }
    unsigned shift = 0;
    if (i == 0) BAIL(err, SB_E_MALFORMED, "%s.%s: '%s' is not a size", path, field, s);
    if (s[i] == 'K' || s[i] == 'k')
        shift = 10;
    else if (s[i] == 'M' || s[i] == 'm')
        shift = 20;
    else if (s[i] == 'G' || s[i] == 'g')
        shift = 30;
    else if (s[i])
        BAIL(err, SB_E_MALFORMED, "%s.%s: '%s' is not a size", path, field, s);
    if (s[i] && s[i + 1]) BAIL(err, SB_E_MALFORMED, "%s.%s: '%s' is not a size", path, field, s);
    if (n == 0 || n > (UINT64_MAX >> shift))
        BAIL(err, SB_E_LIMIT, "%s.%s: '%s' is out of range", path, field, s);
    *out = n << shift;
    return 0;
}

static int get_uint(json_t *v, const char *path, const char *field, uint64_t min, uint64_t max,
                    uint64_t *out, sb_error *err) {
    if (!json_is_integer(v) || json_integer_value(v) < 0 || (uint64_t)json_integer_value(v) < min ||
        (uint64_t)json_integer_value(v) > max)
        BAIL(err, SB_E_MALFORMED, "%s.%s: must be an integer in [%llu, %llu]", path, field,
             (unsigned long long)min, (unsigned long long)max);
    *out = (uint64_t)json_integer_value(v);
    return 0;
}

static int parse_mounts(json_t *arr, const char *path, struct sb_gw_server_config *s,
                        sb_error *err) {
    if (!json_is_array(arr)) BAIL(err, SB_E_MALFORMED, "%s.mounts: must be an array", path);
    size_t n = json_array_size(arr);
    if (n > CFG_MOUNTS_MAX)
        BAIL(err, SB_E_LIMIT, "%s.mounts: over %u entries", path, CFG_MOUNTS_MAX);
    s->mounts = calloc(n ? n : 1, sizeof(*s->mounts));
    if (!s->mounts) BAIL(err, SB_E_INTERNAL, "out of memory");
    for (size_t i = 0; i < n; i++) {
        char mp[160];
        snprintf(mp, sizeof(mp), "%s.mounts[%zu]", path, i);
        json_t *m = json_array_get(arr, i);
        if (!json_is_object(m)) BAIL(err, SB_E_MALFORMED, "%s: must be an object", mp);
        struct sb_gw_mount *d = &s->mounts[i];
        s->n_mounts = i + 1;
        d->ro = true;
        const char *k;
        json_t *v;
        json_object_foreach(m, k, v) {
            if (strcmp(k, "src") == 0)
                TRY(get_str(v, mp, "src", &d->src, err));
            else if (strcmp(k, "dst") == 0)
                TRY(get_str(v, mp, "dst", &d->dst, err));
            else if (strcmp(k, "writable") == 0) {
                if (!json_is_boolean(v))
                    BAIL(err, SB_E_MALFORMED, "%s.writable: must be a boolean", mp);
                d->ro = !json_is_true(v);
            } else
                BAIL(err, SB_E_MALFORMED, "%s.%.64s: unknown member (src, dst, writable)", mp, k);
        }
        if (!d->src || d->src[0] != '/')
            BAIL(err, SB_E_MALFORMED, "%s.src: must be an absolute host path", mp);
        if (!d->dst || d->dst[0] != '/')
            BAIL(err, SB_E_MALFORMED, "%s.dst: must be an absolute path inside the sandbox", mp);
    }
    return 0;
}

/* "headers": {"Name": "value" | {"file": "/path"}} — a value from a file (a secret the
 * configuration should not hold) is read once, here; one trailing newline is dropped. */
static int parse_headers(json_t *h, const char *path, struct sb_gw_server_config *s,
                         sb_error *err) {
    if (!json_is_object(h)) BAIL(err, SB_E_MALFORMED, "%s.headers: must be an object", path);
    size_t n = json_object_size(h);
    if (n > SB_GW_REMOTE_HEADERS_MAX)
        BAIL(err, SB_E_LIMIT, "%s.headers: over %d entries", path, SB_GW_REMOTE_HEADERS_MAX);
    s->headers = calloc(n + 1, sizeof(char *));
    if (!s->headers) BAIL(err, SB_E_INTERNAL, "out of memory");
    size_t i = 0;
    const char *k;
    json_t *v;
    json_object_foreach(h, k, v) {
        char *val = NULL;
        if (json_is_object(v)) {
            json_t *f = json_object_get(v, "file");
            if (!json_is_string(f) || json_object_size(v) != 1 || json_string_value(f)[0] != '/')
                BAIL(err, SB_E_MALFORMED,
                     "%s.headers.%.64s: must be a string or {\"file\": \"/absolute/path\"}", path,
                     k);
            uint8_t *buf = NULL;
            size_t len = 0;
            int rc =
                sb_read_file(json_string_value(f), SB_GW_REMOTE_HEADER_MAX + 1, &buf, &len, err);
            if (rc < 0) return sb_error_prefix(err, "%s.headers.%.64s", path, k);
            if (len > 0 && buf[len - 1] == '\n') buf[--len] = 0;
            if (len > 0 && buf[len - 1] == '\r') buf[--len] = 0;
            if (strlen((char *)buf) != len) {
                free(buf);
                BAIL(err, SB_E_MALFORMED, "%s.headers.%.64s: the file holds a NUL", path, k);
            }
            val = (char *)buf;
        } else {
            TRY(get_str(v, path, "headers", &val, err));
        }
        sb_error e = {0};
        if (strlen(val) > SB_GW_REMOTE_HEADER_MAX || sb_gw_remote_header_check(k, val, &e) < 0) {
            free(val);
            if (!e.msg[0]) snprintf(e.msg, sizeof(e.msg), "over %d bytes", SB_GW_REMOTE_HEADER_MAX);
            BAIL(err, SB_E_MALFORMED, "%s.headers.%.64s: %s", path, k, e.msg);
        }
        size_t len = strlen(k) + strlen(val) + 3;
        s->headers[i] = malloc(len);
        if (!s->headers[i]) {
            free(val);
            BAIL(err, SB_E_INTERNAL, "out of memory");
        }
        snprintf(s->headers[i], len, "%s: %s", k, val);
        i++;
        explicit_bzero(val, strlen(val));
        free(val);
    }
    return 0;
}

static int parse_server(const char *name, json_t *o, struct sb_gw_server_config *s, sb_error *err) {
    char path[64];
    snprintf(path, sizeof(path), "servers.%.40s", name);
    if (!name_valid(name))
        BAIL(err, SB_E_MALFORMED,
             "%s: a server name is 1-%d characters of [A-Za-z0-9-] (no '_': tools are named "
             "server" SB_GW_SEP "tool)",
             path, SB_GW_SERVER_NAME_MAX);
    if (!json_is_object(o)) BAIL(err, SB_E_MALFORMED, "%s: must be an object", path);
    snprintf(s->name, sizeof(s->name), "%s", name);
    s->sandbox = SB_GW_SANDBOX_JAIL;
    s->pin = SB_GW_PIN_MANUAL;
    s->timeout_ms = SB_GW_TIMEOUT_MS;
    s->max_message_bytes = SB_GW_RESPONSE_MAX;
    s->stderr_inherit = true;
    json_t *command = NULL, *args = NULL, *env = NULL;
    const char *k, *local = NULL; /* a member that only a launched server has */
    json_t *v;
    json_object_foreach(o, k, v) {
        if (strcmp(k, "url") == 0 || strcmp(k, "headers") == 0 || strcmp(k, "ca_file") == 0 ||
            strcmp(k, "pin") == 0 || strcmp(k, "timeout_ms") == 0 ||
            strcmp(k, "max_message_bytes") == 0 || strcmp(k, "description") == 0) {
        } else if (!local) {
            local = k;
        }
        if (strcmp(k, "url") == 0) {
            TRY(get_str(v, path, "url", &s->url, err));
            sb_error e = {0};
            if (sb_gw_remote_url_check(s->url, &e) < 0)
                BAIL(err, e.code ? e.code : SB_E_MALFORMED, "%s.url: %s", path, e.msg);
        } else if (strcmp(k, "headers") == 0) {
            TRY(parse_headers(v, path, s, err));
        } else if (strcmp(k, "ca_file") == 0) {
            TRY(get_str(v, path, "ca_file", &s->ca_file, err));
            if (s->ca_file[0] != '/')
                BAIL(err, SB_E_MALFORMED, "%s.ca_file: must be an absolute path", path);
        } else if (strcmp(k, "description") == 0) {
            if (!json_is_string(v))
                BAIL(err, SB_E_MALFORMED, "%s.description: must be a string", path);
        } else if (strcmp(k, "command") == 0)
            command = v;
        else if (strcmp(k, "args") == 0)
            args = v;
        else if (strcmp(k, "env") == 0)
            env = v;
        else if (strcmp(k, "mounts") == 0)
            TRY(parse_mounts(v, path, s, err));
        else if (strcmp(k, "workdir") == 0) {
            TRY(get_str(v, path, "workdir", &s->workdir, err));
            if (s->workdir[0] != '/')
                BAIL(err, SB_E_MALFORMED, "%s.workdir: must be absolute", path);
        } else if (strcmp(k, "sandbox") == 0) {
            const char *t = json_string_value(v);
            if (t && strcmp(t, "jail") == 0)
                s->sandbox = SB_GW_SANDBOX_JAIL;
            else if (t && strcmp(t, "none") == 0)
                s->sandbox = SB_GW_SANDBOX_NONE;
            else
                BAIL(err, SB_E_MALFORMED, "%s.sandbox: must be \"jail\" or \"none\"", path);
        } else if (strcmp(k, "network") == 0) {
            const char *t = json_string_value(v);
            if (t && (strcmp(t, "none") == 0 || strcmp(t, "host") == 0)) {
                s->net_host = strcmp(t, "host") == 0;
                continue;
            }
            BAIL(err, SB_E_MALFORMED, "%s.network: must be \"none\" or \"host\"", path);
        } else if (strcmp(k, "pin") == 0) {
            const char *t = json_string_value(v);
            if (t && strcmp(t, "manual") == 0)
                s->pin = SB_GW_PIN_MANUAL;
            else if (t && strcmp(t, "tofu") == 0)
                s->pin = SB_GW_PIN_TOFU;
            else if (t && strcmp(t, "off") == 0)
                s->pin = SB_GW_PIN_OFF;
            else
                BAIL(err, SB_E_MALFORMED, "%s.pin: must be \"manual\", \"tofu\" or \"off\"", path);
        } else if (strcmp(k, "stderr") == 0) {
            const char *t = json_string_value(v);
            if (t && strcmp(t, "inherit") == 0)
                s->stderr_inherit = true;
            else if (t && strcmp(t, "discard") == 0)
                s->stderr_inherit = false;
            else
                BAIL(err, SB_E_MALFORMED, "%s.stderr: must be \"inherit\" or \"discard\"", path);
        } else if (strcmp(k, "memory") == 0) {
            TRY(get_size(v, path, "memory", &s->memory_bytes, err));
        } else if (strcmp(k, "pids") == 0) {
            TRY(get_uint(v, path, "pids", 8, 100000, &s->pids, err));
        } else if (strcmp(k, "cpus") == 0) {
            if (!json_is_number(v) || json_number_value(v) <= 0 || json_number_value(v) > 1024)
                BAIL(err, SB_E_MALFORMED, "%s.cpus: must be a number in (0, 1024]", path);
            s->cpu_millis = (uint64_t)(json_number_value(v) * 1000.0);
        } else if (strcmp(k, "timeout_ms") == 0) {
            TRY(get_uint(v, path, "timeout_ms", 1, 3600000, &s->timeout_ms, err));
        } else if (strcmp(k, "max_message_bytes") == 0) {
            TRY(get_size(v, path, "max_message_bytes", &s->max_message_bytes, err));
            if (s->max_message_bytes > SB_GW_RESPONSE_HARD || s->max_message_bytes < 1024)
                BAIL(err, SB_E_LIMIT, "%s.max_message_bytes: must be in [1K, %uM]", path,
                     SB_GW_RESPONSE_HARD >> 20);
        } else {
            BAIL(err, SB_E_MALFORMED, "%s.%.64s: unknown member", path, k);
        }
    }
    if (s->url) {
        if (local)
            BAIL(err, SB_E_MALFORMED,
                 "%s.%.64s: not with \"url\" (a remote server is not launched or sandboxed here)",
                 path, local);
        s->sandbox = SB_GW_SANDBOX_NONE;
        return 0;
    }
    if (s->headers || s->ca_file)
        BAIL(err, SB_E_MALFORMED, "%s.%s: only with \"url\" (a remote server)", path,
             s->headers ? "headers" : "ca_file");
    if (!command)
        BAIL(err, SB_E_MALFORMED, "%s.command: missing (or \"url\" for a remote server)", path);
    if (args && !json_is_array(args)) BAIL(err, SB_E_MALFORMED, "%s.args: must be an array", path);
    size_t na = args ? json_array_size(args) : 0;
    if (na > CFG_ARGS_MAX) BAIL(err, SB_E_LIMIT, "%s.args: over %u entries", path, CFG_ARGS_MAX);
    s->argv = calloc(na + 2, sizeof(char *));
    if (!s->argv) BAIL(err, SB_E_INTERNAL, "out of memory");
    TRY(get_str(command, path, "command", &s->argv[0], err));
    if (!s->argv[0][0]) BAIL(err, SB_E_MALFORMED, "%s.command: must not be empty", path);
    for (size_t i = 0; i < na; i++) {
        char f[32];
        snprintf(f, sizeof(f), "args[%zu]", i);
        TRY(get_str(json_array_get(args, i), path, f, &s->argv[i + 1], err));
    }
    if (env && !json_is_object(env)) BAIL(err, SB_E_MALFORMED, "%s.env: must be an object", path);
    size_t ne = env ? json_object_size(env) : 0;
    if (ne > CFG_ENV_MAX) BAIL(err, SB_E_LIMIT, "%s.env: over %u entries", path, CFG_ENV_MAX);
    s->env = calloc(ne + 2, sizeof(char *));
    if (!s->env) BAIL(err, SB_E_INTERNAL, "out of memory");
    size_t ei = 0;
    bool has_path = false;
    if (env) {
        json_object_foreach(env, k, v) {
            if (!env_key_valid(k))
                BAIL(err, SB_E_MALFORMED, "%s.env.%.64s: not a valid variable name", path, k);
            if (!json_is_string(v) || strlen(json_string_value(v)) != json_string_length(v) ||
                json_string_length(v) > CFG_STR_MAX)
                BAIL(err, SB_E_MALFORMED, "%s.env.%.64s: must be a string without NUL", path, k);
            size_t len = strlen(k) + json_string_length(v) + 2;
            s->env[ei] = malloc(len);
            if (!s->env[ei]) BAIL(err, SB_E_INTERNAL, "out of memory");
            snprintf(s->env[ei], len, "%s=%s", k, json_string_value(v));
            ei++;
            if (strcmp(k, "PATH") == 0) has_path = true;
        }
    }
    if (!has_path) {
        s->env[ei] = strdup("PATH=/usr/local/bin:/usr/bin:/bin");
        if (!s->env[ei]) BAIL(err, SB_E_INTERNAL, "out of memory");
    }
    return 0;
}

int sb_gw_config_parse(json_t *root, sb_gw_config **out, sb_error *err) {
    if (!json_is_object(root)) BAIL(err, SB_E_MALFORMED, "config: must be a JSON object");
    json_t *servers = json_object_get(root, "servers");
    if (!json_is_object(servers)) BAIL(err, SB_E_MALFORMED, "servers: missing or not an object");
    size_t n = json_object_size(servers);
    if (n > SB_GW_SERVERS_MAX) BAIL(err, SB_E_LIMIT, "servers: over %d servers", SB_GW_SERVERS_MAX);
    sb_gw_config *c = calloc(1, sizeof(*c));
    if (!c) BAIL(err, SB_E_INTERNAL, "out of memory");
    c->servers = calloc(n ? n : 1, sizeof(*c->servers));
    if (!c->servers) {
        free(c);
        BAIL(err, SB_E_INTERNAL, "out of memory");
    }
    const char *k;
    json_t *v;
    json_object_foreach(servers, k, v) {
        int rc = parse_server(k, v, &c->servers[c->n_servers], err);
        c->n_servers++;
        if (rc < 0) {
            sb_gw_config_free(c);
            return rc;
        }
    }
    c->root = json_incref(root);
    *out = c;
    return 0;
}

int sb_gw_config_load(const char *path, sb_gw_config **out, sb_error *err) {
    uint8_t *buf = NULL;
    size_t len = 0;
    TRY(sb_read_file(path, CFG_FILE_MAX, &buf, &len, err));
    json_error_t je;
    json_t *root = json_loadb((const char *)buf, len, JSON_REJECT_DUPLICATES, &je);
    free(buf);
    if (!root)
        BAIL(err, SB_E_MALFORMED, "%s: line %d column %d: %s", path, je.line, je.column, je.text);
    int rc = sb_gw_config_parse(root, out, err);
    json_decref(root);
    if (rc < 0) return sb_error_prefix(err, "%s", path);
    return 0;
}
