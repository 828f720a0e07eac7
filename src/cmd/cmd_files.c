/* cmd_files: `sealbox files put|get|ls|mkdir|rm` — files of a sealboxd sandbox through its API
 * (paths are resolved inside the sandbox's root by the daemon). */
#include <jansson.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cmd_client.h"

#define FILES_USAGE                                                                              \
    "usage: sealbox files put ID LOCAL PATH      upload LOCAL to PATH (the daemon's\n"           \
    "                                            --upload-max, default 1 GiB)\n"                 \
    "       sealbox files get ID PATH [LOCAL]    download PATH (to stdout without LOCAL or -)\n" \
    "       sealbox files ls ID [PATH]           list a directory (default /)\n"                 \
    "       sealbox files mkdir [-p] ID PATH     make a directory (-p: and its parents)\n"       \
    "       sealbox files rm ID PATH             delete a file, a symlink or an empty "          \
    "directory\n\n"                                                                              \
    "put and get draw a progress bar on stderr when it is a terminal and the transfer is\n"      \
    "large (8 MiB) or long (1 s); --no-progress or --json turn it off.\n\n" SB_CLI_CONN_HELP

static const long OK200[] = {200, 0}, OK_MKDIR[] = {200, 201, 0}, OK204[] = {204, 0};

/* ---- the progress bar ------------------------------------------------------------------------
 * On stderr, only when it is a terminal (and not with --json or --no-progress), and only for a
 * transfer that is large or long; redrawn at most ten times a second, on one line. */

#define BAR_LARGE (8ull << 20)    /* bytes: a transfer this big gets a bar at once */
#define BAR_LONG_NS 1000000000ull /* any transfer gets one after this long */
#define BAR_EVERY_NS 100000000ull /* redraws at most this often */
#define BAR_WIDTH 28

struct bar {
    bool enabled, drawn, up;
    uint64_t start_ns, last_ns, now, total;
};

static void bar_init(struct bar *b, const struct sb_cli *c, bool enabled, bool up) {
    memset(b, 0, sizeof(*b));
    b->enabled = enabled && !c->json && isatty(STDERR_FILENO);
    b->up = up;
    b->start_ns = sb_mono_ns();
}

static void human(uint64_t n, char *out, size_t cap) {
    if (n >= (1ull << 30))
        (void)snprintf(out, cap, "%.1f GiB", (double)n / (double)(1ull << 30));
    else if (n >= (1ull << 20))
        (void)snprintf(out, cap, "%.1f MiB", (double)n / (double)(1ull << 20));
    else
        (void)snprintf(out, cap, "%.0f KiB", (double)n / 1024.0);
}

static void bar_draw(struct bar *b, uint64_t t) {
    char now[24], total[24], rate[24];
    double secs = (double)(t - b->start_ns) / 1e9;
    human(b->now, now, sizeof(now));
    human(secs > 0 ? (uint64_t)((double)b->now / secs) : 0, rate, sizeof(rate));
    if (b->total) {
        uint64_t pct = b->now >= b->total ? 100 : b->now * 100 / b->total;
        char cells[BAR_WIDTH + 1];
        size_t full = (size_t)(pct * BAR_WIDTH / 100);
        for (size_t i = 0; i < BAR_WIDTH; i++)
            cells[i] = i < full ? '=' : i == full ? '>' : ' ';
        cells[BAR_WIDTH] = '\0';
        human(b->total, total, sizeof(total));
        fprintf(stderr, "\r%s %3llu%% [%s] %s / %s  %s/s\033[K", b->up ? "put" : "get",
                (unsigned long long)pct, cells, now, total, rate);
    } else {
        fprintf(stderr, "\r%s %s  %s/s\033[K", b->up ? "put" : "get", now, rate);
    }
    (void)fflush(stderr);
    b->drawn = true;
    b->last_ns = t;
}

static bool bar_progress(uint64_t up_now, uint64_t up_total, uint64_t down_now, uint64_t down_total,
                         void *arg) {
    struct bar *b = arg;
    b->now = b->up ? up_now : down_now;
    b->total = b->up ? up_total : down_total;
    uint64_t t = sb_mono_ns();
    bool big = b->total >= BAR_LARGE || b->now >= BAR_LARGE || t - b->start_ns >= BAR_LONG_NS;
    if (big && (!b->drawn || t - b->last_ns >= BAR_EVERY_NS)) bar_draw(b, t);
    return true;
}

/* The last state, and the line ended, once the transfer is over. */
static void bar_end(struct bar *b, bool ok) {
    if (!b->drawn) return;
    if (ok && b->total) b->now = b->total;
    bar_draw(b, sb_mono_ns());
    fputc('\n', stderr);
}

/* "/v1/sandboxes/ID/<what>?path=PATH<extra>" with both escaped. */
static char *fpath(struct sb_cli *c, const char *id, const char *what, const char *path,
                   const char *extra) {
    char *ei = sb_client_escape(c->client, id), *ep = sb_client_escape(c->client, path);
    size_t n = (ei ? strlen(ei) : 0) + (ep ? strlen(ep) : 0) + strlen(extra) + 64;
    char *p = ei && ep ? malloc(n) : NULL;
    if (p) (void)snprintf(p, n, "/v1/sandboxes/%s/%s?path=%s%s", ei, what, ep, extra);
    free(ei);
    free(ep);
    return p;
}

static int put(struct sb_cli *c, const char *id, const char *local, const char *path,
               bool progress) {
    FILE *f = fopen(local, "rb");
    struct stat st;
    if (!f || fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode)) {
        fprintf(stderr, "sealbox files put: %s is not a readable regular file\n", local);
        if (f) fclose(f);
        return 1;
    }
    char *p = fpath(c, id, "files", path, "");
    sb_client_req rq = {.method = "PUT",
                        .path = p ? p : "",
                        .ctype = "application/octet-stream",
                        .body_file = f,
                        .body_file_len = (uint64_t)st.st_size};
    struct bar b;
    bar_init(&b, c, progress, true);
    if (b.enabled) {
        rq.progress = bar_progress;
        rq.progress_arg = &b;
    }
    sb_client_resp rs;
    sb_error err = {0};
    int rc = p ? sb_client_do(c->client, &rq, &rs, &err) : SB_E_INTERNAL;
    bar_end(&b, rc == 0 && rs.status == 201);
    fclose(f);
    free(p);
    if (rc < 0) {
        fprintf(stderr, "sealbox files put: %s\n", err.msg[0] ? err.msg : "out of memory");
        if (p) sb_client_resp_free(&rs);
        return SB_EXIT_CLIENT;
    }
    if (rs.status != 201) {
        char msg[512];
        sb_client_problem(&rs, msg, sizeof(msg));
        fprintf(stderr, "sealbox files put: %s\n", msg);
        rc = rs.status >= 400 && rs.status < 500 ? 1 : SB_EXIT_CLIENT;
    } else if (c->json) {
        printf("%s\n", (const char *)rs.body.buf);
    }
    sb_client_resp_free(&rs);
    return rc;
}

static bool to_file(const uint8_t *p, size_t n, void *arg) {
    return fwrite(p, 1, n, (FILE *)arg) == n;
}

static int get(struct sb_cli *c, const char *id, const char *path, const char *local,
               bool progress) {
    bool out = !local || strcmp(local, "-") == 0;
    char tmp[4096] = "";
    FILE *f = stdout;
    if (!out) {
        /* written beside the target and renamed when complete */
        (void)snprintf(tmp, sizeof(tmp), "%s.part", local);
        f = fopen(tmp, "wb");
        if (!f) {
            fprintf(stderr, "sealbox files get: cannot write %s\n", tmp);
            return 1;
        }
    }
    char *p = fpath(c, id, "files", path, "");
    sb_client_req rq = {.method = "GET",
                        .path = p ? p : "",
                        .accept = "application/octet-stream",
                        .sink = to_file,
                        .sink_arg = f};
    struct bar b;
    bar_init(&b, c, progress, false);
    if (b.enabled) {
        rq.progress = bar_progress;
        rq.progress_arg = &b;
    }
    sb_client_resp rs;
    sb_error err = {0};
    int rc = p ? sb_client_do(c->client, &rq, &rs, &err) : SB_E_INTERNAL;
    bar_end(&b, rc == 0 && rs.status == 200);
    free(p);
    bool flushed = fflush(f) == 0;
    if (!out) flushed = fclose(f) == 0 && flushed;
    if (rc < 0) {
        fprintf(stderr, "sealbox files get: %s\n", err.msg[0] ? err.msg : "out of memory");
        rc = SB_EXIT_CLIENT;
    } else if (rs.status != 200) {
        char msg[512];
        sb_client_problem(&rs, msg, sizeof(msg));
        fprintf(stderr, "sealbox files get: %s\n", msg);
        rc = rs.status >= 400 && rs.status < 500 ? 1 : SB_EXIT_CLIENT;
    } else if (!flushed) {
        fprintf(stderr, "sealbox files get: cannot write %s\n", out ? "stdout" : tmp);
        rc = SB_EXIT_CLIENT;
    } else if (!out && rename(tmp, local) != 0) {
        fprintf(stderr, "sealbox files get: cannot rename %s to %s\n", tmp, local);
        rc = SB_EXIT_CLIENT;
    }
    if (rc != 0 && !out) (void)remove(tmp);
    if (p) sb_client_resp_free(&rs);
    return rc;
}

static int ls(struct sb_cli *c, const char *id, const char *path) {
    char *p = fpath(c, id, "dirs", path, "");
    json_t *j = NULL;
    int rc = p ? sb_cli_call(c, "GET", p, NULL, OK200, &j) : SB_EXIT_CLIENT;
    free(p);
    if (rc == 0 && !c->json) {
        size_t i;
        json_t *e;
        json_array_foreach(json_object_get(j, "entries"), i, e) {
            const char *t = json_string_value(json_object_get(e, "target"));
            printf("%-7s %10lld  %s  %s%s%s\n", json_string_value(json_object_get(e, "type")),
                   (long long)json_integer_value(json_object_get(e, "size")),
                   json_string_value(json_object_get(e, "modified_at")),
                   json_string_value(json_object_get(e, "name")), t ? " -> " : "", t ? t : "");
        }
        if (json_is_true(json_object_get(j, "truncated")))
            fprintf(stderr, "sealbox files ls: only the first 1000 entries are shown\n");
    }
    json_decref(j);
    return rc;
}

int sb_cmd_files(int argc, char **argv) {
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        printf(FILES_USAGE);
        return argc < 2 ? SB_EXIT_USAGE : 0;
    }
    const char *sub = argv[1];
    struct sb_cli c;
    int n = argc - 1;
    char **v = argv + 1;
    int rc = sb_cli_open(&c, "files", &n, v);
    if (rc) return rc;
    bool parents = false, progress = true;
    int kept = 0;
    for (int i = 0; i < n; i++) { /* --no-progress anywhere (not after --) */
        if (strcmp(v[i], "--") == 0) {
            while (i < n)
                v[kept++] = v[i++];
            break;
        }
        if (strcmp(v[i], "--no-progress") == 0)
            progress = false;
        else
            v[kept++] = v[i];
    }
    n = kept;
    if (strcmp(sub, "mkdir") == 0 && n > 1 && strcmp(v[1], "-p") == 0) {
        parents = true;
        v++;
        n--;
    }
    if (strcmp(sub, "put") == 0 && n == 4) {
        rc = put(&c, v[1], v[2], v[3], progress);
    } else if (strcmp(sub, "get") == 0 && (n == 3 || n == 4)) {
        rc = get(&c, v[1], v[2], n == 4 ? v[3] : NULL, progress);
    } else if (strcmp(sub, "ls") == 0 && (n == 2 || n == 3)) {
        rc = ls(&c, v[1], n == 3 ? v[2] : "/");
    } else if ((strcmp(sub, "mkdir") == 0 || strcmp(sub, "rm") == 0) && n == 3) {
        bool mk = sub[0] == 'm';
        char *p = fpath(&c, v[1], mk ? "dirs" : "files", v[2], parents ? "&parents=true" : "");
        rc = p ? sb_cli_call(&c, mk ? "POST" : "DELETE", p, NULL, mk ? OK_MKDIR : OK204, NULL)
               : SB_EXIT_CLIENT;
        free(p);
    } else {
        fprintf(stderr, FILES_USAGE);
        rc = SB_EXIT_USAGE;
    }
    sb_cli_close(&c);
    return rc;
}
