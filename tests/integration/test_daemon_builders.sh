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

# create_many NAME N KEY [JSON]: N concurrent POST /v1/sandboxes from one curl (so that they
# arrive faster than sandboxes are built), in the background; once wait_bg returns,
# $T/NAME<i>.code has each status and $T/NAME<i>.body each body. Its pid is appended to BG.
BG=()
MANY=()
create_many() {
  local name=$1 n=$2 key=$3 body=${4:-'{"limits":{"memory_mb":64}}'} i args=()
  for i in $(seq "$n"); do args+=(-o "$T/$name$i.body" http://s/v1/sandboxes); done
  curl -s --no-progress-meter -Z --parallel-max "$n" --unix-socket "$SOCK" -X POST \
    -H "Authorization: Bearer $key" -H 'Content-Type: application/json' --data-binary "$body" \
    -w '%{filename_effective} %{http_code}\n' "${args[@]}" >"$T/$name.w" &
  BG+=($!)
  MANY+=("$name")
}
wait_bg() {
  local p m f c
  for p in "${BG[@]}"; do wait "$p"; done
  BG=()
  for m in "${MANY[@]}"; do
    while read -r f c; do echo "$c" >"${f%.body}.code"; done <"$T/$m.w"
  done
  MANY=()
}
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
codes() { local f; for f in "$@"; do cat "$T/$f.code"; done | sort | uniq -c | awk '{printf "%s×%s ", $2, $1}'; }

tenant KQ q --max-sandboxes 3
tenant KA a
leaks_snapshot
start_or_die

# ---- quotas hold with concurrent creates ------------------------------------------------------------
create_many q 6 "$KQ"
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
# Forty creates at once: ten times as many as there are builders, so most wait for one. Every
# record seen
# "creating" is deleted at once (in parallel); its DELETE answers 204 once nothing of it is
# left, its create 409 — or 201 when the build was settled before the DELETE arrived (then it is
# simply deleted).
N=40
create_many d $N "$KA"
CPID=${BG[-1]}
ids= seen=
for _ in $(seq 1000); do
  for id in $(creating); do
    case " $ids " in *" $id "*) continue ;; esac
    ids="$ids $id"
    # the loop answers while the sandbox is built (it used to build inside its own loop, so no
    # request could ever see a record "creating")
    curl -s -o "$T/get_$id.body" --unix-socket "$SOCK" -H "Authorization: Bearer $KA" \
      "http://s/v1/sandboxes/$id" &
    BG+=($!)
    curl -s -o /dev/null -w '%{http_code}' --unix-socket "$SOCK" -X DELETE \
      -H "Authorization: Bearer $KA" "http://s/v1/sandboxes/$id" >"$T/del_$id.code" &
    BG+=($!)
  done
  kill -0 "$CPID" 2>/dev/null || break
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
for id in $ids; do [ "$(jq -r .state "$T/get_$id.body" 2>/dev/null)" = creating ] && seen=1; done
check "a request is answered while the sandbox it names is built" "${seen:-no}" 1
check "delete while building: every DELETE 204, every create 201 or 409" "${bad:-none}" none
check "delete while building: some creates were deleted before they were built" \
  "$([ "$n409" -gt 0 ] && echo yes)" yes
check "delete while building: those records are destroyed" \
  "$(for id in $ids; do db "SELECT state FROM sandboxes WHERE id='$id'"; done | sort -u)" destroyed
# (the audit record follows the answer)
for _ in $(seq 100); do
  audit=$(db "SELECT record FROM audit_log WHERE record LIKE '%sandbox.create%'")
  grep -q '"status":409' <<<"$audit" && break
  sleep 0.05
done
contains "delete while building: the audit log has the create's 409" "$audit" '"status":409'
for i in $(seq $N); do
  id=$(jq -r 'select(.state == "running") | .id // empty' "$T/d$i.body" 2>/dev/null)
  [ -n "$id" ] && api DELETE "/v1/sandboxes/$id" "$KA" >/dev/null
done
check "delete while building: nothing live is left" "$(db "SELECT count(*) FROM sandboxes WHERE state IN ('creating','running')")" 0

# ---- SIGTERM with builds in flight --------------------------------------------------------------------
# Ten creates, more than twice as many as there are builders: SIGTERM once the daemon has taken
# all ten (their records exist), while some are still being built.
create_many t 10 "$KA"
inflight=0
for _ in $(seq 1000); do
  n=$(db "SELECT count(*) FROM sandboxes WHERE state IN ('creating','running')")
  [ "$n" = 10 ] && { inflight=$(creating | wc -l); break; }
  sleep 0.01
done
kill -TERM "$PID"
wait "$PID"
check "SIGTERM with builds in flight: exit 0" "$?" 0
PID=
wait_bg
check "SIGTERM came while sandboxes were being built" "$([ "$inflight" -gt 0 ] && echo yes)" yes
check "SIGTERM: the creates in flight were answered" "$(codes t1 t2 t3 t4 t5 t6 t7 t8 t9 t10)" "201×10 "
check "SIGTERM: no record left creating or running" \
  "$(db "SELECT count(*) FROM sandboxes WHERE state IN ('creating','running','standby')")" 0
check_no_leaks "SIGTERM with builds in flight"

# ---- kill -9 with builds in flight ------------------------------------------------------------------------
start_or_die
create_many k 8 "$KA"
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
