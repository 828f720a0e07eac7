/* cmd_kbs: `sealbox kbs serve|admin-key|rotate-master-key|get` — the key broker: run it
 * standalone (sealboxd --kbs-only), manage its admin keys and master key in the state
 * directory, and fetch a resource through the whole attested handshake. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "api/api.h"
#include "attester/attester.h"
#include "cmd.h"
#include "crypto/crypto.h"
#include "kbs/kbs.h"
#include "sandbox/sandbox.h"
#include "store/store.h"

static int kbs_usage(FILE *o) {
    fprintf(
        o, "usage: sealbox kbs COMMAND ...\n\n"
           "  serve [sealboxd options]   run sealboxd as a standalone key broker (--kbs-only):\n"
           "                             Trustee's KBS protocol 0.4.0 under /kbs/v0\n"
           "  admin-key create [--state-dir DIR] [--label TEXT]\n"
           "                             print a new admin key (admin API: resources, policies)\n"
           "  rotate-master-key [--state-dir DIR] [--tpm TCTI [--pcrs BANK:PCRS]]\n"
           "                             re-seal every resource under a new master key; with\n"
           "                             --tpm the key is sealed to that TPM (PCR policy,\n"
           "                             default sha256:7), as sealboxd --kbs-master-tpm keeps it\n"
           "  get REPO/TYPE/TAG --url URL [--unix-socket PATH] [--ca FILE]\n"
           "      [--attester software] [--attester-key FILE | --state-dir DIR] [--log FILE]\n"
           "      [--out FILE]\n"
           "                             attest (evidence bound to a fresh TEE key, the nonce and\n"
           "                             the --log digest) and fetch one resource; the value goes\n"
           "                             to stdout or --out (0600)\n\n"
           "docs/secrets.md describes the protocol, the resource policy and the admin API.\n"
           "Exit status: 0 done, 1 refused or failed, 2 usage.\n");
    return o == stdout ? 0 : SB_EXIT_USAGE;
}

static int state_dir(const char *given, char *buf, size_t cap, sb_error *err) {
    if (given) {
        int k = snprintf(buf, cap, "%s", given);
        ENSURE(k > 0 && (size_t)k < cap, err, SB_E_USAGE, "--state-dir too long");
        return 0;
    }
    return sb_default_state_dir(buf, cap, err);
}

static int open_store(const char *dir, sb_store **st, sb_error *err) {
    char path[4200];
    TRY(sb_state_dir_prepare(dir, err));
    (void)snprintf(path, sizeof(path), "%s/%s", dir, SB_DB_FILE);
    return sb_store_open(path, st, err);
}

/* Parses --state-dir and --label (the only options of the offline commands). */
static int offline_opts(int argc, char **argv, const char **state, const char **label) {
    static const struct option OPTS[] = {{"state-dir", required_argument, NULL, 's'},
                                         {"label", required_argument, NULL, 'l'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    optind = 1;
    int o;
    while ((o = getopt_long(argc, argv, "h", OPTS, NULL)) != -1) {
        if (o == 's')
            *state = optarg;
        else if (o == 'l' && label)
            *label = optarg;
        else if (o == 'h')
            return kbs_usage(stdout) - 1;
        else
            return kbs_usage(stderr);
    }
    return 0;
}

static int cmd_admin_key(int argc, char **argv) {
    if (argc < 2 || strcmp(argv[1], "create") != 0) return kbs_usage(stderr);
    const char *state = NULL, *label = "";
    int u = offline_opts(argc - 1, argv + 1, &state, &label);
    if (u) return u < 0 ? 0 : u;
    if (optind != argc - 1) return kbs_usage(stderr);
    char dir[4096], key[SB_APIKEY_LEN + 1], id[SB_APIKEY_ID_LEN + 1];
    sb_error err = {0};
    sb_store *st = NULL;
    uint8_t *secret = NULL, h[32];
    int r = state_dir(state, dir, sizeof(dir), &err);
    if (r == 0) r = open_store(dir, &st, &err);
    if (r == 0) r = sb_apikey_secret_load(dir, &secret, &err);
    if (r == 0) r = sb_apikey_generate(key, id, &err);
    if (r == 0) r = sb_apikey_hash(secret, key, SB_APIKEY_LEN, h, &err);
    if (r == 0) r = sb_store_kbs_admin_key_insert(st, id, h, label, &err);
    if (secret) sb_secret_free(secret, SB_APIKEY_SECRET_LEN);
    sb_store_close(st);
    if (r < 0) {
        fprintf(stderr, "sealbox kbs admin-key: %s\n", err.msg);
        return 1;
    }
    printf("%s\n", key);
    fprintf(stderr, "sealbox kbs: admin key %s created; it is shown only once\n", id);
    sb_wipe(key, sizeof(key));
    return 0;
}

static int cmd_rotate(int argc, char **argv) {
    static const struct option OPTS[] = {{"state-dir", required_argument, NULL, 's'},
                                         {"tpm", required_argument, NULL, 't'},
                                         {"pcrs", required_argument, NULL, 'p'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    const char *state = NULL, *pcrs = NULL;
    struct sb_kbs_master_tpm tpm = {0};
    sb_error err = {0};
    optind = 1;
    int o;
    while ((o = getopt_long(argc, argv, "h", OPTS, NULL)) != -1) {
        if (o == 's') {
            state = optarg;
        } else if (o == 't') {
            tpm.tcti = optarg;
        } else if (o == 'p') {
            pcrs = optarg;
            if (sb_tpm_pcr_spec_parse(optarg, &tpm.bank, &tpm.pcrs, &err) < 0) {
                fprintf(stderr, "sealbox kbs rotate-master-key: --pcrs: %s\n", err.msg);
                return SB_EXIT_USAGE;
            }
        } else if (o == 'h') {
            return kbs_usage(stdout);
        } else {
            return kbs_usage(stderr);
        }
    }
    if (pcrs && !tpm.tcti) {
        fprintf(stderr, "sealbox kbs rotate-master-key: --pcrs needs --tpm TCTI\n");
        return SB_EXIT_USAGE;
    }
    if (optind != argc) return kbs_usage(stderr);
    char dir[4096];
    sb_store *st = NULL;
    size_t n = 0;
    int r = state_dir(state, dir, sizeof(dir), &err);
    if (r == 0) r = open_store(dir, &st, &err);
    if (r == 0) r = sb_kbs_rotate_master_key_at(dir, tpm.tcti ? &tpm : NULL, st, &n, &err);
    sb_store_close(st);
    if (r < 0) {
        fprintf(stderr, "sealbox kbs rotate-master-key: %s\n", err.msg);
        return 1;
    }
    printf("re-sealed %zu resource(s) under a new master key%s\n", n,
           tpm.tcti ? " (sealed to the TPM)" : "");
    return 0;
}

/* `kbs serve`: sealboxd beside this binary, in KBS-only mode, with the remaining options. */
static int cmd_serve(int argc, char **argv) {
    char self[4096];
    ssize_t k = readlink("/proc/self/exe", self, sizeof(self) - 16);
    if (k <= 0) {
        fprintf(stderr, "sealbox kbs serve: cannot find this binary: %s\n", strerror(errno));
        return 1;
    }
    self[k] = 0;
    char *slash = strrchr(self, '/');
    (void)snprintf(slash + 1, sizeof(self) - (size_t)(slash + 1 - self), "sealboxd");
    char **av = calloc((size_t)argc + 2, sizeof(char *));
    if (!av) return 1;
    av[0] = (char *)"sealboxd";
    av[1] = (char *)"--kbs-only";
    for (int i = 1; i < argc; i++)
        av[i + 1] = argv[i];
    execv(self, av);
    fprintf(stderr, "sealbox kbs serve: %s: %s\n", self, strerror(errno));
    free(av);
    return 1;
}

static int att_evidence(void *arg, const json_t *rd, json_t **ev, sb_error *err) {
    return sb_attester_evidence(arg, rd, ev, err);
}

/* `kbs get`: the whole handshake with an attester of this host, the value on stdout or --out. */
static int cmd_get(int argc, char **argv) {
    static const struct option OPTS[] = {{"url", required_argument, NULL, 'u'},
                                         {"unix-socket", required_argument, NULL, 'U'},
                                         {"ca", required_argument, NULL, 'c'},
                                         {"attester", required_argument, NULL, 'a'},
                                         {"attester-key", required_argument, NULL, 'k'},
                                         {"state-dir", required_argument, NULL, 's'},
                                         {"log", required_argument, NULL, 'l'},
                                         {"out", required_argument, NULL, 'o'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    const char *url = NULL, *sock = NULL, *ca = NULL, *kind = "software", *akey = NULL,
               *state = NULL, *logf = NULL, *out = NULL, *path = NULL;
    optind = 1;
    int o;
    /* Options may come before or after the resource path (getopt permutes). */
    while ((o = getopt_long(argc, argv, "h", OPTS, NULL)) != -1) {
        switch (o) {
        case 'u': url = optarg; break;
        case 'U': sock = optarg; break;
        case 'c': ca = optarg; break;
        case 'a': kind = optarg; break;
        case 'k': akey = optarg; break;
        case 's': state = optarg; break;
        case 'l': logf = optarg; break;
        case 'o': out = optarg; break;
        case 'h': return kbs_usage(stdout);
        default: return kbs_usage(stderr);
        }
    }
    if (optind == argc - 1) path = argv[optind];
    if (!path || !url) {
        fprintf(stderr, "sealbox kbs get: REPO/TYPE/TAG and --url are required\n");
        return SB_EXIT_USAGE;
    }
    if (strcmp(kind, "software") != 0) {
        fprintf(stderr, "sealbox kbs get: --attester takes software (configfs-tsm and TPM "
                        "attesters are used from sealbox-init)\n");
        return SB_EXIT_USAGE;
    }
    sb_error err = {0};
    char dir[4096], kp[4300];
    int r = 0;
    if (!akey) {
        r = state_dir(state, dir, sizeof(dir), &err);
        if (r == 0) r = sb_state_dir_prepare(dir, &err);
        (void)snprintf(kp, sizeof(kp), "%s/%s", dir, SB_SOFTWARE_KEY_FILE);
        akey = kp;
    }
    sb_attester *att = NULL;
    uint8_t *log = NULL, *v = NULL;
    size_t loglen = 0, n = 0;
    if (r == 0) r = sb_attester_open_software(akey, &att, &err);
    if (r == 0 && logf) r = sb_read_file(logf, SB_MLOG_MAX_JSON, &log, &loglen, &err);
    struct sb_kbs_client_opts co = {.url = url,
                                    .unix_socket = sock,
                                    .ca_file = ca,
                                    .tee = att ? sb_attester_tee(att) : NULL,
                                    .evidence = att_evidence,
                                    .evidence_arg = att,
                                    .log_json = (const char *)log,
                                    .log_len = loglen};
    if (r == 0) r = sb_kbs_client_get(&co, path, &v, &n, &err);
    if (r == 0 && out) r = sb_write_file_atomic(out, v, n, 0600, &err);
    if (r == 0 && !out && fwrite(v, 1, n, stdout) != n)
        r = sb_error_set(&err, SB_E_IO, "stdout: short write");
    if (v) sb_wipe(v, n);
    free(v);
    free(log);
    sb_attester_free(att);
    if (r < 0) {
        fprintf(stderr, "sealbox kbs get: %s\n", err.msg);
        return r == SB_E_USAGE ? SB_EXIT_USAGE : 1;
    }
    return 0;
}

int sb_cmd_kbs(int argc, char **argv) {
    if (argc < 2) return kbs_usage(stderr);
    const char *c = argv[1];
    if (!strcmp(c, "help") || !strcmp(c, "--help") || !strcmp(c, "-h")) return kbs_usage(stdout);
    if (!strcmp(c, "serve")) return cmd_serve(argc - 1, argv + 1);
    if (!strcmp(c, "admin-key")) return cmd_admin_key(argc - 1, argv + 1);
    if (!strcmp(c, "rotate-master-key")) return cmd_rotate(argc - 1, argv + 1);
    if (!strcmp(c, "get")) return cmd_get(argc - 1, argv + 1);
    fprintf(stderr, "sealbox kbs: unknown command '%s'\n", c);
    return kbs_usage(stderr);
}
