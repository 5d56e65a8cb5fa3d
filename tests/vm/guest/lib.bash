# lib.bash: helpers of the VM tests (loaded by the phase*.bats files).

# wait_for SECONDS CMD...: polls CMD every 0.1 s until it succeeds; fails after SECONDS.
wait_for() {
  local deadline=$((SECONDS + $1))
  shift
  until "$@"; do
    [ $SECONDS -lt $deadline ] || { echo "timed out waiting for: $*" >&2; return 1; }
    sleep 0.1
  done
}

# start_node NAME CMD...: the probe in the background; sets node_pid, node_out; waits for "ready".
start_node() {
  local name=$1
  shift
  node_out=$BATS_TEST_TMPDIR/$name.out
  "$PROBE" "$name" -- "$@" >"$node_out" 2>&1 3>&- &
  # shellcheck disable=SC2034 # used by the .bats files
  node_pid=$!
  wait_for 30 grep -q '^ready' "$node_out" || { cat "$node_out"; return 1; }
}

# node_cgroup: the node's cgroup path (G/node), from the probe's status line.
node_cgroup() {
  sed -n 's/^describe: cgroups: \(\/[^ ]*\) (.*/\1/p' "$node_out"
}

not_dir() { [ ! -d "$1" ]; }
unit_gone() { ! systemctl --user is-active --quiet "$1"; }
no_process() { ! pgrep -u "$(id -u)" -f "$1" >/dev/null; }

# What a real node (CRI-O + kubelet of USERNODE_K8S_BIN, /opt/k8s in the image) needs that the VM
# image lacks, as one line; empty when nothing is missing.
real_node_missing() {
  local missing=() b
  [ -n "${USERNODE_K8S_BIN:-}" ] || { echo "USERNODE_K8S_BIN (no /opt/k8s in the image: ../shared/k8s was not beside the repo when it was built)"; return; }
  for b in crio crun pinns crictl kubelet; do [ -x "$USERNODE_K8S_BIN/$b" ] || missing+=("$b"); done
  for b in conmon busybox python3; do command -v "$b" >/dev/null || missing+=("$b"); done
  echo "${missing[*]}"
}

# In the subordinate uid range of the user running the test (/etc/subuid)?
is_subordinate() {
  local start count
  IFS=: read -r _ start count < <(grep "^$(id -un):" /etc/subuid)
  [ "$1" -ge "$start" ] && [ "$1" -lt $((start + count)) ]
}
subordinate_uid_processes() {
  local start count
  IFS=: read -r _ start count < <(grep "^$(id -un):" /etc/subuid)
  ps -eo uid= | awk -v s="$start" -v c="$count" '$1 >= s && $1 < s + c'
}

# user_node_gone NODE: nothing of the node: no process of a subordinate uid, none of
# crio/kubelet/conmon/crun/pinns or `usernode run --node NODE` of the user, no scope.
user_node_gone() {
  [ -z "$(subordinate_uid_processes)" ] &&
    ! pgrep -u "$(id -u)" -x 'crio|kubelet|conmon|crun|pinns|usernode-slirp' >/dev/null &&
    ! pgrep -u "$(id -u)" -f "usernode run --node $1" >/dev/null &&
    ! systemctl --user is-active --quiet "usernode-$1.scope"
}
