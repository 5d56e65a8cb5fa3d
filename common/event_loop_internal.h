/* event_loop_internal.h: what the event loop's files share (event_loop.c: the loop and its io,
 * time and defer sources; event_loop_kernel_sources.c: signal, child and inotify sources;
 * event_loop_watchdog.c: the watchdog). Not for use outside them. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/event_loop.h"
#include "common/event_timer_heap.h"

#define PENDING_NONE SIZE_MAX

enum source_type {
        SOURCE_IO,
        SOURCE_TIME,
        SOURCE_SIGNAL,
        SOURCE_CHILD,
        SOURCE_INOTIFY,
        SOURCE_DEFER,
        SOURCE_SIGNALFD, /* the loop's own: reads the signalfd for the signal sources */
};

struct event_source {
        event_loop *loop; /* NULL once disconnected */
        enum source_type type;
        unsigned n_ref;
        int enabled;
        bool floating;
        bool dispatching;
        size_t pending_index; /* in loop->pending, or PENDING_NONE */
        uint64_t seq; /* creation order: the tie-break of timers due at the same time */
        void *userdata;
        char *description;
        event_source *sources_prev, *sources_next; /* every source of the loop */
        union {
                struct {
                        event_io_handler_t callback;
                        int fd;
                        uint32_t events, revents;
                } io;
                struct {
                        event_time_handler_t callback;
                        struct timer_heap_entry entry;
                } time;
                struct {
                        event_signal_handler_t callback;
                        int sig;
                } signal;
                struct {
                        event_child_handler_t callback;
                        pid_t pid;
                        int pidfd;
                } child;
                struct {
                        event_inotify_handler_t callback;
                        int fd;
                } inotify;
                struct {
                        event_handler_t callback;
                        event_source *prev, *next; /* the enabled defers */
                } defer;
                struct {
                        int fd;
                } signalfd;
        };
};

struct event_loop {
        unsigned n_ref;
        int epoll_fd;
        event_source *sources;
        struct timer_heap timers;
        event_source *defers_head, *defers_tail;
        event_source *signalfd_source; /* created with the first signal source, kept */
        event_source *signal_sources[_NSIG];
        sigset_t signal_mask; /* the signals of the enabled signal sources */
        event_source **pending;
        size_t n_pending, allocated_pending;
        uint64_t now;
        bool now_valid;
        bool running;
        bool exit_requested;
        int exit_code;
        uint64_t next_seq;
        event_source *watchdog;
        uint64_t watchdog_usec;
};

/* event_loop.c; each is commented where it is defined. */
event_source *source_new(event_loop *e, bool floating, enum source_type type, void *userdata);
void source_free(event_source *s);
int source_enable_and_return(event_source *s, int enabled, event_source **ret);
void source_call(event_source *s, const void *arg);
bool source_release_if_unrefd(event_source *s);

/* event_loop_kernel_sources.c */
/* Sets the loop's signalfd to the signals of its enabled signal sources. */
int loop_update_signalfd(event_loop *e);
void signalfd_dispatch(event_loop *e, int fd);
bool child_dispatch(event_source *s);
bool inotify_dispatch(event_source *s);
