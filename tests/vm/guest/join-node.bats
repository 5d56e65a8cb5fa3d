#!/usr/bin/env bats
# A worker of a real cluster (issue 13), in the VM: a control plane run as root (etcd,
# kube-apiserver with bootstrap tokens, kube-controller-manager signing and approving the
# bootstrap CSRs and allocating node CIDRs, kube-scheduler) on a dummy interface's address, a
# bootstrap token made with kubectl; as vmuser `usernode run --join` with the real crio and kubelet
# of /opt/k8s; with the 65536 x 12 subordinate ids main.sh gives vmuser, a pod with hostUsers: false
# (issue 15) through the API server. Run as root by main.sh; skipped in one line without /opt/k8s.

K8S=${USERNODE_K8S_BIN:-/opt/k8s/bin}
USER_NAME=vmuser
SERVER_IP=192.168.50.1
NODE_IP=192.168.50.2
TOKEN_ID=abcdef
TOKEN_SECRET=0123456789abcdef
TOKEN=$TOKEN_ID.$TOKEN_SECRET
CP=/var/tmp/join-cp

kubectl_admin() {
  "$K8S/kubectl" --kubeconfig "$CP/admin.kubeconfig" "$@"
}

as_user() {
  su -l "$USER_NAME" -c "$*"
}

wait_until() {
  local limit=$1 deadline=$((SECONDS + $1)); shift
  until "$@" > /dev/null 2>&1; do
    [ $SECONDS -lt $deadline ] || { echo "timed out after $limit s waiting for: $*" >&2; return 1; }
    sleep 1
  done
}

make_certs() {
  local ec=(-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes)
  openssl req -x509 "${ec[@]}" -keyout "$CP/ca.key" -out "$CP/ca.crt" -subj /CN=vm-cluster-ca -days 2 2>/dev/null
  openssl req -new "${ec[@]}" -keyout "$CP/apiserver.key" -subj /CN=kube-apiserver 2>/dev/null |
    openssl x509 -req -CA "$CP/ca.crt" -CAkey "$CP/ca.key" -CAcreateserial -days 2 -out "$CP/apiserver.crt" \
      -extfile <(printf 'subjectAltName=IP:%s,IP:10.96.0.1,DNS:kubernetes.default.svc\n' "$SERVER_IP") 2>/dev/null
  # The API server's client certificate towards kubelet (logs, exec), as kubeadm makes it: a
  # member of system:masters, which kubelet's webhook authorization lets through.
  openssl req -new "${ec[@]}" -keyout "$CP/apiserver-kubelet-client.key" -subj /O=system:masters/CN=kube-apiserver-kubelet-client 2>/dev/null |
    openssl x509 -req -CA "$CP/ca.crt" -CAkey "$CP/ca.key" -CAcreateserial -days 2 -out "$CP/apiserver-kubelet-client.crt" \
      -extfile <(printf 'extendedKeyUsage=clientAuth\n') 2>/dev/null
  openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:prime256v1 -out "$CP/sa.key" 2>/dev/null
  openssl pkey -in "$CP/sa.key" -pubout -out "$CP/sa.pub"
  printf 'admin-secret-token,admin,admin-uid,system:masters\n' > "$CP/tokens.csv"
  CA_HASH=sha256:$(openssl x509 -pubkey -noout -in "$CP/ca.crt" | openssl pkey -pubin -outform der | sha256sum | cut -d' ' -f1)
  printf 'apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster:\n    certificate-authority: %s\n    server: https://%s:6443\nusers:\n- name: admin\n  user:\n    token: admin-secret-token\ncontexts:\n- name: c\n  context:\n    cluster: c\n    user: admin\ncurrent-context: c\n' \
    "$CP/ca.crt" "$SERVER_IP" > "$CP/admin.kubeconfig"
}

# A control plane lean enough for TCG: etcd without fsync and with a small quota, an API server
# without priority and fairness, the controller-manager with only the controllers a join and a
# Deployment behind a NodePort need, the scheduler; no leader election anywhere.
start_control_plane() {
  "$K8S/etcd" --data-dir "$CP/etcd" --listen-client-urls http://127.0.0.1:2379 \
    --advertise-client-urls http://127.0.0.1:2379 --listen-peer-urls http://127.0.0.1:2380 \
    --initial-advertise-peer-urls http://127.0.0.1:2380 --initial-cluster default=http://127.0.0.1:2380 \
    --unsafe-no-fsync --quota-backend-bytes 268435456 --snapshot-count 5000 --log-level warn > "$CP/etcd.log" 2>&1 &
  echo $! > "$CP/etcd.pid"
  "$K8S/kube-apiserver" --etcd-servers http://127.0.0.1:2379 --bind-address "$SERVER_IP" \
    --advertise-address "$SERVER_IP" --secure-port 6443 --tls-cert-file "$CP/apiserver.crt" \
    --tls-private-key-file "$CP/apiserver.key" --client-ca-file "$CP/ca.crt" \
    --kubelet-client-certificate "$CP/apiserver-kubelet-client.crt" --kubelet-client-key "$CP/apiserver-kubelet-client.key" \
    --kubelet-preferred-address-types InternalIP,Hostname \
    --enable-bootstrap-token-auth --token-auth-file "$CP/tokens.csv" --authorization-mode Node,RBAC \
    --enable-admission-plugins NodeRestriction --service-cluster-ip-range 10.96.0.0/16 \
    --service-account-issuer https://kubernetes.default.svc --service-account-key-file "$CP/sa.pub" \
    --service-account-signing-key-file "$CP/sa.key" --cert-dir "$CP/apiserver-certs" \
    --enable-priority-and-fairness=false --profiling=false \
    > "$CP/apiserver.log" 2>&1 &
  echo $! > "$CP/apiserver.pid"
  local t0=$SECONDS
  wait_until 600 kubectl_admin get --raw /readyz || { tail -5 "$CP/apiserver.log"; return 1; }
  echo "# join: API server ready in $((SECONDS - t0)) s" >&3

  # What kubeadm init sets up for joins: cluster-info for anyone, the bootstrap group's rights
  # to ask for a node certificate and have it approved, renewals approved for nodes.
  printf 'apiVersion: v1\nkind: Config\nclusters:\n- name: ""\n  cluster:\n    certificate-authority-data: %s\n    server: https://%s:6443\n' \
    "$(base64 -w0 < "$CP/ca.crt")" "$SERVER_IP" > "$CP/cluster-info.yaml"
  kubectl_admin -n kube-public create configmap cluster-info --from-file=kubeconfig="$CP/cluster-info.yaml"
  kubectl_admin -n kube-public create role cluster-info-reader --verb=get --resource=configmaps --resource-name=cluster-info
  kubectl_admin -n kube-public create rolebinding cluster-info-reader --role=cluster-info-reader --user=system:anonymous
  kubectl_admin create clusterrolebinding kubelet-bootstrap --clusterrole=system:node-bootstrapper \
    --group=system:bootstrappers:kubeadm:default-node-token
  kubectl_admin create clusterrolebinding node-autoapprove-bootstrap \
    --clusterrole=system:certificates.k8s.io:certificatesigningrequests:nodeclient \
    --group=system:bootstrappers:kubeadm:default-node-token
  kubectl_admin create clusterrolebinding node-autoapprove-certificate-rotation \
    --clusterrole=system:certificates.k8s.io:certificatesigningrequests:selfnodeclient --group=system:nodes
  # The ServiceAccount admission of ../shared/k8s (OpenShift's fork) adds the configmap
  # openshift-service-ca.crt to every pod's token volume, which its service-ca operator would
  # publish: without it no pod with a token starts ("configmap ... not found").
  kubectl_admin create configmap openshift-service-ca.crt --from-file=service-ca.crt="$CP/ca.crt"
  kubectl_admin create clusterrolebinding usernode-node-proxier --clusterrole=system:node-proxier --group=system:nodes
  kubectl_admin -n kube-system create secret generic "bootstrap-token-$TOKEN_ID" \
    --type bootstrap.kubernetes.io/token --from-literal=token-id=$TOKEN_ID \
    --from-literal=token-secret=$TOKEN_SECRET --from-literal=usage-bootstrap-signing=true \
    --from-literal=usage-bootstrap-authentication=true \
    --from-literal=auth-extra-groups=system:bootstrappers:kubeadm:default-node-token

  "$K8S/kube-controller-manager" --kubeconfig "$CP/admin.kubeconfig" --leader-elect=false \
    --controllers csrsigning,csrapproving,csrcleaner,bootstrapsigner,nodeipam,nodelifecycle,serviceaccount,root-ca-cert-publisher,deployment,replicaset,endpointslice \
    --cluster-signing-cert-file "$CP/ca.crt" \
    --cluster-signing-key-file "$CP/ca.key" --root-ca-file "$CP/ca.crt" \
    --service-account-private-key-file "$CP/sa.key" --use-service-account-credentials=false \
    --allocate-node-cidrs --cluster-cidr 10.244.0.0/16 --service-cluster-ip-range 10.96.0.0/16 \
    --node-monitor-grace-period 20s > "$CP/kcm.log" 2>&1 &
  echo $! > "$CP/kcm.pid"
  "$K8S/kube-scheduler" --kubeconfig "$CP/admin.kubeconfig" --leader-elect=false > "$CP/scheduler.log" 2>&1 &
  echo $! > "$CP/scheduler.pid"
  wait_until 300 signed || { tail -20 "$CP/kcm.log"; return 1; }
  echo "# join: control plane up (cluster-info signed) in $((SECONDS - t0)) s" >&3
}

signed() {
  [ -n "$(kubectl_admin -n kube-public get configmap cluster-info -o "jsonpath={.data.jws-kubeconfig-$TOKEN_ID}")" ]
}

setup_file() {
  [ -x "$K8S/kube-apiserver" ] || return 0
  rm -rf "$CP"
  mkdir -p "$CP"
  modprobe dummy 2>/dev/null || true
  ip link add dummy0 type dummy
  ip link set dummy0 up
  ip addr add "$SERVER_IP/24" dev dummy0
  ip addr add "$NODE_IP/24" dev dummy0
  make_certs
  start_control_plane
  echo "$CA_HASH" > "$CP/ca_hash"
  # The node's configuration, as vmuser would write it.
  local home
  home=$(getent passwd "$USER_NAME" | cut -d: -f6)
  mkdir -p "$home/.config/usernode"
  printf '[crio]\npath = %s/crio\nruntime = %s/crun\npause_image = localhost/pause:3.10-local\n[kubelet]\npath = %s/kubelet\n[kube-proxy]\nenabled = true\npath = %s/kube-proxy\n[cluster]\nnode_ip = %s\n' \
    "$K8S" "$K8S" "$K8S" "$K8S" "$NODE_IP" > "$home/.config/usernode/default.ini"
  chown -R "$USER_NAME:" "$home/.config"
}

# What a failed boot needs to be understood, into USERNODE_VM_OUT/join[/SUBDIR]
# (USERNODE_VM_KEEP keeps it): at the end of the file, and at each failed test while its node runs.
save_diagnostics() {
  [ -n "${USERNODE_VM_OUT:-}" ] && [ -d "$CP" ] || return 0
  local out=$USERNODE_VM_OUT/join${1:+/$1} home
  home=$(getent passwd "$USER_NAME" | cut -d: -f6)
  mkdir -p "$out"
  cp "$CP"/*.log /tmp/join-node*.log "$out/" 2>/dev/null
  cp "$home/.local/share/usernode/default/logs/"*.log "$out/" 2>/dev/null
  kubectl_admin get nodes -o yaml > "$out/nodes.yaml" 2>&1
  kubectl_admin get events -A --sort-by=.lastTimestamp > "$out/events.txt" 2>&1
  kubectl_admin get pods,svc,endpointslices,csr -A -o wide > "$out/objects.txt" 2>&1
  as_user "$USERNODE ports ls" > "$out/ports.txt" 2>&1
  as_user "$USERNODE status" > "$out/status.txt" 2>&1
  # Which names and addresses kubelet's serving certificate covers.
  timeout 10 openssl s_client -connect "$NODE_IP:10250" < /dev/null 2> /dev/null |
    openssl x509 -noout -text > "$out/kubelet-serving.txt" 2>&1
  chmod -R a+rX "$out"
}

teardown_file() {
  save_diagnostics
  as_user "$USERNODE stop" > /dev/null 2>&1 || true
  local f pid
  for f in scheduler kcm apiserver etcd; do
    [ -f "$CP/$f.pid" ] || continue
    pid=$(cat "$CP/$f.pid")
    kill "$pid" 2>/dev/null || true
  done
}

teardown() {
  [ -n "${BATS_TEST_COMPLETED:-}" ] || save_diagnostics "failed-$BATS_TEST_NUMBER"
}

setup() {
  [ -x "$K8S/kube-apiserver" ] || skip "no /opt/k8s in this image: the real cluster needs ../shared/k8s"
  CA_HASH=$(cat "$CP/ca_hash")
  NAME=$(hostname | tr 'A-Z' 'a-z')
}

user_ports_have() {
  su -l "$USER_NAME" -c "$USERNODE ports ls" | grep -q ":$1:"
}

user_ports_lack() {
  ! user_ports_have "$1"
}

pod_running() {
  [ "$(kubectl_admin get pods -l app=web -o 'jsonpath={.items[0].status.phase}')" = Running ]
}

pod_logged() {
  kubectl_admin logs "$1" | grep -q started
}

not_ready() {
  ! node_ready
}

# An HTTP server answers GET http://ADDR:PORT/ with any status (busybox httpd has no directory
# listing: / is a 404, which is an answer all the same); refused or silent is not.
answers() {
  python3 -c '
import sys, urllib.error, urllib.request
try:
    urllib.request.urlopen("http://%s:%s/" % (sys.argv[1], sys.argv[2]), timeout=5).read()
except urllib.error.HTTPError:
    pass' "$1" "$2"
}

node_ready() {
  [ "$(kubectl_admin get node "$NAME" -o 'jsonpath={.status.conditions[?(@.type=="Ready")].status}')" = True ]
}

start_node() {
  date +%s > "$CP/join_started"
  as_user "PATH=$K8S:\$PATH nohup $USERNODE run --join https://$SERVER_IP:6443 --token $TOKEN --discovery-token-ca-cert-hash $CA_HASH >> /tmp/join-node.log 2>&1 &"
}

# Seconds since the last start_node.
since_join() {
  echo $(($(date +%s) - $(cat "$CP/join_started")))
}

# kB of resident memory of PID (VmRSS).
rss_kb() {
  awk '/^VmRSS:/ {print $2}' "/proc/$1/status"
}

@test "a wrong CA hash is refused before anything starts, exit 3" {
  run as_user "$USERNODE run --join https://$SERVER_IP:6443 --token $TOKEN --discovery-token-ca-cert-hash sha256:$(printf %064d 0)"
  echo "$output"
  [ "$status" -eq 3 ]
  [[ "$output" == *"which no --discovery-token-ca-cert-hash pins"* ]]
  [ ! -e "/home/$USER_NAME/.local/share/usernode/default/cluster" ]
}

@test "usernode run --join: the node registers and is Ready within 120 s, with the cluster's podCIDR" {
  start_node
  # The issue asks for 120 s; under TCG everything is slower, so the bound is wider and the time
  # is printed.
  wait_until 400 node_ready || { tail -30 /tmp/join-node.log; as_user "$USERNODE logs kubelet" | tail -30; false; }
  echo "# join: usernode run --join to node Ready: $(since_join) s" >&3
  cidr=$(kubectl_admin get node "$NAME" -o 'jsonpath={.spec.podCIDR}')
  [ -n "$cidr" ]
  # kubelet measures the node's storage (localStorageCapacityIsolation, local_storage.h).
  local eph
  eph=$(kubectl_admin get node "$NAME" -o 'jsonpath={.status.allocatable.ephemeral-storage}')
  echo "allocatable ephemeral-storage: $eph"
  [ -n "$eph" ] && [ "$eph" != 0 ]
  wait_until 30 grep -q "$cidr" "/run/user/$(id -u $USER_NAME)/usernode/default/config/cni/10-usernode.conflist"
  # What the API server meets on the published 10250: the serving certificate for the node IP.
  local san
  san=$(timeout 20 openssl s_client -connect "$NODE_IP:10250" < /dev/null 2> /dev/null | openssl x509 -noout -ext subjectAltName)
  echo "$san"
  [[ "$san" == *"DNS:$NAME, IP Address:$NODE_IP"* ]]
}

@test "kubectl logs and exec reach the node's pod through the published 10250; a NodePort answers" {
  local storage=overlay@/home/$USER_NAME/.local/share/usernode/default/containers/storage+/run/user/$(id -u $USER_NAME)/usernode/default/containers/storage
  as_user "$USERNODE exec -- skopeo copy --quiet oci:/opt/k8s/images/pause-3.10-local-oci:3.10-local 'containers-storage:[$storage]localhost/pause:3.10-local'"
  python3 /mnt/in/tests/e2e/make_busybox_archive.py /tmp/busybox.tar
  chmod a+r /tmp/busybox.tar
  as_user "$USERNODE exec -- skopeo copy --quiet docker-archive:/tmp/busybox.tar 'containers-storage:[$storage]localhost/busybox:e2e'"
  local t0=$SECONDS
  # imagePullPolicy Never from the start: a patch afterwards would roll out a second ReplicaSet
  # beside a first pod that never starts.
  kubectl_admin create deployment web --image=localhost/busybox:e2e --dry-run=client -o json -- sh -c 'echo started; exec httpd -f -p 8080 -h /' |
    python3 -c 'import json, sys; d = json.load(sys.stdin); d["spec"]["template"]["spec"]["containers"][0]["imagePullPolicy"] = "Never"; json.dump(d, sys.stdout)' |
    kubectl_admin create -f -
  wait_until 180 pod_running || { kubectl_admin describe pods -l app=web | tail -20; false; }
  echo "# join: Deployment to pod Running: $((SECONDS - t0)) s; usernode run --join to pod Running: $(since_join) s (images loaded between)" >&3
  pod=$(kubectl_admin get pods -l app=web -o 'jsonpath={.items[0].metadata.name}')
  wait_until 30 pod_logged "$pod"
  [ "$(kubectl_admin exec "$pod" -- echo exec-works)" = exec-works ]
  kubectl_admin expose deployment web --type=NodePort --port=8080 --name=web
  np=$(kubectl_admin get service web -o 'jsonpath={.spec.ports[0].nodePort}')
  wait_until 30 user_ports_have "$np"
  # From the VM host, through the port usernode published, kube-proxy in the node, to the pod.
  wait_until 60 answers "$NODE_IP" "$np"
  kubectl_admin delete service web
  wait_until 30 user_ports_lack "$np"
  run answers "$NODE_IP" "$np"
  [ "$status" -ne 0 ]
}

# The node's uid map as the VM host sees it (INNER OUTER COUNT lines), from its init process.
node_uid_map() {
  cat "/proc/$(cat "/run/user/$(id -u "$USER_NAME")/usernode/default/child_pid")/uid_map"
}

# host_to_node UID: the node id the VM host's UID is (through the node's map), or nothing.
host_to_node() {
  node_uid_map | awk -v u="$1" '$2 <= u && u < $2 + $3 { print $1 + u - $2; exit }'
}

# In one of the user's subordinate uid ranges (/etc/subuid, all lines)?
user_subordinate() {
  awk -F: -v u="$USER_NAME" -v id="$1" '$1 == u && id >= $2 && id < $2 + $3 { found = 1 } END { exit !found }' /etc/subuid
}

userns_pod_running() {
  [ "$(kubectl_admin get pod userns-cm -o 'jsonpath={.status.phase}')" = Running ]
}

# Issue 15 through the API server: main.sh gave vmuser 65536 x 12 subordinate ids before the
# node started, so its kubelet has 11 pods' ids above the node's own 65536 (as userns-pods.bats).
@test "join: a pod with hostUsers: false and a configMap volume, created through the API server, runs in its own user namespace" {
  kubectl_admin create configmap userns-cm --from-literal=greeting=hello-from-the-api-server
  kubectl_admin create -f - <<'POD'
apiVersion: v1
kind: Pod
metadata:
  name: userns-cm
spec:
  hostUsers: false
  terminationGracePeriodSeconds: 2
  containers:
  - name: c
    image: localhost/busybox:e2e
    imagePullPolicy: Never
    command: ["sh", "-c", "cat /cm/greeting; echo; exec sleep 3604"]
    volumeMounts:
    - {name: cm, mountPath: /cm}
  volumes:
  - name: cm
    configMap: {name: userns-cm}
POD
  local t0=$SECONDS
  wait_until 180 userns_pod_running || { kubectl_admin describe pod userns-cm | tail -20; false; }
  echo "# join: hostUsers: false pod Running $((SECONDS - t0)) s after it was created" >&3
  # The configMap's file (an idmapped tmpfs of the node) and the service account token (a
  # projected volume, which a standalone kubelet cannot fill) are the pod's root's to read.
  [ "$(kubectl_admin exec userns-cm -- cat /cm/greeting)" = hello-from-the-api-server ]
  run kubectl_admin exec userns-cm -- sh -c 'id -u; stat -L -c "%u:%g" /cm/greeting; wc -c < /var/run/secrets/kubernetes.io/serviceaccount/token'
  echo "$output"
  [ "$status" -eq 0 ]
  [ "${lines[0]}" = 0 ]
  [ "${lines[1]}" = 0:0 ]
  [ "${lines[2]}" -gt 100 ]
  # Its own user namespace: 0 is node id 65536*k (k >= 1), not the node's 0.
  local map inner outer count
  map=$(kubectl_admin exec userns-cm -- cat /proc/self/uid_map)
  echo "pod uid_map: $map"
  read -r inner outer count <<<"$map"
  [ "$inner" = 0 ]
  [ "$count" = 65536 ]
  [ "$outer" -ge 65536 ]
  [ $((outer % 65536)) -eq 0 ]
  # On the VM host: a subordinate id of vmuser, the one the node's map gives node id $outer,
  # so outside the node's own first 65536 (the user and its first 65535 subordinate ids).
  local uid
  uid=$(ps -eo uid=,args= | awk '$2 == "sleep" && $3 == 3604 { print $1; exit }')
  echo "host uid $uid; node map: $(node_uid_map | tr -s ' \n' ' ')"
  [ -n "$uid" ]
  [ "$uid" -ne "$(id -u "$USER_NAME")" ]
  user_subordinate "$uid"
  [ "$(host_to_node "$uid")" = "$outer" ]
  kubectl_admin delete pod userns-cm --wait=false
}

eph_pod_running() {
  [ "$(kubectl_admin get pod eph -o 'jsonpath={.status.phase}')" = Running ]
}

@test "join: a pod that requests and limits ephemeral-storage is scheduled on the node and runs" {
  kubectl_admin create -f - <<'POD'
apiVersion: v1
kind: Pod
metadata:
  name: eph
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - name: c
    image: localhost/busybox:e2e
    imagePullPolicy: Never
    command: ["sleep", "3605"]
    resources:
      requests: {ephemeral-storage: 50Mi}
      limits: {ephemeral-storage: 100Mi}
POD
  wait_until 180 eph_pod_running || { kubectl_admin describe pod eph | tail -20; false; }
  [ "$(kubectl_admin get pod eph -o 'jsonpath={.spec.nodeName}')" = "$NAME" ]
  kubectl_admin delete pod eph --wait=false
}

@test "launcher and engine memory with 10 published Service ports" {
  local i n
  for i in $(seq 10); do
    kubectl_admin create service nodeport "rss$i" --tcp=80:8080
  done
  wait_until 60 ports_published 10
  local status launcher total=0 line child
  status=$(as_user "$USERNODE status --json")
  launcher=$(python3 -c 'import json, sys; print(json.load(sys.stdin)["node"]["launcher_pid"])' <<< "$status")
  # The launcher's children that stay in its network namespace: the slirp engine, the cluster
  # agent (node init is in the node's).
  line="launcher $(rss_kb "$launcher") kB"
  total=$(rss_kb "$launcher")
  for child in $(pgrep -P "$launcher"); do
    [ "$(readlink "/proc/$child/ns/net")" = "$(readlink "/proc/$launcher/ns/net")" ] || continue
    n=$(rss_kb "$child")
    line="$line + $(tr -d '\0' < /proc/$child/comm) $n kB"
    total=$((total + n))
  done
  echo "# join: RSS with 10 Service ports published: $line = $total kB" >&3
  for i in $(seq 10); do
    kubectl_admin delete service "rss$i" > /dev/null
  done
  wait_until 60 ports_published 0
}

# Whether exactly N Service ports are published (beside 10250).
ports_published() {
  [ "$(as_user "$USERNODE ports ls" | grep -c 'service ')" -eq "$1" ]
}

@test "a stopped node goes NotReady; run again, it rejoins under its name with the same client certificate" {
  local pem=/home/$USER_NAME/.local/share/usernode/default/kubelet/pki/kubelet-client-current.pem
  local before
  before=$(openssl x509 -noout -serial -in "$pem")
  as_user "$USERNODE stop"
  local t0=$SECONDS
  wait_until 120 not_ready
  echo "# join: usernode stop to node NotReady: $((SECONDS - t0)) s" >&3
  start_node
  wait_until 180 node_ready
  echo "# join: restarted node Ready again in $(since_join) s" >&3
  [ "$(openssl x509 -noout -serial -in "$pem")" = "$before" ]
  [ "$(kubectl_admin get nodes -o name)" = "node/$NAME" ]
  as_user "$USERNODE stop"
}
