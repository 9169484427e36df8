"""The shape rules LTX-2 puts on a video: frame counts, frame sizes, frame rates.

- Frames: the video VAE compresses time by 8 after the first frame, so a clip has 8k + 1 frames.
- Size: every job runs stage 1 at half the asked size (a preview stops after it), and the IC-LoRA
  reference is stage-1 size / `reference_downscale_factor`; the latent grid needs multiples of 32
  there, hence 64 x factor for the asked size (`size_multiple`, `stage1_size`, `reference_size`).
- Frame rate: kept as an exact `Fraction` (23.976 is 24000/1001, not 2997/125).
"""

from __future__ import annotations

import math
import numbers
from fractions import Fraction

from .errors import UserError

MIN_FRAMES = 9
LATENT_PIXELS = 32  # the video VAE's spatial compression: one latent cell per 32 x 32 pixels
MAX_FPS = 240

# The NTSC rates people type as decimals; each is N * 1000 / 1001 exactly.
_NTSC = {
    "23.976": Fraction(24000, 1001),
    "29.97": Fraction(30000, 1001),
    "47.952": Fraction(48000, 1001),
    "59.94": Fraction(60000, 1001),
    "119.88": Fraction(120000, 1001),
}


class VideoRuleError(UserError):
    """A frame count, frame size or frame rate LTX-2 cannot use."""


# ---------------------------------------------------------------------------------------- frames
def _is_int(value) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def snap_frames(n) -> int:
    """Nearest frame count of the form 8k + 1 (ties go up), at least 9."""
    if not _is_int(n):
        raise VideoRuleError(f"frames: expected an integer frame count, got {n!r}", "frames")
    n = int(n)
    k = math.floor((n - 1) / 8 + 0.5)
    return max(MIN_FRAMES, 8 * k + 1)


def check_frames(n) -> int:
    """Return `n` if it is a valid frame count (8k + 1, at least 9), else raise naming the nearest."""
    if not _is_int(n):
        raise VideoRuleError(f"frames: expected an integer frame count, got {n!r}", "frames")
    n = int(n)
    if n >= MIN_FRAMES and (n - 1) % 8 == 0:
        return n
    if n < MIN_FRAMES:
        raise VideoRuleError(
            f"frames: {n} is too few; LTX-2 needs 8k+1 frames, at least {MIN_FRAMES} (use {MIN_FRAMES})", "frames"
        )
    below = (n - 1) // 8 * 8 + 1
    above = below + 8
    nearest = snap_frames(n)
    raise VideoRuleError(
        f"frames: {n} is not of the form 8k+1; the nearest valid counts are {below} and {above} (use {nearest})",
        "frames",
    )


# ------------------------------------------------------------------------------------------ size
def _positive_factor(factor) -> int:
    if not _is_int(factor) or int(factor) < 1:
        raise VideoRuleError(
            f"reference_downscale_factor: expected a positive integer, got {factor!r}", "reference_downscale_factor"
        )
    return int(factor)


def size_multiple(reference_downscale_factor: int = 1) -> int:
    """Width and height of a job must be multiples of this: 64 x the IC-LoRA's reference factor.

    Every job, preview or not, runs stage 1 at half the asked size (a preview stops there), and the
    reference is stage-1 size / factor on a latent grid of 32 px, hence 2 x 32 x factor.
    """
    return 2 * LATENT_PIXELS * _positive_factor(reference_downscale_factor)


def stage1_size(width: int, height: int) -> tuple[int, int]:
    """Stage 1 (and the preview's output) runs at half the asked width and height."""
    return int(width) // 2, int(height) // 2


def reference_size(width: int, height: int, reference_downscale_factor: int = 1) -> tuple[int, int]:
    """The size the IC-LoRA sees the control at: stage-1 size / reference factor."""
    factor = _positive_factor(reference_downscale_factor)
    w1, h1 = stage1_size(width, height)
    return w1 // factor, h1 // factor


def _snap_axis(value: int, multiple: int) -> int:
    k = math.floor(value / multiple + 0.5)  # ties go up
    return max(1, k) * multiple


def snap_size(width, height, multiple: int) -> tuple[int, int]:
    """Nearest (width, height) that are both multiples of `multiple` (ties up, at least one)."""
    for name, value in (("width", width), ("height", height), ("multiple", multiple)):
        if not _is_int(value) or int(value) < 1:
            raise VideoRuleError(f"{name}: expected a positive integer, got {value!r}", name)
    return _snap_axis(int(width), int(multiple)), _snap_axis(int(height), int(multiple))


def check_size(width, height, multiple: int) -> tuple[int, int]:
    """Return (width, height) if both are multiples of `multiple`, else raise naming the fix."""
    sw, sh = snap_size(width, height, multiple)
    width, height = int(width), int(height)
    bad = [name for name, v in (("width", width), ("height", height)) if v % multiple]
    if bad:
        raise VideoRuleError(
            f"size: {width}x{height} is not allowed; width and height must both be multiples of "
            f"{multiple} ({' and '.join(bad)} {'is' if len(bad) == 1 else 'are'} not); "
            f"the nearest valid size is {sw}x{sh}",
            bad[0] if len(bad) == 1 else "size",
        )
    return width, height


# ------------------------------------------------------------------------------------------- fps
def parse_fps(value) -> Fraction:
    """An exact frame rate from int, float, Fraction, "24", "24000/1001" or "23.976".

    The decimal NTSC rates (23.976, 29.97, 47.952, 59.94, 119.88) map to N*1000/1001 exactly, as
    strings and as floats. Refuses rates <= 0 or > 240.
    """
    fps: Fraction
    if isinstance(value, bool) or value is None:
        raise VideoRuleError(f"fps: expected a number such as 24 or '24000/1001', got {value!r}", "fps")
    if isinstance(value, Fraction):
        fps = value
    elif _is_int(value):
        fps = Fraction(int(value))
    elif isinstance(value, (float, numbers.Real)):
        value = float(value)
        if not math.isfinite(value):
            raise VideoRuleError(f"fps: expected a finite frame rate, got {value!r}", "fps")
        fps = _from_decimal(repr(value)) if _ntsc_float(value) is None else _ntsc_float(value)
    elif isinstance(value, str):
        text = value.strip()
        try:
            if text in _NTSC:
                fps = _NTSC[text]
            elif "/" in text:
                num, _, den = text.partition("/")
                fps = Fraction(int(num.strip()), int(den.strip()))
            else:
                fps = _from_decimal(text)
        except (ValueError, ZeroDivisionError):
            raise VideoRuleError(
                f"fps: cannot read {value!r}; write an integer ('24'), a fraction ('24000/1001') "
                f"or a decimal ('23.976')",
                "fps",
            ) from None
    else:
        raise VideoRuleError(f"fps: expected a number such as 24 or '24000/1001', got {value!r}", "fps")
    if fps <= 0 or fps > MAX_FPS:
        raise VideoRuleError(
            f"fps: {format_fps(fps)} is out of range; the frame rate must be above 0 and at most {MAX_FPS}", "fps"
        )
    return fps


def _ntsc_float(value: float) -> Fraction | None:
    for text, fps in _NTSC.items():
        if abs(value - float(text)) < 5e-4:
            return fps
    return None


def _from_decimal(text: str) -> Fraction:
    number = float(text)  # raises ValueError for junk
    if not math.isfinite(number):
        raise ValueError(text)
    ntsc = _ntsc_float(number)
    if ntsc is not None:
        return ntsc
    return Fraction(text.strip()).limit_denominator(1001)


def format_fps(fps) -> str:
    """ "24000/1001" for fractional rates, "24" for whole ones (the inverse of `parse_fps`)."""
    fps = Fraction(fps)
    return f"{fps.numerator}" if fps.denominator == 1 else f"{fps.numerator}/{fps.denominator}"
