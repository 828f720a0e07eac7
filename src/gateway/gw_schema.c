/* gw_schema: the argument rules of a tool — a JSON Schema subset (type, enum, const, pattern,
 * bounds, lengths, required, additionalProperties false, properties, items) plus path_prefix
 * and url_host allowlists — compiled once at load and checked on every call. */
#define PCRE2_CODE_UNIT_WIDTH 8
#include <math.h>
#include <pcre2.h>
#include <stdio.h>
#include <string.h>

#include "gateway/gw_internal.h"

/* PCRE2 (not POSIX regcomp): JSON Schema patterns are ECMA-262 regexes, whose \d \w \s,
 * (?:...), lazy quantifiers and lookaheads PCRE2 reads the same way and POSIX ERE does not;
 * and PCRE2 bounds a match (match, depth and heap limits), so a catastrophic pattern such as
 * (a+)+$ fails closed instead of hanging the gateway. No JIT: the front runs under seccomp
 * that refuses writable-executable memory. */
#define RE_MATCH_LIMIT 10000u
#define RE_DEPTH_LIMIT 1000u
#define RE_HEAP_LIMIT_KIB 1024u
#define RE_PARENS_NEST 64u
#define MAX_LIST_STRINGS 256 /* path prefixes, hosts, schemes, required names */

enum {
    T_NULL = 1,
    T_BOOL = 2,
    T_INT = 4,
    T_NUM = 8,
    T_STR = 16,
    T_ARR = 32,
    T_OBJ = 64,
};

static const struct {
    const char *name;
    unsigned bit;
} TYPES[] = {{"null", T_NULL},  {"boolean", T_BOOL}, {"integer", T_INT}, {"number", T_NUM},
             {"string", T_STR}, {"array", T_ARR},    {"object", T_OBJ}};

struct strlist {
    char **v;    /* as compared (canonical) */
    char **show; /* as configured, for reasons */
    size_t n;
};

struct prop {
    char *name;
    gw_schema *s;
};

struct gw_schema {
    unsigned types; /* 0: any */
    json_t *enum_vals;
    json_t *const_val;
    char *pattern;
    pcre2_code *re;
    pcre2_match_context *mctx;
    bool has_min, has_max, has_xmin, has_xmax;
    double min, max, xmin, xmax;
    int64_t min_len, max_len, min_items, max_items; /* -1: none */
    struct strlist required;
    struct prop *props;
    size_t nprops;
    bool no_additional;
    gw_schema *items;
    struct strlist path_prefix;
    char *path_base;
    struct strlist url_host;
    struct strlist url_schemes;
    bool url_userinfo;
};

/* ---- helpers ---------------------------------------------------------------------------- */

bool gw_glob(const char *pat, const char *s) {
    const char *star = NULL, *resume = NULL;
    while (*s) {
        if (*pat == '*') {
            star = pat++;
            resume = s;
        } else if (*pat == '?' || *pat == *s) {
            pat++;
            s++;
        } else if (star) {
            pat = star + 1;
            s = ++resume;
        } else {
            return false;
        }
    }
    while (*pat == '*')
        pat++;
    return *pat == '\0';
}

void gw_render(const json_t *v, char *buf, size_t len) {
    char *d = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
    if (!d) {
        snprintf(buf, len, "(value)");
        return;
    }
    if (strlen(d) > 80)
        snprintf(buf, len, "%.77s...", d);
    else
        snprintf(buf, len, "%s", d);
    free(d);
}

static void strlist_free(struct strlist *l) {
    for (size_t i = 0; i < l->n; i++) {
        free(l->v[i]);
        free(l->show[i]);
    }
    free(l->v);
    free(l->show);
    memset(l, 0, sizeof(*l));
}

enum canon_kind { CANON_NONE, CANON_PATH, CANON_HOST, CANON_LOWER };

static int strlist_load(const json_t *j, const char *where, const char *key, enum canon_kind ck,
                        struct strlist *out, sb_error *err) {
    if (!json_is_array(j)) BAIL(err, SB_E_MALFORMED, "%s.%s: not an array of strings", where, key);
    size_t n = json_array_size(j);
    if (n > MAX_LIST_STRINGS)
        BAIL(err, SB_E_LIMIT, "%s.%s: over %d entries", where, key, MAX_LIST_STRINGS);
    out->v = calloc(n ? n : 1, sizeof(char *));
    out->show = calloc(n ? n : 1, sizeof(char *));
    if (!out->v || !out->show) BAIL(err, SB_E_INTERNAL, "out of memory");
    for (size_t i = 0; i < n; i++) {
        const json_t *e = json_array_get(j, i);
        if (!json_is_string(e) || json_string_length(e) == 0 ||
            json_string_length(e) > SB_GW_PATH_MAX ||
            strlen(json_string_value(e)) != json_string_length(e))
            BAIL(err, SB_E_MALFORMED, "%s.%s[%zu]: not a non-empty string", where, key, i);
        const char *s = json_string_value(e);
        char buf[SB_GW_PATH_MAX + 1];
        sb_error e2 = {0};
        if (ck == CANON_PATH) {
            if (s[0] != '/') BAIL(err, SB_E_MALFORMED, "%s.%s[%zu]: not absolute", where, key, i);
            if (sb_gw_path_canon(s, strlen(s), NULL, buf, sizeof(buf), &e2) < 0)
                BAIL(err, SB_E_MALFORMED, "%s.%s[%zu]: %s", where, key, i, e2.msg);
        } else if (ck == CANON_HOST) {
            if (sb_gw_host_canon(s, buf, sizeof(buf), &e2) < 0)
                BAIL(err, SB_E_MALFORMED, "%s.%s[%zu]: %s", where, key, i, e2.msg);
        } else {
            snprintf(buf, sizeof(buf), "%s", s);
            if (ck == CANON_LOWER)
                for (char *c = buf; *c; c++)
                    if (*c >= 'A' && *c <= 'Z') *c = (char)(*c + 32);
        }
        out->v[i] = strdup(buf);
        out->show[i] = strdup(s);
        out->n = i + 1;
        if (!out->v[i] || !out->show[i]) BAIL(err, SB_E_INTERNAL, "out of memory");
    }
    return 0;
}

void gw_schema_free(gw_schema *s) {
    if (!s) return;
    json_decref(s->enum_vals);
    json_decref(s->const_val);
    free(s->pattern);
    pcre2_code_free(s->re);
    pcre2_match_context_free(s->mctx);
    strlist_free(&s->required);
    for (size_t i = 0; i < s->nprops; i++) {
        free(s->props[i].name);
        gw_schema_free(s->props[i].s);
    }
    free(s->props);
    gw_schema_free(s->items);
    strlist_free(&s->path_prefix);
    free(s->path_base);
    strlist_free(&s->url_host);
    strlist_free(&s->url_schemes);
    free(s);
}

static int get_count(const json_t *v, const char *where, const char *key, int64_t *out,
                     sb_error *err) {
    if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > (1 << 30))
        BAIL(err, SB_E_MALFORMED, "%s.%s: not an integer in [0, 2^30]", where, key);
    *out = json_integer_value(v);
    return 0;
}

static int get_bound(const json_t *v, const char *where, const char *key, bool *has, double *out,
                     sb_error *err) {
    if (!json_is_number(v)) BAIL(err, SB_E_MALFORMED, "%s.%s: not a number", where, key);
    *has = true;
    *out = json_number_value(v);
    return 0;
}

static int compile_pattern(gw_schema *s, const json_t *v, const char *where, sb_error *err) {
    if (!json_is_string(v)) BAIL(err, SB_E_MALFORMED, "%s.pattern: not a string", where);
    size_t n = json_string_length(v);
    if (n > SB_GW_MAX_PATTERN)
        BAIL(err, SB_E_LIMIT, "%s.pattern: over %d bytes", where, SB_GW_MAX_PATTERN);
    s->pattern = strndup(json_string_value(v), n);
    pcre2_compile_context *cc = pcre2_compile_context_create(NULL);
    s->mctx = pcre2_match_context_create(NULL);
    if (!s->pattern || !cc || !s->mctx) {
        pcre2_compile_context_free(cc);
        BAIL(err, SB_E_INTERNAL, "out of memory");
    }
    pcre2_set_parens_nest_limit(cc, RE_PARENS_NEST);
    pcre2_set_max_pattern_length(cc, SB_GW_MAX_PATTERN);
    int ec = 0;
    PCRE2_SIZE eo = 0;
    s->re = pcre2_compile((PCRE2_SPTR)json_string_value(v), n,
                          PCRE2_UTF | PCRE2_NEVER_BACKSLASH_C | PCRE2_DOLLAR_ENDONLY, &ec, &eo, cc);
    pcre2_compile_context_free(cc);
    if (!s->re) {
        PCRE2_UCHAR msg[128];
        pcre2_get_error_message(ec, msg, sizeof(msg));
        BAIL(err, SB_E_MALFORMED, "%s.pattern: %s at offset %zu", where, (const char *)msg,
             (size_t)eo);
    }
    pcre2_set_match_limit(s->mctx, RE_MATCH_LIMIT);
    pcre2_set_depth_limit(s->mctx, RE_DEPTH_LIMIT);
    pcre2_set_heap_limit(s->mctx, RE_HEAP_LIMIT_KIB);
    return 0;
}

static int compile_types(gw_schema *s, const json_t *v, const char *where, sb_error *err) {
    const json_t *one = v;
    size_t n = 1;
    if (json_is_array(v)) {
        n = json_array_size(v);
        if (n == 0 || n > SB_ARRAY_LEN(TYPES))
            BAIL(err, SB_E_MALFORMED, "%s.type: empty or too long", where);
    }
    for (size_t i = 0; i < n; i++) {
        if (json_is_array(v)) one = json_array_get(v, i);
        if (!json_is_string(one)) BAIL(err, SB_E_MALFORMED, "%s.type: not a string", where);
        unsigned bit = 0;
        for (size_t k = 0; k < SB_ARRAY_LEN(TYPES); k++)
            if (strcmp(json_string_value(one), TYPES[k].name) == 0) bit = TYPES[k].bit;
        if (!bit)
            BAIL(err, SB_E_MALFORMED, "%s.type: unknown type \"%s\"", where,
                 json_string_value(one));
        s->types |= bit;
    }
    return 0;
}

int gw_schema_compile(const json_t *j, const char *where, int depth, size_t *budget,
                      gw_schema **out, sb_error *err) {
    if (!json_is_object(j)) BAIL(err, SB_E_MALFORMED, "%s: not an object", where);
    if (depth > SB_GW_MAX_SCHEMA_DEPTH)
        BAIL(err, SB_E_LIMIT, "%s: nested deeper than %d", where, SB_GW_MAX_SCHEMA_DEPTH);
    if (*budget == 0)
        BAIL(err, SB_E_LIMIT, "%s: over %d schema nodes", where, SB_GW_MAX_SCHEMA_NODES);
    (*budget)--;
    gw_schema *s = calloc(1, sizeof(*s));
    if (!s) BAIL(err, SB_E_INTERNAL, "out of memory");
    s->min_len = s->max_len = s->min_items = s->max_items = -1;
    int rc = 0;
    const char *k;
    const json_t *v;
    char sub[SB_GW_REASON_MAX];
    json_object_foreach((json_t *)j, k, v) {
        if (!strcmp(k, "type")) {
            rc = compile_types(s, v, where, err);
        } else if (!strcmp(k, "enum")) {
            if (!json_is_array(v) || json_array_size(v) == 0 || json_array_size(v) > SB_GW_MAX_LIST)
                rc = sb_error_set(err, SB_E_MALFORMED, "%s.enum: not a non-empty array", where);
            else
                s->enum_vals = json_incref((json_t *)v);
        } else if (!strcmp(k, "const")) {
            s->const_val = json_incref((json_t *)v);
        } else if (!strcmp(k, "pattern")) {
            rc = compile_pattern(s, v, where, err);
        } else if (!strcmp(k, "minimum")) {
            rc = get_bound(v, where, k, &s->has_min, &s->min, err);
        } else if (!strcmp(k, "maximum")) {
            rc = get_bound(v, where, k, &s->has_max, &s->max, err);
        } else if (!strcmp(k, "exclusiveMinimum")) {
            rc = get_bound(v, where, k, &s->has_xmin, &s->xmin, err);
        } else if (!strcmp(k, "exclusiveMaximum")) {
            rc = get_bound(v, where, k, &s->has_xmax, &s->xmax, err);
        } else if (!strcmp(k, "minLength")) {
            rc = get_count(v, where, k, &s->min_len, err);
        } else if (!strcmp(k, "maxLength")) {
            rc = get_count(v, where, k, &s->max_len, err);
        } else if (!strcmp(k, "minItems")) {
            rc = get_count(v, where, k, &s->min_items, err);
        } else if (!strcmp(k, "maxItems")) {
            rc = get_count(v, where, k, &s->max_items, err);
        } else if (!strcmp(k, "required")) {
            rc = strlist_load(v, where, k, CANON_NONE, &s->required, err);
        } else if (!strcmp(k, "additionalProperties")) {
            if (!json_is_boolean(v))
                rc =
                    sb_error_set(err, SB_E_UNSUPPORTED,
                                 "%s.additionalProperties: only true or false is supported", where);
            else
                s->no_additional = json_is_false(v);
        } else if (!strcmp(k, "properties")) {
            if (!json_is_object(v)) {
                rc = sb_error_set(err, SB_E_MALFORMED, "%s.properties: not an object", where);
                break;
            }
            size_t n = json_object_size(v);
            s->props = calloc(n ? n : 1, sizeof(*s->props));
            if (!s->props) {
                rc = sb_error_set(err, SB_E_INTERNAL, "out of memory");
                break;
            }
            const char *pk;
            const json_t *pv;
            json_object_foreach((json_t *)v, pk, pv) {
                snprintf(sub, sizeof(sub), "%s.properties.%s", where, pk);
                s->props[s->nprops].name = strdup(pk);
                if (!s->props[s->nprops].name) {
                    rc = sb_error_set(err, SB_E_INTERNAL, "out of memory");
                    break;
                }
                rc = gw_schema_compile(pv, sub, depth + 1, budget, &s->props[s->nprops].s, err);
                s->nprops++;
                if (rc < 0) break;
            }
        } else if (!strcmp(k, "items")) {
            snprintf(sub, sizeof(sub), "%s.items", where);
            rc = gw_schema_compile(v, sub, depth + 1, budget, &s->items, err);
        } else if (!strcmp(k, "path_prefix")) {
            rc = strlist_load(v, where, k, CANON_PATH, &s->path_prefix, err);
        } else if (!strcmp(k, "path_base")) {
            char buf[SB_GW_PATH_MAX + 1];
            sb_error e2 = {0};
            if (!json_is_string(v) || json_string_value(v)[0] != '/' ||
                sb_gw_path_canon(json_string_value(v), json_string_length(v), NULL, buf,
                                 sizeof(buf), &e2) < 0)
                rc = sb_error_set(err, SB_E_MALFORMED, "%s.path_base: not an absolute path%s%s",
                                  where, e2.msg[0] ? ": " : "", e2.msg);
            else if (!(s->path_base = strdup(buf)))
                rc = sb_error_set(err, SB_E_INTERNAL, "out of memory");
        } else if (!strcmp(k, "url_host")) {
            rc = strlist_load(v, where, k, CANON_HOST, &s->url_host, err);
        } else if (!strcmp(k, "url_schemes")) {
            rc = strlist_load(v, where, k, CANON_LOWER, &s->url_schemes, err);
        } else if (!strcmp(k, "url_userinfo")) {
            if (!json_is_boolean(v))
                rc = sb_error_set(err, SB_E_MALFORMED, "%s.url_userinfo: not a boolean", where);
            s->url_userinfo = json_is_true(v);
        } else if (!strcmp(k, "description") || !strcmp(k, "title") || !strcmp(k, "$comment") ||
                   !strcmp(k, "default") || !strcmp(k, "examples")) {
            /* annotations: no effect on validation */
        } else {
            rc = sb_error_set(err, SB_E_UNSUPPORTED, "%s.%s: keyword not supported", where, k);
        }
        if (rc < 0) break;
    }
    if (rc == 0 && s->path_base && s->path_prefix.n == 0)
        rc = sb_error_set(err, SB_E_MALFORMED, "%s.path_base: needs path_prefix", where);
    if (rc == 0 && (s->url_schemes.n || s->url_userinfo) && s->url_host.n == 0)
        rc = sb_error_set(err, SB_E_MALFORMED, "%s.url_schemes: needs url_host", where);
    if (rc < 0) {
        gw_schema_free(s);
        return rc;
    }
    *out = s;
    return 0;
}

/* ---- checking ---------------------------------------------------------------------------- */

struct ctx {
    const char *where;
    char path[SB_GW_REASON_MAX];
    size_t plen;
    char *reason;
    size_t rlen;
};

SB_PRINTF(3, 4)
static int deny(struct ctx *c, const json_t *v, const char *fmt, ...) {
    char why[SB_GW_REASON_MAX], val[96];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, sizeof(why), fmt, ap);
    va_end(ap);
    gw_render(v, val, sizeof(val));
    snprintf(c->reason, c->rlen, "%s%s: %s %s", c->where, c->path, val, why);
    return 1;
}

static unsigned type_of(const json_t *v) {
    switch (json_typeof(v)) {
    case JSON_NULL: return T_NULL;
    case JSON_TRUE:
    case JSON_FALSE: return T_BOOL;
    case JSON_INTEGER: return T_INT | T_NUM;
    case JSON_REAL: {
        double d = json_real_value(v);
        return (isfinite(d) && floor(d) == d) ? (T_INT | T_NUM) : T_NUM;
    }
    case JSON_STRING: return T_STR;
    case JSON_ARRAY: return T_ARR;
    case JSON_OBJECT: return T_OBJ;
    default: return 0;
    }
}

static void type_names(unsigned types, char *buf, size_t len) {
    size_t o = 0;
    buf[0] = '\0';
    for (size_t k = 0; k < SB_ARRAY_LEN(TYPES); k++) {
        if (!(types & TYPES[k].bit)) continue;
        int w = snprintf(buf + o, len - o, "%s%s", o ? "|" : "", TYPES[k].name);
        if (w < 0 || (size_t)w >= len - o) return;
        o += (size_t)w;
    }
}

static size_t utf8_length(const char *s, size_t n) {
    size_t cps = 0;
    for (size_t i = 0; i < n; i++)
        if (((unsigned char)s[i] & 0xc0) != 0x80) cps++;
    return cps;
}

static int check_string(const gw_schema *s, const json_t *v, struct ctx *c) {
    const char *str = json_string_value(v);
    size_t n = json_string_length(v);
    size_t cps = (s->max_len >= 0 || s->min_len >= 0) ? utf8_length(str, n) : 0;
    if (s->max_len >= 0 && cps > (size_t)s->max_len)
        return deny(c, v, "is %zu characters, over maxLength %lld", cps, (long long)s->max_len);
    if (s->min_len >= 0 && cps < (size_t)s->min_len)
        return deny(c, v, "is %zu characters, under minLength %lld", cps, (long long)s->min_len);
    if (s->re) {
        pcre2_match_data *md = pcre2_match_data_create(1, NULL);
        if (!md) return deny(c, v, "could not be matched (out of memory)");
        int r = pcre2_match(s->re, (PCRE2_SPTR)str, n, 0, 0, md, s->mctx);
        pcre2_match_data_free(md);
        if (r == PCRE2_ERROR_NOMATCH) return deny(c, v, "does not match pattern %s", s->pattern);
        if (r < 0) {
            PCRE2_UCHAR msg[128];
            pcre2_get_error_message(r, msg, sizeof(msg));
            return deny(c, v, "could not be matched against pattern %s (%s)", s->pattern,
                        (const char *)msg);
        }
    }
    if (s->path_prefix.n) {
        char canon[SB_GW_PATH_MAX + 1];
        sb_error e = {0};
        if (sb_gw_path_canon(str, n, s->path_base, canon, sizeof(canon), &e) < 0)
            return deny(c, v, "is not an acceptable path: %s", e.msg);
        bool ok = false;
        for (size_t i = 0; i < s->path_prefix.n && !ok; i++)
            ok = sb_gw_path_under(canon, s->path_prefix.v[i]);
        if (!ok) {
            char list[256];
            size_t o = 0;
            list[0] = '\0';
            for (size_t i = 0; i < s->path_prefix.n && o < sizeof(list); i++) {
                int w = snprintf(list + o, sizeof(list) - o, "%s%s", i ? ", " : "",
                                 s->path_prefix.show[i]);
                if (w < 0) break;
                o += (size_t)w;
            }
            if (strcmp(canon, str) != 0)
                return deny(c, v, "(canonical %s) not under %s", canon, list);
            return deny(c, v, "not under %s", list);
        }
    }
    if (s->url_host.n) {
        sb_gw_url u;
        sb_error e = {0};
        if (strlen(str) != n) return deny(c, v, "is not an acceptable URL: NUL byte");
        if (sb_gw_url_parse(str, n, &u, &e) < 0)
            return deny(c, v, "is not an acceptable URL: %s", e.msg);
        bool scheme_ok = false;
        if (s->url_schemes.n == 0) {
            scheme_ok = !strcmp(u.scheme, "https") || !strcmp(u.scheme, "http");
        } else {
            for (size_t i = 0; i < s->url_schemes.n; i++)
                if (!strcmp(u.scheme, s->url_schemes.v[i])) scheme_ok = true;
        }
        if (!scheme_ok) return deny(c, v, "has scheme %s, not allowed by url_schemes", u.scheme);
        if (u.has_userinfo && !s->url_userinfo)
            return deny(c, v, "carries userinfo before the host %s (url_userinfo is false)",
                        u.host);
        bool ok = false;
        for (size_t i = 0; i < s->url_host.n && !ok; i++) {
            const char *h = s->url_host.v[i];
            if (h[0] == '*' && h[1] == '.') {
                size_t hl = strlen(h + 1), ul = strlen(u.host);
                ok = u.host_kind == SB_GW_HOST_DOMAIN && ul > hl &&
                     strcmp(u.host + ul - hl, h + 1) == 0;
            } else {
                ok = strcmp(u.host, h) == 0;
            }
        }
        if (!ok) return deny(c, v, "has host %s, not in url_host", u.host);
    }
    return 0;
}

static bool num_lt(const json_t *v, double bound) {
    if (json_is_integer(v) && fabs(bound) < 9007199254740992.0 && floor(bound) == bound)
        return json_integer_value(v) < (json_int_t)bound;
    return json_number_value(v) < bound;
}
static bool num_gt(const json_t *v, double bound) {
    if (json_is_integer(v) && fabs(bound) < 9007199254740992.0 && floor(bound) == bound)
        return json_integer_value(v) > (json_int_t)bound;
    return json_number_value(v) > bound;
}

static int check_node(const gw_schema *s, const json_t *v, struct ctx *c, int depth) {
    if (depth > SB_GW_MAX_ARGS_DEPTH)
        return deny(c, v, "is nested deeper than %d", SB_GW_MAX_ARGS_DEPTH);
    unsigned t = type_of(v);
    if (s->types && !(t & s->types)) {
        char names[96];
        type_names(s->types, names, sizeof(names));
        return deny(c, v, "is not of type %s", names);
    }
    if (s->const_val && !json_equal(s->const_val, v)) return deny(c, v, "is not the const value");
    if (s->enum_vals) {
        bool found = false;
        size_t i;
        const json_t *e;
        json_array_foreach(s->enum_vals, i, e) {
            if (json_equal(e, v)) found = true;
        }
        if (!found) {
            char list[128];
            gw_render(s->enum_vals, list, sizeof(list));
            return deny(c, v, "is not one of enum %s", list);
        }
    }
    if (t & T_NUM) {
        if (s->has_min && num_lt(v, s->min)) return deny(c, v, "is under minimum %g", s->min);
        if (s->has_max && num_gt(v, s->max)) return deny(c, v, "is over maximum %g", s->max);
        if (s->has_xmin && !num_gt(v, s->xmin))
            return deny(c, v, "is not over exclusiveMinimum %g", s->xmin);
        if (s->has_xmax && !num_lt(v, s->xmax))
            return deny(c, v, "is not under exclusiveMaximum %g", s->xmax);
    }
    if (t & T_STR) {
        if (check_string(s, v, c)) return 1;
    } else if (s->path_prefix.n || s->url_host.n || s->re) {
        return deny(c, v, "is not a string (the rule checks strings)");
    }
    if (t & T_ARR) {
        size_t n = json_array_size(v);
        if (s->max_items >= 0 && n > (size_t)s->max_items)
            return deny(c, v, "has %zu items, over maxItems %lld", n, (long long)s->max_items);
        if (s->min_items >= 0 && n < (size_t)s->min_items)
            return deny(c, v, "has %zu items, under minItems %lld", n, (long long)s->min_items);
        if (s->items) {
            size_t save = c->plen;
            for (size_t i = 0; i < n; i++) {
                int w = snprintf(c->path + save, sizeof(c->path) - save, "[%zu]", i);
                c->plen = (w < 0 || (size_t)w >= sizeof(c->path) - save) ? save : save + (size_t)w;
                int r = check_node(s->items, json_array_get(v, i), c, depth + 1);
                c->plen = save;
                if (r) return r;
                c->path[save] = '\0';
            }
        }
    }
    if (t & T_OBJ) {
        for (size_t i = 0; i < s->required.n; i++)
            if (!json_object_get(v, s->required.v[i]))
                return deny(c, v, "lacks required property \"%s\"", s->required.v[i]);
        const char *k;
        const json_t *e;
        size_t save = c->plen;
        json_object_foreach((json_t *)v, k, e) {
            const gw_schema *ps = NULL;
            for (size_t i = 0; i < s->nprops && !ps; i++)
                if (!strcmp(s->props[i].name, k)) ps = s->props[i].s;
            if (!ps && !s->no_additional) continue;
            int w = snprintf(c->path + save, sizeof(c->path) - save, ".%s", k);
            c->plen = (w < 0 || (size_t)w >= sizeof(c->path) - save) ? save : save + (size_t)w;
            if (!ps)
                return deny(c, e,
                            "is not allowed (not in properties; additionalProperties is "
                            "false)");
            int r = check_node(ps, e, c, depth + 1);
            c->plen = save;
            if (r) return r;
            c->path[save] = '\0';
        }
    }
    return 0;
}

int gw_schema_check(const gw_schema *s, const json_t *v, const char *where, char *reason,
                    size_t reason_len) {
    char dummy[8];
    struct ctx c = {.where = where,
                    .plen = 0,
                    .reason = reason ? reason : dummy,
                    .rlen = reason ? reason_len : sizeof(dummy)};
    c.path[0] = '\0';
    return check_node(s, v, &c, 0);
}
