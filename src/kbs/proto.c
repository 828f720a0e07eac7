/* proto: the KBS protocol's untrusted inputs — auth and attest bodies checked member by member
 * (protocol version exactly 0.4.0, as Trustee's backend.rs requires), the session cookie, the
 * tee names, and the check that evidence binds the runtime data. */
#include <string.h>

#include "crypto/crypto.h"
#include "kbs.h"

/* Trustee's Tee enum (kbs_types), plus sealbox's software attester. */
static const struct {
    const char *tee, *platform;
} TEES[] = {
    {"snp", "snp"},          {"tdx", "tdx"},
    {"sgx", "sgx"},          {"az-snp-vtpm", "azure-snp-vtpm"},
    {"az-tdx-vtpm", NULL},   {"cca", NULL},
    {"csv", NULL},           {"se", NULL},
    {"hygon-dcu", NULL},     {"tpm", "tpm"},
    {"nvidia", "nvidia"},    {"sample", NULL},
    {"sample-device", NULL}, {"sealbox-software", "sealbox-software"},
};

bool sb_kbs_tee_known(const char *tee) {
    for (size_t i = 0; tee && i < SB_ARRAY_LEN(TEES); i++)
        if (strcmp(tee, TEES[i].tee) == 0) return true;
    return false;
}

const char *sb_kbs_tee_platform(const char *tee) {
    for (size_t i = 0; tee && i < SB_ARRAY_LEN(TEES); i++)
        if (strcmp(tee, TEES[i].tee) == 0) return TEES[i].platform;
    return NULL;
}

/* A semantic version number: digits without a leading zero (unless "0"). */
static bool semver_num(const char **p, unsigned long *out) {
    const char *s = *p;
    if (*s < '0' || *s > '9') return false;
    if (*s == '0' && s[1] >= '0' && s[1] <= '9') return false;
    unsigned long v = 0;
    while (*s >= '0' && *s <= '9') {
        if (v > 100000000ul) return false;
        v = v * 10 + (unsigned long)(*s - '0');
        s++;
    }
    *p = s;
    *out = v;
    return true;
}

/* Trustee parses the version with semver and matches it against "=0.4.0": a pre-release does
 * not match, build metadata is ignored, anything that is not a version is an error. */
static int check_version(const char *v, sb_error *err) {
    const char *p = v;
    unsigned long maj = 0, min = 0, pat = 0;
    bool ok = semver_num(&p, &maj) && *p++ == '.' && semver_num(&p, &min) && *p++ == '.' &&
              semver_num(&p, &pat);
    bool pre = ok && *p == '-';
    if (ok && *p == '+') {
        for (p++; *p; p++)
            if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'z') ||
                  (*p >= 'A' && *p <= 'Z') || *p == '-' || *p == '.'))
                ok = false;
    } else if (ok && *p && !pre) {
        ok = false;
    }
    ENSURE(ok, err, SB_E_MALFORMED, "auth: version: '%.40s' is not a semantic version", v);
    ENSURE(!pre && maj == 0 && min == 4 && pat == 0, err, SB_E_UNSUPPORTED,
           "KBS Client Protocol Version Mismatch: expect =" SB_KBS_PROTOCOL_VERSION
           " while the request is %.40s",
           v);
    return 0;
}

static json_t *load_object(const uint8_t *p, size_t n, size_t max, const char *what,
                           sb_error *err) {
    if (n > max) {
        (void)sb_error_set(err, SB_E_LIMIT, "%s: body of %zu bytes (max %zu)", what, n, max);
        return NULL;
    }
    json_error_t je;
    json_t *j = json_loadb((const char *)p, n, JSON_REJECT_DUPLICATES, &je);
    if (!j) {
        (void)sb_error_set(err, SB_E_MALFORMED, "%s: invalid JSON at line %d, column %d: %.100s",
                           what, je.line, je.column, je.text);
        return NULL;
    }
    if (!json_is_object(j)) {
        json_decref(j);
        (void)sb_error_set(err, SB_E_MALFORMED, "%s: the body must be a JSON object", what);
        return NULL;
    }
    return j;
}

int sb_kbs_parse_auth(const uint8_t *p, size_t n, struct sb_kbs_auth *out, sb_error *err) {
    json_t *j = load_object(p, n, SB_KBS_AUTH_MAX, "auth", err);
    if (!j) return err ? err->code : SB_E_MALFORMED;
    int rc = 0;
    const char *k;
    json_t *v;
    json_object_foreach(j, k, v) {
        if (strcmp(k, "version") && strcmp(k, "tee") && strcmp(k, "extra-params")) {
            rc = sb_error_set(err, SB_E_MALFORMED,
                              "auth: unknown member '%.40s' (version, tee, extra-params)", k);
            break;
        }
    }
    const char *ver = json_string_value(json_object_get(j, "version"));
    const char *tee = json_string_value(json_object_get(j, "tee"));
    if (rc == 0 && !ver)
        rc = sb_error_set(err, SB_E_MALFORMED, "auth: version: missing or not a string");
    if (rc == 0) rc = check_version(ver, err);
    if (rc == 0 && !tee)
        rc = sb_error_set(err, SB_E_MALFORMED, "auth: tee: missing or not a string");
    if (rc == 0 && !sb_kbs_tee_known(tee))
        rc = sb_error_set(err, SB_E_MALFORMED, "auth: tee: unknown variant '%.40s'", tee);
    if (rc == 0 && !json_object_get(j, "extra-params"))
        rc = sb_error_set(err, SB_E_MALFORMED, "auth: extra-params: missing");
    if (rc == 0) {
        memset(out, 0, sizeof(*out));
        memcpy(out->tee, tee, strlen(tee) + 1);
    }
    json_decref(j);
    return rc;
}

void sb_kbs_attest_clear(struct sb_kbs_attest *a) {
    if (!a) return;
    json_decref(a->root);
    json_decref(a->runtime_data);
    memset(a, 0, sizeof(*a));
}

/* Members of an object must come from allowed (NULL-terminated). */
static int only_members(const json_t *o, const char *const *allowed, const char *what,
                        sb_error *err) {
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)o, k, v) {
        bool ok = false;
        for (size_t i = 0; allowed[i]; i++)
            ok |= strcmp(k, allowed[i]) == 0;
        ENSURE(ok, err, SB_E_MALFORMED, "attest: %s: unknown member '%.40s'", what, k);
    }
    return 0;
}

static int parse_attest(json_t *j, struct sb_kbs_attest *a, sb_error *err) {
    static const char *const TOP[] = {"runtime-data", "tee-evidence", "init-data", NULL};
    static const char *const RD[] = {"nonce", "tee-pubkey", "sealbox-log", NULL};
    static const char *const EV[] = {"primary_evidence", "additional_evidence", "sealbox_log",
                                     NULL};
    TRY(only_members(j, TOP, "body", err));
    ENSURE(!json_object_get(j, "init-data"), err, SB_E_UNSUPPORTED,
           "attest: init-data: not supported by sealbox (its digest would go unchecked)");
    const json_t *rd = json_object_get(j, "runtime-data");
    ENSURE(json_is_object(rd), err, SB_E_MALFORMED,
           "attest: runtime-data: missing or not an object");
    TRY(only_members(rd, RD, "runtime-data", err));
    a->nonce = json_string_value(json_object_get(rd, "nonce"));
    ENSURE(a->nonce, err, SB_E_MALFORMED, "attest: runtime-data.nonce: missing or not a string");
    ENSURE(strlen(a->nonce) < 64, err, SB_E_MALFORMED, "attest: runtime-data.nonce: too long");
    a->tee_pubkey = json_object_get(rd, "tee-pubkey");
    ENSURE(a->tee_pubkey, err, SB_E_MALFORMED, "attest: runtime-data.tee-pubkey: missing");
    int rc = sb_jwe_check_pubkey(a->tee_pubkey, err);
    if (rc < 0) return sb_error_prefix(err, "attest: runtime-data");
    const json_t *ld = json_object_get(rd, "sealbox-log");
    if (ld) {
        a->log_digest = json_string_value(ld);
        ENSURE(a->log_digest && strlen(a->log_digest) < 128, err, SB_E_MALFORMED,
               "attest: runtime-data.sealbox-log: not a digest string");
    }
    const json_t *ev = json_object_get(j, "tee-evidence");
    ENSURE(json_is_object(ev), err, SB_E_MALFORMED,
           "attest: tee-evidence: missing or not an object");
    TRY(only_members(ev, EV, "tee-evidence", err));
    a->primary = json_object_get(ev, "primary_evidence");
    ENSURE(a->primary && !json_is_null(a->primary), err, SB_E_MALFORMED,
           "attest: tee-evidence.primary_evidence: missing");
    const json_t *add = json_object_get(ev, "additional_evidence");
    a->additional = add ? json_string_value(add) : "";
    ENSURE(a->additional, err, SB_E_MALFORMED,
           "attest: tee-evidence.additional_evidence: not a string");
    /* Device evidence is not verified here: accepting it would let unverified bytes into the
     * binding look like checked ones. */
    ENSURE(a->additional[0] == '\0', err, SB_E_UNSUPPORTED,
           "attest: tee-evidence.additional_evidence: composite (device) evidence is not "
           "supported by sealbox's KBS");
    a->log = json_object_get(ev, "sealbox_log");
    ENSURE(!a->log == !a->log_digest, err, SB_E_MALFORMED,
           "attest: runtime-data.sealbox-log and tee-evidence.sealbox_log come together (the "
           "digest binds the log)");
    a->runtime_data = json_pack("{s:O, s:s, s:s}", "tee-pubkey", a->tee_pubkey, "nonce", a->nonce,
                                "additional-evidence", a->additional);
    ENSURE(a->runtime_data, err, SB_E_INTERNAL, "out of memory");
    if (a->log_digest &&
        json_object_set_new(a->runtime_data, "sealbox-log", json_string(a->log_digest)) < 0)
        BAIL(err, SB_E_INTERNAL, "out of memory");
    return 0;
}

int sb_kbs_parse_attest(const uint8_t *p, size_t n, struct sb_kbs_attest *out, sb_error *err) {
    json_t *j = load_object(p, n, SB_KBS_ATTEST_MAX, "attest", err);
    if (!j) return err ? err->code : SB_E_MALFORMED;
    struct sb_kbs_attest a;
    memset(&a, 0, sizeof(a));
    a.root = j;
    int rc = parse_attest(j, &a, err);
    if (rc < 0) {
        sb_kbs_attest_clear(&a);
        return rc;
    }
    *out = a;
    return 0;
}

int sb_kbs_evidence_bytes(const json_t *primary, uint8_t **out, size_t *n, sb_error *err) {
    if (json_is_string(primary)) {
        size_t len = json_string_length(primary);
        uint8_t *b = malloc(len + 1);
        ENSURE(b, err, SB_E_INTERNAL, "out of memory");
        memcpy(b, json_string_value(primary), len + 1);
        *out = b;
        *n = len;
        return 0;
    }
    char *s = json_dumps(primary, JSON_COMPACT | JSON_ENCODE_ANY);
    ENSURE(s, err, SB_E_INTERNAL, "out of memory");
    *out = (uint8_t *)s;
    *n = strlen(s);
    return 0;
}

int sb_kbs_check_binding(const json_t *claims, const json_t *runtime_data, sb_error *err) {
    uint8_t want[48];
    TRY(sb_policy_binding_digest(runtime_data, want, err));
    const char *hex = json_string_value(json_object_get(claims, "report_data"));
    ENSURE(hex, err, SB_E_POLICY, "binding: the evidence carries no report_data");
    uint8_t *rd = NULL;
    size_t n = 0;
    int rc = sb_hex_decode(hex, strlen(hex), &rd, &n, err);
    if (rc < 0) return sb_error_prefix(err, "binding: report_data");
    rc = 0;
    if (n < sizeof(want)) {
        rc = sb_error_set(err, SB_E_POLICY,
                          "binding: report_data of %zu bytes cannot hold the "
                          "48-byte binding digest",
                          n);
    } else if (!sb_ct_equal(rd, want, sizeof(want))) {
        char w[97], g[97];
        sb_hex_encode(want, sizeof(want), w);
        sb_hex_encode(rd, sizeof(want), g);
        rc = sb_error_set(err, SB_E_POLICY,
                          "binding: report_data %.16s… is not the digest of this runtime data "
                          "(%.16s…): the evidence was made for another nonce, key or log",
                          g, w);
    } else {
        for (size_t i = sizeof(want); i < n && rc == 0; i++)
            if (rd[i] != 0)
                rc = sb_error_set(err, SB_E_POLICY,
                                  "binding: report_data byte %zu after the digest is not zero", i);
    }
    free(rd);
    return rc;
}

/* One cookie-pair (trimmed copy in pair[0..n)): the session id when it is ours. */
static int cookie_pair(const char *pair, size_t n, char id[SB_KBS_SESSION_ID_LEN + 1], bool *found,
                       sb_error *err) {
    const size_t klen = sizeof(SB_KBS_COOKIE) - 1;
    size_t a = 0, b = n;
    while (a < b && (pair[a] == ' ' || pair[a] == '\t'))
        a++;
    while (b > a && (pair[b - 1] == ' ' || pair[b - 1] == '\t'))
        b--;
    if (b - a <= klen || pair[a + klen] != '=' || strncmp(pair + a, SB_KBS_COOKIE, klen) != 0)
        return 0;
    size_t vlen = b - a - klen - 1;
    ENSURE(vlen == SB_KBS_SESSION_ID_LEN, err, SB_E_MALFORMED,
           "cookie " SB_KBS_COOKIE ": %zu characters (a session id has %d)", vlen,
           SB_KBS_SESSION_ID_LEN);
    for (size_t i = 0; i < vlen; i++) {
        char c = pair[a + klen + 1 + i];
        ENSURE((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'), err, SB_E_MALFORMED,
               "cookie " SB_KBS_COOKIE ": not a session id (character %zu)", i);
        id[i] = c;
    }
    id[vlen] = '\0';
    *found = true;
    return 0;
}

int sb_kbs_cookie_session(const char *h, char id[SB_KBS_SESSION_ID_LEN + 1], sb_error *err) {
    ENSURE(h, err, SB_E_NOTFOUND, "no Cookie header");
    size_t len = strnlen(h, SB_KBS_COOKIE_MAX + 1);
    ENSURE(len <= SB_KBS_COOKIE_MAX, err, SB_E_LIMIT, "Cookie header over %u bytes",
           SB_KBS_COOKIE_MAX);
    sb_reader r;
    sb_reader_init(&r, h, len, "cookie", err);
    /* cookie-string = cookie-pair *( ";" SP cookie-pair ) (RFC 6265 §4.2.1), leniently. */
    char pair[SB_KBS_COOKIE_MAX + 1];
    size_t n = 0;
    bool found = false;
    for (;;) {
        uint8_t c = ';';
        bool end = sb_reader_remaining(&r) == 0;
        if (!end) TRY(sb_reader_u8(&r, &c, "cookie byte"));
        if (c == ';') {
            TRY(cookie_pair(pair, n, id, &found, err));
            if (found) return 0;
            n = 0;
            if (end) break;
            continue;
        }
        pair[n++] = (char)c;
    }
    BAIL(err, SB_E_NOTFOUND, "no " SB_KBS_COOKIE " cookie");
}
