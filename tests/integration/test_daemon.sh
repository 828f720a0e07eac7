#!/usr/bin/env bash
# test_daemon: the real sealboxd on a temporary state directory, driven with curl over its unix
# socket: authentication (missing, malformed, unknown, wrong, revoked, expired keys), tenant
# isolation, precise 4xx answers, front crash and respawn, SIGHUP, SIGTERM, TLS on TCP, and a
# leak-checked run with the front unconfined.
#
# Sanitizer exception (docs/development.md): the front installs a seccomp filter, under which
# LeakSanitizer cannot run, so the confined runs use detect_leaks=0; the last run turns the
# filter off (SEALBOX_TEST_UNCONFINED_FRONT=1, honoured only by sanitizer builds) with leaks on.
set -uo pipefail
. "$(dirname "$0")/lib.sh"
need_cmds curl
tmp_init daemon

ADMIN="$SEALBOX admin --state-dir $D"
# req METHOD PATH KEY [curl args...] -> "STATUS BODY" (headers in $T/h)
req() {
  local m=$1 p=$2 k=$3
  shift 3
  local auth=()
  [ -n "$k" ] && auth=(-H "Authorization: Bearer $k")
  curl -s -o "$T/body" -D "$T/h" -w '%{http_code}' --unix-socket "$SOCK" -X "$m" "${auth[@]}" \
    "$@" "http://sealbox$p"
  printf ' '
  cat "$T/body"
}
# the final status line (a large body first gets "100 Continue")
status() { req "$@" >/dev/null; grep '^HTTP/' "$T/h" | tail -1 | cut -d' ' -f2; }

front_pid() { pgrep -P "$PID" | head -1; }

no_leak_check_under_seccomp

# ---- tenants and keys --------------------------------------------------------------------------
check "tenant a created" "$($ADMIN tenant create a --max-sandboxes 2 >/dev/null; echo $?)" 0
check "tenant b created" "$($ADMIN tenant create b >/dev/null; echo $?)" 0
check "duplicate tenant refused" "$($ADMIN tenant create a 2>/dev/null; echo $?)" 1
check "bad tenant name is a usage error" "$($ADMIN tenant create 'Bad Name' 2>/dev/null; echo $?)" 1
KA=$($ADMIN key create a --label ci 2>/dev/null)
KB=$($ADMIN key create b 2>/dev/null)
KR=$($ADMIN key create a 2>/dev/null)
KE=$($ADMIN key create a --expires +1s 2>/dev/null)
contains "key shape" "$KA" '^sbk_[0-9a-f]\{12\}_[A-Za-z0-9_-]\{43\}$'
check "revoke" "$($ADMIN key revoke "${KR:0:16}" >/dev/null; echo $?)" 0
contains "key ls shows revoked" "$($ADMIN key ls a)" revoked
check "hmac secret mode" "$(stat -c %a "$D/hmac.key")" 600
check "database mode" "$(stat -c %a "$D/sealbox.db")" 600

start_or_die
check "socket mode 0660" "$(stat -c %a "$SOCK")" 660
r=$(req GET /v1/health '')
contains "health" "$r" '"status":"ok"'

# ---- authentication -----------------------------------------------------------------------------
r=$(req GET /v1/tenant '')
contains "no key: 401" "$r" '^401 '
contains "no key: problem json" "$(cat "$T/h")" 'application/problem+json'
contains "no key: WWW-Authenticate" "$(cat "$T/h")" 'WWW-Authenticate: Bearer'
check "basic scheme: 401" "$(curl -s -o /dev/null -w '%{http_code}' --unix-socket "$SOCK" -u x:y http://s/v1/tenant)" 401
check "malformed key: 401" "$(status GET /v1/tenant 'sbk_nope')" 401
FAKE="sbk_0123456789ab_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
contains "unknown key: 401" "$(req GET /v1/tenant "$FAKE")" '^401 .*invalid API key'
WRONG="${KA:0:17}AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
contains "right id, wrong secret: 401" "$(req GET /v1/tenant "$WRONG")" '^401 .*invalid API key'
contains "revoked key: 401" "$(req GET /v1/tenant "$KR")" '^401 .*revoked'
sleep 2
contains "expired key: 401" "$(req GET /v1/tenant "$KE")" '^401 .*expired'
r=$(req GET /v1/tenant "$KA")
contains "tenant a sees itself" "$r" '^200 .*"name":"a"'
contains "quota shown" "$r" '"max_sandboxes":2'

# ---- tenant isolation (a sandbox record of tenant a) ------------------------------------------
sqlite3 "$D/sealbox.db" ".timeout 5000" "INSERT INTO sandboxes (id, tenant_id, state, config, memory_mb, created, updated) VALUES ('sbx_iso1', (SELECT id FROM tenants WHERE name='a'), 'running', '{\"image\":\"default\",\"metadata\":{\"team\":\"x\"}}', 256, 1, 1);" \
  || fail "sqlite3 insert"
contains "owner sees its sandbox" "$(req GET /v1/sandboxes/sbx_iso1 "$KA")" '^200 .*"id":"sbx_iso1"'
contains "other tenant: 404" "$(req GET /v1/sandboxes/sbx_iso1 "$KB")" '^404 .*no such sandbox'
contains "missing sandbox: same 404" "$(req GET /v1/sandboxes/sbx_nope "$KB")" '^404 .*no such sandbox'
contains "other tenant's list is empty" "$(req GET /v1/sandboxes "$KB")" '"sandboxes":\[\]'
contains "owner's list" "$(req GET '/v1/sandboxes?metadata=team=x' "$KA")" '"id":"sbx_iso1"'
contains "metadata filter excludes" "$(req GET '/v1/sandboxes?metadata=team=y' "$KA")" '"sandboxes":\[\]'

# ---- precise 4xx -----------------------------------------------------------------------------------
check "unknown path: 404" "$(status GET /v2/nothing "$KA")" 404
check "wrong method: 405" "$(status DELETE /v1/tenant "$KA")" 405
contains "405 names the allowed methods" "$(cat "$T/h")" 'Allow: GET'
check "id with bad characters: 404" "$(status GET '/v1/sandboxes/..%2fetc' "$KA")" 404
check "limit=0: 400" "$(status GET '/v1/sandboxes?limit=0' "$KA")" 400
contains "limit named" "$(req GET '/v1/sandboxes?limit=x' "$KA")" 'limit must be an integer'
check "unknown query parameter: 400" "$(status GET '/v1/sandboxes?colour=red' "$KA")" 400
check "GET with a body: 400" "$(status GET /v1/tenant "$KA" --data-binary x)" 400
head -c 2000000 /dev/zero >"$T/big"
check "oversized body: 413" "$(status POST /v1/sandboxes "$KA" -H 'Content-Type: application/json' --data-binary @"$T/big")" 413
check "huge header: 400" "$(status GET /v1/tenant "$KA" -H "X-Junk: $(head -c 20000 /dev/zero | tr '\0' a)")" 400
r=$(req GET /metrics "$KA")
contains "metrics" "$r" 'sealbox_sandboxes{state="running"} 1'
contains "metrics has http histogram" "$r" 'sealbox_http_request_duration_seconds_bucket'
check "metrics need a key" "$(status GET /metrics '')" 401

# ---- the front is confined ----------------------------------------------------------------------
F=$(front_pid)
check "front runs as nobody" "$(awk '/^Uid:/{print $2}' /proc/"$F"/status)" 65534
check "front under seccomp" "$(awk '/^Seccomp:/{print $2}' /proc/"$F"/status)" 2
check "front has no capabilities" "$(awk '/^CapEff:/{print $2}' /proc/"$F"/status)" 0000000000000000

# ---- front crash -> respawn, monitor untouched --------------------------------------------------------
kill -KILL "$F"
ok=
for _ in $(seq 100); do
  NF=$(front_pid)
  if [ -n "$NF" ] && [ "$NF" != "$F" ] && [ "$(status GET /v1/tenant "$KA")" = 200 ]; then ok=1; break; fi
  sleep 0.1
done
check "front respawned after a crash" "${ok:-no}" 1
check "monitor survived" "$(kill -0 "$PID" 2>/dev/null; echo $?)" 0
contains "crash logged" "$(cat "$D/log")" "died of signal 9; restarting"

# ---- SIGHUP reopens the log ---------------------------------------------------------------------
mv "$D/log" "$D/log.1"
kill -HUP "$PID"
for _ in $(seq 50); do [ -s "$D/log" ] && break; sleep 0.1; done
contains "SIGHUP reopened the log" "$(cat "$D/log" 2>/dev/null)" "logs reopened"

# ---- SIGTERM drains and stops ------------------------------------------------------------------------
stop
check "SIGTERM: exit 0" "$?" 0
check "socket removed" "$([ -e "$SOCK" ] && echo present || echo gone)" gone
contains "stopped cleanly" "$(cat "$D/log")" "stopped"

# ---- TCP needs TLS; TLS works ------------------------------------------------------------------------
"$SEALBOXD" --state-dir "$D" --listen tcp:0.0.0.0:1 2>/dev/null
check "plain TCP refused" "$?" 2
"$SEALBOXD" --state-dir "$D" --listen tcp:127.0.0.1:1 2>/dev/null
check "plain loopback TCP refused without the flag" "$?" 2
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj /CN=localhost \
  -addext subjectAltName=IP:127.0.0.1 -keyout "$T/key.pem" -out "$T/cert.pem" 2>/dev/null
tls_ok=
for _ in 1 2 3 4 5; do
  PORT=$((20000 + RANDOM % 30000))
  "$SEALBOXD" --state-dir "$D" --listen "tcp:127.0.0.1:$PORT" --tls-cert "$T/cert.pem" \
    --tls-key "$T/key.pem" --log-file "$D/log" 2>>"$T/stderr" &
  PID=$!
  for _ in $(seq 50); do
    c=$(curl -s -o "$T/body" -w '%{http_code}' --cacert "$T/cert.pem" "https://127.0.0.1:$PORT/v1/tenant" -H "Authorization: Bearer $KA")
    [ "$c" = 200 ] && { tls_ok=1; break; }
    kill -0 "$PID" 2>/dev/null || break
    sleep 0.1
  done
  [ -n "$tls_ok" ] && break
  kill -9 "$PID" 2>/dev/null; wait "$PID" 2>/dev/null; PID=
done
check "TLS on TCP" "${tls_ok:-no}" 1
if [ -n "$PID" ]; then
  check "plain HTTP to the TLS port fails" "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$PORT/v1/health")" 000
  stop
fi
"$SEALBOXD" --state-dir "$D" --listen tcp:127.0.0.1:1 --tls-cert "$T/cert.pem" --tls-key "$T/cert.pem" 2>/dev/null
check "mismatched TLS key refused" "$?" 1

# ---- leak check with the front unconfined (sanitizer builds) -----------------------------------------
export ASAN_OPTIONS="${ASAN_OPTIONS%:detect_leaks=0}:detect_leaks=1"
: >"$T/stderr"
SEALBOX_TEST_UNCONFINED_FRONT=1 start_or_die
for p in /v1/tenant /v1/sandboxes /v1/sandboxes/sbx_iso1 /metrics /nope; do status GET "$p" "$KA" >/dev/null; done
status GET /v1/tenant "$FAKE" >/dev/null
status POST /v1/sandboxes "$KA" --data-binary @"$T/big" >/dev/null
stop
check "unconfined run: exit 0" "$?" 0
if grep -q "UNCONFINED" "$D/log"; then
  contains "front exited cleanly" "$(cat "$D/log")" "exited with status 0"
fi
sanitizer_clean "unconfined run" "$T/stderr"
finish test_daemon
