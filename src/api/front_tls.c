/* front_tls: TLS on the front's listener — every accepted connection gets an OpenSSL server
 * session through libevent's bufferevent_openssl; the context comes from src/crypto. */
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>

#include "../crypto/crypto.h"
#include "front_int.h"

static struct bufferevent *tls_bev(struct event_base *base, void *arg) {
    void *ssl = sb_tls_server_session(arg);
    if (!ssl) return NULL;
    return bufferevent_openssl_socket_new(base, -1, ssl, BUFFEREVENT_SSL_ACCEPTING,
                                          BEV_OPT_CLOSE_ON_FREE);
}

int sb_front_tls_setup(struct evhttp *http, const char *cert, const char *key, void **tls,
                       sb_error *err) {
    ENSURE(cert && key, err, SB_E_USAGE, "--tls-cert and --tls-key go together");
    sb_tls_server *s = NULL;
    TRY(sb_tls_server_new(cert, key, &s, err));
    evhttp_set_bevcb(http, tls_bev, s);
    *tls = s;
    return 0;
}

void sb_front_tls_free(void *tls) { sb_tls_server_free(tls); }
