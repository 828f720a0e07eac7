/* test_json: RFC 8785 (JCS) canonical JSON — the RFC's examples, its Appendix B number
 * table, UTF-16 member ordering, and the inputs JCS cannot represent. */
#include <jansson.h>
#include <stdlib.h>

#include "harness.h"

static char *canon(const json_t *v, int *rc, sb_error *err) {
    char *out = NULL;
    size_t len = 0;
    *rc = sb_json_canonical(v, &out, &len, err);
    if (*rc == 0 && out) CHECK_INT(len, strlen(out));
    return out;
}

static json_t *parse(const char *text) {
    json_error_t je;
    json_t *v = json_loads(text, JSON_DECODE_ANY, &je);
    CHECK_MSG(v != NULL, "test JSON does not parse: %s", je.text);
    return v;
}

TEST(jcs_rfc8785_section_3_2_2_example) {
    sb_error err = {0};
    json_t *v = parse(
        "{\"numbers\": [333333333.33333329, 1E30, 4.50, 2e-3, 0.000000000000000000000000001], "
        "\"string\": \"\\u20ac$\\u000F\\u000aA'\\u0042\\u0022\\u005c\\\\\\\"\\/\", \"literals\": "
        "[null, true, false]}");
    int rc;
    char *out = canon(v, &rc, &err);
    CHECK_OK(rc, &err);
    CHECK_STR(out, "{\"literals\":[null,true,false],\"numbers\":[333333333.3333333,1e+30,4.5,0.002,"
                   "1e-27],\"string\":\"\xe2"
                   "\x82"
                   "\xac"
                   "$\\u000f\\nA'B\\\"\\\\\\\\\\\"/\"}");
    free(out);
    json_decref(v);
}

TEST(jcs_members_sorted_by_utf16_code_units) {
    /* U+1F600 is D83D DE00 in UTF-16 and sorts before U+FB33, unlike in code point order */
    sb_error err = {0};
    json_t *v = parse(
        "{\"\\u20ac\": \"Euro Sign\", \"\\r\": \"Carriage Return\", \"\\ufb33\": \"Hebrew Letter "
        "Dalet With Dagesh\", \"1\": \"One\", \"\\ud83d\\ude00\": \"Emoji: Grinning Face\", "
        "\"\\u0080\": \"Control\", \"\\u00f6\": \"Latin Small Letter O With Diaeresis\"}");
    int rc;
    char *out = canon(v, &rc, &err);
    CHECK_OK(rc, &err);
    CHECK_STR(out, "{\"\\r\":\"Carriage Return\",\"1\":\"One\",\"\xc2"
                   "\x80"
                   "\":\"Control\",\"\xc3"
                   "\xb6"
                   "\":\"Latin Small Letter O With Diaeresis\",\"\xe2"
                   "\x82"
                   "\xac"
                   "\":\"Euro Sign\",\"\xf0"
                   "\x9f"
                   "\x98"
                   "\x80"
                   "\":\"Emoji: Grinning Face\",\"\xef"
                   "\xac"
                   "\xb3"
                   "\":\"Hebrew Letter Dalet With Dagesh\"}");
    free(out);
    json_decref(v);
    /* a prefix sorts first; nested objects are sorted too; arrays keep their order */
    v = parse("{\"ab\":[3,1,{\"z\":1,\"y\":2}],\"a\":{},\"\":[]}");
    out = canon(v, &rc, &err);
    CHECK_OK(rc, &err);
    CHECK_STR(out, "{\"\":[],\"a\":{},\"ab\":[3,1,{\"y\":2,\"z\":1}]}");
    free(out);
    json_decref(v);
}

static const struct {
    uint64_t bits;
    const char *want;
} NUMS[] = {
    {0x0000000000000000ull, "0"},
    {0x8000000000000000ull, "0"},
    {0x0000000000000001ull, "5e-324"},
    {0x8000000000000001ull, "-5e-324"},
    {0x7fefffffffffffffull, "1.7976931348623157e+308"},
    {0xffefffffffffffffull, "-1.7976931348623157e+308"},
    {0x4340000000000000ull, "9007199254740992"},
    {0xc340000000000000ull, "-9007199254740992"},
    {0x4430000000000000ull, "295147905179352830000"},
    {0x44b52d02c7e14af5ull, "9.999999999999997e+22"},
    {0x44b52d02c7e14af6ull, "1e+23"},
    {0x44b52d02c7e14af7ull, "1.0000000000000001e+23"},
    {0x444b1ae4d6e2ef4eull, "999999999999999700000"},
    {0x444b1ae4d6e2ef4full, "999999999999999900000"},
    {0x444b1ae4d6e2ef50ull, "1e+21"},
    {0x3eb0c6f7a0b5ed8cull, "9.999999999999997e-7"},
    {0x3eb0c6f7a0b5ed8dull, "0.000001"},
    {0x41b3de4355555553ull, "333333333.3333332"},
    {0x41b3de4355555554ull, "333333333.33333325"},
    {0x41b3de4355555555ull, "333333333.3333333"},
    {0x41b3de4355555556ull, "333333333.3333334"},
    {0x41b3de4355555557ull, "333333333.33333343"},
    {0xbecbf647612f3696ull, "-0.0000033333333333333333"},
    {0x43143ff3c1cb0959ull, "1424953923781206.2"},
};

TEST(jcs_rfc8785_appendix_b_numbers) {
    sb_error err = {0};
    for (size_t i = 0; i < SB_ARRAY_LEN(NUMS); i++) {
        double d;
        memcpy(&d, &NUMS[i].bits, sizeof(d));
        json_t *v = json_real(d);
        int rc;
        char *out = canon(v, &rc, &err);
        CHECK_OK(rc, &err);
        CHECK_MSG(out && strcmp(out, NUMS[i].want) == 0, "%016llx: got %s, want %s",
                  (unsigned long long)NUMS[i].bits, out ? out : "(null)", NUMS[i].want);
        free(out);
        json_decref(v);
    }
}

TEST(jcs_integers_and_strings) {
    sb_error err = {0};
    int rc;
    json_t *v = json_pack("[I,I,I,s,s]", (json_int_t)-9007199254740992LL, (json_int_t)0,
                          (json_int_t)123456789, "\x7f\x01\x1f\b\t\f", "\xe2\x80\xa8");
    char *out = canon(v, &rc, &err);
    CHECK_OK(rc, &err);
    CHECK_STR(out,
              "[-9007199254740992,0,123456789,\"\x7f\\u0001\\u001f\\b\\t\\f\",\"\xe2\x80\xa8\"]");
    free(out);
    json_decref(v);
    /* a string with an embedded NUL */
    v = json_stringn("a\0b", 3);
    out = canon(v, &rc, &err);
    CHECK_OK(rc, &err);
    CHECK_STR(out, "\"a\\u0000b\"");
    free(out);
    json_decref(v);
}

TEST(jcs_rejects_what_it_cannot_represent) {
    sb_error err = {0};
    int rc;
    json_t *v = json_integer((json_int_t)9007199254740993LL);
    char *out = canon(v, &rc, &err);
    CHECK_INT(rc, SB_E_UNSUPPORTED);
    CHECK_CONTAINS(err.msg, "2^53");
    CHECK(out == NULL);
    json_decref(v);
    v = json_stringn_nocheck("\xc0\xaf", 2); /* overlong '/' */
    out = canon(v, &rc, &err);
    CHECK_INT(rc, SB_E_MALFORMED);
    CHECK_CONTAINS(err.msg, "UTF-8");
    json_decref(v);
    v = json_object();
    json_object_set_new_nocheck(v, "\xed\xa0\x80", json_null()); /* a UTF-8-encoded surrogate */
    out = canon(v, &rc, &err);
    CHECK_INT(rc, SB_E_MALFORMED);
    json_decref(v);
    /* nesting past the limit */
    json_t *deep = json_array();
    for (int i = 0; i < 100; i++) {
        json_t *outer = json_array();
        json_array_append_new(outer, deep);
        deep = outer;
    }
    out = canon(deep, &rc, &err);
    CHECK_INT(rc, SB_E_LIMIT);
    json_decref(deep);
    /* jansson itself refuses NaN and Infinity, so a json_t never holds one to reject */
    volatile double zero = 0.0;
    CHECK(json_real(zero / zero) == NULL);
}

/* The textual member check the verifiers sniff with: any depth, whitespace around the colon,
 * an optional value prefix, and never past the end of the text. */
TEST(json_text_has_member) {
    static const char J[] = "{\"a\": {\"evidence\" :\n \"EeAB12\", \"quotes\":[]}, \"k\"";
    const uint8_t *p = (const uint8_t *)J;
    size_t n = strlen(J);
    CHECK(sb_json_text_has_member(p, n, "evidence", NULL));
    CHECK(sb_json_text_has_member(p, n, "evidence", "EeAB"));
    CHECK(!sb_json_text_has_member(p, n, "evidence", "EeAC"));
    CHECK(sb_json_text_has_member(p, n, "quotes", NULL));
    CHECK(!sb_json_text_has_member(p, n, "quotes", "")); /* an array, not a string */
    CHECK(!sb_json_text_has_member(p, n, "k", NULL));    /* a key with no colon after it */
    CHECK(!sb_json_text_has_member(p, n, "missing", NULL));
    size_t cut = (size_t)(strstr(J, "EeAB") - J) + 4; /* the text ends inside the value */
    CHECK(sb_json_text_has_member(p, cut, "evidence", "EeAB"));
    CHECK(!sb_json_text_has_member(p, cut, "evidence", "EeAB1"));
    CHECK(!sb_json_text_has_member(p, 0, "a", NULL));
}
