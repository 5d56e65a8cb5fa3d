#!/usr/bin/env bats
# Run as root in the VM: system units that run usernode as the ordinary user.

load lib

@test "a system unit with User= and Delegate=yes: usernode uses that delegation, no user scope" {
  uid=$(id -u "$VM_USER")
  run systemd-run --quiet --wait --pipe -p User="$VM_USER" -p Delegate=yes --unit=usernode-test-system.service \
    -E XDG_RUNTIME_DIR=/run/user/$uid "$USERNODE" --debug run --node sys1 -- cat /proc/self/cgroup
  echo "$output"
  [ "$status" -eq 0 ]
  [[ "$output" == *"system.slice/usernode-test-system.service/node (delegated unit;"* ]]
  [[ "$output" == *"0::/init"* ]]
}

@test "a system unit with User= and no delegation: usernode asks the user's systemd for its scope" {
  uid=$(id -u "$VM_USER")
  run systemd-run --quiet --wait --pipe -p User="$VM_USER" --unit=usernode-test-system2.service \
    -E XDG_RUNTIME_DIR=/run/user/$uid "$USERNODE" --debug run --node sys2 -- cat /proc/self/cgroup
  echo "$output"
  [ "$status" -eq 0 ]
  [[ "$output" == *"(systemd scope usernode-sys2.scope;"* ]]
  [[ "$output" == *"0::/init"* ]]
}
