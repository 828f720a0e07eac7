#!/usr/bin/env bash
# test_sandbox_detach: detached sandboxes (run --detach, exec, freeze, thaw, rm, ps) — a frozen
# sandbox makes no progress and resumes, destroy works while frozen (v1: thaw before kill) and
# leaves nothing — and imported images (digest determinism and sensitivity, idmapped owners).
set -uo pipefail
. "$(dirname "$0")/lib.sh"
sb=$SEALBOX
need_root
tmp_init detach-test
export SEALBOX_STATE_DIR=$D
at_exit 'for d in $(ls "$SEALBOX_STATE_DIR/sandboxes" 2>/dev/null); do "$sb" rm "$d"; done'
own_cgroup_parent
ticks() { wc -l <"$SEALBOX_STATE_DIR/sandboxes/$1/main.log"; }

id=$("$sb" run --detach --memory 64M -- sh -c 'while :; do echo t; sleep 0.05; done')
[ ${#id} = 16 ] && pass "run --detach prints an id" || { fail "detach: '$id'"; exit 1; }
"$sb" ps | grep -q "^$id  running" && pass "ps: running" || fail "ps: $("$sb" ps)"
out=$("$sb" exec "$id" -- sh -c 'echo in-$(hostname); exit 4'); rc=$?
[ "$out" = in-sandbox ] && [ $rc = 4 ] && pass "exec: output and status" || fail "exec: '$out' $rc"
out=$(echo piped | "$sb" exec "$id" -- cat)
[ "$out" = piped ] && pass "exec: stdin" || fail "exec stdin: '$out'"
"$sb" exec --timeout 200ms "$id" -- sh -c 'cp /bin/sleep /tmp/napper && exec /tmp/napper 10' 2>/dev/null; rc=$?
[ $rc = 124 ] && pass "exec: timeout 124 (the sandbox stays)" || fail "exec timeout: $rc"
"$sb" exec "$id" -- true && pass "sandbox alive after an exec timeout" || fail "sandbox gone after timeout"
out=$("$sb" exec "$id" -- sh -c 'cat /proc/[0-9]*/comm' | grep -c '^napper$')
[ "$out" = 0 ] && pass "exec timeout: the command is gone" || fail "exec timeout left $out processes"
mkdir -p "$T/sig" && mkfifo "$T/sig/ready"
sid=$("$sb" run --detach --mount "$T/sig:/sig")
"$sb" exec "$sid" -- sh -c 'echo up >/sig/ready; exec sleep 60' & epid=$!
read -r _ <"$T/sig/ready"
kill -TERM $epid; wait $epid; rc=$?
[ $rc = 143 ] && pass "SIGTERM to sealbox exec reaches the command (143)" || fail "exec SIGTERM: exit $rc"
"$sb" rm "$sid"

sleep 0.3
"$sb" freeze "$id" && pass "freeze" || fail "freeze"
"$sb" ps | grep -q "^$id  frozen" && pass "ps: frozen" || fail "ps frozen: $("$sb" ps)"
a=$(ticks "$id"); sleep 0.5; b=$(ticks "$id")
[ "$a" = "$b" ] && pass "frozen: no progress ($a lines)" || fail "frozen but progressing: $a -> $b"
"$sb" thaw "$id" && pass "thaw" || fail "thaw"
sleep 0.4; c=$(ticks "$id")
[ "$c" -gt "$b" ] && pass "thawed: progress again ($b -> $c)" || fail "no progress after thaw: $b -> $c"
"$sb" freeze "$id"
"$sb" rm "$id" && pass "rm while frozen" || fail "rm while frozen"
[ ! -e "$SEALBOX_STATE_DIR/sandboxes/$id" ] && pass "rm: directory gone" || fail "rm left the directory"
[ "$(cg_count)" = 0 ] && pass "rm: cgroups gone" || fail "rm left cgroups"
procs=$(grep -l "$SEALBOX_CGROUP_PARENT" /proc/[0-9]*/cgroup 2>/dev/null | wc -l)
[ "$procs" = 0 ] && pass "rm: no process left" || fail "rm left $procs processes"
"$sb" exec "$id" -- true 2>"$T/err"; rc=$?
[ $rc = 125 ] && grep -q "not found" "$T/err" && pass "exec on a removed sandbox: 125" || fail "exec removed: $rc"
"$sb" freeze nothex 2>/dev/null; [ $? = 125 ] && pass "freeze of a bad id: 125" || fail "bad id"

# ---- images ----
img=$T/img
mkdir -p "$img/bin" "$img/etc" "$img/data"
cp /bin/dash "$img/bin/sh"
for l in $(ldd /bin/dash | grep -o '/[^ :]*' | sort -u); do mkdir -p "$img$(dirname "$l")"; cp -L "$l" "$img$l"; done
echo motd >"$img/etc/motd"; chown 1000:1000 "$img/data"
d1=$("$sb" image import "$img") && pass "import: $d1" || fail "import failed"
d2=$("$sb" image import "$img"); [ "$d1" = "$d2" ] && pass "import is deterministic" || fail "$d1 != $d2"
(cd "$img" && tar cf "$T/img.tar" .)
d3=$("$sb" image import "$T/img.tar"); [ "$d1" = "$d3" ] && pass "tar gives the same digest" || fail "tar $d3"
echo changed >"$img/etc/motd"
d4=$("$sb" image import "$img"); [ "$d4" != "$d1" ] && pass "content changes the digest" || fail "content"
chmod 0600 "$img/etc/motd"
d5=$("$sb" image import "$img"); [ "$d5" != "$d4" ] && pass "mode changes the digest" || fail "mode"
chown 5:5 "$img/etc/motd"
d6=$("$sb" image import "$img"); [ "$d6" != "$d5" ] && pass "owner changes the digest" || fail "owner"
mkfifo "$img/fifo"
"$sb" image import "$img" 2>"$T/err"; rc=$?
[ $rc != 0 ] && grep -q fifo "$T/err" && pass "a fifo is refused" || fail "fifo: $rc"
out=$("$sb" run --image "$d1" -- /bin/sh -c 'read m </etc/motd; echo $m; (echo >/data/x) 2>/dev/null || echo denied')
[ "$out" = "$(printf 'motd\ndenied')" ] && pass "run --image: content, uid 1000 dir not writable by root-without-caps" ||
  fail "run image: $out"
id=$("$sb" run --detach --image "${d1#sha256:}" -- true)
grep -q "^image=$d1\$" "$SEALBOX_STATE_DIR/sandboxes/$id/record" && pass "image digest recorded" || fail "record"
"$sb" rm "$id"
"$sb" run --image sha256:ffffffffffffffff -- true 2>/dev/null; [ $? = 125 ] && pass "unknown image: 125" || fail "unknown image"

finish test_sandbox_detach
