// glibc's allocator controls, which Swift's Glibc module does not export.
#pragma once
#if defined(__linux__) && defined(__GLIBC__)
#include <malloc.h>
/// Returns freed heap memory to the kernel (after a large snapshot is replaced).
static inline void csm_trim(void) { malloc_trim(0); }
/// Caps glibc's per-thread arenas: each keeps its own freed memory, and a server that builds
/// large snapshots on pool threads otherwise holds several copies' worth.
static inline void csm_limit_arenas(int n) { mallopt(M_ARENA_MAX, n); }
#else
static inline void csm_trim(void) {}
static inline void csm_limit_arenas(int n) { (void)n; }
#endif
