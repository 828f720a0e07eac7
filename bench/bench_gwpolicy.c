/* bench_gwpolicy: the gateway policy's cost per tools/call decision, as a ratio to an anchor
 * measured in the same run — RFC 8785 canonical JSON + SHA-256 of the same arguments, which
 * the audit record computes for every call anyway. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/crypto.h"
#include "gateway/gateway.h"

#define MIN_NS 300000000ull /* run each measurement for at least 0.3 s */

static const char *POLICY =
    "{\"alice\": {\"servers\": {\"allow\": [\"fs\", \"web\"], \"deny\": [\"admin*\"]},"
    " \"tools\": {\"allow\": [\"fs.*\", \"web.fetch\"], \"deny\": [\"fs.write_*\", \"fs.rm*\"],"
    "  \"fs.read_file\": {\"arguments\": {\"type\": \"object\", \"required\": [\"path\"],"
    "    \"additionalProperties\": false, \"properties\": {"
    "      \"path\": {\"type\": \"string\", \"path_prefix\": [\"/data/\", \"/srv/pub\"]},"
    "      \"encoding\": {\"enum\": [\"utf-8\", \"base64\"]},"
    "      \"head\": {\"type\": \"integer\", \"minimum\": 1, \"maximum\": 10000},"
    "      \"label\": {\"type\": \"string\", \"maxLength\": 64, \"pattern\": \"^[a-z0-9_-]+$\"}"
    "  }}},"
    "  \"web.fetch\": {\"arguments\": {\"properties\": {\"url\": {\"type\": \"string\","
    "    \"url_host\": [\"api.example.com\", \"*.docs.example.org\"]}}}}},"
    " \"resources\": {\"allow\": [\"fs.file:///data/*\"]}}}";

static const char *ARGS_FILE = "{\"path\": \"/data/projects/sealbox/src/gateway/gw_policy.c\","
                               " \"encoding\": \"utf-8\", \"head\": 200, \"label\": \"gw-src\"}";
static const char *ARGS_URL = "{\"url\": \"https://v2.docs.example.org/guide/index.html?x=1\"}";
static const char *ARGS_EVIL = "{\"x\": \"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa!\"}";

struct job {
    sb_gw_policy *p;
    const char *server, *tool;
    json_t *args;
    sb_gw_verdict want;
};

static int run_policy(struct job *j) {
    char reason[SB_GW_REASON_MAX];
    sb_gw_verdict v = sb_gw_policy_check_call(j->p, "alice", j->server, j->tool, j->args, 0, reason,
                                              sizeof(reason));
    return v == j->want ? 0 : -1;
}

static int run_anchor(struct job *j) {
    char *canon = NULL;
    size_t n = 0;
    uint8_t d[32];
    int rc = sb_json_canonical(j->args, &canon, &n, NULL);
    if (rc == 0) rc = sb_hash(SB_HASH_SHA256, canon, n, d, NULL);
    free(canon);
    return rc;
}

static int run_list(struct job *j) {
    /* a tools/list of 32 names filtered for one agent */
    static const char *names[] = {"read_file", "write_file",   "list_directory", "rm",
                                  "move_file", "search_files", "get_file_info",  "edit_file"};
    int seen = 0;
    for (int i = 0; i < 32; i++)
        seen += sb_gw_policy_visible(j->p, "alice", "fs", "tool", names[i % 8]);
    return seen == 4 * 6 ? 0 : -1; /* 6 of the 8 names are visible */
}

static double ns_per_op(struct job *j, int (*fn)(struct job *), const char *what) {
    uint64_t t0 = sb_mono_ns(), n = 0, dt;
    do {
        for (int i = 0; i < 64; i++) {
            if (fn(j) != 0) {
                fprintf(stderr, "bench_gwpolicy: %s gave the wrong answer\n", what);
                exit(1);
            }
        }
        n += 64;
        dt = sb_mono_ns() - t0;
    } while (dt < MIN_NS);
    return (double)dt / (double)n;
}

static json_t *parse(const char *s) {
    json_error_t je;
    json_t *j = json_loads(s, 0, &je);
    if (!j) {
        fprintf(stderr, "bench_gwpolicy: bad JSON: %s\n", je.text);
        exit(1);
    }
    return j;
}

int main(void) {
    sb_error err = {0};
    json_t *cfg = parse(POLICY);
    sb_gw_policy *p = NULL;
    if (sb_gw_policy_load(cfg, &p, &err) != 0) {
        fprintf(stderr, "bench_gwpolicy: %s\n", err.msg);
        return 1;
    }
    json_decref(cfg);
    json_t *evil_cfg = parse("{\"alice\":{\"servers\":{\"allow\":[\"s\"]},\"tools\":{\"allow\":"
                             "[\"s.t\"],\"s.t\":{\"arguments\":{\"properties\":{\"x\":"
                             "{\"pattern\":\"^(a+)+$\"}}}}}}}");
    sb_gw_policy *pe = NULL;
    if (sb_gw_policy_load(evil_cfg, &pe, &err) != 0) {
        fprintf(stderr, "bench_gwpolicy: %s\n", err.msg);
        return 1;
    }
    json_decref(evil_cfg);

    struct job jobs[] = {
        {p, "fs", "read_file", parse(ARGS_FILE), SB_GW_ALLOW},
        {p, "web", "fetch", parse(ARGS_URL), SB_GW_ALLOW},
        {p, "fs", "write_file", parse(ARGS_FILE), SB_GW_DENY},
        {pe, "s", "t", parse(ARGS_EVIL), SB_GW_DENY},
    };
    const char *names[] = {"read_file (4 rules, path)", "web.fetch (url_host)", "denied by name",
                           "catastrophic pattern"};
    printf("gateway policy: cost of one tools/call decision vs canonical JSON + SHA-256 of the "
           "same arguments\n");
    printf("%-28s %12s %12s %8s\n", "call", "policy ns", "anchor ns", "ratio");
    for (size_t i = 0; i < SB_ARRAY_LEN(jobs); i++) {
        double pol = ns_per_op(&jobs[i], run_policy, names[i]);
        double anc = ns_per_op(&jobs[i], run_anchor, "anchor");
        printf("%-28s %12.0f %12.0f %7.2fx\n", names[i], pol, anc, pol / anc);
    }
    struct job lj = {p, NULL, NULL, jobs[0].args, SB_GW_ALLOW};
    double list = ns_per_op(&lj, run_list, "tools/list filter");
    double anc = ns_per_op(&jobs[0], run_anchor, "anchor");
    printf("%-28s %12.0f %12.0f %7.2fx\n", "tools/list of 32 filtered", list, anc, list / anc);
    for (size_t i = 0; i < SB_ARRAY_LEN(jobs); i++)
        json_decref(jobs[i].args);
    sb_gw_policy_free(p);
    sb_gw_policy_free(pe);
    return 0;
}
