/* node_settings_config.h: the [crio], [kubelet], [cni], [supervisor] and [service:NAME] sections
 * of the node's configuration (launcher/config/config.h) as struct node_settings.
 *
 * The keys themselves, with types and defaults, are declared in launcher/config/config_schema.c, which
 * validates every value when it is set (with FILE:LINE in the message); here they are only
 * converted. */
#pragma once

#include <stdbool.h>

#include "launcher/config/config.h"
#include "launcher/services/node_settings.h"

/* TEXT split into words as a POSIX shell splits them (blanks, quotes, backslashes) with no
 * expansion at all: $VAR, ~, globs and $(...) stay as written, nothing runs. A blank text is no
 * words. Returns 0 with a NULL-terminated malloc'ed strv, -EINVAL with *ret_error (if given,
 * malloc'ed) saying what is wrong (an open quote), or -ENOMEM. */
int node_config_split_words(const char *text, char ***ret, char **ret_error);

/* Validators for config_schema.c (0 or -EINVAL). */
int node_config_validate_duration(const char *value);
int node_config_validate_positive_duration(const char *value);
int node_config_validate_size(const char *value);
int node_config_validate_subnet(const char *value);
int node_config_validate_words(const char *value);
int node_config_validate_environment(const char *value);

/* Settings of node `node` with state dir `state_dir` from an already loaded configuration;
 * config_path (may be NULL: the default path) is kept for reloads. Returns 0, or -EINVAL after
 * logging (e.g. a [service:NAME] without command), or -ENOMEM. */
int node_settings_from_config(struct node_settings *s, const struct config *config, const char *node,
                              const char *state_dir, const char *config_path);

/* Load the configuration file (config_path, or the node's default file when it exists) and
 * convert it as above: what SIGHUP, `config --render` and tests use. */
int node_settings_load(struct node_settings *s, const char *node, const char *state_dir,
                       const char *config_path);
