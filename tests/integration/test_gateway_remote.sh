#!/usr/bin/env bash
# test_gateway_remote: remote Streamable HTTP servers behind `sealbox gateway http` — server-
# everything in its own streamableHttp mode, a second `sealbox gateway http` (its bearer token
# read from a file) and tests/mcp/headers_server.mjs (which shows the headers that reach it),
# plus one that is unreachable and one that refuses the gateway's credentials. The SDK client
# (tests/mcp/remote_client.mjs) checks tools, progress, resources, prompts, subscriptions, the
# policy, that the agent's token is never passed on, DELETE of remote sessions, an expired one.
# Everything runs in a private network namespace: server-everything listens on every interface.
set -uo pipefail
if [ -z "${SB_IN_NETNS:-}" ]; then
  [ "$(id -u)" = 0 ] || { echo "skipped: a private network namespace needs root"; [ "${CI:-}" = true ] && exit 1; exit 77; }
  exec unshare -n env SB_IN_NETNS=1 bash "$0" "$@"
fi
. "$(dirname "$0")/lib.sh"
BIN=$(cd "$BIN" && pwd)
top=$(cd "$(dirname "$0")/../.." && pwd)
need_cmds node jq ip
ip link set lo up
MCP=$top/tests/mcp
"$top/scripts/npm-peers.sh" tests/mcp || exit 1
[ -x "$BIN/mcp_testserver" ] || { echo "mcp_testserver not built next to $SEALBOX"; exit 1; }
tmp_init gwr
export ASAN_OPTIONS="${ASAN_OPTIONS:-}:detect_leaks=1"
PIDS=()
at_exit 'for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done'
EV=$MCP/node_modules/@modelcontextprotocol/server-everything/dist/index.js
token() { # VAR_TOKEN VAR_HASH
  local out
  out=$("$SEALBOX" gateway token)
  printf -v "$1" '%s' "$(echo "$out" | awk '$1 == "token:" {print $2}')"
  printf -v "$2" '%s' "$(echo "$out" | awk '$1 == "config:" {print $2}' | tr -d '"')"
}
listening() { # FILE: the port a `sealbox gateway http` printed
  local i
  for i in $(seq 1 100); do grep -q "^listening on" "$1" && break; sleep 0.1; done
  sed -n 's|^listening on http://127.0.0.1:\([0-9]*\)/mcp|\1|p' "$1"
}

# the remotes
(cd "$T" && PORT=3901 exec node "$EV" streamableHttp >"$T/ev.log" 2>&1) &
PIDS+=($!)
(cd "$MCP" && exec node headers_server.mjs >"$T/hdr.out" 2>&1) &
PIDS+=($!)
token TB HB
cat >"$T/b.json" <<JSON
{"http": {"tokens": {"upstream": "$HB"}},
 "agents": {"upstream": {"servers": {"allow": ["*"]}, "tools": {"allow": ["*"]}}},
 "servers": {"t": {"command": "$BIN/mcp_testserver", "sandbox": "none", "pin": "tofu", "stderr": "discard"}}}
JSON
"$SEALBOX" gateway http --config "$T/b.json" --listen 127.0.0.1:0 --state-dir "$T/stateB" >"$T/b.out" 2>"$T/b.err" &
PIDS+=($!)
PB=$(listening "$T/b.out")
for _ in $(seq 1 100); do grep -q "^listening" "$T/hdr.out" && break; sleep 0.1; done
PH=$(awk '/^listening/ {print $2}' "$T/hdr.out")
for _ in $(seq 1 100); do node -e "fetch('http://127.0.0.1:3901/mcp').then(()=>process.exit(0),()=>process.exit(1))" && break; sleep 0.2; done
[ -n "$PB" ] && [ -n "$PH" ] || { echo "FAIL   the remotes did not start: $(cat "$T/b.err" "$T/hdr.out")"; exit 1; }
printf 'Bearer %s\n' "$TB" >"$T/b.token"
chmod 600 "$T/b.token"

# the gateway under test
token TA HA
cat >"$T/a.json" <<JSON
{"http": {"tokens": {"agent": "$HA"}},
 "agents": {"agent": {"servers": {"allow": ["*"]}, "tools": {"allow": ["*"], "deny": ["ev.get-tiny-image"]},
   "resources": {"allow": ["*"]}, "prompts": {"allow": ["*"]}}},
 "servers": {
  "ev": {"url": "http://127.0.0.1:3901/mcp", "pin": "tofu"},
  "gw": {"url": "http://127.0.0.1:$PB/mcp", "headers": {"Authorization": {"file": "$T/b.token"}}, "pin": "tofu"},
  "hdr": {"url": "http://localhost:$PH/mcp", "headers": {"X-Api-Key": "remote-secret-123"}, "pin": "tofu"},
  "down": {"url": "http://127.0.0.1:9/mcp", "pin": "tofu", "timeout_ms": 3000},
  "badauth": {"url": "http://127.0.0.1:$PB/mcp", "headers": {"Authorization": "Bearer sbgw_wrong"}, "pin": "tofu"}}}
JSON
"$SEALBOX" gateway http --config "$T/a.json" --listen 127.0.0.1:0 --state-dir "$T/stateA" >"$T/a.out" 2>"$T/a.err" &
GA=$!
PA=$(listening "$T/a.out")
[ -n "$PA" ] || { echo "FAIL   the gateway did not start: $(cat "$T/a.err")"; exit 1; }
(cd "$MCP" && timeout 300 node remote_client.mjs "http://127.0.0.1:$PA/mcp" "$TA") >"$T/client.out" 2>"$T/client.err"
rc=$?
cat "$T/client.out"
[ $rc = 0 ] || { fail "remote_client.mjs (exit $rc)"; tail -20 "$T/client.err" | sed 's/^/    /'; }
kill -TERM "$GA"; wait "$GA"; rc=$?
check "the gateway stops cleanly" "$rc" 0
sanitizer_clean "the gateway" "$T/a.err"
contains "an unreachable remote is reported" "$(cat "$T/a.err")" "server down: initialize failed: remote server down: Couldn't connect"
contains "a remote that refuses the credentials is reported" "$(cat "$T/a.err")" "server badauth: initialize failed: remote server badauth: HTTP 401"
lacks "the agent's token is in no log" "$(cat "$T/a.err" "$T/b.err" "$T/hdr.out" "$T/ev.log")" "$TA"

# pins and audit records name the remote servers like any other
pins=$("$SEALBOX" gateway pins --state-dir "$T/stateA")
contains "remote tools are pinned" "$pins" " ev .*tool .*echo"
"$SEALBOX" audit verify --state-dir "$T/stateA" >"$T/av" 2>&1
contains "the audit log verifies" "$(cat "$T/av")" "intact"
"$SEALBOX" audit export --jsonl --state-dir "$T/stateA" >"$T/audit.jsonl" 2>"$T/err" || fail "audit export: $(cat "$T/err")"
n=$(jq -c 'select(.record.server == "ev" and .record.method == "tools/call" and .record.outcome == "result")' "$T/audit.jsonl" | wc -l)
[ "$n" -ge 13 ] && pass "calls to a remote are audited ($n records)" || fail "calls to ev audited: $n"

# configuration refusals
bad_url() { # URL WHY
  jq --arg u "$1" '.servers.ev.url = $u' "$T/a.json" >"$T/bad.json"
  "$SEALBOX" gateway http --config "$T/bad.json" --listen 127.0.0.1:0 --state-dir "$T/stateA" >/dev/null 2>"$T/err"
  contains "url $1 is refused" "$(cat "$T/err")" "$2"
}
bad_url "http://example.com/mcp" "http is allowed only to a loopback host"
bad_url "https://user:pw@example.com/mcp" "credentials in the URL are refused"
bad_url "ftp://127.0.0.1/mcp" "is not https"
bad_url "https://example.com/mcp#x" "a fragment"
jq '.servers.ev.command = "node"' "$T/a.json" >"$T/bad.json"
"$SEALBOX" gateway http --config "$T/bad.json" --listen 127.0.0.1:0 --state-dir "$T/stateA" >/dev/null 2>"$T/err"
contains "a remote server with a command is refused" "$(cat "$T/err")" 'servers.ev.command: not with "url"'
jq '.servers.hdr.headers["Mcp-Session-Id"] = "x"' "$T/a.json" >"$T/bad.json"
"$SEALBOX" gateway http --config "$T/bad.json" --listen 127.0.0.1:0 --state-dir "$T/stateA" >/dev/null 2>"$T/err"
contains "a header the bridge sets itself is refused" "$(cat "$T/err")" "Mcp-Session-Id is set by the gateway itself"
finish test_gateway_remote
