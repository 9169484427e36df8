"""The control kinds: the scene passes an IC-LoRA can follow. Defined here once for the whole project.

The order is the order users see them in (the panel, `--control` choices, `/v1/models`).
"""

from __future__ import annotations

CONTROL_KINDS: tuple[str, ...] = ("depth", "pose", "tracks", "canny")

# One line each, for menus and help texts.
DESCRIPTIONS: dict[str, str] = {
    "depth": "planar depth from the camera, near = white",
    "pose": "OpenPose / DWPose skeletons from the scene's armatures",
    "tracks": "motion tracks: object and bone paths as circle trails",
    "canny": "canny edges of a render of the scene",
}
LABELS: dict[str, str] = {"depth": "Depth", "pose": "Pose", "tracks": "Motion Tracks", "canny": "Canny Edges"}


def ic_lora_name(kind: str) -> str:
    """The name a control kind's IC-LoRA goes by among a job's LoRAs (sidecars, logs, the engine)."""
    return f"ic-lora:{kind}"
