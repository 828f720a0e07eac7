#!/usr/bin/env bash
# test_mlog_daemon: the measurement log of real sandboxes of the real sealboxd — image and
# config at create, the first exec is the entrypoint (with the SHA-384 of the executable inside
# the sandbox), a second exec taints the log; GET /v1/sandboxes/{id}/log is replayed here by an
# independent implementation (Python: JCS events, SHA-384 extend), tenant-scoped, and still
# served after the sandbox is gone; env values never reach the log.
# Sanitizer exception: the front runs under seccomp, so detect_leaks=0 (docs/development.md).
set -uo pipefail
SEALBOX=${SEALBOX:?path to the sealbox binary}
BIN=$(dirname "$SEALBOX")
SEALBOXD=$BIN/sealboxd
skip() { echo "skipped: $1"; [ "${CI:-}" = true ] && exit 1; exit 0; }
[ "$(id -u)" = 0 ] || skip "jail sandboxes need root"
"$SEALBOX" run -- /bin/true >/dev/null 2>&1 || skip "this host cannot run jail sandboxes ($SEALBOX run fails)"
command -v python3 >/dev/null || skip "python3 is needed for the independent replay"
T=$(mktemp -d /tmp/sealbox-mlog.XXXXXX)
D=$T/state
PID=
cleanup() {
  [ -n "$PID" ] && kill -9 "$PID" 2>/dev/null
  if [ -z "${SB_KEEP_TMP:-}" ]; then rm -rf "$T"; else echo "kept $T"; fi
}
trap cleanup EXIT
fails=0
pass() { echo "ok     $1"; }
fail() { echo "FAIL   ${1:0:400}"; fails=$((fails + 1)); }
check() { if [ "$2" = "$3" ]; then pass "$1"; else fail "$1: got '$2', want '$3'"; fi; }
contains() { if grep -q -- "$3" <<<"$2"; then pass "$1"; else fail "$1: '$2' lacks '$3'"; fi; }
export ASAN_OPTIONS="${ASAN_OPTIONS:-}:detect_leaks=0"

SOCK=$D/sealboxd.sock
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

"$SEALBOX" admin --state-dir "$D" tenant create a >/dev/null
"$SEALBOX" admin --state-dir "$D" tenant create b >/dev/null
KA=$("$SEALBOX" admin --state-dir "$D" key create a 2>/dev/null)
KB=$("$SEALBOX" admin --state-dir "$D" key create b 2>/dev/null)
"$SEALBOXD" --state-dir "$D" --log-file "$D/log" 2>>"$T/stderr" &
PID=$!
for _ in $(seq 100); do
  curl -sf --unix-socket "$SOCK" http://s/v1/health >/dev/null && break
  sleep 0.1
done

r=$(api POST /v1/sandboxes "$KA" '{"env":{"TOKEN":"s3cr3t-value"}}')
contains "create: 201" "$r" '^201 '
ID=$(field .id)

r=$(api GET "/v1/sandboxes/$ID/log" "$KA")
contains "log after create: 200" "$r" '^200 '
check "log after create: image, config" "$(field '[.events[].type] | join(",")')" "image,config"
check "log after create: not tainted" "$(field .tainted)" false
check "log after create: image digest" "$(field '.events[0].digest')" "mutable:host-usr"
read -r dg tn ne < <(python3 "$T/replay.py" "$T/body")
check "log after create: independent replay" "$dg" "$(field .digest)"

r=$(api POST "/v1/sandboxes/$ID/exec" "$KA" '{"cmd":"sh","args":["-c","echo first"]}')
contains "entrypoint runs" "$r" '"stdout":"first'
api GET "/v1/sandboxes/$ID/log" "$KA" >/dev/null
check "entrypoint recorded" "$(field '[.events[].type] | join(",")')" "image,config,entrypoint"
check "entrypoint argv" "$(field '.events[2].argv | join(" ")')" "sh -c echo first"
exe=$(field '.events[2].executable')
contains "entrypoint executable resolved in the sandbox" "$exe" '/sh$'
# the digest is of the file the sandbox sees; its /usr is the host's, so hash it here
want="sha384:$(sha384sum "$(readlink -f "$exe")" | cut -d' ' -f1)"
check "entrypoint executable digest" "$(field '.events[2].digest')" "$want"
check "entrypoint env names only" "$(field '.events[2].env | join(",")')" "PATH,TOKEN"
check "after the entrypoint: not tainted" "$(field .tainted)" false
cp "$T/body" "$T/initial.json"

r=$(api POST "/v1/sandboxes/$ID/exec" "$KA" '{"cmd":"/no/such/tool"}')
api GET "/v1/sandboxes/$ID/log" "$KA" >/dev/null
check "second exec recorded" "$(field '[.events[].type] | join(",")')" "image,config,entrypoint,exec"
check "unresolvable executable recorded as empty" "$(field '.events[3].executable + "|" + .events[3].digest')" "|"
check "second exec taints" "$(field .tainted)" true
read -r dg tn ne < <(python3 "$T/replay.py" "$T/body")
check "tainted log: independent replay digest" "$dg" "$(field .digest)"
check "tainted log: independent replay taint" "$tn" true
if [ "$(jq -r .digest "$T/initial.json")" != "$(field .digest)" ]; then pass "the digest moved"; else fail "the digest did not move"; fi
if grep -q s3cr3t-value "$T/body"; then fail "env value in the log"; else pass "env values never reach the log"; fi
if sqlite3 "$D/sealbox.db" .dump | grep -q s3cr3t-value; then fail "env value in the database"; else pass "env values never reach the database"; fi

last=$(field .digest)
contains "another tenant: 404" "$(api GET "/v1/sandboxes/$ID/log" "$KB")" '^404 '
contains "unknown sandbox: 404" "$(api GET "/v1/sandboxes/sbx_0000000000000000/log" "$KA")" '^404 '
contains "POST log: 405" "$(api POST "/v1/sandboxes/$ID/log" "$KA" '{}')" '^405 '
contains "delete" "$(api DELETE "/v1/sandboxes/$ID" "$KA")" '^204 '
r=$(api GET "/v1/sandboxes/$ID/log" "$KA")
contains "log outlives the sandbox" "$r" '^200 '
check "same log after delete" "$(field .digest)" "$last"

kill "$PID"
wait "$PID" 2>/dev/null
PID=
echo "$fails failure(s)"
[ "$fails" = 0 ]
