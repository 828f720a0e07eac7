#!/usr/bin/env bash
# test_cgroup_v2: the pure cgroup v2 path, for real — scripts/test-v2.sh boots Debian's own
# kernel with cgroup_no_v1=all under QEMU (TCG, no KVM needed) into an initramfs holding this
# build's sealbox and sealbox-init, and runs tests/v2/guest.sh there (limits, OOM 137, pids.max,
# freeze/thaw through cgroup.freeze, nothing left after destroy). Skips (77) with the reason
# when qemu, a kernel or a static busybox is missing (scripts/packages.txt installs them).
set -uo pipefail
sb=${SEALBOX:?SEALBOX must point at the sealbox binary}
exec bash "$(dirname "$0")/../../scripts/test-v2.sh" "$(dirname "$sb")"
