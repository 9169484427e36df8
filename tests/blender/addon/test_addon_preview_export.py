"""Preview Controls and Export Controls work from the scene alone, without a backend."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest

from .small_scene import build_tracks_scene


pytestmark = pytest.mark.bpy_compat  # also run under bpy 4.2 and 4.5 LTS (image sequences, capture)


def _prefs(installed, out_dir):
    import bpy

    prefs = bpy.context.preferences.addons[installed.module_name].preferences
    prefs.output_dir = str(out_dir)
    prefs.backend_url = "http://127.0.0.1:9"  # nothing listens: these operators must not need it
    return prefs


def test_preview_controls_writes_and_loads_the_control(fresh_scene, installed_addon, tmp_path):
    import bpy

    prefs = _prefs(installed_addon, tmp_path)
    try:
        scene = build_tracks_scene(frames=17, size=256)
        assert bpy.ops.ltx_scene.preview_controls() == {"FINISHED"}
    finally:
        prefs.output_dir, prefs.backend_url = "", "http://127.0.0.1:8765"
    folder = tmp_path / "preview" / scene.name
    files = sorted(os.listdir(folder))
    assert files == [f"control_{i:05d}.png" for i in range(17)]
    image = bpy.data.images["LTX Controls"]
    assert image.source == "SEQUENCE"
    assert os.path.samefile(bpy.path.abspath(image.filepath), folder / files[0])
    read_png = installed_addon.module("shared.png").read_png
    first, last = read_png(folder / files[0]), read_png(folder / files[-1])
    factor = bpy.context.scene.ltx_scene.reference_factor  # no backend: the panel's factor
    assert first.shape == (128 // factor, 128 // factor, 3) and first.dtype == np.uint8  # the reference size

    # the ball moves left to right: the newest (blue) dot's column moves right
    # (at the reference size the dot is a pixel or two, softened by the resize: take the bluest pixels)
    def blue_x(img):
        blueness = img[..., 2].astype(int) - np.maximum(img[..., 0], img[..., 1])
        assert blueness.max() > 40
        ys, xs = np.nonzero(blueness == blueness.max())
        return xs.mean()

    assert blue_x(last) > blue_x(first) + 50 / factor


def test_export_controls_writes_frames_tracks_json_and_package(fresh_scene, installed_addon, tmp_path):
    import bpy

    _prefs(installed_addon, tmp_path)
    build_tracks_scene(frames=17, size=256)
    out = tmp_path / "export"
    assert bpy.ops.ltx_scene.export_controls(directory=str(out)) == {"FINISHED"}
    names = sorted(os.listdir(out))
    assert names.count("tracks.json") == 1 and "control.npz" in names
    assert len([n for n in names if n.startswith("control_") and n.endswith(".png")]) == 17
    package_mod = installed_addon.module("shared.package")
    tracks_json = installed_addon.module("shared.tracks_json")
    pkg = package_mod.ControlPackage.load(str(out / "control.npz"))
    assert pkg.kind == "tracks" and pkg.frame_count == 17 and (pkg.width, pkg.height) == (256, 256)
    points, visible = tracks_json.load_tracks_json((out / "tracks.json").read_text())
    assert points.shape == (1, 17, 2)
    np.testing.assert_allclose(points, pkg.tracks, atol=0.5)
    data = json.loads((out / "tracks.json").read_text())
    assert len(data) == 1 and len(data[0]) == 17 and set(data[0][0]) == {"x", "y"}
    # centred camera, the ball crosses the middle row left to right
    assert data[0][0]["x"] < 128 < data[0][-1]["x"]
