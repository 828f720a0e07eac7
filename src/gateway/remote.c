/* remote: the bridge to a remote Streamable HTTP MCP server (2025-11-25 basic/transports). The
 * engine treats it like any server — two pipes carrying newline-delimited JSON-RPC — while a
 * thread of its own POSTs every message through libcurl, turns JSON and SSE answers back into
 * lines, keeps the server's Mcp-Session-Id and the negotiated MCP-Protocol-Version, opens the
 * GET stream once the session is initialized, and ends the session with DELETE. Only the
 * headers of the server's configuration are sent: nothing of the agent's request (its bearer
 * token never reaches the engine) goes to the remote server. Untrusted bytes from the server go
 * through the SSE decoder (sse.c) and, as lines, through the engine's JSON-RPC parser. */
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "internal.h"

#define CONNECT_TIMEOUT_MS 10000
#define NOTIFY_TIMEOUT_MS 30000 /* a POST of a notification or a response */
#define DELETE_TIMEOUT_MS 2000
#define ERROR_BODY_MAX 4096 /* bytes kept of an error answer, for the message */
#define POSTS_MAX (SB_GW_INFLIGHT_MAX + 16)
#define SESSION_ID_MAX 256

enum xkind { X_POST, X_GET };

struct xfer {
    struct gw_remote *r;
    struct xfer *next;
    CURL *h;
    struct curl_slist *hdrs;
    enum xkind kind;
    json_t *id;       /* the id of a POSTed request; NULL for anything else */
    bool init;        /* the initialize request */
    bool initialized; /* the notifications/initialized notification */
    bool typed, sse, answered;
    long status;
    sb_gw_sse dec;
    sb_writer body;
    char fail[320]; /* why the bridge cut the transfer */
};

struct gw_remote {
    const struct sb_gw_server_config *sc;
    int in_rd, out_wr;
    pthread_t th;
    atomic_bool done, status_ready;
    atomic_bool stop; /* gw_remote_stop: end even though the engine's pipe is still open */
    CURLM *m;
    struct xfer *xs;
    size_t n_post;
    char session[SESSION_ID_MAX + 1];
    char version[16];
    bool get_started, fatal;
    char status[256];
    sb_rpc_framer fr;
};

/* ---- checks of the configuration ---------------------------------------------------------- */

int sb_gw_remote_url_check(const char *url, sb_error *err) {
    size_t n = strlen(url);
    ENSURE(n > 0 && n <= 2048, err, SB_E_MALFORMED, "must be 1-2048 bytes");
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)url[i];
        ENSURE(c > 0x20 && c < 0x7f, err, SB_E_MALFORMED,
               "byte %zu is not visible ASCII (percent-encode it)", i);
        ENSURE(c != '\\', err, SB_E_MALFORMED, "a backslash at byte %zu", i);
        ENSURE(c != '#', err, SB_E_MALFORMED, "a fragment ('#' at byte %zu)", i);
    }
    sb_gw_url u;
    sb_error e = {0};
    if (sb_gw_url_parse(url, n, &u, &e) < 0) BAIL(err, SB_E_MALFORMED, "%s", e.msg);
    ENSURE(!u.has_userinfo, err, SB_E_POLICY,
           "credentials in the URL are refused (put them in \"headers\")");
    bool loopback = (u.host_kind == SB_GW_HOST_IPV4 && strncmp(u.host, "127.", 4) == 0) ||
                    (u.host_kind == SB_GW_HOST_IPV6 && strcmp(u.host, "[::1]") == 0) ||
                    (u.host_kind == SB_GW_HOST_DOMAIN && strcmp(u.host, "localhost") == 0);
    if (strcmp(u.scheme, "http") == 0) {
        ENSURE(loopback, err, SB_E_POLICY,
               "http is allowed only to a loopback host (127.0.0.0/8, [::1], localhost); use "
               "https for %s",
               u.host);
    } else {
        ENSURE(strcmp(u.scheme, "https") == 0, err, SB_E_POLICY,
               "scheme '%s' is not https (or http to a loopback host)", u.scheme);
    }
    /* the host libcurl will connect to must be the one checked above */
    CURLU *cu = curl_url();
    ENSURE(cu, err, SB_E_INTERNAL, "out of memory");
    char *host = NULL;
    int rc = 0;
    if (curl_url_set(cu, CURLUPART_URL, url, 0) != CURLUE_OK ||
        curl_url_get(cu, CURLUPART_HOST, &host, 0) != CURLUE_OK)
        rc = sb_error_set(err, SB_E_MALFORMED, "libcurl cannot parse it");
    else if (strcasecmp(host, u.host) != 0)
        rc = sb_error_set(err, SB_E_POLICY,
                          "libcurl would connect to '%.100s', the URL standard reads '%.100s'",
                          host, u.host);
    curl_free(host);
    curl_url_cleanup(cu);
    return rc;
}

int sb_gw_remote_header_check(const char *name, const char *value, sb_error *err) {
    static const char *const reserved[] = {"content-type",
                                           "accept",
                                           "mcp-session-id",
                                           "mcp-protocol-version",
                                           "last-event-id",
                                           "host",
                                           "content-length",
                                           "transfer-encoding",
                                           "connection",
                                           "expect",
                                           NULL};
    size_t n = strlen(name);
    ENSURE(n > 0 && n <= 64, err, SB_E_MALFORMED, "a header name is 1-64 bytes");
    for (size_t i = 0; i < n; i++) {
        char c = name[i];
        bool tok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                   strchr("!#$%&'*+-.^_`|~", c) != NULL;
        ENSURE(tok, err, SB_E_MALFORMED, "'%c' in a header name", c);
    }
    for (size_t i = 0; reserved[i]; i++)
        ENSURE(strcasecmp(name, reserved[i]) != 0, err, SB_E_POLICY,
               "%s is set by the gateway itself", name);
    for (size_t i = 0; value[i]; i++) {
        unsigned char c = (unsigned char)value[i];
        ENSURE((c >= 0x20 && c < 0x7f) || c == '\t', err, SB_E_MALFORMED,
               "byte %zu of the value is not visible ASCII, space or tab", i);
    }
    return 0;
}

/* ---- talking to the engine ----------------------------------------------------------------- */

static void to_engine(struct gw_remote *r, const uint8_t *p, size_t n) {
    /* raw CR/LF in valid JSON can only be whitespace between tokens: a space keeps it one line */
    uint8_t *line = malloc(n + 1);
    if (!line) return;
    sb_reader rd;
    sb_error e = {0};
    sb_reader_init(&rd, p, n, "remote", &e);
    for (size_t i = 0; i < n; i++) {
        uint8_t c = 0;
        if (sb_reader_u8(&rd, &c, "byte") < 0) break;
        line[i] = c == '\n' || c == '\r' ? ' ' : c;
    }
    line[n] = '\n';
    size_t off = 0;
    while (off < n + 1) {
        ssize_t w = write(r->out_wr, line + off, n + 1 - off);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) break; /* the engine is gone */
        off += (size_t)w;
    }
    free(line);
}

static void error_to_engine(struct gw_remote *r, json_t *id, const char *msg) {
    json_t *m = json_pack("{sssOs{siss}}", "jsonrpc", "2.0", "id", id, "error", "code",
                          SB_RPC_SERVER_GONE, "message", msg);
    char *s = m ? json_dumps(m, JSON_COMPACT) : NULL;
    if (s) to_engine(r, (const uint8_t *)s, strlen(s));
    free(s);
    json_decref(m);
}

/* Notes what a message from the server means for its transfer: the answer to its request, and
 * for initialize the protocol version spoken from then on. */
static void seen(struct xfer *x, const uint8_t *p, size_t n) {
    if (!x->id) return;
    json_t *m = json_loadb((const char *)p, n, 0, NULL);
    if (json_is_object(m) && !json_object_get(m, "method") &&
        json_equal(json_object_get(m, "id"), x->id)) {
        x->answered = true;
        const char *v =
            json_string_value(json_object_get(json_object_get(m, "result"), "protocolVersion"));
        if (x->init && v && strlen(v) < sizeof(x->r->version))
            snprintf(x->r->version, sizeof(x->r->version), "%s", v);
    }
    json_decref(m);
}

static int on_event(void *ctx, const char *event, const uint8_t *data, size_t n, const char *id) {
    struct xfer *x = ctx;
    (void)id;
    if (strcmp(event, "message") != 0 || n == 0) return 0;
    seen(x, data, n);
    to_engine(x->r, data, n);
    return 0;
}

/* ---- transfers --------------------------------------------------------------------------------
 */

static bool session_ok(const char *s) {
    size_t n = strlen(s);
    if (n == 0 || n > SESSION_ID_MAX) return false;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] < 0x21 || (unsigned char)s[i] > 0x7e) return false;
    return true;
}

/* The answer's Content-Type, and for initialize the session the server assigned. */
static void typed(struct xfer *x) {
    if (x->typed) return;
    x->typed = true;
    (void)curl_easy_getinfo(x->h, CURLINFO_RESPONSE_CODE, &x->status);
    struct curl_header *hd = NULL;
    if (curl_easy_header(x->h, "Content-Type", 0, CURLH_HEADER, -1, &hd) == CURLHE_OK)
        x->sse = strncasecmp(hd->value, "text/event-stream", 17) == 0;
    if (x->init && x->status >= 200 && x->status < 300 &&
        curl_easy_header(x->h, "Mcp-Session-Id", 0, CURLH_HEADER, -1, &hd) == CURLHE_OK) {
        if (session_ok(hd->value)) {
            snprintf(x->r->session, sizeof(x->r->session), "%s", hd->value);
        } else {
            snprintf(x->fail, sizeof(x->fail),
                     "remote server %s: its Mcp-Session-Id is not 1-%d visible ASCII bytes",
                     x->r->sc->name, SESSION_ID_MAX);
        }
    }
}

static size_t on_body(char *p, size_t size, size_t nmemb, void *arg) {
    struct xfer *x = arg;
    size_t n = size * nmemb;
    typed(x);
    if (x->fail[0]) return 0;
    if (x->status >= 300 || !x->sse) {
        size_t max = x->status >= 300 ? ERROR_BODY_MAX : (size_t)x->r->sc->max_message_bytes;
        if (x->body.len + n > max) {
            if (x->status >= 300) return n; /* keep the first bytes of an error */
            snprintf(x->fail, sizeof(x->fail),
                     "server %s: the response is over %llu bytes (max_message_bytes)",
                     x->r->sc->name, (unsigned long long)x->r->sc->max_message_bytes);
            return 0;
        }
        (void)sb_writer_bytes(&x->body, p, n);
        if (sb_writer_status(&x->body) < 0) {
            snprintf(x->fail, sizeof(x->fail), "server %s: out of memory", x->r->sc->name);
            return 0;
        }
        return n;
    }
    sb_error e = {0};
    if (sb_gw_sse_push(&x->dec, (const uint8_t *)p, n, on_event, x, &e) < 0) {
        snprintf(x->fail, sizeof(x->fail), "server %s: %.250s", x->r->sc->name, e.msg);
        return 0;
    }
    return n;
}

static void xfer_free(struct gw_remote *r, struct xfer *x) {
    for (struct xfer **pp = &r->xs; *pp; pp = &(*pp)->next)
        if (*pp == x) {
            *pp = x->next;
            break;
        }
    if (x->kind == X_POST) r->n_post--;
    if (x->h) {
        (void)curl_multi_remove_handle(r->m, x->h);
        curl_easy_cleanup(x->h);
    }
    curl_slist_free_all(x->hdrs);
    json_decref(x->id);
    sb_gw_sse_free(&x->dec);
    sb_writer_free(&x->body);
    free(x);
}

/* Options and headers every request to the server carries. */
static bool common(struct gw_remote *r, CURL *h, struct curl_slist **hdrs) {
    const struct sb_gw_server_config *sc = r->sc;
    bool ok = curl_easy_setopt(h, CURLOPT_URL, sc->url) == CURLE_OK;
    (void)curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    (void)curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    (void)curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L); /* a redirect would carry the headers */
    (void)curl_easy_setopt(h, CURLOPT_PROXY, "");          /* no proxy from the environment */
    (void)curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, (long)CONNECT_TIMEOUT_MS);
    (void)curl_easy_setopt(h, CURLOPT_TCP_KEEPALIVE, 1L);
    (void)curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 1L);
    (void)curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 2L);
    if (sc->ca_file) (void)curl_easy_setopt(h, CURLOPT_CAINFO, sc->ca_file);
    char b[SESSION_ID_MAX + 64];
    if (r->session[0]) {
        snprintf(b, sizeof(b), "Mcp-Session-Id: %s", r->session);
        *hdrs = curl_slist_append(*hdrs, b);
    }
    if (r->version[0]) {
        snprintf(b, sizeof(b), "MCP-Protocol-Version: %s", r->version);
        *hdrs = curl_slist_append(*hdrs, b);
    }
    for (char **p = sc->headers; p && *p; p++)
        *hdrs = curl_slist_append(*hdrs, *p);
    return ok && *hdrs != NULL;
}

static struct xfer *xfer_new(struct gw_remote *r, enum xkind kind) {
    struct xfer *x = calloc(1, sizeof(*x));
    if (!x) return NULL;
    x->r = r;
    x->kind = kind;
    sb_gw_sse_init(&x->dec, r->sc->max_message_bytes);
    sb_writer_init(&x->body, r->sc->max_message_bytes);
    x->h = curl_easy_init();
    x->next = r->xs;
    r->xs = x;
    if (kind == X_POST) r->n_post++;
    if (!x->h) {
        xfer_free(r, x);
        return NULL;
    }
    (void)curl_easy_setopt(x->h, CURLOPT_PRIVATE, x);
    (void)curl_easy_setopt(x->h, CURLOPT_WRITEFUNCTION, on_body);
    (void)curl_easy_setopt(x->h, CURLOPT_WRITEDATA, x);
    return x;
}

static void start_get(struct gw_remote *r) {
    r->get_started = true;
    struct xfer *x = xfer_new(r, X_GET);
    if (!x) return;
    x->hdrs = curl_slist_append(NULL, "Accept: text/event-stream");
    if (!x->hdrs || !common(r, x->h, &x->hdrs) ||
        curl_easy_setopt(x->h, CURLOPT_HTTPHEADER, x->hdrs) != CURLE_OK ||
        curl_multi_add_handle(r->m, x->h) != CURLM_OK)
        xfer_free(r, x);
}

/* One line from the engine: POSTed as it is. */
static int from_engine(void *ctx, enum sb_rpc_frame_kind kind, const uint8_t *p, size_t n) {
    struct gw_remote *r = ctx;
    if (kind != SB_RPC_FRAME_LINE) return 0;
    json_t *m = json_loadb((const char *)p, n, 0, NULL);
    const char *method = json_string_value(json_object_get(m, "method"));
    json_t *id = method ? json_object_get(m, "id") : NULL;
    if (r->n_post >= POSTS_MAX) {
        if (id) error_to_engine(r, id, "the bridge to the remote server has too many requests");
        json_decref(m);
        return 0;
    }
    struct xfer *x = xfer_new(r, X_POST);
    if (!x) {
        if (id) error_to_engine(r, id, "out of memory");
        json_decref(m);
        return 0;
    }
    x->id = json_incref(id);
    x->init = method && strcmp(method, "initialize") == 0;
    x->initialized = method && strcmp(method, "notifications/initialized") == 0;
    x->hdrs = curl_slist_append(NULL, "Content-Type: application/json");
    x->hdrs = curl_slist_append(x->hdrs, "Accept: application/json, text/event-stream");
    x->hdrs = curl_slist_append(x->hdrs, "Expect:");
    long to = id ? (long)(r->sc->timeout_ms + 5000) : NOTIFY_TIMEOUT_MS;
    bool ok = x->hdrs && common(r, x->h, &x->hdrs) &&
              curl_easy_setopt(x->h, CURLOPT_HTTPHEADER, x->hdrs) == CURLE_OK &&
              curl_easy_setopt(x->h, CURLOPT_POSTFIELDSIZE, (long)n) == CURLE_OK &&
              curl_easy_setopt(x->h, CURLOPT_COPYPOSTFIELDS, p) == CURLE_OK &&
              curl_easy_setopt(x->h, CURLOPT_TIMEOUT_MS, to) == CURLE_OK &&
              curl_multi_add_handle(r->m, x->h) == CURLM_OK;
    if (!ok) {
        if (id) error_to_engine(r, id, "the bridge cannot start an HTTP request");
        xfer_free(r, x);
    }
    /* a request the engine gave up on: its transfer ends with the notification */
    if (ok && method && strcmp(method, "notifications/cancelled") == 0) {
        json_t *rid = json_object_get(json_object_get(m, "params"), "requestId");
        for (struct xfer *y = r->xs; y; y = y->next)
            if (y->id && json_equal(y->id, rid)) {
                y->answered = true; /* the engine answered the agent already */
                xfer_free(r, y);
                break;
            }
    }
    json_decref(m);
    return 0;
}

/* Printable ASCII of an error answer, for the message. */
static void snippet(const sb_writer *w, char *out, size_t cap) {
    size_t k = 0;
    sb_reader rd;
    sb_error e = {0};
    sb_reader_init(&rd, w->buf, w->len, "remote", &e);
    while (k + 1 < cap && sb_reader_remaining(&rd) > 0) {
        uint8_t c = 0;
        if (sb_reader_u8(&rd, &c, "byte") < 0) break;
        out[k++] = c >= 0x20 && c < 0x7f ? (char)c : ' ';
    }
    out[k] = 0;
}

static void finished(struct gw_remote *r, struct xfer *x, CURLcode rc) {
    typed(x);
    long st = x->status;
    if (x->kind == X_GET) { /* the stream ended, or the server offers none (405): not reopened */
        xfer_free(r, x);
        return;
    }
    if (rc == CURLE_OK && !x->fail[0] && st >= 200 && st < 300 && !x->sse && x->body.len > 0) {
        seen(x, x->body.buf, x->body.len);
        to_engine(r, x->body.buf, x->body.len);
    }
    if (x->id && !x->answered) {
        char why[600], body[220];
        snippet(&x->body, body, sizeof(body));
        if (x->fail[0])
            snprintf(why, sizeof(why), "%s", x->fail);
        else if (rc != CURLE_OK)
            snprintf(why, sizeof(why), "remote server %s: %s", r->sc->name, curl_easy_strerror(rc));
        else if (st == 404 && r->session[0]) {
            snprintf(why, sizeof(why), "remote server %s: the session ended (HTTP 404)",
                     r->sc->name);
            snprintf(r->status, sizeof(r->status), "err the remote session ended (HTTP 404)");
            r->fatal = true;
        } else if (st >= 300)
            snprintf(why, sizeof(why), "remote server %s: HTTP %ld%s%s", r->sc->name, st,
                     body[0] ? ": " : "", body);
        else
            snprintf(why, sizeof(why), "remote server %s: HTTP %ld without an answer", r->sc->name,
                     st);
        error_to_engine(r, x->id, why);
    }
    if (x->initialized && rc == CURLE_OK && st >= 200 && st < 300 && !r->get_started &&
        r->session[0])
        start_get(r);
    xfer_free(r, x);
}

static void end_session(struct gw_remote *r) {
    CURL *h = curl_easy_init();
    struct curl_slist *hdrs = NULL;
    if (h && common(r, h, &hdrs)) {
        (void)curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
        (void)curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, "DELETE");
        (void)curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)DELETE_TIMEOUT_MS);
        (void)curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, NULL);
        FILE *null = fopen("/dev/null", "w");
        if (null) (void)curl_easy_setopt(h, CURLOPT_WRITEDATA, null);
        (void)curl_easy_perform(h);
        if (null) fclose(null);
    }
    curl_slist_free_all(hdrs);
    if (h) curl_easy_cleanup(h);
}

static void *bridge_main(void *arg) {
    struct gw_remote *r = arg;
    r->m = curl_multi_init();
    bool open = r->m != NULL;
    if (!open) snprintf(r->status, sizeof(r->status), "err libcurl: cannot start");
    while (open && !r->fatal && !atomic_load(&r->stop)) {
        int running = 0;
        (void)curl_multi_perform(r->m, &running);
        CURLMsg *msg;
        int q = 0;
        while (!r->fatal && (msg = curl_multi_info_read(r->m, &q)) != NULL) {
            if (msg->msg != CURLMSG_DONE) continue;
            struct xfer *x = NULL;
            (void)curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&x);
            if (x) finished(r, x, msg->data.result);
        }
        if (r->fatal) break;
        struct curl_waitfd w = {.fd = r->in_rd, .events = CURL_WAIT_POLLIN, .revents = 0};
        if (curl_multi_poll(r->m, &w, 1, 1000, NULL) != CURLM_OK) break;
        if (!(w.revents & (CURL_WAIT_POLLIN | CURL_WAIT_POLLPRI))) continue;
        uint8_t buf[65536];
        ssize_t n = read(r->in_rd, buf, sizeof(buf));
        if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
        if (n <= 0) break; /* the engine stopped the server */
        (void)sb_rpc_framer_push(&r->fr, buf, (size_t)n, from_engine, r);
    }
    while (r->xs)
        xfer_free(r, r->xs);
    if (r->m && r->session[0]) end_session(r);
    if (r->m) curl_multi_cleanup(r->m);
    atomic_store(&r->status_ready, true);
    close(r->out_wr); /* the engine reads EOF */
    r->out_wr = -1;
    atomic_store(&r->done, true);
    return NULL;
}

/* ---- the engine's side ------------------------------------------------------------------------
 */

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_rc = CURLE_OK;
static void curl_init(void) { curl_init_rc = curl_global_init(CURL_GLOBAL_DEFAULT); }

int gw_remote_start(const struct sb_gw_server_config *sc, struct gw_proc *p, sb_error *err) {
    memset(p, 0, sizeof(*p));
    p->pid = -1;
    p->in_fd = p->out_fd = p->status_fd = -1;
    (void)pthread_once(&curl_once, curl_init);
    ENSURE(curl_init_rc == CURLE_OK, err, SB_E_INTERNAL, "server %s: libcurl: %s", sc->name,
           curl_easy_strerror(curl_init_rc));
    int in[2], out[2];
    if (pipe2(in, O_CLOEXEC) != 0)
        BAIL(err, SB_E_IO, "server %s: pipe: %s", sc->name, strerror(errno));
    if (pipe2(out, O_CLOEXEC) != 0) {
        int e = errno;
        close(in[0]), close(in[1]);
        BAIL(err, SB_E_IO, "server %s: pipe: %s", sc->name, strerror(e));
    }
    struct gw_remote *r = calloc(1, sizeof(*r));
    if (!r) {
        close(in[0]), close(in[1]), close(out[0]), close(out[1]);
        BAIL(err, SB_E_INTERNAL, "out of memory");
    }
    r->sc = sc;
    r->in_rd = in[0];
    r->out_wr = out[1];
    sb_rpc_framer_init(&r->fr, SB_RPC_MSG_MAX + 65536);
    (void)fcntl(in[0], F_SETFL, O_NONBLOCK);
    (void)fcntl(in[1], F_SETFL, O_NONBLOCK);
    (void)fcntl(out[0], F_SETFL, O_NONBLOCK);
    /* the thread takes no signals: they stay with the gateway's own thread */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &old);
    int rc = pthread_create(&r->th, NULL, bridge_main, r);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rc != 0) {
        close(in[0]), close(in[1]), close(out[0]), close(out[1]);
        sb_rpc_framer_free(&r->fr);
        free(r);
        BAIL(err, SB_E_IO, "server %s: cannot start the bridge thread: %s", sc->name, strerror(rc));
    }
    p->in_fd = in[1];
    p->out_fd = out[0];
    p->remote = r;
    return 0;
}

bool gw_remote_status(struct gw_proc *p) {
    struct gw_remote *r = p->remote;
    if (r && atomic_load(&r->status_ready) && r->status[0])
        snprintf(p->status, sizeof(p->status), "%s", r->status);
    return true;
}

void gw_remote_stop(struct gw_proc *p) {
    if (p->remote) atomic_store(&p->remote->stop, true);
}

bool gw_remote_reap(struct gw_proc *p, bool wait) {
    struct gw_remote *r = p->remote;
    if (!r) return true;
    if (!wait && !atomic_load(&r->done)) return false;
    (void)pthread_join(r->th, NULL);
    (void)gw_remote_status(p);
    close(r->in_rd);
    sb_rpc_framer_free(&r->fr);
    free(r);
    p->remote = NULL;
    p->exited = true;
    return true;
}
