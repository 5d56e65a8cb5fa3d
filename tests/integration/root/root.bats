#!/usr/bin/env bats
# Run by scripts/check.sh as root when it is invoked as root.

load ../helpers

setup() {
  setup_state
  [ "$(id -u)" -eq 0 ] || skip "not root"
}

@test "running as root is allowed, with a warning that usernode is meant for ordinary users" {
  run "$USERNODE" run -- true
  [ "$status" -eq 0 ]
  [[ "$output" == *"warning: running as root: usernode is meant for ordinary users"* ]]
}

# tun_as_test_user MODE ARGS...: `usernode run ARGS...` as the ordinary test user, with
# /dev/net/tun a real tun device node (root's, 10:200) of that MODE. The node lives in a mount
# namespace of this test only: the host's /dev/net/tun, which other users' nodes use, is not
# touched, and nothing is left to restore when the test fails.
tun_as_test_user() {
  local mode=$1
  shift
  unshare -m --propagation private bash -c '
    . "$1/scripts/test-user.sh" && test_user_setup >/dev/null || exit 99
    state=$(mktemp -d /tmp/usernode-root-test.XXXXXX) && chown "$TEST_USER" "$state" || exit 99
    trap "rm -rf \"\$state\"" EXIT
    mount -t tmpfs -o mode=0755 tmpfs /dev/net && mknod -m "$2" /dev/net/tun c 10 200 || exit 99
    shift 2
    run_as_test_user "$USERNODE" run --state-dir "$state/node" "$@"' \
    bash "$USERNODE_TOP" "$mode" "$@"
}

@test "a /dev/net/tun an ordinary user may not open stops the run with the fix and exit 3" {
  [ -n "${USERNODE_TOP:-}" ] || skip "USERNODE_TOP is not set (make check sets it)"
  [ -c /dev/net/tun ] || skip "the host has no /dev/net/tun"
  # mode 0600, as on a host where udev did not open it to users
  run tun_as_test_user 0600 -- true
  echo "$output"
  [ "$status" -eq 3 ]
  [ "${#lines[@]}" -eq 1 ]
  [[ "$output" == *"/dev/net/tun may not be opened by this user (Permission denied)"* ]]
  [[ "$output" == *"chmod 0666 /dev/net/tun"* ]]
  [[ "$output" == *"--net=host"* ]]
  # The same device opened to users: the same user's node runs, so the mode was the cause.
  run tun_as_test_user 0666 -- true
  echo "$output"
  [ "$status" -eq 0 ]
  # and --net=host, the other fix named, needs no tun at all
  run tun_as_test_user 0600 --net=host -- true
  echo "$output"
  [ "$status" -eq 0 ]
}

# subids_as_test_user HIDE ARGS...: `usernode ARGS... run --net=none -- cat` of the node's uid
# and gid maps as the test user, in a mount namespace of this test only with 400000:65536 for the
# test user in its own /etc/subuid and /etc/subgid, and when HIDE is 1 an empty file bound over
# libsubid, as if it were not installed.
subids_as_test_user() {
  unshare -m --propagation private bash -c '
    . "$1/scripts/test-user.sh" && test_user_setup >/dev/null || exit 99
    work=$(mktemp -d /tmp/usernode-root-test.XXXXXX) && chown "$TEST_USER" "$work" || exit 99
    trap "rm -rf \"\$work\"" EXIT
    printf "%s:400000:65536\n" "$TEST_USER" >"$work/subuid" && cp "$work/subuid" "$work/subgid" || exit 99
    mount --bind "$work/subuid" /etc/subuid && mount --bind "$work/subgid" /etc/subgid || exit 99
    if [ "$3" = 1 ]; then
      : >"$work/empty" && mount --bind "$work/empty" "$(readlink -f "$2")" || exit 99
    fi
    shift 3
    run_as_test_user "$USERNODE" "$@" run --net=none --state-dir "$work/node" -- cat /proc/self/uid_map /proc/self/gid_map' \
    bash "$USERNODE_TOP" "$lib" "$@"
}

# Issue 11: libsubid is opened at run time by a short-lived child, not linked; where it is not
# installed the ranges come from the files, as they did when libsubid could not answer.
@test "without libsubid the subordinate ranges come from /etc/subuid and /etc/subgid, with the same messages as with it" {
  [ -n "${USERNODE_TOP:-}" ] || skip "USERNODE_TOP is not set (make check sets it)"
  lib=$(/sbin/ldconfig -p | awk '/libsubid\.so\.4 / { print $NF; exit }')
  [ -n "$lib" ] || skip "libsubid is not installed"
  run subids_as_test_user 0
  echo "$output"
  [ "$status" -eq 0 ]
  with=$output
  [ "$(echo "$output" | grep -cE '^ +1 +400000 +65536$')" -eq 2 ]
  run subids_as_test_user 1
  echo "$output"
  [ "$status" -eq 0 ]
  [ "$output" = "$with" ]
  run subids_as_test_user 1 --debug
  echo "$output"
  [ "$status" -eq 0 ]
  [[ "$output" == *"libsubid is not loaded ("*"): reading /etc/subuid"* ]]
  [[ "$output" == *"libsubid is not loaded ("*"): reading /etc/subgid"* ]]
  [ "$(echo "$output" | grep -cE '^ +1 +400000 +65536$')" -eq 2 ]
}

# fallback_as_test_user PREPARE: `usernode run -- true` as the test user without XDG_RUNTIME_DIR,
# in a mount namespace of this test with /tmp a fresh tmpfs, after PREPARE (a shell snippet run
# as root there, with $fallback the test user's fallback dir /tmp/usernode-UID). The host's /tmp,
# where other tests of the same user keep theirs, is not touched.
fallback_as_test_user() {
  unshare -m --propagation private bash -c '
    . "$1/scripts/test-user.sh" && test_user_setup >/dev/null || exit 99
    bin=$(mktemp -d /run/usernode-root-bin.XXXXXX) && cp "$USERNODE" "$bin/usernode" && chmod 0755 "$bin" || exit 99
    trap "rm -rf \"\$bin\"" EXIT
    mount -t tmpfs -o mode=1777 tmpfs /tmp || exit 99
    fallback=/tmp/usernode-$TEST_UID
    eval "$2" || exit 99
    run_as_test_user env -u XDG_RUNTIME_DIR "$bin/usernode" run --net=none -- true' \
    bash "$USERNODE_TOP" "$1"
}

@test "the /tmp fallback state dir: created 0700; refused (exit 2) when another user's, open to others, or a symlink" {
  [ -n "${USERNODE_TOP:-}" ] || skip "USERNODE_TOP is not set (make check sets it)"
  run fallback_as_test_user 'true'
  echo "$output"
  [ "$status" -eq 0 ]
  # created by another user, open to all (what an attacker on a shared machine would do first)
  run fallback_as_test_user 'install -d -m 0777 -o nobody "$fallback"'
  echo "$output"
  [ "$status" -eq 2 ]
  [[ "$output" == *"/tmp/usernode-"*" belongs to uid "* ]]
  # the user's own, but open to others
  run fallback_as_test_user 'install -d -m 0777 -o "$TEST_USER" "$fallback"'
  echo "$output"
  [ "$status" -eq 2 ]
  [[ "$output" == *"is writable by others"* ]]
  # a symlink to a directory of the user's (made by someone else in sticky /tmp)
  run fallback_as_test_user 'install -d -m 0700 -o "$TEST_USER" /tmp/elsewhere && ln -s /tmp/elsewhere "$fallback"'
  echo "$output"
  [ "$status" -eq 2 ]
  [[ "$output" == *"is a symlink"* ]]
}
