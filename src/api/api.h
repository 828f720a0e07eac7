/* api: sealboxd — the unprivileged HTTP front (libevent evhttp, JSON, seccomp, no keys), the
 * privileged monitor (keys, store, sandboxes) and the typed message codec between them. */
#ifndef SB_API_H
#define SB_API_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "../util/util.h"

/* ---- the front <-> monitor messages --------------------------------------------------------- */

/* One message is one SOCK_SEQPACKET datagram:
 *   u16le type | u16le flags (0) | u32le request id | fields in the order of the type's schema
 * Field encodings: u8/u16le/u32le/u64le; str and bytes are u32le length + bytes (str: no NUL,
 * no byte < 0x20 except tab; bytes: anything); strlist is u16le count + that many str.
 * Every str/bytes has a maximum length and every strlist a maximum count, per field. */
#define SB_IPC_MSG_MAX (192u * 1024u)
#define SB_IPC_HDR 8u
#define SB_IPC_FIELDS_MAX 10
#define SB_IPC_LIST_MAX 64
#define SB_IPC_BODY_MAX (160u * 1024u) /* a reply body (JSON or metrics text) */
#define SB_IPC_LOG_MAX 2048u
#define SB_IPC_CRED_MAX 128u
#define SB_IPC_ID_MAX 64u
#define SB_IPC_IMAGE_MAX 256u
#define SB_IPC_KV_MAX 4224u     /* one "KEY=VALUE" of env or metadata */
#define SB_IPC_SECRET_MAX 4400u /* one secret of a create: "repo/type/tag:file=PATH" */
#define SB_IPC_PATH_MAX 4096u
#define SB_IPC_ARG_MAX 8192u
#define SB_IPC_STDIN_MAX (64u * 1024u)
#define SB_IPC_KBS_TEE_MAX 32u
#define SB_IPC_KBS_CLAIMS_MAX (64u * 1024u)  /* normalized claims the front verified */
#define SB_IPC_KBS_RUNTIME_MAX (16u * 1024u) /* the runtime-data (binding) object */
#define SB_IPC_KBS_TOKEN_MAX (100u * 1024u)  /* an EAR token */
#define SB_IPC_KBS_PATH_MAX 192u             /* repo/type/tag */
#define SB_IPC_KBS_BODY_MAX (96u * 1024u)    /* an admin body (a resource value, a policy) */
#define SB_IPC_GW_FIELD_MAX 255u             /* a pin's server, kind, name or digest */
#define SB_IPC_GW_CANON_MAX (128u * 1024u)   /* a pinned definition's canonical JSON */
#define SB_IPC_GW_RECORD_MAX (64u * 1024u)   /* one audit record of the gateway */

enum sb_ipc_type {
    /* front -> monitor */
    SB_IPC_LOG = 1,           /* level u8, text str */
    SB_IPC_HEALTH = 2,        /* (nothing) */
    SB_IPC_METRICS = 3,       /* cred */
    SB_IPC_TENANT = 4,        /* cred */
    SB_IPC_SBX_LIST = 5,      /* cred, after str, limit u32, all u8, metadata strlist (k=v) */
    SB_IPC_SBX_GET = 6,       /* cred, id */
    SB_IPC_SBX_CREATE = 7,    /* cred, image, memory_mb u32, cpu_millis u32, timeout_s u32,
                                 idle_standby_s u32, env strlist, metadata strlist, secrets
                                 strlist ("repo/type/tag:file=PATH" or "…:env=NAME") */
    SB_IPC_SBX_DELETE = 8,    /* cred, id */
    SB_IPC_SBX_STANDBY = 9,   /* cred, id */
    SB_IPC_SBX_RESUME = 10,   /* cred, id */
    SB_IPC_SBX_EXEC = 11,     /* cred, id, argv strlist, env strlist, cwd str, stdin bytes,
                                 timeout_s u32, mode u8 (sb_exec_mode) */
    SB_IPC_KBS_ATTEST = 12,   /* tee str, claims bytes (JSON), runtime-data bytes (JSON) */
    SB_IPC_KBS_RESOURCE = 13, /* token str, path str */
    SB_IPC_KBS_ADMIN = 14,    /* admin cred, op u8, path str, body bytes */
    SB_IPC_SBX_LOG = 15,      /* cred, id: the sandbox's measurement log */
    /* the gateway's control channel (a socketpair of its own; each answered by GW_REPLY at
     * once, except GW_AUDIT and GW_STOP, which are not answered) */
    SB_IPC_GW_CONFIG = 30,     /* (nothing): the configuration, redacted */
    SB_IPC_GW_SPAWN = 31,      /* server str: launch it (the reply carries its stdin and stdout) */
    SB_IPC_GW_STOP = 32,       /* handle u64: its pipes are closed, end it */
    SB_IPC_GW_PIN_GET = 33,    /* server, kind, name, digest */
    SB_IPC_GW_PIN_NAME = 34,   /* server, kind, name: is any definition of it approved */
    SB_IPC_GW_PIN_INSERT = 35, /* server, kind, name, digest, canon bytes, approved u8 */
    SB_IPC_GW_AUDIT = 36,      /* record bytes (a JSON object) */
    /* streams, processes and files (the header's request id names the stream or upload) */
    SB_IPC_STREAM_ACK = 40,   /* bytes u32: the client took that much of the stream */
    SB_IPC_STREAM_CLOSE = 41, /* (nothing): the client of the stream went away */
    SB_IPC_PROC_LIST = 42,    /* cred, id */
    SB_IPC_PROC_GET = 43,     /* cred, id, process u32 */
    SB_IPC_PROC_SIGNAL = 44,  /* cred, id, process u32, signal u8 */
    SB_IPC_PROC_STDIN = 45,   /* cred, id, process u32, data bytes, eof u8 */
    SB_IPC_PROC_OUTPUT = 46,  /* cred, id, process u32 (answered with a stream) */
    SB_IPC_FILE_GET = 47,     /* cred, id, path (answered with a stream) */
    SB_IPC_FILE_PUT = 48,     /* cred, id, path, size u64 or SB_FILES_SIZE_UNKNOWN (then
                                 FILE_DATA with the same id) */
    SB_IPC_FILE_DATA = 49,    /* cred, id, data bytes, last u8 (sb_file_data_flag) */
    SB_IPC_FILE_LIST = 50,    /* cred, id, path */
    SB_IPC_FILE_MKDIR = 51,   /* cred, id, path, parents u8 */
    SB_IPC_FILE_DELETE = 52,  /* cred, id, path */
    /* monitor -> front */
    SB_IPC_REPLY = 64,        /* status u16, content type u8, body bytes */
    SB_IPC_SHUTDOWN = 65,     /* (nothing): stop accepting, finish in-flight requests, exit */
    SB_IPC_STREAM_START = 66, /* status u16, kind u8 (sb_stream_kind), length u64 (0: unknown) */
    SB_IPC_STREAM_EVENT = 67, /* event u8 (sb_stream_event), data bytes */
    SB_IPC_STREAM_END = 68,   /* (nothing) */
    SB_IPC_GW_REPLY = 69,     /* code u32 (0, or the negated sb error code), a u64, b u64,
                                 body bytes (the configuration, or the error's message) */
    SB_IPC_TYPE_MAX
};

enum sb_ipc_kind {
    SB_IPC_U8,
    SB_IPC_U16,
    SB_IPC_U32,
    SB_IPC_U64,
    SB_IPC_STR,
    SB_IPC_BYTES,
    SB_IPC_STRLIST,
    SB_IPC_KIND_MAX
};

/* How an exec answers: one JSON reply when the command ends, a stream of events, or at once
 * with the id of a background process. */
enum sb_exec_mode { SB_EXEC_SYNC, SB_EXEC_STREAM, SB_EXEC_BACKGROUND, SB_EXEC_MODE_MAX };
/* A stream carries events (exec output: the front writes NDJSON or SSE) or raw bytes (file
 * downloads). */
enum sb_stream_kind { SB_STREAM_EVENTS, SB_STREAM_BYTES, SB_STREAM_KIND_MAX };
/* Stream events: START, EXIT and LOST carry a JSON object, STDOUT/STDERR the output bytes,
 * DATA the bytes of a download. */
enum sb_stream_event {
    SB_EV_START = 1,
    SB_EV_STDOUT,
    SB_EV_STDERR,
    SB_EV_EXIT,
    SB_EV_LOST,
    SB_EV_DATA,
    SB_EV_MAX
};
#define SB_IPC_CHUNK_MAX (64u * 1024u)       /* bytes of one stream event */
#define SB_IPC_UPLOAD_CHUNK (128u * 1024u)   /* bytes of one FILE_DATA */
#define SB_STREAM_WINDOW (256u * 1024u)      /* stream bytes the monitor sends ahead of the acks */
#define SB_FILES_UPLOAD_DEFAULT (1ull << 30) /* bytes of one upload unless --upload-max says */
#define SB_FILES_UPLOAD_LIMIT (1ull << 40)   /* the most --upload-max may allow */
#define SB_FILES_SIZE_UNKNOWN UINT64_MAX     /* FILE_PUT size of a chunked body */
/* FILE_DATA "last": more follows, the final piece, or the front gave the upload up (the client
 * left, timed out or crossed the limit): the monitor removes the partial file, no reply. */
enum sb_file_data_flag { SB_FILE_MORE, SB_FILE_LAST, SB_FILE_ABORT };

/* Reply content types. */
enum sb_ipc_ctype { SB_CT_JSON, SB_CT_PROBLEM, SB_CT_TEXT, SB_CT_MAX };

/* A string or byte field: a view into the received datagram. */
typedef struct sb_ipc_str {
    const uint8_t *p;
    size_t len;
} sb_ipc_str;

typedef struct sb_ipc_val {
    uint64_t u;       /* integer kinds */
    sb_ipc_str s;     /* str, bytes */
    size_t count;     /* strlist */
    sb_ipc_str *list; /* strlist: points into the message's list storage */
} sb_ipc_val;

typedef struct sb_ipc_msg {
    uint16_t type;
    uint32_t id;
    size_t nfields;
    sb_ipc_val f[SB_IPC_FIELDS_MAX];
    sb_ipc_str lists[SB_IPC_FIELDS_MAX][SB_IPC_LIST_MAX];
} sb_ipc_msg;

/* Name of a type ("sbx_create"), or NULL when unknown. */
const char *sb_ipc_type_name(uint16_t type);
/* Whether a type is sent by the front (true) or by the monitor (false). */
bool sb_ipc_from_front(uint16_t type);
/* Parses one datagram against its type's schema: every length and count is checked against
 * the field's limit, and every byte must be consumed. Views point into p. */
int sb_ipc_decode(const uint8_t *p, size_t n, sb_ipc_msg *out, sb_error *err) SB_WUR;
/* Encodes a message; vals must match the type's schema (kinds and limits are checked too, so
 * a sender cannot produce what the receiver would refuse). */
int sb_ipc_encode(sb_writer *w, uint16_t type, uint32_t id, const sb_ipc_val *vals, size_t n,
                  sb_error *err) SB_WUR;
/* NUL-terminated copy of a str field into buf (cap bytes); SB_E_LIMIT if it does not fit. */
int sb_ipc_str_copy(const sb_ipc_str *s, char *buf, size_t cap, sb_error *err,
                    const char *field) SB_WUR;
/* Helpers to fill a sb_ipc_val. */
sb_ipc_val sb_ipc_u(uint64_t v);
sb_ipc_val sb_ipc_s(const char *s);
sb_ipc_val sb_ipc_b(const void *p, size_t n);

/* ---- API keys ------------------------------------------------------------------------------- */

/* A key is "sbk_" + 12 hex (the public id, stored in clear) + "_" + 43 base64url characters
 * (256 bits from the CSPRNG). Only HMAC-SHA-256(server secret, whole key) is stored. */
#define SB_APIKEY_LEN 60
#define SB_APIKEY_ID_LEN 16
#define SB_APIKEY_SECRET_LEN 32 /* bytes of the server's HMAC secret */
#define SB_APIKEY_SECRET_FILE "hmac.key"

/* True when s has the exact shape of an API key (no secret is needed to check that). */
bool sb_apikey_well_formed(const char *s, size_t n);
/* A fresh key into out[SB_APIKEY_LEN + 1] and its public id into id[SB_APIKEY_ID_LEN + 1]. */
int sb_apikey_generate(char out[SB_APIKEY_LEN + 1], char id[SB_APIKEY_ID_LEN + 1],
                       sb_error *err) SB_WUR;
/* The keyed hash that is stored for a key. */
int sb_apikey_hash(const uint8_t *secret, const char *key, size_t n, uint8_t out[32],
                   sb_error *err) SB_WUR;
/* Loads <state_dir>/hmac.key into sb_secret_alloc memory (SB_APIKEY_SECRET_LEN bytes), creating
 * it from the CSPRNG (mode 0600, O_EXCL) when absent. Refuses a file of the wrong size or one
 * that group or others can read. Free with sb_secret_free(p, SB_APIKEY_SECRET_LEN). */
int sb_apikey_secret_load(const char *state_dir, uint8_t **out, sb_error *err) SB_WUR;

/* ---- the daemon ----------------------------------------------------------------------------- */

#define SB_DB_FILE "sealbox.db"
#define SB_SOCKET_FILE "sealboxd.sock"

/* The default state directory: /var/lib/sealbox for root, else $XDG_STATE_HOME/sealbox or
 * ~/.local/state/sealbox. */
int sb_default_state_dir(char *buf, size_t cap, sb_error *err) SB_WUR;
/* Creates the state directory (mode 0711) if needed and refuses one that others can write. */
int sb_state_dir_prepare(const char *dir, sb_error *err) SB_WUR;

enum sb_listen_kind { SB_LISTEN_UNIX, SB_LISTEN_TCP, SB_LISTEN_KIND_MAX };

typedef struct sb_listen_spec {
    enum sb_listen_kind kind;
    char path[108]; /* unix */
    char host[256]; /* tcp */
    uint16_t port;  /* tcp; 0 = any free port (tests) */
} sb_listen_spec;

/* "unix:PATH" or "tcp:HOST:PORT" ("tcp:[::1]:PORT" for IPv6). */
int sb_listen_parse(const char *s, sb_listen_spec *out, sb_error *err) SB_WUR;
/* Binds and listens; a unix socket gets mode 0660 (a stale socket file is replaced, anything
 * else at the path is refused). Returns the fd (close-on-exec). */
int sb_listen_open(const sb_listen_spec *spec, int *fd, sb_error *err) SB_WUR;
/* True when a TCP spec's host is a loopback address. */
bool sb_listen_is_loopback(const sb_listen_spec *spec);

/* The front process. It is started by the monitor with the ipc socket and the listening socket
 * already open, parses every request, and asks the monitor for everything else. */
typedef struct sb_front_cfg {
    int ipc_fd;
    int listen_fd;
    const char *tls_cert, *tls_key; /* both or neither */
    bool drop_privileges;           /* setresuid/gid to an unprivileged user when root */
    bool seccomp;                   /* false only in sanitizer test builds (LSan needs ptrace) */
    bool log_json;
    unsigned kbs;             /* 0: no KBS routes; 1: with the sandbox API; 2: KBS only */
    unsigned kbs_session_ttl; /* seconds (0: the default, 300) */
    int gw_fd;           /* the gateway's control channel to the monitor; 0 or -1: no gateway */
    int gw_listen_fd;    /* the gateway's unix socket (stdio clients) */
    uint64_t upload_max; /* bytes of one upload (0: SB_FILES_UPLOAD_DEFAULT) */
} sb_front_cfg;

/* Runs the front until it is told to shut down (0) or fails. */
int sb_front_run(const sb_front_cfg *cfg, sb_error *err) SB_WUR;

typedef struct sb_monitor sb_monitor;

/* Starts one front process on ipc_fd (the front's end of the socketpair). The default starts
 * the sealboxd binary again in front mode; tests start their own peers. */
typedef int (*sb_front_spawn_fn)(void *arg, int ipc_fd, pid_t *pid, sb_error *err);
/* The same with the gateway's control channel (the front's end) as well. */
typedef int (*sb_front_spawn_gw_fn)(void *arg, int ipc_fd, int gw_fd, pid_t *pid, sb_error *err);

typedef struct sb_monitor_cfg {
    const char *state_dir;
    sb_log *log;                  /* the monitor's logger; SIGHUP calls reopen */
    int (*reopen_log)(void *arg); /* optional: SIGHUP hook */
    void *reopen_arg;
    sb_front_spawn_fn spawn;
    void *spawn_arg;
    unsigned drain_seconds; /* how long SIGTERM waits for the front to finish (default 10) */
    const char *init_path;  /* sealbox-init for the sandboxes; NULL: beside this binary */
    unsigned warm_pool;     /* sandboxes of the default shape kept ready (at most 64) */
    unsigned audit_checkpoint_every; /* audit records between signed checkpoints; 0: 256 */
    const char *audit_tcti;      /* checkpoints also advance a TPM NV counter there; NULL: none */
    uint32_t audit_nv_index;     /* its NV index (0: SB_TPM_NV_COUNTER_DEFAULT) */
    unsigned kbs;                /* as sb_front_cfg.kbs; 1 makes tokens say "local" */
    unsigned kbs_token_ttl;      /* seconds (0: the default, 300) */
    const char *kbs_master_tcti; /* the KBS master key sealed to this TPM; NULL: a key file */
    uint16_t kbs_master_bank;    /* PCR bank of a new seal (0: SHA-256) */
    uint32_t kbs_master_pcrs;    /* PCRs of a new seal (0: PCR 7) */
    /* The KBS the sandboxes' secrets come from (POST /v1/sandboxes "secrets", and the
     * workload's own requests to sealbox-init): the monitor relays sealbox-init's handshakes to
     * it, off its loop, with evidence from this attester. NULL: none (such requests get 503). */
    const char *kbs_url, *kbs_unix_socket, *kbs_ca;
    const char *attester;     /* "software" (default), "tsm" or "tpm" */
    const char *attester_key; /* software: default <state_dir>/attester-software.pem */
    const char *tsm_dir;      /* tsm: default /sys/kernel/config/tsm/report */
    const char *tcti;         /* tpm: default device:/dev/tpmrm0 */
    /* The MCP gateway (docs/gateway.md, "Hosted by sealboxd"): its configuration file, read
     * once at start; NULL: none. The front is then started through spawn_gw. */
    const char *gateway_config;
    sb_front_spawn_gw_fn spawn_gw;
    uint64_t upload_max; /* bytes of one upload (0: SB_FILES_UPLOAD_DEFAULT); as the front's */
} sb_monitor_cfg;

typedef struct sb_monitor_stats {
    unsigned front_spawns;
    unsigned front_kills;  /* fronts killed for misbehaving */
    unsigned front_exits;  /* fronts that exited or crashed on their own */
    int last_front_status; /* wait status of the last front that ended */
    uint64_t messages;     /* well-formed messages handled */
} sb_monitor_stats;

/* Opens the store, loads the keys; no process is started yet. */
int sb_monitor_new(const sb_monitor_cfg *cfg, sb_monitor **out, sb_error *err) SB_WUR;
/* Spawns the front and serves it until SIGTERM/SIGINT (then drains) — respawning it whenever
 * it dies or is killed for sending a malformed message. Blocks SIGTERM, SIGINT, SIGHUP and
 * SIGCHLD in the calling thread. */
int sb_monitor_run(sb_monitor *m, sb_error *err) SB_WUR;
void sb_monitor_get_stats(const sb_monitor *m, sb_monitor_stats *out);
void sb_monitor_free(sb_monitor *m);

#endif
