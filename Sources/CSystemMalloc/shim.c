// Header-only; see include/CSystemMalloc.h.
