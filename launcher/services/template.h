/* template.h: @NAME@ substitution for the embedded configuration templates.
 *
 * A template is text with placeholders @NAME@ (NAME of A-Z, 0-9 and _). Every placeholder must
 * have a value, so a template and the code filling it cannot drift apart silently. Values are
 * inserted as given: callers quote them for the target format with template_quote(). */
#pragma once

#include <stddef.h>

struct template_var {
        const char *name;
        const char *value;
};

/* Render `text` into a new string (*ret). Returns 0, -ENOENT when a placeholder has no value
 * (*missing, if not NULL, gets its name, to be freed), or -ENOMEM. */
int template_render(const char *text, const struct template_var *vars, size_t n_vars, char **ret,
                    char **missing);

/* `s` as the inside of a double-quoted string valid in TOML, YAML and JSON alike: backslash and
 * double quote escaped, control characters as \uXXXX. Returns NULL on allocation failure. */
char *template_quote(const char *s);

/* The strings of a NULL-terminated list as `"a", "b"` (each quoted as above); "" when empty. */
char *template_quote_list(char *const *strv);
