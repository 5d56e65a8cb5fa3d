/* idmap_internal.h: what idmap.c and idmap_libsubid.c share. */
#pragma once

#include <stddef.h>

#include "launcher/idmap.h"

/* R appended to the malloc'ed array *ranges of *n. */
int idmap_append_range(struct id_range **ranges, size_t *n, struct id_range r);

/* Ranges of `user`, then of the decimal `id_text`, from libsubid; *ret_ranges is malloc'ed.
 * libsubid runs in a short-lived child that opens it, so the launcher and the node init (its
 * fork) never map it or its ten libraries. Returns the count, or a negative errno when libsubid
 * is not installed or could not answer (the caller then reads the file). */
int idmap_libsubid_lookup(enum id_kind kind, const char *user, const char *id_text,
                          struct id_range **ret_ranges);
