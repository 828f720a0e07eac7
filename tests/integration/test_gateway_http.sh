#!/usr/bin/env bash
# test_gateway_http: `sealbox gateway http` (Streamable HTTP) driven by the official SDK client
# (StreamableHTTPClientTransport, tests/mcp/http_client.mjs) and by raw requests, in front of
# server-everything and server-filesystem from npm, each in its own sealbox sandbox: sessions,
# bearer tokens, Origin/Host, protocol versions, JSON and SSE responses, the GET stream, DELETE,
# and the same policy, approvals and audit as stdio.
set -uo pipefail
SEALBOX=${SEALBOX:?path to the sealbox binary}
top=$(cd "$(dirname "$0")/../.." && pwd)
if [ "$(id -u)" != 0 ]; then
  if [ "${CI:-}" = true ]; then echo "FAIL: needs root under CI"; exit 1; fi
  echo "SKIP: sandboxes need root"; exit 77
fi
command -v node >/dev/null || { echo "node missing (scripts/deps.sh)"; exit 1; }
"$top/scripts/npm-peers.sh" tests/mcp || exit 1
T=$(mktemp -d /tmp/sealbox-gwh.XXXXXX)
export SEALBOX_CGROUP_PARENT=sealbox-gwhttp-$$
cgdirs() { find /sys/fs/cgroup -maxdepth 8 -type d -name "$SEALBOX_CGROUP_PARENT" 2>/dev/null; }
GW=
trap '[ -n "$GW" ] && kill "$GW" 2>/dev/null; cgdirs | xargs -r rmdir 2>/dev/null; rm -rf "$T"' EXIT
export ASAN_OPTIONS="${ASAN_OPTIONS:-}:detect_leaks=1"
fails=0
pass() { echo "ok     $1"; }
bad() { echo "FAIL   $1"; fails=$((fails + 1)); }

NM=$top/tests/mcp/node_modules
mkdir -p "$T/data"
echo "hello from the host" >"$T/data/hello.txt"
out=$("$SEALBOX" gateway token)
TOKEN=$(echo "$out" | awk '$1 == "token:" {print $2}')
HASH=$(echo "$out" | awk '$1 == "config:" {print $2}' | tr -d '"')
echo "$TOKEN" | grep -Eq '^sbgw_[A-Za-z0-9_-]{43}$' && [ "$HASH" = "sha256:$(printf %s "$TOKEN" | sha256sum | cut -d' ' -f1)" ] &&
  pass "gateway token prints a token and its SHA-256" || bad "gateway token: $out"
out=$("$SEALBOX" gateway token)
OTHER=$(echo "$out" | awk '$1 == "token:" {print $2}')
OHASH=$(echo "$out" | awk '$1 == "config:" {print $2}' | tr -d '"')
cat >"$T/gw.json" <<JSON
{"http": {"tokens": {"test-agent": "$HASH", "other-agent": "$OHASH"},
          "allowed_origins": ["http://localhost:6274"], "cors": true, "max_sessions_per_agent": 16},
"agents": {"test-agent": {"servers": {"allow": ["*"]},
  "tools": {"allow": ["*"], "deny": ["everything.get-tiny-image"],
    "everything.echo": {"arguments": {"type": "object", "properties": {"message": {"type": "string", "maxLength": 64}}}},
    "everything.get-sum": {"approval": true}},
  "resources": {"allow": ["*"]}, "prompts": {"allow": ["*"]}},
  "other-agent": {"servers": {"allow": ["*"]}, "tools": {"allow": ["*"]}}},
"servers": {
  "everything": {"command": "node", "args": ["/mcp/node_modules/@modelcontextprotocol/server-everything/dist/index.js", "stdio"],
    "mounts": [{"src": "$NM", "dst": "/mcp/node_modules"}], "pin": "tofu", "stderr": "discard"},
  "fs": {"command": "node", "args": ["/mcp/node_modules/@modelcontextprotocol/server-filesystem/dist/index.js", "/data"],
    "mounts": [{"src": "$NM", "dst": "/mcp/node_modules"}, {"src": "$T/data", "dst": "/data"}], "pin": "tofu", "stderr": "discard"}
}}
JSON

# refusals at start: a config without tokens, an agent the policy lacks, a remote bind
jq 'del(.http)' "$T/gw.json" >"$T/notok.json"
"$SEALBOX" gateway http --config "$T/notok.json" --listen 127.0.0.1:0 --state-dir "$T/state" >/dev/null 2>"$T/err"
[ $? = 1 ] && grep -q "http: missing" "$T/err" && pass "a config without http tokens is refused" || bad "no http: $(cat "$T/err")"
jq '.http.tokens.ghost = .http.tokens["test-agent"]' "$T/gw.json" >"$T/ghost.json"
"$SEALBOX" gateway http --config "$T/ghost.json" --listen 127.0.0.1:0 --state-dir "$T/state" >/dev/null 2>"$T/err"
[ $? = 1 ] && grep -q "http.tokens.ghost: no such agent" "$T/err" && pass "a token for an unknown agent is refused" || bad "ghost: $(cat "$T/err")"
jq '.http.tokens["test-agent"] = "sha256:zz"' "$T/gw.json" >"$T/badhash.json"
"$SEALBOX" gateway http --config "$T/badhash.json" --listen 127.0.0.1:0 --state-dir "$T/state" >/dev/null 2>"$T/err"
[ $? = 1 ] && grep -q "http.tokens.test-agent: must be" "$T/err" && pass "a malformed token hash is refused, naming the field" || bad "badhash: $(cat "$T/err")"
jq '.http.cors = true | del(.http.allowed_origins)' "$T/gw.json" >"$T/cors1.json"
"$SEALBOX" gateway http --config "$T/cors1.json" --listen 127.0.0.1:0 --state-dir "$T/state" >/dev/null 2>"$T/err"
[ $? = 1 ] && grep -q "http.cors: true needs http.allowed_origins" "$T/err" && pass "CORS without allowed origins is refused" || bad "cors1: $(cat "$T/err")"
jq '.http.cors = "yes"' "$T/gw.json" >"$T/cors2.json"
"$SEALBOX" gateway http --config "$T/cors2.json" --listen 127.0.0.1:0 --state-dir "$T/state" >/dev/null 2>"$T/err"
[ $? = 1 ] && grep -q "http.cors: must be true or false" "$T/err" && pass "a malformed cors is refused" || bad "cors2: $(cat "$T/err")"
"$SEALBOX" gateway http --config "$T/gw.json" --listen 0.0.0.0:0 --state-dir "$T/state" >/dev/null 2>"$T/err"
[ $? = 1 ] && grep -q "not a loopback address.*--allow-remote" "$T/err" && pass "a non-loopback bind needs --allow-remote" || bad "remote: $(cat "$T/err")"
"$SEALBOX" gateway http --config "$T/gw.json" --listen 0.0.0.0:0 --allow-remote --state-dir "$T/state" >/dev/null 2>"$T/err"
[ $? = 1 ] && grep -q "needs --tls-cert and --tls-key" "$T/err" && pass "... and TLS" || bad "remote tls: $(cat "$T/err")"

"$SEALBOX" gateway http --config "$T/gw.json" --listen 127.0.0.1:0 --state-dir "$T/state" --log-level info \
  >"$T/gw.out" 2>"$T/gw.err" &
GW=$!
for _ in $(seq 1 100); do grep -q "^listening on" "$T/gw.out" && break; sleep 0.1; done
URL=$(awk '/^listening on/ {print $3}' "$T/gw.out")
echo "$URL" | grep -Eq '^http://127\.0\.0\.1:[0-9]+/mcp$' && pass "listening on loopback ($URL)" || bad "no listen line: $(cat "$T/gw.out" "$T/gw.err")"

(cd "$top/tests/mcp" && SCENARIOS=sdk,raw,resume,cors node http_client.mjs "$URL" "$TOKEN" "$OTHER" "$SEALBOX" "$T/state") >"$T/out" 2>"$T/cerr"
rc=$?
cat "$T/out"
[ $rc = 0 ] || { bad "http client (exit $rc)"; tail -20 "$T/cerr" | sed 's/^/    /'; }

kill -TERM "$GW"
wait "$GW"
rc=$?
GW=
[ $rc = 0 ] && pass "SIGTERM stops the gateway cleanly" || { bad "gateway exit $rc"; tail -30 "$T/gw.err" | sed 's/^/    /'; }
grep -q "sessions opened" "$T/gw.err" && pass "the gateway reports its sessions" || bad "no stats line"

# --sse: every request answered as an SSE stream (initialize included), driven by the SDK client
jq 'del(.http.cors)' "$T/gw.json" >"$T/gw-nocors.json"
"$SEALBOX" gateway http --config "$T/gw-nocors.json" --listen 127.0.0.1:0 --sse --state-dir "$T/state2" \
  >"$T/gw2.out" 2>"$T/gw2.err" &
GW=$!
for _ in $(seq 1 100); do grep -q "^listening on" "$T/gw2.out" && break; sleep 0.1; done
URL2=$(awk '/^listening on/ {print $3}' "$T/gw2.out")
(cd "$top/tests/mcp" && SCENARIOS=sdk,corsoff SSE_ALWAYS=1 node http_client.mjs "$URL2" "$TOKEN" "$OTHER" "$SEALBOX" "$T/state2") >"$T/out" 2>"$T/cerr"
rc=$?
sed 's/^ok     /ok     [--sse] /' "$T/out"
[ $rc = 0 ] || { bad "http client with --sse (exit $rc)"; tail -20 "$T/cerr" | sed 's/^/    /'; }
kill -TERM "$GW"
wait "$GW" || bad "the --sse gateway did not stop cleanly: $(tail -5 "$T/gw2.err")"
GW=

"$SEALBOX" audit verify --state-dir "$T/state" >"$T/av" 2>&1 && grep -q "intact" "$T/av" &&
  pass "the audit log verifies" || bad "audit verify: $(cat "$T/av")"
"$SEALBOX" audit export --jsonl --state-dir "$T/state" >"$T/audit.jsonl" 2>"$T/err" || bad "audit export: $(cat "$T/err")"
count() { jq -c "select(.record.type == \"mcp\" and $1)" "$T/audit.jsonl" | wc -l; }
[ "$(count '.record.transport == "http" and .record.method == "initialize" and (.record.session | test("^[0-9a-f]{16}$"))')" -ge 3 ] &&
  pass "HTTP sessions are audited with a session tag" || bad "initialize records: $(count '.record.transport == "http"')"
[ "$(count '.record.transport == "http" and .record.agent == "test-agent" and .record.name == "echo" and .record.outcome == "result"')" -ge 10 ] &&
  pass "HTTP calls are audited like stdio ones" || bad "echo records: $(count '.record.name == "echo"')"
[ "$(count '.record.transport == "http" and .record.decision == "needs-approval" and .record.name == "get-sum"')" -ge 1 ] &&
  pass "the pending approval is audited" || bad "no needs-approval record"
[ "$(count '.record.http_status == 401 and .record.decision == "deny"')" -ge 3 ] &&
  pass "401 refusals are audited" || bad "401 records: $(count '.record.http_status == 401')"
[ "$(count '.record.http_status == 403')" -ge 3 ] && pass "403 refusals are audited" || bad "403 records: $(count '.record.http_status == 403')"
! grep -q "$TOKEN" "$T/audit.jsonl" "$T/gw.err" && pass "the bearer token is in no log" || bad "token leaked"

left=$(find "$T/state/sandboxes" "$T/state2/sandboxes" -mindepth 1 -maxdepth 1 2>/dev/null | wc -l)
[ "$left" = 0 ] && pass "every server sandbox was removed" || bad "$left sandbox directories left"
left=$(for d in $(cgdirs); do find "$d" -mindepth 1 -type d; done | wc -l)
[ "$left" = 0 ] && pass "no cgroups left" || bad "$left cgroups left"
[ $fails = 0 ] || { echo "$fails failure(s)"; exit 1; }
