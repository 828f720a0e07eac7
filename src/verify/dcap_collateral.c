/* dcap_collateral: the offline Intel collateral store — finds TCB info, QE identity, CRLs and
 * TCB-signing chains by content in files and dcap-qvl bundles, verifies each signature over the
 * exact signed bytes before parsing, and parses the JSON (jansson, duplicate keys rejected). */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "dcap_internal.h"

static const char *const STATUS_NAMES[ST_MAX] = {
    "UpToDate",
    "SWHardeningNeeded",
    "ConfigurationNeeded",
    "ConfigurationAndSWHardeningNeeded",
    "OutOfDate",
    "OutOfDateConfigurationNeeded",
    "Revoked",
};

const char *dcap_status_name(enum dcap_status s) {
    return s < ST_MAX ? STATUS_NAMES[s] : "Unknown";
}

static int hexval(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

int dcap_hex_fixed(const char *s, uint8_t *out, size_t n) {
    if (!s || strlen(s) != 2 * n) return -1;
    for (size_t i = 0; i < n; i++) {
        int hi = hexval(s[2 * i]), lo = hexval(s[2 * i + 1]);
        if (hi < 0 || lo < 0) return -1;
        out[i] = (uint8_t)(hi << 4 | lo);
    }
    return 0;
}

/* ---- store lifecycle ------------------------------------------------------------------- */

static void free_levels(struct dcap_level *l, size_t n) {
    for (size_t i = 0; i < n; i++)
        json_decref(l[i].advisories);
    free(l);
}

void dcap_signed_clear(struct dcap_signed *s) {
    free(s->source);
    free(s->body);
    sb_certs_free(s->chain, s->n_chain);
    free(s->signer_subject);
    free(s->signer_issuer);
    for (size_t i = 0; i < s->n_signers; i++)
        sb_cert_free(s->signers[i]);
    for (size_t i = 0; i < s->n_modules; i++)
        free_levels(s->modules[i].levels, s->modules[i].n_levels);
    free(s->modules);
    free_levels(s->levels, s->n_levels);
    memset(s, 0, sizeof(*s));
}

int sb_dcap_collateral_new(sb_dcap_collateral **out, sb_error *err) {
    sb_dcap_collateral *c = calloc(1, sizeof(*c));
    if (!c) BAIL(err, SB_E_INTERNAL, "dcap: out of memory");
    c->notes = json_array();
    int rc = sb_cert_from_pem((const uint8_t *)SB_INTEL_SGX_ROOT_PEM, strlen(SB_INTEL_SGX_ROOT_PEM),
                              &c->root, err);
    if (rc < 0 || !c->notes) {
        sb_dcap_collateral_free(c);
        return rc < 0 ? rc : sb_error_set(err, SB_E_INTERNAL, "dcap: out of memory");
    }
    *out = c;
    return 0;
}

void dcap_chain_entry_clear(struct dcap_chain_entry *e) {
    sb_pubkey_free(e->pck_key);
    sb_sig_verifier_free(e->pck_ver);
    sb_cert_free(e->leaf);
    sb_cert_free(e->ca);
    free(e->leaf_subject);
    free(e->leaf_issuer);
    free(e->ca_subject);
    free(e->ca_issuer);
    free(e->cert_data);
    memset(e, 0, sizeof(*e));
}

void dcap_chain_cache_clear(sb_dcap_collateral *c) {
    for (size_t i = 0; i < DCAP_CHAIN_CACHE; i++)
        dcap_chain_entry_clear(&c->cache[i]);
    c->cache_next = 0;
}

void sb_dcap_collateral_free(sb_dcap_collateral *c) {
    if (!c) return;
    sb_cert_free(c->root);
    for (size_t i = 0; i < c->n_certs; i++)
        sb_cert_free(c->certs[i]);
    for (size_t i = 0; i < c->n_items; i++)
        dcap_signed_clear(&c->items[i]);
    for (size_t i = 0; i < c->n_crls; i++) {
        sb_cert_free(c->crls[i].verified_by);
        sb_crl_free(c->crls[i].crl);
        free(c->crls[i].der);
        free(c->crls[i].source);
    }
    dcap_chain_cache_clear(c);
    sb_pubkey_free(c->ak);
    sb_sig_verifier_free(c->ak_ver);
    json_decref(c->notes);
    free(c);
}

/* ---- adding items ----------------------------------------------------------------------- */

static int add_cert(sb_dcap_collateral *c, sb_cert *cert, sb_error *err) {
    for (size_t i = 0; i < c->n_certs; i++)
        if (sb_cert_equal(c->certs[i], cert)) {
            sb_cert_free(cert);
            return 0;
        }
    if (c->n_certs == DCAP_MAX_ITEMS) {
        sb_cert_free(cert);
        BAIL(err, SB_E_LIMIT, "dcap: more than %d collateral certificates", DCAP_MAX_ITEMS);
    }
    c->certs[c->n_certs++] = cert;
    dcap_chain_cache_clear(c);
    return 0;
}

static int add_pem_certs(sb_dcap_collateral *c, const uint8_t *p, size_t n, sb_cert ***keep,
                         size_t *n_keep, sb_error *err) {
    sb_cert **v = NULL;
    size_t k = 0;
    TRY(sb_certs_from_pem(p, n, DCAP_CHAIN_CERTS_MAX, &v, &k, err));
    for (size_t i = 0; i < k; i++) {
        sb_cert *d = sb_cert_dup(v[i]);
        int rc = d ? add_cert(c, d, err) : sb_error_set(err, SB_E_INTERNAL, "out of memory");
        if (rc < 0) {
            sb_certs_free(v, k);
            return rc;
        }
    }
    if (keep) {
        *keep = v;
        *n_keep = k;
    } else {
        sb_certs_free(v, k);
    }
    return 0;
}

static int add_crl_der(sb_dcap_collateral *c, const char *name, const uint8_t *p, size_t n,
                       sb_error *err) {
    for (size_t i = 0; i < c->n_crls; i++)
        if (c->crls[i].der_len == n && memcmp(c->crls[i].der, p, n) == 0) return 0;
    if (c->n_crls == DCAP_MAX_ITEMS)
        BAIL(err, SB_E_LIMIT, "dcap: more than %d CRLs", DCAP_MAX_ITEMS);
    struct dcap_crl *x = &c->crls[c->n_crls];
    memset(x, 0, sizeof(*x));
    TRY(sb_crl_from_der(p, n, &x->crl, err));
    x->der = malloc(n ? n : 1);
    x->source = strdup(name);
    if (!x->der || !x->source) {
        sb_crl_free(x->crl);
        free(x->der);
        free(x->source);
        BAIL(err, SB_E_INTERNAL, "out of memory");
    }
    memcpy(x->der, p, n);
    x->der_len = n;
    int rc = sb_der_x509_name(x->der, n, true, &x->issuer, &x->issuer_len, err);
    if (rc < 0) {
        sb_crl_free(x->crl);
        free(x->der);
        free(x->source);
        return sb_error_prefix(err, "%s", name);
    }
    c->n_crls++;
    dcap_chain_cache_clear(c);
    return 0;
}

static int add_signed(sb_dcap_collateral *c, const char *name, bool identity, const uint8_t *body,
                      size_t body_len, const char *sig_hex, size_t sig_hex_len, sb_cert **chain,
                      size_t n_chain, sb_error *err) {
    for (size_t i = 0; i < c->n_items; i++)
        if (c->items[i].body_len == body_len && memcmp(c->items[i].body, body, body_len) == 0) {
            sb_certs_free(chain, n_chain);
            return 0; /* the same item twice (e.g. two copies in a directory) */
        }
    if (c->n_items == DCAP_MAX_ITEMS) {
        sb_certs_free(chain, n_chain);
        BAIL(err, SB_E_LIMIT, "dcap: more than %d TCB info / QE identity items", DCAP_MAX_ITEMS);
    }
    if (sig_hex_len != 128) {
        sb_certs_free(chain, n_chain);
        BAIL(err, SB_E_MALFORMED, "%s: %s signature is %zu hex digits, expected 128", name,
             identity ? "enclaveIdentity" : "tcbInfo", sig_hex_len);
    }
    struct dcap_signed *s = &c->items[c->n_items];
    memset(s, 0, sizeof(*s));
    char hex[129];
    memcpy(hex, sig_hex, 128);
    hex[128] = 0;
    if (dcap_hex_fixed(hex, s->sig, 64) < 0) {
        sb_certs_free(chain, n_chain);
        BAIL(err, SB_E_MALFORMED, "%s: signature is not hex", name);
    }
    s->source = strdup(name);
    s->body = malloc(body_len ? body_len : 1);
    if (!s->source || !s->body) {
        free(s->source);
        free(s->body);
        sb_certs_free(chain, n_chain);
        BAIL(err, SB_E_INTERNAL, "out of memory");
    }
    memcpy(s->body, body, body_len);
    s->body_len = body_len;
    s->identity = identity;
    s->chain = chain;
    s->n_chain = n_chain;
    s->chain_at = INT64_MIN;
    c->n_items++;
    return 0;
}

static bool starts_with_text(const uint8_t *p, size_t n, const char *needle) {
    size_t k = strlen(needle);
    for (size_t i = 0; i + k <= n && i < 4096; i++)
        if (memcmp(p + i, needle, k) == 0) return true;
    return false;
}

/* A dcap-qvl style bundle: {"tcb_info": "<json text>", "tcb_info_signature": "<hex>",
 * "tcb_info_issuer_chain": "<pem>", "qe_identity": ..., "root_ca_crl": "<hex der>", ...}. The
 * bundle itself is not signed: each inner item is verified on its own. */
static int add_bundle(sb_dcap_collateral *c, const char *name, json_t *b, sb_error *err) {
    static const char *const kinds[2][3] = {
        {"tcb_info", "tcb_info_signature", "tcb_info_issuer_chain"},
        {"qe_identity", "qe_identity_signature", "qe_identity_issuer_chain"},
    };
    for (int k = 0; k < 2; k++) {
        json_t *body = json_object_get(b, kinds[k][0]);
        json_t *sig = json_object_get(b, kinds[k][1]);
        json_t *chain = json_object_get(b, kinds[k][2]);
        if (!body) continue;
        if (!json_is_string(body) || !json_is_string(sig))
            BAIL(err, SB_E_MALFORMED, "%s: %s / %s must be strings", name, kinds[k][0],
                 kinds[k][1]);
        sb_cert **v = NULL;
        size_t nv = 0;
        if (json_is_string(chain))
            TRY(add_pem_certs(c, (const uint8_t *)json_string_value(chain),
                              json_string_length(chain), &v, &nv, err));
        TRY(add_signed(c, name, k == 1, (const uint8_t *)json_string_value(body),
                       json_string_length(body), json_string_value(sig), json_string_length(sig), v,
                       nv, err));
    }
    static const char *const crls[2] = {"root_ca_crl", "pck_crl"};
    for (int k = 0; k < 2; k++) {
        json_t *h = json_object_get(b, crls[k]);
        if (!h) continue;
        if (!json_is_string(h)) BAIL(err, SB_E_MALFORMED, "%s: %s is not a string", name, crls[k]);
        _cleanup_free_ uint8_t *der = NULL;
        size_t n = 0;
        if (sb_hex_decode(json_string_value(h), json_string_length(h), &der, &n, err) < 0)
            return sb_error_prefix(err, "%s: %s", name, crls[k]);
        TRY(add_crl_der(c, name, der, n, err));
    }
    json_t *pc = json_object_get(b, "pck_crl_issuer_chain");
    if (json_is_string(pc))
        TRY(add_pem_certs(c, (const uint8_t *)json_string_value(pc), json_string_length(pc), NULL,
                          NULL, err));
    return 0;
}

static int add_json(sb_dcap_collateral *c, const char *name, const uint8_t *p, size_t n, bool *used,
                    sb_error *err) {
    struct sb_dcap_signed_json sj;
    int rc = sb_dcap_signed_json_locate(p, n, &sj, err);
    if (rc == 0) {
        *used = true;
        return add_signed(c, name, strcmp(sj.member, "enclaveIdentity") == 0, sj.body, sj.body_len,
                          sj.sig_hex, sj.sig_hex_len, NULL, 0, err);
    }
    if (rc != SB_E_NOTFOUND) return sb_error_prefix(err, "%s", name);
    json_error_t je;
    json_t *b = json_loadb((const char *)p, n, JSON_REJECT_DUPLICATES, &je);
    if (!b) return 0; /* JSON-looking but not JSON: not ours */
    if (json_is_object(b) &&
        (json_object_get(b, "tcb_info") || json_object_get(b, "qe_identity"))) {
        *used = true;
        rc = add_bundle(c, name, b, err);
    }
    json_decref(b);
    return rc;
}

int sb_dcap_collateral_add(sb_dcap_collateral *c, const char *name, const uint8_t *p, size_t n,
                           bool strict, bool *used, sb_error *err) {
    *used = false;
    if (!name) name = "(collateral)";
    if (n == 0 || sb_dcap_quote_sniff(p, n, NULL)) return 0;
    if (n > SB_DCAP_COLLATERAL_MAX) {
        if (strict)
            BAIL(err, SB_E_LIMIT, "%s: %zu bytes is over the collateral limit of %u", name, n,
                 SB_DCAP_COLLATERAL_MAX);
        return 0;
    }
    size_t i = 0;
    while (i < n && (p[i] == ' ' || p[i] == '\n' || p[i] == '\r' || p[i] == '\t'))
        i++;
    sb_error local = {0};
    int rc = 0;
    if (i < n && p[i] == '{') {
        rc = add_json(c, name, p, n, used, &local);
    } else if (starts_with_text(p, n, "-----BEGIN CERTIFICATE-----")) {
        *used = true;
        rc = add_pem_certs(c, p, n, NULL, NULL, &local);
        if (rc < 0) (void)sb_error_prefix(&local, "%s", name);
    } else if (p[0] == 0x30) {
        const uint8_t *nm;
        size_t nl;
        sb_error e2 = {0};
        if (sb_der_x509_name(p, n, true, &nm, &nl, &e2) == 0) {
            *used = true;
            rc = add_crl_der(c, name, p, n, &local);
        } else if (sb_der_x509_name(p, n, false, &nm, &nl, &e2) == 0) {
            sb_cert *cert = NULL;
            if (sb_cert_from_der(p, n, &cert, &e2) == 0) {
                *used = true;
                rc = add_cert(c, cert, &local);
            }
        }
    }
    if (rc < 0) {
        *used = false;
        if (strict) {
            if (err) *err = local;
            return rc;
        }
        json_array_append_new(c->notes,
                              json_sprintf("collateral file %s ignored: %s", name, local.msg));
    }
    return 0;
}

void dcap_files_free(struct dcap_file *f, size_t n) {
    if (!f) return;
    for (size_t i = 0; i < n; i++) {
        free(f[i].path);
        free(f[i].data);
    }
    free(f);
}

int dcap_dir_read(const char *dir, struct dcap_file **out, size_t *n_out, sb_error *err) {
    *out = NULL;
    *n_out = 0;
    DIR *d = opendir(dir);
    if (!d) BAIL(err, SB_E_IO, "--collateral %s: %s", dir, strerror(errno));
    /* readdir order is arbitrary: sort names so that the result never depends on it */
    char *names[DCAP_DIR_MAX_FILES];
    size_t k = 0;
    struct dirent *e;
    int rc = 0;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.') continue;
        if (k == DCAP_DIR_MAX_FILES) {
            rc = sb_error_set(err, SB_E_LIMIT, "--collateral %s: more than %d files", dir,
                              DCAP_DIR_MAX_FILES);
            break;
        }
        names[k] = strdup(e->d_name);
        if (!names[k]) {
            rc = sb_error_set(err, SB_E_INTERNAL, "out of memory");
            break;
        }
        k++;
    }
    closedir(d);
    for (size_t i = 1; i < k && rc == 0; i++)
        for (size_t j = i; j > 0 && strcmp(names[j - 1], names[j]) > 0; j--) {
            char *t = names[j];
            names[j] = names[j - 1];
            names[j - 1] = t;
        }
    struct dcap_file *f = rc == 0 ? calloc(k ? k : 1, sizeof(*f)) : NULL;
    if (rc == 0 && !f) rc = sb_error_set(err, SB_E_INTERNAL, "out of memory");
    size_t nf = 0;
    for (size_t i = 0; i < k && rc == 0; i++) {
        char path[4096];
        int w = snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
        struct stat st;
        if (w < 0 || (size_t)w >= sizeof(path) || stat(path, &st) < 0 || !S_ISREG(st.st_mode) ||
            st.st_size > (off_t)SB_DCAP_COLLATERAL_MAX)
            continue;
        sb_error e2 = {0};
        if (sb_read_file(path, SB_DCAP_COLLATERAL_MAX, &f[nf].data, &f[nf].len, &e2) < 0) continue;
        f[nf].path = strdup(path);
        if (!f[nf].path) {
            free(f[nf].data);
            rc = sb_error_set(err, SB_E_INTERNAL, "out of memory");
            break;
        }
        nf++;
    }
    for (size_t i = 0; i < k; i++)
        free(names[i]);
    if (rc < 0) {
        dcap_files_free(f, nf);
        return rc;
    }
    *out = f;
    *n_out = nf;
    return 0;
}

int sb_dcap_collateral_add_dir(sb_dcap_collateral *c, const char *dir, sb_error *err) {
    struct dcap_file *f = NULL;
    size_t n = 0;
    TRY(dcap_dir_read(dir, &f, &n, err));
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        bool used;
        rc = sb_dcap_collateral_add(c, f[i].path, f[i].data, f[i].len, false, &used, err);
    }
    dcap_files_free(f, n);
    return rc;
}

/* ---- CRLs ------------------------------------------------------------------------------- */

/* Preference among CRLs of one issuer at time at: one whose window holds at, newest first;
 * then the newest issued before at; then the oldest (all in the future). */
static int crl_rank(const sb_crl *x, int64_t at) {
    int64_t tu = sb_crl_this_update(x), nu = sb_crl_next_update(x);
    if (tu <= at && (nu == 0 || at <= nu)) return 2;
    return tu <= at ? 1 : 0;
}

int dcap_crl_for(sb_dcap_collateral *c, const sb_cert *ca, int64_t at, struct dcap_crl **out,
                 sb_error *err) {
    *out = NULL;
    const uint8_t *der, *subj;
    size_t dn, sn;
    TRY(sb_cert_der(ca, &der, &dn, err));
    TRY(sb_der_x509_name(der, dn, false, &subj, &sn, err));
    struct dcap_crl *best = NULL;
    for (size_t i = 0; i < c->n_crls; i++) {
        struct dcap_crl *x = &c->crls[i];
        if (x->issuer_len != sn || memcmp(x->issuer, subj, sn) != 0) continue;
        /* every CRL naming this CA must carry its signature (checked once per issuer cert) */
        if (!x->verified_by || !sb_cert_equal(x->verified_by, ca)) {
            if (sb_crl_check_signed_by(x->crl, ca, err) < 0)
                return sb_error_prefix(err, "CRL %s does not verify with its issuer", x->source);
            sb_cert_free(x->verified_by);
            x->verified_by = sb_cert_dup(ca);
        }
        if (!best) {
            best = x;
            continue;
        }
        int rx = crl_rank(x->crl, at), rb = crl_rank(best->crl, at);
        int64_t tx = sb_crl_this_update(x->crl), tb = sb_crl_this_update(best->crl);
        if (rx > rb || (rx == rb && (rx ? tx > tb : tx < tb))) best = x;
    }
    *out = best;
    return 0;
}

/* ---- parsing the verified JSON ------------------------------------------------------------ */

static int jstr_time(json_t *o, const char *key, int64_t *out, const char *src, sb_error *err) {
    json_t *v = json_object_get(o, key);
    if (!json_is_string(v)) BAIL(err, SB_E_MALFORMED, "%s: %s is missing", src, key);
    if (sb_time_parse(json_string_value(v), out, err) < 0)
        return sb_error_prefix(err, "%s: %s", src, key);
    return 0;
}

static int jhex(json_t *o, const char *key, uint8_t *out, size_t n, const char *src,
                sb_error *err) {
    json_t *v = json_object_get(o, key);
    if (!json_is_string(v) || dcap_hex_fixed(json_string_value(v), out, n) < 0)
        BAIL(err, SB_E_MALFORMED, "%s: %s is not %zu hex bytes", src, key, n);
    return 0;
}

static int jint(json_t *o, const char *key, int64_t max, int64_t *out, const char *src,
                sb_error *err) {
    json_t *v = json_object_get(o, key);
    if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > max)
        BAIL(err, SB_E_MALFORMED, "%s: %s is not an integer in 0..%lld", src, key, (long long)max);
    *out = json_integer_value(v);
    return 0;
}

static int parse_status(json_t *lvl, enum dcap_status *out, const char *src, sb_error *err) {
    json_t *v = json_object_get(lvl, "tcbStatus");
    if (!json_is_string(v)) BAIL(err, SB_E_MALFORMED, "%s: tcbStatus is missing", src);
    for (int i = 0; i < ST_MAX; i++)
        if (strcmp(json_string_value(v), STATUS_NAMES[i]) == 0) {
            *out = (enum dcap_status)i;
            return 0;
        }
    BAIL(err, SB_E_MALFORMED, "%s: unknown tcbStatus \"%.40s\"", src, json_string_value(v));
}

/* The common part of a level: tcbDate, tcbStatus, advisoryIDs. */
static int parse_level_common(json_t *lvl, struct dcap_level *l, const char *src, sb_error *err) {
    TRY(parse_status(lvl, &l->status, src, err));
    TRY(jstr_time(lvl, "tcbDate", &l->date, src, err));
    json_t *adv = json_object_get(lvl, "advisoryIDs");
    l->advisories = json_array();
    if (!l->advisories) BAIL(err, SB_E_INTERNAL, "out of memory");
    if (adv) {
        if (!json_is_array(adv) || json_array_size(adv) > DCAP_MAX_ADVISORIES)
            BAIL(err, SB_E_MALFORMED, "%s: advisoryIDs is not an array of at most %d", src,
                 DCAP_MAX_ADVISORIES);
        size_t i;
        json_t *a;
        json_array_foreach(adv, i, a) {
            if (!json_is_string(a)) BAIL(err, SB_E_MALFORMED, "%s: advisory ID not a string", src);
            json_array_append(l->advisories, a);
        }
    }
    return 0;
}

static int parse_levels(json_t *arr, bool isv_only, int version, struct dcap_level **out,
                        size_t *n_out, const char *src, sb_error *err) {
    if (!json_is_array(arr) || json_array_size(arr) == 0 || json_array_size(arr) > DCAP_MAX_LEVELS)
        BAIL(err, SB_E_MALFORMED, "%s: tcbLevels is not an array of 1..%d levels", src,
             DCAP_MAX_LEVELS);
    size_t n = json_array_size(arr);
    struct dcap_level *lv = calloc(n, sizeof(*lv));
    if (!lv) BAIL(err, SB_E_INTERNAL, "out of memory");
    *out = lv;
    *n_out = n;
    for (size_t i = 0; i < n; i++) {
        json_t *lvl = json_array_get(arr, i);
        json_t *tcb = json_object_get(lvl, "tcb");
        if (!json_is_object(tcb)) BAIL(err, SB_E_MALFORMED, "%s: tcbLevels[%zu].tcb", src, i);
        TRY(parse_level_common(lvl, &lv[i], src, err));
        int64_t v;
        if (isv_only) {
            TRY(jint(tcb, "isvsvn", 65535, &v, src, err));
            lv[i].isvsvn = (uint16_t)v;
            continue;
        }
        TRY(jint(tcb, "pcesvn", 65535, &v, src, err));
        lv[i].pcesvn = (uint16_t)v;
        if (version == 2) {
            for (int k = 0; k < 16; k++) {
                char key[24];
                (void)snprintf(key, sizeof(key), "sgxtcbcomp%02dsvn", k + 1);
                TRY(jint(tcb, key, 255, &v, src, err));
                lv[i].sgx[k] = (uint8_t)v;
            }
            continue;
        }
        static const char *const comps[2] = {"sgxtcbcomponents", "tdxtcbcomponents"};
        for (int c = 0; c < 2; c++) {
            json_t *a = json_object_get(tcb, comps[c]);
            if (!a && c == 1) break;
            if (!json_is_array(a) || json_array_size(a) != 16)
                BAIL(err, SB_E_MALFORMED, "%s: tcbLevels[%zu].tcb.%s is not 16 components", src, i,
                     comps[c]);
            for (size_t k = 0; k < 16; k++) {
                TRY(jint(json_array_get(a, k), "svn", 255, &v, src, err));
                (c ? lv[i].tdx : lv[i].sgx)[k] = (uint8_t)v;
            }
            if (c == 1) lv[i].has_tdx = true;
        }
    }
    return 0;
}

static int parse_tcb_info(struct dcap_signed *s, json_t *o, sb_error *err) {
    const char *src = s->source;
    int64_t v;
    TRY(jint(o, "version", 100, &v, src, err));
    if (v != 2 && v != 3)
        BAIL(err, SB_E_UNSUPPORTED, "%s: tcbInfo version %lld is not supported (2, 3)", src,
             (long long)v);
    s->version = (int)v;
    json_t *id = json_object_get(o, "id");
    if (s->version == 3) {
        if (!json_is_string(id) ||
            (strcmp(json_string_value(id), "SGX") && strcmp(json_string_value(id), "TDX")))
            BAIL(err, SB_E_MALFORMED, "%s: tcbInfo id must be \"SGX\" or \"TDX\"", src);
        (void)snprintf(s->id, sizeof(s->id), "%s", json_string_value(id));
    } else {
        (void)snprintf(s->id, sizeof(s->id), "SGX");
    }
    TRY(jstr_time(o, "issueDate", &s->issue, src, err));
    TRY(jstr_time(o, "nextUpdate", &s->next, src, err));
    TRY(jhex(o, "fmspc", s->fmspc, 6, src, err));
    TRY(jhex(o, "pceId", s->pceid, 2, src, err));
    TRY(jint(o, "tcbEvaluationDataNumber", INT32_MAX, &s->eval, src, err));
    json_t *m = json_object_get(o, "tdxModule");
    if (m) {
        s->has_module = true;
        TRY(jhex(m, "mrsigner", s->mod_mrsigner, 48, src, err));
        TRY(jhex(m, "attributes", s->mod_attr, 8, src, err));
        TRY(jhex(m, "attributesMask", s->mod_mask, 8, src, err));
    }
    json_t *ids = json_object_get(o, "tdxModuleIdentities");
    if (ids) {
        if (!json_is_array(ids) || json_array_size(ids) > DCAP_MAX_MODULES)
            BAIL(err, SB_E_MALFORMED, "%s: tdxModuleIdentities is not an array of at most %d", src,
                 DCAP_MAX_MODULES);
        s->modules = calloc(json_array_size(ids) + 1, sizeof(*s->modules));
        if (!s->modules) BAIL(err, SB_E_INTERNAL, "out of memory");
        for (size_t i = 0; i < json_array_size(ids); i++) {
            json_t *mi = json_array_get(ids, i);
            struct dcap_module *md = &s->modules[s->n_modules++];
            json_t *mid = json_object_get(mi, "id");
            if (!json_is_string(mid) || json_string_length(mid) >= sizeof(md->id))
                BAIL(err, SB_E_MALFORMED, "%s: tdxModuleIdentities[%zu].id", src, i);
            (void)snprintf(md->id, sizeof(md->id), "%s", json_string_value(mid));
            TRY(jhex(mi, "mrsigner", md->mrsigner, 48, src, err));
            TRY(jhex(mi, "attributes", md->attributes, 8, src, err));
            TRY(jhex(mi, "attributesMask", md->mask, 8, src, err));
            TRY(parse_levels(json_object_get(mi, "tcbLevels"), true, 0, &md->levels, &md->n_levels,
                             src, err));
        }
    }
    return parse_levels(json_object_get(o, "tcbLevels"), false, s->version, &s->levels,
                        &s->n_levels, src, err);
}

static int parse_identity(struct dcap_signed *s, json_t *o, sb_error *err) {
    const char *src = s->source;
    int64_t v;
    TRY(jint(o, "version", 100, &v, src, err));
    if (v != 2 && v != 3)
        BAIL(err, SB_E_UNSUPPORTED, "%s: enclaveIdentity version %lld is not supported (2, 3)", src,
             (long long)v);
    s->version = (int)v;
    json_t *id = json_object_get(o, "id");
    if (!json_is_string(id) || json_string_length(id) >= sizeof(s->id))
        BAIL(err, SB_E_MALFORMED, "%s: enclaveIdentity id is missing", src);
    (void)snprintf(s->id, sizeof(s->id), "%s", json_string_value(id));
    TRY(jstr_time(o, "issueDate", &s->issue, src, err));
    TRY(jstr_time(o, "nextUpdate", &s->next, src, err));
    TRY(jint(o, "tcbEvaluationDataNumber", INT32_MAX, &s->eval, src, err));
    uint8_t b4[4];
    TRY(jhex(o, "miscselect", b4, 4, src, err));
    s->miscselect = (uint32_t)b4[0] << 24 | (uint32_t)b4[1] << 16 | (uint32_t)b4[2] << 8 | b4[3];
    TRY(jhex(o, "miscselectMask", b4, 4, src, err));
    s->miscmask = (uint32_t)b4[0] << 24 | (uint32_t)b4[1] << 16 | (uint32_t)b4[2] << 8 | b4[3];
    TRY(jhex(o, "attributes", s->attributes, 16, src, err));
    TRY(jhex(o, "attributesMask", s->attrmask, 16, src, err));
    TRY(jhex(o, "mrsigner", s->mrsigner, 32, src, err));
    TRY(jint(o, "isvprodid", 65535, &v, src, err));
    s->isvprodid = (uint16_t)v;
    return parse_levels(json_object_get(o, "tcbLevels"), true, 2, &s->levels, &s->n_levels, src,
                        err);
}

int dcap_signed_parse(struct dcap_signed *s, sb_error *err) {
    const char *what = s->identity ? "enclaveIdentity" : "tcbInfo";
    json_error_t je;
    json_t *o = json_loadb((const char *)s->body, s->body_len, JSON_REJECT_DUPLICATES, &je);
    if (!json_is_object(o)) {
        json_decref(o);
        BAIL(err, SB_E_MALFORMED, "%s: %s JSON: %s (line %d)", s->source, what, je.text, je.line);
    }
    int prc = s->identity ? parse_identity(s, o, err) : parse_tcb_info(s, o, err);
    json_decref(o);
    if (prc < 0) {
        for (size_t i = 0; i < s->n_modules; i++)
            free_levels(s->modules[i].levels, s->modules[i].n_levels);
        free(s->modules);
        free_levels(s->levels, s->n_levels);
        s->modules = NULL;
        s->levels = NULL;
        s->n_modules = s->n_levels = 0;
    }
    return prc;
}

/* ---- verification of one item ------------------------------------------------------------- */

static bool is_tcb_signer(const sb_cert *cert) {
    _cleanup_free_ char *subj = sb_cert_subject(cert);
    return subj && strstr(subj, "CN=Intel SGX TCB Signing") != NULL;
}

int dcap_signed_authenticate(sb_dcap_collateral *c, struct dcap_signed *s, sb_error *err) {
    const char *what = s->identity ? "enclaveIdentity" : "tcbInfo";
    if (s->checked) return 0;
    /* Candidate signers: the item's own issuer chain first, then every TCB signing certificate
     * of the store. Every one whose key verifies the signature is kept: a renewed signing
     * certificate can carry the same key, and the chain check at a time picks among them. */
    const sb_cert *cands[DCAP_MAX_ITEMS + DCAP_CHAIN_CERTS_MAX];
    size_t nc = 0;
    for (size_t i = 0; i < s->n_chain; i++)
        if (is_tcb_signer(s->chain[i])) cands[nc++] = s->chain[i];
    for (size_t i = 0; i < c->n_certs; i++)
        if (is_tcb_signer(c->certs[i])) cands[nc++] = c->certs[i];
    if (nc == 0)
        BAIL(err, SB_E_CHAIN,
             "%s: no Intel SGX TCB Signing certificate to check the %s signature (give its chain "
             "with --certs or put it in the collateral directory)",
             s->source, what);
    sb_error e = {0};
    for (size_t i = 0; i < nc && s->n_signers < DCAP_MAX_SIGNERS; i++) {
        bool dup = false;
        for (size_t k = 0; k < s->n_signers; k++)
            dup = dup || sb_cert_equal(s->signers[k], cands[i]);
        if (dup) continue;
        sb_pubkey *k = NULL;
        if (sb_cert_pubkey(cands[i], &k, &e) < 0) continue;
        int v = sb_ecdsa_verify(k, SB_HASH_SHA256, s->body, s->body_len, s->sig, 64,
                                SB_ECDSA_RAW_BE, &e);
        sb_pubkey_free(k);
        if (v == 0 && (s->signers[s->n_signers] = sb_cert_dup(cands[i]))) s->n_signers++;
    }
    if (s->n_signers == 0)
        BAIL(err, SB_E_SIGNATURE,
             "%s: the %s signature does not verify with any Intel SGX TCB Signing key", s->source,
             what);
    TRY(dcap_signed_parse(s, err));
    s->checked = true;
    return 0;
}

int dcap_signed_signer_at(sb_dcap_collateral *c, struct dcap_signed *s, int64_t at, sb_error *err) {
    const char *what = s->identity ? "enclaveIdentity" : "tcbInfo";
    if (!s->checked) BAIL(err, SB_E_INTERNAL, "%s: %s not authenticated", s->source, what);
    if (s->chain_at == at) return 0;
    int rc = SB_E_CHAIN;
    sb_error first = {0};
    for (size_t i = 0; i < s->n_signers; i++) {
        sb_error e = {0};
        const sb_cert *signer = s->signers[i];
        rc = sb_x509_verify_chain(signer, NULL, 0, &c->root, 1, NULL, 0, at, 0, &e);
        struct dcap_crl *crl = NULL;
        if (rc == 0) rc = dcap_crl_for(c, c->root, at, &crl, &e);
        if (rc == 0 && crl && sb_crl_revokes(crl->crl, signer))
            rc = sb_error_set(&e, SB_E_CHAIN,
                              "the TCB signing certificate is revoked by the root CA CRL");
        if (rc == 0) {
            free(s->signer_subject);
            free(s->signer_issuer);
            s->signer_subject = sb_cert_subject(signer);
            s->signer_issuer = sb_cert_issuer(signer);
            s->signer_nb = sb_cert_not_before(signer);
            s->signer_na = sb_cert_not_after(signer);
            s->chain_at = at;
            return 0;
        }
        if (i == 0) first = e;
    }
    if (err) *err = first;
    return sb_error_prefix(err, "%s: %s signer", s->source, what);
}
