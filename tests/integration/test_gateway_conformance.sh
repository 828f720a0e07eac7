#!/usr/bin/env bash
# test_gateway_conformance: the official MCP conformance suite (@modelcontextprotocol/conformance
# 0.1.13, server scenarios) against `sealbox gateway http` in front of server-everything in a
# sandbox, against server-everything's own Streamable HTTP endpoint in the same run (in a
# private network namespace, since it listens on every interface), and against the gateway with
# that endpoint as a remote server ("url"). Parity: every scenario the server passes directly
# must pass through the gateway both ways, which must pass at least as many checks; the counts
# are printed. No exceptions are listed here.
set -uo pipefail
. "$(dirname "$0")/lib.sh"
top=$(cd "$(dirname "$0")/../.." && pwd)
need_root "sandboxes need root"
need_cmds node jq
MCP=$top/tests/mcp
"$top/scripts/npm-peers.sh" tests/mcp || exit 1
tmp_init gwc
own_cgroup_parent
GW=
at_exit '[ -n "$GW" ] && kill "$GW" 2>/dev/null'
CONF=$MCP/node_modules/.bin/conformance
EV=$MCP/node_modules/@modelcontextprotocol/server-everything/dist/index.js

out=$("$SEALBOX" gateway token)
TOKEN=$(echo "$out" | awk '$1 == "token:" {print $2}')
HASH=$(echo "$out" | awk '$1 == "config:" {print $2}' | tr -d '"')
cat >"$T/gw.json" <<JSON
{"http": {"tokens": {"conformance": "$HASH"}, "max_sessions_per_agent": 4},
 "agents": {"conformance": {"servers": {"allow": ["*"]}, "tools": {"allow": ["*"]},
   "resources": {"allow": ["*"]}, "prompts": {"allow": ["*"]}}},
 "servers": {"everything": {"command": "node", "args": ["/mcp/node_modules/@modelcontextprotocol/server-everything/dist/index.js", "stdio"],
   "mounts": [{"src": "$MCP/node_modules", "dst": "/mcp/node_modules"}], "pin": "tofu", "stderr": "discard"}}}
JSON
"$SEALBOX" gateway http --config "$T/gw.json" --listen 127.0.0.1:0 --state-dir "$T/state" >"$T/gw.out" 2>"$T/gw.err" &
GW=$!
for _ in $(seq 1 100); do grep -q "^listening on" "$T/gw.out" && break; sleep 0.1; done
PORT=$(sed -n 's|^listening on http://127.0.0.1:\([0-9]*\)/mcp|\1|p' "$T/gw.out")
[ -n "$PORT" ] || { echo "FAIL   the gateway did not start: $(cat "$T/gw.err")"; exit 1; }
URL=http://localhost:$PORT/mcp
# The suite's client has no option for headers: the preload adds the agent's bearer token.
(cd "$T" && SB_GW_TOKEN=$TOKEN SB_GW_URL=$URL NODE_OPTIONS="--import=$MCP/bearer-preload.mjs" \
  timeout 900 node "$CONF" server --url "$URL" -o "$T/res-gateway") >"$T/gateway.txt" 2>&1
kill -TERM "$GW"; wait "$GW"; rc=$?; GW=
check "the gateway stops cleanly after the suite" "$rc" 0

# the same suite against server-everything itself, alone in a network namespace, and through
# the gateway with it as a remote server (the same token and policy; the same namespace)
jq '.servers = {"everything": {"url": "http://127.0.0.1:3901/mcp", "pin": "tofu"}}' "$T/gw.json" >"$T/gwr.json"
cat >"$T/netns.sh" <<SH
ip link set lo up
cd "$T"
PORT=3901 node "$EV" streamableHttp >/dev/null 2>&1 &
EVP=\$!
for i in \$(seq 1 100); do node -e "fetch('http://localhost:3901/mcp').then(()=>process.exit(0),()=>process.exit(1))" && break; sleep 0.2; done
timeout 900 node "$CONF" server --url http://localhost:3901/mcp -o "$T/res-direct" >"$T/direct.txt" 2>&1
"$SEALBOX" gateway http --config "$T/gwr.json" --listen 127.0.0.1:0 --state-dir "$T/state-remote" >"$T/gwr.out" 2>"$T/gwr.err" &
G=\$!
for i in \$(seq 1 100); do grep -q "^listening on" "$T/gwr.out" && break; sleep 0.1; done
P=\$(sed -n 's|^listening on http://127.0.0.1:\([0-9]*\)/mcp|\1|p' "$T/gwr.out")
U=http://localhost:\$P/mcp
SB_GW_TOKEN=$TOKEN SB_GW_URL=\$U NODE_OPTIONS="--import=$MCP/bearer-preload.mjs" \\
  timeout 900 node "$CONF" server --url \$U -o "$T/res-remote" >"$T/remote.txt" 2>&1
kill -TERM \$G; wait \$G; echo "remote gateway exit \$?" >>"$T/remote.txt"
kill \$EVP; wait \$EVP
SH
unshare -n bash "$T/netns.sh"

passed() { sed -n 's/^✓ \([a-z0-9/-]*\): .*/\1/p' "$1" | sort; }
checks() { sed -n 's/^Total: \([0-9]*\) passed, \([0-9]*\) failed.*/\1 \2/p' "$1" | head -1; }
for r in direct gateway remote; do
  grep -q "^Total:" "$T/$r.txt" || fail "the $r run did not finish: $(tail -5 "$T/$r.txt")"
done
check "the gateway in front of the remote stops cleanly" "$(sed -n 's/^remote gateway exit //p' "$T/remote.txt")" 0
read -r dp df <<<"$(checks "$T/direct.txt")"
summary() { # NAME FILE
  local p f
  read -r p f <<<"$(checks "$2")"
  echo "$1 ${p:-?} of $((${p:-0} + ${f:-0})) checks, $(passed "$2" | wc -l) scenarios: $(passed "$2" | tr '\n' ' ')"
}
summary "direct:               " "$T/direct.txt"
summary "gateway (sandboxed):  " "$T/gateway.txt"
summary "gateway (remote url): " "$T/remote.txt"
[ "$(passed "$T/direct.txt" | wc -l)" -ge 5 ] && pass "the direct baseline ran" || fail "the direct baseline passed almost nothing"
# why a scenario failed through a gateway: the error messages of its checks
why() { # RUN SCENARIO
  local f
  for f in "$T"/res-"$1"/server-"$2"-*/checks.json; do
    [ -f "$f" ] && jq -r '.[] | select(.status == "FAILURE") | "    \(.id): \(.errorMessage // "")"' "$f" | head -5
  done
}
for r in gateway remote; do
  # most scenarios would pass with no server behind the gateway: it must have had its tools
  n=$(jq -s '[.[][] | select(.id == "tools-list") | .details.toolCount] | max // 0' "$T"/res-"$r"/server-tools-list-*/checks.json 2>/dev/null)
  [ "${n:-0}" -ge 10 ] && pass "[$r] the gateway presented server-everything's tools ($n)" ||
    fail "[$r] the gateway presented ${n:-no} tools: $(grep -m3 'server everything' "$T/gw.err" "$T/gwr.err" 2>/dev/null)"
  read -r gp gf <<<"$(checks "$T/$r.txt")"
  [ "${gp:-0}" -ge "${dp:-1}" ] && pass "[$r] the gateway passes at least as many checks (${gp:-?}) as the server directly (${dp:-?})" ||
    fail "[$r] the gateway passes ${gp:-?} checks, the server directly ${dp:-?}"
  for s in $(passed "$T/direct.txt"); do
    if passed "$T/$r.txt" | grep -qx "$s"; then
      pass "[$r] $s passes through the gateway as it does directly"
    else
      fail "[$r] $s passes directly but not through the gateway"
      why "$r" "$s"
    fi
  done
  for s in $(comm -13 <(passed "$T/direct.txt") <(passed "$T/$r.txt")); do
    echo "info   [$r] $s passes through the gateway only"
  done
done
left=$(find "$T/state/sandboxes" -mindepth 1 -maxdepth 1 2>/dev/null | wc -l)
check "every server sandbox was removed" "$left" 0
finish test_gateway_conformance
