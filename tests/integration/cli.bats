#!/usr/bin/env bats
# The command line: usage errors exit 2, --version, help.

load helpers
bats_require_minimum_version 1.5.0

setup() { setup_state; }

@test "--version prints the version" {
  run "$USERNODE" --version
  [ "$status" -eq 0 ]
  [[ "$output" =~ ^usernode\ [0-9]+\.[0-9]+ ]]
}

@test "--version is the git describe of the build, not a fixed number" {
  run "$USERNODE" --version
  [ "$status" -eq 0 ]
  [ "$output" != "usernode 0.1.0" ]
  if want=$(git -C "$BATS_TEST_DIRNAME" describe --tags --dirty 2>/dev/null); then
    [ "$output" = "usernode $want" ]
  elif want=$(git -C "$BATS_TEST_DIRNAME" describe --always 2>/dev/null); then
    [[ "$output" == "usernode 0.1.0-g$want"* ]]
  fi
}

@test "a missing value is named: 'run: --mtu needs a value', one line" {
  # getopt's optopt was printed with %c: "unknown option -\x04"
  run "$USERNODE" run --mtu
  [ "$status" -eq 2 ]
  [ "$output" = "usernode: error: run: --mtu needs a value; see 'usernode run --help'" ]
  run "$USERNODE" config --render --config
  [ "$status" -eq 2 ]
  [ "$output" = "usernode: error: config: --config needs a value; see 'usernode config --help'" ]
}

@test "an unknown option is one line naming it, for every command" {
  for cmd in run exec ports config logs status stop check ls rm install uninstall images; do
    run "$USERNODE" "$cmd" --frobnicate=1
    [ "$status" -eq 2 ]
    [ "${#lines[@]}" -eq 1 ]
    [ "$output" = "usernode: error: $cmd: unknown option --frobnicate; see 'usernode $cmd --help'" ]
  done
}

@test "-h and --help work on every command, and 'usernode help CMD' is CMD --help" {
  for cmd in run exec ports config logs status stop check ls rm install uninstall images "images load" "images ls"; do
    for flag in -h --help; do
      # shellcheck disable=SC2086 # "images load": the verb is a word of its own
      run "$USERNODE" $cmd "$flag"
      [ "$status" -eq 0 ]
      [[ "${lines[0]}" == "usage: usernode ${cmd%% *}"* ]]
    done
    [ "$cmd" != "${cmd%% *}" ] && continue
    for flag in -h --help; do
      run "$USERNODE" "$cmd" "$flag"
      [ "$status" -eq 0 ]
      [[ "${lines[0]}" == "usage: usernode $cmd"* ]]
    done
    run "$USERNODE" help "$cmd"
    [ "$status" -eq 0 ]
    [[ "${lines[0]}" == "usage: usernode $cmd"* ]]
  done
  run "$USERNODE" help frobnicate
  [ "$status" -eq 2 ]
  [[ "$output" == *'unknown command "frobnicate"'* ]]
}

@test "a --node without a value, or with a name that is no node's, is one line and exit 2 for every command" {
  # images said "unknown option --node" for a missing value; config, logs, status and stop took
  # any --node, "../x" included, into their paths.
  for cmd in exec ports config logs status stop check images install uninstall; do
    run "$USERNODE" "$cmd" --node
    echo "$cmd: $output"
    [ "$status" -eq 2 ]
    [ "$output" = "usernode: error: $cmd: --node needs a value; see 'usernode $cmd --help'" ]
    run "$USERNODE" "$cmd" --node ../x --render kubelet
    echo "$cmd: $output"
    [ "$status" -eq 2 ]
    [ "${#lines[@]}" -eq 1 ]
    [[ "$output" == "usernode: error: $cmd: invalid node name \"../x\""* ]]
  done
  run "$USERNODE" images load --name
  [ "$status" -eq 2 ]
  [ "$output" = "usernode: error: images load: --name needs a value; see 'usernode images load --help'" ]
}

@test "logs -n N of a service without a log: one line, exit 1 (under make asan: nothing leaked)" {
  # The ring of the last N lines was allocated before the log was opened, and not freed when it
  # was not there: LeakSanitizer's report changed the exit status.
  run "$USERNODE" logs --node absent -n 3 kubelet
  echo "$output"
  [ "$status" -eq 1 ]
  [ "${#lines[@]}" -eq 1 ]
  [[ "$output" == *'no log of "kubelet"'* ]]
}

@test "ports takes its options anywhere after the verb" {
  # `ports add --node X SPEC` failed with: invalid port spec "--node"; `ports add --help` was a spec
  run "$USERNODE" ports add --node absent 8080:80
  [ "$status" -eq 1 ]
  [[ "$output" != *"invalid port spec"* ]]
  [[ "$output" == *"/absent/"* ]]
  run "$USERNODE" ports add --help
  [ "$status" -eq 0 ]
  [[ "${lines[0]}" == "usage: usernode ports"* ]]
  run "$USERNODE" ports add --json 8080:80
  [ "$status" -eq 2 ]
}

@test "under --json an error is a JSON object on stdout, with the usual exit status" {
  run --separate-stderr "$USERNODE" status --node absent --json
  [ "$status" -eq 1 ]
  python3 -c 'import json,sys; e=json.loads(sys.argv[1]); assert e["version"] == 1 and "absent" in e["error"]["message"], e' "$output"
  run --separate-stderr "$USERNODE" ports ls --json --frob
  [ "$status" -eq 2 ]
  python3 -c 'import json,sys; e=json.loads(sys.argv[1]); assert "unknown option --frob" in e["error"]["message"], e' "$output"
}

@test "completion scripts are generated from the parsers' option tables" {
  "$USERNODE" completion bash > "$BATS_TEST_TMPDIR/usernode.bash"
  bash -n "$BATS_TEST_TMPDIR/usernode.bash"
  # shellcheck disable=SC1090
  source "$BATS_TEST_TMPDIR/usernode.bash"
  COMP_WORDS=(usernode ports add --n); COMP_CWORD=3; _usernode
  [ "${COMPREPLY[*]}" = "--node" ]
  COMP_WORDS=(usernode run --); COMP_CWORD=2; _usernode
  for opt in --node --state-dir --config --net --mtu --cidr --host-loopback --ipv6 --outbound-addr --dns \
    --net-sandbox --publish --help; do
    [[ " ${COMPREPLY[*]} " == *" $opt "* ]]
  done
  # every option completed for a command is one its parser takes
  # (stop had status's table, and completed a --json that its parser refused)
  for cmd in run check exec ports config logs status stop ls rm install uninstall images; do
    COMP_WORDS=(usernode "$cmd" --); COMP_CWORD=2; _usernode
    for opt in "${COMPREPLY[@]}"; do
      run "$USERNODE" "$cmd" "$opt" --help
      [[ "$output" != *"unknown option"* ]]
    done
  done
  COMP_WORDS=(usernode st); COMP_CWORD=1; _usernode
  [ "${COMPREPLY[*]}" = "status stop" ]
  "$USERNODE" completion zsh > "$BATS_TEST_TMPDIR/_usernode"
  if command -v zsh > /dev/null; then zsh -n "$BATS_TEST_TMPDIR/_usernode"; fi
  grep -q '^#compdef usernode' "$BATS_TEST_TMPDIR/_usernode"
}

@test "the man pages come from the commands' help and the configuration schema" {
  run "$USERNODE" manpage usernode.1
  [ "$status" -eq 0 ]
  page=$output
  for cmd in run check exec ports config logs status stop ls rm install uninstall completion; do
    [[ "$page" == *".SS $cmd"* ]]
  done
  [[ "$page" == *"\\-\\-mtu"* ]]
  run "$USERNODE" manpage usernode.ini.5
  [ "$status" -eq 0 ]
  for key in mode mtu cidr restart_delay_min log_keep command environment; do
    [[ "$output" == *".B $key"* ]]
  done
  [[ "$output" == *".SH [service:NAME]"* ]]
  if command -v groff > /dev/null; then
    "$USERNODE" manpage usernode.1 | groff -man -Tutf8 -ww -z 2>&1 | { ! grep .; }
    "$USERNODE" manpage usernode.ini.5 | groff -man -Tutf8 -ww -z 2>&1 | { ! grep .; }
  fi
}

@test "help lists the commands" {
  run "$USERNODE" help
  [ "$status" -eq 0 ]
  [[ "$output" == *"run"* ]]
  [[ "$output" == *"exec"* ]]
}

@test "an unknown command exits 2" {
  run "$USERNODE" frobnicate
  [ "$status" -eq 2 ]
  [[ "$output" == *'unknown command "frobnicate"'* ]]
}

@test "no command exits 2" {
  run "$USERNODE"
  [ "$status" -eq 2 ]
}

@test "an unknown option of run exits 2" {
  run "$USERNODE" run --frobnicate -- true
  [ "$status" -eq 2 ]
  [[ "$output" == *"unknown option --frobnicate"* ]]
}

@test "an invalid node name exits 2" {
  run "$USERNODE" run --node ../escape -- true
  [ "$status" -eq 2 ]
  [[ "$output" == *'invalid node name "../escape"'* ]]
}

@test "an invalid --net exits 2" {
  run "$USERNODE" run --net=bridge -- true
  [ "$status" -eq 2 ]
  [[ "$output" == *'--net: [network] mode = "bridge"'* ]]
}

@test "config --default prints the default configuration, every key commented" {
  run "$USERNODE" config --default
  [ "$status" -eq 0 ]
  [[ "$output" == *"[network]"* ]]
  [[ "$output" == *"# mode = "* ]]
}

@test "a configuration with an unknown key stops run with exit 2 naming file:line and key" {
  printf '[network]\nmode = none\nbogus = 1\n' > "$BATS_TEST_TMPDIR/node.ini"
  run "$USERNODE" run --config "$BATS_TEST_TMPDIR/node.ini" -- true
  [ "$status" -eq 2 ]
  [[ "$output" == *"node.ini:3: unknown key \"bogus\" in [network]"* ]]
}

@test "a bad value in the configuration names file:line, key, value and what is allowed" {
  printf '[network]\nmode = bridge\n' > "$BATS_TEST_TMPDIR/node.ini"
  run "$USERNODE" run --config "$BATS_TEST_TMPDIR/node.ini" -- true
  [ "$status" -eq 2 ]
  [[ "$output" == *'node.ini:2: [network] mode = "bridge": use one of: slirp host none'* ]]
}

@test "the default configuration file of the node is read when present" {
  mkdir -p "$XDG_CONFIG_HOME/usernode"
  printf '[network]\nmode = none\n' > "$XDG_CONFIG_HOME/usernode/default.ini"
  outside=$(readlink /proc/self/ns/net)
  run "$USERNODE" run -- readlink /proc/self/ns/net
  [ "$status" -eq 0 ]
  [ "$output" != "$outside" ]
}

@test "the printed default configuration loads back" {
  "$USERNODE" config --default > "$BATS_TEST_TMPDIR/node.ini"
  run "$USERNODE" config --render --config "$BATS_TEST_TMPDIR/node.ini"
  [ "$status" -eq 0 ]
  [[ "$output" == *"kubelet.yaml <=="* ]]
  # every key line uncommented as printed, [service:example] included
  sed -E 's/^# ([a-z_]+ = |\[service:)/\1/' "$BATS_TEST_TMPDIR/node.ini" > "$BATS_TEST_TMPDIR/all.ini"
  run "$USERNODE" config --render --config "$BATS_TEST_TMPDIR/all.ini"
  [ "$status" -eq 0 ]
}

@test "--config of a device, a pipe or a directory is refused at once, exit 2" {
  # /dev/zero used to be read forever, a directory taken as an empty file
  run timeout 10 "$USERNODE" config --render --config /dev/zero
  [ "$status" -eq 2 ]
  [[ "$output" == *"/dev/zero is a character device, not a configuration file"* ]]
  run timeout 10 "$USERNODE" run --config "$BATS_TEST_TMPDIR" -- true
  [ "$status" -eq 2 ]
  [[ "$output" == *"is a directory, not a configuration file"* ]]
  mkfifo "$BATS_TEST_TMPDIR/fifo"
  run timeout 10 "$USERNODE" run --config "$BATS_TEST_TMPDIR/fifo" -- true
  [ "$status" -eq 2 ]
  [[ "$output" == *"is a pipe"* ]]
}

@test "a repeated section in the configuration names both lines (exit 2)" {
  printf '[network]\nmode = none\n[cgroup]\n[network]\n' > "$BATS_TEST_TMPDIR/node.ini"
  run "$USERNODE" run --config "$BATS_TEST_TMPDIR/node.ini" -- true
  [ "$status" -eq 2 ]
  [[ "$output" == *"node.ini:4: [network] again (first at line 1)"* ]]
  [ "${#lines[@]}" -eq 1 ]
}

@test "cidr = 127.0.0.0/8 is refused: it leaves the node without network (exit 2)" {
  printf '[network]\ncidr = 127.0.0.0/8\n' > "$BATS_TEST_TMPDIR/node.ini"
  run "$USERNODE" run --config "$BATS_TEST_TMPDIR/node.ini" -- true
  [ "$status" -eq 2 ]
  [[ "$output" == *"node.ini:2: [network] cidr = \"127.0.0.0/8\""*loopback* ]]
}

@test "a missing --config file exits 2" {
  run "$USERNODE" run --config "$BATS_TEST_TMPDIR/absent.ini" -- true
  [ "$status" -eq 2 ]
  [[ "$output" == *"cannot read the configuration"* ]]
}
