/* local_storage.h: whether kubelet runs with localStorageCapacityIsolation.
 *
 * With it, kubelet reports the node's ephemeral-storage, enforces pods' ephemeral-storage requests
 * and limits, and its eviction manager runs (disk and memory pressure alike). It needs cAdvisor
 * to read the file system of kubelet's root dir and of CRI-O's storage, both in the node's data
 * directory. Without it, the eviction manager fails every pass at "HasDedicatedImageFs" and
 * evicts nothing at all, and the scheduler finds no ephemeral-storage on the node for a pod that
 * requests some. cAdvisor (fs/fs.go processMounts, in kubelet 1.33) measures ext2/3/4, xfs,
 * btrfs, tmpfs, overlay and nfs; zfs only through the zfs command. On any other file system
 * kubelet would not start ("failed to get rootfs info"), so there it stays off. */
#pragma once

#include <stdbool.h>

#include "launcher/services/node_settings.h"

/* Whether cAdvisor measures a file system of this statfs f_type. */
bool local_storage_fs_measurable(long f_type);

/* Sets s->local_storage_isolation from s->kubelet_local_storage ("true", "false" or "auto": the
 * data directory's file system, or that of its nearest existing parent); "auto" that decides off
 * says so once, with what the node loses. Never fails: an unreadable directory counts as off. */
void local_storage_decide(struct node_settings *s);
