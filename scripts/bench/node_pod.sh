#!/usr/bin/env bash
# node_pod.sh: a real node, start to a static pod's container Running, usernode against the
# Usernetes gen1 way (rootlesskit 1.1 + slirp4netns running gen1_node.sh), alternating, ROUNDS
# rounds; also the stop time and the idle RSS of what each tool itself runs (usernode: launcher +
# node init + slirp engine; gen1: rootlesskit parent + child + slirp4netns), measured once the
# container runs. Prints table rows as lib.sh's row() does.
#
# Runs in the VM of tests/vm (scripts/bench/node_vm.sh boots it) as the ordinary user, in a login
# session: both nodes get a delegated cgroup (usernode its transient scope, rootlesskit a
# `systemd-run --user --scope -p Delegate=yes` one). The same binaries (USERNODE_K8S_BIN), the same
# busybox pod and images, loaded once into each node's persistent storage before the rounds.
# Env: USERNODE, USERNODE_K8S_BIN, ROUNDS (default 3); BENCH_RAW=1 prints every sample on stderr;
# BENCH_SAMPLES=FILE appends each sample to FILE as it is taken; BENCH_LOGS=DIR receives both
# nodes' crio and kubelet logs (and, if a pod never runs, what crictl shows) when the script ends.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
: "${USERNODE:?}" "${USERNODE_K8S_BIN:?}"
rounds=${ROUNDS:-3}
export PATH=$USERNODE_K8S_BIN:$PATH:/usr/sbin:/sbin
work=${BENCH_WORK:-/tmp/usernode-bench-node}
mkdir -p "$work"
export XDG_DATA_HOME=$work/data XDG_CONFIG_HOME=$work/config
node=bench
pods=$work/pods
gen1=$work/gen1
mkdir -p "$XDG_CONFIG_HOME/usernode" "$pods" "$gen1/pods"

row() {
  local ratio
  ratio=$(awk -v a="$2" -v b="$3" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }')
  printf '| %s | %s %s | %s %s (%s) | %s x (%s is better) |\n' "$1" "$2" "$4" "$3" "$4" "$5" "$ratio" "${6:-lower}"
}
median() { sort -n | awk '{ a[NR] = $1 } END { if (NR) print (NR % 2 ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2) }'; }
now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.2f", b - a }'; }
# wait_until SECONDS CMD...: polls every 0.2 s; fails after SECONDS.
wait_until() {
  local deadline=$((SECONDS + $1))
  shift
  until "$@" >/dev/null 2>&1; do
    [ $SECONDS -lt $deadline ] || { echo "node_pod.sh: timed out waiting for: $*" >&2; return 1; }
    sleep 0.2
  done
}
# sample FILE VALUE: one measurement, kept in $work and, as it comes, in $BENCH_SAMPLES.
sample() { echo "$2" >>"$work/$1"; [ -z "${BENCH_SAMPLES:-}" ] || echo "$1 $2" >>"$BENCH_SAMPLES"; }
# The logs of both nodes, for finding where the time goes (kubelet's and crio's timestamps).
save_logs() {
  [ -n "${BENCH_LOGS:-}" ] || return 0
  mkdir -p "$BENCH_LOGS/usernode" "$BENCH_LOGS/gen1"
  # || true: under set -e a missing file would end the trap before the next copy.
  # The launcher's stderr as launcher.log: DATA/logs/usernode.log (the node init's lines, stamped) has its name.
  cp "$work/usernode.log" "$BENCH_LOGS/usernode/launcher.log" 2>/dev/null || true
  cp "$XDG_DATA_HOME/usernode/$node/logs/"*.log "$BENCH_LOGS/usernode/" 2>/dev/null || true
  cp "$work/gen1.log" "$gen1/logs/"*.log "$BENCH_LOGS/gen1/" 2>/dev/null || true
  return 0
}
trap save_logs EXIT
rss_kib() { local p t=0; for p in "$@"; do t=$((t + $(awk '/^VmRSS:/ { print $2 }' "/proc/$p/status"))); done; echo $t; }
# rollup_kib FIELD PID...: the sum of one smaps_rollup field of the processes, in KiB.
rollup_kib() { local field=$1 p t=0; shift; for p in "$@"; do t=$((t + $(awk -v f="$field:" '$1 == f { print $2 }' "/proc/$p/smaps_rollup"))); done; echo $t; }
# PSS too: it splits the pages the processes share (with each other and the rest of the VM).
pss_kib() { rollup_kib Pss "$@"; }
# uss_kib PID...: the pages mapped by one process alone (Private_Clean + Private_Dirty): what its
# exit would free. Shared library text counts in RSS once per process and here not at all.
uss_kib() { echo $(($(rollup_kib Private_Clean "$@") + $(rollup_kib Private_Dirty "$@"))); }
# thp_kib PID...: their anonymous memory in transparent huge pages (2 MiB each), as smaps counts it.
thp_kib() { rollup_kib AnonHugePages "$@"; }
# cpu_s PID...: CPU seconds (user + system) the processes have used so far.
cpu_s() { local p; for p in "$@"; do awk '{ print $14 + $15 }' "/proc/$p/stat"; done | awk -v hz="$(getconf CLK_TCK)" '{ t += $1 } END { printf "%.2f\n", t / hz }'; }
# scope_cpu_s PID: CPU seconds of everything in PID's scope so far, exited processes included
# (CNI plugins, conmon, the OCI runtime): cpu.stat of the nearest *.scope above PID's cgroup.
scope_cpu_s() {
  local path
  path=$(awk -F: '$1 == "0" { print $3 }' "/proc/$1/cgroup")
  while [ -n "$path" ] && [[ $path != *.scope ]]; do path=${path%/*}; done
  awk '$1 == "usage_usec" { printf "%.2f", $2 / 1e6 }' "/sys/fs/cgroup$path/cpu.stat"
}
# cpu_samples PREFIX OWN_PIDS: where the CPU went from start to container Running: the whole
# scope, the tool's own processes, crio and kubelet (one node runs at a time).
cpu_samples() {
  local prefix=$1
  shift
  sample "$prefix.cpu_scope" "$(scope_cpu_s "$1")"
  # shellcheck disable=SC2086
  sample "$prefix.cpu_own" "$(cpu_s "$@")"
  sample "$prefix.cpu_own_each" "$(for p in "$@"; do cpu_s "$p"; done | paste -sd/)"
  sample "$prefix.cpu_crio" "$(cpu_s $(pgrep -u "$(id -u)" -x crio))"
  sample "$prefix.cpu_kubelet" "$(cpu_s $(pgrep -u "$(id -u)" -x kubelet))"
}

cat >"$XDG_CONFIG_HOME/usernode/$node.ini" <<EOF
[crio]
path = $USERNODE_K8S_BIN/crio
runtime = $USERNODE_K8S_BIN/crun
pause_image = localhost/pause:3.10-local
ready_timeout = 300s
[kubelet]
path = $USERNODE_K8S_BIN/kubelet
static_pod_path = $pods
ready_timeout = 300s
EOF
pod_yaml='apiVersion: v1
kind: Pod
metadata:
  name: bb
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - name: bb
    image: localhost/busybox:vm
    imagePullPolicy: Never
    command: ["sleep", "3600"]'
[ -d "$work/busybox-oci" ] || python3 "$here/../../tests/vm/guest/make_oci_image.py" "$work/busybox-oci" vm
pause_oci=$USERNODE_K8S_BIN/../images/pause-3.10-local-oci

# usernode -------------------------------------------------------------------------------------
u_state=$XDG_RUNTIME_DIR/usernode/$node
u_crictl() { "$USERNODE" exec --node "$node" -- crictl "$@"; }
# Both nodes are watched the same way: nsenter into the node's init, then busybox wget of
# kubelet's healthz, and the container's process on the host (a `usernode status` or `usernode
# exec` per poll would add its own start, and its CPU next to crio's and kubelet's, to usernode's
# side only).
u_in() { nsenter --preserve-credentials -U -m -n -p -t "$(cat "$u_state/child_pid")" "$@"; }
# The container runs once its process does: `sleep 3600` on the host, a subordinate uid (one node
# runs at a time). Not crictl: polled every 0.2 s, a Go program under emulation kept most of one of
# the VM's two CPUs busy while kubelet and crio started the pod, on both sides alike.
container_running() { pgrep -f '^sleep 3600$' >/dev/null; }
u_running() { container_running; }
u_ready() { [ -s "$u_state/child_pid" ] && u_in busybox wget -qO /dev/null http://127.0.0.1:10248/healthz; }
u_status_ready() { "$USERNODE" status --node "$node" --json 2>/dev/null | grep -q '"ready": *true'; }
u_gone() { [ ! -e "$u_state/api.sock" ] && ! pgrep -u "$(id -u)" -x 'crio|kubelet|conmon' >/dev/null && ! container_running; }
# The launcher's lines get the time they were read (the node init's are stamped in DATA/logs).
stamp() { local line; while IFS= read -r line; do printf '%s %s\n' "$EPOCHREALTIME" "$line"; done; }
u_start() {
  echo "$EPOCHREALTIME usernode run" >>"$work/usernode.log"
  { "$USERNODE" run --node "$node" 2>&1 3>&- | stamp >>"$work/usernode.log"; } &
}
u_load() {
  local storage="overlay@$XDG_DATA_HOME/usernode/$node/containers/storage+$u_state/containers/storage"
  u_start
  wait_until 600 u_status_ready
  "$USERNODE" exec --node "$node" -- skopeo copy --quiet "oci:$work/busybox-oci:vm" "containers-storage:[$storage]localhost/busybox:vm"
  "$USERNODE" exec --node "$node" -- skopeo copy --quiet "oci:$pause_oci:3.10-local" "containers-storage:[$storage]localhost/pause:3.10-local"
  "$USERNODE" stop --node "$node"
  wait_until 60 u_gone
}
# save_maps SIDE NAME PID: the process's RSS per mapped file (anonymous as [anon]), largest first,
# in KiB, into the saved logs: where its idle memory is (the last round's; not in the table).
save_maps() {
  [ -n "${BENCH_LOGS:-}" ] || return 0
  mkdir -p "$BENCH_LOGS/$1"
  awk '/^[0-9a-f]+-[0-9a-f]+ / { name = ($6 == "" ? "[anon]" : $6) } $1 == "Rss:" { rss[name] += $2 }
    END { for (n in rss) if (rss[n]) print rss[n], n }' "/proc/$3/smaps" | sort -rn >"$BENCH_LOGS/$1/maps-$2.txt" || true
}
u_round() {
  local t0 pids
  t0=$(now)
  sample u.t0 "$t0"
  u_start
  wait_until 300 u_ready
  sample u.ready "$(since "$t0")"
  wait_until 300 u_running
  sample u.run "$(since "$t0")"
  # shellcheck disable=SC2046
  cpu_samples u $(cat "$u_state/pid" "$u_state/child_pid" "$u_state/engine.pid")
  sleep 5 # idle: the pod runs, nothing else happens
  pids="$(cat "$u_state/pid") $(cat "$u_state/child_pid") $(cat "$u_state/engine.pid")"
  # shellcheck disable=SC2086
  sample u.rss "$(rss_kib $pids)"
  # shellcheck disable=SC2086
  sample u.rss_each "$(for p in $pids; do rss_kib "$p"; done | paste -sd/)"
  # shellcheck disable=SC2086
  sample u.pss "$(pss_kib $pids)"
  # shellcheck disable=SC2086
  sample u.pss_each "$(for p in $pids; do pss_kib "$p"; done | paste -sd/)"
  # shellcheck disable=SC2086
  sample u.thp "$(thp_kib $pids)"
  # shellcheck disable=SC2086
  sample u.uss "$(uss_kib $pids)"
  # shellcheck disable=SC2086
  sample u.uss_each "$(for p in $pids; do uss_kib "$p"; done | paste -sd/)"
  save_maps usernode launcher "$(cat "$u_state/pid")"
  save_maps usernode init "$(cat "$u_state/child_pid")"
  save_maps usernode engine "$(cat "$u_state/engine.pid")"
  t0=$(now)
  "$USERNODE" stop --node "$node"
  sample u.stop "$(since "$t0")"
  wait_until 60 u_gone
}

# gen1: rootlesskit + slirp4netns + gen1_node.sh ------------------------------------------------
g_child() { cat "$work/rk/child_pid" 2>/dev/null; }
g_socket() { local c; c=$(g_child) && [ -n "$c" ] && [ -S "/proc/$c/root/run/crio/crio.sock" ]; }
g_started() { [ -n "$(g_child)" ]; }
# -p too: the mount namespace's /proc is the new pid namespace's, where only its members exist.
g_in() { nsenter --preserve-credentials -U -m -n -p -t "$(g_child)" "$@"; }
g_crictl() { g_in crictl --runtime-endpoint unix:///run/crio/crio.sock "$@"; }
g_running() { container_running; }
g_ready() { g_in busybox wget -qO /dev/null http://127.0.0.1:10248/healthz; }
g_gone() { ! pgrep -u "$(id -u)" -x 'crio|kubelet|conmon|rootlesskit|slirp4netns' >/dev/null && ! container_running; }
g_start() {
  rm -rf "$work/rk"
  systemd-run --user --scope --quiet -p Delegate=yes \
    rootlesskit --net=slirp4netns --mtu=65520 --copy-up=/etc --copy-up=/run --copy-up=/var/lib \
    --cgroupns --pidns --ipcns --utsns --propagation=rslave --evacuate-cgroup2=evac \
    --state-dir="$work/rk" "$here/gen1_node.sh" "$gen1" >>"$work/gen1.log" 2>&1 3>&- &
  g_pid=$!
}
g_load() {
  g_start
  wait_until 120 g_socket
  g_in skopeo copy --quiet "oci:$work/busybox-oci:vm" "containers-storage:[overlay@$gen1/storage+/run/containers/storage]localhost/busybox:vm"
  g_in skopeo copy --quiet "oci:$pause_oci:3.10-local" "containers-storage:[overlay@$gen1/storage+/run/containers/storage]localhost/pause:3.10-local"
  g_stop
}
g_stop() {
  kill -TERM "$g_pid" # systemd-run --scope execs rootlesskit: this is its parent process
  wait "$g_pid" 2>/dev/null || true
  wait_until 60 g_gone
}
g_round() {
  local t0 parent child slirp
  t0=$(now)
  sample g.t0 "$t0"
  g_start
  wait_until 120 g_started
  wait_until 240 g_ready || { tail -n 25 "$work/gen1.log" "$gen1/logs/crio.log" "$gen1/logs/kubelet.log" >&2; return 1; }
  sample g.ready "$(since "$t0")"
  wait_until 300 g_running || {
    [ -z "${BENCH_LOGS:-}" ] || { mkdir -p "$BENCH_LOGS/gen1"; { g_crictl pods; g_crictl ps -a; } >"$BENCH_LOGS/gen1/crictl.txt" 2>&1; }
    return 1
  }
  sample g.run "$(since "$t0")"
  child=$(g_child)
  parent=$(ps -o ppid= -p "$child" | tr -d ' ')
  slirp=$(pgrep -u "$(id -u)" -x slirp4netns | head -n1)
  cpu_samples g "$parent" "$child" "$slirp"
  sleep 5
  sample g.rss "$(rss_kib "$parent" "$child" "$slirp")"
  sample g.rss_each "$(for p in "$parent" "$child" "$slirp"; do rss_kib "$p"; done | paste -sd/)"
  sample g.pss "$(pss_kib "$parent" "$child" "$slirp")"
  sample g.pss_each "$(for p in "$parent" "$child" "$slirp"; do pss_kib "$p"; done | paste -sd/)"
  sample g.thp "$(thp_kib "$parent" "$child" "$slirp")"
  sample g.uss "$(uss_kib "$parent" "$child" "$slirp")"
  sample g.uss_each "$(for p in "$parent" "$child" "$slirp"; do uss_kib "$p"; done | paste -sd/)"
  save_maps gen1 parent "$parent"
  save_maps gen1 child "$child"
  save_maps gen1 slirp4netns "$slirp"
  t0=$(now)
  g_stop
  sample g.stop "$(since "$t0")"
}

: >"$work/u.ready"; : >"$work/g.ready"; : >"$work/u.run"; : >"$work/g.run"; : >"$work/u.stop"; : >"$work/g.stop"; : >"$work/u.rss"; : >"$work/g.rss"
for f in u.rss_each g.rss_each u.pss g.pss u.pss_each g.pss_each u.thp g.thp u.uss g.uss u.uss_each g.uss_each; do : >"$work/$f"; done
for f in cpu_scope cpu_own cpu_own_each cpu_crio cpu_kubelet; do : >"$work/u.$f"; : >"$work/g.$f"; done
u_load
g_load
printf '%s\n' "$pod_yaml" >"$pods/bb.yaml"
printf '%s\n' "$pod_yaml" >"$gen1/pods/bb.yaml"
for i in $(seq "$rounds"); do
  if [ $((i % 2)) -eq 1 ]; then u_round; g_round; else g_round; u_round; fi
done
if [ -n "${BENCH_RAW:-}" ]; then
  for f in u.ready g.ready u.run g.run u.stop g.stop u.rss g.rss u.thp g.thp u.uss g.uss u.cpu_scope g.cpu_scope u.cpu_own g.cpu_own u.cpu_crio g.cpu_crio u.cpu_kubelet g.cpu_kubelet; do echo "node_pod.sh $f: $(tr '\n' ' ' <"$work/$f")" >&2; done
fi
gen1_label="rootlesskit 1.1 + slirp4netns + sh, Usernetes gen1"
row "real node: run to container Running (median of $rounds)" "$(median <"$work/u.run")" "$(median <"$work/g.run")" s "$gen1_label"
row "real node: run to kubelet healthy (median of $rounds)" "$(median <"$work/u.ready")" "$(median <"$work/g.ready")" s "$gen1_label"
row "real node: CPU from run to container Running, whole scope (median of $rounds)" "$(median <"$work/u.cpu_scope")" "$(median <"$work/g.cpu_scope")" s "$gen1_label"
row "real node: the same, the tool's own processes (usernode launcher/init/engine $(paste -sd' ' "$work/u.cpu_own_each"); gen1 parent/child/slirp4netns $(paste -sd' ' "$work/g.cpu_own_each"))" "$(median <"$work/u.cpu_own")" "$(median <"$work/g.cpu_own")" s "$gen1_label"
row "real node: the same, crio" "$(median <"$work/u.cpu_crio")" "$(median <"$work/g.cpu_crio")" s "$gen1_label"
row "real node: the same, kubelet" "$(median <"$work/u.cpu_kubelet")" "$(median <"$work/g.cpu_kubelet")" s "$gen1_label"
row "real node: stop (median of $rounds)" "$(median <"$work/u.stop")" "$(median <"$work/g.stop")" s "$gen1_label; its stop kills crio and kubelet with the pid namespace"
# each FILE: the per-process values (a/b/c KiB) of the round whose sum is the median, in MiB.
each() {
  local sums=${1%_each}
  paste -d' ' "$work/$sums" "$work/$1" | sort -n | awk '{ v[NR] = $2 } END { print v[int((NR + 1) / 2)] }' |
    awk -F/ '{ for (i = 1; i <= NF; i++) printf "%s%.1f", (i > 1 ? "/" : ""), $i / 1024 }'
}
row "real node: idle RSS of the tool's own processes (median of $rounds; usernode launcher/init/engine $(each u.rss_each), gen1 $(each g.rss_each))" \
  "$(median <"$work/u.rss" | awk '{ printf "%.1f", $1 / 1024 }')" "$(median <"$work/g.rss" | awk '{ printf "%.1f", $1 / 1024 }')" MiB \
  "rootlesskit parent + child + slirp4netns"
row "real node: idle PSS of the same processes (median of $rounds; $(each u.pss_each), gen1 $(each g.pss_each))" \
  "$(median <"$work/u.pss" | awk '{ printf "%.1f", $1 / 1024 }')" "$(median <"$work/g.pss" | awk '{ printf "%.1f", $1 / 1024 }')" MiB \
  "rootlesskit parent + child + slirp4netns"
row "real node: idle USS of the same processes, the pages each maps alone (median of $rounds; $(each u.uss_each), gen1 $(each g.uss_each))" \
  "$(median <"$work/u.uss" | awk '{ printf "%.1f", $1 / 1024 }')" "$(median <"$work/g.uss" | awk '{ printf "%.1f", $1 / 1024 }')" MiB \
  "rootlesskit parent + child + slirp4netns"
# RSS less the transparent huge pages (AnonHugePages): with THP "always" (Debian's kernel, this VM)
# a Go heap gets 2 MiB pages, rootlesskit's 10-12 MiB of its RSS in the VM bench; hosts set to
# "madvise" or "never" do not give them. Per round, then the median.
paste -d' ' "$work/u.rss" "$work/u.thp" | awk '{ print $1 - $2 }' >"$work/u.rss_nothp"
paste -d' ' "$work/g.rss" "$work/g.thp" | awk '{ print $1 - $2 }' >"$work/g.rss_nothp"
row "real node: the same RSS less transparent huge pages (median of $rounds; gen1's were $(median <"$work/g.thp" | awk '{ printf "%.1f", $1 / 1024 }') MiB, usernode's $(median <"$work/u.thp" | awk '{ printf "%.1f", $1 / 1024 }'))" \
  "$(median <"$work/u.rss_nothp" | awk '{ printf "%.1f", $1 / 1024 }')" "$(median <"$work/g.rss_nothp" | awk '{ printf "%.1f", $1 / 1024 }')" MiB \
  "rootlesskit parent + child + slirp4netns"
