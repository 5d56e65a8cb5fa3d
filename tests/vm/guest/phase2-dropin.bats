#!/usr/bin/env bats
# With /etc/systemd/system/user@.service.d/delegate.conf (Delegate=cpu cpuset io memory pids).

load lib

@test "with the drop-in every wanted controller is delegated and nothing is named missing" {
  run "$PROBE" dropin2 -- cat /sys/fs/cgroup/cgroup.subtree_control
  echo "$output"
  [ "$status" -eq 0 ]
  [[ "$output" != *"missing:"* ]]
  for c in cpu cpuset io memory pids; do
    [[ "$output" =~ "controllers: "[a-z\ ]*"$c" ]]
  done
}
