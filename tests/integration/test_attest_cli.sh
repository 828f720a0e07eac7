#!/usr/bin/env bash
# test_attest_cli: the software attester end to end through the command line — a real sandbox's
# measurement log (sealbox run --log) bound into software evidence (sealbox attest), verified by
# `sealbox verify`: refused by the default policy (exit 1, insecure), accepted under an
# allow_insecure policy that pins the binding (exit 0, the token says insecure), refused when
# the log or the nonce differ, and a tampered evidence file is unauthenticated (exit 2).
set -uo pipefail
sb=${SEALBOX:?SEALBOX must point at the sealbox binary}
if [ "$(id -u)" != 0 ]; then
  if [ "${CI:-}" = true ]; then echo "FAIL: needs root under CI"; exit 1; fi
  echo "SKIP: needs root"; exit 77
fi
tmp=$(mktemp -d /tmp/sb-attest.XXXXXX)
export SEALBOX_STATE_DIR=$tmp/state SEALBOX_CGROUP_PARENT=sealbox-test-$$
trap 'rm -rf "$tmp"' EXIT
fails=0
pass() { echo "ok     $1"; }
bad() { echo "FAIL   $1"; fails=$((fails + 1)); }
check() { if [ "$2" = "$3" ]; then pass "$1"; else bad "$1: got '$2', want '$3'"; fi; }

"$sb" run --log "$tmp/log.json" -- true || bad "sealbox run"
key=$tmp/attester-software.pem
"$sb" attest --software "$key" --nonce bm9uY2UtMQ --log "$tmp/log.json" >"$tmp/att.json" 2>"$tmp/err"
check "attest exits 0" "$?" 0
grep -q INSECURE "$tmp/err" && pass "attest says insecure" || bad "no insecure warning: $(cat "$tmp/err")"
check "key created 0600" "$(stat -c %a "$key")" 600
check "tee" "$(jq -r .tee "$tmp/att.json")" sealbox-software
check "the log digest is bound" "$(jq -r '.["runtime-data"]["sealbox-log"]' "$tmp/att.json")" "$(jq -r .digest "$tmp/log.json")"
jq .evidence "$tmp/att.json" >"$tmp/ev.json"
rd=$(jq -r .report_data "$tmp/att.json")

out=$("$sb" verify "$tmp/ev.json" 2>&1); rc=$?
check "default policy refuses software evidence (exit 1)" "$rc" 1
grep -q "allow_insecure" <<<"$out" && pass "the reason names allow_insecure" || bad "reason: $out"

printf '{"id":"dev","allow_insecure":true,"platforms":["software"],"report_data":"%s"}' "$rd" >"$tmp/dev.json"
openssl ecparam -name prime256v1 -genkey -noout -out "$tmp/tok.pem" 2>/dev/null
out=$("$sb" verify --json --policy "$tmp/dev.json" --token "$tmp/tok.pem" "$tmp/ev.json" 2>&1); rc=$?
check "allow_insecure + pinned binding: exit 0" "$rc" 0
jwt=$(jq -r '.token // empty' <<<"$out")
if [ -n "$jwt" ]; then
  payload=$(cut -d. -f2 <<<"$jwt" | tr '_-' '/+' | base64 -d 2>/dev/null)
  [ -z "$payload" ] && payload=$(cut -d. -f2 <<<"$jwt" | tr '_-' '/+' | sed 's/$/==/' | base64 -d 2>/dev/null)
  grep -q '"ear.sealbox.insecure":true' <<<"$payload" && pass "the EAR token says insecure" || bad "token payload: $payload"
else
  bad "no token in: $out"
fi

# another log (a tainted one) or another nonce: another binding, refused by the pinned policy
"$sb" run --log "$tmp/log2.json" -- sh -c 'exit 0'
"$sb" attest --software "$key" --nonce bm9uY2UtMQ --log "$tmp/log2.json" 2>/dev/null | jq .evidence >"$tmp/ev2.json"
"$sb" verify --policy "$tmp/dev.json" "$tmp/ev2.json" >/dev/null 2>&1
check "another log: refused (exit 1)" "$?" 1
"$sb" attest --software "$key" --nonce b3RoZXI --log "$tmp/log.json" 2>/dev/null | jq .evidence >"$tmp/ev3.json"
"$sb" verify --policy "$tmp/dev.json" "$tmp/ev3.json" >/dev/null 2>&1
check "another nonce: refused (exit 1)" "$?" 1

# tampering: the report_data edited to the pinned value of another evidence
jq --arg r "$(jq -r .report_data "$tmp/ev2.json")" '.report_data = $r' "$tmp/ev.json" >"$tmp/bad.json"
"$sb" verify --policy "$tmp/dev.json" "$tmp/bad.json" >/dev/null 2>&1
check "tampered evidence: unauthenticated (exit 2)" "$?" 2

chmod 644 "$key"
"$sb" attest --software "$key" --nonce x >/dev/null 2>"$tmp/err"; rc=$?
check "a readable key is refused (exit 2)" "$rc" 2
grep -q 0600 "$tmp/err" && pass "the refusal names the mode" || bad "$(cat "$tmp/err")"

echo "$fails failure(s)"
[ "$fails" = 0 ]
