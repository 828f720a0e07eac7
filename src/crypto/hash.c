/* hash: SHA-1/2 digests (one-shot and streaming), HMAC, the CSPRNG and constant-time
 * comparison, all through OpenSSL 3 EVP. */
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/rand.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "internal.h"

struct sb_hash_ctx {
    EVP_MD_CTX *md;
    enum sb_hash h;
};

static const struct {
    const char *name;
    size_t len;
} HASHES[SB_HASH_MAX] = {
    [SB_HASH_SHA1] = {"sha1", 20},
    [SB_HASH_SHA256] = {"sha256", 32},
    [SB_HASH_SHA384] = {"sha384", 48},
    [SB_HASH_SHA512] = {"sha512", 64},
};

int sb_ossl_err(sb_error *err, int code, const char *fmt, ...) {
    char msg[SB_ERRMSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    (void)vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    unsigned long e = ERR_peek_last_error();
    const char *reason = e ? ERR_reason_error_string(e) : NULL;
    ERR_clear_error();
    if (reason) return sb_error_set(err, code, "%s (openssl: %s)", msg, reason);
    return sb_error_set(err, code, "%s", msg);
}

/* The digests, fetched once per process: OpenSSL 3's EVP_sha256() and the like are fetched
 * again by every operation that uses them (a method-store lookup under a lock each time). */
static EVP_MD *fetched[SB_HASH_MAX];
static pthread_once_t fetch_once = PTHREAD_ONCE_INIT;

static void fetch_all(void) {
    static const char *const NAMES[SB_HASH_MAX] = {"SHA1", "SHA2-256", "SHA2-384", "SHA2-512"};
    for (int i = 0; i < SB_HASH_MAX; i++)
        fetched[i] = EVP_MD_fetch(NULL, NAMES[i], NULL);
}

const EVP_MD *sb_evp_md(enum sb_hash h) {
    if ((unsigned)h >= SB_HASH_MAX) return NULL;
    (void)pthread_once(&fetch_once, fetch_all);
    if (fetched[h]) return fetched[h];
    switch (h) { /* not fetchable (cannot happen with the default provider): the implicit ones */
    case SB_HASH_SHA1: return EVP_sha1();
    case SB_HASH_SHA256: return EVP_sha256();
    case SB_HASH_SHA384: return EVP_sha384();
    case SB_HASH_SHA512: return EVP_sha512();
    default: return NULL;
    }
}

size_t sb_hash_len(enum sb_hash h) { return (unsigned)h < SB_HASH_MAX ? HASHES[h].len : 0; }

const char *sb_hash_name(enum sb_hash h) {
    return (unsigned)h < SB_HASH_MAX ? HASHES[h].name : "unknown";
}

int sb_hash_from_name(const char *name, enum sb_hash *out) {
    if (!name) return SB_E_USAGE;
    for (int i = 0; i < SB_HASH_MAX; i++) {
        if (strcmp(name, HASHES[i].name) == 0) {
            *out = (enum sb_hash)i;
            return 0;
        }
    }
    return SB_E_UNSUPPORTED;
}

int sb_hash(enum sb_hash h, const void *p, size_t n, uint8_t *out, sb_error *err) {
    const EVP_MD *md = sb_evp_md(h);
    ENSURE(md, err, SB_E_USAGE, "hash: unknown algorithm %d", (int)h);
    ENSURE(p || n == 0, err, SB_E_USAGE, "hash: NULL input of %zu bytes", n);
    unsigned int olen = 0;
    uint8_t buf[EVP_MAX_MD_SIZE];
    if (EVP_Digest(n ? p : "", n, buf, &olen, md, NULL) != 1)
        return sb_ossl_err(err, SB_E_INTERNAL, "hash: %s failed", HASHES[h].name);
    memcpy(out, buf, olen);
    return 0;
}

int sb_hash_ctx_new(enum sb_hash h, sb_hash_ctx **out, sb_error *err) {
    const EVP_MD *md = sb_evp_md(h);
    ENSURE(md, err, SB_E_USAGE, "hash: unknown algorithm %d", (int)h);
    sb_hash_ctx *c = calloc(1, sizeof(*c));
    if (!c) BAIL(err, SB_E_INTERNAL, "hash: out of memory");
    c->h = h;
    c->md = EVP_MD_CTX_new();
    if (!c->md || EVP_DigestInit_ex(c->md, md, NULL) != 1) {
        sb_hash_ctx_free(c);
        return sb_ossl_err(err, SB_E_INTERNAL, "hash: %s init failed", HASHES[h].name);
    }
    *out = c;
    return 0;
}

int sb_hash_ctx_update(sb_hash_ctx *c, const void *p, size_t n, sb_error *err) {
    ENSURE(c && c->md && (p || n == 0), err, SB_E_USAGE, "hash: bad update arguments");
    if (n && EVP_DigestUpdate(c->md, p, n) != 1)
        return sb_ossl_err(err, SB_E_INTERNAL, "hash: update failed");
    return 0;
}

int sb_hash_ctx_final(sb_hash_ctx *c, uint8_t *out, sb_error *err) {
    ENSURE(c && c->md, err, SB_E_USAGE, "hash: bad final arguments");
    uint8_t buf[EVP_MAX_MD_SIZE];
    unsigned int olen = 0;
    if (EVP_DigestFinal_ex(c->md, buf, &olen) != 1)
        return sb_ossl_err(err, SB_E_INTERNAL, "hash: final failed");
    memcpy(out, buf, olen);
    return 0;
}

void sb_hash_ctx_free(sb_hash_ctx *c) {
    if (!c) return;
    EVP_MD_CTX_free(c->md);
    free(c);
}

int sb_hmac(enum sb_hash h, const void *key, size_t keylen, const void *p, size_t n, uint8_t *out,
            sb_error *err) {
    ENSURE((unsigned)h < SB_HASH_MAX, err, SB_E_USAGE, "hmac: unknown algorithm %d", (int)h);
    ENSURE((key || keylen == 0) && (p || n == 0), err, SB_E_USAGE, "hmac: NULL input");
    static const uint8_t empty[1];
    uint8_t buf[EVP_MAX_MD_SIZE];
    size_t olen = 0;
    /* EVP_Q_mac is the EVP_MAC one-shot: HMAC keyed by key, digest named by h. */
    if (!EVP_Q_mac(NULL, "HMAC", NULL, HASHES[h].name, NULL, keylen ? key : empty, keylen,
                   n ? p : empty, n, buf, sizeof(buf), &olen) ||
        olen != HASHES[h].len)
        return sb_ossl_err(err, SB_E_INTERNAL, "hmac: %s failed", HASHES[h].name);
    memcpy(out, buf, olen);
    sb_wipe(buf, sizeof(buf));
    return 0;
}

int sb_random(void *buf, size_t n, sb_error *err) {
    ENSURE(buf || n == 0, err, SB_E_USAGE, "random: NULL buffer");
    uint8_t *b = buf;
    /* RAND_bytes takes an int count; feed it in bounded pieces. */
    while (n > 0) {
        size_t k = n > (1u << 20) ? (1u << 20) : n;
        if (RAND_bytes(b, (int)k) != 1)
            return sb_ossl_err(err, SB_E_INTERNAL, "random: CSPRNG failed");
        b += k;
        n -= k;
    }
    return 0;
}

bool sb_ct_equal(const void *a, const void *b, size_t n) {
    if (n == 0) return true;
    return CRYPTO_memcmp(a, b, n) == 0;
}
