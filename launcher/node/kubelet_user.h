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

/* /etc/passwd, /etc/subuid and /etc/subgid of the node for `ids` (ids->pods > 0). Returns 0 or a
 * negative errno, logged. */
int kubelet_user_setup(const struct pod_userns *ids);
