/* snp: authenticates AMD SEV-SNP reports — VCEK/VLEK selected by key_info, its chain through
 * ASK/ASVK to the pinned ARK of its product at the verification time, the P-384 report
 * signature, REPORTED_TCB and CHIP_ID against the certificate — and emits normalized claims. */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "crypto/crypto.h"
#include "evidence/evidence.h"
#include "snp_internal.h"
#include "verify.h"

#define SNP_CERTS_MAX 24   /* certificates considered in one verification, from all sources */
#define SNP_CACHE_SLOTS 16 /* verified chains kept by a long-lived sb_snp_verifier */
#define SNP_SOURCE_MAX 96
#define SNP_CRL_FILES_MAX 16 /* CRL files read from one --collateral directory */

/* AMD KDS spec 57230, "VCEK certificate extensions". */
#define OID_PRODUCT_NAME "1.3.6.1.4.1.3704.1.2"
#define OID_BL_SPL "1.3.6.1.4.1.3704.1.3.1"
#define OID_TEE_SPL "1.3.6.1.4.1.3704.1.3.2"
#define OID_SNP_SPL "1.3.6.1.4.1.3704.1.3.3"
#define OID_UCODE_SPL "1.3.6.1.4.1.3704.1.3.8"
#define OID_FMC_SPL "1.3.6.1.4.1.3704.1.3.9"
#define OID_HWID "1.3.6.1.4.1.3704.1.4"
#define OID_CSP_ID "1.3.6.1.4.1.3704.1.5"

enum role { ROLE_VCEK, ROLE_VLEK, ROLE_ASK, ROLE_ASVK, ROLE_ARK, ROLE_OTHER };

static const char *role_name(enum role r) {
    switch (r) {
    case ROLE_VCEK: return "VCEK";
    case ROLE_VLEK: return "VLEK";
    case ROLE_ASK: return "ASK";
    case ROLE_ASVK: return "ASVK";
    case ROLE_ARK: return "ARK";
    default: return "other";
    }
}

/* One certificate offered for this verification, classified by its subject CN. */
struct cand {
    sb_cert *cert;
    enum role role;
    enum sb_snp_product product; /* of the CA certs (from the CN); 0 for leaves */
    char cn[64];
    char source[SNP_SOURCE_MAX];
};

struct certset {
    struct cand c[SNP_CERTS_MAX];
    size_t n;
};

struct coll {
    const char *kind; /* "vcek", "vlek", "ask", "asvk", "ark" */
    char *subject, *issuer;
    int64_t not_before, not_after;
    char source[SNP_SOURCE_MAX];
};

/* Everything learned from the certificates; independent of the report, so it can be cached. */
struct chain_result {
    enum role vek_role;
    enum sb_snp_product product;
    sb_pubkey *pub;
    struct sb_snp_tcb tcb; /* the VEK's TCB extensions */
    uint8_t hwid[64];
    size_t hwid_len; /* 0 for a VLEK */
    char csp_id[128];
    int64_t not_before, not_after; /* intersection of the chain's windows */
    struct coll coll[3];
    size_t n_coll;
    sb_cert *vek_cert, *inter_cert; /* for revocation: the VEK and the ASK/ASVK used */
    const sb_cert *ark;             /* the pinned ARK (owned by the verifier) */
    json_t *warnings; /* what finding the chain warned about, replayed on a cache hit */
};

struct cache_slot {
    bool used;
    uint8_t key[32];
    uint64_t stamp;
    struct chain_result res;
};

struct sb_snp_verifier {
    sb_cert *anchor[16]; /* parallel to sb_snp_anchors */
    struct cache_slot cache[SNP_CACHE_SLOTS];
    uint64_t clock;
};

/* ---- small helpers ------------------------------------------------------------------------ */

static void chain_result_clear(struct chain_result *r) {
    sb_pubkey_free(r->pub);
    sb_cert_free(r->vek_cert);
    sb_cert_free(r->inter_cert);
    for (size_t i = 0; i < r->n_coll; i++) {
        free(r->coll[i].subject);
        free(r->coll[i].issuer);
    }
    json_decref(r->warnings);
    memset(r, 0, sizeof(*r));
}

static void certset_clear(struct certset *s) {
    for (size_t i = 0; i < s->n; i++)
        sb_cert_free(s->c[i].cert);
    s->n = 0;
}

static bool all_zero(const uint8_t *p, size_t n) {
    uint8_t acc = 0;
    for (size_t i = 0; i < n; i++)
        acc |= p[i];
    return acc == 0;
}

/* The CN of an RFC 2253 one-line name ("CN=SEV-VCEK,O=...,C=US"). */
static void name_cn(const char *name, char *out, size_t outsz) {
    out[0] = '\0';
    if (!name) return;
    for (const char *p = name; *p; p++) {
        if ((p == name || p[-1] == ',') && strncmp(p, "CN=", 3) == 0) {
            const char *v = p + 3;
            size_t k = 0;
            while (v[k] && !(v[k] == ',' && (k == 0 || v[k - 1] != '\\')))
                k++;
            (void)snprintf(out, outsz, "%.*s", (int)k, v);
            return;
        }
    }
}

static void cert_cn(const sb_cert *c, bool issuer, char *out, size_t outsz) {
    char *n = issuer ? sb_cert_issuer(c) : sb_cert_subject(c);
    name_cn(n, out, outsz);
    free(n);
}

/* AMD names: SEV-VCEK, SEV-VLEK (leaves); SEV-<P> (ASK), SEV-VLEK-<P> (ASVK), ARK-<P>. */
static enum role classify(const char *cn, enum sb_snp_product *prod) {
    *prod = SB_SNP_PRODUCT_UNKNOWN;
    if (strcmp(cn, "SEV-VCEK") == 0) return ROLE_VCEK;
    if (strcmp(cn, "SEV-VLEK") == 0) return ROLE_VLEK;
    if (strncmp(cn, "SEV-VLEK-", 9) == 0) {
        *prod = sb_snp_product_from_name(cn + 9, strlen(cn + 9));
        return *prod ? ROLE_ASVK : ROLE_OTHER;
    }
    if (strncmp(cn, "SEV-", 4) == 0) {
        *prod = sb_snp_product_from_name(cn + 4, strlen(cn + 4));
        return *prod ? ROLE_ASK : ROLE_OTHER;
    }
    if (strncmp(cn, "ARK-", 4) == 0) {
        *prod = sb_snp_product_from_name(cn + 4, strlen(cn + 4));
        return *prod ? ROLE_ARK : ROLE_OTHER;
    }
    return ROLE_OTHER;
}

static int certset_add(struct certset *s, sb_cert *c, const char *source, json_t *claims,
                       sb_error *err) {
    if (s->n >= SNP_CERTS_MAX) {
        sb_cert_free(c);
        BAIL(err, SB_E_LIMIT, "snp: more than %u certificates offered", SNP_CERTS_MAX);
    }
    struct cand *k = &s->c[s->n];
    memset(k, 0, sizeof(*k));
    k->cert = c;
    cert_cn(c, false, k->cn, sizeof(k->cn));
    k->role = classify(k->cn, &k->product);
    (void)snprintf(k->source, sizeof(k->source), "%s", source);
    if (k->role == ROLE_OTHER && claims)
        (void)sb_claims_warn(claims,
                             "snp: certificate CN=%s from %s is not an AMD SEV "
                             "certificate; ignored",
                             k->cn, source);
    s->n++;
    return 0;
}

static bool looks_pem(const uint8_t *p, size_t n) {
    return memmem(p, n, "-----BEGIN CERTIFICATE-----", 27) != NULL;
}

/* One blob: a DER certificate, or PEM with one or more certificates. */
static int certset_load(struct certset *s, const uint8_t *p, size_t n, const char *source,
                        json_t *claims, sb_error *err) {
    if (looks_pem(p, n)) {
        sb_cert **v = NULL;
        size_t cnt = 0;
        size_t room = SNP_CERTS_MAX - s->n;
        if (room == 0)
            BAIL(err, SB_E_LIMIT, "snp: more than %u certificates offered", SNP_CERTS_MAX);
        int rc = sb_certs_from_pem(p, n, room, &v, &cnt, err);
        if (rc < 0) {
            (void)sb_error_prefix(err, "snp: %s", source);
            return rc;
        }
        for (size_t i = 0; i < cnt; i++) {
            rc = certset_add(s, v[i], source, claims, err);
            v[i] = NULL;
            if (rc < 0) {
                sb_certs_free(v, cnt);
                return rc;
            }
        }
        sb_certs_free(v, cnt);
        return 0;
    }
    /* CRLs are read by the revocation check (check_revocation), not here. */
    if (memmem(p, n, "-----BEGIN X509 CRL-----", 24) != NULL) return 0;
    sb_cert *c = NULL;
    int rc = sb_cert_from_der(p, n, &c, err);
    if (rc < 0) {
        sb_crl *crl = NULL;
        if (sb_crl_from_der(p, n, &crl, NULL) == 0) {
            sb_crl_free(crl);
            return 0;
        }
        (void)sb_error_prefix(err, "snp: %s is not a certificate or CRL (DER or PEM)", source);
        return rc;
    }
    return certset_add(s, c, source, claims, err);
}

/* ---- extensions ----------------------------------------------------------------------------- */

/* A small non-negative DER INTEGER (an SPL) inside an extension value. */
static int ext_spl(const sb_cert *c, const char *oid, const char *name, uint8_t *out,
                   sb_error *err) {
    const uint8_t *p;
    size_t n;
    int rc = sb_cert_ext(c, oid, &p, &n, err);
    if (rc == SB_E_NOTFOUND)
        BAIL(err, SB_E_CHAIN, "snp: the VCEK/VLEK has no %s extension (%s)", name, oid);
    TRY(rc);
    sb_reader r;
    sb_reader_init(&r, p, n, "snp: certificate extension", err);
    uint8_t tag;
    sb_reader v;
    TRY(sb_reader_u8(&r, &tag, name));
    ENSURE(tag == 0x02, err, SB_E_MALFORMED, "snp: %s extension is not an INTEGER (tag 0x%02x)",
           name, tag);
    TRY(sb_reader_sub_u8(&r, 2, &v, name));
    TRY(sb_reader_end(&r, name));
    uint8_t b0 = 0, b1 = 0;
    size_t len = sb_reader_remaining(&v);
    ENSURE(len >= 1, err, SB_E_MALFORMED, "snp: %s extension is an empty INTEGER", name);
    TRY(sb_reader_u8(&v, &b0, name));
    if (len == 2) {
        TRY(sb_reader_u8(&v, &b1, name));
        ENSURE(b0 == 0 && b1 >= 0x80, err, SB_E_MALFORMED,
               "snp: %s extension is not a byte-sized INTEGER", name);
        *out = b1;
        return 0;
    }
    ENSURE(b0 < 0x80, err, SB_E_MALFORMED, "snp: %s extension is negative", name);
    *out = b0;
    return 0;
}

/* hwID: raw bytes (64, or 8 on Turin) as AMD issues it, or wrapped in a DER OCTET STRING. */
static int ext_hwid(const sb_cert *c, uint8_t out[64], size_t *outlen, sb_error *err) {
    const uint8_t *p;
    size_t n;
    int rc = sb_cert_ext(c, OID_HWID, &p, &n, err);
    if (rc == SB_E_NOTFOUND)
        BAIL(err, SB_E_CHAIN, "snp: the VCEK has no hwID extension (%s)", OID_HWID);
    TRY(rc);
    sb_reader r;
    sb_reader_init(&r, p, n, "snp: hwID", err);
    size_t want;
    if (n == 64 || n == 8) {
        want = n;
    } else if ((n == 66 && p[0] == 0x04 && p[1] == 64) || (n == 10 && p[0] == 0x04 && p[1] == 8)) {
        TRY(sb_reader_skip(&r, 2, "OCTET STRING header"));
        want = n - 2;
    } else {
        BAIL(err, SB_E_MALFORMED, "snp: the VCEK hwID extension is %zu bytes (64 or 8 expected)",
             n);
    }
    TRY(sb_reader_copy(&r, out, want, "hwID"));
    TRY(sb_reader_end(&r, "hwID"));
    *outlen = want;
    return 0;
}

/* An IA5String/UTF8String extension value, or "" when absent. */
static void ext_string(const sb_cert *c, const char *oid, char *out, size_t outsz) {
    out[0] = '\0';
    const uint8_t *p;
    size_t n;
    if (sb_cert_ext(c, oid, &p, &n, NULL) < 0) return;
    sb_reader r, v;
    sb_reader_init(&r, p, n, "ext", NULL);
    uint8_t tag;
    const uint8_t *s;
    if (sb_reader_u8(&r, &tag, "tag") < 0 || (tag != 0x16 && tag != 0x0c)) return;
    if (sb_reader_sub_u8(&r, outsz - 1, &v, "len") < 0) return;
    size_t len = sb_reader_remaining(&v);
    if (sb_reader_bytes(&v, len, &s, "str") < 0) return;
    for (size_t i = 0; i < len; i++)
        out[i] = (s[i] >= 0x20 && s[i] < 0x7f) ? (char)s[i] : '?';
    out[len] = '\0';
}

/* ---- anchors ----------------------------------------------------------------------------------
 */

static int anchors_load(sb_snp_verifier *v, sb_error *err) {
    if (sb_snp_n_anchors > SB_ARRAY_LEN(v->anchor))
        BAIL(err, SB_E_INTERNAL, "snp: too many anchors");
    for (size_t i = 0; i < sb_snp_n_anchors; i++) {
        const struct sb_snp_anchor *a = &sb_snp_anchors[i];
        TRY(sb_cert_from_pem((const uint8_t *)a->pem, a->pem_len, &v->anchor[i], err));
        uint8_t fp[32];
        char hex[65];
        TRY(sb_cert_fingerprint(v->anchor[i], SB_HASH_SHA256, fp, err));
        sb_hex_encode(fp, sizeof(fp), hex);
        if (strcmp(hex, a->sha256) != 0)
            BAIL(err, SB_E_INTERNAL, "snp: embedded %s does not match its pinned SHA-256 %s", a->cn,
                 a->sha256);
    }
    return 0;
}

int sb_snp_verifier_new(sb_snp_verifier **out, sb_error *err) {
    sb_snp_verifier *v = calloc(1, sizeof(*v));
    if (!v) BAIL(err, SB_E_INTERNAL, "snp: out of memory");
    int rc = anchors_load(v, err);
    if (rc < 0) {
        sb_snp_verifier_free(v);
        return rc;
    }
    *out = v;
    return 0;
}

void sb_snp_verifier_free(sb_snp_verifier *v) {
    if (!v) return;
    for (size_t i = 0; i < SB_ARRAY_LEN(v->anchor); i++)
        sb_cert_free(v->anchor[i]);
    for (size_t i = 0; i < SNP_CACHE_SLOTS; i++)
        chain_result_clear(&v->cache[i].res);
    free(v);
}

static sb_cert *anchor_of(const sb_snp_verifier *v, enum sb_snp_product p,
                          enum sb_snp_anchor_kind k) {
    for (size_t i = 0; i < sb_snp_n_anchors; i++)
        if (sb_snp_anchors[i].product == p && sb_snp_anchors[i].kind == k) return v->anchor[i];
    return NULL;
}

static bool is_pinned_ark(const sb_snp_verifier *v, const sb_cert *c, enum sb_snp_product *p) {
    for (size_t i = 0; i < sb_snp_n_anchors; i++)
        if (sb_snp_anchors[i].kind == SB_SNP_ANCHOR_ARK && sb_cert_equal(v->anchor[i], c)) {
            *p = sb_snp_anchors[i].product;
            return true;
        }
    return false;
}

/* ---- the chain ----------------------------------------------------------------------------------
 */

static int add_coll(struct chain_result *res, const char *kind, const sb_cert *c,
                    const char *source) {
    if (res->n_coll >= SB_ARRAY_LEN(res->coll)) return SB_E_INTERNAL;
    struct coll *k = &res->coll[res->n_coll++];
    k->kind = kind;
    k->subject = sb_cert_subject(c);
    k->issuer = sb_cert_issuer(c);
    k->not_before = sb_cert_not_before(c);
    k->not_after = sb_cert_not_after(c);
    (void)snprintf(k->source, sizeof(k->source), "%s", source);
    if (k->not_before > res->not_before) res->not_before = k->not_before;
    if (k->not_after < res->not_after) res->not_after = k->not_after;
    return 0;
}

/* Verifies one VCEK/VLEK candidate up to the pinned ARK and extracts what the report checks
 * need. The chain is: the VEK, the supplied intermediates when any were supplied (else the
 * pinned ASK/ASVK of the product), and only the pinned ARK as a root. */
static int verify_chain(const sb_snp_verifier *v, const struct certset *s, const struct cand *vek,
                        int64_t at, struct chain_result *res, sb_error *err) {
    const char *vname = role_name(vek->role);
    char issuer_cn[64];
    cert_cn(vek->cert, true, issuer_cn, sizeof(issuer_cn));
    enum sb_snp_product prod;
    enum role irole = classify(issuer_cn, &prod);
    enum role want_irole = vek->role == ROLE_VCEK ? ROLE_ASK : ROLE_ASVK;
    if (irole != want_irole)
        BAIL(err, SB_E_CHAIN, "snp: the %s is issued by '%s', not by an AMD %s", vname, issuer_cn,
             role_name(want_irole));
    char pname[64];
    ext_string(vek->cert, OID_PRODUCT_NAME, pname, sizeof(pname));
    if (pname[0] && sb_snp_product_from_name(pname, strlen(pname)) != prod)
        BAIL(err, SB_E_CHAIN, "snp: the %s names product '%s' but is issued by %s", vname, pname,
             issuer_cn);

    /* What the caller supplied must be consistent with the VEK before anything is trusted. */
    sb_cert *inter[SNP_CERTS_MAX];
    size_t n_inter = 0;
    const struct cand *sup_inter = NULL;
    bool supplied = false;
    for (size_t i = 0; i < s->n; i++) {
        const struct cand *k = &s->c[i];
        if (k->role == ROLE_ARK) {
            enum sb_snp_product ap;
            if (!is_pinned_ark(v, k->cert, &ap))
                BAIL(err, SB_E_CHAIN, "snp: the ARK '%s' from %s is not the pinned AMD root", k->cn,
                     k->source);
            if (ap != prod)
                BAIL(err, SB_E_CHAIN,
                     "snp: the supplied chain is for %s (%s from %s) but the %s was issued by %s "
                     "(%s)",
                     sb_snp_product_name(ap), k->cn, k->source, vname, issuer_cn,
                     sb_snp_product_name(prod));
        } else if (k->role == ROLE_ASK || k->role == ROLE_ASVK) {
            supplied = true;
            if (k->product != prod)
                BAIL(err, SB_E_CHAIN,
                     "snp: the supplied chain is for %s (%s from %s) but the %s was issued by %s "
                     "(%s)",
                     sb_snp_product_name(k->product), k->cn, k->source, vname, issuer_cn,
                     sb_snp_product_name(prod));
            if (strcmp(k->cn, issuer_cn) == 0 && !sup_inter) sup_inter = k;
            inter[n_inter++] = k->cert;
        }
    }
    if (supplied && !sup_inter)
        BAIL(err, SB_E_CHAIN,
             "snp: the %s is issued by %s but the supplied chain has no %s (a %s chains through "
             "the %s)",
             vname, issuer_cn, issuer_cn, vname, role_name(want_irole));
    sb_cert *pinned_inter =
        anchor_of(v, prod, vek->role == ROLE_VCEK ? SB_SNP_ANCHOR_ASK : SB_SNP_ANCHOR_ASVK);
    sb_cert *ark = anchor_of(v, prod, SB_SNP_ANCHOR_ARK);
    if (!pinned_inter || !ark)
        BAIL(err, SB_E_CHAIN, "snp: no pinned AMD root for %s", sb_snp_product_name(prod));
    if (!supplied) inter[n_inter++] = pinned_inter;

    int rc = sb_x509_verify_chain(vek->cert, inter, n_inter, &ark, 1, NULL, 0, at, 0, err);
    if (rc < 0) {
        (void)sb_error_prefix(err, "snp: %s chain to ARK-%s", vname, sb_snp_product_name(prod));
        return rc == SB_E_SIGNATURE ? SB_E_CHAIN : rc;
    }

    memset(res, 0, sizeof(*res));
    res->vek_role = vek->role;
    res->product = prod;
    res->not_before = INT64_MIN;
    res->not_after = INT64_MAX;
    rc = sb_cert_pubkey(vek->cert, &res->pub, err);
    if (rc == 0 &&
        (sb_pubkey_type(res->pub) != SB_KEY_EC || sb_pubkey_curve(res->pub) != SB_CURVE_P384))
        rc = sb_error_set(err, SB_E_CHAIN, "snp: the %s key is not ECDSA P-384", vname);
    if (rc == 0) rc = ext_spl(vek->cert, OID_BL_SPL, "bootloader", &res->tcb.bootloader, err);
    if (rc == 0) rc = ext_spl(vek->cert, OID_TEE_SPL, "tee", &res->tcb.tee, err);
    if (rc == 0) rc = ext_spl(vek->cert, OID_SNP_SPL, "snp", &res->tcb.snp, err);
    if (rc == 0) rc = ext_spl(vek->cert, OID_UCODE_SPL, "microcode", &res->tcb.microcode, err);
    if (rc == 0 && prod == SB_SNP_PRODUCT_TURIN) {
        res->tcb.has_fmc = true;
        rc = ext_spl(vek->cert, OID_FMC_SPL, "fmc", &res->tcb.fmc, err);
    }
    if (rc == 0 && vek->role == ROLE_VCEK) rc = ext_hwid(vek->cert, res->hwid, &res->hwid_len, err);
    if (rc == 0 && vek->role == ROLE_VLEK)
        ext_string(vek->cert, OID_CSP_ID, res->csp_id, sizeof(res->csp_id));
    const sb_cert *used_inter = supplied ? sup_inter->cert : pinned_inter;
    if (rc == 0)
        rc = add_coll(res, vek->role == ROLE_VCEK ? "vcek" : "vlek", vek->cert, vek->source);
    if (rc == 0)
        rc = add_coll(res, vek->role == ROLE_VCEK ? "ask" : "asvk", used_inter,
                      supplied ? sup_inter->source : "pinned");
    if (rc == 0) rc = add_coll(res, "ark", ark, "pinned");
    if (rc == 0) {
        res->vek_cert = sb_cert_dup(vek->cert);
        res->inter_cert = sb_cert_dup(used_inter);
        res->ark = ark;
        if (!res->vek_cert || !res->inter_cert) rc = SB_E_INTERNAL;
    }
    if (rc < 0) {
        chain_result_clear(res);
        if (err && err->code == 0) (void)sb_error_set(err, rc, "snp: out of memory");
        return rc;
    }
    return 0;
}

/* ---- the report checks ---------------------------------------------------------------------- */

static int check_tcb(const struct sb_snp_report *r, const struct chain_result *cr, sb_error *err) {
    struct sb_snp_tcb t;
    sb_snp_tcb_decode(r->reported_tcb, cr->product, &t);
    const char *v = role_name(cr->vek_role);
    const struct {
        const char *name;
        uint8_t rep, cert;
        bool used;
    } c[] = {{"fmc", t.fmc, cr->tcb.fmc, t.has_fmc},
             {"bootloader", t.bootloader, cr->tcb.bootloader, true},
             {"tee", t.tee, cr->tcb.tee, true},
             {"snp", t.snp, cr->tcb.snp, true},
             {"microcode", t.microcode, cr->tcb.microcode, true}};
    for (size_t i = 0; i < SB_ARRAY_LEN(c); i++)
        if (c[i].used && c[i].rep != c[i].cert)
            BAIL(err, SB_E_SIGNATURE, "snp: REPORTED_TCB %s %u != %s %s %u", c[i].name, c[i].rep, v,
                 c[i].name, c[i].cert);
    return 0;
}

static int check_chip(const struct sb_snp_report *r, const struct chain_result *cr, json_t *claims,
                      sb_error *err) {
    if (cr->vek_role != ROLE_VCEK) return 0; /* a VLEK is not bound to a chip */
    if (all_zero(r->chip_id, sizeof(r->chip_id))) {
        (void)sb_claims_warn(claims, "snp: CHIP_ID is zero (MASK_CHIP_ID); it was not compared "
                                     "with the VCEK hwID");
        return 0;
    }
    /* Turin VCEKs carry the 8-byte silicon ID; the rest of CHIP_ID is not part of it. */
    if (!sb_ct_equal(r->chip_id, cr->hwid, cr->hwid_len)) {
        char a[17], b[17];
        sb_hex_encode(r->chip_id, 8, a);
        sb_hex_encode(cr->hwid, 8, b);
        BAIL(err, SB_E_SIGNATURE, "snp: CHIP_ID %s... != VCEK hwID %s...", a, b);
    }
    return 0;
}

static int check_signature(const struct sb_snp_report *r, const struct chain_result *cr,
                           sb_error *err) {
    sb_reader rd;
    const uint8_t *sig;
    sb_reader_init(&rd, r->raw, sizeof(r->raw), "snp", err);
    TRY(sb_reader_skip(&rd, SB_SNP_SIG_OFFSET, "signed region"));
    TRY(sb_reader_bytes(&rd, 2 * SB_SNP_SIG_COMPONENT_LEN, &sig, "signature"));
    int rc = sb_ecdsa_verify(cr->pub, SB_HASH_SHA384, r->raw, SB_SNP_SIGNED_LEN, sig,
                             2 * SB_SNP_SIG_COMPONENT_LEN, SB_ECDSA_RAW_LE, err);
    if (rc < 0) {
        (void)sb_error_prefix(err, "snp: report signature (P-384 over [0,0x2A0)) with the %s",
                              role_name(cr->vek_role));
        return SB_E_SIGNATURE;
    }
    return 0;
}

/* ---- claims ------------------------------------------------------------------------------------
 */

static json_t *tcb_json(uint64_t raw, enum sb_snp_product p) {
    struct sb_snp_tcb t;
    sb_snp_tcb_decode(raw, p, &t);
    json_t *o = json_pack("{s:i, s:i, s:i, s:i}", "bootloader", t.bootloader, "tee", t.tee, "snp",
                          t.snp, "microcode", t.microcode);
    if (o && t.has_fmc) json_object_set_new(o, "fmc", json_integer(t.fmc));
    return o;
}

static int fill_claims(json_t *c, const struct sb_snp_report *r, const struct chain_result *cr) {
    int rc = 0;
    const enum sb_snp_product p = cr->product;
    struct sb_snp_tcb t;
    sb_snp_tcb_decode(r->reported_tcb, p, &t);
    char ver[32];
    rc |= json_object_set_new(c, "version", json_integer(r->version));
    rc |= sb_claims_set_hex(c, "measurements", "measurement", r->measurement, 48);
    rc |= sb_claims_set_hex(c, NULL, "report_data", r->report_data, 64);
    json_t *comp = tcb_json(r->reported_tcb, p);
    json_t *tcb = json_object_get(c, "tcb");
    if (!comp || !json_is_object(tcb) || json_object_set_new(tcb, "components", comp) < 0)
        return SB_E_INTERNAL;
    rc |= sb_claims_set_bool(c, NULL, "debug", (r->policy >> 19) & 1u);
    rc |= sb_claims_set_hex(c, "signer", "id_key_digest", r->id_key_digest, 48);
    rc |= sb_claims_set_hex(c, "signer", "author_key_digest", r->author_key_digest, 48);
    rc |= sb_claims_set_bool(c, "signer", "author_key_en", r->author_key_en);
    rc |= sb_claims_set_int(c, "signer", "guest_svn", r->guest_svn);
    rc |= sb_claims_set_str(c, NULL, "product", sb_snp_product_name(p));
    rc |= sb_claims_set_hex(c, NULL, "init_data", r->host_data, 32);
    rc |= sb_claims_set_hex(c, "platform_identity", "chip_id", r->chip_id, 64);
    rc |= sb_claims_set_str(c, "platform_identity", "signing_key",
                            cr->vek_role == ROLE_VCEK ? "vcek" : "vlek");
    if (cr->csp_id[0]) rc |= sb_claims_set_str(c, "platform_identity", "csp_id", cr->csp_id);
    const char *pc = "platform_claims";
    rc |= sb_claims_set_int(c, pc, "policy", (int64_t)r->policy);
    rc |= sb_claims_set_int(c, pc, "policy_abi_minor", (int64_t)(r->policy & 0xff));
    rc |= sb_claims_set_int(c, pc, "policy_abi_major", (int64_t)((r->policy >> 8) & 0xff));
    rc |= sb_claims_set_bool(c, pc, "policy_smt", (r->policy >> 16) & 1u);
    rc |= sb_claims_set_bool(c, pc, "policy_migrate_ma", (r->policy >> 18) & 1u);
    rc |= sb_claims_set_bool(c, pc, "policy_debug", (r->policy >> 19) & 1u);
    rc |= sb_claims_set_bool(c, pc, "policy_single_socket", (r->policy >> 20) & 1u);
    rc |= sb_claims_set_int(c, pc, "vmpl", r->vmpl);
    rc |= sb_claims_set_int(c, pc, "platform_info", (int64_t)r->platform_info);
    rc |= sb_claims_set_bool(c, pc, "platform_smt_enabled", r->platform_info & 1u);
    rc |= sb_claims_set_bool(c, pc, "platform_tsme_enabled", (r->platform_info >> 1) & 1u);
    rc |= sb_claims_set_bool(c, pc, "platform_ecc_enabled", (r->platform_info >> 2) & 1u);
    rc |= sb_claims_set_bool(c, pc, "platform_rapl_disabled", (r->platform_info >> 3) & 1u);
    rc |= sb_claims_set_bool(c, pc, "platform_ciphertext_hiding", (r->platform_info >> 4) & 1u);
    rc |= sb_claims_set_hex(c, pc, "family_id", r->family_id, 16);
    rc |= sb_claims_set_hex(c, pc, "image_id", r->image_id, 16);
    rc |= sb_claims_set_hex(c, pc, "report_id", r->report_id, 32);
    rc |= sb_claims_set_hex(c, pc, "report_id_ma", r->report_id_ma, 32);
    rc |= sb_claims_set_int(c, pc, "key_info", r->key_info);
    rc |= sb_claims_set_int(c, pc, "sig_algo", r->sig_algo);
    (void)snprintf(ver, sizeof(ver), "%u.%u.%u", r->current_major, r->current_minor,
                   r->current_build);
    rc |= sb_claims_set_str(c, pc, "current_version", ver);
    (void)snprintf(ver, sizeof(ver), "%u.%u.%u", r->committed_major, r->committed_minor,
                   r->committed_build);
    rc |= sb_claims_set_str(c, pc, "committed_version", ver);
    json_t *pcs = json_object_get(c, pc);
    if (!json_is_object(pcs)) return SB_E_INTERNAL;
    rc |= json_object_set_new(pcs, "current_tcb", tcb_json(r->current_tcb, p));
    rc |= json_object_set_new(pcs, "committed_tcb", tcb_json(r->committed_tcb, p));
    rc |= json_object_set_new(pcs, "launch_tcb", tcb_json(r->launch_tcb, p));
    if (r->version >= 3) {
        rc |= sb_claims_set_int(c, pc, "cpuid_fam_id", r->cpuid_fam_id);
        rc |= sb_claims_set_int(c, pc, "cpuid_mod_id", r->cpuid_mod_id);
        rc |= sb_claims_set_int(c, pc, "cpuid_step", r->cpuid_step);
    }
    if (r->version >= 5) {
        char h[17];
        (void)snprintf(h, sizeof(h), "%016llx", (unsigned long long)r->launch_mit_vector);
        rc |= sb_claims_set_str(c, pc, "launch_mit_vector", h);
        (void)snprintf(h, sizeof(h), "%016llx", (unsigned long long)r->current_mit_vector);
        rc |= sb_claims_set_str(c, pc, "current_mit_vector", h);
    }
    for (size_t i = 0; i < cr->n_coll; i++) {
        const struct coll *k = &cr->coll[i];
        rc |= sb_claims_add_collateral(c, k->kind, k->subject, k->issuer, k->not_before,
                                       k->not_after, k->source);
    }
    return rc ? SB_E_INTERNAL : 0;
}

/* ---- revocation: AMD's CRLs, offline ------------------------------------------------------ */

/* Preference among CRLs of one issuer at `at`: one whose window holds `at` (newest first), then
 * the newest issued before `at`, then the oldest. */
static int crl_rank(const sb_crl *x, int64_t at) {
    int64_t tu = sb_crl_this_update(x), nu = sb_crl_next_update(x);
    if (tu <= at && (nu == 0 || at <= nu)) return 2;
    return tu <= at ? 1 : 0;
}

int sb_snp_crl_check(const sb_cert *issuer, const sb_cert *subject, const char *what,
                     const struct sb_blob *crls, size_t n_crls, int64_t at, json_t *claims,
                     bool *checked, sb_error *err) {
    *checked = false;
    _cleanup_free_ char *iname = sb_cert_subject(issuer);
    if (!iname) BAIL(err, SB_E_INTERNAL, "snp: out of memory");
    char icn[64];
    name_cn(iname, icn, sizeof(icn));
    sb_crl *best = NULL;
    const char *best_src = NULL;
    int rc = 0;
    for (size_t i = 0; i < n_crls && rc == 0; i++) {
        sb_crl *x = NULL;
        if (sb_crl_load(crls[i].data, crls[i].len, &x, NULL) < 0) continue; /* not a CRL */
        char *xi = sb_crl_issuer(x);
        bool mine = xi && strcmp(xi, iname) == 0;
        free(xi);
        if (!mine) {
            sb_crl_free(x);
            continue;
        }
        /* Every CRL naming this issuer must carry its signature: a forged one is an error,
         * never a CRL that is quietly skipped. */
        if (sb_crl_check_signed_by(x, issuer, err) < 0) {
            sb_crl_free(x);
            rc = sb_error_prefix(err, "snp: the CRL %s (issuer %s) does not verify with the %s%s",
                                 crls[i].name, icn, icn,
                                 strncmp(icn, "ARK-", 4) == 0 ? " pinned in sealbox" : "");
            rc = SB_E_CHAIN;
            if (err) err->code = SB_E_CHAIN;
            break;
        }
        if (!best || crl_rank(x, at) > crl_rank(best, at) ||
            (crl_rank(x, at) == crl_rank(best, at) &&
             sb_crl_this_update(x) > sb_crl_this_update(best))) {
            sb_crl_free(best);
            best = x;
            best_src = crls[i].name;
        } else {
            sb_crl_free(x);
        }
    }
    if (rc < 0 || !best) {
        sb_crl_free(best);
        return rc;
    }
    if (sb_crl_revokes(best, subject)) {
        _cleanup_free_ char *serial = sb_cert_serial_hex(subject);
        _cleanup_free_ char *sname = sb_cert_subject(subject);
        char scn[64];
        name_cn(sname, scn, sizeof(scn));
        char tu[32];
        sb_time_format(sb_crl_this_update(best), tu);
        sb_crl_free(best);
        BAIL(err, SB_E_CHAIN,
             "snp: the %s %s (serial %s) is revoked by the %s CRL %s (thisUpdate %s)", what, scn,
             serial ? serial : "?", icn, best_src, tu);
    }
    int64_t tu = sb_crl_this_update(best), nu = sb_crl_next_update(best);
    char subj[96];
    (void)snprintf(subj, sizeof(subj), "%s CRL", icn);
    rc = sb_claims_add_collateral(claims, "crl", subj, iname, tu, nu, best_src);
    char ts[32];
    if (rc == 0 && nu && at > nu) {
        sb_time_format(nu, ts);
        rc = sb_claims_warn(claims, "snp: the %s CRL %s has expired (nextUpdate %s)", icn, best_src,
                            ts);
    }
    if (rc == 0 && at < tu) {
        sb_time_format(tu, ts);
        rc = sb_claims_warn(claims, "snp: the %s CRL %s is not yet valid (thisUpdate %s)", icn,
                            best_src, ts);
    }
    sb_crl_free(best);
    if (rc < 0) BAIL(err, SB_E_INTERNAL, "snp: out of memory");
    *checked = true;
    return 0;
}

static bool name_has_crl(const char *n) {
    for (size_t i = 0; n[i] && n[i + 1] && n[i + 2]; i++)
        if ((n[i] | 0x20) == 'c' && (n[i + 1] | 0x20) == 'r' && (n[i + 2] | 0x20) == 'l')
            return true;
    return false;
}

struct crl_inputs {
    struct sb_blob b[2 * SB_VERIFY_MAX_FILES + SB_SNP_CERTS_MAX + SNP_CRL_FILES_MAX];
    size_t n;
    uint8_t *owned[SNP_CRL_FILES_MAX];
    char *names[SNP_CRL_FILES_MAX];
    size_t n_owned;
};

static void crl_inputs_clear(struct crl_inputs *ci) {
    for (size_t i = 0; i < ci->n_owned; i++) {
        free(ci->owned[i]);
        free(ci->names[i]);
    }
    ci->n_owned = ci->n = 0;
}

/* The files of dir whose name contains "crl" (the cache names them crl-ark-<product>.der). */
static int crl_inputs_dir(struct crl_inputs *ci, const char *dir, sb_error *err) {
    DIR *d = opendir(dir);
    if (!d) BAIL(err, SB_E_IO, "snp: --collateral %s: %s", dir, strerror(errno));
    struct dirent *de;
    int rc = 0;
    while (rc == 0 && (de = readdir(d)) != NULL) {
        if (de->d_name[0] == '.' || !name_has_crl(de->d_name)) continue;
        if (ci->n_owned >= SNP_CRL_FILES_MAX) {
            rc = sb_error_set(err, SB_E_LIMIT,
                              "snp: --collateral %s has more than %u files named *crl*", dir,
                              SNP_CRL_FILES_MAX);
            break;
        }
        char path[4096];
        int w = snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
        struct stat st;
        if (w < 0 || (size_t)w >= sizeof(path) || stat(path, &st) != 0 || !S_ISREG(st.st_mode))
            continue;
        uint8_t *data = NULL;
        size_t len = 0;
        if (sb_read_file(path, SB_COLLATERAL_MAX_FILE, &data, &len, NULL) < 0) continue;
        char *name = strdup(path);
        if (!name) {
            free(data);
            rc = sb_error_set(err, SB_E_INTERNAL, "snp: out of memory");
            break;
        }
        ci->owned[ci->n_owned] = data;
        ci->names[ci->n_owned++] = name;
        ci->b[ci->n++] = (struct sb_blob){.name = name, .data = data, .len = len};
    }
    closedir(d);
    return rc;
}

/* Revocation of the chain used, offline: AMD publishes the ARK-signed CRL of each product
 * (KDS /vcek/v1/{product}/crl), which revokes ASKs/ASVKs; a CRL issued by the ASK, if given, is
 * checked against the VCEK/VLEK too. CRLs come from the evidence (auxblob entries, further
 * files), --certs, and the --collateral directory. No ARK CRL: "unchecked", with a warning. */
static int check_revocation(const struct sb_snp_evidence *e, const struct sb_blob *certs,
                            size_t n_certs, const struct sb_verify_opts *o,
                            const struct chain_result *cr, json_t *claims, sb_error *err) {
    struct crl_inputs *ci = calloc(1, sizeof(*ci));
    if (!ci) BAIL(err, SB_E_INTERNAL, "snp: out of memory");
    for (size_t i = 0; i < e->n_certs && ci->n < SB_ARRAY_LEN(ci->b); i++)
        if (e->certs[i].kind == SB_SNP_CERT_CRL)
            ci->b[ci->n++] = (struct sb_blob){
                .name = "auxblob crl", .data = e->certs[i].data, .len = e->certs[i].len};
    for (size_t i = 0; i < n_certs && ci->n < SB_ARRAY_LEN(ci->b); i++)
        ci->b[ci->n++] = certs[i];
    for (size_t i = 0; i < o->n_certs && ci->n < SB_ARRAY_LEN(ci->b); i++)
        ci->b[ci->n++] = o->certs[i];
    int rc = o->collateral_dir ? crl_inputs_dir(ci, o->collateral_dir, err) : 0;
    const char *inter = cr->vek_role == ROLE_VCEK ? "ASK" : "ASVK";
    bool ark_checked = false, inter_checked = false;
    if (rc == 0)
        rc = sb_snp_crl_check(cr->ark, cr->inter_cert, inter, ci->b, ci->n, o->at, claims,
                              &ark_checked, err);
    if (rc == 0)
        rc = sb_snp_crl_check(cr->inter_cert, cr->vek_cert, role_name(cr->vek_role), ci->b, ci->n,
                              o->at, claims, &inter_checked, err);
    crl_inputs_clear(ci);
    free(ci);
    TRY(rc);
    if (sb_claims_set_str(claims, "platform_claims", "revocation",
                          ark_checked ? "checked" : "unchecked") < 0)
        BAIL(err, SB_E_INTERNAL, "snp: out of memory");
    if (!ark_checked)
        (void)sb_claims_warn(claims,
                             "snp: revocation unchecked: no ARK-%s CRL was given (AMD KDS "
                             "/vcek/v1/%s/crl: --collateral DIR or 'sealbox collateral import'), "
                             "so a revoked %s would not be noticed",
                             sb_snp_product_name(cr->product), sb_snp_product_name(cr->product),
                             inter);
    return 0;
}

/* ---- the VCEK from the collateral cache ---------------------------------------------------- */

/* Calls fn for each file of dir named as this report's VCEK (see vcek_from_cache), in
 * directory order; looked gets the pattern looked for. */
typedef int (*vcek_file_fn)(void *arg, const char *name, const uint8_t *data, size_t len,
                            sb_error *err);

static int vcek_cache_scan(const struct sb_snp_report *r, const char *dir, char *looked,
                           size_t looked_sz, vcek_file_fn fn, void *arg, sb_error *err) {
    looked[0] = 0;
    if (all_zero(r->chip_id, sizeof(r->chip_id))) return 0;
    char chip[17];
    sb_hex_encode(r->chip_id, 8, chip);
    enum sb_snp_product cp = sb_snp_product_from_cpuid(r);
    static const enum sb_snp_product all[] = {SB_SNP_PRODUCT_MILAN, SB_SNP_PRODUCT_GENOA,
                                              SB_SNP_PRODUCT_TURIN};
    char want[3][96], prefix[3][32];
    size_t n_want = 0;
    for (size_t i = 0; i < SB_ARRAY_LEN(all); i++) {
        if (cp != SB_SNP_PRODUCT_UNKNOWN && all[i] != cp) continue;
        struct sb_snp_tcb t;
        sb_snp_tcb_decode(r->reported_tcb, all[i], &t);
        char pn[16];
        (void)snprintf(pn, sizeof(pn), "%s", sb_snp_product_name(all[i]));
        for (size_t k = 0; pn[k]; k++)
            if (pn[k] >= 'A' && pn[k] <= 'Z') pn[k] = (char)(pn[k] - 'A' + 'a');
        (void)snprintf(prefix[n_want], sizeof(prefix[n_want]), "vcek-%s", pn);
        (void)snprintf(want[n_want], sizeof(want[n_want]), "-%s-bl%u-tee%u-snp%u-uc%u.", chip,
                       t.bootloader, t.tee, t.snp, t.microcode);
        if (!looked[0])
            (void)snprintf(looked, looked_sz, "%s*%s{der,pem}", prefix[n_want], want[n_want]);
        n_want++;
    }
    DIR *d = opendir(dir);
    if (!d) BAIL(err, SB_E_IO, "snp: --collateral %s: %s", dir, strerror(errno));
    struct dirent *de;
    int rc = 0;
    while (rc == 0 && (de = readdir(d)) != NULL) {
        const char *nm = de->d_name;
        bool match = false;
        for (size_t i = 0; i < n_want && !match; i++) {
            const char *hit = strstr(nm, want[i]);
            const char *ext = hit ? hit + strlen(want[i]) : NULL;
            match = strncmp(nm, prefix[i], strlen(prefix[i])) == 0 && ext &&
                    (strcmp(ext, "der") == 0 || strcmp(ext, "pem") == 0);
        }
        if (!match) continue;
        char path[4096];
        int w = snprintf(path, sizeof(path), "%s/%s", dir, nm);
        if (w < 0 || (size_t)w >= sizeof(path)) continue;
        uint8_t *data = NULL;
        size_t len = 0;
        if (sb_read_file(path, SB_COLLATERAL_MAX_FILE, &data, &len, err) < 0) {
            rc = sb_error_prefix(err, "snp: collateral cache");
            break;
        }
        rc = fn(arg, nm, data, len, err);
        free(data);
    }
    closedir(d);
    return rc;
}

struct vcek_load {
    struct certset *s;
    json_t *claims;
};

static int vcek_load_one(void *arg, const char *name, const uint8_t *data, size_t len,
                         sb_error *err) {
    struct vcek_load *l = arg;
    char src[SNP_SOURCE_MAX];
    (void)snprintf(src, sizeof(src), "collateral cache %.70s", name);
    return certset_load(l->s, data, len, src, l->claims, err);
}

/* `sealbox collateral import` names a VCEK vcek-<productName>-<CHIP_ID[0..8]>-bl-tee-snp-uc
 * (src/verify/collateral.c): when the evidence carries none, the one for this report's
 * product, chip and REPORTED_TCB is taken from the --collateral directory. It is then verified
 * like any other (chain, TCB and chip binding, signature): the name only finds it. */
static int vcek_from_cache(const struct sb_snp_report *r, const char *dir, struct certset *s,
                           json_t *claims, char *looked, size_t looked_sz, sb_error *err) {
    struct vcek_load l = {s, claims};
    return vcek_cache_scan(r, dir, looked, looked_sz, vcek_load_one, &l, err);
}

/* ---- the cache ----------------------------------------------------------------------------------
 */

static int hash_blob(sb_hash_ctx *h, const char *name, const uint8_t *p, size_t len,
                     sb_error *err) {
    uint64_t nl = name ? strlen(name) : 0, n = len;
    int rc = sb_hash_ctx_update(h, &nl, sizeof(nl), err);
    if (rc == 0 && nl) rc = sb_hash_ctx_update(h, name, (size_t)nl, err);
    if (rc == 0) rc = sb_hash_ctx_update(h, &n, sizeof(n), err);
    if (rc == 0 && len) rc = sb_hash_ctx_update(h, p, len, err);
    return rc;
}

static int hash_vcek_file(void *arg, const char *name, const uint8_t *data, size_t len,
                          sb_error *err) {
    return hash_blob(arg, name, data, len, err);
}

/* The key of a chain: everything chain_for reads — the evidence's own certificates (with
 * their kinds and the container, which name their source in claims), the certificate files
 * with their names, list by list, and the VCEK files of the --collateral directory that match
 * this report (their names and bytes: a replaced or removed file is another key). */
static int cache_key(const struct sb_snp_evidence *e, const struct sb_blob *certs, size_t n_certs,
                     const struct sb_verify_opts *o, uint8_t key[32], sb_error *err) {
    sb_hash_ctx *h = NULL;
    TRY(sb_hash_ctx_new(SB_HASH_SHA256, &h, err));
    uint8_t head[2] = {(uint8_t)e->report.signing_key, (uint8_t)e->format};
    int rc = sb_hash_ctx_update(h, head, sizeof(head), err);
    /* Length-prefixed, so concatenations cannot collide. */
    uint64_t count = e->n_certs;
    if (rc == 0) rc = sb_hash_ctx_update(h, &count, sizeof(count), err);
    for (size_t i = 0; rc == 0 && i < e->n_certs; i++)
        rc = hash_blob(h, sb_snp_cert_kind_name(e->certs[i].kind), e->certs[i].data,
                       e->certs[i].len, err);
    const struct sb_blob *lists[2] = {certs, o->certs};
    size_t counts[2] = {n_certs, o->n_certs};
    for (int l = 0; l < 2; l++) {
        count = counts[l];
        if (rc == 0) rc = sb_hash_ctx_update(h, &count, sizeof(count), err);
        for (size_t i = 0; rc == 0 && i < counts[l]; i++)
            rc = hash_blob(h, lists[l][i].name, lists[l][i].data, lists[l][i].len, err);
    }
    if (rc == 0 && o->collateral_dir) {
        rc = sb_hash_ctx_update(h, o->collateral_dir, strlen(o->collateral_dir) + 1, err);
        char looked[256];
        sb_error e2 = {0};
        /* an unreadable directory or file is part of the key too (and fails later only if
         * the VCEK has to come from there) */
        if (rc == 0 && vcek_cache_scan(&e->report, o->collateral_dir, looked, sizeof(looked),
                                       hash_vcek_file, h, &e2) < 0)
            rc = hash_blob(h, "unreadable", (const uint8_t *)e2.msg, strlen(e2.msg), err);
    }
    if (rc == 0) rc = sb_hash_ctx_final(h, key, err);
    sb_hash_ctx_free(h);
    return rc;
}

static const struct chain_result *cache_get(sb_snp_verifier *v, const uint8_t key[32], int64_t at) {
    for (size_t i = 0; i < SNP_CACHE_SLOTS; i++) {
        struct cache_slot *s = &v->cache[i];
        if (s->used && memcmp(s->key, key, 32) == 0 && at >= s->res.not_before &&
            at <= s->res.not_after) {
            s->stamp = ++v->clock;
            return &s->res;
        }
    }
    return NULL;
}

static void cache_put(sb_snp_verifier *v, const uint8_t key[32], struct chain_result *res) {
    struct cache_slot *pick = &v->cache[0];
    for (size_t i = 0; i < SNP_CACHE_SLOTS; i++) {
        struct cache_slot *s = &v->cache[i];
        if (s->used && memcmp(s->key, key, 32) == 0) {
            pick = s;
            break;
        }
        if (!s->used || s->stamp < pick->stamp) pick = s;
    }
    chain_result_clear(&pick->res);
    pick->res = *res; /* ownership moves into the cache */
    memset(res, 0, sizeof(*res));
    memcpy(pick->key, key, 32);
    pick->used = true;
    pick->stamp = ++v->clock;
}

/* ---- the verification ---------------------------------------------------------------------------
 */

static int chain_for(sb_snp_verifier *v, const struct sb_snp_evidence *e,
                     const struct sb_blob *certs, size_t n_certs, const struct sb_verify_opts *o,
                     json_t *claims, struct chain_result *out, sb_error *err) {
    const struct sb_snp_report *r = &e->report;
    struct certset s = {0};
    int rc = 0;
    const char *src_name = e->format == SB_SNP_FMT_TRUSTEE ? "cert_chain" : "auxblob";
    for (size_t i = 0; rc == 0 && i < e->n_certs; i++) {
        if (e->certs[i].kind == SB_SNP_CERT_CRL || e->certs[i].kind == SB_SNP_CERT_OTHER) {
            (void)sb_claims_warn(claims, "snp: %s entry of kind %s ignored", src_name,
                                 sb_snp_cert_kind_name(e->certs[i].kind));
            continue;
        }
        char src[SNP_SOURCE_MAX];
        (void)snprintf(src, sizeof(src), "%s %s", src_name,
                       sb_snp_cert_kind_name(e->certs[i].kind));
        rc = certset_load(&s, e->certs[i].data, e->certs[i].len, src, claims, err);
    }
    for (size_t i = 0; rc == 0 && i < n_certs; i++)
        rc = certset_load(&s, certs[i].data, certs[i].len, certs[i].name ? certs[i].name : "certs",
                          claims, err);
    for (size_t i = 0; rc == 0 && i < o->n_certs; i++)
        rc = certset_load(&s, o->certs[i].data, o->certs[i].len,
                          o->certs[i].name ? o->certs[i].name : "--certs", claims, err);
    if (rc < 0) goto out;

    enum role want = r->signing_key == SB_SNP_KEY_VCEK ? ROLE_VCEK : ROLE_VLEK;
    enum role other = want == ROLE_VCEK ? ROLE_VLEK : ROLE_VCEK;
    size_t n_want = 0, n_other = 0;
    for (size_t i = 0; i < s.n; i++) {
        n_want += s.c[i].role == want;
        n_other += s.c[i].role == other;
    }
    char looked[256] = "";
    if (n_want == 0 && want == ROLE_VCEK && o->collateral_dir) {
        size_t before = s.n;
        rc = vcek_from_cache(r, o->collateral_dir, &s, claims, looked, sizeof(looked), err);
        if (rc < 0) goto out;
        for (size_t i = before; i < s.n; i++)
            n_want += s.c[i].role == want;
    }
    if (n_want == 0) {
        char cache[300] = "";
        if (looked[0])
            (void)snprintf(cache, sizeof(cache), "; none in the collateral cache either (%s)",
                           looked);
        rc = sb_error_set(err, SB_E_CHAIN,
                          "snp: the report is signed with the %s (key_info) but no %s certificate "
                          "was given%s (pass it with --certs or import it into the collateral "
                          "cache; sealbox does not fetch from AMD KDS)%s",
                          role_name(want), role_name(want),
                          n_other ? want == ROLE_VCEK ? " (only a VLEK)" : " (only a VCEK)" : "",
                          cache);
        goto out;
    }
    /* Several candidates: the first whose chain holds and which signed this report wins; the
     * first failure is reported when none does. */
    sb_error first = {0};
    rc = SB_E_CHAIN;
    for (size_t i = 0; i < s.n; i++) {
        if (s.c[i].role != want) continue;
        sb_error e1 = {0};
        struct chain_result cr;
        int r1 = verify_chain(v, &s, &s.c[i], o->at, &cr, &e1);
        if (r1 == 0 && n_want > 1) {
            r1 = check_signature(r, &cr, &e1);
            if (r1 < 0) chain_result_clear(&cr);
        }
        if (r1 == 0) {
            *out = cr;
            rc = 0;
            break;
        }
        if (!first.code) first = e1;
    }
    if (rc < 0 && err) *err = first;
    if (rc < 0) rc = first.code;
out:
    certset_clear(&s);
    return rc;
}

static int verify_parsed(sb_snp_verifier *v, const struct sb_verify_opts *o,
                         const struct sb_snp_evidence *e, const struct sb_blob *certs,
                         size_t n_certs, json_t *claims, sb_error *err) {
    const struct sb_snp_report *r = &e->report;
    for (size_t i = 0; i < e->n_warnings; i++)
        (void)sb_claims_warn(claims, "%s", e->warnings[i]);
    if (!r->known_version)
        (void)sb_claims_warn(claims,
                             "snp: report version %u is not one we know (2, 3, 5); it was read "
                             "with the version 5 layout",
                             r->version);
    if (r->trailing)
        (void)sb_claims_warn(claims, "snp: %zu trailing bytes after the 1184-byte report ignored",
                             r->trailing);
    if (r->sig_algo != 1)
        BAIL(err, SB_E_UNSUPPORTED,
             "snp: signature algorithm %u (offset 0x34) is not supported (1: ECDSA P-384 SHA-384)",
             r->sig_algo);
    if (r->signing_key == SB_SNP_KEY_NONE)
        BAIL(err, SB_E_SIGNATURE, "snp: the report is not signed (key_info signing_key 7: no key)");
    if (r->mask_chip_key)
        BAIL(err, SB_E_SIGNATURE,
             "snp: the report is not signed (key_info MASK_CHIP_KEY is set: the firmware "
             "withheld the signature)");

    uint8_t key[32];
    TRY(cache_key(e, certs, n_certs, o, key, err));
    const struct chain_result *cr = cache_get(v, key, o->at);
    struct chain_result fresh = {0};
    json_t *warnings = json_object_get(claims, "warnings");
    if (!cr) {
        size_t w0 = json_array_size(warnings);
        TRY(chain_for(v, e, certs, n_certs, o, claims, &fresh, err));
        cr = &fresh;
        fresh.warnings = json_array();
        for (size_t i = w0; fresh.warnings && i < json_array_size(warnings); i++)
            json_array_append(fresh.warnings, json_array_get(warnings, i));
        if (!fresh.warnings) {
            chain_result_clear(&fresh);
            BAIL(err, SB_E_INTERNAL, "snp: out of memory");
        }
    } else {
        for (size_t i = 0; i < json_array_size(cr->warnings); i++)
            json_array_append(warnings, json_array_get(cr->warnings, i));
    }
    enum sb_snp_product cp = sb_snp_product_from_cpuid(r);
    int rc = 0;
    if (cp != SB_SNP_PRODUCT_UNKNOWN && cp != cr->product)
        rc = sb_error_set(err, SB_E_CHAIN,
                          "snp: the report's CPUID (family 0x%02x model 0x%02x) is %s but the %s "
                          "is for %s",
                          r->cpuid_fam_id, r->cpuid_mod_id, sb_snp_product_name(cp),
                          role_name(cr->vek_role), sb_snp_product_name(cr->product));
    if (rc == 0) rc = check_tcb(r, cr, err);
    if (rc == 0) rc = check_chip(r, cr, claims, err);
    if (rc == 0) rc = check_signature(r, cr, err);
    if (rc == 0) rc = fill_claims(claims, r, cr);
    if (rc == 0) rc = check_revocation(e, certs, n_certs, o, cr, claims, err);
    if (rc == 0 && cr == &fresh) cache_put(v, key, &fresh);
    chain_result_clear(&fresh);
    if (rc == SB_E_INTERNAL && err && err->code != SB_E_INTERNAL)
        (void)sb_error_set(err, rc, "snp: could not build claims");
    return rc;
}

int sb_snp_verify_report(sb_snp_verifier *v, const struct sb_verify_opts *o, const uint8_t *report,
                         size_t len, const struct sb_blob *certs, size_t n_certs, json_t *claims,
                         sb_error *err) {
    ENSURE(o && claims, err, SB_E_USAGE, "snp: no options or claims");
    sb_snp_verifier *tmp = NULL;
    if (!v) {
        TRY(sb_snp_verifier_new(&tmp, err));
        v = tmp;
    }
    struct sb_snp_evidence *e = calloc(1, sizeof(*e));
    int rc = e ? 0 : sb_error_set(err, SB_E_INTERNAL, "snp: out of memory");
    if (rc == 0) {
        e->format = SB_SNP_FMT_RAW;
        rc = sb_snp_report_parse(report, len, &e->report, err);
    }
    if (rc == 0) rc = verify_parsed(v, o, e, certs, n_certs, claims, err);
    free(e);
    sb_snp_verifier_free(tmp);
    return rc;
}

int sb_snp_verify_evidence(sb_snp_verifier *v, const struct sb_verify_opts *o,
                           const struct sb_blob *ev, size_t n_ev, json_t **claims, sb_error *err) {
    ENSURE(o && ev && n_ev > 0, err, SB_E_USAGE, "snp: no evidence");
    sb_snp_verifier *tmp = NULL;
    if (!v) {
        TRY(sb_snp_verifier_new(&tmp, err));
        v = tmp;
    }
    struct sb_snp_evidence *e = calloc(1, sizeof(*e));
    json_t *c = NULL;
    int rc = e ? 0 : sb_error_set(err, SB_E_INTERNAL, "snp: out of memory");
    if (rc == 0) rc = sb_snp_evidence_parse(ev[0].data, ev[0].len, e, err);
    if (rc == 0) {
        c = sb_claims_new("snp", sb_snp_format_name(e->format), o->at);
        if (!c) rc = sb_error_set(err, SB_E_INTERNAL, "snp: out of memory");
    }
    if (rc == 0) rc = verify_parsed(v, o, e, ev + 1, n_ev - 1, c, err);
    if (e) sb_snp_evidence_free(e);
    free(e);
    sb_snp_verifier_free(tmp);
    if (rc < 0) {
        json_decref(c);
        return rc;
    }
    *claims = c;
    return 0;
}

int sb_snp_chain_inspect(const struct sb_blob *certs, size_t n_certs, enum sb_snp_signing_key key,
                         int64_t at, enum sb_snp_product *product, struct sb_snp_tcb *tcb,
                         uint8_t hwid[64], size_t *hwid_len, sb_error *err) {
    sb_snp_verifier *v = NULL;
    TRY(sb_snp_verifier_new(&v, err));
    struct sb_snp_evidence *e = calloc(1, sizeof(*e));
    json_t *c = sb_claims_new("snp", "test", at);
    struct sb_verify_opts o = {.at = at};
    struct chain_result cr = {0};
    int rc = e && c ? 0 : sb_error_set(err, SB_E_INTERNAL, "snp: out of memory");
    if (rc == 0) {
        e->report.signing_key = key;
        rc = chain_for(v, e, certs, n_certs, &o, c, &cr, err);
    }
    if (rc == 0) {
        *product = cr.product;
        *tcb = cr.tcb;
        memcpy(hwid, cr.hwid, sizeof(cr.hwid));
        *hwid_len = cr.hwid_len;
    }
    chain_result_clear(&cr);
    json_decref(c);
    free(e);
    sb_snp_verifier_free(v);
    return rc;
}

/* ---- the table entry
 * ------------------------------------------------------------------------------ */

static int snp_sniff(const struct sb_blob *ev, size_t n_ev) {
    if (n_ev == 0 || !ev[0].data) return 0;
    int f = sb_snp_sniff(ev[0].data, ev[0].len);
    switch (f) {
    case SB_SNP_FMT_TRUSTEE:
    case SB_SNP_FMT_TSM_JSON:
    case SB_SNP_FMT_TSM_CBOR:
    case SB_SNP_FMT_RATSD: {
        /* Structural markers found; claim it only if it really parses as SNP. */
        struct sb_snp_evidence *e = calloc(1, sizeof(*e));
        if (!e) return 0;
        int rc = sb_snp_evidence_parse(ev[0].data, ev[0].len, e, NULL);
        sb_snp_evidence_free(e);
        free(e);
        return rc == 0 ? 60 : 0;
    }
    case SB_SNP_FMT_HEX: return 30;
    case SB_SNP_FMT_RAW: return 20;
    default: return 0;
    }
}

static int snp_verify(const struct sb_verify_opts *o, const struct sb_blob *ev, size_t n_ev,
                      json_t **claims, sb_error *err) {
    return sb_snp_verify_evidence(NULL, o, ev, n_ev, claims, err);
}

const struct sb_verifier sb_verifier_snp = {"snp", snp_sniff, snp_verify};
