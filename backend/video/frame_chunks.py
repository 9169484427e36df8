"""Turn the frame inputs the writers accept into a validated stream of (H, W, 3) uint8 frames.

The LTX pipeline decodes its output lazily, one chunk of frames at a time (torch uint8 tensors of
shape (f, H, W, 3)); a writer must consume such chunks one by one instead of materializing the clip.
`iter_frames` accepts a whole clip (F, H, W, 3), a single frame (H, W, 3), or any iterable of
either, as numpy arrays or CPU/GPU tensors (anything with `.detach().cpu().numpy()` or
`__array__`), and yields frames checked for dtype and a constant size.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

import numpy as np

from .errors import VideoError


def to_numpy(chunk) -> np.ndarray:
    """A numpy view of a numpy array or a torch tensor (moved to the CPU), without importing torch."""
    if hasattr(chunk, "detach") and hasattr(chunk, "cpu"):
        chunk = chunk.detach().cpu().numpy()
    return np.asarray(chunk)


def _check_chunk(chunk: np.ndarray, what: str) -> np.ndarray:
    if chunk.dtype != np.uint8:
        raise VideoError(
            f"{what}: expected uint8 RGB frames (0-255), got dtype {chunk.dtype}; convert float "
            f"frames in [0, 1] with (x * 255).round().clip(0, 255).astype(np.uint8)",
            "frames",
        )
    if chunk.ndim == 3:
        chunk = chunk[None]
    if chunk.ndim != 4 or chunk.shape[-1] != 3:
        raise VideoError(
            f"{what}: expected frames of shape (F, H, W, 3) or (H, W, 3), got {tuple(chunk.shape)}; "
            f"drop alpha with x[..., :3] and stack grey frames to 3 channels",
            "frames",
        )
    if chunk.shape[1] < 1 or chunk.shape[2] < 1:
        raise VideoError(f"{what}: frames have an empty size {tuple(chunk.shape[1:3])}", "frames")
    return chunk


def iter_frames(frames, what: str = "frames") -> Iterator[np.ndarray]:
    """Yield (H, W, 3) uint8 frames from an array or an iterable of chunks; refuse size changes.

    An array (numpy or tensor) of 3 or 4 dimensions is one chunk; anything else iterable is a
    sequence of chunks. Each chunk is converted to numpy only when it is reached.
    """
    if hasattr(frames, "shape") and hasattr(frames, "dtype"):
        chunks: Iterable = (frames,)
    elif isinstance(frames, (str, bytes)) or not isinstance(frames, Iterable):
        raise VideoError(
            f"{what}: expected a uint8 array (F, H, W, 3) or an iterable of such chunks, got {type(frames).__name__}",
            "frames",
        )
    else:
        chunks = frames
    size: tuple[int, int] | None = None
    for chunk in chunks:
        arr = _check_chunk(to_numpy(chunk), what)
        if size is None:
            size = (arr.shape[1], arr.shape[2])
        elif (arr.shape[1], arr.shape[2]) != size:
            raise VideoError(
                f"{what}: every frame must have the same size; the first was {size[1]}x{size[0]} "
                f"(WxH), a later chunk is {arr.shape[2]}x{arr.shape[1]}",
                "frames",
            )
        for frame in arr:
            yield np.ascontiguousarray(frame)


def peek_first(frames: Iterator[np.ndarray], what: str = "frames") -> tuple[np.ndarray, Iterator[np.ndarray]]:
    """The first frame (to size the encoder) and an iterator that still yields it first."""
    try:
        first = next(frames)
    except StopIteration:
        raise VideoError(f"{what}: no frames were given; a video needs at least one frame", "frames") from None

    def chained() -> Iterator[np.ndarray]:
        yield first
        yield from frames

    return first, chained()
