#!/usr/bin/env bats
# End to end with the real binaries: crio, conmon, crun (or runc), kubelet, the CNI plugins,
# skopeo and crictl. A static busybox pod whose image this test makes from the host's busybox
# (no registry involved) runs as uid 0 inside and as a subordinate uid on the host; exec works;
# after `usernode stop` nothing of the node is left. Skipped, naming what is missing, when the
# binaries are not installed (taken from $USERNODE_K8S_BIN, then PATH) or the host's cgroups are
# not v2 only (crun refuses hybrid ones: there the VM's node-*.bats run the real node).

bats_require_minimum_version 1.5.0 # `run !`

TOP=${USERNODE_TOP:-$(cd "$BATS_TEST_DIRNAME/../.." && pwd)}
USERNODE=${USERNODE:-$TOP/usernode}
[ -z "${USERNODE_K8S_BIN:-}" ] || PATH=$USERNODE_K8S_BIN:$PATH

missing_binaries() {
  local missing=() b
  for b in crio conmon pinns kubelet skopeo crictl busybox python3; do
    command -v "$b" >/dev/null 2>&1 || missing+=("$b")
  done
  command -v crun >/dev/null 2>&1 || command -v runc >/dev/null 2>&1 || missing+=("crun-or-runc")
  for b in bridge host-local loopback; do
    [ -x "/usr/lib/cni/$b" ] || [ -x "/opt/cni/bin/$b" ] || missing+=("cni-plugin-$b")
  done
  echo "${missing[*]}"
}

setup() {
  local missing
  missing=$(missing_binaries)
  [ -z "$missing" ] || skip "real node: not installed here: $missing"
  [ "$(stat -fc %T /sys/fs/cgroup)" = cgroup2fs ] ||
    skip "real node: this host's cgroups are not v2 only (crun refuses hybrid ones); the VM tests run it"
  WORK=$(mktemp -d "${TMPDIR:-/tmp}/usernode-e2e.XXXXXX")
  export XDG_DATA_HOME=$WORK/data XDG_CONFIG_HOME=$WORK/config
  mkdir -p "$WORK/config/usernode" "$WORK/pods"
  printf '[kubelet]\nstatic_pod_path = %s\n' "$WORK/pods" > "$WORK/config/usernode/e2e.ini"
  STATE=$XDG_RUNTIME_DIR/usernode/e2e
}

teardown() {
  [ -n "${WORK:-}" ] || return 0
  "$USERNODE" stop --node e2e >/dev/null 2>&1 || true
  [ -z "${NODE_PID:-}" ] || wait "$NODE_PID" 2>/dev/null || true
  rm -rf "$WORK" 2>/dev/null || "$USERNODE" exec --node e2e -- rm -rf "$WORK/data" 2>/dev/null || true
}

wait_for() {
  local deadline=$((SECONDS + $1))
  while ! eval "$2"; do
    [ $SECONDS -lt $deadline ] || { echo "timed out after $1 s waiting for: $2" >&2; return 1; }
    sleep 0.5
  done
}

in_node() {
  "$USERNODE" exec --node e2e -- "$@"
}

crictl_node() {
  in_node crictl --runtime-endpoint "unix://$STATE/crio/crio.sock" "$@"
}

@test "a static busybox pod runs as root inside and as a subordinate uid on the host; stop leaves nothing" {
  "$USERNODE" run --node e2e > "$WORK/node.log" 2>&1 &
  NODE_PID=$!
  wait_for 180 "\"$USERNODE\" status --node e2e --json 2>/dev/null | grep -q '\"ready\": *true'" || {
    cat "$WORK/node.log"; false; }

  python3 "$BATS_TEST_DIRNAME/make_busybox_archive.py" "$WORK/busybox.tar"
  storage="overlay@$XDG_DATA_HOME/usernode/e2e/containers/storage+$STATE/containers/storage"
  in_node skopeo copy --quiet "docker-archive:$WORK/busybox.tar" "containers-storage:[$storage]localhost/busybox:e2e"

  cat > "$WORK/pods/busybox.yaml" <<'POD'
apiVersion: v1
kind: Pod
metadata:
  name: busybox
spec:
  containers:
  - name: busybox
    image: localhost/busybox:e2e
    imagePullPolicy: Never
    command: ["sleep", "3600"]
POD
  wait_for 180 "crictl_node ps --name busybox --state running -q 2>/dev/null | grep -q ."
  container=$(crictl_node ps --name busybox --state running -q | head -n1)

  run crictl_node exec "$container" id -u
  [ "$status" -eq 0 ]
  [ "$output" = 0 ]

  # On the host the pod's sleep belongs to a uid from the test user's /etc/subuid range.
  host_uid=$(ps -eo uid=,args= | awk '$2 == "sleep" && $3 == "3600" { print $1; exit }')
  [ -n "$host_uid" ]
  [ "$host_uid" -ne "$(id -u)" ]
  grep "^$(id -un):" /etc/subuid | while IFS=: read -r _ start count; do
    [ "$host_uid" -ge "$start" ] && [ "$host_uid" -lt $((start + count)) ]
  done

  "$USERNODE" stop --node e2e
  wait "$NODE_PID" || true
  NODE_PID=
  # Nothing of the node remains: no process in the subordinate range, no crio/kubelet/conmon.
  [ -z "$(ps -eo uid= | awk -v lo="$host_uid" '$1 == lo')" ]
  run ! pgrep -u "$(id -u)" -x 'crio|kubelet|conmon'
}
