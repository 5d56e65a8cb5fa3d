/* kubelet_user.h: the node's user "kubelet", whose subordinate ids kubelet hands to pods with
 * their own user namespace (launcher/services/pod_userns.h says why and how many).
 *
 * Written into the node's copied-up /etc (mounts.h): /etc/passwd becomes the host's plus one
 * line, /etc/subuid and /etc/subgid hold only kubelet's slice (the host's lines name host ids,
 * which mean nothing in the node). The host's files stay as they are. */
#pragma once

#include "launcher/services/pod_userns.h"

/* The "kubelet" line kubelet's os/user lookup finds: `passwd` (a passwd file's text) with it
 * appended, under the highest uid from 999 down to 100 that no line uses; `passwd` unchanged when
 * a "kubelet" user exists already. *ret is a new string. Returns 0, -ENOSPC (no free uid), or
 * -ENOMEM. */
int kubelet_user_passwd(const char *passwd, char **ret);

/* Does a uid_map or gid_map text (as read inside the namespace: INNER OUTER COUNT lines) map
 * every id of `ids`, each pod's block within one line (what the kernel requires of the pods'
 * maps)? Returns 1 yes, 0 no, -EINVAL for a text that is no map, -ENOMEM. */
int kubelet_user_ids_mapped(const char *map, const struct pod_userns *ids);

/* /etc/passwd, /etc/subuid and /etc/subgid of the node for `ids` (ids->pods > 0). When the node's
 * maps do not hold the slice (newuidmap failed and the launcher mapped only the user's own id), no
 * user is made and a warning says pods with hostUsers: false will fail. Returns 1 (made), 0 (not made) or a
 * negative errno, logged. */
int kubelet_user_setup(const struct pod_userns *ids);
