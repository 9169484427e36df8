"""Progress reporting and cancellation for one engine job.

`ProgressEvent` is what `Engine.run(on_progress=...)` receives (docs/contracts.md). The overall
`progress` fraction is built from fixed stage weights (the denoising stages dominate) and never
decreases within a job. `eta_s` is the remaining time extrapolated from the time spent so far.
Cancellation is cooperative: `JobTracker.check_cancel()` runs between denoising steps and between
stages and raises `JobCancelled`; nothing is left half-changed on the engine when it does.
"""

from __future__ import annotations

import threading
import time
from dataclasses import asdict, dataclass
from typing import Callable

STAGES = ("load", "prompt", "control", "stage1", "stage2", "decode", "write")


class JobCancelled(Exception):
    """Raised by `Engine.run` when the job's cancel event was set; the engine stays usable."""


@dataclass(frozen=True)
class ProgressEvent:
    stage: str  # one of STAGES
    step: int  # steps done within the stage (0..total)
    total: int  # steps in the stage (1 for stages without steps)
    progress: float  # overall fraction of the job, 0..1, never decreasing
    elapsed_s: float  # seconds since the job started
    eta_s: float | None  # estimated seconds left for the whole job (None until measurable)
    message: str

    def to_dict(self) -> dict:
        return asdict(self)


def stage_weights(preview: bool, needs_load: bool) -> dict[str, float]:
    """Share of the job's time each stage is expected to take (normalized to 1).

    Stage 2 runs 3 steps on 4x the tokens of stage 1's 8 steps, so it weighs about as much as stage 1.
    """
    weights = {
        "load": 0.25 if needs_load else 0.0,
        "prompt": 0.03,
        "control": 0.04,
        "stage1": 0.40,
        "stage2": 0.0 if preview else 0.38,
        "decode": 0.10,
        "write": 0.05,
    }
    total = sum(weights.values())
    return {k: v / total for k, v in weights.items()}


class JobTracker:
    """Turns stage/step updates into `ProgressEvent`s and honours cancellation."""

    def __init__(
        self,
        on_progress: Callable[[ProgressEvent], None] | None,
        cancel: threading.Event | None,
        weights: dict[str, float],
    ):
        self._on_progress = on_progress
        self._cancel = cancel
        self._weights = weights
        self._start = time.perf_counter()
        self._done_before: dict[str, float] = {}
        acc = 0.0
        for name in STAGES:
            self._done_before[name] = acc
            acc += weights.get(name, 0.0)
        self._last_progress = 0.0
        self.stage_seconds: dict[str, float] = {}
        self._stage_started: tuple[str, float] | None = None

    @property
    def elapsed(self) -> float:
        return time.perf_counter() - self._start

    def check_cancel(self) -> None:
        if self._cancel is not None and self._cancel.is_set():
            raise JobCancelled("the job was cancelled")

    def begin(self, stage: str, total: int = 1, message: str = "") -> None:
        """Start a stage: cancellation point, then a (stage, 0, total) event."""
        self.check_cancel()
        now = time.perf_counter()
        if self._stage_started is not None:
            name, t0 = self._stage_started
            self.stage_seconds[name] = self.stage_seconds.get(name, 0.0) + now - t0
        self._stage_started = (stage, now)
        self.report(stage, 0, total, message)

    def finish(self) -> None:
        if self._stage_started is not None:
            name, t0 = self._stage_started
            self.stage_seconds[name] = self.stage_seconds.get(name, 0.0) + time.perf_counter() - t0
            self._stage_started = None

    def report(self, stage: str, step: int, total: int, message: str = "") -> None:
        fraction = self._done_before[stage] + self._weights.get(stage, 0.0) * (step / max(total, 1))
        progress = min(1.0, max(self._last_progress, fraction))
        self._last_progress = progress
        elapsed = self.elapsed
        eta = elapsed * (1.0 - progress) / progress if progress > 0.02 else None
        if self._on_progress is not None:
            self._on_progress(
                ProgressEvent(
                    stage=stage,
                    step=step,
                    total=total,
                    progress=progress,
                    elapsed_s=elapsed,
                    eta_s=eta,
                    message=message,
                )
            )
