/* cmd_gateway: `sealbox gateway stdio|pin|pins|approve` — the MCP gateway as a standalone stdio
 * server that owns its servers' sandboxes, and the pinning workflow over the state directory. */
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/signalfd.h>

#include "api/api.h"
#include "cmd.h"
#include "gateway/gateway.h"
#include "run_opts.h"
#include "store/store.h"

static int gw_usage(FILE *o) {
    fprintf(o,
            "usage: sealbox gateway COMMAND [OPTIONS]\n\n"
            "  stdio --config FILE --agent NAME   serve one MCP agent on stdin/stdout; every\n"
            "                                     server of FILE runs in its own sandbox\n"
            "  pin --config FILE [--server NAME]  start the servers and approve every definition\n"
            "                                     (tools, prompts, templates, instructions) they\n"
            "                                     present now\n"
            "  pins [--pending]                   list pinned definitions\n"
            "  approve ID                         approve one pending definition\n\n"
            "options: --state-dir DIR (default $SEALBOX_STATE_DIR, else /var/lib/sealbox as\n"
            "root), --log-level debug|info|warn|error (stderr; default warn).\n"
            "Configuration and workflow: docs/gateway.md. Exit status: 0 done, 1 failed,\n"
            "2 usage.\n");
    return o == stdout ? 0 : SB_EXIT_USAGE;
}

struct gw_cli {
    const char *config, *agent, *server, *state;
    sb_audit_key *audit_key;
    sb_audit_queue *audit;
    bool pending;
    enum sb_log_level level;
    char statebuf[4096];
    char *init_path;
    sb_log log;
    sb_store *store;
    sb_error err;
};

static int fail(struct gw_cli *c) {
    fprintf(stderr, "sealbox gateway: %s\n", c->err.msg);
    return 1;
}

static void audit_cb(void *ctx, json_t *record) {
    struct gw_cli *c = ctx;
    int rc = sb_audit_queue_push(c->audit, record);
    if (rc < 0) sb_logf(&c->log, SB_LOG_ERROR, "audit: a record was dropped (%s)", sb_strerror(rc));
}

/* The audit log in the state directory, signed with its checkpoint key. Standalone, this
 * process holds the key; under sealboxd the monitor does. */
static int open_audit(struct gw_cli *c) {
    sb_audit_signer signer;
    char db[4200], head[4200];
    if (sb_audit_key_load(c->state, &c->audit_key, &c->err) < 0) return -1;
    sb_audit_key_signer(c->audit_key, &signer);
    (void)snprintf(db, sizeof(db), "%s/%s", c->state, SB_DB_FILE);
    (void)snprintf(head, sizeof(head), "%s/%s", c->state, SB_AUDIT_HEAD_FILE);
    sb_audit_cfg cfg = {.signer = &signer, .head_file = head};
    return sb_audit_queue_start(db, &cfg, &c->audit, &c->err);
}

static void log_cb(void *ctx, enum sb_log_level lvl, const char *msg) {
    struct gw_cli *c = ctx;
    sb_logf(&c->log, lvl, "%s", msg);
}

static int open_store(struct gw_cli *c) {
    if (!c->state) {
        const char *env = getenv("SEALBOX_STATE_DIR");
        if (env && *env)
            c->state = env;
        else if (sb_default_state_dir(c->statebuf, sizeof(c->statebuf), &c->err) < 0)
            return -1;
        else
            c->state = c->statebuf;
    }
    if (sb_state_dir_prepare(c->state, &c->err) < 0) return -1;
    char path[4200];
    (void)snprintf(path, sizeof(path), "%s/%s", c->state, SB_DB_FILE);
    return sb_store_open(path, &c->store, &c->err);
}

/* Loads the configuration and builds an engine over the store (with audit for a session). */
static int make_engine(struct gw_cli *c, sb_gw_config **cfg, sb_gw **gw, bool audit) {
    if (!c->config) {
        sb_error_set(&c->err, SB_E_USAGE, "--config FILE is required");
        return -1;
    }
    if (sb_gw_config_load(c->config, cfg, &c->err) < 0) return -1;
    if (open_store(c) < 0) return -1;
    if (audit && open_audit(c) < 0) return -1;
    c->init_path = sb_sibling_init();
    struct sb_gw_opts o = {.config = *cfg,
                           .agent = c->agent,
                           .store = c->store,
                           .state_dir = c->state,
                           .init_path = c->init_path,
                           .cgroup_root = getenv("SEALBOX_CGROUP_ROOT"),
                           .cgroup_parent = getenv("SEALBOX_CGROUP_PARENT"),
                           .log = log_cb,
                           .log_ctx = c,
                           .stderr_fd = 2,
                           .audit = c->audit ? audit_cb : NULL,
                           .audit_ctx = c};
    if (sb_gw_new(&o, gw, &c->err) < 0) return -1;
    return sb_gw_start(*gw, &c->err);
}

static int cmd_stdio(struct gw_cli *c) {
    if (!c->agent) {
        sb_error_set(&c->err, SB_E_USAGE, "--agent NAME is required");
        return fail(c);
    }
    sigset_t stop;
    sigemptyset(&stop);
    sigaddset(&stop, SIGTERM);
    sigaddset(&stop, SIGINT);
    sigaddset(&stop, SIGHUP);
    sigprocmask(SIG_BLOCK, &stop, NULL);
    int sfd = signalfd(-1, &stop, SFD_CLOEXEC);
    sb_gw_config *cfg = NULL;
    sb_gw *gw = NULL;
    int rc = make_engine(c, &cfg, &gw, true);
    if (rc == 0) rc = sb_gw_serve_stdio(gw, 0, 1, sfd, &c->err);
    if (gw) {
        struct sb_gw_stats st;
        sb_gw_get_stats(gw, &st);
        sb_logf(&c->log, SB_LOG_INFO,
                "session end: %llu agent messages (%llu refused), %llu tool calls, %llu server "
                "messages (%llu malformed, %llu oversized), %llu timeouts, %llu notifications "
                "dropped",
                (unsigned long long)st.agent_msgs, (unsigned long long)st.agent_rejected,
                (unsigned long long)st.calls, (unsigned long long)st.server_msgs,
                (unsigned long long)st.server_malformed, (unsigned long long)st.server_oversize,
                (unsigned long long)st.timeouts, (unsigned long long)st.notifications_dropped);
    }
    sb_gw_free(gw);
    sb_gw_config_free(cfg);
    if (sfd >= 0) close(sfd);
    if (c->audit) {
        uint64_t written = 0, dropped = 0;
        sb_error aerr = {0};
        if (sb_audit_queue_stop(c->audit, &written, &dropped, &aerr) < 0)
            sb_logf(&c->log, SB_LOG_ERROR, "audit: %s", aerr.msg);
        c->audit = NULL;
        sb_logf(&c->log, dropped ? SB_LOG_ERROR : SB_LOG_INFO,
                "audit: %llu records written, %llu dropped", (unsigned long long)written,
                (unsigned long long)dropped);
    }
    return rc < 0 ? fail(c) : 0;
}

static int cmd_pin(struct gw_cli *c) {
    sb_gw_config *cfg = NULL;
    sb_gw *gw = NULL;
    size_t n = 0;
    int rc = make_engine(c, &cfg, &gw, false);
    if (rc == 0) rc = sb_gw_wait_ready(gw, 60000, &c->err);
    if (rc == 0) rc = sb_gw_pin_current(gw, c->server, &n, &c->err);
    sb_gw_free(gw);
    sb_gw_config_free(cfg);
    if (rc < 0) return fail(c);
    printf("approved %zu new definition%s\n", n, n == 1 ? "" : "s");
    return 0;
}

static int cmd_pins(struct gw_cli *c) {
    if (open_store(c) < 0) return fail(c);
    sb_pin_rec *v = NULL;
    size_t n = 0;
    if (sb_store_pin_list(c->store, c->pending, &v, &n, &c->err) < 0) return fail(c);
    printf("%-6s %-9s %-16s %-18s %-28s %s\n", "ID", "STATE", "SERVER", "KIND", "NAME", "DIGEST");
    for (size_t i = 0; i < n; i++)
        printf("%-6lld %-9s %-16s %-18s %-28s %.23s\n", (long long)v[i].id,
               v[i].approved ? "approved" : "pending", v[i].server, v[i].kind,
               v[i].name[0] ? v[i].name : "-", v[i].digest);
    free(v);
    return 0;
}

static int cmd_approve(struct gw_cli *c, const char *id) {
    int64_t v = 0;
    if (!id || sb_parse_i64(id, 1, INT64_MAX, &v, &c->err, "ID") < 0) {
        fprintf(stderr, "sealbox gateway approve: ID is the number 'sealbox gateway pins' shows\n");
        return SB_EXIT_USAGE;
    }
    if (open_store(c) < 0) return fail(c);
    sb_pin_rec r;
    if (sb_store_pin_approve(c->store, v, &r, &c->err) < 0) return fail(c);
    printf("approved %s %s%s%s of server %s (%s)\n", r.kind, r.name[0] ? "'" : "", r.name,
           r.name[0] ? "'" : "", r.server, r.digest);
    return 0;
}

int sb_cmd_gateway(int argc, char **argv) {
    struct gw_cli c = {.level = SB_LOG_WARN};
    const char *rest[4];
    int nrest = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        bool has = i + 1 < argc;
        if (strcmp(a, "--config") == 0 && has)
            c.config = argv[++i];
        else if (strcmp(a, "--agent") == 0 && has)
            c.agent = argv[++i];
        else if (strcmp(a, "--server") == 0 && has)
            c.server = argv[++i];
        else if (strcmp(a, "--state-dir") == 0 && has)
            c.state = argv[++i];
        else if (strcmp(a, "--log-level") == 0 && has) {
            if (sb_log_level_parse(argv[++i], &c.level) < 0) return gw_usage(stderr);
        } else if (strcmp(a, "--pending") == 0)
            c.pending = true;
        else if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0)
            return gw_usage(stdout);
        else if (a[0] == '-') {
            fprintf(stderr, "sealbox gateway: unknown option %s\n", a);
            return gw_usage(stderr);
        } else if (nrest < (int)SB_ARRAY_LEN(rest))
            rest[nrest++] = a;
        else
            return gw_usage(stderr);
    }
    if (nrest < 1) return gw_usage(stderr);
    sb_log_init(&c.log, 2, c.level, false, "gateway");
    int rc;
    if (strcmp(rest[0], "stdio") == 0 && nrest == 1)
        rc = cmd_stdio(&c);
    else if (strcmp(rest[0], "pin") == 0 && nrest == 1)
        rc = cmd_pin(&c);
    else if (strcmp(rest[0], "pins") == 0 && nrest == 1)
        rc = cmd_pins(&c);
    else if (strcmp(rest[0], "approve") == 0 && nrest == 2)
        rc = cmd_approve(&c, rest[1]);
    else
        rc = gw_usage(stderr);
    sb_store_close(c.store);
    sb_audit_key_free(c.audit_key);
    free(c.init_path);
    return rc;
}
