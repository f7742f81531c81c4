"""Giving freed memory back to the operating system.

After the scan and the leakage search, hundreds of megabytes of numpy block buffers are freed, but
glibc keeps most of them in the process heap (blocks under its adaptive mmap threshold of up to
32 MB live there), so the resident size stays at the peak: measured on 100,000 images, 650 MB
resident after the search against 165 MB of live data. ``malloc_trim(0)`` returns those pages;
it costs a few milliseconds. A no-op where the C library has no such call (macOS, Windows, musl).
"""
from __future__ import annotations

import ctypes
import ctypes.util
import functools
import os


@functools.cache
def _malloc_trim():
    try:  # the process's own symbols first: find_library runs ``ldconfig -p`` (15 ms, a process)
        return ctypes.CDLL(None).malloc_trim
    except (OSError, AttributeError, TypeError):  # TypeError: Windows has no process handle here
        pass
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        return libc.malloc_trim
    except (OSError, AttributeError):
        return None


def release_free_memory() -> bool:
    """Return the heap's free pages to the OS; True when the C library could do it."""
    trim = _malloc_trim()
    if trim is None:
        return False
    trim(0)
    return True


# glibc's mallopt parameters (malloc.h)
_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3
KEEP_MMAP_THRESHOLD = 32 << 20   # blocks under this come from the heap: glibc's own adaptive upper bound
KEEP_TRIM_THRESHOLD = 64 << 20   # free memory the heap keeps at its top: twice that, as glibc adapts it


@functools.cache
def _mallopt():
    try:
        return ctypes.CDLL(None).mallopt
    except (OSError, AttributeError, TypeError):
        return None


def keep_freed_memory() -> bool:
    """Keep freed blocks of up to 32 MB in the heap for reuse (a scan worker's; True when the C
    library could be told). A worker allocates and frees a decoded image and its float grey copy
    (about 0.5 MB each for a photo) per file, of a different size every time; glibc's default
    hands each back to the kernel (an mmap'ed block, or a trim of the heap's top above twice its
    adaptive threshold), so the next image faults its pages in afresh: about 27 page faults a
    photo, 1 with this. Measured on the 2,000 photos, the worker's chunk function in one process,
    three interleaved pairs at load 14: 1.486-1.509 against 1.513-1.543 CPU ms a photo (2%). The
    thresholds are those glibc itself adapts to once it has freed one block of 32 MB, so a worker
    holds no more memory than after one such image today."""
    mallopt = _mallopt()
    if mallopt is None:
        return False
    return bool(mallopt(_M_MMAP_THRESHOLD, KEEP_MMAP_THRESHOLD)) and bool(mallopt(_M_TRIM_THRESHOLD, KEEP_TRIM_THRESHOLD))


def avoid_huge_pages() -> bool:
    """Stop numpy asking the kernel for transparent huge pages (madvise) on its arrays of 4 MB or
    more; True when it was asked to. Where the kernel's THP defrag setting is ``madvise`` (a
    common default), a first touch of such a page may compact memory before it returns: measured
    on a 1% rescan of 100,000 tiny PNGs, 1.7-2.1 s of system time against 0.8-1.0 without, the
    same user time (the search and the restore write into hundreds of MB of fresh arrays). A user's
    own NUMPY_MADVISE_HUGEPAGE setting is left as it is."""
    if "NUMPY_MADVISE_HUGEPAGE" in os.environ:
        return False
    try:
        from numpy._core.multiarray import _set_madvise_hugepage
    except ImportError:   # numpy 1.x
        try:
            from numpy.core.multiarray import _set_madvise_hugepage
        except ImportError:
            return False
    _set_madvise_hugepage(False)
    return True
