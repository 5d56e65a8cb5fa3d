#!/usr/bin/env bats
# `usernode run --join`: discovery as kubeadm join does it, against a real control plane on
# loopback (etcd, kube-apiserver with bootstrap tokens, kube-controller-manager's bootstrap signer
# from $USERNODE_K8S_BIN), with certificates made here by the openssl CLI. The
# node's crio and kubelet are the stand-ins: what is tested is what reaches kubelet, and that a
# wrong server, token or hash is refused before anything of the node exists.

bats_require_minimum_version 1.5.0 # `run !`

load node_helpers

TOKEN_ID=abcdef
TOKEN_SECRET=0123456789abcdef
TOKEN=$TOKEN_ID.$TOKEN_SECRET

# The control-plane binaries: $USERNODE_K8S_BIN (scripts/check.sh sets it from scripts/k8s-bin.sh,
# which unpacks ../shared/k8s).
k8s_bin() {
  echo "${USERNODE_K8S_BIN:-}"
}

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

kubectl_admin() {
  "$K8S_BIN/kubectl" --server "https://127.0.0.1:$API_PORT" --certificate-authority "$CP/ca.crt" \
    --token admin-secret-token "$@"
}

# wait_until SECONDS COMMAND...: run COMMAND every 200 ms until it succeeds.
wait_until() {
  local deadline=$((SECONDS + $1)); shift
  until "$@" > /dev/null 2>&1; do
    [ $SECONDS -lt $deadline ] || { echo "timed out waiting for: $*" >&2; return 1; }
    sleep 0.2
  done
}

make_certs() {
  local ec=(-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes)
  openssl req -x509 "${ec[@]}" -keyout "$CP/ca.key" -out "$CP/ca.crt" -subj /CN=join-test-ca -days 2 2>/dev/null
  openssl req -new "${ec[@]}" -keyout "$CP/apiserver.key" -subj /CN=kube-apiserver 2>/dev/null |
    openssl x509 -req -CA "$CP/ca.crt" -CAkey "$CP/ca.key" -CAcreateserial -days 2 -out "$CP/apiserver.crt" \
      -extfile <(printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\n') 2>/dev/null
  # Another CA, for the certificate a client must refuse.
  openssl req -x509 "${ec[@]}" -keyout "$CP/other.key" -out "$CP/other.crt" -subj /CN=other-ca -days 2 2>/dev/null
  openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:prime256v1 -out "$CP/sa.key" 2>/dev/null
  openssl pkey -in "$CP/sa.key" -pubout -out "$CP/sa.pub"
  printf 'admin-secret-token,admin,admin-uid,system:masters\n' > "$CP/tokens.csv"
  CA_HASH=sha256:$(openssl x509 -pubkey -noout -in "$CP/ca.crt" | openssl pkey -pubin -outform der | sha256sum | cut -d' ' -f1)
  OTHER_HASH=sha256:$(openssl x509 -pubkey -noout -in "$CP/other.crt" | openssl pkey -pubin -outform der | sha256sum | cut -d' ' -f1)
}

start_control_plane() {
  local etcd_port peer_port
  etcd_port=$(free_port) peer_port=$(free_port) API_PORT=$(free_port)
  "$K8S_BIN/etcd" --name join-test --data-dir "$CP/etcd" \
    --listen-client-urls "http://127.0.0.1:$etcd_port" --advertise-client-urls "http://127.0.0.1:$etcd_port" \
    --listen-peer-urls "http://127.0.0.1:$peer_port" --initial-advertise-peer-urls "http://127.0.0.1:$peer_port" \
    --initial-cluster "join-test=http://127.0.0.1:$peer_port" > "$CP/etcd.log" 2>&1 &
  echo $! > "$CP/etcd.pid"
  "$K8S_BIN/kube-apiserver" --etcd-servers "http://127.0.0.1:$etcd_port" \
    --bind-address 127.0.0.1 --advertise-address 127.0.0.1 --secure-port "$API_PORT" \
    --tls-cert-file "$CP/apiserver.crt" --tls-private-key-file "$CP/apiserver.key" --client-ca-file "$CP/ca.crt" \
    --enable-bootstrap-token-auth --token-auth-file "$CP/tokens.csv" --authorization-mode Node,RBAC \
    --service-cluster-ip-range 10.96.0.0/16 --service-account-issuer https://kubernetes.default.svc \
    --service-account-key-file "$CP/sa.pub" --service-account-signing-key-file "$CP/sa.key" \
    --cert-dir "$CP/apiserver-certs" > "$CP/apiserver.log" 2>&1 &
  echo $! > "$CP/apiserver.pid"
  wait_until 90 kubectl_admin get --raw /readyz || { tail -20 "$CP/apiserver.log" >&2; return 1; }

  # What kubeadm init's bootstrap-token phase sets up: cluster-info readable anonymously, a token.
  printf 'apiVersion: v1\nkind: Config\nclusters:\n- name: ""\n  cluster:\n    certificate-authority-data: %s\n    server: https://127.0.0.1:%s\ncontexts: null\ncurrent-context: ""\nusers: null\n' \
    "$(base64 -w0 < "$CP/ca.crt")" "$API_PORT" > "$CP/cluster-info.yaml"
  cp "$CP/cluster-info.yaml" "$CP/discovery.yaml"
  kubectl_admin -n kube-public create configmap cluster-info --from-file=kubeconfig="$CP/cluster-info.yaml"
  kubectl_admin -n kube-public create role kubeadm:bootstrap-signer-clusterinfo --verb=get \
    --resource=configmaps --resource-name=cluster-info
  kubectl_admin -n kube-public create rolebinding kubeadm:bootstrap-signer-clusterinfo \
    --role=kubeadm:bootstrap-signer-clusterinfo --user=system:anonymous
  kubectl_admin -n kube-system create secret generic "bootstrap-token-$TOKEN_ID" \
    --type bootstrap.kubernetes.io/token --from-literal=token-id=$TOKEN_ID \
    --from-literal=token-secret=$TOKEN_SECRET --from-literal=usage-bootstrap-signing=true \
    --from-literal=usage-bootstrap-authentication=true \
    --from-literal=auth-extra-groups=system:bootstrappers:kubeadm:default-node-token

  # The signature comes from the real signer, so its JWS format is what usernode must read.
  printf 'apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster:\n    certificate-authority: %s\n    server: https://127.0.0.1:%s\nusers:\n- name: admin\n  user:\n    token: admin-secret-token\ncontexts:\n- name: c\n  context:\n    cluster: c\n    user: admin\ncurrent-context: c\n' \
    "$CP/ca.crt" "$API_PORT" > "$CP/admin.kubeconfig"
  "$K8S_BIN/kube-controller-manager" --kubeconfig "$CP/admin.kubeconfig" --controllers bootstrapsigner \
    --leader-elect=false --secure-port 0 --use-service-account-credentials=false > "$CP/kcm.log" 2>&1 &
  echo $! > "$CP/kcm.pid"
  wait_until 60 signed || { tail -20 "$CP/kcm.log" >&2; return 1; }
}

signed() {
  [ -n "$(kubectl_admin -n kube-public get configmap cluster-info -o "jsonpath={.data.jws-kubeconfig-$TOKEN_ID}")" ]
}

setup_file() {
  K8S_BIN=$(k8s_bin)
  export K8S_BIN
  [ -n "$K8S_BIN" ] && [ -x "$K8S_BIN/kube-apiserver" ] || return 0
  CP=$(mktemp -d "${TMPDIR:-/tmp}/usernode-join-cp.XXXXXX")
  export CP
  make_certs
  start_control_plane
  export API_PORT CA_HASH OTHER_HASH
}

teardown_file() {
  [ -n "${CP:-}" ] || return 0
  local f pid
  for f in kcm apiserver etcd; do
    [ -f "$CP/$f.pid" ] || continue
    pid=$(cat "$CP/$f.pid")
    kill -TERM "$pid" 2>/dev/null || true
    wait_for 20 "! kill -0 $pid 2>/dev/null" || kill -KILL "$pid" 2>/dev/null || true
  done
  rm -rf "$CP"
}

setup() {
  [ -n "${K8S_BIN:-}" ] && [ -x "$K8S_BIN/kube-apiserver" ] ||
    skip "no Kubernetes control plane: set USERNODE_K8S_BIN (scripts/k8s-bin.sh unpacks ../shared/k8s)"
  node_test_setup
  sed -i 's/^healthz_port = .*/healthz_port = 10248/' "$INI"
  # A loopback address of its own per test: kubelet's 10250 is published on the node IP. [cluster]
  # is the file's last section, so tests append its keys.
  NODE_IP=127.$((RANDOM % 200 + 20)).$((RANDOM % 250 + 1)).$((RANDOM % 250 + 1))
  printf '[cluster]\nnode_ip = %s\n' "$NODE_IP" >> "$INI"
  SERVER=https://127.0.0.1:$API_PORT
  STATE=$WORK/state
  DATA=$XDG_DATA_HOME/usernode/$NODE
}

teardown() {
  if [ -n "${RELAY_PID:-}" ]; then
    pkill -P "$RELAY_PID" 2>/dev/null || true
    kill "$RELAY_PID" 2>/dev/null || true
  fi
  node_test_stop_node
  [ -z "${WORK:-}" ] || node_test_teardown
}

# join ARGS...: `usernode run` of this test's node, in the foreground.
join() {
  run "$USERNODE" run --net none --node "$NODE" --state-dir "$STATE" --config "$INI" "$@"
}

# refused CODE PATTERN: the run failed with CODE, said so in one line matching PATTERN, left nothing.
refused() {
  echo "$output"
  [ "$status" -eq "$1" ]
  [ "${#lines[@]}" -eq 1 ]
  [[ "${lines[0]}" =~ $2 ]]
  [ ! -e "$STATE" ]
  [ ! -e "$DATA" ]
}

start_joined_node() {
  local before
  before=$(events kubelet ready)
  "$USERNODE" run --net none --node "$NODE" --state-dir "$STATE" --config "$INI" "$@" > "$WORK/node.out" 2>&1 &
  NODE_PID=$!
  wait_for 60 "[ \"\$(events kubelet ready)\" -gt $before ]" || { cat "$WORK/node.out"; return 1; }
}

@test "join with the CA hash: a 0600 bootstrap kubeconfig that authenticates as the token, kubelet told to bootstrap from it" {
  start_joined_node --join "$SERVER" --token "$TOKEN" --discovery-token-ca-cert-hash "$CA_HASH"
  [ "$(stat -c %a "$DATA/cluster/bootstrap-kubeconfig")" = 600 ]
  cmp "$DATA/cluster/ca.crt" "$CP/ca.crt"
  # The server is cluster-info's, the credential the token: the API server says who it is.
  run "$K8S_BIN/kubectl" --kubeconfig "$DATA/cluster/bootstrap-kubeconfig" auth whoami -o jsonpath='{.status.userInfo.username}'
  [ "$status" -eq 0 ]
  [ "$output" = "system:bootstrap:$TOKEN_ID" ]
  # kubelet: TLS bootstrap into persistent data, the cluster CA for the API server's calls.
  node_processes | grep -F -- "--bootstrap-kubeconfig=$DATA/cluster/bootstrap-kubeconfig" |
    grep -F -- "--kubeconfig=$DATA/kubelet/kubeconfig" | grep -qF -- "--cert-dir=$DATA/kubelet/pki"
  grep -qF "clientCAFile: \"$DATA/cluster/ca.crt\"" "$STATE/config/kubelet.yaml"
  grep -qx 'rotateCertificates: true' "$STATE/config/kubelet.yaml"
  grep -qx 'clusterDNS: \["10.96.0.10"\]' "$STATE/config/kubelet.yaml"
  grep -qx '  mode: Webhook' "$STATE/config/kubelet.yaml"
}

@test "join from [cluster] keys in the INI file works as the flags do" {
  printf 'server = %s\ntoken = %s\nca_cert_hash = %s\ncluster_dns = 10.32.0.10\ncluster_domain = example.internal\n' \
    "$SERVER" "$TOKEN" "$OTHER_HASH, $CA_HASH" >> "$INI"
  start_joined_node
  [ -s "$DATA/cluster/bootstrap-kubeconfig" ]
  grep -qx 'clusterDNS: \["10.32.0.10"\]' "$STATE/config/kubelet.yaml"
  grep -qx 'clusterDomain: "example.internal"' "$STATE/config/kubelet.yaml"
}

@test "join with a discovery file: its server and CA, the token's signature still checked" {
  start_joined_node --discovery-file "$CP/discovery.yaml" --token "$TOKEN"
  run "$K8S_BIN/kubectl" --kubeconfig "$DATA/cluster/bootstrap-kubeconfig" auth whoami -o jsonpath='{.status.userInfo.username}'
  [ "$output" = "system:bootstrap:$TOKEN_ID" ]
}

@test "a wrong CA hash is refused with the CA's real hash, exit 3, nothing left" {
  join --join "$SERVER" --token "$TOKEN" --discovery-token-ca-cert-hash "$OTHER_HASH"
  refused 3 "public key $CA_HASH, which no --discovery-token-ca-cert-hash pins"
}

@test "a wrong token secret is refused: cluster-info is not signed with it, exit 3" {
  join --join "$SERVER" --token "$TOKEN_ID.ffffffffffffffff" --discovery-token-ca-cert-hash "$CA_HASH"
  refused 3 "not signed with the token's secret"
}

@test "an unknown token ID is refused as invalid or expired, exit 3" {
  join --join "$SERVER" --token "zzzzzz.$TOKEN_SECRET" --discovery-token-ca-cert-hash "$CA_HASH"
  refused 3 'token ID "zzzzzz" is not valid for the cluster'
}

@test "a server nobody listens on is not reachable, exit 3; with discovery_timeout = 0 at the first try" {
  printf 'discovery_timeout = 0\n' >> "$INI"
  join --join "https://127.0.0.1:$(free_port)" --token "$TOKEN" --discovery-token-ca-cert-hash "$CA_HASH"
  refused 3 "cannot reach the cluster at https://127.0.0.1:"
}

@test "discovery tries a server that is not reachable yet again, up to [cluster] discovery_timeout, then exit 3" {
  sed -i '/^discovery_timeout = /d' "$INI"
  printf 'discovery_timeout = 5\n' >> "$INI"
  local t0=$SECONDS
  join --join "https://127.0.0.1:$(free_port)" --token "$TOKEN" --discovery-token-ca-cert-hash "$CA_HASH"
  echo "$output"
  [ "$status" -eq 3 ]
  [ $((SECONDS - t0)) -ge 4 ]
  [[ "$output" == *"trying again for up to 5 s"* ]]
  [[ "${lines[-1]}" =~ cannot\ reach\ the\ cluster\ at\ https://127.0.0.1:[0-9]+:\ .*\(tried\ [0-9]+\ times\ in\ 5\ s ]]
  [ ! -e "$STATE" ]
  [ ! -e "$DATA" ]
}

@test "a node started before its API server answers waits for it and joins (kubeadm's discovery retries)" {
  local port
  port=$(free_port)
  # The server appears 4 s after the node starts: a TCP relay to the API server on a new port.
  (sleep 4; exec socat "TCP-LISTEN:$port,bind=127.0.0.1,reuseaddr,fork" "TCP:127.0.0.1:$API_PORT") 3>&- &
  RELAY_PID=$!
  start_joined_node --join "https://127.0.0.1:$port" --token "$TOKEN" --discovery-token-ca-cert-hash "$CA_HASH"
  grep -q "cannot reach the cluster at https://127.0.0.1:$port yet" "$WORK/node.out"
  [ -s "$DATA/cluster/bootstrap-kubeconfig" ]
}

@test "a CA file that did not sign the server's certificate is refused, exit 3" {
  printf 'ca_file = %s\n' "$CP/other.crt" >> "$INI"
  join --join "$SERVER" --token "$TOKEN"
  refused 3 "cannot trust $SERVER: its certificate does not verify"
}

@test "a malformed token, hash or server is a usage error naming the flag, exit 2" {
  join --join "$SERVER" --token "ABCDEF.0123456789abcdef" --discovery-token-ca-cert-hash "$CA_HASH"
  refused 2 "--token"
  join --join "$SERVER" --token "$TOKEN" --discovery-token-ca-cert-hash "sha256:1234"
  refused 2 "--discovery-token-ca-cert-hash"
  join --join "http://127.0.0.1:$API_PORT" --token "$TOKEN" --discovery-token-ca-cert-hash "$CA_HASH"
  refused 2 "--join"
}

@test "a join without a hash or CA is a usage error that says how to get the hash, exit 2" {
  join --join "$SERVER" --token "$TOKEN"
  refused 2 "needs a way to trust the server: add --discovery-token-ca-cert-hash"
}

@test "a joined node is named HOSTNAME-NODE, has that hostname and its node IP, and publishes 10250 there" {
  start_joined_node --join "$SERVER" --token "$TOKEN" --discovery-token-ca-cert-hash "$CA_HASH"
  local name
  name=$(hostname | tr 'A-Z' 'a-z')-$NODE
  node_processes | grep -F -- "--hostname-override=$name" | grep -qF -- "--node-ip=$NODE_IP"
  [ "$("$USERNODE" exec --node "$NODE" --state-dir "$STATE" -- hostname)" = "$name" ]
  "$USERNODE" exec --node "$NODE" --state-dir "$STATE" -- ip -o addr show dev lo | grep -qF "inet $NODE_IP/32"
  "$USERNODE" ports --node "$NODE" --state-dir "$STATE" ls | grep -qF "$NODE_IP:10250"
}

@test "kubelet's serving certificate names the node and its node IP; kept while they stay, made again when the IP changes" {
  local name pem=$DATA/kubelet/pki/kubelet.crt serial
  name=$(hostname | tr 'A-Z' 'a-z')-$NODE
  start_joined_node --join "$SERVER" --token "$TOKEN" --discovery-token-ca-cert-hash "$CA_HASH"
  openssl x509 -in "$pem" -noout -ext subjectAltName | grep -qF "DNS:$name, IP Address:$NODE_IP"
  openssl x509 -in "$pem" -noout -ext extendedKeyUsage | grep -qF "TLS Web Server Authentication"
  [ "$(stat -c %a "$DATA/kubelet/pki/kubelet.key")" = 600 ]
  # The pair is one: the key's public half is the certificate's.
  [ "$(openssl x509 -in "$pem" -noout -pubkey)" = "$(openssl pkey -in "$DATA/kubelet/pki/kubelet.key" -pubout)" ]
  serial=$(openssl x509 -in "$pem" -noout -serial)
  kill -TERM "$NODE_PID"
  wait_for 30 "! kill -0 $NODE_PID 2>/dev/null"
  start_joined_node --join "$SERVER" --token "$TOKEN" --discovery-token-ca-cert-hash "$CA_HASH"
  [ "$(openssl x509 -in "$pem" -noout -serial)" = "$serial" ]
  kill -TERM "$NODE_PID"
  wait_for 30 "! kill -0 $NODE_PID 2>/dev/null"
  local other=127.$((RANDOM % 200 + 20)).$((RANDOM % 250 + 1)).$((RANDOM % 250 + 1))
  sed -i "s/^node_ip = .*/node_ip = $other/" "$INI"
  start_joined_node --join "$SERVER" --token "$TOKEN" --discovery-token-ca-cert-hash "$CA_HASH"
  openssl x509 -in "$pem" -noout -ext subjectAltName | grep -qF "IP Address:$other"
  [ "$(openssl x509 -in "$pem" -noout -serial)" != "$serial" ]
}

@test "[cluster] node_name names the node; a name that is not DNS-1123 is refused, exit 2" {
  printf 'node_name = worker-7.example\n' >> "$INI"
  start_joined_node --join "$SERVER" --token "$TOKEN" --discovery-token-ca-cert-hash "$CA_HASH"
  [ "$("$USERNODE" exec --node "$NODE" --state-dir "$STATE" -- hostname)" = worker-7.example ]
  kill -TERM "$NODE_PID"
  wait_for 30 "! kill -0 $NODE_PID 2>/dev/null"
  rm -rf "$STATE" "$DATA"
  printf 'node_name = Worker_7\n' >> "$INI"
  join --join "$SERVER" --token "$TOKEN" --discovery-token-ca-cert-hash "$CA_HASH"
  refused 2 "node_name"
}

@test "with the API server on this host's own address the node IP must be set, exit 2, nothing left" {
  sed -i '/^node_ip = /d' "$INI"
  join --join "$SERVER" --token "$TOKEN" --discovery-token-ca-cert-hash "$CA_HASH"
  refused 2 "is on this host's own address 127.0.0.1, .*set \\[cluster\\] node_ip"
}

@test "[kube-proxy] enabled: planned after kubelet with the node's kubeconfig, a config the real kube-proxy reads strictly" {
  [ -x "$K8S_BIN/kube-proxy" ] || skip "no kube-proxy in $K8S_BIN"
  sed -i 's/^\[cluster\]$/[kube-proxy]\nenabled = true\npath = '"${K8S_BIN//\//\\/}"'\/kube-proxy\nrestart = never\n[cluster]/' "$INI"
  start_joined_node --join "$SERVER" --token "$TOKEN" --discovery-token-ca-cert-hash "$CA_HASH"
  wait_for 30 "\"$USERNODE\" status --node $NODE --state-dir $STATE --json | grep -q kube-proxy"
  grep -qF "kubeconfig: \"$DATA/kubelet/kubeconfig\"" "$STATE/config/kube-proxy.yaml"
  grep -qx '  maxPerCore: 0' "$STATE/config/kube-proxy.yaml"
  run timeout 20 "$K8S_BIN/kube-proxy" --config "$STATE/config/kube-proxy.yaml"
  [[ "$output" != *"strict decoding"* ]]
  [[ "$output" == *"$DATA/kubelet/kubeconfig"* ]] # it got as far as the credentials
}

@test "[kube-proxy] gets the sbin directories on its PATH (it runs iptables by name), whatever the user's PATH" {
  # A stand-in that shows its PATH; the user's PATH without any sbin, as on Debian.
  printf '#!/bin/sh\necho "$PATH" > %s/kube-proxy.path\nexec sleep 300\n' "$WORK" > "$WORK/kube-proxy"
  chmod +x "$WORK/kube-proxy"
  sed -i 's/^\[cluster\]$/[kube-proxy]\nenabled = true\npath = '"${WORK//\//\\/}"'\/kube-proxy\nrestart = never\n[cluster]/' "$INI"
  local nosbin
  nosbin=$(tr : '\n' <<< "$PATH" | grep -v sbin | paste -sd:)
  PATH=$nosbin start_joined_node --join "$SERVER" --token "$TOKEN" --discovery-token-ca-cert-hash "$CA_HASH"
  wait_for 30 "[ -s '$WORK/kube-proxy.path' ]"
  cat "$WORK/kube-proxy.path"
  [[ ":$(cat "$WORK/kube-proxy.path"):" == *:/usr/sbin:* ]]
}

# What kubelet's TLS bootstrap leaves for the node NAME: a client certificate of system:node:NAME
# (here signed straight by the CA) and a kubeconfig pointing at it, for the server SERVER (default
# the test's).
fake_kubelet_bootstrap() {
  mkdir -p "$DATA/kubelet/pki"
  local pem=$DATA/kubelet/pki/kubelet-client-current.pem
  openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout "$WORK/node.key" \
    -subj "/O=system:nodes/CN=system:node:$1" 2>/dev/null |
    openssl x509 -req -CA "$CP/ca.crt" -CAkey "$CP/ca.key" -CAcreateserial -days 1 -out "$WORK/node.crt" 2>/dev/null
  cat "$WORK/node.crt" "$WORK/node.key" > "$pem"
  printf 'apiVersion: v1\nkind: Config\nclusters:\n- cluster:\n    certificate-authority-data: %s\n    server: %s\n  name: default-cluster\ncontexts:\n- context:\n    cluster: default-cluster\n    namespace: default\n    user: default-auth\n  name: default-context\ncurrent-context: default-context\nusers:\n- name: default-auth\n  user:\n    client-certificate: %s\n    client-key: %s\n' \
    "$(base64 -w0 < "$CP/ca.crt")" "${2:-$SERVER}" "$pem" "$pem" > "$DATA/kubelet/kubeconfig"
}

@test "a joined node follows the cluster: its podCIDR into the CNI conflist, a NodePort Service published while it exists" {
  local name np
  name=$(hostname | tr 'A-Z' 'a-z')-$NODE
  np=$((30000 + RANDOM % 2700))
  start_joined_node --join "$SERVER" --token "$TOKEN" --discovery-token-ca-cert-hash "$CA_HASH"
  fake_kubelet_bootstrap "$name"
  printf '{"apiVersion":"v1","kind":"Node","metadata":{"name":"%s"},"spec":{"podCIDR":"10.244.7.0/24"}}' "$name" |
    kubectl_admin create -f -
  # The agent asks for the podCIDR every 3 s; the bound is for a real API server on a loaded host.
  wait_for 60 "grep -q '10.244.7.0/24' '$STATE/config/cni/10-usernode.conflist'"
  [ "$(cat "$DATA/cluster/pod-cidr")" = 10.244.7.0/24 ]
  # Issue 11: HTTPS, X.509 and YAML are the cluster program's (exec'd from a memfd), not the
  # launcher's nor the node init's (a clone of the launcher): only the agent maps their libraries.
  # libsystemd is no one's here: the launcher opens it for a start's D-Bus calls only and closes
  # it before the init is cloned (cgroup/sd_bus_dl.h).
  local maps child agent=
  maps=$(cat "/proc/$NODE_PID/maps")
  [[ $maps != *libcurl* && $maps != *libcrypto* && $maps != *libssl* && $maps != *libyaml* ]]
  [[ $maps != *libsystemd* ]]
  for child in $(cat /proc/"$NODE_PID"/task/*/children); do
    if [[ $(readlink "/proc/$child/exe") == "/memfd:usernode-cluster"* ]]; then
      agent=$child
      [[ $(cat "/proc/$child/maps") == *libcurl* ]]
    else
      maps=$(cat "/proc/$child/maps")
      [[ $maps != *libcurl* && $maps != *libcrypto* && $maps != *libyaml* && $maps != *libsystemd* ]]
    fi
  done
  [ -n "$agent" ]
  [ "$(cat "/proc/$agent/comm")" = usernode-cluste ] # 15 characters: TASK_COMM_LEN
  # The token reaches it in a memfd only: not in its arguments or environment.
  run ! grep -qF "$TOKEN" "/proc/$agent/cmdline" "/proc/$agent/environ"

  "$USERNODE" exec --node "$NODE" --state-dir "$STATE" -- "$HELPERS/port_peer" server tcp 127.0.0.1 "$np" &
  kubectl_admin create service nodeport "web-$NODE" --tcp=8080:8080 --node-port="$np"
  wait_for 30 "\"$USERNODE\" ports --node $NODE --state-dir $STATE ls | grep -F '$NODE_IP:$np:$np' | grep -qF 'service default/web-$NODE'"
  wait_for 10 "'$HELPERS/port_peer' roundtrip '$NODE_IP' '$np' >/dev/null 2>&1"
  kubectl_admin delete service "web-$NODE"
  wait_for 30 "! \"$USERNODE\" ports --node $NODE --state-dir $STATE ls | grep -qF ':$np:'"
  run "$HELPERS/port_peer" roundtrip "$NODE_IP" "$np"
  [ "$status" -ne 0 ]
  kubectl_admin delete node "$name"
}

# start_relay PORT: a TCP relay from 127.0.0.1:PORT to the API server (RELAY_PID).
start_relay() {
  socat "TCP-LISTEN:$1,bind=127.0.0.1,reuseaddr,fork" "TCP:127.0.0.1:$API_PORT" 3>&- &
  RELAY_PID=$!
  wait_for 10 "python3 -c 'import socket; socket.create_connection((\"127.0.0.1\", $1), 1)'"
}

# stop_relay: the relay and every connection through it gone (the agent's watch breaks).
stop_relay() {
  pkill -P "$RELAY_PID" 2>/dev/null || true
  kill "$RELAY_PID"
  wait_for 10 "! kill -0 $RELAY_PID 2>/dev/null"
  RELAY_PID=
}

published() {
  "$USERNODE" ports --node "$NODE" --state-dir "$STATE" ls | grep -qF "$NODE_IP:$1:$1"
}

@test "the cluster agent lists and watches again after its connection to the API server breaks" {
  local name port np1 np2
  name=$(hostname | tr 'A-Z' 'a-z')-$NODE
  port=$(free_port)
  np1=$((30000 + RANDOM % 1300)) np2=$((31400 + RANDOM % 1300))
  start_relay "$port"
  start_joined_node --join "$SERVER" --token "$TOKEN" --discovery-token-ca-cert-hash "$CA_HASH"
  # The agent talks to the API server through the relay, with the node's credentials.
  fake_kubelet_bootstrap "$name" "https://127.0.0.1:$port"
  kubectl_admin create service nodeport "a-$NODE" --tcp=8080:8080 --node-port="$np1"
  wait_for 30 "published $np1"
  stop_relay
  # While the API server is out of reach: one Service goes, another comes.
  kubectl_admin delete service "a-$NODE"
  kubectl_admin create service nodeport "b-$NODE" --tcp=8080:8080 --node-port="$np2"
  start_relay "$port"
  wait_for 30 "published $np2"
  wait_for 30 "! published $np1"
  kubectl_admin delete service "b-$NODE"
  wait_for 30 "! published $np2"
}

@test "a node that joined before starts again after its token expired; a node that never joined is refused" {
  local name
  name=$(hostname | tr 'A-Z' 'a-z')-$NODE
  kubectl_admin -n kube-system create secret generic bootstrap-token-expire \
    --type bootstrap.kubernetes.io/token --from-literal=token-id=expire \
    --from-literal=token-secret=0123456789abcdef --from-literal=usage-bootstrap-signing=true \
    --from-literal=usage-bootstrap-authentication=true
  wait_until 30 kubectl_admin -n kube-public get configmap cluster-info -o jsonpath='{.data.jws-kubeconfig-expire}'
  start_joined_node --join "$SERVER" --token expire.0123456789abcdef --discovery-token-ca-cert-hash "$CA_HASH"
  fake_kubelet_bootstrap "$name"
  kill -TERM "$NODE_PID"
  wait_for 30 "! kill -0 $NODE_PID 2>/dev/null"
  # The token goes; the bootstrap signer takes its signature out of cluster-info.
  kubectl_admin -n kube-system delete secret bootstrap-token-expire
  wait_until 30 bash -c "[ -z \"\$(\"$K8S_BIN/kubectl\" --server https://127.0.0.1:$API_PORT --certificate-authority $CP/ca.crt --token admin-secret-token -n kube-public get configmap cluster-info -o jsonpath='{.data.jws-kubeconfig-expire}')\" ]"
  start_joined_node --join "$SERVER" --token expire.0123456789abcdef --discovery-token-ca-cert-hash "$CA_HASH"
  grep -q 'token ID "expire" is no longer valid .* keeps its client certificate' "$WORK/node.out"
  kill -TERM "$NODE_PID"
  wait_for 30 "! kill -0 $NODE_PID 2>/dev/null"
  # Never bootstrapped: the expired token is refused.
  rm -rf "$STATE" "$DATA"
  join --join "$SERVER" --token expire.0123456789abcdef --discovery-token-ca-cert-hash "$CA_HASH"
  refused 3 'token ID "expire" is not valid for the cluster'
}

@test "a [cluster] node_ip that is not an address of this host is refused, exit 2, nothing left" {
  sed -i 's/^node_ip = .*/node_ip = 192.0.2.77/' "$INI"
  join --join "$SERVER" --token "$TOKEN" --discovery-token-ca-cert-hash "$CA_HASH"
  refused 2 "node_ip = 192.0.2.77 is not an address of this host"
}
