/* config.h: the node's configuration: schema defaults, then the INI file, then command-line
 * flags, each value checked against launcher/config/config_schema.c when it is set.
 *
 * A bad value or an unknown section or key is reported once, as
 *   FILE:LINE: [section] key = value: what is allowed
 * and the caller exits with EXIT_USAGE. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct config;

/* A configuration holding the schema's defaults. */
int config_new(struct config **ret);
void config_free(struct config *config);

/* $XDG_CONFIG_HOME/usernode/NODE.ini (XDG_CONFIG_HOME defaults to ~/.config). */
int config_default_path(const char *node, char **ret);

/* Read PATH. `required`: a missing file is an error (an explicit --config); otherwise it is
 * skipped. Returns 0, or -EINVAL/-errno after logging the error with file and line. */
int config_load_file(struct config *config, const char *path, bool required);

/* Set SECTION/KEY from somewhere else, e.g. origin "--mtu"; validated like a file value. */
int config_set(struct config *config, const char *section, const char *key, const char *value,
               const char *origin);

/* The value of a schema key (its default when unset), or NULL when it has neither. */
const char *config_get(const struct config *config, const char *section, const char *key);
/* Typed views; the value was validated when set, so these cannot fail for schema keys. */
int64_t config_get_int(const struct config *config, const char *section, const char *key);
bool config_get_bool(const struct config *config, const char *section, const char *key);
/* Where the value came from: "FILE:LINE", a flag name, or "default". */
const char *config_origin(const struct config *config, const char *section, const char *key);

/* Names of the sections set that start with PREFIX ("service:"), in file order, NULL-terminated;
 * the array is malloc'ed, the strings belong to the config. */
const char **config_sections_with_prefix(const struct config *config, const char *prefix);

/* Parse a boolean as the schema accepts it. Returns 0/1 or -EINVAL. */
int config_parse_bool(const char *value);

/* The default INI file embedded in the binary (configs/usernode.ini). */
const char *config_default_ini(void);
