#!/usr/bin/env bats
# usernode exec: joining a running node.

load helpers

setup() { setup_state; }
teardown() { stop_node; }

@test "exec runs a command inside the running node's namespaces as root" {
  start_node -- sh -c 'echo node-only > /etc/usernode-exec-marker; exec sleep 30'
  wait_until 5 "$USERNODE" exec -- test -e /etc/usernode-exec-marker
  run "$USERNODE" exec -- sh -c 'id -u; readlink /proc/self/ns/pid; cat /etc/usernode-exec-marker; cat /proc/1/cmdline | tr "\0" " "'
  [ "$status" -eq 0 ]
  [ "${lines[0]}" = "0" ]
  [ "${lines[1]}" = "$(readlink /proc/$(cat "$NODE_STATE/child_pid")/ns/pid)" ]
  [ "${lines[2]}" = "node-only" ]
}

@test "exec passes the command's exit status on" {
  start_node -- sleep 30
  run "$USERNODE" exec -- sh -c 'exit 5'
  [ "$status" -eq 5 ]
}

@test "exec into a node that is not running fails and says how to start it" {
  run "$USERNODE" exec --node absent -- true
  [ "$status" -eq 1 ]
  [[ "$output" == *"node absent is not running"* ]]
  [[ "$output" == *"usernode run --node absent"* ]]
}
