/* cmd_run_opts: parsing and validation of `sealbox run` options (sizes, durations, CPU
 * fractions, mounts, environment); every bad value is named in the message. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "run_opts.h"

#define MAX_SIZE (1ull << 50) /* 1 PiB: anything larger is a typo */
#define MAX_DURATION_MS (366ull * 86400 * 1000)
#define MAX_CPUS_MILLI (1024ull * 1000)

int sb_parse_size(const char *s, uint64_t *out, sb_error *err, const char *opt) {
    const char *p = s;
    uint64_t v = 0;
    if (!*p) BAIL(err, SB_E_USAGE, "%s: empty size", opt);
    while (*p >= '0' && *p <= '9') {
        if (v > (MAX_SIZE - (uint64_t)(*p - '0')) / 10)
            BAIL(err, SB_E_USAGE, "%s: size '%s' is too large", opt, s);
        v = v * 10 + (uint64_t)(*p - '0');
        p++;
    }
    if (p == s) BAIL(err, SB_E_USAGE, "%s: '%s' is not a size (e.g. 512M, 1G)", opt, s);
    uint64_t mul = 1;
    switch (*p) {
    case 0: break;
    case 'k':
    case 'K':
        mul = 1ull << 10;
        p++;
        break;
    case 'm':
    case 'M':
        mul = 1ull << 20;
        p++;
        break;
    case 'g':
    case 'G':
        mul = 1ull << 30;
        p++;
        break;
    case 't':
    case 'T':
        mul = 1ull << 40;
        p++;
        break;
    default: BAIL(err, SB_E_USAGE, "%s: '%s' has an unknown unit (use k, M, G, T)", opt, s);
    }
    if (mul > 1 && (*p == 'i' || *p == 'I')) p++;
    if (mul > 1 && (*p == 'b' || *p == 'B')) p++;
    if (*p) BAIL(err, SB_E_USAGE, "%s: '%s' has trailing characters", opt, s);
    if (v > MAX_SIZE / mul) BAIL(err, SB_E_USAGE, "%s: size '%s' is too large", opt, s);
    *out = v * mul;
    return 0;
}

int sb_parse_duration_ms(const char *s, uint64_t *out, sb_error *err, const char *opt) {
    const char *p = s;
    uint64_t v = 0;
    while (*p >= '0' && *p <= '9') {
        if (v > MAX_DURATION_MS) BAIL(err, SB_E_USAGE, "%s: '%s' is too long", opt, s);
        v = v * 10 + (uint64_t)(*p - '0');
        p++;
    }
    if (p == s) BAIL(err, SB_E_USAGE, "%s: '%s' is not a duration (e.g. 30s, 500ms, 5m)", opt, s);
    uint64_t mul;
    if (strcmp(p, "") == 0 || strcmp(p, "s") == 0)
        mul = 1000;
    else if (strcmp(p, "ms") == 0)
        mul = 1;
    else if (strcmp(p, "m") == 0)
        mul = 60000;
    else if (strcmp(p, "h") == 0)
        mul = 3600000;
    else
        BAIL(err, SB_E_USAGE, "%s: '%s' has an unknown unit (use ms, s, m, h)", opt, s);
    if (v > MAX_DURATION_MS / mul) BAIL(err, SB_E_USAGE, "%s: '%s' is too long", opt, s);
    if (v == 0) BAIL(err, SB_E_USAGE, "%s: the duration must be positive", opt);
    *out = v * mul;
    return 0;
}

int sb_parse_cpus(const char *s, uint64_t *out, sb_error *err, const char *opt) {
    const char *p = s;
    uint64_t whole = 0, frac = 0;
    int fd = 0;
    while (*p >= '0' && *p <= '9' && whole <= MAX_CPUS_MILLI)
        whole = whole * 10 + (uint64_t)(*p++ - '0');
    if (p == s && *p != '.')
        BAIL(err, SB_E_USAGE, "%s: '%s' is not a CPU count (e.g. 0.5, 2)", opt, s);
    if (*p == '.') {
        p++;
        while (*p >= '0' && *p <= '9') {
            if (fd == 3) BAIL(err, SB_E_USAGE, "%s: '%s' has more than 3 decimals", opt, s);
            frac = frac * 10 + (uint64_t)(*p++ - '0');
            fd++;
        }
    }
    if (*p) BAIL(err, SB_E_USAGE, "%s: '%s' is not a CPU count (e.g. 0.5, 2)", opt, s);
    while (fd < 3) {
        frac *= 10;
        fd++;
    }
    if (whole > MAX_CPUS_MILLI / 1000) BAIL(err, SB_E_USAGE, "%s: '%s' is too many CPUs", opt, s);
    uint64_t m = whole * 1000 + frac;
    if (m < 10) BAIL(err, SB_E_USAGE, "%s: '%s' is below 0.01 CPU", opt, s);
    *out = m;
    return 0;
}

int sb_run_opts_add_env(struct sb_run_opts *o, const char *k, const char *v, sb_error *err) {
    if (o->n_env >= SB_SANDBOX_MAX_ENV)
        BAIL(err, SB_E_LIMIT, "--env: more than %d variables", SB_SANDBOX_MAX_ENV);
    size_t kl = strlen(k), vl = strlen(v);
    if (kl == 0 || strchr(k, '=')) BAIL(err, SB_E_USAGE, "--env: '%s' is not a variable name", k);
    if (kl + vl + 1 > SB_SANDBOX_MAX_STR) BAIL(err, SB_E_LIMIT, "--env: %s is too long", k);
    /* a later value replaces an earlier one */
    for (size_t i = 0; i < o->n_env; i++)
        if (strncmp(o->env[i], k, kl) == 0 && o->env[i][kl] == '=') {
            free(o->env[i]);
            o->env[i] = NULL;
            size_t n = kl + vl + 2;
            o->env[i] = malloc(n);
            if (!o->env[i]) BAIL(err, SB_E_INTERNAL, "out of memory");
            snprintf(o->env[i], n, "%s=%s", k, v);
            return 0;
        }
    char **nv = realloc(o->env, (o->n_env + 2) * sizeof(char *));
    if (!nv) BAIL(err, SB_E_INTERNAL, "out of memory");
    o->env = nv;
    size_t n = kl + vl + 2;
    o->env[o->n_env] = malloc(n);
    if (!o->env[o->n_env]) BAIL(err, SB_E_INTERNAL, "out of memory");
    snprintf(o->env[o->n_env], n, "%s=%s", k, v);
    o->n_env++;
    o->env[o->n_env] = NULL;
    return 0;
}

static int add_mount(struct sb_run_opts *o, const char *spec, sb_error *err) {
    size_t n = o->cfg.n_mounts;
    if (n >= SB_SANDBOX_MAX_MOUNTS)
        BAIL(err, SB_E_LIMIT, "--mount: more than %d mounts", SB_SANDBOX_MAX_MOUNTS);
    char *c = strdup(spec);
    if (!c) BAIL(err, SB_E_INTERNAL, "out of memory");
    o->mount_buf[n] = c;
    char *dst = strchr(c, ':');
    if (!dst) BAIL(err, SB_E_USAGE, "--mount: '%s' is not SRC:DST[:ro]", spec);
    *dst++ = 0;
    char *flag = strchr(dst, ':');
    bool ro = false;
    if (flag) {
        *flag++ = 0;
        if (strcmp(flag, "ro") == 0)
            ro = true;
        else if (strcmp(flag, "rw") != 0)
            BAIL(err, SB_E_USAGE, "--mount: '%s': the flag must be ro or rw", spec);
    }
    if (c[0] != '/' || dst[0] != '/')
        BAIL(err, SB_E_USAGE, "--mount: '%s': SRC and DST must be absolute paths", spec);
    o->mounts[n] = (struct sb_mount_spec){.src = c, .dst = dst, .ro = ro};
    o->cfg.n_mounts = n + 1;
    return 0;
}

/* --secret repo/type/tag[:file=PATH|:env=NAME]; without a target the value goes to the file
 * /run/secrets/repo/type/tag. */
static int add_secret(struct sb_run_opts *o, const char *spec, sb_error *err) {
    ENSURE(o->n_secrets < SB_PROTO_MAX_SECRETS, err, SB_E_LIMIT, "--secret: more than %d secrets",
           SB_PROTO_MAX_SECRETS);
    struct sb_secret_spec *s = &o->secrets[o->n_secrets];
    sb_error e = {0};
    if (sb_secret_spec_parse((const uint8_t *)spec, strlen(spec), s, &e) < 0)
        BAIL(err, e.code == SB_E_INTERNAL ? SB_E_INTERNAL : SB_E_USAGE, "--secret: %s", e.msg);
    o->n_secrets++;
    for (size_t i = 0; i + 1 < o->n_secrets; i++)
        ENSURE(o->secrets[i].kind != s->kind || strcmp(o->secrets[i].target, s->target) != 0, err,
               SB_E_USAGE, "--secret: %s and %s both go to %s %s", o->secrets[i].path, s->path,
               s->kind == SB_SECRET_ENV ? "env" : "file", s->target);
    return 0;
}

int sb_run_opts_add_mount(struct sb_run_opts *o, const char *src, const char *dst, bool ro,
                          sb_error *err) {
    size_t n = o->cfg.n_mounts;
    if (n >= SB_SANDBOX_MAX_MOUNTS)
        BAIL(err, SB_E_LIMIT, "--mount: more than %d mounts", SB_SANDBOX_MAX_MOUNTS);
    size_t sl = strlen(src), dl = strlen(dst);
    char *c = malloc(sl + dl + 2);
    if (!c) BAIL(err, SB_E_INTERNAL, "out of memory");
    memcpy(c, src, sl + 1);
    memcpy(c + sl + 1, dst, dl + 1);
    o->mount_buf[n] = c;
    o->mounts[n] = (struct sb_mount_spec){.src = c, .dst = c + sl + 1, .ro = ro};
    o->cfg.n_mounts = n + 1;
    return 0;
}

char *sb_sibling_init(void) { return sb_sibling_program("sealbox-init", "SEALBOX_INIT"); }

char *sb_sibling_program(const char *name, const char *env_name) {
    const char *env = getenv(env_name);
    if (env && *env) return strdup(env);
    char self[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
    if (n <= 0) return NULL;
    self[n] = 0;
    char *slash = strrchr(self, '/');
    if (!slash) return NULL;
    *slash = 0;
    size_t len = strlen(self) + 1 + strlen(name) + 1;
    char *p = malloc(len);
    if (p) snprintf(p, len, "%s/%s", self, name);
    return p;
}

int sb_run_opts_parse(struct sb_run_opts *o, int argc, char **argv, int *first, sb_error *err) {
    memset(o, 0, sizeof(*o));
    o->cfg.mounts = o->mounts;
    o->cfg.net_none = true;
    o->cfg.state_dir = getenv("SEALBOX_STATE_DIR");
    if (o->cfg.state_dir && !*o->cfg.state_dir) o->cfg.state_dir = NULL;
    o->cfg.cgroup_root = getenv("SEALBOX_CGROUP_ROOT");
    o->cfg.cgroup_parent = getenv("SEALBOX_CGROUP_PARENT");
    o->cfg.memory_bytes = SB_SANDBOX_DEF_MEMORY;
    o->cfg.pids = SB_SANDBOX_DEF_PIDS;
    o->cfg.disk_bytes = SB_SANDBOX_DEF_DISK;
    int i = 1;
    for (; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--") == 0) {
            i++;
            break;
        }
        if (a[0] != '-') break;
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) return SB_RUN_OPTS_HELP;
        if (strcmp(a, "--tty") == 0 || strcmp(a, "-t") == 0) {
            o->tty = true;
            continue;
        }
        if (strcmp(a, "--detach") == 0 || strcmp(a, "-d") == 0) {
            o->detach = true;
            continue;
        }
        /* options with a value: --opt VALUE or --opt=VALUE */
        const char *val = NULL;
        char name[32];
        const char *eq = strchr(a, '=');
        if (eq && (size_t)(eq - a) < sizeof(name)) {
            memcpy(name, a, (size_t)(eq - a));
            name[eq - a] = 0;
            val = eq + 1;
        } else {
            snprintf(name, sizeof(name), "%s", a);
            if (i + 1 >= argc) BAIL(err, SB_E_USAGE, "%s needs a value", a);
            val = argv[++i];
        }
        if (strcmp(name, "--image") == 0) {
            if (!*val) BAIL(err, SB_E_USAGE, "--image: empty name");
            o->cfg.image = val;
        } else if (strcmp(name, "--mount") == 0 || strcmp(name, "-v") == 0) {
            TRY(add_mount(o, val, err));
        } else if (strcmp(name, "--env") == 0 || strcmp(name, "-e") == 0) {
            const char *e = strchr(val, '=');
            if (!e) BAIL(err, SB_E_USAGE, "--env: '%s' is not K=V", val);
            char k[256];
            if ((size_t)(e - val) >= sizeof(k)) BAIL(err, SB_E_USAGE, "--env: name too long");
            memcpy(k, val, (size_t)(e - val));
            k[e - val] = 0;
            TRY(sb_run_opts_add_env(o, k, e + 1, err));
        } else if (strcmp(name, "--workdir") == 0 || strcmp(name, "-w") == 0) {
            if (val[0] != '/')
                BAIL(err, SB_E_USAGE, "--workdir: '%s' is not an absolute path", val);
            o->workdir = val;
        } else if (strcmp(name, "--memory") == 0 || strcmp(name, "-m") == 0) {
            TRY(sb_parse_size(val, &o->cfg.memory_bytes, err, "--memory"));
            if (o->cfg.memory_bytes < SB_SANDBOX_MIN_MEMORY)
                BAIL(err, SB_E_USAGE, "--memory: %s is below the minimum 8M", val);
        } else if (strcmp(name, "--disk") == 0) {
            TRY(sb_parse_size(val, &o->cfg.disk_bytes, err, "--disk"));
            if (o->cfg.disk_bytes < SB_SANDBOX_MIN_DISK)
                BAIL(err, SB_E_USAGE, "--disk: %s is below the minimum 1M", val);
        } else if (strcmp(name, "--pids") == 0) {
            if (sb_parse_u64(val, SB_SANDBOX_MAX_PIDS, &o->cfg.pids, err, "--pids") < 0 ||
                o->cfg.pids < 2)
                BAIL(err, SB_E_USAGE, "--pids: '%s' is not a number in 2..%u", val,
                     SB_SANDBOX_MAX_PIDS);
        } else if (strcmp(name, "--cpus") == 0) {
            TRY(sb_parse_cpus(val, &o->cfg.cpu_millis, err, "--cpus"));
        } else if (strcmp(name, "--timeout") == 0) {
            TRY(sb_parse_duration_ms(val, &o->timeout_ms, err, "--timeout"));
        } else if (strcmp(name, "--kill-after") == 0) {
            TRY(sb_parse_duration_ms(val, &o->kill_grace_ms, err, "--kill-after"));
        } else if (strcmp(name, "--net") == 0) {
            if (strcmp(val, "none") != 0 && strcmp(val, "host") != 0)
                BAIL(err, SB_E_USAGE,
                     "--net: '%s' is not a network mode (none: loopback only; host: the host's "
                     "network)",
                     val);
            o->cfg.net_host = strcmp(val, "host") == 0;
            o->cfg.net_none = !o->cfg.net_host;
        } else if (strcmp(name, "--hostname") == 0) {
            o->cfg.hostname = val;
        } else if (strcmp(name, "--log") == 0) {
            if (!*val) BAIL(err, SB_E_USAGE, "--log: empty path");
            o->log_path = val;
        } else if (strcmp(name, "--secret") == 0) {
            TRY(add_secret(o, val, err));
        } else if (strcmp(name, "--kbs-url") == 0) {
            if (strncmp(val, "http://", 7) != 0 && strncmp(val, "https://", 8) != 0)
                BAIL(err, SB_E_USAGE, "--kbs-url: '%s' does not start with http:// or https://",
                     val);
            o->kbs_url = val;
        } else if (strcmp(name, "--kbs-unix-socket") == 0) {
            o->kbs_socket = val;
        } else if (strcmp(name, "--kbs-ca") == 0) {
            o->kbs_ca = val;
        } else if (strcmp(name, "--attester") == 0) {
            if (strcmp(val, "software") != 0 && strcmp(val, "tsm") != 0 && strcmp(val, "tpm") != 0)
                BAIL(err, SB_E_USAGE, "--attester: '%s' is not software, tsm or tpm", val);
            o->attester = val;
        } else if (strcmp(name, "--attester-key") == 0) {
            o->attester_key = val;
        } else if (strcmp(name, "--tsm-dir") == 0) {
            o->tsm_dir = val;
        } else if (strcmp(name, "--tcti") == 0) {
            o->tcti = val;
        } else if (strcmp(name, "--state-dir") == 0) {
            if (val[0] != '/')
                BAIL(err, SB_E_USAGE, "--state-dir: '%s' is not an absolute path", val);
            o->cfg.state_dir = val;
        } else {
            BAIL(err, SB_E_USAGE, "unknown option %s", name);
        }
    }
    *first = i;
    if (o->n_secrets && !o->kbs_url) BAIL(err, SB_E_USAGE, "--secret needs --kbs-url");
    /* init's secret socket is abstract: with the host's network namespace it would be bound
     * there, where every --net host sandbox (and the host) shares one name */
    if ((o->n_secrets || o->kbs_url) && o->cfg.net_host)
        BAIL(err, SB_E_USAGE,
             "--secret and --kbs-url cannot be combined with --net host: the secret socket needs "
             "its own network namespace");
    for (size_t k = 0; k < o->n_secrets; k++) {
        if (o->secrets[k].kind != SB_SECRET_ENV) continue;
        size_t tl = strlen(o->secrets[k].target);
        for (size_t e = 0; e < o->n_env; e++)
            if (strncmp(o->env[e], o->secrets[k].target, tl) == 0 && o->env[e][tl] == '=')
                BAIL(err, SB_E_USAGE, "--secret %s: env %s is also set by --env",
                     o->secrets[k].path, o->secrets[k].target);
    }
    bool has_path = false;
    for (size_t k = 0; k < o->n_env; k++)
        if (strncmp(o->env[k], "PATH=", 5) == 0) has_path = true;
    if (!has_path)
        TRY(sb_run_opts_add_env(
            o, "PATH", "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", err));
    o->init_path = sb_sibling_init();
    if (!o->init_path) BAIL(err, SB_E_INTERNAL, "cannot locate sealbox-init");
    o->cfg.init_path = o->init_path;
    return 0;
}

void sb_run_opts_free(struct sb_run_opts *o) {
    for (size_t i = 0; i < o->n_env; i++)
        free(o->env[i]);
    free(o->env);
    for (size_t i = 0; i < SB_SANDBOX_MAX_MOUNTS; i++)
        free(o->mount_buf[i]);
    free(o->init_path);
    for (size_t i = 0; i < o->n_secrets; i++) {
        free(o->secrets[i].path);
        free(o->secrets[i].target);
    }
    memset(o, 0, sizeof(*o));
}
