"""`python -m tests.server.gated_serve HOLD_FILE serve ...`: the real `ltx-scene serve`, whose jobs
stop at their second stage-1 step for as long as HOLD_FILE exists.

The pause goes through the worker's documented test hook (`fault_hook`, called inside the job from
the engine's progress callback), so everything else is the real server and the real engine. A test
holds a job running for as long as it needs (to fill the queue, to SIGKILL the server mid-job)
instead of hoping that a tiny job is still running when it looks."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import backend.server.app as app_module
from backend.cli import main


def hold_at_second_stage1_step(hold: Path, poll_s: float):
    """The fault_hook: step 0 of stage 1 is reported (the API shows the job in stage1); step 1 waits
    here while `hold` exists."""

    def fault_hook(job_id, event) -> None:
        while event.stage == "stage1" and event.step == 1 and hold.exists():
            time.sleep(poll_s)

    return fault_hook


def run(argv: list[str]) -> int:
    fault_hook = hold_at_second_stage1_step(Path(argv[0]), poll_s=0.01)
    create_app = app_module.create_app

    def gated_create_app(settings, engine, **kwargs):
        return create_app(settings, engine, fault_hook=fault_hook)

    app_module.create_app = gated_create_app  # serve.run imports it from the module at call time
    return main(argv[1:])


if __name__ == "__main__":
    sys.exit(run(sys.argv[1:]))
