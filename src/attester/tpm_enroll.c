/* tpm enroll (attester side): the EK certificate and public area, the AK public area, and
 * TPM2_ActivateCredential on the verifier's challenge — the proof that the AK lives in the
 * TPM that holds the certified EK. */
#include <stdlib.h>
#include <string.h>
#include <tss2/tss2_esys.h>
#include <tss2/tss2_mu.h>

#include "evidence/evidence.h"
#include "tpm_int.h"

#define EK_CERT_NV_RSA 0x01c00002u /* TCG EK Credential Profile: RSA 2048 EK certificate */
#define EK_HANDLE_RSA 0x81010001u  /* the conventional persistent RSA EK */
#define EK_CERT_MAX 4096u
#define NV_CHUNK 512u /* below every TPM's TPM_PT_NV_BUFFER_MAX */

/* The TCG default RSA 2048 EK template (EK Credential Profile, template L-1): its policy is
 * PolicySecret(TPM_RH_ENDORSEMENT). */
static const uint8_t ek_policy_a[32] = {
    0x83, 0x71, 0x97, 0x67, 0x44, 0x84, 0xb3, 0xf8, 0x1a, 0x90, 0xcc, 0x8d, 0x46, 0xa5, 0xd7, 0x24,
    0xfd, 0x52, 0xd7, 0x6e, 0x06, 0x52, 0x0b, 0x64, 0xf2, 0xa1, 0xda, 0x1b, 0x33, 0x14, 0x69, 0xaa};

/* The RSA EK: the persistent one at 0x81010001 when it is there, else re-created from the
 * template (the same key: the EPS decides it). *persistent says which (close vs flush). */
static int ek_load(sb_tpm *t, ESYS_TR *ek, bool *persistent, TPM2B_PUBLIC **pub, sb_error *err) {
    ESYS_TR h = ESYS_TR_NONE;
    TSS2_RC rc =
        Esys_TR_FromTPMPublic(t->esys, EK_HANDLE_RSA, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, &h);
    if (rc == TSS2_RC_SUCCESS) {
        rc = Esys_ReadPublic(t->esys, h, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, pub, NULL, NULL);
        if (rc == TSS2_RC_SUCCESS && (*pub)->publicArea.type == TPM2_ALG_RSA) {
            *ek = h;
            *persistent = true;
            return 0;
        }
        if (rc == TSS2_RC_SUCCESS) Esys_Free(*pub);
        *pub = NULL;
        (void)Esys_TR_Close(t->esys, &h);
    }
    TPM2B_PUBLIC tmpl = {
        .publicArea =
            {
                .type = TPM2_ALG_RSA,
                .nameAlg = TPM2_ALG_SHA256,
                .objectAttributes = TPMA_OBJECT_FIXEDTPM | TPMA_OBJECT_FIXEDPARENT |
                                    TPMA_OBJECT_SENSITIVEDATAORIGIN | TPMA_OBJECT_ADMINWITHPOLICY |
                                    TPMA_OBJECT_RESTRICTED | TPMA_OBJECT_DECRYPT,
                .parameters.rsaDetail =
                    {
                        .symmetric = {.algorithm = TPM2_ALG_AES,
                                      .keyBits = {.aes = 128},
                                      .mode = {.aes = TPM2_ALG_CFB}},
                        .keyBits = 2048,
                        .exponent = 0,
                    },
                .unique.rsa = {.size = 256},
            },
    };
    tmpl.publicArea.parameters.rsaDetail.scheme.scheme = TPM2_ALG_NULL;
    tmpl.publicArea.authPolicy.size = sizeof(ek_policy_a);
    memcpy(tmpl.publicArea.authPolicy.buffer, ek_policy_a, sizeof(ek_policy_a));
    TRY(sb_tpm_create_primary(t, ESYS_TR_RH_ENDORSEMENT, &tmpl, ek, pub, "EK", err));
    *persistent = false;
    return 0;
}

static void ek_release(sb_tpm *t, ESYS_TR *ek, bool persistent) {
    if (persistent) {
        (void)Esys_TR_Close(t->esys, ek);
        *ek = ESYS_TR_NONE;
    } else {
        sb_tpm_flush(t, ek);
    }
}

/* The EK certificate from its NV index, read in chunks. */
static int ek_cert_read(sb_tpm *t, uint8_t **out, size_t *len, sb_error *err) {
    ESYS_TR nv = ESYS_TR_NONE;
    TSS2_RC rc = Esys_TR_FromTPMPublic(t->esys, EK_CERT_NV_RSA, ESYS_TR_NONE, ESYS_TR_NONE,
                                       ESYS_TR_NONE, &nv);
    if (rc != TSS2_RC_SUCCESS)
        BAIL(err, SB_E_NOTFOUND,
             "tpm: no RSA EK certificate in NV index 0x%08x (provision the TPM with one, e.g. "
             "swtpm_setup --create-ek-cert)",
             EK_CERT_NV_RSA);
    TPM2B_NV_PUBLIC *np = NULL;
    rc = Esys_NV_ReadPublic(t->esys, nv, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, &np, NULL);
    if (rc != TSS2_RC_SUCCESS) {
        (void)Esys_TR_Close(t->esys, &nv);
        return sb_tpm_rc(err, rc, "NV_ReadPublic(EK certificate)");
    }
    size_t size = np->nvPublic.dataSize;
    bool owner = !(np->nvPublic.attributes & TPMA_NV_AUTHREAD);
    Esys_Free(np);
    if (size == 0 || size > EK_CERT_MAX) {
        (void)Esys_TR_Close(t->esys, &nv);
        BAIL(err, SB_E_LIMIT, "tpm: EK certificate NV index of %zu bytes (1..%u)", size,
             EK_CERT_MAX);
    }
    uint8_t *buf = malloc(size);
    int ret = buf ? 0 : sb_error_set(err, SB_E_INTERNAL, "out of memory");
    for (size_t off = 0; ret == 0 && off < size;) {
        UINT16 n = (UINT16)(size - off > NV_CHUNK ? NV_CHUNK : size - off);
        TPM2B_MAX_NV_BUFFER *data = NULL;
        rc = Esys_NV_Read(t->esys, owner ? ESYS_TR_RH_OWNER : nv, nv, ESYS_TR_PASSWORD,
                          ESYS_TR_NONE, ESYS_TR_NONE, n, (UINT16)off, &data);
        if (rc != TSS2_RC_SUCCESS) {
            ret = sb_tpm_rc(err, rc, "NV_Read(EK certificate)");
        } else if (data->size != n) {
            ret = sb_error_set(err, SB_E_IO, "tpm: NV_Read returned %u of %u bytes", data->size, n);
        } else {
            memcpy(buf + off, data->buffer, n);
            off += n;
        }
        Esys_Free(data);
    }
    (void)Esys_TR_Close(t->esys, &nv);
    if (ret < 0) {
        free(buf);
        return ret;
    }
    /* The NV index may be larger than the DER certificate: keep the SEQUENCE only. */
    size_t der = size;
    if (size >= 4 && buf[0] == 0x30 && buf[1] == 0x82) {
        size_t l = ((size_t)buf[2] << 8 | buf[3]) + 4;
        if (l <= size) der = l;
    }
    *out = buf;
    *len = der;
    return 0;
}

static int b64_put(json_t *o, const char *key, const uint8_t *p, size_t n, sb_error *err) {
    char *s = sb_base64_encode(p, n);
    int rc = s && json_object_set_new(o, key, json_string(s)) == 0 ? 0 : SB_E_INTERNAL;
    free(s);
    if (rc) BAIL(err, SB_E_INTERNAL, "out of memory");
    return 0;
}

int sb_tpm_enroll_request(sb_tpm *t, json_t **request, sb_error *err) {
    ENSURE(t && request, err, SB_E_USAGE, "tpm: NULL argument");
    uint8_t *cert = NULL, *akpub = NULL, name[66];
    size_t cert_len = 0, akpub_len = 0, name_len = 0;
    TRY(ek_cert_read(t, &cert, &cert_len, err));
    ESYS_TR ek = ESYS_TR_NONE;
    bool persistent = false;
    TPM2B_PUBLIC *ekpub = NULL;
    int ret = ek_load(t, &ek, &persistent, &ekpub, err);
    if (ret == 0) ek_release(t, &ek, persistent);
    if (ret == 0) ret = sb_tpm_ak_public(t, &akpub, &akpub_len, name, &name_len, err);
    json_t *req = ret == 0 ? json_object() : NULL;
    if (ret == 0 && !req) ret = sb_error_set(err, SB_E_INTERNAL, "out of memory");
    if (ret == 0) ret = b64_put(req, "ek-cert", cert, cert_len, err);
    if (ret == 0) {
        uint8_t buf[sizeof(TPMT_PUBLIC)];
        size_t off = 0;
        TSS2_RC rc = Tss2_MU_TPMT_PUBLIC_Marshal(&ekpub->publicArea, buf, sizeof(buf), &off);
        ret = rc == TSS2_RC_SUCCESS ? b64_put(req, "ek-public", buf, off, err)
                                    : sb_tpm_rc(err, rc, "marshal EK public");
    }
    if (ret == 0) ret = b64_put(req, "ak", akpub, akpub_len, err);
    Esys_Free(ekpub);
    free(cert);
    free(akpub);
    if (ret < 0) {
        json_decref(req);
        return ret;
    }
    *request = req;
    return 0;
}

static int b64_get(const json_t *o, const char *key, size_t max, uint8_t **out, size_t *n,
                   sb_error *err) {
    const json_t *v = json_object_get(o, key);
    ENSURE(json_is_string(v), err, SB_E_MALFORMED, "tpm: challenge.%s: expected a base64 string",
           key);
    ENSURE(json_string_length(v) <= 4 * (max / 3 + 1), err, SB_E_LIMIT,
           "tpm: challenge.%s is over the limit of %zu bytes", key, max);
    int rc = sb_base64_decode(json_string_value(v), json_string_length(v), false, out, n, err);
    if (rc < 0) return sb_error_prefix(err, "tpm: challenge.%s", key);
    if (*n > max) {
        free(*out);
        *out = NULL;
        BAIL(err, SB_E_LIMIT, "tpm: challenge.%s of %zu bytes is over the limit of %zu", key, *n,
             max);
    }
    return 0;
}

int sb_tpm_enroll_activate(sb_tpm *t, const json_t *challenge, uint8_t *credential,
                           size_t *credential_len, sb_error *err) {
    ENSURE(t && challenge && credential && credential_len, err, SB_E_USAGE, "tpm: NULL argument");
    uint8_t *idobj = NULL, *secret = NULL;
    size_t idn = 0, sn = 0;
    TRY(b64_get(challenge, "credential", SB_TPM_MAX_ID_OBJECT, &idobj, &idn, err));
    int ret = b64_get(challenge, "secret", SB_TPM_MAX_SECRET, &secret, &sn, err);
    if (ret == 0) ret = sb_tpm_id_object_check(idobj, idn, err);
    if (ret < 0) {
        free(idobj);
        free(secret);
        return ret;
    }
    TPM2B_ID_OBJECT cred = {.size = (UINT16)idn};
    TPM2B_ENCRYPTED_SECRET sec = {.size = (UINT16)sn};
    memcpy(cred.credential, idobj, idn);
    memcpy(sec.secret, secret, sn);
    free(idobj);
    free(secret);

    ESYS_TR ek = ESYS_TR_NONE, ak = ESYS_TR_NONE, sess = ESYS_TR_NONE;
    bool persistent = false;
    TPM2B_PUBLIC *ekpub = NULL, *akpub = NULL;
    TPM2B_DIGEST *out = NULL;
    TPMT_SYM_DEF sym = {.algorithm = TPM2_ALG_NULL};
    TSS2_RC rc;
    ret = ek_load(t, &ek, &persistent, &ekpub, err);
    if (ret == 0) ret = sb_tpm_ak_load(t, &ak, &akpub, err);
    /* The EK's policy: PolicySecret(TPM_RH_ENDORSEMENT) in a policy session. */
    if (ret == 0 && (rc = Esys_StartAuthSession(t->esys, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE,
                                                ESYS_TR_NONE, ESYS_TR_NONE, NULL, TPM2_SE_POLICY,
                                                &sym, TPM2_ALG_SHA256, &sess)) != TSS2_RC_SUCCESS)
        ret = sb_tpm_rc(err, rc, "StartAuthSession(policy)");
    if (ret == 0 && (rc = Esys_PolicySecret(t->esys, ESYS_TR_RH_ENDORSEMENT, sess, ESYS_TR_PASSWORD,
                                            ESYS_TR_NONE, ESYS_TR_NONE, NULL, NULL, NULL, 0, NULL,
                                            NULL)) != TSS2_RC_SUCCESS)
        ret = sb_tpm_rc(err, rc, "PolicySecret(endorsement)");
    if (ret == 0 &&
        (rc = Esys_ActivateCredential(t->esys, ak, ek, ESYS_TR_PASSWORD, sess, ESYS_TR_NONE, &cred,
                                      &sec, &out)) != TSS2_RC_SUCCESS)
        ret = sb_tpm_rc(err, rc,
                        "ActivateCredential (the credential was not made for this TPM's EK and "
                        "AK)");
    if (ret == 0 && out->size > SB_TPM_MAX_CREDENTIAL)
        ret = sb_error_set(err, SB_E_MALFORMED, "tpm: activated credential of %u bytes", out->size);
    if (ret == 0) {
        memcpy(credential, out->buffer, out->size);
        *credential_len = out->size;
    }
    if (out) sb_wipe(out->buffer, out->size);
    Esys_Free(out);
    sb_tpm_flush(t, &sess);
    sb_tpm_flush(t, &ak);
    ek_release(t, &ek, persistent);
    Esys_Free(ekpub);
    Esys_Free(akpub);
    return ret;
}
