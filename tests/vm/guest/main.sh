#!/bin/sh
# main.sh: runs inside the VM as root, from usernode-vm-tests.service once user@1000.service is
# up (scripts/vm/build-image.sh). Runs the bats files of this directory as the ordinary user
# "vmuser" in a login session (su -l: pam_systemd gives it a session scope and XDG_RUNTIME_DIR,
# like an ssh login), and prints one TAP stream on stdout, numbered across the phases:
#   phase 1: Debian's default delegation (cpu memory pids) — phase1-*.bats
#   phase 2: with the user@.service drop-in delegating cpuset and io too — phase2-*.bats
here=$(dirname "$0")
in=/mnt/in
user=vmuser
uid=$(id -u $user)
# The real node's binaries, when the image carries them (scripts/vm/build-image.sh).
k8s_bin=
[ -x /opt/k8s/bin/kubelet ] && k8s_bin=/opt/k8s/bin

# Wait (bounded) for the user's manager: the unit is ordered after it, but "active" is what counts.
for _ in $(seq 100); do
  [ "$(systemctl is-active "user@$uid.service")" = active ] && break
  sleep 0.1
done

# run_phase SECONDS FILE...: bounded below run.sh's VM timeout (600 s), so a hanging test still
# leaves the TAP lines before it.
run_phase() {
  limit=$1
  shift
  timeout "$limit" su -l $user -c "env PROBE=$in/helpers/cgroup_node_probe USERNODE=$in/usernode USERNODE_K8S_BIN=$k8s_bin bats --tap $*" 2>&1
}

{
  run_phase 400 "$here"/phase1-*.bats
  # As root: system units that run usernode as the user (User=, Delegate=yes).
  timeout 120 env PROBE=$in/helpers/cgroup_node_probe USERNODE=$in/usernode VM_USER=$user bats --tap "$here"/system-*.bats 2>&1
  mkdir -p /etc/systemd/system/user@.service.d
  printf '[Service]\nDelegate=cpu cpuset io memory pids\n' >/etc/systemd/system/user@.service.d/delegate.conf
  systemctl daemon-reload
  systemctl restart "user@$uid.service"
  run_phase 120 "$here"/phase2-*.bats
} | awk '
  /^1\.\.[0-9]+$/ { next }
  /^(not )?ok [0-9]+/ { n++; sub(/ok [0-9]+/, "ok " n " -") }
  { print }
  END { print "1.." n }'
