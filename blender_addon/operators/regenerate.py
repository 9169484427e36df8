"""Regenerate with new seed: the same control, prompt and strengths as a strip, another seed.

Works on the active sequencer strip (or `strip_name`) made by Generate: its stored parameters name
the control package that was sent, so the scene is not captured again and only the seed changes.
The new result lands in the next free channels at the scene's start frame.
"""

from __future__ import annotations

import os
import random
import time
import traceback

import bpy
from bpy.props import IntProperty, StringProperty
from bpy.types import Operator

from .. import compat, vse
from .. import settings as settings_mod
from ..capture.keyframe_plan import KeyframeLook
from ..capture.settings import CapturePlan, CaptureSettings
from ..shared.errors import UserError
from ..shared.job_spec import GenerationSpec
from ..shared.video_rules import parse_fps
from . import job
from .generate import fail, finish_report


def strip_for(context, name: str):
    scene = compat.sequencer_scene(context)
    editor = scene.sequence_editor if scene is not None else None
    if editor is None:
        return None
    if name:
        return compat.all_strips(editor).get(name)
    return editor.active_strip


def settings_from(context, params: dict, seed: int) -> settings_mod.GenerateSettings:
    spec = GenerationSpec.from_json({**params["spec"], "seed": seed}).to_json()
    control = params.get("control")
    if not control or not os.path.isfile(control):
        raise UserError(
            f"regenerate: the control package {control!r} of this strip is gone; generate again from the scene",
            "control",
        )
    first_image = params.get("first_frame_image")
    source = params.get("first_frame", "NONE")
    if source == "IMAGE" and (not first_image or not os.path.isfile(first_image)):
        raise UserError(f"regenerate: the first-frame image {first_image!r} is gone", "first_frame")
    keyframes = []
    for entry in params.get("keyframes", []):
        image = entry.get("image")
        if not image or not os.path.isfile(image):
            raise UserError(
                f"regenerate: the keyframe image {image!r} (frame {entry.get('scene_frame')}) of this strip is gone",
                "keyframes",
            )
        frames = int(entry["scene_frame"]), int(entry["frame"])
        keyframes.append(KeyframeLook(*frames, float(entry["strength"]), image, entry["label"]))
    plan = CapturePlan(
        width=int(params["width"]),
        height=int(params["height"]),
        frame_start=int(params["frame_start"]),
        frame_count=int(params["frame_count"]),
        fps=parse_fps(params["fps"]),
        depth_width=0,
        depth_height=0,
    )
    scene_name = params.get("scene") or context.scene.name
    stamp = time.strftime("%Y%m%d-%H%M%S")
    folder = os.path.join(settings_mod.output_root(context), f"{bpy.path.clean_name(scene_name)}_{stamp}_seed{seed}")
    return settings_mod.GenerateSettings(
        scene_name=scene_name,
        capture=CaptureSettings(kind=params["control_kind"]),
        plan=plan,
        spec=spec,
        backend=settings_mod.backend_settings(context),
        first_frame_source=source,
        first_frame_image=first_image if source == "IMAGE" else None,
        output_dir=folder,
        keyframes=tuple(keyframes),
    )


class LTX_SCENE_OT_regenerate(Operator):
    """Generate the selected LTX strip again with a new seed (same control, prompt and strengths)"""

    bl_idname = "ltx_scene.regenerate"
    bl_label = "Regenerate with New Seed"
    bl_options = {"REGISTER"}

    strip_name: StringProperty(
        name="Strip", default="", options={"SKIP_SAVE"}, description="The strip to regenerate (empty: the active strip)"
    )
    seed: IntProperty(
        name="Seed", default=-1, min=-1, options={"SKIP_SAVE"}, description="The new seed (-1: a random one)"
    )

    @classmethod
    def poll(cls, context):
        if job.active() is not None:
            cls.poll_message_set("A generation is running: wait for it or cancel it")
            return False
        return True

    def execute(self, context):
        strip = strip_for(context, self.strip_name)
        params = vse.parameters_of(strip)
        if params is None:
            what = f"strip '{self.strip_name}'" if self.strip_name else "the active strip"
            self.report(
                {"ERROR"}, f"LTX Scene: {what} was not made by LTX Scene Control; select a strip that Generate imported"
            )
            return {"CANCELLED"}
        old_seed = int(params["spec"].get("seed", 0))
        seed = self.seed
        if seed < 0:
            seed = old_seed
            while seed == old_seed:
                seed = random.randrange(0, 2**31 - 1)
        try:
            settings = settings_from(context, params, seed)
            with open(params["control"], "rb") as fh:
                control = fh.read()
            started = job.start(context, settings, control=control, control_path=params["control"])
        except (UserError, OSError) as exc:
            return fail(self, str(exc))
        except Exception as exc:
            traceback.print_exc()
            return fail(self, f"internal error: {exc!r} (details in the system console)")
        return finish_report(self, started)


CLASSES = (LTX_SCENE_OT_regenerate,)
