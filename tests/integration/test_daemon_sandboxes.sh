#!/usr/bin/env bash
# test_daemon_sandboxes: the sandbox endpoints of the real sealboxd with real jail sandboxes —
# create (quotas, env, metadata), get/list, exec (exit codes, stdout/stderr/stdin, env, cwd,
# timeouts), standby/resume (and exec resuming), delete, tenant isolation, lifecycle timers,
# precise 4xx for bad bodies, and what happens to sandboxes on SIGTERM and on kill -9.
# Sanitizer exception: the front runs under seccomp, so detect_leaks=0 (docs/development.md).
set -uo pipefail
. "$(dirname "$0")/lib.sh"
need_jail
tmp_init sbx
no_leak_check_under_seccomp

# api METHOD PATH KEY [JSON] -> prints "STATUS BODY"
api() {
  local m=$1 p=$2 k=$3 body=${4-}
  local args=(-s -o "$T/body" -w '%{http_code}' --unix-socket "$SOCK" -X "$m"
    -H "Authorization: Bearer $k")
  [ -n "$body" ] && args+=(-H 'Content-Type: application/json' --data-binary "$body")
  curl "${args[@]}" "http://sealbox$p"
  printf ' '
  cat "$T/body"
}
field() { jq -r "$1" "$T/body"; }
tenant KA a --max-sandboxes 3 --max-memory-mb 1024
tenant KB b
INITS0=$(inits)
start_or_die

# ---- create -------------------------------------------------------------------------------------
r=$(api POST /v1/sandboxes "$KA" '{"env":{"GREETING":"hello","SECRET":"s3cr3t"},"metadata":{"team":"search"},"limits":{"memory_mb":256}}')
contains "create: 201" "$r" '^201 '
ID=$(field .id)
check "create: state running" "$(field .state)" running
check "create: metadata kept" "$(field .metadata.team)" search
check "create: env names listed" "$(field '.env_keys | sort | join(",")')" "GREETING,SECRET"
check "create: memory" "$(field .memory_mb)" 256
if sqlite3 "$D/sealbox.db" .dump | grep -q s3cr3t; then fail "env value written to disk"; else pass "env values never reach the database"; fi
contains "get" "$(api GET "/v1/sandboxes/$ID" "$KA")" "^200 .*\"id\":\"$ID\""
contains "list" "$(api GET '/v1/sandboxes?metadata=team=search' "$KA")" "\"id\":\"$ID\""

# ---- exec ---------------------------------------------------------------------------------------
r=$(api POST "/v1/sandboxes/$ID/exec" "$KA" '{"cmd":"sh","args":["-c","echo out; echo err >&2; cat; exit 3"],"stdin":"piped"}')
contains "exec: 200" "$r" '^200 '
check "exec: exit code" "$(field .exit_code)" 3
check "exec: stdout (with stdin)" "$(field .stdout)" "out
piped"
check "exec: stderr" "$(field .stderr)" "err"
api POST "/v1/sandboxes/$ID/exec" "$KA" '{"cmd":"sh","args":["-c","echo $GREETING-$EXTRA; pwd"],"env":{"EXTRA":"x"},"cwd":"/tmp"}' >/dev/null
check "exec: create env + exec env, cwd" "$(field .stdout)" "hello-x
/tmp"
api POST "/v1/sandboxes/$ID/exec" "$KA" '{"cmd":"/nonexistent"}' >/dev/null
check "exec: missing program is 127" "$(field .exit_code)" 127
api POST "/v1/sandboxes/$ID/exec" "$KA" '{"cmd":"sh","args":["-c","kill -9 $$"]}' >/dev/null
check "exec: killed by a signal is 137" "$(field .exit_code)" 137
# A timed-out command is killed through sealbox-init (the sandbox lives on; ending init is only
# the fallback for a command that would not die). The request ends with 124. It runs in a
# sandbox of its own.
api POST /v1/sandboxes "$KA" '{"limits":{"memory_mb":64}}' >/dev/null
TO=$(field .id)
api POST "/v1/sandboxes/$TO/exec" "$KA" '{"cmd":"sleep","args":["30"],"timeout_s":1}' >/dev/null
check "exec: timeout" "$(field .timed_out)/$(field .exit_code)" "true/124"
to_state=$(api GET "/v1/sandboxes/$TO" "$KA" >/dev/null; field .state)
# sleep cannot resist SIGKILL, and sealbox-init can signal the command (it keeps CAP_KILL in the
# sandbox's user namespace), so the sandbox must live on
check "exec timeout: the command was killed, the sandbox lives on" "$to_state" running
api DELETE "/v1/sandboxes/$TO" "$KA" >/dev/null
api POST "/v1/sandboxes/$ID/exec" "$KA" '{"cmd":"head","args":["-c","200000","/dev/zero"]}' >/dev/null
check "exec: large output truncated" "$(field .stdout_truncated)" true

# ---- standby / resume ------------------------------------------------------------------------
contains "standby" "$(api POST "/v1/sandboxes/$ID/standby" "$KA")" '"state":"standby"'
contains "exec resumes a sandbox in standby" "$(api POST "/v1/sandboxes/$ID/exec" "$KA" '{"cmd":"true"}')" '"exit_code":0'
check "state after exec" "$(api GET "/v1/sandboxes/$ID" "$KA" >/dev/null; field .state)" running
api POST "/v1/sandboxes/$ID/standby" "$KA" >/dev/null
contains "resume" "$(api POST "/v1/sandboxes/$ID/resume" "$KA")" '"state":"running"'

# ---- isolation ---------------------------------------------------------------------------------------
for op in "GET /v1/sandboxes/$ID" "DELETE /v1/sandboxes/$ID" "POST /v1/sandboxes/$ID/standby" "POST /v1/sandboxes/$ID/resume"; do
  set -- $op
  check "other tenant: $1 ${2##*/} is 404" "$(api "$1" "$2" "$KB" | cut -c1-3)" 404
done
check "other tenant: exec is 404" "$(api POST "/v1/sandboxes/$ID/exec" "$KB" '{"cmd":"true"}' | cut -c1-3)" 404

# ---- bad bodies -----------------------------------------------------------------------------------------
check "wrong content type: 415" "$(curl -s -o /dev/null -w '%{http_code}' --unix-socket "$SOCK" -H "Authorization: Bearer $KA" -H 'Content-Type: text/plain' -d '{}' http://s/v1/sandboxes)" 415
contains "malformed JSON: 400" "$(api POST /v1/sandboxes "$KA" '{"image":')" '^400 .*invalid JSON'
r=$(api POST /v1/sandboxes "$KA" '{"limits":{"memory_mb":"lots"}}')
contains "wrong type: 400 names the field" "$r" '^400 .*"name":"limits.memory_mb"'
contains "unknown field: 400" "$(api POST /v1/sandboxes "$KA" '{"colour":"red"}')" '^400 .*colour'
big=$(head -c 70000 /dev/zero | tr '\0' ' ')
check "JSON body over 64 KiB: 413" "$(api POST /v1/sandboxes "$KA" "{$big}" | cut -c1-3)" 413
contains "exec without cmd: 400" "$(api POST "/v1/sandboxes/$ID/exec" "$KA" '{}')" '^400 .*cmd'

# ---- quotas -----------------------------------------------------------------------------------------------
contains "memory quota" "$(api POST /v1/sandboxes "$KA" '{"limits":{"memory_mb":1024}}')" '^429 .*1024 MiB'
# The count quota is checked with sandboxes that cannot end meanwhile (a 1 s timeout raced a
# create that took longer than that on a loaded host); the short-lived one comes after.
api POST /v1/sandboxes "$KA" '{"limits":{"memory_mb":128},"idle_standby_s":1}' >/dev/null
IDLE=$(field .id)
api POST /v1/sandboxes "$KA" '{"limits":{"memory_mb":16}}' >/dev/null
FILL=$(field .id)
contains "count quota" "$(api POST /v1/sandboxes "$KA" '{"limits":{"memory_mb":16}}')" '^429 .*at most 3 sandboxes'
check "count quota: a slot freed by delete" "$(api DELETE "/v1/sandboxes/$FILL" "$KA" | cut -c1-3)" 204
api POST /v1/sandboxes "$KA" '{"limits":{"memory_mb":128},"timeout_s":1}' >/dev/null
SHORT=$(field .id)

# ---- lifecycle timers ------------------------------------------------------------------------------------
ok=
for _ in $(seq 60); do
  s1=$(api GET "/v1/sandboxes/$SHORT" "$KA" >/dev/null; field .state)
  s2=$(api GET "/v1/sandboxes/$IDLE" "$KA" >/dev/null; field .state)
  [ "$s1" = destroyed ] && [ "$s2" = standby ] && { ok=1; break; }
  sleep 0.2
done
check "timeout_s destroys, idle_standby_s freezes" "${ok:-no}" 1
contains "exec on a destroyed sandbox: 409" "$(api POST "/v1/sandboxes/$SHORT/exec" "$KA" '{"cmd":"true"}')" '^409 .*destroyed'

# ---- delete --------------------------------------------------------------------------------------------------
check "delete: 204" "$(api DELETE "/v1/sandboxes/$ID" "$KA" | cut -c1-3)" 204
check "get after delete shows destroyed" "$(api GET "/v1/sandboxes/$ID" "$KA" >/dev/null; field .state)" destroyed
check "delete again: 409" "$(api DELETE "/v1/sandboxes/$ID" "$KA" | cut -c1-3)" 409
contains "metrics count creates" "$(api GET /metrics "$KA")" 'sealbox_sandbox_creates_total{result="ok"} 5'

# ---- SIGTERM tears every sandbox down --------------------------------------------------------------------------
stop_clean
check "no sealbox-init left after SIGTERM" "$(inits)" "$INITS0"
check "SIGTERM: idle sandbox recorded destroyed" "$(sqlite3 "$D/sealbox.db" "SELECT state FROM sandboxes WHERE id='$IDLE'")" destroyed

# ---- kill -9 with a live sandbox: lost on restart, nothing left running ----------------------------------------
start_or_die
api POST /v1/sandboxes "$KA" '{"limits":{"memory_mb":64}}' >/dev/null
CRASH=$(field .id)
JID=$(ls "$D/sandboxes" | head -1)
jail_cgdirs() { find /sys/fs/cgroup -maxdepth 5 -type d -name "$JID" 2>/dev/null | wc -l; }
check "kill -9: the sandbox has its cgroup" "$([ "$(jail_cgdirs)" -gt 0 ] && echo yes)" yes
kill -9 "$PID"; wait "$PID" 2>/dev/null; PID=
for _ in $(seq 50); do [ "$(inits)" = "$INITS0" ] && break; sleep 0.1; done
check "kill -9: the sandbox's processes died with the daemon" "$(inits)" "$INITS0"
start_or_die
check "restart: the sandbox is marked lost" "$(api GET "/v1/sandboxes/$CRASH" "$KA" >/dev/null; field .state)" lost
contains "restart: its quota is free again" "$(api GET /v1/tenant "$KA")" '"sandboxes":0'
check "restart: the crashed sandbox's cgroups are removed" "$(jail_cgdirs)" 0
check "restart: its host directory is removed" "$(ls "$D/sandboxes" | wc -l)" 0
stop_clean restart

# ---- the warm pool ----------------------------------------------------------------------------------------------
start_or_die --warm-pool 2
ok=
for _ in $(seq 100); do
  api GET /metrics "$KA" | grep -q 'sealbox_warm_pool{kind="ready"} 2' && { ok=1; break; }
  sleep 0.1
done
check "warm pool fills to its target" "${ok:-no}" 1
r=$(api POST /v1/sandboxes "$KA" '{"env":{"WHO":"pooled"},"metadata":{"via":"pool"}}')
contains "pool: create answered" "$r" '^201 '
P=$(field .id)
check "pool: the record is complete" "$(field .image_digest)/$(field .metadata.via)" "mutable:host-usr/pool"
api POST "/v1/sandboxes/$P/exec" "$KA" '{"cmd":"sh","args":["-c","echo $WHO"]}' >/dev/null
check "pool: env of the create applies" "$(field .stdout)" "pooled"
contains "pool: the hit is counted" "$(api GET /metrics "$KA")" 'sealbox_warm_pool_hits_total 1'
r=$(api POST /v1/sandboxes "$KA" '{"limits":{"memory_mb":64}}')
contains "pool: another shape is built fresh" "$r" '^201 '
contains "pool: still one hit" "$(api GET /metrics "$KA")" 'sealbox_warm_pool_hits_total 1'
# A create from the pool answers before its commit is fsynced: the record must still survive the
# daemon's kill -9 right after the answer (it is in the WAL file), and be settled as lost.
api DELETE "/v1/sandboxes/$P" "$KA" >/dev/null # the tenant's memory quota
r=$(api POST /v1/sandboxes "$KA" '{}')
contains "pool: a second create answered" "$r" '^201 '
Q=$(field .id)
contains "pool: a second hit" "$(api GET /metrics "$KA")" 'sealbox_warm_pool_hits_total 2'
kill -9 "$PID"; wait "$PID" 2>/dev/null; PID=
for _ in $(seq 50); do [ "$(inits)" = "$INITS0" ] && break; sleep 0.1; done
start_or_die --warm-pool 2
check "pool: kill -9 after the answer: the record is kept, settled lost" \
  "$(api GET "/v1/sandboxes/$Q" "$KA" >/dev/null; field .state)" lost
stop_clean pool
check "pool: no sealbox-init left (pool destroyed too)" "$(inits)" "$INITS0"
finish test_daemon_sandboxes
