#!/usr/bin/env bash
# test_sandbox_limits: resource exhaustion stays inside — a fork bomb hits pids.max, a memory
# hog is OOM-killed inside (137), a full writable layer gives ENOSPC, an output flood to a slow
# reader does not grow the host side's memory, zombies are reaped, a TERM-ignoring double-forked
# daemon dies with the timeout, and nothing is left behind. Needs root.
set -uo pipefail
. "$(dirname "$0")/lib.sh"
sb=$SEALBOX
need_root
tmp_init limits-test
export SEALBOX_STATE_DIR=$D
own_cgroup_parent

# fork bomb: processes stop at pids.max; the timeout then kills every one of them
out=$("$sb" run --pids 40 -- python3 -c '
import os, time
n = 0
try:
    while n < 200:
        if os.fork() == 0:
            time.sleep(30)
            os._exit(0)
        n += 1
except OSError as e:
    print(n, e.errno)
')
n=${out% *}
[ "${out#* }" = 11 ] && [ "$n" -lt 40 ] && pass "fork fails with EAGAIN at --pids 40 ($n children)" || fail "pids: '$out'"
# (the bomb starts from one background subshell, the main shell's only fork, and the main shell
# then spins on builtins: dash forks each element of a pipeline itself, so a bomb started from
# the main shell made its own second fork race the bomb, and lose with exit 2 under load)
"$sb" run --pids 32 --timeout 2s -- sh -c '(b() { b | b & }; b) & while :; do :; done' >/dev/null 2>&1; rc=$?
[ $rc = 124 ] && pass "fork bomb contained, killed by the timeout (124)" || fail "fork bomb: exit $rc"
"$sb" run -- true && pass "host still starts sandboxes after the bomb" || fail "after bomb"

# memory
"$sb" run --memory 32M -- python3 -c 'b = bytearray(256 << 20)' 2>"$T/err"; rc=$?
[ $rc = 137 ] && grep -qx "killed: out of memory" "$T/err" && pass "memory hog: 137, killed: out of memory" || fail "oom: $rc $(cat "$T/err")"
out=$("$sb" run --memory 64M --disk 256M -- sh -c 'head -c 100000000 /dev/zero >/tmp/big; echo $?' 2>&1); rc=$?
[ $rc = 137 ] || echo "$out" | grep -q "No space\|Cannot allocate" && pass "writable layer counts against memory (exit $rc)" || fail "tmpfs vs memory: $rc $out"

# disk
out=$("$sb" run --disk 4M -- sh -c 'head -c 10000000 /dev/zero >/tmp/f' 2>&1)
echo "$out" | grep -q "No space left" && pass "writable layer full: ENOSPC" || fail "disk: $out"
out=$("$sb" run --disk 1M -- python3 -c '
n = 0
try:
    while n < 100000:
        open("/tmp/f%d" % n, "w").close()
        n += 1
except OSError as e:
    print(n, e.errno)
')
[ "${out#* }" = 28 ] && [ "${out% *}" -lt 5000 ] && pass "inodes bounded: ENOSPC after ${out% *} files in a 1M layer" || fail "inodes: $out"
out=$("$sb" run -- sh -c 'ulimit -n; ulimit -c')
[ "$out" = "$(printf '4096\n0')" ] && pass "rlimits: nofile 4096, core 0" || fail "rlimits: $out"

# output flood to a slow reader: back-pressure, the CLI's memory stays flat
("$sb" run -- sh -c 'head -c 300000000 /dev/zero' | (sleep 2; cat >/dev/null)) &
flood=$!
sleep 0.5
cli=$(pgrep -P "$flood" -x sealbox | head -1)
[ -z "$cli" ] && cli=$(pgrep -n -x sealbox)
max=0
while kill -0 "$flood" 2>/dev/null; do
  rss=$(awk '/^VmRSS/ {print $2}' "/proc/$cli/status" 2>/dev/null || echo 0)
  [ "${rss:-0}" -gt "$max" ] && max=$rss
  sleep 0.1
done
wait $flood
[ "$max" -gt 0 ] && [ "$max" -lt 200000 ] && pass "300 MB flood through a slow reader: host RSS peak ${max} kB" || fail "flood: RSS peak $max kB"

# zombies: orphans are reaped by sealbox-init
out=$("$sb" run -- sh -c 'for i in 1 2 3 4 5 6 7 8 9 10; do (sh -c "exit 0" &); done; sleep 0.5; grep -l "^State:.*Z" /proc/[0-9]*/status 2>/dev/null | wc -l')
[ "$out" = 0 ] && pass "no zombies (init reaps orphans)" || fail "zombies: $out"

# a TERM-ignoring, double-forked, setsid daemon dies with the timeout
"$sb" run --timeout 1s -- sh -c 'trap "" TERM; (setsid sh -c "trap \"\" TERM HUP; sleep 300" &); sleep 300' 2>/dev/null; rc=$?
[ $rc = 124 ] && pass "timeout kills a double-forked TERM-ignoring daemon" || fail "daemon: $rc"

# CPU cap: a spinning loop with --cpus 0.2 gets about a fifth of a CPU (checked loosely)
out=$("$sb" run --cpus 0.2 --timeout 3s -- sh -c 'while :; do :; done' 2>&1); rc=$?
[ $rc = 124 ] && pass "cpu-capped spin ends at the timeout" || fail "cpu: $rc"

# nothing left behind
[ "$(cg_count)" = 0 ] && pass "no cgroup left" || fail "cgroups left"
procs=$(grep -l "$SEALBOX_CGROUP_PARENT" /proc/[0-9]*/cgroup 2>/dev/null | wc -l)
[ "$procs" = 0 ] && pass "no process left" || fail "$procs processes left"
[ "$(ls -A "$SEALBOX_STATE_DIR/sandboxes" | wc -l)" = 0 ] && pass "no sandbox directory left" || fail "directories left"

finish test_sandbox_limits
