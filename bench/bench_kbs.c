/* bench_kbs: full KBS handshakes per second (auth + attest + resource, then the JWE opened)
 * against a real `sealboxd --kbs-only` over its unix socket, with the software attester and
 * client threads on the same 2 cores — as a ratio to the crypto floor measured in the same run:
 * the signatures, key agreements and AEAD one handshake needs, with no HTTP, JSON, IPC or
 * SQLite, run back to back on the same number of cores. Goal: >= 1000 handshakes/s. Twice: with
 * the software attester's P-256 key (ES256, what a new key is) and with a P-384 key (ES384, key
 * files made before), whose signature alone costs ten times more. */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "attester/attester.h"
#include "crypto/crypto.h"
#include "kbs/kbs.h"
#include "store/store.h"

#define SECONDS 3.0
#define THREADS 4
#define CORES 2

static char SOCK[4300];
static volatile int stop;

static double now_s(void) { return (double)sb_mono_ns() / 1e9; }

static int evidence(void *arg, const json_t *rd, json_t **ev, sb_error *err) {
    return sb_attester_evidence(arg, rd, ev, err);
}

struct worker {
    pthread_t t;
    sb_attester *att;
    unsigned long done, failed;
    char why[SB_ERRMSG_MAX];
};

static void *run(void *arg) {
    struct worker *w = arg;
    struct sb_kbs_client_opts o = {.url = "http://kbs",
                                   .unix_socket = SOCK,
                                   .tee = sb_attester_tee(w->att),
                                   .evidence = evidence,
                                   .evidence_arg = w->att};
    while (!stop) {
        uint8_t *v = NULL;
        size_t n = 0;
        sb_error err = {0};
        if (sb_kbs_client_get(&o, "bench/key/one", &v, &n, &err) == 0 && n == 32) {
            w->done++;
        } else {
            w->failed++;
            snprintf(w->why, sizeof(w->why), "%s", err.msg);
        }
        free(v);
    }
    return NULL;
}

/* The crypto one handshake needs, nothing else: client TEE key (P-256), evidence signature
 * (ECDSA P-384) and its verification, the token's ES256 signature and the monitor's check of
 * it, the JWE (ephemeral P-256, two ECDH, Concat KDF, AES-KW, AES-GCM both ways), SHA-384 of the
 * binding. */
static enum sb_hash ev_hash = SB_HASH_SHA256; /* the evidence key's: SHA-256 for P-256 */

static int crypto_once(sb_privkey *evk, sb_pubkey *evpub, sb_privkey *tok, sb_pubkey *tokpub,
                       sb_error *err) {
    uint8_t d[48], *sig = NULL, *sig2 = NULL, *pt = NULL;
    size_t sl = 0, sl2 = 0, n = 0;
    sb_privkey *tee = NULL;
    json_t *jwk = NULL, *jwe = NULL;
    uint8_t value[32] = {1};
    int r = sb_privkey_generate_ec(SB_CURVE_P256, &tee, err);
    if (r == 0) r = sb_hash(SB_HASH_SHA384, "binding", 7, d, err);
    if (r == 0) r = sb_sign(evk, ev_hash, d, sizeof(d), SB_ECDSA_RAW_BE, &sig, &sl, err);
    if (r == 0) r = sb_ecdsa_verify(evpub, ev_hash, d, sizeof(d), sig, sl, SB_ECDSA_RAW_BE, err);
    if (r == 0) r = sb_sign(tok, SB_HASH_SHA256, d, sizeof(d), SB_ECDSA_RAW_BE, &sig2, &sl2, err);
    if (r == 0)
        r = sb_ecdsa_verify(tokpub, SB_HASH_SHA256, d, sizeof(d), sig2, sl2, SB_ECDSA_RAW_BE, err);
    if (r == 0) r = sb_jwe_tee_pubkey(tee, &jwk, err);
    if (r == 0) r = sb_jwe_encrypt(jwk, value, sizeof(value), &jwe, err);
    if (r == 0) r = sb_jwe_decrypt(tee, jwe, &pt, &n, err);
    free(sig);
    free(sig2);
    free(pt);
    json_decref(jwk);
    json_decref(jwe);
    sb_privkey_free(tee);
    return r;
}

static double crypto_floor(enum sb_curve curve, sb_error *err) {
    sb_privkey *evk = NULL, *tok = NULL;
    sb_pubkey *evpub = NULL, *tokpub = NULL;
    ev_hash = curve == SB_CURVE_P256 ? SB_HASH_SHA256 : SB_HASH_SHA384;
    if (sb_privkey_generate_ec(curve, &evk, err) < 0 ||
        sb_privkey_generate_ec(SB_CURVE_P256, &tok, err) < 0 ||
        sb_privkey_public(evk, &evpub, err) < 0 || sb_privkey_public(tok, &tokpub, err) < 0)
        return -1;
    unsigned long k = 0;
    double t0 = now_s(), t = t0;
    while (t - t0 < 1.0) {
        if (crypto_once(evk, evpub, tok, tokpub, err) < 0) return -1;
        k++;
        t = now_s();
    }
    sb_privkey_free(evk);
    sb_privkey_free(tok);
    sb_pubkey_free(evpub);
    sb_pubkey_free(tokpub);
    return (double)k / (t - t0);
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
    if (r == 0) r = sb_kbs_resource_put(st, &m, "bench/key/one", value, sizeof(value), err);
    if (r == 0)
        r = sb_store_kbs_policy_put(st, "attestation",
                                    "{\"platforms\":[\"software\"],\"allow_insecure\":true}", err);
    if (r == 0)
        r = sb_store_kbs_policy_put(
            st, "resource", "{\"rules\":[{\"resources\":[\"bench/*/*\"],\"allow_insecure\":true}]}",
            err);
    sb_kbs_master_clear(&m);
    sb_store_close(st);
    return r;
}

/* The software attester's key file of that curve (a P-384 one as a key made before was). */
static int write_key(const char *path, enum sb_curve curve, sb_error *err) {
    sb_privkey *k = NULL;
    char *pem = NULL;
    TRY(sb_privkey_generate_ec(curve, &k, err));
    int r = sb_privkey_to_pem(k, &pem, err);
    if (r == 0) r = sb_write_file_atomic(path, pem, strlen(pem), 0600, err);
    free(pem);
    sb_privkey_free(k);
    return r;
}

/* THREADS clients for SECONDS: handshakes per second, or -1. */
static double handshakes(const char *dir, enum sb_curve curve, unsigned long *total,
                         sb_error *err) {
    struct worker w[THREADS];
    memset(w, 0, sizeof(w));
    int rc = 0;
    for (int i = 0; i < THREADS && rc == 0; i++) {
        char kp[4400];
        snprintf(kp, sizeof(kp), "%s/attester-%s-%d.pem", dir,
                 curve == SB_CURVE_P256 ? "p256" : "p384", i);
        rc = write_key(kp, curve, err);
        if (rc == 0) rc = sb_attester_open_software(kp, &w[i].att, err);
    }
    stop = 0;
    double t0 = now_s();
    int started = 0;
    for (int i = 0; i < THREADS && rc == 0; i++, started++)
        pthread_create(&w[i].t, NULL, run, &w[i]);
    if (rc == 0) usleep((useconds_t)(SECONDS * 1e6));
    stop = 1;
    unsigned long done = 0, failed = 0;
    for (int i = 0; i < THREADS; i++) {
        if (i < started) pthread_join(w[i].t, NULL);
        done += w[i].done;
        failed += w[i].failed;
        sb_attester_free(w[i].att);
    }
    double el = now_s() - t0;
    if (rc < 0) return -1;
    if (failed || !done) {
        (void)sb_error_set(err, SB_E_IO, "%lu handshakes failed: %s", failed,
                           w[0].why[0] ? w[0].why : w[1].why);
        return -1;
    }
    *total = done;
    return (double)done / el;
}

int main(int argc, char **argv) {
    (void)argc;
    char bin[4096], dir[] = "/tmp/sealbox-bench-kbs.XXXXXX";
    snprintf(bin, sizeof(bin), "%s", argv[0]);
    char *slash = strrchr(bin, '/');
    if (slash)
        *slash = 0;
    else
        snprintf(bin, sizeof(bin), ".");
    if (!mkdtemp(dir)) return 1;
    snprintf(SOCK, sizeof(SOCK), "%s/sealboxd.sock", dir);
    sb_error err = {0};
    if (setup(dir, &err) < 0) {
        fprintf(stderr, "bench_kbs: %s\n", err.msg);
        return 1;
    }
    char sbd[4200], log[4300];
    snprintf(sbd, sizeof(sbd), "%s/sealboxd", bin);
    snprintf(log, sizeof(log), "%s/log", dir);
    pid_t pid = fork();
    if (pid == 0) {
        execl(sbd, "sealboxd", "--kbs-only", "--state-dir", dir, "--log-file", log, "--log-level",
              "warn", (char *)NULL);
        _exit(127);
    }
    struct stat st;
    for (int i = 0; i < 200 && stat(SOCK, &st) < 0; i++)
        usleep(50000);
    static const enum sb_curve CURVES[2] = {SB_CURVE_P256, SB_CURVE_P384};
    static const char *const NAMES[2] = {"P-256 key (ES256, new keys)",
                                         "P-384 key (ES384, older key files)"};
    double floor1[2] = {0}, hs[2] = {0};
    unsigned long total[2] = {0};
    int rc = 0;
    /* the floor and the handshakes of one curve next to each other, so both see the same load */
    for (int c = 0; c < 2 && rc == 0; c++) {
        floor1[c] = crypto_floor(CURVES[c], &err);
        hs[c] = floor1[c] < 0 ? -1 : handshakes(dir, CURVES[c], &total[c], &err);
        if (hs[c] < 0) rc = 1;
    }
    kill(pid, SIGTERM);
    waitpid(pid, NULL, 0);
    char rm[4200];
    snprintf(rm, sizeof(rm), "rm -rf '%s'", dir);
    if (system(rm) != 0) rc = 1;
    if (rc != 0) {
        fprintf(stderr, "bench_kbs: %s\n", err.msg);
        return 1;
    }
    for (int c = 0; c < 2; c++) {
        printf("software evidence, %s:\n", NAMES[c]);
        printf("  crypto floor, 1 core:            %.0f handshakes/s (x%d cores: %.0f)\n",
               floor1[c], CORES, floor1[c] * CORES);
        printf("  full handshakes (auth+attest+resource, %d clients, HTTP over a unix socket):\n",
               THREADS);
        printf("                                   %.0f handshakes/s  (goal >= 1000)\n", hs[c]);
        printf("  ratio to the crypto floor:       %.2f  (%lu handshakes in %.1f s)\n",
               hs[c] / (floor1[c] * CORES), total[c], SECONDS);
    }
    return 0;
}
