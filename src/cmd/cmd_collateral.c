/* cmd_collateral: `sealbox collateral import|ls|prune` — the offline collateral cache under the
 * state directory, keyed by what identifies each item, with validity windows. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cmd.h"
#include "verify/verify.h"

static void collateral_usage(FILE *f) {
    fprintf(f, "usage: sealbox collateral [--state-dir DIR] import FILE...\n"
               "       sealbox collateral [--state-dir DIR] ls [--at TIME]\n"
               "       sealbox collateral [--state-dir DIR] prune [--at TIME]\n"
               "       sealbox collateral [--state-dir DIR] path\n\n"
               "Keeps offline collateral (AMD VCEK/VLEK, Intel PCK and other certificates, CRLs,\n"
               "Intel TCB info and QE identity JSON) in DIR/collateral, one file per item keyed\n"
               "by what identifies it. 'sealbox verify --collateral DIR/collateral' uses it.\n"
               "The state directory is --state-dir, else $SEALBOX_STATE_DIR, else\n"
               "/var/lib/sealbox. 'ls' marks items outside their validity window at TIME\n"
               "(default now); 'prune' deletes those already expired.\n");
}

static void fmt_time(int64_t t, char out[32]) {
    if (!t)
        (void)snprintf(out, 32, "?");
    else
        sb_time_format(t, out);
}

int sb_cmd_collateral(int argc, char **argv) {
    static const struct option opts[] = {
        {"state-dir", required_argument, NULL, 's'},
        {"at", required_argument, NULL, 't'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *state = getenv("SEALBOX_STATE_DIR");
    if (!state || !*state) state = "/var/lib/sealbox";
    const char *at_s = NULL;
    optind = 1;
    opterr = 0;
    int ch;
    /* Options may come before or after the subcommand. */
    while ((ch = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (ch) {
        case 's': state = optarg; break;
        case 't': at_s = optarg; break;
        case 'h': collateral_usage(stdout); return 0;
        case '?':
        default:
            fprintf(stderr, "sealbox collateral: unknown option or missing value '%s'\n",
                    argv[optind - 1]);
            collateral_usage(stderr);
            return SB_EXIT_USAGE;
        }
    }
    if (optind >= argc) {
        fprintf(stderr, "sealbox collateral: no subcommand (import, ls, prune, path)\n");
        collateral_usage(stderr);
        return SB_EXIT_USAGE;
    }
    const char *sub = argv[optind++];
    sb_error err = {0};
    int64_t at = sb_time_now();
    if (at_s && sb_time_parse(at_s, &at, &err) < 0) {
        fprintf(stderr, "sealbox collateral: --at %s: %s\n", at_s, err.msg);
        return SB_EXIT_USAGE;
    }
    char dir[4096];
    int k = snprintf(dir, sizeof(dir), "%s/collateral", state);
    if (k < 0 || (size_t)k >= sizeof(dir)) {
        fprintf(stderr, "sealbox collateral: --state-dir too long\n");
        return SB_EXIT_USAGE;
    }
    if (strcmp(sub, "path") == 0) {
        printf("%s\n", dir);
        return 0;
    }
    if (strcmp(sub, "import") == 0) {
        if (optind >= argc) {
            fprintf(stderr, "sealbox collateral import: no FILE given\n");
            return SB_EXIT_USAGE;
        }
        int rc = 0;
        for (int i = optind; i < argc; i++) {
            struct sb_collateral_item it;
            if (sb_collateral_import(dir, argv[i], &it, &err) < 0) {
                fprintf(stderr, "sealbox collateral import: %s\n", err.msg);
                rc = SB_EXIT_USAGE;
                continue;
            }
            char nb[32], na[32];
            fmt_time(it.not_before, nb);
            fmt_time(it.not_after, na);
            printf("imported %s as %s (%s, valid %s .. %s)\n", argv[i], it.file, it.kind, nb, na);
        }
        return rc;
    }
    if (optind < argc) {
        fprintf(stderr, "sealbox collateral %s: unexpected argument '%s'\n", sub, argv[optind]);
        return SB_EXIT_USAGE;
    }
    if (strcmp(sub, "ls") == 0) {
        struct sb_collateral_item *v = NULL;
        size_t n = 0;
        if (sb_collateral_list(dir, &v, &n, &err) < 0) {
            fprintf(stderr, "sealbox collateral ls: %s\n", err.msg);
            return SB_EXIT_USAGE;
        }
        for (size_t i = 0; i < n; i++) {
            char nb[32], na[32];
            fmt_time(v[i].not_before, nb);
            fmt_time(v[i].not_after, na);
            const char *state_s = !strcmp(v[i].kind, "unknown")             ? "UNKNOWN"
                                  : v[i].not_after && at > v[i].not_after   ? "EXPIRED"
                                  : v[i].not_before && at < v[i].not_before ? "NOT-YET-VALID"
                                                                            : "valid";
            printf("%-13s %-11s %s .. %s  %s\n              %s\n", state_s, v[i].kind, nb, na,
                   v[i].file, v[i].desc);
        }
        printf("%zu items in %s\n", n, dir);
        free(v);
        return 0;
    }
    if (strcmp(sub, "prune") == 0) {
        size_t removed = 0;
        if (sb_collateral_prune(dir, at, &removed, &err) < 0) {
            fprintf(stderr, "sealbox collateral prune: %s\n", err.msg);
            return SB_EXIT_USAGE;
        }
        char ts[32];
        sb_time_format(at, ts);
        printf("pruned %zu expired items (at %s) from %s\n", removed, ts, dir);
        return 0;
    }
    fprintf(stderr, "sealbox collateral: unknown subcommand '%s' (import, ls, prune, path)\n", sub);
    return SB_EXIT_USAGE;
}
