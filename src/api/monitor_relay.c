/* monitor_relay: sealbox-init's KBS requests in the daemon's sandboxes (docs/secrets.md, "In the
 * daemon"). A sandbox has no network, so its init asks the monitor, which owns the sandbox and
 * its measurement log, to relay the handshake to the configured KBS and to attest. A relayed
 * request is a KBS round trip (and, for evidence, a signature or a TPM quote): the loop must not
 * wait for it. The loop hands each request to a small pool of worker threads, with a snapshot of
 * the sandbox's log taken when the request arrived (the loop may add events meanwhile), and
 * sends the answer to init when a worker has made it (an eventfd wakes the loop).
 *
 * What the workers touch: the job (theirs alone), the sandbox's sb_kbs_relay (one request of a
 * sandbox at a time: the loop refuses a second while one is answered), the attester (one
 * evidence at a time, under att_mu: a TPM context is not thread-safe) and libcurl handles of
 * their own. Nothing of the loop's state: a job names its sandbox by a reference-counted
 * session, never by a pointer the loop may free. */
#include <curl/curl.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "../attester/attester.h"
#include "../kbs/kbs.h"
#include "monitor_int.h"

#define RELAY_WORKERS 2    /* requests answered at once (each mostly waits on the KBS) */
#define RELAY_QUEUE_MAX 64 /* requests waiting for a worker, over every sandbox */
#define RELAY_TIMEOUT_S 30 /* per relayed HTTP request */

/* One sandbox's KBS session (its libcurl handle keeps the session cookie). */
struct sb_srelay {
    sb_kbs_relay *kr; /* made by the first job, on a worker */
    unsigned refs;    /* the sandbox's own + the job in flight (under mu) */
    bool busy;        /* a request of the sandbox is being answered (loop only) */
};

struct job {
    struct job *next;
    struct sb_srelay *sr;
    uint8_t *frame; /* the request, as init sent it */
    size_t n;
    char *log; /* the sandbox's exported log when the request arrived */
    size_t log_len;
    char digest[104];
    uint8_t *reply; /* the answer frame (NULL: none could be made) */
    size_t reply_len;
};

struct sb_mrelay {
    struct sb_kbs_relay_cfg cfg; /* the KBS and the attester; no log (snapshots instead) */
    sb_attester *att;
    pthread_mutex_t mu, att_mu;
    pthread_cond_t cv;
    struct job *queue, *queue_tail, *done;
    unsigned queued;
    bool stop;
    int efd;
    pthread_t th[RELAY_WORKERS];
    unsigned nth;
    uint64_t requests, refused; /* metrics (loop only) */
};

static void job_free(struct job *j) {
    if (!j) return;
    free(j->frame);
    free(j->log);
    free(j->reply);
    free(j);
}

static enum sb_msg_type reply_type(uint16_t req) {
    return req == SB_MSG_KBS_REQ       ? SB_MSG_KBS_RESP
           : req == SB_MSG_CONTEXT_REQ ? SB_MSG_CONTEXT
                                       : SB_MSG_EVIDENCE;
}

/* On a worker: the answer to one request. */
static void answer(struct sb_mrelay *r, struct job *j) {
    struct sb_msg m;
    sb_error e = {0};
    if (sb_msg_parse(j->frame, j->n, &m, &e) < 0) return; /* the loop parsed it already */
    sb_writer w;
    sb_writer_init(&w, SB_PROTO_MAX_FRAME);
    int rc = 0;
    if (!j->sr->kr) {
        struct sb_kbs_relay_cfg c = r->cfg;
        rc = sb_kbs_relay_new(&c, &j->sr->kr, &e);
    }
    if (rc == 0) {
        struct sb_kbs_relay_log log = {
            .json = j->log ? j->log : "", .len = j->log_len, .digest = j->digest};
        bool evidence = m.type == SB_MSG_EVIDENCE_REQ;
        if (evidence) pthread_mutex_lock(&r->att_mu);
        rc = sb_kbs_relay_answer_log(j->sr->kr, &m, &log, &w);
        if (evidence) pthread_mutex_unlock(&r->att_mu);
        if (rc < 0) (void)sb_error_set(&e, SB_E_INTERNAL, "relay: cannot answer");
    }
    if (rc < 0 || sb_writer_status(&w) < 0 || w.len == 0) {
        sb_writer_free(&w);
        sb_writer_init(&w, SB_PROTO_MAX_FRAME);
        (void)sb_msg_encode_reply(&w, reply_type(m.type), m.exec_id, 0, "", e.msg, strlen(e.msg));
    }
    if (sb_writer_status(&w) == 0 && w.len) {
        j->reply = malloc(w.len);
        if (j->reply) {
            memcpy(j->reply, w.buf, w.len);
            j->reply_len = w.len;
        }
    }
    sb_writer_free(&w);
    sb_msg_free(&m);
}

static void *worker(void *arg) {
    struct sb_mrelay *r = arg;
    pthread_mutex_lock(&r->mu);
    for (;;) {
        while (!r->queue && !r->stop)
            pthread_cond_wait(&r->cv, &r->mu);
        if (r->stop) break; /* what still waits is dropped by fini */
        struct job *j = r->queue;
        r->queue = j->next;
        if (!r->queue) r->queue_tail = NULL;
        r->queued--;
        pthread_mutex_unlock(&r->mu);
        answer(r, j);
        pthread_mutex_lock(&r->mu);
        j->next = r->done;
        r->done = j;
        uint64_t one = 1;
        if (write(r->efd, &one, sizeof(one)) < 0) { /* full: the loop has reads pending */
        }
    }
    pthread_mutex_unlock(&r->mu);
    return NULL;
}

static void srelay_unref(struct sb_mrelay *r, struct sb_srelay *sr) {
    pthread_mutex_lock(&r->mu);
    bool last = --sr->refs == 0;
    pthread_mutex_unlock(&r->mu);
    if (!last) return;
    sb_kbs_relay_free(sr->kr);
    free(sr);
}

static int open_attester(const sb_monitor_cfg *c, sb_attester **out, sb_error *err) {
    const char *kind = c->attester ? c->attester : "software";
    if (strcmp(kind, "tsm") == 0)
        return sb_attester_open_tsm(c->tsm_dir ? c->tsm_dir : SB_TSM_DEFAULT_DIR, out, err);
    if (strcmp(kind, "tpm") == 0) {
        struct sb_tpm_config tc = {.tcti = c->tcti};
        return sb_attester_open_tpm(&tc, out, err);
    }
    ENSURE(strcmp(kind, "software") == 0, err, SB_E_USAGE,
           "--attester: '%.40s' is not software, tsm or tpm", kind);
    char kp[4300];
    if (!c->attester_key) {
        int k = snprintf(kp, sizeof(kp), "%s/%s", c->state_dir, SB_SOFTWARE_KEY_FILE);
        ENSURE(k > 0 && (size_t)k < sizeof(kp), err, SB_E_USAGE, "state dir: path too long");
    }
    return sb_attester_open_software(c->attester_key ? c->attester_key : kp, out, err);
}

int sb_monitor_relay_init(sb_monitor *m, sb_error *err) {
    const sb_monitor_cfg *c = &m->cfg;
    if (!c->kbs_url) return 0;
    /* libcurl's global state, once, before any thread makes a handle */
    ENSURE(curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK, err, SB_E_INTERNAL,
           "relay: libcurl cannot start");
    struct sb_mrelay *r = calloc(1, sizeof(*r));
    ENSURE(r, err, SB_E_INTERNAL, "out of memory");
    r->efd = -1;
    int rc = open_attester(c, &r->att, err);
    if (rc < 0) {
        free(r);
        return rc;
    }
    r->cfg = (struct sb_kbs_relay_cfg){.url = c->kbs_url,
                                       .unix_socket = c->kbs_unix_socket,
                                       .ca_file = c->kbs_ca,
                                       .timeout_s = RELAY_TIMEOUT_S,
                                       .attester = r->att};
    pthread_mutex_init(&r->mu, NULL);
    pthread_mutex_init(&r->att_mu, NULL);
    pthread_cond_init(&r->cv, NULL);
    r->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    m->relay = r;
    if (r->efd < 0) {
        sb_monitor_relay_fini(m);
        BAIL(err, SB_E_IO, "relay: eventfd: %s", strerror(errno));
    }
    /* The workers take no signal: SIGTERM, SIGHUP and the rest are the loop's (its signalfd),
     * and a thread that left them unblocked would take SIGTERM's default action instead. */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    int e = 0;
    for (; r->nth < RELAY_WORKERS && !e; r->nth++)
        e = pthread_create(&r->th[r->nth], NULL, worker, r);
    if (e) r->nth--;
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (e) {
        sb_monitor_relay_fini(m);
        BAIL(err, SB_E_INTERNAL, "relay: cannot start a worker: %s", strerror(e));
    }
    sb_logf(c->log, SB_LOG_INFO, "sandbox secrets: KBS %s, %s attester", c->kbs_url,
            sb_attester_tee(r->att));
    return 0;
}

void sb_monitor_relay_fini(sb_monitor *m) {
    struct sb_mrelay *r = m->relay;
    if (!r) return;
    pthread_mutex_lock(&r->mu);
    r->stop = true;
    pthread_cond_broadcast(&r->cv);
    pthread_mutex_unlock(&r->mu);
    for (unsigned i = 0; i < r->nth; i++)
        (void)pthread_join(r->th[i], NULL);
    /* no worker runs any more: what is left is only the loop's */
    struct job *lists[2] = {r->queue, r->done};
    for (int k = 0; k < 2; k++)
        while (lists[k]) {
            struct job *j = lists[k];
            lists[k] = j->next;
            srelay_unref(r, j->sr);
            job_free(j);
        }
    if (r->efd >= 0) (void)close(r->efd);
    pthread_cond_destroy(&r->cv);
    pthread_mutex_destroy(&r->att_mu);
    pthread_mutex_destroy(&r->mu);
    sb_attester_free(r->att);
    free(r);
    m->relay = NULL;
}

int sb_monitor_relay_fd(sb_monitor *m) { return m->relay ? m->relay->efd : -1; }

/* Refuses a request at once (the reply says why: init reports it to its caller). */
static void refuse(sb_monitor *m, struct sbx *s, const uint8_t *frame, size_t n, const char *why) {
    struct sb_msg req;
    sb_error e = {0};
    if (sb_msg_parse(frame, n, &req, &e) < 0) return;
    sb_writer w;
    sb_writer_init(&w, SB_PROTO_MAX_FRAME);
    (void)sb_msg_encode_reply(&w, reply_type(req.type), req.exec_id, 0, "", why, strlen(why));
    if (sb_writer_status(&w) == 0 && sb_sandbox_chan_reply(s->h, w.buf, w.len, &e) < 0)
        sb_logf(sb_monitor_log(m), SB_LOG_WARN, "sandbox %s: relay: %s", s->id, e.msg);
    sb_writer_free(&w);
    sb_msg_free(&req);
    if (m->relay) m->relay->refused++;
}

void sb_monitor_relay_request(sb_monitor *m, struct sbx *s, int type, const uint8_t *frame,
                              size_t n) {
    struct sb_mrelay *r = m->relay;
    if (!r) {
        refuse(m, s, frame, n, "this sandbox has no KBS configured (sealboxd --kbs-url)");
        return;
    }
    if (!s->mlog || s->mlog_broken) {
        refuse(m, s, frame, n, "relay: the sandbox's measurement log could not be kept");
        return;
    }
    if (s->relay && s->relay->busy) {
        refuse(m, s, frame, n, "relay: one request of a sandbox at a time");
        return;
    }
    if (r->queued >= RELAY_QUEUE_MAX) {
        refuse(m, s, frame, n, "relay: too many requests waiting for the KBS");
        return;
    }
    struct job *j = calloc(1, sizeof(*j));
    sb_error e = {0};
    if (j) j->frame = malloc(n);
    if (!j || !j->frame) {
        job_free(j);
        refuse(m, s, frame, n, "relay: out of memory");
        return;
    }
    memcpy(j->frame, frame, n);
    j->n = n;
    /* the log as it is now: what this request's context or evidence is about */
    uint8_t d[SB_MLOG_DIGEST_LEN];
    sb_mlog_digest(s->mlog, d);
    sb_mlog_digest_str(d, j->digest);
    if (type == SB_MSG_CONTEXT_REQ && sb_mlog_export(s->mlog, &j->log, &j->log_len, &e) < 0) {
        job_free(j);
        refuse(m, s, frame, n, e.msg);
        return;
    }
    if (!s->relay) {
        s->relay = calloc(1, sizeof(*s->relay));
        if (!s->relay) {
            job_free(j);
            refuse(m, s, frame, n, "relay: out of memory");
            return;
        }
        s->relay->refs = 1;
    }
    j->sr = s->relay;
    s->relay->busy = true;
    r->requests++;
    pthread_mutex_lock(&r->mu);
    s->relay->refs++;
    if (r->queue_tail)
        r->queue_tail->next = j;
    else
        r->queue = j;
    r->queue_tail = j;
    r->queued++;
    pthread_cond_signal(&r->cv);
    pthread_mutex_unlock(&r->mu);
}

void sb_monitor_relay_events(sb_monitor *m) {
    struct sb_mrelay *r = m->relay;
    if (!r) return;
    uint64_t v;
    if (read(r->efd, &v, sizeof(v)) < 0) return; /* nothing ready */
    pthread_mutex_lock(&r->mu);
    struct job *j = r->done;
    r->done = NULL;
    pthread_mutex_unlock(&r->mu);
    while (j) {
        struct job *next = j->next;
        struct sbx *s = sb_monitor_sbx_first(m);
        while (s && s->relay != j->sr)
            s = s->next;
        if (s) { /* still there: init waits for this answer */
            s->relay->busy = false;
            sb_error e = {0};
            if (!j->reply)
                refuse(m, s, j->frame, j->n, "relay: out of memory");
            else if (s->h && sb_sandbox_chan_reply(s->h, j->reply, j->reply_len, &e) < 0)
                sb_logf(sb_monitor_log(m), SB_LOG_WARN, "sandbox %s: relay: %s", s->id, e.msg);
        }
        srelay_unref(r, j->sr);
        job_free(j);
        j = next;
    }
}

void sb_monitor_relay_sandbox_gone(sb_monitor *m, struct sbx *s) {
    if (!s->relay) return;
    struct sb_srelay *sr = s->relay;
    s->relay = NULL;
    if (m->relay) {
        srelay_unref(m->relay, sr);
    } else { /* no workers ever: nothing else holds it */
        sb_kbs_relay_free(sr->kr);
        free(sr);
    }
}

void sb_monitor_relay_metrics(sb_monitor *m, sb_writer *w) {
    struct sb_mrelay *r = m->relay;
    if (!r) return;
    (void)sb_writer_printf(w,
                           "# HELP sealbox_kbs_relay_requests_total sealbox-init KBS requests "
                           "relayed for the sandboxes.\n"
                           "# TYPE sealbox_kbs_relay_requests_total counter\n"
                           "sealbox_kbs_relay_requests_total %llu\n"
                           "# HELP sealbox_kbs_relay_refused_total sealbox-init KBS requests "
                           "refused before reaching the KBS.\n"
                           "# TYPE sealbox_kbs_relay_refused_total counter\n"
                           "sealbox_kbs_relay_refused_total %llu\n",
                           (unsigned long long)r->requests, (unsigned long long)r->refused);
}
