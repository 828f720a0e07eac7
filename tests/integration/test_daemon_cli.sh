#!/usr/bin/env bash
# test_daemon_cli: `sealbox sandbox` and `sealbox files` against the real sealboxd over its unix
# socket (libcurl): create/ls/get/exec (output streamed, exit status propagated as `sealbox
# run`: the command's own, 124 timeout)/background/standby/resume/rm, put/get/ls/mkdir/rm, and
# errors (missing key, unknown sandbox, another tenant's sandbox).
# Sanitizer exception: the front runs under seccomp, so detect_leaks=0 (docs/development.md).
set -uo pipefail
. "$(dirname "$0")/lib.sh"
need_jail
tmp_init cli
no_leak_check_under_seccomp
tenant KA a
tenant KB b
start_or_die
export SEALBOX_API_KEY=$KA
sb() { local c=$1 s=$2; shift 2; "$SEALBOX" "$c" "$s" --state-dir "$D" "$@"; }

ID=$(sb sandbox create --memory-mb 128 --env GREETING=hi --metadata team=cli)
check "create prints the id" "${ID:0:4}" sbx_
contains "ls shows it" "$(sb sandbox ls)" "^$ID  *running  *128"
contains "get" "$(sb sandbox get "$ID")" '^env_keys *\["GREETING"\]'
contains "--json prints the daemon's JSON" "$(sb sandbox get "$ID" --json)" "\"id\":\"$ID\""
out=$(sb sandbox exec "$ID" -- sh -c 'echo $GREETING; echo oops >&2; exit 3' 2>"$T/err")
check "exec: exit status propagated" "$?" 3
check "exec: stdout" "$out" hi
check "exec: stderr" "$(cat "$T/err")" oops
check "exec: env and cwd" "$(sb sandbox exec --env X=1 --cwd /tmp "$ID" -- sh -c 'echo $X $(pwd)')" "1 /tmp"
sb sandbox exec --timeout 1 "$ID" -- sleep 30
check "exec: timeout is 124" "$?" 124
sb sandbox exec "$ID" -- /nonexistent 2>/dev/null
check "exec: not found is 127" "$?" 127
P=$(sb sandbox exec --background "$ID" -- sleep 300)
check "exec --background prints the process id" "$(curl -s --unix-socket "$SOCK" -H "Authorization: Bearer $KA" "http://s/v1/sandboxes/$ID/processes/$P" | jq -r .state)" running

head -c 2000000 /dev/urandom >"$T/blob"
sb files put "$ID" "$T/blob" /tmp/blob
check "files put" "$?" 0
sb files get "$ID" /tmp/blob "$T/blob.back"
if cmp -s "$T/blob" "$T/blob.back"; then pass "files get: the same bytes"; else fail "files get differs"; fi
check "files get to stdout" "$(sb files get "$ID" /tmp/blob | sha256sum)" "$(sha256sum <"$T/blob")"
sb files mkdir -p "$ID" /work/a/b
contains "files ls" "$(sb files ls "$ID" /work/a)" '^dir .* b$'
sb files rm "$ID" /tmp/blob
check "files rm" "$?" 0
err=$(sb files rm "$ID" /tmp/blob 2>&1)
check "files rm again: exit 1" "$?" 1
contains "files rm again: the daemon's reason" "$err" 'no such file or directory: /tmp/blob'
err=$(sb files get "$ID" /tmp/nope "$T/nope" 2>&1)
check "a failed download leaves no file" "$(ls "$T" | grep -c nope)" 0

contains "standby" "$(sb sandbox standby "$ID")" '^state *standby'
contains "resume" "$(sb sandbox resume "$ID")" '^state *running'
err=$(SEALBOX_API_KEY=$KB sb sandbox get "$ID" 2>&1)
check "another tenant's sandbox: exit 1" "$?" 1
contains "another tenant's sandbox: not found" "$err" 'no such sandbox'
err=$(SEALBOX_API_KEY= sb sandbox ls 2>&1)
check "no key: exit 125" "$?" 125
contains "no key: says so" "$err" SEALBOX_API_KEY
err=$("$SEALBOX" sandbox ls --socket "$T/none.sock" 2>&1)
check "no daemon: exit 125" "$?" 125
sb sandbox rm "$ID"
check "rm" "$?" 0
contains "rm: gone" "$(sb sandbox ls --all)" "^$ID  *destroyed"
check "usage error: exit 2" "$(sb sandbox frobnicate >/dev/null 2>&1; echo $?)" 2

stop_clean
finish test_daemon_cli
