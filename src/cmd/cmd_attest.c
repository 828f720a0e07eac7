/* cmd_attest: `sealbox attest` — produce evidence with an attester (software or configfs-tsm)
 * bound to KBS runtime data (nonce, tee-pubkey, and the digest of a measurement log), for
 * development, demos and checking a confidential VM by hand (docs/secrets.md). */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "attester/attester.h"
#include "cmd.h"
#include "crypto/crypto.h"
#include "policy/policy.h"
#include "sandbox/sandbox.h"

#define JWK_MAX 16384

static void usage(FILE *f) {
    fprintf(
        f,
        "usage: sealbox attest (--software KEY | --tsm [DIR]) --nonce NONCE\n"
        "                      [--tee-pubkey JWK.json] [--log MLOG.json]\n"
        "                      [--additional-evidence STRING]\n\n"
        "Builds the KBS runtime data {\"tee-pubkey\", \"nonce\", \"additional-evidence\"\n"
        "[, \"sealbox-log\"]} and prints {\"tee\", \"runtime-data\", \"report_data\",\n"
        "\"evidence\"}: `jq .evidence` is what `sealbox verify` reads, report_data what a policy\n"
        "can require.\n\n"
        "  --software KEY   the software attester's key (P-256, created 0600 if missing;\n"
        "                   a P-384 key file signs ES384).\n"
        "                   INSECURE: proves nothing against anyone who can read KEY\n"
        "  --tsm [DIR]      configfs-tsm (SEV-SNP/TDX guests; default %s)\n"
        "  --nonce NONCE    the KBS challenge nonce (a string, as the KBS sent it)\n"
        "  --tee-pubkey F   the JWK of the key the secret will be encrypted to (default: a\n"
        "                   fresh P-256 key, printed and then discarded)\n"
        "  --log F          a measurement log (sealbox run --log, GET .../log): replayed, and\n"
        "                   its digest bound as \"sealbox-log\"\n\n"
        "exit status: 0, or 2 when no evidence could be made.\n",
        SB_TSM_DEFAULT_DIR);
}

static int fail(const char *what, const char *msg) {
    fprintf(stderr, "sealbox attest: %s%s%s\n", what, msg ? ": " : "", msg ? msg : "");
    return 2;
}

static int load_json(const char *path, size_t max, json_t **out, sb_error *err) {
    uint8_t *b = NULL;
    size_t n = 0;
    TRY(sb_read_file(path, max, &b, &n, err));
    json_error_t je;
    *out = json_loadb((const char *)b, n, JSON_REJECT_DUPLICATES, &je);
    free(b);
    ENSURE(*out, err, SB_E_MALFORMED, "%s: invalid JSON: %s", path, je.text);
    return 0;
}

/* The tee-pubkey: the given JWK, or a fresh P-256 key's public half. */
static int tee_pubkey(const char *path, json_t **out, sb_error *err) {
    if (path) return load_json(path, JWK_MAX, out, err);
    sb_privkey *k = NULL;
    sb_pubkey *p = NULL;
    TRY(sb_privkey_generate_ec(SB_CURVE_P256, &k, err));
    int rc = sb_privkey_public(k, &p, err);
    if (rc == 0) rc = sb_pubkey_to_jwk(p, out, err);
    if (rc == 0 && json_object_set_new(*out, "alg", json_string("ECDH-ES+A256KW")) < 0)
        rc = sb_error_set(err, SB_E_INTERNAL, "out of memory");
    sb_pubkey_free(p);
    sb_privkey_free(k);
    return rc;
}

int sb_cmd_attest(int argc, char **argv) {
    static const struct option opts[] = {{"software", required_argument, NULL, 's'},
                                         {"tsm", optional_argument, NULL, 't'},
                                         {"nonce", required_argument, NULL, 'n'},
                                         {"tee-pubkey", required_argument, NULL, 'k'},
                                         {"log", required_argument, NULL, 'l'},
                                         {"additional-evidence", required_argument, NULL, 'a'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    const char *sw = NULL, *tsm = NULL, *nonce = NULL, *jwk = NULL, *logp = NULL, *add = NULL;
    bool use_tsm = false;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 's': sw = optarg; break;
        case 't':
            use_tsm = true;
            tsm = optarg;
            break;
        case 'n': nonce = optarg; break;
        case 'k': jwk = optarg; break;
        case 'l': logp = optarg; break;
        case 'a': add = optarg; break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (optind != argc || !nonce || (!sw) == !use_tsm) {
        usage(stderr);
        return 2;
    }
    sb_error err = {0};
    json_t *pk = NULL;
    if (tee_pubkey(jwk, &pk, &err) < 0) return fail("--tee-pubkey", err.msg);
    json_t *rt = json_pack("{s:o, s:s, s:s}", "tee-pubkey", pk, "nonce", nonce,
                           "additional-evidence", add ? add : "");
    if (!rt) return fail("runtime data", "out of memory");
    if (logp) {
        uint8_t *b = NULL;
        size_t n = 0;
        struct sb_mlog_replay r;
        if (sb_read_file(logp, SB_MLOG_MAX_JSON, &b, &n, &err) < 0 ||
            sb_mlog_replay(b, n, &r, &err) < 0) {
            free(b);
            json_decref(rt);
            return fail("--log", err.msg);
        }
        free(b);
        char ds[104];
        sb_mlog_digest_str(r.digest, ds);
        sb_mlog_replay_clear(&r);
        (void)json_object_set_new(rt, "sealbox-log", json_string(ds));
    }
    sb_attester *a = NULL;
    int rc = sw ? sb_attester_open_software(sw, &a, &err) : sb_attester_open_tsm(tsm, &a, &err);
    json_t *ev = NULL;
    uint8_t rd[48];
    if (rc == 0) rc = sb_attester_evidence(a, rt, &ev, &err);
    if (rc == 0) rc = sb_policy_binding_digest(rt, rd, &err);
    if (rc < 0) {
        sb_attester_free(a);
        json_decref(rt);
        return fail(sw ? "software attester" : "configfs-tsm attester", err.msg);
    }
    char hex[97];
    sb_hex_encode(rd, sizeof(rd), hex);
    json_t *o = json_pack("{s:s, s:O, s:s, s:o}", "tee", sb_attester_tee(a), "runtime-data", rt,
                          "report_data", hex, "evidence", ev);
    char *s = o ? json_dumps(o, JSON_INDENT(2)) : NULL;
    if (s) printf("%s\n", s);
    if (sw)
        fprintf(stderr, "sealbox attest: software evidence is INSECURE: it proves nothing against "
                        "a privileged attacker\n");
    free(s);
    json_decref(o);
    json_decref(rt);
    sb_attester_free(a);
    return s ? 0 : fail("output", "out of memory");
}
