/* local_storage.c: see local_storage.h. */
#include "launcher/services/local_storage.h"

#include <errno.h>
#include <linux/magic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/vfs.h>

#include "common/fileio.h"
#include "common/log.h"
#include "common/macro.h"

#ifndef OVERLAYFS_SUPER_MAGIC
#define OVERLAYFS_SUPER_MAGIC 0x794c7630
#endif

bool local_storage_fs_measurable(long f_type) {
        switch ((unsigned long)f_type & 0xffffffffUL) {
        case EXT4_SUPER_MAGIC: /* ext2 and ext3 too */
        case XFS_SUPER_MAGIC:
        case BTRFS_SUPER_MAGIC:
        case TMPFS_MAGIC:
        case OVERLAYFS_SUPER_MAGIC:
        case NFS_SUPER_MAGIC:
                return true;
        default:
                return false;
        }
}

void local_storage_decide(struct node_settings *s) {
        const char *mode = s->kubelet_local_storage ?: "auto";
        if (strcmp(mode, "auto") != 0) {
                s->local_storage_isolation = strcmp(mode, "true") == 0;
                return;
        }
        /* The data directory is made later: the file system it will be on. */
        _cleanup_free_ char *dir = existing_dir_of(s->data_dir);
        struct statfs st;
        int r = !dir ? -ENOMEM : statfs(dir, &st) < 0 ? -errno : 0;
        s->local_storage_isolation = r >= 0 && local_storage_fs_measurable((long)st.f_type);
        if (s->local_storage_isolation)
                return;
        if (r < 0)
                log_warning_errno(r,
                                  "kubelet: cannot tell the file system of %s (%m): no "
                                  "ephemeral-storage on the node and no eviction; [kubelet] "
                                  "local_storage_isolation = true turns it on",
                                  s->data_dir);
        else
                log_warning("kubelet: %s is on a file system kubelet cannot measure (statfs type "
                            "0x%lx): no ephemeral-storage on the node and no eviction; put "
                            "$XDG_DATA_HOME on ext4, xfs, btrfs or tmpfs, or set [kubelet] "
                            "local_storage_isolation = true to try",
                            s->data_dir, (unsigned long)st.f_type & 0xffffffffUL);
}
