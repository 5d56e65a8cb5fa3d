#!/usr/bin/env bats
# The fault matrix on the host, with the stand-ins for crio and kubelet (tests/helpers/standins):
# kill -9 of the launcher, the slirp engine, the node init, crio and kubelet, 10 trials each.
# Nothing of the node is left when it goes, the node recovers from what it can recover from, and
# a `run` right after works. (The same with the real crio and kubelet needs the VM: tests/vm.)

load node_helpers

setup_file() {
  # 20 node starts and 30 recoveries: more than the default per-test bound.
  export BATS_TEST_TIMEOUT=$(( ${BATS_TEST_TIMEOUT:-120} > 300 ? BATS_TEST_TIMEOUT : 300 ))
}

setup() {
  node_test_setup
  sed -i 's/^healthz_port = .*/healthz_port = 10248/' "$INI"
  export XDG_RUNTIME_DIR=$WORK/run
  mkdir -p -m 0700 "$XDG_RUNTIME_DIR"
  STATE=$XDG_RUNTIME_DIR/usernode/$NODE
  NODE_OUT=$WORK/node.out
}

teardown() {
  node_test_stop_node
  node_test_teardown
}

start_node() {
  "$USERNODE" run --node "$NODE" --config "$INI" > "$NODE_OUT" 2>&1 &
  NODE_PID=$!
  wait_for 60 "service_running kubelet" || { cat "$NODE_OUT"; return 1; }
}

service_field() { # service_field SERVICE FIELD: from `usernode status --json`
  "$USERNODE" status --node "$NODE" --json 2>/dev/null |
    python3 -c "import json,sys; s=[x for x in json.load(sys.stdin)['services'] if x['name']=='$1'][0]; print(s['$2'])"
}

service_running() {
  [ "$(service_field "$1" state 2>/dev/null)" = running ]
}

# The node is gone for good: the launcher exited, none of its processes is left, and a new run
# of the same node starts at once.
gone_and_restartable() {
  wait_for 20 "! kill -0 $NODE_PID 2>/dev/null" || { echo "the launcher is still there"; return 1; }
  wait "$NODE_PID" 2>/dev/null || true
  NODE_PID=
  wait_for 10 '[ -z "$(node_processes)" ]' || { node_processes; return 1; }
  [ ! -e "$STATE/api.sock" ] || [ ! -S "$STATE/api.sock" ] || ! "$USERNODE" status --node "$NODE" >/dev/null 2>&1
  "$USERNODE" run --node "$NODE" --net none -- true
}

@test "kill -9 of the launcher, 10 trials: the node goes with it, nothing is left, a run right after works" {
  for trial in 1 2 3 4 5 6 7 8 9 10; do
    start_node
    kill -KILL "$NODE_PID"
    gone_and_restartable || { echo "trial $trial"; false; }
  done
}

@test "kill -9 of the node init, 10 trials: the launcher says so and exits, nothing is left, a run right after works" {
  for trial in 1 2 3 4 5 6 7 8 9 10; do
    start_node
    kill -KILL "$(cat "$STATE/child_pid")"
    gone_and_restartable || { echo "trial $trial"; cat "$NODE_OUT"; false; }
    grep -q "was killed by SIGKILL" "$NODE_OUT"
  done
}

@test "kill -9 of the slirp engine, 10 trials: it is replaced and the node goes on" {
  start_node
  for trial in 1 2 3 4 5 6 7 8 9 10; do
    old=$(cat "$STATE/engine.pid")
    kill -KILL "$old"
    wait_for 10 "[ \"\$(cat '$STATE/engine.pid' 2>/dev/null)\" != '$old' ] && [ -s '$STATE/engine.pid' ]" ||
      { echo "trial $trial"; cat "$NODE_OUT"; false; }
    kill -0 "$NODE_PID"
  done
  service_running kubelet
  "$USERNODE" status --node "$NODE" >/dev/null
}

@test "kill -9 of crio and of kubelet, 10 trials each: the supervisor restarts them and the node goes on" {
  start_node
  for service in crio kubelet; do
    for trial in 1 2 3 4 5 6 7 8 9 10; do
      pid=$(service_field "$service" host_pid)
      restarts=$(service_field "$service" restarts)
      kill -KILL "$pid"
      wait_for 30 "[ \"\$(service_field $service restarts)\" -gt $restarts ] && service_running $service && service_running kubelet" ||
        { echo "$service trial $trial"; "$USERNODE" status --node "$NODE"; false; }
    done
  done
  kill -0 "$NODE_PID"
}
