/* log: leveled messages to a file descriptor, as text or as JSON lines. */
#include <stdio.h>
#include <string.h>

#include "util.h"

static const char *const LEVELS[SB_LOG_MAX] = {"debug", "info", "warn", "error"};

void sb_log_init(sb_log *lg, int fd, enum sb_log_level min, bool json, const char *component) {
    lg->fd = fd;
    lg->min = min;
    lg->json = json;
    lg->component = component ? component : "sealbox";
}

int sb_log_level_parse(const char *s, enum sb_log_level *out) {
    for (int i = 0; i < SB_LOG_MAX; i++)
        if (strcmp(s, LEVELS[i]) == 0) {
            *out = (enum sb_log_level)i;
            return 0;
        }
    return SB_E_USAGE;
}

/* JSON string escaping for the message field (control characters as \u00XX). */
static void json_escape(sb_writer *w, const char *s) {
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            (void)sb_writer_printf(w, "\\%c", c);
        else if (c < 0x20)
            (void)sb_writer_printf(w, "\\u%04x", c);
        else
            (void)sb_writer_u8(w, c);
    }
}

void sb_logf(const sb_log *lg, enum sb_log_level lvl, const char *fmt, ...) {
    if (!lg || lvl < lg->min || lvl >= SB_LOG_MAX) return;
    char msg[2048];
    va_list ap;
    va_start(ap, fmt);
    (void)vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    char ts[32];
    sb_time_format(sb_time_now(), ts);
    sb_writer w;
    sb_writer_init(&w, 8192);
    if (lg->json) {
        (void)sb_writer_printf(&w, "{\"ts\":\"%s\",\"level\":\"%s\",\"component\":\"", ts,
                               LEVELS[lvl]);
        json_escape(&w, lg->component);
        (void)sb_writer_str(&w, "\",\"msg\":\"");
        json_escape(&w, msg);
        (void)sb_writer_str(&w, "\"}\n");
    } else {
        (void)sb_writer_printf(&w, "%s %s %s: %s\n", ts, LEVELS[lvl], lg->component, msg);
    }
    size_t n;
    uint8_t *b = sb_writer_steal(&w, &n);
    if (b) {
        /* One write() per line keeps lines whole when several processes share the fd. */
        ssize_t k = write(lg->fd, b, n);
        (void)k;
        free(b);
    }
}
