"""Generate with IC-LoRA, and Cancel.

Generate snapshots the settings (`settings.snapshot`), captures the control and hands the job to
`job.start`: a worker thread plus a timer in the UI, inline in background mode, so
`blender -b scene.blend --python-expr "import bpy; bpy.ops.ltx_scene.generate()"` returns once the
strips are in the sequencer (and raises with the message when anything failed).
"""

from __future__ import annotations

import traceback

import bpy
from bpy.props import BoolProperty, IntProperty
from bpy.types import Operator

from .. import settings as settings_mod
from ..shared.errors import UserError
from . import job


def fail(operator, message: str) -> set[str]:
    """Show an error in the panel and as a report; the operator's return value."""
    job.set_state("failed", error=message)
    operator.report({"ERROR"}, f"LTX Scene: {message}")
    return {"CANCELLED"}


def finish_report(operator, started) -> set[str]:
    """Reports for a finished inline job or a started threaded one; the operator's return value."""
    state = job.job_state()
    if started.worker is not None:
        operator.report({"INFO"}, "LTX Scene: generation started; progress is in the LTX panel")
        return {"FINISHED"}
    if started.error:
        operator.report({"ERROR"}, f"LTX Scene: {started.error}")
        return {"CANCELLED"}
    if state.status == "cancelled":
        operator.report({"WARNING"}, "LTX Scene: generation cancelled")
        return {"CANCELLED"}
    movie = started.strips[0]
    operator.report(
        {"INFO"},
        f"LTX Scene: imported '{movie.name}' (channel {movie.channel}, "
        f"{movie.frame_final_duration} frames) from {state.last_video}",
    )
    return {"FINISHED"}


class LTX_SCENE_OT_generate(Operator):
    """Capture the control from the scene, generate a video with the IC-LoRA and import it"""

    bl_idname = "ltx_scene.generate"
    bl_label = "Generate with IC-LoRA"
    bl_options = {"REGISTER"}

    seed: IntProperty(
        name="Seed",
        default=-1,
        min=-1,
        options={"SKIP_SAVE"},
        description="Override the panel's seed for this run (-1: the panel's)",
    )
    checked: BoolProperty(
        default=False, options={"HIDDEN", "SKIP_SAVE"}, description="The backend's size rules were just read (internal)"
    )

    @classmethod
    def poll(cls, context):
        if context.scene is None:
            return False
        if job.active() is not None:
            cls.poll_message_set("A generation is running: wait for it or cancel it")
            return False
        return True

    def execute(self, context):
        backend = settings_mod.backend_settings(context)
        if bpy.app.background:
            # learn the size rule (reference factor per control kind) before capture
            from .backend import refresh_rules

            refresh_rules(backend)
            return self._run(context)
        if self.checked:
            return self._run(context)
        from .backend import refresh_rules_async

        seed = self.seed

        def then(_ok, _line):
            # on the main thread (the answer's timer): snapshot with the backend's rules and start;
            # an unreachable backend keeps the manual factor and fails later with its own message
            try:
                bpy.ops.ltx_scene.generate("EXEC_DEFAULT", seed=seed, checked=True)
            except RuntimeError as exc:  # e.g. the timer's context cannot run it: say so in the panel
                job.set_state("failed", error=f"could not start the generation: {exc}")

        refresh_rules_async(backend, then)
        self.report({"INFO"}, "LTX Scene: reading the backend's size rules, then generating")
        return {"FINISHED"}

    def _run(self, context):
        try:
            settings = settings_mod.snapshot(context, seed=None if self.seed < 0 else self.seed)
            started = job.start(context, settings)
        except UserError as exc:
            return fail(self, str(exc))
        except Exception as exc:  # a bug: still say it in the panel and the reports
            traceback.print_exc()
            return fail(self, f"internal error: {exc!r} (details in the system console)")
        return finish_report(self, started)


class LTX_SCENE_OT_cancel(Operator):
    """Stop the running generation, here and on the backend"""

    bl_idname = "ltx_scene.cancel"
    bl_label = "Cancel"
    bl_options = {"REGISTER"}

    @classmethod
    def poll(cls, context):
        return job.active() is not None

    def execute(self, context):
        if job.cancel():
            self.report({"INFO"}, "LTX Scene: cancelling the generation")
            return {"FINISHED"}
        self.report({"WARNING"}, "LTX Scene: no generation is running")
        return {"CANCELLED"}


CLASSES = (LTX_SCENE_OT_generate, LTX_SCENE_OT_cancel)
