/* heap.h: the memory policy of usernode's long-lived processes: malloc's thresholds held where
 * glibc starts them, and no transparent huge pages for the launcher. */
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

/* Turns transparent huge pages off for this process and what it starts from now on
 * (PR_SET_THP_DISABLE survives fork and exec). With THP "always" (Debian's kernel default), the
 * first touch of an anonymous range that covers a whole aligned 2 MiB block maps a 2 MiB page:
 * a worker thread's stack, the port forwarder's datagram buffer or a heap past 2 MiB then counts
 * 2 MiB for a few KiB used (the VM bench saw rounds with 2 MiB more in the launcher). The
 * launcher calls it once the node init is cloned, so the node and its workloads keep the host's
 * setting; the slirp engine, started later, inherits it. Returns 0 or a negative errno. */
int heap_refuse_huge_pages(void);
