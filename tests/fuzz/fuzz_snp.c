/* fuzz_snp: the SEV-SNP report parser and every wrapper parser (hex, GHCB certificate table,
 * configfs-tsm JSON, Trustee SnpEvidence JSON), each fed the whole input, plus the sniffing
 * dispatcher. Parsed results are touched so that uninitialised fields show up under MSan/ASan. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "evidence/evidence.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static volatile uint64_t sink;

static void touch(const struct sb_snp_evidence *e) {
    uint64_t acc = e->report.version ^ e->report.reported_tcb ^ e->report.trailing;
    for (size_t i = 0; i < e->n_certs; i++)
        acc += e->certs[i].len + e->certs[i].data[0] + e->certs[i].data[e->certs[i].len - 1];
    sink = acc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    sb_error err = {0};
    static struct sb_snp_evidence e;

    if (sb_snp_evidence_parse(data, size, &e, &err) == 0) touch(&e);
    sb_snp_evidence_free(&e);

    struct sb_snp_report r;
    if (sb_snp_report_parse(data, size, &r, &err) == 0) sink = r.policy;

    if (sb_snp_hex_parse(data, size, &e, &err) == 0) touch(&e);
    sb_snp_evidence_free(&e);
    if (sb_snp_tsm_json_parse(data, size, &e, &err) == 0) touch(&e);
    sb_snp_evidence_free(&e);
    if (sb_snp_tsm_cbor_parse(data, size, &e, &err) == 0) touch(&e);
    sb_snp_evidence_free(&e);
    if (sb_snp_ratsd_parse(data, size, &e, &err) == 0) touch(&e);
    sb_snp_evidence_free(&e);
    if (sb_snp_trustee_parse(data, size, &e, &err) == 0) touch(&e);
    sb_snp_evidence_free(&e);

    struct sb_snp_cert certs[SB_SNP_CERTS_MAX];
    size_t n = 0;
    if (sb_snp_cert_table_parse(data, size, certs, &n, &err) == 0)
        for (size_t i = 0; i < n; i++)
            free(certs[i].data);
    return 0;
}
