"""Backend status and a local backend: Check Backend, Start Local Backend.

Check Backend asks `/v1/health` and `/v1/models` on a short-lived thread (inline in background mode)
and writes the answer into the panel's backend line and the per-kind size rules (reference factor,
size multiple) into the run-time job state, which the panel's size note and snapping then use. Start Local Backend runs the preferences'
start command as a child process (a `subprocess.Popen` argument list, no shell) and stops it when
the add-on is disabled.
"""
from __future__ import annotations

import json
import shlex
import subprocess
import threading

import bpy
from bpy.types import Operator

from .. import settings as settings_mod
from ..client.http import BackendClient, size_rules
from ..shared.errors import UserError
from . import job

_started: subprocess.Popen | None = None
_answer: dict = {}


def describe(backend) -> tuple[bool, str, dict | None]:
    """(ok, one line for the panel, per-kind size rules or None) from the backend's health and
    models. Plain values only: it runs on a worker thread."""
    try:
        client = BackendClient(backend.url, backend.token, allow_remote=backend.allow_remote,
                               connect_timeout=backend.connect_timeout,
                               read_timeout=backend.read_timeout)
        try:
            health = client.health()
            models = client.models()
        finally:
            client.close()
    except UserError as exc:
        return False, str(exc), None
    kinds = models.get("control_kinds") or []
    line = f"{health.get('device', '?')}, version {health.get('version', '?')}"
    if kinds:
        line += f", controls: {', '.join(map(str, kinds))}"
    if health.get("tiny_model"):
        line += " (tiny test model: output is noise)"
    return True, line, size_rules(models)


def _apply(ok: bool, line: str, rules: dict | None = None) -> None:
    """Record an answer in the run-time job state (main thread only); rules survive a failed check
    only when the backend never answered (then the manual factor stays in use)."""
    state = job.job_state()
    state.backend_ok = ok
    state.backend_status = line
    if rules is not None:
        state.backend_rules = json.dumps(rules, sort_keys=True)
    job.redraw()


def refresh_rules(backend) -> tuple[bool, str]:
    """Ask the backend now and record its answer (background mode / Generate's first step)."""
    ok, line, rules = describe(backend)
    _apply(ok, line, rules)
    return ok, line


def _poll_answer():
    if "result" not in _answer:  # the thread has not answered yet ("then" may already be waiting)
        return 0.2
    ok, line, rules = _answer.pop("result")
    _apply(ok, line, rules)
    callback = _answer.pop("then", None)
    if callback is not None:
        callback(ok, line)
    return None


def refresh_rules_async(backend, then=None) -> None:
    """Ask the backend on a short-lived thread; a timer records the answer, then calls `then(ok,
    line)` on the main thread."""
    _answer.clear()
    if then is not None:
        _answer["then"] = then

    def ask():
        _answer["result"] = describe(backend)

    threading.Thread(target=ask, name="ltx-scene-health", daemon=True).start()
    if not bpy.app.timers.is_registered(_poll_answer):
        bpy.app.timers.register(_poll_answer, first_interval=0.2)


class LTX_SCENE_OT_check_backend(Operator):
    """Ask the backend whether it is up and which controls it offers"""
    bl_idname = "ltx_scene.check_backend"
    bl_label = "Check Backend"
    bl_options = {'REGISTER'}

    def execute(self, context):
        backend = settings_mod.backend_settings(context)
        if bpy.app.background:
            ok, line = refresh_rules(backend)
            self.report({'INFO'} if ok else {'ERROR'}, f"LTX Scene backend: {line}")
            return {'FINISHED'} if ok else {'CANCELLED'}
        job.job_state(context).backend_status = f"checking {backend.url} ..."
        refresh_rules_async(backend)
        return {'FINISHED'}


class LTX_SCENE_OT_start_backend(Operator):
    """Start a local backend with the command from the add-on preferences"""
    bl_idname = "ltx_scene.start_backend"
    bl_label = "Start Local Backend"
    bl_options = {'REGISTER'}

    def execute(self, context):
        global _started
        command = settings_mod.backend_settings(context).start_command
        if not command:
            self.report({'ERROR'}, "LTX Scene: no start command is set; add one in the add-on "
                                   "preferences, e.g. 'ltx-scene serve --model BUNDLE --port 8765'")
            return {'CANCELLED'}
        if _started is not None and _started.poll() is None:
            self.report({'WARNING'}, f"LTX Scene: the local backend already runs (pid {_started.pid})")
            return {'CANCELLED'}
        try:
            _started = subprocess.Popen(shlex.split(command), stdin=subprocess.DEVNULL)
        except (OSError, ValueError) as exc:
            self.report({'ERROR'}, f"LTX Scene: could not run the start command {command!r}: {exc}")
            return {'CANCELLED'}
        job.job_state(context).backend_status = f"started local backend (pid {_started.pid})"
        self.report({'INFO'}, f"LTX Scene: started the local backend (pid {_started.pid}); "
                              "press Check Backend once it has loaded the model")
        return {'FINISHED'}


def shutdown() -> None:
    """Stop what this add-on started: the local backend and a pending status timer."""
    global _started
    if bpy.app.timers.is_registered(_poll_answer):
        bpy.app.timers.unregister(_poll_answer)
    if _started is not None and _started.poll() is None:
        _started.terminate()
        try:
            _started.wait(timeout=5)
        except subprocess.TimeoutExpired:
            _started.kill()
    _started = None


CLASSES = (LTX_SCENE_OT_check_backend, LTX_SCENE_OT_start_backend)
