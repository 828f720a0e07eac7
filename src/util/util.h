/* util: the one error idiom, the bounds-checked byte reader/writer, cleanup helpers,
 * logging, hex/base64, secret memory and checked integer arithmetic used by every module. */
#ifndef SB_UTIL_H
#define SB_UTIL_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>

#define SB_WUR __attribute__((warn_unused_result))
#define SB_PRINTF(a, b) __attribute__((format(printf, a, b)))

/* ---- errors ------------------------------------------------------------------------- */

/* Every fallible function returns 0 or one of these (negative). */
enum sb_errcode {
    SB_OK = 0,
    SB_E_TRUNCATED = -1,    /* input ends before the structure it declares */
    SB_E_MALFORMED = -2,    /* a field holds a value the format does not allow */
    SB_E_LIMIT = -3,        /* a size or count is over a named limit */
    SB_E_SIGNATURE = -4,    /* a signature does not verify */
    SB_E_CHAIN = -5,        /* a certificate chain, CRL or validity check failed */
    SB_E_POLICY = -6,       /* authenticated, but refused by policy */
    SB_E_IO = -7,           /* a system call or file operation failed */
    SB_E_INTERNAL = -8,     /* a bug or an allocation failure */
    SB_E_USAGE = -9,        /* the caller asked for something meaningless */
    SB_E_UNSUPPORTED = -10, /* a well-formed input of a kind we do not handle */
    SB_E_NOTFOUND = -11,    /* a named object does not exist */
    SB_E_MAX = -12
};

#define SB_ERRMSG_MAX 512

/* An error slot owned by the caller; functions fill it when they fail. */
typedef struct sb_error {
    int code;
    char msg[SB_ERRMSG_MAX];
} sb_error;

/* Records code and message in err (if non-NULL) and returns code, so callers can write
 * `return sb_error_set(err, SB_E_MALFORMED, "snp: version %u", v);`. A message already
 * present is kept when keep_first is used (see sb_error_prefix). */
int sb_error_set(sb_error *err, int code, const char *fmt, ...) SB_PRINTF(3, 4);
int sb_error_setv(sb_error *err, int code, const char *fmt, va_list ap) SB_PRINTF(3, 0);
/* Prepends "prefix: " to the message already in err; returns err->code. */
int sb_error_prefix(sb_error *err, const char *fmt, ...) SB_PRINTF(2, 3);
void sb_error_clear(sb_error *err);
/* Short name of a code: "truncated", "malformed", ... */
const char *sb_strerror(int code);

#define TRY(expr)                    \
    do {                             \
        int _sb_r = (expr);          \
        if (_sb_r < 0) return _sb_r; \
    } while (0)
#define BAIL(err, code, ...) return sb_error_set((err), (code), __VA_ARGS__)
#define ENSURE(cond, err, code, ...)                                  \
    do {                                                              \
        if (!(cond)) return sb_error_set((err), (code), __VA_ARGS__); \
    } while (0)

/* ---- cleanup ------------------------------------------------------------------------ */

static inline void sb_freep(void *p) { free(*(void **)p); }
static inline void sb_closep(int *fd) {
    if (*fd >= 0) (void)close(*fd);
}
#define _cleanup_(f) __attribute__((cleanup(f)))
#define _cleanup_free_ _cleanup_(sb_freep)
#define _cleanup_close_ _cleanup_(sb_closep)
#define TAKE_PTR(p)                \
    ({                             \
        __typeof__(p) _sb_p = (p); \
        (p) = NULL;                \
        _sb_p;                     \
    })
#define TAKE_FD(fd)        \
    ({                     \
        int _sb_fd = (fd); \
        (fd) = -1;         \
        _sb_fd;            \
    })
#define SB_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* ---- the bounds-checked reader -------------------------------------------------------- */

/* A view of untrusted bytes. Every read is checked with `n > len - off`; a failed read
 * leaves the reader where it was and names the field in err. */
typedef struct sb_reader {
    const uint8_t *p;
    size_t len, off;
    size_t base;      /* offset of p within the outermost input, for messages */
    const char *what; /* format name used as message prefix, e.g. "snp" */
    sb_error *err;
} sb_reader;

void sb_reader_init(sb_reader *r, const void *p, size_t len, const char *what, sb_error *err);
size_t sb_reader_remaining(const sb_reader *r);
/* Absolute offset of the next byte within the outermost input. */
size_t sb_reader_offset(const sb_reader *r);
int sb_reader_u8(sb_reader *r, uint8_t *out, const char *field) SB_WUR;
int sb_reader_u16le(sb_reader *r, uint16_t *out, const char *field) SB_WUR;
int sb_reader_u32le(sb_reader *r, uint32_t *out, const char *field) SB_WUR;
int sb_reader_u64le(sb_reader *r, uint64_t *out, const char *field) SB_WUR;
int sb_reader_u16be(sb_reader *r, uint16_t *out, const char *field) SB_WUR;
int sb_reader_u32be(sb_reader *r, uint32_t *out, const char *field) SB_WUR;
int sb_reader_u64be(sb_reader *r, uint64_t *out, const char *field) SB_WUR;
/* A view of the next n bytes (no copy). */
int sb_reader_bytes(sb_reader *r, size_t n, const uint8_t **out, const char *field) SB_WUR;
/* Copies the next n bytes into dst (dst must hold n bytes). */
int sb_reader_copy(sb_reader *r, void *dst, size_t n, const char *field) SB_WUR;
int sb_reader_skip(sb_reader *r, size_t n, const char *field) SB_WUR;
/* The next n bytes as a reader of their own; the parent advances past them. */
int sb_reader_sub(sb_reader *r, size_t n, sb_reader *sub, const char *field) SB_WUR;
/* Length-prefixed sub-readers: a u8/u16le/u32le/u16be/u32be length, then that many bytes;
 * a length over max is SB_E_LIMIT. */
int sb_reader_sub_u8(sb_reader *r, size_t max, sb_reader *sub, const char *field) SB_WUR;
int sb_reader_sub_u16le(sb_reader *r, size_t max, sb_reader *sub, const char *field) SB_WUR;
int sb_reader_sub_u32le(sb_reader *r, size_t max, sb_reader *sub, const char *field) SB_WUR;
int sb_reader_sub_u16be(sb_reader *r, size_t max, sb_reader *sub, const char *field) SB_WUR;
int sb_reader_sub_u32be(sb_reader *r, size_t max, sb_reader *sub, const char *field) SB_WUR;
/* Fails with SB_E_MALFORMED unless every byte was consumed. */
int sb_reader_end(const sb_reader *r, const char *field) SB_WUR;
/* Bytes read so far, as a view (the span from the reader's start to its position). */
const uint8_t *sb_reader_start(const sb_reader *r);
/* How many bytes come before the next one equal to a or b (all that remain when neither
 * does); the reader does not move. For scanning long runs, e.g. JSON strings, with memchr. */
size_t sb_reader_span_to(const sb_reader *r, uint8_t a, uint8_t b);

/* ---- the growable writer ------------------------------------------------------------ */

/* An output buffer with a hard size limit; any failed put latches the error so a sequence
 * of puts can be checked once with sb_writer_status(). */
typedef struct sb_writer {
    uint8_t *buf;
    size_t len, cap, max;
    int status;
} sb_writer;

void sb_writer_init(sb_writer *w, size_t max);
void sb_writer_free(sb_writer *w);
int sb_writer_status(const sb_writer *w) SB_WUR;
int sb_writer_u8(sb_writer *w, uint8_t v);
int sb_writer_u16le(sb_writer *w, uint16_t v);
int sb_writer_u32le(sb_writer *w, uint32_t v);
int sb_writer_u64le(sb_writer *w, uint64_t v);
int sb_writer_u16be(sb_writer *w, uint16_t v);
int sb_writer_u32be(sb_writer *w, uint32_t v);
int sb_writer_u64be(sb_writer *w, uint64_t v);
int sb_writer_bytes(sb_writer *w, const void *p, size_t n);
int sb_writer_str(sb_writer *w, const char *s);
int sb_writer_printf(sb_writer *w, const char *fmt, ...) SB_PRINTF(2, 3);
/* Hands the buffer to the caller (NUL-terminated one past len); the writer is reset. */
uint8_t *sb_writer_steal(sb_writer *w, size_t *len);

/* ---- checked integers ----------------------------------------------------------------- */

static inline bool sb_add_overflow_size(size_t a, size_t b, size_t *out) {
    return __builtin_add_overflow(a, b, out);
}
static inline bool sb_mul_overflow_size(size_t a, size_t b, size_t *out) {
    return __builtin_mul_overflow(a, b, out);
}
/* Parses a whole decimal string into [min,max]; no sign tricks, no trailing bytes. */
int sb_parse_i64(const char *s, int64_t min, int64_t max, int64_t *out, sb_error *err,
                 const char *field) SB_WUR;
int sb_parse_u64(const char *s, uint64_t max, uint64_t *out, sb_error *err,
                 const char *field) SB_WUR;

/* ---- encodings ---------------------------------------------------------------------- */

/* Output must hold 2*n+1 bytes. Lower-case. */
void sb_hex_encode(const uint8_t *p, size_t n, char *out);
/* Newly allocated lower-case hex string, or NULL on allocation failure. */
char *sb_hex_dup(const uint8_t *p, size_t n);
/* Decodes exactly; *out is malloc'ed. Whitespace is not accepted. */
int sb_hex_decode(const char *s, size_t slen, uint8_t **out, size_t *outlen, sb_error *err) SB_WUR;
/* Standard (RFC 4648 §4) and url-safe (§5) alphabets. Encoders return a malloc'ed string. */
char *sb_base64_encode(const uint8_t *p, size_t n);
char *sb_base64url_encode(const uint8_t *p, size_t n); /* no padding */
/* Decoders accept padded or unpadded input of their own alphabet only; the standard decoder
 * skips ASCII whitespace (PEM-ish inputs) when skip_ws is set. */
int sb_base64_decode(const char *s, size_t slen, bool skip_ws, uint8_t **out, size_t *outlen,
                     sb_error *err) SB_WUR;
int sb_base64url_decode(const char *s, size_t slen, uint8_t **out, size_t *outlen,
                        sb_error *err) SB_WUR;

/* ---- secret memory -------------------------------------------------------------------- */

/* Page-backed, mlock'ed (best effort when RLIMIT_MEMLOCK is low: *locked says), excluded from
 * core dumps, wiped on free. */
void *sb_secret_alloc(size_t n);
void sb_secret_free(void *p, size_t n);
void sb_wipe(void *p, size_t n);

/* ---- files ---------------------------------------------------------------------------- */

/* Reads a whole regular file up to max bytes (SB_E_LIMIT beyond). *out is NUL-terminated. */
int sb_read_file(const char *path, size_t max, uint8_t **out, size_t *len, sb_error *err) SB_WUR;
/* Writes atomically: temp file in the same directory, fsync, rename. */
int sb_write_file_atomic(const char *path, const void *p, size_t n, unsigned mode,
                         sb_error *err) SB_WUR;

/* ---- key files ------------------------------------------------------------------------ */

/* What a private key or secret file must be, and what to say when it is not. */
struct sb_keyfile_rules {
    size_t min, max;  /* size in bytes; min == max: exactly that */
    const char *what; /* "the KBS master key": named in refusals */
    const char *hint; /* the remedy for a mode refusal: "chmod 600 it and rotate it" */
    int refuse_code;  /* the code of a refused kind, mode or owner; 0: SB_E_IO for the kind,
                       * SB_E_POLICY for mode and owner */
};

/* Reads a key file into sb_secret_alloc memory: opened with O_NOFOLLOW (a symbolic link is
 * refused) and O_NONBLOCK, then the same descriptor is checked — a regular file, owned by the
 * effective uid, no group or other permission bits, size within the rules — and read to its
 * end (a file that shrinks or grows meanwhile is SB_E_IO). A missing file is SB_E_NOTFOUND.
 * *out is NUL-terminated one past *len; free it with sb_secret_free(*out, *len + 1). */
int sb_keyfile_read(const char *path, const struct sb_keyfile_rules *rules, uint8_t **out,
                    size_t *len, sb_error *err) SB_WUR;
/* Creates a key file whole or not at all: the bytes go to an O_EXCL 0600 temporary beside it,
 * fsync'ed, which is then hard-linked to path (so an existing file is never replaced) and
 * removed. An existing path sets *existed and returns 0 when existed is non-NULL, else it is
 * SB_E_POLICY. */
int sb_keyfile_create(const char *path, const void *p, size_t n, bool *existed,
                      sb_error *err) SB_WUR;

/* ---- logging -------------------------------------------------------------------------- */

enum sb_log_level { SB_LOG_DEBUG, SB_LOG_INFO, SB_LOG_WARN, SB_LOG_ERROR, SB_LOG_MAX };

/* A logger is explicit state, owned by the program (src/cmd), passed to whoever logs. */
typedef struct sb_log {
    int fd;
    enum sb_log_level min;
    bool json;
    const char *component;
} sb_log;

void sb_log_init(sb_log *lg, int fd, enum sb_log_level min, bool json, const char *component);
void sb_logf(const sb_log *lg, enum sb_log_level lvl, const char *fmt, ...) SB_PRINTF(3, 4);
int sb_log_level_parse(const char *s, enum sb_log_level *out);

/* ---- time ----------------------------------------------------------------------------- */

/* RFC 3339 ("2025-06-01T00:00:00Z", offsets and fractions allowed) or decimal Unix seconds. */
int sb_time_parse(const char *s, int64_t *out, sb_error *err) SB_WUR;
/* "YYYY-MM-DDTHH:MM:SSZ" into out (at least 21 bytes). */
void sb_time_format(int64_t t, char out[32]);
int64_t sb_time_now(void);
/* Monotonic nanoseconds. */
uint64_t sb_mono_ns(void);

/* ---- canonical JSON ----------------------------------------------------------------------- */

#include <jansson.h>

/* RFC 8785 (JCS) serialization of v: members sorted by UTF-16 code units, ECMAScript number
 * and string forms, no whitespace. *out is malloc'ed and NUL-terminated; *len (if non-NULL)
 * excludes the NUL. Integers beyond ±2^53 are SB_E_UNSUPPORTED (a JCS number is a double and
 * they would change value); non-finite reals and invalid UTF-8 are SB_E_MALFORMED. */
int sb_json_canonical(const json_t *v, char **out, size_t *len, sb_error *err) SB_WUR;
/* Whether the JSON text p[0..n) holds a member "key" (at any depth) whose value is a string
 * starting with vprefix (NULL: any value). A textual check for format detection: it parses
 * nothing and never fails, so a verifier must still parse what it detects. */
bool sb_json_text_has_member(const uint8_t *p, size_t n, const char *key, const char *vprefix);

#endif
