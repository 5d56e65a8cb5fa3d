#!/usr/bin/env bash
# startup.sh: exec-to-exit time of a node that runs `true`, against rootlesskit and unshare(1).
#
# All three run in turn from one driver (time_alternately), median of RUNS each. rootlesskit
# --net=host creates user+mount namespaces; unshare(1) user+mount+pid with only the own id mapped;
# usernode all of user, mount, pid, uts, ipc, cgroup with the full subordinate range and copy-up.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

runs=${STARTUP_RUNS:-30}
tmp=$(bench_tmp)
trap 'rm -rf "$tmp"' EXIT
export XDG_RUNTIME_DIR="$tmp/run"
mkdir -p -m 0700 "$XDG_RUNTIME_DIR"

result=$("$USERNODE_HELPERS/time_alternately" "$runs" \
  usernode "$USERNODE" run --net=host -- true ::: \
  rootlesskit rootlesskit --net=host --state-dir="$tmp/rk" true ::: \
  unshare unshare --user --map-root-user --mount --pid --fork true 2>"$tmp/err") || {
  cat "$tmp/err" >&2
  exit 1
}
median() { awk -v n="$1" '$1 == n { print $2 }' <<<"$result"; }
failures() { awk -v n="$1" '$1 == n { print $5 }' <<<"$result"; }
for tool in usernode rootlesskit unshare; do
  [ "$(failures $tool)" = 0 ] || { echo "startup.sh: $tool failed $(failures $tool) of $runs runs" >&2; cat "$tmp/err" >&2; exit 1; }
done
row "start-up, run -- true (median of $runs)" "$(median usernode)" "$(median rootlesskit)" ms "rootlesskit 1.1 --net=host" lower
row "start-up, run -- true (median of $runs)" "$(median usernode)" "$(median unshare)" ms "unshare -U -r -m -p -f" lower
