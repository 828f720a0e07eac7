#!/usr/bin/env bash
# test_daemon_builders: sandboxes are built and torn down off the monitor's loop (src/api/
# monitor_build.c). Concurrent creates: the loop answers other requests while they are built (a
# record is seen "creating"), and a tenant's quota holds however many creates arrive at once; a
# DELETE of a sandbox still being built (its create answers 409, the DELETE 204, nothing is
# left); SIGTERM with builds in flight (they finish and are answered, then everything is torn
# down); kill -9 with builds in flight (records settled lost at restart, nothing left running).
# Sanitizer exception: the front runs under seccomp, so detect_leaks=0 (docs/development.md).
set -uo pipefail
. "$(dirname "$0")/lib.sh"
need_jail
need_cmds curl jq sqlite3
tmp_init bld
no_leak_check_under_seccomp
own_cgroup_parent

# create N NAME KEY [JSON]: POST /v1/sandboxes in the background; $T/NAME.code gets the status,
# $T/NAME.body the body. Its pid is appended to BG.
BG=()
create() {
  local name=$1 key=$2 body=${3:-'{"limits":{"memory_mb":64}}'}
  curl -s -o "$T/$name.body" -w '%{http_code}' --unix-socket "$SOCK" -X POST \
    -H "Authorization: Bearer $key" -H 'Content-Type: application/json' --data-binary "$body" \
    http://s/v1/sandboxes >"$T/$name.code" &
  BG+=($!)
}
wait_bg() { local p; for p in "${BG[@]}"; do wait "$p"; done; BG=(); }
api() { # api METHOD PATH KEY -> "STATUS BODY"
  curl -s -o "$T/body" -w '%{http_code}' --unix-socket "$SOCK" -X "$1" \
    -H "Authorization: Bearer $3" "http://s$2"
  printf ' '
  cat "$T/body"
}
db() { sqlite3 "$D/sealbox.db" "$1"; }
creating() { db "SELECT id FROM sandboxes WHERE state='creating'"; }
# until_creating: waits (up to 10 s) until a record is "creating"; prints its ids.
until_creating() {
  local i c
  for i in $(seq 500); do
    c=$(creating)
    [ -n "$c" ] && { echo "$c"; return 0; }
    sleep 0.02
  done
  return 1
}
codes() { local f; for f in "$@"; do cat "$T/$f.code"; echo; done | sort | uniq -c | awk '{printf "%s×%s ", $2, $1}'; }

tenant KQ q --max-sandboxes 3
tenant KA a
leaks_snapshot
start_or_die

# ---- the loop answers while sandboxes are built ------------------------------------------------
for i in 1 2 3 4 5 6; do create "q$i" "$KQ"; done
seen=
for _ in $(seq 500); do
  # an authenticated request through the loop, answered while builds are in flight: its answer
  # counts the creating records the loop has not yet settled
  r=$(api GET /v1/tenant "$KQ")
  [ -n "$(creating)" ] && grep -q '"sandboxes":[1-9]' <<<"$r" && { seen=1; break; }
  sleep 0.02
done
check "requests are answered while sandboxes are built" "${seen:-no}" 1
wait_bg
check "quota: 6 concurrent creates with a quota of 3 give 3 sandboxes" \
  "$(codes q1 q2 q3 q4 q5 q6)" "201×3 429×3 "
check "quota: the tenant has exactly 3 live sandboxes" \
  "$(db "SELECT count(*) FROM sandboxes s JOIN tenants t ON t.id = s.tenant_id WHERE t.name='q' AND s.state='running'")" 3
contains "quota: the tenant's usage says 3" "$(api GET /v1/tenant "$KQ")" '"sandboxes":3'
for i in 1 2 3 4 5 6; do
  id=$(jq -r '.id // empty' "$T/q$i.body")
  [ -n "$id" ] && api DELETE "/v1/sandboxes/$id" "$KQ" >/dev/null
done
contains "quota: deletes free it" "$(api GET /v1/tenant "$KQ")" '"sandboxes":0'

# ---- DELETE while the sandbox is built --------------------------------------------------------------
# Twelve creates at once: more than there are builders, so some wait for one. Every record seen
# "creating" is deleted at once (in parallel); its DELETE answers 204 once nothing of it is
# left, its create 409 — or 201 when the build was settled before the DELETE arrived (then it is
# simply deleted).
N=12
for i in $(seq $N); do create "d$i" "$KA"; done
ids=
for _ in $(seq 1000); do
  for id in $(creating); do
    case " $ids " in *" $id "*) continue ;; esac
    ids="$ids $id"
    curl -s -o /dev/null -w '%{http_code}' --unix-socket "$SOCK" -X DELETE \
      -H "Authorization: Bearer $KA" "http://s/v1/sandboxes/$id" >"$T/del_$id.code" &
    BG+=($!)
  done
  done_all=1
  for i in $(seq $N); do [ -s "$T/d$i.code" ] || done_all=; done
  [ -n "$done_all" ] && break
  sleep 0.01
done
wait_bg
n409=0 bad=
for id in $ids; do
  c=$(cat "$T/del_$id.code")
  [ "$c" = 204 ] || bad="$bad $id:$c"
done
for i in $(seq $N); do
  c=$(cat "$T/d$i.code")
  [ "$c" = 409 ] && { n409=$((n409 + 1)); grep -q 'deleted before its creation finished' "$T/d$i.body" || bad="$bad d$i:detail"; }
  [ "$c" = 201 ] || [ "$c" = 409 ] || bad="$bad d$i:$c"
done
echo "       ($(wc -w <<<"$ids") deleted while creating; $n409 of their creates answered 409)"
check "delete while building: every DELETE 204, every create 201 or 409" "${bad:-none}" none
check "delete while building: some creates were deleted before they were built" \
  "$([ "$n409" -gt 0 ] && echo yes)" yes
check "delete while building: those records are destroyed" \
  "$(for id in $ids; do db "SELECT state FROM sandboxes WHERE id='$id'"; done | sort -u)" destroyed
contains "delete while building: the audit log has the create's 409" \
  "$(db "SELECT record FROM audit_log WHERE record LIKE '%sandbox.create%'")" '"status":409'
for i in $(seq $N); do
  id=$(jq -r 'select(.state == "running") | .id // empty' "$T/d$i.body" 2>/dev/null)
  [ -n "$id" ] && api DELETE "/v1/sandboxes/$id" "$KA" >/dev/null
done
check "delete while building: nothing live is left" "$(db "SELECT count(*) FROM sandboxes WHERE state IN ('creating','running')")" 0

# ---- SIGTERM with builds in flight --------------------------------------------------------------------
# Six creates, more than there are builders: SIGTERM once the daemon has taken all six (their
# records exist), while some are still being built.
for i in 1 2 3 4 5 6; do create "t$i" "$KA"; done
inflight=0
for _ in $(seq 500); do
  n=$(db "SELECT count(*) FROM sandboxes WHERE state IN ('creating','running')")
  [ "$n" = 6 ] && { inflight=$(creating | wc -l); break; }
  sleep 0.01
done
kill -TERM "$PID"
wait "$PID"
check "SIGTERM with builds in flight: exit 0" "$?" 0
PID=
wait_bg
check "SIGTERM came while sandboxes were being built" "$([ "$inflight" -gt 0 ] && echo yes)" yes
check "SIGTERM: the creates in flight were answered" "$(codes t1 t2 t3 t4 t5 t6)" "201×6 "
check "SIGTERM: no record left creating or running" \
  "$(db "SELECT count(*) FROM sandboxes WHERE state IN ('creating','running','standby')")" 0
check_no_leaks "SIGTERM with builds in flight"

# ---- kill -9 with builds in flight ------------------------------------------------------------------------
start_or_die
for i in 1 2 3 4; do create "k$i" "$KA"; done
crashed=$(until_creating)
kill -9 "$PID"
wait "$PID" 2>/dev/null
PID=
wait_bg
check "kill -9 during create: a record was creating" "$([ -n "$crashed" ] && echo yes)" yes
for _ in $(seq 100); do [ "$(inits)" = "$SB_INITS0" ] && break; sleep 0.1; done
check "kill -9 during create: no sealbox-init survives the daemon" "$(inits)" "$SB_INITS0"
start_or_die
check "kill -9 during create: restart settles the records lost" \
  "$(for id in $crashed; do db "SELECT state FROM sandboxes WHERE id='$id'"; done | sort -u)" lost
check "kill -9 during create: nothing creating or running after restart" \
  "$(db "SELECT count(*) FROM sandboxes WHERE state IN ('creating','running','standby')")" 0
contains "kill -9 during create: the quota is free" "$(api GET /v1/tenant "$KA")" '"sandboxes":0'
check "kill -9 during create: no host directory left" "$(ls "$D/sandboxes" 2>/dev/null | wc -l)" 0
stop_clean restart
check_no_leaks "kill -9 during create, then restart"
sanitizer_clean "daemon" "$T/stderr"
finish test_daemon_builders
