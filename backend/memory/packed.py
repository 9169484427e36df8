"""A module's weights packed into one flat host buffer, bound to device memory only while needed.

Why one buffer: a transformer block holds a few dozen tensors; one contiguous host buffer moves to
the device with one copy (one DMA on CUDA) instead of dozens, and the same byte layout serves as the
layout of the device slot it is copied into. After packing, the module's tensors are empty
placeholders: the weights exist once, in the host buffer, and on the device only while `bind` has
pointed the module at a device buffer holding a copy.

Host storage:
- "pinned": page-locked RAM (CUDA only): copies to the device run asynchronously on a copy stream;
- "host": ordinary RAM (a CPU device, where the copy is a synchronous memcpy);
- "disk": a file written once and memory-mapped (`torch.from_file`): the kernel keeps in RAM what
  fits and reads the rest from disk again, so a machine with little RAM still runs, slower.

Binding sets each parameter's `.data` (so tied weights, the same Parameter object in two modules,
follow together, and a LoRA parametrization's `original` is rebound like any parameter) and replaces
buffers in their modules' `_buffers`.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

import torch

ALIGN = 256  # byte alignment of every tensor in the buffer (any dtype view, and good DMA)


@dataclass
class _Entry:
    owners: list[tuple[torch.nn.Module, str]]  # (module, attribute) pairs sharing this tensor
    is_param: bool
    shape: torch.Size
    dtype: torch.dtype
    offset: int
    nbytes: int


def _align(n: int) -> int:
    return (n + ALIGN - 1) // ALIGN * ALIGN


class PackedWeights:
    """`PackedWeights(module, storage, device)`; `bind(buffer)` / `release()`; `host` is the packed buffer."""

    def __init__(
        self,
        module: torch.nn.Module,
        storage: str,
        device: torch.device,
        exclude_prefixes: tuple[str, ...] = (),
        disk_dir: Path | None = None,
        label: str = "weights",
    ):
        if storage not in ("pinned", "host", "disk"):
            raise ValueError(f"unknown host storage {storage!r}")
        self.label = label
        self.device = torch.device(device)
        self.storage = storage
        self.entries = self._layout(module, exclude_prefixes)
        last = self.entries[-1] if self.entries else None
        self.nbytes = _align(last.offset + last.nbytes) if last is not None else 0
        self.host = self._pack(disk_dir)
        self.release()

    # --- layout and packing ------------------------------------------------------------------
    @staticmethod
    def _layout(module: torch.nn.Module, exclude: tuple[str, ...]) -> list[_Entry]:
        by_tensor: dict[int, _Entry] = {}
        order: list[_Entry] = []
        offset = 0
        named = [(n, t, True) for n, t in module.named_parameters(remove_duplicate=False)]
        named += [(n, t, False) for n, t in module.named_buffers(remove_duplicate=False)]
        for name, tensor, is_param in named:
            if tensor is None or any(name.startswith(p) for p in exclude):
                continue
            owner_name, _, attr = name.rpartition(".")
            owner = module.get_submodule(owner_name) if owner_name else module
            key = id(tensor)
            if key in by_tensor:
                by_tensor[key].owners.append((owner, attr))
                continue
            nbytes = tensor.numel() * tensor.element_size()
            entry = _Entry([(owner, attr)], is_param, tensor.shape, tensor.dtype, offset, nbytes)
            entry.source = tensor  # kept until packed
            by_tensor[key] = entry
            order.append(entry)
            offset = _align(offset + nbytes)
        return order

    def _pack(self, disk_dir: Path | None) -> torch.Tensor:
        n = self.nbytes
        if self.storage == "disk":
            folder = Path(disk_dir) if disk_dir is not None else Path(tempfile.gettempdir())
            folder.mkdir(parents=True, exist_ok=True)
            fd, name = tempfile.mkstemp(prefix=f"ltx-scene-{self.label.replace(' ', '-')}-", suffix=".bin", dir=folder)
            with os.fdopen(fd, "wb") as fh:
                for e in self.entries:
                    fh.seek(e.offset)
                    fh.write(_bytes_of(e.source).numpy().tobytes())
                fh.truncate(n)
            host = torch.from_file(name, shared=False, size=n, dtype=torch.uint8)
            os.unlink(name)  # the mapping keeps the data; nothing is left behind on exit
        else:
            host = torch.empty(n, dtype=torch.uint8, pin_memory=self.storage == "pinned")
            for e in self.entries:
                host[e.offset : e.offset + e.nbytes].copy_(_bytes_of(e.source))
        for e in self.entries:
            del e.source
        return host

    # --- binding -----------------------------------------------------------------------------
    def bind(self, buffer: torch.Tensor) -> None:
        """Point every tensor at its place in `buffer` (a uint8 tensor laid out like `host`)."""
        for e in self.entries:
            view = buffer[e.offset : e.offset + e.nbytes].view(e.dtype).view(e.shape)
            self._set(e, view)

    def release(self) -> None:
        """Point every tensor at an empty placeholder: the module holds no weight bytes anywhere."""
        for e in self.entries:
            self._set(e, torch.empty(0, dtype=e.dtype, device=self.device))

    @staticmethod
    def _set(e: _Entry, value: torch.Tensor) -> None:
        for owner, attr in e.owners:
            if e.is_param:
                owner._parameters[attr].data = value
            else:
                owner._buffers[attr] = value

    def tensors(self) -> list[torch.Tensor]:
        """The tensors as the module holds them now (for tests: where do they live?)."""
        out = []
        for e in self.entries:
            owner, attr = e.owners[0]
            out.append(owner._parameters[attr] if e.is_param else owner._buffers[attr])
        return out


def _bytes_of(t: torch.Tensor) -> torch.Tensor:
    t = t.detach()
    if t.device.type != "cpu":
        t = t.cpu()
    return t.contiguous().reshape(-1).view(torch.uint8)
