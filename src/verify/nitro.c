/* nitro (verify): authenticates AWS Nitro Enclaves attestation documents — the COSE_Sign1
 * signature by the leaf, the chain to the pinned root at an explicit time — and builds claims. */
#include <string.h>

#include "crypto/crypto.h"
#include "evidence/evidence.h"
#include "verify.h"

#define W "nitro"
#define NITRO_CACHE_SLOTS 4
/* Written rule: NSM timestamps are milliseconds; Nitro did not exist before 2020, so a value
 * below 1e11 (1973 in milliseconds, year 5138 in seconds) was written in seconds by a
 * non-NSM attester. It is read as seconds and reported as a warning. */
#define NITRO_SECONDS_BELOW 100000000000ull

struct cache_slot {
    bool used;
    uint8_t key[32];    /* SHA-256 over the cabundle, each certificate length-prefixed */
    sb_cert *issuer;    /* cabundle[n-1], the leaf's issuer */
    int64_t nb, na;     /* intersection of the bundle's validity windows */
    json_t *collateral; /* the bundle's collateral records, shared into each claims object */
};

struct sb_nitro_ctx {
    sb_cert **roots;
    size_t n_roots;
    bool pinned; /* roots is exactly the pinned AWS root */
    struct cache_slot slots[NITRO_CACHE_SLOTS];
    size_t next;
};

void sb_nitro_ctx_free(sb_nitro_ctx *c) {
    if (!c) return;
    sb_certs_free(c->roots, c->n_roots);
    for (size_t i = 0; i < NITRO_CACHE_SLOTS; i++) {
        sb_cert_free(c->slots[i].issuer);
        json_decref(c->slots[i].collateral);
    }
    free(c);
}

static void ctx_freep(sb_nitro_ctx **c) { sb_nitro_ctx_free(*c); }
static void cert_freep(sb_cert **c) { sb_cert_free(*c); }
static void pubkey_freep(sb_pubkey **k) { sb_pubkey_free(*k); }

int sb_nitro_ctx_new(struct sb_cert *const *roots, size_t n_roots, sb_nitro_ctx **out,
                     sb_error *err) {
    ENSURE(n_roots <= 8, err, SB_E_LIMIT, W ": %zu trust anchors, at most 8", n_roots);
    _cleanup_(ctx_freep) sb_nitro_ctx *c = calloc(1, sizeof(*c));
    if (!c) BAIL(err, SB_E_INTERNAL, W ": out of memory");
    c->roots = calloc(n_roots ? n_roots : 1, sizeof(*c->roots));
    if (!c->roots) BAIL(err, SB_E_INTERNAL, W ": out of memory");
    if (!roots || n_roots == 0) {
        sb_cert *r = NULL;
        TRY(sb_cert_from_pem((const uint8_t *)sb_nitro_root_g1_pem, strlen(sb_nitro_root_g1_pem),
                             &r, err));
        c->roots[0] = r;
        c->n_roots = 1;
        uint8_t fp[32];
        TRY(sb_cert_fingerprint(r, SB_HASH_SHA256, fp, err));
        ENSURE(sb_ct_equal(fp, sb_nitro_root_g1_sha256, 32), err, SB_E_INTERNAL,
               W ": the embedded AWS root does not match its pinned fingerprint");
        c->pinned = true;
    } else {
        for (size_t i = 0; i < n_roots; i++) {
            c->roots[i] = sb_cert_dup(roots[i]);
            if (!c->roots[i]) BAIL(err, SB_E_INTERNAL, W ": out of memory");
            c->n_roots++;
        }
    }
    *out = TAKE_PTR(c);
    return 0;
}

static int add_collateral(json_t *arr, const char *kind, const sb_cert *cert, const char *source) {
    json_t *tmp = json_pack("{s:[]}", "collateral");
    if (!tmp) return SB_E_INTERNAL;
    char *subject = sb_cert_subject(cert), *issuer = sb_cert_issuer(cert);
    int rc = sb_claims_add_collateral(tmp, kind, subject, issuer, sb_cert_not_before(cert),
                                      sb_cert_not_after(cert), source);
    free(subject);
    free(issuer);
    if (rc == 0 && json_array_extend(arr, json_object_get(tmp, "collateral")) < 0)
        rc = SB_E_INTERNAL;
    json_decref(tmp);
    return rc;
}

static int bundle_key(const sb_nitro_doc *d, uint8_t key[32], sb_error *err) {
    sb_hash_ctx *h = NULL;
    TRY(sb_hash_ctx_new(SB_HASH_SHA256, &h, err));
    int rc = 0;
    for (size_t i = 0; i < d->n_cabundle && rc == 0; i++) {
        uint8_t len[4] = {(uint8_t)(d->cabundle[i].n >> 24), (uint8_t)(d->cabundle[i].n >> 16),
                          (uint8_t)(d->cabundle[i].n >> 8), (uint8_t)d->cabundle[i].n};
        rc = sb_hash_ctx_update(h, len, 4, err);
        if (rc == 0) rc = sb_hash_ctx_update(h, d->cabundle[i].p, d->cabundle[i].n, err);
    }
    if (rc == 0) rc = sb_hash_ctx_final(h, key, err);
    sb_hash_ctx_free(h);
    return rc;
}

/* A validity window checked here too, so the message is the same at any time (OpenSSL cannot
 * compare against times past 9999-12-31 and says "format error" there). */
static int check_window(const sb_cert *cert, const char *what, int64_t at, sb_error *err) {
    int64_t nb = sb_cert_not_before(cert), na = sb_cert_not_after(cert);
    if (at >= nb && at <= na) return 0;
    char t[32], lim[32];
    sb_time_format(at, t);
    sb_time_format(at < nb ? nb : na, lim);
    _cleanup_free_ char *subject = sb_cert_subject(cert);
    BAIL(err, SB_E_CHAIN, W ": certificate chain: %s (%s) %s %s, verification time %s", what,
         subject ? subject : "?",
         at < nb ? "certificate is not yet valid: valid from"
                 : "certificate has expired: valid until",
         lim, t);
}

/* The full chain check of a bundle not seen before; on success the bundle joins the cache. */
static int verify_bundle(sb_nitro_ctx *c, const sb_nitro_doc *d, const uint8_t key[32],
                         const sb_cert *leaf, int64_t at, json_t *collateral, sb_error *err) {
    sb_cert *cab[SB_NITRO_MAX_CABUNDLE] = {0};
    size_t n = d->n_cabundle;
    int rc = 0;
    json_t *coll = json_array();
    if (!coll) BAIL(err, SB_E_INTERNAL, W ": out of memory");
    for (size_t i = 0; i < n && rc == 0; i++) {
        rc = sb_cert_from_der(d->cabundle[i].p, d->cabundle[i].n, &cab[i], err);
        if (rc < 0) (void)sb_error_prefix(err, W ": cabundle[%zu]", i);
    }
    /* issuer first, so the message names the certificate nearest the root that fails */
    for (size_t i = 0; i < n && rc == 0; i++) {
        char what[32];
        (void)snprintf(what, sizeof(what), "cabundle[%zu]", i);
        rc = check_window(cab[i], what, at, err);
    }
    if (rc < 0) goto out;
    bool anchored = false;
    for (size_t r = 0; r < c->n_roots && !anchored; r++)
        anchored = sb_cert_equal(cab[0], c->roots[r]);
    if (!anchored) {
        char *subj = sb_cert_subject(cab[0]);
        rc = sb_error_set(err, SB_E_CHAIN,
                          c->pinned ? W ": not AWS-rooted: cabundle[0] (%s) is not the pinned AWS "
                                        "Nitro Enclaves Root G1"
                                    : W ": cabundle[0] (%s) is not one of the trust anchors",
                          subj ? subj : "?");
        free(subj);
        goto out;
    }
    rc = sb_x509_verify_chain(leaf, cab + 1, n - 1, c->roots, c->n_roots, NULL, 0, at, 0, err);
    if (rc < 0) {
        (void)sb_error_prefix(err, W ": certificate chain");
        goto out;
    }
    int64_t nb = INT64_MIN, na = INT64_MAX;
    for (size_t i = 0; i < n && rc == 0; i++) {
        if (sb_cert_not_before(cab[i]) > nb) nb = sb_cert_not_before(cab[i]);
        if (sb_cert_not_after(cab[i]) < na) na = sb_cert_not_after(cab[i]);
        rc = add_collateral(coll, i == 0 ? "nitro-root" : "nitro-intermediate", cab[i],
                            i == 0 && c->pinned ? "pinned" : "document");
    }
    if (rc < 0 || json_array_extend(collateral, coll) < 0) {
        rc = sb_error_set(err, SB_E_INTERNAL, W ": out of memory");
        goto out;
    }
    struct cache_slot *s = &c->slots[c->next];
    c->next = (c->next + 1) % NITRO_CACHE_SLOTS;
    sb_cert_free(s->issuer);
    json_decref(s->collateral);
    *s = (struct cache_slot){.used = true,
                             .issuer = TAKE_PTR(cab[n - 1]),
                             .nb = nb,
                             .na = na,
                             .collateral = TAKE_PTR(coll)};
    for (size_t i = 0; i < 32; i++)
        s->key[i] = key[i];
out:
    for (size_t i = 0; i < n; i++)
        sb_cert_free(cab[i]);
    json_decref(coll);
    return rc;
}

static int verify_chain(sb_nitro_ctx *c, const sb_nitro_doc *d, const sb_cert *leaf, int64_t at,
                        json_t *collateral, sb_error *err) {
    TRY(check_window(leaf, "signing certificate", at, err));
    if (d->n_cabundle == 0) {
        if (c->pinned)
            BAIL(err, SB_E_CHAIN,
                 W ": not AWS-rooted: the document has no cabundle (a self-signed or test "
                   "document), so nothing links its certificate to the AWS Nitro root");
        int rc = sb_x509_verify_chain(leaf, NULL, 0, c->roots, c->n_roots, NULL, 0, at, 0, err);
        if (rc < 0) return sb_error_prefix(err, W ": certificate chain");
        return 0;
    }
    uint8_t key[32];
    TRY(bundle_key(d, key, err));
    for (size_t i = 0; i < NITRO_CACHE_SLOTS; i++) {
        struct cache_slot *s = &c->slots[i];
        if (!s->used || !sb_ct_equal(s->key, key, 32) || at < s->nb || at > s->na) continue;
        /* Warm path: this exact bundle already chained to the anchor and is valid at `at`;
         * only the leaf remains, against its issuer as the trust anchor. */
        sb_cert *issuer = s->issuer;
        int rc = sb_x509_verify_chain(leaf, NULL, 0, &issuer, 1, NULL, 0, at, SB_X509_PARTIAL_CHAIN,
                                      err);
        if (rc < 0) return sb_error_prefix(err, W ": certificate chain");
        if (json_array_extend(collateral, s->collateral) < 0)
            BAIL(err, SB_E_INTERNAL, W ": out of memory");
        return 0;
    }
    return verify_bundle(c, d, key, leaf, at, collateral, err);
}

static int expected_curve(int64_t alg, enum sb_hash *h) {
    switch (alg) {
    case SB_COSE_ES256: *h = SB_HASH_SHA256; return SB_CURVE_P256;
    case SB_COSE_ES384: *h = SB_HASH_SHA384; return SB_CURVE_P384;
    case SB_COSE_ES512: *h = SB_HASH_SHA512; return SB_CURVE_P521;
    default: return -1;
    }
}

static const char *alg_name(int64_t alg) {
    return alg == SB_COSE_ES256 ? "ES256" : alg == SB_COSE_ES384 ? "ES384" : "ES512";
}

static int verify_signature(const sb_nitro_doc *d, const sb_cert *leaf, sb_error *err) {
    enum sb_hash h = SB_HASH_SHA384;
    int curve = expected_curve(d->cose.alg, &h);
    _cleanup_(pubkey_freep) sb_pubkey *k = NULL;
    TRY(sb_cert_pubkey(leaf, &k, err));
    ENSURE(sb_pubkey_type(k) == SB_KEY_EC && sb_pubkey_curve(k) == curve, err, SB_E_SIGNATURE,
           W ": the signing certificate's key does not fit %s", alg_name(d->cose.alg));
    sb_writer w;
    sb_writer_init(&w, SB_NITRO_MAX_DOC_LEN + 64);
    int rc = sb_cose_sign1_tbs(&d->cose, NULL, 0, &w);
    if (rc == 0)
        rc = sb_ecdsa_verify(k, h, w.buf, w.len, d->cose.signature, d->cose.signature_len,
                             SB_ECDSA_RAW_BE, err);
    else
        rc = sb_error_set(err, rc, W ": cannot build Sig_structure");
    sb_writer_free(&w);
    if (rc < 0) return sb_error_prefix(err, W ": COSE_Sign1 %s signature", alg_name(d->cose.alg));
    return 0;
}

static bool all_zero(const uint8_t *p, size_t n) {
    uint8_t acc = 0;
    for (size_t i = 0; i < n; i++)
        acc |= p[i];
    return acc == 0;
}

/* Debug enclaves report PCR0, PCR1 and PCR2 as all zeros. */
static bool is_debug(const sb_nitro_doc *d) {
    unsigned zero = 0;
    for (size_t i = 0; i < d->n_pcrs; i++)
        if (d->pcrs[i].index <= 2 && all_zero(d->pcrs[i].p, d->pcrs[i].n)) zero++;
    return zero == 3;
}

static int set_opt_hex(json_t *cl, const char *key, bool has, sb_nitro_view v) {
    if (!has)
        return json_object_set_new(json_object_get(cl, "platform_claims"), key, json_null()) < 0
                   ? SB_E_INTERNAL
                   : 0;
    return sb_claims_set_hex(cl, "platform_claims", key, v.p, v.n);
}

/* --certs for Nitro: certificates whose key the document may bind in user_data (as Evervault
 * enclaves bind their TLS key); the match, or its absence, is reported. */
static int check_cert_binding(const struct sb_verify_opts *o, const sb_nitro_doc *d, json_t *cl,
                              sb_error *err) {
    for (size_t i = 0; i < o->n_certs; i++) {
        _cleanup_(cert_freep) sb_cert *cert = NULL;
        _cleanup_(pubkey_freep) sb_pubkey *k = NULL;
        TRY(sb_cert_load(o->certs[i].data, o->certs[i].len, &cert, err));
        TRY(sb_cert_pubkey(cert, &k, err));
        _cleanup_free_ uint8_t *spki = NULL;
        size_t n = 0;
        TRY(sb_pubkey_to_spki_der(k, &spki, &n, err));
        _cleanup_free_ char *subject = sb_cert_subject(cert);
        if (d->has_user_data && d->user_data.n == n && sb_ct_equal(spki, d->user_data.p, n)) {
            TRY(sb_claims_set_str(cl, "platform_claims", "user_data_certificate",
                                  subject ? subject : "?"));
        } else {
            TRY(sb_claims_warn(cl, W ": user_data is not the public key of --certs %s",
                               o->certs[i].name ? o->certs[i].name : "?"));
        }
    }
    return 0;
}

static int build_claims(const struct sb_verify_opts *o, const sb_nitro_doc *d, const sb_cert *leaf,
                        int64_t doc_time, bool seconds, json_t *collateral, json_t **out,
                        sb_error *err) {
    _cleanup_(json_decrefp) json_t *cl =
        sb_claims_new("nitro", "nitro-attestation-document", o->at);
    if (!cl) BAIL(err, SB_E_INTERNAL, W ": out of memory");
    int rc = 0;
    for (size_t i = 0; i < d->n_pcrs && rc == 0; i++) {
        char name[16];
        (void)snprintf(name, sizeof(name), "pcr%u", d->pcrs[i].index);
        rc = sb_claims_set_hex(cl, "measurements", name, d->pcrs[i].p, d->pcrs[i].n);
    }
    bool debug = is_debug(d);
    char ts[32];
    sb_time_format(doc_time, ts);
    if (rc == 0) rc = sb_claims_set_bool(cl, NULL, "debug", debug);
    if (rc == 0 && d->has_user_data)
        rc = sb_claims_set_hex(cl, NULL, "report_data", d->user_data.p, d->user_data.n);
    if (rc == 0 && json_object_set_new(json_object_get(cl, "platform_identity"), "module_id",
                                       json_stringn(d->module_id, d->module_id_len)) < 0)
        rc = SB_E_INTERNAL;
    if (rc == 0) rc = sb_claims_set_str(cl, "platform_claims", "timestamp", ts);
    if (rc == 0)
        rc = sb_claims_set_int(cl, "platform_claims", "timestamp_ms",
                               seconds ? doc_time * 1000 : (int64_t)d->timestamp);
    if (rc == 0) rc = sb_claims_set_str(cl, "platform_claims", "digest", "SHA384");
    if (rc == 0) rc = sb_claims_set_str(cl, "platform_claims", "cose_alg", alg_name(d->cose.alg));
    if (rc == 0) rc = set_opt_hex(cl, "nonce", d->has_nonce, d->nonce);
    if (rc == 0) rc = set_opt_hex(cl, "user_data", d->has_user_data, d->user_data);
    if (rc == 0) rc = set_opt_hex(cl, "public_key", d->has_public_key, d->public_key);
    if (rc == 0) rc = add_collateral(collateral, "nitro-leaf", leaf, "document");
    if (rc == 0 && json_array_extend(json_object_get(cl, "collateral"), collateral) < 0)
        rc = SB_E_INTERNAL;
    if (rc < 0) BAIL(err, SB_E_INTERNAL, W ": cannot build claims");
    if (debug)
        TRY(sb_claims_warn(cl, W ": debug enclave: PCR0, PCR1 and PCR2 are all zero, so the "
                                 "measurements say nothing about the code"));
    if (seconds)
        TRY(sb_claims_warn(cl,
                           W ": timestamp %llu is in seconds, not milliseconds (read as %s); "
                             "NSM writes milliseconds",
                           (unsigned long long)d->timestamp, ts));
    if (d->n_unknown_keys)
        TRY(sb_claims_warn(cl, W ": payload has %zu keys this verifier does not know (ignored)",
                           d->n_unknown_keys));
    if (doc_time < sb_cert_not_before(leaf) || doc_time > sb_cert_not_after(leaf))
        TRY(sb_claims_warn(cl, W ": document timestamp %s is outside its certificate's validity",
                           ts));
    if (doc_time > o->at)
        TRY(sb_claims_warn(cl, W ": document timestamp %s is after the verification time", ts));
    TRY(check_cert_binding(o, d, cl, err));
    *out = TAKE_PTR(cl);
    return 0;
}

int sb_nitro_verify(sb_nitro_ctx *c, const struct sb_verify_opts *o, const uint8_t *p, size_t n,
                    json_t **claims, sb_error *err) {
    ENSURE(c && o && o->at > 0, err, SB_E_USAGE, W ": no verification time");
    _cleanup_free_ uint8_t *owned = NULL;
    const uint8_t *doc;
    size_t doclen;
    TRY(sb_nitro_unwrap(p, n, &owned, &doc, &doclen, err));
    _cleanup_free_ sb_nitro_doc *d = calloc(1, sizeof(*d));
    if (!d) BAIL(err, SB_E_INTERNAL, W ": out of memory");
    TRY(sb_nitro_parse(doc, doclen, err, d));
    bool seconds = d->timestamp < NITRO_SECONDS_BELOW;
    ENSURE(d->timestamp / (seconds ? 1 : 1000) <= (uint64_t)INT64_MAX / 1000, err, SB_E_MALFORMED,
           W ": timestamp %llu is out of range", (unsigned long long)d->timestamp);
    int64_t doc_time = (int64_t)(seconds ? d->timestamp : d->timestamp / 1000);

    _cleanup_(cert_freep) sb_cert *leaf = NULL;
    int rc = sb_cert_from_der(d->certificate.p, d->certificate.n, &leaf, err);
    if (rc < 0) return sb_error_prefix(err, W ": certificate");
    TRY(verify_signature(d, leaf, err));
    _cleanup_(json_decrefp) json_t *collateral = json_array();
    if (!collateral) BAIL(err, SB_E_INTERNAL, W ": out of memory");
    TRY(verify_chain(c, d, leaf, o->at, collateral, err));

    if (o->nonce) {
        ENSURE(d->has_nonce, err, SB_E_POLICY,
               W ": a nonce was expected but the document carries none");
        ENSURE(d->nonce.n == o->nonce_len && sb_ct_equal(d->nonce.p, o->nonce, o->nonce_len), err,
               SB_E_POLICY,
               W ": nonce mismatch: the document's nonce (%zu bytes) is not the expected one "
                 "(%zu bytes): stale or replayed evidence",
               d->nonce.n, o->nonce_len);
    }
    return build_claims(o, d, leaf, doc_time, seconds, collateral, claims, err);
}

static int nitro_sniff(const struct sb_blob *ev, size_t n_ev) {
    if (n_ev < 1 || !ev[0].data) return 0;
    return sb_nitro_sniff(ev[0].data, ev[0].len) ? 80 : 0;
}

static int nitro_verify(const struct sb_verify_opts *o, const struct sb_blob *ev, size_t n_ev,
                        json_t **claims, sb_error *err) {
    ENSURE(n_ev == 1, err, SB_E_USAGE,
           W ": expected one attestation document, got %zu evidence files", n_ev);
    _cleanup_(ctx_freep) sb_nitro_ctx *c = NULL;
    TRY(sb_nitro_ctx_new(NULL, 0, &c, err));
    return sb_nitro_verify(c, o, ev[0].data, ev[0].len, claims, err);
}

const struct sb_verifier sb_verifier_nitro = {
    .name = "nitro",
    .sniff = nitro_sniff,
    .verify = nitro_verify,
};
