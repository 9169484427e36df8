"""Frames on disk -> a video file, with Blender's own FFmpeg (no PyAV inside Blender).

A temporary scene holds one image strip of the frame files and renders its sequencer as a movie:
- `lossless=True`: PNG in QuickTime (`.mov`), the control and mask videos: read back bit-exact
  (tested), so pose colours and 1 px edges reach the trainer as drawn;
- `lossless=False`: H.264 in MP4 (`.mp4`), "perceptually lossless" quality, the target render.
The scene's view transform is "Standard" and the strip's colour space sRGB, so 8-bit frames pass
through unchanged; the frame rate is the scene's exact fps / fps_base. The trainer decodes both with
PyAV. The file appears under a temporary name and is renamed when complete.
"""

from __future__ import annotations

import os

import bpy

from ..shared.atomic_write import finish_atomic, temp_path_beside

WRITER_SCENE = "ltx_training_video"


def write_video(files: list[str], path: str, width: int, height: int, fps: int, fps_base: float, lossless: bool):
    """Encode the image `files` (in order, all width x height) into `path`; returns `path`."""
    if not files:
        raise ValueError("write_video: no frames")
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    suffix = ".mov" if lossless else ".mp4"
    tmp = temp_path_beside(path, suffix)
    scene = bpy.data.scenes.new(WRITER_SCENE)
    try:
        ed = scene.sequence_editor_create()
        strips = ed.strips if hasattr(ed, "strips") else ed.sequences  # 4.4 renamed sequences
        strip = strips.new_image("frames", files[0], 1, 1)
        for name in files[1:]:
            if os.path.dirname(os.path.abspath(name)) != os.path.dirname(os.path.abspath(files[0])):
                raise ValueError("write_video: the frames must share one folder")
            strip.elements.append(os.path.basename(name))
        strip.colorspace_settings.name = "sRGB"
        r = scene.render
        r.resolution_x, r.resolution_y = int(width), int(height)
        r.resolution_percentage = 100
        r.pixel_aspect_x = r.pixel_aspect_y = 1.0
        r.fps, r.fps_base = int(fps), float(fps_base)
        scene.frame_start, scene.frame_end = 1, len(files)
        scene.view_settings.view_transform = "Standard"
        scene.view_settings.look = "None"
        scene.view_settings.exposure = 0.0
        scene.view_settings.gamma = 1.0
        r.use_sequencer = True
        r.use_compositing = False
        fmt = r.image_settings
        if hasattr(fmt, "media_type"):  # 5.0
            fmt.media_type = "VIDEO"
        fmt.file_format = "FFMPEG"
        fmt.color_mode = "RGB"
        ff = r.ffmpeg
        if lossless:
            ff.format, ff.codec = "QUICKTIME", "PNG"
        else:
            ff.format, ff.codec = "MPEG4", "H264"
            ff.constant_rate_factor = "PERC_LOSSLESS"
            ff.ffmpeg_preset = "GOOD"
            ff.gopsize = 12
        ff.audio_codec = "NONE"
        r.use_file_extension = False
        r.filepath = str(tmp)
        bpy.ops.render.render(animation=True, scene=scene.name)
        if not tmp.exists() or tmp.stat().st_size == 0:
            raise RuntimeError(f"write_video: Blender's FFmpeg wrote nothing to {tmp}")
        finish_atomic(tmp, path)
    finally:
        bpy.data.scenes.remove(scene)
        if tmp.exists():
            tmp.unlink()
    return path
