/* bench_kbs_tpm: full KBS handshakes (auth + attest + resource, the JWE opened) with the TPM
 * attester against a real `sealboxd --kbs-only`, next to the anchor that bounds them, measured
 * in the same run: swtpm's own quotes per second (AK re-created from its template, PCR reads,
 * TPM2_Quote — what every TPM handshake asks of the TPM). The swtpm is started for the run
 * (tests/swtpm_fixture.h) and its AK is enrolled with the KBS by credential activation against
 * the swtpm's EK CA, as `sealbox tpm enroll --state-dir` does, so the KBS's attestation policy
 * appraises the quotes as affirming (swtpm is software: they stay marked insecure, which the
 * bench's policies allow). One client thread: a TPM answers one command at a time. Alternating
 * rounds; the median ratio of handshakes to quotes is the figure. */
#include <curl/curl.h>
#include <ftw.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../tests/swtpm_fixture.h"
#include "attester/attester.h"
#include "bench_util.h"
#include "crypto/crypto.h"
#include "kbs/kbs.h"
#include "store/store.h"
#include "verify/verify.h"

#define ROUNDS 3
#define QUOTE_NS 1500000000ull /* quotes per round */
#define HS_NS 2000000000ull    /* handshakes per round */
#define RESOURCE "bench/key/tpm"
#define PCRS ((1u << 0) | (1u << 7)) /* sha256:0,7 */

static int rm_entry(const char *p, const struct stat *st, int flag, struct FTW *f) {
    (void)st;
    (void)flag;
    (void)f;
    return remove(p);
}

static int setup(const char *dir, sb_error *err) {
    char path[4300];
    snprintf(path, sizeof(path), "%s/sealbox.db", dir);
    sb_store *st = NULL;
    TRY(sb_store_open(path, &st, err));
    sb_kbs_master m = {0};
    uint8_t value[32];
    int r = sb_kbs_master_load(dir, st, &m, err);
    if (r == 0) r = sb_random(value, sizeof(value), err);
    if (r == 0) r = sb_kbs_resource_put(st, &m, RESOURCE, value, sizeof(value), err);
    /* swtpm quotes are insecure (software TPM); an unenrolled AK would make them not affirming */
    if (r == 0)
        r = sb_store_kbs_policy_put(st, "attestation",
                                    "{\"platforms\":[\"tpm\"],\"allow_insecure\":true}", err);
    if (r == 0)
        r = sb_store_kbs_policy_put(
            st, "resource", "{\"rules\":[{\"resources\":[\"bench/*/*\"],\"allow_insecure\":true}]}",
            err);
    sb_kbs_master_clear(&m);
    sb_store_close(st);
    return r;
}

/* Enrolls the TPM's AK in <dir>/tpm-enrolled against the swtpm's EK CA. */
static int enroll(sb_tpm *t, const char *ca_bundle, const char *dir, sb_error *err) {
    uint8_t *pem = NULL;
    size_t n = 0;
    TRY(sb_read_file(ca_bundle, 1u << 20, &pem, &n, err));
    struct sb_tpm_ek_trust trust = {0};
    int rc = sb_tpm_ek_trust_load(pem, n, sb_time_now(), &trust, err);
    free(pem);
    json_t *req = NULL;
    struct sb_tpm_enrollment e = {0};
    uint8_t cred[SB_TPM_MAX_CREDENTIAL];
    size_t credn = 0;
    char reg[4200];
    snprintf(reg, sizeof(reg), "%s/tpm-enrolled", dir);
    if (rc == 0) rc = sb_tpm_enroll_request(t, &req, err);
    if (rc == 0) rc = sb_tpm_enroll_begin(&trust, req, &e, err);
    if (rc == 0) rc = sb_tpm_enroll_activate(t, e.challenge, cred, &credn, err);
    if (rc == 0) rc = sb_tpm_enroll_finish(reg, &e, cred, credn, sb_time_now(), err);
    sb_tpm_enrollment_clear(&e);
    json_decref(req);
    sb_tpm_ek_trust_clear(&trust);
    return rc;
}

static int evidence(void *arg, const json_t *rd, json_t **ev, sb_error *err) {
    return sb_attester_evidence(arg, rd, ev, err);
}

/* Quotes per second on t for QUOTE_NS. */
static double quotes(sb_tpm *t, sb_error *err) {
    uint8_t qd[48] = {1};
    uint64_t t0 = sb_mono_ns(), n = 0;
    while (sb_mono_ns() - t0 < QUOTE_NS) {
        json_t *ev = NULL;
        if (sb_tpm_quote(t, qd, sizeof(qd), &ev, err) < 0) return -1;
        json_decref(ev);
        qd[0]++;
        n++;
    }
    return (double)n * 1e9 / (double)(sb_mono_ns() - t0);
}

/* Handshakes per second for HS_NS over one kept-alive connection. */
static double handshakes(const char *sock, sb_attester *a, sb_error *err) {
    struct sb_kbs_client_opts o = {.url = "http://kbs",
                                   .unix_socket = sock,
                                   .tee = sb_attester_tee(a),
                                   .evidence = evidence,
                                   .evidence_arg = a};
    sb_kbs_http *h = NULL;
    TRY(sb_kbs_http_new(&o, &h, err));
    struct sb_kbs_transport tr;
    sb_kbs_http_transport(h, &tr);
    uint64_t t0 = sb_mono_ns(), n = 0;
    int rc = 0;
    while (rc == 0 && sb_mono_ns() - t0 < HS_NS) {
        uint8_t *v = NULL;
        size_t len = 0;
        rc = sb_kbs_client_run(&o, &tr, RESOURCE, &v, &len, err);
        if (rc == 0 && len != 32)
            rc = sb_error_set(err, SB_E_INTERNAL, "resource of %zu bytes", len);
        free(v);
        n++;
    }
    double rate = (double)n * 1e9 / (double)(sb_mono_ns() - t0);
    sb_kbs_http_free(h);
    return rc < 0 ? -1 : rate;
}

int main(int argc, char **argv) {
    (void)argc;
    char bin[4096], dir[] = "/tmp/sealbox-bench-kbs-tpm.XXXXXX";
    snprintf(bin, sizeof(bin), "%s", argv[0]);
    char *slash = strrchr(bin, '/');
    if (slash)
        *slash = 0;
    else
        snprintf(bin, sizeof(bin), ".");
    if (!mkdtemp(dir)) return 1;
    struct swtpm tpmd;
    memset(&tpmd, 0, sizeof(tpmd));
    if (!swtpm_start(&tpmd, dir)) {
        printf("bench_kbs_tpm: skipped: %s\n", tpmd.why);
        (void)nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
        return 0;
    }
    char sock[4300], sbd[4200], log[4300];
    snprintf(sock, sizeof(sock), "%s/sealboxd.sock", dir);
    snprintf(sbd, sizeof(sbd), "%s/sealboxd", bin);
    snprintf(log, sizeof(log), "%s/log", dir);
    sb_error err = {0};
    struct sb_tpm_config cfg = {.tcti = tpmd.tcti, .bank = SB_TPM_ALG_SHA256, .pcrs = PCRS};
    sb_tpm *t = NULL;
    sb_attester *a = NULL;
    int rc = curl_global_init(CURL_GLOBAL_DEFAULT) == 0 ? 0 : 1;
    if (rc == 0 &&
        (setup(dir, &err) < 0 || sb_tpm_open(&cfg, &t, &err) < 0 ||
         enroll(t, tpmd.ca_bundle, dir, &err) < 0 || sb_attester_open_tpm(&cfg, &a, &err) < 0))
        rc = 1;
    pid_t pid = -1;
    if (rc == 0 && (pid = fork()) == 0) {
        execl(sbd, "sealboxd", "--kbs-only", "--state-dir", dir, "--log-file", log, "--log-level",
              "warn", (char *)NULL);
        _exit(127);
    }
    struct stat st;
    for (int i = 0; rc == 0 && i < 200 && stat(sock, &st) < 0; i++)
        usleep(50000);
    double q[ROUNDS] = {0}, hs[ROUNDS] = {0}, ratio[ROUNDS] = {0};
    for (int i = 0; i < ROUNDS && rc == 0; i++) {
        q[i] = quotes(t, &err);
        hs[i] = q[i] < 0 ? -1 : handshakes(sock, a, &err);
        if (q[i] <= 0 || hs[i] <= 0) rc = 1;
        ratio[i] = rc == 0 ? hs[i] / q[i] : 0;
    }
    if (pid > 0) {
        kill(pid, SIGTERM);
        waitpid(pid, NULL, 0);
    }
    sb_attester_free(a);
    sb_tpm_close(t);
    swtpm_fixture_kill();
    (void)nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    curl_global_cleanup();
    if (rc != 0) {
        fprintf(stderr, "bench_kbs_tpm: %s\n", err.msg);
        return 1;
    }
    printf("TPM attester (swtpm, AK enrolled with the KBS by credential activation; quotes of "
           "sha256:0,7), 1 client, HTTP/1.1 over the unix socket, %d alternating rounds:\n",
           ROUNDS);
    printf("  swtpm quotes:          median %.1f/s (min %.1f, max %.1f)\n", bench_median(q, ROUNDS),
           bench_min(q, ROUNDS), bench_max(q, ROUNDS));
    printf("  full TPM handshakes:   median %.1f/s (min %.1f, max %.1f)\n",
           bench_median(hs, ROUNDS), bench_min(hs, ROUNDS), bench_max(hs, ROUNDS));
    printf("  handshakes per quote:  median %.2f (min %.2f, max %.2f; 1.00 = the TPM is the only "
           "cost)\n",
           bench_median(ratio, ROUNDS), bench_min(ratio, ROUNDS), bench_max(ratio, ROUNDS));
    return 0;
}
