/* config.c: schema defaults <- INI file (iniparser) <- command-line flags.
 *
 * iniparser does not say on which line a key stood, so after it has parsed the file a light scan
 * of the same file maps each "section/key" to its line for error messages. */
#include "launcher/config/config.h"

#include <ctype.h>
#include <inttypes.h>
#include <iniparser.h>
#include <stdarg.h>
#include <string.h>

#include "common/log.h"
#include "launcher/config/config_schema.h"

extern const char embedded_default_ini[];

struct config_entry {
        char *section;
        char *key;
        char *value;
        char *origin;
};

struct config {
        struct config_entry *entries;
        size_t n_entries;
        char **sections; /* sections seen in files, in order, for config_sections_with_prefix */
        size_t n_sections;
};

const char *config_default_ini(void) {
        return embedded_default_ini;
}

int config_new(struct config **ret) {
        struct config *c = calloc(1, sizeof(*c));
        if (!c)
                return -ENOMEM;
        *ret = c;
        return 0;
}

void config_free(struct config *c) {
        if (!c)
                return;
        for (size_t i = 0; i < c->n_entries; i++) {
                free(c->entries[i].section);
                free(c->entries[i].key);
                free(c->entries[i].value);
                free(c->entries[i].origin);
        }
        for (size_t i = 0; i < c->n_sections; i++)
                free(c->sections[i]);
        free(c->entries);
        free(c->sections);
        free(c);
}

int config_default_path(const char *node, char **ret) {
        const char *base = getenv("XDG_CONFIG_HOME");
        const char *home = getenv("HOME");
        int n;

        if (base && base[0] == '/')
                n = asprintf(ret, "%s/usernode/%s.ini", base, node);
        else if (home && home[0] == '/')
                n = asprintf(ret, "%s/.config/usernode/%s.ini", home, node);
        else
                return -ENOENT;
        return n < 0 ? -ENOMEM : 0;
}

int config_parse_bool(const char *value) {
        static const char *const yes[] = { "true", "yes", "on", "1" };
        static const char *const no[] = { "false", "no", "off", "0" };
        for (size_t i = 0; i < ELEMENTSOF(yes); i++) {
                if (strcasecmp(value, yes[i]) == 0)
                        return 1;
                if (strcasecmp(value, no[i]) == 0)
                        return 0;
        }
        return -EINVAL;
}

static int parse_int(const char *value, int64_t *ret) {
        char *end;
        errno = 0;
        long long v = strtoll(value, &end, 10);
        if (errno != 0 || end == value || *end != '\0')
                return -EINVAL;
        *ret = v;
        return 0;
}

/* Check VALUE against KEY; on failure log "ORIGIN: [section] key = value: allowed". */
static int validate(const struct config_key *key, const char *section, const char *value,
                    const char *origin) {
        char allowed[512] = "";
        int64_t number;

        if (strlen(value) > CONFIG_VALUE_MAX) {
                log_error("%s: [%s] %s: value longer than %d bytes", origin, section, key->key,
                          CONFIG_VALUE_MAX);
                return -EINVAL;
        }
        switch (key->type) {
        case CONFIG_STRING:
                return 0;
        case CONFIG_BOOL:
                if (config_parse_bool(value) >= 0)
                        return 0;
                snprintf(allowed, sizeof(allowed), "use true or false");
                break;
        case CONFIG_INT:
                if (parse_int(value, &number) == 0 && number >= key->min && number <= key->max)
                        return 0;
                snprintf(allowed, sizeof(allowed), "use an integer from %" PRId64 " to %" PRId64, key->min,
                         key->max);
                break;
        case CONFIG_ENUM: {
                size_t used = (size_t)snprintf(allowed, sizeof(allowed), "use one of:");
                for (const char *const *v = key->values; *v; v++) {
                        if (strcmp(*v, value) == 0)
                                return 0;
                        if (used < sizeof(allowed))
                                used += (size_t)snprintf(allowed + used, sizeof(allowed) - used, " %s", *v);
                }
                break;
        }
        case CONFIG_CUSTOM:
                if (key->validate(value) == 0)
                        return 0;
                snprintf(allowed, sizeof(allowed), "%s", key->allowed ? key->allowed : "invalid value");
                break;
        }
        log_error("%s: [%s] %s = \"%s\": %s", origin, section, key->key, value, allowed);
        return -EINVAL;
}

static struct config_entry *find_entry(const struct config *c, const char *section, const char *key) {
        for (size_t i = 0; i < c->n_entries; i++)
                if (strcmp(c->entries[i].section, section) == 0 && strcmp(c->entries[i].key, key) == 0)
                        return &c->entries[i];
        return NULL;
}

static int store(struct config *c, const char *section, const char *key, const char *value,
                 const char *origin) {
        struct config_entry *e = find_entry(c, section, key);
        if (!e) {
                struct config_entry *grown = reallocarray(c->entries, c->n_entries + 1, sizeof(*grown));
                if (!grown)
                        return -ENOMEM;
                c->entries = grown;
                e = &c->entries[c->n_entries++];
                *e = (struct config_entry){ strdup(section), strdup(key), NULL, NULL };
                if (!e->section || !e->key)
                        return -ENOMEM;
        }
        char *v = strdup(value), *o = strdup(origin);
        if (!v || !o) {
                free(v);
                free(o);
                return -ENOMEM;
        }
        free(e->value);
        free(e->origin);
        e->value = v;
        e->origin = o;
        return 0;
}

int config_set(struct config *c, const char *section, const char *key, const char *value,
               const char *origin) {
        const struct config_key *k = config_schema_find(section, key);
        if (!k) {
                log_error("%s: unknown key \"%s\" in [%s]", origin, key, section);
                return -EINVAL;
        }
        int r = validate(k, section, value, origin);
        if (r < 0)
                return r;
        return store(c, section, key, value, origin);
}

const char *config_get(const struct config *c, const char *section, const char *key) {
        const struct config_entry *e = find_entry(c, section, key);
        if (e)
                return e->value;
        const struct config_key *k = config_schema_find(section, key);
        return k ? k->default_value : NULL;
}

const char *config_origin(const struct config *c, const char *section, const char *key) {
        const struct config_entry *e = find_entry(c, section, key);
        return e ? e->origin : "default";
}

int64_t config_get_int(const struct config *c, const char *section, const char *key) {
        const char *v = config_get(c, section, key);
        int64_t n = 0;
        if (v)
                (void)parse_int(v, &n);
        return n;
}

bool config_get_bool(const struct config *c, const char *section, const char *key) {
        const char *v = config_get(c, section, key);
        return v && config_parse_bool(v) == 1;
}

const char **config_sections_with_prefix(const struct config *c, const char *prefix) {
        const char **names = calloc(c->n_sections + 1, sizeof(*names));
        size_t n = 0;
        if (!names)
                return NULL;
        for (size_t i = 0; i < c->n_sections; i++)
                if (strncmp(c->sections[i], prefix, strlen(prefix)) == 0)
                        names[n++] = c->sections[i];
        return names;
}

static int remember_section(struct config *c, const char *section) {
        for (size_t i = 0; i < c->n_sections; i++)
                if (strcmp(c->sections[i], section) == 0)
                        return 0;
        char **grown = reallocarray(c->sections, c->n_sections + 1, sizeof(*grown));
        if (!grown)
                return -ENOMEM;
        c->sections = grown;
        c->sections[c->n_sections] = strdup(section);
        return c->sections[c->n_sections++] ? 0 : -ENOMEM;
}

/* Lower-case copy of s[0..n) with surrounding blanks trimmed, as iniparser stores names. */
static void normalized(const char *s, size_t n, char *out, size_t size) {
        while (n > 0 && isspace((unsigned char)*s))
                s++, n--;
        while (n > 0 && isspace((unsigned char)s[n - 1]))
                n--;
        if (n >= size)
                n = size - 1;
        for (size_t i = 0; i < n; i++)
                out[i] = (char)tolower((unsigned char)s[i]);
        out[n] = '\0';
}

/* The line of [section] (key NULL) or of `key =` inside it, or 0 if not found. */
static unsigned find_line(const char *path, const char *section, const char *key) {
        _cleanup_fclose_ FILE *f = fopen(path, "re");
        char line[CONFIG_VALUE_MAX + 256], current[256] = "", name[256];
        unsigned number = 0;

        while (f && fgets(line, sizeof(line), f)) {
                char *p = line;
                number++;
                while (isspace((unsigned char)*p))
                        p++;
                if (*p == '[') {
                        char *end = strchr(p, ']');
                        if (!end)
                                continue;
                        normalized(p + 1, (size_t)(end - p - 1), current, sizeof(current));
                        if (!key && strcmp(current, section) == 0)
                                return number;
                } else if (key && *p != '#' && *p != ';' && strcmp(current, section) == 0) {
                        char *eq = strchr(p, '=');
                        if (!eq)
                                continue;
                        normalized(p, (size_t)(eq - p), name, sizeof(name));
                        if (strcmp(name, key) == 0)
                                return number;
                }
        }
        return 0;
}

static char *origin_of(const char *path, unsigned line) {
        char *origin;
        if (asprintf(&origin, "%s:%u", path, line) < 0)
                return NULL;
        return origin;
}

/* iniparser reports a syntax error in two lines; keep them, as one, for our own message. */
static char parse_error[512];

static int iniparser_error_to_buffer(const char *format, ...) {
        va_list ap;
        va_start(ap, format);
        vsnprintf(parse_error, sizeof(parse_error), format, ap);
        va_end(ap);
        for (char *p = parse_error; *p; p++)
                if (*p == '\n')
                        *p = ' ';
        return 0;
}

static int load_section(struct config *c, dictionary *d, const char *path, const char *section) {
        int n = iniparser_getsecnkeys(d, section);
        int r = remember_section(c, section);
        if (r < 0)
                return r;
        if (!config_schema_section_known(section)) {
                _cleanup_free_ char *origin = origin_of(path, find_line(path, section, NULL));
                log_error("%s: unknown section [%s]; see 'usernode config --default' for the sections",
                          origin ? origin : path, section);
                return -EINVAL;
        }
        if (n <= 0)
                return 0;
        _cleanup_free_ const char **keys = calloc((size_t)n, sizeof(*keys));
        if (!keys || !iniparser_getseckeys(d, section, keys))
                return -ENOMEM;
        size_t prefix = strlen(section) + 1; /* keys come as "section:key" */
        for (int i = 0; i < n; i++) {
                const char *key = keys[i] + prefix;
                const char *value = iniparser_getstring(d, keys[i], "");
                if (!value)
                        continue; /* a section such as [network:mtu], which is loaded (and refused) alone */
                _cleanup_free_ char *origin = origin_of(path, find_line(path, section, key));
                if (!origin)
                        return -ENOMEM;
                if (!config_schema_find(section, key)) {
                        log_error("%s: unknown key \"%s\" in [%s]; see 'usernode config --default' for the "
                                  "keys",
                                  origin, key, section);
                        return -EINVAL;
                }
                r = config_set(c, section, key, value, origin);
                if (r < 0)
                        return r;
        }
        return 0;
}

int config_load_file(struct config *c, const char *path, bool required) {
        /* iniparser would report a missing file only as "cannot open" on stderr. */
        if (access(path, R_OK) < 0) {
                if (errno == ENOENT && !required)
                        return 0;
                return log_error_errno(errno, "cannot read the configuration %s: %m", path);
        }

        parse_error[0] = '\0';
        iniparser_set_error_callback(iniparser_error_to_buffer);
        dictionary *d = iniparser_load(path);
        if (!d) {
                log_error("%s: not a valid INI file (%s); 'usernode config --default' shows the format",
                          path, parse_error[0] ? parse_error : "cannot parse it");
                return -EINVAL;
        }

        int r = 0;
        /* iniparser keeps a key above the first [section] under its bare name; it belongs nowhere. */
        for (ssize_t i = 0; i < d->size && r == 0; i++)
                if (d->key[i] && d->key[i][0] == ':') {
                        log_error("%s:%u: \"%s\" stands before any [section]; move it into one", path,
                                  find_line(path, "", d->key[i] + 1), d->key[i] + 1);
                        r = -EINVAL;
                }
        /* Sections are the entries without a value, in file order. (iniparser_getnsec() skips names
         * holding ':', which would hide every [service:NAME].) */
        for (ssize_t i = 0; i < d->size && r == 0; i++)
                if (d->key[i] && !d->val[i] && d->key[i][0] != ':')
                        r = load_section(c, d, path, d->key[i]);
        iniparser_freedict(d);
        return r;
}
