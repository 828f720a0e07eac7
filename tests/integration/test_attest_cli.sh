#!/usr/bin/env bash
# test_attest_cli: the software attester end to end through the command line — a real sandbox's
# measurement log (sealbox run --log) bound into software evidence (sealbox attest), verified by
# `sealbox verify`: refused by the default policy (exit 1, insecure), accepted under an
# allow_insecure policy that pins the binding (exit 0, the token says insecure), refused when
# the log or the nonce differ, and a tampered evidence file is unauthenticated (exit 2).
set -uo pipefail
. "$(dirname "$0")/lib.sh"
sb=$SEALBOX
need_root
tmp_init attest
export SEALBOX_STATE_DIR=$D
own_cgroup_parent

"$sb" run --log "$T/log.json" -- true || fail "sealbox run"
key=$T/attester-software.pem
"$sb" attest --software "$key" --nonce bm9uY2UtMQ --log "$T/log.json" >"$T/att.json" 2>"$T/err"
check "attest exits 0" "$?" 0
grep -q INSECURE "$T/err" && pass "attest says insecure" || fail "no insecure warning: $(cat "$T/err")"
check "key created 0600" "$(stat -c %a "$key")" 600
check "tee" "$(jq -r .tee "$T/att.json")" sealbox-software
check "the log digest is bound" "$(jq -r '.["runtime-data"]["sealbox-log"]' "$T/att.json")" "$(jq -r .digest "$T/log.json")"
jq .evidence "$T/att.json" >"$T/ev.json"
rd=$(jq -r .report_data "$T/att.json")

out=$("$sb" verify "$T/ev.json" 2>&1); rc=$?
check "default policy refuses software evidence (exit 1)" "$rc" 1
grep -q "allow_insecure" <<<"$out" && pass "the reason names allow_insecure" || fail "reason: $out"

printf '{"id":"dev","allow_insecure":true,"platforms":["software"],"report_data":"%s"}' "$rd" >"$T/dev.json"
openssl ecparam -name prime256v1 -genkey -noout -out "$T/tok.pem" 2>/dev/null
out=$("$sb" verify --json --policy "$T/dev.json" --token "$T/tok.pem" "$T/ev.json" 2>&1); rc=$?
check "allow_insecure + pinned binding: exit 0" "$rc" 0
jwt=$(jq -r '.token // empty' <<<"$out")
if [ -n "$jwt" ]; then
  payload=$(cut -d. -f2 <<<"$jwt" | tr '_-' '/+' | base64 -d 2>/dev/null)
  [ -z "$payload" ] && payload=$(cut -d. -f2 <<<"$jwt" | tr '_-' '/+' | sed 's/$/==/' | base64 -d 2>/dev/null)
  grep -q '"ear.sealbox.insecure":true' <<<"$payload" && pass "the EAR token says insecure" || fail "token payload: $payload"
else
  fail "no token in: $out"
fi

# another log (a tainted one) or another nonce: another binding, refused by the pinned policy
"$sb" run --log "$T/log2.json" -- sh -c 'exit 0'
"$sb" attest --software "$key" --nonce bm9uY2UtMQ --log "$T/log2.json" 2>/dev/null | jq .evidence >"$T/ev2.json"
"$sb" verify --policy "$T/dev.json" "$T/ev2.json" >/dev/null 2>&1
check "another log: refused (exit 1)" "$?" 1
"$sb" attest --software "$key" --nonce b3RoZXI --log "$T/log.json" 2>/dev/null | jq .evidence >"$T/ev3.json"
"$sb" verify --policy "$T/dev.json" "$T/ev3.json" >/dev/null 2>&1
check "another nonce: refused (exit 1)" "$?" 1

# tampering: the report_data edited to the pinned value of another evidence
jq --arg r "$(jq -r .report_data "$T/ev2.json")" '.report_data = $r' "$T/ev.json" >"$T/bad.json"
"$sb" verify --policy "$T/dev.json" "$T/bad.json" >/dev/null 2>&1
check "tampered evidence: unauthenticated (exit 2)" "$?" 2

chmod 644 "$key"
"$sb" attest --software "$key" --nonce x >/dev/null 2>"$T/err"; rc=$?
check "a readable key is refused (exit 2)" "$rc" 2
grep -q 0600 "$T/err" && pass "the refusal names the mode" || fail "$(cat "$T/err")"

finish test_attest_cli
