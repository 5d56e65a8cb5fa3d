#!/usr/bin/env bats
# usernode ls and usernode rm: the user's nodes, running or not, and removing a stopped one.

bats_require_minimum_version 1.5.0 # `run !`

load helpers

setup() { setup_state; }
teardown() { stop_node; }

@test "ls lists nodes with data, a configuration or a state dir, running or not" {
  mkdir -p "$XDG_DATA_HOME/usernode/alpha" "$XDG_CONFIG_HOME/usernode"
  : > "$XDG_CONFIG_HOME/usernode/beta.ini"
  start_node -- sleep 30
  run "$USERNODE" ls
  [ "$status" -eq 0 ]
  [[ "${lines[0]}" == "NAME"*"STATE"*"PID"*"DATA" ]]
  [[ "$output" == *"alpha"*"stopped"* ]]
  [[ "$output" == *"beta"*"stopped"* ]]
  [[ "$output" =~ default\ +running\ +$NODE_PID ]]
  run "$USERNODE" ls --json
  python3 -c '
import json, sys
d = json.loads(sys.argv[1])
assert d["version"] == 1
nodes = {n["name"]: n for n in d["nodes"]}
assert nodes["default"]["state"] == "running" and nodes["default"]["pid"] == int(sys.argv[2]), nodes
assert nodes["alpha"]["state"] == "stopped" and nodes["alpha"]["data_dir"].endswith("/alpha"), nodes
assert nodes["beta"]["config_file"].endswith("/beta.ini") and nodes["beta"]["data_dir"] is None, nodes
' "$output" "$NODE_PID"
}

# Files the node's subordinate ids own could not be removed by the user at all.
@test "rm removes a stopped node's data, files of subordinate ids included, and keeps its config" {
  data=$XDG_DATA_HOME/usernode/gamma
  mkdir -p "$data" "$XDG_CONFIG_HOME/usernode"
  : > "$XDG_CONFIG_HOME/usernode/gamma.ini"
  run "$USERNODE" run --net none --node gamma -- sh -c \
    "mkdir -p '$data/sub/deep' && touch '$data/sub/deep/f' && chown -R 1000:1000 '$data/sub' && chmod 000 '$data/sub/deep'"
  [ "$status" -eq 0 ]
  [ "$(stat -c %u "$data/sub")" != "$(id -u)" ]
  run ! rm -rf "$data"
  run "$USERNODE" rm gamma
  [ "$status" -eq 0 ]
  [ ! -e "$data" ]
  [ -e "$XDG_CONFIG_HOME/usernode/gamma.ini" ]
}

@test "rm of a running node is refused without --force, and stops it first with --force" {
  start_node -- sleep 30
  mkdir -p "$XDG_DATA_HOME/usernode/default/x"
  run "$USERNODE" rm default
  [ "$status" -eq 1 ]
  [[ "$output" == *"node default is running (pid $NODE_PID)"*"usernode rm --force default"* ]]
  [ -e "$XDG_DATA_HOME/usernode/default/x" ]
  run "$USERNODE" rm --force default
  [ "$status" -eq 0 ]
  run ! kill -0 "$NODE_PID"
  [ ! -e "$XDG_DATA_HOME/usernode/default" ]
  run "$USERNODE" rm default
  [ "$status" -eq 1 ]
  [[ "$output" == *"no node default"* ]]
}

# A fake systemctl on PATH records what install and uninstall ask of the user's systemd; the
# real one runs the unit in the VM harness (not part of this file).
fake_systemctl() {
  mkdir -p "$BATS_TEST_TMPDIR/bin"
  printf '#!/bin/sh\necho "$*" >> "%s"\n' "$BATS_TEST_TMPDIR/systemctl.calls" > "$BATS_TEST_TMPDIR/bin/systemctl"
  chmod +x "$BATS_TEST_TMPDIR/bin/systemctl"
  export PATH="$BATS_TEST_TMPDIR/bin:$PATH"
}

@test "install --print quotes the binary's and the INI file's paths for systemd: blanks, %, \$, quotes and backslashes" {
  dir=$BATS_TEST_TMPDIR/'my nodes 50% $HOME "q" b\s'
  mkdir -p "$dir"
  cp "$USERNODE" "$dir/usernode"
  : >"$dir/n.ini"
  run "$dir/usernode" install --node n2 --config "$dir/n.ini" --print
  echo "$output"
  [ "$status" -eq 0 ]
  q=$BATS_TEST_TMPDIR/'my nodes 50%% $$HOME \"q\" b\\s'
  [[ "$output" == *$'\n'"ExecStart=\"$q/usernode\" run --node n2 --config \"$q/n.ini\""$'\n'* ]]
  nl=$BATS_TEST_TMPDIR/$'line\nbreak'
  mkdir -p "$nl" && : >"$nl/n.ini"
  run "$USERNODE" install --node n2 --config "$nl/n.ini" --print
  [ "$status" -eq 2 ]
  [[ "$output" == *"holds a line break"* ]]
}

@test "install writes a Type=notify, Delegate=yes user unit with a stop timeout from the services' grace" {
  fake_systemctl
  mkdir -p "$XDG_CONFIG_HOME/usernode"
  printf '[crio]\nstop_timeout = 40s\npod_grace_max = 10s\n[kubelet]\nstop_timeout = 20s\n[service:extra]\ncommand = sleep 1\nstop_timeout = 5s\n' \
    > "$XDG_CONFIG_HOME/usernode/n1.ini"
  run "$USERNODE" install --node n1 --now
  [ "$status" -eq 0 ]
  # Without linger the user's systemd, and the node, stop at logout: install says how to keep it.
  if [ ! -e "/var/lib/systemd/linger/$(id -un)" ]; then
    [[ "$output" == *"The node stops when you log out"*"sudo loginctl enable-linger $(id -un)"* ]]
  fi
  unit=$XDG_CONFIG_HOME/systemd/user/usernode-n1.service
  [ -f "$unit" ]
  grep -qx 'Type=notify' "$unit"
  grep -qx 'Delegate=yes' "$unit"
  grep -qx 'KillMode=mixed' "$unit"
  grep -qx 'Restart=on-failure' "$unit"
  grep -qx 'LimitNOFILE=1048576' "$unit"
  # the pod drain (10 + 15 for crictl), crio 40, kubelet 20, extra 5, and 15 for the launcher
  grep -qx 'TimeoutStopSec=105' "$unit"
  grep -qx "ExecStart=\"$USERNODE\" run --node n1" "$unit"
  grep -qx -- '--user daemon-reload' "$BATS_TEST_TMPDIR/systemctl.calls"
  grep -qx -- '--user enable --now usernode-n1.service' "$BATS_TEST_TMPDIR/systemctl.calls"
  run "$USERNODE" uninstall --node n1
  [ "$status" -eq 0 ]
  [ ! -e "$unit" ]
  grep -qx -- '--user disable --now usernode-n1.service' "$BATS_TEST_TMPDIR/systemctl.calls"
  run "$USERNODE" uninstall --node n1
  [ "$status" -eq 1 ]
}
