"""The add-on's properties: the scene's generation settings and the window manager's job state.

- `scene.ltx_scene` (`LTXSceneSettings`): what the N-panel edits, saved with the .blend.
  `attention_strength` is keyframable; the capture reads it after every `frame_set`.
- `window_manager.ltx_scene_job` (`LTXSceneJobState`): the running job's progress and the last error,
  run-time only (the window manager is not saved), written only on the main thread.
"""

from __future__ import annotations

import bpy
from bpy.props import (
    BoolProperty,
    CollectionProperty,
    EnumProperty,
    FloatProperty,
    IntProperty,
    PointerProperty,
    StringProperty,
)
from bpy.types import PropertyGroup

from . import ic_lora_choices

_ITEMS: dict[tuple[str, str], list] = {}  # Blender needs the enum items' strings kept alive: one list per state


def _ic_lora_items(self, context):
    """The IC-LoRAs the connected backend's bundle offers (recorded by Check Backend on the main
    thread), else the built-in ones; the chosen name is always listed."""
    wm = getattr(context, "window_manager", None) or bpy.context.window_manager
    raw = getattr(getattr(wm, "ltx_scene_job", None), "backend_rules", "") or ""
    key = (raw, self.ic_lora)
    if key not in _ITEMS:
        from .settings import parse_rules

        if len(_ITEMS) > 64:
            _ITEMS.clear()
        _ITEMS[key] = ic_lora_choices.items(parse_rules(raw), self.ic_lora)
    return _ITEMS[key]


def _get_ic_lora(self) -> int:
    for identifier, _, _, number in _ic_lora_items(self, bpy.context):
        if identifier == self.ic_lora:
            return number
    return 0


def _set_ic_lora(self, value: int) -> None:
    for identifier, _, _, number in _ic_lora_items(self, bpy.context):
        if number == value:
            self.ic_lora = identifier
            return


# Sizes valid for the official ref0.5 IC-LoRAs (multiples of 128): no resize of the control.
SIZE_PRESETS = [
    ("SCENE", "Scene Resolution", "The scene's render resolution, snapped to the size multiple"),
    ("768x512", "768 x 512 (3:2)", ""),
    ("896x512", "896 x 512 (16:9)", ""),
    ("1280x768", "1280 x 768 (5:3)", ""),
    ("1536x1024", "1536 x 1024 (3:2)", ""),
    ("512x512", "512 x 512 (1:1)", ""),
    ("1024x1024", "1024 x 1024 (1:1)", ""),
    ("512x896", "512 x 896 (9:16)", ""),
    ("768x1280", "768 x 1280 (3:5)", ""),
    ("CUSTOM", "Custom", "Width and height below"),
]

MASK_SOURCES = [
    ("NONE", "None", "Control the whole frame"),
    ("OBJECT", "Object", "Control only where this object is (its silhouette)"),
    ("COLLECTION", "Collection", "Control only where this collection's objects are"),
]

FIRST_FRAME_SOURCES = [
    ("NONE", "None", "Text-to-video: no first-frame image"),
    ("RENDER", "Render Scene", "Render the scene's first frame and condition frame 0 on it"),
    ("IMAGE", "Image File", "Condition frame 0 on an image file"),
]

KEYFRAME_SOURCES = [
    ("NONE", "None", "No keyframe looks"),
    (
        "MARKERS",
        "Timeline Markers",
        "Render the scene with its own engine at every timeline marker in the frame range; each render "
        "conditions the video at its frame (the artist's look)",
    ),
    ("LIST", "Image Files", "Condition the video at chosen frames on image files"),
]

DEPTH_ENGINES = [
    ("AUTO", "Auto", "Workbench where the GPU driver allows it, else Cycles on the CPU"),
    ("BLENDER_WORKBENCH", "Workbench", "Fast; needs an OpenGL/EGL driver"),
    ("CYCLES", "Cycles", "Always works (CPU, 1 sample)"),
]

RENDER_ENGINES = [
    ("SCENE", "Scene's Own", "The scene rendered with its own engine and settings (EEVEE, Cycles, ...)"),
    ("BLENDER_WORKBENCH", "Workbench", "The playblast look: solid shading (needs an OpenGL/EGL driver)"),
    ("CYCLES", "Cycles (quick)", "Cycles on the CPU with a few samples"),
]

RGB_ENGINES = [
    ("BLENDER_WORKBENCH", "Workbench", "Fast solid shading"),
    ("CYCLES", "Cycles", "Path traced"),
]

RIG_PRESETS = [
    ("auto", "Auto", "Recognize the rig from its bone names"),
    ("metarig", "Metarig", "Blender's human metarig"),
    ("rigify", "Rigify", "A generated Rigify rig"),
    ("mixamo", "Mixamo", "Mixamo bone names"),
]


class LTXSceneLora(PropertyGroup):
    name: StringProperty(name="LoRA", description="Name of a LoRA in the backend's model bundle")
    strength: FloatProperty(name="Strength", default=1.0, min=-2.0, max=2.0, soft_min=0.0, soft_max=1.5)


class LTXSceneKeyframeImage(PropertyGroup):
    frame: IntProperty(name="Frame", default=1, description="The scene frame this image conditions")
    image: StringProperty(name="Image", subtype="FILE_PATH", default="", description="A PNG or JPEG")


class LTXSceneTrackTarget(PropertyGroup):
    object: PointerProperty(
        name="Object", type=bpy.types.Object, description="Object (its origin) or armature to follow"
    )
    bone: StringProperty(name="Bone", description="Bone of the armature (its head); empty: the object")


class LTXSceneSettings(PropertyGroup):
    # The IC-LoRA by name (the backend's bundle lists them with the scene pass that feeds each);
    # `control_kind` is its dropdown, and assigning a name to it sets this
    ic_lora: StringProperty(
        name="IC-LoRA Name", default="depth", description="Name of the IC-LoRA in the backend's model bundle"
    )
    control_kind: EnumProperty(
        name="IC-LoRA",
        items=_ic_lora_items,
        get=_get_ic_lora,
        set=_set_ic_lora,
        description="The IC-LoRA to generate with; it sets which scene pass is captured",
    )
    prompt: StringProperty(name="Prompt", description="What the video shows", default="")
    seed: IntProperty(name="Seed", default=0, min=0)
    size_preset: EnumProperty(name="Size", items=SIZE_PRESETS, default="768x512")
    width: IntProperty(name="Width", default=768, min=32, max=8192, step=64)
    height: IntProperty(name="Height", default=512, min=32, max=8192, step=64)
    reference_factor: IntProperty(
        name="Reference Factor",
        default=2,
        min=1,
        max=4,
        description="The IC-LoRA's reference_downscale_factor (2 for the official ref0.5 LoRAs): "
        "sizes must be multiples of 64 x factor",
    )
    snap: BoolProperty(
        name="Snap Frames and Size",
        default=True,
        description="Snap the frame count to 8k+1 and the size to the multiple instead of refusing",
    )
    preview: BoolProperty(
        name="Quick Preview", default=False, description="Stage 1 only, at half size: fast look before the full run"
    )

    # keyframable: the capture reads it after every frame_set
    attention_strength: FloatProperty(
        name="Attention Strength",
        default=1.0,
        min=0.0,
        max=1.0,
        options={"ANIMATABLE"},
        description="How strongly the video follows the control (keyframe it to fade control)",
    )
    conditioning_strength: FloatProperty(
        name="Conditioning Strength",
        default=1.0,
        min=0.0,
        max=1.0,
        description="Denoise strength of the reference tokens (1: keep the control clean)",
    )
    mask_source: EnumProperty(name="Mask", items=MASK_SOURCES, default="NONE")
    mask_object: PointerProperty(name="Mask Object", type=bpy.types.Object)
    mask_collection: PointerProperty(name="Mask Collection", type=bpy.types.Collection)

    first_frame_source: EnumProperty(name="First Frame", items=FIRST_FRAME_SOURCES, default="NONE")
    first_frame_image: StringProperty(name="Image", subtype="FILE_PATH", default="")

    keyframe_source: EnumProperty(name="Keyframe Looks", items=KEYFRAME_SOURCES, default="NONE")
    keyframe_strength: FloatProperty(
        name="Look Strength",
        default=1.0,
        min=0.0,
        max=1.0,
        description="How strictly the video takes each keyframe image (1: the image exactly)",
    )
    keyframe_images: CollectionProperty(type=LTXSceneKeyframeImage)

    ic_lora_strength: FloatProperty(name="IC-LoRA Strength", default=1.0, min=0.0, max=2.0, soft_max=1.0)
    loras: CollectionProperty(type=LTXSceneLora)

    # capture details
    depth_engine: EnumProperty(name="Depth Engine", items=DEPTH_ENGINES, default="AUTO")
    rgb_engine: EnumProperty(name="Render Engine", items=RGB_ENGINES, default="BLENDER_WORKBENCH")
    render_engine: EnumProperty(name="Render", items=RENDER_ENGINES, default="SCENE")
    rig_preset: EnumProperty(name="Rig", items=RIG_PRESETS, default="auto")
    hands: BoolProperty(name="Hands", default=True)
    face: BoolProperty(name="Face", default=True, description="The 68 DWPose face landmarks, fitted to each head")
    face_occlusion: BoolProperty(
        name="Hide Occluded Face Points",
        default=False,
        description="Drop face landmarks the character's own meshes hide from the camera (slower: ray casts)",
    )
    canny_preset: EnumProperty(
        name="Canny",
        items=[
            ("union-2.3", "LTX-2.3 Union (official)", "Canny 92/200 on the frame at 512 px short side"),
            ("trainer", "Trainer", "Canny 100/200 at the generation size, as the LTX trainer makes pairs"),
        ],
        default="union-2.3",
    )
    track_targets: CollectionProperty(type=LTXSceneTrackTarget)
    camera_anchors: BoolProperty(
        name="Camera Anchors",
        default=False,
        description="Also track points on the static geometry the camera sees, so the camera's move shows as tracks",
    )
    camera_anchor_count: IntProperty(
        name="Anchors", default=64, min=1, max=4096, soft_max=256, description="Most anchor tracks at a time"
    )
    anchor_spacing: FloatProperty(
        name="Spacing",
        default=0.0,
        min=0.0,
        soft_max=200.0,
        subtype="PIXEL",
        description="Pixels between anchors when they are placed (0: automatic, from the count and the size)",
    )
    anchor_reseed: BoolProperty(
        name="Reseed",
        default=True,
        description="Place new anchors where the frame empties (anchors end when they leave the frame or are hidden)",
    )


class LTXSceneJobState(PropertyGroup):
    """Run-time state of the current / last job (the window manager is never saved)."""

    status: StringProperty(name="Status", default="idle")  # idle|capturing|uploading|queued|running|
    #                                                        succeeded|failed|cancelled
    stage: StringProperty(name="Stage", default="")
    progress: FloatProperty(name="Progress", default=0.0, min=0.0, max=1.0, subtype="FACTOR")
    message: StringProperty(name="Message", default="")
    error: StringProperty(name="Error", default="")
    job_id: StringProperty(name="Job", default="")
    backend_status: StringProperty(name="Backend", default="not checked")
    backend_ok: BoolProperty(default=False)
    # the server's memory plan from /v1/health ("24 GB: 31 of 48 blocks resident, ..."); "" = unknown
    backend_memory: StringProperty(name="Backend Memory", default="")
    # a studio farm's workers from /v1/health, one line each ("w1 on box3: cuda:0, resident, idle"); "" = none
    backend_workers: StringProperty(name="Backend Workers", default="")
    # JSON {kind: {"factor", "multiple"}} from the backend's /v1/models; "" = no backend answered yet
    backend_rules: StringProperty(name="Backend Size Rules", default="")
    last_video: StringProperty(name="Last Result", subtype="FILE_PATH", default="")


CLASSES = (LTXSceneLora, LTXSceneKeyframeImage, LTXSceneTrackTarget, LTXSceneSettings, LTXSceneJobState)


def register() -> None:
    for cls in CLASSES:
        bpy.utils.register_class(cls)
    bpy.types.Scene.ltx_scene = PointerProperty(type=LTXSceneSettings)
    bpy.types.WindowManager.ltx_scene_job = PointerProperty(type=LTXSceneJobState)


def unregister() -> None:
    del bpy.types.WindowManager.ltx_scene_job
    del bpy.types.Scene.ltx_scene
    for cls in reversed(CLASSES):
        bpy.utils.unregister_class(cls)
