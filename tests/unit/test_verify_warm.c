/* test_verify_warm: a long-lived verification context (sb_verify_with) never changes a result.
 * Every row of the expectations tables (one per sample of the evidence corpus, reviewed against
 * its MANIFEST row) is verified and appraised cold and then twice through one shared context,
 * all rows interleaved; claims, appraisal and errors must be byte-identical. For TDX/SGX
 * (collateral stores kept warm): changed collateral, a changed or removed CRL in a --collateral
 * directory (same size, rewritten at once) and verification times outside a validity window
 * are never served from the cache. */
#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include "harness.h"
#include "policy/policy.h"
#include "verify/verify.h"

#define MAX_ROWS 400
#define MAX_TOK 16

static void vctx_freep(sb_verify_ctx **c) { sb_verify_ctx_free(*c); }

/* ---- the expectations rows as verification inputs ---------------------------------------- */

struct row {
    char id[80];
    char *ev[MAX_TOK], *certs[MAX_TOK];
    size_t n_ev, n_certs;
    char *collateral, *policy, *platform;
    uint8_t *nonce;
    size_t nonce_len;
    int64_t at;
    struct sb_blob *ev_b, *cert_b;
    sb_policy *pol;
    /* the cold result */
    int rc;
    char *err, *claims, *appraisal;
};

static char *join(const char *a, const char *b) {
    size_t n = strlen(a) + strlen(b) + 2;
    char *p = malloc(n);
    if (p) snprintf(p, n, "%s/%s", a, b);
    return p;
}

static char *flag_path(const char *evdir, const char *src, const char *v) {
    if (v[0] == '@') {
        char rel[512];
        snprintf(rel, sizeof(rel), "tests/policies/%s.json", v + 1);
        return join(src, rel);
    }
    if (v[0] == '/') return strdup(v);
    return join(evdir, v);
}

static void row_free(struct row *r) {
    sb_blobs_free(r->ev_b, r->n_ev);
    sb_blobs_free(r->cert_b, r->n_certs);
    for (size_t i = 0; i < r->n_ev; i++)
        free(r->ev[i]);
    for (size_t i = 0; i < r->n_certs; i++)
        free(r->certs[i]);
    free(r->collateral);
    free(r->policy);
    free(r->platform);
    free(r->nonce);
    sb_policy_free(r->pol);
    free(r->err);
    free(r->claims);
    free(r->appraisal);
    memset(r, 0, sizeof(*r));
}

/* One TAB-separated row: id, evidence, flags, at, exit, expect. False for rows this test cannot
 * replay (an input that does not load, a flag that is not a verification input). */
static bool row_parse(char *line, const char *evdir, const char *src, int64_t now, struct row *r) {
    char *col[6];
    size_t nc = 0;
    for (char *p = line; nc < 6;) {
        col[nc++] = p;
        char *t = strchr(p, '\t');
        if (!t) break;
        *t = 0;
        p = t + 1;
    }
    if (nc != 6) return false;
    memset(r, 0, sizeof(*r));
    snprintf(r->id, sizeof(r->id), "%.79s", col[0]);
    char *save = NULL;
    for (char *t = strtok_r(col[1], " ", &save); t && r->n_ev < MAX_TOK;
         t = strtok_r(NULL, " ", &save))
        r->ev[r->n_ev++] = join(evdir, t);
    char *fl[2 * MAX_TOK];
    size_t nf = 0;
    if (strcmp(col[2], "-") != 0)
        for (char *t = strtok_r(col[2], " ", &save); t && nf < SB_ARRAY_LEN(fl);
             t = strtok_r(NULL, " ", &save))
            fl[nf++] = t;
    sb_error err = {0};
    for (size_t i = 0; i < nf; i++) {
        if (!strcmp(fl[i], "--json")) continue;
        if (i + 1 >= nf) return false;
        const char *v = fl[++i];
        if (!strcmp(fl[i - 1], "--certs") && r->n_certs < MAX_TOK)
            r->certs[r->n_certs++] = flag_path(evdir, src, v);
        else if (!strcmp(fl[i - 1], "--collateral") && !r->collateral)
            r->collateral = flag_path(evdir, src, v);
        else if (!strcmp(fl[i - 1], "--policy") && !r->policy)
            r->policy = flag_path(evdir, src, v);
        else if (!strcmp(fl[i - 1], "--platform") && !r->platform)
            r->platform = strdup(v);
        else if (!strcmp(fl[i - 1], "--nonce") && !r->nonce) {
            if (sb_hex_decode(v, strlen(v), &r->nonce, &r->nonce_len, &err) < 0) return false;
        } else
            return false;
    }
    if (!strcmp(col[3], "-"))
        r->at = now;
    else if (sb_time_parse(col[3], &r->at, &err) < 0)
        return false;
    if (r->n_ev == 0 || sb_blobs_load(r->ev, r->n_ev, &r->ev_b, &err) < 0) {
        r->ev_b = NULL;
        return false;
    }
    if (sb_blobs_load(r->certs, r->n_certs, &r->cert_b, &err) < 0) {
        r->cert_b = NULL;
        return false;
    }
    if (r->policy ? sb_policy_load(r->policy, &r->pol, &err) < 0
                  : sb_policy_default(&r->pol, &err) < 0) {
        r->pol = NULL;
        return false;
    }
    return true;
}

/* Verifies and appraises one row with c (NULL: cold); the result as text. */
static int row_run(sb_verify_ctx *c, const struct row *r, char **errmsg, char **claims_s,
                   char **appraisal_s) {
    struct sb_verify_opts o = {.at = r->at,
                               .certs = r->cert_b,
                               .n_certs = r->n_certs,
                               .collateral_dir = r->collateral,
                               .nonce = r->nonce,
                               .nonce_len = r->nonce_len};
    sb_error err = {0};
    json_t *claims = NULL;
    *errmsg = *claims_s = *appraisal_s = NULL;
    int rc = sb_verify_with(c, &o, r->platform, r->ev_b, r->n_ev, NULL, &claims, &err);
    if (rc < 0) {
        *errmsg = strdup(err.msg);
        return rc;
    }
    *claims_s = json_dumps(claims, JSON_COMPACT);
    struct sb_appraisal a = {0};
    struct sb_appraise_ctx ac = {.at = r->at, .nonce = r->nonce, .nonce_len = r->nonce_len};
    rc = sb_policy_appraise(r->pol, claims, &ac, &a, &err);
    if (rc == 0) {
        json_t *j = sb_appraisal_json(&a);
        *appraisal_s = json_dumps(j, JSON_COMPACT);
        json_decref(j);
    } else {
        *errmsg = strdup(err.msg);
    }
    sb_appraisal_clear(&a);
    json_decref(claims);
    return rc;
}

static void check_same(const struct row *r, int pass, int rc, char *e, char *cl, char *ap) {
    CHECK_MSG(rc == r->rc, "%s (warm pass %d): rc %d, cold %d", r->id, pass, rc, r->rc);
    CHECK_MSG((!e && !r->err) || (e && r->err && !strcmp(e, r->err)),
              "%s (warm pass %d): error \"%s\", cold \"%s\"", r->id, pass, e ? e : "(none)",
              r->err ? r->err : "(none)");
    if (cl && r->claims && strcmp(cl, r->claims) != 0) {
        size_t k = 0;
        while (cl[k] && cl[k] == r->claims[k])
            k++;
        size_t from = k > 60 ? k - 60 : 0;
        sb_test_fail(__FILE__, __LINE__,
                     "%s (warm pass %d): claims differ from the cold ones at byte %zu: warm "
                     "\"%.160s\", cold \"%.160s\"",
                     r->id, pass, k, cl + from, r->claims + from);
    }
    CHECK_MSG(!cl == !r->claims, "%s (warm pass %d): claims only %s", r->id, pass,
              cl ? "warm" : "cold");
    CHECK_MSG((!ap && !r->appraisal) || (ap && r->appraisal && !strcmp(ap, r->appraisal)),
              "%s (warm pass %d): appraisal differs from the cold one", r->id, pass);
    free(e);
    free(cl);
    free(ap);
}

TEST(verify_warm_corpus_equals_cold) {
    const char *evdir = sb_test_evidence_dir();
    const char *src = getenv("SEALBOX_SOURCE_DIR");
    if (!evdir || !src) {
        sb_test_skip(true, "evidence corpus or SEALBOX_SOURCE_DIR absent");
        return;
    }
    char tdir[4096];
    snprintf(tdir, sizeof(tdir), "%s/tests/expectations", src);
    DIR *d = opendir(tdir);
    CHECK(d != NULL);
    if (!d) return;
    /* table files in name order, so that the interleaving is the same on every run */
    char *files[32];
    size_t nfiles = 0;
    struct dirent *de;
    while ((de = readdir(d)) && nfiles < SB_ARRAY_LEN(files)) {
        size_t l = strlen(de->d_name);
        if (l > 4 && !strcmp(de->d_name + l - 4, ".tsv")) files[nfiles++] = strdup(de->d_name);
    }
    closedir(d);
    for (size_t i = 1; i < nfiles; i++)
        for (size_t j = i; j > 0 && strcmp(files[j - 1], files[j]) > 0; j--) {
            char *t = files[j];
            files[j] = files[j - 1];
            files[j - 1] = t;
        }
    static struct row rows[MAX_ROWS];
    size_t n = 0, n_lines = 0, n_ok = 0;
    int64_t now = sb_time_now();
    for (size_t f = 0; f < nfiles; f++) {
        char *path = join(tdir, files[f]);
        FILE *fp = path ? fopen(path, "r") : NULL;
        char line[4096];
        while (fp && fgets(line, sizeof(line), fp) && n < MAX_ROWS) {
            line[strcspn(line, "\r\n")] = 0;
            if (!line[0] || line[0] == '#') continue;
            n_lines++;
            if (!row_parse(line, evdir, src, now, &rows[n])) {
                row_free(&rows[n]);
                continue;
            }
            n++;
        }
        if (fp) fclose(fp);
        free(path);
        free(files[f]);
    }
    /* cold: each row on its own */
    for (size_t i = 0; i < n; i++) {
        rows[i].rc = row_run(NULL, &rows[i], &rows[i].err, &rows[i].claims, &rows[i].appraisal);
        if (rows[i].rc == 0 && rows[i].claims) n_ok++;
    }
    /* warm: one context for everything, rows interleaved; the first pass fills the caches, the
     * second (in reverse order) uses them */
    _cleanup_(vctx_freep) sb_verify_ctx *c = NULL;
    sb_error err = {0};
    CHECK_OK(sb_verify_ctx_new(&c, &err), &err);
    for (int pass = 1; pass <= 2 && c; pass++)
        for (size_t k = 0; k < n; k++) {
            size_t i = pass == 1 ? k : n - 1 - k;
            char *e, *cl, *ap;
            int rc = row_run(c, &rows[i], &e, &cl, &ap);
            check_same(&rows[i], pass, rc, e, cl, ap);
        }
    /* and each row twice in a row (a hit on the entry just made) */
    for (size_t i = 0; i < n && c; i++)
        for (int k = 0; k < 2; k++) {
            char *e, *cl, *ap;
            int rc = row_run(c, &rows[i], &e, &cl, &ap);
            check_same(&rows[i], 3 + k, rc, e, cl, ap);
        }
    printf("  %zu of %zu expectation rows replayed cold and warm (%zu authenticated)\n", n, n_lines,
           n_ok);
    /* the corpus has well over a hundred rows and most authenticate: a parser that skipped
     * them all would make this test vacuous */
    CHECK_MSG(n >= 100 && n_ok >= 50, "only %zu rows replayed, %zu authenticated", n, n_ok);
    for (size_t i = 0; i < n; i++)
        row_free(&rows[i]);
}

/* ---- DCAP: what must never come from the warm store ------------------------------------- */

#define T8_QUOTE "tdx/dcap-qvl/tdx_quote"
#define T8_COLL "tdx/dcap-qvl/tdx_quote_collateral.json"
#define T8_COLL_OTHER "tdx/dcap-qvl/tdx_quote_outdated_collateral.json"
#define T8_AT 1752919234
#define T1_QUOTE "tdx/go-tdx-guest/tdx_prod_quote_SPR_E4.dat"
#define T1_AT 1688173200 /* 2023-07-01T01:00:00Z */
#define T7_QUOTE "tdx/dcap-rs/quote_tdx_00806f050000.dat"
#define T7_AT 1739419232

/* Verifies with c and cold; both results must be the same. *claims_s / *err_s (may be NULL)
 * get the result. */
static int both(sb_verify_ctx *c, const struct sb_verify_opts *o, const struct sb_blob *ev,
                size_t n_ev, char **claims_s, char **err_s) {
    json_t *w = NULL, *k = NULL;
    sb_error ew = {0}, ek = {0};
    int rw = sb_verify_with(c, o, NULL, ev, n_ev, NULL, &w, &ew);
    int rk = sb_verify_with(NULL, o, NULL, ev, n_ev, NULL, &k, &ek);
    char *sw = w ? json_dumps(w, JSON_COMPACT) : NULL;
    char *sk = k ? json_dumps(k, JSON_COMPACT) : NULL;
    CHECK_INT(rw, rk);
    CHECK_STR(rw < 0 ? ew.msg : "", rk < 0 ? ek.msg : "");
    CHECK_MSG((!sw && !sk) || (sw && sk && !strcmp(sw, sk)), "%s: warm claims differ from cold",
              ev[0].name);
    json_decref(w);
    json_decref(k);
    free(sk);
    if (claims_s)
        *claims_s = sw;
    else
        free(sw);
    if (err_s) *err_s = rw < 0 ? strdup(ew.msg) : NULL;
    return rw;
}

static bool read_ev(const char *rel, struct sb_blob *b) {
    b->name = rel;
    b->data = sb_test_read_evidence(rel, &b->len);
    return b->data != NULL;
}

static void blob_free(struct sb_blob *b) {
    free((void *)(uintptr_t)b->data);
    b->data = NULL;
}

/* Other collateral under the same name, then tampered collateral of the same size: each is
 * verified anew; the original afterwards is served warm again with the first claims. */
TEST(verify_warm_dcap_changed_collateral) {
    if (!sb_test_evidence_dir()) {
        sb_test_skip(true, "evidence corpus absent");
        return;
    }
    struct sb_blob ev[2] = {0}, other = {0};
    if (!read_ev(T8_QUOTE, &ev[0]) || !read_ev(T8_COLL, &ev[1]) || !read_ev(T8_COLL_OTHER, &other))
        goto out;
    sb_error err = {0};
    _cleanup_(vctx_freep) sb_verify_ctx *c = NULL;
    CHECK_OK(sb_verify_ctx_new(&c, &err), &err);
    struct sb_verify_opts o = {.at = T8_AT};
    char *first = NULL, *s = NULL, *e = NULL;
    CHECK_INT(both(c, &o, ev, 2, &first, NULL), 0);
    CHECK_CONTAINS(first, "\"status\":\"UpToDate\"");
    CHECK_INT(both(c, &o, ev, 2, &s, NULL), 0); /* warm hit */
    CHECK_STR(s, first);
    free(s);
    /* other collateral, same file name: FMSPC mismatch, as cold */
    struct sb_blob keep = ev[1];
    ev[1] = (struct sb_blob){.name = T8_COLL, .data = other.data, .len = other.len};
    CHECK(both(c, &o, ev, 2, NULL, &e) < 0);
    CHECK_CONTAINS(e, "does not match the PCK certificate's FMSPC");
    free(e);
    /* one digit of the signed TCB info changed (same size): its signature fails */
    uint8_t *t = malloc(keep.len);
    if (t) {
        memcpy(t, keep.data, keep.len);
        const char *needle = "tcbEvaluationDataNumber";
        uint8_t *hit = memmem(t, keep.len, needle, strlen(needle));
        CHECK(hit != NULL);
        for (uint8_t *q = hit; hit && q < t + keep.len; q++)
            if (*q >= '0' && *q <= '9') {
                *q = *q == '9' ? '8' : (uint8_t)(*q + 1);
                break;
            }
        ev[1] = (struct sb_blob){.name = T8_COLL, .data = t, .len = keep.len};
        CHECK(both(c, &o, ev, 2, NULL, &e) < 0);
        CHECK_CONTAINS(e, "signature");
        free(e);
        free(t);
    }
    /* the original again: the warm store's claims are the first ones */
    ev[1] = keep;
    CHECK_INT(both(c, &o, ev, 2, &s, NULL), 0);
    CHECK_STR(s, first);
    free(s);
    /* no collateral at all: no TCB status, as cold */
    CHECK_INT(both(c, &o, ev, 1, &s, NULL), 0);
    CHECK_CONTAINS(s, "no tcbInfo collateral given");
    free(s);
    free(first);
out:
    blob_free(&ev[0]);
    blob_free(&ev[1]);
    blob_free(&other);
}

static int copy_dir(const char *rel, const char *to) {
    char from[4096];
    snprintf(from, sizeof(from), "%s/%s", sb_test_evidence_dir(), rel);
    DIR *d = opendir(from);
    if (!d) return -1;
    struct dirent *de;
    int rc = 0;
    while (rc == 0 && (de = readdir(d))) {
        if (de->d_name[0] == '.') continue;
        char src[1024], dst[4400];
        snprintf(src, sizeof(src), "%.500s/%.255s", rel, de->d_name);
        snprintf(dst, sizeof(dst), "%.4000s/%.255s", to, de->d_name);
        size_t n = 0;
        uint8_t *b = sb_test_read_evidence(src, &n);
        sb_error err = {0};
        rc = b ? sb_write_file_atomic(dst, b, n, 0600, &err) : -1;
        free(b);
    }
    closedir(d);
    return rc;
}

/* Rewrites path with one byte changed, in place (same size, same inode, at once). */
static void flip_in_place(const char *path, size_t off_from_end) {
    FILE *f = fopen(path, "r+b");
    CHECK(f != NULL);
    if (!f) return;
    CHECK(fseek(f, -(long)off_from_end, SEEK_END) == 0);
    int ch = fgetc(f);
    CHECK(ch != EOF);
    CHECK(fseek(f, -(long)off_from_end, SEEK_END) == 0);
    fputc(ch ^ 0x01, f);
    fclose(f);
}

/* --collateral DIR is read on every verification: a CRL rewritten in place with one byte
 * changed, then removed, then restored, gives each time what a cold verification gives. */
TEST(verify_warm_dcap_collateral_dir_changes) {
    if (!sb_test_evidence_dir()) {
        sb_test_skip(true, "evidence corpus absent");
        return;
    }
    char dir[4096], crl[4200], root_crl[4200];
    snprintf(dir, sizeof(dir), "%s/dcap-rs", sb_test_tmpdir());
    CHECK(mkdir(dir, 0700) == 0);
    CHECK_INT(copy_dir("tdx/dcap-rs", dir), 0);
    snprintf(crl, sizeof(crl), "%s/pck_platform_crl.der", dir);
    snprintf(root_crl, sizeof(root_crl), "%s/intel_root_ca_crl.der", dir);
    struct sb_blob ev = {0};
    if (!read_ev(T7_QUOTE, &ev)) return;
    sb_error err = {0};
    _cleanup_(vctx_freep) sb_verify_ctx *c = NULL;
    CHECK_OK(sb_verify_ctx_new(&c, &err), &err);
    struct sb_verify_opts o = {.at = T7_AT, .collateral_dir = dir};
    char *first = NULL, *s = NULL, *e = NULL;
    CHECK_INT(both(c, &o, &ev, 1, &first, NULL), 0);
    CHECK_CONTAINS(first, "\"status\":\"OutOfDate\"");
    CHECK_CONTAINS(first, "pck-crl");
    /* the PCK CRL's signature damaged in place: it no longer verifies */
    flip_in_place(crl, 3);
    CHECK(both(c, &o, &ev, 1, NULL, &e) < 0);
    CHECK_CONTAINS(e, "CRL");
    free(e);
    flip_in_place(crl, 3); /* back */
    CHECK_INT(both(c, &o, &ev, 1, &s, NULL), 0);
    CHECK_STR(s, first);
    free(s);
    /* the root CA CRL removed: revocation of the PCK CA is no longer checked */
    size_t rn = 0;
    uint8_t *rb = NULL;
    CHECK_OK(sb_read_file(root_crl, 1u << 20, &rb, &rn, &err), &err);
    CHECK(unlink(root_crl) == 0);
    CHECK_INT(both(c, &o, &ev, 1, &s, NULL), 0);
    CHECK_CONTAINS(s, "no Intel SGX Root CA CRL given");
    free(s);
    if (rb) CHECK_OK(sb_write_file_atomic(root_crl, rb, rn, 0600, &err), &err);
    free(rb);
    CHECK_INT(both(c, &o, &ev, 1, &s, NULL), 0);
    CHECK_STR(s, first);
    free(s);
    /* the directory gone: the error a cold verification gives */
    char gone[4200];
    snprintf(gone, sizeof(gone), "%s/absent", dir);
    o.collateral_dir = gone;
    CHECK(both(c, &o, &ev, 1, NULL, &e) < 0);
    CHECK_CONTAINS(e, "--collateral");
    free(e);
    free(first);
    blob_free(&ev);
}

/* A PCK chain and collateral verified at one time are not reused at another: outside the
 * certificates' windows the chain fails as cold; past the TCB info's nextUpdate the claims say
 * so; back at the first time the first claims return. */
TEST(verify_warm_dcap_time_window) {
    if (!sb_test_evidence_dir()) {
        sb_test_skip(true, "evidence corpus absent");
        return;
    }
    struct sb_blob t1 = {0}, t8[2] = {0};
    if (!read_ev(T1_QUOTE, &t1) || !read_ev(T8_QUOTE, &t8[0]) || !read_ev(T8_COLL, &t8[1]))
        goto out;
    sb_error err = {0};
    _cleanup_(vctx_freep) sb_verify_ctx *c = NULL;
    CHECK_OK(sb_verify_ctx_new(&c, &err), &err);
    struct sb_verify_opts o = {.at = T1_AT};
    char *first = NULL, *s = NULL, *e = NULL;
    CHECK_INT(both(c, &o, &t1, 1, &first, NULL), 0);
    static const int64_t bad[] = {1577836800ll /* 2020 */, 2619302400ll /* 2053 */};
    for (size_t i = 0; i < SB_ARRAY_LEN(bad); i++) {
        o.at = bad[i];
        CHECK(both(c, &o, &t1, 1, NULL, &e) < 0);
        CHECK_CONTAINS(e, "PCK certificate chain");
        free(e);
    }
    o.at = T1_AT;
    CHECK_INT(both(c, &o, &t1, 1, &s, NULL), 0);
    CHECK_STR(s, first);
    free(s);
    free(first);
    o.at = T8_AT;
    CHECK_INT(both(c, &o, t8, 2, &first, NULL), 0);
    CHECK(!strstr(first, "has expired"));
    o.at = 1753000000;
    CHECK_INT(both(c, &o, t8, 2, &s, NULL), 0);
    CHECK_CONTAINS(s, "tcbInfo has expired");
    free(s);
    o.at = T8_AT;
    CHECK_INT(both(c, &o, t8, 2, &s, NULL), 0);
    CHECK_STR(s, first);
    free(s);
    free(first);
out:
    blob_free(&t1);
    blob_free(&t8[0]);
    blob_free(&t8[1]);
}

/* ---- SNP: a VCEK taken from the collateral directory ------------------------------------ */

#define SNP_REPORT "snp/trustee/test-report.bin"
#define SNP_VCEK "snp/trustee/test-vcek.der"
#define SNP_AT 1748736000 /* 2025-06-01T00:00:00Z */

/* The report's VCEK found in --collateral DIR by its key: once the file is removed the warm
 * chain is not used (the verification fails as a cold one does), and back it verifies again. */
TEST(verify_warm_snp_vcek_from_dir) {
    const char *evdir = sb_test_evidence_dir();
    if (!evdir) {
        sb_test_skip(true, "evidence corpus absent");
        return;
    }
    char dir[4096], vcek[4400];
    snprintf(dir, sizeof(dir), "%s/snp-cache", sb_test_tmpdir());
    snprintf(vcek, sizeof(vcek), "%s/%s", evdir, SNP_VCEK);
    struct sb_collateral_item item;
    sb_error err = {0};
    CHECK_OK(sb_collateral_import(dir, vcek, &item, &err), &err);
    CHECK_STR(item.kind, "vcek");
    char imported[4400];
    snprintf(imported, sizeof(imported), "%s/%s", dir, item.file);
    struct sb_blob ev = {0};
    if (!read_ev(SNP_REPORT, &ev)) return;
    _cleanup_(vctx_freep) sb_verify_ctx *c = NULL;
    CHECK_OK(sb_verify_ctx_new(&c, &err), &err);
    struct sb_verify_opts o = {.at = SNP_AT, .collateral_dir = dir};
    char *first = NULL, *s = NULL, *e = NULL;
    CHECK_INT(both(c, &o, &ev, 1, &first, NULL), 0);
    CHECK_CONTAINS(first, "collateral cache vcek-");
    CHECK_INT(both(c, &o, &ev, 1, &s, NULL), 0);
    CHECK_STR(s, first);
    free(s);
    size_t n = 0;
    uint8_t *b = NULL;
    CHECK_OK(sb_read_file(imported, 1u << 20, &b, &n, &err), &err);
    CHECK(unlink(imported) == 0);
    CHECK(both(c, &o, &ev, 1, NULL, &e) < 0);
    CHECK_CONTAINS(e, "none in the collateral cache either");
    free(e);
    if (b) CHECK_OK(sb_write_file_atomic(imported, b, n, 0600, &err), &err);
    free(b);
    CHECK_INT(both(c, &o, &ev, 1, &s, NULL), 0);
    CHECK_STR(s, first);
    free(s);
    free(first);
    blob_free(&ev);
}

/* ---- TPM: the event-log memo of JSON containers ---------------------------------------- */

#define GA_JSON "tpm/go-attestation/windows_gcp_shielded_vm.json"
#define GA_AT 1640995200 /* 2022-01-01T00:00:00Z */

/* A copy of b with the first occurrence of needle's byte at offset k after needle replaced. */
static uint8_t *edit_after(const struct sb_blob *b, const char *needle, size_t k, uint8_t to) {
    uint8_t *t = malloc(b->len);
    if (!t) return NULL;
    memcpy(t, b->data, b->len);
    uint8_t *hit = memmem(t, b->len, needle, strlen(needle));
    CHECK(hit && (size_t)(hit - t) + strlen(needle) + k < b->len);
    if (hit) hit[strlen(needle) + k] = hit[strlen(needle) + k] == to ? (uint8_t)(to + 1) : to;
    return t;
}

/* go-attestation's 57 KB Log.Raw is memoized by its exact text: the same log with a new quote is
 * parsed with the string emptied; any change to the log's text, a damaged quote, or bytes after
 * the document give what a cold verification gives (same claims, same error and position). */
TEST(verify_warm_tpm_json_memo) {
    if (!sb_test_evidence_dir()) {
        sb_test_skip(true, "evidence corpus absent");
        return;
    }
    struct sb_blob ev = {0};
    if (!read_ev(GA_JSON, &ev)) return;
    sb_error err = {0};
    _cleanup_(vctx_freep) sb_verify_ctx *c = NULL;
    CHECK_OK(sb_verify_ctx_new(&c, &err), &err);
    struct sb_verify_opts o = {.at = GA_AT};
    char *first = NULL, *s = NULL, *e = NULL;
    CHECK_INT(both(c, &o, &ev, 1, &first, NULL), 0);
    CHECK_INT(both(c, &o, &ev, 1, &s, NULL), 0); /* the memo is used */
    CHECK_STR(s, first);
    free(s);
    /* the parse itself: memoized == plain, field by field for the event log */
    struct sb_tpm_json_memo memo = {0};
    struct sb_tpm_evidence plain, m1, m2;
    CHECK_OK(sb_tpm_json_parse(ev.data, ev.len, &plain, &err), &err);
    CHECK_OK(sb_tpm_json_parse_memo(ev.data, ev.len, &memo, &m1, &err), &err);
    CHECK(memo.member != 0 && memo.text_len > 50000);
    CHECK_OK(sb_tpm_json_parse_memo(ev.data, ev.len, &memo, &m2, &err), &err);
    CHECK(plain.event_log_len > 40000 && m2.event_log_len == plain.event_log_len);
    if (m2.event_log_len == plain.event_log_len)
        CHECK_MEM(m2.event_log, plain.event_log, plain.event_log_len);
    CHECK(m2.event_log == memo.decoded); /* served from the memo */
    CHECK_INT(m2.quotes[0].attest_len, plain.quotes[0].attest_len);
    CHECK_MEM(m2.quotes[0].attest, plain.quotes[0].attest, plain.quotes[0].attest_len);
    sb_tpm_evidence_free(&plain);
    sb_tpm_evidence_free(&m1);
    sb_tpm_evidence_free(&m2);
    sb_tpm_json_memo_clear(&memo);

    struct {
        const char *needle;
        size_t k;
        uint8_t to;
        bool fails;
    } edits[] = {
        {"\"Raw\":\"", 30000, 'Q', false},   /* one base64 digit of the log, same length */
        {"\"Raw\":\"", 0, '!', true},        /* not base64 any more */
        {"\"Signature\":\"", 40, 'Q', true}, /* the quote's signature, log unchanged */
        {"\"Raw\":\"", (size_t)-1, ' ', true},
    };
    for (size_t i = 0; i < SB_ARRAY_LEN(edits); i++) {
        uint8_t *t = NULL;
        struct sb_blob b = ev;
        if (edits[i].k == (size_t)-1) {
            /* a byte after the document: jansson's error names its position */
            t = malloc(ev.len + 1);
            if (!t) break;
            memcpy(t, ev.data, ev.len);
            t[ev.len] = 'x';
            b.len = ev.len + 1;
        } else {
            t = edit_after(&ev, edits[i].needle, edits[i].k, edits[i].to);
            if (!t) break;
        }
        b.data = t;
        int rc = both(c, &o, &b, 1, NULL, &e);
        /* a digit of the log may fall into event data, which no digest covers */
        CHECK_MSG(rc < 0 || !edits[i].fails, "edit %zu verified", i);
        if (i == 0) {
            /* the memo (filled with the original log) does not serve the changed one */
            struct sb_tpm_json_memo m = {0};
            struct sb_tpm_evidence x, y;
            CHECK_OK(sb_tpm_json_parse_memo(ev.data, ev.len, &m, &x, &err), &err);
            sb_tpm_evidence_free(&x);
            CHECK_OK(sb_tpm_json_parse_memo(b.data, b.len, &m, &y, &err), &err);
            CHECK_OK(sb_tpm_json_parse(b.data, b.len, &x, &err), &err);
            CHECK(y.event_log != NULL && x.event_log_len == y.event_log_len);
            if (x.event_log_len == y.event_log_len)
                CHECK_MEM(x.event_log, y.event_log, x.event_log_len);
            sb_tpm_evidence_free(&x);
            sb_tpm_evidence_free(&y);
            sb_tpm_json_memo_clear(&m);
        }
        free(e);
        e = NULL;
        free(t);
        /* the original afterwards: the first claims */
        CHECK_INT(both(c, &o, &ev, 1, &s, NULL), 0);
        CHECK_STR(s, first);
        free(s);
    }
    free(first);
    blob_free(&ev);
}
