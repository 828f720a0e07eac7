/* cgroup: one cgroup per sandbox for memory (swap off), pids, cpu and the freezer, on pure v2
 * and on v1/hybrid hosts. Sandboxes live under <the caller's own cgroup>/sealbox/<id>. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <time.h>

#include "internal.h"

#ifndef CGROUP2_SUPER_MAGIC
#define CGROUP2_SUPER_MAGIC 0x63677270
#endif
#ifndef CGROUP_SUPER_MAGIC
#define CGROUP_SUPER_MAGIC 0x27e0eb
#endif

#define CG_DEFAULT_ROOT "/sys/fs/cgroup"
#define CG_WAIT_MS 5000 /* freezing or emptying a cgroup takes longer than this: give up */
#define CPU_PERIOD_US 100000ull

static const char *const V1_NAMES[SB_CG_CTRL_MAX] = {"memory", "pids", "cpu", "freezer", "cpuacct"};

/* ---- helpers -------------------------------------------------------------------------------- */

int sb_fmt(char *out, size_t cap, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(out, cap, fmt, ap);
    va_end(ap);
    return n;
}

char *sb_path_join(const char *a, const char *b) {
    size_t la = strlen(a), lb = strlen(b);
    char *p = malloc(la + lb + 2);
    if (!p) return NULL;
    memcpy(p, a, la);
    size_t o = la;
    if (!(la && a[la - 1] == '/')) p[o++] = '/';
    while (*b == '/') {
        b++;
        lb--;
    }
    memcpy(p + o, b, lb + 1);
    return p;
}

int sb_write_str(const char *path, const char *s, sb_error *err) {
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0) return sb_error_set(err, SB_E_IO, "cannot open %s: %s", path, strerror(errno));
    size_t n = strlen(s);
    ssize_t w = write(fd, s, n);
    int e = errno;
    close(fd);
    if (w != (ssize_t)n)
        return sb_error_set(err, SB_E_IO, "cannot write '%s' to %s: %s", s, path,
                            w < 0 ? strerror(e) : "short write");
    return 0;
}

int sb_read_small(const char *path, char *buf, size_t cap, sb_error *err) {
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return sb_error_set(err, SB_E_IO, "cannot open %s: %s", path, strerror(errno));
    size_t off = 0;
    while (off + 1 < cap) {
        ssize_t r = read(fd, buf + off, cap - 1 - off);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) {
            int e = errno;
            close(fd);
            return sb_error_set(err, SB_E_IO, "cannot read %s: %s", path, strerror(e));
        }
        if (r == 0) break;
        off += (size_t)r;
    }
    close(fd);
    buf[off] = 0;
    return (int)off;
}

int sb_mkdir_p(const char *path, unsigned mode, sb_error *err) {
    char tmp[4096];
    size_t n = strlen(path);
    if (n == 0 || n >= sizeof(tmp)) return sb_error_set(err, SB_E_USAGE, "path too long: %s", path);
    memcpy(tmp, path, n + 1);
    for (size_t i = 1; i <= n; i++) {
        if (tmp[i] != '/' && tmp[i] != 0) continue;
        char c = tmp[i];
        tmp[i] = 0;
        if (mkdir(tmp, mode) != 0 && errno != EEXIST)
            return sb_error_set(err, SB_E_IO, "cannot create directory %s: %s", tmp,
                                strerror(errno));
        tmp[i] = c;
    }
    return 0;
}

static void sleep_us(long us) {
    struct timespec ts = {.tv_sec = us / 1000000, .tv_nsec = (us % 1000000) * 1000};
    nanosleep(&ts, NULL);
}

static bool fs_is(const char *path, long magic) {
    struct statfs s;
    return statfs(path, &s) == 0 && (long)s.f_type == magic;
}

/* The caller's cgroup in the hierarchy holding `ctrl` (v1) or the unified one (ctrl NULL). */
static int own_cgroup(const char *ctrl, char *out, size_t cap, sb_error *err) {
    char buf[4096];
    int n = sb_read_small("/proc/self/cgroup", buf, sizeof(buf), err);
    if (n < 0) return n;
    for (char *line = buf; line && *line;) {
        char *nl = strchr(line, '\n');
        if (nl) *nl = 0;
        char *c1 = strchr(line, ':');
        char *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
        if (c1 && c2) {
            *c1 = 0;
            *c2 = 0;
            const char *ctrls = c1 + 1, *path = c2 + 1;
            bool match = false;
            if (!ctrl) {
                match = (strcmp(line, "0") == 0 && *ctrls == 0);
            } else {
                size_t cl = strlen(ctrl);
                for (const char *p = ctrls; *p;) {
                    const char *e = strchr(p, ',');
                    size_t l = e ? (size_t)(e - p) : strlen(p);
                    if (l == cl && strncmp(p, ctrl, cl) == 0) match = true;
                    p += l + (e ? 1 : 0);
                }
            }
            if (match) {
                if ((size_t)sb_fmt(out, cap, "%s", path) >= cap)
                    return sb_error_set(err, SB_E_LIMIT, "cgroup: own path too long");
                return 0;
            }
        }
        line = nl ? nl + 1 : NULL;
    }
    return sb_error_set(err, SB_E_NOTFOUND, "cgroup: this process is in no %s%s hierarchy",
                        ctrl ? ctrl : "unified", ctrl ? " (cgroup v1)" : " (cgroup v2)");
}

int sb_cgroup_detect(const char *root, enum sb_cg_mode *mode, sb_error *err) {
    if (!root) root = CG_DEFAULT_ROOT;
    if (fs_is(root, CGROUP2_SUPER_MAGIC)) {
        *mode = SB_CG_V2;
        return 0;
    }
    /* v1 or hybrid: each required controller mounted at <root>/<name>. */
    for (int c = 0; c < SB_CG_CPUACCT; c++) {
        char p[512];
        sb_fmt(p, sizeof(p), "%s/%s", root, V1_NAMES[c]);
        if (!fs_is(p, CGROUP_SUPER_MAGIC))
            return sb_error_set(err, SB_E_UNSUPPORTED,
                                "cgroup: controller '%s' is not available: %s is not a cgroup v1 "
                                "mount and %s is not cgroup v2",
                                V1_NAMES[c], p, root);
    }
    *mode = SB_CG_V1;
    return 0;
}

void sb_cgroup_free(struct sb_cgroup *cg) {
    if (!cg) return;
    free(cg->v2);
    for (int c = 0; c < SB_CG_CTRL_MAX; c++)
        free(cg->v1[c]);
    free(cg);
}

static int file_in(const char *dir, const char *name, const char *val, sb_error *err) {
    _cleanup_free_ char *p = sb_path_join(dir, name);
    if (!p) return sb_error_set(err, SB_E_INTERNAL, "out of memory");
    return sb_write_str(p, val, err);
}

static bool exists_in(const char *dir, const char *name) {
    _cleanup_free_ char *p = sb_path_join(dir, name);
    return p && access(p, F_OK) == 0;
}

static int read_in(const char *dir, const char *name, char *buf, size_t cap, sb_error *err) {
    _cleanup_free_ char *p = sb_path_join(dir, name);
    if (!p) return sb_error_set(err, SB_E_INTERNAL, "out of memory");
    return sb_read_small(p, buf, cap, err);
}

/* Builds the leaf paths without touching the file system. */
static int paths(const char *root, const char *parent, const char *id, enum sb_cg_mode mode,
                 struct sb_cgroup *cg, sb_error *err) {
    if (!parent) parent = "sealbox";
    ENSURE(
        *parent && strlen(parent) < 128 &&
            strspn(parent, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-") ==
                strlen(parent) &&
            parent[0] != '.',
        err, SB_E_USAGE, "cgroup: parent name '%s' must be letters, digits, '.', '_', '-'", parent);
    char own[2048], p[4096];
    cg->mode = mode;
    if (mode == SB_CG_V2) {
        TRY(own_cgroup(NULL, own, sizeof(own), err));
        sb_fmt(p, sizeof(p), "%s%s/%s/%s", root, strcmp(own, "/") == 0 ? "" : own, parent, id);
        cg->v2 = strdup(p);
        return cg->v2 ? 0 : sb_error_set(err, SB_E_INTERNAL, "out of memory");
    }
    for (int c = 0; c < SB_CG_CTRL_MAX; c++) {
        char mnt[512];
        sb_fmt(mnt, sizeof(mnt), "%s/%s", root, V1_NAMES[c]);
        if (c == SB_CG_CPUACCT && !fs_is(mnt, CGROUP_SUPER_MAGIC)) continue; /* optional */
        TRY(own_cgroup(V1_NAMES[c], own, sizeof(own), err));
        sb_fmt(p, sizeof(p), "%s%s/%s/%s", mnt, strcmp(own, "/") == 0 ? "" : own, parent, id);
        cg->v1[c] = strdup(p);
        if (!cg->v1[c]) return sb_error_set(err, SB_E_INTERNAL, "out of memory");
    }
    return 0;
}

static int mkleaf(const char *leaf, sb_error *err) {
    /* the parents exist after the first sandbox: creating them first cost a failing mkdir per
     * path component and controller (about 20 path walks through the cgroup file systems) */
    if (mkdir(leaf, 0755) == 0) return 0;
    char parent[4096];
    sb_fmt(parent, sizeof(parent), "%s", leaf);
    char *slash = strrchr(parent, '/');
    if (slash) *slash = 0;
    if (errno == ENOENT) TRY(sb_mkdir_p(parent, 0755, err));
    if (mkdir(leaf, 0755) != 0)
        return sb_error_set(err, SB_E_IO, "cgroup: cannot create %s: %s", leaf, strerror(errno));
    return 0;
}

static int setup_v2(struct sb_cgroup *cg, const struct sb_cg_limits *lim, sb_error *err) {
    char parent[4096], ctrls[512];
    sb_fmt(parent, sizeof(parent), "%s", cg->v2);
    *strrchr(parent, '/') = 0; /* .../sealbox */
    TRY(sb_mkdir_p(parent, 0755, err));
    /* Delegate the controllers down to .../sealbox: its parent must have them enabled. */
    char grand[4096];
    sb_fmt(grand, sizeof(grand), "%s", parent);
    *strrchr(grand, '/') = 0;
    TRY(read_in(grand, "cgroup.controllers", ctrls, sizeof(ctrls), err));
    static const char *const need[] = {"memory", "pids", "cpu"};
    for (size_t i = 0; i < SB_ARRAY_LEN(need); i++)
        if (!strstr(ctrls, need[i]))
            return sb_error_set(err, SB_E_UNSUPPORTED,
                                "cgroup: controller '%s' is not available in %s (cgroup v2)",
                                need[i], grand);
    int rc = file_in(grand, "cgroup.subtree_control", "+memory +pids +cpu", err);
    if (rc < 0)
        return sb_error_prefix(err,
                               "cgroup: cannot delegate memory/pids/cpu below %s (a v2 "
                               "cgroup holding processes cannot; run sealbox from the root "
                               "or a delegated cgroup)",
                               grand);
    TRY(file_in(parent, "cgroup.subtree_control", "+memory +pids +cpu", err));
    TRY(mkleaf(cg->v2, err));
    char v[64];
    sb_fmt(v, sizeof(v), "%llu", (unsigned long long)lim->memory_bytes);
    TRY(file_in(cg->v2, "memory.max", v, err));
    if (exists_in(cg->v2, "memory.swap.max")) TRY(file_in(cg->v2, "memory.swap.max", "0", err));
    sb_fmt(v, sizeof(v), "%llu", (unsigned long long)lim->pids);
    TRY(file_in(cg->v2, "pids.max", v, err));
    if (lim->cpu_millis) {
        sb_fmt(v, sizeof(v), "%llu %llu",
               (unsigned long long)(lim->cpu_millis * CPU_PERIOD_US / 1000),
               (unsigned long long)CPU_PERIOD_US);
        TRY(file_in(cg->v2, "cpu.max", v, err));
    }
    return 0;
}

static int setup_v1(struct sb_cgroup *cg, const struct sb_cg_limits *lim, sb_error *err) {
    /* Without a CPU cap the sandbox stays in its creator's cpu cgroup: a v1 cpu cgroup costs
     * several ms on its first attach (more than every other controller together), and buys
     * nothing uncapped; cpuacct (a separate hierarchy here, cheap) still accounts its CPU. */
    if (!lim->cpu_millis) {
        free(cg->v1[SB_CG_CPU]);
        cg->v1[SB_CG_CPU] = NULL;
    }
    for (int c = 0; c < SB_CG_CTRL_MAX; c++)
        if (cg->v1[c]) TRY(mkleaf(cg->v1[c], err));
    char v[64];
    const char *mem = cg->v1[SB_CG_MEMORY];
    sb_fmt(v, sizeof(v), "%llu", (unsigned long long)lim->memory_bytes);
    TRY(file_in(mem, "memory.limit_in_bytes", v, err));
    /* swap off: memory+swap limited to the memory limit (when swap accounting exists). */
    if (exists_in(mem, "memory.memsw.limit_in_bytes"))
        TRY(file_in(mem, "memory.memsw.limit_in_bytes", v, err));
    if (exists_in(mem, "memory.swappiness")) (void)file_in(mem, "memory.swappiness", "0", NULL);
    sb_fmt(v, sizeof(v), "%llu", (unsigned long long)lim->pids);
    TRY(file_in(cg->v1[SB_CG_PIDS], "pids.max", v, err));
    if (lim->cpu_millis) {
        sb_fmt(v, sizeof(v), "%llu", (unsigned long long)CPU_PERIOD_US);
        TRY(file_in(cg->v1[SB_CG_CPU], "cpu.cfs_period_us", v, err));
        sb_fmt(v, sizeof(v), "%llu", (unsigned long long)(lim->cpu_millis * CPU_PERIOD_US / 1000));
        TRY(file_in(cg->v1[SB_CG_CPU], "cpu.cfs_quota_us", v, err));
    }
    return 0;
}

int sb_cgroup_create(const char *root, const char *parent, const char *id,
                     const struct sb_cg_limits *lim, struct sb_cgroup **out, sb_error *err) {
    if (!root) root = CG_DEFAULT_ROOT;
    enum sb_cg_mode mode;
    TRY(sb_cgroup_detect(root, &mode, err));
    struct sb_cgroup *cg = calloc(1, sizeof(*cg));
    if (!cg) return sb_error_set(err, SB_E_INTERNAL, "out of memory");
    int rc = paths(root, parent, id, mode, cg, err);
    if (rc == 0) rc = mode == SB_CG_V2 ? setup_v2(cg, lim, err) : setup_v1(cg, lim, err);
    if (rc < 0) {
        sb_error tmp;
        (void)sb_cgroup_destroy(cg, &tmp);
        return rc;
    }
    *out = cg;
    return 0;
}

int sb_cgroup_open(const char *root, const char *parent, const char *id, struct sb_cgroup **out,
                   sb_error *err) {
    if (!root) root = CG_DEFAULT_ROOT;
    enum sb_cg_mode mode;
    TRY(sb_cgroup_detect(root, &mode, err));
    struct sb_cgroup *cg = calloc(1, sizeof(*cg));
    if (!cg) return sb_error_set(err, SB_E_INTERNAL, "out of memory");
    int rc = paths(root, parent, id, mode, cg, err);
    const char *probe = mode == SB_CG_V2 ? cg->v2 : cg->v1[SB_CG_FREEZER];
    if (rc == 0 && access(probe, F_OK) != 0)
        rc = sb_error_set(err, SB_E_NOTFOUND, "cgroup: %s does not exist", probe);
    if (rc < 0) {
        sb_cgroup_free(cg);
        return rc;
    }
    *out = cg;
    return 0;
}

void sb_cgroup_join_close(struct sb_cg_join *j) {
    for (size_t i = 0; i < j->n; i++)
        if (j->fds[i] >= 0) close(j->fds[i]);
    j->n = 0;
    if (j->dir_fd >= 0) close(j->dir_fd);
    j->dir_fd = -1;
}

int sb_cgroup_join_prepare(const struct sb_cgroup *cg, struct sb_cg_join *j, sb_error *err) {
    j->n = 0;
    j->dir_fd = -1;
    if (cg->mode == SB_CG_V2) {
        j->dir_fd = open(cg->v2, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (j->dir_fd < 0)
            return sb_error_set(err, SB_E_IO, "cgroup: open %s: %s", cg->v2, strerror(errno));
        return 0;
    }
    for (int c = 0; c < SB_CG_CTRL_MAX; c++) {
        if (!cg->v1[c]) continue;
        _cleanup_free_ char *p = sb_path_join(cg->v1[c], "tasks");
        int fd = p ? open(p, O_WRONLY | O_CLOEXEC) : -1;
        if (fd < 0) {
            int e = p ? errno : ENOMEM;
            sb_cgroup_join_close(j);
            return sb_error_set(err, SB_E_IO, "cgroup: open %s/tasks: %s", cg->v1[c], strerror(e));
        }
        j->fds[j->n++] = fd;
    }
    return 0;
}

int sb_cgroup_join_self(struct sb_cg_join *j, sb_error *err) {
    int rc = 0;
    for (size_t i = 0; i < j->n && rc == 0; i++)
        if (write(j->fds[i], "0", 1) != 1)
            rc = sb_error_set(err, SB_E_IO, "cgroup: join (tasks): %s", strerror(errno));
    sb_cgroup_join_close(j);
    return rc;
}

int sb_cgroup_attach(const struct sb_cgroup *cg, pid_t pid, sb_error *err) {
    char v[32];
    sb_fmt(v, sizeof(v), "%d", (int)pid);
    if (cg->mode == SB_CG_V2) return file_in(cg->v2, "cgroup.procs", v, err);
    for (int c = 0; c < SB_CG_CTRL_MAX; c++)
        if (cg->v1[c]) TRY(file_in(cg->v1[c], "cgroup.procs", v, err));
    return 0;
}

/* v1 freezer.state goes FREEZING -> FROZEN; v2 cgroup.events says "frozen 1". */
static bool is_frozen(const struct sb_cgroup *cg, bool *out, sb_error *err) {
    char buf[512];
    if (cg->mode == SB_CG_V2) {
        if (read_in(cg->v2, "cgroup.events", buf, sizeof(buf), err) < 0) return false;
        *out = strstr(buf, "frozen 1") != NULL;
    } else {
        if (read_in(cg->v1[SB_CG_FREEZER], "freezer.state", buf, sizeof(buf), err) < 0)
            return false;
        *out = strncmp(buf, "FROZEN", 6) == 0;
    }
    return true;
}

int sb_cgroup_freeze(const struct sb_cgroup *cg, bool freeze, sb_error *err) {
    if (cg->mode == SB_CG_V2)
        TRY(file_in(cg->v2, "cgroup.freeze", freeze ? "1" : "0", err));
    else
        TRY(file_in(cg->v1[SB_CG_FREEZER], "freezer.state", freeze ? "FROZEN" : "THAWED", err));
    if (!freeze) return 0; /* thawing is immediate for callers: tasks are woken by the write */
    uint64_t start = sb_mono_ns();
    for (unsigned i = 0;; i++) {
        bool fr = false;
        if (!is_frozen(cg, &fr, err)) return SB_E_IO;
        if (fr) return 0;
        if (cg->mode == SB_CG_V1) /* v1 retries freezing stragglers on each write */
            (void)file_in(cg->v1[SB_CG_FREEZER], "freezer.state", "FROZEN", NULL);
        if (sb_mono_ns() - start > (uint64_t)CG_WAIT_MS * 1000000ull)
            return sb_error_set(err, SB_E_IO, "cgroup: not frozen after %d ms", CG_WAIT_MS);
        sleep_us(i < 10 ? 50 : 1000);
    }
}

static uint64_t kv(const char *buf, const char *key) {
    size_t kl = strlen(key);
    for (const char *p = buf; p && *p;) {
        if (strncmp(p, key, kl) == 0 && p[kl] == ' ') return strtoull(p + kl + 1, NULL, 10);
        p = strchr(p, '\n');
        if (p) p++;
    }
    return 0;
}

static uint64_t read_u64(const char *dir, const char *name) {
    char buf[64];
    if (!dir || read_in(dir, name, buf, sizeof(buf), NULL) < 0) return 0;
    if (strncmp(buf, "max", 3) == 0) return UINT64_MAX;
    return strtoull(buf, NULL, 10);
}

uint64_t sb_cgroup_oom_kills(const struct sb_cgroup *cg) {
    char buf[1024];
    if (cg->mode == SB_CG_V2) {
        if (read_in(cg->v2, "memory.events", buf, sizeof(buf), NULL) < 0) return 0;
        return kv(buf, "oom_kill");
    }
    if (read_in(cg->v1[SB_CG_MEMORY], "memory.oom_control", buf, sizeof(buf), NULL) < 0) return 0;
    return kv(buf, "oom_kill");
}

int sb_cgroup_stats(const struct sb_cgroup *cg, struct sb_sandbox_stats *st, sb_error *err) {
    memset(st, 0, sizeof(*st));
    bool fr = false;
    if (!is_frozen(cg, &fr, err)) return SB_E_IO;
    st->frozen = fr;
    st->oom_kills = sb_cgroup_oom_kills(cg);
    if (cg->mode == SB_CG_V2) {
        char buf[1024];
        st->memory_bytes = read_u64(cg->v2, "memory.current");
        st->memory_limit = read_u64(cg->v2, "memory.max");
        st->pids = read_u64(cg->v2, "pids.current");
        st->pids_limit = read_u64(cg->v2, "pids.max");
        if (read_in(cg->v2, "cpu.stat", buf, sizeof(buf), NULL) >= 0)
            st->cpu_usage_ns = kv(buf, "usage_usec") * 1000;
    } else {
        st->memory_bytes = read_u64(cg->v1[SB_CG_MEMORY], "memory.usage_in_bytes");
        st->memory_limit = read_u64(cg->v1[SB_CG_MEMORY], "memory.limit_in_bytes");
        st->pids = read_u64(cg->v1[SB_CG_PIDS], "pids.current");
        st->pids_limit = read_u64(cg->v1[SB_CG_PIDS], "pids.max");
        st->cpu_usage_ns = read_u64(cg->v1[SB_CG_CPUACCT], "cpuacct.usage");
    }
    return 0;
}

/* Reads cgroup.procs; returns the number of pids (0: empty), signalling each with SIGKILL. */
static int kill_listed(const char *dir) {
    char buf[16384];
    if (read_in(dir, "cgroup.procs", buf, sizeof(buf), NULL) < 0) return 0;
    int n = 0;
    for (char *p = buf; *p;) {
        long pid = strtol(p, &p, 10);
        if (pid > 0) {
            (void)kill((pid_t)pid, SIGKILL);
            n++;
        }
        while (*p == '\n')
            p++;
        if (*p && (*p < '0' || *p > '9')) break;
    }
    return n;
}

int sb_cgroup_kill_all(const struct sb_cgroup *cg, sb_error *err) {
    const char *dir = cg->mode == SB_CG_V2 ? cg->v2 : cg->v1[SB_CG_PIDS];
    if (!dir || access(dir, F_OK) != 0) return 0;
    if (cg->mode == SB_CG_V1 && cg->v1[SB_CG_FREEZER] && access(cg->v1[SB_CG_FREEZER], F_OK) == 0)
        /* A frozen v1 task cannot act on SIGKILL until thawed. */
        (void)file_in(cg->v1[SB_CG_FREEZER], "freezer.state", "THAWED", NULL);
    if (cg->mode == SB_CG_V2 && exists_in(dir, "cgroup.kill"))
        (void)file_in(dir, "cgroup.kill", "1", NULL);
    uint64_t start = sb_mono_ns();
    for (unsigned i = 0;; i++) {
        if (kill_listed(dir) == 0) return 0;
        if (sb_mono_ns() - start > (uint64_t)CG_WAIT_MS * 1000000ull)
            return sb_error_set(err, SB_E_IO, "cgroup: %s still has processes after %d ms", dir,
                                CG_WAIT_MS);
        sleep_us(i < 20 ? 100 : 2000);
    }
}

static int rmdir_retry(const char *dir, sb_error *err) {
    for (unsigned i = 0; i < 500; i++) {
        if (rmdir(dir) == 0 || errno == ENOENT) return 0;
        if (errno != EBUSY)
            return sb_error_set(err, SB_E_IO, "cgroup: cannot remove %s: %s", dir, strerror(errno));
        sleep_us(i < 20 ? 100 : 2000);
    }
    return sb_error_set(err, SB_E_IO, "cgroup: %s stays busy", dir);
}

int sb_cgroup_destroy(struct sb_cgroup *cg, sb_error *err) {
    if (!cg) return 0;
    int rc = sb_cgroup_kill_all(cg, err);
    if (cg->mode == SB_CG_V2) {
        if (cg->v2) {
            int r = rmdir_retry(cg->v2, err);
            if (rc == 0) rc = r;
        }
    } else {
        for (int c = 0; c < SB_CG_CTRL_MAX; c++)
            if (cg->v1[c]) {
                int r = rmdir_retry(cg->v1[c], err);
                if (rc == 0) rc = r;
            }
    }
    sb_cgroup_free(cg);
    return rc;
}
