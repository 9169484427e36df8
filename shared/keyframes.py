"""Keyframe looks: which frames of a job can take a keyframe image, and the spec's keyframe entries.

What the official code does with an image at frame k (ltx-pipelines 1.0.0,
`utils.helpers.combined_image_conditionings`, the helper `ICLoraPipeline` runs on its `images` in
both stages, before the IC-LoRA reference tokens are appended in stage 1):
- k == 0: `VideoConditionByLatentIndex` replaces latent frame 0, which the causal video VAE encodes
  from pixel frame 0 alone; the strength is that frame's denoise strength.
- k > 0: `VideoConditionByKeyframeIndex` appends the image's tokens (one latent frame) with the time
  positions of a latent frame starting at pixel frame k, i.e. frames [k, k + 8) (no causal fix
  for k > 0). The generated latent frame j >= 1 sits at [8j - 7, 8j + 1) (the causal fix moves
  every frame after the first back by 7), so an image at k = 1, 9, 17, ... lines up exactly with one
  latent frame and any other k sits between two, by its time position.
Every frame of the clip, 0 .. frames - 1, is usable: the official pipelines take any index for an
image (their keyframe-interpolation examples key the last frame, frames - 1, and frames in between),
and ComfyUI's guide node snaps only multi-frame guides, never a single image. A frame outside the
clip is refused with the nearest one inside; the same frames apply in stage 2 (full size).

Keyframe entries travel in `GenerationSpec.keyframes` as `{"frame": int, "strength": float}`, in
the order their images are sent (`keyframe_0`, `keyframe_1`, ... on the server; the engine's
`ControlInput.keyframes`). Numpy-free on purpose: this runs in the add-on, the CLI and the server.
"""

from __future__ import annotations

import math
import numbers

from .errors import UserError

LATENT_FRAME_STRIDE = 8  # the video VAE's temporal compression: one latent frame per 8 frames after the first
MAX_KEYFRAMES = 32  # images per job (each adds one latent frame of tokens to every denoising step)
KEYFRAME_KEYS = ("frame", "strength")
FIELD = "keyframes"


class KeyframeError(UserError):
    """A keyframe the model cannot use, or a malformed keyframe entry."""


def aligned_keyframe_frames(frames: int) -> list[int]:
    """The frames whose image lines up exactly with one latent frame of the video: 0 and 1, 9, 17, ...
    (shown to users as the frames to prefer; the others are usable too)."""
    frames = int(frames)
    return [0] + list(range(1, frames - LATENT_FRAME_STRIDE + 1, LATENT_FRAME_STRIDE))


def is_valid_keyframe_frame(frame: int, frames: int) -> bool:
    return 0 <= int(frame) < int(frames)


def nearest_keyframe_frames(frame: int, frames: int) -> list[int]:
    """The valid index closest to `frame` (itself when valid, else the clip's first or last frame)."""
    return [min(max(int(frame), 0), int(frames) - 1)]


def _list_frames(values: list[int], offset: int) -> str:
    shown = [str(v + offset) for v in values]
    if len(shown) > 8:
        shown = shown[:4] + ["..."] + shown[-2:]
    return ", ".join(shown)


def check_keyframe_frame(frame: int, frames: int, *, offset: int = 0, what: str = "keyframe", field: str = FIELD):
    """Return `frame` if a keyframe image can sit there, else raise naming the nearest valid frames.

    offset: the number the caller shows for frame 0 (the add-on's scene frame_start), so the message
    speaks in the caller's frames; what: how the message names the keyframe ("marker 'A'").
    """
    if isinstance(frame, bool) or not isinstance(frame, numbers.Integral):
        raise KeyframeError(f"{field}: {what} frame must be an integer, got {frame!r}", field)
    frame, frames = int(frame), int(frames)
    if is_valid_keyframe_frame(frame, frames):
        return frame
    last = frames - 1 + offset
    nearest = nearest_keyframe_frames(frame, frames)[0]
    raise KeyframeError(
        f"{field}: {what} at frame {frame + offset} is outside the job's frames {offset}..{last}; "
        f"the nearest valid frame is {nearest + offset} (an image lines up exactly with one latent frame at "
        f"{_list_frames(aligned_keyframe_frames(frames), offset)})",
        field,
    )


def check_keyframe_entries(entries, frames: int | None = None) -> list[dict]:
    """Validate the spec's `keyframes` list; with `frames` also each index against the rule.

    Returns the entries normalized to `{"frame": int, "strength": float}` (strength defaults to 1).
    """
    if not isinstance(entries, list):
        raise KeyframeError('keyframes: expected a list of {"frame": int, "strength": float}', FIELD)
    if len(entries) > MAX_KEYFRAMES:
        raise KeyframeError(f"keyframes: {len(entries)} keyframes, at most {MAX_KEYFRAMES} per job", FIELD)
    out, seen = [], set()
    for i, entry in enumerate(entries):
        if not isinstance(entry, dict) or set(entry) - set(KEYFRAME_KEYS) or "frame" not in entry:
            raise KeyframeError(
                f'keyframes: entry {i} must be {{"frame": int, "strength": float in [0, 1]}}, got {entry!r}', FIELD
            )
        frame = entry["frame"]
        if isinstance(frame, bool) or not isinstance(frame, numbers.Integral) or frame < 0:
            raise KeyframeError(f"keyframes: entry {i} frame must be an integer >= 0, got {frame!r}", FIELD)
        strength = entry.get("strength", 1.0)
        if (
            isinstance(strength, bool)
            or not isinstance(strength, numbers.Real)
            or not math.isfinite(strength)
            or not 0.0 <= strength <= 1.0
        ):
            raise KeyframeError(
                f"keyframes: entry {i} (frame {frame}) strength must be a number in [0, 1] "
                f"(1 = the image exactly, 0 = ignored), got {strength!r}",
                FIELD,
            )
        if int(frame) in seen:
            raise KeyframeError(f"keyframes: frame {frame} is given twice; give each frame one image", FIELD)
        seen.add(int(frame))
        if frames is not None:
            check_keyframe_frame(int(frame), frames, what=f"entry {i}")
        out.append({"frame": int(frame), "strength": float(strength)})
    return out


def parse_keyframe_arg(text: str) -> tuple[int, str, float]:
    """`FRAME=IMAGE[@STRENGTH]` (the command line's `--keyframe`) -> (frame, image path, strength).

    The strength is the text after the last '@' when it reads as a number, so image paths that
    hold an '@' still work ("12=shots/a@b.png" is frame 12, "shots/a@b.png", strength 1).
    """
    frame_text, sep, rest = str(text).partition("=")
    if not sep or not rest:
        raise KeyframeError(
            f"--keyframe {text!r}: expected FRAME=IMAGE[@STRENGTH], e.g. 9=look.png or 9=look.png@0.8", FIELD
        )
    try:
        frame = int(frame_text.strip())
    except ValueError:
        raise KeyframeError(f"--keyframe {text!r}: the frame {frame_text!r} is not an integer", FIELD) from None
    path, strength = rest, 1.0
    head, at, tail = rest.rpartition("@")
    if at and head:
        try:
            strength = float(tail)
        except ValueError:
            path, strength = rest, 1.0
        else:
            path = head
    if not math.isfinite(strength) or not 0.0 <= strength <= 1.0:
        raise KeyframeError(f"--keyframe {text!r}: strength must be in [0, 1], got {strength}", FIELD)
    if frame < 0:
        raise KeyframeError(f"--keyframe {text!r}: the frame must be 0 or more", FIELD)
    return frame, path, strength
