/* cmd_sandbox: commands on detached sandboxes (`sealbox run --detach`): exec, freeze, thaw, rm,
 * ps. They find a sandbox by id in the state directory; the daemon will own this later. */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "cmd.h"
#include "run_opts.h"
#include "sandbox/sandbox.h"

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
