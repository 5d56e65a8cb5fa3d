/* ini.c: usernode's INI reader (the format is described in ini.h). */
#include "launcher/config/ini.h"

#include <ctype.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "common/log.h"

static const char *file_kind(mode_t mode) {
        return S_ISDIR(mode)    ? "a directory"
               : S_ISCHR(mode)  ? "a character device"
               : S_ISBLK(mode)  ? "a block device"
               : S_ISFIFO(mode) ? "a pipe"
               : S_ISSOCK(mode) ? "a socket"
                                : "not a regular file";
}

int ini_read_file(const char *path, bool required, char **ret, size_t *ret_size) {
        struct stat st;
        size_t size = 0;

        *ret = NULL;
        *ret_size = 0;
        /* O_NONBLOCK: opening a FIFO must not wait for a writer; it is refused below anyway. */
        _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
        if (fd < 0) {
                if (errno == ENOENT && !required)
                        return 0;
                return log_error_errno(errno, "cannot read the configuration %s: %m", path);
        }
        if (fstat(fd, &st) < 0)
                return log_error_errno(errno, "cannot read the configuration %s: %m", path);
        /* --config /dev/null: the usual way to say "no file, the defaults only". */
        if (S_ISCHR(st.st_mode) && major(st.st_rdev) == 1 && minor(st.st_rdev) == 3)
                return 0;
        if (!S_ISREG(st.st_mode)) {
                log_error("%s is %s, not a configuration file; give the path of an INI file "
                          "('usernode config --default' prints one)",
                          path, file_kind(st.st_mode));
                return -EINVAL;
        }
        if (st.st_size > INI_FILE_MAX) {
                log_error("%s is %lld bytes; a configuration file is at most %d bytes", path,
                          (long long)st.st_size, INI_FILE_MAX);
                return -EFBIG;
        }
        /* One byte more than the bound: a file that grew since fstat() is caught too. */
        _cleanup_free_ char *text = malloc(INI_FILE_MAX + 2);
        if (!text)
                return log_error_errno(ENOMEM, "cannot read the configuration %s: %m", path);
        while (size <= INI_FILE_MAX) {
                ssize_t n = read(fd, text + size, INI_FILE_MAX + 1 - size);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0)
                        return log_error_errno(errno, "cannot read the configuration %s: %m", path);
                if (n == 0)
                        break;
                size += (size_t)n;
        }
        if (size > INI_FILE_MAX) {
                log_error("%s is over %d bytes; a configuration file is at most that", path, INI_FILE_MAX);
                return -EFBIG;
        }
        text[size] = '\0';
        *ret = TAKE_PTR(text);
        *ret_size = size;
        return 0;
}

/* [s, e) with blanks trimmed on both sides. */
static void trim(const char **s, const char **e) {
        while (*s < *e && isspace((unsigned char)**s))
                (*s)++;
        while (*e > *s && isspace((unsigned char)(*e)[-1]))
                (*e)--;
}

static char *lowered(const char *s, const char *e) {
        char *copy = strndup(s, (size_t)(e - s));
        for (char *p = copy; p && *p; p++)
                *p = (char)tolower((unsigned char)*p);
        return copy;
}

static bool continues(const char *s, const char *e) {
        size_t backslashes = 0;
        while (e > s && e[-1] == '\\')
                e--, backslashes++;
        return backslashes % 2 == 1;
}

struct ini_cursor {
        const char *path, *p, *end;
        unsigned line; /* of the line last taken */
};

/* The next line as [*s, *e), without its newline (nor a CR before it); false at the end. */
static bool next_line(struct ini_cursor *c, const char **s, const char **e) {
        if (c->p >= c->end)
                return false;
        const char *nl = memchr(c->p, '\n', (size_t)(c->end - c->p));
        *s = c->p;
        *e = nl ? nl : c->end;
        c->p = nl ? nl + 1 : c->end;
        c->line++;
        if (*e > *s && (*e)[-1] == '\r')
                (*e)--;
        return true;
}

/* The value starting at [s, e) on the key's line, with its continuation lines joined. */
static int take_value(struct ini_cursor *c, const char *key, const char *s, const char *e, char **ret) {
        unsigned first = c->line;
        size_t len = 0;
        _cleanup_free_ char *value = NULL;

        for (;;) {
                trim(&s, &e);
                bool more = continues(s, e);
                if (more)
                        e--;
                trim(&s, &e);
                /* Each piece is at most the whole file: the sum is bounded by INI_FILE_MAX. */
                char *grown = realloc(value, len + (size_t)(e - s) + 2);
                if (!grown)
                        return -ENOMEM;
                value = grown;
                if (len > 0 && e > s)
                        value[len++] = ' ';
                memcpy(value + len, s, (size_t)(e - s));
                len += (size_t)(e - s);
                value[len] = '\0';
                if (!more)
                        break;
                if (!next_line(c, &s, &e)) {
                        log_error("%s:%u: the value of %s ends with a backslash, which continues it on the "
                                  "next line, but the file ends there; remove the backslash",
                                  c->path, first, key);
                        return -EINVAL;
                }
        }
        *ret = TAKE_PTR(value);
        return 0;
}

static int parse_section(struct ini_cursor *c, const char *s, const char *e, const struct ini_handler *h,
                         void *userdata, char **section) {
        const char *close = memchr(s, ']', (size_t)(e - s));
        const char *name = s + 1, *name_end = close;
        if (!close) {
                log_error("%s:%u: \"%.*s\" has no closing ]; write [section]", c->path, c->line,
                          (int)(e - s), s);
                return -EINVAL;
        }
        const char *rest = close + 1;
        trim(&rest, &e);
        if (rest < e && *rest != '#' && *rest != ';') {
                log_error("%s:%u: text after [%.*s]; put keys on their own lines", c->path, c->line,
                          (int)(close - name), name);
                return -EINVAL;
        }
        trim(&name, &name_end);
        if (name == name_end || memchr(name, '[', (size_t)(name_end - name))) {
                log_error("%s:%u: \"%.*s\" is not a section name; write [section]", c->path, c->line,
                          (int)(close + 1 - s), s);
                return -EINVAL;
        }
        free(*section);
        *section = lowered(name, name_end);
        if (!*section)
                return -ENOMEM;
        return h->section(*section, c->line, userdata);
}

static int parse_key(struct ini_cursor *c, const char *s, const char *e, const struct ini_handler *h,
                     void *userdata, const char *section) {
        const char *eq = memchr(s, '=', (size_t)(e - s));
        const char *key_end = eq;
        if (!eq) {
                log_error("%s:%u: \"%.*s\" is neither [section] nor key = value", c->path, c->line,
                          (int)(e - s), s);
                return -EINVAL;
        }
        trim(&s, &key_end);
        if (s == key_end) {
                log_error("%s:%u: a value without a key; write key = value", c->path, c->line);
                return -EINVAL;
        }
        _cleanup_free_ char *key = lowered(s, key_end);
        if (!key)
                return -ENOMEM;
        if (!section) {
                log_error("%s:%u: \"%s\" stands before any [section]; move it into one", c->path, c->line,
                          key);
                return -EINVAL;
        }
        unsigned line = c->line;
        _cleanup_free_ char *value = NULL;
        int r = take_value(c, key, eq + 1, e, &value);
        if (r < 0)
                return r;
        return h->key(section, key, value, line, userdata);
}

int ini_parse(const char *path, const char *text, size_t size, const struct ini_handler *h, void *userdata) {
        struct ini_cursor c = { .path = path, .p = text, .end = text + size };
        _cleanup_free_ char *section = NULL;
        const char *s, *e;
        int r = 0;

        const char *nul = memchr(text, '\0', size);
        if (nul) {
                unsigned line = 1;
                for (const char *p = text; p < nul; p++)
                        line += *p == '\n';
                log_error("%s:%u: a NUL byte; a configuration file is text", path, line);
                return -EINVAL;
        }
        while (r >= 0 && next_line(&c, &s, &e)) {
                trim(&s, &e);
                if (s == e || *s == '#' || *s == ';')
                        continue;
                if (*s == '[')
                        r = parse_section(&c, s, e, h, userdata, &section);
                else
                        r = parse_key(&c, s, e, h, userdata, section);
        }
        if (r == -ENOMEM)
                log_error_errno(r, "%s: %m", path);
        return r;
}
