"""H.264 + AAC mp4 for the generated video: what the user watches and the VSE imports.

- Frames stream in chunk by chunk (see frame_chunks.py); only one frame is held at a time.
- The frame rate is exact: the stream's time base is 1/fps as a fraction, so 24000/1001 stays
  24000/1001 in the container (the official LTX CLI truncates it to an int, which drifts the video
  against the audio and the Blender scene).
- yuv420p needs even width and height. Odd sizes are refused rather than padded: padding would
  change the frame geometry that the VSE aligns with the scene, and generation sizes are multiples
  of 64 anyway.
- Colour: RGB -> BT.709 limited-range YUV, tagged as such, so players and Blender's FFmpeg reader
  convert back with the same matrix.
"""

from __future__ import annotations

from collections.abc import Callable
from fractions import Fraction
from pathlib import Path

import av

from shared.video_rules import parse_fps

from .atomic_output import atomic_output
from .audio_track import AudioFeeder, normalize_audio
from .errors import VideoError
from .frame_chunks import iter_frames, peek_first

DEFAULT_CRF = 17  # visually lossless for generated footage
DEFAULT_PRESET = "veryfast"  # see benchmarks/bench_video_io.py for the speed/size trade-off
X264_PRESETS = ("ultrafast", "superfast", "veryfast", "faster", "fast", "medium", "slow", "slower", "veryslow")


def _bt709_tags():
    from av.video.reformatter import ColorRange, Colorspace

    return Colorspace.ITU709, ColorRange.MPEG


def write_mp4(
    path,
    frames,
    fps,
    audio=None,
    *,
    crf: int = DEFAULT_CRF,
    preset: str = DEFAULT_PRESET,
    on_frame: Callable[[int], None] | None = None,
) -> Path:
    """Encode `frames` (+ optional `audio=(waveform [C, N] float32, rate)`) to an H.264/AAC mp4.

    frames: (F, H, W, 3) uint8, or an iterable of (f, H, W, 3) / (H, W, 3) uint8 chunks (numpy or
    torch), consumed lazily. fps: Fraction, int or "24000/1001" (shared.video_rules.parse_fps).
    on_frame(n) is called after each encoded frame with the count so far (progress).
    Returns the path. The file appears only when complete.
    """
    fps = parse_fps(fps)
    if preset not in X264_PRESETS:
        raise VideoError(f"preset: {preset!r} is not an x264 preset; use one of {', '.join(X264_PRESETS)}", "preset")
    if isinstance(crf, bool) or not isinstance(crf, int) or not 0 <= crf <= 51:
        raise VideoError(
            f"crf: must be an integer in 0..51 (lower is better; 17 is visually lossless), got {crf!r}", "crf"
        )
    path = Path(path)
    audio_in = normalize_audio(audio) if audio is not None else None
    first, stream_frames = peek_first(iter_frames(frames))
    height, width = first.shape[:2]
    if width % 2 or height % 2:
        raise VideoError(
            f"frames: H.264 (yuv420p) needs an even width and height, got {width}x{height}; "
            f"generate at a multiple of 64 or crop to {width - width % 2}x{height - height % 2}",
            "frames",
        )
    colorspace, color_range = _bt709_tags()
    with atomic_output(path, ".mp4") as tmp:
        container = av.open(str(tmp), mode="w", format="mp4", options={"movflags": "+faststart"})
        try:
            video = container.add_stream("libx264", rate=fps, options={"crf": str(crf), "preset": preset})
            video.width, video.height, video.pix_fmt = width, height, "yuv420p"
            video.codec_context.time_base = 1 / fps
            cc = video.codec_context
            cc.colorspace, cc.color_range = int(colorspace), int(color_range)
            cc.color_primaries, cc.color_trc = 1, 1  # BT.709
            feeder = AudioFeeder(container, audio_in) if audio_in is not None else None
            count = 0
            for frame in stream_frames:
                vf = av.VideoFrame.from_ndarray(frame, format="rgb24").reformat(
                    format="yuv420p", dst_colorspace=colorspace, dst_color_range=color_range
                )
                vf.pts = count
                vf.time_base = video.codec_context.time_base
                for packet in video.encode(vf):
                    container.mux(packet)
                count += 1
                if feeder is not None:
                    feeder.feed_until(Fraction(count) / fps)
                if on_frame is not None:
                    on_frame(count)
            for packet in video.encode():
                container.mux(packet)
            if feeder is not None:
                feeder.finish()
        finally:
            container.close()
    return path
