#!/usr/bin/env bash
# build-image.sh [--print-dir]: builds (once) the Debian bookworm VM image for tests/vm.
#
# debootstrap (minbase + scripts/vm/packages.list) from the Debian mirror this host's apt already
# uses, an ordinary user "vmuser" (uid 1000) with subordinate ids and lingering, a slim initrd,
# a unit that runs the handed-in tests once user@1000.service is up, then `mkfs.ext4 -d` into a
# raw image. The kernel is bookworm-backports' linux-image-amd64 (6.12: idmapped mounts of tmpfs
# and overlayfs for user-namespaced pods; bookworm's 6.1 lacks them). When the real Kubernetes
# binaries are at hand ($USERNODE_K8S_DIST, default ../shared/k8s beside the repo), their
# install.sh unpacks them into /opt/k8s (bin/, images/) of the image.
# The result is cached in $USERNODE_VM_CACHE (default /var/cache/usernode-vm as root,
# ~/.cache/usernode-vm otherwise) under a key that hashes packages.list, this script and the
# binaries' tarballs, and holds disk.raw, vmlinuz, initrd.img. Prints the image directory on
# stdout. Needs root to build.
#
# --print-dir: print the directory the image would be in and exit 0 if it is built, 1 if not.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
suite=bookworm
vm_user=vmuser
vm_uid=1000

if [ "$(id -u)" -eq 0 ]; then
  cache=${USERNODE_VM_CACHE:-/var/cache/usernode-vm}
else
  cache=${USERNODE_VM_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/usernode-vm}
fi
k8s_dist=${USERNODE_K8S_DIST:-$here/../../../shared/k8s}
k8s_inputs=()
if [ -x "$k8s_dist/install.sh" ]; then
  k8s_dist=$(cd "$k8s_dist" && pwd)
  k8s_inputs=("$k8s_dist/install.sh" "$k8s_dist"/*.tar.xz)
fi
# The tarballs go in by content: the same binaries under another path or date reuse the image.
key=$( { cat "$here/packages.list" "$here/build-image.sh"
         [ ${#k8s_inputs[@]} -eq 0 ] || sha256sum "${k8s_inputs[@]}" | awk '{ print $1 }'; } |
       sha256sum | cut -c1-16)
image=$cache/$suite-$key

# An ordinary user may boot the image root built: snapshot=on only reads it.
if [ "$(id -u)" -ne 0 ] && [ -z "${USERNODE_VM_CACHE:-}" ] && [ ! -f "$image/done" ] &&
  [ -f "/var/cache/usernode-vm/$suite-$key/done" ]; then
  image=/var/cache/usernode-vm/$suite-$key
fi
if [ "${1:-}" = --print-dir ]; then
  echo "$image"
  [ -f "$image/done" ]
  exit
fi
if [ -f "$image/done" ]; then
  echo "$image"
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "build-image.sh: building the VM image needs root (debootstrap, chroot); run it as root once" >&2
  exit 3
fi

# The mirror: the URI this host's apt uses for "$suite" itself (not -updates or -security), read
# from the one-line and the deb822 sources formats.
find_mirror() {
  local f
  for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
    [ -f "$f" ] || continue
    awk -v s="$suite" '$1 == "deb" { i = 2; if ($2 ~ /^\[/) while (i <= NF && $(i - 1) !~ /\]$/) i++;
                        if ($(i + 1) == s) { print $i; exit } }' "$f"
  done
  for f in /etc/apt/sources.list.d/*.sources; do
    [ -f "$f" ] || continue
    awk -v s="$suite" 'function flush() { if (types ~ /(^| )deb( |$)/ && (" " suites " ") ~ (" " s " ")) { split(uris, u, " "); print u[1]; found = 1 } types = uris = suites = "" }
      /^#/ { next }
      /^[ \t]*$/ { flush(); if (found) exit; next }
      /^Types:/ { sub(/^Types:[ \t]*/, ""); types = $0 }
      /^URIs:/ { sub(/^URIs:[ \t]*/, ""); uris = $0 }
      /^Suites:/ { sub(/^Suites:[ \t]*/, ""); suites = $0 }
      END { if (!found) flush() }' "$f"
  done
}
mirror=$(find_mirror | head -n1)
if [ -z "$mirror" ]; then
  echo "build-image.sh: no apt source for Debian $suite in /etc/apt/sources.list{,.d}; add one (this host's mirror is used)" >&2
  exit 3
fi

mkdir -p "$cache"
exec 9>"$cache/lock"
flock 9
if [ -f "$image/done" ]; then # built by a concurrent run while we waited
  echo "$image"
  exit 0
fi

work=$(mktemp -d "$cache/build.XXXXXX")
cleanup() {
  local m
  for m in proc sys dev/pts dev; do umount -l "$work/rootfs/$m" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT
root=$work/rootfs
start=$(date +%s)

packages=$(grep -v -e '^#' -e '^[[:space:]]*$' "$here/packages.list" | paste -sd, -)
echo "build-image.sh: debootstrap $suite from $mirror" >&2
debootstrap --variant=minbase --include="$packages" "$suite" "$root" "$mirror" >"$work/debootstrap.log" 2>&1 || {
  tail -n 30 "$work/debootstrap.log" >&2
  [ -f "$root/debootstrap/debootstrap.log" ] && tail -n 30 "$root/debootstrap/debootstrap.log" >&2
  echo "build-image.sh: debootstrap failed" >&2
  exit 1
}

# A slim initrd: only what finds the root disk. Boots in seconds under TCG instead of probing
# every driver of the "most" set. Set before the kernel goes in: its postinst builds the initrd.
printf 'virtio_pci\nvirtio_blk\next4\n' >>"$root/etc/initramfs-tools/modules"
sed -i 's/^MODULES=.*/MODULES=list/' "$root/etc/initramfs-tools/initramfs.conf"

# The kernel from bookworm-backports (the host's mirror carries that suite too), replacing none:
# packages.list has no kernel, so the image holds exactly this one.
echo "deb $mirror $suite-backports main" >"$root/etc/apt/sources.list.d/backports.list"
cp /etc/resolv.conf "$root/etc/resolv.conf" 2>/dev/null || true
mount -t proc proc "$root/proc"
{ chroot "$root" apt-get update -qq &&
  DEBIAN_FRONTEND=noninteractive chroot "$root" apt-get install -y -qq --no-install-recommends \
    -t "$suite-backports" linux-image-amd64; } >"$work/kernel.log" 2>&1 || {
  tail -n 30 "$work/kernel.log" >&2
  echo "build-image.sh: installing linux-image-amd64 from $suite-backports failed" >&2
  exit 1
}
umount "$root/proc"
rm -f "$root/etc/apt/sources.list.d/backports.list"

# The real node's binaries (test inputs, never part of usernode): /opt/k8s/bin and /opt/k8s/images.
if [ ${#k8s_inputs[@]} -gt 0 ]; then
  "$k8s_dist/install.sh" "$root/opt/k8s" >/dev/null
  chmod -R a+rX "$root/opt/k8s"
fi

# The ordinary user the tests run as, with subordinate ids, lingering so that user@1000.service
# (the user's systemd manager) starts at boot without a login.
chroot "$root" useradd --uid "$vm_uid" --create-home --shell /bin/bash "$vm_user"
echo "$vm_user:100000:65536" >"$root/etc/subuid"
echo "$vm_user:100000:65536" >"$root/etc/subgid"
mkdir -p "$root/var/lib/systemd/linger"
touch "$root/var/lib/systemd/linger/$vm_user"

echo usernode-vm >"$root/etc/hostname"
printf '127.0.0.1 localhost\n127.0.1.1 usernode-vm\n' >"$root/etc/hosts"
echo '/dev/vda / ext4 rw,noatime 0 0' >"$root/etc/fstab"
passwd_root=$(chroot "$root" passwd -d root 2>&1) || echo "$passwd_root" >&2


# The test entry: mount the virtio-9p shares (tests/vm/run.sh hands in the built usernode and the
# tests, and takes the results out), run the handed-in guest script, power off whatever happened.
install -m 0755 /dev/stdin "$root/usr/local/sbin/usernode-vm-entry" <<'EOF'
#!/bin/sh
mkdir -p /mnt/in /mnt/out
mount -t 9p -o trans=virtio,version=9p2000.L,ro usernode_in /mnt/in &&
mount -t 9p -o trans=virtio,version=9p2000.L usernode_out /mnt/out &&
{ sh /mnt/in/tests/vm/guest/main.sh >/mnt/out/tap 2>/mnt/out/log; echo $? >/mnt/out/rc; }
journalctl -b --no-pager >/mnt/out/journal 2>&1
sync
systemctl poweroff --no-block
EOF
cat >"$root/etc/systemd/system/usernode-vm-tests.service" <<EOF
[Unit]
Description=usernode VM tests
After=user@$vm_uid.service systemd-user-sessions.service dbus.service systemd-logind.service
Wants=user@$vm_uid.service

[Service]
Type=oneshot
ExecStart=/usr/local/sbin/usernode-vm-entry
StandardOutput=journal+console
StandardError=journal+console
TimeoutStartSec=infinity

[Install]
WantedBy=multi-user.target
EOF
chroot "$root" systemctl enable usernode-vm-tests.service >/dev/null 2>&1
# Nothing in the VM needs these; they only cost boot time under TCG.
chroot "$root" systemctl mask apt-daily.timer apt-daily-upgrade.timer e2scrub_all.timer \
  e2scrub_reap.service systemd-timesyncd.service >/dev/null 2>&1 || true

mkdir -p "$work/out"
cp "$(readlink -f "$root/vmlinuz")" "$work/out/vmlinuz"
cp "$(readlink -f "$root/initrd.img")" "$work/out/initrd.img"
rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/* "$root/debootstrap"
mkfs.ext4 -q -F -L usernode-vm -d "$root" "$work/out/disk.raw" 5G >&2
chmod 0644 "$work/out/"*

rm -rf "$image"
mv "$work/out" "$image"
# Older images: the three newest stay (branches with other recipes share this cache and would
# otherwise rebuild in turn), the rest go.
ls -1dt "$cache/$suite"-* 2>/dev/null | tail -n +4 | while IFS= read -r old; do rm -rf "$old"; done
echo "built in $(($(date +%s) - start)) s" >"$image/done"
echo "build-image.sh: image built in $(($(date +%s) - start)) s: $image" >&2
echo "$image"
