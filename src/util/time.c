/* time: RFC 3339 / Unix-seconds parsing for verification times, and clocks. */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "util.h"

int64_t sb_time_now(void) { return (int64_t)time(NULL); }

uint64_t sb_mono_ns(void) {
    struct timespec ts;
    (void)clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

void sb_time_format(int64_t t, char out[32]) {
    time_t tt = (time_t)t;
    struct tm tm;
    if (!gmtime_r(&tt, &tm) || strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
        (void)snprintf(out, 32, "@%lld", (long long)t);
}

static bool digits(const char *s, size_t n, int *out) {
    int v = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9') return false;
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return true;
}

int sb_time_parse(const char *s, int64_t *out, sb_error *err) {
    size_t n = strlen(s);
    bool all_digits = n > 0 && n <= 12;
    for (size_t i = 0; i < n && all_digits; i++)
        all_digits = s[i] >= '0' && s[i] <= '9';
    if (all_digits) return sb_parse_i64(s, 0, INT64_C(253402300799), out, err, "time");
    int Y, M, D, h, m, sec;
    if (n < 20 || !digits(s, 4, &Y) || s[4] != '-' || !digits(s + 5, 2, &M) || s[7] != '-' ||
        !digits(s + 8, 2, &D) || (s[10] != 'T' && s[10] != 't' && s[10] != ' ') ||
        !digits(s + 11, 2, &h) || s[13] != ':' || !digits(s + 14, 2, &m) || s[16] != ':' ||
        !digits(s + 17, 2, &sec))
        BAIL(err, SB_E_USAGE, "time: '%s' is neither RFC 3339 nor Unix seconds", s);
    if (M < 1 || M > 12 || D < 1 || D > 31 || h > 23 || m > 59 || sec > 60)
        BAIL(err, SB_E_USAGE, "time: '%s' has a field out of range", s);
    size_t i = 19;
    if (s[i] == '.') {
        i++;
        size_t f = i;
        while (i < n && s[i] >= '0' && s[i] <= '9')
            i++;
        if (i == f) BAIL(err, SB_E_USAGE, "time: '%s' has an empty fraction", s);
    }
    int64_t off = 0;
    if (i < n && (s[i] == 'Z' || s[i] == 'z') && i + 1 == n) {
        off = 0;
    } else if (i + 6 == n && (s[i] == '+' || s[i] == '-') && s[i + 3] == ':') {
        int oh, om;
        if (!digits(s + i + 1, 2, &oh) || !digits(s + i + 4, 2, &om) || oh > 23 || om > 59)
            BAIL(err, SB_E_USAGE, "time: '%s' has a bad offset", s);
        off = (int64_t)(oh * 3600 + om * 60) * (s[i] == '-' ? -1 : 1);
    } else {
        BAIL(err, SB_E_USAGE, "time: '%s' needs a 'Z' or ±HH:MM offset", s);
    }
    struct tm tm = {0};
    tm.tm_year = Y - 1900;
    tm.tm_mon = M - 1;
    tm.tm_mday = D;
    tm.tm_hour = h;
    tm.tm_min = m;
    tm.tm_sec = sec;
    time_t t = timegm(&tm);
    if (t == (time_t)-1 && !(Y == 1969)) BAIL(err, SB_E_USAGE, "time: '%s' out of range", s);
    *out = (int64_t)t - off;
    return 0;
}

int sb_parse_i64(const char *s, int64_t min, int64_t max, int64_t *out, sb_error *err,
                 const char *field) {
    if (!s || !*s) BAIL(err, SB_E_USAGE, "%s: empty number", field);
    bool neg = s[0] == '-';
    const char *p = s + (neg ? 1 : 0);
    if (!*p) BAIL(err, SB_E_USAGE, "%s: '%s' is not a number", field, s);
    uint64_t v = 0;
    for (; *p; p++) {
        if (*p < '0' || *p > '9') BAIL(err, SB_E_USAGE, "%s: '%s' is not a number", field, s);
        if (v > (UINT64_MAX - 9) / 10) BAIL(err, SB_E_USAGE, "%s: '%s' is too large", field, s);
        v = v * 10 + (uint64_t)(*p - '0');
    }
    if (v > (uint64_t)INT64_MAX + (neg ? 1u : 0u))
        BAIL(err, SB_E_USAGE, "%s: '%s' is out of range", field, s);
    int64_t x = neg ? (int64_t)(0 - v) : (int64_t)v;
    if (x < min || x > max)
        BAIL(err, SB_E_USAGE, "%s: %lld is outside [%lld, %lld]", field, (long long)x,
             (long long)min, (long long)max);
    *out = x;
    return 0;
}

int sb_parse_u64(const char *s, uint64_t max, uint64_t *out, sb_error *err, const char *field) {
    if (!s || !*s) BAIL(err, SB_E_USAGE, "%s: empty number", field);
    uint64_t v = 0;
    for (const char *p = s; *p; p++) {
        if (*p < '0' || *p > '9') BAIL(err, SB_E_USAGE, "%s: '%s' is not a number", field, s);
        uint64_t d = (uint64_t)(*p - '0');
        if (v > (UINT64_MAX - d) / 10) BAIL(err, SB_E_USAGE, "%s: '%s' is too large", field, s);
        v = v * 10 + d;
    }
    if (v > max)
        BAIL(err, SB_E_USAGE, "%s: %llu is over %llu", field, (unsigned long long)v,
             (unsigned long long)max);
    *out = v;
    return 0;
}
