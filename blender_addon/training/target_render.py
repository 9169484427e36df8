"""The target video's frames: a real render of the scene, through capture's one renderer.

`capture.rgb.render_frames` with engine "SCENE" renders the user's scene in its own look (its
engine, samples, world, view transform, compositor; only size, output and frame range are set, and
restored afterwards). Where that engine cannot render in this process (EEVEE / Workbench without an
EGL driver, headless) it renders with Cycles in capture's temporary scene at `samples` samples; this
module says so in a note and names the engine that really rendered (recorded per row).
"BLENDER_WORKBENCH" / "CYCLES" pick those engines in the temporary scene instead.
"""

from __future__ import annotations

from ..capture.engine_probe import engine_available, pick_engine
from ..capture.rgb import RENDER_ENGINES, render_frames

GL_ENGINES = ("BLENDER_WORKBENCH", "BLENDER_EEVEE", "BLENDER_EEVEE_NEXT")


def engine_used(scene, engine: str, samples: int, note) -> str:
    """The engine that will render the target ("SCENE" resolved to the scene's own or the fallback)."""
    if engine not in RENDER_ENGINES:
        raise ValueError(f"engine: {engine!r} is not one of {', '.join(RENDER_ENGINES)}")
    if engine != "SCENE":
        return pick_engine(engine)
    own = scene.render.engine
    if own not in GL_ENGINES or engine_available(own):
        return own
    note(
        f"{own} cannot render in this process (no OpenGL/EGL driver): the targets are rendered with Cycles "
        f"({samples} samples, no denoising; --samples to change) in a scene without the compositor"
    )
    return "CYCLES"


def render_target(scene, frames: range, width: int, height: int, engine: str, samples: int, progress):
    """(F, height, width, 3) uint8 target frames."""
    return render_frames(scene, frames, width, height, engine, samples=samples, progress=progress)
