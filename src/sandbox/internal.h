/* internal: what the jail backend's files share (cgroups, images, the sandbox record). Not
 * part of the module's public interface. */
#ifndef SB_SANDBOX_INTERNAL_H
#define SB_SANDBOX_INTERNAL_H

#include "sandbox.h"

/* ---- cgroups (v2, v1, hybrid = v1 controllers) ------------------------------------------- */

enum sb_cg_mode { SB_CG_V1 = 1, SB_CG_V2 = 2 };
enum sb_cg_ctrl {
    SB_CG_MEMORY,
    SB_CG_PIDS,
    SB_CG_CPU,
    SB_CG_FREEZER,
    SB_CG_CPUACCT,
    SB_CG_CTRL_MAX
};

struct sb_cgroup {
    enum sb_cg_mode mode;
    char *v2;                 /* leaf directory (v2) */
    char *v1[SB_CG_CTRL_MAX]; /* leaf directory per controller (v1; cpuacct optional) */
};

struct sb_cg_limits {
    uint64_t memory_bytes, pids, cpu_millis;
};

/* root: where the hierarchies are mounted (NULL: /sys/fs/cgroup); parent: the directory below
 * the caller's own cgroup holding the sandboxes' cgroups (NULL: "sealbox"). */
int sb_cgroup_detect(const char *root, enum sb_cg_mode *mode, sb_error *err) SB_WUR;
int sb_cgroup_create(const char *root, const char *parent, const char *id,
                     const struct sb_cg_limits *lim, struct sb_cgroup **out, sb_error *err) SB_WUR;
int sb_cgroup_attach(const struct sb_cgroup *cg, pid_t pid, sb_error *err) SB_WUR;
/* Joining without a migration by pid (which takes the global threadgroup lock and, unless the
 * hierarchy is mounted with favordynmods, waits for an RCU grace period: 5-20 ms here). v1: the
 * new process writes "0" to each leaf's `tasks` file through fds its creator opened (a thread
 * that moves itself skips that lock; the creator's credentials authorise the write). v2: the
 * creator clones it straight into the leaf (clone3 CLONE_INTO_CGROUP with dir_fd). */
struct sb_cg_join {
    int fds[SB_CG_CTRL_MAX]; /* v1: the leaves' tasks files (O_CLOEXEC) */
    size_t n;
    int dir_fd; /* v2: the leaf directory (O_PATH would not do: O_DIRECTORY|O_RDONLY), or -1 */
};
int sb_cgroup_join_prepare(const struct sb_cgroup *cg, struct sb_cg_join *j, sb_error *err) SB_WUR;
/* In the new process (v1): moves itself through the prepared fds, then closes them. */
int sb_cgroup_join_self(struct sb_cg_join *j, sb_error *err) SB_WUR;
void sb_cgroup_join_close(struct sb_cg_join *j);
int sb_cgroup_freeze(const struct sb_cgroup *cg, bool freeze, sb_error *err) SB_WUR;
int sb_cgroup_stats(const struct sb_cgroup *cg, struct sb_sandbox_stats *st, sb_error *err) SB_WUR;
uint64_t sb_cgroup_oom_kills(const struct sb_cgroup *cg);
/* Kills every process left in the cgroup (thawing v1 first) and waits until it is empty. */
int sb_cgroup_kill_all(const struct sb_cgroup *cg, sb_error *err) SB_WUR;
/* Removes the leaf directories (kill_all first); frees cg. Accepts NULL. */
int sb_cgroup_destroy(struct sb_cgroup *cg, sb_error *err);
void sb_cgroup_free(struct sb_cgroup *cg);
/* Re-opens the record of an existing sandbox's cgroup (detached sandboxes). */
int sb_cgroup_open(const char *root, const char *parent, const char *id, struct sb_cgroup **out,
                   sb_error *err) SB_WUR;

/* ---- images --------------------------------------------------------------------------------- */

/* Resolves an image reference (NULL or "host": the host's /usr) to the host directory used as
 * the read-only lower layer and the digest recorded for the sandbox. */
int sb_image_resolve(const char *state_dir, const char *image, char **lower, char **digest,
                     bool *host, sb_error *err) SB_WUR;

/* ---- seccomp ------------------------------------------------------------------------------- */

struct sock_filter;
/* The program sb_seccomp_load() loads (built once per process). */
int sb_seccomp_program(const struct sock_filter **f, size_t *n, sb_error *err) SB_WUR;
/* For tests: the same policy as libseccomp compiles it, which was loaded stacked under the
 * argument filter until the compact program replaced both. */
int sb_seccomp_reference(const struct sock_filter **f, size_t *n, sb_error *err) SB_WUR;
void sb_seccomp_reference_arg(const struct sock_filter **f, size_t *n);

/* ---- small file helpers ------------------------------------------------------------------ */

/* vsnprintf for paths and small values: every input is length-checked before (the state
 * directory is at most SB_STATE_DIR_MAX bytes, buffers are 4 KiB), so it cannot truncate.
 * Returns the formatted length. */
#define SB_STATE_DIR_MAX 1024
int sb_fmt(char *out, size_t cap, const char *fmt, ...) SB_PRINTF(3, 4);

int sb_write_str(const char *path, const char *s, sb_error *err) SB_WUR;
int sb_read_small(const char *path, char *buf, size_t cap, sb_error *err) SB_WUR;
char *sb_path_join(const char *a, const char *b); /* malloc'ed "a/b" */
int sb_mkdir_p(const char *path, unsigned mode, sb_error *err) SB_WUR;

#endif
