/* tpm: TPM 2.0 wire structures of a quote — TPMS_ATTEST, TPMT_SIGNATURE, TPMT_PUBLIC — read
 * big-endian through the reader, every size against the Part 2 bound of its type. */
#include "evidence.h"

static bool is_hash_alg(uint16_t alg) {
    return alg == SB_TPM_ALG_SHA1 || alg == SB_TPM_ALG_SHA256 || alg == SB_TPM_ALG_SHA384 ||
           alg == SB_TPM_ALG_SHA512 || alg == SB_TPM_ALG_SM3_256;
}

/* A TPM2B: u16 size (<= max), then the bytes. */
static int tpm2b(sb_reader *r, size_t max, const uint8_t **p, uint16_t *len, const char *field) {
    sb_reader sub;
    TRY(sb_reader_sub_u16be(r, max, &sub, field));
    *len = (uint16_t)sb_reader_remaining(&sub);
    return sb_reader_bytes(&sub, *len, p, field);
}

static int hash_alg(sb_reader *r, uint16_t *out, bool allow_null, const char *field) {
    size_t at = sb_reader_offset(r);
    uint16_t alg;
    TRY(sb_reader_u16be(r, &alg, field));
    if (!is_hash_alg(alg) && !(allow_null && alg == SB_TPM_ALG_NULL))
        BAIL(r->err, SB_E_MALFORMED, "%s: %s 0x%04x at offset 0x%zx is not a hash algorithm",
             r->what, field, alg, at);
    *out = alg;
    return 0;
}

bool sb_tpm_pcr_selected(const struct sb_tpm_pcr_selection *s, unsigned idx) {
    unsigned byte = idx / 8;
    if (byte >= s->size_of_select || byte >= SB_TPM_MAX_PCR_SELECT) return false;
    return (s->select[byte] >> (idx % 8)) & 1u;
}

static int pcr_selection(sb_reader *r, struct sb_tpm_attest *a) {
    size_t at = sb_reader_offset(r);
    uint32_t count;
    TRY(sb_reader_u32be(r, &count, "pcrSelect.count"));
    if (count > SB_TPM_MAX_PCR_SELECTIONS)
        BAIL(r->err, SB_E_LIMIT, "%s: pcrSelect.count %u at offset 0x%zx is over the limit of %u",
             r->what, count, at, SB_TPM_MAX_PCR_SELECTIONS);
    for (uint32_t i = 0; i < count; i++) {
        struct sb_tpm_pcr_selection *s = &a->selections[i];
        TRY(hash_alg(r, &s->hash, false, "pcrSelections.hash"));
        at = sb_reader_offset(r);
        TRY(sb_reader_u8(r, &s->size_of_select, "pcrSelections.sizeofSelect"));
        if (s->size_of_select > SB_TPM_MAX_PCR_SELECT)
            BAIL(r->err, SB_E_LIMIT,
                 "%s: pcrSelections.sizeofSelect %u at offset 0x%zx is over the limit of %u",
                 r->what, s->size_of_select, at, SB_TPM_MAX_PCR_SELECT);
        TRY(sb_reader_copy(r, s->select, s->size_of_select, "pcrSelections.pcrSelect"));
        for (uint32_t j = 0; j < i; j++)
            if (a->selections[j].hash == s->hash)
                BAIL(r->err, SB_E_MALFORMED, "%s: bank 0x%04x selected twice (offset 0x%zx)",
                     r->what, s->hash, at);
    }
    a->n_selections = count;
    return 0;
}

int sb_tpm_attest_parse(const uint8_t *p, size_t n, struct sb_tpm_attest *out, sb_error *err) {
    struct sb_tpm_attest a = {0};
    sb_reader r;
    sb_reader_init(&r, p, n, "tpm", err);
    TRY(sb_reader_u32be(&r, &a.magic, "attest.magic"));
    if (a.magic != SB_TPM_GENERATED_VALUE)
        BAIL(err, SB_E_MALFORMED,
             "tpm: attest.magic 0x%08x is not TPM_GENERATED_VALUE 0xff544347 (offset 0x0)",
             a.magic);
    TRY(sb_reader_u16be(&r, &a.type, "attest.type"));
    if (a.type != SB_TPM_ST_ATTEST_QUOTE)
        BAIL(err, SB_E_UNSUPPORTED,
             "tpm: attest.type 0x%04x is not TPM_ST_ATTEST_QUOTE 0x8018 (offset 0x4)", a.type);
    TRY(tpm2b(&r, SB_TPM_MAX_NAME, &a.qualified_signer, &a.qualified_signer_len,
              "attest.qualifiedSigner"));
    TRY(tpm2b(&r, SB_TPM_MAX_DATA, &a.extra_data, &a.extra_data_len, "attest.extraData"));
    TRY(sb_reader_u64be(&r, &a.clock, "attest.clockInfo.clock"));
    TRY(sb_reader_u32be(&r, &a.reset_count, "attest.clockInfo.resetCount"));
    TRY(sb_reader_u32be(&r, &a.restart_count, "attest.clockInfo.restartCount"));
    size_t at = sb_reader_offset(&r);
    TRY(sb_reader_u8(&r, &a.safe, "attest.clockInfo.safe"));
    if (a.safe > 1)
        BAIL(err, SB_E_MALFORMED, "tpm: attest.clockInfo.safe %u at offset 0x%zx is not 0 or 1",
             a.safe, at);
    TRY(sb_reader_u64be(&r, &a.firmware_version, "attest.firmwareVersion"));
    TRY(pcr_selection(&r, &a));
    TRY(tpm2b(&r, SB_TPM_MAX_DIGEST, &a.pcr_digest, &a.pcr_digest_len, "attest.pcrDigest"));
    TRY(sb_reader_end(&r, "attest"));
    *out = a;
    return 0;
}

int sb_tpm_signature_parse(const uint8_t *p, size_t n, struct sb_tpm_signature *out,
                           sb_error *err) {
    struct sb_tpm_signature s = {0};
    sb_reader r;
    sb_reader_init(&r, p, n, "tpm", err);
    TRY(sb_reader_u16be(&r, &s.sig_alg, "signature.sigAlg"));
    switch (s.sig_alg) {
    case SB_TPM_ALG_RSASSA:
    case SB_TPM_ALG_RSAPSS:
        TRY(hash_alg(&r, &s.hash_alg, false, "signature.hash"));
        TRY(tpm2b(&r, SB_TPM_MAX_RSA_BYTES, &s.sig, &s.sig_len, "signature.sig"));
        if (s.sig_len == 0) BAIL(err, SB_E_MALFORMED, "tpm: signature.sig is empty");
        break;
    case SB_TPM_ALG_ECDSA:
        TRY(hash_alg(&r, &s.hash_alg, false, "signature.hash"));
        TRY(tpm2b(&r, SB_TPM_MAX_ECC_BYTES, &s.r, &s.r_len, "signature.signatureR"));
        TRY(tpm2b(&r, SB_TPM_MAX_ECC_BYTES, &s.s, &s.s_len, "signature.signatureS"));
        if (s.r_len == 0 || s.s_len == 0)
            BAIL(err, SB_E_MALFORMED, "tpm: ECDSA signature has an empty r or s");
        break;
    default:
        BAIL(err, SB_E_UNSUPPORTED,
             "tpm: signature.sigAlg 0x%04x is not RSASSA, RSAPSS or ECDSA (offset 0x0)", s.sig_alg);
    }
    TRY(sb_reader_end(&r, "signature"));
    *out = s;
    return 0;
}

/* TPMT_SYM_DEF_OBJECT: NULL, or a block cipher with keyBits and mode. */
static int sym_def(sb_reader *r, struct sb_tpm_public *k) {
    size_t at = sb_reader_offset(r);
    TRY(sb_reader_u16be(r, &k->symmetric, "public.parameters.symmetric.algorithm"));
    if (k->symmetric == SB_TPM_ALG_NULL) return 0;
    /* AES, SM4, CAMELLIA (storage keys); an attestation key has none */
    if (k->symmetric != 0x0006 && k->symmetric != 0x0013 && k->symmetric != 0x0026)
        BAIL(r->err, SB_E_UNSUPPORTED,
             "tpm: public.parameters.symmetric.algorithm 0x%04x at offset 0x%zx is not supported",
             k->symmetric, at);
    TRY(sb_reader_u16be(r, &k->sym_bits, "public.parameters.symmetric.keyBits"));
    TRY(sb_reader_u16be(r, &k->sym_mode, "public.parameters.symmetric.mode"));
    return 0;
}

/* TPMT_RSA_SCHEME / TPMT_ECC_SCHEME: the scheme, then a hash for every scheme but NULL and
 * RSAES, and a count for ECDAA. */
static int sig_scheme(sb_reader *r, struct sb_tpm_public *k) {
    size_t at = sb_reader_offset(r);
    TRY(sb_reader_u16be(r, &k->scheme, "public.parameters.scheme"));
    k->scheme_hash = SB_TPM_ALG_NULL;
    switch (k->scheme) {
    case SB_TPM_ALG_NULL:
    case 0x0015: /* RSAES */ return 0;
    case SB_TPM_ALG_RSASSA:
    case SB_TPM_ALG_RSAPSS:
    case 0x0017: /* OAEP */
    case SB_TPM_ALG_ECDSA:
    case 0x0019: /* ECDH */
    case 0x001b: /* SM2 */
    case 0x001c: /* ECSCHNORR */
    case 0x0020: /* ECMQV */
        return hash_alg(r, &k->scheme_hash, false, "public.parameters.scheme.hashAlg");
    case 0x001a: { /* ECDAA */
        uint16_t count;
        TRY(hash_alg(r, &k->scheme_hash, false, "public.parameters.scheme.hashAlg"));
        return sb_reader_u16be(r, &count, "public.parameters.scheme.count");
    }
    default:
        BAIL(r->err, SB_E_UNSUPPORTED,
             "tpm: public.parameters.scheme 0x%04x at offset 0x%zx is not supported", k->scheme,
             at);
    }
}

static int public_body(sb_reader *r, struct sb_tpm_public *k) {
    sb_reader mark = *r; /* re-read below to get the encoded span as a view */
    size_t at = sb_reader_offset(r);
    TRY(sb_reader_u16be(r, &k->type, "public.type"));
    if (k->type != SB_TPM_ALG_RSA && k->type != SB_TPM_ALG_ECC)
        BAIL(r->err, SB_E_UNSUPPORTED,
             "tpm: public.type 0x%04x at offset 0x%zx is neither RSA nor ECC", k->type, at);
    TRY(hash_alg(r, &k->name_alg, false, "public.nameAlg"));
    TRY(sb_reader_u32be(r, &k->attributes, "public.objectAttributes"));
    TRY(tpm2b(r, SB_TPM_MAX_DIGEST, &k->auth_policy, &k->auth_policy_len, "public.authPolicy"));
    TRY(sym_def(r, k));
    TRY(sig_scheme(r, k));
    if (k->type == SB_TPM_ALG_RSA) {
        at = sb_reader_offset(r);
        TRY(sb_reader_u16be(r, &k->key_bits, "public.parameters.keyBits"));
        if (k->key_bits < 1024 || k->key_bits > 8 * SB_TPM_MAX_RSA_BYTES || k->key_bits % 8)
            BAIL(r->err, SB_E_MALFORMED,
                 "tpm: public.parameters.keyBits %u at offset 0x%zx is not a supported RSA size",
                 k->key_bits, at);
        TRY(sb_reader_u32be(r, &k->exponent, "public.parameters.exponent"));
        TRY(tpm2b(r, SB_TPM_MAX_RSA_BYTES, &k->unique, &k->unique_len, "public.unique.rsa"));
        if (k->unique_len != k->key_bits / 8)
            BAIL(r->err, SB_E_MALFORMED, "tpm: public.unique.rsa holds %u bytes for a %u-bit key",
                 k->unique_len, k->key_bits);
    } else {
        TRY(sb_reader_u16be(r, &k->curve, "public.parameters.curveID"));
        uint16_t kdf_hash;
        at = sb_reader_offset(r);
        TRY(sb_reader_u16be(r, &k->kdf, "public.parameters.kdf.scheme"));
        if (k->kdf != SB_TPM_ALG_NULL) {
            /* MGF1, KDF1_SP800_56A, KDF2, KDF1_SP800_108 */
            if (k->kdf != 0x0007 && k->kdf != 0x0020 && k->kdf != 0x0021 && k->kdf != 0x0022)
                BAIL(r->err, SB_E_UNSUPPORTED,
                     "tpm: public.parameters.kdf.scheme 0x%04x at offset 0x%zx is not supported",
                     k->kdf, at);
            TRY(hash_alg(r, &kdf_hash, false, "public.parameters.kdf.hashAlg"));
        }
        TRY(tpm2b(r, SB_TPM_MAX_ECC_BYTES, &k->unique, &k->unique_len, "public.unique.ecc.x"));
        TRY(tpm2b(r, SB_TPM_MAX_ECC_BYTES, &k->y, &k->y_len, "public.unique.ecc.y"));
    }
    k->encoded_len = r->off - mark.off;
    return sb_reader_bytes(&mark, k->encoded_len, &k->encoded, "public");
}

int sb_tpm_public_parse(const uint8_t *p, size_t n, struct sb_tpm_public *out, sb_error *err) {
    if (n > SB_TPM_MAX_PUBLIC)
        BAIL(err, SB_E_LIMIT, "tpm: public area of %zu bytes is over the limit of %u", n,
             SB_TPM_MAX_PUBLIC);
    struct sb_tpm_public k = {0};
    sb_reader r;
    sb_reader_init(&r, p, n, "tpm", err);
    TRY(public_body(&r, &k));
    TRY(sb_reader_end(&r, "public"));
    *out = k;
    return 0;
}

int sb_tpm2b_public_parse(const uint8_t *p, size_t n, struct sb_tpm_public *out, sb_error *err) {
    struct sb_tpm_public k = {0};
    sb_reader r, sub;
    sb_reader_init(&r, p, n, "tpm", err);
    TRY(sb_reader_sub_u16be(&r, SB_TPM_MAX_PUBLIC, &sub, "public.size"));
    TRY(public_body(&sub, &k));
    TRY(sb_reader_end(&sub, "public"));
    TRY(sb_reader_end(&r, "TPM2B_PUBLIC"));
    *out = k;
    return 0;
}

int sb_tpm_id_object_check(const uint8_t *p, size_t n, sb_error *err) {
    sb_reader r, hmac;
    sb_reader_init(&r, p, n, "tpm", err);
    ENSURE(n <= SB_TPM_MAX_ID_OBJECT, err, SB_E_LIMIT,
           "tpm: credential of %zu bytes is over the limit of %u", n, SB_TPM_MAX_ID_OBJECT);
    TRY(sb_reader_sub_u16be(&r, SB_TPM_MAX_DIGEST, &hmac, "credential.integrityHMAC"));
    ENSURE(sb_reader_remaining(&hmac) >= 20, err, SB_E_MALFORMED,
           "tpm: credential.integrityHMAC of %zu bytes is shorter than any digest",
           sb_reader_remaining(&hmac));
    /* encIdentity: a CFB-encrypted TPM2B_DIGEST, at least its size field */
    ENSURE(sb_reader_remaining(&r) >= 2 && sb_reader_remaining(&r) <= 2 + SB_TPM_MAX_DIGEST, err,
           SB_E_MALFORMED, "tpm: credential.encIdentity of %zu bytes (offset 0x%zx)",
           sb_reader_remaining(&r), sb_reader_offset(&r));
    return 0;
}
