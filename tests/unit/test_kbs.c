/* test_kbs: the key broker's parts — protocol bodies (version exactly 0.4.0, every member),
 * cookies, sessions (expiry and nonce reuse without sleeping: time is a parameter), the binding
 * check, the resource policy (every refusal names its requirement), sealed resources and the
 * master key (no plaintext in the database, rotation, an interrupted rotation), and the broker
 * end to end on claims made here: token → resource → JWE opened with the TEE key. */
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>

#include "crypto/crypto.h"
#include "harness.h"
#include "kbs/kbs.h"

#define NOW 1780000000
#define S(x) ((const uint8_t *)(x)), strlen(x)

TEST(auth_bodies) {
    struct sb_kbs_auth a;
    sb_error err = {0};
    CHECK_OK(sb_kbs_parse_auth(S("{\"version\":\"0.4.0\",\"tee\":\"snp\",\"extra-params\":{}}"), &a,
                               &err),
             &err);
    CHECK_STR(a.tee, "snp");
    CHECK_OK(sb_kbs_parse_auth(S("{\"version\":\"0.4.0+b.1\",\"tee\":\"sealbox-software\","
                                 "\"extra-params\":\"\"}"),
                               &a, &err),
             &err);
    static const struct {
        const char *body, *why;
        int code;
    } BAD[] = {
        {"{\"version\":\"0.3.0\",\"tee\":\"snp\",\"extra-params\":{}}", "Version Mismatch",
         SB_E_UNSUPPORTED},
        {"{\"version\":\"0.4.0-rc1\",\"tee\":\"snp\",\"extra-params\":{}}", "Version Mismatch",
         SB_E_UNSUPPORTED},
        {"{\"version\":\"v0.4.0\",\"tee\":\"snp\",\"extra-params\":{}}", "not a semantic version",
         SB_E_MALFORMED},
        {"{\"version\":\"00.4.0\",\"tee\":\"snp\",\"extra-params\":{}}", "not a semantic version",
         SB_E_MALFORMED},
        {"{\"version\":\"0.4\",\"tee\":\"snp\",\"extra-params\":{}}", "not a semantic version",
         SB_E_MALFORMED},
        {"{\"version\":\"0.4.0\",\"tee\":\"quantum\",\"extra-params\":{}}", "unknown variant",
         SB_E_MALFORMED},
        {"{\"version\":\"0.4.0\",\"tee\":\"snp\"}", "extra-params", SB_E_MALFORMED},
        {"{\"version\":\"0.4.0\",\"tee\":\"snp\",\"extra-params\":{},\"x\":1}", "unknown member",
         SB_E_MALFORMED},
        {"{\"tee\":\"snp\",\"extra-params\":{}}", "version", SB_E_MALFORMED},
        {"[]", "JSON object", SB_E_MALFORMED},
        {"{", "invalid JSON", SB_E_MALFORMED},
    };
    for (size_t i = 0; i < SB_ARRAY_LEN(BAD); i++) {
        CHECK_INT(sb_kbs_parse_auth(S(BAD[i].body), &a, &err), BAD[i].code);
        CHECK_CONTAINS(err.msg, BAD[i].why);
    }
    CHECK_STR(sb_kbs_tee_platform("az-snp-vtpm"), "azure-snp-vtpm");
    CHECK(sb_kbs_tee_platform("cca") == NULL && sb_kbs_tee_known("cca"));
}

/* A TEE key and an attest body for it. */
static char *attest_body(const char *nonce, const char *extra) {
    sb_privkey *k = NULL;
    json_t *pub = NULL;
    sb_error err = {0};
    CHECK_OK(sb_privkey_generate_ec(SB_CURVE_P256, &k, &err), &err);
    CHECK_OK(sb_jwe_tee_pubkey(k, &pub, &err), &err);
    json_t *b = json_pack("{s:{s:s, s:o}, s:{s:{s:s}, s:s}}", "runtime-data", "nonce", nonce,
                          "tee-pubkey", pub, "tee-evidence", "primary_evidence", "report", "r",
                          "additional_evidence", "");
    if (extra) {
        json_t *x = json_loads(extra, 0, NULL);
        json_object_update(b, x);
        json_decref(x);
    }
    char *s = json_dumps(b, JSON_COMPACT);
    json_decref(b);
    sb_privkey_free(k);
    return s;
}

TEST(attest_bodies) {
    sb_error err = {0};
    struct sb_kbs_attest a;
    char *body = attest_body("bm9uY2U=", NULL);
    CHECK_OK(sb_kbs_parse_attest(S(body), &a, &err), &err);
    CHECK_STR(a.nonce, "bm9uY2U=");
    CHECK_STR(a.additional, "");
    CHECK(a.log == NULL && a.log_digest == NULL);
    CHECK_STR(json_string_value(json_object_get(a.runtime_data, "additional-evidence")), "");
    uint8_t *ev = NULL;
    size_t n = 0;
    CHECK_OK(sb_kbs_evidence_bytes(a.primary, &ev, &n, &err), &err);
    CHECK_STR((const char *)ev, "{\"report\":\"r\"}");
    free(ev);
    sb_kbs_attest_clear(&a);
    free(body);
    static const struct {
        const char *extra, *why;
    } BAD[] = {
        {"{\"init-data\":{\"format\":\"toml\",\"body\":\"\"}}", "init-data"},
        {"{\"tee-evidence\":{\"primary_evidence\":1,\"additional_evidence\":\"{}\"}}", "composite"},
        {"{\"tee-evidence\":{\"additional_evidence\":\"\"}}", "primary_evidence: missing"},
        {"{\"tee-evidence\":{\"primary_evidence\":1,\"sealbox_log\":{}}}", "come together"},
        {"{\"tee-evidence\":{\"primary_evidence\":1,\"extra\":1}}", "unknown member 'extra'"},
        {"{\"other\":1}", "unknown member 'other'"},
        {"{\"runtime-data\":{\"nonce\":\"x\"}}", "tee-pubkey: missing"},
        {"{\"runtime-data\":{\"nonce\":\"x\",\"tee-pubkey\":{\"kty\":\"RSA\",\"alg\":\"RSA1_5\","
         "\"n\":\"AA\",\"e\":\"AQAB\"}}}",
         "RSA1_5 is refused"},
    };
    for (size_t i = 0; i < SB_ARRAY_LEN(BAD); i++) {
        body = attest_body("bm9uY2U=", BAD[i].extra);
        CHECK_MSG(sb_kbs_parse_attest(S(body), &a, &err) < 0, "accepted %s", BAD[i].extra);
        CHECK_CONTAINS(err.msg, BAD[i].why);
        free(body);
    }
}

TEST(cookies) {
    char id[SB_KBS_SESSION_ID_LEN + 1];
    sb_error err = {0};
    const char *good = "0000000aabcdef0123456789abcdef0123456789";
    char h[256];
    snprintf(h, sizeof(h), "a=b; kbs-session-id=%s; c=d", good);
    CHECK_OK(sb_kbs_cookie_session(h, id, &err), &err);
    CHECK_STR(id, good);
    snprintf(h, sizeof(h), "kbs-session-id=%s", good);
    CHECK_OK(sb_kbs_cookie_session(h, id, &err), &err);
    CHECK_INT(sb_kbs_cookie_session("a=b", id, &err), SB_E_NOTFOUND);
    CHECK_INT(sb_kbs_cookie_session(NULL, id, &err), SB_E_NOTFOUND);
    CHECK_INT(sb_kbs_cookie_session("kbs-session-id=abc", id, &err), SB_E_MALFORMED);
    CHECK_INT(
        sb_kbs_cookie_session("kbs-session-id=0000000aabcdef0123456789abcdef012345678Z", id, &err),
        SB_E_MALFORMED);
}

TEST(sessions_expire_and_rotate) {
    sb_kbs_sessions *t = NULL;
    sb_error err = {0};
    CHECK_OK(sb_kbs_sessions_new(2, &t, &err), &err);
    if (!t) return;
    struct sb_kbs_session *a = NULL, *b = NULL, *c = NULL, *x = NULL;
    const uint64_t T0 = 1000000000000ull, SEC = 1000000000ull;
    CHECK_OK(sb_kbs_session_create(t, "snp", 5, T0, &a, &err), &err);
    char aid[SB_KBS_SESSION_ID_LEN + 1];
    memcpy(aid, a->id, sizeof(aid));
    CHECK_INT(strlen(a->nonce), 44); /* base64 of 32 bytes */
    CHECK_OK(sb_kbs_session_find(t, aid, T0 + 4 * SEC, &x, &err), &err);
    CHECK(x == a);
    /* One nanosecond past the deadline it is gone, and stays gone. */
    CHECK_INT(sb_kbs_session_find(t, aid, T0 + 5 * SEC, &x, &err), SB_E_POLICY);
    CHECK_CONTAINS(err.msg, "expired");
    CHECK_INT(sb_kbs_session_find(t, aid, T0, &x, &err), SB_E_NOTFOUND);
    CHECK_OK(sb_kbs_session_create(t, "snp", 5, T0, &a, &err), &err);
    memcpy(aid, a->id, sizeof(aid));
    CHECK_OK(sb_kbs_session_create(t, "tdx", 5, T0, &b, &err), &err);
    CHECK(strcmp(a->nonce, b->nonce) != 0);
    /* A third session in a table of two replaces the oldest. */
    CHECK_OK(sb_kbs_session_create(t, "tdx", 5, T0, &c, &err), &err);
    CHECK_INT(sb_kbs_session_find(t, aid, T0, &x, &err), SB_E_NOTFOUND);
    CHECK_INT(sb_kbs_sessions_live(t), 2);
    /* A forged id naming a live slot is refused. */
    char forged[SB_KBS_SESSION_ID_LEN + 1];
    memcpy(forged, c->id, sizeof(forged));
    forged[20] = forged[20] == '0' ? '1' : '0';
    CHECK_INT(sb_kbs_session_find(t, forged, T0, &x, &err), SB_E_NOTFOUND);
    CHECK_INT(sb_kbs_session_find(t, "ffffffff00000000000000000000000000000000", T0, &x, &err),
              SB_E_NOTFOUND);
    sb_kbs_sessions_free(t);
}

/* Claims as a verifier would produce them, with report_data binding rd (padded to 64). */
static json_t *claims_for(const json_t *rd, const char *platform, const char *measurement) {
    uint8_t d[64] = {0};
    sb_error err = {0};
    CHECK_OK(sb_policy_binding_digest(rd, d, &err), &err);
    char hex[129];
    sb_hex_encode(d, sizeof(d), hex);
    return json_pack("{s:s, s:s, s:s, s:b, s:b, s:{s:s}, s:{s:n}}", "platform", platform, "format",
                     "test", "report_data", hex, "debug", 0, "insecure", 0, "measurements",
                     "measurement", measurement, "tcb", "status");
}

TEST(binding) {
    sb_error err = {0};
    json_t *rd = json_pack("{s:{s:s}, s:s, s:s}", "tee-pubkey", "kty", "EC", "nonce", "n1",
                           "additional-evidence", "");
    json_t *c = claims_for(rd, "snp", "aa");
    CHECK_OK(sb_kbs_check_binding(c, rd, &err), &err);
    json_object_set_new(rd, "nonce", json_string("n2"));
    CHECK_INT(sb_kbs_check_binding(c, rd, &err), SB_E_POLICY);
    CHECK_CONTAINS(err.msg, "another nonce");
    /* Non-zero padding after the digest is refused. */
    json_t *c2 = claims_for(rd, "snp", "aa");
    char *hex = strdup(json_string_value(json_object_get(c2, "report_data")));
    hex[120] = '1';
    json_object_set_new(c2, "report_data", json_string(hex));
    CHECK_INT(sb_kbs_check_binding(c2, rd, &err), SB_E_POLICY);
    CHECK_CONTAINS(err.msg, "not zero");
    free(hex);
    json_decref(c2);
    json_decref(c);
    json_decref(rd);
}

/* An EAR claims-set with one submod, for the resource policy. */
static json_t *ear(const char *platform, const char *status, bool insecure, bool local,
                   const char *log) {
    json_t *ae = json_pack("{s:s, s:b, s:{s:s}}", "platform", platform, "insecure", insecure,
                           "measurements", "measurement", "AABB");
    if (log) json_object_set_new(ae, "sealbox_log", json_loads(log, 0, NULL));
    json_t *sm =
        json_pack("{s:s, s:o, s:b, s:[s]}", "ear.status", status, "ear.veraison.annotated-evidence",
                  ae, "ear.sealbox.local", local, "ear.sealbox.reasons", "why-it-failed");
    return json_pack("{s:{s:o}}", "submods", platform, sm);
}

TEST(resource_policy) {
    sb_error err = {0};
    sb_kbs_rpolicy *def = NULL, *p = NULL;
    CHECK_OK(sb_kbs_rpolicy_default(&def, &err), &err);
    json_t *e = ear("snp", "affirming", false, true, NULL);
    CHECK_OK(sb_kbs_rpolicy_eval(def, "a/b/c", e, &err), &err);
    json_decref(e);
    e = ear("snp", "warning", false, true, NULL);
    CHECK_INT(sb_kbs_rpolicy_eval(def, "a/b/c", e, &err), SB_E_POLICY);
    CHECK_CONTAINS(err.msg, "attestation status warning (affirming required): why-it-failed");
    json_decref(e);
    e = ear("software", "affirming", true, true, NULL);
    CHECK_INT(sb_kbs_rpolicy_eval(def, "a/b/c", e, &err), SB_E_POLICY);
    CHECK_CONTAINS(err.msg, "needs allow_insecure");
    json_decref(e);
    const char *tainted = "{\"digest\":\"sha384:11\",\"image\":\"sha256:aa\",\"tainted\":true,"
                          "\"events\":4}";
    const char *clean = "{\"digest\":\"sha384:11\",\"image\":\"sha256:aa\",\"tainted\":false}";
    e = ear("snp", "affirming", false, true, tainted);
    CHECK_INT(sb_kbs_rpolicy_eval(def, "a/b/c", e, &err), SB_E_POLICY);
    CHECK_CONTAINS(err.msg, "tainted");
    json_decref(e);

    static const char POL[] =
        "{\"version\":1,\"rules\":["
        "{\"resources\":[\"img/*/*\"],\"image_digests\":[\"SHA256:AA\"],\"platforms\":[\"snp\"]},"
        "{\"resources\":[\"dev/key/*\"],\"allow_insecure\":true,\"allow_tainted\":true},"
        "{\"resources\":[\"meas/x/y\"],\"measurements\":{\"measurement\":[\"aabb\"]},"
        "\"allow_local\":false},"
        "{\"resources\":[\"log/x/y\"],\"log_digests\":[\"sha384:22\"],\"status\":\"warning\"}]}";
    CHECK_OK(sb_kbs_rpolicy_parse(POL, strlen(POL), &p, &err), &err);
    struct {
        const char *path, *platform, *status;
        bool insecure, local;
        const char *log, *why; /* NULL: released */
    } C[] = {
        {"img/k/1", "snp", "affirming", false, true, clean, NULL},
        {"img/k/1", "tdx", "affirming", false, true, clean, "platform tdx is not one of [snp]"},
        {"img/k/1", "snp", "affirming", false, true, NULL, "no sandbox measurement log"},
        {"img/k/1", "snp", "affirming", false, true,
         "{\"digest\":\"sha384:11\",\"image\":\"sha256:bb\",\"tainted\":false}",
         "image digest sha256:bb is not in the allowed set [sha256:aa]"},
        {"dev/key/1", "software", "affirming", true, true, tainted, NULL},
        {"meas/x/y", "snp", "affirming", false, false, NULL, NULL},
        {"meas/x/y", "snp", "affirming", false, true, NULL, "allow_local is false"},
        {"log/x/y", "snp", "warning", false, true, clean,
         "log digest sha384:11 is not in the allowed set [sha384:22]"},
        {"log/x/y", "snp", "contraindicated", false, true, clean, "warning or better"},
        {"other/x/y", "snp", "affirming", false, true, NULL, "no rule of the resource policy"},
    };
    for (size_t i = 0; i < SB_ARRAY_LEN(C); i++) {
        e = ear(C[i].platform, C[i].status, C[i].insecure, C[i].local, C[i].log);
        int r = sb_kbs_rpolicy_eval(p, C[i].path, e, &err);
        if (!C[i].why) {
            CHECK_MSG(r == 0, "case %zu refused: %s", i, err.msg);
        } else {
            CHECK_MSG(r == SB_E_POLICY, "case %zu released", i);
            CHECK_CONTAINS(err.msg, C[i].why);
            CHECK_CONTAINS(err.msg, C[i].path);
        }
        json_decref(e);
    }
    static const struct {
        const char *doc, *why;
    } BAD[] = {
        {"{\"rules\":[{\"resources\":[\"a/b\"]}]}", "is not repo/type/tag"},
        {"{\"rules\":[{\"resources\":[\"a/b*/c\"]}]}", "is not repo/type/tag"},
        {"{\"rules\":[{\"resources\":[\"a/b/c\"],\"allow_everything\":true}]}",
         "unknown key 'allow_everything'"},
        {"{\"rules\":[{\"resources\":[\"a/b/c\"],\"status\":\"none\"}]}", "rules[0].status"},
        {"{\"rules\":[{}]}", "rules[0].resources: missing"},
        {"{\"rules\":[{\"resources\":[\"a/b/c\"],\"image_digests\":\"x\"}]}",
         "rules[0].image_digests"},
        {"{\"version\":2,\"rules\":[]}", "version must be 1"},
        {"{\"rule\":[]}", "unknown key 'rule'"},
    };
    for (size_t i = 0; i < SB_ARRAY_LEN(BAD); i++) {
        sb_kbs_rpolicy *q = NULL;
        CHECK_MSG(sb_kbs_rpolicy_parse(BAD[i].doc, strlen(BAD[i].doc), &q, &err) < 0, "accepted %s",
                  BAD[i].doc);
        CHECK_CONTAINS(err.msg, BAD[i].why);
        sb_kbs_rpolicy_free(q);
    }
    sb_kbs_rpolicy_free(p);
    sb_kbs_rpolicy_free(def);
}

static sb_store *open_store(const char *dir) {
    char path[4096];
    snprintf(path, sizeof(path), "%s/sealbox.db", dir);
    sb_store *st = NULL;
    sb_error err = {0};
    CHECK_OK(sb_store_open(path, &st, &err), &err);
    return st;
}

/* True when the bytes of needle appear in the file. */
static bool file_has(const char *path, const char *needle) {
    uint8_t *b = NULL;
    size_t n = 0;
    sb_error err = {0};
    if (sb_read_file(path, 64u << 20, &b, &n, &err) < 0) return false;
    bool hit = memmem(b, n, needle, strlen(needle)) != NULL;
    free(b);
    return hit;
}

TEST(sealed_resources_and_rotation) {
    char dir[4096];
    snprintf(dir, sizeof(dir), "%s/seal", sb_test_tmpdir());
    mkdir(dir, 0700);
    sb_store *st = open_store(dir);
    if (!st) return;
    sb_error err = {0};
    sb_kbs_master m = {0};
    CHECK_OK(sb_kbs_master_load(dir, st, &m, &err), &err);
    char kp[4200];
    snprintf(kp, sizeof(kp), "%s/%s", dir, SB_KBS_MASTER_KEY_FILE);
    struct stat sst;
    CHECK(stat(kp, &sst) == 0 && (sst.st_mode & 0777) == 0600 && sst.st_size == 32);
    const char *secret = "s3cr3t-value-that-must-never-touch-disk";
    CHECK_OK(sb_kbs_resource_put(st, &m, "r/t/a", S(secret), &err), &err);
    CHECK_OK(sb_kbs_resource_put(st, &m, "r/t/b", S("second"), &err), &err);
    uint8_t *v = NULL;
    size_t n = 0;
    CHECK_OK(sb_kbs_resource_get(st, &m, "r/t/a", &v, &n, &err), &err);
    CHECK_INT(n, strlen(secret));
    if (v) CHECK_MEM(v, secret, n);
    if (v) sb_secret_free(v, n + 1);
    CHECK_INT(sb_kbs_resource_get(st, &m, "r/t/none", &v, &n, &err), SB_E_NOTFOUND);
    char dbp[4200], wal[4200];
    snprintf(dbp, sizeof(dbp), "%s/sealbox.db", dir);
    snprintf(wal, sizeof(wal), "%s/sealbox.db-wal", dir);
    CHECK(!file_has(dbp, secret) && !file_has(wal, secret));
    /* A blob moved to another path does not open there (the AAD binds the path). */
    sb_kbs_resource_rec rec;
    CHECK_OK(sb_store_kbs_resource_get(st, "r/t/a", &rec, &err), &err);
    CHECK_OK(
        sb_store_kbs_resource_put(st, "r/t/b", rec.key_id, rec.blob, rec.blob_len, rec.size, &err),
        &err);
    sb_kbs_rec_clear(&rec);
    CHECK(sb_kbs_resource_get(st, &m, "r/t/b", &v, &n, &err) == SB_E_SIGNATURE);
    CHECK_OK(sb_kbs_resource_put(st, &m, "r/t/b", S("second"), &err), &err);

    size_t count = 0;
    CHECK_OK(sb_kbs_rotate_master_key(dir, st, &count, &err), &err);
    CHECK_INT(count, 2);
    /* The old key no longer opens them (and says why); the reloaded key does. */
    CHECK_INT(sb_kbs_resource_get(st, &m, "r/t/a", &v, &n, &err), SB_E_USAGE);
    CHECK_CONTAINS(err.msg, "sealed by master key");
    sb_kbs_master m2 = {0};
    CHECK_OK(sb_kbs_master_load(dir, st, &m2, &err), &err);
    CHECK(strcmp(m.id, m2.id) != 0);
    CHECK_OK(sb_kbs_resource_get(st, &m2, "r/t/a", &v, &n, &err), &err);
    if (v) CHECK_MEM(v, secret, n);
    if (v) sb_secret_free(v, n + 1);
    /* An interrupted rotation whose new key sealed nothing is discarded on load. */
    char np[4300];
    snprintf(np, sizeof(np), "%s.new", kp);
    int fd = open(np, O_WRONLY | O_CREAT | O_EXCL, 0600);
    CHECK(fd >= 0 && write(fd, "0123456789abcdef0123456789abcdef", 32) == 32);
    if (fd >= 0) close(fd);
    sb_kbs_master m3 = {0};
    CHECK_OK(sb_kbs_master_load(dir, st, &m3, &err), &err);
    CHECK_STR(m3.id, m2.id);
    CHECK(access(np, F_OK) != 0);
    /* A key file others can read is refused. */
    chmod(kp, 0644);
    sb_kbs_master m4 = {0};
    CHECK_INT(sb_kbs_master_load(dir, st, &m4, &err), SB_E_POLICY);
    CHECK_CONTAINS(err.msg, "mode 644");
    chmod(kp, 0600);
    sb_kbs_master_clear(&m);
    sb_kbs_master_clear(&m2);
    sb_kbs_master_clear(&m3);
    sb_store_close(st);
}

/* The broker end to end on claims made here. */
TEST(broker_token_to_jwe) {
    char dir[4096];
    snprintf(dir, sizeof(dir), "%s/broker", sb_test_tmpdir());
    mkdir(dir, 0700);
    sb_store *st = open_store(dir);
    if (!st) return;
    sb_error err = {0};
    sb_kbs_broker *b = NULL;
    struct sb_kbs_broker_cfg cfg = {
        .state_dir = dir, .store = st, .local = true, .token_ttl_s = 60};
    CHECK_OK(sb_kbs_broker_new(&cfg, &b, &err), &err);
    if (!b) return;
    struct sb_kbs_result res;
    CHECK_OK(sb_kbs_broker_admin(b, SB_KBS_ADM_RESOURCE_PUT, "default/key/one", S("the value"),
                                 &res, &err),
             &err);
    CHECK_INT(res.status, 200);
    sb_kbs_result_clear(&res);
    /* A resource policy that wants a measurement. */
    const char *pol = "{\"rules\":[{\"resources\":[\"default/*/*\"],\"measurements\":"
                      "{\"measurement\":[\"aa11\"]}}]}";
    char *b64 = sb_base64_encode((const uint8_t *)pol, strlen(pol));
    char body[512];
    snprintf(body, sizeof(body), "{\"policy\":\"%s\"}", b64);
    free(b64);
    CHECK_OK(sb_kbs_broker_admin(b, SB_KBS_ADM_RPOLICY_SET, "", S(body), &res, &err), &err);
    CHECK_INT(res.status, 200);
    sb_kbs_result_clear(&res);
    CHECK_OK(
        sb_kbs_broker_admin(b, SB_KBS_ADM_RPOLICY_SET, "", S("{\"policy\":\"e30\"}"), &res, &err),
        &err);
    CHECK_INT(res.status, 400);
    CHECK_CONTAINS(res.detail, "rules");
    sb_kbs_result_clear(&res);

    sb_privkey *tk = NULL;
    json_t *pub = NULL;
    CHECK_OK(sb_privkey_generate_ec(SB_CURVE_P256, &tk, &err), &err);
    CHECK_OK(sb_jwe_tee_pubkey(tk, &pub, &err), &err);
    json_t *rd = json_pack("{s:O, s:s, s:s}", "tee-pubkey", pub, "nonce",
                           "bm9uY2U=", "additional-evidence", "");
    for (int good = 0; good < 2; good++) {
        json_t *c = claims_for(rd, "snp", good ? "AA11" : "bb22");
        CHECK_OK(sb_kbs_broker_attest(b, "snp", c, rd, NOW, &res, &err), &err);
        CHECK_INT(res.status, 200);
        char *tok = strdup(json_string_value(json_object_get(res.body, "token")));
        sb_kbs_result_clear(&res);
        /* The token verifies with the broker's JWKS, expires, says local, carries the key. */
        json_t *jwks = NULL, *payload = NULL;
        CHECK_OK(sb_kbs_broker_jwks(b, &jwks, &err), &err);
        CHECK_OK(sb_jwt_verify(tok, jwks, &payload, NULL, &err), &err);
        CHECK_INT(json_integer_value(json_object_get(payload, "exp")), NOW + 60);
        json_t *sm = json_object_get(json_object_get(payload, "submods"), "snp");
        CHECK(json_is_true(json_object_get(sm, "ear.sealbox.local")));
        CHECK_STR(json_string_value(json_object_get(sm, "ear.status")), "affirming");
        CHECK(json_equal(
            json_object_get(json_object_get(json_object_get(sm, "ear.veraison.annotated-evidence"),
                                            "runtime_data_claims"),
                            "tee-pubkey"),
            pub));
        json_decref(payload);
        json_decref(jwks);
        CHECK_OK(sb_kbs_broker_resource(b, tok, "default/key/one", NOW + 1, &res, &err), &err);
        if (!good) {
            CHECK_INT(res.status, 403);
            CHECK_STR(res.type, "PolicyDeny");
            CHECK_CONTAINS(res.detail, "measurement measurement = bb22");
        } else {
            CHECK_INT(res.status, 200);
            uint8_t *v = NULL;
            size_t n = 0;
            CHECK_OK(sb_jwe_decrypt(tk, res.body, &v, &n, &err), &err);
            CHECK_INT(n, 9);
            if (v) CHECK_MEM(v, "the value", 9);
            free(v);
            sb_kbs_result_clear(&res);
            /* Missing resource, expired token, tampered token. */
            CHECK_OK(sb_kbs_broker_resource(b, tok, "default/key/none", NOW + 1, &res, &err), &err);
            CHECK_INT(res.status, 404);
            sb_kbs_result_clear(&res);
            CHECK_OK(sb_kbs_broker_resource(b, tok, "default/key/one", NOW + 61, &res, &err), &err);
            CHECK_INT(res.status, 401);
            CHECK_CONTAINS(res.detail, "expired");
            sb_kbs_result_clear(&res);
            /* A broker started again on the same state remembers no token: it verifies this
             * one in full (signature by its key), and releases. */
            sb_kbs_broker *b3 = NULL;
            CHECK_OK(sb_kbs_broker_new(&cfg, &b3, &err), &err);
            if (b3) {
                CHECK_OK(sb_kbs_broker_resource(b3, tok, "default/key/one", NOW + 1, &res, &err),
                         &err);
                CHECK_INT(res.status, 200);
                sb_kbs_result_clear(&res);
                tok[strlen(tok) - 5] ^= 1;
                CHECK_OK(sb_kbs_broker_resource(b3, tok, "default/key/one", NOW + 1, &res, &err),
                         &err);
                CHECK_INT(res.status, 401);
                sb_kbs_result_clear(&res);
                tok[strlen(tok) - 5] ^= 1;
            }
            sb_kbs_broker_free(b3);
            tok[strlen(tok) - 5] ^= 1;
            CHECK_OK(sb_kbs_broker_resource(b, tok, "default/key/one", NOW + 1, &res, &err), &err);
            CHECK_INT(res.status, 401);
            CHECK_STR(res.type, "TokenVerifierError");
        }
        sb_kbs_result_clear(&res);
        free(tok);
        json_decref(c);
    }
    /* Claims whose report_data binds another key are refused before any token is made. */
    json_t *rd2 = json_deep_copy(rd);
    json_object_set_new(rd2, "nonce", json_string("b3RoZXI="));
    json_t *c = claims_for(rd2, "snp", "aa11");
    CHECK_OK(sb_kbs_broker_attest(b, "snp", c, rd, NOW, &res, &err), &err);
    CHECK_INT(res.status, 401);
    CHECK_CONTAINS(res.detail, "binding");
    sb_kbs_result_clear(&res);
    json_decref(c);
    json_decref(rd2);
    /* A token signed by another broker (another state directory) is not ours. */
    char dir2[4096];
    snprintf(dir2, sizeof(dir2), "%s/broker2", sb_test_tmpdir());
    mkdir(dir2, 0700);
    sb_store *st2 = open_store(dir2);
    sb_kbs_broker *b2 = NULL;
    struct sb_kbs_broker_cfg cfg2 = {.state_dir = dir2, .store = st2};
    CHECK_OK(sb_kbs_broker_new(&cfg2, &b2, &err), &err);
    c = claims_for(rd, "snp", "aa11");
    if (b2) CHECK_OK(sb_kbs_broker_attest(b2, "snp", c, rd, NOW, &res, &err), &err);
    char *alien = res.body ? strdup(json_string_value(json_object_get(res.body, "token"))) : NULL;
    sb_kbs_result_clear(&res);
    if (alien) CHECK_OK(sb_kbs_broker_resource(b, alien, "default/key/one", NOW, &res, &err), &err);
    CHECK_INT(res.status, 401);
    sb_kbs_result_clear(&res);
    free(alien);
    json_decref(c);
    sb_kbs_broker_free(b2);
    sb_store_close(st2);
    /* Admin: list, delete, policy get/delete. */
    CHECK_OK(sb_kbs_broker_admin(b, SB_KBS_ADM_RESOURCE_LIST, "", NULL, 0, &res, &err), &err);
    CHECK_INT(json_array_size(json_object_get(res.body, "resources")), 1);
    CHECK(json_object_get(json_array_get(json_object_get(res.body, "resources"), 0), "value") ==
          NULL);
    sb_kbs_result_clear(&res);
    CHECK_OK(
        sb_kbs_broker_admin(b, SB_KBS_ADM_RESOURCE_DELETE, "default/key/one", NULL, 0, &res, &err),
        &err);
    CHECK_INT(res.status, 200);
    sb_kbs_result_clear(&res);
    CHECK_OK(
        sb_kbs_broker_admin(b, SB_KBS_ADM_RESOURCE_DELETE, "default/key/one", NULL, 0, &res, &err),
        &err);
    CHECK_INT(res.status, 404);
    sb_kbs_result_clear(&res);
    CHECK_OK(sb_kbs_broker_admin(b, SB_KBS_ADM_APOLICY_SET, "",
                                 S("{\"type\":\"rego\",\"policy\":\"e30\"}"), &res, &err),
             &err);
    CHECK_INT(res.status, 400);
    CHECK_CONTAINS(res.detail, "rego");
    sb_kbs_result_clear(&res);
    CHECK_OK(sb_kbs_broker_admin(b, SB_KBS_ADM_RPOLICY_GET, "", NULL, 0, &res, &err), &err);
    CHECK(json_is_false(json_object_get(res.body, "default")));
    sb_kbs_result_clear(&res);
    json_decref(rd);
    json_decref(pub);
    sb_privkey_free(tk);
    sb_kbs_broker_free(b);
    sb_store_close(st);
}
