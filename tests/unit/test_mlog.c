/* test_mlog: the measurement log — the SHA-384 chain recomputed by hand, the export/replay
 * round trip, taint, every tampered field refused or changing the digest, the replay's limits
 * and refusals, the measured config, and resolving/hashing executables inside a root. */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "crypto/crypto.h"
#include "harness.h"
#include "sandbox/sandbox.h"

#define IMG "sha256:1111111111111111111111111111111111111111111111111111111111111111"

static uint8_t EXE_D[48];

static sb_mlog *make_log(int commands) {
    sb_error err = {0};
    char *env[] = {(char *)"PATH=/usr/bin", (char *)"TOKEN=secretvalue", NULL};
    struct sb_mount_spec m = {.src = "/srv/data", .dst = "/data", .ro = true};
    struct sb_sandbox_config cfg = {.mounts = &m, .n_mounts = 1, .memory_bytes = 64u << 20};
    json_t *c = NULL;
    CHECK_OK(sb_mlog_config(&cfg, env, &c, &err), &err);
    sb_mlog *l = NULL;
    CHECK_OK(sb_mlog_new(IMG, c, &l, &err), &err);
    json_decref(c);
    memset(EXE_D, 0xab, sizeof(EXE_D));
    for (int i = 0; l && i < commands; i++) {
        char n[16];
        snprintf(n, sizeof(n), "arg%d", i);
        char *argv[] = {(char *)"python3", n, NULL};
        CHECK_OK(sb_mlog_add_exec(l, argv, env, "/work", "/usr/bin/python3", EXE_D, &err), &err);
    }
    return l;
}

static char *export_log(const sb_mlog *l, size_t *len) {
    char *s = NULL;
    sb_error err = {0};
    CHECK_OK(sb_mlog_export(l, &s, len, &err), &err);
    return s;
}

TEST(mlog_chain_is_a_pcr_extend) {
    sb_mlog *l = make_log(2);
    CHECK_INT(sb_mlog_count(l), 4);
    uint8_t st[48] = {0}, buf[96];
    sb_error err = {0};
    for (size_t i = 0; i < sb_mlog_count(l); i++) {
        const char *ev = sb_mlog_event(l, i);
        memcpy(buf, st, 48);
        CHECK_OK(sb_hash(SB_HASH_SHA384, ev, strlen(ev), buf + 48, &err), &err);
        CHECK_OK(sb_hash(SB_HASH_SHA384, buf, 96, st, &err), &err);
    }
    uint8_t d[48];
    sb_mlog_digest(l, d);
    CHECK_MEM(d, st, 48);
    /* the events are the documented canonical JSON */
    CHECK_STR(sb_mlog_event(l, 0), "{\"digest\":\"" IMG "\",\"seq\":0,\"type\":\"image\"}");
    CHECK_CONTAINS(sb_mlog_event(l, 2),
                   "{\"argv\":[\"python3\",\"arg0\"],\"digest\":\"sha384:abab");
    CHECK_CONTAINS(sb_mlog_event(l, 2), "\"env\":[\"PATH\",\"TOKEN\"],\"executable\":"
                                        "\"/usr/bin/python3\",\"seq\":2,\"type\":\"entrypoint\","
                                        "\"workdir\":\"/work\"}");
    CHECK_CONTAINS(sb_mlog_event(l, 3), "\"type\":\"exec\"");
    sb_mlog_free(l);
}

TEST(mlog_config_measures_names_and_defaults) {
    sb_error err = {0};
    char *env[] = {(char *)"B=1", (char *)"A=secretvalue", (char *)"B=2", NULL};
    struct sb_sandbox_config cfg = {0};
    json_t *c = NULL;
    CHECK_OK(sb_mlog_config(&cfg, env, &c, &err), &err);
    char *s = NULL;
    CHECK_OK(sb_json_canonical(c, &s, NULL, &err), &err);
    CHECK_STR(s, "{\"cpu_millis\":0,\"disk_bytes\":268435456,\"env\":[\"A\",\"B\"],\"hostname\":"
                 "\"sandbox\",\"memory_bytes\":536870912,\"mounts\":[],\"network\":\"none\","
                 "\"pids\":512}");
    CHECK(!strstr(s, "secretvalue"));
    free(s);
    /* explicit defaults measure the same as implicit ones */
    struct sb_sandbox_config cfg2 = {
        .memory_bytes = SB_SANDBOX_DEF_MEMORY, .pids = SB_SANDBOX_DEF_PIDS, .hostname = "sandbox"};
    json_t *c2 = NULL;
    CHECK_OK(sb_mlog_config(&cfg2, env, &c2, &err), &err);
    CHECK(json_equal(c, c2));
    json_decref(c);
    json_decref(c2);
}

TEST(mlog_export_replay_round_trip_and_taint) {
    for (int cmds = 0; cmds <= 3; cmds++) {
        sb_mlog *l = make_log(cmds);
        size_t len = 0;
        char *s = export_log(l, &len);
        struct sb_mlog_replay r;
        sb_error err = {0};
        CHECK_OK(sb_mlog_replay((const uint8_t *)s, len, &r, &err), &err);
        uint8_t d[48];
        sb_mlog_digest(l, d);
        CHECK_MEM(r.digest, d, 48);
        CHECK_INT(r.events, 2 + cmds);
        CHECK_INT(r.tainted, cmds > 1);
        CHECK_INT(sb_mlog_tainted(l), cmds > 1);
        CHECK_INT(r.execs, cmds > 1 ? cmds - 1 : 0);
        CHECK_STR(json_string_value(json_object_get(r.summary, "image")), IMG);
        json_t *ep = json_object_get(r.summary, "entrypoint");
        CHECK(cmds ? json_is_object(ep) : json_is_null(ep));
        char ds[104];
        sb_mlog_digest_str(d, ds);
        CHECK_STR(json_string_value(json_object_get(r.summary, "digest")), ds);
        sb_mlog_replay_clear(&r);
        free(s);
        sb_mlog_free(l);
    }
}

/* Replays a JSON value; returns the code and the digest. */
static int replay_json(const json_t *j, uint8_t d[48], sb_error *err) {
    char *s = json_dumps(j, JSON_COMPACT);
    struct sb_mlog_replay r;
    int rc = sb_mlog_replay((const uint8_t *)s, strlen(s), &r, err);
    free(s);
    if (rc == 0) {
        memcpy(d, r.digest, 48);
        sb_mlog_replay_clear(&r);
    }
    return rc;
}

/* Changes one leaf: strings get a character appended, integers +1, booleans flip. */
static void mutate(json_t *parent, const char *key, size_t idx) {
    json_t *v = key ? json_object_get(parent, key) : json_array_get(parent, idx);
    json_t *nv = NULL;
    if (json_is_string(v)) {
        char b[4200];
        snprintf(b, sizeof(b), "%sx", json_string_value(v));
        nv = json_string(b);
    } else if (json_is_integer(v)) {
        nv = json_integer(json_integer_value(v) + 1);
    } else if (json_is_boolean(v)) {
        nv = json_boolean(!json_is_true(v));
    }
    if (!nv) return;
    if (key)
        json_object_set_new(parent, key, nv);
    else
        json_array_set_new(parent, idx, nv);
}

TEST(mlog_every_tampered_field_is_refused_or_changes_the_digest) {
    sb_mlog *l = make_log(2);
    size_t len = 0;
    char *s = export_log(l, &len);
    uint8_t want[48];
    sb_mlog_digest(l, want);
    json_t *orig = json_loads(s, 0, NULL);
    json_t *events = json_object_get(orig, "events");
    size_t tried = 0;
    for (size_t i = 0; i < json_array_size(events); i++) {
        const char *k;
        json_t *v;
        json_object_foreach(json_array_get(events, i), k, v) {
            size_t n = json_is_array(v) ? json_array_size(v) : 1;
            for (size_t j = 0; j < n; j++) {
                for (int with_digest = 0; with_digest < 2; with_digest++) {
                    json_t *t = json_deep_copy(orig);
                    if (!with_digest) {
                        json_object_del(t, "digest");
                        json_object_del(t, "tainted");
                    }
                    json_t *ev = json_array_get(json_object_get(t, "events"), i);
                    if (json_is_array(v))
                        mutate(json_object_get(ev, k), NULL, j);
                    else
                        mutate(ev, k, 0);
                    uint8_t d[48];
                    sb_error err = {0};
                    int rc = replay_json(t, d, &err);
                    CHECK_MSG(rc != 0 || memcmp(d, want, 48) != 0,
                              "events[%zu].%s[%zu] tampered yet replays to the same digest", i, k,
                              j);
                    if (with_digest) {
                        CHECK_MSG(rc != 0, "events[%zu].%s tampered with the digest present", i, k);
                        CHECK(err.msg[0] != 0);
                    }
                    tried++;
                    json_decref(t);
                }
            }
        }
    }
    CHECK(tried > 30);
    /* dropping or reordering events */
    json_t *t = json_deep_copy(orig);
    json_object_del(t, "digest");
    json_object_del(t, "tainted");
    json_array_remove(json_object_get(t, "events"), 3);
    uint8_t d[48];
    sb_error err = {0};
    CHECK_INT(replay_json(t, d, &err), 0);
    CHECK(memcmp(d, want, 48) != 0);
    json_decref(t);
    json_decref(orig);
    free(s);
    sb_mlog_free(l);
}

static void expect_refused(const char *json, int code, const char *needle) {
    struct sb_mlog_replay r;
    sb_error err = {0};
    int rc = sb_mlog_replay((const uint8_t *)json, strlen(json), &r, &err);
    CHECK_MSG(rc == code, "%s: rc %d (%s), expected %d", json, rc, err.msg, code);
    CHECK_CONTAINS(err.msg, needle);
    if (rc == 0) sb_mlog_replay_clear(&r);
}

#define D96                                                                                        \
    "00000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000" \
    "0000"
#define EV0 "{\"seq\":0,\"type\":\"image\",\"digest\":\"sha256:ab\"}"
#define EV1 "{\"seq\":1,\"type\":\"config\",\"digest\":\"sha384:" D96 "\"}"
#define EVX(seq, type)                                                                        \
    "{\"seq\":" #seq ",\"type\":\"" type "\",\"argv\":[\"sh\"],\"env\":[],\"workdir\":\"/\"," \
    "\"executable\":\"/bin/sh\",\"digest\":\"sha384:" D96 "\"}"
#define HDR "{\"version\":1,\"hash\":\"sha384\",\"events\":["

TEST(mlog_replay_refusals_name_the_field) {
    expect_refused(HDR EV0 "," EV1 "]}", 0, "");
    expect_refused(HDR EV0 "," EV1 "," EVX(2, "entrypoint") "," EVX(3, "exec") "]}", 0, "");
    expect_refused("[]", SB_E_MALFORMED, "JSON object");
    expect_refused("{", SB_E_MALFORMED, "invalid JSON");
    expect_refused("{\"version\":2,\"hash\":\"sha384\",\"events\":[]}", SB_E_UNSUPPORTED,
                   "version");
    expect_refused("{\"version\":1,\"hash\":\"sha256\",\"events\":[]}", SB_E_UNSUPPORTED, "hash");
    expect_refused(HDR EV0 "," EV1 "],\"x\":1}", SB_E_MALFORMED, "unknown member 'x'");
    expect_refused(HDR EV0 "]}", SB_E_MALFORMED, "image and config");
    expect_refused(HDR EV1 "," EV0 "]}", SB_E_MALFORMED, "events[0].seq");
    expect_refused(HDR EV0 "," EV1 "," EVX(2, "exec") "]}", SB_E_MALFORMED,
                   "events[2].type: 'exec' where 'entrypoint' must come");
    expect_refused(HDR EV0 "," EV1 "," EVX(2, "entrypoint") "," EVX(3, "entrypoint") "]}",
                   SB_E_MALFORMED, "events[3].type");
    expect_refused(HDR EV0 "," EV1 "," EVX(3, "entrypoint") "]}", SB_E_MALFORMED, "events[2].seq");
    expect_refused(HDR EV0 ",{\"seq\":1,\"type\":\"config\",\"digest\":\"sha384:00\"}]}",
                   SB_E_MALFORMED, "events[1].digest");
    expect_refused(HDR "{\"seq\":0,\"type\":\"image\",\"digest\":\"SHA256:x\"}," EV1 "]}",
                   SB_E_MALFORMED, "events[0].digest");
    expect_refused(HDR "{\"seq\":0,\"type\":\"image\",\"digest\":\"a:b\",\"extra\":1}," EV1 "]}",
                   SB_E_MALFORMED, "events[0].extra: unknown member");
    expect_refused(HDR EV0
                   "," EV1
                   ",{\"seq\":2,\"type\":\"entrypoint\",\"argv\":[],\"env\":[],\"workdir\":\"/\","
                   "\"executable\":\"\",\"digest\":\"\"}]}",
                   SB_E_MALFORMED, "events[2].argv");
    expect_refused(HDR EV0
                   "," EV1
                   ",{\"seq\":2,\"type\":\"entrypoint\",\"argv\":[\"a\"],\"env\":[],\"workdir\":"
                   "\"rel\",\"executable\":\"\",\"digest\":\"\"}]}",
                   SB_E_MALFORMED, "events[2].workdir");
    expect_refused(HDR EV0
                   "," EV1
                   ",{\"seq\":2,\"type\":\"entrypoint\",\"argv\":[\"a\"],\"env\":[],\"workdir\":"
                   "\"/\",\"executable\":\"/a\",\"digest\":\"\"}]}",
                   SB_E_MALFORMED, "both be set");
    expect_refused(HDR EV0
                   "," EV1
                   ",{\"seq\":2,\"type\":\"entrypoint\",\"argv\":[\"a\"],\"env\":[1],\"workdir\":"
                   "\"/\",\"executable\":\"\",\"digest\":\"\"}]}",
                   SB_E_MALFORMED, "events[2].env[0]");
    expect_refused(HDR EV0 "," EV1 "],\"tainted\":true}", SB_E_MALFORMED, "tainted");
    expect_refused(HDR EV0 "," EV1 "],\"digest\":\"sha384:" D96 "\"}", SB_E_MALFORMED,
                   "digest: the log says");
    expect_refused("{\"version\":1,\"version\":1}", SB_E_MALFORMED, "invalid JSON");
}

TEST(mlog_limits) {
    /* an oversized input is refused before parsing */
    size_t n = SB_MLOG_MAX_JSON + 1;
    char *big = malloc(n);
    memset(big, ' ', n);
    struct sb_mlog_replay r;
    sb_error err = {0};
    CHECK_INT(sb_mlog_replay((const uint8_t *)big, n, &r, &err), SB_E_LIMIT);
    free(big);
    /* a writer cannot grow a log past its limits, so every log it writes replays */
    sb_mlog *l = make_log(0);
    char *env[] = {NULL};
    char *argv[] = {(char *)"x", NULL};
    int rc = 0;
    size_t added = 0;
    while ((rc = sb_mlog_add_exec(l, argv, env, "/", NULL, NULL, &err)) == 0)
        added++;
    CHECK_INT(rc, SB_E_LIMIT);
    CHECK_CONTAINS(err.msg, "full");
    CHECK_INT(sb_mlog_count(l), SB_MLOG_MAX_EVENTS);
    CHECK_INT(added, SB_MLOG_MAX_EVENTS - 2);
    size_t len = 0;
    char *s = export_log(l, &len);
    CHECK(len <= SB_MLOG_MAX_JSON);
    CHECK_OK(sb_mlog_replay((const uint8_t *)s, len, &r, &err), &err);
    CHECK_INT(r.execs, SB_MLOG_MAX_EVENTS - 3);
    sb_mlog_replay_clear(&r);
    /* one event too many in an exported log */
    json_t *j = json_loads(s, 0, NULL);
    json_object_del(j, "digest");
    json_object_del(j, "tainted");
    json_t *ev = json_deep_copy(json_array_get(json_object_get(j, "events"), 3));
    json_object_set_new(ev, "seq", json_integer(SB_MLOG_MAX_EVENTS));
    json_array_append_new(json_object_get(j, "events"), ev);
    uint8_t d[48];
    CHECK_INT(replay_json(j, d, &err), SB_E_LIMIT);
    CHECK_CONTAINS(err.msg, "events");
    json_decref(j);
    free(s);
    sb_mlog_free(l);
    /* a single argument over the byte budget */
    sb_mlog *l2 = make_log(0);
    char *huge = malloc(SB_MLOG_MAX_BYTES + 1);
    memset(huge, 'a', SB_MLOG_MAX_BYTES);
    huge[SB_MLOG_MAX_BYTES] = 0;
    char *argv2[] = {(char *)"x", huge, NULL};
    CHECK_INT(sb_mlog_add_exec(l2, argv2, env, "/", NULL, NULL, &err), SB_E_LIMIT);
    CHECK_INT(sb_mlog_count(l2), 2);
    free(huge);
    sb_mlog_free(l2);
}

static void put_file(const char *dir, const char *rel, const char *content, mode_t mode) {
    char p[4096];
    snprintf(p, sizeof(p), "%s/%s", dir, rel);
    int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, mode);
    CHECK(fd >= 0);
    CHECK(write(fd, content, strlen(content)) == (ssize_t)strlen(content));
    close(fd);
}

TEST(mlog_measure_resolves_inside_the_root) {
    const char *root = sb_test_tmpdir();
    char p[4096];
    snprintf(p, sizeof(p), "%s/usr", root);
    mkdir(p, 0755);
    snprintf(p, sizeof(p), "%s/usr/bin", root);
    mkdir(p, 0755);
    snprintf(p, sizeof(p), "%s/work", root);
    mkdir(p, 0755);
    put_file(root, "usr/bin/tool", "#!/bin/sh\necho tool\n", 0755);
    put_file(root, "usr/bin/data", "not executable", 0644);
    put_file(root, "work/local", "local tool", 0755);
    /* an absolute symlink is resolved inside the root, never on the host */
    snprintf(p, sizeof(p), "%s/usr/bin/escape", root);
    CHECK(symlink("/etc/hostname", p) == 0);
    snprintf(p, sizeof(p), "%s/usr/bin/inside", root);
    CHECK(symlink("/usr/bin/tool", p) == 0);
    int rfd = open(root, O_PATH | O_DIRECTORY);
    CHECK(rfd >= 0);
    char *env[] = {(char *)"PATH=/nope:/usr/bin", NULL};
    char path[4096];
    uint8_t d[48], want[48];
    sb_error err = {0};
    CHECK_OK(sb_hash(SB_HASH_SHA384, "#!/bin/sh\necho tool\n", 20, want, &err), &err);
    CHECK_OK(sb_mlog_measure_exe(rfd, "tool", env, "/", path, d, &err), &err);
    CHECK_STR(path, "/usr/bin/tool");
    CHECK_MEM(d, want, 48);
    CHECK_OK(sb_mlog_measure_exe(rfd, "inside", env, "/", path, d, &err), &err);
    CHECK_STR(path, "/usr/bin/inside");
    CHECK_MEM(d, want, 48);
    CHECK_INT(sb_mlog_measure_exe(rfd, "escape", env, "/", path, d, &err), SB_E_NOTFOUND);
    CHECK_INT(sb_mlog_measure_exe(rfd, "data", env, "/", path, d, &err), SB_E_NOTFOUND);
    CHECK_INT(sb_mlog_measure_exe(rfd, "missing", env, "/", path, d, &err), SB_E_NOTFOUND);
    CHECK_CONTAINS(err.msg, "missing");
    CHECK_OK(sb_mlog_measure_exe(rfd, "./local", env, "/work", path, d, &err), &err);
    CHECK_STR(path, "/work/./local");
    CHECK_OK(sb_mlog_measure_exe(rfd, "../../../work/local", env, "/work", path, d, &err), &err);
    /* without PATH, execvp's default /bin:/usr/bin */
    char *noenv[] = {NULL};
    CHECK_OK(sb_mlog_measure_exe(rfd, "tool", noenv, "/", path, d, &err), &err);
    CHECK_STR(path, "/usr/bin/tool");
    close(rfd);
}
