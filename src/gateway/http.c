/* http: the gateway's Streamable HTTP front — libevent's evhttp parses HTTP; this file checks
 * Origin, Host, the bearer token, the session and the protocol version, then hands each body to
 * the session's engine (sb_gw_agent_message) and routes what the engine answers to the POST that
 * asked (JSON or SSE) or to the session's GET stream. No MCP logic lives here. */
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include "crypto/crypto.h"
#include "gateway.h"

#define HTTP_PATH "/mcp"
#define HTTP_TIMEOUT_S 600      /* an idle keep-alive connection is closed after this */
#define SSE_WRITE_TIMEOUT_S 60  /* an SSE client that takes nothing this long is cut off */
#define KEEPALIVE_S 15          /* a comment on every open SSE stream this often */
#define DEFAULT_MAX_SESSIONS 32 /* every session runs its own server sandboxes */
#define DEFAULT_PER_AGENT 8     /* sessions of one agent */
#define DEFAULT_IDLE_S 1800     /* a session without a POST this long is ended */
/* Resumability (Last-Event-ID): what a session keeps of the events it sent on its SSE streams,
 * so a client that lost a stream gets the rest on a GET. Oldest first out, across the session's
 * streams; docs/gateway.md states these bounds. */
#define RESUME_EVENTS_MAX 256       /* events a session keeps */
#define RESUME_BYTES_MAX (8u << 20) /* bytes of them */
#define RESUME_STREAMS_MAX 64       /* streams a session remembers (ended ones go first) */

struct token {
    char agent[SB_GW_MAX_NAME + 1];
    uint8_t hash[32];
};

struct preq; /* a POST waiting for its answer */
struct sess;

/* An SSE stream of a session: the GET stream (id 0) or one POST's answer (ids from 1). Its
 * events are numbered from 1 and sent with the id "STREAM-EVENT"; the stream outlives its
 * connection, so the client can pick it up again with Last-Event-ID. */
struct stream {
    struct stream *next;
    struct sess *s;
    uint32_t id;
    uint64_t seq;               /* the last event's number */
    uint64_t lost;              /* events up to this number are no longer kept */
    bool done;                  /* its answer went out: a resumed stream ends after the replay */
    bool waiting;               /* a POST's answer is still to come */
    struct evhttp_request *req; /* the connection it is written to now (NULL: none) */
};

/* One event kept for a replay (the JSON-RPC message, no newline). */
struct sse_ev {
    struct sse_ev *next;
    struct stream *st;
    uint64_t seq;
    size_t len;
    char data[];
};

struct sess {
    sb_gw_http *h;
    struct sess *next;
    char id[SB_GW_SESSION_ID_LEN + 1];
    char tag[17]; /* first 8 bytes of SHA-256(id) in hex: names the session in logs and audit */
    size_t agent; /* index into h->tokens */
    sb_gw *gw;
    char version[16]; /* negotiated; empty until initialize was answered */
    bool ready;       /* the id was issued with a successful initialize result */
    bool dead;
    struct preq *reqs;
    struct stream *streams;
    size_t n_streams;
    uint32_t next_stream;
    struct stream *get;               /* the GET stream, once one was opened */
    struct sse_ev *ev_head, *ev_tail; /* what a replay can send, oldest first */
    size_t ev_n, ev_bytes;
    struct sb_gw_evset ev; /* the engine's descriptors and deadline on h->base */
    /* relayed server requests (sampling, ...) waiting for the GET stream to open */
    char *held[SB_GW_RELAY_MAX];
    size_t held_len[SB_GW_RELAY_MAX], n_held;
    uint64_t last_ns;
};

struct preq {
    struct preq *next;
    struct sess *s;
    json_t *id;
    json_t *progress;           /* the request's _meta.progressToken */
    struct evhttp_request *req; /* a JSON answer's; NULL once the client is gone (dropped) */
    struct stream *st;          /* an SSE answer's stream */
    bool init;
};

struct sb_gw_http {
    struct sb_gw_http_opts o;
    sb_gw_policy *policy;
    bool policy_borrowed; /* engine.policy of a host */
    struct token *tokens;
    size_t n_tokens;
    char (*origins)[SB_GW_ORIGIN_MAX];
    size_t n_origins;
    char self[3]
             [SB_GW_ORIGIN_MAX]; /* a loopback listener's own origins (localhost, 127.0.0.1, ::1) */
    size_t n_self;
    bool cors; /* "cors": CORS headers for pages of http.allowed_origins */
    unsigned max_sessions, per_agent;
    uint64_t idle_ns;
    struct event_base *base;
    struct evhttp *http;
    sb_tls_server *tls;
    struct event *stop_ev, *tick, *reaper;
    struct sess *sessions, *dead;
    size_t n_sessions;
    struct sb_gw_http_stats st;
};

SB_PRINTF(3, 4) static void hlog(sb_gw_http *h, enum sb_log_level lvl, const char *fmt, ...) {
    if (!h->o.engine.log) return;
    char buf[768];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    h->o.engine.log(h->o.engine.log_ctx, lvl, buf);
}

/* ---- configuration: the "http" section ------------------------------------------------------ */

static int parse_hash(const char *s, uint8_t out[32], const char *agent, sb_error *err) {
    ENSURE(s && strncmp(s, "sha256:", 7) == 0 && strlen(s) == 7 + 64, err, SB_E_MALFORMED,
           "http.tokens.%.64s: must be \"sha256:\" + 64 hex digits (sealbox gateway token)", agent);
    for (size_t i = 0; i < 32; i++) {
        unsigned v = 0;
        for (size_t j = 0; j < 2; j++) {
            char c = s[7 + 2 * i + j];
            unsigned d = c >= '0' && c <= '9'   ? (unsigned)(c - '0')
                         : c >= 'a' && c <= 'f' ? (unsigned)(c - 'a' + 10)
                         : c >= 'A' && c <= 'F' ? (unsigned)(c - 'A' + 10)
                                                : 16u;
            ENSURE(d < 16, err, SB_E_MALFORMED, "http.tokens.%.64s: '%c' is not a hex digit", agent,
                   c);
            v = v * 16 + d;
        }
        out[i] = (uint8_t)v;
    }
    return 0;
}

static int parse_count(json_t *v, const char *name, uint64_t max, uint64_t *out, sb_error *err) {
    if (!v) return 0;
    ENSURE(json_is_integer(v) && json_integer_value(v) >= 1 &&
               (uint64_t)json_integer_value(v) <= max,
           err, SB_E_MALFORMED, "http.%s: must be an integer from 1 to %llu", name,
           (unsigned long long)max);
    *out = (uint64_t)json_integer_value(v);
    return 0;
}

static int parse_http_config(sb_gw_http *h, const json_t *root, sb_error *err) {
    json_t *http = json_object_get(root, "http");
    ENSURE(json_is_object(http), err, SB_E_MALFORMED,
           "http: missing or not an object (the bearer tokens of the agents; docs/gateway.md)");
    const char *k;
    json_t *v;
    json_object_foreach(http, k, v) {
        if (strcmp(k, "tokens") && strcmp(k, "allowed_origins") && strcmp(k, "max_sessions") &&
            strcmp(k, "max_sessions_per_agent") && strcmp(k, "session_idle_s") &&
            strcmp(k, "cors") && strcmp(k, "description"))
            BAIL(err, SB_E_MALFORMED, "http.%.64s: unknown member", k);
    }
    json_t *tokens = json_object_get(http, "tokens");
    ENSURE(json_is_object(tokens) && json_object_size(tokens) > 0, err, SB_E_MALFORMED,
           "http.tokens: must be an object of agent name -> \"sha256:...\"");
    ENSURE(json_object_size(tokens) <= SB_GW_MAX_AGENTS, err, SB_E_LIMIT,
           "http.tokens: over %d agents", SB_GW_MAX_AGENTS);
    h->tokens = calloc(json_object_size(tokens), sizeof(*h->tokens));
    if (!h->tokens) BAIL(err, SB_E_INTERNAL, "out of memory");
    json_object_foreach(tokens, k, v) {
        ENSURE(strlen(k) <= SB_GW_MAX_NAME, err, SB_E_LIMIT,
               "http.tokens: an agent name is over %d bytes", SB_GW_MAX_NAME);
        ENSURE(sb_gw_policy_has_agent(h->policy, k), err, SB_E_MALFORMED,
               "http.tokens.%.64s: no such agent in \"agents\"", k);
        struct token *t = &h->tokens[h->n_tokens];
        TRY(parse_hash(json_string_value(v), t->hash, k, err));
        for (size_t i = 0; i < h->n_tokens; i++)
            ENSURE(!sb_ct_equal(h->tokens[i].hash, t->hash, 32), err, SB_E_MALFORMED,
                   "http.tokens.%.64s: the same token as agent %.64s", k, h->tokens[i].agent);
        snprintf(t->agent, sizeof(t->agent), "%s", k);
        h->n_tokens++;
    }
    json_t *orig = json_object_get(http, "allowed_origins");
    if (orig) {
        ENSURE(json_is_array(orig), err, SB_E_MALFORMED,
               "http.allowed_origins: must be an array of \"scheme://host[:port]\"");
        ENSURE(json_array_size(orig) <= SB_GW_HTTP_ORIGINS_MAX, err, SB_E_LIMIT,
               "http.allowed_origins: over %d entries", SB_GW_HTTP_ORIGINS_MAX);
        h->origins = calloc(json_array_size(orig) + 1, sizeof(*h->origins));
        if (!h->origins) BAIL(err, SB_E_INTERNAL, "out of memory");
        size_t i;
        json_array_foreach(orig, i, v) {
            const char *s = json_string_value(v);
            sb_error e = {0};
            if (!s ||
                sb_gw_http_origin(s, strlen(s), h->origins[h->n_origins], SB_GW_ORIGIN_MAX, &e) < 0)
                BAIL(err, SB_E_MALFORMED, "http.allowed_origins[%zu]: %s", i,
                     s ? e.msg : "must be a string");
            h->n_origins++;
        }
    }
    json_t *cors = json_object_get(http, "cors");
    ENSURE(!cors || json_is_boolean(cors), err, SB_E_MALFORMED, "http.cors: must be true or false");
    h->cors = json_is_true(cors);
    ENSURE(!h->cors || h->n_origins > 0, err, SB_E_MALFORMED,
           "http.cors: true needs http.allowed_origins (the origins whose pages may call the "
           "gateway; there is no \"*\")");
    uint64_t ms = DEFAULT_MAX_SESSIONS, pa = DEFAULT_PER_AGENT, idle = DEFAULT_IDLE_S;
    TRY(parse_count(json_object_get(http, "max_sessions"), "max_sessions", SB_GW_HTTP_SESSIONS_MAX,
                    &ms, err));
    TRY(parse_count(json_object_get(http, "max_sessions_per_agent"), "max_sessions_per_agent",
                    SB_GW_HTTP_SESSIONS_MAX, &pa, err));
    TRY(parse_count(json_object_get(http, "session_idle_s"), "session_idle_s", 7 * 86400, &idle,
                    err));
    h->max_sessions = (unsigned)ms;
    h->per_agent = (unsigned)pa;
    h->idle_ns = idle * 1000000000ull;
    return 0;
}

int sb_gw_http_token_new(char **token, char hash[72], sb_error *err) {
    uint8_t raw[32], d[32];
    TRY(sb_random(raw, sizeof(raw), err));
    char *b = sb_base64url_encode(raw, sizeof(raw));
    explicit_bzero(raw, sizeof(raw));
    if (!b) BAIL(err, SB_E_INTERNAL, "out of memory");
    size_t n = strlen(b) + 6;
    char *t = malloc(n);
    if (!t) {
        free(b);
        BAIL(err, SB_E_INTERNAL, "out of memory");
    }
    snprintf(t, n, "sbgw_%s", b);
    explicit_bzero(b, strlen(b));
    free(b);
    int rc = sb_hash(SB_HASH_SHA256, t, strlen(t), d, err);
    if (rc < 0) {
        explicit_bzero(t, strlen(t));
        free(t);
        return rc;
    }
    memcpy(hash, "sha256:", 7);
    sb_hex_encode(d, 32, hash + 7);
    *token = t;
    return 0;
}

/* ---- replies ------------------------------------------------------------------------------ */

static void common_headers(struct evhttp_request *req, const char *ctype) {
    struct evkeyvalq *h = evhttp_request_get_output_headers(req);
    (void)evhttp_add_header(h, "Content-Type", ctype);
    (void)evhttp_add_header(h, "Cache-Control", "no-store");
    (void)evhttp_add_header(h, "X-Content-Type-Options", "nosniff");
}

static void send_raw(struct evhttp_request *req, int status, const char *body, size_t len) {
    struct evbuffer *b = evbuffer_new();
    if (b && len) (void)evbuffer_add(b, body, len);
    /* always typed: evhttp would otherwise label even an empty 202 text/html */
    common_headers(req, "application/json");
    evhttp_send_reply(req, status, NULL, b);
    if (b) evbuffer_free(b);
}

/* An HTTP-level refusal: the status, with a JSON-RPC error body naming what was wrong. */
SB_PRINTF(5, 6)
static void http_fail(struct evhttp_request *req, int status, int code, json_t *id, const char *fmt,
                      ...) {
    char msg[600];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    struct evkeyvalq *hd = evhttp_request_get_output_headers(req);
    if (status == 401)
        (void)evhttp_add_header(hd, "WWW-Authenticate", "Bearer realm=\"sealbox-gateway\"");
    if (status == 405) (void)evhttp_add_header(hd, "Allow", "GET, POST, DELETE");
    json_t *e = sb_rpc_error(id, code, msg, NULL);
    char *s = NULL;
    size_t len = 0;
    sb_error err = {0};
    if (e && sb_rpc_dump(e, SB_RPC_MSG_MAX, &s, &len, &err) == 0)
        send_raw(req, status, s, len);
    else
        send_raw(req, status, NULL, 0);
    free(s);
    json_decref(e);
}

/* One event; with an id when stream is not NULL. */
static void sse_write(struct evhttp_request *req, const struct stream *st, uint64_t seq,
                      const char *line, size_t len) {
    if (!req || !evhttp_request_get_connection(req)) return;
    struct evbuffer *b = evbuffer_new();
    if (!b) return;
    if (st) (void)evbuffer_add_printf(b, "id: %u-%llu\n", st->id, (unsigned long long)seq);
    (void)evbuffer_add(b, "event: message\ndata: ", 21);
    (void)evbuffer_add(b, line, len);
    (void)evbuffer_add(b, "\n\n", 2);
    evhttp_send_reply_chunk(req, b);
    evbuffer_free(b);
}

static void sse_comment(struct evhttp_request *req, const char *text) {
    if (!req || !evhttp_request_get_connection(req)) return;
    struct evbuffer *b = evbuffer_new();
    if (!b) return;
    (void)evbuffer_add_printf(b, ": %s\n\n", text);
    evhttp_send_reply_chunk(req, b);
    evbuffer_free(b);
}

static void sse_start(struct evhttp_request *req, struct sess *s,
                      void (*on_close)(struct evhttp_connection *, void *), void *close_arg) {
    common_headers(req, "text/event-stream");
    if (s) (void)evhttp_add_header(evhttp_request_get_output_headers(req), "Mcp-Session-Id", s->id);
    struct evhttp_connection *evcon = evhttp_request_get_connection(req);
    if (evcon) {
        struct timeval wt = {SSE_WRITE_TIMEOUT_S, 0};
        (void)bufferevent_set_timeouts(evhttp_connection_get_bufferevent(evcon), NULL, &wt);
        evhttp_connection_set_closecb(evcon, on_close, close_arg);
    }
    evhttp_send_reply_start(req, 200, NULL);
}

static void sse_end(struct evhttp_request *req) {
    struct evhttp_connection *evcon = evhttp_request_get_connection(req);
    if (evcon) {
        evhttp_connection_set_closecb(evcon, NULL, NULL);
        evhttp_connection_set_timeout(evcon, HTTP_TIMEOUT_S);
    }
    evhttp_send_reply_end(req);
}

/* ---- sessions ---------------------------------------------------------------------------------
 */

static void preq_free(struct preq *p) {
    json_decref(p->id);
    json_decref(p->progress);
    free(p);
}

static void preq_unlink(struct sess *s, struct preq *p) {
    for (struct preq **pp = &s->reqs; *pp; pp = &(*pp)->next)
        if (*pp == p) {
            *pp = p->next;
            return;
        }
}

/* The client of a stream went away: evhttp frees the connection; the request is still ours.
 * The stream goes on without it (its events are kept for a Last-Event-ID), and a POST's answer
 * still comes: a disconnect is not a cancel. */
static void on_stream_close(struct evhttp_connection *evcon, void *arg) {
    (void)evcon;
    struct stream *st = arg;
    if (st->req) evhttp_send_reply_end(st->req); /* without a connection this frees it */
    st->req = NULL;
}

/* Forgets the close callback of a stream we end ourselves. */
static void unhook(struct evhttp_request *req) {
    struct evhttp_connection *evcon = req ? evhttp_request_get_connection(req) : NULL;
    if (evcon) evhttp_connection_set_closecb(evcon, NULL, NULL);
}

/* Drops the oldest kept event. */
static void ev_drop_head(struct sess *s) {
    struct sse_ev *e = s->ev_head;
    if (!e) return;
    s->ev_head = e->next;
    if (!s->ev_head) s->ev_tail = NULL;
    s->ev_n--;
    s->ev_bytes -= e->len;
    if (e->seq > e->st->lost) e->st->lost = e->seq;
    free(e);
}

/* Keeps an event for a replay, making room oldest first. */
static void ev_keep(struct stream *st, uint64_t seq, const char *line, size_t len) {
    struct sess *s = st->s;
    if (len > RESUME_BYTES_MAX) {
        st->lost = seq;
        return;
    }
    while (s->ev_head && (s->ev_n >= RESUME_EVENTS_MAX || s->ev_bytes + len > RESUME_BYTES_MAX))
        ev_drop_head(s);
    struct sse_ev *e = malloc(sizeof(*e) + len);
    if (!e) {
        st->lost = seq;
        return;
    }
    *e = (struct sse_ev){.st = st, .seq = seq, .len = len};
    memcpy(e->data, line, len);
    if (s->ev_tail)
        s->ev_tail->next = e;
    else
        s->ev_head = e;
    s->ev_tail = e;
    s->ev_n++;
    s->ev_bytes += len;
}

/* Forgets a stream and its kept events; its connection, if any, ends. */
static void stream_free(struct stream *st) {
    struct sess *s = st->s;
    for (struct sse_ev **pp = &s->ev_head, *prev = NULL; *pp;) {
        struct sse_ev *e = *pp;
        if (e->st != st) {
            prev = e;
            pp = &e->next;
            continue;
        }
        *pp = e->next;
        if (s->ev_tail == e) s->ev_tail = prev;
        s->ev_n--;
        s->ev_bytes -= e->len;
        free(e);
    }
    for (struct stream **pp = &s->streams; *pp; pp = &(*pp)->next)
        if (*pp == st) {
            *pp = st->next;
            break;
        }
    s->n_streams--;
    if (s->get == st) s->get = NULL;
    if (st->req) {
        unhook(st->req);
        sse_end(st->req);
    }
    free(st);
}

/* A new stream; beyond RESUME_STREAMS_MAX the oldest one that ended (and has no connection)
 * is forgotten. */
static struct stream *stream_new(struct sess *s, uint32_t id) {
    if (s->n_streams >= RESUME_STREAMS_MAX) {
        struct stream *old = NULL;
        for (struct stream *st = s->streams; st; st = st->next)
            if (st->done && !st->req) old = st; /* the list is newest first */
        if (old) stream_free(old);
    }
    struct stream *st = calloc(1, sizeof(*st));
    if (!st) return NULL;
    st->s = s;
    st->id = id;
    st->next = s->streams;
    s->streams = st;
    s->n_streams++;
    return st;
}

/* Sends one message on a stream (kept for a replay whether or not a client reads it now); a
 * final one (a POST's answer) ends the stream. */
static void stream_send(struct stream *st, const char *line, size_t len, bool final) {
    while (len && (line[len - 1] == '\n' || line[len - 1] == '\r'))
        len--;
    uint64_t seq = ++st->seq;
    ev_keep(st, seq, line, len);
    if (st->req) sse_write(st->req, st, seq, line, len);
    if (!final) return;
    st->done = true;
    st->waiting = false;
    if (st->req) {
        unhook(st->req);
        sse_end(st->req);
        st->req = NULL;
    }
}

/* The spec's priming event (an id, empty data) tells the client the stream can be resumed;
 * clients before 2025-11-25 would take the empty data for a message, so they get none. */
static void stream_prime(struct stream *st, const char *version) {
    if (!st->req || strcmp(version, "2025-11-25") < 0) return;
    struct evbuffer *b = evbuffer_new();
    if (!b) return;
    (void)evbuffer_add_printf(b, "id: %u-%llu\ndata: \n\n", st->id, (unsigned long long)st->seq);
    evhttp_send_reply_chunk(st->req, b);
    evbuffer_free(b);
}

static void sess_free(struct sess *s) {
    sb_gw_evset_clear(&s->ev);
    if (s->ev.timer) event_free(s->ev.timer);
    while (s->reqs) {
        struct preq *p = s->reqs;
        s->reqs = p->next;
        if (p->req) http_fail(p->req, 404, SB_RPC_SERVER_GONE, p->id, "the session ended");
        preq_free(p);
    }
    while (s->streams)
        stream_free(s->streams);
    for (size_t i = 0; i < s->n_held; i++)
        free(s->held[i]);
    if (s->gw) {
        struct sb_gw_stats st;
        sb_gw_get_stats(s->gw, &st);
        hlog(s->h, SB_LOG_INFO,
             "session %s (%s) ended: %llu agent messages (%llu refused), %llu tool calls", s->tag,
             s->h->tokens[s->agent].agent, (unsigned long long)st.agent_msgs,
             (unsigned long long)st.agent_rejected, (unsigned long long)st.calls);
    }
    sb_gw_free(s->gw);
    free(s);
}

/* Takes the session out of service now (lookups fail with 404); it is freed outside any engine
 * callback. */
static void sess_kill(struct sess *s) {
    if (s->dead) return;
    sb_gw_http *h = s->h;
    for (struct sess **pp = &h->sessions; *pp; pp = &(*pp)->next)
        if (*pp == s) {
            *pp = s->next;
            break;
        }
    h->n_sessions--;
    h->st.sessions_closed++;
    s->dead = true;
    s->next = h->dead;
    h->dead = s;
    event_active(h->reaper, EV_TIMEOUT, 0);
}

static void on_reap(evutil_socket_t fd, short what, void *arg) {
    (void)fd, (void)what;
    sb_gw_http *h = arg;
    while (h->dead) {
        struct sess *s = h->dead;
        h->dead = s->next;
        sess_free(s);
    }
}

static void sess_sync(struct sess *s);

static void sess_pump(struct sess *s) {
    if (s->dead) return;
    sb_error err = {0};
    if (sb_gw_pump(s->gw, &err) < 0) {
        hlog(s->h, SB_LOG_WARN, "session %s: %s", s->tag, err.msg);
        sess_kill(s);
        return;
    }
    sess_sync(s);
}

static void on_fd(evutil_socket_t fd, short what, void *arg) {
    (void)fd, (void)what;
    sess_pump(arg);
}

void sb_gw_evset_sync(struct sb_gw_evset *es, const sb_gw *gw, struct event_base *base,
                      void (*cb)(int, short, void *), void *arg) {
    struct pollfd pf[2 * SB_GW_SERVERS_MAX];
    int to = -1;
    size_t n = sb_gw_poll_fds(gw, pf, SB_ARRAY_LEN(pf), &to);
    for (size_t i = 0; i < es->n_reg;) {
        bool want = false;
        for (size_t j = 0; j < n && !want; j++)
            want = pf[j].fd == es->reg[i].fd &&
                   (pf[j].events & POLLIN ? EV_READ : EV_WRITE) == es->reg[i].what;
        if (want) {
            i++;
            continue;
        }
        event_free(es->reg[i].ev);
        es->reg[i] = es->reg[--es->n_reg];
    }
    for (size_t j = 0; j < n; j++) {
        short what = pf[j].events & POLLIN ? EV_READ : EV_WRITE;
        bool have = false;
        for (size_t i = 0; i < es->n_reg && !have; i++)
            have = es->reg[i].fd == pf[j].fd && es->reg[i].what == what;
        if (have || es->n_reg == SB_ARRAY_LEN(es->reg)) continue;
        struct event *ev = event_new(base, pf[j].fd, (short)(what | EV_PERSIST), cb, arg);
        if (!ev || event_add(ev, NULL) < 0) {
            if (ev) event_free(ev);
            continue;
        }
        es->reg[es->n_reg++] = (struct sb_gw_evreg){pf[j].fd, what, ev};
    }
    if (to >= 0) {
        struct timeval tv = {to / 1000, (to % 1000) * 1000};
        (void)evtimer_add(es->timer, &tv);
    } else {
        (void)evtimer_del(es->timer);
    }
}

void sb_gw_evset_clear(struct sb_gw_evset *es) {
    for (size_t i = 0; i < es->n_reg; i++)
        event_free(es->reg[i].ev);
    es->n_reg = 0;
}

/* Registers exactly the descriptors (and the deadline) the engine waits on. */
static void sess_sync(struct sess *s) {
    if (s->dead) return;
    sb_gw_evset_sync(&s->ev, s->gw, s->h->base, on_fd, s);
}

static void on_timer(evutil_socket_t fd, short what, void *arg) {
    (void)fd, (void)what;
    sess_pump(arg);
}

static struct preq *find_preq(struct sess *s, const json_t *id) {
    for (struct preq *p = s->reqs; p; p = p->next)
        if (id && json_equal(p->id, id)) return p;
    return NULL;
}

/* What the engine sends the agent: a response goes to the POST that asked, a notification to
 * the SSE stream of the request it concerns (progress) or else to the GET stream. */
static int agent_out(void *ctx, const char *line, size_t len) {
    struct sess *s = ctx;
    json_t *m = json_loadb(line, len, 0, NULL); /* the engine's own output */
    if (!m) return 0;
    json_t *id = json_object_get(m, "id");
    json_t *result = json_object_get(m, "result");
    if (result || json_object_get(m, "error")) {
        struct preq *p = find_preq(s, id);
        if (!p) {
            json_decref(m);
            return 0;
        }
        preq_unlink(s, p);
        if (p->init) {
            const char *v = json_string_value(json_object_get(result, "protocolVersion"));
            if (v) {
                snprintf(s->version, sizeof(s->version), "%s", v);
                s->ready = true;
                hlog(s->h, SB_LOG_INFO, "session %s (%s): initialized, protocol %s", s->tag,
                     s->h->tokens[s->agent].agent, v);
            }
        }
        if (p->st) {
            stream_send(p->st, line, len, true);
        } else if (p->req) {
            if (p->init && s->ready)
                (void)evhttp_add_header(evhttp_request_get_output_headers(p->req), "Mcp-Session-Id",
                                        s->id);
            /* a refused initialize is a client error: no session is issued */
            send_raw(p->req, p->init && !s->ready ? 400 : 200, line, len);
        }
        if (p->init && !s->ready) sess_kill(s);
        preq_free(p);
        json_decref(m);
        return 0;
    }
    struct stream *to = NULL;
    json_t *tok = json_object_get(json_object_get(m, "params"), "progressToken");
    if (tok)
        for (struct preq *p = s->reqs; p && !to; p = p->next)
            if (p->st && p->progress && json_equal(p->progress, tok)) to = p->st;
    if (!to) to = s->get; /* kept for a replay even while its client is away */
    bool request = id && json_object_get(m, "method");
    json_decref(m);
    if (to) {
        stream_send(to, line, len, false);
    } else if (request) {
        /* a server's request relayed to the agent: it goes on the GET stream, kept until the
         * client opens it (the SDK does right after notifications/initialized) */
        char *c = s->n_held < SB_GW_RELAY_MAX ? malloc(len) : NULL;
        if (!c) return 1; /* the engine refuses it to its server */
        memcpy(c, line, len);
        s->held[s->n_held] = c;
        s->held_len[s->n_held++] = len;
    } else {
        s->h->st.notifications_dropped++;
    }
    return 0;
}

/* Every engine record, plus where it came from. */
static void audit_cb(void *ctx, json_t *record) {
    struct sess *s = ctx;
    sb_gw_http *h = s->h;
    json_object_set_new(record, "transport", json_string("http"));
    json_object_set_new(record, "session", json_string(s->tag));
    if (h->o.engine.audit)
        h->o.engine.audit(h->o.engine.audit_ctx, record);
    else
        json_decref(record);
}

/* An HTTP-level refusal worth keeping (authentication, origin). */
static void audit_refusal(sb_gw_http *h, const char *agent, int status, const char *reason) {
    if (!h->o.engine.audit) return;
    json_t *r = json_pack("{sssssssssssssi}", "type", "mcp", "transport", "http", "method",
                          "(http)", "decision", "deny", "outcome", "refused", "reason", reason,
                          "http_status", status);
    if (!r) return;
    if (agent) json_object_set_new(r, "agent", json_string(agent));
    h->o.engine.audit(h->o.engine.audit_ctx, r);
}

static int sess_new(sb_gw_http *h, size_t agent, struct sess **out, sb_error *err) {
    size_t mine = 0;
    struct sess *lru = NULL;
    for (struct sess *s = h->sessions; s; s = s->next) {
        if (s->agent != agent) continue;
        mine++;
        if (!s->reqs && sb_gw_in_flight(s->gw) == 0 && (!lru || s->last_ns < lru->last_ns)) lru = s;
    }
    /* an agent over its share loses its own session idle longest (its client gets 404 and
     * re-initializes); beyond the total nobody is evicted for somebody else */
    if (mine >= h->per_agent) {
        ENSURE(lru, err, SB_E_LIMIT,
               "http.max_sessions_per_agent: agent %.64s has %u sessions, all busy",
               h->tokens[agent].agent, h->per_agent);
        hlog(h, SB_LOG_INFO, "session %s (%s): ended for a new one (max_sessions_per_agent)",
             lru->tag, h->tokens[agent].agent);
        sess_kill(lru);
    }
    ENSURE(h->n_sessions < h->max_sessions, err, SB_E_LIMIT,
           "http.max_sessions: %u sessions are open", h->max_sessions);
    struct sess *s = calloc(1, sizeof(*s));
    if (!s) BAIL(err, SB_E_INTERNAL, "out of memory");
    s->h = h;
    s->agent = agent;
    s->last_ns = sb_mono_ns();
    uint8_t raw[32], d[32];
    int rc = sb_random(raw, sizeof(raw), err);
    char *id = rc == 0 ? sb_base64url_encode(raw, sizeof(raw)) : NULL;
    if (rc == 0 && (!id || strlen(id) != SB_GW_SESSION_ID_LEN))
        rc = sb_error_set(err, SB_E_INTERNAL, "session id encoding");
    if (rc == 0) {
        memcpy(s->id, id, SB_GW_SESSION_ID_LEN + 1);
        rc = sb_hash(SB_HASH_SHA256, s->id, SB_GW_SESSION_ID_LEN, d, err);
    }
    free(id);
    if (rc == 0) {
        sb_hex_encode(d, 8, s->tag);
        s->ev.timer = evtimer_new(h->base, on_timer, s);
        if (!s->ev.timer) rc = sb_error_set(err, SB_E_INTERNAL, "out of memory");
    }
    if (rc == 0) {
        struct sb_gw_opts o = h->o.engine;
        o.agent = h->tokens[agent].agent;
        o.policy = h->policy;
        o.agent_out = agent_out;
        o.agent_out_ctx = s;
        o.audit = audit_cb;
        o.audit_ctx = s;
        rc = sb_gw_new(&o, &s->gw, err);
    }
    if (rc == 0) rc = sb_gw_start(s->gw, err);
    if (rc < 0) {
        sess_free(s);
        return rc;
    }
    s->next = h->sessions;
    h->sessions = s;
    h->n_sessions++;
    h->st.sessions_opened++;
    *out = s;
    return 0;
}

static struct sess *find_sess(sb_gw_http *h, const char *id) {
    struct sess *hit = NULL;
    for (struct sess *s = h->sessions; s; s = s->next)
        if (sb_ct_equal(s->id, id, SB_GW_SESSION_ID_LEN)) hit = s;
    return hit;
}

/* ---- requests ------------------------------------------------------------------------------- */

static const char *header(struct evhttp_request *req, const char *name) {
    return evhttp_find_header(evhttp_request_get_input_headers(req), name);
}

/* The agent a bearer token belongs to (every token is compared, in constant time). */
static bool authenticate(sb_gw_http *h, struct evhttp_request *req, size_t *agent, char *why,
                         size_t why_len) {
    const char *a = header(req, "Authorization");
    if (!a) {
        snprintf(why, why_len, "Authorization: missing (Bearer token of an agent)");
        return false;
    }
    size_t off = 0, len = 0;
    sb_error e = {0};
    if (sb_gw_http_bearer(a, strlen(a), &off, &len, &e) < 0) {
        snprintf(why, why_len, "%s", e.msg);
        return false;
    }
    uint8_t d[32];
    if (sb_hash(SB_HASH_SHA256, a + off, len, d, &e) < 0) {
        snprintf(why, why_len, "%s", e.msg);
        return false;
    }
    bool found = false;
    for (size_t i = 0; i < h->n_tokens; i++)
        if (sb_ct_equal(h->tokens[i].hash, d, 32)) {
            *agent = i;
            found = true;
        }
    if (!found) snprintf(why, why_len, "Authorization: the bearer token is not one of http.tokens");
    return found;
}

/* Origin (DNS rebinding): absent is a non-browser client; present must be allowed. */
static bool origin_ok(sb_gw_http *h, struct evhttp_request *req, char *why, size_t why_len) {
    const char *o = header(req, "Origin");
    if (!o) return true;
    char canon[SB_GW_ORIGIN_MAX];
    sb_error e = {0};
    if (sb_gw_http_origin(o, strlen(o), canon, sizeof(canon), &e) < 0) {
        snprintf(why, why_len, "%s", e.msg);
        return false;
    }
    for (size_t i = 0; i < h->n_origins; i++)
        if (strcmp(h->origins[i], canon) == 0) return true;
    for (size_t i = 0; i < h->n_self; i++)
        if (strcmp(h->self[i], canon) == 0) return true;
    snprintf(why, why_len, "Origin: %.200s is not in http.allowed_origins", canon);
    return false;
}

/* A loopback listener answers only requests addressed to a loopback name (DNS rebinding). */
static bool host_ok(sb_gw_http *h, struct evhttp_request *req, char *why, size_t why_len) {
    if (!h->o.loopback) return true;
    const char *v = header(req, "Host");
    bool lo = false;
    sb_error e = {0};
    if (!v) {
        snprintf(why, why_len, "Host: missing");
        return false;
    }
    if (sb_gw_http_host_loopback(v, strlen(v), &lo, &e) < 0) {
        snprintf(why, why_len, "%s", e.msg);
        return false;
    }
    if (!lo)
        snprintf(why, why_len, "Host: %.200s is not a loopback name on a loopback listener", v);
    return lo;
}

/* The session a request names: NULL after answering 400 (missing, malformed) or 404 (unknown,
 * ended, or another agent's — indistinguishable on purpose). */
static struct sess *session_of(sb_gw_http *h, struct evhttp_request *req, size_t agent) {
    const char *sid = header(req, "Mcp-Session-Id");
    if (!sid) {
        http_fail(req, 400, SB_RPC_SERVER_GONE, NULL,
                  "Mcp-Session-Id: header required (initialize first)");
        return NULL;
    }
    sb_error e = {0};
    if (sb_gw_http_session_id(sid, strlen(sid), &e) < 0) {
        http_fail(req, 400, SB_RPC_SERVER_GONE, NULL, "%s", e.msg);
        return NULL;
    }
    struct sess *s = find_sess(h, sid);
    if (!s || s->agent != agent || !s->ready) {
        h->st.unknown_session++;
        http_fail(req, 404, SB_RPC_SERVER_GONE, NULL,
                  "Mcp-Session-Id: no such session (it ended, or never existed): initialize "
                  "again");
        return NULL;
    }
    return s;
}

/* MCP-Protocol-Version after initialize: one the gateway speaks (the spec's rule: invalid or
 * unsupported is 400; a different supported one is accepted, as the reference SDK does). Absent
 * is tolerated only for 2025-03-26 sessions, whose clients did not know the header. */
static bool version_ok(struct sess *s, struct evhttp_request *req) {
    const char *v = header(req, "MCP-Protocol-Version");
    if (!v) {
        if (strcmp(s->version, "2025-03-26") == 0) return true;
        http_fail(req, 400, SB_RPC_INVALID_REQUEST, NULL,
                  "MCP-Protocol-Version: header required (this session negotiated %s)", s->version);
        return false;
    }
    const char *ver = NULL;
    sb_error e = {0};
    if (sb_gw_http_version(v, strlen(v), &ver, &e) < 0) {
        http_fail(req, 400, SB_RPC_INVALID_REQUEST, NULL, "%s", e.msg);
        return false;
    }
    return true;
}

static bool accept_of(struct evhttp_request *req, unsigned *acc) {
    const char *a = header(req, "Accept");
    sb_error e = {0};
    if (!a) {
        *acc = SB_GW_ACCEPT_JSON | SB_GW_ACCEPT_SSE; /* no Accept: anything */
        return true;
    }
    if (sb_gw_http_accept(a, strlen(a), acc, &e) < 0) {
        http_fail(req, 400, SB_RPC_INVALID_REQUEST, NULL, "%s", e.msg);
        return false;
    }
    return true;
}

static void handle_post(sb_gw_http *h, struct evhttp_request *req, size_t agent) {
    unsigned acc = 0;
    if (!accept_of(req, &acc)) return;
    if (!(acc & (SB_GW_ACCEPT_JSON | SB_GW_ACCEPT_SSE))) {
        http_fail(req, 406, SB_RPC_INVALID_REQUEST, NULL,
                  "Accept: must allow application/json and text/event-stream");
        return;
    }
    const char *ct = header(req, "Content-Type");
    if (!ct || strncasecmp(ct, "application/json", 16) != 0 ||
        (ct[16] != 0 && ct[16] != ';' && ct[16] != ' ')) {
        http_fail(req, 415, SB_RPC_INVALID_REQUEST, NULL, "Content-Type: must be application/json");
        return;
    }
    struct evbuffer *in = evhttp_request_get_input_buffer(req);
    size_t n = evbuffer_get_length(in);
    sb_gw_limits lim;
    uint64_t max = SB_RPC_MSG_MAX;
    if (sb_gw_policy_limits(h->policy, h->tokens[agent].agent, NULL, NULL, &lim) == 0 &&
        lim.max_request_bytes && lim.max_request_bytes < max)
        max = lim.max_request_bytes;
    if (n > max) {
        http_fail(req, 413, SB_RPC_INVALID_REQUEST, NULL,
                  "body: %zu bytes, over agents.%.64s.limits.max_request_bytes (%llu)", n,
                  h->tokens[agent].agent, (unsigned long long)max);
        return;
    }
    const uint8_t *body = n ? evbuffer_pullup(in, (ssize_t)n) : (const uint8_t *)"";
    if (!body) {
        http_fail(req, 500, SB_RPC_INTERNAL, NULL, "out of memory");
        return;
    }
    sb_rpc_msg m;
    int code = 0;
    json_t *rid = NULL;
    sb_error e = {0};
    if (sb_rpc_parse(body, n, &m, &code, &rid, &e) < 0) {
        http_fail(req, 400, code, rid, "body: %s", e.msg);
        json_decref(rid);
        return;
    }
    json_decref(rid);
    struct sess *s = NULL;
    bool init = m.kind == SB_RPC_REQUEST && strcmp(m.method, "initialize") == 0 &&
                !header(req, "Mcp-Session-Id");
    if (init) {
        const char *v = header(req, "MCP-Protocol-Version");
        const char *ver = NULL;
        if (v && sb_gw_http_version(v, strlen(v), &ver, &e) < 0) {
            http_fail(req, 400, SB_RPC_INVALID_REQUEST, m.id, "%s", e.msg);
            goto out;
        }
        if (sess_new(h, agent, &s, &e) < 0) {
            http_fail(req, e.code == SB_E_LIMIT ? 503 : 500, SB_RPC_INTERNAL, m.id, "%s", e.msg);
            goto out;
        }
    } else {
        s = session_of(h, req, agent);
        if (!s || !version_ok(s, req)) goto out;
    }
    s->last_ns = sb_mono_ns();
    struct preq *p = NULL;
    if (m.kind == SB_RPC_REQUEST) {
        if (find_preq(s, m.id)) {
            http_fail(req, 409, SB_RPC_INVALID_REQUEST, m.id,
                      "id: a request with this id is still in flight in this session");
            goto out;
        }
        p = calloc(1, sizeof(*p));
        if (!p) {
            http_fail(req, 500, SB_RPC_INTERNAL, m.id, "out of memory");
            goto out;
        }
        p->s = s;
        p->id = json_incref(m.id);
        json_t *tok = json_object_get(json_object_get(m.params, "_meta"), "progressToken");
        p->progress = json_incref(tok);
        p->req = req;
        p->init = init;
        /* JSON unless the client takes only SSE, or a stream is useful: progress comes back
         * on it while the call runs (and --sse asks for streams always) */
        bool sse = (acc & SB_GW_ACCEPT_SSE) &&
                   (!(acc & SB_GW_ACCEPT_JSON) || (tok && !init) || h->o.prefer_sse);
        if (sse) {
            p->st = stream_new(s, ++s->next_stream);
            if (!p->st) {
                preq_free(p);
                http_fail(req, 500, SB_RPC_INTERNAL, m.id, "out of memory");
                goto out;
            }
            p->req = NULL;
            p->st->waiting = true;
            p->st->req = req;
            sse_start(req, init ? s : NULL, on_stream_close, p->st);
            if (!init) stream_prime(p->st, s->version);
        }
        p->next = s->reqs;
        s->reqs = p;
    }
    if (sb_gw_agent_rpc(s->gw, &m, n, &e) < 0)
        hlog(h, SB_LOG_WARN, "session %s: %s", s->tag, e.msg);
    if (!p) send_raw(req, 202, NULL, 0); /* a notification or a response: accepted */
    /* one round at once: what the engine queued toward a server is written now, not after
     * another trip through the event loop (and a write event registered and dropped) */
    sess_pump(s);
out:
    sb_rpc_msg_clear(&m);
}

/* GET with Last-Event-ID: the rest of that stream — what it sent after that event (as much as
 * is kept), then whatever comes; a stream whose answer already went out ends after the replay.
 * Another connection still on that stream is ended: the newest client has it. */
static void resume(sb_gw_http *h, struct sess *s, struct evhttp_request *req, const char *lei) {
    uint32_t id = 0;
    uint64_t after = 0;
    sb_error e = {0};
    if (sb_gw_http_event_id(lei, strlen(lei), &id, &after, &e) < 0) {
        http_fail(req, 400, SB_RPC_INVALID_REQUEST, NULL, "%s", e.msg);
        return;
    }
    struct stream *st = s->streams;
    while (st && st->id != id)
        st = st->next;
    if (!st || after > st->seq) {
        http_fail(req, 400, SB_RPC_INVALID_REQUEST, NULL,
                  "Last-Event-ID: %u-%llu is not an event of this session (a stream it no longer "
                  "remembers, or never sent)",
                  id, (unsigned long long)after);
        return;
    }
    if (st->req) {
        unhook(st->req);
        sse_end(st->req);
        st->req = NULL;
    }
    h->st.streams_resumed++;
    sse_start(req, NULL, on_stream_close, st);
    if (st->lost > after) {
        char note[160];
        snprintf(note, sizeof(note),
                 "events %llu to %llu of this stream are no longer kept (at most %u events, "
                 "%u MiB per session)",
                 (unsigned long long)after + 1, (unsigned long long)st->lost,
                 (unsigned)RESUME_EVENTS_MAX, RESUME_BYTES_MAX >> 20);
        sse_comment(req, note);
        h->st.events_lost += st->lost - after;
    }
    for (struct sse_ev *ev = s->ev_head; ev; ev = ev->next)
        if (ev->st == st && ev->seq > after) sse_write(req, st, ev->seq, ev->data, ev->len);
    if (st->done) {
        unhook(req);
        sse_end(req);
        return;
    }
    st->req = req;
}

static void handle_get(sb_gw_http *h, struct evhttp_request *req, size_t agent) {
    unsigned acc = 0;
    if (!accept_of(req, &acc)) return;
    if (!(acc & SB_GW_ACCEPT_SSE)) {
        http_fail(req, 406, SB_RPC_INVALID_REQUEST, NULL,
                  "Accept: a GET stream needs text/event-stream");
        return;
    }
    struct sess *s = session_of(h, req, agent);
    if (!s || !version_ok(s, req)) return;
    const char *lei = header(req, "Last-Event-ID");
    if (lei) {
        resume(h, s, req, lei);
        return;
    }
    if (s->get && s->get->req) {
        http_fail(req, 409, SB_RPC_INVALID_REQUEST, NULL,
                  "GET: this session already has its stream open");
        return;
    }
    if (!s->get) s->get = stream_new(s, 0);
    if (!s->get) {
        http_fail(req, 500, SB_RPC_INTERNAL, NULL, "out of memory");
        return;
    }
    s->get->req = req;
    sse_start(req, NULL, on_stream_close, s->get);
    stream_prime(s->get, s->version);
    for (size_t i = 0; i < s->n_held; i++) {
        stream_send(s->get, s->held[i], s->held_len[i], false);
        free(s->held[i]);
    }
    s->n_held = 0;
}

static void handle_delete(sb_gw_http *h, struct evhttp_request *req, size_t agent) {
    struct sess *s = session_of(h, req, agent);
    if (!s || !version_ok(s, req)) return;
    hlog(h, SB_LOG_INFO, "session %s (%s): ended by the client", s->tag, h->tokens[agent].agent);
    sess_kill(s);
    send_raw(req, 200, NULL, 0);
}

/* CORS (off unless "cors": true): a page of one of http.allowed_origins may read the answers —
 * the Origin it sent is named back (never "*"), Mcp-Session-Id is exposed so it can go on with
 * the session, and a preflight is answered without a token (browsers send none with it). The
 * listener's own origins get nothing: it serves no pages. */
static bool cors_origin(sb_gw_http *h, struct evhttp_request *req) {
    const char *o = header(req, "Origin");
    if (!h->cors || !o) return false;
    char canon[SB_GW_ORIGIN_MAX];
    sb_error e = {0};
    if (sb_gw_http_origin(o, strlen(o), canon, sizeof(canon), &e) < 0) return false;
    for (size_t i = 0; i < h->n_origins; i++)
        if (strcmp(h->origins[i], canon) == 0) return true;
    return false;
}

static void cors_headers(struct evhttp_request *req, bool preflight) {
    struct evkeyvalq *hd = evhttp_request_get_output_headers(req);
    (void)evhttp_add_header(hd, "Access-Control-Allow-Origin", header(req, "Origin"));
    (void)evhttp_add_header(hd, "Vary", "Origin");
    if (!preflight) {
        (void)evhttp_add_header(hd, "Access-Control-Expose-Headers",
                                "Mcp-Session-Id, WWW-Authenticate");
        return;
    }
    (void)evhttp_add_header(hd, "Access-Control-Allow-Methods", "GET, POST, DELETE");
    (void)evhttp_add_header(hd, "Access-Control-Allow-Headers",
                            "Authorization, Content-Type, Accept, Mcp-Session-Id, "
                            "MCP-Protocol-Version, Last-Event-ID");
    (void)evhttp_add_header(hd, "Access-Control-Max-Age", "600");
}

static void on_request(struct evhttp_request *req, void *arg) {
    sb_gw_http *h = arg;
    h->st.requests++;
    const struct evhttp_uri *u = evhttp_request_get_evhttp_uri(req);
    const char *path = u ? evhttp_uri_get_path(u) : NULL;
    char why[600];
    if (!host_ok(h, req, why, sizeof(why))) {
        h->st.refused_origin++;
        audit_refusal(h, NULL, 403, why);
        http_fail(req, 403, SB_RPC_INVALID_REQUEST, NULL, "%s", why);
        return;
    }
    if (!origin_ok(h, req, why, sizeof(why))) {
        h->st.refused_origin++;
        audit_refusal(h, NULL, 403, why);
        http_fail(req, 403, SB_RPC_INVALID_REQUEST, NULL, "%s", why);
        return;
    }
    bool cors = cors_origin(h, req);
    if (cors) cors_headers(req, evhttp_request_get_command(req) == EVHTTP_REQ_OPTIONS);
    if (!path || strcmp(path, HTTP_PATH) != 0) {
        http_fail(req, 404, SB_RPC_INVALID_REQUEST, NULL, "path: the MCP endpoint is %s",
                  HTTP_PATH);
        return;
    }
    if (cors && evhttp_request_get_command(req) == EVHTTP_REQ_OPTIONS) {
        h->st.preflights++;
        send_raw(req, 204, NULL, 0);
        return;
    }
    size_t agent = 0;
    if (!authenticate(h, req, &agent, why, sizeof(why))) {
        h->st.refused_auth++;
        audit_refusal(h, NULL, 401, why);
        http_fail(req, 401, SB_RPC_INVALID_REQUEST, NULL, "%s", why);
        return;
    }
    switch (evhttp_request_get_command(req)) {
    case EVHTTP_REQ_POST: handle_post(h, req, agent); break;
    case EVHTTP_REQ_GET: handle_get(h, req, agent); break;
    case EVHTTP_REQ_DELETE: handle_delete(h, req, agent); break;
    default:
        http_fail(req, 405, SB_RPC_INVALID_REQUEST, NULL, "method: %s takes GET, POST and DELETE",
                  HTTP_PATH);
        break;
    }
}

/* Every KEEPALIVE_S: a comment on each open stream (proxies close quiet ones) and the end of
 * sessions idle past session_idle_s. */
static void on_tick(evutil_socket_t fd, short what, void *arg) {
    (void)fd, (void)what;
    sb_gw_http *h = arg;
    uint64_t now = sb_mono_ns();
    for (struct sess *s = h->sessions, *nx; s; s = nx) {
        nx = s->next;
        if (!s->reqs && sb_gw_in_flight(s->gw) == 0 && now - s->last_ns > h->idle_ns) {
            hlog(h, SB_LOG_INFO, "session %s: idle for %llu s, ended", s->tag,
                 (unsigned long long)(h->idle_ns / 1000000000ull));
            sess_kill(s);
            continue;
        }
        for (struct stream *st = s->streams; st; st = st->next)
            if (st->req) sse_comment(st->req, "keepalive");
    }
}

static void on_stop(evutil_socket_t fd, short what, void *arg) {
    (void)fd, (void)what;
    (void)event_base_loopbreak(((sb_gw_http *)arg)->base);
}

static struct bufferevent *tls_bev(struct event_base *base, void *arg) {
    void *ssl = sb_tls_server_session(arg);
    if (!ssl) return NULL;
    return bufferevent_openssl_socket_new(base, -1, ssl, BUFFEREVENT_SSL_ACCEPTING,
                                          BEV_OPT_CLOSE_ON_FREE);
}

/* A loopback listener's own origin is allowed: a page there could only have been served by
 * the gateway, which serves none, and a DNS-rebinding page carries its own name instead. */
static void self_origins(sb_gw_http *h) {
    struct sockaddr_storage ss;
    socklen_t sl = sizeof(ss);
    if (!h->o.loopback || getsockname(h->o.listen_fd, (struct sockaddr *)&ss, &sl) < 0) return;
    unsigned port = ss.ss_family == AF_INET    ? ntohs(((struct sockaddr_in *)&ss)->sin_port)
                    : ss.ss_family == AF_INET6 ? ntohs(((struct sockaddr_in6 *)&ss)->sin6_port)
                                               : 0;
    if (!port) return;
    static const char *const names[] = {"localhost", "127.0.0.1", "[::1]"};
    for (size_t i = 0; i < 3; i++) {
        char o[64];
        int n = snprintf(o, sizeof(o), "%s://%s:%u", h->tls ? "https" : "http", names[i], port);
        sb_error e = {0};
        if (n > 0 && (size_t)n < sizeof(o) &&
            sb_gw_http_origin(o, (size_t)n, h->self[h->n_self], SB_GW_ORIGIN_MAX, &e) == 0)
            h->n_self++;
    }
}

int sb_gw_http_new(const struct sb_gw_http_opts *o, sb_gw_http **out, sb_error *err) {
    ENSURE(o && o->engine.config && o->engine.config->root, err, SB_E_USAGE,
           "gateway http: no configuration");
    ENSURE(!o->tls_cert == !o->tls_key, err, SB_E_USAGE, "--tls-cert and --tls-key go together");
    sb_gw_http *h = calloc(1, sizeof(*h));
    if (!h) BAIL(err, SB_E_INTERNAL, "out of memory");
    h->o = *o;
    json_t *agents = json_object_get(o->engine.config->root, "agents");
    h->policy = o->engine.policy;
    h->policy_borrowed = h->policy != NULL;
    int rc = h->policy || agents
                 ? (h->policy ? 0 : sb_gw_policy_load(agents, &h->policy, err))
                 : sb_error_set(err, SB_E_MALFORMED,
                                "agents: missing (the per-agent policy; docs/gateway.md)");
    if (rc == 0) rc = parse_http_config(h, o->engine.config->root, err);
    if (rc == 0 && o->tls_cert && !o->base)
        rc = sb_tls_server_new(o->tls_cert, o->tls_key, &h->tls, err);
    if (rc == 0) self_origins(h);
    if (rc == 0) {
        h->base = o->base ? o->base : event_base_new();
        h->http = h->base && !o->base ? evhttp_new(h->base) : NULL;
        h->reaper = h->base ? event_new(h->base, -1, 0, on_reap, h) : NULL;
        h->tick = h->base ? event_new(h->base, -1, EV_PERSIST, on_tick, h) : NULL;
        if ((!h->http && !o->base) || !h->reaper || !h->tick)
            rc = sb_error_set(err, SB_E_INTERNAL, "libevent: cannot set up the HTTP server");
    }
    if (rc == 0 && !o->base) {
        if (h->tls) evhttp_set_bevcb(h->http, tls_bev, h->tls);
        evhttp_set_max_headers_size(h->http, 16u << 10);
        evhttp_set_max_body_size(h->http, SB_RPC_MSG_MAX);
        evhttp_set_timeout(h->http, HTTP_TIMEOUT_S);
        evhttp_set_allowed_methods(h->http, EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_DELETE |
                                                EVHTTP_REQ_PUT | EVHTTP_REQ_PATCH |
                                                EVHTTP_REQ_OPTIONS | EVHTTP_REQ_HEAD);
        evhttp_set_gencb(h->http, on_request, h);
        if (!evhttp_accept_socket_with_handle(h->http, o->listen_fd))
            rc = sb_error_set(err, SB_E_IO, "gateway http: cannot accept on the listening socket");
    }
    if (rc == 0) {
        struct timeval tv = {KEEPALIVE_S, 0};
        (void)event_add(h->tick, &tv);
    }
    if (rc < 0) {
        sb_gw_http_free(h);
        return rc;
    }
    *out = h;
    return 0;
}

int sb_gw_http_run(sb_gw_http *h, int stop_fd, sb_error *err) {
    if (stop_fd >= 0) {
        h->stop_ev = event_new(h->base, stop_fd, EV_READ, on_stop, h);
        if (!h->stop_ev || event_add(h->stop_ev, NULL) < 0)
            BAIL(err, SB_E_INTERNAL, "libevent: cannot watch the stop descriptor");
    }
    if (event_base_dispatch(h->base) < 0) BAIL(err, SB_E_IO, "gateway http: the event loop failed");
    return 0;
}

void sb_gw_http_request(sb_gw_http *h, struct evhttp_request *req) { on_request(req, h); }

void sb_gw_http_get_stats(const sb_gw_http *h, struct sb_gw_http_stats *out) { *out = h->st; }

void sb_gw_http_free(sb_gw_http *h) {
    if (!h) return;
    while (h->sessions)
        sess_kill(h->sessions);
    while (h->dead) {
        struct sess *s = h->dead;
        h->dead = s->next;
        sess_free(s);
    }
    if (h->http) evhttp_free(h->http);
    if (h->stop_ev) event_free(h->stop_ev);
    if (h->tick) event_free(h->tick);
    if (h->reaper) event_free(h->reaper);
    if (h->base && !h->o.base) event_base_free(h->base);
    sb_tls_server_free(h->tls);
    if (!h->policy_borrowed) sb_gw_policy_free(h->policy);
    free(h->tokens);
    free(h->origins);
    free(h);
}
