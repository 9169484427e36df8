"""JobStore: every job in its own folder under `<data-dir>/jobs/`, the single source of truth.

```
<data-dir>/jobs/<id>/job.json      the status record (spec, status, progress, timestamps, result)
                    /inputs/       control.npz | control.<video ext>, image.<ext>, mask.<ext>,
                                   keyframe_<i>.<ext> (the spec's keyframes[i])
                    /out/          what the engine wrote: result mp4, sidecar JSON, control video
```
- A job folder appears atomically: it is filled under `.new-<id>` and renamed when complete, so a
  crash during an upload leaves no half job (leftovers are removed at the next start).
- `job.json` is rewritten atomically (temp file + `os.replace`), so a SIGKILL at any moment leaves
  the previous or the next state, never a torn file. A change of status or of any other field
  (result, error, timestamps) is written at once. Progress (stage, step, progress, eta, message)
  is written when the job's last write is at least `PROGRESS_PERSIST_INTERVAL_S` old, otherwise
  held in memory until the next update: a job that was running is `interrupted` after a restart
  anyway, and listeners (SSE) and `get` see every change from memory. On a real job stages and
  steps are seconds apart, so each new stage is still on disk at once (a restart shows where an
  interrupted job was); bursts are coalesced. Why: every write takes file-system time from a CPU
  the engine keeps busy (the cost is in benchmarks/README.md, "Measured reasons"); a tiny job is
  now written 3 times (created, running, final).
- After a restart (`JobStore.open`): finished jobs are served as they were, `queued` jobs are
  returned in submission order for the worker, and a job found `running` becomes `interrupted` with
  an error saying so. Nothing is silently lost.
- Retention: finished jobs older than `keep_days` and beyond the newest `keep_jobs` are deleted.
- Listeners (the SSE broker) are told of every change: `listener(kind, status_dict, rev)` with
  kind "status" when the status changed and "progress" otherwise; `rev` counts the job's changes.
"""

from __future__ import annotations

import json
import logging
import os
import re
import secrets
import shutil
import threading
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Callable

from shared.atomic_write import atomic_write

log = logging.getLogger("ltx_scene.server")

QUEUED, RUNNING, SUCCEEDED, FAILED, CANCELLED, INTERRUPTED = (
    "queued",
    "running",
    "succeeded",
    "failed",
    "cancelled",
    "interrupted",
)
STATUSES = (QUEUED, RUNNING, SUCCEEDED, FAILED, CANCELLED, INTERRUPTED)
FINAL = frozenset({SUCCEEDED, FAILED, CANCELLED, INTERRUPTED})
ACTIVE = frozenset({QUEUED, RUNNING})
PROGRESS_FIELDS = frozenset({"progress", "stage", "step", "total", "eta_s", "message"})
PROGRESS_PERSIST_INTERVAL_S = 1.0

JOB_FILE = "job.json"
INPUTS = "inputs"
OUT = "out"
_ID_RE = re.compile(r"^[0-9]{8}-[0-9]{6}-[0-9a-f]{8}$")
_NEW_PREFIX = ".new-"
UPLOAD_PREFIX = ".upload-"  # the server's per-request upload folders (routes/jobs.py)
LEFTOVER_PREFIXES = (_NEW_PREFIX, UPLOAD_PREFIX)
INTERRUPTED_ERROR = (
    "the server stopped while this job was running (restart, crash or kill); nothing was lost "
    "but this job's result: submit it again"
)

Listener = Callable[[str, dict, int], None]


@dataclass
class JobRecord:
    id: str
    spec: dict
    inputs: dict[str, str]  # role ("control", "image", "mask") -> file name in inputs/
    created: float
    status: str = QUEUED
    progress: float = 0.0
    stage: str | None = None
    step: int | None = None
    total: int | None = None
    eta_s: float | None = None
    message: str | None = None
    error: str | None = None
    started: float | None = None
    finished: float | None = None
    result: dict | None = None  # {"video", "sidecar", "control": names in out/; frames, fps, width, height}
    worker: str | None = None  # a studio farm: the worker that runs / ran it (None on one machine)
    attempts: int = 0  # a studio farm: how many times a worker took it (a lost worker's job runs again once)

    def copy(self) -> "JobRecord":
        """A snapshot for readers. Shallow: the nested dicts (`spec`, `inputs`, `result`) are never
        changed in place, `JobStore.update` assigns new ones, so sharing them is safe. (A deep
        `dataclasses.asdict` copy cost ~35 us, and a job makes ~25 updates on the worker thread.)"""
        return replace(self)

    def public(self) -> dict[str, Any]:
        """The status JSON clients see (no server-side paths)."""
        result = None
        if self.result is not None:
            result = {k: self.result[k] for k in ("frames", "fps", "width", "height") if k in self.result}
        return {
            "id": self.id,
            "status": self.status,
            "progress": self.progress,
            "stage": self.stage,
            "step": self.step,
            "total": self.total,
            "eta_s": self.eta_s,
            "message": self.message,
            "error": self.error,
            "created": self.created,
            "started": self.started,
            "finished": self.finished,
            "spec": self.spec,
            "result": result,
            "worker": self.worker,
            "attempts": self.attempts,
        }

    @classmethod
    def from_dict(cls, data: dict) -> "JobRecord":
        known = {f for f in cls.__dataclass_fields__}
        return cls(**{k: v for k, v in data.items() if k in known})


LOCK_FILE = "server.lock"


def lock_data_dir(data_dir: Path):
    """Take the data dir for this process (an exclusive `flock` on `<data-dir>/server.lock`).

    Two servers on one data dir would each re-run the other's queued jobs; the second one is
    refused. The lock dies with the process, SIGKILL included, so a crash never leaves it stale.
    Returns the open file, which must stay referenced.
    """
    import fcntl

    from shared.errors import UserError

    handle = open(Path(data_dir) / LOCK_FILE, "a+")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        handle.close()
        raise UserError(
            f"another `ltx-scene serve` is already using the data dir {data_dir}; stop it "
            "or pass a different --data-dir",
            "data_dir",
        ) from None
    handle.seek(0)
    handle.truncate()
    handle.write(f"{os.getpid()}\n")
    handle.flush()
    return handle


def valid_job_id(job_id: str) -> bool:
    return bool(_ID_RE.match(job_id or ""))


def new_job_id(now: float | None = None) -> str:
    stamp = time.strftime("%Y%m%d-%H%M%S", time.gmtime(time.time() if now is None else now))
    return f"{stamp}-{secrets.token_hex(4)}"


class JobStore:
    """Thread-safe on-disk job records (one folder per job) with an in-memory index."""

    def __init__(
        self,
        data_dir: Path,
        keep_days: float = 7.0,
        keep_jobs: int = 200,
        *,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
    ):
        """clock: seconds for the progress-write coalescing (monotonic); wall_clock: Unix time for
        `created` / `finished` stamps and retention. Tests pass their own and step them."""
        self.root = Path(data_dir) / "jobs"
        self.keep_days = keep_days
        self.keep_jobs = keep_jobs
        self.clock = clock
        self.wall_clock = wall_clock
        self._lock = threading.RLock()
        self._jobs: dict[str, JobRecord] = {}
        self._listeners: list[Listener] = []
        self._revs: dict[str, int] = {}
        self._persisted_at: dict[str, float] = {}  # `clock` time of each job's last job.json write
        self._unsaved: set[str] = set()  # final states `finish` could not write yet
        self._last_created = float("-inf")

    # ------------------------------------------------------------------------------- start-up
    @classmethod
    def open(
        cls, data_dir: Path, keep_days: float = 7.0, keep_jobs: int = 200, *, interrupt_running: bool = True, **clocks
    ) -> tuple["JobStore", list[str]]:
        """Load every job; mark the ones that were running `interrupted`; return the queued ids.
        `clocks`: `clock` / `wall_clock` as in the constructor. interrupt_running=False: a studio
        farm's front door, whose running jobs go on on their workers while it restarts (the farm's
        dispatcher reports them `interrupted` if their worker does not come back)."""
        store = cls(data_dir, keep_days, keep_jobs, **clocks)
        if not store.root.is_dir():
            store.root.mkdir(mode=0o700, parents=True)  # ours: owner only (an existing one is left as it is)
        for entry in sorted(store.root.iterdir()):
            if entry.name.startswith(LEFTOVER_PREFIXES) and entry.is_dir():
                shutil.rmtree(entry, ignore_errors=True)  # a job or an upload cut off by a crash
                continue
            if not (entry.is_dir() and valid_job_id(entry.name)):
                continue
            try:
                record = JobRecord.from_dict(json.loads((entry / JOB_FILE).read_text("utf-8")))
            except (OSError, ValueError, TypeError) as exc:
                log.warning("skipping job folder %s: unreadable %s (%s)", entry, JOB_FILE, exc)
                continue
            if (
                record.id != entry.name
                or record.status not in STATUSES
                or isinstance(record.created, bool)
                or not isinstance(record.created, (int, float))
            ):
                log.warning("skipping job folder %s: inconsistent %s", entry, JOB_FILE)
                continue
            store._jobs[record.id] = record
            store._last_created = max(store._last_created, record.created)
            if record.status == RUNNING and interrupt_running:
                store.update(
                    record.id, status=INTERRUPTED, error=INTERRUPTED_ERROR, finished=store.wall_clock(), eta_s=None
                )
        store.cleanup()
        queued = [r.id for r in store.list() if r.status == QUEUED]
        return store, queued

    # ------------------------------------------------------------------------------- listeners
    def add_listener(self, listener: Listener) -> None:
        self._listeners.append(listener)

    # ------------------------------------------------------------------------------- queries
    def get(self, job_id: str) -> JobRecord | None:
        with self._lock:
            record = self._jobs.get(job_id)
            return None if record is None else record.copy()

    def list(self) -> list[JobRecord]:
        """All jobs, oldest first."""
        with self._lock:
            records = [r.copy() for r in self._jobs.values()]
        return sorted(records, key=lambda r: (r.created, r.id))

    def count_active(self) -> int:
        with self._lock:
            return sum(1 for r in self._jobs.values() if r.status in ACTIVE)

    def job_dir(self, job_id: str) -> Path:
        if not valid_job_id(job_id):
            raise KeyError(job_id)
        return self.root / job_id

    def input_path(self, job_id: str, role: str) -> Path | None:
        record = self.get(job_id)
        if record is None or role not in record.inputs:
            return None
        return self.job_dir(job_id) / INPUTS / record.inputs[role]

    def out_dir(self, job_id: str) -> Path:
        return self.job_dir(job_id) / OUT

    def result_path(self, job_id: str, which: str) -> Path | None:
        """Path of a result file ("video", "sidecar", "control") or None when there is none."""
        record = self.get(job_id)
        if record is None or not record.result or not record.result.get(which):
            return None
        out = self.out_dir(job_id).resolve()
        path = (out / record.result[which]).resolve()
        if out not in path.parents or not path.is_file():
            return None
        return path

    # ------------------------------------------------------------------------------- changes
    def create(self, spec: dict, files: dict[str, tuple[Path, str]], now: float | None = None) -> JobRecord:
        """Make a queued job. `files[role] = (checked upload, name)`: the upload is moved to inputs/name.

        Without `now`, `created` strictly increases from one call to the next (a wall clock that
        stands still or steps back is nudged forward by 1 us), so the store's order (`list`, the
        queue after a restart) is the order of the calls; the server creates and queues a job under
        one lock. (`now` is for tests that build a history.)"""
        if now is None:
            with self._lock:
                now = max(self.wall_clock(), self._last_created + 1e-6)
                self._last_created = now
        job_id = new_job_id(now)
        staging = self.root / f"{_NEW_PREFIX}{job_id}"
        (staging / INPUTS).mkdir(parents=True)
        try:
            for role, (source, name) in files.items():
                shutil.move(str(source), staging / INPUTS / name)
            record = JobRecord(id=job_id, spec=spec, inputs={r: n for r, (_, n) in files.items()}, created=now)
            _write_json(staging / JOB_FILE, vars(record))
            os.rename(staging, self.root / job_id)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        with self._lock:
            self._jobs[job_id] = record
            self._persisted_at[job_id] = self.clock()
            rev = self._bump(job_id)
            snapshot = record.copy()
        self._notify("status", snapshot, rev)
        return snapshot

    def get_with_rev(self, job_id: str) -> tuple[JobRecord | None, int]:
        """A job and its revision (increases with every change; SSE streams drop older events)."""
        with self._lock:
            return self.get(job_id), self._revs.get(job_id, 0)

    def _bump(self, job_id: str) -> int:
        self._revs[job_id] = self._revs.get(job_id, 0) + 1
        return self._revs[job_id]

    def update(self, job_id: str, **changes) -> JobRecord:
        """Change fields of a job, persist them, tell listeners. Returns the new record.

        The new state is written before it replaces the one in memory: when the write fails (a full
        disk) memory and job.json still agree, and the OSError reaches the caller."""
        with self._lock:
            current = self._jobs[job_id]
            for key in changes:
                if key not in current.__dataclass_fields__ or key in ("id", "created"):
                    raise KeyError(f"JobRecord has no writable field {key!r}")
            record = replace(current, **changes)
            old_status = current.status
            now = self.clock()
            progress_only = record.status == old_status and PROGRESS_FIELDS.issuperset(changes)
            last = self._persisted_at.get(job_id)
            if not progress_only or last is None or now - last >= PROGRESS_PERSIST_INTERVAL_S:
                _write_json(self.job_dir(job_id) / JOB_FILE, vars(record))
                self._persisted_at[job_id] = now
            self._jobs[job_id] = record
            snapshot = record.copy()
            rev = self._bump(job_id)
        self._notify("status" if snapshot.status != old_status else "progress", snapshot, rev)
        return snapshot

    def finish(self, job_id: str, **changes) -> JobRecord:
        """`update` for a job's final state, which must reach every reader even when job.json cannot
        be written (a full disk): then the state is kept in memory and the listeners are told (event
        streams end), the job is remembered as unsaved and `save_unsaved` writes it later (the
        worker calls it after every job). After a restart before that, the job reads `interrupted`.
        """
        try:
            return self.update(job_id, **changes)
        except OSError as exc:
            log.error(
                "job %s: could not write its final state (%s); kept in memory until the disk has room", job_id, exc
            )
        with self._lock:
            old_status = self._jobs[job_id].status
            record = replace(self._jobs[job_id], **changes)
            self._jobs[job_id] = record
            self._unsaved.add(job_id)
            snapshot = record.copy()
            rev = self._bump(job_id)
        self._notify("status" if snapshot.status != old_status else "progress", snapshot, rev)
        return snapshot

    def cancel_queued(self, job_id: str) -> JobRecord:
        """A queued job cancelled before it started (the one machine's worker and the farm's dispatcher)."""
        return self.finish(
            job_id, status=CANCELLED, finished=time.time(), eta_s=None, message="cancelled before it started"
        )

    def save_unsaved(self) -> int:
        """Write the jobs whose last state `finish` could not write; returns how many are still unsaved."""
        with self._lock:
            for job_id in sorted(self._unsaved):
                record = self._jobs.get(job_id)
                if record is None:
                    self._unsaved.discard(job_id)
                    continue
                try:
                    _write_json(self.job_dir(job_id) / JOB_FILE, vars(record))
                except OSError:
                    break
                self._unsaved.discard(job_id)
                self._persisted_at[job_id] = self.clock()
            return len(self._unsaved)

    def delete(self, job_id: str) -> None:
        with self._lock:
            self._jobs.pop(job_id, None)
            self._revs.pop(job_id, None)
            self._persisted_at.pop(job_id, None)
        shutil.rmtree(self.job_dir(job_id), ignore_errors=True)

    def cleanup(self, now: float | None = None) -> list[str]:
        """Delete finished jobs past the retention limits; return their ids."""
        now = self.wall_clock() if now is None else now
        finished = [r for r in self.list() if r.status in FINAL]
        finished.sort(key=lambda r: (r.finished or r.created, r.id), reverse=True)  # newest first
        doomed = []
        for index, record in enumerate(finished):
            too_old = self.keep_days > 0 and now - (record.finished or record.created) > self.keep_days * 86400
            too_many = self.keep_jobs > 0 and index >= self.keep_jobs
            if too_old or too_many:
                doomed.append(record.id)
        for job_id in doomed:
            self.delete(job_id)
        if doomed:
            log.info("retention: deleted %d finished job(s)", len(doomed))
        return doomed

    def _notify(self, kind: str, record: JobRecord, rev: int) -> None:
        status = record.public()
        for listener in list(self._listeners):
            try:
                listener(kind, status, rev)
            except Exception:  # a listener never breaks the store
                log.exception("job listener failed")


def _write_json(path: Path, data: dict) -> None:
    """Atomic rewrite (`shared.atomic_write`). One `json.dumps` without indent is CPython's C
    encoder; `json.dump` or any `indent` takes the pure-Python one. `python -m json.tool job.json`
    shows it indented. ASCII escapes: a lone surrogate (valid JSON, `\\ud800`) stays an escape
    instead of failing to encode as UTF-8.

    fsync only for a final state: the rename alone already survives a killed process (the page
    cache outlives it); the fsync protects against a power cut, and on every status and progress
    write it would cost a tiny job several percent (benchmarks/bench_server.py)."""
    durable = data.get("status") in FINAL
    atomic_write(path, json.dumps(data, ensure_ascii=True, separators=(",", ":")), fsync=durable)
