/* node_settings_ini.h: the [crio], [kubelet], [cni], [supervisor] and [service:NAME] sections of
 * the node's INI file, applied to struct node_settings. */
#pragma once

#include <dictionary.h>
#include <iniparser.h>
#include <stdbool.h>

#include "launcher/node_settings.h"

/* Is `section` one of ours ([service:NAME] included)? */
bool node_settings_owns_section(const char *section);

/* Parse one value into the field of `base` (struct node_settings, or struct
 * extra_service_settings for a [service:NAME]). Returns 0, -ENOENT for an unknown key, -ERANGE
 * for a value that is not allowed, or -ENOMEM. */
int node_settings_parse_value(const char *section, const char *key, const char *value, void *base);

/* What a key accepts, in words ("always, on-failure or never"), or NULL for an unknown key. */
const char *node_settings_allowed(const char *section, const char *key);

/* Apply section/key = value; `where` (e.g. "node.ini:12") prefixes the error. Logs and returns
 * -EINVAL for an unknown key or a bad value. */
int node_settings_set(struct node_settings *s, const char *section, const char *key, const char *value,
                      const char *where);

/* Apply every key of our sections in `ini` (loaded from `path`). */
int node_settings_load_ini(struct node_settings *s, dictionary *ini, const char *path);

/* Defaults for node `node` with its state dir, then the node sections of the INI file:
 * config_path, or $XDG_CONFIG_HOME/usernode/NODE.ini when that exists. Logs and returns
 * -EINVAL for a bad file, or another negative errno. */
int node_settings_load(struct node_settings *s, const char *node, const char *state_dir,
                       const char *config_path);
