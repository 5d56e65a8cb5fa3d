/* cluster_fetch.h: one HTTPS GET against the API server (libcurl), anonymous, bounded in size
 * and time: all discovery needs. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#define CLUSTER_FETCH_BODY_MAX (1024 * 1024)

struct cluster_response {
        long status; /* HTTP status */
        char *body; /* NUL-terminated */
        size_t size;
};

/* A client's TLS credentials (PEM), for requests as the node rather than anonymously. */
struct cluster_client_cert {
        const char *cert_pem;
        size_t cert_size;
        const char *key_pem;
        size_t key_size;
};

/* GET URL as CLIENT (NULL: anonymous), trusting CA_PEM. With STOP_AT_DATA the transfer ends
 * at the first bytes of the answer (a watch that saw an event): 0 with RET->status 200 then.
 * TIMEOUT_MS: the whole transfer's limit. Otherwise as cluster_fetch(). */
int cluster_fetch_as(const char *url, const char *ca_pem, size_t ca_pem_size,
                     const struct cluster_client_cert *client, bool stop_at_data, long timeout_ms,
                     struct cluster_response *ret, char *why, size_t why_size);

/* GET URL. CA_PEM: the CA bundle the server's certificate must chain to (its name checked too);
 * NULL: no verification at all, for kubeadm's first, untrusted, read of cluster-info. Returns 0
 * with *RET filled (any HTTP status), or -EHOSTUNREACH (no connection: WHY says why),
 * -EKEYREJECTED (the server's certificate did not verify against CA_PEM), -EFBIG, -ENOMEM. WHY
 * (WHY_SIZE bytes) gets libcurl's reason. */
int cluster_fetch(const char *url, const char *ca_pem, size_t ca_pem_size, struct cluster_response *ret,
                  char *why, size_t why_size);

void cluster_response_done(struct cluster_response *r);
