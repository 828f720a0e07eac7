/* gw_policy: loads the per-agent policy (docs/gateway.md, "Policy language") and decides on
 * visibility and tools/call: name allow/deny lists, argument rules, approval, token buckets. */
#include <stdio.h>
#include <string.h>

#include "gateway/gw_internal.h"

#define RATE_MAX_COUNT 1000000u
#define LIMIT_MAX_BYTES (1ull << 30)
#define LIMIT_MAX_TIMEOUT_MS 86400000ull

enum { K_SERVER, K_TOOL, K_RESOURCE, K_PROMPT, K_MAX };
static const char *const KIND_KEY[K_MAX] = {"servers", "tools", "resources", "prompts"};
static const char *const KIND_NAME[K_MAX] = {"server", "tool", "resource", "prompt"};

struct pattern {
    char *text;   /* as configured: "fs.read_*" */
    char *server; /* "fs" (a glob) */
    char *name;   /* "read_*" (a glob; NULL for server lists) */
    bool name_has_glob;
};

struct plist {
    struct pattern *v;
    size_t n;
};

struct bucket {
    uint64_t count, period_ms, burst; /* count calls per period_ms, at most burst at once */
    uint64_t tokens;                  /* one call costs period_ms units */
    uint64_t last_ms;
    bool started;
};

struct tool_rule {
    char *server, *tool;
    char *where; /* "agents.alice.tools.fs.read_file" */
    char *args_where;
    gw_schema *args;
    bool approval;
    bool has_rate;
    struct bucket rate;
    uint64_t timeout_ms; /* 0: the agent's */
};

/* One server-request kind: deny (default), allow, or allow for the servers of a list. */
struct sreq_rule {
    enum { SR_DENY, SR_ALLOW, SR_LIST } mode;
    bool set; /* configured (not the default) */
    struct plist servers;
};

struct agent {
    char *name;
    struct sreq_rule sreq[SB_GW_SREQ_MAX];
    struct plist allow[K_MAX], deny[K_MAX];
    struct plist approval, auto_pin;
    bool inject_deny;
    sb_gw_limits limits;
    bool has_rate;
    struct bucket rate;
    struct tool_rule *rules;
    size_t nrules;
};

struct sb_gw_policy {
    struct agent *agents;
    size_t n;
};

const char *sb_gw_verdict_name(sb_gw_verdict v) {
    switch (v) {
    case SB_GW_ALLOW: return "allow";
    case SB_GW_DENY: return "deny";
    case SB_GW_NEEDS_APPROVAL: return "needs-approval";
    default: return "unknown";
    }
}

/* "a.b" into out; names are bounded so a path fits, and a cut one still names the place. */
static void join(char *out, size_t len, const char *a, const char *b) {
    int k = snprintf(out, len, "%s.%s", a, b);
    if (k < 0) out[0] = '\0';
}

/* ---- freeing ------------------------------------------------------------------------------ */

static void plist_free(struct plist *l) {
    for (size_t i = 0; i < l->n; i++) {
        free(l->v[i].text);
        free(l->v[i].server);
        free(l->v[i].name);
    }
    free(l->v);
}

static void agent_free(struct agent *a) {
    free(a->name);
    for (int k = 0; k < K_MAX; k++) {
        plist_free(&a->allow[k]);
        plist_free(&a->deny[k]);
    }
    plist_free(&a->approval);
    plist_free(&a->auto_pin);
    for (int k = 0; k < SB_GW_SREQ_MAX; k++)
        plist_free(&a->sreq[k].servers);
    for (size_t i = 0; i < a->nrules; i++) {
        free(a->rules[i].server);
        free(a->rules[i].tool);
        free(a->rules[i].where);
        free(a->rules[i].args_where);
        gw_schema_free(a->rules[i].args);
    }
    free(a->rules);
}

void sb_gw_policy_free(sb_gw_policy *p) {
    if (!p) return;
    for (size_t i = 0; i < p->n; i++)
        agent_free(&p->agents[i]);
    free(p->agents);
    free(p);
}

/* ---- loading ----------------------------------------------------------------------------- */

static bool name_ok(const char *s, size_t len) {
    if (len == 0 || len > SB_GW_MAX_NAME || strlen(s) != len) return false;
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)s[i] <= 0x20 || (unsigned char)s[i] == 0x7f) return false;
    return true;
}

/* server_only: entries are server globs; otherwise "server.name" globs (or "*"). */
static int plist_load(const json_t *j, const char *where, bool server_only, struct plist *out,
                      sb_error *err) {
    if (!json_is_array(j)) BAIL(err, SB_E_MALFORMED, "%s: not an array of strings", where);
    size_t n = json_array_size(j);
    if (n > SB_GW_MAX_LIST) BAIL(err, SB_E_LIMIT, "%s: over %d entries", where, SB_GW_MAX_LIST);
    out->v = calloc(n ? n : 1, sizeof(*out->v));
    if (!out->v) BAIL(err, SB_E_INTERNAL, "out of memory");
    for (size_t i = 0; i < n; i++) {
        const json_t *e = json_array_get(j, i);
        if (!json_is_string(e) || !name_ok(json_string_value(e), json_string_length(e)))
            BAIL(err, SB_E_MALFORMED, "%s[%zu]: not a name of 1..%d printable bytes without spaces",
                 where, i, SB_GW_MAX_NAME);
        const char *s = json_string_value(e);
        struct pattern *p = &out->v[out->n++];
        p->text = strdup(s);
        if (!p->text) BAIL(err, SB_E_INTERNAL, "out of memory");
        if (server_only) {
            p->server = strdup(s);
        } else if (strcmp(s, "*") == 0) {
            p->server = strdup("*");
            p->name = strdup("*");
            p->name_has_glob = true;
            if (!p->name) BAIL(err, SB_E_INTERNAL, "out of memory");
        } else {
            const char *dot = strchr(s, '.');
            if (!dot || dot == s || dot[1] == '\0')
                BAIL(err, SB_E_MALFORMED, "%s[%zu]: \"%s\" is not \"server.name\" or \"*\"", where,
                     i, s);
            p->server = strndup(s, (size_t)(dot - s));
            p->name = strdup(dot + 1);
            if (!p->name) BAIL(err, SB_E_INTERNAL, "out of memory");
            p->name_has_glob = strpbrk(p->name, "*?") != NULL;
        }
        if (!p->server) BAIL(err, SB_E_INTERNAL, "out of memory");
    }
    return 0;
}

static int u64_in(const json_t *v, const char *where, uint64_t lo, uint64_t hi, uint64_t *out,
                  sb_error *err) {
    if (!json_is_integer(v) || json_integer_value(v) < 0 || (uint64_t)json_integer_value(v) < lo ||
        (uint64_t)json_integer_value(v) > hi)
        BAIL(err, SB_E_MALFORMED, "%s: not an integer in [%llu, %llu]", where,
             (unsigned long long)lo, (unsigned long long)hi);
    *out = (uint64_t)json_integer_value(v);
    return 0;
}

static int rate_load(const json_t *j, const char *where, struct bucket *b, sb_error *err) {
    if (!json_is_object(j)) BAIL(err, SB_E_MALFORMED, "%s: not an object", where);
    static const struct {
        const char *key;
        uint64_t ms;
    } PER[] = {{"per_second", 1000}, {"per_minute", 60000}, {"per_hour", 3600000}};
    memset(b, 0, sizeof(*b));
    const char *k;
    const json_t *v;
    char sub[SB_GW_REASON_MAX];
    json_object_foreach((json_t *)j, k, v) {
        join(sub, sizeof(sub), where, k);
        bool known = false;
        for (size_t i = 0; i < SB_ARRAY_LEN(PER); i++) {
            if (strcmp(k, PER[i].key) != 0) continue;
            if (b->period_ms) BAIL(err, SB_E_MALFORMED, "%s: more than one per_* rate", where);
            TRY(u64_in(v, sub, 1, RATE_MAX_COUNT, &b->count, err));
            b->period_ms = PER[i].ms;
            known = true;
        }
        if (!strcmp(k, "burst")) {
            TRY(u64_in(v, sub, 1, RATE_MAX_COUNT, &b->burst, err));
            known = true;
        }
        if (!known) BAIL(err, SB_E_MALFORMED, "%s: unknown key", sub);
    }
    if (!b->period_ms)
        BAIL(err, SB_E_MALFORMED, "%s: needs per_second, per_minute or per_hour", where);
    if (!b->burst) b->burst = b->count;
    return 0;
}

static int limits_load(const json_t *j, const char *where, sb_gw_limits *l, sb_error *err) {
    if (!json_is_object(j)) BAIL(err, SB_E_MALFORMED, "%s: not an object", where);
    const char *k;
    const json_t *v;
    char sub[SB_GW_REASON_MAX];
    json_object_foreach((json_t *)j, k, v) {
        join(sub, sizeof(sub), where, k);
        if (!strcmp(k, "max_request_bytes"))
            TRY(u64_in(v, sub, 1, LIMIT_MAX_BYTES, &l->max_request_bytes, err));
        else if (!strcmp(k, "max_response_bytes"))
            TRY(u64_in(v, sub, 1, LIMIT_MAX_BYTES, &l->max_response_bytes, err));
        else if (!strcmp(k, "timeout_ms"))
            TRY(u64_in(v, sub, 1, LIMIT_MAX_TIMEOUT_MS, &l->timeout_ms, err));
        else if (!strcmp(k, "server_request_timeout_ms"))
            TRY(u64_in(v, sub, 1, LIMIT_MAX_TIMEOUT_MS, &l->server_request_timeout_ms, err));
        else
            BAIL(err, SB_E_MALFORMED, "%s: unknown key", sub);
    }
    return 0;
}

static int rule_load(const char *key, const json_t *j, const char *where, size_t *budget,
                     struct tool_rule *r, sb_error *err) {
    const char *dot = strchr(key, '.');
    if (!name_ok(key, strlen(key)) || !dot || dot == key || dot[1] == '\0' || strpbrk(key, "*?"))
        BAIL(err, SB_E_MALFORMED, "%s: a tool rule is named \"server.tool\" exactly", where);
    if (!json_is_object(j)) BAIL(err, SB_E_MALFORMED, "%s: not an object", where);
    r->server = strndup(key, (size_t)(dot - key));
    r->tool = strdup(dot + 1);
    r->where = strdup(where);
    if (!r->server || !r->tool || !r->where) BAIL(err, SB_E_INTERNAL, "out of memory");
    const char *k;
    const json_t *v;
    char sub[SB_GW_REASON_MAX];
    json_object_foreach((json_t *)j, k, v) {
        join(sub, sizeof(sub), where, k);
        if (!strcmp(k, "arguments")) {
            r->args_where = strdup(sub);
            if (!r->args_where) BAIL(err, SB_E_INTERNAL, "out of memory");
            TRY(gw_schema_compile(v, sub, 0, budget, &r->args, err));
        } else if (!strcmp(k, "approval")) {
            if (!json_is_boolean(v)) BAIL(err, SB_E_MALFORMED, "%s: not a boolean", sub);
            r->approval = json_is_true(v);
        } else if (!strcmp(k, "rate")) {
            TRY(rate_load(v, sub, &r->rate, err));
            r->has_rate = true;
        } else if (!strcmp(k, "timeout_ms")) {
            TRY(u64_in(v, sub, 1, LIMIT_MAX_TIMEOUT_MS, &r->timeout_ms, err));
        } else if (!strcmp(k, "description")) {
            if (!json_is_string(v)) BAIL(err, SB_E_MALFORMED, "%s: not a string", sub);
        } else {
            BAIL(err, SB_E_MALFORMED, "%s: unknown key", sub);
        }
    }
    return 0;
}

static int kind_load(const json_t *j, const char *where, int kind, size_t *budget, struct agent *a,
                     sb_error *err) {
    if (!json_is_object(j)) BAIL(err, SB_E_MALFORMED, "%s: not an object", where);
    size_t nrules = 0;
    const char *k;
    const json_t *v;
    char sub[SB_GW_REASON_MAX];
    json_object_foreach((json_t *)j, k, v) {
        if (strcmp(k, "allow") != 0 && strcmp(k, "deny") != 0) nrules++;
    }
    if (nrules > 0 && kind != K_TOOL)
        BAIL(err, SB_E_MALFORMED, "%s: only \"allow\" and \"deny\" are allowed here", where);
    if (nrules > SB_GW_MAX_TOOL_RULES)
        BAIL(err, SB_E_LIMIT, "%s: over %d tool rules", where, SB_GW_MAX_TOOL_RULES);
    if (nrules) {
        a->rules = calloc(nrules, sizeof(*a->rules));
        if (!a->rules) BAIL(err, SB_E_INTERNAL, "out of memory");
    }
    json_object_foreach((json_t *)j, k, v) {
        join(sub, sizeof(sub), where, k);
        if (!strcmp(k, "allow"))
            TRY(plist_load(v, sub, kind == K_SERVER, &a->allow[kind], err));
        else if (!strcmp(k, "deny"))
            TRY(plist_load(v, sub, kind == K_SERVER, &a->deny[kind], err));
        else
            TRY(rule_load(k, v, sub, budget, &a->rules[a->nrules++], err));
    }
    return 0;
}

static const char *const SREQ_KEY[SB_GW_SREQ_MAX] = {"sampling", "elicitation", "roots"};
static const char *const SREQ_METHOD[SB_GW_SREQ_MAX] = {"sampling/createMessage",
                                                        "elicitation/create", "roots/list"};

const char *sb_gw_sreq_key(enum sb_gw_sreq k) {
    return (unsigned)k < SB_GW_SREQ_MAX ? SREQ_KEY[k] : "(unknown)";
}
const char *sb_gw_sreq_method(enum sb_gw_sreq k) {
    return (unsigned)k < SB_GW_SREQ_MAX ? SREQ_METHOD[k] : "(unknown)";
}
bool sb_gw_sreq_of(const char *method, enum sb_gw_sreq *out) {
    for (int k = 0; method && k < SB_GW_SREQ_MAX; k++)
        if (!strcmp(method, SREQ_METHOD[k])) {
            *out = (enum sb_gw_sreq)k;
            return true;
        }
    return false;
}

static int sreq_key(const char *k) {
    for (int i = 0; i < SB_GW_SREQ_MAX; i++)
        if (!strcmp(k, SREQ_KEY[i])) return i;
    return -1;
}

/* "allow", "deny" or an array of server globs. */
static int sreq_load(const json_t *v, const char *where, struct sreq_rule *r, sb_error *err) {
    const char *s = json_string_value(v);
    if (s && !strcmp(s, "allow")) {
        r->mode = SR_ALLOW;
    } else if (s && !strcmp(s, "deny")) {
        r->mode = SR_DENY;
    } else if (json_is_array(v)) {
        TRY(plist_load(v, where, true, &r->servers, err));
        r->mode = SR_LIST;
    } else {
        BAIL(err, SB_E_MALFORMED, "%s: \"allow\", \"deny\" or an array of server names", where);
    }
    r->set = true;
    return 0;
}

static int agent_load(const char *name, const json_t *j, struct agent *a, sb_error *err) {
    char where[SB_GW_REASON_MAX], sub[SB_GW_REASON_MAX];
    snprintf(where, sizeof(where), "agents.%s", name);
    if (!name_ok(name, strlen(name)) || strchr(name, '.'))
        BAIL(err, SB_E_MALFORMED, "%s: an agent name is 1..%d printable bytes without dots", where,
             SB_GW_MAX_NAME);
    if (!json_is_object(j)) BAIL(err, SB_E_MALFORMED, "%s: not an object", where);
    a->name = strdup(name);
    if (!a->name) BAIL(err, SB_E_INTERNAL, "out of memory");
    a->inject_deny = true;
    a->limits = (sb_gw_limits){SB_GW_DEFAULT_MAX_REQUEST, SB_GW_DEFAULT_MAX_RESPONSE,
                               SB_GW_DEFAULT_TIMEOUT_MS, SB_GW_DEFAULT_SERVER_REQUEST_TIMEOUT_MS};
    size_t budget = SB_GW_MAX_SCHEMA_NODES;
    const char *k;
    const json_t *v;
    json_object_foreach((json_t *)j, k, v) {
        join(sub, sizeof(sub), where, k);
        int kind = -1;
        for (int i = 0; i < K_MAX; i++)
            if (!strcmp(k, KIND_KEY[i])) kind = i;
        if (kind >= 0) {
            TRY(kind_load(v, sub, kind, &budget, a, err));
        } else if (!strcmp(k, "approval")) {
            TRY(plist_load(v, sub, false, &a->approval, err));
        } else if (!strcmp(k, "auto_pin")) {
            TRY(plist_load(v, sub, true, &a->auto_pin, err));
        } else if (!strcmp(k, "rate")) {
            TRY(rate_load(v, sub, &a->rate, err));
            a->has_rate = true;
        } else if (!strcmp(k, "limits")) {
            TRY(limits_load(v, sub, &a->limits, err));
        } else if (!strcmp(k, "injection")) {
            if (json_is_string(v) && !strcmp(json_string_value(v), "deny"))
                a->inject_deny = true;
            else if (json_is_string(v) && !strcmp(json_string_value(v), "flag"))
                a->inject_deny = false;
            else
                BAIL(err, SB_E_MALFORMED, "%s: \"deny\" or \"flag\"", sub);
        } else if (sreq_key(k) >= 0) {
            TRY(sreq_load(v, sub, &a->sreq[sreq_key(k)], err));
        } else if (!strcmp(k, "description")) {
            if (!json_is_string(v)) BAIL(err, SB_E_MALFORMED, "%s: not a string", sub);
        } else {
            BAIL(err, SB_E_MALFORMED, "%s: unknown key", sub);
        }
    }
    return 0;
}

int sb_gw_policy_load(const json_t *agents_config, sb_gw_policy **out, sb_error *err) {
    if (!out) BAIL(err, SB_E_USAGE, "agents: no output");
    if (!json_is_object(agents_config)) BAIL(err, SB_E_MALFORMED, "agents: not an object");
    size_t n = json_object_size(agents_config);
    if (n > SB_GW_MAX_AGENTS) BAIL(err, SB_E_LIMIT, "agents: over %d agents", SB_GW_MAX_AGENTS);
    sb_gw_policy *p = calloc(1, sizeof(*p));
    if (!p) BAIL(err, SB_E_INTERNAL, "out of memory");
    p->agents = calloc(n ? n : 1, sizeof(*p->agents));
    if (!p->agents) {
        free(p);
        BAIL(err, SB_E_INTERNAL, "out of memory");
    }
    const char *k;
    const json_t *v;
    json_object_foreach((json_t *)agents_config, k, v) {
        int rc = agent_load(k, v, &p->agents[p->n++], err);
        if (rc < 0) {
            sb_gw_policy_free(p);
            return rc;
        }
    }
    *out = p;
    return 0;
}

/* ---- deciding ---------------------------------------------------------------------------- */

SB_PRINTF(3, 4)
static void say(char *reason, size_t len, const char *fmt, ...) {
    if (!reason || len == 0) return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(reason, len, fmt, ap);
    va_end(ap);
}

static const struct agent *find_agent(const sb_gw_policy *p, const char *name) {
    if (!p || !name) return NULL;
    for (size_t i = 0; i < p->n; i++)
        if (!strcmp(p->agents[i].name, name)) return &p->agents[i];
    return NULL;
}

bool sb_gw_policy_has_agent(const sb_gw_policy *p, const char *agent) {
    return find_agent(p, agent) != NULL;
}

/* A resource URI that could climb out of a glob's directory ("..", ".", %2e, %2f, %5c, a
 * double-encoded %25, backslash) is matched only by entries without wildcards. */
static bool uri_suspicious(const char *s) {
    if (strchr(s, '\\') || strcasestr(s, "%2e") || strcasestr(s, "%2f") || strcasestr(s, "%5c") ||
        strcasestr(s, "%25"))
        return true;
    for (const char *q = s; (q = strstr(q, "/.")) != NULL; q++) {
        const char *r = q + 2;
        if (*r == '.') r++;
        if (*r == '\0' || *r == '/' || *r == '?' || *r == '#') return true;
    }
    return false;
}

static const struct pattern *plist_match(const struct plist *l, const char *server,
                                         const char *name, bool strict_name) {
    for (size_t i = 0; i < l->n; i++) {
        const struct pattern *p = &l->v[i];
        if (!gw_glob(p->server, server)) continue;
        if (!p->name) return p;
        if (!name || (strict_name && p->name_has_glob)) continue;
        if (gw_glob(p->name, name)) return p;
    }
    return NULL;
}

static bool visible(const struct agent *a, const char *agent, const char *server, int kind,
                    const char *name, char *reason, size_t rlen) {
    if (!a) {
        say(reason, rlen, "agents: no agent \"%s\"", agent ? agent : "(null)");
        return false;
    }
    const struct pattern *m = plist_match(&a->deny[K_SERVER], server, NULL, false);
    if (m) {
        say(reason, rlen, "agents.%s.servers.deny: server \"%s\" matches \"%s\"", a->name, server,
            m->text);
        return false;
    }
    if (!plist_match(&a->allow[K_SERVER], server, NULL, false)) {
        say(reason, rlen, "agents.%s.servers.allow: server \"%s\" matches no entry", a->name,
            server);
        return false;
    }
    if (kind == K_SERVER) return true;
    m = plist_match(&a->deny[kind], server, name, false);
    if (m) {
        say(reason, rlen, "agents.%s.%s.deny: %s \"%s.%s\" matches \"%s\"", a->name, KIND_KEY[kind],
            KIND_NAME[kind], server, name, m->text);
        return false;
    }
    bool strict = kind == K_RESOURCE && uri_suspicious(name);
    if (!plist_match(&a->allow[kind], server, name, strict)) {
        say(reason, rlen, "agents.%s.%s.allow: %s \"%s.%s\" matches no entry%s", a->name,
            KIND_KEY[kind], KIND_NAME[kind], server, name,
            strict ? " (a URI with dot segments or encoded separators needs an exact entry)" : "");
        return false;
    }
    return true;
}

bool sb_gw_policy_visible_why(const sb_gw_policy *p, const char *agent, const char *server,
                              const char *kind, const char *name, char *reason, size_t reason_len) {
    if (reason && reason_len) reason[0] = '\0';
    int k = -1;
    for (int i = 0; kind && i < K_MAX; i++)
        if (!strcmp(kind, KIND_NAME[i])) k = i;
    if (k < 0 || !server || (k != K_SERVER && !name)) {
        say(reason, reason_len, "gateway: unknown kind \"%s\" or missing name",
            kind ? kind : "(null)");
        return false;
    }
    return visible(find_agent(p, agent), agent, server, k, name ? name : "", reason, reason_len);
}

bool sb_gw_policy_visible(const sb_gw_policy *p, const char *agent, const char *server,
                          const char *kind, const char *name) {
    return sb_gw_policy_visible_why(p, agent, server, kind, name, NULL, 0);
}

static struct tool_rule *find_rule(const struct agent *a, const char *server, const char *tool) {
    for (size_t i = 0; i < a->nrules; i++)
        if (!strcmp(a->rules[i].server, server) && !strcmp(a->rules[i].tool, tool))
            return &a->rules[i];
    return NULL;
}

static void bucket_refill(struct bucket *b, uint64_t now) {
    uint64_t cap = b->burst * b->period_ms;
    if (!b->started) {
        b->started = true;
        b->tokens = cap;
        b->last_ms = now;
        return;
    }
    if (now <= b->last_ms) return; /* a clock that goes backwards refills nothing */
    uint64_t elapsed = now - b->last_ms;
    uint64_t missing = cap - b->tokens;
    if (elapsed >= missing / b->count + 1)
        b->tokens = cap;
    else
        b->tokens += elapsed * b->count;
    if (b->tokens > cap) b->tokens = cap;
    b->last_ms = now;
}

static bool bucket_has(const struct bucket *b) { return b->tokens >= b->period_ms; }

sb_gw_verdict sb_gw_policy_check_call_ex(sb_gw_policy *p, const char *agent, const char *server,
                                         const char *tool, const json_t *args, uint64_t now_ms,
                                         unsigned flags, char *reason, size_t reason_len) {
    if (reason && reason_len) reason[0] = '\0';
    if (!server || !tool) {
        say(reason, reason_len, "gateway: call without server or tool name");
        return SB_GW_DENY;
    }
    struct agent *a = (struct agent *)find_agent(p, agent);
    if (!visible(a, agent, server, K_TOOL, tool, reason, reason_len)) return SB_GW_DENY;
    struct tool_rule *r = find_rule(a, server, tool);

    json_t *empty = NULL;
    if (!args) args = empty = json_object();
    if (!args) {
        say(reason, reason_len, "gateway: out of memory");
        return SB_GW_DENY;
    }
    if (!json_is_object(args)) {
        say(reason, reason_len, "agents.%s.tools.%s.%s.arguments: not an object", a->name, server,
            tool);
        json_decref(empty);
        return SB_GW_DENY;
    }
    int bad = r && r->args ? gw_schema_check(r->args, args, r->args_where, reason, reason_len) : 0;
    json_decref(empty);
    if (bad) return SB_GW_DENY;

    if (!(flags & SB_GW_CALL_APPROVED)) {
        if (r && r->approval) {
            say(reason, reason_len, "%s.approval: true", r->where);
            return SB_GW_NEEDS_APPROVAL;
        }
        const struct pattern *m = plist_match(&a->approval, server, tool, false);
        if (m) {
            say(reason, reason_len, "agents.%s.approval: tool \"%s.%s\" matches \"%s\"", a->name,
                server, tool, m->text);
            return SB_GW_NEEDS_APPROVAL;
        }
    }

    struct bucket *ab = a->has_rate ? &a->rate : NULL;
    struct bucket *tb = r && r->has_rate ? &r->rate : NULL;
    if (ab) bucket_refill(ab, now_ms);
    if (tb) bucket_refill(tb, now_ms);
    if (ab && !bucket_has(ab)) {
        say(reason, reason_len, "agents.%s.rate: %llu calls per %llu ms (burst %llu) used up",
            a->name, (unsigned long long)ab->count, (unsigned long long)ab->period_ms,
            (unsigned long long)ab->burst);
        return SB_GW_DENY;
    }
    if (tb && !bucket_has(tb)) {
        say(reason, reason_len, "%s.rate: %llu calls per %llu ms (burst %llu) used up", r->where,
            (unsigned long long)tb->count, (unsigned long long)tb->period_ms,
            (unsigned long long)tb->burst);
        return SB_GW_DENY;
    }
    if (!(flags & SB_GW_CALL_DRY_RUN)) {
        if (ab) ab->tokens -= ab->period_ms;
        if (tb) tb->tokens -= tb->period_ms;
    }
    return SB_GW_ALLOW;
}

sb_gw_verdict sb_gw_policy_check_call(sb_gw_policy *p, const char *agent, const char *server,
                                      const char *tool, const json_t *args, uint64_t now_ms,
                                      char *reason, size_t reason_len) {
    return sb_gw_policy_check_call_ex(p, agent, server, tool, args, now_ms, 0, reason, reason_len);
}

int sb_gw_policy_limits(const sb_gw_policy *p, const char *agent, const char *server,
                        const char *tool, sb_gw_limits *out) {
    const struct agent *a = find_agent(p, agent);
    if (!a || !out) return SB_E_NOTFOUND;
    sb_gw_limits l = a->limits;
    const struct tool_rule *r = server && tool ? find_rule(a, server, tool) : NULL;
    if (r && r->timeout_ms) l.timeout_ms = r->timeout_ms;
    *out = l;
    return 0;
}

bool sb_gw_policy_server_request(const sb_gw_policy *p, const char *agent, const char *server,
                                 enum sb_gw_sreq kind, char *reason, size_t reason_len) {
    const struct agent *a = find_agent(p, agent);
    if (!a) {
        say(reason, reason_len, "agents: no agent \"%s\"", agent ? agent : "(null)");
        return false;
    }
    if ((unsigned)kind >= SB_GW_SREQ_MAX || !server) {
        say(reason, reason_len, "agents.%s: not a server request", a->name);
        return false;
    }
    const struct sreq_rule *r = &a->sreq[kind];
    if (r->mode == SR_ALLOW) {
        say(reason, reason_len, "agents.%s.%s: \"allow\"", a->name, SREQ_KEY[kind]);
        return true;
    }
    if (r->mode == SR_DENY) {
        say(reason, reason_len, "agents.%s.%s: \"deny\"%s", a->name, SREQ_KEY[kind],
            r->set ? "" : " (the default)");
        return false;
    }
    const struct pattern *m = plist_match(&r->servers, server, NULL, false);
    if (m) {
        say(reason, reason_len, "agents.%s.%s: server \"%s\" matches \"%s\"", a->name,
            SREQ_KEY[kind], server, m->text);
        return true;
    }
    say(reason, reason_len, "agents.%s.%s: server \"%s\" matches no entry", a->name, SREQ_KEY[kind],
        server);
    return false;
}

bool sb_gw_policy_auto_pin(const sb_gw_policy *p, const char *agent, const char *server) {
    const struct agent *a = find_agent(p, agent);
    return a && server && plist_match(&a->auto_pin, server, NULL, false) != NULL;
}

bool sb_gw_policy_injection_denies(const sb_gw_policy *p, const char *agent) {
    const struct agent *a = find_agent(p, agent);
    return !a || a->inject_deny;
}
