#!/usr/bin/env bash
# test_sandbox_detach: detached sandboxes (run --detach, exec, freeze, thaw, rm, ps) — a frozen
# sandbox makes no progress and resumes, destroy works while frozen (v1: thaw before kill) and
# leaves nothing — and imported images (digest determinism and sensitivity, idmapped owners).
set -uo pipefail
sb=${SEALBOX:?SEALBOX must point at the sealbox binary}
if [ "$(id -u)" != 0 ]; then
  if [ "${CI:-}" = true ]; then echo "FAIL: needs root under CI"; exit 1; fi
  echo "SKIP: needs root"; exit 77
fi
tmp=$(mktemp -d /tmp/sb-detach-test.XXXXXX)
export SEALBOX_STATE_DIR=$tmp/state SEALBOX_CGROUP_PARENT=sealbox-test-$$
cgdirs() { find /sys/fs/cgroup -maxdepth 8 -type d -name "$SEALBOX_CGROUP_PARENT" 2>/dev/null; }
trap 'for d in $(ls "$SEALBOX_STATE_DIR/sandboxes" 2>/dev/null); do "$sb" rm "$d"; done; cgdirs | xargs -r rmdir 2>/dev/null; rm -rf "$tmp"' EXIT
fails=0
pass() { echo "ok     $1"; }
bad() { echo "FAIL   $1"; fails=$((fails + 1)); }
ticks() { wc -l <"$SEALBOX_STATE_DIR/sandboxes/$1/main.log"; }

id=$("$sb" run --detach --memory 64M -- sh -c 'while :; do echo t; sleep 0.05; done')
[ ${#id} = 16 ] && pass "run --detach prints an id" || { bad "detach: '$id'"; exit 1; }
"$sb" ps | grep -q "^$id  running" && pass "ps: running" || bad "ps: $("$sb" ps)"
out=$("$sb" exec "$id" -- sh -c 'echo in-$(hostname); exit 4'); rc=$?
[ "$out" = in-sandbox ] && [ $rc = 4 ] && pass "exec: output and status" || bad "exec: '$out' $rc"
out=$(echo piped | "$sb" exec "$id" -- cat)
[ "$out" = piped ] && pass "exec: stdin" || bad "exec stdin: '$out'"
"$sb" exec --timeout 200ms "$id" -- sh -c 'cp /bin/sleep /tmp/napper && exec /tmp/napper 10' 2>/dev/null; rc=$?
[ $rc = 124 ] && pass "exec: timeout 124 (the sandbox stays)" || bad "exec timeout: $rc"
"$sb" exec "$id" -- true && pass "sandbox alive after an exec timeout" || bad "sandbox gone after timeout"
out=$("$sb" exec "$id" -- sh -c 'cat /proc/[0-9]*/comm' | grep -c '^napper$')
[ "$out" = 0 ] && pass "exec timeout: the command is gone" || bad "exec timeout left $out processes"
mkdir -p "$tmp/sig" && mkfifo "$tmp/sig/ready"
sid=$("$sb" run --detach --mount "$tmp/sig:/sig")
"$sb" exec "$sid" -- sh -c 'echo up >/sig/ready; exec sleep 60' & epid=$!
read -r _ <"$tmp/sig/ready"
kill -TERM $epid; wait $epid; rc=$?
[ $rc = 143 ] && pass "SIGTERM to sealbox exec reaches the command (143)" || bad "exec SIGTERM: exit $rc"
"$sb" rm "$sid"

sleep 0.3
"$sb" freeze "$id" && pass "freeze" || bad "freeze"
"$sb" ps | grep -q "^$id  frozen" && pass "ps: frozen" || bad "ps frozen: $("$sb" ps)"
a=$(ticks "$id"); sleep 0.5; b=$(ticks "$id")
[ "$a" = "$b" ] && pass "frozen: no progress ($a lines)" || bad "frozen but progressing: $a -> $b"
"$sb" thaw "$id" && pass "thaw" || bad "thaw"
sleep 0.4; c=$(ticks "$id")
[ "$c" -gt "$b" ] && pass "thawed: progress again ($b -> $c)" || bad "no progress after thaw: $b -> $c"
"$sb" freeze "$id"
"$sb" rm "$id" && pass "rm while frozen" || bad "rm while frozen"
[ ! -e "$SEALBOX_STATE_DIR/sandboxes/$id" ] && pass "rm: directory gone" || bad "rm left the directory"
[ "$(for d in $(cgdirs); do find "$d" -mindepth 1 -type d; done | wc -l)" = 0 ] && pass "rm: cgroups gone" || bad "rm left cgroups"
procs=$(grep -l "$SEALBOX_CGROUP_PARENT" /proc/[0-9]*/cgroup 2>/dev/null | wc -l)
[ "$procs" = 0 ] && pass "rm: no process left" || bad "rm left $procs processes"
"$sb" exec "$id" -- true 2>"$tmp/err"; rc=$?
[ $rc = 125 ] && grep -q "not found" "$tmp/err" && pass "exec on a removed sandbox: 125" || bad "exec removed: $rc"
"$sb" freeze nothex 2>/dev/null; [ $? = 125 ] && pass "freeze of a bad id: 125" || bad "bad id"

# ---- images ----
img=$tmp/img
mkdir -p "$img/bin" "$img/etc" "$img/data"
cp /bin/dash "$img/bin/sh"
for l in $(ldd /bin/dash | grep -o '/[^ :]*' | sort -u); do mkdir -p "$img$(dirname "$l")"; cp -L "$l" "$img$l"; done
echo motd >"$img/etc/motd"; chown 1000:1000 "$img/data"
d1=$("$sb" image import "$img") && pass "import: $d1" || bad "import failed"
d2=$("$sb" image import "$img"); [ "$d1" = "$d2" ] && pass "import is deterministic" || bad "$d1 != $d2"
(cd "$img" && tar cf "$tmp/img.tar" .)
d3=$("$sb" image import "$tmp/img.tar"); [ "$d1" = "$d3" ] && pass "tar gives the same digest" || bad "tar $d3"
echo changed >"$img/etc/motd"
d4=$("$sb" image import "$img"); [ "$d4" != "$d1" ] && pass "content changes the digest" || bad "content"
chmod 0600 "$img/etc/motd"
d5=$("$sb" image import "$img"); [ "$d5" != "$d4" ] && pass "mode changes the digest" || bad "mode"
chown 5:5 "$img/etc/motd"
d6=$("$sb" image import "$img"); [ "$d6" != "$d5" ] && pass "owner changes the digest" || bad "owner"
mkfifo "$img/fifo"
"$sb" image import "$img" 2>"$tmp/err"; rc=$?
[ $rc != 0 ] && grep -q fifo "$tmp/err" && pass "a fifo is refused" || bad "fifo: $rc"
out=$("$sb" run --image "$d1" -- /bin/sh -c 'read m </etc/motd; echo $m; (echo >/data/x) 2>/dev/null || echo denied')
[ "$out" = "$(printf 'motd\ndenied')" ] && pass "run --image: content, uid 1000 dir not writable by root-without-caps" ||
  bad "run image: $out"
id=$("$sb" run --detach --image "${d1#sha256:}" -- true)
grep -q "^image=$d1\$" "$SEALBOX_STATE_DIR/sandboxes/$id/record" && pass "image digest recorded" || bad "record"
"$sb" rm "$id"
"$sb" run --image sha256:ffffffffffffffff -- true 2>/dev/null; [ $? = 125 ] && pass "unknown image: 125" || bad "unknown image"

echo "$fails failures"
[ $fails -eq 0 ]
