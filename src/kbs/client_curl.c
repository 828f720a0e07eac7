/* client_curl: the KBS client's libcurl transport (its cookie engine carries the session) and
 * sb_kbs_client_get, the handshake over it. */
#include <curl/curl.h>
#include <stdio.h>
#include <string.h>

#include "kbs.h"

struct sb_kbs_http {
    CURL *c;
    char *url;
    sb_writer *resp; /* the current request's */
};

static size_t on_data(char *p, size_t size, size_t nmemb, void *arg) {
    sb_kbs_http *h = arg;
    size_t n = size * nmemb;
    if (sb_writer_bytes(h->resp, p, n) < 0) return 0; /* over the limit: curl aborts */
    return n;
}

static int http_request(void *arg, const char *method, const char *route, const char *body,
                        size_t body_len, long *status, sb_writer *resp, sb_error *err) {
    sb_kbs_http *h = arg;
    char url[2048];
    int k = snprintf(url, sizeof(url), "%s/kbs/v0/%s", h->url, route);
    ENSURE(k > 0 && (size_t)k < sizeof(url), err, SB_E_USAGE, "kbs client: URL too long");
    h->resp = resp;
    struct curl_slist *hdr = NULL;
    if (body) hdr = curl_slist_append(hdr, "Content-Type: application/json");
    (void)curl_easy_setopt(h->c, CURLOPT_URL, url);
    (void)curl_easy_setopt(h->c, CURLOPT_CUSTOMREQUEST, method);
    (void)curl_easy_setopt(h->c, CURLOPT_HTTPGET, body ? 0L : 1L);
    if (body) {
        (void)curl_easy_setopt(h->c, CURLOPT_POSTFIELDS, body);
        (void)curl_easy_setopt(h->c, CURLOPT_POSTFIELDSIZE, (long)body_len);
    }
    (void)curl_easy_setopt(h->c, CURLOPT_HTTPHEADER, hdr);
    CURLcode rc = curl_easy_perform(h->c);
    curl_slist_free_all(hdr);
    (void)curl_easy_setopt(h->c, CURLOPT_HTTPHEADER, NULL);
    h->resp = NULL;
    ENSURE(rc == CURLE_OK, err, SB_E_IO, "kbs client: %s %s: %s", method, url,
           curl_easy_strerror(rc));
    (void)curl_easy_getinfo(h->c, CURLINFO_RESPONSE_CODE, status);
    return 0;
}

int sb_kbs_http_new(const struct sb_kbs_client_opts *o, sb_kbs_http **out, sb_error *err) {
    ENSURE(o && o->url, err, SB_E_USAGE, "kbs client: url is required");
    ENSURE(strncmp(o->url, "http://", 7) == 0 || strncmp(o->url, "https://", 8) == 0, err,
           SB_E_USAGE, "kbs client: the URL must start with http:// or https://");
    sb_kbs_http *h = calloc(1, sizeof(*h));
    ENSURE(h, err, SB_E_INTERNAL, "out of memory");
    h->url = strdup(o->url);
    h->c = curl_easy_init();
    if (!h->url || !h->c) {
        sb_kbs_http_free(h);
        BAIL(err, SB_E_INTERNAL, "kbs client: curl_easy_init failed");
    }
    (void)curl_easy_setopt(h->c, CURLOPT_COOKIEFILE, ""); /* the session cookie, in memory */
    (void)curl_easy_setopt(h->c, CURLOPT_WRITEFUNCTION, on_data);
    (void)curl_easy_setopt(h->c, CURLOPT_WRITEDATA, h);
    (void)curl_easy_setopt(h->c, CURLOPT_TIMEOUT, o->timeout_s > 0 ? o->timeout_s : 30L);
    (void)curl_easy_setopt(h->c, CURLOPT_NOSIGNAL, 1L);
    (void)curl_easy_setopt(h->c, CURLOPT_PROTOCOLS_STR, "http,https");
    (void)curl_easy_setopt(h->c, CURLOPT_FOLLOWLOCATION, 0L);
    if (o->unix_socket) (void)curl_easy_setopt(h->c, CURLOPT_UNIX_SOCKET_PATH, o->unix_socket);
    if (o->ca_file) (void)curl_easy_setopt(h->c, CURLOPT_CAINFO, o->ca_file);
    *out = h;
    return 0;
}

void sb_kbs_http_free(sb_kbs_http *h) {
    if (!h) return;
    if (h->c) curl_easy_cleanup(h->c);
    free(h->url);
    free(h);
}

void sb_kbs_http_transport(sb_kbs_http *h, struct sb_kbs_transport *out) {
    *out = (struct sb_kbs_transport){.request = http_request, .arg = h};
}

int sb_kbs_client_get(const struct sb_kbs_client_opts *o, const char *path, uint8_t **value,
                      size_t *n, sb_error *err) {
    ENSURE(o && o->url && o->tee && o->evidence && path, err, SB_E_USAGE,
           "kbs client: url, tee, evidence and path are required");
    ENSURE(sb_store_kbs_path_valid(path), err, SB_E_USAGE,
           "kbs client: '%.200s' is not repo/type/tag", path);
    sb_kbs_http *h = NULL;
    TRY(sb_kbs_http_new(o, &h, err));
    struct sb_kbs_transport t;
    sb_kbs_http_transport(h, &t);
    int r = sb_kbs_client_run(o, &t, path, value, n, err);
    sb_kbs_http_free(h);
    return r;
}
