/* config.c: schema defaults <- INI file (launcher/config/ini.c) <- command-line flags.
 *
 * Values are kept in hash tables, so loading a file is linear in its size however many
 * sections it has. */
#include "launcher/config/config.h"

#include <glib.h>
#include <inttypes.h>
#include <string.h>

#include "common/log.h"
#include "launcher/config/config_schema.h"
#include "launcher/config/ini.h"

extern const char embedded_default_ini[];

struct config_entry {
        char *section;
        char *key;
        char *value;
        char *origin;
};

struct config {
        GHashTable *entries; /* "section\nkey" -> struct config_entry */
        char **sections; /* sections seen in files, in order, for config_sections_with_prefix */
        size_t n_sections;
        GHashTable *section_set; /* the same names, borrowed */
};

const char *config_default_ini(void) {
        return embedded_default_ini;
}

static void entry_free(void *p) {
        struct config_entry *e = p;
        free(e->section);
        free(e->key);
        free(e->value);
        free(e->origin);
        free(e);
}

int config_new(struct config **ret) {
        struct config *c = calloc(1, sizeof(*c));
        if (!c)
                return -ENOMEM;
        /* glib aborts on allocation failure; these never return NULL. */
        c->entries = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, entry_free);
        c->section_set = g_hash_table_new(g_str_hash, g_str_equal);
        *ret = c;
        return 0;
}

void config_free(struct config *c) {
        if (!c)
                return;
        g_hash_table_destroy(c->entries);
        g_hash_table_destroy(c->section_set);
        for (size_t i = 0; i < c->n_sections; i++)
                free(c->sections[i]);
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

/* Neither a section nor a key holds a newline: "section\nkey" names one value. */
static struct config_entry *find_entry(const struct config *c, const char *section, const char *key) {
        _cleanup_free_ char *name = NULL;
        if (asprintf(&name, "%s\n%s", section, key) < 0)
                return NULL;
        return g_hash_table_lookup(c->entries, name);
}

static int store(struct config *c, const char *section, const char *key, const char *value,
                 const char *origin) {
        struct config_entry *e = find_entry(c, section, key);
        if (!e) {
                char *name = g_strconcat(section, "\n", key, NULL);
                e = calloc(1, sizeof(*e));
                if (!e) {
                        g_free(name);
                        return -ENOMEM;
                }
                g_hash_table_insert(c->entries, name, e);
                e->section = strdup(section);
                e->key = strdup(key);
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
        if (g_hash_table_contains(c->section_set, section))
                return 0;
        /* Doubling: appending stays linear. */
        if ((c->n_sections & (c->n_sections - 1)) == 0) {
                char **grown =
                        reallocarray(c->sections, c->n_sections ? 2 * c->n_sections : 8, sizeof(*grown));
                if (!grown)
                        return -ENOMEM;
                c->sections = grown;
        }
        c->sections[c->n_sections] = strdup(section);
        if (!c->sections[c->n_sections])
                return -ENOMEM;
        g_hash_table_add(c->section_set, c->sections[c->n_sections]);
        c->n_sections++;
        return 0;
}

/* One file being loaded: where each section and key stood, to name both lines of a repeat. */
struct file_load {
        struct config *config;
        const char *path;
        GHashTable *lines; /* "section" and "section\nkey" -> line */
};

static int on_section(const char *name, unsigned line, void *userdata) {
        struct file_load *f = userdata;
        unsigned first = GPOINTER_TO_UINT(g_hash_table_lookup(f->lines, name));

        if (!config_schema_section_known(name)) {
                log_error("%s:%u: unknown section [%s]; see 'usernode config --default' for the sections",
                          f->path, line, name);
                return -EINVAL;
        }
        if (first) {
                log_error("%s:%u: [%s] again (first at line %u); keep one [%s] with all its keys", f->path,
                          line, name, first, name);
                return -EINVAL;
        }
        g_hash_table_insert(f->lines, g_strdup(name), GUINT_TO_POINTER(line));
        return remember_section(f->config, name);
}

static int on_key(const char *section, const char *key, const char *value, unsigned line, void *userdata) {
        struct file_load *f = userdata;
        char *name = g_strconcat(section, "\n", key, NULL);
        unsigned first = GPOINTER_TO_UINT(g_hash_table_lookup(f->lines, name));
        _cleanup_free_ char *origin = NULL;

        if (first) {
                g_free(name);
                log_error("%s:%u: [%s] %s given again (first at line %u); keep one of the two", f->path,
                          line, section, key, first);
                return -EINVAL;
        }
        g_hash_table_insert(f->lines, name, GUINT_TO_POINTER(line));
        if (asprintf(&origin, "%s:%u", f->path, line) < 0)
                return -ENOMEM;
        if (!config_schema_find(section, key)) {
                log_error("%s: unknown key \"%s\" in [%s]; see 'usernode config --default' for the keys",
                          origin, key, section);
                return -EINVAL;
        }
        return config_set(f->config, section, key, value, origin);
}

int config_load_file(struct config *c, const char *path, bool required) {
        static const struct ini_handler handler = { .section = on_section, .key = on_key };
        _cleanup_free_ char *text = NULL;
        size_t size;

        int r = ini_read_file(path, required, &text, &size);
        if (r < 0 || !text)
                return r;
        struct file_load f = {
                .config = c,
                .path = path,
                .lines = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL),
        };
        r = ini_parse(path, text, size, &handler, &f);
        g_hash_table_destroy(f.lines);
        return r;
}
