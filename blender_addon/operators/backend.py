"""Backend status and a local backend: Check Backend, Start Local Backend.

Check Backend asks `/v1/health` and `/v1/models` on a short-lived thread (inline in background mode)
and writes the answer into the panel's backend line. Start Local Backend runs the preferences'
start command as a child process (a `subprocess.Popen` argument list, no shell) and stops it when
the add-on is disabled.
"""
from __future__ import annotations

import shlex
import subprocess
import threading

import bpy
from bpy.types import Operator

from .. import settings as settings_mod
from ..client.http import BackendClient
from ..shared.errors import UserError
from . import job

_started: subprocess.Popen | None = None
_answer: dict = {}


def describe(backend) -> tuple[bool, str]:
    """(ok, one line for the panel) from the backend's health and models."""
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
        return False, str(exc)
    kinds = models.get("control_kinds") or models.get("kinds") or []
    if isinstance(kinds, dict):
        kinds = list(kinds)
    line = f"{health.get('device', '?')}, version {health.get('version', '?')}"
    if kinds:
        line += f", controls: {', '.join(map(str, kinds))}"
    if health.get("tiny_model"):
        line += " (tiny test model: output is noise)"
    return True, line


def _apply(ok: bool, line: str) -> None:
    state = job.job_state()
    state.backend_ok = ok
    state.backend_status = line
    job.redraw()


def _poll_answer():
    if not _answer:
        return 0.2
    ok, line = _answer.pop("result")
    _apply(ok, line)
    return None


class LTX_SCENE_OT_check_backend(Operator):
    """Ask the backend whether it is up and which controls it offers"""
    bl_idname = "ltx_scene.check_backend"
    bl_label = "Check Backend"
    bl_options = {'REGISTER'}

    def execute(self, context):
        backend = settings_mod.backend_settings(context)
        if bpy.app.background:
            ok, line = describe(backend)
            _apply(ok, line)
            self.report({'INFO'} if ok else {'ERROR'}, f"LTX Scene backend: {line}")
            return {'FINISHED'} if ok else {'CANCELLED'}
        job.job_state(context).backend_status = f"checking {backend.url} ..."
        _answer.clear()

        def ask():
            _answer["result"] = describe(backend)

        threading.Thread(target=ask, name="ltx-scene-health", daemon=True).start()
        if not bpy.app.timers.is_registered(_poll_answer):
            bpy.app.timers.register(_poll_answer, first_interval=0.2)
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
