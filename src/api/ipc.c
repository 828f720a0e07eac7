/* ipc: the typed messages between the front and the monitor. One schema table says, for each
 * type, which fields come in which order and how long each may be; decode and encode obey it. */
#include <stdio.h>
#include <string.h>

#include "api.h"

struct field_spec {
    enum sb_ipc_kind kind;
    uint32_t max;       /* str/bytes: bytes; strlist: bytes of one item */
    uint16_t max_count; /* strlist */
    const char *name;
};

struct type_spec {
    const char *name;
    bool from_front;
    size_t n;
    struct field_spec f[SB_IPC_FIELDS_MAX];
};

#define CRED \
    { SB_IPC_STR, SB_IPC_CRED_MAX, 0, "credential" }
#define SBXID \
    { SB_IPC_STR, SB_IPC_ID_MAX, 0, "sandbox id" }
#define PROCID \
    { SB_IPC_U32, 0, 0, "process" }
#define GWF(n) \
    { SB_IPC_STR, SB_IPC_GW_FIELD_MAX, 0, n }
#define FPATH \
    { SB_IPC_STR, SB_IPC_PATH_MAX, 0, "path" }

static const struct type_spec SPECS[SB_IPC_TYPE_MAX] = {
    [SB_IPC_LOG] = {"log",
                    true,
                    2,
                    {{SB_IPC_U8, 0, 0, "level"}, {SB_IPC_STR, SB_IPC_LOG_MAX, 0, "text"}}},
    [SB_IPC_HEALTH] = {"health", true, 0, {{0}}},
    [SB_IPC_METRICS] = {"metrics", true, 1, {CRED}},
    [SB_IPC_TENANT] = {"tenant", true, 1, {CRED}},
    [SB_IPC_SBX_LIST] = {"sbx_list",
                         true,
                         5,
                         {CRED,
                          {SB_IPC_STR, SB_IPC_ID_MAX, 0, "after"},
                          {SB_IPC_U32, 0, 0, "limit"},
                          {SB_IPC_U8, 0, 0, "all"},
                          {SB_IPC_STRLIST, SB_IPC_KV_MAX, 16, "metadata filter"}}},
    [SB_IPC_SBX_GET] = {"sbx_get", true, 2, {CRED, SBXID}},
    [SB_IPC_SBX_CREATE] = {"sbx_create",
                           true,
                           9,
                           {CRED,
                            {SB_IPC_STR, SB_IPC_IMAGE_MAX, 0, "image"},
                            {SB_IPC_U32, 0, 0, "memory_mb"},
                            {SB_IPC_U32, 0, 0, "cpu_millis"},
                            {SB_IPC_U32, 0, 0, "timeout_s"},
                            {SB_IPC_U32, 0, 0, "idle_standby_s"},
                            {SB_IPC_STRLIST, SB_IPC_KV_MAX, SB_IPC_LIST_MAX, "env"},
                            {SB_IPC_STRLIST, SB_IPC_KV_MAX, 32, "metadata"},
                            {SB_IPC_STRLIST, SB_IPC_SECRET_MAX, 32, "secrets"}}},
    [SB_IPC_SBX_DELETE] = {"sbx_delete", true, 2, {CRED, SBXID}},
    [SB_IPC_SBX_STANDBY] = {"sbx_standby", true, 2, {CRED, SBXID}},
    [SB_IPC_SBX_RESUME] = {"sbx_resume", true, 2, {CRED, SBXID}},
    [SB_IPC_SBX_LOG] = {"sbx_log", true, 2, {CRED, SBXID}},
    [SB_IPC_SBX_EXEC] = {"sbx_exec",
                         true,
                         8,
                         {CRED,
                          SBXID,
                          {SB_IPC_STRLIST, SB_IPC_ARG_MAX, SB_IPC_LIST_MAX, "argv"},
                          {SB_IPC_STRLIST, SB_IPC_KV_MAX, SB_IPC_LIST_MAX, "env"},
                          {SB_IPC_STR, SB_IPC_PATH_MAX, 0, "cwd"},
                          {SB_IPC_BYTES, SB_IPC_STDIN_MAX, 0, "stdin"},
                          {SB_IPC_U32, 0, 0, "timeout_s"},
                          {SB_IPC_U8, 0, 0, "mode"}}},
    [SB_IPC_STREAM_ACK] = {"stream_ack", true, 1, {{SB_IPC_U32, 0, 0, "bytes"}}},
    [SB_IPC_STREAM_CLOSE] = {"stream_close", true, 0, {{0}}},
    [SB_IPC_PROC_LIST] = {"proc_list", true, 2, {CRED, SBXID}},
    [SB_IPC_PROC_GET] = {"proc_get", true, 3, {CRED, SBXID, PROCID}},
    [SB_IPC_PROC_SIGNAL] = {"proc_signal",
                            true,
                            4,
                            {CRED, SBXID, PROCID, {SB_IPC_U8, 0, 0, "signal"}}},
    [SB_IPC_PROC_STDIN] = {"proc_stdin",
                           true,
                           5,
                           {CRED,
                            SBXID,
                            PROCID,
                            {SB_IPC_BYTES, SB_IPC_STDIN_MAX, 0, "data"},
                            {SB_IPC_U8, 0, 0, "eof"}}},
    [SB_IPC_PROC_OUTPUT] = {"proc_output", true, 3, {CRED, SBXID, PROCID}},
    [SB_IPC_FILE_GET] = {"file_get", true, 3, {CRED, SBXID, FPATH}},
    [SB_IPC_FILE_PUT] = {"file_put", true, 4, {CRED, SBXID, FPATH, {SB_IPC_U64, 0, 0, "size"}}},
    [SB_IPC_FILE_DATA] =
        {"file_data",
         true,
         4,
         {CRED, SBXID, {SB_IPC_BYTES, SB_IPC_UPLOAD_CHUNK, 0, "data"}, {SB_IPC_U8, 0, 0, "last"}}},
    [SB_IPC_FILE_LIST] = {"file_list", true, 3, {CRED, SBXID, FPATH}},
    [SB_IPC_FILE_MKDIR] = {"file_mkdir",
                           true,
                           4,
                           {CRED, SBXID, FPATH, {SB_IPC_U8, 0, 0, "parents"}}},
    [SB_IPC_FILE_DELETE] = {"file_delete", true, 3, {CRED, SBXID, FPATH}},
    [SB_IPC_STREAM_START] = {"stream_start",
                             false,
                             3,
                             {{SB_IPC_U16, 0, 0, "status"},
                              {SB_IPC_U8, 0, 0, "kind"},
                              {SB_IPC_U64, 0, 0, "length"}}},
    [SB_IPC_STREAM_EVENT] = {"stream_event",
                             false,
                             2,
                             {{SB_IPC_U8, 0, 0, "event"},
                              {SB_IPC_BYTES, SB_IPC_CHUNK_MAX, 0, "data"}}},
    [SB_IPC_STREAM_END] = {"stream_end", false, 0, {{0}}},
    [SB_IPC_KBS_ATTEST] = {"kbs_attest",
                           true,
                           3,
                           {{SB_IPC_STR, SB_IPC_KBS_TEE_MAX, 0, "tee"},
                            {SB_IPC_BYTES, SB_IPC_KBS_CLAIMS_MAX, 0, "claims"},
                            {SB_IPC_BYTES, SB_IPC_KBS_RUNTIME_MAX, 0, "runtime data"}}},
    [SB_IPC_KBS_RESOURCE] = {"kbs_resource",
                             true,
                             2,
                             {{SB_IPC_STR, SB_IPC_KBS_TOKEN_MAX, 0, "token"},
                              {SB_IPC_STR, SB_IPC_KBS_PATH_MAX, 0, "path"}}},
    [SB_IPC_KBS_ADMIN] = {"kbs_admin",
                          true,
                          4,
                          {CRED,
                           {SB_IPC_U8, 0, 0, "op"},
                           {SB_IPC_STR, SB_IPC_KBS_PATH_MAX, 0, "path"},
                           {SB_IPC_BYTES, SB_IPC_KBS_BODY_MAX, 0, "body"}}},
    [SB_IPC_REPLY] = {"reply",
                      false,
                      3,
                      {{SB_IPC_U16, 0, 0, "status"},
                       {SB_IPC_U8, 0, 0, "content type"},
                       {SB_IPC_BYTES, SB_IPC_BODY_MAX, 0, "body"}}},
    [SB_IPC_SHUTDOWN] = {"shutdown", false, 0, {{0}}},
    [SB_IPC_GW_CONFIG] = {"gw_config", true, 0, {{0}}},
    [SB_IPC_GW_SPAWN] = {"gw_spawn", true, 1, {{SB_IPC_STR, 32, 0, "server"}}},
    [SB_IPC_GW_STOP] = {"gw_stop", true, 1, {{SB_IPC_U64, 0, 0, "handle"}}},
    [SB_IPC_GW_PIN_GET] = {"gw_pin_get",
                           true,
                           4,
                           {GWF("server"), GWF("kind"), GWF("name"), GWF("digest")}},
    [SB_IPC_GW_PIN_NAME] = {"gw_pin_name", true, 3, {GWF("server"), GWF("kind"), GWF("name")}},
    [SB_IPC_GW_PIN_INSERT] = {"gw_pin_insert",
                              true,
                              6,
                              {GWF("server"),
                               GWF("kind"),
                               GWF("name"),
                               GWF("digest"),
                               {SB_IPC_BYTES, SB_IPC_GW_CANON_MAX, 0, "canon"},
                               {SB_IPC_U8, 0, 0, "approved"}}},
    [SB_IPC_GW_AUDIT] = {"gw_audit", true, 1, {{SB_IPC_BYTES, SB_IPC_GW_RECORD_MAX, 0, "record"}}},
    [SB_IPC_GW_REPLY] = {"gw_reply",
                         false,
                         4,
                         {{SB_IPC_U32, 0, 0, "code"},
                          {SB_IPC_U64, 0, 0, "a"},
                          {SB_IPC_U64, 0, 0, "b"},
                          {SB_IPC_BYTES, SB_IPC_BODY_MAX, 0, "body"}}},
};

static const struct type_spec *spec_of(uint16_t type) {
    if (type >= SB_IPC_TYPE_MAX || !SPECS[type].name) return NULL;
    return &SPECS[type];
}

const char *sb_ipc_type_name(uint16_t type) {
    const struct type_spec *s = spec_of(type);
    return s ? s->name : NULL;
}

bool sb_ipc_from_front(uint16_t type) {
    const struct type_spec *s = spec_of(type);
    return s && s->from_front;
}

sb_ipc_val sb_ipc_u(uint64_t v) { return (sb_ipc_val){.u = v}; }
sb_ipc_val sb_ipc_s(const char *s) {
    return (sb_ipc_val){.s = {(const uint8_t *)s, s ? strlen(s) : 0}};
}
sb_ipc_val sb_ipc_b(const void *p, size_t n) { return (sb_ipc_val){.s = {p, n}}; }

/* Text fields carry names, ids, paths and arguments: no NUL (they become C strings) and no
 * control characters (they end up in logs and JSON). */
static bool text_ok(const uint8_t *p, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (p[i] == 0x7f || (p[i] < 0x20 && p[i] != '\t')) return false;
    return true;
}

static uint64_t kind_max(enum sb_ipc_kind k) {
    switch (k) {
    case SB_IPC_U8: return UINT8_MAX;
    case SB_IPC_U16: return UINT16_MAX;
    case SB_IPC_U32: return UINT32_MAX;
    default: return UINT64_MAX;
    }
}

static int read_str(sb_reader *r, const struct field_spec *fs, bool text, sb_ipc_str *out,
                    const char *what) {
    sb_reader sub;
    TRY(sb_reader_sub_u32le(r, fs->max, &sub, what));
    const uint8_t *p = NULL;
    TRY(sb_reader_bytes(&sub, sub.len, &p, what));
    if (text && !text_ok(p, sub.len))
        BAIL(r->err, SB_E_MALFORMED, "ipc: %s (offset %zu): control character in text", what,
             sb_reader_offset(&sub) - sub.len);
    out->p = p;
    out->len = sub.len;
    return 0;
}

int sb_ipc_decode(const uint8_t *p, size_t n, sb_ipc_msg *out, sb_error *err) {
    sb_reader r;
    sb_reader_init(&r, p, n, "ipc", err);
    ENSURE(n <= SB_IPC_MSG_MAX, err, SB_E_LIMIT, "ipc: message of %zu bytes (max %u)", n,
           SB_IPC_MSG_MAX);
    uint16_t type = 0, flags = 0;
    uint32_t id = 0;
    TRY(sb_reader_u16le(&r, &type, "type"));
    TRY(sb_reader_u16le(&r, &flags, "flags"));
    TRY(sb_reader_u32le(&r, &id, "request id"));
    const struct type_spec *ts = spec_of(type);
    ENSURE(ts, err, SB_E_MALFORMED, "ipc: unknown message type %u", type);
    ENSURE(flags == 0, err, SB_E_MALFORMED, "ipc: %s: flags 0x%x must be 0", ts->name, flags);
    out->type = type;
    out->id = id;
    out->nfields = ts->n;
    for (size_t i = 0; i < ts->n; i++) {
        const struct field_spec *fs = &ts->f[i];
        sb_ipc_val *v = &out->f[i];
        memset(v, 0, sizeof(*v));
        char what[96];
        (void)snprintf(what, sizeof(what), "%s.%s", ts->name, fs->name);
        switch (fs->kind) {
        case SB_IPC_U8: {
            uint8_t x;
            TRY(sb_reader_u8(&r, &x, what));
            v->u = x;
            break;
        }
        case SB_IPC_U16: {
            uint16_t x;
            TRY(sb_reader_u16le(&r, &x, what));
            v->u = x;
            break;
        }
        case SB_IPC_U32: {
            uint32_t x;
            TRY(sb_reader_u32le(&r, &x, what));
            v->u = x;
            break;
        }
        case SB_IPC_U64: TRY(sb_reader_u64le(&r, &v->u, what)); break;
        case SB_IPC_STR: TRY(read_str(&r, fs, true, &v->s, what)); break;
        case SB_IPC_BYTES: TRY(read_str(&r, fs, false, &v->s, what)); break;
        case SB_IPC_STRLIST: {
            uint16_t count;
            TRY(sb_reader_u16le(&r, &count, what));
            ENSURE(count <= fs->max_count && count <= SB_IPC_LIST_MAX, err, SB_E_LIMIT,
                   "ipc: %s: %u items (max %u)", what, count, fs->max_count);
            for (uint16_t k = 0; k < count; k++)
                TRY(read_str(&r, fs, true, &out->lists[i][k], what));
            v->count = count;
            v->list = out->lists[i];
            break;
        }
        default: BAIL(err, SB_E_INTERNAL, "ipc: bad schema for %s", what);
        }
    }
    return sb_reader_end(&r, ts->name);
}

static int check_str(const struct field_spec *fs, const sb_ipc_str *s, bool text, sb_error *err,
                     const char *tname) {
    ENSURE(s->len <= fs->max, err, SB_E_LIMIT, "ipc: %s.%s: %zu bytes (max %u)", tname, fs->name,
           s->len, fs->max);
    ENSURE(s->len == 0 || s->p, err, SB_E_USAGE, "ipc: %s.%s: no data", tname, fs->name);
    ENSURE(!text || text_ok(s->p, s->len), err, SB_E_MALFORMED,
           "ipc: %s.%s: control character in text", tname, fs->name);
    return 0;
}

static void put_str(sb_writer *w, const sb_ipc_str *s) {
    (void)sb_writer_u32le(w, (uint32_t)s->len);
    if (s->len) (void)sb_writer_bytes(w, s->p, s->len);
}

int sb_ipc_encode(sb_writer *w, uint16_t type, uint32_t id, const sb_ipc_val *vals, size_t n,
                  sb_error *err) {
    const struct type_spec *ts = spec_of(type);
    ENSURE(ts, err, SB_E_USAGE, "ipc: unknown message type %u", type);
    ENSURE(n == ts->n, err, SB_E_USAGE, "ipc: %s takes %zu fields, got %zu", ts->name, ts->n, n);
    (void)sb_writer_u16le(w, type);
    (void)sb_writer_u16le(w, 0);
    (void)sb_writer_u32le(w, id);
    for (size_t i = 0; i < n; i++) {
        const struct field_spec *fs = &ts->f[i];
        const sb_ipc_val *v = &vals[i];
        switch (fs->kind) {
        case SB_IPC_U8:
        case SB_IPC_U16:
        case SB_IPC_U32:
        case SB_IPC_U64:
            ENSURE(v->u <= kind_max(fs->kind), err, SB_E_LIMIT, "ipc: %s.%s: %llu out of range",
                   ts->name, fs->name, (unsigned long long)v->u);
            if (fs->kind == SB_IPC_U8) (void)sb_writer_u8(w, (uint8_t)v->u);
            if (fs->kind == SB_IPC_U16) (void)sb_writer_u16le(w, (uint16_t)v->u);
            if (fs->kind == SB_IPC_U32) (void)sb_writer_u32le(w, (uint32_t)v->u);
            if (fs->kind == SB_IPC_U64) (void)sb_writer_u64le(w, v->u);
            break;
        case SB_IPC_STR:
        case SB_IPC_BYTES:
            TRY(check_str(fs, &v->s, fs->kind == SB_IPC_STR, err, ts->name));
            put_str(w, &v->s);
            break;
        case SB_IPC_STRLIST:
            ENSURE(v->count <= fs->max_count && v->count <= SB_IPC_LIST_MAX, err, SB_E_LIMIT,
                   "ipc: %s.%s: %zu items (max %u)", ts->name, fs->name, v->count, fs->max_count);
            (void)sb_writer_u16le(w, (uint16_t)v->count);
            for (size_t k = 0; k < v->count; k++) {
                TRY(check_str(fs, &v->list[k], true, err, ts->name));
                put_str(w, &v->list[k]);
            }
            break;
        default: BAIL(err, SB_E_INTERNAL, "ipc: bad schema for %s", ts->name);
        }
    }
    int st = sb_writer_status(w);
    if (st == SB_E_LIMIT)
        BAIL(err, SB_E_LIMIT, "ipc: %s: message over %u bytes", ts->name, SB_IPC_MSG_MAX);
    if (st < 0) BAIL(err, st, "ipc: %s: cannot encode", ts->name);
    return 0;
}

int sb_ipc_str_copy(const sb_ipc_str *s, char *buf, size_t cap, sb_error *err, const char *field) {
    ENSURE(cap > 0 && s->len < cap, err, SB_E_LIMIT, "ipc: %s: %zu bytes (max %zu)", field, s->len,
           cap ? cap - 1 : 0);
    sb_reader r;
    sb_reader_init(&r, s->p, s->len, "ipc", err);
    if (s->len) TRY(sb_reader_copy(&r, buf, s->len, field));
    buf[s->len] = '\0';
    return 0;
}
