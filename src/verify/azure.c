/* azure: Azure SEV-SNP confidential VMs — the HCL report binds the vTPM attestation key (in its
 * runtime-data JSON) to the SNP report (report_data = H(runtime data)); the vTPM quote, signed
 * by that key, carries the nonce and the PCRs. Both halves are checked, then joined. */
#include <jansson.h>
#include <string.h>

#include "verify.h"

#define AZURE_MAX_CERTS 8u

static void pubkey_freep(sb_pubkey **k) { sb_pubkey_free(*k); }

/* The inputs, sorted out of the EVIDENCE files. Views into the blobs or into az. */
struct azure_in {
    const uint8_t *hcl;
    size_t hcl_len;
    uint32_t version; /* Trustee evidence version; 0 for separate files */
    struct sb_tpm_evidence quote;
    bool have_quote;
    const uint8_t *bare_msg, *bare_sig; /* tpm-quote.msg / .sig */
    size_t bare_msg_len, bare_sig_len;
    struct sb_blob certs[AZURE_MAX_CERTS];
    size_t n_certs;
    struct sb_azure_evidence az;
    bool have_az;
};

static bool starts_json(const struct sb_blob *b) {
    size_t i = 0;
    while (i < b->len && i < 64 &&
           (b->data[i] == ' ' || b->data[i] == '\n' || b->data[i] == '\r' || b->data[i] == '\t'))
        i++;
    return i < b->len && b->data[i] == '{';
}

static bool is_hcl(const struct sb_blob *b) {
    return b->len >= 8 && b->data[0] == 'H' && b->data[1] == 'C' && b->data[2] == 'L' &&
           b->data[3] == 'A';
}

static bool is_attest(const struct sb_blob *b) {
    return b->len >= 6 && b->data[0] == 0xff && b->data[1] == 0x54 && b->data[2] == 0x43 &&
           b->data[3] == 0x47;
}

static bool is_cert(const struct sb_blob *b) {
    static const char pem[] = "-----BEGIN CERTIFICATE-----";
    if (b->len >= sizeof(pem) - 1 && memcmp(b->data, pem, sizeof(pem) - 1) == 0) return true;
    return b->len >= 4 && b->data[0] == 0x30 && b->data[1] == 0x82; /* DER SEQUENCE */
}

static void in_free(struct azure_in *in) {
    if (in->have_az)
        sb_azure_evidence_free(&in->az);
    else if (in->have_quote)
        sb_tpm_evidence_free(&in->quote);
}

static int add_cert(struct azure_in *in, const char *name, const uint8_t *p, size_t n,
                    sb_error *err) {
    if (in->n_certs >= AZURE_MAX_CERTS)
        BAIL(err, SB_E_LIMIT, "azure: more than %u certificates", AZURE_MAX_CERTS);
    in->certs[in->n_certs++] = (struct sb_blob){.name = name, .data = p, .len = n};
    return 0;
}

static int classify(const struct sb_blob *ev, size_t n_ev, struct azure_in *in, sb_error *err) {
    for (size_t i = 0; i < n_ev; i++) {
        const struct sb_blob *b = &ev[i];
        if (is_hcl(b)) {
            ENSURE(!in->hcl, err, SB_E_USAGE, "azure: two HCL reports given (%s)", b->name);
            in->hcl = b->data;
            in->hcl_len = b->len;
        } else if (is_attest(b)) {
            ENSURE(!in->bare_msg, err, SB_E_USAGE, "azure: two TPMS_ATTEST files (%s)", b->name);
            in->bare_msg = b->data;
            in->bare_msg_len = b->len;
        } else if (is_cert(b)) {
            TRY(add_cert(in, b->name, b->data, b->len, err));
        } else if (starts_json(b)) {
            ENSURE(!in->have_quote && !in->have_az, err, SB_E_USAGE,
                   "azure: two quote/evidence files (%s)", b->name);
            struct sb_tpm_evidence q;
            sb_error e2 = {0};
            if (sb_tpm_json_parse(b->data, b->len, &q, &e2) == 0) {
                if (q.ak_kind != SB_TPM_AK_NONE) {
                    sb_tpm_evidence_free(&q);
                    BAIL(err, SB_E_USAGE, "azure: %s is a %s TPM attestation, not an Azure quote",
                         b->name, q.format);
                }
                in->quote = q;
                in->have_quote = true;
            } else {
                int rc = sb_azure_evidence_json_parse(b->data, b->len, &in->az, err);
                if (rc < 0) return sb_error_prefix(err, "%s", b->name);
                in->have_az = true;
                ENSURE(!in->hcl, err, SB_E_USAGE, "azure: %s carries an HCL report already given",
                       b->name);
                in->hcl = in->az.hcl;
                in->hcl_len = in->az.hcl_len;
                in->version = in->az.version;
                in->quote = in->az.quote;
                in->have_quote = true;
                TRY(add_cert(in, "vcek (evidence)", in->az.vcek, in->az.vcek_len, err));
            }
        } else if (b->len >= 16 && b->data[2] == 0 && b->data[3] == 0 && b->data[4] == 0 &&
                   b->len > 512) {
            ENSURE(!in->have_quote && !in->have_az, err, SB_E_USAGE, "azure: two quote files (%s)",
                   b->name);
            int rc = sb_tpm_bincode_quote_parse(b->data, b->len, &in->quote, err);
            if (rc < 0) return sb_error_prefix(err, "%s", b->name);
            in->have_quote = true;
        } else if (b->len == 256 || b->len == 384 || b->len == 512) {
            ENSURE(!in->bare_sig, err, SB_E_USAGE, "azure: two signature files (%s)", b->name);
            in->bare_sig = b->data;
            in->bare_sig_len = b->len;
        } else {
            BAIL(err, SB_E_UNSUPPORTED, "azure: %s is not an HCL report, quote or certificate",
                 b->name);
        }
    }
    ENSURE(in->hcl, err, SB_E_USAGE, "azure: no HCL report given");
    ENSURE(!in->bare_msg == !in->bare_sig, err, SB_E_USAGE,
           "azure: a bare quote needs both its TPMS_ATTEST and its signature file");
    ENSURE(!(in->bare_msg && in->have_quote), err, SB_E_USAGE, "azure: two quotes given");
    if (in->bare_msg) {
        in->quote = (struct sb_tpm_evidence){.format = "azure-tpm-quote", .n_quotes = 1};
        in->quote.quotes[0] = (struct sb_tpm_quote_ev){
            .attest = in->bare_msg,
            .attest_len = in->bare_msg_len,
            .sig = in->bare_sig,
            .sig_len = in->bare_sig_len,
            .sig_raw = true,
            .pcrs = {.alg = SB_TPM_ALG_NULL},
        };
        in->have_quote = true;
    }
    return 0;
}

/* The AK is the JWK with kid "HCLAkPub" in the runtime data's "keys". */
static int hcl_ak(const json_t *vd, sb_pubkey **out, sb_error *err) {
    const json_t *keys = json_object_get(vd, "keys");
    for (size_t i = 0; i < json_array_size(keys); i++) {
        const json_t *k = json_array_get(keys, i);
        const char *kid = json_string_value(json_object_get(k, "kid"));
        if (!kid || strcmp(kid, "HCLAkPub") != 0) continue;
        int rc = sb_pubkey_from_jwk(k, out, err);
        if (rc < 0) return sb_error_prefix(err, "azure-hcl: failed to get the AK (HCLAkPub)");
        return 0;
    }
    BAIL(err, SB_E_MALFORMED,
         "azure-hcl: failed to get the AK: the HCL runtime data has no HCLAkPub key");
}

static int set_runtime_claims(json_t *claims, const json_t *vd, const struct sb_azure_hcl *h,
                              sb_error *err) {
    json_t *pc = json_object_get(claims, "platform_claims");
    json_t *cfg = json_object_get(vd, "vm-configuration");
    json_t *ud = json_object_get(vd, "user-data");
    if (!json_is_object(pc) ||
        json_object_set_new(pc, "hcl_version", json_integer(h->version)) < 0 ||
        (json_is_object(cfg) &&
         json_object_set_new(pc, "azure_vm_configuration", json_deep_copy(cfg)) < 0) ||
        (json_is_string(ud) && json_object_set_new(pc, "hcl_user_data", json_deep_copy(ud)) < 0) ||
        json_object_set_new(pc, "ak_bound_to", json_string("snp-report")) < 0)
        BAIL(err, SB_E_INTERNAL, "azure: out of memory");
    return 0;
}

/* v2: the runtime data's user-data (hex) is the quote's extraData, zero-padded. */
static int check_user_data(const json_t *vd, const struct sb_tpm_evidence *q, sb_error *err) {
    const char *ud = json_string_value(json_object_get(vd, "user-data"));
    struct sb_tpm_attest a;
    TRY(sb_tpm_attest_parse(q->quotes[0].attest, q->quotes[0].attest_len, &a, err));
    uint8_t *b = NULL;
    size_t n = 0;
    if (!ud || sb_hex_decode(ud, strlen(ud), &b, &n, NULL) < 0)
        BAIL(err, SB_E_MALFORMED, "azure-hcl: v2 runtime data has no hex user-data");
    bool ok = n >= a.extra_data_len && memcmp(b, a.extra_data, a.extra_data_len) == 0;
    for (size_t i = a.extra_data_len; ok && i < n; i++)
        ok = b[i] == 0;
    free(b);
    if (!ok)
        BAIL(err, SB_E_SIGNATURE,
             "azure-hcl: user-data in the HCL variable data does not match report_data (the "
             "quote's extraData)");
    return 0;
}

static int azure_verify(const struct sb_verify_opts *o, const struct sb_blob *ev, size_t n_ev,
                        json_t **claims, sb_error *err) {
    ENSURE(n_ev >= 1 && n_ev <= 6, err, SB_E_USAGE, "azure: %zu evidence files", n_ev);
    struct azure_in in = {0};
    json_t *c = NULL, *vd = NULL;
    _cleanup_(pubkey_freep) sb_pubkey *ak = NULL;
    int rc = classify(ev, n_ev, &in, err);
    struct sb_azure_hcl h;
    if (rc == 0) rc = sb_azure_hcl_parse(in.hcl, in.hcl_len, &h, err);
    if (rc == 0 && h.report_type != SB_HCL_REPORT_SNP)
        rc = sb_error_set(err, SB_E_UNSUPPORTED,
                          "azure-hcl: a TDX HCL report (TDREPORT) is MAC-protected and needs the "
                          "TD quote made from it; not supported");
    if (rc < 0) goto out;
    json_error_t je;
    vd = json_loadb((const char *)h.var_data, h.var_len, JSON_REJECT_DUPLICATES, &je);
    if (!json_is_object(vd)) {
        rc = sb_error_set(err, SB_E_MALFORMED,
                          "azure-hcl: failed to get the AK: runtime data is not JSON: %s "
                          "(column %d)",
                          je.text, je.column);
        goto out;
    }
    rc = hcl_ak(vd, &ak, err);
    c = sb_claims_new("snp", "azure-hcl", o->at);
    if (rc == 0 && !c) rc = sb_error_set(err, SB_E_INTERNAL, "azure: out of memory");
    /* 1. the vTPM quote, signed by the HCL's AK: nonce, PCR digest */
    if (rc == 0 && in.have_quote) rc = sb_tpm_verify_parsed(o, &in.quote, ak, c, err);
    if (rc == 0 && in.have_quote && in.version == 2) rc = check_user_data(vd, &in.quote, err);
    /* 2. the runtime data is what the SNP report binds */
    struct sb_snp_report rep = {0};
    if (rc == 0) rc = sb_snp_report_parse(h.hw_report, SB_HCL_HW_REPORT_LEN, &rep, err);
    if (rc == 0) {
        static const enum sb_hash hashes[] = {SB_HASH_SHA256, SB_HASH_SHA384, SB_HASH_SHA512};
        enum sb_hash hh = hashes[h.hash_type - 1];
        uint8_t d[SB_HASH_MAX_LEN];
        rc = sb_hash(hh, h.var_data, h.var_len, d, err);
        if (rc == 0 && !sb_ct_equal(d, rep.report_data, sb_hash_len(hh)))
            rc = sb_error_set(err, SB_E_SIGNATURE,
                              "azure-hcl: HCL variable data digest (%s) does not match the SNP "
                              "report_data",
                              sb_hash_name(hh));
    }
    /* 3. the SNP report itself (VCEK chain to the pinned AMD root, signature, TCB) */
    uint8_t extra[SB_TPM_MAX_DATA];
    size_t extra_len = 0;
    const char *rd = c ? json_string_value(json_object_get(c, "report_data")) : NULL;
    if (rc == 0 && rd && strlen(rd) / 2 <= sizeof(extra)) {
        uint8_t *b = NULL;
        if (sb_hex_decode(rd, strlen(rd), &b, &extra_len, NULL) == 0) memcpy(extra, b, extra_len);
        free(b);
    }
    if (rc == 0) {
        /* the nonce belongs to the quote: the SNP report_data is the runtime-data hash */
        struct sb_verify_opts so = *o;
        so.nonce = NULL;
        so.nonce_len = 0;
        rc = sb_snp_verify_report(NULL, &so, h.hw_report, SB_HCL_HW_REPORT_LEN, in.certs,
                                  in.n_certs, c, err);
    }
    if (rc == 0 && rep.vmpl != 0)
        rc = sb_error_set(err, SB_E_SIGNATURE,
                          "azure-hcl: the SNP report has VMPL %u: an HCL report is made at VMPL 0",
                          rep.vmpl);
    if (rc < 0) goto out;
    /* claims: the SNP report_data is the runtime-data binding; report_data is the quote's */
    if (sb_claims_set_hex(c, "platform_claims", "snp_report_data", rep.report_data, 64) < 0 ||
        (in.have_quote ? sb_claims_set_hex(c, NULL, "report_data", extra, extra_len)
                       : sb_claims_set_str(c, NULL, "report_data", NULL)) < 0) {
        rc = sb_error_set(err, SB_E_INTERNAL, "azure: out of memory");
        goto out;
    }
    rc = set_runtime_claims(c, vd, &h, err);
    if (rc < 0) goto out;
    if (!in.have_quote)
        (void)sb_claims_warn(c, "azure: no vTPM quote given: no nonce and no PCRs are attested "
                                "(give tpm-quote JSON, quote.bin or the .msg/.sig pair)");
    if (h.padding)
        (void)sb_claims_warn(c,
                             "azure-hcl: %zu zero bytes after the %u-byte report ignored (the "
                             "vTPM NV index is fixed-size)",
                             h.padding, h.report_size);
    *claims = c;
    c = NULL;
out:
    json_decref(c);
    json_decref(vd);
    in_free(&in);
    return rc;
}

static int azure_sniff(const struct sb_blob *ev, size_t n_ev) {
    for (size_t i = 0; i < n_ev; i++) {
        if (is_hcl(&ev[i])) return 90;
        /* Every form of Trustee's evidence JSON (v0..v2) carries "vcek": anything without it
         * is not parsed here (detection runs on tens of KB of other platforms' JSON). */
        if (starts_json(&ev[i]) && sb_json_text_has_member(ev[i].data, ev[i].len, "vcek", NULL)) {
            struct sb_azure_evidence az;
            if (sb_azure_evidence_json_parse(ev[i].data, ev[i].len, &az, NULL) == 0) {
                sb_azure_evidence_free(&az);
                return 90;
            }
        }
    }
    return 0;
}

const struct sb_verifier sb_verifier_azure_snp_vtpm = {
    .name = "azure-snp-vtpm",
    .sniff = azure_sniff,
    .verify = azure_verify,
};
