/* fuzz_audit_head: the exported head file of the audit log (sb_audit_head_parse), and the
 * signature check over whatever parses (it must refuse: the key below signed nothing). */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "gateway/gateway.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A fixed Ed25519 public key (the RFC 8032 test 1 key). */
static const uint8_t PUB[32] = {0xd7, 0x5a, 0x98, 0x01, 0x82, 0xb1, 0x0a, 0xb7, 0xd5, 0x4b, 0xfe,
                                0xd3, 0xc9, 0x64, 0x07, 0x3a, 0x0e, 0xe1, 0x72, 0xf3, 0xda, 0xa6,
                                0x23, 0x25, 0xaf, 0x02, 0x1a, 0x68, 0xf7, 0x07, 0x51, 0x1a};

static volatile size_t sink;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    sb_error err = {0};
    sb_audit_head h;
    if (sb_audit_head_parse(data, size, &h, &err) < 0) {
        sink += strlen(err.msg);
        return 0;
    }
    if (h.seq == 0 || h.seq > SB_AUDIT_SEQ_MAX || strlen(h.kid) == 0) __builtin_trap();
    sb_pubkey *k = NULL;
    if (sb_pubkey_from_ed25519(PUB, &k, &err) == 0) {
        /* Nothing here was signed by this key's owner: a pass would be a forgery. */
        if (sb_audit_head_check(&h, k, &err) == 0) __builtin_trap();
        sb_pubkey_free(k);
    }
    return 0;
}
