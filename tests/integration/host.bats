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

# Each fake helper says it started, then waits for the other (10 s at most) before it runs the real
# one: run one after the other, the first would give up and only the own id would be mapped.
@test "newuidmap and newgidmap run side by side, and the node gets both full maps" {
  command -v newuidmap >/dev/null && command -v newgidmap >/dev/null || skip "needs newuidmap and newgidmap"
  grep -q "^$(id -un):" /etc/subuid && grep -q "^$(id -un):" /etc/subgid || skip "needs subordinate ranges for $(id -un)"
  local fake=$BATS_TEST_TMPDIR/fake-bin helper other
  mkdir -p "$fake"
  for helper in newuidmap newgidmap; do
    other=newgidmap
    [ "$helper" = newgidmap ] && other=newuidmap
    cat >"$fake/$helper" <<SH
#!/bin/sh
touch "$fake/$helper.started"
i=0
until [ -e "$fake/$other.started" ]; do
  i=\$((i + 1)); [ \$i -le 200 ] || exit 1
  sleep 0.05
done
exec $(command -v "$helper") "\$@"
SH
    chmod +x "$fake/$helper"
  done
  run env PATH="$fake:$PATH" "$USERNODE" run -- /bin/sh -c 'cat /proc/self/uid_map /proc/self/gid_map'
  [ "$status" -eq 0 ]
  [[ "$output" != *"maps only your own"* ]]
  [ "$(echo "$output" | grep -cE '^ +[0-9]+ +[0-9]+ +[0-9]+$')" -ge 4 ]
}

@test "inside another user namespace (a rootless container): the node starts mapping only the own id, with a warning" {
  run unshare --user --map-root-user "$USERNODE" run -- /bin/cat /proc/self/uid_map
  [ "$status" -eq 0 ]
  [[ "$output" == *"warning: "*"the node maps only your own uid"* ]]
  [ "$(echo "$output" | grep -cE '^ +0 +0 +1$')" -eq 1 ]
}
