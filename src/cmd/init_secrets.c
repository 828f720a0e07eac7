/* init_secrets: sealbox-init's KBS client. The handshake is sb_kbs_client_run (src/kbs/client.c)
 * over a transport that relays each HTTP request to the host as a KBS_REQ frame; the evidence
 * callback asks the host's attester (EVIDENCE_REQ) to bind the runtime data built here, whose
 * tee-pubkey is the ephemeral key this process made. Values go to files or the next exec's
 * environment; none is ever sent to the host. */
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <linux/magic.h>
#include <poll.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "init_secrets.h"
#include "kbs/kbs.h"

static int ctl_fd = -1;
static init_dispatch_fn dispatch_fn;
static uint32_t next_req = 0x80000000u; /* request ids of init's own requests */
static bool busy;
static char *env_v[SB_PROTO_MAX_SECRETS + 1]; /* "NAME=value", sb_secret_alloc'ed */
static size_t env_len[SB_PROTO_MAX_SECRETS];
static size_t env_n;

void init_secrets_setup(int ctl, init_dispatch_fn dispatch) {
    ctl_fd = ctl;
    dispatch_fn = dispatch;
}

bool init_secrets_busy(void) { return busy; }

static int send_w(sb_writer *w, sb_error *err) {
    ENSURE(sb_writer_status(w) == 0, err, SB_E_LIMIT, "init: a relay frame is over the limit");
    ssize_t n;
    do
        n = send(ctl_fd, w->buf, w->len, MSG_NOSIGNAL);
    while (n < 0 && errno == EINTR);
    if (n < 0 && (errno == EPIPE || errno == ECONNRESET)) _exit(0); /* the host is gone */
    ENSURE(n == (ssize_t)w->len, err, SB_E_IO, "init: send to the host: %s", strerror(errno));
    return 0;
}

/* Waits for the reply of type want to request id; frames meanwhile go to init's handler. The
 * reply is parsed into *m over buf (SB_PROTO_MAX_FRAME bytes). */
static int wait_reply(uint16_t want, uint32_t id, uint8_t *buf, struct sb_msg *m, sb_error *err) {
    for (;;) {
        struct pollfd p = {.fd = ctl_fd, .events = POLLIN};
        int pr = poll(&p, 1, 5 * 60 * 1000);
        if (pr < 0 && errno == EINTR) continue;
        ENSURE(pr > 0, err, SB_E_IO, "init: the host did not answer the relay request");
        ssize_t n = recv(ctl_fd, buf, SB_PROTO_MAX_FRAME, MSG_TRUNC);
        if (n < 0 && errno == EINTR) continue;
        if (n == 0) _exit(0); /* the host closed: the sandbox ends with init */
        ENSURE(n > 0 && (size_t)n <= SB_PROTO_MAX_FRAME, err, SB_E_IO,
               "init: a bad frame from the host while waiting for the relay");
        sb_error perr = {0};
        struct sb_msg r;
        if (sb_msg_parse(buf, (size_t)n, &r, &perr) == 0) {
            if (r.type == want && r.exec_id == id) {
                *m = r;
                return 0;
            }
            sb_msg_free(&r);
        }
        dispatch_fn(buf, (size_t)n); /* anything else: as if the main loop had read it */
    }
}

/* ---- the transport: one HTTP request relayed by the host ------------------------------------ */

static int relay_request(void *arg, const char *method, const char *route, const char *body,
                         size_t body_len, long *status, sb_writer *resp, sb_error *err) {
    uint8_t *buf = arg;
    uint32_t id = next_req++;
    sb_writer w;
    sb_writer_init(&w, SB_PROTO_MAX_FRAME);
    int rc = sb_msg_encode_kbs_req(&w, id, strcmp(method, "POST") == 0 ? SB_KBS_POST : SB_KBS_GET,
                                   route, body, body ? body_len : 0);
    if (rc < 0) {
        sb_writer_free(&w);
        BAIL(err, SB_E_LIMIT, "init: the %s request body (%zu bytes) is over the relay limit",
             route, body_len);
    }
    rc = send_w(&w, err);
    sb_writer_free(&w);
    TRY(rc);
    struct sb_msg m;
    TRY(wait_reply(SB_MSG_KBS_RESP, id, buf, &m, err));
    if (m.u32 == 0) {
        rc = sb_error_set(err, SB_E_IO, "%.*s", (int)(m.data_len < 400 ? m.data_len : 400),
                          (const char *)m.data);
    } else {
        *status = (long)m.u32;
        rc = sb_writer_bytes(resp, m.data, m.data_len) < 0
                 ? sb_error_set(err, SB_E_LIMIT, "init: the KBS answer is over the limit")
                 : 0;
    }
    sb_msg_free(&m);
    return rc;
}

/* ---- the evidence: made by the host's attester over our runtime data ------------------------ */

static int relay_evidence(void *arg, const json_t *rd, json_t **evidence, sb_error *err) {
    uint8_t *buf = arg;
    char *s = json_dumps(rd, JSON_COMPACT);
    ENSURE(s, err, SB_E_INTERNAL, "out of memory");
    uint32_t id = next_req++;
    sb_writer w;
    sb_writer_init(&w, SB_PROTO_MAX_FRAME);
    sb_msg_put_hdr(&w, SB_MSG_EVIDENCE_REQ, id);
    sb_writer_bytes(&w, s, strlen(s));
    free(s);
    int rc = send_w(&w, err);
    sb_writer_free(&w);
    TRY(rc);
    struct sb_msg m;
    TRY(wait_reply(SB_MSG_EVIDENCE, id, buf, &m, err));
    if (!m.u32) {
        rc = sb_error_set(err, SB_E_POLICY, "%.*s", (int)(m.data_len < 400 ? m.data_len : 400),
                          (const char *)m.data);
    } else {
        json_error_t je;
        *evidence = json_loadb((const char *)m.data, m.data_len, 0, &je);
        if (!*evidence) rc = sb_error_set(err, SB_E_MALFORMED, "init: the evidence is not JSON");
    }
    sb_msg_free(&m);
    return rc;
}

int init_secrets_get(const char *path, uint8_t **v, size_t *n, sb_error *err) {
    ENSURE(!busy, err, SB_E_USAGE, "init: another secret is being fetched");
    uint8_t *buf = malloc(SB_PROTO_MAX_FRAME);
    ENSURE(buf, err, SB_E_INTERNAL, "out of memory");
    busy = true;
    /* what to attest with: the host's tee and its current measurement log */
    uint32_t id = next_req++;
    sb_writer w;
    sb_writer_init(&w, 64);
    sb_msg_put_hdr(&w, SB_MSG_CONTEXT_REQ, id);
    int rc = send_w(&w, err);
    sb_writer_free(&w);
    struct sb_msg ctx;
    memset(&ctx, 0, sizeof(ctx));
    if (rc == 0) rc = wait_reply(SB_MSG_CONTEXT, id, buf, &ctx, err);
    bool have_ctx = rc == 0;
    char *log = NULL, tee[SB_PROTO_MAX_TEE + 1] = "";
    size_t log_len = 0;
    if (rc == 0 && !ctx.u32)
        rc = sb_error_set(err, SB_E_USAGE, "%.*s", (int)(ctx.data_len < 400 ? ctx.data_len : 400),
                          (const char *)ctx.data);
    if (rc == 0) {
        snprintf(tee, sizeof(tee), "%s", ctx.str);
        log_len = ctx.data_len;
        log = malloc(log_len + 1);
        if (!log) rc = sb_error_set(err, SB_E_INTERNAL, "out of memory");
        for (size_t i = 0; log && i < log_len; i++)
            log[i] = (char)ctx.data[i];
        if (log) log[log_len] = 0;
    }
    if (have_ctx) sb_msg_free(&ctx);
    uint8_t *plain = NULL;
    size_t pn = 0;
    if (rc == 0) {
        struct sb_kbs_client_opts o = {.tee = tee,
                                       .evidence = relay_evidence,
                                       .evidence_arg = buf,
                                       .log_json = log_len ? log : NULL,
                                       .log_len = log_len};
        struct sb_kbs_transport t = {.request = relay_request, .arg = buf};
        rc = sb_kbs_client_run(&o, &t, path, &plain, &pn, err);
    }
    free(log);
    if (rc == 0) {
        uint8_t *s = sb_secret_alloc(pn + 1);
        if (!s) {
            rc = sb_error_set(err, SB_E_INTERNAL, "out of memory");
        } else {
            for (size_t i = 0; i < pn; i++)
                s[i] = plain[i];
            s[pn] = 0;
            *v = s;
            *n = pn;
        }
    }
    if (plain) sb_wipe(plain, pn);
    free(plain);
    sb_wipe(buf, SB_PROTO_MAX_FRAME);
    free(buf);
    busy = false;
    return rc;
}

/* ---- delivery ------------------------------------------------------------------------------- */

/* In a child, as the workload's uid 0 without capabilities (what the workload could do itself):
 * the missing directories, then the file, 0400, on the sandbox's root file system only. */
static int write_as_workload(const char *path, const uint8_t *v, size_t n, char *why,
                             size_t whylen) {
    int pe[2];
    if (pipe2(pe, O_CLOEXEC) != 0) {
        snprintf(why, whylen, "pipe: %s", strerror(errno));
        return -1;
    }
    pid_t pid = fork();
    if (pid == 0) {
        close(pe[0]);
        const char *fail = "drop to the workload's uid";
        int e = 0;
        struct __user_cap_header_struct h = {.version = _LINUX_CAPABILITY_VERSION_3, .pid = 0};
        struct __user_cap_data_struct d[2];
        memset(d, 0, sizeof(d));
        if (setresgid(0, 0, 0) != 0 || setresuid(0, 0, 0) != 0 ||
            prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) != 0 ||
            syscall(SYS_capset, &h, d) != 0)
            goto out;
        char dir[SB_PROTO_MAX_TARGET + 1];
        snprintf(dir, sizeof(dir), "%s", path);
        for (char *s = strchr(dir + 1, '/'); s; s = strchr(s + 1, '/')) {
            *s = 0;
            fail = "create a directory";
            if (mkdir(dir, 0755) != 0 && errno != EEXIST) goto out;
            *s = '/';
        }
        struct stat root, parent;
        char *slash = strrchr(dir, '/');
        *slash = 0;
        fail = "stat";
        if (stat("/", &root) != 0 || stat(dir[0] ? dir : "/", &parent) != 0) goto out;
        fail = "the target is not on the sandbox's own (tmpfs) root file system";
        errno = EXDEV;
        if (root.st_dev != parent.st_dev) goto out;
        struct statfs sf;
        if (statfs("/", &sf) != 0 ||
            (sf.f_type != TMPFS_MAGIC && sf.f_type != OVERLAYFS_SUPER_MAGIC))
            goto out;
        fail = "create the file (it must not exist yet)";
        int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0400);
        if (fd < 0) goto out;
        fail = "write the file";
        for (size_t off = 0; off < n;) {
            ssize_t k = write(fd, v + off, n - off);
            if (k < 0 && errno == EINTR) continue;
            if (k <= 0) goto out;
            off += (size_t)k;
        }
        if (close(fd) != 0) goto out;
        _exit(0);
    out:
        e = errno;
        dprintf(pe[1], "%s: %s", fail, strerror(e));
        _exit(1);
    }
    close(pe[1]);
    int st = 0;
    if (pid > 0)
        while (waitpid(pid, &st, 0) < 0 && errno == EINTR) {
        }
    ssize_t k = pid > 0 ? read(pe[0], why, whylen - 1) : -1;
    close(pe[0]);
    if (pid > 0 && WIFEXITED(st) && WEXITSTATUS(st) == 0) return 0;
    if (k <= 0)
        snprintf(why, whylen, "%s", pid < 0 ? strerror(errno) : "the writer died");
    else
        why[k] = 0;
    return -1;
}

static void env_clear(void) {
    for (size_t i = 0; i < env_n; i++)
        sb_secret_free(env_v[i], env_len[i]);
    memset(env_v, 0, sizeof(env_v));
    env_n = 0;
}

char *const *init_secrets_env(size_t *n) {
    *n = env_n;
    return env_v;
}

void init_secrets_env_done(void) { env_clear(); }

static void done(uint32_t id, bool ok, const char *why) {
    sb_writer w;
    sb_writer_init(&w, SB_PROTO_MAX_FRAME);
    sb_error ignored = {0};
    if (sb_msg_encode_reply(&w, SB_MSG_SECRETS_DONE, id, ok, "", why, why ? strlen(why) : 0) == 0)
        (void)send_w(&w, &ignored);
    sb_writer_free(&w);
}

void init_secrets_release(uint32_t id, const struct sb_msg_secrets *s) {
    env_clear();
    for (size_t i = 0; i < s->count; i++) {
        const struct sb_secret_spec *sp = &s->v[i];
        sb_error err = {0};
        uint8_t *v = NULL;
        size_t n = 0;
        char why[SB_ERRMSG_MAX + 256];
        if (init_secrets_get(sp->path, &v, &n, &err) < 0) {
            snprintf(why, sizeof(why), "secret %s: %s", sp->path, err.msg);
            env_clear();
            done(id, false, why);
            return;
        }
        int rc = 0;
        char msg[512] = "";
        if (sp->kind == SB_SECRET_FILE) {
            rc = write_as_workload(sp->target, v, n, msg, sizeof(msg));
        } else if (memchr(v, 0, n)) {
            snprintf(msg, sizeof(msg), "the value holds a NUL byte, which an environment cannot");
            rc = -1;
        } else {
            size_t tl = strlen(sp->target), len = tl + 1 + n + 1;
            char *e = sb_secret_alloc(len);
            if (!e) {
                snprintf(msg, sizeof(msg), "out of memory");
                rc = -1;
            } else {
                memcpy(e, sp->target, tl);
                e[tl] = '=';
                memcpy(e + tl + 1, v, n);
                e[len - 1] = 0;
                env_v[env_n] = e;
                env_len[env_n++] = len;
            }
        }
        sb_secret_free(v, n + 1);
        if (rc < 0) {
            snprintf(why, sizeof(why), "secret %s: %s %s: %s", sp->path,
                     sp->kind == SB_SECRET_FILE ? "file" : "env", sp->target, msg);
            env_clear();
            done(id, false, why);
            return;
        }
    }
    done(id, true, NULL);
}

/* ---- the workload's socket: GET /cdh/resource/<repo>/<type>/<tag> -------------------------- */

int init_cdh_listen(void) {
    int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (s < 0) return -1;
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    size_t nl = strlen(SB_CDH_SOCKET);
    for (size_t i = 0; i < nl; i++) /* abstract: private to the sandbox's network namespace */
        a.sun_path[1 + i] = SB_CDH_SOCKET[i];
    socklen_t alen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + nl);
    if (bind(s, (struct sockaddr *)&a, alen) != 0 || listen(s, 16) != 0) {
        close(s);
        return -1;
    }
    return s;
}

static void respond(int c, int status, const uint8_t *body, size_t n, bool secret) {
    const char *why = status == 200   ? "OK"
                      : status == 400 ? "Bad Request"
                      : status == 403 ? "Forbidden"
                      : status == 404 ? "Not Found"
                      : status == 405 ? "Method Not Allowed"
                      : status == 503 ? "Service Unavailable"
                                      : "Bad Gateway";
    char head[256];
    int hn = snprintf(head, sizeof(head),
                      "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
                      "Connection: close\r\n\r\n",
                      status, why, secret ? "application/octet-stream" : "text/plain", n);
    if (hn <= 0 || (size_t)hn >= sizeof(head)) return;
    const uint8_t *parts[2] = {(const uint8_t *)head, body};
    size_t lens[2] = {(size_t)hn, n};
    for (int k = 0; k < 2; k++)
        for (size_t off = 0; off < lens[k];) {
            ssize_t w = send(c, parts[k] + off, lens[k] - off, MSG_NOSIGNAL);
            if (w < 0 && errno == EINTR) continue;
            if (w <= 0) return;
            off += (size_t)w;
        }
}

static void respond_text(int c, int status, const char *msg) {
    respond(c, status, (const uint8_t *)msg, strlen(msg), false);
}

void init_cdh_serve(int lfd) {
    int c = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
    if (c < 0) return;
    struct timeval tv = {.tv_sec = 5};
    (void)setsockopt(c, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    /* only the workload's uid: init itself is another uid, and a process that reached the
     * socket from outside the sandbox (setns into its network namespace) is unmapped here */
    struct ucred uc;
    socklen_t ul = sizeof(uc);
    char msg[SB_ERRMSG_MAX + SB_PROTO_MAX_SECRET_PATH + 64];
    if (getsockopt(c, SOL_SOCKET, SO_PEERCRED, &uc, &ul) != 0 || uc.uid != 0) {
        snprintf(msg, sizeof(msg),
                 "sealbox-init: caller uid %u is not the workload's (0); refused\n",
                 ul == sizeof(uc) ? (unsigned)uc.uid : 65534u);
        respond_text(c, 403, msg);
        close(c);
        return;
    }
    /* the request, within 2 seconds (init serves one caller at a time) */
    uint8_t req[SB_CDH_MAX_REQUEST];
    size_t len = 0;
    char path[SB_PROTO_MAX_SECRET_PATH + 1];
    sb_error err = {0};
    int rc = SB_E_TRUNCATED;
    uint64_t start = 0;
    struct timespec ts;
    if (clock_gettime(CLOCK_MONOTONIC, &ts) == 0)
        start = (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
    while (rc == SB_E_TRUNCATED && len < sizeof(req)) {
        uint64_t now = start;
        if (clock_gettime(CLOCK_MONOTONIC, &ts) == 0)
            now = (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
        if (now - start >= 2000) break;
        struct pollfd p = {.fd = c, .events = POLLIN};
        if (poll(&p, 1, (int)(2000 - (now - start))) <= 0) continue;
        ssize_t k = recv(c, req + len, sizeof(req) - len, MSG_DONTWAIT);
        if (k < 0 && (errno == EINTR || errno == EAGAIN)) continue;
        if (k <= 0) break;
        len += (size_t)k;
        rc = sb_cdh_parse_request(req, len, path, &err);
    }
    if (rc == SB_E_TRUNCATED && len == sizeof(req))
        (void)sb_error_set(&err, SB_E_LIMIT, "cdh request: over %u bytes", SB_CDH_MAX_REQUEST);
    if (rc < 0) {
        snprintf(msg, sizeof(msg), "%s\n",
                 rc == SB_E_TRUNCATED && !err.msg[0] ? "cdh request: incomplete" : err.msg);
        respond_text(c, rc == SB_E_NOTFOUND ? 404 : rc == SB_E_UNSUPPORTED ? 405 : 400, msg);
        close(c);
        return;
    }
    uint8_t *v = NULL;
    size_t n = 0;
    rc = init_secrets_get(path, &v, &n, &err);
    if (rc == 0) {
        respond(c, 200, v, n, true);
        sb_secret_free(v, n + 1);
    } else {
        snprintf(msg, sizeof(msg), "secret %s: %s\n", path, err.msg);
        respond_text(c,
                     rc == SB_E_POLICY     ? 403
                     : rc == SB_E_NOTFOUND ? 404
                     : rc == SB_E_USAGE    ? 503
                                           : 502,
                     msg);
    }
    close(c);
}
