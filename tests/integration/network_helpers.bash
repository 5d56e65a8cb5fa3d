# network_helpers.bash: what network.bats (the slirp TCP path) and network_tcp_kernel.bats (the
# kernel TCP path) share. Each file defines node(): `usernode run` on its path with the test's
# state dir.

setup() {
  setup_state
  state="$BATS_TEST_TMPDIR/state"
  mkdir -p "$state"
  background_pids=()
}

teardown() {
  for pid in "${background_pids[@]}"; do
    kill "$pid" 2>/dev/null || true
  done
}

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# wait_for FILE SECONDS: a bounded wait for a file to appear.
wait_for() {
  local i
  for ((i = 0; i < $2 * 20; i++)); do
    [ -e "$1" ] && return 0
    sleep 0.05
  done
  echo "timed out waiting for $1" >&2
  return 1
}

# alive PID: the process exists and is not a zombie (a container's PID 1 may never reap it).
alive() {
  local stat
  stat=$(ps -o stat= -p "$1" 2>/dev/null) || return 1
  [[ "$stat" != Z* ]]
}

# start_http_server: serves $BATS_TEST_TMPDIR/www on 127.0.0.1:$http_port with a token file.
start_http_server() {
  mkdir -p "$BATS_TEST_TMPDIR/www"
  token=$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')
  echo "$token" >"$BATS_TEST_TMPDIR/www/token"
  http_port=$(free_port)
  python3 -m http.server --bind 127.0.0.1 --directory "$BATS_TEST_TMPDIR/www" "$http_port" \
    >/dev/null 2>&1 3>&- &
  background_pids+=($!)
  # Ready when it answers on the host side.
  python3 "$helpers/fetch.py" "http://127.0.0.1:$http_port/token" 10 >/dev/null
}

# transfer_out MTU: 1 GiB from the node to a receiver on the host's loopback; checksums compared.
transfer_out() {
  port=$(free_port)
  python3 "$helpers/stream.py" listen-recv 127.0.0.1 "$port" "$BATS_TEST_TMPDIR/ready" \
    >"$BATS_TEST_TMPDIR/received" 2>&1 3>&- &
  receiver=$!
  background_pids+=($receiver)
  wait_for "$BATS_TEST_TMPDIR/ready" 10
  run --separate-stderr node --host-loopback --mtu="$1" -- python3 "$helpers/stream.py" send 10.0.2.2 "$port" 1073741824
  [ "$status" -eq 0 ]
  wait "$receiver"
  sent="${lines[-1]}"
  received=$(cat "$BATS_TEST_TMPDIR/received")
  [ "${sent%% *}" = 1073741824 ]
  [ "$received" = "$sent" ]
}

# transfer_in MTU: 1 GiB from a sender on the host's loopback into the node; checksums compared.
transfer_in() {
  port=$(free_port)
  python3 "$helpers/stream.py" listen-send 127.0.0.1 "$port" 1073741824 "$BATS_TEST_TMPDIR/ready" \
    >"$BATS_TEST_TMPDIR/sent" 2>&1 3>&- &
  sender=$!
  background_pids+=($sender)
  wait_for "$BATS_TEST_TMPDIR/ready" 10
  run --separate-stderr node --host-loopback --mtu="$1" -- python3 "$helpers/stream.py" recv 10.0.2.2 "$port"
  [ "$status" -eq 0 ]
  wait "$sender"
  received="${lines[-1]}"
  sent=$(cat "$BATS_TEST_TMPDIR/sent")
  [ "${received%% *}" = 1073741824 ]
  [ "$received" = "$sent" ]
}
