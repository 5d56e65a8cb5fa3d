#!/usr/bin/env bats
# Pods with their own user namespace (hostUsers: false) with enough subordinate ids: the test user
# gets 12 x 65536 of them in a mount namespace of this test only (its own /etc/subuid and
# /etc/subgid bound over the host's, which newuidmap and usernode then read), and runs a node with
# the stand-ins of crio and kubelet. Run by scripts/check.sh as root.

load ../helpers

setup() {
  [ "$(id -u)" -eq 0 ] || skip "not root"
  command -v getsubids > /dev/null || skip "getsubids (Debian's uidmap) is not installed"
  TOP=${USERNODE_TOP:-$(cd "$BATS_TEST_DIRNAME/../../.." && pwd)}
}

# node_with_subids COUNT SCRIPT: in a private mount namespace, COUNT subordinate uids and gids
# (from 400000) for the test user, a node of the stand-ins running as that user, then SCRIPT (bash,
# as root, with $node, $init_pid and as_user CMD... defined); the node is stopped afterwards.
# COUNT may also be ranges START:COUNT[,START:COUNT...], one line of /etc/subuid each.
node_with_subids() {
  unshare -m --propagation private bash -c '
    . "$TOP/scripts/test-user.sh" && test_user_setup > /dev/null || exit 99
    work=$(mktemp -d /tmp/usernode-userns.XXXXXX) && chown "$TEST_USER" "$work" || exit 99
    node=userns$$
    # $! is the subshell running the shell function as_user; the launcher is its child.
    stop_node() {
      [ -z "${pid:-}" ] || { pkill -TERM -P "$pid"; wait "$pid"; }
      rm -rf "$work"
    }
    trap stop_node EXIT
    case $1 in
      *:*) for r in ${1//,/ }; do printf "%s:%s\n" "$TEST_USER" "$r"; done > "$work/subuid" ;;
      *) printf "%s:400000:%s\n" "$TEST_USER" "$1" > "$work/subuid" ;;
    esac
    cp "$work/subuid" "$work/subgid"
    mount --bind "$work/subuid" /etc/subuid && mount --bind "$work/subgid" /etc/subgid || exit 99
    as_user() {
      run_as_test_user env PATH="$TOP/tests/helpers/standins:/usr/bin:/bin:/usr/sbin:/sbin" \
        XDG_DATA_HOME="$work/data" XDG_CONFIG_HOME="$work/config" STANDIN_EVENTS="$work/events" "$@"
    }
    as_user mkdir -p "$work/config/usernode"
    as_user sh -c "printf \"[kubelet]\\nhealthz_port = 10248\\n\" > $work/config/usernode/$node.ini"
    as_user "$USERNODE" run --net none --node "$node" > "$work/node.out" 2>&1 &
    pid=$!
    for _ in $(seq 600); do grep -q "Node ready" "$work/node.out" && break; sleep 0.1; done
    grep -q "Node ready" "$work/node.out" || { cat "$work/node.out"; exit 98; }
    init_pid=$(cat "/run/user/$TEST_UID/usernode/$node/child_pid")
    eval "$2"' node_with_subids "$@"
}

@test "with 12 x 65536 subordinate ids the node maps them all and its kubelet user has the 11 pods above the node's own ids" {
  export TOP USERNODE
  run node_with_subids 786432 '
    echo "uid_map: $(awk "{ printf \"%s %s %s;\", \$1, \$2, \$3 }" /proc/$init_pid/uid_map)"
    echo "gid_map: $(awk "{ printf \"%s %s %s;\", \$1, \$2, \$3 }" /proc/$init_pid/gid_map)"
    echo "getsubids: $(as_user "$USERNODE" exec --node "$node" -- getsubids kubelet)"
    echo "getsubids -g: $(as_user "$USERNODE" exec --node "$node" -- getsubids -g kubelet)"
    echo "passwd: $(as_user "$USERNODE" exec --node "$node" -- grep ^kubelet: /etc/passwd)"
    echo "pods dir: $(as_user "$USERNODE" exec --node "$node" -- stat -f -c %T /var/lib/kubelet/pods)"
    echo "maxPods: $(sed -n "s/^maxPods: //p" "/run/user/$TEST_UID/usernode/$node/config/kubelet.yaml")"
    echo "host subuid: $(cat /etc/subuid)"
    echo "node output: $(tr "\n" " " < "$work/node.out")"'
  echo "$output"
  [ "$status" -eq 0 ]
  [[ "$output" == *"uid_map: 0 $(id -u usernode-test) 1;1 400000 786432;"* ]]
  [[ "$output" == *"gid_map: 0 $(id -g usernode-test) 1;1 400000 786432;"* ]]
  # kubelet runs these two and needs them identical: start 65536, 11 x 65536 ids.
  [[ "$output" == *"getsubids: 0: kubelet 65536 720896"* ]]
  [[ "$output" == *"getsubids -g: 0: kubelet 65536 720896"* ]]
  [[ "$output" =~ passwd:\ kubelet:x:[0-9]+:[0-9]+: ]]
  [[ "$output" == *"maxPods: 11"* ]]
  # The node's own tmpfs under kubelet's pods: crun may give pods idmapped mounts of it.
  [[ "$output" == *"pods dir: tmpfs"* ]]
  # kubelet's maxPods was capped by the ids: the run said so, and what to add for 110.
  [[ "$output" == *"kubelet's maxPods is 11: that many pods with their own user namespace fit"* ]]
  # The host's file as the launcher saw it: untouched by the node.
  [[ "$output" == *"host subuid: usernode-test:400000:786432"* ]]
}

@test "with 12 x 65536 subordinate ids the node's root may idmap what kubelet puts in its pods dir (crun's mounts for such pods), not the data dir on the host's disk" {
  export TOP USERNODE
  PROBE_IDMAP=${USERNODE_HELPERS:-$TOP/build/helpers}/idmap_probe
  [ -x "$PROBE_IDMAP" ] || skip "no idmap_probe helper (make tests)"
  export PROBE_IDMAP
  run node_with_subids 786432 '
    as_user "$USERNODE" exec --node "$node" -- sh -c "echo 127.0.0.1 pod > /var/lib/kubelet/pods/etc-hosts"
    as_user "$USERNODE" exec --node "$node" -- "$PROBE_IDMAP" /var/lib/kubelet/pods/etc-hosts /var/lib/kubelet/pods
    as_user "$USERNODE" exec --node "$node" -- "$PROBE_IDMAP" /var/lib/kubelet
    echo "disk probe: $?"
    echo "kubelet dir: $(as_user "$USERNODE" exec --node "$node" -- findmnt -n -o PROPAGATION /var/lib/kubelet)"'
  echo "$output"
  [ "$status" -eq 0 ]
  # What crun does for a hostUsers: false pod's /etc/hosts and emptyDir: allowed on the node's tmpfs.
  [[ "$output" == *"/var/lib/kubelet/pods/etc-hosts fs=tmpfs open_tree=ok idmap=ok"* ]]
  [[ "$output" == *"/var/lib/kubelet/pods fs=tmpfs open_tree=ok idmap=ok"* ]]
  # The kernel refuses it on the host's file system (its superblock is not the node's): the
  # error crun reported before the pods dir was the node's tmpfs.
  [[ "$output" =~ "/var/lib/kubelet fs="[a-z0-9]+" open_tree=ok idmap=EPERM" ]]
  [[ "$output" == *"disk probe: 1"* ]]
  # Shared already, so kubelet's MakeRShared does not bind /var/lib/kubelet on itself at start,
  # which would hide the pods dir's tmpfs under the disk again.
  [[ "$output" =~ "kubelet dir: shared" ]]
}

@test "with scattered subordinate ranges kubelet gets the pods whose 65536 ids lie within one map line, and the run says why fewer" {
  export TOP USERNODE
  # 400000:65536, then 600000:720896 not adjacent on the host: the node's map lines meet at node
  # id 65537, inside the first pod's block 65536-131071, which the kernel would refuse to pinns.
  run node_with_subids 400000:65536,600000:720896 '
    echo "uid_map: $(awk "{ printf \"%s %s %s;\", \$1, \$2, \$3 }" /proc/$init_pid/uid_map)"
    echo "getsubids: $(as_user "$USERNODE" exec --node "$node" -- getsubids kubelet)"
    echo "getsubids -g: $(as_user "$USERNODE" exec --node "$node" -- getsubids -g kubelet)"
    echo "maxPods: $(sed -n "s/^maxPods: //p" "/run/user/$TEST_UID/usernode/$node/config/kubelet.yaml")"
    echo "check: $(as_user "$USERNODE" check --json 2>/dev/null | python3 -c "import json, sys; print(*[c[\"detail\"] for c in json.load(sys.stdin)[\"checks\"] if c[\"id\"] == \"pod_userns\"])")"
    echo "node output: $(tr "\n" " " < "$work/node.out")"'
  echo "$output"
  [ "$status" -eq 0 ]
  [[ "$output" == *"uid_map: 0 $(id -u usernode-test) 1;1 400000 65536;65537 600000 720896;"* ]]
  # Blocks 2..11 (131072..786431), all within the second line; 11 by the count of ids.
  [[ "$output" == *"getsubids: 0: kubelet 131072 655360"* ]]
  [[ "$output" == *"getsubids -g: 0: kubelet 131072 655360"* ]]
  [[ "$output" == *"maxPods: 10"* ]]
  [[ "$output" == *"kubelet's maxPods is 10: that many pods with their own user namespace fit in the node's 786433 ids (the node's subordinate ids come in 2 map lines, ranges not adjacent on the host; a pod's 65536 ids must lie within one line, and kubelet takes one run of such pods: 10 where the ids alone would hold 11)"* ]]
  # usernode check: how many, and why not 11.
  [[ "$output" == *"check: 10 pods can have their own (110 want 7274496 more ids; the node's subordinate ids come in 2 map lines, ranges not adjacent on the host; a pod's 65536 ids must lie within one line, and kubelet takes one run of such pods: 10 where the ids alone would hold 11)"* ]]
}

@test "with 2 x 65536 subordinate ids [kubelet] max_pods = 2 stops the run (exit 3) saying to add 196608 ids (a range of its own)" {
  export TOP USERNODE
  run unshare -m --propagation private bash -c '
    . "$TOP/scripts/test-user.sh" && test_user_setup > /dev/null || exit 99
    work=$(mktemp -d /tmp/usernode-userns.XXXXXX) && chown "$TEST_USER" "$work" || exit 99
    trap "rm -rf \"\$work\"" EXIT
    printf "%s:400000:131072\n" "$TEST_USER" > "$work/subuid" && cp "$work/subuid" "$work/subgid"
    mount --bind "$work/subuid" /etc/subuid && mount --bind "$work/subgid" /etc/subgid || exit 99
    printf "[kubelet]\nmax_pods = 2\n" > "$work/node.ini" && chmod a+r "$work/node.ini"
    run_as_test_user env PATH="$TOP/tests/helpers/standins:/usr/bin:/bin" XDG_DATA_HOME="$work/data" \
      XDG_CONFIG_HOME="$work/config" "$USERNODE" run --net none --node userns-small$$ --config "$work/node.ini"'
  echo "$output"
  [ "$status" -eq 3 ]
  # The node's one line ends at node id 131072, so block 2 would straddle it and the new range
  # 589824.. (a map line of its own from node id 131073) must hold both pods: blocks 3 and 4, up
  # to node id 327679. (Counting ids alone said 65535, which left one pod.)
  [[ "$output" == *"max_pods = 2: pods with their own user namespace (hostUsers: false) need 2 x 65536 ids in one run above the node's own 65536, but the subordinate uids and gids of \"usernode-test\" (131073 ids in the node) hold 1: add 196608 of both, e.g. with: sudo usermod --add-subuids 589824-786431 --add-subgids 589824-786431 usernode-test (or set max_pods = auto: 1 pods)"* ]]
}
