"""The target video's frames: a real render of the scene with its own engine and look.

Rendered from a copy of the user's scene (`Scene.copy()`: the objects, world and compositor are
shared, the render settings copied), so the engine, samples, view transform, film and compositing
are the scene's own, while the size, output path, format and frame range are set on the copy only:
the user's scene is never changed. The copy is removed afterwards, with the "Render Result" image a
render creates. The sequencer is off in the copy (a scene holding imported strips would otherwise
render the strips instead of the 3D scene).

An engine that cannot render in this process (Workbench / EEVEE without an EGL driver, headless)
falls back to Cycles on the CPU, with a note; `engine` and `samples` override the scene's.
"""

from __future__ import annotations

import contextlib
import os

import bpy

from ..capture.engine_probe import engine_available
from ..shared.errors import UserError

COPY_NAME = "ltx_training_target"


def set_samples(scene, engine: str, samples: int) -> None:
    if engine == "CYCLES":
        scene.cycles.samples = samples
        scene.cycles.use_adaptive_sampling = False
    elif engine.startswith("BLENDER_EEVEE"):
        scene.eevee.taa_render_samples = samples


def resolve_engine(scene, engine: str | None, samples: int | None, note) -> str:
    wanted = engine or scene.render.engine
    if engine_available(wanted):
        return wanted
    at = f"{samples} samples" if samples is not None else f"the scene's {scene.cycles.samples} Cycles samples"
    note(
        f"{wanted} cannot render in this process (no OpenGL/EGL driver); the target is rendered with Cycles "
        f"on the CPU at {at}" + ("" if samples is not None else " (--samples to change)")
    )
    return "CYCLES"


@contextlib.contextmanager
def target_scene(scene, width: int, height: int, engine: str, samples: int | None, folder: str):
    """A copy of `scene` set up to render PNG frames of width x height into `folder`."""
    had_result = {img.name for img in bpy.data.images if img.type == "RENDER_RESULT"}
    copy = scene.copy()
    copy.name = COPY_NAME
    try:
        r = copy.render
        r.engine = engine
        r.resolution_x, r.resolution_y = int(width), int(height)
        r.resolution_percentage = 100
        r.use_border = False
        r.use_sequencer = False
        r.use_file_extension = True
        r.use_overwrite = True
        r.use_placeholder = False
        r.filepath = os.path.join(folder, "target_")
        fmt = r.image_settings
        if hasattr(fmt, "media_type"):  # 5.0: must be IMAGE before the file format
            fmt.media_type = "IMAGE"
        fmt.file_format = "PNG"
        fmt.color_mode = "RGB"
        fmt.color_depth = "8"
        if samples is not None:
            set_samples(copy, engine, samples)
        yield copy
    finally:
        bpy.data.scenes.remove(copy)
        for img in [i for i in bpy.data.images if i.type == "RENDER_RESULT" and i.name not in had_result]:
            bpy.data.images.remove(img)


def render_target_frames(scene, frames: range, width: int, height: int, engine: str, samples, folder: str, progress):
    """PNG files of `frames` rendered as the scene looks, in frame order (one path per frame)."""
    os.makedirs(folder, exist_ok=True)
    files = []
    with target_scene(scene, width, height, engine, samples, folder) as copy:
        for i, frame in enumerate(frames):
            # One-frame animations: a still render of a non-window scene renders the window scene's
            # frame (capture/render_scene.py); an animation takes the frame from the scene rendered.
            copy.frame_start = copy.frame_end = frame
            bpy.ops.render.render(animation=True, scene=copy.name)
            path = copy.render.frame_path(frame=frame)
            if not os.path.isfile(path):
                raise UserError(
                    f"render: {engine} wrote no frame {frame} ({path}); check that the scene renders (F12) "
                    "with this engine",
                    "render",
                )
            files.append(path)
            progress((i + 1) / len(frames), f"target frame {frame} ({engine})")
    return files
