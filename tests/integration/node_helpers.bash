# node_helpers.bash: shared by the node service tests (node.bats, node_supervisor.bats).
#
# The stand-ins for crio and kubelet (tests/helpers/standins) are put first on PATH; they append
# "ROLE EVENT PID TIME" lines to $STANDIN_EVENTS, which the tests read.

TOP=${USERNODE_TOP:-$(cd "$BATS_TEST_DIRNAME/../.." && pwd)}
USERNODE=${USERNODE:-$TOP/usernode}
HELPERS=${USERNODE_HELPERS:-$TOP/build/helpers}

node_test_setup() {
  WORK=$(mktemp -d "${TMPDIR:-/tmp}/usernode-node.XXXXXX")
  export PATH="$TOP/tests/helpers/standins:$PATH"
  export STANDIN_EVENTS=$WORK/events
  export XDG_DATA_HOME=$WORK/data XDG_CONFIG_HOME=$WORK/config
  mkdir -p "$XDG_CONFIG_HOME/usernode"
  : > "$STANDIN_EVENTS"
  # A port of its own per test: with the host's network the kubelet stand-in listens on the host.
  HEALTHZ_PORT=$((12000 + RANDOM % 20000)) # below the ephemeral range
  INI=$WORK/config/usernode/node.ini
  printf '[kubelet]\nhealthz_port = %s\n[supervisor]\nrestart_delay_min = 100ms\nrestart_delay_max = 400ms\n' \
    "$HEALTHZ_PORT" > "$INI"
}

node_test_teardown() {
  if [ -n "${SUP_PID:-}" ] && kill -0 "$SUP_PID" 2>/dev/null; then
    kill -TERM "$SUP_PID" 2>/dev/null
    wait_for 20 "! kill -0 $SUP_PID 2>/dev/null" || kill -KILL "$SUP_PID"
  fi
  # Stand-ins left behind on purpose (grandchildren) by a failed test.
  pkill -KILL -u "$(id -u)" -f "^sleep 1000$" 2>/dev/null || true
  rm -rf "$WORK"
}

# wait_for SECONDS CONDITION: poll CONDITION (a shell snippet) every 50 ms until it holds.
wait_for() {
  local deadline=$((SECONDS + $1))
  while ! eval "$2"; do
    [ $SECONDS -lt $deadline ] || { echo "timed out after $1 s waiting for: $2" >&2; return 1; }
    sleep 0.05
  done
}

# events ROLE EVENT: how many such lines the stand-ins wrote.
events() {
  grep -c "^$1 $2 " "$STANDIN_EVENTS" || true
}

# event_line ROLE EVENT [N]: line number of the Nth such event in the events file (1 = first).
event_line() {
  grep -n "^$1 $2 " "$STANDIN_EVENTS" | sed -n "${3:-1}p" | cut -d: -f1
}
