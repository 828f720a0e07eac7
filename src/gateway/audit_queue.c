/* audit_queue: a background writer for the audit log, so a request's latency never includes
 * the fsync of its audit record — records are queued by the engine's thread and appended by a
 * thread of their own (own store connection), many per transaction. */
#include <pthread.h>
#include <string.h>

#include "gateway.h"

struct qnode {
    json_t *rec;
    struct qnode *next;
};

struct sb_audit_queue {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    pthread_t thread;
    bool stop, started;
    struct qnode *head, *tail;
    size_t len;
    uint64_t dropped, written;
    sb_store *st;
    sb_audit *audit;
    sb_error err; /* the writer's first error */
    int rc;
};

#define BATCH_MAX 256

static void *writer(void *arg) {
    sb_audit_queue *q = arg;
    for (;;) {
        pthread_mutex_lock(&q->mu);
        while (!q->head && !q->stop)
            pthread_cond_wait(&q->cv, &q->mu);
        struct qnode *batch = q->head;
        size_t n = 0;
        struct qnode *last = NULL;
        for (struct qnode *c = q->head; c && n < BATCH_MAX; c = c->next) {
            last = c;
            n++;
        }
        if (last) {
            q->head = last->next;
            if (!q->head) q->tail = NULL;
            last->next = NULL;
            q->len -= n;
        }
        bool done = q->stop && !q->head && !batch;
        pthread_mutex_unlock(&q->mu);
        if (done) break;
        sb_error err = {0};
        int rc = n ? sb_store_begin(q->st, &err) : 0;
        for (struct qnode *c = batch; c;) {
            struct qnode *nx = c->next;
            if (rc == 0) rc = sb_audit_append(q->audit, c->rec, NULL, &err);
            json_decref(c->rec);
            free(c);
            c = nx;
        }
        if (n) {
            if (rc == 0)
                rc = sb_store_commit(q->st, &err);
            else
                sb_store_rollback(q->st);
        }
        /* a checkpoint every so often, outside the batch's transaction */
        if (rc == 0 && sb_audit_unsigned(q->audit) >= SB_AUDIT_CHECKPOINT_EVERY)
            rc = sb_audit_checkpoint(q->audit, &err);
        pthread_mutex_lock(&q->mu);
        if (rc == 0) q->written += n;
        if (rc < 0 && q->rc == 0) {
            q->rc = rc;
            q->err = err;
        }
        pthread_mutex_unlock(&q->mu);
    }
    return NULL;
}

static void q_free(sb_audit_queue *q) {
    sb_audit_close(q->audit);
    sb_store_close(q->st);
    pthread_cond_destroy(&q->cv);
    pthread_mutex_destroy(&q->mu);
    free(q);
}

int sb_audit_queue_start(const char *db_path, const sb_audit_cfg *cfg, sb_audit_queue **out,
                         sb_error *err) {
    sb_audit_queue *q = calloc(1, sizeof(*q));
    if (!q) BAIL(err, SB_E_INTERNAL, "out of memory");
    pthread_mutex_init(&q->mu, NULL);
    pthread_cond_init(&q->cv, NULL);
    int rc = sb_store_open(db_path, &q->st, err);
    if (rc == 0) rc = sb_audit_open(q->st, cfg, &q->audit, err);
    if (rc == 0 && pthread_create(&q->thread, NULL, writer, q) != 0)
        rc = sb_error_set(err, SB_E_INTERNAL, "audit: cannot start the writer thread");
    if (rc < 0) {
        q_free(q);
        return rc;
    }
    q->started = true;
    *out = q;
    return 0;
}

int sb_audit_queue_push(sb_audit_queue *q, json_t *record) {
    if (!q || !record) {
        json_decref(record);
        return SB_E_USAGE;
    }
    struct qnode *n = calloc(1, sizeof(*n));
    if (!n) {
        json_decref(record);
        return SB_E_INTERNAL;
    }
    n->rec = record;
    pthread_mutex_lock(&q->mu);
    int rc = 0;
    if (q->len >= SB_AUDIT_QUEUE_MAX || q->rc < 0) {
        q->dropped++;
        rc = q->rc < 0 ? q->rc : SB_E_LIMIT;
        json_decref(record);
        free(n);
    } else {
        if (q->tail)
            q->tail->next = n;
        else
            q->head = n;
        q->tail = n;
        q->len++;
        pthread_cond_signal(&q->cv);
    }
    pthread_mutex_unlock(&q->mu);
    return rc;
}

int sb_audit_queue_stop(sb_audit_queue *q, uint64_t *written, uint64_t *dropped, sb_error *err) {
    if (!q) return 0;
    pthread_mutex_lock(&q->mu);
    q->stop = true;
    pthread_cond_signal(&q->cv);
    pthread_mutex_unlock(&q->mu);
    if (q->started) pthread_join(q->thread, NULL);
    int rc = q->rc;
    if (rc < 0 && err) *err = q->err;
    /* a clean stop signs what was written (no-op without a signer or when already signed) */
    if (rc == 0 && sb_audit_unsigned(q->audit) > 0) {
        rc = sb_audit_checkpoint(q->audit, err);
        if (rc == SB_E_USAGE) rc = 0; /* no signer */
    }
    if (written) *written = q->written;
    if (dropped) *dropped = q->dropped;
    q_free(q);
    return rc;
}
