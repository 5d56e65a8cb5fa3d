/* config_schema.h: every section and key usernode's INI file may hold, with type, default and
 * what is allowed. The schema is data (config_schema.c); config.c only interprets it. */
#pragma once

#include <stdint.h>

enum config_type {
        CONFIG_STRING, /* any text up to CONFIG_VALUE_MAX bytes */
        CONFIG_BOOL, /* true/false, yes/no, on/off, 1/0 */
        CONFIG_INT, /* integer in [min, max] */
        CONFIG_ENUM, /* one of `values` */
        CONFIG_CUSTOM, /* checked by `validate` */
};

#define CONFIG_VALUE_MAX 4096

struct config_key {
        const char *section; /* "network"; "service:*" matches any [service:NAME] */
        const char *key;
        enum config_type type;
        const char *default_value; /* NULL: unset unless given */
        int64_t min, max; /* CONFIG_INT */
        const char *const *values; /* CONFIG_ENUM, NULL-terminated */
        int (*validate)(const char *value); /* CONFIG_CUSTOM: 0 or -EINVAL */
        const char *allowed; /* what is allowed, for CONFIG_STRING/CONFIG_CUSTOM messages */
        const char *help; /* one line, for `usernode config --default` */
};

extern const struct config_key config_schema[];
extern const unsigned config_schema_size;

/* The schema entry for SECTION/KEY (SECTION may be "service:crio"), or NULL. */
const struct config_key *config_schema_find(const char *section, const char *key);

/* Whether SECTION is known at all. */
int config_schema_section_known(const char *section);
