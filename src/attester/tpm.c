/* tpm attester: a TPM 2.0 through tss2 ESAPI — the attestation key (an ECC P-256 restricted
 * signing primary of the endorsement hierarchy), quotes bound to the runtime data, PCR reads
 * and extends. Every command flushes what it loaded: no resource manager is assumed. */
#include <stdlib.h>
#include <string.h>
#include <tss2/tss2_esys.h>
#include <tss2/tss2_mu.h>
#include <tss2/tss2_rc.h>
#include <tss2/tss2_tctildr.h>

#include "crypto/crypto.h"
#include "evidence/evidence.h"
#include "internal.h"
#include "tpm_int.h"

#define SB_TPM_QUOTE_RETRIES 4 /* PCRs that moved between the read and the quote: try again */
#define SB_TPM_MAX_EVENT_LOG SB_EVENTLOG_MAX_LEN

int sb_tpm_rc(sb_error *err, TSS2_RC rc, const char *what) {
    /* a format-one TPM code (bit 7) carries the session or parameter number in bits 8..11 */
    if ((rc & 0xffff0000u) == 0 && (rc & TPM2_RC_FMT1) &&
        (rc & 0x3fu) == (TPM2_RC_POLICY_FAIL & 0x3fu))
        return sb_error_set(err, SB_E_POLICY, "tpm: %s: %s (0x%x)", what, Tss2_RC_Decode(rc), rc);
    return sb_error_set(err, SB_E_IO, "tpm: %s: %s (0x%x)", what, Tss2_RC_Decode(rc), rc);
}

const char *sb_tpm_bank_name(uint16_t alg) {
    switch (alg) {
    case SB_TPM_ALG_SHA1: return "sha1";
    case SB_TPM_ALG_SHA256: return "sha256";
    case SB_TPM_ALG_SHA384: return "sha384";
    case SB_TPM_ALG_SHA512: return "sha512";
    default: return NULL;
    }
}

size_t sb_tpm_bank_len(uint16_t alg) {
    switch (alg) {
    case SB_TPM_ALG_SHA1: return 20;
    case SB_TPM_ALG_SHA256: return 32;
    case SB_TPM_ALG_SHA384: return 48;
    case SB_TPM_ALG_SHA512: return 64;
    default: return 0;
    }
}

int sb_tpm_pcr_spec_parse(const char *spec, uint16_t *bank, uint32_t *pcrs, sb_error *err) {
    ENSURE(spec, err, SB_E_USAGE, "tpm: no PCR selection");
    const char *colon = strchr(spec, ':');
    size_t blen = colon ? (size_t)(colon - spec) : strlen(spec);
    static const uint16_t algs[] = {SB_TPM_ALG_SHA1, SB_TPM_ALG_SHA256, SB_TPM_ALG_SHA384,
                                    SB_TPM_ALG_SHA512};
    uint16_t b = 0;
    for (size_t i = 0; i < sizeof(algs) / sizeof(algs[0]); i++)
        if (strlen(sb_tpm_bank_name(algs[i])) == blen &&
            memcmp(sb_tpm_bank_name(algs[i]), spec, blen) == 0)
            b = algs[i];
    ENSURE(b, err, SB_E_USAGE, "tpm: PCR bank '%.*s' is not sha1, sha256, sha384 or sha512",
           (int)blen, spec);
    uint32_t m = 0;
    if (!colon) {
        m = 0xffu;
    } else {
        const char *p = colon + 1;
        ENSURE(*p, err, SB_E_USAGE, "tpm: '%s' names no PCR", spec);
        while (*p) {
            const char *comma = strchr(p, ',');
            size_t n = comma ? (size_t)(comma - p) : strlen(p);
            char num[8];
            ENSURE(n > 0 && n < sizeof(num), err, SB_E_USAGE, "tpm: bad PCR index in '%s'", spec);
            memcpy(num, p, n);
            num[n] = 0;
            uint64_t idx;
            TRY(sb_parse_u64(num, 23, &idx, err, "PCR index"));
            m |= 1u << idx;
            p += n + (comma ? 1 : 0);
            ENSURE(!comma || *p, err, SB_E_USAGE, "tpm: trailing comma in '%s'", spec);
        }
    }
    *bank = b;
    *pcrs = m;
    return 0;
}

static void tss_quiet(void) {
    /* The TSS logs TPM errors to stderr by itself; sealbox reports them through sb_error.
     * TSS2_LOG set by the operator wins. */
    (void)setenv("TSS2_LOG", "all+none", 0);
}

int sb_tpm_open(const struct sb_tpm_config *cfg, sb_tpm **out, sb_error *err) {
    ENSURE(cfg && out, err, SB_E_USAGE, "tpm: NULL argument");
    uint16_t bank = cfg->bank ? cfg->bank : SB_TPM_ALG_SHA256;
    ENSURE(sb_tpm_bank_name(bank), err, SB_E_USAGE, "tpm: PCR bank 0x%04x is not supported", bank);
    uint32_t pcrs = cfg->pcrs ? cfg->pcrs : 0xffu;
    ENSURE(pcrs < (1u << 24), err, SB_E_USAGE, "tpm: PCRs above 23 do not exist");
    tss_quiet();
    sb_tpm *t = calloc(1, sizeof(*t));
    if (!t) BAIL(err, SB_E_INTERNAL, "out of memory");
    t->bank = bank;
    t->pcrs = pcrs;
    const char *tcti = cfg->tcti ? cfg->tcti : "device:/dev/tpmrm0";
    if (cfg->event_log && !(t->event_log = strdup(cfg->event_log))) {
        sb_tpm_close(t);
        BAIL(err, SB_E_INTERNAL, "out of memory");
    }
    TSS2_RC rc = Tss2_TctiLdr_Initialize(tcti, &t->tcti);
    if (rc != TSS2_RC_SUCCESS) {
        sb_tpm_close(t);
        return sb_error_set(err, SB_E_IO, "tpm: cannot reach the TPM through tcti '%s': %s", tcti,
                            Tss2_RC_Decode(rc));
    }
    rc = Esys_Initialize(&t->esys, t->tcti, NULL);
    if (rc != TSS2_RC_SUCCESS) {
        sb_tpm_close(t);
        return sb_tpm_rc(err, rc, "Esys_Initialize");
    }
    TPMS_CAPABILITY_DATA *cap = NULL;
    rc = Esys_GetCapability(t->esys, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE,
                            TPM2_CAP_TPM_PROPERTIES, TPM2_PT_MAX_DIGEST, 1, NULL, &cap);
    if (rc != TSS2_RC_SUCCESS) {
        sb_tpm_close(t);
        return sb_tpm_rc(err, rc, "GetCapability(TPM_PT_MAX_DIGEST)");
    }
    if (cap->data.tpmProperties.count == 1 &&
        cap->data.tpmProperties.tpmProperty[0].property == TPM2_PT_MAX_DIGEST)
        t->max_digest = cap->data.tpmProperties.tpmProperty[0].value;
    Esys_Free(cap);
    if (t->max_digest < 20 || t->max_digest > 64) {
        size_t md = t->max_digest;
        sb_tpm_close(t);
        BAIL(err, SB_E_UNSUPPORTED, "tpm: TPM_PT_MAX_DIGEST %zu is not a digest size", md);
    }
    *out = t;
    return 0;
}

void sb_tpm_close(sb_tpm *t) {
    if (!t) return;
    if (t->esys) Esys_Finalize(&t->esys);
    if (t->tcti) Tss2_TctiLdr_Finalize(&t->tcti);
    free(t->event_log);
    free(t);
}

size_t sb_tpm_max_qualifying_data(const sb_tpm *t) {
    /* The TPM's TPM2B_DATA holds sizeof(TPMT_HA) = 2 + TPM_PT_MAX_DIGEST bytes (66 with
     * SHA-512); the tss2 headers size it as sizeof(TPMU_HA) = 64, so ESAPI sends at most 64. */
    size_t tpm = 2 + t->max_digest, tss = sizeof(((TPM2B_DATA *)0)->buffer);
    return tpm < tss ? tpm : tss;
}

size_t sb_tpm_binding_len(const sb_tpm *t) { return sb_tpm_max_qualifying_data(t) >= 48 ? 48 : 32; }

void sb_tpm_flush(sb_tpm *t, ESYS_TR *h) {
    if (*h != ESYS_TR_NONE) (void)Esys_FlushContext(t->esys, *h);
    *h = ESYS_TR_NONE;
}

int sb_tpm_create_primary(sb_tpm *t, ESYS_TR hierarchy, const TPM2B_PUBLIC *tmpl, ESYS_TR *out,
                          TPM2B_PUBLIC **pub, const char *what, sb_error *err) {
    TPM2B_SENSITIVE_CREATE sens = {0};
    TPM2B_DATA outside = {0};
    TPML_PCR_SELECTION creation_pcr = {0};
    TSS2_RC rc =
        Esys_CreatePrimary(t->esys, hierarchy, ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE, &sens,
                           tmpl, &outside, &creation_pcr, out, pub, NULL, NULL, NULL);
    if (rc != TSS2_RC_SUCCESS) {
        char w[64];
        (void)snprintf(w, sizeof(w), "CreatePrimary(%s)", what);
        return sb_tpm_rc(err, rc, w);
    }
    return 0;
}

/* The AK: a restricted ECDSA-P256/SHA-256 signing key, fixedTPM, generated in the TPM, whose
 * admin role needs its (empty) authValue — so a public key loaded with TPM2_LoadExternal can
 * never stand in for it in ActivateCredential. As a primary of the endorsement hierarchy it
 * is re-created identically from this template for as long as the TPM keeps its EPS. */
int sb_tpm_ak_load(sb_tpm *t, ESYS_TR *ak, TPM2B_PUBLIC **pub, sb_error *err) {
    TPM2B_PUBLIC tmpl = {
        .publicArea =
            {
                .type = TPM2_ALG_ECC,
                .nameAlg = TPM2_ALG_SHA256,
                .objectAttributes = TPMA_OBJECT_FIXEDTPM | TPMA_OBJECT_FIXEDPARENT |
                                    TPMA_OBJECT_SENSITIVEDATAORIGIN | TPMA_OBJECT_USERWITHAUTH |
                                    TPMA_OBJECT_RESTRICTED | TPMA_OBJECT_SIGN_ENCRYPT,
                .parameters.eccDetail =
                    {
                        .symmetric = {.algorithm = TPM2_ALG_NULL},
                        .curveID = TPM2_ECC_NIST_P256,
                        .kdf = {.scheme = TPM2_ALG_NULL},
                    },
            },
    };
    tmpl.publicArea.parameters.eccDetail.scheme.scheme = TPM2_ALG_ECDSA;
    tmpl.publicArea.parameters.eccDetail.scheme.details.ecdsa.hashAlg = TPM2_ALG_SHA256;
    static const char label[] = "sealbox attestation key v1";
    tmpl.publicArea.unique.ecc.x.size = (UINT16)(sizeof(label) - 1);
    memcpy(tmpl.publicArea.unique.ecc.x.buffer, label, sizeof(label) - 1);
    return sb_tpm_create_primary(t, ESYS_TR_RH_ENDORSEMENT, &tmpl, ak, pub, "AK", err);
}

int sb_tpm_ak_public(sb_tpm *t, uint8_t **pub, size_t *pub_len, uint8_t name[66], size_t *name_len,
                     sb_error *err) {
    ESYS_TR ak = ESYS_TR_NONE;
    TPM2B_PUBLIC *p = NULL;
    TPM2B_NAME *nm = NULL;
    TRY(sb_tpm_ak_load(t, &ak, &p, err));
    TSS2_RC rc = Esys_TR_GetName(t->esys, ak, &nm);
    sb_tpm_flush(t, &ak);
    int ret = 0;
    uint8_t buf[sizeof(TPMT_PUBLIC)];
    size_t off = 0;
    if (rc != TSS2_RC_SUCCESS) {
        ret = sb_tpm_rc(err, rc, "TR_GetName(AK)");
    } else if (nm->size > 66) {
        ret = sb_error_set(err, SB_E_INTERNAL, "tpm: AK name of %u bytes", nm->size);
    } else if ((rc = Tss2_MU_TPMT_PUBLIC_Marshal(&p->publicArea, buf, sizeof(buf), &off)) !=
               TSS2_RC_SUCCESS) {
        ret = sb_tpm_rc(err, rc, "marshal AK public");
    } else if (!(*pub = malloc(off))) {
        ret = sb_error_set(err, SB_E_INTERNAL, "out of memory");
    } else {
        memcpy(*pub, buf, off);
        *pub_len = off;
        memcpy(name, nm->name, nm->size);
        *name_len = nm->size;
    }
    Esys_Free(p);
    Esys_Free(nm);
    return ret;
}

static TPML_PCR_SELECTION selection(uint16_t bank, uint32_t pcrs) {
    TPML_PCR_SELECTION s = {.count = 1};
    s.pcrSelections[0].hash = bank;
    s.pcrSelections[0].sizeofSelect = 3;
    s.pcrSelections[0].pcrSelect[0] = (BYTE)(pcrs & 0xff);
    s.pcrSelections[0].pcrSelect[1] = (BYTE)((pcrs >> 8) & 0xff);
    s.pcrSelections[0].pcrSelect[2] = (BYTE)((pcrs >> 16) & 0xff);
    return s;
}

static uint32_t selected_mask(const TPMS_PCR_SELECTION *s) {
    uint32_t m = 0;
    for (unsigned i = 0; i < s->sizeofSelect && i < 3; i++)
        m |= (uint32_t)s->pcrSelect[i] << (8 * i);
    return m;
}

/* Reads every PCR of mask in bank (PCR_Read returns at most 8 digests per call). */
int sb_tpm_pcr_read(sb_tpm *t, uint16_t bank, uint32_t mask, uint8_t values[24][64],
                    uint32_t *counter, sb_error *err) {
    uint32_t left = mask;
    size_t dl = sb_tpm_bank_len(bank);
    bool first = true;
    while (left) {
        TPML_PCR_SELECTION want = selection(bank, left), *got = NULL;
        TPML_DIGEST *vals = NULL;
        UINT32 ctr = 0;
        TSS2_RC rc = Esys_PCR_Read(t->esys, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, &want, &ctr,
                                   &got, &vals);
        if (rc != TSS2_RC_SUCCESS) return sb_tpm_rc(err, rc, "PCR_Read");
        uint32_t m = got->count == 1 && got->pcrSelections[0].hash == bank
                         ? selected_mask(&got->pcrSelections[0]) & left
                         : 0;
        int ret = 0;
        if (m == 0) {
            ret = sb_error_set(err, SB_E_UNSUPPORTED,
                               "tpm: the TPM returns no %s PCR of mask 0x%06x (bank not active?)",
                               sb_tpm_bank_name(bank), left);
        } else if (!first && ctr != *counter) {
            ret = sb_error_set(err, SB_E_IO, "tpm: PCRs changed while being read");
        } else {
            size_t k = 0;
            for (unsigned i = 0; i < 24 && ret == 0; i++) {
                if (!(m & (1u << i))) continue;
                if (k >= vals->count || vals->digests[k].size != dl)
                    ret = sb_error_set(err, SB_E_IO, "tpm: PCR_Read returned a short list");
                else
                    memcpy(values[i], vals->digests[k++].buffer, dl);
            }
            left &= ~m;
        }
        *counter = ctr;
        first = false;
        Esys_Free(got);
        Esys_Free(vals);
        TRY(ret);
    }
    return 0;
}

int sb_tpm_pcr_extend(sb_tpm *t, uint16_t bank, unsigned pcr, const uint8_t *digest, size_t n,
                      sb_error *err) {
    ENSURE(t && digest, err, SB_E_USAGE, "tpm: NULL argument");
    ENSURE(sb_tpm_bank_len(bank) && n == sb_tpm_bank_len(bank), err, SB_E_USAGE,
           "tpm: a %zu-byte digest does not fit bank 0x%04x", n, bank);
    ENSURE(pcr < 24, err, SB_E_USAGE, "tpm: PCR %u does not exist", pcr);
    TPML_DIGEST_VALUES d = {.count = 1};
    d.digests[0].hashAlg = bank;
    memcpy(&d.digests[0].digest, digest, n);
    TSS2_RC rc = Esys_PCR_Extend(t->esys, ESYS_TR_PCR0 + pcr, ESYS_TR_PASSWORD, ESYS_TR_NONE,
                                 ESYS_TR_NONE, &d);
    if (rc != TSS2_RC_SUCCESS) return sb_tpm_rc(err, rc, "PCR_Extend");
    return 0;
}

static int b64_set(json_t *o, const char *key, const uint8_t *p, size_t n, sb_error *err) {
    char *s = sb_base64_encode(p, n);
    if (!s || json_object_set_new(o, key, json_string(s)) < 0) {
        free(s);
        BAIL(err, SB_E_INTERNAL, "out of memory");
    }
    free(s);
    return 0;
}

/* One quote and the PCR values it covers, read before it with the PCR update counter
 * unchanged after it, so the values are the quoted ones. */
static int quote_once(sb_tpm *t, ESYS_TR ak, const TPM2B_DATA *qd, json_t *q, bool *raced,
                      sb_error *err) {
    uint8_t values[24][64];
    uint32_t c1 = 0, c2 = 0;
    TRY(sb_tpm_pcr_read(t, t->bank, t->pcrs, values, &c1, err));
    TPML_PCR_SELECTION sel = selection(t->bank, t->pcrs);
    TPMT_SIG_SCHEME scheme;
    memset(&scheme, 0, sizeof(scheme));
    scheme.scheme = TPM2_ALG_NULL; /* the AK's own scheme */
    TPM2B_ATTEST *attest = NULL;
    TPMT_SIGNATURE *sig = NULL;
    TSS2_RC rc = Esys_Quote(t->esys, ak, ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE, qd, &scheme,
                            &sel, &attest, &sig);
    if (rc != TSS2_RC_SUCCESS) return sb_tpm_rc(err, rc, "Quote");
    uint8_t one[24][64];
    int ret = sb_tpm_pcr_read(t, t->bank, t->pcrs & (~t->pcrs + 1), one, &c2, err);
    uint8_t sbuf[sizeof(TPMT_SIGNATURE)];
    size_t soff = 0;
    if (ret == 0 &&
        (rc = Tss2_MU_TPMT_SIGNATURE_Marshal(sig, sbuf, sizeof(sbuf), &soff)) != TSS2_RC_SUCCESS)
        ret = sb_tpm_rc(err, rc, "marshal signature");
    *raced = ret == 0 && c1 != c2;
    if (ret == 0 && !*raced) {
        json_t *pv = json_object();
        ret = pv && json_object_set_new(q, "pcrs", pv) == 0
                  ? 0
                  : sb_error_set(err, SB_E_INTERNAL, "out of memory");
        size_t dl = sb_tpm_bank_len(t->bank);
        for (unsigned i = 0; i < 24 && ret == 0; i++) {
            if (!(t->pcrs & (1u << i))) continue;
            char key[4], hex[129];
            (void)snprintf(key, sizeof(key), "%u", i);
            sb_hex_encode(values[i], dl, hex);
            if (json_object_set_new(pv, key, json_string(hex)) < 0)
                ret = sb_error_set(err, SB_E_INTERNAL, "out of memory");
        }
        if (ret == 0 && json_object_set_new(q, "bank", json_string(sb_tpm_bank_name(t->bank))) < 0)
            ret = sb_error_set(err, SB_E_INTERNAL, "out of memory");
        if (ret == 0) ret = b64_set(q, "attest", attest->attestationData, attest->size, err);
        if (ret == 0) ret = b64_set(q, "signature", sbuf, soff, err);
    }
    Esys_Free(attest);
    Esys_Free(sig);
    return ret;
}

int sb_tpm_quote(sb_tpm *t, const uint8_t *qualifying, size_t n, json_t **evidence, sb_error *err) {
    ENSURE(t && evidence && (qualifying || n == 0), err, SB_E_USAGE, "tpm: NULL argument");
    ENSURE(n <= sb_tpm_max_qualifying_data(t), err, SB_E_USAGE,
           "tpm: qualifyingData of %zu bytes: this TPM takes at most %zu", n,
           sb_tpm_max_qualifying_data(t));
    TPM2B_DATA qd = {.size = (UINT16)n};
    if (n) memcpy(qd.buffer, qualifying, n);
    json_t *ev = json_object(), *quotes = json_array();
    if (!ev || !quotes || json_object_set_new(ev, "sealbox-tpm", json_integer(1)) < 0 ||
        json_object_set_new(ev, "quotes", quotes) < 0) {
        json_decref(ev);
        BAIL(err, SB_E_INTERNAL, "out of memory");
    }
    ESYS_TR ak = ESYS_TR_NONE;
    TPM2B_PUBLIC *pub = NULL;
    int ret = sb_tpm_ak_load(t, &ak, &pub, err);
    if (ret == 0) {
        uint8_t buf[sizeof(TPMT_PUBLIC)];
        size_t off = 0;
        TSS2_RC rc = Tss2_MU_TPMT_PUBLIC_Marshal(&pub->publicArea, buf, sizeof(buf), &off);
        ret = rc == TSS2_RC_SUCCESS ? b64_set(ev, "ak", buf, off, err)
                                    : sb_tpm_rc(err, rc, "marshal AK public");
    }
    json_t *q = NULL;
    for (int tries = 0; ret == 0; tries++) {
        bool raced = false;
        json_decref(q);
        q = json_object();
        if (!q) {
            ret = sb_error_set(err, SB_E_INTERNAL, "out of memory");
            break;
        }
        ret = quote_once(t, ak, &qd, q, &raced, err);
        if (ret == 0 && !raced) break;
        if (ret == 0 && tries + 1 >= SB_TPM_QUOTE_RETRIES)
            ret = sb_error_set(err, SB_E_IO, "tpm: the PCRs kept changing during %d quote attempts",
                               tries + 1);
    }
    sb_tpm_flush(t, &ak);
    Esys_Free(pub);
    if (ret == 0 && json_array_append_new(quotes, q) < 0)
        ret = sb_error_set(err, SB_E_INTERNAL, "out of memory");
    else if (ret < 0)
        json_decref(q);
    if (ret == 0 && t->event_log) {
        uint8_t *log = NULL;
        size_t loglen = 0;
        ret = sb_read_file(t->event_log, SB_TPM_MAX_EVENT_LOG, &log, &loglen, err);
        if (ret < 0) (void)sb_error_prefix(err, "tpm: event log %s", t->event_log);
        if (ret == 0) ret = b64_set(ev, "eventlog", log, loglen, err);
        free(log);
    }
    if (ret < 0) {
        json_decref(ev);
        return ret;
    }
    *evidence = ev;
    return 0;
}

/* ---- the attester ---------------------------------------------------------------------- */

static int tpm_evidence(sb_attester *a, const uint8_t report_data[SB_REPORT_DATA_LEN],
                        const json_t *runtime_data, json_t **evidence, sb_error *err) {
    (void)runtime_data;
    sb_tpm *t = a->state;
    /* report_data is the 48-byte binding digest zero-padded: the quote carries its first
     * sb_tpm_binding_len bytes (all 48 unless the TPM is SHA-256-only). */
    return sb_tpm_quote(t, report_data, sb_tpm_binding_len(t), evidence, err);
}

static void tpm_free(sb_attester *a) { sb_tpm_close(a->state); }

static const struct sb_attester_ops tpm_ops = {
    .evidence = tpm_evidence,
    .free = tpm_free,
};

int sb_attester_open_tpm(const struct sb_tpm_config *cfg, sb_attester **out, sb_error *err) {
    sb_tpm *t = NULL;
    TRY(sb_tpm_open(cfg, &t, err));
    int rc = sb_attester_make(&tpm_ops, "tpm", t, out, err);
    if (rc < 0) sb_tpm_close(t);
    return rc;
}
