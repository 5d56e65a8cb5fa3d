/* ini.h: reading usernode's INI files: bounded, in one pass, every element with its line.
 *
 * The format: `[section]` headers, `key = value` lines, comment lines starting with # or ;
 * (after blanks). A value is the rest of the line after `=`, blanks trimmed, taken verbatim:
 * no inline comments (a `;` or `#` inside a value is part of it) and no quote removal. A value
 * ending in an odd number of backslashes continues on the next line, joined by one space; its
 * line is the line of the key. Section and key names are folded to lower case.
 *
 * iniparser was used before; it reports no line numbers, reads any file (a directory as empty,
 * /dev/zero forever), cuts values at `;` and loses lines after a trailing backslash. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

/* A configuration file is text a person writes; anything bigger is a mistake. */
#define INI_FILE_MAX (1024 * 1024)

struct ini_handler {
        /* [NAME] at LINE. */
        int (*section)(const char *name, unsigned line, void *userdata);
        /* KEY = VALUE at LINE inside SECTION. */
        int (*key)(const char *section, const char *key, const char *value, unsigned line, void *userdata);
};

/* Read PATH, which must be a regular file of at most INI_FILE_MAX bytes, into a NUL-terminated
 * buffer. `required` false: a missing file gives 0 and *ret NULL, as does /dev/null. Errors are logged once, with
 * the path and what to do; returns 0 or a negative errno (-EINVAL for a file of the wrong kind). */
int ini_read_file(const char *path, bool required, char **ret, size_t *ret_size);

/* Parse TEXT (SIZE bytes) of PATH, calling H for each section and key in file order. A syntax
 * error is logged as "PATH:LINE: what is wrong; how to fix it" and gives -EINVAL; a negative
 * return of a callback stops the parse and is returned (the callback logs it). */
int ini_parse(const char *path, const char *text, size_t size, const struct ini_handler *h, void *userdata);
