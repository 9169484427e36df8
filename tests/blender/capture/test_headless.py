"""`python -m tools.headless` and `ltx-scene render-controls` on a saved demo scene:
control.npz + lossless 8-bit RGB PNG frames at the generation size, in frame order."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from shared.package import ControlPackage
from shared.png import read_png

REPO = Path(__file__).resolve().parents[3]


def _env():
    env = dict(os.environ)
    env["PYTHONPATH"] = str(REPO)
    env["LTX_SCENE_RENDER_PROBE"] = "off"  # Cycles: works on every machine
    return env


def _run(*args, check=True):
    proc = subprocess.run(
        [sys.executable, "-m", *args], cwd=REPO, env=_env(), capture_output=True, text=True, timeout=600
    )
    if check and proc.returncode != 0:
        raise AssertionError(f"{args} failed ({proc.returncode}):\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    return proc


@pytest.fixture(scope="module")
def demo_blend(tmp_path_factory):
    path = tmp_path_factory.mktemp("demo") / "demo.blend"
    _run("tools.headless", "build-demo", str(path), "--frames", "9", "--width", "128", "--height", "64")
    assert path.is_file()
    return path


def _frames(folder):
    names = sorted(os.listdir(folder))
    assert names == [f"frame_{i:05d}.png" for i in range(len(names))]
    return np.stack([read_png(Path(folder) / n) for n in names])


@pytest.mark.bpy_compat
@pytest.mark.parametrize("kind", ["tracks", "pose", "depth"])
def test_headless_writes_package_and_frames(demo_blend, tmp_path, kind):
    out = tmp_path / kind
    proc = _run(
        "tools.headless",
        "render-controls",
        str(demo_blend),
        "--control",
        kind,
        "--out",
        str(out),
        "--width",
        "130",
        "--height",
        "60",
    )
    assert "LTX_NOTE size 130x60 snapped to 128x64 (multiples of 64)" in proc.stdout
    assert "LTX_PROGRESS" in proc.stdout and "LTX_RESULT" in proc.stdout
    pkg = ControlPackage.load(out / "control.npz")
    assert (pkg.kind, pkg.width, pkg.height, pkg.frame_count, pkg.frame_start) == (kind, 128, 64, 9, 1)
    video = _frames(out / "frames")
    assert video.shape == (9, 64, 128, 3) and video.dtype == np.uint8
    from shared.raster import depth as rdepth, pose as rpose, tracks as rtracks

    expected = {
        "tracks": lambda: rtracks.draw_tracks(pkg.tracks, pkg.tracks_visible, 128, 64),
        "pose": lambda: rpose.draw_pose(pkg.pose_body, pkg.pose_hands, pkg.pose_face, 128, 64),
        "depth": lambda: rdepth.depth_to_video(pkg.depth, 128, 64),
    }[kind]()
    np.testing.assert_array_equal(video, expected)
    assert video.max() > 0


@pytest.mark.bpy_compat
def test_headless_user_error_exits_2_with_the_message(demo_blend, tmp_path):
    proc = _run(
        "tools.headless",
        "render-controls",
        str(demo_blend),
        "--control",
        "tracks",
        "--track",
        "Nope",
        "--out",
        str(tmp_path),
        check=False,
    )
    assert proc.returncode == 2
    assert "LTX_ERROR track_targets: no object named 'Nope'" in proc.stderr


@pytest.mark.slow
def test_cli_render_controls_canny_makes_edges(demo_blend, tmp_path):
    out = tmp_path / "canny"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "backend.cli",
            "render-controls",
            str(demo_blend),
            "--control",
            "canny",
            "--out",
            str(out),
            "--quiet",
            "--rgb-engine",
            "CYCLES",
        ],
        cwd=REPO,
        env=_env(),
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    pkg = ControlPackage.load(out / "control.npz")
    rgb = _frames(out / "rgb_frames")
    np.testing.assert_array_equal(rgb, pkg.rgb)
    edges = _frames(out / "frames")
    import cv2

    for i in range(9):
        grey = cv2.cvtColor(pkg.rgb[i], cv2.COLOR_RGB2GRAY)
        np.testing.assert_array_equal(edges[i, :, :, 0], cv2.Canny(grey, 100, 200))
    assert set(np.unique(edges)) <= {0, 255} and edges.max() == 255


@pytest.mark.slow
def test_cli_render_controls_maps_failures(demo_blend, tmp_path):
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "backend.cli",
            "render-controls",
            str(demo_blend),
            "--control",
            "pose",
            "--out",
            str(tmp_path),
            "--quiet",
            "--frames",
            "0",
        ],
        cwd=REPO,
        env=_env(),
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines()[-1].startswith("error: frame_count: expected a positive integer")
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "backend.cli",
            "render-controls",
            str(tmp_path / "no.blend"),
            "--control",
            "pose",
            "--out",
            str(tmp_path),
        ],
        cwd=REPO,
        env=_env(),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 2 and "no such file" in proc.stderr


@pytest.mark.parametrize("flags, face, hands", [((), True, True), (("--no-face", "--no-hands"), False, False)])
def test_headless_pose_face_and_hands_options(demo_blend, tmp_path, flags, face, hands):
    out = tmp_path / "pose"
    _run("tools.headless", "render-controls", str(demo_blend), "--control", "pose", "--out", str(out), *flags)
    pkg = ControlPackage.load(out / "control.npz")
    assert (pkg.pose_face is not None) == face
    assert (pkg.pose_hands is not None) == hands
