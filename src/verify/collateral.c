/* collateral: the offline collateral cache — identifies certificates (AMD VCEK/VLEK, Intel PCK,
 * any other), CRLs and Intel TCB info / QE identity JSON, keys each by what identifies it, and
 * keeps them as flat files with their validity windows in one directory. */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "crypto/crypto.h"
#include "verify.h"

#define OID_AMD_PRODUCT "1.3.6.1.4.1.3704.1.2"
#define OID_AMD_HWID "1.3.6.1.4.1.3704.1.4"
#define OID_AMD_CSP_ID "1.3.6.1.4.1.3704.1.5"
#define OID_INTEL_SGX_EXT "1.2.840.113741.1.13.1"
/* DER body of OID 1.2.840.113741.1.13.1.4 (FMSPC) */
static const uint8_t OID_FMSPC_DER[] = {0x2a, 0x86, 0x48, 0x86, 0xf8, 0x4d, 0x01, 0x0d, 0x01, 0x04};

/* ---- small DER reads over the bounds-checked reader ----------------------------------- */

/* One TLV with a single-byte tag and a definite length (short or long form, ≤ 4 bytes). */
static int der_tlv(sb_reader *r, uint8_t *tag, sb_reader *val) {
    uint8_t t, l0;
    TRY(sb_reader_u8(r, &t, "der tag"));
    TRY(sb_reader_u8(r, &l0, "der length"));
    size_t len = l0;
    if (l0 & 0x80) {
        unsigned nb = l0 & 0x7fu;
        if (nb == 0 || nb > 4) return sb_error_set(r->err, SB_E_MALFORMED, "der: length form");
        len = 0;
        for (unsigned i = 0; i < nb; i++) {
            uint8_t b;
            TRY(sb_reader_u8(r, &b, "der length"));
            len = (len << 8) | b;
        }
    }
    *tag = t;
    return sb_reader_sub(r, len, val, "der value");
}

/* A small non-negative DER INTEGER (AMD TCB SPL extensions). */
static int der_small_int(const uint8_t *p, size_t n, unsigned *out) {
    sb_error e = {0};
    sb_reader r, v;
    sb_reader_init(&r, p, n, "ext", &e);
    uint8_t tag;
    TRY(der_tlv(&r, &tag, &v));
    if (tag != 0x02 || v.len == 0 || v.len > 4) return SB_E_MALFORMED;
    unsigned x = 0;
    for (size_t i = 0; i < v.len; i++) {
        uint8_t b;
        TRY(sb_reader_u8(&v, &b, "int"));
        x = (x << 8) | b;
    }
    *out = x;
    return 0;
}

/* The contents of a DER string/octet-string extension (or the raw bytes when not wrapped). */
static int der_string(const uint8_t *p, size_t n, const uint8_t **out, size_t *outlen) {
    sb_error e = {0};
    sb_reader r, v;
    sb_reader_init(&r, p, n, "ext", &e);
    uint8_t tag;
    if (der_tlv(&r, &tag, &v) == 0 && sb_reader_remaining(&r) == 0 &&
        (tag == 0x04 || tag == 0x16 || tag == 0x0c || tag == 0x13)) {
        *out = v.p;
        *outlen = v.len;
        return 0;
    }
    *out = p;
    *outlen = n;
    return 0;
}

/* FMSPC from Intel's SGX extension: SEQUENCE { SEQUENCE { OID, value } ... }. */
static int intel_fmspc(const uint8_t *p, size_t n, char out[13]) {
    sb_error e = {0};
    sb_reader r, seq;
    sb_reader_init(&r, p, n, "sgx-ext", &e);
    uint8_t tag;
    TRY(der_tlv(&r, &tag, &seq));
    if (tag != 0x30) return SB_E_MALFORMED;
    while (sb_reader_remaining(&seq) > 0) {
        sb_reader item, oid, val;
        TRY(der_tlv(&seq, &tag, &item));
        if (tag != 0x30) continue;
        TRY(der_tlv(&item, &tag, &oid));
        if (tag != 0x06 || oid.len != sizeof(OID_FMSPC_DER)) continue;
        const uint8_t *ob;
        TRY(sb_reader_bytes(&oid, oid.len, &ob, "oid"));
        if (memcmp(ob, OID_FMSPC_DER, sizeof(OID_FMSPC_DER)) != 0) continue;
        TRY(der_tlv(&item, &tag, &val));
        if (tag != 0x04 || val.len != 6) return SB_E_MALFORMED;
        const uint8_t *fb;
        TRY(sb_reader_bytes(&val, 6, &fb, "fmspc"));
        sb_hex_encode(fb, 6, out);
        return 0;
    }
    return SB_E_NOTFOUND;
}

/* ---- identification ------------------------------------------------------------------- */

/* Lower-cases and keeps [a-z0-9._-] (others become '-'), at most n-1 bytes. */
static void sanitize(const char *in, char *out, size_t n) {
    size_t j = 0;
    for (size_t i = 0; in[i] && j + 1 < n; i++) {
        char c = in[i];
        if (c >= 'A' && c <= 'Z') c = (char)(c - 'A' + 'a');
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-'))
            c = '-';
        if (c == '-' && j > 0 && out[j - 1] == '-') continue;
        out[j++] = c;
    }
    while (j > 0 && out[j - 1] == '-')
        j--;
    out[j] = 0;
}

static void set_item(struct sb_collateral_item *it, const char *kind, const char *key,
                     const char *ext, const char *desc, int64_t nb, int64_t na) {
    (void)snprintf(it->kind, sizeof(it->kind), "%s", kind);
    sanitize(key, it->key, sizeof(it->key));
    (void)snprintf(it->file, sizeof(it->file), "%s-%s.%s", kind, it->key, ext);
    (void)snprintf(it->desc, sizeof(it->desc), "%s", desc ? desc : "");
    it->not_before = nb;
    it->not_after = na;
}

/* The CN of an RFC 2253 name, or its first RDN's value (at most 48 bytes). */
static void rdn_name(const char *dn, char *out, size_t n) {
    if (!dn) return;
    const char *v = NULL;
    if (strncmp(dn, "CN=", 3) == 0) v = dn + 3;
    const char *cn = strstr(dn, ",CN=");
    if (!v && cn) v = cn + 4;
    if (!v) v = strchr(dn, '=') ? strchr(dn, '=') + 1 : dn;
    size_t l = strcspn(v, ",");
    (void)snprintf(out, n, "%.*s", (int)(l < 48 ? l : 48), v);
}

static int fingerprint_key(const uint8_t *p, size_t n, char out[17], sb_error *err) {
    uint8_t d[32];
    TRY(sb_hash(SB_HASH_SHA256, p, n, d, err));
    sb_hex_encode(d, 8, out);
    return 0;
}

static int identify_cert(const sb_cert *c, bool pem, struct sb_collateral_item *it, sb_error *err) {
    _cleanup_free_ char *subj = sb_cert_subject(c);
    const uint8_t *p, *s;
    size_t n, sn;
    char key[200], fp[17];
    const uint8_t *der;
    size_t derlen;
    TRY(sb_cert_der(c, &der, &derlen, err));
    TRY(fingerprint_key(der, derlen, fp, err));
    const char *ext = pem ? "pem" : "der";
    sb_error e = {0};
    if (sb_cert_ext(c, OID_AMD_HWID, &p, &n, &e) == 0 ||
        sb_cert_ext(c, OID_AMD_CSP_ID, &p, &n, &e) == 0) {
        /* AMD VCEK (hwID) or VLEK (csp_id): keyed by product, chip or CSP, and TCB. */
        bool vcek = sb_cert_ext(c, OID_AMD_HWID, &p, &n, &e) == 0;
        char product[64] = "unknown", who[40] = "";
        if (sb_cert_ext(c, OID_AMD_PRODUCT, &s, &sn, &e) == 0 && der_string(s, sn, &s, &sn) == 0)
            (void)snprintf(product, sizeof(product), "%.*s", (int)(sn < 40 ? sn : 40),
                           (const char *)s);
        if (der_string(p, n, &s, &sn) == 0) {
            if (vcek)
                sb_hex_encode(s, sn < 8 ? sn : 8, who); /* the first 8 bytes of CHIP_ID */
            else
                (void)snprintf(who, sizeof(who), "%.*s", (int)(sn < 32 ? sn : 32), (const char *)s);
        }
        static const char *const spl[][2] = {{"1.3.6.1.4.1.3704.1.3.1", "bl"},
                                             {"1.3.6.1.4.1.3704.1.3.2", "tee"},
                                             {"1.3.6.1.4.1.3704.1.3.3", "snp"},
                                             {"1.3.6.1.4.1.3704.1.3.8", "uc"}};
        size_t k = (size_t)snprintf(key, sizeof(key), "%s-%s", product, who);
        for (size_t i = 0; i < SB_ARRAY_LEN(spl) && k < sizeof(key); i++) {
            unsigned v;
            if (sb_cert_ext(c, spl[i][0], &s, &sn, &e) == 0 && der_small_int(s, sn, &v) == 0) {
                int w = snprintf(key + k, sizeof(key) - k, "-%s%u", spl[i][1], v);
                if (w > 0) k += (size_t)w;
            }
        }
        set_item(it, vcek ? "vcek" : "vlek", key, ext, subj, sb_cert_not_before(c),
                 sb_cert_not_after(c));
        return 0;
    }
    char fmspc[13];
    if (sb_cert_ext(c, OID_INTEL_SGX_EXT, &p, &n, &e) == 0 && intel_fmspc(p, n, fmspc) == 0) {
        (void)snprintf(key, sizeof(key), "%s-%s", fmspc, fp);
        set_item(it, "pck", key, ext, subj, sb_cert_not_before(c), sb_cert_not_after(c));
        return 0;
    }
    /* Any other certificate: by its CN (or first RDN) and its fingerprint. */
    char name[64] = "cert";
    rdn_name(subj, name, sizeof(name));
    (void)snprintf(key, sizeof(key), "%s-%s", name, fp);
    set_item(it, "cert", key, ext, subj, sb_cert_not_before(c), sb_cert_not_after(c));
    return 0;
}

static int identify_crl(const sb_crl *crl, const uint8_t *p, size_t n, bool pem,
                        struct sb_collateral_item *it, sb_error *err) {
    _cleanup_free_ char *iss = sb_crl_issuer(crl);
    char key[200], name[64] = "crl";
    (void)p;
    (void)n;
    (void)err;
    rdn_name(iss, name, sizeof(name));
    /* One current CRL per issuer: the key is the issuer alone, so a newer import replaces. */
    (void)snprintf(key, sizeof(key), "%s", name);
    char desc[256];
    (void)snprintf(desc, sizeof(desc), "issuer %s", iss ? iss : "?");
    set_item(it, "crl", key, pem ? "pem" : "der", desc, sb_crl_this_update(crl),
             sb_crl_next_update(crl));
    return 0;
}

static bool json_time(const json_t *o, const char *k, int64_t *out) {
    const char *s = json_string_value(json_object_get(o, k));
    sb_error e = {0};
    return s && sb_time_parse(s, out, &e) == 0;
}

static int identify_json(const uint8_t *p, size_t n, struct sb_collateral_item *it, sb_error *err) {
    json_error_t je;
    json_t *doc = json_loadb((const char *)p, n, JSON_REJECT_DUPLICATES, &je);
    if (!doc)
        BAIL(err, SB_E_MALFORMED, "collateral JSON: line %d column %d: %s", je.line, je.column,
             je.text);
    int rc = 0;
    json_t *inner = NULL;
    const json_t *ti = json_object_get(doc, "tcbInfo");
    const json_t *qe = json_object_get(doc, "enclaveIdentity");
    const char *bundle_ti = json_string_value(json_object_get(doc, "tcb_info"));
    if (!ti && bundle_ti) {
        /* dcap-qvl's self-contained collateral bundle: tcb_info is the signed JSON string. */
        inner = json_loads(bundle_ti, JSON_REJECT_DUPLICATES, &je);
        ti = json_object_get(inner, "tcbInfo") ? json_object_get(inner, "tcbInfo") : inner;
    }
    int64_t nb = 0, na = 0;
    char key[200], desc[256];
    if (json_is_object(ti) && json_is_string(json_object_get(ti, "fmspc"))) {
        const char *id = json_string_value(json_object_get(ti, "id"));
        const char *fmspc = json_string_value(json_object_get(ti, "fmspc"));
        (void)json_time(ti, "issueDate", &nb);
        (void)json_time(ti, "nextUpdate", &na);
        (void)snprintf(key, sizeof(key), "%s-%s", id ? id : "sgx", fmspc);
        (void)snprintf(
            desc, sizeof(desc), "%s TCB info v%lld, FMSPC %s, evaluation %lld", id ? id : "SGX",
            (long long)json_integer_value(json_object_get(ti, "version")), fmspc,
            (long long)json_integer_value(json_object_get(ti, "tcbEvaluationDataNumber")));
        set_item(it, bundle_ti ? "bundle" : "tcb-info", key, "json", desc, nb, na);
    } else if (json_is_object(qe) && json_is_string(json_object_get(qe, "id"))) {
        const char *id = json_string_value(json_object_get(qe, "id"));
        (void)json_time(qe, "issueDate", &nb);
        (void)json_time(qe, "nextUpdate", &na);
        (void)snprintf(key, sizeof(key), "%s-v%lld", id,
                       (long long)json_integer_value(json_object_get(qe, "version")));
        (void)snprintf(
            desc, sizeof(desc), "%s identity, evaluation %lld", id,
            (long long)json_integer_value(json_object_get(qe, "tcbEvaluationDataNumber")));
        set_item(it, "qe-identity", key, "json", desc, nb, na);
    } else {
        rc = sb_error_set(err, SB_E_UNSUPPORTED,
                          "collateral JSON: neither Intel TCB info (tcbInfo.fmspc) nor QE "
                          "identity (enclaveIdentity.id)");
    }
    json_decref(inner);
    json_decref(doc);
    return rc;
}

int sb_collateral_identify(const uint8_t *p, size_t n, struct sb_collateral_item *out,
                           sb_error *err) {
    ENSURE(n > 0 && n <= SB_COLLATERAL_MAX_FILE, err, SB_E_LIMIT, "collateral: %zu bytes (1 to %u)",
           n, SB_COLLATERAL_MAX_FILE);
    struct sb_collateral_item it = {0};
    size_t i = 0;
    while (i < n && (p[i] == ' ' || p[i] == '\n' || p[i] == '\r' || p[i] == '\t'))
        i++;
    if (i < n && p[i] == '{') {
        TRY(identify_json(p, n, &it, err));
        *out = it;
        return 0;
    }
    bool pem = memmem(p, n, "-----BEGIN", 10) != NULL;
    sb_error e = {0};
    if (pem && memmem(p, n, "-----BEGIN X509 CRL", 19)) {
        sb_crl *crl = NULL;
        TRY(sb_crl_from_pem(p, n, &crl, err));
        int rc = identify_crl(crl, p, n, true, &it, err);
        sb_crl_free(crl);
        TRY(rc);
        *out = it;
        return 0;
    }
    sb_cert *c = NULL;
    if (sb_cert_load(p, n, &c, &e) == 0) {
        int rc = identify_cert(c, pem, &it, err);
        sb_cert_free(c);
        TRY(rc);
        *out = it;
        return 0;
    }
    sb_crl *crl = NULL;
    if (!pem && sb_crl_from_der(p, n, &crl, &e) == 0) {
        int rc = identify_crl(crl, p, n, false, &it, err);
        sb_crl_free(crl);
        TRY(rc);
        *out = it;
        return 0;
    }
    BAIL(err, SB_E_UNSUPPORTED,
         "not collateral sealbox knows: expected a certificate or CRL (DER or PEM), Intel TCB info "
         "or QE identity JSON");
}

/* ---- the cache directory ---------------------------------------------------------------- */

static int mkdir_p(const char *dir, sb_error *err) {
    char buf[4096];
    int k = snprintf(buf, sizeof(buf), "%s", dir);
    ENSURE(k > 0 && (size_t)k < sizeof(buf), err, SB_E_USAGE, "%s: path too long", dir);
    for (char *s = buf + 1; *s; s++) {
        if (*s != '/') continue;
        *s = 0;
        if (mkdir(buf, 0755) < 0 && errno != EEXIST)
            BAIL(err, SB_E_IO, "%s: %s", buf, strerror(errno));
        *s = '/';
    }
    if (mkdir(buf, 0755) < 0 && errno != EEXIST) BAIL(err, SB_E_IO, "%s: %s", buf, strerror(errno));
    return 0;
}

int sb_collateral_import(const char *dir, const char *path, struct sb_collateral_item *out,
                         sb_error *err) {
    _cleanup_free_ uint8_t *buf = NULL;
    size_t n = 0;
    TRY(sb_read_file(path, SB_COLLATERAL_MAX_FILE, &buf, &n, err));
    struct sb_collateral_item it;
    int rc = sb_collateral_identify(buf, n, &it, err);
    if (rc < 0) return sb_error_prefix(err, "%s", path);
    TRY(mkdir_p(dir, err));
    char dst[4096];
    int k = snprintf(dst, sizeof(dst), "%s/%s", dir, it.file);
    ENSURE(k > 0 && (size_t)k < sizeof(dst), err, SB_E_USAGE, "%s: path too long", dir);
    TRY(sb_write_file_atomic(dst, buf, n, 0644, err));
    *out = it;
    return 0;
}

static int item_cmp(const void *a, const void *b) {
    const struct sb_collateral_item *x = a, *y = b;
    return strcmp(x->file, y->file);
}

int sb_collateral_list(const char *dir, struct sb_collateral_item **items, size_t *count,
                       sb_error *err) {
    DIR *d = opendir(dir);
    if (!d) {
        if (errno == ENOENT) {
            *items = NULL;
            *count = 0;
            return 0;
        }
        BAIL(err, SB_E_IO, "%s: %s", dir, strerror(errno));
    }
    struct sb_collateral_item *v = NULL;
    size_t n = 0, cap = 0;
    int rc = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.' || strstr(e->d_name, ".tmp.")) continue;
        if (n >= SB_COLLATERAL_MAX_ITEMS) {
            rc = sb_error_set(err, SB_E_LIMIT, "%s: more than %u files", dir,
                              SB_COLLATERAL_MAX_ITEMS);
            break;
        }
        char path[4096];
        int k = snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
        if (k < 0 || (size_t)k >= sizeof(path)) continue;
        struct stat st;
        if (stat(path, &st) < 0 || !S_ISREG(st.st_mode)) continue;
        if (n == cap) {
            size_t nc = cap ? cap * 2 : 16;
            struct sb_collateral_item *nv = realloc(v, nc * sizeof(*v));
            if (!nv) {
                rc = sb_error_set(err, SB_E_INTERNAL, "out of memory");
                break;
            }
            v = nv;
            cap = nc;
        }
        _cleanup_free_ uint8_t *buf = NULL;
        size_t len = 0;
        sb_error e2 = {0};
        struct sb_collateral_item it = {0};
        if (sb_read_file(path, SB_COLLATERAL_MAX_FILE, &buf, &len, &e2) < 0 ||
            sb_collateral_identify(buf, len, &it, &e2) < 0) {
            /* A file we cannot identify is listed as such, never silently skipped. */
            (void)snprintf(it.kind, sizeof(it.kind), "unknown");
            (void)snprintf(it.desc, sizeof(it.desc), "%.200s", e2.msg);
        }
        (void)snprintf(it.file, sizeof(it.file), "%s", e->d_name);
        v[n++] = it;
    }
    closedir(d);
    if (rc < 0) {
        free(v);
        return rc;
    }
    if (n) qsort(v, n, sizeof(*v), item_cmp);
    *items = v;
    *count = n;
    return 0;
}

int sb_collateral_prune(const char *dir, int64_t at, size_t *removed, sb_error *err) {
    struct sb_collateral_item *v = NULL;
    size_t n = 0, r = 0;
    TRY(sb_collateral_list(dir, &v, &n, err));
    int rc = 0;
    for (size_t i = 0; i < n; i++) {
        if (!(v[i].not_after && v[i].not_after < at)) continue;
        char path[4096];
        int k = snprintf(path, sizeof(path), "%s/%s", dir, v[i].file);
        if (k < 0 || (size_t)k >= sizeof(path)) continue;
        if (unlink(path) < 0 && errno != ENOENT) {
            rc = sb_error_set(err, SB_E_IO, "%s: %s", path, strerror(errno));
            break;
        }
        r++;
    }
    free(v);
    if (rc < 0) return rc;
    *removed = r;
    return 0;
}
