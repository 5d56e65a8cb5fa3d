# test-user.sh: sourced by check.sh and the benchmarks when they run as root.
#
# Makes (once) an ordinary user with subordinate uid/gid ranges and a runtime dir, the way a
# desktop login would, so the tests run usernode as the people it is for.
TEST_USER=${USERNODE_TEST_USER:-usernode-test}

test_user_setup() {
  if ! id "$TEST_USER" >/dev/null 2>&1; then
    useradd --create-home --shell /bin/bash "$TEST_USER" || return 1
  fi
  grep -q "^$TEST_USER:" /etc/subuid 2>/dev/null || usermod --add-subuids 300000-365535 "$TEST_USER" || return 1
  grep -q "^$TEST_USER:" /etc/subgid 2>/dev/null || usermod --add-subgids 300000-365535 "$TEST_USER" || return 1
  TEST_UID=$(id -u "$TEST_USER")
  TEST_HOME=$(getent passwd "$TEST_USER" | cut -d: -f6)
  TEST_RUNTIME_DIR=/run/user/$TEST_UID
  install -d -m 0700 -o "$TEST_USER" -g "$TEST_USER" "$TEST_RUNTIME_DIR" || return 1
}

# run_as_test_user CMD...: CMD as the test user, with a login-like environment.
run_as_test_user() {
  setpriv --reuid "$TEST_USER" --regid "$TEST_USER" --init-groups --reset-env -- \
    env HOME="$TEST_HOME" USER="$TEST_USER" LOGNAME="$TEST_USER" SHELL=/bin/bash \
    PATH=/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin XDG_RUNTIME_DIR="$TEST_RUNTIME_DIR" "$@"
}
