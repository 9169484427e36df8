"""`ltx-scene export-training` on the demo scene: a dataset the LTX trainer accepts (paths exist, frame
counts 8k+1, sizes multiples of 32, target and reference of one shape, one row per shot), and a
second .blend (shots from marker pairs) appends to it; re-exporting a shot replaces its row."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from shared import training_dataset as td

REPO = Path(__file__).resolve().parents[3]
LTX_SCENE = str(Path(sys.executable).with_name("ltx-scene"))

pytestmark = pytest.mark.slow


def _env(tmp_path):
    env = dict(os.environ)
    env["PYTHONPATH"] = str(REPO)
    env["LTX_SCENE_RENDER_PROBE"] = "off"  # the demo's EEVEE falls back to Cycles: works on every machine
    env["BLENDER_USER_RESOURCES"] = str(tmp_path / "blender-user")
    return env


def _run(cmd, env, check=True):
    proc = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=900)
    if check and proc.returncode != 0:
        raise AssertionError(f"{cmd} failed ({proc.returncode}):\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    return proc


ADD_MARKERS = """
import bpy, sys
bpy.ops.wm.open_mainfile(filepath=sys.argv[1])
s = bpy.context.scene
s.name = "Take2"
s["ltx_scene"] = {"prompt": "take two"}  # where the add-on's panel keeps the prompt
for name, frame in (("A", 1), ("A_end", 10), ("B", 11), ("B_end", 19)):
    s.timeline_markers.new(name, frame=frame)
bpy.ops.wm.save_as_mainfile(filepath=sys.argv[2])
"""


@pytest.fixture(scope="module")
def blends(tmp_path_factory):
    folder = tmp_path_factory.mktemp("blends")
    env = _env(folder)
    demo = folder / "demo.blend"
    _run([sys.executable, "-m", "tools.headless", "build-demo", str(demo), "--frames", "12"] + SIZE, env)
    marked = folder / "markers.blend"
    _run([sys.executable, "-c", ADD_MARKERS, str(demo), str(marked)], env)
    return demo, marked


SIZE = ["--width", "128", "--height", "64"]


def _decode(path):
    import av  # not at module level: the Blender LTS environments (bpy_compat runs) have no PyAV

    with av.open(str(path)) as container:
        return np.stack([f.to_ndarray(format="rgb24") for f in container.decode(video=0)])


def test_export_training_writes_a_dataset_the_trainer_accepts_and_appends(blends, tmp_path):
    demo, marked = blends
    env = _env(tmp_path)
    out = tmp_path / "dataset"
    base = [LTX_SCENE, "export-training", "--control", "depth", "--out", str(out), "--samples", "1", "--quiet"]

    # 0: no caption and no prompt in the scene: refused before anything renders
    proc = _run(base + [str(demo)] + SIZE, env, check=False)
    assert proc.returncode == 2 and "give a caption" in proc.stderr
    assert not (out / "dataset.jsonl").exists()

    # 1: the demo's frame range (12 frames) as one shot, cut to 9; the width snapped 130 -> 128
    proc = _run(base + [str(demo), "--caption", "a figure walks past a crate", "--width", "130", "--height", "64"], env)
    assert "note: shot 'Scene': 12 frames (1-12) cut to 9 (8k+1): frames 1-9" in proc.stderr
    assert "note: size 130x64 snapped to 128x64 (multiples of 64)" in proc.stderr
    assert '--resolution-buckets "128x64x9"' in proc.stdout
    dataset = out / "dataset.jsonl"
    rows = td.read_rows(dataset)
    assert rows == [
        {
            "caption": "a figure walks past a crate",
            "video": "videos/demo-Scene-f00001-00009.mp4",
            "reference_video": "references/demo-Scene-f00001-00009.mov",
        }
    ]

    # 2: another .blend (scene "Take2"), one shot per marker pair, appends two rows
    proc = _run(base + [str(marked), "--shots", "markers"] + SIZE, env)  # caption: the scene's prompt
    assert "note: shot 'A': 10 frames (1-10) cut to 9 (8k+1): frames 1-9" in proc.stderr
    rows = td.read_rows(dataset)
    assert [r["video"] for r in rows] == [
        "videos/demo-Scene-f00001-00009.mp4",
        "videos/markers-Take2-f00001-00009.mp4",
        "videos/markers-Take2-f00011-00019.mp4",
    ]
    assert [r["caption"] for r in rows[1:]] == ["take two", "take two"]

    # every row as the trainer reads it: paths next to the dataset file, decoded with PyAV
    def probe(path):
        frames = _decode(path)
        return frames.shape[0], frames.shape[2], frames.shape[1]

    shapes = td.check_dataset(dataset, probe=probe)
    assert [s["video"] for s in shapes] == [(9, 128, 64)] * 3
    assert all(s["reference_video"] == s["video"] for s in shapes)
    for row in rows:
        target, control = _decode(out / row["video"]), _decode(out / row["reference_video"])
        assert target.shape == control.shape == (9, 64, 128, 3)
        assert target.std() > 5  # a real render, not an empty frame
        # depth near = white: the ground at the bottom is nearer than the wall at the top
        assert control[:, -4:].mean() > control[:, :4].mean()
    # the marker shots are different frames of the scene: the camera moved, the depth differs
    assert not np.array_equal(_decode(out / rows[1]["reference_video"]), _decode(out / rows[2]["reference_video"]))

    # 3: the first shot again with another caption replaces its row, nothing is appended
    proc = _run(base + [str(demo), "--caption", "retaken"] + SIZE, env)
    assert "0 row(s) added, 1 replaced" in proc.stdout
    rows = td.read_rows(dataset)
    assert len(rows) == 3 and rows[0]["caption"] == "retaken"
    record = json.loads((out / "export_training.json").read_text())
    assert record["kind"] == "depth"
    assert record["rows"][rows[2]["video"]]["frames"] == [11, 19]
    assert record["rows"][rows[0]["video"]]["engine"] == "CYCLES"

    # 4: another control into the same folder is refused before anything renders
    proc = _run([*base[:3], "pose", *base[4:], str(demo), "--caption", "x"] + SIZE, env, check=False)
    assert proc.returncode == 2 and "holds 'depth' pairs" in proc.stderr
