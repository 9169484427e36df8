"""Resolve and validate one job before any heavy work: `JobPlan`.

Everything a user can get wrong is checked here, with the video rules, before a model loads or a
tensor is made: sizes (multiples of 64 x the IC-LoRA's reference factor), 8k+1 frame counts, fps,
strengths, the IC-LoRA (by name, or the bundle's IC-LoRA for the asked scene pass) and the pass that
feeds it, the extra LoRAs' names and reference factors, and the control's frame count.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from fractions import Fraction

import numpy as np

from shared.control_kinds import ic_lora_name
from shared.errors import UserError
from shared.keyframes import check_keyframe_entries
from shared.job_spec import GenerationSpec
from shared.package import REQUIRED_ARRAYS
from shared.video_rules import check_frames, check_size, parse_fps, reference_size, size_multiple, stage1_size

from .control import ControlInput, canny_record, check_control_input


@dataclass
class JobPlan:
    spec: GenerationSpec
    prompt: str
    seed: int
    kind: str  # the scene pass the control video is made from (the IC-LoRA's pass)
    width: int  # output size (stage 2); the preview's output is stage-1 size
    height: int
    frames: int
    fps: Fraction
    preview: bool
    reference_downscale_factor: int
    ic_lora_path: str
    ic_lora_strength: float
    extra_loras: list[tuple[str, str, float]] = field(default_factory=list)  # (name, path, strength)
    attention_strength: float = 1.0
    conditioning_strength: float = 1.0
    source: str = "package"  # "package" | "video"
    canny: dict | None = None  # the edge settings of a canny job from a package (control.canny_record)
    keyframes: list[dict] = field(default_factory=list)  # [{"frame", "strength"}] checked against `frames`
    ic_lora: str = ""  # the bundle's name of the IC-LoRA ("" in plans made before names: the kind)

    @property
    def ic_lora_key(self) -> str:
        return self.ic_lora or self.kind

    @property
    def stage1_width(self) -> int:
        return stage1_size(self.width, self.height)[0]

    @property
    def stage1_height(self) -> int:
        return stage1_size(self.width, self.height)[1]

    @property
    def ref_width(self) -> int:
        return reference_size(self.width, self.height, self.reference_downscale_factor)[0]

    @property
    def ref_height(self) -> int:
        return reference_size(self.width, self.height, self.reference_downscale_factor)[1]

    @property
    def out_width(self) -> int:
        return self.stage1_width if self.preview else self.width

    @property
    def out_height(self) -> int:
        return self.stage1_height if self.preview else self.height

    def lora_strengths(self) -> list[tuple[str, float]]:
        """Stage-1 LoRAs in the order the stock ledger would list them: the IC-LoRA, then the extras."""
        return [(ic_lora_name(self.ic_lora_key), self.ic_lora_strength)] + [(n, s) for n, _, s in self.extra_loras]


def make_plan(spec: GenerationSpec, control: ControlInput, bundle) -> JobPlan:
    """bundle: a `backend.bundle.Bundle`."""
    if not isinstance(spec, GenerationSpec):
        raise UserError(f"spec: expected a GenerationSpec, got {type(spec).__name__}", field="spec")
    spec.validate()
    check_control_input(control)
    pkg = control.package

    asked = spec.control_kind or (pkg.kind if pkg is not None and spec.ic_lora is None else None)
    if spec.ic_lora is None and asked is None:
        raise UserError(
            "ic_lora: a control video carries no kind; name the IC-LoRA (ic_lora) or its scene pass "
            f"(control_kind): the bundle has {bundle.offered()}",
            field="ic_lora",
        )
    ic_name, ic = bundle.resolve_ic_lora(spec.ic_lora, asked)
    # The control is made from the IC-LoRA's pass; a package of another kind can feed it when it holds
    # the arrays that pass needs (canny edges of a `render` package's render).
    kind = ic.scene_pass
    if pkg is not None:
        missing = [name for name in REQUIRED_ARRAYS[kind] if getattr(pkg, name, None) is None]
        if missing:
            raise UserError(
                f"control: IC-LoRA {ic_name!r} follows the {kind!r} pass, but this is a {pkg.kind!r} package "
                f"without the {', '.join(missing)} array; capture the {kind!r} pass "
                f"(render-controls --control {kind}, or pick that IC-LoRA in the panel)",
                field="control",
            )

    # Sizes and frames: the spec's, else the package's, else the control video's.
    video = control.video
    width = spec.width or (pkg.width if pkg is not None else int(video.shape[2]))
    height = spec.height or (pkg.height if pkg is not None else int(video.shape[1]))
    frames = spec.frames or (pkg.frame_count if pkg is not None else int(video.shape[0]))
    if spec.fps is not None:
        fps = parse_fps(spec.fps)
    elif pkg is not None:
        fps = parse_fps(pkg.fps)
    else:
        raise UserError(
            "fps: a control video needs the job's fps (the package records it, a video does not "
            "travel with it here); pass --fps",
            field="fps",
        )
    check_frames(frames)
    # Keyframe looks: every index usable in this job's frames (shared/keyframes.py), frame 0 not twice.
    keyframes = check_keyframe_entries(spec.keyframes, int(frames))
    check_first_frame_conflict(spec, control.first_frame is not None, pkg)

    extras: list[tuple[str, str, float]] = []
    seen = set()
    for entry in spec.loras:
        name = entry["name"]
        if name in seen:
            raise UserError(f"loras: {name!r} is listed twice; give each LoRA once", field="loras")
        seen.add(name)
        if name not in bundle.loras:
            raise UserError(
                f"loras: the bundle has no LoRA named {name!r}; it has {', '.join(sorted(bundle.loras)) or 'none'}",
                field="loras",
            )
        strength = float(entry.get("strength", bundle.loras[name].strength))
        if not math.isfinite(strength):
            raise UserError(f"loras: {name!r} strength must be finite", field="loras")
        extras.append((name, str(bundle.loras[name].path), strength))

    _, factor = bundle.job_loras(ic_name, [n for n, _, _ in extras])
    check_size(width, height, size_multiple(factor))

    for name, value in (
        ("attention_strength", spec.attention_strength),
        ("conditioning_strength", spec.conditioning_strength),
    ):
        if not 0.0 <= value <= 1.0:
            raise UserError(f"{name}: {value} is outside [0, 1]", field=name)

    return JobPlan(
        spec=spec,
        prompt=spec.prompt,
        seed=int(spec.seed),
        kind=kind,
        width=int(width),
        height=int(height),
        frames=int(frames),
        fps=fps,
        preview=bool(spec.preview),
        reference_downscale_factor=factor,
        ic_lora_path=str(ic.path),
        ic_lora_strength=float(spec.ic_lora_strength),
        extra_loras=extras,
        attention_strength=float(spec.attention_strength),
        conditioning_strength=float(spec.conditioning_strength),
        source="package" if pkg is not None else "video",
        canny=canny_record(control, kind),
        keyframes=keyframes,
        ic_lora=ic_name,
    )


def check_first_frame_conflict(spec: GenerationSpec, has_image: bool, pkg) -> None:
    """A keyframe at frame 0 and a first-frame image (sent, or the package's with use_first_frame)
    would both set frame 0: refused, never one silently dropped."""
    if not any(k["frame"] == 0 for k in spec.keyframes):
        return
    if has_image:
        raise UserError(
            "keyframes: frame 0 has a keyframe image and a first-frame image too; give frame 0 one image: "
            "drop the keyframe at frame 0 or the first-frame image",
            field="keyframes",
        )
    if spec.use_first_frame and pkg is not None and getattr(pkg, "first_frame", None) is not None:
        raise UserError(
            "keyframes: frame 0 has a keyframe image and the package's first_frame too; give frame 0 one "
            "image: drop the keyframe at frame 0, or set use_first_frame to false (--no-package-image)",
            field="keyframes",
        )


def first_frame_image(spec: GenerationSpec, control: ControlInput) -> np.ndarray | None:
    """The first-frame image of the job: the explicit one, else the package's when use_first_frame."""
    if control.first_frame is not None:
        return control.first_frame
    pkg = control.package
    if spec.use_first_frame and pkg is not None and getattr(pkg, "first_frame", None) is not None:
        return pkg.first_frame
    return None
