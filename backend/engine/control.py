"""What a job is conditioned on, as arrays, before any torch work.

`ControlInput` is the engine's input contract (docs/contracts.md): a ControlPackage, or a ready
control video, plus an optional attention mask and first-frame image. `control_frames` turns it into
the uint8 control video the reference latent is encoded from:
- a package: `shared.raster.model_frames.reference_frames` at the IC-LoRA's *reference* size
  (stage-1 size / reference_downscale_factor), the one function the add-on's Preview Controls
  uses too, so the preview is what the model sees: pose and tracks drawn at the package's size
  and resized, canny edges by the package's recorded settings (the Union 2.3 workflow's 92 / 200
  at 512 px short side by default, `canny_record` says which), depth at the reference size;
- a control video is used as given; the official resize (bilinear, cover + centre crop) happens in
  `conditioning.reference_video_tensor`, exactly as the stock pipeline does after decoding a file.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from shared.errors import UserError
from shared.raster.canny import canny_settings
from shared.raster.model_frames import attention_weights, reference_frames


@dataclass
class KeyframeImage:
    """One keyframe look: the image (at the job's size) and the SHA-256 of the file it was read from."""

    image: np.ndarray  # (H, W, 3) uint8
    sha256: str | None = None  # of the uploaded / given file (the sidecar records it); None: given as an array


@dataclass
class ControlInput:
    package: object | None = None  # shared.package.ControlPackage
    video: np.ndarray | None = None  # (F, H, W, 3) uint8 control video
    mask: np.ndarray | None = None  # (F, H, W) float32 in [0, 1] attention mask (or (H, W))
    first_frame: np.ndarray | None = None  # (H, W, 3) uint8 first-frame image
    # one image per entry of the spec's `keyframes`, in the same order (empty: images not loaded yet,
    # which `Engine.plan` accepts; a job refuses to run without them)
    keyframes: list[KeyframeImage] = field(default_factory=list)


def check_control_input(control: ControlInput) -> None:
    """Shape and dtype checks of the arrays, with messages that name the array."""
    if not isinstance(control, ControlInput):
        raise UserError(f"control: expected a ControlInput, got {type(control).__name__}", field="control")
    if (control.package is None) == (control.video is None):
        raise UserError("control: give exactly one of a ControlPackage or a control video", field="control")
    if control.package is not None:
        control.package.validate()
    if control.video is not None:
        v = control.video
        if not isinstance(v, np.ndarray) or v.dtype != np.uint8 or v.ndim != 4 or v.shape[-1] != 3:
            raise UserError(
                f"control video: expected a uint8 array (F, H, W, 3), got "
                f"{getattr(v, 'dtype', type(v))} {getattr(v, 'shape', '')}",
                field="control",
            )
        if v.shape[0] < 1 or v.shape[1] < 2 or v.shape[2] < 2:
            raise UserError(f"control video: too small, shape {v.shape}", field="control")
    if control.mask is not None:
        m = control.mask
        if not isinstance(m, np.ndarray) or m.ndim not in (2, 3) or not np.issubdtype(m.dtype, np.floating):
            raise UserError(
                f"mask: expected a float array (F, H, W) or (H, W) in [0, 1], got "
                f"{getattr(m, 'dtype', type(m))} {getattr(m, 'shape', '')}",
                field="mask",
            )
        if not np.all(np.isfinite(m)) or m.min(initial=0.0) < 0.0 or m.max(initial=0.0) > 1.0:
            raise UserError("mask: values must be finite and in [0, 1] (white = full control)", field="mask")
    if control.first_frame is not None:
        _check_image(control.first_frame, "image")
    for i, key in enumerate(control.keyframes):
        if not isinstance(key, KeyframeImage):
            raise UserError(f"keyframes: image {i} must be a KeyframeImage, got {type(key).__name__}", "keyframes")
        _check_image(key.image, f"keyframe_{i}")


def _check_image(f, field: str) -> None:
    if not isinstance(f, np.ndarray) or f.dtype != np.uint8 or f.ndim != 3 or f.shape[-1] != 3:
        raise UserError(
            f"{field}: expected a uint8 RGB image (H, W, 3), got {getattr(f, 'dtype', type(f))} {getattr(f, 'shape', '')}",
            field=field,
        )


def keyframe_images(spec, control: ControlInput) -> list[KeyframeImage]:
    """The job's keyframe images, one per `spec.keyframes` entry (checked before any model loads)."""
    if len(control.keyframes) != len(spec.keyframes):
        raise UserError(
            f"keyframes: the spec lists {len(spec.keyframes)} keyframe(s) but {len(control.keyframes)} image(s) "
            "came with it; send one image per keyframe, in the spec's order",
            "keyframes",
        )
    return list(control.keyframes)


def control_frames(control: ControlInput, kind: str, frames: int, ref_width: int, ref_height: int) -> np.ndarray:
    """The control video (frames, H, W, 3) uint8 the reference latent is encoded from."""
    if control.video is not None:
        video = control.video
        if video.shape[0] < frames:
            raise UserError(
                f"control video: has {video.shape[0]} frames but the job needs {frames}; "
                f"render the control with {frames} frames or ask for fewer",
                field="frames",
            )
        return np.ascontiguousarray(video[:frames])
    pkg = control.package
    if pkg.frame_count < frames:
        raise UserError(f"control package: has {pkg.frame_count} frames but the job needs {frames}", field="frames")
    return reference_frames(pkg, ref_width, ref_height, frames=frames, kind=kind)


def canny_record(control: ControlInput, kind: str) -> dict | None:
    """The canny settings a job's edges are made with (for the sidecar), or None when it makes none."""
    if kind != "canny" or control.package is None:
        return None
    return canny_settings(control.package.canny)


def attention_mask_frames(control: ControlInput, frames: int, width: int, height: int) -> np.ndarray | None:
    """The per-pixel attention weights (frames, height, width) float32 in [0, 1], or None (scalar path).

    `shared.raster.model_frames.attention_weights` (the same code as the add-on's preview): the
    job's mask (ControlInput.mask, else the package's `mask`; a 2-D mask holds for
    every frame) and the package's per-frame `attention_strength`. None when there is neither, so
    that strength 1.0 with no mask leaves attention unmasked exactly like the stock pipeline. The
    job's scalar attention strength is applied later by the official code (latent mask x strength).
    """
    return attention_weights(control.package, frames, width, height, mask=control.mask)
