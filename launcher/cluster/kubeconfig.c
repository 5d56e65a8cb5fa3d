/* kubeconfig.c: reading the cluster out of a kubeconfig with libyaml's document API (kubeconfigs
 * are YAML; JSON is YAML too), and writing the bootstrap kubeconfig as JSON with json-c, which
 * every Kubernetes client reads as the YAML it is. */
#include "launcher/cluster/kubeconfig.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <json-c/json.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <yaml.h>

#include "common/macro.h"

static void yaml_document_deletep(yaml_document_t **d) {
        if (*d)
                yaml_document_delete(*d);
}

/* The value of KEY in the mapping NODE, or NULL. */
static yaml_node_t *yaml_map_get(yaml_document_t *doc, yaml_node_t *node, const char *key) {
        if (!node || node->type != YAML_MAPPING_NODE)
                return NULL;
        for (yaml_node_pair_t *p = node->data.mapping.pairs.start; p < node->data.mapping.pairs.top; p++) {
                yaml_node_t *k = yaml_document_get_node(doc, p->key);
                if (k && k->type == YAML_SCALAR_NODE && strcmp((char *)k->data.scalar.value, key) == 0)
                        return yaml_document_get_node(doc, p->value);
        }
        return NULL;
}

static const char *yaml_scalar(yaml_node_t *node) {
        return node && node->type == YAML_SCALAR_NODE ? (const char *)node->data.scalar.value : NULL;
}

/* Standard base64 with line breaks allowed, as certificate-authority-data is. */
static int base64_decode(const char *text, char **ret, size_t *ret_size) {
        size_t len = strlen(text), n = 0, pad = 0;
        _cleanup_free_ char *clean = malloc(len + 1);
        if (!clean)
                return -ENOMEM;
        for (size_t i = 0; i < len; i++)
                if (text[i] != '\n' && text[i] != '\r' && text[i] != ' ')
                        clean[n++] = text[i];
        clean[n] = '\0';
        if (n == 0 || n % 4 != 0)
                return -EBADMSG;
        pad = clean[n - 1] == '=' ? (clean[n - 2] == '=' ? 2 : 1) : 0;
        char *out = malloc(n / 4 * 3 + 1);
        if (!out)
                return -ENOMEM;
        int m = EVP_DecodeBlock((unsigned char *)out, (unsigned char *)clean, (int)n);
        if (m < 0) {
                free(out);
                return -EBADMSG;
        }
        m -= (int)pad;
        out[m] = '\0';
        *ret = out;
        *ret_size = (size_t)m;
        return 0;
}

static int yaml_load(const char *text, size_t size, yaml_document_t *doc, const char **why) {
        yaml_parser_t parser;
        if (size > KUBECONFIG_MAX) {
                *why = "larger than 1 MiB";
                return -EBADMSG;
        }
        if (!yaml_parser_initialize(&parser))
                return -ENOMEM;
        yaml_parser_set_input_string(&parser, (const unsigned char *)text, size);
        int ok = yaml_parser_load(&parser, doc);
        yaml_parser_delete(&parser);
        if (!ok || !yaml_document_get_root_node(doc)) {
                if (ok)
                        yaml_document_delete(doc);
                *why = "not valid YAML";
                return -EBADMSG;
        }
        return 0;
}

/* The mapping FIELD ("cluster", "user") of the one item of the list LIST ("clusters", "users"). */
static yaml_node_t *yaml_only_item(yaml_document_t *doc, const char *list, const char *field) {
        yaml_node_t *seq = yaml_map_get(doc, yaml_document_get_root_node(doc), list);
        if (!seq || seq->type != YAML_SEQUENCE_NODE ||
            seq->data.sequence.items.top - seq->data.sequence.items.start != 1)
                return NULL;
        return yaml_map_get(doc, yaml_document_get_node(doc, *seq->data.sequence.items.start), field);
}

int kubeconfig_read_file(const char *path, char **ret, size_t *ret_size) {
        _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        _cleanup_free_ char *buf = NULL;
        size_t n = 0;
        if (fd < 0)
                return -errno;
        buf = malloc(KUBECONFIG_MAX + 1);
        if (!buf)
                return -ENOMEM;
        for (;;) {
                ssize_t k = read(fd, buf + n, KUBECONFIG_MAX + 1 - n);
                if (k < 0)
                        return -errno;
                if (k == 0)
                        break;
                n += (size_t)k;
                if (n > KUBECONFIG_MAX)
                        return -EFBIG;
        }
        buf[n] = '\0';
        *ret_size = n;
        *ret = TAKE_PTR(buf);
        return 0;
}

/* FIELD-data (base64) or FIELD (a file) of NODE. */
static int yaml_pem(yaml_document_t *doc, yaml_node_t *node, const char *field, char **ret,
                    size_t *ret_size) {
        char data_key[64];
        snprintf(data_key, sizeof(data_key), "%s-data", field);
        const char *data = yaml_scalar(yaml_map_get(doc, node, data_key));
        if (data)
                return base64_decode(data, ret, ret_size);
        const char *path = yaml_scalar(yaml_map_get(doc, node, field));
        return path ? kubeconfig_read_file(path, ret, ret_size) : -ENOENT;
}

int kubeconfig_load_credentials(const char *path, struct kube_credentials *ret, const char **why) {
        _cleanup_free_ char *text = NULL;
        size_t size = 0;
        yaml_document_t document;
        _cleanup_(yaml_document_deletep) yaml_document_t *doc = NULL;

        *ret = (struct kube_credentials){};
        int r = kubeconfig_read_file(path, &text, &size);
        if (r == -ENOENT)
                return r;
        if (r < 0) {
                *why = "unreadable";
                return -EBADMSG;
        }
        r = yaml_load(text, size, &document, why);
        if (r < 0)
                return r;
        doc = &document;
        yaml_node_t *cluster = yaml_only_item(doc, "clusters", "cluster"),
                    *user = yaml_only_item(doc, "users", "user");
        const char *server = yaml_scalar(yaml_map_get(doc, cluster, "server"));
        if (!server || !(ret->cluster.server = strdup(server)) ||
            yaml_pem(doc, cluster, "certificate-authority", &ret->cluster.ca_pem,
                     &ret->cluster.ca_pem_size) < 0 ||
            yaml_pem(doc, user, "client-certificate", &ret->cert_pem, &ret->cert_size) < 0 ||
            yaml_pem(doc, user, "client-key", &ret->key_pem, &ret->key_size) < 0) {
                *why = "it lacks one cluster with a server and CA, or one user with a client certificate "
                       "and key";
                kube_credentials_done(ret);
                return -EBADMSG;
        }
        return 0;
}

void kube_credentials_done(struct kube_credentials *c) {
        cluster_endpoint_done(&c->cluster);
        free(c->cert_pem);
        if (c->key_pem)
                OPENSSL_cleanse(c->key_pem, c->key_size);
        free(c->key_pem);
        *c = (struct kube_credentials){};
}

int kubeconfig_parse_cluster(const char *text, size_t size, struct cluster_endpoint *ret, const char **why) {
        yaml_document_t document;
        _cleanup_(yaml_document_deletep) yaml_document_t *doc = NULL;

        *ret = (struct cluster_endpoint){};
        int r0 = yaml_load(text, size, &document, why);
        if (r0 < 0)
                return r0;
        doc = &document;

        yaml_node_t *cluster = yaml_only_item(doc, "clusters", "cluster");
        if (!cluster) {
                *why = "it does not hold exactly one cluster";
                return -EBADMSG;
        }
        const char *server = yaml_scalar(yaml_map_get(doc, cluster, "server"));
        const char *ca = yaml_scalar(yaml_map_get(doc, cluster, "certificate-authority-data"));
        if (!server || strncmp(server, "https://", 8) != 0) {
                *why = "its cluster has no https:// server";
                return -EBADMSG;
        }
        if (!ca) {
                *why = "its cluster has no certificate-authority-data (a CA file path is not followed)";
                return -EBADMSG;
        }
        int r = base64_decode(ca, &ret->ca_pem, &ret->ca_pem_size);
        if (r < 0) {
                *why = "its certificate-authority-data is not base64";
                return r;
        }
        ret->server = strdup(server);
        if (!ret->server) {
                cluster_endpoint_done(ret);
                return -ENOMEM;
        }
        return 0;
}

static json_object *named(const char *name, const char *field, json_object *value) {
        json_object *o = json_object_new_object();
        json_object_object_add(o, "name", json_object_new_string(name));
        json_object_object_add(o, field, value);
        return o;
}

static json_object *kubeconfig_bootstrap_json(const struct cluster_endpoint *c, const char *token) {
        /* The names kubeadm gives them, so a reader recognises the file. */
        static const char cluster_name[] = "kubernetes", user_name[] = "tls-bootstrap-token-user",
                          context_name[] = "tls-bootstrap-token-user@kubernetes";
        size_t b64_size = 4 * ((c->ca_pem_size + 2) / 3) + 1;
        _cleanup_free_ char *ca_b64 = malloc(b64_size);
        if (!ca_b64)
                return NULL;
        EVP_EncodeBlock((unsigned char *)ca_b64, (unsigned char *)c->ca_pem, (int)c->ca_pem_size);

        json_object *cluster = json_object_new_object(), *user = json_object_new_object(),
                    *context = json_object_new_object(), *root = json_object_new_object();
        json_object_object_add(cluster, "server", json_object_new_string(c->server));
        json_object_object_add(cluster, "certificate-authority-data", json_object_new_string(ca_b64));
        json_object_object_add(user, "token", json_object_new_string(token));
        json_object_object_add(context, "cluster", json_object_new_string(cluster_name));
        json_object_object_add(context, "user", json_object_new_string(user_name));

        json_object *clusters = json_object_new_array(), *users = json_object_new_array(),
                    *contexts = json_object_new_array();
        json_object_array_add(clusters, named(cluster_name, "cluster", cluster));
        json_object_array_add(users, named(user_name, "user", user));
        json_object_array_add(contexts, named(context_name, "context", context));
        json_object_object_add(root, "apiVersion", json_object_new_string("v1"));
        json_object_object_add(root, "kind", json_object_new_string("Config"));
        json_object_object_add(root, "clusters", clusters);
        json_object_object_add(root, "users", users);
        json_object_object_add(root, "contexts", contexts);
        json_object_object_add(root, "current-context", json_object_new_string(context_name));
        return root;
}

int kubeconfig_write_bootstrap(const char *path, const struct cluster_endpoint *cluster, const char *token) {
        _cleanup_free_ char *tmp = NULL;
        json_object *root = kubeconfig_bootstrap_json(cluster, token);
        if (!root || asprintf(&tmp, "%s.tmp", path) < 0) {
                json_object_put(root);
                return -ENOMEM;
        }
        const char *text = json_object_to_json_string_ext(root, JSON_C_TO_STRING_PRETTY |
                                                                        JSON_C_TO_STRING_NOSLASHESCAPE);
        size_t len = strlen(text);
        int r = 0;
        (void)unlink(tmp);
        int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
        if (fd < 0)
                r = -errno;
        else {
                ssize_t n = write(fd, text, len);
                if (n < 0 || (size_t)n != len || write(fd, "\n", 1) != 1)
                        r = n < 0 ? -errno : -EIO;
                if (close(fd) < 0 && r == 0)
                        r = -errno;
                if (r == 0 && rename(tmp, path) < 0)
                        r = -errno;
                if (r < 0)
                        (void)unlink(tmp);
        }
        /* The token is a credential: no copy of it stays in freed memory. */
        OPENSSL_cleanse((char *)text, len);
        json_object_put(root);
        return r;
}
