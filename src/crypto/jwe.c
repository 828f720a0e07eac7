/* jwe: JSON Web Encryption (RFC 7516, flattened JSON serialization) in the exact shape of
 * Trustee's KBS resource responses: A256GCM content encryption, the CEK wrapped with
 * ECDH-ES+A256KW (epk in the protected header) or RSA-OAEP-256; RSA1_5 is refused. */
#include <string.h>

#include "internal.h"

#define CEK_LEN 32
#define IV_LEN 12
#define ALG_ECDH "ECDH-ES+A256KW"
#define ALG_OAEP "RSA-OAEP-256"
#define ALG_RSA15 "RSA1_5"
#define ENC_GCM "A256GCM"

static const char *const FLAT_MEMBERS[] = {"protected",  "encrypted_key", "iv",
                                           "ciphertext", "tag",           "aad"};

/* The algorithm a TEE key asks for: ALG_ECDH or ALG_OAEP; anything else is refused here, with
 * RSA1_5 named for what it is. */
static int key_alg(const json_t *jwk, const char **alg_out, sb_error *err) {
    ENSURE(json_is_object(jwk), err, SB_E_MALFORMED, "jwe: tee-pubkey: not a JSON object");
    const char *kty = json_string_value(json_object_get(jwk, "kty"));
    const char *alg = json_string_value(json_object_get(jwk, "alg"));
    ENSURE(kty, err, SB_E_MALFORMED, "jwe: tee-pubkey: member 'kty' is missing or not a string");
    ENSURE(alg, err, SB_E_MALFORMED, "jwe: tee-pubkey: member 'alg' is missing or not a string");
    if (strcmp(kty, "EC") == 0) {
        const char *crv = json_string_value(json_object_get(jwk, "crv"));
        ENSURE(strcmp(alg, ALG_ECDH) == 0, err, SB_E_UNSUPPORTED,
               "jwe: tee-pubkey: alg '%s' for an EC key (only " ALG_ECDH ")", alg);
        ENSURE(crv && (strcmp(crv, "P-256") == 0 || strcmp(crv, "P-521") == 0), err,
               SB_E_UNSUPPORTED, "jwe: tee-pubkey: crv '%s' (P-256 or P-521)",
               crv ? crv : "(missing)");
        *alg_out = ALG_ECDH;
        return 0;
    }
    if (strcmp(kty, "RSA") == 0) {
        ENSURE(strcmp(alg, ALG_RSA15) != 0, err, SB_E_UNSUPPORTED,
               "jwe: tee-pubkey: alg RSA1_5 is refused (PKCS#1 v1.5 key transport is open to "
               "padding-oracle attacks); use " ALG_OAEP);
        ENSURE(strcmp(alg, ALG_OAEP) == 0, err, SB_E_UNSUPPORTED,
               "jwe: tee-pubkey: alg '%s' for an RSA key (only " ALG_OAEP ")", alg);
        *alg_out = ALG_OAEP;
        return 0;
    }
    BAIL(err, SB_E_UNSUPPORTED, "jwe: tee-pubkey: kty '%s' (EC or RSA)", kty);
}

int sb_jwe_check_pubkey(const json_t *jwk, sb_error *err) {
    const char *alg = NULL;
    TRY(key_alg(jwk, &alg, err));
    sb_pubkey *k = NULL;
    int rc = sb_pubkey_from_jwk(jwk, &k, err);
    sb_pubkey_free(k);
    if (rc < 0) return sb_error_prefix(err, "jwe: tee-pubkey");
    return 0;
}

/* JWA §4.6.2 OtherInfo for key agreement with key wrapping: AlgorithmID = the alg, empty
 * PartyUInfo and PartyVInfo, SuppPubInfo = the KEK length in bits. */
static void concat_otherinfo(uint8_t out[4 + sizeof(ALG_ECDH) - 1 + 12]) {
    size_t n = sizeof(ALG_ECDH) - 1, o = 0;
    out[o++] = 0;
    out[o++] = 0;
    out[o++] = 0;
    out[o++] = (uint8_t)n;
    memcpy(out + o, ALG_ECDH, n);
    o += n;
    memset(out + o, 0, 8); /* apu, apv: zero-length */
    o += 8;
    out[o++] = 0;
    out[o++] = 0;
    out[o++] = (uint8_t)((CEK_LEN * 8) >> 8);
    out[o++] = (uint8_t)((CEK_LEN * 8) & 0xff);
}

/* The KEK of ECDH-ES+A256KW from a shared secret. */
static int ecdh_kek(const sb_privkey *priv, const sb_pubkey *peer, uint8_t kek[32], sb_error *err) {
    uint8_t *z = NULL;
    size_t zlen = 0;
    TRY(sb_ecdh(priv, peer, &z, &zlen, err));
    uint8_t oi[4 + sizeof(ALG_ECDH) - 1 + 12];
    concat_otherinfo(oi);
    int rc = sb_concat_kdf(SB_HASH_SHA256, z, zlen, oi, sizeof(oi), kek, 32, err);
    sb_wipe(z, zlen);
    free(z);
    return rc;
}

static int set_b64(json_t *o, const char *name, const uint8_t *p, size_t n, sb_error *err) {
    char *s = sb_base64url_encode(p, n);
    ENSURE(s, err, SB_E_INTERNAL, "jwe: out of memory");
    int r = json_object_set_new(o, name, json_string(s));
    free(s);
    ENSURE(r == 0, err, SB_E_INTERNAL, "jwe: out of memory");
    return 0;
}

/* The ephemeral key's public JWK in Trustee's member order: crv, kty, x, y. */
static int epk_json(const sb_privkey *eph, json_t **out, sb_error *err) {
    sb_pubkey *pub = NULL;
    TRY(sb_privkey_public(eph, &pub, err));
    json_t *j = NULL;
    int rc = sb_pubkey_to_jwk(pub, &j, err);
    sb_pubkey_free(pub);
    TRY(rc);
    json_t *e = json_pack("{s:O, s:O, s:O, s:O}", "crv", json_object_get(j, "crv"), "kty",
                          json_object_get(j, "kty"), "x", json_object_get(j, "x"), "y",
                          json_object_get(j, "y"));
    json_decref(j);
    ENSURE(e, err, SB_E_INTERNAL, "jwe: out of memory");
    *out = e;
    return 0;
}

int sb_jwe_encrypt(const json_t *tee_pubkey, const uint8_t *pt, size_t n, json_t **out,
                   sb_error *err) {
    ENSURE(pt || n == 0, err, SB_E_USAGE, "jwe: NULL plaintext");
    ENSURE(n <= SB_JWE_PLAINTEXT_MAX, err, SB_E_LIMIT, "jwe: plaintext of %zu bytes (max %u)", n,
           SB_JWE_PLAINTEXT_MAX);
    const char *alg = NULL;
    TRY(key_alg(tee_pubkey, &alg, err));
    sb_pubkey *peer = NULL;
    int rc = sb_pubkey_from_jwk(tee_pubkey, &peer, err);
    if (rc < 0) return sb_error_prefix(err, "jwe: tee-pubkey");

    uint8_t *cek = sb_secret_alloc(CEK_LEN + 32);
    uint8_t *ek = NULL, ekbuf[CEK_LEN + 8];
    size_t eklen = 0;
    json_t *hdr = NULL, *res = NULL;
    uint8_t *ct = NULL;
    char *hdr_s = NULL, *prot = NULL;
    rc = cek ? sb_random(cek, CEK_LEN, err) : sb_error_set(err, SB_E_INTERNAL, "out of memory");
    if (rc == 0) {
        hdr = json_pack("{s:s, s:s}", "alg", alg, "enc", ENC_GCM);
        if (!hdr) rc = sb_error_set(err, SB_E_INTERNAL, "jwe: out of memory");
    }
    if (rc == 0 && strcmp(alg, ALG_ECDH) == 0) {
        sb_privkey *eph = NULL;
        uint8_t *kek = cek + CEK_LEN;
        rc = sb_privkey_generate_ec((enum sb_curve)sb_pubkey_curve(peer), &eph, err);
        if (rc == 0) rc = ecdh_kek(eph, peer, kek, err);
        if (rc == 0) rc = sb_aes_kw_wrap(kek, 32, cek, CEK_LEN, ekbuf, err);
        json_t *epk = NULL;
        if (rc == 0) rc = epk_json(eph, &epk, err);
        if (rc == 0 && json_object_set_new(hdr, "epk", epk) < 0)
            rc = sb_error_set(err, SB_E_INTERNAL, "jwe: out of memory");
        sb_privkey_free(eph);
        ek = ekbuf;
        eklen = sizeof(ekbuf);
    } else if (rc == 0) {
        rc = sb_rsa_oaep256_encrypt(peer, cek, CEK_LEN, &ek, &eklen, err);
    }
    /* AAD = ASCII(BASE64URL(UTF8(protected header))) (RFC 7516 §5.1 step 14). */
    if (rc == 0) {
        hdr_s = json_dumps(hdr, JSON_COMPACT | JSON_PRESERVE_ORDER);
        prot = hdr_s ? sb_base64url_encode((const uint8_t *)hdr_s, strlen(hdr_s)) : NULL;
        if (!prot) rc = sb_error_set(err, SB_E_INTERNAL, "jwe: out of memory");
    }
    uint8_t iv[IV_LEN], tag[SB_GCM_TAG_LEN];
    if (rc == 0) rc = sb_random(iv, sizeof(iv), err);
    if (rc == 0) {
        ct = malloc(n ? n : 1);
        if (!ct) rc = sb_error_set(err, SB_E_INTERNAL, "jwe: out of memory");
    }
    if (rc == 0)
        rc = sb_aes256gcm_seal(cek, iv, sizeof(iv), (const uint8_t *)prot, strlen(prot), pt, n, ct,
                               tag, err);
    if (rc == 0) {
        res = json_pack("{s:s}", "protected", prot);
        if (!res) rc = sb_error_set(err, SB_E_INTERNAL, "jwe: out of memory");
    }
    if (rc == 0) rc = set_b64(res, "encrypted_key", ek, eklen, err);
    if (rc == 0) rc = set_b64(res, "iv", iv, sizeof(iv), err);
    if (rc == 0) rc = set_b64(res, "ciphertext", ct, n, err);
    if (rc == 0) rc = set_b64(res, "tag", tag, sizeof(tag), err);
    if (cek) sb_secret_free(cek, CEK_LEN + 32);
    if (ek != ekbuf) free(ek);
    sb_wipe(ekbuf, sizeof(ekbuf));
    free(ct);
    free(hdr_s);
    free(prot);
    json_decref(hdr);
    sb_pubkey_free(peer);
    if (rc < 0) {
        json_decref(res);
        return rc;
    }
    *out = res;
    return 0;
}

/* A base64url member of the flattened JWE, decoded; exact length when want > 0. */
static int get_member(const json_t *jwe, const char *name, size_t want, size_t max, uint8_t **out,
                      size_t *len, sb_error *err) {
    const json_t *v = json_object_get(jwe, name);
    ENSURE(json_is_string(v), err, SB_E_MALFORMED, "jwe: member '%s' is missing or not a string",
           name);
    size_t sl = json_string_length(v);
    ENSURE(sl <= (max / 3 + 1) * 4, err, SB_E_LIMIT,
           "jwe: member '%s' of %zu characters is over the limit", name, sl);
    int rc = sb_base64url_decode(json_string_value(v), sl, out, len, err);
    if (rc < 0) return sb_error_prefix(err, "jwe: member '%s'", name);
    if ((want && *len != want) || *len > max) {
        free(*out);
        *out = NULL;
        BAIL(err, SB_E_MALFORMED, "jwe: member '%s' decodes to %zu bytes (expected %zu)", name,
             *len, want ? want : max);
    }
    return 0;
}

/* Reads and checks the protected header: {"alg", "enc": "A256GCM"[, "epk"]} and nothing that
 * would change how the content is processed ("zip", "crit"). */
static int parse_header(const json_t *jwe, json_t **hdr, const char **prot_b64, sb_error *err) {
    uint8_t *raw = NULL;
    size_t n = 0;
    TRY(get_member(jwe, "protected", 0, SB_JWE_HEADER_MAX, &raw, &n, err));
    json_error_t je;
    json_t *h = json_loadb((const char *)raw, n, JSON_REJECT_DUPLICATES, &je);
    free(raw);
    if (!json_is_object(h)) {
        json_decref(h);
        BAIL(err, SB_E_MALFORMED, "jwe: protected header is not a JSON object (%s)",
             h ? "another JSON type" : je.text);
    }
    const char *enc = json_string_value(json_object_get(h, "enc"));
    int rc = 0;
    if (!enc || strcmp(enc, ENC_GCM) != 0)
        rc = sb_error_set(err, SB_E_UNSUPPORTED,
                          "jwe: protected header: enc '%s' (only " ENC_GCM ")",
                          enc ? enc : "(missing)");
    else if (json_object_get(h, "zip") || json_object_get(h, "crit"))
        rc = sb_error_set(err, SB_E_UNSUPPORTED,
                          "jwe: protected header: 'zip' and 'crit' are not supported");
    else if (!json_is_string(json_object_get(h, "alg")))
        rc = sb_error_set(err, SB_E_MALFORMED, "jwe: protected header: 'alg' is missing");
    if (rc < 0) {
        json_decref(h);
        return rc;
    }
    *hdr = h;
    *prot_b64 = json_string_value(json_object_get(jwe, "protected"));
    return 0;
}

int sb_jwe_decrypt(const sb_privkey *k, const json_t *jwe, uint8_t **pt, size_t *ptlen,
                   sb_error *err) {
    ENSURE(k, err, SB_E_USAGE, "jwe: NULL key");
    ENSURE(json_is_object(jwe), err, SB_E_MALFORMED, "jwe: not a JSON object");
    const char *key;
    json_t *val;
    json_object_foreach((json_t *)jwe, key, val) {
        bool known = false;
        for (size_t i = 0; i < SB_ARRAY_LEN(FLAT_MEMBERS); i++)
            known |= strcmp(key, FLAT_MEMBERS[i]) == 0;
        ENSURE(known, err, SB_E_UNSUPPORTED,
               "jwe: member '%s' is not supported (flattened JSON with a protected header only)",
               key);
    }
    json_t *hdr = NULL;
    const char *prot = NULL;
    TRY(parse_header(jwe, &hdr, &prot, err));
    const char *alg = json_string_value(json_object_get(hdr, "alg"));
    uint8_t *ek = NULL, *iv = NULL, *ct = NULL, *tag = NULL, *aad_x = NULL, *out = NULL;
    size_t ekn = 0, ivn = 0, ctn = 0, tagn = 0, aadn = 0;
    uint8_t *cek = sb_secret_alloc(CEK_LEN + 32);
    int rc = cek ? 0 : sb_error_set(err, SB_E_INTERNAL, "out of memory");
    if (rc == 0) rc = get_member(jwe, "encrypted_key", 0, 1024, &ek, &ekn, err);
    if (rc == 0) rc = get_member(jwe, "iv", IV_LEN, IV_LEN, &iv, &ivn, err);
    if (rc == 0) rc = get_member(jwe, "tag", SB_GCM_TAG_LEN, SB_GCM_TAG_LEN, &tag, &tagn, err);
    if (rc == 0) rc = get_member(jwe, "ciphertext", 0, SB_JWE_PLAINTEXT_MAX, &ct, &ctn, err);
    if (rc == 0 && strcmp(alg, ALG_ECDH) == 0) {
        sb_pubkey *epk = NULL;
        const json_t *e = json_object_get(hdr, "epk");
        if (sb_privkey_type(k) != SB_KEY_EC) {
            rc = sb_error_set(err, SB_E_USAGE, "jwe: alg " ALG_ECDH " needs an EC key");
        } else if (!json_is_object(e)) {
            rc = sb_error_set(err, SB_E_MALFORMED,
                              "jwe: protected header: 'epk' is missing (it must be protected)");
        } else {
            rc = sb_pubkey_from_jwk(e, &epk, err);
            if (rc < 0) (void)sb_error_prefix(err, "jwe: protected header: epk");
        }
        uint8_t *kek = cek + CEK_LEN;
        if (rc == 0) rc = ecdh_kek(k, epk, kek, err);
        if (rc == 0 && ekn != CEK_LEN + 8)
            rc = sb_error_set(err, SB_E_MALFORMED, "jwe: encrypted_key of %zu bytes (expected %d)",
                              ekn, CEK_LEN + 8);
        if (rc == 0) rc = sb_aes_kw_unwrap(kek, 32, ek, ekn, cek, err);
        sb_pubkey_free(epk);
    } else if (rc == 0 && strcmp(alg, ALG_OAEP) == 0) {
        uint8_t *c2 = NULL;
        size_t c2n = 0;
        if (sb_privkey_type(k) != SB_KEY_RSA)
            rc = sb_error_set(err, SB_E_USAGE, "jwe: alg " ALG_OAEP " needs an RSA key");
        else
            rc = sb_rsa_oaep256_decrypt(k, ek, ekn, &c2, &c2n, err);
        if (rc == 0 && c2n != CEK_LEN)
            rc = sb_error_set(err, SB_E_MALFORMED, "jwe: CEK of %zu bytes (A256GCM needs 32)", c2n);
        if (rc == 0) memcpy(cek, c2, CEK_LEN);
        if (c2) sb_wipe(c2, c2n);
        free(c2);
    } else if (rc == 0) {
        rc = sb_error_set(err, SB_E_UNSUPPORTED, "jwe: alg '%s' (" ALG_ECDH " or " ALG_OAEP ")",
                          alg);
    }
    /* AAD: the protected header's encoding, then "." and the aad member when present. */
    sb_writer aad;
    sb_writer_init(&aad, 64u << 10);
    (void)sb_writer_str(&aad, prot);
    const json_t *ax = json_object_get(jwe, "aad");
    if (rc == 0 && ax) {
        rc = get_member(jwe, "aad", 0, 32u << 10, &aad_x, &aadn, err);
        (void)sb_writer_str(&aad, ".");
        (void)sb_writer_str(&aad, json_string_value(ax));
    }
    if (rc == 0 && sb_writer_status(&aad) < 0)
        rc = sb_error_set(err, SB_E_LIMIT, "jwe: additional authenticated data too long");
    if (rc == 0) {
        out = malloc(ctn + 1);
        if (!out) rc = sb_error_set(err, SB_E_INTERNAL, "jwe: out of memory");
    }
    if (rc == 0) {
        rc = sb_aes256gcm_open(cek, iv, ivn, aad.buf, aad.len, ct, ctn, tag, out, err);
        if (rc < 0) (void)sb_error_prefix(err, "jwe: content");
    }
    sb_writer_free(&aad);
    if (cek) sb_secret_free(cek, CEK_LEN + 32);
    free(ek);
    free(iv);
    free(ct);
    free(tag);
    free(aad_x);
    json_decref(hdr);
    if (rc < 0) {
        free(out);
        return rc;
    }
    out[ctn] = 0;
    *pt = out;
    *ptlen = ctn;
    return 0;
}

int sb_jwe_tee_pubkey(const sb_privkey *k, json_t **out, sb_error *err) {
    sb_pubkey *pub = NULL;
    TRY(sb_privkey_public(k, &pub, err));
    json_t *j = NULL;
    int rc = sb_pubkey_to_jwk(pub, &j, err);
    enum sb_key_type t = sb_pubkey_type(pub);
    int crv = sb_pubkey_curve(pub);
    sb_pubkey_free(pub);
    TRY(rc);
    const char *alg = NULL;
    if (t == SB_KEY_EC && (crv == SB_CURVE_P256 || crv == SB_CURVE_P521))
        alg = ALG_ECDH;
    else if (t == SB_KEY_RSA)
        alg = ALG_OAEP;
    if (!alg) {
        json_decref(j);
        BAIL(err, SB_E_UNSUPPORTED, "jwe: a TEE key is EC P-256/P-521 or RSA");
    }
    if (json_object_set_new(j, "alg", json_string(alg)) < 0) {
        json_decref(j);
        BAIL(err, SB_E_INTERNAL, "jwe: out of memory");
    }
    *out = j;
    return 0;
}
