/* probe: what every escape probe shares. A probe program runs one named attack, either inside a
 * sandbox (it must be refused with the expected errno or signal) or on the host as the positive
 * control (it must succeed there, proving the probe can detect the attack at all).
 * Exit status: 0 expectation met, 1 not met, 3 no control possible on this host. */
#ifndef SB_PROBE_H
#define SB_PROBE_H

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define PROBE_OK 0
#define PROBE_FAIL 1
#define PROBE_NO_CONTROL 3

struct probe {
    const char *name;
    int (*inside)(const char *arg);
    int (*host)(const char *arg); /* NULL: no positive control is possible anywhere */
};

static inline int want_errno(const char *what, long rc, int want) {
    int e = errno;
    if (rc == -1 && e == want) return PROBE_OK;
    fprintf(stderr, "%s: returned %ld errno %d (%s), wanted %s\n", what, rc, rc == -1 ? e : 0,
            rc == -1 ? strerror(e) : "-", strerror(want));
    return PROBE_FAIL;
}

/* Refused with any of a, b, c (a read-only /proc/sys answers EROFS or EACCES; sysctls that
 * are not namespaced may not even be visible: ENOENT). */
static inline int want_errno3(const char *what, long rc, int a, int b, int c) {
    int e = errno;
    if (rc == -1 && (e == a || e == b || e == c)) return PROBE_OK;
    fprintf(stderr, "%s: returned %ld errno %d (%s), wanted %s/%s/%s\n", what, rc, rc == -1 ? e : 0,
            rc == -1 ? strerror(e) : "-", strerror(a), strerror(b), strerror(c));
    return PROBE_FAIL;
}

static inline int want_ok(const char *what, long rc) {
    if (rc >= 0) return PROBE_OK;
    fprintf(stderr, "%s: failed on the host: %s\n", what, strerror(errno));
    return PROBE_FAIL;
}

/* Runs fn in a child (host controls that change process state); returns fn's result, or the
 * terminating signal + 100. */
static inline int in_child(int (*fn)(const char *), const char *arg) {
    fflush(NULL);
    pid_t p = fork();
    if (p == 0) _exit(fn(arg));
    int st;
    if (waitpid(p, &st, 0) != p) return PROBE_FAIL;
    return WIFEXITED(st) ? WEXITSTATUS(st) : 100 + WTERMSIG(st);
}

static inline int probe_main(const struct probe *ps, size_t n, int argc, char **argv) {
    if (argc < 3) {
        fprintf(stderr, "usage: %s PROBE inside|host [ARG]\n", argv[0]);
        for (size_t i = 0; i < n; i++)
            printf("%s%s\n", ps[i].name, ps[i].host ? "" : " (no control)");
        return 2;
    }
    const char *arg = argc > 3 ? argv[3] : NULL;
    for (size_t i = 0; i < n; i++) {
        if (strcmp(ps[i].name, argv[1]) != 0) continue;
        if (strcmp(argv[2], "inside") == 0) return ps[i].inside(arg);
        if (!ps[i].host) return PROBE_NO_CONTROL;
        return ps[i].host(arg);
    }
    fprintf(stderr, "%s: no probe '%s'\n", argv[0], argv[1]);
    return 2;
}

#define PROBES_MAIN(table)                                                      \
    int main(int argc, char **argv) {                                           \
        return probe_main(table, sizeof(table) / sizeof(table[0]), argc, argv); \
    }

#endif
