/* jws.c: verifying cluster-info's detached signature.
 *
 * k8s.io/cluster-bootstrap signs with go-jose and checks by signing again and comparing the
 * strings; here the header is read instead (alg must be HS256, kid the token ID, nothing else
 * critical) and the HMAC compared in constant time, which accepts the same signatures without
 * depending on how a signer orders its header's JSON. */
#include "launcher/cluster/jws.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "common/macro.h"

/* A header or signature longer than this is not the bootstrap signer's. */
#define JWS_PART_MAX 4096

char *jws_base64url_encode(const void *data, size_t size) {
        size_t n = 4 * ((size + 2) / 3);
        char *out = malloc(n + 1);
        if (!out)
                return NULL;
        int len = EVP_EncodeBlock((unsigned char *)out, data, (int)size);
        while (len > 0 && out[len - 1] == '=')
                len--;
        out[len] = '\0';
        for (int i = 0; i < len; i++)
                out[i] = out[i] == '+' ? '-' : out[i] == '/' ? '_' : out[i];
        return out;
}

int jws_base64url_decode(const char *text, size_t len, unsigned char **ret, size_t *ret_size) {
        while (len > 0 && text[len - 1] == '=')
                len--;
        if (len % 4 == 1)
                return -EBADMSG;
        size_t padded = (len + 3) / 4 * 4;
        _cleanup_free_ char *std = malloc(padded + 1);
        _cleanup_free_ unsigned char *out = malloc(padded / 4 * 3 + 1);
        if (!std || !out)
                return -ENOMEM;
        for (size_t i = 0; i < len; i++) {
                char c = text[i];
                if (c == '+' || c == '/' || c == '=')
                        return -EBADMSG; /* base64url only */
                std[i] = c == '-' ? '+' : c == '_' ? '/' : c;
        }
        memset(std + len, '=', padded - len);
        std[padded] = '\0';
        int n = EVP_DecodeBlock(out, (unsigned char *)std, (int)padded);
        if (n < 0)
                return -EBADMSG;
        n -= (int)(padded - len); /* EVP_DecodeBlock counts the padding as zero bytes */
        out[n] = '\0';
        *ret_size = (size_t)n;
        *ret = TAKE_PTR(out);
        return 0;
}

/* The protected header: {"alg":"HS256","kid":KEY_ID}; any "crit" extension is one we do not know. */
static int jws_header_check(const char *b64, size_t len, const char *key_id) {
        _cleanup_free_ unsigned char *json = NULL;
        size_t size;
        int r = jws_base64url_decode(b64, len, &json, &size);
        if (r < 0)
                return r;
        if (strlen((char *)json) != size)
                return -EBADMSG;
        json_object *header = json_tokener_parse((char *)json), *alg, *kid;
        bool ok = header && json_object_is_type(header, json_type_object) &&
                  json_object_object_get_ex(header, "alg", &alg) &&
                  json_object_is_type(alg, json_type_string) &&
                  strcmp(json_object_get_string(alg), "HS256") == 0 &&
                  json_object_object_get_ex(header, "kid", &kid) &&
                  json_object_is_type(kid, json_type_string) &&
                  strcmp(json_object_get_string(kid), key_id) == 0 &&
                  !json_object_object_get_ex(header, "crit", NULL);
        json_object_put(header);
        return ok ? 0 : -EBADMSG;
}

int jws_detached_verify(const char *detached, const char *content, const char *key_id, const char *secret) {
        const char *dot1 = strchr(detached, '.');
        if (!dot1 || dot1[1] != '.')
                return -EBADMSG; /* not detached: the payload part must be empty */
        const char *sig = dot1 + 2;
        size_t header_len = (size_t)(dot1 - detached), sig_len = strlen(sig);
        if (header_len == 0 || header_len > JWS_PART_MAX || sig_len == 0 || sig_len > JWS_PART_MAX ||
            strchr(sig, '.'))
                return -EBADMSG;
        int r = jws_header_check(detached, header_len, key_id);
        if (r < 0)
                return r;

        _cleanup_free_ unsigned char *given = NULL;
        size_t given_size;
        r = jws_base64url_decode(sig, sig_len, &given, &given_size);
        if (r < 0)
                return r;

        /* The signing input is HEADER "." base64url(CONTENT) (RFC 7515 section 5.1). */
        _cleanup_free_ char *payload = jws_base64url_encode(content, strlen(content)), *input = NULL;
        if (!payload || asprintf(&input, "%.*s.%s", (int)header_len, detached, payload) < 0)
                return -ENOMEM;
        unsigned char mac[EVP_MAX_MD_SIZE];
        unsigned mac_len = 0;
        if (!HMAC(EVP_sha256(), secret, (int)strlen(secret), (unsigned char *)input, strlen(input), mac,
                  &mac_len))
                return -ENOMEM;
        if (given_size != mac_len || CRYPTO_memcmp(given, mac, mac_len) != 0)
                return -EKEYREJECTED;
        return 0;
}
