"""Steady host-memory behaviour for an engine that computes on the CPU (Linux with glibc).

Why: a job allocates and frees the same large tensors step after step. glibc's malloc decides
per allocation whether to serve it from its heap or from a fresh `mmap`, and the threshold moves
with the history of the process ("dynamic mmap threshold"); memory freed at the top of the heap is
handed back to the kernel once more than twice that threshold is free. Which tensors end up
mmapped (and so zero-filled by the kernel again, page by page, on every use) therefore differs from
one process to the next. Measured on the 2-core development VM with the tiny bundle, 25 frames at
384x384 (benchmarks/bench_server.py, /proc per-thread CPU): 10k-65k page faults per job depending
on the process, 0.02-0.11 s of kernel time per ~0.9 s job, the same job up to 15 % slower in one
process than in another; worst in the server, whose worker thread gets a separate malloc arena
whose heaps are capped at 64 MB and shrunk with `MADV_DONTNEED`. With the settings below: ~20
page faults per job in every process, on the main thread and on the server's worker thread alike.

What is set (`mallopt`, process-wide, once):
- `M_ARENA_MAX` 1: every thread allocates from the main heap, so the server's worker thread
  behaves like a direct call on the main thread. Must run before the worker thread first
  allocates, which is why the engine does it when it is constructed.
- `M_MMAP_THRESHOLD` 1 GiB (also switches the dynamic threshold off): tensors come from the heap.
- `M_TRIM_THRESHOLD` 2 GiB: freed heap memory stays with the process for the next step / job.
The cost: the process keeps its peak job working set (RSS does not fall back between jobs), the
same trade the CUDA caching allocator makes on a GPU. Only done for a CPU device: on a GPU the
host-side tensors are a small part of a job and keeping the peak host memory of a model load is
not wanted. Elsewhere (macOS, Windows, musl) nothing is changed.
"""

from __future__ import annotations

import ctypes
import logging
import platform

log = logging.getLogger("ltx_scene.engine")

_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD, _M_ARENA_MAX = -1, -3, -8
SETTINGS = ((_M_ARENA_MAX, 1), (_M_MMAP_THRESHOLD, 1 << 30), (_M_TRIM_THRESHOLD, (1 << 31) - 1))

_applied: bool | None = None


def keep_host_memory() -> bool:
    """Apply the settings above once per process. True when they are in effect."""
    global _applied
    if _applied is not None:
        return _applied
    _applied = False
    if platform.system() != "Linux" or platform.libc_ver()[0] != "glibc":
        return False
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes, mallopt.restype = (ctypes.c_int, ctypes.c_int), ctypes.c_int
    results = [mallopt(param, value) for param, value in SETTINGS]
    _applied = all(r == 1 for r in results)
    if not _applied:
        log.warning("glibc refused some malloc settings (%s); CPU job times may vary more between processes", results)
    return _applied
