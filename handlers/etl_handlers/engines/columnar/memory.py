"""How the fast path's process reuses freed memory (glibc's malloc settings)."""

from __future__ import annotations

from functools import lru_cache

__all__ = ["keep_freed_memory"]

_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3


@lru_cache(maxsize=1)
def keep_freed_memory() -> bool:
    """Have glibc's malloc keep freed memory of this process for reuse; False where the C
    library is not glibc (nothing changes there).

    Each chunk allocates and frees the same few-megabyte temporaries (masks, offsets, copies
    of a chunk). By default glibc maps a block that large afresh each time, or hands a freed
    heap top back to the system, so every page of it faults in again: about a tenth of a
    step's CPU. Blocks below 8 MiB now come from the heap, and the heap keeps up to 32 MiB
    free at its top; the peak memory stays the same (larger blocks, such as the duplicate-id
    table, are still mapped and unmapped). The setting holds for the whole process: each
    step runs in a Lambda process of its own."""
    try:
        import ctypes

        mallopt = ctypes.CDLL(None).mallopt
    except (ImportError, OSError, AttributeError):
        return False
    return bool(mallopt(_M_MMAP_THRESHOLD, 8 << 20)) and bool(mallopt(_M_TRIM_THRESHOLD, 32 << 20))
