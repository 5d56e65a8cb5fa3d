#!/usr/bin/env bats
# `usernode run` without a command under a real systemd with a delegated cgroup subtree: each
# service runs in its own leaf services/NAME, kubelet is rendered with cgroupRoot /kubepods, and
# stopping the node leaves no process; the OCI wrapper, installed here, leaves none of the
# embedded programs' pages in the launcher or the node init. crio and kubelet are
# tests/helpers/fake_service (the VM has no python for the stand-ins).

load lib

setup() {
  export XDG_DATA_HOME=$BATS_TEST_TMPDIR/data XDG_CONFIG_HOME=$BATS_TEST_TMPDIR/config
  bin=$BATS_TEST_TMPDIR/bin
  mkdir -p "$bin"
  for role in crio kubelet conmon pinns crun; do
    ln -s "$(dirname "$PROBE")/fake_service" "$bin/$role"
  done
  export PATH=$bin:$PATH
}

@test "node services: a cgroup leaf each, kubelet's cgroupRoot /kubepods, nothing left after SIGTERM" {
  out=$BATS_TEST_TMPDIR/node.out
  "$USERNODE" run --node vmsvc --net=none >"$out" 2>&1 3>&- &
  pid=$!
  wait_for 60 grep -q 'Node ready' "$out" || { cat "$out"; false; }
  grep -q 'cgroupRoot: "/kubepods"' "$XDG_RUNTIME_DIR/usernode/vmsvc/config/kubelet.yaml"
  run "$USERNODE" exec --node vmsvc -- sh -c 'cat /sys/fs/cgroup/services/crio/cgroup.procs; echo --; cat /sys/fs/cgroup/services/kubelet/cgroup.procs'
  echo "$output"
  [ "$status" -eq 0 ]
  [[ "${lines[0]}" =~ ^[0-9]+$ ]]
  [ "${lines[1]}" = -- ]
  [[ "${lines[2]}" =~ ^[0-9]+$ ]]
  # crio's own leaf has the delegated controllers: CRI-O keeps pod limits only for those it sees.
  run "$USERNODE" exec --node vmsvc -- cat /sys/fs/cgroup/services/crio/cgroup.controllers
  echo "$output"
  [[ " $output " == *" cpu "* && " $output " == *" memory "* && " $output " == *" pids "* ]]
  # crio runs containers through the wrapper, which execs the real runtime.
  grep -q "runtime_path = \"$XDG_RUNTIME_DIR/usernode/vmsvc/oci-runtime/usernode-oci-runtime\"" \
    "$XDG_RUNTIME_DIR/usernode/vmsvc/config/crio.conf"
  [ "$(readlink "$XDG_RUNTIME_DIR/usernode/vmsvc/oci-runtime/runtime")" = "$bin/crun" ]
  kill -TERM $pid
  wait $pid || true
  grep -q 'All services stopped' "$out"
  wait_for 10 no_process "$bin/"
}

# no_embedded_pages PID: the usernode process PID holds no page of the programs its binary carries
# (launcher/config/embedded_programs.h), as tests/helpers/embedded_pages reads them from its pagemap.
no_embedded_pages() {
  local out
  out=$("$(dirname "$PROBE")/embedded_pages" "$1") || return 1
  echo "$1: $out"
  [ "$(wc -l <<<"$out")" -eq 3 ]
  ! grep -qv ' 0 [0-9]*$' <<<"$out"
}

# The host's embedded_programs.bats has no delegated cgroup, so no OCI wrapper: here the launcher
# writes it at the start and the node init compares it again at a reload.
@test "node services: with the OCI wrapper installed, launcher and node init hold no page of the embedded programs, nor after a reload" {
  out=$BATS_TEST_TMPDIR/node.out
  state=$XDG_RUNTIME_DIR/usernode/vmpages
  "$USERNODE" run --node vmpages >"$out" 2>&1 3>&- &
  pid=$!
  wait_for 60 grep -q 'Node ready' "$out" || { cat "$out"; false; }
  [ -x "$state/oci-runtime/usernode-oci-runtime" ]
  [ -s "$state/engine.pid" ]
  no_embedded_pages "$(cat "$state/pid")"
  no_embedded_pages "$(cat "$state/child_pid")"
  kill -HUP $pid
  wait_for 30 grep -q 'reloaded:' "$out" || { cat "$out"; false; }
  no_embedded_pages "$(cat "$state/pid")"
  no_embedded_pages "$(cat "$state/child_pid")"
  kill -TERM $pid
  wait $pid || true
  wait_for 10 no_process "$bin/"
}

@test "under systemd (Type=notify): READY=1 once kubelet is ready, STATUS= shown, service output in the journal" {
  unit=usernode-svc-notify.service
  # systemd-run returns when the start job completes: for Type=notify, when READY=1 arrives.
  run systemd-run --user --quiet --unit="$unit" -p Type=notify -p TimeoutStartSec=60 \
    --setenv=PATH="$PATH" --setenv=XDG_DATA_HOME="$XDG_DATA_HOME" --setenv=XDG_CONFIG_HOME="$XDG_CONFIG_HOME" \
    "$USERNODE" run --node vmnotify --net=none
  echo "$output"
  [ "$status" -eq 0 ]
  systemctl --user is-active --quiet "$unit"
  run systemctl --user show -p StatusText --value "$unit"
  echo "$output"
  [[ "$output" == *"Node ready"* ]]
  # JOURNAL_STREAM was set: the services wrote to the journal under their own names.
  wait_for 20 sh -c "journalctl --user -t crio -o cat --no-pager 2>/dev/null | grep -q 'crio fake listening' ||
                     journalctl -t crio -o cat --no-pager 2>/dev/null | grep -q 'crio fake listening'"
  [ ! -e "$XDG_DATA_HOME/usernode/vmnotify/logs/crio.log" ]
  systemctl --user stop "$unit"
  wait_for 10 no_process "$bin/"
}
