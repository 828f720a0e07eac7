/* claims: builders for the normalized claims object every platform verifier produces. */
#include <stdio.h>

#include "verify.h"

json_t *sb_claims_new(const char *platform, const char *format, int64_t at) {
    char ts[32];
    sb_time_format(at, ts);
    json_t *c =
        json_pack("{s:s, s:s, s:{}, s:n, s:{s:{}, s:n, s:[], s:n, s:n}, s:b, s:{}, "
                  "s:n, s:n, s:{}, s:{}, s:[], s:s, s:b, s:[]}",
                  "platform", platform, "format", format, "measurements", "report_data", "tcb",
                  "components", "status", "advisories", "tcb_date", "evaluation_data_number",
                  "debug", 0, "signer", "product", "init_data", "platform_identity",
                  "platform_claims", "collateral", "verified_at", ts, "insecure", 0, "warnings");
    return c;
}

static json_t *section_of(json_t *claims, const char *section) {
    if (!section) return claims;
    json_t *s = json_object_get(claims, section);
    if (!json_is_object(s)) {
        s = json_object();
        if (!s || json_object_set_new(claims, section, s) < 0) return NULL;
    }
    return s;
}

static int put(json_t *claims, const char *section, const char *key, json_t *v) {
    json_t *s = section_of(claims, section);
    if (!v || !s || json_object_set_new(s, key, v) < 0) return SB_E_INTERNAL;
    return 0;
}

int sb_claims_set_hex(json_t *claims, const char *section, const char *key, const uint8_t *p,
                      size_t n) {
    /* Claims are mostly digests: encode on the stack, and skip jansson's UTF-8 scan of what is
     * hex by construction (verifiers set dozens of these per verification). */
    char stack[2 * 128 + 1];
    char *h = n <= 128 ? stack : sb_hex_dup(p, n);
    if (!h) return SB_E_INTERNAL;
    if (h == stack) sb_hex_encode(p, n, stack);
    json_t *v = json_stringn_nocheck(h, 2 * n);
    if (h != stack) free(h);
    return put(claims, section, key, v);
}

int sb_claims_set_int(json_t *claims, const char *section, const char *key, int64_t v) {
    return put(claims, section, key, json_integer((json_int_t)v));
}

int sb_claims_set_str(json_t *claims, const char *section, const char *key, const char *v) {
    return put(claims, section, key, v ? json_string(v) : json_null());
}

int sb_claims_set_bool(json_t *claims, const char *section, const char *key, bool v) {
    return put(claims, section, key, json_boolean(v));
}

int sb_claims_warn(json_t *claims, const char *fmt, ...) {
    char buf[1024];
    va_list ap;
    va_start(ap, fmt);
    (void)vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    json_t *w = json_object_get(claims, "warnings");
    if (!json_is_array(w) || json_array_append_new(w, json_string(buf)) < 0) return SB_E_INTERNAL;
    return 0;
}

int sb_claims_add_collateral(json_t *claims, const char *kind, const char *subject,
                             const char *issuer, int64_t not_before, int64_t not_after,
                             const char *source) {
    char nb[32], na[32];
    sb_time_format(not_before, nb);
    sb_time_format(not_after, na);
    json_t *rec = json_pack("{s:s, s:s*, s:s*, s:s*, s:s*, s:s*}", "kind", kind, "subject", subject,
                            "issuer", issuer, "not_before", not_before ? nb : NULL, "not_after",
                            not_after ? na : NULL, "source", source);
    json_t *arr = json_object_get(claims, "collateral");
    if (!rec || !json_is_array(arr) || json_array_append_new(arr, rec) < 0) return SB_E_INTERNAL;
    return 0;
}
