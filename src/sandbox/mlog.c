/* mlog: the per-sandbox measurement log — events (image, config, entrypoint, execs) chained
 * with SHA-384 like a PCR, its canonical export, and the replay of an exported (untrusted) log. */
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "crypto/crypto.h"
#include "internal.h"

#define DLEN SB_MLOG_DIGEST_LEN
#define MLOG_NAME_MAX 256 /* bytes of one environment variable name */

struct sb_mlog {
    char **events; /* canonical JSON, one per event */
    size_t n, bytes;
    uint8_t digest[DLEN];
    size_t execs;
};

static const char *const KINDS[] = {"image", "config", "entrypoint", "exec"};
enum { K_IMAGE, K_CONFIG, K_ENTRY, K_EXEC, K_MAX };

/* ---- the chain ---------------------------------------------------------------------------- */

static int extend(uint8_t state[DLEN], const char *canon, size_t len, sb_error *err) {
    uint8_t buf[2 * DLEN];
    memcpy(buf, state, DLEN);
    TRY(sb_hash(SB_HASH_SHA384, canon, len, buf + DLEN, err));
    return sb_hash(SB_HASH_SHA384, buf, sizeof(buf), state, err);
}

void sb_mlog_digest_str(const uint8_t d[DLEN], char out[104]) {
    memcpy(out, "sha384:", 7);
    sb_hex_encode(d, DLEN, out + 7);
}

static int append(sb_mlog *l, json_t *ev, sb_error *err) {
    if (!ev) BAIL(err, SB_E_INTERNAL, "mlog: out of memory");
    char *canon = NULL;
    size_t len = 0;
    int rc = sb_json_canonical(ev, &canon, &len, err);
    json_decref(ev);
    TRY(rc);
    if (l->n >= SB_MLOG_MAX_EVENTS || len > SB_MLOG_MAX_BYTES - l->bytes) {
        free(canon);
        BAIL(err, SB_E_LIMIT, "mlog: the measurement log is full (%u events, %u bytes at most)",
             SB_MLOG_MAX_EVENTS, SB_MLOG_MAX_BYTES);
    }
    char **v = realloc(l->events, (l->n + 1) * sizeof(*v));
    if (!v) {
        free(canon);
        BAIL(err, SB_E_INTERNAL, "mlog: out of memory");
    }
    l->events = v;
    rc = extend(l->digest, canon, len, err);
    if (rc < 0) {
        free(canon);
        return rc;
    }
    l->events[l->n++] = canon;
    l->bytes += len;
    return 0;
}

/* ---- building ------------------------------------------------------------------------------ */

static int cmp_str(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Sorted, unique names of "NAME=VALUE" strings. */
static json_t *env_names(char *const *env) {
    size_t n = 0;
    while (env && env[n])
        n++;
    char **names = calloc(n + 1, sizeof(char *));
    json_t *arr = json_array();
    bool ok = names && arr;
    for (size_t i = 0; ok && i < n; i++) {
        names[i] = strndup(env[i], strcspn(env[i], "="));
        ok = names[i] != NULL;
    }
    if (ok) qsort(names, n, sizeof(char *), cmp_str);
    for (size_t i = 0; ok && i < n; i++)
        if (i == 0 || strcmp(names[i], names[i - 1]) != 0)
            ok = json_array_append_new(arr, json_string(names[i])) == 0;
    for (size_t i = 0; names && i < n; i++)
        free(names[i]);
    free(names);
    if (!ok) {
        json_decref(arr);
        return NULL;
    }
    return arr;
}

int sb_mlog_config(const struct sb_sandbox_config *cfg, char *const *env, json_t **out,
                   sb_error *err) {
    json_t *mounts = json_array();
    for (size_t i = 0; mounts && i < cfg->n_mounts; i++) {
        const struct sb_mount_spec *m = &cfg->mounts[i];
        if (json_array_append_new(mounts, json_pack("{s:s, s:s, s:b}", "src", m->src, "dst", m->dst,
                                                    "ro", m->ro)) < 0) {
            json_decref(mounts);
            mounts = NULL;
        }
    }
    json_t *names = env_names(env);
    if (!mounts || !names) {
        json_decref(mounts);
        json_decref(names);
        BAIL(err, SB_E_INTERNAL, "mlog: out of memory");
    }
    /* Defaults resolved exactly as the jail resolves them. */
    json_t *c =
        json_pack("{s:I, s:I, s:I, s:I, s:s, s:s, s:o, s:o}", "memory_bytes",
                  (json_int_t)(cfg->memory_bytes ? cfg->memory_bytes : SB_SANDBOX_DEF_MEMORY),
                  "pids", (json_int_t)(cfg->pids ? cfg->pids : SB_SANDBOX_DEF_PIDS), "cpu_millis",
                  (json_int_t)cfg->cpu_millis, "disk_bytes",
                  (json_int_t)(cfg->disk_bytes ? cfg->disk_bytes : SB_SANDBOX_DEF_DISK), "hostname",
                  cfg->hostname ? cfg->hostname : "sandbox", "network",
                  cfg->net_host ? "host" : "none", "mounts", mounts, "env", names);
    if (!c) BAIL(err, SB_E_INTERNAL, "mlog: out of memory");
    *out = c;
    return 0;
}

int sb_mlog_new(const char *image_digest, const json_t *config, sb_mlog **out, sb_error *err) {
    ENSURE(image_digest && strlen(image_digest) <= SB_MLOG_MAX_IMAGE, err, SB_E_USAGE,
           "mlog: image digest missing or over %d bytes", SB_MLOG_MAX_IMAGE);
    ENSURE(json_is_object(config), err, SB_E_USAGE, "mlog: config must be an object");
    char *canon = NULL;
    size_t len = 0;
    TRY(sb_json_canonical(config, &canon, &len, err));
    uint8_t cd[DLEN];
    int rc = sb_hash(SB_HASH_SHA384, canon, len, cd, err);
    free(canon);
    TRY(rc);
    char cds[104];
    sb_mlog_digest_str(cd, cds);
    sb_mlog *l = calloc(1, sizeof(*l));
    ENSURE(l, err, SB_E_INTERNAL, "mlog: out of memory");
    rc = append(l, json_pack("{s:i, s:s, s:s}", "seq", 0, "type", "image", "digest", image_digest),
                err);
    if (rc == 0)
        rc =
            append(l, json_pack("{s:i, s:s, s:s}", "seq", 1, "type", "config", "digest", cds), err);
    if (rc < 0) {
        sb_mlog_free(l);
        return rc;
    }
    *out = l;
    return 0;
}

void sb_mlog_free(sb_mlog *l) {
    if (!l) return;
    for (size_t i = 0; i < l->n; i++)
        free(l->events[i]);
    free(l->events);
    free(l);
}

int sb_mlog_add_exec(sb_mlog *l, char *const *argv, char *const *env, const char *workdir,
                     const char *exe_path, const uint8_t *exe_digest, sb_error *err) {
    ENSURE(argv && argv[0], err, SB_E_USAGE, "mlog: a command needs argv[0]");
    json_t *args = json_array();
    for (size_t i = 0; args && argv[i]; i++)
        if (json_array_append_new(args, json_string(argv[i])) < 0) {
            json_decref(args);
            args = NULL;
        }
    json_t *names = env_names(env);
    char ds[104] = "";
    if (exe_digest) sb_mlog_digest_str(exe_digest, ds);
    if (!args || !names) {
        json_decref(args);
        json_decref(names);
        BAIL(err, SB_E_INTERNAL, "mlog: out of memory");
    }
    bool entry = l->n == 2;
    json_t *ev = json_pack("{s:I, s:s, s:o, s:o, s:s, s:s, s:s}", "seq", (json_int_t)l->n, "type",
                           entry ? "entrypoint" : "exec", "argv", args, "env", names, "workdir",
                           workdir && *workdir ? workdir : "/", "executable",
                           exe_digest && exe_path ? exe_path : "", "digest", ds);
    TRY(append(l, ev, err));
    if (!entry) l->execs++;
    return 0;
}

void sb_mlog_digest(const sb_mlog *l, uint8_t out[DLEN]) { memcpy(out, l->digest, DLEN); }
bool sb_mlog_tainted(const sb_mlog *l) { return l->execs > 0; }
size_t sb_mlog_count(const sb_mlog *l) { return l->n; }
const char *sb_mlog_event(const sb_mlog *l, size_t i) { return i < l->n ? l->events[i] : NULL; }

int sb_mlog_export(const sb_mlog *l, char **out, size_t *len, sb_error *err) {
    json_t *events = json_array();
    for (size_t i = 0; events && i < l->n; i++) {
        json_t *e = json_loads(l->events[i], 0, NULL);
        if (!e || json_array_append_new(events, e) < 0) {
            json_decref(events);
            events = NULL;
        }
    }
    char ds[104];
    sb_mlog_digest_str(l->digest, ds);
    json_t *o = events
                    ? json_pack("{s:i, s:s, s:o, s:s, s:b}", "version", SB_MLOG_VERSION, "hash",
                                "sha384", "events", events, "digest", ds, "tainted", l->execs > 0)
                    : NULL;
    if (!o) BAIL(err, SB_E_INTERNAL, "mlog: out of memory");
    int rc = sb_json_canonical(o, out, len, err);
    json_decref(o);
    return rc;
}

/* ---- replay (untrusted input) ------------------------------------------------------------------
 */

struct rp {
    sb_error *err;
    size_t idx; /* the event being checked, for messages */
};

static int rp_fail(struct rp *r, int code, const char *field, const char *what) {
    return sb_error_set(r->err, code, "mlog: events[%zu].%s: %s", r->idx, field, what);
}

static bool is_hex(const char *s, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f'))) return false;
    return true;
}

/* "sha384:<96 lower-case hex>" (or "" when allow_empty). */
static int rp_digest(struct rp *r, const json_t *v, const char *field, bool allow_empty) {
    if (!json_is_string(v)) return rp_fail(r, SB_E_MALFORMED, field, "expected a string");
    const char *s = json_string_value(v);
    size_t n = json_string_length(v);
    if (allow_empty && n == 0) return 0;
    if (n != 7 + 2 * DLEN || strncmp(s, "sha384:", 7) != 0 || !is_hex(s + 7, 2 * DLEN))
        return rp_fail(r, SB_E_MALFORMED, field, "expected \"sha384:\" and 96 lower-case hex");
    return 0;
}

/* An image digest: "<alg>:<value>" of [a-z0-9-], e.g. "sha256:<hex>" or "mutable:host-usr". */
static int rp_image(struct rp *r, const json_t *v) {
    if (!json_is_string(v)) return rp_fail(r, SB_E_MALFORMED, "digest", "expected a string");
    const char *s = json_string_value(v);
    size_t n = json_string_length(v);
    if (n > SB_MLOG_MAX_IMAGE) return rp_fail(r, SB_E_LIMIT, "digest", "over 128 bytes");
    size_t colon = strcspn(s, ":");
    bool ok = colon > 0 && colon < n && colon + 1 < n;
    for (size_t i = 0; ok && i < n; i++)
        ok = i == colon || (s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') ||
             s[i] == '-';
    if (!ok) return rp_fail(r, SB_E_MALFORMED, "digest", "expected <alg>:<value> of [a-z0-9-]");
    return 0;
}

static int rp_strings(struct rp *r, const json_t *v, const char *field, size_t min, size_t max,
                      size_t max_len) {
    if (!json_is_array(v)) return rp_fail(r, SB_E_MALFORMED, field, "expected an array");
    size_t n = json_array_size(v);
    if (n > max) {
        char m[64];
        (void)snprintf(m, sizeof(m), "%zu entries (at most %zu)", n, max);
        return rp_fail(r, SB_E_LIMIT, field, m);
    }
    if (n < min) return rp_fail(r, SB_E_MALFORMED, field, "must not be empty");
    for (size_t i = 0; i < n; i++) {
        const json_t *e = json_array_get(v, i);
        char f[64];
        (void)snprintf(f, sizeof(f), "%s[%zu]", field, i);
        if (!json_is_string(e)) return rp_fail(r, SB_E_MALFORMED, f, "expected a string");
        if (json_string_length(e) > max_len) return rp_fail(r, SB_E_LIMIT, f, "too long");
    }
    return 0;
}

/* The member key of obj, or a failure naming it when absent. */
static const json_t *rp_get(struct rp *r, const json_t *obj, const char *key, int *rc) {
    const json_t *v = json_object_get(obj, key);
    if (!v && *rc == 0) *rc = rp_fail(r, SB_E_MALFORMED, key, "missing");
    return v;
}

static int rp_keys(struct rp *r, const json_t *ev, const char *const *allowed, size_t n) {
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)ev, k, v) {
        bool ok = false;
        for (size_t i = 0; i < n && !ok; i++)
            ok = strcmp(k, allowed[i]) == 0;
        if (!ok) {
            char f[80];
            (void)snprintf(f, sizeof(f), "%.64s", k);
            return rp_fail(r, SB_E_MALFORMED, f, "unknown member");
        }
    }
    return 0;
}

static int rp_event(struct rp *r, const json_t *ev, int want_kind, json_t *summary) {
    if (!json_is_object(ev))
        return sb_error_set(r->err, SB_E_MALFORMED, "mlog: events[%zu]: expected an object",
                            r->idx);
    int rc = 0;
    const json_t *seq = rp_get(r, ev, "seq", &rc);
    const json_t *type = rp_get(r, ev, "type", &rc);
    const json_t *dg = rp_get(r, ev, "digest", &rc);
    TRY(rc);
    if (!json_is_integer(seq) || json_integer_value(seq) != (json_int_t)r->idx)
        return rp_fail(r, SB_E_MALFORMED, "seq", "must equal the event's index");
    if (!json_is_string(type)) return rp_fail(r, SB_E_MALFORMED, "type", "expected a string");
    const char *t = json_string_value(type);
    int kind = -1;
    for (int k = 0; k < K_MAX; k++)
        if (strcmp(t, KINDS[k]) == 0) kind = k;
    if (kind < 0)
        return rp_fail(r, SB_E_MALFORMED, "type", "not image, config, entrypoint or exec");
    /* The order is fixed: image, config, then commands; the first command is the entrypoint. */
    if (kind != want_kind) {
        char m[96];
        (void)snprintf(m, sizeof(m), "'%s' where '%s' must come", KINDS[kind], KINDS[want_kind]);
        return rp_fail(r, SB_E_MALFORMED, "type", m);
    }
    if (kind == K_IMAGE) {
        static const char *const keys[] = {"seq", "type", "digest"};
        TRY(rp_keys(r, ev, keys, SB_ARRAY_LEN(keys)));
        TRY(rp_image(r, dg));
        return json_object_set(summary, "image", (json_t *)dg) < 0 ? SB_E_INTERNAL : 0;
    }
    if (kind == K_CONFIG) {
        static const char *const keys[] = {"seq", "type", "digest"};
        TRY(rp_keys(r, ev, keys, SB_ARRAY_LEN(keys)));
        TRY(rp_digest(r, dg, "digest", false));
        return json_object_set(summary, "config", (json_t *)dg) < 0 ? SB_E_INTERNAL : 0;
    }
    static const char *const keys[] = {"seq",     "type",       "argv",  "env",
                                       "workdir", "executable", "digest"};
    TRY(rp_keys(r, ev, keys, SB_ARRAY_LEN(keys)));
    const json_t *argv = rp_get(r, ev, "argv", &rc);
    const json_t *env = rp_get(r, ev, "env", &rc);
    const json_t *wd = rp_get(r, ev, "workdir", &rc);
    const json_t *exe = rp_get(r, ev, "executable", &rc);
    TRY(rc);
    TRY(rp_strings(r, argv, "argv", 1, SB_SANDBOX_MAX_ARGS, SB_SANDBOX_MAX_STR));
    TRY(rp_strings(r, env, "env", 0, SB_SANDBOX_MAX_ENV, MLOG_NAME_MAX));
    if (!json_is_string(wd) || json_string_value(wd)[0] != '/')
        return rp_fail(r, SB_E_MALFORMED, "workdir", "expected an absolute path");
    if (json_string_length(wd) > SB_SANDBOX_MAX_STR)
        return rp_fail(r, SB_E_LIMIT, "workdir", "too long");
    if (!json_is_string(exe)) return rp_fail(r, SB_E_MALFORMED, "executable", "expected a string");
    size_t el = json_string_length(exe);
    if (el > 4095) return rp_fail(r, SB_E_LIMIT, "executable", "too long");
    if (el && json_string_value(exe)[0] != '/')
        return rp_fail(r, SB_E_MALFORMED, "executable", "expected an absolute path or \"\"");
    TRY(rp_digest(r, dg, "digest", true));
    if ((el == 0) != (json_string_length(dg) == 0))
        return rp_fail(r, SB_E_MALFORMED, "digest",
                       "executable and digest must both be set or both be \"\"");
    if (kind == K_ENTRY && json_object_set_new(summary, "entrypoint",
                                               json_pack("{s:O, s:O, s:O}", "argv", argv,
                                                         "executable", exe, "digest", dg)) < 0)
        return sb_error_set(r->err, SB_E_INTERNAL, "mlog: out of memory");
    return 0;
}

int sb_mlog_replay(const uint8_t *json, size_t len, struct sb_mlog_replay *out, sb_error *err) {
    ENSURE(len <= SB_MLOG_MAX_JSON, err, SB_E_LIMIT, "mlog: %zu bytes of log (at most %u)", len,
           SB_MLOG_MAX_JSON);
    json_error_t je;
    json_t *root = json_loadb((const char *)json, len, JSON_REJECT_DUPLICATES, &je);
    if (!root)
        BAIL(err, SB_E_MALFORMED, "mlog: invalid JSON at offset %d: %s", je.position, je.text);
    struct rp r = {.err = err};
    json_t *summary = json_pack("{s:n}", "entrypoint");
    uint8_t state[DLEN] = {0};
    size_t n = 0, execs = 0;
    int rc = 0;
    const char *k;
    json_t *v;
    if (!summary)
        rc = sb_error_set(err, SB_E_INTERNAL, "mlog: out of memory");
    else if (!json_is_object(root))
        rc = sb_error_set(err, SB_E_MALFORMED, "mlog: the log must be a JSON object");
    if (rc == 0) json_object_foreach(root, k, v) {
            if (strcmp(k, "version") == 0) {
                if (!json_is_integer(v) || json_integer_value(v) != SB_MLOG_VERSION)
                    rc = sb_error_set(err, SB_E_UNSUPPORTED, "mlog: version: only %d is known",
                                      SB_MLOG_VERSION);
            } else if (strcmp(k, "hash") == 0) {
                if (!json_is_string(v) || strcmp(json_string_value(v), "sha384") != 0)
                    rc = sb_error_set(err, SB_E_UNSUPPORTED, "mlog: hash: only \"sha384\"");
            } else if (strcmp(k, "digest") == 0 || strcmp(k, "tainted") == 0 ||
                       strcmp(k, "events") == 0) {
                /* checked below */
            } else {
                rc = sb_error_set(err, SB_E_MALFORMED, "mlog: unknown member '%.64s'", k);
            }
            if (rc < 0) break;
        }
    json_t *events = rc == 0 ? json_object_get(root, "events") : NULL;
    if (rc == 0 && (!json_object_get(root, "version") || !json_object_get(root, "hash")))
        rc = sb_error_set(err, SB_E_MALFORMED, "mlog: version and hash are required");
    if (rc == 0 && !json_is_array(events))
        rc = sb_error_set(err, SB_E_MALFORMED, "mlog: events: expected an array");
    if (rc == 0) {
        n = json_array_size(events);
        if (n > SB_MLOG_MAX_EVENTS)
            rc = sb_error_set(err, SB_E_LIMIT, "mlog: events: %zu (at most %u)", n,
                              SB_MLOG_MAX_EVENTS);
        else if (n < 2)
            rc = sb_error_set(err, SB_E_MALFORMED,
                              "mlog: events: a log starts with its image and config events");
    }
    size_t total = 0;
    for (size_t i = 0; rc == 0 && i < n; i++) {
        r.idx = i;
        json_t *ev = json_array_get(events, i);
        int want = i == 0 ? K_IMAGE : i == 1 ? K_CONFIG : i == 2 ? K_ENTRY : K_EXEC;
        rc = rp_event(&r, ev, want, summary);
        if (rc == SB_E_INTERNAL) rc = sb_error_set(err, SB_E_INTERNAL, "mlog: out of memory");
        char *canon = NULL;
        size_t cl = 0;
        if (rc == 0) rc = sb_json_canonical(ev, &canon, &cl, err);
        if (rc == 0 && (total += cl) > SB_MLOG_MAX_BYTES)
            rc = sb_error_set(err, SB_E_LIMIT, "mlog: events: over %u canonical bytes",
                              SB_MLOG_MAX_BYTES);
        if (rc == 0) rc = extend(state, canon, cl, err);
        free(canon);
        if (i >= 3) execs++;
    }
    char ds[104];
    sb_mlog_digest_str(state, ds);
    const json_t *claimed = rc == 0 ? json_object_get(root, "digest") : NULL;
    if (claimed && (!json_is_string(claimed) || strcmp(json_string_value(claimed), ds) != 0))
        rc = sb_error_set(
            err, SB_E_MALFORMED, "mlog: digest: the log says %.120s but its events replay to %s",
            json_is_string(claimed) ? json_string_value(claimed) : "(not a string)", ds);
    const json_t *taint = rc == 0 ? json_object_get(root, "tainted") : NULL;
    if (taint && (!json_is_boolean(taint) || json_is_true(taint) != (execs > 0)))
        rc = sb_error_set(err, SB_E_MALFORMED,
                          "mlog: tainted: the log says %s but %zu command(s) ran after the "
                          "entrypoint",
                          json_is_true(taint) ? "true" : "false/not a boolean", execs);
    if (rc == 0 && (json_object_set_new(summary, "digest", json_string(ds)) < 0 ||
                    json_object_set_new(summary, "tainted", json_boolean(execs > 0)) < 0 ||
                    json_object_set_new(summary, "execs", json_integer((json_int_t)execs)) < 0 ||
                    json_object_set_new(summary, "events", json_integer((json_int_t)n)) < 0))
        rc = sb_error_set(err, SB_E_INTERNAL, "mlog: out of memory");
    json_decref(root);
    if (rc < 0) {
        json_decref(summary);
        return rc;
    }
    memset(out, 0, sizeof(*out));
    memcpy(out->digest, state, DLEN);
    out->events = n;
    out->execs = execs;
    out->tainted = execs > 0;
    out->summary = summary;
    return 0;
}

void sb_mlog_replay_clear(struct sb_mlog_replay *r) {
    if (!r) return;
    json_decref(r->summary);
    r->summary = NULL;
}

/* ---- measuring executables ----------------------------------------------------------------- */

static int open_in_root(int root_fd, const char *path) {
    struct open_how how = {.flags = O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY,
                           .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS};
    return (int)syscall(SYS_openat2, root_fd, path, &how, sizeof(how));
}

static int hash_fd(int fd, uint8_t out[DLEN], sb_error *err) {
    struct stat st;
    if (fstat(fd, &st) != 0) BAIL(err, SB_E_IO, "mlog: fstat: %s", strerror(errno));
    if ((uint64_t)st.st_size > SB_MLOG_EXE_MAX)
        BAIL(err, SB_E_LIMIT, "mlog: executable of %lld bytes (at most %llu)",
             (long long)st.st_size, (unsigned long long)SB_MLOG_EXE_MAX);
    sb_hash_ctx *h = NULL;
    TRY(sb_hash_ctx_new(SB_HASH_SHA384, &h, err));
    uint8_t buf[65536];
    int rc = 0;
    uint64_t total = 0;
    for (;;) {
        ssize_t k = read(fd, buf, sizeof(buf));
        if (k < 0 && errno == EINTR) continue;
        if (k < 0) {
            rc = sb_error_set(err, SB_E_IO, "mlog: read executable: %s", strerror(errno));
            break;
        }
        if (k == 0) break;
        total += (uint64_t)k;
        if (total > SB_MLOG_EXE_MAX) {
            rc = sb_error_set(err, SB_E_LIMIT, "mlog: executable grew past %llu bytes",
                              (unsigned long long)SB_MLOG_EXE_MAX);
            break;
        }
        rc = sb_hash_ctx_update(h, buf, (size_t)k, err);
        if (rc < 0) break;
    }
    if (rc == 0) rc = sb_hash_ctx_final(h, out, err);
    sb_hash_ctx_free(h);
    return rc;
}

/* Opens candidate (a path inside the root) if it is an executable regular file. */
static int try_exe(int root_fd, const char *candidate, char path[4096], uint8_t d[DLEN],
                   sb_error *err) {
    int fd = open_in_root(root_fd, candidate);
    if (fd < 0) return SB_E_NOTFOUND;
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || !(st.st_mode & 0111)) {
        close(fd);
        return SB_E_NOTFOUND;
    }
    int rc = hash_fd(fd, d, err);
    close(fd);
    TRY(rc);
    (void)snprintf(path, 4096, "%s", candidate);
    return 0;
}

static const char *env_get(char *const *env, const char *name) {
    size_t nl = strlen(name);
    for (size_t i = 0; env && env[i]; i++)
        if (strncmp(env[i], name, nl) == 0 && env[i][nl] == '=') return env[i] + nl + 1;
    return NULL;
}

int sb_mlog_measure_exe(int root_fd, const char *argv0, char *const *env, const char *workdir,
                        char path[4096], uint8_t digest[DLEN], sb_error *err) {
    ENSURE(argv0 && *argv0, err, SB_E_USAGE, "mlog: empty argv[0]");
    ENSURE(strlen(argv0) < 2048, err, SB_E_LIMIT, "mlog: argv[0] over 2047 bytes");
    char cand[4096 + 2048 + 2];
    if (strchr(argv0, '/')) {
        const char *wd = workdir && *workdir ? workdir : "/";
        if (argv0[0] == '/')
            (void)snprintf(cand, sizeof(cand), "%s", argv0);
        else if (strlen(wd) < 4096)
            (void)snprintf(cand, sizeof(cand), "%s/%s", wd, argv0);
        else
            BAIL(err, SB_E_LIMIT, "mlog: workdir over 4095 bytes");
        int rc = try_exe(root_fd, cand, path, digest, err);
        if (rc == SB_E_NOTFOUND)
            BAIL(err, SB_E_NOTFOUND, "mlog: %s: no executable file in the sandbox", argv0);
        return rc;
    }
    const char *p = env_get(env, "PATH");
    if (!p) p = "/bin:/usr/bin"; /* glibc execvp's default */
    while (*p) {
        size_t dl = strcspn(p, ":");
        if (dl > 0 && dl < 4096) {
            (void)snprintf(cand, sizeof(cand), "%.*s/%s", (int)dl, p, argv0);
            /* execvp treats a relative PATH entry as relative to the working directory */
            if (cand[0] != '/') {
                char rel[sizeof(cand)];
                (void)snprintf(rel, sizeof(rel), "%s", cand);
                (void)snprintf(cand, sizeof(cand), "%.4000s/%.2100s",
                               workdir && *workdir ? workdir : "", rel);
            }
            int rc = try_exe(root_fd, cand, path, digest, err);
            if (rc != SB_E_NOTFOUND) return rc;
        }
        p += dl;
        if (*p == ':') p++;
    }
    BAIL(err, SB_E_NOTFOUND, "mlog: %s: not found in PATH inside the sandbox", argv0);
}

int sb_mlog_measure_in(const sb_sandbox *sb, const char *argv0, char *const *env,
                       const char *workdir, char path[4096], uint8_t digest[DLEN], sb_error *err) {
    pid_t init = sb_sandbox_init_pid(sb);
    ENSURE(init > 0, err, SB_E_USAGE, "mlog: the sandbox has no init process");
    char proc[64];
    (void)snprintf(proc, sizeof(proc), "/proc/%d/root", (int)init);
    int root = open(proc, O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (root < 0) BAIL(err, SB_E_IO, "mlog: open %s: %s", proc, strerror(errno));
    int rc = sb_mlog_measure_exe(root, argv0, env, workdir, path, digest, err);
    close(root);
    return rc;
}

int sb_mlog_record(sb_mlog *l, const sb_sandbox *sb, char *const *argv, char *const *env,
                   const char *workdir, sb_error *err) {
    ENSURE(argv && argv[0], err, SB_E_USAGE, "mlog: a command needs argv[0]");
    char path[4096];
    uint8_t d[DLEN];
    const char *wd = workdir && *workdir ? workdir : "/";
    int rc = sb_mlog_measure_in(sb, argv[0], env, wd, path, d, err);
    if (rc < 0 && rc != SB_E_NOTFOUND) return rc;
    return sb_mlog_add_exec(l, argv, env, wd, rc == 0 ? path : NULL, rc == 0 ? d : NULL, err);
}

int sb_mlog_write(const sb_mlog *l, const char *path, sb_error *err) {
    char *s = NULL;
    size_t n = 0;
    TRY(sb_mlog_export(l, &s, &n, err));
    int rc = sb_write_file_atomic(path, s, n, 0644, err);
    free(s);
    return rc;
}

int sb_image_rootfs(const char *state_dir, const char *image, char **rootfs, char **digest,
                    sb_error *err) {
    char *lower = NULL;
    bool host = false;
    TRY(sb_image_resolve(state_dir ? state_dir : SB_SANDBOX_STATE_DIR, image, &lower, digest, &host,
                         err));
    if (host) {
        free(lower);
        lower = strdup("/");
        if (!lower) {
            free(*digest);
            *digest = NULL;
            BAIL(err, SB_E_INTERNAL, "out of memory");
        }
    }
    *rootfs = lower;
    return 0;
}
