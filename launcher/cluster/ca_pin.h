/* ca_pin.h: kubeadm's --discovery-token-ca-cert-hash: "sha256:" and the hex SHA-256 of a CA
 * certificate's DER SubjectPublicKeyInfo, which `openssl x509 -pubkey | openssl pkey -pubin
 * -outform der | sha256sum` prints too. */
#pragma once

#include <stddef.h>

#define CA_PIN_PREFIX "sha256:"
#define CA_PIN_HEX_LEN 64
#define CA_PINS_MAX 16

struct ca_pins {
        unsigned char sha256[CA_PINS_MAX][32];
        size_t n;
};

/* A list of pins separated by commas or blanks. Returns 0 or -EINVAL (also for none at all). */
int ca_pins_parse(const char *text, struct ca_pins *ret);
int ca_pins_validate(const char *text);

/* Whether one of the certificates in PEM (a CA bundle) has a pinned public key: 0 when one has,
 * -EKEYREJECTED when none has, -EBADMSG when PEM holds no certificate. */
int ca_pins_check(const struct ca_pins *pins, const char *pem, size_t pem_size);

/* The pin of the first certificate in PEM as "sha256:HEX" (for messages). */
int ca_pin_of_pem(const char *pem, size_t pem_size, char **ret);
