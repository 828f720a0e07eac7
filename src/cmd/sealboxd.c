/* sealboxd: the daemon's entry point. Without --front it is the monitor: it opens the state
 * directory and the listening socket, then starts (and restarts) this same binary in --front
 * mode with the socket and one end of a socketpair as fds 3 and 4. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "api/api.h"
#include "attester/attester.h"
#include "crypto/crypto.h"
#include "gateway/gateway.h"

#define FRONT_IPC_FD 3
#define FRONT_LISTEN_FD 4
#define FRONT_GW_FD 5        /* the gateway's control channel (with --gateway) */
#define FRONT_GW_LISTEN_FD 6 /* the gateway's socket for stdio clients */

static void usage(FILE *o) {
    fprintf(o,
            "usage: sealboxd [--state-dir DIR] [--listen unix:PATH | tcp:HOST:PORT]\n"
            "                [--tls-cert FILE --tls-key FILE] [--insecure-loopback-tcp]\n"
            "                [--log-json] [--log-file FILE] [--log-level LEVEL]\n"
            "                [--drain-seconds N] [--warm-pool N] [--upload-max SIZE]\n"
            "                [--kbs | --kbs-only] [--kbs-session-ttl S] [--kbs-token-ttl S]\n"
            "                [--kbs-master-tpm TCTI [--kbs-master-pcrs BANK:PCRS]]\n"
            "                [--kbs-url URL [--kbs-unix-socket PATH] [--kbs-ca FILE]\n"
            "                 [--attester software|tsm|tpm] [--attester-key FILE]\n"
            "                 [--tsm-dir DIR] [--tcti TCTI]]\n"
            "                [--gateway FILE] [--audit-tpm TCTI [--audit-nv-index IDX]]\n\n"
            "The sealbox daemon: an HTTP API (docs/api.md) for sandboxes, served by an\n"
            "unprivileged, seccomp-confined front process and a privileged monitor.\n\n"
            "  --state-dir DIR   database, keys and socket (default /var/lib/sealbox as root,\n"
            "                    else ~/.local/state/sealbox)\n"
            "  --listen SPEC     unix:PATH (default: DIR/sealboxd.sock, mode 0660) or\n"
            "                    tcp:HOST:PORT, which requires --tls-cert and --tls-key\n"
            "  --insecure-loopback-tcp  allow plain TCP on a loopback address (testing only)\n"
            "  --log-json        JSON lines instead of text\n"
            "  --log-file FILE   append logs to FILE (reopened on SIGHUP); default stderr\n"
            "  --log-level L     debug, info (default), warn, error\n"
            "  --drain-seconds N how long SIGTERM waits for in-flight requests (default 10)\n"
            "  --upload-max SIZE the largest file upload, in bytes or with K, M, G or T\n"
            "                    (1024-based; default 1G, at most 1T)\n"
            "  --warm-pool N     keep N sandboxes of the default shape (image default, 512 MiB,\n"
            "                    no CPU cap) ready, so such creates answer at once (max 64)\n"
            "  --kbs             also serve the key broker (Trustee KBS protocol 0.4.0 under\n"
            "                    /kbs/v0, docs/secrets.md); its tokens say \"local\"\n"
            "  --kbs-only        serve only the key broker (what `sealbox kbs serve` runs)\n"
            "  --kbs-session-ttl S  KBS handshake sessions expire after S seconds (default 300)\n"
            "  --kbs-token-ttl S    KBS tokens expire after S seconds (default 300)\n"
            "  --kbs-master-tpm TCTI  keep the KBS master key sealed to this TPM under a PCR\n"
            "                    policy (DIR/kbs-master.sealed; e.g. device:/dev/tpmrm0,\n"
            "                    swtpm:host=127.0.0.1,port=2321); an existing key file is\n"
            "                    sealed, then removed (docs/secrets.md)\n"
            "  --kbs-master-pcrs B:P  the PCRs a new seal is bound to (default sha256:7)\n"
            "  --kbs-url URL     the key broker the sandboxes' secrets come from (POST\n"
            "                    /v1/sandboxes \"secrets\", and sealbox-secret inside them):\n"
            "                    the monitor relays sealbox-init's handshakes to it\n"
            "  --kbs-unix-socket P  reach it over this unix socket; --kbs-ca FILE: https anchors\n"
            "  --attester KIND   evidence for those handshakes: software (default; key\n"
            "                    --attester-key, default DIR/attester-software.pem), tsm\n"
            "                    (--tsm-dir) or tpm (--tcti)\n"
            "  --gateway FILE    host the MCP gateway configured in FILE (read once; restart\n"
            "                    to change it): `sealbox gateway stdio --agent NAME` clients\n"
            "                    connect to DIR/gateway.sock (mode 0666; each presents its\n"
            "                    agent's token) and the servers run in sandboxes of this\n"
            "                    daemon (docs/gateway.md, \"Hosted by sealboxd\")\n"
            "  --audit-tpm TCTI  every signed audit checkpoint also advances a TPM NV counter\n"
            "                    (defined on first use), so a log rolled back together with its\n"
            "                    head file is caught; --audit-nv-index IDX: its owner-range index\n"
            "                    (default 0x01380001) (docs/gateway.md, \"TPM NV counter\")\n\n"
            "Signals: SIGTERM/SIGINT drain and stop; SIGHUP reopens the log file.\n");
}

/* ---- logging ------------------------------------------------------------------------------- */

struct logstate {
    sb_log log;
    const char *file;
};

static int open_log(const char *file) {
    return open(file, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0640);
}

/* SIGHUP: the new file takes over the same descriptor number, so every holder follows. */
static int reopen_log(void *arg) {
    struct logstate *ls = arg;
    if (!ls->file) return 0;
    int fd = open_log(ls->file);
    if (fd < 0) return -1;
    if (fd != ls->log.fd) {
        (void)dup3(fd, ls->log.fd, O_CLOEXEC);
        (void)close(fd);
    }
    return 0;
}

/* ---- the front ------------------------------------------------------------------------------ */

struct spawn_ctx {
    int listen_fd;
    int gw_listen_fd; /* -1 without --gateway */
    char *argv[16];
};

/* Moves fd to a number above every fd we are about to place. */
static int lift(int fd) { return fcntl(fd, F_DUPFD_CLOEXEC, 10); }

static int spawn_front(void *arg, int ipc_fd, pid_t *pid, sb_error *err) {
    struct spawn_ctx *sc = arg;
    pid_t p = fork();
    if (p < 0) BAIL(err, SB_E_IO, "fork: %s", strerror(errno));
    if (p == 0) {
        /* Child: reset what the monitor changed, then become a fresh front image. */
        sigset_t none;
        sigemptyset(&none);
        (void)sigprocmask(SIG_SETMASK, &none, NULL);
        (void)signal(SIGPIPE, SIG_DFL);
        (void)prctl(PR_SET_PDEATHSIG, SIGKILL);
        int a = lift(ipc_fd), b = lift(sc->listen_fd);
        if (a < 0 || b < 0 || dup2(a, FRONT_IPC_FD) < 0 || dup2(b, FRONT_LISTEN_FD) < 0) _exit(125);
        (void)close_range(FRONT_LISTEN_FD + 1, ~0u, 0);
        execv("/proc/self/exe", sc->argv);
        _exit(127);
    }
    *pid = p;
    return 0;
}

static int spawn_front_gw(void *arg, int ipc_fd, int gw_fd, pid_t *pid, sb_error *err) {
    struct spawn_ctx *sc = arg;
    pid_t p = fork();
    if (p < 0) BAIL(err, SB_E_IO, "fork: %s", strerror(errno));
    if (p == 0) {
        sigset_t none;
        sigemptyset(&none);
        (void)sigprocmask(SIG_SETMASK, &none, NULL);
        (void)signal(SIGPIPE, SIG_DFL);
        (void)prctl(PR_SET_PDEATHSIG, SIGKILL);
        int a = lift(ipc_fd), b = lift(sc->listen_fd), c = lift(gw_fd), d = lift(sc->gw_listen_fd);
        if (a < 0 || b < 0 || c < 0 || d < 0 || dup2(a, FRONT_IPC_FD) < 0 ||
            dup2(b, FRONT_LISTEN_FD) < 0 || dup2(c, FRONT_GW_FD) < 0 ||
            dup2(d, FRONT_GW_LISTEN_FD) < 0)
            _exit(125);
        (void)close_range(FRONT_GW_LISTEN_FD + 1, ~0u, 0);
        execv("/proc/self/exe", sc->argv);
        _exit(127);
    }
    *pid = p;
    return 0;
}

static int run_front(int argc, char **argv) {
    sb_front_cfg cfg = {.ipc_fd = FRONT_IPC_FD,
                        .listen_fd = FRONT_LISTEN_FD,
                        .drop_privileges = true,
                        .seccomp = true,
                        .gw_fd = -1,
                        .gw_listen_fd = -1};
    for (int i = 2; i < argc; i++) {
        if (strcmp(argv[i], "--tls-cert") == 0 && i + 1 < argc)
            cfg.tls_cert = argv[++i];
        else if (strcmp(argv[i], "--tls-key") == 0 && i + 1 < argc)
            cfg.tls_key = argv[++i];
        else if (strcmp(argv[i], "--log-json") == 0)
            cfg.log_json = true;
        else if (strcmp(argv[i], "--upload-max") == 0 && i + 1 < argc) {
            sb_error e = {0};
            if (sb_parse_u64(argv[++i], SB_FILES_UPLOAD_LIMIT, &cfg.upload_max, &e,
                             "--upload-max") < 0)
                return 2;
        } else if (strcmp(argv[i], "--gateway") == 0) {
            cfg.gw_fd = FRONT_GW_FD;
            cfg.gw_listen_fd = FRONT_GW_LISTEN_FD;
        } else if (strcmp(argv[i], "--kbs") == 0 && i + 1 < argc)
            cfg.kbs = argv[++i][0] == '2' ? 2 : 1;
        else if (strcmp(argv[i], "--kbs-session-ttl") == 0 && i + 1 < argc) {
            uint64_t t = 0;
            sb_error e = {0};
            if (sb_parse_u64(argv[++i], 86400, &t, &e, "--kbs-session-ttl") < 0) return 2;
            cfg.kbs_session_ttl = (unsigned)t;
        } else {
            fprintf(stderr, "sealboxd front: bad argument '%s'\n", argv[i]);
            return 2;
        }
    }
#if defined(__SANITIZE_ADDRESS__)
    /* LeakSanitizer needs ptrace, which the filter forbids: sanitizer builds let a test turn
     * the confinement off to check the same code for leaks. Release builds have no switch. */
    const char *u = getenv("SEALBOX_TEST_UNCONFINED_FRONT");
    if (u && strcmp(u, "1") == 0) cfg.seccomp = cfg.drop_privileges = false;
#endif
    sb_error err = {0};
    if (sb_front_run(&cfg, &err) < 0) {
        fprintf(stderr, "sealboxd front: %s\n", err.msg);
        return 1;
    }
    return 0;
}

/* ---- the monitor ---------------------------------------------------------------------------- */

/* "1048576", "512K", "200M", "1G": 1 to SB_FILES_UPLOAD_LIMIT bytes. */
static int parse_size(const char *s, uint64_t *out) {
    char num[24];
    size_t n = strlen(s);
    if (n == 0 || n >= sizeof(num)) return -1;
    unsigned shift = 0;
    const char *units = "KMGT";
    const char *u = strchr(units, s[n - 1]);
    if (u && s[n - 1]) {
        shift = 10u * (unsigned)(u - units + 1);
        n--;
    }
    memcpy(num, s, n);
    num[n] = '\0';
    uint64_t v = 0;
    sb_error err = {0};
    if (sb_parse_u64(num, SB_FILES_UPLOAD_LIMIT >> shift, &v, &err, "size") < 0 || v == 0)
        return -1;
    *out = v << shift;
    return 0;
}

int main(int argc, char **argv) {
    if (argc > 1 && strcmp(argv[1], "--front") == 0) return run_front(argc, argv);
    /* a gateway server's holder, started by the monitor (src/gateway/upstream.c) */
    if (argc > 1 && strcmp(argv[1], SB_GW_HOLDER_ARG) == 0) sb_gw_holder_main(argc, argv);

    static const struct option OPTS[] = {
        {"state-dir", required_argument, NULL, 's'},
        {"listen", required_argument, NULL, 'l'},
        {"tls-cert", required_argument, NULL, 'c'},
        {"tls-key", required_argument, NULL, 'k'},
        {"insecure-loopback-tcp", no_argument, NULL, 'I'},
        {"log-json", no_argument, NULL, 'j'},
        {"log-file", required_argument, NULL, 'f'},
        {"log-level", required_argument, NULL, 'L'},
        {"drain-seconds", required_argument, NULL, 'd'},
        {"warm-pool", required_argument, NULL, 'W'},
        {"upload-max", required_argument, NULL, 'u'},
        {"kbs", no_argument, NULL, 'K'},
        {"kbs-only", no_argument, NULL, 'O'},
        {"kbs-session-ttl", required_argument, NULL, 'S'},
        {"kbs-token-ttl", required_argument, NULL, 'T'},
        {"kbs-master-tpm", required_argument, NULL, 'M'},
        {"kbs-master-pcrs", required_argument, NULL, 'P'},
        {"kbs-url", required_argument, NULL, 'U'},
        {"kbs-unix-socket", required_argument, NULL, 'X'},
        {"kbs-ca", required_argument, NULL, 'C'},
        {"attester", required_argument, NULL, 'A'},
        {"attester-key", required_argument, NULL, 'Y'},
        {"tsm-dir", required_argument, NULL, 'Z'},
        {"tcti", required_argument, NULL, 'N'},
        {"gateway", required_argument, NULL, 'G'},
        {"audit-tpm", required_argument, NULL, 'a'},
        {"audit-nv-index", required_argument, NULL, 'n'},
        {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'V'},
        {NULL, 0, NULL, 0},
    };
    const char *state = NULL, *listen_s = NULL, *cert = NULL, *key = NULL, *logfile = NULL;
    const char *master_tcti = NULL, *master_pcrs = NULL, *gateway = NULL;
    const char *kbs_url = NULL, *kbs_sock = NULL, *kbs_ca = NULL, *attester = NULL;
    const char *attester_key = NULL, *tsm_dir = NULL, *tcti = NULL, *audit_tcti = NULL;
    uint32_t audit_nv = 0;
    uint16_t master_bank = 0;
    uint32_t master_mask = 0;
    bool json = false, insecure = false;
    enum sb_log_level level = SB_LOG_INFO;
    uint64_t drain = 10, pool = 0, session_ttl = 0, token_ttl = 0, upmax = 0;
    unsigned kbs = 0;
    sb_error err = {0};
    int o;
    while ((o = getopt_long(argc, argv, "h", OPTS, NULL)) != -1) {
        switch (o) {
        case 's': state = optarg; break;
        case 'u':
            if (parse_size(optarg, &upmax) < 0) {
                fprintf(stderr,
                        "sealboxd: --upload-max takes 1 to 1T bytes (K, M, G, T: 1024-based)\n");
                return 2;
            }
            break;
        case 'l': listen_s = optarg; break;
        case 'c': cert = optarg; break;
        case 'k': key = optarg; break;
        case 'I': insecure = true; break;
        case 'j': json = true; break;
        case 'f': logfile = optarg; break;
        case 'L':
            if (sb_log_level_parse(optarg, &level) < 0) {
                fprintf(stderr, "sealboxd: --log-level takes debug, info, warn or error\n");
                return 2;
            }
            break;
        case 'd':
            if (sb_parse_u64(optarg, 3600, &drain, &err, "--drain-seconds") < 0 || !drain) {
                fprintf(stderr, "sealboxd: --drain-seconds takes 1..3600\n");
                return 2;
            }
            break;
        case 'W':
            if (sb_parse_u64(optarg, 64, &pool, &err, "--warm-pool") < 0) {
                fprintf(stderr, "sealboxd: --warm-pool takes 0..64\n");
                return 2;
            }
            break;
        case 'K': kbs = kbs == 2 ? 2 : 1; break;
        case 'O': kbs = 2; break;
        case 'S':
        case 'T':
            if (sb_parse_u64(optarg, 86400, o == 'S' ? &session_ttl : &token_ttl, &err,
                             o == 'S' ? "--kbs-session-ttl" : "--kbs-token-ttl") < 0 ||
                !(o == 'S' ? session_ttl : token_ttl)) {
                fprintf(stderr, "sealboxd: --kbs-session-ttl and --kbs-token-ttl take 1..86400\n");
                return 2;
            }
            break;
        case 'M': master_tcti = optarg; break;
        case 'G': gateway = optarg; break;
        case 'P':
            master_pcrs = optarg;
            if (sb_tpm_pcr_spec_parse(optarg, &master_bank, &master_mask, &err) < 0) {
                fprintf(stderr, "sealboxd: --kbs-master-pcrs: %s\n", err.msg);
                return 2;
            }
            break;
        case 'U': kbs_url = optarg; break;
        case 'X': kbs_sock = optarg; break;
        case 'C': kbs_ca = optarg; break;
        case 'A':
            if (strcmp(optarg, "software") != 0 && strcmp(optarg, "tsm") != 0 &&
                strcmp(optarg, "tpm") != 0) {
                fprintf(stderr, "sealboxd: --attester takes software, tsm or tpm\n");
                return 2;
            }
            attester = optarg;
            break;
        case 'Y': attester_key = optarg; break;
        case 'Z': tsm_dir = optarg; break;
        case 'N': tcti = optarg; break;
        case 'a': audit_tcti = optarg; break;
        case 'n':
            if (sb_tpm_nv_index_parse(optarg, &audit_nv, &err) < 0) {
                fprintf(stderr, "sealboxd: --audit-nv-index: %s\n", err.msg);
                return 2;
            }
            break;
        case 'h': usage(stdout); return 0;
        case 'V': printf("sealboxd %s\n", SB_VERSION); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (optind != argc) {
        usage(stderr);
        return 2;
    }
    if (!cert != !key) {
        fprintf(stderr, "sealboxd: --tls-cert and --tls-key go together\n");
        return 2;
    }
    if ((master_tcti || master_pcrs) && !kbs) {
        fprintf(stderr,
                "sealboxd: --kbs-master-tpm and --kbs-master-pcrs need --kbs or --kbs-only\n");
        return 2;
    }
    if ((kbs_sock || kbs_ca || attester || attester_key || tsm_dir || tcti) && !kbs_url) {
        fprintf(stderr, "sealboxd: --kbs-unix-socket, --kbs-ca and the attester options need "
                        "--kbs-url\n");
        return 2;
    }
    if (kbs_url && kbs == 2) {
        fprintf(stderr,
                "sealboxd: --kbs-url is for the sandboxes' secrets: --kbs-only runs none\n");
        return 2;
    }
    if (audit_nv && !audit_tcti) {
        fprintf(stderr, "sealboxd: --audit-nv-index needs --audit-tpm\n");
        return 2;
    }
    if (master_pcrs && !master_tcti) {
        fprintf(stderr, "sealboxd: --kbs-master-pcrs needs --kbs-master-tpm\n");
        return 2;
    }

    char statebuf[4096];
    if (!state) {
        if (sb_default_state_dir(statebuf, sizeof(statebuf), &err) < 0) {
            fprintf(stderr, "sealboxd: %s\n", err.msg);
            return 2;
        }
        state = statebuf;
    }
    static struct logstate ls;
    int logfd = 2;
    if (logfile) {
        logfd = open_log(logfile);
        if (logfd < 0) {
            fprintf(stderr, "sealboxd: %s: %s\n", logfile, strerror(errno));
            return 1;
        }
    }
    ls.file = logfile;
    sb_log_init(&ls.log, logfd, level, json, "sealboxd");

    /* The daemon holds keys: no core dumps, no ptrace by its own uid. */
    (void)prctl(PR_SET_DUMPABLE, 0);
    if (sb_state_dir_prepare(state, &err) < 0) {
        sb_logf(&ls.log, SB_LOG_ERROR, "%s", err.msg);
        return 1;
    }
    sb_listen_spec spec;
    char def[4200];
    if (!listen_s) {
        (void)snprintf(def, sizeof(def), "unix:%s/%s", state, SB_SOCKET_FILE);
        listen_s = def;
    }
    if (sb_listen_parse(listen_s, &spec, &err) < 0) {
        fprintf(stderr, "sealboxd: %s\n", err.msg);
        return 2;
    }
    if (spec.kind == SB_LISTEN_TCP && !cert && !(insecure && sb_listen_is_loopback(&spec))) {
        fprintf(stderr, "sealboxd: a TCP listener needs --tls-cert and --tls-key (plain TCP only "
                        "on loopback, with --insecure-loopback-tcp)\n");
        return 2;
    }
    if (cert) {
        /* Fail now, with a clear message, rather than in every front that starts. */
        sb_tls_server *t = NULL;
        if (sb_tls_server_new(cert, key, &t, &err) < 0) {
            sb_logf(&ls.log, SB_LOG_ERROR, "%s", err.msg);
            return 1;
        }
        sb_tls_server_free(t);
    }
    int lfd = -1;
    if (sb_listen_open(&spec, &lfd, &err) < 0) {
        sb_logf(&ls.log, SB_LOG_ERROR, "%s", err.msg);
        return 1;
    }
    if (spec.kind == SB_LISTEN_UNIX)
        sb_logf(&ls.log, SB_LOG_INFO, "listening on unix:%s", spec.path);
    else
        sb_logf(&ls.log, SB_LOG_INFO, "listening on tcp:%s:%u%s", spec.host, spec.port,
                cert ? " (TLS)" : " (plain, loopback)");

    /* The gateway's socket: anyone may connect, and every connection must present its agent's
     * token before anything happens, so an unprivileged desktop user needs only the token. */
    int gfd = -1;
    char gpath[4200] = "";
    if (gateway) {
        sb_listen_spec gs;
        char gspec[4300];
        (void)snprintf(gspec, sizeof(gspec), "unix:%s/%s", state, SB_GW_SOCKET_FILE);
        if (sb_listen_parse(gspec, &gs, &err) < 0 || sb_listen_open(&gs, &gfd, &err) < 0) {
            sb_logf(&ls.log, SB_LOG_ERROR, "gateway: %s", err.msg);
            return 1;
        }
        (void)snprintf(gpath, sizeof(gpath), "%s", gs.path);
        if (chmod(gpath, 0666) < 0) {
            sb_logf(&ls.log, SB_LOG_ERROR, "gateway: chmod %s: %s", gpath, strerror(errno));
            return 1;
        }
        sb_logf(&ls.log, SB_LOG_INFO, "gateway: stdio clients on unix:%s", gpath);
    }
    struct spawn_ctx sc = {.listen_fd = lfd, .gw_listen_fd = gfd};
    int n = 0;
    sc.argv[n++] = (char *)"sealboxd";
    sc.argv[n++] = (char *)"--front";
    if (cert) {
        sc.argv[n++] = (char *)"--tls-cert";
        sc.argv[n++] = (char *)cert;
        sc.argv[n++] = (char *)"--tls-key";
        sc.argv[n++] = (char *)key;
    }
    if (json) sc.argv[n++] = (char *)"--log-json";
    if (gateway) sc.argv[n++] = (char *)"--gateway";
    char upbuf[24];
    if (upmax) {
        (void)snprintf(upbuf, sizeof(upbuf), "%llu", (unsigned long long)upmax);
        sc.argv[n++] = (char *)"--upload-max";
        sc.argv[n++] = upbuf;
    }
    char ttlbuf[24];
    if (kbs) {
        sc.argv[n++] = (char *)"--kbs";
        sc.argv[n++] = (char *)(kbs == 2 ? "2" : "1");
        (void)snprintf(ttlbuf, sizeof(ttlbuf), "%llu", (unsigned long long)session_ttl);
        sc.argv[n++] = (char *)"--kbs-session-ttl";
        sc.argv[n++] = ttlbuf;
    }
    sc.argv[n] = NULL;

    sb_monitor_cfg mc = {.state_dir = state,
                         .log = &ls.log,
                         .reopen_log = reopen_log,
                         .reopen_arg = &ls,
                         .spawn = spawn_front,
                         .spawn_arg = &sc,
                         .drain_seconds = (unsigned)drain,
                         .warm_pool = (unsigned)pool,
                         .kbs = kbs,
                         .kbs_token_ttl = (unsigned)token_ttl,
                         .audit_tcti = audit_tcti,
                         .audit_nv_index = audit_nv,
                         .kbs_master_tcti = master_tcti,
                         .kbs_master_bank = master_bank,
                         .kbs_master_pcrs = master_mask,
                         .kbs_url = kbs_url,
                         .kbs_unix_socket = kbs_sock,
                         .kbs_ca = kbs_ca,
                         .attester = attester,
                         .attester_key = attester_key,
                         .tsm_dir = tsm_dir,
                         .tcti = tcti,
                         .gateway_config = gateway,
                         .spawn_gw = spawn_front_gw,
                         .upload_max = upmax};
    sb_monitor *m = NULL;
    int rc = 0;
    if (sb_monitor_new(&mc, &m, &err) < 0 || sb_monitor_run(m, &err) < 0) {
        sb_logf(&ls.log, SB_LOG_ERROR, "%s", err.msg);
        rc = 1;
    }
    sb_monitor_free(m);
    (void)close(lfd);
    if (spec.kind == SB_LISTEN_UNIX) (void)unlink(spec.path);
    if (gfd >= 0) {
        (void)close(gfd);
        (void)unlink(gpath);
    }
    return rc;
}
