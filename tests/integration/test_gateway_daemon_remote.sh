#!/usr/bin/env bash
# test_gateway_daemon_remote: remote Streamable HTTP servers ("url") behind `sealboxd --gateway`.
# The monitor runs each remote's bridge (it holds the configured headers, one read from a file
# only root can read); the seccomp'd front gets the bridge's two pipes like a sandboxed server's.
# The SDK client (tests/mcp/relay_client.mjs, scenario remote) goes through the thin client
# `sealbox gateway stdio` to server-everything in streamableHttp mode and to
# tests/mcp/headers_server.mjs (which shows the headers that reach it), with one unreachable
# remote. Runs in a private network namespace: server-everything listens on every interface.
set -uo pipefail
if [ -z "${SB_IN_NETNS:-}" ]; then
  [ "$(id -u)" = 0 ] || { echo "skipped: a private network namespace needs root"; [ "${CI:-}" = true ] && exit 1; exit 77; }
  exec unshare -n env SB_IN_NETNS=1 bash "$0" "$@"
fi
. "$(dirname "$0")/lib.sh"
BIN=$(cd "$BIN" && pwd)
top=$(cd "$(dirname "$0")/../.." && pwd)
need_cmds node jq ip curl
ip link set lo up
MCP=$top/tests/mcp
"$top/scripts/npm-peers.sh" tests/mcp || exit 1
tmp_init gwdr
mkdir -p "$D"
no_leak_check_under_seccomp
PIDS=()
at_exit 'for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done'
EV=$MCP/node_modules/@modelcontextprotocol/server-everything/dist/index.js
GSOCK=$D/gateway.sock

(cd "$T" && PORT=3911 exec node "$EV" streamableHttp >"$T/ev.log" 2>&1) &
PIDS+=($!)
(cd "$MCP" && exec node headers_server.mjs >"$T/hdr.out" 2>&1) &
PIDS+=($!)
for _ in $(seq 1 100); do grep -q "^listening" "$T/hdr.out" && break; sleep 0.1; done
PH=$(awk '/^listening/ {print $2}' "$T/hdr.out")
for _ in $(seq 1 100); do curl -s -o /dev/null http://127.0.0.1:3911/mcp && break; sleep 0.2; done
[ -n "$PH" ] || { echo "FAIL   the headers server did not start: $(cat "$T/hdr.out")"; exit 1; }

read -r TOKEN HASH < <("$SEALBOX" gateway token | awk '/^token:/ {t=$2} /^config:/ {gsub(/"/, "", $2); h=$2} END {print t, h}')
REMOTE_KEY=remote-key-$RANDOM$RANDOM # not exported: the daemon must not have it in its environment
printf '%s\n' "$REMOTE_KEY" >"$T/key"
chmod 600 "$T/key"
cat >"$T/gw.json" <<JSON
{"http": {"tokens": {"agent": "$HASH"}},
 "agents": {"agent": {"servers": {"allow": ["*"]}, "tools": {"allow": ["*"]}, "sampling": "allow"}},
 "servers": {
  "ev": {"url": "http://127.0.0.1:3911/mcp", "pin": "tofu"},
  "hdr": {"url": "http://127.0.0.1:$PH/mcp", "headers": {"X-Api-Key": {"file": "$T/key"}}, "pin": "tofu"},
  "down": {"url": "http://127.0.0.1:9/mcp", "pin": "tofu", "timeout_ms": 3000}}}
JSON
start_or_die --gateway "$T/gw.json"

# the front, once it has its configuration (the monitor sends it a copy with the header values
# blanked): no descriptor on the key file, and the key nowhere in its memory. (Later the
# headers server echoes the key in a tool result, which crosses the front like any answer.)
mem_count() { # PID: occurrences of the key in its readable memory
  python3 - "$1" "$REMOTE_KEY" <<'PY'
import re, sys
pid, key = sys.argv[1], sys.argv[2].encode()
hit = 0
with open(f"/proc/{pid}/maps") as m, open(f"/proc/{pid}/mem", "rb", 0) as mem:
    for line in m:
        a = re.match(r"([0-9a-f]+)-([0-9a-f]+) (r)", line)
        if not a: continue
        lo, hi = int(a.group(1), 16), int(a.group(2), 16)
        if hi - lo > 1 << 30: continue
        try:
            mem.seek(lo); hit += mem.read(hi - lo).count(key)
        except (OSError, ValueError, OverflowError):
            pass
print(hit)
PY
}
fpid=$(pgrep -P "$PID" | head -1)
if [ -n "$fpid" ]; then
  lacks "the front has no descriptor on the header file" "$(ls -l /proc/"$fpid"/fd 2>/dev/null)" "$T/key"
  # its memory: the key is nowhere in the front (the monitor, which read the file, has it:
  # the scan can find it)
  check "the header value is not in the front's memory" "$(mem_count "$fpid")" 0
  [ "$(mem_count "$PID")" -ge 1 ] && pass "... while the monitor holds it" || fail "the key is not even in the monitor"
else
  fail "no front process of sealboxd $PID"
fi

(cd "$MCP" && REMOTE_KEY=$REMOTE_KEY timeout 300 node relay_client.mjs remote daemon "$SEALBOX" "$GSOCK" agent "$TOKEN") >"$T/out" 2>"$T/cerr"
rc=$?
cat "$T/out"
[ $rc = 0 ] || { fail "relay_client.mjs remote (exit $rc)"; tail -20 "$T/cerr" | sed 's/^/    /'; }

grep -q "gateway: server ev launched" "$D/log" && pass "the monitor starts the remote's bridge" || fail "no launch of ev in the log: $(grep gateway "$D/log" | tail -5)"
lacks "the header value is in no log" "$(cat "$D/log" "$T/stderr" "$T/cerr")" "$REMOTE_KEY"
"$SEALBOX" audit export --jsonl --state-dir "$D" >"$T/audit.jsonl" 2>"$T/err" || fail "audit export: $(cat "$T/err")"
n=$(jq -c 'select(.record.server == "ev" and .record.method == "tools/call" and .record.outcome == "result")' "$T/audit.jsonl" | wc -l)
[ "$n" -ge 4 ] && pass "calls to a remote are audited by the daemon ($n records)" || fail "ev calls audited: $n"
stop_clean
finish test_gateway_daemon_remote
