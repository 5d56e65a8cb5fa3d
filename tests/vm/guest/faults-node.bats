#!/usr/bin/env bats
# The fault matrix of a real node (issue 12): kill -9 of the launcher, the slirp engine, the node
# init, crio and kubelet, TRIALS times each (10; USERNODE_VM_FAULT_TRIALS), as the ordinary user
# in a login session with the real CRI-O and kubelet of /opt/k8s (USERNODE_K8S_BIN). After every
# kill: nothing of what was killed is left, the node recovers (a service or the engine: restarted
# and answering) or is gone whole (the launcher or the init: every process it had, its pid
# namespace and its scope), and a `usernode run` started at once behaves: it starts a new node
# after a launcher or init kill (no "already running", no scope in the way), and is refused
# "already running" while the node recovers from a service or engine kill.
#
# One test per kind; each prints "# faults: KIND PASSED/TRIALS" and what went wrong in every
# failed trial, and fails unless every trial passed. Lean, to keep the phase short under TCG:
# crio, kubelet and engine kills happen on one running node; launcher and init kills each need a
# node of their own, started right after the previous kill (that start is the "immediate run"),
# killed alternately once crio was spawned and once crio answers: a node being torn down while
# its services start is the harder case for cleanup, and one whose crio answers has all its
# mounts, cgroups and crio state. No pods: the kills of crio and kubelet with a pod running are
# node-real.bats's. The node after the last init kill must become ready (crio and kubelet
# healthz) and stop leaving nothing: the full proof that a node started right after a kill works.

load lib

NODE=fm
TRIALS=${USERNODE_VM_FAULT_TRIALS:-10}
LOOPBACK_PORT=18282 # a server on the VM's 127.0.0.1, reached from the node through slirp

export WORK=/tmp/usernode-faults # owned by vmuser; the VM is thrown away, so never removed
export XDG_DATA_HOME=$WORK/data XDG_CONFIG_HOME=$WORK/config
STATE=$XDG_RUNTIME_DIR/usernode/$NODE
LOGS=$XDG_DATA_HOME/usernode/$NODE/logs

in_node() { timeout 60 "$USERNODE" exec --node "$NODE" -- "$@"; }

# node_state: sets s_launcher s_init s_ready s_crio s_crio_pid s_kubelet s_kubelet_pid from
# `usernode status --json` ("-" for what it has not); fails when no node answers.
node_state() {
  local line
  line=$(timeout 20 "$USERNODE" status --node "$NODE" --json 2>/dev/null | python3 "$WORK/state.py") || return 1
  read -r s_launcher s_init s_ready s_crio s_crio_pid s_kubelet s_kubelet_pid <<<"$line"
}
node_ready() { node_state && [ "$s_ready" = ready ]; }

# proc_start PID: the process's start time (field 22 of /proc/PID/stat); fails when it is gone.
proc_start() {
  local line
  read -r line 2>/dev/null <"/proc/$1/stat" || return 1
  line=${line##*) }
  # shellcheck disable=SC2086 # the fields, split
  set -- $line
  echo "${20}"
}
# gone PID START: no process PID with that start time (a reaped one; a zombie still counts).
gone() { [ "$(proc_start "$1")" != "$2" ]; }

# ns_count PID NAME: processes called NAME in the pid namespace of PID.
ns_count() { pgrep --ns "$1" --nslist pid -x "$2" | wc -l; }

# http_get ADDRESS PORT PATH: an HTTP/1.0 GET from inside the node (bash's /dev/tcp: nothing of
# the image's), the whole answer on stdout.
http_get() {
  in_node timeout 10 bash -c 'exec 3<>"/dev/tcp/$0/$1" && printf "GET %s HTTP/1.0\r\n\r\n" "$2" >&3 && cat <&3' "$@" 2>&1
}
# answers ADDRESS PORT PATH BODY: a 200 whose last line is BODY.
answers() {
  local out
  out=$(http_get "$1" "$2" "$3")
  [[ "$out" == "HTTP/1."?" 200"* ]] && [ "$(printf '%s\n' "$out" | tail -n 1 | tr -d '\r')" = "$4" ] || {
    last_answer=$(printf '%s' "$out" | tr '\r\n' ' |' | cut -c1-160)
    return 1
  }
}

problems=
problem() {
  problems+="${problems:+; }$*"
  return 1
}

# ---- runs: `usernode run` in the background, one id each ----

# start_run ID: its launcher pid in WORK/run-ID.pid, its output in .log, its exit status in .rc.
start_run() {
  rm -f "$WORK/run-$1".*
  (
    # errexit, inherited from a test body, would end this subshell with the run, before the echo
    rc=0
    sh -c 'echo $$ >"$0"; exec "$@"' "$WORK/run-$1.pid" "$USERNODE" run --node "$NODE" >"$WORK/run-$1.log" 2>&1 || rc=$?
    echo $rc >"$WORK/run-$1.rc"
  ) 3>&- &
  echo "$1" >"$WORK/current"
  wait_for 10 test -s "$WORK/run-$1.pid"
}
run_pid() { cat "$WORK/run-$1.pid"; }
run_ended() { [ -e "$WORK/run-$1.rc" ]; }
run_log() { tail -n 5 "$WORK/run-$1.log" | tr '\n' '|'; }

# at_point ID POINT: the run's node answers and has got to POINT: "spawned" (crio started),
# "crio" (crio answers), "ready" (every service ready); or the run ended (no use waiting).
at_point() {
  run_ended "$1" && return 0
  node_state && [ "$s_launcher" = "$(run_pid "$1")" ] || return 1
  case $2 in
    spawned) [ "$s_crio_pid" != - ] ;;
    crio) [ "$s_crio" = running ] ;;
    ready) [ "$s_ready" = ready ] ;;
  esac
}
# wait_point ID POINT SECONDS: at_point, and the run still going.
wait_point() {
  wait_for "$3" at_point "$1" "$2" && ! run_ended "$1" ||
    problem "run $1 did not get to '$2' in $3 s (exit $(cat "$WORK/run-$1.rc" 2>/dev/null || echo -): $(run_log "$1"))"
}

# ---- what a killed node was, and what of it is left ----

# snapshot: every process of the node's scope (pid and start time), its pid namespace, the
# scope's invocation id.
snapshot() {
  local cg p s
  cg=$(systemctl --user show -p ControlGroup --value "usernode-$NODE.scope")
  snap_invocation=$(systemctl --user show -p InvocationID --value "usernode-$NODE.scope")
  snap_pidns=$(readlink "/proc/$s_init/ns/pid")
  # now, in the clock ticks of /proc/PID/stat's start time (the kill follows)
  snap_ticks=$(awk -v hz="$(getconf CLK_TCK)" '{ printf "%d", $1 * hz + 1 }' /proc/uptime)
  : >"$WORK/snap.procs"
  [ -n "$cg" ] || return 0
  for p in $(find "/sys/fs/cgroup$cg" -name cgroup.procs -exec cat {} + 2>/dev/null); do
    s=$(proc_start "$p") && echo "$p:$s" >>"$WORK/snap.procs"
  done
}
leftovers() {
  local p s
  while IFS=: read -r p s; do
    gone "$p" "$s" || echo "pid $p ($(tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null | cut -c1-60))"
  done <"$WORK/snap.procs"
  # -lname takes a pattern: the link reads pid:[INODE], brackets and all
  # The kernel reuses a freed namespace's inode number at once, so a process of the node started
  # right after has the same one: only processes older than the kill count.
  local d
  [ -z "$snap_pidns" ] || for d in $(find /proc/[0-9]*/ns/pid -maxdepth 0 -lname "pid:?${snap_pidns//[^0-9]/}?" 2>/dev/null); do
    p=${d#/proc/}
    p=${p%%/*}
    s=$(proc_start "$p") && [ "$s" -le "$snap_ticks" ] && echo "pid $p in the killed node's pid namespace"
  done
  [ -z "$snap_invocation" ] ||
    [ "$(systemctl --user show -p InvocationID --value "usernode-$NODE.scope" 2>/dev/null)" != "$snap_invocation" ] ||
    echo "the scope usernode-$NODE.scope of the killed node"
}
nothing_left() { [ -z "$(leftovers)" ]; }

# The state dir of a running node names it: pid, child_pid, engine.pid of a live engine.
state_dir_names_node() {
  [ "$(cat "$STATE/pid" 2>/dev/null)" = "$s_launcher" ] || problem "state dir pid '$(cat "$STATE/pid" 2>/dev/null)', launcher $s_launcher"
  [ "$(cat "$STATE/child_pid" 2>/dev/null)" = "$s_init" ] || problem "state dir child_pid '$(cat "$STATE/child_pid" 2>/dev/null)', init $s_init"
  local e
  e=$(cat "$STATE/engine.pid" 2>/dev/null)
  [ -n "$e" ] && [ "$(cat "/proc/$e/comm" 2>/dev/null)" = usernode-slirp ] || problem "engine.pid '$e' is no live engine"
  [ ! -e "$STATE/stopping" ] || problem "state dir has 'stopping' for a running node"
}

# ---- trials ----

# fresh_trial KIND N: kill -9 of KIND (launcher or init) of the current run once it got to its
# kill point; a new run at once. Fails, with the reasons in $problems, unless the old node is
# gone whole, the old launcher ended as it should, and the new run gets its node up.
fresh_trial() {
  local kind=$1 n=$2 cur next point target old_launcher
  cur=$(cat "$WORK/current")
  next=$kind-$n
  point=spawned
  [ $((n % 2)) -eq 0 ] && point=crio
  wait_point "$cur" "$point" 300 || return 1
  snapshot
  old_launcher=$s_launcher
  target=$s_launcher
  [ "$kind" = init ] && target=$s_init
  kill -9 "$target"
  start_run "$next"

  wait_for 60 run_ended "$cur" || problem "the killed node's launcher did not end in 60 s"
  local rc
  rc=$(cat "$WORK/run-$cur.rc" 2>/dev/null)
  if [ "$kind" = launcher ]; then
    [ "$rc" = 137 ] || problem "launcher exit '$rc', not 137 (SIGKILL)"
  else
    # The launcher says why the node went and passes on the signal as an exit status.
    [ "$rc" = 137 ] || problem "launcher exit '$rc' after the init's SIGKILL, not 137"
    grep -q "node init (pid $target) was killed by SIGKILL" "$WORK/run-$cur.log" ||
      problem "the launcher did not say the init was killed: $(run_log "$cur")"
  fi
  wait_for 60 nothing_left || problem "left of the killed node after 60 s: $(leftovers | head -n 5 | tr '\n' ' ')"

  ! grep -q "already running" "$WORK/run-$next.log" || problem "the run right after: $(run_log "$next")"
  wait_point "$next" spawned 300 || return 1
  [ "$s_launcher" != "$old_launcher" ] || problem "the new run's node is the old launcher's"
  state_dir_names_node
  [ -z "$problems" ]
}

# service_trial KIND N: kill -9 of crio, kubelet or the slirp engine of the running node. Fails,
# with the reasons in $problems, unless a run at once is refused "already running", the killed
# process is reaped and replaced by one new one that answers, and nothing else changed.
service_trial() {
  local kind=$1 launcher init crio kubelet engine target start
  node_ready || { problem "the node is not ready before the kill"; return 1; }
  launcher=$s_launcher init=$s_init crio=$s_crio_pid kubelet=$s_kubelet_pid
  engine=$(cat "$STATE/engine.pid")
  case $kind in
    crio) target=$crio ;;
    kubelet) target=$kubelet ;;
    engine) target=$engine ;;
  esac
  start=$(proc_start "$target") || { problem "no $kind process $target"; return 1; }
  kill -9 "$target"

  # The node is still there: a second run of it is refused, whatever the state of its services.
  run timeout 60 "$USERNODE" run --node "$NODE"
  [ "$status" -eq 2 ] && [[ "$output" == *"already running"* ]] ||
    problem "a run right after: exit $status: $(echo "$output" | tail -n 2 | tr '\n' '|')"

  wait_for 30 gone "$target" "$start" || problem "the killed $kind (pid $target) was not reaped in 30 s"
  wait_for 180 node_ready || problem "not ready again 180 s after the kill (crio $s_crio, kubelet $s_kubelet)"
  [ "$s_launcher" = "$launcher" ] && [ "$s_init" = "$init" ] || problem "launcher/init changed: $s_launcher/$s_init"
  case $kind in
    crio)
      [ "$s_crio_pid" != "$crio" ] || problem "crio's pid did not change"
      [ "$s_kubelet_pid" = "$kubelet" ] || problem "kubelet was restarted too ($kubelet -> $s_kubelet_pid)"
      in_node crictl info >/dev/null 2>&1 || problem "crictl info fails after crio's restart"
      ;;
    kubelet)
      [ "$s_kubelet_pid" != "$kubelet" ] || problem "kubelet's pid did not change"
      [ "$s_crio_pid" = "$crio" ] || problem "crio was restarted too ($crio -> $s_crio_pid)"
      answers 127.0.0.1 10248 /healthz ok || problem "kubelet's healthz answers: $last_answer"
      ;;
    engine)
      local new
      new=$(cat "$STATE/engine.pid" 2>/dev/null)
      [ -n "$new" ] && [ "$new" != "$engine" ] && [ "$(cat "/proc/$new/comm" 2>/dev/null)" = usernode-slirp ] ||
        problem "no new engine in engine.pid ('$new', was $engine)"
      [ "$(pgrep -u "$(id -u)" -x usernode-slirp | wc -l)" -eq 1 ] || problem "engines: $(pgrep -u "$(id -u)" -x usernode-slirp | tr '\n' ' ')"
      [ "$s_crio_pid" = "$crio" ] && [ "$s_kubelet_pid" = "$kubelet" ] || problem "a service was restarted with the engine"
      # Traffic through the new engine: the VM's loopback from inside the node (host_loopback).
      wait_for 30 answers 10.0.2.2 "$LOOPBACK_PORT" / "through slirp" ||
        problem "no traffic through slirp 30 s after the engine's restart: $last_answer"
      ;;
  esac
  [ "$(ns_count "$init" crio)" -eq 1 ] && [ "$(ns_count "$init" kubelet)" -eq 1 ] ||
    problem "crio x$(ns_count "$init" crio), kubelet x$(ns_count "$init" kubelet) in the node"
  [ -z "$problems" ]
}

# matrix KIND TRIAL_FUNCTION: TRIALS trials; prints "# faults: KIND P/TRIALS" and each failure.
# After three failures in a row the rest are not tried (the node is in no state to go on) and count
# as failed.
matrix() {
  local kind=$1 fn=$2 n passed=0 failed_in_row=0 t0=$SECONDS
  for n in $(seq "$TRIALS"); do
    problems=
    if "$fn" "$kind" "$n"; then
      passed=$((passed + 1))
      failed_in_row=0
    else
      echo "# faults: $kind trial $n: $problems" >&3
      failed_in_row=$((failed_in_row + 1))
      [ "$fn" != fresh_trial ] || recover
      [ $failed_in_row -lt 3 ] ||
        { echo "# faults: $kind: trials $((n + 1))..$TRIALS not tried" >&3; break; }
    fi
  done
  echo "# faults: $kind $passed/$TRIALS ($((SECONDS - t0)) s)" >&3
  echo "$kind $passed/$TRIALS" >>"$WORK/faults.txt"
  [ "$passed" -eq "$TRIALS" ]
}

# After a failed fresh trial: a node to go on with, once nothing of the old one is left.
recover() {
  local cur
  cur=$(cat "$WORK/current")
  if ! run_ended "$cur" && wait_for 10 at_point "$cur" spawned && ! run_ended "$cur"; then
    return 0
  fi
  kill -9 "$(run_pid "$cur")" 2>/dev/null
  wait_for 60 user_node_gone "$NODE"
  start_run "recover-$SECONDS"
}

# ---- the file ----

setup_file() {
  local missing
  missing=$(real_node_missing)
  if [ -n "$missing" ]; then
    export SKIP_REASON="real node: missing in the VM image: $missing"
    return 0
  fi
  export PATH=$USERNODE_K8S_BIN:$PATH
  mkdir -p "$WORK/config/usernode" "$WORK/pods" "$WORK/www"
  rm -f "$WORK/faults.txt"
  cat >"$WORK/config/usernode/$NODE.ini" <<EOF
[network]
host_loopback = true
[crio]
path = $USERNODE_K8S_BIN/crio
runtime = $USERNODE_K8S_BIN/crun
ready_timeout = 300s
stop_timeout = 10s
[kubelet]
path = $USERNODE_K8S_BIN/kubelet
static_pod_path = $WORK/pods
ready_timeout = 300s
stop_timeout = 10s
[supervisor]
# ten kills in a row: the backoff would double to a minute
restart_delay_max = 2s
EOF
  cat >"$WORK/state.py" <<'EOF'
import json, sys
d = json.load(sys.stdin)
n = d.get("node") or {}
if not n:
    sys.exit(1)
s = {x["name"]: x for x in d.get("services") or []}
def f(name, key):
    v = s.get(name, {}).get(key)
    return "-" if v is None else str(v)
print(n.get("launcher_pid") or "-", n.get("pid") or "-", "ready" if d.get("ready") else "notready",
      f("crio", "state"), f("crio", "host_pid"), f("kubelet", "state"), f("kubelet", "host_pid"))
EOF
  echo "through slirp" >"$WORK/www/index.html"
  busybox httpd -f -p "127.0.0.1:$LOOPBACK_PORT" -h "$WORK/www" 3>&- &
  echo $! >"$WORK/httpd.pid"
  date +%s >"$WORK/t0"
}

teardown_file() {
  [ -z "${SKIP_REASON:-}" ] || return 0
  if [ -n "${USERNODE_VM_OUT:-}" ]; then
    mkdir -p "$USERNODE_VM_OUT/faults"
    cp "$WORK"/run-*.log "$WORK/faults.txt" "$LOGS"/*.log "$USERNODE_VM_OUT/faults/" 2>/dev/null || true
  fi
  timeout 60 "$USERNODE" stop --node "$NODE" >/dev/null 2>&1 || true
  kill "$(cat "$WORK/httpd.pid")" 2>/dev/null || true
  echo "# faults: $(($(date +%s) - $(cat "$WORK/t0"))) s from the first run to the end" >&3
}

setup() {
  [ -z "${SKIP_REASON:-}" ] || skip "$SKIP_REASON"
}

@test "faults: kill -9 of the launcher: the node is gone whole, a run at once starts a new one" {
  start_run first
  matrix launcher fresh_trial
}

@test "faults: kill -9 of crio: restarted and answering, kubelet untouched, a run at once refused" {
  wait_point "$(cat "$WORK/current")" ready 300 || { echo "$problems"; false; }
  matrix crio service_trial
}

@test "faults: kill -9 of kubelet: restarted and healthy, crio untouched, a run at once refused" {
  matrix kubelet service_trial
}

@test "faults: kill -9 of the slirp engine: a new one on the same tap carries traffic, a run at once refused" {
  # Traffic through slirp before any kill, or the trials below say nothing about the engine.
  wait_for 30 answers 10.0.2.2 "$LOOPBACK_PORT" / "through slirp" || { echo "before any kill: $last_answer"; false; }
  matrix engine service_trial
}

@test "faults: kill -9 of the node init: the launcher says so and cleans up, a run at once starts a new node" {
  matrix init fresh_trial
}

@test "faults: the node started right after the last kill gets ready, and stops leaving nothing" {
  local cur
  cur=$(cat "$WORK/current")
  wait_point "$cur" ready 300 || { echo "$problems"; false; }
  in_node crictl info >/dev/null
  timeout 120 "$USERNODE" stop --node "$NODE"
  wait_for 60 run_ended "$cur"
  [ "$(cat "$WORK/run-$cur.rc")" = 0 ]
  wait_for 60 user_node_gone "$NODE" || { ps -eo pid,uid,args; false; }
  # Nothing in the state dir claims a node any longer.
  for f in pid child_pid engine.pid api.sock stopping; do
    [ ! -e "$STATE/$f" ] || { ls -la "$STATE"; false; }
  done
}
