/* monitor_sbx: the monitor's sandboxes — create (with quotas), get, delete, standby, resume and
 * exec through the sandbox backend (src/sandbox), lifecycle timers, and teardown on stop. An
 * exec runs in a worker thread (the backend's exec blocks until the command ends) so the
 * monitor keeps answering; the monitor collects its output and enforces its deadline. Only
 * the worker touches the sandbox's exec channel; the monitor may signal, freeze and thaw. */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "../crypto/crypto.h"
#include "../sandbox/sandbox.h"
#include "monitor_int.h"

#define EXEC_WORKERS_MAX 64
#define EXEC_OUTPUT_MAX (64u << 10)  /* bytes of stdout and of stderr kept per exec */
#define EXEC_OUTPUT_SMALL (8u << 10) /* ... when the full reply would not fit */
#define EXEC_KILL_GRACE_NS 2000000000ull
#define WORKER_JOIN_S 5

struct worker;

struct sbx {
    char id[SB_SANDBOX_ID_MAX + 1];
    int64_t tenant_id;
    int64_t memory_mb;
    sb_sandbox *h;
    enum sb_sbx_state state;
    uint64_t deadline_ns; /* timeout_s: destroyed then */
    uint64_t idle_ns;     /* idle_standby_s: frozen after this long without an exec */
    uint64_t last_active_ns;
    struct worker *busy; /* the exec running in it, if any */
    char **env;          /* KEY=VALUE from create, for every exec (kept in memory only: values
                            may be secrets and are never written to disk) */
    sb_mlog *mlog;       /* the measurement log; only this monitor writes it */
    struct sbx *next;
};

struct worker {
    pthread_t tid;
    bool joined;
    /* the thread's inputs (it frees and closes them) */
    const struct sb_backend_ops *be;
    sb_sandbox *h;
    char **argv, **envp;
    char cwd[SB_IPC_PATH_MAX + 1];
    int in, out_w, err_w, done_w;
    /* the thread's result, read after its done pipe reports EOF */
    int rc;
    struct sb_exit ex;
    char msg[SB_ERRMSG_MAX];
    /* the monitor's side */
    int out, err, done;
    uint32_t req_id;
    struct sbx *sbx;
    sb_writer obuf, ebuf;
    uint64_t ototal, etotal;
    uint64_t started_ns, deadline_ns, killed_ns;
    bool timed_out;
    struct worker *next;
};

/* The warm pool holds sandboxes of the default shape, built ahead of demand: a create that
 * asks for exactly that shape takes one and answers without building anything. A pooled
 * sandbox has never run a command and belongs to nobody until it is taken. */
#define POOL_MAX 64
#define POOL_MEMORY_MB 512

struct sb_monitor_sbx {
    const struct sb_backend_ops *be;
    char init_path[4096];
    struct sbx *list;
    struct worker *workers;
    unsigned nworkers;
    sb_sandbox *pool[POOL_MAX];
    unsigned npool, pool_target;
    uint64_t pool_fail_until_ns;
    uint64_t creates, create_fail, execs, pool_hits;
    double create_sum_s, exec_sum_s;
};

static void pool_config(sb_monitor *m, struct sb_sandbox_config *sc) {
    *sc = (struct sb_sandbox_config){.state_dir = m->cfg.state_dir,
                                     .init_path = m->sbx->init_path,
                                     .memory_bytes = (uint64_t)POOL_MEMORY_MB << 20,
                                     .net_none = true};
}

/* Builds at most one pooled sandbox per call (the loop calls it when it has nothing else to
 * do), so a refill never holds up requests for longer than one creation. */
static void pool_refill(sb_monitor *m) {
    struct sb_monitor_sbx *x = m->sbx;
    if (x->npool >= x->pool_target || m->stopping || sb_mono_ns() < x->pool_fail_until_ns) return;
    struct sb_sandbox_config sc;
    pool_config(m, &sc);
    sb_sandbox *h = NULL;
    sb_error e = {0};
    if (x->be->create(&sc, &h, &e) < 0) {
        sb_logf(m->cfg.log, SB_LOG_WARN, "warm pool: %s (retrying in 10 s)", e.msg);
        x->pool_fail_until_ns = sb_mono_ns() + 10000000000ull;
        return;
    }
    x->pool[x->npool++] = h;
}

/* ---- bookkeeping -------------------------------------------------------------------------- */

static struct sbx *find(sb_monitor *m, int64_t tenant, const char *id) {
    for (struct sbx *s = m->sbx->list; s; s = s->next)
        if (s->tenant_id == tenant && strcmp(s->id, id) == 0) return s;
    return NULL;
}

static void unlink_sbx(sb_monitor *m, struct sbx *s) {
    for (struct sbx **pp = &m->sbx->list; *pp; pp = &(*pp)->next)
        if (*pp == s) {
            *pp = s->next;
            return;
        }
}

static void set_state(sb_monitor *m, struct sbx *s, enum sb_sbx_state st, const char *event) {
    sb_error e = {0};
    s->state = st;
    if (sb_store_sandbox_set_state(m->store, s->tenant_id, s->id, st, &e) < 0)
        sb_logf(m->cfg.log, SB_LOG_ERROR, "sandbox %s: %s", s->id, e.msg);
    if (event && sb_store_event_add(m->store, s->tenant_id, s->id, event, NULL, NULL, &e) < 0)
        sb_logf(m->cfg.log, SB_LOG_WARN, "sandbox %s: event: %s", s->id, e.msg);
}

static void strv_free(char **v) {
    for (size_t i = 0; v && v[i]; i++)
        free(v[i]);
    free(v);
}

static void worker_free(struct worker *w) {
    if (w->out >= 0) close(w->out);
    if (w->err >= 0) close(w->err);
    if (w->done >= 0) close(w->done);
    sb_writer_free(&w->obuf);
    sb_writer_free(&w->ebuf);
    free(w);
}

static bool timed_join(struct worker *w, int secs) {
    struct timespec ts;
    (void)clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += secs;
    if (pthread_timedjoin_np(w->tid, NULL, &ts) == 0) w->joined = true;
    return w->joined;
}

/* Makes sure the worker thread has ended: the command is killed, then, if the exec still does
 * not return, the sandbox's init (which ends the exec with "sandbox gone"). False when even
 * that failed: the thread still uses the sandbox, which must then not be destroyed. */
static bool worker_stop(sb_monitor *m, struct worker *w) {
    if (w->joined) return true;
    sb_error e = {0};
    (void)m->sbx->be->thaw(w->h, &e);
    (void)m->sbx->be->signal(w->h, SIGKILL, &e);
    if (timed_join(w, WORKER_JOIN_S)) return true;
    pid_t init = sb_sandbox_init_pid(w->h);
    if (init > 0) (void)kill(init, SIGKILL);
    if (timed_join(w, WORKER_JOIN_S)) return true;
    sb_logf(m->cfg.log, SB_LOG_ERROR, "exec worker for %s does not end; abandoning it",
            w->sbx ? w->sbx->id : "?");
    return false;
}

/* Ends a worker and unlinks it. Returns false if its thread could not be stopped. */
static bool worker_end(sb_monitor *m, struct worker *w) {
    bool ok = worker_stop(m, w);
    for (struct worker **pp = &m->sbx->workers; *pp; pp = &(*pp)->next)
        if (*pp == w) {
            *pp = w->next;
            break;
        }
    m->sbx->nworkers--;
    if (w->sbx) w->sbx->busy = NULL;
    if (ok) worker_free(w); /* else leaked on purpose: the thread still writes into it */
    return ok;
}

/* Destroys a sandbox (killing its exec first) and forgets it. */
static void destroy_sbx(sb_monitor *m, struct sbx *s, enum sb_sbx_state final, const char *event) {
    if (s->busy) {
        struct worker *w = s->busy;
        sb_ipc_val v[3] = {sb_ipc_u(409), sb_ipc_u(SB_CT_PROBLEM),
                           sb_ipc_s("{\"type\":\"urn:sealbox:problem:gone\",\"title\":\"Gone\","
                                    "\"status\":409,\"detail\":\"the sandbox was removed while "
                                    "the command ran\"}")};
        (void)sb_monitor_send(m, SB_IPC_REPLY, w->req_id, v, 3);
        s->busy = NULL;
        if (!worker_end(m, w)) {
            /* The sandbox stays allocated for the stuck thread; it is recorded as lost. */
            set_state(m, s, SB_SBX_LOST, "sandbox.lost");
            unlink_sbx(m, s);
            strv_free(s->env);
            sb_mlog_free(s->mlog);
            free(s);
            return;
        }
    }
    m->sbx->be->destroy(s->h);
    s->h = NULL;
    set_state(m, s, final, event);
    unlink_sbx(m, s);
    strv_free(s->env);
    sb_mlog_free(s->mlog);
    free(s);
}

/* ---- handlers -------------------------------------------------------------------------------- */

static int internal(sb_monitor *m, sb_reply *rep, const char *what, const sb_error *e) {
    sb_logf(m->cfg.log, SB_LOG_ERROR, "%s: %s", what, e->msg);
    return sb_reply_problem(rep, 500, "internal", "Internal error", what);
}

/* "KEY=VALUE" strings into a JSON object (metadata) or a NULL-terminated envp. */
static json_t *kv_object(const sb_ipc_val *v) {
    json_t *o = json_object();
    for (size_t i = 0; o && i < v->count; i++) {
        const sb_ipc_str *kv = &v->list[i];
        const uint8_t *eq = memchr(kv->p, '=', kv->len);
        if (!eq) continue;
        size_t kl = (size_t)(eq - kv->p);
        char *k = strndup((const char *)kv->p, kl);
        if (k)
            (void)json_object_set_new(o, k, json_stringn((const char *)eq + 1, kv->len - kl - 1));
        free(k);
    }
    return o;
}

/* Strings of a list field as a NULL-terminated vector (argv). */
static char **str_vec(const sb_ipc_val *v) {
    char **out = calloc(v->count + 1, sizeof(char *));
    for (size_t i = 0; out && i < v->count; i++) {
        out[i] = strndup((const char *)v->list[i].p, v->list[i].len);
        if (!out[i]) {
            strv_free(out);
            return NULL;
        }
    }
    return out;
}

static bool same_key(const char *a, const char *b) {
    size_t ka = strcspn(a, "="), kb = strcspn(b, "=");
    return ka == kb && memcmp(a, b, ka) == 0;
}

/* The environment of one exec: a default PATH, then the sandbox's env, then the exec's own;
 * a later KEY replaces an earlier one. */
static char **exec_env(char *const *base, const sb_ipc_val *v) {
    size_t nb = 0;
    while (base && base[nb])
        nb++;
    char **env = calloc(nb + v->count + 2, sizeof(char *));
    char **extra = str_vec(v);
    if (!env || !extra) {
        free(env);
        strv_free(extra);
        return NULL;
    }
    size_t n = 0;
    env[n++] = strdup("PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
    bool ok = env[0] != NULL;
    for (size_t pass = 0; ok && pass < 2; pass++) {
        char *const *src = pass == 0 ? base : extra;
        for (size_t i = 0; ok && src && src[i]; i++) {
            size_t j = 0;
            while (j < n && !same_key(env[j], src[i]))
                j++;
            char *d = strdup(src[i]);
            ok = d != NULL;
            if (!ok) break;
            if (j < n) free(env[j]);
            env[j] = d;
            if (j == n) n++;
        }
    }
    strv_free(extra);
    if (!ok) {
        strv_free(env);
        return NULL;
    }
    return env;
}

/* ---- the measurement log ----------------------------------------------------------------------
 */

/* Appends the log's event i to the store. */
static int store_event(sb_monitor *m, const struct sbx *s, size_t i, sb_error *e) {
    return sb_store_mlog_append(m->store, s->tenant_id, s->id, (int64_t)i,
                                sb_mlog_event(s->mlog, i), e);
}

/* The image and config events of a new sandbox (the config as it was built; the environment's
 * names only, with the PATH every exec gets, as `sealbox run` and `sealbox measure` count it). */
static int start_log(sb_monitor *m, struct sbx *s, const struct sb_sandbox_config *sc,
                     sb_error *e) {
    size_t n = 0;
    while (s->env && s->env[n])
        n++;
    char **env = calloc(n + 2, sizeof(char *));
    ENSURE(env, e, SB_E_INTERNAL, "out of memory");
    env[0] = (char *)"PATH";
    for (size_t i = 0; i < n; i++)
        env[i + 1] = s->env[i];
    json_t *c = NULL;
    int r = sb_mlog_config(sc, env, &c, e);
    free(env);
    TRY(r);
    int rc = sb_mlog_new(sb_sandbox_image_digest(s->h), c, &s->mlog, e);
    json_decref(c);
    for (size_t i = 0; rc == 0 && i < sb_mlog_count(s->mlog); i++)
        rc = store_event(m, s, i, e);
    return rc;
}

/* Measures a command and appends it to the log, in memory and in the store, before it runs.
 * 0, or -1 with rep set: the command must then not run. */
static int record_exec(sb_monitor *m, struct sbx *s, char **argv, char **envp, const char *cwd,
                       sb_reply *rep) {
    char exe[4096];
    uint8_t d[SB_MLOG_DIGEST_LEN];
    sb_error e = {0};
    const char *wd = cwd[0] ? cwd : "/";
    int mr = sb_mlog_measure_in(s->h, argv[0], envp, wd, exe, d, &e);
    if (mr < 0 && mr != SB_E_NOTFOUND) {
        (void)internal(m, rep, "measure", &e);
        return -1;
    }
    if (sb_mlog_add_exec(s->mlog, argv, envp, wd, mr == 0 ? exe : NULL, mr == 0 ? d : NULL, &e) <
        0) {
        if (e.code == SB_E_LIMIT)
            (void)sb_reply_problem(rep, 409, "log-full", "Conflict", e.msg);
        else
            (void)internal(m, rep, "measurement log", &e);
        return -1;
    }
    if (store_event(m, s, sb_mlog_count(s->mlog) - 1, &e) < 0) {
        (void)internal(m, rep, "store", &e);
        return -1;
    }
    return 0;
}

static int c_create(const sb_ipc_msg *msg, sb_error *err) {
    char image[SB_IPC_IMAGE_MAX + 1];
    TRY(sb_ipc_str_copy(&msg->f[1].s, image, sizeof(image), err, "image"));
    ENSURE(image[0], err, SB_E_MALFORMED, "empty image");
    ENSURE(msg->f[2].u >= 16 && msg->f[2].u <= 65536, err, SB_E_MALFORMED, "memory_mb");
    ENSURE(msg->f[3].u <= 256000, err, SB_E_MALFORMED, "cpu_millis");
    ENSURE(msg->f[4].u >= 1 && msg->f[4].u <= 86400, err, SB_E_MALFORMED, "timeout_s");
    ENSURE(msg->f[5].u <= 86400, err, SB_E_MALFORMED, "idle_standby_s");
    for (int f = 6; f <= 7; f++)
        for (size_t i = 0; i < msg->f[f].count; i++) {
            const sb_ipc_str *kv = &msg->f[f].list[i];
            ENSURE(kv->len > 1 && kv->p[0] != '=' && memchr(kv->p, '=', kv->len), err,
                   SB_E_MALFORMED, "env/metadata entry is not KEY=VALUE");
        }
    return 0;
}

static int h_create(sb_monitor *m, const sb_ipc_msg *msg, const sb_tenant *t, sb_reply *rep,
                    sb_error *err) {
    (void)err;
    struct sb_monitor_sbx *x = m->sbx;
    char image[SB_IPC_IMAGE_MAX + 1];
    TRY(sb_ipc_str_copy(&msg->f[1].s, image, sizeof(image), err, "image"));
    int64_t mem = (int64_t)msg->f[2].u;
    sb_error e = {0};
    /* Quotas and the "creating" record in one transaction: two concurrent creates cannot both
     * squeeze under the limit. */
    if (sb_store_begin(m->store, &e) < 0) return internal(m, rep, "store", &e);
    int64_t count = 0, used = 0;
    if (sb_store_sandbox_usage(m->store, t->id, &count, &used, &e) < 0) {
        sb_store_rollback(m->store);
        return internal(m, rep, "store", &e);
    }
    char detail[160];
    if (t->max_sandboxes && count + 1 > t->max_sandboxes) {
        sb_store_rollback(m->store);
        (void)snprintf(detail, sizeof(detail), "tenant quota: at most %lld sandboxes",
                       (long long)t->max_sandboxes);
        return sb_reply_problem(rep, 429, "quota-exceeded", "Quota exceeded", detail);
    }
    if (t->max_memory_mb && used + mem > t->max_memory_mb) {
        sb_store_rollback(m->store);
        (void)snprintf(detail, sizeof(detail),
                       "tenant quota: %lld MiB of memory, %lld in use, %lld asked",
                       (long long)t->max_memory_mb, (long long)used, (long long)mem);
        return sb_reply_problem(rep, 429, "quota-exceeded", "Quota exceeded", detail);
    }
    uint8_t rnd[8];
    if (sb_random(rnd, sizeof(rnd), &e) < 0) {
        sb_store_rollback(m->store);
        return internal(m, rep, "random", &e);
    }
    char hex[17];
    sb_hex_encode(rnd, sizeof(rnd), hex);
    sb_sandbox_rec r;
    memset(&r, 0, sizeof(r));
    (void)snprintf(r.id, sizeof(r.id), "sbx_%s", hex);
    r.tenant_id = t->id;
    r.state = SB_SBX_CREATING;
    r.memory_mb = mem;
    json_t *env_keys = json_array();
    for (size_t i = 0; i < msg->f[6].count; i++) {
        const sb_ipc_str *kv = &msg->f[6].list[i];
        const uint8_t *eq = memchr(kv->p, '=', kv->len);
        (void)json_array_append_new(env_keys,
                                    json_stringn((const char *)kv->p, (size_t)(eq - kv->p)));
    }
    json_t *cfg =
        json_pack("{s:s, s:I, s:I, s:I, s:o, s:o}", "image", image, "cpu_millis",
                  (json_int_t)msg->f[3].u, "timeout_s", (json_int_t)msg->f[4].u, "idle_standby_s",
                  (json_int_t)msg->f[5].u, "metadata", kv_object(&msg->f[7]), "env_keys", env_keys);
    struct sb_sandbox_config sc = {.state_dir = m->cfg.state_dir,
                                   .image = strcmp(image, "default") == 0 ? NULL : image,
                                   .init_path = x->init_path,
                                   .memory_bytes = (uint64_t)mem << 20,
                                   .cpu_millis = msg->f[3].u,
                                   .net_none = true};
    uint64_t t0 = sb_mono_ns();
    sb_sandbox *h = NULL;
    /* From the warm pool: the sandbox exists already, so its record is written whole, in the
     * same transaction as the quota check (one commit). */
    bool pooled = cfg && x->npool > 0 && !sc.image && mem == POOL_MEMORY_MB && sc.cpu_millis == 0;
    if (pooled) {
        h = x->pool[--x->npool];
        x->pool_hits++;
        r.state = SB_SBX_RUNNING;
        (void)json_object_set_new(cfg, "backend_id", json_string(sb_sandbox_id(h)));
        (void)snprintf(r.image_digest, sizeof(r.image_digest), "%s", sb_sandbox_image_digest(h));
    }
    r.config_json = cfg ? json_dumps(cfg, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
    int rc = r.config_json ? sb_store_sandbox_insert(m->store, &r, &e)
                           : sb_error_set(&e, SB_E_INTERNAL, "out of memory");
    if (rc == 0 && pooled)
        rc = sb_store_event_add(m->store, t->id, r.id, "sandbox.create", "{\"pool\":true}", NULL,
                                &e);
    if (rc == 0) rc = sb_store_commit(m->store, &e);
    if (rc < 0) {
        sb_store_rollback(m->store);
        if (h) x->pool[x->npool++] = h; /* untouched: back it goes */
        json_decref(cfg);
        free(r.config_json);
        return internal(m, rep, "store", &e);
    }
    /* Otherwise the record exists before the sandbox does: a crash from here on leaves a trace
     * that the next start finds and settles. */
    if (!pooled) rc = x->be->create(&sc, &h, &e);
    double secs = (double)(sb_mono_ns() - t0) / 1e9;
    struct sbx *s = rc == 0 ? calloc(1, sizeof(*s)) : NULL;
    if (rc < 0 || !s) {
        x->create_fail++;
        if (h) x->be->destroy(h);
        sb_error e2 = {0};
        if (sb_store_sandbox_set_state(m->store, t->id, r.id, SB_SBX_DESTROYED, &e2) < 0)
            sb_logf(m->cfg.log, SB_LOG_ERROR, "sandbox %s: %s", r.id, e2.msg);
        json_decref(cfg);
        free(r.config_json);
        sb_logf(m->cfg.log, SB_LOG_WARN, "create for tenant %s: %s", t->name, e.msg);
        if (e.code == SB_E_NOTFOUND || e.code == SB_E_USAGE)
            return sb_reply_problem(rep, 422, "unprocessable", "Cannot create the sandbox", e.msg);
        if (e.code == SB_E_LIMIT)
            return sb_reply_problem(rep, 503, "capacity", "No capacity", e.msg);
        return sb_reply_problem(rep, 500, "internal", "Cannot create the sandbox", e.msg);
    }
    x->creates++;
    x->create_sum_s += secs;
    memcpy(s->id, r.id, sizeof(s->id));
    s->tenant_id = t->id;
    s->memory_mb = mem;
    s->h = h;
    s->state = SB_SBX_RUNNING;
    uint64_t now = sb_mono_ns();
    s->deadline_ns = now + msg->f[4].u * 1000000000ull;
    s->idle_ns = msg->f[5].u * 1000000000ull;
    s->last_active_ns = now;
    s->env = str_vec(&msg->f[6]);
    s->next = x->list;
    x->list = s;
    if (!pooled) {
        /* What building learned, the new state and the event: one transaction. */
        (void)json_object_set_new(cfg, "backend_id", json_string(sb_sandbox_id(h)));
        free(r.config_json);
        r.config_json = json_dumps(cfg, JSON_COMPACT | JSON_SORT_KEYS);
        (void)snprintf(r.image_digest, sizeof(r.image_digest), "%s", sb_sandbox_image_digest(h));
        r.state = SB_SBX_RUNNING;
        rc = sb_store_begin(m->store, &e);
        if (rc == 0 && r.config_json)
            rc = sb_store_sandbox_update_created(m->store, t->id, r.id, r.image_digest,
                                                 r.config_json, &e);
        if (rc == 0) rc = sb_store_sandbox_set_state(m->store, t->id, r.id, SB_SBX_RUNNING, &e);
        if (rc == 0)
            rc = sb_store_event_add(m->store, t->id, r.id, "sandbox.create", NULL, NULL, &e);
        if (rc == 0) rc = sb_store_commit(m->store, &e);
        if (rc < 0) {
            sb_store_rollback(m->store);
            sb_logf(m->cfg.log, SB_LOG_ERROR, "sandbox %s: %s", r.id, e.msg);
        }
    }
    json_decref(cfg);
    if (start_log(m, s, &sc, &e) < 0) {
        free(r.config_json);
        destroy_sbx(m, s, SB_SBX_DESTROYED, "sandbox.delete");
        return internal(m, rep, "measurement log", &e);
    }
    r.created = r.updated = sb_time_now();
    json_t *j = sb_monitor_sandbox_json(&r);
    free(r.config_json);
    return sb_reply_json(rep, 201, j);
}

/* The live sandbox a message names, owned by the authenticated tenant, or a 404/409 reply. */
static struct sbx *owned(sb_monitor *m, const sb_ipc_msg *msg, const sb_tenant *t, sb_reply *rep) {
    char id[SB_SANDBOX_ID_MAX + 1];
    if (sb_ipc_str_copy(&msg->f[1].s, id, sizeof(id), NULL, "id") < 0) return NULL;
    struct sbx *s = find(m, t->id, id);
    if (!s) {
        /* Not live here: either it does not exist (for this tenant) or it has ended. */
        sb_sandbox_rec r;
        sb_error e = {0};
        if (sb_store_sandbox_get(m->store, t->id, id, &r, &e) == 0) {
            char d[96];
            (void)snprintf(d, sizeof(d), "the sandbox is %s", sb_sbx_state_name(r.state));
            sb_sandbox_rec_clear(&r);
            (void)sb_reply_problem(rep, 409, "conflict", "Conflict", d);
        } else {
            (void)sb_reply_problem(rep, 404, "not-found", "Not found", "no such sandbox");
        }
    }
    return s;
}

static int c_id(const sb_ipc_msg *msg, sb_error *err) {
    char id[SB_SANDBOX_ID_MAX + 1];
    TRY(sb_ipc_str_copy(&msg->f[1].s, id, sizeof(id), err, "sandbox id"));
    ENSURE(sb_store_sandbox_id_valid(id), err, SB_E_MALFORMED, "sandbox id has bad characters");
    return 0;
}

static int h_delete(sb_monitor *m, const sb_ipc_msg *msg, const sb_tenant *t, sb_reply *rep,
                    sb_error *err) {
    (void)err;
    struct sbx *s = owned(m, msg, t, rep);
    if (!s) return 0;
    destroy_sbx(m, s, SB_SBX_DESTROYED, "sandbox.delete");
    rep->status = 204;
    rep->ctype = SB_CT_JSON;
    return 0;
}

static int reply_sandbox(sb_monitor *m, const struct sbx *s, sb_reply *rep) {
    sb_sandbox_rec r;
    sb_error e = {0};
    if (sb_store_sandbox_get(m->store, s->tenant_id, s->id, &r, &e) < 0)
        return internal(m, rep, "store", &e);
    json_t *j = sb_monitor_sandbox_json(&r);
    sb_sandbox_rec_clear(&r);
    return sb_reply_json(rep, 200, j);
}

static int do_freeze(sb_monitor *m, struct sbx *s, bool freeze, sb_error *e) {
    TRY(freeze ? m->sbx->be->freeze(s->h, e) : m->sbx->be->thaw(s->h, e));
    set_state(m, s, freeze ? SB_SBX_STANDBY : SB_SBX_RUNNING,
              freeze ? "sandbox.standby" : "sandbox.resume");
    s->last_active_ns = sb_mono_ns();
    return 0;
}

static int h_standby(sb_monitor *m, const sb_ipc_msg *msg, const sb_tenant *t, sb_reply *rep,
                     sb_error *err) {
    (void)err;
    struct sbx *s = owned(m, msg, t, rep);
    if (!s) return 0;
    sb_error e = {0};
    if (s->state != SB_SBX_STANDBY && do_freeze(m, s, true, &e) < 0)
        return internal(m, rep, "freeze", &e);
    return reply_sandbox(m, s, rep);
}

static int h_resume(sb_monitor *m, const sb_ipc_msg *msg, const sb_tenant *t, sb_reply *rep,
                    sb_error *err) {
    (void)err;
    struct sbx *s = owned(m, msg, t, rep);
    if (!s) return 0;
    sb_error e = {0};
    if (s->state == SB_SBX_STANDBY && do_freeze(m, s, false, &e) < 0)
        return internal(m, rep, "thaw", &e);
    return reply_sandbox(m, s, rep);
}

/* ---- exec -------------------------------------------------------------------------------------
 */

static int c_exec(const sb_ipc_msg *msg, sb_error *err) {
    TRY(c_id(msg, err));
    ENSURE(msg->f[2].count >= 1 && msg->f[2].list[0].len > 0, err, SB_E_MALFORMED, "no command");
    ENSURE(msg->f[4].s.len == 0 || msg->f[4].s.p[0] == '/', err, SB_E_MALFORMED,
           "cwd is not absolute");
    ENSURE(msg->f[6].u >= 1 && msg->f[6].u <= 3600, err, SB_E_MALFORMED, "timeout_s");
    for (size_t i = 0; i < msg->f[3].count; i++) {
        const sb_ipc_str *kv = &msg->f[3].list[i];
        ENSURE(kv->len > 1 && kv->p[0] != '=' && memchr(kv->p, '=', kv->len), err, SB_E_MALFORMED,
               "env entry is not KEY=VALUE");
    }
    return 0;
}

/* The worker thread: runs the command through the backend, its output going into the pipes
 * the monitor drains, then reports by closing its end of the done pipe. */
static void *worker_thread(void *arg) {
    struct worker *w = arg;
    struct sb_exec_req req = {.argv = w->argv,
                              .env = w->envp,
                              .workdir = w->cwd[0] ? w->cwd : NULL,
                              .stdin_fd = w->in,
                              .stdout_fd = w->out_w,
                              .stderr_fd = w->err_w,
                              .timeout_ms = 0, /* the monitor enforces it: kills the command only */
                              .signal_fd = -1};
    w->ex = (struct sb_exit){SB_EXIT_SANDBOX_GONE, 0};
    sb_error e = {0};
    w->rc = w->be->exec(w->h, &req, &w->ex, &e);
    (void)snprintf(w->msg, sizeof(w->msg), "%s", e.msg);
    close(w->in);
    close(w->out_w);
    close(w->err_w);
    strv_free(w->argv);
    strv_free(w->envp);
    w->argv = w->envp = NULL;
    close(w->done_w); /* last: after this the monitor may read the result and join */
    return NULL;
}

static int h_exec(sb_monitor *m, const sb_ipc_msg *msg, const sb_tenant *t, sb_reply *rep,
                  sb_error *err) {
    (void)err;
    struct sbx *s = owned(m, msg, t, rep);
    if (!s) return 0;
    if (s->busy)
        return sb_reply_problem(rep, 409, "busy", "Conflict",
                                "a command is already running in this sandbox");
    if (m->sbx->nworkers >= EXEC_WORKERS_MAX)
        return sb_reply_problem(rep, 503, "busy", "Service busy", "too many commands running");
    sb_error e = {0};
    /* An exec on a sandbox in standby resumes it. */
    if (s->state == SB_SBX_STANDBY && do_freeze(m, s, false, &e) < 0)
        return internal(m, rep, "thaw", &e);
    struct worker *w = calloc(1, sizeof(*w));
    if (!w) return sb_reply_problem(rep, 503, "busy", "Service busy", "out of memory");
    w->in = w->out_w = w->err_w = w->done_w = w->out = w->err = w->done = -1;
    w->argv = str_vec(&msg->f[2]);
    w->envp = exec_env(s->env, &msg->f[3]);
    w->in = memfd_create("sealbox-stdin", MFD_CLOEXEC);
    int po[2] = {-1, -1}, pe[2] = {-1, -1}, pd[2] = {-1, -1};
    bool ok = w->argv && w->envp && w->in >= 0 &&
              sb_ipc_str_copy(&msg->f[4].s, w->cwd, sizeof(w->cwd), NULL, "cwd") == 0 &&
              pipe2(po, O_CLOEXEC) == 0 && pipe2(pe, O_CLOEXEC) == 0 && pipe2(pd, O_CLOEXEC) == 0;
    if (ok && msg->f[5].s.len)
        ok = write(w->in, msg->f[5].s.p, msg->f[5].s.len) == (ssize_t)msg->f[5].s.len &&
             lseek(w->in, 0, SEEK_SET) == 0;
    w->out = po[0];
    w->out_w = po[1];
    w->err = pe[0];
    w->err_w = pe[1];
    w->done = pd[0];
    w->done_w = pd[1];
    w->be = m->sbx->be;
    w->h = s->h;
    sb_writer_init(&w->obuf, EXEC_OUTPUT_MAX);
    sb_writer_init(&w->ebuf, EXEC_OUTPUT_MAX);
    /* The log records the command before it can run. */
    bool refused = ok && record_exec(m, s, w->argv, w->envp, w->cwd, rep) < 0;
    int terr = ok && !refused ? pthread_create(&w->tid, NULL, worker_thread, w) : -1;
    if (terr != 0) {
        int fds[] = {w->in, w->out_w, w->err_w, w->done_w};
        for (size_t i = 0; i < SB_ARRAY_LEN(fds); i++)
            if (fds[i] >= 0) close(fds[i]);
        strv_free(w->argv);
        strv_free(w->envp);
        w->joined = true;
        worker_free(w);
        if (refused) return 0;
        sb_error_set(&e, SB_E_IO, "cannot start the exec worker");
        return internal(m, rep, "exec", &e);
    }
    (void)fcntl(w->out, F_SETFL, O_NONBLOCK);
    (void)fcntl(w->err, F_SETFL, O_NONBLOCK);
    (void)fcntl(w->done, F_SETFL, O_NONBLOCK);
    w->req_id = msg->id;
    w->sbx = s;
    w->started_ns = sb_mono_ns();
    w->deadline_ns = w->started_ns + msg->f[6].u * 1000000000ull;
    w->next = m->sbx->workers;
    m->sbx->workers = w;
    m->sbx->nworkers++;
    s->busy = w;
    s->last_active_ns = w->started_ns;
    /* No reply now: the worker's end answers this request (see finish). */
    rep->status = 0;
    return 0;
}

/* Puts captured output into the reply: as a string when it is UTF-8, else base64. */
static void put_output(json_t *j, const char *name, const sb_writer *b, size_t keep,
                       uint64_t total) {
    size_t n = b->len < keep ? b->len : keep;
    json_t *s = n ? json_stringn((const char *)b->buf, n) : json_string("");
    char key[32];
    if (s) {
        (void)json_object_set_new(j, name, s);
    } else {
        char *b64 = sb_base64_encode(b->buf, n);
        (void)snprintf(key, sizeof(key), "%s_base64", name);
        (void)json_object_set_new(j, key, json_string(b64 ? b64 : ""));
        free(b64);
    }
    (void)snprintf(key, sizeof(key), "%s_truncated", name);
    (void)json_object_set_new(j, key, json_boolean(total > n));
}

static void finish(sb_monitor *m, struct worker *w) {
    /* The done pipe reported EOF: the thread has stored its result and is ending. */
    if (!w->joined && pthread_join(w->tid, NULL) == 0) w->joined = true;
    double secs = (double)(sb_mono_ns() - w->started_ns) / 1e9;
    m->sbx->execs++;
    m->sbx->exec_sum_s += secs;
    sb_reply rep;
    sb_reply_init(&rep);
    if (w->rc < 0) {
        sb_logf(m->cfg.log, SB_LOG_WARN, "exec in %s failed: %s", w->sbx ? w->sbx->id : "?",
                w->msg);
        (void)sb_reply_problem(&rep, 500, "exec-failed", "The command could not run", w->msg);
    } else {
        struct sb_exit ex = w->ex;
        if ((unsigned)ex.kind >= SB_EXIT_KIND_MAX) ex.kind = SB_EXIT_SANDBOX_GONE;
        for (size_t keep = EXEC_OUTPUT_MAX;; keep = EXEC_OUTPUT_SMALL) {
            json_t *j = json_pack(
                "{s:i, s:s, s:b, s:I}", "exit_code", w->timed_out ? 124 : sb_exit_status(&ex),
                "status", w->timed_out ? "timeout" : sb_exit_kind_name(ex.kind), "timed_out",
                w->timed_out, "duration_ms", (json_int_t)(secs * 1000));
            if (j && ex.kind == SB_EXIT_SIGNALED)
                (void)json_object_set_new(j, "signal", json_integer(ex.code));
            if (j) {
                put_output(j, "stdout", &w->obuf, keep, w->ototal);
                put_output(j, "stderr", &w->ebuf, keep, w->etotal);
            }
            (void)sb_reply_json(&rep, 200, j);
            if (rep.status == 200 || keep == EXEC_OUTPUT_SMALL) break;
        }
        if (w->sbx && ex.kind == SB_EXIT_SANDBOX_GONE) {
            struct sbx *s = w->sbx;
            w->sbx = NULL;
            s->busy = NULL;
            destroy_sbx(m, s, SB_SBX_LOST, "sandbox.lost");
        }
    }
    sb_ipc_val v[3] = {sb_ipc_u((uint64_t)rep.status), sb_ipc_u((uint64_t)rep.ctype),
                       sb_ipc_b(rep.body.buf, rep.body.len)};
    (void)sb_monitor_send(m, SB_IPC_REPLY, w->req_id, v, 3);
    sb_reply_free(&rep);
    if (w->sbx) w->sbx->last_active_ns = sb_mono_ns();
    worker_end(m, w);
}

/* Drains a pipe into a capped buffer (the rest is counted and dropped). Returns false at EOF. */
static bool drain(int fd, sb_writer *b, uint64_t *total) {
    uint8_t buf[16384];
    for (;;) {
        ssize_t k = read(fd, buf, sizeof(buf));
        if (k < 0 && errno == EINTR) continue;
        if (k < 0) return errno == EAGAIN || errno == EWOULDBLOCK;
        if (k == 0) return false;
        *total += (uint64_t)k;
        size_t room = b->max > b->len ? b->max - b->len : 0;
        if (room) (void)sb_writer_bytes(b, buf, (size_t)k < room ? (size_t)k : room);
    }
}

/* ---- the monitor's loop hooks -------------------------------------------------------------------
 */

size_t sb_monitor_sbx_pollfds(sb_monitor *m, struct pollfd *p, size_t max) {
    size_t n = 0;
    for (struct worker *w = m->sbx->workers; w && n + 3 <= max; w = w->next) {
        p[n++] = (struct pollfd){w->out, POLLIN, 0};
        p[n++] = (struct pollfd){w->err, POLLIN, 0};
        p[n++] = (struct pollfd){w->done, POLLIN, 0};
    }
    return n;
}

void sb_monitor_sbx_events(sb_monitor *m, const struct pollfd *p, size_t n) {
    (void)p;
    (void)n;
    /* Walk every worker (not only those polled): cheap, and robust to list changes. */
    struct worker *w = m->sbx->workers;
    while (w) {
        struct worker *next = w->next;
        if (w->out >= 0 && !drain(w->out, &w->obuf, &w->ototal)) {
            close(w->out);
            w->out = -1;
        }
        if (w->err >= 0 && !drain(w->err, &w->ebuf, &w->etotal)) {
            close(w->err);
            w->err = -1;
        }
        if (w->done >= 0) {
            char c;
            ssize_t k = read(w->done, &c, 1);
            if (k == 0 || (k < 0 && errno != EAGAIN && errno != EINTR)) {
                close(w->done);
                w->done = -1;
            }
        }
        if (w->done < 0 && w->out < 0 && w->err < 0) finish(m, w);
        w = next;
    }
}

/* Deadlines: exec timeouts kill the command; sandbox timeouts destroy; idle ones freeze. */
bool sb_monitor_sbx_pending(sb_monitor *m) {
    struct sb_monitor_sbx *x = m->sbx;
    return x->npool < x->pool_target && !x->nworkers && !m->stopping &&
           sb_mono_ns() >= x->pool_fail_until_ns;
}

void sb_monitor_sbx_tick(sb_monitor *m) {
    if (!m->sbx->nworkers) pool_refill(m);
    uint64_t now = sb_mono_ns();
    for (struct worker *w = m->sbx->workers; w; w = w->next) {
        if (w->done < 0 || !w->sbx || now < w->deadline_ns) continue;
        if (!w->timed_out) {
            w->timed_out = true;
            w->killed_ns = now;
            sb_error e = {0};
            if (w->sbx->state == SB_SBX_STANDBY) (void)m->sbx->be->thaw(w->sbx->h, &e);
            if (m->sbx->be->signal(w->sbx->h, SIGKILL, &e) < 0)
                sb_logf(m->cfg.log, SB_LOG_WARN, "exec timeout in %s: %s", w->sbx->id, e.msg);
        } else if (now - w->killed_ns > EXEC_KILL_GRACE_NS) {
            /* The command would not die: end the sandbox's init, which ends the exec. */
            pid_t init = sb_sandbox_init_pid(w->sbx->h);
            if (init > 0) (void)kill(init, SIGKILL);
            w->killed_ns = now;
        }
    }
    struct sbx *s = m->sbx->list;
    while (s) {
        struct sbx *next = s->next;
        if (now >= s->deadline_ns) {
            sb_logf(m->cfg.log, SB_LOG_INFO, "sandbox %s: timeout reached, destroying", s->id);
            destroy_sbx(m, s, SB_SBX_DESTROYED, "sandbox.timeout");
        } else if (s->idle_ns && s->state == SB_SBX_RUNNING && !s->busy &&
                   now - s->last_active_ns >= s->idle_ns) {
            sb_error e = {0};
            if (do_freeze(m, s, true, &e) < 0)
                sb_logf(m->cfg.log, SB_LOG_WARN, "sandbox %s: idle standby: %s", s->id, e.msg);
        }
        s = next;
    }
}

void sb_monitor_sbx_metrics(sb_monitor *m, sb_writer *w) {
    struct sb_monitor_sbx *x = m->sbx;
    (void)sb_writer_printf(
        w,
        "# HELP sealbox_sandbox_creates_total Sandboxes created (and failed creations).\n"
        "# TYPE sealbox_sandbox_creates_total counter\n"
        "sealbox_sandbox_creates_total{result=\"ok\"} %llu\n"
        "sealbox_sandbox_creates_total{result=\"error\"} %llu\n"
        "# HELP sealbox_sandbox_create_seconds_sum Time spent creating sandboxes.\n"
        "# TYPE sealbox_sandbox_create_seconds_sum counter\n"
        "sealbox_sandbox_create_seconds_sum %.6f\n"
        "# HELP sealbox_execs_total Commands run in sandboxes.\n"
        "# TYPE sealbox_execs_total counter\nsealbox_execs_total %llu\n"
        "# HELP sealbox_exec_seconds_sum Time commands ran.\n"
        "# TYPE sealbox_exec_seconds_sum counter\nsealbox_exec_seconds_sum %.6f\n"
        "# HELP sealbox_warm_pool Sandboxes waiting in the warm pool, and its target.\n"
        "# TYPE sealbox_warm_pool gauge\n"
        "sealbox_warm_pool{kind=\"ready\"} %u\nsealbox_warm_pool{kind=\"target\"} %u\n"
        "# HELP sealbox_warm_pool_hits_total Creates answered from the warm pool.\n"
        "# TYPE sealbox_warm_pool_hits_total counter\nsealbox_warm_pool_hits_total %llu\n"
        "# HELP sealbox_execs_running Commands running now.\n"
        "# TYPE sealbox_execs_running gauge\nsealbox_execs_running %u\n",
        (unsigned long long)x->creates, (unsigned long long)x->create_fail, x->create_sum_s,
        (unsigned long long)x->execs, x->exec_sum_s, x->npool, x->pool_target,
        (unsigned long long)x->pool_hits, x->nworkers);
}

/* At start: sandboxes the store calls live have no process behind them any more (a crash or
 * kill -9 of the previous daemon took their init with it). They are marked lost. */
static void settle_leftovers(sb_monitor *m) {
    char after[SB_SANDBOX_ID_MAX + 1] = "";
    for (;;) {
        sb_sandbox_rec *v = NULL;
        size_t n = 0;
        sb_error e = {0};
        if (sb_store_sandbox_list(m->store, 0, after, 200, false, &v, &n, &e) < 0) {
            sb_logf(m->cfg.log, SB_LOG_ERROR, "settling leftovers: %s", e.msg);
            return;
        }
        for (size_t i = 0; i < n; i++) {
            sb_logf(m->cfg.log, SB_LOG_WARN, "sandbox %s was %s when the daemon stopped: lost",
                    v[i].id, sb_sbx_state_name(v[i].state));
            if (sb_store_sandbox_set_state(m->store, v[i].tenant_id, v[i].id, SB_SBX_LOST, &e) <
                    0 ||
                sb_store_event_add(m->store, v[i].tenant_id, v[i].id, "sandbox.lost",
                                   "{\"reason\":\"daemon restart\"}", NULL, &e) < 0)
                sb_logf(m->cfg.log, SB_LOG_ERROR, "sandbox %s: %s", v[i].id, e.msg);
            (void)snprintf(after, sizeof(after), "%s", v[i].id);
        }
        sb_sandbox_recs_free(v, n);
        if (n < 200) return;
    }
}

int sb_monitor_sbx_init(sb_monitor *m, sb_error *err) {
    m->sbx = calloc(1, sizeof(*m->sbx));
    ENSURE(m->sbx, err, SB_E_INTERNAL, "out of memory");
    m->sbx->be = &sb_jail_backend;
    if (m->cfg.init_path) {
        (void)snprintf(m->sbx->init_path, sizeof(m->sbx->init_path), "%s", m->cfg.init_path);
    } else {
        /* sealbox-init sits beside the sealboxd binary. */
        ssize_t k = readlink("/proc/self/exe", m->sbx->init_path, sizeof(m->sbx->init_path) - 32);
        if (k > 0) {
            m->sbx->init_path[k] = '\0';
            char *slash = strrchr(m->sbx->init_path, '/');
            if (slash) memcpy(slash + 1, "sealbox-init", sizeof("sealbox-init"));
        }
    }
    m->sbx->pool_target = m->cfg.warm_pool < POOL_MAX ? m->cfg.warm_pool : POOL_MAX;
    settle_leftovers(m);
    return 0;
}

/* On stop every sandbox goes: nothing can re-attach to it after this process ends. */
void sb_monitor_sbx_fini(sb_monitor *m) {
    if (!m->sbx) return;
    while (m->sbx->list)
        destroy_sbx(m, m->sbx->list, SB_SBX_DESTROYED, "sandbox.daemon_stop");
    while (m->sbx->workers)
        worker_end(m, m->sbx->workers);
    while (m->sbx->npool)
        m->sbx->be->destroy(m->sbx->pool[--m->sbx->npool]);
    free(m->sbx);
    m->sbx = NULL;
}

/* GET /v1/sandboxes/{id}/log: from the store, so a sandbox's log outlives it. The stored events
 * are replayed like any log (the digest and taint are never stored, always recomputed). */
static int h_log(sb_monitor *m, const sb_ipc_msg *msg, const sb_tenant *t, sb_reply *rep,
                 sb_error *err) {
    (void)err;
    char id[SB_SANDBOX_ID_MAX + 1];
    if (sb_ipc_str_copy(&msg->f[1].s, id, sizeof(id), NULL, "id") < 0)
        return sb_reply_problem(rep, 404, "not-found", "Not found", "no such sandbox");
    sb_sandbox_rec r;
    sb_error e = {0};
    if (sb_store_sandbox_get(m->store, t->id, id, &r, &e) < 0)
        return e.code == SB_E_NOTFOUND
                   ? sb_reply_problem(rep, 404, "not-found", "Not found", "no such sandbox")
                   : internal(m, rep, "store", &e);
    sb_sandbox_rec_clear(&r);
    char **ev = NULL;
    size_t n = 0;
    if (sb_store_mlog_get(m->store, t->id, id, SB_MLOG_MAX_EVENTS, &ev, &n, &e) < 0)
        return internal(m, rep, "store", &e);
    json_t *events = json_array();
    for (size_t i = 0; i < n; i++) {
        json_t *j = events ? json_loads(ev[i], 0, NULL) : NULL;
        if (!j || json_array_append_new(events, j) < 0) {
            json_decref(events);
            events = NULL;
        }
        free(ev[i]);
    }
    free(ev);
    json_t *o = events ? json_pack("{s:i, s:s, s:o}", "version", SB_MLOG_VERSION, "hash", "sha384",
                                   "events", events)
                       : NULL;
    char *txt = o ? json_dumps(o, JSON_COMPACT) : NULL;
    if (!txt) {
        json_decref(o);
        sb_error_set(&e, SB_E_INTERNAL, "out of memory");
        return internal(m, rep, "measurement log", &e);
    }
    if (n < 2) {
        free(txt);
        json_decref(o);
        return sb_reply_problem(rep, 409, "conflict", "Conflict",
                                "the sandbox has no measurement log (it was never created)");
    }
    struct sb_mlog_replay rp;
    int rc = sb_mlog_replay((const uint8_t *)txt, strlen(txt), &rp, &e);
    free(txt);
    char *canon = NULL;
    size_t len = 0;
    if (rc == 0) {
        char ds[104];
        sb_mlog_digest_str(rp.digest, ds);
        if (json_object_set_new(o, "digest", json_string(ds)) < 0 ||
            json_object_set_new(o, "tainted", json_boolean(rp.tainted)) < 0)
            rc = sb_error_set(&e, SB_E_INTERNAL, "out of memory");
        sb_mlog_replay_clear(&rp);
    }
    if (rc == 0) rc = sb_json_canonical(o, &canon, &len, &e);
    json_decref(o);
    if (rc < 0) return internal(m, rep, "measurement log", &e);
    rc = sb_writer_bytes(&rep->body, canon, len);
    free(canon);
    if (rc < 0) return sb_reply_problem(rep, 500, "internal", "Internal error", "reply too large");
    rep->status = 200;
    rep->ctype = SB_CT_JSON;
    return 0;
}

static const sb_handler SBX_HANDLERS[] = {
    {SB_IPC_SBX_CREATE, true, c_create, h_create}, {SB_IPC_SBX_DELETE, true, c_id, h_delete},
    {SB_IPC_SBX_STANDBY, true, c_id, h_standby},   {SB_IPC_SBX_RESUME, true, c_id, h_resume},
    {SB_IPC_SBX_EXEC, true, c_exec, h_exec},       {SB_IPC_SBX_LOG, true, c_id, h_log},
};

const sb_handler *sb_monitor_sbx_handler(uint16_t type) {
    for (size_t i = 0; i < SB_ARRAY_LEN(SBX_HANDLERS); i++)
        if (SBX_HANDLERS[i].type == type) return &SBX_HANDLERS[i];
    return NULL;
}
