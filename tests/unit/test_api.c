/* test_api: the front<->monitor message codec (every bound), API keys and the HMAC secret file,
 * listen specs, and the real monitor facing hostile fronts: malformed messages kill the front,
 * never the monitor, which restarts it and keeps serving. */
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "api/api.h"
#include "crypto/crypto.h"
#include "harness.h"
#include "store/store.h"

/* ---- codec ---------------------------------------------------------------------------------- */

static uint8_t *enc(uint16_t type, uint32_t id, const sb_ipc_val *v, size_t n, size_t *len) {
    sb_writer w;
    sb_writer_init(&w, SB_IPC_MSG_MAX);
    sb_error err = {0};
    CHECK_OK(sb_ipc_encode(&w, type, id, v, n, &err), &err);
    return sb_writer_steal(&w, len);
}

TEST(ipc_roundtrip_every_kind) {
    sb_ipc_str env[2] = {{(const uint8_t *)"A=1", 3}, {(const uint8_t *)"B=two", 5}};
    sb_ipc_str md[1] = {{(const uint8_t *)"team=x", 6}};
    sb_ipc_str sec[1] = {{(const uint8_t *)"a/b/c:env=X", 11}};
    sb_ipc_val v[9] = {sb_ipc_s("cred"),
                       sb_ipc_s("default"),
                       sb_ipc_u(512),
                       sb_ipc_u(1000),
                       sb_ipc_u(300),
                       sb_ipc_u(0),
                       {.count = 2, .list = env},
                       {.count = 1, .list = md},
                       {.count = 1, .list = sec}};
    size_t n = 0;
    uint8_t *b = enc(SB_IPC_SBX_CREATE, 77, v, 9, &n);
    sb_ipc_msg m;
    sb_error err = {0};
    CHECK_OK(sb_ipc_decode(b, n, &m, &err), &err);
    CHECK_INT(m.type, SB_IPC_SBX_CREATE);
    CHECK_INT(m.id, 77);
    CHECK_INT(m.nfields, 9);
    CHECK_INT(m.f[2].u, 512);
    CHECK_INT(m.f[8].count, 1);
    CHECK_MEM(m.f[8].list[0].p, "a/b/c:env=X", 11);
    CHECK_INT(m.f[6].count, 2);
    CHECK_INT(m.f[6].list[1].len, 5);
    CHECK_MEM(m.f[6].list[1].p, "B=two", 5);
    char img[16];
    CHECK_OK(sb_ipc_str_copy(&m.f[1].s, img, sizeof(img), &err, "image"), &err);
    CHECK_STR(img, "default");
    CHECK_INT(sb_ipc_str_copy(&m.f[1].s, img, 7, &err, "image"), SB_E_LIMIT);
    CHECK(sb_ipc_from_front(SB_IPC_SBX_CREATE));
    CHECK(!sb_ipc_from_front(SB_IPC_REPLY));
    CHECK_STR(sb_ipc_type_name(SB_IPC_SBX_CREATE), "sbx_create");
    free(b);
}

TEST(ipc_every_truncation_fails) {
    sb_ipc_str argv[2] = {{(const uint8_t *)"ls", 2}, {(const uint8_t *)"-l", 2}};
    sb_ipc_val v[8] = {sb_ipc_s("c"), sb_ipc_s("sbx_1"),       {.count = 2, .list = argv},
                       {.count = 0},  sb_ipc_s("/"),           sb_ipc_b("in", 2),
                       sb_ipc_u(5),   sb_ipc_u(SB_EXEC_STREAM)};
    size_t n = 0;
    uint8_t *b = enc(SB_IPC_SBX_EXEC, 1, v, 8, &n);
    sb_ipc_msg m;
    sb_error err = {0};
    CHECK_OK(sb_ipc_decode(b, n, &m, &err), &err);
    for (size_t cut = 0; cut < n; cut++) {
        sb_error e2 = {0};
        CHECK_MSG(sb_ipc_decode(b, cut, &m, &e2) == SB_E_TRUNCATED, "cut at %zu accepted", cut);
        CHECK(e2.msg[0] != '\0');
    }
    /* One byte too many is refused too. */
    uint8_t *b2 = malloc(n + 1);
    memcpy(b2, b, n);
    b2[n] = 0;
    CHECK_INT(sb_ipc_decode(b2, n + 1, &m, &err), SB_E_MALFORMED);
    CHECK_CONTAINS(err.msg, "trailing");
    free(b2);
    free(b);
}

TEST(ipc_header_checks) {
    uint8_t unknown[8] = {0x39, 0x05, 0, 0, 1, 0, 0, 0};
    sb_ipc_msg m;
    sb_error err = {0};
    CHECK_INT(sb_ipc_decode(unknown, 8, &m, &err), SB_E_MALFORMED);
    CHECK_CONTAINS(err.msg, "unknown message type 1337");
    uint8_t flags[8] = {SB_IPC_HEALTH, 0, 1, 0, 0, 0, 0, 0};
    CHECK_INT(sb_ipc_decode(flags, 8, &m, &err), SB_E_MALFORMED);
    CHECK_CONTAINS(err.msg, "flags");
    uint8_t ok[8] = {SB_IPC_HEALTH, 0, 0, 0, 9, 0, 0, 0};
    CHECK_OK(sb_ipc_decode(ok, 8, &m, &err), &err);
    CHECK_INT(m.id, 9);
    uint8_t gap[8] = {20, 0, 0, 0, 0, 0, 0, 0}; /* a hole in the type numbering */
    CHECK_INT(sb_ipc_decode(gap, 8, &m, &err), SB_E_MALFORMED);
}

TEST(ipc_field_limits) {
    sb_error err = {0};
    sb_ipc_msg m;
    /* A credential one byte over its limit, hand-built so the encoder cannot refuse it. */
    sb_writer w;
    sb_writer_init(&w, SB_IPC_MSG_MAX);
    (void)sb_writer_u16le(&w, SB_IPC_TENANT);
    (void)sb_writer_u16le(&w, 0);
    (void)sb_writer_u32le(&w, 1);
    (void)sb_writer_u32le(&w, SB_IPC_CRED_MAX + 1);
    for (unsigned i = 0; i <= SB_IPC_CRED_MAX; i++)
        (void)sb_writer_u8(&w, 'a');
    CHECK_INT(sb_ipc_decode(w.buf, w.len, &m, &err), SB_E_LIMIT);
    CHECK_CONTAINS(err.msg, "tenant.credential");
    sb_writer_free(&w);
    /* A huge declared length with nothing behind it. */
    sb_writer_init(&w, SB_IPC_MSG_MAX);
    (void)sb_writer_u16le(&w, SB_IPC_REPLY);
    (void)sb_writer_u16le(&w, 0);
    (void)sb_writer_u32le(&w, 1);
    (void)sb_writer_u16le(&w, 200);
    (void)sb_writer_u8(&w, 0);
    (void)sb_writer_u32le(&w, 0xffffffffu);
    CHECK_INT(sb_ipc_decode(w.buf, w.len, &m, &err), SB_E_LIMIT);
    sb_writer_free(&w);
    /* A list count over the field's maximum. */
    sb_writer_init(&w, SB_IPC_MSG_MAX);
    (void)sb_writer_u16le(&w, SB_IPC_SBX_LIST);
    (void)sb_writer_u16le(&w, 0);
    (void)sb_writer_u32le(&w, 1);
    (void)sb_writer_u32le(&w, 1);
    (void)sb_writer_u8(&w, 'c');
    (void)sb_writer_u32le(&w, 0);
    (void)sb_writer_u32le(&w, 10);
    (void)sb_writer_u8(&w, 0);
    (void)sb_writer_u16le(&w, 17);
    CHECK_INT(sb_ipc_decode(w.buf, w.len, &m, &err), SB_E_LIMIT);
    CHECK_CONTAINS(err.msg, "17 items");
    sb_writer_free(&w);
    /* Control characters in text fields; bytes fields take anything. */
    sb_ipc_val bad[1] = {sb_ipc_b("a\nb", 3)};
    sb_writer_init(&w, SB_IPC_MSG_MAX);
    CHECK_INT(sb_ipc_encode(&w, SB_IPC_TENANT, 1, bad, 1, &err), SB_E_MALFORMED);
    sb_writer_free(&w);
    sb_writer_init(&w, SB_IPC_MSG_MAX);
    (void)sb_writer_u16le(&w, SB_IPC_TENANT);
    (void)sb_writer_u16le(&w, 0);
    (void)sb_writer_u32le(&w, 1);
    (void)sb_writer_u32le(&w, 3);
    (void)sb_writer_bytes(&w, "a\0b", 3);
    CHECK_INT(sb_ipc_decode(w.buf, w.len, &m, &err), SB_E_MALFORMED);
    CHECK_CONTAINS(err.msg, "control character");
    sb_writer_free(&w);
    sb_ipc_val rep[3] = {sb_ipc_u(200), sb_ipc_u(0), sb_ipc_b("\0\1\2", 3)};
    size_t n = 0;
    uint8_t *b = enc(SB_IPC_REPLY, 5, rep, 3, &n);
    CHECK_OK(sb_ipc_decode(b, n, &m, &err), &err);
    free(b);
    /* The encoder refuses out-of-range integers and wrong field counts. */
    sb_ipc_val big[3] = {sb_ipc_u(70000), sb_ipc_u(0), sb_ipc_b("", 0)};
    sb_writer_init(&w, SB_IPC_MSG_MAX);
    CHECK_INT(sb_ipc_encode(&w, SB_IPC_REPLY, 1, big, 3, &err), SB_E_LIMIT);
    CHECK_INT(sb_ipc_encode(&w, SB_IPC_REPLY, 1, big, 2, &err), SB_E_USAGE);
    sb_writer_free(&w);
}

/* ---- API keys -------------------------------------------------------------------------------- */

TEST(apikey_shape) {
    sb_error err = {0};
    char key[SB_APIKEY_LEN + 1], id[SB_APIKEY_ID_LEN + 1], key2[SB_APIKEY_LEN + 1],
        id2[SB_APIKEY_ID_LEN + 1];
    CHECK_OK(sb_apikey_generate(key, id, &err), &err);
    CHECK_OK(sb_apikey_generate(key2, id2, &err), &err);
    CHECK(strcmp(key, key2) != 0);
    CHECK_INT(strlen(key), SB_APIKEY_LEN);
    CHECK(sb_apikey_well_formed(key, strlen(key)));
    CHECK(strncmp(key, id, SB_APIKEY_ID_LEN) == 0);
    CHECK(sb_store_key_id_valid(id));
    /* The random part decodes to exactly 32 bytes. */
    uint8_t *raw = NULL;
    size_t rawlen = 0;
    CHECK_OK(sb_base64url_decode(key + SB_APIKEY_ID_LEN + 1, 43, &raw, &rawlen, &err), &err);
    CHECK_INT(rawlen, 32);
    free(raw);
    for (size_t i = 0; i < SB_APIKEY_LEN; i++) {
        char bad[SB_APIKEY_LEN + 1];
        memcpy(bad, key, sizeof(bad));
        bad[i] = (i < SB_APIKEY_ID_LEN && i >= 4) ? 'G' : '!';
        CHECK_MSG(!sb_apikey_well_formed(bad, SB_APIKEY_LEN), "corrupt at %zu accepted", i);
    }
    CHECK(!sb_apikey_well_formed(key, SB_APIKEY_LEN - 1));
    CHECK(!sb_apikey_well_formed(NULL, 0));
    /* A last character carrying bits a 32-byte value cannot have is a second spelling. */
    char alias[SB_APIKEY_LEN + 1];
    memcpy(alias, key, sizeof(alias));
    alias[SB_APIKEY_LEN - 1] = 'B';
    CHECK(!sb_apikey_well_formed(alias, SB_APIKEY_LEN));
}

TEST(apikey_hash_is_keyed) {
    sb_error err = {0};
    uint8_t s1[SB_APIKEY_SECRET_LEN], s2[SB_APIKEY_SECRET_LEN];
    memset(s1, 1, sizeof(s1));
    memset(s2, 2, sizeof(s2));
    const char *k = "sbk_0123456789ab_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
    uint8_t h1[32], h1b[32], h2[32];
    CHECK_OK(sb_apikey_hash(s1, k, strlen(k), h1, &err), &err);
    CHECK_OK(sb_apikey_hash(s1, k, strlen(k), h1b, &err), &err);
    CHECK_OK(sb_apikey_hash(s2, k, strlen(k), h2, &err), &err);
    CHECK_MEM(h1, h1b, 32);
    CHECK(memcmp(h1, h2, 32) != 0);
    /* HMAC-SHA-256 with key 0x01*32 over the key text, computed independently:
     * openssl dgst -sha256 -mac HMAC -macopt hexkey:0101...01 */
    uint8_t *want = NULL;
    size_t wl = 0;
    CHECK_OK(sb_hex_decode("6dbcd6d1a2883aa6c8b907ea353fa43874f8b63cfde63038d1e1d027cd1ebad5", 64,
                           &want, &wl, &err),
             &err);
    CHECK_INT(wl, 32);
    if (want) CHECK_MEM(h1, want, 32);
    free(want);
}

TEST(apikey_secret_file) {
    char dir[512];
    (void)snprintf(dir, sizeof(dir), "%s/state", sb_test_tmpdir());
    sb_error err = {0};
    CHECK_OK(sb_state_dir_prepare(dir, &err), &err);
    uint8_t *a = NULL, *b = NULL;
    CHECK_OK(sb_apikey_secret_load(dir, &a, &err), &err);
    CHECK_OK(sb_apikey_secret_load(dir, &b, &err), &err);
    CHECK_MEM(a, b, SB_APIKEY_SECRET_LEN);
    char path[600];
    (void)snprintf(path, sizeof(path), "%s/%s", dir, SB_APIKEY_SECRET_FILE);
    struct stat st;
    CHECK_INT(stat(path, &st), 0);
    CHECK_INT(st.st_mode & 0777, 0600);
    CHECK_INT(st.st_size, SB_APIKEY_SECRET_LEN);
    sb_secret_free(b, SB_APIKEY_SECRET_LEN);
    CHECK_INT(chmod(path, 0644), 0);
    CHECK_INT(sb_apikey_secret_load(dir, &b, &err), SB_E_POLICY);
    CHECK_CONTAINS(err.msg, "mode 644");
    CHECK_INT(chmod(path, 0600), 0);
    CHECK_INT(truncate(path, 16), 0);
    CHECK_INT(sb_apikey_secret_load(dir, &b, &err), SB_E_MALFORMED);
    sb_secret_free(a, SB_APIKEY_SECRET_LEN);
    /* A world-writable state directory is refused. */
    CHECK_INT(chmod(dir, 0777), 0);
    CHECK_INT(sb_state_dir_prepare(dir, &err), SB_E_POLICY);
}

TEST(listen_specs) {
    sb_listen_spec s;
    sb_error err = {0};
    CHECK_OK(sb_listen_parse("unix:/run/sealbox.sock", &s, &err), &err);
    CHECK_INT(s.kind, SB_LISTEN_UNIX);
    CHECK_STR(s.path, "/run/sealbox.sock");
    CHECK_OK(sb_listen_parse("tcp:127.0.0.1:8443", &s, &err), &err);
    CHECK_INT(s.port, 8443);
    CHECK(sb_listen_is_loopback(&s));
    CHECK_OK(sb_listen_parse("tcp:[::1]:80", &s, &err), &err);
    CHECK_STR(s.host, "::1");
    CHECK(sb_listen_is_loopback(&s));
    CHECK_OK(sb_listen_parse("tcp:0.0.0.0:80", &s, &err), &err);
    CHECK(!sb_listen_is_loopback(&s));
    const char *bad[] = {"unix:relative", "tcp:host", "tcp:h:99999", "tcp::80",
                         "http://x",      "",         "tcp:[::1:80"};
    for (size_t i = 0; i < SB_ARRAY_LEN(bad); i++)
        CHECK_MSG(sb_listen_parse(bad[i], &s, &err) < 0, "'%s' accepted", bad[i]);
}

/* ---- the monitor against hostile fronts ---------------------------------------------------------
 */

struct hostile {
    int spawns;
};

static void send_raw(int fd, const void *p, size_t n) {
    if (send(fd, p, n, 0) != (ssize_t)n) _exit(10);
}

/* A front's request/reply: returns the reply status (or exits the child on trouble). */
static int roundtrip(int fd, uint16_t type, const sb_ipc_val *v, size_t n, char *body, size_t cap) {
    sb_writer w;
    sb_writer_init(&w, SB_IPC_MSG_MAX);
    sb_error err = {0};
    if (sb_ipc_encode(&w, type, 42, v, n, &err) < 0) _exit(11);
    send_raw(fd, w.buf, w.len);
    sb_writer_free(&w);
    static uint8_t buf[SB_IPC_MSG_MAX];
    ssize_t k = recv(fd, buf, sizeof(buf), 0);
    sb_ipc_msg m;
    if (k <= 0 || sb_ipc_decode(buf, (size_t)k, &m, &err) < 0) _exit(12);
    if (m.type != SB_IPC_REPLY || m.id != 42) _exit(13);
    size_t l = m.f[2].s.len < cap - 1 ? m.f[2].s.len : cap - 1;
    memcpy(body, m.f[2].s.p, l);
    body[l] = '\0';
    return (int)m.f[0].u;
}

/* Each start of the "front" plays the next scene: three ways to misbehave, then a good front
 * that checks the monitor still answers and asks it to stop. */
static int hostile_spawn(void *arg, int fd, pid_t *pid, sb_error *err) {
    struct hostile *h = arg;
    int scene = h->spawns++;
    pid_t p = fork();
    if (p < 0) BAIL(err, SB_E_IO, "fork");
    if (p > 0) {
        *pid = p;
        return 0;
    }
    char body[4096];
    switch (scene) {
    case 0: {
        /* Garbage: an unknown message type. */
        uint8_t junk[12] = {0xff, 0x7f, 0, 0, 1, 0, 0, 0, 'j', 'u', 'n', 'k'};
        send_raw(fd, junk, sizeof(junk));
        break;
    }
    case 1: {
        /* Well-formed, then a sandbox id the front should never have let through. */
        if (roundtrip(fd, SB_IPC_HEALTH, NULL, 0, body, sizeof(body)) != 200) _exit(20);
        if (!strstr(body, "\"ok\"")) _exit(21);
        sb_ipc_val v[2] = {sb_ipc_s("sbk_0123456789ab_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"),
                           sb_ipc_s("../../etc")};
        sb_writer w;
        sb_writer_init(&w, SB_IPC_MSG_MAX);
        if (sb_ipc_encode(&w, SB_IPC_SBX_GET, 2, v, 2, err) < 0) _exit(22);
        send_raw(fd, w.buf, w.len);
        break;
    }
    case 2: {
        /* A credential that is not shaped like a key, then (if still alive) a reply-type
         * message, which only the monitor may send. */
        sb_ipc_val v[1] = {sb_ipc_s("hunter2")};
        sb_writer w;
        sb_writer_init(&w, SB_IPC_MSG_MAX);
        if (sb_ipc_encode(&w, SB_IPC_TENANT, 3, v, 1, err) < 0) _exit(30);
        send_raw(fd, w.buf, w.len);
        break;
    }
    case 3: {
        /* A file descriptor smuggled along with a valid message. */
        uint8_t msg[8] = {SB_IPC_HEALTH, 0, 0, 0, 4, 0, 0, 0};
        struct iovec iov = {msg, sizeof(msg)};
        union {
            struct cmsghdr h;
            char b[CMSG_SPACE(sizeof(int))];
        } cm;
        memset(&cm, 0, sizeof(cm));
        struct msghdr mh = {
            .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cm.b, .msg_controllen = sizeof(cm.b)};
        struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
        c->cmsg_level = SOL_SOCKET;
        c->cmsg_type = SCM_RIGHTS;
        c->cmsg_len = CMSG_LEN(sizeof(int));
        int zero = 0;
        memcpy(CMSG_DATA(c), &zero, sizeof(int));
        if (sendmsg(fd, &mh, 0) != (ssize_t)sizeof(msg)) _exit(40);
        break;
    }
    case 4: {
        /* A well-behaved front: a valid unauthenticated and authenticated-but-wrong request
         * are answered (200 and 401), then it asks the monitor to stop and drains. */
        if (roundtrip(fd, SB_IPC_HEALTH, NULL, 0, body, sizeof(body)) != 200) _exit(50);
        sb_ipc_val v[1] = {
            sb_ipc_s("sbk_0123456789ab_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")};
        if (roundtrip(fd, SB_IPC_TENANT, v, 1, body, sizeof(body)) != 401) _exit(51);
        if (!strstr(body, "invalid API key")) _exit(52);
        kill(getppid(), SIGTERM);
        static uint8_t buf[SB_IPC_MSG_MAX];
        ssize_t k = recv(fd, buf, sizeof(buf), 0);
        sb_ipc_msg m;
        if (k <= 0 || sb_ipc_decode(buf, (size_t)k, &m, err) < 0 || m.type != SB_IPC_SHUTDOWN)
            _exit(53);
        _exit(0);
    }
    default: _exit(99);
    }
    /* Misbehaving scenes wait to be killed; surviving 20 s means the monitor did not react. */
    sleep(20);
    _exit(98);
}

TEST(monitor_kills_and_respawns_misbehaving_fronts) {
    char dir[512];
    (void)snprintf(dir, sizeof(dir), "%s/mon", sb_test_tmpdir());
    sb_error err = {0};
    CHECK_OK(sb_state_dir_prepare(dir, &err), &err);
    sb_log lg;
    int devnull = open("/dev/null", O_WRONLY | O_CLOEXEC);
    sb_log_init(&lg, getenv("SB_TEST_VERBOSE") ? 2 : devnull, SB_LOG_DEBUG, false, "mon");
    struct hostile h = {0};
    sb_monitor_cfg cfg = {
        .state_dir = dir, .log = &lg, .spawn = hostile_spawn, .spawn_arg = &h, .drain_seconds = 5};
    sb_monitor *m = NULL;
    CHECK_OK(sb_monitor_new(&cfg, &m, &err), &err);
    if (!m) return;
    CHECK_OK(sb_monitor_run(m, &err), &err);
    sb_monitor_stats st;
    sb_monitor_get_stats(m, &st);
    sb_monitor_free(m);
    /* Restore the signal mask the monitor changed, for the cases that follow. */
    sigset_t set;
    sigemptyset(&set);
    (void)sigprocmask(SIG_SETMASK, &set, NULL);
    close(devnull);
    CHECK_INT(st.front_spawns, 5);
    CHECK_INT(st.front_kills, 4);
    CHECK_INT(st.front_exits, 1);
    CHECK(WIFEXITED(st.last_front_status));
    CHECK_INT(WEXITSTATUS(st.last_front_status), 0);
    /* Health, the refused key and the well-formed half of scene 1 reached handlers. */
    CHECK(st.messages >= 3);
    /* Every kill is on record. */
    char path[600];
    (void)snprintf(path, sizeof(path), "%s/%s", dir, SB_DB_FILE);
    sb_store *s = NULL;
    CHECK_OK(sb_store_open(path, &s, &err), &err);
    sb_event *ev = NULL;
    size_t n = 0;
    CHECK_OK(sb_store_event_list(s, 0, NULL, 0, 100, &ev, &n, &err), &err);
    int killed = 0, stops = 0;
    for (size_t i = 0; i < n; i++) {
        if (strcmp(ev[i].kind, "front.killed") == 0) killed++;
        if (strcmp(ev[i].kind, "daemon.stop") == 0) stops++;
    }
    CHECK_INT(killed, 4);
    CHECK_INT(stops, 1);
    sb_events_free(ev, n);
    sb_store_close(s);
}
