/* run_opts: the sandbox options shared by `sealbox run` and its detached form — parsed and
 * validated into a struct sb_sandbox_config plus the command's environment. */
#ifndef SB_CMD_RUN_OPTS_H
#define SB_CMD_RUN_OPTS_H

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
    bool tty;
    bool detach;
    char *init_path;                        /* owned */
    char *mount_buf[SB_SANDBOX_MAX_MOUNTS]; /* owned copies the mount specs point into */
};

/* Parses argv (argv[0] = "run") up to "--" or the first non-option; *first = index of CMD.
 * Returns 0, SB_RUN_OPTS_HELP, or a negative code with a message naming the option. */
int sb_run_opts_parse(struct sb_run_opts *o, int argc, char **argv, int *first, sb_error *err);
int sb_run_opts_add_env(struct sb_run_opts *o, const char *k, const char *v, sb_error *err);
void sb_run_opts_free(struct sb_run_opts *o);

/* "512M", "1G", "4096", "64k" (binary units) */
int sb_parse_size(const char *s, uint64_t *out, sb_error *err, const char *opt);
/* "30", "30s", "500ms", "5m", "1h" */
int sb_parse_duration_ms(const char *s, uint64_t *out, sb_error *err, const char *opt);
/* "0.5", "2", "1.25" -> thousandths of a CPU */
int sb_parse_cpus(const char *s, uint64_t *out, sb_error *err, const char *opt);

#endif
