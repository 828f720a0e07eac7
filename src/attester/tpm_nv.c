/* tpm_nv: a monotonic NV counter of the TPM (TPM2_NT_COUNTER), defined on first use, whose
 * attributes are checked every time it is opened — an ordinary NV index squatting the handle
 * could be written back to any value, a counter cannot. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <tss2/tss2_esys.h>
#include <tss2/tss2_rc.h>

#include "internal.h"
#include "tpm_int.h"

#define NV_OWNER_FIRST 0x01000000u /* TPM-owner NV indexes (TCG handle registry) */
#define NV_OWNER_LAST 0x013fffffu
#define NV_COUNTER_SIZE 8u

static const TPMA_NV COUNTER_ATTRS = ((TPMA_NV)TPM2_NT_COUNTER << TPMA_NV_TPM2_NT_SHIFT) |
                                     TPMA_NV_AUTHWRITE | TPMA_NV_AUTHREAD | TPMA_NV_NO_DA;

int sb_tpm_nv_index_parse(const char *s, uint32_t *index, sb_error *err) {
    ENSURE(s && index, err, SB_E_USAGE, "tpm: NULL argument");
    errno = 0;
    char *end = NULL;
    unsigned long long v = strtoull(s, &end, 0);
    ENSURE(*s && errno == 0 && end && *end == '\0', err, SB_E_USAGE,
           "tpm: NV index '%.32s' is not a number (e.g. 0x%08x)", s, SB_TPM_NV_COUNTER_DEFAULT);
    ENSURE(v >= NV_OWNER_FIRST && v <= NV_OWNER_LAST, err, SB_E_USAGE,
           "tpm: NV index 0x%llx is outside the owner range 0x%08x-0x%08x", v, NV_OWNER_FIRST,
           NV_OWNER_LAST);
    *index = (uint32_t)v;
    return 0;
}

static bool rc_is(TSS2_RC rc, TSS2_RC code) {
    /* format-one codes carry a handle/parameter number in bits 8..11 */
    if ((rc & 0xffff0000u) != 0) return false;
    if (rc & TPM2_RC_FMT1) return (rc & 0xbfu) == (code & 0xbfu);
    return rc == code;
}

/* The ESYS handle of an existing index whose public area is that of our counter. */
static int counter_open(sb_tpm *t, uint32_t index, ESYS_TR *nv, sb_error *err) {
    *nv = ESYS_TR_NONE;
    TSS2_RC rc =
        Esys_TR_FromTPMPublic(t->esys, index, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, nv);
    if (rc_is(rc, TPM2_RC_HANDLE))
        return sb_error_set(err, SB_E_NOTFOUND, "tpm: no NV counter at index 0x%08x", index);
    if (rc != TSS2_RC_SUCCESS) return sb_tpm_rc(err, rc, "TR_FromTPMPublic(NV counter)");
    TPM2B_NV_PUBLIC *pub = NULL;
    rc = Esys_NV_ReadPublic(t->esys, *nv, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, &pub, NULL);
    if (rc != TSS2_RC_SUCCESS) {
        (void)Esys_TR_Close(t->esys, nv);
        return sb_tpm_rc(err, rc, "NV_ReadPublic(NV counter)");
    }
    TPMA_NV a = pub->nvPublic.attributes;
    uint16_t size = pub->nvPublic.dataSize;
    Esys_Free(pub);
    unsigned type = (unsigned)((a & TPMA_NV_TPM2_NT_MASK) >> TPMA_NV_TPM2_NT_SHIFT);
    if (type != TPM2_NT_COUNTER || size != NV_COUNTER_SIZE || !(a & TPMA_NV_AUTHREAD) ||
        !(a & TPMA_NV_AUTHWRITE)) {
        (void)Esys_TR_Close(t->esys, nv);
        return sb_error_set(err, SB_E_POLICY,
                            "tpm: NV index 0x%08x is not a counter sealbox can use (type %u, %u "
                            "bytes, attributes 0x%08x): another index squats it",
                            index, type, size, (unsigned)a);
    }
    return 0;
}

static int counter_define(sb_tpm *t, uint32_t index, ESYS_TR *nv, sb_error *err) {
    TPM2B_AUTH auth = {0};
    TPM2B_NV_PUBLIC pub = {.nvPublic = {.nvIndex = index,
                                        .nameAlg = TPM2_ALG_SHA256,
                                        .attributes = COUNTER_ATTRS,
                                        .authPolicy = {0},
                                        .dataSize = NV_COUNTER_SIZE}};
    TSS2_RC rc = Esys_NV_DefineSpace(t->esys, ESYS_TR_RH_OWNER, ESYS_TR_PASSWORD, ESYS_TR_NONE,
                                     ESYS_TR_NONE, &auth, &pub, nv);
    if (rc != TSS2_RC_SUCCESS) return sb_tpm_rc(err, rc, "NV_DefineSpace(counter)");
    /* A counter has no value until its first increment. */
    rc = Esys_NV_Increment(t->esys, *nv, *nv, ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE);
    if (rc != TSS2_RC_SUCCESS) {
        (void)Esys_TR_Close(t->esys, nv);
        return sb_tpm_rc(err, rc, "NV_Increment(new counter)");
    }
    return 0;
}

static int counter_value(sb_tpm *t, ESYS_TR nv, uint32_t index, uint64_t *value, sb_error *err) {
    TPM2B_MAX_NV_BUFFER *data = NULL;
    TSS2_RC rc = Esys_NV_Read(t->esys, nv, nv, ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE,
                              NV_COUNTER_SIZE, 0, &data);
    if (rc_is(rc, TPM2_RC_NV_UNINITIALIZED)) {
        /* defined but never incremented (a crash between define and increment): do it now */
        rc = Esys_NV_Increment(t->esys, nv, nv, ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE);
        if (rc != TSS2_RC_SUCCESS) return sb_tpm_rc(err, rc, "NV_Increment(uninitialized)");
        rc = Esys_NV_Read(t->esys, nv, nv, ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE,
                          NV_COUNTER_SIZE, 0, &data);
    }
    if (rc != TSS2_RC_SUCCESS) return sb_tpm_rc(err, rc, "NV_Read(counter)");
    sb_reader rd;
    sb_reader_init(&rd, data->buffer, data->size, "tpm: NV counter", err);
    int r = data->size == NV_COUNTER_SIZE
                ? sb_reader_u64be(&rd, value, "value")
                : sb_error_set(err, SB_E_MALFORMED, "tpm: NV counter 0x%08x read back %u bytes",
                               index, (unsigned)data->size);
    Esys_Free(data);
    return r;
}

int sb_tpm_counter_read(sb_tpm *t, uint32_t index, bool create, uint64_t *value, sb_error *err) {
    ENSURE(t && value, err, SB_E_USAGE, "tpm: NULL argument");
    ENSURE(index >= NV_OWNER_FIRST && index <= NV_OWNER_LAST, err, SB_E_USAGE,
           "tpm: NV index 0x%08x is outside the owner range", index);
    ESYS_TR nv = ESYS_TR_NONE;
    int r = counter_open(t, index, &nv, err);
    if (r == SB_E_NOTFOUND && create) r = counter_define(t, index, &nv, err);
    TRY(r);
    r = counter_value(t, nv, index, value, err);
    (void)Esys_TR_Close(t->esys, &nv);
    return r;
}

int sb_tpm_counter_increment(sb_tpm *t, uint32_t index, uint64_t *value, sb_error *err) {
    ENSURE(t && value, err, SB_E_USAGE, "tpm: NULL argument");
    ESYS_TR nv = ESYS_TR_NONE;
    TRY(counter_open(t, index, &nv, err));
    TSS2_RC rc = Esys_NV_Increment(t->esys, nv, nv, ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE);
    int r = rc == TSS2_RC_SUCCESS ? counter_value(t, nv, index, value, err)
                                  : sb_tpm_rc(err, rc, "NV_Increment(counter)");
    (void)Esys_TR_Close(t->esys, &nv);
    return r;
}
