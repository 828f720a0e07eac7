#!/bin/sh
# guest.sh: runs as the init of a QEMU guest booted with `cgroup_no_v1=all` (scripts/test-v2.sh
# builds the initramfs). Exercises sealbox on pure cgroup v2 and writes one result line to the
# serial console: "SEALBOX-V2-RESULT passed=N failed=M". Busybox sh; no bashisms.
export PATH=/usr/bin:/usr/sbin
if [ "$1" != stage2 ]; then
  # The initramfs root (rootfs) cannot be pivot_root'ed away from, which every sandbox does:
  # copy it into a tmpfs and switch_root there first.
  mount -t proc proc /proc
  mkdir -p /newroot
  mount -t tmpfs -o size=90% tmpfs /newroot
  for e in /*; do
    case $e in /newroot | /proc) ;; *) cp -a "$e" /newroot/ ;; esac
  done
  mkdir -p /newroot/proc
  umount /proc
  exec switch_root /newroot /init stage2
fi
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mkdir -p /dev/pts /dev/shm /tmp /var/lib /run
mount -t devpts devpts /dev/pts
mount -t cgroup2 cgroup2 /sys/fs/cgroup
hostname sealbox-v2
for m in /lib/modules/*.ko; do [ -e "$m" ] && insmod "$m"; done
ip link set lo up 2>/dev/null

passed=0 failed=0
ok() { echo "v2: ok     $1"; passed=$((passed + 1)); }
bad() { echo "v2: FAIL   $1"; failed=$((failed + 1)); }
check() { if [ "$2" = "$3" ]; then ok "$1"; else bad "$1: got '$2', want '$3'"; fi; }
T=/tmp/t
mkdir -p $T
CG=/sys/fs/cgroup/sealbox

echo "v2: kernel $(uname -r), $(cat /proc/cmdline); tests start at guest uptime $(cut -d' ' -f1 /proc/uptime)s"
check "no cgroup v1 hierarchy is mounted" "$(grep -c ' cgroup ' /proc/mounts)" 0
check "the unified hierarchy offers memory, pids, cpu" \
  "$(tr ' ' '\n' </sys/fs/cgroup/cgroup.controllers | grep -cxE 'memory|pids|cpu')" 3

sealbox run -- sh -c 'echo hello from $(hostname)' >$T/out 2>$T/err
check "sealbox run works on cgroup v2" "$? $(cat $T/out)" "0 hello from sandbox"
[ -s $T/err ] && sed 's/^/v2:     /' $T/err
check "memory, pids and cpu are delegated below sealbox/" \
  "$(tr ' ' '\n' <$CG/cgroup.subtree_control | grep -cxE 'memory|pids|cpu')" 3

# limits as written into the sandbox's cgroup
id=$(sealbox run --detach --memory 64M --pids 16 --cpus 0.5 2>$T/err)
if [ -n "$id" ] && [ -d "$CG/$id" ]; then
  check "--memory -> memory.max" "$(cat $CG/$id/memory.max)" 67108864
  check "swap off -> memory.swap.max" "$(cat $CG/$id/memory.swap.max)" 0
  check "--pids -> pids.max" "$(cat $CG/$id/pids.max)" 16
  check "--cpus 0.5 -> cpu.max" "$(cat $CG/$id/cpu.max)" "50000 100000"
  # pids.max enforced: fork until refused, then count
  sealbox exec "$id" -- sh -c 'i=0; while [ $i -lt 40 ]; do sleep 60 & i=$((i+1)); done; sleep 1' >$T/out 2>$T/err
  cur=$(cat $CG/$id/pids.current)
  [ "$cur" -gt 8 ] && [ "$cur" -le 16 ] && ok "pids.max enforced: $cur processes left (at most 16)" ||
    bad "pids.current $cur"
  ev=$(sed -n 's/^max //p' $CG/$id/pids.events)
  [ "${ev:-0}" -gt 0 ] && ok "pids.max enforced: $ev forks refused (pids.events)" || bad "pids.events: '$(cat $CG/$id/pids.events)'"
  grep -q "can't fork\|Resource temporarily unavailable" $T/err && ok "fork fails with EAGAIN inside" || bad "fork error: $(head -c 200 $T/err)"
  sealbox rm "$id"
  check "rm: the sandbox's cgroup is gone" "$(test -d $CG/$id && echo left || echo gone)" gone
else
  bad "run --detach: '$id' $(cat $T/err)"
fi

sealbox run --memory 24M -- sh -c 'x=$(head -c 100000000 /dev/zero | tr "\0" a); echo ${#x}' >$T/out 2>$T/err
check "OOM kill is 137" "$?" 137
check "OOM message" "$(tail -1 $T/err)" "killed: out of memory"

sealbox run --timeout 1s --kill-after 500ms -- sh -c 'trap "" TERM; (setsid sh -c "trap \"\" TERM; sleep 300" &); sleep 300' 2>/dev/null
check "timeout kills a TERM-ignoring double-forked daemon (124)" "$?" 124

# freeze / thaw through cgroup.freeze, and rm while frozen
id=$(sealbox run --detach -- sh -c 'while :; do echo t; sleep 0.1; done')
if [ -n "$id" ] && [ -d "$CG/$id" ]; then
  log=/var/lib/sealbox/sandboxes/$id/main.log
  n=0; while [ ! -s "$log" ] && [ $n -lt 100 ]; do sleep 0.1; n=$((n+1)); done
  sealbox freeze "$id"
  check "freeze writes cgroup.freeze" "$(cat $CG/$id/cgroup.freeze)" 1
  check "cgroup.events says frozen" "$(grep '^frozen' $CG/$id/cgroup.events)" "frozen 1"
  sealbox ps | grep -q "^$id  frozen" && ok "ps shows frozen" || bad "ps: $(sealbox ps)"
  a=$(wc -l <"$log"); sleep 1; b=$(wc -l <"$log")
  check "frozen: no progress" "$b" "$a"
  sealbox thaw "$id"
  check "thaw clears cgroup.freeze" "$(cat $CG/$id/cgroup.freeze) $(grep '^frozen' $CG/$id/cgroup.events)" "0 frozen 0"
  n=0; while [ "$(wc -l <"$log")" -le "$b" ] && [ $n -lt 100 ]; do sleep 0.1; n=$((n+1)); done
  [ "$(wc -l <"$log")" -gt "$b" ] && ok "thawed: progress again" || bad "no progress after thaw"
  sealbox freeze "$id"
  sealbox rm "$id" && ok "rm while frozen" || bad "rm while frozen"
  check "rm while frozen: the cgroup is gone" "$(test -d $CG/$id && echo left || echo gone)" gone
else
  bad "run --detach (ticker): '$id'"
fi

check "no sandbox cgroup left" "$(find $CG -mindepth 1 -type d | wc -l)" 0
check "no sandbox process left" "$(cat $CG/cgroup.procs | wc -l)" 0
check "no sandbox record left" "$(ls -A /var/lib/sealbox/sandboxes | wc -l)" 0

echo "v2: tests end at guest uptime $(cut -d' ' -f1 /proc/uptime)s"
echo "SEALBOX-V2-RESULT passed=$passed failed=$failed"
sync
poweroff -f
