/* tpm verify: authenticates TPM 2.0 quotes — the AK's signature over TPMS_ATTEST, extraData
 * against the nonce, pcrDigest against the PCR values, the event log against the PCRs, and
 * the AK certificate chain when there is one — and reports them as normalized claims. */
#include <stdio.h>
#include <string.h>

#include "verify.h"

/* libtpms (swtpm) reports FIRMWARE_V1 << 32 | FIRMWARE_V2. */
#define LIBTPMS_FIRMWARE_VERSION 0x2019102300163636ull

static const char *bank_name(uint16_t alg) {
    switch (alg) {
    case SB_TPM_ALG_SHA1: return "sha1";
    case SB_TPM_ALG_SHA256: return "sha256";
    case SB_TPM_ALG_SHA384: return "sha384";
    case SB_TPM_ALG_SHA512: return "sha512";
    case SB_TPM_ALG_SM3_256: return "sm3_256";
    default: return "unknown";
    }
}

static void pubkey_freep(sb_pubkey **k) { sb_pubkey_free(*k); }
static void cert_freep(sb_cert **c) { sb_cert_free(*c); }

/* ---- warm state: what stays constant between quotes of one machine --------------------- */

/* The AK, the event log (constant for a boot) and the AK certificate chain are the same from
 * one quote of a machine to the next; only the TPMS_ATTEST and its signature are new. Each
 * cache is keyed by the exact bytes it was computed from (kept as a copy and compared in
 * full), so a hit gives what a recomputation would. */
#define TPM_CTX_SLOTS 4u
#define TPM_CHAIN_MAX_ROOTS SB_VERIFY_MAX_FILES

struct log_memo {
    enum sb_hash h;
    int rc; /* 0, or SB_E_NOTFOUND: the log records no such bank */
    struct sb_mr_bank bank;
};

/* A parsed event log and the banks replayed from it so far. */
struct log_state {
    uint8_t *bytes; /* the cache's own copy (NULL for a one-shot state) */
    size_t len;
    bool parsed;
    struct sb_eventlog log;
    size_t n_memo;
    struct log_memo memo[SB_TPM_MAX_QUOTES];
};

struct ak_entry {
    uint8_t *bytes;
    size_t len;
    enum sb_tpm_ak_kind kind;
    sb_pubkey *key;
    bool has_pub;
    struct sb_tpm_public pub;
    uint8_t name[2 + SB_HASH_MAX_LEN]; /* the TPM name (TPMT_PUBLIC only) */
    size_t name_len;
    sb_sig_verifier *ver[SB_HASH_MAX]; /* RSASSA or ECDSA verifiers, per quote hash */
};

/* A verified AK certificate chain: key = every certificate offered (AK certificate,
 * intermediates, --certs), length-prefixed; reused only at times inside every one of their
 * validity windows, where the verification would succeed again. */
struct chain_entry {
    uint8_t *key;
    size_t key_len;
    int64_t valid_from, valid_to;
    char *subject, *issuer, *serial;
    int64_t leaf_nb, leaf_na;
    size_t n_roots;
    char *root_subject[TPM_CHAIN_MAX_ROOTS];
    int64_t root_nb[TPM_CHAIN_MAX_ROOTS], root_na[TPM_CHAIN_MAX_ROOTS];
};

struct sb_tpm_ctx {
    struct sb_tpm_json_memo json_memo; /* the last event log of a JSON container */
    struct ak_entry ak[TPM_CTX_SLOTS];
    struct log_state log[TPM_CTX_SLOTS];
    struct chain_entry chain[TPM_CTX_SLOTS];
    size_t ak_next, log_next, chain_next;
};

static void log_state_clear(struct log_state *l) {
    if (l->parsed) sb_eventlog_free(&l->log);
    free(l->bytes);
    memset(l, 0, sizeof(*l));
}

static void ak_entry_clear(struct ak_entry *a) {
    for (size_t i = 0; i < SB_HASH_MAX; i++)
        sb_sig_verifier_free(a->ver[i]);
    free(a->bytes);
    sb_pubkey_free(a->key);
    memset(a, 0, sizeof(*a));
}

static void chain_entry_clear(struct chain_entry *c) {
    free(c->key);
    free(c->subject);
    free(c->issuer);
    free(c->serial);
    for (size_t i = 0; i < c->n_roots; i++)
        free(c->root_subject[i]);
    memset(c, 0, sizeof(*c));
}

int sb_tpm_ctx_new(sb_tpm_ctx **out, sb_error *err) {
    sb_tpm_ctx *c = calloc(1, sizeof(*c));
    if (!c) BAIL(err, SB_E_INTERNAL, "tpm: out of memory");
    *out = c;
    return 0;
}

void sb_tpm_ctx_free(sb_tpm_ctx *c) {
    if (!c) return;
    sb_tpm_json_memo_clear(&c->json_memo);
    for (size_t i = 0; i < TPM_CTX_SLOTS; i++) {
        ak_entry_clear(&c->ak[i]);
        log_state_clear(&c->log[i]);
        chain_entry_clear(&c->chain[i]);
    }
    free(c);
}

static bool same_bytes(const uint8_t *a, size_t an, const uint8_t *b, size_t bn) {
    return an == bn && (an == 0 || memcmp(a, b, an) == 0);
}

static uint8_t *dup_bytes(const uint8_t *p, size_t n) {
    uint8_t *d = malloc(n ? n : 1);
    if (d && n) memcpy(d, p, n);
    return d;
}

static int curve_of(uint16_t tpm_curve, enum sb_curve *out) {
    switch (tpm_curve) {
    case SB_TPM_ECC_NIST_P256: *out = SB_CURVE_P256; return 0;
    case SB_TPM_ECC_NIST_P384: *out = SB_CURVE_P384; return 0;
    case SB_TPM_ECC_NIST_P521: *out = SB_CURVE_P521; return 0;
    default: return SB_E_UNSUPPORTED;
    }
}

/* Left-pads a big-endian integer of n bytes into out[width]; false if it does not fit. */
static bool pad_be(const uint8_t *p, size_t n, uint8_t *out, size_t width) {
    while (n > width && *p == 0) {
        p++;
        n--;
    }
    if (n > width) return false;
    memset(out, 0, width - n);
    memcpy(out + (width - n), p, n);
    return true;
}

/* The AK from a TPMT_PUBLIC: it must be a restricted signing key, or its "quotes" could be
 * any data it was asked to sign. */
static int ak_from_public(const struct sb_tpm_public *pub, sb_pubkey **out, sb_error *err) {
    if ((pub->attributes & (SB_TPMA_SIGN | SB_TPMA_RESTRICTED)) !=
            (SB_TPMA_SIGN | SB_TPMA_RESTRICTED) ||
        (pub->attributes & SB_TPMA_DECRYPT))
        BAIL(err, SB_E_SIGNATURE,
             "tpm: the AK (objectAttributes 0x%08x) is not a restricted signing key, so it could "
             "have signed a forged TPMS_ATTEST",
             pub->attributes);
    if (pub->type == SB_TPM_ALG_RSA) {
        uint8_t e[4];
        uint32_t exp = pub->exponent ? pub->exponent : 65537u;
        e[0] = (uint8_t)(exp >> 24);
        e[1] = (uint8_t)(exp >> 16);
        e[2] = (uint8_t)(exp >> 8);
        e[3] = (uint8_t)exp;
        return sb_pubkey_from_rsa(pub->unique, pub->unique_len, e, sizeof(e), out, err);
    }
    enum sb_curve c;
    if (curve_of(pub->curve, &c) < 0)
        BAIL(err, SB_E_UNSUPPORTED, "tpm: AK curve 0x%04x is not supported", pub->curve);
    size_t w = sb_curve_coord_len(c);
    uint8_t pt[2 * 66];
    if (!pad_be(pub->unique, pub->unique_len, pt, w) || !pad_be(pub->y, pub->y_len, pt + w, w))
        BAIL(err, SB_E_MALFORMED, "tpm: AK point does not fit its curve");
    return sb_pubkey_from_ec_point(c, pt, 2 * w, out, err);
}

/* Verifies sig over the TPMS_ATTEST bytes with ak; *hash_alg gets the signing hash (the hash
 * pcrDigest is computed with). */
/* A signature check by the AK: on the cached entry's prepared verifier when there is one
 * (warm), else one-shot. */
static int ak_verify(struct ak_entry *cached, const sb_pubkey *ak, enum sb_sig_scheme scheme,
                     enum sb_hash h, const struct sb_tpm_quote_ev *q, const uint8_t *sig,
                     size_t sig_len, sb_error *err) {
    if (cached && (unsigned)h < SB_HASH_MAX) {
        if (!cached->ver[h]) TRY(sb_sig_verifier_new(ak, h, scheme, &cached->ver[h], err));
        return sb_sig_verifier_verify(cached->ver[h], q->attest, q->attest_len, sig, sig_len,
                                      SB_ECDSA_RAW_BE, err);
    }
    if (scheme == SB_SIG_RSA_PKCS1)
        return sb_rsa_pkcs1_verify(ak, h, q->attest, q->attest_len, sig, sig_len, err);
    return sb_ecdsa_verify(ak, h, q->attest, q->attest_len, sig, sig_len, SB_ECDSA_RAW_BE, err);
}

static int verify_quote_sig(struct ak_entry *cached, const sb_pubkey *ak,
                            const struct sb_tpm_public *pub, const struct sb_tpm_quote_ev *q,
                            uint16_t *hash_alg, sb_error *err) {
    enum sb_hash h;
    if (q->sig_raw) {
        ENSURE(sb_pubkey_type(ak) == SB_KEY_RSA, err, SB_E_SIGNATURE,
               "tpm: a bare RSA quote signature with a non-RSA AK");
        *hash_alg = SB_TPM_ALG_SHA256;
        return ak_verify(cached, ak, SB_SIG_RSA_PKCS1, SB_HASH_SHA256, q, q->sig, q->sig_len, err);
    }
    struct sb_tpm_signature s;
    TRY(sb_tpm_signature_parse(q->sig, q->sig_len, &s, err));
    if (sb_tpm_hash_of_alg(s.hash_alg, &h) < 0)
        BAIL(err, SB_E_UNSUPPORTED, "tpm: signature hash 0x%04x is not supported", s.hash_alg);
    if (pub && pub->scheme != SB_TPM_ALG_NULL &&
        (pub->scheme != s.sig_alg || pub->scheme_hash != s.hash_alg))
        BAIL(err, SB_E_SIGNATURE,
             "tpm: signature scheme 0x%04x/0x%04x differs from the AK's fixed scheme 0x%04x/0x%04x",
             s.sig_alg, s.hash_alg, pub->scheme, pub->scheme_hash);
    *hash_alg = s.hash_alg;
    enum sb_key_type kt = sb_pubkey_type(ak);
    switch (s.sig_alg) {
    case SB_TPM_ALG_RSASSA:
        ENSURE(kt == SB_KEY_RSA, err, SB_E_SIGNATURE, "tpm: RSASSA signature with a non-RSA AK");
        return ak_verify(cached, ak, SB_SIG_RSA_PKCS1, h, q, s.sig, s.sig_len, err);
    case SB_TPM_ALG_RSAPSS: {
        ENSURE(kt == SB_KEY_RSA, err, SB_E_SIGNATURE, "tpm: RSAPSS signature with a non-RSA AK");
        /* TPMs use the digest length as salt (FIPS 186-4); some use the maximum. */
        int rc = sb_rsa_pss_verify(ak, h, -1, q->attest, q->attest_len, s.sig, s.sig_len, err);
        size_t em_len = (sb_pubkey_bits(ak) + 6) / 8, max_salt = 0;
        if (rc == SB_E_SIGNATURE && em_len > sb_hash_len(h) + 2) {
            max_salt = em_len - sb_hash_len(h) - 2;
            rc = sb_rsa_pss_verify(ak, h, (int)max_salt, q->attest, q->attest_len, s.sig, s.sig_len,
                                   err);
        }
        return rc;
    }
    case SB_TPM_ALG_ECDSA: {
        ENSURE(kt == SB_KEY_EC, err, SB_E_SIGNATURE, "tpm: ECDSA signature with a non-EC AK");
        size_t w = sb_curve_coord_len((enum sb_curve)sb_pubkey_curve(ak));
        uint8_t rs[2 * 66];
        if (!pad_be(s.r, s.r_len, rs, w) || !pad_be(s.s, s.s_len, rs + w, w))
            BAIL(err, SB_E_SIGNATURE, "tpm: ECDSA r or s is longer than the AK's curve");
        return ak_verify(cached, ak, SB_SIG_ECDSA, h, q, rs, 2 * w, err);
    }
    default: BAIL(err, SB_E_UNSUPPORTED, "tpm: signature algorithm 0x%04x", s.sig_alg);
    }
}

/* What one verified quote contributed. */
struct quote_state {
    struct sb_tpm_attest a;
    uint16_t bank;
    uint32_t selected;
};

/* pcrDigest = H_sign(value of each selected PCR, banks in selection order, PCRs ascending). */
static int check_pcr_digest(const struct sb_tpm_quote_ev *q, struct quote_state *st,
                            uint16_t sign_hash_alg, sb_error *err) {
    const struct sb_tpm_attest *a = &st->a;
    if (a->n_selections != 1)
        BAIL(err, SB_E_UNSUPPORTED, "tpm: the quote selects %u PCR banks; one per quote is read",
             a->n_selections);
    const struct sb_tpm_pcr_selection *sel = &a->selections[0];
    if (q->pcrs.alg != SB_TPM_ALG_NULL && q->pcrs.alg != sel->hash)
        BAIL(err, SB_E_MALFORMED, "tpm: PCR values are of bank %s but the quote selects %s",
             bank_name(q->pcrs.alg), bank_name(sel->hash));
    enum sb_hash bank_h, sign_h;
    if (sb_tpm_hash_of_alg(sel->hash, &bank_h) < 0 ||
        sb_tpm_hash_of_alg(sign_hash_alg, &sign_h) < 0)
        BAIL(err, SB_E_UNSUPPORTED, "tpm: PCR bank %s is not supported", bank_name(sel->hash));
    size_t bl = sb_hash_len(bank_h);
    st->bank = sel->hash;
    st->selected = 0;
    if (q->pcrs.present == 0) /* a bare quote (Azure's .msg/.sig): signature and nonce only */
        return 0;
    if (a->pcr_digest_len != sb_hash_len(sign_h))
        BAIL(err, SB_E_MALFORMED, "tpm: pcrDigest has %u bytes, the %s digest has %zu",
             a->pcr_digest_len, sb_hash_name(sign_h), sb_hash_len(sign_h));
    sb_hash_ctx *c = NULL;
    TRY(sb_hash_ctx_new(sign_h, &c, err));
    int rc = 0;
    for (unsigned i = 0; i < SB_TPM_MAX_PCRS && rc == 0; i++) {
        if (!sb_tpm_pcr_selected(sel, i)) continue;
        st->selected |= 1u << i;
        if (!(q->pcrs.present & (1u << i)))
            rc = sb_error_set(err, SB_E_MALFORMED,
                              "tpm: the quote selects %s PCR %u but its value "
                              "is not given",
                              bank_name(sel->hash), i);
        else if (q->pcrs.len[i] != bl)
            rc = sb_error_set(err, SB_E_MALFORMED, "tpm: %s PCR %u value has %u bytes, not %zu",
                              bank_name(sel->hash), i, q->pcrs.len[i], bl);
        else
            rc = sb_hash_ctx_update(c, q->pcrs.value[i], bl, err);
    }
    uint8_t d[SB_HASH_MAX_LEN];
    if (rc == 0) rc = sb_hash_ctx_final(c, d, err);
    sb_hash_ctx_free(c);
    TRY(rc);
    if (!sb_ct_equal(d, a->pcr_digest, a->pcr_digest_len))
        BAIL(err, SB_E_SIGNATURE,
             "tpm: pcrDigest mismatch: the %s PCR values given do not hash to the quoted digest",
             bank_name(sel->hash));
    return 0;
}

/* "<bank>:<index>" (a measurement key; snprintf costs more than the rest of the claim). */
static void pcr_key(char out[32], const char *bank, unsigned index) {
    size_t k = 0;
    while (k < 20 && bank[k]) {
        out[k] = bank[k];
        k++;
    }
    out[k++] = ':';
    if (index >= 10) out[k++] = (char)('0' + index / 10 % 10);
    out[k++] = (char)('0' + index % 10);
    out[k] = 0;
}

static int hexput(json_t *claims, const char *section, const char *key, const uint8_t *p, size_t n,
                  sb_error *err) {
    if (sb_claims_set_hex(claims, section, key, p, n) < 0)
        BAIL(err, SB_E_INTERNAL, "tpm: out of memory");
    return 0;
}

/* The replayed bank h of l, parsing the log on first use; *out is NULL when the log does not
 * record that bank. Results are memoized in l (tmp holds one when l's memo is full). */
static int log_bank(struct log_state *l, const uint8_t *p, size_t n, enum sb_hash h,
                    struct sb_mr_bank *tmp, const struct sb_mr_bank **out, sb_error *err) {
    for (size_t i = 0; i < l->n_memo; i++)
        if (l->memo[i].h == h) {
            *out = l->memo[i].rc == 0 ? &l->memo[i].bank : NULL;
            return 0;
        }
    if (!l->parsed) {
        TRY(sb_eventlog_parse(p, n, 0, &l->log, err));
        l->parsed = true;
    }
    struct sb_mr_bank *dst = l->n_memo < SB_ARRAY_LEN(l->memo) ? &l->memo[l->n_memo].bank : tmp;
    int rc = sb_eventlog_replay(&l->log, h, dst, err);
    if (rc < 0 && rc != SB_E_NOTFOUND) return rc;
    if (dst != tmp) {
        l->memo[l->n_memo].h = h;
        l->memo[l->n_memo].rc = rc;
        l->n_memo++;
    }
    *out = rc == 0 ? dst : NULL;
    return 0;
}

/* The log state for these bytes: the cached one (or a new cache entry) with c, else one. */
static struct log_state *log_state_for(sb_tpm_ctx *c, const uint8_t *p, size_t n,
                                       struct log_state *one_shot, sb_error *err) {
    if (!c) return one_shot;
    for (size_t i = 0; i < TPM_CTX_SLOTS; i++)
        if (c->log[i].bytes && same_bytes(c->log[i].bytes, c->log[i].len, p, n)) return &c->log[i];
    struct log_state *l = &c->log[c->log_next];
    c->log_next = (c->log_next + 1) % TPM_CTX_SLOTS;
    log_state_clear(l);
    l->bytes = dup_bytes(p, n);
    if (!l->bytes) {
        (void)sb_error_set(err, SB_E_INTERNAL, "tpm: out of memory");
        return NULL;
    }
    l->len = n;
    return l;
}

/* The event log must replay to the quoted value of every PCR it extends. */
static int check_event_log(sb_tpm_ctx *ctx, const struct sb_tpm_evidence *ev,
                           const struct sb_tpm_quote_ev *quotes, const struct quote_state *st,
                           size_t n_quotes, json_t *claims, sb_error *err) {
    struct log_state one = {0};
    struct log_state *l = log_state_for(ctx, ev->event_log, ev->event_log_len, &one, err);
    if (!l) return SB_E_INTERNAL;
    /* A cached state parses its own copy; a one-shot state the evidence's bytes. */
    const uint8_t *lp = l->bytes ? l->bytes : ev->event_log;
    int rc = 0;
    uint32_t checked_any = 0, extended = 0;
    json_t *banks = json_array();
    for (size_t qi = 0; qi < n_quotes && rc == 0; qi++) {
        enum sb_hash h;
        if (sb_tpm_hash_of_alg(st[qi].bank, &h) < 0) continue;
        struct sb_mr_bank tmp;
        const struct sb_mr_bank *b = NULL;
        rc = log_bank(l, lp, ev->event_log_len, h, &tmp, &b, err);
        if (rc < 0) break;
        if (!b) continue; /* the log does not record this bank */
        for (unsigned i = 0; i < SB_MR_MAX_INDEX && rc == 0; i++) {
            if (!b->events[i]) continue;
            extended |= 1u << i;
            if (!(st[qi].selected & (1u << i))) continue;
            checked_any |= 1u << i;
            if (!sb_ct_equal(b->value[i], quotes[qi].pcrs.value[i], sb_hash_len(h))) {
                char got[2 * SB_HASH_MAX_LEN + 1];
                sb_hex_encode(b->value[i], sb_hash_len(h), got);
                rc = sb_error_set(err, SB_E_SIGNATURE,
                                  "tpm: the event log does not replay: %s PCR %u replays to %s "
                                  "(%u events), the quote says otherwise",
                                  sb_hash_name(h), i, got, b->events[i]);
            }
        }
        if (rc == 0 && banks) json_array_append_new(banks, json_string(sb_hash_name(h)));
    }
    size_t n_events = l->parsed ? l->log.n_events : 0;
    if (l == &one) {
        log_state_clear(&one);
    } else if (!l->parsed) {
        log_state_clear(l); /* it did not parse: keep nothing */
    }
    if (rc < 0) {
        json_decref(banks);
        return rc;
    }
    if (!banks || json_array_size(banks) == 0) {
        json_decref(banks);
        BAIL(err, SB_E_UNSUPPORTED, "tpm: the event log records none of the quoted PCR banks");
    }
    json_t *pc = json_object_get(claims, "platform_claims");
    if (json_object_set_new(pc, "event_log_banks", banks) < 0 ||
        sb_claims_set_int(claims, "platform_claims", "event_log_events", (int64_t)n_events) < 0 ||
        sb_claims_set_bool(claims, "platform_claims", "event_log_verified", true) < 0)
        BAIL(err, SB_E_INTERNAL, "tpm: out of memory");
    uint32_t unquoted = extended & ~checked_any;
    for (unsigned i = 0; i < SB_MR_MAX_INDEX; i++)
        if (unquoted & (1u << i))
            (void)sb_claims_warn(claims,
                                 "tpm: the event log extends PCR %u, which no quote covers: its "
                                 "events are not authenticated",
                                 i);
    return 0;
}

/* The chain cache key: the AK, then every certificate offered, each as u32le length || bytes
 * (compared part by part, serialized only when an entry is made). */
struct chain_parts {
    size_t k, total;
    const uint8_t *p[2 + SB_TPM_MAX_CERTS + SB_VERIFY_MAX_FILES];
    size_t n[2 + SB_TPM_MAX_CERTS + SB_VERIFY_MAX_FILES];
};

static bool chain_parts_of(const struct sb_verify_opts *o, const struct sb_tpm_evidence *ev,
                           struct chain_parts *cp) {
    cp->k = 0;
    cp->total = 0;
    cp->p[cp->k] = ev->ak; /* the AK the certificate was found to certify */
    cp->n[cp->k++] = ev->ak_len;
    cp->p[cp->k] = ev->ak_cert;
    cp->n[cp->k++] = ev->ak_cert_len;
    for (size_t i = 0; i < ev->n_intermediates && i < SB_TPM_MAX_CERTS; i++) {
        cp->p[cp->k] = ev->intermediates[i];
        cp->n[cp->k++] = ev->intermediate_len[i];
    }
    for (size_t i = 0; i < o->n_certs && i < SB_VERIFY_MAX_FILES; i++) {
        cp->p[cp->k] = o->certs[i].data;
        cp->n[cp->k++] = o->certs[i].len;
    }
    for (size_t i = 0; i < cp->k; i++)
        if (cp->n[i] > UINT32_MAX || sb_add_overflow_size(cp->total, 4 + cp->n[i], &cp->total))
            return false;
    return true;
}

static bool chain_parts_match(const struct chain_parts *cp, const uint8_t *key, size_t len) {
    if (len != cp->total) return false;
    size_t off = 0;
    for (size_t i = 0; i < cp->k; i++) {
        uint32_t l = (uint32_t)key[off] | (uint32_t)key[off + 1] << 8 |
                     (uint32_t)key[off + 2] << 16 | (uint32_t)key[off + 3] << 24;
        off += 4;
        if (l != cp->n[i] || (l && memcmp(key + off, cp->p[i], l) != 0)) return false;
        off += l;
    }
    return true;
}

static uint8_t *chain_parts_serialize(const struct chain_parts *cp) {
    uint8_t *key = malloc(cp->total ? cp->total : 1);
    if (!key) return NULL;
    size_t off = 0;
    for (size_t i = 0; i < cp->k; i++) {
        uint32_t l = (uint32_t)cp->n[i];
        key[off++] = (uint8_t)l;
        key[off++] = (uint8_t)(l >> 8);
        key[off++] = (uint8_t)(l >> 16);
        key[off++] = (uint8_t)(l >> 24);
        if (l) memcpy(key + off, cp->p[i], l);
        off += l;
    }
    return key;
}

static int chain_claims(json_t *claims, const struct chain_entry *e, sb_error *err) {
    if (sb_claims_add_collateral(claims, "ak_cert", e->subject, e->issuer, e->leaf_nb, e->leaf_na,
                                 "evidence") < 0 ||
        sb_claims_set_str(claims, "platform_identity", "ak_cert_issuer", e->issuer) < 0 ||
        sb_claims_set_str(claims, "platform_identity", "ak_cert_serial", e->serial) < 0)
        BAIL(err, SB_E_INTERNAL, "tpm: out of memory");
    for (size_t i = 0; i < e->n_roots; i++)
        if (sb_claims_add_collateral(claims, "ak_root", e->root_subject[i], e->root_subject[i],
                                     e->root_nb[i], e->root_na[i], "--certs") < 0)
            BAIL(err, SB_E_INTERNAL, "tpm: out of memory");
    return 0;
}

static void window(int64_t *from, int64_t *to, const sb_cert *c) {
    int64_t nb = sb_cert_not_before(c), na = sb_cert_not_after(c);
    if (nb > *from) *from = nb;
    if (na < *to) *to = na;
}

/* The AK certificate: it must certify the AK and chain through the container's intermediates
 * and the --certs ones (self-signed --certs are the roots) at o->at. */
static int check_ak_cert(sb_tpm_ctx *ctx, const struct sb_verify_opts *o,
                         const struct sb_tpm_evidence *ev, const sb_pubkey *ak, json_t *claims,
                         sb_error *err) {
    struct chain_parts cp = {0};
    if (ctx) {
        if (!chain_parts_of(o, ev, &cp)) BAIL(err, SB_E_LIMIT, "tpm: certificates too large");
        for (size_t i = 0; i < TPM_CTX_SLOTS; i++) {
            const struct chain_entry *e = &ctx->chain[i];
            /* The key holds the AK's bytes: the entry was made when the certificate was found
             * to certify exactly this AK. */
            if (!e->key || o->at < e->valid_from || o->at > e->valid_to ||
                !chain_parts_match(&cp, e->key, e->key_len))
                continue;
            return chain_claims(claims, e, err);
        }
    }
    _cleanup_(cert_freep) sb_cert *leaf = NULL;
    TRY(sb_cert_load(ev->ak_cert, ev->ak_cert_len, &leaf, err));
    _cleanup_(pubkey_freep) sb_pubkey *ck = NULL;
    TRY(sb_cert_pubkey(leaf, &ck, err));
    if (!sb_pubkey_equal(ck, ak))
        BAIL(err, SB_E_CHAIN, "tpm: the AK certificate certifies another key than the quote's AK");
    sb_cert *inter[SB_TPM_MAX_CERTS + SB_VERIFY_MAX_FILES] = {0};
    sb_cert *roots[SB_VERIFY_MAX_FILES] = {0};
    size_t n_inter = 0, n_roots = 0;
    int rc = 0;
    for (size_t i = 0; i < ev->n_intermediates && rc == 0; i++) {
        rc = sb_cert_load(ev->intermediates[i], ev->intermediate_len[i], &inter[n_inter], err);
        if (rc == 0) n_inter++;
    }
    for (size_t i = 0; i < o->n_certs && rc == 0 && i < SB_VERIFY_MAX_FILES; i++) {
        sb_cert *c = NULL;
        rc = sb_cert_load(o->certs[i].data, o->certs[i].len, &c, err);
        if (rc < 0) {
            (void)sb_error_prefix(err, "--certs %s", o->certs[i].name);
            break;
        }
        if (sb_cert_check_signed_by(c, c, NULL) == 0)
            roots[n_roots++] = c;
        else
            inter[n_inter++] = c;
    }
    if (rc == 0 && n_roots == 0)
        rc = sb_error_set(err, SB_E_CHAIN,
                          "tpm: the AK certificate cannot be checked: no trusted root given "
                          "(--certs with the EK/AK CA root, e.g. GCE's tpm_ek_root_1)");
    if (rc == 0)
        rc = sb_x509_verify_chain(leaf, inter, n_inter, roots, n_roots, NULL, 0, o->at, 0, err);
    if (rc < 0 && err && !strstr(err->msg, "AK certificate"))
        (void)sb_error_prefix(err, "tpm: AK certificate");
    struct chain_entry e = {0};
    if (rc == 0) {
        e.subject = sb_cert_subject(leaf);
        e.issuer = sb_cert_issuer(leaf);
        e.serial = sb_cert_serial_hex(leaf);
        e.leaf_nb = sb_cert_not_before(leaf);
        e.leaf_na = sb_cert_not_after(leaf);
        e.valid_from = INT64_MIN;
        e.valid_to = INT64_MAX;
        window(&e.valid_from, &e.valid_to, leaf);
        for (size_t i = 0; i < n_inter; i++)
            window(&e.valid_from, &e.valid_to, inter[i]);
        for (size_t i = 0; i < n_roots && rc == 0; i++) {
            window(&e.valid_from, &e.valid_to, roots[i]);
            e.root_subject[i] = sb_cert_subject(roots[i]);
            e.root_nb[i] = sb_cert_not_before(roots[i]);
            e.root_na[i] = sb_cert_not_after(roots[i]);
            e.n_roots++;
            if (!e.root_subject[i]) rc = sb_error_set(err, SB_E_INTERNAL, "tpm: out of memory");
        }
        if (rc == 0 && (!e.subject || !e.issuer || !e.serial))
            rc = sb_error_set(err, SB_E_INTERNAL, "tpm: out of memory");
        if (rc == 0) rc = chain_claims(claims, &e, err);
    }
    for (size_t i = 0; i < n_inter; i++)
        sb_cert_free(inter[i]);
    for (size_t i = 0; i < n_roots; i++)
        sb_cert_free(roots[i]);
    if (rc == 0 && ctx && (e.key = chain_parts_serialize(&cp)) != NULL) {
        struct chain_entry *slot = &ctx->chain[ctx->chain_next];
        ctx->chain_next = (ctx->chain_next + 1) % TPM_CTX_SLOTS;
        chain_entry_clear(slot);
        e.key_len = cp.total;
        *slot = e;
        return 0;
    }
    chain_entry_clear(&e);
    return rc;
}

/* The AK of a container (TPMT_PUBLIC or SPKI), its key built and its TPM name computed once
 * per distinct AK with ctx (the entry parses its own copy of the bytes); without ctx in *one,
 * pointing into the evidence. *out stays valid until the next call with ctx. */
static int load_ak(sb_tpm_ctx *ctx, const struct sb_tpm_evidence *ev, struct ak_entry *one,
                   struct ak_entry **out, sb_error *err) {
    if (ctx)
        for (size_t i = 0; i < TPM_CTX_SLOTS; i++) {
            struct ak_entry *a = &ctx->ak[i];
            if (a->key && a->kind == ev->ak_kind &&
                same_bytes(a->bytes, a->len, ev->ak, ev->ak_len)) {
                *out = a;
                return 0;
            }
        }
    if (ev->ak_kind != SB_TPM_AK_TPMT_PUBLIC && ev->ak_kind != SB_TPM_AK_SPKI_DER)
        BAIL(err, SB_E_USAGE,
             "tpm: %s carries no attestation key (an Azure quote is verified together with "
             "its HCL report)",
             ev->format);
    struct ak_entry *a = one;
    if (ctx) {
        a = &ctx->ak[ctx->ak_next];
        ctx->ak_next = (ctx->ak_next + 1) % TPM_CTX_SLOTS;
        ak_entry_clear(a);
        a->bytes = dup_bytes(ev->ak, ev->ak_len);
        if (!a->bytes) BAIL(err, SB_E_INTERNAL, "tpm: out of memory");
        a->len = ev->ak_len;
    }
    const uint8_t *p = ctx ? a->bytes : ev->ak;
    a->kind = ev->ak_kind;
    int rc = 0;
    if (ev->ak_kind == SB_TPM_AK_TPMT_PUBLIC) {
        rc = sb_tpm_public_parse(p, ev->ak_len, &a->pub, err);
        if (rc == 0) rc = ak_from_public(&a->pub, &a->key, err);
        if (rc == 0) rc = sb_tpm_public_name(&a->pub, a->name, &a->name_len, err);
        a->has_pub = rc == 0;
    } else {
        rc = sb_pubkey_from_spki_der(p, ev->ak_len, &a->key, err);
    }
    if (rc < 0) {
        ak_entry_clear(a); /* a failed AK is not kept */
        return rc;
    }
    *out = a;
    return 0;
}

static int verify_parsed(sb_tpm_ctx *ctx, const struct sb_verify_opts *o,
                         const struct sb_tpm_evidence *ev, const sb_pubkey *ak_given,
                         struct ak_entry *one, json_t *claims, sb_error *err);

int sb_tpm_verify_parsed(const struct sb_verify_opts *o, const struct sb_tpm_evidence *ev,
                         const sb_pubkey *ak_given, json_t *claims, sb_error *err) {
    return sb_tpm_verify_parsed_with(NULL, o, ev, ak_given, claims, err);
}

int sb_tpm_verify_parsed_with(sb_tpm_ctx *ctx, const struct sb_verify_opts *o,
                              const struct sb_tpm_evidence *ev, const sb_pubkey *ak_given,
                              json_t *claims, sb_error *err) {
    struct ak_entry one = {0};
    int rc = verify_parsed(ctx, o, ev, ak_given, &one, claims, err);
    ak_entry_clear(&one);
    return rc;
}

static int verify_parsed(sb_tpm_ctx *ctx, const struct sb_verify_opts *o,
                         const struct sb_tpm_evidence *ev, const sb_pubkey *ak_given,
                         struct ak_entry *one, json_t *claims, sb_error *err) {
    const struct sb_tpm_public *pubp = NULL;
    const sb_pubkey *ak = ak_given;
    struct ak_entry *ake_mut = NULL;
    const struct ak_entry *ake = NULL;
    if (!ak) {
        TRY(load_ak(ctx, ev, one, &ake_mut, err));
        ake = ake_mut;
        ak = ake->key;
        pubp = ake->has_pub ? &ake->pub : NULL;
    }
    if (ev->n_quotes == 0 || ev->n_quotes > SB_TPM_MAX_QUOTES)
        BAIL(err, SB_E_MALFORMED, "tpm: %zu quotes", ev->n_quotes);

    struct quote_state st[SB_TPM_MAX_QUOTES];
    for (size_t i = 0; i < ev->n_quotes; i++) {
        const struct sb_tpm_quote_ev *q = &ev->quotes[i];
        TRY(sb_tpm_attest_parse(q->attest, q->attest_len, &st[i].a, err));
        uint16_t sign_hash = 0;
        int rc = verify_quote_sig(ctx ? ake_mut : NULL, ak, pubp, q, &sign_hash, err);
        if (rc < 0) return sb_error_prefix(err, "tpm: quote %zu signature", i);
        const struct sb_tpm_attest *a = &st[i].a;
        if (i > 0 && (a->extra_data_len != st[0].a.extra_data_len ||
                      memcmp(a->extra_data, st[0].a.extra_data, a->extra_data_len) != 0))
            BAIL(err, SB_E_MALFORMED, "tpm: quotes %zu and 0 carry different extraData", i);
        TRY(check_pcr_digest(q, &st[i], sign_hash, err));
        for (size_t j = 0; j < i; j++)
            if (st[j].bank == st[i].bank)
                BAIL(err, SB_E_MALFORMED, "tpm: two quotes of bank %s", bank_name(st[i].bank));
    }
    const struct sb_tpm_attest *a0 = &st[0].a;
    if (o->nonce) {
        if (a0->extra_data_len != o->nonce_len ||
            !sb_ct_equal(a0->extra_data, o->nonce, o->nonce_len))
            BAIL(err, SB_E_SIGNATURE,
                 "tpm: nonce mismatch: the quote's extraData (%u bytes) is not the --nonce given",
                 a0->extra_data_len);
    }
    if (ev->nonce && (ev->nonce_len != a0->extra_data_len ||
                      memcmp(ev->nonce, a0->extra_data, ev->nonce_len) != 0))
        BAIL(err, SB_E_MALFORMED, "tpm: the container's nonce differs from the quote's extraData");

    /* Claims: every quoted PCR is now authenticated. */
    for (size_t i = 0; i < ev->n_quotes; i++)
        for (unsigned k = 0; k < SB_TPM_MAX_PCRS; k++) {
            if (!(st[i].selected & (1u << k))) continue;
            char key[32];
            pcr_key(key, bank_name(st[i].bank), k);
            TRY(hexput(claims, "measurements", key, ev->quotes[i].pcrs.value[k],
                       ev->quotes[i].pcrs.len[k], err));
        }
    for (size_t i = 0; i < ev->n_quotes; i++)
        if (ev->quotes[i].pcrs.present == 0)
            (void)sb_claims_warn(claims,
                                 "tpm: quote %zu comes without PCR values: its signature "
                                 "and nonce are checked, its PCRs are not claimed",
                                 i);
    TRY(hexput(claims, NULL, "report_data", a0->extra_data, a0->extra_data_len, err));
    char fw[24];
    (void)snprintf(fw, sizeof(fw), "%016llx", (unsigned long long)a0->firmware_version);
    json_t *banks = json_array();
    for (size_t i = 0; banks && i < ev->n_quotes; i++)
        json_array_append_new(banks, json_string(bank_name(st[i].bank)));
    if (sb_claims_set_str(claims, "platform_claims", "firmware_version", fw) < 0 ||
        sb_claims_set_int(claims, "platform_claims", "clock_ms", (int64_t)(a0->clock & INT64_MAX)) <
            0 ||
        sb_claims_set_int(claims, "platform_claims", "reset_count", a0->reset_count) < 0 ||
        sb_claims_set_int(claims, "platform_claims", "restart_count", a0->restart_count) < 0 ||
        sb_claims_set_bool(claims, "platform_claims", "clock_safe", a0->safe) < 0 || !banks ||
        json_object_set_new(json_object_get(claims, "platform_claims"), "quote_banks", banks) < 0)
        BAIL(err, SB_E_INTERNAL, "tpm: out of memory");

    size_t bits = sb_pubkey_bits(ak);
    char akt[32];
    (void)snprintf(akt, sizeof(akt), "%s-%zu", sb_pubkey_type(ak) == SB_KEY_RSA ? "rsa" : "ecc",
                   bits);
    if (sb_claims_set_str(claims, "platform_claims", "ak_type", akt) < 0)
        BAIL(err, SB_E_INTERNAL, "tpm: out of memory");
    if (pubp && sb_claims_set_int(claims, "platform_claims", "ak_attributes", pubp->attributes) < 0)
        BAIL(err, SB_E_INTERNAL, "tpm: out of memory");
    if (pubp) TRY(hexput(claims, "platform_claims", "ak_name", ake->name, ake->name_len, err));

    if (ev->event_log) {
        TRY(check_event_log(ctx, ev, ev->quotes, st, ev->n_quotes, claims, err));
    } else if (sb_claims_set_bool(claims, "platform_claims", "event_log_verified", false) < 0) {
        BAIL(err, SB_E_INTERNAL, "tpm: out of memory");
    }

    if (a0->firmware_version == LIBTPMS_FIRMWARE_VERSION) {
        if (sb_claims_set_bool(claims, "platform_claims", "software_tpm", true) < 0 ||
            sb_claims_set_bool(claims, NULL, "insecure", true) < 0)
            BAIL(err, SB_E_INTERNAL, "tpm: out of memory");
        (void)sb_claims_warn(claims,
                             "tpm: firmware version %s is libtpms (swtpm), a software "
                             "TPM emulator: the quote proves nothing about hardware",
                             fw);
    }
    if (ev->has_tee_attestation)
        (void)sb_claims_warn(claims, "tpm: the container's SNP/TDX attestation is not checked by "
                                     "the tpm verifier");
    if (!a0->safe)
        (void)sb_claims_warn(claims, "tpm: clockInfo.safe is 0: the TPM clock may have gone back");

    bool certified = false;
    if (!ak_given && ev->ak_cert) {
        TRY(check_ak_cert(ctx, o, ev, ak, claims, err));
        certified = true;
    }
    if (!ak_given) {
        if (sb_claims_set_bool(claims, "platform_claims", "ak_certified", certified) < 0)
            BAIL(err, SB_E_INTERNAL, "tpm: out of memory");
        if (!certified)
            (void)sb_claims_warn(claims, "tpm: AK not certified: the quote is only as trustworthy "
                                         "as the AK, and nothing vouches for this one");
    }
    return 0;
}

/* ---- the "tpm" verifier: containers in ev[0], an optional raw event log in ev[1] ---------- */

/* memo: a warm context's event-log memo for JSON containers (NULL: none). */
static int parse_container(const struct sb_blob *b, struct sb_tpm_json_memo *memo,
                           struct sb_tpm_evidence *out, sb_error *err) {
    size_t i = 0;
    while (i < b->len && i < 64 &&
           (b->data[i] == ' ' || b->data[i] == '\t' || b->data[i] == '\r' || b->data[i] == '\n'))
        i++;
    if (i < b->len && b->data[i] == '{')
        return sb_tpm_json_parse_memo(b->data, b->len, memo, out, err);
    /* Binary: Azure's bincode starts with a u64le signature length (<= 512, so 00 00 in bytes
     * 2..3); a protobuf key byte is never followed by that for this schema. */
    if (b->len >= 8 && b->data[2] == 0 && b->data[3] == 0 && b->data[4] == 0)
        return sb_tpm_bincode_quote_parse(b->data, b->len, out, err);
    return sb_tpm_gotpm_parse(b->data, b->len, out, err);
}

static int tpm_sniff(const struct sb_blob *ev, size_t n_ev) {
    if (n_ev < 1 || n_ev > 2) return 0;
    int score = 0;
    size_t i = 0;
    while (i < ev[0].len && i < 64 &&
           (ev[0].data[i] == ' ' || ev[0].data[i] == '\t' || ev[0].data[i] == '\r' ||
            ev[0].data[i] == '\n'))
        i++;
    if (i < ev[0].len && ev[0].data[i] == '{') {
        /* JSON containers are detected by their members, without parsing (go-attestation is
         * tens of KB; verify() parses and names what is wrong). Azure's bare quote has no AK:
         * it is verified through its HCL report, not here. */
        const uint8_t *p = ev[0].data;
        size_t n = ev[0].len;
        bool ga = sb_json_text_has_member(p, n, "AK", NULL) &&
                  sb_json_text_has_member(p, n, "Quote", NULL);
        bool tr = sb_json_text_has_member(p, n, "ak_public", NULL) &&
                  sb_json_text_has_member(p, n, "tpm_quote", NULL);
        bool sb = sb_json_text_has_member(p, n, "sealbox-tpm", NULL) &&
                  sb_json_text_has_member(p, n, "quotes", NULL);
        score = ga || tr || sb ? 60 : 0;
    } else {
        struct sb_tpm_evidence t;
        if (parse_container(&ev[0], NULL, &t, NULL) < 0) return 0;
        score = t.ak_kind == SB_TPM_AK_NONE ? 0 : 60;
        sb_tpm_evidence_free(&t);
    }
    if (score && n_ev == 2) {
        struct sb_eventlog log;
        if (sb_eventlog_parse(ev[1].data, ev[1].len, 0, &log, NULL) < 0) return 0;
        sb_eventlog_free(&log);
    }
    return score;
}

int sb_tpm_verify(sb_tpm_ctx *ctx, const struct sb_verify_opts *o, const struct sb_blob *ev,
                  size_t n_ev, json_t **claims, sb_error *err) {
    ENSURE(n_ev >= 1 && n_ev <= 2, err, SB_E_USAGE,
           "tpm: expected a TPM attestation and optionally its event log (%zu files given)", n_ev);
    struct sb_tpm_evidence t;
    int rc = parse_container(&ev[0], ctx ? &ctx->json_memo : NULL, &t, err);
    if (rc < 0) return sb_error_prefix(err, "%s", ev[0].name);
    if (n_ev == 2) {
        if (t.event_log) {
            sb_tpm_evidence_free(&t);
            BAIL(err, SB_E_USAGE, "tpm: %s already carries an event log", ev[0].name);
        }
        t.event_log = ev[1].data;
        t.event_log_len = ev[1].len;
    }
    json_t *c = sb_claims_new("tpm", t.format, o->at);
    if (!c) {
        sb_tpm_evidence_free(&t);
        BAIL(err, SB_E_INTERNAL, "tpm: out of memory");
    }
    rc = sb_tpm_verify_parsed_with(ctx, o, &t, NULL, c, err);
    sb_tpm_evidence_free(&t);
    if (rc < 0) {
        json_decref(c);
        return rc;
    }
    *claims = c;
    return 0;
}

static int tpm_verify(const struct sb_verify_opts *o, const struct sb_blob *ev, size_t n_ev,
                      json_t **claims, sb_error *err) {
    return sb_tpm_verify(NULL, o, ev, n_ev, claims, err);
}

const struct sb_verifier sb_verifier_tpm = {
    .name = "tpm",
    .sniff = tpm_sniff,
    .verify = tpm_verify,
};
