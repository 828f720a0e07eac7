/* test_cbor: the bounded CBOR reader against the RFC 8949 Appendix A examples, the writer's
 * preferred serialization, and hostile inputs (huge counts, depth, duplicates, bad UTF-8). */
#include <math.h>

#include "evidence/evidence.h"
#include "harness.h"

static uint8_t *unhex(const char *h, size_t *n) {
    uint8_t *p = NULL;
    sb_error err = {0};
    if (sb_hex_decode(h, strlen(h), &p, n, &err) < 0) {
        sb_test_fail(__FILE__, __LINE__, "bad test hex %s: %s", h, err.msg);
        return NULL;
    }
    return p;
}

/* Decodes hex; returns the rc, fills *it, and keeps the bytes alive in *keep. */
static int dec(const char *h, sb_cbor_item *it, sb_error *err, uint8_t **keep) {
    size_t n;
    *keep = unhex(h, &n);
    return sb_cbor_decode(*keep, n, "cbor", err, it);
}

struct int_case {
    const char *hex;
    enum sb_cbor_type type;
    uint64_t val;
};

/* RFC 8949 Appendix A, integers (the bignums 2(...) and 3(...) are tags around byte strings). */
static const struct int_case INTS[] = {
    {"00", SB_CBOR_UINT, 0},
    {"01", SB_CBOR_UINT, 1},
    {"0a", SB_CBOR_UINT, 10},
    {"17", SB_CBOR_UINT, 23},
    {"1818", SB_CBOR_UINT, 24},
    {"1819", SB_CBOR_UINT, 25},
    {"1864", SB_CBOR_UINT, 100},
    {"1903e8", SB_CBOR_UINT, 1000},
    {"1a000f4240", SB_CBOR_UINT, 1000000},
    {"1b000000e8d4a51000", SB_CBOR_UINT, 1000000000000ull},
    {"1bffffffffffffffff", SB_CBOR_UINT, UINT64_MAX},
    {"3bffffffffffffffff", SB_CBOR_NEGINT, UINT64_MAX}, /* -18446744073709551616 */
    {"20", SB_CBOR_NEGINT, 0},                          /* -1 */
    {"29", SB_CBOR_NEGINT, 9},                          /* -10 */
    {"3863", SB_CBOR_NEGINT, 99},                       /* -100 */
    {"3903e7", SB_CBOR_NEGINT, 999},                    /* -1000 */
    {"f4", SB_CBOR_SIMPLE, 20},
    {"f5", SB_CBOR_SIMPLE, 21},
    {"f6", SB_CBOR_SIMPLE, 22},
    {"f7", SB_CBOR_SIMPLE, 23},
    {"f0", SB_CBOR_SIMPLE, 16},
    {"f8ff", SB_CBOR_SIMPLE, 255},
};

TEST(rfc8949_integers_and_simple_values) {
    for (size_t i = 0; i < SB_ARRAY_LEN(INTS); i++) {
        sb_error err = {0};
        sb_cbor_item it;
        uint8_t *keep;
        CHECK_OK(dec(INTS[i].hex, &it, &err, &keep), &err);
        CHECK_INT(it.type, INTS[i].type);
        CHECK_MSG(it.val == INTS[i].val, "%s: val %llu", INTS[i].hex, (unsigned long long)it.val);
        CHECK_INT(it.raw_len, strlen(INTS[i].hex) / 2);
        /* the writer reproduces the same bytes */
        sb_writer w;
        sb_writer_init(&w, 64);
        if (it.type == SB_CBOR_SIMPLE)
            (void)sb_cbor_put_simple(&w, (uint8_t)it.val);
        else
            (void)sb_cbor_put_head(&w, it.type == SB_CBOR_UINT ? 0 : 1, it.val);
        CHECK_INT(sb_writer_status(&w), 0);
        CHECK_INT(w.len, it.raw_len);
        CHECK_MEM(w.buf, keep, w.len);
        sb_writer_free(&w);
        free(keep);
    }
}

TEST(signed_accessor_ranges) {
    sb_error err = {0};
    sb_cbor_item it;
    uint8_t *keep;
    int64_t v;
    CHECK_OK(dec("3903e7", &it, &err, &keep), &err);
    CHECK_OK(sb_cbor_get_int(&it, &v, "x"), &err);
    CHECK_INT(v, -1000);
    free(keep);
    CHECK_OK(dec("3b7fffffffffffffff", &it, &err, &keep), &err);
    CHECK_OK(sb_cbor_get_int(&it, &v, "x"), &err);
    CHECK(v == INT64_MIN);
    free(keep);
    CHECK_OK(dec("3bffffffffffffffff", &it, &err, &keep), &err);
    CHECK_INT(sb_cbor_get_int(&it, &v, "the_field"), SB_E_MALFORMED);
    CHECK_CONTAINS(err.msg, "the_field");
    CHECK_CONTAINS(err.msg, "does not fit");
    uint64_t u;
    CHECK_INT(sb_cbor_get_uint(&it, &u, "count"), SB_E_MALFORMED);
    CHECK_CONTAINS(err.msg, "expected unsigned integer, got negative integer");
    free(keep);
    sb_writer w;
    sb_writer_init(&w, 64);
    (void)sb_cbor_put_int(&w, INT64_MIN);
    (void)sb_cbor_put_int(&w, -35);
    CHECK_INT(sb_writer_status(&w), 0);
    CHECK_INT(w.len, 11);
    CHECK_INT(w.buf[0], 0x3b);
    CHECK_INT(w.buf[9], 0x38);
    CHECK_INT(w.buf[10], 0x22);
    sb_writer_free(&w);
}

struct float_case {
    const char *hex;
    double v;
};

static const struct float_case FLOATS[] = {
    {"f90000", 0.0},
    {"f98000", -0.0},
    {"f93c00", 1.0},
    {"fb3ff199999999999a", 1.1},
    {"f93e00", 1.5},
    {"f97bff", 65504.0},
    {"fa47c35000", 100000.0},
    {"fa7f7fffff", 3.4028234663852886e+38},
    {"fb7e37e43c8800759c", 1.0e+300},
    {"f90001", 5.960464477539063e-8},
    {"f90400", 0.00006103515625},
    {"f9c400", -4.0},
    {"fbc010666666666666", -4.1},
};

TEST(rfc8949_floats) {
    for (size_t i = 0; i < SB_ARRAY_LEN(FLOATS); i++) {
        sb_error err = {0};
        sb_cbor_item it;
        uint8_t *keep;
        double d = 42;
        CHECK_OK(dec(FLOATS[i].hex, &it, &err, &keep), &err);
        CHECK_INT(it.type, SB_CBOR_FLOAT);
        CHECK_OK(sb_cbor_get_double(&it, &d, "f"), &err);
        CHECK_MSG(d == FLOATS[i].v && signbit(d) == signbit(FLOATS[i].v), "%s: %g != %g",
                  FLOATS[i].hex, d, FLOATS[i].v);
        free(keep);
    }
    static const char *const special[] = {"f97c00",
                                          "f97e00",
                                          "f9fc00",
                                          "fa7f800000",
                                          "fa7fc00000",
                                          "faff800000",
                                          "fb7ff0000000000000"};
    for (size_t i = 0; i < SB_ARRAY_LEN(special); i++) {
        sb_error err = {0};
        sb_cbor_item it;
        uint8_t *keep;
        double d = 0;
        CHECK_OK(dec(special[i], &it, &err, &keep), &err);
        CHECK_OK(sb_cbor_get_double(&it, &d, "f"), &err);
        CHECK(isinf(d) || isnan(d));
        free(keep);
    }
}

TEST(rfc8949_strings) {
    static const struct {
        const char *hex, *text;
        size_t n;
        enum sb_cbor_type t;
    } S[] = {
        {"40", "", 0, SB_CBOR_BYTES},
        {"4401020304", "\x01\x02\x03\x04", 4, SB_CBOR_BYTES},
        {"60", "", 0, SB_CBOR_TEXT},
        {"6161", "a", 1, SB_CBOR_TEXT},
        {"6449455446", "IETF", 4, SB_CBOR_TEXT},
        {"62225c", "\"\\", 2, SB_CBOR_TEXT},
        {"62c3bc", "\xc3\xbc", 2, SB_CBOR_TEXT},
        {"63e6b0b4", "\xe6\xb0\xb4", 3, SB_CBOR_TEXT},
        {"64f0908591", "\xf0\x90\x85\x91", 4, SB_CBOR_TEXT},
    };
    for (size_t i = 0; i < SB_ARRAY_LEN(S); i++) {
        sb_error err = {0};
        sb_cbor_item it;
        uint8_t *keep;
        CHECK_OK(dec(S[i].hex, &it, &err, &keep), &err);
        CHECK_INT(it.type, S[i].t);
        CHECK_INT(it.len, S[i].n);
        CHECK_MEM(it.data, S[i].text, S[i].n);
        CHECK_INT(it.data_offset, 1);
        if (S[i].t == SB_CBOR_TEXT) CHECK(sb_cbor_text_eq(&it, S[i].text));
        sb_writer w;
        sb_writer_init(&w, 64);
        if (S[i].t == SB_CBOR_TEXT)
            (void)sb_cbor_put_text(&w, S[i].text);
        else
            (void)sb_cbor_put_bytes(&w, S[i].text, S[i].n);
        CHECK_INT(w.len, it.raw_len);
        CHECK_MEM(w.buf, keep, w.len);
        sb_writer_free(&w);
        free(keep);
    }
}

TEST(rfc8949_tags) {
    static const struct {
        const char *hex;
        uint64_t tag;
        enum sb_cbor_type inner;
    } T[] = {
        {"c074323031332d30332d32315432303a30343a30305a", 0, SB_CBOR_TEXT},
        {"c11a514b67b0", 1, SB_CBOR_UINT},
        {"c1fb41d452d9ec200000", 1, SB_CBOR_FLOAT},
        {"d74401020304", 23, SB_CBOR_BYTES},
        {"d818456449455446", 24, SB_CBOR_BYTES},
        {"d82076687474703a2f2f7777772e6578616d706c652e636f6d", 32, SB_CBOR_TEXT},
        {"c249010000000000000000", 2, SB_CBOR_BYTES},
        {"c349010000000000000000", 3, SB_CBOR_BYTES},
    };
    for (size_t i = 0; i < SB_ARRAY_LEN(T); i++) {
        sb_error err = {0};
        sb_cbor_item it, in;
        uint8_t *keep;
        CHECK_OK(dec(T[i].hex, &it, &err, &keep), &err);
        CHECK_INT(it.type, SB_CBOR_TAG);
        CHECK(it.val == T[i].tag);
        CHECK_OK(sb_cbor_untag(&it, T[i].tag, &in, "inner"), &err);
        CHECK_INT(in.type, T[i].inner);
        CHECK_INT(in.depth, 1);
        CHECK_INT(sb_cbor_untag(&it, T[i].tag + 1, &in, "inner"), SB_E_MALFORMED);
        CHECK_CONTAINS(err.msg, "expected tag");
        free(keep);
    }
    sb_error err = {0};
    sb_cbor_item it, in;
    uint8_t *keep;
    CHECK_OK(dec("c1fb41d452d9ec200000", &it, &err, &keep), &err);
    CHECK_OK(sb_cbor_untag(&it, 1, &in, "epoch"), &err);
    double d = 0;
    CHECK_OK(sb_cbor_get_double(&in, &d, "epoch"), &err);
    CHECK(d == 1363896240.5);
    free(keep);
}

TEST(rfc8949_arrays_and_maps) {
    sb_error err = {0};
    sb_cbor_item it, e, v;
    uint8_t *keep;
    sb_cbor_iter iter;

    CHECK_OK(dec("80", &it, &err, &keep), &err);
    CHECK_INT(it.type, SB_CBOR_ARRAY);
    CHECK_INT(it.val, 0);
    CHECK_OK(sb_cbor_iter_init(&it, &iter, "a"), &err);
    CHECK_INT(sb_cbor_iter_next(&iter, &e, NULL), 0);
    free(keep);

    CHECK_OK(dec("8301820203820405", &it, &err, &keep), &err);
    CHECK_INT(it.val, 3);
    CHECK_OK(sb_cbor_array_get(&it, 2, &e), &err);
    CHECK_INT(e.type, SB_CBOR_ARRAY);
    CHECK_INT(e.offset, 5);
    CHECK_INT(e.raw_len, 3);
    CHECK_OK(sb_cbor_array_get(&e, 1, &v), &err);
    CHECK_INT(v.val, 5);
    CHECK_INT(v.depth, 2);
    CHECK_INT(sb_cbor_array_get(&it, 3, &e), SB_E_NOTFOUND);
    free(keep);

    /* [1, 2, ..., 25] */
    CHECK_OK(dec("98190102030405060708090a0b0c0d0e0f101112131415161718181819", &it, &err, &keep),
             &err);
    CHECK_OK(sb_cbor_iter_init(&it, &iter, "a"), &err);
    uint64_t want = 1;
    int rc;
    while ((rc = sb_cbor_iter_next(&iter, &e, NULL)) > 0)
        CHECK(e.type == SB_CBOR_UINT && e.val == want++);
    CHECK_INT(rc, 0);
    CHECK_INT(want, 26);
    free(keep);

    CHECK_OK(dec("a0", &it, &err, &keep), &err);
    CHECK_INT(it.type, SB_CBOR_MAP);
    CHECK_INT(sb_cbor_map_get_int(&it, 1, &v), SB_E_NOTFOUND);
    free(keep);

    CHECK_OK(dec("a201020304", &it, &err, &keep), &err);
    CHECK_OK(sb_cbor_map_get_int(&it, 3, &v), &err);
    CHECK_INT(v.val, 4);
    CHECK_INT(sb_cbor_map_get_int(&it, 2, &v), SB_E_NOTFOUND);
    CHECK_CONTAINS(err.msg, "has no key 2");
    CHECK_INT(sb_cbor_map_get_text(&it, "a", &v), SB_E_NOTFOUND);
    free(keep);

    CHECK_OK(dec("a26161016162820203", &it, &err, &keep), &err);
    CHECK_OK(sb_cbor_map_get_text(&it, "b", &v), &err);
    CHECK_INT(v.type, SB_CBOR_ARRAY);
    CHECK_INT(v.val, 2);
    CHECK_OK(sb_cbor_map_get_text(&it, "a", &v), &err);
    CHECK_INT(v.val, 1);
    CHECK_INT(sb_cbor_map_get_text(&it, "c", &v), SB_E_NOTFOUND);
    CHECK_CONTAINS(err.msg, "no key \"c\"");
    free(keep);

    CHECK_OK(dec("826161a161626163", &it, &err, &keep), &err);
    CHECK_OK(sb_cbor_array_get(&it, 1, &e), &err);
    CHECK_OK(sb_cbor_map_get_text(&e, "b", &v), &err);
    CHECK(sb_cbor_text_eq(&v, "c"));
    free(keep);

    CHECK_OK(dec("a56161614161626142616361436164614461656145", &it, &err, &keep), &err);
    CHECK_OK(sb_cbor_iter_init(&it, &iter, "m"), &err);
    char k = 'a';
    while ((rc = sb_cbor_iter_next(&iter, &e, &v)) > 0) {
        char ks[2] = {k, 0}, vs[2] = {(char)(k - 'a' + 'A'), 0};
        CHECK(sb_cbor_text_eq(&e, ks));
        CHECK(sb_cbor_text_eq(&v, vs));
        k++;
    }
    CHECK_INT(rc, 0);
    CHECK_INT(k, 'f');
    free(keep);

    /* The writer builds the same map. */
    sb_writer w;
    sb_writer_init(&w, 64);
    (void)sb_cbor_put_map(&w, 2);
    (void)sb_cbor_put_text(&w, "a");
    (void)sb_cbor_put_uint(&w, 1);
    (void)sb_cbor_put_text(&w, "b");
    (void)sb_cbor_put_array(&w, 2);
    (void)sb_cbor_put_uint(&w, 2);
    (void)sb_cbor_put_uint(&w, 3);
    CHECK_INT(sb_writer_status(&w), 0);
    CHECK_OK(sb_cbor_decode(w.buf, w.len, "w", &err, &it), &err);
    CHECK_INT(w.len, 9);
    sb_writer_free(&w);
}

TEST(rfc8949_indefinite_lengths_rejected) {
    static const char *const IND[] = {
        "5f42010243030405ff",       "7f657374726561646d696e67ff", "9fff",
        "9f018202039f0405ffff",     "83018202039f0405ff",         "bf61610161629f0203ffff",
        "bf6346756ef563416d7421ff",
    };
    for (size_t i = 0; i < SB_ARRAY_LEN(IND); i++) {
        sb_error err = {0};
        sb_cbor_item it;
        uint8_t *keep;
        CHECK_INT(dec(IND[i], &it, &err, &keep), SB_E_UNSUPPORTED);
        CHECK_CONTAINS(err.msg, "indefinite-length");
        free(keep);
    }
}

struct bad_case {
    const char *hex;
    int code;
    const char *msg;
};

static const struct bad_case BAD[] = {
    /* counts and lengths far beyond the input: refused before any loop or allocation */
    {"9bffffffffffffffff", SB_E_TRUNCATED, "array declares 18446744073709551615 elements"},
    {"9a7fffffff00", SB_E_TRUNCATED, "only 1 bytes left"},
    {"bbffffffffffffffff", SB_E_TRUNCATED, "map declares"},
    {"5bffffffffffffffff", SB_E_TRUNCATED, "byte string of 18446744073709551615 bytes"},
    {"7a00010000", SB_E_TRUNCATED, "text string of 65536 bytes"},
    {"a2010203", SB_E_TRUNCATED, "map declares 2 pairs, only 3 bytes left"},
    {"19", SB_E_TRUNCATED, "need 2 bytes"},
    {"", SB_E_TRUNCATED, "truncated"},
    /* duplicate keys */
    {"a2616101616102", SB_E_MALFORMED, "duplicate map key \"a\""},
    {"a201020103", SB_E_MALFORMED, "duplicate map key 1"},
    {"a220012002", SB_E_MALFORMED, "duplicate map key -1-0"},
    {"a2820102008201020a", SB_E_MALFORMED, "duplicate map key (array"},
    /* UTF-8 */
    {"62c080", SB_E_MALFORMED, "not valid UTF-8"},          /* overlong NUL */
    {"63eda080", SB_E_MALFORMED, "not valid UTF-8"},        /* surrogate */
    {"61ff", SB_E_MALFORMED, "not valid UTF-8"},            /* never valid */
    {"64f4908080", SB_E_MALFORMED, "not valid UTF-8"},      /* above U+10FFFF */
    {"6161c3", SB_E_MALFORMED, "trailing"},                 /* the string is "a", then junk */
    {"62c3", SB_E_TRUNCATED, "text string of 2 bytes"},     /* string cut short */
    {"6261c3", SB_E_MALFORMED, "offset 0x2): text string"}, /* sequence cut by the length */
    /* preferred serialization */
    {"1817", SB_E_MALFORMED, "non-preferred encoding"},
    {"1900ff", SB_E_MALFORMED, "non-preferred encoding"},
    {"1a0000ffff", SB_E_MALFORMED, "non-preferred encoding"},
    {"1b00000000ffffffff", SB_E_MALFORMED, "non-preferred encoding"},
    {"580161", SB_E_MALFORMED, "non-preferred encoding: byte string argument 1 in 1 bytes"},
    {"f81f", SB_E_MALFORMED, "simple value 31 must be encoded in one byte"},
    /* reserved and misplaced codes */
    {"1c", SB_E_MALFORMED, "reserved additional information 28"},
    {"ff", SB_E_MALFORMED, "unexpected break"},
    {"1f", SB_E_MALFORMED, "indefinite length is invalid"},
    {"df00", SB_E_MALFORMED, "indefinite length is invalid for a tag"},
    {"0000", SB_E_MALFORMED, "1 unexpected trailing bytes"},
};

TEST(hostile_inputs_fail_with_named_reasons) {
    for (size_t i = 0; i < SB_ARRAY_LEN(BAD); i++) {
        sb_error err = {0};
        sb_cbor_item it = {0};
        uint8_t *keep = NULL;
        int rc = dec(BAD[i].hex, &it, &err, &keep);
        CHECK_MSG(rc == BAD[i].code, "%s: rc %d (%s), want %d", BAD[i].hex, rc, err.msg,
                  BAD[i].code);
        CHECK_MSG(strstr(err.msg, BAD[i].msg), "%s: message \"%s\" lacks \"%s\"", BAD[i].hex,
                  err.msg, BAD[i].msg);
        free(keep);
    }
}

static void nest(sb_writer *w, int levels, uint8_t head) {
    for (int i = 0; i < levels; i++) {
        (void)sb_writer_u8(w, head);
        if (head == 0xa1) (void)sb_writer_u8(w, 0x00); /* key 0 */
    }
    (void)sb_writer_u8(w, 0x00);
}

TEST(depth_limit) {
    static const uint8_t heads[] = {0x81, 0xa1, 0xc6};
    for (size_t h = 0; h < SB_ARRAY_LEN(heads); h++) {
        sb_error err = {0};
        sb_cbor_item it;
        sb_writer w;
        sb_writer_init(&w, 1024);
        nest(&w, SB_CBOR_MAX_DEPTH, heads[h]);
        CHECK_OK(sb_cbor_decode(w.buf, w.len, "deep", &err, &it), &err);
        sb_writer_free(&w);
        sb_writer_init(&w, 1024);
        nest(&w, SB_CBOR_MAX_DEPTH + 1, heads[h]);
        CHECK_INT(sb_cbor_decode(w.buf, w.len, "deep", &err, &it), SB_E_LIMIT);
        CHECK_CONTAINS(err.msg, "nested deeper than 16 levels");
        sb_writer_free(&w);
    }
    /* a million nested arrays: refused at level 17, never recursed */
    size_t n = 1000000;
    uint8_t *p = malloc(n);
    memset(p, 0x81, n);
    sb_error err = {0};
    sb_cbor_item it;
    CHECK_INT(sb_cbor_decode(p, n, "deep", &err, &it), SB_E_LIMIT);
    free(p);
}

TEST(map_pair_limit) {
    sb_error err = {0};
    sb_cbor_item it;
    sb_writer w;
    sb_writer_init(&w, 1u << 20);
    (void)sb_cbor_put_map(&w, SB_CBOR_MAX_MAP_PAIRS);
    for (int i = 0; i < SB_CBOR_MAX_MAP_PAIRS; i++) {
        (void)sb_cbor_put_uint(&w, (uint64_t)i);
        (void)sb_cbor_put_simple(&w, 22);
    }
    CHECK_OK(sb_cbor_decode(w.buf, w.len, "m", &err, &it), &err);
    sb_cbor_item v;
    CHECK_OK(sb_cbor_map_get_int(&it, SB_CBOR_MAX_MAP_PAIRS - 1, &v), &err);
    CHECK(sb_cbor_is_null(&v));
    sb_writer_free(&w);
    sb_writer_init(&w, 1u << 20);
    (void)sb_cbor_put_map(&w, SB_CBOR_MAX_MAP_PAIRS + 1);
    for (int i = 0; i <= SB_CBOR_MAX_MAP_PAIRS; i++) {
        (void)sb_cbor_put_uint(&w, (uint64_t)i);
        (void)sb_cbor_put_simple(&w, 22);
    }
    CHECK_INT(sb_cbor_decode(w.buf, w.len, "m", &err, &it), SB_E_LIMIT);
    CHECK_CONTAINS(err.msg, "over the limit of 1024");
    sb_writer_free(&w);
}

TEST(every_truncation_is_truncated) {
    static const char *const ITEMS[] = {
        "a26161016162820203",
        "d8184c8344a10138224401020304f6",
        "9819010203040506070809"
        "0a0b0c0d0e0f101112131415161718181819",
        "c349010000000000000000",
        "fb7e37e43c8800759c",
    };
    for (size_t i = 0; i < SB_ARRAY_LEN(ITEMS); i++) {
        size_t n;
        uint8_t *p = unhex(ITEMS[i], &n);
        sb_error err = {0};
        sb_cbor_item it;
        CHECK_OK(sb_cbor_decode(p, n, "t", &err, &it), &err);
        for (size_t k = 0; k < n; k++) {
            uint8_t *cut = malloc(k ? k : 1);
            memcpy(cut, p, k);
            int rc = sb_cbor_decode(cut, k, "t", &err, &it);
            CHECK_MSG(rc == SB_E_TRUNCATED, "%s cut at %zu: rc %d (%s)", ITEMS[i], k, rc, err.msg);
            free(cut);
        }
        free(p);
    }
}

TEST(read_leaves_reader_on_failure_and_names_offsets) {
    size_t n;
    uint8_t *p = unhex("01a2616101616102", &n);
    sb_error err = {0};
    sb_reader r;
    sb_reader_init(&r, p, n, "doc", &err);
    sb_cbor_item it;
    CHECK_OK(sb_cbor_read(&r, &it, "first"), &err);
    CHECK_INT(it.offset, 0);
    CHECK_INT(r.off, 1);
    CHECK_INT(sb_cbor_read(&r, &it, "second"), SB_E_MALFORMED);
    CHECK_INT(r.off, 1);
    CHECK_CONTAINS(err.msg,
                   "doc: second (offset 0x5): duplicate map key \"a\" (first at offset 0x2)");
    free(p);
}

TEST(accessors_refuse_wrong_types) {
    sb_error err = {0};
    sb_cbor_item it;
    uint8_t *keep;
    CHECK_OK(dec("6161", &it, &err, &keep), &err);
    const uint8_t *b;
    size_t n;
    bool f;
    double d;
    sb_cbor_iter iter;
    CHECK_INT(sb_cbor_get_bytes(&it, &b, &n, "blob"), SB_E_MALFORMED);
    CHECK_CONTAINS(err.msg, "blob (offset 0x0): expected byte string, got text string");
    CHECK_INT(sb_cbor_get_bool(&it, &f, "flag"), SB_E_MALFORMED);
    CHECK_INT(sb_cbor_get_double(&it, &d, "f"), SB_E_MALFORMED);
    CHECK_INT(sb_cbor_iter_init(&it, &iter, "list"), SB_E_MALFORMED);
    sb_cbor_item v;
    CHECK_INT(sb_cbor_map_get_text(&it, "a", &v), SB_E_MALFORMED);
    CHECK_INT(sb_cbor_array_get(&it, 0, &v), SB_E_MALFORMED);
    CHECK(!sb_cbor_is_null(&it));
    free(keep);
    CHECK_OK(dec("f5", &it, &err, &keep), &err);
    CHECK_OK(sb_cbor_get_bool(&it, &f, "flag"), &err);
    CHECK(f);
    free(keep);
}
