#!/usr/bin/env bash
# run.sh [--tap]: the cgroup v2 / systemd tests in a qemu VM (`make check-vm`, part of `make check`).
#
# Boots the Debian image of scripts/vm/build-image.sh (built first when missing and we are root)
# with its own kernel and initrd, systemd.unified_cgroup_hierarchy=1, the disk in snapshot mode
# and no network. The built ./usernode and tests/vm/guest go in through a read-only virtio-9p
# share, the results come out through another; a unit in the image runs tests/vm/guest/main.sh
# once the user's systemd manager is up, then powers off. Prints the guest's TAP lines, or one
# "ok 1 # skip why" line when this host cannot run the VM. Exit status 0 unless a test failed.
#
# Environment: USERNODE (the binary, default ./usernode), USERNODE_HELPERS (helper binaries,
# default build/helpers), USERNODE_VM_TIMEOUT (seconds, default 3600: every phase of main.sh, the join phase included), USERNODE_VM_ACCEL (kvm|tcg),
# USERNODE_VM_KEEP=DIR (keep console log, results and the real node's logs in DIR),
# USERNODE_VM_ONLY="phase1 node phase2" (only those phases of tests/vm/guest/main.sh),
# USERNODE_VM_KUBELET_V=N (kubelet's log verbosity in the real-node phase),
# USERNODE_VM_ROUNDS=N (rounds of the "bench" phase, scripts/bench/node_vm.sh runs it).
set -uo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top" || exit 1

skip() {
  echo "1..1"
  echo "ok 1 # skip VM tests: $*"
  exit 0
}

binary=${USERNODE:-$top/usernode}
helpers=${USERNODE_HELPERS:-$top/build/helpers}
timeout_s=${USERNODE_VM_TIMEOUT:-3600}
[ -x "$binary" ] || skip "no usernode binary at $binary (run make first)"

if [ "$(id -u)" -eq 0 ]; then
  scripts/install-deps.sh vm >&2 || skip "cannot install the vm packages (scripts/install-deps.sh vm)"
fi
command -v qemu-system-x86_64 >/dev/null || skip "qemu-system-x86_64 is not installed (scripts/install-deps.sh vm, as root)"

if image=$(scripts/vm/build-image.sh --print-dir); then
  :
elif [ "$(id -u)" -eq 0 ]; then
  t0=$(date +%s)
  if ! image=$(scripts/vm/build-image.sh); then
    # As root the image can always be built from the Debian mirror: a failure is a real one.
    echo "1..1"
    echo "not ok 1 - the VM image builds (scripts/vm/build-image.sh failed, see above)"
    exit 1
  fi
  echo "# VM image built in $(($(date +%s) - t0)) s" >&2
else
  skip "no cached VM image in $image and building one needs root (run scripts/vm/build-image.sh as root)"
fi

# KVM only when it is a real one: a nested "PVM" kvm module exposes /dev/kvm but cannot boot a
# stock kernel, so it needs vmx/svm in the CPU flags and kvm_intel or kvm_amd loaded.
accel=${USERNODE_VM_ACCEL:-}
if [ -z "$accel" ]; then
  accel=tcg
  if [ -w /dev/kvm ] && grep -qwE 'vmx|svm' /proc/cpuinfo && { [ -d /sys/module/kvm_intel ] || [ -d /sys/module/kvm_amd ]; }; then
    accel=kvm
  fi
fi
case $accel in
  kvm) cpu=(-accel kvm -cpu host) ;;
  tcg) cpu=(-accel tcg -cpu max) ;;
  *) echo "run.sh: USERNODE_VM_ACCEL must be kvm or tcg, not '$accel'" >&2; exit 2 ;;
esac

work=$(mktemp -d /tmp/usernode-vm.XXXXXX)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/in/helpers" "$work/in/tests/vm" "$work/out"
cp "$binary" "$work/in/usernode"
cp -a "$helpers"/. "$work/in/helpers/" 2>/dev/null
cp -a tests/vm/guest "$work/in/tests/vm/"
cp -a tests/e2e "$work/in/tests/" # make_busybox_archive.py, for the pods of join-node.bats
mkdir -p "$work/in/scripts" && cp -a scripts/bench "$work/in/scripts/"
for v in USERNODE_VM_ONLY USERNODE_VM_KUBELET_V USERNODE_VM_ROUNDS; do
  printf "%s='%s'\n" "$v" "$(printenv "$v" | tr -cd 'a-z0-9 ')" >>"$work/in/env"
done
chmod -R a+rX "$work/in"
chmod 0777 "$work/out"

# boot_vm: one boot of the VM; sets qemu_rc and elapsed.
boot_vm() {
  t0=$(date +%s)
  # snapshot=on: the image stays as built, every run starts from the same state.
  timeout --kill-after=10 "$timeout_s" qemu-system-x86_64 \
    "${cpu[@]}" -smp 2 -m 4G -machine q35 \
    -nodefaults -display none -no-reboot -nic none \
    -serial "file:$work/console.log" \
    -kernel "$image/vmlinuz" -initrd "$image/initrd.img" \
    -append "root=/dev/vda rw console=ttyS0 systemd.unified_cgroup_hierarchy=1 panic=-1 quiet" \
    -drive "file=$image/disk.raw,format=raw,if=virtio,snapshot=on" \
    -virtfs "local,path=$work/in,mount_tag=usernode_in,security_model=none,readonly=on" \
    -virtfs "local,path=$work/out,mount_tag=usernode_out,security_model=none" \
    </dev/null >"$work/qemu.log" 2>&1
  qemu_rc=$?
  elapsed=$(($(date +%s) - t0))
}

boot_vm
# A guest kernel that crashed while booting, before main.sh started (no tap, no log): under TCG
# with two vCPUs the stock kernel has been seen to oops at an int3 of its own text patching
# (sched_clock_cpu, 4 s in). Nothing of usernode had run: boot once more, saying why.
if [ ! -e "$work/out/tap" ] && [ ! -s "$work/out/log" ] && [ $qemu_rc -ne 124 ] &&
  grep -qE 'Oops|Kernel panic|BUG:' "$work/console.log" 2>/dev/null; then
  echo "# VM: the guest's kernel crashed while booting, before any test ran ($(grep -m1 -oE '(Oops|Kernel panic|BUG:).*' "$work/console.log" | cut -c1-100)); booting it once more"
  mv "$work/console.log" "$work/console-first-boot.log"
  boot_vm
fi

if [ -n "${USERNODE_VM_KEEP:-}" ]; then
  mkdir -p "$USERNODE_VM_KEEP" && cp -a "$work/console.log" "$work/qemu.log" "$work/out/." "$USERNODE_VM_KEEP/" 2>/dev/null
fi

# Results count only when at least one test ran: a guest that failed before bats would give none.
if [ -f "$work/out/rc" ] && grep -qE '^(not )?ok ' "$work/out/tap" 2>/dev/null; then
  cat "$work/out/tap"
  echo "# VM ($accel): boot to result in $elapsed s"
  ! grep -q '^not ok' "$work/out/tap"
  exit
fi

echo "1..1"
if [ $qemu_rc -eq 124 ]; then
  echo "not ok 1 - the VM ran the tests and powered off (timed out after $timeout_s s)"
else
  echo "not ok 1 - the VM ran the tests and powered off (qemu exit $qemu_rc after $elapsed s, no results)"
fi
for f in qemu.log console.log out/log; do
  [ -s "$work/$f" ] && tail -n 40 "$work/$f" | sed "s|^|# $f: |"
done
exit 1
