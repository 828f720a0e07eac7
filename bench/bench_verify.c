/* bench_verify: verifications per second through the whole sb_verify path (parse, chain with
 * the warm cache, signature, claims) plus the policy appraisal, per platform, next to the
 * "crypto floor" — the raw OpenSSL signature verifications that evidence still needs —
 * measured in the same run. Samples are the first affirming row per platform of
 * the expectations tables (tests/expectations), so every platform that lands is benchmarked. */
#include <dirent.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <stdio.h>
#include <string.h>

#include "policy/policy.h"
#include "verify/verify.h"

#define MIN_NS 300000000ull /* measure each figure for at least 0.3 s */
#define MAX_TOK 32

/* The signatures each platform's evidence must still have checked per verification. */
static const struct floor_spec {
    const char *platform;
    int p256, p384, rsa2048;
    const char *what;
} FLOORS[] = {
    {"snp", 0, 1, 0, "1 P-384 report signature"},
    {"tdx", 2, 0, 0, "quote + QE report P-256 signatures"},
    {"sgx", 2, 0, 0, "quote + QE report P-256 signatures"},
    {"nitro", 0, 2, 0, "P-384 COSE signature + leaf certificate"},
    {"nvidia", 0, 1, 0, "1 P-384 SPDM signature"},
    {"tpm", 0, 0, 1, "1 RSA-2048 quote signature"},
};

struct sample {
    char id[64], platform[32];
    char *ev[MAX_TOK], *certs[MAX_TOK];
    size_t n_ev, n_certs;
    char collateral[2200], policy[2200], at[64], nonce[256];
    char buf[8192]; /* backing store for the tokens */
};

/* ---- the crypto floor ----------------------------------------------------------------- */

struct sigjob {
    EVP_PKEY *key;
    const EVP_MD *md;
    uint8_t sig[512];
    size_t siglen;
};
static const uint8_t MSG[1184] = {7};

static int sigjob_init(struct sigjob *j, const char *kind) {
    EVP_PKEY *k = NULL;
    if (!strcmp(kind, "rsa"))
        k = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
    else
        k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", kind);
    if (!k) return -1;
    j->key = k;
    j->md = !strcmp(kind, "P-384") ? EVP_sha384() : EVP_sha256();
    EVP_MD_CTX *c = EVP_MD_CTX_new();
    j->siglen = sizeof(j->sig);
    int ok = c && EVP_DigestSignInit(c, NULL, j->md, NULL, k) == 1 &&
             EVP_DigestSign(c, j->sig, &j->siglen, MSG, sizeof(MSG)) == 1;
    EVP_MD_CTX_free(c);
    return ok ? 0 : -1;
}

static int sigjob_verify(const struct sigjob *j) {
    EVP_MD_CTX *c = EVP_MD_CTX_new();
    int ok = c && EVP_DigestVerifyInit(c, NULL, j->md, NULL, j->key) == 1 &&
             EVP_DigestVerify(c, j->sig, j->siglen, MSG, sizeof(MSG)) == 1;
    EVP_MD_CTX_free(c);
    return ok ? 0 : -1;
}

static struct sigjob J256, J384, JRSA;

static int floor_once(const struct floor_spec *f) {
    int rc = 0;
    for (int i = 0; i < f->p256; i++)
        rc |= sigjob_verify(&J256);
    for (int i = 0; i < f->p384; i++)
        rc |= sigjob_verify(&J384);
    for (int i = 0; i < f->rsa2048; i++)
        rc |= sigjob_verify(&JRSA);
    return rc;
}

/* ---- samples from the expectations tables --------------------------------------------- */

static size_t split(char *s, char **tok, size_t max) {
    size_t n = 0;
    for (char *p = s; *p && n < max;) {
        while (*p == ' ')
            *p++ = 0;
        if (!*p) break;
        tok[n++] = p;
        while (*p && *p != ' ')
            p++;
    }
    return n;
}

static bool parse_row(const char *line, const char *evdir, const char *src, struct sample *s) {
    char cols[6][2048];
    size_t c = 0, k = 0;
    for (const char *p = line; *p && *p != '\n' && c < 6; p++) {
        if (*p == '\t') {
            cols[c][k] = 0;
            c++;
            k = 0;
        } else if (k + 1 < sizeof(cols[0])) {
            cols[c][k++] = *p;
        }
    }
    if (c != 5) return false;
    cols[5][k] = 0;
    if (strcmp(cols[4], "0") != 0) return false;
    memset(s, 0, sizeof(*s));
    snprintf(s->id, sizeof(s->id), "%.63s", cols[0]);
    snprintf(s->at, sizeof(s->at), "%.63s", cols[3]);
    size_t used = 0;
    char *evt[MAX_TOK], *fl[MAX_TOK];
    size_t ne = split(cols[1], evt, MAX_TOK);
    size_t nf = strcmp(cols[2], "-") ? split(cols[2], fl, MAX_TOK) : 0;
    for (size_t i = 0; i < ne; i++) {
        int w = snprintf(s->buf + used, sizeof(s->buf) - used, "%s/%s", evdir, evt[i]);
        if (w < 0 || (size_t)w >= sizeof(s->buf) - used) return false;
        s->ev[s->n_ev++] = s->buf + used;
        used += (size_t)w + 1;
    }
    for (size_t i = 0; i + 1 < nf; i += 2) {
        const char *v = fl[i + 1];
        char path[2200];
        if (v[0] == '@')
            snprintf(path, sizeof(path), "%s/tests/policies/%s.json", src, v + 1);
        else if (v[0] == '/')
            snprintf(path, sizeof(path), "%s", v);
        else
            snprintf(path, sizeof(path), "%s/%s", evdir, v);
        if (!strcmp(fl[i], "--certs")) {
            int w = snprintf(s->buf + used, sizeof(s->buf) - used, "%s", path);
            if (w < 0 || (size_t)w >= sizeof(s->buf) - used || s->n_certs >= MAX_TOK) return false;
            s->certs[s->n_certs++] = s->buf + used;
            used += (size_t)w + 1;
        } else if (!strcmp(fl[i], "--collateral")) {
            snprintf(s->collateral, sizeof(s->collateral), "%s", path);
        } else if (!strcmp(fl[i], "--policy")) {
            snprintf(s->policy, sizeof(s->policy), "%s", path);
        } else if (!strcmp(fl[i], "--nonce")) {
            snprintf(s->nonce, sizeof(s->nonce), "%.255s", v);
        } else if (!strcmp(fl[i], "--platform")) {
            snprintf(s->platform, sizeof(s->platform), "%.31s", v);
        } else {
            return false; /* a flag the bench does not model: take another row */
        }
    }
    if (nf % 2) return false;
    return true;
}

struct run {
    struct sb_verify_opts o;
    const char *platform;
    struct sb_blob *ev;
    size_t n_ev;
    sb_policy *pol;
    const struct floor_spec *floor;
};

static int full_once(void *arg) {
    struct run *r = arg;
    json_t *claims = NULL;
    sb_error err = {0};
    if (sb_verify(&r->o, r->platform, r->ev, r->n_ev, NULL, &claims, &err) < 0) {
        fprintf(stderr, "bench_verify: %s\n", err.msg);
        return -1;
    }
    struct sb_appraisal a = {0};
    struct sb_appraise_ctx ctx = {.at = r->o.at, .nonce = r->o.nonce, .nonce_len = r->o.nonce_len};
    int rc = sb_policy_appraise(r->pol, claims, &ctx, &a, &err);
    sb_appraisal_clear(&a);
    json_decref(claims);
    return rc;
}

static int verify_only(void *arg) {
    struct run *r = arg;
    json_t *claims = NULL;
    sb_error err = {0};
    int rc = sb_verify(&r->o, r->platform, r->ev, r->n_ev, NULL, &claims, &err);
    json_decref(claims);
    return rc;
}

static int floor_fn(void *arg) { return floor_once(((struct run *)arg)->floor); }

#define ROUNDS 8
static int rates_interleaved(struct run *r, int (*fns[4])(void *), const char *plat[4],
                             double out[4]) {
    uint64_t ns[4] = {0}, n[4] = {0};
    for (int round = 0; round < ROUNDS; round++) {
        for (int f = 0; f < 4; f++) {
            r->platform = plat[f];
            uint64_t t0 = sb_mono_ns(), dt;
            do {
                if (fns[f](r) != 0) return -1;
                n[f]++;
                dt = sb_mono_ns() - t0;
            } while (dt < MIN_NS / ROUNDS);
            ns[f] += dt;
        }
    }
    r->platform = plat[0];
    for (int f = 0; f < 4; f++)
        out[f] = (double)n[f] * 1e9 / (double)ns[f];
    return 0;
}

static void bench_sample(struct sample *s, const char *plat_hint) {
    struct run r = {0};
    sb_error err = {0};
    r.platform = s->platform[0] ? s->platform : NULL;
    struct sb_blob *certs = NULL;
    _cleanup_free_ uint8_t *nonce = NULL;
    if (sb_blobs_load(s->ev, s->n_ev, &r.ev, &err) < 0 ||
        sb_blobs_load(s->certs, s->n_certs, &certs, &err) < 0 ||
        (s->policy[0] ? sb_policy_load(s->policy, &r.pol, &err) : sb_policy_default(&r.pol, &err)) <
            0 ||
        (strcmp(s->at, "-") && sb_time_parse(s->at, &r.o.at, &err) < 0) ||
        (s->nonce[0] &&
         sb_hex_decode(s->nonce, strlen(s->nonce), &nonce, &r.o.nonce_len, &err) < 0)) {
        printf("  %-8s %-28s skipped: %s\n", plat_hint, s->id, err.msg);
        goto out;
    }
    if (!strcmp(s->at, "-")) r.o.at = sb_time_now();
    r.o.certs = certs;
    r.o.n_certs = s->n_certs;
    r.o.collateral_dir = s->collateral[0] ? s->collateral : NULL;
    r.o.nonce = nonce;
    r.n_ev = s->n_ev;
    for (size_t i = 0; i < SB_ARRAY_LEN(FLOORS); i++)
        if (!strcmp(FLOORS[i].platform, plat_hint)) r.floor = &FLOORS[i];
    if (!r.floor) {
        printf("  %-8s %-28s skipped: no crypto floor defined for this platform\n", plat_hint,
               s->id);
        goto out;
    }
    (void)full_once(&r); /* warm the chain cache */
    /* The four figures are measured interleaved, in rounds, so that noise from other
     * processes on the machine hits them alike. */
    int (*fns[4])(void *) = {full_once, verify_only, verify_only, floor_fn};
    const char *plat[4] = {r.platform, r.platform, plat_hint, r.platform};
    double rates[4];
    if (rates_interleaved(&r, fns, plat, rates) < 0) {
        printf("  %-8s %-28s failed to verify during the run\n", plat_hint, s->id);
        goto out;
    }
    double full = rates[0], vonly = rates[1], forced = rates[2], flo = rates[3];
    printf("  %-8s %-22s %6.0f/s (%6.3f ms; detection %4.1f%%, policy %4.1f%%)  floor %6.0f/s "
           "[%s]  ratio %.2f%s\n",
           plat_hint, s->id, full, 1e3 / full, 100.0 * (1.0 - vonly / forced),
           100.0 * (1.0 - full / vonly), flo, r.floor->what, full / flo,
           full / flo >= 0.8 ? "" : " (goal 0.8 not met)");
out:
    sb_blobs_free(r.ev, s->n_ev);
    sb_blobs_free(certs, s->n_certs);
    sb_policy_free(r.pol);
}

int main(void) {
    const char *evdir = getenv("SEALBOX_EVIDENCE_DIR");
    const char *src = getenv("SEALBOX_SOURCE_DIR");
    if (!src) src = ".";
    char evbuf[1024];
    if (!evdir) {
        snprintf(evbuf, sizeof(evbuf), "%s/../shared/evidence", src);
        evdir = evbuf;
    }
    DIR *probe = opendir(evdir);
    if (!probe) {
        printf("bench_verify: evidence corpus not found at %s (set SEALBOX_EVIDENCE_DIR); "
               "skipped\n",
               evdir);
        return 0;
    }
    closedir(probe);
    if (sigjob_init(&J256, "P-256") || sigjob_init(&J384, "P-384") || sigjob_init(&JRSA, "rsa")) {
        fprintf(stderr, "bench_verify: cannot set up the crypto floor\n");
        return 1;
    }
    printf("bench_verify: full path (sb_verify + policy) vs the crypto floor, same run; goal "
           "ratio >= 0.8\n");
    const struct sb_verifier *const *v = sb_verifiers();
    for (size_t i = 0; v[i]; i++) {
        /* the first affirming row whose verifier is this one */
        char tsvdir[1200];
        snprintf(tsvdir, sizeof(tsvdir), "%s/tests/expectations", src);
        DIR *d = opendir(tsvdir);
        bool done = false;
        struct dirent *e;
        while (d && !done && (e = readdir(d))) {
            size_t l = strlen(e->d_name);
            if (l < 5 || strcmp(e->d_name + l - 4, ".tsv")) continue;
            char path[2400];
            snprintf(path, sizeof(path), "%s/%s", tsvdir, e->d_name);
            FILE *f = fopen(path, "r");
            char line[4096];
            while (f && !done && fgets(line, sizeof(line), f)) {
                if (line[0] == '#') continue;
                static struct sample s;
                if (!parse_row(line, evdir, src, &s)) continue;
                struct sb_blob *ev = NULL;
                sb_error err = {0};
                if (sb_blobs_load(s.ev, s.n_ev, &ev, &err) < 0) continue;
                const struct sb_verifier *pick = NULL;
                if (s.platform[0])
                    pick = sb_verifier_find(s.platform);
                else if (sb_verify_detect(ev, s.n_ev, &pick, &err) < 0)
                    pick = NULL;
                sb_blobs_free(ev, s.n_ev);
                if (pick != v[i]) continue;
                bench_sample(&s, v[i]->name);
                done = true;
            }
            if (f) fclose(f);
        }
        if (d) closedir(d);
        if (!done) printf("  %-8s no affirming expectations row to benchmark\n", v[i]->name);
    }
    EVP_PKEY_free(J256.key);
    EVP_PKEY_free(J384.key);
    EVP_PKEY_free(JRSA.key);
    return 0;
}
