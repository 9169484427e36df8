"""`python -m tests.farm.gated_worker HOLD_FILE worker ...`: the real `ltx-scene worker`, whose jobs
stop at their second stage-1 step for as long as HOLD_FILE exists.

The pause goes through the job runner's documented test hook (`fault_hook`, called inside the job
from the engine's progress callback before the event is sent), so everything else is the real
worker, the real Celery and the real engine. A test holds a job running for as long as it needs
(to SIGKILL its worker mid-job, to cancel it while it runs, to restart the front door under it)
instead of hoping that a tiny job is still running when it looks."""

from __future__ import annotations

import sys
from pathlib import Path

import backend.farm.worker_process as worker_process
from backend.cli import main
from tests.server.gated_serve import hold_at_second_stage1_step


def run(argv: list[str]) -> int:
    # step 0 of stage 1 is sent (the front door shows the job in stage1 on this worker); step 1 waits
    fault_hook = hold_at_second_stage1_step(Path(argv[0]), poll_s=0.02)
    run_worker = worker_process.run_worker

    def gated_run_worker(*args, **kwargs):
        return run_worker(*args, **kwargs, fault_hook=fault_hook)

    worker_process.run_worker = gated_run_worker  # commands/worker.py imports it from the module at call time
    return main(argv[1:])


if __name__ == "__main__":
    sys.exit(run(sys.argv[1:]))
