/* tpm seal: a 32-byte key sealed to the TPM under PolicyPCR, and the sealed blob's format
 * ("SBTS" v1: bank, PCR mask, TPM2B_PUBLIC, TPM2B_PRIVATE), parsed through the reader. */
#include <stdlib.h>
#include <string.h>
#include <tss2/tss2_esys.h>
#include <tss2/tss2_mu.h>

#include "crypto/crypto.h"
#include "evidence/evidence.h"
#include "tpm_int.h"

#define SEALED_MAGIC 0x53425453u /* "SBTS" */
#define SEALED_VERSION 1u

int sb_tpm_sealed_parse(const uint8_t *p, size_t n, struct sb_tpm_sealed *out, sb_error *err) {
    ENSURE(n <= SB_TPM_MAX_SEALED_BLOB, err, SB_E_LIMIT,
           "tpm: sealed blob of %zu bytes is over the limit of %u", n, SB_TPM_MAX_SEALED_BLOB);
    struct sb_tpm_sealed s = {0};
    sb_reader r, pub, priv;
    sb_reader_init(&r, p, n, "tpm sealed blob", err);
    uint32_t magic;
    uint8_t version;
    TRY(sb_reader_u32be(&r, &magic, "magic"));
    ENSURE(magic == SEALED_MAGIC, err, SB_E_MALFORMED,
           "tpm sealed blob: magic 0x%08x is not \"SBTS\" (offset 0x0)", magic);
    TRY(sb_reader_u8(&r, &version, "version"));
    ENSURE(version == SEALED_VERSION, err, SB_E_UNSUPPORTED,
           "tpm sealed blob: version %u is not supported (1) (offset 0x4)", version);
    size_t at = sb_reader_offset(&r);
    TRY(sb_reader_u16be(&r, &s.bank, "bank"));
    ENSURE(s.bank == SB_TPM_ALG_SHA1 || s.bank == SB_TPM_ALG_SHA256 ||
               s.bank == SB_TPM_ALG_SHA384 || s.bank == SB_TPM_ALG_SHA512,
           err, SB_E_MALFORMED, "tpm sealed blob: bank 0x%04x at offset 0x%zx is not a PCR bank",
           s.bank, at);
    at = sb_reader_offset(&r);
    TRY(sb_reader_u32be(&r, &s.pcrs, "pcrs"));
    ENSURE(s.pcrs != 0 && s.pcrs < (1u << 24), err, SB_E_MALFORMED,
           "tpm sealed blob: PCR mask 0x%08x at offset 0x%zx selects no PCR 0..23", s.pcrs, at);
    TRY(sb_reader_sub_u16be(&r, SB_TPM_MAX_PUBLIC, &pub, "public"));
    TRY(sb_reader_sub_u16be(&r, SB_TPM_MAX_PRIVATE, &priv, "private"));
    TRY(sb_reader_end(&r, "sealed blob"));
    s.pub_len = sb_reader_remaining(&pub);
    s.priv_len = sb_reader_remaining(&priv);
    ENSURE(s.pub_len > 0 && s.priv_len > 0, err, SB_E_MALFORMED,
           "tpm sealed blob: empty public or private area");
    TRY(sb_reader_bytes(&pub, s.pub_len, &s.pub, "public"));
    TRY(sb_reader_bytes(&priv, s.priv_len, &s.priv, "private"));
    *out = s;
    return 0;
}

/* The owner hierarchy's storage primary (TCG "SRK" template, ECC P-256, AES-128-CFB). */
static int srk_load(sb_tpm *t, ESYS_TR *srk, sb_error *err) {
    TPM2B_PUBLIC tmpl = {
        .publicArea =
            {
                .type = TPM2_ALG_ECC,
                .nameAlg = TPM2_ALG_SHA256,
                .objectAttributes = TPMA_OBJECT_FIXEDTPM | TPMA_OBJECT_FIXEDPARENT |
                                    TPMA_OBJECT_SENSITIVEDATAORIGIN | TPMA_OBJECT_USERWITHAUTH |
                                    TPMA_OBJECT_NODA | TPMA_OBJECT_RESTRICTED | TPMA_OBJECT_DECRYPT,
                .parameters.eccDetail =
                    {
                        .symmetric = {.algorithm = TPM2_ALG_AES,
                                      .keyBits = {.aes = 128},
                                      .mode = {.aes = TPM2_ALG_CFB}},
                        .curveID = TPM2_ECC_NIST_P256,
                        .kdf = {.scheme = TPM2_ALG_NULL},
                    },
                .unique.ecc = {.x = {.size = 32}, .y = {.size = 32}},
            },
    };
    tmpl.publicArea.parameters.eccDetail.scheme.scheme = TPM2_ALG_NULL;
    return sb_tpm_create_primary(t, ESYS_TR_RH_OWNER, &tmpl, srk, NULL, "storage key", err);
}

static TPML_PCR_SELECTION pcr_sel(uint16_t bank, uint32_t pcrs) {
    TPML_PCR_SELECTION s = {.count = 1};
    s.pcrSelections[0].hash = bank;
    s.pcrSelections[0].sizeofSelect = 3;
    for (unsigned i = 0; i < 3; i++)
        s.pcrSelections[0].pcrSelect[i] = (BYTE)((pcrs >> (8 * i)) & 0xff);
    return s;
}

/* A session (trial or policy) with PolicyPCR over the PCRs at their current values. */
static int pcr_session(sb_tpm *t, TPM2_SE type, uint16_t bank, uint32_t pcrs, ESYS_TR *sess,
                       sb_error *err) {
    TPMT_SYM_DEF sym = {.algorithm = TPM2_ALG_NULL};
    TSS2_RC rc =
        Esys_StartAuthSession(t->esys, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE,
                              ESYS_TR_NONE, NULL, type, &sym, TPM2_ALG_SHA256, sess);
    if (rc != TSS2_RC_SUCCESS) return sb_tpm_rc(err, rc, "StartAuthSession");
    TPM2B_DIGEST none = {0};
    TPML_PCR_SELECTION sel = pcr_sel(bank, pcrs);
    rc = Esys_PolicyPCR(t->esys, *sess, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, &none, &sel);
    if (rc != TSS2_RC_SUCCESS) {
        sb_tpm_flush(t, sess);
        return sb_tpm_rc(err, rc, "PolicyPCR");
    }
    return 0;
}

int sb_tpm_seal(sb_tpm *t, const uint8_t key[32], uint16_t bank, uint32_t pcrs, uint8_t **blob,
                size_t *blob_len, sb_error *err) {
    ENSURE(t && key && blob && blob_len, err, SB_E_USAGE, "tpm seal: NULL argument");
    ENSURE(sb_tpm_bank_len(bank), err, SB_E_USAGE, "tpm seal: bank 0x%04x is not a PCR bank", bank);
    ENSURE(pcrs != 0 && pcrs < (1u << 24), err, SB_E_USAGE,
           "tpm seal: PCR mask 0x%08x selects no PCR 0..23", pcrs);
    ESYS_TR trial = ESYS_TR_NONE, srk = ESYS_TR_NONE;
    TPM2B_DIGEST *policy = NULL;
    TPM2B_PRIVATE *priv = NULL;
    TPM2B_PUBLIC *pub = NULL;
    TSS2_RC rc;
    int ret = pcr_session(t, TPM2_SE_TRIAL, bank, pcrs, &trial, err);
    if (ret == 0 && (rc = Esys_PolicyGetDigest(t->esys, trial, ESYS_TR_NONE, ESYS_TR_NONE,
                                               ESYS_TR_NONE, &policy)) != TSS2_RC_SUCCESS)
        ret = sb_tpm_rc(err, rc, "PolicyGetDigest");
    sb_tpm_flush(t, &trial);
    if (ret == 0) ret = srk_load(t, &srk, err);
    if (ret == 0) {
        /* A sealed data object: no userWithAuth (the PCR policy is the only way to unseal),
         * fixedTPM/fixedParent (it cannot be duplicated to another TPM). */
        TPM2B_PUBLIC tmpl = {
            .publicArea =
                {
                    .type = TPM2_ALG_KEYEDHASH,
                    .nameAlg = TPM2_ALG_SHA256,
                    .objectAttributes =
                        TPMA_OBJECT_FIXEDTPM | TPMA_OBJECT_FIXEDPARENT | TPMA_OBJECT_NODA,
                },
        };
        tmpl.publicArea.parameters.keyedHashDetail.scheme.scheme = TPM2_ALG_NULL;
        tmpl.publicArea.authPolicy = *policy;
        TPM2B_SENSITIVE_CREATE sens = {0};
        sens.sensitive.data.size = SB_TPM_SEALED_KEY_LEN;
        memcpy(sens.sensitive.data.buffer, key, SB_TPM_SEALED_KEY_LEN);
        TPM2B_DATA outside = {0};
        TPML_PCR_SELECTION creation_pcr = {0};
        rc = Esys_Create(t->esys, srk, ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE, &sens, &tmpl,
                         &outside, &creation_pcr, &priv, &pub, NULL, NULL, NULL);
        sb_wipe(&sens, sizeof(sens));
        if (rc != TSS2_RC_SUCCESS) ret = sb_tpm_rc(err, rc, "Create(sealed key)");
    }
    sb_tpm_flush(t, &srk);
    Esys_Free(policy);
    uint8_t buf[SB_TPM_MAX_SEALED_BLOB];
    size_t off = 0;
    if (ret == 0) {
        sb_writer w;
        sb_writer_init(&w, SB_TPM_MAX_SEALED_BLOB);
        (void)sb_writer_u32be(&w, SEALED_MAGIC);
        (void)sb_writer_u8(&w, SEALED_VERSION);
        (void)sb_writer_u16be(&w, bank);
        (void)sb_writer_u32be(&w, pcrs);
        if ((rc = Tss2_MU_TPM2B_PUBLIC_Marshal(pub, buf, sizeof(buf), &off)) == TSS2_RC_SUCCESS &&
            (rc = Tss2_MU_TPM2B_PRIVATE_Marshal(priv, buf, sizeof(buf), &off)) == TSS2_RC_SUCCESS) {
            (void)sb_writer_bytes(&w, buf, off);
            ret = sb_writer_status(&w);
            if (ret < 0)
                ret =
                    sb_error_set(err, ret, "tpm seal: blob over %u bytes", SB_TPM_MAX_SEALED_BLOB);
            if (ret == 0 && !(*blob = sb_writer_steal(&w, blob_len)))
                ret = sb_error_set(err, SB_E_INTERNAL, "out of memory");
        } else {
            ret = sb_tpm_rc(err, rc, "marshal sealed object");
        }
        sb_writer_free(&w);
    }
    Esys_Free(priv);
    Esys_Free(pub);
    return ret;
}

static int pcr_list_text(uint32_t pcrs, char *out, size_t cap) {
    size_t o = 0;
    out[0] = 0;
    for (unsigned i = 0; i < 24; i++) {
        if (!(pcrs & (1u << i))) continue;
        int n = snprintf(out + o, cap - o, "%s%u", o ? "," : "", i);
        if (n < 0 || (size_t)n >= cap - o) return -1;
        o += (size_t)n;
    }
    return 0;
}

int sb_tpm_unseal(sb_tpm *t, const uint8_t *blob, size_t blob_len, uint8_t key[32], sb_error *err) {
    ENSURE(t && blob && key, err, SB_E_USAGE, "tpm unseal: NULL argument");
    struct sb_tpm_sealed s;
    TRY(sb_tpm_sealed_parse(blob, blob_len, &s, err));
    TPM2B_PUBLIC pub = {0};
    TPM2B_PRIVATE priv = {0};
    size_t off = 0;
    TSS2_RC rc = Tss2_MU_TPMT_PUBLIC_Unmarshal(s.pub, s.pub_len, &off, &pub.publicArea);
    if (rc != TSS2_RC_SUCCESS || off != s.pub_len)
        BAIL(err, SB_E_MALFORMED, "tpm sealed blob: public area is not a TPMT_PUBLIC");
    ENSURE(pub.publicArea.type == TPM2_ALG_KEYEDHASH &&
               !(pub.publicArea.objectAttributes & TPMA_OBJECT_USERWITHAUTH),
           err, SB_E_MALFORMED,
           "tpm sealed blob: public area is not a policy-only sealed data object");
    ENSURE(s.priv_len <= sizeof(priv.buffer), err, SB_E_LIMIT,
           "tpm sealed blob: private area of %zu bytes", s.priv_len);
    pub.size = (UINT16)s.pub_len;
    priv.size = (UINT16)s.priv_len;
    memcpy(priv.buffer, s.priv, s.priv_len);

    ESYS_TR srk = ESYS_TR_NONE, obj = ESYS_TR_NONE, sess = ESYS_TR_NONE;
    TPM2B_SENSITIVE_DATA *data = NULL;
    int ret = srk_load(t, &srk, err);
    if (ret == 0 && (rc = Esys_Load(t->esys, srk, ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE,
                                    &priv, &pub, &obj)) != TSS2_RC_SUCCESS)
        ret = sb_tpm_rc(err, rc,
                        "Load(sealed key): the blob was not sealed by this TPM's storage key");
    sb_tpm_flush(t, &srk);
    if (ret == 0) ret = pcr_session(t, TPM2_SE_POLICY, s.bank, s.pcrs, &sess, err);
    if (ret == 0 && (rc = Esys_Unseal(t->esys, obj, sess, ESYS_TR_NONE, ESYS_TR_NONE, &data)) !=
                        TSS2_RC_SUCCESS) {
        char list[96];
        if (pcr_list_text(s.pcrs, list, sizeof(list)) < 0) list[0] = 0;
        ret = sb_tpm_rc(err, rc, "Unseal");
        if (ret == SB_E_POLICY)
            (void)sb_error_prefix(err,
                                  "tpm unseal: the PCR policy does not hold: %s PCRs %s are not "
                                  "what they were at sealing",
                                  sb_tpm_bank_name(s.bank) ? sb_tpm_bank_name(s.bank) : "?", list);
    }
    if (ret == 0 && data->size != SB_TPM_SEALED_KEY_LEN)
        ret = sb_error_set(err, SB_E_MALFORMED, "tpm unseal: the sealed data has %u bytes, not 32",
                           data->size);
    if (ret == 0) memcpy(key, data->buffer, SB_TPM_SEALED_KEY_LEN);
    if (data) sb_wipe(data->buffer, data->size);
    Esys_Free(data);
    sb_tpm_flush(t, &sess);
    sb_tpm_flush(t, &obj);
    return ret;
}
