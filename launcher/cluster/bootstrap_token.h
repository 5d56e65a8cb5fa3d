/* bootstrap_token.h: a Kubernetes bootstrap token, "ID.SECRET" (6 and 16 of [a-z0-9]), as
 * `kubeadm token create` prints it. The ID names the token (Secret bootstrap-token-ID in
 * kube-system, key jws-kubeconfig-ID in cluster-info); the secret signs and authenticates. */
#pragma once

#include <stdbool.h>

#define BOOTSTRAP_TOKEN_ID_LEN 6
#define BOOTSTRAP_TOKEN_SECRET_LEN 16

struct bootstrap_token {
        char id[BOOTSTRAP_TOKEN_ID_LEN + 1];
        char secret[BOOTSTRAP_TOKEN_SECRET_LEN + 1];
};

/* Split TEXT into RET. Returns 0, or -EINVAL when it is not ID.SECRET of the allowed characters. */
int bootstrap_token_parse(const char *text, struct bootstrap_token *ret);

/* For the schema: 0 or -EINVAL. */
int bootstrap_token_validate(const char *text);

/* Wipe the secret from memory. */
void bootstrap_token_clear(struct bootstrap_token *token);
