/* gateway: the least-privilege MCP gateway — per-agent policy (names, arguments, rate limits,
 * approval), definition pinning and injection scanning, and the MCP proxy. */
#ifndef SB_GATEWAY_H
#define SB_GATEWAY_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/util.h"

/* ==== policy ============================================================================== */
/* The "agents" object of the gateway configuration (docs/gateway.md, "Policy language"):
 * who may see and call which server, tool, resource and prompt, with which arguments, how
 * often, and what needs a human's approval. Every refusal reason names the rule that refused. */

#define SB_GW_MAX_AGENTS 256        /* agents in one configuration */
#define SB_GW_MAX_LIST 1024         /* entries in one allow/deny/approval list */
#define SB_GW_MAX_NAME 256          /* bytes of an agent, server, tool or pattern name */
#define SB_GW_MAX_TOOL_RULES 1024   /* tool rules of one agent */
#define SB_GW_MAX_SCHEMA_DEPTH 16   /* nesting of properties/items in one argument schema */
#define SB_GW_MAX_SCHEMA_NODES 4096 /* schema nodes of one agent */
#define SB_GW_MAX_PATTERN 512       /* bytes of one "pattern" regular expression */
#define SB_GW_MAX_ARGS_DEPTH 32     /* nesting of call arguments that are checked */
#define SB_GW_PATH_MAX 4096         /* bytes of a path argument */
#define SB_GW_PATH_MAX_SEGMENTS 512 /* components of a path argument */
#define SB_GW_URL_MAX 8192          /* bytes of a URL argument */
#define SB_GW_HOST_MAX 253          /* bytes of a canonical host name (DNS limit) */
#define SB_GW_REASON_MAX 512        /* a reason buffer this big never truncates the rule */

typedef struct sb_gw_policy sb_gw_policy;

/* Parses and compiles the "agents" object; unknown keys, wrong types, bad globs, patterns
 * and prefixes are SB_E_MALFORMED (or SB_E_LIMIT) naming the field
 * ("agents.alice.tools.fs.read_file.arguments.properties.path.pattern: ..."). */
int sb_gw_policy_load(const json_t *agents_config, sb_gw_policy **out, sb_error *err) SB_WUR;
void sb_gw_policy_free(sb_gw_policy *p);

typedef enum { SB_GW_ALLOW, SB_GW_DENY, SB_GW_NEEDS_APPROVAL, SB_GW_VERDICT_MAX } sb_gw_verdict;
const char *sb_gw_verdict_name(sb_gw_verdict v); /* "allow", "deny", "needs-approval" */

/* kind: "tool" | "resource" | "prompt" | "server"; name un-namespaced (the tool's own name,
 * the resource URI, the prompt name; ignored for "server"). Deny beats allow; an agent that
 * is not configured sees nothing; absent allow lists allow nothing. */
bool sb_gw_policy_visible(const sb_gw_policy *p, const char *agent, const char *server,
                          const char *kind, const char *name);
/* As sb_gw_policy_visible, with the refusing rule written to reason when not visible. */
bool sb_gw_policy_visible_why(const sb_gw_policy *p, const char *agent, const char *server,
                              const char *kind, const char *name, char *reason, size_t reason_len);

/* The decision on one tools/call, in this order: visibility (invisible == uncallable), the
 * argument rules, approval, then the agent's and the tool's rate limits (a call that is
 * refused or waits for approval consumes no token). args NULL means no arguments ({}).
 * now_ms is any monotonic millisecond clock (injected so tests are deterministic); a clock
 * that goes backwards refills nothing. On DENY / NEEDS_APPROVAL reason names the rule.
 * Mutates rate-limit state: one caller at a time. */
sb_gw_verdict sb_gw_policy_check_call(sb_gw_policy *p, const char *agent, const char *server,
                                      const char *tool, const json_t *args, uint64_t now_ms,
                                      char *reason, size_t reason_len);
/* Flags for sb_gw_policy_check_call_ex. */
enum {
    /* The call was approved out of band: approval rules pass, rate limits still apply. */
    SB_GW_CALL_APPROVED = 1u << 0,
    /* Check only; consume no rate-limit token (a dry run, e.g. for `sealbox gateway explain`). */
    SB_GW_CALL_DRY_RUN = 1u << 1,
};
sb_gw_verdict sb_gw_policy_check_call_ex(sb_gw_policy *p, const char *agent, const char *server,
                                         const char *tool, const json_t *args, uint64_t now_ms,
                                         unsigned flags, char *reason, size_t reason_len);

/* Limits carried for the proxy to enforce. A tool rule's timeout_ms overrides the agent's. */
typedef struct sb_gw_limits {
    uint64_t max_request_bytes;  /* one JSON-RPC message from the agent */
    uint64_t max_response_bytes; /* one JSON-RPC message from a server */
    uint64_t timeout_ms;         /* per request, hard maximum */
} sb_gw_limits;
#define SB_GW_DEFAULT_MAX_REQUEST (1u << 20)
#define SB_GW_DEFAULT_MAX_RESPONSE (4u << 20)
#define SB_GW_DEFAULT_TIMEOUT_MS 30000u
/* server/tool may be NULL for the agent's own limits; SB_E_NOTFOUND for an unknown agent. */
int sb_gw_policy_limits(const sb_gw_policy *p, const char *agent, const char *server,
                        const char *tool, sb_gw_limits *out) SB_WUR;
/* Whether definitions first seen from this server are pinned without approval. */
bool sb_gw_policy_auto_pin(const sb_gw_policy *p, const char *agent, const char *server);
/* Whether an injection finding in a definition hides it (true, the default) or only flags it. */
bool sb_gw_policy_injection_denies(const sb_gw_policy *p, const char *agent);
bool sb_gw_policy_has_agent(const sb_gw_policy *p, const char *agent);

/* ---- paths: lexical canonical form ---- */
/* Canonicalizes an absolute path (or, when base is an absolute path, a relative one joined to
 * it): "." and empty components dropped, ".." resolved lexically (never above "/"), no
 * trailing slash. Refused (SB_E_POLICY, message says why): NUL, control bytes, backslash,
 * percent-encoded bytes, a leading "~", a relative path without base, over the limits. out
 * receives a NUL-terminated string of at most SB_GW_PATH_MAX bytes. */
int sb_gw_path_canon(const char *path, size_t len, const char *base, char *out, size_t out_len,
                     sb_error *err) SB_WUR;
/* True when canonical path equals canonical prefix or lies below it ("/data2" is not under
 * "/data"). */
bool sb_gw_path_under(const char *canon_path, const char *canon_prefix);

/* ---- URLs: the WHATWG URL Standard's parse of scheme, authority and host ---- */
enum sb_gw_host_kind { SB_GW_HOST_DOMAIN, SB_GW_HOST_IPV4, SB_GW_HOST_IPV6, SB_GW_HOST_KIND_MAX };
typedef struct sb_gw_url {
    char scheme[32];               /* lower case */
    char host[SB_GW_HOST_MAX + 3]; /* ASCII (IDN as punycode), lower case, no trailing dot;
                                      dotted-quad IPv4; "[v6]" in RFC 5952 form */
    enum sb_gw_host_kind host_kind;
    bool has_userinfo;     /* "user:pass@" was present */
    bool had_trailing_dot; /* "example.com." (stripped in host) */
    uint16_t port;         /* the explicit port, or the scheme's default */
    bool explicit_port;    /* a non-default port was given */
} sb_gw_url;
/* Parses an absolute URL of a special scheme (http, https, ws, wss, ftp) the way browsers and
 * Node's URL do: backslashes as slashes, the last "@" ends userinfo, "?" and "#" end the
 * authority, percent-decoded hosts, IPv4 in decimal/octal/hex and 1–4 parts, IPv6 literals,
 * IDNA (UTS 46, non-transitional) through libidn2. Stricter than WHATWG: ASCII tab/CR/LF and
 * leading/trailing spaces/controls are refused instead of removed. Errors are SB_E_POLICY
 * with the reason. */
int sb_gw_url_parse(const char *s, size_t len, sb_gw_url *out, sb_error *err) SB_WUR;
/* Canonical form of a host pattern of a url_host allowlist ("Example.COM.", "*.b.org",
 * "0x7f.1", "[::1]"), as the URL parser would produce it. */
int sb_gw_host_canon(const char *host, char *out, size_t out_len, sb_error *err) SB_WUR;

/* ---- pinning and injection scanning ---- */
/* SHA-256 of the RFC 8785 canonical JSON of the WHOLE definition: a tool (name, title,
 * description, inputSchema, outputSchema, annotations, icons, _meta...), a prompt, a resource
 * or resource template, or the server's instructions (a JSON string). */
int sb_gw_pin_digest(const json_t *definition, uint8_t out[32], sb_error *err) SB_WUR;
/* The kind-checked form: kind is "tool", "prompt", "resource", "resource_template" or
 * "instructions"; the definition must have the kind's identifying member(s) (name / uri /
 * uriTemplate, or be a string) so a wrong object is never pinned under a name. */
int sb_gw_pin_digest_kind(const char *kind, const json_t *definition, uint8_t out[32],
                          sb_error *err) SB_WUR;
/* Returns 1 when text has a hidden-instruction pattern (zero-width, bidi or tag characters,
 * "ignore previous instructions"-style phrases, <IMPORTANT>/<system>-style tags, chat
 * template tokens, invalid UTF-8) and writes what and where to finding; 0 otherwise. */
int sb_gw_scan_injection(const char *text, char *finding, size_t finding_len);
/* Scans every string (and member name) of a definition, depth-limited; the finding is
 * prefixed with the JSON path ("inputSchema.properties.x.description: ..."). */
int sb_gw_scan_definition(const json_t *definition, char *finding, size_t finding_len);

/* ==== end policy ========================================================================== */

#endif
