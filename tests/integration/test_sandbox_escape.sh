#!/usr/bin/env bash
# test_sandbox_escape: every escape probe (tests/integration/probes/, built without ASan into
# <build>/probes) runs inside a fresh sandbox, where the attack must be refused with the
# expected errno or signal, and on the host as its positive control, where root's attack must
# work (or the probe says no control is possible here, and why is in the probe's source).
set -uo pipefail
. "$(dirname "$0")/lib.sh"
sb=$SEALBOX
probes=${SEALBOX_BUILD_DIR:-$(dirname "$sb")}/probes
need_root
[ -x "$probes/probe_syscalls" ] || { echo "FAIL: probes not built in $probes"; exit 1; }
tmp_init escape-test
export SEALBOX_STATE_DIR=$D
at_exit 'kill $listener 2>/dev/null'
own_cgroup_parent

abstract=sbprobe-$$
python3 - "$T/port" "$abstract" <<'EOF' &
import socket, sys, time
t = socket.socket(); t.bind(("127.0.0.1", 0)); t.listen(64)
u = socket.socket(socket.AF_UNIX); u.bind("\0" + sys.argv[2]); u.listen(64)
open(sys.argv[1], "w").write(str(t.getsockname()[1]))
time.sleep(600)
EOF
listener=$!
for _ in $(seq 100); do [ -s "$T/port" ] && break; sleep 0.05; done
port=$(cat "$T/port")
mkdir -p "$T/rw"
exec 7</etc/hostname # an fd the caller leaks: it must not reach the workload

total=0 controls=0
while read -r prog name arg_in arg_host; do
  [ -z "$prog" ] && continue
  case $arg_in in PORT) arg_in=$port ;; ABS) arg_in=$abstract ;; PID) arg_in=$$ ;; -) arg_in= ;; esac
  case $arg_host in PORT) arg_host=$port ;; ABS) arg_host=$abstract ;; PID) arg_host=$$ ;; RW) arg_host=$T/rw ;; -) arg_host= ;; esac
  total=$((total + 1))
  "$sb" run --mount "$probes:/probes:ro" --timeout 20s -- "/probes/$prog" "$name" inside $arg_in \
    </dev/null >"$T/out" 2>&1
  in=$?
  "$probes/$prog" "$name" host $arg_host </dev/null >"$T/hout" 2>&1
  host=$?
  if [ $in != 0 ]; then
    echo "FAIL   $prog $name: not refused inside (exit $in)"; sed 's/^/    /' "$T/out" | head -3
    fails=$((fails + 1))
  elif [ $host = 0 ]; then
    controls=$((controls + 1)); echo "ok     $prog $name (refused inside; works on the host)"
  elif [ $host = 3 ]; then
    echo "ok     $prog $name (refused inside; no positive control possible here)"
  else
    echo "FAIL   $prog $name: positive control failed on the host (exit $host)"
    sed 's/^/    /' "$T/hout" | head -3; fails=$((fails + 1))
  fi
done <<'LIST'
probe_syscalls unshare_user - -
probe_syscalls unshare_mnt - -
probe_syscalls clone_newpid - -
probe_syscalls clone3 - -
probe_syscalls setns - -
probe_syscalls mount - -
probe_syscalls umount - -
probe_syscalls fsopen - -
probe_syscalls open_tree - -
probe_syscalls chroot - -
probe_syscalls pivot_root - -
probe_syscalls finit_module - -
probe_syscalls kexec_load - -
probe_syscalls keyctl - -
probe_syscalls add_key - -
probe_syscalls bpf - -
probe_syscalls perf_event_open - -
probe_syscalls userfaultfd - -
probe_syscalls io_uring - -
probe_syscalls personality - -
probe_syscalls adjtimex - -
probe_syscalls reboot - -
probe_syscalls swapon - -
probe_syscalls x32 - -
probe_syscalls int80 - -
probe_init ptrace_init - -
probe_init process_vm_readv_init - -
probe_init proc1_mem - -
probe_init proc1_environ - -
probe_init proc1_root - -
probe_init proc1_exe - -
probe_init proc1_ctl_fd - -
probe_init signal_init - -
probe_init sigkill_init - -
probe_init tiocsti - -
probe_init tiocsti_high_bits - -
probe_priv caps_empty - -
probe_priv setresuid - -
probe_priv setgroups - -
probe_priv mknod_device - -
probe_priv dev_minimal - -
probe_priv open_by_handle_at - -
probe_proc core_pattern - -
probe_proc modprobe_path - -
probe_proc sysrq - -
probe_proc uevent_helper - -
probe_proc cgroup_release_agent - -
probe_proc kallsyms - -
probe_proc host_pid PID PID
probe_proc sys_firmware - -
probe_proc own_proc - -
probe_net af_packet - -
probe_net raw_socket - -
probe_net vsock - -
probe_net netlink_xfrm - -
probe_net interface_change - -
probe_net host_loopback PORT PORT
probe_net cloud_metadata - -
probe_net host_abstract_socket ABS ABS
probe_fs leaked_fds - -
probe_fs ro_mount /probes RW
probe_fs dotdot_root - -
probe_fs proc1_exe_write - -
probe_fs hardlink_out - -
LIST
echo "$total probes, $controls with a positive control on this host, $fails failures"
[ $fails -eq 0 ] && [ $total -ge 40 ]
