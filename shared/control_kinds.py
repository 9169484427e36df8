"""Scene passes and IC-LoRA bindings: the control vocabulary, defined here once for the whole project.

A *scene pass* is what capture reads from a scene and what a ControlPackage's `kind` names: the
control video an IC-LoRA is shown is made from one pass. A model bundle lists its IC-LoRAs by name
and names the pass that feeds each (backend/bundle.py); the *built-in* IC-LoRA names are the four
official controls, each bound to the pass of the same name (the Union Control IC-LoRA serves depth,
pose and canny, the Motion-Track IC-LoRA tracks). Bundles written before IC-LoRAs had names use
exactly these names, so a name that is a pass needs no `"pass"` field.

The order of `SCENE_PASSES` is the order users see them in (the panel, `--control` choices).
"""

from __future__ import annotations

SCENE_PASSES: tuple[str, ...] = ("render", "depth", "normal", "pose", "tracks", "canny", "mask")

# The official IC-LoRAs' names (and passes), the panel's list when no backend has answered, and the
# names old clients send as `control_kind`.
BUILTIN_IC_LORAS: tuple[str, ...] = ("depth", "pose", "tracks", "canny")
CONTROL_KINDS = BUILTIN_IC_LORAS  # the name this tuple had before passes were data

# One line each, for menus and help texts.
DESCRIPTIONS: dict[str, str] = {
    "render": "the scene rendered with its own engine (EEVEE / Cycles) or Workbench, the playblast look",
    "depth": "planar depth from the camera, near = white",
    "normal": "camera-space normals, RGB = n * 0.5 + 0.5 (x right, y up, z towards the camera)",
    "pose": "OpenPose / DWPose skeletons from the scene's armatures",
    "tracks": "motion tracks: object and bone paths as circle trails",
    "canny": "canny edges of a render of the scene",
    "mask": "silhouettes of chosen objects or a collection, white on black",
}
LABELS: dict[str, str] = {
    "render": "Render",
    "depth": "Depth",
    "normal": "Normals",
    "pose": "Pose",
    "tracks": "Motion Tracks",
    "canny": "Canny Edges",
    "mask": "Mask",
}


def is_scene_pass(name) -> bool:
    return isinstance(name, str) and name in SCENE_PASSES


def ic_lora_name(name: str) -> str:
    """The name an IC-LoRA goes by among a job's LoRAs (sidecars, logs, the engine): its bundle name
    with a prefix, so it never collides with an extra LoRA of the same name."""
    return f"ic-lora:{name}"
