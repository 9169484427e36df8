"""A real small H.264 + AAC mp4 (what the backend delivers), for VSE tests.

Written with PyAV (the backend's FFmpeg) where it is installed; the bpy 4.5 compatibility venv has
no PyAV, so there Blender's own FFmpeg output renders it (a colour strip plus a sine-wave sound).
"""

from __future__ import annotations

import math
import os
import struct
import wave
from fractions import Fraction
from pathlib import Path

import numpy as np


def write_mp4(
    path: Path, frames: int = 17, fps: int = 24, width: int = 64, height: int = 64, sample_rate: int = 48000
) -> Path:
    try:
        import av  # noqa: F401
    except ImportError:
        return write_mp4_with_blender(path, frames, fps, width, height, sample_rate)
    return write_mp4_with_pyav(path, frames, fps, width, height, sample_rate)


def write_mp4_with_blender(path: Path, frames: int, fps: int, width: int, height: int, sample_rate: int) -> Path:
    import bpy

    path = Path(path)
    wav = path.with_suffix(".wav")
    count = int(round(frames / fps * sample_rate))
    with wave.open(str(wav), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(sample_rate)
        w.writeframes(
            b"".join(struct.pack("<h", int(8000 * math.sin(2 * math.pi * 440 * i / sample_rate))) for i in range(count))
        )
    scene = bpy.data.scenes.new("mp4-writer")
    try:
        scene.frame_start, scene.frame_end = 1, frames
        scene.render.fps, scene.render.fps_base = fps, 1.0
        scene.render.resolution_x, scene.render.resolution_y = width, height
        scene.render.resolution_percentage = 100
        editor = scene.sequence_editor_create()
        strips = editor.strips if hasattr(editor, "strips") else editor.sequences
        try:
            strips.new_effect(name="colour", type="COLOR", channel=1, frame_start=1, length=frames)
        except TypeError:  # before 5.0: frame_end instead of length
            strips.new_effect(name="colour", type="COLOR", channel=1, frame_start=1, frame_end=frames + 1)
        strips.new_sound(name="tone", filepath=str(wav), channel=2, frame_start=1)
        r = scene.render
        r.image_settings.file_format = "FFMPEG"
        r.ffmpeg.format = "MPEG4"
        r.ffmpeg.codec = "H264"
        r.ffmpeg.audio_codec = "AAC"
        r.ffmpeg.audio_channels = "STEREO"
        r.filepath = str(path)
        r.use_file_extension = False
        bpy.ops.render.render(animation=True, scene=scene.name)
    finally:
        bpy.data.scenes.remove(scene)
        os.remove(wav)
    return path


def write_mp4_with_pyav(path: Path, frames: int, fps: int, width: int, height: int, sample_rate: int) -> Path:
    import av

    container = av.open(str(path), "w")
    video = container.add_stream("libx264", rate=fps)
    video.width, video.height, video.pix_fmt = width, height, "yuv420p"
    audio = container.add_stream("aac", rate=sample_rate)
    audio.layout = "stereo"
    for i in range(frames):
        img = np.zeros((height, width, 3), np.uint8)
        img[:, : (i * width) // frames] = (200, 40, 40)
        for packet in video.encode(av.VideoFrame.from_ndarray(img, format="rgb24")):
            container.mux(packet)
    for packet in video.encode():
        container.mux(packet)
    samples = int(round(frames / fps * sample_rate))
    t = np.arange(samples) / sample_rate
    wave = (0.2 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)
    block = 1024
    for start in range(0, samples, block):
        chunk = np.stack([wave[start : start + block]] * 2)
        frame = av.AudioFrame.from_ndarray(chunk, format="fltp", layout="stereo")
        frame.sample_rate = sample_rate
        frame.pts = start
        frame.time_base = Fraction(1, sample_rate)
        for packet in audio.encode(frame):
            container.mux(packet)
    for packet in audio.encode():
        container.mux(packet)
    container.close()
    return path
