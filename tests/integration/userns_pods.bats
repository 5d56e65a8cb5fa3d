#!/usr/bin/env bats
# Pods with their own user namespace (hostUsers: false), as far as a node with the stand-ins of
# crio and kubelet shows it: the test user has the usual 65536 subordinate ids, which hold no
# pod of 65536 ids above the node's own 65536 (launcher/services/pod_userns.h). The case with
# enough ids is tests/integration/root/userns_pods.bats (a bigger range for the test user in a
# mount namespace of its own) and, with the real crio and kubelet, tests/vm/guest/userns-*.bats.

load node_helpers

setup() {
  node_test_setup
  sed -i 's/^healthz_port = .*/healthz_port = 10248/' "$INI"
  NODE_OUT=$WORK/node.out
}

teardown() {
  node_test_stop_node
  node_test_teardown
}

subids_of_user() { # the count of the test user's subordinate uids, summed over its ranges
  awk -F: -v u="$(id -un)" -v i="$(id -u)" '$1 == u || $1 == i { n += $3 } END { print n + 0 }' /etc/subuid
}

@test "with 65536 subordinate ids: no kubelet user in the node, maxPods 110, and a line saying what to add" {
  [ "$(subids_of_user)" -lt $((2 * 65536)) ] || skip "this user has enough subordinate ids for a pod"
  "$USERNODE" run --net none --node "$NODE" --config "$INI" > "$NODE_OUT" 2>&1 &
  NODE_PID=$!
  wait_for 60 "grep -q 'Node ready' '$NODE_OUT'" || { cat "$NODE_OUT"; false; }
  grep -q '^maxPods: 110$' "$XDG_RUNTIME_DIR/usernode/$NODE/config/kubelet.yaml"
  grep -q 'pods with hostUsers: false cannot run in this node: it has [0-9]* ids, one such pod needs 131072; for 110 pods: sudo usermod --add-subuids ' "$NODE_OUT"
  run "$USERNODE" exec --node "$NODE" -- grep -c '^kubelet:' /etc/passwd
  [ "$output" = 0 ]
  # kubelet's pods stay on the data dir's disk: no tmpfs when no pod gets its own user namespace.
  run "$USERNODE" exec --node "$NODE" -- stat -f -c %T /var/lib/kubelet/pods
  [ "$output" != tmpfs ]
  # The node's /etc/subuid is still the host's (a link into the copied-up /etc).
  run "$USERNODE" exec --node "$NODE" -- readlink /etc/subuid
  [ "$output" = .usernode-host/subuid ]
}

@test "[kubelet] max_pods = 5 with 65536 subordinate ids stops the run (exit 3) saying how many ids to add and how" {
  [ "$(subids_of_user)" -lt $((2 * 65536)) ] || skip "this user has enough subordinate ids for a pod"
  node_ids=$(($(subids_of_user) + 1))
  ini_add kubelet "max_pods = 5"
  run "$USERNODE" run --net none --node "$NODE" --config "$INI"
  echo "$output"
  [ "$status" -eq 3 ]
  [[ "$output" == *"[kubelet] max_pods = 5: pods with their own user namespace (hostUsers: false) need 5 x 65536 ids in one run above the node's own 65536, but the subordinate uids and gids of \"$(id -un)\" ($node_ids ids in the node) hold 0: add "*" of both, e.g. with: sudo usermod --add-subuids "*" --add-subgids "*" $(id -un) (or set max_pods = auto: 0 pods)"* ]]
  # Whole pods, and enough for 5 even as a map line of its own (usermod's range from a free
  # start is adjacent to none of the user's): blocks from the one after the node's end.
  missing=$(sed -n 's/.*hold 0: add \([0-9]*\) of both.*/\1/p' <<<"$output")
  [ $((missing % 65536)) -eq 0 ]
  [ "$missing" -ge $((5 * 65536)) ]
  [ "$(events crio start)" -eq 0 ]
}

@test "[kubelet] max_pods = 0 is refused with what is allowed (exit 2)" {
  ini_add kubelet "max_pods = 0"
  run "$USERNODE" run --net none --node "$NODE" --config "$INI"
  echo "$output"
  [ "$status" -eq 2 ]
  [[ "$output" == *"[kubelet] max_pods = \"0\": use auto or a number of pods from 1 to 65535"* ]]
}

@test "usernode check says pods with their own user namespace are not possible with 65536 ids, with the usermod to run" {
  [ "$(subids_of_user)" -lt $((2 * 65536)) ] || skip "this user has enough subordinate ids for a pod"
  run "$USERNODE" check --json --config "$INI"
  echo "$output"
  python3 - "$output" <<'PY'
import json, sys
check = [c for c in json.loads(sys.argv[1])["checks"] if c["id"] == "pod_userns"]
assert len(check) == 1, check
assert check[0]["state"] == "warn", check
assert "usermod --add-subuids" in check[0]["fix"], check
PY
}
