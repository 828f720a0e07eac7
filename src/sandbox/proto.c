/* proto: the typed, size-checked frames between the host and sealbox-init. The parser reads
 * every field through sb_reader and checks every count against a named limit first. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sandbox.h"

static int read_str(sb_reader *r, char **out, const char *field) {
    sb_reader s;
    TRY(sb_reader_sub_u32le(r, SB_SANDBOX_MAX_STR, &s, field));
    const uint8_t *p;
    size_t n = sb_reader_remaining(&s);
    TRY(sb_reader_bytes(&s, n, &p, field));
    for (size_t i = 0; i < n; i++)
        if (p[i] == 0)
            return sb_error_set(r->err, SB_E_MALFORMED, "%s: %s holds a NUL byte (offset 0x%zx)",
                                r->what, field, sb_reader_offset(r) - n + i);
    char *c = malloc(n + 1);
    if (!c) return sb_error_set(r->err, SB_E_INTERNAL, "%s: out of memory", r->what);
    for (size_t i = 0; i < n; i++)
        c[i] = (char)p[i];
    c[n] = 0;
    *out = c;
    return 0;
}

static void free_strv(char **v) {
    if (!v) return;
    for (size_t i = 0; v[i]; i++)
        free(v[i]);
    free(v);
}

static int read_strv(sb_reader *r, size_t max, char ***out, size_t *count, const char *field) {
    uint16_t n;
    TRY(sb_reader_u16le(r, &n, field));
    if (n > max)
        return sb_error_set(r->err, SB_E_LIMIT, "%s: %s count %u is over the limit %zu", r->what,
                            field, n, max);
    char **v = calloc((size_t)n + 1, sizeof(char *));
    if (!v) return sb_error_set(r->err, SB_E_INTERNAL, "%s: out of memory", r->what);
    for (size_t i = 0; i < n; i++) {
        int rc = read_str(r, &v[i], field);
        if (rc < 0) {
            free_strv(v);
            return rc;
        }
    }
    *out = v;
    *count = n;
    return 0;
}

static void free_secrets(struct sb_msg_secrets *s) {
    for (size_t i = 0; s->v && i < s->count; i++) {
        free(s->v[i].path);
        free(s->v[i].target);
    }
    free(s->v);
    memset(s, 0, sizeof(*s));
}

void sb_msg_free(struct sb_msg *m) {
    if (!m) return;
    free_secrets(&m->secrets);
    free(m->str);
    m->str = NULL;
    free_strv(m->exec.argv);
    free_strv(m->exec.env);
    free((char *)m->exec.workdir);
    memset(&m->exec, 0, sizeof(m->exec));
}

static int parse_exec(sb_reader *r, struct sb_msg_exec *e) {
    uint8_t tty;
    TRY(sb_reader_u8(r, &tty, "exec.tty"));
    if (tty > 1) return sb_error_set(r->err, SB_E_MALFORMED, "%s: exec.tty is %u", r->what, tty);
    e->tty = tty;
    TRY(sb_reader_u16le(r, &e->rows, "exec.rows"));
    TRY(sb_reader_u16le(r, &e->cols, "exec.cols"));
    char *wd = NULL;
    TRY(read_str(r, &wd, "exec.workdir"));
    e->workdir = wd;
    if (wd[0] != '/')
        return sb_error_set(r->err, SB_E_MALFORMED, "%s: exec.workdir is not absolute", r->what);
    TRY(read_strv(r, SB_SANDBOX_MAX_ARGS, &e->argv, &e->argc, "exec.argv"));
    if (e->argc == 0)
        return sb_error_set(r->err, SB_E_MALFORMED, "%s: exec.argv is empty", r->what);
    TRY(read_strv(r, SB_SANDBOX_MAX_ENV, &e->env, &e->envc, "exec.env"));
    return 0;
}

static bool env_name_ok(const char *s) {
    if (!((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z') || *s == '_')) return false;
    for (; *s; s++)
        if (!((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') ||
              *s == '_'))
            return false;
    return true;
}

/* repo/type/tag: three non-empty segments of [A-Za-z0-9._-], none "." or ".." (the KBS's
 * own rule, sb_store_kbs_path_valid; repeated here because sealbox-init links no store). */
bool sb_secret_path_valid(const char *p) {
    size_t segs = 1, seg = 0, n = strlen(p);
    if (n == 0 || n > SB_PROTO_MAX_SECRET_PATH) return false;
    for (size_t i = 0; i <= n; i++) {
        char c = p[i];
        if (c == '/' || c == 0) {
            if (seg == 0 || (seg == 1 && p[i - 1] == '.') ||
                (seg == 2 && p[i - 1] == '.' && p[i - 2] == '.'))
                return false;
            segs += c == '/';
            seg = 0;
        } else if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                   c == '.' || c == '_' || c == '-') {
            seg++;
        } else {
            return false;
        }
    }
    return segs == 3;
}

int sb_secret_spec_check(const struct sb_secret_spec *s, sb_error *err) {
    ENSURE(s->path && sb_secret_path_valid(s->path), err, SB_E_MALFORMED,
           "secret: path '%.200s' is not repo/type/tag ([A-Za-z0-9._-], at most %u bytes)",
           s->path ? s->path : "", SB_PROTO_MAX_SECRET_PATH);
    ENSURE(s->target && strlen(s->target) <= SB_PROTO_MAX_TARGET, err, SB_E_LIMIT,
           "secret %s: the target is missing or over %u bytes", s->path, SB_PROTO_MAX_TARGET);
    if (s->kind == SB_SECRET_ENV) {
        ENSURE(env_name_ok(s->target), err, SB_E_MALFORMED,
               "secret %s: env '%.200s' is not a variable name ([A-Za-z_][A-Za-z0-9_]*)", s->path,
               s->target);
        return 0;
    }
    ENSURE(s->kind == SB_SECRET_FILE, err, SB_E_MALFORMED, "secret %s: kind %u is unknown", s->path,
           s->kind);
    const char *t = s->target;
    ENSURE(t[0] == '/' && t[1] != 0, err, SB_E_MALFORMED,
           "secret %s: file '%.200s' is not an absolute file path", s->path, t);
    for (const char *seg = t + 1; *seg;) {
        const char *e = strchr(seg, '/');
        size_t n = e ? (size_t)(e - seg) : strlen(seg);
        ENSURE(n > 0 && !(n == 1 && seg[0] == '.') && !(n == 2 && seg[0] == '.' && seg[1] == '.'),
               err, SB_E_MALFORMED, "secret %s: file '%.200s' has an empty, '.' or '..' segment",
               s->path, t);
        if (!e) break;
        seg = e + 1;
        ENSURE(*seg, err, SB_E_MALFORMED, "secret %s: file '%.200s' ends with '/'", s->path, t);
    }
    return 0;
}

/* Reads n bytes of r as a NUL-free, NUL-terminated string (allocated). */
static int read_text(sb_reader *r, size_t n, char **out, const char *field) {
    const uint8_t *p;
    TRY(sb_reader_bytes(r, n, &p, field));
    char *s = malloc(n + 1);
    if (!s) return sb_error_set(r->err, SB_E_INTERNAL, "%s: out of memory", r->what);
    for (size_t i = 0; i < n; i++) {
        if (!p[i]) {
            free(s);
            return sb_error_set(r->err, SB_E_MALFORMED, "%s: %s has a NUL byte at offset %zu",
                                r->what, field, sb_reader_offset(r) - n + i);
        }
        s[i] = (char)p[i];
    }
    s[n] = 0;
    *out = s;
    return 0;
}

int sb_secret_spec_parse(const uint8_t *p, size_t n, struct sb_secret_spec *out, sb_error *err) {
    memset(out, 0, sizeof(*out));
    sb_reader r;
    sb_reader_init(&r, p, n, "secret", err);
    ENSURE(n <= SB_PROTO_MAX_SECRET_PATH + 5 + SB_PROTO_MAX_TARGET, err, SB_E_LIMIT,
           "secret: %zu bytes is over the limit %u", n,
           SB_PROTO_MAX_SECRET_PATH + 5 + SB_PROTO_MAX_TARGET);
    /* the path: up to the first ':' (a path never holds one) */
    size_t pl = 0;
    uint8_t ch = 0;
    sb_reader scan = r;
    while (sb_reader_remaining(&scan) && sb_reader_u8(&scan, &ch, "path") == 0 && ch != ':')
        pl++;
    ENSURE(pl <= SB_PROTO_MAX_SECRET_PATH, err, SB_E_LIMIT,
           "secret: the path (offset 0) is over %u bytes", SB_PROTO_MAX_SECRET_PATH);
    int rc = read_text(&r, pl, &out->path, "path");
    if (rc == 0 && sb_reader_remaining(&r) == 0) {
        out->kind = SB_SECRET_FILE;
        size_t tl = pl + sizeof("/run/secrets/");
        out->target = malloc(tl);
        if (!out->target)
            rc = sb_error_set(err, SB_E_INTERNAL, "secret: out of memory");
        else
            (void)snprintf(out->target, tl, "/run/secrets/%s", out->path);
    } else if (rc == 0) {
        const uint8_t *kw = NULL;
        sb_reader peek = r;
        size_t left = sb_reader_remaining(&r);
        if (left >= 6 && sb_reader_bytes(&peek, 6, &kw, "kind") == 0 &&
            memcmp(kw, ":file=", 6) == 0) {
            out->kind = SB_SECRET_FILE;
            rc = sb_reader_skip(&r, 6, "kind");
        } else if (left >= 5 && (peek = r, sb_reader_bytes(&peek, 5, &kw, "kind")) == 0 &&
                   memcmp(kw, ":env=", 5) == 0) {
            out->kind = SB_SECRET_ENV;
            rc = sb_reader_skip(&r, 5, "kind");
        } else {
            rc = sb_error_set(err, SB_E_MALFORMED,
                              "secret: at offset %zu: not ':file=PATH' or ':env=NAME' "
                              "(repo/type/tag[:file=PATH|:env=NAME])",
                              pl);
        }
        if (rc == 0) rc = read_text(&r, sb_reader_remaining(&r), &out->target, "target");
    }
    if (rc == 0) rc = sb_secret_spec_check(out, err);
    if (rc < 0) sb_secret_spec_clear(out);
    return rc;
}

void sb_secret_spec_clear(struct sb_secret_spec *s) {
    free(s->path);
    free(s->target);
    s->path = s->target = NULL;
}

static int parse_secrets(sb_reader *r, struct sb_msg_secrets *out) {
    uint16_t n;
    TRY(sb_reader_u16le(r, &n, "secrets.count"));
    if (n == 0 || n > SB_PROTO_MAX_SECRETS)
        return sb_error_set(r->err, SB_E_LIMIT, "%s: secrets.count %u is not in 1..%u", r->what, n,
                            SB_PROTO_MAX_SECRETS);
    out->v = calloc(n, sizeof(*out->v));
    if (!out->v) return sb_error_set(r->err, SB_E_INTERNAL, "%s: out of memory", r->what);
    for (size_t i = 0; i < n; i++) {
        struct sb_secret_spec *s = &out->v[i];
        out->count = i + 1;
        TRY(read_str(r, &s->path, "secrets.path"));
        TRY(sb_reader_u8(r, &s->kind, "secrets.kind"));
        TRY(read_str(r, &s->target, "secrets.target"));
        sb_error e = {0};
        if (sb_secret_spec_check(s, &e) < 0)
            return sb_error_set(r->err, SB_E_MALFORMED, "%s: secrets[%zu]: %s", r->what, i, e.msg);
    }
    return 0;
}

/* A bounded string (u32le length) that must fit max bytes. */
static int read_str_max(sb_reader *r, size_t max, char **out, const char *field) {
    TRY(read_str(r, out, field));
    if (strlen(*out) > max)
        return sb_error_set(r->err, SB_E_LIMIT, "%s: %s is over %zu bytes", r->what, field, max);
    return 0;
}

static int read_rest(sb_reader *r, struct sb_msg *m) {
    m->data_len = sb_reader_remaining(r);
    return sb_reader_bytes(r, m->data_len, &m->data, "rest");
}

static int read_flag(sb_reader *r, uint32_t *out, const char *field) {
    uint8_t v;
    TRY(sb_reader_u8(r, &v, field));
    if (v > 1) return sb_error_set(r->err, SB_E_MALFORMED, "%s: %s is %u", r->what, field, v);
    *out = v;
    return 0;
}

static int parse_relay(sb_reader *r, struct sb_msg *m) {
    switch (m->type) {
    case SB_MSG_SECRETS: return parse_secrets(r, &m->secrets);
    case SB_MSG_CONTEXT_REQ: return 0;
    case SB_MSG_SECRETS_DONE:
    case SB_MSG_EVIDENCE: TRY(read_flag(r, &m->u32, "ok")); return read_rest(r, m);
    case SB_MSG_CONTEXT:
        TRY(read_flag(r, &m->u32, "ok"));
        TRY(read_str_max(r, SB_PROTO_MAX_TEE, &m->str, "context.tee"));
        return read_rest(r, m);
    case SB_MSG_KBS_REQ: {
        uint8_t meth;
        TRY(sb_reader_u8(r, &meth, "kbs.method"));
        if (meth != SB_KBS_GET && meth != SB_KBS_POST)
            return sb_error_set(r->err, SB_E_MALFORMED, "%s: kbs.method %u is unknown", r->what,
                                meth);
        m->u32 = meth;
        TRY(read_str_max(r, SB_PROTO_MAX_ROUTE, &m->str, "kbs.route"));
        return read_rest(r, m);
    }
    case SB_MSG_KBS_RESP: {
        uint16_t st;
        TRY(sb_reader_u16le(r, &st, "kbs.status"));
        if (st > 599)
            return sb_error_set(r->err, SB_E_MALFORMED, "%s: kbs.status %u is not an HTTP status",
                                r->what, st);
        m->u32 = st;
        return read_rest(r, m);
    }
    case SB_MSG_EVIDENCE_REQ: return read_rest(r, m);
    default:
        return sb_error_set(r->err, SB_E_MALFORMED, "proto: message type %u is unknown", m->type);
    }
}

int sb_msg_parse(const uint8_t *frame, size_t len, struct sb_msg *out, sb_error *err) {
    if (len > SB_PROTO_MAX_FRAME)
        return sb_error_set(err, SB_E_LIMIT, "proto: frame of %zu bytes is over the limit %u", len,
                            SB_PROTO_MAX_FRAME);
    sb_reader r;
    sb_reader_init(&r, frame, len, "proto", err);
    struct sb_msg m;
    memset(&m, 0, sizeof(m));
    uint16_t flags;
    TRY(sb_reader_u16le(&r, &m.type, "type"));
    TRY(sb_reader_u16le(&r, &flags, "flags"));
    TRY(sb_reader_u32le(&r, &m.exec_id, "exec_id"));
    if (flags != 0) return sb_error_set(err, SB_E_MALFORMED, "proto: flags 0x%x are not 0", flags);
    int rc = 0;
    switch (m.type) {
    case SB_MSG_READY:
    case SB_MSG_STARTED:
    case SB_MSG_SIGNAL: rc = sb_reader_u32le(&r, &m.u32, "value"); break;
    case SB_MSG_STDIN:
    case SB_MSG_STDOUT:
    case SB_MSG_STDERR:
    case SB_MSG_ERROR:
        m.data_len = sb_reader_remaining(&r);
        if (m.data_len > SB_PROTO_MAX_DATA)
            return sb_error_set(err, SB_E_LIMIT, "proto: data of %zu bytes is over the limit %u",
                                m.data_len, SB_PROTO_MAX_DATA);
        rc = sb_reader_bytes(&r, m.data_len, &m.data, "data");
        break;
    case SB_MSG_EXIT: {
        uint32_t code = 0;
        rc = sb_reader_u8(&r, &m.exit_kind, "exit.kind");
        if (rc == 0) rc = sb_reader_u32le(&r, &code, "exit.code");
        if (rc == 0 && m.exit_kind >= SB_EXIT_KIND_MAX)
            return sb_error_set(err, SB_E_MALFORMED, "proto: exit.kind %u is unknown", m.exit_kind);
        m.exit_code = (int32_t)code;
        break;
    }
    case SB_MSG_RESIZE:
        rc = sb_reader_u16le(&r, &m.rows, "resize.rows");
        if (rc == 0) rc = sb_reader_u16le(&r, &m.cols, "resize.cols");
        break;
    case SB_MSG_EXEC: rc = parse_exec(&r, &m.exec); break;
    case SB_MSG_SECRETS:
    case SB_MSG_SECRETS_DONE:
    case SB_MSG_CONTEXT_REQ:
    case SB_MSG_CONTEXT:
    case SB_MSG_KBS_REQ:
    case SB_MSG_KBS_RESP:
    case SB_MSG_EVIDENCE_REQ:
    case SB_MSG_EVIDENCE: rc = parse_relay(&r, &m); break;
    default: return sb_error_set(err, SB_E_MALFORMED, "proto: message type %u is unknown", m.type);
    }
    if (rc == 0) rc = sb_reader_end(&r, "message");
    if (rc < 0) {
        sb_msg_free(&m);
        return rc;
    }
    *out = m;
    return 0;
}

int sb_msg_put_hdr(sb_writer *w, enum sb_msg_type type, uint32_t exec_id) {
    sb_writer_u16le(w, (uint16_t)type);
    sb_writer_u16le(w, 0);
    return sb_writer_u32le(w, exec_id);
}

static int put_str(sb_writer *w, const char *s) {
    size_t n = strlen(s);
    if (n > SB_SANDBOX_MAX_STR) return SB_E_LIMIT;
    sb_writer_u32le(w, (uint32_t)n);
    return sb_writer_bytes(w, s, n);
}

static int put_strv(sb_writer *w, char *const *v, size_t n, size_t max) {
    if (n > max) return SB_E_LIMIT;
    sb_writer_u16le(w, (uint16_t)n);
    for (size_t i = 0; i < n; i++)
        TRY(put_str(w, v[i]));
    return 0;
}

int sb_msg_encode_exec(sb_writer *w, uint32_t exec_id, const struct sb_msg_exec *e) {
    sb_msg_put_hdr(w, SB_MSG_EXEC, exec_id);
    sb_writer_u8(w, e->tty ? 1 : 0);
    sb_writer_u16le(w, e->rows);
    sb_writer_u16le(w, e->cols);
    TRY(put_str(w, e->workdir ? e->workdir : "/"));
    TRY(put_strv(w, e->argv, e->argc, SB_SANDBOX_MAX_ARGS));
    TRY(put_strv(w, e->env, e->envc, SB_SANDBOX_MAX_ENV));
    TRY(sb_writer_status(w));
    return w->len > SB_PROTO_MAX_FRAME ? SB_E_LIMIT : 0;
}

int sb_msg_encode_simple(sb_writer *w, enum sb_msg_type type, uint32_t exec_id, uint32_t u32) {
    sb_msg_put_hdr(w, type, exec_id);
    sb_writer_u32le(w, u32);
    return sb_writer_status(w);
}

int sb_msg_encode_data(sb_writer *w, enum sb_msg_type type, uint32_t exec_id, const void *p,
                       size_t n) {
    if (n > SB_PROTO_MAX_DATA) return SB_E_LIMIT;
    sb_msg_put_hdr(w, type, exec_id);
    sb_writer_bytes(w, p, n);
    return sb_writer_status(w);
}

int sb_msg_encode_exit(sb_writer *w, uint32_t exec_id, uint8_t kind, int32_t code) {
    sb_msg_put_hdr(w, SB_MSG_EXIT, exec_id);
    sb_writer_u8(w, kind);
    sb_writer_u32le(w, (uint32_t)code);
    return sb_writer_status(w);
}

int sb_msg_encode_resize(sb_writer *w, uint32_t exec_id, uint16_t rows, uint16_t cols) {
    sb_msg_put_hdr(w, SB_MSG_RESIZE, exec_id);
    sb_writer_u16le(w, rows);
    sb_writer_u16le(w, cols);
    return sb_writer_status(w);
}

int sb_msg_encode_secrets(sb_writer *w, uint32_t id, const struct sb_secret_spec *v, size_t n) {
    if (n == 0 || n > SB_PROTO_MAX_SECRETS) return SB_E_LIMIT;
    sb_msg_put_hdr(w, SB_MSG_SECRETS, id);
    sb_writer_u16le(w, (uint16_t)n);
    for (size_t i = 0; i < n; i++) {
        TRY(put_str(w, v[i].path));
        sb_writer_u8(w, v[i].kind);
        TRY(put_str(w, v[i].target));
    }
    TRY(sb_writer_status(w));
    return w->len > SB_PROTO_MAX_FRAME ? SB_E_LIMIT : 0;
}

int sb_msg_encode_reply(sb_writer *w, enum sb_msg_type type, uint32_t id, uint32_t flag,
                        const char *str, const void *p, size_t n) {
    sb_msg_put_hdr(w, type, id);
    if (type == SB_MSG_KBS_RESP)
        sb_writer_u16le(w, (uint16_t)flag);
    else
        sb_writer_u8(w, flag ? 1 : 0);
    if (type == SB_MSG_CONTEXT) TRY(put_str(w, str ? str : ""));
    if (n) sb_writer_bytes(w, p, n);
    TRY(sb_writer_status(w));
    return w->len > SB_PROTO_MAX_FRAME ? SB_E_LIMIT : 0;
}

int sb_msg_encode_kbs_req(sb_writer *w, uint32_t id, enum sb_kbs_method method, const char *route,
                          const void *body, size_t n) {
    sb_msg_put_hdr(w, SB_MSG_KBS_REQ, id);
    sb_writer_u8(w, (uint8_t)method);
    TRY(put_str(w, route));
    if (n) sb_writer_bytes(w, body, n);
    TRY(sb_writer_status(w));
    return w->len > SB_PROTO_MAX_FRAME ? SB_E_LIMIT : 0;
}
