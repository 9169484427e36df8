"""Dispatcher: the front door's job transitions in broker mode, in place of the single machine's
worker thread (`backend.server.worker.Worker`, whose interface the routes use: `submit`, `cancel`,
`start`, `stop`, `engine_state`, `engine_error`, `max_package_bytes`).

The job store stays the only record of every job; Celery only carries "job X is waiting for a
worker of bundle H" (`publish`). A worker then asks this front door for the job (`claim`): only a
`queued` job can be claimed, so a message that comes twice (republished after a restart or a Redis
outage, redelivered by Redis after its visibility timeout, cancelled while queued) runs at most
once. The claim makes the job `running` on that worker (`worker`, `attempts` + 1); every later call
names the worker and the attempt, and one that is not the job's current one is refused (a worker
taken for lost that comes back must not overwrite the job's new run).

- progress: the worker's `ProgressEvent` fields into the record (the SSE streams and the ETA are
  exactly a single machine's); the answer says whether the job is to be cancelled.
- cancel: a queued job is cancelled at once (its message is refused when a worker claims it); a
  running one is flagged, and the worker's next progress call is answered "cancel", so it stops at
  its next step as on one machine.
- result / end: the files go into the job's `out/` and the job succeeds; or it fails / is cancelled
  with the worker's message.
- a lost worker (`worker_lost`): `attempts.after_worker_lost` decides between running the job once
  more elsewhere and `interrupted`.
"""

from __future__ import annotations

import logging
import shutil
import threading
import time
from pathlib import Path
from typing import Callable

from backend.server.jobs import CANCELLED, FAILED, INTERRUPTED, QUEUED, RUNNING, SUCCEEDED, JobStore

from .attempts import REQUEUE, after_worker_lost

log = logging.getLogger("ltx_scene.farm")

ENGINE_LOADING, ENGINE_READY = "loading", "ready"
RESULT_KEYS = ("video", "sidecar", "control")
CANCELLING = "cancelling"
PROGRESS_KEYS = ("stage", "step", "total", "eta_s", "message")


class Refused(Exception):
    """A worker's call that does not fit the job's state (HTTP 409 to the worker)."""


class Dispatcher:
    def __init__(
        self,
        store: JobStore,
        *,
        publish: Callable[[str], None],
        model_hash: str,
        max_package_bytes: int,
        max_attempts: int,
        workers_ready: Callable[[], bool] = lambda: False,
        engine_error: Callable[[], str | None] = lambda: None,
    ):
        """publish(job_id): hand the job to Celery (never raises; the front door retries later).
        workers_ready(): a live worker serves this bundle (`/v1/health` says "ready")."""
        self.store = store
        self.publish = publish
        self.model_hash = model_hash
        self.max_package_bytes = max_package_bytes
        self.max_attempts = max_attempts
        self._workers_ready = workers_ready
        self._engine_error = engine_error
        self.engine_ready = threading.Event()
        self.engine_ready.set()
        self._lock = threading.RLock()
        # running jobs to stop; after a restart, the ones job.json says were being cancelled
        self._cancel: set[str] = {
            r.id for r in store.list() if r.status == RUNNING and (r.message or "").startswith(CANCELLING)
        }
        self.current_job = None  # one machine's "the job this thread runs": none here

    # ------------------------------------------------------------- the single machine's interface
    @property
    def engine_state(self) -> str:
        return ENGINE_READY if self._workers_ready() else ENGINE_LOADING

    @property
    def engine_error(self) -> str | None:
        return self._engine_error()

    def wait_engine(self, timeout: float | None) -> bool:
        return True

    def start(self, queued_ids=()) -> None:
        for job_id in queued_ids:
            self.publish(job_id)

    def stop(self, timeout: float = 10.0) -> None:
        """Nothing to stop: running jobs go on on their workers and report when the front door is back."""

    def submit(self, job_id: str, package=None) -> None:
        self.publish(job_id)

    def cancel(self, job_id: str) -> bool:
        with self._lock:
            record = self.store.get(job_id)
            if record is None:
                return False
            if record.status == QUEUED:
                self.store.cancel_queued(job_id)
                return True
            if record.status == RUNNING:
                self._cancel.add(job_id)
                try:  # `error` (not a progress field) makes the store write job.json now: a restart keeps the cancel
                    self.store.update(job_id, message=CANCELLING + ": stops at the next step", error=None)
                except OSError:
                    pass
                return True
            return False

    # ------------------------------------------------------------- what workers ask
    def claim(self, job_id: str, worker: str, model_hash: str) -> dict:
        with self._lock:
            record = self.store.get(job_id)
            if record is None:
                raise Refused(f"no job {job_id} on this front door")
            if model_hash != self.model_hash:
                raise Refused(
                    f"job {job_id} needs the bundle {self.model_hash[:16]}, worker {worker} has {model_hash[:16]}"
                )
            if record.status != QUEUED:
                raise Refused(f"job {job_id} is {record.status}{' on ' + record.worker if record.worker else ''}")
            attempt = record.attempts + 1
            self.store.update(
                job_id,
                status=RUNNING,
                started=time.time(),
                progress=0.0,
                stage=None,
                step=None,
                total=None,
                eta_s=None,
                message=f"starting on {worker}",
                worker=worker,
                attempts=attempt,
            )
            log.info("job %s: on worker %s (attempt %d)", job_id, worker, attempt)
            return {"job": job_id, "attempt": attempt, "spec": record.spec, "inputs": dict(record.inputs)}

    def _current(self, job_id: str, worker: str, attempt: int):
        record = self.store.get(job_id)
        if record is None:
            raise Refused(f"no job {job_id}")
        if record.status != RUNNING or record.worker != worker or record.attempts != attempt:
            raise Refused(f"job {job_id} is {record.status} (attempt {record.attempts} on {record.worker})")
        return record

    def input_path(self, job_id: str, role: str) -> Path | None:
        record = self.store.get(job_id)
        if record is None or record.status != RUNNING:
            return None
        return self.store.input_path(job_id, role)

    def progress(self, job_id: str, worker: str, attempt: int, event: dict) -> bool:
        """Record one progress event; True when the job is to be cancelled."""
        with self._lock:
            record = self._current(job_id, worker, attempt)
            changes = {k: event.get(k) for k in PROGRESS_KEYS if k in event}
            changes["progress"] = max(record.progress, min(1.0, max(0.0, float(event.get("progress", 0.0)))))
            if job_id in self._cancel:
                changes.pop("message", None)  # keep "cancelling"
            self.store.update(job_id, **changes)
            return job_id in self._cancel

    def accept_result(self, job_id: str, worker: str, attempt: int, meta: dict, files: dict[str, tuple[str, object]]):
        """files[key] = (file name, readable binary file): stored in the job's out/ under that name."""
        with self._lock:
            self._current(job_id, worker, attempt)
            out_dir = self.store.out_dir(job_id)
            shutil.rmtree(out_dir, ignore_errors=True)
            out_dir.mkdir(parents=True)
            names = {}
            for key, (name, fileobj) in files.items():
                with open(out_dir / name, "wb") as dst:
                    shutil.copyfileobj(fileobj, dst, 1 << 20)
                names[key] = name
            self._cancel.discard(job_id)
            self.store.finish(
                job_id,
                status=SUCCEEDED,
                finished=time.time(),
                progress=1.0,
                eta_s=0.0,
                message="done",
                result={
                    **names,
                    "frames": int(meta["frames"]),
                    "fps": str(meta["fps"]),
                    "width": int(meta["width"]),
                    "height": int(meta["height"]),
                },
            )
            log.info("job %s: succeeded on %s", job_id, worker)

    def report_end(self, job_id: str, worker: str, attempt: int, status: str, text: str) -> None:
        """The worker's job ended without a result: failed (its message) or cancelled."""
        with self._lock:
            self._current(job_id, worker, attempt)
            self._cancel.discard(job_id)
            if status == CANCELLED:
                self.store.finish(job_id, status=CANCELLED, finished=time.time(), eta_s=None, message=text)
            else:
                self.store.finish(job_id, status=FAILED, finished=time.time(), eta_s=None, error=text)

    # ------------------------------------------------------------- the front door's monitor
    def running_jobs(self) -> list:
        return [r for r in self.store.list() if r.status == RUNNING]

    def worker_lost(self, job_id: str, worker: str, workers_left: int) -> str | None:
        """The job's worker stopped beating: run it again elsewhere or report it. Returns the action."""
        with self._lock:
            record = self.store.get(job_id)
            if record is None or record.status != RUNNING or record.worker != worker:
                return None
            if job_id in self._cancel:  # it was being cancelled anyway
                self._cancel.discard(job_id)
                self.store.finish(
                    job_id, status=CANCELLED, finished=time.time(), eta_s=None, message=f"cancelled ({worker} was lost)"
                )
                return CANCELLED
            decision = after_worker_lost(worker, record.attempts, self.max_attempts, workers_left)
            log.warning("job %s: worker %s lost: %s", job_id, worker, decision.message)
            if decision.action == REQUEUE:
                self.store.update(
                    job_id,
                    status=QUEUED,
                    progress=0.0,
                    stage=None,
                    step=None,
                    total=None,
                    eta_s=None,
                    message=decision.message,
                )
                self.publish(job_id)
                return REQUEUE
            self.store.finish(job_id, status=INTERRUPTED, finished=time.time(), eta_s=None, error=decision.message)
            return INTERRUPTED

    def queued_ids(self) -> list[str]:
        return [r.id for r in self.store.list() if r.status == QUEUED]
