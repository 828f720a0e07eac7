#!/usr/bin/env bash
# test_gateway_mcp: `sealbox gateway stdio` driven by a real MCP client (@modelcontextprotocol/sdk,
# tests/mcp/client.mjs) in front of the reference servers from npm and of hostile servers of our
# own (tests/mcp/mcp_testserver.c), every server inside its own sealbox sandbox. Covers
# namespacing, merged lists and pagination, env isolation, concurrency, progress, oversized /
# malformed / hanging / flooding / dying servers, and the pinning workflow (rug pull, approve).
set -uo pipefail
. "$(dirname "$0")/lib.sh"
BIN=$(cd "$BIN" && pwd)
top=$(cd "$(dirname "$0")/../.." && pwd)
need_root "sandboxes need root"
command -v node >/dev/null || { echo "node missing (scripts/deps.sh)"; exit 1; }
"$top/scripts/npm-peers.sh" tests/mcp || exit 1
[ -x "$BIN/mcp_testserver" ] || { echo "mcp_testserver not built next to $SEALBOX"; exit 1; }
tmp_init gw
own_cgroup_parent
export ASAN_OPTIONS="${ASAN_OPTIONS:-}:detect_leaks=1"
run_client() { # scenario config
  (cd "$top/tests/mcp" && node client.mjs "$1" "$SEALBOX" "$2" "$T/state") >"$T/out" 2>"$T/err"
  local rc=$?
  cat "$T/out"
  if [ $rc != 0 ]; then fail "client scenario $1 (exit $rc)"; tail -20 "$T/err" | sed 's/^/    /'; fi
}

NM=$top/tests/mcp/node_modules
mkdir -p "$T/data" "$T/flag" "$T/mem" "$T/bin"
cp "$BIN/mcp_testserver" "$T/bin/" # the jail mounts directories, not single files
echo "hello from the host" >"$T/data/hello.txt"
cat >"$T/real.json" <<JSON
{"agents": {"test-agent": {"servers": {"allow": ["*"]},
  "tools": {"allow": ["*"], "deny": ["everything.get-tiny-image"],
    "everything.echo": {"arguments": {"type": "object", "properties": {"message": {"type": "string", "maxLength": 64}}}},
    "t.add": {"approval": true}},
  "resources": {"allow": ["*"]}, "prompts": {"allow": ["*"]}}},
"servers": {
  "everything": {"command": "node", "args": ["/mcp/node_modules/@modelcontextprotocol/server-everything/dist/index.js", "stdio"],
    "env": {"GRANTED_TOKEN": "granted-1"}, "mounts": [{"src": "$NM", "dst": "/mcp/node_modules"}], "pin": "tofu", "stderr": "discard"},
  "fs": {"command": "node", "args": ["/mcp/node_modules/@modelcontextprotocol/server-filesystem/dist/index.js", "/data"],
    "mounts": [{"src": "$NM", "dst": "/mcp/node_modules"}, {"src": "$T/data", "dst": "/data"}], "pin": "tofu", "stderr": "discard"},
  "memory": {"command": "node", "args": ["/mcp/node_modules/@modelcontextprotocol/server-memory/dist/index.js"],
    "env": {"MEMORY_FILE_PATH": "/mem/memory.jsonl"},
    "mounts": [{"src": "$NM", "dst": "/mcp/node_modules"}, {"src": "$T/mem", "dst": "/mem", "writable": true}], "pin": "tofu", "stderr": "discard"}
}}
JSON
run_client real "$T/real.json"

cat >"$T/hostile.json" <<JSON
{"agents": {"test-agent": {"servers": {"allow": ["*"]},
  "tools": {"allow": ["*"], "deny": ["everything.get-tiny-image"],
    "everything.echo": {"arguments": {"type": "object", "properties": {"message": {"type": "string", "maxLength": 64}}}},
    "t.add": {"approval": true}},
  "resources": {"allow": ["*"]}, "prompts": {"allow": ["*"]}}},
"servers": {
  "t": {"command": "/opt/mcp/mcp_testserver", "env": {"EXTRA_TOOLS": "120", "RUG_FLAG": "/flag/rug"},
    "mounts": [{"src": "$T/bin", "dst": "/opt/mcp"}, {"src": "$T/flag", "dst": "/flag"}],
    "timeout_ms": 1500, "max_message_bytes": "1M"},
  "e": {"command": "/opt/mcp/mcp_testserver", "env": {"EXTRA_TOOLS": "120"},
    "mounts": [{"src": "$T/bin", "dst": "/opt/mcp"}], "pin": "tofu"},
  "u": {"command": "/opt/mcp/mcp_testserver", "mounts": [{"src": "$T/bin", "dst": "/opt/mcp"}]}
}}
JSON
out=$("$SEALBOX" gateway pin --config "$T/hostile.json" --server t --state-dir "$T/state" 2>"$T/err")
[ "$out" = "approved 131 new definitions" ] && pass "gateway pin approves tools and instructions" || fail "pin: $out"
run_client hostile "$T/hostile.json"

# the rug pull: t's echo changes its description
touch "$T/flag/rug"
run_client rugged "$T/hostile.json"
call=$(awk '/^PENDING_CALL/ {print $2}' "$T/out")
[ -n "$call" ] && "$SEALBOX" gateway approve "$call" --state-dir "$T/state" >/dev/null && pass "the pending call is approved out of band" ||
  fail "no pending call to approve"
pending=$("$SEALBOX" gateway pins --pending --state-dir "$T/state" | awk '$3 == "t" && $5 == "echo" {print $1}')
[ -n "$pending" ] && pass "the changed definition is pending (id $pending)" || fail "no pending row for t/echo"
out=$("$SEALBOX" gateway approve "$pending" --state-dir "$T/state" 2>&1)
echo "$out" | grep -q "approved tool 'echo' of server t" && pass "gateway approve" || fail "approve: $out"
run_client reapproved "$T/hostile.json"
"$SEALBOX" gateway approve 999999 --state-dir "$T/state" >/dev/null 2>"$T/err"
[ $? = 1 ] && grep -q "no pinned definition 999999" "$T/err" && pass "approve of an unknown id fails" || fail "approve unknown: $(cat "$T/err")"

# the audit log: one record per exchange, chained and signed
"$SEALBOX" audit verify --state-dir "$T/state" >"$T/av" 2>&1 && grep -q "intact" "$T/av" &&
  pass "the audit log verifies" || fail "audit verify: $(cat "$T/av")"
"$SEALBOX" audit export --jsonl --state-dir "$T/state" >"$T/audit.jsonl" 2>"$T/err" || fail "audit export: $(cat "$T/err")"
count() { jq -c "select(.record.type == \"mcp\" and $1)" "$T/audit.jsonl" | wc -l; }
[ "$(count '.record.method == "initialize"')" -ge 4 ] && pass "sessions are audited" || fail "initialize records: $(count '.record.method == "initialize"')"
[ "$(count '.record.server == "everything" and .record.name == "echo" and .record.outcome == "result" and .record.decision == "allow" and (.record.args_digest | startswith("sha256:")) and .record.latency_us >= 0')" -ge 25 ] &&
  pass "calls are audited with argument digests and latency" || fail "echo records: $(count '.record.name == "echo"')"
[ "$(count '.record.method == "tools/list" and .record.outcome == "result" and (.record.reason | test("^[0-9]+ of [0-9]+ visible tools from offset [0-9]+$")) and .record.latency_us >= 0')" -ge 4 ] &&
  pass "list answers are audited with what the agent was shown" || fail "tools/list records: $(count '.record.method == "tools/list"')"
for o in timeout oversize malformed server-gone; do
  [ "$(count ".record.server == \"t\" and .record.outcome == \"$o\"")" -ge 1 ] && pass "outcome $o is audited" || fail "no $o record"
done
[ "$(count '.record.decision == "deny" and .record.reason == "definition changed since approval"')" -ge 1 ] &&
  pass "refusals are audited with the rule" || fail "no pin refusal record"
! grep -q "host-secret-123\|granted-1" "$T/audit.jsonl" && pass "no argument or secret values in the audit log" ||
  fail "secret in the audit log"

# malformed agent input never crashes the gateway and is answered
printf '%s\n' 'garbage' '[1,2]' '{"jsonrpc":"2.0","id":null,"method":"ping"}' '{"jsonrpc":"2.0","id":7,"method":"tools/list"}' \
  '{"jsonrpc":"2.0","id":8,"method":"ping"}' |
  "$SEALBOX" gateway stdio --config "$T/hostile.json" --agent test-agent --state-dir "$T/state" >"$T/raw" 2>"$T/err"
rc=$?
codes=$(jq -c '[.id, (.error.code // "ok")]' "$T/raw" | tr '\n' ' ')
[ $rc = 0 ] && [ "$codes" = '[null,-32700] [null,-32600] [null,-32600] [7,-32600] [8,"ok"] ' ] &&
  pass "malformed input answered with JSON-RPC errors" || fail "raw session (exit $rc): $codes"
"$SEALBOX" gateway stdio --config "$T/hostile.json" --agent nobody --state-dir "$T/state" </dev/null >/dev/null 2>"$T/err"
[ $? = 1 ] && grep -q "agents.nobody: no such agent" "$T/err" && pass "an agent the policy does not name is refused" || fail "unknown agent: $(cat "$T/err")"
"$SEALBOX" gateway stdio --config /nonexistent.json --agent a --state-dir "$T/state" </dev/null >/dev/null 2>"$T/err"
[ $? = 1 ] && grep -q "nonexistent.json" "$T/err" && pass "a missing config is named" || fail "missing config: $(cat "$T/err")"

# nothing is left behind: no sandbox directories, no cgroups
left=$(find "$T/state/sandboxes" -mindepth 1 -maxdepth 1 2>/dev/null | wc -l)
[ "$left" = 0 ] && pass "every server sandbox was removed" || fail "$left sandbox directories left"
left=$(cg_count)
[ "$left" = 0 ] && pass "no cgroups left" || fail "$left cgroups left"
finish test_gateway_mcp
