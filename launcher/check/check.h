/* check.h: is this host ready to run a node? Every requirement checked at once, each with its
 * state and, when it is not met, the fix (as `k3s check-config` does).
 *
 * A check is data plus one function: to add one, write `static void check_X(...)` in the file of
 * its concern (check_kernel.c, check_ids.c, check_cgroup.c, check_tools.c, or a new check_*.c)
 * and name it in the table of check.c; a decision worth testing on its own inputs goes into
 * check_decide.h. `usernode check` prints them all; `run` decides with the same code: the user
 * namespace check first (check_run_userns()), the tools checks (check_run_tools()) before the
 * services start, so that every missing binary is named in one message. */
#pragma once

#include <stdbool.h>
#include <sys/types.h>

#include "common/macro.h"
#include "launcher/config/config.h"
#include "launcher/services/node_settings.h"

/* Stable names (docs/JSON.md): "pass", "warn", "fail". */
enum check_state {
        CHECK_PASS, /* met */
        CHECK_WARN, /* a node runs, with less (no resource limits, no pod network, ...) */
        CHECK_FAIL, /* a node cannot run until it is fixed */
};

#define CHECK_TEXT_MAX 512

struct check_result {
        enum check_state state;
        char detail[CHECK_TEXT_MAX]; /* what was found: "crio 1.30 at /usr/bin/crio" */
        char fix[CHECK_TEXT_MAX]; /* empty when passed: a command or a step the user can follow */
};

/* What the checks look at: the node's settings and configuration, and who runs it. */
struct check_context {
        const struct config *config;
        const struct node_settings *settings;
        const char *user;
        uid_t uid;
        gid_t gid;
        /* check_run_tools() (every `run`): versions only where a minimum applies, and those from
         * DATA/tool-versions while the binaries did not change (binary_versions_cached()). */
        bool for_run;
};

struct check_def {
        const char *id; /* stable, for --json: "subuid" */
        const char *title; /* for people: "subordinate uids" */
        void (*run)(const struct check_context *ctx, struct check_result *ret);
};

void check_pass(struct check_result *r, const char *format, ...) _printf_(2, 3);
/* FIX is copied as given; FORMAT describes what was found. */
void check_warn(struct check_result *r, const char *fix, const char *format, ...) _printf_(3, 4);
void check_fail(struct check_result *r, const char *fix, const char *format, ...) _printf_(3, 4);

const char *check_state_to_string(enum check_state state);

/* The checks of each concern, in the order they are printed. */
extern const struct check_def check_kernel_defs[], check_ids_defs[], check_cgroup_defs[], check_tools_defs[],
        check_pod_userns_defs[];
extern const size_t check_kernel_count, check_ids_count, check_cgroup_count, check_tools_count,
        check_pod_userns_count;

/* Every check, results in ret (check_all_count() entries, same order as check_all_def()). */
size_t check_all_count(void);
const struct check_def *check_all_def(size_t i);
void check_all(const struct check_context *ctx, struct check_result *ret);

/* The tools checks only; on any failure, log ONE error naming every missing or too old binary
 * with its fix and return -ENOENT. Warnings are left to `usernode check`. */
int check_run_tools(const struct check_context *ctx);

/* The /dev/net/tun check, as `run` needs it before it creates a node with its own network: on a
 * failure, log ONE error with the cause and the fix and return -ENODEV. */
int check_run_tun(void);

/* The user namespace check, as `run` needs it before it creates any: on a failure, log ONE error
 * with the cause and the fix and return -EPERM. Warns when running as the host's root. */
int check_run_userns(void);
