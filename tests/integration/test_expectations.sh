#!/usr/bin/env bash
# test_expectations: runs every row of tests/expectations/*.tsv through the real `sealbox`
# binary and checks its exit code and an expected substring of its output (docs/verify.md).
#
# Row format (TAB-separated, '#' starts a comment line, blank lines ignored):
#   id  evidence  flags  at  exit  expect
# evidence: space-separated paths relative to $SEALBOX_EVIDENCE_DIR (the command runs there,
#           so relative paths inside flags resolve the same way);
# flags:    extra flags for `sealbox verify` ('-' for none). A word '@NAME' is replaced by
#           tests/policies/NAME.json, so `--policy @allow-debug` names a committed policy;
# at:       the --at value ('-' for none: the clock);
# exit:     the expected exit code (0, 1 or 2);
# expect:   a substring that must appear in stdout+stderr ('-' for none).
# Skipped (exit 77) when the evidence corpus is absent, failed under CI=true.
set -uo pipefail
top=${SEALBOX_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
sb=${SEALBOX:-$top/build/asan/sealbox}
ev=${SEALBOX_EVIDENCE_DIR:-$top/../shared/evidence}
if [ ! -d "$ev" ]; then
  if [ "${CI:-}" = true ]; then echo "FAIL: evidence corpus not found at $ev (CI=true)"; exit 1; fi
  echo "SKIP: evidence corpus not found at $ev (set SEALBOX_EVIDENCE_DIR)"; exit 77
fi
[ -x "$sb" ] || { echo "FAIL: sealbox binary not found at $sb"; exit 1; }
sb=$(cd "$(dirname "$sb")" && pwd)/$(basename "$sb") # the rows run inside the evidence dir
shopt -s nullglob
tables=("$top"/tests/expectations/*.tsv)
[ $# -gt 0 ] && tables=("$@")
pass=0 failn=0 rows=0
declare -A seen=()
for t in "${tables[@]}"; do
  lineno=0
  while IFS= read -r line || [ -n "$line" ]; do
    lineno=$((lineno + 1))
    [[ -z "${line//[[:space:]]/}" || "$line" == \#* ]] && continue
    IFS=$'\t' read -r id evidence flags at want expect extra <<<"$line"
    where="$(basename "$t"):$lineno"
    if [ -z "${expect:-}" ] || [ -n "${extra:-}" ]; then
      echo "FAIL $where: expected 6 TAB-separated columns: id evidence flags at exit expect"
      failn=$((failn + 1)); continue
    fi
    if [ -n "${seen[$id]:-}" ]; then
      echo "FAIL $where: duplicate id '$id' (first at ${seen[$id]})"; failn=$((failn + 1)); continue
    fi
    seen[$id]=$where
    rows=$((rows + 1))
    args=(verify)
    if [ "$flags" != "-" ]; then
      read -r -a fl <<<"$flags"
      for w in "${fl[@]}"; do
        if [[ "$w" == @* ]]; then
          p="$top/tests/policies/${w#@}.json"
          [ -f "$p" ] || { echo "FAIL $where [$id]: no policy $p"; failn=$((failn + 1)); continue 2; }
          args+=("$p")
        else
          args+=("$w")
        fi
      done
    fi
    [ "$at" != "-" ] && args+=(--at "$at")
    read -r -a evs <<<"$evidence"
    args+=("${evs[@]}")
    out=$(cd "$ev" && "$sb" "${args[@]}" 2>&1)
    got=$?
    ok=1
    [ "$got" = "$want" ] || ok=0
    if [ "$expect" != "-" ] && [[ "$out" != *"$expect"* ]]; then ok=0; fi
    if [ $ok = 1 ]; then
      echo "ok   $where [$id] exit $got"
      pass=$((pass + 1))
    else
      echo "FAIL $where [$id] exit $got (want $want), expect '$expect'"
      echo "     sealbox ${args[*]}"
      printf '%s\n' "$out" | head -n 15 | sed 's/^/     | /'
      failn=$((failn + 1))
    fi
  done <"$t"
done
echo "expectations: $rows rows in ${#tables[@]} tables, $pass passed, $failn failed"
[ $failn -eq 0 ]
