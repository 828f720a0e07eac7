/* fuzz_reader: drives the bounds-checked reader through nested length-prefixed sub-readers
 * chosen by the input itself, so every read path and every bound is exercised. */
#include <stddef.h>
#include <stdint.h>

#include "util/util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_DEPTH 16

static void walk_steps(sb_reader *r, int depth);

/* The error slot lives only while this level walks: detached before it goes out of scope. */
static void walk(sb_reader *r, int depth) {
    if (depth > MAX_DEPTH) return;
    sb_error err = {0};
    r->err = &err;
    walk_steps(r, depth);
    r->err = NULL;
}

static void walk_steps(sb_reader *r, int depth) {
    for (int steps = 0; steps < 256 && sb_reader_remaining(r) > 0; steps++) {
        uint8_t op;
        if (sb_reader_u8(r, &op, "op") < 0) return;
        uint8_t u8;
        uint16_t u16;
        uint32_t u32;
        uint64_t u64;
        const uint8_t *v;
        sb_reader sub;
        int rc = 0;
        switch (op % 16) {
        case 0: rc = sb_reader_u16le(r, &u16, "u16le"); break;
        case 1: rc = sb_reader_u32le(r, &u32, "u32le"); break;
        case 2: rc = sb_reader_u64le(r, &u64, "u64le"); break;
        case 3: rc = sb_reader_u16be(r, &u16, "u16be"); break;
        case 4: rc = sb_reader_u32be(r, &u32, "u32be"); break;
        case 5: rc = sb_reader_u64be(r, &u64, "u64be"); break;
        case 6:
            if ((rc = sb_reader_u8(r, &u8, "n")) == 0) rc = sb_reader_bytes(r, u8, &v, "bytes");
            if (rc == 0 && u8) (void)(v[0] ^ v[u8 - 1]);
            break;
        case 7:
            if ((rc = sb_reader_sub_u8(r, 255, &sub, "sub8")) == 0) walk(&sub, depth + 1);
            break;
        case 8:
            if ((rc = sb_reader_sub_u16le(r, 4096, &sub, "sub16le")) == 0) walk(&sub, depth + 1);
            break;
        case 9:
            if ((rc = sb_reader_sub_u32le(r, SIZE_MAX, &sub, "sub32le")) == 0)
                walk(&sub, depth + 1);
            break;
        case 10:
            if ((rc = sb_reader_sub_u16be(r, 1024, &sub, "sub16be")) == 0) walk(&sub, depth + 1);
            break;
        case 11:
            if ((rc = sb_reader_sub_u32be(r, 65536, &sub, "sub32be")) == 0) walk(&sub, depth + 1);
            break;
        case 12:
            if ((rc = sb_reader_u64le(r, &u64, "skip")) == 0)
                rc = sb_reader_skip(r, (size_t)u64, "skip");
            break;
        case 13: {
            uint8_t buf[32];
            if ((rc = sb_reader_u8(r, &u8, "n")) == 0) rc = sb_reader_copy(r, buf, u8 % 33, "copy");
            break;
        }
        case 14:
            if (sb_reader_end(r, "end") == 0 && sb_reader_remaining(r) != 0) __builtin_trap();
            break;
        default:
            if ((rc = sb_reader_u32le(r, &u32, "sub")) == 0 &&
                sb_reader_sub(r, u32, &sub, "sub") == 0)
                walk(&sub, depth + 1);
            break;
        }
        /* A failed read must never move the cursor past the end. */
        if (r->off > r->len) __builtin_trap();
        if (rc < 0 && r->err->msg[0] == '\0') __builtin_trap();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    sb_reader r;
    sb_reader_init(&r, data, size, "fuzz", NULL);
    walk(&r, 0);
    return 0;
}
