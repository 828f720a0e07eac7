/* software: verifies sealbox software evidence — the ES256 (P-256 key) or ES384 (P-384 key)
 * signature of the key the evidence carries over its canonical bytes. The key is whatever the
 * evidence says, so the result proves only that someone holding that key produced it: the claims
 * say insecure = true. */
#include <string.h>

#include "verify.h"

static int sw_sniff(const struct sb_blob *ev, size_t n_ev) {
    if (n_ev < 1 || !ev[0].data || ev[0].len > SB_SOFTWARE_EVIDENCE_MAX) return 0;
    const uint8_t *p = ev[0].data;
    size_t n = ev[0].len, i = 0;
    while (i < n && (p[i] == ' ' || p[i] == '\n' || p[i] == '\r' || p[i] == '\t'))
        i++;
    if (i >= n || p[i] != '{') return 0;
    static const char marker[] = "\"" SB_SOFTWARE_MARKER "\"";
    return memmem(p, n, marker, sizeof(marker) - 1) ? 90 : 0;
}

static int sw_verify(const struct sb_verify_opts *o, const struct sb_blob *ev, size_t n_ev,
                     json_t **claims, sb_error *err) {
    ENSURE(n_ev == 1, err, SB_E_USAGE,
           "software evidence: one evidence file expected (got %zu); it carries its own key", n_ev);
    struct sb_software_evidence e;
    TRY(sb_software_evidence_parse(ev[0].data, ev[0].len, &e, err));
    sb_pubkey *k = NULL;
    char *tp = NULL;
    json_t *c = NULL;
    int rc = sb_pubkey_from_jwk(e.key, &k, err);
    if (rc < 0) (void)sb_error_prefix(err, "software evidence: key");
    /* ES256 with a P-256 key, ES384 with a P-384 key: the signature's length must match */
    bool p256 = rc == 0 && sb_pubkey_type(k) == SB_KEY_EC && sb_pubkey_curve(k) == SB_CURVE_P256;
    bool p384 = rc == 0 && sb_pubkey_type(k) == SB_KEY_EC && sb_pubkey_curve(k) == SB_CURVE_P384;
    if (rc == 0 && !p256 && !p384)
        rc = sb_error_set(err, SB_E_UNSUPPORTED,
                          "software evidence: key: not an EC P-256 or P-384 key");
    if (rc == 0 && e.sig_len != (p256 ? 64u : 96u))
        rc = sb_error_set(err, SB_E_MALFORMED,
                          "software evidence: signature: %zu bytes, but a %s key signs %u",
                          e.sig_len, p256 ? "P-256" : "P-384", p256 ? 64u : 96u);
    if (rc == 0) {
        rc = sb_ecdsa_verify(k, p256 ? SB_HASH_SHA256 : SB_HASH_SHA384, e.tbs, e.tbs_len, e.sig,
                             e.sig_len, SB_ECDSA_RAW_BE, err);
        if (rc < 0)
            (void)sb_error_prefix(err, "software evidence: signature does not verify with its key");
    }
    if (rc == 0) rc = sb_jwk_thumbprint(k, &tp, err);
    if (rc == 0) {
        c = sb_claims_new("software", "sealbox-software", o->at);
        if (!c || sb_claims_set_int(c, NULL, "version", e.version) < 0 ||
            sb_claims_set_hex(c, NULL, "report_data", e.report_data, 64) < 0 ||
            sb_claims_set_bool(c, NULL, "insecure", true) < 0 ||
            sb_claims_set_str(c, "signer", "key_thumbprint", tp) < 0 ||
            sb_claims_set_str(c, "platform_identity", "key_thumbprint", tp) < 0)
            rc = sb_error_set(err, SB_E_INTERNAL, "software evidence: out of memory");
    }
    free(tp);
    sb_pubkey_free(k);
    sb_software_evidence_clear(&e);
    if (rc < 0) {
        json_decref(c);
        return rc;
    }
    *claims = c;
    return 0;
}

const struct sb_verifier sb_verifier_software = {
    .name = "sealbox-software",
    .sniff = sw_sniff,
    .verify = sw_verify,
};
