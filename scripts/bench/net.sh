#!/usr/bin/env bash
# net.sh: outbound TCP throughput of the node's network, usernode's embedded libslirp against
# slirp4netns (what rootlesskit and Usernetes use) and pasta (passt's namespace mode, what Podman
# picks), driven the same way.
#
# An iperf3 server listens on the host's 127.0.0.1; an iperf3 client inside a fresh network
# namespace reaches it through 10.0.2.2 (host loopback allowed), once through usernode's engine,
# once through slirp4netns --enable-sandbox --enable-seccomp, once through pasta (which maps the
# gateway address to the host's loopback), rotating which goes first, at MTU 1500 and 65520.
# usernode runs twice: tcp_path = kernel, the default (the node's kernel terminates the TCP, the
# engine splices it to a host socket; netns/tcp_redirect.h), and tcp_path = slirp.
# Prints one markdown table: Gbps and their ratios, each engine's peak RSS and CPU seconds per GB.
#
# Env: ROUNDS (default 3), SECONDS_PER_RUN (default 8), USERNODE (default ./usernode),
#      USERNODE_BEFORE=another usernode binary to measure in the same rounds (a change's before),
#      BENCH_RAW=1 to print every run's numbers on stderr, REVERSE=1 to measure host -> node
#      (iperf3 -R) instead, PASTA=another pasta binary (default: the one on PATH, Debian 12's
#      passt 2023-03, which a Podman user on Debian 12 gets).
#
# Debian 12's pasta is slow node -> host here for reasons of its own, not of this script:
# before passt commit 1ee2f7c (2023-03-21, "tcp: Don't reset ACK_TO_TAP_DUE on any ACK") it stops
# acknowledging the namespace's data until a timer or the sender's RTO, and a pasta built from
# that commit does 6.7-7.7 Gbit/s at MTU 65520 where its parent does 0.02-0.4 (docs/DESIGN.md,
# "The kernel TCP path"). PASTA=/path/to/newer/pasta measures a fixed one in the same rounds.
# As root it runs itself as the unprivileged test user (scripts/test-user.sh), as check.sh does.
set -euo pipefail
cd "$(dirname "$0")/../.."
top=$(pwd)

if [ "$(id -u)" -eq 0 ]; then
  scripts/install-deps.sh bench
  # shellcheck source=scripts/test-user.sh
  . scripts/test-user.sh
  test_user_setup
  [ -c /dev/net/tun ] && chmod 0666 /dev/net/tun
  exec setpriv --reuid "$TEST_USER" --regid "$TEST_USER" --init-groups --reset-env -- \
    env HOME="$TEST_HOME" USER="$TEST_USER" PATH=/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin \
    XDG_RUNTIME_DIR="$TEST_RUNTIME_DIR" PASTA="${PASTA:-}" ROUNDS="${ROUNDS:-}" SECONDS_PER_RUN="${SECONDS_PER_RUN:-}" BENCH_RAW="${BENCH_RAW:-}" REVERSE="${REVERSE:-}" \
    USERNODE="${USERNODE:-$top/usernode}" USERNODE_BEFORE="${USERNODE_BEFORE:-}" \
    bash "$top/scripts/bench/net.sh"
fi

rounds=${ROUNDS:-3}
duration=${SECONDS_PER_RUN:-8}
direction="node -> host loopback" reverse_flag=
if [ -n "${REVERSE:-}" ]; then
  direction="host loopback -> node" reverse_flag=-R
fi
usernode=${USERNODE:-$top/usernode}
pasta=${PASTA:-pasta}
for tool in iperf3 slirp4netns "$pasta" unshare python3; do
  command -v "$tool" >/dev/null || { echo "net.sh: $tool missing; run scripts/install-deps.sh bench" >&2; exit 3; }
done

work=$(mktemp -d /tmp/usernode-bench-net.XXXXXX)
server_pid=
cleanup() {
  [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT

port=$((20000 + RANDOM % 10000))
iperf3 -s -B 127.0.0.1 -p "$port" >"$work/server.log" 2>&1 &
server_pid=$!

# wait_for FILE SECONDS: poll until FILE exists; fails after the deadline.
wait_for() {
  local deadline=$((SECONDS + $2))
  until [ -e "$1" ]; do
    [ $SECONDS -lt $deadline ] || return 1
    sleep 0.05
  done
}

# The client, run inside the node: iperf3, then hold the network until the engine was sampled.
client_script() {
  cat <<EOS
iperf3 -c 10.0.2.2 -p $port -t $duration $reverse_flag -J > "$1/iperf.json" || true
touch "$1/done"
i=0; while [ ! -e "$1/sampled" ] && [ \$i -lt 600 ]; do sleep 0.05; i=\$((i+1)); done
EOS
}

# sample_engine PID DIR: peak RSS (KiB) and CPU ticks of the engine into DIR/engine.
sample_engine() {
  local rss ticks
  rss=$(awk '/^VmHWM:/ {print $2}' "/proc/$1/status")
  ticks=$(awk '{print $14 + $15}' "/proc/$1/stat")
  echo "$rss $ticks" >"$2/engine"
}

# node_run MTU DIR BINARY [FLAG...]: BINARY's node runs the client.
node_run() {
  local mtu=$1 dir=$2 pid usernode=$3
  shift 3
  mkdir -p "$dir/state"
  client_script "$dir" >"$dir/client.sh"
  # No config file of the user's: both tools get exactly the flags below.
  XDG_CONFIG_HOME="$dir/config" "$usernode" run --state-dir "$dir/state" --mtu "$mtu" --host-loopback "$@" \
    -- sh "$dir/client.sh" >"$dir/node.log" 2>&1 &
  pid=$!
  wait_for "$dir/done" $((duration + 30)) || { cat "$dir/node.log" >&2; return 1; }
  sample_engine "$(cat "$dir/state/engine.pid")" "$dir"
  touch "$dir/sampled"
  wait "$pid" || true
}

# run_usernode MTU DIR: usernode with tcp_path = slirp (libslirp's own TCP stack).
run_usernode() {
  node_run "$1" "$2" "$usernode" --tcp-path=slirp
}

# run_before MTU DIR: USERNODE_BEFORE with its defaults.
run_before() {
  node_run "$1" "$2" "$USERNODE_BEFORE"
}

# run_kernel MTU DIR: usernode with tcp_path = kernel, the default.
run_kernel() {
  node_run "$1" "$2" "$usernode" --tcp-path=kernel
}

# run_slirp4netns MTU DIR
run_slirp4netns() {
  local mtu=$1 dir=$2 pid ns s4n
  client_script "$dir" >"$dir/client.sh"
  unshare -Urn sh -c "echo \$\$ > '$dir/ns.pid'; i=0
    until ip -4 addr show tap0 2>/dev/null | grep -q 10.0.2.100; do sleep 0.05; i=\$((i+1)); [ \$i -lt 200 ] || exit 1; done
    exec sh '$dir/client.sh'" >"$dir/node.log" 2>&1 &
  pid=$!
  wait_for "$dir/ns.pid" 10
  ns=$(cat "$dir/ns.pid")
  slirp4netns --configure --mtu="$mtu" --enable-sandbox --enable-seccomp "$ns" tap0 >"$dir/s4n.log" 2>&1 &
  s4n=$!
  wait_for "$dir/done" $((duration + 30)) || { cat "$dir/node.log" "$dir/s4n.log" >&2; return 1; }
  sample_engine "$s4n" "$dir"
  touch "$dir/sampled"
  wait "$pid" || true
  kill "$s4n" 2>/dev/null
  wait "$s4n" 2>/dev/null || true
}

# run_pasta MTU DIR: the same namespace as slirp4netns gets, the same addresses; no ports
# forwarded, so only the outbound path is measured.
run_pasta() {
  local mtu=$1 dir=$2 pid ns engine
  client_script "$dir" >"$dir/client.sh"
  unshare -Urn sh -c "echo \$\$ > '$dir/ns.pid'; i=0
    until ip -4 addr show tap0 2>/dev/null | grep -q 10.0.2.100; do sleep 0.05; i=\$((i+1)); [ \$i -lt 200 ] || exit 1; done
    exec sh '$dir/client.sh'" >"$dir/node.log" 2>&1 &
  pid=$!
  wait_for "$dir/ns.pid" 10
  ns=$(cat "$dir/ns.pid")
  "$pasta" -q -f --config-net -I tap0 -a 10.0.2.100 -n 24 -g 10.0.2.2 --mtu "$mtu" \
    -t none -u none -T none -U none "$ns" >"$dir/pasta.log" 2>&1 &
  engine=$!
  wait_for "$dir/done" $((duration + 30)) || { cat "$dir/node.log" "$dir/pasta.log" >&2; return 1; }
  sample_engine "$engine" "$dir"
  touch "$dir/sampled"
  wait "$pid" || true
  kill "$engine" 2>/dev/null
  wait "$engine" 2>/dev/null || true
}

# run_loopback MTU DIR: the ceiling, iperf3 straight over the host's loopback, no engine.
run_loopback() {
  iperf3 -c 127.0.0.1 -p "$port" -t "$duration" $reverse_flag -J >"$2/iperf.json" || true
  echo "0 0" >"$2/engine"
}

# result DIR: "bits_per_second bytes rss_kib ticks"
result() {
  python3 -c '
import json, sys
j = json.load(open(sys.argv[1] + "/iperf.json"))
s = j["end"]["sum_received"]
rss, ticks = open(sys.argv[1] + "/engine").read().split()
print(s["bits_per_second"], s["bytes"], rss, ticks)' "$1"
}

hz=$(getconf CLK_TCK)
for mtu in 1500 65520; do
  for r in $(seq "$rounds"); do
    # Rotate which goes first, so none always gets the cooler machine.
    tools=(usernode kernel slirp4netns pasta loopback)
    [ -n "${USERNODE_BEFORE:-}" ] && tools+=(before)
    n=${#tools[@]}
    order="${tools[*]:$((r % n))} ${tools[*]:0:$((r % n))}"
    for tool in $order; do
      d="$work/$mtu-$r-$tool"
      mkdir -p "$d"
      "run_$tool" "$mtu" "$d"
      echo "$tool mtu=$mtu round=$r $(result "$d")" >>"$work/raw"
    done
  done
  pasta_label="pasta (passt 2023-03)"
  [ -n "${PASTA:-}" ] && pasta_label="pasta ($PASTA)"
  python3 - "$work/raw" "$mtu" "$hz" "$direction" "$pasta_label" <<'EOF_PY'
import statistics, sys
raw, mtu, hz, direction, pasta_label = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4], sys.argv[5]
runs = {"usernode": [], "kernel": [], "slirp4netns": [], "pasta": [], "loopback": [], "before": []}
for line in open(raw):
    tool, m, _, bps, nbytes, rss, ticks = line.split()
    if m == "mtu=" + mtu:
        runs[tool].append((float(bps), float(nbytes), int(rss), int(ticks)))
def summary(rs):
    gbps = statistics.median(r[0] for r in rs) / 1e9
    rss = max(r[2] for r in rs) / 1024
    cpu = statistics.median((r[3] / hz) / (r[1] / 1e9) if r[1] else 0 for r in rs)
    return gbps, rss, cpu
n = len(runs["usernode"])
tools = {"slirp4netns": "slirp4netns 1.2, sandbox+seccomp", "pasta": pasta_label}
if runs["before"]:
    tools["before"] = "usernode before this change"
ours = {"usernode": "usernode tcp_path=slirp", "kernel": "usernode tcp_path=kernel"}
def row(what, ours, theirs, unit, tool, better):
    ratio = ours / theirs if theirs else float("nan")
    print(f"| net: {what}, MTU {mtu} | {ours:.2f} {unit} | {theirs:.2f} {unit} ({tool}) | "
          f"{ratio:.2f} x ({better} is better) |")
for me, label in ours.items():
    u = summary(runs[me])
    for name, tool in tools.items():
        t = summary(runs[name])
        row(f"{label} iperf3 {direction} (median of {n})", u[0], t[0], "Gbit/s", tool, "higher")
    row(f"{label} iperf3 {direction} (median of {n})", u[0], summary(runs["loopback"])[0], "Gbit/s",
        "iperf3 over the host loopback, no engine", "higher")
    for name, tool in tools.items():
        row(f"{label} engine peak RSS", u[1], summary(runs[name])[1], "MiB", tool, "lower")
    for name, tool in tools.items():
        row(f"{label} engine CPU per GB", u[2], summary(runs[name])[2], "s/GB", tool, "lower")
k, s = summary(runs["kernel"]), summary(runs["usernode"])
row("tcp_path=kernel against slirp's TCP, iperf3", k[0], s[0], "Gbit/s", "usernode tcp_path=slirp", "higher")
EOF_PY
done
if [ -n "${BENCH_RAW:-}" ]; then
  cat "$work/raw" >&2
fi
