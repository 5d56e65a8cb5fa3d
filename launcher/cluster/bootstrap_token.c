/* bootstrap_token.c: parsing "ID.SECRET" the way kubeadm's bootstraptoken regexp does
 * (^[a-z0-9]{6}\.[a-z0-9]{16}$): nothing else reaches the API server or a signature check. */
#include "launcher/cluster/bootstrap_token.h"

#include <errno.h>
#include <string.h>

static bool token_chars_valid(const char *s, size_t n) {
        for (size_t i = 0; i < n; i++)
                if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9')))
                        return false;
        return true;
}

int bootstrap_token_parse(const char *text, struct bootstrap_token *ret) {
        if (strlen(text) != BOOTSTRAP_TOKEN_ID_LEN + 1 + BOOTSTRAP_TOKEN_SECRET_LEN ||
            text[BOOTSTRAP_TOKEN_ID_LEN] != '.' || !token_chars_valid(text, BOOTSTRAP_TOKEN_ID_LEN) ||
            !token_chars_valid(text + BOOTSTRAP_TOKEN_ID_LEN + 1, BOOTSTRAP_TOKEN_SECRET_LEN))
                return -EINVAL;
        memcpy(ret->id, text, BOOTSTRAP_TOKEN_ID_LEN);
        ret->id[BOOTSTRAP_TOKEN_ID_LEN] = '\0';
        memcpy(ret->secret, text + BOOTSTRAP_TOKEN_ID_LEN + 1, BOOTSTRAP_TOKEN_SECRET_LEN);
        ret->secret[BOOTSTRAP_TOKEN_SECRET_LEN] = '\0';
        return 0;
}

int bootstrap_token_validate(const char *text) {
        struct bootstrap_token t;
        int r = bootstrap_token_parse(text, &t);
        bootstrap_token_clear(&t);
        return r;
}

void bootstrap_token_clear(struct bootstrap_token *token) {
        explicit_bzero(token, sizeof(*token));
}
