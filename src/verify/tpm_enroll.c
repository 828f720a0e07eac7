/* tpm enroll (verifier side): the EK certificate against the pinned EK CAs, MakeCredential on
 * OpenSSL primitives (TPM 2.0 Part 1 §24), and the registry of enrolled AKs — one JSON record
 * per AK name in a directory — that turns a quote's AK into a proven TPM key. */
#include <errno.h>
#include <string.h>
#include <sys/stat.h>

#include "verify.h"

#define ENROLL_RECORD_MAX (16u << 10)

static void cert_freep(sb_cert **c) { sb_cert_free(*c); }
static void pubkey_freep(sb_pubkey **k) { sb_pubkey_free(*k); }

int sb_tpm_public_name(const struct sb_tpm_public *pub, uint8_t *out, size_t *len, sb_error *err) {
    enum sb_hash h;
    if (sb_tpm_hash_of_alg(pub->name_alg, &h) < 0)
        BAIL(err, SB_E_UNSUPPORTED, "tpm: nameAlg 0x%04x is not supported", pub->name_alg);
    out[0] = (uint8_t)(pub->name_alg >> 8);
    out[1] = (uint8_t)pub->name_alg;
    TRY(sb_hash(h, pub->encoded, pub->encoded_len, out + 2, err));
    *len = 2 + sb_hash_len(h);
    return 0;
}

int sb_tpm_ek_trust_load(const uint8_t *pem, size_t n, int64_t at, struct sb_tpm_ek_trust *out,
                         sb_error *err) {
    sb_cert **v = NULL;
    size_t count = 0;
    TRY(sb_certs_from_pem(pem, n, SB_VERIFY_MAX_FILES, &v, &count, err));
    struct sb_tpm_ek_trust t = {.at = at};
    t.roots = calloc(count ? count : 1, sizeof(*t.roots));
    t.inter = calloc(count ? count : 1, sizeof(*t.inter));
    if (!t.roots || !t.inter) {
        sb_certs_free(v, count);
        sb_tpm_ek_trust_clear(&t);
        BAIL(err, SB_E_INTERNAL, "out of memory");
    }
    for (size_t i = 0; i < count; i++) {
        if (sb_cert_check_signed_by(v[i], v[i], NULL) == 0)
            t.roots[t.n_roots++] = v[i];
        else
            t.inter[t.n_inter++] = v[i];
        v[i] = NULL;
    }
    free(v);
    if (t.n_roots == 0) {
        sb_tpm_ek_trust_clear(&t);
        BAIL(err, SB_E_CHAIN, "tpm: the EK CA bundle holds no self-signed root");
    }
    *out = t;
    return 0;
}

void sb_tpm_ek_trust_clear(struct sb_tpm_ek_trust *t) {
    if (!t) return;
    for (size_t i = 0; i < t->n_roots; i++)
        sb_cert_free(t->roots[i]);
    for (size_t i = 0; i < t->n_inter; i++)
        sb_cert_free(t->inter[i]);
    free(t->roots);
    free(t->inter);
    *t = (struct sb_tpm_ek_trust){0};
}

void sb_tpm_enrollment_clear(struct sb_tpm_enrollment *e) {
    if (!e) return;
    json_decref(e->challenge);
    json_decref(e->record);
    sb_wipe(e, sizeof(*e));
}

/* A base64 member of the request, decoded, at most max bytes. */
static int req_bytes(const json_t *req, const char *key, size_t max, uint8_t **out, size_t *n,
                     sb_error *err) {
    const json_t *v = json_object_get(req, key);
    ENSURE(json_is_string(v), err, SB_E_MALFORMED, "tpm enroll: request.%s: expected base64", key);
    ENSURE(json_string_length(v) <= 4 * (max / 3 + 1), err, SB_E_LIMIT,
           "tpm enroll: request.%s is over the limit of %zu bytes", key, max);
    int rc = sb_base64_decode(json_string_value(v), json_string_length(v), false, out, n, err);
    if (rc < 0) return sb_error_prefix(err, "tpm enroll: request.%s", key);
    if (*n > max || *n == 0) {
        free(*out);
        *out = NULL;
        BAIL(err, SB_E_LIMIT, "tpm enroll: request.%s of %zu bytes (1..%zu)", key, *n, max);
    }
    return 0;
}

/* The EK public area: an RSA restricted decryption key, fixed to its TPM, with an AES-CFB
 * storage cipher (the credential's), whose key is the one the certificate certifies. */
static int check_ek(const struct sb_tpm_public *ek, const sb_cert *cert, sb_pubkey **ekkey,
                    sb_error *err) {
    uint32_t need = SB_TPMA_FIXED_TPM | SB_TPMA_FIXED_PARENT | SB_TPMA_SENSITIVE_DATA_ORIGIN |
                    SB_TPMA_RESTRICTED | SB_TPMA_DECRYPT;
    ENSURE(ek->type == SB_TPM_ALG_RSA, err, SB_E_UNSUPPORTED,
           "tpm enroll: request.ek-public is not an RSA key (ECC EKs are not supported yet)");
    ENSURE((ek->attributes & need) == need && !(ek->attributes & SB_TPMA_SIGN), err, SB_E_MALFORMED,
           "tpm enroll: request.ek-public objectAttributes 0x%08x are not an endorsement key's "
           "(fixedTPM, fixedParent, sensitiveDataOrigin, restricted, decrypt)",
           ek->attributes);
    ENSURE(ek->symmetric == 0x0006 && ek->sym_mode == 0x0043 &&
               (ek->sym_bits == 128 || ek->sym_bits == 256),
           err, SB_E_UNSUPPORTED,
           "tpm enroll: request.ek-public symmetric 0x%04x/%u/0x%04x is not AES-128/256-CFB",
           ek->symmetric, ek->sym_bits, ek->sym_mode);
    uint8_t e[4];
    uint32_t exp = ek->exponent ? ek->exponent : 65537u;
    for (int i = 0; i < 4; i++)
        e[i] = (uint8_t)(exp >> (24 - 8 * i));
    _cleanup_(pubkey_freep) sb_pubkey *k = NULL, *ck = NULL;
    TRY(sb_pubkey_from_rsa(ek->unique, ek->unique_len, e, sizeof(e), &k, err));
    TRY(sb_cert_pubkey(cert, &ck, err));
    ENSURE(sb_pubkey_equal(k, ck), err, SB_E_CHAIN,
           "tpm enroll: the EK certificate certifies another key than request.ek-public");
    *ekkey = k;
    k = NULL;
    return 0;
}

/* The AK must be a key the TPM made and will never export, that signs only what the TPM
 * itself generated (restricted), and whose admin role (ActivateCredential) needs its
 * authValue: a public key loaded with TPM2_LoadExternal has no authValue to give, so it
 * cannot answer a challenge made for its name. */
static int check_ak(const struct sb_tpm_public *ak, sb_error *err) {
    uint32_t need = SB_TPMA_FIXED_TPM | SB_TPMA_FIXED_PARENT | SB_TPMA_SENSITIVE_DATA_ORIGIN |
                    SB_TPMA_USER_WITH_AUTH | SB_TPMA_RESTRICTED | SB_TPMA_SIGN;
    if ((ak->attributes & need) != need ||
        (ak->attributes & (SB_TPMA_DECRYPT | SB_TPMA_ADMIN_WITH_POLICY)))
        BAIL(err, SB_E_POLICY,
             "tpm enroll: request.ak objectAttributes 0x%08x: an AK must be fixedTPM, "
             "fixedParent, sensitiveDataOrigin, userWithAuth, restricted, sign, and neither "
             "decrypt nor adminWithPolicy",
             ak->attributes);
    return 0;
}

static int make_credential(const sb_pubkey *ek, const struct sb_tpm_public *ekpub,
                           const uint8_t *name, size_t name_len, const uint8_t cred[32],
                           uint8_t **idobj, size_t *idlen, uint8_t **secret, size_t *secret_len,
                           sb_error *err) {
    enum sb_hash h;
    if (sb_tpm_hash_of_alg(ekpub->name_alg, &h) < 0)
        BAIL(err, SB_E_UNSUPPORTED, "tpm enroll: EK nameAlg 0x%04x", ekpub->name_alg);
    size_t hl = sb_hash_len(h), kl = ekpub->sym_bits / 8u;
    uint8_t seed[SB_HASH_MAX_LEN], symkey[32], hmackey[SB_HASH_MAX_LEN], plain[2 + 32];
    uint8_t enc[2 + 32], mac[SB_HASH_MAX_LEN], iv[16] = {0};
    static const char label[] = "IDENTITY"; /* with its zero byte */
    int rc = sb_random(seed, hl, err);
    if (rc == 0)
        rc = sb_rsa_oaep_encrypt(ek, h, label, sizeof(label), seed, hl, secret, secret_len, err);
    if (rc == 0) rc = sb_kdfa(h, seed, hl, "STORAGE", name, name_len, NULL, 0, symkey, kl, err);
    if (rc == 0) rc = sb_kdfa(h, seed, hl, "INTEGRITY", NULL, 0, NULL, 0, hmackey, hl, err);
    plain[0] = 0;
    plain[1] = 32;
    memcpy(plain + 2, cred, 32);
    if (rc == 0) rc = sb_aes_cfb(true, symkey, kl, iv, plain, sizeof(plain), enc, err);
    if (rc == 0) {
        uint8_t macin[sizeof(enc) + 2 + SB_HASH_MAX_LEN];
        memcpy(macin, enc, sizeof(enc));
        memcpy(macin + sizeof(enc), name, name_len);
        rc = sb_hmac(h, hmackey, hl, macin, sizeof(enc) + name_len, mac, err);
    }
    if (rc == 0) {
        sb_writer w;
        sb_writer_init(&w, SB_TPM_MAX_ID_OBJECT);
        (void)sb_writer_u16be(&w, (uint16_t)hl);
        (void)sb_writer_bytes(&w, mac, hl);
        (void)sb_writer_bytes(&w, enc, sizeof(enc));
        rc = sb_writer_status(&w);
        if (rc == 0 && !(*idobj = sb_writer_steal(&w, idlen))) rc = SB_E_INTERNAL;
        if (rc < 0) rc = sb_error_set(err, rc, "tpm enroll: credential blob");
        sb_writer_free(&w);
    }
    if (rc < 0 && *secret) {
        free(*secret);
        *secret = NULL;
    }
    sb_wipe(seed, sizeof(seed));
    sb_wipe(symkey, sizeof(symkey));
    sb_wipe(hmackey, sizeof(hmackey));
    sb_wipe(plain, sizeof(plain));
    return rc;
}

static int put_b64(json_t *o, const char *key, const uint8_t *p, size_t n) {
    char *s = sb_base64_encode(p, n);
    int rc = s && json_object_set_new(o, key, json_string(s)) == 0 ? 0 : SB_E_INTERNAL;
    free(s);
    return rc;
}

int sb_tpm_enroll_begin(const struct sb_tpm_ek_trust *trust, const json_t *request,
                        struct sb_tpm_enrollment *out, sb_error *err) {
    ENSURE(trust && request && out, err, SB_E_USAGE, "tpm enroll: NULL argument");
    ENSURE(json_is_object(request), err, SB_E_MALFORMED, "tpm enroll: request is not an object");
    const char *key;
    json_t *val;
    json_object_foreach((json_t *)request, key, val) {
        if (strcmp(key, "ek-cert") && strcmp(key, "ek-public") && strcmp(key, "ak"))
            BAIL(err, SB_E_MALFORMED, "tpm enroll: request has an unknown member \"%s\"", key);
    }
    struct sb_tpm_enrollment e = {0};
    uint8_t *certb = NULL, *ekb = NULL, *akb = NULL, *idobj = NULL, *secret = NULL;
    size_t certn = 0, ekn = 0, akn = 0, idn = 0, secn = 0;
    _cleanup_(cert_freep) sb_cert *cert = NULL;
    _cleanup_(pubkey_freep) sb_pubkey *ekkey = NULL;
    struct sb_tpm_public ekpub, akpub;
    uint8_t name[2 + SB_HASH_MAX_LEN], fp[32];
    size_t name_len = 0;
    int rc = req_bytes(request, "ek-cert", SB_TPM_MAX_EK_CERT, &certb, &certn, err);
    if (rc == 0) rc = req_bytes(request, "ek-public", SB_TPM_MAX_PUBLIC, &ekb, &ekn, err);
    if (rc == 0) rc = req_bytes(request, "ak", SB_TPM_MAX_PUBLIC, &akb, &akn, err);
    if (rc == 0 && (rc = sb_cert_load(certb, certn, &cert, err)) < 0)
        (void)sb_error_prefix(err, "tpm enroll: request.ek-cert");
    if (rc == 0 && (rc = sb_x509_verify_chain(cert, trust->inter, trust->n_inter, trust->roots,
                                              trust->n_roots, NULL, 0, trust->at, 0, err)) < 0)
        (void)sb_error_prefix(err, "tpm enroll: the EK certificate does not chain to the EK CA");
    if (rc == 0 && (rc = sb_tpm_public_parse(ekb, ekn, &ekpub, err)) < 0)
        (void)sb_error_prefix(err, "tpm enroll: request.ek-public");
    if (rc == 0) rc = check_ek(&ekpub, cert, &ekkey, err);
    if (rc == 0 && (rc = sb_tpm_public_parse(akb, akn, &akpub, err)) < 0)
        (void)sb_error_prefix(err, "tpm enroll: request.ak");
    if (rc == 0) rc = check_ak(&akpub, err);
    if (rc == 0) rc = sb_tpm_public_name(&akpub, name, &name_len, err);
    if (rc == 0) rc = sb_random(e.credential, sizeof(e.credential), err);
    if (rc == 0)
        rc = make_credential(ekkey, &ekpub, name, name_len, e.credential, &idobj, &idn, &secret,
                             &secn, err);
    if (rc == 0) rc = sb_cert_fingerprint(cert, SB_HASH_SHA256, fp, err);
    if (rc == 0) {
        sb_hex_encode(name, name_len, e.name_hex);
        char fph[65];
        sb_hex_encode(fp, sizeof(fp), fph);
        char *subj = sb_cert_subject(cert), *iss = sb_cert_issuer(cert);
        e.challenge = json_object();
        e.record = json_pack("{s:s, s:s, s:s, s:s}", "ak_name", e.name_hex, "ek_cert_sha256", fph,
                             "ek_subject", subj ? subj : "", "ek_issuer", iss ? iss : "");
        free(subj);
        free(iss);
        if (!e.challenge || !e.record || put_b64(e.challenge, "credential", idobj, idn) < 0 ||
            put_b64(e.challenge, "secret", secret, secn) < 0 ||
            put_b64(e.record, "ak", akb, akn) < 0)
            rc = sb_error_set(err, SB_E_INTERNAL, "out of memory");
    }
    free(certb);
    free(ekb);
    free(akb);
    free(idobj);
    free(secret);
    if (rc < 0) {
        sb_tpm_enrollment_clear(&e);
        return rc;
    }
    *out = e;
    return 0;
}

int sb_tpm_enroll_finish(const char *dir, struct sb_tpm_enrollment *e, const uint8_t *answer,
                         size_t n, int64_t now, sb_error *err) {
    ENSURE(dir && e && e->record && answer, err, SB_E_USAGE, "tpm enroll: NULL argument");
    if (n != SB_TPM_CREDENTIAL_LEN || !sb_ct_equal(answer, e->credential, n))
        BAIL(err, SB_E_SIGNATURE,
             "tpm enroll: the activated credential is wrong: AK %s is not proven to live in the "
             "TPM of the certified EK",
             e->name_hex);
    if (mkdir(dir, 0700) < 0 && errno != EEXIST)
        BAIL(err, SB_E_IO, "tpm enroll: cannot create %s: %s", dir, strerror(errno));
    char when[32];
    sb_time_format(now, when);
    if (json_object_set_new(e->record, "enrolled_at", json_string(when)) < 0)
        BAIL(err, SB_E_INTERNAL, "out of memory");
    char *text = json_dumps(e->record, JSON_SORT_KEYS | JSON_INDENT(2));
    if (!text) BAIL(err, SB_E_INTERNAL, "out of memory");
    char path[4096];
    int pn = snprintf(path, sizeof(path), "%s/%s.json", dir, e->name_hex);
    int rc = pn > 0 && (size_t)pn < sizeof(path)
                 ? sb_write_file_atomic(path, text, strlen(text), 0600, err)
                 : sb_error_set(err, SB_E_USAGE, "tpm enroll: directory path too long");
    free(text);
    return rc;
}

static bool is_name_hex(const char *s) {
    size_t n = strlen(s);
    if (n < 4 + 40 || n > 2 * (2 + SB_HASH_MAX_LEN) || n % 2) return false;
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f'))) return false;
    return true;
}

static void drop_warning(json_t *claims, const char *prefix) {
    json_t *w = json_object_get(claims, "warnings");
    for (size_t i = json_array_size(w); i-- > 0;) {
        const char *s = json_string_value(json_array_get(w, i));
        if (s && strncmp(s, prefix, strlen(prefix)) == 0) (void)json_array_remove(w, i);
    }
}

int sb_tpm_claims_apply_enrollment(const char *dir, json_t *claims, sb_error *err) {
    ENSURE(dir && claims, err, SB_E_USAGE, "tpm enroll: NULL argument");
    json_t *pc = json_object_get(claims, "platform_claims");
    const char *name = json_string_value(json_object_get(pc, "ak_name"));
    ENSURE(name, err, SB_E_USAGE,
           "tpm enroll: the claims carry no platform_claims.ak_name (not a TPM quote with its "
           "AK public area)");
    ENSURE(is_name_hex(name), err, SB_E_MALFORMED,
           "tpm enroll: platform_claims.ak_name is not a TPM name in hex");
    char path[4096];
    int pn = snprintf(path, sizeof(path), "%s/%s.json", dir, name);
    ENSURE(pn > 0 && (size_t)pn < sizeof(path), err, SB_E_USAGE, "tpm enroll: path too long");
    struct stat st;
    if (stat(path, &st) < 0) {
        if (errno != ENOENT) BAIL(err, SB_E_IO, "tpm enroll: %s: %s", path, strerror(errno));
        if (sb_claims_set_bool(claims, "platform_claims", "ak_enrolled", false) < 0)
            BAIL(err, SB_E_INTERNAL, "out of memory");
        (void)sb_claims_warn(claims,
                             "tpm: AK %s is not enrolled: no credential activation proved that "
                             "it lives in a TPM with a certified EK",
                             name);
        return 0;
    }
    uint8_t *text = NULL;
    size_t n = 0;
    TRY(sb_read_file(path, ENROLL_RECORD_MAX, &text, &n, err));
    json_error_t je;
    json_t *rec = json_loadb((const char *)text, n, 0, &je);
    free(text);
    const char *rname = json_string_value(json_object_get(rec, "ak_name"));
    bool ok = rname && strcmp(rname, name) == 0;
    json_decref(rec);
    ENSURE(ok, err, SB_E_MALFORMED, "tpm enroll: %s is not the enrollment record of AK %s", path,
           name);
    if (sb_claims_set_bool(claims, "platform_claims", "ak_enrolled", true) < 0 ||
        sb_claims_set_bool(claims, "platform_claims", "ak_certified", true) < 0)
        BAIL(err, SB_E_INTERNAL, "out of memory");
    drop_warning(claims, "tpm: AK not certified");
    return 0;
}
