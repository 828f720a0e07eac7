/* tsm: the Linux configfs-tsm report interface of SEV-SNP and TDX guests (Documentation/ABI/
 * testing/configfs-tsm-report): one entry per request, inblob written once, outblob/auxblob/
 * provider read, generation checked so that a report another writer raced is never used. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "crypto/crypto.h"
#include "internal.h"

#define GEN_MAX 32

struct tsm {
    char dir[4096];
};

/* Reads a whole attribute (at most max bytes; one more is SB_E_LIMIT). *out is malloc'ed and
 * NUL-terminated. missing_ok: ENOENT gives an empty value (auxblob on providers without one). */
static int read_attr(const char *entry, const char *name, size_t max, bool missing_ok,
                     uint8_t **out, size_t *len, sb_error *err) {
    char p[4300];
    (void)snprintf(p, sizeof(p), "%s/%s", entry, name);
    *out = NULL;
    *len = 0;
    int fd = open(p, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0 && errno == ENOENT && missing_ok) return 0;
    if (fd < 0) BAIL(err, SB_E_IO, "configfs-tsm: open %s: %s", p, strerror(errno));
    uint8_t *buf = malloc(max + 2);
    if (!buf) {
        close(fd);
        BAIL(err, SB_E_INTERNAL, "configfs-tsm: out of memory");
    }
    size_t n = 0;
    int rc = 0;
    while (n <= max) {
        ssize_t k = read(fd, buf + n, max + 1 - n);
        if (k < 0 && errno == EINTR) continue;
        if (k < 0 && errno == EFBIG) {
            rc = sb_error_set(err, SB_E_LIMIT, "configfs-tsm: %s: the kernel says EFBIG", name);
            break;
        }
        if (k < 0) {
            rc = sb_error_set(err, SB_E_IO, "configfs-tsm: read %s: %s", p, strerror(errno));
            break;
        }
        if (k == 0) break;
        n += (size_t)k;
    }
    close(fd);
    if (rc == 0 && n > max)
        rc = sb_error_set(err, SB_E_LIMIT, "configfs-tsm: %s is over %zu bytes", name, max);
    if (rc < 0) {
        free(buf);
        return rc;
    }
    buf[n] = 0;
    *out = buf;
    *len = n;
    return 0;
}

static int read_generation(const char *entry, uint64_t *g, sb_error *err) {
    uint8_t *b = NULL;
    size_t n = 0;
    TRY(read_attr(entry, "generation", GEN_MAX, false, &b, &n, err));
    while (n && (b[n - 1] == '\n' || b[n - 1] == ' '))
        b[--n] = 0;
    int rc = sb_parse_u64((const char *)b, UINT64_MAX, g, err, "configfs-tsm: generation");
    free(b);
    return rc;
}

static int write_inblob(const char *entry, const uint8_t in[SB_TSM_INBLOB_LEN], sb_error *err) {
    char p[4300];
    (void)snprintf(p, sizeof(p), "%s/inblob", entry);
    int fd = open(p, O_WRONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0) BAIL(err, SB_E_IO, "configfs-tsm: open %s: %s", p, strerror(errno));
    /* One write of all 64 bytes: each write() is one generation on the kernel's side. */
    ssize_t k;
    do {
        k = write(fd, in, SB_TSM_INBLOB_LEN);
    } while (k < 0 && errno == EINTR);
    int e = errno;
    close(fd);
    if (k != SB_TSM_INBLOB_LEN)
        BAIL(err, SB_E_IO, "configfs-tsm: write %s: %s", p, k < 0 ? strerror(e) : "short write");
    return 0;
}

/* One attempt inside a fresh entry. *raced is set when generation shows another writer. */
static int attempt(const char *entry, const uint8_t in[SB_TSM_INBLOB_LEN],
                   struct sb_tsm_report *out, bool *raced, sb_error *err) {
    uint64_t g0 = 0, g1 = 0;
    TRY(read_generation(entry, &g0, err));
    TRY(write_inblob(entry, in, err));
    uint8_t *prov = NULL;
    size_t pl = 0;
    TRY(read_attr(entry, "outblob", SB_TSM_OUTBLOB_MAX, false, &out->outblob, &out->outblob_len,
                  err));
    int rc = read_attr(entry, "auxblob", SB_TSM_AUXBLOB_MAX, true, &out->auxblob, &out->auxblob_len,
                       err);
    if (rc == 0)
        rc = read_attr(entry, "provider", sizeof(out->provider) - 1, false, &prov, &pl, err);
    if (rc == 0) rc = read_generation(entry, &g1, err);
    if (rc == 0) {
        while (pl && (prov[pl - 1] == '\n' || prov[pl - 1] == ' '))
            prov[--pl] = 0;
        (void)snprintf(out->provider, sizeof(out->provider), "%s", (const char *)prov);
        out->generation = g1;
        /* Exactly our one write moved it: the report is of our inblob. */
        *raced = g1 != g0 + 1;
        if (*raced)
            (void)sb_error_set(err, SB_E_IO,
                               "configfs-tsm: generation went from %llu to %llu around one write: "
                               "another writer raced this report",
                               (unsigned long long)g0, (unsigned long long)g1);
        if (out->outblob_len == 0)
            rc = sb_error_set(err, SB_E_IO, "configfs-tsm: the provider returned an empty outblob");
    }
    free(prov);
    return rc;
}

int sb_tsm_report_get(const char *configfs_dir, const uint8_t in[SB_TSM_INBLOB_LEN],
                      struct sb_tsm_report *out, sb_error *err) {
    ENSURE(configfs_dir && strlen(configfs_dir) < 4000, err, SB_E_USAGE,
           "configfs-tsm: no or too long report directory");
    memset(out, 0, sizeof(*out));
    for (unsigned i = 1; i <= SB_TSM_RETRIES; i++) {
        uint8_t rnd[8];
        TRY(sb_random(rnd, sizeof(rnd), err));
        char hex[17], entry[4200];
        sb_hex_encode(rnd, sizeof(rnd), hex);
        (void)snprintf(entry, sizeof(entry), "%s/sealbox-%d-%s", configfs_dir, (int)getpid(), hex);
        /* One entry per request: no other sealbox request shares it. */
        if (mkdir(entry, 0700) != 0)
            BAIL(err, SB_E_IO, "configfs-tsm: mkdir %s: %s", entry, strerror(errno));
        bool raced = false;
        struct sb_tsm_report r = {0};
        int rc = attempt(entry, in, &r, &raced, err);
        if (rmdir(entry) != 0 && rc == 0)
            rc = sb_error_set(err, SB_E_IO, "configfs-tsm: rmdir %s: %s", entry, strerror(errno));
        if (rc == 0 && !raced) {
            r.attempts = i;
            *out = r;
            return 0;
        }
        sb_tsm_report_clear(&r);
        if (rc < 0) return rc;
    }
    return sb_error_prefix(err, "refused after %d attempts", SB_TSM_RETRIES);
}

void sb_tsm_report_clear(struct sb_tsm_report *r) {
    if (!r) return;
    free(r->outblob);
    free(r->auxblob);
    memset(r, 0, sizeof(*r));
}

int sb_tsm_report_json(const struct sb_tsm_report *r, json_t **out, sb_error *err) {
    char *ob = sb_base64url_encode(r->outblob, r->outblob_len);
    char *ab = r->auxblob_len ? sb_base64url_encode(r->auxblob, r->auxblob_len) : NULL;
    json_t *j = ob && (ab || !r->auxblob_len)
                    ? json_pack("{s:s, s:s}", "provider", r->provider, "outblob", ob)
                    : NULL;
    if (j && ab && json_object_set_new(j, "auxblob", json_string(ab)) < 0) {
        json_decref(j);
        j = NULL;
    }
    free(ob);
    free(ab);
    ENSURE(j, err, SB_E_INTERNAL, "configfs-tsm: out of memory");
    *out = j;
    return 0;
}

/* ---- the attester ------------------------------------------------------------------------- */

static int tsm_evidence(sb_attester *a, const uint8_t rd[SB_REPORT_DATA_LEN], const json_t *rt,
                        json_t **evidence, sb_error *err) {
    (void)rt;
    struct tsm *t = a->state;
    struct sb_tsm_report r;
    TRY(sb_tsm_report_get(t->dir, rd, &r, err));
    int rc = sb_tsm_report_json(&r, evidence, err);
    sb_tsm_report_clear(&r);
    return rc;
}

static void tsm_free(sb_attester *a) { free(a->state); }

static const struct sb_attester_ops TSM_OPS = {tsm_evidence, tsm_free};

/* The KBS tee of a provider. */
static const char *tee_of(const char *provider) {
    if (strcmp(provider, "sev_guest") == 0) return "snp";
    if (strcmp(provider, "tdx_guest") == 0) return "tdx";
    return NULL;
}

int sb_attester_open_tsm(const char *configfs_dir, sb_attester **out, sb_error *err) {
    const char *dir = configfs_dir ? configfs_dir : SB_TSM_DEFAULT_DIR;
    ENSURE(strlen(dir) < 4000, err, SB_E_USAGE, "configfs-tsm: report directory path too long");
    struct stat st;
    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode))
        BAIL(err, SB_E_NOTFOUND,
             "configfs-tsm: %s is not there (not a confidential guest, a kernel before 6.7, or "
             "configfs not mounted)",
             dir);
    /* The provider is known once an entry exists: ask with a throwaway one. */
    uint8_t rnd[8];
    TRY(sb_random(rnd, sizeof(rnd), err));
    char hex[17], entry[4200];
    sb_hex_encode(rnd, sizeof(rnd), hex);
    (void)snprintf(entry, sizeof(entry), "%s/sealbox-probe-%s", dir, hex);
    if (mkdir(entry, 0700) != 0)
        BAIL(err, SB_E_IO, "configfs-tsm: mkdir %s: %s", entry, strerror(errno));
    uint8_t *prov = NULL;
    size_t pl = 0;
    int rc = read_attr(entry, "provider", 63, false, &prov, &pl, err);
    (void)rmdir(entry);
    TRY(rc);
    while (pl && (prov[pl - 1] == '\n' || prov[pl - 1] == ' '))
        prov[--pl] = 0;
    const char *tee = tee_of((const char *)prov);
    if (!tee) {
        rc = sb_error_set(err, SB_E_UNSUPPORTED,
                          "configfs-tsm: provider '%.40s' is not supported (sev_guest, tdx_guest)",
                          (const char *)prov);
        free(prov);
        return rc;
    }
    free(prov);
    struct tsm *t = calloc(1, sizeof(*t));
    ENSURE(t, err, SB_E_INTERNAL, "configfs-tsm: out of memory");
    (void)snprintf(t->dir, sizeof(t->dir), "%s", dir);
    rc = sb_attester_make(&TSM_OPS, tee, t, out, err);
    if (rc < 0) free(t);
    return rc;
}
