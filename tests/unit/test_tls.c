/* test_tls: the TLS server context wrapper — a matching chain and key load, a key that does not
 * match, a missing file and a file that is not PEM are each refused with the right code. (The
 * handshake itself is exercised end to end by tests/integration/test_daemon.sh with curl.) */
#include <stdio.h>
#include <stdlib.h>

#include "crypto/crypto.h"
#include "harness.h"

static char *tmp(const char *name) {
    static char buf[8][512];
    static int n;
    char *p = buf[n++ % 8];
    (void)snprintf(p, 512, "%s/%s", sb_test_tmpdir(), name);
    return p;
}

/* A throwaway self-signed P-256 certificate and its key, made by the openssl tool. */
static bool make_cert(const char *cert, const char *key) {
    char cmd[2048];
    (void)snprintf(cmd, sizeof(cmd),
                   "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 "
                   "-subj /CN=test -keyout '%s' -out '%s' 2>/dev/null",
                   key, cert);
    return system(cmd) == 0;
}

TEST(tls_server_loads_matching_pair) {
    const char *c = tmp("a.crt"), *k = tmp("a.key");
    if (!make_cert(c, k)) {
        sb_test_skip(true, "openssl tool missing (scripts/packages.txt)");
        return;
    }
    sb_error err = {0};
    sb_tls_server *s = NULL;
    CHECK_OK(sb_tls_server_new(c, k, &s, &err), &err);
    void *ssl = sb_tls_server_session(s);
    CHECK(ssl != NULL);
    sb_tls_session_free(ssl);
    sb_tls_server_free(s);
    sb_tls_server_free(NULL);
}

TEST(tls_server_refuses_bad_inputs) {
    const char *c1 = tmp("b.crt"), *k1 = tmp("b.key"), *c2 = tmp("c.crt"), *k2 = tmp("c.key");
    if (!make_cert(c1, k1) || !make_cert(c2, k2)) {
        sb_test_skip(true, "openssl tool missing (scripts/packages.txt)");
        return;
    }
    sb_error err = {0};
    sb_tls_server *s = NULL;
    CHECK_INT(sb_tls_server_new(c1, k2, &s, &err), SB_E_POLICY);
    CHECK_CONTAINS(err.msg, "does not match");
    CHECK_INT(sb_tls_server_new(tmp("missing.crt"), k1, &s, &err), SB_E_IO);
    CHECK_CONTAINS(err.msg, "certificate chain");
    CHECK_INT(sb_tls_server_new(c1, c1, &s, &err), SB_E_IO);
    CHECK_CONTAINS(err.msg, "private key");
    CHECK_INT(sb_tls_server_new(NULL, k1, &s, &err), SB_E_USAGE);
    CHECK(s == NULL);
}
