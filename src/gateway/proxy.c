/* proxy: the gateway engine — one agent session multiplexed over several MCP servers. It owns
 * the lifecycle (the servers do not enforce it), namespaces and merges lists, remaps request ids
 * and progress tokens, enforces timeouts and size limits, and survives servers that die, hang,
 * flood or lie. Single-threaded around poll(); no global state, so a daemon can host many. */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "internal.h"
#include "store/store.h"

enum lk { LK_TOOLS, LK_PROMPTS, LK_RESOURCES, LK_TEMPLATES, LK_MAX };
static const struct {
    const char *method, *key, *cap, *pin_kind, *changed;
} LK[LK_MAX] = {
    {"tools/list", "tools", "tools", "tool", "notifications/tools/list_changed"},
    {"prompts/list", "prompts", "prompts", "prompt", "notifications/prompts/list_changed"},
    {"resources/list", "resources", "resources", NULL, "notifications/resources/list_changed"},
    {"resources/templates/list", "resourceTemplates", "resources", "resource-template",
     "notifications/resources/list_changed"},
};

enum pk { PK_FORWARD, PK_INIT, PK_LIST, PK_IGNORE, PK_FAN };

/* One agent request sent to several servers (a subscription to a URI no server lists): answered
 * once every part is done — a result if any server accepted, else the first error. */
struct fan {
    json_t *agent_id;
    json_t *error; /* the first error object a server sent */
    char method[48];
    char uri[SB_GW_NAME_MAX + 1];
    size_t left, ok, req_bytes;
    uint64_t t0;
};

struct pend {
    int64_t up_id;
    enum pk kind;
    json_t *agent_id; /* PK_FORWARD */
    json_t *progress; /* the agent's progress token, when it set one */
    struct fan *fan;  /* PK_FAN */
    char method[48];
    uint64_t deadline;
    enum lk lk; /* PK_LIST */
    /* for the audit record of a forwarded request */
    uint64_t t0;
    size_t req_bytes;
    char name[SB_GW_NAME_MAX + 1]; /* the bare tool/prompt name or the URI (truncated) */
    char digest[72];               /* of the arguments */
};

struct item {
    json_t *def;
    enum sb_gw_pin_state pin;
    int64_t pin_id;
    bool flagged; /* the injection scanner found something, and the policy hides it */
};

enum srv_state { S_STARTING, S_READY, S_DEAD };

struct server {
    const struct sb_gw_server_config *cfg;
    sb_gw *gw;
    struct gw_proc proc;
    enum srv_state state;
    char reason[320];
    sb_rpc_framer fr;
    uint8_t *ob;
    size_t ob_len, ob_off;
    int64_t next_id;
    struct pend pend[SB_GW_INFLIGHT_MAX];
    size_t n_pend;
    json_t *caps, *info;
    char *instructions;
    bool instructions_ok;
    struct item *cat[LK_MAX];
    size_t n_cat[LK_MAX];
    json_t *building[LK_MAX];
    int pages[LK_MAX];
    bool refreshing[LK_MAX];
    uint64_t tok_ns;
    double tokens;
    uint64_t dropped_logged_ns, log_ns;
    /* server->agent requests */
    bool init_pending;         /* initialize waits for the agent's (its capabilities) */
    bool told[SB_GW_SREQ_MAX]; /* client capabilities the gateway declared to it */
    size_t n_relay;            /* its requests waiting for the agent */
    uint64_t rtok_ns, rlog_ns;
    double rtokens;
};

/* A request a server sent toward the agent, relayed under the gateway's own id. */
struct relay {
    struct server *s;
    json_t *srv_id; /* the server's id (answered with it) */
    int64_t id;     /* the gateway's id toward the agent */
    json_t *msg;    /* the request for the agent, until it is sent (held before the session
                       is ready) */
    enum sb_gw_sreq kind;
    uint64_t t0, deadline;
    size_t req_bytes;
    char digest[72]; /* of the request's params */
};

struct waiter {
    json_t *agent_id;
    size_t req_bytes; /* for the audit record of the answer */
    uint64_t t0;
    struct waiter *next;
};

enum agent_state { A_NEW, A_INIT_WAIT, A_INIT_SENT, A_READY };

struct sb_gw {
    struct sb_gw_opts o;
    struct server *srv;
    size_t n;
    int out_fd;
    sb_rpc_framer afr;
    enum agent_state astate;
    json_t *init_id;
    bool early_initialized;
    char version[16];
    struct waiter *waiters[LK_MAX];
    json_t *snap[LK_MAX];
    uint64_t gen[LK_MAX];
    sb_gw_policy *policy;   /* NULL only for configurations built without a document (tests) */
    bool policy_shared;     /* borrowed from opts.policy (an HTTP front's sessions share it) */
    struct sb_gw_host pins; /* opts.host, or the store's pin functions */
    struct sb_gw_stats st;
    json_t *agent_caps; /* what the agent declared in initialize */
    struct relay relay[SB_GW_RELAY_MAX];
    size_t n_relay;
    int64_t next_relay;
    size_t cur_bytes; /* size of the agent message being handled */
    bool closing;     /* sb_gw_free: nothing more is sent */
    int io_err;
    sb_error ioerr;
};

/* ---- small helpers -------------------------------------------------------------------------- */

SB_PRINTF(3, 4) static void glog(sb_gw *gw, enum sb_log_level lvl, const char *fmt, ...) {
    if (!gw->o.log) return;
    char buf[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    gw->o.log(gw->o.log_ctx, lvl, buf);
}

static bool write_all(int fd, const char *p, size_t n) {
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR) continue;
        if (w < 0 && errno == EAGAIN) {
            struct pollfd pf = {.fd = fd, .events = POLLOUT};
            (void)poll(&pf, 1, 1000);
            continue;
        }
        if (w <= 0) return false;
        p += w;
        n -= (size_t)w;
    }
    return true;
}

/* Sends one message to the agent (steals msg): 0 sent, 1 the transport could not deliver it,
 * -1 not sent (an error). */
static int agent_send(sb_gw *gw, json_t *msg) {
    if (!msg) return -1;
    if (gw->closing) {
        json_decref(msg);
        return -1;
    }
    char *s = NULL;
    size_t len = 0;
    sb_error err = {0};
    int rc = sb_rpc_dump(msg, SB_GW_RESPONSE_HARD + 65536, &s, &len, &err);
    json_decref(msg);
    if (rc < 0) {
        glog(gw, SB_LOG_ERROR, "to the agent: %s", err.msg);
        return -1;
    }
    int ret = gw->io_err ? -1 : 0;
    if (gw->o.agent_out) {
        int r = gw->io_err == 0 ? gw->o.agent_out(gw->o.agent_out_ctx, s, len) : 0;
        if (r < 0) {
            gw->io_err = SB_E_IO;
            sb_error_set(&gw->ioerr, SB_E_IO, "the agent's transport refused a message");
            ret = -1;
        } else if (r > 0) {
            ret = 1;
        }
    } else if (gw->io_err == 0 && !write_all(gw->out_fd, s, len)) {
        gw->io_err = SB_E_IO;
        sb_error_set(&gw->ioerr, SB_E_IO, "writing to the agent: %s", strerror(errno));
        ret = -1;
    }
    free(s);
    return ret;
}

SB_PRINTF(4, 5) static void agent_error(sb_gw *gw, json_t *id, int code, const char *fmt, ...) {
    char buf[600];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    agent_send(gw, sb_rpc_error(id, code, buf, NULL));
}

static const char *srv_name(const struct server *s) { return s->cfg->name; }

/* ---- audit records -------------------------------------------------------------------------- */

struct audit_info {
    const char *server, *method, *name, *digest, *decision, *reason, *outcome;
    const char *resp_digest; /* of a relayed request's answer */
    const char *direction;   /* NULL: agent to server */
    int is_error;            /* -1: not a tools/call result */
    int64_t code;            /* JSON-RPC error code, 0 when none */
    size_t req_bytes, resp_bytes;
    uint64_t t0; /* 0: answered at once */
};

static void audit_put(sb_gw *gw, const struct audit_info *a) {
    if (!gw->o.audit) return;
    json_t *r = json_object();
    if (!r) return;
    json_object_set_new(r, "type", json_string("mcp"));
    json_object_set_new(r, "agent", json_string(gw->o.agent ? gw->o.agent : ""));
    if (a->server) json_object_set_new(r, "server", json_string(a->server));
    json_object_set_new(r, "method", json_string(a->method ? a->method : "(invalid)"));
    if (a->name && *a->name) {
        json_t *nm = json_string(a->name);
        json_object_set_new(r, "name", nm ? nm : json_string("(not UTF-8)"));
    }
    if (a->digest && *a->digest) json_object_set_new(r, "args_digest", json_string(a->digest));
    if (a->resp_digest && *a->resp_digest)
        json_object_set_new(r, "response_digest", json_string(a->resp_digest));
    if (a->direction) json_object_set_new(r, "direction", json_string(a->direction));
    json_object_set_new(r, "decision", json_string(a->decision));
    if (a->reason) {
        json_t *rs = json_string(a->reason);
        if (rs) json_object_set_new(r, "reason", rs);
    }
    json_object_set_new(r, "outcome", json_string(a->outcome));
    if (a->is_error >= 0) json_object_set_new(r, "is_error", json_boolean(a->is_error));
    if (a->code) json_object_set_new(r, "error_code", json_integer(a->code));
    json_object_set_new(r, "request_bytes", json_integer((json_int_t)a->req_bytes));
    json_object_set_new(r, "response_bytes", json_integer((json_int_t)a->resp_bytes));
    if (a->t0)
        json_object_set_new(r, "latency_us",
                            json_integer((json_int_t)((sb_mono_ns() - a->t0) / 1000)));
    gw->o.audit(gw->o.audit_ctx, r);
}

/* A request the gateway answered itself with a refusal. */
static void audit_refused(sb_gw *gw, const char *server, const char *method, const char *name,
                          const char *reason) {
    struct audit_info a = {.server = server,
                           .method = method,
                           .name = name,
                           .decision = "deny",
                           .reason = reason,
                           .outcome = "refused",
                           .is_error = -1,
                           .req_bytes = gw->cur_bytes};
    audit_put(gw, &a);
}

/* Queues one message toward a server (steals msg). */
static int server_send(sb_gw *gw, struct server *s, json_t *msg, sb_error *err) {
    if (s->state == S_DEAD || s->proc.in_fd < 0) {
        json_decref(msg);
        BAIL(err, SB_E_IO, "server %s is not running", srv_name(s));
    }
    char *line = NULL;
    size_t len = 0;
    int rc = sb_rpc_dump(msg, SB_RPC_MSG_MAX + 65536, &line, &len, err);
    json_decref(msg);
    TRY(rc);
    if (s->ob_len - s->ob_off + len > SB_GW_OUTBUF_MAX) {
        free(line);
        BAIL(err, SB_E_LIMIT, "server %s is not reading its input (%u bytes queued)", srv_name(s),
             SB_GW_OUTBUF_MAX);
    }
    if (s->ob_off > 0 && s->ob_off == s->ob_len) s->ob_off = s->ob_len = 0;
    uint8_t *nb = realloc(s->ob, s->ob_len + len);
    if (!nb) {
        free(line);
        BAIL(err, SB_E_INTERNAL, "out of memory");
    }
    memcpy(nb + s->ob_len, line, len);
    s->ob = nb;
    s->ob_len += len;
    free(line);
    return 0;
}

static void pend_clear(struct pend *p) {
    json_decref(p->agent_id);
    json_decref(p->progress);
    memset(p, 0, sizeof(*p));
}

static void fan_part(sb_gw *gw, struct fan *f, const sb_rpc_msg *m);

static void pend_remove(struct server *s, size_t i) {
    /* a part of a fan-out that ends without an answer (timeout, server gone) counts as failed */
    if (s->pend[i].fan) fan_part(s->gw, s->pend[i].fan, NULL);
    pend_clear(&s->pend[i]);
    if (i + 1 < s->n_pend) s->pend[i] = s->pend[s->n_pend - 1];
    memset(&s->pend[s->n_pend - 1], 0, sizeof(s->pend[0]));
    s->n_pend--;
}

/* One part of a fan-out is done: m is the server's answer, NULL when there was none. The last
 * part answers the agent. */
static void fan_part(sb_gw *gw, struct fan *f, const sb_rpc_msg *m) {
    if (m && m->kind == SB_RPC_RESULT) f->ok++;
    if (m && m->kind == SB_RPC_ERROR && !f->error) f->error = json_incref(m->error);
    if (--f->left > 0) return;
    struct audit_info a = {.method = f->method,
                           .name = f->uri,
                           .decision = "allow",
                           .outcome = "result",
                           .is_error = -1,
                           .req_bytes = f->req_bytes,
                           .t0 = f->t0};
    if (f->ok) {
        agent_send(gw, sb_rpc_result(f->agent_id, json_object()));
    } else if (f->error) {
        json_t *code = json_object_get(f->error, "code");
        a.code = json_is_integer(code) ? json_integer_value(code) : SB_RPC_INTERNAL;
        a.reason = json_string_value(json_object_get(f->error, "message"));
        a.outcome = "error";
        agent_send(gw, sb_rpc_error(f->agent_id, (int)a.code, a.reason,
                                    json_incref(json_object_get(f->error, "data"))));
    } else {
        a.code = SB_RPC_SERVER_GONE;
        a.reason = "no server answered";
        a.outcome = "error";
        agent_error(gw, f->agent_id, SB_RPC_SERVER_GONE, "%s: no server answered", f->method);
    }
    audit_put(gw, &a);
    json_decref(f->agent_id);
    json_decref(f->error);
    free(f);
}

static void audit_forward(sb_gw *gw, struct server *s, const struct pend *p, const char *outcome,
                          int is_error, int64_t code, size_t resp_bytes, const char *reason) {
    if (p->kind != PK_FORWARD) return;
    struct audit_info a = {.server = srv_name(s),
                           .method = p->method,
                           .name = p->name,
                           .digest = p->digest,
                           .decision = "allow",
                           .reason = reason,
                           .outcome = outcome,
                           .is_error = is_error,
                           .code = code,
                           .req_bytes = p->req_bytes,
                           .resp_bytes = resp_bytes,
                           .t0 = p->t0};
    audit_put(gw, &a);
}

static struct pend *pend_new(struct server *s, enum pk kind, const char *method,
                             uint64_t timeout_ms, sb_error *err) {
    if (s->n_pend >= SB_GW_INFLIGHT_MAX) {
        sb_error_set(err, SB_E_LIMIT, "server %s has %d requests in flight", srv_name(s),
                     SB_GW_INFLIGHT_MAX);
        return NULL;
    }
    struct pend *p = &s->pend[s->n_pend++];
    memset(p, 0, sizeof(*p));
    p->up_id = ++s->next_id;
    p->kind = kind;
    snprintf(p->method, sizeof(p->method), "%s", method);
    p->deadline = sb_mono_ns() + timeout_ms * 1000000ull;
    return p;
}

/* Sends a request of our own (initialize, list pages) to a server. */
static int server_request(sb_gw *gw, struct server *s, enum pk kind, enum lk lk, const char *method,
                          json_t *params, uint64_t timeout_ms, sb_error *err) {
    struct pend *p = pend_new(s, kind, method, timeout_ms, err);
    if (!p) {
        json_decref(params);
        return err->code;
    }
    p->lk = lk;
    json_t *id = json_integer(p->up_id);
    int rc = server_send(gw, s, sb_rpc_request(id, method, params), err);
    json_decref(id);
    if (rc < 0) pend_remove(s, s->n_pend - 1);
    return rc;
}

/* At most one warning per second per server (a hostile server must not flood our log). */
static bool log_allowed(struct server *s) {
    uint64_t now = sb_mono_ns();
    if (now - s->log_ns < 1000000000ull && s->log_ns) return false;
    s->log_ns = now;
    return true;
}

static bool notify_allowed(sb_gw *gw, struct server *s) {
    uint64_t now = sb_mono_ns();
    double add = (double)(now - s->tok_ns) / 1e9 * SB_GW_NOTIFY_RATE;
    s->tok_ns = now;
    s->tokens += add;
    if (s->tokens > 2.0 * SB_GW_NOTIFY_RATE) s->tokens = 2.0 * SB_GW_NOTIFY_RATE;
    if (s->tokens >= 1.0) {
        s->tokens -= 1.0;
        return true;
    }
    gw->st.notifications_dropped++;
    if (now - s->dropped_logged_ns > 1000000000ull) {
        s->dropped_logged_ns = now;
        glog(gw, SB_LOG_WARN, "server %s: notifications over %d/s are dropped", srv_name(s),
             SB_GW_NOTIFY_RATE);
    }
    return false;
}

/* ---- catalogs and snapshots ----------------------------------------------------------------- */

static void cat_free(struct server *s, enum lk k) {
    for (size_t i = 0; i < s->n_cat[k]; i++)
        json_decref(s->cat[k][i].def);
    free(s->cat[k]);
    s->cat[k] = NULL;
    s->n_cat[k] = 0;
}

static bool has_cap(const struct server *s, enum lk k) {
    return s->state == S_READY && json_is_object(json_object_get(s->caps, LK[k].cap));
}

static const struct item *find_item(const struct server *s, enum lk k, const char *name) {
    for (size_t i = 0; i < s->n_cat[k]; i++) {
        const char *n = json_string_value(json_object_get(s->cat[k][i].def, "name"));
        if (n && strcmp(n, name) == 0) return &s->cat[k][i];
    }
    return NULL;
}

static bool visible(sb_gw *gw, const struct server *s, enum lk k, const struct item *it);

/* The server that owns a resource URI: an exact resource, else the template with the longest
 * literal prefix. Only definitions the agent can see count. */
static struct server *route_uri(sb_gw *gw, const char *uri) {
    for (size_t i = 0; i < gw->n; i++) {
        struct server *s = &gw->srv[i];
        if (s->state != S_READY) continue;
        for (size_t j = 0; j < s->n_cat[LK_RESOURCES]; j++) {
            const char *u = json_string_value(json_object_get(s->cat[LK_RESOURCES][j].def, "uri"));
            if (u && strcmp(u, uri) == 0 && visible(gw, s, LK_RESOURCES, &s->cat[LK_RESOURCES][j]))
                return s;
        }
    }
    struct server *best = NULL;
    size_t best_len = 0;
    for (size_t i = 0; i < gw->n; i++) {
        struct server *s = &gw->srv[i];
        if (s->state != S_READY) continue;
        for (size_t j = 0; j < s->n_cat[LK_TEMPLATES]; j++) {
            const struct item *it = &s->cat[LK_TEMPLATES][j];
            if (!visible(gw, s, LK_TEMPLATES, it)) continue;
            const char *t = json_string_value(json_object_get(it->def, "uriTemplate"));
            if (!t) continue;
            size_t lit = strcspn(t, "{");
            if (lit > best_len && strncmp(t, uri, lit) == 0) {
                best = s;
                best_len = lit;
            }
        }
    }
    return best;
}

/* ---- policy ---------------------------------------------------------------------------------- */

static const char *const POLICY_KIND[LK_MAX] = {"tool", "prompt", "resource", "resource"};

/* The name a policy rule sees: a tool's or prompt's own name, a resource's URI, a template's
 * uriTemplate. */
static const char *policy_name(enum lk k, const json_t *def) {
    const char *key = k == LK_RESOURCES ? "uri" : k == LK_TEMPLATES ? "uriTemplate" : "name";
    return json_string_value(json_object_get(def, key));
}

static bool visible(sb_gw *gw, const struct server *s, enum lk k, const struct item *it) {
    if (LK[k].pin_kind && it->pin != SB_GW_PIN_APPROVED) return false;
    if (it->flagged) return false;
    if (!gw->policy) return true;
    const char *name = policy_name(k, it->def);
    return name && sb_gw_policy_visible(gw->policy, gw->o.agent, srv_name(s), "server", NULL) &&
           sb_gw_policy_visible(gw->policy, gw->o.agent, srv_name(s), POLICY_KIND[k], name);
}

/* Builds what the agent sees of one list: every ready server's approved items, renamed
 * server__name; resources keep their URI (the first server to list a URI owns it). */
static void snapshot_build(sb_gw *gw, enum lk k) {
    json_t *arr = json_array();
    if (!arr) return;
    for (size_t i = 0; i < gw->n; i++) {
        struct server *s = &gw->srv[i];
        if (s->state != S_READY) continue;
        for (size_t j = 0; j < s->n_cat[k]; j++) {
            const struct item *it = &s->cat[k][j];
            if (!visible(gw, s, k, it)) continue;
            const char *name = json_string_value(json_object_get(it->def, "name"));
            char full[SB_GW_NAME_MAX + 64];
            int fl = snprintf(full, sizeof(full), "%s" SB_GW_SEP "%s", srv_name(s), name);
            if (fl < 0 || (size_t)fl > SB_GW_NAME_MAX) continue;
            if (k == LK_RESOURCES &&
                route_uri(gw, json_string_value(json_object_get(it->def, "uri"))) != s)
                continue;
            json_t *c = json_copy(it->def);
            if (!c) continue;
            json_object_set_new(c, "name", json_string(full));
            json_array_append_new(arr, c);
        }
    }
    json_decref(gw->snap[k]);
    gw->snap[k] = arr;
    gw->gen[k]++;
}

static json_t *page_result(sb_gw *gw, enum lk k, size_t off) {
    json_t *all = gw->snap[k];
    size_t n = all ? json_array_size(all) : 0;
    json_t *page = json_array();
    for (size_t i = off; i < n && i < off + SB_GW_PAGE_SIZE; i++)
        json_array_append(page, json_array_get(all, i));
    json_t *r = json_object();
    json_object_set_new(r, LK[k].key, page);
    if (off + SB_GW_PAGE_SIZE < n) {
        char cur[96];
        snprintf(cur, sizeof(cur), "sbgw:%d:%llu:%zu", (int)k, (unsigned long long)gw->gen[k],
                 off + SB_GW_PAGE_SIZE);
        json_object_set_new(r, "nextCursor", json_string(cur));
    }
    return r;
}

/* Answers a list request with one page of the gateway's snapshot (steals nothing: id is the
 * agent's) and records it: what the agent was shown is part of what it was told. */
static void answer_page(sb_gw *gw, json_t *id, enum lk k, size_t off, size_t req_bytes,
                        uint64_t t0) {
    json_t *r = page_result(gw, k, off);
    size_t total = gw->snap[k] ? json_array_size(gw->snap[k]) : 0;
    size_t shown = r ? json_array_size(json_object_get(r, LK[k].key)) : 0;
    char why[128];
    snprintf(why, sizeof(why), "%zu of %zu visible %s from offset %zu", shown, total, LK[k].key,
             off);
    struct audit_info a = {.method = LK[k].method,
                           .decision = "allow",
                           .reason = why,
                           .outcome = "result",
                           .is_error = -1,
                           .req_bytes = req_bytes,
                           .t0 = t0};
    audit_put(gw, &a);
    agent_send(gw, sb_rpc_result(id, r));
}

static bool parse_cursor(sb_gw *gw, enum lk k, const char *c, size_t *off) {
    int kk = -1;
    unsigned long long gen = 0;
    size_t o = 0;
    int used = 0;
    if (sscanf(c, "sbgw:%d:%llu:%zu%n", &kk, &gen, &o, &used) != 3 || c[used] != 0) return false;
    if (kk != (int)k || gen != gw->gen[k] || !gw->snap[k] || o == 0 ||
        o >= json_array_size(gw->snap[k]))
        return false;
    *off = o;
    return true;
}

static bool any_refreshing(sb_gw *gw, enum lk k) {
    for (size_t i = 0; i < gw->n; i++)
        if (gw->srv[i].state != S_DEAD && gw->srv[i].refreshing[k]) return true;
    return false;
}

static void answer_init(sb_gw *gw);

/* Answers the agent's list requests once no server is refreshing that list any more. */
static void list_settled(sb_gw *gw, enum lk k) {
    if (gw->waiters[k] && !any_refreshing(gw, k)) {
        snapshot_build(gw, k);
        struct waiter *w = gw->waiters[k];
        gw->waiters[k] = NULL;
        /* answer in arrival order */
        struct waiter *rev = NULL;
        while (w) {
            struct waiter *nx = w->next;
            w->next = rev;
            rev = w;
            w = nx;
        }
        while (rev) {
            struct waiter *nx = rev->next;
            answer_page(gw, rev->agent_id, k, 0, rev->req_bytes, rev->t0);
            json_decref(rev->agent_id);
            free(rev);
            rev = nx;
        }
    }
    if (gw->astate == A_INIT_WAIT) answer_init(gw);
}

static void refresh_page(sb_gw *gw, struct server *s, enum lk k, const char *cursor) {
    sb_error err = {0};
    json_t *params = json_object();
    if (cursor) json_object_set_new(params, "cursor", json_string(cursor));
    /* list pages wait like initialize: a short per-call timeout must not empty the catalog */
    uint64_t to =
        s->cfg->timeout_ms > SB_GW_INIT_TIMEOUT_MS ? s->cfg->timeout_ms : SB_GW_INIT_TIMEOUT_MS;
    if (server_request(gw, s, PK_LIST, k, LK[k].method, params, to, &err) < 0) {
        glog(gw, SB_LOG_WARN, "server %s: %s: %s", srv_name(s), LK[k].method, err.msg);
        json_decref(s->building[k]);
        s->building[k] = NULL;
        s->refreshing[k] = false;
        list_settled(gw, k);
    }
}

static void refresh(sb_gw *gw, struct server *s, enum lk k) {
    if (!has_cap(s, k) || s->refreshing[k]) return;
    s->refreshing[k] = true;
    s->pages[k] = 0;
    json_decref(s->building[k]);
    s->building[k] = json_array();
    refresh_page(gw, s, k, NULL);
}

/* Pins every item of a freshly fetched list and makes it the server's catalog. */
static void refresh_done(sb_gw *gw, struct server *s, enum lk k) {
    json_t *arr = s->building[k];
    s->building[k] = NULL;
    size_t n = json_array_size(arr);
    struct item *v = calloc(n ? n : 1, sizeof(*v));
    size_t m = 0;
    for (size_t i = 0; v && i < n; i++) {
        json_t *def = json_array_get(arr, i);
        const char *name = json_string_value(json_object_get(def, "name"));
        struct item it = {.def = json_incref(def), .pin = SB_GW_PIN_APPROVED};
        if (LK[k].pin_kind) {
            sb_error err = {0};
            char finding[256];
            if (sb_gw_scan_definition(def, finding, sizeof(finding)) == 1) {
                it.flagged = !gw->policy || sb_gw_policy_injection_denies(gw->policy, gw->o.agent);
                glog(gw, SB_LOG_WARN, "server %s: %s %s: hidden-instruction pattern (%s)%s",
                     srv_name(s), LK[k].pin_kind, name, finding, it.flagged ? ": hidden" : "");
            }
            enum sb_gw_pin_mode mode = s->cfg->pin;
            if (mode == SB_GW_PIN_MANUAL && gw->policy &&
                sb_gw_policy_auto_pin(gw->policy, gw->o.agent, srv_name(s)))
                mode = SB_GW_PIN_TOFU;
            if (sb_gw_pin_check_host(&gw->pins, srv_name(s), LK[k].pin_kind, name, def, mode,
                                     &it.pin, &it.pin_id, &err) < 0) {
                glog(gw, SB_LOG_ERROR, "server %s: %s %s: pin check: %s", srv_name(s),
                     LK[k].pin_kind, name, err.msg);
                it.pin = SB_GW_PIN_UNPINNED;
            } else if (it.pin == SB_GW_PIN_CHANGED) {
                glog(gw, SB_LOG_WARN,
                     "server %s: %s %s changed since it was approved: hidden until "
                     "'sealbox gateway approve %lld'",
                     srv_name(s), LK[k].pin_kind, name, (long long)it.pin_id);
            }
        }
        v[m++] = it;
    }
    json_decref(arr);
    cat_free(s, k);
    s->cat[k] = v;
    s->n_cat[k] = m;
    s->refreshing[k] = false;
    list_settled(gw, k);
}

/* Validates one page of a server's list and appends its items. */
static void refresh_page_result(sb_gw *gw, struct server *s, enum lk k, json_t *result) {
    json_t *items = json_object_get(result, LK[k].key);
    const char *bad = NULL;
    if (!json_is_array(items)) bad = "is not an array";
    size_t i;
    json_t *it;
    if (!bad) {
        json_array_foreach(items, i, it) {
            const char *name = json_string_value(json_object_get(it, "name"));
            if (!json_is_object(it) || !name || !*name || strlen(name) > SB_GW_NAME_MAX) {
                bad = "has an item without a valid name";
                break;
            }
            if (k == LK_RESOURCES && !json_is_string(json_object_get(it, "uri"))) {
                bad = "has a resource without a uri";
                break;
            }
            if (k == LK_TEMPLATES && !json_is_string(json_object_get(it, "uriTemplate"))) {
                bad = "has a template without a uriTemplate";
                break;
            }
            if (json_array_size(s->building[k]) >= SB_GW_LIST_ITEMS_MAX) {
                bad = "is over the item limit";
                break;
            }
            json_array_append(s->building[k], it);
        }
    }
    if (bad) {
        glog(gw, SB_LOG_WARN, "server %s: %s: result.%s %s", srv_name(s), LK[k].method, LK[k].key,
             bad);
        if (!json_is_array(items)) {
            json_decref(s->building[k]);
            s->building[k] = NULL;
            s->refreshing[k] = false;
            list_settled(gw, k);
            return;
        }
    }
    json_t *next = json_object_get(result, "nextCursor");
    if (!bad && json_is_string(next) && ++s->pages[k] < SB_GW_LIST_PAGES_MAX) {
        refresh_page(gw, s, k, json_string_value(next));
        return;
    }
    refresh_done(gw, s, k);
}

static void refresh_failed(sb_gw *gw, struct server *s, enum lk k, const char *why) {
    glog(gw, SB_LOG_WARN, "server %s: %s failed: %s", srv_name(s), LK[k].method, why);
    json_decref(s->building[k]);
    s->building[k] = NULL;
    s->refreshing[k] = false;
    list_settled(gw, k);
}

/* ---- server lifecycle --------------------------------------------------------------------- */

static void server_dead(sb_gw *gw, struct server *s, const char *fmt, ...) SB_PRINTF(3, 4);
/* requests from servers (below) */
static void relay_drop_server(sb_gw *gw, struct server *s);
static void relay_flush(sb_gw *gw);
static void send_pending_inits(sb_gw *gw);
static void agent_answer(sb_gw *gw, sb_rpc_msg *m);
static void server_cancelled(sb_gw *gw, struct server *s, sb_rpc_msg *m);
static void relay_agent_gone(sb_gw *gw);
static void server_dead(sb_gw *gw, struct server *s, const char *fmt, ...) {
    if (s->state == S_DEAD) return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(s->reason, sizeof(s->reason), fmt, ap);
    va_end(ap);
    s->state = S_DEAD;
    glog(gw, SB_LOG_ERROR, "server %s: %s", srv_name(s), s->reason);
    if (s->proc.in_fd >= 0) close(s->proc.in_fd);
    s->proc.in_fd = -1;
    if (s->proc.out_fd >= 0) close(s->proc.out_fd);
    s->proc.out_fd = -1;
    gw_proc_term(&s->proc);
    relay_drop_server(gw, s);
    while (s->n_pend > 0) {
        struct pend *p = &s->pend[0];
        if (p->kind == PK_FORWARD) {
            agent_error(gw, p->agent_id, SB_RPC_SERVER_GONE, "server %s is gone: %s", srv_name(s),
                        s->reason);
            audit_forward(gw, s, p, "server-gone", -1, SB_RPC_SERVER_GONE, 0, s->reason);
        }
        pend_remove(s, 0);
    }
    for (int k = 0; k < LK_MAX; k++) {
        json_decref(s->building[k]);
        s->building[k] = NULL;
        s->refreshing[k] = false;
        cat_free(s, (enum lk)k);
        list_settled(gw, (enum lk)k);
    }
}

static bool version_supported(const char *v) {
    for (size_t i = 0; sb_gw_protocol_versions[i]; i++)
        if (strcmp(sb_gw_protocol_versions[i], v) == 0) return true;
    return false;
}

static void server_initialized(sb_gw *gw, struct server *s, json_t *result) {
    const char *ver = json_string_value(json_object_get(result, "protocolVersion"));
    json_t *caps = json_object_get(result, "capabilities");
    if (!ver || !version_supported(ver)) {
        server_dead(gw, s, "initialize: protocolVersion %.32s is not one the gateway speaks",
                    ver ? ver : "(missing)");
        return;
    }
    if (!json_is_object(caps)) {
        server_dead(gw, s, "initialize: result.capabilities is not an object");
        return;
    }
    s->caps = json_incref(caps);
    s->info = json_incref(json_object_get(result, "serverInfo"));
    const char *ins = json_string_value(json_object_get(result, "instructions"));
    if (ins && *ins) {
        s->instructions = strdup(ins);
        json_t *def = json_pack("{ss}", "instructions", ins);
        enum sb_gw_pin_state st = SB_GW_PIN_UNPINNED;
        int64_t id = 0;
        sb_error err = {0};
        if (def && sb_gw_pin_check_host(&gw->pins, srv_name(s), "instructions", "", def,
                                        s->cfg->pin, &st, &id, &err) < 0)
            glog(gw, SB_LOG_ERROR, "server %s: instructions: %s", srv_name(s), err.msg);
        s->instructions_ok = st == SB_GW_PIN_APPROVED;
        json_decref(def);
    }
    s->state = S_READY;
    sb_error err = {0};
    if (server_send(gw, s, sb_rpc_notification("notifications/initialized", NULL), &err) < 0) {
        server_dead(gw, s, "%s", err.msg);
        return;
    }
    glog(gw, SB_LOG_INFO, "server %s: ready (protocol %s)", srv_name(s), ver);
    for (int k = 0; k < LK_MAX; k++)
        refresh(gw, s, (enum lk)k);
    if (gw->astate == A_INIT_WAIT) answer_init(gw);
}

/* ---- the agent's session ------------------------------------------------------------------- */

static bool startup_done(sb_gw *gw) {
    for (size_t i = 0; i < gw->n; i++) {
        if (gw->srv[i].state == S_STARTING) return false;
        for (int k = 0; k < LK_MAX; k++)
            if (gw->srv[i].state == S_READY && gw->srv[i].refreshing[k]) return false;
    }
    return true;
}

static void answer_init(sb_gw *gw) {
    if (gw->astate != A_INIT_WAIT || !startup_done(gw)) return;
    json_t *caps = json_object();
    bool tools = false, prompts = false, res = false, sub = false, logging = false, comp = false;
    for (size_t i = 0; i < gw->n; i++) {
        struct server *s = &gw->srv[i];
        if (s->state != S_READY) continue;
        tools |= json_is_object(json_object_get(s->caps, "tools"));
        prompts |= json_is_object(json_object_get(s->caps, "prompts"));
        json_t *r = json_object_get(s->caps, "resources");
        res |= json_is_object(r);
        sub |= json_is_true(json_object_get(r, "subscribe"));
        logging |= json_is_object(json_object_get(s->caps, "logging"));
        comp |= json_is_object(json_object_get(s->caps, "completions"));
    }
    /* always advertise tools: servers may come and go behind the gateway */
    (void)tools;
    json_object_set_new(caps, "tools", json_pack("{sb}", "listChanged", 1));
    if (prompts) json_object_set_new(caps, "prompts", json_pack("{sb}", "listChanged", 1));
    if (res)
        json_object_set_new(caps, "resources",
                            json_pack("{sbsb}", "listChanged", 1, "subscribe", sub));
    if (logging) json_object_set_new(caps, "logging", json_object());
    if (comp) json_object_set_new(caps, "completions", json_object());
    json_t *r = json_object();
    json_object_set_new(r, "protocolVersion", json_string(gw->version));
    json_object_set_new(r, "capabilities", caps);
    json_object_set_new(r, "serverInfo",
                        json_pack("{ssssss}", "name", "sealbox-gateway", "title",
                                  "sealbox MCP gateway", "version", SB_VERSION));
    /* the servers' instructions (approved ones only: the model reads them) */
    sb_writer w;
    sb_writer_init(&w, 1u << 20);
    for (size_t i = 0; i < gw->n; i++) {
        struct server *s = &gw->srv[i];
        if (s->state != S_READY || !s->instructions || !s->instructions_ok) continue;
        (void)sb_writer_printf(&w, "%s## server %s (tools named %s" SB_GW_SEP "*)\n\n%s\n",
                               w.len ? "\n" : "", srv_name(s), srv_name(s), s->instructions);
    }
    if (w.len && sb_writer_status(&w) == 0) {
        (void)sb_writer_u8(&w, 0);
        json_t *t = json_string((const char *)w.buf);
        if (t) json_object_set_new(r, "instructions", t);
    }
    sb_writer_free(&w);
    agent_send(gw, sb_rpc_result(gw->init_id, r));
    char why[64];
    snprintf(why, sizeof(why), "session start, protocol %s", gw->version);
    struct audit_info a = {.method = "initialize",
                           .decision = "allow",
                           .reason = why,
                           .outcome = "result",
                           .is_error = -1};
    audit_put(gw, &a);
    json_decref(gw->init_id);
    gw->init_id = NULL;
    gw->astate = gw->early_initialized ? A_READY : A_INIT_SENT;
    relay_flush(gw);
}

static void agent_initialize(sb_gw *gw, sb_rpc_msg *m) {
    if (gw->astate != A_NEW) {
        agent_error(gw, m->id, SB_RPC_INVALID_REQUEST,
                    "initialize: the session is already "
                    "initialized");
        return;
    }
    const char *ver = json_string_value(json_object_get(m->params, "protocolVersion"));
    if (!ver) {
        agent_error(gw, m->id, SB_RPC_INVALID_PARAMS,
                    "initialize: params.protocolVersion must be a string");
        return;
    }
    if (!json_is_object(json_object_get(m->params, "capabilities"))) {
        agent_error(gw, m->id, SB_RPC_INVALID_PARAMS,
                    "initialize: params.capabilities must be an object");
        return;
    }
    json_t *ci = json_object_get(m->params, "clientInfo");
    if (!json_is_object(ci) || !json_is_string(json_object_get(ci, "name"))) {
        agent_error(gw, m->id, SB_RPC_INVALID_PARAMS,
                    "initialize: params.clientInfo.name must be a string");
        return;
    }
    /* echo a version we speak; otherwise offer our latest (the client may disconnect) */
    snprintf(gw->version, sizeof(gw->version), "%s",
             version_supported(ver) ? ver : SB_GW_PROTOCOL_LATEST);
    gw->init_id = json_incref(m->id);
    gw->agent_caps = json_deep_copy(json_object_get(m->params, "capabilities"));
    gw->astate = A_INIT_WAIT;
    /* the servers learn the agent's capabilities (as far as its policy allows) now */
    send_pending_inits(gw);
    answer_init(gw);
}

static bool split_name(sb_gw *gw, const char *full, struct server **out, const char **bare) {
    const char *sep = strstr(full, SB_GW_SEP);
    if (!sep) return false;
    size_t n = (size_t)(sep - full);
    for (size_t i = 0; i < gw->n; i++) {
        const char *sn = gw->srv[i].cfg->name;
        if (strlen(sn) == n && strncmp(sn, full, n) == 0) {
            *out = &gw->srv[i];
            *bare = sep + strlen(SB_GW_SEP);
            return true;
        }
    }
    return false;
}

/* Forwards the agent's request to a server with our own id; params is stolen (rewritten). */
static void forward(sb_gw *gw, struct server *s, sb_rpc_msg *m, json_t *params) {
    if (s->state != S_READY) {
        agent_error(gw, m->id, SB_RPC_SERVER_GONE, "server %s is not running: %s", srv_name(s),
                    s->reason[0] ? s->reason : "still starting");
        audit_refused(gw, srv_name(s), m->method,
                      json_string_value(json_object_get(params, "name")), "server not running");
        json_decref(params);
        return;
    }
    sb_error err = {0};
    struct pend *p = pend_new(s, PK_FORWARD, m->method, s->cfg->timeout_ms, &err);
    if (!p) {
        agent_error(gw, m->id, SB_RPC_INTERNAL, "%s", err.msg);
        json_decref(params);
        return;
    }
    p->agent_id = json_incref(m->id);
    p->t0 = sb_mono_ns();
    sb_gw_limits lim;
    const char *tname = json_string_value(json_object_get(params, "name"));
    if (gw->policy && strcmp(m->method, "tools/call") == 0 &&
        sb_gw_policy_limits(gw->policy, gw->o.agent, srv_name(s), tname, &lim) == 0 &&
        lim.timeout_ms && lim.timeout_ms < s->cfg->timeout_ms)
        p->deadline = p->t0 + lim.timeout_ms * 1000000ull;
    p->req_bytes = gw->cur_bytes;
    const char *nm = json_string_value(json_object_get(params, "name"));
    if (!nm) nm = json_string_value(json_object_get(params, "uri"));
    snprintf(p->name, sizeof(p->name), "%s", nm ? nm : "");
    json_t *args = json_object_get(params, "arguments");
    if (json_is_object(args) && sb_gw_definition_digest(args, p->digest, &err) < 0)
        p->digest[0] = 0;
    json_t *meta = json_object_get(params, "_meta");
    json_t *tok = json_object_get(meta, "progressToken");
    if (json_is_string(tok) || json_is_integer(tok)) {
        p->progress = json_incref(tok);
        json_t *nmeta = json_copy(meta);
        json_object_set_new(nmeta, "progressToken", json_integer(p->up_id));
        json_object_set_new(params, "_meta", nmeta);
    }
    json_t *id = json_integer(p->up_id);
    int rc = server_send(gw, s, sb_rpc_request(id, m->method, params), &err);
    json_decref(id);
    if (rc < 0) {
        agent_error(gw, m->id, SB_RPC_INTERNAL, "%s", err.msg);
        audit_forward(gw, s, &s->pend[s->n_pend - 1], "not-sent", -1, SB_RPC_INTERNAL, 0, err.msg);
        pend_remove(s, s->n_pend - 1);
    }
}

static void agent_list(sb_gw *gw, sb_rpc_msg *m, enum lk k) {
    const char *cursor = json_string_value(json_object_get(m->params, "cursor"));
    if (json_object_get(m->params, "cursor") && !cursor) {
        agent_error(gw, m->id, SB_RPC_INVALID_PARAMS, "%s: params.cursor must be a string",
                    m->method);
        return;
    }
    if (cursor) {
        size_t off = 0;
        if (!parse_cursor(gw, k, cursor, &off)) {
            agent_error(gw, m->id, SB_RPC_INVALID_PARAMS,
                        "%s: params.cursor is not a current cursor of this list", m->method);
            return;
        }
        answer_page(gw, m->id, k, off, gw->cur_bytes, 0);
        return;
    }
    struct waiter *w = calloc(1, sizeof(*w));
    if (!w) {
        agent_error(gw, m->id, SB_RPC_INTERNAL, "out of memory");
        return;
    }
    w->agent_id = json_incref(m->id);
    w->req_bytes = gw->cur_bytes;
    w->t0 = sb_mono_ns();
    w->next = gw->waiters[k];
    gw->waiters[k] = w;
    /* fetch afresh from every server so a definition changed behind our back is seen now */
    for (size_t i = 0; i < gw->n; i++)
        refresh(gw, &gw->srv[i], k);
    list_settled(gw, k);
}

static json_t *tool_error(const char *text) {
    return json_pack("{s[{ssss}]sb}", "content", "type", "text", "text", text, "isError", 1);
}

/* A call that needs approval is remembered by the digest of (agent, server, tool, arguments):
 * the same call, once approved out of band, goes through. */
static int approval_lookup(sb_gw *gw, struct server *s, const char *tool, const json_t *args,
                           int64_t *id, bool *approved, sb_error *err) {
    ENSURE(gw->pins.pin_get, err, SB_E_USAGE, "approvals need a store");
    json_t *call = json_pack("{sssssssO}", "agent", gw->o.agent, "server", srv_name(s), "tool",
                             tool, "arguments", args ? (json_t *)args : json_object());
    if (!call) BAIL(err, SB_E_INTERNAL, "out of memory");
    char digest[72], name[SB_PIN_FIELD_MAX + 1];
    snprintf(name, sizeof(name), "%s/%s", gw->o.agent, tool);
    char *canon = NULL;
    size_t len = 0;
    int rc = sb_gw_definition_digest(call, digest, err);
    if (rc == 0) rc = sb_json_canonical(call, &canon, &len, err);
    json_decref(call);
    if (rc == 0) {
        rc = gw->pins.pin_get(gw->pins.ctx, srv_name(s), "call", name, digest, id, approved, err);
        if (rc == SB_E_NOTFOUND) {
            *approved = false;
            if (len > SB_PIN_DEF_MAX) canon[0] = 0;
            rc = gw->pins.pin_insert(gw->pins.ctx, srv_name(s), "call", name, digest, canon, false,
                                     id, err);
        }
    }
    free(canon);
    return rc;
}

/* The policy's decision on one tools/call: false when it was answered here (denied with the
 * rule, or waiting for approval — both as isError results the model can read). */
static bool call_allowed(sb_gw *gw, struct server *s, const char *tool, sb_rpc_msg *m) {
    char reason[SB_GW_REASON_MAX], text[SB_GW_REASON_MAX + 128];
    const json_t *args = json_object_get(m->params, "arguments");
    uint64_t now_ms = sb_mono_ns() / 1000000;
    sb_gw_verdict v = sb_gw_policy_check_call_ex(gw->policy, gw->o.agent, srv_name(s), tool, args,
                                                 now_ms, 0, reason, sizeof(reason));
    if (v == SB_GW_NEEDS_APPROVAL) {
        int64_t id = 0;
        bool ok = false;
        sb_error err = {0};
        if (approval_lookup(gw, s, tool, args, &id, &ok, &err) < 0) {
            agent_error(gw, m->id, SB_RPC_INTERNAL, "approval: %s", err.msg);
            return false;
        }
        if (!ok) {
            snprintf(text, sizeof(text),
                     "pending approval %lld: %s (an operator runs 'sealbox gateway approve %lld'; "
                     "then retry the same call)",
                     (long long)id, reason, (long long)id);
            agent_send(gw, sb_rpc_result(m->id, tool_error(text)));
            struct audit_info a = {.server = srv_name(s),
                                   .method = m->method,
                                   .name = tool,
                                   .decision = "needs-approval",
                                   .reason = reason,
                                   .outcome = "refused",
                                   .is_error = 1,
                                   .req_bytes = gw->cur_bytes};
            audit_put(gw, &a);
            return false;
        }
        v = sb_gw_policy_check_call_ex(gw->policy, gw->o.agent, srv_name(s), tool, args, now_ms,
                                       SB_GW_CALL_APPROVED, reason, sizeof(reason));
    }
    if (v == SB_GW_ALLOW) return true;
    snprintf(text, sizeof(text), "denied by the gateway policy: %s", reason);
    agent_send(gw, sb_rpc_result(m->id, tool_error(text)));
    struct audit_info a = {.server = srv_name(s),
                           .method = m->method,
                           .name = tool,
                           .decision = "deny",
                           .reason = reason,
                           .outcome = "refused",
                           .is_error = 1,
                           .req_bytes = gw->cur_bytes};
    audit_put(gw, &a);
    return false;
}

/* A tools/call the gateway refuses is answered as an isError result, as the reference SDK's
 * servers answer a tool they do not have: the model reads why and can correct itself. A refused
 * prompts/get is -32602. */
SB_PRINTF(4, 5)
static void refuse_named(sb_gw *gw, sb_rpc_msg *m, enum lk k, const char *fmt, ...) {
    char buf[600];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    if (k == LK_TOOLS)
        agent_send(gw, sb_rpc_result(m->id, tool_error(buf)));
    else
        agent_send(gw, sb_rpc_error(m->id, SB_RPC_INVALID_PARAMS, buf, NULL));
}

/* tools/call and prompts/get: a namespaced name, pinned and visible. */
static void agent_named(sb_gw *gw, sb_rpc_msg *m, enum lk k) {
    const char *full = json_string_value(json_object_get(m->params, "name"));
    if (!full) {
        agent_error(gw, m->id, SB_RPC_INVALID_PARAMS, "%s: params.name must be a string",
                    m->method);
        return;
    }
    struct server *s = NULL;
    const char *bare = NULL;
    const struct item *it = NULL;
    if (split_name(gw, full, &s, &bare)) it = find_item(s, k, bare);
    if (!it) {
        refuse_named(gw, m, k, "%s: unknown %s '%.128s'", m->method, LK[k].pin_kind, full);
        audit_refused(gw, s ? srv_name(s) : NULL, m->method, full, "unknown name");
        return;
    }
    if (gw->policy &&
        !(sb_gw_policy_visible(gw->policy, gw->o.agent, srv_name(s), "server", NULL) &&
          sb_gw_policy_visible(gw->policy, gw->o.agent, srv_name(s), POLICY_KIND[k], bare))) {
        /* invisible is uncallable, and answered exactly like a name that does not exist */
        char why[SB_GW_REASON_MAX];
        (void)sb_gw_policy_visible_why(gw->policy, gw->o.agent, srv_name(s), POLICY_KIND[k], bare,
                                       why, sizeof(why));
        refuse_named(gw, m, k, "%s: unknown %s '%.128s'", m->method, LK[k].pin_kind, full);
        audit_refused(gw, srv_name(s), m->method, bare, why);
        return;
    }
    if (it->flagged) {
        audit_refused(gw, srv_name(s), m->method, bare, "hidden-instruction pattern");
        refuse_named(gw, m, k,
                     "%s: %s '%.128s' is hidden: its definition has a hidden-instruction pattern",
                     m->method, LK[k].pin_kind, full);
        return;
    }
    if (it->pin == SB_GW_PIN_CHANGED) {
        audit_refused(gw, srv_name(s), m->method, bare, "definition changed since approval");
        refuse_named(gw, m, k,
                     "%s: %s '%.128s' changed since it was approved; it stays unavailable until "
                     "re-approved (sealbox gateway approve %lld)",
                     m->method, LK[k].pin_kind, full, (long long)it->pin_id);
        return;
    }
    if (it->pin != SB_GW_PIN_APPROVED) {
        audit_refused(gw, srv_name(s), m->method, bare, "definition not approved");
        refuse_named(gw, m, k, "%s: %s '%.128s' is not approved (sealbox gateway approve %lld)",
                     m->method, LK[k].pin_kind, full, (long long)it->pin_id);
        return;
    }
    if (k == LK_TOOLS && gw->policy && !call_allowed(gw, s, bare, m)) return;
    if (k == LK_TOOLS) gw->st.calls++;
    json_t *params = json_copy(m->params);
    json_object_set_new(params, "name", json_string(bare));
    forward(gw, s, m, params);
}

/* resources/subscribe and unsubscribe of a URI that no server lists (a resource a tool result
 * linked to, one that appears later): sent to every server that supports subscriptions and
 * whose resources the agent may see under that URI. False when there is none. */
static bool fan_out(sb_gw *gw, sb_rpc_msg *m, const char *uri) {
    struct server *to[SB_GW_SERVERS_MAX];
    size_t n = 0;
    for (size_t i = 0; i < gw->n && n < SB_GW_SERVERS_MAX; i++) {
        struct server *s = &gw->srv[i];
        if (s->state != S_READY ||
            !json_is_true(json_object_get(json_object_get(s->caps, "resources"), "subscribe")))
            continue;
        if (gw->policy &&
            !(sb_gw_policy_visible(gw->policy, gw->o.agent, srv_name(s), "server", NULL) &&
              sb_gw_policy_visible(gw->policy, gw->o.agent, srv_name(s), "resource", uri)))
            continue;
        to[n++] = s;
    }
    struct fan *f = n ? calloc(1, sizeof(*f)) : NULL;
    if (!f) return false;
    f->agent_id = json_incref(m->id);
    snprintf(f->method, sizeof(f->method), "%s", m->method);
    snprintf(f->uri, sizeof(f->uri), "%s", uri);
    f->t0 = sb_mono_ns();
    f->req_bytes = gw->cur_bytes;
    f->left = n + 1; /* one held while sending: a part that fails at once cannot answer early */
    for (size_t i = 0; i < n; i++) {
        sb_error err = {0};
        struct pend *p = pend_new(to[i], PK_FAN, m->method, to[i]->cfg->timeout_ms, &err);
        if (!p) {
            fan_part(gw, f, NULL);
            continue;
        }
        p->fan = f;
        json_t *id = json_integer(p->up_id);
        int rc = server_send(gw, to[i], sb_rpc_request(id, m->method, json_copy(m->params)), &err);
        json_decref(id);
        if (rc < 0) pend_remove(to[i], to[i]->n_pend - 1); /* fails this part */
    }
    fan_part(gw, f, NULL); /* the held one */
    return true;
}

static void agent_uri(sb_gw *gw, sb_rpc_msg *m) {
    const char *uri = json_string_value(json_object_get(m->params, "uri"));
    if (!uri) {
        agent_error(gw, m->id, SB_RPC_INVALID_PARAMS, "%s: params.uri must be a string", m->method);
        return;
    }
    struct server *s = route_uri(gw, uri);
    if (!s && strcmp(m->method, "resources/read") != 0 && fan_out(gw, m, uri)) return;
    if (!s) {
        audit_refused(gw, NULL, m->method, uri, "no server has this resource");
        agent_send(gw, sb_rpc_error(m->id, SB_RPC_RESOURCE_NOT_FOUND, "Resource not found",
                                    json_pack("{ss}", "uri", uri)));
        return;
    }
    forward(gw, s, m, json_copy(m->params));
}

static void agent_complete(sb_gw *gw, sb_rpc_msg *m) {
    json_t *ref = json_object_get(m->params, "ref");
    const char *type = json_string_value(json_object_get(ref, "type"));
    if (type && strcmp(type, "ref/prompt") == 0) {
        const char *full = json_string_value(json_object_get(ref, "name"));
        struct server *s = NULL;
        const char *bare = NULL;
        const struct item *it = NULL;
        if (full && split_name(gw, full, &s, &bare)) it = find_item(s, LK_PROMPTS, bare);
        if (!it || it->pin != SB_GW_PIN_APPROVED) {
            agent_error(gw, m->id, SB_RPC_INVALID_PARAMS, "completion/complete: unknown prompt");
            return;
        }
        json_t *params = json_deep_copy(m->params);
        json_object_set_new(json_object_get(params, "ref"), "name", json_string(bare));
        forward(gw, s, m, params);
        return;
    }
    if (type && strcmp(type, "ref/resource") == 0) {
        const char *uri = json_string_value(json_object_get(ref, "uri"));
        struct server *s = uri ? route_uri(gw, uri) : NULL;
        if (!s) {
            agent_error(gw, m->id, SB_RPC_INVALID_PARAMS, "completion/complete: unknown resource");
            return;
        }
        forward(gw, s, m, json_copy(m->params));
        return;
    }
    agent_error(gw, m->id, SB_RPC_INVALID_PARAMS,
                "completion/complete: params.ref.type must be ref/prompt or ref/resource");
}

static void agent_set_level(sb_gw *gw, sb_rpc_msg *m) {
    if (!json_is_string(json_object_get(m->params, "level"))) {
        agent_error(gw, m->id, SB_RPC_INVALID_PARAMS,
                    "logging/setLevel: params.level must be a "
                    "string");
        return;
    }
    for (size_t i = 0; i < gw->n; i++) {
        struct server *s = &gw->srv[i];
        if (s->state != S_READY || !json_is_object(json_object_get(s->caps, "logging"))) continue;
        sb_error err = {0};
        if (server_request(gw, s, PK_IGNORE, LK_TOOLS, "logging/setLevel", json_copy(m->params),
                           s->cfg->timeout_ms, &err) < 0)
            glog(gw, SB_LOG_WARN, "server %s: logging/setLevel: %s", srv_name(s), err.msg);
    }
    agent_send(gw, sb_rpc_result(m->id, json_object()));
}

static void agent_cancelled(sb_gw *gw, sb_rpc_msg *m) {
    json_t *rid = json_object_get(m->params, "requestId");
    if (!rid) return;
    for (size_t i = 0; i < gw->n; i++) {
        struct server *s = &gw->srv[i];
        for (size_t j = 0; j < s->n_pend; j++) {
            struct pend *p = &s->pend[j];
            if (p->kind != PK_FORWARD || !json_equal(p->agent_id, rid)) continue;
            json_t *params = json_object();
            json_object_set_new(params, "requestId", json_integer(p->up_id));
            json_t *reason = json_object_get(m->params, "reason");
            if (json_is_string(reason)) json_object_set(params, "reason", reason);
            sb_error err = {0};
            (void)server_send(gw, s, sb_rpc_notification("notifications/cancelled", params), &err);
            audit_forward(gw, s, p, "cancelled", -1, 0, 0, "cancelled by the agent");
            pend_remove(s, j);
            return;
        }
    }
}

static void agent_message(sb_gw *gw, sb_rpc_msg *m) {
    gw->st.agent_msgs++;
    if (m->kind == SB_RPC_NOTIFICATION) {
        if (strcmp(m->method, "notifications/initialized") == 0) {
            if (gw->astate == A_INIT_SENT) gw->astate = A_READY;
            /* sent before our answer (clients that do not wait): takes effect with it */
            if (gw->astate == A_INIT_WAIT) gw->early_initialized = true;
            relay_flush(gw);
        } else if (strcmp(m->method, "notifications/cancelled") == 0) {
            agent_cancelled(gw, m);
        } else if (strcmp(m->method, "notifications/roots/list_changed") == 0) {
            /* to the servers that were told the agent has roots */
            for (size_t i = 0; i < gw->n; i++) {
                struct server *s = &gw->srv[i];
                sb_error err = {0};
                if (s->state == S_READY && s->told[SB_GW_SREQ_ROOTS])
                    (void)server_send(gw, s, sb_rpc_notification(m->method, NULL), &err);
            }
        }
        return; /* anything else concerns no server here */
    }
    if (m->kind == SB_RPC_RESULT || m->kind == SB_RPC_ERROR) {
        agent_answer(gw, m); /* to a request a server sent through us */
        return;
    }
    if (m->kind != SB_RPC_REQUEST) return;
    const char *meth = m->method;
    if (strcmp(meth, "ping") == 0) {
        agent_send(gw, sb_rpc_result(m->id, json_object()));
        return;
    }
    if (strcmp(meth, "initialize") == 0) {
        agent_initialize(gw, m);
        return;
    }
    if (gw->astate != A_READY) {
        gw->st.agent_rejected++;
        audit_refused(gw, NULL, meth, NULL, "session not initialized");
        agent_error(gw, m->id, SB_RPC_INVALID_REQUEST,
                    "%s: the session is not initialized (send initialize, then "
                    "notifications/initialized)",
                    meth);
        return;
    }
    for (int k = 0; k < LK_MAX; k++)
        if (strcmp(meth, LK[k].method) == 0) {
            agent_list(gw, m, (enum lk)k);
            return;
        }
    if (strcmp(meth, "tools/call") == 0)
        agent_named(gw, m, LK_TOOLS);
    else if (strcmp(meth, "prompts/get") == 0)
        agent_named(gw, m, LK_PROMPTS);
    else if (strcmp(meth, "resources/read") == 0 || strcmp(meth, "resources/subscribe") == 0 ||
             strcmp(meth, "resources/unsubscribe") == 0)
        agent_uri(gw, m);
    else if (strcmp(meth, "completion/complete") == 0)
        agent_complete(gw, m);
    else if (strcmp(meth, "logging/setLevel") == 0)
        agent_set_level(gw, m);
    else {
        gw->st.agent_rejected++;
        audit_refused(gw, NULL, meth, NULL, "method not found");
        agent_error(gw, m->id, SB_RPC_METHOD_NOT_FOUND, "%.128s: method not found", meth);
    }
}

static int agent_line(void *ctx, enum sb_rpc_frame_kind kind, const uint8_t *p, size_t n) {
    sb_gw *gw = ctx;
    if (kind == SB_RPC_FRAME_OVERSIZE) {
        gw->st.agent_rejected++;
        gw->cur_bytes = gw->afr.discarded;
        audit_refused(gw, NULL, NULL, NULL, "message over the size limit");
        int64_t id = 0;
        json_t *jid = sb_rpc_framer_oversize_id(&gw->afr, &id) ? json_integer(id) : NULL;
        agent_error(gw, jid, SB_RPC_INVALID_REQUEST, "message: over %u bytes", SB_RPC_MSG_MAX);
        json_decref(jid);
        return gw->io_err;
    }
    sb_rpc_msg m;
    int code = 0;
    json_t *rid = NULL;
    sb_error err = {0};
    gw->cur_bytes = n;
    if (sb_rpc_parse(p, n, &m, &code, &rid, &err) < 0) {
        gw->st.agent_rejected++;
        audit_refused(gw, NULL, NULL, NULL, err.msg);
        agent_error(gw, rid, code, "%s", err.msg);
        json_decref(rid);
        return gw->io_err;
    }
    json_decref(rid);
    agent_message(gw, &m);
    sb_rpc_msg_clear(&m);
    return gw->io_err;
}

/* ---- messages from servers ------------------------------------------------------------------ */

static struct pend *find_pend(struct server *s, int64_t id, size_t *idx) {
    for (size_t i = 0; i < s->n_pend; i++)
        if (s->pend[i].up_id == id) {
            *idx = i;
            return &s->pend[i];
        }
    return NULL;
}

static const char *tools_call_shape(json_t *result) {
    json_t *content = json_object_get(result, "content");
    if (!json_is_array(content)) return "result.content is not an array";
    size_t i;
    json_t *c;
    json_array_foreach(content, i, c) {
        if (!json_is_string(json_object_get(c, "type"))) return "a content item has no type";
    }
    json_t *ie = json_object_get(result, "isError");
    if (ie && !json_is_boolean(ie)) return "result.isError is not a boolean";
    return NULL;
}

static void server_response(sb_gw *gw, struct server *s, sb_rpc_msg *m, size_t resp_bytes) {
    size_t idx = 0;
    struct pend *p = json_is_integer(m->id) ? find_pend(s, json_integer_value(m->id), &idx) : NULL;
    if (!p) {
        glog(gw, SB_LOG_DEBUG, "server %s: a response to no request of ours", srv_name(s));
        return;
    }
    switch (p->kind) {
    case PK_INIT:
        pend_remove(s, idx);
        if (m->kind == SB_RPC_ERROR) {
            server_dead(gw, s, "initialize failed: %.200s",
                        json_string_value(json_object_get(m->error, "message")));
            return;
        }
        server_initialized(gw, s, m->result);
        return;
    case PK_LIST: {
        enum lk k = p->lk;
        pend_remove(s, idx);
        if (m->kind == SB_RPC_ERROR)
            refresh_failed(gw, s, k, json_string_value(json_object_get(m->error, "message")));
        else
            refresh_page_result(gw, s, k, m->result);
        return;
    }
    case PK_FORWARD:
        if (m->kind == SB_RPC_RESULT && strcmp(p->method, "tools/call") == 0) {
            const char *bad = tools_call_shape(m->result);
            if (bad) {
                agent_error(gw, p->agent_id, SB_RPC_INTERNAL,
                            "server %s sent a malformed tools/call result: %s", srv_name(s), bad);
                audit_forward(gw, s, p, "malformed", -1, SB_RPC_INTERNAL, resp_bytes, bad);
                pend_remove(s, idx);
                return;
            }
        }
        if (m->kind == SB_RPC_RESULT) {
            agent_send(gw, sb_rpc_result(p->agent_id, json_incref(m->result)));
            json_t *ie = json_object_get(m->result, "isError");
            audit_forward(gw, s, p, "result",
                          strcmp(p->method, "tools/call") ? -1 : json_is_true(ie), 0, resp_bytes,
                          NULL);
        } else {
            agent_send(gw, sb_rpc_error(p->agent_id, (int)m->error_code,
                                        json_string_value(json_object_get(m->error, "message")),
                                        json_incref(json_object_get(m->error, "data"))));
            audit_forward(gw, s, p, "error", -1, m->error_code, resp_bytes,
                          json_string_value(json_object_get(m->error, "message")));
        }
        pend_remove(s, idx);
        return;
    case PK_FAN: {
        struct fan *f = p->fan;
        p->fan = NULL;
        fan_part(gw, f, m);
        pend_remove(s, idx);
        return;
    }
    case PK_IGNORE:
    default: pend_remove(s, idx); return;
    }
}

static void server_notification(sb_gw *gw, struct server *s, sb_rpc_msg *m) {
    const char *meth = m->method;
    for (int k = 0; k < LK_MAX; k++) {
        if (strcmp(meth, LK[k].changed) != 0) continue;
        refresh(gw, s, (enum lk)k);
        if (k == LK_RESOURCES) refresh(gw, s, LK_TEMPLATES);
        if (gw->astate == A_READY && notify_allowed(gw, s))
            agent_send(gw, sb_rpc_notification(meth, NULL));
        return;
    }
    if (strcmp(meth, "notifications/cancelled") == 0) {
        server_cancelled(gw, s, m);
        return;
    }
    if (gw->astate != A_READY) return;
    if (strcmp(meth, "notifications/progress") == 0) {
        json_t *tok = json_object_get(m->params, "progressToken");
        size_t idx = 0;
        struct pend *p = json_is_integer(tok) ? find_pend(s, json_integer_value(tok), &idx) : NULL;
        if (!p || p->kind != PK_FORWARD || !p->progress) return; /* not a token we handed out */
        if (!notify_allowed(gw, s)) return;
        json_t *params = json_copy(m->params);
        json_object_set(params, "progressToken", p->progress);
        agent_send(gw, sb_rpc_notification(meth, params));
        return;
    }
    if (strcmp(meth, "notifications/message") == 0 ||
        strcmp(meth, "notifications/resources/updated") == 0) {
        if (!notify_allowed(gw, s)) return;
        json_t *params = json_copy(m->params);
        if (strcmp(meth, "notifications/message") == 0 && params) {
            const char *lg = json_string_value(json_object_get(params, "logger"));
            char name[SB_GW_NAME_MAX + 64];
            snprintf(name, sizeof(name), "%s%s%.128s", srv_name(s), lg ? "/" : "", lg ? lg : "");
            json_object_set_new(params, "logger", json_string(name));
        }
        agent_send(gw, sb_rpc_notification(meth, params));
    }
    /* anything else (tasks, ...) goes nowhere */
}

/* ---- requests from servers, relayed to the agent ---------------------------------------------
 * sampling/createMessage, elicitation/create and roots/list go to the agent under the gateway's
 * own id, only when the agent declared the capability and its policy allows the kind for this
 * server; the agent's answer goes back under the server's id. A server's ping is answered here. */

static void relay_audit(sb_gw *gw, const struct relay *r, const char *decision, const char *outcome,
                        const char *reason, int64_t code, const json_t *answer, size_t resp_bytes) {
    char rd[72] = "";
    sb_error err = {0};
    if (answer && sb_gw_definition_digest(answer, rd, &err) < 0) rd[0] = 0;
    struct audit_info a = {.server = srv_name(r->s),
                           .method = sb_gw_sreq_method(r->kind),
                           .digest = r->digest,
                           .resp_digest = rd,
                           .direction = "server-to-agent",
                           .decision = decision,
                           .reason = reason,
                           .outcome = outcome,
                           .is_error = -1,
                           .code = code,
                           .req_bytes = r->req_bytes,
                           .resp_bytes = resp_bytes,
                           .t0 = r->t0};
    audit_put(gw, &a);
}

static void relay_remove(sb_gw *gw, size_t i) {
    struct relay *r = &gw->relay[i];
    if (r->s && r->s->n_relay) r->s->n_relay--;
    json_decref(r->srv_id);
    json_decref(r->msg);
    if (i + 1 < gw->n_relay) gw->relay[i] = gw->relay[gw->n_relay - 1];
    memset(&gw->relay[gw->n_relay - 1], 0, sizeof(gw->relay[0]));
    gw->n_relay--;
}

/* Answers a server's request with an error (nothing is relayed). */
static void server_refuse(sb_gw *gw, struct server *s, json_t *id, int code, const char *msg) {
    sb_error err = {0};
    if (server_send(gw, s, sb_rpc_error(id, code, msg, NULL), &err) < 0 && log_allowed(s))
        glog(gw, SB_LOG_WARN, "server %s: %s", srv_name(s), err.msg);
}

/* Tells the agent a relayed request is over (it was sent) and drops it. */
static void relay_cancel(sb_gw *gw, size_t i, const char *why) {
    struct relay *r = &gw->relay[i];
    if (!r->msg) {
        json_t *params = json_pack("{sIss}", "requestId", (json_int_t)r->id, "reason", why);
        (void)agent_send(gw, sb_rpc_notification("notifications/cancelled", params));
    }
    relay_remove(gw, i);
}

/* Sends one held request to the agent; on failure the server gets an error at once. */
static void relay_send(sb_gw *gw, size_t i) {
    struct relay *r = &gw->relay[i];
    json_t *msg = r->msg;
    r->msg = NULL;
    if (agent_send(gw, msg) == 0) {
        gw->st.relayed++;
        return;
    }
    const char *why = "the agent's transport has no stream for server requests (over HTTP, "
                      "the agent must keep its GET stream open)";
    char buf[320];
    snprintf(buf, sizeof(buf), "%s: not delivered: %s", sb_gw_sreq_method(r->kind), why);
    gw->st.relay_refused++;
    server_refuse(gw, r->s, r->srv_id, SB_RPC_INTERNAL, buf);
    relay_audit(gw, r, "allow", "not-sent", why, SB_RPC_INTERNAL, NULL, 0);
    relay_remove(gw, i);
}

/* The session became ready: requests held until then go out. */
static void relay_flush(sb_gw *gw) {
    if (gw->astate != A_READY) return;
    for (size_t i = 0; i < gw->n_relay;) {
        size_t before = gw->n_relay;
        if (gw->relay[i].msg) relay_send(gw, i);
        if (gw->n_relay == before) i++;
    }
}

static bool relay_rate_ok(struct server *s) {
    uint64_t now = sb_mono_ns();
    s->rtokens += (double)(now - s->rtok_ns) / 1e9 * SB_GW_RELAY_RATE;
    s->rtok_ns = now;
    if (s->rtokens > 2.0 * SB_GW_RELAY_RATE) s->rtokens = 2.0 * SB_GW_RELAY_RATE;
    if (s->rtokens < 1.0) return false;
    s->rtokens -= 1.0;
    return true;
}

/* Did the agent declare what this request needs? elicitation/create in "url" mode needs
 * elicitation.url; form mode needs elicitation.form, or an elicitation object naming neither
 * mode (what 2025-06-18 clients send). */
static bool agent_declared(sb_gw *gw, enum sb_gw_sreq k, const json_t *params, const char **need) {
    json_t *c = json_object_get(gw->agent_caps, sb_gw_sreq_key(k));
    *need = sb_gw_sreq_key(k);
    if (!json_is_object(c)) return false;
    if (k != SB_GW_SREQ_ELICITATION) return true;
    const char *mode = json_string_value(json_object_get(params, "mode"));
    if (mode && strcmp(mode, "url") == 0) {
        *need = "elicitation.url";
        return json_is_object(json_object_get(c, "url"));
    }
    *need = "elicitation.form";
    return json_is_object(json_object_get(c, "form")) || !json_object_get(c, "url");
}

static void server_request_in(sb_gw *gw, struct server *s, sb_rpc_msg *m, size_t n) {
    if (strcmp(m->method, "ping") == 0) {
        sb_error err = {0};
        if (server_send(gw, s, sb_rpc_result(m->id, json_object()), &err) < 0 && log_allowed(s))
            glog(gw, SB_LOG_WARN, "server %s: %s", srv_name(s), err.msg);
        return;
    }
    enum sb_gw_sreq k;
    char why[SB_GW_REASON_MAX], msg[SB_GW_REASON_MAX + 128];
    if (!sb_gw_sreq_of(m->method, &k)) {
        gw->st.relay_refused++;
        snprintf(msg, sizeof(msg),
                 "%.128s: method not found (the sealbox gateway relays only "
                 "sampling/createMessage, elicitation/create and roots/list)",
                 m->method);
        server_refuse(gw, s, m->id, SB_RPC_METHOD_NOT_FOUND, msg);
        return;
    }
    struct relay probe = {.s = s, .kind = k, .req_bytes = n};
    sb_error err = {0};
    if (m->params && sb_gw_definition_digest(m->params, probe.digest, &err) < 0)
        probe.digest[0] = 0;
    const char *need = NULL;
    int code = SB_RPC_METHOD_NOT_FOUND;
    bool audit = true;
    if (!gw->o.agent) {
        snprintf(why, sizeof(why), "no agent session");
    } else if (!gw->policy) {
        snprintf(why, sizeof(why), "no policy for agent %s", gw->o.agent);
    } else if (!sb_gw_policy_server_request(gw->policy, gw->o.agent, srv_name(s), k, why,
                                            sizeof(why))) {
        /* why names the rule */
    } else if (!s->told[k] || !agent_declared(gw, k, m->params, &need)) {
        snprintf(why, sizeof(why), "the agent did not declare the %s capability",
                 need ? need : sb_gw_sreq_key(k));
    } else if (s->n_relay >= SB_GW_RELAY_PER_SERVER || gw->n_relay >= SB_GW_RELAY_MAX) {
        snprintf(why, sizeof(why), "%d requests of this server already wait for the agent",
                 (int)s->n_relay);
        code = SB_RPC_INTERNAL;
    } else if (!relay_rate_ok(s)) {
        snprintf(why, sizeof(why), "over %d server requests per second", SB_GW_RELAY_RATE);
        code = SB_RPC_INTERNAL;
        audit = false; /* a flood: counted and logged once a second, not one record each */
        if (sb_mono_ns() - s->rlog_ns > 1000000000ull) {
            s->rlog_ns = sb_mono_ns();
            glog(gw, SB_LOG_WARN, "server %s: server requests over %d/s are refused", srv_name(s),
                 SB_GW_RELAY_RATE);
        }
    } else {
        for (size_t i = 0; i < gw->n_relay; i++)
            if (gw->relay[i].s == s && json_equal(gw->relay[i].srv_id, m->id)) {
                snprintf(why, sizeof(why), "id already in use by a request waiting for the agent");
                code = SB_RPC_INVALID_REQUEST;
                break;
            }
        if (code == SB_RPC_METHOD_NOT_FOUND) why[0] = 0;
    }
    if (why[0]) {
        gw->st.relay_refused++;
        snprintf(msg, sizeof(msg), "%s refused by the sealbox gateway: %s", m->method, why);
        server_refuse(gw, s, m->id, code, msg);
        if (audit) relay_audit(gw, &probe, "deny", "refused", why, code, NULL, 0);
        return;
    }
    struct relay *r = &gw->relay[gw->n_relay++];
    *r = probe;
    r->srv_id = json_incref(m->id);
    r->id = ++gw->next_relay;
    r->t0 = sb_mono_ns();
    sb_gw_limits lim;
    uint64_t to = SB_GW_DEFAULT_SERVER_REQUEST_TIMEOUT_MS;
    if (sb_gw_policy_limits(gw->policy, gw->o.agent, NULL, NULL, &lim) == 0 &&
        lim.server_request_timeout_ms)
        to = lim.server_request_timeout_ms;
    r->deadline = r->t0 + to * 1000000ull;
    json_t *id = json_integer(r->id);
    r->msg = sb_rpc_request(id, m->method, m->params ? json_incref(m->params) : NULL);
    json_decref(id);
    s->n_relay++;
    if (gw->astate == A_READY) relay_send(gw, gw->n_relay - 1);
}

/* The agent answered a relayed request: to its server, under the server's id. */
static void agent_answer(sb_gw *gw, sb_rpc_msg *m) {
    size_t i = 0;
    for (; i < gw->n_relay; i++)
        if (!gw->relay[i].msg && json_is_integer(m->id) &&
            json_integer_value(m->id) == gw->relay[i].id)
            break;
    if (i == gw->n_relay) {
        gw->st.relay_unknown_answers++;
        glog(gw, SB_LOG_DEBUG, "the agent answered a request the gateway did not send");
        return;
    }
    struct relay *r = &gw->relay[i];
    json_t *reply;
    sb_error err = {0};
    if (m->kind == SB_RPC_RESULT) {
        reply = sb_rpc_result(r->srv_id, json_incref(m->result));
        relay_audit(gw, r, "allow", "result", NULL, 0, m->result, gw->cur_bytes);
    } else {
        const char *em = json_string_value(json_object_get(m->error, "message"));
        reply = sb_rpc_error(r->srv_id, (int)m->error_code, em ? em : "error",
                             json_incref(json_object_get(m->error, "data")));
        relay_audit(gw, r, "allow", "error", em, m->error_code, m->error, gw->cur_bytes);
    }
    if (server_send(gw, r->s, reply, &err) < 0 && log_allowed(r->s))
        glog(gw, SB_LOG_WARN, "server %s: %s", srv_name(r->s), err.msg);
    relay_remove(gw, i);
}

/* The server cancelled one of its relayed requests. */
static void server_cancelled(sb_gw *gw, struct server *s, sb_rpc_msg *m) {
    json_t *rid = json_object_get(m->params, "requestId");
    for (size_t i = 0; rid && i < gw->n_relay; i++) {
        struct relay *r = &gw->relay[i];
        if (r->s != s || !json_equal(r->srv_id, rid)) continue;
        const char *reason = json_string_value(json_object_get(m->params, "reason"));
        relay_audit(gw, r, "allow", "cancelled", "cancelled by the server", 0, NULL, 0);
        relay_cancel(gw, i, reason ? reason : "cancelled by the server");
        return;
    }
}

/* The server is gone: its requests are over for the agent too. */
static void relay_drop_server(sb_gw *gw, struct server *s) {
    for (size_t i = 0; i < gw->n_relay;) {
        if (gw->relay[i].s != s) {
            i++;
            continue;
        }
        relay_audit(gw, &gw->relay[i], "allow", "server-gone", s->reason, SB_RPC_SERVER_GONE, NULL,
                    0);
        relay_cancel(gw, i, "the server is gone");
    }
}

/* The agent is gone: nobody will answer its relayed requests. */
static void relay_agent_gone(sb_gw *gw) {
    while (gw->n_relay) {
        struct relay *r = &gw->relay[0];
        char msg[128];
        snprintf(msg, sizeof(msg), "%s: the agent is gone", sb_gw_sreq_method(r->kind));
        server_refuse(gw, r->s, r->srv_id, SB_RPC_INTERNAL, msg);
        relay_audit(gw, r, "allow", "agent-gone", "the agent's session ended", SB_RPC_INTERNAL,
                    NULL, 0);
        relay_remove(gw, 0);
    }
}

static void relay_expire(sb_gw *gw, uint64_t now) {
    for (size_t i = 0; i < gw->n_relay;) {
        struct relay *r = &gw->relay[i];
        if (r->deadline > now) {
            i++;
            continue;
        }
        gw->st.timeouts++;
        char msg[256];
        snprintf(msg, sizeof(msg), "the agent did not answer %s within %llu ms",
                 sb_gw_sreq_method(r->kind),
                 (unsigned long long)((r->deadline - r->t0) / 1000000ull));
        server_refuse(gw, r->s, r->srv_id, SB_RPC_TIMEOUT, msg);
        relay_audit(gw, r, "allow", "timeout", "no answer in time", SB_RPC_TIMEOUT, NULL, 0);
        relay_cancel(gw, i, "timeout (sealbox gateway)");
    }
}

/* The client capabilities declared to a server: for each kind, the agent's own declaration when
 * its policy allows the kind for this server. Without an agent (sealbox gateway pin) all three,
 * so that every definition a server would present is seen and can be approved. */
static json_t *client_caps(sb_gw *gw, struct server *s) {
    json_t *caps = json_object();
    for (int k = 0; caps && k < SB_GW_SREQ_MAX; k++) {
        const char *key = sb_gw_sreq_key((enum sb_gw_sreq)k);
        json_t *c = NULL;
        if (!gw->o.agent) {
            c = json_object();
        } else {
            json_t *ac = json_object_get(gw->agent_caps, key);
            if (json_is_object(ac) && gw->policy &&
                sb_gw_policy_server_request(gw->policy, gw->o.agent, srv_name(s),
                                            (enum sb_gw_sreq)k, NULL, 0))
                c = json_deep_copy(ac);
        }
        if (!c) continue;
        s->told[k] = true;
        json_object_set_new(caps, key, c);
    }
    return caps;
}

static void server_send_init(sb_gw *gw, struct server *s) {
    s->init_pending = false;
    if (s->state != S_STARTING) return;
    json_t *params =
        json_pack("{sss{}s{ssss}}", "protocolVersion", SB_GW_PROTOCOL_LATEST, "capabilities",
                  "clientInfo", "name", "sealbox-gateway", "version", SB_VERSION);
    if (params) json_object_set_new(params, "capabilities", client_caps(gw, s));
    uint64_t to =
        s->cfg->timeout_ms > SB_GW_INIT_TIMEOUT_MS ? s->cfg->timeout_ms : SB_GW_INIT_TIMEOUT_MS;
    sb_error e = {0};
    if (server_request(gw, s, PK_INIT, LK_TOOLS, "initialize", params, to, &e) < 0)
        server_dead(gw, s, "%s", e.msg);
}

static void send_pending_inits(sb_gw *gw) {
    for (size_t i = 0; i < gw->n; i++)
        if (gw->srv[i].init_pending) server_send_init(gw, &gw->srv[i]);
}

struct server_line_ctx {
    sb_gw *gw;
    struct server *s;
};

static int server_line(void *ctx, enum sb_rpc_frame_kind kind, const uint8_t *p, size_t n) {
    struct server_line_ctx *c = ctx;
    sb_gw *gw = c->gw;
    struct server *s = c->s;
    gw->st.server_msgs++;
    if (kind == SB_RPC_FRAME_OVERSIZE) {
        gw->st.server_oversize++;
        int64_t id = 0;
        size_t idx = 0;
        struct pend *pd = sb_rpc_framer_oversize_id(&s->fr, &id) ? find_pend(s, id, &idx) : NULL;
        glog(gw, SB_LOG_WARN, "server %s: a message over %llu bytes was dropped", srv_name(s),
             (unsigned long long)s->cfg->max_message_bytes);
        if (pd && pd->kind == PK_FORWARD) {
            agent_error(gw, pd->agent_id, SB_RPC_INTERNAL,
                        "server %s: the response is over %llu bytes (max_message_bytes)",
                        srv_name(s), (unsigned long long)s->cfg->max_message_bytes);
            audit_forward(gw, s, pd, "oversize", -1, SB_RPC_INTERNAL, s->fr.discarded,
                          "response over max_message_bytes");
            pend_remove(s, idx);
        } else if (pd && pd->kind == PK_LIST) {
            enum lk k = pd->lk;
            pend_remove(s, idx);
            refresh_failed(gw, s, k, "the page is over max_message_bytes");
        } else if (pd && pd->kind == PK_INIT) {
            pend_remove(s, idx);
            server_dead(gw, s, "the initialize result is over max_message_bytes");
        } else if (pd && pd->kind == PK_FAN) {
            pend_remove(s, idx); /* this part failed */
        }
        return gw->io_err;
    }
    sb_rpc_msg m;
    int code = 0;
    json_t *rid = NULL;
    sb_error err = {0};
    if (sb_rpc_parse(p, n, &m, &code, &rid, &err) < 0) {
        gw->st.server_malformed++;
        if (log_allowed(s))
            glog(gw, SB_LOG_WARN, "server %s: malformed message dropped: %s", srv_name(s), err.msg);
        size_t idx = 0;
        int64_t sid = 0;
        struct pend *pd = NULL;
        if (json_is_integer(rid))
            pd = find_pend(s, json_integer_value(rid), &idx);
        else if (code == SB_RPC_PARSE_ERROR && sb_rpc_scan_id(p, n < 256 ? n : 256, &sid))
            pd = find_pend(s, sid, &idx);
        if (pd && pd->kind == PK_FORWARD) {
            agent_error(gw, pd->agent_id, SB_RPC_INTERNAL,
                        "server %s sent a malformed response: %s", srv_name(s), err.msg);
            audit_forward(gw, s, pd, "malformed", -1, SB_RPC_INTERNAL, n, err.msg);
            pend_remove(s, idx);
        } else if (pd && pd->kind == PK_FAN) {
            pend_remove(s, idx); /* this part failed */
        }
        json_decref(rid);
        return gw->io_err;
    }
    json_decref(rid);
    switch (m.kind) {
    case SB_RPC_RESULT:
    case SB_RPC_ERROR: server_response(gw, s, &m, n); break;
    case SB_RPC_NOTIFICATION: server_notification(gw, s, &m); break;
    case SB_RPC_REQUEST: server_request_in(gw, s, &m, n); break;
    default: break;
    }
    sb_rpc_msg_clear(&m);
    return gw->io_err;
}

static void server_read(sb_gw *gw, struct server *s) {
    uint8_t buf[65536];
    for (int rounds = 0; rounds < 16 && s->proc.out_fd >= 0; rounds++) {
        ssize_t n = read(s->proc.out_fd, buf, sizeof(buf));
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && errno == EAGAIN) return;
        if (n <= 0) {
            if (s->proc.status_fd >= 0 || s->proc.remote) (void)gw_proc_read_status(&s->proc);
            if (s->cfg->url && strncmp(s->proc.status, "err ", 4) == 0)
                server_dead(gw, s, "%s", s->proc.status + 4);
            else if (strncmp(s->proc.status, "err ", 4) == 0)
                server_dead(gw, s, "cannot start: %s", s->proc.status + 4);
            else
                server_dead(gw, s, "exited (its output closed)");
            return;
        }
        struct server_line_ctx c = {gw, s};
        if (sb_rpc_framer_push(&s->fr, buf, (size_t)n, server_line, &c) != 0) return;
    }
}

static void server_flush(sb_gw *gw, struct server *s) {
    while (s->ob_off < s->ob_len && s->proc.in_fd >= 0) {
        ssize_t w = write(s->proc.in_fd, s->ob + s->ob_off, s->ob_len - s->ob_off);
        if (w < 0 && errno == EINTR) continue;
        if (w < 0 && errno == EAGAIN) return;
        if (w <= 0) {
            server_dead(gw, s, "its input closed (%s)", w < 0 ? strerror(errno) : "EOF");
            return;
        }
        s->ob_off += (size_t)w;
    }
    if (s->ob_off == s->ob_len) s->ob_off = s->ob_len = 0;
}

static void expire(sb_gw *gw, uint64_t now) {
    relay_expire(gw, now);
    for (size_t i = 0; i < gw->n; i++) {
        struct server *s = &gw->srv[i];
        for (size_t j = 0; j < s->n_pend;) {
            struct pend *p = &s->pend[j];
            if (p->deadline > now) {
                j++;
                continue;
            }
            gw->st.timeouts++;
            if (p->kind == PK_INIT) {
                server_dead(gw, s, "did not answer initialize within %llu ms",
                            (unsigned long long)s->cfg->timeout_ms);
                break;
            }
            if (p->kind == PK_FORWARD) {
                agent_error(gw, p->agent_id, SB_RPC_TIMEOUT,
                            "server %s did not answer %s within %llu ms", srv_name(s), p->method,
                            (unsigned long long)s->cfg->timeout_ms);
                audit_forward(gw, s, p, "timeout", -1, SB_RPC_TIMEOUT, 0, "no answer in time");
                json_t *params = json_pack("{sIss}", "requestId", (json_int_t)p->up_id, "reason",
                                           "timeout (sealbox gateway)");
                sb_error err = {0};
                (void)server_send(gw, s, sb_rpc_notification("notifications/cancelled", params),
                                  &err);
                pend_remove(s, j);
                continue;
            }
            enum lk k = p->lk;
            bool list = p->kind == PK_LIST;
            pend_remove(s, j);
            if (list) refresh_failed(gw, s, k, "timeout");
        }
    }
}

static int next_timeout_ms(sb_gw *gw, uint64_t now) {
    uint64_t best = UINT64_MAX;
    for (size_t i = 0; i < gw->n; i++)
        for (size_t j = 0; j < gw->srv[i].n_pend; j++)
            if (gw->srv[i].pend[j].deadline < best) best = gw->srv[i].pend[j].deadline;
    for (size_t i = 0; i < gw->n_relay; i++)
        if (gw->relay[i].deadline < best) best = gw->relay[i].deadline;
    if (best == UINT64_MAX) return -1;
    if (best <= now) return 0;
    uint64_t ms = (best - now + 999999) / 1000000;
    return ms > 60000 ? 60000 : (int)ms;
}

static size_t forwards_in_flight(sb_gw *gw) {
    size_t n = 0;
    for (size_t i = 0; i < gw->n; i++)
        for (size_t j = 0; j < gw->srv[i].n_pend; j++)
            if (gw->srv[i].pend[j].kind == PK_FORWARD) n++;
    return n + (gw->astate == A_INIT_WAIT ? 1 : 0);
}

/* One round of poll over the agent (agent_fd < 0: not listening), stop_fd and every server. */
static int poll_once(sb_gw *gw, int agent_fd, int stop_fd, bool *agent_eof, bool *stop,
                     int max_wait_ms) {
    struct pollfd pf[2 + 2 * SB_GW_SERVERS_MAX];
    size_t np = 0;
    pf[np++] = (struct pollfd){.fd = agent_fd, .events = POLLIN};
    pf[np++] = (struct pollfd){.fd = stop_fd, .events = POLLIN};
    for (size_t i = 0; i < gw->n; i++) {
        struct server *s = &gw->srv[i];
        pf[np++] = (struct pollfd){.fd = s->proc.out_fd,
                                   .events = (short)(POLLIN | (s->ob_len > s->ob_off ? 0 : 0))};
        pf[np++] =
            (struct pollfd){.fd = s->ob_len > s->ob_off ? s->proc.in_fd : -1, .events = POLLOUT};
    }
    uint64_t now = sb_mono_ns();
    int to = next_timeout_ms(gw, now);
    if (max_wait_ms >= 0 && (to < 0 || to > max_wait_ms)) to = max_wait_ms;
    int r = poll(pf, (nfds_t)np, to);
    if (r < 0 && errno != EINTR)
        return sb_error_set(&gw->ioerr, SB_E_IO, "poll: %s", strerror(errno));
    if (r > 0) {
        if (stop_fd >= 0 && (pf[1].revents & (POLLIN | POLLHUP))) *stop = true;
        for (size_t i = 0; i < gw->n; i++) {
            struct server *s = &gw->srv[i];
            if (pf[2 + 2 * i + 1].revents & (POLLOUT | POLLERR | POLLHUP)) server_flush(gw, s);
            if (pf[2 + 2 * i].revents & (POLLIN | POLLHUP | POLLERR)) server_read(gw, s);
        }
        if (agent_fd >= 0 && (pf[0].revents & (POLLIN | POLLHUP | POLLERR))) {
            uint8_t buf[65536];
            ssize_t n = read(agent_fd, buf, sizeof(buf));
            if (n < 0 && (errno == EINTR || errno == EAGAIN)) return 0;
            if (n <= 0)
                *agent_eof = true;
            else
                (void)sb_rpc_framer_push(&gw->afr, buf, (size_t)n, agent_line, gw);
        }
    }
    expire(gw, sb_mono_ns());
    for (size_t i = 0; i < gw->n; i++)
        if (gw->srv[i].ob_len > gw->srv[i].ob_off) server_flush(gw, &gw->srv[i]);
    return gw->io_err;
}

/* ---- public API -------------------------------------------------------------------------------
 */

int sb_gw_new(const struct sb_gw_opts *o, sb_gw **out, sb_error *err) {
    ENSURE(o && o->config, err, SB_E_USAGE, "gateway: no configuration");
    ENSURE(o->config->n_servers <= SB_GW_SERVERS_MAX, err, SB_E_LIMIT, "gateway: too many servers");
    sb_gw *gw = calloc(1, sizeof(*gw));
    if (!gw) BAIL(err, SB_E_INTERNAL, "out of memory");
    gw->o = *o;
    gw->n = o->config->n_servers;
    gw->srv = calloc(gw->n ? gw->n : 1, sizeof(*gw->srv));
    if (!gw->srv) {
        free(gw);
        BAIL(err, SB_E_INTERNAL, "out of memory");
    }
    for (size_t i = 0; i < gw->n; i++) {
        struct server *s = &gw->srv[i];
        s->cfg = &o->config->servers[i];
        s->gw = gw;
        s->proc.pid = -1;
        s->proc.in_fd = s->proc.out_fd = s->proc.status_fd = -1;
        s->state = S_STARTING;
        s->tokens = 2.0 * SB_GW_NOTIFY_RATE;
        s->tok_ns = sb_mono_ns();
        s->rtokens = 2.0 * SB_GW_RELAY_RATE;
        s->rtok_ns = s->tok_ns;
        sb_rpc_framer_init(&s->fr, s->cfg->max_message_bytes);
    }
    sb_rpc_framer_init(&gw->afr, SB_RPC_MSG_MAX);
    gw->out_fd = -1;
    if (o->host)
        gw->pins = *o->host;
    else
        sb_gw_host_from_store(o->store, &gw->pins);
    if (o->config->root && o->agent) {
        /* a configuration document always carries the policy: no "agents", no gateway (the
         * operator's `gateway pin` serves no agent and approves what the servers present) */
        json_t *agents = json_object_get(o->config->root, "agents");
        int rc = 0;
        if (o->policy) {
            gw->policy = o->policy;
            gw->policy_shared = true;
        } else {
            rc = agents ? sb_gw_policy_load(agents, &gw->policy, err)
                        : sb_error_set(err, SB_E_MALFORMED,
                                       "agents: missing (the per-agent policy; docs/gateway.md)");
        }
        if (rc == 0 && !sb_gw_policy_has_agent(gw->policy, o->agent ? o->agent : ""))
            rc = sb_error_set(err, SB_E_POLICY, "agents.%.64s: no such agent in the policy",
                              o->agent ? o->agent : "");
        sb_gw_limits lim;
        if (rc == 0 && sb_gw_policy_limits(gw->policy, o->agent, NULL, NULL, &lim) == 0 &&
            lim.max_request_bytes && lim.max_request_bytes < gw->afr.max)
            gw->afr.max = lim.max_request_bytes;
        for (size_t i = 0; rc == 0 && i < gw->n; i++) {
            struct server *s = &gw->srv[i];
            if (sb_gw_policy_limits(gw->policy, o->agent, srv_name(s), NULL, &lim) == 0 &&
                lim.max_response_bytes && lim.max_response_bytes < s->fr.max)
                s->fr.max = lim.max_response_bytes;
        }
        if (rc < 0) {
            sb_gw_free(gw);
            return rc;
        }
    }
    *out = gw;
    return 0;
}

void sb_gw_free(sb_gw *gw) {
    if (!gw) return;
    gw->closing = true;
    struct gw_proc *procs[SB_GW_SERVERS_MAX];
    for (size_t i = 0; i < gw->n; i++)
        procs[i] = gw->srv[i].proc.pid > 0 || gw->srv[i].proc.handle || gw->srv[i].proc.remote
                       ? &gw->srv[i].proc
                       : NULL;
    gw_procs_stop(procs, gw->n, 2000);
    for (size_t i = 0; i < gw->n; i++) {
        struct server *s = &gw->srv[i];
        while (s->n_pend)
            pend_remove(s, 0);
        for (int k = 0; k < LK_MAX; k++) {
            cat_free(s, (enum lk)k);
            json_decref(s->building[k]);
        }
        json_decref(s->caps);
        json_decref(s->info);
        free(s->instructions);
        free(s->ob);
        sb_rpc_framer_free(&s->fr);
    }
    for (int k = 0; k < LK_MAX; k++) {
        json_decref(gw->snap[k]);
        while (gw->waiters[k]) {
            struct waiter *w = gw->waiters[k];
            gw->waiters[k] = w->next;
            json_decref(w->agent_id);
            free(w);
        }
    }
    json_decref(gw->init_id);
    while (gw->n_relay)
        relay_remove(gw, 0);
    json_decref(gw->agent_caps);
    sb_rpc_framer_free(&gw->afr);
    if (!gw->policy_shared) sb_gw_policy_free(gw->policy);
    free(gw->srv);
    free(gw);
}

int sb_gw_start(sb_gw *gw, sb_error *err) {
    signal(SIGPIPE, SIG_IGN);
    for (size_t i = 0; i < gw->n; i++) {
        struct server *s = &gw->srv[i];
        if (s->cfg->sandbox == SB_GW_SANDBOX_NONE && !s->cfg->url)
            glog(gw, SB_LOG_WARN, "server %s runs WITHOUT a sandbox (sandbox: none)", srv_name(s));
        sb_error e = {0};
        if (gw_proc_spawn(s->cfg, &gw->o, &s->proc, &e) < 0) {
            server_dead(gw, s, "%s", e.msg);
            continue;
        }
        /* with an agent, initialize waits for the agent's (the server is told the client
         * capabilities the agent declared); the process starts meanwhile */
        s->init_pending = true;
        if (!gw->o.agent || gw->astate != A_NEW) server_send_init(gw, s);
    }
    (void)err;
    return 0;
}

int sb_gw_serve_stdio(sb_gw *gw, int in_fd, int out_fd, int stop_fd, sb_error *err) {
    gw->out_fd = out_fd;
    bool eof = false, stop = false;
    while (!stop && gw->io_err == 0) {
        if (eof) {
            /* the agent is gone: finish what is in flight (each request has a deadline) */
            relay_agent_gone(gw);
            if (forwards_in_flight(gw) == 0) break;
        }
        int rc = poll_once(gw, eof ? -1 : in_fd, stop_fd, &eof, &stop, -1);
        if (rc < 0) break;
    }
    if (gw->io_err) {
        if (err) *err = gw->ioerr;
        return gw->io_err;
    }
    return 0;
}

void sb_gw_get_stats(const sb_gw *gw, struct sb_gw_stats *out) { *out = gw->st; }

int sb_gw_agent_input(sb_gw *gw, const uint8_t *p, size_t n, sb_error *err) {
    (void)sb_rpc_framer_push(&gw->afr, p, n, agent_line, gw);
    if (gw->io_err) {
        if (err) *err = gw->ioerr;
        return gw->io_err;
    }
    return 0;
}

int sb_gw_agent_message(sb_gw *gw, const uint8_t *p, size_t n, sb_error *err) {
    if (n > gw->afr.max) {
        gw->cur_bytes = n;
        gw->st.agent_rejected++;
        audit_refused(gw, NULL, NULL, NULL, "message over the size limit");
        agent_error(gw, NULL, SB_RPC_INVALID_REQUEST, "message: over %zu bytes", gw->afr.max);
    } else {
        (void)agent_line(gw, SB_RPC_FRAME_LINE, p, n);
    }
    if (gw->io_err) {
        if (err) *err = gw->ioerr;
        return gw->io_err;
    }
    return 0;
}

int sb_gw_agent_rpc(sb_gw *gw, sb_rpc_msg *m, size_t n, sb_error *err) {
    if (n > gw->afr.max) {
        gw->cur_bytes = n;
        gw->st.agent_rejected++;
        audit_refused(gw, NULL, m->method, NULL, "message over the size limit");
        agent_error(gw, m->kind == SB_RPC_REQUEST ? m->id : NULL, SB_RPC_INVALID_REQUEST,
                    "message: over %zu bytes", gw->afr.max);
    } else {
        gw->cur_bytes = n;
        agent_message(gw, m);
    }
    if (gw->io_err) {
        if (err) *err = gw->ioerr;
        return gw->io_err;
    }
    return 0;
}

size_t sb_gw_poll_fds(const sb_gw *gw, struct pollfd *pf, size_t max, int *timeout_ms) {
    size_t np = 0;
    for (size_t i = 0; i < gw->n; i++) {
        const struct server *s = &gw->srv[i];
        if (s->proc.out_fd >= 0 && np < max)
            pf[np++] = (struct pollfd){.fd = s->proc.out_fd, .events = POLLIN};
        if (s->ob_len > s->ob_off && s->proc.in_fd >= 0 && np < max)
            pf[np++] = (struct pollfd){.fd = s->proc.in_fd, .events = POLLOUT};
    }
    *timeout_ms = next_timeout_ms((sb_gw *)gw, sb_mono_ns());
    return np;
}

int sb_gw_pump(sb_gw *gw, sb_error *err) {
    bool eof = true, stop = false;
    int rc = poll_once(gw, -1, -1, &eof, &stop, 0);
    if (rc < 0 && err) *err = gw->ioerr;
    return rc;
}

size_t sb_gw_in_flight(const sb_gw *gw) { return forwards_in_flight((sb_gw *)gw); }

int sb_gw_wait_ready(sb_gw *gw, uint64_t timeout_ms, sb_error *err) {
    uint64_t end = sb_mono_ns() + timeout_ms * 1000000ull;
    bool eof = true, stop = false;
    send_pending_inits(gw);
    while (!startup_done(gw)) {
        uint64_t now = sb_mono_ns();
        if (now >= end) BAIL(err, SB_E_IO, "gateway: the servers did not come up in time");
        int rc = poll_once(gw, -1, -1, &eof, &stop, (int)((end - now) / 1000000 + 1));
        if (rc < 0) {
            if (err) *err = gw->ioerr;
            return rc;
        }
    }
    return 0;
}

static int approve_def(sb_gw *gw, const char *server, const char *kind, const char *name,
                       const json_t *def, size_t *n, sb_error *err) {
    char digest[72];
    TRY(sb_gw_definition_digest(def, digest, err));
    int64_t id = 0;
    bool approved = false;
    int rc = sb_store_pin_get(gw->o.store, server, kind, name, digest, &id, &approved, err);
    if (rc == 0 && approved) return 0;
    if (rc == 0) {
        TRY(sb_store_pin_approve(gw->o.store, id, NULL, err));
    } else if (rc == SB_E_NOTFOUND) {
        char *canon = NULL;
        size_t len = 0;
        TRY(sb_json_canonical(def, &canon, &len, err));
        if (len > SB_PIN_DEF_MAX) canon[0] = 0;
        rc = sb_store_pin_insert(gw->o.store, server, kind, name, digest, canon, true, &id, err);
        free(canon);
        TRY(rc);
    } else {
        return rc;
    }
    (*n)++;
    return 0;
}

int sb_gw_pin_current(sb_gw *gw, const char *server, size_t *n, sb_error *err) {
    ENSURE(gw->o.store, err, SB_E_USAGE, "gateway: pinning needs a store");
    *n = 0;
    bool found = !server;
    for (size_t i = 0; i < gw->n; i++) {
        struct server *s = &gw->srv[i];
        if (server && strcmp(server, srv_name(s)) != 0) continue;
        found = true;
        if (s->state != S_READY)
            BAIL(err, SB_E_IO, "server %s is not running: %s", srv_name(s), s->reason);
        if (s->instructions) {
            json_t *def = json_pack("{ss}", "instructions", s->instructions);
            int rc =
                def ? approve_def(gw, srv_name(s), "instructions", "", def, n, err) : SB_E_INTERNAL;
            json_decref(def);
            TRY(rc);
        }
        for (int k = 0; k < LK_MAX; k++) {
            if (!LK[k].pin_kind) continue;
            for (size_t j = 0; j < s->n_cat[k]; j++) {
                const char *name = json_string_value(json_object_get(s->cat[k][j].def, "name"));
                TRY(approve_def(gw, srv_name(s), LK[k].pin_kind, name, s->cat[k][j].def, n, err));
            }
        }
    }
    ENSURE(found, err, SB_E_NOTFOUND, "gateway: no server named '%.64s' in the configuration",
           server);
    return 0;
}
