"""Upload checks at submit time (backend/server/uploads.py): content sniffing, clear refusals."""

from __future__ import annotations

import io
import zipfile

import numpy as np
import pytest

from backend.server.uploads import CheckedImage, CheckedMask, check_control, check_image, check_mask, read_mask_npz
from shared.errors import UserError

from .helpers import control_video_bytes, depth_package_bytes, png_bytes


def _write(tmp_path, name, data: bytes):
    path = tmp_path / name
    path.write_bytes(data)
    return path


def _npz(**arrays) -> bytes:
    buf = io.BytesIO()
    np.savez_compressed(buf, **arrays)
    return buf.getvalue()


def test_control_is_recognized_by_content_not_name(tmp_path):
    checked = check_control(_write(tmp_path, "looks-like.mp4", depth_package_bytes()), 2**30)
    assert checked.name == "control.npz" and checked.package.kind == "depth"
    assert checked.package.frame_count == 9
    checked = check_control(_write(tmp_path, "scene.npz", control_video_bytes(tmp_path)), 2**30)
    assert checked.name == "control.mkv" and checked.package is None
    assert (checked.video_info.frames, checked.video_info.width, checked.video_info.height) == (9, 128, 128)


@pytest.mark.parametrize(
    "data, words", [(b"", "empty"), (b"hello, not a video", "control"), (b"PK\x03\x04broken zip", "package")]
)
def test_bad_control_is_a_user_error(tmp_path, data, words):
    with pytest.raises(UserError) as err:
        check_control(_write(tmp_path, "control", data), 2**30)
    assert words in str(err.value)
    assert str(tmp_path) not in str(err.value)  # no server-side path reaches the client


def test_package_over_the_uncompressed_limit_is_refused(tmp_path):
    with pytest.raises(UserError):
        check_control(_write(tmp_path, "c.npz", depth_package_bytes()), 1000)


def test_image_png_and_jpeg_only(tmp_path):
    assert check_image(_write(tmp_path, "i", png_bytes())) == CheckedImage("image.png", 128, 128)
    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (16, 16)).save(buf, format="JPEG")
    assert check_image(_write(tmp_path, "j", buf.getvalue())).name == "image.jpg"
    buf = io.BytesIO()
    Image.new("RGB", (16, 16)).save(buf, format="BMP")
    with pytest.raises(UserError, match="PNG or JPEG"):
        check_image(_write(tmp_path, "b", buf.getvalue()))
    with pytest.raises(UserError, match="image"):
        check_image(_write(tmp_path, "x", b"\x89PNG\r\n\x1a\n truncated"))


def test_mask_npz(tmp_path):
    mask = np.linspace(0, 1, 9 * 4 * 4, dtype=np.float32).reshape(9, 4, 4)
    path = _write(tmp_path, "m", _npz(mask=mask))
    assert check_mask(path) == CheckedMask("mask.npz", 9, 4, 4)
    np.testing.assert_array_equal(read_mask_npz(path), mask)
    as_uint8 = read_mask_npz(_write(tmp_path, "u", _npz(mask=np.full((4, 4), 255, np.uint8))))
    assert as_uint8.dtype == np.float32 and as_uint8.max() == 1.0
    for arrays, words in [
        ({"mask": mask, "extra": mask}, "exactly one array"),
        ({"mask": mask * 2}, "[0, 1]"),
        ({"mask": np.zeros(5, np.float32)}, "shape"),
        ({"mask": np.zeros((2, 2), np.int64)}, "float"),
    ]:
        with pytest.raises(UserError, match=words):
            check_mask(_write(tmp_path, "bad", _npz(**arrays)))


def test_mask_npz_zip_bomb_is_refused_before_decompressing(tmp_path):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("mask.npy", b"")
    data = bytearray(buf.getvalue())
    path = _write(tmp_path, "bomb", bytes(data))
    # declared size patched to 3 GiB in the central directory
    with zipfile.ZipFile(path) as zf:
        info = zf.infolist()[0]
    raw = bytearray(path.read_bytes())
    cd = raw.rfind(b"PK\x01\x02")
    raw[cd + 24 : cd + 28] = (3 * 2**30).to_bytes(4, "little")
    path.write_bytes(bytes(raw))
    with pytest.raises(UserError, match="limit"):
        read_mask_npz(path)
    assert info.filename == "mask.npy"
