/* ca_pin_x509.c: public-key pins of CA certificates, as kubeadm's pubkeypin package computes them:
 * SHA-256 over the certificate's RawSubjectPublicKeyInfo (i2d_X509_PUBKEY here). */
#include "launcher/cluster/ca_pin.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "common/macro.h"

static int spki_sha256(X509 *cert, unsigned char out[32]) {
        unsigned char *der = NULL;
        int len = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(cert), &der);
        if (len <= 0)
                return -EBADMSG;
        int ok = EVP_Digest(der, (size_t)len, out, NULL, EVP_sha256(), NULL);
        OPENSSL_free(der);
        return ok ? 0 : -ENOMEM;
}

static void x509_freep(X509 **p) {
        X509_free(*p);
}
static void bio_freep(BIO **p) {
        BIO_free(*p);
}

int ca_pins_check(const struct ca_pins *pins, const char *pem, size_t pem_size) {
        _cleanup_(bio_freep) BIO *bio = BIO_new_mem_buf(pem, (int)pem_size);
        bool any = false;
        if (!bio)
                return -ENOMEM;
        for (;;) {
                _cleanup_(x509_freep) X509 *cert = PEM_read_bio_X509(bio, NULL, NULL, NULL);
                unsigned char sum[32];
                if (!cert)
                        break;
                any = true;
                if (spki_sha256(cert, sum) < 0)
                        continue;
                for (size_t i = 0; i < pins->n; i++)
                        if (CRYPTO_memcmp(sum, pins->sha256[i], sizeof(sum)) == 0)
                                return 0;
        }
        return any ? -EKEYREJECTED : -EBADMSG;
}

int ca_pin_of_pem(const char *pem, size_t pem_size, char **ret) {
        _cleanup_(bio_freep) BIO *bio = BIO_new_mem_buf(pem, (int)pem_size);
        if (!bio)
                return -ENOMEM;
        _cleanup_(x509_freep) X509 *cert = PEM_read_bio_X509(bio, NULL, NULL, NULL);
        unsigned char sum[32];
        if (!cert || spki_sha256(cert, sum) < 0)
                return -EBADMSG;
        char *out = malloc(strlen(CA_PIN_PREFIX) + CA_PIN_HEX_LEN + 1);
        if (!out)
                return -ENOMEM;
        char *p = stpcpy(out, CA_PIN_PREFIX);
        static const char digits[] = "0123456789abcdef";
        for (size_t i = 0; i < sizeof(sum); i++) {
                *p++ = digits[sum[i] >> 4];
                *p++ = digits[sum[i] & 0xf];
        }
        *p = '\0';
        *ret = out;
        return 0;
}
