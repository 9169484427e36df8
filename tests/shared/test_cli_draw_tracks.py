"""`ltx-scene draw-tracks` through the real installed entry point."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np

from shared.png import read_png
from shared.raster.tracks import draw_tracks
from shared.tracks_json import load_tracks_json

LTX_SCENE = Path(sys.executable).parent / "ltx-scene"


def run(*args):
    return subprocess.run([str(LTX_SCENE), "draw-tracks", *map(str, args)], capture_output=True, text=True, timeout=120)


def test_writes_one_png_per_frame_matching_the_raster(tmp_path):
    tracks = [[{"x": 20 + 6 * i, "y": 40 + i} for i in range(17)], [{"x": 200, "y": 100}] * 9]
    src = tmp_path / "tracks.json"
    src.write_text(json.dumps(tracks))
    out = tmp_path / "frames"
    res = run(src, "--width", 320, "--height", 192, "--out", out)
    assert res.returncode == 0, res.stderr
    files = sorted(out.iterdir())
    assert [f.name for f in files] == [f"frame_{i:05d}.png" for i in range(17)]
    assert "frame 17/17" in res.stderr and "Wrote 17 PNG frames" in res.stdout
    points, visible = load_tracks_json(src.read_text())
    expected = draw_tracks(points, visible, 320, 192)
    for i, f in enumerate(files):
        img = read_png(f)
        assert img.shape == (192, 320, 3)
        np.testing.assert_array_equal(img, expected[i])


def test_frames_option_extends_and_errors(tmp_path):
    src = tmp_path / "t.json"
    src.write_text(json.dumps([[{"x": 50, "y": 50}, {"x": 60, "y": 50}]]))
    res = run(src, "--width", 512, "--height", 288, "--out", tmp_path / "a", "--frames", 9)
    assert res.returncode == 0, res.stderr
    frames = sorted((tmp_path / "a").iterdir())
    assert len(frames) == 9
    assert read_png(frames[8]).any()  # the trail keeps ageing after the points end
    # a second run into the same folder is refused without --force
    res = run(src, "--width", 128, "--height", 64, "--out", tmp_path / "a")
    assert res.returncode == 2 and "--force" in res.stderr and "Traceback" not in res.stderr
    res = run(src, "--width", 128, "--height", 64, "--out", tmp_path / "a", "--force")
    assert res.returncode == 0 and len(list((tmp_path / "a").iterdir())) == 2
    bad = tmp_path / "bad.json"
    bad.write_text('{"tracks": 1}')
    res = run(bad, "--width", 128, "--height", 64, "--out", tmp_path / "b")
    assert res.returncode == 2 and "list of tracks" in res.stderr and "Traceback" not in res.stderr
    res = run(tmp_path / "missing.json", "--width", 128, "--height", 64, "--out", tmp_path / "c")
    assert res.returncode == 2 and "not found" in res.stderr
    res = run(src, "--width", 4, "--height", 64, "--out", tmp_path / "d")
    assert res.returncode == 2 and "--width" in res.stderr
