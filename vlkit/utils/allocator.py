"""Keep freed memory in the process instead of giving it back to the OS after every step.

glibc's malloc serves blocks above its mmap threshold (128 KiB, adapting up to 32 MiB) with
fresh `mmap`s and returns them on free; smaller freed memory at the heap's top is trimmed back
once 128 KiB+ is free. A training step allocates and frees the same few GB every time, so each
step faults its activations in again page by page: a UNITER-base bf16 step at batch 32 took
~100,000 minor page faults (0.25-0.5 s of system time, 10-20% of the step) on the machines of
docs/performance.md. Raising both thresholds keeps the freed blocks for the next step (0 faults
from the third step on). The resident size stays at the step's peak, which every step reaches
anyway. glibc only (Linux); elsewhere this does nothing. `vlkit.cli.main` applies it to every
command; code that trains through the library calls `keep_freed_memory()` itself.
"""

from __future__ import annotations

import ctypes
import logging
import platform

log = logging.getLogger(__name__)

_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3  # mallopt parameters (malloc.h)
MMAP_THRESHOLD = 1 << 30  # blocks under 1 GiB come from the heap and are reused
TRIM_THRESHOLD = 2**31 - 1  # mallopt takes an int: trim only above 2 GiB of free heap top

_applied = False


def keep_freed_memory() -> bool:
    """Set glibc's mmap and trim thresholds for this process (once); True when applied."""
    global _applied
    if _applied:
        return True
    if platform.system() != "Linux" or platform.libc_ver()[0] != "glibc":
        return False
    try:
        libc = ctypes.CDLL("libc.so.6")
    except OSError:
        return False
    _applied = bool(libc.mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD)
                    and libc.mallopt(_M_TRIM_THRESHOLD, TRIM_THRESHOLD))
    if not _applied:
        log.warning("glibc refused the malloc thresholds; freed memory goes back to the OS")
    return _applied
