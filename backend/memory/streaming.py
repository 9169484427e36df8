"""Stream a stack of blocks (the transformer's 48, Gemma's decoder layers) through two device slots.

The blocks the plan keeps resident stay on the device, spread evenly through the stack; every other
block lives packed in host memory (`PackedWeights`, pinned once per process and kept across jobs and
stages) and is copied into one of two reusable device slots just before it runs:

- a forward pre-hook picks the slot the block before last used, makes the copy stream wait until that
  block's compute is done (its "done" event), copies the packed bytes with one non-blocking copy on
  the copy stream, records "copied", and makes the compute stream wait for "copied" only: compute
  waits for the block it needs, never for more;
- a forward hook records "done" on the compute stream and points the block back at empty
  placeholders, so between blocks a streamed block holds no device bytes.

No explicit prefetch: the CPU issues block i+1's copy while the GPU still computes block i (kernels
are asynchronous), which overlaps the copy with compute. The runtime IC-LoRA keeps working: its
parametrization reads the `original` weight, which is bound to the slot like any parameter.

On a CPU device the copy stream is replaced by a synchronous copy (the "synchronous stand-in" the
tests run): same slots, same binding, same byte accounting, bit-identical results.
"""

from __future__ import annotations

from pathlib import Path

import torch

from .ledger import DeviceLedger
from .packed import PackedWeights


def spread(count: int, total: int) -> set[int]:
    """`count` indices out of range(total), spread evenly (first and last included when count >= 2)."""
    if count >= total:
        return set(range(total))
    if count <= 0:
        return set()
    if count == 1:
        return {total // 2}
    return {round(i * (total - 1) / (count - 1)) for i in range(count)}


class BlockStreamer:
    def __init__(
        self,
        blocks: torch.nn.ModuleList,
        resident: set[int],
        device: torch.device,
        storage: str,
        ledger: DeviceLedger,
        label: str,
        disk_dir: Path | None = None,
    ):
        self.device = torch.device(device)
        self.label = label
        self.ledger = ledger
        self.resident = set(resident)
        self.packed: dict[int, PackedWeights] = {}
        for i, block in enumerate(blocks):
            if i in self.resident:
                continue
            self.packed[i] = PackedWeights(block, storage, self.device, disk_dir=disk_dir, label=f"{label}-{i}")
        self.slot_bytes = max((p.nbytes for p in self.packed.values()), default=0)
        self.slots: list[torch.Tensor] = []
        if self.packed:
            self.slots = [torch.empty(self.slot_bytes, dtype=torch.uint8, device=self.device) for _ in range(2)]
            ledger.add(f"{label} slots", 2 * self.slot_bytes)
        cuda = self.device.type == "cuda"
        self.copy_stream = torch.cuda.Stream(self.device) if cuda and self.packed else None
        self._copied = [torch.cuda.Event() for _ in self.slots] if self.copy_stream else []
        self._done = [torch.cuda.Event() for _ in self.slots] if self.copy_stream else []
        self._next_slot = 0
        self._bound: dict[int, int] = {}  # block index -> slot while it runs
        self.copies = 0  # blocks copied in (tests, benchmark)
        self.observer = None  # called (event, index, slot) by tests
        self._handles = []
        for i in self.packed:
            self._handles.append(blocks[i].register_forward_pre_hook(self._before(i)))
            self._handles.append(blocks[i].register_forward_hook(self._after(i)))

    @property
    def streamed(self) -> list[int]:
        return sorted(self.packed)

    @property
    def host_bytes(self) -> int:
        return sum(p.nbytes for p in self.packed.values())

    def _before(self, index: int):
        def hook(module, args):
            slot = self._next_slot
            self._next_slot ^= 1
            packed = self.packed[index]
            target = self.slots[slot][: packed.nbytes]
            if self.copy_stream is not None:
                with torch.cuda.stream(self.copy_stream):
                    self.copy_stream.wait_event(self._done[slot])
                    target.copy_(packed.host, non_blocking=packed.storage == "pinned")
                    self._copied[slot].record(self.copy_stream)
                torch.cuda.current_stream(self.device).wait_event(self._copied[slot])
            else:
                target.copy_(packed.host)
            packed.bind(self.slots[slot])
            self._bound[index] = slot
            self.copies += 1
            if self.observer is not None:
                self.observer("bound", index, slot)

        return hook

    def _after(self, index: int):
        def hook(module, args, output):
            slot = self._bound.pop(index)
            if self.copy_stream is not None:
                self._done[slot].record(torch.cuda.current_stream(self.device))
            self.packed[index].release()
            if self.observer is not None:
                self.observer("released", index, slot)

        return hook
