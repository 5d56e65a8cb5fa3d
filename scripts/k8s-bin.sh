#!/usr/bin/env bash
# k8s-bin.sh: unpack the real CRI-O/Kubernetes binaries the tests use (test inputs, never shipped)
# and print their bin directory; exit 1 with one line on stderr when they are not at hand.
#
# The binaries come from $USERNODE_K8S_DIST (default ../shared/k8s beside the repo, as CI lays it
# out), unpacked by its install.sh into $USERNODE_K8S_CACHE (default /var/cache/usernode-k8s as
# root, ~/.cache/usernode-k8s otherwise), readable by all so the test user can run them.
# install.sh leaves a directory that already holds its version alone, so this is cheap to repeat.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
dist=${USERNODE_K8S_DIST:-$top/../shared/k8s}
if [ "$(id -u)" -eq 0 ]; then
  cache=${USERNODE_K8S_CACHE:-/var/cache/usernode-k8s}
else
  cache=${USERNODE_K8S_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/usernode-k8s}
fi
if [ ! -x "$dist/install.sh" ]; then
  echo "k8s-bin.sh: no real CRI-O/Kubernetes binaries: $dist/install.sh is missing" >&2
  exit 1
fi
mkdir -p "$cache"
bin=$("$dist/install.sh" "$cache") || exit 1
chmod -R a+rX "$cache"
echo "$bin"
