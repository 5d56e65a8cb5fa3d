/* mounts.h: the node's view of the file system, set up by the node init in its own mount
 * namespace: nothing here is visible to, or changes, the host. */
#pragma once

#include <stdbool.h>
#include <sys/types.h>

/* Directories copied up: the node may create, replace and delete entries in them (crio writes
 * /run/crio, kubelet /var/lib/kubelet, CNI /etc/cni) while the host's files stay untouched. */
#define MOUNTS_COPY_UP_DIRS \
        { "/etc", "/run", "/var/lib" }

/* Name of the hidden directory in each copied-up dir where the host's original stays reachable. */
#define MOUNTS_ORIGINAL_NAME ".usernode-host"

/* Make / a slave (host mounts still propagate in, the node's never leak out), mount a fresh /proc
 * for the node's pid namespace and a fresh /sys when the node owns its network namespace (keeping
 * /sys/fs/cgroup), then copy up MOUNTS_COPY_UP_DIRS. Returns 0 or a negative errno, logged. */
int mounts_setup_node(bool own_network);

/* Copy up one directory: a tmpfs on `dir` holding symlinks to every entry of the original, which
 * is moved to dir/MOUNTS_ORIGINAL_NAME (entries that are symlinks are copied as they are). Writing through such a symlink changes the host file, so
 * whoever wants a private copy unlinks the symlink first. */
int mounts_copy_up(const char *dir);

/* Replace `target` (a copied-up entry) by a bind mount of `source`, e.g. the state dir's
 * resolv.conf on /etc/resolv.conf. */
int mounts_bind_file(const char *source, const char *target);

/* A tmpfs mounted by the node on `dir` (created with `mode` if missing). Its superblock belongs
 * to the node's user namespace, so the node's root may give containers idmapped mounts of what
 * lies on it (Linux >= 6.3); never so of the host's disk, whose superblock is the host's
 * (fs/namespace.c can_idmap_mount: CAP_SYS_ADMIN over s_user_ns). Returns 0 or a negative
 * errno, logged. */
int mounts_node_tmpfs(const char *dir, mode_t mode);
