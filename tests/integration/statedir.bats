#!/usr/bin/env bats
# The state dir: one running node per name, pid files, stale files, SIGKILL of the launcher.

load helpers

setup() { setup_state; }
teardown() { stop_node; }

@test "the state dir holds pid and child_pid while the node runs and loses them on exit" {
  start_node -- sleep 30
  [ "$(cat "$NODE_STATE/pid")" = "$NODE_PID" ]
  child=$(cat "$NODE_STATE/child_pid")
  [ "$(readlink /proc/$child/ns/pid)" != "$(readlink /proc/self/ns/pid)" ]
  [ "$(stat -c %a "$NODE_STATE")" = "700" ]
  stop_node
  [ ! -e "$NODE_STATE/pid" ]
  [ ! -e "$NODE_STATE/child_pid" ]
}

@test "a second run of the same node exits 2 naming the running pid" {
  start_node -- sleep 30
  run "$USERNODE" run -- true
  [ "$status" -eq 2 ]
  [[ "$output" == *"node default is already running (pid $NODE_PID)"* ]]
  # the refused run must not have touched the running node's files
  [ -s "$NODE_STATE/pid" ]
}

@test "another node name runs beside it" {
  start_node -- sleep 30
  run "$USERNODE" run --node second -- true
  [ "$status" -eq 0 ]
}

@test "files left by a killed run are cleaned up, not refused" {
  mkdir -p -m 0700 "$NODE_STATE"
  echo 999999 > "$NODE_STATE/pid"
  echo 999998 > "$NODE_STATE/child_pid"
  : > "$NODE_STATE/api.sock"
  run "$USERNODE" run -- true
  [ "$status" -eq 0 ]
  [ ! -e "$NODE_STATE/pid" ]
  [ ! -e "$NODE_STATE/api.sock" ]
}

# Processes of this user that live in the pid namespace $1.
processes_in_pidns() {
  local p
  for p in /proc/[0-9]*; do
    [ "$(stat -c %u "$p" 2>/dev/null)" = "$(id -u)" ] || continue
    [ "$(readlink "$p/ns/pid" 2>/dev/null)" = "$1" ] && echo "${p#/proc/}"
  done
  return 0
}

@test "SIGKILL of usernode leaves nothing of the node running, and the next run starts cleanly" {
  start_node -- sh -c 'sleep 300 & sleep 301 & wait'
  node_pidns=$(readlink "/proc/$(cat "$NODE_STATE/child_pid")/ns/pid")
  wait_until 10 eval '[ "$(processes_in_pidns "$node_pidns" | wc -l)" -ge 4 ]'
  kill -KILL "$NODE_PID"
  wait "$NODE_PID" 2>/dev/null || true
  NODE_PID=
  wait_until 5 eval '[ -z "$(processes_in_pidns "$node_pidns")" ]'
  ps -u "$(id -u)" -o pid,ppid,args   # for the log: what the user still runs
  run "$USERNODE" run -- echo restarted
  [ "$status" -eq 0 ]
  [ "$output" = "restarted" ]
}

@test "XDG_RUNTIME_DIR unset: a fallback under /tmp with a warning" {
  unset XDG_RUNTIME_DIR
  run "$USERNODE" run --node "fallback$$" -- true
  [ "$status" -eq 0 ]
  [[ "$output" == *"warning: XDG_RUNTIME_DIR is not set"* ]]
  [[ "$output" == *"/tmp/usernode-$(id -u)/fallback$$"* ]]
}

@test "--state-dir puts the state where asked" {
  run "$USERNODE" run --state-dir "$BATS_TEST_TMPDIR/custom" -- sh -c 'cat /proc/1/status >/dev/null; echo ok'
  [ "$status" -eq 0 ]
  [ -e "$BATS_TEST_TMPDIR/custom/lock" ]
}

# Issue 12: a state dir others may write to was used as is (they could replace api.sock or the
# pid files). As tmux and rootlesskit do: ours, 0700 when we create it, never a symlink.
@test "a group- or world-writable --state-dir is refused with exit 2 and the fix" {
  for mode in 0777 0770 0702; do
    mkdir -m "$mode" "$BATS_TEST_TMPDIR/open$mode"
    chmod "$mode" "$BATS_TEST_TMPDIR/open$mode" # past the umask
    run "$USERNODE" run --state-dir "$BATS_TEST_TMPDIR/open$mode" -- true
    echo "$output"
    [ "$status" -eq 2 ]
    [ "${#lines[@]}" -eq 1 ]
    [[ "$output" == *"state dir $BATS_TEST_TMPDIR/open$mode is writable by others"* ]]
    [[ "$output" == *"chmod go-w"* ]]
    [ ! -e "$BATS_TEST_TMPDIR/open$mode/lock" ]
  done
}

@test "a --state-dir that is a symlink is refused with exit 2" {
  mkdir -m 0700 "$BATS_TEST_TMPDIR/real"
  ln -s "$BATS_TEST_TMPDIR/real" "$BATS_TEST_TMPDIR/link"
  run "$USERNODE" run --state-dir "$BATS_TEST_TMPDIR/link" -- true
  echo "$output"
  [ "$status" -eq 2 ]
  [[ "$output" == *"state dir $BATS_TEST_TMPDIR/link is a symlink"* ]]
  [ ! -e "$BATS_TEST_TMPDIR/real/lock" ]
}

@test "the default state dir and its usernode/ parent are created 0700; a parent open to others is refused" {
  run "$USERNODE" run -- true
  [ "$status" -eq 0 ]
  [ "$(stat -c %a "$XDG_RUNTIME_DIR/usernode")" = "700" ]
  [ "$(stat -c %a "$NODE_STATE")" = "700" ]
  chmod 0777 "$XDG_RUNTIME_DIR/usernode"
  run "$USERNODE" run -- true
  echo "$output"
  [ "$status" -eq 2 ]
  [[ "$output" == *"$XDG_RUNTIME_DIR/usernode is writable by others"* ]]
}

# Issue 12: the launcher held the lock while it cleaned up after its node init, and a run right
# after kill -9 of the init was refused "already running" (8 of 10).
@test "right after kill -9 of the node init a new run starts (10 trials)" {
  for trial in 1 2 3 4 5 6 7 8 9 10; do
    start_node -- sleep 120
    kill -KILL "$(cat "$NODE_STATE/child_pid")"
    run "$USERNODE" run -- echo "trial $trial"
    echo "$output"
    [ "$status" -eq 0 ]
    [ "${lines[-1]}" = "trial $trial" ]
    wait "$NODE_PID" || true
    NODE_PID=
  done
}
