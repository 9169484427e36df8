"""load_image: cover resize + centre crop geometry on coloured bands, decoding rules, refusals."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from backend.video import VideoError, cover_crop_geometry, load_image

RED, GREEN, BLUE, WHITE = (255, 0, 0), (0, 255, 0), (0, 0, 255), (255, 255, 255)


def _vertical_bands(width_each: int, height: int, colours) -> np.ndarray:
    return np.concatenate([np.full((height, width_each, 3), c, np.uint8) for c in colours], axis=1)


def _png_bytes(array: np.ndarray, mode=None) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(array, mode).save(buffer, format="PNG")
    return buffer.getvalue()


def test_wide_image_into_square_keeps_the_centre_bands():
    src = _vertical_bands(50, 100, [RED, GREEN, BLUE, WHITE])  # 200x100
    out = load_image(_png_bytes(src), 100, 100)
    assert out.shape == (100, 100, 3) and out.dtype == np.uint8
    assert (out[:, :50] == GREEN).all() and (out[:, 50:] == BLUE).all()


def test_downscale_then_crop(tmp_path):
    src = _vertical_bands(100, 200, [RED, GREEN, BLUE, WHITE])  # 400x200 -> 200x100, crop 50
    path = tmp_path / "bands.png"
    path.write_bytes(_png_bytes(src))
    out = load_image(path, 100, 100)
    assert cover_crop_geometry(400, 200, 100, 100) == (200, 100, 50, 0)
    # half-pixel bilinear at exactly 1/2 averages source columns 2x and 2x+1: the seam stays sharp
    assert (out[:, :50] == GREEN).all() and (out[:, 50:] == BLUE).all()


def test_tall_image_crops_vertically_and_upscales():
    src = np.concatenate([np.full((10, 30, 3), c, np.uint8) for c in (RED, GREEN, BLUE)])  # 30x30
    src = src[:, :10]  # 10 wide, 30 tall: three 10 px horizontal bands
    out = load_image(_png_bytes(src), 40, 40)  # x4 -> 40x120, crop top 40: the green band
    assert cover_crop_geometry(10, 30, 40, 40) == (40, 120, 0, 40)
    assert (out[2:-2] == GREEN).all()


def test_alpha_over_black_and_grey_to_rgb():
    rgba = np.zeros((8, 8, 4), np.uint8)
    rgba[..., :3] = 255
    rgba[:, :4, 3] = 255  # left opaque white, right transparent
    out = load_image(_png_bytes(rgba, "RGBA"), 8, 8)
    assert (out[:, :4] == 255).all() and (out[:, 4:] == 0).all()
    grey = load_image(_png_bytes(np.full((8, 8), 90, np.uint8), "L"), 8, 8)
    assert grey.shape == (8, 8, 3) and (grey == 90).all()


def test_jpeg_with_exif_rotation_is_upright(tmp_path):
    src = np.zeros((20, 40, 3), np.uint8)  # stored 40 wide, 20 tall
    src[:, :20] = RED
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90 CW to display"
    path = tmp_path / "phone.jpg"
    Image.fromarray(src).save(path, format="JPEG", quality=95, exif=exif)
    out = load_image(path, 20, 40)  # displayed 20 wide, 40 tall
    assert out.shape == (40, 20, 3)
    top, bottom = out[5:15, 5:15].mean(axis=(0, 1)), out[25:35, 5:15].mean(axis=(0, 1))
    assert top[0] > 200 and bottom[0] < 30  # the red half ends on top after rotation


@pytest.mark.parametrize(
    "data, message",
    [
        (b"", "the uploaded image is empty"),
        (b"GIF89a but not really an image", "not a readable image"),
        (b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 64, "not a readable image"),
    ],
)
def test_non_images_refused(data, message):
    with pytest.raises(VideoError) as info:
        load_image(data, 64, 64)
    assert message in str(info.value)
    assert info.value.field == "image"


def test_truncated_png_and_bad_sizes_refused(tmp_path):
    data = _png_bytes(np.random.default_rng(0).integers(0, 256, (64, 64, 3), dtype=np.uint8))
    with pytest.raises(VideoError, match="corrupt or truncated"):
        load_image(data[: len(data) // 2], 64, 64)
    with pytest.raises(VideoError, match="positive integer"):
        load_image(data, 0, 64)
    with pytest.raises(VideoError, match="no such file"):
        load_image(tmp_path / "missing.png", 64, 64)


@pytest.mark.slow
def test_matches_the_official_resize_rule():
    """Against ltx_pipelines' resize_and_center_crop (float): the same pixels up to 8-bit rounding
    (0.5) plus OpenCV's float32 interpolation weights (measured below 0.03 levels)."""
    import torch
    from ltx_pipelines.utils.media_io import resize_and_center_crop

    rng = np.random.default_rng(5)
    for (sw, sh), (w, h) in [
        ((97, 61), (64, 64)),
        ((300, 170), (128, 96)),
        ((50, 90), (128, 64)),
        ((1920, 1080), (1280, 768)),
    ]:
        src = rng.integers(0, 256, (sh, sw, 3), dtype=np.uint8)
        ours = load_image(_png_bytes(src), w, h).astype(np.float32)
        ref = resize_and_center_crop(torch.from_numpy(src).float(), h, w)[0, :, 0]
        ref = ref.permute(1, 2, 0).numpy()
        assert ours.shape == ref.shape
        assert np.abs(ours - ref).max() <= 0.5 + 0.03
