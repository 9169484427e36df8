"""The two budgets a memory plan is made for: device memory and host RAM.

Device: `--vram GB` (the card's size, e.g. 24 for a 24 GB card) or, without it, the device's free
memory now. Not all of it is the plan's: the CUDA context, cuBLAS / cuDNN workspaces and the caching
allocator's fragmentation live outside torch's allocation counters, so a fixed reserve comes off the
card and the plan keeps its own peak a further fraction below what is left (`usable_device_bytes`).

Host: `--ram GB` or the kernel's MemAvailable. Pinned (page-locked) memory is capped at half of it,
as other streaming tools do on Linux: pinning more starves the rest of the system.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

GIB = 1024**3
DEVICE_RESERVE = int(1.5 * GIB)  # CUDA context + library workspaces, outside torch's counters
FRAGMENTATION = 0.07  # the share of the rest kept free for the caching allocator
PINNED_SHARE = 0.5  # at most this share of the host RAM is pinned
HOST_BASELINE = 3 * GIB  # the Python process itself: torch, transformers, the server


@dataclass(frozen=True)
class Budgets:
    device_bytes: int  # the card (or what is free on it)
    host_bytes: int  # RAM the process may use
    device_kind: str = "cuda"  # "cuda" | "cpu"
    device_source: str = "--vram"  # where device_bytes came from
    host_source: str = "--ram"

    @property
    def usable_device_bytes(self) -> int:
        """What the plan may fill at its peak."""
        return max(0, int((self.device_bytes - DEVICE_RESERVE) * (1.0 - FRAGMENTATION)))

    @property
    def pinned_cap_bytes(self) -> int:
        return int(self.host_bytes * PINNED_SHARE)

    @property
    def usable_host_bytes(self) -> int:
        return max(0, self.host_bytes - HOST_BASELINE)

    def describe(self) -> dict:
        return {
            "device_bytes": self.device_bytes,
            "usable_device_bytes": self.usable_device_bytes,
            "device_source": self.device_source,
            "host_bytes": self.host_bytes,
            "pinned_cap_bytes": self.pinned_cap_bytes,
            "host_source": self.host_source,
        }


def host_available_bytes() -> int:
    """MemAvailable from /proc/meminfo (Linux); elsewhere the physical memory torch reports."""
    try:
        with open("/proc/meminfo", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    import os

    return int(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"))


def detect_budgets(
    device: torch.device | str = "cuda", vram_gb: float | None = None, ram_gb: float | None = None
) -> Budgets:
    """Budgets from the user's numbers where given, else measured now."""
    device = torch.device(device)
    if ram_gb is not None:
        host, host_source = int(ram_gb * GIB), "--ram"
    else:
        host, host_source = host_available_bytes(), "available RAM"
    if vram_gb is not None:
        dev, dev_source = int(vram_gb * GIB), "--vram"
    elif device.type == "cuda":
        free, _total = torch.cuda.mem_get_info(device)
        dev, dev_source = int(free), "free device memory"
    else:
        # A CPU engine computes in host memory: its "device" is the RAM itself.
        dev, dev_source = host, "CPU: host RAM"
    return Budgets(
        device_bytes=dev, host_bytes=host, device_kind=device.type, device_source=dev_source, host_source=host_source
    )
