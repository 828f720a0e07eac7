/* test_kbs_e2e: the key broker end to end with the real daemon (sealboxd --kbs-only, its
 * confined front and its monitor), the real CLI for admin keys and rotation, the software
 * attester and the library client: the default policy refuses software evidence and an explicit
 * one releases to it; resource-policy refusals name the failed requirement; a sandbox
 * measurement log of the allowed image is released to, and a tainted log, another image, no log
 * and a log that does not replay to its stated digest are refused; tampered evidence,
 * a replayed nonce and an expired session are refused; a wrong admin key is 401; a bearer EAR
 * token works without the cookie; the KBS restarts (and rotates its master key while running)
 * and still serves; and the secret's bytes are nowhere on disk. */
#include <curl/curl.h>
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "api/api.h"
#include "attester/attester.h"
#include "crypto/crypto.h"
#include "harness.h"
#include "kbs/kbs.h"
#include "sandbox/sandbox.h"

static char T[4096], D[4200], SOCK[4300], BIN[4096], KEY[128];
static pid_t daemon_pid;
static char SECRET[80];

static void start_daemon(void) {
    char sbd[4200];
    snprintf(sbd, sizeof(sbd), "%s/sealboxd", BIN);
    pid_t p = fork();
    if (p == 0) {
        char log[4300];
        snprintf(log, sizeof(log), "%s/log", D);
        execl(sbd, "sealboxd", "--kbs-only", "--state-dir", D, "--log-file", log,
              "--kbs-session-ttl", "1", (char *)NULL);
        _exit(127);
    }
    daemon_pid = p;
    /* the socket file alone is not enough: a restarted daemon's file may be the old one */
    if (!sb_test_wait_unix(SOCK, 30000)) sb_test_fail(__FILE__, __LINE__, "sealboxd did not start");
}

static void stop_daemon(void) {
    if (daemon_pid <= 0) return;
    kill(daemon_pid, SIGTERM);
    int st = 0;
    waitpid(daemon_pid, &st, 0);
    CHECK_MSG(WIFEXITED(st) && WEXITSTATUS(st) == 0, "sealboxd exited with status %d", st);
    daemon_pid = 0;
}

/* ---- a tiny HTTP helper over the daemon's unix socket (libcurl) ---------------------------- */

struct resp {
    long status;
    char body[256 * 1024];
    size_t len;
};

static size_t collect(char *p, size_t sz, size_t nm, void *arg) {
    struct resp *r = arg;
    size_t n = sz * nm;
    if (r->len + n >= sizeof(r->body)) return 0;
    memcpy(r->body + r->len, p, n);
    r->len += n;
    r->body[r->len] = 0;
    return n;
}

/* One request with the handle's cookie jar (c keeps the session between calls). */
static void http(CURL *c, const char *method, const char *route, const char *body,
                 const char *bearer, struct resp *r) {
    static char auth[SB_IPC_KBS_TOKEN_MAX + 64];
    char url[512];
    snprintf(url, sizeof(url), "http://kbs/kbs/v0/%s", route);
    struct curl_slist *h = NULL;
    if (bearer) {
        snprintf(auth, sizeof(auth), "Authorization: Bearer %s", bearer);
        h = curl_slist_append(h, auth);
    }
    if (body) h = curl_slist_append(h, "Content-Type: application/json");
    memset(r, 0, sizeof(*r));
    curl_easy_setopt(c, CURLOPT_UNIX_SOCKET_PATH, SOCK);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, r);
    curl_easy_setopt(c, CURLOPT_COOKIEFILE, "");
    if (body) {
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
    } else {
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, NULL);
        curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
        curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    }
    CURLcode rc = curl_easy_perform(c);
    CHECK_MSG(rc == CURLE_OK, "%s %s: %s", method, route, curl_easy_strerror(rc));
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->status);
    curl_slist_free_all(h);
}

static void admin(const char *method, const char *route, const char *body, const char *key,
                  long want) {
    CURL *c = curl_easy_init();
    struct resp *r = calloc(1, sizeof(*r));
    http(c, method, route, body, key, r);
    CHECK_MSG(r->status == want, "%s %s: %ld (want %ld): %s", method, route, r->status, want,
              r->body);
    free(r);
    curl_easy_cleanup(c);
}

static void set_policy(const char *which, const char *doc) {
    char *b64 = sb_base64_encode((const uint8_t *)doc, strlen(doc));
    char body[4096];
    snprintf(body, sizeof(body), "{\"type\":\"sealbox\",\"policy\":\"%s\"}", b64);
    free(b64);
    admin("POST", which, body, KEY, 200);
}

/* ---- the client ------------------------------------------------------------------------------ */

static sb_attester *ATT;
static int tamper; /* 0: honest; 1: flip a report_data digit; 2: flip the signature */

static int evidence(void *arg, const json_t *rd, json_t **ev, sb_error *err) {
    (void)arg;
    TRY(sb_attester_evidence(ATT, rd, ev, err));
    const char *field = tamper == 1 ? "report_data" : tamper == 2 ? "signature" : NULL;
    if (field) {
        char *v = strdup(json_string_value(json_object_get(*ev, field)));
        v[3] = v[3] == 'a' ? 'b' : 'a';
        json_object_set_new(*ev, field, json_string(v));
        free(v);
    }
    return 0;
}

static char *LOG; /* the exported measurement log to present, if any */

/* A sandbox log as the monitor writes it: image, the config section sb_mlog_config makes of a
 * real sandbox config, entrypoint, then execs more commands. */
static char *make_log(const char *image, int execs) {
    sb_error err = {0};
    struct sb_sandbox_config sc = {0};
    char *argv[] = {(char *)"/bin/agent", NULL}, *env[] = {(char *)"PATH=/bin", NULL};
    json_t *cfg = NULL;
    CHECK_OK(sb_mlog_config(&sc, env, &cfg, &err), &err);
    sb_mlog *l = NULL;
    CHECK_OK(sb_mlog_new(image, cfg, &l, &err), &err);
    json_decref(cfg);
    uint8_t d[48] = {7};
    for (int i = 0; l && i <= execs; i++)
        CHECK_OK(sb_mlog_add_exec(l, argv, env, "/", "/bin/agent", d, &err), &err);
    char *out = NULL;
    size_t n = 0;
    if (l) CHECK_OK(sb_mlog_export(l, &out, &n, &err), &err);
    sb_mlog_free(l);
    return out;
}

static int get(const char *path, uint8_t **v, size_t *n, sb_error *err) {
    struct sb_kbs_client_opts o = {.url = "http://kbs",
                                   .unix_socket = SOCK,
                                   .tee = sb_attester_tee(ATT),
                                   .evidence = evidence,
                                   .log_json = LOG,
                                   .log_len = LOG ? strlen(LOG) : 0};
    *v = NULL;
    return sb_kbs_client_get(&o, path, v, n, err);
}

static void expect_value(const char *path, const char *want) {
    uint8_t *v = NULL;
    size_t n = 0;
    sb_error err = {0};
    CHECK_OK(get(path, &v, &n, &err), &err);
    CHECK_INT(n, strlen(want));
    if (v) CHECK_MEM(v, want, n);
    free(v);
}

static void expect_refusal(const char *path, int code, const char *why) {
    uint8_t *v = NULL;
    size_t n = 0;
    sb_error err = {0};
    CHECK_INT(get(path, &v, &n, &err), code);
    CHECK_CONTAINS(err.msg, why);
    free(v);
}

/* An attest body for the session in c (after auth): the attester's evidence for its nonce. */
static char *attest_body(CURL *c, sb_privkey **tk) {
    struct resp *r = calloc(1, sizeof(*r));
    http(c, "POST", "auth",
         "{\"version\":\"0.4.0\",\"tee\":\"sealbox-software\",\"extra-params\":\"\"}", NULL, r);
    CHECK_INT(r->status, 200);
    json_t *ch = json_loads(r->body, 0, NULL);
    sb_error err = {0};
    json_t *pub = NULL, *ev = NULL;
    CHECK_OK(sb_privkey_generate_ec(SB_CURVE_P256, tk, &err), &err);
    CHECK_OK(sb_jwe_tee_pubkey(*tk, &pub, &err), &err);
    json_t *rd = json_pack("{s:O, s:O, s:s}", "tee-pubkey", pub, "nonce",
                           json_object_get(ch, "nonce"), "additional-evidence", "");
    CHECK_OK(sb_attester_evidence(ATT, rd, &ev, &err), &err);
    json_object_del(rd, "additional-evidence");
    json_t *b = json_pack("{s:o, s:{s:o, s:s}}", "runtime-data", rd, "tee-evidence",
                          "primary_evidence", ev, "additional_evidence", "");
    char *s = json_dumps(b, JSON_COMPACT);
    json_decref(b);
    json_decref(pub);
    json_decref(ch);
    free(r);
    return s;
}

/* True when needle's bytes are in any regular file under dir (recursively). */
static bool tree_has(const char *dir, const char *needle, char *where, size_t cap) {
    DIR *d = opendir(dir);
    if (!d) return false;
    struct dirent *e;
    bool hit = false;
    while (!hit && (e = readdir(d))) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
        char p[8192];
        snprintf(p, sizeof(p), "%s/%s", dir, e->d_name);
        struct stat st;
        if (lstat(p, &st) < 0) continue;
        if (S_ISDIR(st.st_mode)) {
            hit = tree_has(p, needle, where, cap);
        } else if (S_ISREG(st.st_mode)) {
            uint8_t *b = NULL;
            size_t n = 0;
            sb_error err = {0};
            if (sb_read_file(p, 256u << 20, &b, &n, &err) == 0 &&
                memmem(b, n, needle, strlen(needle))) {
                hit = true;
                snprintf(where, cap, "%s", p);
            }
            free(b);
        }
    }
    closedir(d);
    return hit;
}

TEST(kbs_end_to_end) {
    const char *b = getenv("SEALBOX_BUILD_DIR");
    CHECK_MSG(b != NULL, "SEALBOX_BUILD_DIR is not set");
    if (!b) return;
    snprintf(BIN, sizeof(BIN), "%s", b);
    snprintf(T, sizeof(T), "%s", sb_test_tmpdir());
    snprintf(D, sizeof(D), "%s/state", T);
    snprintf(SOCK, sizeof(SOCK), "%s/sealboxd.sock", D);
    mkdir(D, 0700);
    /* The admin key, from the real CLI. */
    char cmd[16384];
    snprintf(cmd, sizeof(cmd), "'%s/sealbox' kbs admin-key create --state-dir '%s' 2>/dev/null",
             BIN, D);
    FILE *f = popen(cmd, "r");
    CHECK(f && fgets(KEY, sizeof(KEY), f));
    if (f) pclose(f);
    KEY[strcspn(KEY, "\n")] = 0;
    CHECK_INT(strlen(KEY), SB_APIKEY_LEN);
    uint8_t rnd[24];
    sb_error err = {0};
    CHECK_OK(sb_random(rnd, sizeof(rnd), &err), &err);
    char hex[49];
    sb_hex_encode(rnd, sizeof(rnd), hex);
    snprintf(SECRET, sizeof(SECRET), "kbs-e2e-secret-%s", hex);
    char akey[4400];
    snprintf(akey, sizeof(akey), "%s/client/attester.pem", T);
    snprintf(cmd, sizeof(cmd), "%s/client", T);
    mkdir(cmd, 0700);
    CHECK_OK(sb_attester_open_software(akey, &ATT, &err), &err);
    if (!ATT) return;
    start_daemon();

    /* Admin: a wrong key is 401; the right one stores the resource. */
    char route[256];
    admin("POST", "resource/default/key/k1", SECRET,
          "sbk_000000000000_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", 401);
    admin("POST", "resource/default/key/k1", SECRET, NULL, 401);
    admin("POST", "resource/default/key/k1", SECRET, KEY, 200);
    admin("POST", "resource/img/key/k2", "image-bound", KEY, 200);
    admin("GET", "resources", NULL, KEY, 200);

    /* Software evidence under the default policies: refused, and the reason says why. */
    expect_refusal("default/key/k1", SB_E_POLICY, "insecure");
    /* Explicitly allowed in both policies: released. */
    set_policy("attestation-policy", "{\"platforms\":[\"software\"],\"allow_insecure\":true}");
    expect_refusal("default/key/k1", SB_E_POLICY, "needs allow_insecure");
    set_policy("resource-policy",
               "{\"rules\":[{\"resources\":[\"default/key/*\"],\"allow_insecure\":true,"
               "\"allow_tainted\":true},"
               "{\"resources\":[\"img/*/*\"],\"allow_insecure\":true,\"require_log\":true,"
               "\"image_digests\":[\"sha256:"
               "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08\"]}]}");
    expect_value("default/key/k1", SECRET);
    /* A rule that wants an image digest refuses a client without a sandbox log, and says so. */
    expect_refusal("img/key/k2", SB_E_POLICY, "no sandbox measurement log");
    /* With a sandbox log: the image digest decides, and the refusal names it; a log that shows
     * a later exec is tainted; a log that is not the one the evidence bound is refused. */
    LOG = make_log("sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08", 0);
    expect_value("img/key/k2", "image-bound");
    free(LOG);
    LOG = make_log("sha256:b5bb9d8014a0f9b1d61e21e796d78dccdf1352f23cd32812f4850b878ae4944c", 0);
    expect_refusal("img/key/k2", SB_E_POLICY,
                   "image digest sha256:b5bb9d8014a0f9b1d61e21e796d78dccdf1352f23cd32812f4850b878ae"
                   "4944c is not in the allowed set");
    free(LOG);
    LOG = make_log("sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08", 1);
    expect_refusal("img/key/k2", SB_E_POLICY, "tainted");
    expect_value("default/key/k1", SECRET); /* that rule allows tainted sandboxes */
    json_t *lj = json_loads(LOG, 0, NULL);
    json_array_remove(json_object_get(lj, "events"), 3); /* hide the exec, keep the digest */
    free(LOG);
    LOG = json_dumps(lj, JSON_COMPACT);
    expect_refusal("img/key/k2", SB_E_SIGNATURE, "sealbox_log");
    /* ... and the same log also claiming to be untainted: the replay still refuses it. */
    json_object_set_new(lj, "tainted", json_false());
    free(LOG);
    LOG = json_dumps(lj, JSON_COMPACT);
    json_decref(lj);
    expect_refusal("img/key/k2", SB_E_SIGNATURE, "sealbox_log");
    free(LOG);
    LOG = NULL;
    expect_refusal("default/key/none", SB_E_NOTFOUND, "no such resource");
    expect_refusal("other/key/k1", SB_E_POLICY, "no rule of the resource policy covers it");

    /* Tampered evidence: a changed report_data or signature does not verify. */
    tamper = 1;
    expect_refusal("default/key/k1", SB_E_SIGNATURE, "AttestationError");
    tamper = 2;
    expect_refusal("default/key/k1", SB_E_SIGNATURE, "verify TEE evidence failed");
    tamper = 0;

    /* Replay: the same attest body twice on one session, and on a fresh session. */
    CURL *c = curl_easy_init();
    sb_privkey *tk = NULL;
    char *body = attest_body(c, &tk);
    struct resp *r = calloc(1, sizeof(*r));
    http(c, "POST", "attest", body, NULL, r);
    CHECK_MSG(r->status == 200, "attest: %ld %s", r->status, r->body);
    json_t *tj = json_loads(r->body, 0, NULL);
    char *token = strdup(json_string_value(json_object_get(tj, "token")));
    json_decref(tj);
    http(c, "POST", "attest", body, NULL, r);
    CHECK_INT(r->status, 401);
    CHECK_CONTAINS(r->body, "already used");
    CURL *c2 = curl_easy_init();
    sb_privkey *tk2 = NULL;
    free(attest_body(c2, &tk2)); /* a fresh session with its own nonce */
    http(c2, "POST", "attest", body, NULL, r);
    CHECK_INT(r->status, 401);
    CHECK_CONTAINS(r->body, "nonce in the handshake session is different");
    curl_easy_cleanup(c2);
    sb_privkey_free(tk2);
    /* The session is attested: the resource comes as a JWE to our key. */
    http(c, "GET", "resource/default/key/k1", NULL, NULL, r);
    CHECK_INT(r->status, 200);
    json_t *jwe = json_loads(r->body, 0, NULL);
    uint8_t *v = NULL;
    size_t n = 0;
    CHECK_OK(sb_jwe_decrypt(tk, jwe, &v, &n, &err), &err);
    CHECK(v && n == strlen(SECRET) && memcmp(v, SECRET, n) == 0);
    free(v);
    json_decref(jwe);
    /* The EAR token works as a bearer without the cookie; a forged one does not. */
    CURL *c3 = curl_easy_init();
    http(c3, "GET", "resource/default/key/k1", NULL, token, r);
    CHECK_MSG(r->status == 200, "bearer: %ld %s", r->status, r->body);
    token[strlen(token) - 3] ^= 1;
    http(c3, "GET", "resource/default/key/k1", NULL, token, r);
    CHECK_INT(r->status, 401);
    CHECK_CONTAINS(r->body, "TokenVerifierError");
    http(c3, "GET", "resource/default/key/k1", NULL, NULL, r);
    CHECK_INT(r->status, 401);
    CHECK_CONTAINS(r->body, "TokenNotFound");
    curl_easy_cleanup(c3);
    free(token);
    free(body);
    /* An expired session (--kbs-session-ttl 1): auth, wait past it, attest. */
    body = attest_body(c, &tk2);
    /* curl drops the cookie itself at Max-Age: send it by hand to reach the server's check. */
    struct curl_slist *jar = NULL;
    curl_easy_getinfo(c, CURLINFO_COOKIELIST, &jar);
    char cookie[128] = "";
    for (struct curl_slist *j = jar; j; j = j->next) {
        const char *sv = strstr(j->data, "kbs-session-id\t");
        if (sv) snprintf(cookie, sizeof(cookie), "kbs-session-id=%s", sv + 15);
    }
    curl_slist_free_all(jar);
    CHECK_INT(strlen(cookie), 15 + SB_KBS_SESSION_ID_LEN);
    struct timespec ts = {1, 300000000};
    nanosleep(&ts, NULL);
    curl_easy_setopt(c, CURLOPT_COOKIE, cookie);
    http(c, "POST", "attest", body, NULL, r);
    CHECK_INT(r->status, 401);
    CHECK_CONTAINS(r->body, "expired");
    free(body);
    sb_privkey_free(tk2);
    sb_privkey_free(tk);
    curl_easy_cleanup(c);
    free(r);

    /* Rotate the master key while the KBS runs, then restart it: it still serves. */
    snprintf(cmd, sizeof(cmd), "'%s/sealbox' kbs rotate-master-key --state-dir '%s' >/dev/null",
             BIN, D);
    CHECK_INT(system(cmd), 0);
    expect_value("default/key/k1", SECRET);
    stop_daemon();
    start_daemon();
    expect_value("default/key/k1", SECRET);
    snprintf(route, sizeof(route), "resource/default/key/k1");
    admin("DELETE", route, NULL, KEY, 200);
    expect_refusal("default/key/k1", SB_E_NOTFOUND, "no such resource");
    admin("POST", "resource/default/key/k1", SECRET, KEY, 200);
    stop_daemon();

    /* The secret's bytes are nowhere on disk: database, WAL, logs, the whole temporary tree. */
    char where[8192] = "";
    CHECK_MSG(!tree_has(T, SECRET, where, sizeof(where)), "the secret is in %s", where);
    sb_attester_free(ATT);
}
