#!/usr/bin/env bats
# network_tcp_kernel.bats: [network] tcp_path = kernel, outbound TCP terminated by the node's own
# kernel (an nf_tables redirect in the node's network namespace) and spliced to host sockets by
# the engine (netns/tcp_redirect.h, netns/tcp_splice.h).
#
# All traffic goes to servers these tests start on the host's loopback, or in namespaces they
# create. Runs as an unprivileged user with /dev/net/tun open to users (scripts/check.sh).

bats_require_minimum_version 1.5.0

load helpers
load network_helpers

helpers="$BATS_TEST_DIRNAME/helpers"

# node ARGS...: usernode run with the kernel TCP path and this test's state dir.
node() {
  "$USERNODE" run --state-dir "$state" --tcp-path=kernel "$@"
}

# one_shot_listen FAMILY ADDRESS SCRIPT: a python server on ADDRESS:$port (FAMILY: AF_INET or
# AF_INET6) that runs SCRIPT on the one connection it accepts (`c`), its output in
# $BATS_TEST_TMPDIR/server.out.
one_shot_listen() {
  port=$(free_port)
  python3 -c "
import socket, struct, sys
s = socket.socket(socket.$1); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(('$2', int(sys.argv[1]))); s.listen(1); open(sys.argv[2], 'w').close()
s.settimeout(60); c, peer = s.accept(); c.settimeout(60)
$3" "$port" "$BATS_TEST_TMPDIR/ready" >"$BATS_TEST_TMPDIR/server.out" 2>&1 3>&- &
  background_pids+=($!)
  wait_for "$BATS_TEST_TMPDIR/ready" 10
}

# one_shot_server SCRIPT: one_shot_listen on 127.0.0.1.
one_shot_server() {
  one_shot_listen AF_INET 127.0.0.1 "$1"
}

@test "with tcp_path = kernel the node's connection to 10.0.2.2 ends at its own kernel's listener" {
  one_shot_server 'c.sendall(b"hello"); c.recv(1)'
  run --separate-stderr node --host-loopback -- python3 -c '
import socket, subprocess, sys
s = socket.create_connection(("10.0.2.2", int(sys.argv[1])), timeout=10)
print(s.recv(5).decode())
print(subprocess.run(["ss", "-tnH", "state", "established"], capture_output=True, text=True).stdout)' "$port"
  [ "$status" -eq 0 ]
  [ "${lines[0]}" = hello ]
  # The redirected end: the node's own listener on 127.0.0.1 holds the other side of it.
  [[ "$output" == *"127.0.0.1:"*"10.0.2.100:"* ]]
}

@test "kernel path: the engine's sockets on a loopback use reno, not the host's paced default" {
  # The server lists its peer, the engine's host socket, while the node's client waits for it.
  one_shot_server 'import subprocess
c.recv(1)
print(subprocess.run(["ss", "-tinH", "state", "established", "dport", "=", ":" + sys.argv[1]],
                     capture_output=True, text=True).stdout, flush=True)
c.sendall(b"x"); c.recv(1)'
  run --separate-stderr node --host-loopback -- python3 -c '
import socket, subprocess, sys
s = socket.create_connection(("10.0.2.2", int(sys.argv[1])), timeout=10)
s.sendall(b"a"); s.recv(1)
# The engine end of the node connection: the one whose local address is the redirect listener.
print(subprocess.run(["ss", "-tinH", "state", "established", "src", "127.0.0.1"],
                     capture_output=True, text=True).stdout)' "$port"
  [ "$status" -eq 0 ]
  [[ "$output" == *"127.0.0.1:"*"10.0.2.100:"*" reno "* ]]
  grep -q " reno " "$BATS_TEST_TMPDIR/server.out"
}

@test "kernel path: a pod's connection, routed through the node, is redirected too (prerouting)" {
  # A network namespace of the node's own, as a pod's: a veth pair, routed through the node.
  one_shot_server 'c.sendall(b"to the pod")'
  run --separate-stderr node --host-loopback -- sh -c '
    unshare -n sleep 60 & pod=$!
    i=0; until [ "$(readlink /proc/$pod/ns/net)" != "$(readlink /proc/self/ns/net)" ] || [ $i -ge 100 ]; do sleep 0.05; i=$((i+1)); done
    ip link add pod0 type veth peer name eth0 netns "$pod" &&
    ip addr add 10.99.0.1/24 dev pod0 && ip link set pod0 up &&
    nsenter --net=/proc/$pod/ns/net sh -c "ip link set lo up && ip addr add 10.99.0.2/24 dev eth0 &&
      ip link set eth0 up && ip route add default via 10.99.0.1" &&
    nsenter --net=/proc/$pod/ns/net python3 -c "
import os, socket, sys, time
s = socket.create_connection((\"10.0.2.2\", int(sys.argv[1])), timeout=10)
print(s.recv(64).decode(), flush=True)
open(sys.argv[2] + \"/received\", \"w\").close()
# Open until the node looked at its sockets.
for _ in range(200):
    if os.path.exists(sys.argv[2] + \"/checked\"): break
    time.sleep(0.05)" "$1" "$2" &
    client=$!
    i=0; until [ -e "$2/received" ] || [ $i -ge 200 ]; do sleep 0.05; i=$((i+1)); done
    { ss -tnH state all | grep -q "10.99.0.1:.* 10.99.0.2:" && echo redirected || echo "not redirected"; }
    touch "$2/checked"; wait $client
    kill $pod' sh "$port" "$BATS_TEST_TMPDIR"
  [ "$status" -eq 0 ]
  [ "${lines[0]}" = "to the pod" ]
  [ "${lines[1]}" = redirected ]
}

@test "kernel path: 1 GiB from the node to the host arrives intact at MTU 65520" {
  transfer_out 65520
}

@test "kernel path: 1 GiB from the node to the host arrives intact at MTU 1500" {
  transfer_out 1500
}

@test "kernel path: 1 GiB from the host to the node arrives intact at MTU 65520" {
  transfer_in 65520
}

@test "kernel path: 1 GiB from the host to the node arrives intact at MTU 1500" {
  transfer_in 1500
}

@test "kernel path: a refused port reaches the node's client as a reset within a second" {
  port=$(free_port) # nothing listens on it
  run --separate-stderr node --host-loopback -- python3 -c '
import socket, sys, time
start = time.monotonic()
try:
    s = socket.create_connection(("10.0.2.2", int(sys.argv[1])), timeout=10)
    s.settimeout(10)
    data = s.recv(1)
    print("eof" if not data else "data")
except (ConnectionResetError, ConnectionRefusedError) as e:
    print(type(e).__name__, round(time.monotonic() - start, 3))' "$port"
  [ "$status" -eq 0 ]
  read -r what seconds <<<"${lines[-1]}"
  [[ "$what" == ConnectionResetError || "$what" == ConnectionRefusedError ]]
  python3 -c 'import sys; sys.exit(0 if float(sys.argv[1]) < 1 else 1)' "$seconds"
}

@test "with tcp_path = slirp a refused port stays a refusal (slirp holds the SYN until its connect failed)" {
  port=$(free_port) # nothing listens on it
  run --separate-stderr "$USERNODE" run --state-dir "$state" --tcp-path=slirp --host-loopback -- python3 -c '
import socket, sys
try:
    socket.create_connection(("10.0.2.2", int(sys.argv[1])), timeout=10)
    print("connected")
except OSError as e:
    print(type(e).__name__)' "$port"
  [ "$status" -eq 0 ]
  [ "${lines[-1]}" = ConnectionRefusedError ]
}

@test "kernel path: a half-close passes through, the reply after it arrives" {
  # The server reads to EOF (the node's shutdown), then answers with what it counted.
  one_shot_server '
n = 0
while True:
    d = c.recv(65536)
    if not d: break
    n += len(d)
c.sendall(b"got %d" % n); c.close()'
  run --separate-stderr node --host-loopback -- python3 -c '
import socket, sys
s = socket.create_connection(("10.0.2.2", int(sys.argv[1])), timeout=10)
s.sendall(b"x" * 100000); s.shutdown(socket.SHUT_WR)
reply = b""
while True:
    d = s.recv(100)
    if not d: break
    reply += d
print(reply.decode())' "$port"
  [ "$status" -eq 0 ]
  [ "${lines[-1]}" = "got 100000" ]
}

@test "kernel path: a reset by the host's server reaches the node's client as a reset" {
  one_shot_server '
c.recv(1)
c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0)); c.close()'
  run --separate-stderr node --host-loopback -- python3 -c '
import socket, sys, time
s = socket.create_connection(("10.0.2.2", int(sys.argv[1])), timeout=10)
s.sendall(b"x"); s.settimeout(10)
try:
    print("eof" if not s.recv(1) else "data")
except ConnectionResetError:
    print("reset")' "$port"
  [ "$status" -eq 0 ]
  [ "${lines[-1]}" = reset ]
}

@test "kernel path: without host_loopback 10.0.2.2 still does not reach the host's loopback" {
  one_shot_server 'print("accepted")'
  run -1 node -- python3 "$helpers/fetch.py" "http://10.0.2.2:$port/"
  [[ "$output" == *"Network is unreachable"* ]]
  [ ! -s "$BATS_TEST_TMPDIR/server.out" ]
}

@test "kernel path: outbound_addr is the source address the far end sees" {
  run unshare -Urn sh -c '
    ip link set lo up && ip addr add 192.0.2.1/32 dev lo && ip addr add 192.0.2.2/32 dev lo &&
    { python3 -c "
import socket, sys
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((\"192.0.2.1\", 8080)); s.listen(1); open(sys.argv[1], \"w\").close()
s.settimeout(60); c, peer = s.accept(); c.sendall(peer[0].encode()); c.close()" "$1/ready" \
        >/dev/null 2>&1 3>&- & } &&
    i=0; while [ ! -e "$1/ready" ] && [ $i -lt 200 ]; do sleep 0.05; i=$((i+1)); done;
    "$2" run --state-dir "$1/state" --tcp-path=kernel --outbound-addr=192.0.2.2 -- python3 -c "
import socket
s = socket.create_connection((\"192.0.2.1\", 8080), timeout=10)
# ss cannot ask sock_diag with only one id mapped: /proc/net/tcp, 127.0.0.1 <- 10.0.2.100 not
# listening (established, or closing already: the server answers and closes at once).
rows = [l.split() for l in open(\"/proc/net/tcp\").readlines()[1:]]
print(\"redirected\" if any(r[1].startswith(\"0100007F:\") and r[2].startswith(\"6402000A:\") and r[3] != \"0A\" for r in rows) else \"not redirected\")
print(s.recv(64).decode())" 2>/dev/null' \
    sh "$BATS_TEST_TMPDIR" "$USERNODE"
  [ "$status" -eq 0 ]
  [ "${lines[-1]}" = 192.0.2.2 ]
  [ "${lines[-2]}" = redirected ] # it went the kernel's way
}

@test "kernel path: with ipv6 and host_loopback fd00::2 reaches the host's ::1" {
  python3 -c 'import socket; socket.socket(socket.AF_INET6).bind(("::1", 0))' 2>/dev/null ||
    skip "the host has no IPv6 loopback"
  mkdir -p "$BATS_TEST_TMPDIR/www6"
  echo v6-ok >"$BATS_TEST_TMPDIR/www6/token"
  port=$(free_port)
  python3 -m http.server --bind ::1 --directory "$BATS_TEST_TMPDIR/www6" "$port" >/dev/null 2>&1 3>&- &
  background_pids+=($!)
  python3 "$helpers/fetch.py" "http://[::1]:$port/token" 10 >/dev/null
  run --separate-stderr node --ipv6 --host-loopback -- python3 -c '
import socket, subprocess, sys, urllib.request
s = socket.create_connection(("fd00::2", int(sys.argv[1])), timeout=10)
print(subprocess.run(["ss", "-tnH", "state", "established"], capture_output=True, text=True).stdout)
print(urllib.request.urlopen(sys.argv[2], timeout=10).read().decode().strip())' "$port" "http://[fd00::2]:$port/token"
  [ "$status" -eq 0 ]
  [ "${lines[-1]}" = v6-ok ]
  [[ "$output" == *"[::1]:"*"[fd00::100]:"* ]]
}

@test "kernel path: UDP still goes through slirp (a name resolves through 10.0.2.3)" {
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
    "$3" run --state-dir "$1/state" --tcp-path=kernel -- getent ahostsv4 node-dns.usernode.test; rc=$?
    kill $dns; exit $rc' sh "$BATS_TEST_TMPDIR" "$helpers" "$USERNODE"
  [ "$status" -eq 0 ]
  [[ "$output" == *"192.0.2.77"*"node-dns.usernode.test"* ]]
}

@test "kernel path: the engine killed with SIGKILL mid-flow: that flow ends, a new one works within 2 s" {
  start_http_server
  one_shot_server 'c.sendall(b"first\n"); c.recv(1)'
  start_marker="$BATS_TEST_TMPDIR/flowing"
  "$USERNODE" run --state-dir "$state" --tcp-path=kernel --host-loopback -- python3 -c '
import os, socket, sys, time
s = socket.create_connection(("10.0.2.2", int(sys.argv[1])), timeout=10)
s.settimeout(20)
assert s.recv(6) == b"first\n"
open(sys.argv[2] + "/flowing", "w").close()
try:
    d = s.recv(1)
    print("old flow:", "eof" if not d else "data")
except ConnectionResetError:
    print("old flow: reset")
while not os.path.exists(sys.argv[2] + "/killed"):
    time.sleep(0.05)
import subprocess
print(subprocess.run(["python3", sys.argv[3], sys.argv[4], "2"], capture_output=True, text=True).stdout.strip())' \
    "$port" "$BATS_TEST_TMPDIR" "$helpers/fetch.py" "http://10.0.2.2:$http_port/token" \
    >"$BATS_TEST_TMPDIR/node.out" 2>"$BATS_TEST_TMPDIR/node.err" 3>&- &
  node_pid=$!
  background_pids+=($node_pid)
  wait_for "$start_marker" 20
  old=$(cat "$state/engine.pid")
  kill -KILL "$old"
  touch "$BATS_TEST_TMPDIR/killed"
  status=0
  wait "$node_pid" || status=$?
  cat "$BATS_TEST_TMPDIR/node.err" >&2
  cat "$BATS_TEST_TMPDIR/node.out" >&2
  [ "$status" -eq 0 ]
  [ "$(cat "$state/engine.pid")" != "$old" ]
  [[ "$(head -1 "$BATS_TEST_TMPDIR/node.out")" == "old flow: "* ]]
  [ "$(tail -1 "$BATS_TEST_TMPDIR/node.out")" = "$token" ]
}

@test "kernel path: without nf_tables the node says so in one line and its TCP goes through slirp" {
  one_shot_server 'c.sendall(b"through slirp"); c.recv(1)'
  # deny_netfilter fails the nfnetlink socket as a kernel without nf_tables does.
  run --separate-stderr "$USERNODE_HELPERS/deny_netfilter" "$USERNODE" run --state-dir "$state" --tcp-path=kernel \
    --host-loopback -- python3 -c '
import socket, sys
s = socket.create_connection(("10.0.2.2", int(sys.argv[1])), timeout=10)
print(s.recv(64).decode())
rows = [l.split() for l in open("/proc/net/tcp").readlines()[1:]]
print("redirected" if any(r[1].startswith("0100007F:") for r in rows) else "not redirected")' "$port"
  [ "$status" -eq 0 ]
  [ "${lines[0]}" = "through slirp" ]
  [ "${lines[1]}" = "not redirected" ]
  [ "$(grep -c "tcp_path = kernel" <<<"$stderr")" -eq 1 ]
  [[ "$stderr" == *"outbound TCP goes through slirp"* ]]
}

@test "--tcp-path with another value is refused naming the key and the values" {
  run -2 "$USERNODE" run --state-dir "$state" --tcp-path=fast -- true
  [[ "$output" == *"tcp_path"* ]]
  [[ "$output" == *"kernel or slirp"* ]]
}

# status_while_running RUN...: `usernode status` of a node (RUN... is the `usernode run` command
# line, up to its options) while its command waits: the JSON in $status_json, the table in
# $status_text. The node then ends and its exit status is checked.
status_while_running() {
  "$@" --state-dir "$state" -- sh -c \
    'i=0; while [ ! -e "$1/done" ] && [ $i -lt 600 ]; do sleep 0.05; i=$((i+1)); done' sh "$BATS_TEST_TMPDIR" \
    >"$BATS_TEST_TMPDIR/node.out" 2>"$BATS_TEST_TMPDIR/node.err" 3>&- &
  local node_pid=$! rc=0
  background_pids+=($node_pid)
  wait_for "$state/api.sock" 20
  status_json=$("$USERNODE" status --state-dir "$state" --json) || rc=$?
  status_text=$("$USERNODE" status --state-dir "$state") || rc=$?
  touch "$BATS_TEST_TMPDIR/done"
  wait "$node_pid" || rc=$?
  cat "$BATS_TEST_TMPDIR/node.err" >&2
  printf '%s\n%s\n' "$status_json" "$status_text" >&2
  return "$rc"
}

# network_field FIELD: node.network.FIELD of $status_json, which must be valid UTF-8 JSON
# (null prints as None).
network_field() {
  python3 -c 'import json, sys; print(json.loads(sys.stdin.buffer.read().decode("utf-8"))["node"]["network"][sys.argv[1]])' \
    "$1" <<<"$status_json"
}

@test "status: by default the node's TCP takes the kernel path, and status says so" {
  status_while_running "$USERNODE" run
  [ "$(network_field tcp_path)" = kernel ]
  [ "$(network_field tcp_path_detail)" = None ]
  [[ "$status_text" == *"network: slirp, MTU 65520, CIDR 10.0.2.0/24, TCP path kernel"* ]]
}

@test "status: with --tcp-path=slirp the TCP path is slirp, with no detail" {
  status_while_running "$USERNODE" run --tcp-path=slirp
  [ "$(network_field tcp_path)" = slirp ]
  [ "$(network_field tcp_path_detail)" = None ]
  [[ "$status_text" == *"TCP path slirp"* ]]
  [[ "$status_text" != *"nf_tables"* ]]
}

@test "status: without nf_tables the TCP path is slirp, and the detail says why" {
  status_while_running "$USERNODE_HELPERS/deny_netfilter" "$USERNODE" run --tcp-path=kernel
  [ "$(network_field tcp_path)" = slirp ]
  detail=$(network_field tcp_path_detail)
  [[ "$detail" == "tcp_path = kernel could not be set up in the node (nf_tables"*"): Protocol not supported (EPROTONOSUPPORT)" ]]
  [[ "$status_text" == *"TCP path slirp"* ]]
  [[ "$status_text" == *"$detail"* ]]
}

@test "status: a node with --net none has no TCP path (null)" {
  status_while_running "$USERNODE" run --net none
  [ "$(network_field mode)" = none ]
  [ "$(network_field tcp_path)" = None ]
  [ "$(network_field tcp_path_detail)" = None ]
  [[ "$status_text" == *"network: none, MTU -, CIDR -, TCP path -"* ]]
}

# rss_of_code PID LIBRARY: the resident KiB of each executable mapping of LIBRARY in PID, one line
# each (none when PID does not map it).
rss_of_code() {
  awk -v lib="$2" '/^[0-9a-f]+-[0-9a-f]+ / { code = $2 ~ /x/ && $6 ~ lib } code && $1 == "Rss:" { print $2 }' "/proc/$1/smaps"
}

# Issue 11: the node init is PID 1 for the node's whole life, and what it touched once stays in
# its RSS; the rules are installed by the short-lived child that sets up the node's namespaces
# (launcher/node/setup_child.h), so libnftnl's code is in PID 1's address space (the same program)
# but never resident there.
@test "kernel path: the rules are installed by a short-lived child: the node init never has libnftnl's code resident" {
  node -- sh -c 'i=0; while [ ! -e "$1/done" ] && [ $i -lt 600 ]; do sleep 0.05; i=$((i+1)); done' sh \
    "$BATS_TEST_TMPDIR" >"$BATS_TEST_TMPDIR/node.out" 2>&1 3>&- &
  local node_pid=$!
  background_pids+=($node_pid)
  # The control socket comes after READY, which comes after the node's setup.
  wait_for "$state/api.sock" 20
  status_json=$("$USERNODE" status --state-dir "$state" --json)
  init=$(cat "$state/child_pid")
  nftnl=$(rss_of_code "$init" libnftnl)
  libc=$(rss_of_code "$init" 'libc[.]so')
  touch "$BATS_TEST_TMPDIR/done"
  wait "$node_pid"
  cat "$BATS_TEST_TMPDIR/node.out" >&2
  echo "node init: libnftnl code ${nftnl:-unmapped} KiB, libc code $libc KiB" >&2
  [ "$(network_field tcp_path)" = kernel ]
  # The probe sees resident code at all (libc's), and libnftnl is mapped, with none resident.
  [ "$libc" -gt 0 ]
  [ "$nftnl" = 0 ]
}

# one_shot_server6 SCRIPT: one_shot_listen on ::1.
one_shot_server6() {
  python3 -c 'import socket; socket.socket(socket.AF_INET6).bind(("::1", 0))' 2>/dev/null ||
    skip "the host has no IPv6 loopback"
  one_shot_listen AF_INET6 ::1 "$1"
}

@test "kernel path, IPv6: a half-close passes through, the reply after it arrives" {
  one_shot_server6 '
n = 0
while True:
    d = c.recv(65536)
    if not d: break
    n += len(d)
c.sendall(b"got %d" % n); c.close()'
  run --separate-stderr node --ipv6 --host-loopback -- python3 -c '
import socket, subprocess, sys
s = socket.create_connection(("fd00::2", int(sys.argv[1])), timeout=10)
print(subprocess.run(["ss", "-tnH", "state", "established"], capture_output=True, text=True).stdout)
s.sendall(b"x" * 100000); s.shutdown(socket.SHUT_WR)
reply = b""
while True:
    d = s.recv(100)
    if not d: break
    reply += d
print(reply.decode())' "$port"
  [ "$status" -eq 0 ]
  [ "${lines[-1]}" = "got 100000" ]
  # It went the kernel's way: the node's own listener on ::1 held the other end.
  [[ "$output" == *"[::1]:"*"[fd00::100]:"* ]]
}

@test "kernel path, IPv6: a reset by the host's server reaches the node's client as a reset" {
  one_shot_server6 '
c.recv(1)
c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0)); c.close()'
  run --separate-stderr node --ipv6 --host-loopback -- python3 -c '
import socket, subprocess, sys
s = socket.create_connection(("fd00::2", int(sys.argv[1])), timeout=10)
print(subprocess.run(["ss", "-tnH", "state", "established"], capture_output=True, text=True).stdout)
s.sendall(b"x"); s.settimeout(10)
try:
    print("eof" if not s.recv(1) else "data")
except ConnectionResetError:
    print("reset")' "$port"
  [ "$status" -eq 0 ]
  [ "${lines[-1]}" = reset ]
  [[ "$output" == *"[::1]:"*"[fd00::100]:"* ]]
}
