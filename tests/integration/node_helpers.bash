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
  # Names what this test starts: its node's name is in the stand-ins' arguments (state dir), its
  # tag in the grandchildren's (sleep 1000.TAG). Other tests run as the same user at the same time.
  export STANDIN_TAG=$$$RANDOM
  NODE=t$STANDIN_TAG
  HEALTHZ_PORT=$((12000 + RANDOM % 20000)) # below the ephemeral range
  INI=$WORK/config/usernode/node.ini
  printf '[kubelet]\nhealthz_port = %s\n[supervisor]\nrestart_delay_min = 100ms\nrestart_delay_max = 400ms\n' \
    "$HEALTHZ_PORT" > "$INI"
}

# node_test_stop_node: the node this test ran in the background ($NODE_PID), if still running,
# stopped with SIGTERM, and SIGKILLed if it has not ended within 30 s.
node_test_stop_node() {
  if [ -n "${NODE_PID:-}" ] && kill -0 "$NODE_PID" 2>/dev/null; then
    kill -TERM "$NODE_PID"
    wait_for 30 "! kill -0 $NODE_PID 2>/dev/null" || kill -KILL "$NODE_PID"
  fi
}

node_test_teardown() {
  if [ -n "${SUP_PID:-}" ] && kill -0 "$SUP_PID" 2>/dev/null; then
    kill -TERM "$SUP_PID" 2>/dev/null
    wait_for 20 "! kill -0 $SUP_PID 2>/dev/null" || kill -KILL "$SUP_PID"
  fi
  # Grandchildren a failed test left behind, by pid: only this test's (its tag).
  local pid
  for pid in $(grandchildren); do kill -KILL "$pid" 2>/dev/null || true; done
  rm -rf "$WORK"
}

# ini_add SECTION 'key = value'...: set keys in [SECTION] of $INI, replacing a key already there
# and adding the section when absent (a repeated section or key is an error in usernode's INI).
ini_add() {
  python3 - "$INI" "$@" <<'PY'
import sys
path, section, lines = sys.argv[1], "[%s]" % sys.argv[2], sys.argv[3:]
text = open(path).read().splitlines()
if section not in text:
    text.append(section)
start = text.index(section) + 1
end = next((i for i in range(start, len(text)) if text[i].startswith("[")), len(text))
for line in lines:
    key = line.split("=")[0].strip()
    old = [i for i in range(start, end) if text[i].split("=")[0].strip() == key]
    if old:
        text[old[0]] = line
    else:
        text.insert(end, line)
        end += 1
open(path, "w").write("\n".join(text) + "\n")
PY
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

# grandchildren: pids of the `sleep 1000.TAG` processes this test's stand-ins left.
grandchildren() {
  pgrep -u "$(id -u)" -fx "sleep 1000\.$STANDIN_TAG" || true
}

# node_processes: this user's processes that belong to this test's node or supervisor: their
# arguments name its state dir (node name $NODE, or $WORK), or they are its grandchildren.
node_processes() {
  ps -u "$(id -u)" -o pid=,args= | grep -E -e "/$NODE/|$WORK/|sleep 1000\.$STANDIN_TAG" | grep -v -e ' grep ' -e notify_listener || true
}
