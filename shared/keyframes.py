"""Keyframe looks: which frames of a job can take a keyframe image, and the spec's keyframe entries.

What the official code does with an image at frame k (ltx-pipelines 1.0.0,
`utils.helpers.combined_image_conditionings`, the helper `ICLoraPipeline` runs on its `images` in
both stages, before the IC-LoRA reference tokens are appended in stage 1):
- k == 0: `VideoConditionByLatentIndex` replaces latent frame 0, which the causal video VAE encodes
  from pixel frame 0 alone; the strength is that frame's denoise strength.
- k > 0: `VideoConditionByKeyframeIndex` appends the image's tokens (one latent frame) with the time
  positions of a latent frame starting at pixel frame k, i.e. frames [k, k + 8) (no causal fix
  for k > 0). The generated latent frame j >= 1 sits at [8j - 7, 8j + 1) (the causal fix moves
  every frame after the first back by 7). The two coincide only for k = 8j - 7: k = 1, 9, 17, ...
  Any other k puts the image's tokens between two latent frames of the video, at times no frame of
  the video occupies, and a k past frames - 8 puts them after the video's last latent frame.
So for a job of `frames` = 8n + 1 frames the usable indices are 0 and 1, 9, ..., frames - 8: an
image at frame k > 0 shapes the eight frames k .. k + 7 (one latent frame). A bad index is refused
with the nearest usable ones; the same frames apply in stage 2 (full size, same indices).

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


def valid_keyframe_frames(frames: int) -> list[int]:
    """The frame indices a keyframe image can sit at in a job of `frames` (8k+1) frames."""
    frames = int(frames)
    return [0] + list(range(1, frames - LATENT_FRAME_STRIDE + 1, LATENT_FRAME_STRIDE))


def is_valid_keyframe_frame(frame: int, frames: int) -> bool:
    frame, frames = int(frame), int(frames)
    if frame == 0:
        return True
    return 1 <= frame <= frames - LATENT_FRAME_STRIDE and (frame - 1) % LATENT_FRAME_STRIDE == 0


def nearest_keyframe_frames(frame: int, frames: int) -> list[int]:
    """The valid index (or the two equally near ones) closest to `frame`."""
    valid = valid_keyframe_frames(frames)
    best = min(abs(v - int(frame)) for v in valid)
    return [v for v in valid if abs(v - int(frame)) == best]


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
    if frame < 0 or frame >= frames:
        where = f"outside the job's frames {offset}..{last}"
    else:
        where = (
            "not where a keyframe image can sit (after the first frame an image shapes one latent "
            "frame, its frame and the 7 after it, and must start one of the video's latent frames)"
        )
    nearest = nearest_keyframe_frames(frame, frames)
    raise KeyframeError(
        f"{field}: {what} at frame {frame + offset} is {where}; "
        f"the nearest valid frame{'s are' if len(nearest) > 1 else ' is'} {' and '.join(str(v + offset) for v in nearest)} "
        f"(valid in this {frames}-frame job: {_list_frames(valid_keyframe_frames(frames), offset)})",
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
