#!/usr/bin/env bash
# test_mlog_daemon: the measurement log of real sandboxes of the real sealboxd — image and
# config at create (warm-pool and freshly built sandboxes), the first exec is the entrypoint
# (with the SHA-384 of the executable inside the sandbox), every later exec (synchronous,
# streamed, background) taints the log; GET /v1/sandboxes/{id}/log equals what `sealbox
# measure` predicts, replays with the project's replay (`sealbox attest --log`) and with an
# independent one (Python), is tenant-scoped and still served after the sandbox is gone; a
# command the log cannot take does not run; env values never reach the log.
# Sanitizer exception: the front runs under seccomp, so detect_leaks=0 (docs/development.md).
set -uo pipefail
. "$(dirname "$0")/lib.sh"
need_jail
command -v python3 >/dev/null || skip "python3 is needed for the independent replay"
tmp_init mlog
no_leak_check_under_seccomp

api() {
  local m=$1 p=$2 k=$3 body=${4-}
  local args=(-s -o "$T/body" -w '%{http_code}' --unix-socket "$SOCK" -X "$m"
    -H "Authorization: Bearer $k")
  [ -n "$body" ] && args+=(-H 'Content-Type: application/json' --data-binary "$body")
  curl "${args[@]}" "http://sealbox$p"
  printf ' '
  cat "$T/body"
}
field() { jq -r "$1" "$T/body"; }
types() { jq -r '[.events[].type] | join(",")' "$T/body"; }
getlog() { api GET "/v1/sandboxes/$1/log" "$KA" >/dev/null; cp "$T/body" "$T/$2.json"; }

# The independent replay: prints "<digest> <tainted> <events>" or fails.
cat >"$T/replay.py" <<'PY'
import hashlib, json, sys
log = json.load(open(sys.argv[1]))
st = bytes(48)
for i, e in enumerate(log["events"]):
    assert e["seq"] == i, e
    canon = json.dumps(e, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
    st = hashlib.sha384(st + hashlib.sha384(canon).digest()).digest()
print("sha384:" + st.hex(), str(any(e["type"] == "exec" for e in log["events"])).lower(), len(log["events"]))
PY
# The project's replay (the one the KBS runs): the digest `sealbox attest --log` binds.
bound() { "$SEALBOX" attest --software "$T/sw.pem" --nonce n1 --log "$1" 2>"$T/attest.err" | jq -r '."runtime-data"."sealbox-log"'; }
# What `sealbox measure` predicts for a config (see docs/secrets.md).
predict() { "$SEALBOX" measure --json host "$1" | jq -r .log; }

tenant KA a
tenant KB b
start_or_die --warm-pool 1
# the pooled sandbox is built when the daemon is idle
for _ in $(seq 300); do
  api GET /metrics "$KA" | grep -q '^sealbox_warm_pool{kind="ready"} 1' && break
  sleep 0.1
done

# ---- a sandbox from the warm pool: image and config in its create ------------------------------
r=$(api POST /v1/sandboxes "$KA" '{"env":{"TOKEN":"s3cr3t-value"}}')
contains "create: 201" "$r" '^201 '
ID=$(field .id)
contains "create: taken from the warm pool" "$(api GET /metrics "$KA")" 'sealbox_warm_pool_hits_total 1'
getlog "$ID" created
contains "log after create: 200" "$(api GET "/v1/sandboxes/$ID/log" "$KA")" '^200 '
check "log after create: image, config" "$(types)" "image,config"
check "log after create: not tainted" "$(field .tainted)" false
check "log after create: image digest" "$(field '.events[0].digest')" "mutable:host-usr"
read -r dg tn ne < <(python3 "$T/replay.py" "$T/body")
check "log after create: independent replay" "$dg" "$(field .digest)"
echo '{"env": ["TOKEN=other-value"], "memory_bytes": 536870912}' >"$T/cfg0.json"
check "log after create: sealbox measure predicts it" "$(predict "$T/cfg0.json")" "$(field .digest)"

r=$(api POST "/v1/sandboxes/$ID/exec" "$KA" '{"cmd":"sh","args":["-c","echo first"]}')
contains "entrypoint runs" "$r" '"stdout":"first'
getlog "$ID" entry
check "entrypoint recorded" "$(types)" "image,config,entrypoint"
check "entrypoint argv" "$(field '.events[2].argv | join(" ")')" "sh -c echo first"
exe=$(field '.events[2].executable')
contains "entrypoint executable resolved in the sandbox" "$exe" '/sh$'
# the digest is of the file the sandbox sees; its /usr is the host's, so hash it here
want="sha384:$(sha384sum "$(readlink -f "$exe")" | cut -d' ' -f1)"
check "entrypoint executable digest" "$(field '.events[2].digest')" "$want"
check "entrypoint env names only" "$(field '.events[2].env | join(",")')" "PATH,TOKEN"
check "after the entrypoint: not tainted" "$(field .tainted)" false
echo '{"command": ["sh", "-c", "echo first"], "env": ["TOKEN=x"], "memory_bytes": 536870912}' >"$T/cfg1.json"
check "entrypoint log: sealbox measure predicts it" "$(predict "$T/cfg1.json")" "$(field .digest)"
check "entrypoint log: the project's replay binds it" "$(bound "$T/entry.json")" "$(field .digest)"
read -r dg tn ne < <(python3 "$T/replay.py" "$T/body")
check "entrypoint log: independent replay" "$dg" "$(field .digest)"

r=$(curl -s --unix-socket "$SOCK" -H "Authorization: Bearer $KA" -H 'Accept: application/x-ndjson' \
  -H 'Content-Type: application/json' -d '{"cmd":"sh","args":["-c","echo streamed"]}' \
  "http://sealbox/v1/sandboxes/$ID/exec")
contains "streamed exec runs" "$r" 'streamed'
getlog "$ID" streamed
check "streamed exec recorded" "$(types)" "image,config,entrypoint,exec"
check "streamed exec taints" "$(field .tainted)" true

r=$(api POST "/v1/sandboxes/$ID/exec" "$KA" '{"cmd":"/bin/sleep","args":["0"],"background":true}')
contains "background exec: 202" "$r" '^202 '
getlog "$ID" background
check "background exec recorded" "$(types)" "image,config,entrypoint,exec,exec"
check "background exec: argv" "$(field '.events[4].argv | join(" ")')" "/bin/sleep 0"
check "background exec: executable digest" "$(field '.events[4].digest')" \
  "sha384:$(sha384sum "$(readlink -f /bin/sleep)" | cut -d' ' -f1)"

r=$(api POST "/v1/sandboxes/$ID/exec" "$KA" '{"cmd":"/no/such/tool"}')
getlog "$ID" final
check "unresolvable command recorded" "$(types)" "image,config,entrypoint,exec,exec,exec"
check "unresolvable executable recorded as empty" "$(field '.events[5].executable + "|" + .events[5].digest')" "|"
check "still tainted" "$(field .tainted)" true
read -r dg tn ne < <(python3 "$T/replay.py" "$T/body")
check "tainted log: independent replay digest" "$dg" "$(field .digest)"
check "tainted log: independent replay taint" "$tn" true
check "tainted log: the project's replay binds it" "$(bound "$T/final.json")" "$(field .digest)"
if [ "$(jq -r .digest "$T/entry.json")" != "$(field .digest)" ]; then pass "the digest moved"; else fail "the digest did not move"; fi
# a log whose events were edited does not replay to its digest: refused by the project's replay
jq -c '.events[2].argv[2] = "echo other"' "$T/entry.json" >"$T/edited.json"
out=$(bound "$T/edited.json")
if [ -z "$out" ] && grep -q 'digest' "$T/attest.err"; then pass "an edited log is refused: $(head -c 200 "$T/attest.err")"; else fail "edited log accepted: '$out'"; fi
if grep -q s3cr3t-value "$T"/*.json; then fail "env value in the log"; else pass "env values never reach the log"; fi
if sqlite3 "$D/sealbox.db" .dump | grep -q s3cr3t-value; then fail "env value in the database"; else pass "env values never reach the database"; fi

last=$(field .digest)
contains "another tenant: 404" "$(api GET "/v1/sandboxes/$ID/log" "$KB")" '^404 '
contains "unknown sandbox: 404" "$(api GET "/v1/sandboxes/sbx_0000000000000000/log" "$KA")" '^404 '
contains "no key: 401" "$(curl -s -o /dev/null -w '%{http_code}' --unix-socket "$SOCK" "http://sealbox/v1/sandboxes/$ID/log")" '^401'
contains "POST log: 405" "$(api POST "/v1/sandboxes/$ID/log" "$KA" '{}')" '^405 '
contains "delete" "$(api DELETE "/v1/sandboxes/$ID" "$KA")" '^204 '
r=$(api GET "/v1/sandboxes/$ID/log" "$KA")
contains "log outlives the sandbox" "$r" '^200 '
check "same log after delete" "$(field .digest)" "$last"
contains "another tenant, ended sandbox: 404" "$(api GET "/v1/sandboxes/$ID/log" "$KB")" '^404 '

# ---- a freshly built sandbox (not the pool's shape); a full log refuses the command -------------
r=$(api POST /v1/sandboxes "$KA" '{"limits":{"memory_mb":256}}')
contains "create (built): 201" "$r" '^201 '
ID2=$(field .id)
getlog "$ID2" built
check "built: image, config" "$(types)" "image,config"
echo '{"memory_bytes": 268435456}' >"$T/cfg2.json"
check "built: sealbox measure predicts it" "$(predict "$T/cfg2.json")" "$(field .digest)"
# 7 arguments of 8000 bytes: two such commands fit in the 128 KiB the log holds, a third not
big=$(python3 -c 'import json; print(json.dumps(["x" * 8000] * 7))')
for n in 1 2 3; do
  r=$(api POST "/v1/sandboxes/$ID2/exec" "$KA" "$(jq -nc --arg c "touch /tmp/ran$n" --argjson b "$big" '{cmd:"sh",args:(["-c",$c,"sh"] + $b)}')")
  echo "$r" | head -c 200 >"$T/exec$n"
done
getlog "$ID2" full
check "full log: the commands it took" "$(jq -r '[.events[].type] | join(",")' "$T/full.json")" "image,config,entrypoint,exec"
contains "full log: the next command is refused (409 log-full)" "$(cat "$T/exec3")" '^409 .*log-full'
contains "the refused command did not run" "$(api GET "/v1/sandboxes/$ID2/files?path=/tmp/ran3" "$KA")" '^404 '
contains "a command the log took ran" "$(api GET "/v1/sandboxes/$ID2/files?path=/tmp/ran2" "$KA")" '^200 '
check "full log: the project's replay binds it" "$(bound "$T/full.json")" "$(jq -r .digest "$T/full.json")"

stop_clean
finish test_mlog_daemon
