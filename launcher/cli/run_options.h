/* run_options.h: what `usernode run` was asked to do: its command line, then the node's
 * configuration (launcher/config/config.h) with the flags applied over the file. */
#pragma once

#include <stdbool.h>

struct config;

enum net_mode {
        NET_MODE_HOST, /* share the host's network namespace (debugging) */
        NET_MODE_NONE, /* own network namespace with only loopback */
        NET_MODE_SLIRP /* own network namespace wired out through the slirp engine */
};

struct run_options {
        const char *node; /* node name, "default" unless --node */
        const char *state_dir; /* --state-dir, or NULL for the default */
        const char *config_path; /* --config, or NULL for the default */
        enum net_mode net; /* [network] mode, after the file and --net */
        char **command; /* argv after "--", NULL-terminated; NULL when none was given */
        char **publish; /* --publish/-p specs (pointing into argv), NULL-terminated; NULL if none */
        struct config *config; /* owned; every module reads its own keys here */
};

const char *net_mode_name(enum net_mode mode);
int net_mode_from_name(const char *name, enum net_mode *ret);

/* Parse `run`'s arguments (argv[0] is "run") and load the configuration they point to. Returns
 * 0, 1 when --help was printed, or -EINVAL after logging a usage or configuration error. */
int run_options_parse(int argc, char **argv, struct run_options *ret);
void run_options_done(struct run_options *options);
