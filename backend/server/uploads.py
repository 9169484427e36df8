"""Uploaded job inputs: checked when the job is submitted, decoded when it runs.

At submit time each upload is sniffed by its content, never by the client's file name, and checked
far enough that a bad file is a 422 at once rather than a failed job later:
- control: a `.npz` ControlPackage (zip magic), loaded and validated with
  `ControlPackage.load(max_bytes)`, or a video whose headers FFmpeg can read (`probe_video`);
- image (and each keyframe image, `keyframe_<i>`): PNG or JPEG (Pillow identifies and verifies it), at most MAX_IMAGE_SIDE px a side (read
  from the header: the pixels are decoded when the job runs, at the job's size);
- mask: a video, or a `.npz` holding exactly one array `mask` of shape (F, H, W) or (H, W), float
  in [0, 1] or uint8 (0..255), whose zip directory, compression ratio and .npy header are checked
  before anything is allocated; it is checked as stored (uint8 stays uint8 until the job runs).
`plan_input` then gives a ControlInput good enough for `Engine.plan` (sizes, frames, kind), so the
spec/control combination is validated at submit too, and `check_plan` checks what the plan asks
of the files (control frames, mask frames). Memory: a package or mask costs its arrays once (read
straight into them) plus small temporaries; nothing is converted at submit. Files are stored under
names the server picks (`control.npz`, `control.mp4`, `image.png` ...).

At run time `load_control_input` decodes the stored files into the engine's `ControlInput`, at the
job's planned size.
"""

from __future__ import annotations

import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from shared.errors import UserError

ZIP_MAGIC = (b"PK\x03\x04", b"PK\x05\x06")
VIDEO_EXT = {
    "mov": ".mp4",
    "mp4": ".mp4",
    "matroska": ".mkv",
    "webm": ".webm",
    "avi": ".avi",
    "nut": ".nut",
    "gif": ".gif",
}
MASK_MAX_BYTES = 2 * 1024**3
MAX_IMAGE_SIDE = 8192  # px, first-frame image and mask (GenerationSpec's largest size)


@dataclass
class CheckedControl:
    name: str  # file name to store it under
    package: object | None  # the loaded ControlPackage, for a .npz
    video_info: object | None  # backend.video.VideoInfo, for a video

    @property
    def frames(self) -> int:
        return int(self.package.frame_count if self.package is not None else self.video_info.frames)


@dataclass
class CheckedImage:
    name: str
    width: int
    height: int


@dataclass
class CheckedMask:
    name: str
    frames: int | None  # None: one mask for every frame (a 2-D array)
    width: int
    height: int


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


def check_mask(path: Path, max_bytes: int = MASK_MAX_BYTES) -> CheckedMask:
    """The mask's kind, frames and size, its values checked; nothing converted (a uint8 mask stays
    uint8 here: the float32 copy the engine needs is made when the job runs)."""
    _not_empty(path, "mask", "a mask video or a .npz with an array 'mask'")
    if is_npz(path):
        mask = _read_mask_array(path, max_bytes)
        frames = int(mask.shape[0]) if mask.ndim == 3 else None
        return CheckedMask("mask.npz", frames, int(mask.shape[-1]), int(mask.shape[-2]))
    info = _probe(path, "mask")
    _check_side("mask", info.width, info.height)
    return CheckedMask("mask" + _video_ext(path), int(info.frames), int(info.width), int(info.height))


def check_image(path: Path, field: str = "image") -> CheckedImage:
    """PNG or JPEG, its size within MAX_IMAGE_SIDE, its data intact (read from the header and the
    chunks' checksums; the pixels are decoded when the job runs, at the job's size). field: the
    part ("image", or "keyframe_<i>"), which names the error and the stored file."""
    from PIL import Image, UnidentifiedImageError

    what = "a PNG or JPEG first frame" if field == "image" else "a PNG or JPEG keyframe image"
    _not_empty(path, field, what)
    try:
        with Image.open(path) as im:
            fmt, (width, height) = im.format, im.size
            _check_side(field, width, height)
            im.verify()
    except UserError:
        raise
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError) as exc:
        raise UserError(f"{field}: not a readable PNG or JPEG image ({exc})", field) from None
    if fmt not in ("PNG", "JPEG"):
        raise UserError(f"{field}: {fmt} images are not accepted; send {what}", field)
    return CheckedImage(f"{field}.png" if fmt == "PNG" else f"{field}.jpg", int(width), int(height))


def _check_side(field: str, width: int, height: int) -> None:
    if width > MAX_IMAGE_SIDE or height > MAX_IMAGE_SIDE:
        raise UserError(
            f"{field}: {width}x{height} is larger than {MAX_IMAGE_SIDE} px on a side; send it at "
            "about the job's size (it is scaled to the job's size anyway)",
            field,
        )


def check_plan(plan, control: CheckedControl, mask: CheckedMask | None) -> None:
    """What the planned job needs of the uploads, checked at submit rather than when it runs: as
    many control frames as the job asks for, and a mask with one frame or at least as many."""
    frames = int(plan.frames)
    what = "package" if control.package is not None else "control video"
    if control.frames < frames:
        raise UserError(
            f"frames: the job asks for {frames} frames but the {what} has {control.frames}; ask "
            f"for at most {control.frames} (8k+1) or send a longer control",
            "frames",
        )
    single_image = mask is not None and mask.frames == 1 and not mask.name.endswith(".npz")
    if mask is not None and mask.frames is not None and mask.frames < frames and not single_image:
        raise UserError(
            f"mask: has {mask.frames} frames but the job needs {frames}; send at least {frames} "
            "frames, or one frame (a single image, or a 2-D .npz array) for a mask that does "
            "not change",
            "mask",
        )


def _probe(path: Path, field: str):
    from backend.video import probe_video

    try:
        return probe_video(path, field=field)
    except UserError:
        raise
    except Exception as exc:  # FFmpeg's many error types on hostile input
        raise UserError(f"{field}: neither a .npz ControlPackage nor a readable video ({exc})", field) from None


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


def plan_input(checked: CheckedControl):
    """A ControlInput for `Engine.plan` only: the package, or a zero-cost stand-in array with the
    probed video's shape (plan reads shapes, never pixels)."""
    from backend.engine import ControlInput

    if checked.package is not None:
        return ControlInput(package=checked.package)
    info = checked.video_info
    shape = (max(int(info.frames), 1), int(info.height), int(info.width), 3)
    return ControlInput(video=np.broadcast_to(np.zeros((1, 1, 1, 3), np.uint8), shape))


def load_control_input(
    engine,
    spec,
    control: Path,
    image: Path | None,
    mask: Path | None,
    max_bytes: int,
    package=None,
    keyframes: list[Path] = (),
):
    """The engine's ControlInput from the stored files of one job (decoded at the planned size).
    `package`: the stored `.npz` already loaded (at submit); used instead of reading it again.
    `keyframes`: the stored keyframe images, in the spec's order (each with its file's SHA-256)."""
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
    if image is None and mask is None and not keyframes:
        return base
    plan = engine.plan(spec, base)
    if keyframes:
        import hashlib

        from backend.engine import KeyframeImage

        for i, path in enumerate(keyframes):
            data = Path(path).read_bytes()
            pixels = video_io.load_image(data, plan.width, plan.height, field=f"keyframe_{i}")
            base.keyframes.append(KeyframeImage(pixels, hashlib.sha256(data).hexdigest()))
    if image is not None:
        base.first_frame = video_io.load_image(image, plan.width, plan.height)
    if mask is not None:
        base.mask = (
            read_mask_npz(mask, max_bytes)
            if mask.suffix == ".npz"
            else video_io.load_mask_video(mask, plan.frames, plan.width, plan.height)
        )
    return base


def _read_mask_array(path: Path, max_bytes: int) -> np.ndarray:
    """The `mask` array of a `.npz`, as stored: the zip directory and the .npy header checked (names,
    sizes, compression ratio) before anything is allocated, then read straight into the array."""
    from shared.package import PackageError, _read_npy

    try:
        with zipfile.ZipFile(path) as zf:
            infos = zf.infolist()
            names = [i.filename for i in infos]
            if names != ["mask.npy"]:
                shown = [n.removesuffix(".npy").encode("ascii", "backslashreplace").decode() for n in names[:5]]
                raise UserError(f"mask: the .npz must hold exactly one array named 'mask', found {shown}", "mask")
            info = infos[0]
            if info.file_size > max_bytes:
                raise UserError(f"mask: {info.file_size} bytes uncompressed, the limit is {max_bytes}", "mask")
            if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED) or info.flag_bits & 0x1:
                raise UserError(
                    "mask: save it with numpy.savez or savez_compressed (stored or deflate, not encrypted)", "mask"
                )
            deflated = info.compress_type == zipfile.ZIP_DEFLATED
            if deflated and info.file_size > 1100 * max(info.compress_size, 1) + 1024:
                raise UserError(
                    f"mask: declared size {info.file_size} bytes from {info.compress_size} compressed "
                    "bytes is impossible for deflate (a damaged or forged file)",
                    "mask",
                )
            mask = _read_npy(zf, info, "mask")
    except PackageError as exc:
        raise UserError(str(exc), "mask") from None
    except UserError:
        raise
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError, KeyError, EOFError, zlib.error) as exc:
        raise UserError(f"mask: unreadable .npz ({exc})", "mask") from None
    if mask.ndim not in (2, 3) or 0 in mask.shape:
        raise UserError(f"mask: expected shape (F, H, W) or (H, W), got {mask.shape}", "mask")
    _check_side("mask", int(mask.shape[-1]), int(mask.shape[-2]))
    if mask.dtype == np.uint8:
        return mask
    if not np.issubdtype(mask.dtype, np.floating):
        raise UserError(f"mask: expected float values in [0, 1] or uint8, got {mask.dtype}", "mask")
    if not np.isfinite(mask).all() or mask.min() < 0 or mask.max() > 1:
        raise UserError("mask: values must be finite and in [0, 1] (white = full control)", "mask")
    return mask


def read_mask_npz(path: Path, max_bytes: int = MASK_MAX_BYTES) -> np.ndarray:
    """A mask array from a `.npz` with one entry `mask`; float32 in [0, 1] (run time)."""
    mask = _read_mask_array(path, max_bytes)
    if mask.dtype == np.uint8:
        out = mask.astype(np.float32)
        out /= 255.0
        return out
    return mask.astype(np.float32, copy=False)
