"""Preview controls: capture the scene and show the control video exactly as the model gets it.

No backend involved: `preview_frames` calls the engine's own function,
`shared.raster.model_frames.reference_frames`, at the reference size the engine will use
(`video_rules.reference_size`: stage-1 size / the IC-LoRA's reference factor, preview job or not):
pose and tracks drawn at the generation size and resized, canny *edges* by the package's settings
(numpy, no OpenCV needed), depth at the reference size. The frames are written as PNGs into the
output folder and loaded as an image sequence ("LTX Controls"); with a UI an open Image Editor
shows it, headless the files are the result. With an attention mask or a keyed strength, the
weights the job applies (`attention_weights`, at the stage-1 size) are written beside them as
mask_*.png. `control_frames` (the generation-size video, canny's
render) stays what Export Controls writes for ComfyUI, whose workflows make their own edges.
"""

from __future__ import annotations

import os
import traceback

import numpy as np

import bpy
from bpy.types import Operator

from .. import settings as settings_mod
from ..shared.errors import UserError
from . import job


def fail(operator, message: str) -> set[str]:
    """The error in the panel (the job state keeps its status) and as a report."""
    state = job.job_state()
    state.error = message
    job.redraw()
    operator.report({"ERROR"}, f"LTX Scene: {message}")
    return {"CANCELLED"}


IMAGE_NAME = "LTX Controls"


def capture_now(context):
    """Capture the scene with the panel's settings; returns (package, plan)."""
    package, plan, _ = capture_with_settings(context)
    return package, plan


def capture_with_settings(context):
    """Capture the scene with the panel's settings; returns (package, plan, capture settings)."""
    from ..capture.package import capture_package

    scene = context.scene
    capture, plan = settings_mod.plan_for(scene.ltx_scene, scene)
    wm = context.window_manager
    wm.progress_begin(0, 1000)
    try:
        package = capture_package(
            scene, capture, progress=lambda fraction, message="": wm.progress_update(int(float(fraction) * 1000))
        )
    finally:
        wm.progress_end()
    return package, plan, capture


def preview_frames(package, reference_downscale_factor: int):
    """(frames, note): the uint8 (F, h, w, 3) frames the model sees, at the reference size."""
    from ..shared.raster.model_frames import reference_frames
    from ..shared.video_rules import reference_size

    width, height = reference_size(package.width, package.height, reference_downscale_factor)
    note = f"at the reference size {width}x{height} the model sees (reference factor {reference_downscale_factor})"
    return reference_frames(package, width, height), note


def preview_mask(package):
    """uint8 grey (F, h, w, 3) frames of the attention weights the job applies (the package's mask x
    its per-frame strength, at the stage-1 size, white = full control), or None when that is 1
    everywhere (nothing to show)."""
    from ..shared.raster.model_frames import attention_weights
    from ..shared.video_rules import stage1_size

    weights = attention_weights(package, package.frame_count, *stage1_size(package.width, package.height))
    if weights is None or (weights == 1).all():
        return None
    grey = np.clip(np.rint(weights * 255), 0, 255).astype(np.uint8)
    return np.repeat(grey[..., None], 3, axis=-1)


def control_frames(package):
    """The control video at the package's size as uint8 (F, H, W, 3) and a note, for export: canny
    gives its RGB source (ComfyUI's canny preprocessor makes the edges there)."""
    if package.kind == "canny":
        return package.rgb, "canny: showing the render the backend takes the edges of"
    from ..shared.raster import rasterize

    return rasterize(package), ""


def show_sequence(context, first_png: str, frame_count: int, frame_start: int):
    """Load PNG frames as an image sequence and show it in the first Image Editor, if any."""
    old = bpy.data.images.get(IMAGE_NAME)
    if old is not None:
        bpy.data.images.remove(old)
    image = bpy.data.images.load(first_png, check_existing=False)
    image.name = IMAGE_NAME
    image.source = "SEQUENCE"
    shown = False
    for window in getattr(context.window_manager, "windows", []):
        for area in window.screen.areas:
            if area.type == "IMAGE_EDITOR":
                space = area.spaces.active
                space.image = image
                space.image_user.frame_duration = frame_count
                space.image_user.frame_start = frame_start
                space.image_user.use_auto_refresh = True
                area.tag_redraw()
                shown = True
                break
        if shown:
            break
    return image, shown


class LTX_SCENE_OT_preview_controls(Operator):
    """Capture and rasterize the control locally and show it (no backend needed)"""

    bl_idname = "ltx_scene.preview_controls"
    bl_label = "Preview Controls"
    bl_options = {"REGISTER"}

    def execute(self, context):
        from ..shared.png import write_png_frames

        try:
            package, plan, capture = capture_with_settings(context)
            frames, note = preview_frames(package, capture.reference_downscale_factor)
            mask = preview_mask(package)
        except UserError as exc:
            return fail(self, str(exc))
        except Exception as exc:
            traceback.print_exc()
            return fail(self, f"internal error: {exc!r} (details in the system console)")
        folder = os.path.join(settings_mod.output_root(context), "preview", bpy.path.clean_name(context.scene.name))
        os.makedirs(folder, exist_ok=True)
        for name in os.listdir(folder):  # old frames of a longer range would linger
            if name.startswith(("control_", "mask_")) and name.endswith(".png"):
                os.remove(os.path.join(folder, name))
        paths = write_png_frames(folder, frames, prefix="control_")
        if mask is not None:
            write_png_frames(folder, mask, prefix="mask_")
            note += "; attention mask x strength as mask_*.png"
        image, shown = show_sequence(context, paths[0], len(paths), plan.frame_start)
        where = "in the Image Editor" if shown else f"as image '{image.name}'"
        msg = f"LTX Scene: {len(paths)} control frames in {folder}, shown {where}"
        if note:
            msg += f" ({note})"
        self.report({"INFO"}, msg)
        return {"FINISHED"}


CLASSES = (LTX_SCENE_OT_preview_controls,)
