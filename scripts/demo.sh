#!/usr/bin/env bash
# demo.sh: the end-to-end demo on embedded defaults; each capability adds its act here.
set -euo pipefail
build=${1:-build/release}
top=$(cd "$(dirname "$0")/.." && pwd)
sb="$top/$build/sealbox"
say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

say "sealbox $("$sb" version | cut -d' ' -f2): what this build can do"
"$sb" help
# ---- act: verify real TEE evidence, appraise it, sign the result ----------------------------
ev=${SEALBOX_EVIDENCE_DIR:-$top/../shared/evidence}
demo_tmp=$(mktemp -d); trap 'rm -rf "$demo_tmp"' EXIT
if [ -d "$ev/snp" ]; then
  say "verify: a real AMD SEV-SNP report (Milan) against its VCEK and the pinned AMD roots"
  echo "\$ sealbox verify --certs snp/trustee/test-vcek.der --at 2025-06-01T00:00:00Z snp/trustee/test-report.bin"
  (cd "$ev" && "$sb" verify --certs snp/trustee/test-vcek.der --at 2025-06-01T00:00:00Z \
      snp/trustee/test-report.bin) || true
  echo "-> exit 0: signature, VCEK→ASK→ARK chain, REPORTED_TCB and CHIP_ID all hold; the default policy affirms."

  say "verify: go-sev-guest's real report has the DEBUG policy bit set; the default policy says no"
  rc=0
  (cd "$ev" && "$sb" verify --certs snp/go-sev-guest/vcek.testcer --at 2022-09-24T01:00:00Z \
      snp/go-sev-guest/attestation.bin | grep -E '^(verdict|reason|debug)') || rc=$?
  echo "-> exit 1: authentic, but contraindicated — and the reason names the claim and what was expected."

  say "verify: one flipped byte in the signed report (Trustee's negative sample)"
  (cd "$ev" && "$sb" verify --certs snp/trustee/test-vcek.der --at 2025-06-01T00:00:00Z \
      snp/derived-negative/trustee_report_b42plus1_badsig.bin 2>&1 | head -n 2) || true
  echo "-> exit 2: the evidence cannot be authenticated, so it is never appraised."

  say "verify: a configfs-tsm capture (Genoa): the VCEK, ASK and ARK travel in its auxblob"
  (cd "$ev" && "$sb" verify --at 2025-06-01T00:00:00Z snp/veraison-tsm/sevsnp-tsm-report.json \
      | grep -E '^(verdict|platform|product|collateral)') || true
  echo "-> the auxblob's ARK must be the pinned ARK-Genoa; a Milan chain or a Genoa report with a Milan VCEK is refused."

  if "$sb" verify --help | grep -q ' nitro'; then
    say "verify: a real AWS Nitro Enclaves document, at its own timestamp (leaf certificates live ~3 h)"
    (cd "$ev" && "$sb" verify --at 2024-09-07T14:37:39Z nitro/blocky-nitrite/nitro_attestation.b64 \
        | grep -E '^(verdict|platform|measurements.pcr0)') || true
  fi

  if "$sb" verify --help | grep -q ' tdx'; then
    say "verify: Intel TDX — a v4 quote with its dcap-qvl collateral (UpToDate), then a v5 quote whose PCK fits no TCB level, then a byte flipped in a TD body"
    (cd "$ev" && "$sb" verify --at 1752919234 tdx/dcap-qvl/tdx_quote tdx/dcap-qvl/tdx_quote_collateral.json \
        | grep -E '^(verdict|platform|measurements.mrtd|collateral: tcb-info)') || true
    (cd "$ev" && "$sb" verify --at 1774003274 tdx/dcap-qvl/tdx_quote_outdated tdx/dcap-qvl/tdx_quote_outdated_collateral.json \
        | grep -E '^(verdict|reason)') || true
    (cd "$ev" && "$sb" verify --at 2023-07-01T01:00:00Z tdx/derived-negative/spr_e4_td_quote_body_0x3c_eq_0x32.dat 2>&1 \
        | grep -E '^(verdict|sealbox verify)') || true
  fi

  if "$sb" verify --help | grep -q ' nvidia'; then
    say "verify: an NVIDIA H100 SPDM measurement report with its device chain (OCSP and RIMs offline: reported unchecked)"
    (cd "$ev" && "$sb" verify nvidia/nvtrust/hopperAttestationReport.txt nvidia/nvtrust/hopperCertChain.txt \
        | grep -E '^(verdict|platform|product|measurements.block2:|warning)') || true
  fi

  say "token: the same SNP verdict as a signed EAR attestation-result JWT (ES256), and the JWKS"
  openssl ecparam -name prime256v1 -genkey -noout 2>/dev/null \
    | openssl pkcs8 -topk8 -nocrypt -out "$demo_tmp/token-key.pem"
  jwt=$(cd "$ev" && "$sb" verify --certs snp/trustee/test-vcek.der --at 2025-06-01T00:00:00Z \
        --token "$demo_tmp/token-key.pem" snp/trustee/test-report.bin | sed -n 's/^token: //p')
  echo "token: ${jwt:0:72}…"
  echo "payload (status and AR4SI vector):"
  p=$(printf '%s' "$jwt" | cut -d. -f2 | tr '_-' '/+'); while [ $(( ${#p} % 4 )) -ne 0 ]; do p="$p="; done
  printf '%s' "$p" | base64 -d | jq -c '.submods.snp | {"ear.status", "ear.trustworthiness-vector", "ear.appraisal-policy-id"}'
  "$sb" jwks "$demo_tmp/token-key.pem" | jq -c '.keys[] | {kid, alg, crv}'

  say "collateral: an offline cache keyed by what identifies each item"
  "$sb" collateral --state-dir "$demo_tmp/state" import "$ev/snp/trustee/test-vcek.der" \
    "$ev/tdx/go-tdx-guest/sample_tcbInfo_response" "$ev/tdx/dcap-rs/intel_root_ca_crl.der"
  "$sb" collateral --state-dir "$demo_tmp/state" ls --at 2025-01-01T00:00:00Z
else
  say "verify: evidence corpus not found at $ev (set SEALBOX_EVIDENCE_DIR) — act skipped"
fi

# ---- act: the TPM attester against a software TPM (swtpm) ----------------------------------
tpm_act() {
  local td port tpid tcti nonce
  nonce=$(printf "5eab%060d" 1)
  td=$(mktemp -d /tmp/sealbox-tpm-demo.XXXXXX)
  mkdir "$td/state" "$td/ca"
  printf 'statedir = %s\nsigningkey = %s/signkey.pem\nissuercert = %s/issuercert.pem\ncertserial = %s/certserial\n' \
    "$td/ca" "$td/ca" "$td/ca" "$td/ca" > "$td/localca.conf"
  printf -- '--platform-manufacturer sealbox\n--platform-version 2.1\n--platform-model swtpm\n' > "$td/localca.options"
  printf 'create_certs_tool = swtpm_localca\ncreate_certs_tool_config = %s\ncreate_certs_tool_options = %s\n' \
    "$td/localca.conf" "$td/localca.options" > "$td/setup.conf"
  if ! swtpm_setup --tpm2 --tpmstate "$td/state" --config "$td/setup.conf" --create-ek-cert \
      --create-platform-cert --pcr-banks sha256 > "$td/setup.log" 2>&1; then
    echo "(skipped: swtpm_setup failed)"; rm -rf "$td"; return 0
  fi
  cat "$td/ca/swtpm-localca-rootca-cert.pem" "$td/ca/issuercert.pem" > "$td/ek-ca.pem"
  port=$(( 20000 + RANDOM % 20000 ))
  swtpm socket --tpm2 --tpmstate dir="$td/state" --server type=tcp,port=$port,bindaddr=127.0.0.1 \
    --ctrl type=tcp,port=$((port + 1)),bindaddr=127.0.0.1 --flags startup-clear > "$td/swtpm.log" 2>&1 &
  tpid=$!
  for _ in $(seq 100); do (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break; sleep 0.1; done
  tcti="swtpm:host=127.0.0.1,port=$port"
  echo "\$ sealbox tpm --tcti $tcti enroll --ek-ca ek-ca.pem"
  "$sb" tpm --tcti "$tcti" --state-dir "$td" enroll --ek-ca "$td/ek-ca.pem" || true
  "$sb" tpm --tcti "$tcti" --pcrs sha256:0,7 quote --nonce "$nonce" > "$td/quote.json" || true
  echo '{"platforms": ["tpm"], "allow_insecure": true}' > "$td/policy.json"
  echo "\$ sealbox verify --nonce … --tpm-enrolled STATE/tpm-enrolled --policy tpm-dev.json quote.json"
  "$sb" verify --nonce "$nonce" --tpm-enrolled "$td/tpm-enrolled" --policy "$td/policy.json" \
    "$td/quote.json" | grep -E '^(verdict|platform|report_data|note: insecure)' || true
  echo "-> affirming: the AK proved by ActivateCredential that it lives in the TPM whose EK the CA certified."
  echo "   (swtpm is software: the quote is marked insecure, accepted here only by allow_insecure.)"
  echo "\$ sealbox verify … quote.json   # without the enrollment registry"
  "$sb" verify --nonce "$nonce" --policy "$td/policy.json" "$td/quote.json" \
    | grep -E '^(verdict|reason)' || true
  echo "-> any software key can sign a well-formed quote: an AK nobody vouches for is refused, by name."
  kill -TERM "$tpid" 2>/dev/null || true; wait "$tpid" 2>/dev/null || true
  rm -rf "$td"
}
say "tpm: a software TPM attests; its AK is enrolled by credential activation against the EK CA"
if command -v swtpm >/dev/null && command -v swtpm_setup >/dev/null && command -v swtpm_localca >/dev/null; then
  tpm_act
else
  echo "(skipped: swtpm and swtpm-tools are not installed)"
fi

say "sandbox: run untrusted code in a jail (sealbox run)"
if [ "$(id -u)" = 0 ]; then
  sb_state=${SEALBOX_STATE_DIR:-}
  [ -n "$sb_state" ] || { sb_state=$(mktemp -d /tmp/sealbox-demo.XXXXXX); sb_own_state=1; }
  echo "host: $(ls /proc | grep -c '^[0-9]') processes, interfaces: $(ls /sys/class/net | tr '\n' ' ')"
  "$sb" run --state-dir "$sb_state" --memory 64M --pids 64 --timeout 10s -- sh -c '
    echo "inside: processes: $(ls /proc | grep -c "^[0-9]"), interfaces: $(cut -d: -f1 /proc/net/dev | tail -n +3 | tr -d " " | tr "\n" " ")"
    echo "inside: whoami=$(id -un) caps=$(grep CapEff /proc/self/status | cut -f2) seccomp=$(grep ^Seccomp: /proc/self/status | cut -f2)"
    ls /root/.ssh /etc/shadow /work 2>&1 | sed "s/^/inside: /"'
  "$sb" run --state-dir "$sb_state" --memory 32M -- sh -c 'x=$(head -c 200000000 /dev/zero | tr "\0" a)' || echo "memory hog exit status: $? (137 = killed by its memory limit)"
  if [ -n "${sb_own_state:-}" ]; then rm -rf "$sb_state"; fi
else
  echo "(skipped: sealbox run needs root)"
fi
say "daemon: sealboxd — tenants, API keys, a sandbox over the HTTP API, metrics, clean stop"
if [ "$(id -u)" = 0 ] && command -v curl >/dev/null && [ -x "$(dirname "$sb")/sealboxd" ]; then
  dd=$(mktemp -d /tmp/sealboxd-demo.XXXXXX)
  "$sb" admin --state-dir "$dd" tenant create acme --max-sandboxes 5
  key=$("$sb" admin --state-dir "$dd" key create acme --label demo 2>/dev/null)
  echo "API key (shown once): ${key:0:17}…"
  "$(dirname "$sb")/sealboxd" --state-dir "$dd" --log-file "$dd/log" --warm-pool 1 &
  dpid=$!
  # Whatever happens below, the daemon does not outlive the demo.
  trap 'kill -TERM "$dpid" 2>/dev/null || true; wait "$dpid" 2>/dev/null || true; rm -rf "$demo_tmp" "$dd"' EXIT
  api() { curl -s --unix-socket "$dd/sealboxd.sock" -H "Authorization: Bearer $key" "$@"; }
  for _ in $(seq 100); do api http://sealbox/v1/health >/dev/null 2>&1 && break; sleep 0.1; done
  api http://sealbox/v1/health; echo
  echo "no key:  $(curl -s --unix-socket "$dd/sealboxd.sock" http://sealbox/v1/tenant | jq -c '{status, detail}')"
  sid=$(api -H 'Content-Type: application/json' http://sealbox/v1/sandboxes \
        -d '{"metadata":{"demo":"yes"},"env":{"GREETING":"hello from the API"}}' | jq -r .id)
  echo "created $sid"
  code='import sys; print(sys.version.split()[0], 6*7)'
  if command -v python3 >/dev/null; then
    body=$(jq -nc --arg c "$code" '{cmd:"python3", args:["-c",$c]}')
  else
    body='{"cmd":"sh","args":["-c","echo $GREETING; expr 6 \\* 7"]}'
  fi
  api -H 'Content-Type: application/json' "http://sealbox/v1/sandboxes/$sid/exec" -d "$body" | jq -c '{exit_code, stdout}'
  api -H 'Content-Type: application/json' "http://sealbox/v1/sandboxes/$sid/exec" \
      -d '{"cmd":"sh","args":["-c","echo $GREETING; exit 3"]}' | jq -c '{exit_code, stdout}'
  api -X POST "http://sealbox/v1/sandboxes/$sid/standby" | jq -c '{id, state}'
  api -X POST "http://sealbox/v1/sandboxes/$sid/resume" | jq -c '{id, state}'
  api http://sealbox/metrics | grep -E '^sealbox_(sandboxes\{state="running"\}|sandbox_creates_total|warm_pool_hits)'
  api -X DELETE -o /dev/null -w "delete: %{http_code}\n" "http://sealbox/v1/sandboxes/$sid"
  kill -TERM "$dpid"; wait "$dpid"; echo "sealboxd stopped cleanly (exit $?)"
  say "audit: what sealboxd recorded, checked against its signed head; one edit is caught"
  "$sb" audit --state-dir "$dd" tail -n 4 | cut -c1-150
  "$sb" audit --state-dir "$dd" verify
  if command -v sqlite3 >/dev/null; then
    sqlite3 "$dd/sealbox.db" "DROP TRIGGER audit_log_no_update;
      UPDATE audit_log SET record = replace(record, '\"status\":204', '\"status\":404')
      WHERE record LIKE '%sandbox.delete%'"
    "$sb" audit --state-dir "$dd" verify || echo "(exit $?: the edit was found)"
  fi
  rm -rf "$dd"
else
  echo "(skipped: needs root, curl and the sealboxd binary)"
fi
say "measure and attest: a sandbox's measurement log bound into evidence (software attester: INSECURE)"
if [ "$(id -u)" = 0 ]; then
  ma=$(mktemp -d /tmp/sealbox-attest-demo.XXXXXX)
  echo '{"command": ["sh", "-c", "echo measured"]}' >"$ma/cfg.json"
  "$sb" measure --state-dir "$ma" host "$ma/cfg.json"
  "$sb" run --state-dir "$ma" --log "$ma/log.json" -- sh -c 'echo measured'
  echo "the run's log: $(jq -c '{digest: (.digest[:22] + "…"), events: [.events[].type], tainted}' "$ma/log.json") (same digest as measured)"
  "$sb" attest --software "$ma/attester-software.pem" --nonce "$(head -c 32 /dev/urandom | base64 -w0)" \
    --log "$ma/log.json" >"$ma/att.json"
  jq .evidence "$ma/att.json" >"$ma/ev.json"
  echo "-- the default policy refuses it:"
  "$sb" verify "$ma/ev.json" || true
  printf '{"id":"dev-only","allow_insecure":true,"platforms":["software"],"report_data":"%s"}' \
    "$(jq -r .report_data "$ma/att.json")" >"$ma/dev.json"
  echo "-- a development policy that allows insecure evidence and pins this binding:"
  "$sb" verify --policy "$ma/dev.json" "$ma/ev.json" || true
  echo "The software attester proves nothing against a privileged attacker: anyone who can read"
  echo "its key can sign anything. Real deployments use configfs-tsm (SNP/TDX) or a TPM."
  rm -rf "$ma"
else
  echo "(skipped: sealbox run needs root)"
fi
say "key broker: a secret released to a sandbox that proves what it runs (software attester: INSECURE; same-host KBS: local)"
if [ "$(id -u)" = 0 ] && command -v curl >/dev/null && [ -x "$(dirname "$sb")/sealboxd" ]; then
  kd=$(mktemp -d /tmp/sealbox-kbs-demo.XXXXXX)
  "$sb" admin --state-dir "$kd" tenant create demo >/dev/null
  tkey=$("$sb" admin --state-dir "$kd" key create demo 2>/dev/null)
  akey=$("$sb" kbs admin-key create --state-dir "$kd" 2>/dev/null)
  "$(dirname "$sb")/sealboxd" --state-dir "$kd" --log-file "$kd/log" --kbs &
  kpid=$!
  trap 'kill -TERM "$kpid" 2>/dev/null || true; wait "$kpid" 2>/dev/null || true; rm -rf "$kd"' EXIT
  ks=$kd/sealboxd.sock
  kapi() { curl -s --unix-socket "$ks" "$@"; }
  for _ in $(seq 100); do kapi http://sealbox/v1/health >/dev/null 2>&1 && break; sleep 0.1; done
  # The secret and the two policies, through the admin API (its own key, not a tenant's).
  printf 'db-password-42' | kapi -H "Authorization: Bearer $akey" --data-binary @- \
    -o /dev/null -w "admin: put demo/db/password -> %{http_code}\n" http://sealbox/kbs/v0/resource/demo/db/password
  b64() { printf '%s' "$1" | base64 -w0; }
  kapi -H "Authorization: Bearer $akey" -o /dev/null -w "admin: attestation policy (allow_insecure, software only) -> %{http_code}\n" \
    -d "{\"type\":\"sealbox\",\"policy\":\"$(b64 '{"id":"dev-only","allow_insecure":true,"platforms":["software"]}')\"}" \
    http://sealbox/kbs/v0/attestation-policy
  rpol='{"rules":[{"resources":["demo/*/*"],"allow_insecure":true,"require_log":true}]}'
  kapi -H "Authorization: Bearer $akey" -o /dev/null -w "admin: resource policy $rpol -> %{http_code}\n" \
    -d "{\"policy\":\"$(b64 "$rpol")\"}" http://sealbox/kbs/v0/resource-policy
  # A sandbox, its entrypoint, and the measurement log the monitor kept of it.
  tapi() { kapi -H "Authorization: Bearer $tkey" -H 'Content-Type: application/json' "$@"; }
  sid=$(tapi http://sealbox/v1/sandboxes -d '{}' | jq -r .id)
  tapi "http://sealbox/v1/sandboxes/$sid/exec" -d '{"cmd":"sh","args":["-c","echo agent started"]}' | jq -c '{exit_code, stdout}'
  tapi "http://sealbox/v1/sandboxes/$sid/log" >"$kd/log1.json"
  echo "its log: $(jq -c '{digest: (.digest[:22] + "…"), events: [.events[].type], tainted}' "$kd/log1.json")"
  # The handshake by hand, to show the token: auth (nonce) -> evidence bound to nonce, key and log -> attest.
  nonce=$(kapi -c "$kd/jar" -H 'Content-Type: application/json' \
    -d '{"version":"0.4.0","tee":"sealbox-software","extra-params":""}' http://sealbox/kbs/v0/auth | jq -r .nonce)
  "$sb" attest --software "$kd/attester-software.pem" --nonce "$nonce" --log "$kd/log1.json" >"$kd/att.json"
  jq -c --slurpfile log "$kd/log1.json" '{"runtime-data": (.["runtime-data"] | del(.["additional-evidence"])),
      "tee-evidence": {primary_evidence: .evidence, additional_evidence: "", sealbox_log: $log[0]}}' \
    "$kd/att.json" >"$kd/attest.json"
  token=$(kapi -b "$kd/jar" -H 'Content-Type: application/json' --data-binary @"$kd/attest.json" \
    http://sealbox/kbs/v0/attest | jq -r .token)
  p=$(cut -d. -f2 <<<"$token" | tr '_-' '/+'); while [ $((${#p} % 4)) != 0 ]; do p="$p="; done
  echo "the EAR token says: $(base64 -d <<<"$p" | jq -c '.submods[] | {"ear.status": ."ear.status", "ear.sealbox.insecure": ."ear.sealbox.insecure", "ear.sealbox.local": ."ear.sealbox.local"}')"
  # The whole handshake with sealbox's own client (a fresh TEE key; the value is a JWE to it).
  printf 'released to the untainted sandbox: '
  "$sb" kbs get demo/db/password --url http://sealbox --unix-socket "$ks" \
    --attester-key "$kd/attester-software.pem" --log "$kd/log1.json"; echo
  tapi "http://sealbox/v1/sandboxes/$sid/exec" -d '{"cmd":"sh","args":["-c","echo something else ran"]}' >/dev/null
  tapi "http://sealbox/v1/sandboxes/$sid/log" >"$kd/log2.json"
  echo "after a second command the log is tainted: $(jq -c '{events: [.events[].type], tainted}' "$kd/log2.json")"
  "$sb" kbs get demo/db/password --url http://sealbox --unix-socket "$ks" \
    --attester-key "$kd/attester-software.pem" --log "$kd/log2.json" 2>&1 | cut -c1-260 || true
  echo "-> sealbox run --secret: sealbox-init inside a fresh sandbox runs the same handshake and"
  echo "   hands the value to the entrypoint only (here as \$DB_PASSWORD; it is on no disk):"
  "$sb" run --kbs-url http://sealbox --kbs-unix-socket "$ks" --attester-key "$kd/attester-software.pem" \
    --secret demo/db/password:env=DB_PASSWORD -- sh -c 'echo "   the workload got a ${#DB_PASSWORD}-character secret"' ||
    echo "   (run --secret failed: exit $?)"
  echo "What this shows: the KBS released the secret only to evidence bound to this sandbox's"
  echo "measurement log (image, config, entrypoint, nothing after), and refused once more ran."
  echo "What it does NOT prove: the evidence is insecure — the software attester's key is a file"
  echo "on this host, so anyone with root here can sign any evidence; and the KBS is local — it"
  echo "runs in the same sealboxd as the sandbox, so the host is vouching for itself. Assurance"
  echo "against the host needs hardware evidence (SNP/TDX, a TPM) and a KBS on another machine."
  kill -TERM "$kpid"; wait "$kpid" || true
  trap - EXIT
  rm -rf "$kd"
else
  echo "(skipped: needs root, curl and the sealboxd binary)"
fi
say "gateway: an agent's MCP session through the least-privilege gateway (its tool server in a sandbox)"
gwsrv=$(dirname "$sb")/mcp_testserver
if [ "$(id -u)" = 0 ] && [ -x "$gwsrv" ]; then
  gd=$(mktemp -d /tmp/sealbox-gw-demo.XXXXXX)
  # The server is sealbox's own small test MCP server (tools echo, add, ... and one whose
  # description hides an instruction); it runs in a jail sandbox with only its directory mounted.
  cat >"$gd/gw.json" <<EOF
{"servers": {"tools": {"command": "/srv/mcp_testserver", "mounts": [{"src": "$(dirname "$gwsrv")", "dst": "/srv"}],
                       "pin": "tofu", "stderr": "discard"}},
 "agents": {"demo": {"servers": {"allow": ["tools"]},
   "tools": {"allow": ["tools.*"], "deny": ["tools.add"],
     "tools.echo": {"arguments": {"type": "object", "required": ["message"], "additionalProperties": false,
                                  "properties": {"message": {"type": "string", "maxLength": 32}}}}}}}}
EOF
  echo "the agent's policy: $(jq -c '.agents.demo' "$gd/gw.json")"
  coproc GW { "$sb" gateway stdio --config "$gd/gw.json" --agent demo --state-dir "$gd/state" 2>"$gd/err"; }
  # what an MCP client does: one request, wait for its answer, then the next
  mcp() {
    printf '%s\n' "$1" >&"${GW[1]}"
    case "$1" in *'"id"'*) IFS= read -r line <&"${GW[0]}" && printf '   <- %s\n' "$(jq -c "$2" <<<"$line")" ;; esac
  }
  echo "-> initialize"
  mcp '{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"demo","version":"1"}}}' '.result.serverInfo.name'
  mcp '{"jsonrpc":"2.0","method":"notifications/initialized"}' .
  echo "-> tools/list (add is denied to this agent; inject hides an instruction in its description)"
  mcp '{"jsonrpc":"2.0","id":2,"method":"tools/list"}' '[.result.tools[].name]'
  echo "-> tools/call echo, within the argument rules"
  mcp '{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"tools__echo","arguments":{"message":"hello through the gateway"}}}' '.result.content[0].text'
  echo "-> tools/call add (denied: invisible is uncallable)"
  mcp '{"jsonrpc":"2.0","id":4,"method":"tools/call","params":{"name":"tools__add","arguments":{"a":1,"b":2}}}' '.error.message'
  echo "-> tools/call echo with an argument over maxLength (the refusal names the rule)"
  mcp '{"jsonrpc":"2.0","id":5,"method":"tools/call","params":{"name":"tools__echo","arguments":{"message":"this message is far too long for the policy"}}}' '.result.content[0].text[:150]'
  exec {GW[1]}>&-
  wait "$GW_PID" 2>/dev/null || true
  echo "the audit log of this session (hash-chained, head signed):"
  "$sb" audit export --jsonl --state-dir "$gd/state" |
    jq -c '.record | {method, tool: .name, decision, reason: ((.reason // "")[:70])}'
  "$sb" audit verify --state-dir "$gd/state" | head -n 1
  echo "What this shows: the agent saw and could call only what its policy allows, arguments were"
  echo "checked before anything reached the server, a tool with a hidden instruction was withheld,"
  echo "and every exchange is in a log whose head is signed. With \"pin\": \"manual\" (the default)"
  echo "no tool is shown until an operator approves its exact definition (docs/gateway.md)."
  rm -rf "$gd"
else
  echo "(skipped: needs root and the mcp_testserver program next to sealbox)"
fi
say "demo finished"
