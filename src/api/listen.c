/* listen: the daemon's listening socket — "unix:PATH" (mode 0660) or "tcp:HOST:PORT" — opened by
 * the monitor and handed to each front it starts, so a front restart drops no queued client. */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include "api.h"

#define LISTEN_BACKLOG 512

int sb_listen_parse(const char *s, sb_listen_spec *out, sb_error *err) {
    ENSURE(s, err, SB_E_USAGE, "--listen: empty");
    sb_listen_spec sp;
    memset(&sp, 0, sizeof(sp));
    if (strncmp(s, "unix:", 5) == 0) {
        const char *p = s + 5;
        size_t n = strlen(p);
        ENSURE(n > 0 && p[0] == '/', err, SB_E_USAGE, "--listen unix:PATH needs an absolute path");
        ENSURE(n < sizeof(sp.path), err, SB_E_LIMIT, "--listen: unix socket path over %zu bytes",
               sizeof(sp.path) - 1);
        sp.kind = SB_LISTEN_UNIX;
        memcpy(sp.path, p, n + 1);
    } else if (strncmp(s, "tcp:", 4) == 0) {
        const char *p = s + 4;
        const char *colon;
        size_t hlen;
        if (p[0] == '[') {
            const char *close = strchr(p, ']');
            ENSURE(close && close[1] == ':', err, SB_E_USAGE, "--listen tcp:[ADDR]:PORT");
            p++;
            hlen = (size_t)(close - p);
            colon = close + 1;
        } else {
            colon = strrchr(p, ':');
            ENSURE(colon, err, SB_E_USAGE, "--listen tcp:HOST:PORT");
            hlen = (size_t)(colon - p);
        }
        ENSURE(hlen > 0 && hlen < sizeof(sp.host), err, SB_E_USAGE, "--listen: bad host");
        memcpy(sp.host, p, hlen);
        sp.host[hlen] = '\0';
        uint64_t port;
        TRY(sb_parse_u64(colon + 1, 65535, &port, err, "--listen port"));
        sp.kind = SB_LISTEN_TCP;
        sp.port = (uint16_t)port;
    } else {
        BAIL(err, SB_E_USAGE, "--listen takes unix:PATH or tcp:HOST:PORT, not '%s'", s);
    }
    *out = sp;
    return 0;
}

bool sb_listen_is_loopback(const sb_listen_spec *spec) {
    if (spec->kind != SB_LISTEN_TCP) return false;
    struct in_addr a4;
    struct in6_addr a6;
    if (inet_pton(AF_INET, spec->host, &a4) == 1) return (ntohl(a4.s_addr) >> 24) == 127;
    if (inet_pton(AF_INET6, spec->host, &a6) == 1) return IN6_IS_ADDR_LOOPBACK(&a6);
    return strcmp(spec->host, "localhost") == 0;
}

static int open_unix(const sb_listen_spec *spec, int *out, sb_error *err) {
    struct sockaddr_un sa;
    memset(&sa, 0, sizeof(sa));
    sa.sun_family = AF_UNIX;
    memcpy(sa.sun_path, spec->path, strlen(spec->path) + 1);
    struct stat st;
    if (lstat(spec->path, &st) == 0) {
        /* A socket left by a crashed daemon is replaced; anything else is not ours to remove. */
        ENSURE(S_ISSOCK(st.st_mode), err, SB_E_IO, "%s exists and is not a socket", spec->path);
        int probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (probe >= 0) {
            int c = connect(probe, (struct sockaddr *)&sa, sizeof(sa));
            (void)close(probe);
            ENSURE(c < 0, err, SB_E_IO, "%s: another daemon is listening on it", spec->path);
        }
        if (unlink(spec->path) < 0) BAIL(err, SB_E_IO, "%s: %s", spec->path, strerror(errno));
    }
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0) BAIL(err, SB_E_IO, "socket: %s", strerror(errno));
    /* Bind under a umask that already gives 0660, so there is no window with a wider mode. */
    mode_t old = umask(0117);
    int b = bind(fd, (struct sockaddr *)&sa, sizeof(sa));
    int e = errno;
    umask(old);
    if (b < 0) {
        (void)close(fd);
        BAIL(err, SB_E_IO, "bind %s: %s", spec->path, strerror(e));
    }
    if (chmod(spec->path, 0660) < 0 || listen(fd, LISTEN_BACKLOG) < 0) {
        e = errno;
        (void)close(fd);
        BAIL(err, SB_E_IO, "%s: %s", spec->path, strerror(e));
    }
    *out = fd;
    return 0;
}

static int open_tcp(const sb_listen_spec *spec, int *out, sb_error *err) {
    struct addrinfo hints, *res = NULL;
    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
    char port[8];
    (void)snprintf(port, sizeof(port), "%u", spec->port);
    int g = getaddrinfo(spec->host, port, &hints, &res);
    ENSURE(g == 0, err, SB_E_IO, "--listen %s: %s", spec->host, gai_strerror(g));
    int fd = -1, e = 0;
    for (struct addrinfo *ai = res; ai; ai = ai->ai_next) {
        fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, ai->ai_protocol);
        if (fd < 0) {
            e = errno;
            continue;
        }
        int one = 1;
        (void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
        if (bind(fd, ai->ai_addr, ai->ai_addrlen) == 0 && listen(fd, LISTEN_BACKLOG) == 0) break;
        e = errno;
        (void)close(fd);
        fd = -1;
    }
    freeaddrinfo(res);
    ENSURE(fd >= 0, err, SB_E_IO, "--listen tcp:%s:%u: %s", spec->host, spec->port, strerror(e));
    *out = fd;
    return 0;
}

int sb_listen_open(const sb_listen_spec *spec, int *fd, sb_error *err) {
    switch (spec->kind) {
    case SB_LISTEN_UNIX: return open_unix(spec, fd, err);
    case SB_LISTEN_TCP: return open_tcp(spec, fd, err);
    default: BAIL(err, SB_E_USAGE, "bad listen kind");
    }
}
