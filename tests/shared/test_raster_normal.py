"""The normal encoding (camera space, RGB = n * 0.5 + 0.5, background black), its resize without halos,
and the render / normal / mask packages as the model sees them."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest

from shared.package import ControlPackage, PackageError
from shared.raster import rasterize
from shared.raster.model_frames import attention_weights, reference_frames
from shared.raster.normal import decode_normals, encode_normals, normal_to_video


@pytest.mark.parametrize(
    "normal, rgb",
    [
        ((0.0, 0.0, 1.0), (128, 128, 255)),  # facing the camera
        ((1.0, 0.0, 0.0), (255, 128, 128)),  # facing right
        ((0.0, 1.0, 0.0), (128, 255, 128)),  # facing up (OpenGL-style, +Y up)
        ((-1.0, 0.0, 0.0), (0, 128, 128)),
        ((0.0, 0.0, -1.0), (128, 128, 0)),  # facing away
        ((0.0, 0.0, 0.0), (0, 0, 0)),  # background
    ],
)
def test_encoding_of_the_axes(normal, rgb):
    assert tuple(encode_normals(np.array(normal, np.float32))) == rgb


def test_decode_inverts_encode():
    rng = np.random.default_rng(3)
    n = rng.normal(size=(500, 3)).astype(np.float32)
    n /= np.linalg.norm(n, axis=1, keepdims=True)
    back = decode_normals(encode_normals(n))
    assert np.abs(back - n).max() < 2.5 / 255 * 2
    np.testing.assert_allclose(np.linalg.norm(back, axis=1), 1.0, atol=1e-5)
    assert (decode_normals(np.zeros((2, 3), np.uint8)) == 0).all()


def _square(size=8, inner=4):
    """(1, size, size, 3): a square of normals turning across x, on background."""
    n = np.zeros((1, size, size, 3), np.float32)
    a = (size - inner) // 2
    xs = np.linspace(-0.5, 0.5, inner, dtype=np.float32)
    n[0, a : a + inner, a : a + inner, 0] = xs[None, :]
    n[0, a : a + inner, a : a + inner, 2] = np.sqrt(1 - xs**2)[None, :]
    return n


def test_resize_never_blends_geometry_with_background():
    n = _square()
    up = normal_to_video(n, 16, 16)[0]
    inside = encode_normals(n[0])
    colours = {tuple(c) for c in inside.reshape(-1, 3)}
    background = np.all(up == 0, axis=-1)
    assert background.sum() == 16 * 16 - 8 * 8  # the square doubled exactly, no grey rim
    interior_z = up[~background][:, 2]
    assert interior_z.min() >= min(c[2] for c in colours if c != (0, 0, 0)) - 1  # no darkening at the edge
    assert normal_to_video(n).tolist() == encode_normals(n).tolist()  # same size: the plain encoding


def test_normal_package_validation():
    base = dict(kind="normal", width=64, height=32, fps=Fraction(24), frame_count=2)
    good = np.zeros((2, 16, 32, 3), np.float32)
    good[..., 2] = 1.0
    pkg = ControlPackage(**base, normal=good).validate()
    assert ControlPackage.load(pkg.to_bytes()).normal.tolist() == good.tolist()
    with pytest.raises(PackageError, match="normal: a 'normal' package needs the array normal"):
        ControlPackage(**base).validate()
    for bad, match in (
        (np.full((2, 16, 32, 3), np.nan, np.float32), "NaN"),
        (np.full((2, 16, 32, 3), 2.0, np.float32), r"\[-1, 1\]"),
        (np.zeros((2, 16, 16, 3), np.float32), "aspect"),
        (np.zeros((2, 16, 32, 3), np.float64), "float32"),
    ):
        with pytest.raises(PackageError, match=match) as info:
            ControlPackage(**base, normal=bad).validate()
        assert info.value.field == "normal"


def test_render_normal_and_mask_packages_as_the_model_sees_them():
    rng = np.random.default_rng(0)
    rgb = rng.integers(0, 256, (3, 64, 128, 3), dtype=np.uint8)
    render = ControlPackage(kind="render", width=128, height=64, fps=Fraction(24), frame_count=3, rgb=rgb)
    assert reference_frames(render, 128, 64).tolist() == rgb.tolist()  # the render as it is
    assert reference_frames(render, 64, 32).shape == (3, 32, 64, 3)
    assert rasterize(render).tolist() == rgb.tolist()
    # a render package also feeds canny: edges of that render
    edges = reference_frames(render, 128, 64, kind="canny")
    assert (edges[..., 0] == edges[..., 1]).all() and (edges[..., 1] == edges[..., 2]).all()  # grey edges
    assert edges.max() == 255 and edges.tolist() != rgb.tolist()

    normals = np.zeros((3, 32, 64, 3), np.float32)
    normals[:, 8:24, 16:48, 2] = 1.0
    normal = ControlPackage(kind="normal", width=128, height=64, fps=Fraction(24), frame_count=3, normal=normals)
    frames = reference_frames(normal, 64, 32)
    assert (frames[:, 8:24, 16:48] == [128, 128, 255]).all() and (frames[:, :8] == 0).all()

    mask = np.zeros((3, 32, 64), np.float32)
    mask[:, 10:20, 10:30] = 1.0
    matte = ControlPackage(
        kind="mask",
        width=128,
        height=64,
        fps=Fraction(24),
        frame_count=3,
        mask=mask,
        attention_strength=np.ones(3, np.float32),
    )
    frames = reference_frames(matte, 64, 32)
    assert (frames[:, 10:20, 10:30] == 255).all() and frames.sum() == 255 * 3 * 3 * 10 * 20
    # the mask is this package's control, not an attention mask (a depth package's mask is one)
    assert (attention_weights(matte, 3, 64, 32) == 1).all()
    depth = ControlPackage(
        kind="depth",
        width=128,
        height=64,
        fps=Fraction(24),
        frame_count=3,
        depth=np.full((3, 32, 64), 2.0, np.float32),
        mask=mask,
    )
    assert attention_weights(depth, 3, 64, 32)[:, 0, 0].max() == 0.0
