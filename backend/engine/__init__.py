"""The generation engine: resident models, one job at a time, progress and cancellation.

Public API (docs/contracts.md): `Engine`, `MemoryOptions`, `ControlInput`, `ProgressEvent`,
`JobCancelled`, `GenerationResult`. Importing this package imports torch and ltx-core.
"""

from .control import ControlInput
from .engine import Engine, GeneratedMedia, GenerationResult, MemoryOptions
from .progress import STAGES, JobCancelled, ProgressEvent

__all__ = [
    "STAGES",
    "ControlInput",
    "Engine",
    "GeneratedMedia",
    "GenerationResult",
    "JobCancelled",
    "MemoryOptions",
    "ProgressEvent",
]
