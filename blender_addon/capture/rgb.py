"""The canny source: a quick RGB render of the scene per frame (Workbench or Cycles, the user's
choice; Workbench falls back to Cycles where no EGL driver exists), at the generation size, 8-bit,
"Standard" view transform. Edges are made from it by the backend (OpenCV)."""

from __future__ import annotations

import os

import numpy as np

from .engine_probe import pick_engine
from .render_scene import read_image_pixels, render_frame, take_single_file, temporary_scene


def capture_rgb(scene, plan, settings, progress=None, frames=None) -> np.ndarray:
    """(F, height, width, 3) uint8."""
    frames = list(plan.frames) if frames is None else list(frames)
    engine = pick_engine(settings.rgb_engine)
    out = np.empty((len(frames), plan.height, plan.width, 3), dtype=np.uint8)
    with temporary_scene(scene, plan.width, plan.height, engine) as (tmp, folder):
        if engine == "CYCLES":
            tmp.cycles.samples = settings.rgb_samples
        else:
            # FXAA is several times slower on a software GL driver (benchmarks/README.md)
            tmp.display.render_aa = "FXAA" if settings.rgb_antialias else "OFF"
        fmt = tmp.render.image_settings
        fmt.file_format = "BMP"  # lossless 8-bit and the cheapest to write (PNG is slower)
        fmt.color_mode = "RGB"
        for i, frame in enumerate(frames):
            render_frame(tmp, frame)
            path = take_single_file(folder, "frame_*.bmp")
            px = read_image_pixels(path)[:, :, :3]
            os.remove(path)
            out[i] = np.clip(np.round(px * 255.0), 0, 255).astype(np.uint8)
            if progress is not None:
                progress((i + 1) / len(frames), f"rgb frame {frame}")
    return out
