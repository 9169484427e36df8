"""Uploaded job inputs: checked when the job is submitted, decoded when it runs.

At submit time each upload is sniffed by its content, never by the client's file name, and checked
far enough that a bad file is a 422 at once rather than a failed job later:
- control: a `.npz` ControlPackage (zip magic), loaded and validated with
  `ControlPackage.load(max_bytes)`, or a video whose headers FFmpeg can read (`probe_video`);
- image: PNG or JPEG (Pillow identifies and verifies it);
- mask: a video, or a `.npz` holding exactly one array `mask` of shape (F, H, W) or (H, W), float
  in [0, 1] or uint8 (0..255), whose zip directory is checked before anything is decompressed.
`plan_input` then gives a ControlInput good enough for `Engine.plan` (sizes, frames, kind), so the
spec/control combination is validated at submit too. Files are stored under names the server
picks (`control.npz`, `control.mp4`, `image.png` ...).

At run time `load_control_input` decodes the stored files into the engine's `ControlInput`, at the
job's planned size.
"""
from __future__ import annotations

import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from shared.errors import UserError

ZIP_MAGIC = (b"PK\x03\x04", b"PK\x05\x06")
VIDEO_EXT = {"mov": ".mp4", "mp4": ".mp4", "matroska": ".mkv", "webm": ".webm", "avi": ".avi",
             "nut": ".nut", "gif": ".gif"}
MASK_MAX_BYTES = 2 * 1024**3


@dataclass
class CheckedControl:
    name: str                 # file name to store it under
    package: object | None    # the loaded ControlPackage, for a .npz
    video_info: object | None # backend.video.VideoInfo, for a video


def is_npz(path: Path) -> bool:
    with open(path, "rb") as fh:
        return fh.read(4) in ZIP_MAGIC


def _not_empty(path: Path, field: str, what: str) -> None:
    if path.stat().st_size == 0:
        raise UserError(f"{field}: the uploaded file is empty; send {what}", field)


def check_control(path: Path, max_bytes: int) -> CheckedControl:
    _not_empty(path, "control", "a .npz ControlPackage or a control video")
    if is_npz(path):
        from shared.package import ControlPackage

        return CheckedControl("control.npz", ControlPackage.load(path, max_bytes=max_bytes), None)
    info = _probe(path, "control")
    return CheckedControl("control" + _video_ext(path), None, info)


def check_mask(path: Path) -> str:
    _not_empty(path, "mask", "a mask video or a .npz with an array 'mask'")
    if is_npz(path):
        read_mask_npz(path)
        return "mask.npz"
    _probe(path, "mask")
    return "mask" + _video_ext(path)


def check_image(path: Path) -> str:
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as im:
            fmt = im.format
            im.verify()
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError) as exc:
        raise UserError(f"image: not a readable PNG or JPEG image ({exc})", "image") from None
    if fmt not in ("PNG", "JPEG"):
        raise UserError(f"image: {fmt} images are not accepted; send a PNG or JPEG first frame", "image")
    return "image.png" if fmt == "PNG" else "image.jpg"


def _probe(path: Path, field: str):
    from backend.video import probe_video

    try:
        return probe_video(path, field=field)
    except UserError:
        raise
    except Exception as exc:            # FFmpeg's many error types on hostile input
        raise UserError(f"{field}: neither a .npz ControlPackage nor a readable video ({exc})",
                        field) from None


def _video_ext(path: Path) -> str:
    import av

    try:
        with av.open(str(path)) as container:
            names = container.format.name.split(",")
    except Exception:
        return ".video"
    for name in names:
        if name in VIDEO_EXT:
            return VIDEO_EXT[name]
    return ".video"


def read_mask_npz(path: Path) -> np.ndarray:
    """A mask array from a `.npz` with one entry `mask`; float32 in [0, 1]."""
    try:
        with zipfile.ZipFile(path) as zf:
            infos = zf.infolist()
            names = [i.filename for i in infos]
            if names != ["mask.npy"]:
                raise UserError(f"mask: the .npz must hold exactly one array named 'mask', found "
                                f"{[n.removesuffix('.npy') for n in names]}", "mask")
            if infos[0].file_size > MASK_MAX_BYTES:
                raise UserError(f"mask: {infos[0].file_size} bytes uncompressed, the limit is "
                                f"{MASK_MAX_BYTES}", "mask")
        with np.load(path, allow_pickle=False) as data:
            mask = data["mask"]
    except UserError:
        raise
    except (zipfile.BadZipFile, OSError, ValueError, KeyError, EOFError) as exc:
        raise UserError(f"mask: unreadable .npz ({exc})", "mask") from None
    if mask.ndim not in (2, 3) or 0 in mask.shape:
        raise UserError(f"mask: expected shape (F, H, W) or (H, W), got {mask.shape}", "mask")
    if mask.dtype == np.uint8:
        return mask.astype(np.float32) / 255.0
    if not np.issubdtype(mask.dtype, np.floating):
        raise UserError(f"mask: expected float values in [0, 1] or uint8, got {mask.dtype}", "mask")
    mask = mask.astype(np.float32)
    if not np.all(np.isfinite(mask)) or mask.min() < 0 or mask.max() > 1:
        raise UserError("mask: values must be finite and in [0, 1] (white = full control)", "mask")
    return mask


def plan_input(checked: CheckedControl):
    """A ControlInput for `Engine.plan` only: the package, or a zero-cost stand-in array with the
    probed video's shape (plan reads shapes, never pixels)."""
    from backend.engine import ControlInput

    if checked.package is not None:
        return ControlInput(package=checked.package)
    info = checked.video_info
    shape = (max(int(info.frames), 1), int(info.height), int(info.width), 3)
    return ControlInput(video=np.broadcast_to(np.zeros((1, 1, 1, 3), np.uint8), shape))


def load_control_input(engine, spec, control: Path, image: Path | None, mask: Path | None,
                       max_bytes: int, package=None):
    """The engine's ControlInput from the stored files of one job (decoded at the planned size).
    `package`: the stored `.npz` already loaded (at submit); used instead of reading it again."""
    from backend import video as video_io
    from backend.engine import ControlInput

    if control.suffix == ".npz":
        from shared.package import ControlPackage

        if package is None:
            package = ControlPackage.load(control, max_bytes=max_bytes)
        base = ControlInput(package=package)
    else:
        frames, _fps = video_io.read_video(control, max_frames=spec.frames, field="control")
        base = ControlInput(video=frames)
    if image is None and mask is None:
        return base
    plan = engine.plan(spec, base)
    if image is not None:
        base.first_frame = video_io.load_image(image, plan.width, plan.height)
    if mask is not None:
        base.mask = (read_mask_npz(mask) if mask.suffix == ".npz"
                     else video_io.load_mask_video(mask, plan.frames, plan.width, plan.height))
    return base
