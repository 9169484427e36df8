"""Where a video comes from: a path, or bytes uploaded over HTTP; opened with a clear refusal.

Every reader goes through `open_container`, which turns FFmpeg's errors (unknown format, corrupt
header, empty file) into a VideoError that names the input and says what to send instead.
"""

from __future__ import annotations

import io
import os
from pathlib import Path

import av

from .errors import VideoError

# Demuxers FFmpeg may use on our inputs. Playlist and concat formats (hls, concat, image2 patterns,
# dash ...) would make FFmpeg open other files or URLs named inside an upload, so they are not here.
SAFE_DEMUXERS = (
    "mov,matroska,avi,mpegts,mpeg,flv,ivf,gif,apng,png_pipe,jpeg_pipe,webp_pipe,bmp_pipe,wav,mp3,ogg,aac,flac"
)

VIDEO_HINT = "send a video file (mp4, mov, mkv, webm, avi), a folder of PNG frames, or a ControlPackage .npz"


def describe(src) -> str:
    """A short name for messages: the file name, or 'the uploaded data (N bytes)'."""
    if isinstance(src, (bytes, bytearray, memoryview)):
        return f"the uploaded data ({len(src)} bytes)"
    return str(Path(src).name or src)


def is_bytes(src) -> bool:
    return isinstance(src, (bytes, bytearray, memoryview))


def check_file(src, field: str = "video") -> Path:
    """An existing, non-empty regular file, or a VideoError saying which of these it is not."""
    path = Path(os.fspath(src))
    if not path.exists():
        raise VideoError(f"{path}: no such file; check the path", field)
    if path.is_dir():
        raise VideoError(f"{path}: is a folder, expected a file", field)
    if path.stat().st_size == 0:
        raise VideoError(f"{path.name}: the file is empty (0 bytes); {VIDEO_HINT}", field)
    return path


def open_container(src, field: str = "video"):
    """Open a path or bytes with PyAV for reading; refuse empty, missing or unreadable input."""
    if is_bytes(src):
        if len(src) == 0:
            raise VideoError(f"{field}: the uploaded data is empty (0 bytes); {VIDEO_HINT}", field)
        target = io.BytesIO(bytes(src))
    else:
        target = str(check_file(src, field))
    try:
        return av.open(
            target,
            mode="r",
            metadata_errors="ignore",
            options={"format_whitelist": SAFE_DEMUXERS, "protocol_whitelist": "file"},
        )
    except av.FFmpegError as exc:
        raise VideoError(
            f"{describe(src)}: not a readable video in an accepted format ({_ffmpeg_reason(exc)}); {VIDEO_HINT}", field
        ) from None


def _ffmpeg_reason(exc: Exception) -> str:
    text = getattr(exc, "strerror", None) or str(exc)
    return text.split(":")[0].strip() or type(exc).__name__
