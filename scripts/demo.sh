#!/usr/bin/env bash
# demo.sh: the end-to-end demo on embedded defaults; each capability adds its act here.
set -euo pipefail
build=${1:-build/release}
top=$(cd "$(dirname "$0")/.." && pwd)
sb="$top/$build/sealbox"
say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

say "sealbox $("$sb" version | cut -d' ' -f2): what this build can do"
"$sb" help
say "sandbox: run untrusted code in a jail (sealbox run)"
if [ "$(id -u)" = 0 ]; then
  export SEALBOX_STATE_DIR=${SEALBOX_STATE_DIR:-$(mktemp -d /tmp/sealbox-demo.XXXXXX)}
  echo "host: $(ls /proc | grep -c '^[0-9]') processes, interfaces: $(ls /sys/class/net | tr '\n' ' ')"
  "$sb" run --memory 64M --pids 64 --timeout 10s -- sh -c '
    echo "inside: processes: $(ls /proc | grep -c "^[0-9]"), interfaces: $(cut -d: -f1 /proc/net/dev | tail -n +3 | tr -d " " | tr "\n" " ")"
    echo "inside: whoami=$(id -un) caps=$(grep CapEff /proc/self/status | cut -f2) seccomp=$(grep ^Seccomp: /proc/self/status | cut -f2)"
    ls /root/.ssh /etc/shadow /work 2>&1 | sed "s/^/inside: /"'
  "$sb" run --memory 32M -- sh -c 'x=$(head -c 200000000 /dev/zero | tr "\0" a)' || echo "memory hog exit status: $? (137 = killed by its memory limit)"
else
  echo "(skipped: sealbox run needs root)"
fi
say "demo finished"
