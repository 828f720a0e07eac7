/* gw_pin: digests that pin whole MCP definitions (tools, prompts, resources, templates, server
 * instructions) and the scanner for hidden instructions in what the model will read. */
#include <stdio.h>
#include <string.h>

#include "crypto/crypto.h"
#include "gateway/gateway.h"

#define SCAN_MAX_BYTES (1u << 20) /* longer text is itself a finding */
#define SCAN_MAX_DEPTH 32
#define SCAN_MAX_WORDS 65536

int sb_gw_pin_digest(const json_t *definition, uint8_t out[32], sb_error *err) {
    if (!definition) BAIL(err, SB_E_USAGE, "pin: no definition");
    char *canon = NULL;
    size_t n = 0;
    int rc = sb_json_canonical(definition, &canon, &n, err);
    if (rc < 0) return sb_error_prefix(err, "pin: definition");
    rc = sb_hash(SB_HASH_SHA256, canon, n, out, err);
    free(canon);
    return rc;
}

static bool has_string(const json_t *o, const char *key) {
    const json_t *v = json_object_get(o, key);
    return v && json_is_string(v) && json_string_length(v) > 0;
}

int sb_gw_pin_digest_kind(const char *kind, const json_t *def, uint8_t out[32], sb_error *err) {
    if (!kind || !def) BAIL(err, SB_E_USAGE, "pin: no kind or definition");
    if (strcmp(kind, "instructions") == 0) {
        ENSURE(json_is_string(def), err, SB_E_MALFORMED, "pin: instructions must be a string");
    } else if (strcmp(kind, "tool") == 0 || strcmp(kind, "prompt") == 0) {
        ENSURE(json_is_object(def) && has_string(def, "name"), err, SB_E_MALFORMED,
               "pin: %s definition without a name", kind);
    } else if (strcmp(kind, "resource") == 0) {
        ENSURE(json_is_object(def) && has_string(def, "uri"), err, SB_E_MALFORMED,
               "pin: resource definition without a uri");
    } else if (strcmp(kind, "resource_template") == 0) {
        ENSURE(json_is_object(def) && has_string(def, "uriTemplate"), err, SB_E_MALFORMED,
               "pin: resource_template definition without a uriTemplate");
    } else {
        BAIL(err, SB_E_USAGE, "pin: unknown kind \"%s\"", kind);
    }
    return sb_gw_pin_digest(def, out, err);
}

/* ---- the injection scanner ------------------------------------------------------------ */

/* Decodes one UTF-8 scalar at s[*i] (bounded by n); -1 when invalid (overlong, surrogate,
 * out of range, truncated). */
static int32_t utf8_next(const char *s, size_t n, size_t *i) {
    size_t k = *i;
    uint32_t c = (unsigned char)s[k];
    size_t need;
    uint32_t min;
    if (c < 0x80) {
        *i = k + 1;
        return (int32_t)c;
    } else if ((c & 0xe0) == 0xc0) {
        need = 1, min = 0x80, c &= 0x1f;
    } else if ((c & 0xf0) == 0xe0) {
        need = 2, min = 0x800, c &= 0x0f;
    } else if ((c & 0xf8) == 0xf0) {
        need = 3, min = 0x10000, c &= 0x07;
    } else {
        return -1;
    }
    if (need > n - k - 1) return -1;
    for (size_t j = 1; j <= need; j++) {
        unsigned char b = (unsigned char)s[k + j];
        if ((b & 0xc0) != 0x80) return -1;
        c = (c << 6) | (b & 0x3f);
    }
    if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff)) return -1;
    *i = k + 1 + need;
    return (int32_t)c;
}

static bool emojiish(int32_t c) {
    return c >= 0x1f000 || (c >= 0x2190 && c <= 0x2bff) || c == 0xfe0f || c == 0x20e3 ||
           (c >= 0x1f3fb && c <= 0x1f3ff);
}

/* Name of an invisible/format character that can hide or reorder text, or NULL. */
static const char *invisible_name(int32_t c) {
    if (c == 0x00ad) return "soft hyphen";
    if (c == 0x034f) return "combining grapheme joiner";
    if (c == 0x061c) return "arabic letter mark";
    if (c == 0x115f || c == 0x1160 || c == 0x3164 || c == 0xffa0) return "hangul filler";
    if (c == 0x17b4 || c == 0x17b5) return "khmer inherent vowel";
    if (c == 0x180e) return "mongolian vowel separator";
    if (c >= 0x200b && c <= 0x200d) return "zero-width character";
    if (c == 0x200e || c == 0x200f) return "bidi mark";
    if (c >= 0x202a && c <= 0x202e) return "bidi embedding/override";
    if (c >= 0x2060 && c <= 0x2064) return "invisible operator/word joiner";
    if (c >= 0x2066 && c <= 0x2069) return "bidi isolate";
    if (c >= 0x206a && c <= 0x206f) return "deprecated format character";
    if (c == 0xfeff) return "zero-width no-break space";
    if (c >= 0xfe00 && c <= 0xfe0d) return "variation selector";
    if (c >= 0xfff9 && c <= 0xfffb) return "interlinear annotation";
    if (c >= 0x1d173 && c <= 0x1d17a) return "musical format character";
    if (c >= 0xe0000 && c <= 0xe007f) return "tag character (hidden ASCII)";
    if (c >= 0xe0100 && c <= 0xe01ef) return "variation selector supplement";
    return NULL;
}

static bool in_set(const char *w, size_t n, const char *const *set) {
    for (; *set; set++)
        if (strlen(*set) == n && memcmp(*set, w, n) == 0) return true;
    return false;
}

static const char *const VERBS[] = {"ignore", "disregard", "forget",  "override",
                                    "bypass", "skip",      "discard", NULL};
static const char *const QUALS[] = {"previous",  "prior",     "above", "earlier", "preceding",
                                    "system",    "original",  "your",  "former",  "initial",
                                    "foregoing", "developer", NULL};
static const char *const OBJS[] = {"instructions", "instruction", "prompt",      "prompts",
                                   "directions",   "directives",  "rules",       "guidelines",
                                   "guidance",     "context",     "messages",    "constraints",
                                   "commands",     "orders",      "programming", NULL};
/* fixed sequences, words separated by one space */
static const char *const PHRASES[] = {"do not tell the user",
                                      "dont tell the user",
                                      "do not inform the user",
                                      "without telling the user",
                                      "without informing the user",
                                      "hide this from the user",
                                      "do not mention this",
                                      "dont mention this",
                                      "not visible to the user",
                                      "the user must not know",
                                      "never reveal this",
                                      "do not reveal this",
                                      "from now on you",
                                      NULL};
static const char *const TAGS[] = {
    "important", "system", "instructions", "instruction", "critical",  "secret", "hidden",
    "admin",     "sys",    "override",     "assistant",   "developer", NULL};

struct words {
    const char *norm;    /* lower-case letters/digits, one space between words */
    size_t *start, *off; /* word starts in norm, and their byte offsets in the text */
    size_t *len;
    size_t n;
};

static int phrase_scan(const struct words *w, char *finding, size_t flen) {
    for (size_t i = 0; i < w->n; i++) {
        const char *wi = w->norm + w->start[i];
        if (!in_set(wi, w->len[i], VERBS)) continue;
        for (size_t j = i + 1; j < w->n && j <= i + 4; j++) {
            if (!in_set(w->norm + w->start[j], w->len[j], QUALS)) continue;
            for (size_t k = j + 1; k < w->n && k <= j + 3; k++) {
                if (!in_set(w->norm + w->start[k], w->len[k], OBJS)) continue;
                snprintf(finding, flen, "instruction-override phrase \"%.*s\" at byte %zu",
                         (int)(w->start[k] + w->len[k] - w->start[i]), wi, w->off[i]);
                return 1;
            }
        }
    }
    for (const char *const *ph = PHRASES; *ph; ph++) {
        size_t pl = strlen(*ph);
        for (size_t i = 0; i < w->n; i++) {
            const char *wi = w->norm + w->start[i];
            if (strncmp(wi, *ph, pl) == 0 && (wi[pl] == ' ' || wi[pl] == '\0')) {
                snprintf(finding, flen, "hidden-instruction phrase \"%s\" at byte %zu", *ph,
                         w->off[i]);
                return 1;
            }
        }
    }
    return 0;
}

/* "<IMPORTANT>", "</system>", "<|im_start|>", "[INST]", "<<SYS>>" */
static int tag_scan(const char *s, size_t n, char *finding, size_t flen) {
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (c == '<' && i + 1 < n && s[i + 1] == '|') {
            size_t j = i + 2;
            while (j < n && j < i + 40 && s[j] != '|' && s[j] != '>')
                j++;
            if (j + 1 < n && s[j] == '|' && s[j + 1] == '>') {
                snprintf(finding, flen, "chat-template token \"%.*s\" at byte %zu",
                         (int)(j + 2 - i), s + i, i);
                return 1;
            }
        }
        if (c == '<' && i + 1 < n && s[i + 1] == '<') {
            if (i + 7 <= n && strncasecmp(s + i, "<<sys>>", 7) == 0) {
                snprintf(finding, flen, "chat-template token \"<<SYS>>\" at byte %zu", i);
                return 1;
            }
        }
        if (c == '[') {
            if ((i + 6 <= n && strncasecmp(s + i, "[inst]", 6) == 0) ||
                (i + 8 <= n && strncasecmp(s + i, "[system]", 8) == 0)) {
                snprintf(finding, flen, "chat-template token at byte %zu", i);
                return 1;
            }
        }
        if (c != '<') continue;
        size_t j = i + 1;
        if (j < n && s[j] == '/') j++;
        while (j < n && (s[j] == ' ' || s[j] == '\t'))
            j++;
        size_t t0 = j;
        while (j < n && j < t0 + 32 &&
               ((s[j] >= 'a' && s[j] <= 'z') || (s[j] >= 'A' && s[j] <= 'Z') || s[j] == '_' ||
                s[j] == '-'))
            j++;
        size_t tl = j - t0;
        if (tl == 0 || j >= n) continue;
        if (s[j] != '>' && s[j] != ' ') continue;
        for (const char *const *t = TAGS; *t; t++) {
            if (strlen(*t) == tl && strncasecmp(s + t0, *t, tl) == 0) {
                snprintf(finding, flen, "instruction tag <%.*s> at byte %zu", (int)tl, s + t0, i);
                return 1;
            }
        }
    }
    return 0;
}

int sb_gw_scan_injection(const char *text, char *finding, size_t finding_len) {
    char dummy[8];
    if (!finding || finding_len == 0) {
        finding = dummy;
        finding_len = sizeof(dummy);
    }
    finding[0] = '\0';
    if (!text) return 0;
    size_t n = strlen(text);
    if (n > SCAN_MAX_BYTES) {
        snprintf(finding, finding_len, "text over %u bytes", SCAN_MAX_BYTES);
        return 1;
    }
    /* pass 1: code points */
    int32_t prev = 0;
    for (size_t i = 0; i < n;) {
        size_t at = i;
        int32_t c = utf8_next(text, n, &i);
        if (c < 0) {
            snprintf(finding, finding_len, "invalid UTF-8 at byte %zu", at);
            return 1;
        }
        const char *what = invisible_name(c);
        if (c == 0x200d && emojiish(prev)) {
            size_t k = i;
            int32_t next = k < n ? utf8_next(text, n, &k) : -1;
            if (emojiish(next)) what = NULL; /* emoji ZWJ sequence */
        }
        if (what) {
            snprintf(finding, finding_len, "U+%04X (%s) at byte %zu", (unsigned)c, what, at);
            return 1;
        }
        prev = c;
    }
    if (tag_scan(text, n, finding, finding_len)) return 1;

    /* pass 2: words (ASCII letters and digits, lower-cased; apostrophes dropped) */
    char *norm = malloc(n + 1);
    size_t *arr = calloc(3 * (n / 2 + 1), sizeof(size_t));
    if (!norm || !arr) {
        free(norm);
        free(arr);
        snprintf(finding, finding_len, "out of memory while scanning");
        return 1;
    }
    struct words w = {
        .norm = norm, .start = arr, .off = arr + (n / 2 + 1), .len = arr + 2 * (n / 2 + 1), .n = 0};
    size_t o = 0;
    bool in_word = false;
    for (size_t i = 0; i < n; i++) {
        char c = text[i];
        bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
        if (c == '\'' && in_word) continue;
        if (alnum) {
            if (!in_word) {
                if (o > 0) norm[o++] = ' ';
                if (w.n == SCAN_MAX_WORDS || w.n == n / 2 + 1) break;
                w.start[w.n] = o;
                w.off[w.n] = i;
                w.len[w.n] = 0;
                w.n++;
                in_word = true;
            }
            norm[o++] = (char)((c >= 'A' && c <= 'Z') ? c + 32 : c);
            w.len[w.n - 1]++;
        } else {
            in_word = false;
        }
    }
    norm[o] = '\0';
    int r = phrase_scan(&w, finding, finding_len);
    free(norm);
    free(arr);
    return r;
}

static int scan_value(const json_t *v, char *path, size_t plen, size_t cap, int depth,
                      char *finding, size_t flen) {
    char f[256];
    if (depth > SCAN_MAX_DEPTH) {
        snprintf(finding, flen, "%s: nested deeper than %d", plen ? path : "(root)",
                 SCAN_MAX_DEPTH);
        return 1;
    }
    if (json_is_string(v)) {
        if (strlen(json_string_value(v)) != json_string_length(v)) {
            snprintf(finding, flen, "%s: NUL character in string", plen ? path : "(root)");
            return 1;
        }
        if (sb_gw_scan_injection(json_string_value(v), f, sizeof(f))) {
            snprintf(finding, flen, "%s: %s", plen ? path : "(root)", f);
            return 1;
        }
        return 0;
    }
    if (json_is_array(v)) {
        size_t i;
        const json_t *e;
        json_array_foreach(v, i, e) {
            int k = snprintf(path + plen, cap - plen, "[%zu]", i);
            size_t nl = (k < 0 || (size_t)k >= cap - plen) ? plen : plen + (size_t)k;
            int r = scan_value(e, path, nl, cap, depth + 1, finding, flen);
            path[plen] = '\0';
            if (r) return r;
        }
        return 0;
    }
    if (json_is_object(v)) {
        const char *key;
        const json_t *e;
        json_object_foreach((json_t *)v, key, e) {
            int k = snprintf(path + plen, cap - plen, "%s%s", plen ? "." : "", key);
            size_t nl = (k < 0 || (size_t)k >= cap - plen) ? plen : plen + (size_t)k;
            if (sb_gw_scan_injection(key, f, sizeof(f))) {
                snprintf(finding, flen, "%s (member name): %s", path, f);
                path[plen] = '\0';
                return 1;
            }
            int r = scan_value(e, path, nl, cap, depth + 1, finding, flen);
            path[plen] = '\0';
            if (r) return r;
        }
    }
    return 0;
}

int sb_gw_scan_definition(const json_t *definition, char *finding, size_t finding_len) {
    char dummy[8];
    if (!finding || finding_len == 0) {
        finding = dummy;
        finding_len = sizeof(dummy);
    }
    finding[0] = '\0';
    if (!definition) return 0;
    char path[512];
    path[0] = '\0';
    return scan_value(definition, path, 0, sizeof(path), 0, finding, finding_len);
}
