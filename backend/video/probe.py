"""What a video file holds, read from its headers without decoding pictures."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from fractions import Fraction

import av

from shared.video_rules import format_fps

from .errors import VideoError
from .sources import VIDEO_HINT, describe, open_container


@dataclass(frozen=True)
class VideoInfo:
    frames: int  # from the header, or by counting packets when the header has none
    fps: Fraction  # exact average rate (24000/1001 stays a fraction)
    width: int
    height: int
    duration_s: float  # the whole file (longest stream), seconds
    has_audio: bool
    audio_rate: int | None  # Hz
    audio_channels: int | None
    video_codec: str  # FFmpeg codec name: "h264", "png", "ffv1", ...
    audio_codec: str | None

    def to_json(self) -> dict:
        out = asdict(self)
        out["fps"] = format_fps(self.fps)
        return out


def video_stream_of(container, src, field: str = "video"):
    """The first video stream, or a VideoError naming what the file holds instead."""
    if not container.streams.video:
        kinds = sorted({s.type for s in container.streams})
        holds = f"it holds only {', '.join(kinds)}" if kinds else "no streams at all: it is truncated or not a video"
        raise VideoError(f"{describe(src)}: has no video stream ({holds}); {VIDEO_HINT}", field)
    return container.streams.video[0]


def stream_fps(stream, src, field: str = "video") -> Fraction:
    rate = stream.average_rate or stream.guessed_rate or stream.base_rate
    if not rate or rate <= 0:
        raise VideoError(
            f"{describe(src)}: the video stream has no frame rate; re-export it with a constant frame rate", field
        )
    return Fraction(rate)


def count_packets(container, stream) -> int:
    """Frames of a stream whose header does not say (Matroska, WebM): one packet per frame."""
    return sum(1 for packet in container.demux(stream) if packet.size)


def probe_video(src, field: str = "video") -> VideoInfo:
    """Header facts of a video at a path or in bytes; refuses non-videos with a VideoError."""
    container = open_container(src, field)
    try:
        video = video_stream_of(container, src, field)
        fps = stream_fps(video, src, field)
        width, height = video.codec_context.width, video.codec_context.height
        if not width or not height:
            raise VideoError(
                f"{describe(src)}: the video stream has no picture size; the file is damaged, re-export it", field
            )
        audio = container.streams.audio[0] if container.streams.audio else None
        video_codec = video.codec_context.name
        audio_info = (None, None, None)
        if audio is not None:
            audio_info = (int(audio.rate), int(audio.channels), audio.codec_context.name)
        if container.duration:
            duration_s = container.duration / av.time_base
        else:
            duration_s = None
        frames = int(video.frames or 0)
        if frames <= 0:
            try:
                frames = count_packets(container, video)
            except av.FFmpegError as exc:
                raise VideoError(f"{describe(src)}: the video data is corrupt ({exc}); re-export it", field) from None
        if frames <= 0:
            raise VideoError(f"{describe(src)}: the video stream holds no frames; {VIDEO_HINT}", field)
        if duration_s is None:
            duration_s = float(frames / fps)
        return VideoInfo(
            frames=frames,
            fps=fps,
            width=int(width),
            height=int(height),
            duration_s=float(duration_s),
            has_audio=audio is not None,
            audio_rate=audio_info[0],
            audio_channels=audio_info[1],
            video_codec=video_codec,
            audio_codec=audio_info[2],
        )
    finally:
        container.close()
