/* test_sandbox_leaks: 500 sandboxes in a row through the library in one process — create,
 * exec /bin/true, destroy — must leave no mount, cgroup, process, fd, directory or uid slot
 * behind (and LeakSanitizer checks memory at exit). What the first sandbox sets up once per
 * process (the sealed copy of sealbox-init: one fd; its slot's spare directory) is part of the
 * baseline, and must not grow. Needs root. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "harness.h"
#include "sandbox/sandbox.h"

#define ROUNDS 500

static int count_dir(const char *path) {
    DIR *d = opendir(path);
    if (!d) return errno == ENOENT ? 0 : -1;
    int n = 0;
    struct dirent *de;
    while ((de = readdir(d)))
        if (de->d_name[0] != '.') n++;
    closedir(d);
    return n;
}

static int count_lines(const char *path) {
    FILE *f = fopen(path, "r");
    if (!f) return -1;
    int n = 0, c;
    while ((c = fgetc(f)) != EOF)
        if (c == '\n') n++;
    fclose(f);
    return n;
}

/* sandbox cgroups below our test-only parent, in every v1 hierarchy or the v2 tree */
static int count_cgroups(const char *parent) {
    char cmd[512];
    snprintf(cmd, sizeof(cmd),
             "find /sys/fs/cgroup -maxdepth 8 -type d -path '*/%s/*' 2>/dev/null | wc -l", parent);
    FILE *p = popen(cmd, "r");
    if (!p) return -1;
    int n = -1;
    if (fscanf(p, "%d", &n) != 1) n = -1;
    pclose(p);
    return n;
}

static bool have_children(void) { return waitpid(-1, NULL, WNOHANG) != -1 || errno != ECHILD; }

TEST(five_hundred_sandboxes_leave_nothing) {
    if (geteuid() != 0) {
        sb_test_skip(true, "needs root");
        return;
    }
    const char *build = getenv("SEALBOX_BUILD_DIR");
    char init[1024], state[1024], parent[64];
    snprintf(init, sizeof(init), "%s/sealbox-init", build ? build : ".");
    snprintf(state, sizeof(state), "%s/state", sb_test_tmpdir());
    snprintf(parent, sizeof(parent), "sealbox-leaktest-%d", (int)getpid());
    int null = open("/dev/null", O_WRONLY | O_CLOEXEC);
    int fds_start = count_dir("/proc/self/fd");
    int fds0 = -1, mounts0 = count_lines("/proc/self/mountinfo");
    struct sb_sandbox_config cfg = {.state_dir = state,
                                    .init_path = init,
                                    .cgroup_parent = parent,
                                    .memory_bytes = 64ull << 20,
                                    .pids = 64,
                                    .disk_bytes = 16ull << 20,
                                    .net_none = true};
    char *argv[] = {(char *)"/bin/true", NULL};
    char *env[] = {(char *)"PATH=/usr/bin:/bin", NULL};
    int failures = 0;
    for (int i = 0; i < ROUNDS && failures < 3; i++) {
        if (i == 1) fds0 = count_dir("/proc/self/fd"); /* after the once-per-process setup */
        sb_sandbox *sb = NULL;
        sb_error err = {0};
        if (sb_jail_backend.create(&cfg, &sb, &err) != 0) {
            sb_test_fail(__FILE__, __LINE__, "round %d: create: %s", i, err.msg);
            failures++;
            continue;
        }
        struct sb_exec_req req = {.argv = argv,
                                  .env = env,
                                  .stdin_fd = -1,
                                  .stdout_fd = null,
                                  .stderr_fd = null,
                                  .signal_fd = -1};
        struct sb_exit ex = {SB_EXIT_SANDBOX_GONE, 0};
        if (sb_jail_backend.exec(sb, &req, &ex, &err) != 0 || sb_exit_status(&ex) != 0) {
            sb_test_fail(__FILE__, __LINE__, "round %d: exec: status %d %s", i, sb_exit_status(&ex),
                         err.msg);
            failures++;
        }
        sb_jail_backend.destroy(sb);
    }
    CHECK_INT(count_dir("/proc/self/fd"), fds0);
    CHECK(fds0 <= fds_start + 1); /* at most the cached sealbox-init copy */
    CHECK_INT(count_lines("/proc/self/mountinfo"), mounts0);
    CHECK_INT(count_cgroups(parent), 0);
    CHECK(!have_children());
    char p[1100];
    snprintf(p, sizeof(p), "%s/sandboxes", state);
    CHECK_INT(count_dir(p), 0);
    snprintf(p, sizeof(p), "%s/slots", state);
    CHECK_INT(count_dir(p), 0);
    /* one sandbox at a time used one slot: one spare directory, empty */
    snprintf(p, sizeof(p), "%s/spare", state);
    CHECK_INT(count_dir(p), 1);
    snprintf(p, sizeof(p), "%s/spare/0", state);
    CHECK_INT(count_dir(p), 0);
    /* no process of ours is left in any sandbox cgroup (they would keep the dirs busy) */
    char cmd[512];
    snprintf(cmd, sizeof(cmd),
             "find /sys/fs/cgroup -maxdepth 8 -type d -name '%s' | xargs -r rmdir", parent);
    CHECK_INT(system(cmd), 0);
    close(null);
}
