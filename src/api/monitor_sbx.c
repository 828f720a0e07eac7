/* monitor_sbx: the monitor's sandboxes — create (with quotas), get, delete, standby and resume
 * through the sandbox backend (src/sandbox), the warm pool, lifecycle timers, and teardown on
 * stop. Commands run in them through monitor_proc.c, files through monitor_files.c. */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "../crypto/crypto.h"
#include "../sandbox/sandbox.h"
#include "monitor_int.h"

/* The warm pool holds sandboxes of the default shape, built ahead of demand: a create that
 * asks for exactly that shape takes one and answers without building anything. A pooled
 * sandbox has never run a command and belongs to nobody until it is taken. */
#define POOL_MAX 64
#define POOL_MEMORY_MB 512

struct sb_monitor_sbx {
    const struct sb_backend_ops *be;
    char init_path[4096];
    struct sbx *list;
    sb_sandbox *pool[POOL_MAX];
    unsigned npool, pool_target;
    uint64_t pool_fail_until_ns;
    uint64_t creates, create_fail, pool_hits;
    double create_sum_s;
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

void sb_monitor_strv_free(char **v) {
    for (size_t i = 0; v && v[i]; i++)
        free(v[i]);
    free(v);
}

/* Destroys a sandbox (its processes and transfers end first) and forgets it. */
static void destroy_sbx(sb_monitor *m, struct sbx *s, enum sb_sbx_state final, const char *event) {
    sb_proc_sandbox_gone(m, s);
    sb_files_sandbox_gone(m, s);
    m->sbx->be->destroy(s->h);
    s->h = NULL;
    set_state(m, s, final, event);
    unlink_sbx(m, s);
    sb_monitor_strv_free(s->env);
    sb_mlog_free(s->mlog);
    free(s);
}

void sb_monitor_sbx_lost(sb_monitor *m, struct sbx *s) {
    destroy_sbx(m, s, SB_SBX_LOST, "sandbox.lost");
}

struct sbx *sb_monitor_sbx_first(sb_monitor *m) {
    return m->sbx->list;
}

/* ---- handlers -------------------------------------------------------------------------------- */

int sb_monitor_internal(sb_monitor *m, sb_reply *rep, const char *what, const sb_error *e) {
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
char **sb_monitor_str_vec(const sb_ipc_val *v) {
    char **out = calloc(v->count + 1, sizeof(char *));
    for (size_t i = 0; out && i < v->count; i++) {
        out[i] = strndup((const char *)v->list[i].p, v->list[i].len);
        if (!out[i]) {
            sb_monitor_strv_free(out);
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
char **sb_monitor_exec_env(char *const *base, const sb_ipc_val *v) {
    size_t nb = 0;
    while (base && base[nb])
        nb++;
    char **env = calloc(nb + v->count + 2, sizeof(char *));
    char **extra = sb_monitor_str_vec(v);
    if (!env || !extra) {
        free(env);
        sb_monitor_strv_free(extra);
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
    sb_monitor_strv_free(extra);
    if (!ok) {
        sb_monitor_strv_free(env);
        return NULL;
    }
    return env;
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
     * squeeze under the limit. From the warm pool, that transaction is the whole create, and
     * its commit does not wait for the disk: the fdatasync took 1-60 ms on a busy host, ~95%
     * of such a create; the WAL is synced right after the answer (handle() in monitor.c), and
     * a kill -9 loses nothing either way. Built fresh, the sandbox costs far more than that. */
    bool pool_shape =
        x->npool > 0 && strcmp(image, "default") == 0 && mem == POOL_MEMORY_MB && msg->f[3].u == 0;
    if ((pool_shape ? sb_store_begin_nosync(m->store, &e) : sb_store_begin(m->store, &e)) < 0)
        return sb_monitor_internal(m, rep, "store", &e);
    int64_t count = 0, used = 0;
    if (sb_store_sandbox_usage(m->store, t->id, &count, &used, &e) < 0) {
        sb_store_rollback(m->store);
        return sb_monitor_internal(m, rep, "store", &e);
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
        return sb_monitor_internal(m, rep, "random", &e);
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
    sb_mlog *mlog = NULL;
    /* From the warm pool: the sandbox exists already, so its record is written whole, with its
     * measurement log's first events, in the same transaction as the quota check (one commit).
     * The pool's shape is exactly the one sc describes. */
    bool pooled = cfg && x->npool > 0 && !sc.image && mem == POOL_MEMORY_MB && sc.cpu_millis == 0;
    if (pooled) {
        h = x->pool[--x->npool];
        x->pool_hits++;
        r.state = SB_SBX_RUNNING;
        (void)json_object_set_new(cfg, "backend_id", json_string(sb_sandbox_id(h)));
        (void)snprintf(r.image_digest, sizeof(r.image_digest), "%s", sb_sandbox_image_digest(h));
    }
    r.config_json = cfg ? json_dumps(cfg, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
    int rc = r.config_json ? 0 : sb_error_set(&e, SB_E_INTERNAL, "out of memory");
    if (rc == 0 && pooled) rc = sb_monitor_mlog_new(&sc, &msg->f[6], r.image_digest, &mlog, &e);
    if (rc == 0) rc = sb_store_sandbox_insert(m->store, &r, &e);
    if (rc == 0 && pooled)
        rc = sb_store_event_add(m->store, t->id, r.id, "sandbox.create", "{\"pool\":true}", NULL,
                                &e);
    if (rc == 0 && pooled) rc = sb_monitor_mlog_store(m, t->id, r.id, mlog, &e);
    if (rc == 0) rc = sb_store_commit(m->store, &e);
    if (rc < 0) {
        sb_store_rollback(m->store);
        if (h) x->pool[x->npool++] = h; /* untouched: back it goes */
        sb_mlog_free(mlog);
        json_decref(cfg);
        free(r.config_json);
        return sb_monitor_internal(m, rep, "store", &e);
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
    s->env = sb_monitor_str_vec(&msg->f[6]);
    s->mlog = TAKE_PTR(mlog);
    s->next = x->list;
    x->list = s;
    if (!pooled) {
        /* What building learned, the new state, the event and the measurement log's image and
         * config events: one transaction. */
        (void)json_object_set_new(cfg, "backend_id", json_string(sb_sandbox_id(h)));
        free(r.config_json);
        r.config_json = json_dumps(cfg, JSON_COMPACT | JSON_SORT_KEYS);
        (void)snprintf(r.image_digest, sizeof(r.image_digest), "%s", sb_sandbox_image_digest(h));
        r.state = SB_SBX_RUNNING;
        rc = sb_monitor_mlog_new(&sc, &msg->f[6], r.image_digest, &s->mlog, &e);
        if (rc == 0) rc = sb_store_begin(m->store, &e);
        if (rc == 0)
            rc = r.config_json ? sb_store_sandbox_update_created(m->store, t->id, r.id,
                                                                 r.image_digest, r.config_json, &e)
                               : sb_error_set(&e, SB_E_INTERNAL, "out of memory");
        if (rc == 0) rc = sb_store_sandbox_set_state(m->store, t->id, r.id, SB_SBX_RUNNING, &e);
        if (rc == 0)
            rc = sb_store_event_add(m->store, t->id, r.id, "sandbox.create", NULL, NULL, &e);
        if (rc == 0) rc = sb_monitor_mlog_store(m, t->id, r.id, s->mlog, &e);
        if (rc == 0) rc = sb_store_commit(m->store, &e);
        if (rc < 0) {
            /* A sandbox whose measurement log is not kept must not run anything. */
            sb_store_rollback(m->store);
            json_decref(cfg);
            free(r.config_json);
            x->creates--;
            x->create_fail++;
            sb_logf(m->cfg.log, SB_LOG_ERROR, "sandbox %s: %s", r.id, e.msg);
            destroy_sbx(m, s, SB_SBX_DESTROYED, "sandbox.create_failed");
            return sb_reply_problem(rep, 500, "internal", "Cannot create the sandbox", e.msg);
        }
    }
    json_decref(cfg);
    r.created = r.updated = sb_time_now();
    json_t *j = sb_monitor_sandbox_json(&r);
    free(r.config_json);
    return sb_reply_json(rep, 201, j);
}

/* The live sandbox a message names, owned by the authenticated tenant, or a 404/409 reply. */
struct sbx *sb_monitor_sbx_owned(sb_monitor *m, const sb_ipc_msg *msg, const sb_tenant *t,
                                 sb_reply *rep) {
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

int sb_monitor_check_sbx_id(const sb_ipc_msg *msg, size_t i, sb_error *err) {
    char id[SB_SANDBOX_ID_MAX + 1];
    TRY(sb_ipc_str_copy(&msg->f[i].s, id, sizeof(id), err, "sandbox id"));
    ENSURE(sb_store_sandbox_id_valid(id), err, SB_E_MALFORMED, "sandbox id has bad characters");
    return 0;
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
    struct sbx *s = sb_monitor_sbx_owned(m, msg, t, rep);
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
        return sb_monitor_internal(m, rep, "store", &e);
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
    struct sbx *s = sb_monitor_sbx_owned(m, msg, t, rep);
    if (!s) return 0;
    sb_error e = {0};
    if (s->state != SB_SBX_STANDBY && do_freeze(m, s, true, &e) < 0)
        return sb_monitor_internal(m, rep, "freeze", &e);
    return reply_sandbox(m, s, rep);
}

static int h_resume(sb_monitor *m, const sb_ipc_msg *msg, const sb_tenant *t, sb_reply *rep,
                    sb_error *err) {
    (void)err;
    struct sbx *s = sb_monitor_sbx_owned(m, msg, t, rep);
    if (!s) return 0;
    sb_error e = {0};
    if (s->state == SB_SBX_STANDBY && do_freeze(m, s, false, &e) < 0)
        return sb_monitor_internal(m, rep, "thaw", &e);
    return reply_sandbox(m, s, rep);
}

int sb_monitor_sbx_wake(sb_monitor *m, struct sbx *s, sb_error *err) {
    if (s->state == SB_SBX_STANDBY) TRY(do_freeze(m, s, false, err));
    s->last_active_ns = sb_mono_ns();
    return 0;
}

/* ---- the monitor's loop hooks -------------------------------------------------------------------
 */

/* Deadlines: sandbox timeouts destroy; idle ones freeze (exec timeouts: monitor_proc.c). */
bool sb_monitor_sbx_pending(sb_monitor *m) {
    struct sb_monitor_sbx *x = m->sbx;
    return x->npool < x->pool_target && !sb_proc_running(m) && !m->stopping &&
           sb_mono_ns() >= x->pool_fail_until_ns;
}

void sb_monitor_sbx_tick(sb_monitor *m) {
    if (!sb_proc_running(m)) pool_refill(m);
    sb_proc_tick(m);
    uint64_t now = sb_mono_ns();
    struct sbx *s = m->sbx->list;
    while (s) {
        struct sbx *next = s->next;
        if (now >= s->deadline_ns) {
            sb_logf(m->cfg.log, SB_LOG_INFO, "sandbox %s: timeout reached, destroying", s->id);
            destroy_sbx(m, s, SB_SBX_DESTROYED, "sandbox.timeout");
        } else if (s->idle_ns && s->state == SB_SBX_RUNNING && !sb_proc_sbx_busy(s) &&
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
        "# HELP sealbox_warm_pool Sandboxes waiting in the warm pool, and its target.\n"
        "# TYPE sealbox_warm_pool gauge\n"
        "sealbox_warm_pool{kind=\"ready\"} %u\nsealbox_warm_pool{kind=\"target\"} %u\n"
        "# HELP sealbox_warm_pool_hits_total Creates answered from the warm pool.\n"
        "# TYPE sealbox_warm_pool_hits_total counter\nsealbox_warm_pool_hits_total %llu\n",
        (unsigned long long)x->creates, (unsigned long long)x->create_fail, x->create_sum_s,
        x->npool, x->pool_target, (unsigned long long)x->pool_hits);
    sb_proc_metrics(m, w);
}

/* At start: sandboxes the store calls live have no process behind them any more (a crash or
 * kill -9 of the previous daemon took their init with it). They are marked lost. */
static void settle_leftovers(sb_monitor *m) {
    /* Their cgroups and directories on the host go too (the processes died with the daemon). */
    unsigned swept = 0;
    sb_error se = {0};
    if (sb_jail_sweep(m->cfg.state_dir, &swept, &se) < 0)
        sb_logf(m->cfg.log, SB_LOG_ERROR, "sweeping crashed sandboxes: %s", se.msg);
    else if (swept)
        sb_logf(m->cfg.log, SB_LOG_WARN,
                "removed the cgroups and directories of %u crashed sandboxes", swept);
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
    while (m->sbx->npool)
        m->sbx->be->destroy(m->sbx->pool[--m->sbx->npool]);
    free(m->sbx);
    m->sbx = NULL;
}

static const sb_handler SBX_HANDLERS[] = {
    {SB_IPC_SBX_CREATE, true, c_create, h_create},
    {SB_IPC_SBX_DELETE, true, c_id, h_delete},
    {SB_IPC_SBX_STANDBY, true, c_id, h_standby},
    {SB_IPC_SBX_RESUME, true, c_id, h_resume},
};

const sb_handler *sb_monitor_sbx_handler(uint16_t type) {
    for (size_t i = 0; i < SB_ARRAY_LEN(SBX_HANDLERS); i++)
        if (SBX_HANDLERS[i].type == type) return &SBX_HANDLERS[i];
    const sb_handler *h = sb_proc_handler(type);
    if (!h) h = sb_monitor_mlog_handler(type);
    return h ? h : sb_files_handler(type);
}
