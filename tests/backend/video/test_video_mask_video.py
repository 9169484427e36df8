"""load_mask_video: values from images, lossless and lossy videos, folders; resizing; refusals."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from backend.video import VideoError, load_mask_video, write_lossless_video, write_mp4


def _half_white(height, width):
    frame = np.zeros((height, width), np.uint8)
    frame[:, : width // 2] = 255
    return frame


def test_single_image_is_repeated_over_time():
    buffer = io.BytesIO()
    Image.fromarray(_half_white(20, 40), "L").save(buffer, format="PNG")
    mask = load_mask_video(buffer.getvalue(), 5, 40, 20)
    assert mask.shape == (5, 20, 40) and mask.dtype == np.float32
    assert (mask[:, :, :20] == 1.0).all() and (mask[:, :, 20:] == 0.0).all()


def test_grey_levels_per_frame_from_a_lossless_video(tmp_path):
    levels = [0, 30, 60, 90, 255]
    clip = np.stack([np.full((16, 16, 3), v, np.uint8) for v in levels])
    path = write_lossless_video(tmp_path / "m.mkv", clip, 24)
    mask = load_mask_video(path, 3, 16, 16)  # a longer mask keeps its first frames
    assert mask.shape == (3, 16, 16)
    for i in range(3):
        assert np.allclose(mask[i], levels[i] / 255, atol=1e-6)


def test_colour_is_reduced_to_luma_and_resized(tmp_path):
    clip = np.zeros((2, 10, 20, 3), np.uint8)
    clip[..., 0] = 255  # pure red
    path = write_lossless_video(tmp_path / "red.mov", clip, 24)
    mask = load_mask_video(path.read_bytes(), 2, 40, 20)
    assert mask.shape == (2, 20, 40)
    assert np.allclose(mask, 0.299, atol=1e-5)


def test_lossy_mp4_mask_stays_close(tmp_path):
    clip = np.repeat(np.repeat(_half_white(32, 64)[None, ..., None], 9, axis=0), 3, axis=3)
    path = write_mp4(tmp_path / "m.mp4", clip, 24)
    mask = load_mask_video(path, 9, 64, 32)
    assert mask.shape == (9, 32, 64)
    assert np.abs(mask[:, :, :28] - 1.0).max() < 0.02
    assert np.abs(mask[:, :, 36:]).max() < 0.02


def test_folder_of_frames(tmp_path):
    for i in range(4):
        Image.fromarray(np.full((8, 8), 50 * i, np.uint8), "L").save(tmp_path / f"m_{i:03d}.png")
    mask = load_mask_video(tmp_path, 4, 8, 8)
    assert [float(mask[i, 0, 0]) for i in range(4)] == pytest.approx([0, 50 / 255, 100 / 255, 150 / 255])


def test_too_few_frames_and_junk_refused(tmp_path):
    path = write_lossless_video(tmp_path / "short.mov", np.zeros((3, 8, 8, 3), np.uint8), 24)
    with pytest.raises(VideoError) as info:
        load_mask_video(path, 17, 8, 8)
    assert "the mask has 3 frames but the video has 17" in str(info.value)
    assert info.value.field == "mask"
    with pytest.raises(VideoError, match="not a readable video"):
        load_mask_video(b"definitely not a mask" * 10, 9, 8, 8)
    with pytest.raises(VideoError, match="positive integer"):
        load_mask_video(path, 0, 8, 8)
