/* test_tsm: the configfs-tsm attester against a report directory that behaves as the kernel's
 * does — a FUSE file system served by a thread of this test (mkdir makes an entry with its
 * attributes, each inblob write bumps generation, an outblob read produces the report of the
 * current inblob) — including injected generation races, and the real configfs-tsm capture in
 * the evidence corpus verified against its own recorded input. */
#include <errno.h>
#include <fcntl.h>
#include <linux/fuse.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>

#include "attester/attester.h"
#include "harness.h"
#include "policy/policy.h"
#include "verify/verify.h"

/* ---- the kernel-like fixture ------------------------------------------------------------ */

#define FX_ENTRIES 8
#define FX_REPORT_LEN 1184
#define FX_RD_OFF 0x50 /* where an SNP report carries report_data */

enum { A_INBLOB = 1, A_OUTBLOB, A_AUXBLOB, A_PROVIDER, A_GENERATION, A_MAX };
static const char *const ATTR[A_MAX] = {NULL,      "inblob",   "outblob",
                                        "auxblob", "provider", "generation"};

struct fx_entry {
    bool used;
    char name[128];
    uint8_t inblob[64];
    uint64_t gen;
    uint8_t *out; /* the report made by the last outblob read at offset 0 */
    size_t out_len;
};

struct fx {
    int fd;
    char mnt[4096];
    pthread_t th;
    atomic_bool stop;
    struct fx_entry e[FX_ENTRIES];
    unsigned races; /* outblob reads that first see another writer's inblob */
    unsigned mkdirs, rmdirs;
    const uint8_t *cap_out, *cap_aux; /* capture mode: the recorded blobs */
    size_t cap_out_len, cap_aux_len;
    const char *provider;
};

static uint64_t ino_of(unsigned entry, unsigned attr) { return 16u + entry * 8u + attr; }

static void fx_attr(struct fx *f, uint64_t ino, struct fuse_attr *a) {
    (void)f;
    memset(a, 0, sizeof(*a));
    a->ino = ino;
    a->nlink = 1;
    a->blksize = 4096;
    if (ino == FUSE_ROOT_ID || (ino >= 16 && (ino - 16) % 8 == 0)) {
        a->mode = S_IFDIR | 0755;
        a->nlink = 2;
    } else {
        unsigned at = (unsigned)((ino - 16) % 8);
        a->mode = S_IFREG | (at == A_INBLOB ? 0200 : 0444);
        a->size = 4096; /* configfs reports a page; reads are direct */
    }
}

static void fx_reply(struct fx *f, uint64_t unique, int error, const void *p, size_t n) {
    uint8_t buf[sizeof(struct fuse_out_header) + 65536];
    struct fuse_out_header h = {
        .len = (uint32_t)(sizeof(h) + n), .error = -error, .unique = unique};
    memcpy(buf, &h, sizeof(h));
    if (n) memcpy(buf + sizeof(h), p, n);
    (void)!write(f->fd, buf, sizeof(h) + n);
}

/* The content of an attribute for a read at offset 0 (the kernel's show() callbacks). */
static int fx_content(struct fx *f, struct fx_entry *e, unsigned at, uint8_t **out, size_t *n) {
    char tmp[64];
    switch (at) {
    case A_GENERATION:
        *n = (size_t)snprintf(tmp, sizeof(tmp), "%llu\n", (unsigned long long)e->gen);
        *out = (uint8_t *)strdup(tmp);
        return 0;
    case A_PROVIDER:
        *n = strlen(f->provider);
        *out = (uint8_t *)strdup(f->provider);
        return 0;
    case A_OUTBLOB:
        if (f->races) {
            /* another writer of this entry gets in between */
            f->races--;
            memset(e->inblob, 0xee, sizeof(e->inblob));
            e->gen++;
        }
        if (f->cap_out) {
            /* the recorded report can only be the answer to its own recorded input */
            if (memcmp(e->inblob, f->cap_out + FX_RD_OFF, 64) != 0) return EIO;
            *n = f->cap_out_len;
            *out = malloc(*n);
            memcpy(*out, f->cap_out, *n);
            return 0;
        }
        *n = FX_REPORT_LEN;
        *out = calloc(1, FX_REPORT_LEN);
        memcpy(*out, "FXRP", 4);
        memcpy(*out + 8, &e->gen, sizeof(e->gen));
        memcpy(*out + FX_RD_OFF, e->inblob, 64);
        return 0;
    case A_AUXBLOB:
        if (f->cap_aux) {
            *n = f->cap_aux_len;
            *out = malloc(*n);
            memcpy(*out, f->cap_aux, *n);
            return 0;
        }
        *n = 16;
        *out = calloc(1, 16);
        memcpy(*out, "FXAUX", 5);
        return 0;
    default: return EACCES;
    }
}

static struct fx_entry *fx_entry_of(struct fx *f, uint64_t ino, unsigned *attr) {
    if (ino < 16) return NULL;
    unsigned idx = (unsigned)((ino - 16) / 8);
    if (idx >= FX_ENTRIES || !f->e[idx].used) return NULL;
    *attr = (unsigned)((ino - 16) % 8);
    return &f->e[idx];
}

static void fx_handle(struct fx *f, const uint8_t *req, size_t len) {
    struct fuse_in_header h;
    if (len < sizeof(h)) return;
    memcpy(&h, req, sizeof(h));
    const uint8_t *body = req + sizeof(h);
    size_t blen = len - sizeof(h);
    unsigned attr = 0;
    struct fx_entry *e = fx_entry_of(f, h.nodeid, &attr);
    switch (h.opcode) {
    case FUSE_INIT: {
        struct fuse_init_out o = {.major = FUSE_KERNEL_VERSION,
                                  .minor = FUSE_KERNEL_MINOR_VERSION,
                                  .max_readahead = 0,
                                  .max_write = 65536,
                                  .time_gran = 1,
                                  .max_background = 1};
        fx_reply(f, h.unique, 0, &o, sizeof(o));
        return;
    }
    case FUSE_FORGET:
    case FUSE_BATCH_FORGET:
    case FUSE_INTERRUPT: return;
    case FUSE_LOOKUP: {
        const char *name = (const char *)body;
        struct fuse_entry_out o = {0};
        if (h.nodeid == FUSE_ROOT_ID) {
            for (unsigned i = 0; i < FX_ENTRIES; i++)
                if (f->e[i].used && strncmp(f->e[i].name, name, blen) == 0) o.nodeid = ino_of(i, 0);
        } else if (e && attr == 0) {
            for (unsigned a = 1; a < A_MAX; a++)
                if (strncmp(ATTR[a], name, blen) == 0) o.nodeid = h.nodeid + a;
        }
        if (!o.nodeid) {
            fx_reply(f, h.unique, ENOENT, NULL, 0);
            return;
        }
        fx_attr(f, o.nodeid, &o.attr);
        fx_reply(f, h.unique, 0, &o, sizeof(o));
        return;
    }
    case FUSE_GETATTR:
    case FUSE_SETATTR: {
        if (h.nodeid != FUSE_ROOT_ID && !e) {
            fx_reply(f, h.unique, ENOENT, NULL, 0);
            return;
        }
        struct fuse_attr_out o = {0};
        fx_attr(f, h.nodeid, &o.attr);
        fx_reply(f, h.unique, 0, &o, sizeof(o));
        return;
    }
    case FUSE_MKDIR: {
        if (h.nodeid != FUSE_ROOT_ID || blen <= sizeof(struct fuse_mkdir_in)) {
            fx_reply(f, h.unique, EPERM, NULL, 0);
            return;
        }
        const char *name = (const char *)body + sizeof(struct fuse_mkdir_in);
        unsigned i = 0;
        while (i < FX_ENTRIES && f->e[i].used)
            i++;
        if (i == FX_ENTRIES) {
            fx_reply(f, h.unique, ENOSPC, NULL, 0);
            return;
        }
        memset(&f->e[i], 0, sizeof(f->e[i]));
        f->e[i].used = true;
        snprintf(f->e[i].name, sizeof(f->e[i].name), "%s", name);
        f->mkdirs++;
        struct fuse_entry_out o = {.nodeid = ino_of(i, 0)};
        fx_attr(f, o.nodeid, &o.attr);
        fx_reply(f, h.unique, 0, &o, sizeof(o));
        return;
    }
    case FUSE_RMDIR: {
        const char *name = (const char *)body;
        for (unsigned i = 0; i < FX_ENTRIES; i++)
            if (f->e[i].used && strncmp(f->e[i].name, name, blen) == 0) {
                free(f->e[i].out);
                memset(&f->e[i], 0, sizeof(f->e[i]));
                f->rmdirs++;
                fx_reply(f, h.unique, 0, NULL, 0);
                return;
            }
        fx_reply(f, h.unique, ENOENT, NULL, 0);
        return;
    }
    case FUSE_OPEN: {
        if (!e || attr == 0) {
            fx_reply(f, h.unique, e ? EISDIR : ENOENT, NULL, 0);
            return;
        }
        struct fuse_open_out o = {.fh = h.nodeid, .open_flags = FOPEN_DIRECT_IO};
        fx_reply(f, h.unique, 0, &o, sizeof(o));
        return;
    }
    case FUSE_READ: {
        struct fuse_read_in in;
        memcpy(&in, body, sizeof(in));
        if (!e) {
            fx_reply(f, h.unique, ENOENT, NULL, 0);
            return;
        }
        uint8_t *c = NULL;
        size_t n = 0;
        int rc = 0;
        if (attr == A_OUTBLOB && in.offset > 0 && e->out) {
            c = malloc(e->out_len);
            memcpy(c, e->out, e->out_len);
            n = e->out_len;
        } else {
            rc = fx_content(f, e, attr, &c, &n);
            if (rc == 0 && attr == A_OUTBLOB) {
                free(e->out);
                e->out = malloc(n);
                memcpy(e->out, c, n);
                e->out_len = n;
            }
        }
        if (rc) {
            fx_reply(f, h.unique, rc, NULL, 0);
            return;
        }
        size_t off = in.offset < n ? (size_t)in.offset : n;
        size_t k = n - off < in.size ? n - off : in.size;
        fx_reply(f, h.unique, 0, c + off, k);
        free(c);
        return;
    }
    case FUSE_WRITE: {
        struct fuse_write_in in;
        memcpy(&in, body, sizeof(in));
        if (!e || attr != A_INBLOB || in.size > 64 || in.offset != 0) {
            fx_reply(f, h.unique, EINVAL, NULL, 0);
            return;
        }
        memset(e->inblob, 0, sizeof(e->inblob));
        memcpy(e->inblob, body + sizeof(in), in.size);
        e->gen++; /* every write is a generation */
        struct fuse_write_out o = {.size = in.size};
        fx_reply(f, h.unique, 0, &o, sizeof(o));
        return;
    }
    case FUSE_FLUSH:
    case FUSE_RELEASE:
    case FUSE_RELEASEDIR:
    case FUSE_FSYNC: fx_reply(f, h.unique, 0, NULL, 0); return;
    default: fx_reply(f, h.unique, ENOSYS, NULL, 0); return;
    }
}

static void *fx_thread(void *arg) {
    struct fx *f = arg;
    uint8_t *buf = malloc(1u << 20);
    while (!atomic_load(&f->stop)) {
        struct pollfd p = {f->fd, POLLIN, 0};
        int r = poll(&p, 1, 100);
        if (r <= 0) continue;
        ssize_t n = read(f->fd, buf, 1u << 20);
        if (n < 0 && (errno == EINTR || errno == EAGAIN || errno == ENOENT)) continue;
        if (n <= 0) break;
        fx_handle(f, buf, (size_t)n);
    }
    free(buf);
    return NULL;
}

static bool in_private_ns;

/* Mounts the fixture on a fresh directory; false (and the case skipped) where FUSE is missing. */
static bool fx_start(struct fx *f, const char *name) {
    memset(f, 0, sizeof(*f));
    f->provider = "sev_guest\n";
    if (!in_private_ns) {
        /* our own mount namespace: nothing we mount can outlive this process */
        if (unshare(CLONE_NEWNS) != 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0) {
            sb_test_skip(true, "tsm fixture: cannot make a mount namespace: %s", strerror(errno));
            return false;
        }
        in_private_ns = true;
    }
    snprintf(f->mnt, sizeof(f->mnt), "%s/%s", sb_test_tmpdir(), name);
    CHECK(mkdir(f->mnt, 0755) == 0);
    f->fd = open("/dev/fuse", O_RDWR | O_CLOEXEC);
    char opts[128];
    snprintf(opts, sizeof(opts), "fd=%d,rootmode=40000,user_id=0,group_id=0", f->fd);
    if (f->fd < 0 || mount("sealbox-tsm-fixture", f->mnt, "fuse", MS_NOSUID | MS_NODEV, opts)) {
        sb_test_skip(true, "tsm fixture: FUSE is not available here: %s", strerror(errno));
        if (f->fd >= 0) close(f->fd);
        return false;
    }
    CHECK(pthread_create(&f->th, NULL, fx_thread, f) == 0);
    return true;
}

static void fx_stop(struct fx *f) {
    CHECK(umount2(f->mnt, MNT_DETACH) == 0);
    atomic_store(&f->stop, true);
    pthread_join(f->th, NULL);
    close(f->fd);
    for (unsigned i = 0; i < FX_ENTRIES; i++)
        free(f->e[i].out);
}

/* ---- the file protocol ---------------------------------------------------------------------- */

TEST(tsm_report_for_exactly_our_inblob) {
    struct fx f;
    if (!fx_start(&f, "tsm1")) return;
    uint8_t in[64];
    for (int i = 0; i < 64; i++)
        in[i] = (uint8_t)i;
    struct sb_tsm_report r;
    sb_error err = {0};
    CHECK_OK(sb_tsm_report_get(f.mnt, in, &r, &err), &err);
    CHECK_INT(r.outblob_len, FX_REPORT_LEN);
    CHECK_MEM(r.outblob + FX_RD_OFF, in, 64);
    CHECK_STR(r.provider, "sev_guest");
    CHECK_INT(r.generation, 1);
    CHECK_INT(r.attempts, 1);
    CHECK_INT(r.auxblob_len, 16);
    json_t *j = NULL;
    CHECK_OK(sb_tsm_report_json(&r, &j, &err), &err);
    CHECK_STR(json_string_value(json_object_get(j, "provider")), "sev_guest");
    CHECK(json_is_string(json_object_get(j, "auxblob")));
    json_decref(j);
    sb_tsm_report_clear(&r);
    /* one entry per request, removed afterwards */
    CHECK_INT(f.mkdirs, 1);
    CHECK_INT(f.rmdirs, 1);
    fx_stop(&f);
}

TEST(tsm_race_is_retried_then_refused) {
    struct fx f;
    if (!fx_start(&f, "tsm2")) return;
    uint8_t in[64];
    memset(in, 0x42, sizeof(in));
    struct sb_tsm_report r;
    sb_error err = {0};
    /* one raced read: the report of the other writer's inblob is dropped, the retry is ours */
    f.races = 1;
    CHECK_OK(sb_tsm_report_get(f.mnt, in, &r, &err), &err);
    CHECK_INT(r.attempts, 2);
    CHECK_MEM(r.outblob + FX_RD_OFF, in, 64);
    sb_tsm_report_clear(&r);
    CHECK_INT(f.mkdirs, 2);
    CHECK_INT(f.rmdirs, 2);
    /* a writer that races every attempt: refused, nothing returned, nothing left behind */
    f.races = 100;
    CHECK_INT(sb_tsm_report_get(f.mnt, in, &r, &err), SB_E_IO);
    CHECK_CONTAINS(err.msg, "raced");
    CHECK_CONTAINS(err.msg, "attempts");
    CHECK(r.outblob == NULL);
    CHECK_INT(f.mkdirs, 2 + SB_TSM_RETRIES);
    CHECK_INT(f.rmdirs, 2 + SB_TSM_RETRIES);
    fx_stop(&f);
}

TEST(tsm_attester_binds_the_runtime_data) {
    struct fx f;
    if (!fx_start(&f, "tsm3")) return;
    sb_attester *a = NULL;
    sb_error err = {0};
    CHECK_OK(sb_attester_open_tsm(f.mnt, &a, &err), &err);
    CHECK_STR(sb_attester_tee(a), "snp");
    json_t *rt = json_pack("{s:{s:s, s:s, s:s}, s:s, s:s}", "tee-pubkey", "kty", "RSA", "n", "AQAB",
                           "e", "AQAB", "nonce", "bm9uY2U", "sealbox-log", "sha384:aa");
    json_t *ev = NULL;
    CHECK_OK(sb_attester_evidence(a, rt, &ev, &err), &err);
    uint8_t d[48];
    CHECK_OK(sb_policy_binding_digest(rt, d, &err), &err);
    const char *ob = json_string_value(json_object_get(ev, "outblob"));
    uint8_t *rep = NULL;
    size_t rl = 0;
    CHECK_OK(sb_base64url_decode(ob, strlen(ob), &rep, &rl, &err), &err);
    CHECK_INT(rl, FX_REPORT_LEN);
    uint8_t want[64] = {0};
    memcpy(want, d, 48);
    if (rl == FX_REPORT_LEN) CHECK_MEM(rep + FX_RD_OFF, want, 64);
    free(rep);
    json_decref(ev);
    json_decref(rt);
    sb_attester_free(a);
    /* a provider we do not know is refused when opening */
    f.provider = "arm-cca-guest\n";
    CHECK_INT(sb_attester_open_tsm(f.mnt, &a, &err), SB_E_UNSUPPORTED);
    CHECK_CONTAINS(err.msg, "arm-cca-guest");
    fx_stop(&f);
    CHECK_INT(sb_attester_open_tsm("/nonexistent/tsm", &a, &err), SB_E_NOTFOUND);
}

/* The real capture: its recorded report, answered only for its own recorded input, comes back
 * through the attester's file protocol and verifies with the real SNP verifier, and its
 * report_data is exactly the inblob we wrote. */
TEST(tsm_real_capture_verifies_against_its_recorded_input) {
    if (!sb_test_evidence_dir()) return;
    size_t n = 0;
    uint8_t *raw = sb_test_read_evidence("snp/veraison-tsm/sevsnp-tsm-report.json", &n);
    if (!raw) return;
    json_t *cap = json_loadb((const char *)raw, n, 0, NULL);
    free(raw);
    CHECK(cap != NULL);
    uint8_t *out = NULL, *aux = NULL;
    size_t ol = 0, al = 0;
    sb_error err = {0};
    const char *o = json_string_value(json_object_get(cap, "outblob"));
    const char *x = json_string_value(json_object_get(cap, "auxblob"));
    CHECK_OK(sb_base64url_decode(o, strlen(o), &out, &ol, &err), &err);
    CHECK_OK(sb_base64url_decode(x, strlen(x), &aux, &al, &err), &err);
    struct fx f;
    if (ol < FX_RD_OFF + 64 || !fx_start(&f, "tsm4")) {
        free(out);
        free(aux);
        json_decref(cap);
        return;
    }
    f.cap_out = out;
    f.cap_out_len = ol;
    f.cap_aux = aux;
    f.cap_aux_len = al;
    f.provider = json_string_value(json_object_get(cap, "provider"));
    uint8_t in[64];
    memcpy(in, out + FX_RD_OFF, 64);
    struct sb_tsm_report r;
    CHECK_OK(sb_tsm_report_get(f.mnt, in, &r, &err), &err);
    /* another input cannot produce this signed report */
    uint8_t other[64] = {1};
    struct sb_tsm_report r2;
    CHECK_INT(sb_tsm_report_get(f.mnt, other, &r2, &err), SB_E_IO);
    fx_stop(&f);
    json_t *ev = NULL;
    CHECK_OK(sb_tsm_report_json(&r, &ev, &err), &err);
    char *s = json_dumps(ev, JSON_COMPACT);
    struct sb_blob b = {.name = "tsm.json", .data = (const uint8_t *)s, .len = strlen(s)};
    /* inside the VCEK's validity window */
    struct sb_verify_opts vo = {.at = 1748736000}; /* 2025-06-01, as test_snp */
    const struct sb_verifier *used = NULL;
    json_t *claims = NULL;
    CHECK_OK(sb_verify(&vo, NULL, &b, 1, &used, &claims, &err), &err);
    if (claims) {
        CHECK_STR(used->name, "snp");
        char hex[129];
        sb_hex_encode(in, 64, hex);
        CHECK_STR(json_string_value(json_object_get(claims, "report_data")), hex);
        CHECK_STR(json_string_value(json_object_get(claims, "format")), "configfs-tsm");
    }
    json_decref(claims);
    free(s);
    json_decref(ev);
    sb_tsm_report_clear(&r);
    free(out);
    free(aux);
    json_decref(cap);
}
