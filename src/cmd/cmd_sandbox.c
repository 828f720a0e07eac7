/* cmd_sandbox: commands on detached sandboxes (`sealbox run --detach`): exec, freeze, thaw, rm,
 * ps. They find a sandbox by id in the state directory; the daemon will own this later. */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "cmd.h"
#include "run_opts.h"
#include "sandbox/sandbox.h"
#include "cmd_client.h"
#include "store/store.h"
#include <jansson.h>

#define EXIT_SB_FAIL 125

static const char *state_dir(void) {
    const char *s = getenv("SEALBOX_STATE_DIR");
    return s && *s ? s : SB_SANDBOX_STATE_DIR;
}

static int want_id(int argc, char **argv, const char *cmd, const char *what) {
    if (argc == 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
        printf("usage: sealbox %s ID\n\n%s\n", cmd, what);
        return 0;
    }
    if (argc != 2) {
        fprintf(stderr, "usage: sealbox %s ID\n", cmd);
        return EXIT_SB_FAIL;
    }
    return -1;
}

static int on_sandbox(int argc, char **argv, const char *cmd, const char *what, bool freeze) {
    int u = want_id(argc, argv, cmd, what);
    if (u >= 0) return u;
    sb_error err = {0};
    sb_sandbox *sb = NULL;
    if (sb_jail_attach(state_dir(), argv[1], &sb, &err) < 0) {
        fprintf(stderr, "sealbox %s: %s\n", cmd, err.msg);
        return EXIT_SB_FAIL;
    }
    int rc = freeze ? sb_jail_backend.freeze(sb, &err) : sb_jail_backend.thaw(sb, &err);
    sb_jail_backend.destroy(sb);
    if (rc < 0) {
        fprintf(stderr, "sealbox %s: %s\n", cmd, err.msg);
        return EXIT_SB_FAIL;
    }
    return 0;
}

int sb_cmd_freeze(int argc, char **argv) {
    return on_sandbox(argc, argv, "freeze",
                      "Freezes every process of a detached sandbox (cgroup freezer): no CPU, "
                      "memory stays resident.",
                      true);
}

int sb_cmd_thaw(int argc, char **argv) {
    return on_sandbox(argc, argv, "thaw", "Resumes a frozen sandbox.", false);
}

int sb_cmd_rm(int argc, char **argv) {
    int u = want_id(argc, argv, "rm",
                    "Destroys a detached sandbox (frozen or not) and everything it left.");
    if (u >= 0) return u;
    sb_error err = {0};
    if (sb_jail_remove(state_dir(), argv[1], &err) < 0) {
        fprintf(stderr, "sealbox rm: %s\n", err.msg);
        return EXIT_SB_FAIL;
    }
    return 0;
}

int sb_cmd_ps(int argc, char **argv) {
    if (argc > 1) {
        printf("usage: sealbox ps\n\nLists the detached sandboxes of the state directory.\n");
        return strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ? 0 : EXIT_SB_FAIL;
    }
    struct sb_sandbox_info *v = NULL;
    size_t n = 0;
    sb_error err = {0};
    if (sb_jail_list(state_dir(), &v, &n, &err) < 0) {
        fprintf(stderr, "sealbox ps: %s\n", err.msg);
        return EXIT_SB_FAIL;
    }
    printf("%-16s  %-8s  %-20s  %s\n", "ID", "STATE", "CREATED", "IMAGE");
    for (size_t i = 0; i < n; i++) {
        char t[32];
        sb_time_format(v[i].created, t);
        printf("%-16s  %-8s  %-20s  %s\n", v[i].id,
               !v[i].holder_alive ? "dead"
               : v[i].frozen      ? "frozen"
                                  : "running",
               t, v[i].image);
    }
    free(v);
    return 0;
}

/* sealbox exec [--tty] [--env K=V] [--workdir DIR] [--timeout D] [--kill-after D] ID -- CMD
 * [ARGS...] */
int sb_cmd_exec(int argc, char **argv) {
    struct sb_run_opts o;
    sb_error err = {0};
    int first = 0;
    int rc = sb_run_opts_parse(&o, argc, argv, &first, &err);
    if (rc == SB_RUN_OPTS_HELP) {
        printf("usage: sealbox exec [--tty] [--env K=V] [--workdir DIR] [--timeout D] "
               "[--kill-after D] ID -- CMD [ARGS...]\n\nRuns CMD in a detached sandbox; the exit "
               "status follows `sealbox run`. On --timeout CMD gets SIGTERM, and SIGKILL after "
               "the --kill-after grace (default 2s); the sandbox stays.\n");
        sb_run_opts_free(&o);
        return 0;
    }
    if (rc < 0 || first >= argc) {
        fprintf(stderr, "sealbox exec: %s\n", rc < 0 ? err.msg : "no sandbox id given");
        sb_run_opts_free(&o);
        return EXIT_SB_FAIL;
    }
    const char *id = argv[first++];
    if (first < argc && strcmp(argv[first], "--") == 0) first++;
    if (first >= argc) {
        fprintf(stderr, "sealbox exec: no command given\n");
        sb_run_opts_free(&o);
        return EXIT_SB_FAIL;
    }
    sb_sandbox *sb = NULL;
    if (sb_jail_attach(state_dir(), id, &sb, &err) < 0) {
        fprintf(stderr, "sealbox exec: %s\n", err.msg);
        sb_run_opts_free(&o);
        return EXIT_SB_FAIL;
    }
    static const int sigs[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGWINCH};
    sigset_t old;
    int sfd = sb_run_signals_begin(sigs, SB_ARRAY_LEN(sigs), &old);
    struct sb_exit ex;
    rc = sb_run_stream(sb, &o, argv + first, sfd, &ex, &err);
    sb_jail_backend.destroy(sb);
    sb_run_signals_end(sfd, &old);
    sb_run_opts_free(&o);
    if (rc < 0) {
        fprintf(stderr, "sealbox exec: %s\n", err.msg);
        return EXIT_SB_FAIL;
    }
    return sb_run_report(&ex, "sealbox exec: the sandbox is gone");
}

/* ---- sealbox sandbox: sandboxes of sealboxd, through its API -------------------------------- */

#define SANDBOX_USAGE                                                                             \
    "usage: sealbox sandbox create [--image I] [--memory-mb N] [--cpu-millis N] [--timeout S]\n"  \
    "                              [--idle-standby S] [--env K=V]... [--metadata K=V]...\n"       \
    "       sealbox sandbox ls [--all]\n"                                                         \
    "       sealbox sandbox get|standby|resume|rm ID\n"                                           \
    "       sealbox sandbox exec [--env K=V]... [--cwd DIR] [--timeout S] [--background] ID --\n" \
    "                            CMD [ARGS...]\n\n"                                               \
    "Sandboxes of the sealbox daemon. exec streams the command's output and exits with its\n"     \
    "status (as `sealbox run`: 124 timeout, 137 killed or out of memory, 125 sealbox's own\n"     \
    "failure); --background prints the process id at once.\n" SB_CLI_CONN_HELP

static const long OK200[] = {200, 0}, OK201[] = {201, 0}, OK202[] = {202, 0}, OK204[] = {204, 0};

static char *sbx_path(struct sb_cli *c, const char *id, const char *tail) {
    char *e = sb_client_escape(c->client, id);
    size_t n = (e ? strlen(e) : 0) + strlen(tail) + 32;
    char *p = e ? malloc(n) : NULL;
    if (p) (void)snprintf(p, n, "/v1/sandboxes/%s%s", e, tail);
    free(e);
    return p;
}

static void print_sandbox_row(json_t *s) {
    printf("%-22s  %-9s  %6lld  %-20s  %s\n", json_string_value(json_object_get(s, "id")),
           json_string_value(json_object_get(s, "state")),
           (long long)json_integer_value(json_object_get(s, "memory_mb")),
           json_string_value(json_object_get(s, "created_at")),
           json_string_value(json_object_get(s, "image"))
               ? json_string_value(json_object_get(s, "image"))
               : "-");
}

/* KEY=VALUE into an object; false when it has no '='. */
static bool put_kv(json_t *o, const char *kv) {
    const char *eq = strchr(kv, '=');
    if (!eq || eq == kv) return false;
    char *k = strndup(kv, (size_t)(eq - kv));
    if (k) (void)json_object_set_new(o, k, json_string(eq + 1));
    free(k);
    return true;
}

static int sbx_create(struct sb_cli *c, int argc, char **argv) {
    json_t *body = json_object(), *lim = json_object(), *env = json_object(), *md = json_object();
    int rc = 0;
    for (int i = 1; i < argc && rc == 0; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        uint64_t n = 0;
        sb_error e = {0};
        if (!v) {
            rc = SB_EXIT_USAGE;
        } else if (strcmp(a, "--image") == 0) {
            (void)json_object_set_new(body, "image", json_string(v));
        } else if (strcmp(a, "--memory-mb") == 0 || strcmp(a, "--cpu-millis") == 0 ||
                   strcmp(a, "--timeout") == 0 || strcmp(a, "--idle-standby") == 0) {
            if (sb_parse_u64(v, 1000000, &n, &e, a) < 0) {
                fprintf(stderr, "sealbox sandbox create: %s\n", e.msg);
                rc = SB_EXIT_USAGE;
            } else {
                json_t *o = a[2] == 'm' || a[2] == 'c' ? lim : body;
                const char *k = strcmp(a, "--memory-mb") == 0    ? "memory_mb"
                                : strcmp(a, "--cpu-millis") == 0 ? "cpu_millis"
                                : strcmp(a, "--timeout") == 0    ? "timeout_s"
                                                                 : "idle_standby_s";
                (void)json_object_set_new(o, k, json_integer((json_int_t)n));
            }
        } else if (strcmp(a, "--env") == 0 || strcmp(a, "--metadata") == 0) {
            if (!put_kv(a[2] == 'e' ? env : md, v)) {
                fprintf(stderr, "sealbox sandbox create: %s takes KEY=VALUE, not '%s'\n", a, v);
                rc = SB_EXIT_USAGE;
            }
        } else {
            fprintf(stderr, "sealbox sandbox create: unknown option '%s'\n", a);
            rc = SB_EXIT_USAGE;
        }
        i++;
    }
    if (rc == 0) {
        if (json_object_size(lim)) (void)json_object_set(body, "limits", lim);
        if (json_object_size(env)) (void)json_object_set(body, "env", env);
        if (json_object_size(md)) (void)json_object_set(body, "metadata", md);
        char *s = json_dumps(body, JSON_COMPACT);
        json_t *j = NULL;
        rc = s ? sb_cli_call(c, "POST", "/v1/sandboxes", s, OK201, &j) : SB_EXIT_CLIENT;
        if (rc == 0 && !c->json) printf("%s\n", json_string_value(json_object_get(j, "id")));
        json_decref(j);
        free(s);
    } else if (rc == SB_EXIT_USAGE) {
        fprintf(stderr, SANDBOX_USAGE);
    }
    json_decref(body);
    json_decref(lim);
    json_decref(env);
    json_decref(md);
    return rc;
}

static int sbx_list(struct sb_cli *c, int argc, char **argv) {
    bool all = argc == 2 && strcmp(argv[1], "--all") == 0;
    if (argc > 2 || (argc == 2 && !all)) {
        fprintf(stderr, SANDBOX_USAGE);
        return SB_EXIT_USAGE;
    }
    if (!c->json)
        printf("%-22s  %-9s  %6s  %-20s  %s\n", "ID", "STATE", "MEM_MB", "CREATED", "IMAGE");
    char path[256];
    char after[64] = "";
    for (;;) {
        (void)snprintf(path, sizeof(path), "/v1/sandboxes?limit=1000%s%s%s",
                       all ? "&state=all" : "", after[0] ? "&after=" : "", after);
        json_t *j = NULL;
        int rc = sb_cli_call(c, "GET", path, NULL, OK200, &j);
        if (rc) return rc;
        size_t i;
        json_t *s;
        json_t *arr = c->json ? NULL : json_object_get(j, "sandboxes");
        json_array_foreach(arr, i, s) { print_sandbox_row(s); }
        const char *next = json_string_value(json_object_get(j, "next"));
        bool more = next && strlen(next) < sizeof(after) && sb_store_sandbox_id_valid(next);
        if (more) (void)snprintf(after, sizeof(after), "%s", next);
        json_decref(j);
        if (!more) return 0;
    }
}

static int sbx_one(struct sb_cli *c, const char *sub, const char *id) {
    const char *method = strcmp(sub, "get") == 0  ? "GET"
                         : strcmp(sub, "rm") == 0 ? "DELETE"
                                                  : "POST";
    const char *tail = strcmp(sub, "standby") == 0  ? "/standby"
                       : strcmp(sub, "resume") == 0 ? "/resume"
                                                    : "";
    char *p = sbx_path(c, id, tail);
    json_t *j = NULL;
    int rc = p ? sb_cli_call(c, method, p, NULL, strcmp(sub, "rm") == 0 ? OK204 : OK200, &j)
               : SB_EXIT_CLIENT;
    free(p);
    if (rc == 0 && !c->json && j) {
        const char *k;
        json_t *v;
        json_object_foreach(j, k, v) {
            char *s = json_is_string(v) ? NULL : json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
            printf("%-15s %s\n", k, s ? s : json_string_value(v));
            free(s);
        }
    }
    json_decref(j);
    return rc;
}

/* The exec stream: NDJSON events, output written as it comes, the exit status kept. */
struct exec_sink {
    sb_writer line;
    int exit_code;
    bool ended, bad;
};

static void exec_event(struct exec_sink *x, const char *p, size_t n) {
    json_t *j = json_loadb(p, n, 0, NULL);
    const char *ev = json_string_value(json_object_get(j, "event"));
    if (!ev) {
        x->bad = true;
    } else if (strcmp(ev, "stdout") == 0 || strcmp(ev, "stderr") == 0) {
        FILE *f = ev[3] == 'o' ? stdout : stderr;
        json_t *d = json_object_get(j, "data");
        const char *b64 = json_string_value(json_object_get(j, "data_base64"));
        if (json_is_string(d)) {
            (void)fwrite(json_string_value(d), 1, json_string_length(d), f);
        } else if (b64) {
            uint8_t *raw = NULL;
            size_t rn = 0;
            sb_error e = {0};
            if (sb_base64_decode(b64, strlen(b64), false, &raw, &rn, &e) == 0)
                (void)fwrite(raw, 1, rn, f);
            free(raw);
        }
        (void)fflush(f);
    } else if (strcmp(ev, "lost") == 0) {
        fprintf(stderr, "sealbox: %lld bytes of output were dropped (the client read too slowly)\n",
                (long long)json_integer_value(json_object_get(j, "bytes")));
    } else if (strcmp(ev, "exit") == 0) {
        x->ended = true;
        x->exit_code = (int)json_integer_value(json_object_get(j, "exit_code"));
    }
    json_decref(j);
}

static bool exec_sink_fn(const uint8_t *p, size_t n, void *arg) {
    struct exec_sink *x = arg;
    for (size_t i = 0; i < n; i++) {
        if (p[i] != '\n') {
            if (sb_writer_u8(&x->line, p[i]) < 0) return false; /* a line over the limit */
            continue;
        }
        exec_event(x, (const char *)x->line.buf, x->line.len);
        x->line.len = 0;
    }
    return true;
}

static int sbx_exec(struct sb_cli *c, int argc, char **argv) {
    json_t *body = json_object(), *env = json_object(), *args = json_array();
    const char *id = NULL;
    int rc = 0, i = 1;
    for (; i < argc && rc == 0; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        uint64_t n = 0;
        sb_error e = {0};
        if (strcmp(a, "--") == 0) {
            i++;
            break;
        } else if (strcmp(a, "--background") == 0) {
            (void)json_object_set_new(body, "background", json_true());
        } else if (a[0] == '-' && !v) {
            rc = SB_EXIT_USAGE;
        } else if (strcmp(a, "--env") == 0) {
            if (!put_kv(env, v)) rc = SB_EXIT_USAGE;
            i++;
        } else if (strcmp(a, "--cwd") == 0) {
            (void)json_object_set_new(body, "cwd", json_string(v));
            i++;
        } else if (strcmp(a, "--timeout") == 0) {
            if (sb_parse_u64(v, 3600, &n, &e, "--timeout") < 0) rc = SB_EXIT_USAGE;
            (void)json_object_set_new(body, "timeout_s", json_integer((json_int_t)n));
            i++;
        } else if (a[0] == '-') {
            rc = SB_EXIT_USAGE;
        } else if (!id) {
            id = a;
        } else {
            break; /* the command, without "--" */
        }
    }
    if (rc == 0 && (!id || i >= argc)) rc = SB_EXIT_USAGE;
    if (rc) {
        fprintf(stderr, SANDBOX_USAGE);
        json_decref(body);
        json_decref(env);
        json_decref(args);
        return rc;
    }
    (void)json_object_set_new(body, "cmd", json_string(argv[i]));
    for (int k = i + 1; k < argc; k++)
        (void)json_array_append_new(args, json_string(argv[k]));
    (void)json_object_set(body, "args", args);
    if (json_object_size(env)) (void)json_object_set(body, "env", env);
    bool bg = json_is_true(json_object_get(body, "background"));
    char *s = json_dumps(body, JSON_COMPACT);
    char *p = sbx_path(c, id, "/exec");
    json_decref(body);
    json_decref(env);
    json_decref(args);
    if (!s || !p) {
        free(s);
        free(p);
        return SB_EXIT_CLIENT;
    }
    if (bg) {
        json_t *j = NULL;
        rc = sb_cli_call(c, "POST", p, s, OK202, &j);
        if (rc == 0 && !c->json)
            printf("%lld\n", (long long)json_integer_value(json_object_get(j, "id")));
        json_decref(j);
        free(s);
        free(p);
        return rc;
    }
    struct exec_sink x = {.exit_code = SB_EXIT_CLIENT};
    sb_writer_init(&x.line, 1u << 20);
    sb_client_req rq = {.method = "POST",
                        .path = p,
                        .accept = "application/x-ndjson",
                        .ctype = "application/json",
                        .body = s,
                        .body_len = strlen(s),
                        .sink = exec_sink_fn,
                        .sink_arg = &x};
    sb_client_resp rs;
    sb_error err = {0};
    rc = sb_client_do(c->client, &rq, &rs, &err);
    if (rc < 0) {
        fprintf(stderr, "sealbox sandbox exec: %s\n", err.msg);
        rc = SB_EXIT_CLIENT;
    } else if (rs.status != 200) {
        char msg[512];
        sb_client_problem(&rs, msg, sizeof(msg));
        fprintf(stderr, "sealbox sandbox exec: %s\n", msg);
        rc = SB_EXIT_CLIENT;
    } else if (!x.ended || x.bad) {
        fprintf(stderr, "sealbox sandbox exec: the stream ended without an exit event\n");
        rc = SB_EXIT_CLIENT;
    } else {
        rc = x.exit_code;
    }
    sb_client_resp_free(&rs);
    sb_writer_free(&x.line);
    free(s);
    free(p);
    return rc;
}

/* sealbox sandbox SUBCOMMAND ... */
int sb_cmd_sandbox(int argc, char **argv) {
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        printf(SANDBOX_USAGE);
        return argc < 2 ? SB_EXIT_USAGE : 0;
    }
    const char *sub = argv[1];
    struct sb_cli c;
    int n = argc - 1;
    char **v = argv + 1;
    int rc = sb_cli_open(&c, "sandbox", &n, v);
    if (rc) return rc;
    if (strcmp(sub, "create") == 0)
        rc = sbx_create(&c, n, v);
    else if (strcmp(sub, "ls") == 0 || strcmp(sub, "list") == 0)
        rc = sbx_list(&c, n, v);
    else if (strcmp(sub, "exec") == 0)
        rc = sbx_exec(&c, n, v);
    else if ((strcmp(sub, "get") == 0 || strcmp(sub, "standby") == 0 ||
              strcmp(sub, "resume") == 0 || strcmp(sub, "rm") == 0) &&
             n == 2)
        rc = sbx_one(&c, sub, v[1]);
    else {
        fprintf(stderr, SANDBOX_USAGE);
        rc = SB_EXIT_USAGE;
    }
    sb_cli_close(&c);
    return rc;
}
