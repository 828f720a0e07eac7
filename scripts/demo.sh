#!/usr/bin/env bash
# demo.sh: the end-to-end demo on embedded defaults; each capability adds its act here.
set -euo pipefail
build=${1:-build/release}
top=$(cd "$(dirname "$0")/.." && pwd)
sb="$top/$build/sealbox"
say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

say "sealbox $("$sb" version | cut -d' ' -f2): what this build can do"
"$sb" help
say "demo finished"
