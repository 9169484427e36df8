"""End to end: `ltx-scene demo` (what `make demo` runs) on a fresh machine, with the tiny bundle.

One run as a subprocess into a temporary folder, at a small size (256x128, 17 frames), with no
model installed (XDG_DATA_HOME points at an empty folder, LTX_SCENE_MODEL unset): the demo must make
the tiny bundle itself, say that its output is noise and how to get real weights, run the real
server and the Blender session, and leave every promised file, each checked for validity:
- demo.blend opens in bpy (in a fresh process) with the demo scene and the movie + sound strips;
- every control kind has its package, F PNG frames at W x H, and a lossless video equal to them,
  and the frames show what they should (depth near = white, a skeleton, a growing trail, edges);
- the mp4 has H.264 video with F frames at 24 fps and an AAC audio stream;
- the camera-anchor tracks (controls/camera_anchors/) are anchors only, drawn from their package;
- the contact sheet is exactly the grid of the four controls, the camera anchors and the output at
  the listed frames.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import REPO_ROOT

pytestmark = pytest.mark.slow

WIDTH, HEIGHT, FRAMES = 256, 128, 17
KINDS = ("depth", "pose", "tracks", "canny")


def _env(tmp: Path) -> dict:
    env = dict(os.environ)
    env.pop("LTX_SCENE_MODEL", None)
    env["XDG_DATA_HOME"] = str(tmp / "xdg-data")  # no installed model bundle
    env["BLENDER_USER_RESOURCES"] = str(tmp / "blender-user")
    env["NO_PROXY"] = "127.0.0.1,localhost"
    return env


def _demo(args, tmp: Path, timeout: float) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "backend.cli", "demo", *args],
        cwd=REPO_ROOT,
        env=_env(tmp),
        capture_output=True,
        text=True,
        timeout=timeout,
    )


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("demo")
    out = tmp / "demo_output"
    proc = _demo(
        ["--out", str(out), "--width", str(WIDTH), "--height", str(HEIGHT), "--frames", str(FRAMES), "--seed", "7"],
        tmp,
        timeout=900,
    )
    assert proc.returncode == 0, f"stdout:\n{proc.stdout[-4000:]}\nstderr:\n{proc.stderr[-4000:]}"
    summary = json.loads((out / "demo_summary.json").read_text())
    return tmp, out, proc, summary


def test_output_says_noise_and_where_everything_is(demo_run):
    _, out, proc, summary = demo_run
    text = proc.stdout
    assert "TINY TEST MODEL" in text and "NOISE" in text
    assert "ltx-scene models download ltx-2.3" in text
    for step in (
        "[1/5] model bundle",
        "[2/5] start the backend server",
        "[3/5] Blender: scene, controls, generation, strips",
        "[4/5] control videos and contact sheet",
        "[5/5] stop the server",
    ):
        assert step in text
    for name in ("demo.blend", "demo.mp4", "contact_sheet.png", "demo_summary.json"):
        assert name in text
    assert summary["tiny_model"] is True and summary["bundle_how"] == "tiny (made now)"
    assert Path(summary["bundle"]) == out / "tiny-bundle" / "bundle.json"
    assert (summary["width"], summary["height"], summary["frames"], summary["control"]) == (
        WIDTH,
        HEIGHT,
        FRAMES,
        "pose",
    )
    assert summary["server_exit"] is not None  # the server was stopped


def test_blend_has_scene_and_strips(demo_run):
    tmp, out, _, summary = demo_run
    script = r"""
import bpy, json, os, sys
bpy.ops.wm.open_mainfile(filepath=sys.argv[1], load_ui=False)
scene = bpy.data.scenes["LTX Demo"]
ed = scene.sequence_editor
strips = []
for s in (ed.strips if hasattr(ed, "strips") else ed.sequences):
    path = s.filepath if s.type == "MOVIE" else s.sound.filepath
    strips.append({"type": s.type, "channel": s.channel, "start": s.frame_final_start,
                   "duration": s.frame_final_duration, "file": os.path.realpath(bpy.path.abspath(path)),
                   "params": json.loads(s["ltx_scene"]) if "ltx_scene" in s else None})
print("RESULT " + json.dumps({
    "strips": strips, "frame_start": scene.frame_start, "frame_end": scene.frame_end,
    "camera_animated": bool(scene.camera and scene.camera.animation_data),
    "armatures": [o.name for o in scene.objects if o.type == "ARMATURE"],
    "armature_animated": [bool(o.animation_data and o.animation_data.action)
                          for o in scene.objects if o.type == "ARMATURE"],
    "path_followers": [o.name for o in scene.objects
                       if any(c.type == "FOLLOW_PATH" for c in o.constraints)],
    "size": [scene.render.resolution_x, scene.render.resolution_y]}))
"""
    proc = subprocess.run(
        [sys.executable, "-c", script, str(out / "demo.blend")],
        cwd=REPO_ROOT,
        env=_env(tmp),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    info = json.loads([ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT ")][0][7:])
    assert info["frame_end"] - info["frame_start"] + 1 == FRAMES
    assert info["size"] == [WIDTH, HEIGHT]
    assert info["camera_animated"] and info["armatures"] and all(info["armature_animated"])
    assert info["path_followers"] == ["Ball"]
    types = sorted(s["type"] for s in info["strips"])
    assert types == ["MOVIE", "SOUND"]
    video = os.path.realpath(summary["video"])
    for strip in info["strips"]:
        assert strip["start"] == info["frame_start"]
        assert strip["file"] == video
        assert strip["params"]["control_kind"] == "pose"
        assert strip["params"]["spec"]["seed"] == 7
        assert (strip["params"]["width"], strip["params"]["height"]) == (WIDTH, HEIGHT)
    movie = [s for s in info["strips"] if s["type"] == "MOVIE"][0]
    sound = [s for s in info["strips"] if s["type"] == "SOUND"][0]
    assert movie["duration"] == FRAMES and abs(sound["duration"] - FRAMES) <= 1
    assert movie["channel"] != sound["channel"]


def _frames(folder: Path) -> np.ndarray:
    from shared.png import read_png

    files = sorted(folder.glob("frame_*.png"))
    assert [f.name for f in files] == [f"frame_{i:05d}.png" for i in range(FRAMES)]
    return np.stack([read_png(f) for f in files])


@pytest.mark.parametrize("kind", KINDS)
def test_control_frames_package_and_video(demo_run, kind):
    from backend.video import read_video
    from shared.package import ControlPackage

    _, out, _, summary = demo_run
    folder = out / "controls" / kind
    frames = _frames(folder / "frames")
    assert frames.shape == (FRAMES, HEIGHT, WIDTH, 3) and frames.dtype == np.uint8
    video, fps = read_video(folder / "control.mov")
    assert fps == 24 and np.array_equal(video, frames)  # lossless
    pkg = ControlPackage.load(folder / "control.npz")
    assert (pkg.kind, pkg.width, pkg.height, pkg.frame_count) == (kind, WIDTH, HEIGHT, FRAMES)
    assert summary["controls"][kind]["frames"] == FRAMES
    if kind == "depth":
        grey = frames[..., 0].astype(np.float32)
        assert np.array_equal(frames[..., 0], frames[..., 1])
        # the ground in front of the camera (bottom rows) is near: brighter than the wall behind
        assert grey[:, -HEIGHT // 10 :].mean() > grey[:, HEIGHT // 4 : HEIGHT // 2].mean() + 40
        assert grey.max() == 255
    elif kind == "pose":
        coloured = (frames.max(axis=3).astype(int) - frames.min(axis=3)) > 100
        per_frame = coloured.reshape(FRAMES, -1).sum(axis=1)
        assert (per_frame > 10).all() and (per_frame < 0.1 * WIDTH * HEIGHT).all()
    elif kind == "tracks":
        lit = (frames.max(axis=3) > 0).reshape(FRAMES, -1).sum(axis=1)
        assert lit[0] > 0 and lit[-1] > 3 * lit[0]  # the trail grows behind the ball
        assert len(pkg.tracks) == 1
    else:
        assert set(np.unique(frames)) <= {0, 255} and frames.max() == 255
        assert np.array_equal(frames[..., 0], frames[..., 2])
        rgb = _frames(folder / "rgb_frames")
        assert rgb.std() > 5


def test_camera_anchor_tracks(demo_run):
    """The demo's camera moves over a static set: its anchor tracks are anchors alone, seeded up to the
    count, drawn into the frames; the lossless video equals them."""
    from backend.video import read_video
    from shared.package import ControlPackage
    from shared.raster.tracks import draw_tracks

    _, out, _, summary = demo_run
    folder = out / "controls" / "camera_anchors"
    pkg = ControlPackage.load(folder / "control.npz")
    info = pkg.source["camera_anchors"]
    assert (pkg.kind, pkg.frame_count, info["first_track"], info["count"]) == ("tracks", FRAMES, 0, 64)
    assert len(pkg.tracks) == info["tracks"] and pkg.tracks_visible[:, 0].sum() == 64
    frames = _frames(folder / "frames")
    np.testing.assert_array_equal(frames, draw_tracks(pkg.tracks, pkg.tracks_visible, WIDTH, HEIGHT))
    assert np.array_equal(read_video(folder / "control.mov")[0], frames)
    assert summary["controls"]["camera_anchors"]["frames"] == FRAMES


def test_generated_mp4(demo_run):
    from backend.video import probe_video

    _, out, _, summary = demo_run
    video = Path(summary["video"])
    assert video.is_file() and video.parent.parent == out / "generated"
    assert (out / "demo.mp4").read_bytes() == video.read_bytes()
    info = probe_video(video)
    assert (info.frames, info.width, info.height, info.fps) == (FRAMES, WIDTH, HEIGHT, 24)
    assert info.video_codec == "h264" and info.has_audio and info.audio_codec == "aac"


def test_contact_sheet_shows_every_control_and_the_output(demo_run):
    from PIL import Image

    from backend.video import read_video, render_contact_sheet

    _, out, _, summary = demo_run
    assert summary["contact_sheet_rows"] == [*KINDS, "camera anchors", "output"]
    rows = [(kind, read_video(out / "controls" / kind / "frames")[0]) for kind in KINDS]
    rows.append(("camera anchors", read_video(out / "controls" / "camera_anchors" / "frames")[0]))
    rows.append(("output", read_video(out / "demo.mp4")[0]))
    indices = summary["contact_sheet_frames"]
    assert indices[0] == 0 and indices[-1] == FRAMES - 1 and len(indices) == 5
    expected = render_contact_sheet(rows, indices, thumb_height=160)
    png = np.asarray(Image.open(out / "contact_sheet.png").convert("RGB"))
    assert png.shape == expected.image.shape
    assert np.array_equal(png, expected.image)
    umask = os.umask(0)
    os.umask(umask)
    for path in (out / "contact_sheet.png", out / "controls" / "depth" / "control.mov"):
        assert (path.stat().st_mode & 0o777) == 0o666 & ~umask  # not mkstemp's owner-only 0600
    for r in range(len(rows)):  # every thumbnail has content
        for c in range(len(indices)):
            x, y, w, h = expected.cells[(r, c)]
            assert png[y : y + h, x : x + w].max() > 0


def test_bad_size_says_which_step_and_what_to_do(demo_run):
    tmp, out, _, _ = demo_run
    other = tmp / "other"
    proc = _demo(
        [
            "--out",
            str(other),
            "--model",
            str(out / "tiny-bundle"),
            "--width",
            "300",
            "--height",
            "128",
            "--frames",
            str(FRAMES),
        ],
        tmp,
        timeout=300,
    )
    assert proc.returncode == 2
    assert "demo failed at step [1/5] model bundle" in proc.stderr
    assert "300" in proc.stderr and "What to do:" in proc.stderr
    assert "[--model]" in proc.stdout
    assert not (other / "logs").exists()  # refused before anything ran


def test_missing_bundle_fails_clearly(tmp_path):
    proc = _demo(["--out", str(tmp_path / "o"), "--model", str(tmp_path / "nowhere")], tmp_path, timeout=120)
    assert proc.returncode == 2
    assert "demo failed at step [1/5] model bundle" in proc.stderr
    assert "make-tiny-model" in proc.stderr and "Traceback" not in proc.stderr
