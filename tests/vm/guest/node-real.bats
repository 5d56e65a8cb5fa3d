#!/usr/bin/env bats
# A real node: `usernode run` with no command, [crio] and [kubelet] pointing at the real CRI-O and
# kubelet of /opt/k8s (USERNODE_K8S_BIN), as the ordinary user in a login session, so usernode
# takes its transient scope from the user's systemd. One node for the whole file (starting one
# costs a minute under TCG); the tests run in order and each says what it found. Skipped in one
# line naming what is missing when the image carries no binaries.
#
# The images come from no registry: busybox is made here from Debian's busybox-static into an OCI
# layout (make_oci_image.py), the pause image is the OCI layout of ../shared/k8s; both go into the
# node's storage with skopeo run inside the node.

bats_require_minimum_version 1.5.0 # `run !`

load lib

NODE=rn
POD_PORT=8080 # the pod's hostPort, inside the node
PUBLISHED=18080 # where usernode publishes it on the VM host
LOOPBACK_PORT=18181 # a server only on the VM's 127.0.0.1

missing_parts() {
  local missing=() b
  [ -n "${USERNODE_K8S_BIN:-}" ] || { echo "USERNODE_K8S_BIN (no /opt/k8s in the image: ../shared/k8s was not beside the repo when it was built)"; return; }
  for b in crio crun pinns crictl kubelet; do [ -x "$USERNODE_K8S_BIN/$b" ] || missing+=("$b"); done
  for b in conmon skopeo busybox python3; do command -v "$b" >/dev/null || missing+=("$b"); done
  for b in bridge host-local loopback; do [ -x "/usr/lib/cni/$b" ] || missing+=("cni-plugin-$b"); done
  [ -d "$USERNODE_K8S_BIN/../images/pause-3.10-local-oci" ] || missing+=("images/pause-3.10-local-oci")
  echo "${missing[*]}"
}

# Every test runs with these; set in setup_file so the files survive from test to test.
export WORK=/tmp/usernode-real-node # owned by vmuser; the VM is thrown away, so never removed
export XDG_DATA_HOME=$WORK/data XDG_CONFIG_HOME=$WORK/config
STATE=$XDG_RUNTIME_DIR/usernode/$NODE

in_node() { "$USERNODE" exec --node "$NODE" -- "$@"; }
node_ready() { "$USERNODE" status --node "$NODE" --json 2>/dev/null | grep -q '"ready": *true'; }
# Ready, or the launcher gone (no use waiting any longer).
node_up() { node_ready || ! kill -0 "$(cat "$WORK/node.pid")" 2>/dev/null; }
# The running container of the static pod (its name is web-<hostname>, the container's "web").
web_container() { in_node crictl ps --name '^web$' --state running -q 2>/dev/null | head -n1; }
web_running() { [ -n "$(web_container)" ]; }
# The container's main process, by its pid inside the node, and as the VM host sees it.
container_pid() { in_node crictl inspect --output go-template --template '{{.info.pid}}' "$1"; }
host_httpd() { ps -eo pid=,uid=,args= | awk '$3 == "httpd" && $6 == "'$POD_PORT'" { print $1, $2; exit }'; }
# Nothing of the node: lib.bash's user_node_gone for this node.
node_gone() { user_node_gone "$NODE"; }
# holds_for SECONDS CMD...: CMD succeeds at every check (each second) for SECONDS.
holds_for() {
  local until=$((SECONDS + $1))
  shift
  while [ $SECONDS -lt $until ]; do
    "$@" || { echo "no longer true: $*" >&2; return 1; }
    sleep 1
  done
}
pid_of() { pgrep -u "$(id -u)" -x "$1" | head -n1; }
other_pid() { local p; p=$(pid_of "$1"); [ -n "$p" ] && [ "$p" != "$2" ]; }

# start_node: `usernode run` in the background; waits (bounded) until every service is ready.
start_node() {
  local t0=$SECONDS
  # To the node's address, where CRI-O's hostPort DNAT (nat OUTPUT, addrtype LOCAL) applies and
  # the pod's answer comes back to; 127.0.0.1, the default, would be DNATed with a loopback
  # source, which leaves no interface without route_localnet and a masquerade CRI-O does not add.
  "$USERNODE" run --node "$NODE" -p "127.0.0.1:$PUBLISHED:$POD_PORT:10.0.2.100" >>"$WORK/node.log" 2>&1 3>&- &
  echo $! >"$WORK/node.pid"
  wait_for 600 node_up || { tail -n 30 "$WORK/node.log"; return 1; }
  node_ready || { echo "usernode run exited:"; tail -n 30 "$WORK/node.log"; return 1; }
  echo "# node ready (crio socket + kubelet healthz) $((SECONDS - t0)) s after usernode run" >&3
}

setup_file() {
  local missing
  missing=$(missing_parts)
  if [ -n "$missing" ]; then
    export SKIP_REASON="real node: missing in the VM image: $missing"
    return 0
  fi
  export PATH=$USERNODE_K8S_BIN:$PATH
  mkdir -p "$WORK/config/usernode" "$WORK/pods" "$WORK/www"
  cat >"$WORK/config/usernode/$NODE.ini" <<EOF
[network]
host_loopback = true
[crio]
path = $USERNODE_K8S_BIN/crio
runtime = $USERNODE_K8S_BIN/crun
pause_image = localhost/pause:3.10-local
# TCG on a busy host: crio took over 60 s (the default) to listen, and was killed for it
ready_timeout = 300s
[kubelet]
path = $USERNODE_K8S_BIN/kubelet
static_pod_path = $WORK/pods
ready_timeout = 300s
EOF
  if [ -n "${USERNODE_VM_KUBELET_V:-}" ]; then
    mkdir -p "$WORK/config/usernode/$NODE.kubelet.d"
    printf 'apiVersion: kubelet.config.k8s.io/v1beta1\nkind: KubeletConfiguration\nlogging:\n  verbosity: %s\n' \
      "$USERNODE_VM_KUBELET_V" >"$WORK/config/usernode/$NODE.kubelet.d/50-verbosity.conf"
  fi
  start_node
}

teardown_file() {
  [ -z "${SKIP_REASON:-}" ] || return 0
  # The services' logs for whoever reads the results (tests/vm/run.sh USERNODE_VM_KEEP=DIR).
  if [ -n "${USERNODE_VM_OUT:-}" ]; then
    mkdir -p "$USERNODE_VM_OUT/node-real"
    cp "$WORK/node.log" "$XDG_DATA_HOME/usernode/$NODE/logs/"*.log "$USERNODE_VM_OUT/node-real/" 2>/dev/null || true
  fi
  "$USERNODE" stop --node "$NODE" >/dev/null 2>&1 || true
  pkill -u "$(id -u)" -f "busybox httpd -f -p 127.0.0.1:$LOOPBACK_PORT" || true
}

setup() {
  [ -z "${SKIP_REASON:-}" ] || skip "$SKIP_REASON"
}

@test "real node: crio answers, kubelet is healthy, crictl works inside without flags" {
  run in_node crictl version
  echo "$output"
  [ "$status" -eq 0 ]
  [[ "$output" == *"RuntimeName:"*"cri-o"* ]]
  # The well-known socket path inside the node (cAdvisor and crictl's defaults look there).
  in_node test -S /var/run/crio/crio.sock
  run in_node busybox wget -qO- http://127.0.0.1:10248/healthz
  [ "$status" -eq 0 ]
  [ "$output" = ok ]
  # kubelet's node name (the UTS name the node shares with the VM) resolves from the node's
  # hosts file to the node's address, not through DNS (a lookup per node status it builds).
  run in_node getent hosts "$(hostname)"
  echo "$output"
  [[ "$output" == "10.0.2.100 "* ]]
  # crio reads only its rendered crio.conf: no drop-in directory of the host.
  run ! grep -q "Updating config from path: /etc/crio" "$XDG_DATA_HOME/usernode/$NODE/logs/crio.log"
}

@test "real node: images load with skopeo inside the node (busybox made here, pause from ../shared/k8s)" {
  python3 "$BATS_TEST_DIRNAME/make_oci_image.py" "$WORK/busybox-oci" vm
  storage="overlay@$XDG_DATA_HOME/usernode/$NODE/containers/storage+$STATE/containers/storage"
  in_node skopeo copy --quiet "oci:$WORK/busybox-oci:vm" "containers-storage:[$storage]localhost/busybox:vm"
  in_node skopeo copy --quiet "oci:$USERNODE_K8S_BIN/../images/pause-3.10-local-oci:3.10-local" \
    "containers-storage:[$storage]localhost/pause:3.10-local"
  run in_node crictl images
  echo "$output"
  [[ "$output" == *"localhost/busybox"*"vm"* ]]
  [[ "$output" == *"localhost/pause"*"3.10-local"* ]]
}

@test "real node: a static busybox pod runs, as a subordinate uid on the VM host; exec into it" {
  echo "hello from the VM's loopback" >"$WORK/www/index.html"
  # Written beside the manifest dir and moved in: kubelet must never read it half written.
  cat >"$WORK/web.yaml" <<EOF
apiVersion: v1
kind: Pod
metadata:
  name: web
spec:
  terminationGracePeriodSeconds: 2
  containers:
  - name: web
    image: localhost/busybox:vm
    imagePullPolicy: Never
    # uid 1000 in the node: a subordinate uid on the VM host (the node's root is vmuser itself)
    securityContext:
      runAsUser: 1000
    command: ["sh", "-c", "mkdir -p /tmp/www && echo hello from the pod >/tmp/www/index.html && exec httpd -f -p $POD_PORT -h /tmp/www"]
    ports:
    - containerPort: $POD_PORT
      hostPort: $POD_PORT
EOF
  mv "$WORK/web.yaml" "$WORK/pods/web.yaml"
  local t0=$SECONDS
  wait_for 300 web_running || { in_node crictl pods; in_node crictl ps -a; tail -n 40 "$XDG_DATA_HOME/usernode/$NODE/logs/kubelet.log"; false; }
  echo "# pod's container running $((SECONDS - t0)) s after its manifest was written" >&3
  read -r host_pid host_uid < <(host_httpd)
  echo "httpd: host pid $host_pid uid $host_uid"
  [ -n "$host_uid" ]
  is_subordinate "$host_uid"
  run in_node crictl exec "$(web_container)" id -u
  echo "$output"
  [ "$status" -eq 0 ]
  [ "$output" = 1000 ]
}

@test "real node: pod network: an address on the bridge, the VM's loopback reached by TCP on the kernel path and by UDP, masqueraded" {
  # The node's outbound TCP takes the kernel path (nf_tables rules in the node's namespace, the
  # VM's modules), not slirp's fallback: status says which one the running node uses.
  run "$USERNODE" status --node "$NODE" --json
  [ "$status" -eq 0 ]
  run python3 -c 'import json, sys; n = json.load(sys.stdin)["node"]["network"]; print(n["tcp_path"], n["tcp_path_detail"])' <<<"$output"
  echo "tcp path: $output"
  [ "$output" = "kernel None" ]

  cid=$(web_container)
  pod=$(in_node crictl ps --name '^web$' -q -o json 2>/dev/null | python3 -c 'import json,sys; print(json.load(sys.stdin)["containers"][0]["podSandboxId"])')
  pod_ip=$(in_node crictl inspectp --output go-template --template '{{.status.network.ip}}' "$pod")
  echo "pod ip $pod_ip"
  [[ "$pod_ip" == 10.88.* ]]
  run in_node ip -4 -o addr show cni0
  echo "$output"
  [[ "$output" == *"inet 10.88.0.1/16"* ]]

  # A server only on the VM host's loopback; host_loopback lets the gateway 10.0.2.2 reach it.
  busybox httpd -f -p "127.0.0.1:$LOOPBACK_PORT" -h "$WORK/www" 3>&- &
  wait_for 10 busybox wget -qO /dev/null "http://127.0.0.1:$LOOPBACK_PORT/"
  # nc, not wget: busybox-static's wget crashes in a container without /etc (glibc's NSS).
  run in_node crictl exec "$cid" sh -c "printf 'GET / HTTP/1.0\r\n\r\n' | nc 10.0.2.2 $LOOPBACK_PORT"
  echo "$output"
  [ "$status" -eq 0 ]
  [[ "$output" == *"hello from the VM's loopback"* ]]

  # UDP takes slirp (no kernel path for it): its answers reach the pod only because the node
  # masquerades the pods' traffic leaving tap0 (netns/pod_masquerade.h); slirp answers no
  # address outside its own network. A one-block TFTP answer, busybox's tftp the client.
  python3 -c '
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.1", int(sys.argv[1])))
s.settimeout(60)
while True:
    data, peer = s.recvfrom(2048)
    if data[:2] == b"\x00\x01":  # a read request: block 1, short, so the last
        s.sendto(b"\x00\x03\x00\x01udp hello from the VM", peer)' "$LOOPBACK_PORT" 3>&- &
  udp_pid=$!
  run in_node crictl exec "$cid" tftp -g -r x -l - 10.0.2.2 "$LOOPBACK_PORT"
  kill "$udp_pid"
  echo "$output"
  [ "$status" -eq 0 ]
  [[ "$output" == *"udp hello from the VM"* ]]
}

# What the node's netfilter and routes look like, and which hop answers, for a hostPort that
# does not (into USERNODE_VM_OUT, and on stdout for the TAP diagnostics).
hostport_diag() {
  local out=${USERNODE_VM_OUT:-$WORK}/node-real/hostport-diag.txt pod_ip
  mkdir -p "${out%/*}"
  pod_ip=$(in_node crictl inspectp --output go-template --template '{{.status.network.ip}}' \
    "$(in_node crictl pods --name '^web' -q 2>/dev/null | head -n1)" 2>/dev/null)
  {
    echo "== pod ip: $pod_ip"
    echo "== usernode ports ls"; "$USERNODE" ports --node "$NODE" ls 2>&1
    echo "== modules"; grep -E '^(xt_|nf_|nft_|br_netfilter|iptable|ip_tables)' /proc/modules | cut -d' ' -f1 | tr '\n' ' '; echo
    for c in "ip -4 addr" "ip -4 route" "ip -4 rule" "sysctl net.ipv4.ip_forward net.ipv4.conf.all.route_localnet net.ipv4.conf.all.rp_filter" \
      "iptables-save" "iptables-legacy-save" \
      "timeout 5 busybox wget -qO- http://$pod_ip:$POD_PORT/" "timeout 5 busybox wget -qO- http://10.0.2.100:$POD_PORT/" \
      "timeout 5 busybox wget -qO- http://127.0.0.1:$POD_PORT/"; do
      echo "== node: $c"; in_node env PATH="/usr/sbin:/sbin:$PATH" sh -c "$c" 2>&1 | head -n 200
    done
    echo "== crio.log: hostport, iptables, nftables"
    grep -iE 'hostport|iptables|nftables|conntrack' "$XDG_DATA_HOME/usernode/$NODE/logs/crio.log" | cut -c1-400 | head -n 40
  } >"$out" 2>&1
  cat "$out"
}

@test "real node: a pod's hostPort answers on the VM host through the port usernode publishes" {
  # The pod's hostPort, published by usernode on the VM host (-p PUBLISHED:POD_PORT:NODE_IP).
  # timeout(1), not wget's -T: Debian 12's busybox 1.35 wget crashes (SIGSEGV) with -T; that
  # crash, not the path, is what this test met before.
  run wait_for 60 timeout 10 busybox wget -qO- "http://127.0.0.1:$PUBLISHED/"
  run timeout 10 busybox wget -qO- "http://127.0.0.1:$PUBLISHED/"
  echo "$output"
  [ "$status" -eq 0 ] && [ "$output" = "hello from the pod" ] || { hostport_diag; false; }
}

@test "real node: kubelet measures the node's storage: its eviction manager runs every pass" {
  grep -qx 'localStorageCapacityIsolation: true' "$STATE/config/kubelet.yaml"
  local log=$XDG_DATA_HOME/usernode/$NODE/logs/kubelet.log kubelet
  kubelet=$(pid_of kubelet)
  # Two passes of the eviction manager (every 10 s) since kubelet started.
  wait_for 60 eval '[ "$(ps -o etimes= -p "$kubelet")" -ge 25 ]'
  grep -q 'Eviction manager: starting control loop' "$log"
  # With it off, every pass stopped at the image file system cAdvisor could not find.
  run ! grep -E 'Eviction manager: failed to synchronize|cannot find filesystem info' "$log"
}

@test "real node: kill -9 of crio: restarted, the pod keeps running, kubelet talks to the new crio" {
  cid=$(web_container)
  read -r httpd_before _ < <(host_httpd)
  crio_before=$(pid_of crio)
  kubelet_before=$(pid_of kubelet)
  [ -n "$crio_before" ]
  kill -9 "$crio_before"
  wait_for 120 other_pid crio "$crio_before"
  wait_for 120 node_ready
  # The container and its process are the same ones.
  wait_for 60 web_running
  [ "$(web_container)" = "$cid" ]
  read -r httpd_after _ < <(host_httpd)
  [ "$httpd_after" = "$httpd_before" ]
  [ "$(pid_of kubelet)" = "$kubelet_before" ]
  # kubelet reconnected: it sees the container die through the new crio and starts a new one.
  in_node kill -9 "$(container_pid "$cid")"
  wait_for 180 eval '[ -n "$(web_container)" ] && [ "$(web_container)" != "$cid" ]' || {
    in_node crictl ps -a; tail -n 30 "$XDG_DATA_HOME/usernode/$NODE/logs/kubelet.log"; false; }
}

@test "real node: kill -9 of kubelet: restarted, the pod untouched" {
  wait_for 60 web_running
  cid=$(web_container)
  read -r httpd_before _ < <(host_httpd)
  kubelet_before=$(pid_of kubelet)
  crio_before=$(pid_of crio)
  kill -9 "$kubelet_before"
  wait_for 120 other_pid kubelet "$kubelet_before"
  wait_for 180 node_ready
  # The new kubelet syncs the static pod within seconds of its start; for 30 s after it is
  # healthy, it is the same container all along.
  holds_for 30 eval '[ "$(web_container)" = "$cid" ]'

  read -r httpd_after _ < <(host_httpd)
  [ "$httpd_after" = "$httpd_before" ]
  [ "$(pid_of crio)" = "$crio_before" ]
}

# The container's conmon, which holds its stdout and writes its exit code: by the id on its
# command line.
conmon_of() { pgrep -u "$(id -u)" -f "^/usr/bin/conmon .*$1" | head -n1; }

@test "real node: a reload that changes crio's configuration restarts crio alone; the pod and its conmon keep running" {
  wait_for 60 web_running
  cid=$(web_container)
  read -r httpd_before _ < <(host_httpd)
  conmon_before=$(conmon_of "$cid")
  [ -n "$conmon_before" ] || { pgrep -u "$(id -u)" -a conmon; false; }
  crio_before=$(pid_of crio)
  kubelet_before=$(pid_of kubelet)
  ini=$WORK/config/usernode/$NODE.ini
  cp "$ini" "$WORK/ini.before-reload"
  sed -i 's/^\[crio\]$/[crio]\ninsecure_registries = registry.invalid:5000/' "$ini"
  kill -HUP "$(cat "$WORK/node.pid")"
  wait_for 120 other_pid crio "$crio_before"
  wait_for 120 node_ready
  grep -rq 'registry.invalid:5000' "$STATE/config" # registries.conf, one of crio's files
  # The same container, process and conmon, and kubelet untouched, for 15 s after crio answers.
  holds_for 15 eval '[ "$(web_container)" = "$cid" ] && kill -0 "$conmon_before"' || {
    tail -n 20 "$XDG_DATA_HOME/usernode/$NODE/logs/usernode.log"; false; }
  read -r httpd_after _ < <(host_httpd)
  [ "$httpd_after" = "$httpd_before" ]
  [ "$(pid_of kubelet)" = "$kubelet_before" ]
  cp "$WORK/ini.before-reload" "$ini"
}

@test "real node: usernode stop leaves no process of the user or its subordinate ids, and no scope" {
  # Data that must survive the stop, in the node's data dir (bound on /var/lib/kubelet).
  in_node sh -c 'echo kept >/var/lib/kubelet/usernode-vm-marker'
  local t0=$SECONDS
  "$USERNODE" stop --node "$NODE"
  wait "$(cat "$WORK/node.pid")" 2>/dev/null || true
  echo "# usernode stop returned after $((SECONDS - t0)) s" >&3
  wait_for 30 node_gone || { ps -eo pid,uid,args; false; }
  [ ! -e "$STATE/pid" ]
}

@test "real node: a restarted node keeps its images and data, and runs the pod again" {
  start_node
  run in_node crictl images
  echo "$output"
  [[ "$output" == *"localhost/busybox"*"vm"* ]]
  [ "$(in_node cat /var/lib/kubelet/usernode-vm-marker)" = kept ]
  local t0=$SECONDS
  wait_for 300 web_running
  echo "# pod running again $((SECONDS - t0)) s after the node was ready" >&3
}

@test "real node: kill -9 of the launcher leaves nothing behind" {
  kill -9 "$(cat "$WORK/node.pid")"
  wait "$(cat "$WORK/node.pid")" 2>/dev/null || true
  wait_for 60 node_gone || { ps -eo pid,uid,args; false; }
}
