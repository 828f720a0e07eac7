#!/usr/bin/env bash
# fuzz.sh: runs every libFuzzer target for a bounded time over a scratch copy of its corpus,
# with the shared evidence folder (if present) as an extra read-only seed directory.
# New inputs land in build/fuzz/corpus/<parser>; crashes in tests/fuzz/crashes/.
set -euo pipefail
build=${1:-build/fuzz}
secs=${2:-60}
top=$(cd "$(dirname "$0")/.." && pwd)
evidence=${SEALBOX_EVIDENCE_DIR:-$top/../shared/evidence}
mkdir -p "$top/tests/fuzz/crashes"
shopt -s nullglob
for f in "$top/$build"/fuzz_*; do
  [ -x "$f" ] || continue
  parser=$(basename "$f"); parser=${parser#fuzz_}
  work="$top/$build/corpus/$parser"
  mkdir -p "$work"
  seeds=("$work" "$top/tests/fuzz/corpus/$parser")
  [ -d "$evidence" ] && seeds+=("$evidence")
  echo "== fuzz $parser for ${secs}s"
  "$f" -max_total_time="$secs" -max_len=1048576 -rss_limit_mb=2048 -timeout=10 \
       -artifact_prefix="$top/tests/fuzz/crashes/$parser-" "${seeds[@]}"
done
