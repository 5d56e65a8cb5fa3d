#!/usr/bin/env bash
# ports.sh: host -> node through a published port, usernode against rootlesskit 1.1 with
# --port-driver=builtin and --port-driver=slirp4netns, and against pasta's port forwarding (-t,
# which splices between the host's loopback and the namespace's).
#
# All three nodes run at once, each with an iperf3 server and a port_peer echo server inside,
# published on 127.0.0.1; the measurements alternate between them, ROUNDS times, medians reported:
#   - throughput: iperf3 -t 10 (Gbit/s);
#   - connection rate: 5,000 sequential connections, each connect + one request + close, in 10
#     chunks alternating between the tools (conn/s over the summed time);
#   - RSS of the forwarding process(es) with 500 idle connections open: the usernode launcher;
#     the rootlesskit parent (builtin); the rootlesskit parent + slirp4netns (slirp4netns driver);
#     pasta;
#   - the CPU time those processes spent per GB during the throughput rounds: on a busy machine
#     throughput follows the CPU each side gets, this says what each GB costs.
# Two references for the throughput, measured in the same rounds, say where the ceiling is on
# this machine: iperf3 straight over the host's loopback (no forwarder at all), and
# tests/helpers/splice_relay, the smallest splice relay there is (a thread per direction, blocking
# splice, nothing else) in front of an iperf3 server on the host. Every splice forwarder moves
# bytes the way that relay does, so usernode / relay near 1 means the forwarder costs nothing on
# top of the kernel work any such forwarder has to do.
# With USERNODE_BEFORE=another usernode binary (a change's before), that one runs beside the
# others in the same rounds, and rows usernode / before are added; among them, for iperf3 -P 4,
# the share of the launcher's CPU time its busiest thread spent (1.00: one thread did all the
# forwarding; 1/N: N threads shared it evenly).
# Standalone (PORTS_BENCH_RAW=1 adds the raw numbers), or through scripts/bench/run.sh.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

rounds=${PORTS_BENCH_ROUNDS:-3}
seconds=${PORTS_BENCH_SECONDS:-10}
conns=${PORTS_BENCH_CONNS:-5000}
idle=${PORTS_BENCH_IDLE:-500}
peer="$USERNODE_HELPERS/port_peer"
tools=(usernode builtin slirp pasta)
[ -n "${USERNODE_BEFORE:-}" ] && tools+=(before)
throughput_tools=("${tools[@]}" relay direct)
declare -A label=([usernode]=usernode [before]="usernode before this change"
  [builtin]="rootlesskit 1.1 --port-driver=builtin"
  [slirp]="rootlesskit 1.1 --port-driver=slirp4netns" [pasta]="pasta (passt 2023-03) -t"
  [relay]="splice_relay: minimal splice relay, a thread per direction"
  [direct]="iperf3 over the host loopback, no forwarder")

for cmd in rootlesskit slirp4netns pasta iperf3 python3; do
  command -v "$cmd" >/dev/null || { echo "ports.sh: $cmd is missing: scripts/install-deps.sh bench" >&2; exit 3; }
done

tmp=$(bench_tmp)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill -TERM -- "-$p" 2>/dev/null || kill -TERM "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$tmp"
}
trap cleanup EXIT
export XDG_RUNTIME_DIR="$tmp/run"
mkdir -p -m 0700 "$XDG_RUNTIME_DIR"

# Host ports below the ephemeral range, one pair per tool.
base=$((21000 + (RANDOM % 200) * 10))
declare -A iperf_port rate_port pid
i=0
for t in "${tools[@]}"; do
  iperf_port[$t]=$((base + i)) rate_port[$t]=$((base + i + 1))
  i=$((i + 2))
done
# The references: an iperf3 server on the host, reached directly and through splice_relay.
iperf_port[direct]=$((base + i)) iperf_port[relay]=$((base + i + 1))

# The same servers inside each node; 0.0.0.0 because slirp4netns forwards to the tap address.
servers="iperf3 -s -B 0.0.0.0 -p 5201 >/dev/null & $peer server tcp 0.0.0.0 7000 & wait"

# setsid: each tool in its own process group, so cleanup takes all of it.
setsid "$USERNODE" run --net=none -p "127.0.0.1:${iperf_port[usernode]}:5201" \
  -p "127.0.0.1:${rate_port[usernode]}:7000" -- sh -c "$servers" >"$tmp/usernode.log" 2>&1 &
pid[usernode]=$!
if [ -n "${USERNODE_BEFORE:-}" ]; then
  mkdir -p "$tmp/before-state"
  setsid "$USERNODE_BEFORE" run --state-dir "$tmp/before-state" --net=none -p "127.0.0.1:${iperf_port[before]}:5201" \
    -p "127.0.0.1:${rate_port[before]}:7000" -- sh -c "$servers" >"$tmp/before.log" 2>&1 &
  pid[before]=$!
fi
for driver in builtin slirp; do
  name=$driver
  [ "$driver" = slirp ] && name=slirp4netns
  setsid rootlesskit --state-dir="$tmp/rk-$driver" --net=slirp4netns --disable-host-loopback \
    --port-driver="$name" -p "127.0.0.1:${iperf_port[$driver]}:5201/tcp" \
    -p "127.0.0.1:${rate_port[$driver]}:7000/tcp" sh -c "$servers" >"$tmp/$driver.log" 2>&1 &
  pid[$driver]=$!
done
setsid pasta -q -f --config-net -I tap0 -a 10.0.2.100 -n 24 -g 10.0.2.2 \
  -t "127.0.0.1/${iperf_port[pasta]}:5201" -t "127.0.0.1/${rate_port[pasta]}:7000" -u none -T none -U none \
  -- sh -c "$servers" >"$tmp/pasta.log" 2>&1 &
pid[pasta]=$!
setsid iperf3 -s -B 127.0.0.1 -p "${iperf_port[direct]}" >"$tmp/direct.log" 2>&1 &
pid[direct]=$!
setsid "$USERNODE_HELPERS/splice_relay" "${iperf_port[relay]}" "${iperf_port[direct]}" >"$tmp/relay.log" 2>&1 &
pid[relay]=$!
pids=("${pid[@]}")

# Ready when a round trip through the rate port works, and iperf3 answers too.
for t in "${tools[@]}"; do
  deadline=$((SECONDS + 30))
  until "$peer" roundtrip 127.0.0.1 "${rate_port[$t]}" >/dev/null 2>&1 &&
    iperf3 -c 127.0.0.1 -p "${iperf_port[$t]}" -n 1K >/dev/null 2>&1; do
    if [ $SECONDS -ge $deadline ]; then
      echo "ports.sh: ${label[$t]} did not come up:" >&2
      cat "$tmp/$t.log" >&2
      exit 1
    fi
    sleep 0.2
  done
done
for t in direct relay; do
  deadline=$((SECONDS + 30))
  until iperf3 -c 127.0.0.1 -p "${iperf_port[$t]}" -n 1K >/dev/null 2>&1; do
    [ $SECONDS -lt $deadline ] || { echo "ports.sh: ${label[$t]} did not come up:" >&2; cat "$tmp/$t.log" >&2; exit 1; }
    sleep 0.2
  done
done

# iperf3 through port $1 with ${2:-1} parallel streams; prints "Gbit/s GB" (rate and bytes received).
iperf() {
  iperf3 -c 127.0.0.1 -p "$1" -t "$seconds" -P "${2:-1}" -J | python3 -c '
import json, sys
r = json.load(sys.stdin)["end"]["sum_received"]
print("%.2f %.3f" % (r["bits_per_second"] / 1e9, r["bytes"] / 1e9))'
}

# The processes that hold the host side of the connections: the slirp4netns driver forwards
# inside slirp4netns, a child of the rootlesskit parent.
forwarders() {
  echo "${pid[$1]}"
  [ "$1" = slirp ] && pgrep -x slirp4netns -P "${pid[$1]}" || true
}
# Their RSS (kB), and their CPU time (clock ticks, every thread).
forwarder_rss() {
  local total=0 p
  for p in $(forwarders "$1"); do total=$((total + $(awk '/^VmRSS:/ { print $2 }' "/proc/$p/status"))); done
  echo "$total"
}
forwarder_ticks() {
  local total=0 p
  for p in $(forwarders "$1"); do total=$((total + $(awk '{ print $14 + $15 }' "/proc/$p/stat"))); done
  echo "$total"
}

# "TID TICKS" for every thread of process $1.
thread_ticks() {
  local f
  for f in /proc/"$1"/task/*/stat; do awk '{ print $1, $14 + $15 }' "$f" 2>/dev/null || true; done
}

declare -A thr thr4 rate rss elapsed ticks bytes thread_delta
# Four streams at once: does the forwarder use more than one core? (The slirp4netns driver is
# left out: it is the slowest by far and one stream already saturates it.)
parallel_tools=(usernode builtin pasta direct)
[ -n "${USERNODE_BEFORE:-}" ] && parallel_tools+=(before)
for r in $(seq "$rounds"); do
  for t in "${parallel_tools[@]}"; do
    case $t in usernode | before) thread_ticks "${pid[$t]}" >"$tmp/threads-$t.before" ;; esac
    read -r g _ < <(iperf "${iperf_port[$t]}" 4)
    thr4[$t]+="$g "
    case $t in usernode | before)
      thread_ticks "${pid[$t]}" >"$tmp/threads-$t.after"
      # the busiest thread's share of what the launcher spent in this round
      share=$(awk 'NR == FNR { b[$1] = $2; next } { d = $2 - b[$1]; s += d; if (d > m) m = d }
        END { if (s > 0) printf "%.2f", m / s; else print "n/a" }' "$tmp/threads-$t.before" "$tmp/threads-$t.after")
      thread_delta[$t]+="$share "
    esac
  done
done
for r in $(seq "$rounds"); do
  for t in "${throughput_tools[@]}"; do
    before=$(forwarder_ticks "$t")
    read -r g b < <(iperf "${iperf_port[$t]}")
    ticks[$t]=$((${ticks[$t]:-0} + $(forwarder_ticks "$t") - before))
    bytes[$t]=$(awk -v a="${bytes[$t]:-0}" -v b="$b" 'BEGIN { printf "%.3f", a + b }')
    thr[$t]+="$g "
  done
done
# Connections in chunks of conns/chunks, alternating tools chunk by chunk so that a neighbour's
# burst of load hits all of them alike; the rate is all connections over the summed time.
chunks=${PORTS_BENCH_CHUNKS:-10}
for c in $(seq "$chunks"); do
  for t in "${tools[@]}"; do
    per=$("$peer" rate 127.0.0.1 "${rate_port[$t]}" $((conns / chunks)))
    rate[$t]+="$per "
    elapsed[$t]=$(awk -v e="${elapsed[$t]:-0}" -v n=$((conns / chunks)) -v r="$per" 'BEGIN { printf "%.6f", e + n / r }')
  done
done
for t in "${tools[@]}"; do
  coproc IDLE { "$peer" idle 127.0.0.1 "${rate_port[$t]}" "$idle"; }
  read -r ready <&"${IDLE[0]}"
  [ "$ready" = ready ] || { echo "ports.sh: $idle idle connections through ${label[$t]} failed" >&2; exit 1; }
  rss[$t]=$(forwarder_rss "$t")
  exec {IDLE[1]}>&-
  wait "$IDLE_PID"
done

mib() { awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }'; }
median() { tr ' ' '\n' <<<"$1" | grep . | sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
for t in builtin slirp pasta relay direct; do
  row "ports: throughput host->node, iperf3 -t $seconds (median of $rounds)" \
    "$(median "${thr[usernode]}")" "$(median "${thr[$t]}")" Gbit/s "${label[$t]}" higher
done
if [ -n "${USERNODE_BEFORE:-}" ]; then
  row "ports: throughput host->node, iperf3 -t $seconds (median of $rounds)" \
    "$(median "${thr[usernode]}")" "$(median "${thr[before]}")" Gbit/s "${label[before]}" higher
  row "ports: throughput host->node, iperf3 -P 4 -t $seconds (median of $rounds)" \
    "$(median "${thr4[usernode]}")" "$(median "${thr4[before]}")" Gbit/s "${label[before]}" higher
  row "ports: iperf3 -P 4, busiest launcher thread's share of its CPU (median of $rounds)" \
    "$(median "${thread_delta[usernode]}")" "$(median "${thread_delta[before]}")" "" "${label[before]}" lower
fi
for t in builtin pasta direct; do
  row "ports: throughput host->node, iperf3 -P 4 -t $seconds (median of $rounds)" \
    "$(median "${thr4[usernode]}")" "$(median "${thr4[$t]}")" Gbit/s "${label[$t]}" higher
done
overall() { awk -v e="${elapsed[$1]}" -v n=$(((conns / chunks) * chunks)) 'BEGIN { printf "%.0f", n / e }'; }
# CPU seconds the forwarder spent per GB it moved, over all throughput rounds.
cpu_per_gb() { awk -v t="${ticks[$1]}" -v hz="$(getconf CLK_TCK)" -v b="${bytes[$1]}" 'BEGIN { printf "%.3f", t / hz / b }'; }
extra=()
[ -n "${USERNODE_BEFORE:-}" ] && extra=(before)
for t in builtin slirp pasta relay "${extra[@]}"; do
  row "ports: forwarder CPU per GB moved (iperf3 rounds)" "$(cpu_per_gb usernode)" "$(cpu_per_gb "$t")" s/GB \
    "${label[$t]}" lower
done
for t in builtin slirp pasta "${extra[@]}"; do
  row "ports: $conns sequential connect+request+close" "$(overall usernode)" "$(overall "$t")" conn/s \
    "${label[$t]}" higher
done
for t in builtin slirp pasta "${extra[@]}"; do
  row "ports: forwarder RSS with $idle idle connections" "$(mib "${rss[usernode]}")" "$(mib "${rss[$t]}")" MiB \
    "${label[$t]}" lower
done
if [ "${PORTS_BENCH_RAW:-0}" = 1 ]; then
  for t in "${tools[@]}"; do
    echo "raw ${label[$t]}: Gbit/s ${thr[$t]}| -P 4 ${thr4[$t]:-}| conn/s per chunk ${rate[$t]}| RSS ${rss[$t]} kB |" \
      "CPU ${ticks[$t]} ticks for ${bytes[$t]} GB${thread_delta[$t]:+ | -P 4 busiest thread share ${thread_delta[$t]}}" >&2
  done
  for t in relay direct; do echo "raw ${label[$t]}: Gbit/s ${thr[$t]}" >&2; done
fi
