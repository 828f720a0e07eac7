/* harness: the in-tree test runner — TEST() registers a case, CHECK* record failures with
 * file:line, and main() runs every case (or those named on the command line). */
#ifndef SB_HARNESS_H
#define SB_HARNESS_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "util/util.h"

typedef void (*sb_test_fn)(void);
void sb_test_register(const char *name, sb_test_fn fn);
void sb_test_fail(const char *file, int line, const char *fmt, ...) SB_PRINTF(3, 4);
/* Marks the running case skipped with a reason (fails instead when CI=true and
 * ci_fatal is set). */
void sb_test_skip(bool ci_fatal, const char *fmt, ...) SB_PRINTF(2, 3);
bool sb_test_failed(void);
const char *sb_test_errmsg(const sb_error *err);
/* $SEALBOX_EVIDENCE_DIR or NULL if it is absent (the case is then skipped, or failed under
 * CI=true). */
const char *sb_test_evidence_dir(void);
/* Reads <evidence dir>/<rel>; fails the case on error. */
uint8_t *sb_test_read_evidence(const char *rel, size_t *len);
/* A fresh temporary directory (removed at exit unless SB_KEEP_TMP is set). */
const char *sb_test_tmpdir(void);
/* Waits until a server accepts connections on the unix socket at path (a bound socket file is
 * not enough: the listener may not be listening yet, or the file may be a previous run's).
 * True when a connect() succeeded within timeout_ms. */
bool sb_test_wait_unix(const char *path, int timeout_ms);
/* Runs argv[0] (a path) with stdout — and stderr too when merge_stderr — written to the file
 * out; its exit status, or -1 when it could not run or was killed by a signal. */
int sb_test_run(char *const argv[], const char *out, bool merge_stderr);
/* A whole file as a NUL-terminated string (at most 1 MiB); "" when unreadable. Free it. */
char *sb_test_slurp(const char *path);

#define TEST(n)                                                                            \
    static void n(void);                                                                   \
    __attribute__((constructor)) static void sb_reg_##n(void) { sb_test_register(#n, n); } \
    static void n(void)

#define CHECK(c)                                                     \
    do {                                                             \
        if (!(c)) sb_test_fail(__FILE__, __LINE__, "CHECK(%s)", #c); \
    } while (0)
#define CHECK_MSG(c, ...)                                        \
    do {                                                         \
        if (!(c)) sb_test_fail(__FILE__, __LINE__, __VA_ARGS__); \
    } while (0)
#define CHECK_INT(a, b)                                                                          \
    do {                                                                                         \
        long long _a = (long long)(a), _b = (long long)(b);                                      \
        if (_a != _b)                                                                            \
            sb_test_fail(__FILE__, __LINE__, "%s == %lld, expected %s == %lld", #a, _a, #b, _b); \
    } while (0)
#define CHECK_STR(a, b)                                                           \
    do {                                                                          \
        const char *_a = (a), *_b = (b);                                          \
        if (!_a || !_b || strcmp(_a, _b) != 0)                                    \
            sb_test_fail(__FILE__, __LINE__, "%s == \"%s\", expected \"%s\"", #a, \
                         _a ? _a : "(null)", _b ? _b : "(null)");                 \
    } while (0)
#define CHECK_CONTAINS(hay, needle)                                                                \
    do {                                                                                           \
        const char *_h = (hay), *_n = (needle);                                                    \
        if (!_h || !strstr(_h, _n))                                                                \
            sb_test_fail(__FILE__, __LINE__, "\"%s\" does not contain \"%s\"", _h ? _h : "(null)", \
                         _n);                                                                      \
    } while (0)
#define CHECK_MEM(a, b, n)                                                                        \
    do {                                                                                          \
        if (memcmp((a), (b), (n)) != 0)                                                           \
            sb_test_fail(__FILE__, __LINE__, "memory %s != %s (%zu bytes)", #a, #b, (size_t)(n)); \
    } while (0)
/* An sb_error-returning call must succeed; prints the error message otherwise. */
#define CHECK_OK(call, errp)                                                      \
    do {                                                                          \
        int _rc = (call);                                                         \
        if (_rc != 0)                                                             \
            sb_test_fail(__FILE__, __LINE__, "%s failed: %d (%s) %s", #call, _rc, \
                         sb_strerror(_rc), sb_test_errmsg(errp));                 \
    } while (0)

#endif
