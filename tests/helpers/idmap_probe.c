/* idmap_probe.c: can the caller give a detached copy of PATH's mount an idmapped mount?
 *
 *   idmap_probe [-u USERNS] PATH...
 *
 * For each PATH: the file system type (statfs), then what crun does for a bind mount with
 * uidMappings (src/libcrun/linux.c maybe_get_idmapped_mount): open_tree(OPEN_TREE_CLONE) of
 * PATH, and mount_setattr(MOUNT_ATTR_IDMAP) with the user namespace USERNS (a pinned one such as
 * CRI-O's, or /proc/PID/ns/user), else a fresh one mapping 0..65535 to the caller's
 * 65536..131071 (the caller must map them, e.g. the node's root). First a line on the user
 * namespace used (its owner's uid as the caller sees it), then one line per PATH:
 *   PATH fs=TYPE open_tree=ok|ERRNO idmap=ok|ERRNO
 * Exit status 0 when every PATH could be idmapped, 1 otherwise. The kernel's rules are in
 * fs/namespace.c: build_mount_idmapped() (the caller must be privileged over the mapping's user
 * namespace) and can_idmap_mount() (the file system has FS_ALLOW_IDMAP and the caller holds
 * CAP_SYS_ADMIN over its superblock's s_user_ns, i.e. the user namespace that mounted it). */
#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <linux/mount.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/vfs.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef NS_GET_OWNER_UID
#define NS_GET_OWNER_UID _IO(0xb7, 0x4)
#endif
#ifndef MOUNT_ATTR_IDMAP
#define MOUNT_ATTR_IDMAP 0x00100000
#endif

static const char *fs_name(long type) {
        switch ((unsigned long)type) {
        case TMPFS_MAGIC:
                return "tmpfs";
        case EXT4_SUPER_MAGIC:
                return "ext4";
        case OVERLAYFS_SUPER_MAGIC:
                return "overlay";
        case V9FS_MAGIC:
                return "9p";
        case PROC_SUPER_MAGIC:
                return "proc";
        default:
                return "other";
        }
}

static int write_map(pid_t pid, const char *file, const char *map) {
        char path[64];
        snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid, file);
        int fd = open(path, O_WRONLY | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        ssize_t n = write(fd, map, strlen(map));
        int r = n == (ssize_t)strlen(map) ? 0 : (n < 0 ? -errno : -EIO);
        close(fd);
        return r;
}

/* A child in a new user namespace mapping 0..65535 to our 65536..131071; its ns fd in *ns_fd. */
static int mapping_userns(pid_t *child, int *ns_fd) {
        int pipefd[2];
        if (pipe2(pipefd, O_CLOEXEC) < 0)
                return -errno;
        pid_t pid = fork();
        if (pid < 0)
                return -errno;
        if (pid == 0) {
                char c;
                prctl(PR_SET_PDEATHSIG, SIGKILL);
                close(pipefd[1]);
                if (unshare(CLONE_NEWUSER) < 0)
                        _exit(1);
                (void)!write(STDOUT_FILENO, "", 0);
                (void)!read(pipefd[0], &c, 1); /* until the parent is done with us */
                _exit(0);
        }
        close(pipefd[0]);
        *child = pid;
        /* Wait (bounded) until the child has its own user namespace. */
        char self_ns[64], child_ns[64], path[64];
        ssize_t a = readlink("/proc/self/ns/user", self_ns, sizeof(self_ns) - 1);
        snprintf(path, sizeof(path), "/proc/%d/ns/user", (int)pid);
        for (int i = 0; i < 2000; i++) {
                ssize_t b = readlink(path, child_ns, sizeof(child_ns) - 1);
                if (a > 0 && b > 0 && (a != b || memcmp(self_ns, child_ns, (size_t)a) != 0))
                        break;
                usleep(1000);
        }
        int r = write_map(pid, "uid_map", "0 65536 65536\n");
        if (r >= 0)
                r = write_map(pid, "gid_map", "0 65536 65536\n");
        if (r < 0)
                return r;
        *ns_fd = open(path, O_RDONLY | O_CLOEXEC);
        return *ns_fd < 0 ? -errno : pipefd[1];
}

int main(int argc, char **argv) {
        int failed = 0, first = 1, keep = -1;
        pid_t child = -1;
        int ns_fd = -1;
        if (argc > 2 && strcmp(argv[1], "-u") == 0) {
                ns_fd = open(argv[2], O_RDONLY | O_CLOEXEC);
                if (ns_fd < 0) {
                        fprintf(stderr, "idmap_probe: cannot open %s: %s\n", argv[2], strerror(errno));
                        return 1;
                }
                first = 3;
        } else {
                keep = mapping_userns(&child, &ns_fd);
                if (keep < 0) {
                        fprintf(stderr,
                                "idmap_probe: cannot make a user namespace mapping 0:65536:65536: %s\n",
                                strerror(-keep));
                        return 1;
                }
        }
        if (argc <= first) {
                fprintf(stderr, "usage: idmap_probe [-u USERNS] PATH...\n");
                return 2;
        }
        uid_t owner = (uid_t)-1;
        if (ioctl(ns_fd, NS_GET_OWNER_UID, &owner) < 0)
                printf("userns %s: owner unknown (%s); caller euid %d\n", first == 3 ? argv[2] : "fresh",
                       strerrorname_np(errno), (int)geteuid());
        else
                printf("userns %s: owner uid %d; caller euid %d\n", first == 3 ? argv[2] : "fresh",
                       (int)owner, (int)geteuid());
        for (int i = first; i < argc; i++) {
                struct statfs sfs;
                const char *fs = statfs(argv[i], &sfs) == 0 ? fs_name((long)sfs.f_type) : "?";
                int tree =
                        (int)syscall(SYS_open_tree, AT_FDCWD, argv[i],
                                     OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_NO_AUTOMOUNT | AT_RECURSIVE);
                if (tree < 0) {
                        printf("%s fs=%s open_tree=%s idmap=-\n", argv[i], fs, strerrorname_np(errno));
                        failed = 1;
                        continue;
                }
                struct mount_attr attr = { .attr_set = MOUNT_ATTR_IDMAP, .userns_fd = (uint64_t)ns_fd };
                long r = syscall(SYS_mount_setattr, tree, "", AT_EMPTY_PATH, &attr, sizeof(attr));
                printf("%s fs=%s open_tree=ok idmap=%s\n", argv[i], fs,
                       r == 0 ? "ok" : strerrorname_np(errno));
                if (r != 0)
                        failed = 1;
                close(tree);
        }
        if (keep >= 0) {
                close(keep);
                waitpid(child, NULL, 0);
        }
        return failed;
}
