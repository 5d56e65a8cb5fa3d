#!/usr/bin/env bats
# Cgroups on a host without cgroup v2 delegation (hybrid or v1 layout, no systemd as PID 1): the
# node runs in a reported degraded mode. Real delegation is tested in the VM (tests/vm).

setup() {
  PROBE=${USERNODE_HELPERS:-build/helpers}/cgroup_node_probe
  if grep -q ' - cgroup2 ' /proc/self/mountinfo && ! grep -q ' - cgroup ' /proc/self/mountinfo; then
    skip "this host has a unified cgroup v2 layout; degraded mode is for hybrid/v1 hosts"
  fi
}

@test "without cgroup v2 the node still runs, with a warning saying why" {
  run "$PROBE" degraded1 -- sh -c 'echo node ran as pid $$'
  echo "$output"
  [ "$status" -eq 0 ]
  [[ "$output" == *"node ran as pid 1"* ]]
  [[ "$output" =~ "describe: cgroups: none (cgroup v2 is not mounted: "(hybrid|cgroup\ v1)" host)" ]]
  [[ "$output" == *"warning: cgroups: none ("*"the node runs without resource limits"* ]]
}

@test "require = true turns the missing delegation into an error that names the setting" {
  run "$PROBE" --require degraded2 -- true
  echo "$output"
  [ "$status" -eq 1 ]
  [[ "$output" == *"error: cgroups: none ("*"[cgroup] require = true; set require = false"* ]]
  [[ "$output" != *"ready"* ]]
}

@test "delegate = none runs the node without touching cgroups" {
  run "$PROBE" --mode none degraded3 -- true
  echo "$output"
  [ "$status" -eq 0 ]
  [[ "$output" == *"describe: cgroups: none (disabled by [cgroup] delegate = none)"* ]]
}

@test "a node name that cannot be a unit name is refused" {
  run "$PROBE" 'bad/name' -- true
  echo "$output"
  [ "$status" -eq 1 ]
  [[ "$output" == *'node name "bad/name" is not usable'* ]]
}

@test "usernode run with [cgroup] require = true on this host exits 3 saying why and what to change" {
  export XDG_RUNTIME_DIR=$BATS_TEST_TMPDIR/run XDG_CONFIG_HOME=$BATS_TEST_TMPDIR/config
  mkdir -p -m 0700 "$XDG_RUNTIME_DIR"
  printf '[cgroup]\nrequire = true\n' >"$BATS_TEST_TMPDIR/node.ini"
  run "$USERNODE" run --config "$BATS_TEST_TMPDIR/node.ini" -- true
  echo "$output"
  [ "$status" -eq 3 ]
  [[ "$output" == *"error: cgroups: none (cgroup v2 is not mounted: "*"require = true; set require = false"* ]]
}

@test "usernode run with [cgroup] delegate = bogus exits 2 naming the allowed values" {
  export XDG_RUNTIME_DIR=$BATS_TEST_TMPDIR/run XDG_CONFIG_HOME=$BATS_TEST_TMPDIR/config
  mkdir -p -m 0700 "$XDG_RUNTIME_DIR"
  printf '[cgroup]\ndelegate = bogus\n' >"$BATS_TEST_TMPDIR/node.ini"
  run "$USERNODE" run --config "$BATS_TEST_TMPDIR/node.ini" -- true
  echo "$output"
  [ "$status" -eq 2 ]
  [[ "$output" == *"[cgroup] delegate = \"bogus\": use one of: auto systemd existing none"* ]]
}

@test "usernode run in degraded mode still runs the command, quietly" {
  export XDG_RUNTIME_DIR=$BATS_TEST_TMPDIR/run XDG_CONFIG_HOME=$BATS_TEST_TMPDIR/config
  mkdir -p -m 0700 "$XDG_RUNTIME_DIR"
  run "$USERNODE" run -- echo ran
  [ "$status" -eq 0 ]
  [ "$output" = "ran" ]
  run "$USERNODE" --debug run -- true
  [[ "$output" == *"cgroups: none (cgroup v2 is not mounted: "* ]]
}
