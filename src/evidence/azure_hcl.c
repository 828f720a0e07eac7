/* azure_hcl: the Azure HCL report — header, the hardware report area (SNP report or TDREPORT),
 * the IGVM request data and the runtime-data JSON whose hash the hardware report binds. */
#include "evidence.h"

int sb_azure_hcl_parse(const uint8_t *p, size_t n, struct sb_azure_hcl *out, sb_error *err) {
    if (n > SB_HCL_MAX_LEN)
        BAIL(err, SB_E_LIMIT, "azure-hcl: %zu bytes is over the limit of %u", n, SB_HCL_MAX_LEN);
    struct sb_azure_hcl h = {0};
    sb_reader r;
    sb_reader_init(&r, p, n, "azure-hcl", err);
    uint32_t magic, reserved;
    TRY(sb_reader_u32le(&r, &magic, "header.signature"));
    if (magic != SB_HCL_MAGIC)
        BAIL(err, SB_E_MALFORMED, "azure-hcl: header.signature 0x%08x is not \"HCLA\" (offset 0x0)",
             magic);
    TRY(sb_reader_u32le(&r, &h.version, "header.version"));
    if (h.version < 1 || h.version > 2)
        BAIL(err, SB_E_UNSUPPORTED, "azure-hcl: header.version %u is not 1 or 2 (offset 0x4)",
             h.version);
    size_t at = sb_reader_offset(&r);
    TRY(sb_reader_u32le(&r, &h.report_size, "header.report_size"));
    if (h.report_size < SB_HCL_VAR_OFFSET || h.report_size > n)
        BAIL(err, h.report_size > n ? SB_E_TRUNCATED : SB_E_MALFORMED,
             "azure-hcl: header.report_size %u at offset 0x%zx is not in 0x%x..%zu", h.report_size,
             at, SB_HCL_VAR_OFFSET, n);
    TRY(sb_reader_u32le(&r, &h.request_type, "header.request_type"));
    at = sb_reader_offset(&r);
    TRY(sb_reader_u32le(&r, &h.status, "header.status"));
    if (h.status != 0)
        BAIL(err, SB_E_MALFORMED, "azure-hcl: header.status %u at offset 0x%zx is not 0 (success)",
             h.status, at);
    for (int i = 0; i < 3; i++) {
        at = sb_reader_offset(&r);
        TRY(sb_reader_u32le(&r, &reserved, "header.reserved"));
        if (reserved != 0)
            BAIL(err, SB_E_MALFORMED, "azure-hcl: header.reserved at offset 0x%zx is not zero", at);
    }
    TRY(sb_reader_bytes(&r, SB_HCL_HW_REPORT_LEN, &h.hw_report, "hw_report"));
    TRY(sb_reader_u32le(&r, &h.data_size, "igvm.data_size"));
    at = sb_reader_offset(&r);
    TRY(sb_reader_u32le(&r, &h.igvm_version, "igvm.version"));
    if (h.igvm_version != 1)
        BAIL(err, SB_E_UNSUPPORTED, "azure-hcl: igvm.version %u at offset 0x%zx is not 1",
             h.igvm_version, at);
    at = sb_reader_offset(&r);
    TRY(sb_reader_u32le(&r, &h.report_type, "igvm.report_type"));
    if (h.report_type != SB_HCL_REPORT_SNP && h.report_type != SB_HCL_REPORT_TDX)
        BAIL(err, SB_E_UNSUPPORTED,
             "azure-hcl: igvm.report_type %u at offset 0x%zx is neither SNP (2) nor TDX (4)",
             h.report_type, at);
    at = sb_reader_offset(&r);
    TRY(sb_reader_u32le(&r, &h.hash_type, "igvm.report_data_hash_type"));
    if (h.hash_type < 1 || h.hash_type > 3)
        BAIL(err, SB_E_UNSUPPORTED,
             "azure-hcl: igvm.report_data_hash_type %u at offset 0x%zx is not 1..3", h.hash_type,
             at);
    at = sb_reader_offset(&r);
    sb_reader var;
    TRY(sb_reader_sub_u32le(&r, SB_HCL_MAX_VAR_DATA, &var, "igvm.variable_data_size"));
    h.var_len = (uint32_t)sb_reader_remaining(&var);
    TRY(sb_reader_bytes(&var, h.var_len, &h.var_data, "igvm.variable_data"));
    if (h.data_size != 20u + h.var_len)
        BAIL(err, SB_E_MALFORMED, "azure-hcl: igvm.data_size %u is not 20 + variable_data_size %u",
             h.data_size, h.var_len);
    if (sb_reader_offset(&r) != h.report_size)
        BAIL(err, SB_E_MALFORMED,
             "azure-hcl: header.report_size %u but the report ends at 0x%zx (offset 0x%zx)",
             h.report_size, sb_reader_offset(&r), at);
    h.padding = sb_reader_remaining(&r);
    const uint8_t *pad;
    TRY(sb_reader_bytes(&r, h.padding, &pad, "padding"));
    for (size_t i = 0; i < h.padding; i++)
        if (pad[i] != 0)
            BAIL(err, SB_E_MALFORMED,
                 "azure-hcl: non-zero byte 0x%02x at offset 0x%zx after the %u-byte report", pad[i],
                 (size_t)h.report_size + i, h.report_size);
    *out = h;
    return 0;
}
