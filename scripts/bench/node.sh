#!/usr/bin/env bash
# node.sh: time from starting a node to "kubelet ready", usernode against the Usernetes-gen1 way
# (rootlesskit with slirp4netns running a shell script that starts crio, waits for its socket,
# starts kubelet and waits for its healthz), alternating, the same binaries and rendered files
# for both, both with their own network (usernode --net slirp, rootlesskit --net=slirp4netns) and
# pid namespace.
#
# Row 1 uses the stand-ins of tests/helpers/standins, so what differs is the launcher's own
# overhead (namespaces, network, checks, rendering, supervision); row 2 the real crio and
# kubelet, or a row saying which binaries are missing. usernode is ready when READY=1 arrives on
# a NOTIFY_SOCKET (as systemd would see it), the baseline when its script says so.
#
# Env: NODE_RUNS (default 7); BENCH_RAW=1 prints every sample on stderr.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
top=$(cd "$(dirname "$0")/../.." && pwd)

runs=${NODE_RUNS:-7}
for tool in rootlesskit slirp4netns python3; do
  command -v "$tool" >/dev/null || { echo "node.sh: $tool missing; run scripts/install-deps.sh bench" >&2; exit 3; }
done

work=$(bench_tmp)
trap 'rm -rf "$work"' EXIT
export XDG_DATA_HOME=$work/data XDG_CONFIG_HOME=$work/config
mkdir -p "$XDG_CONFIG_HOME/usernode"

# The baseline's node script, as Usernetes gen1's boot scripts did it (polling, in sh).
cat > "$work/baseline.sh" <<'EOS'
#!/bin/sh
set -e
state=$1
mkdir -p "$state/crio"
_CRIO_ROOTLESS=1 CONTAINERS_REGISTRIES_CONF="$state/config/registries.conf" crio --config "$state/config/crio.conf" &
until python3 -c "import socket,sys; s=socket.socket(socket.AF_UNIX); s.connect(sys.argv[1])" "$state/crio/crio.sock" 2>/dev/null; do sleep 0.05; done
kubelet --config="$state/config/kubelet.yaml" &
until python3 -c "import urllib.request,sys; urllib.request.urlopen(sys.argv[1], timeout=1)" "http://127.0.0.1:10248/healthz" 2>/dev/null; do sleep 0.05; done
echo NODE-READY
wait
EOS
chmod +x "$work/baseline.sh"

median() { sort -n | awk '{ a[NR] = $1 } END { if (NR) print (NR % 2 ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2) }'; }

# bench_row LABEL PATH: `runs` alternating runs of both with PATH, one table row (ms).
bench_row() {
  local label=$1 path=$2 i u b
  : > "$work/usernode.times"
  : > "$work/baseline.times"
  # The baseline runs with the very files usernode renders: split `config --render` into them.
  PATH="$path" "$USERNODE" config --render --node bench --state-dir "$work/baseline-state" 2>/dev/null |
    awk '/^# ==> .* <==$/ { file = $3; dir = file; sub(/\/[^\/]*$/, "", dir); system("mkdir -p " dir); next }
         file { print > file }'
  for i in $(seq "$runs"); do
    u=$(PATH="$path" python3 "$top/scripts/bench/time_to_ready.py" -- "$USERNODE" run --net slirp --node bench) ||
      return 1
    echo "${u% *}" >> "$work/usernode.times"
    b=$(PATH="$path" python3 "$top/scripts/bench/time_to_ready.py" --line NODE-READY -- \
      rootlesskit --net=slirp4netns --disable-host-loopback --copy-up=/etc --copy-up=/run --pidns \
      --state-dir="$work/rk" "$work/baseline.sh" "$work/baseline-state") || return 1
    echo "${b% *}" >> "$work/baseline.times"
  done
  if [ -n "${BENCH_RAW:-}" ]; then
    echo "node.sh $label: usernode s: $(tr '\n' ' ' < "$work/usernode.times")" >&2
    echo "node.sh $label: rootlesskit+sh s: $(tr '\n' ' ' < "$work/baseline.times")" >&2
  fi
  row "$label (median of $runs)" "$(median < "$work/usernode.times" | awk '{ printf "%.0f", $1 * 1000 }')" \
    "$(median < "$work/baseline.times" | awk '{ printf "%.0f", $1 * 1000 }')" ms \
    "rootlesskit --net=slirp4netns --pidns + sh" lower
}

bench_row "node: run to kubelet ready, stand-ins" "$top/tests/helpers/standins:$PATH" ||
  echo "| node: run to kubelet ready, stand-ins | failed | | |"
missing=()
for b in crio conmon pinns kubelet; do command -v "$b" >/dev/null || missing+=("$b"); done
command -v crun >/dev/null || command -v runc >/dev/null || missing+=(crun-or-runc)
if [ ${#missing[@]} -eq 0 ]; then
  bench_row "node: run to kubelet ready, real crio + kubelet" "$PATH" ||
    echo "| node: run to kubelet ready, real crio + kubelet | failed | | |"
else
  echo "| node: run to kubelet ready, real crio + kubelet | skipped: not installed: ${missing[*]} | | |"
fi
