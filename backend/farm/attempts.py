"""What happens to a job whose worker was lost mid-job: run it again elsewhere, once, or report it.

Pure logic (no Redis, no clock), used by the front door's dispatcher and tested on its own. A job
runs at most `max_attempts` times (2: once, and once more after a lost worker): a job that kills
every worker it lands on (a driver crash, the OOM killer) must not take the whole farm down one
box after another.
"""

from __future__ import annotations

from dataclasses import dataclass

REQUEUE, INTERRUPT = "requeue", "interrupt"


@dataclass(frozen=True)
class LostJobDecision:
    action: str  # REQUEUE or INTERRUPT
    message: str


def after_worker_lost(worker: str, attempts: int, max_attempts: int, workers_left: int) -> LostJobDecision:
    """attempts: how often a worker took the job so far (this one included); workers_left: live
    workers that serve the job's bundle, the lost one not counted."""
    if attempts >= max_attempts:
        return LostJobDecision(
            INTERRUPT,
            f"the worker running this job ({worker}) was lost, and it had already run {attempts} time(s) "
            f"(at most {max_attempts}); submit it again, and check the workers' logs if it happens again",
        )
    if workers_left <= 0:
        return LostJobDecision(
            INTERRUPT,
            f"the worker running this job ({worker}) was lost and no other worker for this model is "
            "running; start one (`ltx-scene worker`) and submit the job again",
        )
    return LostJobDecision(
        REQUEUE,
        f"worker {worker} was lost mid-job; queued again for another worker (attempt {attempts + 1} of {max_attempts})",
    )
