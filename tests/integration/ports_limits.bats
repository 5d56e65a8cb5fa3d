#!/usr/bin/env bats
# The port forwarder at its edges: the accept pause at the launcher's open-file limit, and dials
# whose connect() completes later (a node address reached through slirp, not the node's loopback).
#
# port_peer (tests/helpers) is the clients outside and the servers inside, as in ports.bats.

load helpers

setup() {
  setup_state
  : "${USERNODE_HELPERS:?set USERNODE_HELPERS (make check does)}"
  PEER="$USERNODE_HELPERS/port_peer"
  # Host ports below the ephemeral range and apart from ports.bats' (20000-29999).
  BASE=$((30000 + (RANDOM % 100) * 20))
  background_pids=()
}

teardown() {
  local pid
  for pid in "${background_pids[@]}"; do
    kill "$pid" 2>/dev/null || true
  done
  stop_node
}


# open_ports_are N: `usernode ports ls` shows N open connections on the one published port.
open_ports_are() {
  "$USERNODE" ports ls | grep -Eq "/tcp +$1$"
}

@test "at the open-file limit the forwarder pauses accepting; the waiting connections are served after all" {
  # raise_fd_limit() lifts the soft limit to the hard one, so the hard limit is what counts.
  # 256 files: about 15 for the launcher itself, up to 32 node sockets at hand, 2 per connection
  # and 16 kept free (FD_HEADROOM). So 70 connections fit, 60 more do alone, and 130 do not.
  (
    ulimit -n 256
    exec "$USERNODE" run --net=none -p "127.0.0.1:$BASE:8080" -- "$PEER" server tcp 127.0.0.1 8080
  ) >"$BATS_TEST_TMPDIR/node.out" 2>&1 &
  NODE_PID=$!
  wait_until 10 test -s "$NODE_STATE/pid"
  wait_until 10 reachable 127.0.0.1 "$BASE"
  grep -Eq '^Max open files +256 +256 ' "/proc/$NODE_PID/limits"

  # 70 connections held open, all answered.
  exec {hold}> >("$PEER" idle 127.0.0.1 "$BASE" 70 >"$BATS_TEST_TMPDIR/idle.out" 2>&1)
  idle_ready() { grep -q '^ready$' "$BATS_TEST_TMPDIR/idle.out"; }
  wait_until 20 idle_ready
  # 60 more at once: some wait in the backlog. (The idle client's stdin is not passed on: it must
  # see EOF when the test closes it, not when this one exits.)
  "$PEER" concurrent 127.0.0.1 "$BASE" 60 >"$BATS_TEST_TMPDIR/concurrent.out" 2>&1 {hold}>&- &
  concurrent=$!
  background_pids+=("$concurrent")
  paused() { grep -q "cannot accept more connections now" "$BATS_TEST_TMPDIR/node.out"; }
  wait_until 10 paused
  cat "$BATS_TEST_TMPDIR/node.out"
  # 130 connections' files do not fit at all: not all 60 are served while the 70 stay open.
  kill -0 "$concurrent"

  # The 70 close: the connections in the backlog are accepted and answered.
  exec {hold}>&-
  status=0
  wait "$concurrent" || status=$?
  cat "$BATS_TEST_TMPDIR/concurrent.out" "$BATS_TEST_TMPDIR/node.out"
  [ "$status" -eq 0 ]
  [ "$(cat "$BATS_TEST_TMPDIR/concurrent.out")" = "60 of 60 answered" ]

  # and the forwarder is fine afterwards: new connections work, nothing is left open
  "$PEER" roundtrip 127.0.0.1 "$BASE"
  "$PEER" concurrent 127.0.0.1 "$BASE" 60
  kill -0 "$NODE_PID"
  wait_until 10 open_ports_are 0
}

# A node address reached through the node's tap and slirp: 10.0.2.2 is the host's own loopback
# with host_loopback. The handshake then needs the slirp engine (another process) to answer, so
# the forwarder's connect() of a node socket returns EINPROGRESS and completes from the event
# loop (on_conn_connected), unlike on the node's own loopback where it is done inside connect().
@test "a node address through slirp: the dial completes after connect() returns, and a refused one closes the client" {
  server_port=$((BASE + 10)) closed_port=$((BASE + 11))
  "$PEER" server tcp 127.0.0.1 "$server_port" &
  background_pids+=($!)
  wait_until 10 reachable 127.0.0.1 "$server_port"
  run "$PEER" roundtrip 127.0.0.1 "$closed_port"
  [ "$status" -ne 0 ] # nothing listens there on the host
  start_node --host-loopback -p "127.0.0.1:$BASE:$server_port:10.0.2.2" \
    -p "127.0.0.1:$((BASE + 1)):$closed_port:10.0.2.2" -- sleep 120
  wait_until 10 reachable 127.0.0.1 "$BASE"
  # host -> forwarder -> node socket -> tap0 -> slirp -> the host's 127.0.0.1, and back; several
  # times, as each dial races the engine's answer
  for i in 1 2 3 4 5 6 7 8 9 10; do
    run "$PEER" roundtrip 127.0.0.1 "$BASE"
    [ "$status" -eq 0 ]
    [ "$output" = "hello" ]
  done
  # slirp's connect to the closed host port fails: it resets the node's connection, and the
  # forwarder closes the client's at once
  for i in 1 2 3 4 5; do
    run "$PEER" refused 127.0.0.1 $((BASE + 1))
    echo "$output"
    [ "$status" -eq 0 ]
    [[ "$output" == "closed after "* ]]
    ms=$(echo "$output" | awk '{print $3}')
    [ "$ms" -lt 2000 ]
  done
  # the bulk path works through it too, and the node is fine afterwards
  run "$PEER" bulk 127.0.0.1 "$BASE" $((16 * 1024 * 1024))
  echo "$output"
  [ "$status" -eq 0 ]
  kill -0 "$NODE_PID"
  wait_until 10 open_ports_are 0
}

@test "a node address slirp does not reach (10.0.2.2 without host_loopback) closes the client at once" {
  start_node -p "127.0.0.1:$BASE:$((BASE + 10)):10.0.2.2" -- sleep 120
  wait_until 10 test -S "$NODE_STATE/api.sock"
  # slirp answers the node's SYN with ICMP network unreachable: the connect fails later
  run "$PEER" refused 127.0.0.1 "$BASE"
  echo "$output"
  [ "$status" -eq 0 ]
  [[ "$output" == "closed after "* ]]
  ms=$(echo "$output" | awk '{print $3}')
  [ "$ms" -lt 2000 ]
  kill -0 "$NODE_PID"
}

# The launcher forks the slirp engine without exec when it restarts it, while the forwarder's
# worker threads are splicing: the engine must still come up every time (no lock a worker held
# at the fork is taken in the engine) and the streams through published ports must not notice.
# The streams go to the node's own loopback, so they do not cross the engine being killed.
@test "the engine killed 10 times while 4 streams flow through the forwarder's workers: replaced each time, every stream intact" {
  host_port=$((BASE + 10))
  "$PEER" server tcp 127.0.0.1 "$host_port" &
  background_pids+=($!)
  wait_until 10 reachable 127.0.0.1 "$host_port"
  start_node --host-loopback -p "127.0.0.1:$BASE:8080" -- "$PEER" server tcp 127.0.0.1 8080
  wait_until 10 reachable 127.0.0.1 "$BASE"
  bulk_pids=()
  for i in 1 2 3 4; do
    "$PEER" bulk 127.0.0.1 "$BASE" $((2 * 1024 * 1024 * 1024)) >"$BATS_TEST_TMPDIR/bulk$i.out" 2>&1 &
    bulk_pids+=($!)
  done
  background_pids+=("${bulk_pids[@]}")
  wait_until 10 open_ports_are 4
  for i in 1 2 3 4 5 6 7 8 9 10; do
    old=$(cat "$NODE_STATE/engine.pid")
    kill -KILL "$old"
    replaced() { [ -s "$NODE_STATE/engine.pid" ] && [ "$(cat "$NODE_STATE/engine.pid")" != "$old" ] &&
      kill -0 "$(cat "$NODE_STATE/engine.pid")" 2>/dev/null; }
    # restarts are paced (at most one a second after a quick death), hence the bound
    wait_until 20 replaced
  done
  for i in 1 2 3 4; do
    status=0
    wait "${bulk_pids[$((i - 1))]}" || status=$?
    cat "$BATS_TEST_TMPDIR/bulk$i.out"
    [ "$status" -eq 0 ]
    grep -q "^sent 2147483648 received 2147483648 " "$BATS_TEST_TMPDIR/bulk$i.out"
  done
  kill -0 "$NODE_PID"
  # the last engine serves: a port to 10.0.2.2 goes forwarder -> tap0 -> slirp -> the host
  "$USERNODE" ports add "127.0.0.1:$((BASE + 1)):$host_port:10.0.2.2"
  run "$PEER" roundtrip 127.0.0.1 $((BASE + 1))
  [ "$status" -eq 0 ]
  [ "$output" = "hello" ]
}
