#!/usr/bin/env bats
# Run by scripts/check.sh as a user that has no /etc/subuid or /etc/subgid entry.

load ../helpers

setup() {
  setup_state
  if grep -q "^$(id -un):" /etc/subuid 2>/dev/null; then skip "this user has subordinate uids"; fi
}

@test "no subordinate range: a warning names /etc/subuid and the usermod fix, and the node still runs" {
  run "$USERNODE" run -- cat /proc/self/uid_map
  [ "$status" -eq 0 ]
  [[ "$output" == *"no subordinate uids for \"$(id -un)\" in /etc/subuid"* ]]
  [[ "$output" == *"usermod --add-subuids"* ]]
  [[ "$output" == *"no subordinate gids for \"$(id -un)\" in /etc/subgid"* ]]
  [ "$(echo "$output" | grep -cE "^ +0 +$(id -u) +1$")" -eq 1 ]
}
