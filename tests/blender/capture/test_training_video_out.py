"""Training videos written with Blender's own FFmpeg (blender_addon/training/video_out.py), read back
with PyAV as the LTX trainer reads them: the lossless .mov is bit-exact, the frame rate exact
(24000/1001 stays 24000/1001), the H.264 .mp4 of a render-like picture close to it, no temporary
file or scene left behind."""

from __future__ import annotations

import os
from fractions import Fraction

import numpy as np
import pytest

from blender_addon.shared.png import write_png_frames
from blender_addon.training.video_out import write_video


def _decode(path):
    import av  # not at module level: the Blender LTS environments (bpy_compat runs) have no PyAV

    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        rate = Fraction(stream.average_rate)
        frames = np.stack([f.to_ndarray(format="rgb24") for f in container.decode(video=0)])
    return frames, rate


@pytest.fixture
def frames(tmp_path):
    rng = np.random.default_rng(3)
    noise = rng.integers(0, 256, (9, 64, 128, 3), dtype=np.uint8)  # the hardest case for a lossless codec
    return noise, write_png_frames(tmp_path / "png", noise)


def test_lossless_mov_is_bit_exact_at_an_exact_ntsc_rate(empty_scene, frames, tmp_path):
    import bpy

    noise, files = frames
    out = tmp_path / "out" / "control.mov"
    assert write_video(files, str(out), 128, 64, 24, 1.001, lossless=True) == str(out)
    got, rate = _decode(out)
    np.testing.assert_array_equal(got, noise)
    assert rate == Fraction(24000, 1001)
    assert os.listdir(out.parent) == ["control.mov"]  # the temporary name is gone
    assert [s.name for s in bpy.data.scenes] == [empty_scene.name]


def test_h264_mp4_of_a_smooth_picture_is_close(empty_scene, tmp_path):
    y, x = np.mgrid[0:64, 0:128]
    picture = np.stack([x * 2, y * 4, np.full_like(x, 128)], axis=-1).astype(np.uint8)
    video = np.repeat(picture[None], 9, axis=0)
    files = write_png_frames(tmp_path / "png", video)
    out = tmp_path / "target.mp4"
    write_video(files, str(out), 128, 64, 25, 1.0, lossless=False)
    got, rate = _decode(out)
    assert got.shape == video.shape and rate == 25
    assert np.abs(got.astype(int) - video).mean() < 3
