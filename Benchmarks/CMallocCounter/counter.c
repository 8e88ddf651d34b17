// Counts heap allocations for the query-path benchmark by interposing the allocator in the
// benchmark executable only: definitions here take precedence over libc's, and forward to
// glibc's own entry points.
#define _GNU_SOURCE
#include <stdatomic.h>
#include <stddef.h>
#include "CMallocCounter.h"

extern void *__libc_malloc(size_t);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);
extern void *__libc_memalign(size_t, size_t);
extern void __libc_free(void *);

static _Atomic long allocations;
/* The same count for the calling thread only: the query path runs on one event loop thread. */
static __thread long thread_allocations;

long cdns_allocation_count(void) { return atomic_load_explicit(&allocations, memory_order_relaxed); }
long cdns_thread_allocation_count(void) { return thread_allocations; }

/* Callgrind client requests (no-ops outside valgrind). */
#include <valgrind/callgrind.h>
int cdns_running_on_valgrind(void) { return RUNNING_ON_VALGRIND ? 1 : 0; }
void cdns_callgrind_zero(void) { CALLGRIND_ZERO_STATS; }
void cdns_callgrind_dump(const char *label) { CALLGRIND_DUMP_STATS_AT(label); }

void *malloc(size_t n) {
    atomic_fetch_add_explicit(&allocations, 1, memory_order_relaxed);
    thread_allocations++;
    return __libc_malloc(n);
}

void *calloc(size_t n, size_t size) {
    atomic_fetch_add_explicit(&allocations, 1, memory_order_relaxed);
    thread_allocations++;
    return __libc_calloc(n, size);
}

void *realloc(void *p, size_t n) {
    atomic_fetch_add_explicit(&allocations, 1, memory_order_relaxed);
    thread_allocations++;
    return __libc_realloc(p, n);
}

int posix_memalign(void **out, size_t alignment, size_t n) {
    atomic_fetch_add_explicit(&allocations, 1, memory_order_relaxed);
    thread_allocations++;
    void *p = __libc_memalign(alignment, n);
    if (!p) return 12; /* ENOMEM */
    *out = p;
    return 0;
}

void *aligned_alloc(size_t alignment, size_t n) {
    atomic_fetch_add_explicit(&allocations, 1, memory_order_relaxed);
    thread_allocations++;
    return __libc_memalign(alignment, n);
}

void free(void *p) { __libc_free(p); }
