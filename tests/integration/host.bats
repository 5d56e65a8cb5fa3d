#!/usr/bin/env bats
# Hosts that are not ready: each cause gets a one-line error with the fix, or a warning.

load helpers

setup() { setup_state; }

@test "user namespaces disabled (user.max_user_namespaces=0): exit 3 naming the sysctl and the fix" {
  # max_user_namespaces is per user namespace: set it to 0 in one of our own and run there.
  run unshare --user --map-root-user sh -c "echo 0 > /proc/sys/user/max_user_namespaces && exec '$USERNODE' run -- true"
  [ "$status" -eq 3 ]
  [[ "$output" == *"user.max_user_namespaces = 0"* ]]
  [[ "$output" == *"sysctl -w user.max_user_namespaces="* ]]
}

@test "root of a user namespace is not warned about as root" {
  run unshare --user --map-root-user "$USERNODE" run -- true
  [[ "$output" != *"running as root"* ]]
}

@test "without newuidmap on PATH: only the own id is mapped, with a warning naming the fix" {
  run env PATH=/nonexistent "$USERNODE" run -- /bin/cat /proc/self/uid_map
  [ "$status" -eq 0 ]
  [[ "$output" == *"newuidmap is not installed"* ]]
  [[ "$output" == *"apt-get install uidmap"* ]]
  [ "$(echo "$output" | grep -cE '^ +[0-9]+ +[0-9]+ +[0-9]+$')" -eq 1 ]
}

@test "inside another user namespace (a rootless container): the node starts mapping only the own id, with a warning" {
  run unshare --user --map-root-user "$USERNODE" run -- /bin/cat /proc/self/uid_map
  [ "$status" -eq 0 ]
  [[ "$output" == *"warning: "*"the node maps only your own uid"* ]]
  [ "$(echo "$output" | grep -cE '^ +0 +0 +1$')" -eq 1 ]
}
