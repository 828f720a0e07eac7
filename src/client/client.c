/* client: sealboxd's API over libcurl (see client.h). */
#include <curl/curl.h>
#include <jansson.h>
#include <string.h>

#include "client.h"

struct sb_client {
    CURL *curl;
    char *base; /* "http://sealbox" over a socket, else the URL without a trailing slash */
    char *socket_path, *ca_file;
    char auth[160];
};

int sb_client_new(const sb_client_cfg *cfg, sb_client **out, sb_error *err) {
    ENSURE(cfg && cfg->key && cfg->key[0], err, SB_E_USAGE,
           "client: no API key (set SEALBOX_API_KEY)");
    ENSURE(strlen(cfg->key) < 128, err, SB_E_USAGE, "client: the API key is too long");
    ENSURE(cfg->url || cfg->socket_path, err, SB_E_USAGE, "client: no socket and no URL");
    ENSURE(curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK, err, SB_E_INTERNAL,
           "client: libcurl does not initialise");
    sb_client *c = calloc(1, sizeof(*c));
    ENSURE(c, err, SB_E_INTERNAL, "client: out of memory");
    c->curl = curl_easy_init();
    if (cfg->url) {
        size_t n = strlen(cfg->url);
        while (n && cfg->url[n - 1] == '/')
            n--;
        c->base = strndup(cfg->url, n);
    } else {
        c->base = strdup("http://sealbox");
        c->socket_path = strdup(cfg->socket_path);
    }
    if (cfg->ca_file) c->ca_file = strdup(cfg->ca_file);
    (void)snprintf(c->auth, sizeof(c->auth), "Authorization: Bearer %s", cfg->key);
    if (!c->curl || !c->base || (!cfg->url && !c->socket_path) || (cfg->ca_file && !c->ca_file)) {
        sb_client_free(c);
        BAIL(err, SB_E_INTERNAL, "client: out of memory");
    }
    if (cfg->url && strncmp(cfg->url, "https://", 8) != 0 && strncmp(cfg->url, "http://", 7) != 0) {
        sb_client_free(c);
        BAIL(err, SB_E_USAGE, "client: --url must start with https:// or http://");
    }
    *out = c;
    return 0;
}

void sb_client_free(sb_client *c) {
    if (!c) return;
    if (c->curl) curl_easy_cleanup(c->curl);
    sb_wipe(c->auth, sizeof(c->auth));
    free(c->base);
    free(c->socket_path);
    free(c->ca_file);
    free(c);
}

void sb_client_resp_free(sb_client_resp *rs) { sb_writer_free(&rs->body); }

char *sb_client_escape(sb_client *c, const char *s) {
    char *e = curl_easy_escape(c->curl, s, 0);
    char *r = e ? strdup(e) : NULL;
    curl_free(e);
    return r;
}

struct xfer {
    const sb_client_req *rq;
    sb_client_resp *rs;
    bool overflow;
    uint64_t file_size; /* X-Sealbox-File-Size of a download (0: none) */
};

static size_t on_body(char *p, size_t size, size_t n, void *arg) {
    struct xfer *x = arg;
    size_t len = size * n;
    if (x->rq->sink && x->rs->status < 300 && x->rs->status >= 200)
        return x->rq->sink((const uint8_t *)p, len, x->rq->sink_arg) ? len : 0;
    if (x->rs->body.len + len > SB_CLIENT_BODY_MAX) {
        x->overflow = true;
        return 0;
    }
    (void)sb_writer_bytes(&x->rs->body, p, len);
    return len;
}

static size_t on_header(char *p, size_t size, size_t n, void *arg) {
    struct xfer *x = arg;
    size_t len = size * n;
    /* the status line comes before the body: a sink sees only a success's body */
    if (len > 13 && strncasecmp(p, "content-type:", 13) == 0) {
        size_t off = 13;
        while (off < len && p[off] == ' ')
            off++;
        size_t k = len - off;
        while (k && (p[off + k - 1] == '\r' || p[off + k - 1] == '\n'))
            k--;
        if (k >= sizeof(x->rs->ctype)) k = sizeof(x->rs->ctype) - 1;
        memcpy(x->rs->ctype, p + off, k);
        x->rs->ctype[k] = '\0';
    } else if (len > 20 && strncasecmp(p, "x-sealbox-file-size:", 20) == 0) {
        char v[24];
        size_t off = 20, k = 0;
        while (off < len && p[off] == ' ')
            off++;
        while (off + k < len && p[off + k] >= '0' && p[off + k] <= '9' && k < sizeof(v) - 1) {
            v[k] = p[off + k];
            k++;
        }
        v[k] = '\0';
        sb_error e = {0};
        if (k == 0 || sb_parse_u64(v, UINT64_MAX, &x->file_size, &e, "X-Sealbox-File-Size") < 0)
            x->file_size = 0;
    } else if (len > 5 && strncmp(p, "HTTP/", 5) == 0) {
        const char *sp = memchr(p, ' ', len);
        if (sp) x->rs->status = strtol(sp + 1, NULL, 10);
    }
    return len;
}

static int on_progress(void *arg, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
                       curl_off_t ulnow) {
    struct xfer *x = arg;
    uint64_t dt = dltotal > 0 ? (uint64_t)dltotal : x->file_size;
    return x->rq->progress(ulnow > 0 ? (uint64_t)ulnow : 0, ultotal > 0 ? (uint64_t)ultotal : 0,
                           dlnow > 0 ? (uint64_t)dlnow : 0, dt, x->rq->progress_arg)
               ? 0
               : 1;
}

int sb_client_do(sb_client *c, const sb_client_req *rq, sb_client_resp *rs, sb_error *err) {
    memset(rs, 0, sizeof(*rs));
    sb_writer_init(&rs->body, SB_CLIENT_BODY_MAX + 1);
    size_t plen = strlen(c->base) + strlen(rq->path) + 1;
    char *url = malloc(plen);
    ENSURE(url, err, SB_E_INTERNAL, "client: out of memory");
    (void)snprintf(url, plen, "%s%s", c->base, rq->path);
    CURL *h = c->curl;
    curl_easy_reset(h);
    struct curl_slist *hdr = NULL;
    char accept[160];
    (void)snprintf(accept, sizeof(accept), "Accept: %s",
                   rq->accept ? rq->accept : "application/json");
    hdr = curl_slist_append(hdr, c->auth);
    hdr = curl_slist_append(hdr, accept);
    hdr = curl_slist_append(hdr, "Expect:"); /* no 100-continue round trip */
    char ct[160];
    if (rq->ctype) {
        (void)snprintf(ct, sizeof(ct), "Content-Type: %s", rq->ctype);
        hdr = curl_slist_append(hdr, ct);
    }
    struct xfer x = {rq, rs, false, 0};
    (void)curl_easy_setopt(h, CURLOPT_URL, url);
    if (c->socket_path) (void)curl_easy_setopt(h, CURLOPT_UNIX_SOCKET_PATH, c->socket_path);
    if (c->ca_file) (void)curl_easy_setopt(h, CURLOPT_CAINFO, c->ca_file);
    (void)curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdr);
    (void)curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, rq->method);
    (void)curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    (void)curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    (void)curl_easy_setopt(h, CURLOPT_WRITEDATA, &x);
    (void)curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
    (void)curl_easy_setopt(h, CURLOPT_HEADERDATA, &x);
    (void)curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    if (rq->progress) {
        (void)curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, on_progress);
        (void)curl_easy_setopt(h, CURLOPT_XFERINFODATA, &x);
        (void)curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
    }
    if (rq->body_file) {
        (void)curl_easy_setopt(h, CURLOPT_UPLOAD, 1L);
        (void)curl_easy_setopt(h, CURLOPT_READDATA, rq->body_file);
        (void)curl_easy_setopt(h, CURLOPT_INFILESIZE_LARGE, (curl_off_t)rq->body_file_len);
        (void)curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, rq->method);
    } else if (rq->body) {
        (void)curl_easy_setopt(h, CURLOPT_POSTFIELDS, rq->body);
        (void)curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)rq->body_len);
    } else if (strcmp(rq->method, "POST") == 0) {
        (void)curl_easy_setopt(h, CURLOPT_POSTFIELDS, "");
        (void)curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)0);
    }
    CURLcode cc = curl_easy_perform(h);
    long code = 0;
    (void)curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code);
    curl_slist_free_all(hdr);
    free(url);
    if (code) rs->status = code;
    (void)sb_writer_u8(&rs->body, 0);
    if (rs->body.len) rs->body.len--; /* the NUL is not part of the body */
    if (x.overflow) BAIL(err, SB_E_LIMIT, "client: reply over %u bytes", SB_CLIENT_BODY_MAX);
    if (cc == CURLE_WRITE_ERROR && rq->sink && rs->status)
        BAIL(err, SB_E_IO, "client: the transfer was stopped");
    if (cc != CURLE_OK)
        BAIL(err, SB_E_IO, "client: %s%s%s", curl_easy_strerror(cc), c->socket_path ? " on " : "",
             c->socket_path ? c->socket_path : "");
    return 0;
}

void sb_client_problem(const sb_client_resp *rs, char *buf, size_t cap) {
    json_t *j = rs->body.len ? json_loadb((const char *)rs->body.buf, rs->body.len, 0, NULL) : NULL;
    const char *d = json_string_value(json_object_get(j, "detail"));
    if (!d) d = json_string_value(json_object_get(j, "title"));
    if (d)
        (void)snprintf(buf, cap, "%s (HTTP %ld)", d, rs->status);
    else
        (void)snprintf(buf, cap, "HTTP %ld", rs->status);
    json_decref(j);
}
