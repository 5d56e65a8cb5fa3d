/* render_cni.c: the CNI bridge network of the node's pods (cni0, host-local IPAM).
 *
 * ipMasq is always false: the node masquerades its pods itself, with one nf_tables rule set at
 * start ([cni] ip_masq, netns/pod_masquerade.h), not the plugin's iptables at every pod's ADD
 * and DEL.
 *
 * cniVersion 0.3.1 (configs/cni-bridge.conflist.in), not 1.0.0: from 0.4.0 on, CRI-O's ocicni
 * runs a CNI CHECK of the whole chain right after every ADD (checkNetwork, "Checking pod ... for
 * CNI network"), the bridge plugin, host-local and the masquerade's iptables again, on the way to
 * every pod's start; below 0.4.0 it reads the result ADD cached in /var/lib/cni. Usernetes gen1's
 * 50-bridge.conf is 0.3.0. Nothing of the conflist needs more than 0.3.1. */
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include "common/log.h"
#include "launcher/services/render.h"
#include "launcher/services/template.h"

/* "A.B.C.D/N" with N in 8..30: a pod network needs room for addresses. */
static bool subnet_valid(const char *cidr) {
        char addr[INET_ADDRSTRLEN];
        const char *slash = strchr(cidr, '/');
        struct in_addr a;
        char *end;
        if (!slash || (size_t)(slash - cidr) >= sizeof(addr))
                return false;
        memcpy(addr, cidr, (size_t)(slash - cidr));
        addr[slash - cidr] = '\0';
        long len = strtol(slash + 1, &end, 10);
        return inet_pton(AF_INET, addr, &a) == 1 && *end == '\0' && slash[1] != '\0' && len >= 8 &&
               len <= 30;
}

int render_cni_conflist(const struct node_settings *s, char **ret) {
        _cleanup_free_ char *q_bridge = NULL, *q_subnet = NULL;

        if (!subnet_valid(s->cni_subnet))
                return log_error_errno(EINVAL,
                                       "[cni] subnet = %s: expected an IPv4 network like 10.88.0.0/16",
                                       s->cni_subnet);
        q_bridge = template_quote(s->cni_bridge);
        q_subnet = template_quote(s->cni_subnet);
        if (!q_bridge || !q_subnet)
                return log_error_errno(ENOMEM, "cannot render the CNI conflist: %m");

        const struct template_var vars[] = {
                { "BRIDGE", q_bridge },
                { "SUBNET", q_subnet },
        };
        return render_template("cni-bridge.conflist.in", vars, ELEMENTSOF(vars), ret);
}
