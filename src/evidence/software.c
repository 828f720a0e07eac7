/* software: the sealbox software evidence JSON (docs/secrets.md, "Software evidence") — parsed
 * member by member into the signed bytes, the report_data, the key and the signature. No
 * cryptography here: src/verify/software.c checks the signature. */
#include <string.h>

#include "evidence.h"

static int hex_exact(const json_t *v, const char *field, uint8_t *out, size_t n, sb_error *err) {
    ENSURE(json_is_string(v), err, SB_E_MALFORMED, "software evidence: %s: expected a string",
           field);
    uint8_t *b = NULL;
    size_t bl = 0;
    if (json_string_length(v) != 2 * n ||
        sb_hex_decode(json_string_value(v), json_string_length(v), &b, &bl, NULL) < 0 || bl != n) {
        free(b);
        BAIL(err, SB_E_MALFORMED, "software evidence: %s: expected %zu hex digits", field, 2 * n);
    }
    sb_reader r;
    sb_reader_init(&r, b, bl, "software evidence", err);
    int rc = sb_reader_copy(&r, out, n, field);
    free(b);
    return rc;
}

static int parse_obj(json_t *j, struct sb_software_evidence *out, sb_error *err) {
    ENSURE(json_is_object(j), err, SB_E_MALFORMED, "software evidence: expected a JSON object");
    const char *k;
    json_t *v;
    json_object_foreach(j, k, v) {
        if (strcmp(k, SB_SOFTWARE_MARKER) && strcmp(k, "report_data") && strcmp(k, "key") &&
            strcmp(k, "signature"))
            BAIL(err, SB_E_MALFORMED, "software evidence: unknown member '%.64s'", k);
    }
    json_t *ver = json_object_get(j, SB_SOFTWARE_MARKER);
    ENSURE(json_is_integer(ver), err, SB_E_MALFORMED,
           "software evidence: " SB_SOFTWARE_MARKER ": expected an integer");
    ENSURE(json_integer_value(ver) == 1, err, SB_E_UNSUPPORTED,
           "software evidence: version %lld is not supported (1)",
           (long long)json_integer_value(ver));
    out->version = 1;
    TRY(hex_exact(json_object_get(j, "report_data"), "report_data", out->report_data, 64, err));
    json_t *key = json_object_get(j, "key");
    ENSURE(json_is_object(key), err, SB_E_MALFORMED, "software evidence: key: expected a JWK");
    json_t *sig = json_object_get(j, "signature");
    ENSURE(json_is_string(sig), err, SB_E_MALFORMED,
           "software evidence: signature: expected a string");
    uint8_t *sb = NULL;
    size_t sl = 0;
    if (json_string_length(sig) > 2 * SB_SOFTWARE_SIG_LEN ||
        sb_base64url_decode(json_string_value(sig), json_string_length(sig), &sb, &sl, NULL) < 0 ||
        (sl != 64 && sl != SB_SOFTWARE_SIG_LEN)) {
        free(sb);
        BAIL(err, SB_E_MALFORMED,
             "software evidence: signature: expected base64url of 64 (ES256) or %u (ES384) bytes",
             SB_SOFTWARE_SIG_LEN);
    }
    sb_reader r;
    sb_reader_init(&r, sb, sl, "software evidence", err);
    int rc = sb_reader_copy(&r, out->sig, sl, "signature");
    out->sig_len = sl;
    free(sb);
    TRY(rc);
    /* The signed bytes: everything but the signature, canonical. */
    TRY(json_object_del(j, "signature") == 0
            ? 0
            : sb_error_set(err, SB_E_INTERNAL, "software evidence: internal"));
    TRY(sb_json_canonical(j, &out->tbs, &out->tbs_len, err));
    out->key = json_incref(key);
    return 0;
}

int sb_software_evidence_parse(const uint8_t *p, size_t n, struct sb_software_evidence *out,
                               sb_error *err) {
    memset(out, 0, sizeof(*out));
    ENSURE(n <= SB_SOFTWARE_EVIDENCE_MAX, err, SB_E_LIMIT,
           "software evidence: %zu bytes (at most %u)", n, SB_SOFTWARE_EVIDENCE_MAX);
    json_error_t je;
    json_t *j = json_loadb((const char *)p, n, JSON_REJECT_DUPLICATES, &je);
    if (!j)
        BAIL(err, SB_E_MALFORMED, "software evidence: invalid JSON at offset %d: %s", je.position,
             je.text);
    int rc = parse_obj(j, out, err);
    json_decref(j);
    if (rc < 0) sb_software_evidence_clear(out);
    return rc;
}

void sb_software_evidence_clear(struct sb_software_evidence *e) {
    if (!e) return;
    json_decref(e->key);
    free(e->tbs);
    memset(e, 0, sizeof(*e));
}
