#!/usr/bin/env bash
# test_gateway_daemon: the MCP gateway hosted by sealboxd (--gateway). The real SDK client
# (tests/mcp/client.mjs) launches `sealbox gateway stdio --agent NAME` — the thin client, run as
# an unprivileged user — in front of the npm reference servers and of our hostile test server,
# every server in a sandbox the daemon's monitor created. Pins, approvals and rate-limit state
# live in the daemon: they survive client restarts (and pins and approvals a daemon restart);
# tokens are checked; the servers end with their sessions; the audit chain holds the records.
set -uo pipefail
. "$(dirname "$0")/lib.sh"
BIN=$(cd "$BIN" && pwd)
SEALBOX=$BIN/sealbox
SEALBOXD=$BIN/sealboxd
top=$(cd "$(dirname "$0")/../.." && pwd)
need_jail
need_cmds node jq setpriv
"$top/scripts/npm-peers.sh" tests/mcp || exit 1
[ -x "$BIN/mcp_testserver" ] || { echo "mcp_testserver not built next to $SEALBOX"; exit 1; }
tmp_init gwd
own_cgroup_parent
no_leak_check_under_seccomp
leaks_snapshot
NOBODY=65534
# the client runs as nobody: it must reach the socket (the state directory is 0711), the
# binaries and the node modules, nothing else
chmod 711 "$T"
setpriv --reuid=$NOBODY --regid=$NOBODY --clear-groups -- "$SEALBOX" --help >/dev/null 2>&1 ||
  skip "user $NOBODY cannot run $SEALBOX (the build directory is not readable by others)"
GSOCK=$D/gateway.sock
NM=$top/tests/mcp/node_modules

run_client() { # scenario [as-uid]
  (cd "$top/tests/mcp" && SB_GW_DAEMON_SOCKET=$GSOCK SB_GW_CLIENT_UID=${2:-$NOBODY} \
    node client.mjs "$1" "$SEALBOX" "$T/unused.json" "$D") >"$T/out" 2>"$T/err"
  local rc=$?
  cat "$T/out"
  if [ $rc != 0 ]; then fail "client scenario $1 (exit $rc)"; tail -20 "$T/err" | sed 's/^/    /'; fi
}
read -r TOKEN HASH < <("$SEALBOX" gateway token | awk '/^token:/ {t=$2} /^config:/ {gsub(/"/, "", $2); h=$2} END {print t, h}')
read -r TOKEN2 HASH2 < <("$SEALBOX" gateway token | awk '/^token:/ {t=$2} /^config:/ {gsub(/"/, "", $2); h=$2} END {print t, h}')
export SEALBOX_GATEWAY_TOKEN=$TOKEN

mkdir -p "$T/data" "$T/flag" "$T/mem" "$T/bin"
chmod 755 "$T/data" "$T/bin"
cp "$BIN/mcp_testserver" "$T/bin/"
echo "hello from the host" >"$T/data/hello.txt"
POLICY='"test-agent": {"servers": {"allow": ["*"]},
  "tools": {"allow": ["*"], "deny": ["everything.get-tiny-image"],
    "everything.echo": {"arguments": {"type": "object", "properties": {"message": {"type": "string", "maxLength": 64}}}},
    "t.add": {"approval": true}, "e.add": {"rate": {"per_hour": 1, "burst": 2}},
    "everything.get-sum": {"approval": true}},
  "resources": {"allow": ["*"], "deny": ["e.secret://*"]}, "prompts": {"allow": ["*"]}},
  "other": {"servers": {"allow": ["*"]}, "tools": {"allow": ["*"]}}'
TOKENS="\"http\": {\"tokens\": {\"test-agent\": \"$HASH\", \"other\": \"$HASH2\"}}"
cat >"$T/real.json" <<JSON
{$TOKENS, "agents": {$POLICY},
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
cat >"$T/hostile.json" <<JSON
{$TOKENS, "agents": {$POLICY},
"servers": {
  "t": {"command": "/opt/mcp/mcp_testserver", "env": {"EXTRA_TOOLS": "120", "RUG_FLAG": "/flag/rug", "SUBSCRIBE": "refuse"},
    "mounts": [{"src": "$T/bin", "dst": "/opt/mcp"}, {"src": "$T/flag", "dst": "/flag"}],
    "timeout_ms": 1500, "max_message_bytes": "1M"},
  "e": {"command": "/opt/mcp/mcp_testserver", "env": {"EXTRA_TOOLS": "120", "SUBSCRIBE": "accept"},
    "mounts": [{"src": "$T/bin", "dst": "/opt/mcp"}], "pin": "tofu"},
  "u": {"command": "/opt/mcp/mcp_testserver", "mounts": [{"src": "$T/bin", "dst": "/opt/mcp"}]}
}}
JSON

# ---- a configuration the daemon refuses names the field ------------------------------------------
echo '{"agents": {"a": {}}, "servers": {}, "http": {"tokens": {"ghost": "sha256:00"}}}' >"$T/bad.json"
"$SEALBOXD" --state-dir "$D" --gateway "$T/bad.json" >/dev/null 2>"$T/bad.err"
[ $? = 1 ] && grep -q "http.tokens.ghost: no such agent" "$T/bad.err" && pass "a bad gateway config is refused, naming the field" ||
  fail "bad config: $(cat "$T/bad.err")"

# ---- the reference servers, through the daemon, for an unprivileged client -----------------------
start_or_die --gateway "$T/real.json"
[ "$(stat -c %a "$GSOCK")" = 666 ] && pass "the gateway socket is open to every user (tokens authorize)" || fail "socket mode $(stat -c %a "$GSOCK")"
run_client real
[ -n "${SB_GW_ONLY_REAL:-}" ] && { cat "$D/log"; exit 1; }
grep -q "agent test-agent connected (uid $NOBODY" "$D/log" && pass "the session ran for uid $NOBODY" || fail "no session of uid $NOBODY in the log"
grep -q "sealboxd: gateway: server everything launched" "$D/log" && pass "the monitor launched the servers" || fail "no launch in the log"
# every server sandbox ends with its session
for i in $(seq 100); do [ "$(inits)" = "$SB_INITS0" ] && break; sleep 0.1; done
check "the servers ended with the session" "$(inits)" "$SB_INITS0"

# ---- Streamable HTTP at /mcp on the daemon's own socket -------------------------------------------
mcp() { curl -s --unix-socket "$SOCK" -D "$T/h" -o "$T/b" -w '%{http_code}' http://sb/mcp -H 'Content-Type: application/json' \
  -H 'Accept: application/json, text/event-stream' "$@"; }
INIT='{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"curl","version":"1"}}}'
check "/mcp without a token is 401" "$(mcp -d "$INIT")" 401
check "/mcp with an API-style key is 401" "$(mcp -H 'Authorization: Bearer sbk_0123456789ab_x' -d "$INIT")" 401
check "/mcp initialize with the agent's token" "$(mcp -H "Authorization: Bearer $TOKEN" -d "$INIT")" 200
SID=$(awk 'tolower($1) == "mcp-session-id:" {print $2}' "$T/h" | tr -d '\r')
H=(-H "Authorization: Bearer $TOKEN" -H "Mcp-Session-Id: $SID" -H 'MCP-Protocol-Version: 2025-11-25')
check "notifications/initialized is 202" "$(mcp "${H[@]}" -d '{"jsonrpc":"2.0","method":"notifications/initialized"}')" 202
mcp "${H[@]}" -d '{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"everything__echo","arguments":{"message":"over the daemon"}}}' >/dev/null
check "tools/call over the daemon's HTTP" "$(jq -r '.result.content[0].text' "$T/b")" "Echo: over the daemon"
check "another agent's token does not reach the session" "$(mcp -H "Authorization: Bearer $TOKEN2" -H "Mcp-Session-Id: $SID" \
  -H 'MCP-Protocol-Version: 2025-11-25' -d '{"jsonrpc":"2.0","id":3,"method":"tools/list"}')" 404
check "DELETE ends the session" "$(mcp "${H[@]}" -X DELETE)" 200
check "... then it is 404" "$(mcp "${H[@]}" -d '{"jsonrpc":"2.0","id":4,"method":"ping"}')" 404
check "the API beside it still answers" "$(curl -s --unix-socket "$SOCK" -o /dev/null -w '%{http_code}' http://sb/v1/health)" 200

# ---- tokens --------------------------------------------------------------------------------------
hello() { printf '%s\n' "$1" | timeout 10 python3 -c 'import socket,sys; s=socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); s.sendall(sys.stdin.buffer.read()); print(s.recv(4096).decode().strip())' "$GSOCK"; }
out=$(SEALBOX_GATEWAY_TOKEN=sbgw_wrong "$SEALBOX" gateway stdio --agent test-agent --socket "$GSOCK" </dev/null 2>&1)
[ $? = 1 ] && grep -q "not the token of this agent" <<<"$out" && pass "a wrong token is refused" || fail "wrong token: $out"
out=$(SEALBOX_GATEWAY_TOKEN=$TOKEN2 "$SEALBOX" gateway stdio --agent test-agent --socket "$GSOCK" </dev/null 2>&1)
[ $? = 1 ] && grep -q "not the token of this agent" <<<"$out" && pass "another agent's token is refused" || fail "other token: $out"
out=$(env -u SEALBOX_GATEWAY_TOKEN "$SEALBOX" gateway stdio --agent test-agent --socket "$GSOCK" </dev/null 2>&1)
[ $? = 1 ] && grep -q "SEALBOX_GATEWAY_TOKEN" <<<"$out" && pass "no token: the client says where it comes from" || fail "no token: $out"
printf '%s\n' "$TOKEN" >"$T/tokfile" && chmod 600 "$T/tokfile"
out=$(printf '%s\n' '{"jsonrpc":"2.0","id":1,"method":"ping"}' |
  env -u SEALBOX_GATEWAY_TOKEN "$SEALBOX" gateway stdio --agent test-agent --socket "$GSOCK" --token-file "$T/tokfile" 2>&1)
check "--token-file authenticates; ping before initialize is answered" "$(jq -c '.result' <<<"$out")" "{}"
contains "a malformed hello is refused with the field" "$(hello '{"sealbox_gateway":1,"agent":"test-agent"}')" "hello.token: missing"
contains "a hello that is not JSON is refused" "$(hello 'GET / HTTP/1.1')" "hello: not JSON"
contains "an unknown hello member is refused" "$(hello "{\"sealbox_gateway\":1,\"agent\":\"test-agent\",\"token\":\"$TOKEN\",\"x\":1}")" "hello.x: unknown member"
# malformed JSON-RPC after the hello is answered, and the front survives it
printf '%s\n' 'garbage' '[1,2]' '{"jsonrpc":"2.0","id":7,"method":"tools/list"}' '{"jsonrpc":"2.0","id":8,"method":"ping"}' |
  "$SEALBOX" gateway stdio --agent test-agent --socket "$GSOCK" >"$T/raw" 2>"$T/err"
codes=$(jq -c '[.id, (.error.code // "ok")]' "$T/raw" | tr '\n' ' ')
check "malformed agent input answered with JSON-RPC errors" "$codes" '[null,-32700] [null,-32600] [7,-32600] [8,"ok"] '
check "the front was never restarted" "$(grep -c 'front .* started' "$D/log")" 1
stop_clean "real"

# ---- the SDK's StreamableHTTPClientTransport against sealboxd on loopback TCP ----------------------
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"$SEALBOXD" --state-dir "$D" --log-file "$D/log" --listen "tcp:127.0.0.1:$PORT" --insecure-loopback-tcp \
  --gateway "$T/real.json" 2>>"$T/stderr" &
PID=$!
for i in $(seq 100); do curl -sf "http://127.0.0.1:$PORT/v1/health" >/dev/null && break; sleep 0.1; done
(cd "$top/tests/mcp" && SCENARIOS=sdk node http_client.mjs "http://127.0.0.1:$PORT/mcp" "$TOKEN" "$TOKEN2" "$SEALBOX" "$D") \
  >"$T/out" 2>"$T/err" || { fail "http_client sdk scenario"; tail -20 "$T/err" | sed 's/^/    /'; }
cat "$T/out"
check "a Host that is not loopback is refused on a loopback listener" "$(curl -s -o /dev/null -w '%{http_code}' \
  -H 'Host: evil.example:80' -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' \
  -H 'Accept: application/json' -d "$INIT" "http://127.0.0.1:$PORT/mcp")" 403
stop
check "the TCP daemon stops cleanly" "$?" 0

# ---- hostile servers, pins, approvals and rate limits across client and daemon restarts ----------
out=$("$SEALBOX" gateway pin --config "$T/hostile.json" --server t --state-dir "$D" 2>"$T/err")
check "gateway pin approves the test server's definitions" "$out" "approved 131 new definitions"
start_or_die --gateway "$T/hostile.json"
run_client hostile
run_client rate1
run_client rate2
touch "$T/flag/rug" # the rug pull: t's echo changes its description
run_client rugged
call=$(awk '/^PENDING_CALL/ {print $2}' "$T/out")
stop_clean "hostile"
start_or_die --gateway "$T/hostile.json" # pins and approvals are in the daemon's store
[ -n "$call" ] && "$SEALBOX" gateway approve "$call" --state-dir "$D" >/dev/null && pass "the pending call is approved out of band" ||
  fail "no pending call to approve"
pending=$("$SEALBOX" gateway pins --pending --state-dir "$D" | awk '$3 == "t" && $5 == "echo" {print $1}')
[ -n "$pending" ] && "$SEALBOX" gateway approve "$pending" --state-dir "$D" >/dev/null && pass "the changed definition is re-approved" ||
  fail "no pending row for t/echo"
run_client reapproved
sanitizer_clean "daemon" "$T/stderr"
stop_clean "reapproved"

# ---- the audit chain holds the gateway's records ---------------------------------------------------
"$SEALBOX" audit verify --state-dir "$D" >"$T/av" 2>&1 && grep -q "intact" "$T/av" && pass "the audit log verifies" || fail "audit verify: $(cat "$T/av")"
"$SEALBOX" audit export --jsonl --state-dir "$D" >"$T/audit.jsonl" 2>"$T/err" || fail "audit export: $(cat "$T/err")"
count() { jq -c "select(.record.source == \"gateway\" and $1)" "$T/audit.jsonl" | wc -l; }
[ "$(count ".record.transport == \"daemon-stdio\" and .record.peer_uid == $NOBODY and .record.method == \"initialize\"")" -ge 6 ] &&
  pass "sessions are audited with the client's uid" || fail "initialize records: $(count '.record.method == "initialize"')"
[ "$(count '.record.server == "everything" and .record.name == "echo" and .record.decision == "allow"')" -ge 25 ] &&
  pass "calls through the daemon are audited" || fail "echo records: $(count '.record.name == "echo"')"
[ "$(count '.record.transport == "http" and .record.method == "tools/call"')" -ge 16 ] && pass "HTTP sessions on the daemon are audited" ||
  fail "http records: $(count '.record.transport == "http"')"
[ "$(count '.record.method == "(hello)" and .record.decision == "deny"')" -ge 3 ] && pass "refused hellos are audited" ||
  fail "hello refusals: $(count '.record.method == "(hello)"')"
! grep -q "$TOKEN\|granted-1" "$T/audit.jsonl" && pass "no token or secret in the audit log" || fail "token or secret in the audit log"
check_no_leaks "after the daemon"
finish test_gateway_daemon
