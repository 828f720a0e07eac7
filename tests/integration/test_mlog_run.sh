#!/usr/bin/env bash
# test_mlog_run: the measurement log of `sealbox run` (written by the run process itself) —
# `sealbox measure` predicts the initial log digest of a real sandbox exactly; changes to the
# config or the entrypoint change it; a detached sandbox's log gains every `sealbox exec` and
# becomes tainted; measure names what is wrong with a bad CONFIG.json.
set -uo pipefail
. "$(dirname "$0")/lib.sh"
sb=$SEALBOX
need_root
tmp_init mlog-run
export SEALBOX_STATE_DIR=$D
at_exit 'for d in $(ls "$SEALBOX_STATE_DIR/sandboxes" 2>/dev/null); do "$sb" rm "$d"; done'
own_cgroup_parent

cat >"$T/cfg.json" <<'J'
{"command": ["sh", "-c", "exit 0"], "env": ["GREETING=hello"], "memory_bytes": 134217728,
 "workdir": "/tmp", "hostname": "agent"}
J
want=$("$sb" measure --json host "$T/cfg.json" | jq -r .log)
"$sb" run --env GREETING=hello --memory 128M --workdir /tmp --hostname agent --log "$T/run.json" \
  -- sh -c 'exit 0'
check "run exits 0" "$?" 0
check "measure predicts the run's log digest" "$(jq -r .digest "$T/run.json")" "$want"
check "run log: image, config, entrypoint" "$(jq -r '[.events[].type] | join(",")' "$T/run.json")" \
  "image,config,entrypoint"
check "run log: untainted" "$(jq -r .tainted "$T/run.json")" false
check "run log: the value is not measured" "$(grep -c hello "$T/run.json")" 0

"$sb" run --env GREETING=bye --memory 128M --workdir /tmp --hostname agent --log "$T/run2.json" \
  -- sh -c 'exit 0'
check "another env value, same log (names only)" "$(jq -r .digest "$T/run2.json")" "$want"
"$sb" run --env GREETING=hello --memory 256M --workdir /tmp --hostname agent --log "$T/run3.json" \
  -- sh -c 'exit 0'
if [ "$(jq -r .digest "$T/run3.json")" != "$want" ]; then pass "another memory limit, another log"; else fail "memory not measured"; fi
"$sb" run --env GREETING=hello --memory 128M --workdir /tmp --hostname agent --log "$T/run4.json" \
  -- sh -c 'exit 1'
if [ "$(jq -r .digest "$T/run4.json")" != "$want" ]; then pass "another argv, another log"; else fail "argv not measured"; fi

# detached: the holder records every exec
id=$("$sb" run --detach --log "$T/det.json" -- sleep 60)
check "detached: entrypoint only" "$(jq -r '[.events[].type] | join(",")' "$T/det.json")" "image,config,entrypoint"
check "detached: untainted" "$(jq -r .tainted "$T/det.json")" false
"$sb" exec "$id" -- true
check "detached exec recorded" "$(jq -r '[.events[].type] | join(",")' "$T/det.json")" "image,config,entrypoint,exec"
check "detached exec taints" "$(jq -r .tainted "$T/det.json")" true
check "exec digest is of the sandbox's true" "$(jq -r '.events[3].digest' "$T/det.json")" \
  "sha384:$(sha384sum "$(readlink -f /usr/bin/true)" | cut -d' ' -f1)"
"$sb" rm "$id"

echo '{"command": ["x"], "memory": 5}' >"$T/bad.json"
out=$("$sb" measure host "$T/bad.json" 2>&1); rc=$?
check "measure: bad config exits 2" "$rc" 2
grep -q "unknown member 'memory'" <<<"$out" && pass "measure names the member" || fail "measure: '$out'"
out=$("$sb" measure sha256:0123456789abcdef 2>&1); rc=$?
check "measure: unknown image exits 2" "$rc" 2

finish test_mlog_run
