# lib.sh: what the shell integration tests share — sourced (never run) after `set -uo pipefail`.
# The tally (pass, fail, check, contains, lacks, finish), the skip rule (a skip is exit 77, a
# failure under CI=true), a temporary directory removed on exit, a cgroup parent of the test's
# own, and the real sealboxd on a temporary state directory (start and wait for its socket,
# tenants and keys, stop, and checks that nothing is left behind: processes, cgroups, mounts).
# shellcheck shell=bash

SEALBOX=${SEALBOX:?path to the sealbox binary}
BIN=$(dirname "$SEALBOX")
SEALBOXD=$BIN/sealboxd

# ---- the tally ------------------------------------------------------------------------------------
fails=0
pass() { echo "ok     $1"; }
fail() { echo "FAIL   ${1:0:400}"; fails=$((fails + 1)); }
check() { if [ "$2" = "$3" ]; then pass "$1"; else fail "$1: got '$2', want '$3'"; fi; }
contains() { if grep -q -- "$3" <<<"$2"; then pass "$1"; else fail "$1: '${2:0:300}' lacks '$3'"; fi; }
lacks() { if grep -q -- "$3" <<<"$2"; then fail "$1: '${2:0:300}' has '$3'"; else pass "$1"; fi; }
# finish NAME: the summary line, and the exit status of the whole test.
finish() {
  if [ "$fails" -eq 0 ]; then echo "$1: all passed"; exit 0; fi
  echo "$1: $fails failed"
  exit 1
}

# ---- what the test needs ------------------------------------------------------------------------
# A host that cannot run the test skips it (exit 77, which ctest reports as skipped); under
# CI=true it must be able to, so a skip is a failure there, like missing evidence.
skip() { echo "skipped: $1"; [ "${CI:-}" = true ] && exit 1; exit 77; }
# need_cmds CMD...: a missing tool is a failure (scripts/packages.txt installs them all).
need_cmds() {
  local c
  for c in "$@"; do command -v "$c" >/dev/null || { echo "$c missing (scripts/packages.txt)"; exit 1; }; done
}
need_root() { [ "$(id -u)" = 0 ] || skip "${1:-this test needs root}"; }
need_jail() {
  need_root "jail sandboxes need root"
  "$SEALBOX" run -- /bin/true >/dev/null 2>&1 || skip "this host cannot run jail sandboxes ($SEALBOX run fails)"
}

# ---- the temporary directory ----------------------------------------------------------------------
# tmp_init NAME: T (removed on exit unless SB_KEEP_TMP is set), D=$T/state, SOCK, PID (a daemon
# still running at exit is killed). Tests add their own exit work with `at_exit CMD`.
SB_AT_EXIT=()
at_exit() { SB_AT_EXIT+=("$1"); }
sb_cleanup() {
  local c
  [ -n "${PID:-}" ] && kill -9 "$PID" 2>/dev/null
  for c in "${SB_AT_EXIT[@]}"; do eval "$c"; done
  if [ -z "${SB_KEEP_TMP:-}" ]; then rm -rf "$T"; else echo "kept $T"; fi
}
tmp_init() {
  T=$(mktemp -d "/tmp/sealbox-$1.XXXXXX")
  D=$T/state
  SOCK=$D/sealboxd.sock
  PID=
  trap sb_cleanup EXIT
}

# ---- cgroups and mounts left behind -----------------------------------------------------------------
# A cgroup parent of our own, so that concurrent runs elsewhere cannot disturb the leak checks
# (sealbox run, the gateway and sealboxd's sandboxes all honour it).
own_cgroup_parent() {
  export SEALBOX_CGROUP_PARENT=sealbox-test-$$
  at_exit 'cgdirs | xargs -r rmdir 2>/dev/null'
}
cgdirs() { find /sys/fs/cgroup -maxdepth 8 -type d -name "$SEALBOX_CGROUP_PARENT" 2>/dev/null; }
# The cgroups below our parent (in every hierarchy).
cg_count() { local d; for d in $(cgdirs); do find "$d" -mindepth 1 -type d; done | wc -l; }
mount_count() { wc -l </proc/self/mountinfo; }
# (anchored: a gateway holder's command line names sealbox-init as an argument, and may belong
# to a test running next to this one)
# sealbox-init runs from a memfd copy (its command line does not name $BIN): count the ones in
# this test's own cgroup parent; without one, those started from this build's path.
inits() {
  if [ -n "${SEALBOX_CGROUP_PARENT:-}" ]; then
    local n=0 p
    for p in $(pgrep -x sealbox-init 2>/dev/null); do
      grep -qs -- "/$SEALBOX_CGROUP_PARENT/" "/proc/$p/cgroup" && n=$((n + 1))
    done
    echo "$n"
  else
    pgrep -c -f "^$BIN/sealbox-init" 2>/dev/null || true
  fi
}
# leaks_snapshot, then later check_no_leaks WHAT: no cgroup, mount or sealbox-init more than
# at the snapshot.
leaks_snapshot() { SB_CG0=$(cg_count); SB_MOUNTS0=$(mount_count); SB_INITS0=$(inits); }
check_no_leaks() {
  local i
  for i in $(seq 50); do [ "$(inits)" = "$SB_INITS0" ] && break; sleep 0.1; done
  check "$1: no sealbox-init left" "$(inits)" "$SB_INITS0"
  check "$1: no cgroup left" "$(cg_count)" "$SB_CG0"
  check "$1: no mount left" "$(mount_count)" "$SB_MOUNTS0"
}

# ---- the daemon ------------------------------------------------------------------------------------
# state_admin ARGS...: `sealbox admin` on the test's state directory.
state_admin() { "$SEALBOX" admin --state-dir "$D" "$@"; }
# tenant VAR NAME [TENANT ARGS...]: creates the tenant and sets VAR to a new key of it.
tenant() {
  local var=$1 t=$2 k
  shift 2
  state_admin tenant create "$t" "$@" >/dev/null || { echo "cannot create tenant $t"; exit 1; }
  k=$(state_admin key create "$t" 2>/dev/null) || { echo "cannot create a key of tenant $t"; exit 1; }
  printf -v "$var" '%s' "$k"
}
health() { curl -sf --unix-socket "$SOCK" http://s/v1/health >/dev/null; }
# start [SEALBOXD ARGS...]: sealboxd on $D (log in $D/log, stderr in $T/stderr), in the
# background as $PID; returns once /v1/health answers, 1 if it exits or never answers.
start() {
  "$SEALBOXD" --state-dir "$D" --log-file "$D/log" "$@" 2>>"$T/stderr" &
  PID=$!
  local i
  for i in $(seq 100); do
    health && return 0
    kill -0 "$PID" 2>/dev/null || break
    sleep 0.1
  done
  return 1
}
# start_or_die [ARGS...]: start, or print why not and end the test.
start_or_die() {
  start "$@" && return 0
  echo "sealboxd did not come up"
  cat "$T/stderr" "$D/log" 2>/dev/null
  exit 1
}
# stop: SIGTERM, and the daemon's exit status.
stop() {
  kill -TERM "$PID"
  wait "$PID"
  local rc=$?
  PID=
  return $rc
}
# stop_clean [LABEL]: stop; the daemon exits 0 and tears down every sandbox it still had — no
# cgroup of their jails, no host directory, no mount under $T is left.
stop_clean() {
  local l=${1:+$1: } jails j left=0
  jails=$(ls "$D/sandboxes" 2>/dev/null)
  stop
  check "${l}SIGTERM: exit 0" "$?" 0
  for j in $jails; do
    left=$((left + $(find /sys/fs/cgroup -maxdepth 8 -type d -name "$j" 2>/dev/null | wc -l)))
  done
  check "${l}SIGTERM: no sandbox cgroup left" "$left" 0
  check "${l}SIGTERM: no sandbox directory left" "$(ls "$D/sandboxes" 2>/dev/null | wc -l)" 0
  check "${l}SIGTERM: no mount left under $T" "$(grep -c " $T/" /proc/self/mountinfo)" 0
}
# Sanitizer exception (docs/development.md): the front runs under seccomp, where LeakSanitizer
# cannot work, so daemon tests run with detect_leaks=0 unless they turn the filter off.
no_leak_check_under_seccomp() { export ASAN_OPTIONS="${ASAN_OPTIONS:-}:detect_leaks=0"; }
# sanitizer_clean WHAT FILE: no AddressSanitizer or UBSan report in FILE.
sanitizer_clean() {
  if grep -q "Sanitizer\|runtime error" "$2"; then
    fail "$1: sanitizer report"
    cat "$2"
  else
    pass "$1: no sanitizer report"
  fi
}

# ---- a key broker of the test's own (sealboxd --kbs-only) -------------------------------------
# kbs_start DIR: starts it on state DIR with a new admin key; sets KBS_SOCK, KBS_KEY and KBS_PID
# (killed at exit), checks it answers. The KBS front runs under seccomp: no LeakSanitizer there.
kbs_start() {
  KBS_DIR=$1
  KBS_SOCK=$KBS_DIR/sealboxd.sock
  KBS_KEY=$("$SEALBOX" kbs admin-key create --state-dir "$KBS_DIR" 2>/dev/null)
  ASAN_OPTIONS="${ASAN_OPTIONS:-}:detect_leaks=0" "$SEALBOXD" --kbs-only --state-dir "$KBS_DIR" \
    --log-file "$KBS_DIR/log" 2>>"$T/stderr" &
  KBS_PID=$!
  at_exit 'kill -9 $KBS_PID 2>/dev/null'
  for _ in $(seq 100); do
    [ -S "$KBS_SOCK" ] && [ "$(kbs_admin GET resources)" = 200 ] && break
    sleep 0.1
  done
  check "the KBS is up" "$(kbs_admin GET resources)" 200
}
# kbs_admin METHOD ROUTE [BODY-FILE]: the KBS admin API; prints the status, the body in $T/kbody.
kbs_admin() {
  local body=()
  [ $# -ge 3 ] && body=(--data-binary "@$3")
  curl -s -o "$T/kbody" -w '%{http_code}' --unix-socket "$KBS_SOCK" -X "$1" \
    -H "Authorization: Bearer $KBS_KEY" "${body[@]}" "http://kbs/kbs/v0/$2"
}
# kbs_policy ROUTE JSON [TYPE]: sets an attestation or resource policy; prints the status.
kbs_policy() {
  local t=""
  [ $# -ge 3 ] && t="\"type\": \"$3\", "
  printf '{%s"policy": "%s"}' "$t" "$(printf '%s' "$2" | base64 -w0)" >"$T/p.json"
  kbs_admin POST "$1" "$T/p.json"
}
# image_dash DIR [FILE...]: a minimal image in DIR — dash as /bin/sh with its libraries, plus
# each FILE in /bin.
image_dash() {
  local img=$1 f l
  shift
  mkdir -p "$img/bin" "$img/etc" "$img/run" "$img/tmp"
  cp /bin/dash "$img/bin/sh"
  for f in "$@"; do cp "$f" "$img/bin/"; done
  for l in $(ldd /bin/dash | grep -o '/[^ :]*' | sort -u); do
    mkdir -p "$img$(dirname "$l")"
    cp -L "$l" "$img$l"
  done
}
