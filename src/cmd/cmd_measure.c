/* cmd_measure: `sealbox measure IMAGE [CONFIG.json]` — the image digest, the config digest and
 * the digest of the initial measurement log (image, config, entrypoint) a sandbox of that image
 * and configuration will have, to put in a policy (docs/secrets.md). */
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cmd.h"
#include "crypto/crypto.h"
#include "sandbox/sandbox.h"

#define CONFIG_MAX (1u << 20)
#define DEFAULT_PATH "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

static void usage(FILE *f) {
    fprintf(
        f,
        "usage: sealbox measure [--state-dir DIR] [--json] IMAGE [CONFIG.json]\n\n"
        "Prints the digests a policy can require of a sandbox made from IMAGE ('host' or an\n"
        "imported image) with CONFIG: the image digest, the config digest, the entrypoint's\n"
        "executable digest (resolved inside the image) and the digest of the initial\n"
        "measurement log (image, config, entrypoint). Without CONFIG: the defaults and no\n"
        "entrypoint. CONFIG.json (every member optional):\n"
        "  {\"command\": [\"python3\", \"-m\", \"agent\"], \"env\": [\"NAME=VALUE\" or \"NAME\"],\n"
        "   \"workdir\": \"/\", \"memory_bytes\": N, \"pids\": N, \"cpu_millis\": N,\n"
        "   \"disk_bytes\": N, \"hostname\": \"sandbox\", \"network\": \"none\" or \"host\",\n"
        "   \"mounts\": [{\"src\": \"/host\", \"dst\": \"/in\", \"ro\": true}]}\n"
        "as `sealbox run` would be given them (--env, --workdir, --memory, ...). PATH is\n"
        "added to env when absent, as sealbox run and sealboxd add it.\n\n"
        "exit status: 0, or 2 for unusable input.\n");
}

static int fail(const char *what, const char *msg) {
    fprintf(stderr, "sealbox measure: %s%s%s\n", what, msg ? ": " : "", msg ? msg : "");
    return 2;
}

struct mcfg {
    struct sb_sandbox_config cfg;
    struct sb_mount_spec mounts[SB_SANDBOX_MAX_MOUNTS];
    char *env[SB_SANDBOX_MAX_ENV + 2];
    char *argv[SB_SANDBOX_MAX_ARGS + 1];
    const char *workdir;
};

static int get_u64(const json_t *v, const char *k, uint64_t *out, sb_error *err) {
    ENSURE(json_is_integer(v) && json_integer_value(v) >= 0, err, SB_E_MALFORMED,
           "%s: expected a non-negative integer", k);
    *out = (uint64_t)json_integer_value(v);
    return 0;
}

static int get_strs(const json_t *v, const char *k, char **out, size_t max, sb_error *err) {
    ENSURE(json_is_array(v), err, SB_E_MALFORMED, "%s: expected an array of strings", k);
    ENSURE(json_array_size(v) <= max, err, SB_E_LIMIT, "%s: more than %zu entries", k, max);
    for (size_t i = 0; i < json_array_size(v); i++) {
        const json_t *s = json_array_get(v, i);
        ENSURE(json_is_string(s) && json_string_length(s) > 0, err, SB_E_MALFORMED,
               "%s[%zu]: expected a non-empty string", k, i);
        out[i] = (char *)json_string_value(s);
    }
    return 0;
}

/* Reads CONFIG.json into m (strings point into j, which must outlive m). */
static int parse_config(const json_t *j, struct mcfg *m, sb_error *err) {
    ENSURE(json_is_object(j), err, SB_E_MALFORMED, "expected a JSON object");
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)j, k, v) {
        if (strcmp(k, "command") == 0) {
            TRY(get_strs(v, k, m->argv, SB_SANDBOX_MAX_ARGS, err));
        } else if (strcmp(k, "env") == 0) {
            TRY(get_strs(v, k, m->env, SB_SANDBOX_MAX_ENV, err));
        } else if (strcmp(k, "workdir") == 0) {
            ENSURE(json_is_string(v) && json_string_value(v)[0] == '/', err, SB_E_MALFORMED,
                   "workdir: expected an absolute path");
            m->workdir = json_string_value(v);
        } else if (strcmp(k, "hostname") == 0) {
            ENSURE(json_is_string(v), err, SB_E_MALFORMED, "hostname: expected a string");
            m->cfg.hostname = json_string_value(v);
        } else if (strcmp(k, "network") == 0) {
            const char *n = json_string_value(v);
            ENSURE(n && (strcmp(n, "none") == 0 || strcmp(n, "host") == 0), err, SB_E_MALFORMED,
                   "network: expected \"none\" or \"host\"");
            m->cfg.net_host = strcmp(n, "host") == 0;
        } else if (strcmp(k, "memory_bytes") == 0) {
            TRY(get_u64(v, k, &m->cfg.memory_bytes, err));
        } else if (strcmp(k, "pids") == 0) {
            TRY(get_u64(v, k, &m->cfg.pids, err));
        } else if (strcmp(k, "cpu_millis") == 0) {
            TRY(get_u64(v, k, &m->cfg.cpu_millis, err));
        } else if (strcmp(k, "disk_bytes") == 0) {
            TRY(get_u64(v, k, &m->cfg.disk_bytes, err));
        } else if (strcmp(k, "mounts") == 0) {
            ENSURE(json_is_array(v) && json_array_size(v) <= SB_SANDBOX_MAX_MOUNTS, err,
                   SB_E_MALFORMED, "mounts: expected an array of at most %d mounts",
                   SB_SANDBOX_MAX_MOUNTS);
            for (size_t i = 0; i < json_array_size(v); i++) {
                const json_t *mt = json_array_get(v, i);
                const json_t *src = json_object_get(mt, "src"), *dst = json_object_get(mt, "dst"),
                             *ro = json_object_get(mt, "ro");
                ENSURE(json_is_string(src) && json_is_string(dst) && (!ro || json_is_boolean(ro)),
                       err, SB_E_MALFORMED, "mounts[%zu]: expected {\"src\", \"dst\"[, \"ro\"]}",
                       i);
                m->mounts[i] = (struct sb_mount_spec){.src = json_string_value(src),
                                                      .dst = json_string_value(dst),
                                                      .ro = json_is_true(ro)};
            }
            m->cfg.mounts = m->mounts;
            m->cfg.n_mounts = json_array_size(v);
        } else {
            BAIL(err, SB_E_MALFORMED, "unknown member '%.64s'", k);
        }
    }
    return 0;
}

int sb_cmd_measure(int argc, char **argv) {
    static const struct option opts[] = {{"state-dir", required_argument, NULL, 's'},
                                         {"json", no_argument, NULL, 'j'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    const char *state = getenv("SEALBOX_STATE_DIR");
    bool as_json = false;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "+h", opts, NULL)) != -1) {
        switch (c) {
        case 's': state = optarg; break;
        case 'j': as_json = true; break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (optind >= argc || argc - optind > 2) {
        usage(stderr);
        return 2;
    }
    const char *image = argv[optind], *cfg_path = argc - optind == 2 ? argv[optind + 1] : NULL;
    sb_error err = {0};
    static struct mcfg m;
    memset(&m, 0, sizeof(m));
    json_t *cj = NULL;
    if (cfg_path) {
        uint8_t *b = NULL;
        size_t n = 0;
        if (sb_read_file(cfg_path, CONFIG_MAX, &b, &n, &err) < 0) return fail(cfg_path, err.msg);
        json_error_t je;
        cj = json_loadb((const char *)b, n, JSON_REJECT_DUPLICATES, &je);
        free(b);
        if (!cj) return fail(cfg_path, je.text);
        if (parse_config(cj, &m, &err) < 0) {
            json_decref(cj);
            return fail(cfg_path, err.msg);
        }
    }
    size_t ne = 0;
    bool has_path = false;
    while (m.env[ne]) {
        if (strncmp(m.env[ne], "PATH=", 5) == 0 || strcmp(m.env[ne], "PATH") == 0) has_path = true;
        ne++;
    }
    if (!has_path) m.env[ne] = (char *)DEFAULT_PATH;
    char *rootfs = NULL, *digest = NULL;
    int rc = sb_image_rootfs(state ? state : SB_SANDBOX_STATE_DIR, image, &rootfs, &digest, &err);
    json_t *config = NULL;
    sb_mlog *log = NULL;
    if (rc == 0) rc = sb_mlog_config(&m.cfg, m.env, &config, &err);
    if (rc == 0) rc = sb_mlog_new(digest, config, &log, &err);
    char exe[4096] = "";
    uint8_t ed[SB_MLOG_DIGEST_LEN];
    bool found = false;
    if (rc == 0 && m.argv[0]) {
        int root = open(rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (root < 0) {
            rc = sb_error_set(&err, SB_E_IO, "cannot open the image root %s", rootfs);
        } else {
            const char *wd = m.workdir ? m.workdir : "/";
            rc = sb_mlog_measure_exe(root, m.argv[0], m.env, wd, exe, ed, &err);
            close(root);
            found = rc == 0;
            if (rc == SB_E_NOTFOUND) {
                fprintf(stderr, "sealbox measure: warning: %s\n", err.msg);
                rc = 0;
            }
            if (rc == 0)
                rc = sb_mlog_add_exec(log, m.argv, m.env, wd, found ? exe : NULL, found ? ed : NULL,
                                      &err);
        }
    }
    char cs[104] = "", ls[104] = "", es[104] = "";
    if (rc == 0) {
        char *canon = NULL;
        size_t cl = 0;
        uint8_t d[SB_MLOG_DIGEST_LEN];
        rc = sb_json_canonical(config, &canon, &cl, &err);
        if (rc == 0) rc = sb_hash(SB_HASH_SHA384, canon, cl, d, &err);
        if (rc == 0) sb_mlog_digest_str(d, cs);
        free(canon);
        sb_mlog_digest(log, d);
        sb_mlog_digest_str(d, ls);
        if (found) sb_mlog_digest_str(ed, es);
    }
    if (rc == 0 && as_json) {
        json_t *o = json_pack("{s:s, s:s, s:O, s:s, s:s}", "image", digest, "config", cs,
                              "config_object", config, "log", ls, "log_events",
                              m.argv[0] ? "image, config, entrypoint" : "image, config");
        if (o && m.argv[0])
            (void)json_object_set_new(o, "entrypoint",
                                      json_pack("{s:s, s:s}", "executable", exe, "digest", es));
        char *s = o ? json_dumps(o, JSON_INDENT(2) | JSON_SORT_KEYS) : NULL;
        if (s) printf("%s\n", s);
        free(s);
        json_decref(o);
    } else if (rc == 0) {
        printf("image       %s\nconfig      %s\n", digest, cs);
        if (m.argv[0])
            printf("entrypoint  %s %s\n", found ? exe : m.argv[0], found ? es : "(not found)");
        printf("log         %s  (initial: image, config%s)\n", ls, m.argv[0] ? ", entrypoint" : "");
    }
    sb_mlog_free(log);
    json_decref(config);
    json_decref(cj);
    free(rootfs);
    free(digest);
    return rc < 0 ? fail(image, err.msg) : 0;
}
