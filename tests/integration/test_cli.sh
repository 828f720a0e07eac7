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

echo "cli: $n checks, $fails failed"
[ $fails -eq 0 ]
