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
static int verify_quote_sig(const sb_pubkey *ak, const struct sb_tpm_public *pub,
                            const struct sb_tpm_quote_ev *q, uint16_t *hash_alg, sb_error *err) {
    enum sb_hash h;
    if (q->sig_raw) {
        ENSURE(sb_pubkey_type(ak) == SB_KEY_RSA, err, SB_E_SIGNATURE,
               "tpm: a bare RSA quote signature with a non-RSA AK");
        *hash_alg = SB_TPM_ALG_SHA256;
        TRY(sb_rsa_pkcs1_verify(ak, SB_HASH_SHA256, q->attest, q->attest_len, q->sig, q->sig_len,
                                err));
        return 0;
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
        return sb_rsa_pkcs1_verify(ak, h, q->attest, q->attest_len, s.sig, s.sig_len, err);
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
        return sb_ecdsa_verify(ak, h, q->attest, q->attest_len, rs, 2 * w, SB_ECDSA_RAW_BE, err);
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

static int hexput(json_t *claims, const char *section, const char *key, const uint8_t *p, size_t n,
                  sb_error *err) {
    if (sb_claims_set_hex(claims, section, key, p, n) < 0)
        BAIL(err, SB_E_INTERNAL, "tpm: out of memory");
    return 0;
}

/* The event log must replay to the quoted value of every PCR it extends. */
static int check_event_log(const struct sb_tpm_evidence *ev, const struct sb_tpm_quote_ev *quotes,
                           const struct quote_state *st, size_t n_quotes, json_t *claims,
                           sb_error *err) {
    struct sb_eventlog log;
    TRY(sb_eventlog_parse(ev->event_log, ev->event_log_len, 0, &log, err));
    int rc = 0;
    uint32_t checked_any = 0, extended = 0;
    json_t *banks = json_array();
    for (size_t qi = 0; qi < n_quotes && rc == 0; qi++) {
        enum sb_hash h;
        if (sb_tpm_hash_of_alg(st[qi].bank, &h) < 0) continue;
        struct sb_mr_bank b;
        rc = sb_eventlog_replay(&log, h, &b, err);
        if (rc == SB_E_NOTFOUND) { /* the log does not record this bank */
            rc = 0;
            continue;
        }
        if (rc < 0) break;
        for (unsigned i = 0; i < SB_MR_MAX_INDEX && rc == 0; i++) {
            if (!b.events[i]) continue;
            extended |= 1u << i;
            if (!(st[qi].selected & (1u << i))) continue;
            checked_any |= 1u << i;
            if (!sb_ct_equal(b.value[i], quotes[qi].pcrs.value[i], sb_hash_len(h))) {
                char got[2 * SB_HASH_MAX_LEN + 1];
                sb_hex_encode(b.value[i], sb_hash_len(h), got);
                rc = sb_error_set(err, SB_E_SIGNATURE,
                                  "tpm: the event log does not replay: %s PCR %u replays to %s "
                                  "(%u events), the quote says otherwise",
                                  sb_hash_name(h), i, got, b.events[i]);
            }
        }
        if (rc == 0 && banks) json_array_append_new(banks, json_string(sb_hash_name(h)));
    }
    size_t n_events = log.n_events;
    sb_eventlog_free(&log);
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

/* Splits --certs and container certificates into roots (self-signed) and intermediates. */
static int check_ak_cert(const struct sb_verify_opts *o, const struct sb_tpm_evidence *ev,
                         const sb_pubkey *ak, json_t *claims, sb_error *err) {
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
    if (rc == 0) {
        char *subj = sb_cert_subject(leaf), *iss = sb_cert_issuer(leaf);
        char *serial = sb_cert_serial_hex(leaf);
        if (sb_claims_add_collateral(claims, "ak_cert", subj, iss, sb_cert_not_before(leaf),
                                     sb_cert_not_after(leaf), "evidence") < 0 ||
            sb_claims_set_str(claims, "platform_identity", "ak_cert_issuer", iss) < 0 ||
            sb_claims_set_str(claims, "platform_identity", "ak_cert_serial", serial) < 0)
            rc = sb_error_set(err, SB_E_INTERNAL, "tpm: out of memory");
        for (size_t i = 0; i < n_roots && rc == 0; i++) {
            char *rs = sb_cert_subject(roots[i]);
            if (sb_claims_add_collateral(claims, "ak_root", rs, rs, sb_cert_not_before(roots[i]),
                                         sb_cert_not_after(roots[i]), "--certs") < 0)
                rc = sb_error_set(err, SB_E_INTERNAL, "tpm: out of memory");
            free(rs);
        }
        free(subj);
        free(iss);
        free(serial);
    }
    for (size_t i = 0; i < n_inter; i++)
        sb_cert_free(inter[i]);
    for (size_t i = 0; i < n_roots; i++)
        sb_cert_free(roots[i]);
    return rc;
}

int sb_tpm_verify_parsed(const struct sb_verify_opts *o, const struct sb_tpm_evidence *ev,
                         const sb_pubkey *ak_given, json_t *claims, sb_error *err) {
    _cleanup_(pubkey_freep) sb_pubkey *ak_owned = NULL;
    struct sb_tpm_public pub;
    const struct sb_tpm_public *pubp = NULL;
    const sb_pubkey *ak = ak_given;
    if (!ak) {
        switch (ev->ak_kind) {
        case SB_TPM_AK_TPMT_PUBLIC:
            TRY(sb_tpm_public_parse(ev->ak, ev->ak_len, &pub, err));
            TRY(ak_from_public(&pub, &ak_owned, err));
            pubp = &pub;
            break;
        case SB_TPM_AK_SPKI_DER:
            TRY(sb_pubkey_from_spki_der(ev->ak, ev->ak_len, &ak_owned, err));
            break;
        default:
            BAIL(err, SB_E_USAGE,
                 "tpm: %s carries no attestation key (an Azure quote is verified together with "
                 "its HCL report)",
                 ev->format);
        }
        ak = ak_owned;
    }
    if (ev->n_quotes == 0 || ev->n_quotes > SB_TPM_MAX_QUOTES)
        BAIL(err, SB_E_MALFORMED, "tpm: %zu quotes", ev->n_quotes);

    struct quote_state st[SB_TPM_MAX_QUOTES];
    for (size_t i = 0; i < ev->n_quotes; i++) {
        const struct sb_tpm_quote_ev *q = &ev->quotes[i];
        TRY(sb_tpm_attest_parse(q->attest, q->attest_len, &st[i].a, err));
        uint16_t sign_hash = 0;
        int rc = verify_quote_sig(ak, pubp, q, &sign_hash, err);
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
            (void)snprintf(key, sizeof(key), "%s:%u", bank_name(st[i].bank), k);
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
    if (pubp) {
        uint8_t name[2 + SB_HASH_MAX_LEN];
        size_t name_len = 0;
        TRY(sb_tpm_public_name(pubp, name, &name_len, err));
        TRY(hexput(claims, "platform_claims", "ak_name", name, name_len, err));
    }

    if (ev->event_log) {
        TRY(check_event_log(ev, ev->quotes, st, ev->n_quotes, claims, err));
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
        TRY(check_ak_cert(o, ev, ak, claims, err));
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

static int parse_container(const struct sb_blob *b, struct sb_tpm_evidence *out, sb_error *err) {
    size_t i = 0;
    while (i < b->len && i < 64 &&
           (b->data[i] == ' ' || b->data[i] == '\t' || b->data[i] == '\r' || b->data[i] == '\n'))
        i++;
    if (i < b->len && b->data[i] == '{') return sb_tpm_json_parse(b->data, b->len, out, err);
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
        if (parse_container(&ev[0], &t, NULL) < 0) return 0;
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

static int tpm_verify(const struct sb_verify_opts *o, const struct sb_blob *ev, size_t n_ev,
                      json_t **claims, sb_error *err) {
    ENSURE(n_ev >= 1 && n_ev <= 2, err, SB_E_USAGE,
           "tpm: expected a TPM attestation and optionally its event log (%zu files given)", n_ev);
    struct sb_tpm_evidence t;
    int rc = parse_container(&ev[0], &t, err);
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
    rc = sb_tpm_verify_parsed(o, &t, NULL, c, err);
    sb_tpm_evidence_free(&t);
    if (rc < 0) {
        json_decref(c);
        return rc;
    }
    *claims = c;
    return 0;
}

const struct sb_verifier sb_verifier_tpm = {
    .name = "tpm",
    .sniff = tpm_sniff,
    .verify = tpm_verify,
};
