/* rpolicy: the KBS resource policy (docs/secrets.md) — which verified EAR claims a resource
 * path needs. Rules are tried in order; the first whose pattern matches the path decides, and
 * a refusal names the requirement that failed. */
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "kbs.h"

#define RULES_MAX 256
#define PATTERNS_MAX 64
#define SET_MAX 1024
#define NAMES_MAX 32

struct set {
    char **v;
    size_t n;
};

struct mset {
    char name[64];
    struct set vals;
};

struct rule {
    struct set patterns, platforms, images, logs;
    struct mset meas[NAMES_MAX];
    size_t nmeas;
    enum sb_tier min; /* SB_TIER_AFFIRMING or SB_TIER_WARNING */
    bool allow_insecure, allow_tainted, allow_local, require_log;
};

struct sb_kbs_rpolicy {
    struct rule *rules;
    size_t n;
};

static void set_free(struct set *s) {
    for (size_t i = 0; i < s->n; i++)
        free(s->v[i]);
    free(s->v);
    s->v = NULL;
    s->n = 0;
}

void sb_kbs_rpolicy_free(sb_kbs_rpolicy *p) {
    if (!p) return;
    for (size_t i = 0; i < p->n; i++) {
        struct rule *r = &p->rules[i];
        set_free(&r->patterns);
        set_free(&r->platforms);
        set_free(&r->images);
        set_free(&r->logs);
        for (size_t k = 0; k < r->nmeas; k++)
            set_free(&r->meas[k].vals);
    }
    free(p->rules);
    free(p);
}

/* A pattern is repo/type/tag where a segment may be "*" (any one segment). */
static bool pattern_ok(const char *p) {
    char tmp[SB_KBS_PATH_MAX + 1];
    size_t n = strlen(p);
    if (n > SB_KBS_PATH_MAX) return false;
    memcpy(tmp, p, n + 1);
    for (size_t i = 0; i < n; i++)
        if (tmp[i] == '*') {
            bool whole = (i == 0 || tmp[i - 1] == '/') && (tmp[i + 1] == '/' || tmp[i + 1] == 0);
            if (!whole) return false;
            tmp[i] = 'x';
        }
    return sb_store_kbs_path_valid(tmp);
}

static bool pattern_match(const char *pat, const char *path) {
    for (;;) {
        size_t pl = strcspn(pat, "/"), sl = strcspn(path, "/");
        if (!(pl == 1 && pat[0] == '*') && (pl != sl || strncmp(pat, path, pl) != 0)) return false;
        pat += pl;
        path += sl;
        if (!*pat || !*path) return !*pat && !*path;
        pat++;
        path++;
    }
}

/* A JSON array of strings into a set; hex sets are lower-cased. */
static int get_set(const json_t *v, const char *what, size_t ri, bool lower, struct set *out,
                   sb_error *err) {
    ENSURE(json_is_array(v), err, SB_E_MALFORMED,
           "resource policy: rules[%zu].%s: expected an "
           "array of strings",
           ri, what);
    size_t n = json_array_size(v);
    ENSURE(n <= SET_MAX, err, SB_E_LIMIT, "resource policy: rules[%zu].%s: %zu entries (max %d)",
           ri, what, n, SET_MAX);
    out->v = calloc(n ? n : 1, sizeof(char *));
    ENSURE(out->v, err, SB_E_INTERNAL, "out of memory");
    for (size_t i = 0; i < n; i++) {
        const char *s = json_string_value(json_array_get(v, i));
        ENSURE(s && *s && strlen(s) <= 256, err, SB_E_MALFORMED,
               "resource policy: rules[%zu].%s[%zu]: expected a non-empty string (at most 256 "
               "bytes)",
               ri, what, i);
        out->v[i] = strdup(s);
        ENSURE(out->v[i], err, SB_E_INTERNAL, "out of memory");
        out->n++;
        if (lower)
            for (char *c = out->v[i]; *c; c++)
                *c = (char)tolower((unsigned char)*c);
    }
    return 0;
}

static bool set_has(const struct set *s, const char *v, bool lower) {
    for (size_t i = 0; i < s->n; i++)
        if (lower ? strcasecmp(s->v[i], v) == 0 : strcmp(s->v[i], v) == 0) return true;
    return false;
}

static int get_flag(const json_t *v, const char *what, size_t ri, bool *out, sb_error *err) {
    ENSURE(json_is_boolean(v), err, SB_E_MALFORMED,
           "resource policy: rules[%zu].%s: expected true or false", ri, what);
    *out = json_is_true(v);
    return 0;
}

static int parse_rule(const json_t *o, size_t ri, struct rule *r, sb_error *err) {
    ENSURE(json_is_object(o), err, SB_E_MALFORMED,
           "resource policy: rules[%zu]: expected an "
           "object",
           ri);
    r->min = SB_TIER_AFFIRMING;
    r->allow_local = true;
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)o, k, v) {
        if (strcmp(k, "resources") == 0) {
            TRY(get_set(v, k, ri, false, &r->patterns, err));
            ENSURE(r->patterns.n > 0 && r->patterns.n <= PATTERNS_MAX, err, SB_E_MALFORMED,
                   "resource policy: rules[%zu].resources: 1..%d patterns", ri, PATTERNS_MAX);
            for (size_t i = 0; i < r->patterns.n; i++)
                ENSURE(pattern_ok(r->patterns.v[i]), err, SB_E_MALFORMED,
                       "resource policy: rules[%zu].resources[%zu]: '%.200s' is not "
                       "repo/type/tag (a segment may be *)",
                       ri, i, r->patterns.v[i]);
        } else if (strcmp(k, "platforms") == 0) {
            TRY(get_set(v, k, ri, false, &r->platforms, err));
        } else if (strcmp(k, "image_digests") == 0) {
            TRY(get_set(v, k, ri, true, &r->images, err));
        } else if (strcmp(k, "log_digests") == 0) {
            TRY(get_set(v, k, ri, true, &r->logs, err));
        } else if (strcmp(k, "status") == 0) {
            const char *s = json_string_value(v);
            ENSURE(s && (!strcmp(s, "affirming") || !strcmp(s, "warning")), err, SB_E_MALFORMED,
                   "resource policy: rules[%zu].status: \"affirming\" or \"warning\"", ri);
            r->min = strcmp(s, "warning") == 0 ? SB_TIER_WARNING : SB_TIER_AFFIRMING;
        } else if (strcmp(k, "allow_insecure") == 0) {
            TRY(get_flag(v, k, ri, &r->allow_insecure, err));
        } else if (strcmp(k, "allow_tainted") == 0) {
            TRY(get_flag(v, k, ri, &r->allow_tainted, err));
        } else if (strcmp(k, "allow_local") == 0) {
            TRY(get_flag(v, k, ri, &r->allow_local, err));
        } else if (strcmp(k, "require_log") == 0) {
            TRY(get_flag(v, k, ri, &r->require_log, err));
        } else if (strcmp(k, "measurements") == 0) {
            ENSURE(json_is_object(v) && json_object_size(v) <= NAMES_MAX, err, SB_E_MALFORMED,
                   "resource policy: rules[%zu].measurements: an object of at most %d names", ri,
                   NAMES_MAX);
            const char *mk;
            json_t *mv;
            json_object_foreach(v, mk, mv) {
                ENSURE(strlen(mk) < sizeof(r->meas[0].name), err, SB_E_MALFORMED,
                       "resource policy: rules[%zu].measurements: name too long", ri);
                struct mset *m = &r->meas[r->nmeas++];
                memcpy(m->name, mk, strlen(mk) + 1);
                char what[96];
                (void)snprintf(what, sizeof(what), "measurements.%s", mk);
                TRY(get_set(mv, what, ri, true, &m->vals, err));
            }
        } else {
            BAIL(err, SB_E_MALFORMED,
                 "resource policy: rules[%zu]: unknown key '%.40s' (resources, platforms, status, "
                 "allow_insecure, allow_tainted, allow_local, require_log, measurements, "
                 "image_digests, log_digests)",
                 ri, k);
        }
    }
    ENSURE(r->patterns.n > 0, err, SB_E_MALFORMED, "resource policy: rules[%zu].resources: missing",
           ri);
    return 0;
}

int sb_kbs_rpolicy_parse(const char *json, size_t len, sb_kbs_rpolicy **out, sb_error *err) {
    ENSURE(len <= SB_KBS_POLICY_MAX, err, SB_E_LIMIT, "resource policy: %zu bytes (max %u)", len,
           SB_KBS_POLICY_MAX);
    json_error_t je;
    json_t *j = json_loadb(json, len, JSON_REJECT_DUPLICATES, &je);
    ENSURE(j, err, SB_E_MALFORMED, "resource policy: invalid JSON at line %d, column %d: %.100s",
           je.line, je.column, je.text);
    sb_kbs_rpolicy *p = calloc(1, sizeof(*p));
    int rc = p ? 0 : sb_error_set(err, SB_E_INTERNAL, "out of memory");
    const json_t *rules = json_object_get(j, "rules");
    if (rc == 0 && !json_is_object(j))
        rc = sb_error_set(err, SB_E_MALFORMED, "resource policy: expected a JSON object");
    const char *k;
    json_t *v;
    if (rc == 0) {
        json_object_foreach(j, k, v) {
            if (strcmp(k, "rules") && strcmp(k, "version")) {
                rc = sb_error_set(err, SB_E_MALFORMED,
                                  "resource policy: unknown key '%.40s' (version, rules)", k);
                break;
            }
        }
    }
    const json_t *ver = json_object_get(j, "version");
    if (rc == 0 && ver && (!json_is_integer(ver) || json_integer_value(ver) != 1))
        rc = sb_error_set(err, SB_E_UNSUPPORTED, "resource policy: version must be 1");
    if (rc == 0 && (!json_is_array(rules) || json_array_size(rules) > RULES_MAX))
        rc = sb_error_set(err, SB_E_MALFORMED,
                          "resource policy: rules: an array of at most %d "
                          "rules",
                          RULES_MAX);
    if (rc == 0) {
        size_t n = json_array_size(rules);
        p->rules = calloc(n ? n : 1, sizeof(*p->rules));
        if (!p->rules) rc = sb_error_set(err, SB_E_INTERNAL, "out of memory");
        for (size_t i = 0; rc == 0 && i < n; i++) {
            p->n++;
            rc = parse_rule(json_array_get(rules, i), i, &p->rules[i], err);
        }
    }
    json_decref(j);
    if (rc < 0) {
        sb_kbs_rpolicy_free(p);
        return rc;
    }
    *out = p;
    return 0;
}

int sb_kbs_rpolicy_default(sb_kbs_rpolicy **out, sb_error *err) {
    static const char DEF[] = "{\"version\": 1, \"rules\": [{\"resources\": [\"*/*/*\"]}]}";
    return sb_kbs_rpolicy_parse(DEF, sizeof(DEF) - 1, out, err);
}

/* Appends up to a few members of a set to a message, for people. */
static void set_text(const struct set *s, char *buf, size_t cap) {
    size_t o = 0;
    buf[0] = 0;
    for (size_t i = 0; i < s->n && i < 3 && o < cap; i++)
        o += (size_t)snprintf(buf + o, cap - o, "%s%.24s%s", i ? ", " : "", s->v[i],
                              strlen(s->v[i]) > 24 ? "…" : "");
    if (s->n > 3 && o < cap) (void)snprintf(buf + o, cap - o, ", … (%zu in all)", s->n);
}

#define DENY(...) return sb_error_set(err, SB_E_POLICY, __VA_ARGS__)

static int eval_submod(const struct rule *r, const char *pre, const char *name, const json_t *sm,
                       sb_error *err) {
    const json_t *ae = json_object_get(sm, "ear.veraison.annotated-evidence");
    const char *platform = json_string_value(json_object_get(ae, "platform"));
    if (!platform) platform = name;
    char list[256];
    if (r->platforms.n && !set_has(&r->platforms, platform, false)) {
        set_text(&r->platforms, list, sizeof(list));
        DENY("%s: platform %s is not one of [%s]", pre, platform, list);
    }
    const char *st = json_string_value(json_object_get(sm, "ear.status"));
    enum sb_tier t = SB_TIER_NONE;
    for (int i = 0; st && i < SB_TIER_MAX; i++)
        if (strcmp(st, sb_tier_name((enum sb_tier)i)) == 0) t = (enum sb_tier)i;
    if (t == SB_TIER_NONE || t > r->min) {
        const json_t *reasons = json_object_get(sm, "ear.sealbox.reasons");
        const json_t *r0 = json_array_get(reasons, 0);
        const char *first = json_is_string(r0) ? json_string_value(r0)
                                               : json_string_value(json_object_get(r0, "message"));
        DENY("%s: attestation status %s (%s required)%s%s", pre, st ? st : "(none)",
             r->min == SB_TIER_WARNING ? "warning or better" : "affirming", first ? ": " : "",
             first ? first : "");
    }
    bool insecure = json_is_true(json_object_get(ae, "insecure")) ||
                    json_is_true(json_object_get(sm, "ear.sealbox.insecure"));
    if (insecure && !r->allow_insecure)
        DENY("%s: insecure evidence (%s: proves nothing against the host) needs allow_insecure",
             pre, platform);
    if (json_is_true(json_object_get(sm, "ear.sealbox.local")) && !r->allow_local)
        DENY("%s: the token was issued by a KBS on the same host as the workload (local), and "
             "allow_local is false",
             pre);
    for (size_t i = 0; i < r->nmeas; i++) {
        const char *got = json_string_value(
            json_object_get(json_object_get(ae, "measurements"), r->meas[i].name));
        if (!got) DENY("%s: measurement %s is absent from the evidence", pre, r->meas[i].name);
        if (!set_has(&r->meas[i].vals, got, true)) {
            set_text(&r->meas[i].vals, list, sizeof(list));
            DENY("%s: measurement %s = %.32s… is not in the allowed set [%s]", pre, r->meas[i].name,
                 got, list);
        }
    }
    const json_t *log = json_object_get(ae, "sealbox_log");
    if (!log) {
        if (r->require_log || r->images.n || r->logs.n)
            DENY("%s: no sandbox measurement log was presented (a stock CoCo client has none), "
                 "but the rule needs %s",
                 pre,
                 r->images.n ? "an image digest"
                 : r->logs.n ? "a log digest"
                             : "one");
        return 0;
    }
    const char *digest = json_string_value(json_object_get(log, "digest"));
    const json_t *img = json_object_get(log, "image");
    const char *image = json_is_string(img) ? json_string_value(img)
                                            : json_string_value(json_object_get(img, "digest"));
    if (json_is_true(json_object_get(log, "tainted")) && !r->allow_tainted)
        DENY("%s: the sandbox is tainted (something ran after its entrypoint; %lld events in its "
             "log) and the rule does not set allow_tainted",
             pre, (long long)json_integer_value(json_object_get(log, "events")));
    if (r->images.n && (!image || !set_has(&r->images, image, true))) {
        set_text(&r->images, list, sizeof(list));
        DENY("%s: image digest %s is not in the allowed set [%s]", pre, image ? image : "(none)",
             list);
    }
    if (r->logs.n && (!digest || !set_has(&r->logs, digest, true))) {
        set_text(&r->logs, list, sizeof(list));
        DENY("%s: log digest %s is not in the allowed set [%s]", pre, digest ? digest : "(none)",
             list);
    }
    return 0;
}

int sb_kbs_rpolicy_eval(const sb_kbs_rpolicy *p, const char *path, const json_t *ear,
                        sb_error *err) {
    ENSURE(p && path && json_is_object(ear), err, SB_E_USAGE, "resource policy: bad arguments");
    for (size_t i = 0; i < p->n; i++) {
        const struct rule *r = &p->rules[i];
        const char *hit = NULL;
        for (size_t k = 0; k < r->patterns.n && !hit; k++)
            if (pattern_match(r->patterns.v[k], path)) hit = r->patterns.v[k];
        if (!hit) continue;
        char pre[SB_KBS_PATH_MAX * 2 + 64];
        (void)snprintf(pre, sizeof(pre), "resource %s, rule %zu (%s)", path, i, hit);
        const json_t *subs = json_object_get(ear, "submods");
        if (!json_is_object(subs) || json_object_size(subs) == 0)
            DENY("%s: the token has no submods", pre);
        const char *name;
        json_t *sm;
        json_object_foreach((json_t *)subs, name, sm) TRY(eval_submod(r, pre, name, sm, err));
        return 0;
    }
    DENY("resource %s: no rule of the resource policy covers it", path);
}
