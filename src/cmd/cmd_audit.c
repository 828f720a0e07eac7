/* cmd_audit: `sealbox audit verify|tail|export` — checks the tamper-evident audit log of a state
 * directory against its signed checkpoints and exported head, shows its tail, exports JSONL. */
#include <errno.h>
#include <ftw.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "api/api.h"
#include "cmd.h"
#include "attester/attester.h"
#include "gateway/gateway.h"
#include "store/store.h"

#define TAIL_DEFAULT 20
#define FOLLOW_MS 500

static int audit_usage(FILE *o) {
    fprintf(o,
            "usage: sealbox audit COMMAND [--state-dir DIR]\n\n"
            "  verify [--head FILE | --no-head] [--pubkey FILE] [--from-jsonl FILE] [--json]\n"
            "         [--tpm TCTI [--nv-index IDX]]\n"
            "        walk the whole hash chain, check every signed checkpoint and the exported\n"
            "        head file; name the first bad seq and the kind of tampering (edited,\n"
            "        deleted, reordered, rewritten, truncated, forged, head-missing).\n"
            "        --pubkey defaults to DIR/audit.pub: pin a copy kept elsewhere instead, or\n"
            "        whoever can write DIR can replace the key along with the log.\n"
            "        --head defaults to DIR/audit.head. --from-jsonl checks an export instead\n"
            "        of the database (off the host: give --head and --pubkey copies).\n"
            "        --tpm: also compare the newest signed head with the TPM NV counter\n"
            "        sealboxd --audit-tpm advances (default index 0x01380001): a log put\n"
            "        back together with an older head file is found (rolled-back).\n"
            "  tail [-n N] [-f]\n"
            "        the last N records (default %d); -f keeps printing new ones\n"
            "  export --jsonl [--after SEQ]\n"
            "        every row as one JSON object per line: seq, ts, prev, hash and the record\n"
            "        exactly as hashed (canonical JSON)\n\n"
            "The state directory defaults to /var/lib/sealbox as root. Exit status: 0 intact or\n"
            "done, 1 tampering found, 2 usage, 3 the log could not be read.\n",
            TAIL_DEFAULT);
    return o == stdout ? 0 : SB_EXIT_USAGE;
}

struct opts {
    const char *state, *head, *pubkey, *import, *tcti;
    uint32_t nv_index;
    bool no_head, json, jsonl, follow, pub_default;
    int64_t n, after;
    char statebuf[4096], dbpath[4200], headbuf[4200], pubbuf[4200];
    sb_error err;
};

static int fail(struct opts *o) {
    fprintf(stderr, "sealbox audit: %s\n", o->err.msg);
    return 3;
}

/* Opens the daemon's database without creating one where there is none. */
static int open_db(struct opts *o, sb_store **st) {
    struct stat s;
    if (stat(o->dbpath, &s) < 0) {
        sb_error_set(&o->err, SB_E_NOTFOUND, "no database at %s (is --state-dir right?)",
                     o->dbpath);
        return -1;
    }
    return sb_store_open(o->dbpath, st, &o->err);
}

static void fmt_ms(int64_t ms, char out[40]) {
    char t[32];
    sb_time_format(ms / 1000, t);
    /* "YYYY-MM-DDTHH:MM:SSZ" -> "YYYY-MM-DDTHH:MM:SS.mmmZ" */
    size_t n = strlen(t);
    if (n > 0 && t[n - 1] == 'Z') t[n - 1] = '\0';
    (void)snprintf(out, 40, "%s.%03dZ", t, (int)(ms % 1000));
}

static int rm_one(const char *p, const struct stat *st, int flag, struct FTW *f) {
    (void)st;
    (void)flag;
    (void)f;
    return remove(p);
}

/* An export read back into a scratch database, so the one verifier checks it. */
static int open_import(struct opts *o, sb_store **st, char dir[4096]) {
    const char *tmp = getenv("TMPDIR");
    if (!tmp || !*tmp) tmp = "/tmp";
    int k = snprintf(dir, 4096, "%s/sealbox-audit-verify.XXXXXX", tmp);
    if (k < 0 || k >= 4096) {
        sb_error_set(&o->err, SB_E_USAGE, "TMPDIR is too long (%zu bytes)", strlen(tmp));
        dir[0] = '\0';
        return -1;
    }
    if (!mkdtemp(dir)) {
        sb_error_set(&o->err, SB_E_IO, "%s: %s", dir, strerror(errno));
        dir[0] = '\0';
        return -1;
    }
    uint8_t *buf = NULL;
    size_t n = 0;
    if (sb_read_file(o->import, SB_AUDIT_JSONL_MAX, &buf, &n, &o->err) < 0) return -1;
    char path[4200];
    (void)snprintf(path, sizeof(path), "%s/import.db", dir);
    uint64_t rows = 0;
    int r = sb_store_open(path, st, &o->err);
    if (r == 0) r = sb_audit_import_jsonl(*st, buf, n, &rows, &o->err);
    free(buf);
    if (r < 0) sb_error_prefix(&o->err, "%s", o->import);
    return r;
}

static int cmd_verify_log(struct opts *o) {
    sb_store *st = NULL;
    sb_pubkey *key = NULL;
    char scratch[4096] = "";
    sb_audit_report rep;
    memset(&rep, 0, sizeof(rep));
    int r = o->import ? open_import(o, &st, scratch) : open_db(o, &st);
    if (r == 0) r = sb_audit_pubkey_load(o->pubkey, &key, &o->err);
    bool verified = r == 0;
    if (verified) r = sb_audit_verify(st, key, o->no_head ? NULL : o->head, &rep, &o->err);
    if (verified && r == 0 && o->tcti) {
        uint64_t counter = 0;
        struct sb_tpm_config tc = {.tcti = o->tcti};
        sb_tpm *t = NULL;
        r = sb_tpm_open(&tc, &t, &o->err);
        if (r == 0)
            r = sb_tpm_counter_read(t, o->nv_index ? o->nv_index : SB_TPM_NV_COUNTER_DEFAULT, false,
                                    &counter, &o->err);
        sb_tpm_close(t);
        if (r == 0)
            r = sb_audit_verify_counter(&rep, counter, &o->err);
        else
            verified = false;
    }
    sb_pubkey_free(key);
    sb_store_close(st);
    if (scratch[0]) (void)nftw(scratch, rm_one, 8, FTW_DEPTH | FTW_PHYS);
    if (!verified || (r < 0 && r != SB_E_SIGNATURE)) return fail(o);
    char hex[2 * SB_AUDIT_HASH_LEN + 1];
    sb_hex_encode(rep.head_hash, SB_AUDIT_HASH_LEN, hex);
    if (o->json) {
        json_t *j = json_pack(
            "{s:b, s:s, s:I, s:s, s:I, s:I, s:s, s:I, s:I, s:I, s:b, s:I}", "intact", r == 0,
            "finding", sb_audit_finding_name(rep.finding), "first_bad_seq",
            (json_int_t)rep.first_bad_seq, "detail", rep.detail, "records", (json_int_t)rep.records,
            "head_seq", (json_int_t)rep.head_seq, "head_hash", hex, "checkpoints",
            (json_int_t)rep.checkpoints, "signed_seq", (json_int_t)rep.signed_seq, "unsigned_tail",
            (json_int_t)rep.unsigned_tail, "head_file_checked", rep.head_file_checked,
            "head_file_seq", (json_int_t)rep.head_file_seq);
        if (j && rep.counter_checked)
            (void)json_object_set_new(j, "tpm_counter", json_integer((json_int_t)rep.counter));
        if (j && rep.signed_counter)
            (void)json_object_set_new(j, "signed_counter",
                                      json_integer((json_int_t)rep.signed_counter));
        char *s = j ? json_dumps(j, JSON_COMPACT) : NULL;
        json_decref(j);
        if (s) printf("%s\n", s);
        free(s);
    } else if (r == 0) {
        printf("audit: intact: %llu records, head seq %llu (%.16s…)\n",
               (unsigned long long)rep.records, (unsigned long long)rep.head_seq, hex);
        printf("  %llu signed checkpoints verified; signatures cover seq 1-%llu\n",
               (unsigned long long)rep.checkpoints, (unsigned long long)rep.signed_seq);
        if (rep.head_file_checked)
            printf("  head file %s: signed head at seq %llu matches the chain\n", o->head,
                   (unsigned long long)rep.head_file_seq);
        else
            printf("  head file not checked (--no-head): a rewrite of the whole log that also "
                   "removed the checkpoints would not be seen\n");
        if (rep.counter_checked)
            printf("  TPM NV counter at %llu; the newest signed head carries %llu: not rolled "
                   "back\n",
                   (unsigned long long)rep.counter, (unsigned long long)rep.signed_counter);
        if (rep.unsigned_tail)
            printf("  %llu records after the last signed head are hash-chained but not yet "
                   "signed\n",
                   (unsigned long long)rep.unsigned_tail);
    } else {
        printf("audit: TAMPERED: %s at seq %llu\n  %s\n", sb_audit_finding_name(rep.finding),
               (unsigned long long)rep.first_bad_seq, rep.detail);
        printf("  %llu records chained correctly before it\n", (unsigned long long)rep.records);
    }
    if (!o->json && o->pub_default)
        printf("  key: %s, read from the state directory; pin a copy kept elsewhere with "
               "--pubkey\n",
               o->pubkey);
    return r == 0 ? 0 : 1;
}

static void print_row(const sb_audit_row *r) {
    char t[40];
    fmt_ms(r->ts, t);
    printf("%lld  %s  %s\n", (long long)r->seq, t, r->record ? r->record : "(damaged row)");
}

static volatile sig_atomic_t stop;
static void on_signal(int sig) {
    (void)sig;
    stop = 1;
}

static int cmd_tail(struct opts *o) {
    sb_store *st = NULL;
    if (open_db(o, &st) < 0) return fail(o);
    sb_audit_row last;
    bool found = false;
    int rc = 0;
    if (sb_store_audit_last(st, &last, &found, &o->err) < 0) rc = fail(o);
    int64_t after = found && last.seq > o->n ? last.seq - o->n : 0;
    if (o->follow) {
        (void)signal(SIGINT, on_signal);
        (void)signal(SIGTERM, on_signal);
    }
    while (rc == 0 && !stop) {
        sb_audit_row *v = NULL;
        size_t n = 0;
        if (sb_store_audit_list(st, after, SB_STORE_LIST_MAX, &v, &n, &o->err) < 0) {
            rc = fail(o);
            break;
        }
        for (size_t i = 0; i < n; i++) {
            print_row(&v[i]);
            after = v[i].seq;
        }
        sb_audit_rows_free(v, n);
        (void)fflush(stdout);
        if (n == SB_STORE_LIST_MAX) continue;
        if (!o->follow) break;
        struct timespec ts = {0, FOLLOW_MS * 1000000L};
        (void)nanosleep(&ts, NULL);
    }
    sb_store_close(st);
    return rc;
}

static int cmd_export(struct opts *o) {
    if (!o->jsonl) {
        fprintf(stderr, "sealbox audit export: say --jsonl (the only format)\n");
        return SB_EXIT_USAGE;
    }
    sb_store *st = NULL;
    if (open_db(o, &st) < 0) return fail(o);
    int64_t after = o->after;
    int rc = 0;
    for (;;) {
        sb_audit_row *v = NULL;
        size_t n = 0;
        if (sb_store_audit_list(st, after, SB_STORE_LIST_MAX, &v, &n, &o->err) < 0) {
            rc = fail(o);
            break;
        }
        for (size_t i = 0; rc == 0 && i < n; i++) {
            after = v[i].seq;
            char *line = sb_audit_line_format(&v[i]);
            if (!line) {
                sb_error_set(&o->err, SB_E_INTERNAL, "seq %lld: cannot format", (long long)after);
                rc = fail(o);
                break;
            }
            (void)fputs(line, stdout);
            free(line);
        }
        sb_audit_rows_free(v, n);
        if (rc != 0 || n < SB_STORE_LIST_MAX) break;
    }
    sb_store_close(st);
    return rc;
}

int sb_cmd_audit(int argc, char **argv) {
    struct opts o;
    memset(&o, 0, sizeof(o));
    o.n = TAIL_DEFAULT;
    const char *verb = NULL;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        bool has = i + 1 < argc;
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) return audit_usage(stdout);
        if (strcmp(a, "--state-dir") == 0 && has)
            o.state = argv[++i];
        else if (strcmp(a, "--head") == 0 && has)
            o.head = argv[++i];
        else if (strcmp(a, "--no-head") == 0)
            o.no_head = true;
        else if (strcmp(a, "--pubkey") == 0 && has)
            o.pubkey = argv[++i];
        else if (strcmp(a, "--from-jsonl") == 0 && has)
            o.import = argv[++i];
        else if (strcmp(a, "--json") == 0)
            o.json = true;
        else if (strcmp(a, "--tpm") == 0 && has)
            o.tcti = argv[++i];
        else if (strcmp(a, "--nv-index") == 0 && has) {
            if (sb_tpm_nv_index_parse(argv[++i], &o.nv_index, &o.err) < 0) {
                fprintf(stderr, "sealbox audit: --nv-index: %s\n", o.err.msg);
                return SB_EXIT_USAGE;
            }
        } else if (strcmp(a, "--jsonl") == 0)
            o.jsonl = true;
        else if (strcmp(a, "-f") == 0 || strcmp(a, "--follow") == 0)
            o.follow = true;
        else if ((strcmp(a, "-n") == 0 || strcmp(a, "--after") == 0) && has) {
            sb_error e = {0};
            int64_t *dst = a[1] == 'n' ? &o.n : &o.after;
            if (sb_parse_i64(argv[++i], 0, INT64_MAX / 2, dst, &e, a) < 0) {
                fprintf(stderr, "sealbox audit: %s takes a non-negative number\n", a);
                return SB_EXIT_USAGE;
            }
        } else if (!verb && a[0] != '-')
            verb = a;
        else
            return audit_usage(stderr);
    }
    if (!verb) return audit_usage(stderr);
    if (o.nv_index && !o.tcti) {
        fprintf(stderr, "sealbox audit: --nv-index needs --tpm\n");
        return SB_EXIT_USAGE;
    }
    if (!o.state) {
        if (sb_default_state_dir(o.statebuf, sizeof(o.statebuf), &o.err) < 0) return fail(&o);
        o.state = o.statebuf;
    }
    (void)snprintf(o.dbpath, sizeof(o.dbpath), "%s/%s", o.state, SB_DB_FILE);
    if (!o.head) {
        (void)snprintf(o.headbuf, sizeof(o.headbuf), "%s/%s", o.state, SB_AUDIT_HEAD_FILE);
        o.head = o.headbuf;
    }
    if (!o.pubkey) {
        (void)snprintf(o.pubbuf, sizeof(o.pubbuf), "%s/%s", o.state, SB_AUDIT_PUB_FILE);
        o.pubkey = o.pubbuf;
        o.pub_default = true;
    }
    if (strcmp(verb, "verify") == 0) return cmd_verify_log(&o);
    if (strcmp(verb, "tail") == 0) return cmd_tail(&o);
    if (strcmp(verb, "export") == 0) return cmd_export(&o);
    fprintf(stderr, "sealbox audit: no command '%s'\n", verb);
    return audit_usage(stderr);
}
