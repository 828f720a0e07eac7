/* swtpm_fixture: a real software TPM for one test or bench process — provisioned in its own
 * directory with swtpm_setup (RSA and ECC EKs with certificates from swtpm_localca, whose CA
 * lives in that directory too; platform certificate; SHA-256 and SHA-384 PCR banks), serving
 * on a free localhost port pair, killed when the process exits (and with it, if it dies). */
#ifndef SB_SWTPM_FIXTURE_H
#define SB_SWTPM_FIXTURE_H

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

struct swtpm {
    pid_t pid;
    int port;
    char dir[256];
    char tcti[96];
    char ca_bundle[300]; /* the EK CA: localca root + its signing (issuer) certificate */
    char why[1024];      /* why it could not start */
};

static pid_t swtpm_fixture_pid;

static void swtpm_fixture_kill(void) {
    if (swtpm_fixture_pid > 0) {
        (void)kill(swtpm_fixture_pid, SIGTERM);
        (void)waitpid(swtpm_fixture_pid, NULL, 0);
        swtpm_fixture_pid = 0;
    }
}

static bool swtpm_fixture_which(const char *prog) {
    const char *path = getenv("PATH");
    if (!path) path = "/usr/bin:/bin";
    char buf[1024];
    while (*path) {
        const char *c = strchr(path, ':');
        size_t n = c ? (size_t)(c - path) : strlen(path);
        if ((size_t)snprintf(buf, sizeof(buf), "%.*s/%s", (int)n, path, prog) < sizeof(buf) &&
            access(buf, X_OK) == 0)
            return true;
        path += n + (c ? 1 : 0);
    }
    return false;
}

static bool swtpm_fixture_write(const char *path, const char *text) {
    FILE *f = fopen(path, "w");
    if (!f) return false;
    bool ok = fputs(text, f) >= 0;
    return fclose(f) == 0 && ok;
}

/* Runs argv with stdout/stderr to log; true when it exits 0. */
static bool swtpm_fixture_run(char *const argv[], const char *log) {
    pid_t p = fork();
    if (p < 0) return false;
    if (p == 0) {
        int fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0600);
        if (fd >= 0) {
            (void)dup2(fd, 1);
            (void)dup2(fd, 2);
        }
        execvp(argv[0], argv);
        _exit(127);
    }
    int st = 0;
    if (waitpid(p, &st, 0) < 0) return false;
    return WIFEXITED(st) && WEXITSTATUS(st) == 0;
}

/* Two consecutive free localhost ports (command, control). */
static int swtpm_fixture_ports(void) {
    for (int tries = 0; tries < 50; tries++) {
        int s = socket(AF_INET, SOCK_STREAM, 0);
        struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
        socklen_t al = sizeof(a);
        if (s < 0) return -1;
        if (bind(s, (struct sockaddr *)&a, sizeof(a)) < 0 ||
            getsockname(s, (struct sockaddr *)&a, &al) < 0) {
            close(s);
            return -1;
        }
        int port = ntohs(a.sin_port);
        int s2 = socket(AF_INET, SOCK_STREAM, 0);
        struct sockaddr_in b = a;
        b.sin_port = htons((uint16_t)(port + 1));
        bool ok = port < 65535 && s2 >= 0 && bind(s2, (struct sockaddr *)&b, sizeof(b)) == 0;
        if (s2 >= 0) close(s2);
        close(s);
        if (ok) return port;
    }
    return -1;
}

static bool swtpm_fixture_connects(int port) {
    int s = socket(AF_INET, SOCK_STREAM, 0);
    if (s < 0) return false;
    struct sockaddr_in a = {.sin_family = AF_INET,
                            .sin_port = htons((uint16_t)port),
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    bool ok = connect(s, (struct sockaddr *)&a, sizeof(a)) == 0;
    close(s);
    return ok;
}

/* Provisions and starts swtpm under base (a fresh directory). false with s->why set when
 * swtpm is missing or does not come up. */
static bool swtpm_start(struct swtpm *s, const char *base) {
    memset(s, 0, sizeof(*s));
    const char *progs[] = {"swtpm", "swtpm_setup", "swtpm_localca"};
    for (size_t i = 0; i < 3; i++)
        if (!swtpm_fixture_which(progs[i])) {
            (void)snprintf(s->why, sizeof(s->why), "%s is not installed (Debian: swtpm-tools)",
                           progs[i]);
            return false;
        }
    (void)snprintf(s->dir, sizeof(s->dir), "%s/swtpm", base);
    char state[300], ca[300], conf[300], opts[300], setup[300], log[300], text[4096];
    (void)snprintf(state, sizeof(state), "%s/state", s->dir);
    (void)snprintf(ca, sizeof(ca), "%s/ca", s->dir);
    (void)snprintf(conf, sizeof(conf), "%s/localca.conf", s->dir);
    (void)snprintf(opts, sizeof(opts), "%s/localca.options", s->dir);
    (void)snprintf(setup, sizeof(setup), "%s/swtpm_setup.conf", s->dir);
    (void)snprintf(log, sizeof(log), "%s/swtpm.log", s->dir);
    if (mkdir(s->dir, 0700) < 0 || mkdir(state, 0700) < 0 || mkdir(ca, 0700) < 0) {
        (void)snprintf(s->why, sizeof(s->why), "cannot create %s: %s", s->dir, strerror(errno));
        return false;
    }
    (void)snprintf(text, sizeof(text),
                   "statedir = %s\nsigningkey = %s/signkey.pem\nissuercert = %s/issuercert.pem\n"
                   "certserial = %s/certserial\n",
                   ca, ca, ca, ca);
    bool ok = swtpm_fixture_write(conf, text) &&
              swtpm_fixture_write(opts, "--platform-manufacturer sealbox\n--platform-version "
                                        "2.1\n--platform-model swtpm\n");
    (void)snprintf(text, sizeof(text),
                   "create_certs_tool = swtpm_localca\ncreate_certs_tool_config = %s\n"
                   "create_certs_tool_options = %s\n",
                   conf, opts);
    ok = ok && swtpm_fixture_write(setup, text);
    char *setup_argv[] = {
        "swtpm_setup", "--tpm2",        "--tpmstate",       state,
        "--config",    setup,           "--create-ek-cert", "--create-platform-cert",
        "--pcr-banks", "sha256,sha384", "--overwrite",      NULL};
    if (!ok || !swtpm_fixture_run(setup_argv, log)) {
        (void)snprintf(s->why, sizeof(s->why), "swtpm_setup failed (see %s)", log);
        return false;
    }
    /* the EK CA bundle: the local CA's root and the issuer that signed the EK certificates */
    char root[400], issuer[400];
    (void)snprintf(root, sizeof(root), "%s/swtpm-localca-rootca-cert.pem", ca);
    (void)snprintf(issuer, sizeof(issuer), "%s/issuercert.pem", ca);
    (void)snprintf(s->ca_bundle, sizeof(s->ca_bundle), "%s/ek-ca.pem", s->dir);
    FILE *out = fopen(s->ca_bundle, "w");
    for (int i = 0; out && i < 2; i++) {
        FILE *in = fopen(i ? issuer : root, "r");
        if (!in) {
            ok = false;
            break;
        }
        size_t n;
        while ((n = fread(text, 1, sizeof(text), in)) > 0)
            if (fwrite(text, 1, n, out) != n) ok = false;
        fclose(in);
    }
    if (!out || fclose(out) != 0 || !ok) {
        (void)snprintf(s->why, sizeof(s->why), "cannot write the EK CA bundle");
        return false;
    }
    for (int attempt = 0; attempt < 5; attempt++) {
        int port = swtpm_fixture_ports();
        if (port < 0) break;
        char server[128], ctrl[128], tpmstate[400];
        (void)snprintf(server, sizeof(server), "type=tcp,port=%d,bindaddr=127.0.0.1", port);
        (void)snprintf(ctrl, sizeof(ctrl), "type=tcp,port=%d,bindaddr=127.0.0.1", port + 1);
        (void)snprintf(tpmstate, sizeof(tpmstate), "dir=%s", state);
        pid_t p = fork();
        if (p < 0) break;
        if (p == 0) {
            (void)prctl(PR_SET_PDEATHSIG, SIGKILL);
            int fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0600);
            if (fd >= 0) {
                (void)dup2(fd, 1);
                (void)dup2(fd, 2);
            }
            execlp("swtpm", "swtpm", "socket", "--tpm2", "--tpmstate", tpmstate, "--server", server,
                   "--ctrl", ctrl, "--flags", "startup-clear", (char *)NULL);
            _exit(127);
        }
        swtpm_fixture_pid = p;
        static bool registered;
        if (!registered) registered = atexit(swtpm_fixture_kill) == 0;
        /* readiness: poll the port (a wait, not a timing assertion) */
        for (int i = 0; i < 400; i++) {
            if (swtpm_fixture_connects(port)) {
                s->pid = p;
                s->port = port;
                (void)snprintf(s->tcti, sizeof(s->tcti), "swtpm:host=127.0.0.1,port=%d", port);
                return true;
            }
            if (waitpid(p, NULL, WNOHANG) == p) break; /* it exited: port taken? retry */
            struct timespec ts = {0, 25 * 1000 * 1000};
            nanosleep(&ts, NULL);
        }
        swtpm_fixture_kill();
    }
    (void)snprintf(s->why, sizeof(s->why), "swtpm did not start (see %s)", log);
    return false;
}

#endif
