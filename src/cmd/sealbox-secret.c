/* sealbox-secret: the workload's helper inside a sandbox — `sealbox-secret get REPO/TYPE/TAG`
 * asks sealbox-init (its abstract unix socket, docs/secrets.md "In the sandbox") for a secret
 * and writes the value to stdout or -o FILE (mode 0400). Statically linked: it is bind-mounted
 * into images that need not ship a libc of the same version. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "sandbox/sandbox.h"

static int usage(FILE *f) {
    fprintf(f,
            "usage: sealbox-secret get REPO/TYPE/TAG [-o FILE]\n\n"
            "Asks sealbox-init for a secret released to this sandbox after attestation (the\n"
            "same as GET /cdh/resource/REPO/TYPE/TAG on the abstract unix socket @%s)\n"
            "and writes it to stdout or FILE (created, mode 0400).\n"
            "exit status: 0 released; 1 refused or failed (the reason on stderr); 2 usage.\n",
            SB_CDH_SOCKET);
    return f == stdout ? 0 : 2;
}

static int write_all(int fd, const uint8_t *p, size_t n) {
    while (n) {
        ssize_t k = write(fd, p, n);
        if (k < 0 && errno == EINTR) continue;
        if (k <= 0) return -1;
        p += k;
        n -= (size_t)k;
    }
    return 0;
}

int main(int argc, char **argv) {
    const char *path = NULL, *out = NULL;
    if (argc >= 2 && (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0))
        return usage(stdout);
    if (argc < 3 || strcmp(argv[1], "get") != 0) return usage(stderr);
    path = argv[2];
    for (int i = 3; i < argc; i++) {
        if ((strcmp(argv[i], "-o") == 0 || strcmp(argv[i], "--out") == 0) && i + 1 < argc)
            out = argv[++i];
        else
            return usage(stderr);
    }
    if (!sb_secret_path_valid(path)) {
        fprintf(stderr, "sealbox-secret: '%s' is not REPO/TYPE/TAG\n", path);
        return 2;
    }
    int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    size_t nl = strlen(SB_CDH_SOCKET);
    for (size_t i = 0; i < nl; i++) /* abstract: a leading NUL, no terminator */
        a.sun_path[1 + i] = SB_CDH_SOCKET[i];
    socklen_t alen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + nl);
    if (s < 0 || connect(s, (struct sockaddr *)&a, alen) != 0) {
        fprintf(stderr, "sealbox-secret: cannot reach sealbox-init (@%s): %s\n", SB_CDH_SOCKET,
                strerror(errno));
        return 1;
    }
    char req[512];
    int rn =
        snprintf(req, sizeof(req), "GET /cdh/resource/%s HTTP/1.1\r\nHost: sealbox\r\n\r\n", path);
    /* init may answer (a refusal) and close before reading: a failed send is not the end,
     * the answer is read all the same */
    for (size_t off = 0; rn > 0 && off < (size_t)rn;) {
        ssize_t k = send(s, req + off, (size_t)rn - off, MSG_NOSIGNAL);
        if (k < 0 && errno == EINTR) continue;
        if (k <= 0) break;
        off += (size_t)k;
    }
    uint8_t *buf = malloc(SB_CDH_MAX_RESPONSE);
    size_t len = 0;
    struct sb_cdh_response r;
    sb_error err = {0};
    int rc = SB_E_TRUNCATED;
    while (buf && rc == SB_E_TRUNCATED && len < SB_CDH_MAX_RESPONSE) {
        struct pollfd p = {.fd = s, .events = POLLIN};
        if (poll(&p, 1, 5 * 60 * 1000) <= 0) break; /* a handshake may take a while */
        ssize_t k = read(s, buf + len, SB_CDH_MAX_RESPONSE - len);
        if (k < 0 && errno == EINTR) continue;
        if (k <= 0) break;
        len += (size_t)k;
        rc = sb_cdh_parse_response(buf, len, &r, &err);
    }
    close(s);
    if (rc < 0) {
        fprintf(stderr, "sealbox-secret: %s\n",
                rc == SB_E_TRUNCATED && !err.msg[0] ? "no answer from sealbox-init" : err.msg);
        free(buf);
        return 1;
    }
    if (r.status != 200) {
        fprintf(stderr, "sealbox-secret: %s: %d %.*s\n", path, r.status, (int)r.body_len,
                (const char *)r.body);
        explicit_bzero(buf, len);
        free(buf);
        return 1;
    }
    int fd = 1;
    if (out) fd = open(out, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0400);
    int w = fd < 0 ? -1 : write_all(fd, r.body, r.body_len);
    if (out && fd >= 0 && close(fd) != 0) w = -1;
    explicit_bzero(buf, len);
    free(buf);
    if (w < 0) {
        fprintf(stderr, "sealbox-secret: %s: %s\n", out ? out : "stdout", strerror(errno));
        return 1;
    }
    return 0;
}
