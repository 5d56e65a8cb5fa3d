#!/usr/bin/env bats
# Pods with their own user namespace (hostUsers: false) in a real node: CRI-O, crun and kubelet of
# /opt/k8s (USERNODE_K8S_BIN), kernel 6.12, as the ordinary user in a login session. main.sh (as
# root) first gives vmuser a second subordinate range so it has 65536 x 12 ids in all
# (100000:65536 from the image, then 165536:720896): the node then has 786433 ids and kubelet's
# "kubelet" user the 11 pods above the node's own 65536 (launcher/services/pod_userns.h). One
# node for the whole file; the tests run in order. Skipped in one line naming what is missing.

load lib

NODE=un
SUBIDS=$((12 * 65536))

# The user's subordinate uids, all ranges.
subids() { awk -F: -v u="$(id -un)" '$1 == u { n += $3 } END { print n + 0 }' /etc/subuid; }
# The first start in /etc/subuid: with the ranges of main.sh one contiguous block from there.
subid_start() { awk -F: -v u="$(id -un)" '$1 == u { print $2; exit }' /etc/subuid; }

missing_parts() {
  local missing=() b
  [ -n "${USERNODE_K8S_BIN:-}" ] || { echo "USERNODE_K8S_BIN (no /opt/k8s in the image)"; return; }
  for b in crio crun pinns crictl kubelet; do [ -x "$USERNODE_K8S_BIN/$b" ] || missing+=("$b"); done
  for b in conmon skopeo busybox python3 getsubids; do command -v "$b" >/dev/null || missing+=("$b"); done
  [ -f "$BATS_TEST_DIRNAME/make_oci_image.py" ] || missing+=("make_oci_image.py")
  [ -d "$USERNODE_K8S_BIN/../images/pause-3.10-local-oci" ] || missing+=("images/pause-3.10-local-oci")
  [ "$(subids)" -ge "$SUBIDS" ] || missing+=("$SUBIDS subordinate uids for $(id -un) (main.sh adds them as root)")
  echo "${missing[*]}"
}

export WORK=/tmp/usernode-userns-node # owned by vmuser; the VM is thrown away
export XDG_DATA_HOME=$WORK/data XDG_CONFIG_HOME=$WORK/config
STATE=$XDG_RUNTIME_DIR/usernode/$NODE

in_node() { "$USERNODE" exec --node "$NODE" -- "$@"; }
cri() { in_node crictl --runtime-endpoint "unix://$STATE/crio/crio.sock" --timeout 30s "$@"; }
# uid_map NAME: the container's /proc/self/uid_map, without crictl's warnings (stderr).
uid_map() { cri exec "$(container "$1")" cat /proc/self/uid_map 2>/dev/null; }
node_ready() { "$USERNODE" status --node "$NODE" --json 2>/dev/null | grep -q '"ready": *true'; }
# container NAME: the running container's id.
container() { cri ps --name "^$1\$" --state running -q 2>/dev/null | head -n1; }
running() { [ -n "$(container "$1")" ]; }
# uid_map_outer NAME: the node id the container's uid 0 maps to (first line of its uid_map).
uid_map_outer() { uid_map "$1" | awk 'NR == 1 { print $2 }'; }
# host_uid ARG: the VM host's uid of the pod process running `sleep ARG`.
host_uid() { ps -eo uid=,args= | awk -v a="$1" '$2 == "sleep" && $3 == a { print $1; exit }'; }

# static_pod NAME HOSTUSERS SLEEP [volumes]: a busybox pod sleeping SLEEP seconds (unique, to
# find it on the host), with /data (emptyDir), /mem (emptyDir medium Memory) and /info (downward
# API labels, a tmpfs kubelet fills like a projected volume's) when the fourth argument is
# "volumes"; waits until it runs. A projected volume proper needs an API client: a standalone
# kubelet refuses it ("cannot setup projected volume info because kube client is not
# configured"), so it is tested with the join issue's API server.
static_pod() {
  local name=$1 host_users=$2 sleep=$3 mounts='' volumes=''
  if [ "${4:-}" = volumes ]; then
    mounts='
    volumeMounts:
    - {name: data, mountPath: /data}
    - {name: mem, mountPath: /mem}
    - {name: info, mountPath: /info}'
    volumes='
  volumes:
  - {name: data, emptyDir: {}}
  - {name: mem, emptyDir: {medium: Memory}}
  - name: info
    downwardAPI:
      items:
      - {path: labels, fieldRef: {fieldPath: metadata.labels}}'
  fi
  cat >"$WORK/pods/$name.yaml" <<POD
apiVersion: v1
kind: Pod
metadata:
  name: $name
  labels: {app: $name}
spec:
  hostUsers: $host_users
  terminationGracePeriodSeconds: 2
  containers:
  - name: $name
    image: localhost/busybox:vm
    imagePullPolicy: Never
    command: ["sleep", "$sleep"]$mounts$volumes
POD
  local t0=$SECONDS
  wait_for 300 running "$name" || {
    cri pods; cri ps -a
    tail -n 40 "$XDG_DATA_HOME/usernode/$NODE/logs/kubelet.log"
    tail -n 20 "$XDG_DATA_HOME/usernode/$NODE/logs/crio.log"
    grep -h -i -m 5 'mount_setattr\|idmap' "$XDG_DATA_HOME/usernode/$NODE/logs/"*.log
    tail -n 60 "$WORK/specs/probe.log"
    in_node findmnt -o TARGET,FSTYPE,PROPAGATION,OPTIONS -R /var/lib/kubelet
    return 1
  }
  echo "# pod $name running $((SECONDS - t0)) s after its manifest was written" >&3
}

# A "crun" that records each container's config.json in $WORK/specs and, for each of its mounts
# with uidMappings, whether the node's root may make that idmapped mount (tests/helpers/
# idmap_probe, with the container's own user namespace) into
# $WORK/specs/probe.log, then runs the real crun: what the hostUsers: false tests report when a
# container does not start.
write_recording_runtime() {
  local probe
  probe="$(dirname "${PROBE:-/mnt/in/helpers/cgroup_node_probe}")/idmap_probe"
  mkdir -p "$WORK/rt" "$WORK/specs"
  cat >"$WORK/rt/probe.py" <<'PY'
import json, subprocess, sys
spec = json.load(open(sys.argv[1]))
probe = sys.argv[2]
linux = spec.get("linux", {})
userns = [n.get("path") for n in linux.get("namespaces", []) if n.get("type") == "user"]
print("== %s userns=%s uidMappings=%s" % (sys.argv[1], userns, linux.get("uidMappings")))
sources = []
for m in spec.get("mounts", []):
    if m.get("uidMappings") or any(o.startswith(("idmap", "ridmap")) for o in m.get("options", [])):
        print("mount %s <- %s options=%s uidMappings=%s" % (m["destination"], m.get("source"), m.get("options"), m.get("uidMappings")))
        sources.append(m.get("source"))
if sources:
    args = ["-u", userns[0]] if userns and userns[0] else []
    r = subprocess.run([probe] + args + sources, capture_output=True, text=True)
    print(r.stdout + r.stderr, end="")
    for src in sources:
        r = subprocess.run(["findmnt", "-n", "-o", "TARGET,FSTYPE,OPTIONS", "-T", src], capture_output=True, text=True)
        print("findmnt %s: %s" % (src, r.stdout.strip() or r.stderr.strip()))
PY
  cat >"$WORK/rt/crun" <<SH
#!/bin/sh
prev=; bundle=
for a in "\$@"; do [ "\$prev" = --bundle ] && bundle=\$a; prev=\$a; done
if [ -n "\$bundle" ] && [ -f "\$bundle/config.json" ]; then
  cp "\$bundle/config.json" "$WORK/specs/\$prev.json" 2>/dev/null
  { id; grep -E '^Cap(Eff|Bnd)' /proc/self/status; cat /proc/self/uid_map
    python3 "$WORK/rt/probe.py" "\$bundle/config.json" "$probe"; } >>"$WORK/specs/probe.log" 2>&1
fi
exec "$USERNODE_K8S_BIN/crun" "\$@"
SH
  chmod 755 "$WORK/rt/crun"
}

write_ini() { # write_ini NODE EXTRA: the real binaries, static pods from $WORK/pods
  mkdir -p "$WORK/config/usernode" "$WORK/pods"
  cat >"$WORK/config/usernode/$1.ini" <<INI
[crio]
path = $USERNODE_K8S_BIN/crio
runtime = $WORK/rt/crun
pause_image = localhost/pause:3.10-local
[kubelet]
path = $USERNODE_K8S_BIN/kubelet
static_pod_path = $WORK/pods
$2
INI
}

setup_file() {
  local missing
  missing=$(missing_parts)
  if [ -n "$missing" ]; then
    export SKIP_REASON="userns pods: missing: $missing"
    return 0
  fi
  export PATH=$USERNODE_K8S_BIN:$PATH
  write_recording_runtime
  write_ini "$NODE" ""
  local t0=$SECONDS
  "$USERNODE" run --node "$NODE" >>"$WORK/node.log" 2>&1 3>&- &
  echo $! >"$WORK/node.pid"
  wait_for 300 node_ready || { tail -n 30 "$WORK/node.log"; return 1; }
  echo "# node ready $((SECONDS - t0)) s after usernode run" >&3
  python3 "$BATS_TEST_DIRNAME/make_oci_image.py" "$WORK/busybox-oci" vm
  local storage="overlay@$XDG_DATA_HOME/usernode/$NODE/containers/storage+$STATE/containers/storage"
  in_node skopeo copy --quiet "oci:$WORK/busybox-oci:vm" "containers-storage:[$storage]localhost/busybox:vm"
  in_node skopeo copy --quiet "oci:$USERNODE_K8S_BIN/../images/pause-3.10-local-oci:3.10-local" \
    "containers-storage:[$storage]localhost/pause:3.10-local"
}

teardown_file() {
  [ -z "${SKIP_REASON:-}" ] || return 0
  if [ -n "${USERNODE_VM_OUT:-}" ]; then
    mkdir -p "$USERNODE_VM_OUT/userns-pods"
    cp "$WORK/node.log" "$XDG_DATA_HOME/usernode/$NODE/logs/"*.log "$USERNODE_VM_OUT/userns-pods/" 2>/dev/null || true
    cp -r "$WORK/specs" "$USERNODE_VM_OUT/userns-pods/" 2>/dev/null || true
    in_node cat /proc/self/mountinfo >"$USERNODE_VM_OUT/userns-pods/node-mountinfo" 2>&1 || true
    in_node findmnt -o TARGET,FSTYPE,PROPAGATION,OPTIONS -R /var/lib/kubelet >"$USERNODE_VM_OUT/userns-pods/findmnt-kubelet" 2>&1 || true
    in_node "$(dirname "${PROBE:-/x/y}")/idmap_probe" /var/lib/kubelet /var/lib/kubelet/pods /run "$STATE" /var/lib/containers >"$USERNODE_VM_OUT/userns-pods/idmap-probe" 2>&1 || true
  fi
  "$USERNODE" stop --node "$NODE" >/dev/null 2>&1 || true
}

setup() {
  [ -z "${SKIP_REASON:-}" ] || skip "$SKIP_REASON"
}

# The later tests use the first hostUsers: false pod; without it they say so at once instead of
# waiting for pods that cannot start for the same reason.
need_una() {
  running una || skip "the hostUsers: false pod una is not running (see the test that starts it)"
}

@test "userns: with 65536 x 12 subordinate ids kubelet's user holds the 11 pods above the node's own 65536, maxPods 11" {
  run in_node getsubids kubelet
  echo "$output"
  [ "$output" = "0: kubelet 65536 720896" ]
  run in_node getsubids -g kubelet
  [ "$output" = "0: kubelet 65536 720896" ]
  grep -q '^maxPods: 11$' "$STATE/config/kubelet.yaml"
  # kubelet accepted the range (it refuses to start otherwise) and is healthy.
  node_ready
}

@test "userns: a static pod with hostUsers: false runs; its uid 0 is node id 65536*k (k >= 1), not the node's 0" {
  static_pod una false 3601 volumes
  map=$(uid_map una)
  echo "$map"
  read -r inner outer count <<<"$map"
  [ "$inner" = 0 ]
  [ "$count" = 65536 ]
  [ "$outer" -ge 65536 ]
  [ $((outer % 65536)) -eq 0 ]
  run cri exec "$(container una)" id -u
  [ "$output" = 0 ]
}

@test "userns: on the VM host the pod's process runs as a subordinate id outside the node's own first 65536" {
  need_una
  outer=$(uid_map_outer una)
  uid=$(host_uid 3601)
  start=$(subid_start)
  echo "node id $outer, host uid $uid, subordinate ids from $start"
  [ -n "$uid" ]
  # Node id N >= 1 is subordinate id N-1 of the user's ranges (one block from $start here).
  [ "$uid" -eq $((start + outer - 1)) ]
  # Not the user, not one of the node's own ids (the user and subordinate ids start..start+65534).
  [ "$uid" -ne "$(id -u)" ]
  [ "$uid" -ge $((start + 65535)) ]
  [ "$uid" -lt $((start + SUBIDS)) ]
}

@test "userns: two pods with hostUsers: false get disjoint ranges" {
  need_una
  static_pod unb false 3602
  a=$(uid_map_outer una)
  b=$(uid_map_outer unb)
  echo "una at $a, unb at $b"
  [ "$a" -ne "$b" ]
  [ $((a > b ? a - b : b - a)) -ge 65536 ]
  ua=$(host_uid 3601)
  ub=$(host_uid 3602)
  echo "host uids $ua $ub"
  [ $((ua > ub ? ua - ub : ub - ua)) -ge 65536 ]
}

@test "userns: emptyDir (disk and memory) and a downward API volume are readable and writable by the pod's root" {
  need_una
  cid=$(container una)
  run cri exec "$cid" sh -c 'for d in /data /mem; do echo "written by $(id -u)" >$d/f && cat $d/f; done
    stat -c "%n %u:%g %a" /data /mem /info /info/labels; cat /info/labels; echo
    touch /info/new 2>&1; echo "downward API write: $?"'
  echo "$output"
  [ "$status" -eq 0 ]
  [ "${lines[0]}" = "written by 0" ]
  [ "${lines[1]}" = "written by 0" ]
  [[ "$output" == *'app="una"'* ]]
  # Seen from the pod, kubelet's files belong to its root (an idmapped tmpfs mount, Linux >= 6.3).
  [[ "$output" == *"/info/labels 0:0 "* ]]
}

@test "userns: a pod with hostUsers: true still runs beside them, in the node's own user namespace" {
  static_pod unhost true 3603
  map=$(uid_map unhost)
  echo "$map"
  # Read from inside the node's namespace itself: the node's own map, the user's uid first.
  read -r inner outer _ <<<"$map"
  [ "$inner" = 0 ]
  [ "$outer" = "$(id -u)" ]
  # Its root is the node's root: the user itself on the VM host.
  [ "$(host_uid 3603)" -eq "$(id -u)" ]
  running una
  running unb
}

@test "userns: [kubelet] max_pods = 12 does not fit 65536 x 12 ids: the run stops (exit 3) saying to add 851968 (a new range is a map line of its own)" {
  write_ini un12 "max_pods = 12"
  run "$USERNODE" run --node un12
  echo "$output"
  [ "$status" -eq 3 ]
  # The node's line ends at node id 786432 and usermod's range from a free start above 886431
  # does not continue it on the host: all 12 pods must fit that new line, blocks 13..24.
  [[ "$output" == *"[kubelet] max_pods = 12: pods with their own user namespace (hostUsers: false) need 12 x 65536 ids in one run above the node's own 65536, but the subordinate uids and gids of \"$(id -un)\" (786433 ids in the node) hold 11: add 851968 of both, e.g. with: sudo usermod --add-subuids "*" (or set max_pods = auto: 11 pods)"* ]]
  [ ! -e "$XDG_RUNTIME_DIR/usernode/un12/pid" ]
}
