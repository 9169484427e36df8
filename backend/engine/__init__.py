"""The generation engine: resident models, one job at a time, progress and cancellation.

Public API (docs/contracts.md): `Engine`, `MemoryOptions`, `ControlInput`, `ProgressEvent`,
`JobCancelled`, `GenerationResult`, `KeyframeImage`. Importing this package imports torch and ltx-core.
"""

from .control import ControlInput, KeyframeImage
from .engine import Engine, GeneratedMedia, GenerationResult, MemoryOptions
from .progress import STAGES, JobCancelled, ProgressEvent

__all__ = [
    "STAGES",
    "ControlInput",
    "Engine",
    "GeneratedMedia",
    "GenerationResult",
    "JobCancelled",
    "KeyframeImage",
    "MemoryOptions",
    "ProgressEvent",
]
