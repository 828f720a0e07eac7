/* run_opts: the sandbox options shared by `sealbox run` and its detached form — parsed and
 * validated into a struct sb_sandbox_config plus the command's environment. */
#ifndef SB_CMD_RUN_OPTS_H
#define SB_CMD_RUN_OPTS_H

#include <signal.h>

#include "sandbox/sandbox.h"

#define SB_RUN_OPTS_HELP 1

struct sb_run_opts {
    struct sb_sandbox_config cfg;
    struct sb_mount_spec mounts[SB_SANDBOX_MAX_MOUNTS];
    char **env; /* NULL-terminated, owned */
    size_t n_env;
    const char *workdir;
    const char *log_path; /* --log FILE: the measurement log's export */
    uint64_t timeout_ms;
    uint64_t kill_grace_ms; /* --kill-after (0: the library's default) */
    bool tty;
    bool detach;
    char *init_path;                        /* owned */
    char *mount_buf[SB_SANDBOX_MAX_MOUNTS]; /* owned copies the mount specs point into */
    /* --secret repo/type/tag[:file=PATH|:env=NAME] (docs/secrets.md, "In the sandbox") */
    struct sb_secret_spec secrets[SB_PROTO_MAX_SECRETS]; /* strings owned */
    size_t n_secrets;
    const char *kbs_url, *kbs_socket, *kbs_ca; /* --kbs-url, --kbs-unix-socket, --kbs-ca */
    const char *attester;                      /* --attester software|tsm|tpm */
    const char *attester_key;                  /* --attester-key (software) */
    const char *tsm_dir, *tcti;                /* --tsm-dir, --tcti */
};

/* Parses argv (argv[0] = "run") up to "--" or the first non-option; *first = index of CMD.
 * Returns 0, SB_RUN_OPTS_HELP, or a negative code with a message naming the option. */
int sb_run_opts_parse(struct sb_run_opts *o, int argc, char **argv, int *first, sb_error *err);
int sb_run_opts_add_env(struct sb_run_opts *o, const char *k, const char *v, sb_error *err);
/* A bind mount as --mount adds it (the strings are copied). */
int sb_run_opts_add_mount(struct sb_run_opts *o, const char *src, const char *dst, bool ro,
                          sb_error *err);
/* Where the workload's helper is bind-mounted when a KBS is configured. */
#define SB_SECRET_HELPER_PATH "/usr/local/bin/sealbox-secret"

void sb_run_opts_free(struct sb_run_opts *o);
/* The sealbox-init binary: $SEALBOX_INIT, else the one next to this executable (malloc'ed). */
char *sb_sibling_init(void);
/* $ENV_NAME, else the program `name` next to this executable (malloc'ed). */
char *sb_sibling_program(const char *name, const char *env_name);

/* "512M", "1G", "4096", "64k" (binary units) */
int sb_parse_size(const char *s, uint64_t *out, sb_error *err, const char *opt);
/* "30", "30s", "500ms", "5m", "1h" */
int sb_parse_duration_ms(const char *s, uint64_t *out, sb_error *err, const char *opt);
/* "0.5", "2", "1.25" -> thousandths of a CPU */
int sb_parse_cpus(const char *s, uint64_t *out, sb_error *err, const char *opt);

/* cmd_stream.c: what `sealbox run` and `sealbox exec` share. */
/* Blocks sigs (to be forwarded; SIGPIPE ignored) and returns a signalfd for them (-1 if none);
 * *old receives the previous mask for sb_run_signals_end. */
int sb_run_signals_begin(const int *sigs, size_t n, sigset_t *old);
void sb_run_signals_end(int sfd, const sigset_t *old);
/* Runs argv in sb with the caller's stdio (the terminal raw with --tty, restored afterwards), the
 * options' environment, workdir, timeout and kill grace, forwarding the signals read from sfd. */
int sb_run_stream(sb_sandbox *sb, const struct sb_run_opts *o, char *const *argv, int sfd,
                  struct sb_exit *ex, sb_error *err);
/* Says on stderr why CMD was killed (timeout, out of memory, or `gone` when the sandbox
 * vanished) and returns the exit status. */
int sb_run_report(const struct sb_exit *ex, const char *gone);

#endif
