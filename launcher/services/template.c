/* template.c: placeholder substitution and quoting for rendered configuration files. */
#include "launcher/services/template.h"

#include <stdio.h>
#include <string.h>

#include "common/macro.h"

static size_t placeholder_length(const char *p) {
        /* p points after an '@'; a placeholder is [A-Z0-9_]+ followed by '@'. */
        size_t n = strspn(p, "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_");
        return n > 0 && p[n] == '@' ? n : 0;
}

int template_render(const char *text, const struct template_var *vars, size_t n_vars, char **ret,
                    char **missing) {
        _cleanup_free_ char *buf = NULL;
        size_t size = 0;
        _cleanup_fclose_ FILE *out = open_memstream(&buf, &size);
        if (!out)
                return -ENOMEM;

        for (const char *p = text; *p;) {
                size_t n = *p == '@' ? placeholder_length(p + 1) : 0;
                if (n == 0) {
                        fputc(*p++, out);
                        continue;
                }
                const char *value = NULL;
                for (size_t i = 0; i < n_vars && !value; i++)
                        if (strlen(vars[i].name) == n && strncmp(vars[i].name, p + 1, n) == 0)
                                value = vars[i].value;
                if (!value) {
                        if (missing)
                                *missing = strndup(p + 1, n);
                        return -ENOENT;
                }
                fputs(value, out);
                p += n + 2;
        }
        if (fclose(TAKE_PTR(out)) != 0)
                return -ENOMEM;
        *ret = TAKE_PTR(buf);
        return 0;
}

char *template_quote(const char *s) {
        char *buf = NULL;
        size_t size = 0;
        FILE *out = open_memstream(&buf, &size);
        if (!out)
                return NULL;
        for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
                if (*p == '"' || *p == '\\')
                        fprintf(out, "\\%c", *p);
                else if (*p < 0x20 || *p == 0x7f)
                        fprintf(out, "\\u%04x", *p);
                else
                        fputc(*p, out);
        }
        if (fclose(out) != 0) {
                free(buf);
                return NULL;
        }
        return buf;
}

char *template_quote_list(char *const *strv) {
        char *buf = NULL;
        size_t size = 0;
        FILE *out = open_memstream(&buf, &size);
        if (!out)
                return NULL;
        for (char *const *s = strv; s && *s; s++) {
                _cleanup_free_ char *q = template_quote(*s);
                if (!q) {
                        fclose(out);
                        free(buf);
                        return NULL;
                }
                fprintf(out, "%s\"%s\"", s == strv ? "" : ", ", q);
        }
        if (fclose(out) != 0) {
                free(buf);
                return NULL;
        }
        return buf;
}
