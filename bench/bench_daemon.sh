#!/usr/bin/env bash
# bench_daemon: sealboxd over its unix socket — POST /v1/sandboxes from the warm pool and built
# fresh, and create+exec+delete through the API next to `sealbox run -- true`, all in the same
# run. Figures are medians; the ratios are the ones to compare across machines: warm-pool create
# against an authenticated GET /v1/tenant (the same trip through front and monitor that does
# nothing), API create+exec+delete against `sealbox run`. The load test (100 clients) is
# bench_daemon_load.
# usage: bench_daemon.sh BUILD_DIR   (needs root for jail sandboxes; skips otherwise)
set -uo pipefail
build=${1:?build dir}
sb=$build/sealbox
sbd=$build/sealboxd
N=${BENCH_N:-20}
if [ "$(id -u)" != 0 ] || ! "$sb" run -- /bin/true >/dev/null 2>&1; then
  echo "bench_daemon: skipped (jail sandboxes need root)"; exit 0
fi
T=$(mktemp -d /tmp/sealbox-bench.XXXXXX)
PID=
trap '[ -n "$PID" ] && kill -9 $PID 2>/dev/null; rm -rf "$T"' EXIT
"$sb" admin --state-dir "$T" tenant create bench >/dev/null
KEY=$("$sb" admin --state-dir "$T" key create bench 2>/dev/null)
"$sbd" --state-dir "$T" --log-file "$T/log" --warm-pool 4 &
PID=$!
S=$T/sealboxd.sock
api() { curl -s --unix-socket "$S" -H "Authorization: Bearer $KEY" "$@"; }
for _ in $(seq 100); do api http://b/v1/health >/dev/null && break; sleep 0.1; done
pool_ready() {
  for _ in $(seq 200); do
    api http://b/metrics | grep -q 'sealbox_warm_pool{kind="ready"} 4' && return 0
    sleep 0.05
  done
}
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
ms() { awk '{printf "%.2f\n", $1 * 1000}'; }

: >"$T/pool"; : >"$T/fresh"; : >"$T/api"; : >"$T/run"; : >"$T/noop"
for _ in $(seq "$N"); do
  pool_ready
  api -o /dev/null -w '%{time_total}\n' http://b/v1/tenant >>"$T/noop"
  out=$(api -o "$T/b" -w '%{time_total}' -X POST http://b/v1/sandboxes)
  echo "$out" >>"$T/pool"
  api -o /dev/null -X DELETE "http://b/v1/sandboxes/$(jq -r .id "$T/b")"
  out=$(api -o "$T/b" -w '%{time_total}' -H 'Content-Type: application/json' \
        -d '{"limits":{"memory_mb":256}}' http://b/v1/sandboxes)
  echo "$out" >>"$T/fresh"
  api -o /dev/null -X DELETE "http://b/v1/sandboxes/$(jq -r .id "$T/b")"
  pool_ready
  t0=$(date +%s%N)
  id=$(api -X POST http://b/v1/sandboxes | jq -r .id)
  api -o /dev/null -H 'Content-Type: application/json' -d '{"cmd":"true"}' "http://b/v1/sandboxes/$id/exec"
  api -o /dev/null -X DELETE "http://b/v1/sandboxes/$id"
  echo "$(( $(date +%s%N) - t0 ))" >>"$T/api"
  t0=$(date +%s%N)
  "$sb" run -- /bin/true
  echo "$(( $(date +%s%N) - t0 ))" >>"$T/run"
done
kill -TERM "$PID"; wait "$PID"; PID=
p=$(median <"$T/pool" | ms); f=$(median <"$T/fresh" | ms); o=$(median <"$T/noop" | ms)
a=$(median <"$T/api" | awk '{printf "%.2f\n", $1 / 1e6}'); r=$(median <"$T/run" | awk '{printf "%.2f\n", $1 / 1e6}')
echo "create from the warm pool, p50:   $p ms  (goal: 5 ms)"
echo "GET /v1/tenant, p50:              $o ms  (pool create / GET: $(awk -v p="$p" -v o="$o" 'BEGIN{printf "%.1f", p/o}'))"
echo "create built fresh, p50:          $f ms  (pool speed-up x$(awk -v f="$f" -v p="$p" 'BEGIN{printf "%.1f", f/p}'))"
echo "API create+exec+delete, p50:      $a ms"
echo "sealbox run -- true, p50:         $r ms"
echo "ratio API / sealbox run:          $(awk -v a="$a" -v r="$r" 'BEGIN{printf "%.2f", a/r}')  ($N rounds)"
