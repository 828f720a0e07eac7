/* audit: the tamper-evident log — appending hash-chained rows, signing the head at checkpoints
 * (in the database and in an exported head file), the checkpoint key, and verification. */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "gateway.h"

/* Domain separation for the signed head: "sealbox-audit-head/1\n" || u64be seq || hash ||
 * u64be ts; with a monotonic counter, "sealbox-audit-head/2\n" || the same || u64be counter. */
#define HEAD_MAGIC "sealbox-audit-head/1\n"
#define HEAD_MAGIC2 "sealbox-audit-head/2\n"
#define HEAD_MSG_LEN (sizeof(HEAD_MAGIC) - 1 + 8 + SB_AUDIT_HASH_LEN + 8)
#define HEAD_MSG_MAX (HEAD_MSG_LEN + 8)
#define PAGE 1000 /* rows per store read (SB_STORE_LIST_MAX) */
/* How far past the last row a renumbered row may have come from (for naming deletions). */
#define RENUMBER_SLACK 4096

struct sb_audit {
    sb_store *st;
    sb_audit_signer signer;
    bool has_signer;
    char *head_file;
    unsigned every;
    uint64_t since_ckpt;
    sb_audit_counter counter;
    bool has_counter;
};

struct sb_audit_key {
    sb_privkey *priv;
    sb_pubkey *pub;
    char kid[SB_AUDIT_KID_MAX + 1];
};

static int64_t now_ms(void) {
    struct timespec ts;
    (void)clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static const uint8_t ZERO[SB_AUDIT_HASH_LEN];

int sb_audit_row_hash(const uint8_t prev[SB_AUDIT_HASH_LEN], const char *record, size_t len,
                      uint64_t seq, uint8_t out[SB_AUDIT_HASH_LEN], sb_error *err) {
    uint8_t be[8];
    for (int i = 0; i < 8; i++)
        be[i] = (uint8_t)(seq >> (56 - 8 * i));
    sb_hash_ctx *c = NULL;
    TRY(sb_hash_ctx_new(SB_HASH_SHA256, &c, err));
    int r = sb_hash_ctx_update(c, prev, SB_AUDIT_HASH_LEN, err);
    if (r == 0) r = sb_hash_ctx_update(c, record, len, err);
    if (r == 0) r = sb_hash_ctx_update(c, be, sizeof(be), err);
    if (r == 0) r = sb_hash_ctx_final(c, out, err);
    sb_hash_ctx_free(c);
    return r;
}

int sb_audit_json_digest(const json_t *v, char out[SB_AUDIT_DIGEST_LEN + 1], sb_error *err) {
    char *c = NULL;
    size_t n = 0;
    TRY(sb_json_canonical(v, &c, &n, err));
    uint8_t h[32];
    int r = sb_hash(SB_HASH_SHA256, c, n, h, err);
    free(c);
    TRY(r);
    memcpy(out, "sha256:", 7);
    sb_hex_encode(h, sizeof(h), out + 7);
    return 0;
}

/* The signed message of a head; version 2 (with the counter) when counter > 0. */
static int head_message(uint64_t seq, const uint8_t hash[SB_AUDIT_HASH_LEN], int64_t ts,
                        uint64_t counter, uint8_t out[HEAD_MSG_MAX], size_t *len, sb_error *err) {
    size_t want = counter ? HEAD_MSG_MAX : HEAD_MSG_LEN;
    sb_writer w;
    sb_writer_init(&w, want);
    (void)sb_writer_str(&w, counter ? HEAD_MAGIC2 : HEAD_MAGIC);
    (void)sb_writer_u64be(&w, seq);
    (void)sb_writer_bytes(&w, hash, SB_AUDIT_HASH_LEN);
    (void)sb_writer_u64be(&w, (uint64_t)ts);
    if (counter) (void)sb_writer_u64be(&w, counter);
    int r = sb_writer_status(&w);
    if (r == 0 && w.len != want) r = SB_E_INTERNAL;
    if (r == 0) {
        memcpy(out, w.buf, want);
        *len = want;
    }
    sb_writer_free(&w);
    if (r < 0) BAIL(err, SB_E_INTERNAL, "audit: cannot build the head message");
    return 0;
}

/* ---- the checkpoint key -----------------------------------------------------------------------
 */

static int key_sign(void *arg, const uint8_t *msg, size_t len, uint8_t sig[SB_AUDIT_SIG_LEN],
                    sb_error *err) {
    sb_audit_key *k = arg;
    uint8_t *s = NULL;
    size_t n = 0;
    TRY(sb_sign(k->priv, SB_HASH_SHA256, msg, len, SB_ECDSA_RAW_BE, &s, &n, err));
    if (n != SB_AUDIT_SIG_LEN) {
        free(s);
        BAIL(err, SB_E_INTERNAL, "audit: signature is %zu bytes, not %d", n, SB_AUDIT_SIG_LEN);
    }
    memcpy(sig, s, SB_AUDIT_SIG_LEN);
    free(s);
    return 0;
}

static int kid_of(const sb_pubkey *pub, char kid[SB_AUDIT_KID_MAX + 1], sb_error *err) {
    char *t = NULL;
    TRY(sb_jwk_thumbprint(pub, &t, err));
    size_t n = strlen(t);
    if (n == 0 || n > SB_AUDIT_KID_MAX) {
        free(t);
        BAIL(err, SB_E_INTERNAL, "audit: key id of %zu characters", n);
    }
    memcpy(kid, t, n + 1);
    free(t);
    return 0;
}

/* SPKI DER as PEM, 64 characters a line. */
static int pub_pem(const sb_pubkey *pub, char **out, sb_error *err) {
    uint8_t *der = NULL;
    size_t dn = 0;
    TRY(sb_pubkey_to_spki_der(pub, &der, &dn, err));
    char *b64 = sb_base64_encode(der, dn);
    free(der);
    ENSURE(b64, err, SB_E_INTERNAL, "audit: out of memory");
    sb_writer w;
    sb_writer_init(&w, SB_AUDIT_KEY_FILE_MAX);
    (void)sb_writer_str(&w, "-----BEGIN PUBLIC KEY-----\n");
    size_t n = strlen(b64);
    for (size_t i = 0; i < n; i += 64) {
        (void)sb_writer_bytes(&w, b64 + i, n - i < 64 ? n - i : 64);
        (void)sb_writer_u8(&w, '\n');
    }
    (void)sb_writer_str(&w, "-----END PUBLIC KEY-----\n");
    free(b64);
    if (sb_writer_status(&w) < 0) {
        sb_writer_free(&w);
        BAIL(err, SB_E_INTERNAL, "audit: cannot encode the public key");
    }
    size_t len = 0;
    *out = (char *)sb_writer_steal(&w, &len);
    return 0;
}

/* Creates the key file, never over one (a racing start's key is fine: the caller reads it). */
static int key_create(const char *path, sb_error *err) {
    sb_privkey *k = NULL;
    TRY(sb_privkey_generate_ed25519(&k, err));
    char *pem = NULL;
    int r = sb_privkey_to_pem(k, &pem, err);
    sb_privkey_free(k);
    if (r < 0) return r;
    size_t n = strlen(pem);
    bool existed = false;
    r = sb_keyfile_create(path, pem, n, &existed, err);
    sb_wipe(pem, n);
    free(pem);
    return r;
}

static const struct sb_keyfile_rules KEY_RULES = {
    1, SB_AUDIT_KEY_FILE_MAX, "the audit key",
    "chmod 600 it (and treat every checkpoint it signed as suspect)", 0};

int sb_audit_key_load(const char *state_dir, sb_audit_key **out, sb_error *err) {
    ENSURE(state_dir, err, SB_E_USAGE, "audit: no state directory");
    char path[4096], pubpath[4096];
    int k1 = snprintf(path, sizeof(path), "%s/%s", state_dir, SB_AUDIT_KEY_FILE);
    int k2 = snprintf(pubpath, sizeof(pubpath), "%s/%s", state_dir, SB_AUDIT_PUB_FILE);
    ENSURE(k1 > 0 && (size_t)k1 < sizeof(path) && k2 > 0 && (size_t)k2 < sizeof(pubpath), err,
           SB_E_USAGE, "audit: state dir path too long");
    uint8_t *pem = NULL;
    size_t n = 0;
    int r = sb_keyfile_read(path, &KEY_RULES, &pem, &n, err);
    if (r == SB_E_NOTFOUND) {
        TRY(key_create(path, err));
        r = sb_keyfile_read(path, &KEY_RULES, &pem, &n, err);
    }
    TRY(r);
    sb_audit_key *k = calloc(1, sizeof(*k));
    r = k ? 0 : sb_error_set(err, SB_E_INTERNAL, "audit: out of memory");
    if (r == 0) r = sb_privkey_from_pem(pem, n, &k->priv, err);
    sb_secret_free(pem, n + 1);
    if (r == 0 && sb_privkey_type(k->priv) != SB_KEY_ED25519)
        r = sb_error_set(err, SB_E_UNSUPPORTED, "%s: not an Ed25519 key", path);
    if (r == 0) r = sb_privkey_public(k->priv, &k->pub, err);
    if (r == 0) r = kid_of(k->pub, k->kid, err);
    char *ppem = NULL;
    if (r == 0) r = pub_pem(k->pub, &ppem, err);
    if (r == 0) r = sb_write_file_atomic(pubpath, ppem, strlen(ppem), 0644, err);
    free(ppem);
    if (r < 0) {
        sb_audit_key_free(k);
        return r;
    }
    *out = k;
    return 0;
}

void sb_audit_key_signer(sb_audit_key *k, sb_audit_signer *out) {
    memset(out, 0, sizeof(*out));
    out->sign = key_sign;
    out->arg = k;
    memcpy(out->kid, k->kid, sizeof(out->kid));
}

const sb_pubkey *sb_audit_key_public(const sb_audit_key *k) { return k->pub; }

void sb_audit_key_free(sb_audit_key *k) {
    if (!k) return;
    sb_privkey_free(k->priv);
    sb_pubkey_free(k->pub);
    free(k);
}

int sb_audit_pubkey_load(const char *path, sb_pubkey **out, sb_error *err) {
    uint8_t *pem = NULL;
    size_t n = 0;
    TRY(sb_read_file(path, SB_AUDIT_KEY_FILE_MAX, &pem, &n, err));
    sb_pubkey *k = NULL;
    int r = sb_pubkey_from_pem(pem, n, &k, err);
    free(pem);
    if (r < 0) return sb_error_prefix(err, "%s", path);
    if (sb_pubkey_type(k) != SB_KEY_ED25519) {
        sb_pubkey_free(k);
        BAIL(err, SB_E_UNSUPPORTED, "%s: not an Ed25519 public key", path);
    }
    *out = k;
    return 0;
}

/* ---- the head file ----------------------------------------------------------------------------
 */

static bool kid_ok(const char *s, size_t n) {
    if (n == 0 || n > SB_AUDIT_KID_MAX) return false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '_'))
            return false;
    }
    return true;
}

static int head_uint(json_t *o, const char *name, uint64_t max, uint64_t *out, sb_error *err) {
    json_t *v = json_object_get(o, name);
    ENSURE(v, err, SB_E_MALFORMED, "audit head: member '%s' is missing", name);
    ENSURE(json_is_integer(v), err, SB_E_MALFORMED, "audit head: member '%s' is not an integer",
           name);
    json_int_t i = json_integer_value(v);
    ENSURE(i >= 0 && (uint64_t)i <= max, err, SB_E_MALFORMED,
           "audit head: member '%s' is %lld (0-%llu)", name, (long long)i, (unsigned long long)max);
    *out = (uint64_t)i;
    return 0;
}

static int head_str(json_t *o, const char *name, const char **s, size_t *n, sb_error *err) {
    json_t *v = json_object_get(o, name);
    ENSURE(v, err, SB_E_MALFORMED, "audit head: member '%s' is missing", name);
    ENSURE(json_is_string(v), err, SB_E_MALFORMED, "audit head: member '%s' is not a string", name);
    *s = json_string_value(v);
    *n = json_string_length(v);
    return 0;
}

static int head_fields(json_t *o, sb_audit_head *h, sb_error *err) {
    ENSURE(json_is_object(o), err, SB_E_MALFORMED, "audit head: not a JSON object");
    static const char *const MEMBERS[] = {"format", "version", "seq", "ts",
                                          "hash",   "kid",     "sig", "counter"};
    const char *key;
    json_t *val;
    json_object_foreach(o, key, val) {
        bool known = false;
        for (size_t i = 0; i < SB_ARRAY_LEN(MEMBERS); i++)
            known = known || strcmp(key, MEMBERS[i]) == 0;
        ENSURE(known, err, SB_E_MALFORMED, "audit head: unknown member '%.64s'", key);
    }
    const char *s;
    size_t n;
    TRY(head_str(o, "format", &s, &n, err));
    ENSURE(n == strlen(SB_AUDIT_HEAD_FORMAT) && memcmp(s, SB_AUDIT_HEAD_FORMAT, n) == 0, err,
           SB_E_MALFORMED, "audit head: member 'format' is not \"%s\"", SB_AUDIT_HEAD_FORMAT);
    uint64_t version = 0, ts = 0;
    TRY(head_uint(o, "version", 1000, &version, err));
    ENSURE(version == 1 || version == 2, err, SB_E_UNSUPPORTED,
           "audit head: version %llu is not supported (1, 2)", (unsigned long long)version);
    if (version == 1) {
        ENSURE(!json_object_get(o, "counter"), err, SB_E_MALFORMED,
               "audit head: member 'counter' in a version 1 head");
        h->counter = 0;
    } else {
        TRY(head_uint(o, "counter", SB_AUDIT_SEQ_MAX, &h->counter, err));
        ENSURE(h->counter >= 1, err, SB_E_MALFORMED, "audit head: member 'counter' is 0");
    }
    TRY(head_uint(o, "seq", SB_AUDIT_SEQ_MAX, &h->seq, err));
    ENSURE(h->seq >= 1, err, SB_E_MALFORMED, "audit head: member 'seq' is 0");
    TRY(head_uint(o, "ts", SB_AUDIT_SEQ_MAX, &ts, err));
    h->ts = (int64_t)ts;
    TRY(head_str(o, "hash", &s, &n, err));
    ENSURE(n == 2 * SB_AUDIT_HASH_LEN, err, SB_E_MALFORMED,
           "audit head: member 'hash' is %zu characters (%d hex expected)", n,
           2 * SB_AUDIT_HASH_LEN);
    for (size_t i = 0; i < n; i++)
        ENSURE((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f'), err, SB_E_MALFORMED,
               "audit head: member 'hash' has a non-hex character at %zu", i);
    uint8_t *raw = NULL;
    size_t rn = 0;
    TRY(sb_hex_decode(s, n, &raw, &rn, err));
    if (rn != SB_AUDIT_HASH_LEN) {
        free(raw);
        BAIL(err, SB_E_MALFORMED, "audit head: member 'hash' decodes to %zu bytes", rn);
    }
    memcpy(h->hash, raw, SB_AUDIT_HASH_LEN);
    free(raw);
    TRY(head_str(o, "kid", &s, &n, err));
    ENSURE(kid_ok(s, n), err, SB_E_MALFORMED,
           "audit head: member 'kid' must be 1-%d characters of [A-Za-z0-9_-]", SB_AUDIT_KID_MAX);
    memcpy(h->kid, s, n);
    h->kid[n] = '\0';
    TRY(head_str(o, "sig", &s, &n, err));
    ENSURE(n <= 2 * SB_AUDIT_SIG_LEN, err, SB_E_MALFORMED,
           "audit head: member 'sig' is %zu characters", n);
    raw = NULL;
    int r = sb_base64url_decode(s, n, &raw, &rn, err);
    if (r < 0) return sb_error_prefix(err, "audit head: member 'sig'");
    if (rn != SB_AUDIT_SIG_LEN) {
        free(raw);
        BAIL(err, SB_E_MALFORMED, "audit head: member 'sig' decodes to %zu bytes (%d expected)", rn,
             SB_AUDIT_SIG_LEN);
    }
    memcpy(h->sig, raw, SB_AUDIT_SIG_LEN);
    free(raw);
    return 0;
}

int sb_audit_head_parse(const uint8_t *p, size_t n, sb_audit_head *out, sb_error *err) {
    ENSURE(p || n == 0, err, SB_E_USAGE, "audit head: no input");
    ENSURE(n <= SB_AUDIT_HEAD_FILE_MAX, err, SB_E_LIMIT, "audit head: %zu bytes (max %d)", n,
           SB_AUDIT_HEAD_FILE_MAX);
    ENSURE(n > 0, err, SB_E_TRUNCATED, "audit head: empty");
    json_error_t je;
    json_t *o = json_loadb((const char *)p, n, JSON_REJECT_DUPLICATES, &je);
    ENSURE(o, err, SB_E_MALFORMED, "audit head: not JSON at offset %d: %s", je.position, je.text);
    sb_audit_head h;
    memset(&h, 0, sizeof(h));
    int r = head_fields(o, &h, err);
    json_decref(o);
    if (r < 0) return r;
    *out = h;
    return 0;
}

int sb_audit_head_check(const sb_audit_head *h, const sb_pubkey *key, sb_error *err) {
    char kid[SB_AUDIT_KID_MAX + 1];
    TRY(kid_of(key, kid, err));
    ENSURE(strcmp(kid, h->kid) == 0, err, SB_E_SIGNATURE,
           "audit: head of seq %llu is signed by key %s, not by the given key %s",
           (unsigned long long)h->seq, h->kid, kid);
    uint8_t msg[HEAD_MSG_MAX];
    size_t mlen = 0;
    TRY(head_message(h->seq, h->hash, h->ts, h->counter, msg, &mlen, err));
    int r = sb_ed25519_verify(key, msg, mlen, h->sig, SB_AUDIT_SIG_LEN, err);
    if (r == SB_E_SIGNATURE)
        BAIL(err, SB_E_SIGNATURE, "audit: the signature over the head of seq %llu does not hold",
             (unsigned long long)h->seq);
    return r;
}

static int head_load(const char *path, sb_audit_head *h, bool *found, sb_error *err) {
    *found = false;
    uint8_t *b = NULL;
    size_t n = 0;
    struct stat st;
    if (stat(path, &st) < 0) {
        if (errno == ENOENT) return 0;
        BAIL(err, SB_E_IO, "%s: %s", path, strerror(errno));
    }
    TRY(sb_read_file(path, SB_AUDIT_HEAD_FILE_MAX, &b, &n, err));
    int r = sb_audit_head_parse(b, n, h, err);
    free(b);
    if (r < 0) return sb_error_prefix(err, "%s", path);
    *found = true;
    return 0;
}

static int fsync_dir_of(const char *path, sb_error *err) {
    char *copy = strdup(path);
    ENSURE(copy, err, SB_E_INTERNAL, "audit: out of memory");
    int fd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    int e = errno;
    free(copy);
    if (fd < 0) BAIL(err, SB_E_IO, "%s: directory: %s", path, strerror(e));
    int r = fsync(fd);
    e = errno;
    (void)close(fd);
    if (r < 0) BAIL(err, SB_E_IO, "%s: fsync of its directory: %s", path, strerror(e));
    return 0;
}

static int head_write(const char *path, const sb_audit_ckpt *c, sb_error *err) {
    char hex[2 * SB_AUDIT_HASH_LEN + 1];
    sb_hex_encode(c->hash, SB_AUDIT_HASH_LEN, hex);
    char *sig = sb_base64url_encode(c->sig, c->siglen);
    ENSURE(sig, err, SB_E_INTERNAL, "audit: out of memory");
    json_t *o = json_pack("{s:s, s:i, s:I, s:I, s:s, s:s, s:s}", "format", SB_AUDIT_HEAD_FORMAT,
                          "version", c->counter ? 2 : 1, "seq", (json_int_t)c->seq, "ts",
                          (json_int_t)c->ts, "hash", hex, "kid", c->kid, "sig", sig);
    free(sig);
    if (o && c->counter &&
        json_object_set_new(o, "counter", json_integer((json_int_t)c->counter)) < 0) {
        json_decref(o);
        o = NULL;
    }
    char *s = o ? json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
    json_decref(o);
    ENSURE(s, err, SB_E_INTERNAL, "audit: cannot encode the head");
    size_t n = strlen(s);
    char buf[SB_AUDIT_HEAD_FILE_MAX];
    int k = snprintf(buf, sizeof(buf), "%s\n", s);
    free(s);
    ENSURE(k > 0 && (size_t)k < sizeof(buf) && (size_t)k == n + 1, err, SB_E_INTERNAL,
           "audit: head over %d bytes", SB_AUDIT_HEAD_FILE_MAX);
    TRY(sb_write_file_atomic(path, buf, (size_t)k, 0644, err));
    return fsync_dir_of(path, err);
}

/* ---- open, append, checkpoint -----------------------------------------------------------------
 */

/* One row by seq; *found false when absent. */
static int row_at(sb_store *st, uint64_t seq, sb_audit_row *out, bool *found, sb_error *err) {
    sb_audit_row *v = NULL;
    size_t n = 0;
    *found = false;
    TRY(sb_store_audit_list(st, (int64_t)seq - 1, 1, &v, &n, err));
    if (n == 1 && v[0].seq == (int64_t)seq) {
        *out = v[0];
        v[0].record = NULL;
        *found = true;
    }
    sb_audit_rows_free(v, n);
    return 0;
}

static int last_state(sb_store *st, uint64_t *seq, uint8_t hash[SB_AUDIT_HASH_LEN], sb_error *err) {
    sb_audit_row last;
    bool found = false;
    TRY(sb_store_audit_last(st, &last, &found, err));
    if (!found) {
        *seq = 0;
        memset(hash, 0, SB_AUDIT_HASH_LEN);
        return 0;
    }
    ENSURE(!last.malformed, err, SB_E_MALFORMED,
           "audit: the last row (seq %lld) is damaged; run 'sealbox audit verify'",
           (long long)last.seq);
    *seq = (uint64_t)last.seq;
    memcpy(hash, last.hash, SB_AUDIT_HASH_LEN);
    return 0;
}

/* A head file that disagrees with the database means the log was cut or rewritten behind our
 * back: refuse to extend it (the next checkpoint would overwrite the evidence). *counter: the
 * counter value the head file carries (0: none or no file). */
static int head_agrees(sb_audit *a, uint64_t last_seq, uint64_t *counter, sb_error *err) {
    *counter = 0;
    if (!a->head_file) return 0;
    sb_audit_head h;
    bool found = false;
    TRY(head_load(a->head_file, &h, &found, err));
    if (!found) return 0;
    *counter = h.counter;
    ENSURE(h.seq <= last_seq, err, SB_E_POLICY,
           "audit: %s says the log reaches seq %llu but the database ends at %llu: the log was "
           "truncated; run 'sealbox audit verify'",
           a->head_file, (unsigned long long)h.seq, (unsigned long long)last_seq);
    sb_audit_row r;
    bool have = false;
    TRY(row_at(a->st, h.seq, &r, &have, err));
    free(r.record);
    ENSURE(have && !r.malformed && sb_ct_equal(r.hash, h.hash, SB_AUDIT_HASH_LEN), err, SB_E_POLICY,
           "audit: %s and the database disagree about seq %llu: the log was rewritten; run "
           "'sealbox audit verify'",
           a->head_file, (unsigned long long)h.seq);
    return 0;
}

/* The counter against the newest signed head: behind it by a little after a crash (pushed
 * forward), ahead of it only when the log was put back to an older state (refused). */
static int counter_agrees(sb_audit *a, uint64_t last_seq, uint64_t signed_counter, sb_error *err) {
    if (!a->has_counter) return 0;
    uint64_t now = 0;
    TRY(a->counter.read(a->counter.arg, &now, err));
    if (last_seq == 0 && signed_counter == 0) return 0; /* a new log: it starts at now + 1 */
    ENSURE(signed_counter >= now, err, SB_E_POLICY,
           "audit: the newest signed head carries counter %llu but %s is at %llu: the log and its "
           "head file were put back to an older state (rolled back); run 'sealbox audit verify'",
           (unsigned long long)signed_counter, a->counter.name, (unsigned long long)now);
    ENSURE(signed_counter - now <= SB_AUDIT_COUNTER_CATCHUP_MAX, err, SB_E_POLICY,
           "audit: the newest signed head carries counter %llu, %llu ahead of %s (at most %u "
           "after a crash): refusing to push the counter forward",
           (unsigned long long)signed_counter, (unsigned long long)(signed_counter - now),
           a->counter.name, SB_AUDIT_COUNTER_CATCHUP_MAX);
    while (now < signed_counter) {
        uint64_t next = 0;
        TRY(a->counter.increment(a->counter.arg, &next, err));
        ENSURE(next > now, err, SB_E_IO, "audit: %s did not move on increment (%llu)",
               a->counter.name, (unsigned long long)next);
        now = next;
    }
    return 0;
}

int sb_audit_open(sb_store *st, const sb_audit_cfg *cfg, sb_audit **out, sb_error *err) {
    ENSURE(st && cfg, err, SB_E_USAGE, "audit: no store or configuration");
    ENSURE(!cfg->signer ||
               (cfg->signer->sign &&
                kid_ok(cfg->signer->kid, strnlen(cfg->signer->kid, SB_AUDIT_KID_MAX + 1))),
           err, SB_E_USAGE, "audit: incomplete signer");
    ENSURE(!cfg->counter || (cfg->signer && cfg->counter->read && cfg->counter->increment), err,
           SB_E_USAGE, "audit: a counter needs a signer, read and increment");
    sb_audit *a = calloc(1, sizeof(*a));
    ENSURE(a, err, SB_E_INTERNAL, "audit: out of memory");
    a->st = st;
    a->every = cfg->checkpoint_every ? cfg->checkpoint_every : SB_AUDIT_CHECKPOINT_EVERY;
    if (cfg->signer) {
        a->signer = *cfg->signer;
        a->has_signer = true;
    }
    if (cfg->counter) {
        a->counter = *cfg->counter;
        a->counter.name[sizeof(a->counter.name) - 1] = '\0';
        a->has_counter = true;
    }
    int r = 0;
    if (cfg->head_file && !(a->head_file = strdup(cfg->head_file)))
        r = sb_error_set(err, SB_E_INTERNAL, "audit: out of memory");
    uint64_t last = 0;
    uint8_t hash[SB_AUDIT_HASH_LEN];
    if (r == 0) r = last_state(st, &last, hash, err);
    uint64_t head_counter = 0;
    if (r == 0) r = head_agrees(a, last, &head_counter, err);
    sb_audit_ckpt c;
    bool have = false;
    if (r == 0) r = sb_store_audit_ckpt_last(st, &c, &have, err);
    if (r == 0) {
        uint64_t db_counter = have && !c.malformed ? c.counter : 0;
        r = counter_agrees(a, last, db_counter > head_counter ? db_counter : head_counter, err);
    }
    if (r < 0) {
        sb_audit_close(a);
        return r;
    }
    a->since_ckpt = have && (uint64_t)c.seq <= last ? last - (uint64_t)c.seq : last;
    *out = a;
    return 0;
}

void sb_audit_close(sb_audit *a) {
    if (!a) return;
    free(a->head_file);
    free(a);
}

uint64_t sb_audit_unsigned(const sb_audit *a) { return a->since_ckpt; }

/* The canonical bytes of a record, with "ts" added when absent. */
static int canonical_record(const json_t *record, char **out, size_t *len, int64_t *ts,
                            sb_error *err) {
    ENSURE(json_is_object(record), err, SB_E_USAGE, "audit: a record must be a JSON object");
    json_t *copy = json_copy((json_t *)record);
    ENSURE(copy, err, SB_E_INTERNAL, "audit: out of memory");
    json_t *t = json_object_get(copy, "ts");
    int r = 0;
    if (!t) {
        *ts = now_ms();
        if (json_object_set_new(copy, "ts", json_integer((json_int_t)*ts)) < 0)
            r = sb_error_set(err, SB_E_INTERNAL, "audit: out of memory");
    } else if (!json_is_integer(t) || json_integer_value(t) < 0 ||
               (uint64_t)json_integer_value(t) > SB_AUDIT_SEQ_MAX) {
        r = sb_error_set(err, SB_E_MALFORMED,
                         "audit: record member 'ts' must be Unix milliseconds (0-2^53)");
    } else {
        *ts = (int64_t)json_integer_value(t);
    }
    if (r == 0) r = sb_json_canonical(copy, out, len, err);
    json_decref(copy);
    if (r < 0) return r;
    if (*len > SB_AUDIT_RECORD_MAX) {
        free(*out);
        *out = NULL;
        BAIL(err, SB_E_LIMIT, "audit: record is %zu bytes canonical (max %d)", *len,
             SB_AUDIT_RECORD_MAX);
    }
    return 0;
}

int sb_audit_append(sb_audit *a, const json_t *record, uint64_t *seq_out, sb_error *err) {
    ENSURE(a, err, SB_E_USAGE, "audit: not open");
    sb_audit_row row;
    memset(&row, 0, sizeof(row));
    TRY(canonical_record(record, &row.record, &row.record_len, &row.ts, err));
    bool own = !sb_store_in_transaction(a->st);
    int r = own ? sb_store_begin(a->st, err) : 0;
    uint64_t last = 0;
    if (r == 0) r = last_state(a->st, &last, row.prev, err);
    if (r == 0 && last >= SB_AUDIT_SEQ_MAX)
        r = sb_error_set(err, SB_E_LIMIT, "audit: the log is full (seq %llu)",
                         (unsigned long long)last);
    if (r == 0) {
        row.seq = (int64_t)last + 1;
        r = sb_audit_row_hash(row.prev, row.record, row.record_len, (uint64_t)row.seq, row.hash,
                              err);
    }
    if (r == 0) r = sb_store_audit_insert(a->st, &row, err);
    if (r == 0 && own) r = sb_store_commit(a->st, err);
    free(row.record);
    if (r < 0) {
        if (own) sb_store_rollback(a->st);
        return r;
    }
    a->since_ckpt++;
    if (seq_out) *seq_out = (uint64_t)row.seq;
    if (own && a->has_signer && a->since_ckpt >= a->every) {
        r = sb_audit_checkpoint(a, err);
        if (r < 0)
            return sb_error_prefix(err, "audit: record %lld stored, but the checkpoint failed",
                                   (long long)row.seq);
    }
    return 0;
}

/* Re-walks the rows after `from` (whose hash is from_hash) up to `to`, so a chain that was
 * damaged since the last checkpoint is not signed. */
static int check_links(sb_store *st, uint64_t from, const uint8_t from_hash[SB_AUDIT_HASH_LEN],
                       uint64_t to, sb_error *err) {
    uint8_t prev[SB_AUDIT_HASH_LEN];
    memcpy(prev, from_hash, SB_AUDIT_HASH_LEN);
    uint64_t expect = from + 1;
    while (expect <= to) {
        sb_audit_row *v = NULL;
        size_t n = 0;
        TRY(sb_store_audit_list(st, (int64_t)expect - 1, PAGE, &v, &n, err));
        int r = n ? 0
                  : sb_error_set(err, SB_E_POLICY, "audit: rows after seq %llu are missing",
                                 (unsigned long long)expect - 1);
        for (size_t i = 0; r == 0 && i < n && expect <= to; i++, expect++) {
            uint8_t h[SB_AUDIT_HASH_LEN];
            if (v[i].malformed || v[i].seq != (int64_t)expect ||
                !sb_ct_equal(v[i].prev, prev, SB_AUDIT_HASH_LEN))
                r = sb_error_set(err, SB_E_POLICY,
                                 "audit: seq %llu does not chain; refusing to sign; run "
                                 "'sealbox audit verify'",
                                 (unsigned long long)expect);
            if (r == 0)
                r = sb_audit_row_hash(v[i].prev, v[i].record, v[i].record_len, expect, h, err);
            if (r == 0 && !sb_ct_equal(h, v[i].hash, SB_AUDIT_HASH_LEN))
                r = sb_error_set(err, SB_E_POLICY,
                                 "audit: seq %llu does not match its hash; refusing to sign; run "
                                 "'sealbox audit verify'",
                                 (unsigned long long)expect);
            if (r == 0) memcpy(prev, h, SB_AUDIT_HASH_LEN);
        }
        sb_audit_rows_free(v, n);
        TRY(r);
    }
    return 0;
}

int sb_audit_checkpoint(sb_audit *a, sb_error *err) {
    ENSURE(a && a->has_signer, err, SB_E_USAGE, "audit: no signer: cannot checkpoint");
    ENSURE(!sb_store_in_transaction(a->st), err, SB_E_USAGE,
           "audit: checkpoint inside an open transaction");
    /* The value the counter will have once this checkpoint is durable (read outside the
     * database's write lock: a TPM command takes milliseconds). */
    uint64_t counter_now = 0;
    if (a->has_counter) {
        TRY(a->counter.read(a->counter.arg, &counter_now, err));
        ENSURE(counter_now < SB_AUDIT_SEQ_MAX, err, SB_E_LIMIT, "audit: %s is exhausted",
               a->counter.name);
    }
    TRY(sb_store_begin(a->st, err));
    uint64_t last = 0;
    uint8_t hash[SB_AUDIT_HASH_LEN];
    sb_audit_ckpt prev;
    bool have = false;
    int r = last_state(a->st, &last, hash, err);
    if (r == 0) r = sb_store_audit_ckpt_last(a->st, &prev, &have, err);
    if (r == 0 && last == 0) {
        sb_store_rollback(a->st);
        a->since_ckpt = 0;
        return 0; /* nothing to sign */
    }
    if (r == 0 && have && (uint64_t)prev.seq > last)
        r = sb_error_set(err, SB_E_POLICY,
                         "audit: a checkpoint reaches seq %lld but the log ends at %llu: the log "
                         "was truncated; run 'sealbox audit verify'",
                         (long long)prev.seq, (unsigned long long)last);
    bool fresh = !(have && (uint64_t)prev.seq == last);
    sb_audit_ckpt c;
    memset(&c, 0, sizeof(c));
    if (r == 0 && fresh) {
        uint64_t from =
            have && !prev.malformed && (uint64_t)prev.seq < last ? (uint64_t)prev.seq : 0;
        r = check_links(a->st, from, from ? prev.hash : ZERO, last, err);
        c.seq = (int64_t)last;
        c.ts = now_ms();
        memcpy(c.hash, hash, SB_AUDIT_HASH_LEN);
        memcpy(c.kid, a->signer.kid, sizeof(c.kid));
        c.siglen = SB_AUDIT_SIG_LEN;
        c.counter = a->has_counter ? counter_now + 1 : 0;
        uint8_t msg[HEAD_MSG_MAX];
        size_t mlen = 0;
        if (r == 0) r = head_message(last, hash, c.ts, c.counter, msg, &mlen, err);
        if (r == 0) r = a->signer.sign(a->signer.arg, msg, mlen, c.sig, err);
        if (r == 0) r = sb_store_audit_ckpt_insert(a->st, &c, err);
        if (r == 0) r = sb_store_commit(a->st, err);
        /* On a connection that group-commits (sealboxd's monitor) the commit is in the WAL but
         * not yet on the disk: sync it before the head file (and the counter) move ahead. */
        if (r == 0) {
            int sr = sb_store_sync(a->st, err);
            if (sr < 0) r = sr;
        }
    } else if (r == 0) {
        c = prev;
        sb_store_rollback(a->st);
        struct stat st;
        if (!a->head_file || stat(a->head_file, &st) == 0) {
            a->since_ckpt = 0;
            return 0;
        }
    }
    if (r < 0) {
        sb_store_rollback(a->st);
        return r;
    }
    /* The database first, then the file: a crash in between leaves the file one checkpoint
     * behind, which verification accepts; never ahead. The counter last: a crash before its
     * increment leaves it behind the signed head, which the next open pushes forward. */
    if (a->head_file) TRY(head_write(a->head_file, &c, err));
    a->since_ckpt = 0;
    if (fresh && a->has_counter) {
        uint64_t after = 0;
        TRY(a->counter.increment(a->counter.arg, &after, err));
        ENSURE(after == c.counter, err, SB_E_POLICY,
               "audit: checkpoint at seq %lld signed counter %llu but %s is now at %llu: "
               "something else increments it",
               (long long)c.seq, (unsigned long long)c.counter, a->counter.name,
               (unsigned long long)after);
    }
    return 0;
}

/* ---- the JSONL export, read back ------------------------------------------------------------- */

static int line_hash(json_t *o, const char *name, uint8_t out[SB_AUDIT_HASH_LEN], sb_error *err) {
    json_t *v = json_object_get(o, name);
    ENSURE(json_is_string(v), err, SB_E_MALFORMED,
           "audit export: member '%s' is missing or not a "
           "string",
           name);
    const char *s = json_string_value(v);
    size_t n = json_string_length(v);
    ENSURE(n == 2 * SB_AUDIT_HASH_LEN, err, SB_E_MALFORMED,
           "audit export: member '%s' is %zu characters (%d hex expected)", name, n,
           2 * SB_AUDIT_HASH_LEN);
    uint8_t *raw = NULL;
    size_t rn = 0;
    int r = sb_hex_decode(s, n, &raw, &rn, err);
    if (r < 0) return sb_error_prefix(err, "audit export: member '%s'", name);
    if (rn != SB_AUDIT_HASH_LEN) {
        free(raw);
        BAIL(err, SB_E_MALFORMED, "audit export: member '%s' decodes to %zu bytes", name, rn);
    }
    memcpy(out, raw, SB_AUDIT_HASH_LEN);
    free(raw);
    return 0;
}

static int line_uint(json_t *o, const char *name, uint64_t min, uint64_t *out, sb_error *err) {
    json_t *v = json_object_get(o, name);
    ENSURE(json_is_integer(v), err, SB_E_MALFORMED,
           "audit export: member '%s' is missing or not an integer", name);
    json_int_t i = json_integer_value(v);
    ENSURE(i >= 0 && (uint64_t)i >= min && (uint64_t)i <= SB_AUDIT_SEQ_MAX, err, SB_E_MALFORMED,
           "audit export: member '%s' is %lld (%llu-2^53)", name, (long long)i,
           (unsigned long long)min);
    *out = (uint64_t)i;
    return 0;
}

static int line_fields(json_t *o, sb_audit_row *row, sb_error *err) {
    ENSURE(json_is_object(o), err, SB_E_MALFORMED, "audit export: a line is not a JSON object");
    const char *key;
    json_t *val;
    json_object_foreach(o, key, val) {
        bool known = strcmp(key, "seq") == 0 || strcmp(key, "ts") == 0 ||
                     strcmp(key, "prev") == 0 || strcmp(key, "hash") == 0 ||
                     strcmp(key, "record") == 0 || strcmp(key, "record_damaged") == 0;
        ENSURE(known, err, SB_E_MALFORMED, "audit export: unknown member '%.64s'", key);
    }
    uint64_t seq = 0, ts = 0;
    TRY(line_uint(o, "seq", 1, &seq, err));
    TRY(line_uint(o, "ts", 0, &ts, err));
    TRY(line_hash(o, "prev", row->prev, err));
    TRY(line_hash(o, "hash", row->hash, err));
    row->seq = (int64_t)seq;
    row->ts = (int64_t)ts;
    json_t *rec = json_object_get(o, "record");
    json_t *dam = json_object_get(o, "record_damaged");
    ENSURE(!rec != !dam, err, SB_E_MALFORMED,
           "audit export: a line needs exactly one of 'record' and 'record_damaged'");
    if (dam) {
        ENSURE(json_is_string(dam), err, SB_E_MALFORMED,
               "audit export: member 'record_damaged' is not a string");
        size_t n = json_string_length(dam);
        ENSURE(n <= SB_AUDIT_RECORD_MAX, err, SB_E_LIMIT,
               "audit export: member 'record_damaged' is %zu bytes (max %d)", n,
               SB_AUDIT_RECORD_MAX);
        row->record = strndup(json_string_value(dam), n);
        ENSURE(row->record, err, SB_E_INTERNAL, "audit export: out of memory");
        row->record_len = strlen(row->record);
        return 0;
    }
    ENSURE(json_is_object(rec), err, SB_E_MALFORMED,
           "audit export: member 'record' is not a JSON object");
    int r = sb_json_canonical(rec, &row->record, &row->record_len, err);
    if (r < 0) return sb_error_prefix(err, "audit export: member 'record'");
    if (row->record_len > SB_AUDIT_RECORD_MAX) {
        free(row->record);
        row->record = NULL;
        BAIL(err, SB_E_LIMIT, "audit export: member 'record' is %zu bytes (max %d)",
             row->record_len, SB_AUDIT_RECORD_MAX);
    }
    return 0;
}

int sb_audit_line_parse(const uint8_t *p, size_t n, sb_audit_row *out, sb_error *err) {
    ENSURE(p || n == 0, err, SB_E_USAGE, "audit export: no input");
    ENSURE(n <= SB_AUDIT_LINE_MAX, err, SB_E_LIMIT, "audit export: a line of %zu bytes (max %d)", n,
           SB_AUDIT_LINE_MAX);
    ENSURE(n > 0, err, SB_E_TRUNCATED, "audit export: empty line");
    json_error_t je;
    json_t *o = json_loadb((const char *)p, n, JSON_REJECT_DUPLICATES, &je);
    ENSURE(o, err, SB_E_MALFORMED, "audit export: not JSON at offset %d: %s", je.position, je.text);
    sb_audit_row row;
    memset(&row, 0, sizeof(row));
    int r = line_fields(o, &row, err);
    json_decref(o);
    if (r < 0) {
        free(row.record);
        return r;
    }
    *out = row;
    return 0;
}

int sb_audit_jsonl_each(const uint8_t *p, size_t n, sb_audit_line_fn fn, void *arg, sb_error *err) {
    ENSURE(fn && (p || n == 0), err, SB_E_USAGE, "audit export: no input");
    ENSURE(n <= SB_AUDIT_JSONL_MAX, err, SB_E_LIMIT, "audit export: %zu bytes (max %u)", n,
           SB_AUDIT_JSONL_MAX);
    sb_reader rd;
    sb_reader_init(&rd, p, n, "audit export", err);
    uint64_t line = 0;
    while (sb_reader_remaining(&rd) > 0) {
        line++;
        /* Measure the line on a copy of the reader, then take it from the real one. */
        sb_reader probe = rd;
        size_t len = 0;
        uint8_t c = 0;
        while (sb_reader_remaining(&probe) > 0) {
            TRY(sb_reader_u8(&probe, &c, "line"));
            if (c == '\n') break;
            ENSURE(len < SB_AUDIT_LINE_MAX, err, SB_E_LIMIT,
                   "audit export: line %llu is over %d bytes", (unsigned long long)line,
                   SB_AUDIT_LINE_MAX);
            len++;
        }
        const uint8_t *view = NULL;
        TRY(sb_reader_bytes(&rd, len, &view, "line"));
        if (sb_reader_remaining(&rd) > 0) TRY(sb_reader_skip(&rd, 1, "newline"));
        if (len == 0) continue; /* blank lines are allowed */
        int r = fn(arg, line, view, len, err);
        if (r < 0) return sb_error_prefix(err, "line %llu", (unsigned long long)line);
    }
    return 0;
}

struct import {
    sb_store *st;
    uint64_t rows;
};

static int import_line(void *arg, uint64_t line, const uint8_t *p, size_t n, sb_error *err) {
    (void)line;
    struct import *im = arg;
    sb_audit_row row;
    TRY(sb_audit_line_parse(p, n, &row, err));
    int r = sb_store_audit_insert(im->st, &row, err);
    if (r == SB_E_POLICY)
        r = sb_error_set(err, SB_E_MALFORMED, "audit export: seq %lld appears twice",
                         (long long)row.seq);
    free(row.record);
    if (r == 0) im->rows++;
    return r;
}

int sb_audit_import_jsonl(sb_store *st, const uint8_t *p, size_t n, uint64_t *rows, sb_error *err) {
    ENSURE(st, err, SB_E_USAGE, "audit import: no store");
    struct import im = {st, 0};
    TRY(sb_store_begin(st, err));
    int r = sb_audit_jsonl_each(p, n, import_line, &im, err);
    if (r == 0) r = sb_store_commit(st, err);
    if (r < 0) {
        sb_store_rollback(st);
        return r;
    }
    *rows = im.rows;
    return 0;
}

char *sb_audit_line_format(const sb_audit_row *r) {
    char prev[2 * SB_AUDIT_HASH_LEN + 1], hash[2 * SB_AUDIT_HASH_LEN + 1];
    sb_hex_encode(r->prev, SB_AUDIT_HASH_LEN, prev);
    sb_hex_encode(r->hash, SB_AUDIT_HASH_LEN, hash);
    /* The record goes out byte for byte as hashed, so the export can be re-verified; a row
     * whose record is not a JSON object any more is exported as a string instead. */
    json_t *rec = r->record ? json_loadb(r->record, r->record_len, 0, NULL) : NULL;
    bool ok = json_is_object(rec);
    json_decref(rec);
    sb_writer w;
    sb_writer_init(&w, SB_AUDIT_LINE_MAX + SB_AUDIT_RECORD_MAX * 6);
    (void)sb_writer_printf(&w, "{\"seq\":%lld,\"ts\":%lld,\"prev\":\"%s\",\"hash\":\"%s\",",
                           (long long)r->seq, (long long)r->ts, prev, hash);
    if (ok) {
        (void)sb_writer_str(&w, "\"record\":");
        (void)sb_writer_bytes(&w, r->record, r->record_len);
    } else {
        json_t *s = json_stringn(r->record ? r->record : "", r->record ? r->record_len : 0);
        char *d = s ? json_dumps(s, JSON_ENCODE_ANY) : NULL;
        json_decref(s);
        (void)sb_writer_str(&w, "\"record_damaged\":");
        (void)sb_writer_str(&w, d ? d : "\"\""); /* not even UTF-8: exported empty */
        free(d);
    }
    (void)sb_writer_str(&w, "}\n");
    if (sb_writer_status(&w) < 0) {
        sb_writer_free(&w);
        return NULL;
    }
    size_t len = 0;
    return (char *)sb_writer_steal(&w, &len);
}

/* ---- verification -----------------------------------------------------------------------------
 */

static const char *const FINDINGS[SB_AUDIT_FINDING_MAX] = {
    "intact",    "edited", "deleted",      "reordered",  "rewritten",
    "truncated", "forged", "head-missing", "rolled-back"};

const char *sb_audit_finding_name(enum sb_audit_finding f) {
    return (unsigned)f < SB_AUDIT_FINDING_MAX ? FINDINGS[f] : "unknown";
}

SB_PRINTF(4, 5)
static void found(sb_audit_report *rep, enum sb_audit_finding f, uint64_t seq, const char *fmt,
                  ...) {
    if (rep->finding != SB_AUDIT_INTACT) return; /* the first finding wins */
    rep->finding = f;
    rep->first_bad_seq = seq;
    va_list ap;
    va_start(ap, fmt);
    (void)vsnprintf(rep->detail, sizeof(rep->detail), fmt, ap);
    va_end(ap);
}

/* Does (prev, record, hash) hash correctly as row `seq`? */
static int row_valid_at(const uint8_t prev[SB_AUDIT_HASH_LEN], const char *rec, size_t len,
                        const uint8_t hash[SB_AUDIT_HASH_LEN], uint64_t seq, bool *ok,
                        sb_error *err) {
    uint8_t h[SB_AUDIT_HASH_LEN];
    TRY(sb_audit_row_hash(prev, rec, len, seq, h, err));
    *ok = sb_ct_equal(h, hash, SB_AUDIT_HASH_LEN);
    return 0;
}

/* Names what happened to the first row whose content does not match its hash: a record or a
 * whole row moved from elsewhere (reordered), a row renumbered after deletions (deleted), or an
 * edit. One more pass over the log. */
static int classify(sb_store *st, const sb_audit_row *bad, uint64_t last_seq, sb_audit_report *rep,
                    sb_error *err) {
    uint64_t k = (uint64_t)bad->seq;
    uint64_t whole_from = 0;  /* bad's whole row was written as this seq */
    uint64_t record_from = 0; /* bad's record belongs at this seq (another row's slot) */
    uint64_t original_at = 0; /* the row written as k now sits at this seq */
    uint64_t limit = last_seq + RENUMBER_SLACK;
    for (uint64_t m = 1; m <= limit && !whole_from; m++) {
        bool ok = false;
        if (m == k) continue;
        TRY(row_valid_at(bad->prev, bad->record, bad->record_len, bad->hash, m, &ok, err));
        if (ok) whole_from = m;
    }
    int64_t after = 0;
    for (;;) {
        sb_audit_row *v = NULL;
        size_t n = 0;
        TRY(sb_store_audit_list(st, after, PAGE, &v, &n, err));
        int r = 0;
        for (size_t i = 0; r == 0 && i < n; i++) {
            const sb_audit_row *x = &v[i];
            after = x->seq;
            if ((uint64_t)x->seq == k || x->malformed) continue;
            bool ok = false;
            if (!record_from) {
                r = row_valid_at(x->prev, bad->record, bad->record_len, x->hash, (uint64_t)x->seq,
                                 &ok, err);
                if (r == 0 && ok) record_from = (uint64_t)x->seq;
            }
            if (r == 0 && !original_at) {
                r = row_valid_at(x->prev, x->record, x->record_len, x->hash, k, &ok, err);
                if (r == 0 && ok) original_at = (uint64_t)x->seq;
            }
        }
        sb_audit_rows_free(v, n);
        TRY(r);
        if (n < PAGE) break;
    }
    if (whole_from && original_at)
        found(rep, SB_AUDIT_REORDERED, k,
              "seq %llu holds the row written as seq %llu, and the row written as seq %llu sits "
              "at seq %llu",
              (unsigned long long)k, (unsigned long long)whole_from, (unsigned long long)k,
              (unsigned long long)original_at);
    else if (whole_from > k)
        found(rep, SB_AUDIT_DELETED, k,
              "seq %llu holds the row written as seq %llu: rows %llu-%llu were deleted and the "
              "later rows renumbered",
              (unsigned long long)k, (unsigned long long)whole_from, (unsigned long long)k,
              (unsigned long long)whole_from - 1);
    else if (whole_from)
        found(rep, SB_AUDIT_REORDERED, k, "seq %llu holds a copy of the row written as seq %llu",
              (unsigned long long)k, (unsigned long long)whole_from);
    else if (record_from)
        found(rep, SB_AUDIT_REORDERED, k,
              "seq %llu holds the record written as seq %llu (records were moved)",
              (unsigned long long)k, (unsigned long long)record_from);
    else
        found(rep, SB_AUDIT_EDITED, k, "the record at seq %llu does not match its hash",
              (unsigned long long)k);
    return 0;
}

/* Checks one checkpoint against the key; false (with a finding) when forged. */
static int ckpt_signed(const sb_audit_ckpt *c, const sb_pubkey *key, const char *kid,
                       sb_audit_report *rep, bool *ok, sb_error *err) {
    *ok = false;
    if (c->malformed || c->siglen != SB_AUDIT_SIG_LEN) {
        found(rep, SB_AUDIT_FORGED, (uint64_t)c->seq,
              "the checkpoint at seq %lld is damaged (wrong column types or sizes)",
              (long long)c->seq);
        return 0;
    }
    if (strcmp(c->kid, kid) != 0) {
        found(rep, SB_AUDIT_FORGED, (uint64_t)c->seq,
              "the checkpoint at seq %lld names key %s, not the given key %s", (long long)c->seq,
              c->kid, kid);
        return 0;
    }
    uint8_t msg[HEAD_MSG_MAX];
    size_t mlen = 0;
    TRY(head_message((uint64_t)c->seq, c->hash, c->ts, c->counter, msg, &mlen, err));
    sb_error e2 = {0};
    int r = sb_ed25519_verify(key, msg, mlen, c->sig, c->siglen, &e2);
    if (r == SB_E_SIGNATURE) {
        found(rep, SB_AUDIT_FORGED, (uint64_t)c->seq,
              "the signature of the checkpoint at seq %lld does not hold (forged or edited)",
              (long long)c->seq);
        return 0;
    }
    if (r < 0) {
        if (err) *err = e2;
        return r;
    }
    *ok = true;
    return 0;
}

struct walk {
    sb_store *st;
    const sb_pubkey *key;
    char kid[SB_AUDIT_KID_MAX + 1];
    sb_audit_report *rep;
    /* checkpoints, paged */
    sb_audit_ckpt *ck;
    size_t nck, ick;
    int64_t ck_after;
    bool ck_done;
    uint64_t good_signed; /* the last seq whose signed hash matched the chain */
    const sb_audit_head *head;
};

static int next_ckpt(struct walk *w, const sb_audit_ckpt **out, sb_error *err) {
    *out = NULL;
    if (w->ick == w->nck && !w->ck_done) {
        free(w->ck);
        w->ck = NULL;
        w->nck = w->ick = 0;
        TRY(sb_store_audit_ckpt_list(w->st, w->ck_after, PAGE, &w->ck, &w->nck, err));
        if (w->nck < PAGE) w->ck_done = true;
        if (w->nck) w->ck_after = w->ck[w->nck - 1].seq;
    }
    if (w->ick < w->nck) *out = &w->ck[w->ick];
    return 0;
}

/* A signed (seq, hash) meets the chain hash computed at that seq. */
static void signed_meets_chain(struct walk *w, uint64_t seq, const uint8_t signed_hash[32],
                               const uint8_t chain_hash[32], const char *what) {
    if (sb_ct_equal(signed_hash, chain_hash, SB_AUDIT_HASH_LEN)) {
        if (seq > w->good_signed) w->good_signed = seq;
        if (seq > w->rep->signed_seq) w->rep->signed_seq = seq;
        return;
    }
    found(w->rep, SB_AUDIT_REWRITTEN, w->good_signed + 1,
          "the chain holds together but %s signed a different hash at seq %llu: rows %llu-%llu "
          "were rewritten and the chain recomputed",
          what, (unsigned long long)seq, (unsigned long long)w->good_signed + 1,
          (unsigned long long)seq);
}

/* The checkpoints (and the head file) at seq, given the chain's hash there. */
static int at_seq(struct walk *w, uint64_t seq, const uint8_t chain[SB_AUDIT_HASH_LEN],
                  sb_error *err) {
    for (;;) {
        const sb_audit_ckpt *c = NULL;
        TRY(next_ckpt(w, &c, err));
        if (!c || (uint64_t)c->seq > seq) break;
        w->ick++;
        bool ok = false;
        TRY(ckpt_signed(c, w->key, w->kid, w->rep, &ok, err));
        if (!ok) return 0;
        w->rep->checkpoints++;
        if (c->counter > w->rep->signed_counter) w->rep->signed_counter = c->counter;
        /* A checkpoint below seq was skipped by the row walk only if its row is missing, which
         * the walk reports itself. */
        if ((uint64_t)c->seq == seq) signed_meets_chain(w, seq, c->hash, chain, "a checkpoint");
    }
    if (w->head && w->head->seq == seq)
        signed_meets_chain(w, seq, w->head->hash, chain, "the head file");
    return 0;
}

static int walk_rows(struct walk *w, sb_error *err) {
    sb_audit_report *rep = w->rep;
    uint8_t prev[SB_AUDIT_HASH_LEN];
    memset(prev, 0, sizeof(prev));
    uint64_t expect = 1;
    int64_t after = 0;
    for (;;) {
        sb_audit_row *v = NULL;
        size_t n = 0;
        TRY(sb_store_audit_list(w->st, after, PAGE, &v, &n, err));
        int r = 0;
        for (size_t i = 0; r == 0 && i < n && rep->finding == SB_AUDIT_INTACT; i++) {
            const sb_audit_row *x = &v[i];
            after = x->seq;
            if (x->malformed) {
                found(rep, SB_AUDIT_EDITED, (uint64_t)x->seq,
                      "the row at seq %lld has columns of the wrong type or size",
                      (long long)x->seq);
                break;
            }
            if ((uint64_t)x->seq != expect) {
                found(rep, SB_AUDIT_DELETED, expect, "rows %llu-%lld are missing",
                      (unsigned long long)expect, (long long)x->seq - 1);
                break;
            }
            bool self = false;
            r = row_valid_at(x->prev, x->record, x->record_len, x->hash, expect, &self, err);
            if (r < 0) break;
            bool link = sb_ct_equal(x->prev, prev, SB_AUDIT_HASH_LEN);
            if (!self) {
                r = classify(w->st, x, rep->head_seq, rep, err);
                break;
            }
            if (!link) {
                found(rep, SB_AUDIT_EDITED, expect - 1,
                      "seq %llu no longer links to seq %llu: seq %llu was edited and its hash "
                      "recomputed (or a row was put in its place)",
                      (unsigned long long)expect, (unsigned long long)expect - 1,
                      (unsigned long long)expect - 1);
                break;
            }
            memcpy(prev, x->hash, SB_AUDIT_HASH_LEN);
            rep->records++;
            r = at_seq(w, expect, prev, err);
            expect++;
        }
        sb_audit_rows_free(v, n);
        TRY(r);
        if (n < PAGE || rep->finding != SB_AUDIT_INTACT) break;
    }
    return 0;
}

/* The walk over one snapshot: rows, checkpoints, then signed heads beyond the last row. */
static int verify_snapshot(sb_store *st, const sb_pubkey *key, const char *head_file,
                           const sb_audit_head *head, struct walk *w, sb_error *err) {
    sb_audit_report *rep = w->rep;
    sb_audit_row last;
    bool have_last = false;
    TRY(sb_store_audit_last(st, &last, &have_last, err));
    if (have_last) {
        rep->head_seq = (uint64_t)last.seq;
        memcpy(rep->head_hash, last.hash, SB_AUDIT_HASH_LEN);
    }
    if (head_file) {
        rep->head_file_checked = true;
        if (head) {
            rep->head_file_seq = head->seq;
            sb_error e2 = {0};
            int hr = sb_audit_head_check(head, key, &e2);
            if (hr == SB_E_SIGNATURE)
                found(rep, SB_AUDIT_FORGED, head->seq, "%s: %s", head_file, e2.msg);
            else if (hr < 0) {
                if (err) *err = e2;
                return hr;
            } else {
                w->head = head;
                if (head->counter > rep->signed_counter) rep->signed_counter = head->counter;
            }
        } else if (have_last) {
            found(rep, SB_AUDIT_HEAD_MISSING, 1,
                  "%s is missing: a rewrite of the whole log could not be ruled out", head_file);
        }
    }
    int r = walk_rows(w, err);
    /* Signed heads beyond the last row: the tail was cut off. */
    if (r == 0 && rep->finding == SB_AUDIT_INTACT) {
        const sb_audit_ckpt *c = NULL;
        while (r == 0 && (r = next_ckpt(w, &c, err)) == 0 && c) {
            w->ick++;
            bool ok = false;
            r = ckpt_signed(c, key, w->kid, rep, &ok, err);
            if (r == 0 && ok)
                found(rep, SB_AUDIT_TRUNCATED, rep->head_seq + 1,
                      "a signed checkpoint reaches seq %lld but the log ends at seq %llu: rows "
                      "%llu-%lld were cut off",
                      (long long)c->seq, (unsigned long long)rep->head_seq,
                      (unsigned long long)rep->head_seq + 1, (long long)c->seq);
            if (rep->finding != SB_AUDIT_INTACT) break;
        }
        if (r == 0 && w->head && w->head->seq > rep->head_seq)
            found(rep, SB_AUDIT_TRUNCATED, rep->head_seq + 1,
                  "%s reaches seq %llu but the log ends at seq %llu: rows %llu-%llu were cut off",
                  head_file, (unsigned long long)w->head->seq, (unsigned long long)rep->head_seq,
                  (unsigned long long)rep->head_seq + 1, (unsigned long long)w->head->seq);
    }
    return r;
}

int sb_audit_verify(sb_store *st, const sb_pubkey *key, const char *head_file, sb_audit_report *rep,
                    sb_error *err) {
    ENSURE(st && key && rep, err, SB_E_USAGE, "audit verify: no store, key or report");
    ENSURE(sb_pubkey_type(key) == SB_KEY_ED25519, err, SB_E_USAGE,
           "audit verify: the key is not Ed25519");
    sb_audit_report r0;
    memset(&r0, 0, sizeof(r0));
    struct walk w;
    memset(&w, 0, sizeof(w));
    w.st = st;
    w.key = key;
    w.rep = &r0;
    TRY(kid_of(key, w.kid, err));
    /* The head file first, then one snapshot of the database for the whole walk: a checkpoint
     * is committed before its head file is written, so a head read before the snapshot is never
     * ahead of it, even while sealboxd appends and checkpoints. */
    sb_audit_head head;
    bool have_head = false;
    if (head_file) TRY(head_load(head_file, &head, &have_head, err));
    ENSURE(!sb_store_in_transaction(st), err, SB_E_USAGE,
           "audit verify: inside an open transaction");
    TRY(sb_store_begin_read(st, err));
    int r = verify_snapshot(st, key, head_file, have_head ? &head : NULL, &w, err);
    sb_store_rollback(st);
    free(w.ck);
    TRY(r);
    r0.unsigned_tail = r0.head_seq > r0.signed_seq ? r0.head_seq - r0.signed_seq : 0;
    *rep = r0;
    if (r0.finding != SB_AUDIT_INTACT)
        BAIL(err, SB_E_SIGNATURE, "audit: %s at seq %llu: %s", sb_audit_finding_name(r0.finding),
             (unsigned long long)r0.first_bad_seq, r0.detail);
    return 0;
}

int sb_audit_verify_counter(sb_audit_report *rep, uint64_t counter, sb_error *err) {
    ENSURE(rep, err, SB_E_USAGE, "audit verify: no report");
    rep->counter_checked = true;
    rep->counter = counter;
    if (rep->finding != SB_AUDIT_INTACT || rep->signed_counter >= counter) return 0;
    found(rep, SB_AUDIT_ROLLED_BACK, rep->signed_seq + 1,
          "the newest signed head carries counter %llu but the counter is at %llu: the log and "
          "its head file were put back to an older state; what followed seq %llu is gone",
          (unsigned long long)rep->signed_counter, (unsigned long long)counter,
          (unsigned long long)rep->signed_seq);
    BAIL(err, SB_E_SIGNATURE, "audit: %s at seq %llu: %s", sb_audit_finding_name(rep->finding),
         (unsigned long long)rep->first_bad_seq, rep->detail);
}
