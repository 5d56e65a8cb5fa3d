/* event_timer_heap.h: the event loop's enabled timers (common/event_loop.c), a binary min-heap
 * keyed by time.
 *
 * The port forwarder has one timer per UDP flow, so each entry keeps its own index in the heap:
 * removing or re-timing one is O(log n), and what is due is found without visiting the rest. The
 * entry is embedded in its owner (the time source), which the heap never allocates or frees. */
#pragma once

#include <stddef.h>
#include <stdint.h>

#define TIMER_HEAP_NONE SIZE_MAX

struct timer_heap_entry {
        uint64_t time;
        size_t index; /* TIMER_HEAP_NONE when not in a heap */
};

struct timer_heap {
        struct timer_heap_entry **items;
        size_t n, allocated;
};

static inline void timer_heap_entry_init(struct timer_heap_entry *entry, uint64_t time) {
        entry->time = time;
        entry->index = TIMER_HEAP_NONE;
}

static inline int timer_heap_entry_queued(const struct timer_heap_entry *entry) {
        return entry->index != TIMER_HEAP_NONE;
}

/* The earliest entry, or NULL when empty. */
static inline struct timer_heap_entry *timer_heap_top(const struct timer_heap *heap) {
        return heap->n > 0 ? heap->items[0] : NULL;
}

/* Returns 0 or -ENOMEM. The entry must not be queued. */
int timer_heap_insert(struct timer_heap *heap, struct timer_heap_entry *entry);
/* Removes a queued entry. */
void timer_heap_remove(struct timer_heap *heap, struct timer_heap_entry *entry);
/* Sets the time of an entry, queued or not, and moves it to its place if queued. */
void timer_heap_set_time(struct timer_heap *heap, struct timer_heap_entry *entry, uint64_t time);
/* Calls `due` for each entry whose time is <= now, in no particular order, visiting only those
 * and their children (O(due)). The heap must not be changed from `due`. Returns 0, or the first
 * negative value `due` returned. */
int timer_heap_foreach_due(const struct timer_heap *heap, uint64_t now,
                           int (*due)(struct timer_heap_entry *entry, void *userdata), void *userdata);
void timer_heap_done(struct timer_heap *heap);
