#!/usr/bin/env bash
# test_snp_collateral: the SEV-SNP verifier with the collateral cache, through the CLI — a report
# that carries no VCEK is verified with the VCEK 'sealbox collateral import' keyed by product,
# chip and TCB; AMD CRLs from the cache are checked against the pinned ARK (a forged one is
# refused, exit 2); without a CRL the result says "revocation unchecked".
set -uo pipefail
top=${SEALBOX_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
sb=${SEALBOX:-$top/build/asan/sealbox}
ev=${SEALBOX_EVIDENCE_DIR:-$top/../shared/evidence}
if [ ! -d "$ev/snp" ]; then
  if [ "${CI:-}" = true ]; then echo "FAIL: evidence corpus missing under CI=true"; exit 1; fi
  echo "SKIP: evidence corpus not found at $ev"; exit 0
fi
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
fails=0 n=0
check() { # check WANT_EXIT SUBSTRING ARGS...
  local want=$1 sub=$2; shift 2
  n=$((n + 1))
  local out rc
  out=$(cd "$ev" && "$sb" "$@" 2>&1); rc=$?
  if [ "$rc" != "$want" ] || [[ "$out" != *"$sub"* ]]; then
    echo "FAIL: sealbox $* -> exit $rc (want $want), output lacks '$sub':"
    printf '%s\n' "$out" | head -n 12 | sed 's/^/  | /'
    fails=$((fails + 1))
  else
    echo "ok   sealbox $* -> $rc"
  fi
}
st="$tmp/state" cache="$tmp/state/collateral"
at=2025-06-01T00:00:00Z
check 0 "as vcek-milan-b0-c38427a30d4c7af9-bl3-tee0-snp8-uc115.der (vcek" \
  collateral --state-dir "$st" import snp/trustee/test-vcek.der
# S1's report alone: the VCEK comes from the cache
check 2 "no VCEK certificate was given" verify --at $at snp/trustee/test-report.bin
check 0 "collateral cache vcek-milan-b0-c38427a30d4c7af9" \
  verify --json --collateral "$cache" --at $at snp/trustee/test-report.bin
check 0 "revocation unchecked: no ARK-Milan CRL" \
  verify --collateral "$cache" --at $at snp/trustee/test-report.bin
# another REPORTED_TCB is another key: not found
check 2 "none in the collateral cache either" \
  verify --collateral "$cache" --at $at snp/derived-negative/trustee_report_b384plus1_tcbmismatch.bin
# A CRL with the real ARK-Milan subject, signed by a key of ours (RSA-PSS, SHA-384, salt 48 like
# AMD's): imported as crl-ark-milan.der, and refused because the pinned ARK did not sign it.
awk '/BEGIN CERT/{i++} i==2' "$ev/snp/amd-chains/trustee_milan_ask_ark_asvk.pem" | sed '/END CERT/q' >"$tmp/ark.pem"
subj=$(openssl x509 -in "$tmp/ark.pem" -noout -subject -nameopt compat | sed 's/^subject=//')
if [[ "$subj" != *"ARK-Milan"* ]]; then
  echo "FAIL: could not read the ARK-Milan subject ($subj)"; fails=$((fails + 1))
else
  openssl req -x509 -newkey rsa:2048 -nodes -keyout "$tmp/ca.key" -out "$tmp/ca.pem" -days 3650 \
    -subj "$subj" -sigopt rsa_padding_mode:pss -sigopt rsa_pss_saltlen:48 -sha384 2>/dev/null
  mkdir -p "$tmp/ca"; : >"$tmp/ca/index.txt"; echo 01 >"$tmp/ca/crlnumber"
  printf '[ca]\ndefault_ca=d\n[d]\ndatabase=%s/ca/index.txt\ncrlnumber=%s/ca/crlnumber\ndefault_md=sha384\ndefault_crl_days=30\n' \
    "$tmp" "$tmp" >"$tmp/ca.cnf"
  openssl ca -config "$tmp/ca.cnf" -gencrl -keyfile "$tmp/ca.key" -cert "$tmp/ca.pem" \
    -crl_lastupdate 250520000000Z -crl_nextupdate 250620000000Z \
    -sigopt rsa_padding_mode:pss -sigopt rsa_pss_saltlen:48 -out "$tmp/forged.crl" 2>/dev/null
  check 0 "as crl-ark-milan.pem (crl" collateral --state-dir "$st" import "$tmp/forged.crl"
  check 2 "crl-ark-milan.pem (issuer ARK-Milan) does not verify with the ARK-Milan pinned in sealbox" \
    verify --collateral "$cache" --at $at snp/trustee/test-report.bin
  check 2 "does not verify with the ARK-Milan" \
    verify --at $at --certs snp/trustee/test-vcek.der --certs "$tmp/forged.crl" snp/trustee/test-report.bin
fi
echo "snp collateral: $n checks, $fails failed"
[ $fails -eq 0 ]
