#!/usr/bin/env bats
# network.bats: the node's own network namespace, wired out through the embedded libslirp engine.
#
# All traffic goes to servers these tests start on the host's loopback, or in namespaces they
# create. Runs as an unprivileged user with /dev/net/tun open to users (scripts/check.sh).

bats_require_minimum_version 1.5.0

load helpers
load network_helpers

helpers="$BATS_TEST_DIRNAME/helpers"

# node CMD...: usernode run with slirp's TCP path (tcp_path = slirp; the default kernel path has
# network_tcp_kernel.bats) and this test's state dir (in the background, call "$USERNODE" itself,
# so $! is the launcher's pid).
node() {
  "$USERNODE" run --state-dir "$state" --tcp-path=slirp "$@"
}


@test "the node fetches from an HTTP server on the host's 127.0.0.1 through 10.0.2.2 with host_loopback" {
  start_http_server
  run --separate-stderr node --host-loopback -- python3 "$helpers/fetch.py" "http://10.0.2.2:$http_port/token"
  [ "$status" -eq 0 ]
  [ "${lines[-1]}" = "$token" ]
}

# The node's command sends its datagram as the engine starts: among the first frames the engine
# reads. libslirp gave the flow's socket an expiry from its clock, which only slirp_pollfds_poll
# sets; read before the first call, it was 0, the socket expired at once and the answer was lost
# (glibc's resolver, asking once, waits 5 s for such a first DNS query).
@test "the node's first UDP datagram, sent as the node starts, is answered (one try)" {
  port=$(free_port)
  "$USERNODE_HELPERS/port_peer" server udp 127.0.0.1 "$port" 3>&- &
  background_pids+=($!)
  for ((i = 0; i < 200; i++)); do ss -Hlun "sport = :$port" | grep -q . && break; sleep 0.05; done
  run --separate-stderr node --host-loopback -- "$USERNODE_HELPERS/port_peer" udp 10.0.2.2 "$port" 1
  echo "$output $stderr"
  [ "$status" -eq 0 ]
  [ "${lines[-1]}" = "1 of 1 datagrams echoed (0 resent)" ]
}

@test "without host_loopback (the default) 10.0.2.2 does not reach the host's loopback" {
  start_http_server
  # slirp answers the SYN with ICMP network unreachable instead of connecting.
  run -1 node -- python3 "$helpers/fetch.py" "http://10.0.2.2:$http_port/token"
  [[ "$output" == *"Network is unreachable"* ]]
  [[ "$output" != *"$token"* ]]
}

@test "the node's tap0 has 10.0.2.100/24, MTU 65520 and a default route via 10.0.2.2" {
  run node -- sh -c 'ip -o -4 addr show dev tap0; ip -o link show dev tap0; ip route show default'
  [ "$status" -eq 0 ]
  [[ "$output" == *"inet 10.0.2.100/24"* ]]
  [[ "$output" == *"mtu 65520"* ]]
  [[ "$output" == *"default via 10.0.2.2 dev tap0"* ]]
}

@test "mtu and cidr options change the node's link" {
  run node --mtu=1500 --cidr=10.41.0.0/16 -- sh -c 'ip -o -4 addr show dev tap0; ip -o link show dev tap0; ip route show default'
  [ "$status" -eq 0 ]
  [[ "$output" == *"inet 10.41.0.100/16"* ]]
  [[ "$output" == *"mtu 1500"* ]]
  [[ "$output" == *"default via 10.41.0.2 dev tap0"* ]]
}

@test "ipv6 gives the node fd00::100/64 and, with host_loopback, fd00::2 reaches the host's ::1" {
  python3 -c 'import socket; socket.socket(socket.AF_INET6).bind(("::1", 0))' 2>/dev/null ||
    skip "the host has no IPv6 loopback"
  mkdir -p "$BATS_TEST_TMPDIR/www6"
  echo v6-ok >"$BATS_TEST_TMPDIR/www6/token"
  port=$(free_port)
  python3 -m http.server --bind ::1 --directory "$BATS_TEST_TMPDIR/www6" "$port" >/dev/null 2>&1 3>&- &
  background_pids+=($!)
  python3 "$helpers/fetch.py" "http://[::1]:$port/token" 10 >/dev/null
  run --separate-stderr node --ipv6 --host-loopback -- sh -c "ip -o -6 addr show dev tap0 scope global; python3 '$helpers/fetch.py' 'http://[fd00::2]:$port/token'"
  [ "$status" -eq 0 ]
  [[ "$output" == *"inet6 fd00::100/64"* ]]
  [ "${lines[-1]}" = v6-ok ]
}

@test "outbound_addr is the source address the far end sees for the node's connections" {
  # Two addresses of the test's own network namespace: a server on one, slirp bound to the other
  # (slirp does not bind for connections it maps to loopback, so 10.0.2.2 would not show it).
  run unshare -Urn sh -c '
    ip link set lo up && ip addr add 192.0.2.1/32 dev lo && ip addr add 192.0.2.2/32 dev lo &&
    { python3 -c "
import socket, sys
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((\"192.0.2.1\", 8080)); s.listen(1); open(sys.argv[1], \"w\").close()
s.settimeout(60); c, peer = s.accept(); c.sendall(peer[0].encode()); c.close()" "$1/ready" \
        >/dev/null 2>&1 3>&- & } &&
    i=0; while [ ! -e "$1/ready" ] && [ $i -lt 200 ]; do sleep 0.05; i=$((i+1)); done;
    "$2" run --state-dir "$1/state" --outbound-addr=192.0.2.2 -- python3 -c "
import socket; print(socket.create_connection((\"192.0.2.1\", 8080), timeout=10).recv(64).decode())" 2>/dev/null' \
    sh "$BATS_TEST_TMPDIR" "$USERNODE"
  [ "$status" -eq 0 ]
  [ "${lines[-1]}" = 192.0.2.2 ]
}

@test "the node's resolv.conf names 10.0.2.3 and its hosts file names the node" {
  run node -- sh -c 'cat /etc/resolv.conf /etc/hosts'
  [ "$status" -eq 0 ]
  [[ "$output" == *"nameserver 10.0.2.3"* ]]
  [[ "$output" == *"127.0.0.1"*"localhost"* ]]
  # The host's files are untouched.
  run ! grep -q "written by usernode" /etc/resolv.conf
}

@test "the node's hosts file maps the UTS name it shares with the host to the node's address" {
  # kubelet takes that name as its node name and resolves it; through DNS it waited out the
  # resolver's timeout on every node object it built (REFERENCE.md, problem 13).
  run node -- sh -c 'getent hosts "$(hostname)"'
  echo "$output"
  [ "$status" -eq 0 ]
  [[ "$output" == "10.0.2.100 "* ]]
}

@test "dns with addresses puts exactly those nameservers in the node's resolv.conf" {
  run --separate-stderr node --dns=192.0.2.53,2001:db8::53 -- grep ^nameserver /etc/resolv.conf
  [ "$status" -eq 0 ]
  [ "$output" = "nameserver 192.0.2.53
nameserver 2001:db8::53" ]
}

# tcp_mss MTU: the MSS the node's kernel uses on a connection to the host through slirp, to the
# server of start_http_server. That is started by the test, not here: `run` calls this in a
# subshell, where background_pids would not reach teardown and the server would outlive the test.
tcp_mss() {
  node --host-loopback --mtu="$1" -- python3 -c '
import socket, subprocess, sys
s = socket.create_connection(("10.0.2.2", int(sys.argv[1])), timeout=10)
print(subprocess.run(["ss", "-tinH", "dst", "10.0.2.2"], capture_output=True, text=True).stdout)' "$http_port"
}

@test "at MTU 65520 slirp's TCP announces an MSS of 16384, not 65480 (its window is 64 KiB)" {
  start_http_server
  run tcp_mss 65520
  [ "$status" -eq 0 ]
  [[ "$output" == *" mss:16384 "* ]]
}

@test "at MTU 1500 slirp's TCP announces the MTU's own MSS, 1460" {
  start_http_server
  run tcp_mss 1500
  [ "$status" -eq 0 ]
  [[ "$output" == *" mss:1460 "* ]]
}

@test "1 GiB from the node to the host arrives intact at MTU 65520" {
  transfer_out 65520
}

@test "1 GiB from the node to the host arrives intact at MTU 1500 (TSO segments checksummed by the engine)" {
  transfer_out 1500
}

@test "1 GiB from the host to the node arrives intact at MTU 65520" {
  transfer_in 65520
}

@test "1 GiB from the host to the node arrives intact at MTU 1500 (segments merged into TSO frames)" {
  transfer_in 1500
}

@test "a name is resolved inside through 10.0.2.3 by the resolver the host's resolv.conf names" {
  # A network and mount namespace of the test's own: its loopback holds the DNS server (port 53
  # needs the namespace's root) and its /etc/resolv.conf names it. Inside `unshare -r`
  # newuidmap cannot work, so usernode maps only the user's own id (and warns).
  cat >"$BATS_TEST_TMPDIR/host-resolv.conf" <<EOF2
nameserver 127.0.0.1
EOF2
  run unshare -Urnm sh -c '
    ip link set lo up &&
    mount --bind "$1/host-resolv.conf" /etc/resolv.conf &&
    { python3 "$2/dns_responder.py" 127.0.0.1 53 node-dns.usernode.test 192.0.2.77 "$1/dns-ready" \
        >/dev/null 2>&1 3>&- & } &&
    dns=$! &&
    i=0; while [ ! -e "$1/dns-ready" ] && [ $i -lt 200 ]; do sleep 0.05; i=$((i+1)); done;
    "$3" run --state-dir "$1/state" -- getent ahostsv4 node-dns.usernode.test; rc=$?
    kill $dns; exit $rc' sh "$BATS_TEST_TMPDIR" "$helpers" "$USERNODE"
  [ "$status" -eq 0 ]
  [[ "$output" == *"192.0.2.77"*"node-dns.usernode.test"* ]]
  grep -q "node-dns.usernode.test 1" "$BATS_TEST_TMPDIR/dns-ready.log"
}

@test "the engine killed with SIGKILL is replaced: a new connection succeeds within 2 s" {
  start_http_server
  "$USERNODE" run --state-dir "$state" --host-loopback -- sh -c '
      i=0; while [ ! -e "$1/killed" ] && [ $i -lt 400 ]; do sleep 0.05; i=$((i+1)); done
      python3 "$2/fetch.py" "$3" 2' sh "$BATS_TEST_TMPDIR" "$helpers" "http://10.0.2.2:$http_port/token" \
    >"$BATS_TEST_TMPDIR/node.out" 2>"$BATS_TEST_TMPDIR/node.err" 3>&- &
  node_pid=$!
  background_pids+=($node_pid)
  wait_for "$state/engine.pid" 10
  old=$(cat "$state/engine.pid")
  kill -KILL "$old"
  touch "$BATS_TEST_TMPDIR/killed"
  status=0
  wait "$node_pid" || status=$?
  cat "$BATS_TEST_TMPDIR/node.err" >&2
  [ "$status" -eq 0 ]
  [ "$(cat "$state/engine.pid")" != "$old" ]
  [ "$(cat "$BATS_TEST_TMPDIR/node.out")" = "$token" ]
  grep -q "restarting it" "$BATS_TEST_TMPDIR/node.err"
}

@test "the engine exits when the launcher is killed" {
  "$USERNODE" run --state-dir "$state" -- sleep 60 >/dev/null 2>&1 3>&- &
  launcher=$!
  background_pids+=($launcher)
  wait_for "$state/engine.pid" 10
  engine=$(cat "$state/engine.pid")
  alive "$engine"
  kill -KILL "$launcher"
  for ((i = 0; i < 100; i++)); do
    alive "$engine" || break
    sleep 0.05
  done
  run ! alive "$engine"
}

# with_running_engine OPTIONS...: start a node that waits, set $engine to its engine's pid.
with_running_engine() {
  "$USERNODE" run --state-dir "$state" "$@" -- sh -c 'i=0; while [ ! -e "$1/done" ] && [ $i -lt 400 ]; do sleep 0.05; i=$((i+1)); done' \
    sh "$BATS_TEST_TMPDIR" >/dev/null 2>&1 3>&- &
  node_pid=$!
  background_pids+=($node_pid)
  wait_for "$state/engine.pid" 10
  engine=$(cat "$state/engine.pid")
}

# engine_filter_wait: give the engine ($engine) the moment from fork to filter: wait until its
# seccomp filter is there (bounded, 5 s); the caller asserts what it needs.
engine_filter_wait() {
  local i
  for ((i = 0; i < 100; i++)); do
    grep -q '^Seccomp:[[:space:]]*2' "/proc/$engine/status" && return 0
    sleep 0.05
  done
}

@test "the engine is sandboxed: no capabilities, seccomp filter, an empty root with /etc and /run" {
  with_running_engine
  engine_filter_wait
  grep -q '^CapEff:[[:space:]]*0000000000000000$' "/proc/$engine/status"
  grep -q '^CapPrm:[[:space:]]*0000000000000000$' "/proc/$engine/status"
  grep -q '^CapBnd:[[:space:]]*0000000000000000$' "/proc/$engine/status"
  grep -q '^NoNewPrivs:[[:space:]]*1$' "/proc/$engine/status"
  grep -q '^Seccomp:[[:space:]]*2$' "/proc/$engine/status"
  [ "$(ls -A "/proc/$engine/root" | tr '\n' ' ')" = "etc run " ]
  [ "$(cat "/proc/$engine/comm")" = usernode-slirp ]
  touch "$BATS_TEST_TMPDIR/done"
}

# Issue 11: the filter is compiled at build time (netns/engine_filter_gen.c) and only installed by
# the engine, which so maps no libseccomp (it was 128 KiB of its idle RSS).
@test "the engine's seccomp filter is built in: the filter is on and the engine maps no libseccomp" {
  with_running_engine
  engine_filter_wait
  grep -q '^Seccomp:[[:space:]]*2$' "/proc/$engine/status"
  maps=$(cat "/proc/$engine/maps")
  [[ $maps == *libslirp.so* ]]
  [[ $maps != *libseccomp* ]]
  touch "$BATS_TEST_TMPDIR/done"
}

# Issue 11: the engine is exec'd as its own small program (carried in the launcher, run from a
# sealed memfd), not a fork of the launcher: it maps only what slirp needs, and a restart runs it
# again the same way.
@test "the engine is its own program: libslirp mapped, not libcurl, OpenSSL or libsystemd, none of the launcher's heap or environment; the launcher maps no libcurl, OpenSSL, libyaml or libsystemd, the node init no libsystemd" {
  "$USERNODE" --debug run --state-dir "$state" -- sh -c 'i=0; while [ ! -e "$1/done" ] && [ $i -lt 400 ]; do sleep 0.05; i=$((i+1)); done' \
    sh "$BATS_TEST_TMPDIR" >/dev/null 2>"$BATS_TEST_TMPDIR/err" 3>&- &
  node_pid=$!
  background_pids+=($node_pid)
  wait_for "$state/engine.pid" 10
  engine=$(cat "$state/engine.pid")
  # engine.pid is written at fork: wait for the exec (under load the child may still be the
  # launcher's copy, with all its libraries).
  for ((i = 0; i < 100; i++)); do
    [[ $(readlink "/proc/$engine/exe") == /memfd:* ]] && break
    sleep 0.05
  done
  # Nor does the launcher map libcurl, OpenSSL or libyaml: they are the cluster program's, which
  # a node that does not join never starts.
  maps=$(cat "/proc/$node_pid/maps")
  [[ $maps != *libcurl* && $maps != *libcrypto* && $maps != *libssl* && $maps != *libyaml* ]]
  # Nor libsystemd, in the launcher or the node init (a fork of it): its own event loop and
  # notify, and the D-Bus calls of a start from a library opened and closed for them
  # (cgroup/sd_bus_dl.h).
  [[ $maps != *libsystemd* ]]
  wait_for "$state/child_pid" 10
  [[ $(cat "/proc/$(cat "$state/child_pid")/maps") != *libsystemd* ]]
  for round in first restarted; do
    maps=$(cat "/proc/$engine/maps")
    [[ $maps == *libslirp.so* ]]
    [[ $maps != *libcurl* && $maps != *libcrypto* && $maps != *libsystemd* && $maps != *libjson-c* ]]
    [[ $(readlink "/proc/$engine/exe") == "/memfd:usernode-slirp"* ]]
    # A fork would share the launcher's heap pages copy-on-write; a fresh program shares none.
    [ "$(awk '/^Shared_Dirty:/ { print $2 }' "/proc/$engine/smaps_rollup")" = 0 ]
    # None of the launcher's environment (the user's HOME, runtime dir, PATH).
    run ! grep -zE '^(HOME|XDG_RUNTIME_DIR|PATH|USER)=' "/proc/$engine/environ"
    if [ $round = first ]; then
      kill -9 "$engine"
      for ((i = 0; i < 100; i++)); do
        new=$(cat "$state/engine.pid" 2>/dev/null || true)
        # Written at fork: wait for the exec too.
        [ -n "$new" ] && [ "$new" != "$engine" ] && [[ $(readlink "/proc/$new/exe") == /memfd:* ]] && break
        sleep 0.05
      done
      [ "$new" != "$engine" ]
      engine=$new
    fi
  done
  touch "$BATS_TEST_TMPDIR/done"
  wait "$node_pid"
  # The launcher's --debug reaches the program (its log level travels in its arguments).
  grep -q 'usernode-slirp.*serving the node' "$BATS_TEST_TMPDIR/err"
}

# Issue 12: the sandbox kept the host's /run, so with the usual XDG_RUNTIME_DIR=/run/user/UID the
# engine saw the node's api.sock (and the user's bus), and the control API took it for the user.
@test "inside the engine's mount namespace neither the user's runtime dir nor home is there, and api.sock refuses the engine" {
  runtime=/run/user/$(id -u)
  [ -d "$runtime" ] && [ -O "$runtime" ] || skip "no runtime dir of this user under /run/user"
  node_name=sbx$$$RANDOM
  XDG_RUNTIME_DIR=$runtime "$USERNODE" run --node "$node_name" -- sh -c \
    'i=0; while [ ! -e "$1/done" ] && [ $i -lt 400 ]; do sleep 0.05; i=$((i+1)); done' sh "$BATS_TEST_TMPDIR" \
    >/dev/null 2>&1 3>&- &
  node_pid=$!
  background_pids+=($node_pid)
  node_state=$runtime/usernode/$node_name
  wait_for "$node_state/engine.pid" 10
  wait_for "$node_state/api.sock" 10
  engine=$(cat "$node_state/engine.pid")
  engine_filter_wait
  # What the engine sees, through its root: no runtime dir, no bus, no home.
  [ ! -e "/proc/$engine/root$runtime" ]
  [ ! -e "/proc/$engine/root$node_state/api.sock" ]
  [ ! -e "/proc/$engine/root/run/dbus/system_bus_socket" ]
  [ ! -e "/proc/$engine/root$HOME" ]
  [ -z "$(ls -A "/proc/$engine/root/run" 2>/dev/null | grep -v -x -e systemd -e resolvconf -e NetworkManager)" ]
  # A process in the engine's user namespace that reaches the socket some other way (here: the
  # host's mount namespace) is refused by the API all the same.
  run nsenter --preserve-credentials -U -t "$engine" -- "$USERNODE" status --state-dir "$node_state"
  echo "$output"
  [ "$status" -ne 0 ]
  [[ "$output" == *"namespace"* ]]
  # and the user outside still is served
  "$USERNODE" status --state-dir "$node_state" >/dev/null
  touch "$BATS_TEST_TMPDIR/done"
  wait "$node_pid"
}

@test "[network] sandbox = false runs the engine without the sandbox" {
  printf '[network]\nsandbox = false\n' >"$BATS_TEST_TMPDIR/node.ini"
  with_running_engine --config "$BATS_TEST_TMPDIR/node.ini"
  for ((i = 0; i < 40; i++)); do
    [ "$(cat "/proc/$engine/comm")" = usernode-slirp ] && break
    sleep 0.05
  done
  grep -q '^Seccomp:[[:space:]]*0$' "/proc/$engine/status"
  [ "$(stat -L -c %i "/proc/$engine/root")" = "$(stat -L -c %i /)" ]
  touch "$BATS_TEST_TMPDIR/done"
}

@test "a missing /dev/net/tun stops the run with a clear error and exit 3" {
  run -3 unshare -Urm sh -c 'mount -t tmpfs tmpfs /dev/net && exec "$1" run --state-dir "$2" -- true' \
    sh "$USERNODE" "$state"
  [[ "$output" == *"/dev/net/tun is missing"* ]]
  [[ "$output" == *"--net=host"* ]]
}

@test "--mtu below 1280 is refused naming the key, the value and the range" {
  run -2 node --mtu=1279 -- true
  [[ "$output" == *"mtu"*"1279"*"1280 to 65520"* ]]
}

@test "--mtu above 65520 is refused" {
  run -2 node --mtu=65521 -- true
  [[ "$output" == *"mtu"*"65521"*"1280 to 65520"* ]]
}

@test "--cidr smaller than /30 is refused" {
  run -2 node --cidr=10.0.2.0/31 -- true
  [[ "$output" == *"cidr"*"10.0.2.0/31"*"/30"* ]]
}

@test "--cidr with host bits set is refused" {
  run -2 node --cidr=10.0.2.1/24 -- true
  [[ "$output" == *"cidr"*"10.0.2.1/24"*"host bits"* ]]
}

@test "a /30 with the built-in DNS forwarder is refused with how to fix it" {
  run -2 node --cidr=10.0.2.0/30 -- true
  [[ "$output" == *"cidr"*"/29 or larger"*"dns"* ]]
}

@test "--host-loopback with a non-boolean is refused" {
  run -2 node --host-loopback=maybe -- true
  [[ "$output" == *"host_loopback"*"maybe"*"true or false"* ]]
}

@test "--dns with something that is not an address is refused" {
  run -2 node --dns=resolver.example -- true
  [[ "$output" == *"dns"*"resolver.example"*"nameserver addresses"* ]]
}

@test "--outbound-addr that is not the host's is refused" {
  run -2 node --outbound-addr=192.0.2.1 -- true
  [[ "$output" == *"outbound_addr"*"192.0.2.1"* ]]
}

@test "an invalid [network] value in the config file is refused with file, line, key and range" {
  printf '[network]\n\nmtu = 100\n' >"$BATS_TEST_TMPDIR/node.ini"
  run -2 node --config "$BATS_TEST_TMPDIR/node.ini" -- true
  [[ "$output" == *"node.ini:3"*"mtu"*"100"*"1280 to 65520"* ]]
}

@test "an unknown [network] key in the config file is refused with file and line" {
  printf '[network]\nmtu_size = 1500\n' >"$BATS_TEST_TMPDIR/node.ini"
  run -2 node --config "$BATS_TEST_TMPDIR/node.ini" -- true
  [[ "$output" == *"node.ini:2"*"mtu_size"* ]]
}
