/* test_util: every bound of the reader, the writer's limit, encodings, parsing helpers,
 * secret memory, key files and logging. */
#include <dirent.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include "harness.h"

static const uint8_t B8[8] = {1, 2, 3, 4, 5, 6, 7, 8};

TEST(reader_empty_input) {
    sb_error err = {0};
    sb_reader r;
    sb_reader_init(&r, NULL, 0, "t", &err);
    uint8_t v;
    CHECK_INT(sb_reader_u8(&r, &v, "first"), SB_E_TRUNCATED);
    CHECK_CONTAINS(err.msg, "truncated at first");
    CHECK_INT(sb_reader_end(&r, "all"), 0);
    const uint8_t *p;
    CHECK_INT(sb_reader_bytes(&r, 0, &p, "zero"), 0);
}

TEST(reader_exact_and_one_short) {
    sb_error err = {0};
    sb_reader r;
    uint64_t v = 0;
    sb_reader_init(&r, B8, 8, "t", &err);
    CHECK_INT(sb_reader_u64le(&r, &v, "x"), 0);
    CHECK(v == 0x0807060504030201ull);
    CHECK_INT(sb_reader_end(&r, "x"), 0);
    sb_reader_init(&r, B8, 8, "t", &err);
    CHECK_INT(sb_reader_u64be(&r, &v, "x"), 0);
    CHECK(v == 0x0102030405060708ull);
    sb_reader_init(&r, B8, 7, "t", &err);
    v = 42;
    CHECK_INT(sb_reader_u64le(&r, &v, "field_x"), SB_E_TRUNCATED);
    CHECK_INT(v, 42);    /* out-parameters untouched on failure */
    CHECK_INT(r.off, 0); /* cursor untouched on failure */
    CHECK_CONTAINS(err.msg, "field_x");
    CHECK_CONTAINS(err.msg, "need 8 bytes, 7 left");
}

/* sb_reader_span_to: bytes before the first of two bytes, bounded by what remains. */
TEST(reader_span_to) {
    static const uint8_t s[] = "ab\\cd\"ef";
    sb_reader r;
    sb_reader_init(&r, s, sizeof(s) - 1, "t", NULL);
    CHECK_INT(sb_reader_span_to(&r, '"', '\\'), 2); /* the backslash comes first */
    CHECK_INT(sb_reader_skip(&r, 3, "x"), 0);
    CHECK_INT(sb_reader_span_to(&r, '"', '\\'), 2);
    CHECK_INT(sb_reader_span_to(&r, 'z', 'y'), 5); /* none: all that remains */
    CHECK_INT(r.off, 3);                           /* the reader does not move */
    sb_reader_init(&r, s, 4, "t", NULL);           /* never past the reader's end */
    CHECK_INT(sb_reader_span_to(&r, '"', 'f'), 4);
    sb_reader_init(&r, NULL, 0, "t", NULL);
    CHECK_INT(sb_reader_span_to(&r, '"', '\\'), 0);
}

TEST(reader_all_widths) {
    sb_reader r;
    uint16_t a;
    uint32_t b;
    uint8_t c;
    sb_reader_init(&r, B8, 8, "t", NULL);
    CHECK_INT(sb_reader_u16le(&r, &a, "a"), 0);
    CHECK_INT(a, 0x0201);
    CHECK_INT(sb_reader_u16be(&r, &a, "a"), 0);
    CHECK_INT(a, 0x0304);
    CHECK_INT(sb_reader_u8(&r, &c, "c"), 0);
    CHECK_INT(c, 5);
    CHECK_INT(sb_reader_u32le(&r, &b, "b"), SB_E_TRUNCATED);
    CHECK_INT(sb_reader_u16le(&r, &a, "a"), 0);
    CHECK_INT(a, 0x0706);
    CHECK_INT(sb_reader_end(&r, "end"), SB_E_MALFORMED);
    sb_reader_init(&r, B8, 8, "t", NULL);
    CHECK_INT(sb_reader_u32be(&r, &b, "b"), 0);
    CHECK(b == 0x01020304u);
    CHECK_INT(sb_reader_u32le(&r, &b, "b"), 0);
    CHECK(b == 0x08070605u);
}

TEST(reader_trailing_bytes_named) {
    sb_error err = {0};
    sb_reader r;
    uint8_t c;
    sb_reader_init(&r, B8, 8, "fmt", &err);
    CHECK_INT(sb_reader_u8(&r, &c, "c"), 0);
    CHECK_INT(sb_reader_end(&r, "report"), SB_E_MALFORMED);
    CHECK_CONTAINS(err.msg, "fmt: 7 unexpected trailing bytes after report");
}

TEST(reader_sub_bounds) {
    sb_error err = {0};
    /* length 3 then 3 bytes, then length 5 with only 2 bytes left */
    const uint8_t in[] = {3, 0xa, 0xb, 0xc, 5, 0xd, 0xe};
    sb_reader r, s;
    sb_reader_init(&r, in, sizeof(in), "t", &err);
    CHECK_INT(sb_reader_sub_u8(&r, 16, &s, "first"), 0);
    CHECK_INT(sb_reader_remaining(&s), 3);
    CHECK_INT(sb_reader_offset(&s), 1);
    uint8_t v;
    CHECK_INT(sb_reader_u8(&s, &v, "v"), 0);
    CHECK_INT(v, 0xa);
    CHECK_INT(sb_reader_skip(&s, 3, "over"),
              SB_E_TRUNCATED); /* a sub-reader cannot read past its end */
    CHECK_CONTAINS(err.msg, "offset 0x2");
    size_t before = r.off;
    CHECK_INT(sb_reader_sub_u8(&r, 16, &s, "second"), SB_E_TRUNCATED);
    CHECK_INT(r.off, before); /* the length byte is not consumed either */
    CHECK_INT(sb_reader_sub_u8(&r, 4, &s, "second"), SB_E_LIMIT);
    CHECK_CONTAINS(err.msg, "over the limit of 4");
}

TEST(reader_length_prefix_larger_than_rest) {
    const uint8_t in[] = {0xff, 0xff, 0xff, 0xff, 1, 2};
    sb_reader r, s;
    sb_reader_init(&r, in, sizeof(in), "t", NULL);
    CHECK_INT(sb_reader_sub_u32le(&r, SIZE_MAX, &s, "huge"), SB_E_TRUNCATED);
    sb_reader_init(&r, in, sizeof(in), "t", NULL);
    CHECK_INT(sb_reader_sub_u32be(&r, SIZE_MAX, &s, "huge"), SB_E_TRUNCATED);
    sb_reader_init(&r, in, sizeof(in), "t", NULL);
    CHECK_INT(sb_reader_sub_u16le(&r, SIZE_MAX, &s, "huge"), SB_E_TRUNCATED);
    sb_reader_init(&r, in, sizeof(in), "t", NULL);
    CHECK_INT(sb_reader_sub_u16be(&r, 10, &s, "huge"), SB_E_LIMIT);
}

TEST(reader_size_t_overflow_attempts) {
    sb_reader r;
    const uint8_t *p;
    sb_reader_init(&r, B8, 8, "t", NULL);
    uint8_t c;
    CHECK_INT(sb_reader_u8(&r, &c, "c"), 0);
    /* off + SIZE_MAX wraps to off-1 with a naive `p + n > end` check */
    CHECK_INT(sb_reader_bytes(&r, SIZE_MAX, &p, "wrap"), SB_E_TRUNCATED);
    CHECK_INT(sb_reader_skip(&r, SIZE_MAX - 2, "wrap"), SB_E_TRUNCATED);
    CHECK_INT(sb_reader_bytes(&r, (size_t)-1 / 2 + 1, &p, "wrap"), SB_E_TRUNCATED);
    sb_reader s;
    CHECK_INT(sb_reader_sub(&r, SIZE_MAX, &s, "wrap"), SB_E_TRUNCATED);
    CHECK_INT(sb_reader_bytes(&r, 7, &p, "rest"), 0);
    CHECK_INT(p[6], 8);
    CHECK_INT(sb_reader_end(&r, "all"), 0);
    size_t out;
    CHECK(sb_add_overflow_size(SIZE_MAX, 1, &out));
    CHECK(sb_mul_overflow_size(SIZE_MAX / 2 + 1, 2, &out));
    CHECK(!sb_mul_overflow_size(3, 4, &out) && out == 12);
}

TEST(reader_copy_and_nested_offsets) {
    const uint8_t in[] = {0, 0, 2, 0, 0xaa, 0xbb};
    sb_reader r, s, s2;
    sb_reader_init(&r, in, sizeof(in), "t", NULL);
    CHECK_INT(sb_reader_skip(&r, 2, "pad"), 0);
    CHECK_INT(sb_reader_sub_u16le(&r, 8, &s, "outer"), 0);
    CHECK_INT(sb_reader_sub(&s, 1, &s2, "inner"), 0);
    CHECK_INT(sb_reader_offset(&s2), 4);
    uint8_t buf[2] = {0};
    CHECK_INT(sb_reader_copy(&s2, buf, 1, "b"), 0);
    CHECK_INT(buf[0], 0xaa);
    CHECK_INT(sb_reader_copy(&s2, buf, 1, "b"), SB_E_TRUNCATED);
    CHECK_INT(sb_reader_end(&s, "outer"), SB_E_MALFORMED);
}

TEST(writer_limit_latches) {
    sb_writer w;
    sb_writer_init(&w, 6);
    CHECK_INT(sb_writer_u32be(&w, 0x01020304), 0);
    CHECK_INT(sb_writer_u16le(&w, 0x0605), 0);
    CHECK_INT(sb_writer_u8(&w, 7), SB_E_LIMIT);
    CHECK_INT(sb_writer_status(&w), SB_E_LIMIT);
    CHECK_INT(sb_writer_u8(&w, 7), SB_E_LIMIT);
    CHECK(sb_writer_steal(&w, NULL) == NULL);
    sb_writer_free(&w);
    sb_writer_init(&w, 1 << 20);
    CHECK_INT(sb_writer_u64le(&w, 0x0807060504030201ull), 0);
    CHECK_INT(sb_writer_printf(&w, "%s-%d", "ab", 12), 0);
    size_t n;
    uint8_t *b = sb_writer_steal(&w, &n);
    CHECK(b != NULL);
    CHECK_INT(n, 13);
    CHECK_MEM(b, B8, 8);
    CHECK_STR((char *)b + 8, "ab-12");
    free(b);
    sb_writer_free(&w);
}

TEST(hex_roundtrip_and_errors) {
    sb_error err = {0};
    char out[17];
    sb_hex_encode(B8, 8, out);
    CHECK_STR(out, "0102030405060708");
    uint8_t *b;
    size_t n;
    CHECK_OK(sb_hex_decode("0A0b", 4, &b, &n, &err), &err);
    CHECK_INT(n, 2);
    CHECK_INT(b[0], 10);
    CHECK_INT(b[1], 11);
    free(b);
    CHECK_INT(sb_hex_decode("abc", 3, &b, &n, &err), SB_E_MALFORMED);
    CHECK_INT(sb_hex_decode("zz", 2, &b, &n, &err), SB_E_MALFORMED);
    CHECK_CONTAINS(err.msg, "position 0");
}

/* RFC 4648 §10 test vectors. */
TEST(base64_rfc4648_vectors) {
    static const char *in[] = {"", "f", "fo", "foo", "foob", "fooba", "foobar"};
    static const char *std[] = {"", "Zg==", "Zm8=", "Zm9v", "Zm9vYg==", "Zm9vYmE=", "Zm9vYmFy"};
    static const char *url[] = {"", "Zg", "Zm8", "Zm9v", "Zm9vYg", "Zm9vYmE", "Zm9vYmFy"};
    for (size_t i = 0; i < 7; i++) {
        char *e = sb_base64_encode((const uint8_t *)in[i], strlen(in[i]));
        CHECK_STR(e, std[i]);
        free(e);
        e = sb_base64url_encode((const uint8_t *)in[i], strlen(in[i]));
        CHECK_STR(e, url[i]);
        free(e);
        uint8_t *d;
        size_t n;
        sb_error err = {0};
        CHECK_OK(sb_base64_decode(std[i], strlen(std[i]), false, &d, &n, &err), &err);
        CHECK_INT(n, strlen(in[i]));
        CHECK(n == 0 || memcmp(d, in[i], n) == 0);
        free(d);
        CHECK_OK(sb_base64url_decode(url[i], strlen(url[i]), &d, &n, &err), &err);
        CHECK_INT(n, strlen(in[i]));
        free(d);
    }
    const uint8_t hi[] = {0xfb, 0xff};
    char *e = sb_base64url_encode(hi, 2);
    CHECK_STR(e, "-_8");
    free(e);
    e = sb_base64_encode(hi, 2);
    CHECK_STR(e, "+/8=");
    free(e);
}

TEST(base64_rejects) {
    uint8_t *d;
    size_t n;
    sb_error err = {0};
    CHECK_INT(sb_base64_decode("Zm9v!", 5, false, &d, &n, &err), SB_E_MALFORMED);
    CHECK_CONTAINS(err.msg, "position 4");
    CHECK_INT(sb_base64_decode("Z", 1, false, &d, &n, &err), SB_E_MALFORMED);
    CHECK_INT(sb_base64_decode("Zh==", 4, false, &d, &n, &err), SB_E_MALFORMED); /* non-canonical */
    CHECK_INT(sb_base64_decode("Zg=a", 4, false, &d, &n, &err), SB_E_MALFORMED);
    CHECK_INT(sb_base64url_decode("+/8", 3, &d, &n, &err), SB_E_MALFORMED);
    CHECK_INT(sb_base64_decode("Zm\n9v", 5, false, &d, &n, &err), SB_E_MALFORMED);
    CHECK_OK(sb_base64_decode("Zm\n9v", 5, true, &d, &n, &err), &err);
    CHECK_INT(n, 3);
    free(d);
    /* The four-at-a-time fast path hands over to the general loop at the first character it
     * does not take: errors past it still name their position, padding stays final. */
    CHECK_INT(sb_base64_decode("Zm9vYmFyZm9v!A==", 16, false, &d, &n, &err), SB_E_MALFORMED);
    CHECK_CONTAINS(err.msg, "position 12");
    CHECK_INT(sb_base64_decode("Zg==Zm9v", 8, false, &d, &n, &err), SB_E_MALFORMED);
    CHECK_INT(sb_base64_decode("Zm9vYmFy-_8=", 12, false, &d, &n, &err), SB_E_MALFORMED);
    CHECK_INT(sb_base64url_decode("Zm9vYmFy+/8", 11, &d, &n, &err), SB_E_MALFORMED);
}

/* Every length 0..300 round-trips, also with line breaks every 64 characters (PEM-like). */
TEST(base64_roundtrip_lengths) {
    uint8_t in[300];
    for (size_t i = 0; i < sizeof(in); i++)
        in[i] = (uint8_t)(i * 37 + 11);
    for (size_t len = 0; len <= sizeof(in); len++) {
        sb_error err = {0};
        uint8_t *d = NULL;
        size_t n = 0;
        char *e = sb_base64_encode(in, len);
        CHECK(e != NULL);
        CHECK_OK(sb_base64_decode(e, strlen(e), false, &d, &n, &err), &err);
        CHECK_INT(n, len);
        CHECK(len == 0 || memcmp(d, in, len) == 0);
        free(d);
        char wrapped[512];
        size_t k = 0;
        for (size_t i = 0; e[i]; i++) {
            if (i && i % 64 == 0) wrapped[k++] = '\n';
            wrapped[k++] = e[i];
        }
        CHECK_OK(sb_base64_decode(wrapped, k, true, &d, &n, &err), &err);
        CHECK_INT(n, len);
        CHECK(len == 0 || memcmp(d, in, len) == 0);
        free(d);
        free(e);
        e = sb_base64url_encode(in, len);
        CHECK_OK(sb_base64url_decode(e, strlen(e), &d, &n, &err), &err);
        CHECK_INT(n, len);
        CHECK(len == 0 || memcmp(d, in, len) == 0);
        free(d);
        free(e);
    }
}

TEST(parse_numbers) {
    sb_error err = {0};
    int64_t v;
    uint64_t u;
    CHECK_OK(sb_parse_i64("-42", -100, 100, &v, &err, "n"), &err);
    CHECK_INT(v, -42);
    CHECK_INT(sb_parse_i64("101", -100, 100, &v, &err, "n"), SB_E_USAGE);
    CHECK_INT(sb_parse_i64("12a", 0, 100, &v, &err, "n"), SB_E_USAGE);
    CHECK_INT(sb_parse_i64("", 0, 100, &v, &err, "n"), SB_E_USAGE);
    CHECK_INT(sb_parse_i64("-", 0, 100, &v, &err, "n"), SB_E_USAGE);
    CHECK_OK(sb_parse_i64("-9223372036854775808", INT64_MIN, INT64_MAX, &v, &err, "n"), &err);
    CHECK(v == INT64_MIN);
    CHECK_INT(sb_parse_i64("9223372036854775808", INT64_MIN, INT64_MAX, &v, &err, "n"), SB_E_USAGE);
    CHECK_OK(sb_parse_u64("18446744073709551615", UINT64_MAX, &u, &err, "n"), &err);
    CHECK(u == UINT64_MAX);
    CHECK_INT(sb_parse_u64("18446744073709551616", UINT64_MAX, &u, &err, "n"), SB_E_USAGE);
    CHECK_INT(sb_parse_u64("+1", UINT64_MAX, &u, &err, "n"), SB_E_USAGE);
}

TEST(time_parse) {
    sb_error err = {0};
    int64_t t;
    CHECK_OK(sb_time_parse("2025-06-01T00:00:00Z", &t, &err), &err);
    CHECK_INT(t, 1748736000);
    CHECK_OK(sb_time_parse("1739419232", &t, &err), &err);
    CHECK_INT(t, 1739419232);
    CHECK_OK(sb_time_parse("2023-07-01T03:00:00.123+02:00", &t, &err), &err);
    CHECK_INT(t, 1688173200);
    CHECK_INT(sb_time_parse("2025-13-01T00:00:00Z", &t, &err), SB_E_USAGE);
    CHECK_INT(sb_time_parse("2025-06-01 00:00", &t, &err), SB_E_USAGE);
    CHECK_INT(sb_time_parse("2025-06-01T00:00:00", &t, &err), SB_E_USAGE);
    char s[32];
    sb_time_format(1748736000, s);
    CHECK_STR(s, "2025-06-01T00:00:00Z");
}

TEST(secret_memory) {
    uint8_t *p = sb_secret_alloc(100);
    CHECK(p != NULL);
    memset(p, 0x5a, 100);
    /* The page must be marked not-dumpable: check via /proc/self/smaps would be racy; instead
     * check that madvise on the same page with MADV_DODUMP succeeds (mapping is ours). */
    CHECK_INT(p[99], 0x5a);
    sb_secret_free(p, 100);
    /* A freed page may be handed out again: wiped. */
    for (int i = 0; i < 3; i++) {
        uint8_t *q = sb_secret_alloc(100);
        CHECK(q != NULL);
        if (!q) break;
        uint8_t any = 0;
        for (size_t k = 0; k < 100; k++)
            any |= q[k];
        CHECK_INT(any, 0);
        memset(q, 0xa5, 100);
        sb_secret_free(q, 100);
    }
    uint8_t *big = sb_secret_alloc(3u << 12); /* over a page: mapped and unmapped as before */
    CHECK(big != NULL);
    if (big) big[(3u << 12) - 1] = 1;
    sb_secret_free(big, 3u << 12);
    uint8_t buf[4] = {1, 2, 3, 4};
    sb_wipe(buf, sizeof(buf));
    CHECK_INT(buf[0] | buf[1] | buf[2] | buf[3], 0);
}

TEST(error_messages) {
    sb_error err = {0};
    CHECK_INT(sb_error_set(&err, SB_E_MALFORMED, "snp: version %u", 7u), SB_E_MALFORMED);
    CHECK_INT(sb_error_prefix(&err, "file %s", "a.bin"), SB_E_MALFORMED);
    CHECK_STR(err.msg, "file a.bin: snp: version 7");
    CHECK_STR(sb_strerror(SB_E_TRUNCATED), "truncated");
    CHECK_STR(sb_strerror(SB_E_CHAIN), "certificate chain");
    CHECK_INT(sb_error_set(NULL, SB_E_IO, "x"), SB_E_IO);
}

TEST(file_roundtrip_and_limit) {
    char path[512];
    snprintf(path, sizeof(path), "%s/f.bin", sb_test_tmpdir());
    sb_error err = {0};
    CHECK_OK(sb_write_file_atomic(path, B8, 8, 0600, &err), &err);
    uint8_t *b;
    size_t n;
    CHECK_OK(sb_read_file(path, 8, &b, &n, &err), &err);
    CHECK_INT(n, 8);
    CHECK_MEM(b, B8, 8);
    free(b);
    CHECK_INT(sb_read_file(path, 7, &b, &n, &err), SB_E_LIMIT);
    CHECK_INT(sb_read_file("/nonexistent/x", 7, &b, &n, &err), SB_E_IO);
    CHECK_CONTAINS(err.msg, "No such file");
}

/* ---- key files ---------------------------------------------------------------------------- */

static const struct sb_keyfile_rules KEY32 = {32, 32, "the test key", "chmod 600 it", 0};
static const struct sb_keyfile_rules PEMISH = {1, 64, "the test key", "chmod 600 it", 0};

static void keyfile_path(char *p, size_t cap, const char *name) {
    snprintf(p, cap, "%s/%s", sb_test_tmpdir(), name);
}

TEST(keyfile_create_and_read) {
    char path[512];
    keyfile_path(path, sizeof(path), "k1");
    uint8_t key[32];
    for (size_t i = 0; i < sizeof(key); i++)
        key[i] = (uint8_t)(i * 7 + 1);
    sb_error err = {0};
    bool existed = true;
    CHECK_OK(sb_keyfile_create(path, key, sizeof(key), &existed, &err), &err);
    CHECK(!existed);
    struct stat st;
    CHECK_INT(stat(path, &st), 0);
    CHECK_INT(st.st_mode & 0777, 0600);
    CHECK_INT(st.st_nlink, 1); /* the temporary is gone */
    uint8_t *b = NULL;
    size_t n = 0;
    CHECK_OK(sb_keyfile_read(path, &KEY32, &b, &n, &err), &err);
    CHECK_INT(n, 32);
    if (b) {
        CHECK_MEM(b, key, 32);
        CHECK_INT(b[32], 0);
        sb_secret_free(b, n + 1);
    }
    CHECK_OK(sb_keyfile_read(path, &PEMISH, &b, &n, &err), &err);
    if (b) sb_secret_free(b, n + 1);
    /* An existing file is never replaced: reported, or refused when the caller wants new. */
    uint8_t other[32] = {9};
    CHECK_OK(sb_keyfile_create(path, other, sizeof(other), &existed, &err), &err);
    CHECK(existed);
    CHECK_INT(sb_keyfile_create(path, other, sizeof(other), NULL, &err), SB_E_POLICY);
    CHECK_CONTAINS(err.msg, "already exists");
    CHECK_OK(sb_keyfile_read(path, &KEY32, &b, &n, &err), &err);
    if (b) {
        CHECK_MEM(b, key, 32);
        sb_secret_free(b, n + 1);
    }
    /* No temporaries are left beside it. */
    DIR *d = opendir(sb_test_tmpdir());
    struct dirent *e;
    int tmps = 0;
    while (d && (e = readdir(d)))
        if (strncmp(e->d_name, "k1.tmp.", 7) == 0) tmps++;
    if (d) closedir(d);
    CHECK_INT(tmps, 0);
    /* A directory that does not exist. */
    CHECK_INT(sb_keyfile_create("/nonexistent/k", key, sizeof(key), &existed, &err), SB_E_IO);
    CHECK_CONTAINS(err.msg, "/nonexistent/k");
}

TEST(keyfile_refusals) {
    char path[512], link_path[512], fifo[512], dir[512];
    keyfile_path(path, sizeof(path), "k2");
    keyfile_path(link_path, sizeof(link_path), "k2.link");
    keyfile_path(fifo, sizeof(fifo), "k2.fifo");
    keyfile_path(dir, sizeof(dir), "k2.dir");
    uint8_t key[40] = {1, 2, 3};
    sb_error err = {0};
    CHECK_OK(sb_keyfile_create(path, key, 32, NULL, &err), &err);
    uint8_t *b = NULL;
    size_t n = 0;
    /* missing */
    char missing[600];
    snprintf(missing, sizeof(missing), "%s.none", path);
    CHECK_INT(sb_keyfile_read(missing, &KEY32, &b, &n, &err), SB_E_NOTFOUND);
    CHECK_CONTAINS(err.msg, missing);
    /* a symbolic link to a good key file */
    CHECK_INT(symlink(path, link_path), 0);
    CHECK_INT(sb_keyfile_read(link_path, &KEY32, &b, &n, &err), SB_E_IO);
    CHECK_CONTAINS(err.msg, "is a symbolic link");
    CHECK_CONTAINS(err.msg, link_path);
    /* a FIFO: refused at once, not waited on */
    CHECK_INT(mkfifo(fifo, 0600), 0);
    CHECK_INT(sb_keyfile_read(fifo, &KEY32, &b, &n, &err), SB_E_IO);
    CHECK_CONTAINS(err.msg, "not a regular file (a FIFO)");
    /* a directory */
    CHECK_INT(mkdir(dir, 0700), 0);
    CHECK_INT(sb_keyfile_read(dir, &KEY32, &b, &n, &err), SB_E_IO);
    CHECK_CONTAINS(err.msg, "a directory");
    /* group or others may read it (any of their bits) */
    CHECK_INT(chmod(path, 0640), 0);
    CHECK_INT(sb_keyfile_read(path, &KEY32, &b, &n, &err), SB_E_POLICY);
    CHECK_CONTAINS(err.msg, "mode 640");
    CHECK_CONTAINS(err.msg, "the test key; chmod 600 it");
    CHECK_INT(chmod(path, 0602), 0);
    CHECK_INT(sb_keyfile_read(path, &KEY32, &b, &n, &err), SB_E_POLICY);
    CHECK_INT(chmod(path, 0600), 0);
    /* the caller's code for refusals */
    struct sb_keyfile_rules usage = KEY32;
    usage.refuse_code = SB_E_USAGE;
    CHECK_INT(chmod(path, 0644), 0);
    CHECK_INT(sb_keyfile_read(path, &usage, &b, &n, &err), SB_E_USAGE);
    CHECK_INT(sb_keyfile_read(fifo, &usage, &b, &n, &err), SB_E_USAGE);
    CHECK_INT(chmod(path, 0600), 0);
    /* owned by someone else (only root can make one) */
    if (geteuid() == 0) {
        CHECK_INT(chown(path, 65534, 65534), 0);
        CHECK_INT(sb_keyfile_read(path, &KEY32, &b, &n, &err), SB_E_POLICY);
        CHECK_CONTAINS(err.msg, "owned by uid 65534");
        CHECK_INT(chown(path, 0, 0), 0);
    }
    /* wrong sizes: truncated and too long for an exact size, empty and too long for a range */
    CHECK_INT(truncate(path, 31), 0);
    CHECK_INT(sb_keyfile_read(path, &KEY32, &b, &n, &err), SB_E_MALFORMED);
    CHECK_CONTAINS(err.msg, "31 bytes, the test key has 32");
    CHECK_INT(truncate(path, 33), 0);
    CHECK_INT(sb_keyfile_read(path, &KEY32, &b, &n, &err), SB_E_MALFORMED);
    CHECK_INT(truncate(path, 0), 0);
    CHECK_INT(sb_keyfile_read(path, &PEMISH, &b, &n, &err), SB_E_LIMIT);
    CHECK_CONTAINS(err.msg, "0 bytes (1-64 expected)");
    CHECK_INT(truncate(path, 65), 0);
    CHECK_INT(sb_keyfile_read(path, &PEMISH, &b, &n, &err), SB_E_LIMIT);
    CHECK(b == NULL); /* no refusal wrote the out-parameter */
    CHECK_INT(truncate(path, 64), 0);
    CHECK_OK(sb_keyfile_read(path, &PEMISH, &b, &n, &err), &err);
    CHECK_INT(n, 64);
    if (b) sb_secret_free(b, n + 1);
}

TEST(log_json_lines) {
    char path[512];
    snprintf(path, sizeof(path), "%s/log.jsonl", sb_test_tmpdir());
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    CHECK(fd >= 0);
    sb_log lg;
    sb_log_init(&lg, fd, SB_LOG_INFO, true, "test");
    sb_logf(&lg, SB_LOG_DEBUG, "hidden");
    sb_logf(&lg, SB_LOG_WARN, "quote \" and\nnewline");
    close(fd);
    uint8_t *b;
    size_t n;
    sb_error err = {0};
    CHECK_OK(sb_read_file(path, 4096, &b, &n, &err), &err);
    CHECK(strstr((char *)b, "hidden") == NULL);
    CHECK_CONTAINS((char *)b, "\"level\":\"warn\"");
    CHECK_CONTAINS((char *)b, "quote \\\" and\\u000anewline");
    free(b);
    enum sb_log_level l;
    CHECK_INT(sb_log_level_parse("error", &l), 0);
    CHECK_INT(l, SB_LOG_ERROR);
    CHECK(sb_log_level_parse("loud", &l) < 0);
}
