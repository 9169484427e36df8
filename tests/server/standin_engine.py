"""A stand-in for `backend.engine.Engine` in the in-process API tests: the interface the server
uses (`backend/server/state.py`), no model. It plans with the real spec rules (8k+1 frames, sizes
in multiples of 128, known control kinds), writes small real files into the job's folder, reports
progress through the worker's callback and honours cancel. A test can hold a job in `run` until it
says so (`hold()` / `release()`), so queue states are set by the test, never by timing."""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace

from backend.engine import JobCancelled
from shared.control_kinds import CONTROL_KINDS
from shared.errors import UserError
from shared.job_spec import GenerationSpec
from shared.video_rules import check_frames, check_size, parse_fps

KINDS = CONTROL_KINDS
MULTIPLE = 128


@dataclass
class Plan:
    frames: int
    width: int
    height: int
    fps: object
    kind: str


class StandInEngine:
    def __init__(self, fail_load: str | None = None):
        self.device = "cpu"
        self.bundle = SimpleNamespace(tiny=True)
        self.fail_load = fail_load
        self.loaded = False
        self.runs: list[dict] = []  # the specs of the jobs run, in order
        self.started = threading.Semaphore(0)  # released once per job that starts running
        self._gate = threading.Event()
        self._gate.set()
        self.output_bytes = 64  # size of the stand-in video file

    # --------------------------------------------------------------------------- the interface
    def load(self) -> None:
        if self.fail_load:
            raise RuntimeError(self.fail_load)
        self.loaded = True

    def describe(self) -> dict:
        return {
            "control_kinds": list(KINDS),
            "tiny_model": True,
            "loaded": self.loaded,
            "ic_loras": {k: {"reference_downscale_factor": 2, "size_multiple": MULTIPLE} for k in KINDS},
        }

    def memory_summary(self) -> dict:
        return {"tier": "resident", "summary": "stand-in: nothing to plan"}

    def plan(self, spec: GenerationSpec, control) -> Plan:
        spec.validate()
        pkg, video = control.package, control.video
        kind = spec.control_kind or (pkg.kind if pkg is not None else None)
        if kind not in KINDS:
            raise UserError(f"control_kind: give one of {', '.join(KINDS)}", "control_kind")
        width = spec.width or (pkg.width if pkg is not None else int(video.shape[2]))
        height = spec.height or (pkg.height if pkg is not None else int(video.shape[1]))
        frames = spec.frames or (pkg.frame_count if pkg is not None else int(video.shape[0]))
        fps = parse_fps(spec.fps if spec.fps is not None else pkg.fps)
        check_frames(frames)
        check_size(width, height, MULTIPLE)
        return Plan(frames, width, height, fps, kind)

    def run(self, spec, control, out_dir, on_progress=None, cancel=None):
        plan = self.plan(spec, control)
        self.runs.append(spec.to_json())
        self.started.release()
        total = 4
        for step in range(total):
            if on_progress is not None:
                on_progress(
                    SimpleNamespace(
                        stage="stage1",
                        step=step,
                        total=total,
                        progress=(step + 1) / (total + 1),
                        eta_s=None,
                        message=f"step {step}",
                    )
                )
            if step == 0:
                self._gate.wait()  # a held job stays here until release()
            if cancel is not None and cancel.is_set():
                raise JobCancelled()
        out_dir = Path(out_dir)
        video, sidecar, control_video = out_dir / "video.mp4", out_dir / "video.json", out_dir / "control.mkv"
        video.write_bytes(b"stand-in mp4 for seed %d" % spec.seed + b"\0" * self.output_bytes)
        sidecar.write_text(json.dumps({"spec": spec.to_json(), "tiny_model": True}))
        control_video.write_bytes(b"stand-in control video")
        return SimpleNamespace(
            video_path=video,
            sidecar_path=sidecar,
            control_video_path=control_video,
            frames=plan.frames,
            fps=plan.fps,
            width=plan.width,
            height=plan.height,
        )

    # --------------------------------------------------------------------------- test controls
    def hold(self) -> None:
        """Jobs that start from now on wait after their first progress event until `release()`."""
        self._gate.clear()

    def release(self) -> None:
        self._gate.set()
