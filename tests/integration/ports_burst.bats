#!/usr/bin/env bats
# The port forwarder under a burst of connections towards a node server that falls behind.
#
# A round lasts as long as the kernel's SYN retries towards the full accept queue (about 15 s),
# so this file has a test timeout of its own.

bats_require_minimum_version 1.5.0 # `run !`

load helpers

setup_file() {
  export BATS_TEST_TIMEOUT=$(( ${BATS_TEST_TIMEOUT:-120} > 400 ? BATS_TEST_TIMEOUT : 400 ))
}

setup() {
  setup_state
  : "${USERNODE_HELPERS:?set USERNODE_HELPERS (make check does)}"
  PEER="$USERNODE_HELPERS/port_peer"
  BASE=$((10000 + (RANDOM % 200) * 10)) # apart from the other port tests (20000-31999)
}

teardown() { stop_node; }

open_ports_are() {
  "$USERNODE" ports ls | grep -Eq "/tcp +$1$"
}

# The node's TCP sockets in FIN-WAIT-1: closed by us, their FIN not acknowledged.
orphans_in_node() {
  "$USERNODE" exec -- ss -Htan state fin-wait-1
}

no_orphans_in_node() {
  local orphans
  orphans=$(orphans_in_node) && [ -z "$orphans" ]
}

# More connections at once than the forwarder keeps node sockets at hand (32), towards a server
# that falls behind (a backlog of one, one accept per 20 ms): the dial helper's connects wait for
# SYN retries and complete from its event loop, and its socket leaves by SCM_RIGHTS. Issue 12:
# the helper closed it before removing its event source, epoll kept the freed source and the
# node init died of it. Most handshakes end dropped by the full queue; the forwarder resets those
# (portfwd_tcp.c, on_node_silence_check()) within 10 s, and abort their node sockets too: closed
# with a FIN, each stayed an orphan in FIN-WAIT-1 (926 after the 10 rounds), retransmitting to the
# server for minutes and completing there, when its queue had room, as a dead connection.
@test "200 connections at once to a slow-accepting server, 10 rounds: the node survives, each is answered or closed, no reset socket stays behind" {
  start_node --net=none -p "127.0.0.1:$BASE:8080" -- "$PEER" server tcp 127.0.0.1 8080 slow
  wait_until 10 reachable 127.0.0.1 "$BASE"
  for round in 1 2 3 4 5 6 7 8 9 10; do
    run "$PEER" burst 127.0.0.1 "$BASE" 200
    echo "round $round: $output"
    [ "$status" -eq 0 ]
    kill -0 "$NODE_PID" || { cat "$BATS_TEST_TMPDIR/node.out"; false; }
  done
  "$PEER" roundtrip 127.0.0.1 "$BASE"
  run ! grep -E "should not be reached|Assertion" "$BATS_TEST_TMPDIR/node.out"
  wait_until 10 no_orphans_in_node ||
    { echo "in FIN-WAIT-1: $(orphans_in_node | wc -l)"; false; }
  wait_until 30 open_ports_are 0
}
