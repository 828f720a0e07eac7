/* gateway internals: the server process launcher shared by the engine and its tests. */
#ifndef SB_GATEWAY_INTERNAL_H
#define SB_GATEWAY_INTERNAL_H

#include <sys/types.h>

#include "gateway.h"

#define GW_HOLDER_MOUNTS_MAX 32 /* = SB_SANDBOX_MAX_MOUNTS (upstream.c checks) */

/* One launched server. For jail servers pid is a holder process that created the sandbox and
 * streams the workload's stdio through the sandbox's init protocol; it reports "ok PID ID\n"
 * (sealbox-init's host pid and the sandbox id) or "err MESSAGE\n" on status_fd. */
struct gw_proc {
    pid_t pid;
    int in_fd;     /* we write the server's stdin (non-blocking) */
    int out_fd;    /* we read the server's stdout (non-blocking) */
    int status_fd; /* holder status (jail only; -1 otherwise) */
    pid_t init_pid;
    char sandbox_id[40];
    char status[256]; /* the holder's last report */
    size_t status_len;
    bool exited;
    int wait_status;
    const struct sb_gw_host *host; /* launched by a host (pid unused): stopped through it */
    uint64_t handle;
    struct gw_remote *remote; /* a remote server's bridge thread (pid is -1 then) */
};

/* The holder's command line (upstream.c): built by the launcher before it forks (malloc'ed,
 * NULL-terminated; NULL with err set), read back by the holder. The server's environment goes in
 * the holder's environment (gw_holder_envp: the launcher's own plus GW_HOLDER_ENV<i>=K=V), not
 * on the command line every local user can read. */
#define GW_HOLDER_ENV "SB_GW_ENV_"
char **gw_holder_argv(const struct sb_gw_server_config *sc, const struct sb_gw_opts *o,
                      const char *exe, sb_error *err);
char **gw_holder_envp(const struct sb_gw_server_config *sc, sb_error *err);
void gw_holder_argv_free(char **v); /* frees either */
struct gw_holder_spec {
    struct sb_gw_server_config sc; /* argv points into the command line, env into envp */
    struct sb_gw_opts o;           /* state_dir, init_path, cgroup_root, cgroup_parent */
    struct sb_gw_mount mounts[GW_HOLDER_MOUNTS_MAX];
    char *env[SB_GW_HOLDER_ARGS_MAX + 1];
};
/* Reads a command line gw_holder_argv made and the environment gw_holder_envp made (argv is
 * modified: the command's list is NULL-terminated in place); SB_E_MALFORMED naming the
 * argument. */
int gw_holder_parse(int argc, char **argv, char **envp, struct gw_holder_spec *h,
                    sb_error *err) SB_WUR;

int gw_proc_spawn(const struct sb_gw_server_config *sc, const struct sb_gw_opts *o,
                  struct gw_proc *p, sb_error *err) SB_WUR;
/* The server is gone (its pipes are closed): SIGTERM, or the host's stop. */
void gw_proc_term(struct gw_proc *p);
/* Reads what the holder reported (non-blocking); true once the report line is complete. */
bool gw_proc_read_status(struct gw_proc *p);
/* Stops every process: stdin closed, then after grace_ms SIGTERM, then the sandbox's init and
 * the holder are killed; reaps them all. */
void gw_procs_stop(struct gw_proc **v, size_t n, uint64_t grace_ms);

/* remote.c: a server with "url" is a bridge thread behind the same two pipes. */
struct gw_remote;
int gw_remote_start(const struct sb_gw_server_config *sc, struct gw_proc *p, sb_error *err) SB_WUR;
/* Copies the bridge's "err ..." report, once it made one, into p->status. */
bool gw_remote_status(struct gw_proc *p);
/* Asks the bridge to end within a second even while its engine's pipe stays open (a monitor
 * that handed the pipe to another process). */
void gw_remote_stop(struct gw_proc *p);
/* Joins the bridge once it ended (wait: until it ends; it does within seconds of in_fd closing)
 * and frees it; true when it is gone. */
bool gw_remote_reap(struct gw_proc *p, bool wait);

#endif
