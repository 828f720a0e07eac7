/* fuzz_cbor: decodes one CBOR item with the bounded reader, then walks everything it accepted
 * (iteration, lookups, accessors) and checks that integers and strings re-encode to the exact
 * bytes read, since the reader only accepts preferred serialization. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "evidence/evidence.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_reencode(const sb_cbor_item *it) {
    sb_writer w;
    sb_writer_init(&w, 1u << 24);
    switch (it->type) {
    case SB_CBOR_UINT: (void)sb_cbor_put_head(&w, 0, it->val); break;
    case SB_CBOR_NEGINT: (void)sb_cbor_put_head(&w, 1, it->val); break;
    case SB_CBOR_BYTES:
        (void)sb_cbor_put_head(&w, 2, it->len);
        (void)sb_writer_bytes(&w, it->data, it->len);
        break;
    case SB_CBOR_TEXT:
        (void)sb_cbor_put_head(&w, 3, it->len);
        (void)sb_writer_bytes(&w, it->data, it->len);
        break;
    case SB_CBOR_ARRAY: (void)sb_cbor_put_head(&w, 4, it->val); break;
    case SB_CBOR_MAP: (void)sb_cbor_put_head(&w, 5, it->val); break;
    case SB_CBOR_TAG: (void)sb_cbor_put_head(&w, 6, it->val); break;
    case SB_CBOR_SIMPLE: (void)sb_cbor_put_simple(&w, (uint8_t)it->val); break;
    default: sb_writer_free(&w); return;
    }
    if (sb_writer_status(&w) != 0) __builtin_trap();
    /* Containers: the head, then exactly the enclosed bytes. */
    if (it->type == SB_CBOR_ARRAY || it->type == SB_CBOR_MAP || it->type == SB_CBOR_TAG)
        (void)sb_writer_bytes(&w, it->data, it->len);
    if (w.len != it->raw_len || memcmp(w.buf, it->raw, w.len) != 0) __builtin_trap();
    sb_writer_free(&w);
}

static void walk(const sb_cbor_item *it) {
    if (it->depth > SB_CBOR_MAX_DEPTH) __builtin_trap();
    check_reencode(it);
    int64_t i64;
    uint64_t u64;
    const uint8_t *p;
    const char *s;
    size_t n;
    bool b;
    double d;
    /* each accessor succeeds exactly for its own type */
    if ((sb_cbor_get_uint(it, &u64, "x") == 0) != (it->type == SB_CBOR_UINT)) __builtin_trap();
    if ((sb_cbor_get_bytes(it, &p, &n, "x") == 0) != (it->type == SB_CBOR_BYTES)) __builtin_trap();
    if ((sb_cbor_get_text(it, &s, &n, "x") == 0) != (it->type == SB_CBOR_TEXT)) __builtin_trap();
    if ((sb_cbor_get_double(it, &d, "x") == 0) != (it->type == SB_CBOR_FLOAT)) __builtin_trap();
    if (sb_cbor_get_bool(it, &b, "x") == 0 && it->type != SB_CBOR_SIMPLE) __builtin_trap();
    if (sb_cbor_get_int(it, &i64, "x") == 0 && it->type != SB_CBOR_UINT &&
        it->type != SB_CBOR_NEGINT)
        __builtin_trap();
    if (it->type == SB_CBOR_TAG) {
        sb_cbor_item in;
        if (sb_cbor_untag(it, it->val, &in, "x") != 0) __builtin_trap();
        walk(&in);
        return;
    }
    if (it->type != SB_CBOR_ARRAY && it->type != SB_CBOR_MAP) return;
    sb_cbor_iter iter;
    if (sb_cbor_iter_init(it, &iter, "x") != 0) __builtin_trap();
    sb_cbor_item k, v;
    int rc;
    uint64_t count = 0;
    while ((rc = sb_cbor_iter_next(&iter, &k, &v)) > 0) {
        count++;
        walk(&k);
        if (it->type == SB_CBOR_MAP) {
            walk(&v);
            sb_cbor_item found;
            /* every key is found again, and (no duplicates) finds its own value */
            if (k.type == SB_CBOR_TEXT && k.len < 256) {
                char key[256];
                for (size_t i = 0; i < k.len; i++)
                    key[i] = (char)k.data[i];
                key[k.len] = 0;
                if (strlen(key) == k.len) {
                    if (sb_cbor_map_get_text(it, key, &found) != 0) __builtin_trap();
                    if (found.offset != v.offset) __builtin_trap();
                }
            } else if (sb_cbor_get_int(&k, &i64, "k") == 0) {
                if (sb_cbor_map_get_int(it, i64, &found) != 0) __builtin_trap();
                if (found.offset != v.offset) __builtin_trap();
            }
        }
    }
    /* a validated container always iterates to its declared count */
    if (rc != 0 || count != it->val) __builtin_trap();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    sb_error err = {0};
    sb_reader r;
    sb_reader_init(&r, data, size, "fuzz", &err);
    /* a sequence of items, as a stream decoder would read them */
    for (int i = 0; i < 64 && sb_reader_remaining(&r) > 0; i++) {
        sb_cbor_item it;
        size_t before = r.off;
        if (sb_cbor_read(&r, &it, "item") < 0) {
            if (r.off != before || err.msg[0] == '\0') __builtin_trap();
            break;
        }
        if (it.raw_len != r.off - before || it.raw_len == 0) __builtin_trap();
        walk(&it);
    }
    return 0;
}
