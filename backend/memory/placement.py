"""Where a whole component (a VAE, the vocoder, the upsampler, Gemma's non-layer weights) lives.

- `Resident`: on the device for the life of the engine (counted once in the ledger).
- `PerStage`: packed in host memory; `with placement.on_device():` copies it into a fresh device
  buffer for one stage and frees that buffer after, so it takes device memory only while it works.
  Nested or repeated entries of the same placement are counted once.
"""

from __future__ import annotations

import contextlib
from pathlib import Path

import torch

from .ledger import DeviceLedger
from .packed import PackedWeights


class Resident:
    kind = "resident"

    def __init__(self, module: torch.nn.Module, nbytes: int, ledger: DeviceLedger, label: str):
        self.module = module
        self.nbytes = nbytes
        ledger.add(label, nbytes)

    @contextlib.contextmanager
    def on_device(self):
        yield self.module


class PerStage:
    kind = "per-stage"

    def __init__(
        self,
        module: torch.nn.Module,
        device: torch.device,
        storage: str,
        ledger: DeviceLedger,
        label: str,
        exclude_prefixes: tuple[str, ...] = (),
        disk_dir: Path | None = None,
    ):
        self.module = module
        self.device = torch.device(device)
        self.ledger = ledger
        self.label = label
        self.packed = PackedWeights(
            module, storage, self.device, exclude_prefixes=exclude_prefixes, disk_dir=disk_dir, label=label
        )
        self.nbytes = self.packed.nbytes
        self._depth = 0
        self._buffer: torch.Tensor | None = None
        self.loads = 0  # times brought to the device (tests)

    @contextlib.contextmanager
    def on_device(self):
        if self._depth == 0:
            self._buffer = torch.empty(self.nbytes, dtype=torch.uint8, device=self.device)
            self._buffer.copy_(self.packed.host, non_blocking=self.packed.storage == "pinned")
            self.packed.bind(self._buffer)
            self.ledger.add(self.label, self.nbytes)
            self.loads += 1
        self._depth += 1
        try:
            yield self.module
        finally:
            self._depth -= 1
            if self._depth == 0:
                if self.device.type == "cuda":
                    # The buffer goes back to the caching allocator only once the stage's kernels are done.
                    torch.cuda.current_stream(self.device).synchronize()
                self.packed.release()
                self._buffer = None
                self.ledger.remove(self.label)
