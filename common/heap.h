/* heap.h: malloc's thresholds held where glibc starts them, for processes that live long. */
#pragma once

/* glibc raises its mmap threshold (and with it the trim threshold) to the size of every
 * mmap()ed chunk freed, up to 32 MiB: after one 1 MiB buffer is freed, the next buffers of that
 * size come from the heap, and what they touched stays resident when they are freed, below a
 * trim threshold now twice as high. The launcher reads files into buffers of their bound (1 MiB
 * for a cgroup file) on the way to the node's start; its node init is a fork, so both carried
 * the heap those left (2 MiB each in some runs of the VM bench). Pinned, a chunk of 128 KiB or
 * more is its own mapping and goes back to the kernel on free(), as is the top of the heap past
 * 128 KiB. Returns 0, or -EINVAL if malloc refused (another allocator: nothing to pin). */
int heap_pin_thresholds(void);
