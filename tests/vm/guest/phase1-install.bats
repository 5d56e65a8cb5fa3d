#!/usr/bin/env bats
# `usernode install` under the VM's real systemd, as the ordinary user: the unit it writes is
# what the user's manager runs. Type=notify reaches active once the node is ready, the node's
# processes live in the unit's delegated cgroup, `systemctl --user stop` stops it within the
# unit's TimeoutStopSec leaving nothing, `usernode uninstall` removes it. crio and kubelet are
# tests/helpers/fake_service, as in phase1-services.bats: the unit's behaviour is what is tested.
#
# The unit goes where the user's manager reads units ($HOME/.config/systemd/user: the manager
# has no XDG_CONFIG_HOME of the test's), so XDG_CONFIG_HOME is left alone here; a drop-in
# gives the manager's node the stand-ins' PATH, as a user's own drop-in would.

bats_require_minimum_version 1.5.0 # `run !`

load lib

setup() {
  node=vminst
  unit=usernode-$node.service
  unit_file=$HOME/.config/systemd/user/$unit
  dropin=$HOME/.config/systemd/user/$unit.d
  bin=$BATS_TEST_TMPDIR/bin
  mkdir -p "$bin" "$dropin"
  for role in crio kubelet conmon pinns crun; do
    ln -s "$(dirname "$PROBE")/fake_service" "$bin/$role"
  done
  # A blank, a % (a specifier to systemd) and a $ in its path: the unit quotes it for systemd.
  ini=$BATS_TEST_TMPDIR/'my node 50% $x'/$node.ini
  mkdir -p "$(dirname "$ini")"
  printf '[network]\nmode = none\n' >"$ini"
  printf '[Service]\nEnvironment=PATH=%s:/usr/local/bin:/usr/bin:/bin\nEnvironment=XDG_DATA_HOME=%s\n' \
    "$bin" "$BATS_TEST_TMPDIR/data" >"$dropin/test.conf"
}

teardown() {
  systemctl --user stop "$unit" 2>/dev/null || true
  [ ! -e "$unit_file" ] || "$USERNODE" uninstall --node "$node" || true
  rm -rf "$dropin"
  systemctl --user daemon-reload
  systemctl --user reset-failed "$unit" 2>/dev/null || true
}

# every_node_process_in CGROUP: the launcher and each stand-in run below CGROUP.
every_node_process_in() {
  local pid main n=0
  main=$(systemctl --user show -p MainPID --value "$unit")
  for pid in $main $(pgrep -u "$(id -u)" -f "$bin/"); do
    n=$((n + 1))
    grep -q "^0::$1/" "/proc/$pid/cgroup" || grep -qx "0::$1" "/proc/$pid/cgroup" ||
      { echo "pid $pid is in $(cat "/proc/$pid/cgroup"), not $1"; return 1; }
  done
  # the launcher, crio and kubelet at least
  [ "$n" -ge 3 ] || { echo "only $n processes"; return 1; }
}

# journal_has TEXT: the unit's journal (the user's, else the system's) has a line with TEXT.
# With $main_pid set, also the lines of that process: journald names a line's unit from the
# writer's cgroup in /proc, and for a process of a user unit that has exited by then it cannot
# (systemd issue 2913), so the launcher's last lines, written as it ends, may carry no unit. The
# stream's _PID is the launcher's, whichever of the node's processes wrote to it; $since (the
# test's start) keeps out an earlier process of the same PID.
journal_has() {
  { journalctl --user -u "$unit" -o cat --no-pager 2>/dev/null
    journalctl --user-unit "$unit" -o cat --no-pager 2>/dev/null
    if [ -n "${main_pid:-}" ]; then
      journalctl --user --since "$since" "_PID=$main_pid" -o cat --no-pager 2>/dev/null
      journalctl --since "$since" "_PID=$main_pid" -o cat --no-pager 2>/dev/null
    fi; } | grep -qF -- "$1"
}

@test "install --now: the user unit (Type=notify) is active once the node is ready, in its delegated cgroup; stop is clean and on time; uninstall removes it" {
  [ -e "/var/lib/systemd/linger/$(id -un)" ] # the image lingers vmuser: install has nothing to say of it
  since=@$(date +%s)
  run "$USERNODE" install --node "$node" --config "$ini" --now
  echo "$output"
  [ "$status" -eq 0 ]
  [[ "$output" == *"wrote $unit_file"* ]]
  [[ "$output" != *"enable-linger"* ]]
  # enable --now returns when the start job is done: for Type=notify, once READY=1 arrived.
  [ "$(systemctl --user is-active "$unit")" = active ]
  [ "$(systemctl --user is-enabled "$unit")" = enabled ]
  [ "$(systemctl --user show -p Type --value "$unit")" = notify ]
  [ "$(systemctl --user show -p KillMode --value "$unit")" = mixed ]
  [ "$(systemctl --user show -p Delegate --value "$unit")" = yes ]
  [[ "$(systemctl --user show -p StatusText --value "$unit")" == *"Node ready"* ]]
  run "$USERNODE" status --node "$node"
  echo "$output"
  [ "$status" -eq 0 ]
  [[ "${lines[0]}" == "node $node: ready, pid "* ]]
  cg=$(systemctl --user show -p ControlGroup --value "$unit")
  [[ "$cg" == */"$unit" ]]
  every_node_process_in "$cg"
  # The launcher made the unit's delegated subtree the node's: the controllers reach its leaves.
  run cat "/sys/fs/cgroup$cg/cgroup.subtree_control"
  echo "$output"
  [[ " $output " == *" memory "* && " $output " == *" pids "* ]]

  stop_sec=$(sed -n 's/^TimeoutStopSec=//p' "$unit_file")
  [ "$stop_sec" -gt 0 ]
  main_pid=$(systemctl --user show -p MainPID --value "$unit")
  [ "$main_pid" -gt 0 ]
  t0=$SECONDS
  systemctl --user stop "$unit"
  took=$((SECONDS - t0))
  echo "stop took $took s of TimeoutStopSec=$stop_sec"
  [ "$took" -lt "$stop_sec" ]
  # The launcher ended by itself, status 0, after stopping the services: systemd killed nothing.
  [ "$(systemctl --user show -p Result --value "$unit")" = success ]
  [ "$(systemctl --user show -p ExecMainStatus --value "$unit")" = 0 ]
  wait_for 20 journal_has "All services stopped"
  run ! journal_has "SIGKILL"
  run ! journal_has "left-over process"
  no_process "$bin/"
  [ ! -e "$XDG_RUNTIME_DIR/usernode/$node" ]
  [ ! -d "/sys/fs/cgroup$cg" ]

  run "$USERNODE" uninstall --node "$node"
  echo "$output"
  [ "$status" -eq 0 ]
  [[ "$output" == *"removed $unit_file"* ]]
  [ ! -e "$unit_file" ]
  run systemctl --user is-enabled "$unit"
  [ "$status" -ne 0 ]
}

@test "install without --now enables but does not start; systemctl --user start runs the node; uninstall of a running node stops it" {
  run "$USERNODE" install --node "$node" --config "$ini"
  echo "$output"
  [ "$status" -eq 0 ]
  [ "$(systemctl --user is-enabled "$unit")" = enabled ]
  run systemctl --user is-active "$unit"
  [ "$output" = inactive ]
  systemctl --user start "$unit"
  [ "$(systemctl --user is-active "$unit")" = active ]
  run "$USERNODE" status --node "$node"
  [[ "${lines[0]}" == "node $node: ready, pid "* ]]
  run "$USERNODE" uninstall --node "$node"
  echo "$output"
  [ "$status" -eq 0 ]
  run systemctl --user is-active "$unit"
  [ "$output" != active ]
  no_process "$bin/"
  [ ! -e "$XDG_RUNTIME_DIR/usernode/$node" ]
  [ ! -e "$unit_file" ]
}

node_ready() { "$USERNODE" status --node "$node" 2>/dev/null | head -1 | grep -q "^node $node: ready, pid "; }

@test "kill -9 of the launcher: systemd ends what it left (KillMode=mixed) and Restart=on-failure brings the node back" {
  run "$USERNODE" install --node "$node" --config "$ini" --now
  [ "$status" -eq 0 ]
  main=$(systemctl --user show -p MainPID --value "$unit")
  [ "$main" -gt 0 ]
  old_crio=$(pgrep -u "$(id -u)" -f "$bin/crio")
  kill -9 "$main"
  # RestartSec=5s: a new launcher, a new crio, the old one gone, the node ready again.
  wait_for 60 sh -c "m=\$(systemctl --user show -p MainPID --value $unit); [ \"\$m\" -gt 0 ] && [ \"\$m\" != $main ]"
  wait_for 60 node_ready
  [ "$(systemctl --user is-active "$unit")" = active ]
  [ "$(systemctl --user show -p NRestarts --value "$unit")" -ge 1 ]
  new_crio=$(pgrep -u "$(id -u)" -f "$bin/crio")
  [ "$(echo "$new_crio" | wc -w)" -eq 1 ] # the old crio did not outlive its launcher
  [ "$new_crio" != "$old_crio" ]
  systemctl --user stop "$unit"
  no_process "$bin/"
}
