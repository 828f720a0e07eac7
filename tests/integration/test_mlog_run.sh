#!/usr/bin/env bash
# test_mlog_run: the measurement log of `sealbox run` (written by the run process itself) —
# `sealbox measure` predicts the initial log digest of a real sandbox exactly; changes to the
# config or the entrypoint change it; a detached sandbox's log gains every `sealbox exec` and
# becomes tainted; measure names what is wrong with a bad CONFIG.json.
set -uo pipefail
sb=${SEALBOX:?SEALBOX must point at the sealbox binary}
if [ "$(id -u)" != 0 ]; then
  if [ "${CI:-}" = true ]; then echo "FAIL: needs root under CI"; exit 1; fi
  echo "SKIP: needs root"; exit 77
fi
tmp=$(mktemp -d /tmp/sb-mlog-run.XXXXXX)
export SEALBOX_STATE_DIR=$tmp/state SEALBOX_CGROUP_PARENT=sealbox-test-$$
cgdirs() { find /sys/fs/cgroup -maxdepth 8 -type d -name "$SEALBOX_CGROUP_PARENT" 2>/dev/null; }
trap 'for d in $(ls "$SEALBOX_STATE_DIR/sandboxes" 2>/dev/null); do "$sb" rm "$d"; done; cgdirs | xargs -r rmdir 2>/dev/null; rm -rf "$tmp"' EXIT
fails=0
pass() { echo "ok     $1"; }
bad() { echo "FAIL   $1"; fails=$((fails + 1)); }
check() { if [ "$2" = "$3" ]; then pass "$1"; else bad "$1: got '$2', want '$3'"; fi; }

cat >"$tmp/cfg.json" <<'J'
{"command": ["sh", "-c", "exit 0"], "env": ["GREETING=hello"], "memory_bytes": 134217728,
 "workdir": "/tmp", "hostname": "agent"}
J
want=$("$sb" measure --json host "$tmp/cfg.json" | jq -r .log)
"$sb" run --env GREETING=hello --memory 128M --workdir /tmp --hostname agent --log "$tmp/run.json" \
  -- sh -c 'exit 0'
check "run exits 0" "$?" 0
check "measure predicts the run's log digest" "$(jq -r .digest "$tmp/run.json")" "$want"
check "run log: image, config, entrypoint" "$(jq -r '[.events[].type] | join(",")' "$tmp/run.json")" \
  "image,config,entrypoint"
check "run log: untainted" "$(jq -r .tainted "$tmp/run.json")" false
check "run log: the value is not measured" "$(grep -c hello "$tmp/run.json")" 0

"$sb" run --env GREETING=bye --memory 128M --workdir /tmp --hostname agent --log "$tmp/run2.json" \
  -- sh -c 'exit 0'
check "another env value, same log (names only)" "$(jq -r .digest "$tmp/run2.json")" "$want"
"$sb" run --env GREETING=hello --memory 256M --workdir /tmp --hostname agent --log "$tmp/run3.json" \
  -- sh -c 'exit 0'
if [ "$(jq -r .digest "$tmp/run3.json")" != "$want" ]; then pass "another memory limit, another log"; else bad "memory not measured"; fi
"$sb" run --env GREETING=hello --memory 128M --workdir /tmp --hostname agent --log "$tmp/run4.json" \
  -- sh -c 'exit 1'
if [ "$(jq -r .digest "$tmp/run4.json")" != "$want" ]; then pass "another argv, another log"; else bad "argv not measured"; fi

# detached: the holder records every exec
id=$("$sb" run --detach --log "$tmp/det.json" -- sleep 60)
check "detached: entrypoint only" "$(jq -r '[.events[].type] | join(",")' "$tmp/det.json")" "image,config,entrypoint"
check "detached: untainted" "$(jq -r .tainted "$tmp/det.json")" false
"$sb" exec "$id" -- true
check "detached exec recorded" "$(jq -r '[.events[].type] | join(",")' "$tmp/det.json")" "image,config,entrypoint,exec"
check "detached exec taints" "$(jq -r .tainted "$tmp/det.json")" true
check "exec digest is of the sandbox's true" "$(jq -r '.events[3].digest' "$tmp/det.json")" \
  "sha384:$(sha384sum "$(readlink -f /usr/bin/true)" | cut -d' ' -f1)"
"$sb" rm "$id"

echo '{"command": ["x"], "memory": 5}' >"$tmp/bad.json"
out=$("$sb" measure host "$tmp/bad.json" 2>&1); rc=$?
check "measure: bad config exits 2" "$rc" 2
grep -q "unknown member 'memory'" <<<"$out" && pass "measure names the member" || bad "measure: '$out'"
out=$("$sb" measure sha256:0123456789abcdef 2>&1); rc=$?
check "measure: unknown image exits 2" "$rc" 2

echo "$fails failure(s)"
[ "$fails" = 0 ]
