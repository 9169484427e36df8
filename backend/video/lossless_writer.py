"""Bit-exact RGB video: the exact control video a job used, and controls handed to other tools.

yuv420 H.264 smears the coloured 2-8 px dots of the motion tracks and the pose colours (chroma is
stored at half resolution), so controls are kept lossless. Two containers, chosen by the file suffix:

- `.mov` (default): PNG frames in QuickTime. The time base is the exact fraction 1/fps, so
  24000/1001 reads back exactly; FFmpeg, Blender, DaVinci Resolve and QuickTime all read it.
- `.mkv`: FFV1 (bgr0) in Matroska. Faster to encode on noisy content and an archival standard,
  but Matroska stores times in milliseconds: FFmpeg recovers the common rates (24, 25, 30 and the
  NTSC N*1000/1001) from the frame duration, other fractional rates may read back approximately.

Any width and height are allowed (no chroma subsampling).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import av

from shared.video_rules import parse_fps

from .atomic_output import atomic_output
from .errors import VideoError
from .frame_chunks import iter_frames, peek_first

# suffix -> (container format, codec, pixel format, codec options)
LOSSLESS_FORMATS = {
    ".mov": ("mov", "png", "rgb24", {}),
    ".mkv": ("matroska", "ffv1", "bgr0", {"level": "3", "g": "1", "slicecrc": "1"}),
}


def write_lossless_video(path, frames, fps, *, on_frame: Callable[[int], None] | None = None) -> Path:
    """Write RGB frames losslessly; reading the file back gives the identical uint8 pixels.

    frames: (F, H, W, 3) uint8 or an iterable of chunks (see frame_chunks.py). fps: Fraction, int or
    "24000/1001". The suffix picks the format (`.mov` PNG or `.mkv` FFV1). Returns the path.
    """
    fps = parse_fps(fps)
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in LOSSLESS_FORMATS:
        raise VideoError(
            f"{path.name}: a lossless video must end in {' or '.join(LOSSLESS_FORMATS)} (PNG in "
            f"QuickTime, or FFV1 in Matroska), got {path.suffix or 'no suffix'!r}",
            "path",
        )
    container_format, codec, pix_fmt, options = LOSSLESS_FORMATS[suffix]
    first, stream_frames = peek_first(iter_frames(frames))
    height, width = first.shape[:2]
    with atomic_output(path, suffix) as tmp:
        container = av.open(str(tmp), mode="w", format=container_format)
        try:
            video = container.add_stream(codec, rate=fps, options=dict(options))
            video.width, video.height, video.pix_fmt = width, height, pix_fmt
            video.codec_context.thread_type = "AUTO"
            video.codec_context.time_base = 1 / fps
            count = 0
            for frame in stream_frames:
                vf = av.VideoFrame.from_ndarray(frame, format="rgb24")
                if pix_fmt != "rgb24":
                    vf = vf.reformat(format=pix_fmt)  # channel order only: exact
                vf.pts = count
                vf.time_base = video.codec_context.time_base
                for packet in video.encode(vf):
                    container.mux(packet)
                count += 1
                if on_frame is not None:
                    on_frame(count)
            for packet in video.encode():
                container.mux(packet)
        finally:
            container.close()
    return path
