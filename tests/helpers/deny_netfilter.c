/* deny_netfilter: run a command where nf_tables cannot be reached, as on a kernel without it.
 *
 *   deny_netfilter CMD [ARG...]
 *
 * A seccomp filter (inherited by every child, across exec) fails socket(AF_NETLINK, *,
 * NETLINK_NETFILTER) with EPROTONOSUPPORT, what a kernel without nfnetlink answers; everything
 * else is allowed. For the kernel TCP path's fallback to slirp. */
#include <errno.h>
#include <linux/netlink.h>
#include <seccomp.h>
#include <stdio.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <unistd.h>

int main(int argc, char **argv) {
        scmp_filter_ctx ctx;

        if (argc < 2) {
                fprintf(stderr, "usage: deny_netfilter CMD [ARG...]\n");
                return 2;
        }
        ctx = seccomp_init(SCMP_ACT_ALLOW);
        if (!ctx || seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPROTONOSUPPORT), SCMP_SYS(socket), 2,
                                     SCMP_A0(SCMP_CMP_EQ, AF_NETLINK),
                                     SCMP_A2(SCMP_CMP_EQ, NETLINK_NETFILTER)) < 0) {
                fprintf(stderr, "deny_netfilter: cannot build the filter\n");
                return 1;
        }
        /* Without no_new_privs only a privileged process may load a filter; setuid helpers
         * (newuidmap) then run without their privileges, which usernode handles as for a user
         * without subordinate ids. */
        if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 || seccomp_load(ctx) < 0) {
                perror("deny_netfilter: cannot load the filter");
                return 1;
        }
        seccomp_release(ctx);
        execvp(argv[1], argv + 1);
        perror("deny_netfilter: exec");
        return 127;
}
