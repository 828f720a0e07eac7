/* test_gwholder: the command line a jail server's holder is started with (src/gateway/
 * upstream.c) — what the launcher writes before it forks is exactly what the fresh image reads,
 * and a damaged one is refused with the argument named. */
#include <stdlib.h>

#include "gateway/internal.h"
#include "harness.h"

/* gw_holder_parse rewrites the vector it reads (as it may: it is the holder's own argv), so it
 * reads a copy of the pointers here and the original is freed whole. */
static int parse_copy(char **v, char **envp, struct gw_holder_spec *h, char **w, size_t cap,
                      sb_error *err) {
    size_t n = 0;
    while (v[n] && n + 1 < cap) {
        w[n] = v[n];
        n++;
    }
    w[n] = NULL;
    return gw_holder_parse((int)n, w, envp, h, err);
}

static size_t count(char **v) {
    size_t n = 0;
    while (v && v[n])
        n++;
    return n;
}

TEST(holder_command_line_round_trips) {
    char *argv[] = {(char *)"node", (char *)"/m/x.js", (char *)"", (char *)"a b", NULL};
    char *env[] = {(char *)"PATH=/usr/bin", (char *)"K=v=w", NULL};
    struct sb_gw_mount mounts[] = {{(char *)"/srv/data", (char *)"/data", true},
                                   {(char *)"/tmp/x", (char *)"/x", false}};
    struct sb_gw_server_config sc = {.name = "fs",
                                     .argv = argv,
                                     .env = env,
                                     .mounts = mounts,
                                     .n_mounts = 2,
                                     .workdir = (char *)"/data",
                                     .sandbox = SB_GW_SANDBOX_JAIL,
                                     .memory_bytes = 512ull << 20,
                                     .pids = 64,
                                     .cpu_millis = 1500,
                                     .net_host = true};
    struct sb_gw_opts o = {.state_dir = "/var/lib/sealbox", .init_path = "/usr/lib/sealbox-init"};
    sb_error err = {0};
    char **v = gw_holder_argv(&sc, &o, "/proc/self/exe", &err);
    CHECK(v != NULL);
    if (!v) return;
    CHECK_STR(v[0], "/proc/self/exe");
    CHECK_STR(v[1], SB_GW_HOLDER_ARG);
    /* the environment, which may hold secrets, is not on the command line */
    for (char **a = v; *a; a++)
        CHECK_MSG(!strstr(*a, "K=v=w") && !strstr(*a, "PATH="), "'%s' on the command line", *a);
    char **envp = gw_holder_envp(&sc, &err);
    CHECK(envp != NULL);
    if (!envp) return;
    static struct gw_holder_spec h;
    char *w[64];
    CHECK_OK(parse_copy(v, envp, &h, w, 64, &err), &err);
    CHECK_STR(h.sc.name, "fs");
    CHECK_INT(count(h.sc.argv), 4);
    CHECK_STR(h.sc.argv[0], "node");
    CHECK_STR(h.sc.argv[2], ""); /* an empty argument survives */
    CHECK_STR(h.sc.argv[3], "a b");
    CHECK_INT(count(h.sc.env), 2);
    CHECK_STR(h.sc.env[1], "K=v=w");
    CHECK_INT(h.sc.n_mounts, 2);
    CHECK_STR(h.sc.mounts[0].src, "/srv/data");
    CHECK_STR(h.sc.mounts[1].dst, "/x");
    CHECK(h.sc.mounts[0].ro && !h.sc.mounts[1].ro);
    CHECK_STR(h.sc.workdir, "/data");
    CHECK_INT(h.sc.memory_bytes, 512ull << 20);
    CHECK_INT(h.sc.pids, 64);
    CHECK_INT(h.sc.cpu_millis, 1500);
    CHECK(h.sc.net_host);
    CHECK_STR(h.o.state_dir, "/var/lib/sealbox");
    CHECK_STR(h.o.init_path, "/usr/lib/sealbox-init");
    CHECK(h.o.cgroup_root == NULL && h.o.cgroup_parent == NULL); /* absent stays absent */
    gw_holder_argv_free(v);
    gw_holder_argv_free(envp);

    /* no mounts, no environment, no workdir */
    sc.n_mounts = 0;
    sc.env = NULL;
    sc.workdir = NULL;
    sc.net_host = false;
    v = gw_holder_argv(&sc, &o, "/x/sealboxd", &err);
    CHECK(v != NULL);
    if (!v) return;
    envp = gw_holder_envp(&sc, &err);
    CHECK(envp != NULL);
    if (!envp) return;
    CHECK_OK(parse_copy(v, envp, &h, w, 64, &err), &err);
    CHECK_INT(count(h.sc.argv), 4);
    CHECK_INT(count(h.sc.env), 0);
    CHECK_INT(h.sc.n_mounts, 0);
    CHECK(h.sc.workdir == NULL && !h.sc.net_host);
    gw_holder_argv_free(v);
    gw_holder_argv_free(envp);
}

/* Builds a command line from a space-separated template ('-' is an empty argument). */
static int split(char *s, char **v, int max) {
    int n = 0;
    for (char *p = s; *p && n < max - 1;) {
        v[n++] = p;
        char *sp = strchr(p, ' ');
        if (!sp) break;
        *sp = 0;
        p = sp + 1;
    }
    for (int i = 0; i < n; i++)
        if (strcmp(v[i], "-") == 0) v[i][0] = 0;
    v[n] = NULL;
    return n;
}

TEST(damaged_holder_command_lines_are_refused) {
    static const struct {
        const char *line, *want;
    } cases[] = {
        {"x __gw-holder 1 fs - - - - - 0 0 0 0 0 1 /bin/cat 0", NULL},
        {"x __gw-holder 2 fs - - - - - 0 0 0 0 0 1 /bin/cat 0", "(version)"},
        {"x __gw-holder 1 - - - - - - 0 0 0 0 0 1 /bin/cat 0", "(name)"},
        {"x __gw-holder 1 fs - - - - - 0 0 0 2 0 1 /bin/cat 0", "network"},
        {"x __gw-holder 1 fs - - - - - 0 0 0 0 3 /a /b 0 1 /bin/cat 0", "mounts"},
        {"x __gw-holder 1 fs - - - - - 0 0 0 0 33 /a /b 0 1 /bin/cat 0", "mounts"},
        {"x __gw-holder 1 fs - - - - - 0 0 0 0 1 /a /b 2 1 /bin/cat 0", "mount ro"},
        {"x __gw-holder 1 fs - - - - - 0 0 0 0 0 0 /bin/cat 0", "(argv): no command"},
        {"x __gw-holder 1 fs - - - - - 0 0 0 0 0 5 /bin/cat 0", "argv"},
        {"x __gw-holder 1 fs - - - - - 0 0 0 0 0 1 /bin/cat 2", "SB_GW_ENV_1 missing of 2"},
        {"x __gw-holder 1 fs - - - - - 0 0 0 0 0 1 /bin/cat 0 A=1", "after the environment"},
        {"x __gw-holder 1 fs - - - - - 0 0 0 0 0 1 /bin/cat 1025", "env"},
        {"x __gw-holder 1 fs - - - - - 0 0 0 0 0 1 /bin/cat", "at least"},
        {"x __gw-holder 1 fs - - - - - x 0 0 0 0 1 /bin/cat 0", "memory"},
        {"x __gw-holder 1 fs - - - - - 0 0 0 0 0 18446744073709551617 /bin/cat 0", "argv"},
    };
    for (size_t i = 0; i < SB_ARRAY_LEN(cases); i++) {
        char buf[256], *v[64];
        snprintf(buf, sizeof(buf), "%s", cases[i].line);
        int argc = split(buf, v, 64);
        char *envp[] = {(char *)"HOME=/", (char *)"SB_GW_ENV_0=A=1", NULL};
        static struct gw_holder_spec h;
        sb_error err = {0};
        int rc = gw_holder_parse(argc, v, envp, &h, &err);
        if (!cases[i].want) {
            CHECK_OK(rc, &err);
            CHECK_STR(h.sc.argv[0], "/bin/cat");
            CHECK(h.sc.argv[1] == NULL && h.sc.env[0] == NULL); /* a count of 0 takes none */
            continue;
        }
        CHECK_MSG(rc == SB_E_MALFORMED, "case %zu: rc %d (%s)", i, rc, err.msg);
        CHECK_MSG(strstr(err.msg, cases[i].want) != NULL, "case %zu: '%s' lacks '%s'", i, err.msg,
                  cases[i].want);
    }
}
