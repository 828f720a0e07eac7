#!/usr/bin/env bash
# test_gateway_relay: requests that servers send toward the agent (sampling/createMessage,
# elicitation/create, roots/list) relayed by the gateway — through `sealbox gateway stdio` and
# `sealbox gateway http` — to a real SDK client with handlers for all three
# (tests/mcp/relay_client.mjs): server-everything's tools that trigger them, two servers answered
# out of order, the per-agent policy (denied, allowed for other servers only), an agent that did
# not declare the capability, and a hostile server (a flood of requests, a reused id, another
# method, a cancellation, a timeout, answers for ids never sent); then the audit records.
set -uo pipefail
. "$(dirname "$0")/lib.sh"
BIN=$(cd "$BIN" && pwd)
top=$(cd "$(dirname "$0")/../.." && pwd)
need_root "sandboxes need root"
need_cmds node jq curl
"$top/scripts/npm-peers.sh" tests/mcp || exit 1
[ -x "$BIN/mcp_testserver" ] || { echo "mcp_testserver not built next to $SEALBOX"; exit 1; }
tmp_init gwrelay
own_cgroup_parent
export ASAN_OPTIONS="${ASAN_OPTIONS:-}:detect_leaks=1"
GW=
at_exit '[ -n "$GW" ] && kill "$GW" 2>/dev/null'

NM=$top/tests/mcp/node_modules
mkdir -p "$T/bin"
cp "$BIN/mcp_testserver" "$T/bin/" # the jail mounts directories, not single files
out=$("$SEALBOX" gateway token)
TOKEN=$(echo "$out" | awk '$1 == "token:" {print $2}')
HASH=$(echo "$out" | awk '$1 == "config:" {print $2}' | tr -d '"')
EV='"command": "node", "args": ["/mcp/node_modules/@modelcontextprotocol/server-everything/dist/index.js", "stdio"], "mounts": [{"src": "'$NM'", "dst": "/mcp/node_modules"}], "pin": "tofu", "stderr": "discard"'
cat >"$T/gw.json" <<JSON
{"http": {"tokens": {"relay": "$HASH"}},
 "agents": {
  "relay": {"servers": {"allow": ["*"]}, "tools": {"allow": ["*"]},
    "sampling": "allow", "elicitation": ["e1", "e2", "t"], "roots": "allow",
    "limits": {"server_request_timeout_ms": 3000}},
  "denied": {"servers": {"allow": ["*"]}, "tools": {"allow": ["*"]},
    "elicitation": ["e*"], "roots": "deny"}},
 "servers": {
  "e1": {$EV}, "e2": {$EV},
  "t": {"command": "/opt/mcp/mcp_testserver", "env": {"SREQ": "1"}, "mounts": [{"src": "$T/bin", "dst": "/opt/mcp"}],
    "pin": "tofu", "timeout_ms": 20000}
}}
JSON

run_client() { # label scenario transport args...
  local label=$1; shift
  (cd "$top/tests/mcp" && node relay_client.mjs "$@") >"$T/out" 2>"$T/cerr"
  local rc=$?
  cat "$T/out"
  if [ $rc != 0 ]; then fail "client $label (exit $rc)"; tail -20 "$T/cerr" | sed 's/^/    /'; fi
}
stdio() { run_client "$1 over stdio" "$1" stdio "$SEALBOX" "$T/gw.json" "$T/state" "$2"; }

# ---- stdio -------------------------------------------------------------------------------------
stdio everything relay
stdio hostile relay
stdio denied denied
stdio undeclared relay

# an agent's answer for an id the gateway never sent is dropped and counted; the session goes on
printf '%s\n' '{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"raw","version":"1"}}}' \
  '{"jsonrpc":"2.0","method":"notifications/initialized"}' '{"jsonrpc":"2.0","id":77,"result":{}}' \
  '{"jsonrpc":"2.0","id":"x","error":{"code":-1,"message":"no"}}' '{"jsonrpc":"2.0","id":2,"method":"ping"}' |
  "$SEALBOX" gateway stdio --config "$T/gw.json" --agent relay --state-dir "$T/state" --log-level info >"$T/raw" 2>"$T/err"
rc=$?
check "stray answers from the agent get no reply; ping still answered" "$rc $(jq -sc 'sort_by(.id) | map([.id, (.error.code // "ok")])' "$T/raw")" '0 [[1,"ok"],[2,"ok"]]'
contains "... and are counted" "$(cat "$T/err")" "2 answers for no relayed request"

# ---- Streamable HTTP -----------------------------------------------------------------------------
"$SEALBOX" gateway http --config "$T/gw.json" --listen 127.0.0.1:0 --state-dir "$T/state" --log-level info \
  >"$T/gw.out" 2>"$T/gw.err" &
GW=$!
for _ in $(seq 1 100); do grep -q "^listening on" "$T/gw.out" && break; sleep 0.1; done
URL=$(awk '/^listening on/ {print $3}' "$T/gw.out")
[ -n "$URL" ] || fail "gateway http: no listen line: $(cat "$T/gw.err")"
run_client "everything over http" everything http "$URL" "$TOKEN"
run_client "hostile over http" hostile http "$URL" "$TOKEN"
kill -TERM "$GW"
wait "$GW" || fail "gateway http did not stop cleanly: $(tail -5 "$T/gw.err")"
GW=

# ---- the audit records ---------------------------------------------------------------------------
"$SEALBOX" audit verify --state-dir "$T/state" >"$T/av" 2>&1 && grep -q "intact" "$T/av" &&
  pass "the audit log verifies" || fail "audit verify: $(cat "$T/av")"
"$SEALBOX" audit export --jsonl --state-dir "$T/state" >"$T/audit.jsonl" 2>"$T/err" || fail "audit export: $(cat "$T/err")"
count() { jq -c "select(.record.type == \"mcp\" and .record.direction == \"server-to-agent\" and $1)" "$T/audit.jsonl" | wc -l; }
n=$(count '.record.method == "sampling/createMessage" and .record.decision == "allow" and .record.outcome == "result" and (.record.args_digest | startswith("sha256:")) and (.record.response_digest | startswith("sha256:")) and .record.latency_us >= 0')
[ "$n" -ge 20 ] && pass "relayed sampling is audited with request and answer digests ($n records)" || fail "sampling records: $n"
for m in elicitation/create roots/list; do
  n=$(count ".record.method == \"$m\" and .record.outcome == \"result\" and (.record.response_digest | startswith(\"sha256:\"))")
  [ "$n" -ge 2 ] && pass "$m is audited ($n records)" || fail "$m records: $n"
done
n=$(count '.record.decision == "deny" and .record.reason == "agents.denied.sampling: \"deny\" (the default)" and .record.server == "t"')
[ "$n" -ge 1 ] && pass "a policy refusal is audited with the rule" || fail "deny records: $n"
n=$(count '.record.decision == "deny" and (.record.reason | test("did not declare the sampling capability"))')
[ "$n" -ge 1 ] && pass "a capability refusal is audited" || fail "undeclared records: $n"
for o in timeout cancelled; do
  n=$(count ".record.outcome == \"$o\" and .record.server == \"t\"")
  [ "$n" -ge 2 ] && pass "outcome $o of a relayed request is audited (stdio and http)" || fail "$o records: $n"
done
lacks "no prompt text in the audit log" "$(cat "$T/audit.jsonl")" "hello sampling"

left=$(find "$T/state/sandboxes" -mindepth 1 -maxdepth 1 2>/dev/null | wc -l)
check "every server sandbox was removed" "$left" 0
check "no cgroups left" "$(cg_count)" 0
finish test_gateway_relay
