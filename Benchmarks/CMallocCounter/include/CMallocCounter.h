#include <stddef.h>

/// Allocations made by this process since start (malloc, calloc, realloc, memalign families).
long cdns_allocation_count(void);
