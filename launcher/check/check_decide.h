/* check_decide.h: the decisions of the checks (pass, warn or fail, with the fix), apart from
 * reading the host. Each takes what was read as its inputs, so that the unit tests
 * (tests/unit/test_check_decide.c) give it every case, and `run` decides what `usernode check`
 * decides from the same code. */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "launcher/check/check.h"
#include "launcher/idmap.h"

/* The integer in PROC_SYS/NAME ("/proc/sys", or a tree in tests), or -1 when this kernel has no
 * such sysctl. */
long check_sysctl(const char *proc_sys, const char *name);

/* What decides whether an unprivileged user namespace can be had: the sysctls (-1 when absent),
 * the AppArmor label of this process (NULL without AppArmor) and whether it is the host's root,
 * which the unprivileged-only switches do not stop. */
struct userns_facts {
        long max_user_namespaces; /* user.max_user_namespaces */
        long unprivileged_userns_clone; /* kernel.unprivileged_userns_clone (Debian, older Ubuntu) */
        long apparmor_restrict; /* kernel.apparmor_restrict_unprivileged_userns (Ubuntu 24.04) */
        const char *apparmor_label;
        bool privileged;
};

/* Reads the facts of this process from PROC_SYS; the label goes into LABEL (SIZE bytes). */
void check_userns_read(const char *proc_sys, char *label, size_t size, struct userns_facts *ret);
void check_userns_decide(const struct userns_facts *f, struct check_result *r);

/* Root of the initial user namespace (a uid_map of "0 0 4294967295"); root of another user
 * namespace (a rootless container) is an ordinary user to the kernel. */
bool check_is_host_root(void);

/* /dev/net/tun for the node's own network: ERR is 0 when it opens (check_tun_open()), else the
 * errno of open(2); MODE is [network] mode (NULL: the default, slirp), which alone needs it. */
int check_tun_open(void);
void check_tun_decide(int err, const char *mode, struct check_result *r);

/* net.ipv4.ip_unprivileged_port_start (-1 when absent). */
void check_unprivileged_ports_decide(long start, struct check_result *r);

/* The subordinate ids of USER in FILE: N ranges (N <= 0: none) of TOTAL ids; OVERLAP names
 * another owner whose range overlaps them ("bob (line 3)"), or is NULL. FLAG is usermod's
 * option for the fix: "--add-subuids". */
void check_subids_decide(const char *user, const char *file, const char *flag, int n, uint64_t total,
                         const char *overlap, struct check_result *r);

/* Whether a line of F (a subuid/subgid file) of an owner other than USER (or its id ID) overlaps
 * RANGES; "bob (line 3)" into WHO. Lines that are not OWNER:START:COUNT are skipped. */
bool check_subids_overlap(FILE *f, const char *user, uint32_t id, const struct id_range *ranges, int n,
                          char *who, size_t size);

/* CONTROLLERS: the cgroup.controllers of the user's manager, NULL when it could not be read.
 * REQUIRED: [cgroup] require = true, which turns the degraded mode into a failure. */
void check_controllers_decide(const char *controllers, bool required, struct check_result *r);

/* A program at PATH whose `--version` gave MAJOR.MINOR (HAVE_VERSION false: it gave none), held
 * against MIN_MAJOR.MIN_MINOR (MIN_MAJOR 0: any version will do). */
void check_version_decide(const char *path, bool have_version, unsigned major, unsigned minor,
                          unsigned min_major, unsigned min_minor, const char *fix, struct check_result *r);
