/* run_options.h: what `usernode run` was asked to do, from its command line. */
#pragma once

#include <stdbool.h>

enum net_mode {
        NET_MODE_HOST, /* share the host's network namespace (debugging) */
        NET_MODE_NONE, /* own network namespace with only loopback */
        NET_MODE_SLIRP /* own network namespace wired out through the slirp engine */
};

struct run_options {
        const char *node; /* node name, "default" unless --node */
        const char *state_dir; /* --state-dir, or NULL for the default */
        const char *config_path; /* --config, or NULL for the default */
        enum net_mode net;
        char **command; /* argv after "--", NULL-terminated; NULL when none was given */
};

const char *net_mode_name(enum net_mode mode);
int net_mode_from_name(const char *name, enum net_mode *ret);

/* Parse `run`'s arguments (argv[0] is "run"). Returns 0, 1 when --help was printed, or
 * -EINVAL after logging a usage error. */
int run_options_parse(int argc, char **argv, struct run_options *ret);
