#!/usr/bin/env bash
# bench.sh: runs every benchmark; each prints its figures as ratios against an anchor
# measured in the same run (never absolute times alone: these machines are noisy).
set -euo pipefail
build=${1:-build/release}
top=$(cd "$(dirname "$0")/.." && pwd)
shopt -s nullglob
ran=0
for b in "$top/$build"/bench_*; do
  [ -x "$b" ] || continue
  echo "== $(basename "$b")"
  "$b"
  ran=$((ran + 1))
done
for s in "$top"/bench/*.sh; do
  echo "== $(basename "$s")"
  bash "$s" "$top/$build"
  ran=$((ran + 1))
done
echo "bench: $ran benchmarks ran"
