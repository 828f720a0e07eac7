/* test_claims: the normalized claims builders produce the documented schema. */
#include "harness.h"
#include "verify/verify.h"

TEST(claims_schema_skeleton) {
    json_t *c = sb_claims_new("snp", "snp-report", 1748736000);
    CHECK(c != NULL);
    CHECK_STR(json_string_value(json_object_get(c, "platform")), "snp");
    CHECK_STR(json_string_value(json_object_get(c, "verified_at")), "2025-06-01T00:00:00Z");
    CHECK(json_is_object(json_object_get(c, "measurements")));
    CHECK(json_is_array(json_object_get(json_object_get(c, "tcb"), "advisories")));
    CHECK(json_is_false(json_object_get(c, "insecure")));
    const uint8_t m[3] = {0xde, 0xad, 0x01};
    CHECK_INT(sb_claims_set_hex(c, "measurements", "measurement", m, 3), 0);
    CHECK_STR(json_string_value(json_object_get(json_object_get(c, "measurements"), "measurement")),
              "dead01");
    CHECK_INT(sb_claims_set_int(c, "newsection", "k", -5), 0);
    CHECK_INT(json_integer_value(json_object_get(json_object_get(c, "newsection"), "k")), -5);
    CHECK_INT(sb_claims_warn(c, "trailing %d bytes", 1), 0);
    CHECK_STR(json_string_value(json_array_get(json_object_get(c, "warnings"), 0)),
              "trailing 1 bytes");
    CHECK_INT(sb_claims_add_collateral(c, "vcek", "CN=SEV-VCEK", NULL, 1748736000, 0, "file"), 0);
    json_t *col = json_array_get(json_object_get(c, "collateral"), 0);
    CHECK_STR(json_string_value(json_object_get(col, "not_before")), "2025-06-01T00:00:00Z");
    CHECK(json_object_get(col, "not_after") == NULL);
    json_decref(c);
}
