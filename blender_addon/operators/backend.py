"""Backend status and a local backend: Check Backend, Start Local Backend.

Check Backend asks `/v1/health` and `/v1/models` (`client.backend_status.ask`) on a worker thread
followed by the add-on's one timer (`main_thread`), inline in background mode, and writes the answer
into the run-time job state: the panel's backend line, the server's memory summary, and the per-kind
size rules (reference factor, size multiple) that the panel's size note and snapping then use.
One check runs at a time: a second click while one is in flight for the same settings waits for that
answer; a check for changed settings replaces it, and the older answer is dropped. Start Local
Backend runs the preferences' start command as a child process (a `subprocess.Popen` argument list,
no shell) and stops it when the add-on is disabled.
"""

from __future__ import annotations

import json
import shlex
import subprocess
from typing import Callable

import bpy
from bpy.types import Operator

from .. import settings as settings_mod
from ..client import backend_status
from ..client.http import BackendSettings
from ..client.worker import Worker
from . import job, main_thread

_started: subprocess.Popen | None = None
_check: main_thread.Task | None = None  # the check in flight (None: none)
_check_for: BackendSettings | None = None  # the settings it asks with
_waiting: list[Callable[[bool, str], None]] = []  # called with (ok, line) once it answers


def record(status: backend_status.BackendStatus) -> None:
    """Write an answer into the run-time job state (main thread only); the size rules survive a
    failed check only when the backend never answered (then the manual factor stays in use)."""
    state = job.job_state()
    state.backend_ok = status.ok
    state.backend_status = status.line
    state.backend_memory = status.memory
    state.backend_workers = "\n".join(status.workers)
    if status.rules is not None:
        state.backend_rules = json.dumps(status.rules)  # the bundle's order: the panel lists them so
    job.redraw()


def refresh_rules(backend: BackendSettings) -> backend_status.BackendStatus:
    """Ask the backend now and record its answer (background mode / Generate's first step)."""
    status = backend_status.ask(backend)
    record(status)
    return status


def _answered(task: main_thread.Task, status: backend_status.BackendStatus) -> None:
    global _check, _check_for
    if task is not _check:
        return  # replaced by a check with other settings: this answer is stale
    _check, _check_for = None, None
    record(status)
    callbacks = list(_waiting)
    _waiting.clear()
    for callback in callbacks:
        callback(status.ok, status.line)


def refresh_rules_async(backend: BackendSettings, then: Callable[[bool, str], None] | None = None) -> main_thread.Task:
    """Ask the backend on a worker thread; the timer records the answer, then calls every waiting
    `then(ok, line)` on the main thread. Returns the check in flight."""
    global _check, _check_for
    if then is not None:
        _waiting.append(then)
    if main_thread.running(_check) and _check_for == backend:
        return _check  # the same question is already asked: wait for its answer

    def work(emit, _cancel):
        emit("answer", {"status": backend_status.ask(backend)})

    task = main_thread.start(
        Worker(work, "ltx-scene-health"), lambda _kind, payload: _answered(task, payload["status"])
    )
    _check, _check_for = task, backend
    return task


class LTX_SCENE_OT_check_backend(Operator):
    """Ask the backend whether it is up and which controls it offers"""

    bl_idname = "ltx_scene.check_backend"
    bl_label = "Check Backend"
    bl_options = {"REGISTER"}

    def execute(self, context):
        backend = settings_mod.backend_settings(context)
        if bpy.app.background:
            status = refresh_rules(backend)
            self.report({"INFO"} if status.ok else {"ERROR"}, f"LTX Scene backend: {status.line}")
            return {"FINISHED"} if status.ok else {"CANCELLED"}
        job.job_state(context).backend_status = f"checking {backend.url} ..."
        refresh_rules_async(backend)
        return {"FINISHED"}


class LTX_SCENE_OT_start_backend(Operator):
    """Start a local backend with the command from the add-on preferences"""

    bl_idname = "ltx_scene.start_backend"
    bl_label = "Start Local Backend"
    bl_options = {"REGISTER"}

    def execute(self, context):
        global _started
        command = settings_mod.backend_settings(context).start_command
        if not command:
            self.report(
                {"ERROR"},
                "LTX Scene: no start command is set; add one in the add-on "
                "preferences, e.g. 'ltx-scene serve --model BUNDLE --port 8765'",
            )
            return {"CANCELLED"}
        if _started is not None and _started.poll() is None:
            self.report({"WARNING"}, f"LTX Scene: the local backend already runs (pid {_started.pid})")
            return {"CANCELLED"}
        try:
            _started = subprocess.Popen(shlex.split(command), stdin=subprocess.DEVNULL)
        except (OSError, ValueError) as exc:
            self.report({"ERROR"}, f"LTX Scene: could not run the start command {command!r}: {exc}")
            return {"CANCELLED"}
        job.job_state(context).backend_status = f"started local backend (pid {_started.pid})"
        self.report(
            {"INFO"},
            f"LTX Scene: started the local backend (pid {_started.pid}); "
            "press Check Backend once it has loaded the model",
        )
        return {"FINISHED"}


def shutdown() -> None:
    """Stop what this add-on started: the local backend; forget a check in flight (its worker and
    the timer are stopped by `main_thread.shutdown`)."""
    global _started, _check, _check_for
    _check, _check_for = None, None
    _waiting.clear()
    if _started is not None and _started.poll() is None:
        _started.terminate()
        try:
            _started.wait(timeout=5)
        except subprocess.TimeoutExpired:
            _started.kill()
    _started = None


CLASSES = (LTX_SCENE_OT_check_backend, LTX_SCENE_OT_start_backend)
