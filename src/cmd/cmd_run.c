/* cmd_run: `sealbox run [options] -- CMD [ARGS...]` — create a jail sandbox, run CMD with its
 * stdio streamed, destroy the sandbox. Exit status: CMD's own (128+N for signal N), 124
 * timeout, 137 out of memory, 125 sealbox failed, 126 cannot execute, 127 not found. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>

#include "attester/attester.h"
#include "cmd.h"
#include "kbs/kbs.h"
#include "run_opts.h"
#include "sandbox/sandbox.h"

#define EXIT_SB_FAIL 125

static void usage(FILE *f) {
    fprintf(
        f,
        "usage: sealbox run [OPTIONS] -- CMD [ARGS...]\n\n"
        "Runs CMD in a new jail sandbox (namespaces, seccomp, Landlock, cgroups) and removes\n"
        "the sandbox afterwards. Needs root.\n\n"
        "options:\n"
        "  --image NAME          image ('host': the host's /usr, the default; or an imported\n"
        "                        image's digest or name)\n"
        "  --mount SRC:DST[:ro]  bind a host directory or file into the sandbox (repeatable;\n"
        "                        SRC must not be a symbolic link)\n"
        "  --env K=V             set an environment variable (repeatable); the environment is\n"
        "                        exactly these, plus PATH when not given\n"
        "  --workdir DIR         working directory inside (default /)\n"
        "  --memory SIZE         memory limit incl. the writable layer (default 512M)\n"
        "  --pids N              process limit (default 512)\n"
        "  --cpus N              CPU limit, e.g. 0.5 or 2 (default: none)\n"
        "  --disk SIZE           size of the writable layer, a tmpfs (default 256M)\n"
        "  --timeout DURATION    after e.g. 30, 30s, 500ms, 5m: SIGTERM to CMD, then after the\n"
        "                        --kill-after grace (default 2s) SIGKILL to the sandbox\n"
        "  --kill-after DURATION grace between a timeout's SIGTERM and SIGKILL\n"
        "  --net none|host       none: loopback only (the default); host: the host's network\n"
        "                        namespace (weaker: CMD reaches whatever the host reaches)\n"
        "  --hostname NAME       uts hostname (default 'sandbox')\n"
        "  --tty                 give CMD a pseudo-terminal\n"
        "  --detach              keep the sandbox after CMD (optional) and print its id; use\n"
        "                        'sealbox exec|freeze|thaw|rm ID' and 'sealbox ps'\n"
        "  --secret REPO/TYPE/TAG[:file=PATH|:env=NAME]\n"
        "                        before CMD starts, sealbox-init fetches the secret from the KBS\n"
        "                        (attested; its TEE key never leaves the sandbox) into a file\n"
        "                        (default /run/secrets/REPO/TYPE/TAG, mode 0400, tmpfs) or CMD's\n"
        "                        environment; a refusal fails the run (125) with the reason\n"
        "  --kbs-url URL         the key broker (needed by --secret and by sealbox-secret)\n"
        "  --kbs-unix-socket P   reach the KBS over this unix socket\n"
        "  --kbs-ca FILE         trust anchors for an https KBS\n"
        "  --attester KIND       software (default; key --attester-key, default\n"
        "                        <state>/attester-software.pem), tsm (--tsm-dir) or tpm (--tcti)\n"
        "  --log FILE            write the sandbox's measurement log (docs/secrets.md) to FILE\n"
        "                        once CMD is recorded; with --detach it is rewritten as each\n"
        "                        command is added (default <state>/sandboxes/<id>/mlog.json)\n"
        "  --state-dir DIR       state directory (default $SEALBOX_STATE_DIR or %s)\n\n"
        "exit status: CMD's own; 128+N if it died of signal N; 124 timeout; 137 out of\n"
        "memory; 125 sealbox failed; 126 CMD cannot be executed; 127 CMD not found.\n",
        SB_SANDBOX_STATE_DIR);
}

static int fail(const char *what, const char *msg) {
    fprintf(stderr, "sealbox run: %s%s%s\n", what, msg && *msg ? ": " : "", msg ? msg : "");
    return EXIT_SB_FAIL;
}

/* The measurement log of a sandbox this process owns: image and config now, every command as
 * it is started (only this process writes it). */
static int new_log(const struct sb_run_opts *o, char *const *env, const sb_sandbox *sb,
                   sb_mlog **out, sb_error *err) {
    json_t *c = NULL;
    TRY(sb_mlog_config(&o->cfg, env, &c, err));
    int rc = sb_mlog_new(sb_sandbox_image_digest(sb), c, out, err);
    json_decref(c);
    return rc;
}

/* The environment as measured: the command's, plus the names of env secrets (names only: the
 * values never reach this process), so a policy sees which variables will hold secrets. */
static char **measured_env(const struct sb_run_opts *o) {
    char **v = calloc(o->n_env + o->n_secrets + 1, sizeof(char *));
    if (!v) return NULL;
    size_t k = 0;
    for (size_t i = 0; i < o->n_env; i++)
        v[k++] = o->env[i];
    for (size_t i = 0; i < o->n_secrets; i++)
        if (o->secrets[i].kind == SB_SECRET_ENV) v[k++] = o->secrets[i].target;
    return v;
}

static int open_attester(const struct sb_run_opts *o, sb_attester **out, sb_error *err) {
    const char *kind = o->attester ? o->attester : "software";
    if (strcmp(kind, "tsm") == 0)
        return sb_attester_open_tsm(o->tsm_dir ? o->tsm_dir : SB_TSM_DEFAULT_DIR, out, err);
    if (strcmp(kind, "tpm") == 0) {
        struct sb_tpm_config tc = {.tcti = o->tcti};
        return sb_attester_open_tpm(&tc, out, err);
    }
    char kp[4300];
    if (!o->attester_key) {
        const char *st = o->cfg.state_dir ? o->cfg.state_dir : SB_SANDBOX_STATE_DIR;
        int k = snprintf(kp, sizeof(kp), "%s/%s", st, SB_SOFTWARE_KEY_FILE);
        ENSURE(k > 0 && (size_t)k < sizeof(kp), err, SB_E_USAGE, "--state-dir: too long");
    }
    return sb_attester_open_software(o->attester_key ? o->attester_key : kp, out, err);
}

/* --detach: a holder process (a child that leaves our session) creates the sandbox, runs CMD
 * (if any) with its output in <dir>/main.log, and serves <dir>/control.sock for `sealbox exec`
 * until `sealbox rm`. We print the id once the sandbox is up. */
static int run_detached(struct sb_run_opts *o, int cargc, char **cargv, int sfd) {
    int pfd[2];
    if (pipe2(pfd, O_CLOEXEC) != 0) return fail("pipe", strerror(errno));
    pid_t pid = fork();
    if (pid < 0) return fail("fork", strerror(errno));
    if (pid == 0) {
        close(pfd[0]);
        (void)setsid();
        sb_error err = {0};
        sb_sandbox *sb = NULL;
        sb_attester *att = NULL;
        sb_kbs_relay *relay = NULL;
        char **menv = NULL;
        int listen_fd = -1, log_fd = -1;
        if (sb_jail_backend.create(&o->cfg, &sb, &err) < 0) goto report;
        char p[4096];
        sb_mlog *log = NULL;
        menv = measured_env(o);
        if (!menv) {
            (void)sb_error_set(&err, SB_E_INTERNAL, "out of memory");
            goto report;
        }
        if (new_log(o, menv, sb, &log, &err) < 0) goto report;
        if (o->log_path)
            snprintf(p, sizeof(p), "%s", o->log_path);
        else
            snprintf(p, sizeof(p), "%s/mlog.json", sb_sandbox_dir(sb));
        sb_jail_set_mlog(sb, log, p);
        if (sb_mlog_write(log, p, &err) < 0) goto report;
        /* with a KBS, the holder relays the workload's requests with the log it keeps (every
         * `sealbox exec` is in it, so a KBS sees the taint) */
        if (o->kbs_url) {
            struct sb_kbs_relay_cfg rcfg = {
                .url = o->kbs_url, .unix_socket = o->kbs_socket, .ca_file = o->kbs_ca, .log = log};
            if (open_attester(o, &att, &err) < 0) goto report;
            rcfg.attester = att;
            if (sb_kbs_relay_new(&rcfg, &relay, &err) < 0) goto report;
            sb_sandbox_set_relay(sb, sb_kbs_relay_answer, relay);
        }
        /* --secret: as in the foreground, the entrypoint is recorded (with the env secrets'
         * names), the secrets are released, and only then does it start; a refusal is the
         * sandbox failing to start, with the policy's reason */
        if (o->n_secrets) {
            if (sb_mlog_record(log, sb, cargv, menv, o->workdir, &err) < 0 ||
                sb_mlog_write(log, p, &err) < 0)
                goto report;
            if (sb_sandbox_secrets(sb, o->secrets, o->n_secrets, &err) < 0) {
                char why[SB_ERRMSG_MAX];
                (void)snprintf(why, sizeof(why), "%s", err.msg);
                (void)sb_error_set(&err, err.code, "secrets refused: %s", why);
                goto report;
            }
            if (sb_jail_serve_main(sb, cargv, o->env, o->workdir, &err) < 0) goto report;
        }
        free(menv);
        menv = NULL;
        snprintf(p, sizeof(p), "%s/main.log", sb_sandbox_dir(sb));
        log_fd = open(p, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
        struct sockaddr_un a = {.sun_family = AF_UNIX};
        if ((size_t)snprintf(a.sun_path, sizeof(a.sun_path), "%s/control.sock",
                             sb_sandbox_dir(sb)) >= sizeof(a.sun_path)) {
            sb_error_set(&err, SB_E_USAGE, "state directory path too long for a socket");
            goto report;
        }
        listen_fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
        if (listen_fd < 0 || bind(listen_fd, (struct sockaddr *)&a, sizeof(a)) != 0 ||
            chmod(a.sun_path, 0600) != 0 || listen(listen_fd, 16) != 0) {
            sb_error_set(&err, SB_E_IO, "control socket %s: %s", a.sun_path, strerror(errno));
            goto report;
        }
        char pidtxt[32];
        int pn = snprintf(pidtxt, sizeof(pidtxt), "%d\n", (int)getpid());
        snprintf(p, sizeof(p), "%s/holder.pid", sb_sandbox_dir(sb));
        if (sb_write_file_atomic(p, pidtxt, (size_t)pn, 0600, &err) < 0) goto report;
        dprintf(pfd[1], "ok %s\n", sb_sandbox_id(sb));
        close(pfd[1]);
        pfd[1] = -1;
        int null = open("/dev/null", O_RDWR | O_CLOEXEC);
        if (null >= 0) {
            dup2(null, 0);
            dup2(null, 1);
            dup2(null, 2);
            close(null);
        }
        int rc = sb_jail_serve(sb, listen_fd, sfd, cargc > 0 ? cargv : NULL, o->env, o->workdir,
                               log_fd, &err);
        close(listen_fd);
        if (log_fd >= 0) close(log_fd);
        sb_jail_backend.destroy(sb);
        sb_kbs_relay_free(relay);
        sb_attester_free(att);
        sb_run_opts_free(o);
        _exit(rc < 0 ? 1 : 0);
    report:
        free(menv);
        if (listen_fd >= 0) close(listen_fd);
        if (log_fd >= 0) close(log_fd);
        if (sb) sb_jail_backend.destroy(sb);
        sb_kbs_relay_free(relay);
        sb_attester_free(att);
        dprintf(pfd[1], "err %s\n", err.msg);
        sb_run_opts_free(o);
        _exit(1);
    }
    close(pfd[1]);
    char buf[SB_ERRMSG_MAX + 16];
    ssize_t n = read(pfd[0], buf, sizeof(buf) - 1);
    close(pfd[0]);
    if (n <= 3) return fail("cannot create the sandbox", "the holder process died");
    buf[n] = 0;
    char *nl = strchr(buf, '\n');
    if (nl) *nl = 0;
    if (strncmp(buf, "ok ", 3) != 0) {
        int st;
        waitpid(pid, &st, 0);
        return fail("cannot create the sandbox", buf + 4);
    }
    printf("%s\n", buf + 3);
    return 0;
}

int sb_cmd_run(int argc, char **argv) {
    struct sb_run_opts o;
    sb_error err = {0};
    int first = 0;
    int rc = sb_run_opts_parse(&o, argc, argv, &first, &err);
    if (rc == SB_RUN_OPTS_HELP) {
        usage(stdout);
        sb_run_opts_free(&o);
        return 0;
    }
    if (rc < 0) {
        fprintf(stderr, "sealbox run: %s (see 'sealbox run --help')\n", err.msg);
        sb_run_opts_free(&o);
        return EXIT_SB_FAIL;
    }
    if (first >= argc && !o.detach) {
        sb_run_opts_free(&o);
        return fail("no command given", "usage: sealbox run [OPTIONS] -- CMD [ARGS...]");
    }
    if (o.tty) {
        const char *term = getenv("TERM");
        if (term && sb_run_opts_add_env(&o, "TERM", term, &err) < 0) {
            sb_run_opts_free(&o);
            return fail("environment", err.msg);
        }
    }

    /* block the signals we forward; the library reads them from a signalfd */
    static const int sigs[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGWINCH};
    sigset_t old;
    int sfd = sb_run_signals_begin(sigs, SB_ARRAY_LEN(sigs), &old);

    /* with a KBS, the workload's helper is bind-mounted read-only (a measured mount) */
    if (o.kbs_url) {
        char *helper = sb_sibling_program("sealbox-secret", "SEALBOX_SECRET");
        rc = helper ? sb_run_opts_add_mount(&o, helper, SB_SECRET_HELPER_PATH, true, &err)
                    : sb_error_set(&err, SB_E_INTERNAL, "cannot locate sealbox-secret");
        free(helper);
        if (rc < 0) {
            if (sfd >= 0) close(sfd);
            sb_run_opts_free(&o);
            return fail("sealbox-secret", err.msg);
        }
    }
    if (o.detach && o.n_secrets && first >= argc) {
        if (sfd >= 0) close(sfd);
        sb_run_opts_free(&o);
        return fail("--secret with --detach needs CMD",
                    "secrets are released to the entrypoint, before it starts");
    }
    if (o.detach) {
        rc = run_detached(&o, argc - first, argv + first, sfd);
        sb_run_opts_free(&o);
        return rc;
    }
    sb_sandbox *sb = NULL;
    rc = sb_jail_backend.create(&o.cfg, &sb, &err);
    if (rc < 0) {
        if (sfd >= 0) close(sfd);
        sb_run_opts_free(&o);
        return fail("cannot create the sandbox", err.msg);
    }
    sb_mlog *log = NULL;
    char **menv = measured_env(&o);
    rc = menv ? new_log(&o, menv, sb, &log, &err) : sb_error_set(&err, SB_E_INTERNAL, "no memory");
    if (rc == 0) rc = sb_mlog_record(log, sb, argv + first, menv, o.workdir, &err);
    if (rc == 0 && o.log_path) rc = sb_mlog_write(log, o.log_path, &err);
    free(menv);
    const char *what = "measurement log";
    /* secrets: the entrypoint is recorded, so the evidence binds image, config and entrypoint;
     * sealbox-init runs the handshake, this process relays it and attests */
    sb_attester *att = NULL;
    sb_kbs_relay *relay = NULL;
    if (rc == 0 && o.kbs_url) {
        what = "attester";
        rc = open_attester(&o, &att, &err);
        struct sb_kbs_relay_cfg rcfg = {.url = o.kbs_url,
                                        .unix_socket = o.kbs_socket,
                                        .ca_file = o.kbs_ca,
                                        .attester = att,
                                        .log = log};
        if (rc == 0) {
            what = "KBS relay";
            rc = sb_kbs_relay_new(&rcfg, &relay, &err);
        }
        if (rc == 0) sb_sandbox_set_relay(sb, sb_kbs_relay_answer, relay);
    }
    if (rc == 0 && o.n_secrets) {
        what = "secrets refused";
        rc = sb_sandbox_secrets(sb, o.secrets, o.n_secrets, &err);
    }
    if (rc < 0) {
        sb_jail_backend.destroy(sb);
        sb_kbs_relay_free(relay);
        sb_attester_free(att);
        sb_mlog_free(log);
        if (sfd >= 0) close(sfd);
        sb_run_opts_free(&o);
        return fail(what, err.msg);
    }

    struct sb_exit ex;
    rc = sb_run_stream(sb, &o, argv + first, sfd, &ex, &err);
    sb_jail_backend.destroy(sb);
    sb_kbs_relay_free(relay);
    sb_attester_free(att);
    sb_mlog_free(log);
    sb_run_signals_end(sfd, &old);
    sb_run_opts_free(&o);
    if (rc < 0) return fail("exec", err.msg);
    return sb_run_report(&ex, "sealbox run: the sandbox ended unexpectedly");
}
