#!/bin/sh
# main.sh: runs inside the VM as root (usernode-vm-tests.service); TAP on stdout.
echo "1..1"
echo "ok 1 - booted"
echo "# $(cat /sys/fs/cgroup/user.slice/user-1000.slice/user@1000.service/cgroup.controllers)"
systemctl is-active user@1000.service | sed 's/^/# user@1000: /'
