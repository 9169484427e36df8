"""What a training export does, as plain data (no bpy types): filled by the operator from the panel
and by the headless command from its arguments."""

from __future__ import annotations

from dataclasses import dataclass, field

from ..capture.settings import CaptureSettings

SHOT_SOURCES = ("range", "markers")


@dataclass
class TrainingSettings:
    """`capture` is the control's capture settings (kind, tracks, mask, pose options, ...); its size
    and frame range are set per shot. width / height None: the scene's render size; both are snapped
    to the trainer's bucket multiples. engine "SCENE": the scene's own engine and look (see
    target_render.py)."""

    out_dir: str
    capture: CaptureSettings = field(default_factory=CaptureSettings)
    caption: str = ""
    shots: str = "range"
    width: int | None = None
    height: int | None = None
    reference_factor: int = 1
    engine: str = "SCENE"  # capture.rgb.RENDER_ENGINES: the scene's own look, or Workbench / Cycles
    samples: int = 16  # Cycles samples where the target renders in capture's temporary scene
    source: str = ""  # the .blend's path (names the shot files); "" for an unsaved file
