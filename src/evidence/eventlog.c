/* eventlog: the TCG PC Client event log (crypto-agile TCG_PCR_EVENT2 records behind a Spec ID
 * Event03 header, or legacy SHA-1 records), used for TPM PCRs and the TDX CCEL alike. */
#include <string.h>

#include "evidence.h"

static const uint8_t SPEC_ID_03[16] = "Spec ID Event03";
static const uint8_t SPEC_ID_00[16] = "Spec ID Event00";
static const uint8_t STARTUP_LOCALITY[16] = "StartupLocality";

#define SHA1_LEN 20u

static bool bytes_eq(const uint8_t *a, const uint8_t *b, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (a[i] != b[i]) return false;
    return true;
}

static int known_digest_size(uint16_t alg) {
    switch (alg) {
    case SB_TPM_ALG_SHA1: return 20;
    case SB_TPM_ALG_SHA256: return 32;
    case SB_TPM_ALG_SHA384: return 48;
    case SB_TPM_ALG_SHA512: return 64;
    case SB_TPM_ALG_SM3_256: return 32;
    default: return -1;
    }
}

const struct sb_eventlog_digest *sb_eventlog_event_digest(const struct sb_eventlog_event *ev,
                                                          uint16_t alg) {
    for (uint8_t i = 0; i < ev->n_digests && i < SB_EVENTLOG_MAX_ALGS; i++)
        if (ev->digests[i].alg == alg) return &ev->digests[i];
    return NULL;
}

void sb_eventlog_free(struct sb_eventlog *log) {
    if (!log) return;
    free(log->events);
    log->events = NULL;
    log->n_events = 0;
}

/* The Spec ID Event03 structure (TCG PC Client PFP §9.4.5.1), the data of the first event. */
static int parse_spec_id(sb_reader *r, struct sb_eventlog *log) {
    uint32_t n_algs;
    TRY(sb_reader_skip(r, sizeof(SPEC_ID_03), "spec_id.signature"));
    TRY(sb_reader_u32le(r, &log->platform_class, "spec_id.platformClass"));
    TRY(sb_reader_u8(r, &log->spec_minor, "spec_id.specVersionMinor"));
    TRY(sb_reader_u8(r, &log->spec_major, "spec_id.specVersionMajor"));
    TRY(sb_reader_u8(r, &log->spec_errata, "spec_id.specErrata"));
    TRY(sb_reader_u8(r, &log->uintn_size, "spec_id.uintnSize"));
    size_t at = sb_reader_offset(r);
    TRY(sb_reader_u32le(r, &n_algs, "spec_id.numberOfAlgorithms"));
    if (n_algs == 0 || n_algs > SB_EVENTLOG_MAX_ALGS)
        BAIL(r->err, n_algs ? SB_E_LIMIT : SB_E_MALFORMED,
             "eventlog: spec_id.numberOfAlgorithms %u at offset 0x%zx is not in 1..%u", n_algs, at,
             SB_EVENTLOG_MAX_ALGS);
    for (uint32_t i = 0; i < n_algs; i++) {
        uint16_t alg, size;
        at = sb_reader_offset(r);
        TRY(sb_reader_u16le(r, &alg, "spec_id.digestSizes.algorithmId"));
        TRY(sb_reader_u16le(r, &size, "spec_id.digestSizes.digestSize"));
        if (size == 0 || size > SB_EVENTLOG_MAX_DIGEST)
            BAIL(r->err, SB_E_LIMIT,
                 "eventlog: spec_id digest size %u of algorithm 0x%04x at offset 0x%zx is not in "
                 "1..%u",
                 size, alg, at, SB_EVENTLOG_MAX_DIGEST);
        int want = known_digest_size(alg);
        if (want >= 0 && size != (unsigned)want)
            BAIL(r->err, SB_E_MALFORMED,
                 "eventlog: spec_id declares %u-byte digests for algorithm 0x%04x (offset "
                 "0x%zx), which has %d",
                 size, alg, at, want);
        for (uint32_t j = 0; j < i; j++)
            if (log->algs[j].alg == alg)
                BAIL(r->err, SB_E_MALFORMED,
                     "eventlog: spec_id lists algorithm 0x%04x twice (offset 0x%zx)", alg, at);
        log->algs[i].alg = alg;
        log->algs[i].size = size;
    }
    log->n_algs = (uint8_t)n_algs;
    sb_reader vendor;
    TRY(sb_reader_sub_u8(r, SB_EVENTLOG_MAX_VENDOR, &vendor, "spec_id.vendorInfo"));
    return sb_reader_end(r, "spec_id");
}

/* One legacy TCG_PCClientPCREvent (SHA-1 digest). */
static int parse_legacy_event(sb_reader *r, struct sb_eventlog_event *ev) {
    ev->offset = sb_reader_offset(r);
    TRY(sb_reader_u32le(r, &ev->index, "event.pcrIndex"));
    TRY(sb_reader_u32le(r, &ev->type, "event.eventType"));
    const uint8_t *d;
    TRY(sb_reader_bytes(r, SHA1_LEN, &d, "event.digest"));
    ev->n_digests = 1;
    ev->digests[0] = (struct sb_eventlog_digest){.alg = SB_TPM_ALG_SHA1, .len = SHA1_LEN, .p = d};
    sb_reader data;
    TRY(sb_reader_sub_u32le(r, SB_EVENTLOG_MAX_EVENT_DATA, &data, "event.eventSize"));
    ev->data_len = (uint32_t)sb_reader_remaining(&data);
    TRY(sb_reader_bytes(&data, ev->data_len, &ev->data, "event.event"));
    return 0;
}

/* One TCG_PCR_EVENT2: the digests are a TPML_DIGEST_VALUES whose sizes come from the header. */
static int parse_event2(sb_reader *r, const struct sb_eventlog *log, struct sb_eventlog_event *ev) {
    ev->offset = sb_reader_offset(r);
    TRY(sb_reader_u32le(r, &ev->index, "event2.pcrIndex"));
    TRY(sb_reader_u32le(r, &ev->type, "event2.eventType"));
    uint32_t count;
    size_t at = sb_reader_offset(r);
    TRY(sb_reader_u32le(r, &count, "event2.digests.count"));
    if (count == 0 || count > log->n_algs)
        BAIL(r->err, count ? SB_E_LIMIT : SB_E_MALFORMED,
             "eventlog: event2.digests.count %u at offset 0x%zx is not in 1..%u (the header's "
             "banks)",
             count, at, log->n_algs);
    for (uint32_t i = 0; i < count; i++) {
        uint16_t alg;
        at = sb_reader_offset(r);
        TRY(sb_reader_u16le(r, &alg, "event2.digests.hashAlg"));
        uint16_t size = 0;
        for (uint8_t j = 0; j < log->n_algs; j++)
            if (log->algs[j].alg == alg) size = log->algs[j].size;
        if (size == 0)
            BAIL(r->err, SB_E_MALFORMED,
                 "eventlog: event2 digest algorithm 0x%04x at offset 0x%zx is not declared in the "
                 "Spec ID event",
                 alg, at);
        for (uint32_t j = 0; j < i; j++)
            if (ev->digests[j].alg == alg)
                BAIL(r->err, SB_E_MALFORMED,
                     "eventlog: event2 carries algorithm 0x%04x twice (offset 0x%zx)", alg, at);
        ev->digests[i].alg = alg;
        ev->digests[i].len = size;
        TRY(sb_reader_bytes(r, size, &ev->digests[i].p, "event2.digests.digest"));
    }
    ev->n_digests = (uint8_t)count;
    sb_reader data;
    TRY(sb_reader_sub_u32le(r, SB_EVENTLOG_MAX_EVENT_DATA, &data, "event2.eventSize"));
    ev->data_len = (uint32_t)sb_reader_remaining(&data);
    TRY(sb_reader_bytes(&data, ev->data_len, &ev->data, "event2.event"));
    return 0;
}

/* True when the rest of r is one fill byte (0x00 or 0xff) repeated. */
static bool rest_is_fill(const sb_reader *r) {
    sb_reader peek = *r;
    size_t n = sb_reader_remaining(&peek);
    const uint8_t *v;
    if (n == 0 || sb_reader_bytes(&peek, n, &v, "padding") < 0) return false;
    if (v[0] != 0x00 && v[0] != 0xff) return false;
    for (size_t i = 1; i < n; i++)
        if (v[i] != v[0]) return false;
    return true;
}

static void note_startup_locality(struct sb_eventlog *log, const struct sb_eventlog_event *ev) {
    if (ev->type != SB_EV_NO_ACTION || ev->index != 0 || ev->data_len != 17) return;
    if (!bytes_eq(ev->data, STARTUP_LOCALITY, sizeof(STARTUP_LOCALITY))) return;
    log->startup_locality = ev->data[16];
}

int sb_eventlog_parse(const uint8_t *p, size_t n, unsigned flags, struct sb_eventlog *out,
                      sb_error *err) {
    if (n > SB_EVENTLOG_MAX_LEN)
        BAIL(err, SB_E_LIMIT, "eventlog: %zu bytes is over the limit of %u", n,
             SB_EVENTLOG_MAX_LEN);
    struct sb_eventlog log = {.startup_locality = -1};
    sb_reader r;
    sb_reader_init(&r, p, n, "eventlog", err);

    /* First record: always the SHA-1 format. */
    struct sb_eventlog_event first = {0};
    TRY(parse_legacy_event(&r, &first));
    if (first.type == SB_EV_NO_ACTION && first.data_len >= sizeof(SPEC_ID_03) &&
        bytes_eq(first.data, SPEC_ID_03, sizeof(SPEC_ID_03))) {
        sb_reader spec;
        sb_reader_init(&spec, first.data, first.data_len, "eventlog", err);
        spec.base = first.offset + 32; /* pcrIndex, eventType, digest[20], eventSize */
        TRY(parse_spec_id(&spec, &log));
        log.crypto_agile = true;
    } else {
        if (first.type == SB_EV_NO_ACTION && first.data_len >= sizeof(SPEC_ID_00) &&
            !bytes_eq(first.data, SPEC_ID_00, sizeof(SPEC_ID_00)) &&
            bytes_eq(first.data, SPEC_ID_03, 13))
            BAIL(err, SB_E_UNSUPPORTED, "eventlog: unknown Spec ID event signature at offset 0x%zx",
                 first.offset + 32);
        log.n_algs = 1;
        log.algs[0].alg = SB_TPM_ALG_SHA1;
        log.algs[0].size = SHA1_LEN;
    }

    size_t cap = 64;
    struct sb_eventlog_event *ev = calloc(cap, sizeof(*ev));
    if (!ev) BAIL(err, SB_E_INTERNAL, "eventlog: out of memory");
    ev[0] = first;
    note_startup_locality(&log, &first);
    size_t count = 1;
    int rc = 0;
    while (sb_reader_remaining(&r) > 0) {
        if ((flags & SB_EVENTLOG_ALLOW_PADDING) && rest_is_fill(&r)) {
            log.padding = sb_reader_remaining(&r);
            break;
        }
        if (count >= SB_EVENTLOG_MAX_EVENTS) {
            rc = sb_error_set(err, SB_E_LIMIT, "eventlog: more than %u events (offset 0x%zx)",
                              SB_EVENTLOG_MAX_EVENTS, sb_reader_offset(&r));
            break;
        }
        if (count == cap) {
            struct sb_eventlog_event *bigger = reallocarray(ev, cap * 2, sizeof(*ev));
            if (!bigger) {
                rc = sb_error_set(err, SB_E_INTERNAL, "eventlog: out of memory");
                break;
            }
            ev = bigger;
            cap *= 2;
        }
        struct sb_eventlog_event *e = &ev[count];
        *e = (struct sb_eventlog_event){0};
        rc = log.crypto_agile ? parse_event2(&r, &log, e) : parse_legacy_event(&r, e);
        if (rc < 0) {
            sb_error_prefix(err, "event %zu", count);
            break;
        }
        note_startup_locality(&log, e);
        count++;
    }
    if (rc < 0) {
        free(ev);
        return rc;
    }
    log.events = ev;
    log.n_events = count;
    *out = log;
    return 0;
}
