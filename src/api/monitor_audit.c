/* monitor_audit: sealboxd's side of the audit log — the monitor loads the checkpoint key, appends
 * a record for every mutating API action and daemon event, and signs the head at checkpoints. */
#include <stdio.h>
#include <string.h>

#include "../attester/attester.h"
#include "../crypto/crypto.h"
#include "monitor_int.h"

/* Records wait at most this long for a signature while the daemon runs. */
#define AUDIT_CHECKPOINT_SECONDS 60

/* The TPM NV counter behind the signed heads. The TPM is opened for each use and closed again:
 * checkpoints are rare (every 256 records or 60 s), and a TPM without a resource manager (swtpm,
 * /dev/tpm0) serves one connection at a time — the KBS master key and the attester use it too. */
static int tpm_counter(struct sb_monitor_counter *c, bool increment, uint64_t *value,
                       sb_error *err) {
    struct sb_tpm_config tc = {.tcti = c->tcti};
    sb_tpm *t = NULL;
    TRY(sb_tpm_open(&tc, &t, err));
    int r = increment ? sb_tpm_counter_increment(t, c->index, value, err)
                      : sb_tpm_counter_read(t, c->index, true, value, err);
    sb_tpm_close(t);
    return r;
}

static int counter_read(void *arg, uint64_t *value, sb_error *err) {
    return tpm_counter(arg, false, value, err);
}

static int counter_increment(void *arg, uint64_t *value, sb_error *err) {
    return tpm_counter(arg, true, value, err);
}

int sb_monitor_audit_open(sb_monitor *m, sb_error *err) {
    TRY(sb_audit_key_load(m->cfg.state_dir, &m->audit_key, err));
    sb_audit_key_signer(m->audit_key, &m->audit_signer);
    char head[4096];
    int k = snprintf(head, sizeof(head), "%s/%s", m->cfg.state_dir, SB_AUDIT_HEAD_FILE);
    ENSURE(k > 0 && (size_t)k < sizeof(head), err, SB_E_USAGE, "state dir path too long");
    sb_audit_cfg cfg = {.signer = &m->audit_signer,
                        .head_file = head,
                        .checkpoint_every = m->cfg.audit_checkpoint_every};
    if (m->cfg.audit_tcti) {
        m->audit_tpm.tcti = m->cfg.audit_tcti;
        m->audit_tpm.index =
            m->cfg.audit_nv_index ? m->cfg.audit_nv_index : SB_TPM_NV_COUNTER_DEFAULT;
        m->audit_counter.read = counter_read;
        m->audit_counter.increment = counter_increment;
        m->audit_counter.arg = &m->audit_tpm;
        (void)snprintf(m->audit_counter.name, sizeof(m->audit_counter.name),
                       "TPM NV counter 0x%08x", m->audit_tpm.index);
        cfg.counter = &m->audit_counter;
    }
    int r = sb_audit_open(m->store, &cfg, &m->audit, err);
    if (r < 0) return sb_error_prefix(err, "audit log");
    m->audit_ckpt_ns = sb_mono_ns();
    return 0;
}

void sb_monitor_audit_close(sb_monitor *m) {
    sb_audit_close(m->audit);
    m->audit = NULL;
    sb_audit_key_free(m->audit_key);
    m->audit_key = NULL;
}

void sb_monitor_audit(sb_monitor *m, json_t *record) {
    if (!m->audit) {
        json_decref(record);
        return;
    }
    sb_error e = {0};
    int r = record ? sb_audit_append(m->audit, record, NULL, &e)
                   : sb_error_set(&e, SB_E_INTERNAL, "cannot build the record");
    json_decref(record);
    if (r < 0) sb_logf(m->cfg.log, SB_LOG_ERROR, "audit: %s", e.msg);
}

void sb_monitor_audit_checkpoint(sb_monitor *m, bool force) {
    if (!m->audit) return;
    uint64_t now = sb_mono_ns();
    /* On the timer it checkpoints even when this process appended nothing: other writers of the
     * store (`sealbox admin`, a gateway running outside the daemon) append without a key, and
     * their records are signed here. A head that is already signed costs one read. */
    if (!force && now - m->audit_ckpt_ns < (uint64_t)AUDIT_CHECKPOINT_SECONDS * 1000000000u) return;
    m->audit_ckpt_ns = now;
    sb_error e = {0};
    if (sb_audit_checkpoint(m->audit, &e) < 0)
        sb_logf(m->cfg.log, SB_LOG_ERROR, "audit checkpoint: %s", e.msg);
}

static const char *action_of(uint16_t type) {
    switch (type) {
    case SB_IPC_SBX_CREATE: return "sandbox.create";
    case SB_IPC_SBX_DELETE: return "sandbox.delete";
    case SB_IPC_SBX_STANDBY: return "sandbox.standby";
    case SB_IPC_SBX_RESUME: return "sandbox.resume";
    case SB_IPC_SBX_EXEC: return "sandbox.exec";
    case SB_IPC_PROC_SIGNAL: return "process.signal";
    case SB_IPC_PROC_STDIN: return "process.stdin";
    case SB_IPC_FILE_PUT: return "file.put";
    case SB_IPC_FILE_MKDIR: return "file.mkdir";
    case SB_IPC_FILE_DELETE: return "file.delete";
    default: return NULL;
    }
}

static json_t *str_of(const sb_ipc_str *s) { return json_stringn((const char *)s->p, s->len); }

/* SHA-256 over the length-prefixed arguments: which command ran, without keeping arguments that
 * may hold secrets. */
static json_t *argv_digest(const sb_ipc_val *v) {
    sb_hash_ctx *c = NULL;
    sb_error e = {0};
    if (sb_hash_ctx_new(SB_HASH_SHA256, &c, &e) < 0) return NULL;
    int r = 0;
    for (size_t i = 0; r == 0 && i < v->count; i++) {
        uint8_t len[4] = {(uint8_t)(v->list[i].len >> 24), (uint8_t)(v->list[i].len >> 16),
                          (uint8_t)(v->list[i].len >> 8), (uint8_t)v->list[i].len};
        r = sb_hash_ctx_update(c, len, sizeof(len), &e);
        if (r == 0) r = sb_hash_ctx_update(c, v->list[i].p, v->list[i].len, &e);
    }
    uint8_t h[32];
    if (r == 0) r = sb_hash_ctx_final(c, h, &e);
    sb_hash_ctx_free(c);
    if (r < 0) return NULL;
    char hex[65];
    sb_hex_encode(h, sizeof(h), hex);
    char out[80];
    (void)snprintf(out, sizeof(out), "sha256:%s", hex);
    return json_string(out);
}

void sb_monitor_audit_msg(sb_monitor *m, const sb_ipc_msg *msg, const sb_tenant *t, bool authed,
                          const sb_reply *rep, uint64_t latency_us) {
    const char *action = action_of(msg->type);
    if (!action || !m->audit) return;
    json_t *j = json_pack("{s:s, s:s, s:I}", "kind", "api", "action", action, "latency_us",
                          (json_int_t)latency_us);
    if (!j) {
        sb_monitor_audit(m, NULL);
        return;
    }
    (void)json_object_set_new(j, "tenant", authed && t ? json_string(t->name) : json_null());
    /* 0: answered later (an exec replies when its command ends). */
    (void)json_object_set_new(j, "status", json_integer(rep->status));
    if (rep->status == 401) (void)json_object_set_new(j, "decision", json_string("deny"));
    if (msg->type == SB_IPC_SBX_CREATE) {
        (void)json_object_set_new(j, "image", str_of(&msg->f[1].s));
        json_t *body = rep->status == 201
                           ? json_loadb((const char *)rep->body.buf, rep->body.len, 0, NULL)
                           : NULL;
        json_t *id = json_object_get(body, "id");
        if (json_is_string(id)) (void)json_object_set(j, "sandbox", id);
        json_decref(body);
    } else {
        (void)json_object_set_new(j, "sandbox", str_of(&msg->f[1].s));
    }
    if (msg->type == SB_IPC_FILE_PUT || msg->type == SB_IPC_FILE_MKDIR ||
        msg->type == SB_IPC_FILE_DELETE)
        (void)json_object_set_new(j, "path", str_of(&msg->f[2].s));
    if (msg->type == SB_IPC_PROC_SIGNAL || msg->type == SB_IPC_PROC_STDIN)
        (void)json_object_set_new(j, "process", json_integer((json_int_t)msg->f[2].u));
    if (msg->type == SB_IPC_SBX_EXEC && msg->f[2].count > 0) {
        (void)json_object_set_new(j, "command", str_of(&msg->f[2].list[0]));
        json_t *d = argv_digest(&msg->f[2]);
        if (d) (void)json_object_set_new(j, "args_digest", d);
    }
    sb_monitor_audit(m, j);
}
