/* secmem: memory for keys and secrets — locked in RAM, kept out of core dumps, wiped on free. */
#include <pthread.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "util.h"

void sb_wipe(void *p, size_t n) {
    if (p && n) explicit_bzero(p, n);
}

/* The size is stored in front of the block so sb_secret_free can unmap exactly. */
#define SB_SECRET_HDR 64

/* Freed one-page blocks (most secrets: keys, CEKs, small resource values) are wiped and kept,
 * still locked and out of core dumps, for the next allocation: a handshake allocates a few, and
 * mmap + madvise + mlock + munlock + munmap for each cost more than the AES that uses them. */
#define SB_SECRET_POOL_MAX 16
static void *secret_pool[SB_SECRET_POOL_MAX];
static size_t secret_pool_n;
static pthread_mutex_t secret_pool_mu = PTHREAD_MUTEX_INITIALIZER;

static size_t page_size(void) {
    long p = sysconf(_SC_PAGESIZE);
    return p > 0 ? (size_t)p : 4096;
}

void *sb_secret_alloc(size_t n) {
    size_t total, page = page_size();
    if (sb_add_overflow_size(n, SB_SECRET_HDR, &total)) return NULL;
    void *m = NULL;
    if (total <= page) {
        total = page;
        (void)pthread_mutex_lock(&secret_pool_mu);
        if (secret_pool_n > 0) m = secret_pool[--secret_pool_n];
        (void)pthread_mutex_unlock(&secret_pool_mu);
    }
    if (!m) {
        m = mmap(NULL, total, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (m == MAP_FAILED) return NULL;
        (void)madvise(m, total, MADV_DONTDUMP);
        /* mlock may fail under a small RLIMIT_MEMLOCK; the memory is still wiped and
         * undumpable. */
        (void)mlock(m, total);
    }
    memcpy(m, &total, sizeof(total));
    return (uint8_t *)m + SB_SECRET_HDR;
}

void sb_secret_free(void *p, size_t n) {
    (void)n;
    if (!p) return;
    uint8_t *m = (uint8_t *)p - SB_SECRET_HDR;
    size_t total;
    memcpy(&total, m, sizeof(total));
    explicit_bzero(m, total);
    if (total == page_size()) {
        bool kept = false;
        (void)pthread_mutex_lock(&secret_pool_mu);
        if (secret_pool_n < SB_SECRET_POOL_MAX) {
            secret_pool[secret_pool_n++] = m;
            kept = true;
        }
        (void)pthread_mutex_unlock(&secret_pool_mu);
        if (kept) return;
    }
    (void)munlock(m, total);
    (void)munmap(m, total);
}
