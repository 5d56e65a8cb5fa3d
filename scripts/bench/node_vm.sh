#!/usr/bin/env bash
# node_vm.sh: the real-node benchmark (node_pod.sh) in the VM of tests/vm, which has the real
# CRI-O and kubelet (/opt/k8s, from ../shared/k8s), rootlesskit 1.1 and slirp4netns. Prints
# node_pod.sh's table rows, or one row saying why it did not run. BENCH_ROUNDS (default 3).
set -uo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
out=$(USERNODE_VM_ONLY=bench USERNODE_VM_TIMEOUT=${USERNODE_VM_TIMEOUT:-2700} USERNODE_VM_ROUNDS=${BENCH_ROUNDS:-3} "$top/tests/vm/run.sh" --tap 2>&1)
rows=$(grep '^| ' <<<"$out")
if [ -n "$rows" ]; then
  echo "$rows"
else
  why=$(grep -m1 -E '^(ok 1 # skip|not ok|# bench:)' <<<"$out")
  echo "| real node in the VM (node_pod.sh) | did not run: ${why:-no output} | | |"
fi
