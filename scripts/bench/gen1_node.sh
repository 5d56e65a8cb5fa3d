#!/bin/sh
# gen1_node.sh STATE: the baseline node of scripts/bench/node_pod.sh, the Usernetes gen1 way.
#
# Runs as the child of
#   rootlesskit --net=slirp4netns --mtu=65520 --copy-up=/etc --copy-up=/run --copy-up=/var/lib \
#     --cgroupns --pidns --ipcns --utsns --propagation=rslave --evacuate-cgroup2=evac
# and writes the CRI-O and kubelet settings of the Kubernetes page "Running Kubernetes Node
# Components as a Non-root User" (tasks/administer-cluster/kubelet-in-userns: CRI-O with
# _CRIO_ROOTLESS=1, storage overlay, cgroup_manager cgroupfs; kubelet with
# KubeletInUserNamespace and cgroupDriver cgroupfs), plus only what a standalone node with
# static pods needs to run at all (paths, the CNI network, the socket kubelet dials), then starts
# crio, waits for its socket, starts kubelet, as gen1's boot scripts did, and waits.
#
# STATE (persistent across runs, like usernode's data dir) holds the storage, so images loaded
# once stay; everything else lives in the copied-up /run, /var/lib and /etc of this run.
# Needs crio, crun, pinns, conmon, kubelet on PATH and the CNI plugins in /usr/lib/cni.
set -eu
state=$1
pods=$state/pods
mkdir -p "$state/storage" "$pods" "$state/logs"

# As gen1's boot/rootlesskit.sh: drop the copied-up symlinks to the host's runtime state (its
# xtables lock, runtimes, CNI and CRI configs) and bind the data dirs on the paths Kubernetes
# hard-codes (/var/log/containers and /var/log/pods among them: /var/log is the host's).
rm -rf /run/xtables.lock /run/netns /run/runc /run/crun /run/containerd /run/containers /run/crio \
  /etc/cni /etc/containerd /etc/crio /etc/kubernetes
for d in /var/lib/kubelet /var/lib/cni /var/log; do
  src=$state/$(echo "$d" | tr / _)
  mkdir -p "$src" "$d"
  mount --bind "$src" "$d"
done
mkdir -p /run/crio
mkdir -p /etc/cni/net.d /etc/crio/crio.conf.d
# gen1's config/cni_net.d/50-bridge.conf: one bridge plugin (CRI-O maps hostPorts itself).
cat >/etc/cni/net.d/50-bridge.conf <<'EOF'
{ "cniVersion": "0.3.0", "name": "u7s-bridge", "type": "bridge", "bridge": "cni0", "isGateway": true, "ipMasq": true,
  "ipam": { "type": "host-local", "subnet": "10.88.0.0/16", "routes": [{ "dst": "0.0.0.0/0" }] } }
EOF

# An image policy where the host has none (Debian's containers-common ships one).
if [ ! -e /etc/containers/policy.json ]; then
  rm -rf /etc/containers
  mkdir -p /etc/containers
  echo '{ "default": [{ "type": "insecureAcceptAnything" }] }' >/etc/containers/policy.json
fi

# The page's CRI-O drop-in (native overlayfs: kernel >= 5.11 needs no fuse-overlayfs)...
cat >/etc/crio/crio.conf.d/00-rootless.conf <<EOF
[crio]
storage_driver = "overlay"
[crio.runtime]
cgroup_manager = "cgroupfs"
EOF
# ...and what this standalone node needs besides: persistent storage, its log dir, the pause image loaded without a registry, Debian's CNI plugin dir, and the
# monitor in the pod's cgroup (the default system.slice does not exist under cgroupfs).
cat >/etc/crio/crio.conf.d/50-bench.conf <<EOF
[crio]
root = "$state/storage"
log_dir = "$state/logs/crio-pods"
[crio.runtime]
conmon_cgroup = "pod"
[crio.image]
pause_image = "localhost/pause:3.10-local"
[crio.network]
plugin_dirs = ["/usr/lib/cni"]
[crio.nri]
enable_nri = false
EOF

# The page's kubelet settings; then those of gen1's own kubelet config (boot/kubelet.sh of
# Usernetes gen1: no local storage isolation, whose rootfs lookup fails in a user namespace and
# stops kubelet's container manager; a relaxed disk-pressure threshold; QoS cgroups without
# enforcing node allocatable; a writable volume plugin dir); then a standalone node's: the CRI-O
# socket, static pods, no authentication to talk to, pod logs somewhere writable.
cat >/var/lib/kubelet/config.yaml <<EOF
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
featureGates:
  KubeletInUserNamespace: true
cgroupDriver: "cgroupfs"
failSwapOn: false
localStorageCapacityIsolation: false
evictionHard:
  nodefs.available: "3%"
cgroupsPerQOS: true
enforceNodeAllocatable: []
volumePluginDir: "$state/kubelet-plugins-exec"
containerRuntimeEndpoint: "unix:///run/crio/crio.sock"
staticPodPath: "$pods"
podLogsDir: "$state/logs/pods"
authentication:
  anonymous:
    enabled: false
  webhook:
    enabled: false
authorization:
  mode: AlwaysAllow
EOF

_CRIO_ROOTLESS=1 crio >"$state/logs/crio.log" 2>&1 &
until [ -S /run/crio/crio.sock ]; do sleep 0.05; done
kubelet --config=/var/lib/kubelet/config.yaml >"$state/logs/kubelet.log" 2>&1 &
echo NODE-STARTED
wait
