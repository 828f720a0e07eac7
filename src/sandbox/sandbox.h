/* sandbox: the backend interface (create, exec, signal, freeze, thaw, stats, destroy) that
 * every isolation backend implements, the jail backend, images and the init message protocol. */
#ifndef SB_SANDBOX_H
#define SB_SANDBOX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "util/util.h"

/* ---- limits and defaults ---------------------------------------------------------------- */

#define SB_SANDBOX_ID_LEN 16       /* hex characters of a sandbox id */
#define SB_SANDBOX_MAX_MOUNTS 32   /* --mount entries */
#define SB_SANDBOX_MAX_ENV 1024    /* --env entries */
#define SB_SANDBOX_MAX_ARGS 4096   /* argv entries of one exec */
#define SB_SANDBOX_MAX_STR 32768   /* one argv/env/path string, bytes */
#define SB_SANDBOX_HOSTNAME_MAX 64 /* uts hostname */
#define SB_SANDBOX_DEF_MEMORY (512ull << 20)
#define SB_SANDBOX_DEF_PIDS 512u
#define SB_SANDBOX_DEF_DISK (256ull << 20) /* writable layer (tmpfs) */
#define SB_SANDBOX_MIN_MEMORY (8ull << 20)
#define SB_SANDBOX_MIN_DISK (1ull << 20)
#define SB_SANDBOX_MAX_PIDS 1000000u
#define SB_SANDBOX_NOFILE 4096u
#define SB_SANDBOX_DEF_KILL_GRACE_MS 2000u /* from a timeout's SIGTERM to its SIGKILL */
/* Inside every sandbox: the workload runs as uid/gid 0 (owner of the image's files through the
 * idmapped image mount) without capabilities; sealbox-init runs as this uid/gid. */
#define SB_SANDBOX_INIT_UID 65533u
#define SB_SANDBOX_ID_RANGE 65536u          /* uids/gids mapped per sandbox */
#define SB_SANDBOX_HOST_ID_BASE 0x10000000u /* host uid of the first slot's uid 0 */
#define SB_SANDBOX_SLOTS 4096u              /* concurrent sandboxes per state directory */

/* The default state directory (images, per-sandbox records, uid slots). */
#define SB_SANDBOX_STATE_DIR "/var/lib/sealbox"

/* ---- configuration ---------------------------------------------------------------------- */

struct sb_mount_spec {
    const char *src; /* host path */
    const char *dst; /* absolute path inside the sandbox */
    bool ro;
};

struct sb_sandbox_config {
    const char *state_dir; /* NULL: SB_SANDBOX_STATE_DIR */
    const char *image;     /* NULL or "host": the host's /usr; otherwise an imported image */
    const char *init_path; /* the sealbox-init binary (host path) */
    const struct sb_mount_spec *mounts;
    size_t n_mounts;
    const char *hostname;  /* NULL: "sandbox" */
    uint64_t memory_bytes; /* 0: SB_SANDBOX_DEF_MEMORY */
    uint64_t pids;         /* 0: SB_SANDBOX_DEF_PIDS */
    uint64_t cpu_millis;   /* 0: no CPU cap; 1000 = one CPU */
    uint64_t disk_bytes;   /* 0: SB_SANDBOX_DEF_DISK */
    bool net_none;         /* loopback only, in a network namespace of its own */
    bool net_host; /* the host's network namespace (`--net host`): weaker, for tool servers that
                      must reach an API; every other layer unchanged (docs/sandbox.md) */
    const char *cgroup_root;        /* NULL: /sys/fs/cgroup (tests point it elsewhere) */
    const char *cgroup_parent;      /* NULL: "sealbox"; the directory below the caller's own cgroup
                                       that holds one cgroup per sandbox ([A-Za-z0-9._-]) */
    struct sb_sandbox_trace *trace; /* NULL, or where create and destroy record their steps */
};

/* Per-step timestamps (CLOCK_MONOTONIC) of one sandbox's create and destroy, from the host half
 * and the sandbox half in the order they happened; for profiling (bench_sandbox). The sandbox
 * keeps appending to it until destroy returns, so it must outlive the sandbox. */
#define SB_TRACE_MAX 96
struct sb_sandbox_trace {
    uint32_t n;
    struct {
        const char *step; /* a static string */
        uint64_t ns;
    } ev[SB_TRACE_MAX];
};

/* ---- the backend interface -------------------------------------------------------------- */

typedef struct sb_sandbox sb_sandbox;

/* One process started in a sandbox. Its stdio is streamed: the caller supplies host fds, the
 * backend pumps them (stdin_fd < 0: stdin is empty). */
struct sb_exec_req {
    char *const *argv;   /* argv[0] is looked up in PATH of env when it has no '/' */
    char *const *env;    /* exactly the workload's environment (NULL-terminated) */
    const char *workdir; /* NULL: "/" */
    bool tty;            /* a pseudo-terminal from the sandbox's own devpts */
    uint16_t rows, cols; /* initial window size with tty */
    int stdin_fd, stdout_fd, stderr_fd;
    /* timeout_ms 0: none; on expiry the command's process group gets SIGTERM, and kill_grace_ms
     * (0: SB_SANDBOX_DEF_KILL_GRACE_MS) later SIGKILL: the whole sandbox when the caller created
     * it, the command's process group on an attached one */
    uint64_t timeout_ms;
    uint64_t kill_grace_ms;
    int signal_fd; /* -1, or a signalfd of the caller: its signals are forwarded to the
                      command (SIGWINCH becomes a window-size change with tty) */
};

enum sb_exit_kind {
    SB_EXIT_EXITED,       /* code = exit status */
    SB_EXIT_SIGNALED,     /* code = signal number */
    SB_EXIT_NOTFOUND,     /* argv[0] does not exist (code = errno) */
    SB_EXIT_NOEXEC,       /* argv[0] exists but cannot be executed (code = errno) */
    SB_EXIT_TIMEOUT,      /* timeout_ms expired; the sandbox was killed */
    SB_EXIT_OOM,          /* the memory limit killed the workload */
    SB_EXIT_SANDBOX_GONE, /* sealbox-init died */
    SB_EXIT_KIND_MAX
};

struct sb_exit {
    enum sb_exit_kind kind;
    int code;
};

/* Maps an exit to the status convention of container runtimes: the command's own status,
 * 128+N for signal N, 124 timeout, 137 out of memory, 126 cannot execute, 127 not found,
 * 125 sandbox failure. */
int sb_exit_status(const struct sb_exit *e);
const char *sb_exit_kind_name(enum sb_exit_kind k);

struct sb_sandbox_stats {
    uint64_t memory_bytes; /* current usage of the memory cgroup (includes the tmpfs layer) */
    uint64_t memory_limit;
    uint64_t pids;
    uint64_t pids_limit;
    uint64_t cpu_usage_ns; /* 0 when the host has no CPU accounting */
    uint64_t oom_kills;
    bool frozen;
};

struct sb_backend_ops {
    const char *name;
    int (*create)(const struct sb_sandbox_config *cfg, sb_sandbox **out, sb_error *err);
    /* Runs a process and streams its I/O until it exits. */
    int (*exec)(sb_sandbox *sb, const struct sb_exec_req *req, struct sb_exit *out, sb_error *err);
    int (*signal)(sb_sandbox *sb, int sig, sb_error *err); /* every workload process */
    int (*freeze)(sb_sandbox *sb, sb_error *err);
    int (*thaw)(sb_sandbox *sb, sb_error *err);
    int (*stats)(sb_sandbox *sb, struct sb_sandbox_stats *out, sb_error *err);
    /* Kills everything (frozen or not) and removes every trace; accepts NULL. */
    void (*destroy)(sb_sandbox *sb);
};

/* The namespaces + seccomp + Landlock + cgroups backend. */
extern const struct sb_backend_ops sb_jail_backend;

/* Backend-independent accessors. */
const char *sb_sandbox_id(const sb_sandbox *sb);
const char *sb_sandbox_image_digest(const sb_sandbox *sb); /* "sha256:<hex>" or "mutable:host" */
pid_t sb_sandbox_init_pid(const sb_sandbox *sb);           /* host pid of sealbox-init */
const char *sb_sandbox_cgroup_mode(const sb_sandbox *sb);  /* "v1" / "v2" */
uint32_t sb_sandbox_host_root(const sb_sandbox *sb);       /* host uid/gid of its uid/gid 0 */

/* ---- detached sandboxes ---------------------------------------------------------------------
 * Until the daemon owns sandboxes, `sealbox run --detach` keeps one alive in a small holder
 * process that calls sb_jail_serve(); other commands reach it by id through the state
 * directory (<state>/sandboxes/<id>/: record, control.sock, holder.pid, main.log, main.exit). */

/* The per-sandbox directory on the host. */
const char *sb_sandbox_dir(const sb_sandbox *sb);
/* Serves exec connections on listen_fd (a listening SOCK_SEQPACKET unix socket) until stop_fd
 * is readable or sealbox-init dies. Each connection speaks the init protocol for one command
 * at a time (its exec ids are rewritten onto the sandbox's channel). If main_argv is set, it
 * runs first with its output appended to main_log_fd and its status written to main.exit. */
int sb_jail_serve(sb_sandbox *sb, int listen_fd, int stop_fd, char *const *main_argv,
                  char *const *main_env, const char *main_workdir, int main_log_fd,
                  sb_error *err) SB_WUR;
/* Starts the main command before sb_jail_serve (which then serves it as its main_argv, and
 * ignores its own): for a caller that recorded it in the log and released its secrets first
 * (`sealbox run --detach --secret`). The command is not recorded here. */
int sb_jail_serve_main(sb_sandbox *sb, char *const *argv, char *const *env, const char *workdir,
                       sb_error *err) SB_WUR;
/* A handle on a detached sandbox: exec goes through its control socket, freeze/thaw/stats to
 * its cgroup; destroy() only lets go of the handle. */
int sb_jail_attach(const char *state_dir, const char *id, sb_sandbox **out, sb_error *err) SB_WUR;
/* Ends a detached sandbox (its holder destroys it) and waits until nothing is left; cleans up
 * after a holder that died. */
int sb_jail_remove(const char *state_dir, const char *id, sb_error *err) SB_WUR;

/* Removes what crashed sandboxes left in state_dir (holder gone, sealbox-init exited):
 * their cgroups, slots and directories. *removed counts them. */
int sb_jail_sweep(const char *state_dir, unsigned *removed, sb_error *err) SB_WUR;

struct sb_sandbox_info {
    char id[SB_SANDBOX_ID_LEN + 1];
    char image[96];
    int64_t created;
    bool frozen;
    bool holder_alive;
};
/* Every sandbox recorded in the state directory (*out is malloc'ed). */
int sb_jail_list(const char *state_dir, struct sb_sandbox_info **out, size_t *n,
                 sb_error *err) SB_WUR;

/* ---- images -------------------------------------------------------------------------------
 * `sealbox image import DIR`: an immutable copy in <state>/images/<hex>/rootfs named by
 * "sha256:<hex>", the SHA-256 of its canonical manifest (docs/sandbox.md: one line per entry,
 * depth first with children in byte-wise name order; type, mode, uid, gid, path, and the
 * content's SHA-256 or the link target). Devices, fifos and sockets are refused. */
int sb_image_import(const char *state_dir, const char *src_dir, char **digest,
                    sb_error *err) SB_WUR;

/* The host state the jail depends on; fails with a message naming what is missing. */
int sb_jail_preflight(sb_error *err) SB_WUR;

/* ---- the measurement log (src/sandbox/mlog.c; docs/secrets.md) ----------------------------
 * Every sandbox has an ordered log written only by the process that owns it (the daemon's
 * monitor, or `sealbox run`): image, config, entrypoint, then every later exec. Each event is
 * a JSON object; its digest is SHA-384 of its JCS-canonical form, and the log digest is
 * extended like a PCR: d0 = 48 zero bytes, d(i+1) = SHA-384(d(i) || SHA-384(event i)). A log
 * with any event after the entrypoint is "tainted". */

#define SB_MLOG_DIGEST_LEN 48
#define SB_MLOG_MAX_EVENTS 1024u                    /* events in one log */
#define SB_MLOG_MAX_BYTES (128u * 1024u)            /* canonical bytes of every event together */
#define SB_MLOG_MAX_JSON (SB_MLOG_MAX_BYTES + 4096) /* an exported log handed to the replay */
#define SB_MLOG_MAX_IMAGE 128                       /* bytes of the image digest string */
#define SB_MLOG_EXE_MAX (4ull << 30)                /* bytes of one executable hashed */
#define SB_MLOG_VERSION 1

typedef struct sb_mlog sb_mlog;

/* The measured configuration (docs/secrets.md): {"cpu_millis", "disk_bytes", "env": [names,
 * sorted, unique], "hostname", "memory_bytes", "mounts": [{"dst", "ro", "src"}], "network",
 * "pids"} with every default resolved, so the same sandbox always measures the same. env holds
 * "NAME=VALUE" (or bare NAME) strings; only the names are measured, never a value. */
int sb_mlog_config(const struct sb_sandbox_config *cfg, char *const *env, json_t **out,
                   sb_error *err) SB_WUR;
/* A new log holding its image and config events. */
int sb_mlog_new(const char *image_digest, const json_t *config, sb_mlog **out,
                sb_error *err) SB_WUR;
void sb_mlog_free(sb_mlog *l);
/* Appends a command: the first is the "entrypoint", every later one an "exec". exe_path is the
 * executable argv[0] resolved to inside the sandbox and exe_digest its SHA-384; both NULL when
 * it could not be resolved (the attempt is recorded all the same). env: the command's whole
 * environment (names only are recorded). SB_E_LIMIT when the log is full (the caller must then
 * refuse to run the command). */
int sb_mlog_add_exec(sb_mlog *l, char *const *argv, char *const *env, const char *workdir,
                     const char *exe_path, const uint8_t *exe_digest, sb_error *err) SB_WUR;
void sb_mlog_digest(const sb_mlog *l, uint8_t out[SB_MLOG_DIGEST_LEN]);
/* "sha384:<96 hex>" into out. */
void sb_mlog_digest_str(const uint8_t d[SB_MLOG_DIGEST_LEN], char out[104]);
bool sb_mlog_tainted(const sb_mlog *l);
size_t sb_mlog_count(const sb_mlog *l);
/* The canonical JSON of event i (i < count). */
const char *sb_mlog_event(const sb_mlog *l, size_t i);
/* The exported log, JCS-canonical: {"digest": "sha384:…", "events": [...], "hash": "sha384",
 * "tainted": bool, "version": 1}. */
int sb_mlog_export(const sb_mlog *l, char **out, size_t *len, sb_error *err) SB_WUR;

/* What a replay establishes from an exported log (untrusted bytes). */
struct sb_mlog_replay {
    uint8_t digest[SB_MLOG_DIGEST_LEN];
    size_t events;
    size_t execs; /* events after the entrypoint */
    bool tainted; /* execs > 0 */
    /* {"digest", "image", "config", "entrypoint": {"argv", "executable", "digest"} | null,
     *  "tainted", "execs", "events"}: the claims a verifier or KBS appraises */
    json_t *summary;
};
/* Recomputes the digest from the events: every event is checked field by field (order image,
 * config, entrypoint, execs; seq = index; unknown keys refused), counts and sizes against the
 * SB_MLOG_* limits. A "digest" or "tainted" member that disagrees with the replay is
 * SB_E_MALFORMED naming it. */
int sb_mlog_replay(const uint8_t *json, size_t len, struct sb_mlog_replay *out,
                   sb_error *err) SB_WUR;
void sb_mlog_replay_clear(struct sb_mlog_replay *r);

/* Resolves argv0 as sealbox-init's execvp does (a name with '/' relative to workdir, else each
 * directory of env's PATH, default "/bin:/usr/bin"), confined below root_fd (openat2
 * RESOLVE_IN_ROOT), and hashes the regular file found with SHA-384. path receives the absolute
 * path inside the root. SB_E_NOTFOUND when nothing executable is found. */
int sb_mlog_measure_exe(int root_fd, const char *argv0, char *const *env, const char *workdir,
                        char path[4096], uint8_t digest[SB_MLOG_DIGEST_LEN], sb_error *err) SB_WUR;
/* The same inside a running sandbox (through /proc/<init>/root). */
int sb_mlog_measure_in(const sb_sandbox *sb, const char *argv0, char *const *env,
                       const char *workdir, char path[4096], uint8_t digest[SB_MLOG_DIGEST_LEN],
                       sb_error *err) SB_WUR;
/* Measures argv[0] inside the sandbox and appends the command (sb_mlog_measure_in +
 * sb_mlog_add_exec; an unresolvable argv[0] is recorded as such). */
int sb_mlog_record(sb_mlog *l, const sb_sandbox *sb, char *const *argv, char *const *env,
                   const char *workdir, sb_error *err) SB_WUR;
/* Writes the export to path atomically (mode 0644: the log holds no secret). */
int sb_mlog_write(const sb_mlog *l, const char *path, sb_error *err) SB_WUR;
/* Hands a log to a sandbox served by sb_jail_serve: every command (the main one and each
 * connection's) is recorded in it before it is sent to sealbox-init, and the export is
 * rewritten at path after each; a command the log cannot take is refused. The sandbox owns the
 * log from then on (destroy frees it). */
void sb_jail_set_mlog(sb_sandbox *sb, sb_mlog *log, const char *path);

/* The host directory an image's root file system is read from ("host" or NULL: "/") and its
 * digest, for `sealbox measure`. Both malloc'ed. */
int sb_image_rootfs(const char *state_dir, const char *image, char **rootfs, char **digest,
                    sb_error *err) SB_WUR;

/* ---- the seccomp policy (exposed for tests) ---------------------------------------------- */

/* Builds the allowlist filter (default ENOSYS, architecture checked first, denied calls
 * EPERM) and loads it into the calling thread. Requires no_new_privs. */
int sb_seccomp_load(sb_error *err) SB_WUR;
/* Compiles the allowlist once per process (sb_seccomp_load calls it; creators call it before
 * forking so the sandbox half only loads the result). */
int sb_seccomp_prepare(sb_error *err) SB_WUR;
/* Number of syscalls on the allowlist (for docs/tests). */
size_t sb_seccomp_allowlist_len(void);

/* Landlock: restricts the calling process to the tree below root_fd and, where the ABI has
 * them, scopes abstract sockets and signals to its domain. TCP is not restricted (the network
 * namespace is; loopback inside must work). Returns the ABI used (0: Landlock unavailable,
 * nothing done). */
int sb_landlock_apply(int root_fd, sb_error *err) SB_WUR;
int sb_landlock_abi(void);

/* ---- the message protocol between the host and sealbox-init ------------------------------ */

/* Frames travel on a SOCK_SEQPACKET socketpair: one frame per datagram.
 *   u16le type | u16le flags (0) | u32le exec id | payload (type-specific, fully consumed) */
#define SB_PROTO_MAX_FRAME (128u * 1024u)
#define SB_PROTO_MAX_DATA (32u * 1024u)
#define SB_PROTO_HDR 8u

enum sb_msg_type {
    SB_MSG_READY = 1,   /* init -> host: u32 protocol version */
    SB_MSG_EXEC = 2,    /* host -> init: see struct sb_msg_exec */
    SB_MSG_STARTED = 3, /* init -> host: u32 pid (in the sandbox) */
    SB_MSG_STDIN = 4,   /* host -> init: data (empty = EOF) */
    SB_MSG_STDOUT = 5,  /* init -> host: data */
    SB_MSG_STDERR = 6,  /* init -> host: data */
    SB_MSG_EXIT = 7,    /* init -> host: u8 kind (sb_exit_kind), i32 code */
    SB_MSG_SIGNAL = 8,  /* host -> init: u32 signal number, to the exec's process group */
    SB_MSG_RESIZE = 9,  /* host -> init: u16 rows, u16 cols */
    SB_MSG_ERROR = 10,  /* init -> host: string (a refused request) */
    /* Secrets (docs/secrets.md, "In the sandbox"). sealbox-init runs the KBS handshake itself
     * (its TEE key never leaves it) but has no network: the host relays. The exec id field
     * carries a request id; a reply repeats it. */
    SB_MSG_SECRETS = 11,      /* host -> init: u16 count, per secret: str path, u8 kind
                                 (sb_secret_kind), str target (struct sb_msg_secrets) */
    SB_MSG_SECRETS_DONE = 12, /* init -> host: u8 ok, the rest: the reason when not ok (never
                                 a value) */
    SB_MSG_CONTEXT_REQ = 13,  /* init -> host: empty (what to attest with, before a handshake) */
    SB_MSG_CONTEXT = 14,      /* host -> init: u8 ok, str tee, the rest: the exported
                                 measurement log (or the reason when not ok) */
    SB_MSG_KBS_REQ = 15,      /* init -> host: u8 method (sb_kbs_method), str route (below
                                 /kbs/v0/), the rest: the request body */
    SB_MSG_KBS_RESP = 16,     /* host -> init: u16 HTTP status (0: not relayed, the rest is the
                                 reason), the rest: the response body */
    SB_MSG_EVIDENCE_REQ = 17, /* init -> host: the rest: the runtime-data JSON to bind */
    SB_MSG_EVIDENCE = 18,     /* host -> init: u8 ok, the rest: evidence JSON or the reason */
    SB_MSG_TYPE_MAX
};
#define SB_PROTO_VERSION 1u

struct sb_msg_exec {
    bool tty;
    uint16_t rows, cols;
    const char *workdir; /* views into the frame; NUL-terminated copies live in strbuf */
    size_t argc, envc;
    char **argv, **env; /* NULL-terminated, allocated; free with sb_msg_free */
};

#define SB_PROTO_MAX_SECRETS 32      /* secrets released at start */
#define SB_PROTO_MAX_SECRET_PATH 192 /* "repo/type/tag" (= SB_KBS_PATH_MAX) */
#define SB_PROTO_MAX_TARGET 4095     /* a file path or variable name */
#define SB_PROTO_MAX_ROUTE 256       /* a relayed route below /kbs/v0/ */
#define SB_PROTO_MAX_TEE 31          /* a KBS tee name */

enum sb_secret_kind {
    SB_SECRET_FILE, /* target: an absolute path in the sandbox (tmpfs), mode 0400 */
    SB_SECRET_ENV,  /* target: a variable of the entrypoint's environment */
    SB_SECRET_KIND_MAX
};
enum sb_kbs_method { SB_KBS_GET = 1, SB_KBS_POST = 2, SB_KBS_METHOD_MAX };

struct sb_secret_spec {
    char *path;   /* repo/type/tag */
    uint8_t kind; /* enum sb_secret_kind */
    char *target;
};
struct sb_msg_secrets {
    size_t count;
    struct sb_secret_spec *v; /* allocated; free with sb_msg_free */
};

struct sb_msg {
    uint16_t type;
    uint32_t exec_id;
    /* type-specific */
    uint32_t u32;        /* READY version, STARTED pid, SIGNAL number */
    uint8_t exit_kind;   /* EXIT */
    int32_t exit_code;   /* EXIT */
    uint16_t rows, cols; /* RESIZE */
    const uint8_t *data; /* STDIN/STDOUT/STDERR/ERROR: a view into the frame */
    size_t data_len;
    struct sb_msg_exec exec; /* EXEC */
    /* SECRETS_DONE, CONTEXT, EVIDENCE: ok in u32; KBS_REQ: method in u32; KBS_RESP: status in
     * u32; data/data_len: the rest of the frame */
    char *str;                     /* CONTEXT: tee; KBS_REQ: route (allocated) */
    struct sb_msg_secrets secrets; /* SECRETS */
};

/* Parses one frame; argv/env of EXEC are allocated (sb_msg_free). */
int sb_msg_parse(const uint8_t *frame, size_t len, struct sb_msg *out, sb_error *err) SB_WUR;
void sb_msg_free(struct sb_msg *m);
/* Encoders append one frame to w (which the caller resets per frame). */
int sb_msg_put_hdr(sb_writer *w, enum sb_msg_type type, uint32_t exec_id);
int sb_msg_encode_exec(sb_writer *w, uint32_t exec_id, const struct sb_msg_exec *e);
int sb_msg_encode_simple(sb_writer *w, enum sb_msg_type type, uint32_t exec_id, uint32_t u32);
int sb_msg_encode_data(sb_writer *w, enum sb_msg_type type, uint32_t exec_id, const void *p,
                       size_t n);
int sb_msg_encode_exit(sb_writer *w, uint32_t exec_id, uint8_t kind, int32_t code);
int sb_msg_encode_resize(sb_writer *w, uint32_t exec_id, uint16_t rows, uint16_t cols);
int sb_msg_encode_secrets(sb_writer *w, uint32_t id, const struct sb_secret_spec *v, size_t n);
/* SECRETS_DONE, CONTEXT, EVIDENCE (flag = ok) and KBS_RESP (a u16 status): a small head, an
 * optional string (CONTEXT's tee) and the rest. */
int sb_msg_encode_reply(sb_writer *w, enum sb_msg_type type, uint32_t id, uint32_t flag,
                        const char *str, const void *p, size_t n);
int sb_msg_encode_kbs_req(sb_writer *w, uint32_t id, enum sb_kbs_method method, const char *route,
                          const void *body, size_t n);

/* repo/type/tag: three non-empty segments of [A-Za-z0-9._-], none "." or "..", at most
 * SB_PROTO_MAX_SECRET_PATH bytes (the KBS's own rule). */
bool sb_secret_path_valid(const char *path);

/* ---- the workload's secret socket (src/sandbox/cdh.c; docs/secrets.md "In the sandbox") ----
 * sealbox-init listens on the abstract unix socket @sealbox-secrets (private to the sandbox's
 * network namespace; bound before any workload runs) and answers
 * GET /cdh/resource/<repo>/<type>/<tag> for callers of the workload's uid (SO_PEERCRED). */
#define SB_CDH_SOCKET "sealbox-secrets"
#define SB_CDH_MAX_REQUEST 8192u /* bytes of a request (line and headers; no body) */
#define SB_CDH_MAX_LINE 4096u    /* bytes of one line */
#define SB_CDH_MAX_HEADERS 64u
#define SB_CDH_MAX_BODY (64u * 1024) /* a value (= the KBS's resource limit) */
#define SB_CDH_MAX_RESPONSE (SB_CDH_MAX_BODY + 8192u)
/* A complete request → the resource path. SB_E_TRUNCATED: not all of it has arrived yet;
 * SB_E_UNSUPPORTED: not a GET; SB_E_NOTFOUND: another target; else malformed or limit. */
int sb_cdh_parse_request(const uint8_t *p, size_t n, char path[SB_PROTO_MAX_SECRET_PATH + 1],
                         sb_error *err) SB_WUR;
struct sb_cdh_response {
    int status;
    const uint8_t *body; /* a view into the input */
    size_t body_len;
};
/* A complete response (status line, headers with one Content-Length, exactly that body);
 * SB_E_TRUNCATED while it has not all arrived. */
int sb_cdh_parse_response(const uint8_t *p, size_t n, struct sb_cdh_response *out,
                          sb_error *err) SB_WUR;

/* A secret's target as `--secret` and the API take it, checked: path is repo/type/tag;
 * a file target is absolute, without "." or ".." segments or a NUL; an env target is
 * [A-Za-z_][A-Za-z0-9_]*. Errors name the field. */
int sb_secret_spec_check(const struct sb_secret_spec *s, sb_error *err) SB_WUR;
/* "repo/type/tag[:file=PATH|:env=NAME]" (as `--secret` and the daemon's create message carry
 * it; no target: the file /run/secrets/repo/type/tag) → *out (path and target allocated: free
 * with sb_secret_spec_clear), checked with sb_secret_spec_check. Untrusted bytes. */
int sb_secret_spec_parse(const uint8_t *p, size_t n, struct sb_secret_spec *out,
                         sb_error *err) SB_WUR;
void sb_secret_spec_clear(struct sb_secret_spec *s);

/* Sends the secrets to sealbox-init before the entrypoint and relays its requests (through the
 * sandbox's relay, below) until it says done. SB_E_POLICY (with the KBS's or policy's reason)
 * when a secret was refused; nothing of a value ever reaches the host. */
int sb_sandbox_secrets(sb_sandbox *sb, const struct sb_secret_spec *v, size_t n,
                       sb_error *err) SB_WUR;
/* The host side of sealbox-init's KBS requests (CONTEXT_REQ, KBS_REQ, EVIDENCE_REQ): fn answers
 * one parsed request with one reply frame in reply (src/kbs/relay.c implements it). Without a
 * relay, such requests are answered "not relayed". jail exec() and sb_sandbox_secrets use it. */
typedef int (*sb_sandbox_relay_fn)(void *arg, const struct sb_msg *req, sb_writer *reply);
void sb_sandbox_set_relay(sb_sandbox *sb, sb_sandbox_relay_fn fn, void *arg);
/* For a caller with its own event loop (the daemon's monitor, which must not block on a KBS
 * round trip): sb_sandbox_chan_read hands init's relay requests to the caller as events (the
 * whole frame in data/len), and the caller answers each later with sb_sandbox_chan_reply. */
void sb_sandbox_set_relay_async(sb_sandbox *sb, bool on);

/* ---- the command channel ---------------------------------------------------------------------
 * For a caller with its own event loop (sealboxd's monitor): several commands run at once in
 * one sandbox; they are started, fed and signalled without blocking, and sealbox-init's frames
 * are read one at a time as the channel's fd becomes readable. Not to be mixed with the
 * backend's exec() on the same sandbox (exec() discards frames of commands it did not start).
 * Every send fails with SB_E_LIMIT instead of blocking when sealbox-init is not reading. */
struct sb_chan_event {
    enum sb_msg_type type; /* SB_MSG_STARTED, _STDOUT, _STDERR, _EXIT or _ERROR; _SECRETS_DONE;
                              with relay_async also _CONTEXT_REQ, _KBS_REQ, _EVIDENCE_REQ */
    uint32_t id;           /* the command (as returned by sb_sandbox_chan_start) */
    uint32_t pid;          /* STARTED: its pid inside the sandbox */
    struct sb_exit exit;   /* EXIT (an OOM kill is reported as SB_EXIT_OOM) */
    bool ok;               /* SECRETS_DONE: every secret was released */
    const uint8_t *data;   /* STDOUT/STDERR/ERROR, SECRETS_DONE's reason: a view into the
                              caller's buffer; relay requests: the whole frame */
    size_t len;
};
int sb_sandbox_chan_fd(const sb_sandbox *sb); /* POLLIN: frames; POLLHUP: init is gone */
int sb_sandbox_chan_start(sb_sandbox *sb, char *const *argv, char *const *env, const char *workdir,
                          uint32_t *id, sb_error *err) SB_WUR;
/* n == 0 closes the command's stdin; n <= SB_PROTO_MAX_DATA. */
int sb_sandbox_chan_stdin(sb_sandbox *sb, uint32_t id, const void *p, size_t n,
                          sb_error *err) SB_WUR;
int sb_sandbox_chan_signal(sb_sandbox *sb, uint32_t id, int sig, sb_error *err) SB_WUR;
/* Sends the secrets to release before the entrypoint (SECRETS); init answers SECRETS_DONE with
 * *id after the handshakes it relays through this channel. Never blocks. */
int sb_sandbox_chan_secrets(sb_sandbox *sb, const struct sb_secret_spec *v, size_t n, uint32_t *id,
                            sb_error *err) SB_WUR;
/* Sends one relay reply frame (CONTEXT, KBS_RESP or EVIDENCE, as sb_kbs_relay_answer makes). */
int sb_sandbox_chan_reply(sb_sandbox *sb, const uint8_t *frame, size_t n, sb_error *err) SB_WUR;
/* Reads one frame into buf (SB_PROTO_MAX_FRAME bytes): 1 with *ev filled, 0 when nothing is
 * waiting, < 0 when sealbox-init is gone or sent something malformed. */
int sb_sandbox_chan_read(sb_sandbox *sb, uint8_t *buf, struct sb_chan_event *ev,
                         sb_error *err) SB_WUR;

#endif
