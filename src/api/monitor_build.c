/* monitor_build: the monitor's sandbox builders. Creating a jail sandbox takes tens to hundreds
 * of milliseconds (namespaces, mounts, cgroups, sealbox-init's start) and destroying one waits
 * for its init to die and its cgroup to empty; done on the loop, every request of every tenant
 * waited behind them. The loop hands that work to a small pool of worker threads and carries on;
 * a worker posts the finished job back (an eventfd wakes the loop), and the loop — which alone
 * touches the store, the keys, the sandbox list and the front — settles it.
 *
 * What a worker touches: its job only (a config whose strings the job owns, or the handle of a
 * sandbox the loop no longer lists) and the sandbox backend, whose create and destroy are
 * thread-safe (the uid-slot table is locked with flock on a descriptor of its own, the
 * sealbox-init copy under a mutex, the seccomp program compiled once before any worker starts).
 *
 * Two rules come from the kernel and the C library:
 * - A worker never exits while a sandbox it created may live: sealbox-init is killed by
 *   PR_SET_PDEATHSIG when the *thread* that cloned it ends. The workers live as long as the
 *   monitor's sandboxes (sb_build_fini runs after every sandbox is destroyed).
 * - The sandbox half of a create is a raw clone of a multi-threaded process: until it execs
 *   sealbox-init it must take no lock another thread may have held at the clone (malloc, stdio,
 *   OpenSSL, SQLite). jail.c's sandbox half makes only system calls and formats into stack
 *   buffers; the one thing it would have allocated, the compiled seccomp program, is compiled by
 *   sb_build_init before the first worker starts. */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "../sandbox/sandbox.h"
#include "monitor_int.h"

struct sb_mbuild {
    const struct sb_backend_ops *be;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    /* waiting, by priority: teardowns and freezes (they end a request's wait and free what a
     * tenant's quota counts), then creates, then the warm pool's refills */
    struct sb_bjob *q[3], *q_tail[3];
    struct sb_bjob *done;     /* finished, newest first */
    unsigned running, queued; /* under mu */
    bool stop;
    int efd;
    pthread_t th[SB_BUILD_WORKERS];
    unsigned nth;
    /* loop only */
    unsigned inflight;          /* submitted and not yet settled */
    uint64_t jobs, wait_ns_sum; /* metrics: jobs settled, time they waited for a worker */
};

static void run_job(const struct sb_backend_ops *be, struct sb_bjob *j) {
    switch (j->kind) {
    case SB_BJOB_CREATE: j->rc = be->create(j->sc, &j->h, &j->err); break;
    case SB_BJOB_DESTROY:
        be->destroy(j->h);
        j->h = NULL;
        j->rc = 0;
        break;
    case SB_BJOB_FREEZE: j->rc = be->freeze(j->h, &j->err); break;
    default: j->rc = sb_error_set(&j->err, SB_E_INTERNAL, "build: unknown job"); break;
    }
}

static unsigned prio(const struct sb_bjob *j) {
    return j->low ? 2 : j->kind == SB_BJOB_CREATE ? 1 : 0;
}

static struct sb_bjob *take(struct sb_mbuild *b) {
    for (unsigned k = 0; k < 3; k++) {
        struct sb_bjob *j = b->q[k];
        if (!j) continue;
        b->q[k] = j->next;
        if (!b->q[k]) b->q_tail[k] = NULL;
        j->next = NULL;
        b->queued--;
        return j;
    }
    return NULL;
}

static void *worker(void *arg) {
    struct sb_mbuild *b = arg;
    pthread_mutex_lock(&b->mu);
    for (;;) {
        while (!b->queued && !b->stop)
            pthread_cond_wait(&b->cv, &b->mu);
        struct sb_bjob *j = take(b);
        if (!j) break; /* stopping, and nothing waits */
        b->running++;
        j->started_ns = sb_mono_ns();
        pthread_mutex_unlock(&b->mu);
        run_job(b->be, j);
        pthread_mutex_lock(&b->mu);
        j->ended_ns = sb_mono_ns();
        b->running--;
        j->next = b->done;
        b->done = j;
        uint64_t one = 1;
        if (write(b->efd, &one, sizeof(one)) < 0) { /* full: the loop has reads pending */
        }
    }
    pthread_mutex_unlock(&b->mu);
    return NULL;
}

int sb_build_init(sb_monitor *m, const struct sb_backend_ops *be, sb_error *err) {
    /* Compiled here, before any worker runs: the sandbox half of a create then only loads it
     * (compiling allocates, which a clone of a threaded process must not do). */
    TRY(sb_seccomp_prepare(err));
    struct sb_mbuild *b = calloc(1, sizeof(*b));
    ENSURE(b, err, SB_E_INTERNAL, "out of memory");
    b->be = be;
    b->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (b->efd < 0) {
        int e = errno;
        free(b);
        BAIL(err, SB_E_IO, "build: eventfd: %s", strerror(e));
    }
    pthread_mutex_init(&b->mu, NULL);
    pthread_cond_init(&b->cv, NULL);
    m->build = b;
    /* The workers take none of the loop's signals (its signalfd has them), and their sandboxes'
     * sealbox-init inherits the mask the loop's own creates gave it before: SIGTERM, SIGINT
     * and SIGHUP blocked. */
    sigset_t set, old;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &set, &old);
    int e = 0;
    for (; b->nth < SB_BUILD_WORKERS && !e; b->nth++) {
        e = pthread_create(&b->th[b->nth], NULL, worker, b);
        if (!e) (void)pthread_setname_np(b->th[b->nth], "sealboxd-build");
    }
    if (e) b->nth--;
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (e) {
        sb_build_fini(m);
        BAIL(err, SB_E_INTERNAL, "build: cannot start a worker: %s", strerror(e));
    }
    return 0;
}

void sb_build_submit(sb_monitor *m, struct sb_bjob *j) {
    struct sb_mbuild *b = m->build;
    j->queued_ns = sb_mono_ns();
    j->next = NULL;
    b->inflight++;
    pthread_mutex_lock(&b->mu);
    unsigned k = prio(j);
    if (b->q_tail[k])
        b->q_tail[k]->next = j;
    else
        b->q[k] = j;
    b->q_tail[k] = j;
    b->queued++;
    pthread_cond_signal(&b->cv);
    pthread_mutex_unlock(&b->mu);
}

bool sb_build_cancel(sb_monitor *m, struct sb_bjob *j) {
    struct sb_mbuild *b = m->build;
    bool found = false;
    unsigned q = prio(j);
    pthread_mutex_lock(&b->mu);
    struct sb_bjob *prev = NULL;
    for (struct sb_bjob **pp = &b->q[q]; *pp; prev = *pp, pp = &(*pp)->next) {
        if (*pp != j) continue;
        *pp = j->next;
        if (b->q_tail[q] == j) b->q_tail[q] = prev;
        j->next = NULL;
        b->queued--;
        found = true;
        break;
    }
    pthread_mutex_unlock(&b->mu);
    if (found) b->inflight--;
    return found;
}

int sb_build_fd(const sb_monitor *m) { return m->build ? m->build->efd : -1; }

unsigned sb_build_inflight(const sb_monitor *m) { return m->build ? m->build->inflight : 0; }

void sb_build_events(sb_monitor *m) {
    struct sb_mbuild *b = m->build;
    if (!b) return;
    uint64_t v;
    while (read(b->efd, &v, sizeof(v)) == (ssize_t)sizeof(v)) {
    }
    pthread_mutex_lock(&b->mu);
    struct sb_bjob *l = b->done;
    b->done = NULL;
    pthread_mutex_unlock(&b->mu);
    struct sb_bjob *fifo = NULL; /* oldest first */
    while (l) {
        struct sb_bjob *n = l->next;
        l->next = fifo;
        fifo = l;
        l = n;
    }
    while (fifo) {
        struct sb_bjob *j = fifo;
        fifo = j->next;
        j->next = NULL;
        b->inflight--;
        b->jobs++;
        b->wait_ns_sum += j->started_ns - j->queued_ns;
        j->done(m, j); /* frees the job */
    }
}

void sb_build_drain(sb_monitor *m) {
    struct sb_mbuild *b = m->build;
    if (!b) return;
    while (b->inflight) {
        struct pollfd p = {b->efd, POLLIN, 0};
        (void)poll(&p, 1, 200);
        sb_build_events(m);
    }
}

void sb_build_metrics(sb_monitor *m, sb_writer *w) {
    struct sb_mbuild *b = m->build;
    if (!b) return;
    pthread_mutex_lock(&b->mu);
    unsigned running = b->running, queued = b->queued;
    pthread_mutex_unlock(&b->mu);
    (void)sb_writer_printf(
        w,
        "# HELP sealbox_builders Sandbox builders (worker threads that create and destroy "
        "sandboxes off the monitor's loop): jobs running and waiting.\n"
        "# TYPE sealbox_builders gauge\n"
        "sealbox_builders{kind=\"workers\"} %u\nsealbox_builders{kind=\"running\"} %u\n"
        "sealbox_builders{kind=\"queued\"} %u\n"
        "# HELP sealbox_build_jobs_total Builder jobs finished.\n"
        "# TYPE sealbox_build_jobs_total counter\nsealbox_build_jobs_total %llu\n"
        "# HELP sealbox_build_wait_seconds_sum Time builder jobs waited for a worker.\n"
        "# TYPE sealbox_build_wait_seconds_sum counter\nsealbox_build_wait_seconds_sum %.6f\n",
        b->nth, running, queued, (unsigned long long)b->jobs, (double)b->wait_ns_sum / 1e9);
}

/* Only once nothing is in flight and no sandbox a worker made lives any more (see the top). */
void sb_build_fini(sb_monitor *m) {
    struct sb_mbuild *b = m->build;
    if (!b) return;
    sb_build_drain(m);
    pthread_mutex_lock(&b->mu);
    b->stop = true;
    pthread_cond_broadcast(&b->cv);
    pthread_mutex_unlock(&b->mu);
    for (unsigned i = 0; i < b->nth; i++)
        (void)pthread_join(b->th[i], NULL);
    (void)close(b->efd);
    pthread_cond_destroy(&b->cv);
    pthread_mutex_destroy(&b->mu);
    free(b);
    m->build = NULL;
}
