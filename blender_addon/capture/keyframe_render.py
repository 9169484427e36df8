"""Keyframe looks rendered from the scene itself: its own engine, samples, world, lights, colour
management and compositor (the artist's look), at the job's size, one PNG per marker frame.

Unlike the control passes (`render_scene.temporary_scene`, a scene with capture settings), the
look must be the artist's, so the user's scene renders it; only what the job needs is set for the
render (size at 100 %, no render region, no sequencer, an 8-bit RGB PNG into a temporary folder,
the frame range of `render_scene.render_frame`) and every one of those values is put back
afterwards, error or not, with the current frame and any "Render Result" image the render made.
"""

from __future__ import annotations

import contextlib
import os
import shutil

from ..shared.errors import UserError
from .render_scene import render_frame, take_single_file, user_settings_restored

# (owner path, attribute): every value of the user's scene the look render sets, restored after in
# reverse order: the format before its colour options, the media type before the format
_SETTINGS = (
    ("render", "resolution_x"),
    ("render", "resolution_y"),
    ("render", "resolution_percentage"),
    ("render", "use_border"),
    ("render", "use_sequencer"),
    ("render", "filepath"),
    ("render", "use_file_extension"),
    ("render.image_settings", "color_depth"),
    ("render.image_settings", "color_mode"),
    ("render.image_settings", "file_format"),
    ("render.image_settings", "media_type"),  # 5.0: IMAGE / VIDEO; absent before (skipped)
    ("", "frame_start"),
    ("", "frame_end"),
)


@contextlib.contextmanager
def look_render_settings(scene, width: int, height: int):
    """The user's scene set up to render its look at width x height into a temporary folder
    (yielded); every changed value restored afterwards."""
    with user_settings_restored(scene, _SETTINGS, "ltx-keyframes-") as folder:
        r = scene.render
        r.resolution_x, r.resolution_y = int(width), int(height)
        r.resolution_percentage = 100
        r.use_border = False
        r.use_sequencer = False  # the sequencer may hold strips (an earlier result): render the 3D scene
        r.filepath = os.path.join(folder, "look_")
        r.use_file_extension = True
        fmt = r.image_settings
        if hasattr(fmt, "media_type"):
            fmt.media_type = "IMAGE"
        fmt.file_format = "PNG"
        fmt.color_mode = "RGB"
        fmt.color_depth = "8"
        yield folder


def render_keyframe_looks(scene, looks, width: int, height: int, out_dir: str, progress=None) -> list[str]:
    """One PNG per look (rendered ones only: looks with an image file are skipped), saved in
    out_dir as `keyframe_<scene frame>.png`; returns the paths in the order of `looks`."""
    paths = []
    todo = [look for look in looks if look.image_path is None]
    os.makedirs(out_dir, exist_ok=True)
    with look_render_settings(scene, width, height) as folder:
        for i, look in enumerate(todo):
            try:
                render_frame(scene, look.scene_frame)
            except RuntimeError as exc:
                raise UserError(
                    f"keyframes: rendering the look of marker '{look.label}' (frame {look.scene_frame}) with "
                    f"{scene.render.engine} failed ({exc}); pick an engine that renders here (Cycles) or use "
                    "image files",
                    "keyframes",
                ) from None
            rendered = take_single_file(folder, "look_*.png")
            dest = os.path.join(out_dir, f"keyframe_{look.scene_frame:04d}.png")
            shutil.move(rendered, dest)
            paths.append(dest)
            if progress is not None:
                progress((i + 1) / len(todo), f"keyframe look at frame {look.scene_frame}")
    return paths
