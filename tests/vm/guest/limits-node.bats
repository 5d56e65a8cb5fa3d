#!/usr/bin/env bats
# Pod limits, stop with a grace period, and images without a registry, on a real node: CRI-O with
# _CRIO_ROOTLESS=1 and kubelet from /opt/k8s (USERNODE_K8S_BIN), run by `usernode run` as the
# ordinary user in a login session. One node for the whole file (a start costs a minute under
# TCG); the tests run in order and build on each other. Skipped in one line naming what is
# missing when the image carries no binaries.
#
# Images: the pause image of ../shared/k8s is put in DATA/images/ and imported when the node
# starts; busybox (Debian's busybox-static, made into an OCI layout by make_oci_image.py) is loaded
# with `usernode images load` into the running node.

bats_require_minimum_version 1.5.0 # `run !`

load lib

NODE=lim
export WORK=/tmp/usernode-limits # owned by vmuser; the VM is thrown away
export XDG_DATA_HOME=$WORK/data XDG_CONFIG_HOME=$WORK/config
STATE=$XDG_RUNTIME_DIR/usernode/$NODE
DATA=$XDG_DATA_HOME/usernode/$NODE
PODS_PIDS_MAX=100

missing_parts() {
  local missing=() b
  [ -n "${USERNODE_K8S_BIN:-}" ] || { echo "USERNODE_K8S_BIN (no /opt/k8s in the VM image)"; return; }
  for b in crio crun pinns crictl kubelet; do [ -x "$USERNODE_K8S_BIN/$b" ] || missing+=("$b"); done
  for b in conmon skopeo busybox python3; do command -v "$b" >/dev/null || missing+=("$b"); done
  [ -d "$USERNODE_K8S_BIN/../images/pause-3.10-local-oci" ] || missing+=("images/pause-3.10-local-oci")
  [ -f "$BATS_TEST_DIRNAME/make_oci_image.py" ] || missing+=("make_oci_image.py")
  echo "${missing[*]}"
}

in_node() { "$USERNODE" exec --node "$NODE" -- "$@"; }
crictl_n() { in_node crictl --runtime-endpoint "unix://$STATE/crio/crio.sock" "$@"; }
node_ready() { "$USERNODE" status --node "$NODE" --json 2>/dev/null | grep -q '"ready": *true'; }
json() { python3 -c "import json,sys; d=json.load(sys.stdin); print($1)"; }
# running NAME: the id of the running container NAME (the static pod's container), or nothing.
running() { crictl_n ps --name "^$1\$" --state running -q 2>/dev/null | head -n1; }
is_running() { [ -n "$(running "$1")" ]; }
# cgroup_of CONTAINER: its cgroup inside the node, from its main process's /proc/PID/cgroup.
cgroup_of() {
  local pid
  pid=$(crictl_n inspect --output go-template --template '{{.info.pid}}' "$1")
  in_node cat "/proc/$pid/cgroup" | sed -n 's/^0:://p'
}
pod_uid() { crictl_n pods --name "^$1-" -o json | json 'd["items"][0]["metadata"]["uid"]'; }
# pod_parent NAME: the cgroup kubelet made for the pod and gave CRI-O as its parent (with cgroupRoot
# /kubepods kubelet nests its own "kubepods" below it: /kubepods/kubepods/burstable/podUID).
pod_parent() {
  local id
  id=$(crictl_n pods --name "^$1-" -q | head -n1)
  crictl_n inspectp -o json "$id" | json 'd["info"]["runtimeSpec"]["annotations"]["io.kubernetes.cri-o.CgroupParent"]'
}

# pod NAME QOS_RESOURCES COMMAND [EXTRA]: a static pod with one busybox container NAME.
pod() {
  cat >"$WORK/pods/$1.yaml" <<EOF
apiVersion: v1
kind: Pod
metadata:
  name: $1
spec:
  terminationGracePeriodSeconds: ${GRACE:-2}
  containers:
  - name: $1
    image: localhost/busybox:vm
    imagePullPolicy: Never
    command: ["sh", "-c", "$3"]
    resources: $2
$4
EOF
}

setup_file() {
  local missing
  missing=$(missing_parts)
  if [ -n "$missing" ]; then
    export SKIP_REASON="limits: missing in the VM image: $missing"
    return 0
  fi
  # /usr/sbin: crio's hostport manager needs iptables, which an ordinary user's PATH lacks.
  export PATH=$USERNODE_K8S_BIN:$PATH:/usr/sbin:/sbin
  mkdir -p "$WORK/config/usernode/$NODE.kubelet.d" "$WORK/pods" "$WORK/term" "$DATA/images"
  cat >"$WORK/config/usernode/$NODE.ini" <<EOF
[crio]
path = $USERNODE_K8S_BIN/crio
runtime = $USERNODE_K8S_BIN/crun
pause_image = localhost/pause:3.10-local
pod_grace_max = 20s
[kubelet]
path = $USERNODE_K8S_BIN/kubelet
static_pod_path = $WORK/pods
EOF
  printf 'apiVersion: kubelet.config.k8s.io/v1beta1\nkind: KubeletConfiguration\npodPidsLimit: %s\n' \
    "$PODS_PIDS_MAX" >"$WORK/config/usernode/$NODE.kubelet.d/50-pids.conf"
  # The air-gapped way: dropped into DATA/images/, imported before crio starts.
  cp -a "$USERNODE_K8S_BIN/../images/pause-3.10-local-oci" "$DATA/images/"
  python3 "$BATS_TEST_DIRNAME/make_oci_image.py" "$WORK/busybox-vm-oci" vm
  local t0=$SECONDS
  "$USERNODE" run --node "$NODE" >>"$WORK/node.log" 2>&1 3>&- &
  echo $! >"$WORK/node.pid"
  wait_for 300 node_ready || { tail -n 30 "$WORK/node.log"; return 1; }
  echo "# limits node ready $((SECONDS - t0)) s after usernode run" >&3
}

teardown_file() {
  [ -z "${SKIP_REASON:-}" ] || return 0
  if [ -n "${USERNODE_VM_OUT:-}" ]; then
    mkdir -p "$USERNODE_VM_OUT/limits"
    cp "$WORK/node.log" "$DATA/logs/"*.log "$USERNODE_VM_OUT/limits/" 2>/dev/null || true
  fi
  "$USERNODE" stop --node "$NODE" >/dev/null 2>&1 || true
}

setup() {
  [ -z "${SKIP_REASON:-}" ] || skip "$SKIP_REASON"
}

@test "limits: images without a registry: DATA/images/ imported at start, images load into the running node, images ls" {
  grep -q 'images: localhost/pause:3.10-local imported from' "$WORK/node.log"
  run "$USERNODE" images --node "$NODE" load "$WORK/busybox-vm-oci"
  echo "$output"
  [ "$status" -eq 0 ]
  [ "$output" = localhost/busybox:vm ]
  run "$USERNODE" images --node "$NODE" ls --json
  echo "$output"
  [ "$status" -eq 0 ]
  [[ "$output" == *'"localhost/pause:3.10-local"'* ]]
  [[ "$output" == *'"localhost/busybox:vm"'* ]]
  # CRI-O sees them in the same storage.
  run crictl_n images
  [[ "$output" == *"localhost/busybox"*"vm"* ]]
  # Loading again is fine (skopeo finds the blobs there).
  "$USERNODE" images --node "$NODE" load "$WORK/busybox-vm-oci"
}

@test "limits: pods with limits run; crio keeps every limit (nothing discarded), its own leaf has the controllers" {
  pod limited '{requests: {cpu: 100m, memory: 32Mi}, limits: {cpu: 250m, memory: 64Mi}}' 'exec sleep 3600'
  pod guaranteed '{requests: {cpu: 100m, memory: 32Mi}, limits: {cpu: 100m, memory: 32Mi}}' 'exec sleep 3600'
  pod hog '{limits: {memory: 32Mi}}' 'sleep 3; exec dd if=/dev/zero of=/dev/null bs=64M count=1'
  GRACE=20 pod graceful '{}' \
    'trap \"echo term >/term/got; sleep 3; echo done >/term/done; exit 0\" TERM; echo up >/term/up; while true; do sleep 1; done' \
    "    volumeMounts: [{name: term, mountPath: /term}]
  volumes: [{name: term, hostPath: {path: $WORK/term, type: Directory}}]"
  local t0=$SECONDS
  for c in limited guaranteed graceful; do
    wait_for 300 is_running "$c" || { crictl_n pods; crictl_n ps -a; tail -n 30 "$DATA/logs/kubelet.log"; false; }
  done
  echo "# 4 pods' containers running $((SECONDS - t0)) s after their manifests" >&3
  run in_node cat /sys/fs/cgroup/services/crio/cgroup.controllers
  echo "crio's leaf: $output"
  [[ " $output " == *" cpu "* && " $output " == *" memory "* && " $output " == *" pids "* ]]
  # (hugetlb, io and cpuset are not delegated by Debian's default; kubelet sets no limit there.)
  run ! grep -E 'rootless: cgroup v2 (cpu|memory|pids) controller is not delegated' "$DATA/logs/crio.log"
}

@test "limits: a container's cgroup lies under kubelet's pod cgroup, with its cpu.max and memory.max, and the pod's pids.max" {
  cid=$(running limited)
  cg=$(cgroup_of "$cid")
  uid=$(pod_uid limited)
  parent=$(pod_parent limited)
  echo "cgroup $cg, pod uid $uid, kubelet's pod cgroup $parent"
  [[ "$parent" == /kubepods/*/burstable/pod"$uid" ]]
  [ "$cg" = "$parent/crio-$cid" ]
  run in_node cat "/sys/fs/cgroup$cg/cpu.max" "/sys/fs/cgroup$cg/memory.max" "/sys/fs/cgroup${cg%/*}/pids.max"
  echo "$output"
  [ "${lines[0]}" = "25000 100000" ]
  [ "${lines[1]}" = 67108864 ]
  [ "${lines[2]}" = "$PODS_PIDS_MAX" ]
  # The pids limit holds for the container: more processes than it allows cannot be started.
  run crictl_n exec "$cid" sh -c "i=0; while [ \$i -lt $((PODS_PIDS_MAX + 20)) ]; do sleep 30 </dev/null >/dev/null 2>&1 & i=\$((i+1)); done 2>/dev/null; echo started"
  echo "$output"
  n=$(in_node cat "/sys/fs/cgroup${cg%/*}/pids.current")
  echo "pids.current of the pod: $n"
  [ "$n" -le "$PODS_PIDS_MAX" ]
}

@test "limits: a container limited to 32Mi that allocates 64Mi is OOM-killed and restarted by kubelet" {
  oom_killed() {
    crictl_n ps -a --name '^hog$' -o json | python3 -c '
import json, sys
cs = json.load(sys.stdin)["containers"]
print(max(c["metadata"].get("attempt", 0) for c in cs) if cs else -1)' | { read -r a; [ "$a" -ge 1 ]; }
  }
  wait_for 240 oom_killed || { crictl_n ps -a; false; }
  # A run that ended did so by the OOM killer, as CRI-O reports it (memory.events oom_kill); kubelet
  # keeps only the last exited one.
  # kubelet may remove that exited container between the listing and the inspect (NotFound): then
  # the next exited one is asked, for a bounded time.
  exited_reason() {
    local id
    id=$(crictl_n ps -a --name '^hog$' --state exited -q 2>/dev/null | head -n1)
    [ -n "$id" ] && crictl_n inspect --output go-template --template '{{.status.reason}} {{.status.exitCode}}' "$id" 2>/dev/null
  }
  wait_for 60 eval '[ "$(exited_reason)" = "OOMKilled 137" ]' || { echo "last exited run: $(exited_reason)"; false; }
}

@test "limits: a Guaranteed pod runs in its pod cgroup right under kubelet's kubepods; kubelet's oom_score_adj by QoS as far as the user namespace allows" {
  cid=$(running guaranteed)
  cg=$(cgroup_of "$cid")
  echo "guaranteed: $cg"
  parent=$(pod_parent guaranteed)
  [[ "$parent" == /kubepods/*/pod"$(pod_uid guaranteed)" && "$parent" != */burstable/* ]]
  [ "$cg" = "$parent/crio-$cid" ]
  run in_node cat "/sys/fs/cgroup$cg/memory.max" "/sys/fs/cgroup$cg/cpu.max"
  [ "${lines[0]}" = 33554432 ]
  [ "${lines[1]}" = "10000 100000" ]
  g_pid=$(crictl_n inspect --output go-template --template '{{.info.pid}}' "$cid")
  b_pid=$(crictl_n inspect --output go-template --template '{{.info.pid}}' "$(running graceful)")
  g=$(in_node cat "/proc/$g_pid/oom_score_adj")
  b=$(in_node cat "/proc/$b_pid/oom_score_adj")
  echo "oom_score_adj: guaranteed $g, best effort $b"
  [ "$b" -eq 1000 ]
  [ "$g" -lt "$b" ]
  # kubelet's -997, or else the lowest value allowed: one below it is refused to a process of the
  # node, which has the same floor (a privileged ancestor's value) as the containers.
  [ "$g" -ge -997 ]
  if [ "$g" -gt -997 ]; then
    run in_node sh -c "echo $((g - 1)) >/proc/self/oom_score_adj"
    echo "writing $((g - 1)) in the node: status $status $output"
    [ "$status" -ne 0 ]
  fi
}

@test "limits: stop: a container trapping SIGTERM gets it and its grace period; afterwards nothing of the user or its subordinate ids runs" {
  [ -f "$WORK/term/up" ]
  local t0=$SECONDS
  "$USERNODE" stop --node "$NODE"
  wait_for 120 test ! -e "$STATE/pid"
  echo "# usernode stop with 4 pods: $((SECONDS - t0)) s" >&3
  # SIGTERM arrived, and the container had the 3 s it took to finish before anything was killed.
  [ "$(cat "$WORK/term/got")" = term ]
  [ "$(cat "$WORK/term/done")" = done ]
  wait_for 20 user_node_gone "$NODE"
}
