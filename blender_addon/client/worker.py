"""One generation job against the backend, on a worker thread or inline.

No bpy here (the worker thread must never touch Blender data). The Blender side snapshots
everything into a `JobRequest` of plain values first; the job reports through `emit(kind, payload)`:

    ("submitted", {"id": ...})
    ("progress",  status JSON of the job: progress, stage, step, total, eta_s, ...)
    ("done",      {"id", "video": path, "sidecar": path | None, "status": status JSON})
    ("cancelled", {"id", "message"})
    ("error",     {"message", "field"})

`run_job` is the whole job; `GenerationWorker` runs it on a thread and queues the messages for the
main thread's timer to drain. In background mode (`blender -b`, the bpy module, where timers never
fire) the operator calls `run_job` inline instead, with the same messages. `Worker` is the one way
the add-on hands work to a thread (Check Backend uses it too): a daemon thread and a queue.
"""

from __future__ import annotations

import queue
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from ..shared.errors import UserError
from .http import FINAL_STATUSES, BackendClient, BackendError, BackendSettings

POLL_INTERVAL_S = 0.5

Emit = Callable[[str, dict], None]


@dataclass
class JobRequest:
    """Everything one job needs, as plain values (built on the main thread)."""

    backend: BackendSettings
    spec: dict  # GenerationSpec.to_json()
    control: bytes  # the ControlPackage as .npz bytes
    out_dir: str  # where the result lands
    image: bytes | None = None  # first-frame image file (PNG/JPEG)
    image_name: str = "first_frame.png"
    keyframes: list[tuple[str, bytes]] = field(default_factory=list)  # (file name, PNG/JPEG) per spec keyframe
    result_name: str = "result.mp4"
    extra: dict = field(default_factory=dict)  # passed back untouched with "done"


def run_job(request: JobRequest, emit: Emit, cancel: threading.Event | None = None) -> str:
    """Submit, follow progress, download. Returns the final status; never raises."""
    cancel = cancel or threading.Event()
    job_id = None
    client = None
    try:
        client = request.backend.connect()
        client.health()
        if cancel.is_set():
            emit("cancelled", {"id": None, "message": "cancelled before upload"})
            return "cancelled"
        answer = client.submit(
            request.spec,
            request.control,
            image=request.image,
            image_name=request.image_name,
            keyframes=request.keyframes,
        )
        job_id = answer["id"]
        emit("submitted", {"id": job_id})
        final = _follow(client, job_id, emit, cancel)
        state = final.get("status")
        if cancel.is_set() or state == "cancelled":
            if state not in FINAL_STATUSES:
                _try_cancel(client, job_id)
            emit("cancelled", {"id": job_id, "message": "generation cancelled"})
            return "cancelled"
        if state != "succeeded":
            reason = final.get("error") or f"the job ended as {state!r}"
            emit("error", {"message": f"generation failed on the backend: {reason}", "field": None, "id": job_id})
            return "failed"
        out_dir = Path(request.out_dir)
        video = client.download(job_id, "result", out_dir / request.result_name)
        sidecar = None
        try:
            sidecar = str(client.download(job_id, "sidecar", out_dir / "sidecar.json"))
        except BackendError:
            pass  # the sidecar is informative; the video is what matters
        emit("done", {"id": job_id, "video": str(video), "sidecar": sidecar, "status": final, "extra": request.extra})
        return "succeeded"
    except UserError as exc:
        if cancel.is_set():
            emit("cancelled", {"id": job_id, "message": "generation cancelled"})
            return "cancelled"
        emit("error", {"message": str(exc), "field": exc.field, "id": job_id})
        return "failed"
    except Exception as exc:  # a bug or an unexpected answer: still tell the user, never hang
        emit("error", {"message": f"unexpected error talking to the backend: {exc!r}", "field": None, "id": job_id})
        return "failed"
    finally:
        if client is not None:
            client.close()


def _follow(client: BackendClient, job_id: str, emit: Emit, cancel: threading.Event) -> dict:
    """Progress until the job's final status: the event stream, or polling if the stream fails.

    When the user cancels, a cancel request goes to the server (which stops the job at its next
    step) and the latest status is returned at once."""

    def settle(status: dict) -> dict | None:
        """The status to return, or None to keep following."""
        if status.get("status") in FINAL_STATUSES:
            return status
        if cancel.is_set():
            _try_cancel(client, job_id)
            return client.status(job_id)
        return None

    last: dict = {}
    try:
        for event in client.events(job_id):
            if event.data:
                last = event.data
                emit("progress", last)
            done = settle(last)
            if done is not None:
                return done
    except BackendError:
        if cancel.is_set():
            return {"status": "cancelled"}
    while True:  # the stream ended early or broke: poll
        last = client.status(job_id)
        emit("progress", last)
        done = settle(last)
        if done is not None:
            return done
        time.sleep(POLL_INTERVAL_S)


def _try_cancel(client: BackendClient, job_id: str) -> None:
    try:
        client.cancel(job_id)
    except BackendError:
        pass


class Worker:
    """`work(emit, cancel)` on a daemon thread; what it emits waits in `messages` until the main
    thread's timer drains it (`drain()`). The thread never touches bpy; the timer is the only writer
    of Blender data. `run_here(emit)` runs the same work on the calling thread (background mode, where
    timers never fire), handing each message straight to `emit`."""

    def __init__(self, work: Callable[[Emit, threading.Event], object], name: str):
        self.work = work
        self.messages: queue.Queue = queue.Queue()
        self.cancel_event = threading.Event()
        self.thread = threading.Thread(target=self._run, name=name, daemon=True)

    def start(self) -> "Worker":
        self.thread.start()
        return self

    def _emit(self, kind: str, payload: dict) -> None:
        self.messages.put((kind, payload))

    def _run(self) -> None:
        self.work(self._emit, self.cancel_event)

    def run_here(self, emit: Emit) -> None:
        self.work(emit, self.cancel_event)

    def drain(self) -> list[tuple[str, dict]]:
        out = []
        while True:
            try:
                out.append(self.messages.get_nowait())
            except queue.Empty:
                return out

    def is_alive(self) -> bool:
        return self.thread.is_alive()

    def ended(self) -> bool:
        """Started, finished, and every message drained."""
        return self.thread.ident is not None and not self.thread.is_alive() and self.messages.empty()

    def cancel(self) -> None:
        self.cancel_event.set()

    def join(self, timeout: float | None = None) -> None:
        self.thread.join(timeout)


class GenerationWorker(Worker):
    """`run_job` on a worker thread; `cancel()` flags it and asks the server to stop the job."""

    def __init__(self, request: JobRequest):
        self.request = request
        self.job_id: str | None = None
        super().__init__(lambda emit, cancel: run_job(request, emit, cancel), "ltx-scene-generate")

    def _emit(self, kind: str, payload: dict) -> None:
        if kind == "submitted":
            self.job_id = payload["id"]
        super()._emit(kind, payload)

    def cancel(self) -> None:
        """Stop the job: flag the worker and ask the server now (from a short helper thread, so
        neither the caller nor a worker blocked on the event stream waits)."""
        super().cancel()
        job_id = self.job_id
        if job_id is None:
            return
        backend = self.request.backend

        def ask() -> None:
            try:
                client = backend.connect()
                try:
                    client.cancel(job_id)
                finally:
                    client.close()
            except UserError:
                pass

        threading.Thread(target=ask, name="ltx-scene-cancel", daemon=True).start()
