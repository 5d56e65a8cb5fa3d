/* serving_cert.c: kubelet's self-signed serving certificate, made with OpenSSL for the node name
 * and the node IP (serving_cert.h says why kubelet's own is not enough). */
#include "launcher/cluster/serving_cert.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "common/fileio.h"
#include "common/log.h"

#define SERVING_CERT_DAYS 365
#define SERVING_CERT_RENEW_SECONDS (24L * 3600L)

static void x509_freep(X509 **p) {
        X509_free(*p);
}
static void evp_pkey_freep(EVP_PKEY **p) {
        EVP_PKEY_free(*p);
}
static void fclose_x(FILE **f) {
        if (*f)
                fclose(*f);
}

/* Whether the certificate at PATH names NODE_NAME and NODE_IP and is good for another day. */
static bool serving_cert_covers(const char *path, const char *node_name, const char *node_ip) {
        _cleanup_(fclose_x) FILE *f = fopen(path, "re");
        if (!f)
                return false;
        _cleanup_(x509_freep) X509 *cert = PEM_read_X509(f, NULL, NULL, NULL);
        if (!cert)
                return false;
        time_t soon = time(NULL) + SERVING_CERT_RENEW_SECONDS;
        return X509_check_host(cert, node_name, 0, X509_CHECK_FLAG_NO_WILDCARDS, NULL) == 1 &&
               X509_check_ip_asc(cert, node_ip, 0) == 1 &&
               X509_cmp_time(X509_get0_notAfter(cert), &soon) > 0;
}

static int add_ext(X509 *cert, int nid, const char *value) {
        X509V3_CTX ctx;
        X509V3_set_ctx_nodb(&ctx);
        X509V3_set_ctx(&ctx, cert, cert, NULL, NULL, 0);
        X509_EXTENSION *ext = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
        if (!ext)
                return -EINVAL;
        int ok = X509_add_ext(cert, ext, -1);
        X509_EXTENSION_free(ext);
        return ok ? 0 : -ENOMEM;
}

static int serving_cert_make(const char *node_name, const char *node_ip, EVP_PKEY **ret_key,
                             X509 **ret_cert) {
        _cleanup_(evp_pkey_freep) EVP_PKEY *key = EVP_EC_gen("P-256");
        _cleanup_(x509_freep) X509 *cert = X509_new();
        _cleanup_free_ char *san = NULL, *cn = NULL;
        unsigned char serial[16];
        int fd_ok;

        if (!key || !cert || asprintf(&san, "DNS:%s,IP:%s", node_name, node_ip) < 0 ||
            asprintf(&cn, "%s@%lld", node_name, (long long)time(NULL)) < 0)
                return -ENOMEM;
        /* A random positive serial, as RFC 5280 asks: at most 20 octets, top bit clear. */
        _cleanup_close_ int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
        fd_ok = fd >= 0 && read(fd, serial, sizeof(serial)) == (ssize_t)sizeof(serial);
        if (!fd_ok)
                return -EIO;
        serial[0] &= 0x7f;
        BIGNUM *bn = BN_bin2bn(serial, sizeof(serial), NULL);
        X509_NAME *name = X509_get_subject_name(cert);
        int ok = bn && BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(cert)) && X509_set_version(cert, 2) &&
                 X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8, (const unsigned char *)cn, -1, -1,
                                            0) &&
                 X509_set_issuer_name(cert, name) && X509_gmtime_adj(X509_getm_notBefore(cert), -3600) &&
                 X509_gmtime_adj(X509_getm_notAfter(cert), SERVING_CERT_DAYS * 24L * 3600L) &&
                 X509_set_pubkey(cert, key);
        BN_free(bn);
        if (!ok || add_ext(cert, NID_basic_constraints, "critical,CA:FALSE") < 0 ||
            add_ext(cert, NID_key_usage, "critical,digitalSignature") < 0 ||
            add_ext(cert, NID_ext_key_usage, "serverAuth") < 0 ||
            add_ext(cert, NID_subject_alt_name, san) < 0 || X509_sign(cert, key, EVP_sha256()) == 0)
                return -ENOMEM;
        *ret_key = TAKE_PTR(key);
        *ret_cert = TAKE_PTR(cert);
        return 0;
}

/* PATH.tmp with MODE, written by WRITE and renamed over PATH. */
static int write_pem(const char *path, mode_t mode, int (*write)(FILE *, void *), void *what) {
        _cleanup_free_ char *tmp = NULL;
        if (asprintf(&tmp, "%s.tmp", path) < 0)
                return -ENOMEM;
        (void)unlink(tmp);
        int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, mode);
        if (fd < 0)
                return -errno;
        FILE *f = fdopen(fd, "we");
        if (!f) {
                int e = errno;
                close(fd);
                (void)unlink(tmp);
                return -e;
        }
        int ok = write(f, what);
        if (fclose(f) != 0)
                ok = 0;
        if (!ok || rename(tmp, path) < 0) {
                int e = ok ? errno : EIO;
                (void)unlink(tmp);
                return -e;
        }
        return 0;
}

static int write_key(FILE *f, void *key) {
        return PEM_write_PrivateKey(f, key, NULL, NULL, 0, NULL, NULL);
}
static int write_cert(FILE *f, void *cert) {
        return PEM_write_X509(f, cert);
}

int serving_cert_ensure(const char *cert_dir, const char *node_name, const char *node_ip) {
        _cleanup_free_ char *crt = NULL, *key_path = NULL;
        _cleanup_(evp_pkey_freep) EVP_PKEY *key = NULL;
        _cleanup_(x509_freep) X509 *cert = NULL;

        if (asprintf(&crt, "%s/kubelet.crt", cert_dir) < 0 ||
            asprintf(&key_path, "%s/kubelet.key", cert_dir) < 0)
                return log_error_errno(ENOMEM, "cannot make kubelet's serving certificate: %m");
        if (access(key_path, R_OK) == 0 && serving_cert_covers(crt, node_name, node_ip))
                return 0;
        int r = serving_cert_make(node_name, node_ip, &key, &cert);
        if (r < 0)
                return log_error_errno(r, "cannot make kubelet's serving certificate for %s, %s: %m",
                                       node_name, node_ip);
        r = mkdir_p(cert_dir, 0700);
        if (r < 0)
                return log_error_errno(r, "cannot create %s: %m", cert_dir);
        /* The key first: a certificate is only ever next to its own key once both are there. */
        (void)unlink(crt);
        r = write_pem(key_path, 0600, write_key, key);
        if (r >= 0)
                r = write_pem(crt, 0644, write_cert, cert);
        if (r < 0)
                return log_error_errno(r, "cannot write kubelet's serving certificate into %s: %m",
                                       cert_dir);
        log_info("kubelet serves 10250 with a self-signed certificate for %s and %s", node_name, node_ip);
        return 0;
}
