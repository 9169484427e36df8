"""Byte accounting of what the engine keeps on its device: the same numbers the plan is made of.

Every placement (a resident component, the two transformer slots, a component brought in for its
stage) adds its bytes under a label when it takes device memory and removes them when it gives it
back. `peak` is the most held at once. On a CPU device nothing is measured by the allocator, so this
ledger is how tests see that a tier keeps to its plan; on CUDA the benchmark compares it with
`torch.cuda.max_memory_allocated()`.
"""

from __future__ import annotations

import threading


class DeviceLedger:
    def __init__(self) -> None:
        self._held: dict[str, int] = {}
        self._lock = threading.Lock()
        self.current = 0
        self.peak = 0

    def add(self, label: str, nbytes: int) -> None:
        with self._lock:
            if label in self._held:
                raise RuntimeError(f"device ledger: {label!r} is already held")
            self._held[label] = int(nbytes)
            self.current += int(nbytes)
            self.peak = max(self.peak, self.current)

    def remove(self, label: str) -> None:
        with self._lock:
            self.current -= self._held.pop(label)

    def held(self) -> dict[str, int]:
        with self._lock:
            return dict(self._held)

    def reset_peak(self) -> None:
        with self._lock:
            self.peak = self.current
