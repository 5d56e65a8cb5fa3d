/* event_timer_heap.c: the binary min-heap of the event loop's timers (event_timer_heap.h). */
#include "common/event_timer_heap.h"

#include <assert.h>
#include <errno.h>
#include <stdlib.h>

static void heap_place(struct timer_heap *heap, size_t i, struct timer_heap_entry *entry) {
        heap->items[i] = entry;
        entry->index = i;
}

static void heap_sift_up(struct timer_heap *heap, size_t i) {
        struct timer_heap_entry *entry = heap->items[i];

        while (i > 0) {
                size_t parent = (i - 1) / 2;
                if (heap->items[parent]->time <= entry->time)
                        break;
                heap_place(heap, i, heap->items[parent]);
                i = parent;
        }
        heap_place(heap, i, entry);
}

static void heap_sift_down(struct timer_heap *heap, size_t i) {
        struct timer_heap_entry *entry = heap->items[i];

        for (;;) {
                size_t child = 2 * i + 1;
                if (child >= heap->n)
                        break;
                if (child + 1 < heap->n && heap->items[child + 1]->time < heap->items[child]->time)
                        child++;
                if (entry->time <= heap->items[child]->time)
                        break;
                heap_place(heap, i, heap->items[child]);
                i = child;
        }
        heap_place(heap, i, entry);
}

/* After the entry at i changed (or was put there): up if it is now earlier than its parent,
 * down otherwise. */
static void heap_fix(struct timer_heap *heap, size_t i) {
        if (i > 0 && heap->items[(i - 1) / 2]->time > heap->items[i]->time)
                heap_sift_up(heap, i);
        else
                heap_sift_down(heap, i);
}

int timer_heap_insert(struct timer_heap *heap, struct timer_heap_entry *entry) {
        assert(heap);
        assert(entry);
        assert(!timer_heap_entry_queued(entry));

        if (heap->n == heap->allocated) {
                size_t allocated = heap->allocated ? heap->allocated * 2 : 16;
                struct timer_heap_entry **items = reallocarray(heap->items, allocated, sizeof(*items));
                if (!items)
                        return -ENOMEM;
                heap->items = items;
                heap->allocated = allocated;
        }
        heap_place(heap, heap->n++, entry);
        heap_sift_up(heap, entry->index);
        return 0;
}

void timer_heap_remove(struct timer_heap *heap, struct timer_heap_entry *entry) {
        assert(heap);
        assert(entry);
        assert(entry->index < heap->n && heap->items[entry->index] == entry);

        size_t i = entry->index;
        struct timer_heap_entry *last = heap->items[--heap->n];
        entry->index = TIMER_HEAP_NONE;
        if (last == entry)
                return;
        heap_place(heap, i, last);
        heap_fix(heap, i);
}

void timer_heap_set_time(struct timer_heap *heap, struct timer_heap_entry *entry, uint64_t time) {
        assert(heap);
        assert(entry);

        entry->time = time;
        if (timer_heap_entry_queued(entry))
                heap_fix(heap, entry->index);
}

/* Every descendant of a later entry is later too: the walk stops there. The recursion is as
 * deep as the heap, log2(n). */
static int heap_foreach_due_from(const struct timer_heap *heap, size_t i, uint64_t now,
                                 int (*due)(struct timer_heap_entry *entry, void *userdata),
                                 void *userdata) {
        if (i >= heap->n || heap->items[i]->time > now)
                return 0;

        int r = due(heap->items[i], userdata);
        if (r < 0)
                return r;
        r = heap_foreach_due_from(heap, 2 * i + 1, now, due, userdata);
        if (r < 0)
                return r;
        return heap_foreach_due_from(heap, 2 * i + 2, now, due, userdata);
}

int timer_heap_foreach_due(const struct timer_heap *heap, uint64_t now,
                           int (*due)(struct timer_heap_entry *entry, void *userdata), void *userdata) {
        assert(heap);
        assert(due);
        return heap_foreach_due_from(heap, 0, now, due, userdata);
}

void timer_heap_done(struct timer_heap *heap) {
        assert(heap);
        free(heap->items);
        *heap = (struct timer_heap){ 0 };
}
