/* policy: parses the JSON policy format of docs/policy.md and appraises normalized claims
 * rule by rule; each rule that fails adds a reason naming the claim and the expected value. */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "policy.h"

struct sb_policy {
    char *id;
    json_t *platforms;         /* array of strings, NULL: the hardware platforms */
    bool allow_insecure;       /* software evidence */
    bool allow_debug;          /* debug-enabled TEEs */
    bool allow_uncertified_ak; /* TPM quotes whose attestation key no certificate vouches for */
    bool require_tcb_status;   /* a null tcb.status is a warning */
    bool warnings_are_reasons; /* evidence warnings lower the appraisal to warning */
    json_t *measurements;      /* {name: [hex, ...]} (also "pcrs") */
    json_t *signer;            /* {name: [value, ...]} */
    json_t *identity;          /* platform_identity {name: [value, ...]} */
    json_t *init_data;         /* [hex, ...] */
    json_t *product;           /* [string, ...] */
    json_t *min_tcb;           /* {component: int} */
    json_t *tcb_status;        /* [status, ...] */
    json_t *advisories;        /* [id, ...] */
    int64_t grace;             /* seconds, -1: none */
    json_t *vmpl;              /* [int, ...] or NULL */
    uint8_t *rd;               /* expected report_data (zero-padded to the claim's size) */
    size_t rd_len;
    const char *rd_what;  /* "exact value" or "runtime-data binding" */
    int64_t max_coll_age; /* seconds, -1: none */
};

static const char *const HW_PLATFORMS[] = {"snp", "tdx", "sgx", "nitro", "tpm", "nvidia"};
static const char *const KNOWN_STATUSES_WARN[] = {"SWHardeningNeeded", "ConfigurationNeeded",
                                                  "ConfigurationAndSWHardeningNeeded", "OutOfDate",
                                                  "OutOfDateConfigurationNeeded"};

const char *sb_tier_name(enum sb_tier t) {
    switch (t) {
    case SB_TIER_AFFIRMING: return "affirming";
    case SB_TIER_WARNING: return "warning";
    case SB_TIER_CONTRAINDICATED: return "contraindicated";
    case SB_TIER_NONE:
    case SB_TIER_MAX:
    default: return "none";
    }
}

const char *sb_trust_claim_name(enum sb_trust_claim c) {
    static const char *const names[SB_TC_MAX] = {
        "instance-identity", "configuration",  "executables",    "file-system",
        "hardware",          "runtime-opaque", "storage-opaque", "sourced-data"};
    return (unsigned)c < SB_TC_MAX ? names[c] : "?";
}

enum sb_tier sb_ar4si_tier(int code) {
    if (code >= 2 && code <= 31) return SB_TIER_AFFIRMING;
    if (code >= 32 && code <= 95) return SB_TIER_WARNING;
    if (code >= 96 && code <= 127) return SB_TIER_CONTRAINDICATED;
    return SB_TIER_NONE;
}

void sb_policy_free(sb_policy *p) {
    if (!p) return;
    free(p->id);
    json_decref(p->platforms);
    json_decref(p->measurements);
    json_decref(p->signer);
    json_decref(p->identity);
    json_decref(p->init_data);
    json_decref(p->product);
    json_decref(p->min_tcb);
    json_decref(p->tcb_status);
    json_decref(p->advisories);
    json_decref(p->vmpl);
    free(p->rd);
    free(p);
}
static void policy_freep(sb_policy **p) { sb_policy_free(*p); }

const char *sb_policy_id(const sb_policy *p) { return p->id; }

/* ---- parsing ------------------------------------------------------------------------- */

static bool is_hex(const char *s) {
    size_t n = strlen(s);
    if (n == 0 || n % 2) return false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')))
            return false;
    }
    return true;
}

/* A value or an array of values → a new array; strings only (hex when want_hex), or strings
 * and integers when allow_int. */
static int value_list(const json_t *v, const char *key, bool want_hex, bool allow_int, json_t **out,
                      sb_error *err) {
    json_t *arr = json_array();
    if (!arr) BAIL(err, SB_E_INTERNAL, "out of memory");
    if (!json_is_array(v)) {
        if (json_array_append(arr, (json_t *)v) < 0) goto oom;
    } else {
        if (json_array_size(v) > SB_POLICY_MAX_VALUES) {
            json_decref(arr);
            BAIL(err, SB_E_LIMIT, "policy: %s: more than %u values", key, SB_POLICY_MAX_VALUES);
        }
        if (json_array_extend(arr, (json_t *)v) < 0) goto oom;
    }
    size_t i;
    json_t *e;
    json_array_foreach(arr, i, e) {
        if (json_is_integer(e) && allow_int) continue;
        if (!json_is_string(e)) {
            json_decref(arr);
            BAIL(err, SB_E_MALFORMED, "policy: %s[%zu]: expected a %s", key, i,
                 want_hex ? "hex string" : (allow_int ? "string or integer" : "string"));
        }
        if (want_hex && !is_hex(json_string_value(e))) {
            json_decref(arr);
            BAIL(err, SB_E_MALFORMED, "policy: %s[%zu]: '%s' is not an even-length hex string", key,
                 i, json_string_value(e));
        }
    }
    *out = arr;
    return 0;
oom:
    json_decref(arr);
    BAIL(err, SB_E_INTERNAL, "out of memory");
}

/* {name: value-or-list} → {name: [..]} */
static int value_map(const json_t *v, const char *key, bool want_hex, bool allow_int, json_t **out,
                     sb_error *err) {
    ENSURE(json_is_object(v), err, SB_E_MALFORMED, "policy: %s: expected an object {name: values}",
           key);
    json_t *m = json_object();
    if (!m) BAIL(err, SB_E_INTERNAL, "out of memory");
    const char *k;
    json_t *e;
    json_object_foreach((json_t *)v, k, e) {
        char path[256];
        (void)snprintf(path, sizeof(path), "%s.%s", key, k);
        json_t *l = NULL;
        int rc = value_list(e, path, want_hex, allow_int, &l, err);
        if (rc < 0) {
            json_decref(m);
            return rc;
        }
        if (json_object_set_new(m, k, l) < 0) {
            json_decref(m);
            BAIL(err, SB_E_INTERNAL, "out of memory");
        }
    }
    *out = m;
    return 0;
}

/* Seconds, or a string "<n>s|m|h|d". */
static int duration(const json_t *v, const char *key, int64_t *out, sb_error *err) {
    if (json_is_integer(v) && json_integer_value(v) >= 0) {
        *out = (int64_t)json_integer_value(v);
        return 0;
    }
    const char *s = json_string_value(v);
    size_t n = s ? strlen(s) : 0;
    if (n >= 2 && n < 24) {
        char num[24];
        memcpy(num, s, n - 1);
        num[n - 1] = 0;
        int64_t mult = s[n - 1] == 's'   ? 1
                       : s[n - 1] == 'm' ? 60
                       : s[n - 1] == 'h' ? 3600
                       : s[n - 1] == 'd' ? 86400
                                         : 0;
        int64_t k;
        sb_error e2 = {0};
        if (mult && sb_parse_i64(num, 0, INT64_MAX / 86400, &k, &e2, key) == 0) {
            *out = k * mult;
            return 0;
        }
    }
    BAIL(err, SB_E_MALFORMED,
         "policy: %s: expected seconds (a non-negative integer) or a duration like \"30d\"", key);
}

static int get_bool(const json_t *v, const char *key, bool *out, sb_error *err) {
    ENSURE(json_is_boolean(v), err, SB_E_MALFORMED, "policy: %s: expected true or false", key);
    *out = json_is_true(v);
    return 0;
}

static int parse_report_data(sb_policy *p, const json_t *v, sb_error *err) {
    const char *hex = json_string_value(v);
    const json_t *bind = NULL;
    if (json_is_object(v)) {
        const char *k;
        json_t *e;
        json_object_foreach((json_t *)v, k, e) {
            if (strcmp(k, "exact") == 0 && json_is_string(e))
                hex = json_string_value(e);
            else if (strcmp(k, "binding") == 0 && json_is_object(e))
                bind = e;
            else
                BAIL(err, SB_E_MALFORMED,
                     "policy: report_data.%s: expected \"exact\": hex or \"binding\": {...}", k);
        }
        ENSURE(!hex || !bind, err, SB_E_MALFORMED,
               "policy: report_data: give \"exact\" or \"binding\", not both");
    }
    if (bind) {
        uint8_t d[48];
        int rc = sb_policy_binding_digest(bind, d, err);
        if (rc < 0) return sb_error_prefix(err, "policy: report_data");
        p->rd = malloc(sizeof(d));
        if (!p->rd) BAIL(err, SB_E_INTERNAL, "out of memory");
        memcpy(p->rd, d, sizeof(d));
        p->rd_len = sizeof(d);
        p->rd_what = "the runtime-data binding";
        return 0;
    }
    ENSURE(hex && is_hex(hex) && strlen(hex) <= 128, err, SB_E_MALFORMED,
           "policy: report_data: expected a hex string of at most 64 bytes, {\"exact\": hex} or "
           "{\"binding\": {...}}");
    TRY(sb_hex_decode(hex, strlen(hex), &p->rd, &p->rd_len, err));
    p->rd_what = "the policy's exact value";
    return 0;
}

static int parse_doc(sb_policy *p, const json_t *doc, sb_error *err) {
    ENSURE(json_is_object(doc), err, SB_E_MALFORMED, "policy: expected a JSON object");
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)doc, k, v) {
        if (strcmp(k, "id") == 0) {
            ENSURE(json_is_string(v) && json_string_length(v) > 0 && json_string_length(v) < 120,
                   err, SB_E_MALFORMED, "policy: id: expected a string of 1 to 119 characters");
            free(p->id);
            p->id = strdup(json_string_value(v));
            if (!p->id) BAIL(err, SB_E_INTERNAL, "out of memory");
        } else if (strcmp(k, "description") == 0 || strcmp(k, "comment") == 0) {
            ENSURE(json_is_string(v), err, SB_E_MALFORMED, "policy: %s: expected a string", k);
        } else if (strcmp(k, "platforms") == 0) {
            TRY(value_list(v, k, false, false, &p->platforms, err));
        } else if (strcmp(k, "allow_insecure") == 0) {
            TRY(get_bool(v, k, &p->allow_insecure, err));
        } else if (strcmp(k, "allow_debug") == 0) {
            TRY(get_bool(v, k, &p->allow_debug, err));
        } else if (strcmp(k, "allow_uncertified_ak") == 0) {
            TRY(get_bool(v, k, &p->allow_uncertified_ak, err));
        } else if (strcmp(k, "require_tcb_status") == 0) {
            TRY(get_bool(v, k, &p->require_tcb_status, err));
        } else if (strcmp(k, "reject_evidence_warnings") == 0) {
            TRY(get_bool(v, k, &p->warnings_are_reasons, err));
        } else if (strcmp(k, "measurements") == 0 || strcmp(k, "pcrs") == 0) {
            json_t *m = NULL;
            TRY(value_map(v, k, true, false, &m, err));
            if (!p->measurements) {
                p->measurements = m;
            } else if (json_object_update(p->measurements, m) < 0) {
                json_decref(m);
                BAIL(err, SB_E_INTERNAL, "out of memory");
            } else {
                json_decref(m);
            }
        } else if (strcmp(k, "signer") == 0) {
            TRY(value_map(v, k, false, true, &p->signer, err));
        } else if (strcmp(k, "platform_identity") == 0) {
            TRY(value_map(v, k, false, true, &p->identity, err));
        } else if (strcmp(k, "init_data") == 0) {
            TRY(value_list(v, k, true, false, &p->init_data, err));
        } else if (strcmp(k, "product") == 0) {
            TRY(value_list(v, k, false, false, &p->product, err));
        } else if (strcmp(k, "min_tcb") == 0) {
            ENSURE(json_is_object(v), err, SB_E_MALFORMED,
                   "policy: min_tcb: expected an object {component: minimum}");
            const char *ck;
            json_t *cv;
            json_object_foreach(v, ck, cv) {
                ENSURE(json_is_integer(cv) && json_integer_value(cv) >= 0, err, SB_E_MALFORMED,
                       "policy: min_tcb.%s: expected a non-negative integer", ck);
            }
            p->min_tcb = json_incref(v);
        } else if (strcmp(k, "tcb_status") == 0) {
            TRY(value_list(v, k, false, false, &p->tcb_status, err));
        } else if (strcmp(k, "advisories") == 0) {
            TRY(value_list(v, k, false, false, &p->advisories, err));
        } else if (strcmp(k, "tcb_grace_period") == 0) {
            TRY(duration(v, k, &p->grace, err));
        } else if (strcmp(k, "max_collateral_age") == 0) {
            TRY(duration(v, k, &p->max_coll_age, err));
        } else if (strcmp(k, "vmpl") == 0) {
            json_t *l = NULL;
            TRY(value_list(v, k, false, true, &l, err));
            p->vmpl = l;
            size_t i;
            json_t *e;
            json_array_foreach(l, i, e) {
                ENSURE(json_is_integer(e) && json_integer_value(e) >= 0 &&
                           json_integer_value(e) <= 3,
                       err, SB_E_MALFORMED, "policy: vmpl[%zu]: expected an integer 0..3", i);
            }
        } else if (strcmp(k, "report_data") == 0) {
            TRY(parse_report_data(p, v, err));
        } else {
            BAIL(err, SB_E_MALFORMED, "policy: unknown key '%s' (docs/policy.md lists them)", k);
        }
    }
    return 0;
}

static sb_policy *policy_new(const char *id) {
    sb_policy *p = calloc(1, sizeof(*p));
    if (!p) return NULL;
    p->grace = -1;
    p->max_coll_age = -1;
    p->id = strdup(id ? id : "sealbox-default");
    if (!p->id) {
        free(p);
        return NULL;
    }
    return p;
}

int sb_policy_parse(const char *json, size_t len, const char *default_id, sb_policy **out,
                    sb_error *err) {
    ENSURE(len <= SB_POLICY_MAX_SIZE, err, SB_E_LIMIT, "policy: larger than %u bytes",
           SB_POLICY_MAX_SIZE);
    json_error_t je;
    json_t *doc = json_loadb(json, len, JSON_REJECT_DUPLICATES, &je);
    if (!doc)
        BAIL(err, SB_E_MALFORMED, "policy: line %d column %d: %s", je.line, je.column, je.text);
    _cleanup_(policy_freep) sb_policy *p = policy_new(default_id);
    if (!p) {
        json_decref(doc);
        BAIL(err, SB_E_INTERNAL, "out of memory");
    }
    int rc = parse_doc(p, doc, err);
    json_decref(doc);
    if (rc < 0) return rc;
    *out = TAKE_PTR(p);
    return 0;
}

int sb_policy_load(const char *path, sb_policy **out, sb_error *err) {
    _cleanup_free_ uint8_t *buf = NULL;
    size_t len = 0;
    TRY(sb_read_file(path, SB_POLICY_MAX_SIZE, &buf, &len, err));
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    char id[120];
    (void)snprintf(id, sizeof(id), "%s", base);
    char *dot = strrchr(id, '.');
    if (dot && strcmp(dot, ".json") == 0) *dot = 0;
    int rc = sb_policy_parse((const char *)buf, len, id, out, err);
    if (rc < 0) return sb_error_prefix(err, "%s", path);
    return 0;
}

int sb_policy_default(sb_policy **out, sb_error *err) {
    sb_policy *p = policy_new("sealbox-default");
    if (!p) BAIL(err, SB_E_INTERNAL, "out of memory");
    *out = p;
    return 0;
}

/* ---- appraisal ------------------------------------------------------------------------ */

struct appraise {
    const sb_policy *p;
    const json_t *claims;
    const struct sb_appraise_ctx *ctx;
    struct sb_appraisal *a;
    int status;
};

static void raise_claim(struct sb_appraisal *a, enum sb_trust_claim tc, int code) {
    enum sb_tier cur = sb_ar4si_tier(a->vector[tc]), nw = sb_ar4si_tier(code);
    if (nw > cur || (nw == cur && code > a->vector[tc])) a->vector[tc] = code;
}

static void reason(struct appraise *ap, enum sb_trust_claim tc, int code, const char *claim,
                   const char *fmt, ...) SB_PRINTF(5, 6);
static void reason(struct appraise *ap, enum sb_trust_claim tc, int code, const char *claim,
                   const char *fmt, ...) {
    char msg[1024];
    va_list va;
    va_start(va, fmt);
    (void)vsnprintf(msg, sizeof(msg), fmt, va);
    va_end(va);
    raise_claim(ap->a, tc, code);
    json_t *r = json_pack("{s:s, s:s, s:i, s:s, s:s}", "claim", claim, "trust_claim",
                          sb_trust_claim_name(tc), "code", code, "tier",
                          sb_tier_name(sb_ar4si_tier(code)), "message", msg);
    if (!r || json_array_append_new(ap->a->reasons, r) < 0) ap->status = SB_E_INTERNAL;
}

static void note(struct appraise *ap, const char *fmt, ...) SB_PRINTF(2, 3);
static void note(struct appraise *ap, const char *fmt, ...) {
    char msg[1024];
    va_list va;
    va_start(va, fmt);
    (void)vsnprintf(msg, sizeof(msg), fmt, va);
    va_end(va);
    if (json_array_append_new(ap->a->notes, json_string(msg)) < 0) ap->status = SB_E_INTERNAL;
}

/* A printable rendering of one value: strings as-is (long ones shortened), integers. */
static void render(const json_t *v, char *out, size_t n, bool shorten) {
    if (json_is_string(v)) {
        const char *s = json_string_value(v);
        if (shorten && strlen(s) > 20)
            (void)snprintf(out, n, "%.16s…", s);
        else
            (void)snprintf(out, n, "%s", s);
    } else if (json_is_integer(v)) {
        (void)snprintf(out, n, "%lld", (long long)json_integer_value(v));
    } else if (json_is_boolean(v)) {
        (void)snprintf(out, n, "%s", json_is_true(v) ? "true" : "false");
    } else if (json_is_null(v) || !v) {
        (void)snprintf(out, n, "null");
    } else {
        (void)snprintf(out, n, "(%s)", json_is_object(v) ? "object" : "array");
    }
}

/* "[a, b, …(+3)]" */
static void render_set(const json_t *set, char *out, size_t n) {
    size_t used = 0;
    size_t i;
    json_t *e;
    int k = snprintf(out, n, "[");
    used = k > 0 ? (size_t)k : 0;
    json_array_foreach(set, i, e) {
        if (i == 6) {
            k = snprintf(out + used, n - used, ", … (+%zu)", json_array_size(set) - i);
            if (k > 0 && (size_t)k < n - used) used += (size_t)k;
            break;
        }
        char one[160];
        render(e, one, sizeof(one), json_array_size(set) > 1);
        k = snprintf(out + used, n - used, "%s%s", i ? ", " : "", one);
        if (k < 0 || (size_t)k >= n - used) break;
        used += (size_t)k;
    }
    (void)snprintf(out + used, n - used, "]");
}

static bool value_equal(const json_t *claim, const json_t *want) {
    if (json_is_string(claim) && json_is_string(want))
        return strcasecmp(json_string_value(claim), json_string_value(want)) == 0;
    if (json_is_integer(claim) && json_is_integer(want))
        return json_integer_value(claim) == json_integer_value(want);
    return false;
}

static bool in_set(const json_t *v, const json_t *set) {
    size_t i;
    json_t *e;
    json_array_foreach(set, i, e) {
        if (value_equal(v, e)) return true;
    }
    return false;
}

static bool str_in_set(const char *s, const json_t *set) {
    size_t i;
    json_t *e;
    json_array_foreach(set, i, e) {
        if (json_is_string(e) && strcmp(json_string_value(e), s) == 0) return true;
    }
    return false;
}

/* Checks every {name: [allowed]} of map against claims[section][name]. Returns whether the
 * map had any entry (i.e. the policy states reference values here). */
static bool check_map(struct appraise *ap, const json_t *map, const char *section,
                      enum sb_trust_claim tc, int code) {
    if (!map || json_object_size(map) == 0) return false;
    const json_t *sec = json_object_get(ap->claims, section);
    const char *k;
    json_t *set;
    json_object_foreach((json_t *)map, k, set) {
        char path[256], want[1024], got[256];
        (void)snprintf(path, sizeof(path), "%s.%s", section, k);
        render_set(set, want, sizeof(want));
        const json_t *v = json_object_get(sec, k);
        if (!v || json_is_null(v)) {
            reason(ap, tc, code, path,
                   "%s is absent from the evidence; the policy expects one of %s", path, want);
        } else if (!in_set(v, set)) {
            render(v, got, sizeof(got), false);
            reason(ap, tc, code, path, "%s = %s not in allowed set %s", path, got, want);
        }
    }
    return true;
}

static void check_platform(struct appraise *ap, const char *platform) {
    if (ap->p->platforms) {
        if (!str_in_set(platform, ap->p->platforms)) {
            char want[512];
            render_set(ap->p->platforms, want, sizeof(want));
            reason(ap, SB_TC_HARDWARE, SB_AR_UNRECOGNIZED_HW, "platform",
                   "platform = %s not in allowed platforms %s", platform, want);
        }
        return;
    }
    for (size_t i = 0; i < SB_ARRAY_LEN(HW_PLATFORMS); i++)
        if (strcmp(platform, HW_PLATFORMS[i]) == 0) return;
    if (strcmp(platform, "software") == 0) return; /* judged by the insecure rule */
    reason(ap, SB_TC_HARDWARE, SB_AR_UNRECOGNIZED_HW, "platform",
           "platform = %s is not a known hardware platform (snp, tdx, sgx, nitro, tpm, nvidia); "
           "list it in the policy's \"platforms\" to accept it",
           platform);
}

static bool time_field(const json_t *o, const char *k, int64_t *out) {
    const char *s = json_string_value(json_object_get(o, k));
    sb_error e = {0};
    return s && sb_time_parse(s, out, &e) == 0;
}

static void check_tcb(struct appraise *ap) {
    const sb_policy *p = ap->p;
    const json_t *tcb = json_object_get(ap->claims, "tcb");
    const json_t *comps = json_object_get(tcb, "components");
    const char *k;
    json_t *minv;
    json_object_foreach(p->min_tcb, k, minv) {
        char path[256];
        (void)snprintf(path, sizeof(path), "tcb.components.%s", k);
        const json_t *v = json_object_get(comps, k);
        long long want = (long long)json_integer_value(minv);
        if (!json_is_integer(v))
            reason(ap, SB_TC_HARDWARE, SB_AR_WARN_UNSAFE, path,
                   "%s is absent from the evidence; the policy requires >= %lld", path, want);
        else if ((long long)json_integer_value(v) < want)
            reason(ap, SB_TC_HARDWARE, SB_AR_WARN_UNSAFE, path, "%s = %lld below minimum %lld",
                   path, (long long)json_integer_value(v), want);
    }

    const char *status = json_string_value(json_object_get(tcb, "status"));
    char allowed[512] = "[UpToDate]";
    if (p->tcb_status) render_set(p->tcb_status, allowed, sizeof(allowed));
    if (!status) {
        if (p->require_tcb_status)
            reason(ap, SB_TC_HARDWARE, SB_AR_WARN_UNSAFE, "tcb.status",
                   "tcb.status = null (not evaluated: no TCB collateral) but the policy requires "
                   "one of %s",
                   allowed);
    } else {
        bool ok = p->tcb_status ? str_in_set(status, p->tcb_status) : !strcmp(status, "UpToDate");
        bool known_warn = false;
        for (size_t i = 0; i < SB_ARRAY_LEN(KNOWN_STATUSES_WARN); i++)
            if (strcmp(status, KNOWN_STATUSES_WARN[i]) == 0) known_warn = true;
        bool outofdate = strncmp(status, "OutOfDate", 9) == 0;
        int64_t tdate;
        if (ok) {
            /* allowed as stated */
        } else if (outofdate && p->grace >= 0 && time_field(tcb, "tcb_date", &tdate) &&
                   ap->ctx->at - tdate <= p->grace) {
            char ts[32];
            sb_time_format(tdate, ts);
            note(ap,
                 "tcb.status = %s accepted: tcb.tcb_date %s is within the grace period of %lld s",
                 status, ts, (long long)p->grace);
        } else if (known_warn) {
            char extra[128] = "";
            if (outofdate && p->grace >= 0) {
                const char *d = json_string_value(json_object_get(tcb, "tcb_date"));
                (void)snprintf(extra, sizeof(extra),
                               " (tcb.tcb_date %s is outside the grace period of %lld s)",
                               d ? d : "null", (long long)p->grace);
            }
            reason(ap, SB_TC_HARDWARE, SB_AR_WARN_UNSAFE, "tcb.status",
                   "tcb.status = %s not in allowed statuses %s%s", status, allowed, extra);
        } else {
            reason(ap, SB_TC_HARDWARE, SB_AR_CONTRAINDICATED, "tcb.status",
                   "tcb.status = %s not in allowed statuses %s (%s)", status, allowed,
                   strcmp(status, "Revoked") == 0 ? "the platform's TCB is revoked"
                                                  : "no acceptable TCB level matched");
        }
    }
    size_t i;
    json_t *adv;
    json_array_foreach(json_object_get(tcb, "advisories"), i, adv) {
        const char *id = json_string_value(adv);
        if (!id || (p->advisories && str_in_set(id, p->advisories))) continue;
        char want[512] = "[]";
        if (p->advisories) render_set(p->advisories, want, sizeof(want));
        reason(ap, SB_TC_HARDWARE, SB_AR_WARN_UNSAFE, "tcb.advisories",
               "tcb.advisories contains %s, not in the allowed advisories %s", id, want);
    }
}

/* Collateral kinds whose age says how fresh the verifier's knowledge is (certificates do
 * not: a VCEK is years old and still current). */
static bool freshness_kind(const char *kind) {
    return strstr(kind, "crl") || strstr(kind, "tcb") || strstr(kind, "identity") ||
           strstr(kind, "ocsp") || strstr(kind, "rim");
}

static void check_collateral(struct appraise *ap) {
    size_t i;
    json_t *c;
    json_array_foreach(json_object_get(ap->claims, "collateral"), i, c) {
        const char *kind = json_string_value(json_object_get(c, "kind"));
        if (!kind) kind = "?";
        const char *subj = json_string_value(json_object_get(c, "subject"));
        char path[64], at[32];
        (void)snprintf(path, sizeof(path), "collateral[%zu]", i);
        sb_time_format(ap->ctx->at, at);
        int64_t nb = 0, na = 0;
        bool has_nb = time_field(c, "not_before", &nb), has_na = time_field(c, "not_after", &na);
        if (has_na && ap->ctx->at > na)
            reason(ap, SB_TC_HARDWARE, SB_AR_CONTRAINDICATED, path,
                   "%s (%s%s%s) expired: not_after %s is before the verification time %s", path,
                   kind, subj ? " " : "", subj ? subj : "",
                   json_string_value(json_object_get(c, "not_after")), at);
        if (has_nb && ap->ctx->at < nb)
            reason(ap, SB_TC_HARDWARE, SB_AR_CONTRAINDICATED, path,
                   "%s (%s%s%s) not yet valid: not_before %s is after the verification time %s",
                   path, kind, subj ? " " : "", subj ? subj : "",
                   json_string_value(json_object_get(c, "not_before")), at);
        if (ap->p->max_coll_age >= 0 && has_nb && freshness_kind(kind) &&
            ap->ctx->at - nb > ap->p->max_coll_age)
            reason(ap, SB_TC_HARDWARE, SB_AR_WARN_UNSAFE, path,
                   "%s (%s) is %lld s old (issued %s), more than max_collateral_age %lld s", path,
                   kind, (long long)(ap->ctx->at - nb),
                   json_string_value(json_object_get(c, "not_before")),
                   (long long)ap->p->max_coll_age);
    }
}

static void check_report_data(struct appraise *ap) {
    const sb_policy *p = ap->p;
    const char *rd = json_string_value(json_object_get(ap->claims, "report_data"));
    if (p->rd) {
        char *want = sb_hex_dup(p->rd, p->rd_len);
        if (!want) {
            ap->status = SB_E_INTERNAL;
            return;
        }
        size_t rl = rd ? strlen(rd) : 0;
        bool ok = rd && rl >= 2 * p->rd_len && strncasecmp(rd, want, 2 * p->rd_len) == 0;
        for (size_t i = 2 * p->rd_len; ok && i < rl; i++)
            if (rd[i] != '0') ok = false;
        if (!ok)
            reason(ap, SB_TC_INSTANCE_IDENTITY, SB_AR_CONTRAINDICATED, "report_data",
                   "report_data = %s does not equal %s %s (zero-padded)", rd ? rd : "null",
                   p->rd_what, want);
        free(want);
    }
    if (ap->ctx->nonce) {
        _cleanup_free_ char *n = sb_hex_dup(ap->ctx->nonce, ap->ctx->nonce_len);
        if (!n) {
            ap->status = SB_E_INTERNAL;
            return;
        }
        const char *pn = json_string_value(
            json_object_get(json_object_get(ap->claims, "platform_claims"), "nonce"));
        if (pn) {
            if (strcasecmp(pn, n) != 0)
                reason(ap, SB_TC_INSTANCE_IDENTITY, SB_AR_CONTRAINDICATED, "platform_claims.nonce",
                       "platform_claims.nonce = %s does not equal --nonce %s", pn, n);
        } else if (!rd || strncasecmp(rd, n, strlen(n)) != 0) {
            reason(ap, SB_TC_INSTANCE_IDENTITY, SB_AR_CONTRAINDICATED, "report_data",
                   "report_data = %s does not begin with --nonce %s", rd ? rd : "null", n);
        }
    }
}

static void check_vmpl(struct appraise *ap) {
    if (!ap->p->vmpl) return;
    const json_t *v = json_object_get(json_object_get(ap->claims, "platform_claims"), "vmpl");
    char want[128];
    render_set(ap->p->vmpl, want, sizeof(want));
    if (!json_is_integer(v))
        reason(ap, SB_TC_CONFIGURATION, SB_AR_CONTRAINDICATED, "platform_claims.vmpl",
               "platform_claims.vmpl is absent from the evidence; the policy expects one of %s",
               want);
    else if (!in_set(v, ap->p->vmpl))
        reason(ap, SB_TC_CONFIGURATION, SB_AR_CONTRAINDICATED, "platform_claims.vmpl",
               "platform_claims.vmpl = %lld not in allowed set %s",
               (long long)json_integer_value(v), want);
}

static void check_list(struct appraise *ap, const json_t *set, const char *key,
                       enum sb_trust_claim tc, int code) {
    if (!set) return;
    const json_t *v = json_object_get(ap->claims, key);
    char want[1024], got[256];
    render_set(set, want, sizeof(want));
    if (!v || json_is_null(v)) {
        reason(ap, tc, code, key, "%s is absent from the evidence; the policy expects one of %s",
               key, want);
    } else if (!in_set(v, set)) {
        render(v, got, sizeof(got), false);
        reason(ap, tc, code, key, "%s = %s not in allowed set %s", key, got, want);
    }
}

int sb_policy_appraise(const sb_policy *p, const json_t *claims, const struct sb_appraise_ctx *ctx,
                       struct sb_appraisal *out, sb_error *err) {
    struct sb_appraisal a = {0};
    a.reasons = json_array();
    a.notes = json_array();
    if (!a.reasons || !a.notes) {
        sb_appraisal_clear(&a);
        BAIL(err, SB_E_INTERNAL, "out of memory");
    }
    (void)snprintf(a.policy_id, sizeof(a.policy_id), "%s", p->id);
    struct appraise ap = {.p = p, .claims = claims, .ctx = ctx, .a = &a};

    const char *platform = json_string_value(json_object_get(claims, "platform"));
    if (!platform) platform = "?";
    bool insecure = !json_is_false(json_object_get(claims, "insecure"));
    bool debug = !json_is_false(json_object_get(claims, "debug"));

    /* The base vector: what authenticated evidence of this platform says on its own. */
    bool tee = !strcmp(platform, "snp") || !strcmp(platform, "tdx") || !strcmp(platform, "sgx") ||
               !strcmp(platform, "nvidia");
    if (!insecure) {
        a.vector[SB_TC_INSTANCE_IDENTITY] = SB_AR_AFFIRMING; /* chained to a vendor root */
        a.vector[SB_TC_HARDWARE] = SB_AR_AFFIRMING;
    }
    a.vector[SB_TC_CONFIGURATION] = SB_AR_AFFIRMING;
    a.vector[SB_TC_RUNTIME_OPAQUE] = tee && !insecure && !debug ? SB_AR_AFFIRMING : SB_AR_NONE;

    check_platform(&ap, platform);
    if (insecure) {
        if (p->allow_insecure)
            note(&ap, "insecure = true accepted (allow_insecure): this evidence proves nothing "
                      "against a privileged attacker");
        else
            reason(&ap, SB_TC_INSTANCE_IDENTITY, SB_AR_UNRECOGNIZED_HW, "insecure",
                   "insecure = true (software evidence proves nothing) but the policy does not "
                   "set allow_insecure");
    }
    if (debug) {
        if (p->allow_debug) {
            note(&ap, "debug = true accepted (allow_debug): the TEE's memory is open to the host");
        } else {
            reason(&ap, SB_TC_CONFIGURATION, SB_AR_CONTRAINDICATED, "debug",
                   "debug = true not allowed (policy allow_debug = false)");
            raise_claim(&a, SB_TC_RUNTIME_OPAQUE, SB_AR_CONTRAINDICATED);
        }
    }
    /* A TPM quote is only as trustworthy as its attestation key: a key that arrived with the
     * evidence and that no certificate chain vouches for could be any software key. */
    if (json_is_false(
            json_object_get(json_object_get(claims, "platform_claims"), "ak_certified"))) {
        if (p->allow_uncertified_ak)
            note(&ap, "platform_claims.ak_certified = false accepted (allow_uncertified_ak): the "
                      "quote's key is not proven to live in a TPM");
        else {
            /* Name the key: with sealbox's TPM attester it is the AK name to enroll. */
            const char *name = json_string_value(
                json_object_get(json_object_get(claims, "platform_claims"), "ak_name"));
            reason(&ap, SB_TC_INSTANCE_IDENTITY, SB_AR_WARN_UNSAFE, "platform_claims.ak_certified",
                   "platform_claims.ak_certified = false: no certificate chain or enrollment "
                   "vouches for the attestation key%s%s (enroll it with `sealbox tpm enroll`, give "
                   "the AK certificate chain with --certs, or set allow_uncertified_ak)",
                   name ? " " : "", name ? name : "");
        }
    }
    bool refs =
        check_map(&ap, p->measurements, "measurements", SB_TC_EXECUTABLES, SB_AR_WARN_UNRECOGNIZED);
    refs |= check_map(&ap, p->signer, "signer", SB_TC_EXECUTABLES, SB_AR_WARN_UNRECOGNIZED);
    check_list(&ap, p->init_data, "init_data", SB_TC_CONFIGURATION, SB_AR_CONTRAINDICATED);
    if (p->init_data) refs = true;
    if (refs && sb_ar4si_tier(a.vector[SB_TC_EXECUTABLES]) == SB_TIER_NONE)
        a.vector[SB_TC_EXECUTABLES] = SB_AR_AFFIRMING;
    (void)check_map(&ap, p->identity, "platform_identity", SB_TC_INSTANCE_IDENTITY,
                    SB_AR_CONTRAINDICATED);
    check_list(&ap, p->product, "product", SB_TC_HARDWARE, SB_AR_UNRECOGNIZED_HW);
    check_tcb(&ap);
    check_vmpl(&ap);
    check_report_data(&ap);
    check_collateral(&ap);
    size_t i;
    json_t *w;
    json_array_foreach(json_object_get(claims, "warnings"), i, w) {
        if (!json_is_string(w)) continue;
        if (p->warnings_are_reasons)
            reason(&ap, SB_TC_CONFIGURATION, SB_AR_WARN_UNSAFE, "warnings",
                   "warnings[%zu] = %s (policy reject_evidence_warnings)", i, json_string_value(w));
        else
            note(&ap, "evidence warning: %s", json_string_value(w));
    }
    if (ap.status < 0) {
        sb_appraisal_clear(&a);
        BAIL(err, ap.status, "policy: out of memory");
    }
    enum sb_tier worst = SB_TIER_NONE;
    for (int t = 0; t < SB_TC_MAX; t++)
        if (sb_ar4si_tier(a.vector[t]) > worst) worst = sb_ar4si_tier(a.vector[t]);
    a.status = worst == SB_TIER_NONE ? SB_TIER_AFFIRMING : worst;
    *out = a;
    return 0;
}

void sb_appraisal_clear(struct sb_appraisal *a) {
    if (!a) return;
    json_decref(a->reasons);
    json_decref(a->notes);
    a->reasons = a->notes = NULL;
}

json_t *sb_appraisal_json(const struct sb_appraisal *a) {
    json_t *vec = json_object();
    if (!vec) return NULL;
    for (int t = 0; t < SB_TC_MAX; t++) {
        if (json_object_set_new(vec, sb_trust_claim_name((enum sb_trust_claim)t),
                                json_integer(a->vector[t])) < 0) {
            json_decref(vec);
            return NULL;
        }
    }
    return json_pack("{s:s, s:s, s:o, s:O, s:O}", "status", sb_tier_name(a->status), "policy_id",
                     a->policy_id, "trustworthiness_vector", vec, "reasons", a->reasons, "notes",
                     a->notes);
}
