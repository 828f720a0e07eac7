#!/usr/bin/env bash
# test_cli: the sealbox command line — usage errors exit 2 with a clear message, --json output
# is valid JSON, and help lists the commands.
set -uo pipefail
top=${SEALBOX_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
sb=${SEALBOX:-$top/build/asan/sealbox}
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
fails=0 n=0
# expect_run WANT_EXIT SUBSTRING ARGS... : runs sealbox, checks exit code and output.
expect_run() {
  local want=$1 sub=$2; shift 2
  n=$((n + 1))
  local out rc
  out=$("$sb" "$@" 2>&1); rc=$?
  if [ "$rc" != "$want" ] || [[ "$out" != *"$sub"* ]]; then
    echo "FAIL: sealbox $* -> exit $rc (want $want), output lacks '$sub':"
    printf '%s\n' "$out" | head -n 10 | sed 's/^/  | /'
    fails=$((fails + 1))
  else
    echo "ok   sealbox $* -> $rc"
  fi
}

printf 'not evidence\n' >"$tmp/text.bin"
expect_run 2 "unknown command 'nope'" nope
expect_run 2 "usage: sealbox" 
expect_run 0 "verify" help
expect_run 0 "usage: sealbox verify" verify --help
expect_run 0 "usage: sealbox verify" help verify
expect_run 2 "no EVIDENCE file given" verify
expect_run 2 "unknown option '--frobnicate'" verify --frobnicate "$tmp/text.bin"
expect_run 2 "--at tomorrow" verify --at tomorrow "$tmp/text.bin"
expect_run 2 "--nonce" verify --nonce zz "$tmp/text.bin"
expect_run 2 "no such verifier" verify --platform bogus "$tmp/text.bin"
expect_run 2 "$tmp/missing: No such file" verify "$tmp/missing"
expect_run 2 "unrecognized evidence format" verify "$tmp/text.bin"
printf '{"allow_debug": "yes"}' >"$tmp/bad-policy.json"
expect_run 2 "--policy: $tmp/bad-policy.json: policy: allow_debug: expected true or false" \
  verify --policy "$tmp/bad-policy.json" "$tmp/text.bin"
printf '{"frobnicate": 1}' >"$tmp/unknown-key.json"
expect_run 2 "unknown key 'frobnicate'" verify --policy "$tmp/unknown-key.json" "$tmp/text.bin"
expect_run 2 "--policy: $tmp/none.json: No such file" verify --policy "$tmp/none.json" "$tmp/text.bin"

# --json: valid JSON with the exit code and error code, even on failure.
n=$((n + 1))
out=$("$sb" verify --json "$tmp/text.bin" 2>/dev/null); rc=$?
if [ "$rc" = 2 ] && printf '%s' "$out" | jq -e '.exit == 2 and .error.code == "unsupported"' >/dev/null; then
  echo "ok   verify --json on unrecognized evidence is valid JSON"
else
  echo "FAIL: verify --json output: $out"; fails=$((fails + 1))
fi

# collateral cache: import (keyed names), ls (windows), prune, errors.
st="$tmp/state"
printf '{"tcbInfo":{"id":"TDX","version":3,"fmspc":"00906ed50000","issueDate":"2025-01-01T00:00:00Z","nextUpdate":"2025-02-01T00:00:00Z"}}' >"$tmp/tcb.json"
expect_run 0 "as tcb-info-tdx-00906ed50000.json (tcb-info, valid 2025-01-01T00:00:00Z .. 2025-02-01T00:00:00Z)" \
  collateral --state-dir "$st" import "$tmp/tcb.json"
expect_run 0 "valid         tcb-info" collateral --state-dir "$st" ls --at 2025-01-15T00:00:00Z
expect_run 0 "EXPIRED       tcb-info" collateral --state-dir "$st" ls --at 2025-03-01T00:00:00Z
expect_run 0 "pruned 0 expired items" collateral --state-dir "$st" prune --at 2025-01-15T00:00:00Z
SEALBOX_STATE_DIR="$st" expect_run 0 "pruned 1 expired items" collateral prune --at 2025-03-01T00:00:00Z
expect_run 0 "0 items in $st/collateral" collateral --state-dir "$st" ls
expect_run 2 "not collateral sealbox knows" collateral --state-dir "$st" import "$tmp/text.bin"
expect_run 2 "unknown subcommand 'frob'" collateral --state-dir "$st" frob
expect_run 2 "no subcommand" collateral

# jwks: keys from PEM private and public keys; rotation = several keys; errors.
openssl ecparam -name prime256v1 -genkey -noout 2>/dev/null | openssl pkcs8 -topk8 -nocrypt -out "$tmp/k256.pem"
openssl ecparam -name secp384r1 -genkey -noout -out "$tmp/k384.pem" 2>/dev/null
openssl ec -in "$tmp/k384.pem" -pubout -out "$tmp/k384.pub" 2>/dev/null
openssl genpkey -algorithm ed25519 -out "$tmp/ed.pem" 2>/dev/null
n=$((n + 1))
jw=$("$sb" jwks "$tmp/k256.pem" "$tmp/k384.pub" "$tmp/k384.pem")
if printf '%s' "$jw" | jq -e '(.keys | length) == 2 and .keys[0].alg == "ES256" and .keys[1].alg == "ES384"
    and .keys[0].use == "sig" and (.keys[0].kid | length) == 43 and .keys[0].kid != .keys[1].kid
    and (.keys[0] | has("d") | not)' >/dev/null; then
  echo "ok   jwks: two keys (private and public PEM of the same key counted once)"
else
  echo "FAIL: jwks output: $jw"; fails=$((fails + 1))
fi
expect_run 2 "only EC P-256 (ES256) and P-384 (ES384)" jwks "$tmp/ed.pem"
expect_run 2 "no KEY given" jwks
expect_run 2 "--token" verify --token "$tmp/missing.pem" "$tmp/text.bin"

# --token: a real verification signed as an EAR JWT, checked with the openssl command line only.
ev=${SEALBOX_EVIDENCE_DIR:-$top/../shared/evidence}
if [ -f "$ev/snp/trustee/test-report.bin" ] && "$sb" verify --help | grep -q ' snp'; then
  n=$((n + 1))
  b64u_dec() { local p; p=$(printf '%s' "$1" | tr '_-' '/+'); while [ $(( ${#p} % 4 )) -ne 0 ]; do p="$p="; done; printf '%s' "$p" | base64 -d; }
  out=$(cd "$ev" && "$sb" verify --certs snp/trustee/test-vcek.der --at 2025-06-01T00:00:00Z \
        --nonce ec6c52d7 --token "$tmp/k256.pem" snp/trustee/test-report.bin 2>&1)
  jwt=$(printf '%s\n' "$out" | sed -n 's/^token: //p')
  IFS=. read -r h p s <<<"$jwt"
  b64u_dec "$s" >"$tmp/sig.raw"
  r=$(head -c 32 "$tmp/sig.raw" | xxd -p -c 64); sv=$(tail -c 32 "$tmp/sig.raw" | xxd -p -c 64)
  printf 'asn1=SEQUENCE:sig\n[sig]\nr=INTEGER:0x%s\ns=INTEGER:0x%s\n' "$r" "$sv" >"$tmp/sig.cnf"
  openssl asn1parse -genconf "$tmp/sig.cnf" -out "$tmp/sig.der" >/dev/null
  openssl ec -in "$tmp/k256.pem" -pubout -out "$tmp/k256.pub" 2>/dev/null
  printf '%s.%s' "$h" "$p" >"$tmp/signed"
  hdr=$(b64u_dec "$h"); pl=$(b64u_dec "$p")
  kid=$("$sb" jwks "$tmp/k256.pem" | jq -r '.keys[0].kid')
  if openssl dgst -sha256 -verify "$tmp/k256.pub" -signature "$tmp/sig.der" "$tmp/signed" >/dev/null &&
     printf '%s' "$hdr" | jq -e --arg kid "$kid" '.alg == "ES256" and .typ == "JWT" and .kid == $kid' >/dev/null &&
     printf '%s' "$pl" | jq -e '.eat_profile == "tag:github.com,2023:veraison/ear" and .eat_nonce == "7GxS1w"
       and .submods.snp["ear.status"] == "affirming" and .submods.snp["ear.appraisal-policy-id"] == "sealbox-default"
       and .submods.snp["ear.trustworthiness-vector"].hardware == 2
       and .submods.snp["ear.veraison.annotated-evidence"].platform == "snp"' >/dev/null; then
    echo "ok   verify --token: ES256 JWT verified by openssl, kid matches jwks, EAR claims present"
  else
    echo "FAIL: verify --token output:"; printf '%s\n' "$out" | tail -n 3; echo "header: $hdr"; fails=$((fails + 1))
  fi
  # a flipped payload byte no longer verifies
  n=$((n + 1))
  printf '%s.%sA' "$h" "$p" >"$tmp/signed2"
  if openssl dgst -sha256 -verify "$tmp/k256.pub" -signature "$tmp/sig.der" "$tmp/signed2" >/dev/null 2>&1; then
    echo "FAIL: tampered token verified"; fails=$((fails + 1))
  else
    echo "ok   tampered token refused by openssl"
  fi
  # --json carries the token and the appraisal
  n=$((n + 1))
  if (cd "$ev" && "$sb" verify --json --certs snp/trustee/test-vcek.der --at 2025-06-01T00:00:00Z \
        --token "$tmp/k256.pem" snp/trustee/test-report.bin) | jq -e '.exit == 0 and .verdict == "affirming"
        and (.token | split(".") | length) == 3 and .appraisal.trustworthiness_vector.hardware == 2
        and .claims.platform == "snp"' >/dev/null; then
    echo "ok   verify --json with --token"
  else
    echo "FAIL: verify --json --token"; fails=$((fails + 1))
  fi
  # exit 1 with --json: the appraisal names the claim; the token still carries the verdict
  n=$((n + 1))
  out=$(cd "$ev" && "$sb" verify --json --certs snp/go-sev-guest/vcek.testcer \
        --at 2022-09-24T01:00:00Z snp/go-sev-guest/attestation.bin 2>/dev/null); rc=$?
  if [ "$rc" = 1 ] && printf '%s' "$out" | jq -e '.exit == 1 and .verdict == "contraindicated"
       and .appraisal.reasons[0].claim == "debug" and .appraisal.reasons[0].trust_claim == "configuration"
       and .appraisal.trustworthiness_vector["runtime-opaque"] == 96' >/dev/null; then
    echo "ok   verify --json on debug SNP evidence: exit 1, reason names the claim"
  else
    echo "FAIL: verify --json debug evidence (exit $rc): $(printf '%s' "$out" | head -c 300)"; fails=$((fails + 1))
  fi
  # verify --collateral reads the cache 'sealbox collateral' keeps (TDX T3 with dcap-rs collateral)
  n=$((n + 1))
  cs="$tmp/cache-state"
  (cd "$ev" && "$sb" collateral --state-dir "$cs" import tdx/dcap-rs/tcbinfov3_00806f050000.json \
     tdx/dcap-rs/qeidentityv2_apiv4.json tdx/dcap-rs/pck_platform_crl.der \
     tdx/dcap-rs/intel_root_ca_crl.der tdx/dcap-rs/tcb_signing_cert.pem >/dev/null)
  out=$(cd "$ev" && "$sb" verify --json --collateral "$cs/collateral" --at 1739419232 \
        tdx/go-tdx-guest/cos-113-tdx-quote.dat 2>&1)
  if printf '%s' "$out" | jq -e '.exit == 0 and .claims.platform == "tdx"
       and ([.claims.collateral[].kind] | index("tcb-info") != null)' >/dev/null; then
    echo "ok   verify --collateral <cache>: TDX quote verified with collateral from the cache"
  else
    echo "FAIL: verify --collateral cache:"; printf '%s\n' "$out" | head -n 5; fails=$((fails + 1))
  fi
elif [ "${CI:-}" = true ]; then
  echo "FAIL: evidence corpus or snp verifier missing under CI=true"; fails=$((fails + 1))
else
  echo "SKIP: --token checks need the evidence corpus and the snp verifier"
fi

echo "cli: $n checks, $fails failed"
[ $fails -eq 0 ]
