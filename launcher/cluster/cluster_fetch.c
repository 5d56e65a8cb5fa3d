/* cluster_fetch.c: HTTPS GETs of discovery with libcurl.
 *
 * Only https, no redirects (a redirect could take an unverified read anywhere), a proxy only as
 * the usual environment variables say, 5 s to connect and 15 s in all, and at most 1 MiB of
 * answer. */
#include "launcher/cluster/cluster_fetch.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "common/macro.h"

struct body {
        char *data;
        size_t size;
        bool too_big;
        bool stop_at_data;
        bool stopped;
};

static size_t on_data(char *ptr, size_t size, size_t nmemb, void *userdata) {
        struct body *b = userdata;
        size_t n = size * nmemb;
        if (b->stop_at_data && n > 0) {
                b->stopped = true;
                return 0;
        }
        if (n > CLUSTER_FETCH_BODY_MAX - b->size) {
                b->too_big = true;
                return 0; /* libcurl stops with CURLE_WRITE_ERROR */
        }
        char *grown = realloc(b->data, b->size + n + 1);
        if (!grown)
                return 0;
        memcpy(grown + b->size, ptr, n);
        b->size += n;
        grown[b->size] = '\0';
        b->data = grown;
        return n;
}

static void curl_easy_cleanupp(CURL **c) {
        if (*c)
                curl_easy_cleanup(*c);
}

static int cluster_fetch_client(CURL *c, const struct cluster_client_cert *client) {
        struct curl_blob cert = { .data = (void *)client->cert_pem,
                                  .len = client->cert_size,
                                  .flags = CURL_BLOB_COPY },
                         key = { .data = (void *)client->key_pem,
                                 .len = client->key_size,
                                 .flags = CURL_BLOB_COPY };
        return curl_easy_setopt(c, CURLOPT_SSLCERT_BLOB, &cert) ||
                               curl_easy_setopt(c, CURLOPT_SSLCERTTYPE, "PEM") ||
                               curl_easy_setopt(c, CURLOPT_SSLKEY_BLOB, &key) ||
                               curl_easy_setopt(c, CURLOPT_SSLKEYTYPE, "PEM")
                       ? -ENOMEM
                       : 0;
}

static int cluster_fetch_setup(CURL *c, const char *url, const char *ca_pem, size_t ca_pem_size,
                               struct body *body, char *errbuf, long timeout_ms) {
        struct curl_blob blob = { .data = (void *)ca_pem, .len = ca_pem_size, .flags = CURL_BLOB_COPY };
        bool verify = ca_pem != NULL;
        return curl_easy_setopt(c, CURLOPT_URL, url) ||
                               curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "https") ||
                               curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L) ||
                               curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L) ||
                               curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, 5000L) ||
                               curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, timeout_ms) ||
                               curl_easy_setopt(c, CURLOPT_MAXFILESIZE_LARGE,
                                                (curl_off_t)CLUSTER_FETCH_BODY_MAX) ||
                               curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data) ||
                               curl_easy_setopt(c, CURLOPT_WRITEDATA, body) ||
                               curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf) ||
                               curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, verify ? 1L : 0L) ||
                               curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, verify ? 2L : 0L) ||
                               /* Only the cluster's CA, never the system's bundle. */
                               curl_easy_setopt(c, CURLOPT_CAPATH, NULL) ||
                               (verify && curl_easy_setopt(c, CURLOPT_CAINFO_BLOB, &blob)) ||
                               curl_easy_setopt(c, CURLOPT_USERAGENT, "usernode")
                       ? -ENOMEM
                       : 0;
}

int cluster_fetch(const char *url, const char *ca_pem, size_t ca_pem_size, struct cluster_response *ret,
                  char *why, size_t why_size) {
        return cluster_fetch_as(url, ca_pem, ca_pem_size, NULL, false, 15000L, ret, why, why_size);
}

int cluster_fetch_as(const char *url, const char *ca_pem, size_t ca_pem_size,
                     const struct cluster_client_cert *client, bool stop_at_data, long timeout_ms,
                     struct cluster_response *ret, char *why, size_t why_size) {
        static bool initialised;
        char errbuf[CURL_ERROR_SIZE] = "";
        struct body body = { .stop_at_data = stop_at_data };
        _cleanup_(curl_easy_cleanupp) CURL *c = NULL;

        *ret = (struct cluster_response){};
        if (!initialised) {
                if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
                        return -ENOMEM;
                initialised = true;
        }
        c = curl_easy_init();
        if (!c || cluster_fetch_setup(c, url, ca_pem, ca_pem_size, &body, errbuf, timeout_ms) < 0 ||
            (client && cluster_fetch_client(c, client) < 0))
                return -ENOMEM;

        CURLcode code = curl_easy_perform(c);
        if (code == CURLE_WRITE_ERROR && body.stopped)
                code = CURLE_OK;
        /* A watch that saw nothing before its time ran out: an empty answer, not an error. */
        if (code == CURLE_OPERATION_TIMEDOUT && stop_at_data)
                code = CURLE_OK;
        if (code != CURLE_OK) {
                snprintf(why, why_size, "%s", errbuf[0] ? errbuf : curl_easy_strerror(code));
                free(body.data);
                if (body.too_big || code == CURLE_FILESIZE_EXCEEDED)
                        return -EFBIG;
                if (code == CURLE_PEER_FAILED_VERIFICATION || code == CURLE_SSL_CACERT_BADFILE)
                        return -EKEYREJECTED;
                return code == CURLE_OUT_OF_MEMORY ? -ENOMEM : -EHOSTUNREACH;
        }
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &ret->status);
        ret->body = body.data ? body.data : strdup("");
        ret->size = body.size;
        return ret->body ? 0 : -ENOMEM;
}

void cluster_response_done(struct cluster_response *r) {
        free(r->body);
        *r = (struct cluster_response){};
}
