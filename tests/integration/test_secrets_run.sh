#!/usr/bin/env bash
# test_secrets_run: attestation-gated secrets in a real sandbox — the real key broker
# (sealboxd --kbs-only), `sealbox run --secret` (its sealbox-init runs the handshake with its own
# TEE key, the run process relays it and attests with the software attester): an allowed image
# gets the value in a file and in the environment; a policy refusing the image fails the run
# with 125 and the policy's reason; the workload asks init itself (sealbox-secret, the /cdh
# socket); a caller of another uid is refused (SO_PEERCRED); the secret's bytes are nowhere on
# disk afterwards (state directories, the KBS database and its WAL, the temporary directories).
set -uo pipefail
. "$(dirname "$0")/lib.sh"
sb=$SEALBOX
need_root
need_cmds curl jq
tmp_init secrets-run
export SEALBOX_STATE_DIR=$D
own_cgroup_parent
touch "$T/start"
SECRET="sb-secret-$(head -c 18 /dev/urandom | base64 | tr '+/' 'xy')"
kbs_start "$T/kbs"
K=$KBS_DIR
SOCK=$KBS_SOCK
PID=$KBS_PID
printf '%s' "$SECRET" >"$T/value"
check "resource stored" "$(kbs_admin POST resource/app/db/password "$T/value")" 200
rm -f "$T/value"
check "attestation policy: software evidence allowed" \
  "$(kbs_policy attestation-policy '{"allow_insecure": true, "platforms": ["software"]}' sealbox)" 200

# image A: dash and its libraries (nothing of OpenSSL: sealbox-init brings its own)
img=$T/img
image_dash "$img"
IMG=$("$sb" image import "$img") || fail "image import"
check "resource policy: image A only, untainted, with a log" "$(kbs_policy resource-policy \
  "{\"rules\": [{\"resources\": [\"app/*/*\"], \"platforms\": [\"software\"], \"allow_insecure\": true, \"require_log\": true, \"image_digests\": [\"$IMG\"]}]}")" 200

RUN=("$sb" run --kbs-url http://kbs --kbs-unix-socket "$SOCK" --attester-key "$K/attester-software.pem")

# ---- an allowed image: the value in a file (tmpfs, 0400) and in the entrypoint's environment
out=$("${RUN[@]}" --image "$IMG" --secret app/db/password --secret app/db/password:env=DB_PASSWORD \
  --secret app/db/password:file=/etc/app/pw --log "$T/mlog.json" -- /bin/sh -c \
  'read v </run/secrets/app/db/password; echo "file=$v"; read w </etc/app/pw; echo "file2=$w";
   echo "env=$DB_PASSWORD"; [ -w /run/secrets/app/db/password ] && echo writable; exit 3' 2>"$T/err")
rc=$?
check "allowed image: the command's own status" "$rc" 3
contains "allowed image: the value in the default file" "$out" "file=$SECRET"
contains "allowed image: the value in file=PATH" "$out" "file2=$SECRET"
contains "allowed image: the value in env=NAME" "$out" "env=$SECRET"
check "the secret file is read-only (0400)" "$(grep -c writable <<<"$out")" 0
check "the log names the env secret's variable, never its value" \
  "$(jq -r '.events[2].env | index("DB_PASSWORD") != null' "$T/mlog.json")/$(grep -c "$SECRET" "$T/mlog.json")" "true/0"
check "nothing on stderr" "$(cat "$T/err")" ""

# ---- the host image is not image A: the run fails before the command, with the policy's reason
out=$("${RUN[@]}" --secret app/db/password -- /bin/sh -c 'echo RAN' 2>"$T/err")
rc=$?
check "refused image: exit 125" "$rc" 125
check "refused image: the command never ran" "$out" ""
contains "refused image: the reason is the policy's" "$(cat "$T/err")" "PolicyDeny"
contains "refused image: the reason names the digest" "$(cat "$T/err")" "image digest mutable:host-usr is not in the allowed set"

# ---- a missing resource, a bad target, no KBS
"${RUN[@]}" --image "$IMG" --secret app/db/nothing -- /bin/sh -c 'echo RAN' >"$T/out" 2>"$T/err"
check "missing resource: 125" "$?/$(cat "$T/out")" "125/"
contains "missing resource: named" "$(cat "$T/err")" "secret app/db/nothing"
"$sb" run --secret app/db/password -- true 2>"$T/err"
check "--secret without --kbs-url: 125" "$?" 125
contains "--secret without --kbs-url: named" "$(cat "$T/err")" "needs --kbs-url"
"${RUN[@]}" --net host --secret app/db/password -- true 2>"$T/err"
check "--secret with --net host: 125" "$?" 125
contains "--secret with --net host: named" "$(cat "$T/err")" "cannot be combined with --net host"
"${RUN[@]}" --secret 'app/db/../x' -- true 2>"$T/err"
contains "a bad path is refused by name" "$(cat "$T/err")" "is not repo/type/tag"
"${RUN[@]}" --secret 'app/db/password:env=1X' -- true 2>"$T/err"
contains "a bad variable name is refused by name" "$(cat "$T/err")" "is not a variable name"
"${RUN[@]}" --image "$IMG" --mount "$T:/host" --secret "app/db/password:file=/host/leak" -- true 2>"$T/err"
check "a file target on a host mount: 125" "$?" 125
contains "a file target on a host mount: refused (tmpfs only)" "$(cat "$T/err")" "tmpfs"
check "... and nothing was written there" "$(ls "$T/leak" 2>/dev/null)" ""

# ---- slice 2: the workload asks init itself (sealbox-secret, the /cdh socket) -------------------
printf '%s' "$SECRET" >"$T/value"
check "an open resource stored" "$(kbs_admin POST resource/open/any/thing "$T/value")" 200
rm -f "$T/value"
check "resource policy: app/ for image A, open/ for any image" "$(kbs_policy resource-policy \
  "{\"rules\": [{\"resources\": [\"app/*/*\"], \"platforms\": [\"software\"], \"allow_insecure\": true, \"require_log\": true, \"image_digests\": [\"$IMG\"]}, {\"resources\": [\"open/*/*\"], \"platforms\": [\"software\"], \"allow_insecure\": true}]}")" 200
out=$("${RUN[@]}" --image "$IMG" -- /bin/sh -c \
  'v=$(sealbox-secret get app/db/password) && echo "helper=$v"
   sealbox-secret get app/db/nothing; echo "missing=$?"
   sealbox-secret get app/db/password -o /run/pw; read w </run/pw; echo "out=$w"' 2>"$T/err")
check "sealbox-secret: the run succeeds" "$?" 0
contains "sealbox-secret get: the value on stdout" "$out" "helper=$SECRET"
contains "sealbox-secret -o FILE: the value in the file" "$out" "out=$SECRET"
contains "sealbox-secret: a missing resource fails" "$out" "missing=1"
contains "sealbox-secret: ... with the KBS's 404" "$(cat "$T/err")" "404"
# the helper as the entrypoint itself, stdin left open: init answers, then reaps it
out=$(timeout 120 "${RUN[@]}" --image "$IMG" -- sealbox-secret get app/db/password < <(sleep 20))
check "helper as the entrypoint, stdin open: the value, exit 0" "$?/$out" "0/$SECRET"
out=$("${RUN[@]}" -- /bin/sh -c \
  'curl -s --abstract-unix-socket sealbox-secrets http://init/cdh/resource/open/any/thing; echo
   curl -s -o /dev/null -w "%{http_code}\n" --abstract-unix-socket sealbox-secrets http://init/cdh/resource/app/db/password
   curl -s -o /dev/null -w "%{http_code}\n" -X POST --abstract-unix-socket sealbox-secrets http://init/cdh/resource/open/any/thing
   curl -s -o /dev/null -w "%{http_code}\n" --abstract-unix-socket sealbox-secrets http://init/aa/token')
lines=$(tr '\n' ' ' <<<"$out")
check "curl on the /cdh socket: value, 403 (image), 405 (POST), 404 (other API)" "$lines" "$SECRET 403 405 404 "
# a caller of another uid: a host process (its uid is unmapped in the sandbox) that joined the
# sandbox's network namespace, where the abstract socket lives
"${RUN[@]}" -- /bin/sh -c 'sleep 4' &
rp=$!
init=
for _ in $(seq 60); do
  for p in $(pgrep -x sealbox-init); do
    grep -q "$SEALBOX_CGROUP_PARENT" "/proc/$p/cgroup" 2>/dev/null && init=$p
  done
  [ -n "$init" ] && break
  sleep 0.1
done
if [ -n "$init" ]; then
  nsenter --net="/proc/$init/ns/net" "$BIN/sealbox-secret" get open/any/thing >"$T/out" 2>"$T/err"
  check "another uid: refused (exit 1, no value)" "$?/$(wc -c <"$T/out")" "1/0"
  contains "another uid: SO_PEERCRED names it" "$(cat "$T/err")" "403 sealbox-init: caller uid 65534 is not the workload's"
else
  fail "another uid: sealbox-init of the running sandbox not found"
fi
wait $rp
check "the sandbox ran on after the refused caller" "$?" 0

# a detached sandbox: its holder relays, with the log it keeps — the entrypoint gets the value;
# after a `sealbox exec` the log is tainted and the KBS refuses (the reason says so)
want=$(printf '%s' "$SECRET" | sha256sum | cut -c1-64)
id=$("${RUN[@]}" --detach --image "$IMG" -- /bin/sh -c \
  'sealbox-secret get app/db/password >/run/v; read v </run/v; echo "got ${#v}"; exec sleep 60' 2>"$T/err")
check "detach with --kbs-url: an id" "${#id}" 16
for _ in $(seq 100); do grep -q got "$SEALBOX_STATE_DIR/sandboxes/$id/main.log" 2>/dev/null && break; sleep 0.1; done
check "detached entrypoint: the value (its length in main.log)" "$(grep got "$SEALBOX_STATE_DIR/sandboxes/$id/main.log")" "got ${#SECRET}"
"$sb" exec "$id" -- sealbox-secret get app/db/password >"$T/out" 2>"$T/err"
check "after sealbox exec: refused (exit 1, no value)" "$?/$(wc -c <"$T/out")" "1/0"
contains "after sealbox exec: the reason is the taint" "$(cat "$T/err")" "tainted"
"$sb" rm "$id"
# --detach --secret: released to the detached entrypoint before it starts, as in the foreground
id=$("${RUN[@]}" --detach --image "$IMG" --secret app/db/password:env=DB_PASSWORD \
  --secret app/db/password -- /bin/sh -c \
  'read v </run/secrets/app/db/password; echo "file ${#v}"; echo "env ${#DB_PASSWORD}"' 2>"$T/err")
check "detach --secret: an id" "${#id}" 16
for _ in $(seq 100); do grep -q env "$SEALBOX_STATE_DIR/sandboxes/$id/main.log" 2>/dev/null && break; sleep 0.1; done
check "detach --secret: the value in the file and the environment (lengths in main.log)" \
  "$(tr '\n' ' ' <"$SEALBOX_STATE_DIR/sandboxes/$id/main.log")" "file ${#SECRET} env ${#SECRET} "
check "detach --secret: the log names the variable, never the value" \
  "$(jq -r '.events[2].env | index("DB_PASSWORD") != null' "$SEALBOX_STATE_DIR/sandboxes/$id/mlog.json")/$(grep -c "$SECRET" "$SEALBOX_STATE_DIR/sandboxes/$id/mlog.json")" "true/0"
"$sb" rm "$id"
before=$(ls "$SEALBOX_STATE_DIR/sandboxes" | wc -l)
"${RUN[@]}" --detach --secret app/db/password -- /bin/sh -c 'echo RAN >/dev/null' >"$T/out" 2>"$T/err"
check "detach --secret, refused image: exit 125, no id" "$?/$(cat "$T/out")" "125/"
contains "detach --secret, refused image: the policy's reason" "$(cat "$T/err")" "secrets refused: .*PolicyDeny"
contains "detach --secret, refused image: names the digest" "$(cat "$T/err")" "image digest mutable:host-usr is not in the allowed set"
check "detach --secret, refused image: no sandbox left" "$(ls "$SEALBOX_STATE_DIR/sandboxes" | wc -l)" "$before"
"${RUN[@]}" --detach --secret app/db/password 2>"$T/err"
check "detach --secret without CMD: 125" "$?" 125
contains "detach --secret without CMD: named" "$(cat "$T/err")" "needs CMD"

# ---- nowhere on disk: the sandboxes' state, the KBS (database, WAL, logs), temporary dirs
kill -TERM "$PID"; wait "$PID"; PID=
# every file written under the temporary directories since the test began, and ours entirely
new=$(find "${TMPDIR:-/tmp}" /var/tmp /dev/shm -xdev -maxdepth 4 -type f -newer "$T/start" 2>/dev/null | grep -v "^$T/")
hits=$( (grep -rlaF -- "$SECRET" "$SEALBOX_STATE_DIR" "$K" "$T"; [ -n "$new" ] && xargs -r -d '\n' grep -laF -- "$SECRET" <<<"$new") 2>/dev/null | head -5)
check "the secret's bytes are nowhere on disk" "$hits" ""
ls "$K"/*.db* >/dev/null 2>&1 && pass "the KBS database was searched ($(ls "$K" | grep -c '\.db'))" || fail "no KBS database found"

finish test_secrets_run
