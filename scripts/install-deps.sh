#!/usr/bin/env bash
# install-deps.sh [GROUP...]: installs the Debian/Ubuntu packages usernode needs.
#
# Groups: build (compile), test (make check), lint, fuzz (make fuzz), vm (make check-vm), bench (make bench).
# Default: build test. As root it runs apt-get; otherwise it prints the exact command and
# exits 3 ("host not ready"), because a missing package is the host's state, not a bug.
set -euo pipefail

declare -A group=(
  [build]="gcc make pkg-config libslirp-dev libglib2.0-dev libsystemd-dev libcap-dev libmnl-dev libnftnl-dev libsubid-dev libseccomp-dev libjson-c-dev libcurl4-openssl-dev libssl-dev libyaml-dev"
  [test]="libcmocka-dev bats uidmap iproute2 procps util-linux python3 socat passwd"
  [lint]="clang-format cppcheck shellcheck"
  [fuzz]="clang"
  [vm]="qemu-system-x86 debootstrap e2fsprogs cpio"
  [bench]="slirp4netns rootlesskit passt iperf3 hyperfine"
)

groups=("$@")
[ ${#groups[@]} -gt 0 ] || groups=(build test)

wanted=()
for g in "${groups[@]}"; do
  [ -n "${group[$g]+x}" ] || { echo "install-deps.sh: unknown group '$g' (build test lint fuzz vm bench)" >&2; exit 2; }
  # shellcheck disable=SC2206
  wanted+=(${group[$g]})
done

missing=()
for p in "${wanted[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
  echo "usernode: missing packages; install them with:" >&2
  echo "  sudo apt-get update && sudo apt-get install -y ${missing[*]}" >&2
  exit 3
fi
echo "install-deps.sh: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
