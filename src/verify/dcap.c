/* dcap: verification of Intel DCAP quotes (TDX v4/v5, SGX v3+) — PCK chain to the pinned Intel
 * SGX Root CA with CRLs, QE report signature and attestation-key binding, quote signature, TCB
 * level matching against signed TCB info and QE identity — and their normalized claims. */
#include <stdio.h>
#include <string.h>

#include "dcap_internal.h"

#define SGX_EXT_OID "1.2.840.113741.1.13.1"

/* ---- the PCK chain (cached per certification data and verification time) ---------------- */

static bool same_name(const sb_cert *a_subject_of, const sb_cert *b_issuer_of) {
    _cleanup_free_ char *s = sb_cert_subject(a_subject_of);
    _cleanup_free_ char *i = sb_cert_issuer(b_issuer_of);
    return s && i && strcmp(s, i) == 0;
}

/* The certification data must be exactly the PEM encoding of its certificates (64-column
 * base64, LF line ends, as Intel's QE writes it), optionally followed by NUL bytes, so that
 * every byte of it either belongs to a certificate or is a counted terminator. */
static int canonical_pem(const uint8_t *p, size_t n, sb_cert *const *v, size_t k, size_t *nul_tail,
                         sb_error *err) {
    sb_writer w;
    sb_writer_init(&w, SB_DCAP_CERT_DATA_MAX + 1024);
    for (size_t i = 0; i < k; i++) {
        const uint8_t *der;
        size_t dn;
        TRY(sb_cert_der(v[i], &der, &dn, err));
        char *b64 = sb_base64_encode(der, dn);
        if (!b64) {
            sb_writer_free(&w);
            BAIL(err, SB_E_INTERNAL, "out of memory");
        }
        size_t bl = strlen(b64);
        (void)sb_writer_str(&w, "-----BEGIN CERTIFICATE-----\n");
        for (size_t o = 0; o < bl; o += 64) {
            (void)sb_writer_bytes(&w, b64 + o, bl - o < 64 ? bl - o : 64);
            (void)sb_writer_u8(&w, '\n');
        }
        (void)sb_writer_str(&w, "-----END CERTIFICATE-----\n");
        free(b64);
    }
    if (sb_writer_status(&w) < 0) {
        sb_writer_free(&w);
        BAIL(err, SB_E_LIMIT, "dcap: PCK certificate chain too large");
    }
    size_t i = 0;
    while (i < w.len && i < n && w.buf[i] == p[i])
        i++;
    bool ok = i == w.len;
    sb_writer_free(&w);
    if (!ok)
        BAIL(err, SB_E_MALFORMED,
             "dcap: PCK certificate chain data is not the canonical PEM of its certificates "
             "(byte %zu of the certification data)",
             i);
    for (size_t j = i; j < n; j++)
        if (p[j] != 0)
            BAIL(err, SB_E_MALFORMED,
                 "dcap: PCK certificate chain data: byte %zu after the last certificate is not "
                 "a NUL terminator",
                 j);
    *nul_tail = n - i;
    return 0;
}

static int pck_chain(sb_dcap_collateral *c, const struct sb_dcap_quote *q, int64_t at,
                     struct dcap_chain_entry **out, sb_error *err) {
    if (q->cert_type != SB_DCAP_CERT_PCK_CHAIN)
        BAIL(err, SB_E_UNSUPPORTED,
             "dcap: certification data type %u is not supported (5 = PEM PCK certificate chain)",
             q->cert_type);
    /* The cache key is the certification data itself (compared byte for byte). */
    for (size_t i = 0; i < DCAP_CHAIN_CACHE; i++) {
        struct dcap_chain_entry *e = &c->cache[i];
        if (e->used && e->at == at && e->cert_data_len == q->cert_data_len &&
            memcmp(e->cert_data, q->cert_data, q->cert_data_len) == 0) {
            *out = e;
            return 0;
        }
    }
    sb_cert **v = NULL;
    size_t n = 0;
    if (sb_certs_from_pem(q->cert_data, q->cert_data_len, DCAP_CHAIN_CERTS_MAX, &v, &n, err) < 0)
        return sb_error_prefix(err, "dcap: PCK certificate chain");
    int rc = 0;
    sb_pubkey *pk = NULL;
    struct sb_pck_ext ext;
    const sb_cert *ca = NULL;
    size_t ni = n ? n - 1 : 0;
    if (n < 2) {
        rc = sb_error_set(err, SB_E_CHAIN,
                          "dcap: PCK certificate chain has %zu certificate(s); expected the PCK "
                          "certificate and its CA",
                          n);
        goto out;
    }
    size_t nul_tail = 0;
    if ((rc = canonical_pem(q->cert_data, q->cert_data_len, v, n, &nul_tail, err)) < 0) goto out;
    /* The chain is the PCK certificate, its CA and optionally the root, which must then be the
     * pinned one byte for byte (a modified root is an error, not an ignored extra). */
    if (n > 3) {
        rc = sb_error_set(err, SB_E_CHAIN,
                          "dcap: PCK certificate chain has %zu certificates (PCK, CA, root)", n);
        goto out;
    }
    if (n == 3) {
        if (!sb_cert_equal(v[2], c->root)) {
            rc = sb_error_set(err, SB_E_CHAIN,
                              "dcap: PCK certificate chain: unable to validate root cert: it is "
                              "not the pinned Intel SGX Root CA");
            goto out;
        }
        ni = 1;
    }
    if ((rc = sb_x509_verify_chain(v[0], v + 1, ni, &c->root, 1, NULL, 0, at, 0, err)) < 0) {
        (void)sb_error_prefix(err, "dcap: PCK certificate chain");
        goto out;
    }
    if (same_name(v[1], v[0])) ca = v[1];
    if (!ca) {
        rc = sb_error_set(err, SB_E_CHAIN, "dcap: PCK certificate chain has no issuing CA");
        goto out;
    }
    struct dcap_crl *crl = NULL;
    if ((rc = dcap_crl_for(c, c->root, at, &crl, err)) < 0) goto out;
    struct dcap_crl *root_crl = crl;
    if (crl && sb_crl_revokes(crl->crl, ca)) {
        rc = sb_error_set(err, SB_E_CHAIN,
                          "dcap: the PCK CA certificate is revoked by the Intel SGX Root CA CRL");
        goto out;
    }
    if ((rc = dcap_crl_for(c, ca, at, &crl, err)) < 0) goto out;
    struct dcap_crl *pck_crl = crl;
    if (crl && sb_crl_revokes(crl->crl, v[0])) {
        rc = sb_error_set(err, SB_E_CHAIN, "dcap: the PCK certificate is revoked by the PCK CRL");
        goto out;
    }
    const uint8_t *ed;
    size_t en;
    if ((rc = sb_cert_ext(v[0], SGX_EXT_OID, &ed, &en, err)) < 0) {
        (void)sb_error_prefix(err, "dcap: PCK certificate SGX extension");
        goto out;
    }
    if ((rc = sb_pck_ext_parse(ed, en, &ext, err)) < 0) goto out;
    if ((rc = sb_cert_pubkey(v[0], &pk, err)) < 0) goto out;
    if (sb_pubkey_type(pk) != SB_KEY_EC || sb_pubkey_curve(pk) != SB_CURVE_P256) {
        rc = sb_error_set(err, SB_E_CHAIN, "dcap: the PCK key is not ECDSA P-256");
        goto out;
    }
    struct dcap_chain_entry *e = &c->cache[c->cache_next];
    c->cache_next = (c->cache_next + 1) % DCAP_CHAIN_CACHE;
    dcap_chain_entry_clear(e);
    e->leaf = sb_cert_dup(v[0]);
    e->ca = sb_cert_dup(ca);
    e->leaf_subject = sb_cert_subject(v[0]);
    e->leaf_issuer = sb_cert_issuer(v[0]);
    e->ca_subject = sb_cert_subject(ca);
    e->ca_issuer = sb_cert_issuer(ca);
    if (!e->leaf || !e->ca || !e->leaf_subject || !e->leaf_issuer || !e->ca_subject ||
        !e->ca_issuer) {
        dcap_chain_entry_clear(e);
        rc = sb_error_set(err, SB_E_INTERNAL, "out of memory");
        goto out;
    }
    e->cert_data = malloc(q->cert_data_len ? q->cert_data_len : 1);
    if (!e->cert_data) {
        rc = sb_error_set(err, SB_E_INTERNAL, "out of memory");
        goto out;
    }
    memcpy(e->cert_data, q->cert_data, q->cert_data_len);
    e->cert_data_len = q->cert_data_len;
    e->at = at;
    e->pck_key = pk;
    pk = NULL;
    e->ext = ext;
    e->nul_tail = nul_tail;
    e->root_crl = root_crl;
    e->pck_crl = pck_crl;
    e->used = true;
    *out = e;
out:
    sb_pubkey_free(pk);
    sb_certs_free(v, n);
    return rc;
}

/* ---- TCB evaluation ----------------------------------------------------------------------- */

static int converge_qe(int platform, int qe) {
    /* Intel QVL: an out-of-date QE makes the platform out of date; a revoked one revokes it. */
    if (qe == ST_OUT_OF_DATE) {
        if (platform == ST_UP_TO_DATE || platform == ST_SW_HARDENING_NEEDED) return ST_OUT_OF_DATE;
        if (platform == ST_CONFIGURATION_NEEDED ||
            platform == ST_CONFIGURATION_AND_SW_HARDENING_NEEDED)
            return ST_OUT_OF_DATE_CONFIGURATION_NEEDED;
    }
    if (qe == ST_REVOKED) return ST_REVOKED;
    return platform;
}

static void add_advisories(json_t *dst, const json_t *src) {
    size_t i, j;
    json_t *a, *b;
    json_array_foreach(src, i, a) {
        bool dup = false;
        json_array_foreach(dst, j, b) dup = dup || json_equal(a, b);
        if (!dup) json_array_append(dst, (json_t *)a);
    }
}

static bool ge16(const uint8_t *have, const uint8_t *need, size_t from) {
    for (size_t i = from; i < 16; i++)
        if (have[i] < need[i]) return false;
    return true;
}

/* Picks the item to use among candidates: valid at `at` first, then the newest issueDate. */
static bool better(const struct dcap_signed *a, const struct dcap_signed *b, int64_t at) {
    if (!b) return true;
    bool av = a->issue <= at && at <= a->next, bv = b->issue <= at && at <= b->next;
    if (av != bv) return av;
    return a->issue > b->issue;
}

/* Candidates of one kind in order of preference (valid at `at`, then newest); the first whose
 * signer chains at `at` is used. */
static int pick_one(sb_dcap_collateral *c, struct dcap_signed **cand, size_t n, int64_t at,
                    struct dcap_signed **out, sb_error *err) {
    for (size_t i = 1; i < n; i++)
        for (size_t j = i; j > 0 && better(cand[j], cand[j - 1], at); j--) {
            struct dcap_signed *t = cand[j];
            cand[j] = cand[j - 1];
            cand[j - 1] = t;
        }
    int first = 0;
    sb_error e = {0};
    for (size_t i = 0; i < n; i++) {
        int rc = dcap_signed_signer_at(c, cand[i], at, i ? &e : err);
        if (rc == 0) {
            *out = cand[i];
            return 0;
        }
        if (i == 0) first = rc;
    }
    return first;
}

static int pick_collateral(sb_dcap_collateral *c, bool tdx, const struct sb_pck_ext *ext,
                           int64_t at, struct dcap_eval *ev, sb_error *err) {
    const char *tcb_id = tdx ? "TDX" : "SGX", *qe_id = tdx ? "TD_QE" : "QE";
    struct dcap_signed *mismatch = NULL, *tcbs[DCAP_MAX_ITEMS], *qes[DCAP_MAX_ITEMS];
    size_t nt = 0, nq = 0;
    for (size_t i = 0; i < c->n_items; i++) {
        struct dcap_signed *s = &c->items[i];
        /* every item given must be genuine, whether or not it is for this quote */
        TRY(dcap_signed_authenticate(c, s, err));
        if (s->identity) {
            if (strcmp(s->id, qe_id) == 0) qes[nq++] = s;
            continue;
        }
        if (strcmp(s->id, tcb_id) != 0) continue;
        if (memcmp(s->fmspc, ext->fmspc, 6) != 0) {
            mismatch = s;
            continue;
        }
        tcbs[nt++] = s;
    }
    if (!nt && mismatch) {
        char want[13], got[13];
        sb_hex_encode(ext->fmspc, 6, want);
        sb_hex_encode(mismatch->fmspc, 6, got);
        BAIL(err, SB_E_MALFORMED,
             "dcap: %s: TCB info FMSPC %s does not match the PCK certificate's FMSPC %s",
             mismatch->source, got, want);
    }
    if (nt) TRY(pick_one(c, tcbs, nt, at, &ev->tcb, err));
    if (nq) TRY(pick_one(c, qes, nq, at, &ev->qe, err));
    if (ev->tcb && memcmp(ev->tcb->pceid, ext->pceid, 2) != 0)
        BAIL(err, SB_E_MALFORMED,
             "dcap: %s: TCB info PCEID %02x%02x does not match the PCK certificate's PCEID "
             "%02x%02x",
             ev->tcb->source, ev->tcb->pceid[0], ev->tcb->pceid[1], ext->pceid[0], ext->pceid[1]);
    return 0;
}

int dcap_check_qe_identity(const struct dcap_signed *id, const struct sb_sgx_report *qe,
                           sb_error *err) {
    if ((qe->miscselect & id->miscmask) != (id->miscselect & id->miscmask))
        BAIL(err, SB_E_CHAIN, "dcap: QE report MISCSELECT 0x%08x does not match the QE identity",
             qe->miscselect);
    for (size_t i = 0; i < 16; i++)
        if ((qe->attributes[i] & id->attrmask[i]) != (id->attributes[i] & id->attrmask[i]))
            BAIL(err, SB_E_CHAIN, "dcap: QE report attributes do not match the QE identity");
    if (memcmp(qe->mrsigner, id->mrsigner, 32) != 0)
        BAIL(err, SB_E_CHAIN, "dcap: QE report MRSIGNER does not match the QE identity");
    if (qe->isvprodid != id->isvprodid)
        BAIL(err, SB_E_CHAIN, "dcap: QE report ISVPRODID %u does not match the QE identity (%u)",
             qe->isvprodid, id->isvprodid);
    return 0;
}

void dcap_evaluate(const struct sb_dcap_quote *q, const struct sb_pck_ext *ext,
                   struct dcap_eval *ev) {
    bool tdx = q->body_type != SB_DCAP_BODY_SGX;
    int qe_status = -1;
    const struct dcap_level *qe_level = NULL;
    if (ev->qe) {
        for (size_t i = 0; i < ev->qe->n_levels && !qe_level; i++)
            if (ev->qe->levels[i].isvsvn <= q->qe_report.isvsvn) qe_level = &ev->qe->levels[i];
        if (!qe_level) {
            (void)snprintf(ev->reason, sizeof(ev->reason), "no matching QE TCB level found");
            ev->status = "NoMatchingQeTcbLevel";
            return;
        }
        qe_status = (int)qe_level->status;
        ev->qe_status = dcap_status_name(qe_level->status);
    }
    if (!ev->tcb) return;
    const struct dcap_signed *t = ev->tcb;
    const struct dcap_level *sgx_level = NULL, *tdx_level = NULL;
    const uint8_t *tee = q->td.tee_tcb_svn;
    size_t tdx_from = tee[1] > 0 ? 2 : 0;
    for (size_t i = 0; i < t->n_levels; i++) {
        const struct dcap_level *l = &t->levels[i];
        if (!ge16(ext->comp_svn, l->sgx, 0) || ext->pcesvn < l->pcesvn) continue;
        if (!sgx_level) sgx_level = l;
        if (!tdx) break;
        if (l->has_tdx && ge16(tee, l->tdx, tdx_from)) {
            tdx_level = l;
            break;
        }
    }
    if (!sgx_level || (tdx && !tdx_level)) {
        (void)snprintf(ev->reason, sizeof(ev->reason), "no matching TCB level found");
        ev->status = "NoMatchingTcbLevel";
        return;
    }
    const struct dcap_level *lvl = tdx ? tdx_level : sgx_level;
    int status = (int)lvl->status;
    ev->platform_status = dcap_status_name(lvl->status);
    add_advisories(ev->advisories, lvl->advisories);
    ev->date = lvl->date;
    if (tdx) {
        if (t->has_module && tee[1] == 0) {
            uint64_t attr = 0, want = 0, mask = 0;
            for (int i = 7; i >= 0; i--) {
                want = want << 8 | t->mod_attr[i];
                mask = mask << 8 | t->mod_mask[i];
            }
            attr = q->td.seam_attributes;
            if (memcmp(t->mod_mrsigner, q->td.mrsignerseam, 48) != 0 ||
                (attr & mask) != (want & mask)) {
                (void)snprintf(ev->reason, sizeof(ev->reason),
                               "TDX module identity mismatch (MRSIGNERSEAM or SEAM attributes)");
                ev->status = "TdxModuleMismatch";
                return;
            }
        }
        if (tee[1] > 0) {
            char id[16];
            (void)snprintf(id, sizeof(id), "TDX_%02X", tee[1]);
            const struct dcap_module *m = NULL;
            for (size_t i = 0; i < t->n_modules && !m; i++)
                if (strcasecmp(t->modules[i].id, id) == 0) m = &t->modules[i];
            if (!m) {
                (void)snprintf(ev->reason, sizeof(ev->reason),
                               "no TDX module identity %s in the TCB info", id);
                ev->status = "TdxModuleMismatch";
                return;
            }
            uint64_t want = 0, mask = 0;
            for (int i = 7; i >= 0; i--) {
                want = want << 8 | m->attributes[i];
                mask = mask << 8 | m->mask[i];
            }
            if (memcmp(m->mrsigner, q->td.mrsignerseam, 48) != 0 ||
                (q->td.seam_attributes & mask) != (want & mask)) {
                (void)snprintf(ev->reason, sizeof(ev->reason),
                               "TDX module identity %s mismatch (MRSIGNERSEAM or SEAM attributes)",
                               id);
                ev->status = "TdxModuleMismatch";
                return;
            }
            const struct dcap_level *ml = NULL;
            for (size_t i = 0; i < m->n_levels && !ml; i++)
                if (tee[0] >= m->levels[i].isvsvn) ml = &m->levels[i];
            if (!ml) {
                (void)snprintf(ev->reason, sizeof(ev->reason),
                               "no matching TDX module TCB level found (%s, SVN %u)", id, tee[0]);
                ev->status = "NoMatchingTdxModuleTcbLevel";
                return;
            }
            ev->module_status = dcap_status_name(ml->status);
            add_advisories(ev->advisories, ml->advisories);
            if (ml->status == ST_OUT_OF_DATE) {
                if (status == ST_UP_TO_DATE || status == ST_SW_HARDENING_NEEDED)
                    status = ST_OUT_OF_DATE;
                else if (status == ST_CONFIGURATION_NEEDED ||
                         status == ST_CONFIGURATION_AND_SW_HARDENING_NEEDED)
                    status = ST_OUT_OF_DATE_CONFIGURATION_NEEDED;
            }
            if (ml->status == ST_REVOKED) status = ST_REVOKED;
        }
    }
    if (qe_level) {
        status = converge_qe(status, qe_status);
        add_advisories(ev->advisories, qe_level->advisories);
    }
    ev->status = dcap_status_name((enum dcap_status)status);
}

/* ---- claims ------------------------------------------------------------------------------- */

/* Claims are built on every verification, so they use direct jansson calls on the section
 * objects (the same schema as sb_claims_*: verify.h). */
static int jput(json_t *o, const char *k, json_t *v) {
    if (!o || !v || json_object_set_new_nocheck(o, k, v) < 0) return SB_E_INTERNAL;
    return 0;
}
static int put_hex(json_t *o, const char *k, const uint8_t *p, size_t n) {
    char buf[2 * 64 + 1];
    if (n > 64) return SB_E_INTERNAL;
    sb_hex_encode(p, n, buf);
    return jput(o, k, json_stringn_nocheck(buf, 2 * n));
}
static int put_int(json_t *o, const char *k, int64_t v) {
    return jput(o, k, json_integer((json_int_t)v));
}
static int put_str(json_t *o, const char *k, const char *v) {
    return jput(o, k, v ? json_string(v) : json_null());
}
static int put_bool(json_t *o, const char *k, bool v) { return jput(o, k, json_boolean(v)); }
/* RFC 3339 text of a time, memoized in the store (claims name the same few times again). */
static const char *fmt_time(sb_dcap_collateral *c, int64_t t) {
    size_t slot = (size_t)((uint64_t)t % SB_ARRAY_LEN(c->tcache));
    if (!c->tcache[slot].set || c->tcache[slot].t != t) {
        sb_time_format(t, c->tcache[slot].s);
        c->tcache[slot].t = t;
        c->tcache[slot].set = true;
    }
    return c->tcache[slot].s;
}

static int add_coll(sb_dcap_collateral *c, json_t *cl, const char *kind, const char *subject,
                    const char *issuer, int64_t nb, int64_t na, const char *source) {
    json_t *r = json_object();
    if (jput(r, "kind", json_string(kind)) < 0 || put_str(r, "subject", subject) < 0 ||
        put_str(r, "issuer", issuer) < 0 ||
        put_str(r, "not_before", nb ? fmt_time(c, nb) : NULL) < 0 ||
        put_str(r, "not_after", na ? fmt_time(c, na) : NULL) < 0 ||
        put_str(r, "source", source) < 0 ||
        json_array_append_new(json_object_get(cl, "collateral"), r) < 0) {
        json_decref(r);
        return SB_E_INTERNAL;
    }
    return 0;
}

#define C(x)                           \
    do {                               \
        if ((x) < 0) goto claims_fail; \
    } while (0)

static int collateral_claims(json_t *cl, const struct dcap_eval *ev, sb_dcap_collateral *c,
                             const struct dcap_chain_entry *ch, int64_t at) {
    TRY(add_coll(c, cl, "pck-certificate", ch->leaf_subject, ch->leaf_issuer,
                 sb_cert_not_before(ch->leaf), sb_cert_not_after(ch->leaf), "quote"));
    TRY(add_coll(c, cl, "pck-ca", ch->ca_subject, ch->ca_issuer, sb_cert_not_before(ch->ca),
                 sb_cert_not_after(ch->ca), "quote"));
    const struct dcap_signed *items[2] = {ev->tcb, ev->qe};
    static const char *const kinds[2] = {"tcb-info", "qe-identity"};
    static const char *const names[2] = {"tcbInfo", "QE identity"};
    for (int k = 0; k < 2; k++) {
        const struct dcap_signed *s = items[k];
        if (!s) {
            TRY(sb_claims_warn(cl, "%s: no %s collateral given: %s not evaluated",
                               k ? "dcap" : "dcap", names[k], k ? "QE TCB level" : "TCB status"));
            continue;
        }
        char subj[96];
        if (k == 0) {
            char f[13];
            sb_hex_encode(s->fmspc, 6, f);
            (void)snprintf(subj, sizeof(subj), "%s TCB info v%d, FMSPC %s, evaluation %lld", s->id,
                           s->version, f, (long long)s->eval);
        } else {
            (void)snprintf(subj, sizeof(subj), "%s identity v%d, evaluation %lld", s->id,
                           s->version, (long long)s->eval);
        }
        TRY(add_coll(c, cl, kinds[k], subj, s->signer_subject, s->issue, s->next, s->source));
        if (at > s->next)
            TRY(sb_claims_warn(cl, "dcap: %s has expired (nextUpdate %s)", names[k],
                               fmt_time(c, s->next)));
        if (at < s->issue)
            TRY(sb_claims_warn(cl, "dcap: %s is not yet valid (issueDate %s)", names[k],
                               fmt_time(c, s->issue)));
    }
    struct dcap_crl *crls[2] = {ch->root_crl, ch->pck_crl};
    static const char *const ck[2] = {"root-ca-crl", "pck-crl"};
    static const char *const cn[2] = {"Intel SGX Root CA CRL", "PCK CRL"};
    for (int k = 0; k < 2; k++) {
        if (!crls[k]) {
            TRY(sb_claims_warn(cl, "dcap: no %s given: revocation not checked", cn[k]));
            continue;
        }
        int64_t tu = sb_crl_this_update(crls[k]->crl), nu = sb_crl_next_update(crls[k]->crl);
        TRY(add_coll(c, cl, ck[k], cn[k], k ? ch->ca_subject : ch->ca_issuer, tu, nu,
                     crls[k]->source));
        if (nu && at > nu)
            TRY(sb_claims_warn(cl, "dcap: %s has expired (nextUpdate %s)", cn[k], fmt_time(c, nu)));
        if (at < tu)
            TRY(sb_claims_warn(cl, "dcap: %s is not yet valid (thisUpdate %s)", cn[k],
                               fmt_time(c, tu)));
    }
    return 0;
}

static int component_claims(json_t *cl, const struct sb_dcap_quote *q,
                            const struct sb_pck_ext *ext) {
    static const char *const sgx[16] = {
        "sgx_tcb_comp_01", "sgx_tcb_comp_02", "sgx_tcb_comp_03", "sgx_tcb_comp_04",
        "sgx_tcb_comp_05", "sgx_tcb_comp_06", "sgx_tcb_comp_07", "sgx_tcb_comp_08",
        "sgx_tcb_comp_09", "sgx_tcb_comp_10", "sgx_tcb_comp_11", "sgx_tcb_comp_12",
        "sgx_tcb_comp_13", "sgx_tcb_comp_14", "sgx_tcb_comp_15", "sgx_tcb_comp_16"};
    static const char *const tee[16] = {
        "tee_tcb_svn_00", "tee_tcb_svn_01", "tee_tcb_svn_02", "tee_tcb_svn_03",
        "tee_tcb_svn_04", "tee_tcb_svn_05", "tee_tcb_svn_06", "tee_tcb_svn_07",
        "tee_tcb_svn_08", "tee_tcb_svn_09", "tee_tcb_svn_10", "tee_tcb_svn_11",
        "tee_tcb_svn_12", "tee_tcb_svn_13", "tee_tcb_svn_14", "tee_tcb_svn_15"};
    json_t *comp = json_object_get(json_object_get(cl, "tcb"), "components");
    if (!json_is_object(comp)) return SB_E_INTERNAL;
    for (int i = 0; i < 16; i++)
        TRY(put_int(comp, sgx[i], ext->comp_svn[i]));
    TRY(put_int(comp, "pce_svn", ext->pcesvn));
    TRY(put_int(comp, "qe_svn", q->qe_report.isvsvn));
    if (q->body_type != SB_DCAP_BODY_SGX)
        for (int i = 0; i < 16; i++)
            TRY(put_int(comp, tee[i], q->td.tee_tcb_svn[i]));
    return 0;
}

static json_t *build_claims(const struct sb_dcap_quote *q, const struct dcap_chain_entry *ch,
                            const struct dcap_eval *ev, sb_dcap_collateral *c, int64_t at,
                            bool hex_input) {
    bool tdx = q->body_type != SB_DCAP_BODY_SGX;
    char fmt[32];
    (void)snprintf(fmt, sizeof(fmt), "%s-quote-v%u", tdx ? "tdx" : "sgx", q->version);
    json_t *cl = sb_claims_new(tdx ? "tdx" : "sgx", fmt, at);
    if (!cl) return NULL;
    json_t *meas = json_object_get(cl, "measurements"),
           *pc = json_object_get(cl, "platform_claims");
    json_t *pi = json_object_get(cl, "platform_identity"), *sg = json_object_get(cl, "signer");
    json_t *tcb = json_object_get(cl, "tcb");
    const struct sb_pck_ext *ext = &ch->ext;
    C(put_int(cl, "version", q->version));
    if (tdx) {
        const struct sb_td_report *t = &q->td;
        C(put_hex(meas, "mrtd", t->mrtd, 48));
        static const char *const rn[4] = {"rtmr0", "rtmr1", "rtmr2", "rtmr3"};
        for (int i = 0; i < 4; i++)
            C(put_hex(meas, rn[i], t->rtmr[i], 48));
        C(put_hex(meas, "mrseam", t->mrseam, 48));
        C(put_hex(meas, "mrsignerseam", t->mrsignerseam, 48));
        C(put_hex(meas, "mrconfigid", t->mrconfigid, 48));
        C(put_hex(meas, "mrowner", t->mrowner, 48));
        C(put_hex(meas, "mrownerconfig", t->mrownerconfig, 48));
        if (t->v15) C(put_hex(meas, "mrservicetd", t->mrservicetd, 48));
        C(put_hex(cl, "report_data", t->report_data, 64));
        C(put_bool(cl, "debug", (t->td_attributes & 1) != 0));
        C(put_hex(sg, "mrsignerseam", t->mrsignerseam, 48));
        C(put_hex(cl, "init_data", t->mrconfigid, 48));
        uint8_t le[8];
        for (int i = 0; i < 8; i++)
            le[i] = (uint8_t)(t->td_attributes >> (8 * i));
        C(put_hex(pc, "td_attributes", le, 8));
        for (int i = 0; i < 8; i++)
            le[i] = (uint8_t)(t->xfam >> (8 * i));
        C(put_hex(pc, "xfam", le, 8));
        for (int i = 0; i < 8; i++)
            le[i] = (uint8_t)(t->seam_attributes >> (8 * i));
        C(put_hex(pc, "seam_attributes", le, 8));
        C(put_hex(pc, "tee_tcb_svn", t->tee_tcb_svn, 16));
        if (t->v15) C(put_hex(pc, "tee_tcb_svn2", t->tee_tcb_svn2, 16));
    } else {
        const struct sb_sgx_report *s = &q->sgx;
        C(put_hex(meas, "mrenclave", s->mrenclave, 32));
        C(put_hex(meas, "mrsigner", s->mrsigner, 32));
        C(put_hex(cl, "report_data", s->report_data, 64));
        C(put_bool(cl, "debug", (s->attributes[0] & 0x02) != 0));
        C(put_hex(sg, "mrsigner", s->mrsigner, 32));
        C(put_int(sg, "isvprodid", s->isvprodid));
        C(put_int(sg, "isvsvn", s->isvsvn));
        C(put_hex(cl, "init_data", s->configid, 64));
        C(put_hex(pc, "attributes", s->attributes, 16));
        C(put_int(pc, "miscselect", s->miscselect));
        C(put_hex(pc, "isvextprodid", s->isvextprodid, 16));
        C(put_hex(pc, "isvfamilyid", s->isvfamilyid, 16));
        C(put_int(pc, "configsvn", s->configsvn));
        C(put_hex(pc, "cpusvn", s->cpusvn, 16));
    }
    C(put_hex(pi, "fmspc", ext->fmspc, 6));
    C(put_hex(pi, "pceid", ext->pceid, 2));
    C(put_hex(pi, "ppid", ext->ppid, 16));
    C(put_int(pi, "sgx_type", ext->sgx_type));
    C(put_str(pi, "pck_ca", strstr(ch->ca_subject, "Processor") ? "processor" : "platform"));
    if (ext->has_platform_instance_id)
        C(put_hex(pi, "platform_instance_id", ext->platform_instance_id, 16));
    static const char *const flags[3] = {"dynamic_platform", "cached_keys", "smt_enabled"};
    const int fv[3] = {ext->dynamic_platform, ext->cached_keys, ext->smt_enabled};
    for (int i = 0; i < 3; i++)
        if (fv[i] >= 0) C(put_bool(pi, flags[i], fv[i] == 1));
    C(put_hex(pc, "pck_cpusvn", ext->cpusvn, 16));
    C(put_hex(pc, "qe_vendor_id", q->qe_vendor_id, 16));
    C(put_hex(pc, "user_data", q->user_data, 20));
    C(put_int(pc, "header_qe_svn", q->qe_svn));
    C(put_int(pc, "header_pce_svn", q->pce_svn));
    C(put_hex(pc, "qe_mrenclave", q->qe_report.mrenclave, 32));
    C(put_hex(pc, "qe_mrsigner", q->qe_report.mrsigner, 32));
    C(put_int(pc, "qe_isvprodid", q->qe_report.isvprodid));
    C(put_int(pc, "qe_isvsvn", q->qe_report.isvsvn));
    C(put_int(pc, "trailing_bytes", (int64_t)q->trailing_len));
    if (hex_input) C(put_str(pc, "encoding", "hex"));
    C(component_claims(cl, q, ext));
    C(put_str(tcb, "status", ev->status));
    C(put_str(tcb, "status_reason", ev->reason[0] ? ev->reason : NULL));
    C(put_str(tcb, "platform_status", ev->platform_status));
    if (tdx) C(put_str(tcb, "tdx_module_status", ev->module_status));
    C(put_str(tcb, "qe_status", ev->qe_status));
    {
        if (json_object_set(tcb, "advisories", ev->advisories) < 0) goto claims_fail;
        C(put_str(tcb, "tcb_date", ev->platform_status ? fmt_time(c, ev->date) : NULL));
        if (ev->tcb) C(put_int(tcb, "evaluation_data_number", ev->tcb->eval));
    }
    if (ev->reason[0]) C(sb_claims_warn(cl, "dcap: TCB status check: %s", ev->reason));
    if (q->trailing_len)
        C(sb_claims_warn(cl,
                         "dcap: %zu trailing bytes after the quote (%s); they are covered by no "
                         "signature and were ignored",
                         q->trailing_len, q->trailing_zero ? "all zero" : "not zero"));
    C(put_int(pc, "cert_data_trailing_bytes", (int64_t)ch->nul_tail));
    if (ch->nul_tail)
        C(sb_claims_warn(cl,
                         "dcap: %zu NUL byte(s) after the last certificate of the PCK chain data; "
                         "they belong to no certificate and were ignored",
                         ch->nul_tail));
    C(collateral_claims(cl, ev, c, ch, at));
    size_t i;
    json_t *note;
    json_array_foreach(c->notes, i, note)
        C(sb_claims_warn(cl, "dcap: %s", json_string_value(note)));
    return cl;
claims_fail:
    json_decref(cl);
    return NULL;
}

/* ---- the quote ------------------------------------------------------------------------------ */

/* A quote given as hex text (as some tools print it): even count of hex digits, then only
 * whitespace. */
static int hex_text(const uint8_t *p, size_t n, uint8_t **out, size_t *outlen) {
    size_t k = 0;
    while (k < n && ((p[k] >= '0' && p[k] <= '9') || (p[k] >= 'a' && p[k] <= 'f') ||
                     (p[k] >= 'A' && p[k] <= 'F')))
        k++;
    if (k < 96 || k % 2) return -1;
    for (size_t i = k; i < n; i++)
        if (p[i] != '\n' && p[i] != '\r' && p[i] != ' ' && p[i] != '\t') return -1;
    sb_error e = {0};
    return sb_hex_decode((const char *)p, k, out, outlen, &e);
}

static int verify_parsed(sb_dcap_collateral *c, const struct sb_dcap_quote *q, int64_t at,
                         bool hex_input, json_t **claims, sb_error *err) {
    static const uint8_t intel[16] = {0x93, 0x9a, 0x72, 0x33, 0xf7, 0x9c, 0x4c, 0xa9,
                                      0x94, 0x0a, 0x0d, 0xb3, 0x95, 0x7f, 0x06, 0x07};
    if (memcmp(q->qe_vendor_id, intel, 16) != 0)
        BAIL(err, SB_E_UNSUPPORTED, "dcap: QE vendor ID is not Intel's (939a7233...)");
    struct dcap_chain_entry *ch = NULL;
    TRY(pck_chain(c, q, at, &ch, err));
    /* The PCK and attestation keys are checked on verifiers prepared once per key. */
    if (!ch->pck_ver &&
        sb_sig_verifier_new(ch->pck_key, SB_HASH_SHA256, SB_SIG_ECDSA, &ch->pck_ver, err) < 0)
        return sb_error_prefix(err, "dcap: PCK key");
    if (sb_sig_verifier_verify(ch->pck_ver, q->qe_report_raw, SB_DCAP_SGX_BODY_LEN,
                               q->qe_report_sig, 64, SB_ECDSA_RAW_BE, err) < 0)
        BAIL(err, SB_E_SIGNATURE, "dcap: the QE report signature does not verify with the PCK key");
    uint8_t h[32] = {0};
    sb_hash_ctx *hc = NULL;
    TRY(sb_hash_ctx_new(SB_HASH_SHA256, &hc, err));
    int rc = sb_hash_ctx_update(hc, q->attest_key, 64, err);
    if (rc == 0) rc = sb_hash_ctx_update(hc, q->qe_auth, q->qe_auth_len, err);
    if (rc == 0) rc = sb_hash_ctx_final(hc, h, err);
    sb_hash_ctx_free(hc);
    TRY(rc);
    static const uint8_t zero[32] = {0};
    if (memcmp(q->qe_report.report_data, h, 32) != 0 ||
        memcmp(q->qe_report.report_data + 32, zero, 32) != 0)
        BAIL(err, SB_E_SIGNATURE,
             "dcap: QE report data is not SHA-256(attestation key || QE auth data) || zeros: "
             "the attestation key is not bound to the QE");
    /* The attestation key lives as long as the QE's boot session: keep the last one. */
    if (!c->ak || !c->ak_ver || memcmp(c->ak_raw, q->attest_key, 64) != 0) {
        sb_pubkey_free(c->ak);
        sb_sig_verifier_free(c->ak_ver);
        c->ak = NULL;
        c->ak_ver = NULL;
        if (sb_pubkey_from_ec_point(SB_CURVE_P256, q->attest_key, 64, &c->ak, err) < 0 ||
            sb_sig_verifier_new(c->ak, SB_HASH_SHA256, SB_SIG_ECDSA, &c->ak_ver, err) < 0)
            return sb_error_prefix(err, "dcap: attestation key");
        memcpy(c->ak_raw, q->attest_key, 64);
    }
    rc = sb_sig_verifier_verify(c->ak_ver, q->signed_data, q->signed_len, q->sig, 64,
                                SB_ECDSA_RAW_BE, err);
    if (rc < 0)
        BAIL(err, SB_E_SIGNATURE,
             "dcap: unable to verify the quote signature (header and body) with the attestation "
             "key");

    struct dcap_eval ev = {0};
    ev.advisories = json_array();
    if (!ev.advisories) BAIL(err, SB_E_INTERNAL, "out of memory");
    bool tdx = q->body_type != SB_DCAP_BODY_SGX;
    rc = pick_collateral(c, tdx, &ch->ext, at, &ev, err);
    if (rc == 0 && ev.qe) rc = dcap_check_qe_identity(ev.qe, &q->qe_report, err);
    if (rc < 0) {
        json_decref(ev.advisories);
        return rc;
    }
    dcap_evaluate(q, &ch->ext, &ev);
    json_t *cl = build_claims(q, ch, &ev, c, at, hex_input);
    json_decref(ev.advisories);
    if (!cl) BAIL(err, SB_E_INTERNAL, "dcap: out of memory building claims");
    *claims = cl;
    return 0;
}

int sb_dcap_verify(sb_dcap_collateral *c, const uint8_t *p, size_t n, int64_t at,
                   const char *platform, json_t **claims, sb_error *err) {
    _cleanup_free_ uint8_t *dec = NULL;
    size_t dn = 0;
    bool hex_input = false;
    if (!sb_dcap_quote_sniff(p, n, NULL) && hex_text(p, n, &dec, &dn) == 0) {
        p = dec;
        n = dn;
        hex_input = true;
    }
    struct sb_dcap_quote *q = malloc(sizeof(*q));
    if (!q) BAIL(err, SB_E_INTERNAL, "out of memory");
    int rc = sb_dcap_quote_parse(p, n, q, err);
    if (rc == 0 && platform) {
        bool tdx = q->body_type != SB_DCAP_BODY_SGX;
        if (tdx != (strcmp(platform, "tdx") == 0))
            rc = sb_error_set(err, SB_E_UNSUPPORTED, "dcap: this is %s quote, not %s",
                              tdx ? "a TDX" : "an SGX", platform);
    }
    if (rc == 0) rc = verify_parsed(c, q, at, hex_input, claims, err);
    free(q);
    return rc;
}

/* ---- the verifiers ---------------------------------------------------------------------- */

/* Whether p is a hex-encoded quote: hex_text's shape, and the header sniffed from the first
 * bytes only (decoding a whole large hex file just to detect it costs milliseconds). */
static bool hex_quote_sniff(const uint8_t *p, size_t n, bool *tdx) {
    size_t k = 0;
    while (k < n && ((p[k] >= '0' && p[k] <= '9') || (p[k] >= 'a' && p[k] <= 'f') ||
                     (p[k] >= 'A' && p[k] <= 'F')))
        k++;
    if (k < 96 || k % 2) return false;
    for (size_t i = k; i < n; i++)
        if (p[i] != '\n' && p[i] != '\r' && p[i] != ' ' && p[i] != '\t') return false;
    uint8_t *d = NULL;
    size_t dn = 0;
    sb_error e = {0};
    if (sb_hex_decode((const char *)p, 96, &d, &dn, &e) < 0) return false;
    bool ok = sb_dcap_quote_sniff(d, dn, tdx);
    free(d);
    return ok;
}

static int find_quote(const struct sb_blob *ev, size_t n_ev, bool *tdx) {
    for (size_t i = 0; i < n_ev; i++) {
        if (sb_dcap_quote_sniff(ev[i].data, ev[i].len, tdx)) return (int)i;
        if (hex_quote_sniff(ev[i].data, ev[i].len, tdx)) return (int)i;
    }
    return -1;
}

static int sniff_kind(const struct sb_blob *ev, size_t n_ev, bool want_tdx) {
    bool tdx = false;
    int i = find_quote(ev, n_ev, &tdx);
    return i >= 0 && tdx == want_tdx ? 80 : 0;
}
static int sniff_tdx(const struct sb_blob *ev, size_t n_ev) { return sniff_kind(ev, n_ev, true); }
static int sniff_sgx(const struct sb_blob *ev, size_t n_ev) { return sniff_kind(ev, n_ev, false); }

/* A CCEL (TCG crypto-agile log, SHA-384, MR index = RTMR index + 1) given next to a TDX quote is
 * replayed; every RTMR must equal the quote's, else the log does not describe this TD and the
 * input is mismatched. The log is then reported as a claim. */
static int try_ccel(json_t *claims, const struct sb_blob *b, bool *used, sb_error *err) {
    *used = false;
    struct sb_eventlog log;
    sb_error e = {0};
    if (sb_eventlog_parse(b->data, b->len, SB_EVENTLOG_ALLOW_PADDING, &log, &e) < 0) return 0;
    bool sha384 = false;
    for (size_t i = 0; i < log.n_algs; i++)
        sha384 = sha384 || log.algs[i].alg == (uint16_t)sb_tpm_alg_of_hash(SB_HASH_SHA384);
    if (!log.crypto_agile || !sha384) {
        sb_eventlog_free(&log);
        return 0;
    }
    *used = true;
    struct sb_mr_bank *bank = malloc(sizeof(*bank));
    int rc = bank ? sb_eventlog_replay(&log, SB_HASH_SHA384, bank, err)
                  : sb_error_set(err, SB_E_INTERNAL, "out of memory");
    size_t n_events = log.n_events, padding = log.padding;
    sb_eventlog_free(&log);
    if (rc < 0) {
        free(bank);
        return sb_error_prefix(err, "%s: CCEL replay", b->name);
    }
    json_t *meas = json_object_get(claims, "measurements");
    json_t *replayed = json_array();
    static const char *const rn[4] = {"rtmr0", "rtmr1", "rtmr2", "rtmr3"};
    for (int i = 0; i < 4 && rc == 0; i++) {
        char hex[97];
        sb_hex_encode(bank->value[i + 1], 48, hex);
        const char *quoted = json_string_value(json_object_get(meas, rn[i]));
        if (!quoted || strcmp(hex, quoted) != 0) {
            rc = sb_error_set(err, SB_E_MALFORMED,
                              "%s: CCEL replay gives RTMR%d = %.16s..., the quote's RTMR%d is "
                              "%.16s...: the event log does not belong to this TD",
                              b->name, i, hex, i, quoted ? quoted : "?");
            break;
        }
        if (bank->events[i + 1]) json_array_append_new(replayed, json_string(rn[i]));
    }
    free(bank);
    if (rc == 0) {
        json_t *el =
            json_pack("{s:s, s:s, s:I, s:I, s:O}", "kind", "ccel", "source", b->name, "events",
                      (json_int_t)n_events, "padding", (json_int_t)padding, "replayed", replayed);
        json_t *pc = json_object_get(claims, "platform_claims");
        if (!el || json_object_set_new(pc, "event_log", el) < 0)
            rc = sb_error_set(err, SB_E_INTERNAL, "out of memory");
    }
    json_decref(replayed);
    return rc;
}

/* ---- the generic path: collateral inputs and the warm stores ------------------------------ */

/* What a verification's collateral store is built from, in the order it is added: the
 * evidence files other than the quote (strict), the --certs files (strict, and each must be
 * collateral), then the files of --collateral DIR (lenient), read on every call. */
enum dcap_in_kind { IN_EVIDENCE, IN_CERTS, IN_DIR };

struct dcap_in {
    enum dcap_in_kind kind;
    size_t ev_index; /* IN_EVIDENCE: index into ev */
    const char *name;
    const uint8_t *data;
    size_t len;
};

struct dcap_inputs {
    struct dcap_in v[2 * SB_VERIFY_MAX_FILES + DCAP_DIR_MAX_FILES];
    size_t n;
    size_t bytes;            /* total size of the inputs */
    struct dcap_file *files; /* --collateral DIR, owned */
    size_t n_files;
    int dir_rc; /* reading the directory failed: the error, reported at its place in order */
    sb_error dir_err;
};

static void inputs_clear(struct dcap_inputs *in) {
    dcap_files_free(in->files, in->n_files);
    in->files = NULL;
    in->n_files = 0;
}

static int inputs_gather(const struct sb_verify_opts *o, const struct sb_blob *ev, size_t n_ev,
                         int qi, struct dcap_inputs *in, sb_error *err) {
    in->n = 0;
    in->bytes = 0;
    in->dir_rc = 0;
    ENSURE(n_ev <= SB_VERIFY_MAX_FILES && o->n_certs <= SB_VERIFY_MAX_FILES, err, SB_E_LIMIT,
           "dcap: more than %u evidence or --certs files", SB_VERIFY_MAX_FILES);
    for (size_t i = 0; i < n_ev; i++) {
        if ((int)i == qi) continue;
        in->v[in->n++] = (struct dcap_in){IN_EVIDENCE, i, ev[i].name, ev[i].data, ev[i].len};
        in->bytes += ev[i].len;
    }
    for (size_t i = 0; i < o->n_certs; i++) {
        in->v[in->n++] =
            (struct dcap_in){IN_CERTS, 0, o->certs[i].name, o->certs[i].data, o->certs[i].len};
        in->bytes += o->certs[i].len;
    }
    if (o->collateral_dir) {
        in->dir_rc = dcap_dir_read(o->collateral_dir, &in->files, &in->n_files, &in->dir_err);
        for (size_t i = 0; i < in->n_files; i++) {
            in->v[in->n++] =
                (struct dcap_in){IN_DIR, 0, in->files[i].path, in->files[i].data, in->files[i].len};
            in->bytes += in->files[i].len;
        }
    }
    return 0;
}

/* Builds a store from the inputs in their order; used[k] says whether input k was collateral.
 * The first error stops the build, as the inputs' order puts it. */
static int store_build(const struct dcap_inputs *in, sb_dcap_collateral **out, bool *used,
                       sb_error *err) {
    *out = NULL;
    sb_dcap_collateral *c = NULL;
    TRY(sb_dcap_collateral_new(&c, err));
    int rc = 0;
    for (size_t k = 0; k < in->n && rc == 0; k++) {
        const struct dcap_in *x = &in->v[k];
        used[k] = false;
        if (x->kind == IN_DIR) {
            rc = sb_dcap_collateral_add(c, x->name, x->data, x->len, false, &used[k], err);
            continue;
        }
        rc = sb_dcap_collateral_add(c, x->name, x->data, x->len, true, &used[k], err);
        if (rc == 0 && x->kind == IN_CERTS && !used[k])
            rc = sb_error_set(err, SB_E_MALFORMED,
                              "--certs %s: neither certificates, CRLs nor Intel collateral",
                              x->name);
    }
    if (rc == 0 && in->dir_rc < 0) {
        if (err) *err = in->dir_err;
        rc = in->dir_rc;
    }
    if (rc < 0) {
        sb_dcap_collateral_free(c);
        return rc;
    }
    *out = c;
    return 0;
}

/* A warm store: the inputs it was built from (copies, compared byte for byte with the next
 * call's) and what each was. */
#define DCAP_WARM_SLOTS 4
#define DCAP_WARM_MAX_BYTES (8u << 20) /* inputs larger in total are verified cold */

struct warm_in {
    enum dcap_in_kind kind;
    char *name;
    uint8_t *data;
    size_t len;
    bool used;
};

struct warm_slot {
    sb_dcap_collateral *c;
    struct warm_in *in;
    size_t n_in;
    uint64_t stamp;
};

struct sb_dcap_warm {
    struct warm_slot slot[DCAP_WARM_SLOTS];
    uint64_t clock;
};

static void warm_slot_clear(struct warm_slot *s) {
    for (size_t i = 0; i < s->n_in; i++) {
        free(s->in[i].name);
        free(s->in[i].data);
    }
    free(s->in);
    sb_dcap_collateral_free(s->c);
    memset(s, 0, sizeof(*s));
}

int sb_dcap_warm_new(sb_dcap_warm **out, sb_error *err) {
    sb_dcap_warm *w = calloc(1, sizeof(*w));
    if (!w) BAIL(err, SB_E_INTERNAL, "dcap: out of memory");
    *out = w;
    return 0;
}

void sb_dcap_warm_free(sb_dcap_warm *w) {
    if (!w) return;
    for (size_t i = 0; i < DCAP_WARM_SLOTS; i++)
        warm_slot_clear(&w->slot[i]);
    free(w);
}

static bool slot_matches(const struct warm_slot *s, const struct dcap_inputs *in) {
    if (!s->c || s->n_in != in->n) return false;
    for (size_t k = 0; k < in->n; k++) {
        const struct warm_in *a = &s->in[k];
        const struct dcap_in *b = &in->v[k];
        const char *bn = b->name ? b->name : "";
        if (a->kind != b->kind || a->len != b->len || strcmp(a->name, bn) != 0 ||
            (b->len && memcmp(a->data, b->data, b->len) != 0))
            return false;
    }
    return true;
}

/* Keeps c (built from in, with used[]) in the least recently used slot, which then owns it; NULL
 * when out of memory: nothing is kept and c still belongs to the caller. */
static sb_dcap_collateral *warm_put(sb_dcap_warm *w, sb_dcap_collateral *c,
                                    const struct dcap_inputs *in, const bool *used) {
    struct warm_slot *pick = &w->slot[0];
    for (size_t i = 0; i < DCAP_WARM_SLOTS; i++)
        if (!w->slot[i].c || w->slot[i].stamp < pick->stamp) {
            pick = &w->slot[i];
            if (!pick->c) break;
        }
    warm_slot_clear(pick);
    pick->in = calloc(in->n ? in->n : 1, sizeof(*pick->in));
    if (!pick->in) return NULL;
    for (size_t k = 0; k < in->n; k++) {
        struct warm_in *a = &pick->in[k];
        a->kind = in->v[k].kind;
        a->used = used[k];
        a->len = in->v[k].len;
        a->name = strdup(in->v[k].name ? in->v[k].name : "");
        a->data = malloc(a->len ? a->len : 1);
        pick->n_in = k + 1;
        if (!a->name || !a->data) {
            warm_slot_clear(pick);
            return NULL;
        }
        if (a->len) memcpy(a->data, in->v[k].data, a->len);
    }
    pick->c = c;
    pick->stamp = ++w->clock;
    return c;
}

int sb_dcap_verify_evidence(sb_dcap_warm *w, const struct sb_verify_opts *o,
                            const struct sb_blob *ev, size_t n_ev, const char *platform,
                            json_t **claims, sb_error *err) {
    bool tdx = false;
    *claims = NULL;
    int qi = find_quote(ev, n_ev, &tdx);
    if (qi < 0) {
        if (n_ev == 0) BAIL(err, SB_E_USAGE, "%s: no evidence given", platform);
        /* Let the parser name what is wrong with the first file. */
        struct sb_dcap_quote *q = malloc(sizeof(*q));
        if (!q) BAIL(err, SB_E_INTERNAL, "out of memory");
        int rc = sb_dcap_quote_parse(ev[0].data, ev[0].len, q, err);
        free(q);
        if (rc < 0) return sb_error_prefix(err, "%s", ev[0].name);
        BAIL(err, SB_E_UNSUPPORTED, "%s: not an Intel %s quote", ev[0].name, platform);
    }
    struct dcap_inputs *in = calloc(1, sizeof(*in));
    bool *used = in ? calloc(SB_ARRAY_LEN(in->v), sizeof(bool)) : NULL;
    if (!in || !used) {
        free(in);
        BAIL(err, SB_E_INTERNAL, "out of memory");
    }
    int rc = inputs_gather(o, ev, n_ev, qi, in, err);
    /* The store: a warm one built from byte-identical inputs, else a new one. */
    sb_dcap_collateral *c = NULL, *own = NULL;
    if (rc == 0 && w && in->dir_rc == 0) {
        for (size_t i = 0; i < DCAP_WARM_SLOTS && !c; i++) {
            struct warm_slot *s = &w->slot[i];
            if (!slot_matches(s, in)) continue;
            c = s->c;
            s->stamp = ++w->clock;
            for (size_t k = 0; k < in->n; k++)
                used[k] = s->in[k].used;
        }
    }
    if (rc == 0 && !c) {
        sb_dcap_collateral *built = NULL;
        rc = store_build(in, &built, used, err);
        if (rc == 0) {
            c = built;
            /* the store is then owned by a slot, or (not kept) by this call */
            if (!w || in->bytes > DCAP_WARM_MAX_BYTES || !warm_put(w, built, in, used)) own = built;
        }
    }
    if (rc == 0) {
        rc = sb_dcap_verify(c, ev[qi].data, ev[qi].len, o->at, platform, claims, err);
        if (rc < 0) (void)sb_error_prefix(err, "%s", ev[qi].name);
    }
    /* Evidence files that were no collateral: a CCEL next to a TDX quote, or a warning. */
    for (size_t k = 0; k < in->n && rc == 0; k++) {
        if (in->v[k].kind != IN_EVIDENCE || used[k]) continue;
        const struct sb_blob *b = &ev[in->v[k].ev_index];
        bool ccel = false;
        if (tdx) rc = try_ccel(*claims, b, &ccel, err);
        if (rc == 0 && !ccel)
            (void)sb_claims_warn(*claims, "%s: input not used (neither DCAP collateral nor a CCEL)",
                                 b->name);
    }
    if (rc < 0 && *claims) {
        json_decref(*claims);
        *claims = NULL;
    }
    sb_dcap_collateral_free(own);
    inputs_clear(in);
    free(in);
    free(used);
    return rc;
}

static int verify_kind(const struct sb_verify_opts *o, const struct sb_blob *ev, size_t n_ev,
                       const char *platform, json_t **claims, sb_error *err) {
    return sb_dcap_verify_evidence(NULL, o, ev, n_ev, platform, claims, err);
}

static int verify_tdx(const struct sb_verify_opts *o, const struct sb_blob *ev, size_t n_ev,
                      json_t **claims, sb_error *err) {
    return verify_kind(o, ev, n_ev, "tdx", claims, err);
}
static int verify_sgx(const struct sb_verify_opts *o, const struct sb_blob *ev, size_t n_ev,
                      json_t **claims, sb_error *err) {
    return verify_kind(o, ev, n_ev, "sgx", claims, err);
}

const struct sb_verifier sb_verifier_tdx = {"tdx", sniff_tdx, verify_tdx};
const struct sb_verifier sb_verifier_sgx = {"sgx", sniff_sgx, verify_sgx};
