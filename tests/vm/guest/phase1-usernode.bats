#!/usr/bin/env bats
# `usernode run` itself under a real systemd, as the ordinary user in a login session.

load lib

setup() {
  export XDG_DATA_HOME=$BATS_TEST_TMPDIR/data XDG_CONFIG_HOME=$BATS_TEST_TMPDIR/config
}

scope_active() { systemctl --user is-active --quiet "$1"; }

@test "usernode run takes the transient scope; the payload is in /init of the node's cgroup namespace" {
  run "$USERNODE" --debug run --node vm1 -- cat /proc/self/cgroup
  echo "$output"
  [ "$status" -eq 0 ]
  [[ "$output" == *"debug: cgroups: /sys/fs/cgroup/"*"/usernode-vm1.scope/node (systemd scope usernode-vm1.scope;"* ]]
  [[ "$output" == *"0::/init"* ]]
}

@test "usernode run --net=none (fresh /sys) mounts the node's own cgroup2: controllers enabled, /init, /kubepods" {
  run "$USERNODE" run --node vm2 --net=none -- sh -c 'cat /sys/fs/cgroup/cgroup.subtree_control; ls /sys/fs/cgroup'
  echo "$output"
  [ "$status" -eq 0 ]
  [[ " ${lines[0]} " == *" cpu "* && " ${lines[0]} " == *" memory "* && " ${lines[0]} " == *" pids "* ]]
  [[ "$output" == *$'\ninit\n'* ]]
  [[ "$output" == *$'\nkubepods'* ]]
  [[ "$output" != *"user.slice"* ]]
}

@test "usernode run: memory.max inside the node is enforced by an OOM kill and the node survives" {
  run "$USERNODE" run --node vm3 -- sh -c '
    mkdir /sys/fs/cgroup/limited && echo 32M >/sys/fs/cgroup/limited/memory.max || exit 10
    sh -c "echo \$\$ >/sys/fs/cgroup/limited/cgroup.procs && exec tail /dev/zero"
    echo "hog exit $?"
    echo "node alive"'
  echo "$output"
  [ "$status" -eq 0 ]
  [[ "$output" == *"hog exit 137"* ]]
  [[ "$output" == *"node alive"* ]]
}

@test "usernode run inside a user unit with Delegate=yes uses that delegation, no new scope" {
  run systemd-run --user --quiet --wait --pipe -p Delegate=yes --unit=usernode-test-run.service \
    "$USERNODE" --debug run --node vm4 -- cat /proc/self/cgroup
  echo "$output"
  [ "$status" -eq 0 ]
  [[ "$output" == *"usernode-test-run.service/node (delegated unit;"* ]]
  [[ "$output" == *"0::/init"* ]]
  run systemctl --user list-units --all --no-legend 'usernode-vm4*'
  [ -z "$output" ]
}

@test "SIGTERM to usernode run leaves no cgroup, scope or process behind" {
  "$USERNODE" run --node vm5 -- sleep 4646 >"$BATS_TEST_TMPDIR/out" 2>&1 3>&- &
  pid=$!
  wait_for 30 scope_active usernode-vm5.scope
  wait_for 10 pgrep -f "^sleep 4646"
  kill -TERM $pid
  wait $pid || true
  wait_for 10 no_process "^sleep 4646"
  wait_for 10 unit_gone usernode-vm5.scope
  run sh -c 'ls -d /sys/fs/cgroup/user.slice/user-*.slice/user@*.service/app.slice/usernode-vm5.scope 2>/dev/null'
  [ -z "$output" ]
}

@test "SIGKILL of usernode run leaves no cgroup, scope or process behind" {
  "$USERNODE" run --node vm6 -- sleep 4747 >"$BATS_TEST_TMPDIR/out" 2>&1 3>&- &
  pid=$!
  wait_for 30 scope_active usernode-vm6.scope
  wait_for 10 pgrep -f "^sleep 4747"
  kill -KILL $pid
  wait $pid || true
  wait_for 10 no_process "^sleep 4747"
  wait_for 10 unit_gone usernode-vm6.scope
  run sh -c 'ls -d /sys/fs/cgroup/user.slice/user-*.slice/user@*.service/app.slice/usernode-vm6.scope 2>/dev/null'
  [ -z "$output" ]
}

# The scope is asked for before the node's files are written and waited for after them: a start
# that fails in between (a crio that is not there) exits with the error and leaves no scope.
@test "a node start that fails after the scope was asked for leaves no scope, cgroup or process behind" {
  printf '[crio]\npath = /nonexistent/crio\n' >"$BATS_TEST_TMPDIR/node.ini"
  run "$USERNODE" run --node vm13 --config "$BATS_TEST_TMPDIR/node.ini"
  echo "$output"
  [ "$status" -eq 3 ]
  [[ "$output" == *"/nonexistent/crio"* ]]
  wait_for 10 unit_gone usernode-vm13.scope
  wait_for 10 sh -c '! ls -d /sys/fs/cgroup/user.slice/user-*.slice/user@*.service/app.slice/usernode-vm13.scope 2>/dev/null'
}

@test "[cgroup] delegate = existing outside a delegated unit: degraded with the reason; require = true: exit 3" {
  printf '[cgroup]\ndelegate = existing\n' >"$BATS_TEST_TMPDIR/node.ini"
  run "$USERNODE" --debug run --node vm7 --config "$BATS_TEST_TMPDIR/node.ini" -- true
  echo "$output"
  [ "$status" -eq 0 ]
  [[ "$output" == *"cgroups: none ("*"session-"*".scope is not delegated to this user (run usernode in a unit with Delegate=yes))"* ]]
  printf '[cgroup]\ndelegate = existing\nrequire = true\n' >"$BATS_TEST_TMPDIR/node.ini"
  run "$USERNODE" run --node vm7 --config "$BATS_TEST_TMPDIR/node.ini" -- true
  echo "$output"
  [ "$status" -eq 3 ]
  [[ "$output" == *"error: cgroups: none ("*"require = true"* ]]
}

@test "usernode exec joins the node's cgroup (leaf /exec); stopping the node removes it all" {
  "$USERNODE" run --node ex1 -- sleep 4848 >"$BATS_TEST_TMPDIR/out" 2>&1 3>&- &
  pid=$!
  wait_for 30 scope_active usernode-ex1.scope
  wait_for 30 "$USERNODE" exec --node ex1 -- true
  run "$USERNODE" --debug exec --node ex1 -- cat /proc/self/cgroup
  echo "$output"
  [ "$status" -eq 0 ]
  [[ "$output" == *"0::/exec"* ]]
  kill -TERM $pid
  wait $pid || true
  wait_for 10 unit_gone usernode-ex1.scope
  run sh -c 'ls -d /sys/fs/cgroup/user.slice/user-*.slice/user@*.service/app.slice/usernode-ex1.scope 2>/dev/null'
  [ -z "$output" ]
}
