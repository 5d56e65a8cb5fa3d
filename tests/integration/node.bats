#!/usr/bin/env bats
# `usernode run` without a command: a node with crio and kubelet (here the stand-ins of
# tests/helpers/standins) inside its namespaces, supervised by the node init; status, logs, stop,
# SIGHUP and the systemd notifications seen from outside.

bats_require_minimum_version 1.5.0 # `run !`

load node_helpers

setup() {
  node_test_setup
  # The node has its own network namespace: kubelet's healthz port is its own there.
  sed -i 's/^healthz_port = .*/healthz_port = 10248/' "$INI"
  NODE_OUT=$WORK/node.out
  NOTIFY=$WORK/notify.lines
}

teardown() {
  [ -z "${LISTENER_PID:-}" ] || kill "$LISTENER_PID" 2>/dev/null || true
  [ -z "${UDP_PID:-}" ] || kill "$UDP_PID" 2>/dev/null || true
  node_test_stop_node
  node_test_teardown
}

start_node() {
  python3 "$BATS_TEST_DIRNAME/notify_listener.py" "$WORK/notify.sock" "$NOTIFY" &
  LISTENER_PID=$!
  wait_for 10 "[ -S '$WORK/notify.sock' ]"
  NOTIFY_SOCKET=$WORK/notify.sock "$USERNODE" run --net "${NODE_NET:-none}" --node "$NODE" --config "$INI" "$@" > "$NODE_OUT" 2>&1 &
  NODE_PID=$!
}

wait_ready() {
  wait_for 60 "grep -q '^READY=1$' '$NOTIFY'" || { cat "$NODE_OUT"; return 1; }
}

needs_control_api() {
  "$USERNODE" "$1" --help > /dev/null 2>&1 || skip "usernode $1 needs the control API (launcher/api/control_api.c, issue 4)"
}

status_json() {
  "$USERNODE" status --node "$NODE" --json
}

service_field() { # service_field SERVICE FIELD: from `usernode status --json`
  status_json | python3 -c "import json,sys; s=[x for x in json.load(sys.stdin)['services'] if x['name']=='$1'][0]; print(s['$2'])"
}

@test "run without a command starts crio, then kubelet, and sends READY=1 once kubelet answers healthz" {
  start_node
  wait_ready
  [ "$(events kubelet fail)" -eq 0 ]
  [ "$(event_line crio ready)" -lt "$(event_line kubelet start)" ]
  [ "$(event_line kubelet ready)" -gt 0 ]
  # STATUS= lines told systemd how the start went, before READY=1.
  grep -q '^STATUS=Waiting for crio to accept connections' "$NOTIFY"
  grep -q '^STATUS=Waiting for kubelet to answer' "$NOTIFY"
  [ "$(grep -n '^STATUS=Waiting for kubelet' "$NOTIFY" | cut -d: -f1)" -lt "$(grep -n '^READY=1$' "$NOTIFY" | cut -d: -f1)" ]
  # "cannot set net.ipv4.ping_group_range in the node ...: Invalid argument" on every run
  run ! grep -q ping_group_range "$NODE_OUT"
  # the overlay probe leaves nothing behind in the data dir
  run ! compgen -G "$XDG_DATA_HOME/usernode/$NODE/.overlay-probe-*"
}

@test "under a systemd watchdog (WATCHDOG_USEC) usernode sends WATCHDOG=1" {
  export WATCHDOG_USEC=200000
  start_node
  wait_ready
  wait_for 20 "[ \$(grep -c '^WATCHDOG=1$' '$NOTIFY') -ge 2 ]"
}

@test "status shows the node and each service's state, pid, restarts and last exit" {
  needs_control_api status
  start_node
  wait_ready
  run "$USERNODE" status --node "$NODE"
  echo "$output"
  [ "$status" -eq 0 ]
  [[ "$output" == *"node $NODE: ready"* ]]
  [[ "$output" =~ crio\ +running ]]
  [[ "$output" =~ kubelet\ +running ]]
  [ "$(service_field crio state)" = running ]
  [ "$(service_field kubelet restarts)" = 0 ]
  [ "$(service_field kubelet last_exit_status)" = None ]
}

@test "status names each service by its host pid too, the same process as its pid inside the node" {
  needs_control_api status
  start_node
  wait_ready
  host_pid=$(service_field kubelet host_pid)
  node_pid=$(service_field kubelet pid)
  [ "$host_pid" != "$node_pid" ]
  # /proc/HOST_PID/status: NSpid lists its pid in the host's namespace, then in the node's.
  run awk '/^NSpid:/ { print $2, $NF }' "/proc/$host_pid/status"
  [ "$output" = "$host_pid $node_pid" ]
  grep -q kubelet "/proc/$host_pid/cmdline"
  # The table shows the number the host's kill and top take.
  "$USERNODE" status --node "$NODE" | grep -Eq "^kubelet +running +$host_pid "
}

@test "a crash loop shows in status with its restarts and last exit status" {
  needs_control_api status
  export STANDIN_KUBELET_CRASH=0
  start_node
  wait_for 60 "[ \"\$(service_field kubelet state 2>/dev/null)\" = crash-loop ]"
  [ "$(service_field kubelet restarts)" -ge 2 ]
  [ "$(service_field kubelet last_exit_status)" = "{'code': 1}" ]
  [ "$(service_field crio state)" = running ]
}

# "ready": true used to stay while a service was down; cgroup was a sentence; no version.
@test "status --json: version 1, ready false while a service is not running, cgroup as data" {
  ini_add crio 'restart = never'
  export STANDIN_CRIO_CRASH=2
  start_node
  wait_ready
  wait_for 30 "[ \"\$(service_field crio state 2>/dev/null)\" != running ]"
  status_json | python3 -c '
import json, sys
s = json.load(sys.stdin)
assert s["version"] == 1, s
assert s["ready"] is False, s
states = {"waiting", "starting", "running", "backoff", "crash-loop", "stopping", "stopped", "exited"}
assert all(x["state"] in states for x in s["services"]), s["services"]
c = s["node"]["cgroup"]
assert c["delegation"] in ("none", "existing", "systemd") and isinstance(c["controllers"], list), c
assert isinstance(c["description"], str)
'
}

@test "usernode stop stops kubelet before crio, SIGKILLs one ignoring SIGTERM, and leaves nothing running" {
  needs_control_api stop
  ini_add kubelet 'stop_timeout = 500ms'
  export STANDIN_KUBELET_IGNORE_TERM=1 STANDIN_CRIO_GRANDCHILD=1 STANDIN_KUBELET_GRANDCHILD=1
  start_node
  wait_ready
  # The grandchildren run in sessions of their own, outside every service's process group.
  [ "$(grandchildren | wc -l)" -eq 2 ]
  run "$USERNODE" stop --node "$NODE"
  [ "$status" -eq 0 ]
  wait_for 30 "! kill -0 $NODE_PID 2>/dev/null"
  wait "$NODE_PID" || true
  [ "$(event_line kubelet sigterm-ignored)" -lt "$(event_line crio sigterm)" ]
  # Nothing of the node is left among this user's processes.
  run node_processes
  [ -z "$output" ]
}

@test "SIGTERM to usernode stops kubelet, then crio, SIGKILLs what ignores SIGTERM, and leaves nothing" {
  ini_add kubelet 'stop_timeout = 500ms'
  export STANDIN_CRIO_IGNORE_TERM=1 STANDIN_CRIO_GRANDCHILD=1 STANDIN_KUBELET_GRANDCHILD=1
  start_node
  wait_ready
  [ "$(grandchildren | wc -l)" -eq 2 ]
  kill -TERM "$NODE_PID"
  wait_for 60 "! kill -0 $NODE_PID 2>/dev/null"
  [ "$(event_line kubelet sigterm)" -lt "$(event_line crio sigterm-ignored)" ]
  run node_processes
  [ -z "$output" ]
}

@test "SIGHUP to usernode re-renders and restarts only the changed service" {
  start_node
  wait_ready
  ini_add kubelet 'ready_timeout = 90s'
  kill -HUP "$NODE_PID"
  wait_for 30 "[ \$(events kubelet ready) -ge 2 ]"
  [ "$(events kubelet start)" -eq 2 ]
  [ "$(events crio start)" -eq 1 ]
  # The same crio process still runs.
  [ "$(events crio exit)" -eq 0 ] && [ "$(events crio sigterm)" -eq 0 ]
}

# It used to render cgroupRoot /kubepods where run rendered cgroupsPerQOS false (or the reverse).
@test "config --render prints the files run wrote, cgroup settings included" {
  start_node
  wait_ready
  state=${XDG_RUNTIME_DIR:+$XDG_RUNTIME_DIR/usernode}
  state=${state:-/tmp/usernode-$(id -u)}/$NODE
  "$USERNODE" config --render --node "$NODE" --config "$INI" > "$WORK/render.out"
  python3 - "$WORK/render.out" <<'PY'
import re, sys
text = open(sys.argv[1]).read()
parts = re.split(r"^# ==> (.*) <==\n", text, flags=re.M)[1:]
compared = 0
for path, want in zip(parts[0::2], parts[1::2]):
    got = open(path).read()
    # the files are separated by one blank line in the output
    if want != got and want != got + "\n":
        sys.exit("%s differs from what --render prints:\n%s\n----\n%s" % (path, got, want))
    compared += 1
assert compared >= 3, compared
PY
}

@test "kubelet's localStorageCapacityIsolation: on where kubelet can measure the data directory, off with a warning where not, as configured otherwise" {
  render_kubelet() { "$USERNODE" config --render --node "$NODE" --config "$INI" 2>"$WORK/render.err" | grep '^localStorageCapacityIsolation:'; }
  # The test's data directory is on the host's /tmp; its nearest existing directory counts.
  fs=$(stat -f -c %T "$WORK")
  case $fs in ext2/ext3|xfs|btrfs|tmpfs|overlayfs|nfs) ;; *) skip "the test directory is on $fs" ;; esac
  [ "$(render_kubelet)" = "localStorageCapacityIsolation: true" ]
  run ! grep -q local_storage_isolation "$WORK/render.err"
  # procfs: cAdvisor measures no such file system, kubelet would not start with it on.
  [ "$(XDG_DATA_HOME=/proc/self render_kubelet)" = "localStorageCapacityIsolation: false" ]
  grep -q "kubelet: /proc/self/usernode/$NODE is on a file system kubelet cannot measure (statfs type 0x9fa0).*local_storage_isolation = true" "$WORK/render.err"
  ini_add kubelet 'local_storage_isolation = false'
  [ "$(render_kubelet)" = "localStorageCapacityIsolation: false" ]
  ini_add kubelet 'local_storage_isolation = true'
  [ "$(XDG_DATA_HOME=/proc/self render_kubelet)" = "localStorageCapacityIsolation: true" ]
  ini_add kubelet 'local_storage_isolation = maybe'
  run "$USERNODE" config --render --node "$NODE" --config "$INI"
  [ "$status" -eq 2 ]
  [[ "$output" == *"local_storage_isolation"*"maybe"*"auto"* ]]
}

@test "usernode logs prints a service's output" {
  start_node
  wait_ready
  run "$USERNODE" logs --node "$NODE" kubelet
  [ "$status" -eq 0 ]
  [[ "$output" == *"kubelet stand-in started"* ]]
}

@test "every service log line starts with its UTC time; logs -n N and --since select lines" {
  start_node
  wait_ready
  for service in kubelet usernode; do
    run "$USERNODE" logs --node "$NODE" "$service"
    [ "$status" -eq 0 ]
    [ "${#lines[@]}" -ge 1 ]
    for line in "${lines[@]}"; do
      [[ "$line" =~ ^20[0-9]{2}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{6}Z\  ]]
    done
  done
  all=${#lines[@]}
  [ "$all" -ge 2 ]
  run "$USERNODE" logs --node "$NODE" -n 1 usernode
  [ "${#lines[@]}" -eq 1 ]
  run "$USERNODE" logs usernode --node "$NODE" --since 1h
  [ "${#lines[@]}" -eq "$all" ]
  run "$USERNODE" logs --node "$NODE" --since 2099-01-01T00:00:00 kubelet
  [ "$status" -eq 0 ]
  [ -z "$output" ]
  run "$USERNODE" logs --node "$NODE" --since yesterday kubelet
  [ "$status" -eq 2 ]
}

# Restarts and reload failures reached only the launcher's stderr.
@test "usernode logs usernode prints the node's own events: readiness, restarts, reloads" {
  export STANDIN_KUBELET_CRASH=0.5 STANDIN_KUBELET_CRASH_ONCE_FILE=$WORK/crashed
  start_node
  wait_ready
  wait_for 30 "[ \$(events kubelet start) -ge 2 ]"
  echo '[bogus]' >> "$INI"
  kill -HUP "$NODE_PID"
  wait_for 20 "'$USERNODE' logs --node '$NODE' usernode | grep -q 'reload failed'"
  run "$USERNODE" logs --node "$NODE" usernode
  [[ "$output" == *"Z crio is ready"* ]]
  [[ "$output" == *"kubelet"*"exited with status 1"* ]]
  [[ "$output" == *"error: reload failed, the services keep running as they were"* ]]
}

@test "inside the node: ip_forward on, /var/lib/kubelet from the data dir, no host /run/crio" {
  start_node
  wait_ready
  run "$USERNODE" exec --node "$NODE" -- cat /proc/sys/net/ipv4/ip_forward
  [ "$output" = 1 ]
  run "$USERNODE" exec --node "$NODE" -- stat -c %i /var/lib/kubelet
  [ "$output" = "$(stat -c %i "$XDG_DATA_HOME/usernode/$NODE/kubelet")" ]
  run "$USERNODE" exec --node "$NODE" -- sh -c 'test -L /run/crio || test -L /etc/cni; echo $?'
  [ "$output" = 1 ]
}

# udp_reply PORT [pod]: port_peer's one-datagram echo check from the node (or with "pod" from a
# stand-in pod of the node) to the host's 127.0.0.1:PORT through the gateway 10.0.2.2
# (host_loopback) and slirp; it says how many it resent. The pod is what CNI's bridge plugin
# makes: a network namespace with 10.88.0.5 behind a veth whose node end, 10.88.0.1, is its
# default route; the node forwards its packets out of tap0.
udp_reply() {
  "$USERNODE" exec --node "$NODE" -- sh -c '
    set -e
    if [ "$2" != pod ]; then exec "$3" udp 10.0.2.2 "$1" 1; fi
    unshare -n sleep 60 &
    pod=$!
    trap "kill $pod" EXIT
    for i in $(seq 200); do
      [ "$(readlink /proc/$pod/ns/net)" != "$(readlink /proc/self/ns/net)" ] && break
      sleep 0.02
    done
    ip link add upod0 type veth peer name eth0 netns $pod
    ip addr add 10.88.0.1/16 dev upod0
    ip link set upod0 up
    nsenter -t $pod -n sh -c "ip link set lo up && ip addr add 10.88.0.5/16 dev eth0 && ip link set eth0 up && ip route add default via 10.88.0.1"
    nsenter -t $pod -n "$3" udp 10.0.2.2 "$1" 1
  ' sh "$1" "${2:-node}" "$HELPERS/port_peer"
}

# udp_server PORT: port_peer's UDP echo server on the host's 127.0.0.1:PORT, bound before it
# returns; sets UDP_PID.
udp_server() {
  "$HELPERS/port_peer" server udp 127.0.0.1 "$1" 3>&- &
  UDP_PID=$!
  wait_for 10 "ss -Hlun 'sport = :$1' | grep -q ."
}

@test "the node masquerades its pods: a pod's UDP to the host through slirp is answered" {
  ini_add network 'host_loopback = true'
  port=$((20000 + RANDOM % 20000))
  udp_server "$port"
  NODE_NET=slirp start_node
  wait_ready
  run udp_reply "$port" pod
  echo "$output"
  [ "$status" -eq 0 ]
  [ "${lines[-1]}" = "1 of 1 datagrams echoed (0 resent)" ]
}

@test "with [cni] ip_masq = false a pod's packets leave with its own address, which slirp does not answer" {
  ini_add network 'host_loopback = true'
  ini_add cni 'ip_masq = false'
  port=$((20000 + RANDOM % 20000))
  udp_server "$port"
  NODE_NET=slirp start_node
  wait_ready
  # The node's own packets (its address) are answered: only the pod's source differs.
  run udp_reply "$port"
  echo "node: $output"
  [ "$status" -eq 0 ]
  [ "${lines[-1]}" = "1 of 1 datagrams echoed (0 resent)" ]
  run udp_reply "$port" pod
  echo "pod: $output"
  [ "$status" -ne 0 ]
  [[ "$output" == *"datagram 0 not echoed after 5 tries"* ]]
}

@test "a kernel that cannot masquerade the pods stops the run (exit 3) naming the modules and [cni] ip_masq, starting nothing" {
  # deny_netfilter answers nf_tables' netlink socket as a kernel without it does.
  run "$HELPERS/deny_netfilter" "$USERNODE" run --net slirp --tcp-path=slirp --node "$NODE" --config "$INI"
  echo "$output"
  [ "$status" -eq 3 ]
  [[ "$output" == *"cannot masquerade the pods' traffic in the node"*"modprobe -a nft_chain_nat nft_masq"*"[cni] ip_masq = false"* ]]
  [ "$(events crio start)" -eq 0 ]
  [ ! -e "$XDG_RUNTIME_DIR/usernode/$NODE" ]
}

# The services' bind mounts are made by a short-lived child of the node init
# (launcher/node/setup_child.h): its failure is still the run's, with its line and status.
@test "a failed bind of the data dir in the node stops the run with its cause and exit 1, starting nothing, leaving nothing" {
  mkdir -p "$XDG_DATA_HOME/usernode/$NODE"
  echo "not a directory" >"$XDG_DATA_HOME/usernode/$NODE/kubelet"
  run "$USERNODE" run --net none --node "$NODE" --config "$INI"
  echo "$output"
  [ "$status" -eq 1 ]
  [ "$(grep -c "node: error: cannot bind $XDG_DATA_HOME/usernode/$NODE/kubelet on /var/lib/kubelet: Not a directory" <<<"$output")" -eq 1 ]
  [[ "$output" == *"exited with status 1; the node is gone"* ]]
  [ "$(events crio start)" -eq 0 ]
  [ "$(events kubelet start)" -eq 0 ]
  [ ! -e "$XDG_RUNTIME_DIR/usernode/$NODE" ]
  [ -z "$(node_processes)" ]
}

@test "run without crio installed stops before starting anything, naming it and where it looked (exit 3)" {
  ini_add crio 'path = crio-not-installed'
  run "$USERNODE" run --node "$NODE" --config "$INI"
  [ "$status" -eq 3 ]
  [[ "$output" == *'crio-not-installed not found on PATH (CRI-O: install CRI-O 1.28 or newer, or set [crio] path = /path/to/crio in '"$INI"* ]]
  [[ "$output" == *"(looked in PATH=$PATH)"* ]]
  [ "$(events kubelet start)" -eq 0 ]
  [ "$(events crio start)" -eq 0 ]
}

# They used to be reported one per run, conmon's with advice to set a key it does not have.
@test "run names every missing program in one message, each with a fix that can be followed (exit 3)" {
  ini_add crio 'path = crio-not-installed' 'runtime = runc-not-installed'
  ini_add kubelet 'path = /nonexistent/kubelet'
  run "$USERNODE" run --node "$NODE" --config "$INI"
  [ "$status" -eq 3 ]
  [ "$(grep -c 'error:' <<< "$output")" -eq 1 ]
  [[ "$output" == *"3 programs are missing"* ]]
  [[ "$output" == *"crio-not-installed not found"* ]]
  [[ "$output" == *"/nonexistent/kubelet not found (kubelet: install kubelet 1.28 or newer, or set [kubelet] path"* ]]
  [[ "$output" == *"runc-not-installed not found on PATH (OCI runtime: sudo apt install crun, or set [crio] runtime"* ]]
  [ "$(events crio start)" -eq 0 ]
}

@test "usernode check passes the programs run would use, and fails (exit 3) naming each missing one" {
  run "$USERNODE" check --node "$NODE" --config "$INI" --json
  echo "$output"
  python3 -c '
import json, sys
r = json.loads(sys.argv[1])
assert r["version"] == 1
states = {c["id"]: c["state"] for c in r["checks"]}
for tool in ("crio", "kubelet", "conmon", "oci_runtime", "pinns"):
    assert states[tool] == "pass", (tool, states[tool])
assert set(states.values()) <= {"pass", "warn", "fail"}
for c in r["checks"]:
    assert c["state"] == "pass" or c["fix"], c
assert r["can_run"] == all(s != "fail" for s in states.values())
' "$output"
  ini_add crio 'path = crio-not-installed'
  run "$USERNODE" check --node "$NODE" --config "$INI"
  [ "$status" -eq 3 ]
  [[ "$output" == *"FAIL  CRI-O"*"crio-not-installed not found"* ]]
  [[ "$output" == *"fix: install CRI-O 1.28 or newer"* ]]
  [[ "$output" == *"pass  conmon"* ]]
}

@test "a kubelet older than 1.28 stops the run before anything starts, saying which version is needed (exit 3)" {
  export STANDIN_KUBELET_VERSION=1.27.4
  run "$USERNODE" run --net none --node "$NODE" --config "$INI"
  [ "$status" -eq 3 ]
  [[ "$output" == *"/kubelet is 1.27, older than 1.28 (kubelet: install kubelet 1.28 or newer"* ]]
  [ "$(events crio start)" -eq 0 ]
}

@test "run asks crio and kubelet their versions once, both at once, and not again while the binaries stay the same" {
  start_node
  wait_ready
  [ "$(events crio version)" -eq 1 ]
  [ "$(events kubelet version)" -eq 1 ]
  kill -TERM "$NODE_PID"
  wait_for 30 "! kill -0 $NODE_PID 2>/dev/null"
  grep -q '/crio$' "$XDG_DATA_HOME/usernode/$NODE/tool-versions"
  kill "$LISTENER_PID"
  wait "$LISTENER_PID" 2>/dev/null || true
  rm -f "$WORK/notify.sock" "$NOTIFY"
  start_node
  wait_ready
  [ "$(events crio version)" -eq 1 ]
  [ "$(events kubelet version)" -eq 1 ]
  [ "$(events crio start)" -eq 2 ]
}

@test "a bad value in [supervisor] stops the run with FILE:LINE, key, value and what is allowed (exit 2)" {
  sed -i 's/^restart_delay_min = .*/restart_delay_min = soon/' "$INI"
  run "$USERNODE" run --node "$NODE" --config "$INI"
  [ "$status" -eq 2 ]
  line=$(grep -n '^restart_delay_min = soon' "$INI" | cut -d: -f1)
  [[ "$output" == *"$INI:$line: [supervisor] restart_delay_min = \"soon\": use a duration like 500ms"* ]]
  [ "$(events crio start)" -eq 0 ]
}

@test "a [service:NAME] with an unknown key stops the run naming file, line and key (exit 2)" {
  ini_add 'service:proxy' 'command = sleep 1000' 'colour = blue'
  run "$USERNODE" run --node "$NODE" --config "$INI"
  [ "$status" -eq 2 ]
  [[ "$output" == *"$INI:"*'unknown key "colour" in [service:proxy]'* ]]
}

@test "a [service:NAME] runs after kubelet with its environment, and is stopped before kubelet" {
  cat >> "$INI" <<EOF
[service:proxy]
command = sh -c 'echo proxy-started \$GREETING && exec sleep 1000.$STANDIN_TAG'
environment = GREETING=hello
EOF
  start_node
  wait_ready
  wait_for 20 "grep -q 'proxy-started hello' '$XDG_DATA_HOME/usernode/$NODE/logs/proxy.log'"
  [ "$(grep -n 'Starting proxy' "$NODE_OUT" | cut -d: -f1)" -gt "$(grep -n 'kubelet is ready' "$NODE_OUT" | cut -d: -f1)" ]
  kill -TERM "$NODE_PID"
  wait_for 60 "! kill -0 $NODE_PID 2>/dev/null"
  [ "$(grep -n 'Stopping proxy' "$NODE_OUT" | cut -d: -f1)" -lt "$(grep -n 'Stopping kubelet' "$NODE_OUT" | cut -d: -f1)" ]
  run node_processes
  [ -z "$output" ]
}
