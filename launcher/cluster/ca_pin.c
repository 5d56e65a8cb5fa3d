/* ca_pin.c: parsing the pins ("sha256:HEX"), plain text: the config schema checks them in the
 * launcher, which maps no OpenSSL (the certificates are checked in the cluster program,
 * ca_pin_x509.c). */
#include "launcher/cluster/ca_pin.h"

#include <ctype.h>
#include <errno.h>
#include <string.h>

static int hex_value(char c) {
        c = (char)tolower((unsigned char)c);
        return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

static int ca_pin_parse_one(const char *s, size_t len, unsigned char out[32]) {
        size_t plen = strlen(CA_PIN_PREFIX);
        if (len != plen + CA_PIN_HEX_LEN || strncmp(s, CA_PIN_PREFIX, plen) != 0)
                return -EINVAL;
        s += plen;
        for (size_t i = 0; i < 32; i++) {
                int hi = hex_value(s[2 * i]), lo = hex_value(s[2 * i + 1]);
                if (hi < 0 || lo < 0)
                        return -EINVAL;
                out[i] = (unsigned char)(hi << 4 | lo);
        }
        return 0;
}

int ca_pins_parse(const char *text, struct ca_pins *ret) {
        static const char separators[] = ", \t";
        *ret = (struct ca_pins){};
        for (const char *p = text + strspn(text, separators); *p; p += strspn(p, separators)) {
                size_t len = strcspn(p, separators);
                if (ret->n == CA_PINS_MAX || ca_pin_parse_one(p, len, ret->sha256[ret->n]) < 0)
                        return -EINVAL;
                ret->n++;
                p += len;
        }
        return ret->n > 0 ? 0 : -EINVAL;
}

int ca_pins_validate(const char *text) {
        struct ca_pins pins;
        return text[0] == '\0' ? 0 : ca_pins_parse(text, &pins);
}
