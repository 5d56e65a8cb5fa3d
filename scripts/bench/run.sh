#!/usr/bin/env bash
# run.sh: `make bench`. Runs every scripts/bench/*.sh as an ordinary user and prints one table.
#
# As root it installs the tools to compare against (the bench group of install-deps.sh) and runs
# the benchmarks as the test user of scripts/test-user.sh, as the tests do.
set -uo pipefail
cd "$(dirname "$0")/../.."

scripts/install-deps.sh build bench || exit $?
make -s -j"$(nproc)" tests || exit 1

stage=$(mktemp -d /tmp/usernode-bench-stage.XXXXXX)
trap 'rm -rf "$stage"' EXIT
cp -a usernode "$stage/usernode"
cp -a build/helpers "$stage/helpers"
cp -a scripts tests configs "$stage/"
chmod -R a+rX "$stage"
chmod 755 "$stage"
bench_env=(USERNODE="$stage/usernode" USERNODE_HELPERS="$stage/helpers" USERNODE_TOP="$stage")
# The staged copy is not beside ../shared/k8s: name it, so node_vm.sh finds the VM image that
# carries the real binaries (its key hashes them).
[ -d ../shared/k8s ] && bench_env+=(USERNODE_K8S_DIST="$(cd ../shared/k8s && pwd)")

as_user() {
  if [ "$(id -u)" -eq 0 ]; then
    . scripts/test-user.sh
    test_user_setup >/dev/null || return 1
    [ -c /dev/net/tun ] && chmod 0666 /dev/net/tun
    run_as_test_user env "${bench_env[@]}" "$@"
  else
    env "${bench_env[@]}" "$@"
  fi
}

echo "| benchmark | usernode | other tool | ratio |"
echo "|---|---|---|---|"
status=0
for b in "$stage"/scripts/bench/*.sh; do
  case "$(basename "$b")" in
    # gen1_node.sh and node_pod.sh run inside the VM that node_vm.sh boots.
    run.sh | lib.sh | gen1_node.sh | node_pod.sh) continue ;;
  esac
  as_user bash "$b" || { echo "| $(basename "$b") | failed | | |"; status=1; }
done
exit $status
