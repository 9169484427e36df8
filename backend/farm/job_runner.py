"""JobRunner: one farm job on a worker's resident engine, the body of the Celery task.

claim (the front door says whether the job is still to run, and which attempt this is) -> inputs
downloaded into a scratch folder -> `engine.run(spec, control, out_dir, on_progress, cancel)` ->
the result files uploaded, or the failure / cancel reported. The same error handling as one
machine's worker thread (`backend.server.worker`): a `UserError` fails the job with its message,
running out of memory frees it and says what to lower, anything else fails the job with its type
and text; the worker always stays up for the next job.

Progress: every event goes to the front door from the engine's thread, at most one every
`PROGRESS_INTERVAL_S` (a stage change at once; the front door's event streams send at most ten a
second anyway). The answer carries the cancel flag, so a cancel reaches the engine before its next
step. A 409 answer (the front door gave the job to someone else, e.g. after taking this worker for
lost) stops the job the same way, without reporting anything.

Test hook (documented, used by tests/farm/gated_worker.py): `fault_hook(job_id, event)` is called
from the progress callback before the event is sent, as in the single machine's worker.
"""

from __future__ import annotations

import gc
import logging
import shutil
import tempfile
import threading
import time
from pathlib import Path
from typing import Any, Callable

from shared.errors import UserError

from .front_door_client import FrontDoorClient, FrontDoorGone
from .registry import BUSY, IDLE

log = logging.getLogger("ltx_scene.farm")

PROGRESS_INTERVAL_S = 0.1


class JobRunner:
    def __init__(
        self,
        engine,
        *,
        worker: str,
        model_hash: str,
        token: str,
        retry_s: float,
        max_package_bytes: int,
        heartbeat=None,
        scratch_dir: Path | None = None,
        fault_hook: Callable[[str, Any], None] | None = None,
    ):
        self.engine = engine
        self.worker = worker
        self.model_hash = model_hash
        self.token = token
        self.retry_s = retry_s
        self.max_package_bytes = max_package_bytes
        self.heartbeat = heartbeat
        self.scratch_dir = scratch_dir
        self.fault_hook = fault_hook
        self._clients: dict[str, FrontDoorClient] = {}

    def client(self, url: str) -> FrontDoorClient:
        if url not in self._clients:
            self._clients[url] = FrontDoorClient(url, self.token, self.retry_s, self.worker)
        return self._clients[url]

    def run(self, job_id: str, model_hash: str, callback_url: str) -> str:
        """One task. Returns what happened ("skipped", "succeeded", "failed", "cancelled", "refused").
        Raises FrontDoorGone when the front door stayed away (the task is then given back to the queue)."""
        if model_hash != self.model_hash:  # its queue is named after the hash: only a 64-bit collision gets here
            log.error("job %s needs bundle %s; this worker has %s: left alone", job_id, model_hash, self.model_hash)
            return "skipped"
        client = self.client(callback_url)
        claim = client.claim(job_id, self.model_hash)
        if claim is None:
            return "skipped"
        attempt = int(claim["attempt"])
        if self.heartbeat is not None:
            self.heartbeat.set(state=BUSY, job=job_id)
        scratch = Path(tempfile.mkdtemp(prefix=f"ltx-scene-job-{job_id}-", dir=self.scratch_dir))
        try:
            return self._run(client, job_id, attempt, claim, scratch)
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
            if self.heartbeat is not None:
                self.heartbeat.set(state=IDLE, job=None)

    def _run(self, client: FrontDoorClient, job_id: str, attempt: int, claim: dict, scratch: Path) -> str:
        from backend.engine import JobCancelled
        from backend.server.uploads import load_control_input
        from backend.server.worker import _oom_types, out_of_memory_message
        from shared.job_spec import GenerationSpec

        cancel = threading.Event()
        state = {"stage": None, "sent_at": float("-inf"), "sent_stage": None, "refused": False, "progress": 0.0}

        def on_progress(event) -> None:
            if self.fault_hook is not None:
                self.fault_hook(job_id, event)
            state["stage"] = event.stage
            now = time.monotonic()
            if event.stage == state["sent_stage"] and now - state["sent_at"] < PROGRESS_INTERVAL_S:
                return
            state["sent_at"], state["sent_stage"] = now, event.stage
            answer = client.progress(job_id, attempt, event.to_dict())
            if answer == "refused":
                state["refused"] = True
                cancel.set()
            elif answer == "cancel":
                cancel.set()

        failure: tuple[str, str] | None = None
        result = None
        try:
            spec = GenerationSpec.from_json(claim["spec"])
            paths = {}
            for role, name in claim["inputs"].items():
                paths[role] = scratch / "inputs" / Path(name).name
                paths[role].parent.mkdir(exist_ok=True)
                client.download_input(job_id, role, paths[role])
            keyframes = [paths[f"keyframe_{i}"] for i in range(len(getattr(spec, "keyframes", None) or ()))]
            control = load_control_input(
                self.engine,
                spec,
                paths["control"],
                paths.get("image"),
                paths.get("mask"),
                self.max_package_bytes,
                **({"keyframes": keyframes} if keyframes else {}),
            )
            out_dir = scratch / "out"
            out_dir.mkdir()
            result = self.engine.run(spec, control, out_dir, on_progress=on_progress, cancel=cancel)
        except FrontDoorGone:
            raise
        except JobCancelled:
            failure = ("cancelled", "cancelled")
        except _oom_types():
            failure = ("failed", out_of_memory_message(claim["spec"], state["stage"], self._device_name()))
        except UserError as exc:
            failure = ("failed", str(exc))
        except Exception as exc:
            log.exception("job %s failed", job_id)
            failure = (
                "failed",
                f"internal error on worker {self.worker}: {type(exc).__name__}: {exc} (the worker's log has "
                "the traceback; it is ready for the next job)",
            )
        if failure is not None:
            gc.collect()
            if state["refused"]:
                log.warning("job %s: the front door gave it to another worker; stopped", job_id)
                return "refused"
            client.end(job_id, attempt, *failure)
            log.info("job %s: %s", job_id, failure[0])
            return failure[0]
        files = {"video": result.video_path, "sidecar": result.sidecar_path, "control": result.control_video_path}
        meta = {
            "frames": int(result.frames),
            "fps": str(result.fps),
            "width": int(result.width),
            "height": int(result.height),
        }
        ok = client.result(job_id, attempt, meta, {k: Path(p) for k, p in files.items() if p is not None})
        log.info("job %s: %s", job_id, "succeeded" if ok else "result refused")
        return "succeeded" if ok else "refused"

    def _device_name(self) -> str:
        device = getattr(self.engine, "device", None)
        return "GPU" if device is not None and getattr(device, "type", str(device)) == "cuda" else "CPU"
