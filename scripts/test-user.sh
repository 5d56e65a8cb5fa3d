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

# A second user with no /etc/subuid or /etc/subgid entry: the "no ranges" path, for real.
NOSUBID_USER=${USERNODE_NOSUBID_USER:-usernode-nosubid}

test_user_setup_without_subids() {
  if ! id "$NOSUBID_USER" >/dev/null 2>&1; then
    useradd --create-home --shell /bin/bash "$NOSUBID_USER" || return 1
  fi
  # useradd may have allocated ranges (SUB_UID_COUNT in login.defs): take them away again.
  sed -i "/^$NOSUBID_USER:/d" /etc/subuid /etc/subgid || return 1
  NOSUBID_UID=$(id -u "$NOSUBID_USER")
  NOSUBID_HOME=$(getent passwd "$NOSUBID_USER" | cut -d: -f6)
  install -d -m 0700 -o "$NOSUBID_USER" -g "$NOSUBID_USER" "/run/user/$NOSUBID_UID" || return 1
}

run_as_user_without_subids() {
  setpriv --reuid "$NOSUBID_USER" --regid "$NOSUBID_USER" --init-groups --reset-env -- \
    env HOME="$NOSUBID_HOME" USER="$NOSUBID_USER" LOGNAME="$NOSUBID_USER" SHELL=/bin/bash \
    PATH=/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin XDG_RUNTIME_DIR="/run/user/$NOSUBID_UID" "$@"
}

# run_as_test_user CMD...: CMD as the test user, with a login-like environment.
run_as_test_user() {
  setpriv --reuid "$TEST_USER" --regid "$TEST_USER" --init-groups --reset-env -- \
    env HOME="$TEST_HOME" USER="$TEST_USER" LOGNAME="$TEST_USER" SHELL=/bin/bash \
    PATH=/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin XDG_RUNTIME_DIR="$TEST_RUNTIME_DIR" "$@"
}
