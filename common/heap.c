/* heap.c: the long-lived processes' memory policy (heap.h says why). */
#include "common/heap.h"

#include <errno.h>
#include <malloc.h>
#include <sys/prctl.h>

/* glibc's defaults, DEFAULT_MMAP_THRESHOLD_MIN and DEFAULT_TRIM_THRESHOLD. */
#define HEAP_MMAP_THRESHOLD (128 * 1024)
#define HEAP_TRIM_THRESHOLD (128 * 1024)

int heap_pin_thresholds(void) {
        /* Setting either by mallopt() turns glibc's adjustment of both off. */
        if (mallopt(M_MMAP_THRESHOLD, HEAP_MMAP_THRESHOLD) != 1 ||
            mallopt(M_TRIM_THRESHOLD, HEAP_TRIM_THRESHOLD) != 1)
                return -EINVAL;
        return 0;
}

int heap_refuse_huge_pages(void) {
        return prctl(PR_SET_THP_DISABLE, 1, 0, 0, 0) < 0 ? -errno : 0;
}
