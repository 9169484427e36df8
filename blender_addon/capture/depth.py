"""Depth: planar view-space Z per frame, background = +inf.

Rendered in capture's temporary scene (`render_scene.py`) with the cheapest engine that works
(Workbench without anti-aliasing where an EGL driver exists, else Cycles on the CPU with 1 sample,
no bounces), at `plan.depth_width x plan.depth_height` (by default the size the model sees), through
the File Output recipe in `compositor.py`, read back from the EXR. Pixels without geometry
(Blender writes 1e10 there) become +inf.
"""

from __future__ import annotations

import os

import numpy as np

from .compositor import install_pass_output
from .engine_probe import pick_engine
from .render_scene import read_image_pixels, render_frame, take_single_file, temporary_scene

BACKGROUND_Z = 1e9  # Blender writes 1e10 where no geometry is hit


def render_z(
    scene, frames, width: int, height: int, engine: str, progress=None, only_objects=(), only_collection=None
) -> np.ndarray:
    """(len(frames), height, width) float32 planar Z, +inf where nothing was hit."""
    out = np.empty((len(frames), height, width), dtype=np.float32)
    with temporary_scene(scene, width, height, engine, only_objects, only_collection) as (tmp, folder):
        tmp.view_layers[0].use_pass_z = True
        if engine == "CYCLES":
            tmp.cycles.max_bounces = 0
        exr_dir = os.path.join(folder, "z")
        os.makedirs(exr_dir)
        install_pass_output(tmp, exr_dir)
        for i, frame in enumerate(frames):
            render_frame(tmp, frame)
            path = take_single_file(exr_dir, "*.exr")
            z = read_image_pixels(path)[:, :, 0]
            os.remove(path)
            for leftover in os.listdir(folder):  # the image an animation render always writes
                if leftover.startswith("frame_"):
                    os.remove(os.path.join(folder, leftover))
            out[i] = np.where(z >= BACKGROUND_Z, np.inf, z)
            if progress is not None:
                progress((i + 1) / len(frames), f"{engine.lower().replace('blender_', '')} frame {frame}")
    return out


def capture_depth(scene, plan, settings, progress=None) -> np.ndarray:
    engine = pick_engine(settings.depth_engine)
    return render_z(scene, list(plan.frames), plan.depth_width, plan.depth_height, engine, progress)
