/* jws.h: the detached JWS (RFC 7515 compact form with an empty payload part, "HEADER..SIG")
 * that the bootstrap signer puts into cluster-info under jws-kubeconfig-TOKENID: HS256 over the
 * kubeconfig, keyed with the token's secret. */
#pragma once

#include <stddef.h>

/* Check that DETACHED signs CONTENT with KEY_ID/SECRET. Returns 0; -EBADMSG when DETACHED is not
 * a detached HS256 JWS for KEY_ID; -EKEYREJECTED when the signature does not match; -ENOMEM. */
int jws_detached_verify(const char *detached, const char *content, const char *key_id, const char *secret);

/* base64url without padding (RFC 7515 section 2) of DATA; NULL on allocation failure. */
char *jws_base64url_encode(const void *data, size_t size);

/* Decode base64url (padding optional) into a new buffer *RET of *RET_SIZE bytes (NUL added).
 * Returns 0, -EBADMSG or -ENOMEM. */
int jws_base64url_decode(const char *text, size_t len, unsigned char **ret, size_t *ret_size);
