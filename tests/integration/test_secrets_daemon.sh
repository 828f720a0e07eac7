#!/usr/bin/env bash
# test_secrets_daemon: attestation-gated secrets in sealboxd's own sandboxes — a real KBS
# (sealboxd --kbs-only) and a real sandbox daemon (sealboxd --kbs-url, software attester) whose
# monitor relays sealbox-init's handshakes off its loop with the log it keeps: POST
# /v1/sandboxes "secrets" are released to the entrypoint (file and env) before it starts; a
# refused policy answers the exec 403 with the policy's reason and the command never runs; the
# workload's own requests (sealbox-secret) are appraised against the current log, so after a
# second command the sandbox is tainted and gets only what is opted in (allow_tainted); while a
# KBS does not answer, the daemon serves other requests; a daemon without --kbs-url answers
# 422 to secrets and 503 to the workload; the secret's bytes are nowhere on disk.
set -uo pipefail
. "$(dirname "$0")/lib.sh"
need_jail
need_cmds curl jq python3
tmp_init secrets-daemon
export SEALBOX_STATE_DIR=$D
own_cgroup_parent
no_leak_check_under_seccomp
touch "$T/start"
SECRET="sb-secret-$(head -c 18 /dev/urandom | base64 | tr '+/' 'xy')"

# ---- the KBS: its own daemon, its own state
kbs_start "$T/kbs"
K=$KBS_DIR
KSOCK=$KBS_SOCK
KPID=$KBS_PID
printf '%s' "$SECRET" >"$T/value"
for r in app/db/password app/tainted/ok; do
  check "resource $r stored" "$(kbs_admin POST "resource/$r" "$T/value")" 200
done
rm -f "$T/value"
check "attestation policy: software evidence allowed" \
  "$(kbs_policy attestation-policy '{"allow_insecure": true, "platforms": ["software"]}' sealbox)" 200

# ---- image A: dash, its libraries and the sealbox-secret helper (static)
img=$T/img
image_dash "$img" "$BIN/sealbox-secret"
IMG=$("$SEALBOX" image import "$img") || fail "image import"
check "resource policy: app/db for image A untainted; app/tainted also when tainted" "$(kbs_policy resource-policy \
  "{\"rules\": [{\"resources\": [\"app/db/*\"], \"platforms\": [\"software\"], \"allow_insecure\": true, \"require_log\": true, \"image_digests\": [\"$IMG\"]},
                {\"resources\": [\"app/tainted/*\"], \"platforms\": [\"software\"], \"allow_insecure\": true, \"require_log\": true, \"allow_tainted\": true, \"image_digests\": [\"$IMG\"]}]}")" 200

# ---- the sandbox daemon, relaying to that KBS
tenant KA acme
start_or_die --kbs-url http://kbs --kbs-unix-socket "$KSOCK"
api() { # METHOD PATH [CURL ARGS...] -> "status body"
  local m=$1 p=$2
  shift 2
  curl -s -o "$T/body" -w '%{http_code}' --unix-socket "$SOCK" -X "$m" \
    -H "Authorization: Bearer $KA" "$@" "http://sealbox$p"
  printf ' '
  cat "$T/body"
}
jpost() { api POST "$1" -H 'Content-Type: application/json' --data-binary "$2"; }
create() { # BODY -> id (or the whole answer when it is not 201)
  local r
  r=$(jpost /v1/sandboxes "$1")
  if [ "${r%% *}" = 201 ]; then jq -r .id <<<"${r#* }"; else echo "$r"; fi
}
execj() { # ID CMD-JSON-ARGS -> "status body"
  jpost "/v1/sandboxes/$1/exec" "$2"
}

# ---- released to the entrypoint: the default file, env=NAME, file=PATH
ID=$(create "{\"image\": \"$IMG\", \"secrets\": [{\"path\": \"app/db/password\"},
  {\"path\": \"app/db/password\", \"env\": \"DB_PASSWORD\"},
  {\"path\": \"app/db/password\", \"file\": \"/etc/app/pw\"}]}")
check "create with secrets: an id" "${ID:0:4}" "sbx_"
r=$(api GET "/v1/sandboxes/$ID")
check "the record lists the secrets' targets, never a value" \
  "$(jq -c '[.secrets[] | (.file // .env)]' <<<"${r#* }")/$(grep -c "$SECRET" <<<"$r")" \
  '["/run/secrets/app/db/password","DB_PASSWORD","/etc/app/pw"]/0'
r=$(execj "$ID" '{"cmd": "sh", "args": ["-c", "read v </run/secrets/app/db/password; echo \"file=$v\"; read w </etc/app/pw; echo \"file2=$w\"; echo \"env=$DB_PASSWORD\"; [ -w /etc/app/pw ] && echo writable; exit 3"]}')
check "entrypoint: 200" "${r%% *}" 200
out=$(jq -r .stdout <<<"${r#* }")
check "entrypoint: its own status" "$(jq -r .exit_code <<<"${r#* }")" 3
contains "entrypoint: the value in the default file" "$out" "file=$SECRET"
contains "entrypoint: the value in file=PATH" "$out" "file2=$SECRET"
contains "entrypoint: the value in env=NAME" "$out" "env=$SECRET"
check "the secret file is read-only (0400)" "$(grep -c writable <<<"$out")" 0
log=$(api GET "/v1/sandboxes/$ID/log")
check "the log: the entrypoint names the env secret's variable, never its value" \
  "$(jq -r '.events[2].env | index("DB_PASSWORD") != null' <<<"${log#* }")/$(grep -c "$SECRET" <<<"$log")" \
  "true/0"
# a second command taints the log: the workload's own request is refused for app/db, with the
# reason; a resource that opts in to tainted sandboxes is still released
r=$(execj "$ID" '{"cmd": "sealbox-secret", "args": ["get", "app/db/password"]}')
check "tainted: not released (exit 1, no value)" "$(jq -r .exit_code <<<"${r#* }")/$(jq -r .stdout <<<"${r#* }" | wc -c)" "1/1"
contains "tainted: the reason is the taint" "$(jq -r .stderr <<<"${r#* }")" "tainted"
r=$(execj "$ID" '{"cmd": "sealbox-secret", "args": ["get", "app/tainted/ok"]}')
check "tainted, opted in (allow_tainted): the value" "$(jq -r .exit_code <<<"${r#* }")/$(jq -r .stdout <<<"${r#* }")" "0/$SECRET"
check "delete" "$(api DELETE "/v1/sandboxes/$ID" | cut -c1-3)" 204

# ---- a background entrypoint: 202 once its secrets are in
ID=$(create "{\"image\": \"$IMG\", \"secrets\": [{\"path\": \"app/db/password\", \"env\": \"V\"}]}")
r=$(execj "$ID" '{"cmd": "sh", "args": ["-c", "echo \"bg=$V\""], "background": true}')
check "background entrypoint: 202" "${r%% *}" 202
pid=$(jq -r .id <<<"${r#* }")
out=$(curl -s -N --max-time 30 --unix-socket "$SOCK" -H "Authorization: Bearer $KA" "http://sealbox/v1/sandboxes/$ID/processes/$pid/output")
contains "background entrypoint: the value in its environment" "$out" "bg=$SECRET"
api DELETE "/v1/sandboxes/$ID" >/dev/null

# ---- a refused policy: the host image is not image A
ID=$(create '{"secrets": [{"path": "app/db/password"}]}')
check "create (host image) with secrets: an id" "${ID:0:4}" "sbx_"
r=$(execj "$ID" '{"cmd": "sh", "args": ["-c", "echo RAN >/tmp/ran"]}')
check "refused: 403" "${r%% *}" 403
check "refused: the problem type" "$(jq -r .type <<<"${r#* }")" "urn:sealbox:problem:secrets-refused"
contains "refused: the reason is the policy's" "$(jq -r .detail <<<"${r#* }")" "PolicyDeny"
contains "refused: the reason names the digest" "$(jq -r .detail <<<"${r#* }")" "image digest mutable:host-usr is not in the allowed set"
r=$(execj "$ID" '{"cmd": "sh", "args": ["-c", "cat /tmp/ran 2>/dev/null || echo never"]}')
check "refused: the entrypoint never ran" "$(jq -r .stdout <<<"${r#* }")" "never"
api DELETE "/v1/sandboxes/$ID" >/dev/null
# a missing resource: refused with the KBS's reason
ID=$(create "{\"image\": \"$IMG\", \"secrets\": [{\"path\": \"app/db/nothing\"}]}")
r=$(execj "$ID" '{"cmd": "true"}')
check "missing resource: 403" "${r%% *}" 403
contains "missing resource: named" "$(jq -r .detail <<<"${r#* }")" "app/db/nothing"
api DELETE "/v1/sandboxes/$ID" >/dev/null
# the front checks the field (unknown members, bad paths, clashes) by name
r=$(jpost /v1/sandboxes '{"secrets": [{"path": "app/db/../x"}]}')
check "bad path: 400" "${r%% *}" 400
contains "bad path: named" "$r" "secrets\[0\]"
r=$(jpost /v1/sandboxes '{"env": {"X": "1"}, "secrets": [{"path": "a/b/c", "env": "X"}]}')
contains "env clash: 400, named" "$r" "secrets\[0\].env"

# ---- the loop does not wait for the KBS: a KBS that accepts and never answers
python3 - "$T/mute.sock" <<'EOF' &
import socket, sys, time
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.bind(sys.argv[1]); s.listen(8)
held = []
while True:
    c, _ = s.accept()
    held.append(c)
EOF
MUTE=$!
at_exit 'kill $MUTE 2>/dev/null'
stop_clean "first daemon"
start_or_die --kbs-url http://kbs --kbs-unix-socket "$T/mute.sock"
ID=$(create "{\"image\": \"$IMG\", \"secrets\": [{\"path\": \"app/db/password\"}]}")
ID2=$(create "{\"image\": \"$IMG\"}")
execj "$ID" '{"cmd": "true"}' >"$T/pending" &
EP=$!
for _ in $(seq 100); do
  [ "$(api GET /metrics | grep -o '^sealbox_kbs_relay_requests_total [0-9]*' | cut -d' ' -f2)" -ge 1 ] 2>/dev/null && break
  sleep 0.1
done
r=$(execj "$ID2" '{"cmd": "sh", "args": ["-c", "echo other"]}')
check "while a handshake waits on the KBS: another sandbox's command runs" "$(jq -r .stdout <<<"${r#* }")" "other"
r=$(execj "$ID" '{"cmd": "true"}')
check "... and a second command in the waiting sandbox is refused (409)" "${r%% *}" 409
kill -0 $EP 2>/dev/null && pass "... while the waiting entrypoint is still pending" || fail "the entrypoint did not wait for its secrets"
kill $MUTE 2>/dev/null; wait $MUTE 2>/dev/null
wait $EP
r=$(cat "$T/pending")
check "the KBS went away: the entrypoint is refused (403)" "${r%% *}" 403
contains "... with the relay's reason" "$(jq -r .detail <<<"${r#* }")" "secrets refused"
stop_clean "mute KBS"

# ---- a daemon without --kbs-url: secrets answer 422, the workload's requests 503
start_or_die
r=$(jpost /v1/sandboxes '{"secrets": [{"path": "app/db/password"}]}')
check "no KBS: create with secrets 422" "${r%% *}" 422
contains "no KBS: named" "$r" "kbs-url"
ID=$(create "{\"image\": \"$IMG\"}")
r=$(execj "$ID" '{"cmd": "sealbox-secret", "args": ["get", "app/db/password"]}')
check "no KBS: sealbox-secret fails" "$(jq -r .exit_code <<<"${r#* }")" 1
contains "no KBS: 503" "$(jq -r .stderr <<<"${r#* }")" "503"
stop_clean "no KBS"

# ---- nowhere on disk: the daemon's state, the KBS (database, WAL, logs), temporary dirs
kill -TERM "$KPID"; wait "$KPID"
rm -f "$T/body" "$T/kbody" # what the API answered the test (the value, as asked)
new=$(find "${TMPDIR:-/tmp}" /var/tmp /dev/shm -xdev -maxdepth 4 -type f -newer "$T/start" 2>/dev/null | grep -v "^$T/")
hits=$( (grep -rlaF -- "$SECRET" "$D" "$K" "$T"; [ -n "$new" ] && xargs -r -d '\n' grep -laF -- "$SECRET" <<<"$new") 2>/dev/null | head -5)
check "the secret's bytes are nowhere on disk" "$hits" ""
sanitizer_clean "sealboxd" "$T/stderr"
finish test_secrets_daemon
