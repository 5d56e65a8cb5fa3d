#!/usr/bin/env bats
# The command line: usage errors exit 2, --version, help.

load helpers

setup() { setup_state; }

@test "--version prints the version" {
  run "$USERNODE" --version
  [ "$status" -eq 0 ]
  [[ "$output" =~ ^usernode\ [0-9]+\.[0-9]+ ]]
}

@test "help lists the commands" {
  run "$USERNODE" help
  [ "$status" -eq 0 ]
  [[ "$output" == *"run"* ]]
  [[ "$output" == *"exec"* ]]
}

@test "an unknown command exits 2" {
  run "$USERNODE" frobnicate
  [ "$status" -eq 2 ]
  [[ "$output" == *'unknown command "frobnicate"'* ]]
}

@test "no command exits 2" {
  run "$USERNODE"
  [ "$status" -eq 2 ]
}

@test "an unknown option of run exits 2" {
  run "$USERNODE" run --frobnicate -- true
  [ "$status" -eq 2 ]
  [[ "$output" == *"unknown option --frobnicate"* ]]
}

@test "an invalid node name exits 2" {
  run "$USERNODE" run --node ../escape -- true
  [ "$status" -eq 2 ]
  [[ "$output" == *'invalid node name "../escape"'* ]]
}

@test "an invalid --net exits 2" {
  run "$USERNODE" run --net=bridge -- true
  [ "$status" -eq 2 ]
  [[ "$output" == *'invalid --net "bridge"'* ]]
}
