"""Decode a whole video (file, bytes or PNG-frame folder) to RGB uint8 frames and its exact fps.

Controls are a few hundred frames at most, so the clip is returned as one array; the decoded size
is bounded (`max_decoded_bytes`) so an upload cannot exhaust memory. `max_frames` keeps only the
first frames, like the official pipeline's frame cap: frame k of a control is frame k of the output.
A file whose header promises more frames than can be decoded is refused as truncated.
"""

from __future__ import annotations

import os
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from .errors import VideoError
from .frame_folder import read_frame_folder
from .probe import stream_fps, video_stream_of
from .sources import describe, is_bytes, open_container

DEFAULT_MAX_DECODED_BYTES = 2 * 1024**3  # 2 GiB of RGB: 257 frames of 1920x1080 fit
MAX_SIDE = 8192


def _too_big(src, frames: int, width: int, height: int, limit: int, field: str) -> VideoError:
    need = frames * width * height * 3
    return VideoError(
        f"{describe(src)}: {frames} frames of {width}x{height} need {need / 2**30:.2f} GiB "
        f"decoded, more than the {limit / 2**30:.2f} GiB limit; trim the clip or lower its "
        f"resolution (a control only needs the generation size and frame count)",
        field,
    )


def read_video(
    src, max_frames: int | None = None, *, max_decoded_bytes: int = DEFAULT_MAX_DECODED_BYTES, field: str = "video"
) -> tuple[np.ndarray, Fraction | None]:
    """(frames (F, H, W, 3) uint8, fps) of a video file, bytes, or folder of frames.

    fps is the stream's exact average rate; for a folder of frames it is None (a folder has no
    rate: use the spec's or the package's). `max_frames` keeps the first N frames.
    """
    if max_frames is not None and (isinstance(max_frames, bool) or int(max_frames) < 1):
        raise VideoError(f"max_frames must be at least 1, got {max_frames!r}", field)
    if not is_bytes(src) and Path(os.fspath(src)).is_dir():
        return read_frame_folder(src, max_frames, max_decoded_bytes), None
    container = open_container(src, field)
    try:
        stream = video_stream_of(container, src, field)
        fps = stream_fps(stream, src, field)
        width, height = stream.codec_context.width, stream.codec_context.height
        if width > MAX_SIDE or height > MAX_SIDE:
            raise VideoError(
                f"{describe(src)}: {width}x{height} is larger than {MAX_SIDE} px on a side; scale it down", field
            )
        header_frames = int(stream.frames or 0)
        wanted = header_frames if max_frames is None else min(header_frames or max_frames, max_frames)
        if wanted and wanted * width * height * 3 > max_decoded_bytes:
            raise _too_big(src, wanted, width, height, max_decoded_bytes, field)
        stream.thread_type = "AUTO"
        frames: list[np.ndarray] = []
        try:
            for frame in container.decode(stream):
                rgb = frame.to_ndarray(format="rgb24")
                if (len(frames) + 1) * rgb.nbytes > max_decoded_bytes:
                    raise _too_big(src, len(frames) + 1, rgb.shape[1], rgb.shape[0], max_decoded_bytes, field)
                if frames and rgb.shape != frames[0].shape:
                    raise VideoError(
                        f"{describe(src)}: the picture size changes mid-stream "
                        f"({frames[0].shape[1]}x{frames[0].shape[0]} -> "
                        f"{rgb.shape[1]}x{rgb.shape[0]}); re-export it",
                        field,
                    )
                frames.append(rgb)
                if max_frames is not None and len(frames) >= max_frames:
                    break
        except av.FFmpegError as exc:
            raise VideoError(
                f"{describe(src)}: the video data is corrupt or truncated after "
                f"{len(frames)} frames ({exc}); re-export or re-upload it",
                field,
            ) from None
        if not frames:
            raise VideoError(
                f"{describe(src)}: no frame could be decoded; the file is damaged or empty, re-export it", field
            )
        expected = header_frames if max_frames is None else min(header_frames, max_frames)
        if header_frames and len(frames) < expected:
            raise VideoError(
                f"{describe(src)}: the header promises {header_frames} frames but only "
                f"{len(frames)} could be decoded; the file is truncated, re-export or re-upload it",
                field,
            )
        return np.stack(frames), fps
    finally:
        container.close()
