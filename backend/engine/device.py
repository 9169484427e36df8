"""Device choice and the CUDA-only housekeeping calls.

The official helpers call `torch.cuda.synchronize()` unconditionally, which raises on a machine
without a GPU; the engine calls these guarded versions instead.
"""

from __future__ import annotations

import torch

from shared.errors import UserError


def resolve_device(device: str | torch.device = "auto") -> torch.device:
    """ "auto" -> CUDA when available, else CPU. Explicit "cuda" without a GPU is a clear error."""
    if isinstance(device, torch.device):
        return device
    name = str(device).strip().lower()
    if name == "auto":
        return torch.device("cuda") if torch.cuda.is_available() else torch.device("cpu")
    if name == "cpu":
        return torch.device("cpu")
    if name.startswith("cuda"):
        if not torch.cuda.is_available():
            raise UserError(
                f"device {device!r} was asked for but no CUDA GPU is available; use device 'auto' or 'cpu'",
                field="device",
            )
        return torch.device(name)
    raise UserError(f"unknown device {device!r}; allowed: 'auto', 'cpu', 'cuda', 'cuda:N'", field="device")


def synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def free_memory(device: torch.device) -> None:
    """Hand a job's cached CUDA blocks back. No `gc.collect()`: a job's tensors are freed by reference
    counting, and a full collection walks the resident models' whole object graph (benchmarks/README.md)."""
    if device.type == "cuda":
        torch.cuda.empty_cache()
