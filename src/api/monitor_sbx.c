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

/* At most this many pooled sandboxes are built at once (the builders keep the rest for
 * requests, whose jobs go first anyway). */
#define POOL_BUILDS_MAX 2

/* A create whose sandbox a builder is making (the record says "creating" meanwhile). */
struct building {
    struct building *next;
    struct sbx *s;       /* complete but for its handle; live once built */
    struct sb_bjob *job; /* until the builder has finished */
    struct sb_sandbox_config sc;
    char image[SB_IPC_IMAGE_MAX + 1];
    json_t *cfg; /* the record's config (backend_id is added once built) */
    char tenant[SB_TENANT_NAME_MAX + 1];
    uint32_t req_id;     /* the create's request; 0 once its front went away */
    bool deleted;        /* a DELETE came while it was built */
    uint32_t del_req_id; /* that DELETE, answered once the sandbox is gone */
    uint64_t t0, del_t0, timeout_s;
};

/* A sandbox a builder is tearing down: no longer live, its record not yet final. */
struct dying {
    struct dying *next;
    struct sbx *s;
    enum sb_sbx_state final;
    const char *event;
    uint32_t req_id; /* a DELETE to answer once it is gone (0: none) */
    char tenant[SB_TENANT_NAME_MAX + 1];
    uint64_t t0;
    struct sb_bjob *job; /* submitted once a freeze in flight is done */
};

/* A standby in flight: a builder writes the freezer and waits until every task is frozen
 * (up to 5 s). Meanwhile the sandbox stays "running" and usable: an exec or a resume that comes
 * is noted (woken) and the sandbox is thawed the moment the freeze is done; a teardown waits
 * for it (the builder holds the handle). */
struct sb_sfreeze {
    struct sbx *s;
    uint32_t req_id; /* a standby request to answer (0: the idle timer's, or its front left) */
    char tenant[SB_TENANT_NAME_MAX + 1];
    uint64_t t0;
    bool woken;
    struct dying *dying; /* deleted meanwhile: its teardown starts when the freeze is done */
};

struct sb_monitor_sbx {
    const struct sb_backend_ops *be;
    char init_path[4096];
    struct sbx *list;
    struct building *building;
    struct dying *dying;
    sb_sandbox *pool[POOL_MAX];
    unsigned npool, pool_target, pool_building;
    struct sb_sandbox_config pool_sc;
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

/* A teardown nobody waits for (a pooled sandbox that is not needed any more). */
static void plain_destroyed(sb_monitor *m, struct sb_bjob *j) {
    (void)m;
    free(j);
}

static void destroy_handle(sb_monitor *m, sb_sandbox *h) {
    struct sb_bjob *j = m->build ? calloc(1, sizeof(*j)) : NULL;
    if (!j) {
        m->sbx->be->destroy(h);
        return;
    }
    j->kind = SB_BJOB_DESTROY;
    j->h = h;
    j->done = plain_destroyed;
    sb_build_submit(m, j);
}

static void pool_built(sb_monitor *m, struct sb_bjob *j) {
    struct sb_monitor_sbx *x = m->sbx;
    x->pool_building--;
    if (j->rc < 0) {
        sb_logf(m->cfg.log, SB_LOG_WARN, "warm pool: %s (retrying in 10 s)", j->err.msg);
        x->pool_fail_until_ns = sb_mono_ns() + 10000000000ull;
    } else if (m->stopping || x->npool >= POOL_MAX) {
        destroy_handle(m, j->h);
    } else {
        x->pool[x->npool++] = j->h;
    }
    free(j);
}

/* Asks the builders for the sandboxes the pool lacks (the loop never waits for them). */
static void pool_refill(sb_monitor *m) {
    struct sb_monitor_sbx *x = m->sbx;
    while (m->build && x->npool + x->pool_building < x->pool_target &&
           x->pool_building < POOL_BUILDS_MAX && !m->stopping &&
           sb_mono_ns() >= x->pool_fail_until_ns) {
        struct sb_bjob *j = calloc(1, sizeof(*j));
        if (!j) return;
        j->kind = SB_BJOB_CREATE;
        j->low = true;
        j->sc = &x->pool_sc;
        j->done = pool_built;
        x->pool_building++;
        sb_build_submit(m, j);
    }
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

static void secrets_free(struct sb_secret_spec *v, size_t n) {
    for (size_t i = 0; v && i < n; i++)
        sb_secret_spec_clear(&v[i]);
    free(v);
}

static void sbx_free(struct sbx *s) {
    secrets_free(s->secrets, s->nsecrets);
    sb_monitor_strv_free(s->env);
    sb_mlog_free(s->mlog);
    free(s);
}

/* A later answer to a request (a create or delete settled by a builder). */
static void send_later(sb_monitor *m, uint32_t req_id, sb_reply *rep) {
    if (!req_id || !rep->status) return;
    sb_ipc_val v[3] = {sb_ipc_u((uint64_t)rep->status), sb_ipc_u((uint64_t)rep->ctype),
                       sb_ipc_b(rep->body.buf, rep->body.len)};
    (void)sb_monitor_send(m, SB_IPC_REPLY, req_id, v, 3);
}

static void answer_delete(sb_monitor *m, uint32_t req_id, const char *tenant, const char *id,
                          uint64_t t0) {
    if (!req_id && !tenant[0]) return;
    sb_reply rep;
    sb_reply_init(&rep);
    rep.status = 204;
    rep.ctype = SB_CT_JSON;
    send_later(m, req_id, &rep);
    sb_monitor_audit_later(m, "sandbox.delete", tenant, 204, id, NULL, (sb_mono_ns() - t0) / 1000u);
    sb_reply_free(&rep);
}

static void destroyed(sb_monitor *m, struct sb_bjob *j) {
    struct dying *d = j->arg;
    for (struct dying **pp = &m->sbx->dying; *pp; pp = &(*pp)->next)
        if (*pp == d) {
            *pp = d->next;
            break;
        }
    set_state(m, d->s, d->final, d->event);
    answer_delete(m, d->req_id, d->tenant, d->s->id, d->t0);
    sbx_free(d->s);
    free(d);
    free(j);
}

/* Destroys a sandbox (its processes and transfers end first, here) and forgets it. The teardown
 * itself is a builder's; until it is done the sandbox is "dying": no request reaches it, its
 * record keeps its state (and its quota) and, with req_id, the DELETE waits for its answer. */
static void destroy_sbx_req(sb_monitor *m, struct sbx *s, enum sb_sbx_state final,
                            const char *event, uint32_t req_id, const char *tenant) {
    sb_proc_sandbox_gone(m, s);
    sb_files_sandbox_gone(m, s);
    sb_monitor_relay_sandbox_gone(m, s);
    secrets_free(s->secrets, s->nsecrets);
    s->secrets = NULL;
    s->nsecrets = 0;
    unlink_sbx(m, s);
    struct dying *d = m->build ? calloc(1, sizeof(*d)) : NULL;
    struct sb_bjob *j = d ? calloc(1, sizeof(*j)) : NULL;
    if (!j) { /* no builders (being torn down, or out of memory): here and now */
        free(d);
        m->sbx->be->destroy(s->h);
        s->h = NULL;
        set_state(m, s, final, event);
        answer_delete(m, req_id, tenant ? tenant : "", s->id, sb_mono_ns());
        sbx_free(s);
        return;
    }
    d->s = s;
    d->final = final;
    d->event = event;
    d->req_id = req_id;
    (void)snprintf(d->tenant, sizeof(d->tenant), "%s", tenant ? tenant : "");
    d->t0 = sb_mono_ns();
    d->next = m->sbx->dying;
    m->sbx->dying = d;
    j->kind = SB_BJOB_DESTROY;
    j->h = s->h;
    s->h = NULL;
    j->done = destroyed;
    j->arg = d;
    if (s->freeze) { /* the builder that freezes it holds the handle: after it */
        d->job = j;
        s->freeze->dying = d;
        return;
    }
    sb_build_submit(m, j);
}

static void destroy_sbx(sb_monitor *m, struct sbx *s, enum sb_sbx_state final, const char *event) {
    destroy_sbx_req(m, s, final, event, 0, NULL);
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
    for (size_t i = 0; i < msg->f[8].count; i++) {
        struct sb_secret_spec sp;
        TRY(sb_secret_spec_parse(msg->f[8].list[i].p, msg->f[8].list[i].len, &sp, err));
        sb_secret_spec_clear(&sp);
    }
    return 0;
}

/* The create's secrets (field 8; the front checked them, c_create again). */
static int secrets_of(const sb_ipc_val *f, struct sb_secret_spec **out, size_t *n, sb_error *err) {
    *out = NULL;
    *n = 0;
    if (!f->count) return 0;
    struct sb_secret_spec *v = calloc(f->count, sizeof(*v));
    ENSURE(v, err, SB_E_INTERNAL, "out of memory");
    for (size_t i = 0; i < f->count; i++) {
        int rc = sb_secret_spec_parse(f->list[i].p, f->list[i].len, &v[i], err);
        if (rc < 0) {
            secrets_free(v, i);
            return rc;
        }
    }
    *out = v;
    *n = f->count;
    return 0;
}

/* The secrets as the sandbox's record shows them: paths and targets, never a value. */
static json_t *secrets_json(const struct sb_secret_spec *v, size_t n) {
    json_t *a = json_array();
    for (size_t i = 0; a && i < n; i++)
        (void)json_array_append_new(a, json_pack("{s:s, s:s}", "path", v[i].path,
                                                 v[i].kind == SB_SECRET_ENV ? "env" : "file",
                                                 v[i].target));
    return a;
}

static void building_unlink(sb_monitor *m, struct building *bd) {
    for (struct building **pp = &m->sbx->building; *pp; pp = &(*pp)->next)
        if (*pp == bd) {
            *pp = bd->next;
            return;
        }
}

/* The create's env (field 6 of its message) again, from the copy the sandbox keeps. */
static int env_val(char **env, sb_ipc_val *v, sb_ipc_str **list) {
    size_t n = 0;
    while (env && env[n])
        n++;
    *list = calloc(n + 1, sizeof(**list));
    if (!*list) return -1;
    for (size_t i = 0; i < n; i++)
        (*list)[i] = (sb_ipc_str){(const uint8_t *)env[i], strlen(env[i])};
    *v = (sb_ipc_val){.count = n, .list = *list};
    return 0;
}

static void building_free(struct building *bd) {
    if (bd->s) sbx_free(bd->s);
    json_decref(bd->cfg);
    free(bd);
}

/* A create whose DELETE came first: the create is answered 409, the DELETE 204. */
static void create_deleted(sb_monitor *m, struct building *bd) {
    sb_reply rep;
    sb_reply_init(&rep);
    (void)sb_reply_problem(&rep, 409, "conflict", "Conflict",
                           "the sandbox was deleted before its creation finished");
    send_later(m, bd->req_id, &rep);
    sb_monitor_audit_later(m, "sandbox.create", bd->tenant, 409, bd->s->id, bd->image,
                           (sb_mono_ns() - bd->t0) / 1000u);
    sb_reply_free(&rep);
}

/* On the loop: a builder has made (or failed to make) the sandbox of a create. The record, the
 * event and the measurement log's image and config events go in one transaction, as before the
 * builders; then the create is answered. */
static void built(sb_monitor *m, struct sb_bjob *j) {
    struct sb_monitor_sbx *x = m->sbx;
    struct building *bd = j->arg;
    struct sbx *s = bd->s;
    building_unlink(m, bd);
    bd->job = NULL;
    sb_sandbox *h = j->h;
    sb_error e = j->err;
    int rc = j->rc;
    free(j);
    sb_reply rep;
    sb_reply_init(&rep);
    if (rc < 0) {
        x->create_fail++;
        sb_error e2 = {0};
        if (sb_store_sandbox_set_state(m->store, s->tenant_id, s->id, SB_SBX_DESTROYED, &e2) < 0)
            sb_logf(m->cfg.log, SB_LOG_ERROR, "sandbox %s: %s", s->id, e2.msg);
        sb_logf(m->cfg.log, SB_LOG_WARN, "create for tenant %s: %s", bd->tenant, e.msg);
        if (bd->deleted) {
            create_deleted(m, bd);
            answer_delete(m, bd->del_req_id, bd->tenant, s->id, bd->del_t0);
        } else {
            if (e.code == SB_E_NOTFOUND || e.code == SB_E_USAGE)
                (void)sb_reply_problem(&rep, 422, "unprocessable", "Cannot create the sandbox",
                                       e.msg);
            else if (e.code == SB_E_LIMIT)
                (void)sb_reply_problem(&rep, 503, "capacity", "No capacity", e.msg);
            else
                (void)sb_reply_problem(&rep, 500, "internal", "Cannot create the sandbox", e.msg);
            send_later(m, bd->req_id, &rep);
            sb_monitor_audit_later(m, "sandbox.create", bd->tenant, rep.status, NULL, bd->image,
                                   (sb_mono_ns() - bd->t0) / 1000u);
        }
        sb_reply_free(&rep);
        building_free(bd);
        return;
    }
    x->creates++;
    x->create_sum_s += (double)(sb_mono_ns() - bd->t0) / 1e9;
    s->h = h;
    if (bd->deleted) {
        /* built for nothing: answered, then torn down (the DELETE is answered when it is gone) */
        create_deleted(m, bd);
        bd->s = NULL;
        destroy_sbx_req(m, s, SB_SBX_DESTROYED, "sandbox.delete", bd->del_req_id, bd->tenant);
        sb_reply_free(&rep);
        building_free(bd);
        return;
    }
    uint64_t now = sb_mono_ns();
    s->state = SB_SBX_RUNNING;
    s->deadline_ns = now + bd->timeout_s * 1000000000ull;
    s->last_active_ns = now;
    if (m->relay) sb_sandbox_set_relay_async(h, true);
    s->next = x->list;
    x->list = s;
    bd->s = NULL; /* live now */
    sb_sandbox_rec r;
    memset(&r, 0, sizeof(r));
    memcpy(r.id, s->id, sizeof(r.id));
    r.tenant_id = s->tenant_id;
    r.memory_mb = s->memory_mb;
    r.state = SB_SBX_RUNNING;
    (void)json_object_set_new(bd->cfg, "backend_id", json_string(sb_sandbox_id(h)));
    r.config_json = json_dumps(bd->cfg, JSON_COMPACT | JSON_SORT_KEYS);
    (void)snprintf(r.image_digest, sizeof(r.image_digest), "%s", sb_sandbox_image_digest(h));
    sb_ipc_val env;
    sb_ipc_str *list = NULL;
    rc = env_val(s->env, &env, &list) == 0 ? 0 : sb_error_set(&e, SB_E_INTERNAL, "out of memory");
    if (rc == 0)
        rc = sb_monitor_mlog_new(&bd->sc, &env, s->secrets, s->nsecrets, r.image_digest, &s->mlog,
                                 &e);
    free(list);
    if (rc == 0) rc = sb_store_begin(m->store, &e);
    if (rc == 0)
        rc = r.config_json ? sb_store_sandbox_update_created(m->store, s->tenant_id, r.id,
                                                             r.image_digest, r.config_json, &e)
                           : sb_error_set(&e, SB_E_INTERNAL, "out of memory");
    if (rc == 0) rc = sb_store_sandbox_set_state(m->store, s->tenant_id, r.id, SB_SBX_RUNNING, &e);
    if (rc == 0)
        rc = sb_store_event_add(m->store, s->tenant_id, r.id, "sandbox.create", NULL, NULL, &e);
    if (rc == 0) rc = sb_monitor_mlog_store(m, s->tenant_id, r.id, s->mlog, &e);
    if (rc == 0) rc = sb_store_commit(m->store, &e);
    if (rc < 0) {
        /* A sandbox whose measurement log is not kept must not run anything. */
        sb_store_rollback(m->store);
        x->creates--;
        x->create_fail++;
        sb_logf(m->cfg.log, SB_LOG_ERROR, "sandbox %s: %s", r.id, e.msg);
        (void)sb_reply_problem(&rep, 500, "internal", "Cannot create the sandbox", e.msg);
        destroy_sbx(m, s, SB_SBX_DESTROYED, "sandbox.create_failed");
    } else {
        r.created = r.updated = sb_time_now();
        (void)sb_reply_json(&rep, 201, sb_monitor_sandbox_json(&r));
    }
    free(r.config_json);
    send_later(m, bd->req_id, &rep);
    sb_monitor_audit_later(m, "sandbox.create", bd->tenant, rep.status,
                           rep.status == 201 ? r.id : NULL, bd->image,
                           (sb_mono_ns() - bd->t0) / 1000u);
    sb_reply_free(&rep);
    building_free(bd);
}

/* The create itself; *taken once the sandbox owns secrets. */
static int create_sbx(sb_monitor *m, const sb_ipc_msg *msg, const sb_tenant *t, sb_reply *rep,
                      const char *image, int64_t mem, struct sb_secret_spec *secrets,
                      size_t nsecrets, bool *taken) {
    struct sb_monitor_sbx *x = m->sbx;
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
    if (cfg && nsecrets) (void)json_object_set_new(cfg, "secrets", secrets_json(secrets, nsecrets));
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
    if (rc == 0 && pooled)
        rc = sb_monitor_mlog_new(&sc, &msg->f[6], secrets, nsecrets, r.image_digest, &mlog, &e);
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
     * that the next start finds and settles. A builder makes the sandbox; the loop goes on and
     * answers when it is done (built()). */
    struct sbx *s = calloc(1, sizeof(*s));
    if (!s) {
        sb_error e2 = {0};
        if (sb_store_sandbox_set_state(m->store, t->id, r.id, SB_SBX_DESTROYED, &e2) < 0)
            sb_logf(m->cfg.log, SB_LOG_ERROR, "sandbox %s: %s", r.id, e2.msg);
        if (h) x->pool[x->npool++] = h;
        sb_mlog_free(mlog);
        json_decref(cfg);
        free(r.config_json);
        return sb_reply_problem(rep, 500, "internal", "Cannot create the sandbox", "out of memory");
    }
    memcpy(s->id, r.id, sizeof(s->id));
    s->tenant_id = t->id;
    s->memory_mb = mem;
    s->state = pooled ? SB_SBX_RUNNING : SB_SBX_CREATING;
    s->idle_ns = msg->f[5].u * 1000000000ull;
    s->env = sb_monitor_str_vec(&msg->f[6]);
    s->mlog = TAKE_PTR(mlog);
    s->secrets = secrets;
    s->nsecrets = nsecrets;
    *taken = true;
    if (pooled) {
        x->creates++;
        x->create_sum_s += (double)(sb_mono_ns() - t0) / 1e9;
        uint64_t now = sb_mono_ns();
        s->h = h;
        s->deadline_ns = now + msg->f[4].u * 1000000000ull;
        s->last_active_ns = now;
        /* sealbox-init's KBS requests are answered off the loop (monitor_relay.c) */
        if (m->relay) sb_sandbox_set_relay_async(h, true);
        s->next = x->list;
        x->list = s;
        r.created = r.updated = sb_time_now();
        json_decref(cfg);
        json_t *j = sb_monitor_sandbox_json(&r);
        free(r.config_json);
        return sb_reply_json(rep, 201, j);
    }
    free(r.config_json);
    struct building *bd = calloc(1, sizeof(*bd));
    struct sb_bjob *job = bd ? calloc(1, sizeof(*job)) : NULL;
    if (!job) {
        free(bd);
        *taken = false;
        s->secrets = NULL;
        s->nsecrets = 0;
        sbx_free(s);
        json_decref(cfg);
        x->create_fail++;
        sb_error e2 = {0};
        if (sb_store_sandbox_set_state(m->store, t->id, r.id, SB_SBX_DESTROYED, &e2) < 0)
            sb_logf(m->cfg.log, SB_LOG_ERROR, "sandbox %s: %s", r.id, e2.msg);
        return sb_reply_problem(rep, 500, "internal", "Cannot create the sandbox", "out of memory");
    }
    bd->s = s;
    bd->job = job;
    bd->sc = sc;
    (void)snprintf(bd->image, sizeof(bd->image), "%s", image);
    bd->sc.image = sc.image ? bd->image : NULL;
    bd->cfg = cfg;
    (void)snprintf(bd->tenant, sizeof(bd->tenant), "%s", t->name);
    bd->req_id = msg->id;
    bd->t0 = t0;
    bd->timeout_s = msg->f[4].u;
    bd->next = x->building;
    x->building = bd;
    job->kind = SB_BJOB_CREATE;
    job->sc = &bd->sc;
    job->done = built;
    job->arg = bd;
    sb_build_submit(m, job);
    rep->status = 0; /* answered by built() */
    rep->audit_later = true;
    return 0;
}

static int h_create(sb_monitor *m, const sb_ipc_msg *msg, const sb_tenant *t, sb_reply *rep,
                    sb_error *err) {
    char image[SB_IPC_IMAGE_MAX + 1];
    TRY(sb_ipc_str_copy(&msg->f[1].s, image, sizeof(image), err, "image"));
    int64_t mem = (int64_t)msg->f[2].u;
    if (msg->f[8].count && !m->relay)
        return sb_reply_problem(rep, 422, "no-kbs", "Secrets unavailable",
                                "this daemon has no KBS for the sandboxes' secrets (sealboxd "
                                "--kbs-url)");
    struct sb_secret_spec *secrets = NULL;
    size_t nsecrets = 0;
    TRY(secrets_of(&msg->f[8], &secrets, &nsecrets, err));
    bool taken = false;
    int rc = create_sbx(m, msg, t, rep, image, mem, secrets, nsecrets, &taken);
    if (!taken) secrets_free(secrets, nsecrets);
    return rc;
}

/* The live sandbox a message names, owned by the authenticated tenant, or a 404/409 reply. */
struct sbx *sb_monitor_sbx_owned(sb_monitor *m, const sb_ipc_msg *msg, const sb_tenant *t,
                                 sb_reply *rep) {
    char id[SB_SANDBOX_ID_MAX + 1];
    if (sb_ipc_str_copy(&msg->f[1].s, id, sizeof(id), NULL, "id") < 0) return NULL;
    struct sbx *s = find(m, t->id, id);
    if (!s) {
        for (struct building *bd = m->sbx->building; bd; bd = bd->next)
            if (bd->s && bd->s->tenant_id == t->id && strcmp(bd->s->id, id) == 0) {
                (void)sb_reply_problem(rep, 409, "conflict", "Conflict",
                                       bd->deleted ? "the sandbox is being deleted"
                                                   : "the sandbox is being created");
                return NULL;
            }
        for (struct dying *d = m->sbx->dying; d; d = d->next)
            if (d->s->tenant_id == t->id && strcmp(d->s->id, id) == 0) {
                (void)sb_reply_problem(rep, 409, "conflict", "Conflict",
                                       "the sandbox is being deleted");
                return NULL;
            }
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
    char id[SB_SANDBOX_ID_MAX + 1];
    TRY(sb_ipc_str_copy(&msg->f[1].s, id, sizeof(id), err, "sandbox id"));
    /* A sandbox still being built: a job no builder has started is taken back (nothing was
     * made); otherwise the sandbox goes as soon as it is built. Either way its create is
     * answered 409 and this DELETE 204 once nothing of it is left. */
    for (struct building *bd = m->sbx->building; bd; bd = bd->next) {
        if (!bd->s || bd->s->tenant_id != t->id || strcmp(bd->s->id, id) != 0 || bd->deleted)
            continue;
        if (bd->job && sb_build_cancel(m, bd->job)) {
            free(bd->job);
            bd->job = NULL;
            building_unlink(m, bd);
            set_state(m, bd->s, SB_SBX_DESTROYED, "sandbox.delete");
            create_deleted(m, bd);
            building_free(bd);
            rep->status = 204;
            rep->ctype = SB_CT_JSON;
            return 0;
        }
        bd->deleted = true;
        bd->del_req_id = msg->id;
        bd->del_t0 = sb_mono_ns();
        rep->status = 0; /* answered once it is built and torn down */
        rep->audit_later = true;
        return 0;
    }
    struct sbx *s = sb_monitor_sbx_owned(m, msg, t, rep);
    if (!s) return 0;
    destroy_sbx_req(m, s, SB_SBX_DESTROYED, "sandbox.delete", msg->id, t->name);
    rep->status = 0; /* answered by destroyed() */
    rep->audit_later = true;
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

/* On the loop: a builder has frozen the sandbox (or failed to). */
static void frozen(sb_monitor *m, struct sb_bjob *j) {
    struct sb_sfreeze *f = j->arg;
    struct sbx *s = f->s;
    s->freeze = NULL;
    sb_reply rep;
    sb_reply_init(&rep);
    sb_error e = j->err;
    if (f->dying) {
        /* deleted meanwhile: the sandbox is not live any more, its teardown goes now */
        (void)sb_reply_problem(&rep, 409, "conflict", "Conflict", "the sandbox was deleted");
        sb_build_submit(m, TAKE_PTR(f->dying->job));
    } else if (j->rc < 0) {
        sb_logf(m->cfg.log, SB_LOG_WARN, "sandbox %s: standby: %s", s->id, e.msg);
        (void)sb_reply_problem(&rep, 500, "internal", "Internal error", "freeze");
    } else if (f->woken) {
        /* an exec or a resume came while it froze: it runs again at once */
        if (m->sbx->be->thaw(s->h, &e) < 0)
            sb_logf(m->cfg.log, SB_LOG_ERROR, "sandbox %s: thaw: %s", s->id, e.msg);
        s->last_active_ns = sb_mono_ns();
        (void)reply_sandbox(m, s, &rep);
    } else {
        set_state(m, s, SB_SBX_STANDBY, "sandbox.standby");
        s->last_active_ns = sb_mono_ns();
        (void)reply_sandbox(m, s, &rep);
    }
    send_later(m, f->req_id, &rep);
    if (f->tenant[0])
        sb_monitor_audit_later(m, "sandbox.standby", f->tenant, rep.status, s->id, NULL,
                               (sb_mono_ns() - f->t0) / 1000u);
    sb_reply_free(&rep);
    free(f);
    free(j);
}

/* Puts a sandbox on standby through a builder (answered by frozen()). */
static int freeze_begin(sb_monitor *m, struct sbx *s, uint32_t req_id, const char *tenant,
                        sb_error *e) {
    struct sb_sfreeze *f = m->build ? calloc(1, sizeof(*f)) : NULL;
    struct sb_bjob *j = f ? calloc(1, sizeof(*j)) : NULL;
    if (!j) {
        free(f);
        return sb_error_set(e, SB_E_INTERNAL, "out of memory");
    }
    f->s = s;
    f->req_id = req_id;
    (void)snprintf(f->tenant, sizeof(f->tenant), "%s", tenant ? tenant : "");
    f->t0 = sb_mono_ns();
    s->freeze = f;
    j->kind = SB_BJOB_FREEZE;
    j->h = s->h;
    j->done = frozen;
    j->arg = f;
    sb_build_submit(m, j);
    return 0;
}

static int h_standby(sb_monitor *m, const sb_ipc_msg *msg, const sb_tenant *t, sb_reply *rep,
                     sb_error *err) {
    (void)err;
    struct sbx *s = sb_monitor_sbx_owned(m, msg, t, rep);
    if (!s) return 0;
    if (s->freeze)
        return sb_reply_problem(rep, 409, "conflict", "Conflict",
                                "the sandbox is already going to standby");
    if (s->state == SB_SBX_STANDBY) return reply_sandbox(m, s, rep);
    sb_error e = {0};
    if (freeze_begin(m, s, msg->id, t->name, &e) < 0)
        return sb_monitor_internal(m, rep, "freeze", &e);
    rep->status = 0; /* answered by frozen() */
    rep->audit_later = true;
    return 0;
}

static int h_resume(sb_monitor *m, const sb_ipc_msg *msg, const sb_tenant *t, sb_reply *rep,
                    sb_error *err) {
    (void)err;
    struct sbx *s = sb_monitor_sbx_owned(m, msg, t, rep);
    if (!s) return 0;
    sb_error e = {0};
    if (s->freeze) s->freeze->woken = true;
    if (s->state == SB_SBX_STANDBY && do_freeze(m, s, false, &e) < 0)
        return sb_monitor_internal(m, rep, "thaw", &e);
    return reply_sandbox(m, s, rep);
}

int sb_monitor_sbx_wake(sb_monitor *m, struct sbx *s, sb_error *err) {
    /* a freeze in flight: thawed when it is done; until then the command's frames wait in the
     * channel (the freeze itself is bounded) */
    if (s->freeze) s->freeze->woken = true;
    if (s->state == SB_SBX_STANDBY) TRY(do_freeze(m, s, false, err));
    s->last_active_ns = sb_mono_ns();
    return 0;
}

/* ---- the monitor's loop hooks -------------------------------------------------------------------
 */

/* Deadlines: sandbox timeouts destroy; idle ones freeze (exec timeouts: monitor_proc.c). */
bool sb_monitor_sbx_pending(sb_monitor *m) {
    /* The builders wake the loop themselves (their eventfd); nothing is ever left to poll for. */
    (void)m;
    return false;
}

void sb_monitor_sbx_front_gone(sb_monitor *m) {
    for (struct building *bd = m->sbx->building; bd; bd = bd->next)
        bd->req_id = bd->del_req_id = 0;
    for (struct dying *d = m->sbx->dying; d; d = d->next) {
        d->req_id = 0;
        if (d->s->freeze) d->s->freeze->req_id = 0;
    }
    for (struct sbx *s = m->sbx->list; s; s = s->next)
        if (s->freeze) s->freeze->req_id = 0;
}

void sb_monitor_sbx_tick(sb_monitor *m) {
    pool_refill(m);
    sb_proc_tick(m);
    uint64_t now = sb_mono_ns();
    struct sbx *s = m->sbx->list;
    while (s) {
        struct sbx *next = s->next;
        if (now >= s->deadline_ns) {
            sb_logf(m->cfg.log, SB_LOG_INFO, "sandbox %s: timeout reached, destroying", s->id);
            destroy_sbx(m, s, SB_SBX_DESTROYED, "sandbox.timeout");
        } else if (s->idle_ns && s->state == SB_SBX_RUNNING && !s->freeze && !sb_proc_sbx_busy(s) &&
                   now - s->last_active_ns >= s->idle_ns) {
            sb_error e = {0};
            if (freeze_begin(m, s, 0, NULL, &e) < 0)
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
    sb_build_metrics(m, w);
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
    pool_config(m, &m->sbx->pool_sc);
    settle_leftovers(m);
    return sb_build_init(m, m->sbx->be, err);
}

/* On stop every sandbox goes: nothing can re-attach to it after this process ends. */
void sb_monitor_sbx_fini(sb_monitor *m) {
    if (!m->sbx) return;
    /* Builds in flight finish first (their sandboxes become live, to go with the rest), then
     * every sandbox and the pool are torn down by the builders at once, and only then do the
     * builders end (see monitor_build.c: a sandbox dies with the thread that made it). */
    sb_build_drain(m);
    while (m->sbx->list)
        destroy_sbx(m, m->sbx->list, SB_SBX_DESTROYED, "sandbox.daemon_stop");
    while (m->sbx->npool)
        destroy_handle(m, m->sbx->pool[--m->sbx->npool]);
    sb_build_fini(m);
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
