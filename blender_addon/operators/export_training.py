"""Export Training Pairs: the scene's shots as pairs for training a new IC-LoRA with the LTX trainer.

The panel's control settings (kind, tracks, mask, pose and canny options), its prompt as the caption
and its size go into one `TrainingSettings`; `training.export.export_training` renders each shot's
target with the scene's engine, captures the control and merges the rows into
<folder>/dataset.jsonl (see blender_addon/training/README.md). Runs on the main thread with the
window manager's progress (rendering needs bpy); several scenes or files exported into one folder
append to one dataset.
"""

from __future__ import annotations

import traceback
from dataclasses import replace

import bpy
from bpy.props import EnumProperty, StringProperty
from bpy.types import Operator

from .. import settings as settings_mod
from ..shared.errors import UserError
from .folder_browser import browse_for_folder, chosen_folder
from .preview import fail


def training_settings(context, directory: str, caption: str, shots: str):
    """The panel's settings as the plain `TrainingSettings` the exporter works from."""
    from ..training import TrainingSettings

    scene = context.scene
    props = scene.ltx_scene
    capture = replace(settings_mod.capture_settings(props, scene), first_frame=False)
    width, height = settings_mod.size_of(props, scene)
    return TrainingSettings(
        out_dir=directory,
        capture=capture,
        caption=caption.strip() or props.prompt,
        shots=shots,
        width=width,
        height=height,
        reference_factor=capture.reference_downscale_factor,
        source=bpy.data.filepath,
    )


class LTX_SCENE_OT_export_training(Operator):
    """Write training pairs for a new IC-LoRA: each shot rendered with the scene's engine, its control
    video and a dataset.jsonl row in the LTX trainer's format"""

    bl_idname = "ltx_scene.export_training"
    bl_label = "Export Training Pairs"
    bl_options = {"REGISTER"}

    directory: StringProperty(
        name="Dataset Folder", subtype="DIR_PATH", default="", description="dataset.jsonl and the videos go here"
    )
    caption: StringProperty(name="Caption", default="", description="Caption of every row (empty: the prompt)")
    shots: EnumProperty(
        name="Shots",
        items=(
            ("range", "Frame Range", "One shot: the scene's frame range"),
            ("markers", "Marker Pairs", "One shot per pair of timeline markers (start, end)"),
        ),
        default="range",
    )

    def invoke(self, context, event):
        return browse_for_folder(self, context, "training")

    def execute(self, context):
        from ..training.export import export_training

        folder = chosen_folder(self, context, "training")
        notes = []
        wm = context.window_manager
        wm.progress_begin(0, 1000)
        try:
            settings = training_settings(context, folder, self.caption, self.shots)
            summary = export_training(
                context.scene,
                settings,
                progress=lambda fraction, message="": wm.progress_update(int(float(fraction) * 1000)),
                note=notes.append,
            )
        except (UserError, OSError) as exc:
            return fail(self, str(exc))
        except Exception as exc:
            traceback.print_exc()
            return fail(self, f"internal error: {exc!r} (details in the system console)")
        finally:
            wm.progress_end()
        for text in notes:
            self.report({"INFO"}, f"LTX Scene: {text}")
        self.report(
            {"INFO"},
            f"LTX Scene: {summary['shots']} training pair(s) into {summary['dataset']} "
            f"({summary['rows']} rows, buckets {summary['buckets']})",
        )
        return {"FINISHED"}


CLASSES = (LTX_SCENE_OT_export_training,)
