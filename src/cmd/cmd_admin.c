/* cmd_admin: `sealbox admin tenant|key ...` — tenants and API keys, managed directly in the state
 * directory (the operator's tool: it needs read access to the database and the HMAC secret, and
 * works whether or not sealboxd runs; the daemon reads keys on every request, so changes apply
 * at once). */
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "api/api.h"
#include "cmd.h"
#include "crypto/crypto.h"
#include "gateway/gateway.h"
#include "store/store.h"

static int admin_usage(FILE *o) {
    fprintf(o,
            "usage: sealbox admin [--state-dir DIR] [--json] COMMAND\n\n"
            "  tenant create NAME [--max-sandboxes N] [--max-memory-mb N]\n"
            "  tenant ls\n"
            "  tenant rm NAME            (refused while it has live sandboxes)\n"
            "  key create TENANT [--label TEXT] [--expires TIME]\n"
            "                            prints the key once; TIME is RFC 3339, Unix seconds or\n"
            "                            +N[smhd] from now\n"
            "  key revoke KEY-ID\n"
            "  key ls [TENANT]\n\n"
            "Works on the state directory directly (default /var/lib/sealbox as root), with or\n"
            "without sealboxd running. Exit status: 0 done, 1 refused or failed, 2 usage.\n");
    return o == stdout ? 0 : SB_EXIT_USAGE;
}

struct admin {
    const char *state;
    bool json;
    sb_store *store;
    sb_error err;
};

static int fail(struct admin *a) {
    fprintf(stderr, "sealbox admin: %s\n", a->err.msg);
    return 1;
}

static int open_store(struct admin *a) {
    char path[4200];
    if (sb_state_dir_prepare(a->state, &a->err) < 0) return -1;
    (void)snprintf(path, sizeof(path), "%s/%s", a->state, SB_DB_FILE);
    return sb_store_open(path, &a->store, &a->err);
}

/* Records an administrative change in the audit log (sealboxd signs it at its next checkpoint).
 * The change is made already: a failure here is a warning, not the command's failure. */
static void admin_audit(struct admin *a, json_t *rec) {
    sb_error e = {0};
    char head[4200];
    (void)snprintf(head, sizeof(head), "%s/%s", a->state, SB_AUDIT_HEAD_FILE);
    sb_audit_cfg cfg = {.head_file = head};
    sb_audit *au = NULL;
    if (rec) (void)json_object_set_new(rec, "uid", json_integer((json_int_t)getuid()));
    int r = rec ? sb_audit_open(a->store, &cfg, &au, &e)
                : sb_error_set(&e, SB_E_INTERNAL, "out of memory");
    if (r == 0) r = sb_audit_append(au, rec, NULL, &e);
    sb_audit_close(au);
    json_decref(rec);
    if (r < 0)
        fprintf(stderr, "sealbox admin: warning: not recorded in the audit log: %s\n", e.msg);
}

static int parse_i64_opt(const char *v, const char *name, int64_t *out) {
    sb_error e = {0};
    if (!v || sb_parse_i64(v, 0, INT32_MAX, out, &e, name) < 0) {
        fprintf(stderr, "sealbox admin: %s takes a number from 0 to %d\n", name, INT32_MAX);
        return -1;
    }
    return 0;
}

/* RFC 3339, Unix seconds, or +N followed by s, m, h or d. */
static int parse_expiry(const char *s, int64_t *out, sb_error *err) {
    if (s[0] != '+') {
        TRY(sb_time_parse(s, out, err));
    } else {
        size_t n = strlen(s);
        ENSURE(n >= 3 && n < 16, err, SB_E_USAGE, "--expires +N[smhd]");
        int64_t mult = s[n - 1] == 's'   ? 1
                       : s[n - 1] == 'm' ? 60
                       : s[n - 1] == 'h' ? 3600
                       : s[n - 1] == 'd' ? 86400
                                         : 0;
        ENSURE(mult, err, SB_E_USAGE, "--expires +N takes a unit: s, m, h or d");
        char num[16];
        memcpy(num, s + 1, n - 2);
        num[n - 2] = '\0';
        int64_t v;
        TRY(sb_parse_i64(num, 1, 36500LL * 86400, &v, err, "--expires"));
        *out = sb_time_now() + v * mult;
    }
    ENSURE(*out > sb_time_now(), err, SB_E_USAGE, "--expires is in the past");
    return 0;
}

static void print_time(int64_t t, char *buf) {
    if (t)
        sb_time_format(t, buf);
    else
        (void)snprintf(buf, 32, "never");
}

static int tenant_cmd(struct admin *a, int argc, char **argv) {
    if (argc < 1) return admin_usage(stderr);
    if (strcmp(argv[0], "create") == 0) {
        if (argc < 2) return admin_usage(stderr);
        int64_t maxs = 0, maxm = 0;
        for (int i = 2; i < argc; i++) {
            if (strcmp(argv[i], "--max-sandboxes") == 0 && i + 1 < argc) {
                if (parse_i64_opt(argv[++i], "--max-sandboxes", &maxs) < 0) return SB_EXIT_USAGE;
            } else if (strcmp(argv[i], "--max-memory-mb") == 0 && i + 1 < argc) {
                if (parse_i64_opt(argv[++i], "--max-memory-mb", &maxm) < 0) return SB_EXIT_USAGE;
            } else {
                return admin_usage(stderr);
            }
        }
        if (open_store(a) < 0) return fail(a);
        sb_tenant t;
        if (sb_store_tenant_create(a->store, argv[1], maxs, maxm, &t, &a->err) < 0) return fail(a);
        admin_audit(a, json_pack("{s:s, s:s, s:s, s:I, s:I}", "kind", "admin", "action",
                                 "tenant.create", "tenant", t.name, "max_sandboxes",
                                 (json_int_t)t.max_sandboxes, "max_memory_mb",
                                 (json_int_t)t.max_memory_mb));
        if (a->json) {
            json_t *j = json_pack("{s:s, s:I, s:I}", "name", t.name, "max_sandboxes",
                                  (json_int_t)t.max_sandboxes, "max_memory_mb",
                                  (json_int_t)t.max_memory_mb);
            (void)json_dumpf(j, stdout, JSON_COMPACT);
            putchar('\n');
            json_decref(j);
        } else {
            printf("tenant %s created\n", t.name);
        }
        return 0;
    }
    if (strcmp(argv[0], "ls") == 0) {
        if (argc != 1) return admin_usage(stderr);
        if (open_store(a) < 0) return fail(a);
        sb_tenant *v = NULL;
        size_t n = 0;
        if (sb_store_tenant_list(a->store, &v, &n, &a->err) < 0) return fail(a);
        json_t *arr = a->json ? json_array() : NULL;
        if (!a->json)
            printf("%-24s %-13s %-13s %-9s %s\n", "NAME", "MAX-SANDBOXES", "MAX-MEMORY-MB", "LIVE",
                   "CREATED");
        for (size_t i = 0; i < n; i++) {
            int64_t count = 0, mem = 0;
            if (sb_store_sandbox_usage(a->store, v[i].id, &count, &mem, &a->err) < 0) {
                free(v);
                json_decref(arr);
                return fail(a);
            }
            char created[32];
            sb_time_format(v[i].created, created);
            if (a->json) {
                (void)json_array_append_new(
                    arr,
                    json_pack("{s:s, s:I, s:I, s:I, s:I, s:s}", "name", v[i].name, "max_sandboxes",
                              (json_int_t)v[i].max_sandboxes, "max_memory_mb",
                              (json_int_t)v[i].max_memory_mb, "live_sandboxes", (json_int_t)count,
                              "memory_mb", (json_int_t)mem, "created_at", created));
            } else {
                char ms[24], mm[24];
                (void)snprintf(ms, sizeof(ms), "%lld", (long long)v[i].max_sandboxes);
                (void)snprintf(mm, sizeof(mm), "%lld", (long long)v[i].max_memory_mb);
                printf("%-24s %-13s %-13s %-9lld %s\n", v[i].name, v[i].max_sandboxes ? ms : "-",
                       v[i].max_memory_mb ? mm : "-", (long long)count, created);
            }
        }
        free(v);
        if (a->json) {
            (void)json_dumpf(arr, stdout, JSON_COMPACT);
            putchar('\n');
            json_decref(arr);
        }
        return 0;
    }
    if (strcmp(argv[0], "rm") == 0) {
        if (argc != 2) return admin_usage(stderr);
        if (open_store(a) < 0) return fail(a);
        if (sb_store_tenant_delete(a->store, argv[1], &a->err) < 0) return fail(a);
        admin_audit(a, json_pack("{s:s, s:s, s:s}", "kind", "admin", "action", "tenant.delete",
                                 "tenant", argv[1]));
        if (!a->json) printf("tenant %s removed (and its keys)\n", argv[1]);
        return 0;
    }
    return admin_usage(stderr);
}

static int key_create(struct admin *a, int argc, char **argv) {
    if (argc < 2) return admin_usage(stderr);
    const char *label = "";
    int64_t expires = 0;
    for (int i = 2; i < argc; i++) {
        if (strcmp(argv[i], "--label") == 0 && i + 1 < argc) {
            label = argv[++i];
        } else if (strcmp(argv[i], "--expires") == 0 && i + 1 < argc) {
            if (parse_expiry(argv[++i], &expires, &a->err) < 0) {
                fprintf(stderr, "sealbox admin: %s\n", a->err.msg);
                return SB_EXIT_USAGE;
            }
        } else {
            return admin_usage(stderr);
        }
    }
    if (open_store(a) < 0) return fail(a);
    sb_tenant t;
    if (sb_store_tenant_get(a->store, argv[1], &t, &a->err) < 0) return fail(a);
    uint8_t *secret = NULL;
    if (sb_apikey_secret_load(a->state, &secret, &a->err) < 0) return fail(a);
    char key[SB_APIKEY_LEN + 1];
    sb_apikey k;
    memset(&k, 0, sizeof(k));
    int r = sb_apikey_generate(key, k.id, &a->err);
    if (r == 0) r = sb_apikey_hash(secret, key, SB_APIKEY_LEN, k.hash, &a->err);
    sb_secret_free(secret, SB_APIKEY_SECRET_LEN);
    k.tenant_id = t.id;
    k.expires = expires;
    if (strlen(label) > SB_KEY_LABEL_MAX) {
        fprintf(stderr, "sealbox admin: --label is at most %d characters\n", SB_KEY_LABEL_MAX);
        sb_wipe(key, sizeof(key));
        return SB_EXIT_USAGE;
    }
    (void)snprintf(k.label, sizeof(k.label), "%s", label);
    if (r == 0) r = sb_store_key_insert(a->store, &k, &a->err);
    if (r < 0) {
        sb_wipe(key, sizeof(key));
        return fail(a);
    }
    char exp[32];
    print_time(expires, exp);
    admin_audit(a, json_pack("{s:s, s:s, s:s, s:s, s:s, s:I}", "kind", "admin", "action",
                             "key.create", "key_id", k.id, "tenant", t.name, "label", k.label,
                             "expires", (json_int_t)expires));
    if (a->json) {
        json_t *j = json_pack("{s:s, s:s, s:s, s:s}", "id", k.id, "key", key, "tenant", t.name,
                              "expires", exp);
        (void)json_dumpf(j, stdout, JSON_COMPACT);
        putchar('\n');
        json_decref(j);
    } else {
        printf("%s\n", key);
        fprintf(stderr,
                "key %s for tenant %s (expires: %s). This is the only time the key is shown:\n"
                "store it now. Use it as 'Authorization: Bearer <key>'.\n",
                k.id, t.name, exp);
    }
    sb_wipe(key, sizeof(key));
    return 0;
}

static int key_cmd(struct admin *a, int argc, char **argv) {
    if (argc < 1) return admin_usage(stderr);
    if (strcmp(argv[0], "create") == 0) return key_create(a, argc, argv);
    if (strcmp(argv[0], "revoke") == 0) {
        if (argc != 2) return admin_usage(stderr);
        if (open_store(a) < 0) return fail(a);
        if (sb_store_key_revoke(a->store, argv[1], &a->err) < 0) return fail(a);
        admin_audit(a, json_pack("{s:s, s:s, s:s}", "kind", "admin", "action", "key.revoke",
                                 "key_id", argv[1]));
        if (!a->json) printf("key %s revoked\n", argv[1]);
        return 0;
    }
    if (strcmp(argv[0], "ls") == 0) {
        if (argc > 2) return admin_usage(stderr);
        if (open_store(a) < 0) return fail(a);
        int64_t tid = 0;
        sb_tenant t;
        if (argc == 2) {
            if (sb_store_tenant_get(a->store, argv[1], &t, &a->err) < 0) return fail(a);
            tid = t.id;
        }
        sb_apikey *v = NULL;
        size_t n = 0;
        if (sb_store_key_list(a->store, tid, &v, &n, &a->err) < 0) return fail(a);
        json_t *arr = a->json ? json_array() : NULL;
        if (!a->json)
            printf("%-18s %-20s %-8s %-21s %s\n", "ID", "TENANT", "STATE", "EXPIRES", "LABEL");
        for (size_t i = 0; i < n; i++) {
            const char *tname = "?";
            if (sb_store_tenant_get_by_id(a->store, v[i].tenant_id, &t, &a->err) == 0)
                tname = t.name;
            char exp[32];
            print_time(v[i].expires, exp);
            const char *state = v[i].revoked                                    ? "revoked"
                                : v[i].expires && v[i].expires <= sb_time_now() ? "expired"
                                                                                : "active";
            if (a->json)
                (void)json_array_append_new(arr, json_pack("{s:s, s:s, s:s, s:s, s:s}", "id",
                                                           v[i].id, "tenant", tname, "state", state,
                                                           "expires", exp, "label", v[i].label));
            else
                printf("%-18s %-20s %-8s %-21s %s\n", v[i].id, tname, state, exp, v[i].label);
        }
        free(v);
        if (a->json) {
            (void)json_dumpf(arr, stdout, JSON_COMPACT);
            putchar('\n');
            json_decref(arr);
        }
        return 0;
    }
    return admin_usage(stderr);
}

int sb_cmd_admin(int argc, char **argv) {
    struct admin a = {0};
    char statebuf[4096];
    /* Global options may come anywhere; the rest is NOUN VERB ARGS. */
    char *rest[64];
    int nrest = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--state-dir") == 0 && i + 1 < argc)
            a.state = argv[++i];
        else if (strcmp(argv[i], "--json") == 0)
            a.json = true;
        else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)
            return admin_usage(stdout);
        else if (nrest < (int)SB_ARRAY_LEN(rest))
            rest[nrest++] = argv[i];
        else
            return admin_usage(stderr);
    }
    if (nrest < 1) return admin_usage(stderr);
    if (!a.state) {
        if (sb_default_state_dir(statebuf, sizeof(statebuf), &a.err) < 0) return fail(&a);
        a.state = statebuf;
    }
    int rc;
    if (strcmp(rest[0], "tenant") == 0)
        rc = tenant_cmd(&a, nrest - 1, rest + 1);
    else if (strcmp(rest[0], "key") == 0)
        rc = key_cmd(&a, nrest - 1, rest + 1);
    else
        rc = admin_usage(stderr);
    sb_store_close(a.store);
    return rc;
}
