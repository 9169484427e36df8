import io
import zlib

import numpy as np
import pytest
from PIL import Image

from shared.png import PngError, decode_png, encode_png, read_png, write_png, write_png_frames


def test_rgb_and_grey_round_trip_and_pillow_agrees(tmp_path):
    rng = np.random.default_rng(0)
    rgb = rng.integers(0, 256, (37, 53, 3), dtype=np.uint8)
    grey = rng.integers(0, 256, (20, 11), dtype=np.uint8)
    path = write_png(tmp_path / "a.png", rgb)
    np.testing.assert_array_equal(read_png(path), rgb)
    np.testing.assert_array_equal(np.asarray(Image.open(path)), rgb)
    np.testing.assert_array_equal(decode_png(encode_png(grey)), grey)
    np.testing.assert_array_equal(np.asarray(Image.open(io.BytesIO(encode_png(grey[..., None])))), grey)


@pytest.mark.parametrize("options", [{"optimize": True}, {"compress_level": 0}, {"compress_level": 9}])
def test_reads_pillow_pngs_with_any_filter(options):
    rng = np.random.default_rng(1)
    img = (np.add.outer(np.arange(40), np.arange(30))[..., None] * [3, 5, 7] % 256).astype(np.uint8)
    img[::7] = rng.integers(0, 256, img[::7].shape, dtype=np.uint8)
    buf = io.BytesIO()
    Image.fromarray(img).save(buf, "PNG", **options)
    np.testing.assert_array_equal(decode_png(buf.getvalue()), img)
    rgba = np.dstack([img, img[..., :1]])
    buf = io.BytesIO()
    Image.fromarray(rgba).save(buf, "PNG")
    np.testing.assert_array_equal(decode_png(buf.getvalue()), rgba)


def test_frames_are_named_in_order(tmp_path):
    frames = np.stack([np.full((4, 5, 3), i, np.uint8) for i in range(12)])
    seen = []
    paths = write_png_frames(tmp_path / "out", frames, on_frame=lambda i, n: seen.append((i, n)))
    names = [p.split("/")[-1] for p in paths]
    assert names[0] == "frame_00000.png" and names[11] == "frame_00011.png"
    assert sorted(names) == names
    assert seen[-1] == (12, 12)
    for i, p in enumerate(paths):
        assert read_png(p)[0, 0, 0] == i


def test_refusals():
    with pytest.raises(PngError, match="uint8"):
        encode_png(np.zeros((3, 3, 3), np.float32))
    with pytest.raises(PngError, match="shape"):
        encode_png(np.zeros((3, 3, 4), np.uint8))
    with pytest.raises(PngError, match="signature"):
        decode_png(b"GIF89a....")
    good = bytearray(encode_png(np.zeros((3, 3, 3), np.uint8)))
    good[40] ^= 0xFF  # inside the IDAT data
    with pytest.raises(PngError, match="CRC|damaged"):
        decode_png(bytes(good))
    with pytest.raises(PngError, match="truncated"):
        decode_png(encode_png(np.zeros((3, 3, 3), np.uint8))[:30])
    assert zlib  # stdlib only
