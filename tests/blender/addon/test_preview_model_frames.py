"""Preview Controls shows exactly the engine's reference frames, for every kind (the add-on's copy of
shared/ in Blender on one side, the engine's control_frames on the other)."""

from __future__ import annotations

import io
from fractions import Fraction

import numpy as np
import pytest

F, W, H = 9, 256, 192


def _arrays(kind):
    rng = np.random.default_rng(3)
    if kind == "depth":
        z = np.full((F, H // 2, W // 2), np.inf, np.float32)
        z[:, 20:70, 30:90] = 2.0 + np.arange(F, dtype=np.float32)[:, None, None]
        return {"depth": z}
    if kind == "pose":
        body = np.zeros((F, 1, 18, 3), np.float32)
        body[..., :2] = rng.uniform(20, 170, (F, 1, 18, 2))
        body[..., 2] = 1
        hands = np.zeros((F, 1, 2, 21, 3), np.float32)
        hands[..., :2] = rng.uniform(20, 170, (F, 1, 2, 21, 2))
        hands[..., 2] = 1
        face = np.zeros((F, 1, 68, 3), np.float32)
        face[..., :2] = rng.uniform(20, 170, (F, 1, 68, 2))
        face[..., 2] = 1
        return {"pose_body": body, "pose_hands": hands, "pose_face": face}
    if kind == "tracks":
        pts = np.stack([np.linspace(10, 240, F), np.linspace(20, 180, F)], 1)[None].astype(np.float32)
        return {"tracks": pts, "tracks_visible": np.ones((1, F), bool)}
    rgb = np.zeros((F, H, W, 3), np.uint8)
    for f in range(F):
        rgb[f, 40 + 4 * f : 120 + 4 * f, 60:160] = (210, 190, 60)
    return {"rgb": rgb}


@pytest.mark.parametrize("kind", ["depth", "pose", "tracks", "canny", "canny-trainer"])
@pytest.mark.parametrize("factor", [1, 2])
def test_preview_frames_equal_the_engines(installed_addon, kind, factor):
    from backend.engine.control import ControlInput, control_frames
    from shared.package import ControlPackage
    from shared.video_rules import reference_size

    addon_package = installed_addon.module("shared.package")
    preview = installed_addon.module("operators.preview")
    base = kind.split("-")[0]
    extra = {"canny": "trainer"} if kind == "canny-trainer" else {}
    pkg = addon_package.ControlPackage(
        kind=base, width=W, height=H, fps=Fraction(24), frame_count=F, **extra, **_arrays(base)
    )
    shown, note = preview.preview_frames(pkg, factor)
    rw, rh = reference_size(W, H, factor)
    assert shown.shape == (F, rh, rw, 3) and f"{rw}x{rh}" in note
    engine_pkg = ControlPackage.load(io.BytesIO(pkg.to_bytes()))  # what travels to the backend
    model = control_frames(ControlInput(package=engine_pkg), base, F, rw, rh)
    assert (shown == model).all()
    # (a 4x bilinear reduction without antialias, the pipeline's, can miss every 1 px canny edge)
    assert shown.max() > 0 or (base == "canny" and factor == 2)


def test_preview_mask_is_the_engines_attention(installed_addon):
    from backend.engine.control import ControlInput, attention_mask_frames
    from shared.package import ControlPackage

    addon_package = installed_addon.module("shared.package")
    preview = installed_addon.module("operators.preview")
    mask = np.zeros((F, H // 2, W // 2), np.float32)
    mask[:, 20:70, 30:90] = 1.0
    strength = np.linspace(0.2, 1.0, F, dtype=np.float32)
    pkg = addon_package.ControlPackage(
        kind="pose",
        width=W,
        height=H,
        fps=Fraction(24),
        frame_count=F,
        mask=mask,
        attention_strength=strength,
        **_arrays("pose"),
    )
    shown = preview.preview_mask(pkg)
    engine_pkg = ControlPackage.load(io.BytesIO(pkg.to_bytes()))
    weights = attention_mask_frames(ControlInput(package=engine_pkg), F, W // 2, H // 2)
    assert shown.shape == (F, H // 2, W // 2, 3)
    assert (shown[..., 0] == np.rint(weights * 255)).all() and shown.max() == 255
    pkg.mask, pkg.attention_strength = None, None
    assert preview.preview_mask(pkg) is None
    pkg.attention_strength = np.ones(F, np.float32)  # what every capture records without keys
    assert preview.preview_mask(pkg) is None
