#!/usr/bin/env bats
# The supervisor's policy, on the host without namespaces (tests/helpers/supervise runs the
# same plan and supervisor as `usernode run` does): start order, readiness, restart with
# backoff, crash loop, reload, logs. Real processes (the stand-ins), real sockets.

bats_require_minimum_version 1.5.0 # `run !`

load node_helpers

setup() {
  node_test_setup
  OUT=$WORK/supervise.out
}

teardown() {
  [ -z "${FOLLOWER:-}" ] || kill "$FOLLOWER" 2>/dev/null || true
  node_test_teardown
}

start_supervisor() {
  "$HELPERS/supervise" node "$WORK/state" "$INI" > "$OUT" 2> "$WORK/supervise.err" &
  SUP_PID=$!
}

state_of() { # state_of SERVICE: its last reported state
  grep "^service $1 " "$OUT" | tail -n1 | cut -d' ' -f3
}

pid_of() {
  grep "^service $1 " "$OUT" | tail -n1 | cut -d' ' -f4
}

@test "crio starts first, kubelet only once crio's socket accepts connections, then the node is ready" {
  export STANDIN_CRIO_DELAY=0.5
  start_supervisor
  wait_for 20 "grep -q '^ready$' '$OUT'"
  # kubelet's stand-in itself fails if crio's socket does not accept connections yet.
  [ "$(events kubelet fail)" -eq 0 ]
  [ "$(event_line crio ready)" -lt "$(event_line kubelet start)" ]
  [ "$(event_line kubelet ready)" -gt 0 ]
  [ "$(state_of crio)" = running ]
  [ "$(state_of kubelet)" = running ]
  # "ready" comes after kubelet answered healthz, never before.
  [ "$(grep -n '^ready$' "$OUT" | cut -d: -f1)" -gt "$(grep -n '^service kubelet running' "$OUT" | cut -d: -f1)" ]
}

@test "a slow service is probed less and less often, and its socket is probed the moment it appears" {
  # crio's socket comes after 3 s: probing every 20 ms would be 150 probes, the backoff (20 ms
  # doubling to 200 ms) takes about 20; the one that finds it follows the directory's inotify event.
  export STANDIN_CRIO_DELAY=3 SUPERVISE_DEBUG=1
  start_supervisor
  wait_for 20 "grep -q '^ready$' '$OUT'"
  local err=$WORK/supervise.err probes
  probes=$(grep -c 'crio: not ready yet' "$err")
  echo "crio probed $probes times"
  [ "$probes" -ge 5 ]
  [ "$probes" -le 40 ]
  grep -q 'next probe in 200ms' "$err"
  # The line that says the socket appeared comes right before crio is ready, with no timer probe
  # between them (a bound, not listening, socket may take one quick probe more).
  local appeared ready
  appeared=$(grep -n 'crio: .*crio.sock appeared: probing now' "$err" | tail -n1 | cut -d: -f1)
  ready=$(grep -n 'crio is ready' "$err" | cut -d: -f1)
  [ -n "$appeared" ]
  [ -n "$ready" ]
  [ "$appeared" -lt "$ready" ]
  [ "$(sed -n "${appeared},${ready}p" "$err" | grep -c 'next probe in [0-9]*ms' || true)" -le 1 ]
  [ "$(events kubelet fail)" -eq 0 ]
}

@test "crio's stand-in sees _CRIO_ROOTLESS=1 and a rendered crio.conf" {
  start_supervisor
  wait_for 20 "grep -q '^ready$' '$OUT'"
  [ "$(events crio fail)" -eq 0 ]
  grep -q 'cgroup_manager = "cgroupfs"' "$WORK/state/config/crio.conf"
  grep -q 'KubeletInUserNamespace: true' "$WORK/state/config/kubelet.yaml"
}

@test "a crashing service is restarted with a doubling delay" {
  export STANDIN_KUBELET_CRASH=0
  start_supervisor
  wait_for 30 "[ \$(events kubelet start) -ge 4 ]"
  # Delays 100, 200, 400 ms (max 400): each restart waits at least its delay after the crash.
  run python3 - "$STANDIN_EVENTS" <<'PY'
import sys
lines = [l.split() for l in open(sys.argv[1])]
crashes = [float(l[3]) for l in lines if l[0] == "kubelet" and l[1] == "crash"]
starts = [float(l[3]) for l in lines if l[0] == "kubelet" and l[1] == "start"]
for i, delay in enumerate([0.1, 0.2, 0.4]):
    gap = starts[i + 1] - crashes[i]
    assert gap >= delay - 0.01, f"restart {i + 1}: {gap:.3f}s after the crash, wanted >= {delay}"
print("ok")
PY
  echo "$output"
  [ "$status" -eq 0 ]
  # crio is not touched by kubelet's crashes.
  [ "$(events crio start)" -eq 1 ]
}

@test "a service failing again and again shows as crash-loop, and what comes after it never starts" {
  export STANDIN_CRIO_EXIT=1
  start_supervisor
  wait_for 30 "grep -q '^service crio crash-loop ' '$OUT'"
  [ "$(events kubelet start)" -eq 0 ]
}

@test "restart=never leaves an exited service alone" {
  ini_add crio 'restart = never'
  export STANDIN_CRIO_CRASH=0
  start_supervisor
  wait_for 20 "[ \"\$(state_of crio)\" = exited ]"
  # Proving that something does not happen needs a wait: a restart would come after 100 ms.
  sleep 0.5
  [ "$(events crio start)" -eq 1 ]
}

@test "SIGTERM stops kubelet before crio, SIGKILLs what ignores SIGTERM after its grace period" {
  ini_add kubelet 'stop_timeout = 300ms'
  export STANDIN_KUBELET_IGNORE_TERM=1
  start_supervisor
  wait_for 20 "grep -q '^ready$' '$OUT'"
  kubelet_pid=$(pid_of kubelet)
  crio_pid=$(pid_of crio)
  kill -TERM "$SUP_PID"
  wait_for 20 "! kill -0 $SUP_PID 2>/dev/null"
  [ "$(event_line kubelet sigterm-ignored)" -lt "$(event_line crio sigterm)" ]
  run ! kill -0 "$kubelet_pid"
  run ! kill -0 "$crio_pid"
  grep -q '^service kubelet stopped ' "$OUT"
  grep -q '^service crio stopped ' "$OUT"
}

@test "stop: after kubelet and before crio's SIGTERM, every container is stopped with its pod's grace period, at most pod_grace_max" {
  printf '[crio]\npod_grace_max = 5s\n' >> "$INI"
  export STANDIN_CRICTL_PS='{"containers":[
    {"id":"c1","state":"CONTAINER_RUNNING","annotations":{"io.kubernetes.pod.terminationGracePeriod":"2"}},
    {"id":"c2","state":"CONTAINER_RUNNING","annotations":{"io.kubernetes.pod.terminationGracePeriod":"600"}},
    {"id":"c3","state":"CONTAINER_RUNNING","annotations":{}}]}'
  export STANDIN_CRICTL_STOP_SLEEP=0.5
  start_supervisor
  wait_for 20 "grep -q '^ready$' '$OUT'"
  kill -TERM "$SUP_PID"
  wait_for 30 "! kill -0 $SUP_PID 2>/dev/null"
  cat "$STANDIN_EVENTS"
  grep -q '^crictl stop --timeout=2 c1 ' "$STANDIN_EVENTS"
  grep -q '^crictl stop --timeout=5 c2 ' "$STANDIN_EVENTS"   # 600 s, bounded
  grep -q '^crictl stop --timeout=5 c3 ' "$STANDIN_EVENTS"   # no annotation: kubelet's 30 s, bounded
  # Then every pod removed in one call, after the last container's stop returned.
  [ "$(grep -c '^crictl rmp ' "$STANDIN_EVENTS")" -eq 1 ]
  grep -q '^crictl rmp --all --force ' "$STANDIN_EVENTS"
  [ "$(grep -n '^crictl stop ' "$STANDIN_EVENTS" | tail -n1 | cut -d: -f1)" -lt "$(event_line crictl rmp)" ]
  [ "$(event_line kubelet sigterm)" -lt "$(event_line crictl ps)" ]
  # crio gets SIGTERM only once every stop returned (each takes 0.5 s).
  last_stop=$(grep -n '^crictl rmp ' "$STANDIN_EVENTS" | tail -n1 | cut -d: -f1)
  [ "$last_stop" -lt "$(event_line crio sigterm)" ]
  grep -q '^service crio stopped ' "$OUT"
}

@test "stop: a pod drain that hangs is cut off after pod_grace_max and a margin, then crio stops" {
  printf '[crio]\npod_grace_max = 1s\n' >> "$INI"
  export STANDIN_CRICTL_PS='{"containers":[{"id":"c1","state":"CONTAINER_RUNNING"}]}'
  export STANDIN_CRICTL_STOP_SLEEP=1000
  start_supervisor
  wait_for 20 "grep -q '^ready$' '$OUT'"
  kill -TERM "$SUP_PID"
  # 1 s + the 15 s margin, then crio's own stop.
  wait_for 40 "! kill -0 $SUP_PID 2>/dev/null"
  grep -q 'did not stop within 16s' "$WORK/supervise.err"
  [ "$(events crio sigterm)" -ge 1 ]
  # The hanging crictl went with the drain's process group.
  wait_for 5 "! pgrep -u $(id -u) -xf 'sleep 1000' >/dev/null"
}

@test "SIGHUP restarts only the service whose configuration changed" {
  start_supervisor
  wait_for 20 "grep -q '^ready$' '$OUT'"
  crio_pid=$(pid_of crio)
  kubelet_pid=$(pid_of kubelet)
  sed -i "s/^healthz_port = .*/healthz_port = $((HEALTHZ_PORT + 1))/" "$INI"
  kill -HUP "$SUP_PID"
  wait_for 20 "[ \$(events kubelet ready) -ge 2 ]" || { tail -5 "$WORK/data/usernode/node/logs/kubelet.log"; false; }
  wait_for 20 "[ \"\$(state_of kubelet)\" = running ] && [ \"\$(pid_of kubelet)\" != $kubelet_pid ]"
  [ "$(pid_of crio)" = "$crio_pid" ]
  [ "$(events crio start)" -eq 1 ]
  grep -q "healthzPort: $((HEALTHZ_PORT + 1))" "$WORK/state/config/kubelet.yaml"
}

@test "SIGHUP starts a new [service:NAME] after kubelet and stops a removed one" {
  start_supervisor
  wait_for 20 "grep -q '^ready$' '$OUT'"
  ini_add 'service:extra' 'command = sleep 1000' 'environment = A=1' 'restart = always'
  kill -HUP "$SUP_PID"
  wait_for 20 "[ \"\$(state_of extra)\" = running ]"
  extra_pid=$(pid_of extra)
  kill -0 "$extra_pid"
  sed -i '/^\[service:extra\]/,$d' "$INI"
  kill -HUP "$SUP_PID"
  wait_for 20 "! kill -0 $extra_pid 2>/dev/null"
  [ "$(events crio start)" -eq 1 ]
  [ "$(events kubelet start)" -eq 1 ]
}

@test "a service's output goes to DATA/logs/NAME.log, rotated by size, three files kept" {
  ini_add supervisor 'log_max_size = 100K' 'log_keep = 3'
  export STANDIN_CRIO_OUTPUT=350000
  start_supervisor
  wait_for 20 "grep -q '^ready$' '$OUT'"
  logs=$WORK/data/usernode/node/logs
  wait_for 20 "[ -f $logs/crio.log.2 ]"
  [ ! -e "$logs/crio.log.3" ]
  [ "$(stat -c %s "$logs/crio.log.1")" -le 102400 ]
  run "$USERNODE" logs --node node crio
  [ "$status" -eq 0 ]
  [[ "$output" == *"crio stand-in started"* ]]
  [[ "$output" == *"crio output xxx"* ]]
}

@test "a missing crio stops before anything starts, naming it and where it looked (exit 3)" {
  ini_add crio 'path = crio-not-installed'
  run "$HELPERS/supervise" node "$WORK/state" "$INI"
  [ "$status" -eq 3 ]
  [[ "$output" == *'"crio-not-installed" not found (looked in '*standins* ]]
  [ "$(events kubelet start)" -eq 0 ]
}

@test "kubelet gets --config-dir when the drop-in dir exists, and restarts when a drop-in changes" {
  mkdir -p "$WORK/dropins"
  echo 'maxPods: 50' > "$WORK/dropins/10-pods.conf"
  ini_add kubelet "dropin_dir = $WORK/dropins"
  start_supervisor
  wait_for 20 "grep -q '^ready$' '$OUT'"
  kubelet_pid=$(pid_of kubelet)
  grep -q -- "--config-dir=$WORK/dropins" "/proc/$kubelet_pid/cmdline"
  crio_pid=$(pid_of crio)
  echo 'maxPods: 60' > "$WORK/dropins/10-pods.conf"
  kill -HUP "$SUP_PID"
  wait_for 20 "[ \$(events kubelet ready) -ge 2 ]"
  [ "$(pid_of crio)" = "$crio_pid" ]
}

@test "SIGHUP with a broken configuration keeps every service running as it was" {
  start_supervisor
  wait_for 20 "grep -q '^ready$' '$OUT'"
  crio_pid=$(pid_of crio)
  kubelet_pid=$(pid_of kubelet)
  ini_add kubelet 'healthz_port = seventy'
  kill -HUP "$SUP_PID"
  wait_for 20 "grep -q 'reload failed, the services keep running' '$WORK/supervise.err'"
  grep -q 'healthz_port = "seventy"' "$WORK/supervise.err"
  kill -0 "$crio_pid"
  kill -0 "$kubelet_pid"
  [ "$(events kubelet start)" -eq 1 ]
}

@test "SIGHUP without any configuration file reads the defaults (no file is required)" {
  # Node "nofile" has no $XDG_CONFIG_HOME/usernode/nofile.ini.
  "$HELPERS/supervise" nofile "$WORK/state" > "$OUT" 2> "$WORK/supervise.err" &
  SUP_PID=$!
  # Defaults: healthz on 10248, which another test's node may hold; crio is enough here.
  wait_for 20 "grep -q '^service crio running' '$OUT'"
  kill -HUP "$SUP_PID"
  wait_for 20 "grep -q 'reloaded: 0 restarted, 0 added, 0 removed' '$WORK/supervise.err'"
  run ! grep -q 'reload failed' "$WORK/supervise.err"
}

@test "usernode logs -f follows a service's log as it is written, across a rotation" {
  # Every kubelet run writes 3000 bytes: the second run's rotate kubelet.log under the follower.
  ini_add supervisor 'log_max_size = 4K'
  export STANDIN_KUBELET_OUTPUT=3000
  start_supervisor
  wait_for 20 "grep -q '^ready$' '$OUT'"
  "$USERNODE" logs --node node -f kubelet > "$WORK/follow.out" 2>&1 &
  FOLLOWER=$!
  wait_for 10 "grep -q 'kubelet stand-in started' '$WORK/follow.out'"
  sed -i "s/^healthz_port = .*/healthz_port = $((HEALTHZ_PORT + 1))/" "$INI"
  kill -HUP "$SUP_PID"
  wait_for 20 "[ -e '$WORK/data/usernode/node/logs/kubelet.log.1' ]"
  wait_for 20 "[ \$(grep -c 'kubelet stand-in started' '$WORK/follow.out') -ge 2 ]"
}
