/* cmd_tpm: `sealbox tpm enroll|quote|ak` — the operator's side of the TPM attester: enroll
 * this host's AK into a verifier registry by credential activation, print a bound quote. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "attester/attester.h"
#include "cmd.h"
#include "policy/policy.h"
#include "verify/verify.h"

#define TPM_MAX_INPUT (1u << 20) /* --runtime-data and --ek-ca files */

static void tpm_usage(FILE *f) {
    fprintf(
        f, "usage: sealbox tpm [OPTIONS] enroll --ek-ca FILE\n"
           "       sealbox tpm [OPTIONS] quote (--runtime-data FILE | --nonce HEX)\n"
           "       sealbox tpm [OPTIONS] ak\n\n"
           "The TPM 2.0 attester (docs/secrets.md, \"TPM attester\").\n"
           "  enroll  proves this TPM's attestation key (AK) to the verifier registry in\n"
           "          STATE/tpm-enrolled: the EK certificate (NV 0x01c00002) must chain to the\n"
           "          EK CA bundle (PEM: roots and intermediates), and TPM2_ActivateCredential\n"
           "          must recover a credential made for that EK and the AK's name. Prints the\n"
           "          AK name. The verifier side runs in this process: use it on the\n"
           "          verifier's state directory (or copy the record file there).\n"
           "  quote   prints sealbox-tpm evidence JSON: a quote whose qualifyingData is the\n"
           "          binding digest of the runtime-data JSON ({\"tee-pubkey\", \"nonce\", ...}),\n"
           "          or the raw --nonce bytes (at most 64), with the PCR values it covers.\n"
           "  ak      prints the AK's name and public area (base64 TPMT_PUBLIC).\n\n"
           "options:\n"
           "  --tcti T          TPM connection (tctildr syntax), default device:/dev/tpmrm0;\n"
           "                    e.g. swtpm:host=127.0.0.1,port=2321\n"
           "  --pcrs BANK:LIST  PCRs to quote, e.g. sha256:0,1,7 (default sha256:0-7)\n"
           "  --eventlog FILE   include this TCG event log in the evidence\n"
           "  --state-dir DIR   default $SEALBOX_STATE_DIR, else /var/lib/sealbox\n\n"
           "exit: 0 done, 1 refused (enrollment not proven), 2 usage or TPM error\n");
}

static int report(int rc, const sb_error *err) {
    fprintf(stderr, "sealbox tpm: %s\n", err->msg[0] ? err->msg : sb_strerror(rc));
    return rc == SB_E_SIGNATURE || rc == SB_E_CHAIN || rc == SB_E_POLICY ? 1 : 2;
}

static int tpm_enroll(sb_tpm *t, const char *ek_ca, const char *state) {
    sb_error err = {0};
    uint8_t *pem = NULL;
    size_t n = 0;
    int rc = sb_read_file(ek_ca, TPM_MAX_INPUT, &pem, &n, &err);
    if (rc < 0) {
        (void)sb_error_prefix(&err, "--ek-ca %s", ek_ca);
        return report(SB_E_USAGE, &err);
    }
    struct sb_tpm_ek_trust trust = {0};
    rc = sb_tpm_ek_trust_load(pem, n, sb_time_now(), &trust, &err);
    free(pem);
    if (rc < 0) {
        (void)sb_error_prefix(&err, "--ek-ca %s", ek_ca);
        return report(SB_E_USAGE, &err);
    }
    json_t *req = NULL;
    struct sb_tpm_enrollment e = {0};
    uint8_t cred[SB_TPM_MAX_CREDENTIAL];
    size_t credn = 0;
    char dir[4096];
    int k = snprintf(dir, sizeof(dir), "%s/tpm-enrolled", state);
    if (k < 0 || (size_t)k >= sizeof(dir))
        rc = sb_error_set(&err, SB_E_USAGE, "--state-dir too long");
    if (rc == 0) rc = sb_tpm_enroll_request(t, &req, &err);
    if (rc == 0) rc = sb_tpm_enroll_begin(&trust, req, &e, &err);
    if (rc == 0) {
        rc = sb_tpm_enroll_activate(t, e.challenge, cred, &credn, &err);
        /* a TPM that cannot activate the credential does not hold this EK and AK together */
        if (rc == SB_E_IO) rc = SB_E_SIGNATURE;
    }
    if (rc == 0) rc = sb_tpm_enroll_finish(dir, &e, cred, credn, sb_time_now(), &err);
    if (rc == 0) {
        printf("enrolled AK %s\n", e.name_hex);
        printf("EK certificate: %s (issuer %s)\n",
               json_string_value(json_object_get(e.record, "ek_subject")),
               json_string_value(json_object_get(e.record, "ek_issuer")));
        printf("record: %s/%s.json\n", dir, e.name_hex);
    }
    sb_wipe(cred, sizeof(cred));
    sb_tpm_enrollment_clear(&e);
    json_decref(req);
    sb_tpm_ek_trust_clear(&trust);
    return rc < 0 ? report(rc, &err) : 0;
}

static int tpm_quote(sb_tpm *t, const char *rd_path, const char *nonce_hex) {
    sb_error err = {0};
    uint8_t qd[64];
    size_t qn = 0;
    int rc = 0;
    if (rd_path) {
        json_error_t je;
        json_t *rd = json_load_file(rd_path, JSON_REJECT_DUPLICATES, &je);
        if (!rd) {
            fprintf(stderr, "sealbox tpm: --runtime-data %s: %s (line %d)\n", rd_path, je.text,
                    je.line);
            return SB_EXIT_USAGE;
        }
        rc = sb_policy_binding_digest(rd, qd, &err);
        json_decref(rd);
        if (rc < 0) {
            (void)sb_error_prefix(&err, "--runtime-data %s", rd_path);
            return report(SB_E_USAGE, &err);
        }
        qn = sb_tpm_binding_len(t);
    } else {
        uint8_t *b = NULL;
        size_t bn = 0;
        if (sb_hex_decode(nonce_hex, strlen(nonce_hex), &b, &bn, &err) < 0 || bn > sizeof(qd)) {
            free(b);
            fprintf(stderr, "sealbox tpm: --nonce: expected at most 64 bytes of hex%s%s\n",
                    err.msg[0] ? ": " : "", err.msg);
            return SB_EXIT_USAGE;
        }
        memcpy(qd, b, bn);
        qn = bn;
        free(b);
    }
    json_t *ev = NULL;
    rc = sb_tpm_quote(t, qd, qn, &ev, &err);
    if (rc < 0) return report(rc, &err);
    char *text = json_dumps(ev, JSON_INDENT(2));
    json_decref(ev);
    if (!text) return 2;
    printf("%s\n", text);
    free(text);
    return 0;
}

static int tpm_ak(sb_tpm *t) {
    sb_error err = {0};
    uint8_t *pub = NULL, name[66];
    size_t pn = 0, nn = 0;
    int rc = sb_tpm_ak_public(t, &pub, &pn, name, &nn, &err);
    if (rc < 0) return report(rc, &err);
    char hex[133], *b64 = sb_base64_encode(pub, pn);
    sb_hex_encode(name, nn, hex);
    printf("name: %s\npublic: %s\n", hex, b64 ? b64 : "?");
    free(b64);
    free(pub);
    return 0;
}

int sb_cmd_tpm(int argc, char **argv) {
    static const struct option opts[] = {
        {"tcti", required_argument, NULL, 'T'},
        {"pcrs", required_argument, NULL, 'p'},
        {"eventlog", required_argument, NULL, 'l'},
        {"state-dir", required_argument, NULL, 's'},
        {"ek-ca", required_argument, NULL, 'e'},
        {"runtime-data", required_argument, NULL, 'r'},
        {"nonce", required_argument, NULL, 'n'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    struct sb_tpm_config cfg = {0};
    const char *state = getenv("SEALBOX_STATE_DIR"), *ek_ca = NULL, *rd = NULL, *nonce = NULL;
    if (!state || !*state) state = "/var/lib/sealbox";
    sb_error err = {0};
    optind = 1;
    opterr = 0;
    int ch;
    while ((ch = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (ch) {
        case 'T': cfg.tcti = optarg; break;
        case 'p':
            if (sb_tpm_pcr_spec_parse(optarg, &cfg.bank, &cfg.pcrs, &err) < 0) {
                fprintf(stderr, "sealbox tpm: --pcrs %s: %s\n", optarg, err.msg);
                return SB_EXIT_USAGE;
            }
            break;
        case 'l': cfg.event_log = optarg; break;
        case 's': state = optarg; break;
        case 'e': ek_ca = optarg; break;
        case 'r': rd = optarg; break;
        case 'n': nonce = optarg; break;
        case 'h': tpm_usage(stdout); return 0;
        case '?':
        default:
            fprintf(stderr, "sealbox tpm: unknown option or missing value '%s'\n",
                    argv[optind - 1]);
            tpm_usage(stderr);
            return SB_EXIT_USAGE;
        }
    }
    if (optind + 1 != argc) {
        fprintf(stderr, "sealbox tpm: expected one subcommand (enroll, quote, ak)\n");
        tpm_usage(stderr);
        return SB_EXIT_USAGE;
    }
    const char *sub = argv[optind];
    bool enroll = strcmp(sub, "enroll") == 0, quote = strcmp(sub, "quote") == 0;
    if (!enroll && !quote && strcmp(sub, "ak") != 0) {
        fprintf(stderr, "sealbox tpm: unknown subcommand '%s' (enroll, quote, ak)\n", sub);
        return SB_EXIT_USAGE;
    }
    if (enroll && !ek_ca) {
        fprintf(stderr, "sealbox tpm enroll: --ek-ca FILE is required (the pinned EK CA)\n");
        return SB_EXIT_USAGE;
    }
    if (quote && !rd == !nonce) {
        fprintf(stderr, "sealbox tpm quote: give exactly one of --runtime-data and --nonce\n");
        return SB_EXIT_USAGE;
    }
    sb_tpm *t = NULL;
    int rc = sb_tpm_open(&cfg, &t, &err);
    if (rc < 0) return report(rc, &err);
    int code = enroll ? tpm_enroll(t, ek_ca, state) : quote ? tpm_quote(t, rd, nonce) : tpm_ak(t);
    sb_tpm_close(t);
    return code;
}
