/* fuzz_audit_export: an audit log export read back (JSONL framing by sb_audit_jsonl_each, each
 * line by sb_audit_line_parse), and the canonical record it yields, which must parse again. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "gateway/gateway.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int one_line(void *arg, uint64_t line, const uint8_t *p, size_t n, sb_error *err) {
    (void)line;
    size_t *rows = arg;
    sb_audit_row row;
    int r = sb_audit_line_parse(p, n, &row, err);
    if (r < 0) return 0; /* keep going: every line is exercised */
    if (row.seq < 1 || row.record_len > SB_AUDIT_RECORD_MAX || !row.record) __builtin_trap();
    char *again = sb_audit_line_format(&row);
    if (again) {
        sb_audit_row back;
        sb_error e2 = {0};
        /* What we format, we read back to the same row. */
        size_t len = strlen(again);
        if (len && again[len - 1] == '\n') len--;
        if (sb_audit_line_parse((const uint8_t *)again, len, &back, &e2) == 0) {
            if (back.seq != row.seq || back.record_len != row.record_len ||
                memcmp(back.record, row.record, row.record_len) != 0)
                __builtin_trap();
            free(back.record);
        }
        free(again);
    }
    free(row.record);
    (*rows)++;
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size > (1u << 20)) return 0;
    sb_error err = {0};
    size_t rows = 0;
    if (sb_audit_jsonl_each(data, size, one_line, &rows, &err) < 0 && !err.msg[0])
        __builtin_trap(); /* every failure names what failed */
    return 0;
}
