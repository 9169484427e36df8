"""Canny edges of RGB frames, as the Union Control / canny IC-LoRAs were trained on.

- Trainer reference (LTX-2 canny IC-LoRA): grayscale -> cv2.Canny(threshold1=100,
  threshold2=200) at the frame's own size -> white 1 px edges on black, 3 equal channels.
- LTX-2.3 Union Control ComfyUI workflow: the frame is first resized to 512 px on its short side,
  then Canny 92/200: `canny_video(rgb, UNION_23_LOW, UNION_23_HIGH, short_side=512)`. The result
  stays at the resized size; the pipeline's cover resize then brings it to the reference size, as
  in that workflow. Resizing uses area averaging down and cubic up (the ControlNet preprocessors'
  choice), so thin lines are not lost before edge detection.
"""

from __future__ import annotations

import cv2
import numpy as np

from .errors import VideoError
from .frame_chunks import to_numpy

TRAINER_LOW, TRAINER_HIGH = 100, 200
UNION_23_LOW, UNION_23_HIGH, UNION_23_SHORT_SIDE = 92, 200, 512


def _check_thresholds(low, high) -> None:
    for name, value in (("low", low), ("high", high)):
        if (
            isinstance(value, bool)
            or not isinstance(value, (int, float, np.integer, np.floating))
            or not 0 <= value <= 1020
        ):
            raise VideoError(
                f"canny: {name} threshold must be a number in 0..1020 (gradient "
                f"units; the trainer uses 100/200), got {value!r}",
                "canny",
            )
    if low > high:
        raise VideoError(f"canny: the low threshold ({low}) must not exceed the high one ({high})", "canny")


def resize_short_side(frame: np.ndarray, short_side: int) -> np.ndarray:
    h, w = frame.shape[:2]
    k = short_side / min(h, w)
    size = (max(1, int(round(w * k))), max(1, int(round(h * k))))
    if size == (w, h):
        return frame
    return cv2.resize(frame, size, interpolation=cv2.INTER_AREA if k < 1 else cv2.INTER_CUBIC)


def canny_video(rgb, low: float = TRAINER_LOW, high: float = TRAINER_HIGH, short_side: int | None = None) -> np.ndarray:
    """(F, H, W, 3) uint8 RGB -> (F, H', W', 3) uint8 edges (255 on 0, channels equal).

    H', W' = H, W unless `short_side` is given (the frame is resized so its short side is that).
    A single (H, W, 3) frame is accepted and returns (1, H', W', 3).
    """
    frames = to_numpy(rgb)
    if frames.ndim == 3:
        frames = frames[None]
    if frames.dtype != np.uint8 or frames.ndim != 4 or frames.shape[-1] != 3 or frames.shape[0] == 0:
        raise VideoError(
            f"canny: expected uint8 RGB frames (F, H, W, 3), got {frames.dtype} {tuple(frames.shape)}", "canny"
        )
    _check_thresholds(low, high)
    if short_side is not None and (isinstance(short_side, bool) or int(short_side) < 8):
        raise VideoError(
            f"canny: short_side must be at least 8 px (the Union workflow uses 512), got {short_side!r}", "canny"
        )
    out = None
    for i, frame in enumerate(frames):
        grey = cv2.cvtColor(np.ascontiguousarray(frame), cv2.COLOR_RGB2GRAY)
        if short_side is not None:
            grey = resize_short_side(grey, int(short_side))
        edges = cv2.Canny(grey, float(low), float(high))
        if out is None:
            out = np.empty((len(frames), *edges.shape, 3), np.uint8)
        out[i] = edges[..., None]
    return out
