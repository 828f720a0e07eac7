/* cmd_verify: `sealbox verify` — loads evidence and certificates, runs the platform verifier,
 * reports the verdict (human or --json) and maps it to the exit-code contract 0/1/2. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cmd.h"
#include "policy/policy.h"
#include "token/token.h"
#include "verify/verify.h"

#define VERIFY_MAX_NONCE 1024

static void verify_usage(FILE *f) {
    fprintf(f, "usage: sealbox verify [--platform NAME] [--certs FILE]... [--collateral DIR]\n"
               "                      [--at TIME] [--nonce HEX] [--json] EVIDENCE...\n\n"
               "Authenticates TEE evidence against the vendor's certificate chain at an explicit\n"
               "time and prints the normalized claims. EVIDENCE files together form one piece of\n"
               "evidence (e.g. a quote and its event log; an NVIDIA report, its chain and\n"
               "the driver and VBIOS RIMs to compare its measurements with).\n\n"
               "  --platform NAME   auto (default: detect the format) or one of:");
    const struct sb_verifier *const *v = sb_verifiers();
    if (!v[0]) fprintf(f, " (none built in yet)");
    for (size_t i = 0; v[i]; i++)
        fprintf(f, " %s", v[i]->name);
    fprintf(f,
            "\n"
            "  --certs FILE      extra certificates (VCEK/VLEK, chains, AK); repeat the flag\n"
            "  --collateral DIR  offline collateral (TCB info, QE identity, CRLs), e.g. the\n"
            "                    cache of 'sealbox collateral'\n"
            "  --policy FILE     appraisal policy (JSON, docs/policy.md)\n"
            "  --at TIME         verification time, RFC 3339 or Unix seconds (default: now)\n"
            "  --nonce HEX       expected freshness value\n"
            "  --tpm-enrolled DIR  registry of AKs enrolled by 'sealbox tpm enroll' (e.g.\n"
            "                    STATE/tpm-enrolled): an enrolled AK counts as certified\n"
            "  --token KEY       sign the result as an EAR JWT (ES256/ES384) with the PEM EC\n"
            "                    private key KEY; printed as 'token: <jwt>' (see 'sealbox jwks')\n"
            "  --json            print {\"claims\", \"exit\", ...} as JSON\n\n"
            "exit: 0 authenticated and affirming, 1 authenticated but warning or\n"
            "contraindicated, 2 cannot read or authenticate the evidence, or usage error.\n");
}

struct verify_args {
    const char *platform;
    char *certs[SB_VERIFY_MAX_FILES];
    size_t n_certs;
    const char *collateral;
    const char *at;
    const char *nonce;
    const char *policy;
    const char *token;
    const char *tpm_enrolled;
    bool json;
};

static int fail(bool json, int rc, const char *msg) {
    int code = sb_verify_exit_code(rc);
    if (json) {
        json_t *o = json_pack("{s:s, s:{s:s, s:s}, s:i}", "verdict",
                              code == 1 ? "contraindicated" : "error", "error", "code",
                              sb_strerror(rc), "message", msg, "exit", code);
        if (o) {
            char *s = json_dumps(o, JSON_INDENT(2) | JSON_SORT_KEYS);
            if (s) printf("%s\n", s);
            free(s);
            json_decref(o);
        }
    }
    fprintf(stderr, "sealbox verify: %s\n", msg);
    if (!json)
        printf("verdict: %s (%s) — exit %d\n",
               rc == SB_E_USAGE || rc == SB_E_IO ? "error"
               : rc == SB_E_POLICY               ? "contraindicated"
                                                 : "cannot authenticate",
               sb_strerror(rc), code);
    return code;
}

static const char *jstr(const json_t *o, const char *k) {
    const char *s = json_string_value(json_object_get(o, k));
    return s ? s : NULL;
}

static void print_claims_human(const json_t *claims) {
    printf("platform: %s (format %s", jstr(claims, "platform") ? jstr(claims, "platform") : "?",
           jstr(claims, "format") ? jstr(claims, "format") : "?");
    json_t *ver = json_object_get(claims, "version");
    if (json_is_integer(ver)) printf(", version %lld", (long long)json_integer_value(ver));
    printf(")\n");
    if (jstr(claims, "product")) printf("product: %s\n", jstr(claims, "product"));
    printf("verified at: %s\n", jstr(claims, "verified_at") ? jstr(claims, "verified_at") : "?");
    printf("debug: %s%s\n", json_is_true(json_object_get(claims, "debug")) ? "true" : "false",
           json_is_true(json_object_get(claims, "insecure")) ? "; INSECURE evidence" : "");
    const char *k;
    json_t *v;
    json_object_foreach(json_object_get(claims, "measurements"), k, v) {
        if (json_is_string(v)) printf("measurements.%s: %s\n", k, json_string_value(v));
    }
    if (jstr(claims, "report_data")) printf("report_data: %s\n", jstr(claims, "report_data"));
    json_t *tcb = json_object_get(claims, "tcb");
    if (json_is_object(tcb)) {
        printf("tcb:");
        if (jstr(tcb, "status")) printf(" status %s;", jstr(tcb, "status"));
        json_object_foreach(json_object_get(tcb, "components"), k, v) {
            if (json_is_integer(v)) printf(" %s=%lld", k, (long long)json_integer_value(v));
        }
        size_t i;
        json_t *a;
        json_array_foreach(json_object_get(tcb, "advisories"), i, a) {
            printf("%s%s", i == 0 ? "; advisories " : ",", json_string_value(a));
        }
        printf("\n");
    }
    size_t i;
    json_t *c;
    json_array_foreach(json_object_get(claims, "collateral"), i, c) {
        printf("collateral: %s %s (valid %s .. %s)\n", jstr(c, "kind") ? jstr(c, "kind") : "?",
               jstr(c, "subject") ? jstr(c, "subject") : "",
               jstr(c, "not_before") ? jstr(c, "not_before") : "?",
               jstr(c, "not_after") ? jstr(c, "not_after") : "?");
    }
    json_array_foreach(json_object_get(claims, "warnings"), i, c) {
        printf("warning (evidence): %s\n", json_string_value(c));
    }
}

static void print_appraisal_human(const struct sb_appraisal *ap) {
    size_t i;
    json_t *r;
    json_array_foreach(ap->reasons, i, r) {
        printf("reason [%s %lld, %s]: %s\n", jstr(r, "trust_claim"),
               (long long)json_integer_value(json_object_get(r, "code")), jstr(r, "tier"),
               jstr(r, "message"));
    }
    json_array_foreach(ap->notes, i, r) { printf("note: %s\n", json_string_value(r)); }
    printf("trustworthiness vector:");
    for (int t = 0; t < SB_TC_MAX; t++)
        printf(" %s=%d", sb_trust_claim_name((enum sb_trust_claim)t), ap->vector[t]);
    printf("\n");
}

static int verify_and_report(const struct verify_args *a, struct sb_verify_opts *o,
                             const sb_policy *policy, const sb_token_key *tk, char **paths,
                             size_t n_ev);

int sb_cmd_verify(int argc, char **argv) {
    static const struct option opts[] = {
        {"platform", required_argument, NULL, 'p'},
        {"certs", required_argument, NULL, 'c'},
        {"collateral", required_argument, NULL, 'C'},
        {"at", required_argument, NULL, 't'},
        {"nonce", required_argument, NULL, 'n'},
        {"json", no_argument, NULL, 'j'},
        {"policy", required_argument, NULL, 'P'},
        {"token", required_argument, NULL, 'T'},
        {"tpm-enrolled", required_argument, NULL, 'E'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    struct verify_args a = {0};
    optind = 1; /* GNU permutation: options may follow EVIDENCE paths, as users type them */
    opterr = 0;
    int ch;
    while ((ch = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (ch) {
        case 'p': a.platform = optarg; break;
        case 'c':
            if (a.n_certs >= SB_VERIFY_MAX_FILES) {
                fprintf(stderr, "sealbox verify: at most %u --certs files\n", SB_VERIFY_MAX_FILES);
                return SB_EXIT_USAGE;
            }
            a.certs[a.n_certs++] = optarg;
            break;
        case 'C': a.collateral = optarg; break;
        case 't': a.at = optarg; break;
        case 'n': a.nonce = optarg; break;
        case 'j': a.json = true; break;
        case 'P': a.policy = optarg; break;
        case 'T': a.token = optarg; break;
        case 'E': a.tpm_enrolled = optarg; break;
        case 'h': verify_usage(stdout); return 0;
        case '?':
        default:
            if (optopt)
                fprintf(stderr, "sealbox verify: option -%c needs a value or is unknown\n", optopt);
            else
                fprintf(stderr, "sealbox verify: unknown option '%s'\n", argv[optind - 1]);
            verify_usage(stderr);
            return SB_EXIT_USAGE;
        }
    }
    if (optind >= argc) {
        fprintf(stderr, "sealbox verify: no EVIDENCE file given\n");
        verify_usage(stderr);
        return SB_EXIT_USAGE;
    }
    sb_error err = {0};
    struct sb_verify_opts o = {.at = sb_time_now(), .collateral_dir = a.collateral};
    if (a.at && sb_time_parse(a.at, &o.at, &err) < 0) {
        (void)sb_error_prefix(&err, "--at %s", a.at);
        return fail(a.json, SB_E_USAGE, err.msg);
    }
    _cleanup_free_ uint8_t *nonce = NULL;
    if (a.nonce) {
        size_t nl = strlen(a.nonce);
        if (nl == 0 || nl > 2 * VERIFY_MAX_NONCE) {
            return fail(a.json, SB_E_USAGE, "--nonce: expected 1 to 1024 bytes of hex");
        }
        if (sb_hex_decode(a.nonce, nl, &nonce, &o.nonce_len, &err) < 0) {
            (void)sb_error_prefix(&err, "--nonce");
            return fail(a.json, SB_E_USAGE, err.msg);
        }
        o.nonce = nonce;
    }
    sb_policy *policy = NULL;
    int prc = a.policy ? sb_policy_load(a.policy, &policy, &err) : sb_policy_default(&policy, &err);
    if (prc < 0) {
        (void)sb_error_prefix(&err, "--policy");
        return fail(a.json, prc == SB_E_INTERNAL ? prc : SB_E_USAGE, err.msg);
    }
    sb_token_key *tk = NULL;
    if (a.token && sb_token_key_load(a.token, &tk, &err) < 0) {
        sb_policy_free(policy);
        (void)sb_error_prefix(&err, "--token");
        return fail(a.json, SB_E_USAGE, err.msg);
    }
    int code = verify_and_report(&a, &o, policy, tk, argv + optind, (size_t)(argc - optind));
    sb_token_key_free(tk);
    sb_policy_free(policy);
    return code;
}

static int verify_and_report(const struct verify_args *a, struct sb_verify_opts *o,
                             const sb_policy *policy, const sb_token_key *tk, char **paths,
                             size_t n_ev) {
    sb_error err = {0};
    struct sb_blob *ev = NULL, *certs = NULL;
    int rc = sb_blobs_load(paths, n_ev, &ev, &err);
    if (rc == 0) {
        rc = sb_blobs_load(a->certs, a->n_certs, &certs, &err);
        if (rc < 0) (void)sb_error_prefix(&err, "--certs");
    }
    if (rc < 0) {
        sb_blobs_free(ev, n_ev);
        return fail(a->json, rc, err.msg);
    }
    o->certs = certs;
    o->n_certs = a->n_certs;

    json_t *claims = NULL;
    const struct sb_verifier *used = NULL;
    rc = sb_verify(o, a->platform, ev, n_ev, &used, &claims, &err);
    sb_blobs_free(ev, n_ev);
    sb_blobs_free(certs, a->n_certs);
    if (rc < 0) return fail(a->json, rc, err.msg);
    /* A TPM quote's AK is proven by enrollment (sealbox tpm enroll) when a registry is given. */
    if (a->tpm_enrolled && json_object_get(json_object_get(claims, "platform_claims"), "ak_name")) {
        rc = sb_tpm_claims_apply_enrollment(a->tpm_enrolled, claims, &err);
        if (rc < 0) {
            json_decref(claims);
            (void)sb_error_prefix(&err, "--tpm-enrolled");
            return fail(a->json, rc, err.msg);
        }
    }

    struct sb_appraisal ap = {0};
    struct sb_appraise_ctx ctx = {.at = o->at, .nonce = o->nonce, .nonce_len = o->nonce_len};
    rc = sb_policy_appraise(policy, claims, &ctx, &ap, &err);
    if (rc < 0) {
        json_decref(claims);
        return fail(a->json, rc, err.msg);
    }
    int code = ap.status == SB_TIER_AFFIRMING ? 0 : 1;
    _cleanup_free_ char *jwt = NULL;
    if (tk) {
        struct sb_ear_input in = {.submod = used->name,
                                  .claims = claims,
                                  .appraisal = &ap,
                                  .iat = sb_time_now(),
                                  .nonce = o->nonce,
                                  .nonce_len = o->nonce_len};
        const char *plat = json_string_value(json_object_get(claims, "platform"));
        if (plat) in.submod = plat;
        json_t *payload = NULL;
        rc = sb_ear_build(&in, &payload, &err);
        if (rc == 0) rc = sb_jwt_sign(tk, payload, &jwt, &err);
        json_decref(payload);
        if (rc < 0) {
            sb_appraisal_clear(&ap);
            json_decref(claims);
            (void)sb_error_prefix(&err, "--token");
            return fail(a->json, rc, err.msg);
        }
    }
    if (a->json) {
        json_t *out = json_pack("{s:s, s:s, s:O, s:o*, s:i, s:s*}", "verdict",
                                sb_tier_name(ap.status), "verifier", used->name, "claims", claims,
                                "appraisal", sb_appraisal_json(&ap), "exit", code, "token", jwt);
        char *js = out ? json_dumps(out, JSON_INDENT(2) | JSON_SORT_KEYS) : NULL;
        json_decref(out);
        if (!js) {
            sb_appraisal_clear(&ap);
            json_decref(claims);
            return fail(a->json, SB_E_INTERNAL, "out of memory");
        }
        printf("%s\n", js);
        free(js);
    } else {
        printf("verdict: %s — exit %d (authenticated by the %s verifier; policy %s)\n",
               sb_tier_name(ap.status), code, used->name, ap.policy_id);
        print_claims_human(claims);
        print_appraisal_human(&ap);
        if (jwt) printf("token: %s\n", jwt);
    }
    sb_appraisal_clear(&ap);
    json_decref(claims);
    return code;
}
