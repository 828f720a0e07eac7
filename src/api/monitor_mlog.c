/* monitor_mlog: every sandbox's measurement log (docs/secrets.md), written only here in the
 * monitor — image and config at create, each command as it starts — and GET .../log. */
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "../sandbox/sandbox.h"
#include "monitor_int.h"

/* The config a sandbox was built with, measured with the names of the environment every exec
 * gets: the default PATH, the create's env and its env secrets (as `sealbox run` and `sealbox
 * measure` count them). env holds the create's KEY=VALUE strings; only names reach the log. */
int sb_monitor_mlog_new(const struct sb_sandbox_config *sc, const sb_ipc_val *env,
                        const struct sb_secret_spec *secrets, size_t nsecrets,
                        const char *image_digest, sb_mlog **out, sb_error *err) {
    char **names = calloc(env->count + nsecrets + 2, sizeof(char *));
    ENSURE(names, err, SB_E_INTERNAL, "measurement log: out of memory");
    names[0] = strdup("PATH");
    bool ok = names[0] != NULL;
    size_t k = 1;
    for (size_t i = 0; ok && i < env->count; i++) {
        names[k] = strndup((const char *)env->list[i].p, env->list[i].len);
        ok = names[k++] != NULL;
    }
    /* the names of env secrets (as `sealbox run --secret …:env=NAME` measures them) */
    for (size_t i = 0; ok && i < nsecrets; i++) {
        if (secrets[i].kind != SB_SECRET_ENV) continue;
        names[k] = strdup(secrets[i].target);
        ok = names[k++] != NULL;
    }
    json_t *c = NULL;
    int rc = ok ? sb_mlog_config(sc, names, &c, err)
                : sb_error_set(err, SB_E_INTERNAL, "measurement log: out of memory");
    sb_monitor_strv_free(names);
    TRY(rc);
    rc = sb_mlog_new(image_digest, c, out, err);
    json_decref(c);
    return rc;
}

/* Every event of l into the store (the caller holds the transaction of the sandbox's row). */
int sb_monitor_mlog_store(sb_monitor *m, int64_t tenant_id, const char *id, const sb_mlog *l,
                          sb_error *err) {
    for (size_t i = 0; i < sb_mlog_count(l); i++)
        TRY(sb_store_mlog_append(m->store, tenant_id, id, (int64_t)i, sb_mlog_event(l, i), err));
    return 0;
}

/* Measures argv[0] inside the sandbox's root and appends the command — the entrypoint when it
 * is the first, an exec (which taints the log) otherwise — in memory and in the store, before
 * it is handed to sealbox-init. 0, or -1 with rep set: the command must then not run. */
int sb_monitor_mlog_exec(sb_monitor *m, struct sbx *s, char **argv, char **envp, const char *cwd,
                         sb_reply *rep) {
    if (!s->mlog || s->mlog_broken) {
        (void)sb_reply_problem(rep, 409, "log-unavailable", "Conflict",
                               "the sandbox's measurement log could not be kept, so no command "
                               "may run in it");
        return -1;
    }
    sb_error e = {0};
    size_t before = sb_mlog_count(s->mlog);
    if (sb_mlog_record(s->mlog, s->h, argv, envp, cwd, &e) < 0) {
        if (e.code == SB_E_LIMIT)
            (void)sb_reply_problem(rep, 409, "log-full", "Conflict", e.msg);
        else
            (void)sb_monitor_internal(m, rep, "measurement log", &e);
        return -1;
    }
    if (sb_store_mlog_append(m->store, s->tenant_id, s->id, (int64_t)before,
                             sb_mlog_event(s->mlog, before), &e) < 0) {
        /* The stored log now lacks an event the memory one has: nothing more may be added (a
         * gap would break the chain), and nothing runs unrecorded. */
        s->mlog_broken = true;
        (void)sb_monitor_internal(m, rep, "measurement log: store", &e);
        return -1;
    }
    return 0;
}

/* GET /v1/sandboxes/{id}/log: from the store, so a sandbox's log outlives it; tenant-scoped (a
 * sandbox of another tenant is one that does not exist). The digest and taint are never stored:
 * the stored events are replayed like any presented log on every request. */
static int h_log(sb_monitor *m, const sb_ipc_msg *msg, const sb_tenant *t, sb_reply *rep,
                 sb_error *err) {
    (void)err;
    char id[SB_SANDBOX_ID_MAX + 1];
    if (sb_ipc_str_copy(&msg->f[1].s, id, sizeof(id), NULL, "id") < 0)
        return sb_reply_problem(rep, 404, "not-found", "Not found", "no such sandbox");
    sb_sandbox_rec r;
    sb_error e = {0};
    int rc = sb_store_sandbox_get(m->store, t->id, id, &r, &e);
    if (rc == SB_E_NOTFOUND)
        return sb_reply_problem(rep, 404, "not-found", "Not found", "no such sandbox");
    if (rc < 0) return sb_monitor_internal(m, rep, "store", &e);
    sb_sandbox_rec_clear(&r);
    char **ev = NULL;
    size_t n = 0;
    if (sb_store_mlog_get(m->store, t->id, id, SB_MLOG_MAX_EVENTS, &ev, &n, &e) < 0)
        return sb_monitor_internal(m, rep, "store", &e);
    json_t *events = json_array();
    for (size_t i = 0; i < n; i++) {
        json_error_t je;
        json_t *j = events ? json_loads(ev[i], JSON_REJECT_DUPLICATES, &je) : NULL;
        if (!j || json_array_append_new(events, j) < 0) {
            json_decref(events);
            events = NULL;
        }
        free(ev[i]);
    }
    free(ev);
    if (!events) {
        (void)sb_error_set(&e, SB_E_INTERNAL, "a stored event of %s is not JSON", id);
        return sb_monitor_internal(m, rep, "measurement log", &e);
    }
    if (n < 2) {
        json_decref(events);
        return sb_reply_problem(rep, 409, "conflict", "Conflict",
                                "the sandbox has no measurement log (it was never built)");
    }
    json_t *o = json_pack("{s:i, s:s, s:o}", "version", SB_MLOG_VERSION, "hash", "sha384", "events",
                          events);
    char *canon = NULL;
    size_t len = 0;
    rc = o ? sb_json_canonical(o, &canon, &len, &e)
           : sb_error_set(&e, SB_E_INTERNAL, "out of memory");
    struct sb_mlog_replay rp;
    memset(&rp, 0, sizeof(rp));
    if (rc == 0) rc = sb_mlog_replay((const uint8_t *)canon, len, &rp, &e);
    free(canon);
    canon = NULL;
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
    if (rc < 0) return sb_monitor_internal(m, rep, "measurement log", &e);
    rc = sb_writer_bytes(&rep->body, canon, len);
    free(canon);
    if (rc < 0) return sb_reply_problem(rep, 500, "internal", "Internal error", "log too large");
    rep->status = 200;
    rep->ctype = SB_CT_JSON;
    return 0;
}

static int c_log(const sb_ipc_msg *msg, sb_error *err) {
    return sb_monitor_check_sbx_id(msg, 1, err);
}

static const sb_handler MLOG_HANDLERS[] = {
    {SB_IPC_SBX_LOG, true, c_log, h_log},
};

const sb_handler *sb_monitor_mlog_handler(uint16_t type) {
    for (size_t i = 0; i < SB_ARRAY_LEN(MLOG_HANDLERS); i++)
        if (MLOG_HANDLERS[i].type == type) return &MLOG_HANDLERS[i];
    return NULL;
}
