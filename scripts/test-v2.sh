#!/usr/bin/env bash
# test-v2.sh: the pure cgroup v2 test. Boots Debian's own kernel (linux-image-amd64) with
# cgroup_no_v1=all under QEMU (TCG: no KVM needed) into a generated initramfs holding busybox,
# sealbox, sealbox-init and their shared libraries (found with ldd), runs tests/v2/guest.sh as
# the guest's init and parses the result line it writes to the serial console.
#   scripts/test-v2.sh [BUILD_DIR]        (default build/release; `make test-v2`)
# Exit 0 pass, 1 fail, 77 skipped (qemu, a kernel or busybox missing: the reason is printed).
# Env: SEALBOX_V2_KERNEL (a vmlinuz; default the newest /boot/vmlinuz-*), SEALBOX_V2_TIMEOUT
# (seconds for the whole guest run, default 600), SEALBOX_V2_KEEP=1 keeps the work directory.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(dirname "$here")
build=${1:-$top/build/release}
skip() { echo "SKIP: $*"; exit 77; }
die() { echo "FAIL: $*"; exit 1; }

qemu=$(command -v qemu-system-x86_64 || true)
[ -n "$qemu" ] || skip "qemu-system-x86_64 is not installed (Debian: qemu-system-x86)"
[ "$(uname -m)" = x86_64 ] || skip "the guest is x86-64 and this host is $(uname -m)"
kernel=${SEALBOX_V2_KERNEL:-$(ls -1v /boot/vmlinuz-* 2>/dev/null | tail -1 || true)}
[ -n "$kernel" ] && [ -r "$kernel" ] || skip "no readable kernel in /boot (Debian: linux-image-amd64)"
kver=${kernel##*/vmlinuz-}
busybox=$(command -v busybox || true)
[ -n "$busybox" ] && ! ldd "$busybox" >/dev/null 2>&1 || skip "no static busybox (Debian: busybox-static)"
command -v cpio >/dev/null || skip "cpio is not installed"
for b in sealbox sealbox-init; do [ -x "$build/$b" ] || die "$build/$b is missing (build first)"; done

work=$(mktemp -d /tmp/sealbox-v2.XXXXXX)
[ "${SEALBOX_V2_KEEP:-}" = 1 ] || trap 'rm -rf "$work"' EXIT
root=$work/root
mkdir -p "$root"/{usr/bin,usr/sbin,usr/lib,usr/lib64,etc,proc,sys,dev,tmp,run,var/lib,lib/modules}
for l in bin sbin lib64; do ln -s "usr/$l" "$root/$l"; done
# merged /usr like Debian: /lib is usr/lib, but modules sit in /lib/modules of the real dir
mv "$root/lib/modules" "$root/usr/lib/modules" && rmdir "$root/lib" && ln -s usr/lib "$root/lib"
cp "$busybox" "$root/usr/bin/busybox"
for a in $("$busybox" --list); do
  [ -e "$root/usr/bin/$a" ] || ln -s busybox "$root/usr/bin/$a"
done
cp "$build/sealbox" "$build/sealbox-init" "$root/usr/bin/"
# shared libraries at the paths ldd names (merged /usr: /lib/... lives in usr/lib/...; a static
# binary has none)
for b in "$build/sealbox" "$build/sealbox-init"; do
  { ldd "$b" 2>/dev/null || true; } | { grep -o '/[^ ]*' || true; } | while read -r lib; do
    real=$(readlink -f "$lib")
    case $lib in /usr/*) dst=$root$lib ;; *) dst=$root/usr$lib ;; esac
    mkdir -p "$(dirname "$dst")"
    [ -e "$dst" ] || cp "$real" "$dst"
  done
done
# overlayfs is a module in Debian's kernel (uncompress if the kernel ships them compressed)
ko=$(ls /lib/modules/"$kver"/kernel/fs/overlayfs/overlay.ko* 2>/dev/null | head -1 || true)
[ -n "$ko" ] || skip "no overlay module for $kver in /lib/modules"
case $ko in
  *.xz) xz -dc "$ko" >"$root/usr/lib/modules/overlay.ko" ;;
  *.zst) zstd -qdc "$ko" >"$root/usr/lib/modules/overlay.ko" ;;
  *) cp "$ko" "$root/usr/lib/modules/overlay.ko" ;;
esac
printf 'root:x:0:0:root:/root:/bin/sh\n' >"$root/etc/passwd"
printf 'root:x:0:\n' >"$root/etc/group"
cp "$top/tests/v2/guest.sh" "$root/init"
chmod 0755 "$root/init"
(cd "$root" && find . | cpio -o -H newc --quiet | gzip -1) >"$work/initrd.gz"

echo "test-v2: kernel $kernel, initramfs $(du -h "$work/initrd.gz" | cut -f1), qemu TCG"
start=$(date +%s)
set +e
timeout "${SEALBOX_V2_TIMEOUT:-600}" "$qemu" -accel tcg -machine q35 -cpu max -smp 2 -m 1024 \
  -kernel "$kernel" -initrd "$work/initrd.gz" \
  -append "console=ttyS0 cgroup_no_v1=all panic=-1 quiet loglevel=3 no_timer_check" \
  -display none -monitor none -serial "file:$work/console.log" -no-reboot -nodefaults >"$work/qemu.log" 2>&1
qrc=$?
set -e
secs=$(($(date +%s) - start))
grep -a '^v2:' "$work/console.log" | tr -d '\r' || true
result=$(grep -a '^SEALBOX-V2-RESULT' "$work/console.log" | tr -d '\r' | tail -1 || true)
if [ -z "$result" ]; then
  echo "test-v2: no result line from the guest (qemu exit $qrc after ${secs}s); console tail:"
  tail -n 30 "$work/console.log" | tr -d '\r' | sed 's/^/    /'
  sed 's/^/    qemu: /' "$work/qemu.log" | tail -5
  exit 1
fi
passed=$(echo "$result" | sed -n 's/.*passed=\([0-9]*\).*/\1/p')
failed=$(echo "$result" | sed -n 's/.*failed=\([0-9]*\).*/\1/p')
echo "test-v2: guest ran ${secs}s wall: $passed passed, $failed failed"
[ "${failed:-1}" = 0 ] && [ "${passed:-0}" -gt 0 ]
