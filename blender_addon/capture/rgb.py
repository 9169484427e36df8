"""Renders of the scene as 8-bit RGB frames: the `render` pass, the canny source and the first frame.

`render_frames(scene, frames, width, height, engine)` is the one renderer:
- engine "SCENE": the scene in its own look, rendered by itself with its own engine (EEVEE, Cycles,
  Workbench), samples, world, view transform and compositor (`render_scene.scene_as_is`: only size,
  output and frame range are set, and restored afterwards). Where that engine cannot render here
  (EEVEE or Workbench without an EGL driver, which would abort the process) it falls back to Cycles
  in a temporary scene and says so in the progress message;
- "BLENDER_WORKBENCH": the playblast look (solid shading) in capture's temporary scene, anti-aliasing
  only on request (several times slower on a software GL driver, benchmarks/README.md);
- "CYCLES": Cycles on the CPU with `samples` samples in the temporary scene.
Frames are rendered at the generation size, 8-bit, as BMP (lossless and the cheapest to write); the
temporary-scene engines use the "Standard" view transform. Canny edges are made from these by the
backend (and by Preview Controls in numpy).
"""

from __future__ import annotations

import os

import numpy as np

from .engine_probe import engine_available, pick_engine
from .render_scene import read_image_pixels, render_frame, scene_as_is, take_single_file, temporary_scene

RENDER_ENGINES = ("SCENE", "BLENDER_WORKBENCH", "CYCLES")


def render_frames(
    scene,
    frames,
    width: int,
    height: int,
    engine: str = "SCENE",
    samples: int = 4,
    antialias: bool = False,
    progress=None,
) -> np.ndarray:
    """(len(frames), height, width, 3) uint8 RGB renders of `scene` at those scene frames.

    engine: "SCENE" (the scene's own engine and settings), "BLENDER_WORKBENCH" or "CYCLES" (see above);
    samples: Cycles samples of the temporary scene; antialias: Workbench FXAA. The user's scene, its
    settings and its current frame are the same afterwards.
    """
    frames = list(frames)
    if engine not in RENDER_ENGINES:
        raise ValueError(f"engine: {engine!r} is not one of {', '.join(RENDER_ENGINES)}")
    note = ""
    if engine == "SCENE":
        own = scene.render.engine
        if _can_render(own):
            return _render(scene_as_is(scene, width, height), frames, width, height, progress, own.lower())
        engine, note = "CYCLES", f" (the scene's {own} cannot render here: no EGL driver; Cycles instead)"
    engine = pick_engine(engine)
    saved = (scene.frame_current, scene.frame_subframe)
    try:
        with temporary_scene(scene, width, height, engine) as (tmp, folder):
            if engine == "CYCLES":
                tmp.cycles.samples = int(samples)
            else:
                tmp.display.render_aa = "FXAA" if antialias else "OFF"
            return _render_in(tmp, folder, frames, width, height, progress, engine.lower() + note)
    finally:
        if (scene.frame_current, scene.frame_subframe) != saved:
            scene.frame_set(saved[0], subframe=saved[1])


def _can_render(engine: str) -> bool:
    """Engines that need an OpenGL context are probed (an EGL abort would kill the process)."""
    if engine in ("BLENDER_WORKBENCH", "BLENDER_EEVEE", "BLENDER_EEVEE_NEXT"):
        return engine_available(engine)
    return True  # Cycles and add-on engines


def _render(context, frames, width, height, progress, label) -> np.ndarray:
    with context as (target, folder):
        return _render_in(target, folder, frames, width, height, progress, label)


def _render_in(target, folder, frames, width, height, progress, label) -> np.ndarray:
    fmt = target.render.image_settings
    fmt.file_format = "BMP"  # lossless 8-bit and the cheapest to write (PNG is slower)
    fmt.color_mode = "RGB"
    out = np.empty((len(frames), height, width, 3), dtype=np.uint8)
    for i, frame in enumerate(frames):
        render_frame(target, frame)
        path = take_single_file(folder, "frame_*.bmp")
        px = read_image_pixels(path)[:, :, :3]
        os.remove(path)
        out[i] = np.clip(np.round(px * 255.0), 0, 255).astype(np.uint8)
        if progress is not None:
            progress((i + 1) / len(frames), f"{label.replace('blender_', '')} frame {frame}")
    return out


def capture_rgb(scene, plan, settings, progress=None, frames=None) -> np.ndarray:
    """The canny source and the first frame: (F, height, width, 3) uint8 with `settings.rgb_engine`."""
    frames = list(plan.frames) if frames is None else list(frames)
    return render_frames(
        scene,
        frames,
        plan.width,
        plan.height,
        settings.rgb_engine,
        samples=settings.rgb_samples,
        antialias=settings.rgb_antialias,
        progress=progress,
    )


def capture_render(scene, plan, settings, progress=None) -> np.ndarray:
    """The `render` pass: (F, height, width, 3) uint8 with `settings.render_engine` ("SCENE": its own look)."""
    return render_frames(
        scene,
        plan.frames,
        plan.width,
        plan.height,
        settings.render_engine,
        samples=settings.rgb_samples,
        antialias=settings.rgb_antialias,
        progress=progress,
    )
