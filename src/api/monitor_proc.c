/* monitor_proc: the processes of the monitor's sandboxes. Every exec — synchronous, streamed or
 * background — is one process on the sandbox's command channel to sealbox-init (no threads: the
 * monitor's loop reads every channel). Output goes into a bounded ring per process; a stream
 * (the exec's own, or a later reconnect) carries it to the front no further ahead of the
 * client than SB_STREAM_WINDOW, so a slow client costs the monitor at most the ring. */
#include <errno.h>
#include <jansson.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "../sandbox/sandbox.h"
#include "monitor_int.h"

#define PROC_RING_MAX (512u << 10)   /* output (and event) bytes kept per process */
#define PROC_CHUNK_OVERHEAD 64u      /* what one ring entry costs beyond its bytes */
#define PROCS_PER_SBX 32u            /* running at once in one sandbox (init allows 64) */
#define PROCS_MAX 256u               /* running at once in the daemon */
#define PROC_KEEP_ENDED 16u          /* ended background processes remembered per sandbox */
#define PROC_STDIN_MAX (64u << 10)   /* stdin bytes waiting for sealbox-init, per process */
#define EXEC_OUTPUT_MAX (64u << 10)  /* bytes of stdout and of stderr kept by a sync exec */
#define EXEC_OUTPUT_SMALL (8u << 10) /* ... when the full reply would not fit */
#define EXEC_KILL_GRACE_NS 2000000000ull
#define PROC_CMD_MAX 256u /* bytes of the command line shown in listings */

struct chunk {
    struct chunk *next;
    uint64_t off; /* output bytes of the process before this entry */
    uint8_t ev;   /* enum sb_stream_event */
    uint32_t len;
    uint8_t data[];
};

struct sb_proc {
    struct sb_proc *next; /* in its sandbox's list */
    struct sbx *sbx;
    uint32_t id;  /* the channel's id: the process id of the API */
    uint32_t pid; /* inside the sandbox, once started */
    enum sb_exec_mode mode;
    char cmd[PROC_CMD_MAX];
    bool running, timed_out;
    struct sb_exit ex;
    int64_t started_at, ended_at;
    uint64_t started_ns, deadline_ns, killed_ns; /* deadline 0: none */
    /* a sync exec's request and collected output */
    uint32_t req_id;
    sb_writer obuf, ebuf;
    uint64_t ototal, etotal;
    /* stdin not yet taken by sealbox-init */
    uint8_t *in;
    size_t in_len;
    bool in_eof; /* close stdin once in is sent */
    bool in_closed;
    /* the ring */
    struct chunk *head, *tail;
    size_t ring_bytes;
    uint64_t out_bytes;
    /* the stream attached to it, if any */
    bool consumer;
    uint32_t stream_id;
    struct chunk *cur; /* next entry to send; NULL: caught up */
    uint64_t lost;     /* output bytes dropped before the consumer saw them */
    uint64_t unacked;
};

/* The first command of a sandbox created with secrets: recorded as the entrypoint, waiting
 * while sealbox-init fetches the secrets (SECRETS sent, SECRETS_DONE awaited); it starts when
 * every secret was released, or its caller gets the refusal and it never runs. */
struct sb_pend {
    uint32_t secrets_id; /* the SECRETS request's id */
    uint32_t req_id;     /* the exec's request (0: its client went away) */
    enum sb_exec_mode mode;
    char **argv, **envp;
    char cwd[SB_IPC_PATH_MAX + 1];
    uint8_t *in;
    size_t in_len;
    uint64_t timeout_s;
    char cmd[PROC_CMD_MAX];
};

static void pend_free(struct sb_pend *pd) {
    if (!pd) return;
    sb_monitor_strv_free(pd->argv);
    sb_monitor_strv_free(pd->envp);
    free(pd->in);
    free(pd);
}

static void pend_done(sb_monitor *m, struct sbx *s, const struct sb_chan_event *ev);
static void send_reply(sb_monitor *m, uint32_t req_id, sb_reply *rep);

struct sb_proc_table {
    uint8_t *frame;
    unsigned running;
    uint64_t execs, lost_bytes;
    double exec_sum_s;
};

/* ---- bookkeeping ------------------------------------------------------------------------------
 */

static void chunk_free_all(struct sb_proc *p) {
    while (p->head) {
        struct chunk *c = p->head;
        p->head = c->next;
        free(c);
    }
    p->tail = p->cur = NULL;
    p->ring_bytes = 0;
}

static void proc_unlink_free(sb_monitor *m, struct sb_proc *p) {
    struct sbx *s = p->sbx;
    for (struct sb_proc **pp = &s->procs; *pp; pp = &(*pp)->next)
        if (*pp == p) {
            *pp = p->next;
            break;
        }
    s->nprocs--;
    if (p->running) m->procs->running--;
    chunk_free_all(p);
    sb_writer_free(&p->obuf);
    sb_writer_free(&p->ebuf);
    free(p->in);
    free(p);
}

/* Appends an entry, dropping the oldest ones past the ring's size. */
static void ring_add(sb_monitor *m, struct sb_proc *p, uint8_t ev, const void *data, size_t n) {
    if (p->mode == SB_EXEC_SYNC) return;
    struct chunk *c = malloc(sizeof(*c) + n);
    if (!c) return;
    c->next = NULL;
    c->off = p->out_bytes;
    c->ev = ev;
    c->len = (uint32_t)n;
    if (n) memcpy(c->data, data, n);
    if (ev == SB_EV_STDOUT || ev == SB_EV_STDERR) p->out_bytes += n;
    if (p->tail)
        p->tail->next = c;
    else
        p->head = c;
    p->tail = c;
    p->ring_bytes += n + PROC_CHUNK_OVERHEAD;
    if (p->consumer && !p->cur) p->cur = c;
    while (p->ring_bytes > PROC_RING_MAX && p->head != c) {
        struct chunk *old = p->head;
        p->head = old->next;
        p->ring_bytes -= old->len + PROC_CHUNK_OVERHEAD;
        if (old->ev == SB_EV_STDOUT || old->ev == SB_EV_STDERR) {
            if (p->consumer && p->cur == old) p->lost += old->len;
            m->procs->lost_bytes += old->len;
        }
        if (p->cur == old) p->cur = old->next;
        free(old);
    }
}

static struct sb_proc *find_stream(sb_monitor *m, uint32_t stream_id) {
    for (struct sbx *s = sb_monitor_sbx_first(m); s; s = s->next)
        for (struct sb_proc *p = s->procs; p; p = p->next)
            if (p->consumer && p->stream_id == stream_id) return p;
    return NULL;
}

static struct sb_proc *find_proc(struct sbx *s, uint32_t id) {
    for (struct sb_proc *p = s->procs; p; p = p->next)
        if (p->id == id) return p;
    return NULL;
}

bool sb_proc_sbx_busy(const struct sbx *s) {
    if (s->pend) return true; /* its init runs a handshake */
    for (const struct sb_proc *p = s->procs; p; p = p->next)
        if (p->running) return true;
    return false;
}

unsigned sb_proc_running(sb_monitor *m) { return m->procs ? m->procs->running : 0; }

/* ---- JSON ------------------------------------------------------------------------------------ */

static const char *exit_status_name(const struct sb_proc *p) {
    if (p->timed_out) return "timeout";
    unsigned k = (unsigned)p->ex.kind;
    return sb_exit_kind_name(k < SB_EXIT_KIND_MAX ? p->ex.kind : SB_EXIT_SANDBOX_GONE);
}

static int exit_code(const struct sb_proc *p) {
    if (p->timed_out) return 124;
    struct sb_exit ex = p->ex;
    if ((unsigned)ex.kind >= SB_EXIT_KIND_MAX) ex.kind = SB_EXIT_SANDBOX_GONE;
    return sb_exit_status(&ex);
}

static json_t *exit_json(const struct sb_proc *p) {
    double secs = (double)(sb_mono_ns() - p->started_ns) / 1e9;
    json_t *j =
        json_pack("{s:i, s:s, s:b, s:I}", "exit_code", exit_code(p), "status", exit_status_name(p),
                  "timed_out", p->timed_out, "duration_ms", (json_int_t)(secs * 1000));
    if (j && p->ex.kind == SB_EXIT_SIGNALED && !p->timed_out)
        (void)json_object_set_new(j, "signal", json_integer(p->ex.code));
    return j;
}

static const char *MODE_NAMES[SB_EXEC_MODE_MAX] = {"sync", "stream", "background"};

static json_t *proc_json(const struct sb_proc *p) {
    char started[32];
    sb_time_format(p->started_at, started);
    json_t *j = json_pack("{s:I, s:s, s:s, s:s, s:s, s:I, s:I}", "id", (json_int_t)p->id, "cmd",
                          p->cmd, "mode", MODE_NAMES[p->mode], "state",
                          p->running ? "running" : "exited", "started_at", started, "output_bytes",
                          (json_int_t)p->out_bytes, "output_kept_bytes", (json_int_t)p->ring_bytes);
    if (j && p->pid) (void)json_object_set_new(j, "pid", json_integer(p->pid));
    if (j && !p->running) {
        char ended[32];
        sb_time_format(p->ended_at, ended);
        (void)json_object_set_new(j, "ended_at", json_string(ended));
        (void)json_object_set_new(j, "exit_code", json_integer(exit_code(p)));
        (void)json_object_set_new(j, "status", json_string(exit_status_name(p)));
    }
    if (j) (void)json_object_set_new(j, "attached", json_boolean(p->consumer));
    return j;
}

static void add_json_chunk(sb_monitor *m, struct sb_proc *p, uint8_t ev, json_t *j) {
    char *s = j ? json_dumps(j, JSON_COMPACT) : NULL;
    json_decref(j);
    if (s) ring_add(m, p, ev, s, strlen(s));
    free(s);
}

/* ---- streams ------------------------------------------------------------------------------- */

static void stream_end(sb_monitor *m, struct sb_proc *p) {
    (void)sb_monitor_send(m, SB_IPC_STREAM_END, p->stream_id, NULL, 0);
    p->consumer = false;
    p->cur = NULL;
    p->stream_id = 0;
}

/* Sends what the window allows. Returns false when the process record was freed. */
static bool pump(sb_monitor *m, struct sb_proc *p) {
    while (p->consumer && p->unacked < SB_STREAM_WINDOW) {
        if (p->lost) {
            char buf[64];
            int k = snprintf(buf, sizeof(buf), "{\"bytes\":%llu}", (unsigned long long)p->lost);
            sb_ipc_val v[2] = {sb_ipc_u(SB_EV_LOST), sb_ipc_b(buf, (size_t)k)};
            (void)sb_monitor_send(m, SB_IPC_STREAM_EVENT, p->stream_id, v, 2);
            p->lost = 0;
        }
        struct chunk *c = p->cur;
        if (!c) break;
        for (size_t off = 0; off < c->len || off == 0;) {
            size_t n = c->len - off < SB_IPC_CHUNK_MAX ? c->len - off : SB_IPC_CHUNK_MAX;
            sb_ipc_val v[2] = {sb_ipc_u(c->ev), sb_ipc_b(c->data + off, n)};
            (void)sb_monitor_send(m, SB_IPC_STREAM_EVENT, p->stream_id, v, 2);
            off += n;
            if (off >= c->len) break;
        }
        p->unacked += c->len ? c->len : 1;
        p->cur = c->next;
        if (c->ev == SB_EV_EXIT) {
            stream_end(m, p);
            if (p->mode == SB_EXEC_STREAM) {
                proc_unlink_free(m, p);
                return false;
            }
        }
    }
    return true;
}

static void attach(sb_monitor *m, struct sb_proc *p, uint32_t stream_id) {
    p->consumer = true;
    p->stream_id = stream_id;
    p->cur = p->head;
    p->unacked = 0;
    /* what the ring dropped before this client came */
    p->lost = p->head ? p->head->off : p->out_bytes;
    sb_ipc_val v[3] = {sb_ipc_u(200), sb_ipc_u(SB_STREAM_EVENTS), sb_ipc_u(0)};
    (void)sb_monitor_send(m, SB_IPC_STREAM_START, stream_id, v, 3);
}

/* ---- a process's life ------------------------------------------------------------------------ */

static void flush_stdin(sb_monitor *m, struct sb_proc *p) {
    (void)m;
    if (!p->running || p->in_closed || !p->sbx->h) return;
    size_t off = 0;
    while (off < p->in_len) {
        size_t n = p->in_len - off < SB_PROTO_MAX_DATA ? p->in_len - off : SB_PROTO_MAX_DATA;
        sb_error e = {0};
        if (sb_sandbox_chan_stdin(p->sbx->h, p->id, p->in + off, n, &e) < 0) break;
        off += n;
    }
    if (off) {
        memmove(p->in, p->in + off, p->in_len - off);
        p->in_len -= off;
    }
    if (p->in_len == 0 && p->in_eof) {
        sb_error e = {0};
        if (sb_sandbox_chan_stdin(p->sbx->h, p->id, NULL, 0, &e) == 0) p->in_closed = true;
    }
}

static int queue_stdin(struct sb_proc *p, const uint8_t *data, size_t n, bool eof) {
    if (p->in_closed || p->in_eof) return -1;
    if (n > PROC_STDIN_MAX - p->in_len) return -2;
    if (n) {
        if (!p->in) p->in = malloc(PROC_STDIN_MAX);
        if (!p->in) return -2;
        memcpy(p->in + p->in_len, data, n);
        p->in_len += n;
    }
    if (eof) p->in_eof = true;
    return 0;
}

/* Puts captured output into a sync reply: as a string when it is UTF-8, else base64. */
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

static void sync_reply(sb_monitor *m, struct sb_proc *p) {
    sb_reply rep;
    sb_reply_init(&rep);
    for (size_t keep = EXEC_OUTPUT_MAX;; keep = EXEC_OUTPUT_SMALL) {
        json_t *j = exit_json(p);
        if (j) {
            put_output(j, "stdout", &p->obuf, keep, p->ototal);
            put_output(j, "stderr", &p->ebuf, keep, p->etotal);
        }
        (void)sb_reply_json(&rep, 200, j);
        if (rep.status == 200 || keep == EXEC_OUTPUT_SMALL) break;
    }
    sb_ipc_val v[3] = {sb_ipc_u((uint64_t)rep.status), sb_ipc_u((uint64_t)rep.ctype),
                       sb_ipc_b(rep.body.buf, rep.body.len)};
    (void)sb_monitor_send(m, SB_IPC_REPLY, p->req_id, v, 3);
    sb_reply_free(&rep);
}

/* Forgets the oldest ended background processes nobody is reading past PROC_KEEP_ENDED. */
static void trim_ended(sb_monitor *m, struct sbx *s) {
    for (;;) {
        unsigned ended = 0;
        struct sb_proc *oldest = NULL;
        for (struct sb_proc *p = s->procs; p; p = p->next) {
            if (p->running || p->consumer) continue;
            ended++;
            if (!oldest || p->ended_at <= oldest->ended_at) oldest = p;
        }
        if (ended <= PROC_KEEP_ENDED || !oldest) return;
        proc_unlink_free(m, oldest);
    }
}

/* The process ended (its EXIT frame, or its sandbox went). */
static void proc_ended(sb_monitor *m, struct sb_proc *p, struct sb_exit ex) {
    if (!p->running) return;
    p->running = false;
    m->procs->running--;
    p->ex = ex;
    p->ended_at = sb_time_now();
    m->procs->execs++;
    m->procs->exec_sum_s += (double)(sb_mono_ns() - p->started_ns) / 1e9;
    p->sbx->last_active_ns = sb_mono_ns();
    struct sbx *s = p->sbx;
    if (p->mode == SB_EXEC_SYNC) {
        if (p->req_id) sync_reply(m, p);
        proc_unlink_free(m, p);
        return;
    }
    add_json_chunk(m, p, SB_EV_EXIT, exit_json(p));
    if (p->mode == SB_EXEC_STREAM && !p->consumer) {
        proc_unlink_free(m, p); /* its client went away */
        return;
    }
    if (pump(m, p) && p->mode == SB_EXEC_BACKGROUND) trim_ended(m, s);
}

static void on_output(sb_monitor *m, struct sb_proc *p, uint8_t ev, const uint8_t *d, size_t n) {
    if (p->mode == SB_EXEC_SYNC) {
        sb_writer *b = ev == SB_EV_STDOUT ? &p->obuf : &p->ebuf;
        uint64_t *total = ev == SB_EV_STDOUT ? &p->ototal : &p->etotal;
        *total += n;
        size_t room = b->max > b->len ? b->max - b->len : 0;
        if (room) (void)sb_writer_bytes(b, d, n < room ? n : room);
        return;
    }
    ring_add(m, p, ev, d, n);
    (void)pump(m, p);
}

/* Reads every frame waiting on one sandbox's channel. False when its init is gone. */
static bool read_channel(sb_monitor *m, struct sbx *s) {
    for (int budget = 0; budget < 256; budget++) {
        struct sb_chan_event ev;
        sb_error e = {0};
        int r = sb_sandbox_chan_read(s->h, m->procs->frame, &ev, &e);
        if (r == 0) return true;
        if (r < 0) {
            sb_logf(sb_monitor_log(m), SB_LOG_WARN, "sandbox %s: %s", s->id, e.msg);
            return false;
        }
        if (ev.type == SB_MSG_CONTEXT_REQ || ev.type == SB_MSG_KBS_REQ ||
            ev.type == SB_MSG_EVIDENCE_REQ) { /* answered off the loop */
            sb_monitor_relay_request(m, s, ev.type, ev.data, ev.len);
            continue;
        }
        if (s->pend && ev.id == s->pend->secrets_id &&
            (ev.type == SB_MSG_SECRETS_DONE || ev.type == SB_MSG_ERROR)) {
            pend_done(m, s, &ev);
            continue;
        }
        struct sb_proc *p = find_proc(s, ev.id);
        if (!p) {
            if (ev.type == SB_MSG_ERROR)
                sb_logf(sb_monitor_log(m), SB_LOG_WARN, "sandbox %s: sealbox-init: %.*s", s->id,
                        (int)ev.len, (const char *)ev.data);
            continue;
        }
        switch (ev.type) {
        case SB_MSG_STARTED: {
            p->pid = ev.pid;
            char buf[64];
            int k = snprintf(buf, sizeof(buf), "{\"id\":%u,\"pid\":%u}", p->id, p->pid);
            ring_add(m, p, SB_EV_START, buf, (size_t)k);
            (void)pump(m, p);
            break;
        }
        case SB_MSG_STDOUT: on_output(m, p, SB_EV_STDOUT, ev.data, ev.len); break;
        case SB_MSG_STDERR: on_output(m, p, SB_EV_STDERR, ev.data, ev.len); break;
        case SB_MSG_ERROR: {
            /* a command that could not start: its reason goes where its stderr would */
            char line[SB_PROTO_MAX_DATA + 32];
            int k = snprintf(line, sizeof(line), "sealbox-init: %.*s\n", (int)ev.len,
                             (const char *)ev.data);
            if (k > 0)
                on_output(m, p, SB_EV_STDERR, (const uint8_t *)line,
                          (size_t)k < sizeof(line) ? (size_t)k : sizeof(line) - 1);
            break;
        }
        case SB_MSG_EXIT: proc_ended(m, p, ev.exit); break;
        default: break;
        }
    }
    return true;
}

/* ---- the loop's hooks ------------------------------------------------------------------------ */

size_t sb_proc_pollfds(sb_monitor *m, struct pollfd *p, size_t max) {
    size_t n = 0;
    int rfd = sb_monitor_relay_fd(m);
    if (rfd >= 0 && max) p[n++] = (struct pollfd){rfd, POLLIN, 0};
    for (struct sbx *s = sb_monitor_sbx_first(m); s && n < max; s = s->next)
        if ((s->procs || s->pend) && s->h)
            p[n++] = (struct pollfd){sb_sandbox_chan_fd(s->h), POLLIN, 0};
    return n;
}

void sb_proc_events(sb_monitor *m) {
    sb_monitor_relay_events(m); /* relay answers the workers made */
    struct sbx *s = sb_monitor_sbx_first(m);
    while (s) {
        struct sbx *next = s->next;
        if ((s->procs || s->pend) && s->h) {
            struct pollfd pf = {sb_sandbox_chan_fd(s->h), POLLIN, 0};
            bool gone =
                poll(&pf, 1, 0) > 0 && !(pf.revents & POLLIN) && (pf.revents & (POLLHUP | POLLERR));
            if (!gone && (pf.revents & POLLIN)) gone = !read_channel(m, s);
            if (gone) {
                /* sealbox-init died: its processes end with it, the sandbox is lost */
                struct sb_proc *p = s->procs;
                while (p) {
                    struct sb_proc *pn = p->next;
                    if (p->running) proc_ended(m, p, (struct sb_exit){SB_EXIT_SANDBOX_GONE, 0});
                    p = pn;
                }
                sb_monitor_sbx_lost(m, s);
            }
        }
        s = next;
    }
}

void sb_proc_tick(sb_monitor *m) {
    uint64_t now = sb_mono_ns();
    for (struct sbx *s = sb_monitor_sbx_first(m); s; s = s->next) {
        for (struct sb_proc *p = s->procs; p; p = p->next) {
            if (!p->running) continue;
            if (p->in_len || (p->in_eof && !p->in_closed)) flush_stdin(m, p);
            if (!p->deadline_ns || now < p->deadline_ns) continue;
            sb_error e = {0};
            if (!p->timed_out) {
                p->timed_out = true;
                p->killed_ns = now;
                if (sb_monitor_sbx_wake(m, s, &e) < 0 ||
                    sb_sandbox_chan_signal(s->h, p->id, SIGKILL, &e) < 0)
                    sb_logf(sb_monitor_log(m), SB_LOG_WARN, "exec timeout in %s: %s", s->id, e.msg);
            } else if (now - p->killed_ns > EXEC_KILL_GRACE_NS) {
                /* The command would not die: end the sandbox's init, which ends them all. */
                pid_t init = sb_sandbox_init_pid(s->h);
                if (init > 0) (void)kill(init, SIGKILL);
                p->killed_ns = now;
            }
        }
    }
}

/* The sandbox goes: waiting requests are answered, streams end, records are freed. */
void sb_proc_sandbox_gone(sb_monitor *m, struct sbx *s) {
    if (!m->procs) return;
    if (s->pend) {
        sb_reply rep;
        sb_reply_init(&rep);
        (void)sb_reply_problem(&rep, 409, "gone", "Gone",
                               "the sandbox was removed while its entrypoint waited for secrets");
        send_reply(m, s->pend->req_id, &rep);
        sb_reply_free(&rep);
        pend_free(s->pend);
        s->pend = NULL;
    }
    while (s->procs) {
        struct sb_proc *p = s->procs;
        if (p->mode == SB_EXEC_SYNC && p->running && p->req_id) {
            sb_ipc_val v[3] = {sb_ipc_u(409), sb_ipc_u(SB_CT_PROBLEM),
                               sb_ipc_s("{\"type\":\"urn:sealbox:problem:gone\",\"title\":\"Gone\","
                                        "\"status\":409,\"detail\":\"the sandbox was removed "
                                        "while the command ran\"}")};
            (void)sb_monitor_send(m, SB_IPC_REPLY, p->req_id, v, 3);
        } else if (p->consumer) {
            if (p->running) {
                p->timed_out = false;
                p->ex = (struct sb_exit){SB_EXIT_SANDBOX_GONE, 0};
                json_t *ej = exit_json(p);
                char *t = ej ? json_dumps(ej, JSON_COMPACT) : NULL;
                json_decref(ej);
                if (t) {
                    sb_ipc_val v[2] = {sb_ipc_u(SB_EV_EXIT), sb_ipc_b(t, strlen(t))};
                    (void)sb_monitor_send(m, SB_IPC_STREAM_EVENT, p->stream_id, v, 2);
                }
                free(t);
            }
            stream_end(m, p);
        }
        proc_unlink_free(m, p);
    }
}

/* The stream's client is gone. A foreground (streamed) command is not left running without it;
 * one that has ended is forgotten. */
static void detach(sb_monitor *m, struct sb_proc *p) {
    p->consumer = false;
    p->cur = NULL;
    p->stream_id = 0;
    if (p->mode != SB_EXEC_STREAM) return;
    if (!p->running) {
        proc_unlink_free(m, p);
        return;
    }
    sb_error e = {0};
    if (sb_monitor_sbx_wake(m, p->sbx, &e) < 0 ||
        sb_sandbox_chan_signal(p->sbx->h, p->id, SIGKILL, &e) < 0)
        sb_logf(sb_monitor_log(m), SB_LOG_WARN, "exec in %s: %s", p->sbx->id, e.msg);
}

/* The front died: its requests and streams died with it. Foreground processes are killed. */
void sb_proc_front_gone(sb_monitor *m) {
    if (!m->procs) return;
    for (struct sbx *s = sb_monitor_sbx_first(m); s; s = s->next) {
        if (s->pend) s->pend->req_id = 0;
        struct sb_proc *p = s->procs;
        while (p) {
            struct sb_proc *pn = p->next;
            p->req_id = 0;
            if (p->consumer) detach(m, p);
            p = pn;
        }
    }
}

void sb_proc_metrics(sb_monitor *m, sb_writer *w) {
    struct sb_proc_table *t = m->procs;
    (void)sb_writer_printf(
        w,
        "# HELP sealbox_execs_total Commands run in sandboxes (ended).\n"
        "# TYPE sealbox_execs_total counter\nsealbox_execs_total %llu\n"
        "# HELP sealbox_exec_seconds_sum Time commands ran.\n"
        "# TYPE sealbox_exec_seconds_sum counter\nsealbox_exec_seconds_sum %.6f\n"
        "# HELP sealbox_execs_running Commands running now.\n"
        "# TYPE sealbox_execs_running gauge\nsealbox_execs_running %u\n"
        "# HELP sealbox_exec_output_dropped_bytes_total Output bytes dropped from full process "
        "rings.\n"
        "# TYPE sealbox_exec_output_dropped_bytes_total counter\n"
        "sealbox_exec_output_dropped_bytes_total %llu\n",
        (unsigned long long)t->execs, t->exec_sum_s, t->running, (unsigned long long)t->lost_bytes);
}

/* ---- handlers ------------------------------------------------------------------------------- */

static int c_exec(const sb_ipc_msg *msg, sb_error *err) {
    TRY(sb_monitor_check_sbx_id(msg, 1, err));
    ENSURE(msg->f[2].count >= 1 && msg->f[2].list[0].len > 0, err, SB_E_MALFORMED, "no command");
    ENSURE(msg->f[4].s.len == 0 || msg->f[4].s.p[0] == '/', err, SB_E_MALFORMED,
           "cwd is not absolute");
    ENSURE(msg->f[7].u < SB_EXEC_MODE_MAX, err, SB_E_MALFORMED, "exec mode %llu",
           (unsigned long long)msg->f[7].u);
    /* 0 (no deadline) only for background processes */
    ENSURE(msg->f[6].u <= 86400 && (msg->f[6].u >= 1 || msg->f[7].u == SB_EXEC_BACKGROUND), err,
           SB_E_MALFORMED, "timeout_s");
    for (size_t i = 0; i < msg->f[3].count; i++) {
        const sb_ipc_str *kv = &msg->f[3].list[i];
        ENSURE(kv->len > 1 && kv->p[0] != '=' && memchr(kv->p, '=', kv->len), err, SB_E_MALFORMED,
               "env entry is not KEY=VALUE");
    }
    return 0;
}

static void cmd_line(struct sb_proc *p, const sb_ipc_val *argv) {
    size_t n = 0;
    for (size_t i = 0; i < argv->count && n + 1 < sizeof(p->cmd); i++) {
        if (i) p->cmd[n++] = ' ';
        for (size_t k = 0; k < argv->list[i].len && n + 1 < sizeof(p->cmd); k++)
            p->cmd[n++] = (char)argv->list[i].p[k];
    }
    p->cmd[n] = '\0';
}

/* Starts a recorded command on the channel and answers as its mode does (a sync exec when it
 * ends, a stream at once, a background one with 202). cmd: the command line to show. */
static int start_proc(sb_monitor *m, struct sbx *s, char **argv, char **envp, const char *cwd,
                      const uint8_t *in, size_t in_len, uint64_t timeout_s, enum sb_exec_mode mode,
                      uint32_t req_id, const char *cmd, sb_reply *rep) {
    sb_error e = {0};
    uint32_t id = 0;
    struct sb_proc *p = calloc(1, sizeof(*p));
    int rc = p ? sb_sandbox_chan_start(s->h, argv, envp, cwd, &id, &e)
               : sb_error_set(&e, SB_E_INTERNAL, "out of memory");
    if (rc < 0) {
        free(p);
        if (e.code == SB_E_LIMIT) return sb_reply_problem(rep, 503, "busy", "Service busy", e.msg);
        return sb_monitor_internal(m, rep, "exec", &e);
    }
    p->sbx = s;
    p->id = id;
    p->mode = mode;
    p->running = true;
    p->started_at = sb_time_now();
    p->started_ns = sb_mono_ns();
    p->deadline_ns = timeout_s ? p->started_ns + timeout_s * 1000000000ull : 0;
    (void)snprintf(p->cmd, sizeof(p->cmd), "%s", cmd);
    sb_writer_init(&p->obuf, EXEC_OUTPUT_MAX);
    sb_writer_init(&p->ebuf, EXEC_OUTPUT_MAX);
    p->next = s->procs;
    s->procs = p;
    s->nprocs++;
    m->procs->running++;
    s->last_active_ns = p->started_ns;
    /* Stdin: what the request carried, then EOF — except for a background process, which
     * keeps its stdin open for later writes. */
    (void)queue_stdin(p, in, in_len, mode != SB_EXEC_BACKGROUND);
    flush_stdin(m, p);
    switch (mode) {
    case SB_EXEC_SYNC:
        p->req_id = req_id;
        rep->status = 0; /* answered when the command ends */
        return 0;
    case SB_EXEC_STREAM:
        attach(m, p, req_id);
        rep->status = 0;
        return 0;
    default: {
        json_t *j = proc_json(p);
        return sb_reply_json(rep, 202, j);
    }
    }
}

/* A reply to a request that was answered later (the entrypoint that waited for its secrets). */
static void send_reply(sb_monitor *m, uint32_t req_id, sb_reply *rep) {
    if (!rep->status || !req_id) return;
    sb_ipc_val v[3] = {sb_ipc_u((uint64_t)rep->status), sb_ipc_u((uint64_t)rep->ctype),
                       sb_ipc_b(rep->body.buf, rep->body.len)};
    (void)sb_monitor_send(m, SB_IPC_REPLY, req_id, v, 3);
}

/* The environment as measured for the entrypoint: the exec's, plus the names of env secrets
 * (names only: init puts the values in, the monitor never sees them). */
static char **measured_env(char **envp, const struct sbx *s) {
    size_t n = 0;
    while (envp[n])
        n++;
    char **v = calloc(n + s->nsecrets + 1, sizeof(char *));
    if (!v) return NULL;
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        v[k++] = envp[i];
    for (size_t i = 0; i < s->nsecrets; i++)
        if (s->secrets[i].kind == SB_SECRET_ENV) v[k++] = s->secrets[i].target;
    return v;
}

static int h_exec(sb_monitor *m, const sb_ipc_msg *msg, const sb_tenant *t, sb_reply *rep,
                  sb_error *err) {
    (void)err;
    struct sbx *s = sb_monitor_sbx_owned(m, msg, t, rep);
    if (!s) return 0;
    if (s->pend)
        return sb_reply_problem(rep, 409, "secrets-pending", "Conflict",
                                "the sandbox's entrypoint waits for its secrets: no other command "
                                "may start before it");
    unsigned running = 0;
    for (struct sb_proc *q = s->procs; q; q = q->next)
        running += q->running;
    if (running >= PROCS_PER_SBX || m->procs->running >= PROCS_MAX) {
        char d[96];
        (void)snprintf(d, sizeof(d), "at most %u commands run at once in a sandbox (%u in all)",
                       PROCS_PER_SBX, PROCS_MAX);
        return sb_reply_problem(rep, 429, "too-many-processes", "Too many processes", d);
    }
    sb_error e = {0};
    /* An exec on a sandbox in standby resumes it. */
    if (sb_monitor_sbx_wake(m, s, &e) < 0) return sb_monitor_internal(m, rep, "thaw", &e);
    enum sb_exec_mode mode = (enum sb_exec_mode)msg->f[7].u;
    char **argv = sb_monitor_str_vec(&msg->f[2]);
    char **envp = sb_monitor_exec_env(s->env, &msg->f[3]);
    char cwd[SB_IPC_PATH_MAX + 1] = "";
    int rc = argv && envp ? sb_ipc_str_copy(&msg->f[4].s, cwd, sizeof(cwd), &e, "cwd")
                          : sb_error_set(&e, SB_E_INTERNAL, "out of memory");
    /* The sandbox's secrets are released to its entrypoint, the first command: recorded with
     * the env secrets' names, then held until sealbox-init has them. */
    bool secrets = rc == 0 && s->nsecrets && s->mlog && sb_mlog_count(s->mlog) == 2;
    char **menv = secrets ? measured_env(envp, s) : envp;
    if (rc == 0 && !menv) rc = sb_error_set(&e, SB_E_INTERNAL, "out of memory");
    if (rc < 0) {
        if (menv != envp) free(menv);
        sb_monitor_strv_free(argv);
        sb_monitor_strv_free(envp);
        return sb_monitor_internal(m, rep, "exec", &e);
    }
    /* Measured and recorded before it starts (the first command is the entrypoint, every later
     * one taints the log); a command the log cannot take does not run. */
    int lr = sb_monitor_mlog_exec(m, s, argv, menv, cwd, rep);
    if (menv != envp) free(menv);
    struct sb_proc tmp = {0};
    cmd_line(&tmp, &msg->f[2]);
    if (lr == 0 && secrets) {
        struct sb_pend *pd = calloc(1, sizeof(*pd));
        uint8_t *in = msg->f[5].s.len ? malloc(msg->f[5].s.len) : NULL;
        rc = pd && (in || !msg->f[5].s.len)
                 ? sb_sandbox_chan_secrets(s->h, s->secrets, s->nsecrets, &pd->secrets_id, &e)
                 : sb_error_set(&e, SB_E_INTERNAL, "out of memory");
        /* released once: a later command never asks again */
        for (size_t i = 0; i < s->nsecrets; i++)
            sb_secret_spec_clear(&s->secrets[i]);
        free(s->secrets);
        s->secrets = NULL;
        s->nsecrets = 0;
        if (rc < 0) {
            free(pd);
            free(in);
            sb_monitor_strv_free(argv);
            sb_monitor_strv_free(envp);
            if (e.code == SB_E_LIMIT)
                return sb_reply_problem(rep, 503, "busy", "Service busy", e.msg);
            return sb_monitor_internal(m, rep, "secrets", &e);
        }
        if (in) memcpy(in, msg->f[5].s.p, msg->f[5].s.len);
        pd->req_id = msg->id;
        pd->mode = mode;
        pd->argv = argv;
        pd->envp = envp;
        (void)snprintf(pd->cwd, sizeof(pd->cwd), "%s", cwd);
        pd->in = in;
        pd->in_len = msg->f[5].s.len;
        pd->timeout_s = msg->f[6].u;
        (void)snprintf(pd->cmd, sizeof(pd->cmd), "%s", tmp.cmd);
        s->pend = pd;
        s->last_active_ns = sb_mono_ns();
        rep->status = 0; /* answered once the secrets are in, or refused */
        return 0;
    }
    if (lr == 0)
        rc = start_proc(m, s, argv, envp, cwd, msg->f[5].s.p, msg->f[5].s.len, msg->f[6].u, mode,
                        msg->id, tmp.cmd, rep);
    sb_monitor_strv_free(argv);
    sb_monitor_strv_free(envp);
    return rc;
}

/* sealbox-init answered the SECRETS of a waiting entrypoint (SECRETS_DONE, or ERROR when it
 * could not take them): start it, or give its caller the reason and never run it. */
static void pend_done(sb_monitor *m, struct sbx *s, const struct sb_chan_event *ev) {
    struct sb_pend *pd = s->pend;
    s->pend = NULL;
    sb_reply rep;
    sb_reply_init(&rep);
    char why[1024] = "";
    int wl = (int)(ev->len < 900 ? ev->len : 900);
    if (!pd->req_id) {
        /* its client went away: the entrypoint does not start without one */
    } else if (ev->type == SB_MSG_SECRETS_DONE && ev->ok) {
        (void)start_proc(m, s, pd->argv, pd->envp, pd->cwd, pd->in, pd->in_len, pd->timeout_s,
                         pd->mode, pd->req_id, pd->cmd, &rep);
    } else if (ev->type == SB_MSG_SECRETS_DONE) {
        (void)snprintf(why, sizeof(why), "secrets refused: %.*s", wl, (const char *)ev->data);
        (void)sb_reply_problem(&rep, 403, "secrets-refused", "Secrets refused", why);
    } else {
        (void)snprintf(why, sizeof(why), "secrets: sealbox-init: %.*s", wl, (const char *)ev->data);
        (void)sb_reply_problem(&rep, 502, "secrets-failed", "Secrets failed", why);
    }
    if (rep.status && pd->req_id) {
        if (why[0])
            sb_logf(sb_monitor_log(m), SB_LOG_INFO, "sandbox %s: entrypoint not started: %s", s->id,
                    why);
        send_reply(m, pd->req_id, &rep);
    }
    sb_reply_free(&rep);
    pend_free(pd);
}

/* The process a message names (field 2) in the tenant's sandbox, or a 404 in rep. */
static struct sb_proc *owned_proc(sb_monitor *m, const sb_ipc_msg *msg, const sb_tenant *t,
                                  sb_reply *rep) {
    struct sbx *s = sb_monitor_sbx_owned(m, msg, t, rep);
    if (!s) return NULL;
    struct sb_proc *p = find_proc(s, (uint32_t)msg->f[2].u);
    if (!p) (void)sb_reply_problem(rep, 404, "not-found", "Not found", "no such process");
    return p;
}

static int c_sbx(const sb_ipc_msg *msg, sb_error *err) {
    return sb_monitor_check_sbx_id(msg, 1, err);
}

static int c_proc(const sb_ipc_msg *msg, sb_error *err) {
    TRY(sb_monitor_check_sbx_id(msg, 1, err));
    ENSURE(msg->f[2].u >= 1, err, SB_E_MALFORMED, "process id 0");
    return 0;
}

static int c_signal(const sb_ipc_msg *msg, sb_error *err) {
    TRY(c_proc(msg, err));
    ENSURE(msg->f[3].u >= 1 && msg->f[3].u <= 64, err, SB_E_MALFORMED, "signal %llu",
           (unsigned long long)msg->f[3].u);
    return 0;
}

static int c_stdin(const sb_ipc_msg *msg, sb_error *err) {
    TRY(c_proc(msg, err));
    ENSURE(msg->f[4].u <= 1, err, SB_E_MALFORMED, "eof flag %llu", (unsigned long long)msg->f[4].u);
    return 0;
}

static int h_list(sb_monitor *m, const sb_ipc_msg *msg, const sb_tenant *t, sb_reply *rep,
                  sb_error *err) {
    (void)err;
    struct sbx *s = sb_monitor_sbx_owned(m, msg, t, rep);
    if (!s) return 0;
    json_t *arr = json_array();
    for (struct sb_proc *p = s->procs; p; p = p->next)
        (void)json_array_append_new(arr, proc_json(p));
    return sb_reply_json(rep, 200, json_pack("{s:o}", "processes", arr));
}

static int h_get(sb_monitor *m, const sb_ipc_msg *msg, const sb_tenant *t, sb_reply *rep,
                 sb_error *err) {
    (void)err;
    struct sb_proc *p = owned_proc(m, msg, t, rep);
    return p ? sb_reply_json(rep, 200, proc_json(p)) : 0;
}

static int h_signal(sb_monitor *m, const sb_ipc_msg *msg, const sb_tenant *t, sb_reply *rep,
                    sb_error *err) {
    (void)err;
    struct sb_proc *p = owned_proc(m, msg, t, rep);
    if (!p) return 0;
    if (!p->running)
        return sb_reply_problem(rep, 409, "conflict", "Conflict", "the process has ended");
    sb_error e = {0};
    /* a frozen process would not act on it until thawed: signalling resumes the sandbox */
    if (sb_monitor_sbx_wake(m, p->sbx, &e) < 0 ||
        sb_sandbox_chan_signal(p->sbx->h, p->id, (int)msg->f[3].u, &e) < 0) {
        if (e.code == SB_E_LIMIT) return sb_reply_problem(rep, 503, "busy", "Service busy", e.msg);
        return sb_monitor_internal(m, rep, "signal", &e);
    }
    return sb_reply_json(rep, 202, proc_json(p));
}

static int h_stdin(sb_monitor *m, const sb_ipc_msg *msg, const sb_tenant *t, sb_reply *rep,
                   sb_error *err) {
    (void)err;
    struct sb_proc *p = owned_proc(m, msg, t, rep);
    if (!p) return 0;
    if (!p->running)
        return sb_reply_problem(rep, 409, "conflict", "Conflict", "the process has ended");
    sb_error e = {0};
    if (sb_monitor_sbx_wake(m, p->sbx, &e) < 0) return sb_monitor_internal(m, rep, "thaw", &e);
    int q = queue_stdin(p, msg->f[3].s.p, msg->f[3].s.len, msg->f[4].u == 1);
    if (q == -1)
        return sb_reply_problem(rep, 409, "conflict", "Conflict", "the process's stdin is closed");
    if (q < 0) {
        char d[96];
        (void)snprintf(d, sizeof(d), "at most %u bytes of stdin may wait for the process",
                       PROC_STDIN_MAX);
        return sb_reply_problem(rep, 429, "stdin-backlog", "Stdin backlog full", d);
    }
    flush_stdin(m, p);
    return sb_reply_json(rep, 202,
                         json_pack("{s:I, s:I, s:b}", "accepted", (json_int_t)msg->f[3].s.len,
                                   "pending", (json_int_t)p->in_len, "closed", p->in_eof));
}

static int h_output(sb_monitor *m, const sb_ipc_msg *msg, const sb_tenant *t, sb_reply *rep,
                    sb_error *err) {
    (void)err;
    struct sb_proc *p = owned_proc(m, msg, t, rep);
    if (!p) return 0;
    if (p->mode == SB_EXEC_SYNC)
        return sb_reply_problem(rep, 409, "conflict", "Conflict",
                                "a synchronous exec's output comes with its reply");
    if (p->consumer)
        return sb_reply_problem(rep, 409, "conflict", "Conflict",
                                "another client is reading this process's output");
    attach(m, p, msg->id);
    rep->status = 0;
    (void)pump(m, p);
    return 0;
}

static int h_ack(sb_monitor *m, const sb_ipc_msg *msg, const sb_tenant *t, sb_reply *rep,
                 sb_error *err) {
    (void)t;
    (void)err;
    rep->status = 0;
    struct sb_proc *p = find_stream(m, msg->id);
    if (!p) {
        (void)sb_files_stream_ack(m, msg->id, (uint32_t)msg->f[0].u);
        return 0;
    }
    uint64_t b = msg->f[0].u;
    p->unacked = b < p->unacked ? p->unacked - b : 0;
    (void)pump(m, p);
    return 0;
}

static int h_close(sb_monitor *m, const sb_ipc_msg *msg, const sb_tenant *t, sb_reply *rep,
                   sb_error *err) {
    (void)t;
    (void)err;
    rep->status = 0;
    struct sb_proc *p = find_stream(m, msg->id);
    if (!p) {
        (void)sb_files_stream_close(m, msg->id);
        return 0;
    }
    detach(m, p);
    return 0;
}

static const sb_handler PROC_HANDLERS[] = {
    {SB_IPC_SBX_EXEC, true, c_exec, h_exec},     {SB_IPC_PROC_LIST, true, c_sbx, h_list},
    {SB_IPC_PROC_GET, true, c_proc, h_get},      {SB_IPC_PROC_SIGNAL, true, c_signal, h_signal},
    {SB_IPC_PROC_STDIN, true, c_stdin, h_stdin}, {SB_IPC_PROC_OUTPUT, true, c_proc, h_output},
    {SB_IPC_STREAM_ACK, false, NULL, h_ack},     {SB_IPC_STREAM_CLOSE, false, NULL, h_close},
};

const sb_handler *sb_proc_handler(uint16_t type) {
    for (size_t i = 0; i < SB_ARRAY_LEN(PROC_HANDLERS); i++)
        if (PROC_HANDLERS[i].type == type) return &PROC_HANDLERS[i];
    return NULL;
}

int sb_proc_init(sb_monitor *m, sb_error *err) {
    m->procs = calloc(1, sizeof(*m->procs));
    ENSURE(m->procs, err, SB_E_INTERNAL, "out of memory");
    m->procs->frame = malloc(SB_PROTO_MAX_FRAME);
    if (!m->procs->frame) {
        free(m->procs);
        m->procs = NULL;
        BAIL(err, SB_E_INTERNAL, "out of memory");
    }
    return 0;
}

void sb_proc_fini(sb_monitor *m) {
    if (!m->procs) return;
    free(m->procs->frame);
    free(m->procs);
    m->procs = NULL;
}
