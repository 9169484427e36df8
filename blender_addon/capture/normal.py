"""Normals: camera-space unit normals per frame, background = the zero vector.

Rendered in capture's temporary scene (`render_scene.py`) with Cycles on the CPU (Workbench has no
Normal pass; EEVEE needs an EGL driver), 1 sample, no bounces and a pixel filter of 0.01 px, so each
pixel holds the shading normal at its centre, never a blend of two surfaces. Cycles' Normal pass
is in world space; each frame is turned into the camera's axes (x right, y up, z towards the camera:
`n_cam = R^T n_world`, R the camera's world rotation at that frame). Rendered at
`plan.depth_width x plan.depth_height` (by default the size the model sees), read back from a
32-bit RGB EXR (`compositor.py`). The RGB encoding the IC-LoRA sees is `shared/raster/normal.py`.
"""

from __future__ import annotations

import os

import numpy as np

from .compositor import install_pass_output
from .render_scene import read_image_pixels, render_frame, take_single_file, temporary_scene

PIXEL_FILTER_PX = 0.01


def _depsgraph(scene):
    import bpy

    if bpy.context.scene == scene:
        return bpy.context.evaluated_depsgraph_get()
    return scene.view_layers[0].depsgraph


def camera_rotation(scene) -> np.ndarray:
    """(3, 3) float64: the scene camera's world rotation at the current frame (columns: its x, y, z axes)."""
    cam = scene.camera.evaluated_get(_depsgraph(scene))
    return np.array(cam.matrix_world.to_3x3().normalized(), dtype=np.float64)


def to_camera_space(world: np.ndarray, rotation: np.ndarray) -> np.ndarray:
    """(H, W, 3) world-space normals (zero where no geometry) -> unit camera-space normals, zeros kept."""
    n = np.asarray(world, np.float64) @ np.asarray(rotation, np.float64)  # row vectors: (R^T n)^T = n^T R
    length = np.linalg.norm(n, axis=-1, keepdims=True)
    out = np.divide(n, length, out=np.zeros_like(n), where=length > 0.5)  # a unit normal, or background
    return out.astype(np.float32)


def render_normals(scene, frames, width: int, height: int, progress=None) -> np.ndarray:
    """(len(frames), height, width, 3) float32 camera-space unit normals; (0, 0, 0) where nothing was hit."""
    frames = list(frames)
    out = np.empty((len(frames), height, width, 3), dtype=np.float32)
    saved = (scene.frame_current, scene.frame_subframe)
    try:
        with temporary_scene(scene, width, height, "CYCLES") as (tmp, folder):
            tmp.cycles.max_bounces = 0
            tmp.cycles.filter_width = PIXEL_FILTER_PX
            exr_dir = os.path.join(folder, "normal")
            os.makedirs(exr_dir)
            install_pass_output(tmp, exr_dir, "Normal")
            for i, frame in enumerate(frames):
                scene.frame_set(frame)
                rotation = camera_rotation(scene)
                render_frame(tmp, frame)
                path = take_single_file(exr_dir, "*.exr")
                world = read_image_pixels(path)[:, :, :3]
                os.remove(path)
                for leftover in os.listdir(folder):  # the image an animation render always writes
                    if leftover.startswith("frame_"):
                        os.remove(os.path.join(folder, leftover))
                out[i] = to_camera_space(world, rotation)
                if progress is not None:
                    progress((i + 1) / len(frames), f"normals frame {frame}")
    finally:
        scene.frame_set(saved[0], subframe=saved[1])
    return out


def capture_normals(scene, plan, settings, progress=None) -> np.ndarray:
    return render_normals(scene, plan.frames, plan.depth_width, plan.depth_height, progress)
