/* test_kbs_mlog: a sandbox's measurement log through the real key broker — sealboxd --kbs-only
 * with a resource and policies set over its admin API, and the real KBS client with the
 * software attester: an untainted log gets the secret; a tainted log, a missing log, a log from
 * another image and a log whose stated digest its events do not replay to are refused, each
 * with a reason that names why. */
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "attester/attester.h"
#include "harness.h"
#include "kbs/kbs.h"
#include "sandbox/sandbox.h"

#define IMG_A "sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define IMG_B "sha256:bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
#define SECRET "s3cret-for-image-a"

static char state[4096], sock[4200], admin_key[128];
static pid_t daemon_pid = -1;

static const char *bin(const char *name) {
    static char p[2][4096];
    static int i;
    const char *b = getenv("SEALBOX_BUILD_DIR");
    i ^= 1;
    snprintf(p[i], sizeof(p[i]), "%s/%s", b ? b : ".", name);
    return p[i];
}

/* curl against the broker's admin API; returns the HTTP status. */
static int admin(const char *method, const char *path, const char *body_file) {
    char cmd[9000], out[64] = "";
    snprintf(cmd, sizeof(cmd),
             "curl -s -o /dev/null -w '%%{http_code}' --unix-socket '%s' -X %s "
             "-H 'Authorization: Bearer %s' %s%s%s 'http://sealbox/kbs/v0/%s'",
             sock, method, admin_key, body_file ? "--data-binary @'" : "",
             body_file ? body_file : "", body_file ? "'" : "", path);
    FILE *p = popen(cmd, "r");
    if (!p) return -1;
    if (!fgets(out, sizeof(out), p)) out[0] = 0;
    pclose(p);
    int64_t st = -1;
    if (sb_parse_i64(out, 0, 999, &st, NULL, "status") < 0) return -1;
    return (int)st;
}

static void write_text(const char *path, const char *s) {
    sb_error err = {0};
    CHECK_OK(sb_write_file_atomic(path, s, strlen(s), 0600, &err), &err);
}

/* {"policy": base64(doc)} in a file for the admin API. */
static void policy_file(const char *path, const char *doc, bool attestation) {
    char *b64 = sb_base64_encode((const uint8_t *)doc, strlen(doc));
    char body[8192];
    snprintf(body, sizeof(body), "{%s\"policy\": \"%s\"}",
             attestation ? "\"type\": \"sealbox\", " : "", b64);
    free(b64);
    write_text(path, body);
}

static bool start_broker(void) {
    snprintf(state, sizeof(state), "%s/kbs", sb_test_tmpdir());
    snprintf(sock, sizeof(sock), "%s/sealboxd.sock", state);
    char cmd[8400];
    snprintf(cmd, sizeof(cmd), "'%s' kbs admin-key create --state-dir '%s' 2>/dev/null",
             bin("sealbox"), state);
    FILE *p = popen(cmd, "r");
    if (!p || !fgets(admin_key, sizeof(admin_key), p)) {
        if (p) pclose(p);
        CHECK_MSG(false, "sealbox kbs admin-key create failed");
        return false;
    }
    pclose(p);
    admin_key[strcspn(admin_key, "\n")] = 0;
    char logf[4200];
    snprintf(logf, sizeof(logf), "%s/log", state);
    daemon_pid = fork();
    if (daemon_pid == 0) {
        const char *a = getenv("ASAN_OPTIONS");
        char asan[512];
        /* the front runs under seccomp: LeakSanitizer cannot work there */
        snprintf(asan, sizeof(asan), "%s:detect_leaks=0", a ? a : "");
        setenv("ASAN_OPTIONS", asan, 1);
        execl(bin("sealboxd"), "sealboxd", "--kbs-only", "--state-dir", state, "--log-file", logf,
              (char *)NULL);
        _exit(127);
    }
    for (int i = 0; i < 200; i++) {
        struct stat st;
        if (stat(sock, &st) == 0 && admin("GET", "resources", NULL) == 200) return true;
        usleep(50000);
    }
    CHECK_MSG(false, "sealboxd --kbs-only did not come up");
    return false;
}

static void stop_broker(void) {
    if (daemon_pid > 0) {
        kill(daemon_pid, SIGTERM);
        waitpid(daemon_pid, NULL, 0);
        daemon_pid = -1;
    }
}

static int sw_evidence(void *arg, const json_t *rd, json_t **ev, sb_error *err) {
    return sb_attester_evidence(arg, rd, ev, err);
}

/* A log as a sandbox of image `image` running `commands` commands would have. */
static char *make_log(const char *image, int commands, size_t *len) {
    sb_error err = {0};
    struct sb_sandbox_config cfg = {0};
    char *env[] = {(char *)"PATH=/usr/bin", NULL};
    json_t *c = NULL;
    CHECK_OK(sb_mlog_config(&cfg, env, &c, &err), &err);
    sb_mlog *l = NULL;
    CHECK_OK(sb_mlog_new(image, c, &l, &err), &err);
    json_decref(c);
    uint8_t d[48];
    memset(d, 0x5a, sizeof(d));
    for (int i = 0; l && i < commands; i++) {
        char *argv[] = {(char *)"agent", NULL};
        CHECK_OK(sb_mlog_add_exec(l, argv, env, "/", "/usr/bin/agent", d, &err), &err);
    }
    char *s = NULL;
    if (l) CHECK_OK(sb_mlog_export(l, &s, len, &err), &err);
    sb_mlog_free(l);
    return s;
}

static int get(sb_attester *a, const char *log, size_t n, const char *path, char **value,
               sb_error *err) {
    struct sb_kbs_client_opts o = {.url = "http://sealbox",
                                   .unix_socket = sock,
                                   .tee = sb_attester_tee(a),
                                   .evidence = sw_evidence,
                                   .evidence_arg = a,
                                   .log_json = log,
                                   .log_len = n,
                                   .timeout_s = 60};
    uint8_t *v = NULL;
    size_t vn = 0;
    int rc = sb_kbs_client_get(&o, path, &v, &vn, err);
    *value = (char *)v;
    return rc;
}

TEST(kbs_releases_only_to_an_untainted_log_of_the_right_image) {
    if (!start_broker()) {
        stop_broker();
        return;
    }
    char f[4200];
    snprintf(f, sizeof(f), "%s/secret", state);
    write_text(f, SECRET);
    CHECK_INT(admin("POST", "resource/dev/key/a", f), 200);
    CHECK_INT(admin("POST", "resource/dev/any/a", f), 200);
    snprintf(f, sizeof(f), "%s/apolicy.json", state);
    policy_file(f, "{\"id\": \"dev\", \"allow_insecure\": true, \"platforms\": [\"software\"]}",
                true);
    CHECK_INT(admin("POST", "attestation-policy", f), 200);
    snprintf(f, sizeof(f), "%s/rpolicy.json", state);
    policy_file(f,
                "{\"rules\": ["
                "{\"resources\": [\"dev/key/*\"], \"platforms\": [\"software\"],"
                " \"allow_insecure\": true, \"require_log\": true, \"image_digests\": [\"" IMG_A
                "\"]},"
                "{\"resources\": [\"dev/any/*\"], \"platforms\": [\"software\"],"
                " \"allow_insecure\": true, \"allow_tainted\": true}]}",
                false);
    CHECK_INT(admin("POST", "resource-policy", f), 200);

    char kp[4200];
    snprintf(kp, sizeof(kp), "%s/attester-software.pem", state);
    sb_attester *a = NULL;
    sb_error err = {0};
    CHECK_OK(sb_attester_open_software(kp, &a, &err), &err);
    if (!a) {
        stop_broker();
        return;
    }
    size_t n1 = 0, n2 = 0, n3 = 0;
    char *clean = make_log(IMG_A, 1, &n1), *tainted = make_log(IMG_A, 2, &n2),
         *other = make_log(IMG_B, 1, &n3);
    char *v = NULL;
    /* the entrypoint only, image A: released */
    CHECK_OK(get(a, clean, n1, "dev/key/a", &v, &err), &err);
    CHECK_STR(v, SECRET);
    free(v);
    v = NULL;
    /* something ran after the entrypoint */
    CHECK_INT(get(a, tainted, n2, "dev/key/a", &v, &err), SB_E_POLICY);
    CHECK_CONTAINS(err.msg, "tainted");
    CHECK(v == NULL);
    /* ... which a resource that allows it still gets */
    CHECK_OK(get(a, tainted, n2, "dev/any/a", &v, &err), &err);
    CHECK_STR(v, SECRET);
    free(v);
    v = NULL;
    /* another image: the reason names its digest */
    CHECK_INT(get(a, other, n3, "dev/key/a", &v, &err), SB_E_POLICY);
    CHECK_CONTAINS(err.msg, IMG_B);
    /* no log at all */
    CHECK(get(a, NULL, 0, "dev/key/a", &v, &err) != 0);
    CHECK_CONTAINS(err.msg, "log");
    /* a log whose events do not replay to the digest it states (an exec removed, the digest
     * kept): the KBS replays it and refuses */
    json_t *j = json_loads(tainted, 0, NULL);
    json_array_remove(json_object_get(j, "events"), 3);
    json_object_set_new(j, "tainted", json_false());
    char *lie = json_dumps(j, JSON_COMPACT);
    json_decref(j);
    CHECK(get(a, lie, strlen(lie), "dev/key/a", &v, &err) != 0);
    CHECK_CONTAINS(err.msg, "sealbox_log");
    free(lie);
    free(clean);
    free(tainted);
    free(other);
    sb_attester_free(a);
    stop_broker();
}
