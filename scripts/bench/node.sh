#!/usr/bin/env bash
# node.sh: time from starting a node to "kubelet ready", usernode against the Usernetes-gen1 way
# (rootlesskit with slirp4netns running a shell script that starts crio, waits for its socket,
# starts kubelet and waits for its healthz), alternating, same binaries for both.
#
# Row 1 uses the stand-ins of tests/helpers/standins (what is measured is the launcher's own
# overhead: namespaces, network, rendering, supervision); row 2 the real crio and kubelet, or a
# skip row naming what is missing. Prints one markdown table with medians and their ratio.
#
# Both sides get their own network namespace wired out through slirp (usernode --net slirp,
# rootlesskit --net=slirp4netns) and their own pid namespace.
#
# Env: ROUNDS (default 5), USERNODE (default ./usernode), BENCH_RAW=1 prints every sample.
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
    XDG_RUNTIME_DIR="$TEST_RUNTIME_DIR" ROUNDS="${ROUNDS:-}" USERNODE="${USERNODE:-$top/usernode}" \
    BENCH_RAW="${BENCH_RAW:-}" \
    bash "$top/scripts/bench/node.sh"
fi

rounds=${ROUNDS:-5}
usernode=${USERNODE:-$top/usernode}
for tool in rootlesskit slirp4netns python3; do
  command -v "$tool" >/dev/null || { echo "node.sh: $tool missing; run scripts/install-deps.sh bench" >&2; exit 3; }
done

work=$(mktemp -d /tmp/usernode-bench-node.XXXXXX)
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

# bench_row LABEL PATH_PREFIX: ROUNDS alternating runs of both, one table row.
bench_row() {
  local label=$1 path=$2 i u b
  : > "$work/usernode.times"
  : > "$work/baseline.times"
  # The baseline runs with the very files usernode renders: split `config --render` into them.
  PATH="$path" "$usernode" config --render --node bench --state-dir "$work/baseline-state" 2>/dev/null |
    awk '/^# ==> .* <==$/ { file = $3; dir = file; sub(/\/[^\/]*$/, "", dir); system("mkdir -p " dir); next }
         file { print > file }'
  for i in $(seq "$rounds"); do
    u=$(PATH="$path" python3 "$top/scripts/bench/time_to_ready.py" -- "$usernode" run --net slirp --node bench) ||
      return 1
    echo "${u% *}" >> "$work/usernode.times"
    b=$(PATH="$path" python3 "$top/scripts/bench/time_to_ready.py" --line NODE-READY -- \
      rootlesskit --net=slirp4netns --disable-host-loopback --copy-up=/etc --copy-up=/run --pidns \
      "$work/baseline.sh" "$work/baseline-state") || return 1
    echo "${b% *}" >> "$work/baseline.times"
  done
  u=$(median < "$work/usernode.times")
  b=$(median < "$work/baseline.times")
  printf '| %s | %.3f s | %.3f s | %.2f |\n' "$label" "$u" "$b" "$(echo "$u $b" | awk '{ print $1 / $2 }')"
  if [ -n "${BENCH_RAW:-}" ]; then
    echo "raw usernode: $(tr '\n' ' ' < "$work/usernode.times")"
    echo "raw rootlesskit+sh: $(tr '\n' ' ' < "$work/baseline.times")"
  fi
}

echo "| start to kubelet ready ($rounds rounds, median) | usernode run | rootlesskit + slirp4netns + sh | ratio |"
echo "|---|---|---|---|"
bench_row "stand-ins (launcher overhead)" "$top/tests/helpers/standins:$PATH" ||
  echo "| stand-ins (launcher overhead) | failed | failed | - |"
missing=()
for b in crio conmon pinns kubelet; do command -v "$b" >/dev/null || missing+=("$b"); done
command -v crun >/dev/null || command -v runc >/dev/null || missing+=(crun-or-runc)
if [ ${#missing[@]} -eq 0 ]; then
  bench_row "real crio + kubelet" "$PATH" || echo "| real crio + kubelet | failed | failed | - |"
else
  echo "| real crio + kubelet | skipped: not installed: ${missing[*]} | | |"
fi
