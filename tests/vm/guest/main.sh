#!/bin/sh
# main.sh: runs inside the VM as root, from usernode-vm-tests.service once user@1000.service is
# up (scripts/vm/build-image.sh). Runs the bats files of this directory as the ordinary user
# "vmuser" in a login session (su -l: pam_systemd gives it a session scope and XDG_RUNTIME_DIR,
# like an ssh login), and prints one TAP stream on stdout, numbered across the phases:
#   phase 1: Debian's default delegation (cpu memory pids) — phase1-*.bats, then system-*.bats
#            as root (system units running usernode as the user)
#   node:    a real CRI-O + kubelet node under that same delegation — node-*.bats (skipped in one
#            line when the image carries no /opt/k8s)
#   faults:  kill -9 of the launcher, the slirp engine, the node init, crio and kubelet of a real
#            node, 10 trials each (faults-*.bats; the same modules as "node")
#   userns:  pods with hostUsers: false in a real node, the user given 65536 x 12 subordinate ids
#            first (as root) — userns-*.bats
#   phase 2: with the user@.service drop-in delegating cpuset and io too — phase2-*.bats
#   join:    as root a lean control plane, vmuser's node joining it (with the ids of "userns") — join-*.bats
# /mnt/in/env (written by tests/vm/run.sh) may set USERNODE_VM_ONLY="node phase1 ..." to run only
# those phases, USERNODE_VM_KUBELET_V to raise kubelet's log verbosity in node-*.bats, and
# USERNODE_VM_ROUNDS for the "bench" phase (scripts/bench/node_pod.sh; only when named in ONLY).
here=$(dirname "$0")
in=/mnt/in
user=vmuser
uid=$(id -u $user)
USERNODE_VM_ONLY=
USERNODE_VM_KUBELET_V=
USERNODE_VM_ROUNDS=
# shellcheck disable=SC1091
[ -f $in/env ] && . $in/env
# The real node's binaries, when the image carries them (scripts/vm/build-image.sh).
k8s_bin=
[ -x /opt/k8s/bin/kubelet ] && k8s_bin=/opt/k8s/bin

# Wait (bounded) for the user's manager: the unit is ordered after it, but "active" is what counts.
for _ in $(seq 100); do
  [ "$(systemctl is-active "user@$uid.service")" = active ] && break
  sleep 0.1
done

wanted() { [ -z "$USERNODE_VM_ONLY" ] || case " $USERNODE_VM_ONLY " in *" $1 "*) true ;; *) false ;; esac; }

# run_phase SECONDS FILE...: bounded below run.sh's VM timeout, so a hanging test still leaves
# the TAP lines before it.
run_phase() {
  limit=$1
  shift
  timeout "$limit" su -l $user -c "env PROBE=$in/helpers/cgroup_node_probe USERNODE=$in/usernode \
    USERNODE_K8S_BIN=$k8s_bin USERNODE_VM_OUT=/mnt/out USERNODE_VM_KUBELET_V=$USERNODE_VM_KUBELET_V \
    bats --tap $*" 2>&1
}

{
  if wanted phase1; then
    run_phase 400 "$here"/phase1-*.bats
    # As root: system units that run usernode as the user (User=, Delegate=yes).
    timeout 120 env PROBE=$in/helpers/cgroup_node_probe USERNODE=$in/usernode VM_USER=$user bats --tap "$here"/system-*.bats 2>&1
  fi
  # "nodereal" runs only node-*.bats of the node phase (one boot less for the bench).
  if wanted node || { [ -n "$USERNODE_VM_ONLY" ] && wanted nodereal; }; then
    # The netfilter and bridge modules a container host has loaded: the kernel does not load
    # modules on requests from a user namespace's root, which is what crio's CNI plugins are.
    modprobe -a bridge veth br_netfilter nf_tables nft_compat nft_chain_nat nf_nat nf_conntrack \
      xt_MASQUERADE xt_addrtype xt_comment xt_mark xt_multiport xt_conntrack 2>/dev/null
    t0=$(date +%s)
    run_phase 900 "$here"/node-*.bats
    echo "# node phase: $(($(date +%s) - t0)) s"
    # Pod limits, the stop grace period and images (limits-*.bats), on a node of their own.
    if wanted node; then
      t0=$(date +%s)
      run_phase 900 "$here"/limits-*.bats
      echo "# limits phase: $(($(date +%s) - t0)) s"
    fi
  fi
  if wanted faults; then
    # The fault matrix (issue 12): "# faults: KIND PASSED/TOTAL" lines for each kind of kill.
    modprobe -a bridge veth br_netfilter nf_tables nft_compat nft_chain_nat nf_nat nf_conntrack \
      xt_MASQUERADE xt_addrtype xt_comment xt_mark xt_multiport xt_conntrack 2>/dev/null
    t0=$(date +%s)
    run_phase 1200 "$here"/faults-*.bats
    echo "# faults phase: $(($(date +%s) - t0)) s"
  fi
  if wanted userns; then
    # Pods with their own user namespace (userns-*.bats): 65536 x 12 subordinate ids in all for
    # the user, a second range right after the image's 100000:65536; the modules as for "node".
    usermod --add-subuids 165536-886431 --add-subgids 165536-886431 $user
    modprobe -a bridge veth br_netfilter nf_tables nft_compat nft_chain_nat nf_nat nf_conntrack \
      xt_MASQUERADE xt_addrtype xt_comment xt_mark xt_multiport xt_conntrack 2>/dev/null
    t0=$(date +%s)
    run_phase 900 "$here"/userns-*.bats
    echo "# userns phase: $(($(date +%s) - t0)) s"
  fi
  if [ -n "$USERNODE_VM_ONLY" ] && wanted bench; then
    modprobe -a bridge veth br_netfilter nf_tables nft_compat nft_chain_nat nf_nat nf_conntrack \
      xt_MASQUERADE xt_addrtype xt_comment xt_mark xt_multiport xt_conntrack 2>/dev/null
    echo "ok 1 - bench"
    timeout 1800 su -l $user -c "env USERNODE=$in/usernode USERNODE_K8S_BIN=$k8s_bin ROUNDS=${USERNODE_VM_ROUNDS:-3} \
      BENCH_RAW=1 BENCH_SAMPLES=/mnt/out/bench-samples BENCH_LOGS=/mnt/out/bench-logs bash $in/scripts/bench/node_pod.sh" 2>&1 | sed 's/^node_pod.sh/# bench: node_pod.sh/'
  fi
  if wanted phase2; then
    mkdir -p /etc/systemd/system/user@.service.d
    printf '[Service]\nDelegate=cpu cpuset io memory pids\n' >/etc/systemd/system/user@.service.d/delegate.conf
    systemctl daemon-reload
    systemctl restart "user@$uid.service"
    run_phase 120 "$here"/phase2-*.bats
  fi
  # As root: a control plane, and vmuser's node joining it (issue 13): the node modules as for
  # "node", and those of kube-proxy's iptables rules (statistic, DNAT, REJECT).
  if wanted join; then
    # The join node runs a pod with hostUsers: false too: the same 65536 x 12 ids as "userns".
    grep -q "^$user:165536:720896$" /etc/subuid || usermod --add-subuids 165536-886431 --add-subgids 165536-886431 $user
    for m in bridge veth br_netfilter nf_tables nft_compat nft_chain_nat nf_nat nf_conntrack \
      xt_MASQUERADE xt_addrtype xt_comment xt_mark xt_multiport xt_conntrack xt_statistic xt_nat \
      xt_tcpudp nf_reject_ipv4 ipt_REJECT nft_reject_inet; do
      modprobe "$m" 2>/dev/null
    done
    t0=$(date +%s)
    timeout 1200 env USERNODE=$in/usernode USERNODE_K8S_BIN=$k8s_bin USERNODE_VM_OUT=/mnt/out \
      bats --tap "$here"/join-*.bats 2>&1
    echo "# join phase: $(($(date +%s) - t0)) s"
  fi
} | awk '
  /^1\.\.[0-9]+$/ { next }
  /^(not )?ok [0-9]+/ { n++; sub(/ok [0-9]+/, "ok " n " -") }
  { print }
  END { print "1.." n }'
