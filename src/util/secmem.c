/* secmem: memory for keys and secrets — locked in RAM, kept out of core dumps, wiped on free. */
#include <string.h>
#include <sys/mman.h>

#include "util.h"

void sb_wipe(void *p, size_t n) {
    if (p && n) explicit_bzero(p, n);
}

/* The size is stored in front of the block so sb_secret_free can unmap exactly. */
#define SB_SECRET_HDR 64

void *sb_secret_alloc(size_t n) {
    size_t total;
    if (sb_add_overflow_size(n, SB_SECRET_HDR, &total)) return NULL;
    void *m = mmap(NULL, total, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (m == MAP_FAILED) return NULL;
    (void)madvise(m, total, MADV_DONTDUMP);
    /* mlock may fail under a small RLIMIT_MEMLOCK; the memory is still wiped and undumpable. */
    (void)mlock(m, total);
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
    (void)munlock(m, total);
    (void)munmap(m, total);
}
