"""Worker: the one thread that runs jobs, in submission order, on the resident engine.

- The engine's models are loaded on this thread when the server starts (`engine.load()`), so the
  server answers at once while they load; jobs wait in the queue until they are ready.
- Each job: inputs decoded -> `engine.run(spec, control, out_dir, on_progress, cancel)`; every
  `ProgressEvent` is written to the job's record (which feeds the SSE streams).
- Cancel: a queued job becomes `cancelled` at once; a running one gets its cancel event set and
  the engine raises `JobCancelled` at its next step.
- Failures never end the thread: a `UserError` fails the job with its message; running out of
  memory (`torch.OutOfMemoryError`, `MemoryError`) frees memory (gc + CUDA cache) and fails the
  job with a message saying what to lower; any other exception fails the job with its type and
  text, logged with its traceback.

Test hook (documented, used by tests/server/test_worker.py): `fault_hook(job_id, event)` is called
inside the job from the engine's progress callback, before the event is recorded. Whatever it
raises propagates out of `engine.run` through the same handlers as a real failure, so a test can
raise the real `torch.OutOfMemoryError` mid-job and exercise the real recovery path.
"""

from __future__ import annotations

import errno
import gc
import logging
import queue
import shutil
import threading
import time
from typing import Any, Callable

from shared.errors import UserError

from .jobs import CANCELLED, FAILED, INTERRUPTED, QUEUED, RUNNING, SUCCEEDED, JobStore

log = logging.getLogger("ltx_scene.server")

_STOP = object()
CLEANUP_INTERVAL_S = 3600.0
PRELOAD_BUDGET_BYTES = 256 * 1024**2  # packages checked at submit, kept for the worker
ENGINE_LOADING, ENGINE_READY, ENGINE_FAILED = "loading", "ready", "failed"


def out_of_memory_message(spec: dict, stage: str | None, device: str) -> str:
    """What to tell the user when a job ran out of memory: what to lower, in order of effect."""
    size = (
        "the package's size"
        if spec.get("width") is None or spec.get("height") is None
        else f"{spec['width']}x{spec['height']}"
    )
    frames = "the package's frame count" if spec.get("frames") is None else f"{spec['frames']} frames"
    where = f" during {stage}" if stage else ""
    return (
        f"out of {device} memory{where} ({size}, {frames}). Lower the frame count (e.g. 121 -> 97 "
        "or 65) or the size (width/height), load the model with fp8-cast quantization "
        "(ltx-scene serve --quantization fp8-cast), or generate a preview first (stage 1 only, half size). "
        "The server freed the memory and is ready for the next job."
    )


def _free_memory() -> None:
    gc.collect()
    try:
        import torch

        if torch.cuda.is_available():
            torch.cuda.empty_cache()
    except Exception:  # never let cleanup raise
        log.exception("freeing GPU memory failed")


def _oom_types() -> tuple[type[BaseException], ...]:
    import torch

    return (torch.OutOfMemoryError, MemoryError)


class Worker:
    def __init__(
        self, store: JobStore, engine, *, max_package_bytes: int, fault_hook: Callable[[str, Any], None] | None = None
    ):
        self.store = store
        self.engine = engine
        self.max_package_bytes = max_package_bytes
        self.fault_hook = fault_hook
        self.engine_state = ENGINE_LOADING
        self.engine_error: str | None = None
        self.engine_ready = threading.Event()  # set when loaded or failed
        self._queue: queue.Queue = queue.Queue()
        self._transition = threading.Lock()  # queued -> running vs queued -> cancelled
        self._current: tuple[str, threading.Event] | None = None
        self._stopping = False
        self._thread = threading.Thread(target=self._main, name="ltx-scene-worker", daemon=True)
        self._preloaded: dict[str, Any] = {}  # job id -> ControlPackage checked at submit
        self._preload_lock = threading.Lock()

    # ------------------------------------------------------------------------------- control
    def start(self, queued_ids: list[str] = ()) -> None:
        for job_id in queued_ids:
            self._queue.put(job_id)
        self._thread.start()

    def submit(self, job_id: str, package=None) -> None:
        """Queue a job. `package`: the ControlPackage the submit already loaded and checked; the
        job then runs on it instead of decoding the stored file again (benchmarks/README.md, "Measured
        reasons"). Kept while the held packages total at most
        PRELOAD_BUDGET_BYTES; otherwise, and after a restart, the stored file is read."""
        if package is not None:
            size = sum(a.nbytes for a in package.arrays().values())
            with self._preload_lock:
                held = sum(n for _, n in self._preloaded.values())
                if held + size <= PRELOAD_BUDGET_BYTES:
                    self._preloaded[job_id] = (package, size)
        self._queue.put(job_id)

    def cancel(self, job_id: str) -> bool:
        """Ask a job to stop. True if it was queued or running (cancelled now or at its next step)."""
        with self._transition:
            record = self.store.get(job_id)
            if record is None:
                return False
            if record.status == QUEUED:
                self.store.cancel_queued(job_id)
                return True
            current = self._current
            if record.status == RUNNING and current is not None and current[0] == job_id:
                current[1].set()
                try:
                    self.store.update(job_id, message="cancelling: stops at the next step")
                except OSError:  # a full disk: the job stops all the same
                    pass
                return True
            return False

    def stop(self, timeout: float = 10.0) -> None:
        """Server shutdown: the running job stops at its next step and is reported `interrupted`;
        queued jobs stay queued and run after the next start."""
        self._stopping = True
        current = self._current
        if current is not None:
            current[1].set()
        self._queue.put(_STOP)
        if self._thread.is_alive():
            self._thread.join(timeout)

    @property
    def current_job(self) -> str | None:
        current = self._current
        return current[0] if current else None

    def wait_engine(self, timeout: float | None) -> bool:
        return self.engine_ready.wait(timeout)

    # ------------------------------------------------------------------------------- thread
    def _main(self) -> None:
        try:
            self.engine.load()
            self.engine_state = ENGINE_READY
            log.info("engine ready")
        except Exception as exc:  # the server stays up and says why
            self.engine_state = ENGINE_FAILED
            self.engine_error = f"the model could not be loaded: {type(exc).__name__}: {exc}"
            log.exception("engine failed to load")
        finally:
            self.engine_ready.set()
        while True:
            try:
                job_id = self._queue.get(timeout=CLEANUP_INTERVAL_S)
            except queue.Empty:  # idle: apply the retention limits now and then
                self._cleanup()
                continue
            if job_id is _STOP or self._stopping:
                return
            try:
                self._run(job_id)
            except Exception:  # belt and braces: the thread never dies
                log.exception("job %s: unexpected failure in the worker", job_id)
            self._cleanup()

    def _cleanup(self) -> None:
        try:
            self.store.save_unsaved()
            self.store.cleanup()
        except Exception:
            log.exception("retention cleanup failed")

    def _take_preloaded(self, job_id: str):
        with self._preload_lock:
            entry = self._preloaded.pop(job_id, None)
        return None if entry is None else entry[0]

    def _run(self, job_id: str) -> None:
        cancel = threading.Event()
        package = self._take_preloaded(job_id)  # dropped here if the job never runs
        with self._transition:
            record = self.store.get(job_id)
            if record is None or record.status != QUEUED:
                return  # cancelled (or deleted) while queued
            if self.engine_state != ENGINE_READY:
                self.store.finish(
                    job_id,
                    status=FAILED,
                    finished=time.time(),
                    error=self.engine_error or "the engine is not available",
                )
                return
            try:
                record = self.store.update(
                    job_id, status=RUNNING, started=time.time(), progress=0.0, stage=None, message="starting"
                )
            except OSError as exc:  # job.json cannot be written: the job cannot run
                self.store.finish(job_id, status=FAILED, finished=time.time(), eta_s=None, error=_disk_message(exc))
                return
            self._current = (job_id, cancel)
        try:
            self._execute(record, cancel, package)
        finally:
            self._current = None

    def _execute(self, record, cancel: threading.Event, package=None) -> None:
        from backend.engine import JobCancelled
        from shared.job_spec import GenerationSpec

        from .uploads import load_control_input

        job_id = record.id
        last = {"progress": 0.0, "stage": None}

        def on_progress(event) -> None:
            if self.fault_hook is not None:
                self.fault_hook(job_id, event)
            last["stage"] = event.stage
            last["progress"] = max(last["progress"], float(event.progress))
            self.store.update(
                job_id,
                progress=last["progress"],
                stage=event.stage,
                step=event.step,
                total=event.total,
                eta_s=event.eta_s,
                message=event.message or None,
            )

        failure: tuple[str, str] | None = None  # (kind, text), handled after the except
        result = None
        out_dir = self.store.out_dir(job_id)
        try:
            spec = GenerationSpec.from_json(record.spec)
            control = load_control_input(
                self.engine,
                spec,
                self.store.input_path(job_id, "control"),
                self.store.input_path(job_id, "image"),
                self.store.input_path(job_id, "mask"),
                self.max_package_bytes,
                package=package,
                keyframes=[self.store.input_path(job_id, f"keyframe_{i}") for i in range(len(spec.keyframes))],
            )
            out_dir.mkdir(parents=True, exist_ok=True)
            result = self.engine.run(spec, control, out_dir, on_progress=on_progress, cancel=cancel)
        except JobCancelled:
            failure = ("cancelled", "cancelled")
        except OSError as exc:
            if _disk_full(exc):
                failure = ("disk", _disk_message(exc))
            else:
                log.exception("job %s failed", job_id)
                failure = (
                    "internal",
                    f"internal error: {type(exc).__name__}: {exc} (the server log has "
                    "the traceback; the server is ready for the next job)",
                )
        except _oom_types():
            failure = ("oom", out_of_memory_message(record.spec, last["stage"], self._device_name()))
        except UserError as exc:
            failure = ("user", str(exc))
        except Exception as exc:
            log.exception("job %s failed", job_id)
            failure = (
                "internal",
                f"internal error: {type(exc).__name__}: {exc} (the server log has "
                "the traceback; the server is ready for the next job)",
            )
        if failure is not None:
            # Outside the except block: the traceback (and the tensors its frames hold) is gone,
            # so the memory can really be freed.
            kind, text = failure
            if kind == "disk":  # give the space back: partial results, temporaries
                log.error("job %s: %s", job_id, text)
                shutil.rmtree(out_dir, ignore_errors=True)
            if kind not in ("user", "disk"):
                _free_memory()
            if kind == "cancelled" and self._stopping:
                self.store.finish(
                    job_id,
                    status=INTERRUPTED,
                    finished=time.time(),
                    eta_s=None,
                    error="the server was stopped while this job was running; submit it again",
                )
            elif kind == "cancelled":
                self.store.finish(job_id, status=CANCELLED, finished=time.time(), eta_s=None, message=text)
            else:
                if kind == "oom":
                    log.error("job %s: %s", job_id, text)
                self.store.finish(job_id, status=FAILED, finished=time.time(), eta_s=None, error=text)
            return
        out_root = out_dir.resolve()
        files = {}
        for key, path in (
            ("video", result.video_path),
            ("sidecar", result.sidecar_path),
            ("control", result.control_video_path),
        ):
            if path is not None:
                files[key] = str(_relative_inside(path, out_root))
        self.store.finish(
            job_id,
            status=SUCCEEDED,
            finished=time.time(),
            progress=1.0,
            eta_s=0.0,
            message="done",
            result={
                **files,
                "frames": int(result.frames),
                "fps": str(result.fps),
                "width": int(result.width),
                "height": int(result.height),
            },
        )

    def _device_name(self) -> str:
        device = getattr(self.engine, "device", None)
        return "GPU" if device is not None and getattr(device, "type", str(device)) == "cuda" else "CPU"


def _disk_full(exc: BaseException) -> bool:
    """True when `exc`, or an exception it was raised from, is "no space left" (or over quota)."""
    seen = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        if isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT):
            return True
        exc = exc.__cause__ or exc.__context__
    return False


def _disk_message(exc: OSError) -> str:
    what = "the disk is full" if _disk_full(exc) else f"the job's files could not be written ({exc.strerror or exc})"
    return (
        f"the server could not store this job's files: {what}. Free space in the server's data folder "
        "(or start it with --data-dir on a larger disk) and submit the job again; the server is ready "
        "for the next job"
    )


def _relative_inside(path, root):
    from pathlib import Path

    resolved = Path(path).resolve()
    if root not in resolved.parents:
        raise RuntimeError(f"the engine wrote {resolved} outside the job folder {root}")
    return resolved.relative_to(root)
