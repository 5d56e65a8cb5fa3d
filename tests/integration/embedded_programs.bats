#!/usr/bin/env bats
# The programs usernode carries in its binary (launcher/config/embedded_programs.h: the slirp engine, the
# cluster program, the OCI runtime wrapper) cost no memory in a running node: once read (the
# memfd copies, the wrapper's compare) their pages are given back, and no fault on the data
# around them maps them (the kernel's fault-around). So at idle neither the launcher nor the node
# init holds a page of any of them: tests/helpers/embedded_pages reads each process's
# /proc/PID/pagemap at the blobs' addresses (from the binary's symbols).

load node_helpers

setup() {
  node_test_setup
  # The node has its own network namespace: kubelet's healthz port is its own there.
  sed -i 's/^healthz_port = .*/healthz_port = 10248/' "$INI"
  STATE=${XDG_RUNTIME_DIR:+$XDG_RUNTIME_DIR/usernode}
  STATE=${STATE:-/tmp/usernode-$(id -u)}/$NODE
  NODE_OUT=$WORK/node.out
}

teardown() {
  node_test_stop_node
  node_test_teardown
}

# no_embedded_pages FILE: the process whose pid is in STATE/FILE holds no page of any program.
no_embedded_pages() {
  local out
  out=$("$HELPERS/embedded_pages" "$(cat "$STATE/$1")") || return 1
  echo "$1: $out"
  [ "$(wc -l <<<"$out")" -eq 3 ]
  ! grep -qv ' 0 [0-9]*$' <<<"$out"
}

@test "embedded programs: a node running a command holds none of their pages at idle" {
  # The slirp network: the engine is copied and started (by the node init).
  "$USERNODE" run --node "$NODE" --config "$INI" -- sh -c "touch '$WORK/up'; exec sleep 1000.$STANDIN_TAG" \
    >"$NODE_OUT" 2>&1 &
  NODE_PID=$!
  wait_for 30 "[ -e '$WORK/up' ] && [ -s '$STATE/engine.pid' ] && [ -s '$STATE/pid' ]" || { cat "$NODE_OUT"; false; }
  no_embedded_pages pid
  no_embedded_pages child_pid
}

@test "embedded programs: a node running crio and kubelet holds none of their pages at idle, nor after a reload" {
  "$USERNODE" run --node "$NODE" --config "$INI" >"$NODE_OUT" 2>&1 &
  NODE_PID=$!
  wait_for 60 "[ \$(events kubelet ready) -ge 1 ] && [ -s '$STATE/engine.pid' ]" || { cat "$NODE_OUT"; false; }
  no_embedded_pages pid
  no_embedded_pages child_pid
  # The node init plans again (and, with a delegated cgroup, compares the OCI wrapper again).
  kill -HUP "$NODE_PID"
  wait_for 30 "grep -q 'reloaded:' '$NODE_OUT'" || { cat "$NODE_OUT"; false; }
  no_embedded_pages pid
  no_embedded_pages child_pid
}
