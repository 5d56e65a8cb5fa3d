#!/usr/bin/env bats
# Debian 12's default delegation (cpu memory pids), as the ordinary user in a login session.

load lib

@test "outside a delegated unit the node gets the transient scope usernode-NAME.scope" {
  run "$PROBE" scope1 -- cat /proc/self/cgroup
  echo "$output"
  [ "$status" -eq 0 ]
  [[ "$output" == *"(systemd scope usernode-scope1.scope;"* ]]
  [[ "$output" == *"usernode-scope1.scope/node "* ]]
  # Inside, the cgroup namespace is rooted at G/node and the init sits in the leaf /init.
  [[ "$output" == *"0::/init"* ]]
}

@test "the node's cgroup lists the delegated controllers, outside and inside" {
  start_node ctl1 sleep 1000
  cg=$(node_cgroup)
  run cat "$(dirname "$cg")/cgroup.subtree_control"
  echo "G: $output"
  [[ " $output " == *" cpu "* && " $output " == *" memory "* && " $output " == *" pids "* ]]
  run cat "$cg/cgroup.subtree_control"
  echo "G/node: $output"
  [[ " $output " == *" cpu "* && " $output " == *" memory "* && " $output " == *" pids "* ]]
  run cat "$cg/init/cgroup.procs"
  [ -n "$output" ]
  kill -TERM "$node_pid"
  wait "$node_pid" || true
}

@test "memory.max on a child cgroup inside the node is enforced by an OOM kill, the node survives" {
  run "$PROBE" mem1 -- sh -c '
    mkdir /sys/fs/cgroup/limited && echo 32M >/sys/fs/cgroup/limited/memory.max || exit 10
    sh -c "echo \$\$ >/sys/fs/cgroup/limited/cgroup.procs && exec tail /dev/zero"
    echo "hog exit $?"
    grep oom_kill /sys/fs/cgroup/limited/memory.events
    echo "node alive"'
  echo "$output"
  [ "$status" -eq 0 ]
  [[ "$output" == *"hog exit 137"* ]]
  [[ "$output" =~ "oom_kill "[1-9] ]]
  [[ "$output" == *"node alive"* ]]
}

@test "inside a user unit with Delegate=yes the existing delegation is used, no new scope" {
  run systemd-run --user --quiet --wait --pipe -p Delegate=yes --unit=usernode-test-existing.service \
    "$PROBE" existing1 -- cat /proc/self/cgroup
  echo "$output"
  [ "$status" -eq 0 ]
  [[ "$output" == *"usernode-test-existing.service/node (delegated unit;"* ]]
  [[ "$output" == *"0::/init"* ]]
  run systemctl --user list-units --all --no-legend 'usernode-existing1*'
  [ -z "$output" ]
}

@test "stop leaves no cgroup and no process behind" {
  start_node stop1 sleep 4242
  cg=$(node_cgroup)
  [ -d "$cg" ]
  kill -TERM "$node_pid"
  wait "$node_pid" || true
  cat "$node_out"
  [ ! -d "$cg" ]
  wait_for 10 unit_gone usernode-stop1.scope
  wait_for 10 not_dir "$(dirname "$cg")"
  no_process "^sleep 4242"
}

@test "SIGKILL of the launcher leaves no cgroup and no process behind" {
  start_node kill1 sleep 4343
  cg=$(node_cgroup)
  [ -d "$cg" ]
  kill -KILL "$node_pid"
  wait "$node_pid" || true
  wait_for 10 no_process "^sleep 4343"
  wait_for 10 unit_gone usernode-kill1.scope
  wait_for 10 not_dir "$(dirname "$cg")"
}

@test "without the drop-in the status names cpuset and io as missing, with the fix" {
  run "$PROBE" dropin1 -- true
  echo "$output"
  [ "$status" -eq 0 ]
  [[ "$output" == *"missing: cpuset io"* ]]
  [[ "$output" == *"Delegate=cpu cpuset io memory pids"*"/etc/systemd/system/user@.service.d/"* ]]
}

@test "delegate = none runs the node without cgroups and says so" {
  run "$PROBE" --mode none none1 -- true
  echo "$output"
  [ "$status" -eq 0 ]
  [[ "$output" == *"describe: cgroups: none (disabled by [cgroup] delegate = none)"* ]]
}
