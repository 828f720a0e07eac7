/* front: the unprivileged half of sealboxd. libevent's evhttp parses HTTP; this file routes,
 * checks every header, path and JSON body, and turns each request into one typed message to the
 * monitor. It holds no key, runs as an unprivileged user under a seccomp allowlist, and exits
 * when the monitor goes away. */
#include <dlfcn.h>
#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/http_struct.h>
#include <event2/keyvalq_struct.h>
#include <jansson.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/prctl.h>
#include <sys/queue.h>
#include <sys/socket.h>

#include "../crypto/crypto.h"
#include "../store/store.h"
#include "api.h"
#include "front_int.h"

#define INFLIGHT_MAX 1024u
#define OUTQ_MAX (8u << 20)             /* bytes queued for the monitor before we shed load */
#define HTTP_HEADERS_MAX (16u << 10)    /* evhttp answers 400 past this */
#define HTTP_BODY_MAX (17u << 20)       /* any other body: evhttp answers 413 past this */
#define UPLOAD_BUFFERED_MAX (16u << 20) /* an upload evhttp read whole (see on_headers) */
#define UPLOAD_WINDOW (1u << 20)        /* body bytes held for the monitor before reading stops */
#define UPLOAD_CHUNK_MAX (1u << 20)     /* one chunk of a chunked upload (evhttp reads it whole) */
#define JSON_BODY_MAX (64u << 10)       /* our limit for JSON request bodies */
#define HTTP_TIMEOUT_S 30               /* slow or idle clients are cut after this */
#define LIST_DEFAULT 100u

/* ---- routes --------------------------------------------------------------------------------- */

static const char *const ROUTE_NAMES[R_MAX] = {
    "health",    "metrics", "tenant",   "sandboxes",  "sandbox",      "exec",
    "standby",   "resume",  "kbs_auth", "kbs_attest", "kbs_resource", "kbs_admin",
    "processes", "process", "signal",   "stdin",      "output",       "files",
    "dirs",      "openapi", "log",      "none"};

struct front;

struct pending {
    struct front *f;
    struct evhttp_request *req;
    uint32_t id;
    enum route route;
    uint64_t start_ns;
    bool used;
    char session[48]; /* kbs attest: the session the token is for */
    /* a streamed reply (exec output, a download) */
    bool streaming, sse, bytes;
    uint32_t unacked; /* bytes written to the client since the last ack to the monitor */
    /* an upload: its body goes to the monitor one FILE_DATA at a time, as the monitor's queue
     * drains (feed_uploads) */
    bool uploading;       /* FILE_PUT sent; the last FILE_DATA (or the abort) not yet */
    bool up_streamed;     /* begun from the headers: the body is fed as it arrives */
    bool up_chunked;      /* with Transfer-Encoding: chunked */
    bool up_body_done;    /* the whole body has been read */
    bool up_paused;       /* reading the client is suspended: the window is full */
    bool up_answered;     /* answered before the end of the body; evhttp finishes the request */
    int up_reject;        /* an answer decided while evhttp was reading (0: none) */
    uint64_t up_got;      /* body bytes read so far */
    struct evbuffer *upq; /* read, not yet sent to the monitor (about UPLOAD_WINDOW at most) */
    struct evhttp_connection *up_evcon;
    char up_cred[SB_APIKEY_LEN + 1];
    char up_sbx[SB_IPC_ID_MAX + 1];
};

struct outmsg {
    struct outmsg *next;
    size_t len;
    uint8_t buf[];
};

/* Latency buckets (seconds) of the request histogram. */
static const double BUCKETS[] = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1, 5};
#define NBUCKETS (SB_ARRAY_LEN(BUCKETS))

struct front {
    const sb_front_cfg *cfg;
    struct event_base *base;
    struct evhttp *http;
    struct evhttp_bound_socket *bound;
    struct event *ipc_rd, *ipc_wr, *sigterm;
    struct pending slots[INFLIGHT_MAX];
    unsigned inflight;
    uint32_t gen;
    struct outmsg *outq, **outq_tail;
    size_t outq_bytes;
    bool draining;
    unsigned uploads;  /* slots with an upload being fed */
    unsigned streamed; /* slots with a streamed upload */
    bool feeding;      /* feed_uploads is running (send_msg would re-enter it) */
    int exit_code;
    uint8_t *rbuf;
    sb_ipc_msg msg;
    /* metrics */
    uint64_t by_status[6]; /* 1xx..5xx by first digit */
    uint64_t lat_count[R_MAX], lat_bucket[R_MAX][NBUCKETS];
    double lat_sum[R_MAX];
    void *tls;
    struct sb_front_kbs *kbs;
    struct sb_front_gw *gw;
};

/* The front of this process (evhttp's header callback has no argument of ours). */
static struct front *g_front;

/* ---- talking to the monitor ------------------------------------------------------------------ */

static void feed_uploads(struct front *f);

static void flush_outq(struct front *f) {
    if (!f->outq && f->uploads) feed_uploads(f);
    while (f->outq) {
        struct outmsg *o = f->outq;
        ssize_t k = send(f->cfg->ipc_fd, o->buf, o->len, MSG_DONTWAIT | MSG_NOSIGNAL);
        if (k < 0 && errno == EINTR) continue;
        if (k < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            (void)event_add(f->ipc_wr, NULL);
            return;
        }
        if (k < 0) {
            /* The monitor is gone: nothing this process does matters any more. */
            f->exit_code = 1;
            (void)event_base_loopbreak(f->base);
            return;
        }
        f->outq = o->next;
        if (!f->outq) f->outq_tail = &f->outq;
        f->outq_bytes -= o->len;
        free(o);
        if (!f->outq && f->uploads) feed_uploads(f);
    }
}

static int send_msg(struct front *f, uint16_t type, uint32_t id, const sb_ipc_val *v, size_t n,
                    sb_error *err) {
    sb_writer w;
    sb_writer_init(&w, SB_IPC_MSG_MAX);
    int r = sb_ipc_encode(&w, type, id, v, n, err);
    if (r < 0) {
        sb_writer_free(&w);
        return r;
    }
    if (f->outq_bytes + w.len > OUTQ_MAX) {
        sb_writer_free(&w);
        BAIL(err, SB_E_LIMIT, "monitor queue full");
    }
    struct outmsg *o = malloc(sizeof(*o) + w.len);
    if (!o) {
        sb_writer_free(&w);
        BAIL(err, SB_E_INTERNAL, "out of memory");
    }
    o->next = NULL;
    o->len = w.len;
    memcpy(o->buf, w.buf, w.len);
    sb_writer_free(&w);
    *f->outq_tail = o;
    f->outq_tail = &o->next;
    f->outq_bytes += o->len;
    flush_outq(f);
    return 0;
}

void sb_front_log(struct front *f, enum sb_log_level lvl, const char *fmt, ...) {
    char text[SB_IPC_LOG_MAX + 1];
    va_list ap;
    va_start(ap, fmt);
    (void)vsnprintf(text, sizeof(text), fmt, ap);
    va_end(ap);
    /* Control characters would be refused by the codec: a log line must never kill us. */
    for (char *p = text; *p; p++)
        if ((unsigned char)*p < 0x20 || *p == 0x7f) *p = '?';
    sb_ipc_val v[2] = {sb_ipc_u((uint64_t)lvl), sb_ipc_s(text)};
    sb_error err = {0};
    (void)send_msg(f, SB_IPC_LOG, 0, v, 2, &err);
}

/* ---- responses ----------------------------------------------------------------------------- */

static void account(struct front *f, enum route r, int status, uint64_t start_ns) {
    if (status >= 100 && status < 600) f->by_status[status / 100]++;
    double s = (double)(sb_mono_ns() - start_ns) / 1e9;
    f->lat_count[r]++;
    f->lat_sum[r] += s;
    for (size_t i = 0; i < NBUCKETS; i++)
        if (s <= BUCKETS[i]) f->lat_bucket[r][i]++;
}

static void maybe_finish_drain(struct front *f) {
    if (f->draining && f->inflight == 0) (void)event_base_loopexit(f->base, NULL);
}

static void send_body(struct evhttp_request *req, int status, const char *ctype, const void *p,
                      size_t n) {
    struct evkeyvalq *h = evhttp_request_get_output_headers(req);
    (void)evhttp_add_header(h, "Content-Type", ctype);
    (void)evhttp_add_header(h, "Cache-Control", "no-store");
    (void)evhttp_add_header(h, "X-Content-Type-Options", "nosniff");
    if (status == 401) (void)evhttp_add_header(h, "WWW-Authenticate", "Bearer realm=\"sealbox\"");
    struct evbuffer *b = evbuffer_new();
    if (b && n) (void)evbuffer_add(b, p, n);
    /* Safe even when the client has gone: evhttp then just frees the request. */
    evhttp_send_reply(req, status, NULL, b);
    if (b) evbuffer_free(b);
}

static void problem(struct front *f, struct evhttp_request *req, enum route r, uint64_t start,
                    int status, const char *slug, const char *title, const char *detail,
                    json_t *extra) {
    char type[96];
    (void)snprintf(type, sizeof(type), "urn:sealbox:problem:%s", slug);
    json_t *j = json_pack("{s:s, s:s, s:i, s:s}", "type", type, "title", title, "status", status,
                          "detail", detail ? detail : title);
    if (j && extra) (void)json_object_update(j, extra);
    json_decref(extra);
    char *s = j ? json_dumps(j, JSON_COMPACT) : NULL;
    json_decref(j);
    const char *body = s ? s : "{\"title\":\"Internal error\",\"status\":500}";
    send_body(req, status, "application/problem+json", body, strlen(body));
    free(s);
    account(f, r, status, start);
}

/* ---- request plumbing ----------------------------------------------------------------------- */

static struct pending *slot_new(struct front *f, struct evhttp_request *req, enum route r,
                                uint64_t start) {
    for (unsigned i = 0; i < INFLIGHT_MAX; i++) {
        if (f->slots[i].used) continue;
        f->gen = (f->gen + 1) & 0x3fffffu;
        struct pending *p = &f->slots[i];
        p->used = true;
        p->req = req;
        p->route = r;
        p->start_ns = start;
        p->id = (f->gen << 10) | i;
        f->inflight++;
        return p;
    }
    return NULL;
}

static void slot_free(struct front *f, struct pending *p) {
    if (p->uploading) f->uploads--;
    sb_wipe(p->up_cred, sizeof(p->up_cred));
    p->used = p->streaming = p->uploading = false;
    if (p->up_streamed) f->streamed--;
    p->up_streamed = p->up_chunked = p->up_body_done = p->up_paused = p->up_answered = false;
    p->up_reject = 0;
    p->up_got = 0;
    if (p->upq) evbuffer_free(p->upq);
    p->upq = NULL;
    p->up_evcon = NULL;
    p->req = NULL;
    f->inflight--;
}

static struct pending *slot_of(struct front *f, uint32_t id) {
    struct pending *p = &f->slots[id & (INFLIGHT_MAX - 1)];
    return p->used && p->id == id ? p : NULL;
}

/* Sends a request message; the reply completes req later (see on_reply). Returns the slot, or
 * NULL after answering. */
static struct pending *forward_s(struct front *f, struct evhttp_request *req, enum route r,
                                 uint64_t start, uint16_t type, const sb_ipc_val *v, size_t n,
                                 const char *session) {
    struct pending *p = slot_new(f, req, r, start);
    if (!p) {
        evhttp_add_header(evhttp_request_get_output_headers(req), "Retry-After", "1");
        problem(f, req, r, start, 503, "busy", "Service busy", "too many requests in flight", NULL);
        return NULL;
    }
    p->session[0] = 0;
    if (session) (void)snprintf(p->session, sizeof(p->session), "%s", session);
    sb_error err = {0};
    if (send_msg(f, type, p->id, v, n, &err) < 0) {
        slot_free(f, p);
        if (err.code == SB_E_LIMIT && strstr(err.msg, "queue")) {
            evhttp_add_header(evhttp_request_get_output_headers(req), "Retry-After", "1");
            problem(f, req, r, start, 503, "busy", "Service busy", "monitor queue full", NULL);
        } else {
            /* Our own checks let through something the codec refuses: a bug, not the
             * client's fault, but it must not pass. */
            sb_front_log(f, SB_LOG_ERROR, "cannot encode %s: %s", sb_ipc_type_name(type), err.msg);
            problem(f, req, r, start, 400, "bad-request", "Bad request", err.msg, NULL);
        }
        return NULL;
    }
    return p;
}

static struct pending *forward(struct front *f, struct evhttp_request *req, enum route r,
                               uint64_t start, uint16_t type, const sb_ipc_val *v, size_t n) {
    return forward_s(f, req, r, start, type, v, n, NULL);
}

void sb_front_forward(struct front *f, struct evhttp_request *req, enum route r, uint64_t start,
                      uint16_t type, const sb_ipc_val *v, size_t n, const char *session) {
    (void)forward_s(f, req, r, start, type, v, n, session);
}

void sb_front_send(struct front *f, struct evhttp_request *req, enum route r, uint64_t start,
                   int status, const char *ctype, const void *p, size_t n) {
    send_body(req, status, ctype, p, n);
    account(f, r, status, start);
}

struct sb_front_kbs *sb_front_kbs_of(struct front *f) {
    return f->kbs;
}

static void append_front_metrics(struct front *f, struct evbuffer *b) {
    (void)evbuffer_add_printf(b, "# HELP sealbox_http_responses_total HTTP responses by class.\n"
                                 "# TYPE sealbox_http_responses_total counter\n");
    for (int c = 1; c <= 5; c++)
        (void)evbuffer_add_printf(b, "sealbox_http_responses_total{code=\"%dxx\"} %llu\n", c,
                                  (unsigned long long)f->by_status[c]);
    (void)evbuffer_add_printf(b, "# HELP sealbox_http_request_duration_seconds Time from request "
                                 "to response, by route.\n"
                                 "# TYPE sealbox_http_request_duration_seconds histogram\n");
    for (int r = 0; r < R_MAX; r++) {
        if (!f->lat_count[r]) continue;
        for (size_t i = 0; i < NBUCKETS; i++)
            (void)evbuffer_add_printf(
                b, "sealbox_http_request_duration_seconds_bucket{route=\"%s\",le=\"%g\"} %llu\n",
                ROUTE_NAMES[r], BUCKETS[i], (unsigned long long)f->lat_bucket[r][i]);
        (void)evbuffer_add_printf(
            b,
            "sealbox_http_request_duration_seconds_bucket{route=\"%s\",le=\"+Inf\"} %llu\n"
            "sealbox_http_request_duration_seconds_sum{route=\"%s\"} %.6f\n"
            "sealbox_http_request_duration_seconds_count{route=\"%s\"} %llu\n",
            ROUTE_NAMES[r], (unsigned long long)f->lat_count[r], ROUTE_NAMES[r], f->lat_sum[r],
            ROUTE_NAMES[r], (unsigned long long)f->lat_count[r]);
    }
    sb_front_gw_metrics(f->gw, b);
}

static void upload_early(struct front *f, struct pending *p);

static void on_reply(struct front *f, const sb_ipc_msg *m) {
    unsigned i = m->id & (INFLIGHT_MAX - 1);
    struct pending *p = &f->slots[i];
    if (!p->used || p->id != m->id || p->streaming || p->up_answered) {
        sb_front_log(f, SB_LOG_WARN, "reply for unknown request %u", m->id);
        return;
    }
    if (p->up_streamed && !p->up_body_done) {
        /* The monitor refused an upload whose body is still coming (no such sandbox, a
         * directory in the way, a full disk): answer now rather than read the rest. */
        int st = (int)m->f[0].u;
        upload_early(f, p);
        send_body(p->req, st >= 400 && st <= 599 ? st : 500,
                  m->f[1].u == SB_CT_JSON ? "application/json" : "application/problem+json",
                  m->f[2].s.p, m->f[2].s.len);
        account(f, p->route, st, p->start_ns);
        return;
    }
    struct evhttp_request *req = p->req;
    enum route r = p->route;
    uint64_t start = p->start_ns;
    char session[sizeof(p->session)];
    memcpy(session, p->session, sizeof(session));
    slot_free(f, p);
    int status = (int)m->f[0].u;
    if (status < 200 || status > 599) status = 500;
    const char *ct = m->f[1].u == SB_CT_JSON      ? "application/json"
                     : m->f[1].u == SB_CT_PROBLEM ? "application/problem+json"
                                                  : "text/plain; version=0.0.4; charset=utf-8";
    if (r == R_METRICS && status == 200) {
        account(f, r, status, start); /* this request counts in its own figures */
        struct evbuffer *b = evbuffer_new();
        if (b) {
            (void)evbuffer_add(b, m->f[2].s.p, m->f[2].s.len);
            append_front_metrics(f, b);
            struct evkeyvalq *h = evhttp_request_get_output_headers(req);
            (void)evhttp_add_header(h, "Content-Type", ct);
            (void)evhttp_add_header(h, "Cache-Control", "no-store");
            evhttp_send_reply(req, status, NULL, b);
            evbuffer_free(b);
        } else {
            send_body(req, 500, "text/plain", "", 0);
        }
    } else {
        if (r == R_KBS_ATTEST && f->kbs)
            status = sb_front_kbs_attested(f, req, session, status, m->f[2].s.p, m->f[2].s.len);
        send_body(req, status, ct, m->f[2].s.p, m->f[2].s.len);
        account(f, r, status, start);
    }
    maybe_finish_drain(f);
}

/* ---- streamed replies ------------------------------------------------------------------------
 * The monitor sends a stream's events no further ahead than SB_STREAM_WINDOW bytes; the front
 * acknowledges what the client's socket has taken (evhttp calls back when its output buffer
 * has drained), so neither process buffers more than the window for a slow client. */

#define STREAM_WRITE_TIMEOUT_S 60 /* a client that takes nothing for this long is cut off */

static const char *const EVENT_NAMES[SB_EV_MAX] = {"",     "start", "stdout", "stderr",
                                                   "exit", "lost",  "data"};

static void stream_ack(struct front *f, struct pending *p) {
    if (!p->unacked) return;
    sb_ipc_val v[1] = {sb_ipc_u(p->unacked)};
    sb_error err = {0};
    (void)send_msg(f, SB_IPC_STREAM_ACK, p->id, v, 1, &err);
    p->unacked = 0;
}

/* evhttp calls these two with the slot as argument; stream_finish unhooks both before the slot
 * can be reused. */
static void on_chunk_written(struct evhttp_connection *evcon, void *arg) {
    (void)evcon;
    struct pending *p = arg;
    if (p->used && p->streaming) stream_ack(p->f, p);
}

/* The client of a stream went away (evhttp frees the connection; the request is ours). */
static void on_stream_close(struct evhttp_connection *evcon, void *arg) {
    (void)evcon;
    struct pending *p = arg;
    struct front *f = p->f;
    if (!p->used || !p->streaming) return;
    sb_error err = {0};
    (void)send_msg(f, SB_IPC_STREAM_CLOSE, p->id, NULL, 0, &err);
    evhttp_send_reply_end(p->req); /* without a connection this frees the request */
    slot_free(f, p);
    maybe_finish_drain(f);
}

static void stream_finish(struct front *f, struct pending *p) {
    struct evhttp_connection *evcon = evhttp_request_get_connection(p->req);
    if (evcon) {
        evhttp_connection_set_closecb(evcon, NULL, NULL);
        evhttp_connection_set_timeout(evcon, HTTP_TIMEOUT_S);
    }
    evhttp_send_reply_end(p->req);
    slot_free(f, p);
    maybe_finish_drain(f);
}

static void on_stream_start(struct front *f, const sb_ipc_msg *m) {
    struct pending *p = slot_of(f, m->id);
    sb_error err = {0};
    if (!p || p->streaming) {
        (void)send_msg(f, SB_IPC_STREAM_CLOSE, m->id, NULL, 0, &err);
        return;
    }
    struct evhttp_connection *evcon = evhttp_request_get_connection(p->req);
    if (!evcon) { /* the client left while the monitor prepared the stream */
        (void)send_msg(f, SB_IPC_STREAM_CLOSE, m->id, NULL, 0, &err);
        evhttp_send_reply_end(p->req);
        slot_free(f, p);
        maybe_finish_drain(f);
        return;
    }
    int status = (int)m->f[0].u;
    if (status < 200 || status > 299) status = 200;
    p->bytes = m->f[1].u == SB_STREAM_BYTES;
    struct evkeyvalq *h = evhttp_request_get_output_headers(p->req);
    (void)evhttp_add_header(h, "Content-Type",
                            p->bytes ? "application/octet-stream"
                            : p->sse ? "text/event-stream"
                                     : "application/x-ndjson");
    (void)evhttp_add_header(h, "Cache-Control", "no-store");
    (void)evhttp_add_header(h, "X-Content-Type-Options", "nosniff");
    if (p->bytes) {
        char len[32];
        (void)snprintf(len, sizeof(len), "%llu", (unsigned long long)m->f[2].u);
        (void)evhttp_add_header(h, "X-Sealbox-File-Size", len);
    }
    /* a stream may be quiet for long (a command that prints nothing): no read timeout, but a
     * client that stops reading is cut off */
    struct timeval wt = {STREAM_WRITE_TIMEOUT_S, 0};
    (void)bufferevent_set_timeouts(evhttp_connection_get_bufferevent(evcon), NULL, &wt);
    evhttp_connection_set_closecb(evcon, on_stream_close, p);
    evhttp_send_reply_start(p->req, status, NULL);
    p->streaming = true;
    account(f, p->route, status, p->start_ns);
}

static void on_stream_event(struct front *f, const sb_ipc_msg *m) {
    struct pending *p = slot_of(f, m->id);
    if (!p || !p->streaming) return;
    unsigned ev = (unsigned)m->f[0].u;
    const sb_ipc_str *d = &m->f[1].s;
    struct evbuffer *b = evbuffer_new();
    if (!b) return;
    if (p->bytes) {
        if (ev == SB_EV_DATA) (void)evbuffer_add(b, d->p, d->len);
    } else if (ev >= SB_EV_START && ev <= SB_EV_LOST) {
        json_t *j = json_object();
        (void)json_object_set_new(j, "event", json_string(EVENT_NAMES[ev]));
        if (ev == SB_EV_STDOUT || ev == SB_EV_STDERR) {
            /* UTF-8 as it is; anything else (or a character split between two reads) base64 */
            json_t *s = json_stringn((const char *)d->p, d->len);
            if (s) {
                (void)json_object_set_new(j, "data", s);
            } else {
                char *b64 = sb_base64_encode(d->p, d->len);
                (void)json_object_set_new(j, "data_base64", json_string(b64 ? b64 : ""));
                free(b64);
            }
        } else {
            json_t *o = json_loadb((const char *)d->p, d->len, 0, NULL);
            if (json_is_object(o)) (void)json_object_update(j, o);
            json_decref(o);
        }
        char *line = json_dumps(j, JSON_COMPACT);
        json_decref(j);
        if (line && p->sse)
            (void)evbuffer_add_printf(b, "event: %s\ndata: %s\n\n", EVENT_NAMES[ev], line);
        else if (line)
            (void)evbuffer_add_printf(b, "%s\n", line);
        free(line);
    }
    p->unacked += d->len ? (uint32_t)d->len : 1;
    if (evbuffer_get_length(b) && evhttp_request_get_connection(p->req))
        evhttp_send_reply_chunk_with_cb(p->req, b, on_chunk_written, p);
    else
        stream_ack(f, p);
    evbuffer_free(b);
}

static void on_stream_end(struct front *f, const sb_ipc_msg *m) {
    struct pending *p = slot_of(f, m->id);
    if (p && p->streaming) stream_finish(f, p);
}

/* ---- uploads ---------------------------------------------------------------------------------
 * An upload's body goes to the monitor in FILE_DATA pieces, only while the queue to the monitor
 * is empty: a slow monitor (or disk) leaves the bytes in the slot's queue, and once that holds
 * UPLOAD_WINDOW the client's connection is no longer read (backpressure down to the client's
 * TCP window). Streamed uploads (on_headers) are fed as the bytes arrive; an upload evhttp read
 * whole (the fallback) is fed the same way from its queue. */

static uint64_t upload_max(const struct front *f) {
    return f->cfg->upload_max ? f->cfg->upload_max : SB_FILES_UPLOAD_DEFAULT;
}

static void upload_read(struct pending *p, bool on) {
    struct bufferevent *bev = p->up_evcon ? evhttp_connection_get_bufferevent(p->up_evcon) : NULL;
    if (!bev) return;
    if (!on) {
        (void)bufferevent_disable(bev, EV_READ);
        p->up_paused = true;
        return;
    }
    p->up_paused = false;
    (void)bufferevent_enable(bev, EV_READ);
    /* what was read before the pause is waiting: no new byte would call evhttp back for it */
    if (evbuffer_get_length(bufferevent_get_input(bev)))
        bufferevent_trigger(bev, EV_READ, BEV_TRIG_DEFER_CALLBACKS);
}

/* The front gives the upload up: the monitor removes the partial file, and answers nothing. */
static void upload_abort(struct front *f, struct pending *p) {
    if (!p->uploading) return;
    sb_ipc_val v[4] = {sb_ipc_s(p->up_cred), sb_ipc_s(p->up_sbx), sb_ipc_b((const uint8_t *)"", 0),
                       sb_ipc_u(SB_FILE_ABORT)};
    sb_error err = {0};
    if (send_msg(f, SB_IPC_FILE_DATA, p->id, v, 4, &err) < 0)
        sb_front_log(f, SB_LOG_WARN, "upload %u: cannot abort: %s", p->id, err.msg);
    p->uploading = false;
    f->uploads--;
    sb_wipe(p->up_cred, sizeof(p->up_cred));
}

static void feed_uploads(struct front *f) {
    if (f->feeding) return;
    f->feeding = true;
    /* round robin, one piece per upload per round, until the queue to the monitor backs up */
    for (bool again = true; again && f->uploads && !f->outq;) {
        again = false;
        for (unsigned i = 0; i < INFLIGHT_MAX && f->uploads && !f->outq; i++) {
            struct pending *p = &f->slots[i];
            if (!p->used || !p->uploading) continue;
            size_t have = evbuffer_get_length(p->upq);
            if (!have && !p->up_body_done) continue;
            size_t n = have < SB_IPC_UPLOAD_CHUNK ? have : SB_IPC_UPLOAD_CHUNK;
            bool last = p->up_body_done && n == have;
            const uint8_t *d = n ? evbuffer_pullup(p->upq, (ev_ssize_t)n) : (const uint8_t *)"";
            if (!d) break;
            sb_ipc_val v[4] = {sb_ipc_s(p->up_cred), sb_ipc_s(p->up_sbx), sb_ipc_b(d, n),
                               sb_ipc_u(last ? SB_FILE_LAST : SB_FILE_MORE)};
            sb_error err = {0};
            if (send_msg(f, SB_IPC_FILE_DATA, p->id, v, 4, &err) < 0) break;
            (void)evbuffer_drain(p->upq, n);
            again = true;
            if (last) {
                p->uploading = false;
                f->uploads--;
                sb_wipe(p->up_cred, sizeof(p->up_cred));
            } else if (p->up_paused && evbuffer_get_length(p->upq) <= UPLOAD_WINDOW / 2) {
                upload_read(p, true);
            }
        }
    }
    f->feeding = false;
}

/* The slot of a streamed upload, by its request. */
static struct pending *upload_of(struct front *f, const struct evhttp_request *req) {
    if (!f || !f->streamed) return NULL;
    for (unsigned i = 0; i < INFLIGHT_MAX; i++)
        if (f->slots[i].used && f->slots[i].up_streamed && f->slots[i].req == req)
            return &f->slots[i];
    return NULL;
}

/* evhttp is done with an upload answered early (the answer was written): the slot goes. */
static void on_upload_done(struct evhttp_request *req, void *arg) {
    struct pending *p = arg;
    if (!p->used || p->req != req || !p->up_answered) return;
    struct evhttp_connection *evcon = evhttp_request_get_connection(req);
    if (evcon) evhttp_connection_set_closecb(evcon, NULL, NULL);
    struct front *f = p->f;
    slot_free(f, p);
    maybe_finish_drain(f);
}

/* The client of an upload went away, or timed out, before the end of its body (or before it
 * took an early answer): evhttp frees the request; the monitor removes the partial file. */
static void on_upload_close(struct evhttp_connection *evcon, void *arg) {
    struct pending *p = arg;
    if (!p->used || !p->up_streamed || p->up_evcon != evcon) return;
    struct front *f = p->f;
    upload_abort(f, p);
    slot_free(f, p);
    maybe_finish_drain(f);
}

/* Before answering an upload whose body has not ended: the monitor drops what it wrote, the
 * client is no longer read, and the connection closes once the answer is written (the rest of
 * the body is never read). The slot stays until evhttp is done with the request. */
static void upload_early(struct front *f, struct pending *p) {
    upload_abort(f, p);
    p->up_answered = true;
    (void)evbuffer_drain(p->upq, evbuffer_get_length(p->upq));
    upload_read(p, false);
    (void)evhttp_add_header(evhttp_request_get_output_headers(p->req), "Connection", "close");
    evhttp_request_set_on_complete_cb(p->req, on_upload_done, p);
}

static void upload_too_large(struct front *f, struct pending *p) {
    char d[96];
    (void)snprintf(d, sizeof(d), "an upload is at most %llu bytes",
                   (unsigned long long)upload_max(f));
    upload_early(f, p);
    problem(f, p->req, p->route, p->start_ns, 413, "too-large", "Payload too large", d, NULL);
}

/* A limit crossed while evhttp was reading: answered from the loop, once evhttp is out of its
 * read callback (answering inside it would let it go on with the request). */
static void on_upload_reject(evutil_socket_t fd, short what, void *arg) {
    (void)fd;
    (void)what;
    struct pending *p = slot_of(g_front, (uint32_t)(uintptr_t)arg);
    if (p && p->up_streamed && p->up_reject && !p->up_answered) upload_too_large(p->f, p);
}

static void upload_reject(struct front *f, struct pending *p) {
    upload_abort(f, p);
    p->up_reject = 413;
    (void)evbuffer_drain(p->upq, evbuffer_get_length(p->upq));
    struct timeval now = {0, 0};
    if (event_base_once(f->base, -1, EV_TIMEOUT, on_upload_reject, (void *)(uintptr_t)p->id, &now) <
        0)
        upload_read(p, false); /* the read timeout will end it */
}

/* evhttp read more of an upload's body: on to the monitor, within the limit and the window. */
static void on_upload_chunk(struct evhttp_request *req, void *arg) {
    (void)arg;
    struct front *f = g_front;
    struct evbuffer *in = evhttp_request_get_input_buffer(req);
    size_t n = evbuffer_get_length(in);
    struct pending *p = upload_of(f, req);
    if (!p || p->up_reject || p->up_answered || !p->uploading) {
        (void)evbuffer_drain(in, n);
        return;
    }
    if (n > upload_max(f) - p->up_got) { /* the limit is crossed: nothing more is kept */
        (void)evbuffer_drain(in, n);
        upload_reject(f, p);
        return;
    }
    p->up_got += n;
    (void)evbuffer_add_buffer(p->upq, in);
    /* evhttp reads a chunk of a chunked body whole before it hands it over: each chunk may be
     * at most UPLOAD_CHUNK_MAX beyond what was read (a bigger one is evhttp's own 413) */
    if (p->up_chunked)
        evhttp_connection_set_max_body_size(p->up_evcon,
                                            (ev_ssize_t)(p->up_got + UPLOAD_CHUNK_MAX));
    flush_outq(f);
    if (evbuffer_get_length(p->upq) >= UPLOAD_WINDOW) upload_read(p, false);
}

/* The whole body was read (evhttp calls the router): the last piece follows the rest. */
static void upload_body_end(struct front *f, struct pending *p) {
    if (p->up_answered) return;
    if (p->up_reject) {
        upload_too_large(f, p);
        return;
    }
    evhttp_connection_set_closecb(p->up_evcon, NULL, NULL);
    p->up_body_done = true;
    flush_outq(f);
}

static void begin_drain(struct front *f) {
    if (f->draining) return;
    f->draining = true;
    if (f->bound) {
        evhttp_del_accept_socket(f->http, f->bound);
        f->bound = NULL;
    }
    sb_front_gw_drain(f->gw);
    sb_front_log(f, SB_LOG_INFO, "draining: %u requests in flight", f->inflight);
    maybe_finish_drain(f);
}

static void on_ipc_read(evutil_socket_t fd, short what, void *arg) {
    (void)what;
    struct front *f = arg;
    for (;;) {
        ssize_t k = recv(fd, f->rbuf, SB_IPC_MSG_MAX + 1, MSG_DONTWAIT | MSG_TRUNC);
        if (k < 0 && errno == EINTR) continue;
        if (k < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
        if (k <= 0) {
            /* The monitor closed the socket or died: no request can be served any more. */
            f->exit_code = k == 0 ? 0 : 1;
            (void)event_base_loopbreak(f->base);
            return;
        }
        sb_error err = {0};
        if ((size_t)k > SB_IPC_MSG_MAX || sb_ipc_decode(f->rbuf, (size_t)k, &f->msg, &err) < 0 ||
            sb_ipc_from_front(f->msg.type)) {
            /* The monitor is trusted; a bad message from it is a bug, and we stop. */
            f->exit_code = 3;
            (void)event_base_loopbreak(f->base);
            return;
        }
        if (f->msg.type == SB_IPC_REPLY)
            on_reply(f, &f->msg);
        else if (f->msg.type == SB_IPC_STREAM_START)
            on_stream_start(f, &f->msg);
        else if (f->msg.type == SB_IPC_STREAM_EVENT)
            on_stream_event(f, &f->msg);
        else if (f->msg.type == SB_IPC_STREAM_END)
            on_stream_end(f, &f->msg);
        else if (f->msg.type == SB_IPC_SHUTDOWN)
            begin_drain(f);
    }
}

static void on_ipc_write(evutil_socket_t fd, short what, void *arg) {
    (void)fd;
    (void)what;
    flush_outq(arg);
}

static void on_sigterm(evutil_socket_t fd, short what, void *arg) {
    (void)fd;
    (void)what;
    begin_drain(arg);
}

/* ---- request validation helpers ----------------------------------------------------------- */

/* Extracts the bearer credential. NULL (with a reason) when absent or not shaped like a key. */
static const char *bearer(struct evhttp_request *req, const char **why) {
    const char *h = evhttp_find_header(evhttp_request_get_input_headers(req), "Authorization");
    if (!h) {
        *why = "missing Authorization: Bearer header";
        return NULL;
    }
    if (strncasecmp(h, "Bearer ", 7) != 0) {
        *why = "Authorization must use the Bearer scheme";
        return NULL;
    }
    const char *tok = h + 7;
    while (*tok == ' ')
        tok++;
    if (!sb_apikey_well_formed(tok, strlen(tok))) {
        *why = "invalid API key";
        return NULL;
    }
    return tok;
}

/* Splits a request path into at most PATH_SEGS segments; false when it has more, or empty
 * segments, or characters outside the unreserved set (no percent-decoding: nothing we route
 * needs it). */
#define PATH_SEGS 6
static bool split_path(const char *path, char seg[PATH_SEGS][SB_IPC_ID_MAX + 1], size_t *n) {
    *n = 0;
    if (!path || path[0] != '/') return false;
    const char *p = path + 1;
    while (*p) {
        if (*n == PATH_SEGS) return false;
        size_t len = strcspn(p, "/");
        if (len == 0 || len > SB_IPC_ID_MAX) return false;
        for (size_t i = 0; i < len; i++) {
            char c = p[i];
            if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '-' || c == '_' || c == '.'))
                return false;
        }
        memcpy(seg[*n], p, len);
        seg[*n][len] = '\0';
        (*n)++;
        p += len;
        if (*p == '/') p++;
    }
    return true;
}

/* ---- handlers ------------------------------------------------------------------------------- */

struct ctx {
    struct front *f;
    struct evhttp_request *req;
    enum route route;
    uint64_t start;
    const char *cred;
    const char *id;  /* sandbox id from the path */
    const char *sub; /* process id from the path */
    const char *query;
};

static void bad(struct ctx *c, int status, const char *slug, const char *title,
                const char *detail) {
    problem(c->f, c->req, c->route, c->start, status, slug, title, detail, NULL);
}

static void do_health(struct ctx *c) {
    forward(c->f, c->req, c->route, c->start, SB_IPC_HEALTH, NULL, 0);
}

static void do_metrics(struct ctx *c) {
    sb_ipc_val v[1] = {sb_ipc_s(c->cred)};
    forward(c->f, c->req, c->route, c->start, SB_IPC_METRICS, v, 1);
}

static void do_tenant(struct ctx *c) {
    sb_ipc_val v[1] = {sb_ipc_s(c->cred)};
    forward(c->f, c->req, c->route, c->start, SB_IPC_TENANT, v, 1);
}

static void do_sbx_get(struct ctx *c) {
    sb_ipc_val v[2] = {sb_ipc_s(c->cred), sb_ipc_s(c->id)};
    forward(c->f, c->req, c->route, c->start, SB_IPC_SBX_GET, v, 2);
}

/* GET /v1/sandboxes/{id}/log: the measurement log (the monitor checks the tenant). */
static void do_sbx_log(struct ctx *c) {
    sb_ipc_val v[2] = {sb_ipc_s(c->cred), sb_ipc_s(c->id)};
    forward(c->f, c->req, c->route, c->start, SB_IPC_SBX_LOG, v, 2);
}

/* GET /v1/sandboxes?limit=N&after=ID&state=all&metadata=k=v (metadata repeatable). */
static void do_sbx_list(struct ctx *c) {
    struct evkeyvalq q;
    TAILQ_INIT(&q);
    if (c->query && evhttp_parse_query_str(c->query, &q) < 0) {
        bad(c, 400, "bad-query", "Bad query", "the query string does not parse");
        return;
    }
    uint64_t limit = LIST_DEFAULT;
    const char *after = "";
    bool all = false;
    sb_ipc_str filt[16];
    size_t nf = 0;
    char msg[256];
    const char *fail = NULL;
    for (struct evkeyval *kv = q.tqh_first; kv && !fail; kv = kv->next.tqe_next) {
        sb_error e = {0};
        if (strcmp(kv->key, "limit") == 0) {
            if (sb_parse_u64(kv->value, SB_STORE_LIST_MAX, &limit, &e, "limit") < 0 || !limit) {
                (void)snprintf(msg, sizeof(msg), "limit must be an integer from 1 to %d",
                               SB_STORE_LIST_MAX);
                fail = msg;
            }
        } else if (strcmp(kv->key, "after") == 0) {
            if (kv->value[0] && !sb_store_sandbox_id_valid(kv->value))
                fail = "after must be a sandbox id";
            after = kv->value;
        } else if (strcmp(kv->key, "state") == 0) {
            if (strcmp(kv->value, "all") == 0)
                all = true;
            else if (strcmp(kv->value, "live") != 0)
                fail = "state must be live or all";
        } else if (strcmp(kv->key, "metadata") == 0) {
            size_t len = strlen(kv->value);
            const char *eq = strchr(kv->value, '=');
            if (!eq || eq == kv->value || len > SB_IPC_KV_MAX)
                fail = "metadata filters are KEY=VALUE";
            else if (nf == SB_ARRAY_LEN(filt))
                fail = "at most 16 metadata filters";
            else {
                for (size_t i = 0; i < len && !fail; i++)
                    if ((unsigned char)kv->value[i] < 0x20 || kv->value[i] == 0x7f)
                        fail = "control character in a metadata filter";
                filt[nf++] = (sb_ipc_str){(const uint8_t *)kv->value, len};
            }
        } else {
            (void)snprintf(msg, sizeof(msg), "unknown query parameter '%.64s'", kv->key);
            fail = msg;
        }
    }
    if (fail) {
        bad(c, 400, "bad-query", "Bad query", fail);
    } else {
        sb_ipc_val v[5] = {sb_ipc_s(c->cred),
                           sb_ipc_s(after),
                           sb_ipc_u(limit),
                           sb_ipc_u(all),
                           {.count = nf, .list = filt}};
        forward(c->f, c->req, c->route, c->start, SB_IPC_SBX_LIST, v, 5);
    }
    evhttp_clear_headers(&q);
}

/* Reads and checks a JSON body into b (415 for another content type, 413 over the limit, 400
 * for anything else, with the field named). Returns the parsed JSON (the caller keeps it alive
 * while b's strings are in use) or NULL after answering. */
static json_t *json_body(struct ctx *c, struct sb_front_body *b,
                         int (*check)(json_t *, struct sb_front_body *)) {
    struct evbuffer *in = evhttp_request_get_input_buffer(c->req);
    size_t n = evbuffer_get_length(in);
    if (n > SB_FRONT_JSON_MAX) {
        char d[64];
        (void)snprintf(d, sizeof(d), "JSON bodies are at most %u bytes", SB_FRONT_JSON_MAX);
        bad(c, 413, "too-large", "Payload too large", d);
        return NULL;
    }
    const char *ct = evhttp_find_header(evhttp_request_get_input_headers(c->req), "Content-Type");
    if (n > 0 && (!ct || strncasecmp(ct, "application/json", 16) != 0 ||
                  (ct[16] != '\0' && ct[16] != ';'))) {
        bad(c, 415, "unsupported-media-type", "Unsupported media type",
            "send the body as Content-Type: application/json");
        return NULL;
    }
    const void *p = n ? (const void *)evbuffer_pullup(in, (ev_ssize_t)n) : (const void *)"";
    char why[256];
    json_t *j = p ? sb_front_parse_body(p, n, why, sizeof(why)) : NULL;
    if (!j) {
        bad(c, 400, "invalid-json", "Invalid JSON", p ? why : "out of memory");
        return NULL;
    }
    if (check(j, b) < 0) {
        json_t *extra =
            json_pack("{s:[{s:s, s:s}]}", "invalid_params", "name", b->field, "reason", b->why);
        problem(c->f, c->req, c->route, c->start, 400, "invalid-params", "Invalid parameters",
                b->why, extra);
        json_decref(j);
        return NULL;
    }
    return j;
}

static void do_sbx_create(struct ctx *c) {
    struct sb_front_body *b = calloc(1, sizeof(*b));
    if (!b) {
        bad(c, 503, "busy", "Service busy", "out of memory");
        return;
    }
    json_t *j = json_body(c, b, sb_front_create_body);
    if (j) {
        b->v[0] = sb_ipc_s(c->cred);
        forward(c->f, c->req, c->route, c->start, SB_IPC_SBX_CREATE, b->v, b->n);
        json_decref(j);
    }
    free(b);
}

/* Which stream format the client asked for: 1 NDJSON, 2 SSE, 0 neither. */
static int wants_stream(struct evhttp_request *req) {
    const char *a = evhttp_find_header(evhttp_request_get_input_headers(req), "Accept");
    if (!a) return 0;
    if (strstr(a, "text/event-stream")) return 2;
    if (strstr(a, "application/x-ndjson")) return 1;
    return 0;
}

/* POST /v1/sandboxes/{id}/exec: a JSON reply when the command ends, a stream of events (Accept:
 * application/x-ndjson or text/event-stream), or at once a background process. */
static void do_sbx_exec(struct ctx *c) {
    struct sb_front_body *b = calloc(1, sizeof(*b));
    if (!b) {
        bad(c, 503, "busy", "Service busy", "out of memory");
        return;
    }
    json_t *j = json_body(c, b, sb_front_exec_body);
    if (j) {
        b->v[0] = sb_ipc_s(c->cred);
        b->v[1] = sb_ipc_s(c->id);
        int ws = wants_stream(c->req);
        if (b->v[7].u == SB_EXEC_SYNC && ws) b->v[7] = sb_ipc_u(SB_EXEC_STREAM);
        struct pending *p = forward(c->f, c->req, c->route, c->start, SB_IPC_SBX_EXEC, b->v, b->n);
        if (p) p->sse = ws == 2;
        json_decref(j);
    }
    free(b);
}

/* DELETE /v1/sandboxes/{id}, POST .../standby, POST .../resume: no body. */
static void do_sbx_simple(struct ctx *c) {
    if (evbuffer_get_length(evhttp_request_get_input_buffer(c->req)) > 0) {
        bad(c, 400, "bad-request", "Bad request", "this endpoint takes no body");
        return;
    }
    uint16_t type = c->route == R_SBX_ITEM      ? SB_IPC_SBX_DELETE
                    : c->route == R_SBX_STANDBY ? SB_IPC_SBX_STANDBY
                                                : SB_IPC_SBX_RESUME;
    sb_ipc_val v[2] = {sb_ipc_s(c->cred), sb_ipc_s(c->id)};
    forward(c->f, c->req, c->route, c->start, type, v, 2);
}

/* ---- processes ------------------------------------------------------------------------------ */

/* The process id path segment: a decimal number from 1. */
static bool proc_id(struct ctx *c, uint64_t *out) {
    sb_error e = {0};
    if (!c->sub || sb_parse_u64(c->sub, UINT32_MAX, out, &e, "process") < 0 || *out == 0) {
        bad(c, 404, "not-found", "Not found", "no such process");
        return false;
    }
    return true;
}

static bool no_body(struct ctx *c) {
    if (evbuffer_get_length(evhttp_request_get_input_buffer(c->req)) > 0) {
        bad(c, 400, "bad-request", "Bad request", "this endpoint takes no body");
        return false;
    }
    return true;
}

static void do_procs(struct ctx *c) {
    sb_ipc_val v[2] = {sb_ipc_s(c->cred), sb_ipc_s(c->id)};
    forward(c->f, c->req, c->route, c->start, SB_IPC_PROC_LIST, v, 2);
}

static void do_proc(struct ctx *c) {
    uint64_t pid;
    if (!proc_id(c, &pid)) return;
    sb_ipc_val v[3] = {sb_ipc_s(c->cred), sb_ipc_s(c->id), sb_ipc_u(pid)};
    if (c->route == R_PROC_OUTPUT) {
        struct pending *p = forward(c->f, c->req, c->route, c->start, SB_IPC_PROC_OUTPUT, v, 3);
        if (p) p->sse = wants_stream(c->req) == 2;
        return;
    }
    forward(c->f, c->req, c->route, c->start, SB_IPC_PROC_GET, v, 3);
}

/* Signal names a client may send (or their numbers). */
static const struct {
    const char *name;
    int num;
} SIGNALS[] = {{"HUP", SIGHUP},   {"INT", SIGINT},   {"QUIT", SIGQUIT},  {"KILL", SIGKILL},
               {"USR1", SIGUSR1}, {"USR2", SIGUSR2}, {"TERM", SIGTERM},  {"CONT", SIGCONT},
               {"STOP", SIGSTOP}, {"ALRM", SIGALRM}, {"WINCH", SIGWINCH}};

static int check_signal(json_t *j, struct sb_front_body *b) {
    json_t *s = json_object_get(j, "signal");
    if (json_object_size(j) != 1 || !s) {
        (void)snprintf(b->field, sizeof(b->field), "signal");
        (void)snprintf(b->why, sizeof(b->why), "signal: the body is {\"signal\": NAME or NUMBER}");
        return -1;
    }
    int num = 0;
    if (json_is_integer(s) && json_integer_value(s) >= 1 && json_integer_value(s) <= 64) {
        num = (int)json_integer_value(s);
    } else if (json_is_string(s)) {
        const char *n = json_string_value(s);
        if (strncmp(n, "SIG", 3) == 0) n += 3;
        for (size_t i = 0; i < SB_ARRAY_LEN(SIGNALS); i++)
            if (strcmp(n, SIGNALS[i].name) == 0) num = SIGNALS[i].num;
    }
    if (!num) {
        (void)snprintf(b->field, sizeof(b->field), "signal");
        (void)snprintf(b->why, sizeof(b->why),
                       "signal: a number from 1 to 64 or one of HUP INT QUIT KILL USR1 USR2 TERM "
                       "CONT STOP ALRM WINCH");
        return -1;
    }
    b->v[3] = sb_ipc_u((uint64_t)num);
    return 0;
}

static int check_stdin(json_t *j, struct sb_front_body *b) {
    static const char *const TOP[] = {"data", "data_base64", "eof"};
    const char *key;
    json_t *val;
    json_object_foreach(j, key, val) {
        bool known = false;
        for (size_t i = 0; i < SB_ARRAY_LEN(TOP); i++)
            known = known || strcmp(key, TOP[i]) == 0;
        if (!known) {
            (void)snprintf(b->field, sizeof(b->field), "%.64s", key);
            (void)snprintf(b->why, sizeof(b->why), "%.64s: unknown field", key);
            return -1;
        }
    }
    json_t *d = json_object_get(j, "data"), *d64 = json_object_get(j, "data_base64"),
           *eof = json_object_get(j, "eof");
    const char *field = NULL, *why = NULL;
    if (d && d64)
        field = "data", why = "data: give data or data_base64, not both";
    else if (d && !json_is_string(d))
        field = "data", why = "data: must be a string";
    else if (d64 && !json_is_string(d64))
        field = "data_base64", why = "data_base64: must be a base64 string";
    else if (eof && !json_is_boolean(eof))
        field = "eof", why = "eof: must be a boolean";
    if (field) {
        (void)snprintf(b->field, sizeof(b->field), "%s", field);
        (void)snprintf(b->why, sizeof(b->why), "%s", why);
        return -1;
    }
    size_t n = 0;
    if (d) {
        n = json_string_length(d);
        if (n > SB_IPC_STDIN_MAX) field = "data";
        b->v[3] = sb_ipc_b(json_string_value(d), n);
    } else if (d64) {
        const char *s = json_string_value(d64);
        size_t sl = json_string_length(d64);
        uint8_t *dec = NULL;
        sb_error e = {0};
        if (sl > (SB_IPC_STDIN_MAX / 3 + 1) * 4 ||
            sb_base64_decode(s, sl, false, &dec, &n, &e) < 0 || n > sizeof(b->kv)) {
            free(dec);
            (void)snprintf(b->field, sizeof(b->field), "data_base64");
            (void)snprintf(b->why, sizeof(b->why), "data_base64: not base64, or over %u bytes",
                           SB_IPC_STDIN_MAX);
            return -1;
        }
        if (n) memcpy(b->kv, dec, n);
        free(dec);
        if (n > SB_IPC_STDIN_MAX) field = "data_base64";
        b->v[3] = sb_ipc_b(b->kv, n);
    } else {
        b->v[3] = sb_ipc_b("", 0);
    }
    if (field) {
        (void)snprintf(b->field, sizeof(b->field), "%s", field);
        (void)snprintf(b->why, sizeof(b->why), "%s: over %u bytes", field, SB_IPC_STDIN_MAX);
        return -1;
    }
    b->v[4] = sb_ipc_u(json_is_true(eof));
    return 0;
}

static void do_proc_post(struct ctx *c) {
    uint64_t pid;
    if (!proc_id(c, &pid)) return;
    struct sb_front_body *b = calloc(1, sizeof(*b));
    if (!b) {
        bad(c, 503, "busy", "Service busy", "out of memory");
        return;
    }
    bool sig = c->route == R_PROC_SIGNAL;
    json_t *j = json_body(c, b, sig ? check_signal : check_stdin);
    if (j) {
        b->v[0] = sb_ipc_s(c->cred);
        b->v[1] = sb_ipc_s(c->id);
        b->v[2] = sb_ipc_u(pid);
        forward(c->f, c->req, c->route, c->start, sig ? SB_IPC_PROC_SIGNAL : SB_IPC_PROC_STDIN,
                b->v, sig ? 4 : 5);
        json_decref(j);
    }
    free(b);
}

/* ---- files ------------------------------------------------------------------------------------
 */

/* The query's path= (required) and one optional boolean flag: NULL, or what is wrong. */
static const char *file_query_parse(const char *query, const char *flag, char *path, size_t cap,
                                    bool *fl, char msg[160]) {
    struct evkeyvalq q;
    TAILQ_INIT(&q);
    const char *fail = NULL;
    if (!query || evhttp_parse_query_str(query, &q) < 0) fail = "path: the query needs path=";
    path[0] = '\0';
    if (fl) *fl = false;
    for (struct evkeyval *kv = q.tqh_first; kv && !fail; kv = kv->next.tqe_next) {
        if (strcmp(kv->key, "path") == 0) {
            size_t n = strlen(kv->value);
            if (n == 0 || n >= cap) {
                (void)snprintf(msg, 160, "path: 1 to %zu bytes", cap - 1);
                fail = msg;
            } else {
                for (size_t i = 0; i < n && !fail; i++)
                    if ((unsigned char)kv->value[i] < 0x20 || kv->value[i] == 0x7f)
                        fail = "path: control character";
                memcpy(path, kv->value, n + 1);
            }
        } else if (flag && strcmp(kv->key, flag) == 0) {
            if (strcmp(kv->value, "true") == 0)
                *fl = true;
            else if (strcmp(kv->value, "false") != 0) {
                (void)snprintf(msg, 160, "%s: true or false", flag);
                fail = msg;
            }
        } else {
            (void)snprintf(msg, 160, "%.64s: unknown query parameter", kv->key);
            fail = msg;
        }
    }
    if (!fail && !path[0]) fail = "path: is required";
    evhttp_clear_headers(&q);
    return fail;
}

/* The query's path= (required) and one optional boolean flag; false after answering. */
static bool file_query(struct ctx *c, const char *flag, char *path, size_t cap, bool *fl) {
    char msg[160];
    const char *fail = file_query_parse(c->query, flag, path, cap, fl, msg);
    if (fail) {
        json_t *extra = json_pack("{s:[{s:s, s:s}]}", "invalid_params", "name",
                                  strncmp(fail, "path", 4) == 0 ? "path" : (flag ? flag : "query"),
                                  "reason", fail);
        problem(c->f, c->req, c->route, c->start, 400, "invalid-params", "Invalid parameters", fail,
                extra);
        return false;
    }
    return true;
}

static void do_files(struct ctx *c) {
    char path[SB_IPC_PATH_MAX + 1];
    enum evhttp_cmd_type method = evhttp_request_get_command(c->req);
    if (!file_query(c, NULL, path, sizeof(path), NULL)) return;
    if (method == EVHTTP_REQ_GET || method == EVHTTP_REQ_DELETE) {
        if (method == EVHTTP_REQ_DELETE && !no_body(c)) return;
        sb_ipc_val v[3] = {sb_ipc_s(c->cred), sb_ipc_s(c->id), sb_ipc_s(path)};
        forward(c->f, c->req, c->route, c->start,
                method == EVHTTP_REQ_GET ? SB_IPC_FILE_GET : SB_IPC_FILE_DELETE, v, 3);
        return;
    }
    /* PUT of a body evhttp read whole: on_headers did not stream it (the front was out of slots
     * or its monitor queue was full), so it is at most HTTP_BODY_MAX; fed from a queue alike. */
    struct evbuffer *in = evhttp_request_get_input_buffer(c->req);
    size_t n = evbuffer_get_length(in);
    uint64_t max = upload_max(c->f) < UPLOAD_BUFFERED_MAX ? upload_max(c->f) : UPLOAD_BUFFERED_MAX;
    if (n > max) {
        char d[96];
        (void)snprintf(d, sizeof(d), "an upload is at most %llu bytes (this one is %zu)",
                       (unsigned long long)max, n);
        bad(c, 413, "too-large", "Payload too large", d);
        return;
    }
    struct evbuffer *q = evbuffer_new();
    if (!q) {
        bad(c, 503, "busy", "Service busy", "out of memory");
        return;
    }
    sb_ipc_val v[4] = {sb_ipc_s(c->cred), sb_ipc_s(c->id), sb_ipc_s(path), sb_ipc_u(n)};
    struct pending *p = forward(c->f, c->req, c->route, c->start, SB_IPC_FILE_PUT, v, 4);
    if (!p) {
        evbuffer_free(q);
        return;
    }
    (void)evbuffer_add_buffer(q, in);
    p->upq = q;
    p->uploading = true;
    p->up_body_done = true;
    (void)snprintf(p->up_cred, sizeof(p->up_cred), "%s", c->cred);
    (void)snprintf(p->up_sbx, sizeof(p->up_sbx), "%s", c->id);
    c->f->uploads++;
    flush_outq(c->f);
}

static void do_dirs(struct ctx *c) {
    char path[SB_IPC_PATH_MAX + 1];
    bool parents = false;
    bool get = evhttp_request_get_command(c->req) == EVHTTP_REQ_GET;
    if (!file_query(c, get ? NULL : "parents", path, sizeof(path), &parents)) return;
    if (!get && !no_body(c)) return;
    sb_ipc_val v[4] = {sb_ipc_s(c->cred), sb_ipc_s(c->id), sb_ipc_s(path), sb_ipc_u(parents)};
    forward(c->f, c->req, c->route, c->start, get ? SB_IPC_FILE_LIST : SB_IPC_FILE_MKDIR, v,
            get ? 3 : 4);
}

/* GET /v1/openapi.yaml: the document is compiled into the binary (openapi_doc.c). */
static void do_openapi(struct ctx *c) {
    send_body(c->req, 200, "application/yaml", sb_front_openapi_yaml, sb_front_openapi_yaml_size());
    account(c->f, c->route, 200, c->start);
}

typedef void (*route_fn)(struct ctx *c);

struct route_def {
    enum route route;
    enum evhttp_cmd_type method;
    bool auth;
    route_fn fn;
};

static const struct route_def ROUTES[] = {
    {R_HEALTH, EVHTTP_REQ_GET, false, do_health},
    {R_METRICS, EVHTTP_REQ_GET, true, do_metrics},
    {R_TENANT, EVHTTP_REQ_GET, true, do_tenant},
    {R_SBX_COLLECTION, EVHTTP_REQ_GET, true, do_sbx_list},
    {R_SBX_COLLECTION, EVHTTP_REQ_POST, true, do_sbx_create},
    {R_SBX_ITEM, EVHTTP_REQ_GET, true, do_sbx_get},
    {R_SBX_ITEM, EVHTTP_REQ_DELETE, true, do_sbx_simple},
    {R_SBX_EXEC, EVHTTP_REQ_POST, true, do_sbx_exec},
    {R_SBX_STANDBY, EVHTTP_REQ_POST, true, do_sbx_simple},
    {R_SBX_RESUME, EVHTTP_REQ_POST, true, do_sbx_simple},
    {R_PROCS, EVHTTP_REQ_GET, true, do_procs},
    {R_PROC, EVHTTP_REQ_GET, true, do_proc},
    {R_PROC_SIGNAL, EVHTTP_REQ_POST, true, do_proc_post},
    {R_PROC_STDIN, EVHTTP_REQ_POST, true, do_proc_post},
    {R_PROC_OUTPUT, EVHTTP_REQ_GET, true, do_proc},
    {R_FILES, EVHTTP_REQ_GET, true, do_files},
    {R_FILES, EVHTTP_REQ_PUT, true, do_files},
    {R_FILES, EVHTTP_REQ_DELETE, true, do_files},
    {R_DIRS, EVHTTP_REQ_GET, true, do_dirs},
    {R_DIRS, EVHTTP_REQ_POST, true, do_dirs},
    {R_OPENAPI, EVHTTP_REQ_GET, false, do_openapi},
    {R_SBX_LOG, EVHTTP_REQ_GET, true, do_sbx_log},
};

/* Maps a path to a route and, for item routes, the sandbox id segment. */
static enum route match(const char *path, char seg[PATH_SEGS][SB_IPC_ID_MAX + 1], const char **id,
                        const char **sub) {
    size_t n = 0;
    *id = NULL;
    *sub = NULL;
    if (!split_path(path, seg, &n)) return R_NONE;
    if (n == 1 && strcmp(seg[0], "metrics") == 0) return R_METRICS;
    if (n < 2 || strcmp(seg[0], "v1") != 0) return R_NONE;
    if (n == 2 && strcmp(seg[1], "health") == 0) return R_HEALTH;
    if (n == 2 && strcmp(seg[1], "tenant") == 0) return R_TENANT;
    if (n == 2 && strcmp(seg[1], "openapi.yaml") == 0) return R_OPENAPI;
    if (strcmp(seg[1], "sandboxes") != 0) return R_NONE;
    if (n == 2) return R_SBX_COLLECTION;
    *id = seg[2];
    if (n == 3) return R_SBX_ITEM;
    if (strcmp(seg[3], "processes") == 0) {
        if (n == 4) return R_PROCS;
        *sub = seg[4];
        if (n == 5) return R_PROC;
        if (strcmp(seg[5], "signal") == 0) return R_PROC_SIGNAL;
        if (strcmp(seg[5], "stdin") == 0) return R_PROC_STDIN;
        if (strcmp(seg[5], "output") == 0) return R_PROC_OUTPUT;
        return R_NONE;
    }
    if (n > 4) return R_NONE;
    if (strcmp(seg[3], "files") == 0) return R_FILES;
    if (strcmp(seg[3], "dirs") == 0) return R_DIRS;
    if (strcmp(seg[3], "exec") == 0) return R_SBX_EXEC;
    if (strcmp(seg[3], "standby") == 0) return R_SBX_STANDBY;
    if (strcmp(seg[3], "resume") == 0) return R_SBX_RESUME;
    if (strcmp(seg[3], "log") == 0) return R_SBX_LOG;
    return R_NONE;
}

static const char *method_name(enum evhttp_cmd_type m) {
    switch (m) {
    case EVHTTP_REQ_GET: return "GET";
    case EVHTTP_REQ_POST: return "POST";
    case EVHTTP_REQ_DELETE: return "DELETE";
    case EVHTTP_REQ_PUT: return "PUT";
    case EVHTTP_REQ_HEAD: return "HEAD";
    case EVHTTP_REQ_OPTIONS: return "OPTIONS";
    case EVHTTP_REQ_TRACE: return "TRACE";
    case EVHTTP_REQ_CONNECT: return "CONNECT";
    case EVHTTP_REQ_PATCH: return "PATCH";
    default: return "?";
    }
}

static void on_request(struct evhttp_request *req, void *arg) {
    struct front *f = arg;
    struct pending *up = upload_of(f, req);
    if (up) { /* a streamed upload, checked and begun from its headers */
        upload_body_end(f, up);
        return;
    }
    struct ctx c = {.f = f, .req = req, .route = R_NONE, .start = sb_mono_ns()};
    const struct evhttp_uri *u = evhttp_request_get_evhttp_uri(req);
    const char *path = u ? evhttp_uri_get_path(u) : NULL;
    c.query = u ? evhttp_uri_get_query(u) : NULL;
    if (f->gw && path && strcmp(path, "/mcp") == 0) {
        if (f->draining) {
            bad(&c, 503, "unavailable", "Service unavailable", "the daemon is stopping");
            return;
        }
        sb_front_gw_http(f->gw, req);
        return;
    }
    if (f->kbs && path && strncmp(path, "/kbs/v0/", 8) == 0) {
        if (f->draining) {
            bad(&c, 503, "unavailable", "Service unavailable", "the daemon is stopping");
            return;
        }
        sb_front_kbs_request(f, req, path, c.start);
        return;
    }
    char seg[PATH_SEGS][SB_IPC_ID_MAX + 1];
    c.route = match(path, seg, &c.id, &c.sub);
    /* A KBS-only daemon serves no sandbox or tenant API. */
    if (f->cfg->kbs == 2 && c.route != R_HEALTH && c.route != R_METRICS) c.route = R_NONE;
    if (c.route == R_NONE) {
        bad(&c, 404, "not-found", "Not found", "no such endpoint");
        return;
    }
    enum evhttp_cmd_type method = evhttp_request_get_command(req);
    const struct route_def *def = NULL;
    char allow[64] = "";
    for (size_t i = 0; i < SB_ARRAY_LEN(ROUTES); i++) {
        if (ROUTES[i].route != c.route) continue;
        if (ROUTES[i].method == method) def = &ROUTES[i];
        size_t l = strlen(allow);
        (void)snprintf(allow + l, sizeof(allow) - l, "%s%s", l ? ", " : "",
                       method_name(ROUTES[i].method));
    }
    if (!allow[0]) {
        bad(&c, 404, "not-found", "Not found", "no such endpoint");
        return;
    }
    if (!def) {
        (void)evhttp_add_header(evhttp_request_get_output_headers(req), "Allow", allow);
        bad(&c, 405, "method-not-allowed", "Method not allowed", NULL);
        return;
    }
    if (f->draining) {
        bad(&c, 503, "unavailable", "Service unavailable", "the daemon is stopping");
        return;
    }
    if (def->auth) {
        const char *why = NULL;
        c.cred = bearer(req, &why);
        if (!c.cred) {
            bad(&c, 401, "unauthorized", "Unauthorized", why);
            return;
        }
    }
    if (c.id && !sb_store_sandbox_id_valid(c.id)) {
        /* An id that cannot exist is reported like one that does not. */
        bad(&c, 404, "not-found", "Not found", "no such sandbox");
        return;
    }
    if (method == EVHTTP_REQ_GET && evbuffer_get_length(evhttp_request_get_input_buffer(req)) > 0) {
        bad(&c, 400, "bad-request", "Bad request", "GET requests take no body");
        return;
    }
    def->fn(&c);
}

/* ---- streamed uploads: evhttp's header callback -----------------------------------------------
 * evhttp 2.1 hands a request to the server only once its whole body is read, and the per-request
 * hooks that would deliver the body in pieces (evhttp_request_set_header_cb/_chunked_cb) can be
 * set only on a request the application holds before the body arrives — which for incoming
 * requests evhttp creates itself. libevent 2.2 adds evhttp_set_newreqcb for exactly this; on 2.1
 * the front gets the same moment by defining evhttp_parse_firstline_, which libevent exports
 * and calls through the PLT once per request: the definition here runs libevent's own (found
 * with dlsym(RTLD_NEXT)) and, when a request line has been read, sets the public header
 * callback on that request. HTTP is still parsed only by libevent. Should the hook ever not run
 * (a libevent that binds the call internally), uploads fall back to a body evhttp reads whole
 * (at most UPLOAD_BUFFERED_MAX), as before. docs/api.md#files says why this over a second
 * HTTP library. */

typedef int (*parse_firstline_fn)(struct evhttp_request *, struct evbuffer *);
static parse_firstline_fn real_parse_firstline;

static parse_firstline_fn parse_firstline(void) {
    if (!real_parse_firstline) {
        void *sym = dlsym(RTLD_NEXT, "evhttp_parse_firstline_");
        memcpy(&real_parse_firstline, &sym, sizeof(sym));
    }
    return real_parse_firstline;
}

static int on_headers(struct evhttp_request *req, void *arg);

int evhttp_parse_firstline_(struct evhttp_request *req, struct evbuffer *buf);
int evhttp_parse_firstline_(struct evhttp_request *req, struct evbuffer *buf) {
    parse_firstline_fn real = parse_firstline();
    if (!real) return -1; /* DATA_CORRUPTED: cannot happen with libevent loaded */
    int r = real(req, buf);
    /* only the front's own server requests (their callback argument is the evhttp) */
    if (r == 1 /* ALL_DATA_READ */ && g_front && req->kind == EVHTTP_REQUEST &&
        req->cb_arg == g_front->http)
        evhttp_request_set_header_cb(req, on_headers);
    return r;
}

/* A request's headers are read, its body not yet. A PUT to the files route whose key, sandbox id
 * and path are well formed is begun now (FILE_PUT) and its body fed to the monitor as it
 * arrives; anything else goes on as usual (the router answers a bad one, from a body evhttp
 * reads whole, at most HTTP_BODY_MAX). Never answers here: evhttp goes on with the request. */
static int on_headers(struct evhttp_request *req, void *arg) {
    (void)arg;
    struct front *f = g_front;
    struct evhttp_connection *evcon = evhttp_request_get_connection(req);
    if (!f || !evcon) return 0;
    /* an upload earlier on this keep-alive connection raised the limit */
    evhttp_connection_set_max_body_size(evcon, HTTP_BODY_MAX);
    if (evhttp_request_get_command(req) != EVHTTP_REQ_PUT || f->draining || f->cfg->kbs == 2)
        return 0;
    const struct evhttp_uri *u = evhttp_request_get_evhttp_uri(req);
    char seg[PATH_SEGS][SB_IPC_ID_MAX + 1];
    const char *id = NULL, *sub = NULL, *why = NULL;
    if (!u || match(evhttp_uri_get_path(u), seg, &id, &sub) != R_FILES || !id ||
        !sb_store_sandbox_id_valid(id))
        return 0;
    const char *cred = bearer(req, &why);
    char path[SB_IPC_PATH_MAX + 1], msg[160];
    if (!cred || file_query_parse(evhttp_uri_get_query(u), NULL, path, sizeof(path), NULL, msg))
        return 0;
    struct evkeyvalq *h = evhttp_request_get_input_headers(req);
    const char *te = evhttp_find_header(h, "Transfer-Encoding");
    const char *cl = evhttp_find_header(h, "Content-Length");
    uint64_t size = SB_FILES_SIZE_UNKNOWN;
    bool chunked = te && strcasecmp(te, "chunked") == 0;
    sb_error err = {0};
    if (te && !chunked) return 0; /* evhttp's to refuse */
    if (!chunked && (!cl || sb_parse_u64(cl, INT64_MAX, &size, &err, "Content-Length") < 0))
        return 0;
    struct pending *p = slot_new(f, req, R_FILES, sb_mono_ns());
    if (!p) return 0;
    p->upq = evbuffer_new();
    p->up_streamed = true;
    f->streamed++;
    p->up_chunked = chunked;
    p->up_evcon = evcon;
    (void)snprintf(p->up_cred, sizeof(p->up_cred), "%s", cred);
    (void)snprintf(p->up_sbx, sizeof(p->up_sbx), "%s", id);
    bool too_large = size != SB_FILES_SIZE_UNKNOWN && size > upload_max(f);
    if (!p->upq || (!too_large && send_msg(f, SB_IPC_FILE_PUT, p->id,
                                           (sb_ipc_val[4]){sb_ipc_s(cred), sb_ipc_s(id),
                                                           sb_ipc_s(path), sb_ipc_u(size)},
                                           4, &err) < 0)) {
        slot_free(f, p);
        return 0;
    }
    evhttp_request_set_chunked_cb(req, on_upload_chunk);
    evhttp_connection_set_closecb(evcon, on_upload_close, p);
    if (too_large) { /* refused before a byte of it is read */
        evhttp_connection_set_max_body_size(evcon, -1);
        upload_reject(f, p);
        return 0;
    }
    p->uploading = true;
    f->uploads++;
    evhttp_connection_set_max_body_size(evcon, chunked ? (ev_ssize_t)UPLOAD_CHUNK_MAX
                                                       : (ev_ssize_t)upload_max(f));
    /* fewer, larger reads (and evhttp callbacks) for a large body */
    struct bufferevent *bev = evhttp_connection_get_bufferevent(evcon);
    if (bev) (void)bufferevent_set_max_single_read(bev, SB_IPC_UPLOAD_CHUNK);
    return 0;
}

/* ---- setup --------------------------------------------------------------------------------- */

static void front_free(struct front *f) {
    while (f->outq) {
        struct outmsg *o = f->outq;
        f->outq = o->next;
        free(o);
    }
    sb_front_gw_free(f->gw); /* before the evhttp whose requests its sessions may hold */
    f->gw = NULL;
    if (f->http) evhttp_free(f->http);
    if (f->ipc_rd) event_free(f->ipc_rd);
    if (f->ipc_wr) event_free(f->ipc_wr);
    if (f->sigterm) event_free(f->sigterm);
    sb_front_tls_free(f->tls);
    sb_front_kbs_free(f->kbs);
    if (f->base) event_base_free(f->base);
    free(f->rbuf);
}

int sb_front_run(const sb_front_cfg *cfg, sb_error *err) {
    struct front *f = calloc(1, sizeof(*f));
    ENSURE(f, err, SB_E_INTERNAL, "front: out of memory");
    f->cfg = cfg;
    f->outq_tail = &f->outq;
    g_front = f;
    (void)parse_firstline(); /* before seccomp */
    for (unsigned i = 0; i < INFLIGHT_MAX; i++)
        f->slots[i].f = f;
    f->rbuf = malloc(SB_IPC_MSG_MAX + 1);
    int r = f->rbuf ? 0 : sb_error_set(err, SB_E_INTERNAL, "front: out of memory");
    /* The monitor may die without closing our socket cleanly (kill -9): follow it. */
    if (r == 0 && prctl(PR_SET_PDEATHSIG, SIGKILL) < 0)
        r = sb_error_set(err, SB_E_IO, "prctl: %s", strerror(errno));
    (void)prctl(PR_SET_DUMPABLE, 0);
    (void)signal(SIGPIPE, SIG_IGN);
    if (r == 0) {
        f->base = event_base_new();
        f->http = f->base ? evhttp_new(f->base) : NULL;
        if (!f->http) r = sb_error_set(err, SB_E_INTERNAL, "front: libevent setup failed");
    }
    if (r == 0 && cfg->tls_cert)
        r = sb_front_tls_setup(f->http, cfg->tls_cert, cfg->tls_key, &f->tls, err);
    if (r == 0) {
        evhttp_set_max_headers_size(f->http, HTTP_HEADERS_MAX);
        evhttp_set_max_body_size(f->http, HTTP_BODY_MAX);
        evhttp_set_timeout(f->http, HTTP_TIMEOUT_S);
        (void)evhttp_set_flags(f->http, EVHTTP_SERVER_LINGERING_CLOSE);
        /* Every method evhttp knows reaches the router, which answers 405 with Allow; only
         * tokens it does not recognise get evhttp's own 501 (RFC 9110 section 9.1). */
        evhttp_set_allowed_methods(f->http, EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_DELETE |
                                                EVHTTP_REQ_PUT | EVHTTP_REQ_HEAD |
                                                EVHTTP_REQ_OPTIONS | EVHTTP_REQ_TRACE |
                                                EVHTTP_REQ_CONNECT | EVHTTP_REQ_PATCH);
        evhttp_set_gencb(f->http, on_request, f);
        (void)evutil_make_socket_nonblocking(cfg->listen_fd);
        (void)evutil_make_socket_nonblocking(cfg->ipc_fd);
        f->bound = evhttp_accept_socket_with_handle(f->http, cfg->listen_fd);
        f->ipc_rd = event_new(f->base, cfg->ipc_fd, EV_READ | EV_PERSIST, on_ipc_read, f);
        f->ipc_wr = event_new(f->base, cfg->ipc_fd, EV_WRITE, on_ipc_write, f);
        f->sigterm = evsignal_new(f->base, SIGTERM, on_sigterm, f);
        if (!f->bound || !f->ipc_rd || !f->ipc_wr || !f->sigterm ||
            event_add(f->ipc_rd, NULL) < 0 || event_add(f->sigterm, NULL) < 0)
            r = sb_error_set(err, SB_E_INTERNAL, "front: cannot set up events");
    }
    /* The KBS state (sessions, the verifier's warm caches) is made before the sandbox closes
     * the file system. */
    if (r == 0 && cfg->kbs) r = sb_front_kbs_new(cfg, &f->kbs, err);
    if (r == 0 && cfg->gw_fd > 0) r = sb_front_gw_new(f, cfg, f->base, &f->gw, err);
    /* OpenSSL reads its configuration file on first use: the gateway's engines hash (tokens,
     * pins, audit digests) only once seccomp has closed the file system, so hash once now */
    if (r == 0 && cfg->gw_fd > 0) {
        uint8_t d[32];
        r = sb_hash(SB_HASH_SHA256, "x", 1, d, err);
    }
    /* Everything that needs the file system or privileges is done: give them up. */
    if (r == 0 && cfg->drop_privileges) r = sb_front_drop_privileges(err);
    if (r == 0 && cfg->seccomp) r = sb_front_seccomp(err);
    if (r == 0) {
        sb_front_log(f, SB_LOG_INFO, "front %d serving (uid %u%s)", (int)getpid(),
                     (unsigned)getuid(), cfg->seccomp ? ", seccomp" : ", UNCONFINED test build");
        (void)event_base_dispatch(f->base);
        r = f->exit_code ? sb_error_set(err, SB_E_IO, "front: monitor went away (%d)", f->exit_code)
                         : 0;
    }
    flush_outq(f);
    front_free(f);
    g_front = NULL;
    free(f);
    return r;
}
