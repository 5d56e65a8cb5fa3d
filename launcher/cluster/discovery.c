/* discovery.c: kubeadm's discovery, in the order of cmd/kubeadm/app/discovery/token:
 *
 *   1. read cluster-info (kube-public) anonymously; with a hash, over TLS that verifies nothing;
 *   2. the JWS of the token's ID must be there (else the token is unknown or expired) and must sign
 *      the kubeconfig in it with the token's secret (else the token or the server is wrong);
 *   3. the CA inside must carry a pinned public key;
 *   4. read it again, now over TLS verified with that CA, and get the same kubeconfig.
 * With a CA file or a discovery file, step 1 is verified already and 3-4 are not needed.
 *
 * Like kubeadm, step 1 is tried again while the server is not reachable yet or answers that it
 * is not ready (5xx, 429): a node started with its control plane waits for it, up to [cluster]
 * discovery_timeout. A server that answers and is not trusted is refused at once. */
#include "launcher/cluster/cluster_join.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#include "common/log.h"
#include "launcher/cluster/cluster_fetch.h"
#include "launcher/cluster/jws.h"

#define CLUSTER_INFO_PATH "/api/v1/namespaces/kube-public/configmaps/cluster-info"
#define HASH_HOWTO_SHORT "'kubeadm token create --print-join-command' on the control plane prints it"

/* Where the trust comes from when it is not a hash: the CA file, or the discovery file. */
static int trusted_endpoint_load(const struct cluster_join *j, struct cluster_endpoint *ret) {
        _cleanup_free_ char *text = NULL;
        size_t size = 0;
        const char *path = j->discovery_file ? j->discovery_file : j->ca_file, *why = NULL;
        int r = kubeconfig_read_file(path, &text, &size);
        if (r < 0)
                return log_error_errno(r, "cannot read %s: %m", path), -EINVAL;
        if (j->discovery_file) {
                r = kubeconfig_parse_cluster(text, size, ret, &why);
                if (r < 0)
                        return log_error("discovery file %s: %s", path, why ?: "out of memory"), -EINVAL;
                return 0;
        }
        struct ca_pins none = {};
        if (ca_pins_check(&none, text, size) == -EBADMSG)
                return log_error("[cluster] ca_file %s holds no PEM certificate", path), -EINVAL;
        ret->server = strdup(j->server);
        if (!ret->server)
                return -ENOMEM;
        ret->ca_pem = TAKE_PTR(text);
        ret->ca_pem_size = size;
        return 0;
}

#define DISCOVERY_RETRY_SECONDS 2

/* One GET of cluster-info. Returns 0 (RET->status set), -EAGAIN (not reachable, or not ready:
 * worth another try; WHY says why), or another negative errno after logging. */
static int fetch_cluster_info_once(const char *server, const struct cluster_endpoint *trusted,
                                   struct cluster_response *ret, char *why, size_t why_size) {
        _cleanup_free_ char *url = NULL;
        size_t n = strlen(server);
        if (asprintf(&url, "%.*s" CLUSTER_INFO_PATH, (int)(n && server[n - 1] == '/' ? n - 1 : n), server) <
            0)
                return -ENOMEM;
        int r = cluster_fetch(url, trusted ? trusted->ca_pem : NULL, trusted ? trusted->ca_pem_size : 0, ret,
                              why, why_size);
        if (r == -EKEYREJECTED)
                return log_error("cannot trust %s: its certificate does not verify against the cluster CA "
                                 "(%s)",
                                 server, why),
                       r;
        if (r == -EFBIG)
                return log_error("%s answered with more than 1 MiB for cluster-info: not an API server?",
                                 server),
                       r;
        if (r == -ENOMEM)
                return log_error_errno(r, "cannot read cluster-info from %s: %m", server);
        if (r < 0)
                return -EAGAIN;
        if (ret->status >= 500 || ret->status == 429) {
                snprintf(why, why_size, "HTTP %ld", ret->status);
                cluster_response_done(ret);
                return -EAGAIN;
        }
        return 0;
}

static int fetch_cluster_info(const struct cluster_join *j, const char *server,
                              const struct cluster_endpoint *trusted, struct cluster_response *ret) {
        struct timespec start, now;
        char why[256] = "";
        unsigned tries = 0;

        clock_gettime(CLOCK_MONOTONIC, &start);
        for (;;) {
                int r = fetch_cluster_info_once(server, trusted, ret, why, sizeof(why));
                if (r != -EAGAIN)
                        return r;
                tries++;
                clock_gettime(CLOCK_MONOTONIC, &now);
                if (now.tv_sec - start.tv_sec + DISCOVERY_RETRY_SECONDS > (time_t)j->discovery_timeout)
                        break;
                if (tries == 1)
                        log_info("cannot reach the cluster at %s yet (%s); trying again for up to %u s "
                                 "([cluster] discovery_timeout)",
                                 server, why, j->discovery_timeout);
                sleep(DISCOVERY_RETRY_SECONDS);
        }
        if (tries > 1)
                return log_error("cannot reach the cluster at %s: %s (tried %u times in %u s, [cluster] "
                                 "discovery_timeout)",
                                 server, why, tries, j->discovery_timeout),
                       -EHOSTUNREACH;
        return log_error("cannot reach the cluster at %s: %s", server, why), -EHOSTUNREACH;
}

/* From the ConfigMap's JSON: data.kubeconfig, and data.jws-kubeconfig-ID (NULL when absent). */
static int cluster_info_parse(const char *server, const struct cluster_response *resp, const char *token_id,
                              char **ret_kubeconfig, char **ret_jws) {
        _cleanup_free_ char *jws_key = NULL;
        json_object *root, *data, *kubeconfig, *jws;

        if (resp->status == 401 || resp->status == 403)
                return log_error("%s refused to show cluster-info to an anonymous client (HTTP %ld): the "
                                 "cluster "
                                 "does not allow discovery with a token; use a discovery file ([cluster] "
                                 "discovery_file)",
                                 server, resp->status),
                       -EACCES;
        if (resp->status == 404)
                return log_error("%s has no cluster-info ConfigMap in kube-public: not a kubeadm-style "
                                 "cluster, "
                                 "or bootstrap token discovery is not set up (kubeadm init phase "
                                 "bootstrap-token)",
                                 server),
                       -ENOENT;
        if (resp->status != 200)
                return log_error("%s answered HTTP %ld for cluster-info", server, resp->status), -EPROTO;
        if (asprintf(&jws_key, "jws-kubeconfig-%s", token_id) < 0)
                return -ENOMEM;
        root = json_tokener_parse(resp->body);
        if (!root || !json_object_object_get_ex(root, "data", &data) ||
            !json_object_object_get_ex(data, "kubeconfig", &kubeconfig) ||
            !json_object_is_type(kubeconfig, json_type_string)) {
                json_object_put(root);
                return log_error("%s: cluster-info holds no kubeconfig: not an API server?", server),
                       -EPROTO;
        }
        *ret_kubeconfig = strdup(json_object_get_string(kubeconfig));
        *ret_jws =
                json_object_object_get_ex(data, jws_key, &jws) && json_object_is_type(jws, json_type_string)
                        ? strdup(json_object_get_string(jws))
                        : NULL;
        json_object_put(root);
        return *ret_kubeconfig ? 0 : -ENOMEM;
}

/* Whether CA_PEM is the CA the node trusted when it joined (byte for byte). */
static bool ca_is_joined_ca(const struct cluster_join *j, const char *ca_pem, size_t ca_pem_size) {
        _cleanup_free_ char *joined = NULL;
        size_t size = 0;
        return j->joined_ca_file && kubeconfig_read_file(j->joined_ca_file, &joined, &size) == 0 &&
               size == ca_pem_size && memcmp(joined, ca_pem, size) == 0;
}

/* A token gone from cluster-info, on a node that joined before with the CA in KUBECONFIG. */
static bool token_expired_after_join(const struct cluster_join *j, const char *server,
                                     const char *kubeconfig) {
        struct cluster_endpoint e = {};
        const char *why = NULL;
        bool same = kubeconfig_parse_cluster(kubeconfig, strlen(kubeconfig), &e, &why) == 0 &&
                    ca_is_joined_ca(j, e.ca_pem, e.ca_pem_size);
        cluster_endpoint_done(&e);
        if (same)
                log_warning(
                        "token ID \"%s\" is no longer valid for %s; the node joined before and keeps its "
                        "client certificate",
                        j->token.id, server);
        return same;
}

/* Steps 2 (and the parse of 3): the token signs this kubeconfig. */
static int cluster_info_verify(const struct cluster_join *j, const char *server, const char *kubeconfig,
                               const char *jws) {
        if (!jws && token_expired_after_join(j, server, kubeconfig))
                return 0;
        if (!jws)
                return log_error("token ID \"%s\" is not valid for the cluster at %s, or it has expired: "
                                 "make a "
                                 "new one on the control plane (kubeadm token create)",
                                 j->token.id, server),
                       -ENOKEY;
        int r = jws_detached_verify(jws, kubeconfig, j->token.id, j->token.secret);
        if (r == -ENOMEM)
                return log_error_errno(r, "cannot check cluster-info's signature: %m");
        if (r < 0)
                return log_error("cluster-info from %s is not signed with the token's secret: wrong "
                                 "--token, or "
                                 "not the cluster you meant; refusing to trust it",
                                 server),
                       -EKEYREJECTED;
        return 0;
}

static int discover_with_hash(const struct cluster_join *j, struct cluster_endpoint *ret) {
        struct cluster_response insecure = {}, secure = {};
        _cleanup_free_ char *kubeconfig = NULL, *jws = NULL, *kubeconfig2 = NULL, *jws2 = NULL,
                            *actual = NULL;
        const char *why = NULL;
        int r;

        r = fetch_cluster_info(j, j->server, NULL, &insecure);
        if (r >= 0)
                r = cluster_info_parse(j->server, &insecure, j->token.id, &kubeconfig, &jws);
        cluster_response_done(&insecure);
        if (r >= 0)
                r = cluster_info_verify(j, j->server, kubeconfig, jws);
        if (r < 0)
                return r;
        r = kubeconfig_parse_cluster(kubeconfig, strlen(kubeconfig), ret, &why);
        if (r < 0)
                return log_error("cluster-info from %s holds an unusable kubeconfig: %s", j->server,
                                 why ?: "out of memory"),
                       -EPROTO;
        r = ca_pins_check(&j->pins, ret->ca_pem, ret->ca_pem_size);
        if (r < 0) {
                (void)ca_pin_of_pem(ret->ca_pem, ret->ca_pem_size, &actual);
                log_error("the cluster CA of %s has public key %s, which no --discovery-token-ca-cert-hash "
                          "pins: "
                          "check the hash (" HASH_HOWTO_SHORT "); refusing to trust it",
                          j->server, actual ?: "(unreadable)");
                cluster_endpoint_done(ret);
                return -EKEYREJECTED;
        }
        /* Step 4: the server we talked to holds a key the now trusted CA certified. */
        r = fetch_cluster_info(j, j->server, ret, &secure);
        if (r >= 0)
                r = cluster_info_parse(j->server, &secure, j->token.id, &kubeconfig2, &jws2);
        cluster_response_done(&secure);
        if (r >= 0 && strcmp(kubeconfig, kubeconfig2) != 0) {
                log_error("cluster-info from %s changed between the unverified and the verified read; "
                          "refusing to trust it",
                          j->server);
                r = -EKEYREJECTED;
        }
        if (r < 0)
                cluster_endpoint_done(ret);
        return r;
}

/* With a CA (file, or the discovery file's): the TLS handshake proves the server. cluster-info
 * still checks the token when the cluster shows it; one that hides it leaves that to the TLS
 * bootstrap. */
static int discover_with_ca(const struct cluster_join *j, struct cluster_endpoint *ret) {
        struct cluster_response resp = {};
        _cleanup_free_ char *kubeconfig = NULL, *jws = NULL;
        int r = trusted_endpoint_load(j, ret);
        if (r < 0)
                return r;
        r = fetch_cluster_info(j, ret->server, ret, &resp);
        if (r >= 0 && (resp.status == 401 || resp.status == 403 || resp.status == 404))
                log_info("%s does not show cluster-info (HTTP %ld): the token is checked by the TLS "
                         "bootstrap",
                         ret->server, resp.status);
        else if (r >= 0) {
                r = cluster_info_parse(ret->server, &resp, j->token.id, &kubeconfig, &jws);
                if (r >= 0)
                        r = cluster_info_verify(j, ret->server, kubeconfig, jws);
        }
        cluster_response_done(&resp);
        if (r < 0)
                cluster_endpoint_done(ret);
        return r;
}

int cluster_discover(const struct cluster_join *join, struct cluster_endpoint *ret) {
        *ret = (struct cluster_endpoint){};
        return join->pins.n > 0 ? discover_with_hash(join, ret) : discover_with_ca(join, ret);
}
