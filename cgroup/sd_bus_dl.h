/* sd_bus_dl.h: the sd-bus calls of usernode, from a libsystemd.so.0 opened only while a
 * connection to the user's systemd exists.
 *
 * libsystemd brings libgcrypt, libgpg-error, libzstd, liblzma and liblz4, all bound at load:
 * linked, they held 1.2 MiB of the launcher's idle RSS and 0.5 MiB of the node init's, a fork
 * of it (docs/DESIGN.md, issue 11), for a few D-Bus calls made at start. Opened here and closed
 * after the last call, no long-lived process keeps them mapped, and a host without the library
 * is a host where the user's systemd does not answer. <systemd/sd-bus.h> is still included, for
 * the types and the prototypes the table is typed from: that is build time only.
 *
 * Not thread-safe: the callers are the launcher's and the CLI's main threads. */
#pragma once

#include <stdbool.h>
#include <systemd/sd-bus.h>

/* Each entry is `sd_bus_<name>`, typed from its prototype. */
#define SD_BUS_DL_FUNCTIONS(X)     \
        X(open_user)               \
        X(flush_close_unref)       \
        X(call_method)             \
        X(call_async)              \
        X(get_property_string)     \
        X(get_property_trivial)    \
        X(match_signal)            \
        X(process)                 \
        X(wait)                    \
        X(error_free)              \
        X(error_has_name)          \
        X(error_get_errno)         \
        X(message_new_method_call) \
        X(message_append)          \
        X(message_open_container)  \
        X(message_close_container) \
        X(message_read)            \
        X(message_ref)             \
        X(message_unref)           \
        X(message_get_error)       \
        X(slot_unref)

struct sd_bus_dl {
#define SD_BUS_DL_FIELD(name) __typeof__(sd_bus_##name) *name;
        SD_BUS_DL_FUNCTIONS(SD_BUS_DL_FIELD)
#undef SD_BUS_DL_FIELD
};

/* The functions, e.g. sd_bus_dl.call_method(bus, ...): valid from a successful sd_bus_dl_open()
 * to the matching sd_bus_dl_close(); all NULL otherwise, so a call after the close faults on a
 * NULL pointer rather than jumping into unmapped text. */
extern struct sd_bus_dl sd_bus_dl;

/* Takes a reference on the library, opening it (and resolving every function) on the first.
 * Returns 0, or a negative errno (logged at debug): -ENOPKG when libsystemd.so.0 cannot be
 * opened, -ENOSYS when it lacks a function (older than systemd 237). */
int sd_bus_dl_open(void);

/* Drops a reference; the last one closes the library. Every bus, message and slot from it must
 * be gone by then. */
void sd_bus_dl_close(void);

/* Whether a reference is held: the launcher checks there is none before it clones the init. */
bool sd_bus_dl_is_open(void);
