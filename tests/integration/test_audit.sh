#!/usr/bin/env bash
# test_audit: the real sealboxd writes its API actions into the audit log and signs its head;
# `sealbox audit verify|tail|export` on that state directory; the exported rows re-hash to the
# chain in an independent implementation (Python); tampering with sqlite3 is caught; and a
# daemon refuses to start on a truncated log.
set -uo pipefail
. "$(dirname "$0")/lib.sh"
need_cmds curl jq sqlite3 python3
tmp_init audit
no_leak_check_under_seccomp

api() { # METHOD PATH KEY [BODY] -> status
  local body=()
  [ $# -ge 4 ] && body=(-H 'Content-Type: application/json' -d "$4")
  curl -s -o "$T/body" -w '%{http_code}' --unix-socket "$SOCK" -X "$1" \
    -H "Authorization: Bearer $3" "${body[@]}" "http://sealbox$2"
}
AUDIT="$SEALBOX audit --state-dir $D"

tenant KA a
start_or_die

check "audit key is 0600" "$(stat -c %a "$D/audit.key")" 600
contains "public key exported" "$(cat "$D/audit.pub")" "BEGIN PUBLIC KEY"
# tenant and key creation (two admin records) come first; the start checkpoint signs them too
check "head file written at start" "$(jq -r .seq "$D/audit.head")" 3
check "delete of a missing sandbox answers 404" "$(api DELETE /v1/sandboxes/nope "$KA")" 404
check "a wrong key answers 401" \
  "$(api DELETE /v1/sandboxes/nope sbk_000000000000_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA)" 401
SANDBOXES=0
if "$SEALBOX" run -- /bin/true >/dev/null 2>&1; then
  SANDBOXES=1
  check "create" "$(api POST /v1/sandboxes "$KA" '{}')" 201
  ID=$(jq -r .id "$T/body")
  check "exec" "$(api POST "/v1/sandboxes/$ID/exec" "$KA" '{"cmd":"echo","args":["s3cr3t"]}')" 200
  check "delete" "$(api DELETE "/v1/sandboxes/$ID" "$KA")" 204
else
  echo "note   this host cannot run jail sandboxes: create/exec/delete are not exercised"
fi
KR=$("$SEALBOX" admin --state-dir "$D" key create a --label temp 2>/dev/null)
"$SEALBOX" admin --state-dir "$D" key revoke "${KR:0:16}" >/dev/null
stop
check "clean stop" "$?" 0

# ---- verify, tail, export ------------------------------------------------------------------------
out=$($AUDIT verify); rc=$?
check "verify: intact exit status" "$rc" 0
N=$(sqlite3 "$D/sealbox.db" 'SELECT max(seq) FROM audit_log')
contains "verify: intact" "$out" "audit: intact: $N records"
contains "verify: the shutdown checkpoint covers everything" "$out" "signatures cover seq 1-$N"
contains "verify: head file checked" "$out" "signed head at seq $N matches"
check "verify --json" "$($AUDIT verify --json | jq -r '[.intact, .unsigned_tail] | @tsv')" \
  "true	0"
all=$($AUDIT tail -n 100)
contains "admin: tenant creation recorded" "$all" '"action":"tenant.create","kind":"admin","max_memory_mb":0,"max_sandboxes":0,"tenant":"a"'
contains "admin: key creation recorded, without the key" "$all" "\"action\":\"key.create\".*\"key_id\":\"${KA:0:16}\",\"kind\":\"admin\""
if grep -q "${KA:17}" <<<"$all"; then fail "the key's secret part is not stored"; else pass "the key's secret part is not stored"; fi
contains "admin: revocation while the daemon runs recorded" "$all" "\"action\":\"key.revoke\",\"key_id\":\"${KR:0:16}\""
tail2=$($AUDIT tail -n 2)
check "tail -n 2: two lines" "$(wc -l <<<"$tail2")" 2
contains "tail: the last record is the stop" "$(tail -1 <<<"$tail2")" '"kind":"daemon.stop"'
contains "tail: the 404 delete is recorded" "$($AUDIT tail -n 100)" \
  '"action":"sandbox.delete","kind":"api","latency_us":[0-9]*,"sandbox":"nope","status":404,"tenant":"a"'
contains "tail: the refused key is recorded" "$($AUDIT tail -n 100)" '"status":401,"tenant":null'
if [ $SANDBOXES = 1 ]; then
  all=$($AUDIT tail -n 100)
  contains "tail: create recorded with its id" "$all" "\"action\":\"sandbox.create\".*\"sandbox\":\"$ID\""
  contains "tail: exec recorded by digest" "$all" '"action":"sandbox.exec","args_digest":"sha256:'
  if grep -q s3cr3t <<<"$all"; then fail "exec arguments are not stored"; else pass "exec arguments are not stored"; fi
fi
$AUDIT export --jsonl >"$T/export.jsonl"
check "export: one line per row" "$(wc -l <"$T/export.jsonl")" "$N"
# An independent implementation of the chain: SHA-256(prev || canonical record || u64be(seq)).
py=$(python3 - "$T/export.jsonl" <<'EOF'
import hashlib, json, sys
prev = bytes(32)
for n, line in enumerate(open(sys.argv[1], 'rb'), 1):
    row = json.loads(line)
    rec = line[line.index(b'"record":') + 9:line.rindex(b'}')]
    assert row['seq'] == n, n
    assert bytes.fromhex(row['prev']) == prev, n
    h = hashlib.sha256(prev + rec + n.to_bytes(8, 'big')).digest()
    assert h.hex() == row['hash'], n
    assert json.dumps(json.loads(rec), sort_keys=True, separators=(',', ':')) == rec.decode(), n
    prev = h
print('rehashed', n)
EOF
)
check "export: rows re-hash to the chain (python)" "$py" "rehashed $N"
# Off the host: the export, a copy of the head file and the public key are enough.
mkdir "$T/offsite" && cp "$T/export.jsonl" "$D/audit.head" "$D/audit.pub" "$T/offsite/"
O="$SEALBOX audit verify --from-jsonl $T/offsite/export.jsonl --head $T/offsite/audit.head --pubkey $T/offsite/audit.pub --state-dir /nonexistent"
out=$($O); rc=$?
check "export verifies offline: exit 0" "$rc" 0
contains "export verifies offline" "$out" "intact: $N records"
sed -i '2s/"tenant":"a"/"tenant":"b"/' "$T/offsite/export.jsonl"
out=$($O); rc=$?
check "an edited export: exit 1" "$rc" 1
contains "an edited export: named" "$out" "TAMPERED: edited at seq 2"
head -n $((N - 1)) "$T/export.jsonl" >"$T/offsite/export.jsonl"
contains "a cut export: named" "$($O)" "TAMPERED: truncated at seq $N"
echo '{"seq":1}' >"$T/offsite/export.jsonl"
out=$($O 2>&1); rc=$?
check "a malformed export: exit 3" "$rc" 3
contains "a malformed export: names the line and member" "$out" "line 1: audit export: member 'ts'"
check "export without --jsonl is a usage error" "$($AUDIT export >/dev/null 2>&1; echo $?)" 2

# ---- tampering -------------------------------------------------------------------------------------
cp "$D/sealbox.db" "$T/clean.db"
cp "$D/audit.head" "$T/clean.head"
rm -f "$D/sealbox.db-wal" "$D/sealbox.db-shm"
detriggers="DROP TRIGGER audit_log_no_update; DROP TRIGGER audit_log_no_delete;"
S404=$(sqlite3 "$D/sealbox.db" "SELECT seq FROM audit_log WHERE record LIKE '%\"status\":404%'")
sqlite3 "$D/sealbox.db" "$detriggers UPDATE audit_log SET record = replace(record, '404', '204') WHERE seq = $S404"
out=$($AUDIT verify); rc=$?
check "edited record: exit 1" "$rc" 1
contains "edited record: named" "$out" "TAMPERED: edited at seq $S404"
cp "$T/clean.db" "$D/sealbox.db"
sqlite3 "$D/sealbox.db" "$detriggers DELETE FROM audit_log WHERE seq = $N"
out=$($AUDIT verify)
contains "truncated tail: named" "$out" "TAMPERED: truncated at seq $N"
check "a daemon refuses to extend a truncated log" "$(start; echo $?)" 1
PID=
contains "... and says why" "$(cat "$D/log" "$T/stderr")" "the log was truncated"
cp "$T/clean.db" "$D/sealbox.db"
cp "$T/clean.head" "$D/audit.head"
check "restored copy verifies" "$($AUDIT verify >/dev/null; echo $?)" 0
out=$($AUDIT verify --pubkey "$T/clean.head" 2>&1); rc=$?
check "a --pubkey file that is not a key: exit 3" "$rc" 3
contains "... named" "$out" "clean.head"

finish test_audit
