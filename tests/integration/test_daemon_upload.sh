#!/usr/bin/env bash
# test_daemon_upload: streamed uploads through the real sealboxd with a real jail sandbox — a
# 200 MB body (Content-Length and chunked) goes through while the front's and the monitor's
# peak memory stay far below its size; the limit is enforced as bytes arrive (413 problem, no
# partial file), before a byte is read when Content-Length says it, and on one oversized chunk;
# a client that stalls mid-body is cut off and its partial file removed (and was written in the
# sandbox as it arrived); kill -9 of sealboxd mid-upload, then a restart: nothing left behind.
# Sanitizer exception: the front runs under seccomp, so detect_leaks=0 (docs/development.md);
# ASan's quarantine keeps freed memory on purpose (256 MB by default), which would hide what
# the code holds, so it is made small here.
set -uo pipefail
. "$(dirname "$0")/lib.sh"
need_jail
need_cmds python3 jq curl
tmp_init upload
no_leak_check_under_seccomp
own_cgroup_parent
export ASAN_OPTIONS="${ASAN_OPTIONS:-}:quarantine_size_mb=4"
RAW="python3 $(dirname "$0")/raw_upload.py"

api() {
  local m=$1 p=$2 k=$3
  shift 3
  curl -s -o "$T/body" -w '%{http_code}' --unix-socket "$SOCK" -X "$m" \
    -H "Authorization: Bearer $k" "$@" "http://sealbox$p"
  printf ' '
  cat "$T/body"
}
jpost() { api POST "$1" "$2" -H 'Content-Type: application/json' --data-binary "$3"; }
insh() { jpost "/v1/sandboxes/$ID/exec" "$KA" "$(jq -nc --arg c "$1" '{cmd:"sh",args:["-c",$c]}')" >/dev/null; jq -r .stdout "$T/body"; }
hwm() { awk '/^VmHWM/{print $2}' "/proc/$1/status"; } # peak resident set, KiB
front_pid() { ps --ppid "$PID" -o pid=,args= | awk '/--front/{print $1; exit}'; }
MB=1000000
LIMIT=$((224 * 1048576)) # below the sandbox's 256 MiB writable layer: the limit, not the disk, ends it
# up PATH [curl args...]: PUT from a pipe (chunked) or a file
up() { local p=$1; shift; api PUT "/v1/sandboxes/$ID/files?path=$p" "$KA" "$@"; }
partials() { insh 'ls -a /tmp | grep -c "^.sealbox-upload-"'; }

tenant KA a
leaks_snapshot
start_or_die --upload-max $LIMIT
jpost /v1/sandboxes "$KA" '{"limits":{"memory_mb":256}}' >/dev/null
ID=$(jq -r .id "$T/body")
[ -n "$ID" ] && [ "$ID" != null ] || { echo "cannot create a sandbox"; cat "$T/body"; exit 1; }
FRONT=$(front_pid)
[ -n "$FRONT" ] || { echo "no front process"; exit 1; }

# ---- 200 MB through bounded memory -----------------------------------------------------------------
up /tmp/warm --data-binary 'warm-up' >/dev/null
F0=$(hwm "$FRONT") M0=$(hwm "$PID")
head -c $((200 * MB)) /dev/urandom >"$T/big"
contains "200 MB with Content-Length: 201" "$(up /tmp/big --data-binary @"$T/big")" '^201 .*"size":200000000'
check "the sandbox has the same bytes" "$(insh 'sha256sum /tmp/big | cut -c1-64')" "$(sha256sum "$T/big" | cut -c1-64)"
F1=$(hwm "$FRONT") M1=$(hwm "$PID")
echo "front peak RSS ${F0} -> ${F1} KiB, monitor ${M0} -> ${M1} KiB, for a 195312 KiB body"
[ $((F1 - F0)) -lt 32768 ] && pass "front: peak memory grew < 32 MiB for 200 MB" || fail "front grew $((F1 - F0)) KiB"
[ $((M1 - M0)) -lt 32768 ] && pass "monitor: peak memory grew < 32 MiB for 200 MB" || fail "monitor grew $((M1 - M0)) KiB"
api DELETE "/v1/sandboxes/$ID/files?path=/tmp/big" "$KA" >/dev/null
contains "200 MB chunked: 201" "$(up /tmp/big -H 'Transfer-Encoding: chunked' --data-binary @"$T/big")" '^201 .*"size":200000000'
check "chunked: the same bytes" "$(insh 'sha256sum /tmp/big | cut -c1-64')" "$(sha256sum "$T/big" | cut -c1-64)"
F2=$(hwm "$FRONT")
[ $((F2 - F0)) -lt 32768 ] && pass "front: still < 32 MiB more after the chunked one" || fail "front grew $((F2 - F0)) KiB"
api DELETE "/v1/sandboxes/$ID/files?path=/tmp/big" "$KA" >/dev/null
rm -f "$T/big"

# ---- the limit -----------------------------------------------------------------------------------------
r=$(head -c $((LIMIT + 5 * 1048576)) /dev/zero | up /tmp/over -T -)
contains "chunked body over the limit: 413 problem" "$r" "^413 {\"type\":\"urn:sealbox:problem:too-large\".*at most $LIMIT bytes"
check "over the limit: no file, no partial file" "$(insh 'ls /tmp/over 2>/dev/null | wc -l')/$(partials)" 0/0
r=$($RAW "$SOCK" "$KA" "$ID/files?path=/tmp/over" toolarge $((LIMIT + 1)))
contains "Content-Length over the limit: 413 before the body" "$r" '^HTTP/1.1 413 .*"type":"urn:sealbox:problem:too-large"'
r=$($RAW "$SOCK" "$KA" "$ID/files?path=/tmp/over" bigchunk $((2 * 1048576)))
contains "one chunk over 1 MiB: 413" "$r" '^HTTP/1.1 413 '
check "oversized chunk: no partial file" "$(partials)" 0
contains "exactly the limit: 201" "$(head -c $LIMIT /dev/zero | up /tmp/at -T -)" "^201 .*\"size\":$LIMIT"
api DELETE "/v1/sandboxes/$ID/files?path=/tmp/at" "$KA" >/dev/null
contains "a bad key is still 401" "$(api PUT "/v1/sandboxes/$ID/files?path=/tmp/x" "sbk_nope" --data-binary x)" '^401 '
contains "no such sandbox: 404" "$(api PUT "/v1/sandboxes/sbx_nope/files?path=/tmp/x" "$KA" --data-binary @/dev/null)" '^404 '
# (a client still sending when the daemon answers and closes may get a send error before it
# reads the answer — curl at times does; this client reads it after a broken pipe)
r=$($RAW "$SOCK" "$KA" "$ID/files?path=/tmp/no/such/dir/f" whole $((8 * MB)))
contains "monitor refuses mid-body: its problem, at once" "$r" '^HTTP/1.1 404 .*no such file or directory'
contains "keep-alive after uploads still works" "$(up /tmp/small --data-binary small)" '^201 .*"size":5'

# ---- a client that stalls mid-body ---------------------------------------------------------------------
$RAW "$SOCK" "$KA" "$ID/files?path=/tmp/stalled" stall $((10 * MB)) $((3 * MB)) >"$T/stall" &
RAWPID=$!
seen=0
for _ in $(seq 100); do
  [ "$(insh 'cat /tmp/.sealbox-upload-* 2>/dev/null | wc -c')" = $((3 * MB)) ] && { seen=1; break; }
  sleep 0.2
done
check "a stalled upload's bytes are on the sandbox's disk as they arrive" "$seen" 1
wait "$RAWPID"
contains "the stalled client is cut off (timeout)" "$(cat "$T/stall")" 'closed'
check "its partial file is removed" "$(partials)/$(insh 'ls /tmp/stalled 2>/dev/null | wc -l')" 0/0

# ---- the CLI's progress bar -----------------------------------------------------------------------------
# script(1) gives the command a terminal; the bar goes to stderr, which is that terminal
export SEALBOX_API_KEY=$KA
cli() { script -qec "$SEALBOX files $* --socket $SOCK" /dev/null; }
head -c $((20 * MB)) /dev/urandom >"$T/mid"
out=$(cli put "$ID" "$T/mid" /tmp/mid)
contains "put on a terminal: a progress bar" "$out" 'put 100% \[=*\] 19.1 MiB / 19.1 MiB'
out=$(cli get "$ID" /tmp/mid "$T/mid.back")
contains "get on a terminal: a bar sized by X-Sealbox-File-Size" "$out" 'get 100% \[=*\] 19.1 MiB / 19.1 MiB'
if cmp -s "$T/mid" "$T/mid.back"; then pass "get: the same bytes"; else fail "get: the bytes differ"; fi
lacks "--no-progress: no bar" "$(cli put --no-progress "$ID" "$T/mid" /tmp/mid)" 'MiB'
out=$(cli put "$ID" "$T/mid" /tmp/mid --json)
lacks "--json: no bar" "$out" 'put .*%'
contains "--json: the daemon's answer" "$out" '"size":20000000'
lacks "a small file: no bar" "$(echo small >"$T/small"; cli put "$ID" "$T/small" /tmp/small)" 'put '
"$SEALBOX" files put --socket "$SOCK" "$ID" "$T/mid" /tmp/mid 2>"$T/err"
check "stderr not a terminal: no bar, exit 0" "$?/$(wc -c <"$T/err")" 0/0
unset SEALBOX_API_KEY

# ---- kill -9 mid-upload, then restart ---------------------------------------------------------------------
head -c $((100 * MB)) /dev/zero | curl -s -o /dev/null --limit-rate 2M --unix-socket "$SOCK" -X PUT \
  -H "Authorization: Bearer $KA" -T - "http://sealbox/v1/sandboxes/$ID/files?path=/tmp/killed" &
CURLPID=$!
for _ in $(seq 100); do [ "$(partials)" = 1 ] && break; sleep 0.1; done
check "an upload is in progress" "$(partials)" 1
kill -9 "$PID"
wait "$PID" 2>/dev/null
PID=
wait "$CURLPID" 2>/dev/null
start_or_die --upload-max $LIMIT
api GET "/v1/sandboxes/$ID" "$KA" >/dev/null
check "after the restart the sandbox is lost (torn down)" "$(jq -r .state "$T/body")" lost
stop_clean "after kill -9"
check_no_leaks "kill -9 mid-upload"
sanitizer_clean "daemon" "$T/stderr"
finish test_daemon_upload
