/* fuzz_cose: COSE_Sign1 parsing and the Sig_structure built from it; checks that every view
 * lies inside the input and that the ToBeSigned bytes re-parse as the four-element array. */
#include <stddef.h>
#include <stdint.h>

#include "evidence/evidence.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void inside(const uint8_t *base, size_t size, const uint8_t *p, size_t n) {
    if (n == 0) return;
    uintptr_t b = (uintptr_t)base, q = (uintptr_t)p;
    if (q < b || q - b > size || n > size - (q - b)) __builtin_trap();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    sb_error err = {0};
    sb_cose_sign1 c;
    if (sb_cose_sign1_parse(data, size, "fuzz", &err, &c) < 0) {
        if (err.msg[0] == '\0') __builtin_trap();
        return 0;
    }
    inside(data, size, c.prot, c.prot_len);
    inside(data, size, c.payload, c.payload_len);
    inside(data, size, c.signature, c.signature_len);
    if (c.signature_len != sb_cose_sig_len(c.alg)) __builtin_trap();
    sb_writer w;
    sb_writer_init(&w, size + 64);
    if (sb_cose_sign1_tbs(&c, (const uint8_t *)"aad", 3, &w) != 0) __builtin_trap();
    sb_cbor_item tbs, e;
    if (sb_cbor_decode(w.buf, w.len, "tbs", &err, &tbs) != 0) __builtin_trap();
    if (tbs.type != SB_CBOR_ARRAY || tbs.val != 4) __builtin_trap();
    if (sb_cbor_array_get(&tbs, 0, &e) != 0 || !sb_cbor_text_eq(&e, "Signature1")) __builtin_trap();
    if (sb_cbor_array_get(&tbs, 3, &e) != 0 || e.len != c.payload_len) __builtin_trap();
    sb_writer_free(&w);
    return 0;
}
