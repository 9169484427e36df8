"""What to capture, as plain data (no bpy types), and how a scene's range and size become a plan.

The panel fills a `CaptureSettings` from its properties, the headless command from its arguments;
`resolve_plan` turns it plus the scene's own values into a `CapturePlan` that states the exact frame
range and sizes, and says in `notes` what was snapped (8k+1 frames, size multiples) so the panel can
show it before anything runs.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from fractions import Fraction

from ..shared.camera_anchors import MAX_COUNT as MAX_ANCHORS
from ..shared.camera_anchors import anchor_rules
from ..shared.control_kinds import SCENE_PASSES
from ..shared.raster.canny import CANNY_PRESETS
from ..shared.errors import UserError
from ..shared.video_rules import (
    check_frames,
    check_size,
    parse_fps,
    reference_size,
    size_multiple,
    snap_frames,
    snap_size,
)

KINDS = SCENE_PASSES
DEPTH_ENGINES = ("AUTO", "BLENDER_WORKBENCH", "CYCLES")
RGB_ENGINES = ("BLENDER_WORKBENCH", "CYCLES")
RENDER_ENGINES = ("SCENE", "BLENDER_WORKBENCH", "CYCLES")  # the `render` pass; SCENE: the scene's own look
RIG_PRESETS = ("auto", "metarig", "rigify", "mixamo", "custom")
DEPTH_SIZES = ("reference", "full")


@dataclass
class CaptureSettings:
    """Everything capture needs to know; every field has a usable default.

    Object, collection and bone names refer to the scene being captured. A track target is an
    object name ("Ball") or an armature bone ("Armature:hand.L").
    """

    kind: str = "depth"
    # Generation size; None: the scene's render resolution (times its percentage).
    width: int | None = None
    height: int | None = None
    # Frame range; None: the scene's frame_start / its range length.
    frame_start: int | None = None
    frame_count: int | None = None
    fps: Fraction | str | float | None = None  # None: the scene's fps / fps_base
    snap: bool = True  # snap frames to 8k+1 and the size to the multiple (else refuse)
    reference_downscale_factor: int = 1
    # depth
    depth_engine: str = "AUTO"  # AUTO: Workbench where an EGL driver works, else Cycles (CPU)
    depth_size: str = "reference"  # "reference": the size the model sees; "full": generation size
    # pose
    armatures: tuple[str, ...] | None = None  # None: every visible armature with a known rig
    rig_preset: str = "auto"
    custom_mapping: dict[str, str] = field(default_factory=dict)  # keypoint name -> bone name
    hands: bool = True
    face: bool = True  # the 68 DWPose face landmarks, fitted to each head
    face_occlusion: bool = False  # drop face points the character's own meshes hide (ray casts)
    # canny: a preset of shared/raster/canny.py ("union-2.3", the official workflow's; "trainer")
    canny: str = "union-2.3"
    # tracks
    track_targets: tuple[str, ...] = ()
    # camera anchors (shared/camera_anchors.py): tracks on static geometry that show the camera's
    # move; at most this many live at a time (0: off), seeded at least anchor_spacing px apart
    # (0: automatic from the count and size), new ones seeded where the frame empties (reseed)
    camera_anchors: int = 0
    anchor_spacing: float = 0.0
    anchor_reseed: bool = True
    # the `render` pass (rgb.render_frames): "SCENE" renders the scene with its own engine and settings,
    # "BLENDER_WORKBENCH" the playblast look, "CYCLES" Cycles with rgb_samples
    render_engine: str = "SCENE"
    # canny source
    rgb_engine: str = "BLENDER_WORKBENCH"
    rgb_samples: int = 4  # Cycles samples for the RGB render
    rgb_antialias: bool = False  # Workbench FXAA for the RGB render (about 4x slower on software GL)
    # masks (attention): silhouettes of these objects / this collection; empty: no mask
    mask_objects: tuple[str, ...] = ()
    mask_collection: str | None = None
    # image-to-video: a full-size RGB render of the first frame
    first_frame: bool = False

    def validate(self) -> None:
        def bad(name, allowed):
            value = getattr(self, name)
            if value not in allowed:
                raise UserError(f"{name}: {value!r} is not one of {', '.join(map(repr, allowed))}", name)

        bad("kind", KINDS)
        bad("canny", tuple(CANNY_PRESETS))
        bad("depth_engine", DEPTH_ENGINES)
        bad("rgb_engine", RGB_ENGINES)
        bad("render_engine", RENDER_ENGINES)
        bad("rig_preset", RIG_PRESETS)
        bad("depth_size", DEPTH_SIZES)
        for name in ("width", "height", "frame_count"):
            v = getattr(self, name)
            if v is not None and (not isinstance(v, int) or isinstance(v, bool) or v < 1):
                raise UserError(f"{name}: expected a positive integer or None, got {v!r}", name)
        if self.rig_preset == "custom" and not self.custom_mapping:
            raise UserError(
                "custom_mapping: the 'custom' rig preset needs a keypoint -> bone mapping "
                "(e.g. {'r_shoulder': 'UpperArm.R', ...}); or pick a preset",
                "custom_mapping",
            )
        c = self.camera_anchors
        if isinstance(c, bool) or not isinstance(c, int) or not 0 <= c <= MAX_ANCHORS:
            raise UserError(
                f"camera_anchors: expected a whole number from 0 (off) to {MAX_ANCHORS}, got {c!r}", "camera_anchors"
            )
        if self.kind == "tracks" and not self.track_targets and not self.camera_anchors:
            raise UserError(
                "track_targets: the tracks control needs at least one object or 'Armature:Bone' to follow, "
                "or camera anchors; add one",
                "track_targets",
            )
        if self.kind == "mask" and not (self.mask_objects or self.mask_collection):
            raise UserError(
                "mask_objects: the mask pass is the silhouettes of chosen objects; pick an object or a "
                "collection as the mask",
                "mask_objects",
            )
        if not isinstance(self.rgb_samples, int) or self.rgb_samples < 1:
            raise UserError(f"rgb_samples: expected a positive integer, got {self.rgb_samples!r}", "rgb_samples")


@dataclass(frozen=True)
class CapturePlan:
    """The exact capture: scene frames frame_start .. frame_start + frame_count - 1."""

    width: int
    height: int
    frame_start: int
    frame_count: int
    fps: Fraction
    depth_width: int
    depth_height: int
    notes: tuple[str, ...] = ()

    @property
    def frames(self) -> range:
        return range(self.frame_start, self.frame_start + self.frame_count)


def resolve_plan(
    settings: CaptureSettings,
    scene_width: int,
    scene_height: int,
    scene_frame_start: int,
    scene_frame_end: int,
    scene_fps,
) -> CapturePlan:
    """Combine settings with the scene's values; snap (or refuse) frames and size, explain it."""
    settings.validate()
    notes: list[str] = []
    multiple = size_multiple(settings.reference_downscale_factor)
    width = settings.width if settings.width is not None else int(scene_width)
    height = settings.height if settings.height is not None else int(scene_height)
    if settings.snap:
        sw, sh = snap_size(width, height, multiple)
        if (sw, sh) != (width, height):
            notes.append(f"size {width}x{height} snapped to {sw}x{sh} (multiples of {multiple})")
        width, height = sw, sh
    else:
        check_size(width, height, multiple)
    start = settings.frame_start if settings.frame_start is not None else int(scene_frame_start)
    if settings.frame_count is not None:
        count = settings.frame_count
    else:
        count = int(scene_frame_end) - start + 1
        if count < 1:
            raise UserError(
                f"frames: the scene's range {scene_frame_start}-{scene_frame_end} holds no "
                f"frame from {start}; set the scene's frame range",
                "frames",
            )
    if settings.snap:
        snapped = snap_frames(count)
        if snapped != count:
            notes.append(f"{count} frames snapped to {snapped} (8k+1): frames {start}-{start + snapped - 1}")
        count = snapped
    else:
        check_frames(count)
    fps = parse_fps(settings.fps if settings.fps is not None else scene_fps)
    if settings.kind == "tracks" and settings.camera_anchors:  # refused here, before anything runs
        anchor_rules(settings.camera_anchors, settings.anchor_spacing, settings.anchor_reseed, width, height)
    if settings.depth_size == "reference":
        # The engine's rule, preview or not: stage 1 at half size, the reference at stage-1 size / factor.
        dw, dh = reference_size(width, height, settings.reference_downscale_factor)
        if (dw, dh) != (width, height) and (
            settings.kind in ("depth", "normal") or settings.mask_objects or settings.mask_collection
        ):
            what = "normals" if settings.kind == "normal" else "depth"
            notes.append(f"{what} rendered at {dw}x{dh}, the size the model sees")
    else:
        dw, dh = width, height
    return CapturePlan(width, height, start, count, fps, dw, dh, tuple(notes))


def fps_of(fps: int, fps_base: float) -> Fraction:
    """A scene's exact frame rate from Blender's fps / fps_base (1.001 gives the NTSC rates)."""
    if math.isclose(fps_base, 1.001, rel_tol=1e-6):
        return Fraction(fps * 1000, 1001)
    return parse_fps(fps / fps_base)
