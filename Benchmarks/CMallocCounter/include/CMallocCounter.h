#include <stddef.h>

/// Allocations made by this process since start (malloc, calloc, realloc, memalign families).
long cdns_allocation_count(void);
/// Allocations made by the calling thread since it started.
long cdns_thread_allocation_count(void);
/// 1 under valgrind.
int cdns_running_on_valgrind(void);
/// Callgrind: zero the counters of every thread; dump them (one file per thread with
/// --separate-threads=yes) under `label`.
void cdns_callgrind_zero(void);
void cdns_callgrind_dump(const char *label);
