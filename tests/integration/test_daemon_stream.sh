#!/usr/bin/env bash
# test_daemon_stream: the real sealboxd with real jail sandboxes — streamed exec (NDJSON, SSE,
# binary output, a slow client that loses output instead of growing the daemon, a client that
# goes away), background processes (list, stdin, signal, reconnect, 404/409), and the files API
# (round trip, limits, and every way out of the sandbox's root: planted absolute, relative and
# magic symlinks, "..", host paths, pseudo file systems, and a sandbox flipping a directory and
# a symlink while files are read and written — nothing outside is ever read or written).
# Sanitizer exception: the front runs under seccomp, so detect_leaks=0 (docs/development.md).
set -uo pipefail
. "$(dirname "$0")/lib.sh"
need_jail
tmp_init stream
no_leak_check_under_seccomp

# api METHOD PATH KEY [curl args...] -> prints "STATUS BODY"
api() {
  local m=$1 p=$2 k=$3
  shift 3
  curl -s -o "$T/body" -w '%{http_code}' --unix-socket "$SOCK" -X "$m" \
    -H "Authorization: Bearer $k" "$@" "http://sealbox$p"
  printf ' '
  cat "$T/body"
}
jpost() { api POST "$1" "$2" -H 'Content-Type: application/json' --data-binary "$3"; }
code() { cut -c1-3 <<<"$1"; }
field() { jq -r "$1" "$T/body"; }
# stream PATH KEY ACCEPT JSON [curl args...] -> the raw stream
stream() {
  local p=$1 k=$2 a=$3 j=$4
  shift 4
  curl -sN --unix-socket "$SOCK" -X POST -H "Authorization: Bearer $k" -H "Accept: $a" \
    -H 'Content-Type: application/json' --data-binary "$j" "$@" "http://sealbox$p"
}
# sh CMD -> runs sh -c CMD synchronously in $ID, prints its stdout
insh() { jpost "/v1/sandboxes/$ID/exec" "$KA" "$(jq -nc --arg c "$1" '{cmd:"sh",args:["-c",$c]}')" >/dev/null; field .stdout; }

tenant KA a
tenant KB b
start_or_die
jpost /v1/sandboxes "$KA" '{"limits":{"memory_mb":256}}' >/dev/null
ID=$(field .id)
[ -n "$ID" ] && [ "$ID" != null ] || { echo "cannot create a sandbox"; cat "$T/body"; exit 1; }

# ---- streamed exec ----------------------------------------------------------------------------
out=$(stream "/v1/sandboxes/$ID/exec" "$KA" application/x-ndjson \
  '{"cmd":"sh","args":["-c","echo one; sleep 0.3; echo two >&2; sleep 0.3; printf \"\\377\\376\"; exit 4"]}')
check "ndjson: events in order" "$(jq -r .event <<<"$out" | tr '\n' ' ')" "start stdout stderr stdout exit "
check "ndjson: stdout as UTF-8 text" "$(jq -r 'select(.event=="stdout") | .data // empty' <<<"$out")" "one"
check "ndjson: stderr" "$(jq -r 'select(.event=="stderr") | .data' <<<"$out")" "two"
check "ndjson: non-UTF-8 output as base64" "$(jq -r 'select(.data_base64) | .data_base64' <<<"$out")" "//4="
check "ndjson: exit code" "$(jq -r 'select(.event=="exit") | .exit_code' <<<"$out")" 4
check "ndjson: start names the process" "$(jq -r 'select(.event=="start") | (.id|type) + "/" + (.pid|type)' <<<"$out")" "number/number"
out=$(stream "/v1/sandboxes/$ID/exec" "$KA" text/event-stream '{"cmd":"echo","args":["sse"]}' -D "$T/h")
contains "sse: content type" "$(cat "$T/h")" 'Content-Type: text/event-stream'
contains "sse: event lines" "$out" '^event: stdout'
contains "sse: data lines" "$out" '^data: {"event":"exit","exit_code":0'
# a sandbox in standby is resumed by a streamed exec too
api POST "/v1/sandboxes/$ID/standby" "$KA" >/dev/null
out=$(stream "/v1/sandboxes/$ID/exec" "$KA" application/x-ndjson '{"cmd":"echo","args":["awake"]}')
contains "stream on a sandbox in standby resumes it" "$out" '"data":"awake\\n"'
check "state after it" "$(api GET "/v1/sandboxes/$ID" "$KA" >/dev/null; field .state)" running
# A slow client: 20 MB of output read at 1 MB/s. The daemon keeps a 512 KiB ring per process
# and sends at most 256 KiB ahead of the client; the rest is dropped and reported.
out=$(stream "/v1/sandboxes/$ID/exec" "$KA" application/x-ndjson \
  '{"cmd":"head","args":["-c","20000000","/dev/zero"]}' --limit-rate 1M)
lost=$(jq -s '[.[] | select(.event=="lost") | .bytes] | add // 0' <<<"$out")
got=$(jq -rs '[.[] | select(.event=="stdout") | if .data then (.data | utf8bytelength) else (.data_base64 | @base64d | length) end] | add // 0' <<<"$out")
if [ "$lost" -gt 0 ]; then pass "slow client: output dropped and reported ($lost bytes)"; else fail "slow client: no lost event"; fi
check "slow client: delivered + lost = produced" "$((got + lost))" 20000000
check "slow client: the stream still ends with exit" "$(jq -r 'select(.event=="exit") | .exit_code' <<<"$out")" 0
contains "metrics count dropped output" "$(api GET /metrics "$KA")" 'sealbox_exec_output_dropped_bytes_total [1-9]'
# A client that goes away: its foreground command is killed.
stream "/v1/sandboxes/$ID/exec" "$KA" application/x-ndjson '{"cmd":"sh","args":["-c","echo up; exec sleep 300"]}' --max-time 1 >/dev/null
ok=
for _ in $(seq 50); do
  api GET "/v1/sandboxes/$ID/processes" "$KA" >/dev/null
  [ "$(field '[.processes[] | select(.cmd | startswith("sh -c echo up"))] | length')" = 0 ] && { ok=1; break; }
  sleep 0.1
done
check "client gone: its streamed command is killed and forgotten" "${ok:-no}" 1
contains "stream with a bad body: 400 problem" "$(jpost "/v1/sandboxes/$ID/exec" "$KA" '{"cmd":1}')" '^400 .*"name":"cmd"'
check "stream for another tenant: 404" "$(code "$(api POST "/v1/sandboxes/$ID/exec" "$KB" -H 'Accept: application/x-ndjson' -H 'Content-Type: application/json' --data-binary '{"cmd":"true"}')")" 404

# ---- background processes ------------------------------------------------------------------------
r=$(jpost "/v1/sandboxes/$ID/exec" "$KA" '{"cmd":"sh","args":["-c","echo ready; while read l; do echo got-$l; done; echo bye; exit 7"],"background":true}')
check "background: 202" "$(code "$r")" 202
P=$(field .id)
check "background: running" "$(field .state)" running
r=$(jpost "/v1/sandboxes/$ID/exec" "$KA" '{"cmd":"sleep","args":["300"],"background":true}')
S=$(field .id)
check "two background processes at once" "$(api GET "/v1/sandboxes/$ID/processes" "$KA" >/dev/null; field '[.processes[] | select(.state=="running")] | length')" 2
check "a sync exec beside them" "$(insh 'echo beside')" beside
contains "stdin: text" "$(jpost "/v1/sandboxes/$ID/processes/$P/stdin" "$KA" '{"data":"x\n"}')" '^202 .*"accepted":2'
contains "stdin: base64 and close" "$(jpost "/v1/sandboxes/$ID/processes/$P/stdin" "$KA" '{"data_base64":"eQo=","eof":true}')" '"closed":true'
out=$(curl -sN --max-time 20 --unix-socket "$SOCK" -H "Authorization: Bearer $KA" "http://s/v1/sandboxes/$ID/processes/$P/output")
check "reconnect: everything since the start, then exit" "$(jq -r '.data // .event' <<<"$out" | tr -d '\n')" "startreadygot-xgot-ybyeexit"
check "reconnect: exit code" "$(jq -r 'select(.event=="exit") | .exit_code' <<<"$out")" 7
out2=$(curl -sN --max-time 20 --unix-socket "$SOCK" -H "Authorization: Bearer $KA" -H 'Accept: text/event-stream' "http://s/v1/sandboxes/$ID/processes/$P/output")
contains "reconnect again after the end (SSE)" "$out2" '^event: exit'
api GET "/v1/sandboxes/$ID/processes/$P" "$KA" >/dev/null
check "get: exited with its code" "$(field .state)/$(field .exit_code)" exited/7
contains "stdin after the end: 409" "$(jpost "/v1/sandboxes/$ID/processes/$P/stdin" "$KA" '{"data":"late"}')" '^409 '
# a reader attached to a live process excludes a second one
curl -sN --max-time 3 --unix-socket "$SOCK" -H "Authorization: Bearer $KA" "http://s/v1/sandboxes/$ID/processes/$S/output" >/dev/null &
RD=$!
sleep 0.5
check "a second reader: 409" "$(code "$(api GET "/v1/sandboxes/$ID/processes/$S/output" "$KA")")" 409
contains "signal by name" "$(jpost "/v1/sandboxes/$ID/processes/$S/signal" "$KA" '{"signal":"TERM"}')" '^202 '
wait $RD
ok=
for _ in $(seq 50); do
  api GET "/v1/sandboxes/$ID/processes/$S" "$KA" >/dev/null
  [ "$(field .state)" = exited ] && { ok=1; break; }
  sleep 0.1
done
check "signal: TERM ends it (143)" "${ok:-no}/$(field .exit_code)" 1/143
contains "signal: a bad name names the field" "$(jpost "/v1/sandboxes/$ID/processes/$S/signal" "$KA" '{"signal":"NOPE"}')" '^400 .*"name":"signal"'
check "unknown process: 404" "$(code "$(api GET "/v1/sandboxes/$ID/processes/999" "$KA")")" 404
check "process id 0: 404" "$(code "$(api GET "/v1/sandboxes/$ID/processes/0" "$KA")")" 404
check "unknown process output: 404" "$(code "$(api GET "/v1/sandboxes/$ID/processes/999/output" "$KA")")" 404
for op in "GET /v1/sandboxes/$ID/processes" "GET /v1/sandboxes/$ID/processes/$P" "GET /v1/sandboxes/$ID/processes/$P/output"; do
  set -- $op
  check "other tenant: $1 ${2#*/$ID} is 404" "$(code "$(api "$1" "$2" "$KB")")" 404
done
check "other tenant: signal is 404" "$(code "$(jpost "/v1/sandboxes/$ID/processes/$S/signal" "$KB" '{"signal":9}')")" 404
check "other tenant: stdin is 404" "$(code "$(jpost "/v1/sandboxes/$ID/processes/$P/stdin" "$KB" '{"data":"x"}')")" 404

# ---- files: the plain operations -------------------------------------------------------------------
head -c 3000000 /dev/urandom >"$T/blob"
r=$(api PUT "/v1/sandboxes/$ID/files?path=/tmp/blob" "$KA" --data-binary @"$T/blob")
contains "upload: 201" "$r" '^201 .*"size":3000000'
curl -s --unix-socket "$SOCK" -H "Authorization: Bearer $KA" "http://s/v1/sandboxes/$ID/files?path=/tmp/blob" -o "$T/blob.back"
if cmp -s "$T/blob" "$T/blob.back"; then pass "download: the same bytes"; else fail "download differs"; fi
check "the sandbox sees it, owned by its root" "$(insh 'sha256sum /tmp/blob | cut -c1-64; stat -c %u:%g /tmp/blob')" "$(sha256sum "$T/blob" | cut -c1-64)
0:0"
check "no temporary file left" "$(insh 'ls -a /tmp | grep -c sealbox-upload')" 0
# (the upload limit, streaming and memory bounds: test_daemon_upload.sh)
contains "mkdir with parents: 201" "$(api POST "/v1/sandboxes/$ID/dirs?path=/work/a/b&parents=true" "$KA")" '^201 .*"created":true'
contains "mkdir again with parents: 200" "$(api POST "/v1/sandboxes/$ID/dirs?path=/work/a/b&parents=true" "$KA")" '^200 .*"created":false'
contains "mkdir that exists: 409" "$(api POST "/v1/sandboxes/$ID/dirs?path=/work/a" "$KA")" '^409 '
api PUT "/v1/sandboxes/$ID/files?path=/work/a/f.txt" "$KA" --data-binary 'text' >/dev/null
r=$(api GET "/v1/sandboxes/$ID/dirs?path=/work/a" "$KA")
check "list: entries by name" "$(field '[.entries[] | .name + ":" + .type] | join(",")')" "b:dir,f.txt:file"
contains "list a file: 404" "$(api GET "/v1/sandboxes/$ID/dirs?path=/work/a/f.txt" "$KA")" '^404 '
contains "download a directory: 400" "$(api GET "/v1/sandboxes/$ID/files?path=/work/a" "$KA")" '^400 .*is a directory'
contains "delete a non-empty directory: 409" "$(api DELETE "/v1/sandboxes/$ID/files?path=/work/a" "$KA")" '^409 .*not empty'
check "delete a file: 204" "$(code "$(api DELETE "/v1/sandboxes/$ID/files?path=/work/a/f.txt" "$KA")")" 204
check "delete an empty directory: 204" "$(code "$(api DELETE "/v1/sandboxes/$ID/files?path=/work/a/b" "$KA")")" 204
contains "delete what is not there: 404" "$(api DELETE "/v1/sandboxes/$ID/files?path=/work/a/b" "$KA")" '^404 .*/work/a/b'
contains "no path: 400 names it" "$(api GET "/v1/sandboxes/$ID/files" "$KA")" '^400 .*"name":"path"'
contains "unknown query parameter: 400" "$(api GET "/v1/sandboxes/$ID/files?path=/x&mode=1" "$KA")" '^400 .*mode'
contains "path ending in ..: 400" "$(api PUT "/v1/sandboxes/$ID/files?path=/tmp/.." "$KA" --data-binary x)" '^400 '
check "files of another tenant: 404" "$(code "$(api GET "/v1/sandboxes/$ID/files?path=/tmp/blob" "$KB")")" 404
check "upload to another tenant: 404" "$(code "$(api PUT "/v1/sandboxes/$ID/files?path=/tmp/x" "$KB" --data-binary x)")" 404
check "list for another tenant: 404" "$(code "$(api GET "/v1/sandboxes/$ID/dirs?path=/" "$KB")")" 404
api POST "/v1/sandboxes/$ID/standby" "$KA" >/dev/null
contains "files work in standby" "$(api GET "/v1/sandboxes/$ID/dirs?path=/tmp" "$KA")" '"name":"blob"'
api POST "/v1/sandboxes/$ID/resume" "$KA" >/dev/null

# ---- files: nothing outside the sandbox's root ---------------------------------------------------------
H=$T/host
mkdir -p "$H"
echo HOSTSECRET >"$H/secret"
chmod 755 "$T"
insh "mkdir -p /tmp/in; echo INSIDE > /tmp/in/secret; ln -s $H /tmp/abs; ln -s ../../../../../../../..$H /tmp/rel; ln -s /proc/1/root /tmp/magic; ln -s /proc/self/root/tmp /tmp/magic2" >/dev/null
for p in "/tmp/abs/secret" "/tmp/rel/secret" "../../../../..$H/secret" "$H/secret" "/tmp/../../..$H/secret" "/tmp/magic$H/secret" "/tmp/magic2/in/secret"; do
  r=$(api GET "/v1/sandboxes/$ID/files?path=$p" "$KA")
  lacks "download $p stays inside" "$r" HOSTSECRET
  contains "download $p: a 4xx" "$r" '^4'
done
for p in "/tmp/abs/planted" "/tmp/rel/planted" "../../..$H/planted" "$H/planted"; do
  api PUT "/v1/sandboxes/$ID/files?path=$p" "$KA" --data-binary x >/dev/null
  api POST "/v1/sandboxes/$ID/dirs?path=$p-dir&parents=true" "$KA" >/dev/null
done
check "uploads and mkdirs through links never reach the host" "$(ls "$H" | tr '\n' ' ')" "secret "
api DELETE "/v1/sandboxes/$ID/files?path=/tmp/abs/secret" "$KA" >/dev/null
api DELETE "/v1/sandboxes/$ID/files?path=/tmp/rel/secret" "$KA" >/dev/null
check "deletes through links never reach the host" "$(cat "$H/secret")" HOSTSECRET
lacks "listing through a link stays inside" "$(api GET "/v1/sandboxes/$ID/dirs?path=/tmp/abs" "$KA")" '"name":"secret"'
check "deleting the link removes the link, not its target" "$(code "$(api DELETE "/v1/sandboxes/$ID/files?path=/tmp/abs" "$KA")")/$(cat "$H/secret")" 204/HOSTSECRET
contains "procfs is refused" "$(api GET "/v1/sandboxes/$ID/files?path=/proc/1/environ" "$KA")" '^400 '
contains "devices are refused" "$(api GET "/v1/sandboxes/$ID/files?path=/dev/zero" "$KA")" '^400 .*not a regular file'
# The sandbox flips /tmp/sw between a directory and a symlink to the host directory while the
# test reads and writes through it. Resolution is atomic (openat2): every answer is the inside
# file or a 4xx, and nothing lands on the host.
jpost "/v1/sandboxes/$ID/exec" "$KA" "$(jq -nc --arg h "$H" '{cmd:"sh",background:true,args:["-c","mkdir -p /tmp/swd; echo INSIDE > /tmp/swd/secret; while :; do rm -f /tmp/sw; ln -s /tmp/swd /tmp/sw 2>/dev/null; rm -f /tmp/sw; ln -s \($h) /tmp/sw; rm -f /tmp/sw; mv /tmp/swd /tmp/sw; mv /tmp/sw /tmp/swd; done"]}')" >/dev/null
FLIP=$(field .id)
leaks=0 inside=0
for i in $(seq 150); do
  b=$(curl -s --unix-socket "$SOCK" -H "Authorization: Bearer $KA" "http://s/v1/sandboxes/$ID/files?path=/tmp/sw/secret")
  grep -q HOSTSECRET <<<"$b" && leaks=$((leaks + 1))
  grep -q INSIDE <<<"$b" && inside=$((inside + 1))
  curl -s -o /dev/null --unix-socket "$SOCK" -X PUT -H "Authorization: Bearer $KA" --data-binary "x$i" "http://s/v1/sandboxes/$ID/files?path=/tmp/sw/up$i"
done
jpost "/v1/sandboxes/$ID/processes/$FLIP/signal" "$KA" '{"signal":"KILL"}' >/dev/null
check "swap race: the host file was never read" "$leaks" 0
check "swap race: nothing was written on the host" "$(ls "$H" | tr '\n' ' ')" "secret "
if [ "$inside" -gt 0 ]; then pass "swap race: the inside file was read ($inside of 150)"; else fail "swap race: the inside file was never read (the race did not run)"; fi

# ---- a sandbox deleted under a stream ends it ------------------------------------------------------------
stream "/v1/sandboxes/$ID/exec" "$KA" application/x-ndjson '{"cmd":"sleep","args":["60"]}' >"$T/gone" &
SP=$!
sleep 0.5
check "delete with a stream attached: 204" "$(code "$(api DELETE "/v1/sandboxes/$ID" "$KA")")" 204
wait $SP
contains "the stream ends with the sandbox gone (125)" "$(cat "$T/gone")" '"event":"exit","exit_code":125,"status":"sandbox gone"'

stop_clean
sanitizer_clean sealboxd "$T/stderr"
finish test_daemon_stream
