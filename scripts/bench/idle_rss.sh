#!/usr/bin/env bash
# idle_rss.sh: the idle memory of what each tool itself runs for a node with its own network, on
# this host, no VM: usernode's launcher + node init + slirp engine against rootlesskit's parent +
# child + slirp4netns (the Usernetes gen1 way), each around a stand-in command (sleep).
#
# RSS is the ratio: it is what the issue measures, and it does not depend on what else runs on
# the host. PSS is printed too: it divides each page shared with other processes (libc, and the
# launcher's pages its forked node init shares copy-on-write, rootlesskit's one binary in parent
# and child) among them, so it counts a tool's own processes more fairly but moves with whatever
# else maps the same libraries. Median of IDLE_RSS_ROUNDS (3), alternated. The node VM bench
# (node_vm.sh) measures the same processes with real crio and kubelet running.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

rounds=${IDLE_RSS_ROUNDS:-3}
for tool in rootlesskit slirp4netns; do
  command -v "$tool" >/dev/null || { echo "| idle_rss.sh | skipped: no $tool | | |"; exit 0; }
done
[ -w /dev/net/tun ] || { echo "| idle_rss.sh | skipped: /dev/net/tun not usable | | |"; exit 0; }
tmp=$(bench_tmp)
trap 'kill $(jobs -p) 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$tmp"' EXIT
export XDG_RUNTIME_DIR="$tmp/run"
mkdir -p -m 0700 "$XDG_RUNTIME_DIR"

# kib FIELD PID...: the sum of one field of /proc/PID/smaps_rollup (Rss, Pss).
kib() {
  local field=$1 p t=0
  shift
  for p in "$@"; do t=$((t + $(awk -v f="$field:" '$1 == f { print $2 }' "/proc/$p/smaps_rollup"))); done
  echo $t
}
wait_file() {
  local i
  for ((i = 0; i < 200; i++)); do [ -s "$1" ] && return 0; sleep 0.05; done
  echo "idle_rss.sh: timed out waiting for $1" >&2
  return 1
}
# measure SIDE PID...: one round's per-process RSS and PSS, after the processes settled.
measure() {
  local side=$1 p
  shift
  sleep 2
  for p in "$@"; do printf '%s %s ' "$(kib Rss "$p")" "$(kib Pss "$p")"; done >>"$tmp/$side"
  echo >>"$tmp/$side"
}

u_round() {
  local state=$tmp/u-state launcher init engine
  rm -rf "$state"
  "$USERNODE" run --state-dir "$state" -- sleep 600 >"$tmp/u.log" 2>&1 3>&- &
  launcher=$!
  if ! wait_file "$state/engine.pid" || ! wait_file "$state/child_pid"; then
    cat "$tmp/u.log" >&2
    return 1
  fi
  init=$(cat "$state/child_pid")
  engine=$(cat "$state/engine.pid")
  measure u "$launcher" "$init" "$engine"
  kill "$launcher"
  wait "$launcher" 2>/dev/null || true
}
g_round() {
  local parent child slirp
  rm -rf "$tmp/rk"
  # The gen1 flags that need no delegated cgroup (--cgroupns and --evacuate-cgroup2 do).
  rootlesskit --net=slirp4netns --mtu=65520 --copy-up=/etc --copy-up=/run --copy-up=/var/lib \
    --pidns --ipcns --utsns --propagation=rslave --state-dir="$tmp/rk" sleep 600 >"$tmp/g.log" 2>&1 3>&- &
  parent=$!
  wait_file "$tmp/rk/child_pid" || { cat "$tmp/g.log" >&2; return 1; }
  child=$(cat "$tmp/rk/child_pid")
  local i
  for ((i = 0; i < 200; i++)); do
    slirp=$(pgrep -P "$parent" -x slirp4netns || true)
    [ -n "$slirp" ] && break
    sleep 0.05
  done
  [ -n "$slirp" ] || { echo "idle_rss.sh: no slirp4netns under rootlesskit" >&2; return 1; }
  measure g "$parent" "$child" "$slirp"
  kill "$parent"
  wait "$parent" 2>/dev/null || true
}

: >"$tmp/u"
: >"$tmp/g"
for ((i = 1; i <= rounds; i++)); do
  if ((i % 2)); then u_round && g_round; else g_round && u_round; fi || exit 1
done
# column FILE N: the median of column N, in MiB with one decimal.
column() { awk -v n="$2" '{ print $n }' "$1" | sort -n | awk '{ v[NR] = $1 } END { printf "%.1f", v[int((NR + 1) / 2)] / 1024 }'; }
# total FILE KIND (1 RSS, 2 PSS): the median of the per-round sums.
total() { awk -v k="$2" '{ print $k + $(k + 2) + $(k + 4) }' "$1" | sort -n | awk '{ v[NR] = $1 } END { printf "%.1f", v[int((NR + 1) / 2)] / 1024 }'; }
each() { echo "$(column "$1" "$2")/$(column "$1" $(($2 + 2)))/$(column "$1" $(($2 + 4)))"; }
gen1="rootlesskit 1.1 parent/child + slirp4netns"
row "idle RSS, node with its own network around sleep (median of $rounds; usernode launcher/init/engine $(each "$tmp/u" 1), gen1 $(each "$tmp/g" 1))" \
  "$(total "$tmp/u" 1)" "$(total "$tmp/g" 1)" MiB "$gen1" lower
row "idle PSS, the same processes (launcher/init/engine $(each "$tmp/u" 2), gen1 $(each "$tmp/g" 2))" \
  "$(total "$tmp/u" 2)" "$(total "$tmp/g" 2)" MiB "$gen1" lower
