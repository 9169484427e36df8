"""The operator's one plain settings object, snapshotted from the scene's properties.

`snapshot(context)` reads `scene.ltx_scene`, the scene's frame range / fps / resolution and the
add-on preferences once, on the main thread, and returns a frozen `GenerateSettings` made only of
plain Python values (no bpy types): the capture settings, the resolved plan (exact frames, size and
fps), the validated `GenerationSpec` JSON and the backend connection. Everything after this point
(capture, worker thread, VSE import) works from it, so a user editing the panel mid-job changes
nothing.
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from dataclasses import dataclass
from fractions import Fraction

import bpy

from . import preferences
from .capture.keyframe_plan import KeyframeLook, plan_keyframes
from .capture.settings import CapturePlan, CaptureSettings, fps_of
from .client.http import BackendSettings
from .shared.errors import UserError
from .shared.job_spec import GenerationSpec
from .shared.video_rules import format_fps


@dataclass(frozen=True)
class GenerateSettings:
    scene_name: str
    capture: CaptureSettings
    plan: CapturePlan
    spec: dict  # GenerationSpec.to_json(), validated
    backend: BackendSettings
    first_frame_source: str  # NONE | RENDER | IMAGE
    first_frame_image: str | None  # absolute path when IMAGE
    output_dir: str  # this job's folder (not created yet)
    keyframes: tuple[KeyframeLook, ...] = ()  # keyframe looks, in the order of spec["keyframes"]

    @property
    def frame_start(self) -> int:
        return self.plan.frame_start

    @property
    def frame_count(self) -> int:
        return self.plan.frame_count

    @property
    def fps(self) -> Fraction:
        return self.plan.fps

    def parameters(self) -> dict:
        """What gets stored on the strips: the spec plus where it came from (JSON-ready)."""
        return {
            "spec": dict(self.spec),
            "scene": self.scene_name,
            "control_kind": self.capture.kind,
            "ic_lora": self.spec.get("ic_lora") or self.capture.kind,
            "frame_start": self.plan.frame_start,
            "frame_count": self.plan.frame_count,
            "fps": format_fps(self.plan.fps),
            "width": self.plan.width,
            "height": self.plan.height,
            "first_frame": self.first_frame_source,
            "keyframes": [
                {"scene_frame": k.scene_frame, "frame": k.job_frame, "strength": k.strength, "label": k.label}
                for k in self.keyframes
            ],
            "backend_url": self.backend.url,
        }


def size_of(props, scene) -> tuple[int | None, int | None]:
    """The requested generation size: a preset, the custom size, or None (the scene's resolution)."""
    preset = props.size_preset
    if preset == "SCENE":
        pct = scene.render.resolution_percentage / 100.0
        return (max(1, round(scene.render.resolution_x * pct)), max(1, round(scene.render.resolution_y * pct)))
    if preset == "CUSTOM":
        return int(props.width), int(props.height)
    w, h = preset.split("x")
    return int(w), int(h)


def parse_rules(raw: str) -> dict | None:
    """The recorded `backend_rules` JSON as a dict, or None (no answer yet, or unreadable)."""
    if not raw:
        return None
    try:
        rules = json.loads(raw)
    except ValueError:
        return None
    return rules if isinstance(rules, dict) else None


def backend_rules(wm=None) -> dict | None:
    """The backend's IC-LoRAs with their passes and size rules (`client.http.size_rules`), or None
    before any answer."""
    wm = wm if wm is not None else getattr(bpy.context, "window_manager", None)
    state = getattr(wm, "ltx_scene_job", None) if wm is not None else None
    return parse_rules(getattr(state, "backend_rules", "") if state is not None else "")


def chosen_ic_lora(props, rules: dict | None = None) -> tuple[str, str]:
    """(IC-LoRA name, the scene pass that feeds it) of the panel's choice; raises a `UserError` that
    lists what the backend offers when it has no such IC-LoRA."""
    from .ic_lora_choices import scene_pass_of

    name = props.ic_lora
    return name, scene_pass_of(name, rules)


def reference_factor_for(props, kind: str, rules: dict | None) -> tuple[int, str]:
    """(reference factor, where it came from) for `kind`: the backend's when it answered, else the
    panel's manual `reference_factor`. Raises when the backend's bundle has no IC-LoRA for `kind`."""
    if rules is None:
        return int(props.reference_factor), "manual (no backend answered yet)"
    if kind not in rules:
        offered = ", ".join(sorted(rules)) or "none"
        raise UserError(
            f"control: the backend's model bundle has no IC-LoRA for '{kind}' "
            f"(it offers: {offered}); pick one of those control kinds or serve a "
            "bundle with that IC-LoRA",
            "control_kind",
        )
    rule = rules[kind]
    return int(rule["factor"]), f"from the backend (multiple {int(rule['multiple'])})"


def capture_settings(props, scene) -> CaptureSettings:
    """The capture part of the panel as a `CaptureSettings` (names, never bpy objects)."""
    width, height = size_of(props, scene)
    rules = backend_rules()
    name, kind = chosen_ic_lora(props, rules)
    mask_objects: tuple[str, ...] = ()
    mask_collection = None
    if props.mask_source == "OBJECT":
        if props.mask_object is None:
            raise UserError(
                "mask: the mask source is 'Object' but no object is picked; pick one or set the mask to None",
                "mask_object",
            )
        mask_objects = (props.mask_object.name,)
    elif props.mask_source == "COLLECTION":
        if props.mask_collection is None:
            raise UserError(
                "mask: the mask source is 'Collection' but no collection is picked; pick one or set the mask to None",
                "mask_collection",
            )
        mask_collection = props.mask_collection.name
    targets = []
    for t in props.track_targets:
        if t.object is None:
            continue
        targets.append(f"{t.object.name}:{t.bone}" if t.bone else t.object.name)
    if kind == "mask" and not (mask_objects or mask_collection):
        raise UserError(
            f"mask: IC-LoRA '{name}' follows the mask pass (silhouettes): set Mask under Control to an "
            "Object or a Collection",
            "mask_source",
        )
    anchors = int(props.camera_anchor_count) if props.camera_anchors else 0
    if kind == "tracks" and not targets and not anchors:
        raise UserError(
            "tracks: the Motion Tracks control needs at least one object or bone to "
            "follow; select objects and press 'Add Selected' under Tracks, or turn on Camera Anchors",
            "track_targets",
        )
    return CaptureSettings(
        kind=kind,
        width=width,
        height=height,
        frame_start=None,
        frame_count=None,
        fps=fps_of(scene.render.fps, scene.render.fps_base),
        snap=bool(props.snap),
        reference_downscale_factor=reference_factor_for(props, name, rules)[0],
        depth_engine=props.depth_engine,
        rig_preset=props.rig_preset,
        hands=bool(props.hands),
        face=bool(props.face),
        face_occlusion=bool(props.face_occlusion),
        canny=str(props.canny_preset),
        track_targets=tuple(targets),
        camera_anchors=anchors,
        anchor_spacing=float(props.anchor_spacing),
        anchor_reseed=bool(props.anchor_reseed),
        rgb_engine=props.rgb_engine,
        render_engine=props.render_engine,
        mask_objects=mask_objects,
        mask_collection=mask_collection,
        first_frame=props.first_frame_source == "RENDER",
    )


def plan_for(props, scene) -> tuple[CaptureSettings, CapturePlan]:
    from .capture.package import plan_capture

    settings = capture_settings(props, scene)
    return settings, plan_capture(scene, settings)


def backend_settings(context) -> BackendSettings:
    prefs = preferences.get(context)
    if prefs is None:
        return BackendSettings(
            url=preferences.DEFAULT_URL, token="", allow_remote=bool(getattr(bpy.app, "online_access", True))
        )
    return BackendSettings(
        url=prefs.backend_url.strip().rstrip("/"),
        token=prefs.token.strip(),
        allow_remote=bool(getattr(bpy.app, "online_access", True)),
        connect_timeout=float(prefs.connect_timeout),
        read_timeout=float(prefs.read_timeout),
        start_command=prefs.start_command.strip(),
    )


def output_root(context) -> str:
    """The folder results go to: the preference, '//ltx_scene' beside a saved .blend, or the
    extension's user folder (a temp folder when registered outside the extension system)."""
    prefs = preferences.get(context)
    if prefs is not None and prefs.output_dir.strip():
        return bpy.path.abspath(prefs.output_dir.strip())
    if bpy.data.filepath:
        return bpy.path.abspath("//ltx_scene")
    try:
        return bpy.utils.extension_path_user(preferences.ADDON_PACKAGE, path="results", create=True)
    except (ValueError, AttributeError):
        return os.path.join(tempfile.gettempdir(), "ltx_scene")


def snapshot(context, seed: int | None = None) -> GenerateSettings:
    """Everything one Generate needs, read now; raises `UserError` on anything the user must fix."""
    scene = context.scene
    props = scene.ltx_scene
    capture, plan = plan_for(props, scene)
    first_image = None
    if props.first_frame_source == "IMAGE":
        raw = props.first_frame_image.strip()
        if not raw:
            raise UserError(
                "first frame: the source is 'Image File' but no image is chosen; pick one or set the source to None",
                "first_frame_image",
            )
        first_image = os.path.abspath(bpy.path.abspath(raw))
        if not os.path.isfile(first_image):
            raise UserError(
                f"first frame: the image {first_image} does not exist; pick an existing PNG or JPEG",
                "first_frame_image",
            )
    loras = [{"name": lo.name.strip(), "strength": float(lo.strength)} for lo in props.loras if lo.name.strip()]
    keyframes = keyframe_looks(props, scene, plan)
    spec = GenerationSpec(
        prompt=props.prompt,
        seed=int(props.seed if seed is None else seed),
        width=plan.width,
        height=plan.height,
        frames=plan.frame_count,
        fps=format_fps(plan.fps),
        control_kind=capture.kind,
        ic_lora=props.ic_lora,
        attention_strength=1.0,  # the keyframed strength travels per frame in the package
        conditioning_strength=float(props.conditioning_strength),
        ic_lora_strength=float(props.ic_lora_strength),
        loras=loras,
        preview=bool(props.preview),
        use_first_frame=props.first_frame_source != "NONE",
        keyframes=[k.spec_entry() for k in keyframes],
    ).to_json()
    stamp = time.strftime("%Y%m%d-%H%M%S")
    folder = os.path.join(output_root(context), f"{bpy.path.clean_name(scene.name)}_{stamp}_seed{spec['seed']}")
    return GenerateSettings(
        scene_name=scene.name,
        capture=capture,
        plan=plan,
        spec=spec,
        backend=backend_settings(context),
        first_frame_source=props.first_frame_source,
        first_frame_image=first_image,
        output_dir=folder,
        keyframes=keyframes,
    )


def _abs_path(raw: str) -> str:
    raw = raw.strip()
    return os.path.abspath(bpy.path.abspath(raw)) if raw else ""


def keyframe_looks(props, scene, plan: CapturePlan) -> tuple[KeyframeLook, ...]:
    """The panel's Keyframe Looks for this plan's frames (timeline markers or image files)."""
    return plan_keyframes(
        props.keyframe_source,
        frame_start=plan.frame_start,
        frame_count=plan.frame_count,
        strength=round(float(props.keyframe_strength), 4),  # the float32 property's 0.8 is 0.800000011...
        markers=[(m.name, int(m.frame)) for m in scene.timeline_markers],
        entries=[(int(e.frame), _abs_path(e.image)) for e in props.keyframe_images],
        first_frame_source=props.first_frame_source,
    )
