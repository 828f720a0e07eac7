#!/usr/bin/env bash
# test_sandbox_run: `sealbox run` end to end — the exit-status contract, what the sandbox can
# see (not the host's processes, network or files), idmapped image ownership, stdin streaming,
# bad input (exit 125, clear message) and that nothing is left behind. Needs root.
set -uo pipefail
. "$(dirname "$0")/lib.sh"
sb=$SEALBOX
need_root "sealbox run needs root"
tmp_init run-test
export SEALBOX_STATE_DIR=$D
own_cgroup_parent
expect_rc() { # name want cmd...
  local name=$1 want=$2; shift 2
  "$@" >"$T/out" 2>"$T/err"; local rc=$?
  if [ "$rc" = "$want" ]; then pass "$name (exit $rc)"; else
    fail "$name: exit $rc, wanted $want"; sed 's/^/    /' "$T/err" | head -5; fi
}
mounts0=$(wc -l </proc/self/mountinfo)
cg0=$(cg_count)

# ---- exit-status contract ----
expect_rc "status of CMD" 7 "$sb" run -- sh -c 'exit 7'
expect_rc "signal is 128+N" 143 "$sb" run -- sh -c 'kill -TERM $$'
expect_rc "not found is 127" 127 "$sb" run -- /no/such/program
grep -q "No such file" "$T/err" && pass "not-found message" || fail "not-found message"
expect_rc "not executable is 126" 126 "$sb" run -- /etc/passwd
expect_rc "timeout is 124" 124 "$sb" run --timeout 300ms -- sleep 30
grep -qx "killed: timeout" "$T/err" && pass "timeout message" || fail "timeout message"
expect_rc "OOM is 137" 137 "$sb" run --memory 24M -- sh -c 'x=$(head -c 100000000 /dev/zero | tr "\0" a); echo ${#x}'
grep -qx "killed: out of memory" "$T/err" && pass "oom message" || fail "oom message: $(cat "$T/err")"
expect_rc "bad workdir is 126" 126 "$sb" run --workdir /nonexistent -- true

# ---- signals: what `sealbox run` receives reaches the workload ----
# The workload announces itself on a FIFO (bound in), so the signal is sent only once it runs.
mkdir -p "$T/sig"
signal_run() { # signal workload-script -> status of sealbox run
  rm -f "$T/sig/ready"; mkfifo "$T/sig/ready"
  "$sb" run --mount "$T/sig:/sig" -- sh -c "$2" >"$T/out" 2>"$T/err" &
  local pid=$!
  read -r _ <"$T/sig/ready"
  kill -"$1" $pid; wait $pid
}
signal_run INT 'echo up >/sig/ready; exec sleep 60'; rc=$?
[ $rc = 130 ] && pass "SIGINT to sealbox run reaches the workload (130)" || fail "SIGINT: exit $rc"
signal_run TERM 'echo up >/sig/ready; exec sleep 60'; rc=$?
[ $rc = 143 ] && pass "SIGTERM to sealbox run reaches the workload (143)" || fail "SIGTERM: exit $rc"
signal_run TERM 'trap "echo cleaned; exit 3" TERM; echo up >/sig/ready; sleep 60 & wait'; rc=$?
[ $rc = 3 ] && [ "$(cat "$T/out")" = cleaned ] && pass "a TERM handler in the workload runs (exit 3)" ||
  fail "TERM handler: exit $rc, '$(cat "$T/out")'"
signal_run HUP 'echo up >/sig/ready; sh -c "sleep 60"'; rc=$?
[ $rc = 129 ] && pass "SIGHUP reaches the whole process group (129)" || fail "SIGHUP: exit $rc"
# a timeout: SIGTERM first (the workload may clean up), SIGKILL after --kill-after
expect_rc "timeout sends SIGTERM first (124)" 124 "$sb" run --timeout 300ms --kill-after 10s -- sh -c 'trap "echo got TERM; exit 0" TERM; sleep 60 & wait'
[ "$(cat "$T/out")" = "got TERM" ] && pass "the workload saw the timeout's SIGTERM" || fail "timeout TERM: '$(cat "$T/out")'"
expect_rc "timeout: SIGKILL after the grace when TERM is ignored (124)" 124 "$sb" run --timeout 300ms --kill-after 300ms -- sh -c 'trap "echo ignored" TERM; while :; do sleep 0.1; done'
grep -q ignored "$T/out" && pass "TERM was delivered, ignored, then SIGKILL" || fail "ignored TERM: '$(cat "$T/out")'"
expect_rc "bad --kill-after" 125 "$sb" run --kill-after 0 -- true
# init keeps exactly SETGID, SETUID, SETPCAP and KILL, in the sandbox's user namespace only
out=$("$sb" run -- sh -c 'grep ^CapEff: /proc/1/status | tr -s "\t " " "')
[ "$out" = "CapEff: 00000000000001e0" ] && pass "init's capabilities: setgid, setuid, setpcap, kill" || fail "init caps: $out"

# ---- isolation as seen from inside ----
out=$("$sb" run -- sh -c 'cat /proc/1/comm; ls /proc | grep "^[0-9]" | sort -n | tail -1' 2>&1)
first=$(echo "$out" | head -1); maxpid=$(echo "$out" | tail -1)
[ "$first" = sealbox-init ] && [ "$maxpid" -lt 20 ] && pass "pid namespace: init is pid 1, highest pid $maxpid" ||
  fail "pid namespace: $out"
out=$("$sb" run -- sh -c 'cat /proc/net/dev | tail -n +3 | cut -d: -f1 | tr -d " "' 2>&1)
[ "$out" = lo ] && pass "network namespace: only lo" || fail "network: '$out'"
# --net none: TCP on the sandbox's own loopback works (a server and its client in one sandbox),
# but nothing outside is reachable: the namespace has only lo, so there is no route
out=$("$sb" run -- perl -MIO::Socket::INET -e '
  my $s = IO::Socket::INET->new(LocalAddr => "127.0.0.1", LocalPort => 0, Listen => 1) or die "listen: $!";
  my $p = $s->sockport;
  if (!fork) { my $c = IO::Socket::INET->new(PeerAddr => "127.0.0.1", PeerPort => $p) or die "connect: $!";
    print $c "ping\n"; print scalar <$c>; exit 0 }
  my $a = $s->accept or die "accept: $!"; my $l = <$a>; print $a uc $l; close $a; wait;' 2>&1)
[ "$out" = PING ] && pass "loopback TCP inside: bind, listen, accept, connect" || fail "loopback TCP: '$out'"
out=$("$sb" run -- perl -MIO::Socket::INET -e '
  for my $a ("1.1.1.1:443", "192.0.2.1:80", "169.254.169.254:80") {
    my $c = IO::Socket::INET->new(PeerAddr => $a, Timeout => 5); print $c ? "connected\n" : "$!\n" }' 2>&1)
[ "$out" = "$(printf 'Network is unreachable\n%.0s' 1 2 3)" ] && pass "no route out of the sandbox (ENETUNREACH)" ||
  fail "route out: '$out'"
out=$("$sb" run -- sh -c 'cat /sys/class/net 2>&1; ls /work /root/.bashrc /etc/shadow 2>&1 | wc -l')
echo "$out" | grep -q "No such file" && pass "no host /sys or files" || fail "host files: $out"
out=$("$sb" run -- sh -c 'stat -c %U:%G /usr/bin/env; id -u; touch /etc/new && echo wrote')
[ "$out" = "$(printf 'root:root\n0\nwrote')" ] && pass "idmapped image owned by sandbox root" || fail "ownership: $out"
out=$("$sb" run -- sh -c 'grep -E "^(CapEff|CapBnd|CapAmb|NoNewPrivs|Seccomp):" /proc/self/status | tr -s "\t " " "')
want=$(printf 'CapEff: 0000000000000000\nCapBnd: 0000000000000000\nCapAmb: 0000000000000000\nNoNewPrivs: 1\nSeccomp: 2')
[ "$out" = "$want" ] && pass "no capabilities, no_new_privs, seccomp" || fail "privileges: $out"
out=$("$sb" run -- sh -c 'stat -c %u /proc/1; cat /proc/1/environ 2>&1 >/dev/null | grep -c denied')
[ "$out" = "$(printf '65533\n1')" ] && pass "init is another uid and unreadable" || fail "init: $out"
out=$(printf 'line1\nline2\n' | "$sb" run -- sh -c 'wc -l')
[ "$out" = 2 ] && pass "stdin streamed" || fail "stdin: $out"
out=$("$sb" run --env FOO=bar --hostname box1 --workdir /tmp -- sh -c 'echo $FOO $(hostname) $(pwd); env | grep -vc -E "^(FOO|PATH|PWD|SHLVL|_)="')
[ "$out" = "$(printf 'bar box1 /tmp\n0')" ] && pass "env, hostname, workdir" || fail "env: $out"
mkdir -p "$T/share" && echo data >"$T/share/in"
out=$("$sb" run --mount "$T/share:/data:ro" -- sh -c 'cat /data/in; touch /data/x 2>&1 | grep -c "Read-only"')
[ "$out" = "$(printf 'data\n1')" ] && pass "read-only mount" || fail "ro mount: $out"
"$sb" run --mount "$T/share:/data" -- sh -c 'echo out >/data/out' && [ "$(cat "$T/share/out")" = out ] &&
  pass "read-write mount" || fail "rw mount"
# single files: bound onto a file made in the writable layer (with its parents), or over the
# image's own file; read-only enforced; a symbolic link as SRC, or in the way of DST, refused
printf 'conf\n' >"$T/app.conf"
out=$("$sb" run --mount "$T/app.conf:/etc/app/app.conf:ro" -- sh -c 'cat /etc/app/app.conf; echo x 2>&1 >/etc/app/app.conf | grep -c "Read-only"; rm /etc/app/app.conf 2>&1 | grep -c "busy"')
[ "$out" = "$(printf 'conf\n1\n1')" ] && [ "$(cat "$T/app.conf")" = conf ] && pass "read-only file mount" ||
  fail "ro file mount: $out / $(cat "$T/app.conf")"
out=$("$sb" run --mount "$T/app.conf:/etc/hostname:ro" -- cat /etc/hostname)
[ "$out" = conf ] && pass "file mount over the image's file" || fail "file over image file: $out"
printf 'old\n' >"$T/rw.txt"
out=$("$sb" run --mount "$T/rw.txt:/rw.txt" -- sh -c 'stat -c %U /rw.txt; echo new >/rw.txt')
[ "$out" = root ] && [ "$(cat "$T/rw.txt")" = new ] && pass "read-write file mount, idmapped" ||
  fail "rw file mount: $out / $(cat "$T/rw.txt")"
ln -s "$T/app.conf" "$T/link.conf"
ln -s "$T/share" "$T/link.dir"
expect_rc "symlinked file source refused" 125 "$sb" run --mount "$T/link.conf:/x" -- true
grep -q "symbolic link" "$T/err" && pass "symlink source message" || fail "symlink message: $(cat "$T/err")"
expect_rc "symlinked directory source refused" 125 "$sb" run --mount "$T/link.dir:/x" -- true
expect_rc "file onto a directory refused" 125 "$sb" run --mount "$T/app.conf:/etc" -- true
expect_rc "file onto a symlink refused" 125 "$sb" run --mount "$T/app.conf:/bin" -- true
expect_rc "file below a symlink refused" 125 "$sb" run --mount "$T/app.conf:/bin/x" -- true
# --net host (weaker, documented): the host's interfaces and its loopback services; the default
# sees only its own lo, and the host's listener is not reachable from it
netdevs() { awk -F: 'NR > 2 { gsub(/ /, "", $1); print $1 }' | sort | tr '\n' ' '; }
host_ifs=$(netdevs </proc/net/dev)
in_host=$("$sb" run --net host -- cat /proc/net/dev | netdevs)
in_none=$("$sb" run -- cat /proc/net/dev | netdevs)
[ "$in_host" = "$host_ifs" ] && [ "$host_ifs" != "lo " ] && pass "--net host: the host's interfaces ($in_host)" ||
  fail "--net host interfaces: '$in_host', host '$host_ifs'"
[ "$in_none" = "lo " ] && pass "--net none: only lo" || fail "--net none interfaces: '$in_none'"
python3 - "$T/port" <<'PY' &
import socket, sys
s = socket.socket()
s.bind(("127.0.0.1", 0))
s.listen(4)
open(sys.argv[1] + ".tmp", "w").write(str(s.getsockname()[1]))
__import__("os").rename(sys.argv[1] + ".tmp", sys.argv[1])
s.settimeout(30)
try:
    c, _ = s.accept()
    c.sendall(b"hello-from-host")
    c.close()
except OSError:
    pass
PY
lpid=$!
for _ in $(seq 100); do [ -s "$T/port" ] && break; sleep 0.1; done
port=$(cat "$T/port" 2>/dev/null)
conn="import socket
try: print(socket.create_connection(('127.0.0.1', $port), timeout=10).recv(64).decode())
except OSError as e: print(e.errno)"
out=$("$sb" run -- python3 -c "$conn")
[ "$out" = 111 ] && pass "--net none: the host's loopback listener is refused" || fail "--net none connect: $out"
out=$("$sb" run --net host -- python3 -c "$conn")
[ "$out" = hello-from-host ] && pass "--net host: reaches the host's loopback listener" || fail "--net host connect: $out"
kill "$lpid" 2>/dev/null; wait "$lpid" 2>/dev/null
# the mode is measured: the config event's digest is `sealbox measure`'s for {"network": "host"}
echo '{"network": "host"}' >"$T/net-host.json"
want=$("$sb" measure --json host "$T/net-host.json" | grep -o '"config": "sha384:[0-9a-f]*"' | grep -o 'sha384:[0-9a-f]*')
dflt=$("$sb" measure --json host | grep -o '"config": "sha384:[0-9a-f]*"' | grep -o 'sha384:[0-9a-f]*')
"$sb" run --net host --log "$T/mlog-host.json" -- true
got=$(grep -o '"digest":"sha384:[0-9a-f]*","seq":1,"type":"config"' "$T/mlog-host.json" | grep -o 'sha384:[0-9a-f]*')
[ -n "$want" ] && [ "$got" = "$want" ] && [ "$want" != "$dflt" ] && pass "--net host is measured in the config event" ||
  fail "--net host config digest: log $got, measure $want, default $dflt"
out=$("$sb" run --disk 2M -- sh -c 'head -c 8000000 /dev/zero >/tmp/fill' 2>&1)
echo "$out" | grep -q "No space left" && pass "writable layer full: ENOSPC" || fail "disk: $out"

if command -v script >/dev/null; then
  out=$(script -qec "stty rows 30 cols 100; $sb run --tty -- sh -c 'tty; stty size'" /dev/null 2>&1 | tr -d '\r')
  echo "$out" | grep -q "/dev/pts/0$" && echo "$out" | grep -q "30 100" && pass "--tty: a pty of the sandbox's devpts, window size passed" ||
    fail "tty: $out"
fi

# ---- bad input: 125 and a clear message ----
expect_rc "bad --memory" 125 "$sb" run --memory lots -- true
grep -q -- "--memory" "$T/err" && pass "message names --memory" || fail "memory message: $(cat "$T/err")"
expect_rc "bad --cpus" 125 "$sb" run --cpus -1 -- true
expect_rc "bad --pids" 125 "$sb" run --pids 0 -- true
expect_rc "bad --timeout" 125 "$sb" run --timeout 5parsecs -- true
expect_rc "bad --mount" 125 "$sb" run --mount relative:/x -- true
expect_rc "missing mount source" 125 "$sb" run --mount /no/such/dir:/x -- true
expect_rc "bad --net" 125 "$sb" run --net bridge -- true
expect_rc "bad hostname" 125 "$sb" run --hostname 'a b' -- true
expect_rc "unknown option" 125 "$sb" run --frobnicate -- true
expect_rc "missing image" 125 "$sb" run --image sha256:0000 -- true
grep -q "not found" "$T/err" && pass "missing image message" || fail "image message: $(cat "$T/err")"
expect_rc "unwritable state dir" 125 env SEALBOX_STATE_DIR=/proc/sealbox-state "$sb" run -- true
grep -q "state directory" "$T/err" && pass "state dir message" || fail "state message: $(cat "$T/err")"
mkdir -p "$T/fakecg"
expect_rc "missing cgroup controller" 125 env SEALBOX_CGROUP_ROOT="$T/fakecg" "$sb" run -- true
grep -q "controller 'memory'" "$T/err" && pass "controller message" || fail "cgroup message: $(cat "$T/err")"
if [ -e /sys/fs/cgroup/unified/cgroup.controllers ]; then # hybrid host: a v2 tree without controllers
  expect_rc "cgroup v2 tree without controllers" 125 env SEALBOX_CGROUP_ROOT=/sys/fs/cgroup/unified "$sb" run -- true
  grep -q "controller 'memory' is not available in .*(cgroup v2)" "$T/err" && pass "v2 controller message" ||
    fail "v2 message: $(cat "$T/err")"
fi

# ---- nothing left behind ----
[ "$(wc -l </proc/self/mountinfo)" = "$mounts0" ] && pass "no mount left" || fail "mounts: $mounts0 -> $(wc -l </proc/self/mountinfo)"
[ "$(cg_count)" = "$cg0" ] && pass "no cgroup left" || fail "cgroups left: $(cg_count)"
left=$(ls -A "$SEALBOX_STATE_DIR/sandboxes" 2>/dev/null | wc -l)
[ "$left" = 0 ] && pass "no sandbox directory left" || fail "$left sandbox directories left"
slots=$(ls "$SEALBOX_STATE_DIR/slots" 2>/dev/null | wc -l)
[ "$slots" = 0 ] && pass "no uid slot left" || fail "$slots uid slots left"
procs=$(grep -l "$SEALBOX_CGROUP_PARENT" /proc/[0-9]*/cgroup 2>/dev/null | wc -l)
[ "$procs" = 0 ] && pass "no process left" || fail "$procs processes left in sandbox cgroups"

finish test_sandbox_run
