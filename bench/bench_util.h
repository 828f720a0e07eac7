/* bench_util: what the benchmarks share — finding the evidence corpus, timing a job for a
 * minimum time, and the order statistics (median, min, max, percentile) of alternating rounds. */
#ifndef SB_BENCH_UTIL_H
#define SB_BENCH_UTIL_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "util/util.h"

/* $SEALBOX_EVIDENCE_DIR, else the corpus beside the checkout as seen from the usual build
 * directories; NULL when there is none. */
static inline const char *bench_evidence_dir(void) {
    const char *env = getenv("SEALBOX_EVIDENCE_DIR");
    static const char *const guesses[] = {"../shared/evidence", "../../shared/evidence",
                                          "../../../shared/evidence"};
    struct stat st;
    if (env && stat(env, &st) == 0) return env;
    for (size_t i = 0; i < SB_ARRAY_LEN(guesses); i++)
        if (stat(guesses[i], &st) == 0) return guesses[i];
    return NULL;
}

/* Calls per second of fn(job), run in batches of 8 for at least min_ns; a failing call ends
 * the benchmark (prog names it). */
#define BENCH_RATE(prog, fn, job, min_ns)                            \
    ({                                                               \
        uint64_t t0_ = sb_mono_ns(), n_ = 0, dt_;                    \
        do {                                                         \
            for (int k_ = 0; k_ < 8; k_++)                           \
                if (fn(job) != 0) {                                  \
                    fprintf(stderr, "%s: %s failed\n", (prog), #fn); \
                    exit(1);                                         \
                }                                                    \
            n_ += 8;                                                 \
            dt_ = sb_mono_ns() - t0_;                                \
        } while (dt_ < (min_ns));                                    \
        (double)n_ * 1e9 / (double)dt_;                              \
    })

static inline int bench_cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static inline int bench_cmp_u64(const void *a, const void *b) {
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

#define BENCH_ROUNDS_MAX 64

/* The element at n/2 of v sorted (v itself is left as it is); n <= BENCH_ROUNDS_MAX. */
static inline double bench_median(const double *v, size_t n) {
    double t[BENCH_ROUNDS_MAX];
    if (n == 0 || n > BENCH_ROUNDS_MAX) abort();
    memcpy(t, v, n * sizeof(*v));
    qsort(t, n, sizeof(*t), bench_cmp_double);
    return t[n / 2];
}

static inline double bench_min(const double *v, size_t n) {
    double m = v[0];
    for (size_t i = 1; i < n; i++)
        m = v[i] < m ? v[i] : m;
    return m;
}

static inline double bench_max(const double *v, size_t n) {
    double m = v[0];
    for (size_t i = 1; i < n; i++)
        m = v[i] > m ? v[i] : m;
    return m;
}

/* The p-th percentile of v by nearest rank (the ceil(n*p/100)-th smallest); sorts v. */
static inline uint64_t bench_pct_u64(uint64_t *v, size_t n, unsigned p) {
    qsort(v, n, sizeof(*v), bench_cmp_u64);
    size_t i = (n * p + 99) / 100;
    return v[i ? i - 1 : 0];
}

/* "  ratio to the floor: median R (min R, max R; goal >= G)" of per-round ratios. */
static inline void bench_print_ratios(const double *ratios, size_t n, double goal) {
    printf("  ratio to the floor: median %.2f (min %.2f, max %.2f; goal >= %.2f)\n",
           bench_median(ratios, n), bench_min(ratios, n), bench_max(ratios, n), goal);
}

#endif
