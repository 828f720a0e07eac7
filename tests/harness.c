/* harness: runs registered cases in order, one process, counting failures and skips. */
#include "harness.h"

#include <fcntl.h>
#include <stdarg.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <stdlib.h>

#define MAX_TESTS 1024

static struct {
    const char *name;
    sb_test_fn fn;
} tests[MAX_TESTS];
static size_t ntests;
static bool cur_failed, cur_skipped;
static const char *cur_name;
static char tmpdir[256];

void sb_test_register(const char *name, sb_test_fn fn) {
    if (ntests >= MAX_TESTS) {
        fprintf(stderr, "harness: too many tests\n");
        abort();
    }
    tests[ntests].name = name;
    tests[ntests].fn = fn;
    ntests++;
}

void sb_test_fail(const char *file, int line, const char *fmt, ...) {
    va_list ap;
    fprintf(stderr, "  FAIL %s:%d [%s] ", file, line, cur_name);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    cur_failed = true;
}

bool sb_test_failed(void) { return cur_failed; }
const char *sb_test_errmsg(const sb_error *err) { return err ? err->msg : ""; }

static bool in_ci(void) {
    const char *ci = getenv("CI");
    return ci && strcmp(ci, "true") == 0;
}

void sb_test_skip(bool ci_fatal, const char *fmt, ...) {
    va_list ap;
    bool fatal = ci_fatal && in_ci();
    fprintf(stderr, "  %s [%s] ", fatal ? "FAIL (CI=true, cannot skip)" : "SKIP", cur_name);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    if (fatal)
        cur_failed = true;
    else
        cur_skipped = true;
}

const char *sb_test_evidence_dir(void) {
    const char *d = getenv("SEALBOX_EVIDENCE_DIR");
    if (!d || !*d) d = "../shared/evidence";
    char probe[4096];
    snprintf(probe, sizeof(probe), "%s/MANIFEST.md", d);
    if (access(probe, R_OK) != 0) {
        sb_test_skip(true, "evidence corpus not found at %s (set SEALBOX_EVIDENCE_DIR)", d);
        return NULL;
    }
    return d;
}

uint8_t *sb_test_read_evidence(const char *rel, size_t *len) {
    const char *d = sb_test_evidence_dir();
    if (!d) return NULL;
    char path[4096];
    snprintf(path, sizeof(path), "%s/%s", d, rel);
    uint8_t *b = NULL;
    sb_error err = {0};
    if (sb_read_file(path, 64u << 20, &b, len, &err) < 0) {
        sb_test_fail(__FILE__, __LINE__, "reading evidence: %s", err.msg);
        return NULL;
    }
    return b;
}

static void rm_tmpdir(void) {
    if (!tmpdir[0] || getenv("SB_KEEP_TMP")) return;
    char cmd[512];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
    if (system(cmd) != 0) fprintf(stderr, "harness: could not remove %s\n", tmpdir);
}

const char *sb_test_tmpdir(void) {
    if (!tmpdir[0]) {
        snprintf(tmpdir, sizeof(tmpdir), "/tmp/sbtest.XXXXXX");
        if (!mkdtemp(tmpdir)) {
            perror("mkdtemp");
            abort();
        }
        atexit(rm_tmpdir);
    }
    return tmpdir;
}

int main(int argc, char **argv) {
    size_t failed = 0, skipped = 0, ran = 0;
    for (size_t i = 0; i < ntests; i++) {
        if (argc > 1) {
            bool want = false;
            for (int a = 1; a < argc; a++)
                want |= strcmp(argv[a], tests[i].name) == 0;
            if (!want) continue;
        }
        cur_name = tests[i].name;
        cur_failed = cur_skipped = false;
        tests[i].fn();
        ran++;
        if (cur_failed)
            failed++;
        else if (cur_skipped)
            skipped++;
        fprintf(stderr, "%s %s\n", cur_failed ? "not ok" : (cur_skipped ? "skip  " : "ok    "),
                tests[i].name);
    }
    fprintf(stderr, "%zu cases: %zu passed, %zu failed, %zu skipped\n", ran, ran - failed - skipped,
            failed, skipped);
    if (ran == 0) {
        fprintf(stderr, "no test case ran\n");
        return 1;
    }
    return failed ? 1 : 0;
}

bool sb_test_wait_unix(const char *path, int timeout_ms) {
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    if (strlen(path) >= sizeof(a.sun_path)) return false;
    memcpy(a.sun_path, path, strlen(path) + 1);
    for (int waited = 0; waited <= timeout_ms; waited += 20) {
        int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0) return false;
        int ok = connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0;
        close(fd);
        if (ok) return true;
        struct timespec ts = {0, 20000000};
        nanosleep(&ts, NULL);
    }
    return false;
}

int sb_test_run(char *const argv[], const char *out, bool merge_stderr) {
    pid_t p = fork();
    if (p < 0) return -1;
    if (p == 0) {
        int fd = open(out, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        if (fd >= 0) {
            (void)dup2(fd, 1);
            if (merge_stderr) (void)dup2(fd, 2);
        }
        execv(argv[0], argv);
        _exit(127);
    }
    int st = 0;
    if (waitpid(p, &st, 0) < 0 || !WIFEXITED(st)) return -1;
    return WEXITSTATUS(st);
}

char *sb_test_slurp(const char *path) {
    uint8_t *b = NULL;
    size_t n = 0;
    sb_error err = {0};
    if (sb_read_file(path, 1u << 20, &b, &n, &err) < 0) return strdup("");
    return (char *)b; /* sb_read_file NUL-terminates */
}
