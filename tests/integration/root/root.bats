#!/usr/bin/env bats
# Run by scripts/check.sh as root when it is invoked as root.

load ../helpers

setup() {
  setup_state
  [ "$(id -u)" -eq 0 ] || skip "not root"
}

@test "running as root is allowed, with a warning that usernode is meant for ordinary users" {
  run "$USERNODE" run -- true
  [ "$status" -eq 0 ]
  [[ "$output" == *"warning: running as root: usernode is meant for ordinary users"* ]]
}
