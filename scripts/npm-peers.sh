#!/usr/bin/env bash
# npm-peers.sh DIR...: installs the pinned npm test peers of each DIR (tests/mcp, tests/api) with
# `npm ci`, exactly as its package-lock.json says, and only when they are missing or the lock
# file changed since the last install (a stamp in node_modules records the lock file's SHA-256).
# A lock per directory serialises concurrent callers: `npm ci` first deletes node_modules, so two
# tests installing at once would pull the SDK out from under each other.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  echo "npm-peers: node/npm missing (scripts/deps.sh installs them)" >&2; exit 1
fi
for d in "$@"; do
  case "$d" in /*) ;; *) d=$top/$d ;; esac
  [ -f "$d/package-lock.json" ] || { echo "npm-peers: $d has no package-lock.json" >&2; exit 1; }
  (
    flock 9
    want=$(sha256sum "$d/package-lock.json" | cut -d' ' -f1)
    stamp=$d/node_modules/.sealbox-lock.sha256
    if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
      echo "npm-peers: npm ci in ${d#"$top"/}" >&2
      (cd "$d" && npm ci --no-audit --no-fund --silent) || {
        echo "npm-peers: npm ci failed in $d" >&2; exit 1; }
      echo "$want" >"$stamp"
    fi
  ) 9>"$d/.npm-install.lock"
done
